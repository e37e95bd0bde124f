/* jsonpos.c: an allocation-free JSON scanner that turns byte offsets and value paths into
 * line:column positions, and describes parse errors.
 *
 * The scanner validates as it skips (string escapes, literals, bracket matching up to
 * SCAN_MAX_DEPTH levels), is bounded by the given length, and is iterative, so hostile nesting
 * cannot overflow the stack.  Numbers are accepted as cJSON accepts them (a run of number
 * characters starting with '-' or a digit); leading zeros are not an error here. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonpos.h"

#define SCAN_MAX_DEPTH 1024 /* cJSON's own nesting limit is 1000 */

struct scan {
	const char *s;
	size_t len, i;
	const char *expected; /* set with i at the offending byte when a step fails */
};

static int scan_fail(struct scan *sc, const char *expected)
{
	sc->expected = expected;
	return -1;
}

static int peek(const struct scan *sc)
{
	return sc->i < sc->len ? (unsigned char)sc->s[sc->i] : -1;
}

/* Whitespace as cJSON skips it: every byte from 0x01 to 0x20, so that texts cJSON accepts
 * (control characters between tokens included) scan the same here. */
static void scan_ws(struct scan *sc)
{
	while (sc->i < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->i];
		if (c == 0 || c > 0x20)
			break;
		sc->i++;
	}
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At '"': skips the string; on success i is just past the closing quote.  The plain runs between
 * escapes are skipped with memchr: most of a large document is string content. */
static int scan_string(struct scan *sc)
{
	if (peek(sc) != '"')
		return scan_fail(sc, "'\"'");
	sc->i++;
	for (;;) {
		const char *p = sc->s + sc->i;
		const char *q = memchr(p, '"', sc->len - sc->i);
		const char *b = memchr(p, '\\', (size_t)((q ? q : sc->s + sc->len) - p));
		if (!b) {
			if (!q) {
				sc->i = sc->len;
				return scan_fail(sc, "'\"' to end the string");
			}
			sc->i = (size_t)(q - sc->s) + 1;
			return 0;
		}
		sc->i = (size_t)(b - sc->s) + 1;
		int x = peek(sc);
		if (x < 0 || !strchr("\"\\/bfnrtu", x))
			return scan_fail(sc,
			                 "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
		sc->i++;
		if (x == 'u') {
			for (int k = 0; k < 4; k++, sc->i++)
				if (!is_hex(peek(sc)))
					return scan_fail(sc, "4 hex digits after \\u");
		}
	}
}

static int scan_literal(struct scan *sc, const char *word)
{
	for (const char *w = word; *w; w++, sc->i++)
		if (peek(sc) != *w) {
			sc->expected = word; /* "true", "false" or "null" */
			return -1;
		}
	return 0;
}

static int scan_number(struct scan *sc)
{
	size_t start = sc->i;
	while (sc->i < sc->len && sc->s[sc->i] && strchr("0123456789+-.eE", sc->s[sc->i]))
		sc->i++;
	if (sc->i == start + 1 && sc->s[start] == '-')
		return scan_fail(sc, "a digit");
	return 0;
}

/* A scalar at i (the caller has ruled out containers). */
static int scan_scalar(struct scan *sc)
{
	int c = peek(sc);
	if (c == '"')
		return scan_string(sc);
	if (c == 't')
		return scan_literal(sc, "true");
	if (c == 'f')
		return scan_literal(sc, "false");
	if (c == 'n')
		return scan_literal(sc, "null");
	if (c == '-' || (c >= '0' && c <= '9'))
		return scan_number(sc);
	return scan_fail(sc, "a value");
}

/* After '{' or ',' in an object: `"key" :` and the whitespace around; leaves i at the value.
 * The key's raw content (between the quotes) is returned in *k, *klen. */
static int scan_member_key(struct scan *sc, const char **k, size_t *klen)
{
	scan_ws(sc);
	if (peek(sc) != '"')
		return scan_fail(sc, "a '\"' to start a key");
	size_t start = sc->i + 1;
	if (scan_string(sc) < 0)
		return -1;
	*k = sc->s + start;
	*klen = sc->i - 1 - start;
	scan_ws(sc);
	if (peek(sc) != ':')
		return scan_fail(sc, "':' after the key");
	sc->i++;
	scan_ws(sc);
	return 0;
}

/* Skips one whole value starting at i (after whitespace).  Iterative: a bit stack remembers
 * whether each open container is an object (1) or an array (0). */
static int scan_value(struct scan *sc)
{
	uint64_t stack[SCAN_MAX_DEPTH / 64] = {0};
	int depth = 0;
	const char *k;
	size_t klen;

	for (;;) {
		/* here: a value is expected at i */
		scan_ws(sc);
		int c = peek(sc);
		if (c == '{' || c == '[') {
			if (depth == SCAN_MAX_DEPTH)
				return scan_fail(sc, "less deeply nested containers");
			bool obj = c == '{';
			uint64_t bit = (uint64_t)1 << (depth % 64);
			stack[depth / 64] =
			    obj ? stack[depth / 64] | bit : stack[depth / 64] & ~bit;
			depth++;
			sc->i++;
			scan_ws(sc);
			if (peek(sc) == (obj ? '}' : ']')) {
				sc->i++;
				depth--;
			} else {
				if (obj && scan_member_key(sc, &k, &klen) < 0)
					return -1;
				continue;
			}
		} else if (scan_scalar(sc) < 0) {
			return -1;
		}
		/* here: a value just ended; close containers or move to the next item */
		for (;;) {
			if (depth == 0)
				return 0;
			bool obj = stack[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
			scan_ws(sc);
			c = peek(sc);
			if (c == ',') {
				sc->i++;
				if (obj && scan_member_key(sc, &k, &klen) < 0)
					return -1;
				break;
			}
			if (c != (obj ? '}' : ']'))
				return scan_fail(sc, obj ? "',' or '}'" : "',' or ']'");
			sc->i++;
			depth--;
		}
	}
}

/* ---- positions ---------------------------------------------------------------------------- */

static struct json_pos pos_of_offset_n(const char *text, size_t len, size_t offset)
{
	struct json_pos p = {1, 1};
	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n' || (c == '\r' && (i + 1 >= len || text[i + 1] != '\n'))) {
			p.line++;
			p.col = 1;
		} else if (c != '\r' && (c & 0xC0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

struct json_pos json_pos_of_offset(const char *text, size_t offset)
{
	size_t n = strnlen(text, offset);
	if (n == offset && text[n])
		n++; /* let a "\r" just before offset see the "\n" at offset */
	return pos_of_offset_n(text, n, offset);
}

/* ---- paths -------------------------------------------------------------------------------- */

enum str_mode { STR_RAW, STR_PATH_QUOTED, STR_JSON };

/* Yields the decoded bytes of a key: raw path text, a quoted path key (backslash escapes the
 * next character) or JSON string content (all JSON escapes, \u with surrogate pairs). */
struct str_iter {
	const char *p, *end;
	enum str_mode mode;
	unsigned char pend[4];
	int npend, ipend;
};

static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = p[k];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static int utf8_encode(unsigned cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes one JSON escape at it->p (just after the backslash; validated by scan_string). */
static int str_json_escape(struct str_iter *it)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	char c = *it->p++;
	if (c != 'u') {
		const char *f = strchr(from, c);
		return f ? (unsigned char)to[f - from] : (unsigned char)c;
	}
	unsigned cp = hex4(it->p);
	it->p += 4;
	if (cp >= 0xD800 && cp < 0xDC00 && it->end - it->p >= 6 && it->p[0] == '\\' &&
	    it->p[1] == 'u') {
		unsigned lo = hex4(it->p + 2);
		if (lo >= 0xDC00 && lo < 0xE000) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			it->p += 6;
		}
	}
	it->npend = utf8_encode(cp, it->pend);
	it->ipend = 1;
	return it->pend[0];
}

static int str_next(struct str_iter *it)
{
	if (it->ipend < it->npend)
		return it->pend[it->ipend++];
	if (it->p >= it->end)
		return -1;
	char c = *it->p++;
	if (c != '\\' || it->mode == STR_RAW || it->p >= it->end)
		return (unsigned char)c;
	if (it->mode == STR_PATH_QUOTED)
		return (unsigned char)*it->p++;
	return str_json_escape(it);
}

static bool key_equal(const char *a, size_t alen, enum str_mode amode, const char *json,
                      size_t jlen)
{
	struct str_iter x = {.p = a, .end = a + alen, .mode = amode};
	struct str_iter y = {.p = json, .end = json + jlen, .mode = STR_JSON};
	for (;;) {
		int c = str_next(&x), d = str_next(&y);
		if (c != d)
			return false;
		if (c < 0)
			return true;
	}
}

struct path_comp {
	bool is_index;
	size_t index;
	const char *key;
	size_t klen;
	enum str_mode mode;
};

/* Next component of a path at *pp: 1 got one, 0 end, -1 malformed. */
static int path_next(const char **pp, bool first, struct path_comp *c)
{
	const char *p = *pp;
	if (!*p)
		return 0;
	if (*p == '[') {
		p++;
		if (*p == '"') {
			const char *k = ++p;
			while (*p && *p != '"')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (*p != '"' || p[1] != ']')
				return -1;
			*c = (struct path_comp){
			    .key = k, .klen = (size_t)(p - k), .mode = STR_PATH_QUOTED};
			*pp = p + 2;
			return 1;
		}
		if (*p < '0' || *p > '9')
			return -1;
		size_t v = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > (SIZE_MAX - 9) / 10)
				return -1;
			v = v * 10 + (size_t)(*p - '0');
		}
		if (*p != ']')
			return -1;
		*c = (struct path_comp){.is_index = true, .index = v};
		*pp = p + 1;
		return 1;
	}
	if (*p == '.')
		p++;
	else if (!first)
		return -1;
	size_t n = strcspn(p, ".[");
	if (n == 0)
		return -1;
	*c = (struct path_comp){.key = p, .klen = n, .mode = STR_RAW};
	*pp = p + n;
	return 1;
}

/* Moves sc (at the '{' or '[' of a container) to the member c names, the first of duplicate
 * keys: 1 found, 0 absent, -1 bad text. */
static int walk_to(struct scan *sc, const struct path_comp *c)
{
	bool obj = !c->is_index;
	int close = obj ? '}' : ']';
	sc->i++;
	scan_ws(sc);
	if (peek(sc) == close)
		return 0;
	for (size_t n = 0;; n++) {
		if (obj) {
			const char *k;
			size_t klen;
			if (scan_member_key(sc, &k, &klen) < 0)
				return -1;
			if (key_equal(c->key, c->klen, c->mode, k, klen))
				return 1;
		} else {
			scan_ws(sc);
			if (n == c->index)
				return 1;
		}
		if (scan_value(sc) < 0)
			return -1;
		scan_ws(sc);
		int ch = peek(sc);
		if (ch == close)
			return 0;
		if (ch != ',')
			return scan_fail(sc, obj ? "',' or '}'" : "',' or ']'");
		sc->i++;
	}
}

/* Walks sc to the value at path; *at = the start of the deepest value reached.  Returns as
 * json_pos_of_path. */
static int walk_path(struct scan *sc, const char *path, size_t *at)
{
	scan_ws(sc);
	*at = sc->i;
	if (*at >= sc->len)
		return -1;
	struct path_comp c;
	const char *p = path ? path : "";
	for (bool first = true;; first = false) {
		int r = path_next(&p, first, &c);
		if (r <= 0)
			return r;
		if ((unsigned char)sc->s[*at] != (c.is_index ? '[' : '{'))
			return 1;
		sc->i = *at;
		r = walk_to(sc, &c);
		if (r == 0)
			return 1;
		if (r < 0 || sc->i >= sc->len) {
			*at = sc->i;
			return -1;
		}
		*at = sc->i;
	}
}

int json_pos_of_path(const char *text, size_t len, const char *path, struct json_pos *out)
{
	struct scan sc = {.s = text, .len = len};
	size_t at;
	int rc = walk_path(&sc, path, &at);
	if (out)
		*out = pos_of_offset_n(text, len, at);
	return rc;
}

int json_member_spans(const char *text, size_t len, const char *path, const char *const *keys,
                      size_t (*spans)[2])
{
	size_t nkeys = 0;
	while (keys[nkeys])
		nkeys++;
	memset(spans, 0, nkeys * sizeof *spans);
	struct scan sc = {.s = text, .len = len};
	size_t at;
	int rc = walk_path(&sc, path, &at);
	if (rc != 0)
		return rc;
	if (text[at] != '{')
		return 1;
	sc.i = at + 1;
	scan_ws(&sc);
	if (peek(&sc) == '}')
		return 0;
	for (;;) {
		const char *k;
		size_t klen;
		if (scan_member_key(&sc, &k, &klen) < 0)
			break;
		size_t start = sc.i;
		if (scan_value(&sc) < 0)
			break;
		for (size_t j = 0; j < nkeys; j++) {
			if (spans[j][1] == 0 &&
			    key_equal(keys[j], strlen(keys[j]), STR_RAW, k, klen)) {
				spans[j][0] = start;
				spans[j][1] = sc.i;
				break;
			}
		}
		scan_ws(&sc);
		int ch = peek(&sc);
		if (ch == '}')
			return 0;
		if (ch != ',')
			break;
		sc.i++;
	}
	memset(spans, 0, nkeys * sizeof *spans);
	return -1;
}

/* ---- path builders ------------------------------------------------------------------------ */

void json_path_key(struct sbuf *b, const char *key)
{
	if (*key && !strpbrk(key, ".[]\"\\")) {
		if (b->len)
			sbuf_addc(b, '.');
		sbuf_adds(b, key);
		return;
	}
	sbuf_adds(b, "[\"");
	for (const char *k = key; *k; k++) {
		if (*k == '"' || *k == '\\')
			sbuf_addc(b, '\\');
		sbuf_addc(b, *k);
	}
	sbuf_adds(b, "\"]");
}

void json_path_index(struct sbuf *b, size_t index)
{
	sbuf_addf(b, "[%zu]", index);
}

/* ---- parse errors ------------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need = s[0] >= 0xF0 && s[0] < 0xF5 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
	if (s[0] >= 0xF5 || need == 0 || need > n)
		return 0;
	for (size_t k = 1; k < need; k++)
		if ((s[k] & 0xC0) != 0x80)
			return 0;
	return need;
}

static void describe_at(const char *text, size_t len, size_t off, char *what, size_t n)
{
	if (off >= len) {
		snprintf(what, n, "end of file");
		return;
	}
	const unsigned char *s = (const unsigned char *)text + off;
	if (s[0] < 0x20 || s[0] == 0x7F) {
		snprintf(what, n, "character U+%04X", s[0]);
	} else if (s[0] < 0x80) {
		snprintf(what, n, "character '%c'", s[0]);
	} else {
		size_t k = utf8_len(s, len - off);
		if (k)
			snprintf(what, n, "character '%.*s'", (int)k, (const char *)s);
		else
			snprintf(what, n, "byte 0x%02X (not UTF-8)", s[0]);
	}
}

void json_scan_error(const char *text, size_t len, const char *errptr, struct json_pos *pos,
                     char *msg, size_t n)
{
	struct scan sc = {.s = text, .len = len};
	int bad = scan_value(&sc);
	if (bad == 0) {
		scan_ws(&sc);
		if (sc.i < len) {
			bad = -1;
			sc.expected = "end of file after the JSON value";
		}
	}
	size_t off = sc.i;
	if (bad == 0) {
		/* our scan found nothing: trust cJSON's pointer */
		off = errptr && errptr >= text && errptr <= text + len ? (size_t)(errptr - text)
		                                                       : len;
		sc.expected = NULL;
	}
	*pos = pos_of_offset_n(text, len, off);
	char what[64];
	describe_at(text, len, off, what, sizeof what);
	if (!n)
		return;
	if (sc.expected)
		snprintf(msg, n, "unexpected %s (expected %s)", what, sc.expected);
	else
		snprintf(msg, n, "unexpected %s", what);
}

void json_describe_error(const char *text, size_t len, const char *errptr, char *buf, size_t n)
{
	struct json_pos p;
	char msg[256];
	json_scan_error(text, len, errptr, &p, msg, sizeof msg);
	if (n)
		snprintf(buf, n, "%d:%d: %s", p.line, p.col, msg);
}

/* sanitize.c: wide-character text for the screen: control removal, tab stops, display widths,
 * cutting to a column count and word wrapping, over core/termsafe.c's strict UTF-8 decoding and
 * escape-sequence scanner (shared with the headless output).  See sanitize.h for the rules. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "core/termsafe.h"
#include "core/utf8.h"
#include "core/util.h"
#include "tui/glyphs.h"
#include "tui/sanitize.h"

#define TAB_STOP 8

size_t san_utf8_decode(const char *s, size_t n, long *cp)
{
	return utf8_decode(s, n, cp);
}

void san_utf8_encode(struct sbuf *b, const wchar_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		utf8_encode(b, (unsigned long)s[i]);
}

int san_wcwidth(wchar_t c)
{
	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c == L'\n')
		return 0;
	int w = wcwidth(c);
	return w < 0 ? 1 : w;
}

int san_width(const wchar_t *s, size_t n)
{
	int w = 0;
	for (size_t i = 0; i < n; i++)
		w += san_wcwidth(s[i]);
	return w;
}

int san_width_utf8(const char *s)
{
	struct san_text t;
	san_text_from(&t, s, strlen(s), 0, 0);
	int w = san_width(t.s, t.len);
	san_text_free(&t);
	return w;
}

struct san_out {
	wchar_t *s;
	size_t len, cap;
	int col;
	unsigned flags;
	bool ascii; /* the ASCII glyph set is in effect: symbols are spelled (ascii_spelled) */
};

static void out_put(struct san_out *o, wchar_t c)
{
	o->s = xgrow(o->s, &o->cap, o->len + 2, sizeof(*o->s));
	o->s[o->len++] = c;
}

static wchar_t replacement(void)
{
	return wcwidth(0xfffd) == 1 ? (wchar_t)0xfffd : L'?';
}

/* Ranges of characters that draw as nothing, in code point order. */
static const struct {
	long lo, hi;
} invisible[] = {
    {0x00ad, 0x00ad},   /* soft hyphen */
    {0x034f, 0x034f},   /* combining grapheme joiner */
    {0x061c, 0x061c},   /* Arabic letter mark */
    {0x115f, 0x1160},   /* Hangul fillers */
    {0x17b4, 0x17b5},   /* Khmer inherent vowels */
    {0x180b, 0x180f},   /* Mongolian variation selectors and vowel separator */
    {0x200b, 0x200f},   /* zero-width space, non-joiner, joiner; LRM, RLM */
    {0x2028, 0x202e},   /* line and paragraph separators; bidi embeddings and overrides */
    {0x2060, 0x206f},   /* word joiner, invisible operators, bidi isolates, deprecated */
    {0x3164, 0x3164},   /* Hangul filler */
    {0xfe00, 0xfe0f},   /* variation selectors */
    {0xfeff, 0xfeff},   /* zero-width no-break space (BOM) */
    {0xffa0, 0xffa0},   /* halfwidth Hangul filler */
    {0xfff9, 0xfffb},   /* interlinear annotation */
    {0x1d173, 0x1d17a}, /* musical formatting */
    {0xe0000, 0xe007f}, /* tag characters */
    {0xe0100, 0xe01ef}, /* variation selectors supplement */
};

int san_invisible(long c)
{
	size_t lo = 0, hi = sizeof invisible / sizeof invisible[0];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c < invisible[mid].lo)
			hi = mid;
		else if (c > invisible[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

size_t san_visible_run(const char *s, size_t n, long *cp, size_t *cplen)
{
	for (size_t i = 0; i < n;) {
		if ((unsigned char)s[i] < 0xc2) { /* no invisible character starts with it */
			i++;
			continue;
		}
		size_t k = utf8_decode(s + i, n - i, cp);
		if (*cp >= 0 && san_invisible(*cp)) {
			*cplen = k;
			return i;
		}
		i += k;
	}
	*cp = -1;
	*cplen = 0;
	return n;
}

/* The symbols the program writes in its own text, spelled in ASCII when the ASCII glyph set is
 * in effect (a non-UTF-8 locale, or :set glyphs ascii), where they would show as "?". */
static const struct {
	long c;
	const char *ascii;
} ascii_spelling[] = {
    {0x03c6, "phi"}, {0x00b1, "+/-"}, {0x2192, "->"}, {0x2190, "<-"}, {0x2191, "^"},  {0x2193, "v"},
    {0x2026, "..."}, {0x00d7, "x"},   {0x2264, "<="}, {0x2265, ">="}, {0x2014, "--"}, {0x2013, "-"},
    {0x21bb, "@"},   {0x2713, "+"},   {0x2717, "x"},  {0x2022, "*"},  {0x2248, "~"},
};

static const char *ascii_spelled(long c)
{
	if (c < 0x80)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(ascii_spelling); i++)
		if (ascii_spelling[i].c == c)
			return ascii_spelling[i].ascii;
	return NULL;
}

/* A character outside any escape sequence. */
static void text_char(struct san_out *o, long c)
{
	const char *spelled = o->ascii ? ascii_spelled(c) : NULL;
	if (spelled) {
		for (; *spelled; spelled++, o->col++)
			out_put(o, (wchar_t)*spelled);
		return;
	}
	if (c == '\t') {
		do
			out_put(o, L' ');
		while (++o->col % TAB_STOP);
		return;
	}
	if (c == '\n') {
		out_put(o, (o->flags & SAN_KEEP_NEWLINES) ? L'\n' : L' ');
		o->col = (o->flags & SAN_KEEP_NEWLINES) ? 0 : o->col + 1;
		return;
	}
	if (term_is_control(c))
		return;
	wchar_t w = c < 0 ? replacement() : (wchar_t)c;
	if (c >= 0x80 && wcwidth(w) < 0)
		w = replacement();
	out_put(o, w);
	o->col += san_wcwidth(w);
}

static void emit_wide(void *arg, long c)
{
	text_char(arg, c);
}

void san_text_from(struct san_text *out, const char *bytes, size_t n, int col, unsigned flags)
{
	/* the glyph set is looked up once a text, not once a character */
	struct san_out o = {.col = col, .flags = flags, .ascii = !strcmp(glyphs()->name, "ascii")};
	out_put(&o, 0);
	o.len = 0;
	/* the last line of defence for secrets (a key in a streamed preview, say): the text
	 * without sequences, redacted, then scanned again (it has none left) */
	struct sbuf clean = {0};
	if (redact_active()) {
		term_sanitize(&clean, bytes, n, TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
		bytes = sbuf_str(&clean);
		n = clean.len;
	}
	struct term_scan sc = {0, emit_wide, &o};
	term_scan(&sc, bytes, n);
	sbuf_free(&clean);
	o.s[o.len] = 0;
	out->s = o.s;
	out->len = o.len;
}

void san_text_free(struct san_text *t)
{
	free(t->s);
	t->s = NULL;
	t->len = 0;
}

size_t san_fit(const wchar_t *s, size_t n, int cols, int *used)
{
	int w = 0;
	size_t i = 0;
	for (; i < n; i++) {
		int cw = san_wcwidth(s[i]);
		if (w + cw > cols)
			break;
		w += cw;
	}
	if (used)
		*used = w;
	return i;
}

void san_cut(struct san_text *out, const wchar_t *s, size_t n, int cols, const wchar_t *ellipsis)
{
	size_t elen = ellipsis ? wcslen(ellipsis) : 0;
	int ew = ellipsis ? san_width(ellipsis, elen) : 0;
	size_t keep;
	if (cols < 0)
		cols = 0;
	if (san_width(s, n) <= cols) {
		keep = n;
		elen = 0;
	} else if (ew > cols) {
		keep = san_fit(s, n, cols, NULL);
		elen = 0;
	} else {
		keep = san_fit(s, n, cols - ew, NULL);
	}
	out->s = xmalloc((keep + elen + 1) * sizeof(wchar_t));
	wmemcpy(out->s, s, keep);
	if (elen)
		wmemcpy(out->s + keep, ellipsis, elen);
	out->len = keep + elen;
	out->s[out->len] = 0;
}

static void lines_add(struct san_lines *l, const wchar_t *s, size_t start, size_t end)
{
	while (end > start && s[end - 1] == L' ')
		end--;
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n].start = start;
	l->v[l->n].len = end - start;
	l->v[l->n].width = san_width(s + start, end - start);
	l->n++;
}

/* Wraps one paragraph (no '\n' inside) s[a..b). */
static void wrap_paragraph(struct san_lines *out, const wchar_t *s, size_t a, size_t b, int width)
{
	if (a == b) {
		lines_add(out, s, a, a);
		return;
	}
	while (a < b) {
		int w = 0;
		size_t i = a, brk = 0; /* brk: end of the last word that fits, 0 = none */
		while (i < b) {
			int cw = san_wcwidth(s[i]);
			if (w + cw > width)
				break;
			if (s[i] == L' ' && i > a && s[i - 1] != L' ')
				brk = i;
			w += cw;
			i++;
		}
		if (i == b) {
			lines_add(out, s, a, b);
			return;
		}
		if (s[i] == L' ')
			brk = i; /* the line ends exactly at a word end */
		size_t end = brk ? brk : (i > a ? i : a + 1); /* hard break; one char at least */
		while (end < b && san_wcwidth(s[end]) == 0 && s[end] != L' ')
			end++; /* keep combining marks with their base */
		lines_add(out, s, a, end);
		a = end;
		while (a < b && s[a] == L' ')
			a++;
	}
}

void san_wrap(struct san_lines *out, const wchar_t *s, size_t n, int width)
{
	memset(out, 0, sizeof(*out));
	if (width < 1)
		width = 1;
	size_t a = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == L'\n') {
			if (i < n || a < n || n == 0)
				wrap_paragraph(out, s, a, i, width);
			a = i + 1;
		}
	}
}

void san_lines_free(struct san_lines *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

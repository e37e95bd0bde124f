/* termsafe.c: the escape-sequence scanner, and the sanitized printing of the
 * headless modes.  See termsafe.h. */
#include "core/termsafe.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

bool term_is_control(long c)
{
	return (c >= 0 && c < 0x20) || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

/* ---- the escape-sequence scanner: one state per place inside a sequence ---- */

enum { S_TEXT, S_ESC, S_ESC_INTER, S_CSI, S_STRING, S_STRING_ESC };

/* Feeds one code point (or -1 for an invalid byte, or a raw C1 byte value); returns the new
 * state. */
static int term_step(struct term_scan *sc, int st, long c)
{
	switch (st) {
	case S_TEXT:
		if (c == 0x1b)
			return S_ESC;
		if (c == 0x9b)
			return S_CSI;
		if (c == 0x90 || c == 0x98 || c == 0x9d || c == 0x9e || c == 0x9f)
			return S_STRING;
		sc->emit(sc->arg, c);
		return S_TEXT;
	case S_ESC:
		if (c == '[')
			return S_CSI;
		if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
			return S_STRING;
		if (c >= 0x20 && c <= 0x2f)
			return S_ESC_INTER;
		if (c >= 0x30 && c <= 0x7e)
			return S_TEXT;
		return term_step(sc, S_TEXT, c);
	case S_ESC_INTER:
		if (c >= 0x20 && c <= 0x2f)
			return S_ESC_INTER;
		if (c >= 0x30 && c <= 0x7e)
			return S_TEXT;
		return term_step(sc, S_TEXT, c);
	case S_CSI:
		if (c >= 0x20 && c <= 0x3f)
			return S_CSI;
		if (c >= 0x40 && c <= 0x7e)
			return S_TEXT;
		if (c == 0x1b)
			return S_ESC;
		if (c >= 0 && c < 0x20)
			return S_CSI; /* controls inside CSI are executed by terminals: drop them */
		return term_step(sc, S_TEXT, c);
	case S_STRING:
		if (c == 0x07 || c == 0x9c)
			return S_TEXT;
		return c == 0x1b ? S_STRING_ESC : S_STRING;
	case S_STRING_ESC:
		if (c == '\\')
			return S_TEXT;
		return term_step(sc, S_ESC, c);
	}
	return S_TEXT;
}

void term_scan(struct term_scan *sc, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n;) {
		long c;
		size_t k = utf8_decode(bytes + i, n - i, &c);
		if (c < 0 && (unsigned char)bytes[i] == 0x9b)
			c = 0x9b; /* a raw 8-bit CSI; other stray bytes open nothing */
		sc->state = term_step(sc, sc->state, c);
		i += k;
	}
}

/* ---- headless output ---- */

struct emit_bytes {
	struct sbuf *out;
	unsigned flags;
};

static void emit_byte_text(void *arg, long c)
{
	struct emit_bytes *e = arg;
	if (c == '\n' || c == '\t') {
		unsigned keep = c == '\n' ? TERM_KEEP_NEWLINES : TERM_KEEP_TABS;
		sbuf_addc(e->out, (e->flags & keep) ? (char)c : ' ');
	} else if (c < 0) {
		utf8_encode(e->out, 0xfffd);
	} else if (!term_is_control(c)) {
		utf8_encode(e->out, (unsigned long)c);
	}
}

void term_sanitize(struct sbuf *out, const char *s, size_t n, unsigned flags)
{
	struct sbuf text = {0};
	struct emit_bytes eb = {&text, flags};
	struct term_scan sc = {S_TEXT, emit_byte_text, &eb};
	term_scan(&sc, s, n);
	/* after the scan: a key cut in two by an escape sequence is whole again on screen */
	if (redact_needed(sbuf_str(&text), text.len)) {
		char *r = redact_copy(text.s, text.len);
		sbuf_adds(out, r);
		free(r);
	} else {
		sbuf_add(out, sbuf_str(&text), text.len);
	}
	sbuf_free(&text);
}

void term_printf(FILE *f, const char *fmt, ...)
{
	struct sbuf raw = {0}, out = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&raw, fmt, ap);
	va_end(ap);
	term_sanitize(&out, sbuf_str(&raw), raw.len, TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
	fwrite(sbuf_str(&out), 1, out.len, f);
	sbuf_free(&raw);
	sbuf_free(&out);
}

char *term_line(const char *s)
{
	struct sbuf out = {0};
	term_sanitize(&out, s ? s : "", s ? strlen(s) : 0, 0);
	return sbuf_take(&out);
}

void term_json(FILE *f, const char *json)
{
	char *clean = redact_copy(json, strlen(json));
	struct sbuf out = {0};
	size_t n = strlen(clean);
	for (size_t i = 0; i < n;) {
		long c;
		size_t k = utf8_decode(clean + i, n - i, &c);
		if (c == '\n' || c == '\t' || (c >= 0 && !term_is_control(c)))
			sbuf_add(&out, clean + i, k);
		else
			sbuf_addf(&out, "\\u%04lx", c < 0 ? 0xfffdL : (unsigned long)c);
		i += k;
	}
	sbuf_addc(&out, '\n');
	fwrite(sbuf_str(&out), 1, out.len, f);
	sbuf_free(&out);
	free(clean);
}

void term_json_doc(FILE *f, const struct cJSON *doc)
{
	char *text = cJSON_Print(doc);
	term_json(f, text ? text : "null");
	cJSON_free(text);
}

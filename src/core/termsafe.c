/* termsafe.c: strict UTF-8, the escape-sequence scanner, and the sanitized printing of the
 * headless modes.  See termsafe.h. */
#include "core/termsafe.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

size_t utf8_decode(const char *s, size_t n, long *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c = u[0];
	size_t len;
	long v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (len > n) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

void utf8_encode(struct sbuf *b, unsigned long c)
{
	char t[4];
	size_t k;
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		t[0] = (char)c, k = 1;
	} else if (c < 0x800) {
		t[0] = (char)(0xc0 | c >> 6), t[1] = (char)(0x80 | (c & 0x3f)), k = 2;
	} else if (c < 0x10000) {
		t[0] = (char)(0xe0 | c >> 12), t[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		t[2] = (char)(0x80 | (c & 0x3f)), k = 3;
	} else {
		t[0] = (char)(0xf0 | c >> 18), t[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((c >> 6) & 0x3f)), t[3] = (char)(0x80 | (c & 0x3f)), k = 4;
	}
	sbuf_add(b, t, k);
}

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

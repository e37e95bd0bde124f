/* sanitize.h: turns any byte string (model output, files, network) into text that is safe to draw.
 *
 * Output is wide characters (wchar_t, UCS-4 on the platforms we build for), ready for ncursesw's
 * waddnwstr and for column arithmetic with wcwidth.  What sanitizing does:
 *   - decodes UTF-8 strictly; every invalid byte (overlong forms, surrogates, > U+10FFFF,
 *     truncated sequences) becomes U+FFFD (or '?' when the locale cannot show U+FFFD);
 *   - removes ANSI/ECMA-48 escape sequences entirely: CSI (ESC [, U+009B, and a raw byte 0x9b),
 *     OSC/DCS/SOS/PM/APC strings (ESC ] or U+009D, ...) ended by BEL, ESC \ or U+009C, and
 *     two/three-byte ESC sequences (other stray bytes are U+FFFD and open nothing);
 *   - drops other C0 and C1 controls and DEL; CR is dropped; TAB becomes spaces up to the next
 *     tab stop (every 8 columns) counted from the caller's starting column;
 *   - LF is kept as L'\n' with SAN_KEEP_NEWLINES (for the caller's wrapping), else a space;
 *   - removes bidi embedding/override/isolate controls (U+202A..U+202E, U+2066..U+2069);
 *   - replaces characters the locale says are unprintable (wcwidth < 0) by the replacement mark;
 *   - replaces every API key in use (core/redact.h) by "[redacted]".
 * The decoding and the escape-sequence scanner are core/termsafe.h's, which the headless output
 * shares.  Every function is independent of curses. */
#ifndef ADOPT_TUI_SANITIZE_H
#define ADOPT_TUI_SANITIZE_H

#include <stddef.h>
#include <wchar.h>

enum {
	SAN_KEEP_NEWLINES = 1 << 0, /* keep '\n' (columns restart at 0 after it) */
};

/* A sanitized string: NUL-terminated, `len` characters; owned by the caller (san_text_free). */
struct san_text {
	wchar_t *s;
	size_t len;
};

/* Sanitizes n bytes.  `col` is the screen column the text starts at (for tab stops). */
void san_text_from(struct san_text *out, const char *bytes, size_t n, int col, unsigned flags);
void san_text_free(struct san_text *t);

/* Display width of one (already sanitized) character: 0 for combining marks, 2 for wide. */
int san_wcwidth(wchar_t c);
/* Display width of n characters (a '\n' counts 0). */
int san_width(const wchar_t *s, size_t n);
/* Width of a UTF-8 string after sanitizing. */
int san_width_utf8(const char *s);

/* How many of the n characters fit in `cols` columns without splitting a wide character;
 * zero-width characters that follow the last one kept are kept with it.  *used gets the width. */
size_t san_fit(const wchar_t *s, size_t n, int cols, int *used);

/* Cuts to at most `cols` columns; when the text is longer, it ends with `ellipsis` (a string of
 * width 1 or more, e.g. glyphs()->ellipsis decoded, or NULL for no mark).  Result is allocated. */
void san_cut(struct san_text *out, const wchar_t *s, size_t n, int cols, const wchar_t *ellipsis);

/* One wrapped line: a range of the source text (no newline inside, trailing blanks excluded). */
struct san_line {
	size_t start, len;
	int width;
};
struct san_lines {
	struct san_line *v;
	size_t n, cap;
};
/* Wraps into lines of at most `width` columns (>= 1): breaks at spaces, hard-breaks words longer
 * than a line, starts a new line at each '\n'.  A wide character never fits in width 1 and is
 * then put alone on its line.  Free with san_lines_free. */
void san_wrap(struct san_lines *out, const wchar_t *s, size_t n, int width);
void san_lines_free(struct san_lines *l);

/* Characters that draw as nothing (zero-width spaces and joiners, the word joiner and invisible
 * operators, U+FEFF, soft hyphen, bidi marks and controls, variation selectors, tag characters,
 * Hangul fillers, ...): text that differs only in them looks the same.  Views where a hidden
 * change matters (diffs and proposed prompts) show each as a marker, "<U+200B>"; see
 * tlines_add_spans_marked. */
int san_invisible(long c);
/* Bytes of s (n of them) before its first invisible character; *cp gets that character and
 * *cplen its length in bytes, or *cp = -1 when there is none (the whole of s is returned). */
size_t san_visible_run(const char *s, size_t n, long *cp, size_t *cplen);

/* Appends the UTF-8 encoding of n wide characters to `b`. */
struct sbuf;
void san_utf8_encode(struct sbuf *b, const wchar_t *s, size_t n);
/* Decodes one UTF-8 character at s (n bytes available) strictly; returns its length (>= 1) and
 * stores the code point, or -1 in *cp for an invalid byte (length 1). */
size_t san_utf8_decode(const char *s, size_t n, long *cp);

#endif

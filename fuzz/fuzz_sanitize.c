/* fuzz_sanitize.c: the terminal sanitizer (src/tui/sanitize.c), which everything drawn goes
 * through.  No ESC, C0 (but a kept newline), DEL, C1 or bidi control survives, every character
 * left has a width, the UTF-8 it encodes back to is valid and holds no such control either, and
 * fitting, cutting and wrapping keep within their columns.  A registered key is never shown.
 *
 * Input: byte 0 gives the flags (bit 0) and the starting column (bits 1-3), byte 1 the columns
 * for fitting and wrapping (0-63); the rest is the text. */
#include <locale.h>
#include <string.h>

#include "core/redact.h"
#include "fuzz.h"
#include "tui/sanitize.h"

#define KEY "sk-fuzz-0123456789abcdef"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(setlocale(LC_ALL, "C.UTF-8"), "no C.UTF-8 locale");
	redact_add(KEY);
	return 0;
}

static bool is_control(wchar_t c)
{
	return c < 0x20 || (c >= 0x7F && c < 0xA0) || (c >= 0x202A && c <= 0x202E) ||
	       (c >= 0x2066 && c <= 0x2069);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned flags = data[0] & 1 ? SAN_KEEP_NEWLINES : 0;
	int col = (data[0] >> 1) & 7, cols = data[1] & 63;
	const char *bytes = (const char *)data + 2;
	size_t n = size - 2;

	struct san_text t;
	san_text_from(&t, bytes, n, col, flags);
	FUZZ_CHECK(t.s[t.len] == 0, "not terminated");
	int width = 0;
	for (size_t i = 0; i < t.len; i++) {
		wchar_t c = t.s[i];
		FUZZ_CHECK(!is_control(c) || (c == L'\n' && (flags & SAN_KEEP_NEWLINES)),
		           "control U+%04X at %zu survives", (unsigned)c, i);
		FUZZ_CHECK(c > 0 && c <= 0x10FFFF && !(c >= 0xD800 && c < 0xE000),
		           "bad character %#x", (unsigned)c);
		int w = san_wcwidth(c);
		FUZZ_CHECK(w >= 0 && w <= 2, "width %d for U+%04X", w, (unsigned)c);
		width += c == L'\n' ? 0 : w;
	}
	FUZZ_CHECK(san_width(t.s, t.len) == width, "san_width %d, sum %d", san_width(t.s, t.len),
	           width);

	/* back to UTF-8: valid, and sanitizing it again changes nothing (tabs are spaces now) */
	struct sbuf u = {0};
	san_utf8_encode(&u, t.s, t.len);
	for (size_t i = 0; i < u.len;) {
		long cp;
		size_t k = san_utf8_decode(u.s + i, u.len - i, &cp);
		FUZZ_CHECK(cp >= 0, "invalid UTF-8 out at byte %zu", i);
		i += k;
	}
	FUZZ_CHECK(!strstr(sbuf_str(&u), KEY), "the key is shown");
	struct san_text again;
	san_text_from(&again, sbuf_str(&u), u.len, col, flags);
	FUZZ_CHECK(again.len == t.len && wmemcmp(again.s, t.s, t.len) == 0,
	           "sanitizing twice changes the text");
	san_text_free(&again);
	sbuf_free(&u);

	int used = -1;
	size_t k = san_fit(t.s, t.len, cols, &used);
	FUZZ_CHECK(k <= t.len && used <= cols && used == san_width(t.s, k),
	           "fit: %zu chars, %d of %d", k, used, cols);
	struct san_text cut;
	san_cut(&cut, t.s, t.len, cols, L"\u2026");
	FUZZ_CHECK(san_width(cut.s, cut.len) <= cols, "cut to %d columns is %d wide", cols,
	           san_width(cut.s, cut.len));
	san_text_free(&cut);

	struct san_lines lines;
	int w = cols ? cols : 1;
	san_wrap(&lines, t.s, t.len, w);
	for (size_t i = 0; i < lines.n; i++) {
		const struct san_line *l = &lines.v[i];
		FUZZ_CHECK(l->start + l->len <= t.len, "line %zu outside the text", i);
		FUZZ_CHECK(!wmemchr(t.s + l->start, L'\n', l->len), "a newline inside line %zu", i);
		FUZZ_CHECK(l->width == san_width(t.s + l->start, l->len), "line %zu: wrong width",
		           i);
		/* too wide only for a wide character alone (with its zero-width marks) at width 1
		 */
		size_t visible = 0;
		for (size_t j = 0; j < l->len; j++)
			visible += san_wcwidth(t.s[l->start + j]) > 0;
		FUZZ_CHECK(l->width <= w || (visible == 1 && w == 1), "line %zu is %d wide of %d",
		           i, l->width, w);
	}
	san_lines_free(&lines);
	san_text_free(&t);
	return 0;
}

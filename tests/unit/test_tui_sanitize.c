/* test_tui_sanitize.c: escape stripping, UTF-8 repair, controls, widths, cutting, wrapping. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/redact.h"
#include "core/util.h"
#include "tui/sanitize.h"

#define REDACTED_W L"[redacted]"

/* Sanitizes a C string and compares with the expected wide string. */
static void check(const char *in, unsigned flags, const wchar_t *want)
{
	struct san_text t;
	san_text_from(&t, in, strlen(in), 0, flags);
	if (wcscmp(t.s, want) != 0) {
		struct sbuf b = {0};
		san_utf8_encode(&b, t.s, t.len);
		fail_msg("sanitize(%s) gave \"%s\"", in, sbuf_str(&b));
	}
	assert_int_equal(t.len, wcslen(want));
	san_text_free(&t);
}

static void test_plain(void **state)
{
	(void)state;
	check("hello", 0, L"hello");
	check("", 0, L"");
	check("caf\xc3\xa9", 0, L"caf\u00e9");
}

static void test_csi(void **state)
{
	(void)state;
	check("\x1b[31mred\x1b[0m", 0, L"red");
	check("a\x1b[2J\x1b[Hb", 0, L"ab");
	check("x\x1b[?1049hy", 0, L"xy");
	check("8bit\x9b"
	      "31mcsi",
	      0, L"8bitcsi"); /* raw 0x9b */
	check("utf8\xc2\x9b"
	      "31mcsi",
	      0, L"utf8csi"); /* U+009B */
	check("trunc\x1b[", 0, L"trunc");
	check("\x1b"
	      "7save\x1b"
	      "8",
	      0, L"save");                     /* two-byte ESC sequences */
	check("\x1b(Bcharset", 0, L"charset"); /* ESC with intermediate */
}

static void test_osc(void **state)
{
	(void)state;
	check("a\x1b]0;title\x07"
	      "b",
	      0, L"ab");                                                   /* BEL */
	check("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", 0, L"alinkb"); /* ST */
	check("a\xc2\x9d"
	      "0;t\xc2\x9c"
	      "b",
	      0, L"ab"); /* C1 OSC and ST */
	check("a\x9d"
	      "b",
	      0, L"a\ufffdb");              /* a stray byte opens nothing */
	check("a\x1bP+q\x1b\\b", 0, L"ab"); /* DCS */
	check("a\x1b]unterminated", 0, L"a");
}

static void test_controls(void **state)
{
	(void)state;
	check("a\x01\x08\x7f"
	      "b\rc",
	      0, L"abc");
	check("a\xc2\x85"
	      "b",
	      0, L"ab"); /* C1 NEL */
	check("l1\nl2", 0, L"l1 l2");
	check("l1\nl2", SAN_KEEP_NEWLINES, L"l1\nl2");
	check("\xe2\x80\xae"
	      "evil\xe2\x80\xac",
	      0, L"evil");                           /* RLO ... PDF */
	check("\xe2\x81\xa6x\xe2\x81\xa9", 0, L"x"); /* LRI ... PDI */
}

static void test_tabs(void **state)
{
	(void)state;
	check("\tx", 0, L"        x");
	check("ab\tx", 0, L"ab      x");
	check("12345678\tx", 0, L"12345678        x");
	check("a\n\tb", SAN_KEEP_NEWLINES, L"a\n        b");
	struct san_text t;
	san_text_from(&t, "\tx", 2, 5, 0); /* starting at column 5 */
	assert_true(wcscmp(t.s, L"   x") == 0);
	san_text_free(&t);
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	check("a\xff"
	      "b",
	      0, L"a\ufffdb");
	check("\xc0\xaf", 0, L"\ufffd\ufffd");                     /* overlong '/' */
	check("\xed\xa0\x80", 0, L"\ufffd\ufffd\ufffd");           /* surrogate */
	check("\xf4\x90\x80\x80", 0, L"\ufffd\ufffd\ufffd\ufffd"); /* > U+10FFFF */
	check("\xe4\xb8", 0, L"\ufffd\ufffd");                     /* truncated */
	check("\xf0\x9f\x98\x80", 0, L"\U0001F600");
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(san_width_utf8("abc"), 3);
	assert_int_equal(san_width_utf8("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* 日本 */
	assert_int_equal(san_width_utf8("e\xcc\x81"), 1);                /* e + combining acute */
	assert_int_equal(san_width_utf8("\x1b[1mbold\x1b[0m"), 4);
}

static void cut(const wchar_t *s, int cols, const wchar_t *want)
{
	struct san_text t;
	san_cut(&t, s, wcslen(s), cols, L"\u2026");
	assert_true(wcscmp(t.s, want) == 0);
	assert_true(san_width(t.s, t.len) <= cols);
	san_text_free(&t);
}

static void test_cut(void **state)
{
	(void)state;
	cut(L"hello", 10, L"hello");
	cut(L"hello", 5, L"hello");
	cut(L"hello world", 5, L"hell\u2026");
	cut(L"hello", 0, L"");
	cut(L"hello", 1, L"\u2026");
	/* 日本語 is 6 columns: at 4 columns, 日 + … (the wide 本 would cross the edge) */
	cut(L"\u65e5\u672c\u8a9e", 4, L"\u65e5\u2026");
	cut(L"\u65e5\u672c\u8a9e", 5, L"\u65e5\u672c\u2026");
	cut(L"\u65e5\u672c\u8a9e", 6, L"\u65e5\u672c\u8a9e");
	/* combining marks stay with their base */
	cut(L"e\u0301e\u0301e\u0301xyz", 3, L"e\u0301e\u0301\u2026");
	int used;
	assert_int_equal(san_fit(L"a\u65e5", 2, 2, &used), 1);
	assert_int_equal(used, 1);
	assert_int_equal(san_fit(L"ae\u0301", 3, 2, &used), 3);
}

static void wrap_check(const wchar_t *s, int width, const char *const *want, size_t nwant)
{
	struct san_lines l;
	san_wrap(&l, s, wcslen(s), width);
	for (size_t i = 0; i < l.n && i < nwant; i++) {
		struct sbuf b = {0};
		san_utf8_encode(&b, s + l.v[i].start, l.v[i].len);
		assert_string_equal(sbuf_str(&b), want[i]);
		assert_true(l.v[i].width <= width || l.v[i].len == 1);
		sbuf_free(&b);
	}
	assert_int_equal(l.n, nwant);
	san_lines_free(&l);
}

static void test_wrap(void **state)
{
	(void)state;
	const char *w1[] = {"the quick", "brown fox", "jumps"};
	wrap_check(L"the quick brown fox jumps", 10, w1, 3);
	const char *w2[] = {"abcdefghij", "klm", "xyzzyplugh"};
	wrap_check(L"abcdefghijklm xyzzyplugh", 10, w2, 3);
	const char *w3[] = {"one", "", "two three"};
	wrap_check(L"one\n\ntwo three", 9, w3, 3);
	const char *w4[] = {""};
	wrap_check(L"", 5, w4, 1);
	const char *w5[] = {"\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e"}; /* 日本 / 語 */
	wrap_check(L"\u65e5\u672c\u8a9e", 5, w5, 2);
	const char *w6[] = {"\xe6\x97\xa5", "a"}; /* wide char alone in width 1 */
	wrap_check(L"\u65e5a", 1, w6, 2);
	const char *w7[] = {"ab", "cd"};
	wrap_check(L"ab    cd", 3, w7, 2);
}

static void test_big_line(void **state)
{
	(void)state;
	size_t n = 100 * 1024;
	char *big = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 97 == 0) ? '\x1b' : (i % 7 == 0 ? ' ' : 'a' + (char)(i % 26));
	big[n] = 0;
	struct san_text t;
	san_text_from(&t, big, n, 0, 0);
	assert_true(t.len > n / 2 && t.len <= n);
	for (size_t i = 0; i < t.len; i++)
		assert_true(t.s[i] >= 0x20 && t.s[i] < 0x7f);
	struct san_lines l;
	san_wrap(&l, t.s, t.len, 80);
	assert_true(l.n > n / 80);
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].width <= 80);
	san_lines_free(&l);
	struct san_text c;
	san_cut(&c, t.s, t.len, 40, L"...");
	assert_int_equal(san_width(c.s, c.len), 40);
	san_text_free(&c);
	san_text_free(&t);
	free(big);
}

/* Characters that draw as nothing are known, so that diffs and proposals can mark them. */
static void test_invisible(void **state)
{
	(void)state;
	static const long hidden[] = {0x200b, 0x200c, 0x200d, 0x2060, 0xfeff,  0x00ad, 0x202e,
	                              0x2066, 0x2069, 0x200e, 0xfe0f, 0xe0041, 0xe0100};
	static const long shown[] = {'a', ' ', 0xe9, 0x2010, 0x2070, 0x4e2d, 0xfffd, 0x1f600};
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
		assert_true(san_invisible(hidden[i]));
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		assert_false(san_invisible(shown[i]));
	long cp;
	size_t len;
	static const char s[] = "ab\xc3\xa9\xe2\x80\x8b"
	                        "c\xf3\xa0\x81\x81";
	assert_int_equal(san_visible_run(s, sizeof s - 1, &cp, &len), 4);
	assert_int_equal(cp, 0x200b);
	assert_int_equal(len, 3);
	assert_int_equal(san_visible_run(s + 7, sizeof s - 8, &cp, &len), 1);
	assert_int_equal(cp, 0xe0041); /* a tag character */
	assert_int_equal(len, 4);
	assert_int_equal(san_visible_run("plain \xff", 7, &cp, &len), 7);
	assert_int_equal(cp, -1);
}

/* A key in use never reaches the screen, even cut in two by an escape sequence. */
static void test_redacted(void **state)
{
	(void)state;
	redact_add("sk-screen-secret-7");
	const char *in = "key\t sk-screen-\033[1msecret-7 \377end";
	struct san_text t;
	san_text_from(&t, in, strlen(in), 0, 0);
	assert_true(wcscmp(t.s, L"key      " REDACTED_W L" \xfffd"
	                        L"end") == 0);
	san_text_free(&t);
	redact_clear();
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),     cmocka_unit_test(test_csi),
	    cmocka_unit_test(test_osc),       cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_tabs),      cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_width),     cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_wrap),      cmocka_unit_test(test_big_line),
	    cmocka_unit_test(test_invisible), cmocka_unit_test(test_redacted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

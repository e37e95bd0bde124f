/* test_utf8.c: strict UTF-8 decoding and the repair of model replies (utf8.h): valid text is
 * left alone (same buffer), every bad byte and every NUL becomes one U+FFFD and is counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/util.h"

#define FFFD "\xef\xbf\xbd"

/* Repairs n bytes of `in`; checks the count and the result. */
static void repair_is(const char *in, size_t n, long want_count, const char *want)
{
	char *s = xmalloc(n + 1);
	memcpy(s, in, n);
	s[n] = '\0';
	char *before = s;
	size_t len = n;
	assert_int_equal(utf8_repair(&s, &len), want_count);
	assert_int_equal(len, strlen(want));
	assert_string_equal(s, want);
	if (!want_count)
		assert_ptr_equal(s, before); /* nothing to do: no copy */
	free(s);
}

#define REPAIR(lit, count, want) repair_is((lit), sizeof(lit) - 1, (count), (want))

static void test_repair(void **state)
{
	(void)state;
	REPAIR("", 0, "");
	REPAIR("plain ascii\n\t", 0, "plain ascii\n\t");
	REPAIR("caf\xc3\xa9 \xe2\x80\x8b \xf0\x9f\x98\x80", 0,
	       "caf\xc3\xa9 \xe2\x80\x8b \xf0\x9f\x98\x80");
	REPAIR("a\xff"
	       "b",
	       1, "a" FFFD "b");
	REPAIR("a\0b\0", 2, "a" FFFD "b" FFFD);             /* nothing after a NUL is lost */
	REPAIR("\xc0\xaf", 2, FFFD FFFD);                   /* overlong "/" */
	REPAIR("\xed\xa0\x80", 3, FFFD FFFD FFFD);          /* a surrogate */
	REPAIR("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	REPAIR("ok \xe2\x82", 2, "ok " FFFD FFFD);          /* cut short at the end */
	REPAIR("\xe2\x82"
	       "x",
	       2, FFFD FFFD "x");        /* cut short by a plain byte */
	REPAIR("\xef\xbf\xbd", 0, FFFD); /* a U+FFFD already there is not counted */
}

static void test_decode(void **state)
{
	(void)state;
	long cp;
	assert_int_equal(utf8_decode("\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(utf8_decode("\xc3\xa9", 1, &cp), 1); /* not enough bytes */
	assert_int_equal(cp, -1);
	assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(utf8_decode("\xe0\x80\x80", 3, &cp), 1);
	assert_int_equal(cp, -1);
	assert_int_equal(utf8_decode("", 1, &cp), 1);
	assert_int_equal(cp, 0);
}

/* a cut after N characters never splits one: "é" is two bytes, "€" three, "😀" four */
static void test_prefix_len(void **state)
{
	(void)state;
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	assert_int_equal(utf8_prefix_len(s, 0), 0);
	assert_int_equal(utf8_prefix_len(s, 1), 1);
	assert_int_equal(utf8_prefix_len(s, 2), 3);
	assert_int_equal(utf8_prefix_len(s, 3), 6);
	assert_int_equal(utf8_prefix_len(s, 4), 10);
	assert_int_equal(utf8_prefix_len(s, 5), 11);
	assert_int_equal(utf8_prefix_len(s, 99), 11);
	assert_int_equal(utf8_prefix_len("\xff\xc3", 1), 1); /* an invalid byte is one character */
	assert_int_equal(utf8_prefix_len("\xe2\x82", 5), 2); /* a truncated tail never overruns */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repair),
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_prefix_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

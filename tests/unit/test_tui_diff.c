/* test_tui_diff.c: word diffs (insert, delete, replace, identical, empty, unicode, large). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util.h"
#include "tui/diff.h"

/* Renders spans as wdiff does: [-removed-]{+added+}. */
static char *render(const char *a, const char *b, int *coarse)
{
	struct diff d;
	struct sbuf s = {0};
	diff_texts(&d, a, b);
	for (size_t i = 0; i < d.n; i++) {
		const struct diff_span *sp = &d.v[i];
		const char *open = sp->kind == DIFF_ADDED     ? "{+"
		                   : sp->kind == DIFF_REMOVED ? "[-"
		                                              : "";
		const char *close = sp->kind == DIFF_ADDED     ? "+}"
		                    : sp->kind == DIFF_REMOVED ? "-]"
		                                               : "";
		assert_true(sp->len > 0);
		sbuf_addf(&s, "%s%.*s%s", open, (int)sp->len, sp->text, close);
	}
	if (coarse)
		*coarse = d.coarse;
	diff_free(&d);
	return sbuf_take(&s);
}

static void diff_is(const char *a, const char *b, const char *want)
{
	char *got = render(a, b, NULL);
	assert_string_equal(got, want);
	free(got);
}

static void test_basic(void **state)
{
	(void)state;
	diff_is("same text", "same text", "same text");
	diff_is("", "", "");
	diff_is("", "new", "{+new+}");
	diff_is("old", "", "[-old-]");
	/* an empty side has no tokens at all: no offset may be taken from its NULL array
	 * (clang's UBSan, as in the fuzz build, stopped on diff_texts("", "x")) */
	diff_is("", "x", "{+x+}");
	diff_is("x\n", "", "[-x\n-]");
	diff_is("answer briefly", "answer very briefly", "answer {+very +}briefly");
	diff_is("answer very briefly", "answer briefly", "answer [-very -]briefly");
	diff_is("use the context", "use all context", "use [-the-]{+all+} context");
	diff_is("Answer: yes.", "Answer: no!", "Answer: [-yes.-]{+no!+}");
	/* the blank between two changed words is folded into one replacement */
	diff_is("the quick brown fox", "a slow brown fox", "[-the quick-]{+a slow+} brown fox");
	diff_is("line one\nline two\n", "line one\nline 2\n", "line one\nline [-two-]{+2+}\n");
}

static void test_unicode(void **state)
{
	(void)state;
	diff_is("café au lait", "café noir", "café [-au lait-]{+noir+}");
	/* CJK characters are tokens on their own */
	diff_is("日本語", "日本人", "日本[-語-]{+人+}");
	/* invalid bytes do not break tokenizing */
	diff_is("a\xff"
	        "b c",
	        "a\xff"
	        "b d",
	        "a\xff"
	        "b [-c-]{+d+}");
}

static void test_reconstruct(void **state)
{
	(void)state;
	/* old = same + removed, new = same + added, for a pseudo-random edit */
	struct sbuf a = {0}, b = {0};
	struct rng r;
	rng_seed(&r, 7);
	const char *words[] = {"alpha", "beta", "gamma", ",", " ", "\n", "delta", "é", "x"};
	for (int i = 0; i < 400; i++) {
		const char *w = words[rng_below(&r, ARRAY_SIZE(words))];
		uint64_t k = rng_below(&r, 10);
		if (k != 0)
			sbuf_adds(&a, w);
		if (k != 1)
			sbuf_adds(&b, k == 2 ? "zeta" : w);
	}
	struct diff d;
	struct sbuf ra = {0}, rb = {0};
	diff_texts(&d, sbuf_str(&a), sbuf_str(&b));
	assert_int_equal(d.coarse, 0);
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].kind != DIFF_ADDED)
			sbuf_add(&ra, d.v[i].text, d.v[i].len);
		if (d.v[i].kind != DIFF_REMOVED)
			sbuf_add(&rb, d.v[i].text, d.v[i].len);
		if (i > 0)
			assert_false(d.v[i].kind == DIFF_SAME && d.v[i - 1].kind == DIFF_SAME);
	}
	assert_string_equal(sbuf_str(&ra), sbuf_str(&a));
	assert_string_equal(sbuf_str(&rb), sbuf_str(&b));
	size_t add, rem;
	diff_stats(&d, &add, &rem);
	assert_true(add > 0 && rem > 0);
	diff_free(&d);
	sbuf_free(&a), sbuf_free(&b), sbuf_free(&ra), sbuf_free(&rb);
}

static void test_large(void **state)
{
	(void)state;
	/* ~1000 tokens a side: under the cap, word level */
	struct sbuf a = {0}, b = {0};
	for (int i = 0; i < 500; i++) {
		sbuf_addf(&a, "w%d ", i);
		sbuf_addf(&b, "w%d ", i % 50 == 0 ? -i : i);
	}
	int coarse;
	char *got = render(sbuf_str(&a), sbuf_str(&b), &coarse);
	assert_int_equal(coarse, 0);
	assert_non_null(strstr(got, "[-w50-]{+w-50+}"));
	free(got);
	/* far over the cap at word level, but few lines: falls back to a line diff */
	sbuf_reset(&a), sbuf_reset(&b);
	for (int i = 0; i < 4000; i++) {
		sbuf_addf(&a, "%c%d", i % 3 ? ' ' : '\n', i);
		sbuf_addf(&b, "%c%d", i % 3 ? ' ' : '\n', i % 2 ? i : -i);
	}
	got = render(sbuf_str(&a), sbuf_str(&b), &coarse);
	assert_true(coarse >= 1);
	free(got);
	sbuf_free(&a), sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_unicode),
	    cmocka_unit_test(test_reconstruct),
	    cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

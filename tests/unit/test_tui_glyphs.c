/* test_tui_glyphs.c: glyph sets, bars (unsigned, signed, whiskers) and sparklines. */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "tui/glyphs.h"
#include "tui/sanitize.h"

static void bar_is(const struct glyphs *g, int w, double v, double lo, double hi, bool sig,
                   const char *want)
{
	struct bar_cell cells[64];
	struct sbuf b = {0};
	glyphs_bar(g, cells, w, v, lo, hi, sig);
	glyphs_bar_text(&b, cells, w);
	assert_string_equal(sbuf_str(&b), want);
	assert_int_equal(san_width_utf8(sbuf_str(&b)), w);
	sbuf_free(&b);
}

static void test_bar_utf8(void **state)
{
	(void)state;
	const struct glyphs *g = &glyphs_utf8;
	bar_is(g, 4, 0.5, NAN, NAN, false, "██  ");
	bar_is(g, 4, 0.3, NAN, NAN, false, "█▎  ");
	bar_is(g, 4, 1.0, NAN, NAN, false, "████");
	bar_is(g, 4, 7.0, NAN, NAN, false, "████");
	bar_is(g, 4, 0.0, NAN, NAN, false, "    ");
	bar_is(g, 4, -1.0, NAN, NAN, false, "    ");
	bar_is(g, 1, 0.5, NAN, NAN, false, "▌");
	bar_is(g, 9, -0.5, NAN, NAN, true, "  ██│    ");
	bar_is(g, 9, 0.5, NAN, NAN, true, "    │██  ");
	bar_is(g, 9, -0.375, NAN, NAN, true, "  ▐█│    ");
	bar_is(g, 9, 0, NAN, NAN, true, "    │    ");
}

static void test_bar_whisker(void **state)
{
	(void)state;
	struct bar_cell cells[8];
	glyphs_bar(&glyphs_utf8, cells, 8, 0.25, 0.125, 0.75, false);
	bar_is(&glyphs_utf8, 8, 0.25, 0.125, 0.75, false, "██───┤  ");
	assert_int_equal(cells[0].kind, BAR_POS);
	assert_int_equal(cells[1].kind, BAR_WHISKER); /* inside the bar, below the value */
	assert_int_equal(cells[2].kind, BAR_WHISKER);
	assert_int_equal(cells[6].kind, BAR_EMPTY);
	/* a signed interval straddling zero shows on both sides */
	bar_is(&glyphs_utf8, 9, 0.25, -0.5, 0.75, true, "  ├─│█─┤ ");
	bar_is(&glyphs_ascii, 8, 0.25, 0.125, 0.75, false, "##...]  ");
}

static void test_bar_ascii(void **state)
{
	(void)state;
	const struct glyphs *g = &glyphs_ascii;
	bar_is(g, 4, 0.3, NAN, NAN, false, "#-  ");
	bar_is(g, 4, 0.625, NAN, NAN, false, "##= ");
	bar_is(g, 9, -0.5, NAN, NAN, true, "  ##|    ");
}

static void spark_is(const struct glyphs *g, const double *v, size_t n, int w, double lo, double hi,
                     const char *want)
{
	struct sbuf b = {0};
	glyphs_sparkline(g, &b, v, n, w, lo, hi);
	assert_string_equal(sbuf_str(&b), want);
	assert_int_equal(san_width_utf8(sbuf_str(&b)), w);
	sbuf_free(&b);
}

static void test_sparkline(void **state)
{
	(void)state;
	double ramp[16];
	for (int i = 0; i < 16; i++)
		ramp[i] = i;
	spark_is(&glyphs_utf8, ramp, 8, 8, NAN, NAN, "▁▂▃▄▅▆▇█");
	spark_is(&glyphs_utf8, ramp, 16, 4, NAN, NAN, "▁▃▆█");
	spark_is(&glyphs_utf8, ramp, 3, 5, 0, 2, "▁▅█  ");
	spark_is(&glyphs_ascii, ramp, 8, 8, NAN, NAN, "_..--=^^");
	double gaps[] = {0, NAN, 1};
	spark_is(&glyphs_utf8, gaps, 3, 3, NAN, NAN, "▁ █");
	double flat[] = {0.5, 0.5};
	spark_is(&glyphs_utf8, flat, 2, 2, NAN, NAN, "▁▁");
	spark_is(&glyphs_utf8, NULL, 0, 2, NAN, NAN, "  ");
}

/* Column charts: 1/8-row resolution from the bottom, rows top first; a shaded (projected)
 * column; averaged buckets when the values outnumber the columns; NAN blank, 0 its lowest
 * eighth; ASCII with '#' for full cells. */
static void columns_are(const struct glyphs *g, int h, const double *v, const bool *flag, size_t n,
                        size_t w, int cell, const char *const *want)
{
	struct sbuf rows[4] = {{0}};
	glyphs_columns(g, rows, h, v, flag, n, w, cell, 0, 1);
	for (int r = 0; r < h; r++) {
		assert_string_equal(rows[r].s ? rows[r].s : "", want[r]);
		sbuf_free(&rows[r]);
	}
}

static void test_columns(void **state)
{
	(void)state;
	double v[] = {0, 0.25, 0.5, 1, NAN};
	bool proj[] = {false, false, false, true, false};
	columns_are(&glyphs_utf8, 2, v, NULL, 5, 5, 1, (const char *const[]){"   █ ", "▁▄██ "});
	columns_are(&glyphs_utf8, 2, v, proj, 5, 5, 2,
	            (const char *const[]){"      ░░  ", "▁▁▄▄██░░  "});
	columns_are(&glyphs_ascii, 1, v, NULL, 4, 4, 1, (const char *const[]){"_.-#"});
	double many[] = {0, 1, 0, 1}; /* two buckets of mean 0.5 */
	columns_are(&glyphs_utf8, 1, many, NULL, 4, 2, 1, (const char *const[]){"▄▄"});
}

static void test_select(void **state)
{
	(void)state;
	glyphs_select(&glyphs_ascii);
	assert_ptr_equal(glyphs(), &glyphs_ascii);
	glyphs_select(NULL);
	setlocale(LC_ALL, "C");
	assert_false(glyphs_locale_is_utf8());
	assert_ptr_equal(glyphs(), &glyphs_ascii);
	setlocale(LC_ALL, "C.UTF-8");
	assert_true(glyphs_locale_is_utf8());
	assert_ptr_equal(glyphs(), &glyphs_utf8);
	/* every glyph of both sets is one cell wide */
	const struct glyphs *sets[] = {&glyphs_utf8, &glyphs_ascii};
	for (size_t s = 0; s < 2; s++) {
		const struct glyphs *g = sets[s];
		const char *one[] = {g->hline,   g->vline, g->tl,       g->tr,
		                     g->bl,      g->br,    g->ellipsis, g->replacement,
		                     g->whisker, g->axis,  g->loop,     g->arrow_right};
		for (size_t i = 0; i < ARRAY_SIZE(one); i++)
			assert_int_equal(san_width_utf8(one[i]), 1);
		for (size_t i = 0; i < 9; i++)
			assert_int_equal(san_width_utf8(g->bar[i]), 1);
		for (size_t i = 0; i < g->nspinner; i++)
			assert_int_equal(san_width_utf8(g->spinner[i]), 1);
	}
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bar_utf8),  cmocka_unit_test(test_bar_whisker),
	    cmocka_unit_test(test_bar_ascii), cmocka_unit_test(test_sparkline),
	    cmocka_unit_test(test_columns),   cmocka_unit_test(test_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

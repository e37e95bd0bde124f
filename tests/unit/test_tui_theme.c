/* test_tui_theme.c: theme parsing, bad lines, built-in themes, search path, colour downgrades,
 * monochrome, and applying to curses pairs on the in-memory screen. */
#include <curses.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/builtin.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/display.h"
#include "tui/theme.h"

static void test_colours(void **state)
{
	(void)state;
	int c;
	assert_int_equal(theme_parse_colour("default", &c), 0);
	assert_int_equal(c, THEME_DEFAULT);
	assert_int_equal(theme_parse_colour("red", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(theme_parse_colour("bright-blue", &c), 0);
	assert_int_equal(c, 12);
	assert_int_equal(theme_parse_colour("grey", &c), 0);
	assert_int_equal(c, 8);
	assert_int_equal(theme_parse_colour("208", &c), 0);
	assert_int_equal(c, 208);
	assert_int_equal(theme_parse_colour("#FFaf00", &c), 0);
	assert_int_equal(c, THEME_RGB(0xff, 0xaf, 0x00));
	assert_int_equal(theme_parse_colour("256", &c), -1);
	assert_int_equal(theme_parse_colour("#ff00", &c), -1);
	assert_int_equal(theme_parse_colour("#gg0000", &c), -1);
	assert_int_equal(theme_parse_colour("purple", &c), -1);
}

static void test_downgrade(void **state)
{
	(void)state;
	bool bold;
	assert_int_equal(theme_rgb_to_256(0xff, 0, 0), 196);
	assert_int_equal(theme_rgb_to_256(0xff, 0xaf, 0x00), 214); /* exact cube entry */
	assert_int_equal(theme_rgb_to_256(0x80, 0x80, 0x80), 244); /* grey ramp */
	assert_int_equal(theme_rgb_to_256(0, 0, 0), 16);
	assert_int_equal(theme_rgb_to_256(0xff, 0xff, 0xff), 231);
	assert_int_equal(theme_256_to_16(196), 9); /* bright red */
	assert_int_equal(theme_256_to_16(5), 5);
	assert_int_equal(theme_256_to_16(16), 0);
	assert_int_equal(theme_256_to_16(231), 15);
	int red = THEME_RGB(0xff, 0, 0);
	assert_int_equal(theme_colour_for(red, THEME_TRUECOLOR, &bold), red);
	assert_int_equal(theme_colour_for(red, THEME_256, &bold), 196);
	assert_int_equal(theme_colour_for(red, THEME_16, &bold), 9);
	assert_false(bold);
	assert_int_equal(theme_colour_for(red, THEME_8, &bold), 1); /* red, made bold */
	assert_true(bold);
	assert_int_equal(theme_colour_for(2, THEME_8, &bold), 2);
	assert_false(bold);
	assert_int_equal(theme_colour_for(red, THEME_MONO, &bold), THEME_DEFAULT);
	assert_int_equal(theme_colour_for(THEME_DEFAULT, THEME_256, NULL), THEME_DEFAULT);
	/* palette entries become RGB in truecolor, except the 16 the terminal defines itself */
	assert_int_equal(theme_colour_for(196, THEME_TRUECOLOR, NULL), red);
	assert_int_equal(theme_colour_for(3, THEME_TRUECOLOR, NULL), 3);
	assert_int_equal(theme_palette_rgb(244), 0x808080);
}

static void test_parse(void **state)
{
	(void)state;
	struct theme t;
	struct sbuf errs = {0};
	theme_default(&t);
	const char *text = "# comment\n"
	                   "status = white blue bold   # trailing comment\n"
	                   "graph.node.running = #ffaf00 default\n"
	                   "  text.dim=244\n"
	                   "nosuch = red\n"           /* 5 */
	                   "title = red green blue\n" /* 6 */
	                   "error = red sparkly\n"    /* 7 */
	                   "warning red\n"            /* 8 */
	                   "help.key = bold underline\n";
	assert_int_equal(theme_parse(&t, text, "x.theme", &errs), 4);
	const char *m = sbuf_str(&errs);
	assert_non_null(strstr(m, "x.theme:5: unknown element \"nosuch\"\n"));
	assert_non_null(strstr(m, "x.theme:6: title: a third colour \"blue\""));
	assert_non_null(strstr(m, "x.theme:7: error: \"sparkly\" is not a colour"));
	assert_non_null(strstr(m, "x.theme:8: expected"));
	const struct theme_style *s = &t.el[THEME_STATUS];
	assert_int_equal(s->fg, 7);
	assert_int_equal(s->bg, 4);
	assert_int_equal(s->attrs, THEME_BOLD);
	assert_int_equal(t.el[THEME_NODE_RUNNING].fg, THEME_RGB(0xff, 0xaf, 0));
	assert_int_equal(t.el[THEME_NODE_RUNNING].bg, THEME_DEFAULT);
	assert_int_equal(t.el[THEME_TEXT_DIM].fg, 244);
	assert_int_equal(t.el[THEME_HELP_KEY].fg, THEME_DEFAULT);
	assert_int_equal(t.el[THEME_HELP_KEY].attrs, THEME_BOLD | THEME_UNDERLINE);
	assert_string_equal(theme_element_name(THEME_SHAPLEY_NEG), "shapley.negative");
	assert_int_equal(theme_element_by_name("diff.added"), THEME_DIFF_ADDED);
	sbuf_free(&errs);
}

/* Every shipped theme parses cleanly and names every element, so no theme inherits by accident. */
static void test_builtin_themes(void **state)
{
	(void)state;
	const char *names[] = {"default", "light", "high-contrast", "mono"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *key = xasprintf("themes/%s.theme", names[i]);
		const char *text = builtin_get(key);
		assert_non_null(text);
		struct theme t;
		struct sbuf errs = {0};
		memset(&t, 0, sizeof(t));
		for (int k = 0; k < THEME_COUNT; k++)
			t.el[k].fg = -2;
		assert_int_equal(theme_parse(&t, text, key, &errs), 0);
		for (int k = 0; k < THEME_COUNT; k++)
			if (t.el[k].fg == -2)
				fail_msg("%s does not set %s", key, theme_element_name(k));
		sbuf_free(&errs);
		free(key);
	}
	/* the mono theme has no colours, and marks the selection by reverse video */
	struct theme t;
	struct sbuf errs = {0};
	struct err e;
	assert_int_equal(theme_load(&t, theme_name_for("light", THEME_MONO), &errs, &e), 0);
	assert_string_equal(t.name, "mono");
	for (int k = 0; k < THEME_COUNT; k++)
		assert_true(t.el[k].fg == THEME_DEFAULT && t.el[k].bg == THEME_DEFAULT);
	assert_true(t.el[THEME_SELECTED].attrs & THEME_REVERSE);
	assert_string_equal(theme_name_for("light", THEME_256), "light");
	sbuf_free(&errs);
}

static void test_search_path(void **state)
{
	(void)state;
	char dir[] = "/tmp/adopt-theme-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *sub = xasprintf("%s/adopt-tui", dir), *tdir = xasprintf("%s/themes", sub);
	char *mine = xasprintf("%s/mine.theme", tdir), *light = xasprintf("%s/light.theme", tdir);
	struct err e;
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(mkdir(tdir, 0700), 0);
	assert_int_equal(file_write_atomic(mine, "status = red\nbogus\n", 19, &e), 0);
	assert_int_equal(file_write_atomic(light, "title = 100\n", 12, &e), 0);
	setenv("XDG_CONFIG_HOME", dir, 1);
	struct theme t;
	struct sbuf errs = {0};
	assert_int_equal(theme_load(&t, "mine", &errs, &e), 0);
	assert_int_equal(t.el[THEME_STATUS].fg, 1);
	/* elements the file does not name keep the default theme's style */
	struct theme def;
	theme_default(&def);
	assert_memory_equal(&t.el[THEME_TITLE], &def.el[THEME_TITLE], sizeof(def.el[0]));
	char *want = xasprintf("%s:2: expected", mine);
	assert_true(str_startswith(sbuf_str(&errs), want));
	free(want);
	/* the user's copy shadows the built-in one */
	assert_int_equal(theme_load(&t, "light", &errs, &e), 0);
	assert_int_equal(t.el[THEME_TITLE].fg, 100);
	unlink(light);
	assert_int_equal(theme_load(&t, "light", &errs, &e), 0);
	assert_int_equal(t.el[THEME_TITLE].fg, 0); /* built-in light: black */
	assert_int_equal(theme_load(&t, "nope", &errs, &e), -1);
	assert_non_null(strstr(e.msg, "no theme \"nope\""));
	assert_int_equal(theme_load(&t, "../x", &errs, &e), -1);
	struct cmdline_cands c = {0};
	theme_list(&c);
	bool found_mine = false, found_hc = false;
	for (size_t i = 0; i < c.n; i++) {
		found_mine |= strcmp(c.v[i], "mine") == 0;
		found_hc |= strcmp(c.v[i], "high-contrast") == 0;
	}
	assert_true(found_mine && found_hc);
	cmdline_cands_clear(&c);
	free(c.v);
	unlink(mine);
	rmdir(tdir), rmdir(sub), rmdir(dir);
	unsetenv("XDG_CONFIG_HOME");
	free(mine), free(light), free(tdir), free(sub);
	sbuf_free(&errs);
}

static void test_apply(void **state)
{
	(void)state;
	struct err e;
	struct theme t;
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm-256color", 1);
	assert_int_equal(test_screen_open(40, 10, &e), 0);
	assert_int_equal(theme_detect_depth(), THEME_256);
	theme_default(&t);
	t.el[THEME_STATUS] = (struct theme_style){THEME_RGB(0xff, 0, 0), 4, THEME_BOLD};
	theme_apply(&t, THEME_256);
	unsigned long attrs;
	int pair, fg, bg;
	theme_get(THEME_STATUS, &attrs, &pair);
	assert_true(pair > 0);
	assert_true(attrs & A_BOLD);
	assert_int_equal(extended_pair_content(pair, &fg, &bg), OK);
	assert_int_equal(fg, 196);
	assert_int_equal(bg, 4);
	theme_apply(&t, THEME_8);
	theme_get(THEME_STATUS, &attrs, &pair);
	assert_int_equal(extended_pair_content(pair, &fg, &bg), OK);
	assert_int_equal(fg, 1);
	assert_true(attrs & A_BOLD);
	theme_apply(&t, THEME_MONO);
	theme_get(THEME_STATUS, &attrs, &pair);
	assert_int_equal(pair, 0);
	assert_int_equal(attrs, A_BOLD);
	setenv("NO_COLOR", "1", 1);
	assert_int_equal(theme_detect_depth(), THEME_MONO);
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	assert_int_equal(theme_detect_depth(), THEME_MONO);
	test_screen_close();
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_colours),     cmocka_unit_test(test_downgrade),
	    cmocka_unit_test(test_parse),       cmocka_unit_test(test_builtin_themes),
	    cmocka_unit_test(test_search_path), cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

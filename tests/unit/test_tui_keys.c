/* test_tui_keys.c: key names, action table, keymap lookup/contexts, defaults, user config. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/builtin.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/config.h"
#include "tui/keys.h"

static void test_key_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int key;
	} cases[] = {
	    {"q", 'q'},
	    {"?", '?'},
	    {"Tab", '\t'},
	    {"S-Tab", KEYS_FN(KEY_BTAB)},
	    {"Esc", 27},
	    {"Enter", '\n'},
	    {"Up", KEYS_FN(KEY_UP)},
	    {"C-l", 12},
	    {"F5", KEYS_FN(KEY_F(5))},
	    {"Space", ' '},
	    {"PgDn", KEYS_FN(KEY_NPAGE)},
	    {"Hash", '#'},
	    {"Backspace", KEYS_BACKSPACE},
	    {"é", 0xe9},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int key = -1;
		char buf[32];
		assert_int_equal(keys_parse(cases[i].name, &key), 0);
		assert_int_equal(key, cases[i].key);
		keys_name(key, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].name); /* canonical names round-trip */
	}
	int key;
	assert_int_equal(keys_parse("pgdown", &key), 0);
	assert_int_equal(key, KEYS_FN(KEY_NPAGE));
	assert_int_equal(keys_parse("C-m", &key), 0);
	assert_int_equal(key, '\n');
	assert_int_equal(keys_parse("", &key), -1);
	assert_int_equal(keys_parse("qq", &key), -1);
	assert_int_equal(keys_parse("C-1", &key), -1);
	assert_int_equal(keys_parse("F99", &key), -1);
	/* get_wch normalisation: raw KEY_DOWN never collides with U+0102 */
	assert_int_equal(keys_from_curses(KEY_CODE_YES, KEY_DOWN), KEYS_FN(KEY_DOWN));
	assert_int_equal(keys_from_curses(OK, 0x102), 0x102);
	assert_int_equal(keys_from_curses(OK, '\r'), '\n');
	assert_int_equal(keys_from_curses(KEY_CODE_YES, KEY_ENTER), '\n');
	assert_int_equal(keys_from_curses(OK, 127), KEYS_BACKSPACE);
	assert_int_equal(keys_from_curses(ERR, 0), -1);
}

static void test_actions(void **state)
{
	(void)state;
	assert_int_equal(action_by_name("quit"), ACTION_QUIT);
	assert_int_equal(action_by_name("focus-next"), ACTION_FOCUS_NEXT);
	assert_int_equal(action_by_name("nope"), ACTION_NONE);
	assert_null(action_info(ACTION_NONE));
	assert_null(action_info(ACTION_COUNT));
	for (int a = ACTION_NONE + 1; a < ACTION_COUNT; a++) {
		const struct action_info *ai = action_info((enum action)a);
		assert_non_null(ai->name);
		assert_true(strlen(ai->help) > 5);
		assert_int_equal(action_by_name(ai->name), a);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	struct keymap km;
	struct err e;
	char buf[128];
	keymap_init(&km);
	assert_int_equal(keymap_load_defaults(&km, &e), 0);
	assert_int_equal(keymap_lookup(&km, "", 'q'), ACTION_QUIT);
	assert_int_equal(keymap_lookup(&km, NULL, 'j'), ACTION_MOVE_DOWN);
	assert_int_equal(keymap_lookup(&km, "graph", KEYS_FN(KEY_DOWN)), ACTION_MOVE_DOWN);
	assert_int_equal(keymap_lookup(&km, "", KEYS_ESC), ACTION_CANCEL);
	assert_int_equal(keymap_lookup(&km, "", '\t'), ACTION_FOCUS_NEXT);
	assert_int_equal(keymap_lookup(&km, "", 'Z'), ACTION_NONE);
	keymap_keys_for(&km, "", ACTION_HELP, buf, sizeof(buf));
	assert_string_equal(buf, "?, F1");
	/* every action has a default key, so the help screen lists them all */
	for (int a = ACTION_NONE + 1; a < ACTION_COUNT; a++) {
		keymap_keys_for(&km, "", (enum action)a, buf, sizeof(buf));
		if (!buf[0])
			fail_msg("action %s has no default key", action_info((enum action)a)->name);
	}
	/* contexts shadow global bindings */
	keymap_bind(&km, "diff", 'x', ACTION_UNDO);
	assert_int_equal(keymap_lookup(&km, "diff", 'x'), ACTION_UNDO);
	assert_int_equal(keymap_lookup(&km, "graph", 'x'), ACTION_REJECT);
	assert_true(keymap_unbind(&km, "", 'x'));
	assert_false(keymap_unbind(&km, "", 'x'));
	assert_int_equal(keymap_lookup(&km, "graph", 'x'), ACTION_NONE);
	keymap_free(&km);
}

static void test_config(void **state)
{
	(void)state;
	struct keymap km;
	struct tui_config c;
	struct sbuf errs = {0};
	struct err e;
	keymap_init(&km);
	tui_config_init(&c);
	assert_int_equal(keymap_load_defaults(&km, &e), 0);
	const char *text = "# my config\n"
	                   "bind Q quit\n"
	                   "unbind q\n"
	                   "bind graph Enter jump_to_gradient   # inline comment\n"
	                   "set theme light\n"
	                   "set mouse off\n"
	                   "bind C-? quit\n"       /* line 7: bad key */
	                   "bind z frobnicate\n"   /* line 8: bad action */
	                   "set mouse maybe\n"     /* line 9 */
	                   "launch rockets\n"      /* line 10 */
	                   "bind \"unterminated\n" /* line 11 */
	                   "set glyphs ascii\n";
	int n = tui_config_parse(&c, &km, text, "cfg", &errs);
	assert_int_equal(n, 5);
	const char *msg = sbuf_str(&errs);
	assert_non_null(strstr(msg, "cfg:7: unknown key \"C-?\""));
	assert_non_null(strstr(msg, "cfg:8: unknown action \"frobnicate\""));
	assert_non_null(
	    strstr(msg, "cfg:9: option mouse: invalid value \"maybe\" (expected on|off)"));
	assert_non_null(strstr(msg, "cfg:10: unknown command \"launch\""));
	assert_non_null(strstr(msg, "cfg:11: unterminated \" quote"));
	assert_int_equal(keymap_lookup(&km, "", 'Q'), ACTION_QUIT);
	assert_int_equal(keymap_lookup(&km, "", 'q'), ACTION_NONE);
	assert_int_equal(keymap_lookup(&km, "graph", '\n'), ACTION_JUMP_TO_GRADIENT);
	assert_int_equal(keymap_lookup(&km, "", '\n'), ACTION_ENTER);
	assert_string_equal(c.theme, "light");
	assert_false(c.mouse);
	assert_int_equal(c.glyphs, CONFIG_GLYPHS_ASCII); /* lines after errors still apply */
	assert_int_equal(tui_config_set(&c, "theme", "../etc", &e), -1);
	assert_int_equal(tui_config_set(&c, "colours", "256", &e), 0);
	assert_int_equal(c.colours, CONFIG_COLOURS_256);
	/* the run settings: a projected cost that asks, R's patience */
	assert_true(c.ask_above == CONFIG_ASK_ABOVE_DEFAULT &&
	            c.patience == CONFIG_PATIENCE_DEFAULT);
	assert_int_equal(tui_config_set(&c, "ask_above", "0.25", &e), 0);
	assert_true(c.ask_above == 0.25);
	assert_int_equal(tui_config_set(&c, "ask_above", "never", &e), 0);
	assert_true(c.ask_above < 0);
	assert_int_equal(tui_config_set(&c, "ask_above", "-1", &e), -1);
	assert_non_null(
	    strstr(e.msg, "option ask_above: invalid value \"-1\" (expected USD|never)"));
	assert_int_equal(tui_config_set(&c, "ask_above", "nan", &e), -1);
	assert_int_equal(tui_config_set(&c, "patience", "5", &e), 0);
	assert_int_equal(c.patience, 5);
	assert_int_equal(tui_config_set(&c, "patience", "2.5", &e), -1);
	struct cmdline_cands cands = {0};
	tui_config_complete(NULL, 1, &cands);
	assert_int_equal(cands.n, 6);
	cmdline_cands_clear(&cands);
	tui_config_complete("mouse", 2, &cands);
	assert_int_equal(cands.n, 2);
	cmdline_cands_clear(&cands);
	free(cands.v);
	sbuf_free(&errs);
	keymap_free(&km);
}

static void test_user_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/adopt-keys-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *sub = xasprintf("%s/adopt-tui", dir), *path = xasprintf("%s/config", sub);
	struct err e;
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(file_write_atomic(path, "set theme mono\nbind\n", 20, &e), 0);
	setenv("XDG_CONFIG_HOME", dir, 1);
	char *found = tui_config_user_path();
	assert_string_equal(found, path);
	struct keymap km;
	struct tui_config c;
	struct sbuf errs = {0};
	keymap_init(&km);
	tui_config_init(&c);
	assert_int_equal(tui_config_load_user(&c, &km, &errs), 1);
	assert_string_equal(c.theme, "mono");
	assert_true(str_startswith(sbuf_str(&errs), path));
	assert_non_null(strstr(sbuf_str(&errs), ":2: usage: bind"));
	unlink(path);
	assert_int_equal(tui_config_load_user(&c, &km, &errs), 0); /* missing file is fine */
	rmdir(sub);
	rmdir(dir);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/someone", 1);
	free(found);
	found = tui_config_user_path();
	assert_string_equal(found, "/home/someone/.config/adopt-tui/config");
	free(found), free(path), free(sub);
	sbuf_free(&errs);
	keymap_free(&km);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_names), cmocka_unit_test(test_actions),
	    cmocka_unit_test(test_defaults),  cmocka_unit_test(test_config),
	    cmocka_unit_test(test_user_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

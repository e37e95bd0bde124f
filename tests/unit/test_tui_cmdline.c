/* test_tui_cmdline.c: line editing, history, completion (commands and arguments), argv split. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/keys.h"

static void complete_theme(void *ud, const char *cmd, int argi, const char *prefix,
                           struct cmdline_cands *out)
{
	(void)prefix;
	(void)cmd;
	int *calls = ud;
	(*calls)++;
	if (argi != 1)
		return;
	cmdline_cands_add(out, "light");
	cmdline_cands_add(out, "default");
	cmdline_cands_add(out, "high-contrast");
	cmdline_cands_add(out, "default"); /* duplicates are dropped */
}

static const struct cmd_spec specs[] = {
    {"quit", "", "Quit", NULL},
    {"save", "[FILE]", "Save the session", NULL},
    {"save-display", "FILE", "Dump the screen", NULL},
    {"set", "OPTION VALUE", "Set an option", NULL},
    {"theme", "NAME", "Switch theme", complete_theme},
};

static void type(struct cmdline *cl, const char *s)
{
	for (; *s; s++)
		assert_int_equal(cmdline_key(cl, (unsigned char)*s), CMDLINE_EDITING);
}

static void test_editing(void **state)
{
	(void)state;
	struct cmdline cl;
	cmdline_init(&cl, specs, ARRAY_SIZE(specs), NULL);
	type(&cl, "save foo");
	assert_string_equal(cmdline_text(&cl), "save foo");
	cmdline_key(&cl, KEYS_BACKSPACE);
	assert_string_equal(cmdline_text(&cl), "save fo");
	cmdline_key(&cl, KEYS_FN(KEY_HOME));
	cmdline_key(&cl, KEYS_FN(KEY_RIGHT));
	cmdline_key(&cl, 'X');
	assert_string_equal(cmdline_text(&cl), "sXave fo");
	cmdline_key(&cl, KEYS_FN(KEY_DC));
	assert_string_equal(cmdline_text(&cl), "sXve fo");
	cmdline_key(&cl, KEYS_CTRL('e'));
	cmdline_key(&cl, KEYS_CTRL('w'));
	assert_string_equal(cmdline_text(&cl), "sXve ");
	cmdline_key(&cl, KEYS_CTRL('w'));
	assert_string_equal(cmdline_text(&cl), "");
	/* multibyte characters move and delete as one */
	cmdline_key(&cl, 0x65e5); /* 日 */
	cmdline_key(&cl, 'a');
	assert_string_equal(cmdline_text(&cl), "日a");
	assert_int_equal(cmdline_cursor_col(&cl), 3);
	cmdline_key(&cl, KEYS_FN(KEY_LEFT));
	cmdline_key(&cl, KEYS_FN(KEY_LEFT));
	assert_int_equal(cmdline_cursor_col(&cl), 0);
	cmdline_key(&cl, KEYS_FN(KEY_LEFT)); /* stays at 0 */
	cmdline_key(&cl, KEYS_FN(KEY_RIGHT));
	assert_int_equal(cmdline_cursor_col(&cl), 2);
	cmdline_key(&cl, KEYS_BACKSPACE);
	assert_string_equal(cmdline_text(&cl), "a");
	type(&cl, "bc");
	cmdline_key(&cl, KEYS_FN(KEY_LEFT));
	cmdline_key(&cl, KEYS_CTRL('k'));
	assert_string_equal(cmdline_text(&cl), "b");
	cmdline_key(&cl, KEYS_CTRL('u'));
	assert_string_equal(cmdline_text(&cl), "");
	type(&cl, "a");
	cmdline_key(&cl, KEYS_FN(KEY_F(3))); /* ignored */
	cmdline_key(&cl, 0x9b);              /* a C1 control is never inserted */
	assert_string_equal(cmdline_text(&cl), "a");
	assert_int_equal(cmdline_key(&cl, '\n'), CMDLINE_DONE);
	cmdline_start(&cl, NULL);
	assert_int_equal(cmdline_key(&cl, KEYS_BACKSPACE), CMDLINE_CANCELLED);
	cmdline_start(&cl, "x");
	assert_int_equal(cmdline_key(&cl, KEYS_ESC), CMDLINE_CANCELLED);
	cmdline_free(&cl);
}

static void test_history(void **state)
{
	(void)state;
	struct cmdline cl;
	cmdline_init(&cl, specs, ARRAY_SIZE(specs), NULL);
	const char *lines[] = {"one", "two", "two", "three"};
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		cmdline_start(&cl, NULL);
		type(&cl, lines[i]);
		assert_int_equal(cmdline_key(&cl, '\n'), CMDLINE_DONE);
	}
	assert_int_equal(cl.nhist, 3); /* repeated line kept once */
	cmdline_start(&cl, NULL);
	type(&cl, "draft");
	cmdline_key(&cl, KEYS_FN(KEY_UP));
	assert_string_equal(cmdline_text(&cl), "three");
	cmdline_key(&cl, KEYS_FN(KEY_UP));
	cmdline_key(&cl, KEYS_FN(KEY_UP));
	cmdline_key(&cl, KEYS_FN(KEY_UP)); /* stops at the oldest */
	assert_string_equal(cmdline_text(&cl), "one");
	cmdline_key(&cl, KEYS_FN(KEY_DOWN));
	assert_string_equal(cmdline_text(&cl), "two");
	cmdline_key(&cl, KEYS_FN(KEY_DOWN));
	cmdline_key(&cl, KEYS_FN(KEY_DOWN));
	assert_string_equal(cmdline_text(&cl), "draft"); /* the unfinished line comes back */
	cmdline_key(&cl, KEYS_FN(KEY_DOWN));
	assert_string_equal(cmdline_text(&cl), "draft");
	/* the history is bounded */
	cl.hist_max = 2;
	cmdline_history_add(&cl, "four");
	assert_int_equal(cl.nhist, 2);
	assert_string_equal(cl.hist[0], "three");
	cmdline_free(&cl);
}

static void test_completion(void **state)
{
	(void)state;
	int calls = 0;
	struct cmdline cl;
	cmdline_init(&cl, specs, ARRAY_SIZE(specs), &calls);
	/* unique prefix completes with a trailing space */
	type(&cl, "q");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "quit ");
	/* ambiguous: extends to the common prefix and lists the candidates */
	cmdline_start(&cl, NULL);
	type(&cl, "sa");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "save");
	assert_int_equal(cmdline_candidates(&cl)->n, 2);
	/* then Tab cycles, S-Tab cycles back */
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "save");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "save-display");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "save");
	cmdline_key(&cl, KEYS_FN(KEY_BTAB));
	assert_string_equal(cmdline_text(&cl), "save-display");
	cmdline_key(&cl, ' '); /* any other key ends cycling */
	assert_int_equal(cmdline_candidates(&cl)->n, 0);
	assert_string_equal(cmdline_text(&cl), "save-display ");
	/* "s": three commands, no longer common prefix, so Tab starts cycling at once */
	cmdline_start(&cl, "s");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "save");
	assert_int_equal(cmdline_candidates(&cl)->n, 3);
	cmdline_start(&cl, "zz");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "zz");
	/* argument completion through the callback */
	cmdline_start(&cl, "theme l");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "theme light ");
	assert_int_equal(calls, 1);
	cmdline_start(&cl, "theme ");
	cmdline_key(&cl, '\t'); /* no common prefix beyond "": cycles from the first */
	assert_string_equal(cmdline_text(&cl), "theme default");
	assert_int_equal(cmdline_candidates(&cl)->n, 3);
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "theme high-contrast");
	/* abbreviated command names find their spec */
	cmdline_start(&cl, "th d");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "th default ");
	/* no callback: nothing happens */
	cmdline_start(&cl, "quit x");
	cmdline_key(&cl, '\t');
	assert_string_equal(cmdline_text(&cl), "quit x");
	cmdline_free(&cl);
}

static void test_lookup(void **state)
{
	(void)state;
	struct err e;
	assert_string_equal(cmdline_lookup(specs, ARRAY_SIZE(specs), "q", &e)->name, "quit");
	assert_string_equal(cmdline_lookup(specs, ARRAY_SIZE(specs), "save", &e)->name, "save");
	assert_null(cmdline_lookup(specs, ARRAY_SIZE(specs), "sa", &e));
	assert_non_null(strstr(e.msg, "ambiguous"));
	assert_null(cmdline_lookup(specs, ARRAY_SIZE(specs), "nope", &e));
	assert_non_null(strstr(e.msg, "unknown command \"nope\""));
}

static void split_is(const char *line, int want_argc, const char *const *want)
{
	int argc;
	char **argv;
	struct err e;
	assert_int_equal(cmdline_split(line, &argc, &argv, &e), 0);
	assert_int_equal(argc, want_argc);
	for (int i = 0; i < argc; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[argc]);
	cmdline_argv_free(argv);
}

static void test_split(void **state)
{
	(void)state;
	const char *w1[] = {"save", "my file.json"};
	split_is("save 'my file.json'", 2, w1);
	split_is("  save   \"my file.json\"  ", 2, w1);
	split_is("save my\\ file.json", 2, w1);
	const char *w2[] = {"set", "x", ""};
	split_is("set x ''", 3, w2);
	const char *w3[] = {"a\"b", "c'd", "#e"};
	split_is("\"a\\\"b\" \"c'd\" '#e' # comment", 3, w3);
	const char *w4[] = {"a#b"};
	split_is("a#b", 1, w4);
	split_is("", 0, NULL);
	split_is("   # only a comment", 0, NULL);
	int argc;
	char **argv;
	struct err e;
	assert_int_equal(cmdline_split("bind 'x", &argc, &argv, &e), -1);
	assert_null(argv);
	assert_string_equal(e.msg, "unterminated ' quote");
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_editing),    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_completion), cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

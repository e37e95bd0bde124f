/* test_tui_display.c: in-memory screen, screen dumps with wide and combining characters, the
 * ADOPT_TEST_SCREEN size and the test script reader. */
#include <curses.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/util.h"
#include "tui/display.h"
#include "tui/keys.h"
#include "tui/sanitize.h"

static void put(int y, int x, const char *utf8)
{
	struct san_text t;
	san_text_from(&t, utf8, strlen(utf8), x, 0);
	mvaddnwstr(y, x, t.s, (int)t.len);
	san_text_free(&t);
}

static void test_dump(void **state)
{
	(void)state;
	struct err e;
	assert_int_equal(test_screen_open(20, 5, &e), 0);
	assert_int_equal(COLS, 20);
	assert_int_equal(LINES, 5);
	put(0, 0, "hello");
	put(1, 2, "日本語 x");
	put(2, 0, "cafe\xcc\x81 ok"); /* e + combining acute */
	put(3, 0, "\x1b[31mred\x1b[0m\ttab");
	mvaddstr(4, 15, "end");
	refresh();
	struct sbuf b = {0};
	display_dump(&b);
	assert_string_equal(sbuf_str(&b), "hello\n"
	                                  "  日本語 x\n"
	                                  "cafe\xcc\x81 ok\n"
	                                  "red     tab\n"
	                                  "               end\n");
	/* display_save writes the same text */
	char path[] = "/tmp/adopt-display-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(display_save(path, &e), 0);
	char *text;
	size_t len;
	assert_int_equal(file_read(path, 1 << 20, &text, &len, &e), 0);
	assert_string_equal(text, sbuf_str(&b));
	free(text);
	unlink(path);
	/* resizing the in-memory terminal */
	test_screen_resize(30, 3);
	assert_int_equal(COLS, 30);
	assert_int_equal(LINES, 3);
	erase();
	put(0, 28, "日");
	refresh();
	sbuf_reset(&b);
	display_dump(&b);
	assert_string_equal(sbuf_str(&b), "                            日\n\n\n");
	sbuf_free(&b);
	test_screen_close();
	/* it can be opened again */
	assert_int_equal(test_screen_open(10, 2, &e), 0);
	assert_int_equal(test_screen_open(10, 2, &e), -1);
	test_screen_close();
}

static void test_size_env(void **state)
{
	(void)state;
	int w = 0, h = 0;
	struct err e;
	unsetenv("ADOPT_TEST_SCREEN");
	assert_int_equal(display_test_size(&w, &h, &e), 0);
	setenv("ADOPT_TEST_SCREEN", "120x40", 1);
	assert_int_equal(display_test_size(&w, &h, &e), 1);
	assert_int_equal(w, 120);
	assert_int_equal(h, 40);
	setenv("ADOPT_TEST_SCREEN", "120", 1);
	assert_int_equal(display_test_size(&w, &h, &e), -1);
	assert_non_null(strstr(e.msg, "WIDTHxHEIGHT"));
	setenv("ADOPT_TEST_SCREEN", "0x5", 1);
	assert_int_equal(display_test_size(&w, &h, &e), -1);
	unsetenv("ADOPT_TEST_SCREEN");
}

static char *write_script(const char *text)
{
	char *path = xstrdup("/tmp/adopt-script-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct err e;
	assert_int_equal(file_write_atomic(path, text, strlen(text), &e), 0);
	return path;
}

static void test_script(void **state)
{
	(void)state;
	char *path = write_script("# a screen test\n"
	                          "key q\n"
	                          "keys jé\n"
	                          "\n"
	                          "key C-l\n"
	                          ":save-display out.txt\n"
	                          "wait-idle\n"
	                          "resize 100x30\n"
	                          "key S-Tab");
	struct err e;
	struct test_script *s = test_script_open(path, &e);
	assert_non_null(s);
	struct test_item it;
	const struct {
		enum test_item_kind kind;
		int key, line;
	} want[] = {
	    {TEST_KEY, 'q', 2},   {TEST_KEY, 'j', 3},
	    {TEST_KEY, 0xe9, 3},  {TEST_KEY, KEYS_CTRL('l'), 5},
	    {TEST_COMMAND, 0, 6}, {TEST_WAIT_IDLE, 0, 7},
	    {TEST_RESIZE, 0, 8},  {TEST_KEY, KEYS_FN(KEY_BTAB), 9},
	    {TEST_END, 0, 9},
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(test_script_next(s, &it, &e), 0);
		assert_int_equal(it.kind, want[i].kind);
		assert_int_equal(it.line, want[i].line);
		if (it.kind == TEST_KEY)
			assert_int_equal(it.key, want[i].key);
		if (it.kind == TEST_COMMAND)
			assert_string_equal(it.command, "save-display out.txt");
		if (it.kind == TEST_RESIZE)
			assert_true(it.w == 100 && it.h == 30);
	}
	test_script_close(s);
	unlink(path);
	free(path);

	path = write_script("key q\nkey NoSuchKey\n");
	s = test_script_open(path, &e);
	assert_int_equal(test_script_next(s, &it, &e), 0);
	assert_int_equal(test_script_next(s, &it, &e), -1);
	char *want_msg = xasprintf("%s:2: unknown key \"NoSuchKey\"", path);
	assert_string_equal(e.msg, want_msg);
	free(want_msg);
	test_script_close(s);
	unlink(path);
	free(path);
	assert_null(test_script_open("/nonexistent/script", &e));
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_size_env),
	    cmocka_unit_test(test_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

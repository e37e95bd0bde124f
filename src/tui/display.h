/* display.h: the screen-test seam, in the style of tig's test tools.
 *
 *   ADOPT_TEST_SCREEN=WxH   the TUI draws to an in-memory terminal of that size (test_screen_open:
 *                           ncurses newterm on xterm-256color with output to /dev/null, so no real
 *                           terminal is needed and the size never changes under the test);
 *   ADOPT_TEST_SCRIPT=FILE  keys and commands come from a script (test_script_*), one item a line:
 *                             key NAME         one key by its keys.h name (q, C-l, S-Tab, Enter)
 *                             keys TEXT        each character of TEXT as a key (jjk)
 *                             :COMMAND ARGS    a command line, e.g. :save-display out.txt
 *                             wait-idle        wait until the engine has nothing in flight
 *                             resize WxH       resize the in-memory terminal
 *                           blank lines and lines starting with # are skipped;
 *   :save-display FILE      (a command the TUI implements with display_save) dumps the screen.
 *
 * The dump is UTF-8 text read back from curses' idea of the physical screen (curscr) with the
 * wide-character API, one line per row, trailing blanks trimmed, so it can be compared with an
 * expected file. */
#ifndef ADOPT_TUI_DISPLAY_H
#define ADOPT_TUI_DISPLAY_H

#include <stdbool.h>

struct err;
struct sbuf;

/* 0 when the terminal curses has set up can move its cursor; -1 with a message otherwise
 * (TERM=dumb and other terminals without cursor addressing cannot show the workbench). */
int display_check_terminal(struct err *e);

/* Appends the current screen as text (call after refresh()/doupdate()). */
void display_dump(struct sbuf *out);
/* Writes display_dump's text to a file (atomically); 0 or -1. */
int display_save(const char *path, struct err *e);

/* ADOPT_TEST_SCREEN: 1 and the size when set and valid, 0 when unset, -1 (message) if invalid. */
int display_test_size(int *w, int *h, struct err *e);
/* Opens an in-memory curses screen of w x h and makes it current; 0 or -1. */
int test_screen_open(int w, int h, struct err *e);
/* Resizes the in-memory screen. */
void test_screen_resize(int w, int h);
/* Ends curses on the in-memory screen and frees it. */
void test_screen_close(void);

enum test_item_kind { TEST_END, TEST_KEY, TEST_COMMAND, TEST_WAIT_IDLE, TEST_RESIZE };

struct test_item {
	enum test_item_kind kind;
	int key;             /* TEST_KEY: a keys.h code */
	const char *command; /* TEST_COMMAND: the line without ':' (valid until the next call) */
	int w, h;            /* TEST_RESIZE */
	int line;            /* where it came from */
};

struct test_script; /* owned by the opener; test_script_close frees it */
struct test_script *test_script_open(const char *path, struct err *e);
/* The next item (TEST_END at the end); -1 with "FILE:LINE: message" on a bad line. */
int test_script_next(struct test_script *s, struct test_item *it, struct err *e);
void test_script_close(struct test_script *s);

#endif

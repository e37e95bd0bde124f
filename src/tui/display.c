/* display.c: dumping the curses screen as UTF-8 text, the in-memory test terminal and the test
 * script reader (see display.h). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>

#include "core/util.h"
#include "tui/display.h"
#include "tui/keys.h"
#include "tui/sanitize.h"

#define SCRIPT_MAX_BYTES (4 * 1024 * 1024)

void display_dump(struct sbuf *out)
{
	WINDOW *w = curscr;
	int rows = getmaxy(w), cols = getmaxx(w);
	struct sbuf row = {0};
	for (int y = 0; y < rows; y++) {
		sbuf_reset(&row);
		for (int x = 0; x < cols; x++) {
			cchar_t cc;
			wchar_t wch[CCHARW_MAX + 1];
			attr_t attrs;
			short pair;
			if (mvwin_wch(w, y, x, &cc) == ERR ||
			    getcchar(&cc, wch, &attrs, &pair, NULL) == ERR || !wch[0]) {
				sbuf_addc(&row, ' ');
				continue;
			}
			san_utf8_encode(&row, wch, wcslen(wch));
			if (san_wcwidth(wch[0]) == 2)
				x++; /* the next cell is the right half of this character */
		}
		while (row.len && row.s[row.len - 1] == ' ')
			row.s[--row.len] = 0;
		sbuf_add(out, sbuf_str(&row), row.len);
		sbuf_addc(out, '\n');
	}
	sbuf_free(&row);
}

int display_save(const char *path, struct err *e)
{
	struct sbuf b = {0};
	display_dump(&b);
	int rc = file_write_atomic(path, sbuf_str(&b), b.len, e);
	sbuf_free(&b);
	return rc;
}

static int parse_size(const char *s, int *w, int *h)
{
	char *x = strchr(s, 'x');
	long lw, lh;
	if (!x)
		return -1;
	char *ws = xstrndup(s, (size_t)(x - s));
	int rc = parse_long(ws, &lw) == 0 && parse_long(x + 1, &lh) == 0 && lw >= 1 && lw <= 1000 &&
	                 lh >= 1 && lh <= 1000
	             ? 0
	             : -1;
	free(ws);
	if (rc == 0)
		*w = (int)lw, *h = (int)lh;
	return rc;
}

int display_test_size(int *w, int *h, struct err *e)
{
	const char *s = getenv("ADOPT_TEST_SCREEN");
	if (!s || !*s)
		return 0;
	if (parse_size(s, w, h) < 0)
		return err_set(e, "ADOPT_TEST_SCREEN=%s: expected WIDTHxHEIGHT, e.g. 120x40", s);
	return 1;
}

static struct {
	SCREEN *screen;
	FILE *out, *in;
} ts;

int test_screen_open(int w, int h, struct err *e)
{
	static const char *const terms[] = {"xterm-256color", "xterm", "vt100"};
	if (ts.screen)
		return err_set(e, "a test screen is already open");
	ts.out = fopen("/dev/null", "w");
	ts.in = fopen("/dev/null", "r");
	if (!ts.out || !ts.in) {
		test_screen_close();
		return err_set(e, "cannot open /dev/null for the test screen");
	}
	for (size_t i = 0; i < ARRAY_SIZE(terms) && !ts.screen; i++)
		ts.screen = newterm(terms[i], ts.out, ts.in);
	if (!ts.screen) {
		test_screen_close();
		return err_set(e, "no usable terminfo entry (xterm-256color, xterm, vt100) for the "
		                  "test screen");
	}
	set_term(ts.screen);
	test_screen_resize(w, h);
	if (has_colors())
		start_color();
	return 0;
}

void test_screen_resize(int w, int h)
{
	if (ts.screen)
		resize_term(h, w);
}

void test_screen_close(void)
{
	if (ts.screen) {
		endwin();
		delscreen(ts.screen);
		ts.screen = NULL;
	}
	if (ts.out)
		fclose(ts.out);
	if (ts.in)
		fclose(ts.in);
	ts.out = ts.in = NULL;
}

struct test_script {
	char *path, *text, *pos;
	int line;
	int *pending; /* keys of a `keys` line still to deliver */
	size_t npending, ipending;
};

struct test_script *test_script_open(const char *path, struct err *e)
{
	struct test_script *s = xcalloc(1, sizeof(*s));
	size_t len;
	if (file_read(path, SCRIPT_MAX_BYTES, &s->text, &len, e) < 0) {
		free(s);
		return NULL;
	}
	s->path = xstrdup(path);
	s->pos = s->text;
	return s;
}

void test_script_close(struct test_script *s)
{
	if (!s)
		return;
	free(s->pending);
	free(s->text);
	free(s->path);
	free(s);
}

static int script_line(struct test_script *s, char *line, struct test_item *it, struct err *e)
{
	if (line[0] == ':') {
		it->kind = TEST_COMMAND;
		it->command = line + 1;
		return 0;
	}
	if (strcmp(line, "wait-idle") == 0) {
		it->kind = TEST_WAIT_IDLE;
		return 0;
	}
	char *arg = line + strcspn(line, " \t");
	if (*arg)
		*arg++ = 0;
	arg = str_trim(arg);
	if (strcmp(line, "key") == 0) {
		if (keys_parse(arg, &it->key) < 0)
			return err_set(e, "unknown key \"%s\"", arg);
		it->kind = TEST_KEY;
		return 0;
	}
	if (strcmp(line, "keys") == 0) {
		size_t n = strlen(arg);
		if (!n)
			return err_set(e, "keys: nothing to type");
		s->pending = xrealloc(s->pending, n * sizeof(*s->pending));
		s->npending = s->ipending = 0;
		for (size_t i = 0; i < n;) {
			long cp;
			i += san_utf8_decode(arg + i, n - i, &cp);
			if (cp < 0)
				return err_set(e, "keys: invalid UTF-8");
			s->pending[s->npending++] = (int)cp;
		}
		it->kind = TEST_KEY;
		it->key = s->pending[s->ipending++];
		return 0;
	}
	if (strcmp(line, "resize") == 0) {
		if (parse_size(arg, &it->w, &it->h) < 0)
			return err_set(e, "resize: expected WIDTHxHEIGHT, not \"%s\"", arg);
		it->kind = TEST_RESIZE;
		return 0;
	}
	return err_set(e, "unknown script line \"%s\" (key, keys, :command, wait-idle, resize)",
	               line);
}

int test_script_next(struct test_script *s, struct test_item *it, struct err *e)
{
	memset(it, 0, sizeof(*it));
	it->line = s->line;
	if (s->ipending < s->npending) {
		it->kind = TEST_KEY;
		it->key = s->pending[s->ipending++];
		return 0;
	}
	while (*s->pos) {
		char *line = s->pos, *nl = strchr(line, '\n');
		s->pos = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = 0;
		s->line++;
		it->line = s->line;
		line = str_trim(line);
		if (!*line || *line == '#')
			continue;
		if (script_line(s, line, it, e) < 0)
			return err_prefix(e, "%s:%d", s->path, s->line);
		return 0;
	}
	it->kind = TEST_END;
	return 0;
}

int display_check_terminal(struct err *e)
{
	const char *cup = tigetstr("cup");
	if (cup && cup != (const char *)-1)
		return 0;
	const char *term = getenv("TERM");
	return err_set(e,
	               "terminal type \"%s\" cannot move the cursor, so the workbench cannot be "
	               "drawn; use a screen terminal (TERM=xterm-256color, with NO_COLOR=1 for "
	               "monochrome) or run headless with --run, --eval or --check",
	               term && *term ? term : "(unset)");
}

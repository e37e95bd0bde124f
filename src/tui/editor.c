/* editor.c: editing a prompt.  $VISUAL, then $EDITOR, runs on a private temporary file (mode
 * 0600) with curses suspended; without either, a small built-in editor opens in a window over
 * the workbench (arrows, typing, Backspace/Del, Enter for a new line, Ctrl-S or F2 accepts, Esc
 * cancels).  Long lines wrap at the window's edge (soft: the text keeps its lines); Up/Down move
 * by screen row, PgUp/PgDn by a screen.  While the built-in editor is open the engine keeps running
 * (app_next_key). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "tui/sanitize.h"
#include "tui/tui_int.h"

#define EDIT_MAX_BYTES (4 * 1024 * 1024)

/* ---- external editor ---- */

static int run_editor(const char *editor, const char *path)
{
	char *cmd = xasprintf("%s \"$1\"", editor);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static char *edit_external(struct app *a, const char *editor, const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path = xasprintf("%s/adopt-edit-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path); /* 0600 */
	struct err e = {{0}};
	char *out = NULL;
	size_t len = strlen(text), off = 0;
	while (fd >= 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0 && errno != EINTR)
			break;
		off += n > 0 ? (size_t)n : 0;
	}
	if (fd < 0 || off < len || close(fd) < 0) {
		tui_message(&a->t, "error: cannot write a temporary file in %s", path);
	} else {
		def_prog_mode();
		endwin();
		int rc = run_editor(editor, path);
		reset_prog_mode();
		clearok(curscr, TRUE);
		a->need_layout = true;
		if (rc < 0)
			tui_message(&a->t, "the editor failed or was aborted; nothing changed");
		else if (file_read(path, EDIT_MAX_BYTES, &out, &len, &e) < 0)
			tui_message(&a->t, "error: %s", e.msg);
	}
	if (fd >= 0)
		unlink(path);
	free(path);
	/* editors add a final newline; prompts rarely want it */
	if (out && len && out[len - 1] == '\n' && !(strlen(text) && text[strlen(text) - 1] == '\n'))
		out[len - 1] = 0;
	return out;
}

/* ---- built-in editor ---- */

struct ed {
	char **line;
	size_t n, cap;
	size_t row, col;   /* cursor: line, byte offset */
	size_t top;        /* the first screen row shown */
	int width, height; /* of the text area, as last drawn */
};

/* One screen row: a line's bytes [start, end) wrapped to the text area's width. */
struct ed_row {
	size_t line, start, end;
};

static void ed_insert_line(struct ed *ed, size_t at, char *s)
{
	ed->line = xgrow(ed->line, &ed->cap, ed->n + 1, sizeof *ed->line);
	memmove(ed->line + at + 1, ed->line + at, (ed->n - at) * sizeof *ed->line);
	ed->line[at] = s;
	ed->n++;
}

static void ed_load(struct ed *ed, const char *text)
{
	for (const char *p = text;;) {
		size_t k = strcspn(p, "\n");
		ed_insert_line(ed, ed->n, xstrndup(p, k));
		if (!p[k])
			break;
		p += k + 1;
	}
}

static char *ed_text(const struct ed *ed)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < ed->n; i++) {
		if (i)
			sbuf_addc(&b, '\n');
		sbuf_adds(&b, ed->line[i]);
	}
	return sbuf_take(&b);
}

static void ed_free(struct ed *ed)
{
	for (size_t i = 0; i < ed->n; i++)
		free(ed->line[i]);
	free(ed->line);
}

/* Byte offset of the character before / after `col` in line s. */
static size_t prev_char(const char *s, size_t col)
{
	while (col > 0 && ((unsigned char)s[--col] & 0xc0) == 0x80)
		;
	return col;
}

static size_t next_char(const char *s, size_t col)
{
	if (!s[col])
		return col;
	col++;
	while (((unsigned char)s[col] & 0xc0) == 0x80)
		col++;
	return col;
}

static void ed_type(struct ed *ed, int key)
{
	struct sbuf b = {0};
	wchar_t w = (wchar_t)key;
	san_utf8_encode(&b, &w, 1);
	char *l = ed->line[ed->row];
	char *n = xasprintf("%.*s%s%s", (int)ed->col, l, sbuf_str(&b), l + ed->col);
	ed->col += b.len;
	free(l);
	ed->line[ed->row] = n;
	sbuf_free(&b);
}

static void ed_backspace(struct ed *ed)
{
	char *l = ed->line[ed->row];
	if (ed->col > 0) {
		size_t p = prev_char(l, ed->col);
		memmove(l + p, l + ed->col, strlen(l + ed->col) + 1);
		ed->col = p;
	} else if (ed->row > 0) {
		char *prev = ed->line[ed->row - 1];
		ed->col = strlen(prev);
		ed->line[ed->row - 1] = xasprintf("%s%s", prev, l);
		free(prev);
		free(l);
		memmove(ed->line + ed->row, ed->line + ed->row + 1,
		        (ed->n - ed->row - 1) * sizeof *ed->line);
		ed->n--;
		ed->row--;
	}
}

static void ed_delete(struct ed *ed)
{
	if (ed->line[ed->row][ed->col]) {
		ed->col = next_char(ed->line[ed->row], ed->col);
		ed_backspace(ed);
	} else if (ed->row + 1 < ed->n) {
		ed->row++;
		ed->col = 0;
		ed_backspace(ed);
	}
}

static void ed_newline(struct ed *ed)
{
	char *l = ed->line[ed->row];
	ed_insert_line(ed, ed->row + 1, xstrdup(l + ed->col));
	l[ed->col] = 0;
	ed->row++;
	ed->col = 0;
}

static int utf8_width(const char *s, size_t n)
{
	struct san_text t;
	san_text_from(&t, s, n, 0, 0);
	int w = san_width(t.s, t.len);
	san_text_free(&t);
	return w;
}

/* Soft wrap: every line as screen rows of at most `width` columns, cut on character
 * boundaries; a line that fills its last row gets an empty one after it for the cursor.  A
 * character wider than the row (a tab, a wide glyph on a very narrow window) has a row of its
 * own, so that every row moves on. */
static struct ed_row *ed_layout(const struct ed *ed, int width, size_t *n_rows)
{
	struct ed_row *rows = NULL;
	size_t n = 0, cap = 0;
	width = MAX(width, 2);
	for (size_t i = 0; i < ed->n; i++) {
		const char *l = ed->line[i];
		size_t start = 0, len = strlen(l);
		for (;;) {
			size_t end = start;
			int w = 0;
			while (end < len) {
				size_t next = next_char(l, end);
				int cw = utf8_width(l + end, next - end);
				if (w + cw > width)
					break;
				w += cw, end = next;
			}
			if (end == start && start < len) /* wider than the row by itself */
				end = next_char(l, start), w = width;
			rows = xgrow(rows, &cap, n + 1, sizeof *rows);
			rows[n++] = (struct ed_row){i, start, end};
			if (end == len && w < width)
				break;
			start = end;
		}
	}
	*n_rows = n;
	return rows;
}

/* The screen row the cursor is on: the last of its line's rows that starts at or before it. */
static size_t ed_cursor_row(const struct ed *ed, const struct ed_row *rows, size_t n)
{
	size_t r = 0;
	for (size_t i = 0; i < n && rows[i].line <= ed->row; i++)
		if (rows[i].line == ed->row && rows[i].start <= ed->col)
			r = i;
	return r;
}

/* Up/Down (by = -1/+1) and PgUp/PgDn (a screen less a row) move by screen row, to the column
 * nearest the cursor's. */
static void ed_move_rows(struct ed *ed, long by)
{
	size_t n;
	struct ed_row *rows = ed_layout(ed, ed->width, &n);
	size_t r = ed_cursor_row(ed, rows, n);
	const char *l = ed->line[ed->row];
	int x = utf8_width(l + rows[r].start, ed->col - rows[r].start);
	long to = (long)r + by;
	to = to < 0 ? 0 : to >= (long)n ? (long)n - 1 : to;
	const struct ed_row *t = &rows[to];
	bool last = (size_t)to + 1 == n || rows[to + 1].line != t->line;
	const char *tl = ed->line[t->line];
	size_t col = t->start;
	int w = 0;
	while (col < t->end) {
		size_t next = next_char(tl, col);
		w += utf8_width(tl + col, next - col);
		if (w > x || (next == t->end && !last))
			break;
		col = next;
	}
	ed->row = t->line;
	ed->col = col;
	free(rows);
}

/* Moves the cursor; keeps the byte column on a character boundary. */
static void ed_move(struct ed *ed, int key)
{
	const char *l = ed->line[ed->row];
	long page = MAX(ed->height - 1, 1);
	if (key == KEYS_FN(KEY_LEFT)) {
		if (ed->col)
			ed->col = prev_char(l, ed->col);
		else if (ed->row)
			ed->col = strlen(ed->line[--ed->row]);
	} else if (key == KEYS_FN(KEY_RIGHT)) {
		if (l[ed->col])
			ed->col = next_char(l, ed->col);
		else if (ed->row + 1 < ed->n)
			ed->row++, ed->col = 0;
	} else if (key == KEYS_FN(KEY_UP) || key == KEYS_FN(KEY_DOWN)) {
		ed_move_rows(ed, key == KEYS_FN(KEY_UP) ? -1 : 1);
	} else if (key == KEYS_FN(KEY_PPAGE) || key == KEYS_FN(KEY_NPAGE)) {
		ed_move_rows(ed, key == KEYS_FN(KEY_PPAGE) ? -page : page);
		ed->top = key == KEYS_FN(KEY_PPAGE)
		              ? (ed->top > (size_t)page ? ed->top - (size_t)page : 0)
		              : ed->top + (size_t)page;
	} else if (key == KEYS_FN(KEY_HOME) || key == KEYS_CTRL('a')) {
		ed->col = 0;
	} else if (key == KEYS_FN(KEY_END) || key == KEYS_CTRL('e')) {
		ed->col = strlen(l);
	}
}

static void ed_draw(struct app *a, WINDOW *w, struct ed *ed)
{
	int h = getmaxy(w) - 2, width = getmaxx(w) - 2;
	ed->width = width, ed->height = h;
	size_t n;
	struct ed_row *rows = ed_layout(ed, width, &n);
	size_t r = ed_cursor_row(ed, rows, n);
	size_t max_top = n > (size_t)MAX(h, 1) ? n - (size_t)MAX(h, 1) : 0; /* no empty page */
	if (ed->top > max_top)
		ed->top = max_top;
	if (r < ed->top)
		ed->top = r;
	if (h > 0 && r >= ed->top + (size_t)h)
		ed->top = r - (size_t)h + 1;
	werase(w);
	view_frame(w, &(struct rect){0, 0, getmaxx(w), getmaxy(w)},
	           "Edit: Ctrl-S or F2 accepts, Esc cancels, PgUp/PgDn", true);
	for (int y = 0; y < h && ed->top + (size_t)y < n; y++) {
		const struct ed_row *row = &rows[ed->top + (size_t)y];
		const char *l = ed->line[row->line];
		struct san_text t;
		san_text_from(&t, l + row->start, row->end - row->start, 0, 0);
		int used;
		size_t k = san_fit(t.s, t.len, width, &used);
		if (k)
			mvwaddnwstr(w, 1 + y, 1, t.s, (int)k);
		san_text_free(&t);
	}
	int cy = 1 + (int)(r - ed->top);
	int cx = 1 + utf8_width(ed->line[ed->row] + rows[r].start, ed->col - rows[r].start);
	free(rows);
	(void)a;
	wmove(w, cy, cx);
	curs_set(1);
	wrefresh(w);
}

static char *edit_builtin(struct app *a, const char *text)
{
	struct ed ed = {0};
	ed_load(&ed, text);
	char *out = NULL;
	for (;;) {
		/* the whole screen but the message line: nothing of the panes shows through */
		int rows, cols;
		getmaxyx(stdscr, rows, cols);
		WINDOW *win = newwin(MAX(1, rows - 1), cols, 0, 0);
		if (!win)
			break;
		keypad(win, TRUE);
		ed_draw(a, win, &ed);
		delwin(win);
		int key = app_next_key(a);
		if (key < 0 || key == KEYS_ESC) {
			tui_message(&a->t, "edit cancelled");
			break;
		}
		if (key == KEYS_CTRL('s') || key == KEYS_FN(KEY_F(2))) {
			out = ed_text(&ed);
			break;
		}
		if (key == '\n')
			ed_newline(&ed);
		else if (key == KEYS_BACKSPACE)
			ed_backspace(&ed);
		else if (key == KEYS_FN(KEY_DC))
			ed_delete(&ed);
		else if (key == '\t' || (key >= 0x20 && key < KEYS_FN_BASE && key != 0x7f))
			ed_type(&ed, key);
		else
			ed_move(&ed, key);
	}
	ed_free(&ed);
	curs_set(0);
	a->need_layout = true;
	touchwin(stdscr);
	return out;
}

char *tui_edit_text(struct tui *t, const char *text)
{
	struct app *a = app_of(t);
	const char *ed = getenv("VISUAL");
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (ed && *ed && !a->test)
		return edit_external(a, ed, text ? text : "");
	return edit_builtin(a, text ? text : "");
}

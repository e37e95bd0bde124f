/* layout.c: divides the terminal among the panes.  The status bar takes the top row and the
 * message line the bottom one; the body between them holds, by terminal size, all six panes in
 * a grid, the graph beside one tabbed pane, one tabbed pane, or a "terminal too small" notice
 * (ncdu's ncresize).  Zoomed (z), the focused pane alone fills the body, whatever the size, until
 * z again.  Each shown view gets a curses window inside its frame; the layout is recomputed on
 * every resize and whenever a hidden pane takes the focus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/tui_int.h"

static enum layout_kind layout_for(int cols, int rows)
{
	if (cols < LAYOUT_MIN_W || rows < LAYOUT_MIN_H)
		return LAYOUT_TOO_SMALL;
	if (cols >= LAYOUT_GRID_W && rows >= LAYOUT_GRID_H)
		return LAYOUT_GRID;
	if (cols >= LAYOUT_SPLIT_W && rows >= LAYOUT_SPLIT_H)
		return LAYOUT_SPLIT;
	return LAYOUT_TABS;
}

bool layout_shown(const struct app *a, int view)
{
	return view >= 0 && view < VIEW_COUNT && a->frame[view].w > 0;
}

/* Frames of the six panes in a 3 x 2 grid over the body. */
static void grid(struct app *a, int top, int h)
{
	int top_h = h * 11 / 20, cw = a->cols / 3;
	for (int i = 0; i < PANE_COUNT; i++) {
		int col = i % 3, row = i / 3;
		int x = col * cw, w = col == 2 ? a->cols - 2 * cw : cw;
		a->frame[i] = (struct rect){x, row ? top + top_h : top, w, row ? h - top_h : top_h};
	}
}

static void set_window(struct view *v, const struct rect *r)
{
	if (v->win)
		delwin(v->win);
	v->win = NULL;
	v->w = v->h = 0;
	if (r->w > 2 && r->h > 2) {
		v->win = newwin(r->h - 2, r->w - 2, r->y + 1, r->x + 1);
		v->w = r->w - 2;
		v->h = r->h - 2;
	}
}

void layout_apply(struct app *a)
{
	getmaxyx(stdscr, a->rows, a->cols);
	a->layout = layout_for(a->cols, a->rows);
	memset(a->frame, 0, sizeof a->frame);
	a->msg_rows = msgline_rows(a);
	int top = 1, h = a->rows - 1 - a->msg_rows; /* status bar above, message rows below */
	if (a->t.focus != VIEW_GRAPH && a->t.focus < PANE_COUNT)
		a->right = a->t.focus;
	if (a->right <= VIEW_GRAPH || a->right >= PANE_COUNT)
		a->right = VIEW_TRACES;
	if (a->layout == LAYOUT_TOO_SMALL) {
		/* nothing shown */
	} else if (a->help_open) {
		a->frame[a->t.focus >= PANE_COUNT ? a->t.focus : VIEW_HELP] =
		    (struct rect){0, top, a->cols, h};
	} else if (a->zoomed && a->t.focus < PANE_COUNT) {
		a->frame[a->t.focus] = (struct rect){0, top, a->cols, h};
	} else if (a->layout == LAYOUT_GRID) {
		grid(a, top, h);
	} else if (a->layout == LAYOUT_SPLIT) {
		int gw = MAX(40, MIN(a->cols * 2 / 5, 72));
		a->frame[VIEW_GRAPH] = (struct rect){0, top + 1, gw, h - 1};
		a->frame[a->right] = (struct rect){gw, top + 1, a->cols - gw, h - 1};
	} else {
		int f = a->t.focus < PANE_COUNT ? a->t.focus : VIEW_GRAPH;
		a->frame[f] = (struct rect){0, top + 1, a->cols, h - 1};
	}
	for (int i = 0; i < VIEW_COUNT; i++) {
		set_window(&a->views[i], &a->frame[i]);
		a->views[i].focused = i == a->t.focus;
	}
	a->need_layout = false;
	a->need_draw = true;
}

static void draw_tabs(struct app *a)
{
	int x = 0;
	unsigned long attrs;
	int pair;
	theme_get(THEME_HEADER, &attrs, &pair);
	attr_set((attr_t)attrs, (short)pair, NULL);
	mvhline(1, 0, ' ', a->cols);
	for (int i = 0; i < PANE_COUNT && x < a->cols; i++) {
		const struct view_ops *ops = a->views[i].ops;
		char tab[64];
		snprintf(tab, sizeof tab, " %d %s ", i + 1, ops ? ops->title : "?");
		enum theme_element el = i == a->t.focus      ? THEME_SELECTED
		                        : layout_shown(a, i) ? THEME_TITLE
		                                             : THEME_HEADER;
		theme_get(el, &attrs, &pair);
		attr_set((attr_t)attrs, (short)pair, NULL);
		int n = (int)strlen(tab);
		mvaddnstr(1, x, tab, MIN(n, a->cols - x));
		x += n + 1;
	}
	attrset(A_NORMAL);
}

static void draw_too_small(struct app *a)
{
	char line[128];
	snprintf(line, sizeof line, "terminal too small: %dx%d, need at least %dx%d", a->cols,
	         a->rows, LAYOUT_MIN_W, LAYOUT_MIN_H);
	int n = (int)strlen(line), y = a->rows / 2;
	unsigned long attrs;
	int pair;
	theme_get(THEME_WARNING, &attrs, &pair);
	attr_set((attr_t)attrs, (short)pair, NULL);
	mvaddnstr(MAX(y, 0), MAX((a->cols - n) / 2, 0), line, MIN(n, a->cols));
	attrset(A_NORMAL);
}

void layout_draw(struct app *a)
{
	if (a->layout == LAYOUT_TOO_SMALL) {
		draw_too_small(a);
		return;
	}
	if (!a->help_open && !a->zoomed && a->layout != LAYOUT_GRID)
		draw_tabs(a);
	for (int i = 0; i < VIEW_COUNT; i++) {
		if (!layout_shown(a, i) || !a->views[i].ops)
			continue;
		char title[96];
		if (i < PANE_COUNT)
			snprintf(title, sizeof title, "%d %s%s", i + 1, a->views[i].ops->title,
			         a->zoomed ? " (zoomed: z restores)" : "");
		else
			snprintf(title, sizeof title, "%s", a->views[i].ops->title);
		view_frame(stdscr, &a->frame[i], title, i == a->t.focus);
	}
}

int layout_view_at(const struct app *a, int y, int x, int *line)
{
	if (a->layout != LAYOUT_TOO_SMALL && !a->help_open && !a->zoomed &&
	    a->layout != LAYOUT_GRID && y == 1) {
		/* the tab bar: find the tab under x */
		int tx = 0;
		for (int i = 0; i < PANE_COUNT; i++) {
			const struct view_ops *ops = a->views[i].ops;
			int n = (int)strlen(ops ? ops->title : "?") + 4;
			if (x >= tx && x < tx + n) {
				*line = -1;
				return i;
			}
			tx += n + 1;
		}
		return -1;
	}
	for (int i = 0; i < VIEW_COUNT; i++) {
		const struct rect *r = &a->frame[i];
		if (r->w && x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h) {
			*line = y - r->y - 1;
			return i;
		}
	}
	return -1;
}

void app_focus(struct app *a, int view)
{
	if (view < 0 || view >= VIEW_COUNT || !a->views[view].ops)
		return;
	if (view >= PANE_COUNT && !a->help_open) { /* a screen over the body opens */
		a->help_return = a->t.focus < PANE_COUNT ? a->t.focus : VIEW_GRAPH;
		a->help_open = true;
		a->need_layout = true;
	} else if (view >= PANE_COUNT && view != a->t.focus) {
		a->need_layout = true; /* one over-the-body screen replaces the other */
	} else if (a->help_open && view < PANE_COUNT) {
		a->help_open = false;
		a->need_layout = true;
	}
	a->t.focus = view;
	if (!layout_shown(a, view) || a->layout != LAYOUT_GRID)
		a->need_layout = true;
	for (int i = 0; i < VIEW_COUNT; i++)
		a->views[i].focused = i == view;
	a->need_draw = true;
}

void app_draw(struct app *a)
{
	if (msgline_rows(a) != a->msg_rows)
		a->need_layout = true; /* a long message came, or went */
	if (a->need_layout)
		layout_apply(a);
	erase();
	status_draw(a);
	layout_draw(a);
	msgline_draw(a);
	wnoutrefresh(stdscr);
	for (int i = 0; i < VIEW_COUNT; i++) {
		struct view *v = &a->views[i];
		if (!v->win || !v->ops)
			continue;
		werase(v->win);
		if (v->ops->draw)
			v->ops->draw(v);
		wnoutrefresh(v->win);
	}
	if (a->mode == INPUT_COMMAND || a->mode == INPUT_SEARCH) {
		const struct cmdline *cl = a->mode == INPUT_COMMAND ? &a->cl : &a->search_cl;
		curs_set(1);
		wmove(stdscr, a->rows - 1, MIN(1 + cmdline_cursor_col(cl), a->cols - 1));
		wnoutrefresh(stdscr);
	} else {
		curs_set(0);
	}
	doupdate();
	a->need_draw = false;
}

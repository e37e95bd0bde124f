/* view.c: the drawing helpers every view uses (view.h): each string is sanitised, cut or wrapped
 * to the space it has and drawn with a theme element; plus pane frames, the message setter and
 * focus by name. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "tui/glyphs.h"
#include "tui/sanitize.h"
#include "tui/tui_int.h"

static void set_attr(WINDOW *w, enum theme_element el)
{
	unsigned long attrs;
	int pair;
	theme_get(el, &attrs, &pair);
	wattr_set(w, (attr_t)attrs, (short)pair, NULL);
}

static const wchar_t *ellipsis(void)
{
	return glyphs_locale_is_utf8() && strcmp(glyphs()->name, "utf8") == 0 ? L"\u2026" : L"~";
}

/* Draws sanitised text cut to maxw columns; returns the columns used. */
static int put_text(WINDOW *w, int y, int x, enum theme_element el, const char *utf8, int maxw)
{
	if (!w || !utf8 || y < 0 || x < 0 || y >= getmaxy(w) || x >= getmaxx(w))
		return 0;
	int room = getmaxx(w) - x;
	if (maxw < 0 || maxw > room)
		maxw = room;
	if (maxw <= 0)
		return 0;
	struct san_text t, cut;
	san_text_from(&t, utf8, strlen(utf8), x, 0);
	san_cut(&cut, t.s, t.len, maxw, ellipsis());
	int used = san_width(cut.s, cut.len);
	set_attr(w, el);
	if (cut.len)
		mvwaddnwstr(w, y, x, cut.s, (int)cut.len);
	wattr_set(w, A_NORMAL, 0, NULL);
	san_text_free(&t);
	san_text_free(&cut);
	return used;
}

int view_print(struct view *v, int y, int x, enum theme_element el, const char *utf8, int maxw)
{
	return put_text(v->win, y, x, el, utf8, maxw);
}

int view_printf(struct view *v, int y, int x, enum theme_element el, const char *fmt, ...)
{
	va_list ap;
	struct sbuf b = {0};
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	int used = put_text(v->win, y, x, el, sbuf_str(&b), -1);
	sbuf_free(&b);
	return used;
}

int view_text(struct view *v, int y, int x, int w, enum theme_element el, const char *utf8,
              int skip, int max_lines)
{
	if (!v->win || !utf8 || w < 1)
		return 0;
	struct san_text t;
	struct san_lines lines = {0};
	san_text_from(&t, utf8, strlen(utf8), 0, SAN_KEEP_NEWLINES);
	san_wrap(&lines, t.s, t.len, w);
	int drawn = 0;
	set_attr(v->win, el);
	for (size_t i = (size_t)MAX(skip, 0); i < lines.n && drawn < max_lines; i++, drawn++) {
		if (y + drawn >= getmaxy(v->win))
			break;
		if (lines.v[i].len)
			mvwaddnwstr(v->win, y + drawn, x, t.s + lines.v[i].start,
			            (int)lines.v[i].len);
	}
	wattr_set(v->win, A_NORMAL, 0, NULL);
	san_lines_free(&lines);
	san_text_free(&t);
	return drawn;
}

int view_text_lines(const char *utf8, int w)
{
	if (!utf8 || w < 1)
		return 0;
	struct san_text t;
	struct san_lines lines = {0};
	san_text_from(&t, utf8, strlen(utf8), 0, SAN_KEEP_NEWLINES);
	san_wrap(&lines, t.s, t.len, w);
	int n = (int)lines.n;
	san_lines_free(&lines);
	san_text_free(&t);
	return n;
}

void view_fill(struct view *v, int y, enum theme_element el)
{
	if (!v->win || y < 0 || y >= getmaxy(v->win))
		return;
	set_attr(v->win, el);
	mvwhline(v->win, y, 0, ' ', getmaxx(v->win));
	wattr_set(v->win, A_NORMAL, 0, NULL);
}

void view_clamp(struct view *v, int n)
{
	if (n <= 0) {
		v->sel = v->top = 0;
		return;
	}
	v->sel = MAX(0, MIN(v->sel, n - 1));
	int h = MAX(v->h, 1);
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + h)
		v->top = v->sel - h + 1;
	v->top = MAX(0, MIN(v->top, MAX(0, n - h)));
}

void tui_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
	app_of(t)->need_draw = true;
}

void tui_redraw(struct tui *t)
{
	app_of(t)->need_draw = true;
}

void tui_focus_view(struct tui *t, const char *name)
{
	for (int i = 0; i < VIEW_COUNT; i++)
		if (t->views[i].ops && strcmp(t->views[i].ops->name, name) == 0) {
			app_focus(app_of(t), i);
			return;
		}
}

static void view_answered(struct app *a, int answer)
{
	tui_answer_fn *fn = a->view_answer;
	a->view_answer = NULL;
	if (fn)
		fn(&a->t, a->view_answer_arg, answer);
}

void tui_ask(struct tui *t, tui_answer_fn *fn, void *arg, const char *choices, const char *fmt, ...)
{
	struct app *a = app_of(t);
	char text[sizeof a->ask];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	a->view_answer = fn;
	a->view_answer_arg = arg;
	app_ask(a, view_answered, choices, "%s", text);
}

void tui_close_overlay(struct tui *t)
{
	struct app *a = app_of(t);
	if (a->help_open)
		app_focus(a, a->help_return);
}

void view_frame(WINDOW *win, const struct rect *r, const char *title, bool focused)
{
	const struct glyphs *g = glyphs();
	if (r->w < 2 || r->h < 2)
		return;
	set_attr(win, focused ? THEME_BORDER_FOCUS : THEME_BORDER);
	const char *h = focused ? g->hline_focus : g->hline,
	           *vl = focused ? g->vline_focus : g->vline;
	for (int x = r->x + 1; x < r->x + r->w - 1; x++) {
		mvwaddstr(win, r->y, x, h);
		mvwaddstr(win, r->y + r->h - 1, x, h);
	}
	for (int y = r->y + 1; y < r->y + r->h - 1; y++) {
		mvwaddstr(win, y, r->x, vl);
		mvwaddstr(win, y, r->x + r->w - 1, vl);
	}
	mvwaddstr(win, r->y, r->x, focused ? g->tl_focus : g->tl);
	mvwaddstr(win, r->y, r->x + r->w - 1, focused ? g->tr_focus : g->tr);
	mvwaddstr(win, r->y + r->h - 1, r->x, focused ? g->bl_focus : g->bl);
	mvwaddstr(win, r->y + r->h - 1, r->x + r->w - 1, focused ? g->br_focus : g->br);
	wattrset(win, A_NORMAL);
	if (title && r->w > 6) {
		char *t = xasprintf(" %s ", title);
		put_text(win, r->y, r->x + 2, focused ? THEME_TITLE : THEME_HEADER, t, r->w - 4);
		free(t);
	}
}

bool tui_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; p && *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return true;
	return hay && !n;
}

/* view_help.c: the help screen, generated each time it is drawn from the live key map (every
 * action of ACTION_INFO under its group, with the keys bound to it now), the command table and
 * the engine's phase table, so it always tells the truth (tig's help.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/lines.h"
#include "tui/tui_int.h"

#define KEY_COL 18

struct help_line {
	enum theme_element el;
	char *text;
	int indent;
};

struct help {
	struct help_line *v;
	size_t n, cap;
};

static void add(struct help *h, enum theme_element el, int indent, char *text)
{
	h->v = xgrow(h->v, &h->cap, h->n + 1, sizeof *h->v);
	h->v[h->n++] = (struct help_line){el, text, indent};
}

/* A key (or command, or phase) and its description, wrapped under the description column when
 * the screen is narrow (never cut). */
static void add_keyed(struct help *h, int width, enum theme_element el, const char *left,
                      const char *desc)
{
	struct tlines t;
	tlines_init(&t, MAX(20, width - 3 - KEY_COL - 1));
	tlines_add(&t, THEME_TEXT, 0, desc);
	for (size_t i = 0; i < t.n; i++)
		add(h, el, 3, xasprintf("%-*s %s", KEY_COL, i ? "" : left, t.v[i].text));
	tlines_free(&t);
}

static void help_clear(struct help *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].text);
	h->n = 0;
}

static void build(struct view *v)
{
	struct help *h = v->priv;
	struct app *a = app_of(v->tui);
	help_clear(h);
	add(h, THEME_TITLE, 1,
	    xasprintf("adopt-tui %s: keys in force (your config included) and commands",
	              ADOPT_VERSION));
	const char *group = NULL;
	for (int act = 1; act < ACTION_COUNT; act++) {
		const struct action_info *ai = action_info((enum action)act);
		if (!group || strcmp(group, ai->group) != 0) {
			group = ai->group;
			add(h, THEME_TEXT, 0, xstrdup(""));
			add(h, THEME_HELP_GROUP, 1, xstrdup(group));
		}
		char keys[128];
		keymap_keys_for(&a->km, "", (enum action)act, keys, sizeof keys);
		add_keyed(h, v->w, THEME_HELP_KEY, keys[0] ? keys : "(unbound)", ai->help);
	}
	add(h, THEME_TEXT, 0, xstrdup(""));
	add(h, THEME_HELP_GROUP, 1, xstrdup("Commands (: then Tab completes)"));
	size_t n;
	const struct cmd_spec *cmds = tui_commands(&n);
	for (size_t i = 0; i < n; i++) {
		char *left =
		    xasprintf(":%s%s%s", cmds[i].name, cmds[i].args[0] ? " " : "", cmds[i].args);
		add_keyed(h, v->w, THEME_HELP_KEY, left, cmds[i].help);
		free(left);
	}
	add(h, THEME_TEXT, 0, xstrdup(""));
	add(h, THEME_HELP_GROUP, 1, xstrdup("Phases of one iteration (s runs the next one)"));
	for (int p = 0; p < PHASE_COUNT; p++)
		add_keyed(h, v->w, THEME_TEXT, phase_name((enum phase)p),
		          phase_help((enum phase)p));
}

static void help_open(struct view *v)
{
	v->priv = xcalloc(1, sizeof(struct help));
}

static void help_done(struct view *v)
{
	struct help *h = v->priv;
	if (!h)
		return;
	help_clear(h);
	free(h->v);
	free(h);
	v->priv = NULL;
}

static void help_draw(struct view *v)
{
	struct help *h = v->priv;
	build(v);
	if (v->top > (int)h->n - v->h)
		v->top = MAX(0, (int)h->n - v->h);
	for (int y = 0; y < v->h && v->top + y < (int)h->n; y++) {
		const struct help_line *l = &h->v[v->top + y];
		bool match = v->sel == v->top + y && v->sel > 0;
		if (l->el == THEME_HELP_KEY) {
			/* keys in one colour, the description in another */
			int kw = MIN((int)strlen(l->text), KEY_COL);
			char *keys = xstrndup(l->text, (size_t)kw);
			view_print(v, y, l->indent, match ? THEME_SEARCH_MATCH : THEME_HELP_KEY,
			           keys, -1);
			view_print(v, y, l->indent + KEY_COL + 1, THEME_TEXT, l->text + kw + 1, -1);
			free(keys);
		} else {
			view_print(v, y, l->indent, match ? THEME_SEARCH_MATCH : l->el, l->text,
			           -1);
		}
	}
}

static bool help_key(struct view *v, enum action act)
{
	struct help *h = v->priv;
	int n = (int)h->n, page = MAX(1, v->h - 1);
	static const enum action closers[] = {ACTION_QUIT, ACTION_CANCEL, ACTION_BACK, ACTION_HELP};
	for (size_t i = 0; i < ARRAY_SIZE(closers); i++)
		if (act == closers[i]) {
			input_key_action(app_of(v->tui), ACTION_HELP); /* toggles it closed */
			return true;
		}
	int top = v->top;
	if (act == ACTION_MOVE_UP)
		top--;
	else if (act == ACTION_MOVE_DOWN || act == ACTION_ENTER)
		top++;
	else if (act == ACTION_PAGE_UP)
		top -= page;
	else if (act == ACTION_PAGE_DOWN)
		top += page;
	else if (act == ACTION_HOME)
		top = 0;
	else if (act == ACTION_END)
		top = n;
	else
		return false;
	v->top = MAX(0, MIN(top, n - v->h));
	return true;
}

static bool help_search(struct view *v, const char *pattern, int dir)
{
	struct help *h = v->priv;
	build(v);
	int n = (int)h->n, from = v->sel > 0 ? v->sel : v->top;
	for (int k = 1; k <= n; k++) {
		int i = ((from + dir * k) % n + n) % n;
		if (tui_contains(h->v[i].text, pattern)) {
			v->sel = i;
			if (i < v->top || i >= v->top + v->h)
				v->top = MAX(0, i - v->h / 3);
			return true;
		}
	}
	return false;
}

const struct view_ops view_help_ops = {
    .name = "help",
    .title = "Help (q or Esc closes)",
    .open = help_open,
    .draw = help_draw,
    .key = help_key,
    .search = help_search,
    .done = help_done,
};

/* view_compare.c: the Compare screen, opened over the body by :compare A B (A and B: vN,
 * iteration:K or current).  It evaluates both prompt configurations of the session on the
 * validation split through the workbench's LLM layer (so the response cache answers what was
 * evaluated before, and the loop stays responsive), then shows what --compare prints: both
 * scores and costs, the paired bootstrap interval of the difference, and every flipped example
 * with both outputs and the step outputs that differ (compare.h).
 *
 * Keys: up/down/PgUp/PgDn/Home/End scroll, Enter, Backspace, Esc or q go back. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

struct compare_screen {
	struct tlines l;
	struct runner *runner;
	struct run_batch *batch[2];
	struct variant *var[2];
	const struct variant **config[2];
	char *label[2];
	size_t *idx;
	bool built;
};

static void stop(struct compare_screen *c)
{
	for (int k = 0; k < 2; k++) {
		run_batch_free(c->batch[k]);
		c->batch[k] = NULL;
		free(c->var[k]);
		free(c->config[k]);
		free(c->label[k]);
		c->var[k] = NULL, c->config[k] = NULL, c->label[k] = NULL;
	}
	runner_free(c->runner);
	c->runner = NULL;
	free(c->idx);
	c->idx = NULL;
}

static void open_compare(struct view *v)
{
	struct compare_screen *c = xcalloc(1, sizeof *c);
	tlines_init(&c->l, v->w);
	v->priv = c;
}

static void done_compare(struct view *v)
{
	struct compare_screen *c = v->priv;
	if (!c)
		return;
	stop(c);
	tlines_free(&c->l);
	free(c);
	v->priv = NULL;
}

int view_compare_start(struct view *v, const char *a, const char *b, struct err *e)
{
	struct compare_screen *c = v->priv;
	struct tui *t = v->tui;
	const struct split *val = &t->s->data.splits[SPLIT_VAL];
	enum compare_spec kind[2];
	long n[2];
	const char *spec[2] = {a, b};
	for (int k = 0; k < 2; k++)
		if (compare_spec_parse(spec[k], &kind[k], &n[k]) < 0)
			return err_set(e, ":compare takes vN, iteration:K or current, not \"%s\"",
			               spec[k]);
	if (!val->n)
		return err_set(e, ":compare: the session has no validation examples");
	stop(c);
	for (int k = 0; k < 2; k++) {
		c->var[k] = xcalloc(t->s->n_steps + 1, sizeof *c->var[k]);
		c->config[k] = xcalloc(t->s->n_steps + 1, sizeof *c->config[k]);
		/* as --compare names them (SESSION@SPEC), so each row says whose prompts it ran */
		c->label[k] = xasprintf("%s@%s", t->s->name ? t->s->name : "session", spec[k]);
		if (compare_config(t->en, kind[k], n[k], c->var[k], c->config[k], e) < 0) {
			stop(c);
			return -1;
		}
	}
	c->idx = xcalloc(val->n, sizeof *c->idx);
	for (size_t i = 0; i < val->n; i++)
		c->idx[i] = i;
	c->runner = runner_new(t->s, t->llm, false);
	for (int k = 0; k < 2; k++)
		c->batch[k] = runner_start(c->runner, c->config[k], SPLIT_VAL, c->idx, val->n,
		                           "compare", NULL);
	c->built = false;
	v->top = 0;
	return 0;
}

/* Where a line's text starts after its label ("A: ", "step X: A ", "   B "): its continuation
 * rows go there, not back at the indent. */
static int text_col(const char *text)
{
	size_t lead = strspn(text, " ");
	const char *at = strstr(text, ": A ");
	if (!strncmp(text + lead, "A: ", 3) || !strncmp(text + lead, "B: ", 3))
		return (int)lead + 3;
	if (!strncmp(text + lead, "B ", 2))
		return (int)lead + 2;
	return at && !strncmp(text, "step ", 5) ? (int)(at - text) + 4 : 0;
}

static void add_line(void *arg, int indent, const char *text)
{
	tlines_hangf(arg, THEME_TEXT, indent + text_col(text), "%*s%s", indent, "", text);
}

static int body_rows(const struct view *v)
{
	return v->h - 1;
}

static void draw_compare(struct view *v)
{
	struct compare_screen *c = v->priv;
	view_fill(v, 0, THEME_HEADER);
	view_printf(v, 0, 0, THEME_HEADER, "%s compare A %s with B %s   Enter or q back",
	            glyphs()->hline_focus, c->label[0] ? c->label[0] : "?",
	            c->label[1] ? c->label[1] : "?");
	if (!c->batch[0]) {
		view_print(v, 1, 0, THEME_TEXT_DIM, "No comparison: :compare v1 v3", v->w);
		return;
	}
	if (!run_batch_done(c->batch[0]) || !run_batch_done(c->batch[1])) {
		view_printf(v, 1, 0, THEME_TEXT_DIM,
		            "evaluating on validation: %zu + %zu of %zu done",
		            run_batch_finished(c->batch[0]), run_batch_finished(c->batch[1]),
		            run_batch_count(c->batch[0]));
		return;
	}
	if (!c->built || c->l.width != v->w) {
		tlines_clear(&c->l);
		c->l.width = v->w;
		compare_text(v->tui->s, "val", c->label[0], c->label[1], c->batch[0], c->batch[1],
		             v->tui->scripted, add_line, &c->l);
		c->built = true;
	}
	int sel = v->top;
	tlines_clamp(&sel, &v->top, c->l.n, body_rows(v));
	tlines_draw(v, &c->l, 1, body_rows(v), v->top, -1);
}

static bool key_compare(struct view *v, enum action a)
{
	struct compare_screen *c = v->priv;
	int rows = body_rows(v);
	switch (a) {
	case ACTION_QUIT:
	case ACTION_CANCEL:
	case ACTION_BACK:
	case ACTION_ENTER:
		tui_close_overlay(v->tui);
		return true;
	default:
		return tlines_scroll(a, &v->top, c->l.n, rows);
	}
}

static bool search_compare(struct view *v, const char *pattern, int direction)
{
	struct compare_screen *c = v->priv;
	return tlines_seek(&c->l, &v->top, pattern, direction);
}

const struct view_ops view_compare_ops = {
    .name = "compare",
    .title = "Compare (Enter, q or Esc closes)",
    .open = open_compare,
    .draw = draw_compare,
    .key = key_compare,
    .search = search_compare,
    .done = done_compare,
};

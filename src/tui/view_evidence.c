/* view_evidence.c: the Evidence screen, opened over the body by Enter on a flipped example in
 * the Proposals pane.  It shows one validation example (tui->evidence, its position in the
 * current iteration's validation sample) as the incumbent and the proposed combination ran it:
 * its fields and gold answer, both final outputs with their scores, then step by step (and round
 * by round) the incumbent's run and the proposal's, each with its input, prompt, output, tokens
 * and errors (tracelines.h, as the Traces pane shows a run).  When the screen is wide enough the
 * two are set side by side from the final outputs on (incumbent left, proposal right, each
 * wrapped to its column, each step's pair starting on the same row: tlines_add_columns), else
 * the incumbent's run above the proposal's.  A reopened session keeps the runs of its last few
 * iterations only (engine_store.c); older ones keep the outputs.
 *
 * A step both runs ran alike (same input, prompt and output) is folded into one line with the
 * others like it, so that a long pipeline's changes fit; f shows them in full and folds them
 * again.
 *
 * Keys: up/down/PgUp/PgDn/Space/Home/End scroll, h/l the previous/next flipped example, f folds
 * or shows the unchanged steps, Enter, Backspace, Esc or q go back to the Proposals pane. */
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/tracelines.h"
#include "tui/view.h"

/* The two runs are set side by side on a screen SIDE_BY_SIDE_W wide (the width a 140-column
 * terminal gives it: 67 columns a run), with a rule of COLUMN_SEP_W columns between them. */
#define SIDE_BY_SIDE_W 138
#define COLUMN_SEP_W   3

struct evidence_screen {
	struct tlines l;
	long placed;   /* the example the text was last scrolled for */
	char sep[16];  /* between the columns: " | " in the glyph set's vertical line */
	bool unfolded; /* f: the steps both runs ran alike shown in full too */
};

static void open_evidence(struct view *v)
{
	struct evidence_screen *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	p->placed = -2;
	v->priv = p;
}

static void done_evidence(struct view *v)
{
	struct evidence_screen *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	free(p);
	v->priv = NULL;
}

/* The incumbent's and the proposal's evaluations, or false when either is missing. */
static bool pair(const struct view *v, const struct iteration *it, const struct evaluation **inc,
                 const struct evaluation **best)
{
	size_t m = v->tui->s->n_steps;
	*inc = *best = NULL;
	if (!it || it->best_eval < 0 || (size_t)it->best_eval >= it->n_evals)
		return false;
	*best = &it->evals[it->best_eval];
	for (size_t e = 0; e < it->n_evals && !*inc; e++) {
		size_t k = 0;
		while (k < m && !it->evals[e].choice[k])
			k++;
		if (k == m)
			*inc = &it->evals[e];
	}
	return *inc && (*inc)->scores && (*best)->scores;
}

static bool flipped(const struct evaluation *inc, const struct evaluation *best, size_t i)
{
	return inc->scores[i] != best->scores[i];
}

/* One run's rows under a label, into l; a run kept without its steps says so. */
static void add_run(struct view *v, struct tlines *l, const char *label,
                    const struct trace_step *ts)
{
	if (!ts) {
		tlines_addf(l, THEME_TEXT_DIM, 0, "%s: (no run of this step)", label);
		return;
	}
	tlines_addf(l, THEME_TITLE, 0, "%s %s", glyphs()->arrow_right, label);
	tracelines_step(l, v->tui->s, ts, false, v->tui->deterministic);
}

static const struct trace_step *same_run(const struct trace *t, const struct trace_step *ts)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->steps[k].step == ts->step && t->steps[k].round == ts->round)
			return &t->steps[k];
	return NULL;
}

/* The two runs of one step (either may be missing): stacked, or with cols (a column list each)
 * side by side, each wrapped to its column and the pair starting on the same row. */
static void add_pair(struct view *v, struct tlines cols[2], const char *const label[2],
                     const struct trace_step *ts[2])
{
	struct evidence_screen *p = v->priv;
	if (!cols) {
		for (int k = 0; k < 2; k++)
			add_run(v, &p->l, label[k], ts[k]);
	} else {
		for (int k = 0; k < 2; k++) {
			tlines_clear(&cols[k]);
			add_run(v, &cols[k], label[k], ts[k]);
		}
		tlines_add_columns(&p->l, &cols[0], &cols[1], p->sep);
	}
	tlines_add(&p->l, THEME_TEXT, 0, "");
}

static bool same_text(const char *x, const char *y)
{
	return !x || !y ? x == y : strcmp(x, y) == 0;
}

/* Both runs of a step took the same input and prompt and gave the same output (or error). */
static bool unchanged(const struct trace_step *x, const struct trace_step *y)
{
	return x && y && same_text(x->input, y->input) && same_text(x->prompt, y->prompt) &&
	       same_text(x->out.text, y->out.text) && same_text(x->error, y->error);
}

/* The folded steps so far as one line ("= clean, label: the same ... (f shows them)"). */
static void flush_folded(struct tlines *l, struct sbuf *names, int *n)
{
	if (!*n)
		return;
	tlines_hangf(l, THEME_TEXT_DIM, 2,
	             "= %s: the same input, prompt and output in both runs (f shows %s)",
	             sbuf_str(names), *n > 1 ? "them" : "it");
	tlines_add(l, THEME_TEXT, 0, "");
	names->len = 0;
	*n = 0;
}

static void build_runs(struct view *v, const struct trace *a, const struct trace *b,
                       struct tlines cols[2])
{
	struct evidence_screen *p = v->priv;
	struct tlines *l = &p->l;
	if (!a->n && !b->n) {
		tlines_add(l, THEME_TEXT_DIM, 0,
		           "The step runs of this example are not kept: a reopened session keeps "
		           "them for its last iterations only, and the outputs for all.");
		return;
	}
	static const char *const label[2] = {"incumbent", "proposal"};
	struct sbuf names = {0};
	int n_folded = 0;
	for (size_t k = 0; k < a->n; k++) {
		const struct trace_step *other = same_run(b, &a->steps[k]);
		if (!p->unfolded && unchanged(&a->steps[k], other)) {
			const struct trace_step *ts = &a->steps[k];
			sbuf_addf(&names, n_folded ? ", %s" : "%s", v->tui->s->steps[ts->step].id);
			if (ts->round)
				sbuf_addf(&names, " round %d", ts->round);
			n_folded++;
			continue;
		}
		flush_folded(l, &names, &n_folded);
		add_pair(v, cols, label, (const struct trace_step *[2]){&a->steps[k], other});
	}
	flush_folded(l, &names, &n_folded);
	sbuf_free(&names);
	for (size_t k = 0; k < b->n; k++) { /* rounds only the proposal ran */
		if (same_run(a, &b->steps[k]))
			continue;
		if (cols) /* beside "incumbent: (no run of this step)" */
			add_pair(v, cols, label,
			         (const struct trace_step *[2]){NULL, &b->steps[k]});
		else
			add_run(v, l, "proposal (the incumbent had no such run)", &b->steps[k]);
	}
}

static void build(struct view *v, const struct iteration *it, long i)
{
	struct evidence_screen *p = v->priv;
	const struct session *s = v->tui->s;
	const struct evaluation *inc, *best;
	tlines_clear(&p->l);
	p->l.width = v->w;
	if (!pair(v, it, &inc, &best) || i < 0 || (size_t)i >= it->n_val) {
		tlines_add(&p->l, THEME_TEXT, 0,
		           "No flipped example to show: the proposal's per-example evidence is not "
		           "at hand.");
		return;
	}
	if (!inc->traces || !best->traces) {
		tlines_add(&p->l, THEME_TEXT, 0,
		           "The runs of this iteration's validation examples were not kept.");
		return;
	}
	const struct trace *a = &inc->traces[i], *b = &best->traces[i];
	const struct split *sp = &s->data.splits[a->split];
	const struct example *ex = a->example < sp->n ? &sp->ex[a->example] : NULL;
	for (size_t f = 0; ex && f < ex->n; f++) {
		char *joined; /* a list, or a field kept as JSON: its text as Traces shows it */
		tlines_addf(&p->l, THEME_TEXT, 2, "%s: %s", ex->keys[f],
		            value_text(&ex->vals[f], &joined));
		free(joined);
	}
	for (size_t g = 0; ex && g < ex->n_golds; g++)
		tlines_addf(&p->l, THEME_TEXT, 2, "gold: %s", ex->golds[g]);
	/* wide enough: the incumbent on the left, the proposal on the right, from here on */
	int colw = (v->w - COLUMN_SEP_W) / 2;
	struct tlines cols[2], *side = v->w >= SIDE_BY_SIDE_W ? cols : NULL;
	for (int k = 0; side && k < 2; k++)
		tlines_init(&cols[k], colw);
	snprintf(p->sep, sizeof p->sep, " %s ", glyphs()->vline);
	const struct trace *t[2] = {a, b};
	const double score[2] = {inc->scores[i], best->scores[i]};
	for (int k = 0; k < 2; k++)
		tlines_addf(side ? &cols[k] : &p->l,
		            t[k]->good ? THEME_SCORE_GOOD : THEME_SCORE_BAD, 2,
		            "%s %s   score %.3f", k ? "proposal: " : "incumbent:",
		            !t[k]->prediction   ? "(none)"
		            : *t[k]->prediction ? t[k]->prediction
		                                : "(empty output)",
		            score[k]);
	for (int k = 0; k < 2; k++)
		if (t[k]->error)
			tlines_addf(side ? &cols[k] : &p->l, THEME_ERROR, 2, "%s error: %s",
			            k ? "proposal" : "incumbent", t[k]->error);
	if (side)
		tlines_add_columns(&p->l, &cols[0], &cols[1], p->sep);
	tlines_add(&p->l, THEME_TEXT, 0, "");
	build_runs(v, a, b, side);
	for (int k = 0; side && k < 2; k++)
		tlines_free(&cols[k]);
}

static int body_rows(const struct view *v)
{
	return v->h - 1;
}

static void draw_evidence(struct view *v)
{
	struct evidence_screen *p = v->priv;
	const struct iteration *it = engine_current(v->tui->en);
	long i = v->tui->evidence;
	const struct evaluation *inc, *best;
	view_fill(v, 0, THEME_HEADER);
	if (pair(v, it, &inc, &best) && i >= 0 && (size_t)i < it->n_val) {
		const struct split *sp =
		    &v->tui->s->data.splits[inc->traces ? inc->traces[i].split : SPLIT_VAL];
		size_t x = inc->traces   ? inc->traces[i].example
		           : it->val_idx ? it->val_idx[i]
		                         : (size_t)i;
		double d = best->scores[i] - inc->scores[i];
		char *what =
		    xasprintf("%s Example %s, iteration %d: %s (%.3f %s %.3f)",
		              glyphs()->hline_focus, x < sp->n ? sp->ex[x].id : "?", it->number,
		              d > 0   ? "the proposal fixes it"
		              : d < 0 ? "the proposal breaks it"
		                      : "same",
		              inc->scores[i], glyphs()->arrow_right, best->scores[i]);
		/* then the keys as fit, in full or short (the title bar says how to close) */
		static const char *const keys[][2] = {
		    {"   h/l other flipped  f unfold  Enter or q back",
		     "   h/l other flipped  f fold  Enter or q back"},
		    {"   h/l other flipped  f unfold", "   h/l other flipped  f fold"},
		    {"   h/l other flipped", "   h/l other flipped"},
		    {"  h/l other", "  h/l other"}};
		int used = view_print(v, 0, 0, THEME_HEADER, what, -1);
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			if (used + (int)strlen(keys[k][p->unfolded]) <= v->w) {
				view_print(v, 0, used, THEME_HEADER, keys[k][p->unfolded], -1);
				break;
			}
		free(what);
	} else {
		view_print(v, 0, 0, THEME_HEADER, "Evidence", v->w);
	}
	size_t before = p->l.n;
	int width = p->l.width;
	build(v, it, i);
	if (i != p->placed) {
		v->top = 0;
		p->placed = i;
	} else if (width != v->w && before) { /* resized: about the same place in the new rows */
		v->top = (int)((double)v->top * (double)p->l.n / (double)before);
	}
	int sel = v->top;
	tlines_clamp(&sel, &v->top, p->l.n, body_rows(v));
	tlines_draw(v, &p->l, 1, body_rows(v), v->top, -1);
}

/* The previous/next flipped example, in validation order. */
static void other_example(struct view *v, int dir)
{
	const struct iteration *it = engine_current(v->tui->en);
	const struct evaluation *inc, *best;
	if (!pair(v, it, &inc, &best))
		return;
	for (long i = v->tui->evidence + dir; i >= 0 && (size_t)i < it->n_val; i += dir) {
		if (flipped(inc, best, (size_t)i)) {
			v->tui->evidence = i;
			return;
		}
	}
	tui_message(v->tui, "the %s flipped example", dir > 0 ? "last" : "first");
}

static bool key_evidence(struct view *v, enum action a)
{
	struct evidence_screen *p = v->priv;
	switch (a) {
	case ACTION_QUIT:
	case ACTION_CANCEL:
	case ACTION_BACK:
	case ACTION_ENTER:
		tui_close_overlay(v->tui);
		return true;
	case ACTION_MOVE_LEFT:
		other_example(v, -1);
		return true;
	case ACTION_MOVE_RIGHT:
		other_example(v, 1);
		return true;
	case ACTION_CYCLE_FILTER: /* f */
		p->unfolded = !p->unfolded;
		p->placed = -2; /* back to the top: the rows moved */
		tui_message(v->tui, "%s",
		            p->unfolded ? "unchanged steps shown" : "unchanged steps folded");
		return true;
	default:
		return tlines_scroll(a, &v->top, p->l.n, body_rows(v));
	}
}

static bool search_evidence(struct view *v, const char *pattern, int direction)
{
	struct evidence_screen *p = v->priv;
	build(v, engine_current(v->tui->en), v->tui->evidence);
	return tlines_seek(&p->l, &v->top, pattern, direction);
}

const struct view_ops view_evidence_ops = {
    .name = "evidence",
    .title = "Evidence (Enter, q or Esc closes)",
    .open = open_evidence,
    .draw = draw_evidence,
    .key = key_evidence,
    .search = search_evidence,
    .done = done_evidence,
};

/* view_traces.c: the Traces pane.  Top: one row per example of the forward batch (id, score
 * coloured good/bad, prediction, error marker), optionally only the bad ones.  Below: the selected
 * example's run step by step (and round by round): input, rendered prompt, output, latency,
 * tokens, cost, cached/memo/scripted markers, parse misses and errors.  While a forward pass runs,
 * streamed text (EV_TEXT) collects in a live buffer per step, shown until that step's trace is in.
 *
 * Keys: up/down/home/end pick the example; PgUp/PgDn/Space scroll the step detail; left/right
 * (h/l) and Enter move to the previous/next step run of the selected example, round by round
 * inside a loop (tui->step and the pane's round); / searches the detail (every step's input,
 * prompt and output), then the example list; b filters bad cases, f cycles the step-state filter
 * (a step failed, an answer was cut), :filter TEXT keeps the examples whose id, output or any
 * step's output contains TEXT; d jumps from a bad case to its gradient.
 *
 * m pins the selected example: the list then holds the iterations that ran it (the forward
 * batch, else the validation runs selection kept), with score and final output, and the detail
 * shows its run in the selected iteration; [ and ] (or up/down) step through the iterations,
 * keeping the selected step in view, so its output can be followed; m again unpins. */
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/tracelines.h"
#include "tui/view.h"

#define LIVE_MAX 2048 /* bytes of streamed text kept per step */

struct traces {
	struct tlines list, detail; /* list: only the rows a draw shows (build_list) */
	size_t *rows;               /* trace index of each list row */
	size_t n_rows;
	int dtop;        /* first detail row shown */
	int round;       /* the selected step run's round (0 outside a loop) */
	int placed_step; /* the step / round / example the detail was last positioned for */
	int placed_round;
	long placed_example;
	size_t *entry_row; /* detail row of each step run of the selected trace */
	size_t n_entries;
	struct sbuf *live; /* per step */
	size_t n_live;
	long finished; /* step runs finished in the forward pass in flight */
	/* pinned: rows are iteration indices (engine_iteration) that ran the example */
	bool pinned;
	enum split_id pin_split;
	size_t pin_example;
	int unpinned_sel; /* the list's cursor before pinning */
};

/* The latest iteration that has traces (the current one, or the previous one while a new forward
 * pass runs). */
static const struct iteration *shown_iteration(const struct engine *en)
{
	for (size_t i = engine_iterations(en); i-- > 0;) {
		const struct iteration *it = engine_iteration(en, i);
		if (it->n_traces)
			return it;
	}
	return NULL;
}

/* The run of an example in an iteration: its forward trace, else a validation run selection
 * kept (the incumbent's first); NULL when the iteration did not run it. */
static const struct trace *run_in(const struct iteration *it, enum split_id sp, size_t ex)
{
	for (size_t i = 0; it && i < it->n_traces; i++)
		if (it->traces[i].split == sp && it->traces[i].example == ex)
			return &it->traces[i];
	for (size_t e = 0; it && e < it->n_evals; e++)
		for (size_t i = 0; it->evals[e].traces && i < it->n_val; i++)
			if (it->evals[e].traces[i].split == sp &&
			    it->evals[e].traces[i].example == ex)
				return &it->evals[e].traces[i];
	return NULL;
}

static const struct example *trace_example(const struct session *s, const struct trace *t)
{
	const struct split *sp = &s->data.splits[t->split];
	return t->example < sp->n ? &sp->ex[t->example] : NULL;
}

static const char *example_id(const struct session *s, const struct trace *t)
{
	const struct example *ex = trace_example(s, t);
	return ex && ex->id ? ex->id : "?";
}

static bool forward_running(const struct engine *en)
{
	const struct iteration *cur = engine_current(en);
	return cur && cur->phase == PHASE_FORWARD && engine_busy(en); /* phase_running is unset */
}

static void open_traces(struct view *v)
{
	struct traces *p = xcalloc(1, sizeof *p);
	tlines_init(&p->list, v->w);
	tlines_init(&p->detail, v->w);
	p->placed_step = -2;
	p->placed_example = -2;
	p->n_live = v->tui->s->n_steps;
	p->live = xcalloc(p->n_live ? p->n_live : 1, sizeof *p->live);
	v->priv = p;
}

static void done_traces(struct view *v)
{
	struct traces *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->list);
	tlines_free(&p->detail);
	for (size_t i = 0; i < p->n_live; i++)
		sbuf_free(&p->live[i]);
	free(p->live);
	free(p->rows);
	free(p->entry_row);
	free(p);
	v->priv = NULL;
}

static void clear_live(struct traces *p)
{
	for (size_t i = 0; i < p->n_live; i++)
		sbuf_reset(&p->live[i]);
}

static void event_traces(struct view *v, const struct engine_event *ev)
{
	struct traces *p = v->priv;
	bool in_range = ev->step >= 0 && (size_t)ev->step < p->n_live;
	if (ev->kind == EV_PHASE_STARTED && ev->phase == PHASE_FORWARD) {
		clear_live(p);
		p->finished = 0;
	} else if (ev->kind == EV_PHASE_FINISHED && ev->phase == PHASE_FORWARD) {
		clear_live(p);
	} else if (ev->kind == EV_TEXT && ev->phase == PHASE_FORWARD && in_range && ev->text) {
		struct sbuf *b = &p->live[ev->step];
		sbuf_add(b, ev->text, ev->len);
		if (b->len > LIVE_MAX) { /* keep the tail */
			size_t cut = b->len - LIVE_MAX / 2;
			memmove(b->s, b->s + cut, b->len - cut + 1);
			b->len -= cut;
		}
	} else if (ev->kind == EV_STEP_TRACE) {
		p->finished++;
		if (in_range)
			sbuf_reset(&p->live[ev->step]);
	}
}

/* Whether a step of the trace was cut by the token limit. */
static bool trace_cut(const struct trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->steps[i].cut)
			return true;
	return false;
}

static bool trace_failed(const struct trace *t)
{
	for (size_t i = 0; !t->error && i < t->n; i++)
		if (t->steps[i].error)
			return true;
	return t->error != NULL;
}

/* The step-state filters (f cycles them): name, test. */
static const struct {
	const char *name;
	bool (*keep)(const struct trace *t);
} state_filters[] = {
    {"all", NULL},
    {"a step failed", trace_failed},
    {"an answer was cut", trace_cut},
};

static bool text_match(const struct session *s, const struct trace *t, const char *text)
{
	const struct example *ex = trace_example(s, t);
	if (!*text || tlines_contains(t->prediction, text) || (ex && tlines_contains(ex->id, text)))
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (tlines_contains(t->steps[i].out.text, text))
			return true;
	return false;
}

static bool listed(const struct view *v, const struct trace *t)
{
	const struct tui *u = v->tui;
	int f = u->trace_state > 0 && (size_t)u->trace_state < ARRAY_SIZE(state_filters)
	            ? u->trace_state
	            : 0;
	return (!u->bad_only || !t->good) && (!f || state_filters[f].keep(t)) &&
	       text_match(u->s, t, u->trace_text);
}

/* Rebuilds the rows (examples, or when pinned the iterations that ran the example); returns the
 * iteration shown. */
static const struct iteration *build_rows(struct view *v, struct traces *p)
{
	const struct engine *en = v->tui->en;
	p->n_rows = 0;
	free(p->rows);
	if (p->pinned) {
		size_t n = engine_iterations(en);
		p->rows = xcalloc(n ? n : 1, sizeof *p->rows);
		for (size_t i = 0; i < n; i++)
			if (run_in(engine_iteration(en, i), p->pin_split, p->pin_example))
				p->rows[p->n_rows++] = i;
		if (!p->n_rows)
			return NULL;
		v->sel = MAX(0, MIN(v->sel, (int)p->n_rows - 1));
		return engine_iteration(en, p->rows[v->sel]);
	}
	const struct iteration *it = shown_iteration(en);
	p->rows = xcalloc(it && it->n_traces ? it->n_traces : 1, sizeof *p->rows);
	for (size_t i = 0; it && i < it->n_traces; i++)
		if (listed(v, &it->traces[i]))
			p->rows[p->n_rows++] = i;
	return it;
}

/* The list row of the selected example, following tui->example when it is listed. */
static void sync_selection(struct view *v, struct traces *p)
{
	if (p->pinned)
		return;
	for (size_t r = 0; r < p->n_rows; r++)
		if ((long)p->rows[r] == v->tui->example)
			v->sel = (int)r;
	if (p->n_rows) {
		if (v->sel >= (int)p->n_rows)
			v->sel = (int)p->n_rows - 1;
		if (v->sel < 0)
			v->sel = 0;
		v->tui->example = (long)p->rows[v->sel];
	}
}

/* Builds list rows [first, end) only: a draw needs the visible ones, not all 2,000. */
static void build_list(struct view *v, struct traces *p, const struct iteration *it, size_t first,
                       size_t end)
{
	const struct glyphs *g = glyphs();
	tlines_clear(&p->list);
	p->list.width = v->w;
	for (size_t r = first; r < end && r < p->n_rows; r++) {
		const struct iteration *ri =
		    p->pinned ? engine_iteration(v->tui->en, p->rows[r]) : it;
		const struct trace *t =
		    p->pinned ? run_in(ri, p->pin_split, p->pin_example) : &it->traces[p->rows[r]];
		char *head =
		    p->pinned ? xasprintf("%s iteration %-3d %5.2f  ",
		                          t->good ? g->check : g->cross_mark, ri->number, t->score)
		              : xasprintf("%s %-8s %5.2f  ", t->good ? g->check : g->cross_mark,
		                          example_id(v->tui->s, t), t->score);
		const char *pred = !t->prediction    ? "(no prediction)"
		                   : !*t->prediction ? "(empty output)"
		                                     : t->prediction;
		struct tspan sp[] = {
		    {head, strlen(head), t->good ? THEME_SCORE_GOOD : THEME_SCORE_BAD},
		    {pred, strcspn(pred, "\n"), THEME_TEXT},
		    {"  ! error", t->error ? 9 : 0, THEME_ERROR},
		    {"  ! cut", trace_cut(t) ? 7 : 0, THEME_WARNING},
		};
		/* one row per example: a longer prediction is cut, the detail shows all of it */
		tlines_ref(&p->list, (long)p->rows[r], -1);
		tlines_add_row(&p->list, 0, sp, ARRAY_SIZE(sp));
		free(head);
	}
}

static void build_live(struct view *v, struct traces *p)
{
	const struct session *s = v->tui->s;
	tlines_ref(&p->detail, -1, -1);
	tlines_addf(&p->detail, THEME_NODE_RUNNING, 0,
	            "Forward pass of iteration %d running: %ld step runs finished",
	            engine_current(v->tui->en)->number, p->finished);
	for (size_t i = 0; i < p->n_live && i < s->n_steps; i++) {
		if (!p->live[i].len)
			continue;
		tlines_ref(&p->detail, -1, (int)i);
		tlines_addf(&p->detail, THEME_HEADER, 0, "%s %s (streaming)", glyphs()->arrow_right,
		            s->steps[i].id);
		tlines_add(&p->detail, THEME_TEXT, 4, sbuf_str(&p->live[i]));
	}
	tlines_add(&p->detail, THEME_TEXT, 0, "");
}

static const struct trace *selected_trace(const struct view *v, const struct traces *p,
                                          const struct iteration *it)
{
	if (!it || !p->n_rows)
		return NULL;
	return p->pinned ? run_in(it, p->pin_split, p->pin_example) : &it->traces[p->rows[v->sel]];
}

static void build_detail(struct view *v, struct traces *p, const struct iteration *it)
{
	const struct session *s = v->tui->s;
	tlines_clear(&p->detail);
	p->detail.width = v->w;
	if (forward_running(v->tui->en) && !p->pinned)
		build_live(v, p);
	const struct trace *t = selected_trace(v, p, it);
	if (!t)
		return;
	long ti = p->pinned ? -1 : (long)p->rows[v->sel];
	const struct example *ex = trace_example(s, t);
	tlines_ref(&p->detail, ti, -1);
	tlines_addf(&p->detail, THEME_HEADER, 0, "Example %s (iteration %d, %s)", example_id(s, t),
	            it->number, split_names[t->split]);
	for (size_t f = 0; ex && f < ex->n; f++) {
		char *joined;
		const char *text = value_text(&ex->vals[f], &joined);
		tlines_addf(&p->detail, THEME_TEXT, 2, "%s: %s", ex->keys[f], text ? text : "");
		free(joined);
	}
	for (size_t gi = 0; ex && gi < ex->n_golds; gi++)
		tlines_addf(&p->detail, THEME_TEXT, 2, "gold: %s", ex->golds[gi]);
	tlines_addf(&p->detail, t->good ? THEME_SCORE_GOOD : THEME_SCORE_BAD, 2,
	            "prediction: %s   score %.3f (%s)",
	            !t->prediction   ? "(none)"
	            : *t->prediction ? t->prediction
	                             : "(empty output)",
	            t->score, t->good ? "good" : "bad");
	if (t->error)
		tlines_addf(&p->detail, THEME_ERROR, 2, "error: %s", t->error);
	if (!t->done)
		tlines_add(&p->detail, THEME_WARNING, 2, "(this run did not finish)");
	else if (!t->n)
		tlines_add(&p->detail, THEME_TEXT_DIM, 2,
		           "(its step runs are not kept: a session file keeps them for its last "
		           "5 iterations, the score and final output for all)");
	free(p->entry_row);
	p->entry_row = xcalloc(t->n ? t->n : 1, sizeof *p->entry_row);
	p->n_entries = t->n;
	for (size_t k = 0; k < t->n; k++) {
		const struct trace_step *ts = &t->steps[k];
		tlines_ref(&p->detail, ti, ts->step);
		p->entry_row[k] = p->detail.n;
		tracelines_step(&p->detail, s, ts,
		                ts->step == v->tui->step && ts->round == p->round,
		                v->tui->deterministic);
	}
}

/* The selected trace's step run at (step, round), else the first run of step; -1 if none. */
static long find_entry(const struct trace *t, int step, int round)
{
	long first = -1;
	for (size_t k = 0; t && k < t->n; k++) {
		if (t->steps[k].step != step)
			continue;
		if (t->steps[k].round == round)
			return (long)k;
		if (first < 0)
			first = (long)k;
	}
	return first;
}

/* The step run whose rows contain detail row r; -1 above the first. */
static long entry_at_row(const struct traces *p, long r)
{
	long k = -1;
	for (size_t i = 0; i < p->n_entries && (long)p->entry_row[i] <= r; i++)
		k = (long)i;
	return k;
}

/* Keeps the detail's first row inside [0, rows - shown). */
static void clamp_detail(struct traces *p, int shown)
{
	if (p->dtop > (int)p->detail.n - shown)
		p->dtop = (int)p->detail.n - shown;
	if (p->dtop < 0)
		p->dtop = 0;
}

/* Rows of the example list and where the detail starts. */
static int list_rows(const struct view *v, const struct traces *p)
{
	int max = (v->h - 2) / 3 > 3 ? (v->h - 2) / 3 : 3;
	int n = p->n_rows ? (int)p->n_rows : 1;
	return n < max ? n : max;
}

static const struct iteration *rebuild(struct view *v)
{
	struct traces *p = v->priv;
	const struct iteration *it = build_rows(v, p);
	sync_selection(v, p);
	build_detail(v, p, it);
	/* position the detail on the selected step run when it or the example changed */
	long shown = p->pinned && p->n_rows ? -3 - (long)p->rows[v->sel] : v->tui->example;
	if (v->tui->step != p->placed_step || p->round != p->placed_round ||
	    shown != p->placed_example) {
		const struct trace *t = selected_trace(v, p, it);
		long k = find_entry(t, v->tui->step, p->round);
		/* the first run: from the top, where the example's fields and gold are */
		p->dtop = k > 0 ? (int)p->entry_row[k] : 0;
		if (k >= 0 && t->steps[k].round != p->round) { /* another example: its first run */
			p->round = t->steps[k].round;
			build_detail(v, p, it); /* the selected run's header */
		}
		p->placed_step = v->tui->step;
		p->placed_round = p->round;
		p->placed_example = shown;
	}
	return it;
}

static void draw_empty(struct view *v, struct traces *p)
{
	const struct iteration *cur = engine_current(v->tui->en);
	tlines_ref(&p->detail, -1, -1);
	if (p->pinned) { /* its runs went with an undone phase */
		tlines_add(&p->detail, THEME_HEADER, 0,
		           "No iteration has a run of the pinned example any more: m unpins it.");
		tlines_draw(v, &p->detail, 0, v->h, 0, -1);
		return;
	}
	tlines_add(&p->detail, THEME_HEADER, 0, "No traces yet.");
	if (!forward_running(v->tui->en))
		tlines_add(
		    &p->detail, THEME_TEXT, 0,
		    "The forward pass runs the pipeline on a training batch and records every "
		    "step of every example here: input, prompt, output, latency, tokens and "
		    "cost.  Press s to run the next phase or r to run to a proposal.");
	if (cur && cur->note)
		tlines_add(&p->detail, THEME_WARNING, 0, cur->note);
	tlines_draw(v, &p->detail, 0, v->h, 0, -1);
}

/* What the list shows: the iteration's examples (and the filters in force), or the iterations
 * that ran the pinned example. */
static void draw_header(struct view *v, struct traces *p, const struct iteration *it)
{
	const struct tui *u = v->tui;
	view_fill(v, 0, THEME_HEADER);
	if (p->pinned) {
		const struct trace *t = selected_trace(v, p, it);
		view_printf(v, 0, 0, THEME_HEADER,
		            "Pinned %s (%s): iteration %d, %d of the %zu iteration(s) that ran it  "
		            "[ ] other iteration  m unpin",
		            t ? example_id(u->s, t) : "?", split_names[p->pin_split], it->number,
		            v->sel + 1, p->n_rows);
		return;
	}
	size_t n_bad = 0;
	for (size_t i = 0; i < it->n_traces; i++)
		n_bad += !it->traces[i].good;
	struct sbuf b = {0};
	sbuf_addf(&b, "Iteration %d: %zu examples, %zu good, %zu bad, train %.3f", it->number,
	          it->n_traces, it->n_traces - n_bad, n_bad, it->train_score);
	if ((int)b.len > v->w) { /* narrow: the score before the count it adds up */
		sbuf_reset(&b);
		sbuf_addf(&b, "Iteration %d: train %.3f, %zu good, %zu bad", it->number,
		          it->train_score, it->n_traces - n_bad, n_bad);
	}
	if (u->bad_only || u->trace_state > 0 || u->trace_text[0]) {
		sbuf_addf(&b, "  [%zu shown:", p->n_rows);
		if (u->bad_only)
			sbuf_adds(&b, " bad");
		if (u->trace_state > 0 && (size_t)u->trace_state < ARRAY_SIZE(state_filters))
			sbuf_addf(&b, " %s", state_filters[u->trace_state].name);
		if (u->trace_text[0])
			sbuf_addf(&b, " \"%s\"", u->trace_text);
		sbuf_adds(&b, "]");
	}
	view_print(v, 0, 0, THEME_HEADER, sbuf_str(&b), v->w);
	sbuf_free(&b);
}

static void draw_traces(struct view *v)
{
	struct traces *p = v->priv;
	const struct iteration *it = rebuild(v);
	if (!it) {
		draw_empty(v, p);
		return;
	}
	draw_header(v, p, it);
	int lr = list_rows(v, p);
	int sel = v->sel, top = v->top;
	tlines_clamp(&sel, &top, p->n_rows, lr);
	v->top = top;
	if (!p->n_rows) {
		view_fill(v, 1, THEME_TEXT);
		view_print(v, 1, 0, THEME_TEXT_DIM,
		           "(no example matches the filters; b, f and :filter change them)", v->w);
	} else {
		build_list(v, p, it, (size_t)v->top, (size_t)(v->top + lr));
		tlines_draw(v, &p->list, 1, lr, 0, v->sel - v->top);
	}
	/* the step bar */
	int y = 1 + lr, x = 0;
	view_fill(v, y, THEME_BORDER);
	x += view_print(v, y, x, THEME_TEXT_DIM, "steps (h/l): ", v->w);
	for (size_t i = 0; i < v->tui->s->n_steps && x < v->w; i++) {
		x += view_print(v, y, x, (int)i == v->tui->step ? THEME_SELECTED : THEME_TEXT,
		                v->tui->s->steps[i].id, v->w - x);
		x += view_print(v, y, x, THEME_TEXT, " ", v->w - x);
	}
	int drows = v->h - y - 1;
	clamp_detail(p, drows);
	tlines_draw(v, &p->detail, y + 1, drows, p->dtop, -1);
}

/* Rows the detail gets under the list and the step bar. */
static int detail_rows(const struct view *v, const struct traces *p)
{
	return v->h - list_rows(v, p) - 2;
}

/* The next step run (dir +1 / -1) of the selected trace, round by round; without a trace, the
 * next step of the pipeline. */
static void move_step(struct view *v, const struct trace *t, int dir)
{
	struct traces *p = v->priv;
	if (t && t->n) {
		long k = find_entry(t, v->tui->step, p->round);
		k = k < 0 ? (dir > 0 ? 0 : (long)t->n - 1) : k + dir;
		if (k < 0 || k >= (long)t->n) {
			tui_message(v->tui, "%s step of this example",
			            k < 0 ? "the first" : "the last");
			p->placed_step = -2; /* back to its top */
			return;
		}
		v->tui->step = t->steps[k].step;
		p->round = t->steps[k].round;
		return;
	}
	int n = (int)v->tui->s->n_steps;
	if (n <= 0)
		return;
	int s = v->tui->step < 0 ? (dir > 0 ? -1 : n) : v->tui->step;
	s += dir;
	if (s < 0)
		s = 0;
	if (s >= n)
		s = n - 1;
	v->tui->step = s;
}

static void jump_to_gradient(struct view *v)
{
	const struct iteration *it = engine_current(v->tui->en);
	for (size_t c = 0; it && c < it->n_cases; c++) {
		if ((long)it->cases[c].trace == v->tui->example && it->cases[c].gradient) {
			tui_focus_view(v->tui, "gradients");
			return;
		}
	}
	tui_message(v->tui, "%s",
	            it && it->n_cases ? "this example is not an analysed bad case"
	                              : "no gradient yet: run the loss+gradient phase");
}

/* m: pins the selected example (its runs across iterations), or unpins it. */
static void toggle_pin(struct view *v, struct traces *p, const struct iteration *it)
{
	if (p->pinned) {
		p->pinned = false;
		v->sel = p->unpinned_sel;
		tui_message(v->tui, "unpinned: the examples of the last forward pass");
		return;
	}
	const struct trace *t = selected_trace(v, p, it);
	if (!t) {
		tui_message(v->tui, "no example to pin yet: run a forward pass (s)");
		return;
	}
	p->pinned = true;
	p->pin_split = t->split;
	p->pin_example = t->example;
	p->unpinned_sel = v->sel;
	build_rows(v, p);
	for (size_t r = 0; r < p->n_rows; r++) /* the iteration shown until now */
		if (engine_iteration(v->tui->en, p->rows[r]) == it)
			v->sel = (int)r;
	tui_message(v->tui, "%s pinned: [ and ] step through the %zu iteration(s) that ran it",
	            example_id(v->tui->s, t), p->n_rows);
}

static void other_iteration(struct view *v, struct traces *p, int dir)
{
	if (!p->pinned) {
		tui_message(v->tui, "m pins the selected example first; [ ] then follow it");
		return;
	}
	int to = v->sel + dir;
	if (to < 0 || to >= (int)p->n_rows) {
		tui_message(v->tui, "the %s iteration that ran it", dir < 0 ? "first" : "last");
		return;
	}
	v->sel = to;
}

static bool key_traces(struct view *v, enum action a)
{
	struct traces *p = v->priv;
	const struct iteration *it = rebuild(v);
	switch (a) {
	case ACTION_MARK:
		toggle_pin(v, p, it);
		return true;
	case ACTION_ITERATION_PREV:
	case ACTION_ITERATION_NEXT:
		other_iteration(v, p, a == ACTION_ITERATION_NEXT ? 1 : -1);
		return true;
	case ACTION_CYCLE_FILTER:
		v->tui->trace_state = (v->tui->trace_state + 1) % (int)ARRAY_SIZE(state_filters);
		tui_message(v->tui, "traces: %s",
		            v->tui->trace_state ? state_filters[v->tui->trace_state].name
		                                : "every step state");
		return true;
	case ACTION_MOVE_LEFT:
		move_step(v, selected_trace(v, p, it), -1);
		return true;
	case ACTION_MOVE_RIGHT:
	case ACTION_ENTER:
		move_step(v, selected_trace(v, p, it), 1);
		return true;
	case ACTION_TOGGLE_BAD_FILTER:
		v->tui->bad_only = !v->tui->bad_only;
		tui_message(v->tui, "%s",
		            v->tui->bad_only ? "showing bad cases only" : "showing all examples");
		return true;
	case ACTION_JUMP_TO_GRADIENT:
		jump_to_gradient(v);
		return true;
	case ACTION_PAGE_UP:
	case ACTION_PAGE_DOWN: {
		int drows = detail_rows(v, p), d = drows > 1 ? drows - 1 : 1;
		p->dtop += a == ACTION_PAGE_DOWN ? d : -d;
		clamp_detail(p, drows);
		return true;
	}
	default:
		break;
	}
	int sel = v->sel, top = v->top;
	if (!tlines_move(a, &sel, &top, p->n_rows, list_rows(v, p)))
		return false;
	v->sel = sel, v->top = top;
	if (p->n_rows && !p->pinned)
		v->tui->example = (long)p->rows[v->sel];
	return true;
}

static bool search_traces(struct view *v, const char *pattern, int direction)
{
	struct traces *p = v->priv;
	const struct iteration *it = rebuild(v);
	build_list(v, p, it, 0, p->n_rows);
	/* the detail first (from the row shown at the top), then the example list */
	long r = tlines_find(&p->detail, p->dtop, pattern, direction);
	if (r >= 0 && r != p->dtop) {
		p->dtop = (int)r;
		long k = entry_at_row(p, r); /* h/l go on from the step run found */
		const struct trace *t = selected_trace(v, p, it);
		if (k >= 0 && t) {
			v->tui->step = p->placed_step = t->steps[k].step;
			p->round = p->placed_round = t->steps[k].round;
		}
		return true;
	}
	r = tlines_find(&p->list, v->sel, pattern, direction);
	if (r < 0)
		return false;
	v->sel = (int)r;
	if (!p->pinned)
		v->tui->example = (long)p->rows[r];
	return true;
}

const struct view_ops view_traces_ops = {
    .name = "traces",
    .title = "Traces",
    .open = open_traces,
    .draw = draw_traces,
    .key = key_traces,
    .event = event_traces,
    .search = search_traces,
    .done = done_traces,
};

/* view_history.c: the History pane.  Every iteration with its train score, its validation score
 * before and after (the measured score of what the decisions kept, never a rejected proposal's),
 * the decisions on its changes, its tokens and cost; a sparkline of the incumbent validation score
 * over iterations; and the prompt versions of the selected step (engine_versions) with score,
 * iteration and an edited marker.  Enter on a version shows its full text (again: hides it);
 * V (restore_version) makes it the current prompt again; left/right pick the step.
 *
 * A proposal the user rejected is listed after the versions (it never ran as the prompt, so it
 * has no version number), and Enter shows its text too.
 *
 * m marks a version (again: unmarks it).  While one is marked, Enter on another version (or a
 * rejected proposal) of the same step shows the word diff from the marked one to it instead of
 * its text, and Enter on the marked version itself its diff against the current prompt.  The
 * versions' header names these keys, and what Enter does now (text, or diff from the mark).
 *
 * Under the iterations, two charts (column charts in block characters, ASCII without UTF-8):
 * the train and validation scores per iteration with the accepted changes marked under them,
 * and the cumulative spend per iteration followed by the projection of the next
 * CHART_PROJECTED iterations in shaded columns: at the mean cost of the finished iterations
 * (what they measured, the same on a reopened session), or before any finished, the engine's
 * projection (engine_projection_each: the three in one walk).
 *
 * Row references: an iteration row has ref = iteration index and step -1; a version row has
 * step = its step and ref = VERSION_REF(index in engine_versions); a rejected proposal's row
 * has step = its step and ref = REJECTED_REF(its order in the list). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

/* The iterations' changes are listed beside the other columns while CHANGES_MIN columns are
 * left for them, else on rows of their own CHANGES_UNDER columns in. */
#define CHANGES_MIN   24
#define CHANGES_UNDER 6

#define VERSION_REF(i)  (-2 - (long)(i))
#define VERSION_IDX(r)  ((size_t)(-2 - (r)))
#define REJECTED_REF(k) (-1000000000L - (long)(k))
#define CHART_PROJECTED 3 /* iterations projected in the spend chart */
#define CHART_LABEL     14
#define IS_VERSION(row) ((row)->step >= 0 && (row)->ref <= -2 && (row)->ref > REJECTED_REF(0))

struct history {
	struct tlines l;
	int n_head;    /* rows of the summary and column header that stay at the top */
	long expanded; /* ref of the version row whose text is shown, or 0 */
	long marked;   /* index in engine_versions of the marked version, or -1 */
	/* the rows of the iterations before the last, which no command changes any more (undo
	 * reaches the last one only): built once per key (how many, width, columns) */
	struct tlines older;
	uint64_t older_key;
	/* the spend chart's projected columns before any iteration finished: the engine's
	 * projection is a dry run of the iterations, far too slow for every frame (100-500 ms with
	 * 300 examples), so while the engine works it is made once per iteration and prompt
	 * versions, and once it waits, once per phase; `spent` is the spend it was made on.  It is
	 * made beside the loop (tui_projection_each): `making` is its id until it is in, and
	 * `have` says projected[] holds one (an earlier one stands while the next is made) */
	double projected[CHART_PROJECTED], spent, making_spent;
	uint64_t projected_for, making;
	int projected_phase;
	bool have;
};

static const char *const decision_word[] = {
    [DECISION_NONE] = "pending",
    [DECISION_ACCEPT] = "accepted",
    [DECISION_EDIT] = "edited",
    [DECISION_REJECT] = "rejected",
};

static void open_history(struct view *v)
{
	struct history *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	tlines_init(&p->older, v->w);
	p->marked = -1;
	v->priv = p;
}

static void done_history(struct view *v)
{
	struct history *p = v->priv;
	if (!p)
		return;
	tui_projection_cancel(v->tui, p->making);
	tlines_free(&p->l);
	tlines_free(&p->older);
	free(p);
	v->priv = NULL;
}

/* The step whose versions are listed: tui->step when it is an LLM step, else the first one. */
static int version_step(const struct view *v)
{
	const struct session *s = v->tui->s;
	int st = v->tui->step;
	if (st >= 0 && (size_t)st < s->n_steps && s->steps[st].kind == STEP_LLM)
		return st;
	for (size_t k = 0; k < s->n_steps; k++)
		if (s->steps[k].kind == STEP_LLM)
			return (int)k;
	return -1;
}

/* Whether the table gets a reasoning column: some call of the session spent reasoning tokens. */
static bool reasoning_column(const struct engine *en)
{
	struct engine_totals tot;
	engine_spent(en, &tot);
	bool any = tot.tokens_reasoning > 0;
	for (size_t i = 0; i < engine_iterations(en) && !any; i++)
		for (int ph = 0; ph < PHASE_COUNT; ph++)
			any |= engine_iteration(en, i)->cost[ph].tokens_reasoning > 0;
	return any;
}

static void build_summary(struct view *v, struct tlines *l, bool rcol)
{
	const struct engine *en = v->tui->en;
	size_t n = engine_iterations(en);
	struct engine_totals tot;
	engine_spent(en, &tot);
	struct sbuf detail = {0};
	engine_tokens_detail(&tot, &detail);
	tlines_hangf(l, THEME_HEADER, 2,
	             "%zu iteration(s); %ld calls (%ld cached, %ld memo hits), %ld tokens%s, "
	             "%s$%.4f",
	             n, tot.calls, tot.cached, tot.memo_hits, tot.tokens_in + tot.tokens_out,
	             sbuf_str(&detail), tot.estimated ? "~" : "", tot.cost_usd);
	sbuf_free(&detail);
	/* the incumbent's measured validation score before each iteration, then now: the rows'
	 * first and last numbers */
	double *vals = xcalloc(n + 1, sizeof *vals);
	size_t nv = 0;
	for (size_t i = 0; i < n; i++)
		if (engine_iteration(en, i)->n_evals)
			vals[nv++] = engine_iteration(en, i)->base_score;
	if (engine_val_score(en) >= 0 && nv)
		vals[nv++] = engine_val_score(en);
	if (nv) {
		struct sbuf b = {0};
		glyphs_sparkline(glyphs(), &b, vals, nv, MIN((int)nv, MAX(1, v->w - 40)), 0, 1);
		struct tspan sp[] = {{"validation ", 11, THEME_TEXT_DIM},
		                     {b.s, b.len, THEME_SPARKLINE},
		                     {"", 0, THEME_TEXT}};
		char *tail =
		    xasprintf("  %.3f %s %.3f", vals[0], glyphs()->arrow_right, vals[nv - 1]);
		sp[2] = (struct tspan){tail, strlen(tail), THEME_TEXT};
		tlines_add_row(l, 0, sp, 3);
		free(tail);
		sbuf_free(&b);
	}
	free(vals);
	struct sbuf b = {0};
	sbuf_addf(&b, "%4s  %-6s %-17s %-9s ", "iter", "train", "validation", "tokens");
	if (rcol) /* a column of its own, when reasoning models are used */
		sbuf_addf(&b, "%-9s ", "reasoning");
	sbuf_addf(&b, "%9s  ", "cost");
	/* where build_iteration's rows put their changes: beside, or on a row of their own */
	if (l->width - (int)b.len >= CHANGES_MIN) {
		tlines_add_rowf(l, THEME_TEXT_DIM, 0, "%schanges", sbuf_str(&b));
	} else {
		tlines_add_rowf(l, THEME_TEXT_DIM, 0, "%s", sbuf_str(&b));
		tlines_add_rowf(l, THEME_TEXT_DIM, CHANGES_UNDER, "changes");
	}
	sbuf_free(&b);
}

static void build_iteration(const struct session *s, struct tlines *l, const struct iteration *it,
                            size_t idx, bool reasoning_column)
{
	long tokens = 0, reasoning = 0, estimated = 0;
	double usd = 0;
	for (int ph = 0; ph < PHASE_COUNT; ph++) {
		tokens += it->cost[ph].tokens_in + it->cost[ph].tokens_out;
		reasoning += it->cost[ph].tokens_reasoning;
		estimated += it->cost[ph].estimated;
		usd += it->cost[ph].cost_usd;
	}
	struct sbuf ch = {0};
	for (size_t c = 0; c < it->n_changes; c++)
		sbuf_addf(&ch, "%s%s %s%s", c ? ", " : "", s->steps[it->changes[c].step].id,
		          it->changes[c].by == DECIDER_ENGINE ? "auto-" : "",
		          decision_word[it->changes[c].decision]);
	if (!it->n_changes)
		sbuf_adds(&ch, it->phase < PHASE_COUNT ? "(in progress)" : "no change proposed");
	tlines_ref(l, (long)idx, -1);
	struct sbuf b = {0};
	sbuf_addf(&b, "%4d  %-6.3f ", it->number, it->train_score);
	/* before -> what the decisions kept, as measured ("-": never measured, an edit) */
	if (it->n_evals && it->phase >= PHASE_COUNT && it->kept_score >= 0)
		sbuf_addf(&b, "%.3f %s %.3f", it->base_score, glyphs()->arrow_right,
		          it->kept_score);
	else if (it->n_evals)
		sbuf_addf(&b, "%.3f %s %s", it->base_score, glyphs()->arrow_right,
		          it->phase >= PHASE_COUNT ? "-" : "pending");
	else
		sbuf_adds(&b, it->phase > PHASE_SELECTION || it->phase == PHASE_FORWARD
		                  ? "-"
		                  : "pending");
	tlines_pad(&b, 31); /* under the header's columns (build_header) */
	size_t at = b.len;  /* ASCII from here on */
	sbuf_addf(&b, "%-9ld ", tokens);
	if (reasoning_column)
		sbuf_addf(&b, "%-9ld ", reasoning);
	sbuf_addf(&b, "%s%*.4f  ", estimated ? "~" : "", estimated ? 8 : 9, usd);
	/* the changes beside the other columns (going on under their column), or on rows of their
	 * own when that leaves too little room, as the column header puts them */
	int col = 31 + (int)(b.len - at);
	if (l->width - col >= CHANGES_MIN) {
		tlines_hangf(l, THEME_TEXT, col, "%s%s", sbuf_str(&b), sbuf_str(&ch));
	} else {
		tlines_hangf(l, THEME_TEXT, CHANGES_UNDER, "%s", sbuf_str(&b));
		tlines_add(l, THEME_TEXT, CHANGES_UNDER, sbuf_str(&ch));
	}
	sbuf_free(&b);
	sbuf_free(&ch);
}

/* The marked version when it belongs to step, else NULL (an undo may have dropped it). */
static const struct prompt_version *mark_of(const struct view *v, const struct history *p, int step)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	if (p->marked < 0 || (size_t)p->marked >= n || pv[p->marked].step != step)
		return NULL;
	return &pv[p->marked];
}

/* An expanded row: its text, or with a version marked its diff from the marked one (the marked
 * one's own row: against the prompt that runs now). */
static void add_expanded(struct view *v, struct history *p, int step, const char *text,
                         bool is_mark)
{
	const struct prompt_version *mk = mark_of(v, p, step);
	if (!mk) {
		struct tspan full = {text, strlen(text), THEME_TEXT};
		tlines_add_spans_marked(&p->l, 6, &full, 1); /* invisible characters as markers */
		return;
	}
	const char *now = v->tui->s->steps[step].prompt ? v->tui->s->steps[step].prompt : "";
	const char *to = is_mark ? now : text;
	tlines_addf(&p->l, THEME_TEXT_DIM, 6, "word diff from the marked v%d to %s:", mk->version,
	            is_mark ? "the current prompt" : "this one");
	if (strcmp(mk->prompt ? mk->prompt : "", to) == 0)
		tlines_add(&p->l, THEME_TEXT_DIM, 6, "(the same text)");
	else
		tlines_add_diff(&p->l, 6, mk->prompt, to);
}

/* One chart: h rows of columns under a label (on its first row); cell: columns' width. */
static void add_chart(struct tlines *l, const char *label, int h, const double *vals,
                      const bool *flag, size_t n, size_t w, int cell, double hi)
{
	struct sbuf *rows = xcalloc((size_t)h, sizeof *rows);
	glyphs_columns(glyphs(), rows, h, vals, flag, n, w, cell, 0, hi);
	for (int r = 0; r < h; r++) {
		struct sbuf b = {0};
		sbuf_adds(&b, r ? "" : label);
		tlines_pad(&b, CHART_LABEL);
		struct tspan sp[] = {{b.s, b.len, THEME_TEXT_DIM},
		                     {rows[r].s ? rows[r].s : "", rows[r].len, THEME_SPARKLINE}};
		tlines_add_row(l, 2, sp, 2);
		sbuf_free(&b);
		sbuf_free(&rows[r]);
	}
	free(rows);
}

/* The spend chart's projection is in (usd NULL: it failed, or was cancelled). */
static void projected_in(void *arg, const double *usd)
{
	struct history *p = arg;
	p->making = 0;
	p->have = usd != NULL;
	if (usd) {
		memcpy(p->projected, usd, sizeof p->projected);
		p->spent = p->making_spent;
	}
}

/* The scores and the spend over the iterations, as charts. */
static void build_charts(struct view *v, struct tlines *l)
{
	const struct engine *en = v->tui->en;
	size_t n = engine_iterations(en), np = n + CHART_PROJECTED;
	if (!n)
		return;
	double *train = xcalloc(np, sizeof *train), *val = xcalloc(np, sizeof *val);
	double *spend = xcalloc(np, sizeof *spend);
	bool *accepted = xcalloc(np, sizeof *accepted), *projected = xcalloc(np, sizeof *projected);
	double cum = 0, done_usd = 0;
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		const struct iteration *it = engine_iteration(en, i);
		double usd = 0;
		for (int ph = 0; ph < PHASE_COUNT; ph++)
			usd += it->cost[ph].cost_usd;
		done += it->phase >= PHASE_COUNT;
		done_usd += it->phase >= PHASE_COUNT ? usd : 0;
		train[i] = it->phase > PHASE_FORWARD ? it->train_score : NAN;
		val[i] = it->kept_score >= 0 ? it->kept_score : it->n_evals ? it->base_score : NAN;
		spend[i] = cum += usd;
		for (size_t c = 0; c < it->n_changes; c++)
			accepted[i] |= it->changes[c].decision == DECISION_ACCEPT ||
			               it->changes[c].decision == DECISION_EDIT;
	}
	double more = 0;
	struct history *p = v->priv;
	size_t nv;
	engine_versions(en, &nv);
	/* while the engine works, the last projection stands (for this iteration and versions);
	 * once it waits, the projection is made again from where the iteration stands */
	uint64_t made_for = (uint64_t)n << 32 | (uint64_t)nv;
	int phase = (int)engine_current(en)->phase;
	bool busy = engine_busy(en) || engine_running(en);
	bool fresh =
	    !done && (p->projected_for != made_for || (!busy && p->projected_phase != phase));
	if (fresh && !p->making) { /* one at a time: a newer key is seen at the next draw */
		p->projected_for = made_for;
		p->projected_phase = phase;
		p->making_spent = cum;
		p->making = tui_projection_each(v->tui, CHART_PROJECTED, projected_in, p);
	}
	bool shown = done || p->have; /* else the columns wait for the projection */
	for (size_t k = 1; k <= CHART_PROJECTED; k++) { /* iteration n - 1 + k, projected */
		if (done)
			more = done_usd / (double)done * (double)k;
		else if (p->have)
			more = MAX(0, p->spent + p->projected[k - 1] - cum);
		spend[n - 1 + k] = cum + more;
		projected[n - 1 + k] = shown;
	}
	int h = v->h >= 30 ? 3 : 2;
	size_t w = (size_t)MAX(4, v->w - 2 - CHART_LABEL);
	int cell = (int)MAX(1, MIN(3, w / np));
	const struct glyphs *g = glyphs();
	tlines_ref(l, -1, -1);
	tlines_add(l, THEME_TEXT, 0, "");
	tlines_hangf(l, THEME_HEADER, 2,
	             "Scores per iteration (0 to 1; %s under an accepted change)", g->arrow_up);
	add_chart(l, "train", h, train, NULL, n, w, cell, 1);
	add_chart(l, "validation", h, val, NULL, n, w, cell, 1);
	struct sbuf b = {0};
	tlines_pad(&b, CHART_LABEL);
	size_t cols = MIN(n, w);
	for (size_t c = 0; c < cols; c++) {
		bool any = false;
		for (size_t i = c * n / cols; i < (c + 1) * n / cols; i++)
			any |= accepted[i];
		for (int i = 0; i < cell; i++)
			sbuf_adds(&b, any && i == 0 ? g->arrow_up : " ");
	}
	tlines_add_rowf(l, THEME_SCORE_GOOD, 2, "%s", sbuf_str(&b));
	sbuf_free(&b);
	if (shown)
		tlines_hangf(l, THEME_HEADER, 2,
		             "Spend so far $%.4f over %zu iteration(s); the next %d about $%.4f "
		             "more (%s, %s)",
		             cum, n, CHART_PROJECTED, more, g->shade,
		             done ? "at the mean of the finished ones"
		                  : "as the engine projects them");
	else
		tlines_hangf(l, THEME_HEADER, 2,
		             "Spend so far $%.4f over %zu iteration(s); the next %d: projecting...",
		             cum, n, CHART_PROJECTED);
	size_t ns = shown ? np : n; /* the spend's columns */
	char top[32];
	snprintf(top, sizeof top, "$0 to $%.4f", spend[ns - 1]);
	add_chart(l, top, h, spend, projected, ns, w, cell, spend[ns - 1] > 0 ? spend[ns - 1] : 1);
	free(train);
	free(val);
	free(spend);
	free(accepted);
	free(projected);
}

static void build_versions(struct view *v, struct history *p, int step)
{
	struct tlines *l = &p->l;
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	tlines_ref(l, -1, -1);
	tlines_add(l, THEME_TEXT, 0, "");
	/* the keys of this list, m too: what Enter shows depends on it */
	const struct prompt_version *mk = mark_of(v, p, step);
	char enter[80] = "Enter: full text, m: mark one to diff";
	if (mk)
		snprintf(enter, sizeof enter,
		         "Enter: diff from the marked v%d, m: move or clear the mark", mk->version);
	tlines_hangf(l, THEME_HEADER, 2,
	             "Prompt versions of \"%s\" (%s current; h/l: other step, %s, V: restore)",
	             v->tui->s->steps[step].id, glyphs()->bullet, enter);
	size_t shown = 0, latest = n;
	for (size_t i = 0; i < n; i++)
		if (pv[i].step == step)
			latest = i;
	for (size_t i = 0; i < n; i++) {
		if (pv[i].step != step)
			continue;
		shown++;
		const char *prompt = pv[i].prompt ? pv[i].prompt : "";
		char *first = xstrndup(prompt, strcspn(prompt, "\n"));
		char score[16] = "  -  ";
		if (pv[i].score >= 0)
			snprintf(score, sizeof score, "%.3f", pv[i].score);
		char *head = xasprintf("%s v%-3d iteration %-3d score %-5s %-8s ",
		                       i == latest ? glyphs()->bullet : " ", pv[i].version,
		                       pv[i].iteration, score,
		                       (long)i == p->marked ? "marked"
		                       : pv[i].edited       ? "edited"
		                       : pv[i].iteration    ? ""
		                                            : "original");
		struct tspan sp[] = {{head, strlen(head), THEME_TEXT},
		                     {first, strlen(first), THEME_TEXT_DIM}};
		tlines_ref(l, VERSION_REF(i), step);
		tlines_add_row(l, 0, sp, 2);
		if (p->expanded == VERSION_REF(i))
			add_expanded(v, p, step, prompt, (long)i == p->marked);
		free(head);
		free(first);
	}
	if (!shown) {
		tlines_ref(l, -1, -1);
		tlines_add(
		    l, THEME_TEXT_DIM, 2,
		    "(no version recorded yet: the original prompt becomes version 1 when the "
		    "engine starts; each accepted, edited or restored prompt adds one)");
	}
}

/* The rejected proposals of a step, oldest first. */
static void build_rejected(struct view *v, struct history *p, int step)
{
	const struct engine *en = v->tui->en;
	long k = 0;
	for (size_t i = 0; i < engine_iterations(en); i++) {
		const struct iteration *it = engine_iteration(en, i);
		for (size_t c = 0; c < it->n_changes; c++) {
			const struct step_change *ch = &it->changes[c];
			if (ch->step != step || ch->decision != DECISION_REJECT)
				continue;
			const char *prompt = ch->new_prompt ? ch->new_prompt : "";
			char *first = xstrndup(prompt, strcspn(prompt, "\n"));
			char *head = xasprintf("%s %-4s iteration %-3d %-14s ",
			                       glyphs()->cross_mark, "-", it->number, "rejected");
			struct tspan sp[] = {{head, strlen(head), THEME_TEXT_DIM},
			                     {first, strlen(first), THEME_TEXT_DIM}};
			tlines_ref(&p->l, REJECTED_REF(k), step);
			tlines_add_row(&p->l, 0, sp, 2);
			if (p->expanded == REJECTED_REF(k))
				add_expanded(v, p, step, prompt, false);
			k++;
			free(head);
			free(first);
		}
	}
}

static void build(struct view *v)
{
	struct history *p = v->priv;
	const struct engine *en = v->tui->en;
	tlines_clear(&p->l);
	p->l.width = v->w;
	bool rcol = reasoning_column(en);
	build_summary(v, &p->l, rcol);
	p->n_head = (int)p->l.n; /* the summary and the column header (one cut row) stay put */
	size_t n = engine_iterations(en);
	if (!n) {
		tlines_add(&p->l, THEME_TEXT_DIM, 2, "(no iteration yet: press r to run one)");
	}
	if (n > 1) {
		const void *ptrs[] = {engine_iteration(en, n - 2), engine_iteration(en, 0)};
		uint64_t key =
		    hash_bytes(ptrs, sizeof ptrs, (uint64_t)n * 4099u + (uint64_t)v->w * 2u + rcol);
		if (key != p->older_key) {
			tlines_clear(&p->older);
			p->older.width = v->w;
			for (size_t i = 0; i + 1 < n; i++)
				build_iteration(v->tui->s, &p->older, engine_iteration(en, i), i,
				                rcol);
			p->older_key = key;
		}
		tlines_append(&p->l, &p->older);
	}
	if (n)
		build_iteration(v->tui->s, &p->l, engine_iteration(en, n - 1), n - 1, rcol);
	build_charts(v, &p->l);
	int step = version_step(v);
	if (step >= 0) {
		build_versions(v, p, step);
		build_rejected(v, p, step);
	}
}

static void draw_history(struct view *v)
{
	struct history *p = v->priv;
	build(v);
	tlines_draw_headed(v, &p->l, p->n_head, &v->top, &v->sel, -1);
}

/* The LLM step after / before the listed one. */
static void other_step(struct view *v, int dir)
{
	const struct session *s = v->tui->s;
	int cur = version_step(v), n = (int)s->n_steps;
	for (int k = cur + dir; k >= 0 && k < n; k += dir) {
		if (s->steps[k].kind == STEP_LLM) {
			v->tui->step = k;
			return;
		}
	}
}

static const struct tline *cursor_row(const struct view *v, const struct history *p)
{
	return v->sel >= 0 && (size_t)v->sel < p->l.n ? &p->l.v[v->sel] : NULL;
}

static bool restore(struct view *v, const struct tline *row)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	if (!row || !IS_VERSION(row) || VERSION_IDX(row->ref) >= n) {
		tui_message(v->tui, "select a prompt version to restore");
		return true;
	}
	const struct prompt_version *ver = &pv[VERSION_IDX(row->ref)];
	int step = ver->step, version = ver->version;
	if (engine_restore_version(v->tui->en, step, version) < 0) {
		tui_message(v->tui, "cannot restore now: wait until the phase in flight finishes");
		return true;
	}
	v->tui->dirty = true;
	tui_message(v->tui, "%s: version %d restored as the current prompt",
	            v->tui->s->steps[step].id, version);
	return true;
}

static bool mark(struct view *v, struct history *p, const struct tline *row)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	if (!row || !IS_VERSION(row) || VERSION_IDX(row->ref) >= n) {
		tui_message(v->tui, "select a prompt version to mark");
		return true;
	}
	long i = (long)VERSION_IDX(row->ref);
	if (p->marked == i) {
		p->marked = -1;
		tui_message(v->tui, "unmarked: Enter shows a version's text");
		return true;
	}
	p->marked = i;
	tui_message(v->tui,
	            "v%d marked: Enter on another version shows the diff from it, on v%d "
	            "itself its diff against the current prompt",
	            pv[i].version, pv[i].version);
	return true;
}

static bool key_history(struct view *v, enum action a)
{
	struct history *p = v->priv;
	build(v);
	const struct tline *row = cursor_row(v, p);
	switch (a) {
	case ACTION_MOVE_LEFT:
		other_step(v, -1);
		return true;
	case ACTION_MOVE_RIGHT:
		other_step(v, 1);
		return true;
	case ACTION_ENTER:
		if (!row || row->step < 0 || row->ref > -2)
			return false;
		p->expanded = p->expanded == row->ref ? 0 : row->ref;
		if (p->expanded) /* the text (or diff) opens under the row: bring both into view */
			v->top = v->sel;
		return true;
	case ACTION_RESTORE_VERSION:
		return restore(v, row);
	case ACTION_MARK:
		return mark(v, p, row);
	default:
		return tlines_move_headed(a, p->n_head, &v->sel, &v->top, p->l.n, v->h);
	}
}

static bool search_history(struct view *v, const char *pattern, int direction)
{
	struct history *p = v->priv;
	build(v);
	return tlines_seek(&p->l, &v->sel, pattern, direction); /* the draw scrolls to it */
}

const struct view_ops view_history_ops = {
    .name = "history",
    .title = "History",
    .open = open_history,
    .draw = draw_history,
    .key = key_history,
    .search = search_history,
    .done = done_history,
};

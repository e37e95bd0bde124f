/* view_candidates.c: the Candidates screen, opened over the body with show_candidates (C).  For
 * the current iteration it lists, per learnable step, the incumbent and every candidate the step
 * optimizers wrote (which optimizer, how many demonstrations, its size against the incumbent, the
 * first line of its text), marking the one the proposal picked; then every configuration that
 * selection evaluated: the choice per step (inc = the incumbent, #k = candidate k), the mean
 * validation score and its spread (standard deviation over the validation examples, when the
 * per-example scores are at hand: a reopened session keeps them for the incumbent and the
 * proposal only), incumbent and
 * proposal marked.  The selection phase's cost is shown for all the evaluations together (the
 * engine does not split it per evaluation).  o (toggle_sort) sorts the evaluations by score or
 * back into the order they ran.  Enter on a candidate opens its full text, rationale and
 * demonstrations and its word diff against the incumbent (as the Proposals pane shows one);
 * Enter, Backspace or Esc go back to the list, q or C close the screen.
 *
 * Invisible characters (U+200B and the like) show as markers in the list and in the diff.
 *
 * Row references: a candidate row has step = its step and ref = its index in a choice (0 the
 * incumbent, k candidate k); other rows have ref -1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tui/diff.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

struct candidates {
	struct tlines l;
	int n_head;    /* rows that stay at the top */
	bool by_score; /* evaluations sorted by score (else in the order they ran) */
	int open_step; /* the candidate shown in full: its step, or -1 for the list */
	int open_k;    /* and its index in a choice */
	int list_sel;  /* the list's cursor, kept while a candidate is open */
	int iteration; /* the iteration the list was built for */
};

static void open_candidates(struct view *v)
{
	struct candidates *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	p->by_score = true;
	p->open_step = -1;
	v->priv = p;
}

static void done_candidates(struct view *v)
{
	struct candidates *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	free(p);
	v->priv = NULL;
}

static bool learnable(const struct step *st)
{
	return st->kind == STEP_LLM && !st->frozen;
}

/* The step's prompt when the iteration started: the old text of its change, else the latest
 * version made before the iteration, else the prompt the session runs now. */
static const char *incumbent_text(const struct view *v, const struct iteration *it, int step)
{
	for (size_t c = 0; c < it->n_changes; c++)
		if (it->changes[c].step == step && it->changes[c].old_prompt)
			return it->changes[c].old_prompt;
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	const char *text = NULL;
	for (size_t i = 0; i < n; i++)
		if (pv[i].step == step && pv[i].iteration < it->number)
			text = pv[i].prompt;
	const char *now = v->tui->s->steps[step].prompt;
	return text ? text : now ? now : "";
}

static const struct candidate *cand_of(const struct iteration *it, int step, int k)
{
	if (k < 1 || !it->cands || !it->n_cands || (size_t)k > it->n_cands[step])
		return NULL;
	return &it->cands[step][k - 1];
}

/* The candidate of `step` in the proposal (0 the incumbent), or -1 when there is none. */
static int proposed(const struct iteration *it, int step)
{
	if (it->best_eval < 0 || (size_t)it->best_eval >= it->n_evals)
		return -1;
	return it->evals[it->best_eval].choice[step];
}

static bool all_incumbent(const struct evaluation *ev, size_t n_steps)
{
	for (size_t k = 0; k < n_steps; k++)
		if (ev->choice[k])
			return false;
	return true;
}

/* Standard deviation of an evaluation's per-example scores, or -1 when they are not kept. */
static double spread(const struct iteration *it, const struct evaluation *ev)
{
	if (!ev->scores || it->n_val < 2)
		return -1;
	double mean = 0, ss = 0;
	for (size_t i = 0; i < it->n_val; i++)
		mean += ev->scores[i];
	mean /= (double)it->n_val;
	for (size_t i = 0; i < it->n_val; i++)
		ss += (ev->scores[i] - mean) * (ev->scores[i] - mean);
	return sqrt(ss / (double)(it->n_val - 1));
}

static void diff_sizes(const char *old, const char *new, size_t *added, size_t *removed)
{
	struct diff d;
	diff_texts(&d, old ? old : "", new ? new : "");
	diff_stats(&d, added, removed);
	diff_free(&d);
}

static void build_step(struct view *v, const struct iteration *it, int step)
{
	struct tlines *l = &((struct candidates *)v->priv)->l;
	const struct step *st = &v->tui->s->steps[step];
	size_t n = it->n_cands ? it->n_cands[step] : 0;
	int pick = proposed(it, step);
	tlines_ref(l, -1, step);
	tlines_addf(l, THEME_TITLE, 0, "%s %s: the incumbent and %zu candidate%s (asked %d)",
	            glyphs()->hline_focus, st->id, n, n == 1 ? "" : "s",
	            it->budget ? it->budget[step] : 0);
	const char *inc = incumbent_text(v, it, step);
	for (int k = 0; k <= (int)n; k++) {
		const struct candidate *cd = cand_of(it, step, k);
		const char *text = cd ? cd->prompt : inc;
		size_t added = 0, removed = 0;
		if (cd)
			diff_sizes(inc, text, &added, &removed);
		struct sbuf b = {0};
		char id[16] = "inc", bytes[48] = ""; /* bytes: against the incumbent's text */
		if (k) {
			snprintf(id, sizeof id, "#%d", k);
			snprintf(bytes, sizeof bytes, "+%zu -%zu bytes", added, removed);
		}
		sbuf_addf(&b, "%-4s %-10s demos %-2zu %-16s", id,
		          k ? (cd->optimizer ? cd->optimizer : "?") : "incumbent",
		          k ? cd->n_demos : st->n_demos, bytes);
		sbuf_addf(&b, " %-9s ", k == pick ? "proposed" : "");
		enum theme_element el = k == pick ? THEME_SCORE_GOOD : THEME_TEXT;
		struct tspan sp[] = {{b.s, b.len, el},
		                     {text ? text : "", text ? strlen(text) : 0, el}};
		tlines_ref(l, k, step);
		tlines_add_row_marked(l, 2, sp, 2); /* its first line, no invisible change hidden */
		sbuf_free(&b);
	}
	tlines_ref(l, -1, -1);
}

/* Sorts n indices into ev best score first, equal ones in the order they came (insertion). */
static void sort_by_score(size_t *o, size_t n, const struct evaluation *ev)
{
	for (size_t i = 1; i < n; i++) {
		size_t x = o[i], j = i;
		for (; j > 0 && ev[o[j - 1]].score < ev[x].score; j--)
			o[j] = o[j - 1];
		o[j] = x;
	}
}

/* A configuration's row cells: each learnable step's choice under its id. */
static void add_choice_cells(struct sbuf *b, const struct session *s, const int *choice)
{
	for (size_t k = 0; k < s->n_steps; k++) {
		if (!learnable(&s->steps[k]))
			continue;
		char cell[16];
		if (choice[k])
			snprintf(cell, sizeof cell, "#%d", choice[k]);
		else
			snprintf(cell, sizeof cell, "inc");
		sbuf_addf(b, " %*s", (int)MAX(strlen(s->steps[k].id), 4), cell);
	}
}

/* The configurations screening left below the whole sample, each with its mean on the
 * examples it ran: best first, or in the order they were screened. */
static void build_screened_out(struct tlines *l, const struct session *s,
                               const struct iteration *it, bool by_score)
{
	size_t n = 0, *o = xcalloc(it->n_screened + 1, sizeof *o);
	for (size_t e = 0; it->screen_n && e < it->n_screened; e++)
		if (it->screen_n[e] < it->n_val)
			o[n++] = e;
	if (by_score)
		sort_by_score(o, n, it->screened);
	if (n)
		tlines_addf(l, THEME_TEXT_DIM, 2,
		            "screened out (%zu): the mean on the examples each ran, not comparable "
		            "with the scores above",
		            n);
	struct sbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		const struct evaluation *ev = &it->screened[o[i]];
		sbuf_reset(&b);
		sbuf_adds(&b, "     ");
		add_choice_cells(&b, s, ev->choice);
		sbuf_addf(&b, "  %.3f  on %zu", ev->score, it->screen_n[o[i]]);
		tlines_add_rowf(l, THEME_TEXT_DIM, 0, "%s", sbuf_str(&b));
	}
	sbuf_free(&b);
	free(o);
}

/* The evaluations in the order shown. */
static size_t *eval_order(const struct iteration *it, bool by_score)
{
	size_t *o = xcalloc(it->n_evals + 1, sizeof *o);
	for (size_t e = 0; e < it->n_evals; e++)
		o[e] = e;
	if (by_score)
		sort_by_score(o, it->n_evals, it->evals);
	return o;
}

static void build_evals(struct view *v, const struct iteration *it, bool by_score)
{
	struct tlines *l = &((struct candidates *)v->priv)->l;
	const struct session *s = v->tui->s;
	const struct phase_cost *pc = &it->cost[PHASE_SELECTION];
	tlines_add(l, THEME_TEXT, 0, "");
	tlines_addf(l, THEME_HEADER, 0,
	            "Selection: %zu configuration%s evaluated on %zu validation "
	            "examples, %s; cost $%.4f in all (%ld calls)",
	            it->n_evals, it->n_evals == 1 ? "" : "s", it->n_val,
	            by_score ? "best first" : "in the order they ran", pc->cost_usd, pc->calls);
	if (it->n_screen) { /* "screened in rungs: 17 on 30 examples, 5 on 60, 2 on 300; ..." */
		struct sbuf r = {0};
		for (size_t n = it->n_screen;; n = iteration_next_rung(it, n)) {
			sbuf_addf(&r, "%s%zu on %zu", n == it->n_screen ? "" : ", ",
			          iteration_screened_on(it, n), n);
			if (n >= it->n_val)
				break;
		}
		tlines_addf(l, THEME_TEXT_DIM, 2,
		            "screened in rungs: %s examples; about %ld requests saved",
		            sbuf_str(&r), it->screen_saved);
		sbuf_free(&r);
	}
	if (it->search_end) /* the steady-proposal rule (adopt-tui-session(5)) */
		tlines_addf(
		    l, THEME_TEXT_DIM, 2,
		    "the search stopped before its budget of %d: a configuration scored 1 on "
		    "the whole sample",
		    s->opt.eval_budget);
	if (!it->n_evals) {
		tlines_add(l, THEME_TEXT_DIM, 2, "(none yet: the selection phase evaluates them)");
		return;
	}
	struct sbuf b = {0};
	sbuf_adds(&b, "  run");
	for (size_t k = 0; k < s->n_steps; k++)
		if (learnable(&s->steps[k]))
			sbuf_addf(&b, " %*s", (int)MAX(strlen(s->steps[k].id), 4), s->steps[k].id);
	sbuf_adds(&b, "  score  spread");
	tlines_add_rowf(l, THEME_TEXT_DIM, 0, "%s", sbuf_str(&b));
	size_t *o = eval_order(it, by_score);
	for (size_t i = 0; i < it->n_evals; i++) {
		const struct evaluation *ev = &it->evals[o[i]];
		sbuf_reset(&b);
		sbuf_addf(&b, "  %3zu", o[i] + 1);
		add_choice_cells(&b, s, ev->choice);
		double sd = spread(it, ev);
		sbuf_addf(&b, "  %.3f", ev->score);
		if (sd >= 0)
			sbuf_addf(&b, "  ±%.3f", sd);
		else
			sbuf_adds(&b, "  ±?    ");
		bool best = (int)o[i] == it->best_eval, base = all_incumbent(ev, s->n_steps);
		if (best)
			sbuf_adds(&b, "  proposal");
		if (base)
			sbuf_adds(&b, "  incumbent");
		tlines_add_rowf(l,
		                best   ? THEME_SCORE_GOOD
		                : base ? THEME_TEXT_DIM
		                       : THEME_TEXT,
		                0, "%s", sbuf_str(&b));
	}
	free(o);
	sbuf_free(&b);
	build_screened_out(l, s, it, by_score);
	bool missing = false;
	for (size_t e = 0; e < it->n_evals; e++)
		missing |= !it->evals[e].scores;
	if (missing)
		tlines_add(l, THEME_TEXT_DIM, 2,
		           "±?: the per-example scores were not kept (a reopened session keeps "
		           "them for the incumbent and the proposal only)");
}

static void build_list(struct view *v, const struct iteration *it)
{
	struct candidates *p = v->priv;
	const struct session *s = v->tui->s;
	size_t total = 0;
	for (size_t k = 0; it->n_cands && k < s->n_steps; k++)
		total += it->n_cands[k];
	tlines_addf(&p->l, THEME_HEADER, 0,
	            "Iteration %d: %zu candidate%s, %zu evaluation%s   Enter opens  o sort  q back",
	            it->number, total, total == 1 ? "" : "s", it->n_evals,
	            it->n_evals == 1 ? "" : "s");
	p->n_head = 1;
	if (!it->cands || it->phase <= PHASE_CANDIDATES) {
		tlines_addf(
		    &p->l, THEME_TEXT, 0,
		    "No candidates yet: iteration %d waits before its %s phase.  Press s to "
		    "run one phase or r to run to the proposal.",
		    it->number, phase_name(it->phase));
		return;
	}
	for (size_t k = 0; k < s->n_steps; k++)
		if (learnable(&s->steps[k]))
			build_step(v, it, (int)k);
	build_evals(v, it, p->by_score);
}

static void build_open(struct view *v, const struct iteration *it)
{
	struct candidates *p = v->priv;
	struct tlines *l = &p->l;
	const struct step *st = &v->tui->s->steps[p->open_step];
	const struct candidate *cd = cand_of(it, p->open_step, p->open_k);
	const char *inc = incumbent_text(v, it, p->open_step);
	if (cd)
		tlines_addf(l, THEME_HEADER, 0, "%s %s candidate #%d of %zu (%s)%s   Enter back",
		            glyphs()->hline_focus, st->id, p->open_k, it->n_cands[p->open_step],
		            cd->optimizer ? cd->optimizer : "?",
		            p->open_k == proposed(it, p->open_step) ? "  proposed" : "");
	else
		tlines_addf(l, THEME_HEADER, 0, "%s %s: the incumbent   Enter back",
		            glyphs()->hline_focus, st->id);
	p->n_head = 1;
	if (cd && cd->note) {
		tlines_add(l, THEME_TEXT_DIM, 0, "rationale:");
		tlines_add(l, THEME_TEXT, 2, cd->note);
	}
	tlines_add(l, THEME_TEXT_DIM, 0, "text:");
	tlines_add(l, THEME_TEXT, 2, cd ? cd->prompt : inc);
	const struct demo *dm = cd ? cd->demos : st->demos;
	size_t nd = cd ? cd->n_demos : st->n_demos;
	if (nd && !dm)
		tlines_addf(l, THEME_TEXT_DIM, 0, "%zu demonstration(s), not kept in the session",
		            nd);
	for (size_t i = 0; dm && i < nd; i++) {
		tlines_addf(l, THEME_TEXT_DIM, 0, "demonstration %zu:", i + 1);
		tlines_addf(l, THEME_TEXT, 2, "input: %s", dm[i].input ? dm[i].input : "");
		tlines_addf(l, THEME_TEXT, 2, "output: %s", dm[i].output ? dm[i].output : "");
	}
	if (cd) {
		tlines_add(l, THEME_TEXT_DIM, 0, "against the incumbent:");
		tlines_add_diff(l, 2, inc, cd->prompt);
	}
}

static void build(struct view *v)
{
	struct candidates *p = v->priv;
	const struct iteration *it = engine_current(v->tui->en);
	tlines_clear(&p->l);
	p->l.width = v->w;
	p->n_head = 0;
	int number = it ? it->number : 0;
	if (number != p->iteration) { /* a new iteration: back to its list */
		p->iteration = number;
		p->open_step = -1;
	}
	if (!it) {
		tlines_add(&p->l, THEME_HEADER, 0, "No candidates yet.");
		tlines_add(
		    &p->l, THEME_TEXT, 0,
		    "No iteration has run.  Its candidates phase writes new prompts per step; "
		    "selection then evaluates combinations of them on validation.  Press r to "
		    "run to the proposal.");
		return;
	}
	if (p->open_step >= 0)
		build_open(v, it);
	else
		build_list(v, it);
}

static void draw_candidates(struct view *v)
{
	struct candidates *p = v->priv;
	build(v);
	tlines_draw_headed(v, &p->l, p->n_head, &v->top, &v->sel, -1);
}

static bool enter(struct view *v)
{
	struct candidates *p = v->priv;
	if (p->open_step >= 0) {
		p->open_step = -1;
		v->sel = p->list_sel;
		v->top = p->n_head;
		return true;
	}
	if (v->sel < 0 || (size_t)v->sel >= p->l.n)
		return false;
	const struct tline *r = &p->l.v[v->sel];
	if (r->step < 0 || r->ref < 0)
		return false;
	p->list_sel = v->sel;
	p->open_step = r->step;
	p->open_k = (int)r->ref;
	v->tui->step = r->step;
	v->sel = v->top = 1;
	return true;
}

static bool key_candidates(struct view *v, enum action a)
{
	struct candidates *p = v->priv;
	build(v);
	switch (a) {
	case ACTION_ENTER:
		return enter(v);
	case ACTION_BACK:
	case ACTION_CANCEL:
		if (p->open_step >= 0)
			return enter(v);
		tui_close_overlay(v->tui);
		return true;
	case ACTION_QUIT:
	case ACTION_SHOW_CANDIDATES:
		tui_close_overlay(v->tui);
		return true;
	case ACTION_TOGGLE_SORT:
		p->by_score = !p->by_score;
		tui_message(v->tui, "evaluations %s",
		            p->by_score ? "best first" : "in the order run");
		return true;
	default:
		break;
	}
	bool used = tlines_move_headed(a, p->n_head, &v->sel, &v->top, p->l.n, v->h);
	if (used && v->sel >= 0 && (size_t)v->sel < p->l.n && p->l.v[v->sel].step >= 0)
		v->tui->step = p->l.v[v->sel].step;
	return used;
}

static bool search_candidates(struct view *v, const char *pattern, int direction)
{
	struct candidates *p = v->priv;
	build(v);
	return tlines_seek(&p->l, &v->sel, pattern, direction);
}

const struct view_ops view_candidates_ops = {
    .name = "candidates",
    .title = "Candidates (Enter opens one, q or Esc closes)",
    .open = open_candidates,
    .draw = draw_candidates,
    .key = key_candidates,
    .search = search_candidates,
    .done = done_candidates,
};

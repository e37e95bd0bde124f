/* view_shapley.c: the Importance pane.  One row per optimizable step: its Shapley value φ as a
 * horizontal bar (eighth blocks in UTF-8, ASCII otherwise; a centred axis when some φ is
 * negative), the uncertainty φ ± sd as a whisker, the numbers, the estimation method, and the
 * candidate budget the step had this iteration against the one it gets next.  Before the Shapley
 * phase it says what will appear and when.  Up/down select a step (tui->step). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/sanitize.h"
#include "tui/view.h"

#define NAME_MAX_W 16

struct shapley {
	struct tlines l;
};

static bool optimizable(const struct step *st)
{
	return st->kind == STEP_LLM && !st->frozen;
}

static void open_shapley(struct view *v)
{
	struct shapley *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	v->priv = p;
}

static void done_shapley(struct view *v)
{
	struct shapley *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	free(p);
	v->priv = NULL;
}

static const struct {
	enum bar_cell_kind kind;
	enum theme_element el;
} cell_colour[] = {
    {BAR_EMPTY, THEME_TEXT},      {BAR_POS, THEME_SHAPLEY_POS},
    {BAR_NEG, THEME_SHAPLEY_NEG}, {BAR_WHISKER, THEME_SHAPLEY_UNCERTAIN},
    {BAR_AXIS, THEME_TEXT_DIM},
};

static enum theme_element cell_element(enum bar_cell_kind k)
{
	for (size_t i = 0; i < sizeof cell_colour / sizeof cell_colour[0]; i++)
		if (cell_colour[i].kind == k)
			return cell_colour[i].el;
	return THEME_TEXT;
}

static const char *method_help(const char *m)
{
	if (!m)
		return "";
	if (strcmp(m, "exact") == 0)
		return "exact: every coalition evaluated";
	if (strcmp(m, "kernel") == 0)
		return "Kernel SHAP from the configurations the search evaluated";
	if (strcmp(m, "permutation") == 0)
		return "permutation sampling";
	return "no step had a candidate to credit";
}

/* Width of the step-name column. */
static int name_width(const struct session *s)
{
	int w = 4;
	for (size_t k = 0; k < s->n_steps; k++)
		if (optimizable(&s->steps[k]))
			w = MAX(w, MIN(NAME_MAX_W, (int)strlen(s->steps[k].id)));
	return w;
}

static void build_pending(struct tlines *l, const struct session *s, const struct iteration *it)
{
	tlines_add(l, THEME_HEADER, 0, "No importance yet.");
	tlines_add(
	    l, THEME_TEXT, 0,
	    "After the selection phase has evaluated candidate combinations on validation, "
	    "the Shapley phase credits each step: weak = its incumbent prompt, strong = its "
	    "best candidate.  One bar per step will show its φ (share of the validation gain) "
	    "with an uncertainty whisker (bootstrap over validation examples), the method "
	    "used (exact, kernel or permutation), and the candidate budget the allocation "
	    "phase gives it next.");
	if (!it || !it->budget)
		return;
	tlines_add(l, THEME_TEXT, 0, "");
	tlines_add(l, THEME_TEXT_DIM, 0, "Candidate budget this iteration:");
	for (size_t k = 0; k < s->n_steps; k++) {
		if (!optimizable(&s->steps[k]))
			continue;
		tlines_ref(l, 0, (int)k);
		tlines_addf(l, THEME_BUDGET, 2, "%-*.*s %d", name_width(s), NAME_MAX_W,
		            s->steps[k].id, it->budget[k]);
	}
}

/* Whether the Shapley phase credited step k: it had candidates and a method ran ("none" when
 * there were no players or too many).  A step not estimated shows "-", never a φ of 0. */
static bool estimated(const struct iteration *it, size_t k)
{
	return it->shapley_method && strcmp(it->shapley_method, "none") != 0 && it->n_cands &&
	       it->n_cands[k] > 0;
}

static void add_bar_row(struct tlines *l, const struct iteration *it, const struct step *st, int k,
                        int nw, int bw, double scale, bool is_signed)
{
	const struct glyphs *g = glyphs();
	double phi = it->phi[k], sd = it->phi_sd ? it->phi_sd[k] : 0;
	bool known = estimated(it, (size_t)k);
	struct bar_cell *cells = xcalloc((size_t)bw + 1, sizeof *cells);
	if (known)
		glyphs_bar(g, cells, bw, phi / scale, sd > 0 ? (phi - sd) / scale : NAN,
		           sd > 0 ? (phi + sd) / scale : NAN, is_signed);
	else
		glyphs_bar(g, cells, bw, 0, NAN, NAN, is_signed); /* the axis alone */
	struct tspan *sp = xcalloc((size_t)bw + 3, sizeof *sp);
	char *head = xasprintf("%-*.*s ", nw, NAME_MAX_W, st->id);
	sp[0] = (struct tspan){head, strlen(head), THEME_TEXT};
	for (int c = 0; c < bw; c++)
		sp[c + 1] = (struct tspan){cells[c].glyph, strlen(cells[c].glyph),
		                           cell_element(cells[c].kind)};
	char *nums = known ? xasprintf(" %+.3f ±%.3f", phi, sd) : xasprintf(" %6s %6s", "-", "-");
	sp[bw + 1] = (struct tspan){nums, strlen(nums), THEME_TEXT};
	/* a budget not allocated yet is pending, never 0 */
	char now[16] = "-", next[16] = "pending";
	if (it->budget)
		snprintf(now, sizeof now, "%d", it->budget[k]);
	if (it->next_budget)
		snprintf(next, sizeof next, "%d", it->next_budget[k]);
	char *budget = xasprintf("  %4s %s %s", now, g->arrow_right, next);
	sp[bw + 2] = (struct tspan){budget, strlen(budget), THEME_BUDGET};
	tlines_ref(l, 1, k);
	tlines_add_row(l, 0, sp, (size_t)bw + 3);
	free(head);
	free(nums);
	free(budget);
	free(sp);
	free(cells);
}

static void add_column_heads(struct tlines *l, int nw, int bw, bool is_signed)
{
	struct sbuf b = {0};
	sbuf_adds(&b, "step");
	tlines_pad(&b, nw + 1);
	/* the longest explanation that fits over the bars */
	static const char *const signed_heads[] = {
	    "φ (axis in the middle: left hurts, right helps)", "φ (left hurts, right helps)", "φ"};
	const char *head = "φ";
	for (size_t i = 0; is_signed && i < ARRAY_SIZE(signed_heads); i++)
		if (san_width_utf8(signed_heads[i]) < bw) {
			head = signed_heads[i];
			break;
		}
	sbuf_adds(&b, head);
	tlines_pad(&b, nw + 1 + bw);
	sbuf_addf(&b, "  φ      ± sd  budget %s next", glyphs()->arrow_right);
	struct tspan sp = {b.s, b.len, THEME_TEXT_DIM};
	tlines_add_row(l, 0, &sp, 1);
	sbuf_free(&b);
}

static void build(struct view *v)
{
	struct shapley *p = v->priv;
	const struct session *s = v->tui->s;
	const struct iteration *it = engine_current(v->tui->en);
	struct tlines *l = &p->l;
	tlines_clear(l);
	l->width = v->w;
	if (!it || !it->phi) {
		build_pending(l, s, it);
		return;
	}
	/* the best combination's score exists once the proposal phase has picked it */
	char best[16] = "pending";
	if (it->phase > PHASE_PROPOSAL)
		snprintf(best, sizeof best, "%.3f", it->best_score);
	tlines_hangf(l, THEME_HEADER, 2, "Iteration %d: method %s (%s); validation %.3f %s %s",
	             it->number, it->shapley_method ? it->shapley_method : "none",
	             method_help(it->shapley_method), it->base_score, glyphs()->arrow_right, best);
	if (it->shapley_extra)
		tlines_addf(l, THEME_TEXT_DIM, 0,
		            "%ld validation evaluation(s) beyond selection's were bought for it",
		            it->shapley_extra);
	if (it->shapley_note)
		tlines_addf(l, THEME_TEXT_DIM, 0, "%s", it->shapley_note);
	double scale = 0;
	bool is_signed = false;
	for (size_t k = 0; k < s->n_steps; k++) {
		if (!optimizable(&s->steps[k]) || !estimated(it, k))
			continue;
		double sd = it->phi_sd ? it->phi_sd[k] : 0;
		scale = MAX(scale, fabs(it->phi[k]) + sd);
		is_signed |= it->phi[k] < 0;
	}
	if (!(scale > 0))
		scale = 1;
	int nw = name_width(s);
	/* name, bar, " +0.000 ±0.000", "     2 → pending" */
	int bw = MAX(8, v->w - nw - 1 - 14 - 16);
	add_column_heads(l, nw, bw, is_signed);
	for (size_t k = 0; k < s->n_steps; k++)
		if (optimizable(&s->steps[k]))
			add_bar_row(l, it, &s->steps[k], (int)k, nw, bw, scale, is_signed);
	tlines_ref(l, -1, -1);
	tlines_add(l, THEME_TEXT, 0, "");
	bool uniform = s->opt.ablate[ABLATE_ALLOCATION] == ALLOC_UNIFORM;
	tlines_addf(
	    l, THEME_TEXT_DIM, 0,
	    "Budget: each step keeps a floor of %d candidate(s); the rest of the total %d is "
	    "split %s, largest remainder first.  Bars are scaled to the largest |φ| + sd "
	    "(%.3f).",
	    s->opt.budget_floor, s->opt.budget_total,
	    uniform ? "equally (ablation: allocation uniform, φ not used)"
	            : "in proportion to max(φ, 0)",
	    scale);
}

/* Row of the selected step's bar, or -1. */
static long selected_row(const struct view *v, const struct shapley *p)
{
	for (size_t i = 0; i < p->l.n; i++)
		if (p->l.v[i].ref >= 0 && p->l.v[i].step == v->tui->step)
			return (long)i;
	return -1;
}

static void draw_shapley(struct view *v)
{
	struct shapley *p = v->priv;
	build(v);
	long r = selected_row(v, p);
	int sel = r >= 0 ? (int)r : 0;
	tlines_clamp(&sel, &v->top, p->l.n, v->h);
	tlines_draw(v, &p->l, 0, v->h, v->top, r >= 0 ? (int)r : -1);
}

/* Step rows in order; moves the selection by `delta` rows (clamped). */
static bool move_step(struct view *v, const struct shapley *p, int delta, bool absolute)
{
	int *rows = xcalloc(p->l.n + 1, sizeof *rows), n = 0, cur = -1;
	for (size_t i = 0; i < p->l.n; i++) {
		if (p->l.v[i].ref >= 0 && p->l.v[i].step >= 0) {
			if (p->l.v[i].step == v->tui->step)
				cur = n;
			rows[n++] = p->l.v[i].step;
		}
	}
	if (n) {
		int to = absolute ? (delta < 0 ? 0 : n - 1) : (cur < 0 ? 0 : cur + delta);
		v->tui->step = rows[MAX(0, MIN(n - 1, to))];
	}
	free(rows);
	return true;
}

static bool key_shapley(struct view *v, enum action a)
{
	struct shapley *p = v->priv;
	build(v);
	switch (a) {
	case ACTION_MOVE_UP:
		return move_step(v, p, -1, false);
	case ACTION_MOVE_DOWN:
		return move_step(v, p, 1, false);
	case ACTION_HOME:
	case ACTION_PAGE_UP:
		return move_step(v, p, -1, true);
	case ACTION_END:
	case ACTION_PAGE_DOWN:
		return move_step(v, p, 1, true);
	default:
		return false;
	}
}

static bool search_shapley(struct view *v, const char *pattern, int direction)
{
	struct shapley *p = v->priv;
	build(v);
	long r = tlines_find(&p->l, selected_row(v, p), pattern, direction);
	if (r < 0)
		return false;
	if (p->l.v[r].step >= 0)
		v->tui->step = p->l.v[r].step;
	else
		v->top = (int)r;
	return true;
}

const struct view_ops view_shapley_ops = {
    .name = "shapley",
    .title = "Importance",
    .open = open_shapley,
    .draw = draw_shapley,
    .key = key_shapley,
    .search = search_shapley,
    .done = done_shapley,
};

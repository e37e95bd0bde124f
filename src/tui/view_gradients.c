/* view_gradients.c: the Gradients pane for the current iteration.  A header section with the E1
 * structure summary and each step's E2 dependency, then one block per analysed bad case: its
 * textual loss (E3) and global gradient (E4), and beneath them, per learnable step, the local
 * gradient (E5) and the pseudo-label (E6).  The cursor is a row; the row tells which case (trace)
 * and step it belongs to, and moving it sets tui->example and tui->step.  Enter on a case opens
 * its trace. */
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

struct gradients {
	struct tlines l;
	long placed_example; /* the example the cursor was last moved to from outside */
};

static bool learnable(const struct step *st)
{
	return st->kind == STEP_LLM && !st->frozen;
}

static void open_gradients(struct view *v)
{
	struct gradients *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	p->placed_example = -2;
	v->priv = p;
}

static void done_gradients(struct view *v)
{
	struct gradients *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	free(p);
	v->priv = NULL;
}

/* A labelled text, or what is still to come when it is not there yet. */
static void add_text(struct tlines *l, int indent, const char *label, const char *text,
                     const char *pending)
{
	tlines_add(l, THEME_TEXT_DIM, indent, label);
	if (text)
		tlines_add(l, THEME_TEXT, indent + 2, text);
	else
		tlines_add(l, THEME_TEXT_DIM, indent + 2, pending);
}

static void build_header(struct tlines *l, const struct session *s, const struct iteration *it)
{
	tlines_ref(l, -1, -1);
	tlines_hangf(l, THEME_HEADER, 2,
	             "Iteration %d: %zu bad cases analysed (of %zu in the batch)", it->number,
	             it->n_cases, it->n_traces);
	struct sbuf b = {0};
	for (size_t k = 0; k < s->n_steps; k++) {
		int blamed, cleared;
		engine_blame(it, (int)k, &blamed, &cleared);
		if (blamed + cleared)
			sbuf_addf(&b, "%s%s blamed in %d, not at fault in %d", b.len ? "; " : "",
			          s->steps[k].id, blamed, cleared);
	}
	if (b.len)
		tlines_hangf(l, THEME_TEXT, 2, "Blame (E5): %s", sbuf_str(&b));
	sbuf_free(&b);
	if (it->note)
		tlines_add(l, THEME_WARNING, 0, it->note);
	add_text(l, 0, "Structure (E1): the task and each step's role", it->structure,
	         "(pending: the analysis phase asks an LLM to describe the pipeline)");
	tlines_add(l, THEME_TEXT_DIM, 0,
	           "Dependency (E2): each step's duty and effect on the output");
	for (size_t k = 0; k < s->n_steps; k++) {
		if (!learnable(&s->steps[k]))
			continue;
		tlines_ref(l, -1, (int)k);
		tlines_addf(l, THEME_TITLE, 2, "%s", s->steps[k].id);
		const char *dep = it->dependency ? it->dependency[k] : NULL;
		const char *none = s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL
		                       ? "(none: the ablation gradient \"global\" skips E2)"
		                       : "(pending)";
		tlines_add(l, dep ? THEME_TEXT : THEME_TEXT_DIM, 4, dep ? dep : none);
	}
	tlines_ref(l, -1, -1);
	tlines_add(l, THEME_TEXT, 0, "");
}

/* Why a step's E5 or E6 is not there: the step did not run in the case's trace (no gradient is
 * asked for it), the phase is still to come, or it went by without one (a request that failed, an
 * E6 with no E5 to revise). */
static const char *missing(const struct iteration *it, const struct trace *t, size_t step,
                           enum phase p, const char *pending)
{
	if (t && !trace_find(t, (int)step))
		return "(not run this iteration: the step did not run in this case)";
	return it->phase <= p ? pending : "(not run this iteration)";
}

static void build_case(struct tlines *l, const struct session *s, const struct iteration *it,
                       size_t c)
{
	const struct adopt_case *ac = &it->cases[c];
	const struct trace *t = ac->trace < it->n_traces ? &it->traces[ac->trace] : NULL;
	const struct split *sp = t ? &s->data.splits[t->split] : NULL;
	const char *id = t && t->example < sp->n ? sp->ex[t->example].id : "?";
	tlines_ref(l, (long)ac->trace, -1);
	tlines_hangf(l, THEME_SCORE_BAD, 2, "%s Case %zu: %s  score %.2f  prediction: %s",
	             glyphs()->cross_mark, c + 1, id, t ? t->score : 0.0,
	             !t || !t->prediction ? "(none)"
	             : *t->prediction     ? t->prediction
	                                  : "(empty output)");
	add_text(l, 2, "loss (E3):", ac->loss, "(pending: loss+gradient phase)");
	add_text(l, 2, "global gradient (E4):", ac->gradient, "(pending: loss+gradient phase)");
	for (size_t k = 0; k < s->n_steps; k++) {
		if (!learnable(&s->steps[k]))
			continue;
		tlines_ref(l, (long)ac->trace, (int)k);
		tlines_addf(l, THEME_TITLE, 2, "%s %s", glyphs()->arrow_right, s->steps[k].id);
		const char *local = ac->local ? ac->local[k] : NULL;
		add_text(l, 4,
		         s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL
		             ? "local gradient (the global one: ablation, no E5):"
		             : "local gradient (E5):",
		         local, missing(it, t, k, PHASE_LOCAL, "(pending: local gradients phase)"));
		add_text(l, 4, "pseudo-label (E6):", ac->pseudo ? ac->pseudo[k] : NULL,
		         local
		             ? missing(it, t, k, PHASE_PSEUDO, "(pending: pseudo-labels phase)")
		             : missing(it, t, k, PHASE_LOCAL, "(pending: local gradients phase)"));
	}
	tlines_ref(l, (long)ac->trace, -1);
	tlines_add(l, THEME_TEXT, 0, "");
}

static void build(struct view *v)
{
	struct gradients *p = v->priv;
	const struct session *s = v->tui->s;
	const struct iteration *it = engine_current(v->tui->en);
	tlines_clear(&p->l);
	p->l.width = v->w;
	if (!it || it->phase <= PHASE_FORWARD) {
		tlines_add(&p->l, THEME_HEADER, 0, "No gradients yet.");
		tlines_add(
		    &p->l, THEME_TEXT, 0,
		    "After the forward pass, the analysis phase describes the pipeline (E1) and "
		    "each step's dependency (E2); then for every bad case an LLM states the "
		    "textual loss (E3) and the global gradient (E4), and splits it into a local "
		    "gradient (E5) and a pseudo-label (E6) per step.  Press s to run the next "
		    "phase or r to run to a proposal.");
		return;
	}
	build_header(&p->l, s, it);
	for (size_t c = 0; c < it->n_cases; c++)
		build_case(&p->l, s, it, c);
}

/* Copies the cursor row's case and step into the shared selection. */
static void publish(struct view *v)
{
	struct gradients *p = v->priv;
	if (v->sel < 0 || (size_t)v->sel >= p->l.n)
		return;
	const struct tline *r = &p->l.v[v->sel];
	if (r->ref >= 0) {
		v->tui->example = r->ref;
		p->placed_example = r->ref;
	}
	if (r->step >= 0)
		v->tui->step = r->step;
}

static void follow(struct view *v)
{
	struct gradients *p = v->priv;
	if (v->tui->example == p->placed_example)
		return;
	p->placed_example = v->tui->example;
	long r = tlines_find_ref(&p->l, v->tui->example, -1);
	if (r >= 0) {
		v->sel = (int)r;
		v->top = (int)r;
	}
}

static void draw_gradients(struct view *v)
{
	struct gradients *p = v->priv;
	build(v);
	follow(v);
	tlines_clamp(&v->sel, &v->top, p->l.n, v->h);
	tlines_draw(v, &p->l, 0, v->h, v->top, v->sel);
}

static bool key_gradients(struct view *v, enum action a)
{
	struct gradients *p = v->priv;
	build(v);
	follow(v);
	if (a == ACTION_ENTER) {
		if (v->sel < 0 || (size_t)v->sel >= p->l.n || p->l.v[v->sel].ref < 0)
			return false;
		publish(v);
		tui_focus_view(v->tui, "traces");
		return true;
	}
	if (!tlines_move(a, &v->sel, &v->top, p->l.n, v->h))
		return false;
	publish(v);
	return true;
}

static bool search_gradients(struct view *v, const char *pattern, int direction)
{
	struct gradients *p = v->priv;
	build(v);
	if (!tlines_seek(&p->l, &v->sel, pattern, direction))
		return false;
	tlines_clamp(&v->sel, &v->top, p->l.n, v->h);
	publish(v);
	return true;
}

const struct view_ops view_gradients_ops = {
    .name = "gradients",
    .title = "Gradients",
    .open = open_gradients,
    .draw = draw_gradients,
    .key = key_gradients,
    .search = search_gradients,
    .done = done_gradients,
};

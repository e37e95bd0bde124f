/* view_proposals.c: the Proposals pane.  Per changed step of the current iteration: a word-level
 * diff of the current against the proposed prompt (removed text as [-old-] in diff.removed, added
 * text as {+new+} in diff.added, so it reads without colour too; invisible characters such as
 * U+200B as markers, "<U+200B>", so that no change hides in them), the validation gain of the
 * proposed combination beside the step's own part of it (its phi, and its gain alone where
 * selection measured that), the demonstrations it carries (each one's input and output, new or
 * kept) and the decision.  Keys act on the
 * selected step (tui->step): a accept, x reject (asking first when it is the last decision, which
 * closes the iteration), e edit (in $EDITOR; the engine checks the text), u undo (also of the
 * decision that closed the iteration, until the next forward pass).
 * Before a proposal exists it says what the engine is doing and how to get one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/diff.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

struct proposals {
	struct tlines l;
	/* the flipped examples' rows, built once for the pair of evaluations and the width they
	 * were built for (hundreds of rows of sanitised outputs: not redone on every draw) */
	struct tlines ev;
	uint64_t ev_key; /* what they were built from (evidence_key) */
	int placed_step; /* the step the pane was last scrolled to */
	int asked_step;  /* the step whose rejection waits for an answer */
	int n_head;      /* rows of the header that stays at the top */
	long ev_sel;     /* the flipped example under the cursor (its validation position), or -1
	                  * when the cursor is on a change */
	char last_error[256];
};

static const char *const decision_names[] = {
    [DECISION_NONE] = "pending",
    [DECISION_ACCEPT] = "accepted",
    [DECISION_EDIT] = "edited and accepted",
    [DECISION_REJECT] = "rejected",
};

static const enum theme_element decision_colour[] = {
    [DECISION_NONE] = THEME_WARNING,
    [DECISION_ACCEPT] = THEME_SCORE_GOOD,
    [DECISION_EDIT] = THEME_SCORE_GOOD,
    [DECISION_REJECT] = THEME_TEXT_DIM,
};

static void open_proposals(struct view *v)
{
	struct proposals *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	tlines_init(&p->ev, v->w);
	p->placed_step = -2;
	p->ev_sel = -1;
	v->priv = p;
}

static void done_proposals(struct view *v)
{
	struct proposals *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	tlines_free(&p->ev);
	free(p);
	v->priv = NULL;
}

static const struct step_change *find_change(const struct iteration *it, int step)
{
	for (size_t c = 0; it && c < it->n_changes; c++)
		if (it->changes[c].step == step)
			return &it->changes[c];
	return NULL;
}

static void event_proposals(struct view *v, const struct engine_event *ev)
{
	struct proposals *p = v->priv;
	if (ev->kind == EV_ERROR && ev->message)
		snprintf(p->last_error, sizeof p->last_error, "%s", ev->message);
	if (ev->kind == EV_PROPOSAL_READY) {
		const struct iteration *it = engine_current(v->tui->en);
		if (it && it->n_changes && !find_change(it, v->tui->step))
			v->tui->step = it->changes[0].step;
	}
}

static void build_waiting(struct view *v, struct tlines *l, const struct iteration *it)
{
	tlines_add(l, THEME_HEADER, 0, "No proposal yet.");
	const struct engine *en = v->tui->en;
	if (!it) {
		tlines_add(l, THEME_TEXT, 0,
		           "No iteration has run.  An iteration runs the pipeline, "
		           "analyses its failures, proposes prompts per step and picks "
		           "the best combination on validation; its changes appear "
		           "here as diffs to accept, edit or reject.");
	} else if (it->phase < PHASE_COUNT) {
		tlines_addf(l, THEME_TEXT, 0, "Iteration %d %s phase %s: %s.", it->number,
		            engine_busy(en) ? "is running" : "waits before", phase_name(it->phase),
		            phase_help(it->phase));
	} else {
		tlines_addf(l, THEME_TEXT, 0, "Iteration %d is closed%s%s", it->number,
		            it->note ? ": " : ".", it->note ? it->note : "");
	}
	struct cost_projection p;
	bool known = !engine_busy(en) && tui_project_next(v->tui, &p); /* else made beside */
	if (known) {
		tlines_addf(l, THEME_COST, 0,
		            "Next phase: about %ld calls (%ld from the cache), %ld tokens in, %ld "
		            "out, $%.4f.",
		            p.calls, p.cached, p.tokens_in, p.tokens_out, p.usd);
	} else if (!engine_busy(en)) {
		tlines_add(l, THEME_COST, 0, "Next phase: projecting...");
	}
	tlines_add(l, THEME_TEXT, 0,
	           "Press r to run to the proposal, or s to run one phase at a time.");
}

/* The step's own part of the gain: its φ, and its gain changed alone where selection measured
 * that configuration ("" when neither is known). */
static char *own_gain(const struct engine *en, const struct iteration *it, int step)
{
	struct sbuf b = {0};
	if (it->phi)
		sbuf_addf(&b, "  step φ %+.3f", it->phi[step]);
	size_t n = engine_session(en)->n_steps;
	bool *keep = xcalloc(n + 1, sizeof *keep);
	keep[step] = true;
	double alone = engine_config_score(en, it, keep);
	free(keep);
	if (alone >= 0 && it->n_changes > 1)
		sbuf_addf(&b, "%s alone %+.3f", it->phi ? "," : "  step", alone - it->base_score);
	return sbuf_take(&b);
}

/* The first line of a text, at most DEMO_CLIP bytes (whole UTF-8 characters), with a mark when
 * cut.  Caller frees. */
#define DEMO_CLIP 60
static char *clip_line(const char *t)
{
	size_t n = strcspn(t ? t : "", "\n");
	size_t k = MIN(n, (size_t)DEMO_CLIP);
	while (k > 0 && k < n && ((unsigned char)t[k] & 0xc0) == 0x80)
		k--;
	return xasprintf("%.*s%s", (int)k, t ? t : "",
	                 k < strlen(t ? t : "") ? glyphs()->ellipsis : "");
}

/* The demonstrations the proposed prompt carries, each one's input and output, marked new or
 * kept from the incumbent while the decision is pending (the candidate's rationale, which says
 * how the optimizer chose them, is in the Candidates view). */
static void add_demos(struct tlines *l, const struct step *st, const struct step_change *ch)
{
	if (!ch->n_new_demos)
		return;
	tlines_addf(l, THEME_TEXT_DIM, 2, "with %zu demonstration%s:", ch->n_new_demos,
	            ch->n_new_demos == 1 ? "" : "s");
	bool pending = ch->decision == DECISION_NONE; /* "kept" compares with the incumbent */
	for (size_t d = 0; d < ch->n_new_demos; d++) {
		const struct demo *dm = &ch->new_demos[d];
		bool kept = false;
		for (size_t k = 0; k < st->n_demos && !kept; k++)
			kept = !strcmp(st->demos[k].input, dm->input) &&
			       !strcmp(st->demos[k].output, dm->output);
		char *in = clip_line(dm->input), *out = clip_line(dm->output);
		tlines_addf(l, THEME_TEXT, 4, "%zu%s %s %s %s", d + 1,
		            !pending ? ""
		            : kept   ? " kept"
		                     : " new ",
		            in, glyphs()->arrow_right, out);
		free(in);
		free(out);
	}
}

static void build_change(struct tlines *l, const struct engine *en, const struct iteration *it,
                         const struct step_change *ch)
{
	const struct session *s = engine_session(en);
	const struct step *st = &s->steps[ch->step];
	size_t added = 0, removed = 0;
	const char *shown = ch->edited ? ch->edited : ch->new_prompt;
	struct diff d;
	diff_texts(&d, ch->old_prompt ? ch->old_prompt : "", shown ? shown : "");
	diff_stats(&d, &added, &removed);
	diff_free(&d);
	tlines_ref(l, 1, ch->step);
	struct sbuf b = {0};
	sbuf_addf(&b, "%s %s  ", glyphs()->hline_focus, st->id);
	const char *dec = decision_names[ch->decision];
	sbuf_addf(&b, "[%s]", dec);
	char *own = own_gain(en, it, ch->step);
	const char *all = it->n_changes > 1 ? " (all together)" : "";
	char *rest = ch->decision == DECISION_NONE
	                 ? xasprintf("  gain %+.3f%s%s  demos %zu %s %zu  +%zu -%zu bytes",
	                             it->best_score - it->base_score, all, own, st->n_demos,
	                             glyphs()->arrow_right, ch->n_new_demos, added, removed)
	                 : xasprintf("  gain %+.3f%s%s  demos %zu  +%zu -%zu bytes",
	                             it->best_score - it->base_score, all, own, ch->n_new_demos,
	                             added, removed);
	free(own);
	struct tspan sp[] = {{b.s, b.len, decision_colour[ch->decision]},
	                     {rest, strlen(rest), THEME_TEXT}};
	tlines_add_spans_hang(l, 2, sp, 2);
	free(rest);
	sbuf_free(&b);
	if (ch->edited)
		tlines_add(l, THEME_TEXT_DIM, 2, "your edit against the old prompt:");
	tlines_add_diff(l, 4, ch->old_prompt, shown);
	add_demos(l, st, ch);
	tlines_add(l, THEME_TEXT, 0, "");
}

/* The evaluation of the incumbent (every step's choice 0), or NULL when selection has none. */
static const struct evaluation *incumbent_eval(const struct iteration *it, size_t n_steps)
{
	for (size_t e = 0; e < it->n_evals; e++) {
		size_t k = 0;
		while (k < n_steps && !it->evals[e].choice[k])
			k++;
		if (k == n_steps)
			return &it->evals[e];
	}
	return NULL;
}

/* Per-example evidence: the incumbent's and the proposal's validation scores side by side.  Sets
 * *inc and *best to the evaluations compared (NULL when the scores are not at hand) and counts
 * the examples whose score rose (fixes), fell (breaks) or stayed. */
static void evidence(const struct iteration *it, size_t n_steps, const struct evaluation **inc,
                     const struct evaluation **best, size_t count[3])
{
	count[0] = count[1] = count[2] = 0;
	*inc = incumbent_eval(it, n_steps);
	*best = it->best_eval >= 0 && (size_t)it->best_eval < it->n_evals
	            ? &it->evals[it->best_eval]
	            : NULL;
	if (!*inc || !*best || !(*inc)->scores || !(*best)->scores) {
		*inc = *best = NULL;
		return;
	}
	for (size_t i = 0; i < it->n_val; i++) {
		double a = (*inc)->scores[i], b = (*best)->scores[i];
		count[b > a ? 0 : b < a ? 1 : 2]++;
	}
}

/* Row reference of the flipped example at position i of the validation sample. */
#define EVIDENCE_REF(i) ((long)(i) + 2)
#define IS_EVIDENCE(r)  ((r)->ref >= 2 && (r)->step < 0)

static const char *output_of(const struct evaluation *ev, size_t i)
{
	if (!ev->traces)
		return "(output not kept)";
	const char *out = ev->traces[i].prediction;
	return !out ? "(no output)" : *out ? out : "(empty output)";
}

/* The examples the proposal flips, fixed ones first: both scores and both final outputs side by
 * side (cut to a column each; Enter opens both runs). */
static void build_evidence(struct tlines *l, const struct session *s, const struct iteration *it,
                           const struct evaluation *inc, const struct evaluation *best)
{
	const struct split *sp =
	    &s->data.splits[s->data.splits[SPLIT_VAL].n ? SPLIT_VAL : SPLIT_TRAIN];
	const struct glyphs *g = glyphs();
	tlines_ref(l, -1, -1);
	tlines_hangf(l, THEME_TITLE, 2,
	             "%s Flipped validation examples (incumbent %s proposal; j/k choose, Enter "
	             "opens both runs)",
	             g->hline_focus, g->arrow_right);
	/* wide: label and both outputs on one row; narrow: the outputs on a row of their own.  The
	 * label ("fixes  " + a 10-column id + " 0.000 → 1.000 ") is 32 columns wide. */
	bool wide = l->width >= 100;
	int head = wide ? 32 : 0, cw = MAX(8, (l->width - (wide ? 2 : 4) - head - 3) / 2);
	struct sbuf b = {0};
	tlines_pad(&b, head);
	tlines_cell(&b, "incumbent output", cw);
	sbuf_addf(&b, " %s ", g->vline);
	tlines_cell(&b, "proposal output", cw);
	tlines_add_rowf(l, THEME_TEXT_DIM, wide ? 2 : 4, "%s", sbuf_str(&b));
	for (int want = 0; want < 2; want++) {
		for (size_t i = 0; i < it->n_val; i++) {
			double a = inc->scores[i], c = best->scores[i];
			if (want == 0 ? !(c > a) : !(c < a))
				continue;
			size_t x = inc->traces   ? inc->traces[i].example
			           : it->val_idx ? it->val_idx[i]
			                         : i;
			enum theme_element el = want ? THEME_SCORE_BAD : THEME_SCORE_GOOD;
			sbuf_reset(&b);
			sbuf_addf(&b, "%-6s ", want ? "breaks" : "fixes");
			tlines_cell(&b, x < sp->n ? sp->ex[x].id : "?", 10);
			sbuf_addf(&b, " %.3f %s %.3f ", a, g->arrow_right, c);
			tlines_ref(l, EVIDENCE_REF(i), -1);
			if (!wide) {
				tlines_add_rowf(l, el, 2, "%s", sbuf_str(&b));
				sbuf_reset(&b);
			}
			tlines_pad(&b, head);
			size_t hl = b.len;
			tlines_cell(&b, output_of(inc, i), cw);
			size_t il = b.len;
			sbuf_addf(&b, " %s ", g->vline);
			size_t sl = b.len;
			tlines_cell(&b, output_of(best, i), cw);
			struct tspan row[] = {
			    {b.s, hl, el},
			    {b.s + hl, il - hl, THEME_TEXT},
			    {b.s + il, sl - il, THEME_BORDER},
			    {b.s + sl, b.len - sl, THEME_TEXT},
			};
			tlines_add_row(l, wide ? 2 : 4, row, ARRAY_SIZE(row));
		}
	}
	tlines_ref(l, -1, -1);
	sbuf_free(&b);
}

/* What the flipped rows are built from: the iteration, the pair of evaluations, their runs and
 * scores, the width (any change builds them again). */
static uint64_t evidence_key(const struct iteration *it, const struct evaluation *inc,
                             const struct evaluation *best, int width)
{
	const void *ptrs[] = {inc, best, inc->traces, best->traces};
	uint64_t h =
	    hash_bytes(ptrs, sizeof ptrs, (uint64_t)it->number * 1000003u + (uint64_t)width);
	h = hash_bytes(inc->scores, it->n_val * sizeof *inc->scores, h);
	return hash_bytes(best->scores, it->n_val * sizeof *best->scores, h);
}

/* One row of the header: the long form when it fits, else the short one (cut if need be). */
static void head_line(struct tlines *l, enum theme_element el, const char *lng, const char *shrt)
{
	tlines_add_rowf(l, el, 0, "%s", (int)strlen(lng) <= l->width ? lng : shrt);
}

/* The title (wrapped under itself), the per-example counts and the keys: what stays at the top
 * while the changes scroll. */
static void build_head(struct tlines *l, const struct iteration *it, const struct evaluation *inc,
                       const size_t count[3])
{
	size_t decided = 0;
	for (size_t c = 0; c < it->n_changes; c++)
		decided += it->changes[c].decision != DECISION_NONE;
	tlines_hangf(l, THEME_HEADER, 2,
	             "Iteration %d proposal, %zu of %zu decided: validation %.3f %s %.3f (gain "
	             "%+.3f) on %zu examples",
	             it->number, decided, it->n_changes, it->base_score, glyphs()->arrow_right,
	             it->best_score, it->best_score - it->base_score, it->n_val);
	if (inc) {
		char per[160];
		int n =
		    snprintf(per, sizeof per, "per example: fixes %zu, breaks %zu, unchanged %zu",
		             count[0], count[1], count[2]);
		char *lng = xasprintf("%s (its score rose, fell, stayed)", per);
		head_line(l, THEME_TEXT, lng, n > 0 ? per : "");
		free(lng);
	} else {
		head_line(
		    l, THEME_TEXT_DIM,
		    "per example: the scores of each example are not kept (a reopened session)",
		    "per example: not kept (a reopened session)");
	}
	if (it->phase == PHASE_DECISION)
		head_line(
		    l, THEME_TEXT_DIM,
		    "a accept  x reject  e edit  u undo  j/k steps, flipped examples  Enter runs",
		    "a/x/e accept/reject/edit  u undo  Enter runs");
	else
		head_line(
		    l, THEME_TEXT_DIM,
		    "Closed.  u undoes its last decision until r starts the next one.  Enter runs",
		    "Closed.  u undoes the last decision, Enter runs");
}

static void build(struct view *v)
{
	struct proposals *p = v->priv;
	const struct iteration *it = engine_current(v->tui->en);
	struct tlines *l = &p->l;
	tlines_clear(l);
	l->width = v->w;
	p->n_head = 0;
	if (!it || !it->n_changes) {
		build_waiting(v, l, it);
		return;
	}
	const struct evaluation *inc, *best;
	size_t count[3];
	evidence(it, v->tui->s->n_steps, &inc, &best, count);
	build_head(l, it, inc, count);
	p->n_head = (int)l->n;
	for (size_t c = 0; c < it->n_changes; c++)
		build_change(l, v->tui->en, it, &it->changes[c]);
	/* the evaluations are the engine's until the iteration's selection is cleared; a new pair
	 * (a new iteration, a reopened one) or another width builds the rows again */
	if (inc && (count[0] + count[1])) {
		uint64_t key = evidence_key(it, inc, best, v->w);
		if (key != p->ev_key || !p->ev.n) {
			tlines_clear(&p->ev);
			p->ev.width = v->w;
			build_evidence(&p->ev, v->tui->s, it, inc, best);
			p->ev_key = key;
		}
		tlines_append(l, &p->ev);
	}
}

static long change_row(const struct proposals *p, int step)
{
	for (size_t i = 0; i < p->l.n; i++)
		if (p->l.v[i].ref == 1 && p->l.v[i].step == step)
			return (long)i;
	return -1;
}

/* The row of the flipped example under the cursor, or -1 (then it is on a change). */
static long evidence_row(struct proposals *p)
{
	return p->ev_sel < 0 ? -1 : tlines_find_ref(&p->l, EVIDENCE_REF(p->ev_sel), -1);
}

static void draw_proposals(struct view *v)
{
	struct proposals *p = v->priv;
	build(v);
	long r = change_row(p, v->tui->step), er = evidence_row(p);
	if (p->ev_sel >= 0 && er < 0)
		p->ev_sel = -1; /* the list changed under it */
	if (er >= 0) {
		int rows = MAX(1, v->h - p->n_head);
		long end = er; /* its last row (the outputs' row when they have one of their own) */
		while ((size_t)end + 1 < p->l.n && p->l.v[end + 1].ref == p->l.v[er].ref)
			end++;
		if (er < v->top)
			v->top = (int)er;
		else if (end >= v->top + rows)
			v->top = (int)end - rows + 1;
		r = er;
	} else if (r >= 0 && v->tui->step != p->placed_step) {
		v->top = (int)r;
		p->placed_step = v->tui->step;
	}
	tlines_draw_headed(v, &p->l, p->n_head, &v->top, NULL, (int)r);
}

/* Moves the cursor among the flipped examples (dir +1/-1); true when it moved or left them.
 * Down from the last change enters the list, up from its first row goes back to the change. */
static bool move_evidence(struct view *v, const struct iteration *it, int dir)
{
	struct proposals *p = v->priv;
	long cur = evidence_row(p), first = -1, last = -1;
	for (size_t i = 0; i < p->l.n; i++)
		if (IS_EVIDENCE(&p->l.v[i]))
			last = (long)i, first = first < 0 ? (long)i : first;
	if (first < 0)
		return false;
	if (cur < 0) { /* on a change: only down from the last one enters */
		bool at_last =
		    !it || !it->n_changes || it->changes[it->n_changes - 1].step == v->tui->step;
		if (dir < 0 || !at_last)
			return false;
		p->ev_sel = p->l.v[first].ref - 2;
		return true;
	}
	long to = cur + dir; /* the next row of another example (one may take two rows) */
	while (to >= first && to <= last &&
	       (!IS_EVIDENCE(&p->l.v[to]) || p->l.v[to].ref == p->l.v[cur].ref))
		to += dir;
	if (to >= first && to <= last)
		to = tlines_find_ref(&p->l, p->l.v[to].ref, -1); /* its first row */
	if (to < first) {
		p->ev_sel = -1;
		p->placed_step = -2; /* scroll back to the change */
	} else if (to <= last) {
		p->ev_sel = p->l.v[to].ref - 2;
	}
	return true;
}

/* Enter on a flipped example: the Evidence screen with both of its runs. */
static bool open_evidence(struct view *v)
{
	struct proposals *p = v->priv;
	if (p->ev_sel < 0)
		return false;
	v->tui->evidence = p->ev_sel;
	tui_focus_view(v->tui, "evidence");
	return true;
}

const char *tui_measure_hint(struct tui *t, char *buf, size_t n)
{
	buf[0] = '\0';
	if (!engine_can_measure(t->en))
		return buf;
	struct cost_projection p;
	engine_project_measure(t->en, &p);
	snprintf(buf, n, "edit unmeasured: :measure scores it (%zu examples, ~%ld calls, ~$%.4f)",
	         engine_current(t->en)->n_val, p.calls - p.cached, p.usd);
	return buf;
}

static void decided(struct view *v, int rc, const char *what)
{
	struct proposals *p = v->priv;
	const struct step *st = &v->tui->s->steps[v->tui->step];
	if (rc == 0) {
		v->tui->dirty = true;
		char hint[160];
		tui_measure_hint(v->tui, hint, sizeof hint);
		tui_message(v->tui, "%s: %s%s%s", st->id, what, *hint ? "; " : "", hint);
	} else if (p->last_error[0]) {
		tui_message(v->tui, "%s: %s", st->id, p->last_error);
	} else {
		tui_message(v->tui, "%s: no pending change to decide", st->id);
	}
}

static void on_reject_answer(struct tui *t, void *arg, int answer)
{
	struct view *v = arg;
	struct proposals *p = v->priv;
	if (answer != 'y') {
		tui_message(t, "%s: still pending", t->s->steps[p->asked_step].id);
		return;
	}
	t->step = p->asked_step;
	p->last_error[0] = 0;
	decided(v, engine_reject(t->en, p->asked_step), "proposal rejected");
}

/* x on the last pending change closes the iteration: ask first. */
static void reject(struct view *v, const struct iteration *it, const struct step_change *ch)
{
	size_t pending = 0;
	for (size_t c = 0; c < it->n_changes; c++)
		pending += it->changes[c].decision == DECISION_NONE;
	if (pending > 1) {
		decided(v, engine_reject(v->tui->en, ch->step), "proposal rejected");
		return;
	}
	struct proposals *p = v->priv;
	p->asked_step = ch->step;
	tui_ask(v->tui, on_reject_answer, v, "yn",
	        "reject %s? It is the last decision: iteration %d closes (u undoes it until the "
	        "next iteration starts) [y/n]",
	        v->tui->s->steps[ch->step].id, it->number);
}

static void edit(struct view *v, const struct step_change *ch)
{
	/* after an undo, editing again starts from the earlier edit */
	char *text = tui_edit_text(v->tui, ch->edited ? ch->edited : ch->new_prompt);
	if (!text)
		return; /* the editor said why */
	struct proposals *p = v->priv;
	p->last_error[0] = 0;
	decided(v, engine_edit(v->tui->en, ch->step, text), "edited prompt accepted");
	free(text);
}

/* Moves the selection to the previous/next changed step, or the first/last. */
static void move_change(struct view *v, const struct iteration *it, int delta, bool absolute)
{
	if (!it || !it->n_changes)
		return;
	long cur = -1, n = (long)it->n_changes;
	for (long c = 0; c < n; c++)
		if (it->changes[c].step == v->tui->step)
			cur = c;
	long to = absolute ? (delta < 0 ? 0 : n - 1) : (cur < 0 ? 0 : cur + delta);
	v->tui->step = it->changes[MAX(0, MIN(n - 1, to))].step;
}

static bool key_proposals(struct view *v, enum action a)
{
	struct proposals *p = v->priv;
	const struct iteration *it = engine_current(v->tui->en);
	build(v);
	const struct step_change *ch = find_change(it, v->tui->step);
	p->last_error[0] = 0;
	switch (a) {
	case ACTION_MOVE_UP:
	case ACTION_MOVE_DOWN: {
		int dir = a == ACTION_MOVE_DOWN ? 1 : -1;
		if (!move_evidence(v, it, dir))
			move_change(v, it, dir, false);
		return true;
	}
	case ACTION_ENTER:
		return open_evidence(v);
	case ACTION_HOME:
		p->ev_sel = -1;
		move_change(v, it, -1, true);
		return true;
	case ACTION_END:
		p->ev_sel = -1;
		move_change(v, it, 1, true);
		return true;
	case ACTION_PAGE_UP:
	case ACTION_PAGE_DOWN: {
		int page = MAX(1, v->h - p->n_head - 1);
		v->top += a == ACTION_PAGE_DOWN ? page : -page;
		v->top =
		    MAX(p->n_head, MIN(v->top, (int)p->l.n - 1)); /* the draw clamps the rest */
		return true;
	}
	case ACTION_UNDO: {
		bool closed = it && it->phase == PHASE_COUNT;
		if (engine_undo(v->tui->en) == 0) {
			v->tui->dirty = true;
			tui_message(v->tui, "decision undone%s",
			            closed ? "; the iteration is open again" : "");
		} else {
			tui_message(v->tui, "nothing to undo in this iteration");
		}
		return true;
	}
	default:
		break;
	}
	if (a != ACTION_ACCEPT && a != ACTION_REJECT && a != ACTION_EDIT)
		return false;
	if (!ch) {
		tui_message(v->tui, "%s",
		            it && it->n_changes ? "select a changed step (up/down)"
		                                : "no proposal yet: press r to run to one");
		return true;
	}
	if (ch->decision != DECISION_NONE) {
		tui_message(v->tui, "%s is already %s (u undoes it)", v->tui->s->steps[ch->step].id,
		            decision_names[ch->decision]);
		return true;
	}
	if (a == ACTION_ACCEPT)
		decided(v, engine_accept(v->tui->en, ch->step), "proposal accepted");
	else if (a == ACTION_REJECT)
		reject(v, it, ch);
	else
		edit(v, ch);
	return true;
}

static bool search_proposals(struct view *v, const char *pattern, int direction)
{
	struct proposals *p = v->priv;
	build(v);
	long r = tlines_find(&p->l, v->top, pattern, direction);
	if (r < 0)
		return false;
	v->top = (int)r;
	if (p->l.v[r].step >= 0)
		v->tui->step = p->l.v[r].step, p->placed_step = v->tui->step;
	return true;
}

const struct view_ops view_proposals_ops = {
    .name = "proposals",
    .title = "Proposals",
    .open = open_proposals,
    .draw = draw_proposals,
    .key = key_proposals,
    .event = event_proposals,
    .search = search_proposals,
    .done = done_proposals,
};

/* phases.c: how a phase runs.  A phase is a short list of stages (the table below); a stage
 * submits work (role requests, pipeline batches) and is called again once all of it has come
 * back.  This file also holds the forward pass and the roll-back of a cancelled phase (the cost
 * projection is projection.c); the role phases are in phases_roles.c, the candidates in
 * phases_candidates.c, the search in phases_search.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "engine/alloc.h"
#include "engine/bo.h"
#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/phases.h"
#include "engine/shapley.h"

bool step_optimizable(const struct step *st)
{
	return st->kind == STEP_LLM && !st->frozen;
}

struct iteration *phases_current(struct engine *en)
{
	return en->iters[en->n_iters - 1];
}

/* ---- forward ---- */

static void on_step_done(void *arg, struct run_batch *b, const struct trace *t,
                         const struct trace_step *ts)
{
	(void)b;
	struct engine *en = arg;
	(void)t;
	engine_emit(en, EV_STEP_TRACE, ts->step, -1, NULL);
}

static void on_chunk(void *arg, struct run_batch *b, const struct trace *t, int step,
                     const char *text, size_t len)
{
	(void)b, (void)t;
	struct engine *en = arg;
	struct engine_event ev = {.kind = EV_TEXT,
	                          .phase = phases_current(en)->phase,
	                          .iteration = phases_current(en)->number,
	                          .step = step,
	                          .example = -1,
	                          .text = text,
	                          .len = len};
	if (en->fn)
		en->fn(en->arg, &ev);
}

/* The forward pass's first bad example: there is something to analyse, and E1 reads the
 * program only, so it can go ahead of the rest of the pass. */
static void on_example_done(void *arg, struct run_batch *b, const struct trace *t)
{
	(void)b;
	struct engine *en = arg;
	if (!t->good && en->busy)
		phases_ask_structure(en, phases_current(en));
}

void phases_batch_done(void *arg, struct run_batch *b)
{
	struct engine *en = arg;
	(void)b;
	if (en->jobs_left)
		en->jobs_left--;
	if (en->jobs_left == 0 && en->waits_left == 0 && en->stage >= 0)
		engine_work_done(en);
}

size_t *phases_forward_sample(const struct engine *en, int number, size_t *n)
{
	const struct session *s = en->s;
	const struct split *train = &s->data.splits[SPLIT_TRAIN];
	*n = MIN((size_t)s->opt.batch_size, train->n);
	size_t *perm = xcalloc(train->n ? train->n : 1, sizeof *perm);
	for (size_t i = 0; i < train->n; i++)
		perm[i] = i;
	struct rng r;
	rng_seed(&r, s->opt.seed * 1000003u + (uint64_t)number);
	for (size_t i = train->n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		size_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	return perm;
}

int stage_forward(struct engine *en, struct iteration *it, bool resumed)
{
	if (!resumed) {
		size_t n;
		size_t *perm = phases_forward_sample(en, it->number, &n);
		if (n == 0) {
			free(perm);
			engine_phase_failed(en, "the train split is empty: nothing to optimize on");
			return STAGE_WAIT;
		}
		struct run_callbacks cb = {on_step_done, on_chunk, phases_batch_done, en,
		                           on_example_done};
		en->jobs_left = 1;
		en->batch = runner_prepare(en->runner, NULL, SPLIT_TRAIN, perm, n, "forward", &cb);
		free(perm);
		phases_launch_sliced(en); /* its examples start a slice a turn */
		return STAGE_WAIT;
	}
	return STAGE_NEXT;
}

int stage_forward_collect(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	it->train_score = run_batch_score(en->batch);
	it->traces = run_batch_take_traces(en->batch, &it->n_traces);
	engine_bury_batch(en, en->batch);
	en->batch = NULL;
	it->good = xcalloc(it->n_traces ? it->n_traces : 1, sizeof *it->good);
	it->bad = xcalloc(it->n_traces ? it->n_traces : 1, sizeof *it->bad);
	for (size_t i = 0; i < it->n_traces; i++) {
		if (it->traces[i].good && it->n_good < (size_t)s->opt.minibatch_good)
			it->good[it->n_good++] = i;
		else if (!it->traces[i].good && it->n_bad < (size_t)s->opt.minibatch_bad)
			it->bad[it->n_bad++] = i;
	}
	it->n_cases = it->n_bad;
	it->cases = xcalloc(it->n_bad ? it->n_bad : 1, sizeof *it->cases);
	for (size_t c = 0; c < it->n_bad; c++) {
		it->cases[c].trace = it->bad[c];
		it->cases[c].local = xcalloc(s->n_steps, sizeof(char *));
		it->cases[c].pseudo = xcalloc(s->n_steps, sizeof(char *));
	}
	if (it->n_bad == 0) {
		free(it->note);
		it->note =
		    xstrdup("every case in the batch is good: nothing to fix this iteration");
	}
	return STAGE_DONE;
}

/* ---- the table ---- */

static stage_fn *const stages[PHASE_COUNT][3] = {
    [PHASE_FORWARD] = {stage_forward, stage_forward_collect},
    [PHASE_ANALYSIS] = {stage_analysis_e1, stage_analysis_e2},
    [PHASE_GRADIENT] = {stage_gradient_e3, stage_gradient_e4},
    [PHASE_LOCAL] = {stage_local_e5},
    [PHASE_PSEUDO] = {stage_pseudo_e6},
    [PHASE_CANDIDATES] = {stage_candidates_ask, stage_candidates_make},
    [PHASE_SELECTION] = {stage_selection_start, stage_selection_search, stage_screen_promote},
    [PHASE_SHAPLEY] = {stage_shapley_needs, stage_shapley_compute, stage_screen_promote},
    [PHASE_ALLOCATION] = {stage_allocation},
    [PHASE_PROPOSAL] = {stage_proposal},
    [PHASE_DECISION] = {stage_decision},
};

/* Runs stages until one waits; `resumed` tells the current stage its work came back. */
static void run_stages(struct engine *en, bool resumed)
{
	struct iteration *it = phases_current(en);
	enum phase p = it->phase;
	for (;;) {
		stage_fn *fn = en->stage < 3 ? stages[p][en->stage] : NULL;
		int rc = fn ? fn(en, it, resumed) : STAGE_DONE;
		if (!en->busy)
			return; /* failed or cancelled inside */
		if (rc == STAGE_WAIT)
			return;
		if (engine_roles_failed(en))
			return; /* every role request of the phase failed: rolled back */
		if (rc == STAGE_DONE) {
			engine_phase_done(en);
			return;
		}
		en->stage++;
		resumed = false;
	}
}

void engine_work_done(struct engine *en)
{
	if (en->launching || !en->busy)
		return;
	run_stages(en, true);
}

void phase_start(struct engine *en, enum phase p)
{
	/* the role requests sent ahead for this phase are its own now */
	en->waits_left = 0;
	for (size_t i = 0; i < en->n_waits; i++)
		en->waits_left += en->waits[i]->phase == p && !en->waits[i]->done;
	en->stage = 0;
	run_stages(en, false);
}

void phase_clear(struct iteration *it, enum phase p, size_t n_steps)
{
	switch (p) {
	case PHASE_FORWARD:
		for (size_t i = 0; i < it->n_traces; i++)
			trace_free(&it->traces[i]);
		free(it->traces);
		free(it->good);
		free(it->bad);
		for (size_t c = 0; c < it->n_cases; c++) {
			free(it->cases[c].local);
			free(it->cases[c].pseudo);
		}
		free(it->cases);
		it->traces = NULL, it->good = it->bad = NULL, it->cases = NULL;
		it->n_traces = it->n_good = it->n_bad = it->n_cases = 0;
		break;
	case PHASE_ANALYSIS:
		free(it->structure);
		it->structure = NULL;
		for (size_t i = 0; it->dependency && i < n_steps; i++)
			free(it->dependency[i]);
		free(it->dependency);
		it->dependency = NULL;
		break;
	case PHASE_GRADIENT:
		for (size_t c = 0; c < it->n_cases; c++) {
			free(it->cases[c].loss);
			free(it->cases[c].gradient);
			it->cases[c].loss = it->cases[c].gradient = NULL;
		}
		break;
	case PHASE_LOCAL:
	case PHASE_PSEUDO:
		for (size_t c = 0; c < it->n_cases; c++) {
			char **v = p == PHASE_LOCAL ? it->cases[c].local : it->cases[c].pseudo;
			for (size_t i = 0; v && i < n_steps; i++) {
				free(v[i]);
				v[i] = NULL;
			}
		}
		break;
	case PHASE_CANDIDATES:
		for (size_t i = 0; it->cands && i < n_steps; i++) {
			for (size_t k = 0; k < it->n_cands[i]; k++)
				candidate_free(&it->cands[i][k]);
			free(it->cands[i]);
		}
		free(it->cands);
		free(it->n_cands);
		free(it->budget);
		it->cands = NULL, it->n_cands = NULL, it->budget = NULL;
		break;
	case PHASE_SELECTION:
	case PHASE_SHAPLEY:
		if (p == PHASE_SELECTION) {
			for (size_t e = 0; e < it->n_evals; e++) {
				free(it->evals[e].choice);
				free(it->evals[e].scores);
				eval_free_traces(&it->evals[e], it->n_val);
			}
			free(it->evals);
			free(it->val_idx);
			it->evals = NULL, it->val_idx = NULL;
			it->n_evals = it->n_val = 0;
			for (size_t e = 0; e < it->n_screened; e++) {
				free(it->screened[e].choice);
				free(it->screened[e].scores);
			}
			free(it->screened);
			free(it->screen_idx);
			free(it->screen_pos);
			free(it->screen_n);
			it->screened = NULL, it->screen_idx = it->screen_pos = NULL;
			it->screen_n = NULL;
			it->n_screened = it->n_screen = it->n_screen_pos = 0;
			it->screen_saved = 0;
			it->search_end = NULL;
		}
		free(it->phi);
		free(it->phi_sd);
		free(it->shapley_note);
		it->phi = it->phi_sd = NULL;
		it->shapley_method = NULL;
		it->shapley_note = NULL;
		it->shapley_extra = 0;
		it->shapley_underdetermined = false;
		break;
	case PHASE_ALLOCATION:
		free(it->next_budget);
		it->next_budget = NULL;
		break;
	case PHASE_PROPOSAL:
		for (size_t c = 0; c < it->n_changes; c++) {
			struct step_change *ch = &it->changes[c];
			free(ch->old_prompt);
			free(ch->new_prompt);
			for (size_t d = 0; d < ch->n_new_demos; d++) {
				free(ch->new_demos[d].input);
				free(ch->new_demos[d].output);
			}
			free(ch->new_demos);
			free(ch->edited);
		}
		free(it->changes);
		it->changes = NULL;
		it->n_changes = 0;
		break;
	default:
		break;
	}
}

void iteration_free(struct iteration *it, size_t n_steps)
{
	for (int p = PHASE_COUNT - 1; p >= 0; p--)
		phase_clear(it, (enum phase)p, n_steps);
	free(it->note);
	free(it);
}

void bo_free_opt(struct engine *en)
{
	bo_free(en->bo);
	en->bo = NULL;
}

/* phases_search.c: from analyses to a proposal: step-level candidates within budget, Bayesian
 * optimization over their combinations on validation, Shapley credit, budget allocation, and
 * the proposal. */
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

/* ---- candidates ---- */

static void initial_budgets(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	it->budget = xcalloc(s->n_steps, sizeof *it->budget);
	const struct iteration *prev = en->n_iters > 1 ? en->iters[en->n_iters - 2] : NULL;
	if (prev && prev->next_budget) {
		memcpy(it->budget, prev->next_budget, s->n_steps * sizeof *it->budget);
		return;
	}
	double *phi = xcalloc(s->n_steps, sizeof *phi);
	bool *elig = xcalloc(s->n_steps, sizeof *elig);
	int k = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		k += elig[i] = step_optimizable(&s->steps[i]);
	int total = MAX(s->opt.budget_total, s->opt.budget_floor * k);
	struct err e = {{0}};
	alloc_budgets((int)s->n_steps, phi, elig, total, s->opt.budget_floor, it->budget, &e);
	free(phi);
	free(elig);
}

/* The step's supervised set: one pair per round of each bad case (the revision of that round
 * when E6 wrote one per round, else the whole revision on the last round) and of each good case.
 * Revisions cut out per round are kept in *owned (free with owned_free). */
static struct opt_case *opt_cases(struct iteration *it, int step, size_t *n, char ***owned,
                                  size_t *n_owned)
{
	size_t cap = 1;
	for (size_t c = 0; c < it->n_cases; c++)
		cap += trace_rounds(&it->traces[it->cases[c].trace], step);
	for (size_t g = 0; g < it->n_good; g++)
		cap += trace_rounds(&it->traces[it->good[g]], step);
	struct opt_case *cs = xcalloc(cap, sizeof *cs);
	*owned = xcalloc(cap, sizeof **owned);
	*n = *n_owned = 0;
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace *t = &it->traces[it->cases[c].trace];
		const char *local = it->cases[c].local[step], *pseudo = it->cases[c].pseudo[step];
		size_t rounds = trace_rounds(t, step);
		if (!local || !rounds)
			continue;
		size_t n0 = *n;
		char *part = NULL;
		for (const struct trace_step *ts = NULL;
		     rounds > 1 && pseudo && (ts = trace_next(t, step, ts));) {
			if (!(part = role_round_part(pseudo, ts->round)))
				break;
			(*owned)[(*n_owned)++] = part;
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, local, part, false};
		}
		if (!part) { /* not labelled per round (or a round missing): one pair, last round */
			*n = n0;
			const struct trace_step *ts = trace_find(t, step);
			cs[(*n)++] =
			    (struct opt_case){ts->input, ts->out.text, local, pseudo, false};
		}
	}
	for (size_t g = 0; g < it->n_good; g++) {
		const struct trace *t = &it->traces[it->good[g]];
		for (const struct trace_step *ts = NULL; (ts = trace_next(t, step, ts));)
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, NULL, NULL, true};
	}
	return cs;
}

static struct opt_request make_request(struct engine *en, struct iteration *it, int i,
                                       const struct opt_case *cs, size_t ncs)
{
	const struct step *st = &en->s->steps[i];
	return (struct opt_request){en->s,
	                            st,
	                            st->prompt,
	                            st->demos,
	                            st->n_demos,
	                            it->structure,
	                            it->dependency ? it->dependency[i] : NULL,
	                            cs,
	                            ncs,
	                            it->budget[i],
	                            en->s->opt.max_demos,
	                            en->s->opt.seed + (unsigned long)it->number * 31u +
	                                (unsigned)i};
}

int stage_candidates_ask(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	initial_budgets(en, it);
	it->cands = xcalloc(s->n_steps, sizeof *it->cands);
	it->n_cands = xcalloc(s->n_steps, sizeof *it->n_cands);
	en->opt_prompts = xcalloc(s->n_steps, sizeof *en->opt_prompts);
	en->n_opt_prompts = xcalloc(s->n_steps, sizeof *en->n_opt_prompts);
	en->opt_answers = xcalloc(s->n_steps, sizeof *en->opt_answers);
	if (it->n_bad == 0)
		return STAGE_NEXT;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	if (!opt) {
		char *msg = xasprintf("unknown step optimizer \"%s\" (known: %s)",
		                      s->opt.step_optimizer, optimizer_names());
		engine_phase_failed(en, msg);
		free(msg);
		return STAGE_WAIT;
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!step_optimizable(&s->steps[i]) || it->budget[i] <= 0)
			continue;
		size_t ncs, nown;
		char **own;
		struct opt_case *cs = opt_cases(it, (int)i, &ncs, &own, &nown);
		struct opt_request req = make_request(en, it, (int)i, cs, ncs);
		en->n_opt_prompts[i] = opt->ask(&req, &en->opt_prompts[i]);
		en->opt_answers[i] = xcalloc(en->n_opt_prompts[i] + 1, sizeof(char *));
		for (size_t k = 0; k < en->n_opt_prompts[i]; k++)
			engine_ask(en, ROLE_INSTRUCT, en->opt_prompts[i][k], NULL,
			           &en->opt_answers[i][k], NULL);
		free(cs);
		role_strings_free(own, nown);
	}
	return en->waits_left ? STAGE_WAIT : STAGE_NEXT;
}

/* A candidate is kept when it parses, keeps the incumbent's variables, and is new. */
static bool candidate_ok(const struct step *st, const struct candidate *c,
                         const struct candidate *kept, size_t n_kept, char **why)
{
	if (!c->prompt || !*c->prompt) {
		*why = xstrdup("empty prompt");
		return false;
	}
	struct err e = {{0}};
	struct template *t = template_parse(c->prompt, &e);
	if (!t) {
		*why = xasprintf("not a valid template: %s", e.msg);
		return false;
	}
	const char *missing = NULL;
	int covers = template_vars_cover(st->prompt_tpl, t, &missing);
	bool unknown = false;
	for (size_t i = 0; i < template_nvars(t) && !unknown; i++) {
		bool found = false;
		for (size_t k = 0; k < template_nvars(st->prompt_tpl) && !found; k++)
			found = strcmp(template_var(t, i), template_var(st->prompt_tpl, k)) == 0;
		if (!found) {
			unknown = true;
			*why = xasprintf("uses {{%s}}, which the step does not have",
			                 template_var(t, i));
		}
	}
	template_free(t);
	if (unknown)
		return false;
	if (!covers) {
		*why = xasprintf("drops the step's input {{%s}}", missing);
		return false;
	}
	bool same_demos = c->n_demos == st->n_demos;
	for (size_t d = 0; same_demos && d < c->n_demos; d++)
		same_demos = strcmp(c->demos[d].input, st->demos[d].input) == 0 &&
		             strcmp(c->demos[d].output, st->demos[d].output) == 0;
	if (strcmp(c->prompt, st->prompt) == 0 && same_demos) {
		*why = xstrdup("identical to the current prompt");
		return false;
	}
	for (size_t k = 0; k < n_kept; k++) {
		if (strcmp(kept[k].prompt, c->prompt) == 0 && kept[k].n_demos == c->n_demos) {
			bool same = true;
			for (size_t d = 0; same && d < c->n_demos; d++)
				same = strcmp(kept[k].demos[d].input, c->demos[d].input) == 0 &&
				       strcmp(kept[k].demos[d].output, c->demos[d].output) == 0;
			if (same) {
				*why = xstrdup("duplicate of another candidate");
				return false;
			}
		}
	}
	return true;
}

int stage_candidates_make(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	size_t dropped = 0;
	for (size_t i = 0; opt && i < s->n_steps; i++) {
		if (!en->opt_answers[i])
			continue;
		size_t ncs, nown;
		char **own;
		struct opt_case *cs = opt_cases(it, (int)i, &ncs, &own, &nown);
		struct opt_request req = make_request(en, it, (int)i, cs, ncs);
		struct candidate *made = NULL;
		size_t n = opt->make(&req, (const char *const *)en->opt_answers[i],
		                     en->n_opt_prompts[i], &made);
		it->cands[i] = xcalloc(n ? n : 1, sizeof **it->cands);
		for (size_t k = 0; k < n; k++) {
			char *why = NULL;
			if (it->n_cands[i] < (size_t)it->budget[i] &&
			    candidate_ok(&s->steps[i], &made[k], it->cands[i], it->n_cands[i],
			                 &why)) {
				it->cands[i][it->n_cands[i]++] = made[k];
			} else {
				if (why) {
					char *msg = xasprintf("step \"%s\": candidate dropped: %s",
					                      s->steps[i].id, why);
					engine_emit(en, EV_ERROR, (int)i, -1, msg);
					free(msg);
				}
				free(why);
				candidate_free(&made[k]);
				dropped++;
			}
		}
		free(made);
		free(cs);
		role_strings_free(own, nown);
	}
	engine_emit(en, EV_CANDIDATES_READY, -1, -1, NULL);
	return STAGE_DONE;
}

/* ---- evaluations (selection and Shapley) ---- */

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

size_t *phases_val_sample(const struct engine *en, int number, size_t *n_out)
{
	const struct split *val = &en->s->data.splits[SPLIT_VAL];
	const struct split *src = val->n ? val : &en->s->data.splits[SPLIT_TRAIN];
	size_t n = MIN((size_t)en->s->opt.val_size, src->n);
	size_t *idx = xcalloc(n ? n : 1, sizeof *idx);
	*n_out = n;
	/* drawn with the session's seed and fixed within the iteration, so every configuration
	 * sees the same examples; the same across iterations (scores compare) unless
	 * val_resample asks for a fresh one each iteration.  Kept in split order. */
	size_t *perm = xcalloc(src->n ? src->n : 1, sizeof *perm);
	for (size_t i = 0; i < src->n; i++)
		perm[i] = i;
	struct rng r;
	rng_seed(&r, en->s->opt.seed * 7919u + 17u +
	                 (en->s->opt.val_resample ? (uint64_t)number - 1 : 0));
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)rng_below(&r, src->n - i), t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	memcpy(idx, perm, n * sizeof *perm);
	free(perm);
	qsort(idx, n, sizeof *idx, cmp_size);
	return idx;
}

static void val_sample(struct engine *en, struct iteration *it)
{
	const struct split *val = &en->s->data.splits[SPLIT_VAL];
	it->val_idx = phases_val_sample(en, it->number, &it->n_val);
	if (!val->n) {
		free(it->note);
		it->note = xstrdup("no validation split: selecting on training examples");
	} else if ((size_t)en->s->opt.val_size > val->n) {
		free(it->note);
		it->note =
		    xasprintf("the validation split has %zu examples, fewer than val_size %d",
		              val->n, en->s->opt.val_size);
	}
}

enum split_id phases_val_split(const struct engine *en)
{
	return en->s->data.splits[SPLIT_VAL].n ? SPLIT_VAL : SPLIT_TRAIN;
}

static bool evaluated(const struct iteration *it, const int *choice, size_t m)
{
	for (size_t e = 0; e < it->n_evals; e++)
		if (memcmp(it->evals[e].choice, choice, m * sizeof *choice) == 0)
			return true;
	return false;
}

static void launch_eval(struct engine *en, struct iteration *it, const int *choice)
{
	const struct session *s = en->s;
	struct eval_job *job = xcalloc(1, sizeof *job);
	job->en = en;
	job->choice = xmalloc(s->n_steps * sizeof *job->choice);
	memcpy(job->choice, choice, s->n_steps * sizeof *job->choice);
	job->variants = xcalloc(s->n_steps, sizeof *job->variants);
	job->config = xcalloc(s->n_steps, sizeof *job->config);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (choice[i] <= 0)
			continue;
		const struct candidate *c = &it->cands[i][choice[i] - 1];
		job->variants[i] = (struct variant){c->prompt, c->demos, c->n_demos};
		job->config[i] = &job->variants[i];
	}
	en->jobs = xgrow(en->jobs, &en->cap_jobs, en->n_jobs + 1, sizeof *en->jobs);
	en->jobs[en->n_jobs++] = job;
	en->jobs_left++;
	struct run_callbacks cb = {NULL, NULL, phases_batch_done, en};
	job->batch =
	    runner_start(en->runner, job->config, phases_val_split(en), it->val_idx, it->n_val,
	                 phases_current(en)->phase == PHASE_SHAPLEY ? "shapley" : "select", &cb);
}

/* Moves finished jobs into the iteration's evaluations. */
static void collect_evals(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	for (size_t j = 0; j < en->n_jobs; j++) {
		struct eval_job *job = en->jobs[j];
		it->evals = xrealloc(it->evals, (it->n_evals + 1) * sizeof *it->evals);
		struct evaluation *ev = &it->evals[it->n_evals++];
		ev->choice = job->choice;
		ev->score = run_batch_score(job->batch);
		ev->scores = xmalloc((it->n_val ? it->n_val : 1) * sizeof *ev->scores);
		memcpy(ev->scores, run_batch_scores(job->batch), it->n_val * sizeof *ev->scores);
		if (en->bo) {
			struct err e = {{0}};
			bo_observe(en->bo, ev->choice, ev->score, &e);
		}
		bool incumbent = true;
		for (size_t i = 0; i < s->n_steps; i++)
			incumbent = incumbent && ev->choice[i] == 0;
		if (incumbent)
			it->base_score = en->val_score = ev->score; /* the incumbent, measured */
		engine_emit(en, EV_EVAL_DONE, -1, (long)(it->n_evals - 1), NULL);
		engine_bury_batch(en, job->batch);
		free(job->variants);
		free(job->config);
		free(job);
	}
	en->n_jobs = 0;
}

int stage_selection_start(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	val_sample(en, it);
	int *nch = xcalloc(s->n_steps, sizeof *nch);
	size_t total = 1;
	for (size_t i = 0; i < s->n_steps; i++) {
		nch[i] = 1 + (int)(it->n_cands ? it->n_cands[i] : 0);
		total *= (size_t)nch[i];
	}
	en->bo = bo_new((int)s->n_steps, nch, s->opt.seed + (uint64_t)it->number);
	size_t max = MIN((size_t)s->opt.eval_budget, total);
	int *configs = xcalloc(max * s->n_steps + 1, sizeof *configs);
	size_t n = bo_initial_design(en->bo, configs, max);
	en->launching = true;
	for (size_t k = 0; k < n; k++)
		launch_eval(en, it, &configs[k * s->n_steps]);
	en->launching = false;
	free(configs);
	free(nch);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

int stage_selection_search(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	collect_evals(en, it);
	int *next = xcalloc(s->n_steps, sizeof *next);
	en->launching = true;
	while (it->n_evals + en->n_jobs < (size_t)s->opt.eval_budget && !en->jobs_left) {
		if (bo_suggest(en->bo, next) < 0)
			break;
		if (evaluated(it, next, s->n_steps)) {
			struct err e = {{0}};
			bo_observe(en->bo, next, NAN, &e);
			continue;
		}
		launch_eval(en, it, next);
		if (!en->jobs_left)
			collect_evals(en, it); /* answered from the memo at once */
	}
	en->launching = false;
	free(next);
	if (en->jobs_left)
		return STAGE_WAIT; /* called again when this evaluation is back */
	bo_free(en->bo);
	en->bo = NULL;
	return STAGE_DONE;
}

/* ---- Shapley ---- */

struct players {
	int m;
	int step[SHAPLEY_MAX_PLAYERS];
	int strong[SHAPLEY_MAX_PLAYERS]; /* candidate choice of the strong prompt */
};

static int best_eval(const struct iteration *it)
{
	int best = -1;
	for (size_t e = 0; e < it->n_evals; e++)
		if (best < 0 || it->evals[e].score > it->evals[best].score)
			best = (int)e;
	return best;
}

static void find_players(const struct engine *en, const struct iteration *it, struct players *p)
{
	const struct session *s = en->s;
	p->m = 0;
	int best = best_eval(it);
	for (size_t i = 0; i < s->n_steps && p->m < SHAPLEY_MAX_PLAYERS; i++) {
		if (!it->n_cands || !it->n_cands[i])
			continue;
		/* strong: the candidate that did best changed alone, else the best combination's */
		int strong = 0;
		double strong_score = -1;
		for (size_t e = 0; e < it->n_evals; e++) {
			const int *c = it->evals[e].choice;
			bool alone = c[i] > 0;
			for (size_t k = 0; k < s->n_steps && alone; k++)
				alone = k == i || c[k] == 0;
			if (alone && it->evals[e].score > strong_score) {
				strong = c[i];
				strong_score = it->evals[e].score;
			}
		}
		if (!strong)
			strong = best >= 0 && it->evals[best].choice[i] > 0
			             ? it->evals[best].choice[i]
			             : 1;
		p->step[p->m] = (int)i;
		p->strong[p->m] = strong;
		p->m++;
	}
}

static void mask_choice(const struct engine *en, const struct players *p, uint32_t mask, int *c)
{
	memset(c, 0, en->s->n_steps * sizeof *c);
	for (int j = 0; j < p->m; j++)
		if (mask & (1u << j))
			c[p->step[j]] = p->strong[j];
}

/* The coalition of an evaluated configuration, or -1 when it is not weak/strong per player. */
static long eval_mask(const struct engine *en, const struct players *p, const int *c)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < en->s->n_steps; i++) {
		if (c[i] == 0)
			continue;
		int j = 0;
		while (j < p->m && p->step[j] != (int)i)
			j++;
		if (j == p->m || c[i] != p->strong[j])
			return -1;
		mask |= 1u << j;
	}
	return mask;
}

struct mask_set {
	uint32_t *m;
	size_t n, cap;
};

static double record_mask(void *arg, uint32_t mask)
{
	struct mask_set *ms = arg;
	for (size_t i = 0; i < ms->n; i++)
		if (ms->m[i] == mask)
			return 0;
	ms->m = xgrow(ms->m, &ms->cap, ms->n + 1, sizeof *ms->m);
	ms->m[ms->n++] = mask;
	return 0;
}

#define SHAPLEY_PERMUTATIONS 24
#define SHAPLEY_BOOTSTRAP    200

int stage_shapley_needs(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed)
		return STAGE_NEXT;
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0)
		return STAGE_NEXT;
	size_t n_obs = 0;
	for (size_t e = 0; e < it->n_evals; e++)
		n_obs += eval_mask(en, &p, it->evals[e].choice) >= 0;
	enum shapley_method method = shapley_choose(p.m, en->s->opt.eval_budget + 1, n_obs);
	it->shapley_method = shapley_method_name(method);
	struct mask_set need = {0};
	if (method == SHAPLEY_EXACT) {
		for (uint32_t mask = 0; mask < (1u << p.m); mask++)
			record_mask(&need, mask);
	} else if (method == SHAPLEY_PERMUTATION) {
		struct rng r;
		rng_seed(&r, en->s->opt.seed);
		double *phi = xcalloc((size_t)p.m, sizeof *phi);
		struct err e = {{0}};
		shapley_permutation(p.m, record_mask, &need, SHAPLEY_PERMUTATIONS, &r, phi, &e);
		free(phi);
	} else {
		record_mask(&need, 0);
		record_mask(&need, (1u << p.m) - 1);
	}
	int *c = xcalloc(en->s->n_steps, sizeof *c);
	en->launching = true;
	for (size_t k = 0; k < need.n; k++) {
		mask_choice(en, &p, need.m[k], c);
		if (!evaluated(it, c, en->s->n_steps))
			launch_eval(en, it, c);
	}
	en->launching = false;
	free(c);
	free(need.m);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

int stage_shapley_compute(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	collect_evals(en, it);
	it->phi = xcalloc(s->n_steps, sizeof *it->phi);
	it->phi_sd = xcalloc(s->n_steps, sizeof *it->phi_sd);
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0) {
		it->shapley_method = "none";
		engine_emit(en, EV_SHAPLEY_READY, -1, -1, NULL);
		return STAGE_DONE;
	}
	uint32_t *masks = xcalloc(it->n_evals, sizeof *masks);
	double *scores = xcalloc(it->n_evals * (it->n_val ? it->n_val : 1), sizeof *scores);
	size_t n = 0;
	for (size_t e = 0; e < it->n_evals; e++) {
		long mask = eval_mask(en, &p, it->evals[e].choice);
		if (mask < 0)
			continue;
		masks[n] = (uint32_t)mask;
		memcpy(&scores[n * it->n_val], it->evals[e].scores, it->n_val * sizeof *scores);
		n++;
	}
	enum shapley_method method = strcmp(it->shapley_method, "exact") == 0 ? SHAPLEY_EXACT
	                             : strcmp(it->shapley_method, "permutation") == 0
	                                 ? SHAPLEY_PERMUTATION
	                                 : SHAPLEY_KERNEL;
	struct shapley_boot opt = {method, SHAPLEY_PERMUTATIONS, s->opt.seed, SHAPLEY_BOOTSTRAP,
	                           s->opt.seed + 17};
	double phi[SHAPLEY_MAX_PLAYERS], sd[SHAPLEY_MAX_PLAYERS];
	struct err e = {{0}};
	if (shapley_bootstrap(p.m, masks, scores, n, it->n_val, &opt, phi, sd, NULL, NULL, &e) <
	    0) {
		char *msg = xasprintf("Shapley: %s", e.msg);
		engine_emit(en, EV_ERROR, -1, -1, msg);
		free(msg);
	} else {
		for (int j = 0; j < p.m; j++) {
			it->phi[p.step[j]] = phi[j];
			it->phi_sd[p.step[j]] = sd[j];
		}
	}
	free(masks);
	free(scores);
	engine_emit(en, EV_SHAPLEY_READY, -1, -1, NULL);
	return STAGE_DONE;
}

/* ---- allocation and proposal ---- */

int stage_allocation(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	bool *elig = xcalloc(s->n_steps, sizeof *elig);
	int k = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		k += elig[i] = step_optimizable(&s->steps[i]);
	it->next_budget = xcalloc(s->n_steps, sizeof *it->next_budget);
	double *phi = it->phi ? it->phi : xcalloc(s->n_steps, sizeof *phi);
	struct err e = {{0}};
	alloc_budgets((int)s->n_steps, phi, elig, MAX(s->opt.budget_total, s->opt.budget_floor * k),
	              s->opt.budget_floor, it->next_budget, &e);
	if (phi != it->phi)
		free(phi);
	free(elig);
	return STAGE_DONE;
}

static struct demo *copy_demos(const struct demo *d, size_t n)
{
	struct demo *c = xcalloc(n ? n : 1, sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[i] = (struct demo){xstrdup(d[i].input), xstrdup(d[i].output)};
	return c;
}

int stage_proposal(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	it->best_eval = best_eval(it);
	it->best_score = it->best_eval >= 0 ? it->evals[it->best_eval].score : it->base_score;
	if (it->best_eval >= 0) {
		const int *c = it->evals[it->best_eval].choice;
		it->changes = xcalloc(s->n_steps, sizeof *it->changes);
		for (size_t i = 0; i < s->n_steps; i++) {
			if (c[i] <= 0)
				continue;
			const struct candidate *cd = &it->cands[i][c[i] - 1];
			it->changes[it->n_changes++] =
			    (struct step_change){(int)i,
			                         xstrdup(s->steps[i].prompt),
			                         xstrdup(cd->prompt),
			                         copy_demos(cd->demos, cd->n_demos),
			                         cd->n_demos,
			                         DECISION_NONE,
			                         NULL};
		}
	}
	if (it->n_evals)
		en->val_score = it->base_score;
	engine_emit(en, EV_PROPOSAL_READY, -1, -1, NULL);
	return STAGE_DONE;
}

int stage_decision(struct engine *en, struct iteration *it, bool resumed)
{
	(void)en, (void)it, (void)resumed;
	return STAGE_DONE; /* decisions come as commands; engine.c closes the iteration */
}

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

/* ---- selection without the search (optimizer.ablate.selection "per_step") ----
 * The ablation of global selection: the incumbent and every candidate alone are evaluated, each
 * step keeps its best candidate when it beat the incumbent alone, and the combination of these
 * winners is evaluated once for its own score.  No other combination is tried. */
static bool per_step(const struct engine *en)
{
	return en->s->opt.ablate[ABLATE_SELECTION] == SELECT_PER_STEP;
}

/* win[i]: step i's best candidate evaluated alone when it beat the incumbent, else 0. */
static void per_step_winners(const struct engine *en, const struct iteration *it, int *win)
{
	size_t m = en->s->n_steps;
	double *best = xcalloc(m, sizeof *best);
	memset(win, 0, m * sizeof *win);
	for (size_t e = 0; e < it->n_evals; e++) {
		const int *c = it->evals[e].choice;
		int step = -1, changed = 0;
		for (size_t i = 0; i < m; i++)
			if (c[i] > 0)
				step = (int)i, changed++;
		double sc = it->evals[e].score;
		if (changed == 1 && sc > it->base_score && (!win[step] || sc > best[step]))
			win[step] = c[step], best[step] = sc;
	}
	free(best);
}

static void per_step_start(struct engine *en, struct iteration *it)
{
	size_t m = en->s->n_steps;
	int *c = xcalloc(m, sizeof *c);
	en->launching = true;
	launch_eval(en, it, c); /* the incumbent */
	for (size_t i = 0; i < m; i++) {
		for (size_t k = 1; it->n_cands && k <= it->n_cands[i]; k++) {
			c[i] = (int)k;
			launch_eval(en, it, c);
		}
		c[i] = 0;
	}
	en->launching = false;
	free(c);
}

static int per_step_finish(struct engine *en, struct iteration *it)
{
	size_t m = en->s->n_steps;
	collect_evals(en, it);
	int *win = xcalloc(m, sizeof *win), changed = 0;
	per_step_winners(en, it, win);
	for (size_t i = 0; i < m; i++)
		changed += win[i] > 0;
	if (changed >= 2 && !evaluated(it, win, m)) {
		en->launching = true;
		launch_eval(en, it, win);
		en->launching = false;
		if (!en->jobs_left)
			collect_evals(en, it); /* answered from the memo at once */
	}
	free(win);
	return en->jobs_left ? STAGE_WAIT : STAGE_DONE;
}

/* The evaluation of the winners' combination (the incumbent's when no step won), or -1. */
static int per_step_eval(const struct engine *en, const struct iteration *it)
{
	size_t m = en->s->n_steps;
	int *win = xcalloc(m, sizeof *win), found = -1;
	per_step_winners(en, it, win);
	for (size_t e = 0; e < it->n_evals && found < 0; e++)
		if (memcmp(it->evals[e].choice, win, m * sizeof *win) == 0)
			found = (int)e;
	free(win);
	return found;
}

int stage_selection_start(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	val_sample(en, it);
	if (per_step(en)) {
		per_step_start(en, it);
		return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
	}
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
	if (per_step(en))
		return per_step_finish(en, it);
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

/* The players: every optimizable step with candidates, whatever their number. */
struct players {
	int m;
	int *step;
	int *strong; /* candidate choice of the strong prompt */
};

static void players_free(struct players *p)
{
	free(p->step);
	free(p->strong);
}

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
	p->step = xcalloc(s->n_steps + 1, sizeof *p->step);
	p->strong = xcalloc(s->n_steps + 1, sizeof *p->strong);
	int best = best_eval(it);
	for (size_t i = 0; i < s->n_steps; i++) {
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

/* Coalitions are shapley_words(m) words (shapley.h). */
static void mask_choice(const struct engine *en, const struct players *p, const uint64_t *mask,
                        int *c)
{
	memset(c, 0, en->s->n_steps * sizeof *c);
	for (int j = 0; j < p->m; j++)
		if (mask[j / 64] >> (j % 64) & 1)
			c[p->step[j]] = p->strong[j];
}

/* The coalition of an evaluated configuration; false when it is not weak/strong per player. */
static bool eval_mask(const struct engine *en, const struct players *p, const int *c,
                      uint64_t *mask)
{
	memset(mask, 0, shapley_words(p->m) * sizeof *mask);
	for (size_t i = 0; i < en->s->n_steps; i++) {
		if (c[i] == 0)
			continue;
		int j = 0;
		while (j < p->m && p->step[j] != (int)i)
			j++;
		if (j == p->m || c[i] != p->strong[j])
			return false;
		mask[j / 64] |= (uint64_t)1 << (j % 64);
	}
	return true;
}

/* The coalitions among the evaluations (n_have of them); index[k] is the evaluation of have[k].
 * Both caller-freed. */
static uint64_t *evaluated_masks(const struct engine *en, const struct iteration *it,
                                 const struct players *p, size_t *n_have, size_t **index)
{
	size_t w = shapley_words(p->m);
	uint64_t *have = xcalloc((it->n_evals + 1) * w, sizeof *have);
	*index = xcalloc(it->n_evals + 1, sizeof **index);
	*n_have = 0;
	for (size_t e = 0; e < it->n_evals; e++)
		if (eval_mask(en, p, it->evals[e].choice, &have[*n_have * w]))
			(*index)[(*n_have)++] = e;
	return have;
}

#define SHAPLEY_PERMUTATIONS 24
#define SHAPLEY_BOOTSTRAP    200

static enum shapley_method method_for(const struct engine *en, int m, size_t n_have)
{
	return shapley_choose(m, en->s->opt.eval_budget + 1, n_have);
}

long phases_shapley_extra(const struct engine *en, const struct iteration *it)
{
	const struct session *s = en->s;
	if (it && it->n_evals) { /* selection has run: exactly what the phase will launch */
		struct players p;
		find_players(en, it, &p);
		size_t n_have, *index;
		uint64_t *have = evaluated_masks(en, it, &p, &n_have, &index);
		long n =
		    p.m > SHAPLEY_MAX_PLAYERS
		        ? 0
		        : shapley_missing(method_for(en, p.m, n_have), p.m, SHAPLEY_PERMUTATIONS,
		                          s->opt.seed, have, n_have, NULL);
		free(have);
		free(index);
		players_free(&p);
		return MAX(n, 0);
	}
	/* before selection: every optimizable step a player, the search's initial design
	 * (incumbent, each step alone, all-best) within eval_budget evaluated */
	int m = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		m += step_optimizable(&s->steps[i]) && (!it || !it->budget || it->budget[i] > 0);
	if (m == 0 || m > SHAPLEY_MAX_PLAYERS)
		return 0;
	size_t n_have = MIN((size_t)s->opt.eval_budget, (size_t)m + 2), w = shapley_words(m);
	uint64_t *have = xcalloc(n_have * w, sizeof *have);
	for (size_t k = 1; k < n_have; k++) /* have[0]: the incumbent, no one */
		for (int i = 0; i < m; i++)
			if (k == (size_t)m + 1 || k == (size_t)i + 1)
				have[k * w + (size_t)i / 64] |= (uint64_t)1 << (i % 64);
	long n = shapley_missing(method_for(en, m, n_have), m, SHAPLEY_PERMUTATIONS, s->opt.seed,
	                         have, n_have, NULL);
	free(have);
	return MAX(n, 0);
}

long engine_shapley_extra(const struct engine *en)
{
	const struct iteration *it = en->n_iters ? en->iters[en->n_iters - 1] : NULL;
	return phases_shapley_extra(en, it && it->phase <= PHASE_SHAPLEY ? it : NULL);
}

int stage_shapley_needs(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed)
		return STAGE_NEXT;
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0 || p.m > SHAPLEY_MAX_PLAYERS) {
		players_free(&p);
		return STAGE_NEXT;
	}
	size_t n_have, *index;
	uint64_t *have = evaluated_masks(en, it, &p, &n_have, &index), *need = NULL;
	enum shapley_method method = method_for(en, p.m, n_have);
	it->shapley_method = shapley_method_name(method);
	/* kernel asks for nothing; exact and permutation for the coalitions selection skipped,
	 * which the projection counted (phases_shapley_extra) */
	long n = shapley_missing(method, p.m, SHAPLEY_PERMUTATIONS, en->s->opt.seed, have, n_have,
	                         &need);
	it->shapley_extra = MAX(n, 0);
	int *c = xcalloc(en->s->n_steps, sizeof *c);
	en->launching = true;
	for (long k = 0; k < n; k++) {
		mask_choice(en, &p, &need[(size_t)k * shapley_words(p.m)], c);
		if (!evaluated(it, c, en->s->n_steps))
			launch_eval(en, it, c);
	}
	en->launching = false;
	free(c);
	free(need);
	free(have);
	free(index);
	players_free(&p);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

/* What the views and --run --json say about an estimate that the evaluations did not pin
 * down; NULL when they did. */
static char *fit_note(const struct shapley_fit *f, int m)
{
	if (!f->ridged && !f->end_estimated)
		return NULL;
	return xasprintf("kernel from %zu evaluated coalition(s) for %d step(s)%s%s", f->used, m,
	                 f->end_estimated ? "; the all-best (or all-incumbent) configuration "
	                                    "was not evaluated: the fit predicts it"
	                                  : "",
	                 f->ridged ? "; under-determined: what the evaluations show is kept, "
	                             "the rest is split equally"
	                           : "");
}

int stage_shapley_compute(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	collect_evals(en, it);
	it->phi = xcalloc(s->n_steps, sizeof *it->phi);
	it->phi_sd = xcalloc(s->n_steps, sizeof *it->phi_sd);
	free(it->shapley_note);
	it->shapley_note = NULL;
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0 || p.m > SHAPLEY_MAX_PLAYERS) {
		it->shapley_method = "none";
		if (p.m)
			it->shapley_note = xasprintf("%d steps with candidates; Shapley credit "
			                             "supports at most %d",
			                             p.m, SHAPLEY_MAX_PLAYERS);
		players_free(&p);
		engine_emit(en, EV_SHAPLEY_READY, -1, -1, NULL);
		return STAGE_DONE;
	}
	size_t n, *index;
	uint64_t *masks = evaluated_masks(en, it, &p, &n, &index);
	double *scores = xcalloc((n ? n : 1) * (it->n_val ? it->n_val : 1), sizeof *scores);
	for (size_t k = 0; k < n; k++)
		memcpy(&scores[k * it->n_val], it->evals[index[k]].scores,
		       it->n_val * sizeof *scores);
	enum shapley_method method = strcmp(it->shapley_method, "exact") == 0 ? SHAPLEY_EXACT
	                             : strcmp(it->shapley_method, "permutation") == 0
	                                 ? SHAPLEY_PERMUTATION
	                                 : SHAPLEY_KERNEL;
	struct shapley_boot opt = {.method = method,
	                           .n_perm = SHAPLEY_PERMUTATIONS,
	                           .perm_seed = s->opt.seed,
	                           .n_boot = SHAPLEY_BOOTSTRAP,
	                           .seed = s->opt.seed + 17};
	double *phi = xcalloc((size_t)p.m, sizeof *phi), *sd = xcalloc((size_t)p.m, sizeof *sd);
	struct err e = {{0}};
	if (shapley_bootstrap(p.m, masks, scores, n, it->n_val, &opt, phi, sd, NULL, NULL, &e) <
	    0) {
		char *msg = xasprintf("Shapley: %s", e.msg);
		engine_emit(en, EV_ERROR, -1, -1, msg);
		it->shapley_note = msg;
	} else {
		for (int j = 0; j < p.m; j++) {
			it->phi[p.step[j]] = phi[j];
			it->phi_sd[p.step[j]] = sd[j];
		}
		if (method == SHAPLEY_KERNEL) {
			it->shapley_note = fit_note(&opt.fit, p.m);
			it->shapley_underdetermined = opt.fit.ridged;
		}
	}
	free(phi);
	free(sd);
	free(masks);
	free(index);
	free(scores);
	players_free(&p);
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
	/* uniform (the ablation of resource allocation): no credit, so equal shares */
	bool uniform = s->opt.ablate[ABLATE_ALLOCATION] == ALLOC_UNIFORM;
	double *phi = it->phi && !uniform ? it->phi : xcalloc(s->n_steps, sizeof *phi);
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
	it->best_eval = per_step(en) ? per_step_eval(en, it) : best_eval(it);
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
			                         DECIDER_UNKNOWN,
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

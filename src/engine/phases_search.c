/* phases_search.c: from the candidates to a proposal: Bayesian optimization over their
 * combinations on validation (screened in rungs), Shapley credit, budget allocation, and the
 * proposal.  The candidates themselves: phases_candidates.c. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alloc.h"
#include "engine/bo.h"
#include "engine/engine_int.h"
#include "engine/phases.h"
#include "engine/shapley.h"

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

/* ---- screening ----
 * With optimizer.screen_size n0 > 0 (unset: 30 when the validation sample holds at least 90
 * examples, session.h SCREEN_AUTO) and a validation sample of at least 3 n0 examples, every
 * configuration is first run on a seeded subsample of n0 of them (the incumbent on all of them
 * from the start), and Shapley values are computed on the subsample.
 * Successive halving in rungs: the rungs are the first n0, 2 n0, 4 n0, ... examples of one
 * seeded order (while a rung is at most half the sample), then the whole sample; 300 examples
 * and n0 = 30: 30, 60, 120, 300.  A configuration climbs in two ways.  While the search runs
 * (racing, before each new suggestion), no higher than the top rung (the largest below the
 * whole sample), and only while it is ahead of L, the best mean on the top rung's examples (the
 * incumbent's at first), on the examples it ran and the paired rule below keeps it against L;
 * while nothing scores 1 on the whole sample, one that scores 1 on the whole top rung goes on
 * to the whole sample at once (where a 1 ends the search).  After the search and after Shapley's
 * evaluations, to the whole sample while it can still beat B, the best configuration measured
 * there.  The paired rule, on the examples both ran: with d_j = score_c(j) - score_L/B(j), mean(d)
 * and SE = sd(d) / sqrt(n), c is dropped when mean(d) + SCREEN_Z SE <= 0 while SE > SCREEN_SE_MIN
 * (below zero by more than SCREEN_Z standard errors), or when mean(d) <= 0 once SE <= SCREEN_SE_MIN
 * (so few examples differ that the SE says nothing: only a gain keeps it; ties go to the
 * configuration met first).  One climb at a time, the best rung mean first; a climb runs the rung's
 * examples: the run memo answers those of the rungs below.  eval_budget counts a configuration
 * measured on the whole sample as one and one left below it as the share of the sample it ran, at
 * least SCREEN_MIN_SHARE and SCREEN_SHARE_FIRST times the first rung's share (search_share).  The
 * search's Gaussian process sees each configuration's estimate from the most examples it ran
 * (screen_estimate).  The proposal is the best on the whole sample (ties: the one evaluated first).
 * bench/README.md 7.3 measures it. */

#define SCREEN_Z           2.0
#define SCREEN_SE_MIN      0.02
#define SCREEN_PLAN_CLIMBS 3    /* configurations the projection takes to each middle rung */
#define SCREEN_MIN_SHARE   0.25 /* of eval_budget, a configuration screened out takes at least */
#define SCREEN_SHARE_FIRST 2.5  /* and at least this times the first rung's share */

static size_t screen_size(const struct engine *en, size_t n_val)
{
	int set = en->s->opt.screen_size;
	size_t n0 = set != SCREEN_AUTO          ? (size_t)set
	            : n_val >= SCREEN_SIZE_FROM ? SCREEN_SIZE_DEFAULT
	                                        : 0;
	return n0 && n0 * 3 <= n_val ? n0 : 0;
}

/* The rungs' examples: positions of val_idx in a seeded order, fixed like the sample itself;
 * each rung's new examples sorted among themselves. */
static void screen_sample(struct engine *en, struct iteration *it)
{
	size_t n0 = screen_size(en, it->n_val), top = n0;
	if (!n0)
		return;
	while (2 * top <= it->n_val / 2)
		top *= 2;
	size_t *perm = xcalloc(it->n_val, sizeof *perm);
	for (size_t i = 0; i < it->n_val; i++)
		perm[i] = i;
	struct rng r;
	rng_seed(&r, en->s->opt.seed * 104729u + 11u +
	                 (en->s->opt.val_resample ? (uint64_t)it->number - 1 : 0));
	for (size_t i = 0; i < top; i++) {
		size_t j = i + (size_t)rng_below(&r, it->n_val - i), t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	for (size_t lo = 0, hi = n0; lo < top; lo = hi, hi *= 2)
		qsort(perm + lo, hi - lo, sizeof *perm, cmp_size);
	it->screen_pos = perm;
	it->screen_idx = xcalloc(top, sizeof *it->screen_idx);
	for (size_t k = 0; k < top; k++)
		it->screen_idx[k] = it->val_idx[perm[k]];
	it->n_screen = n0;
	it->n_screen_pos = top;
}

void selection_plan(const struct engine *en, const struct iteration *it, struct eval_plan *p)
{
	const struct session *s = en->s;
	const struct split *val = &s->data.splits[SPLIT_VAL];
	size_t n_val = it && it->val_idx ? it->n_val
	                                 : MIN((size_t)s->opt.val_size,
	                                       (val->n ? val : &s->data.splits[SPLIT_TRAIN])->n);
	size_t n0 = it && it->val_idx ? it->n_screen : screen_size(en, n_val);
	long budget = s->opt.eval_budget;
	memset(p, 0, sizeof *p);
	p->configs[0] = budget, p->examples[0] = (long)(n0 ? n0 : n_val), p->n_stages = 1;
	if (!n0)
		return;
	size_t r = n0;
	while (p->n_stages < EVAL_PLAN_STAGES - 1 && 2 * (2 * r) <= n_val) { /* screen_sample's */
		r *= 2;
		p->configs[p->n_stages] = MIN(budget, SCREEN_PLAN_CLIMBS);
		p->examples[p->n_stages++] = (long)r;
	}
	p->configs[p->n_stages] = MIN(budget, 2), p->examples[p->n_stages++] = (long)n_val;
}

/* What the search and Shapley compare: every configuration on the screening subsample (the
 * first rung, which all ran), or without screening the full evaluations. */
struct table {
	const struct evaluation *ev;
	size_t n, n_ex;
};

static struct table eval_table(const struct iteration *it)
{
	if (it->n_screen)
		return (struct table){it->screened, it->n_screened, it->n_screen};
	return (struct table){it->evals, it->n_evals, it->n_val};
}

long phases_find_eval(const struct evaluation *ev, size_t n, const int *choice, size_t m)
{
	for (size_t e = 0; e < n; e++)
		if (memcmp(ev[e].choice, choice, m * sizeof *choice) == 0)
			return (long)e;
	return -1;
}

/* Evaluation e's mean on the examples every configuration of the table ran (t.n_ex: with
 * screening, the first rung; a screened score is the mean on however many rungs it climbed). */
static double table_score(struct table t, size_t e)
{
	const struct evaluation *ev = &t.ev[e];
	if (!ev->scores || !t.n_ex)
		return ev->score;
	double sum = 0;
	for (size_t k = 0; k < t.n_ex; k++)
		sum += ev->scores[k];
	return sum / (double)t.n_ex;
}

static bool evaluated(const struct iteration *it, const int *choice, size_t m)
{
	struct table t = eval_table(it);
	return phases_find_eval(t.ev, t.n, choice, m) >= 0;
}

/* A screened configuration's scores on the first n rung examples (n_val: a full run's, picked
 * out at the rungs' positions); its score, the mean over the rung examples it ran. */
static void screen_set(struct iteration *it, size_t e, const double *scores, size_t n)
{
	struct evaluation *ev = &it->screened[e];
	bool full = n >= it->n_val;
	size_t have = full ? it->n_screen_pos : MIN(n, it->n_screen_pos);
	double sum = 0;
	for (size_t k = 0; k < have; k++)
		sum += ev->scores[k] = scores[full ? it->screen_pos[k] : k];
	ev->score = sum / (double)have;
	it->screen_n[e] = full ? it->n_val : have;
}

/* Adds a configuration to it->screened with its scores on the first n rung examples. */
static struct evaluation *screen_add(struct iteration *it, const int *choice, size_t m,
                                     const double *scores, size_t n)
{
	it->screened = xrealloc(it->screened, (it->n_screened + 1) * sizeof *it->screened);
	it->screen_n = xrealloc(it->screen_n, (it->n_screened + 1) * sizeof *it->screen_n);
	struct evaluation *ev = &it->screened[it->n_screened++];
	*ev = (struct evaluation){0};
	ev->choice = xmalloc(m * sizeof *ev->choice);
	memcpy(ev->choice, choice, m * sizeof *choice);
	ev->scores = xcalloc(it->n_screen_pos, sizeof *ev->scores);
	screen_set(it, it->n_screened - 1, scores, n);
	return ev;
}

bool phases_can_still_win(const double *c, const double *l, size_t n)
{
	double mean = 0, ss = 0;
	for (size_t j = 0; j < n; j++)
		mean += c[j] - l[j];
	mean /= (double)(n ? n : 1);
	for (size_t j = 0; j < n; j++) {
		double d = c[j] - l[j] - mean;
		ss += d * d;
	}
	double se = n > 1 ? sqrt(ss / (double)(n - 1)) / sqrt((double)n) : 0;
	if (!n)
		return false;
	return se > SCREEN_SE_MIN ? mean + SCREEN_Z * se > 0 : mean > 0;
}

/* Whether c's mean on the first n examples is above l's. */
static bool screen_ahead(const double *c, const double *l, size_t n)
{
	double d = 0;
	for (size_t j = 0; j < n; j++)
		d += c[j] - l[j];
	return d > 0;
}

/* Screened configuration e's mean on the top rung's examples, or -1 when it did not run them. */
static double top_rung_mean(const struct iteration *it, size_t e)
{
	if (it->screen_n[e] < it->n_screen_pos)
		return -1;
	double sum = 0;
	for (size_t k = 0; k < it->n_screen_pos; k++)
		sum += it->screened[e].scores[k];
	return sum / (double)it->n_screen_pos;
}

/* The leader of the top rung: the best mean on its examples of those that ran them (the
 * incumbent always has), or -1. */
static long top_rung_leader(const struct iteration *it)
{
	long lead = -1;
	double best = -1;
	for (size_t e = 0; e < it->n_screened; e++) {
		double mean = top_rung_mean(it, e);
		if (mean > best)
			lead = (long)e, best = mean;
	}
	return lead;
}

/* The first configuration perfect on the top rung that has not run the whole sample, or -1. */
static long top_rung_perfect(const struct iteration *it)
{
	for (size_t e = 0; e < it->n_screened; e++)
		if (it->screen_n[e] < it->n_val && top_rung_mean(it, e) >= 1)
			return (long)e;
	return -1;
}

/* The configuration to climb next of those below `below` examples: the best rung mean of
 * those the paired rule keeps against leader l (and, when `ahead`, that are ahead of it on
 * the examples they ran), or -1. */
static long next_climb(const struct iteration *it, long l, size_t below, bool ahead)
{
	long go = -1;
	for (size_t e = 0; l >= 0 && e < it->n_screened; e++) {
		const struct evaluation *c = &it->screened[e];
		const double *ls = it->screened[l].scores;
		size_t n = it->screen_n[e];
		if (n < below && (go < 0 || c->score > it->screened[go].score) &&
		    phases_can_still_win(c->scores, ls, n) &&
		    (!ahead || screen_ahead(c->scores, ls, n)))
			go = (long)e;
	}
	return go;
}

static int best_eval(const struct engine *en, const struct iteration *it);
static bool launch_eval_on(struct engine *en, struct iteration *it, const int *choice, size_t n);

/* Racing (above): launches the next climb, or returns false when there is none (or one is in
 * flight).  While the search runs, a configuration climbs no higher than the top rung, and only
 * while it is ahead of the top rung's leader on the examples it ran and the paired rule keeps
 * it; after the search, it climbs to the whole sample while it can still beat B, the best
 * configuration measured there. */
static bool race(struct engine *en, struct iteration *it, bool searching)
{
	size_t m = en->s->n_steps;
	int b = it->n_screen && !en->jobs_left && !en->cap_reason ? best_eval(en, it) : -1;
	if (b < 0)
		return false;
	long go = -1;
	if (searching) {
		/* perfect on the top rung while nothing is on the whole sample: there at once (the
		 * first such, whoever leads: it may tie an incumbent perfect there too) */
		if (it->evals[b].score < 1)
			go = top_rung_perfect(it);
		if (go < 0)
			go = next_climb(it, top_rung_leader(it), it->n_screen_pos, true);
	} else {
		long bs = phases_find_eval(it->screened, it->n_screened, it->evals[b].choice, m);
		go = next_climb(it, bs, it->n_val, false);
	}
	if (go < 0)
		return false;
	en->launching = true;
	bool launched = launch_eval_on(en, it, it->screened[go].choice,
	                               iteration_next_rung(it, it->screen_n[go]));
	en->launching = false;
	return launched;
}

/* ---- launching in slices ----
 * An evaluation is queued when it is launched, the forward pass's batch when it is prepared; an
 * event source of the LLM loop starts the queued examples, at most EVAL_SLICE a turn of the
 * loop, so that starting a search's evaluations or a forward pass (renders, memo look-ups,
 * submissions for every example and step the memo answers: 10-12 ms for 300 examples) never
 * holds the loop for long: keys and the screen are served in between. */

#define EVAL_SLICE 128

static void prepare_job(struct engine *en, struct iteration *it, struct eval_job *job)
{
	struct run_callbacks cb = {NULL, NULL, phases_batch_done, en, NULL};
	const char *tag = it->phase == PHASE_SHAPLEY ? "shapley" : "select";
	job->batch = job->full ? runner_prepare(en->runner, job->config, phases_val_split(en),
	                                        it->val_idx, it->n_val, tag, &cb)
	                       : runner_prepare(en->runner, job->config, phases_val_split(en),
	                                        it->screen_idx, job->n_ex, tag, &cb);
	/* a subsample's runs: only the scores are read; a whole-sample run may become the
	 * proposal's evidence (keep_traces) */
	if (!job->full)
		run_batch_drop_traces(job->batch);
}

static unsigned slicer_prepare(void *arg, struct pollfd *fds, int64_t *due_ms)
{
	(void)arg, (void)fds;
	*due_ms = now_ms(); /* at once, after what the loop has to serve */
	return 0;
}

static bool slicer_dispatch(void *arg, const struct pollfd *fds, unsigned n)
{
	(void)fds, (void)n;
	struct engine *en = arg;
	struct iteration *it = phases_current(en);
	size_t examples = 0;
	bool forward = en->batch && !run_batch_launched(en->batch);
	en->launching = true;
	if (forward) /* the forward pass's batch */
		examples += run_batch_launch(en->batch, EVAL_SLICE);
	while (en->n_started < en->n_jobs && examples < EVAL_SLICE) {
		struct eval_job *job = en->jobs[en->n_started];
		if (!job->batch)
			prepare_job(en, it, job);
		examples += run_batch_launch(job->batch, EVAL_SLICE - examples);
		en->n_started += run_batch_launched(job->batch);
	}
	en->launching = false;
	bool more = en->n_started < en->n_jobs || (en->batch && !run_batch_launched(en->batch));
	if (!more)
		en->slicer = 0;
	if (!en->jobs_left && en->busy)
		engine_work_done(en); /* all answered from the memo */
	return more;
}

static void slicer_cancel(void *arg)
{
	struct engine *en = arg;
	en->slicer = 0;
}

static const struct llm_source_ops slicer_ops = {slicer_prepare, slicer_dispatch, slicer_cancel};

void phases_launch_sliced(struct engine *en)
{
	if (!en->slicer)
		en->slicer = llm_source_add(en->llm, &slicer_ops, en);
}

/* Launches one evaluation on the first n rung examples (n_val or more: the whole sample), or
 * refuses it (false, en->cap_reason set) when the caps would not hold: what the session spent,
 * the evaluations in flight and this one at their projections. */
static bool launch_eval_on(struct engine *en, struct iteration *it, const int *choice, size_t n)
{
	const struct session *s = en->s;
	if (en->cap_reason)
		return false;
	bool full = n >= it->n_val || !it->n_screen;
	n = full ? it->n_val : MIN(n, it->n_screen_pos);
	double usd;
	long tokens;
	en->cap_reason = engine_eval_over_cap(en, it, choice, full ? it->val_idx : it->screen_idx,
	                                      n, &usd, &tokens);
	if (en->cap_reason)
		return false;
	en->committed_usd += usd, en->committed_tokens += tokens;
	struct eval_job *job = xcalloc(1, sizeof *job);
	job->en = en;
	job->full = full;
	job->n_ex = n;
	job->proj_usd = usd, job->proj_tokens = tokens;
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
	phases_launch_sliced(en);
	return true;
}

static bool launch_eval(struct engine *en, struct iteration *it, const int *choice, bool full)
{
	return launch_eval_on(en, it, choice, full ? it->n_val : it->n_screen);
}

/* What the search sees of screened configuration e: its whole-sample mean once it ran in full
 * (var 0); else the whole-sample mean of the nearest configuration r run in full (fewest
 * steps apart) plus the paired difference to r on the examples e ran, a noisy value of
 * variance var(d) / n (at least 1 / n^2: no difference seen is no proof of none); the mean on
 * those examples before anything ran in full. */
static double screen_estimate(const struct engine *en, const struct iteration *it, size_t e,
                              double *var)
{
	size_t m = en->s->n_steps, n = MIN(it->screen_n[e], it->n_screen_pos);
	const struct evaluation *c = &it->screened[e];
	long r = -1, rs = -1;
	size_t rh = m + 1;
	for (size_t f = 0; f < it->n_evals; f++) {
		size_t h = 0;
		for (size_t i = 0; i < m; i++)
			h += it->evals[f].choice[i] != c->choice[i];
		if (h < rh)
			r = (long)f, rh = h;
	}
	if (r >= 0 && !rh) {
		*var = 0;
		return it->evals[r].score;
	}
	if (r >= 0)
		rs = phases_find_eval(it->screened, it->n_screened, it->evals[r].choice, m);
	double mean = 0, ss = 0;
	for (size_t k = 0; k < n; k++)
		mean += c->scores[k] - (rs >= 0 ? it->screened[rs].scores[k] : 0);
	mean /= (double)n;
	for (size_t k = 0; k < n; k++)
		ss += pow(c->scores[k] - (rs >= 0 ? it->screened[rs].scores[k] : 0) - mean, 2);
	*var = MAX(n > 1 ? ss / (double)(n - 1) : 1, 1 / (double)n) / (double)n;
	return rs >= 0 ? it->evals[r].score + mean : mean;
}

/* A full evaluation came back: the search's view of every screened configuration again. */
static void screen_reobserve(struct engine *en, struct iteration *it)
{
	for (size_t e = 0; en->bo && e < it->n_screened; e++) {
		double var, est = screen_estimate(en, it, e, &var);
		bo_revise_noisy(en->bo, it->screened[e].choice, est, var);
	}
}

/* A finished job's part in the screening: its rung scores, the search's observation, and the
 * requests saved: the run's requests per new example times the examples it did not run (a
 * climb's run asks only its rung's new examples; the memo answers the others). */
static void screen_collect(struct engine *en, struct iteration *it, struct eval_job *job)
{
	size_t m = en->s->n_steps, n = job->full ? it->n_val : job->n_ex;
	long e = phases_find_eval(it->screened, it->n_screened, job->choice, m), before = 0;
	if (e >= 0) { /* a climb: the search sees the mean on more examples */
		before = (long)it->screen_n[e];
		screen_set(it, (size_t)e, run_batch_scores(job->batch), n);
		it->screen_saved -= en->screen_est[e];
	} else {
		screen_add(it, job->choice, m, run_batch_scores(job->batch), n);
		e = (long)it->n_screened - 1;
		en->screen_est = xgrow(en->screen_est, &en->cap_screen_est, it->n_screened,
		                       sizeof *en->screen_est);
	}
	long est = job->full || (long)n <= before
	               ? 0
	               : run_batch_calls(job->batch) * (long)(it->n_val - n) / ((long)n - before);
	en->screen_est[e] = est;
	it->screen_saved += est;
	double var = 0;
	double score = job->full ? run_batch_score(job->batch) : screen_estimate(en, it, e, &var);
	if (en->bo && before) {
		bo_revise_noisy(en->bo, job->choice, score, var);
	} else if (en->bo) {
		struct err err = {{0}};
		bo_observe_noisy(en->bo, job->choice, score, var, &err);
	}
}

void eval_free_traces(struct evaluation *ev, size_t n)
{
	for (size_t i = 0; ev->traces && i < n; i++)
		trace_free(&ev->traces[i]);
	free(ev->traces);
	ev->traces = NULL;
}

/* Keeps the traces of the incumbent's evaluation and of the best other one so far (the
 * proposal's evidence: both outputs of every validation example), never more than two sets. */
static void keep_traces(struct iteration *it, struct evaluation *ev, size_t m, bool incumbent,
                        struct run_batch *b)
{
	ev->traces = NULL; /* a new evaluation: its other fields are set by the caller */
	if (!incumbent) {
		struct evaluation *kept = NULL;
		for (size_t e = 0; e + 1 < it->n_evals; e++) {
			bool base = true;
			for (size_t i = 0; i < m; i++)
				base = base && it->evals[e].choice[i] == 0;
			if (it->evals[e].traces && !base)
				kept = &it->evals[e];
		}
		if (kept && !(ev->score > kept->score))
			return;
		if (kept)
			eval_free_traces(kept, it->n_val);
	}
	size_t n = 0;
	ev->traces = run_batch_take_traces(b, &n);
	if (n != it->n_val)
		eval_free_traces(ev, n);
}

/* Moves finished jobs into the iteration's evaluations. */
static void collect_evals(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	size_t had = it->n_evals;
	for (size_t j = 0; j < en->n_jobs; j++) {
		struct eval_job *job = en->jobs[j];
		en->committed_usd = MAX(0, en->committed_usd - job->proj_usd);
		en->committed_tokens = MAX(0, en->committed_tokens - job->proj_tokens);
		if (it->n_screen)
			screen_collect(en, it, job);
		if (!job->full) {
			engine_emit(en, EV_EVAL_DONE, -1, -1, NULL);
			engine_bury_batch(en, job->batch);
			free(job->choice);
			free(job->variants);
			free(job->config);
			free(job);
			continue;
		}
		it->evals = xrealloc(it->evals, (it->n_evals + 1) * sizeof *it->evals);
		struct evaluation *ev = &it->evals[it->n_evals++];
		ev->choice = job->choice;
		ev->score = run_batch_score(job->batch);
		ev->scores = xmalloc((it->n_val ? it->n_val : 1) * sizeof *ev->scores);
		memcpy(ev->scores, run_batch_scores(job->batch), it->n_val * sizeof *ev->scores);
		if (en->bo && !it->n_screen) {
			struct err e = {{0}};
			bo_observe(en->bo, ev->choice, ev->score, &e);
		}
		bool incumbent = true;
		for (size_t i = 0; i < s->n_steps; i++)
			incumbent = incumbent && ev->choice[i] == 0;
		if (incumbent) {
			it->base_score = en->val_score = ev->score; /* the incumbent, measured */
			engine_score_versions(en, INT_MAX, ev->score);
		}
		keep_traces(it, ev, s->n_steps, incumbent, job->batch);
		engine_emit(en, EV_EVAL_DONE, -1, (long)(it->n_evals - 1), NULL);
		engine_bury_batch(en, job->batch);
		free(job->variants);
		free(job->config);
		free(job);
	}
	en->n_jobs = en->n_started = 0;
	if (it->n_screen && it->n_evals > had)
		screen_reobserve(en, it);
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
	launch_eval(en, it, c, true); /* the incumbent */
	for (size_t i = 0; i < m; i++) {
		for (size_t k = 1; it->n_cands && k <= it->n_cands[i]; k++) {
			c[i] = (int)k;
			launch_eval(en, it, c, true);
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
		launch_eval(en, it, win, true);
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
	int *win = xcalloc(m, sizeof *win);
	per_step_winners(en, it, win);
	long found = phases_find_eval(it->evals, it->n_evals, win, m);
	free(win);
	return (int)found;
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
	screen_sample(en, it);
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
	for (size_t k = 0; k < n && !en->cap_reason; k++) /* the first, the incumbent, in full */
		launch_eval(en, it, &configs[k * s->n_steps], k == 0);
	en->launching = false;
	free(configs);
	free(nch);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

/* The search's proposals in flight at once.  One at a time in the strict order, each seeing
 * every result before it.  With overlap (engine_overlap), as many as the task models'
 * concurrency keeps busy: an evaluation runs its examples side by side, so q = concurrency /
 * examples (the smallest concurrency of the LLM steps' models), at least 1.  The search marks
 * each suggestion pending until it is observed, so a batch holds q distinct configurations,
 * those of largest expected improvement under the model fitted to the rounds before. */
static size_t search_batch(const struct engine *en, const struct iteration *it)
{
	const struct session *s = en->s;
	if (!engine_overlap(en))
		return 1;
	long conc = 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct model_config *m = s->steps[i].model_cfg;
		if (s->steps[i].kind == STEP_LLM && m && m->concurrency > 0)
			conc = conc ? MIN(conc, (long)m->concurrency) : (long)m->concurrency;
	}
	long n = (long)(it->n_screen ? it->n_screen : it->n_val);
	return n > 0 && conc / n > 1 ? (size_t)(conc / n) : 1;
}

/* The steady-proposal rule: the search stops before eval_budget when going on cannot change
 * the choice: when the best configuration measured on the whole sample scores 1 (none can beat
 * it).  Two more rules were taken out.  Stopping after 3 proposals in a row already evaluated
 * never fired: the search observes every configuration it evaluates, and bo_suggest never
 * proposes one it observed.  Stopping when the proposal's expected improvement was negligible
 * stopped searches that would still have found a score of 1 (bench/screening's chains, 3 seeds
 * of 20, at 0.55-0.73; bench/README.md 7.2). */
static const char *search_steady(const struct engine *en, const struct iteration *it)
{
	if (!en->s->opt.steady_stop)
		return NULL;
	int b = best_eval(en, it);
	return b >= 0 && it->evals[b].score >= 1 ? SEARCH_END_PERFECT : NULL;
}

/* What a configuration run on its first n rung examples (n_val or more: the whole sample)
 * counts of eval_budget: one on the whole sample; below it, the share of the sample it ran, at
 * least SCREEN_MIN_SHARE and at least SCREEN_SHARE_FIRST times the first rung's share, so that
 * it costs at most 40 % of what it counts (300 examples and n0 = 30: a quarter; 100: 0.75). */
static double search_share(const struct iteration *it, size_t n)
{
	if (n >= it->n_val)
		return 1;
	double v = (double)it->n_val;
	return MIN(1.0, MAX((double)n / v,
	                    MAX(SCREEN_MIN_SHARE, SCREEN_SHARE_FIRST * (double)it->n_screen / v)));
}

/* How much of eval_budget the search has used (search_share: a screened search may look at up
 * to 1 / SCREEN_MIN_SHARE times as many configurations); one in flight counts as launched. */
static double search_used(const struct engine *en, const struct iteration *it)
{
	double used = 0;
	if (!it->n_screen)
		return (double)(it->n_evals + en->n_jobs);
	for (size_t e = 0; e < it->n_screened; e++)
		used += search_share(it, it->screen_n[e]);
	for (size_t j = 0; j < en->n_jobs; j++)
		if (phases_find_eval(it->screened, it->n_screened, en->jobs[j]->choice,
		                     en->s->n_steps) < 0)
			used += search_share(it, en->jobs[j]->full ? it->n_val : en->jobs[j]->n_ex);
	return used;
}

int stage_selection_search(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	if (per_step(en))
		return per_step_finish(en, it);
	collect_evals(en, it);
	if (race(en, it, true))
		return STAGE_WAIT; /* called again when it is back */
	int *next = xcalloc(s->n_steps, sizeof *next);
	size_t q = search_batch(en, it);
	it->search_end = NULL;
	en->launching = true;
	while (search_used(en, it) < (double)s->opt.eval_budget && en->n_jobs < q &&
	       !en->cap_reason && !(it->search_end = search_steady(en, it))) {
		if (bo_suggest(en->bo, next) < 0)
			break;
		if (evaluated(it, next,
		              s->n_steps)) { /* not observed by the search: never run twice */
			struct err e = {{0}};
			bo_observe(en->bo, next, NAN, &e);
			continue;
		}
		if (!launch_eval(en, it, next, false))
			break;
		if (!en->jobs_left)
			collect_evals(en, it); /* answered from the memo at once */
	}
	en->launching = false;
	free(next);
	if (en->jobs_left)
		return STAGE_WAIT; /* called again when these evaluations are back */
	bo_free(en->bo);
	en->bo = NULL;
	return it->n_screen ? STAGE_NEXT : STAGE_DONE;
}

/* After the search, and again after Shapley's evaluations (on the first rung, they may hold a
 * configuration that can win): the climbs left (racing, above), one at a time. */
int stage_screen_promote(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	collect_evals(en, it);
	return race(en, it, false) ? STAGE_WAIT : STAGE_DONE;
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

static int best_of(const struct evaluation *ev, size_t n)
{
	int best = -1;
	for (size_t e = 0; e < n; e++)
		if (best < 0 || ev[e].score > ev[best].score)
			best = (int)e;
	return best;
}

/* The best whole-sample evaluation; of equal ones, the configuration evaluated first (with
 * screening, first screened: the order the search met them in, as without screening). */
static int best_eval(const struct engine *en, const struct iteration *it)
{
	int best = best_of(it->evals, it->n_evals);
	if (!it->n_screen || best < 0)
		return best;
	size_t m = en->s->n_steps;
	long first = phases_find_eval(it->screened, it->n_screened, it->evals[best].choice, m);
	for (size_t e = 0; e < it->n_evals; e++) {
		long k = phases_find_eval(it->screened, it->n_screened, it->evals[e].choice, m);
		if (it->evals[e].score == it->evals[best].score && k >= 0 && k < first)
			best = (int)e, first = k;
	}
	return best;
}

static void find_players(const struct engine *en, const struct iteration *it, struct players *p)
{
	const struct session *s = en->s;
	p->m = 0;
	p->step = xcalloc(s->n_steps + 1, sizeof *p->step);
	p->strong = xcalloc(s->n_steps + 1, sizeof *p->strong);
	struct table t = eval_table(it);
	int best = -1;
	for (size_t e = 0; e < t.n; e++)
		if (best < 0 || table_score(t, e) > table_score(t, (size_t)best))
			best = (int)e;
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!it->n_cands || !it->n_cands[i])
			continue;
		/* strong: the candidate that did best changed alone, else the best combination's */
		int strong = 0;
		double strong_score = -1;
		for (size_t e = 0; e < t.n; e++) {
			const int *c = t.ev[e].choice;
			bool alone = c[i] > 0;
			for (size_t k = 0; k < s->n_steps && alone; k++)
				alone = k == i || c[k] == 0;
			if (alone && table_score(t, e) > strong_score) {
				strong = c[i];
				strong_score = table_score(t, e);
			}
		}
		if (!strong)
			strong = best >= 0 && t.ev[best].choice[i] > 0 ? t.ev[best].choice[i] : 1;
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

/* The coalitions among the evaluations Shapley compares (eval_table: the screening subsample's
 * when selection screened), n_have of them; index[k] is the evaluation of have[k] in that table.
 * Both caller-freed. */
static uint64_t *evaluated_masks(const struct engine *en, const struct iteration *it,
                                 const struct players *p, size_t *n_have, size_t **index)
{
	size_t w = shapley_words(p->m);
	struct table t = eval_table(it);
	uint64_t *have = xcalloc((t.n + 1) * w, sizeof *have);
	*index = xcalloc(t.n + 1, sizeof **index);
	*n_have = 0;
	for (size_t e = 0; e < t.n; e++)
		if (eval_mask(en, p, t.ev[e].choice, &have[*n_have * w]))
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
	if (it && eval_table(it).n) { /* selection has run: exactly what the phase will launch */
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
	for (long k = 0; k < n && !en->cap_reason; k++) {
		mask_choice(en, &p, &need[(size_t)k * shapley_words(p.m)], c);
		if (!evaluated(it, c, en->s->n_steps))
			launch_eval(en, it, c, false);
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
		return it->n_screen ? STAGE_NEXT : STAGE_DONE; /* then promote */
	}
	struct table t = eval_table(it);
	size_t n, *index;
	uint64_t *masks = evaluated_masks(en, it, &p, &n, &index);
	double *scores = xcalloc((n ? n : 1) * (t.n_ex ? t.n_ex : 1), sizeof *scores);
	for (size_t k = 0; k < n; k++)
		memcpy(&scores[k * t.n_ex], t.ev[index[k]].scores, t.n_ex * sizeof *scores);
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
	if (shapley_bootstrap(p.m, masks, scores, n, t.n_ex, &opt, phi, sd, NULL, NULL, &e) < 0) {
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
	return it->n_screen ? STAGE_NEXT : STAGE_DONE; /* then promote */
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
	it->best_eval = per_step(en) ? per_step_eval(en, it) : best_eval(en, it);
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

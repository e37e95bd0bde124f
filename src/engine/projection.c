/* projection.c: what the next phase, the rest of an iteration and N iterations will cost before
 * they run, in calls, calls the response cache answers (free), billed input and output tokens
 * and money.  The rules (also in adopt-tui(1), COST PROJECTION):
 *
 * - The pipeline's phases are walked without spending (runner_project): the forward pass on the
 *   very batch it will draw, selection on its validation sample, every prompt rendered with the
 *   real inputs.  A step the run memo or the response cache answers is free and its answer feeds
 *   the next step; any other is priced from its rendered request (ceil(bytes / 4) tokens plus 4
 *   a message, scaled per step by the billed / estimated ratio measured on the last forward
 *   pass, so a provider's tokenizer is learnt from its own bills) and answered with a stand-in:
 *   the step's latest real answer on that example (per round), priced at the output length
 *   measured for the step under that very prompt, else on the last forward pass (before any:
 *   the length of the training split's golds); a scripted model's answer is known (its rules
 *   are local) and is the answer.
 * - Selection is an evaluation plan: configurations x examples x LLM steps per example, minus
 *   memo and cache hits.  It evaluates min(eval_budget, the product of the choices per step)
 *   configurations.  Once the candidates are known, those it starts first (the incumbent, each
 *   step's first candidate alone, all of them together) and then the rest nearest the incumbent
 *   first (plan_configs) are walked one by one, sharing what they have in common as the memo
 *   will (runner_project: on an example not yet run, a changed request may answer as an earlier
 *   walk's did).  Before that,
 *   a step runs once per distinct choice of the steps up to it, the incumbent's part priced by
 *   its own walk (often free), every other part like the incumbent's walk with nothing cached.
 *   Shapley's extra evaluations (exact mode: the coalitions selection did not cover) are priced
 *   the second way.  With screening, project_screened prices selection_plan's rungs.
 * - Role phases: E1 (only when the prompts changed since it was last asked), E2 per learnable
 *   step, E3 and E4 per bad case, E5 and E6 per bad case and learnable step, as many optimizer
 *   requests as the last candidates phase made (else one per learnable step); each priced at the
 *   mean billed tokens and money of the phase's paid calls in the last iteration that paid for
 *   some (before any: the role's template plus role_default's material, and its answer length).
 *   A bad case whose trace an earlier iteration of this run analysed already has its E3 and E4
 *   answered by the response cache, and its E5 and E6 too for a step whose dependency (E2) came
 *   out the same.
 * - An iteration not begun is projected with the current prompts when it is the next one, and
 *   as if its prompts had changed (nothing memoized or cached) when it comes after another,
 *   unless the one before is expected to find no bad case: that one changes no prompt, so this
 *   one runs the same prompts (the memo answers its forward pass where the batches overlap) and,
 *   finding none either, nothing else.  Its bad cases: those its projected forward pass scores
 *   bad on real answers, and of the examples that read a stand-in, the share the current
 *   prompts scored bad on the last validation sample where it measured them (else the share the
 *   last forward pass found bad), up to minibatch_bad.
 * - What an iteration accepts is known to no projection made before it, so a later iteration is
 *   also a range (engine_project_range): low, nothing accepted and nothing left to fix (the
 *   forward pass of the rule above, nothing else); high, the proposal accepted (a full iteration
 *   with new prompts, nothing memoized or cached); the point between them.
 * - One evaluation (eval_project, the cap check before each of selection's): the walk of that
 *   configuration on its examples. */
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/phases.h"
#include "llm/cost.h"

#define DEFAULT_OUT_TOKENS 32  /* a pipeline step's answer before one was measured, no golds */
#define GOLD_SAMPLE        200 /* training examples whose golds give that default */
#define DEFAULT_JUDGE_OUT  16

/* A role call before one was measured: tokens of material beyond its template and tokens out,
 * the means of the first iterations of the bundled examples (hotpot-mini, chain5,
 * dialogue-loop; bench/README.md section 11). */
static const struct {
	double in, out;
} role_default[ROLE_COUNT] = {
    [ROLE_STRUCTURE] = {335, 88}, [ROLE_DEPENDENCY] = {335, 88}, [ROLE_LOSS] = {153, 41},
    [ROLE_GRADIENT] = {153, 41},  [ROLE_LOCAL] = {187, 54},      [ROLE_PSEUDO] = {168, 20},
    [ROLE_INSTRUCT] = {550, 95},
};

/* What the projection learns from what already ran. */
struct basis {
	double *out, *scale; /* per step: output tokens, billed / estimated prompt tokens */
	double *repeat;      /* per step: share of requests that repeated another example's */
	double **loop_stop;  /* per loop: run_estimate.loop_stop (NULL: no loop measured) */
	size_t n_loops;
	double judge_out;
	struct role_mean {
		double in, out, usd; /* per paid call */
	} role[ROLE_COUNT], phase[PHASE_COUNT];
	bool measured[PHASE_COUNT]; /* phase[p] holds the last iteration's paid calls of p */
	long bad;                   /* bad cases of an iteration whose forward pass has not run */
	double bad_rate;            /* of the last forward pass's traces, the bad ones */
	long cand_calls;            /* optimizer requests of a candidates phase */
};

static const struct iteration *last_with_traces(const struct engine *en)
{
	for (size_t i = en->n_iters; i-- > 0;)
		if (en->iters[i]->traces && en->iters[i]->n_traces)
			return en->iters[i];
	return NULL;
}

/* A step's answer before one was measured: as long as the training split's gold answers (the
 * pipeline's answers are to look like them), else DEFAULT_OUT_TOKENS. */
static double default_out(const struct session *s)
{
	const struct split *sp = &s->data.splits[SPLIT_TRAIN];
	double sum = 0;
	long n = 0;
	for (size_t i = 0; i < sp->n && i < GOLD_SAMPLE; i++)
		if (sp->ex[i].n_golds)
			sum += (double)cost_estimate_tokens(sp->ex[i].golds[0]), n++;
	return n ? MAX(sum / (double)n, 1) : DEFAULT_OUT_TOKENS;
}

/* Of the validation sample, the share the current prompts scored bad, when the last iteration
 * measured them there (its proposal all accepted: its best configuration; none: its
 * incumbent); false when it did not. */
static bool val_bad_rate(const struct engine *en, double *rate)
{
	const struct iteration *it = en->n_iters ? en->iters[en->n_iters - 1] : NULL;
	if (!it || it->phase < PHASE_COUNT || !it->n_evals || !it->n_val)
		return false;
	size_t m = en->s->n_steps;
	int *want = xcalloc(m ? m : 1, sizeof *want);
	bool ok = true;
	for (size_t c = 0; c < it->n_changes && ok; c++) {
		const struct step_change *ch = &it->changes[c];
		if (ch->decision == DECISION_ACCEPT && it->best_eval >= 0 && (size_t)ch->step < m)
			want[ch->step] = it->evals[it->best_eval].choice[ch->step];
		else if (ch->decision != DECISION_REJECT)
			ok = false;
	}
	const struct evaluation *ev = NULL;
	for (size_t e = 0; e < it->n_evals && ok && !ev; e++)
		if (it->evals[e].scores && !memcmp(it->evals[e].choice, want, m * sizeof *want))
			ev = &it->evals[e];
	free(want);
	if (!ev)
		return false;
	long bad = 0;
	for (size_t k = 0; k < it->n_val; k++)
		bad += ev->scores[k] < metric_threshold(en->s->metric);
	*rate = (double)bad / (double)it->n_val;
	return true;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Per step, of the last forward pass's requests, the share that repeated another example's
 * (the same request: an input that collapsed to one value, the memo answering it).  A walk
 * takes so many of its requests that read a stand-in as memo hits (run_estimate.repeat). */
static void repeat_rates(const struct engine *en, const struct iteration *last, double *rate)
{
	size_t n = 0, cap = 0;
	const char **keys = NULL;
	for (size_t i = 0; i < en->s->n_steps; i++) {
		n = 0;
		for (size_t t = 0; last && t < last->n_traces; t++) {
			const struct trace *tr = &last->traces[t];
			for (size_t k = 0; k < tr->n; k++) {
				if (tr->steps[k].step != (int)i || !tr->steps[k].key[0])
					continue;
				if (n == cap)
					keys = xrealloc(keys,
					                (cap = cap ? cap * 2 : 64) * sizeof *keys);
				keys[n++] = tr->steps[k].key;
			}
		}
		if (n)
			qsort(keys, n, sizeof *keys, cmp_key);
		size_t same = 0;
		for (size_t k = 1; k < n; k++)
			same += strcmp(keys[k - 1], keys[k]) == 0;
		rate[i] = n ? (double)same / (double)n : 0;
	}
	free(keys);
}

/* Per loop, of the last forward pass's examples whose loop reached round r, the share that
 * stopped after it (loop_stop[l][r - 1]); a loop fewer than LOOP_MEASURED examples ran is not
 * measured (NULL), and neither is any when none is (returns NULL). */
#define LOOP_MEASURED 4
static double **loop_stops(const struct session *s, const struct iteration *last)
{
	double **stop = NULL;
	for (size_t l = 0; last && l < s->n_loops; l++) {
		const struct loop *lp = &s->loops[l];
		size_t rounds = lp->max_rounds > 0 ? (size_t)lp->max_rounds : 1;
		long *reached = xcalloc(rounds + 1, sizeof *reached);
		long *ended = xcalloc(rounds + 1, sizeof *ended);
		for (size_t t = 0; t < last->n_traces; t++) {
			size_t r = 0;
			for (size_t k = 0; k < last->traces[t].n; k++) {
				const struct trace_step *ts = &last->traces[t].steps[k];
				if (s->steps[ts->step].loop == (int)l && ts->round > 0)
					r = MAX(r, MIN((size_t)ts->round, rounds));
			}
			for (size_t q = 1; q <= r; q++)
				reached[q]++;
			ended[r] += r > 0;
		}
		if (reached[1] >= LOOP_MEASURED) {
			if (!stop)
				stop = xcalloc(s->n_loops, sizeof *stop);
			stop[l] = xcalloc(rounds, sizeof *stop[l]);
			for (size_t q = 1; q <= rounds; q++)
				stop[l][q - 1] =
				    reached[q] ? (double)ended[q] / (double)reached[q] : 1;
		}
		free(reached), free(ended);
	}
	return stop;
}

static void basis_init(const struct engine *en, struct basis *b)
{
	const struct session *s = en->s;
	size_t n = s->n_steps ? s->n_steps : 1;
	memset(b, 0, sizeof *b);
	b->out = xcalloc(n, sizeof *b->out);
	b->scale = xcalloc(n, sizeof *b->scale);
	b->repeat = xcalloc(n, sizeof *b->repeat);
	double *outs = xcalloc(n, sizeof *outs), *billed = xcalloc(n, sizeof *billed),
	       *est = xcalloc(n, sizeof *est);
	long *runs = xcalloc(n, sizeof *runs);
	const struct iteration *last = last_with_traces(en);
	for (size_t t = 0; last && t < last->n_traces; t++) {
		const struct trace *tr = &last->traces[t];
		for (size_t k = 0; k < tr->n; k++) {
			const struct trace_step *ts = &tr->steps[k];
			if (s->steps[ts->step].kind != STEP_LLM || ts->error || !ts->raw)
				continue;
			runs[ts->step]++;
			outs[ts->step] += ts->tok_out > 0 ? (double)ts->tok_out
			                                  : (double)cost_estimate_tokens(ts->raw);
			if (ts->cached || ts->memo || ts->tok_in <= 0 || !ts->prompt)
				continue;
			billed[ts->step] += (double)ts->tok_in;
			est[ts->step] += (double)(4 + cost_estimate_tokens(ts->prompt));
		}
	}
	double guess = default_out(s);
	for (size_t i = 0; i < s->n_steps; i++) {
		b->out[i] = runs[i] ? outs[i] / (double)runs[i] : guess;
		b->scale[i] = est[i] > 0 ? billed[i] / est[i] : 1;
	}
	free(outs), free(billed), free(est), free(runs);
	repeat_rates(en, last, b->repeat);
	b->loop_stop = loop_stops(s, last);
	b->n_loops = s->n_loops;
	b->judge_out = DEFAULT_JUDGE_OUT;

	const struct model_config *m = session_model(s, s->opt.role_model);
	struct llm_prices pr = {0};
	bool known;
	if (m)
		llm_prices(m, &pr, &known);
	for (int r = 0; r < ROLE_COUNT; r++) {
		struct role_mean *rm = &b->role[r];
		const char *tpl = role_text(s, (enum role)r);
		rm->in = (double)(cost_estimate_tokens(tpl) + 4) + role_default[r].in;
		rm->out = role_default[r].out;
		rm->usd = (pr.in * rm->in + pr.out * rm->out) / 1e6;
	}
	/* a role phase's calls as the last iteration that paid for some measured them */
	for (int p = PHASE_ANALYSIS; p <= PHASE_CANDIDATES; p++) {
		for (size_t i = en->n_iters; i-- > 0 && !b->measured[p];) {
			const struct phase_cost *c = &en->iters[i]->cost[p];
			long paid = c->calls - c->cached;
			if ((int)en->iters[i]->phase <= p || paid <= 0)
				continue;
			b->phase[p] = (struct role_mean){(double)c->tokens_in / (double)paid,
			                                 (double)c->tokens_out / (double)paid,
			                                 c->cost_usd / (double)paid};
			b->measured[p] = true;
		}
	}
	b->bad = en->s->opt.minibatch_bad;
	b->bad_rate = 1;
	b->cand_calls = -1;
	for (size_t i = en->n_iters; i-- > 0;) {
		const struct iteration *it = en->iters[i];
		if (it->phase > PHASE_FORWARD && it->traces) {
			long bad = 0;
			for (size_t t = 0; t < it->n_traces; t++)
				bad += !it->traces[t].good;
			b->bad = (long)it->n_bad;
			b->bad_rate = it->n_traces ? (double)bad / (double)it->n_traces : 1;
			break;
		}
	}
	val_bad_rate(en, &b->bad_rate); /* the current prompts' own, where measured */
	for (size_t i = en->n_iters; i-- > 0 && b->cand_calls < 0;)
		if (en->iters[i]->phase > PHASE_CANDIDATES && en->iters[i]->n_bad)
			b->cand_calls = en->iters[i]->cost[PHASE_CANDIDATES].calls;
}

static void basis_free(struct basis *b)
{
	free(b->out);
	free(b->scale);
	free(b->repeat);
	for (size_t l = 0; b->loop_stop && l < b->n_loops; l++)
		free(b->loop_stop[l]);
	free(b->loop_stop);
}

static void add_cost(struct cost_projection *p, const struct run_cost *c, double times)
{
	p->calls += (long)((double)(c->calls + c->cached) * times + 0.5);
	p->cached += (long)((double)c->cached * times + 0.5);
	p->tokens_in += (long)((double)c->tokens_in * times + 0.5);
	p->tokens_out += (long)((double)c->tokens_out * times + 0.5);
	p->usd += c->usd * times;
}

/* n calls of role r in phase p: at the phase's measured means, else the role's defaults. */
static void add_role(struct cost_projection *out, const struct basis *b, enum phase p, enum role r,
                     long n, bool cached)
{
	if (n <= 0)
		return;
	out->calls += n;
	if (cached) {
		out->cached += n;
		return;
	}
	const struct role_mean *m = b->measured[p] ? &b->phase[p] : &b->role[r];
	out->tokens_in += (long)(m->in * (double)n + 0.5);
	out->tokens_out += (long)(m->out * (double)n + 0.5);
	out->usd += m->usd * (double)n;
}

/* A walk of the pipeline on examples (runner_project) under config. */
static void walk(const struct engine *en, const struct basis *b, const struct variant *const *cfg,
                 enum split_id split, const size_t *idx, size_t n, bool fresh,
                 struct run_projection *out)
{
	struct run_estimate est = {b->out, b->scale,  b->judge_out,
	                           fresh,  b->repeat, (const double *const *)b->loop_stop};
	runner_project(en->runner, cfg, split, idx, n, &est, out);
}

/* The choices selection has for each step: the incumbent and its candidates (known once the
 * candidates phase ran, else the budget it will ask for). */
static void choices(const struct engine *en, const struct iteration *it, long *nch)
{
	const struct session *s = en->s;
	const struct iteration *prev = NULL;
	for (size_t i = en->n_iters; i-- > 0 && !prev;)
		if (en->iters[i] != it && en->iters[i]->next_budget)
			prev = en->iters[i];
	int opt = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		opt += step_optimizable(&s->steps[i]);
	int even = opt ? MAX(s->opt.budget_total, s->opt.budget_floor * opt) / opt : 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		long k = 0;
		if (it && it->n_cands)
			k = (long)it->n_cands[i];
		else if (!step_optimizable(&s->steps[i]))
			k = 0;
		else if (it && it->budget)
			k = it->budget[i];
		else if (prev)
			k = prev->next_budget[i];
		else
			k = even;
		nch[i] = 1 + MAX(k, 0);
	}
}

/* Adds configuration c to the plan unless it is there; false once the plan holds `want`. */
static bool plan_add(int *configs, size_t *n, long want, const int *c, size_t m)
{
	for (size_t e = 0; e < *n; e++)
		if (memcmp(&configs[e * m], c, m * sizeof *c) == 0)
			return (long)*n < want;
	if ((long)*n >= want)
		return false;
	memcpy(&configs[(*n)++ * m], c, m * sizeof *c);
	return (long)*n < want;
}

/* Sets c to the next configuration that changes exactly the steps in set (n of them, ascending)
 * to one of their candidates, in counting order (the first step fastest); false after the last. */
static bool next_choice(int *c, const size_t *set, size_t n, const size_t *n_cands)
{
	for (size_t j = 0; j < n; j++) {
		if ((size_t)c[set[j]] < n_cands[set[j]]) {
			c[set[j]]++;
			return true;
		}
		c[set[j]] = 1;
	}
	return false;
}

/* Sets set to the next subset of n of the k steps with candidates (ids[]), lexicographically
 * (pos holds positions in ids); false after the last. */
static bool next_subset(size_t *pos, size_t n, size_t k)
{
	size_t j = n;
	while (j > 0 && pos[j - 1] == k - n + j - 1)
		j--;
	if (j == 0)
		return false;
	pos[j - 1]++;
	for (size_t t = j; t < n; t++)
		pos[t] = pos[t - 1] + 1;
	return true;
}

/* The configurations selection evaluates, in the order it starts them (bo_initial_design): the
 * incumbent, each step's first candidate alone, then all of them together; then the rest, which
 * the search picks as it learns, taken nearest the incumbent first (those that change one step,
 * then two, ...; each distance in counting order), as the search's expected improvement under
 * its distance kernel favours the neighbours of what it measured.  The ablation of the search
 * (per_step) evaluates the incumbent, every candidate alone and the winners together (taken as
 * the first candidates).  `want` of them at most (configs[k * m + i]: step i's choice); returns
 * how many. */
size_t plan_configs(const struct iteration *it, size_t m, long want, bool per_step, int *configs)
{
	size_t n = 0;
	int *c = xcalloc(m ? m : 1, sizeof *c);
	bool room = plan_add(configs, &n, want, c, m); /* the incumbent */
	for (size_t i = 0; i < m && room; i++) {       /* alone: the first, or every one */
		for (size_t k = 1;
		     k <= (per_step ? it->n_cands[i] : MIN(it->n_cands[i], 1)) && room; k++) {
			memset(c, 0, m * sizeof *c);
			c[i] = (int)k;
			room = plan_add(configs, &n, want, c, m);
		}
	}
	for (size_t i = 0; i < m; i++) /* together */
		c[i] = it->n_cands[i] ? 1 : 0;
	if (room)
		room = plan_add(configs, &n, want, c, m);
	size_t *ids = xcalloc(m ? m : 1, sizeof *ids), *pos = xcalloc(m ? m : 1, sizeof *pos),
	       *set = xcalloc(m ? m : 1, sizeof *set), k = 0;
	for (size_t i = 0; i < m; i++)
		if (it->n_cands[i])
			ids[k++] = i;
	for (size_t d = 1; d <= k && room && !per_step; d++) { /* the rest, nearest first */
		for (size_t j = 0; j < d; j++)
			pos[j] = j;
		do {
			memset(c, 0, m * sizeof *c);
			for (size_t j = 0; j < d; j++)
				set[j] = ids[pos[j]], c[set[j]] = 1;
			do
				room = plan_add(configs, &n, want, c, m);
			while (room && next_choice(c, set, d, it->n_cands));
		} while (room && next_subset(pos, d, k));
	}
	free(ids), free(pos), free(set);
	free(c);
	return n;
}

/* Examples an evaluation's projection walks at most (project_evals, eval_project): spread
 * over the sample, the rest priced alike (the walk is synchronous: this bounds what it holds
 * the loop). */
#define EVAL_WALK_MAX 64

/* Evaluations of `configs` configurations on the validation sample.  Once the candidates are
 * known, the configurations selection will start are walked one by one (sharing what they have
 * in common, as the memo will); before that, a step runs once per distinct choice of the steps
 * up to it, the incumbent's part priced by its own walk and every other part like the
 * incumbent's walk with nothing cached. */
static void project_evals(const struct engine *en, const struct iteration *it, int number,
                          bool fresh, const struct basis *b, long configs, bool with_incumbent,
                          struct cost_projection *p)
{
	const struct session *s = en->s;
	if (configs <= 0)
		return;
	size_t n;
	size_t *idx = it && it->val_idx ? NULL : phases_val_sample(en, number, &n);
	const size_t *vi = idx ? idx : it->val_idx;
	if (!idx)
		n = it->n_val;
	size_t m = s->n_steps ? s->n_steps : 1;
	if (it && it->n_cands && with_incumbent && !fresh) {
		int *plan = xcalloc((size_t)configs * m, sizeof *plan);
		bool ps = s->opt.ablate[ABLATE_SELECTION] == SELECT_PER_STEP;
		size_t k = plan_configs(it, s->n_steps, configs, ps, plan);
		struct variant *var = xcalloc(m, sizeof *var);
		const struct variant **cfg = xcalloc(m, sizeof *cfg);
		/* at most EVAL_WALK_MAX examples, spread over the sample and the same for every
		 * configuration (so they share what the memo will share), the rest priced alike:
		 * this walk holds the loop at a phase's start */
		size_t w = MIN(n, (size_t)EVAL_WALK_MAX);
		size_t *some = xcalloc(w ? w : 1, sizeof *some);
		for (size_t j = 0; j < w; j++)
			some[j] = vi[j * n / w];
		struct run_projection rp = {.share = true};
		for (size_t e = 0; e < k; e++) {
			for (size_t i = 0; i < s->n_steps; i++) {
				int ch = plan[e * s->n_steps + i];
				const struct candidate *c = ch > 0 ? &it->cands[i][ch - 1] : NULL;
				var[i] = c ? (struct variant){c->prompt, c->demos, c->n_demos}
				           : (struct variant){0};
				cfg[i] = c ? &var[i] : NULL;
			}
			walk(en, b, cfg, phases_val_split(en), some, w, false, &rp);
		}
		add_cost(p, &rp.total, w ? (double)n / (double)w : 0);
		run_projection_done(&rp);
		free(plan), free(var), free(cfg), free(idx), free(some);
		return;
	}
	struct run_projection inc = {0}, full = {0};
	inc.steps = xcalloc(m, sizeof(struct run_cost));
	full.steps = xcalloc(m, sizeof(struct run_cost));
	walk(en, b, NULL, phases_val_split(en), vi, n, fresh, &inc);
	walk(en, b, NULL, phases_val_split(en), vi, n, true, &full);
	long *nch = xcalloc(m, sizeof *nch);
	choices(en, it, nch);
	long prefixes = 1;
	struct run_cost judge_inc = inc.total, judge_full = full.total;
	for (size_t i = 0; i < s->n_steps; i++) {
		prefixes = MIN(prefixes * nch[i], configs);
		long others = prefixes - (with_incumbent ? 1 : 0);
		if (with_incumbent)
			add_cost(p, &inc.steps[i], 1);
		add_cost(p, &full.steps[i], (double)MAX(others, 0));
		judge_inc.cached -= inc.steps[i].cached, judge_inc.calls -= inc.steps[i].calls;
		judge_inc.tokens_in -= inc.steps[i].tokens_in;
		judge_inc.tokens_out -= inc.steps[i].tokens_out, judge_inc.usd -= inc.steps[i].usd;
		judge_full.cached -= full.steps[i].cached, judge_full.calls -= full.steps[i].calls;
		judge_full.tokens_in -= full.steps[i].tokens_in;
		judge_full.tokens_out -= full.steps[i].tokens_out;
		judge_full.usd -= full.steps[i].usd;
	}
	if (metric_is_judge(s->metric)) {
		if (with_incumbent)
			add_cost(p, &judge_inc, 1);
		add_cost(p, &judge_full, (double)(configs - (with_incumbent ? 1 : 0)));
	}
	free(nch);
	free(inc.steps);
	free(full.steps);
	run_projection_done(&inc);
	run_projection_done(&full);
	free(idx);
}

static long selection_configs(const struct engine *en, const struct iteration *it)
{
	long nch[64], *v = en->s->n_steps <= 64 ? nch : xcalloc(en->s->n_steps, sizeof *v);
	choices(en, it, v);
	long total = 1, alone = 1;
	for (size_t i = 0; i < en->s->n_steps; i++) {
		total = MIN(total * v[i], (long)en->s->opt.eval_budget + 1);
		alone += v[i] - 1;
	}
	if (v != nch)
		free(v);
	/* the ablation of the search: the incumbent, every candidate alone, the winners together */
	if (en->s->opt.ablate[ABLATE_SELECTION] == SELECT_PER_STEP)
		return alone + 1;
	return MIN(total, (long)en->s->opt.eval_budget);
}

/* Selection and Shapley with screening (optimizer.screen_size), as selection_plan's stages.
 * The incumbent runs on the whole sample; every other configuration on the first rung, priced
 * as its whole-sample walk times the rung's share of the examples.  Selection's climbs (the
 * plan's later stages, less the incumbent) are priced per new example as a run of the whole
 * pipeline that nothing answers (the leaders change the early steps).  Without screening:
 * project_evals. */
/* One count of project_screened: the incumbent's, the others' on the first rung (`first` of
 * their whole-sample walk), the climbs (`climbs` runs of the leader's), rounded once. */
static long screened_count(long inc, long all, long lead, double first, double climbs)
{
	return inc + (long)((double)(all - inc) * first + (double)lead * climbs + 0.5);
}

static void project_screened(const struct engine *en, const struct iteration *it, int number,
                             bool fresh, const struct basis *b, long configs, bool with_incumbent,
                             struct cost_projection *out)
{
	struct eval_plan pl;
	selection_plan(en, it, &pl);
	long others = configs - (with_incumbent ? 1 : 0);
	if (pl.n_stages < 2 || others < 1) {
		project_evals(en, it, number, fresh, b, configs, with_incumbent, out);
		return;
	}
	long n = pl.examples[pl.n_stages - 1];
	struct cost_projection inc = {0}, all = {0}, lead = {0};
	if (with_incumbent) {
		project_evals(en, it, number, fresh, b, 1, true, &inc);
		project_evals(en, it, number, true, b, 1, true, &lead);
	}
	project_evals(en, it, number, fresh, b, configs, with_incumbent, &all);
	double first = (double)pl.examples[0] / (double)n, climbs = 0;
	for (int k = 1; with_incumbent && k < pl.n_stages; k++)
		climbs += (double)(pl.configs[k] - (k == pl.n_stages - 1)) *
		          (double)(pl.examples[k] - pl.examples[k - 1]) / (double)n;
	out->calls += screened_count(inc.calls, all.calls, lead.calls, first, climbs);
	out->cached += screened_count(inc.cached, all.cached, lead.cached, first, climbs);
	out->tokens_in +=
	    screened_count(inc.tokens_in, all.tokens_in, lead.tokens_in, first, climbs);
	out->tokens_out +=
	    screened_count(inc.tokens_out, all.tokens_out, lead.tokens_out, first, climbs);
	out->usd += inc.usd + (all.usd - inc.usd) * first + lead.usd * climbs;
}

/* Whether two traces ran the same steps to the same outputs on the same example. */
static bool trace_same(const struct trace *a, const struct trace *b)
{
	if (a->split != b->split || a->example != b->example || a->n != b->n)
		return false;
	for (size_t k = 0; k < a->n; k++) {
		const char *x = a->steps[k].out.text, *y = b->steps[k].out.text;
		if (a->steps[k].step != b->steps[k].step || strcmp(x ? x : "", y ? y : "") != 0)
			return false;
	}
	return true;
}

static bool str_same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Whether a step read and wrote the same on two traces (every round). */
static bool step_same(const struct trace *a, const struct trace *b, int step)
{
	const struct trace_step *x = NULL, *y = NULL;
	for (;;) {
		x = trace_next(a, step, x), y = trace_next(b, step, y);
		if (!x || !y)
			return !x && !y;
		if (!str_same(x->input, y->input) || !str_same(x->out.text, y->out.text))
			return false;
	}
}

/* Whether an earlier iteration asked the same role requests for case c of `it` (they are then
 * answered from the response cache).  step < 0: E3 and E4, which read the trace; else E5 of
 * that step, which reads its dependency (E2), the case's loss and gradient and the step's own
 * input and output, or with pseudo E6, which reads E5's answer instead of the loss and gradient
 * (while those are unknown: the same whole trace). */
/* Whether the role request of case ac (its run t) for step (-1: E3 and E4) is the one of case
 * jc (its run u): what the role reads is the same. */
static bool case_same(const struct adopt_case *ac, const struct trace *t,
                      const struct adopt_case *jc, const struct trace *u, int step, bool pseudo)
{
	if (step < 0 || (!pseudo && (!ac->loss || !ac->gradient)) || (pseudo && !ac->local[step]))
		return trace_same(t, u);
	if (pseudo) /* E6 reads E5's answer, not the loss or gradient */
		return str_same(ac->local[step], jc->local ? jc->local[step] : NULL) &&
		       step_same(t, u, step);
	return str_same(ac->loss, jc->loss) && str_same(ac->gradient, jc->gradient) &&
	       step_same(t, u, step);
}

static bool case_seen(const struct engine *en, const struct iteration *it, size_t c, int step,
                      bool pseudo)
{
	const struct adopt_case *ac = &it->cases[c];
	const struct trace *t = &it->traces[ac->trace];
	for (size_t i = en->n_iters; i-- > 0;) {
		const struct iteration *j = en->iters[i];
		if (j == it || !j->traces || j->phase <= PHASE_GRADIENT)
			continue;
		if (step >= 0 &&
		    !(it->dependency && j->dependency && it->dependency[step] &&
		      j->dependency[step] && !strcmp(it->dependency[step], j->dependency[step])))
			continue;
		for (size_t k = 0; k < j->n_cases; k++) {
			const struct adopt_case *jc = &j->cases[k];
			if (jc->trace < j->n_traces &&
			    case_same(ac, t, jc, &j->traces[jc->trace], step, pseudo))
				return true;
		}
	}
	return false;
}

/* Whether an earlier case of the same iteration asks the same request: the two are in flight
 * together, so the LLM layer sends it once and shares the answer (not a call of its own). */
static bool case_repeats(const struct iteration *it, size_t c, int step, bool pseudo)
{
	const struct adopt_case *ac = &it->cases[c];
	for (size_t k = 0; k < c; k++) {
		const struct adopt_case *kc = &it->cases[k];
		if (kc->trace < it->n_traces &&
		    case_same(ac, &it->traces[ac->trace], kc, &it->traces[kc->trace], step, pseudo))
			return true;
	}
	return false;
}

/* Role calls per bad case of iteration `it` once its forward pass ran: E3 and E4 (per_step
 * false) or E5 / E6 of each learnable step; *cached of them repeat an earlier iteration's. */
static long case_calls(const struct engine *en, const struct iteration *it, bool per_step,
                       bool pseudo, long *cached)
{
	const struct session *s = en->s;
	long n = 0;
	*cached = 0;
	for (size_t c = 0; c < it->n_cases; c++) {
		if (!per_step) {
			if (case_repeats(it, c, -1, false))
				continue;
			n++;
			*cached += case_seen(en, it, c, -1, false);
			continue;
		}
		for (size_t i = 0; i < s->n_steps; i++) {
			if (!step_optimizable(&s->steps[i]) || case_repeats(it, c, (int)i, pseudo))
				continue;
			n++;
			*cached += case_seen(en, it, c, (int)i, pseudo);
		}
	}
	return n;
}

static long opt_steps(const struct session *s)
{
	long n = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		n += step_optimizable(&s->steps[i]);
	return n;
}

/* Whether the response cache holds the answer to a role prompt (freed here; NULL: none). */
static bool role_cached(const struct engine *en, enum role r, char *prompt)
{
	struct llm_message msg;
	char tag[64];
	struct llm_request req;
	char *hit = prompt && engine_role_request(en, r, prompt, &msg, tag, &req)
	                ? llm_cache_peek(en->llm, &req)
	                : NULL;
	bool cached = hit != NULL;
	free(prompt);
	free(hit);
	return cached;
}

/* Whether this iteration asked a role already (its answer in, or a request out): the
 * response cache may hold that answer now, but the phase paid for it. */
static bool role_asked(const struct engine *en, char *const *slot)
{
	return *slot || engine_wait_of(en, slot);
}

/* Analysis: E1 unless the structure is known in memory for these prompts, E2 per learnable
 * step; a request the response cache holds is free (an earlier iteration, or an earlier run of
 * this session, asked it with the same prompts, structure and cases).  E1's prompt is known
 * before the forward pass; each E2 prompt is rendered as the analysis will ask it once the
 * forward pass of `it` ran (known) and the structure is in memory.  A request this iteration
 * already sent (ahead of its phase) counts as paid. */
static void project_analysis(const struct engine *en, const struct iteration *it, bool known,
                             bool fresh, const struct basis *b, struct cost_projection *out)
{
	const struct session *s = en->s;
	bool mem = !fresh && en->structure_cache && en->structure_key == prompts_key(s);
	if (!mem) {
		struct err e = {{0}};
		bool hit = !fresh && !(it && role_asked(en, &it->structure)) &&
		           role_cached(en, ROLE_STRUCTURE, phases_e1_prompt(en, &e));
		add_role(out, b, PHASE_ANALYSIS, ROLE_STRUCTURE, 1, hit);
	}
	if (s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL)
		return; /* the ablation of the decomposition asks no E2 and no E5 */
	const char *structure = it && it->structure ? it->structure
	                        : mem               ? en->structure_cache
	                                            : NULL;
	long n = opt_steps(s), cached = 0;
	for (size_t i = 0; known && structure && i < s->n_steps; i++) {
		struct err e = {{0}};
		if (step_optimizable(&s->steps[i]) &&
		    !(it->dependency && role_asked(en, &it->dependency[i])))
			cached += role_cached(en, ROLE_DEPENDENCY,
			                      phases_e2_prompt(en, it, (int)i, structure, &e));
	}
	add_role(out, b, PHASE_ANALYSIS, ROLE_DEPENDENCY, n - cached, false);
	add_role(out, b, PHASE_ANALYSIS, ROLE_DEPENDENCY, cached, true);
}

/* Phase p of iteration `number` (it: that iteration when it is open, else NULL); fresh: its
 * prompts are not the current ones.  *expect_bad: the bad cases its forward pass will find (the
 * forward projection sets it: those scored on real answers, and of the others the share the
 * last forward pass found bad). */
static void project_phase(const struct engine *en, enum phase p, const struct iteration *it,
                          int number, bool fresh, const struct basis *b, long *expect_bad,
                          struct cost_projection *out)
{
	const struct session *s = en->s;
	memset(out, 0, sizeof *out);
	bool ran = it && it->phase > PHASE_FORWARD; /* its cases are known */
	long bad = ran ? (long)it->n_bad : *expect_bad;
	long opt = opt_steps(s), n, cached;
	bool global = s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL;
	switch (p) {
	case PHASE_FORWARD: {
		size_t k;
		size_t *idx = phases_forward_sample(en, number, &k);
		struct run_projection r = {0};
		walk(en, b, NULL, SPLIT_TRAIN, idx, k, fresh, &r);
		add_cost(out, &r.total, 1);
		*expect_bad = MIN((long)s->opt.minibatch_bad,
		                  r.bad + (long)((double)r.guessed * b->bad_rate + 0.5));
		run_projection_done(&r);
		free(idx);
		break;
	}
	case PHASE_ANALYSIS:
		if (bad)
			project_analysis(en, it, ran && !fresh, fresh, b, out);
		break;
	case PHASE_GRADIENT:
		n = ran ? case_calls(en, it, false, false, &cached) : bad;
		cached = ran ? cached : 0;
		add_role(out, b, PHASE_GRADIENT, ROLE_LOSS, n - cached, false);
		add_role(out, b, PHASE_GRADIENT, ROLE_GRADIENT, n - cached, false);
		add_role(out, b, PHASE_GRADIENT, ROLE_LOSS, 2 * cached, true);
		break;
	case PHASE_LOCAL:
	case PHASE_PSEUDO:
		if (p == PHASE_LOCAL && global)
			break;
		n = ran ? case_calls(en, it, true, p == PHASE_PSEUDO, &cached) : bad * opt;
		cached = ran ? cached : 0;
		add_role(out, b, p, p == PHASE_LOCAL ? ROLE_LOCAL : ROLE_PSEUDO, n - cached, false);
		add_role(out, b, p, ROLE_LOCAL, cached, true);
		break;
	case PHASE_CANDIDATES:
		if (bad)
			add_role(out, b, PHASE_CANDIDATES, ROLE_INSTRUCT,
			         b->cand_calls >= 0 ? b->cand_calls : opt, false);
		break;
	case PHASE_SELECTION:
		if (bad || (it && it->n_cands))
			project_screened(en, it, number, fresh, b, selection_configs(en, it), true,
			                 out);
		break;
	case PHASE_SHAPLEY:
		if (bad || (it && it->n_cands))
			project_screened(
			    en, it, number, true, b,
			    phases_shapley_extra(en, it && it->phase <= PHASE_SHAPLEY ? it : NULL),
			    false, out);
		break;
	default:
		break;
	}
}

static void add_proj(struct cost_projection *to, const struct cost_projection *p)
{
	to->calls += p->calls;
	to->cached += p->cached;
	to->tokens_in += p->tokens_in;
	to->tokens_out += p->tokens_out;
	to->usd += p->usd;
}

/* The phases from `from` up to the decision of iteration `number`; *found: the bad cases its
 * forward pass is expected to find (or found). */
static void project_iteration(const struct engine *en, const struct iteration *it, int number,
                              enum phase from, bool fresh, const struct basis *b,
                              struct cost_projection *per, struct cost_projection *total,
                              long *found)
{
	long bad = b->bad;
	for (int p = from; p < PHASE_DECISION; p++) {
		struct cost_projection c;
		project_phase(en, (enum phase)p, it, number, fresh, b, &bad, &c);
		if (per)
			add_proj(&per[p], &c);
		add_proj(total, &c);
	}
	*found = it && it->phase > PHASE_FORWARD ? (long)it->n_bad : bad;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

/* Iteration `number` after iteration `prev` when prev changes no prompt: its forward pass runs
 * prev's prompts, free (the memo's) on the examples prev's batch had (*c); true when it is
 * expected to find no bad case either, so nothing else runs. */
static bool repeat_walk(const struct engine *en, const struct basis *b, int prev, int number,
                        bool fresh, struct cost_projection *c)
{
	size_t n0, n1, k = 0;
	size_t *was = phases_forward_sample(en, prev, &n0),
	       *now = phases_forward_sample(en, number, &n1);
	qsort(was, n0, sizeof *was, cmp_size);
	for (size_t i = 0; i < n1; i++)
		if (!bsearch(&now[i], was, n0, sizeof *was, cmp_size))
			now[k++] = now[i];
	struct run_projection r = {0};
	walk(en, b, NULL, SPLIT_TRAIN, now, k, fresh, &r);
	bool quiet = r.bad + (long)((double)r.guessed * b->bad_rate + 0.5) == 0;
	memset(c, 0, sizeof *c);
	add_cost(c, &r.total, 1);
	run_projection_done(&r);
	free(was), free(now);
	return quiet;
}

/* repeat_walk's iteration added to per and total when prev finds no bad case and it finds none
 * either; false (nothing added) when it is expected to find some. */
static bool project_repeat(const struct engine *en, const struct basis *b, int prev, int number,
                           bool fresh, struct cost_projection *per, struct cost_projection *total)
{
	struct cost_projection c;
	if (!repeat_walk(en, b, prev, number, fresh, &c))
		return false;
	if (per)
		add_proj(&per[PHASE_FORWARD], &c);
	add_proj(total, &c);
	return true;
}

void phase_project(const struct engine *en, enum phase p, struct cost_projection *out)
{
	const struct iteration *it = engine_current(en);
	struct basis b;
	basis_init(en, &b);
	long bad = b.bad;
	if (!it || it->phase >= PHASE_COUNT)
		project_phase(en, p, NULL, it ? it->number + 1 : 1, false, &b, &bad, out);
	else
		project_phase(en, p, it, it->number, false, &b, &bad, out);
	basis_free(&b);
}

uint64_t engine_project_next_key(const struct engine *en)
{
	struct llm_stats st;
	llm_get_stats(en->llm, &st);
	uint64_t v[5] = {en->events, (uint64_t)st.done, (uint64_t)st.submitted, prompts_key(en->s),
	                 en->n_iters};
	return hash_bytes(v, sizeof v, 0) | 1;
}

bool engine_project_next_known(const struct engine *en, struct cost_projection *p)
{
	if (en->next_key != engine_project_next_key(en))
		return false;
	*p = en->next;
	return true;
}

void engine_project_next_put(struct engine *en, uint64_t key, const struct cost_projection *p)
{
	en->next_key = key;
	en->next = *p;
}

void engine_project_next(const struct engine *en, struct cost_projection *p)
{
	if (engine_project_next_known(en, p))
		return;
	const struct iteration *it = engine_current(en);
	uint64_t key = engine_project_next_key(en);
	phase_project(en, !it || it->phase >= PHASE_COUNT ? PHASE_FORWARD : it->phase, p);
	engine_project_next_put((struct engine *)en, key, p); /* a cache: not observable state */
}

/* Iteration `number`'s range (an iteration after another): low, its forward pass under the
 * prompts of the one before, nothing else; high, a full iteration with new prompts; either
 * the point when that is beyond it. */
static void range_of(const struct engine *en, const struct basis *b, int number, bool fresh,
                     struct projection_range *r)
{
	struct cost_projection low;
	long found;
	repeat_walk(en, b, number - 1, number, fresh, &low);
	if (low.usd < r->point.usd)
		r->low = low;
	struct cost_projection high = {0};
	project_iteration(en, NULL, number, PHASE_FORWARD, true, b, NULL, &high, &found);
	if (high.usd > r->point.usd)
		r->high = high;
}

/* engine_project_range, and with `each` the money after each iteration (each[k]: k + 1 of
 * them, the one in progress counting as the first): the walk of n iterations holds every
 * shorter one. */
static int project_run(const struct engine *en, int iterations, struct cost_projection *per,
                       struct projection_range *range, struct cost_projection *total,
                       struct projection_range *range_total, double *each)
{
	const struct iteration *it = engine_current(en);
	bool open = it && it->phase < PHASE_COUNT; /* it counts as the first iteration */
	/* to the proposal: a pending decision is made first, then a new iteration runs */
	int fresh = iterations > 0 ? iterations - open : !(open && it->phase < PHASE_DECISION);
	memset(total, 0, sizeof *total);
	if (per)
		memset(per, 0, PHASE_COUNT * sizeof *per);
	struct basis b;
	basis_init(en, &b);
	long found = -1; /* bad cases of the iteration projected last */
	bool was_fresh = false;
	int n = 0; /* iterations projected */
	struct cost_projection before = *total;
	if (open) {
		project_iteration(en, it, it->number, it->phase, false, &b, per, total, &found);
		if (each)
			each[n] = total->usd;
	}
	if (open && range) {
		add_proj(&range[n].point, total);
		range[n].low = range[n].high = range[n].point;
		n++;
	}
	int next = it ? it->number + 1 : 1;
	for (int k = 0; k < fresh; k++) {
		before = *total;
		bool later = open || k > 0, prev_fresh = was_fresh;
		if (!(found == 0 && later &&
		      project_repeat(en, &b, next + k - 1, next + k, was_fresh, per, total))) {
			was_fresh = later;
			project_iteration(en, NULL, next + k, PHASE_FORWARD, was_fresh, &b, per,
			                  total, &found);
		}
		if (each)
			each[(open ? 1 : 0) + k] = total->usd;
		if (!range)
			continue;
		struct projection_range *r = &range[n++];
		memset(r, 0, sizeof *r);
		add_proj(&r->point, total);
		r->point.calls -= before.calls, r->point.cached -= before.cached;
		r->point.tokens_in -= before.tokens_in, r->point.tokens_out -= before.tokens_out;
		r->point.usd -= before.usd;
		r->low = r->high = r->point;
		if (later)
			range_of(en, &b, next + k, prev_fresh, r);
	}
	if (range_total) {
		memset(range_total, 0, sizeof *range_total);
		for (int i = 0; i < n; i++) {
			add_proj(&range_total->low, &range[i].low);
			add_proj(&range_total->point, &range[i].point);
			add_proj(&range_total->high, &range[i].high);
		}
	}
	basis_free(&b);
	return n;
}

char *engine_range_over_cap(const struct engine *en, const struct projection_range *r)
{
	const struct optimizer_settings *o = &en->s->opt;
	struct engine_totals spent;
	engine_spent(en, &spent);
	long used = spent.tokens_in + spent.tokens_out;
	const char *when[] = {"as projected", "if its proposals are accepted"};
	const struct cost_projection *at[] = {&r->point, &r->high};
	for (int i = 0; i < 2; i++) {
		if (o->cost_cap_usd > 0 && spent.cost_usd + at[i]->usd > o->cost_cap_usd)
			return xasprintf(
			    "the cost cap of $%.4f would stop this run %s: it would cost "
			    "$%.4f, and this session has spent $%.4f",
			    o->cost_cap_usd, when[i], at[i]->usd, spent.cost_usd);
		long tok = at[i]->tokens_in + at[i]->tokens_out;
		if (o->token_cap > 0 && used + tok > o->token_cap)
			return xasprintf(
			    "the token cap of %ld would stop this run %s: it would use "
			    "about %ld tokens, and this session has used %ld",
			    o->token_cap, when[i], tok, used);
	}
	return NULL;
}

int engine_project_range(const struct engine *en, int iterations, struct cost_projection *per,
                         struct projection_range *range, struct cost_projection *total,
                         struct projection_range *range_total)
{
	return project_run(en, iterations, per, range, total, range_total, NULL);
}

void engine_project(const struct engine *en, int iterations, struct cost_projection *per,
                    struct cost_projection *total)
{
	project_run(en, iterations, per, NULL, total, NULL, NULL);
}

void engine_projection_each(const struct engine *en, int iterations, double *usd)
{
	struct cost_projection total;
	project_run(en, iterations, NULL, NULL, &total, NULL, usd);
}

void eval_project(const struct engine *en, const struct iteration *it, const int *choice,
                  const size_t *idx, size_t n, struct cost_projection *p)
{
	const struct session *s = en->s;
	memset(p, 0, sizeof *p);
	size_t m = s->n_steps ? s->n_steps : 1;
	struct variant *var = xcalloc(m, sizeof *var);
	const struct variant **cfg = xcalloc(m, sizeof *cfg);
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct candidate *c = choice[i] > 0 ? &it->cands[i][choice[i] - 1] : NULL;
		var[i] =
		    c ? (struct variant){c->prompt, c->demos, c->n_demos} : (struct variant){0};
		cfg[i] = c ? &var[i] : NULL;
	}
	struct basis b;
	basis_init(en, &b);
	size_t k = MIN(n, (size_t)EVAL_WALK_MAX);
	size_t *some = xcalloc(k ? k : 1, sizeof *some);
	for (size_t j = 0; j < k; j++)
		some[j] = idx[j * n / k];
	struct run_projection r = {0};
	walk(en, &b, cfg, phases_val_split(en), some, k, false, &r);
	add_cost(p, &r.total, k ? (double)n / (double)k : 0);
	run_projection_done(&r);
	basis_free(&b);
	free(var), free(cfg), free(some);
}

void engine_project_measure(const struct engine *en, struct cost_projection *p)
{
	memset(p, 0, sizeof *p);
	if (!engine_can_measure(en))
		return;
	const struct iteration *it = engine_current(en);
	struct basis b;
	basis_init(en, &b);
	struct run_projection r = {0};
	walk(en, &b, NULL, phases_val_split(en), it->val_idx, it->n_val, false, &r);
	add_cost(p, &r.total, 1);
	run_projection_done(&r);
	basis_free(&b);
}

/* What each iteration is expected to cost when its proposal's acceptance is a coin whose odds
 * this session's own record gives: an iteration after another costs its range's low plus the
 * share p of the way to its point, p by the rule of succession over the closed iterations whose
 * proposal was accepted at least in part, (accepted + 1) / (closed + 2): one in two before any.
 * No constant is fitted to anything: with no record it is the range's middle way. */
double engine_project_expected(const struct engine *en, const struct projection_range *range, int n,
                               double *each, int *accepted, int *closed)
{
	*accepted = *closed = 0;
	for (size_t i = 0; i < en->n_iters; i++) {
		const struct iteration *it = en->iters[i];
		if (it->phase < PHASE_COUNT)
			continue;
		bool took = false;
		for (size_t k = 0; k < it->n_changes; k++)
			took |= it->changes[k].decision == DECISION_ACCEPT ||
			        it->changes[k].decision == DECISION_EDIT;
		*closed += 1, *accepted += took;
	}
	double p = (*accepted + 1.0) / (*closed + 2.0), total = 0;
	for (int i = 0; i < n; i++) {
		const struct projection_range *r = &range[i];
		double x = r->low.usd + p * (r->point.usd - r->low.usd);
		if (each)
			each[i] = x;
		total += x;
	}
	return total;
}

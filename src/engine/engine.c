/* engine.c: the ADOPT engine's commands, events, decisions, cost accounting and persistence.
 * What each phase does lives in phases.c; this file decides when phases run. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/phases.h"
#include "llm/beside.h"

static const char *const phase_names[PHASE_COUNT] = {
#define X(id, name, help) name,
    PHASES(X)
#undef X
};
static const char *const phase_helps[PHASE_COUNT] = {
#define X(id, name, help) help,
    PHASES(X)
#undef X
};

const char *phase_name(enum phase p)
{
	return p < PHASE_COUNT ? phase_names[p] : "done";
}

const char *phase_help(enum phase p)
{
	return p < PHASE_COUNT ? phase_helps[p] : "the iteration is complete";
}

static struct iteration *cur(struct engine *en)
{
	return en->n_iters ? en->iters[en->n_iters - 1] : NULL;
}

void engine_emit(struct engine *en, enum engine_event_kind kind, int step, long example,
                 const char *message)
{
	const struct iteration *it = cur(en);
	struct engine_event ev = {
	    kind,   it ? it->phase : PHASE_FORWARD, it ? it->number : 0, step, example, NULL, 0,
	    message};
	en->events++;
	if (en->fn)
		en->fn(en->arg, &ev);
}

/* ---- role requests ---- */

static const enum phase role_phases[ROLE_COUNT] = {
    [ROLE_STRUCTURE] = PHASE_ANALYSIS, [ROLE_DEPENDENCY] = PHASE_ANALYSIS,
    [ROLE_LOSS] = PHASE_GRADIENT,      [ROLE_GRADIENT] = PHASE_GRADIENT,
    [ROLE_LOCAL] = PHASE_LOCAL,        [ROLE_PSEUDO] = PHASE_PSEUDO,
    [ROLE_INSTRUCT] = PHASE_CANDIDATES};

enum phase role_phase(enum role r)
{
	return r < ROLE_COUNT ? role_phases[r] : PHASE_COUNT;
}

/* The phase whose spend a request's accounting tag counts in: "forward/STEP", "select/STEP",
 * "shapley/STEP" (run.c's batch tags) and "role:NAME"; PHASE_COUNT for any other. */
static enum phase phase_of_tag(const char *tag)
{
	static const struct {
		const char *prefix;
		enum phase p;
	} runs[] = {
	    {"forward/", PHASE_FORWARD}, {"select/", PHASE_SELECTION}, {"shapley/", PHASE_SHAPLEY}};
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++)
		if (str_startswith(tag, runs[i].prefix))
			return runs[i].p;
	int r = str_startswith(tag, "role:") ? role_find(tag + 5) : -1;
	return r >= 0 ? role_phase((enum role)r) : PHASE_COUNT;
}

static void stats_add(struct llm_stats *a, const struct llm_stats *b, int sign)
{
	a->done += sign * b->done, a->cached += sign * b->cached;
	a->tokens_in += sign * b->tokens_in, a->tokens_out += sign * b->tokens_out;
	a->tokens_prompt_cached += sign * b->tokens_prompt_cached;
	a->tokens_reasoning += sign * b->tokens_reasoning;
	a->estimated += sign * b->estimated;
	a->cost_usd += sign * b->cost_usd;
}

struct phase_sum {
	enum phase p;
	struct llm_stats s;
};

static void sum_phase_tag(void *arg, const char *tag, const struct llm_stats *s)
{
	struct phase_sum *ps = arg;
	if (phase_of_tag(tag) == ps->p)
		stats_add(&ps->s, s, 1);
}

/* What the requests tagged for phase p have spent in this session so far. */
static struct llm_stats phase_spend(const struct engine *en, enum phase p)
{
	struct phase_sum ps = {p, {0}};
	llm_foreach_tag(en->llm, sum_phase_tag, &ps);
	return ps.s;
}

/* The session's reuse so far in this process: memo hits, avoided requests, reused tokens. */
static void reuse_now(const struct engine *en, struct engine_totals *t)
{
	struct llm_stats st;
	llm_get_stats(en->llm, &st);
	struct runner_stats rs;
	runner_get_stats(en->runner, &rs);
	*t = (struct engine_totals){0};
	t->memo_hits = rs.memo_hits;
	t->avoided = rs.memo_hits + st.deduplicated;
	t->tokens_reused = st.tokens_reused;
}

/* Phase p's accounting starts: at its first request, or when it starts when none went ahead. */
static void phase_open(struct engine *en, enum phase p)
{
	if (p < PHASE_COUNT && !en->tag0_set[p]) {
		en->tag0[p] = phase_spend(en, p);
		en->tag0_set[p] = true;
	}
}

/* Adds to *usd and *tokens what phase q still needs: its projection pj less what the requests
 * tagged for it this iteration have spent (sent ahead, or the running phase's own), so that a
 * cap is not charged twice for them. */
static void phase_need(const struct engine *en, enum phase q, const struct cost_projection *pj,
                       double *usd, long *tokens)
{
	double u = pj->usd;
	long t = pj->tokens_in + pj->tokens_out;
	if (en->tag0_set[q]) {
		struct llm_stats st = phase_spend(en, q);
		stats_add(&st, &en->tag0[q], -1);
		u -= st.cost_usd, t -= st.tokens_in + st.tokens_out;
	}
	*usd += MAX(0, u), *tokens += MAX(0, t);
}

/* Phases from p on start afresh: their accounting and their permission to go ahead. */
static void phases_reopen(struct engine *en, enum phase p)
{
	for (int q = p; q < PHASE_COUNT; q++)
		en->tag0_set[q] = false, en->ahead_ok[q] = 0;
}

static void role_failed(struct engine *en, struct role_wait *w, char *msg)
{
	w->failed = true;
	engine_emit(en, EV_ERROR, -1, -1, msg);
	free(w->error);
	w->error = msg;
}

/* Every role request of phase p failed: nothing to go on with.  The last one's error in *why. */
static bool roles_all_failed(const struct engine *en, enum phase p, size_t *n, const char **why)
{
	*n = 0, *why = "";
	for (size_t i = 0; i < en->n_waits; i++) {
		const struct role_wait *w = en->waits[i];
		if (w->phase != p)
			continue;
		if (!w->failed)
			return false;
		++*n, *why = w->error ? w->error : "";
	}
	return *n > 0;
}

bool engine_roles_failed(struct engine *en)
{
	const struct iteration *it = cur(en);
	size_t n;
	const char *why;
	if (!roles_all_failed(en, it->phase, &n, &why))
		return false;
	char *msg = xasprintf("%s: every role request failed (%zu, the last with: %s); the phase "
	                      "was rolled back and the loop paused, earlier phases are kept: check "
	                      "the model configuration \"%s\" (optimizer.role_model) and run again",
	                      phase_name(it->phase), n, why, en->s->opt.role_model);
	engine_phase_failed(en, msg);
	free(msg);
	return true;
}

static void on_role_done(void *arg, const struct llm_reply *rep)
{
	struct role_wait *w = arg;
	struct engine *en = w->en;
	w->done = true;
	w->id = 0;
	const struct model_config *m = session_model(en->s, en->s->opt.role_model);
	if (rep->error) {
		role_failed(en, w, xasprintf("role request failed: %s", rep->error));
	} else if (rep->cut && !(m && m->cut_is_error == CUT_ALLOWED)) {
		/* a cut analysis loses its closing tags and its end: never read half of one */
		role_failed(en, w,
		            xasprintf("role answer cut by the token limit (finish reason \"%s\"): "
		                      "raise max_tokens of model \"%s\"",
		                      rep->finish_reason, en->s->opt.role_model));
	} else {
		if (w->raw_dest) {
			*w->raw_dest = xstrdup(rep->text);
			if (!w->dest && !rep->text[strspn(rep->text, " \t\r\n")])
				role_failed(en, w,
				            xstrdup("role answer unusable: the reply is empty"));
		}
		if (w->dest) {
			struct err e = {{0}};
			char *out = NULL;
			if (role_extract(rep->text, w->tag ? w->tag : "", &out, &e) < 0)
				role_failed(en, w, xasprintf("role answer unusable: %s", e.msg));
			*w->dest = out;
		}
	}
	engine_emit(en, EV_COST, -1, -1, NULL);
	/* an answer of a phase still ahead: its phase adopts it when it starts */
	bool mine = en->busy && w->phase == cur(en)->phase;
	if (mine)
		en->waits_left--;
	phases_flow(en); /* what this answer makes possible */
	if (mine && en->waits_left == 0 && en->jobs_left == 0)
		engine_work_done(en);
}

struct role_wait *engine_wait_of(const struct engine *en, char *const *slot)
{
	for (size_t i = 0; i < en->n_waits; i++)
		if (en->waits[i]->dest == slot || en->waits[i]->raw_dest == slot)
			return en->waits[i];
	return NULL;
}

bool engine_role_request(const struct engine *en, enum role r, const char *prompt,
                         struct llm_message *msg, char tag[64], struct llm_request *req)
{
	const struct model_config *m = session_model(en->s, en->s->opt.role_model);
	*msg = (struct llm_message){"user", prompt};
	snprintf(tag, 64, "role:%s", role_name(r));
	*req = (struct llm_request){m, msg, 1, tag};
	return m != NULL;
}

void engine_ask(struct engine *en, enum role r, const char *prompt, char **dest, char **raw_dest,
                const char *tag)
{
	struct llm_message msg;
	char t[64];
	struct llm_request req;
	if (!engine_role_request(en, r, prompt, &msg, t, &req)) {
		char *why = xasprintf("no model configuration \"%s\" for the analysis roles "
		                      "(optimizer.role_model)",
		                      en->s->opt.role_model);
		engine_emit(en, EV_ERROR, -1, -1, why);
		free(why);
		return;
	}
	struct iteration *it = cur(en);
	struct role_wait *w = xcalloc(1, sizeof *w);
	*w = (struct role_wait){en, 0, dest, raw_dest, tag, role_phase(r), false, false, NULL};
	en->waits = xgrow(en->waits, &en->cap_waits, en->n_waits + 1, sizeof *en->waits);
	en->waits[en->n_waits++] = w;
	if (w->phase == it->phase)
		en->waits_left++;
	phase_open(en, w->phase);
	w->id = llm_submit(en->llm, &req, on_role_done, NULL, w);
	struct engine_event ev = {EV_REQUEST_SENT, w->phase, it->number, -1, -1, NULL, 0, NULL};
	en->events++;
	if (en->fn)
		en->fn(en->arg, &ev);
}

void engine_bury_batch(struct engine *en, struct run_batch *b)
{
	en->graveyard =
	    xgrow(en->graveyard, &en->cap_graveyard, en->n_graveyard + 1, sizeof *en->graveyard);
	en->graveyard[en->n_graveyard++] = b;
}

/* Ends the role requests of the phases up to `upto` (one still out is cancelled: the phase
 * no longer needs it); those of later phases, sent ahead, stay. */
static void free_stage_work(struct engine *en, enum phase upto)
{
	size_t kept = 0;
	for (size_t i = 0; i < en->n_waits; i++) {
		struct role_wait *w = en->waits[i];
		if (w->phase > upto) {
			en->waits[kept++] = w;
			continue;
		}
		if (w->id)
			llm_cancel(en->llm, w->id);
		free(w->error);
		free(w);
	}
	en->n_waits = kept;
	en->waits_left = 0;
	if (upto < PHASE_CANDIDATES)
		return;
	for (size_t i = 0; en->opt_prompts && i < en->s->n_steps; i++) {
		for (size_t k = 0; k < en->n_opt_prompts[i]; k++) {
			free(en->opt_prompts[i][k]);
			if (en->opt_answers[i])
				free(en->opt_answers[i][k]);
		}
		free(en->opt_prompts[i]);
		free(en->opt_answers[i]);
	}
	free(en->opt_prompts);
	free(en->n_opt_prompts);
	free(en->opt_answers);
	en->opt_prompts = NULL, en->n_opt_prompts = NULL, en->opt_answers = NULL;
}

void engine_cancel_work(struct engine *en)
{
	if (en->slicer)
		llm_source_cancel(en->llm, en->slicer); /* sets it to 0 */
	uint64_t pj = en->projecting;
	en->projecting = 0, en->pj_ready = false; /* 0 first: its callback then does nothing */
	if (pj)
		llm_source_cancel(en->llm, pj);
	for (size_t j = 0; j < en->n_jobs; j++) {
		if (en->jobs[j]->batch) {
			run_batch_cancel(en->jobs[j]->batch);
			engine_bury_batch(en, en->jobs[j]->batch);
		}
		free(en->jobs[j]->choice);
		free(en->jobs[j]->variants);
		free(en->jobs[j]->config);
		free(en->jobs[j]);
	}
	en->n_jobs = en->jobs_left = en->n_started = 0;
	en->committed_usd = 0, en->committed_tokens = 0;
	free(en->cap_reason);
	en->cap_reason = NULL;
	if (en->batch) {
		run_batch_cancel(en->batch);
		engine_bury_batch(en, en->batch);
		en->batch = NULL;
	}
	bo_free_opt(en);
	free_stage_work(en, PHASE_COUNT);
}

/* ---- phases ---- */

static void set_pause(struct engine *en, const char *reason)
{
	free(en->pause_reason);
	en->pause_reason = reason ? xstrdup(reason) : NULL;
	en->go = GO_NONE;
	if (reason)
		engine_emit(en, EV_PAUSED, -1, -1, reason);
}

char *engine_eval_over_cap(const struct engine *en, const struct iteration *it, const int *choice,
                           const size_t *idx, size_t n, double *usd, long *tokens)
{
	const struct optimizer_settings *o = &en->s->opt;
	*usd = 0, *tokens = 0;
	if (o->cost_cap_usd <= 0 && o->token_cap <= 0)
		return NULL;
	struct cost_projection p;
	eval_project(en, it, choice, idx, n, &p);
	*usd = p.usd, *tokens = p.tokens_in + p.tokens_out;
	struct engine_totals spent;
	engine_spent(en, &spent);
	if (o->cost_cap_usd > 0 && spent.cost_usd + en->committed_usd + *usd > o->cost_cap_usd)
		return xasprintf(
		    "budget cap: the next evaluation is projected to cost $%.4f, which "
		    "would pass the cap of $%.4f (this session has spent $%.4f, and "
		    "$%.4f is under way); raise optimizer.cost_cap_usd to go on",
		    *usd, o->cost_cap_usd, spent.cost_usd, en->committed_usd);
	long used = spent.tokens_in + spent.tokens_out + en->committed_tokens;
	if (o->token_cap > 0 && used + *tokens > o->token_cap)
		return xasprintf("token cap: the next evaluation is projected to use about %ld "
		                 "tokens, passing the cap of %ld (used and under way %ld)",
		                 *tokens, o->token_cap, used);
	return NULL;
}

struct iteration *engine_new_iteration(struct engine *en)
{
	struct iteration *it = xcalloc(1, sizeof *it);
	it->number = en->n_iters ? cur(en)->number + 1 : 1;
	it->best_eval = -1;
	it->kept_score = -1;
	it->phase = PHASE_FORWARD;
	en->iters = xgrow(en->iters, &en->cap_iters, en->n_iters + 1, sizeof *en->iters);
	en->iters[en->n_iters++] = it;
	phases_reopen(en, PHASE_FORWARD);
	return it;
}

static void drop_undo(struct engine *en);
static int start_next(struct engine *en);

/* In the copy of the process: the phase's projection, as bytes. */
static void project_work(void *arg, struct sbuf *out)
{
	struct engine *en = arg;
	struct cost_projection pj;
	phase_project(en, cur(en)->phase, &pj);
	sbuf_add(out, (const char *)&pj, sizeof pj);
}

/* The projection made beside the loop is in (data NULL: its process failed, or it was
 * cancelled): the phase starts now, as start_next would have started it. */
static void project_done(void *arg, const char *data, size_t n, bool died)
{
	struct engine *en = arg;
	if (!en->projecting)
		return; /* cancelled (engine_cancel_work) */
	en->projecting = 0;
	en->busy = false;
	en->pj_phase = cur(en)->phase;
	en->pj_ready = data && n == sizeof en->pj;
	en->pj_died = died || !en->pj_ready; /* made at once in start_next, this once */
	if (en->pj_ready)
		memcpy(&en->pj, data, sizeof en->pj);
	if (en->pause_requested) { /* asked while it was made: the phase does not start */
		en->pause_requested = false;
		en->pj_ready = false;
		set_pause(en, "paused");
		return;
	}
	if (start_next(en) < 0)
		en->go = GO_NONE;
}

/* The phase's projection into pj: true when made (at once, or the one made beside the loop for
 * it), false when it is being made beside the loop (the engine is busy until project_done). */
static bool project_phase(struct engine *en, enum phase p, struct cost_projection *pj)
{
	if (en->pj_ready && en->pj_phase == p) {
		en->pj_ready = false;
		*pj = en->pj;
		return true;
	}
	en->pj_ready = false;
	if (engine_project_next_known(en, pj))
		return true; /* a view has just made it (the Proposals pane, :cost) */
	struct err e = {{0}};
	bool beside = en->o.project_beside && !en->pj_died;
	en->pj_died = false;
	if (beside && (p == PHASE_FORWARD || p == PHASE_SELECTION) &&
	    (en->projecting = llm_beside(en->llm, project_work, en, project_done, en, &e))) {
		en->busy = true;
		return false;
	}
	phase_project(en, p, pj); /* at once (also when no process could be started) */
	return true;
}

/* Starts the next phase (a new iteration when the last one is closed). */
static int start_next(struct engine *en)
{
	if (en->busy)
		return -1;
	const char *nothing = engine_nothing_to_optimize(en);
	if (nothing) {
		en->stop_cause = "nothing_to_optimize";
		set_pause(en, nothing);
		return -1;
	}
	struct iteration *it = cur(en);
	if (!it || it->phase >= PHASE_COUNT) {
		engine_new_iteration(en);
		it = cur(en);
	}
	if (en->go != GO_RESUME)
		en->resume_phase = PHASE_FORWARD; /* started afresh: nothing left to resume */
	enum phase p = it->phase;
	if (p == PHASE_DECISION) {
		engine_decide_remaining(en);
		return 0;
	}
	struct cost_projection pj;
	if (!project_phase(en, p, &pj))
		return 0; /* started when its projection is in */
	struct phase_cost *pc = &it->cost[p];
	pc->projected_calls = pj.calls, pc->projected_cached = pj.cached;
	pc->projected_tokens_in = pj.tokens_in, pc->projected_tokens_out = pj.tokens_out;
	pc->projected_usd = pj.usd;
	struct engine_totals spent;
	engine_spent(en, &spent);
	double need_usd = 0;
	long need_tokens = 0;
	phase_need(en, p, &pj, &need_usd, &need_tokens);
	const struct optimizer_settings *o = &en->s->opt;
	if (o->cost_cap_usd > 0 && spent.cost_usd + need_usd > o->cost_cap_usd) {
		char *msg =
		    xasprintf("budget cap: phase %s is projected to cost $%.4f, which would "
		              "pass the cap of $%.4f (this session has spent $%.4f); raise "
		              "optimizer.cost_cap_usd to go on",
		              phase_name(p), pj.usd, o->cost_cap_usd, spent.cost_usd);
		en->stop_cause = "cost_cap";
		set_pause(en, msg);
		free(msg);
		return -1;
	}
	long tokens = spent.tokens_in + spent.tokens_out;
	long more = pj.tokens_in + pj.tokens_out;
	if (o->token_cap > 0 && tokens + need_tokens > o->token_cap) {
		char *msg = xasprintf("token cap: phase %s is projected to use about %ld tokens, "
		                      "passing the cap of %ld (used %ld)",
		                      phase_name(p), more, o->token_cap, tokens);
		en->stop_cause = "token_cap";
		set_pause(en, msg);
		free(msg);
		return -1;
	}
	if (p == PHASE_FORWARD)
		drop_undo(en); /* the decisions before it are final now */
	phase_open(en, p);
	en->busy = true;
	free(en->pause_reason);
	en->pause_reason = NULL;
	reuse_now(en, &en->at_start);
	engine_emit(en, EV_PHASE_STARTED, -1, -1, NULL);
	phase_start(en, p);
	return 0;
}

static void account_phase(struct engine *en, struct iteration *it, enum phase p)
{
	/* the requests tagged for p, whenever they ran: some may have gone ahead of p's start,
	 * and a later phase's may have run during p */
	phase_open(en, p);
	struct llm_stats st = phase_spend(en, p);
	stats_add(&st, &en->tag0[p], -1);
	struct phase_cost *c = &it->cost[p];
	c->calls = st.done;
	c->cached = st.cached;
	c->tokens_in = st.tokens_in;
	c->tokens_out = st.tokens_out;
	c->tokens_prompt_cached = st.tokens_prompt_cached;
	c->tokens_reasoning = st.tokens_reasoning;
	c->estimated = st.estimated;
	/* a difference of two running sums: to the pico-dollar, without the subtraction's noise */
	c->cost_usd = round(st.cost_usd * 1e12) / 1e12;
	if (en->go == GO_RESUME && p < en->resume_phase) {
		/* a replay: the cache hits are no new calls, and its memo hits, deduplicated
		 * requests and reused tokens were counted when it ran (history.spent holds them);
		 * the phase cost what it cost then */
		struct engine_totals *r = &en->replayed, now;
		reuse_now(en, &now);
		r->calls += c->cached, r->cached += c->cached;
		r->memo_hits += now.memo_hits - en->at_start.memo_hits;
		r->avoided += now.avoided - en->at_start.avoided;
		r->tokens_reused += now.tokens_reused - en->at_start.tokens_reused;
		if (c->calls == c->cached)
			r->tokens_in += c->tokens_in, r->tokens_out += c->tokens_out;
		double extra = c->cost_usd; /* calls the cache no longer held */
		*c = en->resume_cost[p];
		c->cost_usd += extra;
	}
}

void engine_phase_done(struct engine *en)
{
	struct iteration *it = cur(en);
	enum phase p = it->phase;
	account_phase(en, it, p);
	free_stage_work(en, p);
	en->busy = false;
	it->phase = p + 1;
	char *msg = xasprintf("%s done: %ld calls, $%.4f", phase_name(p), it->cost[p].calls,
	                      it->cost[p].cost_usd);
	struct engine_event ev = {EV_PHASE_FINISHED, p, it->number, -1, -1, NULL, 0, msg};
	if (en->fn)
		en->fn(en->arg, &ev); /* the phase that finished, not the next one */
	free(msg);
	engine_emit(en, EV_COST, -1, -1, NULL);
	if (it->phase == PHASE_DECISION && it->n_changes == 0) {
		it->phase = PHASE_COUNT; /* nothing to decide: the incumbent stays */
		it->kept_score = it->n_evals ? it->base_score : -1;
		engine_emit(en, EV_ITERATION_DONE, -1, -1, NULL);
	} else if (it->phase == PHASE_DECISION && (en->o.auto_accept || en->go == GO_ITERATIONS)) {
		engine_decide_remaining(en);
	} else if (it->phase == PHASE_DECISION) {
		set_pause(en, "proposal ready: accept, edit or reject each change");
	}
	if (en->cap_reason) { /* an evaluation the caps refused */
		en->pause_requested = false;
		set_pause(en, en->cap_reason);
		free(en->cap_reason);
		en->cap_reason = NULL;
	}
	if (en->pause_requested) {
		en->pause_requested = false;
		set_pause(en, "paused");
	}
	phases_flow(en); /* the next phase's inputs are complete */
}

/* Rolls the phase in flight back, with whatever later phases had started ahead of it. */
static void roll_back(struct engine *en, struct iteration *it)
{
	engine_cancel_work(en);
	for (int q = PHASE_DECISION; q >= (int)it->phase; q--)
		phase_clear(it, (enum phase)q, en->s->n_steps);
	phases_reopen(en, it->phase);
	en->busy = false;
}

bool engine_overlap(const struct engine *en)
{
	return en->s->opt.overlap && (en->go == GO_PROPOSAL || en->go == GO_ITERATIONS);
}

bool engine_may_ahead(struct engine *en, enum phase p)
{
	if (!engine_overlap(en) || p >= PHASE_COUNT)
		return false;
	if (!en->ahead_ok[p]) {
		/* p and the phases before it still to finish (the running one's rest) must fit */
		const struct optimizer_settings *o = &en->s->opt;
		double usd = 0;
		long tokens = 0;
		bool capped = o->cost_cap_usd > 0 || o->token_cap > 0;
		for (int q = MIN(cur(en)->phase, p); capped && q <= (int)p; q++) {
			struct cost_projection pj;
			phase_project(en, (enum phase)q, &pj);
			phase_need(en, (enum phase)q, &pj, &usd, &tokens);
		}
		struct engine_totals spent;
		engine_spent(en, &spent);
		bool ok = !(o->cost_cap_usd > 0 && spent.cost_usd + usd > o->cost_cap_usd) &&
		          !(o->token_cap > 0 &&
		            spent.tokens_in + spent.tokens_out + tokens > o->token_cap);
		en->ahead_ok[p] = ok ? 1 : -1;
	}
	return en->ahead_ok[p] > 0;
}

void engine_phase_failed(struct engine *en, const char *message)
{
	struct iteration *it = cur(en);
	roll_back(en, it);
	engine_emit(en, EV_ERROR, -1, -1, message);
	en->stop_cause = "error";
	set_pause(en, message);
}

/* An iteration gained when it took a change whose combination beat the incumbent. */
static bool iteration_gained(const struct iteration *it)
{
	bool taken = false;
	for (size_t c = 0; c < it->n_changes; c++)
		taken |= it->changes[c].decision == DECISION_ACCEPT ||
		         it->changes[c].decision == DECISION_EDIT;
	return taken && it->best_score > it->base_score;
}

/* Finished batches are freed a slice a call of engine_poll (one batch, then more while fewer
 * than GRAVE_SLICE examples were freed), not all at once: selection's end buries every
 * evaluation's batch together, and freeing 14 of 300 examples at m = 12 held one turn of the
 * loop 20-36 ms. */
#define GRAVE_SLICE 256

/* Called by the front end after every llm_wait(): frees finished work and starts the next
 * phase when the engine is running.  Returns true when it wants to be called again at once. */
bool engine_poll(struct engine *en)
{
	for (size_t freed = 0; en->n_graveyard && freed < GRAVE_SLICE;) {
		struct run_batch *b = en->graveyard[--en->n_graveyard];
		freed += run_batch_count(b) ? run_batch_count(b) : 1;
		run_batch_free(b);
	}
	if (en->busy || en->go == GO_NONE)
		return false;
	struct iteration *it = cur(en);
	if (en->go == GO_PROPOSAL && it && it->phase == PHASE_DECISION) {
		en->go = GO_NONE;
		return false;
	}
	/* an iteration that found nothing to propose ends the run too: going on would spend
	 * iteration after iteration without ever asking the user */
	if (en->go == GO_PROPOSAL && it && it->phase >= PHASE_COUNT && it->n_changes == 0) {
		en->go = GO_NONE;
		char *msg = xasprintf("iteration %d found no change that improves validation; r "
		                      "runs another",
		                      it->number);
		set_pause(en, msg);
		free(msg);
		return false;
	}
	if (en->go == GO_ITERATIONS && it && it->phase >= PHASE_COUNT) {
		en->flat = iteration_gained(it) ? 0 : en->flat + 1;
		if (en->patience > 0 && en->flat >= en->patience) {
			char *msg =
			    xasprintf("stopped after %d iteration%s without validation gain "
			              "(patience %d)",
			              en->flat, en->flat == 1 ? "" : "s", en->patience);
			en->stop_cause = "patience";
			set_pause(en, msg);
			free(msg);
			return false;
		}
		if (--en->iterations_left <= 0) {
			en->go = GO_NONE;
			return false;
		}
	}
	if (en->go == GO_RESUME && it && it->phase >= en->resume_phase) {
		en->go = GO_NONE;
		en->resume_phase = PHASE_FORWARD; /* replayed: nothing left to resume */
		return false;
	}
	if (start_next(en) < 0) {
		en->go = GO_NONE;
		return false;
	}
	return !en->busy && en->go != GO_NONE;
}

/* ---- commands ---- */

int engine_resume(struct engine *en)
{
	const struct iteration *it = cur(en);
	if (en->busy || !it || it->phase >= en->resume_phase || en->resume_phase <= PHASE_FORWARD)
		return -1;
	en->go = GO_RESUME;
	return start_next(en);
}

int engine_step(struct engine *en)
{
	if (en->busy)
		return -1;
	en->go = GO_NONE;
	en->stop_cause = NULL;
	return start_next(en);
}

int engine_run_to_proposal(struct engine *en)
{
	if (en->busy)
		return -1;
	en->go = GO_PROPOSAL;
	en->stop_cause = NULL;
	return start_next(en);
}

int engine_run(struct engine *en, int iterations)
{
	if (en->busy || iterations < 1)
		return -1;
	const struct iteration *it = cur(en);
	/* a half-done iteration counts as the first */
	en->go = GO_ITERATIONS;
	en->flat = 0;
	en->stop_cause = NULL;
	en->iterations_left = iterations + (it && it->phase >= PHASE_COUNT ? 1 : 0);
	if (!it || it->phase >= PHASE_COUNT)
		en->iterations_left = iterations;
	return start_next(en);
}

void engine_pause(struct engine *en)
{
	if (en->busy)
		en->pause_requested = true;
	else
		set_pause(en, "paused");
}

void engine_cancel(struct engine *en)
{
	en->go = GO_NONE;
	if (!en->busy)
		return;
	if (en->measuring) { /* the decisions stay as they were, unmeasured */
		engine_cancel_work(en);
		en->measuring = false;
		en->busy = false;
		set_pause(en,
		          "cancelled the measurement: what the decisions kept stays unmeasured");
		return;
	}
	struct iteration *it = cur(en);
	roll_back(en, it);
	char *msg = xasprintf("cancelled %s: rolled back to its start", phase_name(it->phase));
	set_pause(en, msg);
	free(msg);
}

/* ---- decisions ---- */

static struct step_change *find_change(struct engine *en, int step, size_t *idx)
{
	struct iteration *it = cur(en);
	if (!it || it->phase != PHASE_DECISION)
		return NULL;
	for (size_t c = 0; c < it->n_changes; c++)
		if (it->changes[c].step == step) {
			*idx = c;
			return &it->changes[c];
		}
	return NULL;
}

/* The versions in effect when an iteration measured its incumbent (each step's last version
 * made before iteration `before`; INT_MAX: the current ones) formed the configuration that
 * scored `score`: a version not measured yet (the original, an edit, a restored one) takes it. */
void engine_score_versions(struct engine *en, int before, double score)
{
	if (score < 0)
		return;
	for (size_t k = 0; k < en->s->n_steps; k++) {
		struct prompt_version *last = NULL;
		for (size_t v = 0; v < en->n_versions; v++)
			if (en->versions[v].step == (int)k && en->versions[v].iteration < before)
				last = &en->versions[v];
		if (last && last->score < 0)
			last->score = score;
	}
}

struct prompt_version *engine_add_version(struct engine *en, int step, const char *prompt,
                                          double score, bool edited, int iteration)
{
	int v = 0;
	for (size_t i = 0; i < en->n_versions; i++)
		if (en->versions[i].step == step && en->versions[i].version > v)
			v = en->versions[i].version;
	en->versions =
	    xgrow(en->versions, &en->cap_versions, en->n_versions + 1, sizeof *en->versions);
	struct prompt_version *pv = &en->versions[en->n_versions++];
	*pv = (struct prompt_version){
	    .step = step,
	    .version = v + 1,
	    .iteration = iteration,
	    .prompt = xstrdup(prompt),
	    .score = score,
	    .edited = edited,
	};
	return pv;
}

void version_set_demos(struct prompt_version *v, const struct demo *d, size_t n)
{
	demos_free(v->demos, v->n_demos);
	v->demos = demos_dup(d, n);
	v->n_demos = n;
	v->demos_known = true;
}

static void version_free(struct prompt_version *v)
{
	free(v->prompt);
	demos_free(v->demos, v->n_demos);
}

static void set_prompt(struct step *st, const char *prompt, const struct demo *demos, size_t n)
{
	struct err e = {{0}};
	struct template *t = template_parse(prompt, &e);
	if (!t)
		return;
	template_free(st->prompt_tpl);
	st->prompt_tpl = t;
	free(st->prompt);
	st->prompt = xstrdup(prompt);
	if (demos != st->demos) {
		for (size_t i = 0; i < st->n_demos; i++) {
			free(st->demos[i].input);
			free(st->demos[i].output);
		}
		free(st->demos);
		st->demos = xcalloc(n ? n : 1, sizeof *st->demos);
		for (size_t i = 0; i < n; i++)
			st->demos[i] =
			    (struct demo){xstrdup(demos[i].input), xstrdup(demos[i].output)};
		st->n_demos = n;
	}
}

/* Undoing change `change` of step `step` brings back prompt and demos and the first
 * n_versions_before versions. */
static void undo_add(struct engine *en, int step, size_t change, const char *prompt,
                     const struct demo *demos, size_t n_demos, size_t n_versions_before)
{
	struct undo_rec u = {
	    step,    change,           xstrdup(prompt), xcalloc(n_demos + 1, sizeof(struct demo)),
	    n_demos, n_versions_before};
	for (size_t i = 0; i < n_demos; i++)
		u.prev_demos[i] = (struct demo){xstrdup(demos[i].input), xstrdup(demos[i].output)};
	en->undo = xgrow(en->undo, &en->cap_undo, en->n_undo + 1, sizeof *en->undo);
	en->undo[en->n_undo++] = u;
}

static void push_undo(struct engine *en, int step, size_t change)
{
	const struct step *st = &en->s->steps[step];
	undo_add(en, step, change, st->prompt, st->demos, st->n_demos, en->n_versions);
}

void engine_restore_undo(struct engine *en)
{
	struct iteration *it = cur(en);
	size_t first = en->n_versions, taken = 0;
	for (size_t v = en->n_versions; v-- > 0 && en->versions[v].iteration == it->number;)
		first = v;
	for (size_t c = 0; c < it->n_changes; c++)
		taken += it->changes[c].decision == DECISION_ACCEPT ||
		         it->changes[c].decision == DECISION_EDIT;
	if (en->n_versions - first != taken)
		return; /* the versions tell another story (a version restored since) */
	/* the rejects first: undone last, when the versions after them are gone already */
	for (size_t c = 0; c < it->n_changes; c++) {
		const struct step *st = &en->s->steps[it->changes[c].step];
		if (it->changes[c].decision == DECISION_REJECT)
			undo_add(en, it->changes[c].step, c, st->prompt, st->demos, st->n_demos,
			         first);
	}
	for (size_t v = first; v < en->n_versions; v++) {
		int step = en->versions[v].step;
		const struct prompt_version *prev = NULL;
		for (size_t k = 0; k < v; k++)
			if (en->versions[k].step == step)
				prev = &en->versions[k];
		size_t c = 0;
		while (c < it->n_changes && it->changes[c].step != step)
			c++;
		if (!prev || !prev->demos_known || c == it->n_changes ||
		    it->changes[c].decision == DECISION_REJECT) {
			drop_undo(en);
			return;
		}
		undo_add(en, step, c, prev->prompt, prev->demos, prev->n_demos, v);
	}
}

static void free_undo(struct undo_rec *u)
{
	free(u->prev_prompt);
	for (size_t i = 0; i < u->n_prev_demos; i++) {
		free(u->prev_demos[i].input);
		free(u->prev_demos[i].output);
	}
	free(u->prev_demos);
}

/* Ends undo of the decisions made so far: the next iteration starts, or a version is restored. */
static void drop_undo(struct engine *en)
{
	for (size_t i = 0; i < en->n_undo; i++)
		free_undo(&en->undo[i]);
	en->n_undo = 0;
}

double engine_config_score(const struct engine *en, const struct iteration *it, const bool *keep)
{
	size_t n = en->s->n_steps;
	if (it->best_eval < 0 || (size_t)it->best_eval >= it->n_evals)
		return -1;
	const int *best = it->evals[it->best_eval].choice;
	for (size_t e = 0; e < it->n_evals; e++) {
		bool same = true;
		for (size_t i = 0; i < n && same; i++)
			same = it->evals[e].choice[i] == (keep[i] ? best[i] : 0);
		if (same)
			return it->evals[e].score;
	}
	return -1;
}

/* What the decisions kept, measured: see kept_score in engine.h. */
double engine_kept_score(const struct engine *en, const struct iteration *it)
{
	bool *keep = xcalloc(en->s->n_steps + 1, sizeof *keep);
	bool edited = false, any = false;
	for (size_t c = 0; c < it->n_changes; c++) {
		const struct step_change *ch = &it->changes[c];
		edited |= ch->decision == DECISION_EDIT;
		keep[ch->step] = ch->decision == DECISION_ACCEPT;
		any |= keep[ch->step];
	}
	double score = edited ? -1
	               : !any ? (it->n_evals ? it->base_score : -1)
	                      : engine_config_score(en, it, keep);
	free(keep);
	return score;
}

static void close_iteration(struct engine *en)
{
	struct iteration *it = cur(en);
	en->val_before_close = en->val_score;
	it->kept_score = engine_kept_score(en, it);
	/* the versions this iteration accepted joined the kept configuration */
	for (size_t c = 0; c < it->n_changes; c++) {
		if (it->changes[c].decision != DECISION_ACCEPT)
			continue;
		for (size_t v = en->n_versions; v-- > 0;) {
			struct prompt_version *pv = &en->versions[v];
			if (pv->step == it->changes[c].step && pv->iteration == it->number) {
				pv->score = it->kept_score;
				break;
			}
		}
	}
	if (it->n_evals)
		en->val_score = it->kept_score;
	it->phase = PHASE_COUNT;
	/* the decisions stay undoable until the next forward pass starts (drop_undo) */
	engine_emit(en, EV_ITERATION_DONE, -1, -1, NULL);
}

static void maybe_close(struct engine *en)
{
	struct iteration *it = cur(en);
	for (size_t c = 0; c < it->n_changes; c++)
		if (it->changes[c].decision == DECISION_NONE)
			return;
	close_iteration(en);
}

static int decide(struct engine *en, int step, enum decision d, enum decider by, const char *text)
{
	size_t ci;
	struct step_change *ch = find_change(en, step, &ci);
	if (!ch || ch->decision != DECISION_NONE)
		return -1;
	struct step *st = &en->s->steps[step];
	if (d == DECISION_EDIT) {
		struct err e = {{0}};
		struct template *t = template_parse(text, &e);
		const char *missing = NULL;
		bool ok = t && template_vars_cover(st->prompt_tpl, t, &missing);
		template_free(t);
		if (!ok) {
			char *msg = t ? xasprintf("edited prompt drops the input {{%s}}", missing)
			              : xasprintf("edited prompt: %s", e.msg);
			engine_emit(en, EV_ERROR, step, -1, msg);
			free(msg);
			return -1;
		}
	}
	push_undo(en, step, ci);
	ch->decision = d;
	ch->by = by;
	if (d == DECISION_ACCEPT || d == DECISION_EDIT) {
		const char *p = d == DECISION_EDIT ? text : ch->new_prompt;
		if (d == DECISION_EDIT)
			ch->edited = xstrdup(text);
		set_prompt(st, p, ch->new_demos, ch->n_new_demos);
		/* scored when the iteration closes, if what it kept was measured */
		version_set_demos(
		    engine_add_version(en, step, p, -1, d == DECISION_EDIT, cur(en)->number),
		    st->demos, st->n_demos);
	}
	engine_emit(en, EV_DECISION, step, -1, NULL);
	maybe_close(en);
	return 0;
}

int engine_accept(struct engine *en, int step)
{
	return decide(en, step, DECISION_ACCEPT, DECIDER_USER, NULL);
}

int engine_edit(struct engine *en, int step, const char *text)
{
	return decide(en, step, DECISION_EDIT, DECIDER_USER, text);
}

int engine_reject(struct engine *en, int step)
{
	return decide(en, step, DECISION_REJECT, DECIDER_USER, NULL);
}

int engine_undo(struct engine *en)
{
	struct iteration *it = cur(en);
	if (en->busy || !en->n_undo || !it ||
	    (it->phase != PHASE_DECISION && it->phase != PHASE_COUNT))
		return -1;
	if (it->phase == PHASE_COUNT) { /* closed by the decision undone: open again */
		it->phase = PHASE_DECISION;
		en->val_score = en->val_before_close;
		en->go = GO_NONE;
		it->kept_score = -1; /* undecided again: measured when it closes */
		for (size_t v = 0; v < en->n_versions; v++)
			if (en->versions[v].iteration == it->number)
				en->versions[v].score = -1;
	}
	struct undo_rec *u = &en->undo[--en->n_undo];
	struct step_change *ch = &it->changes[u->change];
	set_prompt(&en->s->steps[u->step], u->prev_prompt, u->prev_demos, u->n_prev_demos);
	while (en->n_versions > u->n_versions_before)
		version_free(&en->versions[--en->n_versions]);
	ch->decision = DECISION_NONE;
	ch->by = DECIDER_UNKNOWN;
	free(ch->edited);
	ch->edited = NULL;
	free_undo(u);
	engine_emit(en, EV_DECISION, u->step, -1, NULL);
	return 0;
}

int engine_decide_remaining(struct engine *en)
{
	struct iteration *it = cur(en);
	if (!it || it->phase != PHASE_DECISION)
		return -1;
	bool improves = it->best_score > it->base_score;
	for (size_t c = 0; c < it->n_changes && it->phase == PHASE_DECISION; c++)
		if (it->changes[c].decision == DECISION_NONE)
			decide(en, it->changes[c].step,
			       improves ? DECISION_ACCEPT : DECISION_REJECT, DECIDER_ENGINE, NULL);
	if (it->phase == PHASE_DECISION)
		close_iteration(en);
	return 0;
}

/* ---- measuring what the decisions kept ---- */

bool engine_can_measure(const struct engine *en)
{
	const struct iteration *it = cur((struct engine *)en);
	return !en->busy && it && it->phase == PHASE_COUNT && it->kept_score < 0 && it->n_evals &&
	       it->val_idx && it->n_val;
}

static void measure_done(void *arg, struct run_batch *b)
{
	struct engine *en = arg;
	struct iteration *it = cur(en);
	if (!en->measuring)
		return;
	struct llm_stats st;
	llm_get_stats(en->llm, &st);
	struct phase_cost *c = &it->cost[PHASE_DECISION]; /* what measuring the decisions cost */
	c->calls += st.done - en->measure_start.done;
	c->cached += st.cached - en->measure_start.cached;
	c->tokens_in += st.tokens_in - en->measure_start.tokens_in;
	c->tokens_out += st.tokens_out - en->measure_start.tokens_out;
	c->cost_usd += st.cost_usd - en->measure_start.cost_usd;
	it->kept_score = run_batch_score(b);
	en->val_score = it->kept_score;
	for (size_t v = 0; v < en->n_versions; v++)
		if (en->versions[v].iteration == it->number)
			en->versions[v].score = it->kept_score;
	engine_store_measured(it);
	engine_bury_batch(en, b);
	en->batch = NULL;
	en->measuring = false;
	en->busy = false;
	char *msg = xasprintf("measured what the decisions kept: validation %.3f", it->kept_score);
	set_pause(en, msg);
	free(msg);
	engine_emit(en, EV_DECISION, -1, -1, NULL);
	engine_emit(en, EV_COST, -1, -1, NULL);
}

int engine_measure(struct engine *en)
{
	if (!engine_can_measure(en))
		return -1;
	struct iteration *it = cur(en);
	llm_get_stats(en->llm, &en->measure_start);
	en->busy = en->measuring = true;
	free(en->pause_reason);
	en->pause_reason = NULL;
	struct run_callbacks cb = {NULL, NULL, measure_done, en, NULL};
	struct run_batch *b = runner_start(en->runner, NULL, phases_val_split(en), it->val_idx,
	                                   it->n_val, "measure", &cb);
	if (en->measuring) /* else every answer came from the memo: measure_done ran already */
		en->batch = b;
	return 0;
}

int engine_restore_version(struct engine *en, int step, int version)
{
	if (en->busy)
		return -1;
	for (size_t i = 0; i < en->n_versions; i++) {
		const struct prompt_version *v = &en->versions[i];
		if (v->step == step && v->version == version) {
			drop_undo(en); /* undo would now take back the restore's prompt */
			struct step *st = &en->s->steps[step];
			/* the version's own demonstrations where it recorded them */
			struct prompt_version *nv = engine_add_version(
			    en, step, v->prompt, -1, false, cur(en) ? cur(en)->number : 0);
			v = &en->versions[i]; /* the array may have moved */
			if (v->demos_known)
				version_set_demos(nv, v->demos, v->n_demos);
			else
				version_set_demos(nv, st->demos, st->n_demos);
			set_prompt(st, nv->prompt, nv->demos, nv->n_demos);
			/* the other steps may have changed since: this combination is unmeasured */
			en->val_score = -1;
			engine_emit(en, EV_DECISION, step, -1, NULL);
			return 0;
		}
	}
	return -1;
}

/* ---- state ---- */

bool engine_busy(const struct engine *en)
{
	return en->busy;
}

bool engine_running(const struct engine *en)
{
	return en->busy || en->go != GO_NONE;
}

const struct session *engine_session(const struct engine *en)
{
	return en->s;
}

const struct iteration *engine_current(const struct engine *en)
{
	return en->n_iters ? en->iters[en->n_iters - 1] : NULL;
}

const struct iteration *engine_iteration(const struct engine *en, size_t i)
{
	return i < en->n_iters ? en->iters[i] : NULL;
}

size_t engine_iterations(const struct engine *en)
{
	return en->n_iters;
}

const struct prompt_version *engine_versions(const struct engine *en, size_t *n)
{
	*n = en->n_versions;
	return en->versions;
}

void engine_totals(const struct engine *en, struct engine_totals *t)
{
	struct llm_stats st;
	llm_get_stats(en->llm, &st);
	struct runner_stats rs;
	runner_get_stats(en->runner, &rs);
	const struct engine_totals *r = &en->replayed;
	*t = (struct engine_totals){st.done - r->calls,
	                            st.cached - r->cached,
	                            rs.memo_hits - r->memo_hits,
	                            rs.memo_hits + st.deduplicated - r->avoided,
	                            st.tokens_in - r->tokens_in,
	                            st.tokens_out - r->tokens_out,
	                            st.cost_usd,
	                            st.tokens_prompt_cached,
	                            st.tokens_reasoning,
	                            st.tokens_reused - r->tokens_reused,
	                            st.estimated};
}

void engine_spent(const struct engine *en, struct engine_totals *t)
{
	engine_totals(en, t);
	const struct engine_totals *e = &en->earlier;
	t->calls += e->calls, t->cached += e->cached, t->memo_hits += e->memo_hits;
	t->avoided += e->avoided, t->tokens_in += e->tokens_in, t->tokens_out += e->tokens_out;
	t->cost_usd += e->cost_usd;
	t->tokens_prompt_cached += e->tokens_prompt_cached;
	t->tokens_reasoning += e->tokens_reasoning;
	t->tokens_reused += e->tokens_reused;
	t->estimated += e->estimated;
}

void engine_tokens_detail(const struct engine_totals *t, struct sbuf *b)
{
	if (t->tokens_prompt_cached && t->tokens_reasoning)
		sbuf_addf(b, " (%ld provider-cached, %ld reasoning)", t->tokens_prompt_cached,
		          t->tokens_reasoning);
	else if (t->tokens_prompt_cached)
		sbuf_addf(b, " (%ld provider-cached)", t->tokens_prompt_cached);
	else if (t->tokens_reasoning)
		sbuf_addf(b, " (%ld reasoning)", t->tokens_reasoning);
	if (t->tokens_reused)
		sbuf_addf(b, ", %ld reused", t->tokens_reused);
	if (t->estimated)
		sbuf_addf(b, ", %ld request%s estimated", t->estimated,
		          t->estimated == 1 ? "" : "s");
}

void engine_projection(const struct engine *en, long *calls, double *usd)
{
	struct cost_projection p;
	engine_project_next(en, &p);
	*calls = p.calls;
	*usd = p.usd;
}

void engine_projection_run(const struct engine *en, int iterations, long *calls, double *usd)
{
	struct cost_projection p;
	engine_project(en, iterations, NULL, &p);
	*calls = p.calls;
	*usd = p.usd;
}

void engine_set_patience(struct engine *en, int iterations)
{
	en->patience = iterations > 0 ? iterations : 0;
}

const char *engine_pause_reason(const struct engine *en)
{
	return en->pause_reason;
}

const char *engine_stop_cause(const struct engine *en)
{
	return en->stop_cause;
}

double engine_val_score(const struct engine *en)
{
	return en->val_score;
}

const char *engine_reopen_note(const struct engine *en)
{
	return en->reopen_note;
}

void engine_note_reopen(struct engine *en, const char *fmt, ...)
{
	struct sbuf b = {0};
	if (en->reopen_note)
		sbuf_addf(&b, "%s; ", en->reopen_note);
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(en->reopen_note);
	en->reopen_note = xstrdup(sbuf_str(&b));
	sbuf_free(&b);
}

const char *engine_nothing_to_optimize(const struct engine *en)
{
	if (session_learnable_steps(en->s))
		return NULL;
	return "nothing to optimize: no step has a learnable prompt (an llm step that is not "
	       "frozen)";
}

/* ---- life cycle ---- */

struct engine *engine_new(struct session *s, struct llm *l, const struct engine_opts *o,
                          engine_event_fn *fn, void *arg, struct err *e)
{
	if (!optimizer_find(s->opt.step_optimizer)) {
		err_set(e, "optimizer.step_optimizer: unknown optimizer \"%s\" (known: %s)",
		        s->opt.step_optimizer, optimizer_names());
		return NULL;
	}
	struct engine *en = xcalloc(1, sizeof *en);
	en->s = s;
	en->llm = l;
	en->o = o ? *o : (struct engine_opts){0};
	en->fn = fn;
	en->arg = arg;
	en->runner = runner_new(s, l, en->o.trust);
	en->val_score = -1;
	engine_restore(en);
	return en;
}

void engine_project_beside(struct engine *en, bool on)
{
	en->o.project_beside = on;
}

void engine_free(struct engine *en)
{
	if (!en)
		return;
	engine_cancel_work(en);
	for (size_t i = 0; i < en->n_graveyard; i++)
		run_batch_free(en->graveyard[i]);
	free(en->graveyard);
	for (size_t i = 0; i < en->n_iters; i++) {
		cJSON_Delete(en->iters[i]->saved);
		iteration_free(en->iters[i], en->s->n_steps);
	}
	free(en->iters);
	for (size_t i = 0; i < en->n_versions; i++)
		version_free(&en->versions[i]);
	free(en->versions);
	drop_undo(en);
	free(en->undo);
	free(en->waits);
	free(en->jobs);
	free(en->screen_est);
	free(en->cap_reason);
	free(en->pause_reason);
	free(en->reopen_note);
	free(en->structure_cache);
	runner_free(en->runner);
	free(en);
}

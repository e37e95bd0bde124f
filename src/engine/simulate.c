/* simulate.c: a run of whole iterations played out in a sandbox, for a dry run whose models are
 * all local.  The scripted model's rules are local and deterministic, so instead of projecting
 * what `--run N` will cost, the engine runs the N iterations against it, auto-accepting as the
 * run does, through an LLM layer that writes nothing and sends nothing (llm.h, sandbox: the
 * response cache and spend journal beside the session read only, only the scripted provider
 * answering), on a session the caller loaded for it and never saves.  What it reports is each
 * iteration's and phase's calls, tokens and money as the engine's own accounting counted them:
 * what the real run will then be billed.  A pipeline that would reach anything outside (a
 * model that is not scripted, a retrieval server, an external command) is not simulated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "engine/engine.h"

static bool scripted(const struct model_config *m)
{
	return m && m->provider && !strcmp(m->provider, "scripted");
}

char *engine_sim_blocker(const struct session *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind == STEP_LLM && !scripted(st->model_cfg))
			return xasprintf("step \"%s\" asks model \"%s\" (provider %s), not a local "
			                 "scripted model",
			                 st->id, st->model,
			                 st->model_cfg ? st->model_cfg->provider : "?");
		if (st->kind == STEP_RETRIEVE && st->url)
			return xasprintf("retrieve step \"%s\" asks a retrieval server", st->id);
		if (st->kind == STEP_EXEC)
			return xasprintf("exec step \"%s\" runs an external command", st->id);
	}
	const struct model_config *r = session_model(s, s->opt.role_model);
	if (!scripted(r))
		return xasprintf("the analysis roles ask model \"%s\", not a local scripted model",
		                 s->opt.role_model ? s->opt.role_model : "?");
	if (metric_is_judge(s->metric) &&
	    !scripted(session_model(s, metric_judge(s->metric)->model)))
		return xasprintf("the metric's judge is not a local scripted model");
	return NULL;
}

static void add_cost(struct cost_projection *a, const struct cost_projection *b)
{
	a->calls += b->calls, a->cached += b->cached;
	a->tokens_in += b->tokens_in, a->tokens_out += b->tokens_out;
	a->usd += b->usd;
}

/* An iteration's phase cost as a projection, less what it held before (a resumed one). */
static void phase_figures(const struct phase_cost *c, const struct phase_cost *before,
                          struct cost_projection *p)
{
	p->calls = c->calls - before->calls;
	p->cached = c->cached - before->cached;
	p->tokens_in = c->tokens_in - before->tokens_in;
	p->tokens_out = c->tokens_out - before->tokens_out;
	p->usd = c->cost_usd - before->cost_usd;
}

/* Drives the engine until it stops, or until the bound on requests is passed. */
static void drive(struct engine *en, struct llm *l, long max_requests, bool *bounded)
{
	for (bool again = false; engine_running(en);) {
		if (!again && engine_busy(en) && llm_wait(l, NULL, 0, 250) < 0)
			break;
		again = engine_poll(en);
		struct llm_stats st;
		llm_get_stats(l, &st);
		if (max_requests > 0 && st.submitted > max_requests) {
			engine_cancel(en);
			*bounded = true;
			return;
		}
	}
}

int engine_simulate(struct session *s, const struct engine_sim_opts *o, struct engine_sim *out,
                    struct err *e)
{
	memset(out, 0, sizeof *out);
	char *why = engine_sim_blocker(s);
	if (why) {
		err_set(e, "not simulated: %s", why);
		free(why);
		return -1;
	}
	struct llm_options lo = {.cache_path = o->no_cache ? NULL : o->cache_path,
	                         .spend_path = o->spend_path,
	                         .no_cache = o->no_cache,
	                         .seed = s->opt.seed,
	                         .trust = o->trust,
	                         .sandbox = true};
	struct llm *l = llm_new(&lo, e);
	if (!l)
		return -1;
	struct engine_opts eo = {.trust = o->trust, .auto_accept = !o->to_proposal};
	struct engine *en = engine_new(s, l, &eo, NULL, NULL, e);
	if (!en) {
		llm_free(l);
		return -1;
	}
	engine_set_patience(en, o->patience);
	/* an iteration in progress: what it held before counts as spent already */
	size_t first = engine_iterations(en);
	struct phase_cost before[PHASE_COUNT] = {{0}};
	const struct iteration *open = engine_current(en);
	if (open && open->phase < PHASE_COUNT) {
		first--;
		memcpy(before, open->cost, sizeof before);
	}
	if (engine_resume(en) == 0)
		drive(en, l, o->max_requests, &out->bounded);
	if (!out->bounded &&
	    (o->to_proposal ? engine_run_to_proposal(en) : engine_run(en, o->iterations)) == 0)
		drive(en, l, o->max_requests, &out->bounded);
	size_t n = engine_iterations(en);
	out->iters = xcalloc(n > first ? n - first : 1, sizeof *out->iters);
	for (size_t i = first; i < n; i++) {
		const struct iteration *it = engine_iteration(en, i);
		struct engine_sim_iter *si = &out->iters[out->n++];
		static const struct phase_cost zero[PHASE_COUNT];
		si->number = it->number;
		for (int p = 0; p < PHASE_COUNT; p++) {
			phase_figures(&it->cost[p], i == first ? &before[p] : &zero[p],
			              &si->phase[p]);
			add_cost(&si->total, &si->phase[p]);
			add_cost(&out->per[p], &si->phase[p]);
		}
		add_cost(&out->total, &si->total);
		for (size_t k = 0; k < it->n_changes; k++)
			si->accepted += it->changes[k].decision == DECISION_ACCEPT ||
			                it->changes[k].decision == DECISION_EDIT;
	}
	const char *cause = engine_stop_cause(en);
	out->stopped = xstrdup(out->bounded ? "bound" : cause ? cause : "iterations");
	if (engine_pause_reason(en))
		out->message = xstrdup(engine_pause_reason(en));
	engine_free(en);
	llm_free(l);
	return 0;
}

void engine_sim_free(struct engine_sim *sim)
{
	free(sim->iters);
	free(sim->stopped);
	free(sim->message);
	memset(sim, 0, sizeof *sim);
}

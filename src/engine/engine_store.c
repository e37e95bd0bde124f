/* engine_store.c: the engine's record in the session file.  "history" holds the prompt versions
 * and one record per finished iteration with every artefact a person may want to read (what
 * each role said, the candidates, the evaluations, Shapley values, budgets, decisions, cost);
 * "state" says where an unfinished iteration stopped.  Reopening restores the versions and the
 * iteration summaries; an unfinished iteration is replayed from the response cache, so phases
 * already paid for are not paid again. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *per_step_text(const struct session *s, char **v)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; v && i < s->n_steps; i++)
		if (v[i])
			cJSON_AddStringToObject(o, s->steps[i].id, v[i]);
	return o;
}

static const char *const decision_names[] = {"pending", "accepted", "edited", "rejected"};

static cJSON *iteration_json(const struct engine *en, const struct iteration *it)
{
	const struct session *s = en->s;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "number", it->number);
	cJSON_AddNumberToObject(o, "train_score", it->train_score);
	cJSON_AddNumberToObject(o, "base_score", it->base_score);
	cJSON_AddNumberToObject(o, "best_score", it->best_score);
	if (it->note)
		cJSON_AddStringToObject(o, "note", it->note);
	cJSON_AddItemToObject(o, "structure", str_or_null(it->structure));
	cJSON_AddItemToObject(o, "dependency", per_step_text(s, it->dependency));
	cJSON *cases = cJSON_AddArrayToObject(o, "cases");
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct adopt_case *ac = &it->cases[c];
		const struct trace *t = &it->traces[ac->trace];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "example", s->data.splits[t->split].ex[t->example].id);
		cJSON_AddItemToObject(j, "prediction", str_or_null(t->prediction));
		cJSON_AddItemToObject(j, "loss", str_or_null(ac->loss));
		cJSON_AddItemToObject(j, "gradient", str_or_null(ac->gradient));
		cJSON_AddItemToObject(j, "local", per_step_text(s, ac->local));
		cJSON_AddItemToObject(j, "pseudo", per_step_text(s, ac->pseudo));
		cJSON_AddItemToArray(cases, j);
	}
	cJSON *cands = cJSON_AddObjectToObject(o, "candidates");
	for (size_t i = 0; it->cands && i < s->n_steps; i++) {
		if (!it->n_cands[i])
			continue;
		cJSON *arr = cJSON_AddArrayToObject(cands, s->steps[i].id);
		for (size_t k = 0; k < it->n_cands[i]; k++) {
			const struct candidate *cd = &it->cands[i][k];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "prompt", cd->prompt);
			cJSON_AddNumberToObject(j, "demos", (double)cd->n_demos);
			cJSON_AddItemToObject(j, "optimizer", str_or_null(cd->optimizer));
			cJSON_AddItemToArray(arr, j);
		}
	}
	cJSON *evals = cJSON_AddArrayToObject(o, "evaluations");
	for (size_t e = 0; e < it->n_evals; e++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "choice",
		                      cJSON_CreateIntArray(it->evals[e].choice, (int)s->n_steps));
		cJSON_AddNumberToObject(j, "score", it->evals[e].score);
		cJSON_AddItemToArray(evals, j);
	}
	if (it->phi) {
		cJSON *sh = cJSON_AddObjectToObject(o, "shapley");
		cJSON_AddStringToObject(sh, "method", it->shapley_method ? it->shapley_method : "none");
		cJSON *phi = cJSON_AddObjectToObject(sh, "phi");
		cJSON *sd = cJSON_AddObjectToObject(sh, "sd");
		for (size_t i = 0; i < s->n_steps; i++) {
			if (!step_optimizable(&s->steps[i]))
				continue;
			cJSON_AddNumberToObject(phi, s->steps[i].id, it->phi[i]);
			cJSON_AddNumberToObject(sd, s->steps[i].id, it->phi_sd[i]);
		}
	}
	cJSON *bud = cJSON_AddObjectToObject(o, "budget");
	cJSON *next = cJSON_AddObjectToObject(o, "next_budget");
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!step_optimizable(&s->steps[i]))
			continue;
		if (it->budget)
			cJSON_AddNumberToObject(bud, s->steps[i].id, it->budget[i]);
		if (it->next_budget)
			cJSON_AddNumberToObject(next, s->steps[i].id, it->next_budget[i]);
	}
	cJSON *ch = cJSON_AddArrayToObject(o, "changes");
	for (size_t c = 0; c < it->n_changes; c++) {
		const struct step_change *sc = &it->changes[c];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "step", s->steps[sc->step].id);
		cJSON_AddStringToObject(j, "old", sc->old_prompt);
		cJSON_AddStringToObject(j, "new", sc->new_prompt);
		cJSON_AddStringToObject(j, "decision", decision_names[sc->decision]);
		if (sc->edited)
			cJSON_AddStringToObject(j, "edited", sc->edited);
		cJSON_AddItemToArray(ch, j);
	}
	cJSON *cost = cJSON_AddObjectToObject(o, "cost");
	for (int p = 0; p < PHASE_COUNT; p++) {
		const struct phase_cost *pc = &it->cost[p];
		cJSON *j = cJSON_AddObjectToObject(cost, phase_name((enum phase)p));
		cJSON_AddNumberToObject(j, "calls", (double)pc->calls);
		cJSON_AddNumberToObject(j, "cached", (double)pc->cached);
		cJSON_AddNumberToObject(j, "tokens_in", (double)pc->tokens_in);
		cJSON_AddNumberToObject(j, "tokens_out", (double)pc->tokens_out);
		cJSON_AddNumberToObject(j, "tokens_prompt_cached",
		                        (double)pc->tokens_prompt_cached);
		cJSON_AddNumberToObject(j, "tokens_reasoning", (double)pc->tokens_reasoning);
		cJSON_AddNumberToObject(j, "estimated", (double)pc->estimated);
		cJSON_AddNumberToObject(j, "cost_usd", pc->cost_usd);
		cJSON_AddNumberToObject(j, "projected_calls", (double)pc->projected_calls);
		cJSON_AddNumberToObject(j, "projected_usd", pc->projected_usd);
	}
	return o;
}

/* Adds totals as an object named `name` of parent. */
static void totals_json(cJSON *parent, const char *name, const struct engine_totals *t)
{
	cJSON *o = cJSON_AddObjectToObject(parent, name);
	cJSON_AddNumberToObject(o, "calls", (double)t->calls);
	cJSON_AddNumberToObject(o, "cached", (double)t->cached);
	cJSON_AddNumberToObject(o, "avoided", (double)t->avoided);
	cJSON_AddNumberToObject(o, "tokens_in", (double)t->tokens_in);
	cJSON_AddNumberToObject(o, "tokens_out", (double)t->tokens_out);
	cJSON_AddNumberToObject(o, "tokens_prompt_cached", (double)t->tokens_prompt_cached);
	cJSON_AddNumberToObject(o, "tokens_reasoning", (double)t->tokens_reasoning);
	cJSON_AddNumberToObject(o, "tokens_reused", (double)t->tokens_reused);
	cJSON_AddNumberToObject(o, "estimated", (double)t->estimated);
	cJSON_AddNumberToObject(o, "cost_usd", t->cost_usd);
}

void engine_store(struct engine *en)
{
	const struct session *s = en->s;
	cJSON *h = cJSON_CreateObject();
	cJSON *vers = cJSON_AddArrayToObject(h, "versions");
	for (size_t i = 0; i < en->n_versions; i++) {
		const struct prompt_version *v = &en->versions[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "step", s->steps[v->step].id);
		cJSON_AddNumberToObject(j, "version", v->version);
		cJSON_AddNumberToObject(j, "iteration", v->iteration);
		cJSON_AddStringToObject(j, "prompt", v->prompt);
		cJSON_AddNumberToObject(j, "score", v->score);
		if (v->edited)
			cJSON_AddBoolToObject(j, "edited", true);
		cJSON_AddItemToArray(vers, j);
	}
	cJSON *iters = cJSON_AddArrayToObject(h, "iterations");
	const struct iteration *open = NULL;
	const char **ids = xcalloc(s->n_steps + 1, sizeof *ids);
	for (size_t i = 0; i < s->n_steps; i++)
		ids[i] = s->steps[i].id;
	size_t last_closed = SIZE_MAX;
	for (size_t i = 0; i < en->n_iters; i++)
		if (en->iters[i]->phase >= PHASE_COUNT)
			last_closed = i;
	for (size_t i = 0; i < en->n_iters; i++) {
		const struct iteration *it = en->iters[i];
		if (it->phase < PHASE_COUNT) {
			open = it;
			continue;
		}
		cJSON *j = it->saved ? cJSON_Duplicate(it->saved, 1) : iteration_json(en, it);
		/* traces of the last finished iteration only: enough to read on reopening */
		cJSON_DeleteItemFromObjectCaseSensitive(j, "traces");
		if (i == last_closed && it->n_traces) {
			cJSON *tr = cJSON_AddArrayToObject(j, "traces");
			for (size_t t = 0; t < it->n_traces; t++)
				cJSON_AddItemToArray(tr, trace_to_json(&it->traces[t], ids));
		}
		cJSON_AddItemToArray(iters, j);
	}
	free(ids);
	struct engine_totals t;
	engine_totals(en, &t);
	totals_json(h, "totals_last_run", &t);
	engine_spent(en, &t); /* every run's spend, earlier ones included: the caps apply to it */
	totals_json(h, "spent", &t);
	session_set_section(en->s, "history", h);
	cJSON *st = cJSON_CreateObject();
	if (open) {
		cJSON_AddNumberToObject(st, "iteration", open->number);
		cJSON_AddStringToObject(st, "phase", phase_name(open->phase));
	}
	session_set_section(en->s, "state", st);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int step_index_cb(void *arg, const char *id)
{
	return session_step_index(arg, id);
}

static void restore_traces(struct engine *en, struct iteration *it, const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if (!n)
		return;
	it->traces = xcalloc(n, sizeof *it->traces);
	const cJSON *t;
	cJSON_ArrayForEach(t, arr)
	{
		struct trace *tr = &it->traces[it->n_traces];
		if (trace_from_json(t, tr, step_index_cb, en->s) == 0 &&
		    tr->example < en->s->data.splits[tr->split].n)
			it->n_traces++;
		else
			trace_free(tr);
	}
}

void engine_restore(struct engine *en)
{
	struct session *s = en->s;
	const cJSON *h = session_section(s, "history");
	const cJSON *vers = cJSON_GetObjectItemCaseSensitive(h, "versions"), *v;
	cJSON_ArrayForEach(v, vers)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "step");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "prompt");
		int step = cJSON_IsString(id) ? session_step_index(s, id->valuestring) : -1;
		if (step < 0 || !cJSON_IsString(p))
			continue;
		engine_add_version(en, step, p->valuestring, num(v, "score"),
		                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "edited")),
		                   (int)num(v, "iteration"));
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		bool have = false;
		for (size_t k = 0; k < en->n_versions && !have; k++)
			have = en->versions[k].step == (int)i;
		if (!have && s->steps[i].kind == STEP_LLM)
			engine_add_version(en, (int)i, s->steps[i].prompt, -1, false, 0);
	}
	cJSON *iters = cJSON_GetObjectItemCaseSensitive(h, "iterations"), *r;
	cJSON_ArrayForEach(r, iters)
	{
		struct iteration *it = engine_new_iteration(en);
		it->number = (int)num(r, "number");
		it->train_score = num(r, "train_score");
		it->base_score = num(r, "base_score");
		it->best_score = num(r, "best_score");
		it->phase = PHASE_COUNT;
		restore_traces(en, it, cJSON_GetObjectItemCaseSensitive(r, "traces"));
		/* the traces now live in it->traces; engine_store writes them back */
		cJSON_DeleteItemFromObjectCaseSensitive(r, "traces");
		it->saved = cJSON_Duplicate(r, 1);
		const cJSON *sh = cJSON_GetObjectItemCaseSensitive(r, "shapley");
		if (sh) {
			it->phi = xcalloc(s->n_steps, sizeof *it->phi);
			it->phi_sd = xcalloc(s->n_steps, sizeof *it->phi_sd);
			for (size_t i = 0; i < s->n_steps; i++) {
				it->phi[i] = num(cJSON_GetObjectItemCaseSensitive(sh, "phi"), s->steps[i].id);
				it->phi_sd[i] = num(cJSON_GetObjectItemCaseSensitive(sh, "sd"), s->steps[i].id);
			}
		}
		const cJSON *next = cJSON_GetObjectItemCaseSensitive(r, "next_budget");
		if (next) {
			it->next_budget = xcalloc(s->n_steps, sizeof *it->next_budget);
			for (size_t i = 0; i < s->n_steps; i++)
				it->next_budget[i] = (int)num(next, s->steps[i].id);
		}
		const cJSON *cost = cJSON_GetObjectItemCaseSensitive(r, "cost");
		for (int p = 0; p < PHASE_COUNT; p++) {
			const cJSON *pc = cJSON_GetObjectItemCaseSensitive(cost, phase_name((enum phase)p));
			it->cost[p].calls = (long)num(pc, "calls");
			it->cost[p].cost_usd = num(pc, "cost_usd");
			it->cost[p].tokens_in = (long)num(pc, "tokens_in");
			it->cost[p].tokens_out = (long)num(pc, "tokens_out");
			it->cost[p].tokens_prompt_cached = (long)num(pc, "tokens_prompt_cached");
			it->cost[p].tokens_reasoning = (long)num(pc, "tokens_reasoning");
			it->cost[p].estimated = (long)num(pc, "estimated");
		}
		if (it->best_score > 0)
			en->val_score = it->best_score;
		for (int p = 0; p < PHASE_COUNT; p++) { /* for files written before "spent" */
			en->earlier.calls += it->cost[p].calls;
			en->earlier.tokens_in += it->cost[p].tokens_in;
			en->earlier.tokens_out += it->cost[p].tokens_out;
			en->earlier.cost_usd += it->cost[p].cost_usd;
		}
	}
	const cJSON *spent = cJSON_GetObjectItemCaseSensitive(h, "spent");
	if (cJSON_IsObject(spent))
		en->earlier = (struct engine_totals){.calls = (long)num(spent, "calls"),
		                                     .cached = (long)num(spent, "cached"),
		                                     .avoided = (long)num(spent, "avoided"),
		                                     .tokens_in = (long)num(spent, "tokens_in"),
		                                     .tokens_out = (long)num(spent, "tokens_out"),
		                                     .cost_usd = num(spent, "cost_usd"),
		                                     .tokens_prompt_cached =
		                                         (long)num(spent, "tokens_prompt_cached"),
		                                     .tokens_reasoning =
		                                         (long)num(spent, "tokens_reasoning"),
		                                     .tokens_reused =
		                                         (long)num(spent, "tokens_reused"),
		                                     .estimated = (long)num(spent, "estimated")};
	const cJSON *st = session_section(s, "state");
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
	if (cJSON_IsString(ph)) {
		for (int p = 0; p < PHASE_COUNT; p++)
			if (strcmp(phase_name((enum phase)p), ph->valuestring) == 0)
				en->resume_phase = (enum phase)p;
		if (en->resume_phase > PHASE_FORWARD) {
			struct iteration *it = engine_new_iteration(en);
			it->number = (int)num(st, "iteration");
		}
	}
}

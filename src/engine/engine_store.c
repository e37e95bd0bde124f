/* engine_store.c: the engine's record in the session file.  "history" holds the prompt versions
 * and one record per finished iteration with every artefact a person may want to read (what
 * each role said, the candidates, the evaluations, Shapley values, budgets, decisions, cost);
 * "state" says where an unfinished iteration stopped and holds its record.  Reopening restores
 * the versions, the iteration summaries and the unfinished iteration as it stood (its proposal
 * and the decisions made included), so nothing paid for is asked again and no phase runs again
 * under prompts changed since; only an older file's, without the record, is replayed from the
 * response cache.
 *
 * Traces are bounded: the last TRACE_ITERATIONS finished iterations keep theirs whole (the
 * forward batch, and the incumbent's and the proposal's validation runs); older ones keep each
 * example's score and final output only (the traces without their steps), which is what an
 * example followed across iterations needs from them. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"
#include "engine/engine_int.h"
#include "engine/phases.h"

#define TRACE_ITERATIONS 5 /* finished iterations whose traces keep their steps */

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A score, or null when unmeasured (-1). */
static cJSON *score_or_null(double v)
{
	return v >= 0 ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *per_step_text(const struct session *s, char **v)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; v && i < s->n_steps; i++)
		if (v[i])
			cJSON_AddStringToObject(o, s->steps[i].id, v[i]);
	return o;
}

/* The numbers of a phase's cost and of the session's totals as JSON members: one table per
 * struct, for writing them and reading them back (a new field is one line). */
struct num_field {
	const char *name;
	size_t off;
	bool money; /* a double (dollars), else a long (a count) */
};
#define COUNT_FIELD(type, f)                                                                       \
	{                                                                                          \
#f, offsetof(type, f), false                                                       \
	}
#define MONEY_FIELD(type, f)                                                                       \
	{                                                                                          \
#f, offsetof(type, f), true                                                        \
	}

static const struct num_field phase_cost_fields[] = {
    COUNT_FIELD(struct phase_cost, calls),
    COUNT_FIELD(struct phase_cost, cached),
    COUNT_FIELD(struct phase_cost, tokens_in),
    COUNT_FIELD(struct phase_cost, tokens_out),
    COUNT_FIELD(struct phase_cost, tokens_prompt_cached),
    COUNT_FIELD(struct phase_cost, tokens_reasoning),
    COUNT_FIELD(struct phase_cost, estimated),
    MONEY_FIELD(struct phase_cost, cost_usd),
    COUNT_FIELD(struct phase_cost, projected_calls),
    MONEY_FIELD(struct phase_cost, projected_usd),
    COUNT_FIELD(struct phase_cost, projected_cached),
    COUNT_FIELD(struct phase_cost, projected_tokens_in),
    COUNT_FIELD(struct phase_cost, projected_tokens_out),
};

static const struct num_field totals_fields[] = {
    COUNT_FIELD(struct engine_totals, calls),
    COUNT_FIELD(struct engine_totals, cached),
    COUNT_FIELD(struct engine_totals, memo_hits),
    COUNT_FIELD(struct engine_totals, avoided),
    COUNT_FIELD(struct engine_totals, tokens_in),
    COUNT_FIELD(struct engine_totals, tokens_out),
    COUNT_FIELD(struct engine_totals, tokens_prompt_cached),
    COUNT_FIELD(struct engine_totals, tokens_reasoning),
    COUNT_FIELD(struct engine_totals, tokens_reused),
    COUNT_FIELD(struct engine_totals, estimated),
    MONEY_FIELD(struct engine_totals, cost_usd),
};

static void fields_json(cJSON *o, const void *st, const struct num_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const void *at = (const char *)st + f[i].off;
		cJSON_AddNumberToObject(
		    o, f[i].name, f[i].money ? *(const double *)at : (double)*(const long *)at);
	}
}

static void cost_json(cJSON *parent, enum phase p, const struct phase_cost *pc)
{
	cJSON *j = cJSON_AddObjectToObject(parent, phase_name(p));
	fields_json(j, pc, phase_cost_fields, ARRAY_SIZE(phase_cost_fields));
}

static const char *const decision_names[] = {"pending", "accepted", "edited", "rejected"};
static const char *const decider_names[] = {[DECIDER_USER] = "user", [DECIDER_ENGINE] = "engine"};

const char *decision_name(enum decision d)
{
	return decision_names[d];
}

const char *decider_name(enum decider by)
{
	return decider_names[by];
}

/* Adds demonstrations as an array named "demos" of parent. */
static void demos_json(cJSON *parent, const struct demo *d, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(parent, "demos");
	for (size_t k = 0; k < n; k++) {
		cJSON *dj = cJSON_CreateObject();
		cJSON_AddStringToObject(dj, "input", d[k].input);
		cJSON_AddStringToObject(dj, "output", d[k].output);
		cJSON_AddItemToArray(arr, dj);
	}
}

/* Whether an evaluation's per-example scores are saved: the incumbent's and the proposal's. */
static bool keeps_scores(const struct iteration *it, size_t e, size_t n_steps)
{
	if (!it->evals[e].scores || !it->n_val)
		return false;
	if ((int)e == it->best_eval)
		return true;
	for (size_t k = 0; k < n_steps; k++)
		if (it->evals[e].choice[k])
			return false;
	return true;
}

static cJSON *index_array(const size_t *v, size_t n);
static size_t *indices_of(const cJSON *arr, size_t limit, size_t *n);

/* Whether a closed iteration's kept configuration is still to be measured on its sample. */
static bool unmeasured(const struct iteration *it)
{
	return it->kept_score < 0 && it->n_evals && it->val_idx && it->n_val;
}

/* An iteration's record; open: one still in progress, written whole for resuming (see
 * open_json): every candidate's demonstrations and rationale, every evaluation's scores. */
static cJSON *iteration_json(const struct engine *en, const struct iteration *it,
                             const char *const *ids, bool open)
{
	const struct session *s = en->s;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "number", it->number);
	cJSON_AddNumberToObject(o, "train_score", it->train_score);
	cJSON_AddNumberToObject(o, "base_score", it->base_score);
	cJSON_AddNumberToObject(o, "best_score", it->best_score);
	cJSON_AddItemToObject(o, "kept_score", score_or_null(it->kept_score));
	cJSON_AddNumberToObject(o, "validation_examples", (double)it->n_val);
	if (it->note)
		cJSON_AddStringToObject(o, "note", it->note);
	if (it->search_end)
		cJSON_AddStringToObject(o, "search_stopped", it->search_end);
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
			if (open)
				demos_json(j, cd->demos, cd->n_demos);
			else
				cJSON_AddNumberToObject(j, "demos", (double)cd->n_demos);
			cJSON_AddItemToObject(j, "optimizer", str_or_null(cd->optimizer));
			if (open && cd->note)
				cJSON_AddStringToObject(j, "note", cd->note);
			cJSON_AddItemToArray(arr, j);
		}
	}
	cJSON *evals = cJSON_AddArrayToObject(o, "evaluations");
	for (size_t e = 0; e < it->n_evals; e++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddItemToObject(j, "choice",
		                      cJSON_CreateIntArray(it->evals[e].choice, (int)s->n_steps));
		cJSON_AddNumberToObject(j, "score", it->evals[e].score);
		/* per-example scores of the incumbent and the proposal only (the evidence the
		 * Proposals pane and the report show): 2 x validation_examples numbers per
		 * iteration at most */
		bool keep =
		    open ? it->evals[e].scores && it->n_val : keeps_scores(it, e, s->n_steps);
		if (keep)
			cJSON_AddItemToObject(
			    j, "scores",
			    cJSON_CreateDoubleArray(it->evals[e].scores, (int)it->n_val));
		/* and their runs: both outputs of every example, and the traces behind them */
		if (keep && it->evals[e].traces) {
			cJSON *tr = cJSON_AddArrayToObject(j, "traces");
			for (size_t k = 0; k < it->n_val; k++)
				cJSON_AddItemToArray(tr,
				                     trace_to_json(&it->evals[e].traces[k], ids));
		}
		cJSON_AddItemToArray(evals, j);
	}
	if (it->phi) {
		cJSON *sh = cJSON_AddObjectToObject(o, "shapley");
		cJSON_AddStringToObject(sh, "method",
		                        it->shapley_method ? it->shapley_method : "none");
		cJSON_AddNumberToObject(sh, "extra_evaluations", (double)it->shapley_extra);
		cJSON_AddBoolToObject(sh, "underdetermined", it->shapley_underdetermined);
		if (it->shapley_note)
			cJSON_AddStringToObject(sh, "note", it->shapley_note);
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
		if (sc->by != DECIDER_UNKNOWN)
			cJSON_AddStringToObject(j, "by", decider_names[sc->by]);
		if (sc->edited)
			cJSON_AddStringToObject(j, "edited", sc->edited);
		if (sc->n_new_demos)
			demos_json(j, sc->new_demos, sc->n_new_demos);
		cJSON_AddItemToArray(ch, j);
	}
	cJSON *cost = cJSON_AddObjectToObject(o, "cost");
	for (int p = 0; p < PHASE_COUNT; p++)
		cost_json(cost, (enum phase)p, &it->cost[p]);
	/* a closed iteration whose kept configuration was never measured (an edit) keeps its
	 * validation sample, so that :measure can run it after a reopen (open_json writes it for
	 * an open one) */
	if (!open && unmeasured(it))
		cJSON_AddItemToObject(o, "validation", index_array(it->val_idx, it->n_val));
	return o;
}

void engine_store_measured(struct iteration *it)
{
	if (!it->saved)
		return;
	cJSON_ReplaceItemInObjectCaseSensitive(it->saved, "kept_score",
	                                       score_or_null(it->kept_score));
	cJSON *cost = cJSON_GetObjectItemCaseSensitive(it->saved, "cost");
	if (cJSON_IsObject(cost)) {
		cJSON_DeleteItemFromObjectCaseSensitive(cost, phase_name(PHASE_DECISION));
		cost_json(cost, PHASE_DECISION, &it->cost[PHASE_DECISION]);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(it->saved, "validation");
}

/* Adds totals as an object named `name` of parent. */
static void totals_json(cJSON *parent, const char *name, const struct engine_totals *t)
{
	cJSON *o = cJSON_AddObjectToObject(parent, name);
	fields_json(o, t, totals_fields, ARRAY_SIZE(totals_fields));
}

/* How many finished iterations come before iteration index i. */
static size_t closed_before(const struct engine *en, size_t i)
{
	size_t n = 0;
	for (size_t k = 0; k < i && k < en->n_iters; k++)
		n += en->iters[k]->phase >= PHASE_COUNT;
	return n;
}

static void drop_steps(cJSON *traces)
{
	cJSON *t;
	cJSON_ArrayForEach(t, traces)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(t, "steps");
	}
}

/* An iteration past TRACE_ITERATIONS: its traces (forward and evidence) lose their steps. */
static void summarise_traces(cJSON *rec)
{
	drop_steps(cJSON_GetObjectItemCaseSensitive(rec, "traces"));
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "evaluations"))
	{
		drop_steps(cJSON_GetObjectItemCaseSensitive(e, "traces"));
	}
}

/* ---- the iteration in progress ----
 * "state".record holds an unfinished iteration whole: its record as history would keep it
 * (iteration_json, open), its forward traces, and what the phases still ahead read: the
 * minibatch (good, bad: indices into traces), the validation sample (indices into the
 * validation split), the proposal's evaluation, the screening.  Reopening restores it as it
 * stood and the loop goes on from its next phase: nothing already paid for is asked again, and
 * no phase runs again under prompts changed since (an accepted change). */

static cJSON *index_array(const size_t *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; v && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
	return a;
}

static cJSON *open_json(const struct engine *en, const struct iteration *it, const char *const *ids)
{
	int m = (int)en->s->n_steps;
	cJSON *o = iteration_json(en, it, ids, true);
	cJSON *tr = cJSON_AddArrayToObject(o, "traces");
	for (size_t k = 0; k < it->n_traces; k++)
		cJSON_AddItemToArray(tr, trace_to_json(&it->traces[k], ids));
	cJSON_AddItemToObject(o, "good", index_array(it->good, it->n_good));
	cJSON_AddItemToObject(o, "bad", index_array(it->bad, it->n_bad));
	if (it->val_idx)
		cJSON_AddItemToObject(o, "validation", index_array(it->val_idx, it->n_val));
	cJSON_AddNumberToObject(o, "best_evaluation", it->best_eval);
	if (it->n_screen) {
		cJSON *sc = cJSON_AddObjectToObject(o, "screening");
		cJSON_AddItemToObject(sc, "positions",
		                      index_array(it->screen_pos, it->n_screen_pos));
		cJSON_AddNumberToObject(sc, "first", (double)it->n_screen);
		cJSON_AddNumberToObject(sc, "saved", (double)it->screen_saved);
		cJSON *arr = cJSON_AddArrayToObject(sc, "screened");
		for (size_t e = 0; e < it->n_screened; e++) {
			const struct evaluation *ev = &it->screened[e];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddItemToObject(j, "choice", cJSON_CreateIntArray(ev->choice, m));
			cJSON_AddItemToObject(
			    j, "scores",
			    cJSON_CreateDoubleArray(ev->scores, (int)it->n_screen_pos));
			cJSON_AddNumberToObject(j, "n", (double)it->screen_n[e]);
			cJSON_AddNumberToObject(j, "estimate",
			                        en->screen_est ? (double)en->screen_est[e] : 0);
			cJSON_AddItemToArray(arr, j);
		}
	}
	return o;
}

static bool totals_zero(const struct engine_totals *t)
{
	return !t->calls && !t->cached && !t->avoided && !t->tokens_in && !t->tokens_out &&
	       !(t->cost_usd > 0);
}

void engine_store(struct engine *en)
{
	const struct session *s = en->s;
	struct engine_totals t;
	engine_totals(en, &t);
	const cJSON *old = session_section(s, "history");
	/* a session opened and closed without running anything is written back unchanged */
	if (!en->n_iters && !old && totals_zero(&t) && totals_zero(&en->earlier))
		return;
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
		if (v->demos_known)
			demos_json(j, v->demos, v->n_demos);
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
		cJSON *j =
		    it->saved ? cJSON_Duplicate(it->saved, 1) : iteration_json(en, it, ids, false);
		bool whole =
		    closed_before(en, i) + TRACE_ITERATIONS > closed_before(en, last_closed);
		cJSON_DeleteItemFromObjectCaseSensitive(j, "traces");
		if (it->n_traces) {
			cJSON *tr = cJSON_AddArrayToObject(j, "traces");
			for (size_t k = 0; k < it->n_traces; k++)
				cJSON_AddItemToArray(tr, trace_to_json(&it->traces[k], ids));
		}
		if (!whole)
			summarise_traces(j);
		cJSON_AddItemToArray(iters, j);
	}
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(old, "totals_last_run");
	if (totals_zero(&t) && cJSON_IsObject(last)) /* this run did nothing: the last one stays */
		cJSON_AddItemToObject(h, "totals_last_run", cJSON_Duplicate(last, 1));
	else
		totals_json(h, "totals_last_run", &t);
	engine_spent(en, &t); /* every run's spend, earlier ones included: the caps apply to it */
	totals_json(h, "spent", &t);
	/* how many spend journal lines this record counts: a reopening adds the ones after */
	long mark;
	struct err e;
	llm_spend_sync(en->llm, &mark, &e); /* the count stands even when the fsync failed */
	if (mark > 0)
		cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(h, "spent"), "journal",
		                        (double)mark);
	cJSON_AddItemToObject(h, "incumbent_score", score_or_null(en->val_score));
	session_set_section(en->s, "history", h);
	cJSON *st = cJSON_CreateObject();
	if (open) {
		/* reopened and not replayed yet: it still stands where the file said */
		enum phase p = MAX(open->phase, en->resume_phase);
		cJSON_AddNumberToObject(st, "iteration", open->number);
		cJSON_AddStringToObject(st, "phase", phase_name(p));
		/* what its finished phases cost: a replay from the cache is free */
		cJSON *cost = cJSON_AddObjectToObject(st, "cost");
		for (int k = 0; k < (int)p; k++)
			cost_json(cost, (enum phase)k,
			          k < (int)open->phase ? &open->cost[k] : &en->resume_cost[k]);
		if (p == open->phase) /* (else an older file's, still to replay: as it was) */
			cJSON_AddItemToObject(st, "record", open_json(en, open, ids));
	}
	free(ids);
	session_set_section(en->s, "state", st);
}

static int small(const cJSON *o, const char *k)
{
	int x;
	return json_int(cJSON_GetObjectItemCaseSensitive(o, k), 0, 1e6, &x, NULL) < 0 ? 0 : x;
}

static int step_index_cb(void *arg, const char *id)
{
	return session_step_index(arg, id);
}

/* The traces of a record (those that do not name an example of the data are left out). */
static struct trace *traces_of(struct engine *en, const cJSON *arr, size_t *n)
{
	*n = 0;
	size_t max = (size_t)cJSON_GetArraySize(arr);
	if (!max)
		return NULL;
	struct trace *v = xcalloc(max, sizeof *v);
	const cJSON *t;
	cJSON_ArrayForEach(t, arr)
	{
		struct trace *tr = &v[*n];
		if (trace_from_json(t, tr, step_index_cb, en->s) == 0 &&
		    tr->example < en->s->data.splits[tr->split].n)
			(*n)++;
		else
			trace_free(tr);
	}
	return v;
}

/* A list of the record, or NULL: what is not a list reads as missing, as --check says
 * (cJSON's array walkers would walk an object's members as if they were items). */
static const cJSON *list_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsArray(v) ? v : NULL;
}

static void restore_traces(struct engine *en, struct iteration *it, const cJSON *arr)
{
	it->traces = traces_of(en, arr, &it->n_traces);
}

/* An evaluation's runs, or NULL unless there is one per validation example. */
static struct trace *eval_traces_of(struct engine *en, const cJSON *arr, size_t n_val)
{
	size_t n;
	struct trace *v = traces_of(en, arr, &n);
	if (n == n_val)
		return v;
	for (size_t i = 0; i < n; i++)
		trace_free(&v[i]);
	free(v);
	return NULL;
}

static char *str_or_null_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* A score written by score_or_null: -1 for null; def when the key is absent (older files). */
static double score_of(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : v ? -1 : def;
}

/* Per-step texts written by per_step_text, or NULL when there is no such object. */
static char **per_step_from(const struct session *s, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return NULL;
	char **v = xcalloc(s->n_steps + 1, sizeof *v);
	for (size_t i = 0; i < s->n_steps; i++)
		v[i] = str_or_null_of(o, s->steps[i].id);
	return v;
}

static int *per_step_ints(const struct session *s, const cJSON *o)
{
	if (!cJSON_IsObject(o))
		return NULL;
	int *v = xcalloc(s->n_steps + 1, sizeof *v);
	for (size_t i = 0; i < s->n_steps; i++)
		v[i] = small(o, s->steps[i].id);
	return v;
}

/* What fields_json wrote, range-checked (a missing or bad number reads as 0). */
static void fields_from_json(const cJSON *o, void *st, const struct num_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *at = (char *)st + f[i].off;
		if (f[i].money)
			*(double *)at = json_get_real(o, f[i].name);
		else
			*(long *)at = json_get_count(o, f[i].name);
	}
}

static void cost_from_json(const cJSON *j, struct phase_cost *pc)
{
	*pc = (struct phase_cost){0};
	fields_from_json(j, pc, phase_cost_fields, ARRAY_SIZE(phase_cost_fields));
}

static void restore_cases(struct engine *en, struct iteration *it, const cJSON *arr)
{
	const struct session *s = en->s;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	it->cases = xcalloc(n + 1, sizeof *it->cases);
	const cJSON *c;
	cJSON_ArrayForEach(c, arr)
	{
		struct adopt_case *ac = &it->cases[it->n_cases++];
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "example");
		ac->trace = SIZE_MAX; /* a record without its traces (an older file) */
		for (size_t t = 0; t < it->n_traces && cJSON_IsString(id); t++) {
			const struct trace *tr = &it->traces[t];
			const char *eid = s->data.splits[tr->split].ex[tr->example].id;
			if (strcmp(eid, id->valuestring) == 0) {
				ac->trace = t;
				break;
			}
		}
		ac->loss = str_or_null_of(c, "loss");
		ac->gradient = str_or_null_of(c, "gradient");
		ac->local = per_step_from(s, cJSON_GetObjectItemCaseSensitive(c, "local"));
		ac->pseudo = per_step_from(s, cJSON_GetObjectItemCaseSensitive(c, "pseudo"));
	}
}

/* The demonstrations of a "demos" array (an empty list for anything else). */
static struct demo *demos_of(const cJSON *arr, size_t *n)
{
	struct demo *d = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *d);
	const cJSON *dm;
	*n = 0;
	cJSON_ArrayForEach(dm, arr)
	{
		char *in = str_or_null_of(dm, "input"), *out = str_or_null_of(dm, "output");
		d[(*n)++] = (struct demo){in ? in : xstrdup(""), out ? out : xstrdup("")};
	}
	return d;
}

static void restore_candidates(struct engine *en, struct iteration *it, const cJSON *o)
{
	const struct session *s = en->s;
	if (!cJSON_IsObject(o))
		return;
	it->cands = xcalloc(s->n_steps + 1, sizeof *it->cands);
	it->n_cands = xcalloc(s->n_steps + 1, sizeof *it->n_cands);
	for (size_t i = 0; i < s->n_steps; i++) {
		const cJSON *arr = list_of(o, s->steps[i].id), *c;
		it->cands[i] = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *it->cands[i]);
		cJSON_ArrayForEach(c, arr)
		{
			struct candidate *cd = &it->cands[i][it->n_cands[i]++];
			cd->prompt = str_or_null_of(c, "prompt");
			if (!cd->prompt)
				cd->prompt = xstrdup("");
			cd->optimizer = str_or_null_of(c, "optimizer");
			cd->note = str_or_null_of(c, "note");
			/* an open iteration's record has them, not their count */
			const cJSON *dm = cJSON_GetObjectItemCaseSensitive(c, "demos");
			if (cJSON_IsArray(dm))
				cd->demos = demos_of(dm, &cd->n_demos);
		}
	}
}

/* An evaluation's per-example scores (the loader range-checked them), or NULL when the record
 * has none or not exactly one per validation example. */
static double *scores_of(const cJSON *arr, size_t n_val)
{
	if (!cJSON_IsArray(arr) || !n_val || (size_t)cJSON_GetArraySize(arr) != n_val)
		return NULL;
	double *v = xcalloc(n_val, sizeof *v);
	size_t i = 0;
	const cJSON *x;
	cJSON_ArrayForEach(x, arr)
	{
		if (json_real(x, -1, 1, &v[i++], NULL) < 0) {
			free(v);
			return NULL;
		}
	}
	return v;
}

static void restore_evaluations(struct engine *en, struct iteration *it, const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), m = en->s->n_steps;
	it->evals = xcalloc(n + 1, sizeof *it->evals);
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		/* a choice is 0 (the incumbent) or k (candidate k of the step): one naming a
		 * candidate the record does not hold drops the evaluation (never an index past
		 * them) */
		const cJSON *choice = cJSON_GetObjectItemCaseSensitive(e, "choice");
		int *ch = xcalloc(m + 1, sizeof *ch);
		bool ok = true;
		for (size_t i = 0; i < m && ok; i++) {
			const cJSON *c = cJSON_GetArrayItem(choice, (int)i);
			double n_cands = it->n_cands ? (double)it->n_cands[i] : 0;
			ok = !c || json_int(c, 0, n_cands, &ch[i], NULL) == 0;
		}
		if (!ok) {
			free(ch);
			continue;
		}
		struct evaluation *ev = &it->evals[it->n_evals++];
		ev->choice = ch;
		ev->score = json_get_real(e, "score");
		ev->scores = scores_of(cJSON_GetObjectItemCaseSensitive(e, "scores"), it->n_val);
		ev->traces =
		    eval_traces_of(en, cJSON_GetObjectItemCaseSensitive(e, "traces"), it->n_val);
		if (it->best_eval < 0 || ev->score > it->evals[it->best_eval].score)
			it->best_eval = (int)(it->n_evals - 1); /* as the proposal phase chose it */
	}
}

static void restore_changes(struct engine *en, struct iteration *it, const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr);
	it->changes = xcalloc(n + 1, sizeof *it->changes);
	const cJSON *c;
	cJSON_ArrayForEach(c, arr)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "step");
		const cJSON *dec = cJSON_GetObjectItemCaseSensitive(c, "decision");
		int step = cJSON_IsString(id) ? session_step_index(en->s, id->valuestring) : -1;
		if (step < 0)
			continue;
		struct step_change *ch = &it->changes[it->n_changes++];
		ch->step = step;
		ch->old_prompt = str_or_null_of(c, "old");
		ch->new_prompt = str_or_null_of(c, "new");
		ch->edited = str_or_null_of(c, "edited");
		ch->new_demos =
		    demos_of(cJSON_GetObjectItemCaseSensitive(c, "demos"), &ch->n_new_demos);
		for (size_t d = 0; d < ARRAY_SIZE(decision_names) && cJSON_IsString(dec); d++)
			if (strcmp(decision_names[d], dec->valuestring) == 0)
				ch->decision = (enum decision)d;
		const cJSON *by = cJSON_GetObjectItemCaseSensitive(c, "by");
		for (size_t d = 0; d < ARRAY_SIZE(decider_names) && cJSON_IsString(by); d++)
			if (decider_names[d] && strcmp(decider_names[d], by->valuestring) == 0)
				ch->by = (enum decider)d;
	}
}

/* The Shapley method as the engine names it (a static string), or "none". */
static const char *method_of(const cJSON *sh)
{
	static const char *const methods[] = {"exact", "kernel", "permutation", "none"};
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(sh, "method");
	for (size_t i = 0; i < ARRAY_SIZE(methods) && cJSON_IsString(m); i++)
		if (strcmp(methods[i], m->valuestring) == 0)
			return methods[i];
	return "none";
}

/* An iteration from its record (iteration_json's, with its "traces"): a new iteration, its
 * phase left to the caller. */
static struct iteration *restore_record(struct engine *en, const cJSON *r)
{
	struct session *s = en->s;
	struct iteration *it = engine_new_iteration(en);
	it->number = small(r, "number");
	it->train_score = json_get_real(r, "train_score");
	it->base_score = json_get_real(r, "base_score");
	it->best_score = json_get_real(r, "best_score");
	it->n_val = (size_t)json_get_count(r, "validation_examples");
	it->note = str_or_null_of(r, "note");
	const cJSON *stop = cJSON_GetObjectItemCaseSensitive(r, "search_stopped");
	if (cJSON_IsString(stop) && !strcmp(stop->valuestring, SEARCH_END_PERFECT))
		it->search_end = SEARCH_END_PERFECT;
	it->structure = str_or_null_of(r, "structure");
	it->dependency = per_step_from(s, cJSON_GetObjectItemCaseSensitive(r, "dependency"));
	restore_traces(en, it, list_of(r, "traces"));
	restore_cases(en, it, list_of(r, "cases"));
	restore_candidates(en, it, cJSON_GetObjectItemCaseSensitive(r, "candidates"));
	restore_evaluations(en, it, list_of(r, "evaluations"));
	restore_changes(en, it, list_of(r, "changes"));
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(r, "shapley");
	if (sh) {
		it->shapley_method = method_of(sh);
		it->shapley_extra = json_get_count(sh, "extra_evaluations");
		it->shapley_underdetermined =
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sh, "underdetermined"));
		it->shapley_note = str_or_null_of(sh, "note");
		it->phi = xcalloc(s->n_steps, sizeof *it->phi);
		it->phi_sd = xcalloc(s->n_steps, sizeof *it->phi_sd);
		const cJSON *phi = cJSON_GetObjectItemCaseSensitive(sh, "phi");
		const cJSON *sd = cJSON_GetObjectItemCaseSensitive(sh, "sd");
		for (size_t i = 0; i < s->n_steps; i++) {
			it->phi[i] = json_get_real(phi, s->steps[i].id);
			it->phi_sd[i] = json_get_real(sd, s->steps[i].id);
		}
	}
	const cJSON *bud = cJSON_GetObjectItemCaseSensitive(r, "budget");
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(r, "next_budget");
	if (cJSON_GetArraySize(bud))
		it->budget = per_step_ints(s, bud);
	if (cJSON_GetArraySize(next))
		it->next_budget = per_step_ints(s, next);
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(r, "cost");
	for (int p = 0; p < PHASE_COUNT; p++)
		cost_from_json(cJSON_GetObjectItemCaseSensitive(cost, phase_name((enum phase)p)),
		               &it->cost[p]);
	return it;
}

/* A closed iteration from its record: everything the views show comes back. */
static void restore_iteration(struct engine *en, cJSON *r)
{
	struct iteration *it = restore_record(en, r);
	it->phase = PHASE_COUNT;
	/* the traces now live in it->traces; engine_store writes them back */
	cJSON_DeleteItemFromObjectCaseSensitive(r, "traces");
	it->saved = cJSON_Duplicate(r, 1);
	it->kept_score = score_of(r, "kept_score", engine_kept_score(en, it));
	if (it->n_evals || it->kept_score >= 0)
		en->val_score = it->kept_score;
	if (it->kept_score < 0 && it->n_evals) { /* an edit to measure: its sample */
		size_t n;
		const struct split *val = &en->s->data.splits[phases_val_split(en)];
		it->val_idx =
		    indices_of(cJSON_GetObjectItemCaseSensitive(r, "validation"), val->n, &n);
		if (n != it->n_val) {
			free(it->val_idx);
			it->val_idx = NULL;
		}
	}
	for (int p = 0; p < PHASE_COUNT; p++) { /* for files written before "spent" */
		en->earlier.calls += it->cost[p].calls;
		en->earlier.tokens_in += it->cost[p].tokens_in;
		en->earlier.tokens_out += it->cost[p].tokens_out;
		en->earlier.cost_usd += it->cost[p].cost_usd;
	}
}

/* Indices of a record's array, each below limit; NULL (and *n 0) when one is not. */
static size_t *indices_of(const cJSON *arr, size_t limit, size_t *n)
{
	*n = 0;
	if (!cJSON_IsArray(arr))
		return NULL;
	size_t *v = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *v);
	const cJSON *x;
	cJSON_ArrayForEach(x, arr)
	{
		long k;
		if (json_long(x, 0, (double)limit - 1, &k, NULL) < 0) {
			free(v);
			*n = 0;
			return NULL;
		}
		v[(*n)++] = (size_t)k;
	}
	return v;
}

/* The screening of an open record (open_json's "screening"); false when it does not hold
 * together with the validation sample and the candidates. */
static bool restore_screening(struct engine *en, struct iteration *it, const cJSON *sc)
{
	size_t m = en->s->n_steps;
	if (!sc)
		return true;
	it->screen_pos = indices_of(cJSON_GetObjectItemCaseSensitive(sc, "positions"), it->n_val,
	                            &it->n_screen_pos);
	if (!it->screen_pos || !it->n_screen_pos)
		return false;
	/* the first rung; a record from before the rungs has that one only */
	it->n_screen = cJSON_GetObjectItemCaseSensitive(sc, "first")
	                   ? (size_t)json_get_count(sc, "first")
	                   : it->n_screen_pos;
	if (!it->n_screen || it->n_screen > it->n_screen_pos)
		return false;
	it->screen_idx = xcalloc(it->n_screen_pos, sizeof *it->screen_idx);
	for (size_t k = 0; k < it->n_screen_pos; k++)
		it->screen_idx[k] = it->val_idx[it->screen_pos[k]];
	it->screen_saved = json_get_count(sc, "saved");
	const cJSON *arr = list_of(sc, "screened"), *e;
	size_t n = (size_t)cJSON_GetArraySize(arr);
	it->screened = xcalloc(n + 1, sizeof *it->screened);
	it->screen_n = xcalloc(n + 1, sizeof *it->screen_n);
	en->screen_est = xgrow(en->screen_est, &en->cap_screen_est, n + 1, sizeof *en->screen_est);
	cJSON_ArrayForEach(e, arr)
	{
		const cJSON *choice = cJSON_GetObjectItemCaseSensitive(e, "choice");
		struct evaluation *ev = &it->screened[it->n_screened++];
		ev->choice = xcalloc(m + 1, sizeof *ev->choice);
		for (size_t i = 0; i < m; i++)
			if (json_int(cJSON_GetArrayItem(choice, (int)i), 0, (double)it->n_cands[i],
			             &ev->choice[i], NULL) < 0)
				return false;
		ev->scores =
		    scores_of(cJSON_GetObjectItemCaseSensitive(e, "scores"), it->n_screen_pos);
		if (!ev->scores)
			return false;
		/* a record from before the rungs: the first rung, or the whole sample for a
		 * configuration it also ran in full (in evaluations) */
		size_t have = cJSON_GetObjectItemCaseSensitive(e, "n")
		                  ? (size_t)json_get_count(e, "n")
		              : phases_find_eval(it->evals, it->n_evals, ev->choice, m) >= 0
		                  ? it->n_val
		                  : it->n_screen_pos;
		if (have != it->n_val && (have < it->n_screen || have > it->n_screen_pos))
			return false;
		it->screen_n[it->n_screened - 1] = have;
		have = MIN(have, it->n_screen_pos);
		for (size_t k = 0; k < have; k++)
			ev->score += ev->scores[k] / (double)have;
		en->screen_est[it->n_screened - 1] = json_get_count(e, "estimate");
	}
	return true;
}

/* Whether what the phases before p left in a restored open iteration holds together, for
 * the phases from p on to read it. */
static bool open_usable(struct engine *en, struct iteration *it, const cJSON *r, enum phase p)
{
	const struct session *s = en->s;
	size_t m = s->n_steps;
	it->good =
	    indices_of(cJSON_GetObjectItemCaseSensitive(r, "good"), it->n_traces, &it->n_good);
	it->bad = indices_of(cJSON_GetObjectItemCaseSensitive(r, "bad"), it->n_traces, &it->n_bad);
	if (!it->good || !it->bad || it->n_cases != it->n_bad)
		return false;
	for (size_t c = 0; c < it->n_cases; c++) { /* case c is the bad trace c, as forward made */
		struct adopt_case *ac = &it->cases[c];
		ac->trace = it->bad[c];
		if (!ac->local)
			ac->local = xcalloc(m + 1, sizeof *ac->local);
		if (!ac->pseudo)
			ac->pseudo = xcalloc(m + 1, sizeof *ac->pseudo);
	}
	if (!it->dependency)
		it->dependency = xcalloc(m + 1, sizeof *it->dependency);
	if (p <= PHASE_CANDIDATES)
		return true;
	if (!it->cands)
		return false;
	if (!it->budget)
		it->budget = xcalloc(m + 1, sizeof *it->budget);
	if (p <= PHASE_SELECTION)
		return true;
	const struct split *val = &s->data.splits[phases_val_split(en)];
	size_t n;
	it->val_idx = indices_of(cJSON_GetObjectItemCaseSensitive(r, "validation"), val->n, &n);
	if (!it->val_idx || n != it->n_val || !n)
		return false;
	for (size_t e = 0; e < it->n_evals; e++)
		if (!it->evals[e].scores)
			return false;
	int best;
	if (json_int(cJSON_GetObjectItemCaseSensitive(r, "best_evaluation"), -1,
	             (double)it->n_evals - 1, &best, NULL) < 0)
		return false;
	it->best_eval = best;
	if (!restore_screening(en, it, cJSON_GetObjectItemCaseSensitive(r, "screening")))
		return false;
	/* the proposal, to decide: one change per learnable step, each with both prompts */
	bool *seen = xcalloc(m + 1, sizeof *seen);
	bool ok = true;
	for (size_t c = 0; c < it->n_changes && ok; c++) {
		const struct step_change *ch = &it->changes[c];
		ok = ch->old_prompt && ch->new_prompt && !seen[ch->step] &&
		     step_optimizable(&s->steps[ch->step]) &&
		     (ch->decision != DECISION_EDIT || ch->edited);
		seen[ch->step] = true;
	}
	free(seen);
	return ok;
}

/* The iteration in progress from "state".record, as it stood when phase p was next (or in
 * flight: its part-done work is dropped, and it runs again with the response cache answering
 * what had come back).  Restores nothing and returns false when the record is missing or does
 * not hold together (a damaged or a stranger's file). */
static bool restore_open(struct engine *en, const cJSON *r, enum phase p, int number)
{
	if (!cJSON_IsObject(r) || small(r, "number") != number || number < 1)
		return false;
	struct iteration *it = restore_record(en, r);
	it->phase = p;
	it->kept_score = -1;
	if (!open_usable(en, it, r, p)) {
		en->n_iters--;
		iteration_free(it, en->s->n_steps);
		return false;
	}
	for (int q = PHASE_DECISION; q >= (int)p; q--) {
		phase_clear(it, (enum phase)q, en->s->n_steps);
		if (q < PHASE_DECISION)
			it->cost[q] = (struct phase_cost){0};
	}
	/* and the figures those phases set, as they stand before them */
	if (p <= PHASE_SELECTION)
		it->base_score = 0;
	if (p <= PHASE_PROPOSAL)
		it->best_eval = -1, it->best_score = 0;
	if (p == PHASE_DECISION)
		engine_restore_undo(en);
	return true;
}

/* An older file's unfinished iteration (no record) is replayed from the response cache, which
 * is only right under the prompts it ran with.  Returns NULL when it is, else why not, naming
 * the step: a version was made during it (an accepted or edited change, a restored version), or
 * the step's prompt in the file is not its last version's (edited by hand since the save). */
static char *not_replayable(const struct engine *en, int number)
{
	const struct session *s = en->s;
	for (size_t v = 0; v < en->n_versions; v++)
		if (en->versions[v].iteration == number)
			return xasprintf("step %s got prompt version %d during it",
			                 s->steps[en->versions[v].step].id,
			                 en->versions[v].version);
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct prompt_version *last = NULL;
		for (size_t v = 0; v < en->n_versions; v++)
			if (en->versions[v].step == (int)i)
				last = &en->versions[v];
		if (last && s->steps[i].prompt && strcmp(last->prompt, s->steps[i].prompt) != 0)
			return xasprintf(
			    "step %s's prompt in the file is not its version %d (edited "
			    "by hand since)",
			    s->steps[i].id, last->version);
	}
	return NULL;
}

/* The unfinished iteration of "state" (its phase at, its number) is resumed: as its record
 * has it, or an older file's replayed; false, with a note saying why, when it is not (it does
 * not follow the history, or a replay would run under other prompts). */
static bool resumable(struct engine *en, const cJSON *st, enum phase at, int number)
{
	int next = en->n_iters ? en->iters[en->n_iters - 1]->number + 1 : 1;
	if (number != next) {
		engine_note_reopen(
		    en,
		    "the unfinished iteration is not resumed: state.iteration is %d, "
		    "but the history's last iteration is %d (it must be %d)",
		    number, next - 1, next);
		return false;
	}
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(st, "record");
	if (restore_open(en, rec, at, number))
		return true; /* as it stood: nothing to replay */
	const char *without = rec ? "its record in the file (state.record) does not hold together"
	                          : "the file has no record of it (an older adopt-tui's)";
	char *why = not_replayable(en, number);
	if (why) {
		engine_note_reopen(en,
		                   "iteration %d is not resumed: %s, and %s, so it could only be "
		                   "replayed under the prompts it started with; it starts afresh",
		                   number, why, without);
		free(why);
		return false;
	}
	if (rec)
		engine_note_reopen(en,
		                   "iteration %d: %s; its finished phases are replayed from "
		                   "the response cache",
		                   number, without);
	en->resume_phase = at;
	struct iteration *it = engine_new_iteration(en);
	it->number = number;
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(st, "cost");
	for (int p = 0; p < (int)at; p++) {
		const char *name = phase_name((enum phase)p);
		cost_from_json(cJSON_GetObjectItemCaseSensitive(cost, name), &en->resume_cost[p]);
		it->cost[p] = en->resume_cost[p];
	}
	return true;
}

void engine_reopen_journaled(const struct engine *en, struct llm_stats *s)
{
	*s = en->journaled;
}

/* The damaged fields of the file's record, for the reopen note: the first two, and how many. */
struct damage {
	struct sbuf first;
	int n;
};

static void damaged(void *arg, const char *path, const char *msg)
{
	struct damage *d = arg;
	if (d->n++ < 2)
		sbuf_addf(&d->first, "%s%s: %s", d->n > 1 ? ", " : "", path, msg);
}

void engine_restore(struct engine *en)
{
	struct session *s = en->s;
	struct damage d = {{0}, 0};
	if (session_record_damage(s, damaged, &d) > 2)
		engine_note_reopen(en,
		                   "damaged record: %s, ... (read as missing; %d fields in all, "
		                   "--check lists them)",
		                   sbuf_str(&d.first), d.n);
	else if (d.n)
		engine_note_reopen(en, "damaged record: %s (read as missing)", sbuf_str(&d.first));
	sbuf_free(&d.first);
	const cJSON *h = session_section(s, "history");
	const cJSON *vers = cJSON_GetObjectItemCaseSensitive(h, "versions"), *v;
	cJSON_ArrayForEach(v, vers)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "step");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(v, "prompt");
		int step = cJSON_IsString(id) ? session_step_index(s, id->valuestring) : -1;
		if (step < 0 || !cJSON_IsString(p))
			continue;
		struct prompt_version *pv =
		    engine_add_version(en, step, p->valuestring, score_of(v, "score", -1),
		                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "edited")),
		                       small(v, "iteration"));
		const cJSON *demos = cJSON_GetObjectItemCaseSensitive(v, "demos");
		if (cJSON_IsArray(demos)) {
			pv->demos = demos_of(demos, &pv->n_demos);
			pv->demos_known = true;
		}
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		bool have = false;
		for (size_t k = 0; k < en->n_versions && !have; k++)
			have = en->versions[k].step == (int)i;
		if (!have && s->steps[i].kind == STEP_LLM)
			version_set_demos(
			    engine_add_version(en, (int)i, s->steps[i].prompt, -1, false, 0),
			    s->steps[i].demos, s->steps[i].n_demos);
	}
	cJSON *iters = cJSON_GetObjectItemCaseSensitive(h, "iterations"), *r;
	cJSON_ArrayForEach(r, iters)
	{
		restore_iteration(en, r);
	}
	/* sessions saved before versions took their incumbent's score */
	for (size_t i = 0; i < en->n_iters; i++)
		if (en->iters[i]->n_evals)
			engine_score_versions(en, en->iters[i]->number, en->iters[i]->base_score);
	const cJSON *spent = cJSON_GetObjectItemCaseSensitive(h, "spent");
	if (cJSON_IsObject(spent)) {
		en->earlier = (struct engine_totals){0};
		fields_from_json(spent, &en->earlier, totals_fields, ARRAY_SIZE(totals_fields));
	}
	/* calls billed after the last save (the process was killed): from the spend journal */
	struct llm_stats j;
	llm_spend_since(en->llm, json_get_count(spent, "journal"), &j);
	en->journaled = j;
	en->earlier.calls += j.done;
	en->earlier.tokens_in += j.tokens_in;
	en->earlier.tokens_out += j.tokens_out;
	en->earlier.cost_usd += j.cost_usd;
	if (cJSON_GetObjectItemCaseSensitive(h, "incumbent_score"))
		en->val_score = score_of(h, "incumbent_score", -1);
	const cJSON *st = session_section(s, "state");
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
	if (cJSON_IsString(ph)) {
		enum phase at = PHASE_FORWARD;
		for (int p = 0; p < PHASE_COUNT; p++)
			if (strcmp(phase_name((enum phase)p), ph->valuestring) == 0)
				at = (enum phase)p;
		if (at > PHASE_FORWARD)
			resumable(en, st, at, small(st, "iteration"));
	}
}

/* test_reopen.c: what is saved comes back, and what is shown is what was measured.
 *
 * The stable JSON style (jsonfmt.h) and the fixed key order; every bundled example written back
 * byte for byte when nothing changed; a session with a finished iteration reopened and saved
 * again byte for byte, with its decisions, gradients, Shapley method, budgets, costs and scores
 * restored; prompt versions and the incumbent's score only for configurations that were
 * measured (an accepted-alone step, an edit, a restored version); nothing to optimize said
 * before anything is spent; one writer per session (the lock), no save over a file another
 * program changed; a copy saved into another directory names its files from there; an
 * unfinished iteration reopened as it stood (at its proposal with a decision made, before
 * every phase, after its prompts changed), sending nothing, and a damaged record of it
 * never used. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "core/jsonfmt.h"
#include "core/lock.h"
#include "engine/engine.h"
#include "engine/optimizer.h"
#include "engine_fixture.h"

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct err e = {{0}};
	if (file_read(path, 1 << 24, &buf, len, &e) < 0)
		fail_msg("%s", e.msg);
	return buf;
}

static void expect_same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *ta = slurp(a, &la), *tb = slurp(b, &lb);
	if (la != lb || memcmp(ta, tb, la) != 0) {
		size_t i = 0;
		while (i < la && i < lb && ta[i] == tb[i])
			i++;
		fail_msg("%s and %s differ at byte %zu: ...%.60s... vs ...%.60s...", a, b, i,
		         ta + (i > 20 ? i - 20 : 0), tb + (i > 20 ? i - 20 : 0));
	}
	free(ta);
	free(tb);
}

/* ---- the printer ---- */

static void test_print_style(void **state)
{
	(void)state;
	cJSON *r = cJSON_Parse(
	    "{\"a\": 1, \"f\": 0.1, \"big\": 1e15, \"neg\": -2.5, \"s\": \"x\\n\\t\\\"\\u0001é\","
	    "\"small\": {\"k\": \"v\", \"n\": null, \"t\": true}, \"empty\": {}, \"none\": [],"
	    "\"list\": [1, 2, 3], \"objs\": [{\"id\": 1}], \"nest\": {\"in\": [[1], {}]},"
	    "\"long\": [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
	    "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\", \"cccccccccccccccccc\"]}");
	assert_non_null(r);
	char *t = json_print_stable(r);
	assert_string_equal(t, "{\n"
	                       "  \"a\": 1,\n"
	                       "  \"f\": 0.1,\n"
	                       "  \"big\": 1000000000000000,\n"
	                       "  \"neg\": -2.5,\n"
	                       "  \"s\": \"x\\n\\t\\\"\\u0001é\",\n"
	                       "  \"small\": {\"k\": \"v\", \"n\": null, \"t\": true},\n"
	                       "  \"empty\": {},\n"
	                       "  \"none\": [],\n"
	                       "  \"list\": [1, 2, 3],\n"
	                       "  \"objs\": [\n"
	                       "    {\n"
	                       "      \"id\": 1\n"
	                       "    }\n"
	                       "  ],\n"
	                       "  \"nest\": {\n"
	                       "    \"in\": [\n"
	                       "      [1],\n"
	                       "      {}\n"
	                       "    ]\n"
	                       "  },\n"
	                       "  \"long\": [\n"
	                       "    \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\n"
	                       "    \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\n"
	                       "    \"cccccccccccccccccc\"\n"
	                       "  ]\n"
	                       "}\n");
	/* what it prints reads back as the same tree and prints the same */
	cJSON *back = cJSON_Parse(t);
	assert_true(cJSON_Compare(r, back, true));
	char *again = json_print_stable(back);
	assert_string_equal(t, again);
	/* numbers that need every digit keep them */
	cJSON *n = cJSON_CreateNumber(0.052719649999999965);
	char *nt = json_print_stable(n);
	assert_true(strtod(nt, NULL) == 0.052719649999999965);
	free(nt);
	cJSON_Delete(n);
	free(again);
	free(t);
	cJSON_Delete(back);
	cJSON_Delete(r);
}

static void test_order_keys(void **state)
{
	(void)state;
	cJSON *r = cJSON_Parse("{\"z\": 1, \"b\": 2, \"y\": 3, \"a\": 4}");
	static const char *const keys[] = {"a", "b", "c", NULL};
	json_order_keys(r, keys);
	char *t = json_print_stable(r);
	assert_string_equal(t, "{\"a\": 4, \"b\": 2, \"z\": 1, \"y\": 3}\n");
	/* the list stays sound: appending and deleting still work */
	cJSON_AddNumberToObject(r, "w", 5);
	cJSON_DeleteItemFromObjectCaseSensitive(r, "a");
	free(t);
	t = json_print_stable(r);
	assert_string_equal(t, "{\"b\": 2, \"z\": 1, \"y\": 3, \"w\": 5}\n");
	free(t);
	cJSON_Delete(r);
}

/* ---- a rig: a copied example, its session, LLM layer and engine ---- */

struct rig {
	struct fx f;
	char *path;
	struct session *s;
	struct llm *l;
	struct engine *en;
};

static void rig_load(struct rig *g)
{
	g->s = fx_load(&g->f, "session.json");
	g->l = fx_llm(&g->f, "session.cache.jsonl");
	struct err e = {{0}};
	struct engine_opts o = {0};
	g->en = engine_new(g->s, g->l, &o, NULL, NULL, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
}

static void rig_open(struct rig *g, const char *example)
{
	memset(g, 0, sizeof *g);
	char *src = xasprintf("examples/%s", example);
	fx_init(&g->f, src);
	free(src);
	g->path = fx_path(&g->f, "session.json");
	rig_load(g);
}

static void rig_unload(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	g->en = NULL, g->l = NULL, g->s = NULL;
}

/* Stores the engine and saves the session to name in the fixture directory. */
static void rig_save(struct rig *g, const char *name)
{
	struct err e = {{0}};
	char *p = fx_path(&g->f, name);
	engine_store(g->en);
	if (session_save(g->s, p, &e) < 0)
		fail_msg("%s", e.msg);
	free(p);
}

static void rig_reopen(struct rig *g)
{
	rig_save(g, "session.json");
	rig_unload(g);
	rig_load(g);
}

/* Saves the session tree as it stands, without engine_store (a record edited by hand stays as
 * edited), and loads it again. */
static void rig_reload_as_edited(struct rig *g)
{
	struct err e = {{0}};
	assert_int_equal(session_save(g->s, g->path, &e), 0);
	rig_unload(g);
	rig_load(g);
}

/* The record of the history's first iteration, in the session tree. */
static cJSON *history_first(const struct rig *g)
{
	return cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(session_section(g->s, "history"), "iterations"), 0);
}

static void rig_close(struct rig *g)
{
	rig_unload(g);
	free(g->path);
	fx_done(&g->f);
}

static void drive(struct rig *g)
{
	fx_drive(g->en, g->l);
}

static void test_examples_stable(void **state)
{
	(void)state;
	static const char *const examples[] = {"capitals", "chain5", "dialogue-loop",
	                                       "hotpot-mini"};
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		struct rig g;
		rig_open(&g, examples[i]);
		rig_save(&g, "again.json");
		char *orig = xasprintf("examples/%s/session.json", examples[i]);
		char *again = fx_path(&g.f, "again.json");
		expect_same_file(orig, again);
		free(orig);
		free(again);
		rig_close(&g);
	}
}

/* One iteration of hotpot-mini run to its proposal; query accepted, answer rejected. */
static void run_and_decide(struct rig *g)
{
	assert_int_equal(engine_run_to_proposal(g->en), 0);
	drive(g);
	const struct iteration *it = engine_current(g->en);
	assert_int_equal(it->phase, PHASE_DECISION);
	assert_int_equal(it->n_changes, 2);
	assert_int_equal(engine_accept(g->en, session_step_index(g->s, "query")), 0);
	assert_int_equal(engine_reject(g->en, session_step_index(g->s, "answer")), 0);
	assert_int_equal(it->phase, PHASE_COUNT);
}

/* hotpot-mini opened, one iteration run and decided, stored: its record in the session tree. */
static cJSON *rig_decided_record(struct rig *g)
{
	rig_open(g, "hotpot-mini");
	run_and_decide(g);
	engine_store(g->en);
	return history_first(g);
}

static void test_reopen_identical(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	run_and_decide(&g);
	const struct iteration *it = engine_current(g.en);
	int query = session_step_index(g.s, "query");
	size_t n_cases = it->n_cases, n_evals = it->n_evals, n_traces = it->n_traces;
	const char *method = it->shapley_method;
	int budget = it->budget[query], next = it->next_budget[query];
	double kept = it->kept_score, val = engine_val_score(g.en), usd = it->cost[0].cost_usd;
	struct engine_totals spent;
	engine_spent(g.en, &spent);
	rig_reopen(&g);
	rig_save(&g, "first.json");
	/* reopened: everything the views show came back */
	it = engine_current(g.en);
	assert_int_equal(engine_iterations(g.en), 1);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_int_equal(it->n_changes, 2);
	assert_int_equal(it->changes[0].decision, DECISION_ACCEPT);
	assert_int_equal(it->changes[1].decision, DECISION_REJECT);
	assert_int_equal(it->n_cases, n_cases);
	assert_true(n_cases > 0);
	assert_true(it->cases[0].trace < it->n_traces);
	assert_non_null(it->cases[0].local);
	assert_int_equal(it->n_evals, n_evals);
	assert_int_equal(it->n_traces, n_traces);
	assert_string_equal(it->shapley_method, method);
	assert_int_equal(it->budget[query], budget);
	assert_int_equal(it->next_budget[query], next);
	assert_true(it->kept_score == kept);
	assert_true(engine_val_score(g.en) == val);
	assert_true(it->cost[0].cost_usd == usd);
	assert_non_null(it->structure);
	/* and nothing grows by being reopened: the spend, the calls */
	for (int round = 0; round < 2; round++) {
		struct engine_totals now;
		engine_spent(g.en, &now);
		assert_int_equal(now.calls, spent.calls);
		assert_int_equal(now.memo_hits, spent.memo_hits);
		assert_true(now.cost_usd == spent.cost_usd);
		rig_reopen(&g);
	}
	/* saved again without a change: the same bytes */
	rig_save(&g, "second.json");
	char *a = fx_path(&g.f, "first.json"), *b = fx_path(&g.f, "second.json");
	expect_same_file(a, b);
	expect_same_file(a, g.path);
	free(a);
	free(b);
	rig_close(&g);
}

/* An evaluation whose choice names a candidate the record does not hold (in the range the
 * loader accepts, beyond the candidates) is dropped on reopening, never used as an index. */
static void test_choice_out_of_range(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	run_and_decide(&g);
	size_t n_evals = engine_current(g.en)->n_evals;
	assert_true(n_evals > 1);
	engine_store(g.en);
	cJSON *h = session_section(g.s, "history");
	cJSON *iters = cJSON_GetObjectItemCaseSensitive(h, "iterations");
	cJSON *evals =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(iters, 0), "evaluations");
	cJSON *choice = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(evals, 1), "choice");
	assert_true(cJSON_ReplaceItemInArray(choice, 0, cJSON_CreateNumber(100000)));
	struct err e = {{0}};
	if (session_save(g.s, g.path, &e) < 0)
		fail_msg("%s", e.msg);
	rig_unload(&g);
	rig_load(&g);
	assert_int_equal(engine_current(g.en)->n_evals, n_evals - 1);
	rig_close(&g);
}

/* The per-example evidence: the incumbent's and the proposal's validation scores, example by
 * example, come back on reopening (and nothing else's: the file stays bounded); a record whose
 * list does not hold one score per validation example keeps the evaluation without them. */
static bool is_incumbent(const struct evaluation *ev, size_t n_steps)
{
	for (size_t k = 0; k < n_steps; k++)
		if (ev->choice[k])
			return false;
	return true;
}

static void test_evidence_saved(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	run_and_decide(&g);
	const struct iteration *it = engine_current(g.en);
	size_t n_val = it->n_val, n_evals = it->n_evals, m = g.s->n_steps;
	int best = it->best_eval;
	assert_true(best >= 0 && n_val > 1 && n_evals > 2);
	double *want = calloc(2 * n_val, sizeof *want);
	size_t inc = n_evals;
	for (size_t e = 0; e < n_evals; e++)
		if (is_incumbent(&it->evals[e], m))
			inc = e;
	assert_true(inc < n_evals);
	memcpy(want, it->evals[inc].scores, n_val * sizeof *want);
	memcpy(want + n_val, it->evals[best].scores, n_val * sizeof *want);
	/* and both runs of every example: the outputs side by side, the traces behind them */
	char **outs = calloc(2 * n_val, sizeof *outs);
	assert_non_null(it->evals[inc].traces);
	assert_non_null(it->evals[best].traces);
	for (size_t i = 0; i < n_val; i++) {
		outs[i] = strdup(it->evals[inc].traces[i].prediction);
		outs[n_val + i] = strdup(it->evals[best].traces[i].prediction);
	}
	rig_reopen(&g);
	it = engine_current(g.en);
	assert_int_equal(it->n_evals, n_evals);
	assert_int_equal(it->best_eval, best);
	for (size_t e = 0; e < n_evals; e++) {
		const double *got = it->evals[e].scores;
		if (e != inc && (int)e != best) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		const double *w = e == inc ? want : want + n_val;
		for (size_t i = 0; i < n_val; i++)
			assert_true(fabs(got[i] - w[i]) < 1e-12);
		const struct trace *t = it->evals[e].traces;
		assert_non_null(t);
		for (size_t i = 0; i < n_val; i++) {
			assert_string_equal(t[i].prediction, outs[(e == inc ? 0 : n_val) + i]);
			assert_true(t[i].n > 0); /* the last iteration keeps its steps */
			assert_int_equal(t[i].example, it->val_idx ? it->val_idx[i] : t[i].example);
		}
	}
	for (size_t e = 0; e < n_evals; e++)
		if (e != inc && (int)e != best)
			assert_null(it->evals[e].traces);
	for (size_t i = 0; i < 2 * n_val; i++)
		free(outs[i]);
	free(outs);
	/* a list one short: the evaluation stays, its scores do not */
	cJSON *h = session_section(g.s, "history");
	cJSON *iters = cJSON_GetObjectItemCaseSensitive(h, "iterations");
	cJSON *evals =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(iters, 0), "evaluations");
	cJSON *sc = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(evals, best), "scores");
	assert_non_null(sc);
	cJSON_DeleteItemFromArray(sc, 0);
	struct err e = {{0}};
	if (session_save(g.s, g.path, &e) < 0)
		fail_msg("%s", e.msg);
	rig_unload(&g);
	rig_load(&g);
	it = engine_current(g.en);
	assert_int_equal(it->n_evals, n_evals);
	assert_null(it->evals[best].scores);
	assert_non_null(it->evals[inc].scores);
	free(want);
	rig_close(&g);
}

/* The trace history is bounded: after 7 iterations, a reopened session has the forward runs of
 * every iteration, with their steps for the last 5 and only each example's score and final
 * output for the 2 before; saved again, the file keeps its bytes. */
static void test_trace_history(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	assert_int_equal(engine_run(g.en, 7), 0);
	drive(&g);
	size_t n = engine_iterations(g.en);
	assert_int_equal(n, 7);
	size_t *counts = calloc(n, sizeof *counts);
	char ***preds = calloc(n, sizeof *preds);
	double **scores = calloc(n, sizeof *scores);
	for (size_t i = 0; i < n; i++) {
		const struct iteration *it = engine_iteration(g.en, i);
		assert_int_equal(it->phase, PHASE_COUNT);
		counts[i] = it->n_traces;
		assert_true(counts[i] > 0);
		preds[i] = calloc(counts[i], sizeof **preds);
		scores[i] = calloc(counts[i], sizeof **scores);
		for (size_t k = 0; k < counts[i]; k++) {
			assert_true(it->traces[k].n > 0);
			preds[i][k] =
			    strdup(it->traces[k].prediction ? it->traces[k].prediction : "");
			scores[i][k] = it->traces[k].score;
		}
	}
	rig_reopen(&g);
	assert_int_equal(engine_iterations(g.en), n);
	for (size_t i = 0; i < n; i++) {
		const struct iteration *it = engine_iteration(g.en, i);
		assert_int_equal(it->n_traces, counts[i]);
		for (size_t k = 0; k < counts[i]; k++) {
			const struct trace *t = &it->traces[k];
			assert_string_equal(t->prediction ? t->prediction : "", preds[i][k]);
			assert_true(fabs(t->score - scores[i][k]) < 1e-12);
			if (i < n - 5)
				assert_int_equal(t->n, 0); /* summarised: no steps */
			else
				assert_true(t->n > 0);
		}
		/* the evidence runs follow the same bound */
		for (size_t e = 0; e < it->n_evals; e++)
			for (size_t k = 0; it->evals[e].traces && k < it->n_val; k++)
				assert_true(i < n - 5 ? it->evals[e].traces[k].n == 0
				                      : it->evals[e].traces[k].n > 0);
	}
	rig_save(&g, "again.json");
	char *again = fx_path(&g.f, "again.json");
	expect_same_file(g.path, again);
	free(again);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < counts[i]; k++)
			free(preds[i][k]);
		free(preds[i]);
		free(scores[i]);
	}
	free(preds);
	free(scores);
	free(counts);
	rig_close(&g);
}

/* ---- scores only for what was measured ---- */

static const struct prompt_version *latest(struct engine *en, int step)
{
	size_t n;
	const struct prompt_version *v = engine_versions(en, &n), *last = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].step == step)
			last = &v[i];
	return last;
}

static void test_measured_scores(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	assert_true(engine_val_score(g.en) < 0); /* nothing measured yet */
	run_and_decide(&g);
	const struct iteration *it = engine_current(g.en);
	int query = session_step_index(g.s, "query");
	/* the query changed alone: scored as selection measured that configuration, not with the
	 * combination's score */
	bool keep[3] = {false};
	keep[query] = true;
	double alone = engine_config_score(g.en, it, keep);
	assert_true(alone >= 0);
	assert_true(alone != it->best_score);
	assert_true(latest(g.en, query)->score == alone);
	assert_true(it->kept_score == alone);
	assert_true(engine_val_score(g.en) == alone);
	/* a restored version is a configuration nobody measured */
	assert_int_equal(engine_restore_version(g.en, query, 1), 0);
	assert_true(latest(g.en, query)->score < 0);
	assert_true(engine_val_score(g.en) < 0);
	/* and so it stays on reopening */
	rig_reopen(&g);
	assert_true(engine_val_score(g.en) < 0);
	assert_true(latest(g.en, query)->score < 0);
	rig_close(&g);

	/* an edited prompt never gets the combination's score */
	rig_open(&g, "hotpot-mini");
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	int answer = session_step_index(g.s, "answer");
	char *text = xasprintf("%s\nBe brief.", engine_current(g.en)->changes[1].new_prompt);
	assert_int_equal(engine_edit(g.en, answer, text), 0);
	assert_int_equal(engine_accept(g.en, query), 0);
	assert_true(latest(g.en, answer)->edited);
	assert_true(latest(g.en, answer)->score < 0);
	assert_true(latest(g.en, query)->score < 0);
	assert_true(engine_current(g.en)->kept_score < 0);
	assert_true(engine_val_score(g.en) < 0);
	/* until it is measured on the same validation sample, when asked, in this run or after a
	 * reopen (the sample is saved with the unmeasured iteration): its cost projected first, a
	 * cancelled measurement leaving it unmeasured */
	rig_reopen(&g);
	assert_true(latest(g.en, answer)->edited);
	assert_true(latest(g.en, answer)->score < 0);
	assert_true(engine_current(g.en)->kept_score < 0);
	assert_true(engine_can_measure(g.en));
	struct cost_projection p;
	engine_project_measure(g.en, &p);
	assert_true(p.calls > 0 && p.usd > 0);
	assert_int_equal(engine_measure(g.en), 0);
	engine_cancel(g.en);
	assert_false(engine_busy(g.en));
	assert_true(engine_current(g.en)->kept_score < 0);
	assert_int_equal(engine_measure(g.en), 0);
	drive(&g);
	double kept = engine_current(g.en)->kept_score;
	assert_true(kept >= 0 && kept <= 1);
	assert_true(engine_val_score(g.en) == kept);
	assert_true(latest(g.en, answer)->score == kept);
	assert_true(latest(g.en, query)->score == kept);
	assert_false(engine_can_measure(g.en));
	assert_int_equal(engine_measure(g.en), -1);
	/* and a reopened session shows the measured score, with nothing left to measure */
	rig_reopen(&g);
	assert_true(engine_current(g.en)->kept_score == kept);
	assert_true(engine_val_score(g.en) == kept);
	assert_true(latest(g.en, answer)->score == kept);
	assert_false(engine_can_measure(g.en));
	free(text);
	rig_close(&g);
}

/* ---- who decided, and the demonstrations each version carried ---- */

static void test_who_decided(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	run_and_decide(&g); /* by keys: accept the query, reject the answer */
	const struct iteration *it = engine_current(g.en);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(it->changes[c].by, DECIDER_USER);
	/* undone, a decision has nobody behind it */
	assert_int_equal(engine_undo(g.en), 0);
	assert_int_equal(it->changes[1].by, DECIDER_UNKNOWN);
	assert_int_equal(engine_reject(g.en, it->changes[1].step), 0);
	rig_reopen(&g);
	it = engine_current(g.en);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(it->changes[c].by, DECIDER_USER);
	/* a run of whole iterations decides on its own */
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	it = engine_current(g.en);
	assert_int_equal(it->number, 2);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(it->changes[c].by, DECIDER_ENGINE);
	rig_reopen(&g);
	it = engine_current(g.en);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(it->changes[c].by, DECIDER_ENGINE);
	rig_close(&g);
}

static void test_version_demos(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	int query = session_step_index(g.s, "query");
	struct step *st = &g.s->steps[query];
	run_and_decide(&g);
	const struct prompt_version *v2 = latest(g.en, query);
	assert_int_equal(v2->version, 2);
	assert_true(v2->demos_known);
	assert_int_equal(v2->n_demos, st->n_demos);
	/* the step's demonstrations change afterwards (by hand, say) */
	demos_free(st->demos, st->n_demos);
	st->demos = xcalloc(1, sizeof *st->demos);
	st->demos[0] = (struct demo){xstrdup("a later input"), xstrdup("a later output")};
	st->n_demos = 1;
	/* restoring v1 brings back v1's demonstrations (none), not the current ones */
	assert_int_equal(engine_restore_version(g.en, query, 1), 0);
	assert_int_equal(st->n_demos, 0);
	assert_int_equal(latest(g.en, query)->n_demos, 0);
	/* and the versions keep them across a reopen */
	rig_reopen(&g);
	st = &g.s->steps[query];
	size_t n;
	const struct prompt_version *v = engine_versions(g.en, &n);
	for (size_t i = 0; i < n; i++)
		assert_true(v[i].demos_known);
	rig_close(&g);
}

static void test_nothing_to_optimize(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "capitals");
	assert_non_null(engine_nothing_to_optimize(g.en));
	assert_int_equal(engine_run_to_proposal(g.en), -1);
	assert_int_equal(engine_step(g.en), -1);
	assert_int_equal(engine_run(g.en, 1), -1);
	assert_non_null(strstr(engine_pause_reason(g.en), "nothing to optimize"));
	assert_int_equal(engine_iterations(g.en), 0);
	struct engine_totals t;
	engine_totals(g.en, &t);
	assert_int_equal(t.calls, 0);
	rig_close(&g);
	rig_open(&g, "hotpot-mini");
	assert_null(engine_nothing_to_optimize(g.en));
	rig_close(&g);
}

/* ---- one writer, no silent overwrite ---- */

static void test_lock(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	struct err e = {{0}};
	struct session_lock *a = session_lock_take(g.path, &e);
	assert_non_null(a);
	char *lp = session_lock_path(g.path);
	struct stat st;
	assert_int_equal(stat(lp, &st), 0);
	/* a second writer (another open file description: flock tells them apart) is refused */
	struct session_lock *b = session_lock_take(g.path, &e);
	assert_null(b);
	assert_non_null(strstr(e.msg, "is open for writing by another adopt-tui (pid "));
	assert_non_null(strstr(e.msg, "--read-only"));
	/* released: the file goes, and the next writer gets it */
	session_lock_release(a);
	assert_int_equal(stat(lp, &st), -1);
	memset(&e, 0, sizeof e);
	b = session_lock_take(g.path, &e);
	assert_non_null(b);
	session_lock_release(b);
	free(lp);
	rig_close(&g);
}

static void test_changed_on_disk(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	struct err e = {{0}};
	assert_int_equal(session_disk_changed(g.s, g.path), 0);
	/* touched but the same: no change */
	char *text;
	size_t len;
	text = slurp(g.path, &len);
	fx_write(g.path, text, len);
	assert_int_equal(session_disk_changed(g.s, g.path), 0);
	/* another program saves: ours is refused and theirs kept */
	fx_write(g.path, "{\"theirs\": 1}\n", 14);
	assert_int_equal(session_disk_changed(g.s, g.path), 1);
	assert_int_equal(session_save(g.s, g.path, &e), -1);
	assert_non_null(strstr(e.msg, "changed on disk since it was read"));
	size_t n;
	char *now = slurp(g.path, &n);
	assert_int_equal(n, 14);
	free(now);
	/* told to, it overwrites once, and from then on that is the version it knows */
	session_overwrite_once(g.s);
	assert_int_equal(session_save(g.s, g.path, &e), 0);
	assert_int_equal(session_disk_changed(g.s, g.path), 0);
	assert_int_equal(session_save(g.s, g.path, &e), 0);
	expect_same_file(g.path, "examples/hotpot-mini/session.json");
	free(text);
	rig_close(&g);
}

static void test_saveas_rebase(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	char *sub = fx_path(&g.f, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	char *copy = xasprintf("%s/copy.json", sub);
	struct err e = {{0}};
	assert_int_equal(session_rebase_paths(g.s, copy, &e), 0);
	rig_save(&g, "sub/copy.json");
	/* the copy names its data from where it is, and loads */
	struct diag d = {0};
	struct session *c = session_load(copy, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i]);
	assert_non_null(c);
	const cJSON *ds = session_section(c, "dataset");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ds, "train")->valuestring,
	                    "../train.jsonl");
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(session_section(c, "models"), "task");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(task, "rules")->valuestring,
	                    "../rules.json");
	assert_int_equal(c->data.splits[SPLIT_TRAIN].n, g.s->data.splits[SPLIT_TRAIN].n);
	/* and back into the first directory: the paths as they were */
	assert_int_equal(session_rebase_paths(c, g.path, &e), 0);
	ds = session_section(c, "dataset");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ds, "train")->valuestring,
	                    "train.jsonl");
	session_free(c);
	diag_free(&d);
	unlink(copy);
	rmdir(sub);
	free(copy);
	free(sub);
	rig_close(&g);
}

/* ---- an unfinished iteration reopened ---- */

#define MAX_STEPS 8

/* What a person sees of the iteration in progress and of the session: its phase, its search
 * and Shapley figures, its proposal and the decisions made, the prompts in use, the spend. */
struct seen {
	enum phase phase;
	int number;
	size_t n_steps, n_changes, n_evals, n_cands, n_cases, n_traces;
	double train, base, best, val, phi[MAX_STEPS], eval_score[64];
	int best_eval;
	char *new_prompt[MAX_STEPS], *prompt[MAX_STEPS], *structure;
	size_t new_demos[MAX_STEPS];
	enum decision decision[MAX_STEPS];
	struct engine_totals spent;
};

static void seen_take(struct rig *g, struct seen *v)
{
	const struct iteration *it = engine_current(g->en);
	assert_non_null(it);
	memset(v, 0, sizeof *v);
	v->n_steps = g->s->n_steps;
	assert_true(v->n_steps <= MAX_STEPS);
	v->phase = it->phase, v->number = it->number;
	v->n_changes = it->n_changes, v->n_evals = it->n_evals;
	v->n_cases = it->n_cases, v->n_traces = it->n_traces;
	assert_true(v->n_evals <= 64);
	v->train = it->train_score, v->base = it->base_score, v->best = it->best_score;
	v->best_eval = it->best_eval;
	v->val = engine_val_score(g->en);
	v->structure = it->structure ? xstrdup(it->structure) : NULL;
	for (size_t e = 0; e < it->n_evals; e++)
		v->eval_score[e] = it->evals[e].score;
	for (size_t i = 0; i < v->n_steps; i++) {
		v->phi[i] = it->phi ? it->phi[i] : 0;
		v->n_cands += it->n_cands ? it->n_cands[i] : 0;
		v->prompt[i] = g->s->steps[i].prompt ? xstrdup(g->s->steps[i].prompt) : NULL;
	}
	for (size_t c = 0; c < it->n_changes; c++) {
		int i = it->changes[c].step;
		v->new_prompt[i] = xstrdup(it->changes[c].new_prompt);
		v->new_demos[i] = it->changes[c].n_new_demos;
		v->decision[i] = it->changes[c].decision;
	}
	engine_spent(g->en, &v->spent);
}

static void seen_free(struct seen *v)
{
	for (size_t i = 0; i < v->n_steps; i++) {
		free(v->new_prompt[i]);
		free(v->prompt[i]);
	}
	free(v->structure);
}

static void same_text(const char *a, const char *b)
{
	if (a || b) {
		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
	}
}

/* The same iteration, proposal, decisions and prompts; spend: the same money to the
 * pico-dollar, and (exact) the same calls and tokens too. */
static void seen_equal(const struct seen *a, const struct seen *b, bool exact)
{
	assert_int_equal(a->phase, b->phase);
	assert_int_equal(a->number, b->number);
	assert_int_equal(a->n_changes, b->n_changes);
	assert_int_equal(a->n_evals, b->n_evals);
	assert_int_equal(a->n_cands, b->n_cands);
	assert_int_equal(a->n_cases, b->n_cases);
	assert_int_equal(a->n_traces, b->n_traces);
	assert_int_equal(a->best_eval, b->best_eval);
	assert_true(a->train == b->train && a->base == b->base && a->best == b->best);
	assert_true(a->val == b->val);
	same_text(a->structure, b->structure);
	for (size_t e = 0; e < a->n_evals; e++)
		assert_true(a->eval_score[e] == b->eval_score[e]);
	for (size_t i = 0; i < a->n_steps; i++) {
		assert_true(fabs(a->phi[i] - b->phi[i]) < 1e-12);
		same_text(a->prompt[i], b->prompt[i]);
		same_text(a->new_prompt[i], b->new_prompt[i]);
		assert_int_equal(a->new_demos[i], b->new_demos[i]);
		assert_int_equal(a->decision[i], b->decision[i]);
	}
	if (fabs(a->spent.cost_usd - b->spent.cost_usd) > 1e-12)
		fail_msg("spent $%.9f, then $%.9f", a->spent.cost_usd, b->spent.cost_usd);
	if (exact) {
		assert_int_equal(a->spent.calls, b->spent.calls);
		assert_int_equal(a->spent.tokens_in, b->spent.tokens_in);
		assert_int_equal(a->spent.tokens_out, b->spent.tokens_out);
	}
}

/* Nothing was asked of the LLM layer since the session was opened. */
static void nothing_sent(struct rig *g)
{
	struct llm_stats st;
	llm_get_stats(g->l, &st);
	assert_int_equal(st.submitted, 0);
	assert_int_equal(st.done, 0);
	assert_true(st.cost_usd == 0);
}

/* The user's path: run to the proposal, accept one of its two changes, save, reopen.  The
 * reopened session shows the same proposal, the same decision made, the same spend, sends
 * nothing, and the decision can be undone; deciding the rest ends the iteration as it would
 * have ended without the reopening. */
static void test_reopen_proposal(void **state)
{
	(void)state;
	struct rig ref;
	rig_open(&ref, "hotpot-mini");
	run_and_decide(&ref);
	double kept = engine_current(ref.en)->kept_score;
	struct seen closed;
	seen_take(&ref, &closed);
	rig_close(&ref);

	struct rig g;
	rig_open(&g, "hotpot-mini");
	int query = session_step_index(g.s, "query"), answer = session_step_index(g.s, "answer");
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	char *old = xstrdup(g.s->steps[query].prompt);
	assert_int_equal(engine_accept(g.en, query), 0);
	struct seen before, after;
	seen_take(&g, &before);
	assert_int_equal(before.phase, PHASE_DECISION);
	assert_int_equal(before.n_changes, 2);
	assert_true(before.spent.cost_usd > 0);
	for (int round = 0; round < 2; round++) { /* reopened twice: nothing drifts */
		rig_reopen(&g);
		nothing_sent(&g);
		assert_int_equal(engine_resume(g.en), -1); /* nothing to replay */
		seen_take(&g, &after);
		seen_equal(&before, &after, true);
		seen_free(&after);
	}
	const struct iteration *it = engine_current(g.en);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(it->changes[c].by,
		                 it->changes[c].step == query ? DECIDER_USER : DECIDER_UNKNOWN);
	/* the decision made before the save can be undone, and made again */
	assert_int_equal(engine_undo(g.en), 0);
	assert_string_equal(g.s->steps[query].prompt, old);
	assert_int_equal(engine_undo(g.en), -1);
	assert_int_equal(engine_accept(g.en, query), 0);
	/* the rest decided: the iteration ends as the uninterrupted one did */
	assert_int_equal(engine_reject(g.en, answer), 0);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_true(it->kept_score == kept);
	seen_take(&g, &after);
	seen_equal(&closed, &after, true);
	nothing_sent(&g);
	seen_free(&after);
	seen_free(&before);
	seen_free(&closed);
	free(old);
	rig_close(&g);
}

/* An edited change, or a rejected one, comes back decided as it was, with the prompt it left,
 * and undo takes it back (the edit's version goes, the prompt before returns). */
static void test_reopen_edit_reject(void **state)
{
	(void)state;
	for (int edit = 0; edit < 2; edit++) {
		struct rig g;
		rig_open(&g, "hotpot-mini");
		int query = session_step_index(g.s, "query");
		assert_int_equal(engine_run_to_proposal(g.en), 0);
		drive(&g);
		char *old = xstrdup(g.s->steps[query].prompt);
		char *text =
		    xasprintf("Be brief.\n%s", engine_current(g.en)->changes[0].new_prompt);
		size_t nv0, nv;
		engine_versions(g.en, &nv0);
		if (edit)
			assert_int_equal(engine_edit(g.en, query, text), 0);
		else
			assert_int_equal(engine_reject(g.en, query), 0);
		struct seen before, after;
		seen_take(&g, &before);
		rig_reopen(&g);
		nothing_sent(&g);
		seen_take(&g, &after);
		seen_equal(&before, &after, true);
		const struct step_change *ch = &engine_current(g.en)->changes[0];
		assert_int_equal(ch->step, query);
		assert_int_equal(ch->decision, edit ? DECISION_EDIT : DECISION_REJECT);
		assert_string_equal(g.s->steps[query].prompt, edit ? text : old);
		if (edit)
			assert_string_equal(ch->edited, text);
		engine_versions(g.en, &nv);
		assert_int_equal(nv, nv0 + (size_t)edit);
		assert_int_equal(engine_undo(g.en), 0);
		assert_int_equal(ch->decision, DECISION_NONE);
		assert_string_equal(g.s->steps[query].prompt, old);
		engine_versions(g.en, &nv);
		assert_int_equal(nv, nv0);
		assert_int_equal(engine_undo(g.en), -1);
		seen_free(&before);
		seen_free(&after);
		free(old);
		free(text);
		rig_close(&g);
	}
}

/* Steps phase by phase until the iteration in progress has p next. */
static void step_to(struct rig *g, enum phase p)
{
	for (int i = 0; i <= PHASE_COUNT; i++) {
		const struct iteration *it = engine_current(g->en);
		if (it && it->phase == p)
			return;
		assert_int_equal(engine_step(g->en), 0);
		drive(g);
	}
	fail_msg("never reached phase %s", phase_name(p));
}

/* Saved before every phase (and once in the middle of one), reopened: the iteration stands
 * where it stopped, with its spend, and nothing is sent; run on to the proposal, it proposes
 * what the run that was never interrupted proposed, for the same money. */
static void test_reopen_every_phase(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	step_to(&g, PHASE_DECISION);
	struct seen want;
	seen_take(&g, &want);
	rig_close(&g);
	for (int p = PHASE_ANALYSIS; p <= PHASE_DECISION + 1; p++) {
		bool midway = p == PHASE_DECISION + 1; /* saved with selection in flight */
		enum phase at = midway ? PHASE_SELECTION : (enum phase)p;
		rig_open(&g, "hotpot-mini");
		step_to(&g, at);
		struct seen before, after;
		seen_take(&g, &before);
		if (midway) {
			assert_int_equal(engine_step(g.en), 0);
			for (int k = 0; k < 3 && engine_busy(g.en); k++) {
				assert_true(llm_wait(g.l, NULL, 0, 100) >= 0);
				engine_poll(g.en);
			}
			assert_true(engine_busy(g.en));
		}
		rig_reopen(&g);
		nothing_sent(&g);
		assert_int_equal(engine_resume(g.en), -1);
		seen_take(&g, &after);
		if (!midway)
			seen_equal(&before, &after, true);
		assert_int_equal(after.phase, at);
		seen_free(&before);
		seen_free(&after);
		step_to(&g, PHASE_DECISION);
		seen_take(&g, &after);
		if (midway) {
			/* answers that had come back but were not yet delivered when the save's
			 * engine went away are in the response cache and not in the spend (the
			 * LLM layer books an answer when it delivers it): never more money */
			assert_true(after.spent.cost_usd <= want.spent.cost_usd + 1e-12);
			after.spent = want.spent;
		}
		seen_equal(&want, &after, false);
		seen_free(&after);
		rig_close(&g);
	}
	seen_free(&want);
}

/* Iteration 2 stepped to its selection under the prompts iteration 1 accepted, then a version
 * restored (the prompts change mid-iteration), saved and reopened: the iteration goes on from
 * its selection as the one never saved does (no phase runs again under other prompts), and
 * the file as an older adopt-tui wrote it (no record) is not replayed at all. */
static void to_second_selection(struct rig *g)
{
	run_and_decide(g);
	step_to(g, PHASE_SELECTION);
	assert_int_equal(engine_current(g->en)->number, 2);
	assert_int_equal(engine_restore_version(g->en, session_step_index(g->s, "query"), 1), 0);
}

static void test_reopen_prompts_changed(void **state)
{
	(void)state;
	struct rig twin, g;
	rig_open(&twin, "hotpot-mini");
	to_second_selection(&twin);
	step_to(&twin, PHASE_DECISION);
	struct seen want, got;
	seen_take(&twin, &want);
	rig_close(&twin);

	rig_open(&g, "hotpot-mini");
	to_second_selection(&g);
	rig_reopen(&g);
	nothing_sent(&g);
	assert_int_equal(engine_current(g.en)->phase, PHASE_SELECTION);
	step_to(&g, PHASE_DECISION);
	seen_take(&g, &got);
	seen_equal(&want, &got, false);
	seen_free(&got);

	/* without the record: the iteration made a version, so it cannot be replayed */
	rig_close(&g);
	rig_open(&g, "hotpot-mini");
	to_second_selection(&g);
	engine_store(g.en);
	cJSON_DeleteItemFromObjectCaseSensitive(session_section(g.s, "state"), "record");
	rig_reload_as_edited(&g);
	assert_int_equal(engine_iterations(g.en), 1); /* the closed one only */
	assert_int_equal(engine_current(g.en)->phase, PHASE_COUNT);
	assert_int_equal(engine_resume(g.en), -1);
	nothing_sent(&g);
	/* and says so, naming the step and the version made */
	assert_non_null(engine_reopen_note(g.en));
	assert_non_null(strstr(engine_reopen_note(g.en), "iteration 2 is not resumed: step query "
	                                                 "got prompt version 3 during it"));
	assert_non_null(strstr(engine_reopen_note(g.en), "no record"));
	seen_free(&want);
	rig_close(&g);
}

/* Saved without the record (as an older adopt-tui wrote it) in iteration 2's selection, a step's
 * prompt then edited by hand in the file: replaying would run under a prompt the iteration
 * never ran with, so it is refused, naming the step; left as it was, it is replayed. */
static void test_reopen_hand_edited(void **state)
{
	(void)state;
	for (int edit = 0; edit < 2; edit++) {
		struct rig g;
		rig_open(&g, "hotpot-mini");
		run_and_decide(&g);
		step_to(&g, PHASE_SELECTION);
		engine_store(g.en);
		cJSON_DeleteItemFromObjectCaseSensitive(session_section(g.s, "state"), "record");
		int answer = session_step_index(g.s, "answer");
		if (edit) {
			char *hand =
			    xasprintf("%s\nAnswer in one word.", g.s->steps[answer].prompt);
			free(g.s->steps[answer].prompt);
			g.s->steps[answer].prompt = hand;
		}
		rig_reload_as_edited(&g);
		nothing_sent(&g);
		if (edit) {
			assert_int_equal(engine_iterations(g.en), 1);
			assert_int_equal(engine_resume(g.en), -1);
			assert_non_null(engine_reopen_note(g.en));
			assert_non_null(
			    strstr(engine_reopen_note(g.en),
			           "iteration 2 is not resumed: step answer's prompt in "
			           "the file is not its version"));
		} else {
			assert_null(engine_reopen_note(g.en));
			assert_int_equal(engine_iterations(g.en), 2);
			assert_int_equal(engine_resume(g.en), 0);
			drive(&g);
			assert_int_equal(engine_current(g.en)->phase, PHASE_SELECTION);
		}
		rig_close(&g);
	}
}

/* A finished iteration's record damaged field by field (a score that is not a number, changes
 * that are not a list, a decision that is not a string): the session opens, the note names each
 * field by its path (two, then how many), the loader warns of every one (for --check), and the
 * record is written back as it was (nothing is lost by opening it). */
static void test_reopen_damaged_fields(void **state)
{
	(void)state;
	struct rig g;
	cJSON *it0 = rig_decided_record(&g);
	cJSON *ev1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it0, "evaluations"), 1);
	assert_non_null(ev1);
	cJSON_ReplaceItemInObjectCaseSensitive(ev1, "score", cJSON_CreateString("0.5"));
	rig_reload_as_edited(&g);
	nothing_sent(&g);
	assert_int_equal(engine_iterations(g.en), 1);
	assert_non_null(engine_reopen_note(g.en));
	assert_string_equal(engine_reopen_note(g.en),
	                    "damaged record: history.iterations[0].evaluations[1].score: not a "
	                    "number (read as missing)");
	assert_int_equal(g.s->warnings.n, 1);
	assert_non_null(strstr(g.s->warnings.msgs[0],
	                       "history.iterations[0].evaluations[1].score: not a number"));
	/* more: two named, the count */
	it0 = history_first(&g);
	cJSON_ReplaceItemInObjectCaseSensitive(it0, "changes", cJSON_CreateNumber(7));
	cJSON_ReplaceItemInObjectCaseSensitive(it0, "structure", cJSON_CreateTrue());
	rig_reload_as_edited(&g);
	nothing_sent(&g);
	assert_string_equal(engine_reopen_note(g.en),
	                    "damaged record: history.iterations[0].structure: not a string, "
	                    "history.iterations[0].changes: not a list, ... (read as missing; 3 "
	                    "fields in all, --check lists them)");
	assert_int_equal(g.s->warnings.n, 3);
	/* written back as it was */
	rig_reopen(&g);
	it0 = history_first(&g);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(it0, "changes")));
	ev1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it0, "evaluations"), 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ev1, "score")->valuestring, "0.5");
	rig_close(&g);
}

/* An object where a list belongs (evaluations, changes) reads as missing, as the note says,
 * even when its members look like items (cJSON's array walkers would take them as such). */
static void test_reopen_object_for_list(void **state)
{
	(void)state;
	struct rig g;
	cJSON *it0 = rig_decided_record(&g);
	const char *const lists[] = {"evaluations", "changes"};
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(it0, lists[k]);
		assert_true(cJSON_GetArraySize(list) > 0);
		cJSON *obj = cJSON_CreateObject();
		cJSON_AddItemToObject(obj, "x", cJSON_DetachItemFromArray(list, 0));
		cJSON_Delete(list);
		cJSON_AddItemToObject(it0, lists[k], obj);
	}
	rig_reload_as_edited(&g);
	nothing_sent(&g);
	assert_non_null(strstr(engine_reopen_note(g.en), "evaluations: not a list"));
	const struct iteration *it = engine_iteration(g.en, 0);
	assert_int_equal(it->n_evals, 0);
	assert_int_equal(it->n_changes, 0);
	rig_close(&g);
}

/* An older file (no record) saved after its selection, reopened and replayed from the response
 * cache: the replay's memo hits, deduplicated requests and reused tokens are those the spend
 * already holds, so every count (and the money) is what it was before the reopening. */
static void test_replay_counts_once(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "chain5");
	step_to(&g, PHASE_SHAPLEY);
	struct engine_totals before, after;
	engine_spent(g.en, &before);
	assert_true(before.memo_hits > 0);
	engine_store(g.en);
	cJSON_DeleteItemFromObjectCaseSensitive(session_section(g.s, "state"), "record");
	rig_reload_as_edited(&g);
	assert_null(engine_reopen_note(g.en));
	assert_int_equal(engine_resume(g.en), 0);
	drive(&g);
	assert_int_equal(engine_current(g.en)->phase, PHASE_SHAPLEY);
	engine_spent(g.en, &after);
	assert_int_equal(after.calls, before.calls);
	assert_int_equal(after.cached, before.cached);
	assert_int_equal(after.memo_hits, before.memo_hits);
	assert_int_equal(after.avoided, before.avoided);
	assert_int_equal(after.tokens_in, before.tokens_in);
	assert_int_equal(after.tokens_out, before.tokens_out);
	assert_int_equal(after.tokens_reused, before.tokens_reused);
	assert_true(fabs(after.cost_usd - before.cost_usd) < 1e-12);
	rig_close(&g);
}

/* An unfinished iteration whose number does not follow the history's last (a file edited or
 * pieced together) is not resumed, and the note says which number it must be. */
static void test_reopen_number_follows(void **state)
{
	(void)state;
	static const int numbers[] = {1, 3, 7};
	for (size_t k = 0; k < ARRAY_SIZE(numbers); k++) {
		struct rig g;
		rig_open(&g, "hotpot-mini");
		run_and_decide(&g);
		step_to(&g, PHASE_SELECTION);
		engine_store(g.en);
		cJSON *st = session_section(g.s, "state");
		cJSON_ReplaceItemInObjectCaseSensitive(st, "iteration",
		                                       cJSON_CreateNumber(numbers[k]));
		cJSON *rec = cJSON_GetObjectItemCaseSensitive(st, "record");
		cJSON_ReplaceItemInObjectCaseSensitive(rec, "number",
		                                       cJSON_CreateNumber(numbers[k]));
		rig_reload_as_edited(&g);
		nothing_sent(&g);
		assert_int_equal(engine_iterations(g.en), 1);
		assert_int_equal(engine_current(g.en)->phase, PHASE_COUNT);
		assert_int_equal(engine_resume(g.en), -1);
		char *want =
		    xasprintf("state.iteration is %d, but the history's last iteration is 1 "
		              "(it must be 2)",
		              numbers[k]);
		assert_non_null(engine_reopen_note(g.en));
		assert_non_null(strstr(engine_reopen_note(g.en), want));
		free(want);
		rig_close(&g);
	}
}

/* A damaged record (an index past the traces, a sample that is not a list, another
 * iteration's number, an evaluation past the list, a change without its new prompt) is never
 * used: the iteration is not restored from it, nothing crashes,
 * and since the proposal had a change accepted, nothing is replayed either. */
static void test_reopen_damaged_record(void **state)
{
	(void)state;
	static const char *const keys[] = {"bad", "validation", "number", "best_evaluation",
	                                   "changes"};
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		struct rig g;
		rig_open(&g, "hotpot-mini");
		assert_int_equal(engine_run_to_proposal(g.en), 0);
		drive(&g);
		assert_int_equal(engine_accept(g.en, session_step_index(g.s, "query")), 0);
		engine_store(g.en);
		cJSON *r =
		    cJSON_GetObjectItemCaseSensitive(session_section(g.s, "state"), "record");
		assert_non_null(r);
		cJSON *bad = k == 0   ? cJSON_CreateIntArray((const int[]){0, 100000}, 2)
		             : k == 1 ? cJSON_CreateString("all")
		             : k == 2 ? cJSON_CreateNumber(7)
		             : k == 3 ? cJSON_CreateNumber(5000)
		                      : cJSON_Parse("[{\"step\": \"query\", \"old\": \"x\", "
		                                    "\"decision\": \"accepted\"}]");
		assert_true(cJSON_ReplaceItemInObjectCaseSensitive(r, keys[k], bad));
		rig_reload_as_edited(&g);
		assert_int_equal(engine_iterations(g.en), 0);
		assert_int_equal(engine_resume(g.en), -1);
		nothing_sent(&g);
		rig_close(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_print_style),
	    cmocka_unit_test(test_order_keys),
	    cmocka_unit_test(test_examples_stable),
	    cmocka_unit_test(test_reopen_identical),
	    cmocka_unit_test(test_choice_out_of_range),
	    cmocka_unit_test(test_evidence_saved),
	    cmocka_unit_test(test_trace_history),
	    cmocka_unit_test(test_measured_scores),
	    cmocka_unit_test(test_who_decided),
	    cmocka_unit_test(test_version_demos),
	    cmocka_unit_test(test_nothing_to_optimize),
	    cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_changed_on_disk),
	    cmocka_unit_test(test_saveas_rebase),
	    cmocka_unit_test(test_reopen_proposal),
	    cmocka_unit_test(test_reopen_every_phase),
	    cmocka_unit_test(test_reopen_edit_reject),
	    cmocka_unit_test(test_reopen_prompts_changed),
	    cmocka_unit_test(test_reopen_damaged_record),
	    cmocka_unit_test(test_reopen_hand_edited),
	    cmocka_unit_test(test_reopen_number_follows),
	    cmocka_unit_test(test_reopen_damaged_fields),
	    cmocka_unit_test(test_reopen_object_for_list),
	    cmocka_unit_test(test_replay_counts_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

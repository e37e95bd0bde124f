/* test_engine_shapley.c: the Shapley phase inside the engine, with the scripted provider on
 * tests/data/engine/two.json and on generated chains of m LLM steps: kernel mode evaluates
 * nothing beyond selection (counted), exact mode evaluates exactly what it announced, the
 * default eval_budget grows with m, a small one is warned about, and credit exists for every
 * step of a 20-step and of a 70-step chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "engine/engine.h"
#include "engine/phases.h"
#include "engine_fixture.h"

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
	int evals_in[PHASE_COUNT]; /* EV_EVAL_DONE per phase */
	int errors;
};

static void on_event(void *arg, const struct engine_event *ev)
{
	struct rig *g = arg;
	if (ev->kind == EV_EVAL_DONE)
		g->evals_in[ev->phase]++;
	if (ev->kind == EV_ERROR)
		g->errors++;
}

static int m_steps;     /* the chain's LLM steps for patch_chain */
static int eval_budget; /* 0: leave the session's (or the default) */

/* two.json with m - 2 relay steps between "find" and "answer"; each relay copies the key word
 * (the scripted rules answer "Copy the last word" prompts with the word) and gets one
 * candidate from the generic optimizer rule. eval_budget removed or set. */
static void patch_chain(struct fx *f, const char *file)
{
	cJSON *steps = cJSON_CreateArray();
	cJSON *find = cJSON_CreateObject();
	cJSON_AddStringToObject(find, "id", "find");
	cJSON_AddStringToObject(find, "type", "llm");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(find, "inputs"), "q", "input.question");
	cJSON_AddStringToObject(find, "prompt", "Find the key word in: {{q}}\nKey word:");
	cJSON_AddItemToArray(steps, find);
	char prev[24] = "find";
	for (int k = 1; k <= m_steps - 2; k++) {
		char id[24], from[48];
		snprintf(id, sizeof id, "relay%d", k);
		snprintf(from, sizeof from, "steps.%s.output", prev);
		cJSON *st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "id", id);
		cJSON_AddStringToObject(st, "type", "llm");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(st, "inputs"), "w", from);
		cJSON_AddStringToObject(st, "prompt",
		                        "Copy the last word.\nKey word: {{w}}\nAnswer:");
		cJSON_AddItemToArray(steps, st);
		snprintf(prev, sizeof prev, "%s", id);
	}
	cJSON *ans = cJSON_CreateObject();
	char from[48];
	snprintf(from, sizeof from, "steps.%s.output", prev);
	cJSON_AddStringToObject(ans, "id", "answer");
	cJSON_AddStringToObject(ans, "type", "llm");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ans, "inputs"), "w", from);
	cJSON_AddStringToObject(ans, "prompt",
	                        "Turn the key word into the answer.\nKey word: {{w}}\nAnswer:");
	cJSON_AddItemToArray(steps, ans);
	if (m_steps > 2)
		fx_patch(f, file, "pipeline.steps", steps);
	else
		cJSON_Delete(steps);
	fx_patch(f, file, "optimizer.budget_total", cJSON_CreateNumber(2 * m_steps + 2));
	if (eval_budget) {
		fx_patch(f, file, "optimizer.eval_budget", cJSON_CreateNumber(eval_budget));
	} else { /* the default */
		char *p = fx_path(f, file);
		struct err e = {{0}};
		size_t n;
		char *text = NULL;
		assert_int_equal(file_read(p, 1 << 22, &text, &n, &e), 0);
		cJSON *root = cJSON_Parse(text);
		cJSON_DeleteItemFromObject(cJSON_GetObjectItem(root, "optimizer"), "eval_budget");
		char *out = cJSON_Print(root);
		fx_write(p, out, strlen(out));
		cJSON_free(out);
		cJSON_Delete(root);
		free(text);
		free(p);
	}
}

static void rig_open(struct rig *g, int m, int budget)
{
	memset(g, 0, sizeof *g);
	m_steps = m;
	eval_budget = budget;
	fx_init(&g->f, FX_DATA);
	patch_chain(&g->f, "two.json");
	g->s = fx_load(&g->f, "two.json");
	g->l = fx_llm(&g->f, NULL);
	struct err e = {{0}};
	struct engine_opts o = {0};
	g->en = engine_new(g->s, g->l, &o, on_event, g, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
}

static void rig_close(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

static void drive_phase(struct rig *g)
{
	for (int i = 0; i < 100000 && engine_busy(g->en); i++) {
		assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
	assert_false(engine_busy(g->en));
	engine_poll(g->en);
}

/* Steps phase by phase until the iteration's next phase is p. */
static const struct iteration *step_until(struct rig *g, enum phase p)
{
	for (int i = 0; i < PHASE_COUNT + 1; i++) {
		const struct iteration *it = engine_current(g->en);
		if (it && it->phase == p)
			return it;
		assert_int_equal(engine_step(g->en), 0);
		drive_phase(g);
	}
	fail_msg("never reached phase %s", phase_name(p));
	return NULL;
}

static int players(const struct iteration *it, const struct session *s)
{
	int m = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		m += it->n_cands[i] > 0;
	return m;
}

/* Through selection; then the Shapley phase, checking it evaluates what it announced. */
static const struct iteration *run_shapley(struct rig *g)
{
	const struct iteration *it = step_until(g, PHASE_SHAPLEY);
	assert_true(it->n_bad > 0);
	size_t before = it->n_evals;
	long announced = phases_shapley_extra(g->en, it);
	it = step_until(g, PHASE_ALLOCATION);
	assert_int_equal(it->n_evals - before, announced);
	assert_int_equal(g->evals_in[PHASE_SHAPLEY], announced);
	assert_int_equal(it->shapley_extra, announced);
	for (size_t i = 0; i < g->s->n_steps; i++)
		assert_true(isfinite(it->phi[i]) && isfinite(it->phi_sd[i]));
	return it;
}

static bool warned(const struct session *s, const char *what)
{
	for (size_t i = 0; i < s->warnings.n; i++)
		if (strstr(s->warnings.msgs[i], what))
			return true;
	return false;
}

static void test_kernel_evaluates_nothing(void **state)
{
	(void)state;
	/* 5 steps, default eval_budget (12): 2^5 > 13, kernel; selection evaluated 12 */
	struct rig g;
	rig_open(&g, 5, 0);
	assert_int_equal(g.s->opt.eval_budget, 12);
	assert_false(warned(g.s, "eval_budget"));
	const struct iteration *it = run_shapley(&g);
	assert_string_equal(it->shapley_method, "kernel");
	assert_int_equal(it->shapley_extra, 0);
	assert_int_equal(g.evals_in[PHASE_SHAPLEY], 0);
	assert_int_equal(it->n_evals, g.evals_in[PHASE_SELECTION]);
	assert_true(it->n_evals <= 12);
	rig_close(&g);
}

static void test_exact_announces(void **state)
{
	(void)state;
	/* 2 steps, eval_budget 3: the search evaluates the incumbent and each step alone; exact
	 * (4 <= 3 + 1) buys the all-best configuration, one extra evaluation, announced first */
	struct rig g;
	rig_open(&g, 2, 3);
	assert_true(warned(g.s, "optimizer.eval_budget 3 is below the 2 steps + 2"));
	assert_non_null(strstr(g.s->warnings.msgs[g.s->warnings.n - 1], "two.json:"));
	const struct iteration *it = step_until(&g, PHASE_SHAPLEY);
	assert_int_equal(players(it, g.s), 2);
	assert_int_equal(it->n_evals, 3);
	assert_int_equal(phases_shapley_extra(g.en, it), 1);
	it = run_shapley(&g);
	assert_string_equal(it->shapley_method, "exact");
	assert_int_equal(it->shapley_extra, 1);
	rig_close(&g);
}

static void test_many_steps(void **state)
{
	(void)state;
	/* m = 20: the default budget is m + 6 = 26, enough for every step alone and the all-best;
	 * kernel, nothing extra, every step credited (none left at a silent zero: the fit uses
	 * each step's own evaluation) */
	struct rig g;
	rig_open(&g, 20, 0);
	assert_int_equal(g.s->opt.eval_budget, 26);
	const struct iteration *it = run_shapley(&g);
	assert_int_equal(players(it, g.s), 20);
	assert_string_equal(it->shapley_method, "kernel");
	assert_int_equal(it->shapley_extra, 0);
	assert_false(it->shapley_underdetermined);
	assert_null(it->shapley_note);
	rig_close(&g);

	/* the old default of 12 for the same chain: warned, under-determined and said so, still
	 * nothing evaluated beyond selection */
	rig_open(&g, 20, 12);
	assert_true(warned(g.s, "eval_budget 12 is below the 20 steps + 2"));
	it = run_shapley(&g);
	assert_string_equal(it->shapley_method, "kernel");
	assert_int_equal(it->shapley_extra, 0);
	assert_int_equal(it->n_evals, 12);
	assert_true(it->shapley_underdetermined);
	assert_non_null(strstr(it->shapley_note, "under-determined"));
	assert_non_null(strstr(it->shapley_note, "not evaluated"));
	rig_close(&g);

	/* past 64 steps (two words a coalition): m = 70, default budget 76 */
	rig_open(&g, 70, 0);
	assert_int_equal(g.s->opt.eval_budget, 76);
	it = run_shapley(&g);
	assert_int_equal(players(it, g.s), 70);
	assert_string_equal(it->shapley_method, "kernel");
	assert_int_equal(it->shapley_extra, 0);
	assert_false(it->shapley_underdetermined);
	rig_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kernel_evaluates_nothing),
	    cmocka_unit_test(test_exact_announces),
	    cmocka_unit_test(test_many_steps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

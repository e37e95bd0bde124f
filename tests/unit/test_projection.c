/* test_projection.c: the cost projection against what the phases then cost, on fixed sessions
 * with the scripted model (deterministic): examples/hotpot-mini and examples/chain5 run three
 * iterations; from the second on, every whole iteration is projected within +-15 % of its money
 * and every phase within +-25 %; the role phases' calls exactly; projecting spends nothing; a
 * forward pass the memo will answer is projected as the calls it then makes; a fresh session's
 * first iteration within +-15 %, its forward pass exactly; the spend chart's projection of
 * 1..n iterations in one walk is each count's own projection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "engine/engine.h"
#include "engine_fixture.h"
#include "llm_server.h"

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
};

/* train_first > 0: the training split is the example's first train_first examples, inline */
static void rig_open_as(struct rig *g, const char *example, bool auto_accept, int train_first)
{
	memset(g, 0, sizeof *g);
	char *src = xasprintf("examples/%s", example);
	fx_init(&g->f, src);
	free(src);
	if (train_first > 0) {
		char *path = xasprintf("examples/%s/train.jsonl", example);
		FILE *fp = fopen(path, "r");
		assert_non_null(fp);
		cJSON *a = cJSON_CreateArray();
		char line[8192];
		for (int k = 0; k < train_first && fgets(line, sizeof line, fp); k++)
			cJSON_AddItemToArray(a, cJSON_Parse(line));
		fclose(fp);
		free(path);
		fx_patch(&g->f, "session.json", "dataset.train", a);
	}
	g->s = fx_load(&g->f, "session.json");
	g->l = fx_llm(&g->f, "session.cache.jsonl");
	struct engine_opts o = {.auto_accept = auto_accept};
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &o, NULL, NULL, &e);
	assert_non_null(g->en);
	engine_set_patience(g->en, 0);
}

static void rig_open(struct rig *g, const char *example)
{
	rig_open_as(g, example, true, 0);
}

/* As rig_open, with every model of the session answered by the test server on port from the
 * example's rules (provider openai: the projection does not know its answers in advance). */
static void rig_open_server(struct rig *g, const char *example, int port)
{
	memset(g, 0, sizeof *g);
	char *src = xasprintf("examples/%s", example);
	fx_init(&g->f, src);
	free(src);
	const char *const models[] = {"task", "optimizer"};
	char *base = xasprintf("http://127.0.0.1:%d/v1", port);
	for (size_t i = 0; i < 2; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "provider", "openai");
		cJSON_AddStringToObject(m, "base_url", base);
		cJSON_AddStringToObject(m, "model", models[i]);
		cJSON_AddNumberToObject(m, "price_in", i ? 2.5 : 0.15);
		cJSON_AddNumberToObject(m, "price_out", i ? 10 : 0.6);
		char *path = xasprintf("models.%s", models[i]);
		fx_patch(&g->f, "session.json", path, m);
		free(path);
	}
	free(base);
	g->s = fx_load(&g->f, "session.json");
	g->l = fx_llm(&g->f, "session.cache.jsonl");
	struct engine_opts o = {.auto_accept = true};
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &o, NULL, NULL, &e);
	assert_non_null(g->en);
	engine_set_patience(g->en, 0);
}

static void rig_close(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

static void drive(struct rig *g)
{
	fx_drive(g->en, g->l);
}

static bool within(double proj, double actual, double tol)
{
	return fabs(proj - actual) <= tol * actual + 1e-9;
}

/* Runs 3 iterations and checks the projections made as each phase started.  miss: a phase (of
 * iteration miss_iter, or 0: of both) known to fall outside +-25 %, checked within +-`miss_tol`
 * instead. */
static void check_example(const char *example, int miss_iter, enum phase miss, double miss_tol)
{
	struct rig g;
	rig_open(&g, example);
	assert_int_equal(engine_run(g.en, 3), 0);
	drive(&g);
	assert_int_equal(engine_iterations(g.en), 3);
	for (size_t i = 1; i < 3; i++) {
		const struct iteration *it = engine_iteration(g.en, i);
		double proj = 0, actual = 0;
		for (int p = 0; p < PHASE_DECISION; p++) {
			const struct phase_cost *c = &it->cost[p];
			proj += c->projected_usd, actual += c->cost_usd;
			bool known = (!miss_iter || it->number == miss_iter) && p == (int)miss;
			double tol = known ? miss_tol : 0.25;
			if (!within(c->projected_usd, c->cost_usd, tol))
				fail_msg("%s iteration %d %s: projected $%.5f, cost $%.5f", example,
				         it->number, phase_name((enum phase)p), c->projected_usd,
				         c->cost_usd);
			/* the calls themselves: the role phases exactly, the pipeline's closely */
			if (p >= PHASE_ANALYSIS && p <= PHASE_CANDIDATES &&
			    c->projected_calls != c->calls)
				fail_msg("%s iteration %d %s: projected %ld calls, made %ld",
				         example, it->number, phase_name((enum phase)p),
				         c->projected_calls, c->calls);
			assert_true(c->projected_cached <= c->projected_calls);
		}
		if (!within(proj, actual, 0.15))
			fail_msg("%s iteration %d: projected $%.5f, cost $%.5f", example,
			         it->number, proj, actual);
	}
	rig_close(&g);
}

/* Every phase: the scripted model's answers are known to the projection (through the test
 * server, hotpot-mini's iteration 2 selection is not: bench/README.md section 11). */
static void test_hotpot_within_targets(void **state)
{
	(void)state;
	check_example("hotpot-mini", 0, PHASE_COUNT, 0.25);
}

static void test_chain5_within_targets(void **state)
{
	(void)state;
	check_example("chain5", 0, PHASE_COUNT, 0.25);
}

/* A fresh session's projection of its first iteration, before anything was measured, against
 * what that iteration then costs: the forward pass exactly (the scripted model's answers are
 * known), the whole iteration within +-15 %. */
static void check_fresh(const char *example)
{
	struct rig g;
	rig_open(&g, example);
	struct cost_projection per[PHASE_COUNT], total;
	engine_project(g.en, 1, per, &total);
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	const struct iteration *it = engine_iteration(g.en, 0);
	double actual = 0;
	for (int p = 0; p < PHASE_DECISION; p++)
		actual += it->cost[p].cost_usd;
	const struct phase_cost *fw = &it->cost[PHASE_FORWARD];
	assert_int_equal(per[PHASE_FORWARD].calls, fw->calls);
	assert_int_equal(per[PHASE_FORWARD].tokens_in, fw->tokens_in);
	assert_int_equal(per[PHASE_FORWARD].tokens_out, fw->tokens_out);
	print_message("%s: iteration 1 projected $%.5f, cost $%.5f\n", example, total.usd, actual);
	if (!within(total.usd, actual, 0.15))
		fail_msg("%s iteration 1: projected $%.5f on the fresh session, cost $%.5f",
		         example, total.usd, actual);
	rig_close(&g);
}

static void test_fresh_first_iteration(void **state)
{
	(void)state;
	check_fresh("hotpot-mini");
	check_fresh("dialogue-loop");
}

/* Projecting spends nothing, and after an iteration that changed nothing the next forward pass
 * is projected free (the memo answers it) as it then is. */
static void test_projection_spends_nothing(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	struct cost_projection per[PHASE_COUNT], total, next;
	engine_project(g.en, 3, per, &total);
	engine_project_next(g.en, &next);
	struct llm_stats st;
	llm_get_stats(g.l, &st);
	assert_int_equal(st.submitted, 0);
	assert_int_equal(st.network_requests, 0);
	assert_true(st.cost_usd == 0);
	/* 30 training examples x 2 LLM steps, nothing cached yet */
	assert_int_equal(next.calls, 60);
	assert_int_equal(next.cached, 0);
	assert_int_equal(per[PHASE_FORWARD].calls, 3 * 60);
	assert_true(total.tokens_in > 0 && total.tokens_out > 0 && total.usd > next.usd);
	long sum = 0;
	for (int p = 0; p < PHASE_COUNT; p++)
		sum += per[p].calls;
	assert_int_equal(sum, total.calls);
	/* the next forward pass repeats the last one where the prompts did not change */
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	const struct iteration *it = engine_current(g.en);
	engine_project_next(g.en, &next);
	bool changed = false;
	for (size_t c = 0; c < it->n_changes; c++)
		changed |= it->changes[c].decision == DECISION_ACCEPT;
	if (!changed) {
		assert_int_equal(next.calls, 0);
		assert_true(next.usd == 0);
	} else {
		assert_true(next.calls > 0);
	}
	long paid = next.calls - next.cached;
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	it = engine_current(g.en);
	assert_int_equal(it->cost[PHASE_FORWARD].calls - it->cost[PHASE_FORWARD].cached, paid);
	rig_close(&g);
}

/* dialogue-loop: after iteration 1, its validation sample is all good under the accepted
 * prompts, so iteration 2 is expected to find no bad case and change nothing, and iteration 3
 * repeats it from the memo: --run 2 is projected at what they spend (it was projected 2x, as if
 * iteration 3 ran changed prompts, and through the test server 94x, with iteration 1's share of
 * bad cases). */
static void test_quiet_iterations(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "dialogue-loop");
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	struct cost_projection total;
	engine_project(g.en, 2, NULL, &total);
	assert_int_equal(engine_run(g.en, 2), 0);
	drive(&g);
	assert_int_equal(engine_iterations(g.en), 3);
	double actual = 0;
	for (size_t i = 1; i < 3; i++)
		for (int p = 0; p < PHASE_DECISION; p++)
			actual += engine_iteration(g.en, i)->cost[p].cost_usd;
	print_message("iterations 2-3: projected $%.5f, cost $%.5f\n", total.usd, actual);
	assert_true(actual > 0);
	if (!within(total.usd, actual, 0.15))
		fail_msg("iterations 2-3: projected $%.5f, cost $%.5f", total.usd, actual);
	rig_close(&g);
}

/* engine_projection_each (the spend chart's one walk) gives what engine_projection_run gives
 * for each count, to the bit: on a fresh session, and on dialogue-loop after its first
 * iteration, whose next ones repeat it (project_repeat). */
static void check_each(struct engine *en)
{
	double each[4];
	engine_projection_each(en, 4, each);
	for (int k = 1; k <= 4; k++) {
		long calls;
		double usd;
		engine_projection_run(en, k, &calls, &usd);
		if (each[k - 1] != usd)
			fail_msg("%d iteration(s): each $%.17g, run $%.17g", k, each[k - 1], usd);
	}
	assert_true(each[0] > 0 && each[3] >= each[0]);
}

static void test_each_matches_run(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "hotpot-mini");
	check_each(g.en);
	rig_close(&g);
	rig_open(&g, "dialogue-loop");
	check_each(g.en);
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	check_each(g.en);
	rig_close(&g);
}

/* Through the test server, hotpot-mini's iterations 2 and 3: the candidates' queries give the
 * incumbent's entity names (as the query step's candidate prompts did in iteration 1's
 * selection, 26 of 36 times), so the selection walk takes the incumbent's recorded answers for
 * theirs at that share, and what reads them for the memo's (iteration 2 was projected 1.85x when
 * a candidate's answer was the step's latest, iteration 3 2.00x when every request reading a
 * stand-in was priced). */
static void server_run(const char *bin, const char *example, double tol, double *sel2)
{
	int port;
	char *rules = xasprintf("examples/%s/rules.json", example);
	pid_t pid = llm_server_spawn(bin, rules, NULL, &port);
	free(rules);
	assert_true(pid > 0);
	struct rig g;
	rig_open_server(&g, example, port);
	/* the projection prices the search's whole budget: the steady-proposal rule may end it
	 * sooner, on scores no projection knows beforehand */
	g.s->opt.steady_stop = false;
	assert_int_equal(engine_run(g.en, 3), 0);
	drive(&g);
	assert_int_equal(engine_iterations(g.en), 3);
	for (size_t i = 1; i < 3; i++) {
		const struct phase_cost *c = &engine_iteration(g.en, i)->cost[PHASE_SELECTION];
		print_message(
		    "%s iteration %zu selection: projected %ld calls $%.5f, made %ld $%.5f\n",
		    example, i + 1, c->projected_calls, c->projected_usd, c->calls, c->cost_usd);
		assert_true(c->cost_usd > 0);
		if (!within(c->projected_usd, c->cost_usd, tol))
			fail_msg("%s iteration %zu selection: projected $%.5f, cost $%.5f", example,
			         i + 1, c->projected_usd, c->cost_usd);
		if (i == 1)
			*sel2 = c->projected_usd;
	}
	rig_close(&g);
	llm_server_stop(pid);
}

/* Twice: the server's timing moves which requests count as repeated a little, and the walk's
 * draws are spread evenly (not by a hash of each key), so the projection does not swing with it
 * (it was 1.13x to 1.32x over five runs). */
static void test_server_repeated_answers(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_projection");
	if (!bin)
		skip();
	double a = 0, b = 0;
	/* its iteration 2 sits at 1.24 (bench/README.md 11d, which measures the +-25 % target over
	 * five runs): a little of the server's timing under load could tip it over, so the test
	 * guards against a regression (it was 1.85) at +-30 % */
	server_run(bin, "hotpot-mini", 0.30, &a);
	server_run(bin, "hotpot-mini", 0.30, &b);
	if (fabs(a - b) > 0.02 * b)
		fail_msg("iteration 2 selection projected $%.5f, then $%.5f", a, b);
}

/* chain5 through the test server: its candidates' answers mostly differ from the incumbent's
 * (its steps repeated 2 of 12 and 5 of 24 candidate-prompt requests in iteration 1), so the
 * selection walk takes the incumbent's answer only that often; iterations 2 and 3 within
 * +-25 %. */
static void test_server_candidates_differ(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_projection");
	if (!bin)
		skip();
	double a = 0;
	server_run(bin, "chain5", 0.25, &a);
}

/* A fresh session's --run 3 --dry-run as a range: iteration 1 its point, each later one between
 * "nothing accepted" (low) and "the proposal is accepted" (high) with the point inside; what
 * each iteration and the whole run then spend lies in the range (hotpot-mini and chain5 accept
 * nothing in iteration 2, dialogue-loop fixes everything in iteration 1: the point misses those
 * by 3x and 40x, the range holds them). */
static void check_range(const char *example)
{
	struct rig g;
	rig_open(&g, example);
	struct cost_projection total;
	struct projection_range r[4], all;
	assert_int_equal(engine_project_range(g.en, 3, NULL, r, &total, &all), 3);
	assert_true(r[0].low.usd == r[0].point.usd && r[0].high.usd == r[0].point.usd);
	assert_true(all.point.usd == total.usd && all.point.calls == total.calls);
	for (int i = 1; i < 3; i++) {
		assert_true(r[i].low.usd <= r[i].point.usd && r[i].point.usd <= r[i].high.usd);
		assert_true(r[i].low.usd < r[i].high.usd);
	}
	assert_int_equal(engine_run(g.en, 3), 0);
	drive(&g);
	assert_int_equal(engine_iterations(g.en), 3);
	double run = 0;
	for (size_t i = 0; i < 3; i++) {
		double actual = 0;
		for (int p = 0; p < PHASE_DECISION; p++)
			actual += engine_iteration(g.en, i)->cost[p].cost_usd;
		run += actual;
		print_message("%s iteration %zu: spent $%.5f, range [$%.5f, $%.5f]\n", example,
		              i + 1, actual, r[i].low.usd, r[i].high.usd);
		if (i > 0 && (actual < r[i].low.usd || actual > r[i].high.usd))
			fail_msg("%s iteration %zu: spent $%.5f, range [$%.5f, $%.5f]", example,
			         i + 1, actual, r[i].low.usd, r[i].high.usd);
	}
	if (run < all.low.usd || run > all.high.usd)
		fail_msg("%s: the run spent $%.5f, range [$%.5f, $%.5f]", example, run, all.low.usd,
		         all.high.usd);
	rig_close(&g);
}

static void test_range_holds_actual(void **state)
{
	(void)state;
	check_range("hotpot-mini");
	check_range("chain5");
	check_range("dialogue-loop");
}

/* dialogue-loop through the test server (its answers unknown to the projection): iteration 1's
 * selection runs the validation examples, which no walk has answers of, so the agent's answers
 * are stand-ins its stop condition never matches; each round stops at the share the forward pass
 * measured (1.26x: 77 calls projected for 63 made; it was 1.73x, 104 calls, every example
 * running all 4 rounds).  Iteration 1 is not under the +-25 % target (nothing of the validation
 * sample was run), hence +-30 %. */
static void test_loop_stop_rate(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_projection");
	if (!bin)
		skip();
	int port;
	pid_t pid = llm_server_spawn(bin, "examples/dialogue-loop/rules.json", NULL, &port);
	assert_true(pid > 0);
	struct rig g;
	rig_open_server(&g, "dialogue-loop", port);
	g.s->opt.steady_stop = false; /* the whole budget, as the projection prices it */
	assert_int_equal(engine_run(g.en, 2), 0);
	drive(&g);
	for (size_t i = 0; i < engine_iterations(g.en); i++) {
		const struct phase_cost *c = &engine_iteration(g.en, i)->cost[PHASE_SELECTION];
		const struct phase_cost *f = &engine_iteration(g.en, i)->cost[PHASE_FORWARD];
		print_message("iteration %zu forward: projected %ld calls $%.5f, made %ld $%.5f; "
		              "selection: projected %ld calls $%.5f, made %ld $%.5f\n",
		              i + 1, f->projected_calls, f->projected_usd, f->calls, f->cost_usd,
		              c->projected_calls, c->projected_usd, c->calls, c->cost_usd);
	}
	const struct phase_cost *c = &engine_iteration(g.en, 0)->cost[PHASE_SELECTION];
	assert_true(c->cost_usd > 0);
	if (!within(c->projected_usd, c->cost_usd, 0.30))
		fail_msg("iteration 1 selection: projected $%.5f, cost $%.5f", c->projected_usd,
		         c->cost_usd);
	rig_close(&g);
	llm_server_stop(pid);
}

/* An iteration after one whose proposal was rejected runs the same prompts on the same batch
 * (a training split of one example): its E1 and E2 requests are the last iteration's, answered by
 * the response cache, and the projection made as analysis starts says so (it priced E2 whenever the
 * analysis ran: paper-hotpotqa, bench/README.md 11d). */
static void test_rejected_repeats_analysis(void **state)
{
	(void)state;
	struct rig g;
	rig_open_as(&g, "hotpot-mini", false, 1);
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	const struct iteration *it = engine_iteration(g.en, 0);
	assert_true(it->n_changes > 0);
	for (size_t c = 0; c < it->n_changes; c++)
		assert_int_equal(engine_reject(g.en, it->changes[c].step), 0);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	const struct phase_cost *a = &engine_iteration(g.en, 1)->cost[PHASE_ANALYSIS];
	print_message("analysis: %ld calls, %ld cached, $%.5f; projected %ld, %ld cached, $%.5f\n",
	              a->calls, a->cached, a->cost_usd, a->projected_calls, a->projected_cached,
	              a->projected_usd);
	assert_true(a->cached > 0);
	assert_int_equal(a->projected_calls, a->calls);
	assert_int_equal(a->projected_cached, a->cached);
	assert_true(within(a->projected_usd, a->cost_usd, 0.25));
	rig_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loop_stop_rate),
	    cmocka_unit_test(test_hotpot_within_targets),
	    cmocka_unit_test(test_rejected_repeats_analysis),
	    cmocka_unit_test(test_chain5_within_targets),
	    cmocka_unit_test(test_projection_spends_nothing),
	    cmocka_unit_test(test_fresh_first_iteration),
	    cmocka_unit_test(test_quiet_iterations),
	    cmocka_unit_test(test_each_matches_run),
	    cmocka_unit_test(test_server_repeated_answers),
	    cmocka_unit_test(test_server_candidates_differ),
	    cmocka_unit_test(test_range_holds_actual),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

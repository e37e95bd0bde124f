/* test_eval_cap.c: the cost cap checked before each of selection's evaluations, each priced by
 * the projection of that one evaluation (memo and cache hits free), on a generated chain of
 * m = 12 steps with the scripted provider.  Step b loses the word on a third of its inputs; the
 * candidates of the first half of the steps give the incumbents' answers (what follows them
 * then answers from the memo), those of the second half change the answer.  With the cap set
 * once selection has started, at several heights, the engine stops launching evaluations and
 * pauses, and what it spent is within one evaluation's cost of the cap, on both sides: never
 * more than one evaluation over it, and never stopped while a whole evaluation still fitted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "engine_fixture.h"

#define M           12
#define N_VAL       24
#define EVAL_BUDGET 40

static void write_rules(const struct fx *f)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	const char *const lose3[] = {"${w}", "${w}", "none"};
	cJSON_AddItemToArray(
	    R, fx_rule("Describe the overall task", "<summary>Pass a word.</summary>", NULL));
	cJSON_AddItemToArray(
	    R, fx_rule("The step under analysis", "<dependency>Keep it.</dependency>", NULL));
	cJSON_AddItemToArray(
	    R, fx_rule("You are the loss function", "<loss>Wrong word.</loss>", NULL));
	cJSON_AddItemToArray(R, fx_rule("Explain why the final output went wrong",
	                                "<gradient>A step lost the word.</gradient>", NULL));
	cJSON_AddItemToArray(
	    R, fx_rule("You are assigning blame within", "<local>Lost.</local>", NULL));
	cJSON_AddItemToArray(R, fx_rule("(?s)You are writing a training "
	                                "example.*?<step_output>\\n(?<o>.*?)\\n</step_output>",
	                                "<revised>${o}</revised>", NULL));
	cJSON_AddItemToArray(R, fx_rule("(?s)improving the prompt of one "
	                                "step.*?<current_prompt>\\n(?<p>.*?)\\n</current_prompt>",
	                                "<prompt>Word only.\n${p}</prompt>", NULL));
	/* candidates: a to f answer as the incumbents do, g to l add a full stop */
	cJSON_AddItemToArray(R, fx_rule("(?s)^Word only\\.\\nStep [A-F]\\..*?(?:Text: Item \\d+: "
	                                "|Word: )(?<w>\\S+)",
	                                "${w}", NULL));
	cJSON_AddItemToArray(
	    R, fx_rule("(?s)^Word only\\.\\nStep [G-L]\\..*?Word: (?<w>\\S+)", "${w}.", NULL));
	cJSON_AddItemToArray(R, fx_rule("(?s)^Step B\\..*?Word: (?<w>\\S+)", NULL, lose3));
	cJSON_AddItemToArray(
	    R,
	    fx_rule("(?s)^Step [A-L]\\..*?(?:Text: Item \\d+: |Word: )(?<w>\\S+)", "${w}", NULL));
	cJSON_AddStringToObject(root, "fallback", "none");
	fx_write_json(f, "chain_rules.json", root);
}

static void add_examples(cJSON *ds, const char *split, int n, int first)
{
	cJSON *a = cJSON_AddArrayToObject(ds, split);
	for (int i = first; i < first + n; i++) {
		char id[32], q[64], w[40]; /* a word of its own: no two examples share a request */
		snprintf(w, sizeof w, "word%d", i);
		snprintf(id, sizeof id, "%s%d", split, i);
		snprintf(q, sizeof q, "Item %d: %s", i, w);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		cJSON_AddItemToArray(a, e);
	}
}

static void write_session(const struct fx *f, int eval_budget)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "chain12");
	cJSON *task = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "models"), "task");
	cJSON_AddStringToObject(task, "provider", "scripted");
	cJSON_AddStringToObject(task, "rules", "chain_rules.json");
	cJSON_AddNumberToObject(task, "price_in", 1.0);
	cJSON_AddNumberToObject(task, "price_out", 4.0);
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	for (int k = 0; k < M; k++) {
		cJSON *s = cJSON_CreateObject();
		char id[2] = {(char)('a' + k), 0}, prompt[96], from[32];
		cJSON_AddStringToObject(s, "id", id);
		cJSON_AddStringToObject(s, "type", "llm");
		cJSON_AddStringToObject(s, "model", "task");
		snprintf(from, sizeof from, "steps.%c.output", 'a' + k - 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "x",
		                        k ? from : "input.question");
		snprintf(prompt, sizeof prompt,
		         "Step %c. Pass the word on.\n%s: {{x}}\nOutput:", 'A' + k,
		         k ? "Word" : "Text");
		cJSON_AddStringToObject(s, "prompt", prompt);
		cJSON_AddItemToArray(steps, s);
	}
	cJSON_AddStringToObject(pl, "output", "l");
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	add_examples(ds, "train", 20, 1);
	add_examples(ds, "val", N_VAL, 101);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", 5);
	cJSON_AddNumberToObject(o, "batch_size", 12);
	cJSON_AddNumberToObject(o, "minibatch_good", 1);
	cJSON_AddNumberToObject(o, "minibatch_bad", 1);
	cJSON_AddNumberToObject(o, "val_size", N_VAL);
	cJSON_AddNumberToObject(o, "budget_total", M);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	cJSON_AddNumberToObject(o, "eval_budget", eval_budget);
	cJSON_AddBoolToObject(o, "steady_stop", false); /* every evaluation of the budget runs */
	cJSON_AddStringToObject(o, "step_optimizer", "instruct"); /* one candidate a step */
	cJSON_AddStringToObject(o, "role_model", "task");
	fx_write_json(f, "chain.json", root);
}

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
};

static void drive(struct rig *g)
{
	for (int i = 0; i < 100000 && engine_busy(g->en); i++) {
		assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
}

/* Opens the chain and runs one iteration with auto-accept until the engine stops; with
 * cap_usd > 0, that cost cap is set once selection has started (its own projection was checked
 * without a cap), so that only the check before each evaluation can hold it. */
static void run(struct rig *g, int eval_budget, double cap_usd)
{
	fx_init(&g->f, FX_DATA);
	write_rules(&g->f);
	write_session(&g->f, eval_budget);
	g->s = fx_load(&g->f, "chain.json");
	g->l = fx_llm(&g->f, NULL);
	struct engine_opts eo = {.auto_accept = true};
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &eo, NULL, NULL, &e);
	assert_non_null(g->en);
	while (cap_usd > 0 &&
	       (!engine_current(g->en) || engine_current(g->en)->phase < PHASE_SELECTION)) {
		assert_int_equal(engine_step(g->en), 0);
		drive(g);
	}
	if (cap_usd > 0) /* selection starts: its first evaluations */
		assert_int_equal(engine_step(g->en), 0);
	g->s->opt.cost_cap_usd = cap_usd;
	engine_run(g->en, 1);
	for (int i = 0; i < 100000 && engine_running(g->en); i++) {
		if (engine_busy(g->en))
			assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
	assert_false(engine_running(g->en));
}

static void done(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

/* What selection cost, run uncapped with the given budget (*before: the phases before it). */
static double selection_cost(int eval_budget, double *before, size_t *evals)
{
	struct rig g;
	run(&g, eval_budget, 0);
	const struct iteration *it = engine_current(g.en);
	assert_int_equal(it->phase, PHASE_COUNT);
	*evals = it->n_evals;
	*before = 0;
	for (int p = 0; p < PHASE_SELECTION; p++)
		*before += it->cost[p].cost_usd;
	double usd = it->cost[PHASE_SELECTION].cost_usd;
	done(&g);
	return usd;
}

static void test_cap_within_one_evaluation(void **state)
{
	(void)state;
	/* The search is deterministic and launches one evaluation at a time after its initial
	 * design (the incumbent, each step's candidate alone, all together: M + 2 of them, started
	 * at once as selection starts, before the cap below is set): what selection costs with a
	 * budget of b evaluations less what it costs with b - 1 is the actual cost of the b-th. */
	double before, cum[EVAL_BUDGET + 1] = {0}, dearest = 0;
	size_t evals;
	for (int b = M + 2; b <= EVAL_BUDGET; b++) {
		cum[b] = selection_cost(b, &before, &evals);
		assert_int_equal(evals, (size_t)b);
		if (b > M + 2)
			dearest = MAX(dearest, cum[b] - cum[b - 1]);
	}
	print_message("selection: $%.4f, its initial design $%.4f, the dearest evaluation after "
	              "it $%.4f\n",
	              cum[EVAL_BUDGET], cum[M + 2], dearest);
	int tried = 0;
	double worst = 0;
	for (int b = M + 3; b < EVAL_BUDGET; b++) { /* (after the last, Shapley's own check) */
		double one = cum[b] - cum[b - 1];
		if (one < dearest / 4)
			continue; /* (mostly) answered by the memo: no room to stop before it */
		/* the cap halfway through the b-th evaluation: the engine stops before or after it
		 */
		double cap_usd = before + (cum[b - 1] + cum[b]) / 2;
		struct rig g;
		run(&g, EVAL_BUDGET, cap_usd);
		const struct iteration *it = engine_current(g.en);
		struct engine_totals t;
		engine_totals(g.en, &t);
		const char *why = engine_pause_reason(g.en);
		assert_non_null(why);
		assert_non_null(strstr(why, "budget cap: the next evaluation"));
		assert_int_equal(it->phase, PHASE_SHAPLEY); /* selection ran, stopped by the cap */
		double spent = t.cost_usd - before;
		worst = MAX(worst, t.cost_usd - cap_usd);
		print_message("evaluation %d ($%.4f): cap $%.4f, spent $%.4f after %zu "
		              "evaluations\n",
		              b, one, cap_usd, t.cost_usd, it->n_evals);
		if (t.cost_usd > cap_usd + one + 1e-9)
			fail_msg("cap $%.4f: spent $%.4f, more than one evaluation ($%.4f) over",
			         cap_usd, t.cost_usd, one);
		if (spent < cum[b - 1] - 1e-9)
			fail_msg("cap $%.4f: stopped at $%.4f before evaluation %d, which fitted",
			         cap_usd, t.cost_usd, b - 1);
		tried++;
		done(&g);
	}
	assert_true(tried >= 3);
	print_message("worst overrun $%.4f, the dearest evaluation $%.4f\n", worst, dearest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_within_one_evaluation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_screening.c: selection's screening (optimizer.screen_size) on a generated 4-step chain
 * with the scripted provider: step b loses the word on a third of its inputs and its candidate
 * fixes it, d's candidate loses it on half, a's and c's candidates change nothing.  With and
 * without screening the same configuration (b's candidate alone) is chosen; with it, every
 * configuration is scored on the seeded subsample, only the leader and those that can still
 * beat it run in full, and fewer requests are sent.  And the cost cap, checked before each
 * evaluation, holds to within one evaluation where the selection phase's projection fell
 * short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "engine/engine.h"
#include "engine/phases.h"
#include "engine_fixture.h"

#define M     4
#define N_VAL 60

static const char *const words[] = {"apple",  "river",  "candle", "garden", "silver", "thunder",
                                    "pepper", "harbor", "window", "meadow", "lantern"};

/* When set ("159|160|5|6"): b's incumbent loses only the words of those examples. */
static char rare_loss[32];

static void write_rules(const struct fx *f)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	const char *const lose3[] = {"${w}", "${w}", "none"}, *const lose2[] = {"${w}.", "none",
	                                                                        "none"};
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
	/* candidates ("Word only." first): d's is harmful, the others pass the word on */
	cJSON_AddItemToArray(
	    R, fx_rule("(?s)^Word only\\.\\nStep D\\..*?Word: (?<w>\\S+)", NULL, lose2));
	cJSON_AddItemToArray(R, fx_rule("(?s)^Word only\\.\\nStep [A-D]\\..*?(?:Text: Item \\d+: "
	                                "|Word: )(?<w>\\S+)",
	                                "${w}.", NULL));
	/* incumbents: b's is lossy, the others pass the word on */
	char rare[96];
	snprintf(rare, sizeof rare, "(?s)^Step B\\..*?Word: [a-z]+(?:%s)\\b", rare_loss);
	if (*rare_loss)
		cJSON_AddItemToArray(R, fx_rule(rare, "none", NULL));
	else
		cJSON_AddItemToArray(R, fx_rule("(?s)^Step B\\..*?Word: (?<w>\\S+)", NULL, lose3));
	cJSON_AddItemToArray(
	    R,
	    fx_rule("(?s)^Step [A-D]\\..*?(?:Text: Item \\d+: |Word: )(?<w>\\S+)", "${w}", NULL));
	cJSON_AddStringToObject(root, "fallback", "none");
	fx_write_json(f, "chain_rules.json", root);
}

static void add_examples(cJSON *ds, const char *split, int n, int first)
{
	cJSON *a = cJSON_AddArrayToObject(ds, split);
	for (int i = first; i < first + n; i++) {
		char id[32], q[64], w[40]; /* a word of its own: no two examples share a request */
		snprintf(w, sizeof w, "%s%d", words[(size_t)i * 7 % (sizeof words / sizeof *words)],
		         i);
		snprintf(id, sizeof id, "%s%d", split, i);
		snprintf(q, sizeof q, "Item %d: %s", i, w);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		cJSON_AddItemToArray(a, e);
	}
}

static bool steady_stop;    /* optimizer.steady_stop of the chains written (off: the budget runs) */
static int eval_budget = 8; /* optimizer.eval_budget of the chains written */

static void write_session(const struct fx *f, int screen)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "chain4");
	cJSON *models = cJSON_AddObjectToObject(root, "models");
	cJSON *task = cJSON_AddObjectToObject(models, "task");
	cJSON_AddStringToObject(task, "provider", "scripted");
	cJSON_AddStringToObject(task, "rules", "chain_rules.json");
	cJSON_AddNumberToObject(task, "price_in", 1.0);
	cJSON_AddNumberToObject(task, "price_out", 4.0);
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	for (int k = 0; k < M; k++) {
		cJSON *s = cJSON_CreateObject();
		char id[2] = {(char)('a' + k), 0}, prompt[96];
		cJSON_AddStringToObject(s, "id", id);
		cJSON_AddStringToObject(s, "type", "llm");
		cJSON_AddStringToObject(s, "model", "task");
		char from[32];
		snprintf(from, sizeof from, "steps.%c.output", 'a' + k - 1);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "x",
		                        k ? from : "input.question");
		snprintf(prompt, sizeof prompt,
		         "Step %c. Pass the word on.\n%s: {{x}}\nOutput:", 'A' + k,
		         k ? "Word" : "Text");
		cJSON_AddStringToObject(s, "prompt", prompt);
		cJSON_AddItemToArray(steps, s);
	}
	cJSON_AddStringToObject(pl, "output", "d");
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	add_examples(ds, "train", 30, 1);
	add_examples(ds, "val", N_VAL, 101);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", 5);
	cJSON_AddNumberToObject(o, "batch_size", 20);
	cJSON_AddNumberToObject(o, "minibatch_good", 2);
	cJSON_AddNumberToObject(o, "minibatch_bad", 2);
	cJSON_AddNumberToObject(o, "val_size", N_VAL);
	cJSON_AddNumberToObject(o, "budget_total", M);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	cJSON_AddNumberToObject(o, "eval_budget", eval_budget);
	cJSON_AddStringToObject(o, "step_optimizer", "instruct"); /* one candidate a step */
	cJSON_AddNumberToObject(o, "screen_size", screen);
	cJSON_AddBoolToObject(o, "steady_stop", steady_stop);
	cJSON_AddStringToObject(o, "role_model", "task");
	fx_write_json(f, "chain.json", root);
}

struct outcome {
	int choice[M];
	long calls, saved;
	size_t configs; /* configurations evaluated, on any number of examples */
	double best;
	bool raced; /* b's candidate alone reached the top rung while the search still ran */
};

struct chain_rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
	size_t climbed_at; /* configurations screened when b's candidate alone reached the top
	                      rung (0: not yet) */
};

/* Notes how many configurations were screened when b's candidate alone came back from the top
 * rung of the screening: raced inside the search when the search screened more after it. */
static void on_event(void *arg, const struct engine_event *ev)
{
	struct chain_rig *g = arg;
	const struct iteration *it = g->en ? engine_current(g->en) : NULL;
	const int b_alone[M] = {0, 1, 0, 0};
	if (ev->kind != EV_EVAL_DONE || !it || !it->n_screen || ev->phase != PHASE_SELECTION ||
	    g->climbed_at)
		return;
	long e = phases_find_eval(it->screened, it->n_screened, b_alone, M);
	if (e >= 0 && it->screen_n[e] >= it->n_screen_pos)
		g->climbed_at = it->n_screened;
}

static void chain_drive(struct chain_rig *g)
{
	for (int i = 0; i < 100000 && engine_running(g->en); i++) {
		if (engine_busy(g->en))
			assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
	assert_false(engine_running(g->en));
}

/* Writes and opens the chain, runs one iteration with auto-accept until the engine stops;
 * with cap_usd > 0, that cost cap is set when the selection phase is next, or, with
 * cap_in_phase, once it has started (its own projection checked without a cap). */
static void chain_run_capped(struct chain_rig *g, int screen, double cap_usd, bool cap_in_phase)
{
	fx_init(&g->f, FX_DATA);
	write_rules(&g->f);
	write_session(&g->f, screen);
	g->s = fx_load(&g->f, "chain.json");
	g->l = fx_llm(&g->f, NULL);
	struct engine_opts eo = {.auto_accept = true};
	struct err e = {{0}};
	g->en = NULL, g->climbed_at = 0;
	g->en = engine_new(g->s, g->l, &eo, on_event, g, &e);
	assert_non_null(g->en);
	while (cap_usd > 0 &&
	       (!engine_current(g->en) || engine_current(g->en)->phase < PHASE_SELECTION)) {
		assert_int_equal(engine_step(g->en), 0);
		for (int i = 0; i < 100000 && engine_busy(g->en); i++) {
			assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
			engine_poll(g->en);
		}
	}
	if (cap_in_phase)
		assert_int_equal(engine_step(g->en),
		                 0); /* selection starts: its first evaluations */
	g->s->opt.cost_cap_usd = cap_usd;
	engine_run(g->en, 1);
	chain_drive(g);
}

static void chain_run(struct chain_rig *g, int screen, double cap_usd)
{
	chain_run_capped(g, screen, cap_usd, false);
}

static void chain_close(struct chain_rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

/* One iteration with auto-accept; checks the screening's records when screen > 0. */
static void run_chain(int screen, struct outcome *out)
{
	struct chain_rig g;
	chain_run(&g, screen, 0);
	struct engine *en = g.en;
	const struct iteration *it = engine_current(en);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_int_equal(it->n_val, N_VAL);
	assert_true(it->best_eval >= 0);
	memcpy(out->choice, it->evals[it->best_eval].choice, sizeof out->choice);
	out->best = it->best_score;
	struct engine_totals t;
	engine_totals(en, &t);
	out->calls = t.calls;
	out->saved = it->screen_saved;
	out->configs = screen ? it->n_screened : it->n_evals;
	out->raced = g.climbed_at && g.climbed_at < it->n_screened;
	if (screen * 3 > N_VAL || !screen) {
		assert_int_equal(it->n_screen, 0);
		assert_int_equal(it->n_screened, 0);
		assert_int_equal(it->n_evals, (size_t)eval_budget);
	} else {
		assert_int_equal(it->n_screen, (size_t)screen);
		/* the search's budget of 8 counts a configuration screened out a quarter: more
		 * configurations are screened, up to all 16 */
		assert_true(it->n_screened > 8 && it->n_screened <= 16);
		assert_true(it->n_evals >= 2 &&
		            it->n_evals <= it->n_screened); /* raced, promoted */
		/* the rungs: 10, then 20 (at most half of 60), then all 60; 20: 20, then all 60 */
		size_t top = (size_t)screen;
		while (2 * top <= N_VAL / 2)
			top *= 2;
		assert_int_equal(it->n_screen_pos, top);
		for (size_t k = 0; k < it->n_screen_pos; k++) { /* each rung's new ones in order */
			assert_true(it->screen_pos[k] < it->n_val);
			assert_true(k == 0 || k == it->n_screen ||
			            it->screen_pos[k] > it->screen_pos[k - 1]);
			for (size_t j = 0; j < k; j++)
				assert_true(it->screen_pos[j] != it->screen_pos[k]);
			assert_int_equal(it->screen_idx[k], it->val_idx[it->screen_pos[k]]);
		}
		size_t in_full = 0;
		for (size_t c = 0; c < it->n_screened; c++) {
			const struct evaluation *sv = &it->screened[c];
			size_t n = it->screen_n[c];
			assert_true(n == it->n_screen || n == it->n_screen_pos || n == it->n_val);
			in_full += n == it->n_val;
			n = MIN(n, it->n_screen_pos);
			double sum = 0;
			for (size_t k = 0; k < n; k++)
				sum += sv->scores[k];
			assert_true(fabs(sv->score - sum / (double)n) < 1e-12);
		}
		assert_int_equal(in_full, it->n_evals);
		/* every configuration run in full was screened, with the same rung scores */
		for (size_t e2 = 0; e2 < it->n_evals; e2++) {
			const struct evaluation *ev = &it->evals[e2];
			const struct evaluation *sv = NULL;
			for (size_t c = 0; c < it->n_screened && !sv; c++)
				if (!memcmp(it->screened[c].choice, ev->choice, sizeof(int) * M))
					sv = &it->screened[c];
			assert_non_null(sv);
			for (size_t k = 0; k < it->n_screen_pos; k++)
				assert_true(sv->scores[k] == ev->scores[it->screen_pos[k]]);
		}
		assert_true(it->screen_saved > 0);
		assert_non_null(it->phi); /* Shapley on the subsample */
	}
	chain_close(&g);
}

static void test_same_choice_fewer_requests(void **state)
{
	(void)state;
	struct outcome full, screened;
	run_chain(0, &full);
	run_chain(10, &screened);
	const int want[M] = {0, 1, 0, 0}; /* b's candidate alone */
	assert_memory_equal(full.choice, want, sizeof want);
	assert_memory_equal(screened.choice, want, sizeof want);
	assert_true(full.best == screened.best);
	assert_false(full.raced);
	assert_true(screened.raced); /* it beats the incumbent: raced while the search went on */
	if (screened.calls >= full.calls)
		fail_msg("screening sent %ld requests, the full evaluation %ld", screened.calls,
		         full.calls);
	/* requests saved, as reported: each configuration screened only, its subsample requests
	 * scaled to the whole sample.  The screened search looked at every configuration (16),
	 * so a full evaluation of all 16 measures it: within a quarter */
	struct outcome all;
	assert_int_equal(screened.configs, 16);
	eval_budget = 16;
	run_chain(0, &all);
	eval_budget = 8;
	assert_int_equal(all.configs, 16);
	long measured = all.calls - screened.calls;
	print_message("requests: %ld in full (%ld for all 16), %ld screened, %ld reported saved\n",
	              full.calls, all.calls, screened.calls, screened.saved);
	if (labs(screened.saved - measured) * 4 > measured)
		fail_msg("reported %ld requests saved, measured %ld", screened.saved, measured);
}

/* The paired rule on constructed scores of 30 examples: the leader l answers 2 in 3. */
static void test_rule(void **state)
{
	(void)state;
	double l[30], c[30];
	for (int i = 0; i < 30; i++)
		l[i] = c[i] = i % 3 ? 1 : 0;
	assert_false(phases_can_still_win(c, l, 30)); /* the same answers: nothing to win */
	c[0] = 1;
	assert_true(phases_can_still_win(c, l, 30)); /* one more right, none lost: the best */
	assert_true(phases_can_still_win(l, c, 30)); /* one apart: the other one may, too */
	c[1] = 0;
	assert_true(phases_can_still_win(c, l, 30)); /* one won, one lost: undecided */
	for (int i = 0; i < 30; i++)
		c[i] = l[i];
	int lost = 0;
	for (int i = 0; i < 30 && lost < 3; i++)
		if (c[i] > 0)
			c[i] = 0, lost++;
	/* 3 of 30 lost, none won: mean -0.1, sd 0.305, -0.1 + 2 x 0.0557 > 0, a close contender */
	assert_true(phases_can_still_win(c, l, 30));
	for (int i = 0; i < 30 && lost < 4; i++)
		if (c[i] > 0)
			c[i] = 0, lost++;
	assert_false(phases_can_still_win(c, l, 30)); /* 4 lost: -0.133 + 2 x 0.0631 < 0 */
	assert_false(phases_can_still_win(c, l, 0));  /* no examples: no contender */
	/* 120 examples: few differ, the SE (at most 0.02) says nothing and only a gain keeps c */
	double L[120], C[120];
	for (int i = 0; i < 120; i++)
		L[i] = C[i] = i % 3 ? 1 : 0;
	C[0] = 1, C[1] = 0; /* one won, one lost: mean 0, SE 0.0118; 0 + 2 SE > 0 yet a tie */
	assert_false(phases_can_still_win(C, L, 120));
	C[3] = 1; /* two won, one lost: mean 0.0083, SE 0.0144 */
	assert_true(phases_can_still_win(C, L, 120));
	for (int i = 0; i < 120; i++)
		C[i] = L[i];
	for (int i = 0, k = 0; i < 120 && k < 10; i++)
		if (!(i % 3))
			C[i] = 1, k++;
	for (int i = 0, k = 0; i < 120 && k < 12; i++)
		if (i % 3)
			C[i] = 0, k++;
	/* 10 won, 12 lost: mean -0.0167, SE 0.0394 > 0.02: undecided, it climbs */
	assert_true(phases_can_still_win(C, L, 120));
	for (int i = 0, k = 0; i < 120 && k < 12; i++)
		if (i % 3 && C[i] > 0)
			C[i] = 0, k++;
	/* 10 won, 24 lost: mean -0.117, SE 0.048: below zero by more than 2 SE, dropped */
	assert_false(phases_can_still_win(C, L, 120));
}

/* The projection of selection when it is next: with screening, the incumbent on the whole
 * sample, the others on the subsample and the plan's whole-sample runs (project_screened);
 * priced like that, it stays as close to what selection made as the whole-sample projection
 * is in full; priced as if every configuration ran on the whole sample, it would not. */
static void projected_selection(int screen, long *projected, long *made)
{
	struct chain_rig g;
	fx_init(&g.f, FX_DATA);
	write_rules(&g.f);
	write_session(&g.f, screen);
	g.s = fx_load(&g.f, "chain.json");
	g.l = fx_llm(&g.f, NULL);
	struct engine_opts eo = {.auto_accept = true};
	struct err e = {{0}};
	g.en = NULL;
	g.en = engine_new(g.s, g.l, &eo, on_event, &g, &e);
	assert_non_null(g.en);
	while (!engine_current(g.en) || engine_current(g.en)->phase < PHASE_SELECTION) {
		assert_int_equal(engine_step(g.en), 0);
		chain_drive(&g);
	}
	struct cost_projection p;
	engine_project_next(g.en, &p);
	*projected = p.calls - p.cached;
	assert_int_equal(engine_step(g.en), 0);
	chain_drive(&g);
	*made = engine_current(g.en)->cost[PHASE_SELECTION].calls;
	chain_close(&g);
}

static void test_projection(void **state)
{
	(void)state;
	long pf, mf, ps, ms;
	projected_selection(0, &pf, &mf);
	projected_selection(10, &ps, &ms);
	print_message("selection: projected %ld, made %ld in full; projected %ld, made %ld "
	              "screened\n",
	              pf, mf, ps, ms);
	assert_true(ms < mf && ps < pf);
	/* against what it made, as close as the whole-sample projection is to its own (the
	 * projection's accuracy is not this test's), within a factor of 1.5 either way */
	double r = ((double)ps / (double)ms) / ((double)pf / (double)mf);
	if (r > 1.5 || r < 1 / 1.5)
		fail_msg(
		    "screened selection projected at %ld requests for %ld made; in full %ld for "
		    "%ld",
		    ps, ms, pf, mf);
}

/* A sample of three times screen_size has one rung below the whole sample (20, then all 60):
 * the first rung is the top one.  The same choice, for fewer requests than the full
 * evaluation: a configuration screened out there counts 2.5 times its 20 / 60 of the budget
 * (search_share), so the search does not look at more configurations than it saves. */
static void test_one_rung(void **state)
{
	(void)state;
	struct outcome full, screened;
	run_chain(0, &full);
	run_chain(N_VAL / 3, &screened);
	const int want[M] = {0, 1, 0, 0};
	assert_memory_equal(screened.choice, want, sizeof want);
	assert_true(full.best == screened.best);
	print_message("one rung: %ld requests in full, %ld screened\n", full.calls, screened.calls);
	assert_true(screened.calls < full.calls);
}

/* An incumbent perfect on the only rung below the whole sample (20 of 60) but not on the whole
 * sample (b loses the words of two examples the rung does not hold, and of two training
 * examples so that the forward pass has bad cases to learn from): b's candidate alone,
 * perfect on the rung too, ties the incumbent there and must still go to the whole sample,
 * where it scores 1 (it used to stay on the rung, and the iteration proposed nothing). */
static void test_perfect_tie_climbs(void **state)
{
	(void)state;
	struct chain_rig g;
	chain_run(&g, N_VAL / 3, 0); /* the rung's examples, drawn from the seed alone */
	const struct iteration *it = engine_current(g.en);
	bool in_rung[N_VAL] = {false};
	for (size_t k = 0; k < it->n_screen_pos; k++)
		in_rung[it->screen_idx[k]] = true;
	int lose[2], n = 0;
	for (int i = N_VAL - 1; i >= 0 && n < 2; i--)
		if (!in_rung[i])
			lose[n++] = 101 + i; /* val examples are numbered from 101 */
	assert_int_equal(n, 2);
	chain_close(&g);
	/* and training examples 5 and 6, so that the forward pass finds bad cases */
	snprintf(rare_loss, sizeof rare_loss, "%d|%d|5|6", lose[0], lose[1]);
	chain_run(&g, N_VAL / 3, 0);
	rare_loss[0] = 0;
	it = engine_current(g.en);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_int_equal(it->n_screen_pos, (size_t)N_VAL / 3);
	double inc_rung = 0;
	for (size_t k = 0; k < it->n_screen_pos; k++)
		inc_rung += it->evals[0].scores[it->screen_pos[k]];
	assert_true(inc_rung == (double)it->n_screen_pos); /* the premise: perfect on the rung */
	assert_true(fabs(it->base_score - (double)(N_VAL - 2) / N_VAL) < 1e-9);
	const int want[M] = {0, 1, 0, 0};
	assert_true(it->best_eval >= 0);
	assert_memory_equal(it->evals[it->best_eval].choice, want, sizeof want);
	assert_true(it->best_score == 1);
	chain_close(&g);
}

static void test_too_small_a_sample(void **state)
{
	(void)state;
	struct outcome o;
	run_chain(N_VAL / 3 + 1, &o); /* fewer than 3 x screen_size examples: no screening */
	const int want[M] = {0, 1, 0, 0};
	assert_memory_equal(o.choice, want, sizeof want);
}

/* The cap holds per evaluation: with a cap set once selection has started (so the phase's own
 * projection was checked without it) that its evaluations pass, the engine stops launching them
 * and pauses; the overrun is at most one evaluation's cost (the largest, the incumbent on the
 * whole sample: M steps x N_VAL). */
static void test_cap_between_evaluations(void **state)
{
	(void)state;
	struct chain_rig g;
	chain_run(&g, 0, 0);
	const struct iteration *it = engine_current(g.en);
	assert_int_equal(it->phase, PHASE_COUNT);
	double before = 0;
	for (int p = 0; p < PHASE_SELECTION; p++)
		before += it->cost[p].cost_usd;
	const struct phase_cost sel = it->cost[PHASE_SELECTION]; /* a copy: the engine goes */
	double one_eval = sel.cost_usd / (double)sel.calls * M * N_VAL;
	chain_close(&g);
	double cap_usd = before + sel.cost_usd - one_eval / 2; /* the last evaluation passes it */
	chain_run_capped(&g, 0, cap_usd, true);
	it = engine_current(g.en);
	struct engine_totals t;
	engine_totals(g.en, &t);
	const char *why = engine_pause_reason(g.en);
	assert_non_null(why);
	assert_non_null(strstr(why, "budget cap: the next evaluation"));
	assert_int_equal(it->phase, PHASE_SHAPLEY); /* selection ran, stopped by the cap */
	assert_true(it->n_evals >= 1 && it->n_evals < 8);
	if (t.cost_usd > cap_usd + one_eval * 1.05)
		fail_msg("cap $%.4f: spent $%.4f, more than one evaluation ($%.4f) over", cap_usd,
		         t.cost_usd, one_eval);
	chain_close(&g);
}

/* The steady-proposal rule: b's candidate alone, in the initial design, scores 1 on the whole
 * sample (screened: on the top rung), so nothing can beat it and the search ends there (search_end
 * "perfect") with the same choice, the 2 configurations of the budget past the design unrun, and
 * fewer requests; without screening and with it; reopened, the iteration still says so.  Off, the
 * whole budget runs. */
static void test_steady_stop_on_a_perfect_score(void **state)
{
	(void)state;
	const int want[M] = {0, 1, 0, 0};
	for (int screen = 0; screen <= 15; screen += 15) {
		struct chain_rig g;
		long calls[2];
		for (int on = 0; on < 2; on++) {
			steady_stop = on;
			chain_run(&g, screen, 0);
			const struct iteration *it = engine_current(g.en);
			assert_int_equal(it->phase, PHASE_COUNT);
			assert_true(it->best_eval >= 0);
			assert_memory_equal(it->evals[it->best_eval].choice, want, sizeof want);
			assert_true(it->best_score == 1);
			size_t configs = screen ? it->n_screened : it->n_evals;
			/* off, the budget of 8 runs: screened, with its configurations screened out
			 * at a quarter each, up to all 16 */
			if (on)
				assert_int_equal(configs, M + 2);
			else if (screen)
				assert_true(configs > 8 && configs <= 16);
			else
				assert_int_equal(configs, 8);
			if (on)
				assert_string_equal(it->search_end, SEARCH_END_PERFECT);
			else
				assert_null(it->search_end);
			struct engine_totals t;
			engine_totals(g.en, &t);
			calls[on] = t.calls;
			/* the session keeps why the search stopped: reopened, the iteration says it
			 */
			engine_store(g.en);
			engine_free(g.en);
			struct engine_opts eo = {.auto_accept = true};
			struct err e = {{0}};
			g.en = engine_new(g.s, g.l, &eo, NULL, NULL, &e);
			assert_non_null(g.en);
			it = engine_current(g.en);
			if (on)
				assert_string_equal(it->search_end, SEARCH_END_PERFECT);
			else
				assert_null(it->search_end);
			chain_close(&g);
		}
		assert_true(calls[1] < calls[0]);
		print_message("screen_size %d: %ld requests with the rule, %ld without\n", screen,
		              calls[1], calls[0]);
	}
	steady_stop = false;
}

/* A record saved before the rungs (no "n" per screened configuration) reopens with every
 * screened configuration on the first rung, except those it also ran in full: those have
 * climbed to the whole sample, so that racing does not run them in full again. */
static void test_old_record_rungs(void **state)
{
	(void)state;
	struct chain_rig g;
	fx_init(&g.f, FX_DATA);
	write_rules(&g.f);
	write_session(&g.f, 10);
	g.s = fx_load(&g.f, "chain.json");
	g.l = fx_llm(&g.f, NULL);
	struct engine_opts eo = {.auto_accept = true};
	struct err e = {{0}};
	g.en = engine_new(g.s, g.l, &eo, NULL, NULL, &e);
	assert_non_null(g.en);
	while (!engine_current(g.en) || engine_current(g.en)->phase <= PHASE_SELECTION) {
		assert_int_equal(engine_step(g.en), 0);
		for (int i = 0; i < 100000 && engine_busy(g.en); i++) {
			assert_true(llm_wait(g.l, NULL, 0, 100) >= 0);
			engine_poll(g.en);
		}
	}
	const struct iteration *it = engine_current(g.en);
	assert_int_equal(it->phase, PHASE_SHAPLEY);
	size_t n_evals = it->n_evals, n_screened = it->n_screened;
	assert_true(n_evals >= 2 && n_screened > n_evals);
	engine_store(g.en);
	engine_free(g.en);
	/* as the racing version wrote it: no "n", no "first" */
	cJSON *rec = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(g.s->root, "state"), "record");
	cJSON *sc = cJSON_GetObjectItemCaseSensitive(rec, "screening"), *c;
	assert_non_null(sc);
	cJSON_DeleteItemFromObjectCaseSensitive(sc, "first");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sc, "screened"))
	    cJSON_DeleteItemFromObjectCaseSensitive(c, "n");
	g.en = engine_new(g.s, g.l, &eo, NULL, NULL, &e);
	assert_non_null(g.en);
	it = engine_current(g.en);
	assert_int_equal(it->phase, PHASE_SHAPLEY);
	assert_int_equal(it->n_screened, n_screened);
	size_t full = 0;
	for (size_t k = 0; k < it->n_screened; k++) {
		bool in_evals = false;
		for (size_t j = 0; j < it->n_evals; j++)
			in_evals = in_evals || !memcmp(it->evals[j].choice, it->screened[k].choice,
			                               M * sizeof(int));
		assert_int_equal(it->screen_n[k], in_evals ? it->n_val : it->n_screen_pos);
		full += in_evals;
	}
	assert_int_equal(full, n_evals);
	/* the iteration goes on to its end without running any of them in full again */
	assert_int_equal(engine_run(g.en, 1), 0);
	fx_drive(g.en, g.l);
	it = engine_iteration(g.en, 0);
	assert_int_equal(it->phase, PHASE_COUNT);
	for (size_t j = 0; j < it->n_evals; j++)
		for (size_t k = 0; k < j; k++)
			assert_true(
			    memcmp(it->evals[j].choice, it->evals[k].choice, M * sizeof(int)));
	chain_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule),
	    cmocka_unit_test(test_same_choice_fewer_requests),
	    cmocka_unit_test(test_projection),
	    cmocka_unit_test(test_one_rung),
	    cmocka_unit_test(test_perfect_tie_climbs),
	    cmocka_unit_test(test_too_small_a_sample),
	    cmocka_unit_test(test_cap_between_evaluations),
	    cmocka_unit_test(test_steady_stop_on_a_perfect_score),
	    cmocka_unit_test(test_old_record_rungs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

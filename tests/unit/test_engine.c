/* test_engine.c: the ADOPT engine end to end with the scripted provider: whole iterations on a
 * two-step, a five-step (examples/chain5) and a looped pipeline (examples/dialogue-loop) with
 * every phase's artefacts checked; stepping phase by phase; cancel and resume; decisions and
 * undo; save and reopen mid-iteration (as it stood; an older file's replayed from the response
 * cache); memoization (also
 * against the test LLM server when $LLM_SERVER or build/tests/llm-server exists); edge cases
 * (one step, all good, all bad, a small validation split, a failing role model); cost
 * projection and the budget cap; determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>

#include "engine/engine.h"
#include "engine/roles.h"
#include "engine_fixture.h"
#include "llm/beside.h"
#include "llm_server.h"

/* ---- a rig: fixture copy, session, LLM layer, engine, recorded events ---- */

struct events {
	int n[EV_ITERATION_DONE + 1];
	int started[PHASE_COUNT];
	char *last_error, *last_pause;
	int errors_in_phase[PHASE_COUNT];
};

struct rig {
	struct fx f;
	char *file;
	struct session *s;
	struct llm *l;
	struct engine *en;
	struct events ev;
	struct engine_opts o;
	const char *cache;
};

static void on_event(void *arg, const struct engine_event *ev)
{
	struct events *e = arg;
	e->n[ev->kind]++;
	if (ev->kind == EV_PHASE_STARTED)
		e->started[ev->phase]++;
	if (ev->kind == EV_ERROR) {
		free(e->last_error);
		e->last_error = xstrdup(ev->message ? ev->message : "");
		e->errors_in_phase[ev->phase]++;
	}
	if (ev->kind == EV_PAUSED) {
		free(e->last_pause);
		e->last_pause = xstrdup(ev->message ? ev->message : "");
	}
}

static void rig_engine(struct rig *g)
{
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &g->o, on_event, &g->ev, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
}

/* Copies src into a temp dir, loads file from it; cache names a cache file there or NULL. */
static void rig_open(struct rig *g, const char *src, const char *file, const char *cache)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, src);
	g->file = xstrdup(file);
	g->cache = cache;
	g->s = fx_load(&g->f, file);
	g->l = fx_llm(&g->f, cache);
	rig_engine(g);
}

/* Patches the session file before loading (call between fx_init and the load). */
static void rig_open_patched(struct rig *g, const char *src, const char *file,
                             void (*patch)(struct fx *f, const char *file))
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, src);
	patch(&g->f, file);
	g->file = xstrdup(file);
	g->s = fx_load(&g->f, file);
	g->l = fx_llm(&g->f, NULL);
	rig_engine(g);
}

static void rig_close_engine(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	g->en = NULL, g->l = NULL, g->s = NULL;
}

static void rig_close(struct rig *g)
{
	rig_close_engine(g);
	free(g->ev.last_error);
	free(g->ev.last_pause);
	free(g->file);
	fx_done(&g->f);
}

/* The front end's loop: wait for replies, poll, until the engine stops by itself. */
static void drive(struct rig *g)
{
	fx_drive(g->en, g->l);
}

/* Drives only until the phase in flight is done. */
static void drive_phase(struct rig *g)
{
	for (int i = 0; i < 100000 && engine_busy(g->en); i++) {
		assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
	assert_false(engine_busy(g->en));
	engine_poll(g->en);
}

static struct iteration *current(struct rig *g)
{
	const struct iteration *it = engine_current(g->en);
	assert_non_null(it);
	return (struct iteration *)it;
}

/* Steps phase by phase until the current iteration's next phase is p. */
static void step_until(struct rig *g, enum phase p)
{
	for (int i = 0; i < PHASE_COUNT + 1; i++) {
		const struct iteration *it = engine_current(g->en);
		if (it && it->phase == p)
			return;
		assert_int_equal(engine_step(g->en), 0);
		drive_phase(g);
	}
	fail_msg("never reached phase %s", phase_name(p));
}

/* The phase the next engine_step runs. */
static enum phase current_or_new_phase(struct rig *g)
{
	const struct iteration *it = engine_current(g->en);
	return !it || it->phase >= PHASE_COUNT ? PHASE_FORWARD : it->phase;
}

static int n_optimizable(const struct session *s)
{
	int k = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		k += s->steps[i].kind == STEP_LLM && !s->steps[i].frozen;
	return k;
}

static bool optimizable(const struct session *s, size_t i)
{
	return s->steps[i].kind == STEP_LLM && !s->steps[i].frozen;
}

/* ---- the artefacts of a finished (or proposal-ready) iteration ---- */

static void check_forward(const struct session *s, const struct iteration *it)
{
	size_t want = MIN((size_t)s->opt.batch_size, s->data.splits[SPLIT_TRAIN].n);
	assert_int_equal(it->n_traces, want);
	double sum = 0;
	size_t good = 0;
	for (size_t t = 0; t < it->n_traces; t++) {
		assert_true(it->traces[t].done);
		assert_int_equal(it->traces[t].split, SPLIT_TRAIN);
		assert_true(it->traces[t].n > 0);
		assert_non_null(it->traces[t].prediction);
		sum += it->traces[t].score;
		good += it->traces[t].good;
	}
	assert_true(fabs(it->train_score - sum / (double)want) < 1e-12);
	assert_int_equal(it->n_good, MIN(good, (size_t)s->opt.minibatch_good));
	assert_int_equal(it->n_bad, MIN(want - good, (size_t)s->opt.minibatch_bad));
	for (size_t g = 0; g < it->n_good; g++)
		assert_true(it->traces[it->good[g]].good);
	for (size_t b = 0; b < it->n_bad; b++)
		assert_false(it->traces[it->bad[b]].good);
	assert_int_equal(it->n_cases, it->n_bad);
}

static void check_analysis(const struct session *s, const struct iteration *it)
{
	assert_non_null(it->structure);
	assert_true(strlen(it->structure) > 10);
	assert_null(strstr(it->structure, "<summary>")); /* the tag was taken off */
	assert_non_null(it->dependency);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!optimizable(s, i)) {
			assert_null(it->dependency[i]);
			continue;
		}
		assert_non_null(it->dependency[i]);
		char *want = xasprintf("Step \"%s\"", s->steps[i].id);
		assert_non_null(strstr(it->dependency[i], want));
		free(want);
	}
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct adopt_case *ac = &it->cases[c];
		const struct trace *t = &it->traces[ac->trace];
		assert_false(t->good);
		assert_non_null(ac->loss);
		assert_non_null(strstr(ac->loss, "differs from the gold answer"));
		assert_non_null(ac->gradient);
		for (size_t i = 0; i < s->n_steps; i++) {
			bool ran = trace_find(t, (int)i) != NULL;
			if (!optimizable(s, i) || !ran) {
				assert_null(ac->local[i]);
				assert_null(ac->pseudo[i]);
				continue;
			}
			assert_non_null(ac->local[i]);
			char *want = xasprintf("Step \"%s\" produced", s->steps[i].id);
			assert_non_null(strstr(ac->local[i], want));
			free(want);
			/* the scripted E6 repeats the step's output */
			assert_non_null(ac->pseudo[i]);
			/* a loop step: E5 and E6 saw every round, labelled, with its output */
			bool loop = trace_rounds(t, (int)i) > 1;
			const struct trace_step *ts = NULL;
			while (loop && (ts = trace_next(t, (int)i, ts))) {
				char *label = xasprintf("Round %d:\n%s", ts->round, ts->out.text);
				assert_non_null(strstr(ac->local[i], label));
				assert_non_null(strstr(ac->pseudo[i], label));
				free(label);
			}
		}
	}
}

static void check_candidates(const struct session *s, const struct iteration *it)
{
	int k = n_optimizable(s), sum = 0;
	assert_non_null(it->budget);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!optimizable(s, i)) {
			assert_int_equal(it->budget[i], 0);
			assert_int_equal(it->n_cands[i], 0);
			continue;
		}
		assert_true(it->budget[i] >= s->opt.budget_floor);
		sum += it->budget[i];
		assert_true(it->n_cands[i] <= (size_t)it->budget[i]);
		for (size_t a = 0; a < it->n_cands[i]; a++) {
			const struct candidate *c = &it->cands[i][a];
			assert_non_null(c->prompt);
			assert_non_null(c->optimizer);
			assert_string_equal(c->optimizer, s->opt.step_optimizer);
			for (size_t b = 0; b < a; b++)
				assert_true(strcmp(c->prompt, it->cands[i][b].prompt) != 0 ||
				            c->n_demos != it->cands[i][b].n_demos);
		}
	}
	assert_int_equal(sum, MAX(s->opt.budget_total, s->opt.budget_floor * k));
}

static void check_selection(const struct session *s, const struct iteration *it)
{
	size_t val = s->data.splits[SPLIT_VAL].n ? s->data.splits[SPLIT_VAL].n
	                                         : s->data.splits[SPLIT_TRAIN].n;
	assert_int_equal(it->n_val, MIN((size_t)s->opt.val_size, val));
	assert_true(it->n_evals >= 1);
	bool incumbent = false;
	for (size_t e = 0; e < it->n_evals; e++) {
		const struct evaluation *ev = &it->evals[e];
		bool zero = true;
		double sum = 0;
		for (size_t i = 0; i < s->n_steps; i++) {
			assert_true(ev->choice[i] >= 0 && (size_t)ev->choice[i] <= it->n_cands[i]);
			zero &= ev->choice[i] == 0;
		}
		for (size_t v = 0; v < it->n_val; v++) {
			assert_true(ev->scores[v] >= 0 && ev->scores[v] <= 1);
			sum += ev->scores[v];
		}
		assert_true(fabs(ev->score - sum / (double)it->n_val) < 1e-12);
		if (zero) {
			incumbent = true;
			assert_true(ev->score == it->base_score);
		}
		for (size_t f = 0; f < e; f++)
			assert_true(memcmp(ev->choice, it->evals[f].choice,
			                   s->n_steps * sizeof *ev->choice) != 0);
	}
	assert_true(incumbent);
}

static void check_shapley(const struct session *s, const struct iteration *it)
{
	assert_non_null(it->phi);
	assert_non_null(it->phi_sd);
	assert_non_null(it->shapley_method);
	const char *const methods[] = {"exact", "permutation", "kernel", "none"};
	bool known = false;
	for (size_t m = 0; m < 4; m++)
		known |= strcmp(it->shapley_method, methods[m]) == 0;
	assert_true(known);
	for (size_t i = 0; i < s->n_steps; i++) {
		assert_true(isfinite(it->phi[i]) && isfinite(it->phi_sd[i]));
		assert_true(it->phi_sd[i] >= 0);
		if (!optimizable(s, i))
			assert_true(it->phi[i] == 0);
	}
	int k = n_optimizable(s), sum = 0;
	assert_non_null(it->next_budget);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (optimizable(s, i))
			assert_true(it->next_budget[i] >= s->opt.budget_floor);
		else
			assert_int_equal(it->next_budget[i], 0);
		sum += it->next_budget[i];
	}
	assert_int_equal(sum, MAX(s->opt.budget_total, s->opt.budget_floor * k));
}

static void check_proposal(const struct session *s, const struct iteration *it)
{
	assert_true(it->best_eval >= 0 && (size_t)it->best_eval < it->n_evals);
	const struct evaluation *best = &it->evals[it->best_eval];
	for (size_t e = 0; e < it->n_evals; e++)
		assert_true(it->evals[e].score <= best->score);
	assert_true(it->best_score == best->score);
	size_t changed = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		changed += best->choice[i] > 0;
	assert_int_equal(it->n_changes, changed);
	for (size_t c = 0; c < it->n_changes; c++) {
		const struct step_change *ch = &it->changes[c];
		int k = best->choice[ch->step];
		assert_true(k > 0);
		assert_string_equal(ch->new_prompt, it->cands[ch->step][k - 1].prompt);
		assert_true(strcmp(ch->old_prompt, ch->new_prompt) != 0);
	}
}

static void check_costs(const struct iteration *it)
{
	assert_true(it->cost[PHASE_FORWARD].projected_calls > 0);
	assert_true(it->cost[PHASE_FORWARD].calls > 0);
	for (int p = PHASE_FORWARD; p < PHASE_DECISION; p++) {
		assert_true(it->cost[p].calls >= 0 && it->cost[p].cached <= it->cost[p].calls);
		if (p <= PHASE_CANDIDATES && it->n_bad)
			/* role phases: the projection is exact for the scripted roles */
			assert_true(it->cost[p].calls <= it->cost[p].projected_calls);
	}
}

static void check_iteration(const struct session *s, const struct iteration *it)
{
	check_forward(s, it);
	if (it->n_bad) {
		check_analysis(s, it);
		check_candidates(s, it);
	}
	check_selection(s, it);
	check_shapley(s, it);
	check_proposal(s, it);
	check_costs(it);
}

/* ---- whole iterations ---- */

static void run_one(struct rig *g)
{
	assert_int_equal(engine_run(g->en, 1), 0);
	drive(g);
	assert_int_equal(engine_iterations(g->en), 1);
	assert_int_equal(current(g)->phase, PHASE_COUNT);
}

static void check_decided(struct rig *g, char **before)
{
	const struct iteration *it = current(g);
	bool improves = it->best_score > it->base_score;
	size_t nv;
	const struct prompt_version *v = engine_versions(g->en, &nv);
	/* the originals formed the incumbent that selection measured: they carry its score */
	for (size_t i = 0; i < nv; i++)
		if (v[i].version == 1)
			assert_true(it->n_evals && v[i].score == it->base_score);
	for (size_t c = 0; c < it->n_changes; c++) {
		const struct step_change *ch = &it->changes[c];
		assert_int_equal(ch->decision, improves ? DECISION_ACCEPT : DECISION_REJECT);
		assert_string_equal(g->s->steps[ch->step].prompt,
		                    improves ? ch->new_prompt : ch->old_prompt);
		assert_string_equal(ch->old_prompt, before[ch->step]);
	}
	size_t llm = 0;
	for (size_t i = 0; i < g->s->n_steps; i++)
		llm += g->s->steps[i].kind == STEP_LLM;
	/* one original version per LLM step, one more per accepted change */
	assert_int_equal(nv, llm + (improves ? it->n_changes : 0));
}

static char **prompts_copy(const struct session *s)
{
	char **p = xcalloc(s->n_steps, sizeof *p);
	for (size_t i = 0; i < s->n_steps; i++)
		p[i] = s->steps[i].prompt ? xstrdup(s->steps[i].prompt) : NULL;
	return p;
}

static void prompts_free(char **p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	free(p);
}

static void full_iteration(const char *src, const char *file)
{
	struct rig g;
	rig_open(&g, src, file, NULL);
	char **before = prompts_copy(g.s);
	run_one(&g);
	const struct iteration *it = current(&g);
	assert_true(it->n_bad > 0);
	check_iteration(g.s, it);
	check_decided(&g, before);
	assert_int_equal(g.ev.n[EV_ITERATION_DONE], 1);
	assert_int_equal(g.ev.n[EV_PROPOSAL_READY], 1);
	assert_int_equal(g.ev.n[EV_SHAPLEY_READY], 1);
	assert_int_equal(g.ev.started[PHASE_FORWARD], 1);
	assert_int_equal(g.ev.n[EV_EVAL_DONE], (int)it->n_evals);
	prompts_free(before, g.s->n_steps);
	rig_close(&g);
}

static void test_iteration_two_step(void **state)
{
	(void)state;
	full_iteration(FX_DATA, "two.json");
}

static void test_iteration_chain5(void **state)
{
	(void)state;
	full_iteration("examples/chain5", "session.json");
}

static void test_iteration_loop(void **state)
{
	(void)state;
	full_iteration("examples/dialogue-loop", "session.json");
}

/* A loop step that ran several rounds: E5 and E6 get every round (check_analysis checks the
 * labels), and the batch does hold such a case, so the check is not vacuous. */
static void test_loop_every_round(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "examples/dialogue-loop", "session.json", NULL);
	step_until(&g, PHASE_CANDIDATES);
	const struct iteration *it = current(&g);
	assert_string_equal(g.s->steps[0].id, "agent");
	size_t most = 0;
	for (size_t c = 0; c < it->n_cases; c++)
		most = MAX(most, trace_rounds(&it->traces[it->cases[c].trace], 0));
	assert_true(most > 1);
	check_analysis(g.s, it);
	/* E6's labelled revision splits into one supervised pair per round (the scripted E6
	 * repeats the output, so each part is that round's output) */
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace *t = &it->traces[it->cases[c].trace];
		const struct trace_step *ts = NULL;
		while (trace_rounds(t, 0) > 1 && (ts = trace_next(t, 0, ts))) {
			char *part = role_round_part(it->cases[c].pseudo[0], ts->round);
			assert_non_null(part);
			assert_string_equal(part, ts->out.text);
			free(part);
		}
	}
	rig_close(&g);
}

/* E1 reads the whole program: the system message, the loop's stop condition, the metric.  Its
 * prompt is made to start with a marker that a rule echoes back as the summary. */
static void patch_echo_structure(struct fx *f, const char *file)
{
	fx_patch(f, file, "pipeline.steps.0.system", cJSON_CreateString("You are terse. SYS-MARK"));
	fx_patch(f, file, "optimizer.roles",
	         cJSON_Parse("{\"structure\": \"ECHO-PIPELINE\\n{{pipeline}}\"}"));
	cJSON *echo = cJSON_Parse("{\"match\": \"(?s)^ECHO-PIPELINE\\\\n(?<p>.*)\", "
	                          "\"reply\": \"<summary>${p}</summary>\"}");
	assert_non_null(echo);
	fx_patch(f, "rules.json", "rules.0", echo);
}

static void test_structure_sees_program(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, "examples/dialogue-loop", "session.json", patch_echo_structure);
	step_until(&g, PHASE_GRADIENT);
	const char *p = current(&g)->structure;
	assert_non_null(p);
	assert_non_null(strstr(p, "System message:\nYou are terse. SYS-MARK\n"));
	assert_non_null(strstr(p, "stops early when the output of step \"agent\" matches the "
	                          "pattern /^FINAL:/"));
	assert_non_null(strstr(p, "scored against the gold answer with the metric f1"));
	rig_close(&g);
}

/* E2 sees every good case of the minibatch: pipeline input, the step's input and output, the
 * final output, the gold answer and the judgment.  Its good cases are echoed back. */
static void patch_echo_dependency(struct fx *f, const char *file)
{
	fx_patch(f, file, "optimizer.roles",
	         cJSON_Parse("{\"dependency\": \"The step under analysis: \\\"{{step}}\\\"\\n"
	                     "ECHO-GOOD\\n{{good_cases}}\"}"));
	cJSON *echo = cJSON_Parse("{\"match\": \"(?s)ECHO-GOOD\\\\n(?<p>.*)\", "
	                          "\"reply\": \"<dependency>${p}</dependency>\"}");
	assert_non_null(echo);
	fx_patch(f, "rules.json", "rules.1", echo);
}

static void test_dependency_sees_good_cases(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, "examples/dialogue-loop", "session.json", patch_echo_dependency);
	step_until(&g, PHASE_GRADIENT);
	const struct iteration *it = current(&g);
	assert_true(it->n_good >= 2);
	const char *d = it->dependency[0];
	assert_non_null(d);
	for (size_t k = 0; k < it->n_good; k++) {
		const struct trace *t = &it->traces[it->good[k]];
		const struct example *ex = &g.s->data.splits[t->split].ex[t->example];
		char *head = xasprintf("### Case %zu (score %.3g: judged good)\n", k + 1, t->score);
		const char *c = strstr(d, head);
		assert_non_null(c);
		const char *end = strstr(c + 1, "### Case");
		size_t n = end ? (size_t)(end - c) : strlen(c);
		char *block = xstrndup(c, n);
		char *want[] = {
		    xasprintf("Pipeline input:\n%s: %s", ex->keys[0], ex->vals[0].text),
		    xasprintf("Final output:\n%s\n", t->prediction),
		    xasprintf("Gold answer:\n%s", ex->golds[0]),
		    xasprintf("Step output:\n%s", trace_rounds(t, 0) > 1 ? "Round 1:\n" : "")};
		for (size_t w = 0; w < 4; w++) {
			if (!strstr(block, want[w]))
				fail_msg("case %zu lacks \"%s\" in:\n%s", k + 1, want[w], block);
			free(want[w]);
		}
		assert_null(strstr(d, "Shortened to fit")); /* small texts: nothing cut */
		free(block);
		free(head);
	}
	rig_close(&g);
}

/* Long texts: the good cases are cut to the budget, longest first, and the prompt says so. */
static void patch_long_good(struct fx *f, const char *file)
{
	patch_echo_dependency(f, file);
	char *path = fx_path(f, "train.jsonl"), *text = NULL;
	size_t n;
	struct err e = {{0}};
	assert_int_equal(file_read(path, 1 << 22, &text, &n, &e), 0);
	struct sbuf b = {0};
	char *pad = xcalloc(2501, 1);
	memset(pad, 'x', 2500);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		assert_non_null(j);
		const char *req = cJSON_GetObjectItem(j, "request")->valuestring;
		char *longer = xasprintf("%s %s", req, pad);
		cJSON_ReplaceItemInObject(j, "request", cJSON_CreateString(longer));
		char *out = cJSON_PrintUnformatted(j);
		sbuf_addf(&b, "%s\n", out);
		cJSON_free(out);
		cJSON_Delete(j);
		free(longer);
	}
	fx_write(path, b.s, b.len);
	free(b.s);
	free(pad);
	free(text);
	free(path);
}

static void test_dependency_budget(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, "examples/dialogue-loop", "session.json", patch_long_good);
	step_until(&g, PHASE_GRADIENT);
	const struct iteration *it = current(&g);
	const char *d = it->dependency[0];
	assert_non_null(d);
	assert_non_null(strstr(d, "Shortened to fit this prompt"));
	assert_non_null(strstr(d, "more bytes cut]"));
	/* (the echoed answer is capped at ROLE_MAX_ANSWER bytes: only its start is checked) */
	rig_close(&g);
}

/* The validation sample: drawn with the session's seed, the same for every configuration of an
 * iteration, and across iterations unless val_resample asks for a fresh one. */
static unsigned long val_seed;
static bool val_fresh;

static void patch_val(struct fx *f, const char *file)
{
	fx_patch(f, file, "optimizer.seed", cJSON_CreateNumber((double)val_seed));
	fx_patch(f, file, "optimizer.val_resample", cJSON_CreateBool(val_fresh));
}

/* Runs two iterations of two.json (6 validation examples, val_size 4); sample[k] gets
 * iteration k's sample as a bit mask. */
static void val_samples(unsigned long seed, bool fresh, unsigned sample[2])
{
	val_seed = seed, val_fresh = fresh;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_val);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(engine_run(g.en, 1), 0);
		drive(&g);
		const struct iteration *it = engine_iteration(g.en, k);
		assert_non_null(it);
		assert_int_equal(it->n_val, 4);
		sample[k] = 0;
		for (size_t i = 0; i < it->n_val; i++) {
			assert_true(it->val_idx[i] < 6);
			assert_true(i == 0 ||
			            it->val_idx[i] > it->val_idx[i - 1]); /* split order */
			sample[k] |= 1u << it->val_idx[i];
		}
		/* every configuration was scored on that sample */
		for (size_t e = 0; e < it->n_evals; e++)
			assert_non_null(it->evals[e].scores);
	}
	rig_close(&g);
}

static void test_val_sample_seed(void **state)
{
	(void)state;
	unsigned first[8], s[2], again[2];
	bool differ = false, fresh_differs = false;
	for (unsigned long seed = 1; seed <= 8; seed++) {
		val_samples(seed, false, s);
		assert_int_equal(s[0], s[1]); /* fixed across iterations by default */
		first[seed - 1] = s[0];
		differ |= s[0] != first[0];
		val_samples(seed, true, again);
		assert_int_equal(again[0] == s[0], true); /* iteration 1 alike either way */
		fresh_differs |= again[1] != again[0];
	}
	assert_true(differ);        /* the seed chooses the sample (not the first val_size) */
	assert_true(fresh_differs); /* val_resample draws a new one */
	val_samples(3, false, s);
	assert_int_equal(s[0], first[2]); /* the same seed, the same sample */
}

/* ---- what two runs must agree on ---- */

struct snap {
	char **prompts;
	size_t n_steps;
	double train, base, best;
	double *scores; /* evaluation scores in order */
	int *choices;
	size_t n_evals;
	double *phi;
	char *structure;
	size_t n_cands;
};

static void snap_take_it(struct rig *g, const struct iteration *it, struct snap *sn)
{
	memset(sn, 0, sizeof *sn);
	sn->n_steps = g->s->n_steps;
	sn->prompts = prompts_copy(g->s);
	sn->train = it->train_score;
	sn->base = it->base_score;
	sn->best = it->best_score;
	sn->n_evals = it->n_evals;
	sn->scores = xcalloc(it->n_evals + 1, sizeof *sn->scores);
	sn->choices = xcalloc(it->n_evals * sn->n_steps + 1, sizeof *sn->choices);
	for (size_t e = 0; e < it->n_evals; e++) {
		sn->scores[e] = it->evals[e].score;
		memcpy(&sn->choices[e * sn->n_steps], it->evals[e].choice,
		       sn->n_steps * sizeof *sn->choices);
	}
	sn->phi = xcalloc(sn->n_steps, sizeof *sn->phi);
	if (it->phi)
		memcpy(sn->phi, it->phi, sn->n_steps * sizeof *sn->phi);
	sn->structure = it->structure ? xstrdup(it->structure) : NULL;
	for (size_t i = 0; it->n_cands && i < sn->n_steps; i++)
		sn->n_cands += it->n_cands[i];
}

static void snap_take(struct rig *g, struct snap *sn)
{
	snap_take_it(g, current(g), sn);
}

static void snap_equal(const struct snap *a, const struct snap *b)
{
	assert_int_equal(a->n_steps, b->n_steps);
	for (size_t i = 0; i < a->n_steps; i++) {
		if (a->prompts[i] || b->prompts[i])
			assert_string_equal(a->prompts[i], b->prompts[i]);
		assert_true(a->phi[i] == b->phi[i]);
	}
	assert_true(a->train == b->train);
	assert_true(a->base == b->base);
	assert_true(a->best == b->best);
	assert_int_equal(a->n_evals, b->n_evals);
	for (size_t e = 0; e < a->n_evals; e++)
		assert_true(a->scores[e] == b->scores[e]);
	assert_memory_equal(a->choices, b->choices, a->n_evals * a->n_steps * sizeof *a->choices);
	if (a->structure || b->structure)
		assert_string_equal(a->structure, b->structure);
	assert_int_equal(a->n_cands, b->n_cands);
}

static void snap_free(struct snap *sn)
{
	prompts_free(sn->prompts, sn->n_steps);
	free(sn->scores);
	free(sn->choices);
	free(sn->phi);
	free(sn->structure);
}

/* The reference: one uninterrupted iteration on a fresh copy. */
static void reference(const char *src, const char *file, struct snap *sn)
{
	struct rig g;
	rig_open(&g, src, file, NULL);
	run_one(&g);
	snap_take(&g, sn);
	rig_close(&g);
}

static void test_stepping_equals_run(void **state)
{
	(void)state;
	struct snap want, got;
	reference(FX_DATA, "two.json", &want);
	struct rig g;
	rig_open(&g, FX_DATA, "two.json", NULL);
	for (enum phase p = PHASE_FORWARD; p < PHASE_DECISION; p++) {
		assert_int_equal(current_or_new_phase(&g), p);
		assert_int_equal(engine_step(g.en), 0);
		drive_phase(&g);
		assert_int_equal(current(&g)->phase, p + 1);
		assert_false(engine_running(g.en)); /* one phase at a time */
	}
	assert_non_null(strstr(engine_pause_reason(g.en), "proposal ready"));
	/* stepping at the decision decides what is left, as engine_run would */
	assert_int_equal(engine_step(g.en), 0);
	assert_int_equal(current(&g)->phase, PHASE_COUNT);
	snap_take(&g, &got);
	snap_equal(&want, &got);
	snap_free(&got);
	snap_free(&want);
	rig_close(&g);
}

/* Cancels the phase p right after it started (and after one round of replies), checks it was
 * rolled back, then finishes the iteration and compares with the uninterrupted run. */
static void no_steady_stop(struct fx *f, const char *file)
{
	fx_patch(f, file, "optimizer.steady_stop", cJSON_CreateFalse());
}

static void cancel_in(enum phase p, bool wait_first, enum phase *cancelled, const struct snap *want)
{
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", no_steady_stop);
	if (p > PHASE_FORWARD)
		step_until(&g, p);
	/* a phase answered wholly from the memo finishes inside engine_step, and a short one in
	 * one round of replies: then the next phase is the one cancelled */
	for (;;) {
		assert_true(p < PHASE_DECISION);
		assert_int_equal(engine_step(g.en), 0);
		if (engine_busy(g.en) && wait_first)
			llm_wait(g.l, NULL, 0, 0), engine_poll(g.en);
		if (engine_busy(g.en))
			break;
		p++;
	}
	*cancelled = p;
	int evals = g.ev.n[EV_EVAL_DONE], steps = g.ev.n[EV_STEP_TRACE];
	if (p == PHASE_SELECTION && wait_first) {
		/* cancel once some configurations have been evaluated */
		for (int i = 0; i < 100 && engine_busy(g.en) && !current(&g)->n_evals; i++)
			llm_wait(g.l, NULL, 0, 0), engine_poll(g.en);
		assert_true(engine_busy(g.en));
		assert_true(current(&g)->n_evals > 0);
		evals = g.ev.n[EV_EVAL_DONE];
	}
	engine_cancel(g.en);
	assert_false(engine_busy(g.en));
	assert_false(engine_running(g.en));
	assert_non_null(strstr(engine_pause_reason(g.en), "cancelled"));
	const struct iteration *it = current(&g);
	assert_int_equal(it->phase, p);
	switch (p) {
	case PHASE_FORWARD:
		assert_null(it->traces);
		assert_int_equal(it->n_traces + it->n_bad + it->n_good, 0);
		break;
	case PHASE_ANALYSIS:
		assert_null(it->structure);
		assert_null(it->dependency);
		break;
	case PHASE_GRADIENT:
		for (size_t c = 0; c < it->n_cases; c++)
			assert_true(!it->cases[c].loss && !it->cases[c].gradient);
		break;
	case PHASE_CANDIDATES:
		assert_null(it->cands);
		assert_null(it->budget);
		break;
	case PHASE_SELECTION:
		assert_int_equal(it->n_evals, 0);
		assert_null(it->evals);
		break;
	case PHASE_SHAPLEY:
		assert_null(it->phi);
		break;
	default:
		break;
	}
	/* nothing arrives for the cancelled work */
	for (int i = 0; i < 5; i++)
		llm_wait(g.l, NULL, 0, 10);
	engine_poll(g.en);
	assert_int_equal(g.ev.n[EV_EVAL_DONE], evals);
	assert_int_equal(g.ev.n[EV_STEP_TRACE], steps);
	assert_false(engine_busy(g.en));
	/* resume: the rest of the iteration, same result as without the interruption */
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	assert_int_equal(engine_iterations(g.en), 1);
	assert_int_equal(current(&g)->phase, PHASE_COUNT);
	check_iteration(g.s, current(&g));
	struct snap got;
	snap_take(&g, &got);
	snap_equal(want, &got);
	snap_free(&got);
	rig_close(&g);
}

static void test_cancel_and_resume(void **state)
{
	(void)state;
	struct snap want;
	struct rig g;
	/* the search runs its whole budget, so that selection can be caught in flight after the
	 * initial design (a configuration of it scores 1: the steady-proposal rule would end it) */
	rig_open_patched(&g, FX_DATA, "two.json", no_steady_stop);
	run_one(&g);
	snap_take(&g, &want);
	rig_close(&g);
	/* (Shapley needs no new evaluation here: the search already covered every coalition, so
	 * it finishes inside engine_step and cannot be caught in flight) */
	const enum phase ps[] = {PHASE_FORWARD, PHASE_ANALYSIS,   PHASE_GRADIENT, PHASE_LOCAL,
	                         PHASE_PSEUDO,  PHASE_CANDIDATES, PHASE_SELECTION};
	for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
		enum phase c0, c1;
		cancel_in(ps[i], false, &c0, &want);
		cancel_in(ps[i], true, &c1, &want);
		assert_int_equal(c0, ps[i]);
		assert_true(c1 >= ps[i]);
	}
	snap_free(&want);
}

/* Selection's projection made beside the loop (engine_opts.project_beside): the phase starts
 * when it is in, with the projection and the outcome of the run that made it at once; a pause
 * asked meanwhile keeps the phase from starting, a cancel kills the process making it, a copy
 * that dies gives way to the projection made at once, one a view made just before is taken,
 * and every way the iteration then ends as the uninterrupted run.  The forward pass's too. */
static void test_project_beside(void **state)
{
	(void)state;
	struct snap want, got;
	struct rig r;
	rig_open(&r, FX_DATA, "two.json", NULL);
	step_until(&r, PHASE_SELECTION);
	assert_int_equal(engine_step(r.en), 0);
	struct phase_cost at_once = current(&r)->cost[PHASE_SELECTION];
	assert_true(at_once.projected_calls > 0);
	drive_phase(&r);
	rig_close(&r);
	reference(FX_DATA, "two.json", &want);
	rig_open(&r, FX_DATA, "two.json", NULL);
	engine_project_beside(r.en, true);
	assert_int_equal(engine_step(r.en), 0);
	assert_true(engine_busy(r.en));
	assert_int_equal(r.ev.started[PHASE_FORWARD], 0); /* not before its projection is in */
	drive_phase(&r);
	assert_int_equal(r.ev.started[PHASE_FORWARD], 1);
	assert_true(current(&r)->cost[PHASE_FORWARD].projected_calls > 0);
	rig_close(&r);
	/* 0: as is, 1: paused, 2: cancelled meanwhile, 3: its copy dies (made at once then),
	 * 4: a view made it just before (taken: the phase starts at once) */
	for (int how = 0; how < 5; how++) {
		struct rig g;
		rig_open(&g, FX_DATA, "two.json", NULL);
		engine_project_beside(g.en, true);
		step_until(&g, PHASE_SELECTION);
		int started = g.ev.started[PHASE_SELECTION];
		struct cost_projection next;
		if (how == 3)
			llm_beside_fault(SIGKILL);
		if (how == 4)
			engine_project_next(g.en, &next);
		assert_int_equal(engine_step(g.en), 0);
		/* its projection is being made, or was there */
		assert_int_equal(g.ev.started[PHASE_SELECTION], started + (how == 4));
		assert_true(engine_busy(g.en));
		if (how == 1)
			engine_pause(g.en);
		if (how == 2) {
			engine_cancel(g.en);
			assert_false(engine_busy(g.en));
			assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* killed and reaped */
		}
		drive_phase(&g);
		const struct phase_cost *pc = &current(&g)->cost[PHASE_SELECTION];
		if (how == 0 || how >= 3) {
			assert_int_equal(g.ev.started[PHASE_SELECTION], started + 1);
			assert_int_equal(current(&g)->phase, PHASE_SHAPLEY);
			assert_int_equal(pc->projected_calls, at_once.projected_calls);
			assert_int_equal(pc->projected_cached, at_once.projected_cached);
			assert_true(pc->projected_usd == at_once.projected_usd);
			assert_int_equal(pc->projected_tokens_in, at_once.projected_tokens_in);
			assert_int_equal(pc->projected_tokens_out, at_once.projected_tokens_out);
		} else {
			assert_int_equal(g.ev.started[PHASE_SELECTION], started);
			assert_int_equal(current(&g)->phase, PHASE_SELECTION);
			assert_non_null(
			    strstr(engine_pause_reason(g.en), how == 1 ? "paused" : "cancelled"));
		}
		assert_int_equal(engine_run(g.en, 1), 0);
		drive(&g);
		assert_int_equal(current(&g)->phase, PHASE_COUNT);
		assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
		snap_take(&g, &got);
		snap_equal(&want, &got);
		snap_free(&got);
		rig_close(&g);
	}
	snap_free(&want);
}

/* 300 training examples, all in the batch. */
static void patch_big_batch(struct fx *f, const char *file)
{
	struct sbuf b = {0};
	static const char *const words[] = {"apple", "river", "candle", "garden"};
	for (int i = 0; i < 300; i++)
		sbuf_addf(&b,
		          "{\"id\": \"t%d\", \"question\": \"The thing %d is %s.\", "
		          "\"answer\": \"%s\"}\n",
		          i, i, words[i % 4], words[i % 4]);
	char *train = fx_path(f, "train.jsonl");
	fx_write(train, b.s, b.len);
	free(train);
	sbuf_free(&b);
	fx_patch(f, file, "optimizer.batch_size", cJSON_CreateNumber(300));
}

/* The forward pass starts its examples a slice a turn of the loop (at most 128), never all in
 * the turn that starts the phase; every one runs. */
static void test_forward_in_slices(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_big_batch);
	struct llm_stats st;
	assert_int_equal(engine_step(g.en), 0);
	llm_get_stats(g.l, &st);
	assert_int_equal(st.submitted, 0); /* nothing in the turn that started it */
	assert_true(llm_wait(g.l, NULL, 0, 0) >= 0);
	llm_get_stats(g.l, &st);
	assert_true(st.submitted > 0 && st.submitted <= 128);
	drive_phase(&g);
	assert_int_equal(current(&g)->n_traces, 300);
	rig_close(&g);
}

/* ---- decisions ---- */

static const struct step_change *change_of(const struct iteration *it, size_t c)
{
	assert_true(c < it->n_changes);
	return &it->changes[c];
}

static void test_decisions(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, FX_DATA, "two.json", NULL);
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	const struct iteration *it = current(&g);
	assert_int_equal(it->phase, PHASE_DECISION);
	assert_non_null(strstr(engine_pause_reason(g.en), "proposal ready"));
	assert_true(it->n_changes >= 1);
	const struct step_change *ch = change_of(it, 0);
	int step = ch->step;
	struct step *st = &g.s->steps[step];
	char *old = xstrdup(st->prompt);
	size_t nv0, nv;
	engine_versions(g.en, &nv0);

	/* an edit that drops a required input is refused and changes nothing */
	int errors = g.ev.n[EV_ERROR];
	assert_int_equal(engine_edit(g.en, step, "Just answer the question."), -1);
	assert_int_equal(g.ev.n[EV_ERROR], errors + 1);
	assert_non_null(strstr(g.ev.last_error, "drops the input {{"));
	assert_int_equal(engine_edit(g.en, step, "Broken {{w"), -1);
	assert_int_equal(ch->decision, DECISION_NONE);
	assert_string_equal(st->prompt, old);
	engine_versions(g.en, &nv);
	assert_int_equal(nv, nv0);
	/* no decision for a step without a change, nor twice for one */
	assert_int_equal(engine_accept(g.en, (int)g.s->n_steps + 3), -1);

	/* a valid edit becomes the prompt and a new version marked edited */
	const char *var = step == 0 ? "{{q}}" : "{{w}}";
	char *edited = xasprintf("Edited by hand.\nInput: %s\nAnswer:", var);
	assert_int_equal(engine_edit(g.en, step, edited), 0);
	assert_int_equal(ch->decision, DECISION_EDIT);
	assert_string_equal(ch->edited, edited);
	assert_string_equal(st->prompt, edited);
	const struct prompt_version *v = engine_versions(g.en, &nv);
	assert_int_equal(nv, nv0 + 1);
	assert_true(v[nv - 1].edited && v[nv - 1].step == step && v[nv - 1].iteration == 1);
	assert_string_equal(v[nv - 1].prompt, edited);
	assert_int_equal(v[nv - 1].version, 2);
	if (it->n_changes == 1) /* every change decided: the iteration closed */
		assert_int_equal(it->phase, PHASE_COUNT);
	/* undo restores the prompt and the version list, and opens a closed iteration again */
	assert_int_equal(engine_undo(g.en), 0);
	assert_int_equal(it->phase, PHASE_DECISION);
	assert_int_equal(ch->decision, DECISION_NONE);
	assert_null(ch->edited);
	assert_string_equal(st->prompt, old);
	engine_versions(g.en, &nv);
	assert_int_equal(nv, nv0);
	/* accept, undo, reject */
	assert_int_equal(engine_accept(g.en, step), 0);
	assert_string_equal(st->prompt, ch->new_prompt);
	assert_int_equal(engine_accept(g.en, step), -1); /* decided already */
	assert_int_equal(engine_undo(g.en), 0);
	assert_string_equal(st->prompt, old);
	assert_int_equal(engine_reject(g.en, step), 0);
	assert_int_equal(ch->decision, DECISION_REJECT);
	assert_string_equal(st->prompt, old);
	engine_versions(g.en, &nv);
	assert_int_equal(nv, nv0);
	assert_int_equal(engine_undo(g.en), 0);
	assert_int_equal(engine_undo(g.en), -1); /* nothing left to undo */
	/* the remaining changes decided together close the iteration; the last decision stays
	 * undoable (the iteration opens again) until the next forward pass starts */
	assert_int_equal(engine_decide_remaining(g.en), 0);
	assert_int_equal(it->phase, PHASE_COUNT);
	double val = engine_val_score(g.en);
	assert_int_equal(engine_undo(g.en), 0);
	assert_int_equal(it->phase, PHASE_DECISION);
	assert_int_equal(engine_decide_remaining(g.en), 0);
	assert_int_equal(it->phase, PHASE_COUNT);
	assert_true(engine_val_score(g.en) == val);
	assert_int_equal(engine_step(g.en), 0); /* the next iteration's forward pass */
	drive_phase(&g);
	assert_int_equal(engine_undo(g.en), -1);
	free(edited);
	free(old);
	rig_close(&g);
}

/* ---- save and reopen mid-iteration ---- */

/* Saves and reopens; legacy: the file as an older adopt-tui wrote it, "state" without the
 * unfinished iteration's record. */
static void reopen_as(struct rig *g, bool legacy)
{
	struct err e = {{0}};
	engine_store(g->en);
	if (legacy)
		cJSON_DeleteItemFromObjectCaseSensitive(session_section(g->s, "state"), "record");
	char *path = fx_path(&g->f, g->file);
	assert_int_equal(session_save(g->s, path, &e), 0);
	free(path);
	rig_close_engine(g);
	g->s = fx_load(&g->f, g->file);
	g->l = fx_llm(&g->f, g->cache);
	rig_engine(g);
}

static void reopen(struct rig *g)
{
	reopen_as(g, false);
}

/* Reopened mid-iteration, the iteration stands where it stopped and nothing is sent (an
 * older file without its record: replayed from the cache, free); going on gives what an
 * uninterrupted run gives. */
static void save_reopen_resume(bool legacy)
{
	struct snap want;
	reference(FX_DATA, "two.json", &want);
	struct rig g;
	rig_open(&g, FX_DATA, "two.json", "two.cache.jsonl");
	step_until(&g, PHASE_CANDIDATES);
	char *structure = xstrdup(current(&g)->structure);
	char *loss = xstrdup(current(&g)->cases[0].loss);
	struct phase_cost cost[PHASE_COUNT];
	memcpy(cost, current(&g)->cost, sizeof cost);
	struct llm_stats paid;
	llm_get_stats(g.l, &paid);
	assert_true(paid.done > 0);
	assert_int_equal(paid.cached, 0);
	reopen_as(&g, legacy);
	/* the reopened engine knows where it stopped */
	assert_int_equal(engine_iterations(g.en), 1);
	assert_int_equal(current(&g)->number, 1);
	if (legacy) {
		assert_int_equal(current(&g)->phase, PHASE_FORWARD);
		assert_int_equal(engine_resume(g.en), 0);
		drive(&g);
	}
	const struct iteration *it = current(&g);
	assert_int_equal(it->phase, PHASE_CANDIDATES);
	assert_string_equal(it->structure, structure);
	assert_string_equal(it->cases[0].loss, loss);
	/* the replay paid for nothing: every call came from the cache; reopened with its record,
	 * there is no call at all */
	struct llm_stats st;
	llm_get_stats(g.l, &st);
	assert_true(legacy ? st.done > 0 : st.done == 0);
	assert_int_equal(st.cached, st.done);
	assert_int_equal(st.network_requests, 0);
	assert_true(st.cost_usd == 0);
	/* the replayed phases cost what they cost when they ran, and the replay is no new call */
	for (int p = PHASE_FORWARD; p < PHASE_CANDIDATES; p++) {
		assert_int_equal(it->cost[p].calls, cost[p].calls);
		assert_int_equal(it->cost[p].cached, cost[p].cached);
		assert_true(it->cost[p].cost_usd == cost[p].cost_usd);
	}
	struct engine_totals tot;
	engine_totals(g.en, &tot);
	assert_int_equal(tot.calls, 0);
	assert_int_equal(engine_resume(g.en), -1); /* nothing left to replay */
	/* going on gives what an uninterrupted run gives */
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	assert_int_equal(current(&g)->phase, PHASE_COUNT);
	struct snap got;
	snap_take(&g, &got);
	snap_equal(&want, &got);
	snap_free(&got);
	/* a finished iteration comes back from the history with its prompts and versions */
	size_t nv;
	engine_versions(g.en, &nv);
	double phi1 = current(&g)->phi[1];
	reopen(&g);
	assert_int_equal(engine_iterations(g.en), 1);
	assert_int_equal(current(&g)->phase, PHASE_COUNT);
	assert_non_null(current(&g)->saved);
	assert_true(fabs(current(&g)->phi[1] - phi1) < 1e-12);
	assert_int_equal(engine_resume(g.en), -1);
	size_t nv2;
	engine_versions(g.en, &nv2);
	assert_int_equal(nv2, nv);
	for (size_t i = 0; i < g.s->n_steps; i++)
		assert_string_equal(g.s->steps[i].prompt, want.prompts[i]);
	free(structure);
	free(loss);
	snap_free(&want);
	rig_close(&g);
}

static void test_save_reopen_resume(void **state)
{
	(void)state;
	save_reopen_resume(false);
	save_reopen_resume(true);
}

/* ---- memoization ---- */

/* Lines of a cache file and how many distinct request keys they hold. */
static void cache_keys(const struct fx *f, const char *name, size_t *lines, size_t *unique)
{
	char *p = fx_path(f, name), *text = NULL;
	size_t n;
	struct err e = {{0}};
	assert_int_equal(file_read(p, 1 << 26, &text, &n, &e), 0);
	char **keys = NULL;
	size_t cap = 0;
	*lines = *unique = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
		assert_true(cJSON_IsString(k));
		bool seen = false;
		for (size_t i = 0; i < *unique && !seen; i++)
			seen = strcmp(keys[i], k->valuestring) == 0;
		if (!seen) {
			keys = xgrow(keys, &cap, *unique + 1, sizeof *keys);
			keys[(*unique)++] = xstrdup(k->valuestring);
		}
		(*lines)++;
		cJSON_Delete(j);
	}
	for (size_t i = 0; i < *unique; i++)
		free(keys[i]);
	free(keys);
	free(text);
	free(p);
}

static void test_no_repeated_request(void **state)
{
	(void)state;
	/* Every answer the model actually gave is appended to the cache once; a request paid
	 * twice would show up as a second line with the same key.  (Identical requests in flight
	 * at once share one answer, and one submitted again before the memo heard of its twin is
	 * a free cache hit: neither reaches the model.) */
	const char *const srcs[][2] = {{FX_DATA, "two.json"},
	                               {"examples/chain5", "session.json"},
	                               {"examples/dialogue-loop", "session.json"}};
	for (size_t k = 0; k < 3; k++) {
		struct rig g;
		rig_open(&g, srcs[k][0], srcs[k][1], "memo.cache.jsonl");
		assert_int_equal(engine_run(g.en, 2), 0);
		drive(&g);
		assert_int_equal(engine_iterations(g.en), 2);
		struct llm_stats st;
		llm_get_stats(g.l, &st);
		struct engine_totals t;
		engine_totals(g.en, &t);
		assert_true(t.memo_hits > 0); /* search and Shapley re-used upstream outputs */
		assert_int_equal(t.calls, st.done);
		assert_int_equal(st.failed, 0);
		engine_free(g.en);
		g.en = NULL;
		llm_free(g.l); /* flushes the cache file */
		g.l = NULL;
		size_t lines, unique;
		cache_keys(&g.f, "memo.cache.jsonl", &lines, &unique);
		assert_int_equal(lines, unique);
		assert_int_equal((long)lines, st.done - st.cached); /* done counts requests */
		rig_close(&g);
	}
}

/* ---- edge cases ---- */

static void patch_frozen_find(struct fx *f, const char *file)
{
	fx_patch(f, file, "pipeline.steps.0.frozen", cJSON_CreateTrue());
}

static void test_shapley_one_step(void **state)
{
	(void)state;
	/* a pipeline of one LLM step, and two steps of which one is frozen: one player */
	for (int k = 0; k < 2; k++) {
		struct rig g;
		if (k == 0)
			rig_open(&g, FX_DATA, "one.json", NULL);
		else
			rig_open_patched(&g, FX_DATA, "two.json", patch_frozen_find);
		run_one(&g);
		const struct iteration *it = current(&g);
		assert_true(it->n_bad > 0);
		check_iteration(g.s, it);
		int step = (int)g.s->n_steps - 1;
		assert_true(isfinite(it->phi[step]) && !isnan(it->phi_sd[step]));
		/* one player: its value is the whole gain of its strong prompt */
		if (strcmp(it->shapley_method, "exact") == 0 && it->n_cands[step]) {
			double strong = -1;
			for (size_t e = 0; e < it->n_evals; e++)
				if (it->evals[e].choice[step] > 0 && it->evals[e].score > strong)
					strong = it->evals[e].score;
			assert_true(fabs(it->phi[step] - (strong - it->base_score)) < 1e-9);
		}
		assert_int_equal(it->next_budget[step],
		                 MAX(g.s->opt.budget_total, g.s->opt.budget_floor));
		rig_close(&g);
	}
}

static void patch_all_good(struct fx *f, const char *file)
{
	fx_patch(f, file, "dataset.train", cJSON_CreateString("train_good.jsonl"));
}

static void patch_all_bad(struct fx *f, const char *file)
{
	fx_patch(f, file, "dataset.train", cJSON_CreateString("train_bad.jsonl"));
}

static void patch_big_val(struct fx *f, const char *file)
{
	fx_patch(f, file, "optimizer.val_size", cJSON_CreateNumber(50));
}

static void test_all_good_batch(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_all_good);
	run_one(&g);
	const struct iteration *it = current(&g);
	assert_true(it->train_score == 1.0);
	assert_int_equal(it->n_bad, 0);
	assert_int_equal(it->n_cases, 0);
	assert_non_null(it->note);
	assert_non_null(strstr(it->note, "every case in the batch is good"));
	assert_null(it->structure); /* nothing to analyse: no role was asked */
	assert_int_equal(it->n_changes, 0);
	for (int p = PHASE_ANALYSIS; p <= PHASE_CANDIDATES; p++)
		assert_int_equal(it->cost[p].calls, 0);
	assert_int_equal(g.ev.n[EV_ITERATION_DONE], 1);
	/* the prompts are untouched */
	assert_string_equal(g.s->steps[0].prompt, "Find the key word in: {{q}}\nKey word:");
	/* "run to the proposal" stops at the end of an iteration with nothing to propose,
	 * instead of running iteration after iteration */
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	assert_false(engine_running(g.en));
	assert_int_equal(engine_iterations(g.en), 2);
	assert_int_equal(current(&g)->phase, PHASE_COUNT);
	assert_non_null(strstr(engine_pause_reason(g.en), "iteration 2 found no change"));
	rig_close(&g);
}

static void test_all_bad_batch(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_all_bad);
	run_one(&g);
	const struct iteration *it = current(&g);
	assert_true(it->train_score == 0);
	assert_int_equal(it->n_good, 0);
	assert_int_equal(it->n_bad, (size_t)g.s->opt.minibatch_bad);
	check_iteration(g.s, it);
	rig_close(&g);
}

static void test_small_validation_split(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_big_val);
	run_one(&g);
	const struct iteration *it = current(&g);
	assert_int_equal(it->n_val, g.s->data.splits[SPLIT_VAL].n);
	assert_non_null(it->note);
	assert_non_null(strstr(it->note, "fewer than val_size 50"));
	check_iteration(g.s, it);
	rig_close(&g);
}

static void patch_mute_roles(struct fx *f, const char *file)
{
	fx_patch(f, file, "models.optimizer.rules", cJSON_CreateString("empty_rules.json"));
}

static void test_role_model_fails(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_mute_roles);
	assert_int_equal(engine_run(g.en, 1), 0);
	drive(&g);
	const struct iteration *it = current(&g);
	/* the loop stopped with a message saying why, in the analysis */
	assert_true(g.ev.n[EV_ERROR] > 0);
	assert_non_null(engine_pause_reason(g.en));
	assert_non_null(strstr(engine_pause_reason(g.en), "analysis: every role request failed"));
	assert_non_null(strstr(engine_pause_reason(g.en), "optimizer.role_model"));
	assert_int_equal(it->phase, PHASE_ANALYSIS);
	/* what was paid for is kept: the forward pass and its traces */
	assert_int_equal(it->n_traces, (size_t)g.s->opt.batch_size);
	assert_true(it->cost[PHASE_FORWARD].calls > 0);
	assert_true(it->n_bad > 0);
	assert_null(it->structure);
	/* and the session's prompts are untouched */
	assert_string_equal(g.s->steps[1].prompt,
	                    "Turn the key word into the answer.\nKey word: {{w}}\nAnswer:");
	rig_close(&g);
}

/* ---- cost ---- */

static void patch_prices(struct fx *f, const char *file)
{
	const char *const models[] = {"task", "optimizer"};
	for (int i = 0; i < 2; i++) {
		char *k = xasprintf("models.%s.price_in", models[i]);
		fx_patch(f, file, k, cJSON_CreateNumber(1000));
		free(k);
		k = xasprintf("models.%s.price_out", models[i]);
		fx_patch(f, file, k, cJSON_CreateNumber(1000));
		free(k);
	}
}

static void test_cost_projection(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_prices);
	long calls;
	double usd;
	engine_projection(g.en, &calls, &usd);
	assert_int_equal(calls, 16); /* 8 examples x 2 LLM steps */
	run_one(&g);
	const struct iteration *it = current(&g);
	double sum = 0;
	for (int p = PHASE_FORWARD; p < PHASE_COUNT; p++) {
		const struct phase_cost *c = &it->cost[p];
		sum += c->cost_usd;
		if (c->calls > c->cached)
			assert_true(c->cost_usd > 0 && c->tokens_in > 0);
		if (c->calls)
			assert_true(c->projected_calls > 0);
	}
	assert_int_equal(it->cost[PHASE_FORWARD].projected_calls, 16);
	assert_int_equal(it->cost[PHASE_FORWARD].calls, 16);
	assert_int_equal(it->cost[PHASE_ANALYSIS].projected_calls, 3); /* E1 + E2 per step */
	assert_int_equal(it->cost[PHASE_ANALYSIS].calls, 3);
	assert_int_equal(it->cost[PHASE_GRADIENT].calls, 2 * (long)it->n_bad);
	assert_int_equal(it->cost[PHASE_GRADIENT].projected_calls, 2 * (long)it->n_bad);
	/* later phases are projected from the calls so far */
	assert_true(it->cost[PHASE_GRADIENT].projected_usd > 0);
	struct engine_totals t;
	engine_totals(g.en, &t);
	assert_true(fabs(t.cost_usd - sum) < 1e-9);
	rig_close(&g);
}

/* A run's projection before it starts: whole iterations, the one in progress counting as the
 * first (as engine_run counts), and R's patience stopping a run that gains nothing. */
static void test_run_projection_and_patience(void **state)
{
	(void)state;
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_prices);
	long c0, c1, c2, next;
	double u0, u1, u2, unext;
	engine_projection_run(g.en, 0, &c0, &u0);
	engine_projection_run(g.en, 1, &c1, &u1);
	engine_projection_run(g.en, 2, &c2, &u2);
	engine_projection(g.en, &next, &unext);
	assert_int_equal(c0, c1); /* no iteration yet: to the proposal is one iteration */
	assert_int_equal(c2, 2 * c1);
	assert_true(c1 > next && next == 16); /* more than the forward pass alone */
	assert_true(u1 > unext && unext > 0 && fabs(u2 - 2 * u1) < 1e-12);
	/* a proposal waiting: to the next proposal is a whole new iteration; one iteration is the
	 * one waiting, which costs nothing more */
	assert_int_equal(engine_run_to_proposal(g.en), 0);
	drive(&g);
	assert_int_equal(current(&g)->phase, PHASE_DECISION);
	long cw0, cw1;
	double uw;
	engine_projection_run(g.en, 0, &cw0, &uw);
	assert_true(cw0 > 0);
	engine_projection_run(g.en, 1, &cw1, &uw);
	assert_int_equal(cw1, 0);
	assert_true(uw == 0);
	/* patience 1: the run stops at the first iteration without gain, long before 50 */
	engine_set_patience(g.en, 1);
	assert_int_equal(engine_run(g.en, 50), 0);
	drive(&g);
	const char *why = engine_pause_reason(g.en);
	assert_non_null(why);
	assert_non_null(strstr(why, "without validation gain (patience 1)"));
	assert_true(engine_iterations(g.en) < 50);
	const struct iteration *it = current(&g);
	assert_int_equal(it->phase, PHASE_COUNT);
	bool taken = false;
	for (size_t c = 0; c < it->n_changes; c++)
		taken |= it->changes[c].decision == DECISION_ACCEPT;
	assert_false(taken && it->best_score > it->base_score);
	rig_close(&g);
}

static double cap_usd;

static void patch_cap(struct fx *f, const char *file)
{
	patch_prices(f, file);
	fx_patch(f, file, "optimizer.cost_cap_usd", cJSON_CreateNumber(cap_usd));
}

static void test_budget_cap(void **state)
{
	(void)state;
	/* what an iteration costs at these prices */
	struct rig g;
	rig_open_patched(&g, FX_DATA, "two.json", patch_prices);
	run_one(&g);
	struct engine_totals full;
	engine_totals(g.en, &full);
	double forward = current(&g)->cost[PHASE_FORWARD].cost_usd;
	rig_close(&g);
	assert_true(full.cost_usd > forward && forward > 0);
	/* caps: below the first phase, and half way */
	const double caps[] = {forward / 100, (full.cost_usd + forward) / 2};
	for (int k = 0; k < 2; k++) {
		cap_usd = caps[k];
		rig_open_patched(&g, FX_DATA, "two.json", patch_cap);
		/* refused at once (-1) when even the first phase would pass the cap */
		int rc = engine_run(g.en, 1);
		assert_int_equal(rc, k == 0 ? -1 : 0);
		drive(&g);
		struct engine_totals t;
		engine_totals(g.en, &t);
		const char *why = engine_pause_reason(g.en);
		assert_non_null(why);
		assert_non_null(strstr(why, "budget cap"));
		assert_non_null(strstr(why, "optimizer.cost_cap_usd"));
		char cap[32];
		snprintf(cap, sizeof cap, "$%.4f", cap_usd);
		assert_non_null(strstr(why, cap));
		if (t.cost_usd > cap_usd)
			fail_msg("cap $%.6f: spent $%.6f before pausing", cap_usd, t.cost_usd);
		if (k == 0)
			assert_true(t.cost_usd == 0 && current(&g)->phase == PHASE_FORWARD);
		else
			assert_true(t.cost_usd > forward && current(&g)->phase < PHASE_COUNT);
		if (k == 1) {
			/* the cap is the session's: reopened, the spend of the earlier run still
			 * counts, and the phase refused before is refused again */
			enum phase stopped = current(&g)->phase;
			reopen(&g);
			struct engine_totals run, spent;
			engine_totals(g.en, &run);
			engine_spent(g.en, &spent);
			assert_true(run.cost_usd == 0);
			assert_true(fabs(spent.cost_usd - t.cost_usd) < 1e-9);
			assert_int_equal(spent.tokens_in, t.tokens_in);
			engine_run(g.en, 1);
			drive(&g);
			engine_spent(g.en, &spent);
			if (spent.cost_usd > cap_usd)
				fail_msg("reopened: spent $%.6f past the cap $%.6f", spent.cost_usd,
				         cap_usd);
			assert_true(current(&g)->phase <= stopped);
			assert_non_null(
			    strstr(engine_pause_reason(g.en), "this session has spent"));
		}
		rig_close(&g);
	}
}

/* ---- determinism ---- */

static void test_deterministic(void **state)
{
	(void)state;
	/* two engines on two fresh copies, fixed seed: the same prompts, scores, phi */
	const char *const srcs[][2] = {{FX_DATA, "two.json"}, {"examples/chain5", "session.json"}};
	for (size_t k = 0; k < 2; k++) {
		struct snap sn[2][2];
		for (int r = 0; r < 2; r++) {
			struct rig g;
			rig_open(&g, srcs[k][0], srcs[k][1], NULL);
			assert_int_equal(engine_run(g.en, 2), 0);
			drive(&g);
			assert_int_equal(engine_iterations(g.en), 2);
			for (size_t i = 0; i < 2; i++)
				snap_take_it(&g, engine_iteration(g.en, i), &sn[r][i]);
			rig_close(&g);
		}
		for (size_t i = 0; i < 2; i++) {
			snap_equal(&sn[0][i], &sn[1][i]);
			snap_free(&sn[0][i]);
			snap_free(&sn[1][i]);
		}
	}
}

/* ---- against the test LLM server ---- */

static int server_port;

static void patch_server(struct fx *f, const char *file)
{
	fx_patch_server(f, file, server_port);
}

static cJSON *server_stats(void)
{
	cJSON *j = llm_server_call(server_port, "GET", "/_stats", NULL);
	assert_non_null(j);
	return j;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		fail_msg("/_stats: %s is not a number", key);
	return v->valuedouble;
}

static pid_t server_pid;

static int server_teardown(void **state)
{
	(void)state;
	if (server_pid) {
		llm_server_stop(server_pid);
		server_pid = 0;
	}
	return 0;
}

static pid_t server_start(const char *rules)
{
	const char *bin = llm_server_bin("test_engine");
	if (!bin)
		return 0;
	pid_t pid = llm_server_spawn(bin, rules, NULL, &server_port);
	if (pid < 0)
		fail_msg("the test LLM server did not start");
	server_pid = pid;
	return pid;
}

static void server_stop(pid_t pid)
{
	llm_server_stop(pid);
	server_pid = 0;
}

static void test_server_sees_no_repeat(void **state)
{
	(void)state;
	struct snap want[2];
	{
		struct rig g;
		rig_open(&g, FX_DATA, "two.json", NULL);
		assert_int_equal(engine_run(g.en, 2), 0);
		drive(&g);
		for (size_t i = 0; i < 2; i++)
			snap_take_it(&g, engine_iteration(g.en, i), &want[i]);
		rig_close(&g);
	}
	struct fx tmp;
	fx_init(&tmp, FX_DATA);
	char *rules = fx_path(&tmp, "rules.json");
	pid_t pid = server_start(rules);
	free(rules);
	if (pid) {
		setenv("ADOPT_TEST_LLM_API_KEY", "test-key", 1);
		/* With a response cache, as the application runs by default.  (Without one, a
		 * request submitted after its twin's answer arrived but before it was delivered is
		 * sent again: the LLM layer shares only requests still queued or running.) */
		struct rig g;
		rig_open_patched(&g, FX_DATA, "two.json", patch_server);
		engine_free(g.en);
		llm_free(g.l);
		g.cache = "server.cache.jsonl";
		g.l = fx_llm(&g.f, g.cache);
		rig_engine(&g);
		assert_string_equal(g.s->steps[0].model_cfg->provider, "openai");
		assert_int_equal(engine_run(g.en, 2), 0);
		drive(&g);
		assert_int_equal(engine_iterations(g.en), 2);
		struct llm_stats st;
		llm_get_stats(g.l, &st);
		assert_int_equal(st.failed, 0);
		assert_true(st.network_requests > 0);
		cJSON *ss = server_stats();
		assert_true(jnum(ss, "requests") == (double)st.network_requests);
		assert_true(jnum(ss, "repeated_bodies") == 0);
		assert_true(jnum(ss, "unique_bodies") == (double)st.network_requests);
		assert_true(st.network_requests <= st.done - st.cached);
		cJSON_Delete(ss);
		/* the same rules over the wire: the same optimization */
		for (size_t i = 0; i < 2; i++) {
			struct snap got;
			snap_take_it(&g, engine_iteration(g.en, i), &got);
			snap_equal(&want[i], &got);
			snap_free(&got);
		}
		rig_close(&g);
		server_stop(pid);
	}
	fx_done(&tmp);
	for (size_t i = 0; i < 2; i++)
		snap_free(&want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iteration_two_step),
	    cmocka_unit_test(test_iteration_chain5),
	    cmocka_unit_test(test_iteration_loop),
	    cmocka_unit_test(test_loop_every_round),
	    cmocka_unit_test(test_structure_sees_program),
	    cmocka_unit_test(test_val_sample_seed),
	    cmocka_unit_test(test_dependency_sees_good_cases),
	    cmocka_unit_test(test_dependency_budget),
	    cmocka_unit_test(test_stepping_equals_run),
	    cmocka_unit_test(test_cancel_and_resume),
	    cmocka_unit_test(test_project_beside),
	    cmocka_unit_test(test_forward_in_slices),
	    cmocka_unit_test(test_decisions),
	    cmocka_unit_test(test_save_reopen_resume),
	    cmocka_unit_test(test_no_repeated_request),
	    cmocka_unit_test(test_shapley_one_step),
	    cmocka_unit_test(test_all_good_batch),
	    cmocka_unit_test(test_all_bad_batch),
	    cmocka_unit_test(test_small_validation_split),
	    cmocka_unit_test(test_role_model_fails),
	    cmocka_unit_test(test_cost_projection),
	    cmocka_unit_test(test_budget_cap),
	    cmocka_unit_test(test_run_projection_and_patience),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test_teardown(test_server_sees_no_repeat, server_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

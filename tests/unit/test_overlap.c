/* test_overlap.c: optimizer.overlap against the test LLM server with latency and a concurrency
 * of 2 per model (so requests queue and come back one after another): a run of one iteration
 * sends E1 before the forward pass has finished, loss and gradient requests before the analysis
 * phase has, and an E6 while some E5 is still out; phases still start and finish in order; the
 * iteration is the same (scores, analyses, proposal, calls per phase) as with overlap off, which
 * sends no request ahead of its phase, and so does stepping one phase at a time; with room for
 * two evaluations at once the search proposes two configurations at a time.  Skips when there
 * is no test server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <string.h>

#include "engine/engine.h"
#include "engine_fixture.h"
#include "llm_server.h"

static int server_port;
static pid_t server_pid;

#define MAX_LOG 4096

/* What the front end saw, in order. */
struct seen {
	struct llm *l;
	struct engine *en;
	int n;
	enum engine_event_kind kind[MAX_LOG];
	enum phase phase[MAX_LOG];   /* the event's phase: a request's own phase */
	enum phase running[MAX_LOG]; /* the iteration's phase when it came */
	long local_done[MAX_LOG];    /* E5 answers in by then */
	long wait[MAX_LOG];          /* llm_wait calls by then: events between two came together */
	long waits;
};

struct local_sum {
	long done;
};

static void sum_local(void *arg, const char *tag, const struct llm_stats *s)
{
	struct local_sum *ls = arg;
	if (strcmp(tag, "role:local") == 0)
		ls->done += s->done + s->failed;
}

static void on_event(void *arg, const struct engine_event *ev)
{
	struct seen *w = arg;
	if (w->n >= MAX_LOG)
		return;
	const struct iteration *it = w->en ? engine_current(w->en) : NULL;
	struct local_sum ls = {0};
	llm_foreach_tag(w->l, sum_local, &ls);
	w->kind[w->n] = ev->kind;
	w->phase[w->n] = ev->phase;
	w->running[w->n] = it ? it->phase : PHASE_FORWARD;
	w->local_done[w->n] = ls.done;
	w->wait[w->n] = w->waits;
	w->n++;
}

static void patch(struct fx *f, const char *file, bool overlap, int task_conc)
{
	fx_patch_server(f, file, server_port);
	fx_patch(f, file, "models.task.concurrency", cJSON_CreateNumber(task_conc));
	fx_patch(f, file, "models.optimizer.concurrency", cJSON_CreateNumber(2));
	fx_patch(f, file, "optimizer.overlap", cJSON_CreateBool(overlap));
}

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
	struct seen *w;
};

/* token_cap: optimizer.token_cap (0: none). */
static void rig_open_cap(struct rig *g, bool overlap, int task_conc, long token_cap)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, FX_DATA);
	patch(&g->f, "two.json", overlap, task_conc);
	if (token_cap)
		fx_patch(&g->f, "two.json", "optimizer.token_cap", cJSON_CreateNumber(token_cap));
	g->s = fx_load(&g->f, "two.json");
	g->l = fx_llm(&g->f, NULL);
	g->w = xcalloc(1, sizeof *g->w);
	g->w->l = g->l;
	struct engine_opts o = {.auto_accept = true};
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &o, on_event, g->w, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
	g->w->en = g->en;
}

static void rig_open(struct rig *g, bool overlap, int task_conc)
{
	rig_open_cap(g, overlap, task_conc, 0);
}

static void rig_close(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	free(g->w);
	fx_done(&g->f);
}

static void drive(struct rig *g)
{
	for (int i = 0; i < 100000 && engine_running(g->en); i++) {
		if (engine_busy(g->en)) {
			g->w->waits++;
			assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		}
		engine_poll(g->en);
	}
	assert_false(engine_running(g->en));
	engine_poll(g->en);
}

/* The index of the first event of kind k (with phase p, or any when p is PHASE_COUNT), or -1. */
static int first(const struct seen *w, enum engine_event_kind k, enum phase p)
{
	for (int i = 0; i < w->n; i++)
		if (w->kind[i] == k && (p == PHASE_COUNT || w->phase[i] == p))
			return i;
	return -1;
}

/* Requests sent for a phase later than the one running (or while none runs). */
static int sent_ahead(const struct seen *w)
{
	int n = 0;
	for (int i = 0; i < w->n; i++)
		n += w->kind[i] == EV_REQUEST_SENT && w->phase[i] != w->running[i];
	return n;
}

/* Phases start and finish in order, one at a time, each once. */
static void check_phase_order(const struct seen *w)
{
	int next = PHASE_FORWARD;
	bool open = false;
	for (int i = 0; i < w->n; i++) {
		if (w->kind[i] == EV_PHASE_STARTED) {
			assert_false(open);
			assert_int_equal(w->phase[i], next);
			open = true;
		} else if (w->kind[i] == EV_PHASE_FINISHED) {
			assert_true(open);
			assert_int_equal(w->phase[i], next);
			open = false;
			next++;
		}
	}
	assert_false(open);
	assert_true(next >= PHASE_PROPOSAL);
}

static void same_text(const char *a, const char *b)
{
	if (!a || !b)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

/* The same iteration, whatever the schedule. */
static void same_iteration(const struct session *s, const struct iteration *a,
                           const struct iteration *b)
{
	assert_true(a->train_score == b->train_score);
	assert_int_equal(a->n_bad, b->n_bad);
	same_text(a->structure, b->structure);
	for (size_t i = 0; i < s->n_steps; i++)
		same_text(a->dependency[i], b->dependency[i]);
	for (size_t c = 0; c < a->n_cases; c++) {
		same_text(a->cases[c].loss, b->cases[c].loss);
		same_text(a->cases[c].gradient, b->cases[c].gradient);
		for (size_t i = 0; i < s->n_steps; i++) {
			same_text(a->cases[c].local[i], b->cases[c].local[i]);
			same_text(a->cases[c].pseudo[i], b->cases[c].pseudo[i]);
		}
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		assert_int_equal(a->n_cands[i], b->n_cands[i]);
		for (size_t k = 0; k < a->n_cands[i]; k++)
			assert_string_equal(a->cands[i][k].prompt, b->cands[i][k].prompt);
	}
	assert_int_equal(a->n_evals, b->n_evals);
	assert_true(a->base_score == b->base_score);
	assert_true(a->best_score == b->best_score);
	assert_int_equal(a->n_changes, b->n_changes);
	for (size_t c = 0; c < a->n_changes; c++)
		assert_string_equal(a->changes[c].new_prompt, b->changes[c].new_prompt);
	for (int p = 0; p < PHASE_COUNT; p++)
		assert_int_equal(a->cost[p].calls, b->cost[p].calls);
}

static void test_overlap_run(void **state)
{
	(void)state;
	if (!server_pid) {
		skip();
		return;
	}
	struct rig on, off;
	rig_open(&on, true, 2);
	assert_int_equal(engine_run(on.en, 1), 0);
	drive(&on);
	rig_open(&off, false, 2);
	assert_int_equal(engine_run(off.en, 1), 0);
	drive(&off);
	const struct iteration *a = engine_current(on.en), *b = engine_current(off.en);
	assert_int_equal(a->phase, PHASE_COUNT);
	assert_true(a->n_bad > 0);
	check_phase_order(on.w);
	check_phase_order(off.w);
	/* E1 went during the forward pass */
	int e1 = first(on.w, EV_REQUEST_SENT, PHASE_ANALYSIS);
	int fwd = first(on.w, EV_PHASE_FINISHED, PHASE_FORWARD);
	assert_true(e1 >= 0 && e1 < fwd);
	/* loss and gradient beside the analysis */
	int e3 = first(on.w, EV_REQUEST_SENT, PHASE_GRADIENT);
	assert_true(e3 >= 0 && e3 < first(on.w, EV_PHASE_FINISHED, PHASE_ANALYSIS));
	/* an E6 went while some E5 was still out: each E6 follows its own E5 */
	int e6 = first(on.w, EV_REQUEST_SENT, PHASE_PSEUDO);
	assert_true(e6 >= 0);
	assert_true(on.w->local_done[e6] < on.w->local_done[on.w->n - 1]);
	assert_true(sent_ahead(on.w) > 0);
	/* overlap off: the strict order */
	assert_int_equal(sent_ahead(off.w), 0);
	e6 = first(off.w, EV_REQUEST_SENT, PHASE_PSEUDO);
	assert_true(e6 > first(off.w, EV_PHASE_FINISHED, PHASE_LOCAL));
	assert_true(off.w->local_done[e6] == off.w->local_done[off.w->n - 1]);
	/* the same iteration either way */
	same_iteration(on.s, a, b);
	rig_close(&on);
	rig_close(&off);
}

/* The largest number of selection's evaluations that came back together after the first
 * round (the initial design): the search's proposals in flight at once. */
static int batch_after_design(const struct seen *w)
{
	int best = 0, run = 0, rounds = 0;
	long at = -1;
	for (int i = 0; i < w->n; i++) {
		if (w->kind[i] != EV_EVAL_DONE || w->running[i] != PHASE_SELECTION)
			continue;
		if (w->wait[i] != at)
			rounds++, run = 0, at = w->wait[i];
		if (rounds > 1 && ++run > best)
			best = run;
	}
	return best;
}

/* With a task concurrency of 8 and 4 validation examples the search proposes two
 * configurations at once with overlap, one without; the evaluation budget is spent either
 * way (the search's path may differ: each batch's second proposal does not see the first's
 * result). */
static void test_overlap_search_batch(void **state)
{
	(void)state;
	if (!server_pid) {
		skip();
		return;
	}
	struct rig on, off;
	rig_open(&on, true, 8);
	on.s->opt.steady_stop = false; /* the whole budget, so that the search batches */
	assert_int_equal(engine_run(on.en, 1), 0);
	drive(&on);
	rig_open(&off, false, 8);
	off.s->opt.steady_stop = false;
	assert_int_equal(engine_run(off.en, 1), 0);
	drive(&off);
	const struct iteration *a = engine_current(on.en), *b = engine_current(off.en);
	assert_int_equal(a->phase, PHASE_COUNT);
	assert_int_equal(a->n_evals, b->n_evals);
	assert_int_equal(a->n_evals, on.s->opt.eval_budget);
	assert_int_equal(batch_after_design(on.w), 2);
	assert_int_equal(batch_after_design(off.w), 1);
	rig_close(&on);
	rig_close(&off);
}

/* A cap the strict order stops at before the local gradients (it has room for the phases up
 * to loss and gradient and one token more): nothing goes ahead for a phase whose projection,
 * with the rest of the phases before it, would pass it. */
static void test_overlap_cap(void **state)
{
	(void)state;
	if (!server_pid) {
		skip();
		return;
	}
	/* stepped in the strict order: before each phase what it has spent and projects */
	struct rig off;
	rig_open(&off, false, 2);
	long need[PHASE_COUNT] = {0};
	for (int p = PHASE_FORWARD; p <= PHASE_LOCAL; p++) {
		struct engine_totals t;
		struct cost_projection pj;
		engine_spent(off.en, &t);
		engine_project_next(off.en, &pj);
		need[p] = t.tokens_in + t.tokens_out + pj.tokens_in + pj.tokens_out;
		assert_int_equal(engine_step(off.en), 0);
		drive(&off);
	}
	long cap = 0;
	for (int p = PHASE_FORWARD; p <= PHASE_GRADIENT; p++)
		cap = MAX(cap, need[p]);
	assert_true(cap < need[PHASE_LOCAL]);
	rig_close(&off);
	for (int overlap = 0; overlap < 2; overlap++) {
		struct rig g;
		rig_open_cap(&g, overlap, 2, cap);
		assert_int_equal(engine_run(g.en, 1), 0);
		drive(&g);
		assert_int_equal(engine_current(g.en)->phase, PHASE_LOCAL);
		assert_string_equal(engine_stop_cause(g.en), "token_cap");
		assert_true(first(g.w, EV_REQUEST_SENT, PHASE_LOCAL) < 0);
		assert_true(first(g.w, EV_REQUEST_SENT, PHASE_PSEUDO) < 0);
		struct engine_totals t;
		engine_spent(g.en, &t);
		assert_true(t.tokens_in + t.tokens_out <= cap);
		rig_close(&g);
	}
}

/* Stepping one phase at a time keeps the strict order, overlap or not. */
static void test_overlap_step(void **state)
{
	(void)state;
	if (!server_pid) {
		skip();
		return;
	}
	struct rig g;
	rig_open(&g, true, 2);
	for (int k = 0; k < PHASE_DECISION; k++) {
		assert_int_equal(engine_step(g.en), 0);
		drive(&g);
		if (engine_current(g.en)->phase >= PHASE_DECISION)
			break;
	}
	assert_true(engine_current(g.en)->n_bad > 0);
	assert_true(first(g.w, EV_REQUEST_SENT, PHASE_PSEUDO) >= 0);
	assert_int_equal(sent_ahead(g.w), 0);
	check_phase_order(g.w);
	rig_close(&g);
}

static int setup(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_overlap");
	if (!bin)
		return 0;
	setenv("ADOPT_TEST_LLM_API_KEY", "test-key", 1);
	struct fx tmp;
	fx_init(&tmp, FX_DATA);
	char *rules = fx_path(&tmp, "rules.json");
	char *argv[] = {(char *)bin, "--rules", rules, "--latency-ms", "15", NULL};
	server_pid = llm_server_spawn_argv(argv, &server_port);
	free(rules);
	/* the server has read its rules: the copy can go */
	fx_done(&tmp);
	if (server_pid < 0)
		fail_msg("the test LLM server did not start");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server_pid > 0)
		llm_server_stop(server_pid);
	return 0;
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap_run),
	    cmocka_unit_test(test_overlap_step),
	    cmocka_unit_test(test_overlap_cap),
	    cmocka_unit_test(test_overlap_search_batch),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}

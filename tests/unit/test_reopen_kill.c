/* test_reopen_kill.c: a workbench killed (SIGKILL) in the middle of selection loses nothing it
 * paid for and pays for nothing twice.  A child process runs the bundled hotpot-mini example
 * with the scripted model, its spend journal and response cache beside the session, saves at
 * the phase boundary before selection (as the workbench's autosave does), sends part of
 * selection's calls and kills itself.  Reopened: the iteration stands before its selection, the
 * spend shown counts the calls journaled after the save, and engine_reopen_journaled says how
 * many; run on to the proposal, it proposes what the run never killed proposed, for the same
 * money and the same billed calls (the journal's lines), the calls made before the kill
 * answered from the response cache. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "engine/engine.h"
#include "engine_fixture.h"

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
	char *cache = fx_path(&g->f, "session.cache.jsonl");
	char *spend = fx_path(&g->f, "session.spend.jsonl");
	struct llm_options lo = {.cache_path = cache, .spend_path = spend, .seed = 1};
	struct err e = {{0}};
	g->l = llm_new(&lo, &e);
	if (!g->l)
		fail_msg("llm_new: %s", e.msg);
	free(cache);
	free(spend);
	struct engine_opts o = {0};
	g->en = engine_new(g->s, g->l, &o, NULL, NULL, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
}

static void rig_open(struct rig *g)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, "examples/hotpot-mini");
	g->path = fx_path(&g->f, "session.json");
	rig_load(g);
}

static void rig_close(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	free(g->path);
	fx_done(&g->f);
}

static void rig_save(struct rig *g)
{
	struct err e = {{0}};
	engine_store(g->en);
	if (session_save(g->s, g->path, &e) < 0)
		fail_msg("%s", e.msg);
}

static void drive(struct rig *g)
{
	fx_drive(g->en, g->l);
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

/* The billed calls the spend journal holds: its lines. */
static long journal_lines(struct rig *g)
{
	char *p = fx_path(&g->f, "session.spend.jsonl");
	FILE *f = fopen(p, "r");
	free(p);
	long n = 0;
	for (int c; f && (c = fgetc(f)) != EOF;)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* What the proposal says and what it cost. */
struct outcome {
	size_t n_changes, n_evals;
	int best_eval;
	double best;
	struct engine_totals spent;
	long billed;
};

static void outcome_take(struct rig *g, struct outcome *o)
{
	const struct iteration *it = engine_current(g->en);
	assert_int_equal(it->phase, PHASE_DECISION);
	*o = (struct outcome){.n_changes = it->n_changes,
	                      .n_evals = it->n_evals,
	                      .best_eval = it->best_eval,
	                      .best = it->best_score};
	engine_spent(g->en, &o->spent);
	o->billed = journal_lines(g);
}

/* The child: to selection, saved there, `calls` of selection's calls answered, then killed. */
static void killed_in_selection(long calls)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rig g = {0};
		snprintf(g.f.dir, sizeof g.f.dir, "%s", getenv("ADOPT_KILL_DIR"));
		g.path = fx_path(&g.f, "session.json");
		rig_load(&g);
		step_to(&g, PHASE_SELECTION);
		rig_save(&g);
		struct engine_totals t0, t;
		engine_spent(g.en, &t0);
		if (engine_step(g.en) < 0)
			_exit(3);
		for (int i = 0; i < 100000; i++) {
			if (engine_busy(g.en) && llm_wait(g.l, NULL, 0, 100) < 0)
				_exit(4);
			engine_poll(g.en);
			engine_spent(g.en, &t);
			if (t.calls - t0.calls >= calls)
				raise(SIGKILL);
			if (!engine_running(g.en))
				_exit(5); /* selection ended first */
		}
		_exit(6);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the child was not killed in selection: status %#x", status);
}

static void test_kill_in_selection(void **state)
{
	(void)state;
	struct rig ref, g;
	rig_open(&ref);
	step_to(&ref, PHASE_SELECTION);
	struct engine_totals before;
	engine_spent(ref.en, &before);
	step_to(&ref, PHASE_DECISION);
	struct outcome want, got;
	outcome_take(&ref, &want);
	long selection = want.spent.calls - before.calls;
	assert_true(selection > 10);
	rig_close(&ref);

	const long killed_after[] = {1, selection / 2, selection - 1};
	for (size_t k = 0; k < ARRAY_SIZE(killed_after); k++) {
		rig_open(&g);
		engine_free(g.en);
		llm_free(g.l);
		session_free(g.s);
		setenv("ADOPT_KILL_DIR", g.f.dir, 1);
		killed_in_selection(killed_after[k]);
		long billed = journal_lines(&g);
		rig_load(&g);
		/* before its selection, the calls journaled after the save counted and said */
		const struct iteration *it = engine_current(g.en);
		assert_non_null(it);
		assert_int_equal(it->phase, PHASE_SELECTION);
		struct engine_totals shown;
		engine_spent(g.en, &shown);
		struct llm_stats journaled;
		engine_reopen_journaled(g.en, &journaled);
		assert_true(journaled.done >= killed_after[k]);
		assert_int_equal(shown.calls, before.calls + journaled.done);
		assert_int_equal(billed, before.calls + journaled.done);
		assert_true(fabs(shown.cost_usd - before.cost_usd - journaled.cost_usd) < 1e-12);
		/* on to the proposal: the same one, nothing billed twice */
		step_to(&g, PHASE_DECISION);
		outcome_take(&g, &got);
		assert_int_equal(got.n_changes, want.n_changes);
		assert_int_equal(got.n_evals, want.n_evals);
		assert_int_equal(got.best_eval, want.best_eval);
		assert_true(got.best == want.best);
		assert_int_equal(got.billed, want.billed);
		if (fabs(got.spent.cost_usd - want.spent.cost_usd) > 1e-12)
			fail_msg("killed after %ld: spent $%.9f, never killed $%.9f",
			         killed_after[k], got.spent.cost_usd, want.spent.cost_usd);
		assert_int_equal(got.spent.tokens_in, want.spent.tokens_in);
		assert_int_equal(got.spent.tokens_out, want.spent.tokens_out);
		/* the calls: those billed the same; the journaled ones asked again, once each, of
		 * the response cache (counted as cached calls, free); the memo answers as before
		 * (hotpot-mini's selection reads nothing memoized before it) */
		assert_int_equal(got.spent.calls - got.spent.cached,
		                 want.spent.calls - want.spent.cached);
		assert_int_equal(got.spent.cached - want.spent.cached, journaled.done);
		assert_int_equal(got.spent.memo_hits, want.spent.memo_hits);
		print_message("killed after %ld of selection's %ld calls: %ld journaled after the "
		              "save ($%.6f); on to the proposal $%.6f in all, never killed $%.6f\n",
		              killed_after[k], selection, journaled.done, journaled.cost_usd,
		              got.spent.cost_usd, want.spent.cost_usd);
		rig_close(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_in_selection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

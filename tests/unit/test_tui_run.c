/* test_tui_run.c: the run commands' flow in the workbench (input.c's app_run, projwork.c's
 * tui_beside).  r, :run N and R project the run beside the loop ("projecting the run... (Esc
 * cancels)") and start it, or ask, when the projection is in, with the very figures the test
 * screen's projection made at once gives; Esc cancels it (nothing starts, the copy is reaped); a
 * copy that dies falls back to the projection made in the loop, once; a run asked again while
 * one is projected waits for it; while it asks, keys that answer nothing say "answer first: y or
 * n"; the Proposals pane's projection of the next phase is made beside the loop too.  A real
 * workbench (app_open) on the in-memory screen, on the scripted two-step session of
 * tests/data/engine.  With its models all scripted, r, :run N and R are played out in the
 * copy (simulated, exact) and say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "engine_fixture.h"
#include "llm/beside.h"
#include "core/session.h"
#include "tui/tui_int.h"

struct rig {
	struct fx f;
	char *session;
	struct front_opts o;
	struct app *a;
};

static void rig_open(struct rig *g, bool beside)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, FX_DATA);
	/* priced, so that a run costs something to ask about */
	fx_patch(&g->f, "two.json", "models.task.price_in", cJSON_CreateNumber(1));
	fx_patch(&g->f, "two.json", "models.task.price_out", cJSON_CreateNumber(2));
	g->session = fx_path(&g->f, "two.json");
	g->o = (struct front_opts){.session = g->session, .limit = -1, .no_cache = true};
	setenv("ADOPT_TEST_SCREEN", "120x40", 1);
	int rc = 0;
	g->a = app_open(&g->o, &rc);
	assert_non_null(g->a);
	g->a->t.deterministic = !beside; /* the workbench's way, or the test screen's (at once) */
}

static void rig_close(struct rig *g)
{
	app_close(g->a);
	free(g->session);
	fx_done(&g->f);
}

/* Turns of the workbench's loop until the run's projection is in (at most a minute). */
static void until_projected(struct app *a)
{
	for (int i = 0; i < 600 && a->run_projecting; i++)
		app_loop_turn(a, -1, 100);
	assert_int_equal(a->run_projecting, 0);
}

static void assert_reaped(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* What the test screen's run says when it starts: the projection made at once. */
static char *said_at_once(int iterations)
{
	struct rig g;
	rig_open(&g, false);
	app_run(g.a, iterations);
	assert_int_equal(g.a->run_projecting, 0);
	assert_true(engine_running(g.a->t.en));
	char *said = xstrdup(g.a->t.message);
	engine_cancel(g.a->t.en);
	rig_close(&g);
	return said;
}

/* The run projected beside the loop (its copy killed first when `fault`) starts with the figures
 * of the one made at once; r, :run N and R, whose models are all scripted, are played out in
 * the copy instead (engine_simulate), and the run then costs what the simulation said, to the
 * digit.  A copy that died leaves the projection made in the loop, which never simulates (the
 * simulation changes the session it runs on). */
static void run_beside(int iterations, int fault)
{
	char *expect = said_at_once(iterations);
	char *projected = strstr(expect, "projected ~");
	assert_non_null(projected);
	bool simulates = !fault;
	struct rig g;
	rig_open(&g, true);
	llm_beside_fault(fault);
	app_run(g.a, iterations);
	assert_true(g.a->run_projecting != 0);
	assert_string_equal(g.a->t.message, "projecting the run... (Esc cancels)");
	assert_false(engine_running(g.a->t.en)); /* not before its projection is in */
	app_run(g.a, iterations);                /* asked again: the same one goes on */
	assert_string_equal(g.a->t.message, "projecting the run... (Esc cancels)");
	until_projected(g.a);
	assert_true(engine_running(g.a->t.en));
	if (!simulates) {
		assert_string_equal(g.a->t.message, expect); /* the same figures */
		engine_cancel(g.a->t.en);
	} else { /* "running ...; simulated with the scripted model: 1 iteration, ..., $0.0009" */
		const char *msg = g.a->t.message,
		           *sim = strstr(msg, "simulated with the scripted model: ");
		assert_non_null(sim);
		assert_int_equal(sim - msg, projected - expect); /* the same "running ...; " */
		assert_int_equal(strncmp(msg, expect, (size_t)(sim - msg)), 0);
		const char *usd = strstr(sim, "$");
		assert_non_null(usd);
		double said = atof(usd + 1);
		for (int i = 0; i < 100000 && engine_running(g.a->t.en); i++)
			app_loop_turn(g.a, -1, 100);
		struct engine_totals tot;
		engine_spent(g.a->t.en, &tot);
		char spent[32], simulated[32];
		snprintf(spent, sizeof spent, "%.4f", tot.cost_usd);
		snprintf(simulated, sizeof simulated, "%.4f", said);
		assert_string_equal(spent, simulated);
		assert_true(tot.cost_usd > 0);
		if (iterations > 0)
			assert_int_equal(engine_iterations(g.a->t.en), (size_t)iterations);
	}
	rig_close(&g);
	assert_reaped();
	free(expect);
}

static void test_run_beside(void **state)
{
	(void)state;
	const int runs[] = {1, 3, RUN_TO_PROPOSAL, RUN_CONTINUOUS};
	for (size_t i = 0; i < ARRAY_SIZE(runs); i++)
		run_beside(runs[i], 0);
}

static void test_run_esc_cancels(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, true);
	app_run(g.a, 2);
	assert_true(g.a->run_projecting != 0);
	input_key(g.a, KEYS_ESC);
	assert_int_equal(g.a->run_projecting, 0);
	assert_string_equal(g.a->t.message, "run not started: its projection was cancelled");
	assert_reaped(); /* the copy killed and reaped */
	for (int i = 0; i < 5; i++)
		app_loop_turn(g.a, -1, 20);
	assert_false(engine_running(g.a->t.en));
	assert_false(engine_busy(g.a->t.en));
	/* C-c cancels it too, and asks nothing */
	app_run(g.a, RUN_TO_PROPOSAL);
	input_key(g.a, KEYS_CTRL('c'));
	assert_int_equal(g.a->run_projecting, 0);
	assert_int_equal(g.a->mode, INPUT_NORMAL);
	assert_false(engine_running(g.a->t.en));
	rig_close(&g);
	assert_reaped();
}

/* The copy dies (killed): the projection is made in the loop instead, once; the copy after it
 * works as before. */
static void test_run_copy_dies(void **state)
{
	(void)state;
	run_beside(2, SIGKILL);
	run_beside(RUN_TO_PROPOSAL, SIGKILL);
	run_beside(2, 0);
}

/* Above ask_above the question comes when the projection (here the simulation) is in; n starts
 * nothing. */
static void test_run_asks(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, true);
	g.a->cfg.ask_above = 0;
	app_run(g.a, 2);
	assert_int_equal(g.a->mode, INPUT_NORMAL); /* keys go on meanwhile */
	until_projected(g.a);
	assert_int_equal(g.a->mode, INPUT_ASK);
	assert_non_null(strstr(g.a->ask, "run: simulated with the scripted model: 2 iterations, "));
	assert_non_null(strstr(g.a->ask, "above ask_above $0; start? [y/n]"));
	/* keys that answer nothing do nothing but say so, once, before the question */
	int focus = g.a->t.focus;
	const int others[] = {'r', 's', '5', 'x', '\r', ':', 'R', KEYS_FN(KEY_F(1))};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		input_key(g.a, others[i]);
		assert_int_equal(g.a->mode, INPUT_ASK);
	}
	assert_int_equal(g.a->t.focus, focus);
	assert_false(engine_running(g.a->t.en));
	const char *first = "answer first: y or n; run: simulated with the scripted model: ";
	assert_true(strncmp(g.a->ask, first, strlen(first)) == 0);
	assert_null(strstr(g.a->ask + 1, "answer first"));
	input_key(g.a, 'n');
	assert_false(engine_running(g.a->t.en));
	app_run(g.a, 2); /* and y starts it */
	until_projected(g.a);
	input_key(g.a, 'y');
	assert_true(engine_running(g.a->t.en));
	engine_cancel(g.a->t.en);
	rig_close(&g);
	assert_reaped();
}

/* The next phase's projection a view shows (the Proposals pane's) is made beside the loop, one
 * at a time, and kept by the engine: the same figures as made at once. */
static void test_next_beside(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, true);
	struct cost_projection p, again, want;
	assert_false(tui_project_next(&g.a->t, &p));
	assert_false(tui_project_next(&g.a->t, &p)); /* the same one goes on */
	assert_non_null(g.a->t.beside);
	for (int i = 0; i < 600 && !engine_project_next_known(g.a->t.en, &p); i++)
		app_loop_turn(g.a, -1, 100);
	assert_true(tui_project_next(&g.a->t, &p));
	assert_null(g.a->t.beside);
	engine_project_next_put(g.a->t.en, 0, &p); /* forgotten: made at once below */
	engine_project_next(g.a->t.en, &want);
	assert_true(tui_project_next(&g.a->t, &again));
	assert_int_equal(p.calls, want.calls);
	assert_int_equal(p.cached, want.cached);
	assert_int_equal(p.tokens_in, want.tokens_in);
	assert_int_equal(p.tokens_out, want.tokens_out);
	assert_true(p.usd == want.usd && p.usd > 0);
	rig_close(&g);
	assert_reaped();
}

/* engine_project_range's bounds (app_run's walks): with range and per exactly as long as
 * engine.h says (iterations + 1; 2 for iterations 0 from a pending decision), in every state a
 * run starts from, it fills no more than that (ASan: not a byte beyond), and each entry has
 * low <= point <= high. */
static void ranges_fit(struct engine *en)
{
	const int counts[] = {0, 1, 2, 5};
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		int n = counts[i], cap = MAX(n + 1, 2);
		struct projection_range *r = xmalloc((size_t)cap * sizeof *r), all;
		struct cost_projection *per = xmalloc(PHASE_COUNT * sizeof *per), total;
		int filled = engine_project_range(en, n, per, r, &total, &all);
		assert_true(filled >= 1 && filled <= cap);
		for (int k = 0; k < filled; k++) {
			assert_true(r[k].low.usd <= r[k].point.usd);
			assert_true(r[k].point.usd <= r[k].high.usd);
		}
		assert_true(all.low.usd <= all.point.usd && all.point.usd <= all.high.usd);
		free(r);
		free(per);
	}
}

static void until_idle(struct app *a)
{
	for (int i = 0; i < 3000 && (engine_busy(a->t.en) || engine_running(a->t.en)); i++)
		app_loop_turn(a, -1, 100);
	assert_false(engine_busy(a->t.en));
}

static void test_range_bounds(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, false);
	struct engine *en = g.a->t.en;
	ranges_fit(en); /* before any iteration */
	assert_int_equal(engine_step(en), 0);
	until_idle(g.a);
	ranges_fit(en); /* in the middle of one */
	assert_int_equal(engine_run_to_proposal(en), 0);
	until_idle(g.a);
	assert_int_equal(engine_current(en)->phase, PHASE_DECISION);
	ranges_fit(en); /* a decision pending */
	assert_int_equal(engine_decide_remaining(en), 0);
	ranges_fit(en); /* closed */
	rig_close(&g);
}

/* An autosave waits for the next turn of the loop when this one has forked already (a copy
 * beside it), so that a turn holds one fork the shell decides at the most; then it is made. */
static void test_one_fork_a_turn(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, true);
	g.a->save_mode = SAVE_BACKGROUND; /* the workbench's (the test screen's: at once) */
	app_loop_turn(g.a, -1, 0);
	struct cost_projection p;
	assert_false(tui_project_next(&g.a->t, &p)); /* a copy forked in this turn */
	g.a->t.dirty = true;
	g.a->autosave_pending = true;
	app_pump(g.a);
	assert_true(g.a->autosave_pending); /* not in this turn */
	assert_true(session_save_fd(g.a->t.s) < 0);
	app_loop_turn(g.a, -1, 0); /* the next one */
	assert_false(g.a->autosave_pending);
	assert_true(session_save_fd(g.a->t.s) >= 0 || !g.a->t.dirty);
	app_save_collect(g.a, true);
	assert_false(g.a->t.dirty);
	rig_close(&g);
	assert_reaped();
}

/* A save asked while another is written, deferred because the turn forked already, is written
 * once in the next turn, not twice (the deferral left its request standing: a second write
 * followed the first). */
static void test_deferred_save_once(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, true);
	g.a->save_mode = SAVE_BACKGROUND;
	app_loop_turn(g.a, -1, 0);
	g.a->t.dirty = true;
	assert_int_equal(app_save_start(g.a, false), 0); /* one being written */
	assert_true(session_save_fd(g.a->t.s) >= 0);
	assert_int_equal(app_save_start(g.a, false), 0); /* another asked meanwhile */
	assert_true(g.a->save_again);
	app_save_collect(g.a, true); /* the first is done; this turn forked already: deferred */
	struct cost_projection p;
	assert_false(tui_project_next(&g.a->t, &p)); /* (a copy forked in this turn) */
	unsigned long forks = g.a->forks;
	g.a->save_again = true;
	app_save_collect(g.a, false);
	assert_true(g.a->autosave_pending);
	assert_false(g.a->save_again);
	app_loop_turn(g.a, -1, 0); /* the next turn writes it */
	assert_int_equal(g.a->forks, forks + 1);
	app_save_collect(g.a, true);
	assert_true(session_save_fd(g.a->t.s) < 0); /* and nothing follows it */
	assert_int_equal(g.a->forks, forks + 1);
	assert_false(g.a->save_again);
	rig_close(&g);
	assert_reaped();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_deferred_save_once), cmocka_unit_test(test_run_beside),
	    cmocka_unit_test(test_run_esc_cancels),    cmocka_unit_test(test_run_copy_dies),
	    cmocka_unit_test(test_run_asks),           cmocka_unit_test(test_next_beside),
	    cmocka_unit_test(test_range_bounds),       cmocka_unit_test(test_one_fork_a_turn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

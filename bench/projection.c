/* projection.c: how close the cost projection comes to what the phases then cost.
 *
 * For each bundled example with a scripted model (hotpot-mini, chain5, dialogue-loop), copied to
 * a temp dir, runs 3 ADOPT iterations (auto-accept, patience off, the response cache beside the
 * session as the front ends keep it), twice: with the scripted model in process, and against the
 * test server answering from the same rules file over the OpenAI wire format (provider openai on
 * 127.0.0.1; its usage counts ceil(bytes / 4) per message, ours adds 4 a message, so the
 * projection has to learn the ratio).  Each phase's projection is the one the engine made as the
 * phase started (iteration.cost[p].projected_*); the targets are from the second iteration on:
 * each phase's money within +-25 % of the actual, the whole iteration within +-15 %.  It also
 * prints what `--run 3 --dry-run` projects on the fresh session against what the run then
 * spent, and what `--run 2 --dry-run` projects after the first iteration against what the
 * other two spent.  With the scripted model, `--run 3 --dry-run` plays the run out instead
 * (engine_simulate, on a copy of the session, the cache read only): its figures per iteration
 * and phase against the run's, which they should equal exactly.
 *
 *   projection            ($LLM_SERVER: the server binary; examples/ read from the cwd) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "core/fileio.h"
#include "core/session.h"
#include "engine/engine.h"

#define ITERATIONS 3
#define PHASE_TOL  0.25
#define ITER_TOL   0.15

static const char *const examples[] = {"hotpot-mini", "chain5", "dialogue-loop"};
static const char *const files[] = {"session.json", "rules.json", "train.jsonl",
                                    "val.jsonl",    "test.jsonl", "corpus.jsonl"};

struct tally {
	int phases, phases_in, iters, iters_in;
	int dry_phases, dry_phases_in, dry_iters, dry_iters_in; /* --run 3 --dry-run's */
	int range_iters, range_in, range_runs, range_runs_in;   /* its range (iterations 2-3) */
	/* --run 3 --dry-run as the front end makes it: simulated with the scripted model, else
	 * projected (the rows above); phases of iterations 2-3, iterations 1-3, exact ones */
	int fe_phases, fe_phases_in, fe_iters, fe_iters_in, sim_phases, sim_exact;
	/* its expected figure (engine_project_expected): iterations 2-3, runs within +-15 % */
	int exp_iters, exp_iters_in, exp_runs, exp_runs_in;
};

static int copy_example(const char *name, const char *dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *from = xasprintf("examples/%s/%s", name, files[i]);
		char *to = xasprintf("%s/%s", dir, files[i]);
		struct err e = {{0}};
		char *text = NULL;
		size_t n;
		int rc = file_read(from, 1 << 24, &text, &n, &e);
		if (rc == 0) {
			FILE *f = fopen(to, "w");
			rc = f && fwrite(text, 1, n, f) == n ? 0 : -1;
			if (f)
				rc |= fclose(f);
		} else if (i > 1) {
			rc = 0; /* not every example has every file */
		}
		free(text);
		free(from);
		free(to);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Points every model of the session at the test server. */
static int to_server(const char *path, const char *base)
{
	struct err e = {{0}};
	char *text = NULL;
	size_t n;
	if (file_read(path, 1 << 24, &text, &n, &e) < 0)
		return -1;
	cJSON *root = cJSON_ParseWithLength(text, n);
	free(text);
	cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "models"))
	{
		cJSON_DeleteItemFromObject(m, "rules");
		cJSON_DeleteItemFromObject(m, "provider");
		cJSON_AddStringToObject(m, "provider", "openai");
		cJSON_AddStringToObject(m, "base_url", base);
		cJSON_AddStringToObject(m, "model", m->string);
	}
	bench_write_json(path, root);
	return 0;
}

static bool within(double proj, double actual, double tol)
{
	return fabs(proj - actual) <= tol * actual + 1e-9;
}

static void ratio(char *buf, size_t n, double proj, double actual)
{
	if (actual > 0)
		snprintf(buf, n, "%.2f", proj / actual);
	else
		snprintf(buf, n, "%s", proj > 0 ? "inf" : "=");
}

static int run_one(const char *name, const char *mode, const char *dir, struct tally *t)
{
	char *path = xasprintf("%s/session.json", dir), *cache = xasprintf("%s/cache.jsonl", dir);
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	struct err e = {{0}};
	struct llm_options lo = {.cache_path = cache, .seed = 3};
	struct llm *l = s ? llm_new(&lo, &e) : NULL;
	struct engine_opts eo = {.auto_accept = true};
	struct engine *en = l ? engine_new(s, l, &eo, NULL, NULL, &e) : NULL;
	int rc = -1;
	if (!en) {
		printf("  %s %s: skipped (%s)\n", name, mode, e.msg[0] ? e.msg : "does not load");
		goto out;
	}
	engine_set_patience(en, 0);
	struct cost_projection run_proj;
	struct projection_range rg[ITERATIONS + 1], rg_run;
	int n_rg = engine_project_range(en, ITERATIONS, NULL, rg, &run_proj, &rg_run);
	double exp_each[ITERATIONS + 1];
	int n_acc, n_closed;
	double exp_run = engine_project_expected(en, rg, n_rg, exp_each, &n_acc, &n_closed);
	/* the dry run's iteration k, phase p: what --run k projects less what --run k-1 does */
	struct cost_projection dry[ITERATIONS + 1][PHASE_COUNT] = {{{0}}};
	for (int k = 1; k <= ITERATIONS; k++) {
		struct cost_projection tot;
		engine_project(en, k, dry[k], &tot);
	}
	for (int k = ITERATIONS; k > 1; k--)
		for (int p = 0; p < PHASE_COUNT; p++) {
			dry[k][p].usd -= dry[k - 1][p].usd;
			dry[k][p].calls -= dry[k - 1][p].calls;
		}
	/* the dry run the front end makes: with the scripted model, the run played out in a
	 * sandbox on a copy of the session (nothing written: the cache is read only) */
	struct engine_sim sim = {0};
	char *why = engine_sim_blocker(s);
	bool simulated = false;
	if (!why) {
		struct diag d2 = {0};
		struct session *copy = session_load(path, NULL, &d2);
		diag_free(&d2);
		struct engine_sim_opts so = {
		    .iterations = ITERATIONS, .patience = 0, .cache_path = cache};
		simulated = copy && engine_simulate(copy, &so, &sim, &e) == 0;
		if (!simulated)
			printf("  %s %s: not simulated: %s\n", name, mode, e.msg);
		session_free(copy);
	} else {
		printf("  %-13s %-8s  --run %d --dry-run is projected, not simulated: %s\n", name,
		       mode, ITERATIONS, why);
	}
	free(why);
	/* the first iteration, then what the other two are projected to cost, then those */
	struct cost_projection rest = {0};
	double rest_exp = 0;
	int acc2 = 0, closed2 = 0;
	double t0 = now_s();
	for (int k = 0; k < 2; k++) {
		if (k == 1) {
			engine_project(en, ITERATIONS - 1, NULL, &rest);
			struct projection_range rg2[ITERATIONS], rg2_run;
			struct cost_projection t2;
			int n2 = engine_project_range(en, ITERATIONS - 1, NULL, rg2, &t2, &rg2_run);
			rest_exp = engine_project_expected(en, rg2, n2, NULL, &acc2, &closed2);
		}
		if (engine_run(en, k == 0 ? 1 : ITERATIONS - 1) < 0)
			goto out;
		while (engine_running(en) && now_s() - t0 < 300) {
			if (engine_busy(en) && llm_wait(l, NULL, 0, 250) < 0)
				break;
			engine_poll(en);
		}
	}
	double run_actual = 0, rest_actual = 0;
	for (size_t i = 0; i < engine_iterations(en); i++) {
		const struct iteration *it = engine_iteration(en, i);
		double proj = 0, actual = 0;
		for (int p = 0; p < PHASE_DECISION; p++) {
			const struct phase_cost *c = &it->cost[p];
			proj += c->projected_usd, actual += c->cost_usd;
			if (it->number < 2 || (c->cost_usd == 0 && c->projected_usd == 0))
				continue;
			bool ok = within(c->projected_usd, c->cost_usd, PHASE_TOL);
			t->phases++, t->phases_in += ok;
			char r[16];
			ratio(r, sizeof r, c->projected_usd, c->cost_usd);
			printf(
			    "  %-13s %-8s %4d  %-16s %5ld/%-5ld %8ld/%-8ld %8ld/%-8ld %9.5f/%-9.5f "
			    "%5s %s\n",
			    name, mode, it->number, phase_name((enum phase)p), c->projected_calls,
			    c->calls, c->projected_tokens_in, c->tokens_in, c->projected_tokens_out,
			    c->tokens_out, c->projected_usd, c->cost_usd, r, ok ? "ok" : "MISS");
		}
		run_actual += actual;
		double dproj = 0;
		for (int p = 0; p < PHASE_DECISION && it->number <= ITERATIONS; p++) {
			const struct phase_cost *c = &it->cost[p];
			const struct cost_projection *dp = &dry[it->number][p];
			dproj += dp->usd;
			if (c->cost_usd == 0 && dp->usd == 0)
				continue;
			char r[16];
			ratio(r, sizeof r, dp->usd, c->cost_usd);
			bool ok = within(dp->usd, c->cost_usd, PHASE_TOL);
			if (it->number >= 2)
				t->dry_phases++, t->dry_phases_in += ok;
			printf(
			    "  %-13s %-8s %4d  %-16s %5ld/%-5ld %9.5f/%-9.5f %5s %s  (dry run)\n",
			    name, mode, it->number, phase_name((enum phase)p), dp->calls, c->calls,
			    dp->usd, c->cost_usd, r, ok ? "ok" : "MISS");
		}
		if (it->number <= ITERATIONS) {
			char r[16];
			ratio(r, sizeof r, dproj, actual);
			bool ok = within(dproj, actual, ITER_TOL);
			t->dry_iters++, t->dry_iters_in += ok;
			printf("  %-13s %-8s %4d  %-16s %9.5f/%-9.5f %5s %s  (dry run)\n", name,
			       mode, it->number, "whole iteration", dproj, actual, r,
			       ok ? "ok" : "MISS");
		}
		/* the front end's dry run: the simulation's figures, else the projection's */
		const struct engine_sim_iter *si = NULL;
		for (int k = 0; simulated && k < sim.n; k++)
			if (sim.iters[k].number == it->number)
				si = &sim.iters[k];
		double fe = 0;
		for (int p = 0; p < PHASE_DECISION && it->number <= ITERATIONS; p++) {
			const struct phase_cost *c = &it->cost[p];
			const struct cost_projection *x = si ? &si->phase[p] : &dry[it->number][p];
			fe += x->usd;
			if (c->cost_usd == 0 && x->usd == 0 && c->calls == 0 && x->calls == 0)
				continue;
			bool ok = within(x->usd, c->cost_usd, PHASE_TOL);
			if (it->number >= 2)
				t->fe_phases++, t->fe_phases_in += ok;
			if (!si)
				continue;
			bool exact = x->calls == c->calls && x->cached == c->cached &&
			             x->tokens_in == c->tokens_in &&
			             x->tokens_out == c->tokens_out &&
			             fabs(x->usd - c->cost_usd) < 1e-12;
			t->sim_phases++, t->sim_exact += exact;
			char r[16];
			ratio(r, sizeof r, x->usd, c->cost_usd);
			printf(
			    "  %-13s %-8s %4d  %-16s %5ld/%-5ld %8ld/%-8ld %8ld/%-8ld %9.5f/%-9.5f "
			    "%5s %s  (simulated dry run)\n",
			    name, mode, it->number, phase_name((enum phase)p), x->calls, c->calls,
			    x->tokens_in, c->tokens_in, x->tokens_out, c->tokens_out, x->usd,
			    c->cost_usd, r,
			    exact ? "exact"
			    : ok  ? "ok"
			          : "MISS");
		}
		if (it->number <= ITERATIONS) {
			char r[16];
			ratio(r, sizeof r, fe, actual);
			bool ok = within(fe, actual, ITER_TOL);
			t->fe_iters++, t->fe_iters_in += ok;
			printf(
			    "  %-13s %-8s %4d  %-16s %9.5f/%-9.5f %5s %s  (--dry-run as printed: "
			    "%s)\n",
			    name, mode, it->number, "whole iteration", fe, actual, r,
			    ok ? "ok" : "MISS", si ? "simulated" : "projected");
		}
		if (it->number >= 2 && it->number <= n_rg) {
			const struct projection_range *g = &rg[it->number - 1];
			bool in = actual >= g->low.usd && actual <= g->high.usd;
			t->range_iters++, t->range_in += in;
			printf("  %-13s %-8s %4d  %-16s %9.5f [%9.5f, %9.5f] x%.1f wide %s  "
			       "(dry run's range)\n",
			       name, mode, it->number, "whole iteration", actual, g->low.usd,
			       g->high.usd, g->low.usd > 0 ? g->high.usd / g->low.usd : INFINITY,
			       in ? "in" : "OUT");
		}
		if (it->number >= 2 && it->number <= n_rg) {
			char r[16];
			ratio(r, sizeof r, exp_each[it->number - 1], actual);
			bool ok = within(exp_each[it->number - 1], actual, ITER_TOL);
			t->exp_iters++, t->exp_iters_in += ok;
			printf(
			    "  %-13s %-8s %4d  %-16s %9.5f/%-9.5f %5s %s  (dry run's expected)\n",
			    name, mode, it->number, "whole iteration", exp_each[it->number - 1],
			    actual, r, ok ? "ok" : "MISS");
		}
		if (it->number < 2)
			continue;
		rest_actual += actual;
		bool ok = within(proj, actual, ITER_TOL);
		t->iters++, t->iters_in += ok;
		char r[16];
		ratio(r, sizeof r, proj, actual);
		printf("  %-13s %-8s %4d  %-16s %47s %9.5f/%-9.5f %5s %s\n", name, mode, it->number,
		       "whole iteration", "", proj, actual, r, ok ? "ok" : "MISS");
	}
	char r[16];
	ratio(r, sizeof r, run_proj.usd, run_actual);
	printf("  %-13s %-8s  --run %d --dry-run on the fresh session projected $%.5f, the run "
	       "spent $%.5f (%s)\n",
	       name, mode, ITERATIONS, run_proj.usd, run_actual, r);
	bool in = run_actual >= rg_run.low.usd && run_actual <= rg_run.high.usd;
	t->range_runs++, t->range_runs_in += in;
	printf("  %-13s %-8s  --run %d --dry-run's range $%.5f to $%.5f (x%.2f wide): the run "
	       "spent $%.5f, %s\n",
	       name, mode, ITERATIONS, rg_run.low.usd, rg_run.high.usd,
	       rg_run.low.usd > 0 ? rg_run.high.usd / rg_run.low.usd : INFINITY, run_actual,
	       in ? "in" : "OUT");
	ratio(r, sizeof r, exp_run, run_actual);
	bool exp_ok = within(exp_run, run_actual, ITER_TOL);
	t->exp_runs++, t->exp_runs_in += exp_ok;
	printf("  %-13s %-8s  --run %d --dry-run's expected $%.5f (%d of %d accepted before): the "
	       "run spent $%.5f (%s) %s\n",
	       name, mode, ITERATIONS, exp_run, n_acc, n_closed, run_actual, r,
	       exp_ok ? "ok" : "MISS");
	ratio(r, sizeof r, rest.usd, rest_actual);
	printf("  %-13s %-8s  after iteration 1, --run %d --dry-run projected $%.5f, iterations "
	       "2-%d spent $%.5f (%s)\n",
	       name, mode, ITERATIONS - 1, rest.usd, ITERATIONS, rest_actual, r);
	ratio(r, sizeof r, rest_exp, rest_actual);
	printf("  %-13s %-8s  after iteration 1, its expected $%.5f (%d of %d accepted): (%s)\n",
	       name, mode, rest_exp, acc2, closed2, r);
	if (simulated)
		printf(
		    "  %-13s %-8s  --run %d --dry-run simulated $%.5f in %d iterations (stopped: "
		    "%s), the run spent $%.5f\n",
		    name, mode, ITERATIONS, sim.total.usd, sim.n, sim.stopped, run_actual);
	rc = 0;
out:
	engine_sim_free(&sim);
	engine_free(en);
	llm_free(l);
	session_free(s);
	free(path);
	free(cache);
	return rc;
}

int main(void)
{
	struct tally t = {0};
	printf("projection: projected/actual per phase from iteration 2 on (calls, tokens in, "
	       "tokens out, $), %d iterations per run\n",
	       ITERATIONS);
	printf("  %-13s %-8s %4s  %-16s %11s %17s %17s %19s %5s\n", "example", "model", "iter",
	       "phase", "calls", "tokens in", "tokens out", "cost $", "ratio");
	int status = 0;
	for (size_t k = 0; k < ARRAY_SIZE(examples); k++) {
		for (int server = 0; server < 2; server++) {
			char *dir = bench_tmpdir("projection");
			struct bench_server srv = {0};
			bool started = false;
			if (copy_example(examples[k], dir) < 0) {
				printf("  %s: skipped (cannot copy examples/%s: run from the "
				       "repository root)\n",
				       examples[k], examples[k]);
				bench_rmdir(dir);
				free(dir);
				status = 1;
				continue;
			}
			if (server) {
				char *rules = xasprintf("%s/rules.json", dir);
				char *session = xasprintf("%s/session.json", dir);
				const char *args[] = {"--rules", rules, NULL};
				started = bench_server_start(&srv, args) == 0;
				if (started)
					to_server(session, srv.base_v1);
				else
					printf("  %s server: skipped (no test server)\n",
					       examples[k]);
				free(rules);
				free(session);
			}
			if (!server || started)
				status |= run_one(examples[k], server ? "server" : "scripted", dir,
				                  &t) < 0;
			if (started)
				bench_server_stop(&srv);
			bench_rmdir(dir);
			free(dir);
		}
	}
	printf("projection: %d of %d phases within +-%.0f %%, %d of %d iterations within +-%.0f "
	       "%% (iterations 2-%d)\n",
	       t.phases_in, t.phases, PHASE_TOL * 100, t.iters_in, t.iters, ITER_TOL * 100,
	       ITERATIONS);
	printf("projection: --run %d --dry-run on the fresh session: %d of %d phases within +-%.0f "
	       "%% (iterations 2-%d), %d of %d iterations within +-%.0f %% (all)\n",
	       ITERATIONS, t.dry_phases_in, t.dry_phases, PHASE_TOL * 100, ITERATIONS,
	       t.dry_iters_in, t.dry_iters, ITER_TOL * 100);
	printf("projection: --run %d --dry-run's range: %d of %d iterations (2-%d) and %d of %d "
	       "runs spent within [low, high]\n",
	       ITERATIONS, t.range_in, t.range_iters, ITERATIONS, t.range_runs_in, t.range_runs);
	printf("projection: --run %d --dry-run's expected (odds of acceptance from the session's "
	       "record): %d of %d iterations (2-%d) and %d of %d runs within +-%.0f %%\n",
	       ITERATIONS, t.exp_iters_in, t.exp_iters, ITERATIONS, t.exp_runs_in, t.exp_runs,
	       ITER_TOL * 100);
	printf("projection: --run %d --dry-run as printed (simulated with the scripted model, "
	       "projected through the server): %d of %d phases within +-%.0f %% (iterations 2-%d), "
	       "%d of %d iterations within +-%.0f %% (all); simulated phases exact: %d of %d\n",
	       ITERATIONS, t.fe_phases_in, t.fe_phases, PHASE_TOL * 100, ITERATIONS, t.fe_iters_in,
	       t.fe_iters, ITER_TOL * 100, t.sim_exact, t.sim_phases);
	return status;
}

/* scale_probe.c: one ADOPT iteration of issue 12's scale case, driven through the workbench's
 * own loop, for bench/scale.sh.  Compiled against each build scale.sh compares (the baseline's
 * libadopt.a and headers, then the current tree's), so it uses only interfaces both have.
 *
 * Writes into a temp dir an m-step chain that passes a word along (as bench/screening.c: each
 * step drawn with the seed lossy, harmful or neutral, one "Word only." candidate per step),
 * 300 validation examples (val_size 300, batch 50, budget_total m, the instruct optimizer,
 * whose prompt the rules answer), every other optimizer option at the build's default, the task
 * model on the test server (provider openai, priced, concurrency 32), and optionally N extra
 * training examples inline (what makes a save slow). Then, as the workbench does (app_open on the
 * in-memory screen, app_pump with its autosaves, app_draw), runs engine_run(1) and times each turn
 * of the loop: the CPU time llm_wait spends (not its sleep in poll) plus the wall time of app_pump
 * and app_draw (the autosaves' writes and fsyncs included).  A tree that saves in the background
 * does so here too, as the workbench does (the test screen would collect each save at once,
 * waiting for its writer: 90-110 ms a save at selection's end, which the workbench never waits);
 * its loop collects them without waiting, inside app_pump's time; and so are the projections a
 * tree makes beside the loop (the History chart's, selection's: the test screen makes them at
 * once).  Prints one line of key=value figures:
 *
 *   requests  HTTP requests sent (llm_stats.network_requests; server: the test server's count)
 *   spent     the session's spend, USD; cap the cost_cap_usd set (0: none)
 *   evals     evaluations selection and Shapley measured; sel_usd what selection cost
 *   stall_ms  the longest turn (llm_wait CPU + pump and draw wall); stall_cpu_ms the same in
 *             CPU time only (the machine's queue left out); of the longest turn, the wall
 *             time of app_pump and of app_draw, and the phase that was running; sel_stall_ms
 *             the longest turn while selection ran (issue 12's selection stall)
 *   paused    1 when the iteration stopped before its end (the cap)
 *
 *   scale_probe [--steps M] [--val N] [--seed S] [--train N] [--cap USD] [--latency-ms L]
 *               [--trace MS]
 *
 * --trace MS: every turn over MS to stderr, with the CLOCK_MONOTONIC time of its end (for
 * `perf record -k CLOCK_MONOTONIC` and `perf report --time`), its CPU, and where it went. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "engine/engine.h"
#include "tui/tui_int.h"

enum kind { NEUTRAL, LOSSY, HARMFUL };

struct chain {
	int m, n_val, n_train;
	double cap;
	enum kind kind[64];
	int rate[64];
};

/* As bench/screening.c: a candidate's answers end with a full stop, so that the steps after a
 * changed one see other inputs. */
static void lossy_replies(cJSON *R, const char *match, int r, const char *word)
{
	const char *rep[16];
	for (int i = 0; i < r; i++)
		rep[i] = i == r - 1 ? "none" : word;
	rep[r] = NULL;
	bench_add_rule(R, match, NULL, rep, 0);
}

static void write_rules(const char *path, const struct chain *c)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	bench_add_rule(R,
	               "(?s)improving the prompt of one "
	               "step.*?<current_prompt>\\n(?<p>.*?)\\n</current_prompt>",
	               "<prompt>Word only.\n${p}</prompt>", NULL, 0);
	bench_add_role_rules(R, "<summary>The steps pass one word along to the answer.</summary>");
	char re[160];
	const char *word = "(?:Text: Item \\d+: |Word: )(?<w>\\S+)";
	for (int k = 0; k < c->m; k++)
		if (c->kind[k] == HARMFUL) {
			snprintf(re, sizeof re, "(?s)^Word only\\.\\nStep S%02d\\..*?%s", k + 1,
			         word);
			lossy_replies(R, re, c->rate[k], "${w}.");
		}
	snprintf(re, sizeof re, "(?s)^Word only\\.\\nStep S\\d+\\..*?%s", word);
	bench_add_rule(R, re, "${w}.", NULL, 0);
	for (int k = 0; k < c->m; k++)
		if (c->kind[k] == LOSSY) {
			snprintf(re, sizeof re, "(?s)^Step S%02d\\..*?%s", k + 1, word);
			lossy_replies(R, re, c->rate[k], "${w}");
		}
	snprintf(re, sizeof re, "(?s)^Step S\\d+\\..*?%s", word);
	bench_add_rule(R, re, "${w}", NULL, 0);
	cJSON_AddStringToObject(root, "fallback", "none");
	bench_write_json(path, root);
}

static void add_examples(cJSON *a, const char *split, int n, int first)
{
	static const char *const words[] = {"apple",  "river",  "candle", "garden", "silver",
	                                    "pepper", "harbor", "window", "meadow", "copper"};
	for (int i = first; i < first + n; i++) {
		char id[32], q[64], w[40]; /* a word of its own: no two examples share a request */
		snprintf(w, sizeof w, "%s%d", words[(size_t)i * 7 % ARRAY_SIZE(words)], i);
		snprintf(id, sizeof id, "%s%d", split, i);
		snprintf(q, sizeof q, "Item %d: %s", i, w);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		cJSON_AddItemToArray(a, e);
	}
}

static void write_session(const char *path, const struct chain *c, unsigned seed, const char *base)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "bench-scale");
	cJSON *task = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "models"), "task");
	cJSON_AddStringToObject(task, "provider", "openai");
	cJSON_AddStringToObject(task, "base_url", base);
	cJSON_AddStringToObject(task, "model", "task");
	cJSON_AddNumberToObject(task, "concurrency", 32);
	cJSON_AddNumberToObject(task, "price_in", 0.15);
	cJSON_AddNumberToObject(task, "price_out", 0.6);
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	for (int k = 0; k < c->m; k++) {
		char id[16], from[40], prompt[96];
		snprintf(id, sizeof id, "s%02d", k + 1);
		snprintf(from, sizeof from, "steps.s%02d.output", k);
		snprintf(prompt, sizeof prompt,
		         "Step S%02d. Pass the word on.\n%s: {{x}}\nOutput:", k + 1,
		         k ? "Word" : "Text");
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", id);
		cJSON_AddStringToObject(s, "type", "llm");
		cJSON_AddStringToObject(s, "model", "task");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "x",
		                        k ? from : "input.question");
		cJSON_AddStringToObject(s, "prompt", prompt);
		cJSON_AddItemToArray(steps, s);
	}
	char out[16];
	snprintf(out, sizeof out, "s%02d", c->m);
	cJSON_AddStringToObject(pl, "output", out);
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	cJSON *train = cJSON_AddArrayToObject(ds, "train");
	add_examples(train, "train", 50 + c->n_train, 1);
	add_examples(cJSON_AddArrayToObject(ds, "val"), "val", c->n_val, 1000001);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", seed);
	cJSON_AddNumberToObject(o, "batch_size", 50);
	cJSON_AddNumberToObject(o, "val_size", c->n_val);
	cJSON_AddNumberToObject(o, "budget_total", c->m);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	if (c->cap > 0)
		cJSON_AddNumberToObject(o, "cost_cap_usd", c->cap);
	cJSON_AddStringToObject(o, "step_optimizer", "instruct"); /* what the rules answer */
	cJSON_AddStringToObject(o, "role_model", "task");
	bench_write_json(path, root);
}

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct chain c = {.m = 12, .n_val = 300};
	unsigned seed = 1;
	const char *latency = "0";
	double trace_ms = -1; /* --trace MS: each turn over MS to stderr, with its clock */
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--steps"))
			c.m = atoi(v) < 2 ? 2 : atoi(v) > 40 ? 40 : atoi(v);
		else if (!strcmp(k, "--val"))
			c.n_val = atoi(v);
		else if (!strcmp(k, "--seed"))
			seed = (unsigned)atoi(v);
		else if (!strcmp(k, "--train"))
			c.n_train = atoi(v);
		else if (!strcmp(k, "--cap"))
			c.cap = atof(v);
		else if (!strcmp(k, "--latency-ms"))
			latency = v;
		else if (!strcmp(k, "--trace"))
			trace_ms = atof(v);
	}
	struct rng r; /* the step kinds, drawn as bench/screening.c draws them */
	rng_seed(&r, (uint64_t)seed * 7919u);
	bool any = false;
	for (int k = 0; k < c.m; k++) {
		uint64_t x = rng_below(&r, 12);
		c.kind[k] = x < 4 ? LOSSY : x < 7 ? HARMFUL : NEUTRAL;
		c.rate[k] = 3 + (int)rng_below(&r, 6);
		any |= c.kind[k] == LOSSY;
	}
	if (!any)
		c.kind[0] = LOSSY;

	char *dir = bench_tmpdir("scale");
	char *rules = xasprintf("%s/rules.json", dir), *path = xasprintf("%s/session.json", dir);
	write_rules(rules, &c);
	struct bench_server srv;
	const char *args[] = {"--rules", rules, "--latency-ms", latency, NULL};
	if (bench_server_start(&srv, args) < 0) {
		printf("error=no-test-server\n");
		bench_rmdir(dir);
		return 1;
	}
	write_session(path, &c, seed, srv.base_v1);
	int rc = 1;
	setenv("ADOPT_TEST_SCREEN", "200x60", 1);
	unsetenv("ADOPT_TEST_SCRIPT");
	struct front_opts o = {.session = path, .limit = -1, .no_cache = true};
	int orc;
	double t0 = now_s();
	struct app *a = app_open(&o, &orc);
	double open_s = now_s() - t0;
	if (!a) {
		printf("error=app_open-status-%d\n", orc);
		goto out;
	}
#ifdef APP_SAVE_MODES
	a->save_mode = SAVE_BACKGROUND; /* the workbench's, not the test screen's SAVE_AT_ONCE */
	a->t.deterministic = false;     /* and so the views' projections (made beside the loop) */
#endif
#ifdef ENGINE_PROJECT_BESIDE
	engine_project_beside(a->t.en, true); /* and selection's (the test screen's: at once) */
#endif
	if (engine_run(a->t.en, 1) < 0) {
		printf("error=engine_run-refused\n");
		fprintf(stderr, "engine_run: %s\n", engine_pause_reason(a->t.en));
		app_close(a);
		goto out;
	}
	double stall = 0, stall_cpu = 0, stall_pump = 0, stall_draw = 0, sel_stall = 0;
	char stall_phase[32] = "-"; /* its name, spaces as dashes (one word a field) */
	t0 = now_s();
	app_pump(a);
	while ((engine_busy(a->t.en) || engine_running(a->t.en) || llm_pending(a->t.llm) > 0) &&
	       now_s() - t0 < 1800) {
		const struct iteration *cur = engine_current(a->t.en);
		const char *ph = cur && cur->phase < PHASE_COUNT ? phase_name(cur->phase) : "-";
		double c0 = thread_cpu_ms();
		llm_wait(a->t.llm, NULL, 0, 20);
		double c1 = thread_cpu_ms(), w1 = now_s();
		app_pump(a);
#ifdef APP_SAVE_MODES
		if (session_save_fd(a->t.s) >=
		    0) /* the workbench's loop: when the writer reports */
			app_save_collect(a, false);
#endif
		double w2 = now_s();
		if (a->need_draw)
			app_draw(a);
		double c2 = thread_cpu_ms(), w3 = now_s(), turn = (c1 - c0) + (w3 - w1) * 1e3;
		const struct iteration *now = engine_current(a->t.en); /* a turn that ends or
		                                                          starts selection counts */
		if ((cur && cur->phase == PHASE_SELECTION) ||
		    (now && now->phase == PHASE_SELECTION))
			sel_stall = MAX(sel_stall, turn);
		if (trace_ms >= 0 && turn > trace_ms) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			fprintf(
			    stderr,
			    "turn end=%ld.%06ld ms=%.1f cpu=%.1f wait_cpu=%.1f pump=%.1f draw=%.1f "
			    "phase=%s now=%s\n",
			    (long)ts.tv_sec, ts.tv_nsec / 1000, turn, c2 - c0, c1 - c0,
			    (w2 - w1) * 1e3, (w3 - w2) * 1e3, ph,
			    now && now->phase < PHASE_COUNT ? phase_name(now->phase) : "-");
		}
		if (turn > stall) {
			stall = turn;
			snprintf(stall_phase, sizeof stall_phase, "%s", ph);
			for (char *q = stall_phase; (q = strchr(q, ' '));)
				*q = '-';
			stall_pump = (w2 - w1) * 1e3, stall_draw = (w3 - w2) * 1e3;
		}
		stall_cpu = MAX(stall_cpu, c2 - c0);
	}
	double wall = now_s() - t0;
	const struct iteration *it = engine_current(a->t.en);
	if (engine_pause_reason(a->t.en)) /* why it stopped early: scale.sh shows it */
		fprintf(stderr, "paused: %s\n", engine_pause_reason(a->t.en));
	struct llm_stats st;
	llm_get_stats(a->t.llm, &st);
	struct engine_totals sp;
	engine_spent(a->t.en, &sp);
	size_t n_evals = it ? it->n_evals : 0;
	printf(
	    "requests=%ld server=%.0f spent=%.6f cap=%.6f evals=%zu sel_usd=%.6f sel_calls=%ld "
	    "stall_ms=%.1f stall_cpu_ms=%.1f stall_pump_ms=%.1f stall_draw_ms=%.1f stall_phase=%s "
	    "sel_stall_ms=%.1f paused=%d wall_s=%.2f open_s=%.2f\n",
	    st.network_requests, bench_server_stat(&srv, "requests"), sp.cost_usd, c.cap, n_evals,
	    it ? it->cost[PHASE_SELECTION].cost_usd : 0, it ? it->cost[PHASE_SELECTION].calls : 0,
	    stall, stall_cpu, stall_pump, stall_draw, stall_phase, sel_stall,
	    !it || it->phase < PHASE_COUNT, wall, open_s);
	rc = 0;
	app_close(a);
out:
	bench_server_stop(&srv);
	bench_rmdir(dir);
	free(dir);
	free(rules);
	free(path);
	return rc;
}

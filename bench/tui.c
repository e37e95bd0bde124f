/* tui.c: benchmark of the workbench with a 10-step pipeline and 2,000 traces loaded.
 *
 * Writes into a temp dir a session with a 10-step chain (5 LLM steps on the offline `scripted`
 * provider, 5 template / regex steps), 2,000 train and 32 validation examples, batch 2,000, and a
 * rules file (examples/make_scripted.py's generic role answers; steps 1 and 7 lose the word on a
 * quarter of their inputs, so there are bad cases).  Then, in this process, through the shell's
 * own seam (app_open on the in-memory screen, tui_int.h), with no network:
 *
 *   1. engine_run(1) with the shell's event handler: a whole iteration (forward over the 2,000
 *      examples, analysis, gradients, candidates, selection, Shapley, proposal, decisions), so
 *      every pane has content; the session is saved with its 2,000 traces;
 *   2. full redraws at 200x60 with the Traces pane focused: app_draw (every pane rebuilt and
 *      redrawn, curses sends what changed), and with clearok (every cell sent again);
 *   3. key to screen: input_key + app_pump + app_draw for j/k in the traces and for Tab;
 *   4. streaming: iteration 2's forward pass is started with step s01 stalled (its prompt gets a
 *      marker a delayed rule matches), and EV_TEXT events carrying 2,000 tokens/s for 3 s are fed
 *      to the shell's event handler on schedule, the loop drawing as tui.c's loop does; lag =
 *      end of the draw that shows a token - when the token was due;
 *   5. the real binary (build/adopt-tui) on a pty of 200x60 on the saved session: start-up, key
 *      round trips (write a key to the pty, wait for the screen update), CPU while idle for
 *      10 s (/proc/PID/stat utime+stime), VmRSS and VmHWM; and this process's own memory;
 *   6. a long history: the same chain with 300 validation examples, one iteration run and
 *      decided, its record copied into a history of HIST_ITERATIONS iterations (the older ones
 *      summarised as engine_store keeps them: runs without their steps), reopened: full redraws
 *      at 200x60 with History (its charts), Proposals (300 examples of evidence) and the Traces
 *      pane pinned on an example across the iterations focused, and key to screen for j/k, [ ]
 *      and Enter/q on the Evidence screen.
 *
 *   tui [--idle-s N] [--adopt build/adopt-tui] [--keep 1] [--history-only 1] [--live-only 1|2]
 *   (--keep: leave the temp dir; --history-only: part 6 alone; --live-only: part 7 alone, 2:
 *   its background saves only) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "core/template.h"
#include "tui/display.h"
#include "tui/tui_int.h"

#define N_TRAIN         2000
#define N_VAL           32
#define COLS            200
#define ROWS            60
#define REDRAWS         200
#define KEYS            200
#define TOKENS_PER_S    2000
#define STREAM_S        3
#define HIST_ITERATIONS 100
#define HIST_VAL        300
#define HIST_TRAIN      60
#define HIST_WHOLE      5 /* iterations whose runs keep their steps (engine_store.c) */

static const char *const words[] = {"apple",  "river",  "candle", "garden", "silver",  "thunder",
                                    "pepper", "harbor", "window", "meadow", "lantern", "copper",
                                    "falcon", "marble", "orchid", "saddle", "tunnel"};

/* ---- the session and the rules ---- */

static void write_rules(const char *path, int delay_ms)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	/* the stall for the streaming part: only a prompt the benchmark edits contains STALL */
	bench_add_rule(R, "STALL", "stalled", NULL, 600000);
	bench_add_role_rules(
	    R, "<summary>Ten steps pass one word along: s01 finds it in the text, the code steps "
	       "format and extract it, the other LLM steps copy it, s09 writes it as the answer "
	       "(exact match).</summary>");
	bench_add_rule(R, "(?s)Step 1\\..*?Text: Item \\d+: (?<w>\\w+)", NULL,
	               (const char *const[]){"${w}", "${w}", "${w}", "unknown", NULL}, delay_ms);
	bench_add_rule(R, "(?s)Step 7\\..*?Word: (?<w>\\S+)", NULL,
	               (const char *const[]){"${w}", "${w}", "${w}", "none", NULL}, delay_ms);
	bench_add_rule(R, "(?s)Step \\d\\..*?Word: (?<w>\\S+)", "${w}", NULL, delay_ms);
	cJSON_AddStringToObject(root, "fallback", "I do not know.");
	bench_write_json(path, root);
}

static void add_model(cJSON *models, const char *name)
{
	cJSON *m = cJSON_AddObjectToObject(models, name);
	cJSON_AddStringToObject(m, "provider", "scripted");
	cJSON_AddStringToObject(m, "rules", "rules.json");
	cJSON_AddNumberToObject(m, "concurrency", 64);
	cJSON_AddNumberToObject(m, "price_in", 0.15);
	cJSON_AddNumberToObject(m, "price_out", 0.6);
}

/* LLM step n (odd) reads the output of step n-1 (or the question) as {{w}}. */
static void add_llm_step(cJSON *steps, int n)
{
	cJSON *s = cJSON_CreateObject();
	char id[8], from[32], *prompt;
	snprintf(id, sizeof id, "s%02d", n);
	if (n == 1) {
		snprintf(from, sizeof from, "input.question");
		prompt = xasprintf("Step 1. Find the word after \"Item N:\" in the text and answer "
		                   "with that word only.\n\nText: {{w}}");
	} else {
		snprintf(from, sizeof from, "steps.s%02d.output", n - 1);
		prompt = xasprintf("Step %d. Copy the word you are given and answer with that word "
		                   "only.\n\nWord: {{w}}",
		                   n);
	}
	cJSON_AddStringToObject(s, "id", id);
	cJSON_AddStringToObject(s, "type", "llm");
	cJSON_AddStringToObject(s, "model", "task");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "w", from);
	cJSON_AddStringToObject(s, "prompt", prompt);
	cJSON_AddItemToArray(steps, s);
	free(prompt);
}

/* Code step n (even): a template that keeps the word (steps 2, 6, 10) or a regex extracting the
 * first word of "Word: X" (4, 8). */
static void add_code_step(cJSON *steps, int n)
{
	cJSON *s = cJSON_CreateObject();
	char id[8], ref[64];
	snprintf(id, sizeof id, "s%02d", n);
	snprintf(ref, sizeof ref, "{{steps.s%02d.output}}", n - 1);
	cJSON_AddStringToObject(s, "id", id);
	if (n % 4 == 2) {
		cJSON_AddStringToObject(s, "type", "template");
		cJSON_AddStringToObject(s, "template", ref);
	} else {
		cJSON_AddStringToObject(s, "type", "regex");
		cJSON_AddStringToObject(s, "source", ref);
		cJSON_AddStringToObject(s, "pattern", "(\\S+)");
		cJSON_AddNumberToObject(s, "group", 1);
	}
	cJSON_AddItemToArray(steps, s);
}

static void write_examples(const char *path, const char *split, int n)
{
	struct sbuf b = {0};
	for (int i = 0; i < n; i++) {
		const char *w = words[(size_t)i * 7 % ARRAY_SIZE(words)];
		cJSON *e = cJSON_CreateObject();
		char id[32], q[160];
		snprintf(id, sizeof id, "%s%04d", split, i);
		snprintf(
		    q, sizeof q,
		    "Item %d: %s. This record comes from the inventory of a small shop and lists "
		    "one word to pass along.",
		    i, w);
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		char *line = cJSON_PrintUnformatted(e);
		sbuf_adds(&b, line);
		sbuf_addc(&b, '\n');
		cJSON_free(line);
		cJSON_Delete(e);
	}
	struct err er = {{0}};
	if (file_write_atomic(path, sbuf_str(&b), b.len, &er) < 0) {
		fprintf(stderr, "%s\n", er.msg);
		exit(1);
	}
	sbuf_free(&b);
}

static void write_session(const char *dir, const char *path, int n_train, int n_val, int val_size)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "bench-chain10");
	cJSON *models = cJSON_AddObjectToObject(root, "models");
	add_model(models, "task");
	add_model(models, "optimizer");
	cJSON *p = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(p, "steps");
	for (int n = 1; n <= 10; n++) {
		if (n % 2)
			add_llm_step(steps, n);
		else
			add_code_step(steps, n);
	}
	cJSON_AddStringToObject(p, "output", "s10");
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	cJSON_AddStringToObject(ds, "train", "train.jsonl");
	cJSON_AddStringToObject(ds, "val", "val.jsonl");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", 3);
	cJSON_AddNumberToObject(o, "batch_size", n_train);
	cJSON_AddNumberToObject(o, "minibatch_good", 5);
	cJSON_AddNumberToObject(o, "minibatch_bad", 5);
	cJSON_AddNumberToObject(o, "val_size", val_size);
	cJSON_AddNumberToObject(o, "budget_total", 10);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	cJSON_AddNumberToObject(o, "eval_budget", 12);
	cJSON_AddStringToObject(o, "step_optimizer", "instruct");
	cJSON_AddStringToObject(o, "role_model", "optimizer");
	bench_write_json(path, root);
	char *f = xasprintf("%s/train.jsonl", dir);
	write_examples(f, "train", n_train);
	free(f);
	f = xasprintf("%s/val.jsonl", dir);
	write_examples(f, "val", n_val);
	free(f);
}

/* ---- measuring ---- */

static double p95(double *v, size_t n) /* v sorted */
{
	return v[(size_t)((double)(n - 1) * 0.95 + 0.5)];
}

static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':')
			kb = strtol(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

/* utime + stime of a process in clock ticks, -1 when unreadable. */
static long proc_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* fields after the command name, from field 3 (state) */
	long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
		return -1;
	return ut + st;
}

static void pump_until_idle(struct app *a, double timeout_s)
{
	double end = now_s() + timeout_s;
	app_pump(a);
	while ((engine_busy(a->t.en) || engine_running(a->t.en) || llm_pending(a->t.llm) > 0) &&
	       now_s() < end) {
		llm_wait(a->t.llm, NULL, 0, 20);
		app_pump(a);
	}
}

static void report(const char *what, double *v, size_t n, double target_ms)
{
	double med = bench_median(v, n); /* sorts v */
	printf("  %-44s median %7.3f ms  p95 %7.3f ms  max %7.3f ms  (target < %g ms: %s)\n", what,
	       med * 1e3, p95(v, n) * 1e3, v[n - 1] * 1e3, target_ms,
	       p95(v, n) * 1e3 < target_ms ? "met" : "MISSED");
}

static void bench_redraw(struct app *a)
{
	double *t = xcalloc(REDRAWS, sizeof *t);
	app_draw(a);
	for (int i = 0; i < REDRAWS; i++) {
		double t0 = now_s();
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report("app_draw, every pane rebuilt", t, REDRAWS, 2);
	for (int i = 0; i < REDRAWS; i++) {
		double t0 = now_s();
		clearok(curscr, TRUE);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report("app_draw + clearok (every cell sent again)", t, REDRAWS, 2);
	for (int i = 0; i < REDRAWS; i++) {
		double t0 = now_s();
		a->need_layout = true;
		clearok(curscr, TRUE);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report("app_draw + layout + clearok (as after C-l)", t, REDRAWS, 2);
	free(t);
}

static void bench_keys(struct app *a)
{
	double *t = xcalloc(KEYS, sizeof *t);
	for (int i = 0; i < KEYS; i++) {
		int key = (i / 20) % 2 ? 'k' : 'j'; /* 20 down, 20 up: the selection moves */
		double t0 = now_s();
		input_key(a, key);
		app_pump(a);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report("key j/k in Traces -> screen drawn", t, KEYS, 16);
	for (int i = 0; i < KEYS; i++) {
		double t0 = now_s();
		input_key(a, '\t');
		app_pump(a);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report("key Tab (focus next pane) -> screen drawn", t, KEYS, 16);
	app_focus(a, VIEW_TRACES);
	app_draw(a);
	free(t);
}

/* Edits step s01's prompt as the proposals pane would (set_prompt in engine.c), adding the marker
 * the delayed rule matches. */
static void stall_step(struct session *s, int step)
{
	struct step *st = &s->steps[step];
	char *p = xasprintf("STALL %s", st->prompt);
	struct err e = {{0}};
	struct template *t = template_parse(p, &e);
	if (!t) {
		fprintf(stderr, "template: %s\n", e.msg);
		exit(1);
	}
	template_free(st->prompt_tpl);
	st->prompt_tpl = t;
	free(st->prompt);
	st->prompt = p;
}

static void bench_stream(struct app *a)
{
	stall_step(a->t.s, 0);
	if (engine_step(a->t.en) < 0) {
		printf("  streaming: skipped (engine_step refused)\n");
		return;
	}
	app_pump(a);
	const struct iteration *it = engine_current(a->t.en);
	if (!it || it->phase != PHASE_FORWARD || !engine_busy(a->t.en)) {
		printf("  streaming: skipped (iteration 2's forward pass is not running)\n");
		return;
	}
	static const char *const toks[] = {" the",  " word", " is",   " apple", ",",   " and",
	                                   " then", " we",   " pass", " it",    " on", "."};
	size_t n = (size_t)TOKENS_PER_S * STREAM_S, next = 0, draws = 0;
	double *lag = xcalloc(n, sizeof *lag);
	double t0 = now_s(), cpu0 = bench_cpu_s(), draw_time = 0;
	while (next < n) {
		double now = now_s() - t0;
		size_t first = next;
		/* every token due by now arrives (the real loop reads what the socket holds) */
		while (next < n && (double)next / TOKENS_PER_S <= now) {
			const char *tok = toks[next % ARRAY_SIZE(toks)];
			struct engine_event ev = {.kind = EV_TEXT,
			                          .phase = PHASE_FORWARD,
			                          .iteration = it->number,
			                          .step =
			                              (int)(next / 50 % 5) * 2, /* the LLM steps */
			                          .example = -1,
			                          .text = tok,
			                          .len = strlen(tok)};
			app_on_event(a, &ev);
			next++;
		}
		if (next > first) {
			app_pump(a);
			double d0 = now_s();
			if (a->need_draw || a->need_layout)
				app_draw(a);
			double done = now_s();
			draw_time += done - d0;
			draws++;
			for (size_t i = first; i < next; i++)
				lag[i] = done - t0 - (double)i / TOKENS_PER_S;
		}
		if (next < n) { /* wait, as llm_wait would, until the next token is due */
			double wait = (double)next / TOKENS_PER_S - (now_s() - t0);
			if (wait > 0)
				llm_wait(a->t.llm, NULL, 0, (int)(wait * 1e3));
		}
	}
	double wall = now_s() - t0, cpu = bench_cpu_s() - cpu0;
	struct sbuf screen = {0};
	display_dump(&screen);
	bool shown = strstr(sbuf_str(&screen), "(streaming)") != NULL;
	sbuf_free(&screen);
	bench_median(lag, n);
	printf("  streaming %d tokens/s for %d s: %zu tokens in %.3f s (%.0f tokens/s), %zu draws "
	       "(%.3f ms each on average), CPU %.0f %% of wall\n",
	       TOKENS_PER_S, STREAM_S, n, wall, (double)n / wall, draws,
	       draws ? draw_time / (double)draws * 1e3 : 0, cpu / wall * 100);
	printf(
	    "  lag from a token's arrival to the end of the draw showing it: median %.3f ms, p95 "
	    "%.3f ms, max %.3f ms; kept up: %s; live text on screen: %s\n",
	    bench_median(lag, n) * 1e3, p95(lag, n) * 1e3, lag[n - 1] * 1e3,
	    wall < STREAM_S * 1.05 + 0.05 && p95(lag, n) < 0.016 ? "yes" : "NO",
	    shown ? "yes" : "NO");
	free(lag);
	engine_cancel(a->t.en);
	pump_until_idle(a, 5);
}

/* ---- a long history ---- */

/* Drops the steps of every trace in an iteration record, as engine_store does past HIST_WHOLE. */
static void summarise(cJSON *rec)
{
	cJSON *t, *e;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rec, "traces"))
	{
		cJSON_DeleteItemFromObjectCaseSensitive(t, "steps");
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "evaluations"))
	{
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(e, "traces"))
		{
			cJSON_DeleteItemFromObjectCaseSensitive(t, "steps");
		}
	}
}

/* Rewrites the session's history as HIST_ITERATIONS copies of its one iteration. */
static int grow_history(const char *session)
{
	char *text = NULL;
	size_t len;
	struct err e = {{0}};
	if (file_read(session, 1 << 30, &text, &len, &e) < 0) {
		printf("  history: %s\n", e.msg);
		return -1;
	}
	cJSON *root = cJSON_ParseWithLength(text, len);
	free(text);
	cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "history");
	cJSON *iters = cJSON_GetObjectItemCaseSensitive(h, "iterations");
	cJSON *first = cJSON_GetArrayItem(iters, 0);
	if (!first) {
		printf("  history: no iteration was recorded\n");
		cJSON_Delete(root);
		return -1;
	}
	cJSON *grown = cJSON_CreateArray();
	for (int i = 0; i < HIST_ITERATIONS; i++) {
		cJSON *rec = cJSON_Duplicate(first, 1);
		cJSON_ReplaceItemInObjectCaseSensitive(rec, "number", cJSON_CreateNumber(i + 1));
		if (i < HIST_ITERATIONS - HIST_WHOLE)
			summarise(rec);
		cJSON_AddItemToArray(grown, rec);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(h, "iterations", grown);
	bench_write_json(session, root);
	return 0;
}

static void time_keys(struct app *a, const char *what, const int *keys, size_t nk, int rounds)
{
	double *t = xcalloc((size_t)rounds, sizeof *t);
	for (int i = 0; i < rounds; i++) {
		double t0 = now_s();
		input_key(a, keys[(size_t)i % nk]);
		app_pump(a);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report(what, t, (size_t)rounds, 16);
	free(t);
}

static void time_draws(struct app *a, const char *what)
{
	double *t = xcalloc(REDRAWS, sizeof *t);
	app_draw(a);
	for (int i = 0; i < REDRAWS; i++) {
		double t0 = now_s();
		app_draw(a);
		t[i] = now_s() - t0;
	}
	report(what, t, REDRAWS, 2);
	for (int i = 0; i < REDRAWS; i++) {
		double t0 = now_s();
		clearok(curscr, TRUE);
		app_draw(a);
		t[i] = now_s() - t0;
	}
	char *w2 = xasprintf("%s + clearok", what);
	report(w2, t, REDRAWS, 2);
	free(w2);
	free(t);
}

/* Each shown pane's draw alone (median of 50), to say where a full redraw's time goes. */
static void per_view(struct app *a)
{
	double t[50];
	printf("  one pane's draw, median of 50:");
	for (int i = 0; i < VIEW_COUNT; i++) {
		struct view *v = &a->views[i];
		if (!v->win || !v->ops || !v->ops->draw)
			continue;
		for (int k = 0; k < 50; k++) {
			double t0 = now_s();
			werase(v->win);
			v->ops->draw(v);
			t[k] = now_s() - t0;
		}
		printf(" %s %.3f ms", v->ops->name, bench_median(t, 50) * 1e3);
	}
	for (int k = 0; k < 50; k++) {
		double t0 = now_s();
		status_draw(a);
		t[k] = now_s() - t0;
	}
	printf(" status bar %.3f ms", bench_median(t, 50) * 1e3);
	for (int k = 0; k < 50; k++) {
		double t0 = now_s();
		doupdate();
		t[k] = now_s() - t0;
	}
	printf(" doupdate %.3f ms\n", bench_median(t, 50) * 1e3);
}

static void bench_history(void)
{
	char *dir = bench_tmpdir("tui-history");
	char *session = xasprintf("%s/session.json", dir), *rules = xasprintf("%s/rules.json", dir);
	write_rules(rules, 0);
	write_session(dir, session, HIST_TRAIN, HIST_VAL, HIST_VAL);
	struct front_opts o = {.session = session, .limit = -1, .no_cache = true};
	int rc;
	struct app *a = app_open(&o, &rc);
	if (!a) {
		printf("  history: skipped (the workbench did not open: status %d)\n", rc);
		bench_rmdir(dir);
		return;
	}
	double t0 = now_s();
	if (engine_run(a->t.en, 1) == 0)
		pump_until_idle(a, 600);
	const struct iteration *it = engine_current(a->t.en);
	printf("  long history: one iteration with %zu validation examples run in %.2f s (%zu "
	       "evaluations)\n",
	       it ? it->n_val : 0, now_s() - t0, it ? it->n_evals : 0);
	int saved = app_save(a, session);
	app_close(a);
	if (saved < 0 || grow_history(session) < 0) {
		bench_rmdir(dir);
		return;
	}
	struct stat st;
	double mb = stat(session, &st) == 0 ? (double)st.st_size / 1e6 : 0;
	t0 = now_s();
	a = app_open(&o, &rc);
	if (!a) {
		printf("  history: the grown session did not open (status %d)\n", rc);
		bench_rmdir(dir);
		return;
	}
	a->t.deterministic = false;
	printf("  reopened with %zu iterations x %d validation examples (file %.1f MB) in %.2f s\n",
	       engine_iterations(a->t.en), HIST_VAL, mb, now_s() - t0);
	app_focus(a, VIEW_HISTORY);
	app_draw(a);
	per_view(a);
	time_draws(a, "app_draw, History focused");
	time_keys(a, "key j/k in History -> screen drawn", (const int[]){'j', 'j', 'k', 'k'}, 4,
	          KEYS);
	app_focus(a, VIEW_PROPOSALS);
	for (int i = 0; i < 5; i++) /* into the flipped examples */
		input_key(a, 'j');
	input_key(a, '\n');
	bool opened = a->t.focus == VIEW_EVIDENCE;
	input_key(a, 'q');
	printf("  Enter on a flipped example opens the Evidence screen: %s\n",
	       opened ? "yes" : "NO");
	time_draws(a, "app_draw, Proposals focused (evidence)");
	time_keys(a, "key Enter/q (Evidence screen) -> drawn", (const int[]){'\n', 'q'}, 2, KEYS);
	app_focus(a, VIEW_TRACES);
	input_key(a, 'm');
	time_draws(a, "app_draw, Traces pinned across iterations");
	time_keys(a, "key [ ] (pinned example) -> screen drawn", (const int[]){'[', '[', ']', ']'},
	          4, KEYS);
	struct sbuf scr = {0};
	display_dump(&scr);
	bool pinned = strstr(sbuf_str(&scr), "Pinned ") != NULL;
	sbuf_free(&scr);
	printf("  pinned view on screen: %s; VmHWM of this process %.1f MB\n",
	       pinned ? "yes" : "NO", (double)status_kb(getpid(), "VmHWM") / 1024);
	app_close(a);
	bench_rmdir(dir);
	free(dir);
	free(session);
	free(rules);
}

/* ---- keys while an iteration runs (part 7) ---- */

/* The loop's instrument: every poll() of this process goes through here (the static library's
 * calls bind to this definition), so the time between a return from poll() and the next call
 * is the time the loop spent away from it: handling replies, engine phases, views, drawing,
 * saving.  Counted only while `stalls_on`. */
int __poll(struct pollfd *fds, nfds_t n, int timeout); /* glibc's poll */
#define STALLS_MAX 16
static struct {
	bool on;
	double back;     /* the last return from poll(), 0: none yet */
	double back_cpu; /* this thread's CPU time then */
	double max, max_cpu;
	long turns, over16, over50;
	struct {
		double s;
		enum phase phase;
	} worst[STALLS_MAX]; /* stalls over 50 ms, in order, with the phase they ended in */
	size_t n_worst;
	const struct engine *en;
} stalls;

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (stalls.on && stalls.back > 0) {
		double gap = now_s() - stalls.back;
		stalls.turns++;
		stalls.max = MAX(stalls.max, gap);
		stalls.max_cpu = MAX(stalls.max_cpu, cpu_s() - stalls.back_cpu);
		stalls.over16 += gap > 0.016;
		if (gap > 0.050) {
			stalls.over50++;
			const struct iteration *it = engine_current(stalls.en);
			if (stalls.n_worst < STALLS_MAX)
				stalls.worst[stalls.n_worst++].s = gap;
			if (stalls.n_worst <= STALLS_MAX)
				stalls.worst[stalls.n_worst - 1].phase =
				    it ? it->phase : PHASE_COUNT;
		}
	}
	int rc = __poll(fds, n, timeout);
	stalls.back = now_s();
	stalls.back_cpu = cpu_s();
	return rc;
}

#define LIVE_ITERS   5
#define LIVE_TRAIN   300
#define LIVE_INLINE  100000 /* examples inline in the file (the test split): saves are heavy */
#define LIVE_DELAY   50     /* ms a scripted step answer takes */
#define LIVE_KEY_GAP 0.020  /* s between keys, jittered +-50 % */
#define LIVE_LIMIT_S 120
#define LIVE_IDLE_S  2

/* Adds LIVE_INLINE examples inline as the test split (never run: written by every save). */
static void add_inline_test(const char *session)
{
	char *text = NULL;
	size_t len;
	struct err e = {{0}};
	if (file_read(session, 1 << 30, &text, &len, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	struct sbuf b = {0};
	const char *ds = strstr(text, "\"dataset\":");
	if (!ds || !(ds = strchr(ds, '{'))) {
		fprintf(stderr, "%s: no dataset object\n", session);
		exit(1);
	}
	ds++;
	sbuf_add(&b, text, (size_t)(ds - text));
	sbuf_adds(&b, "\n\t\t\"test\": [\n");
	for (long i = 0; i < LIVE_INLINE; i++)
		sbuf_addf(&b,
		          "\t\t\t{\"id\": \"t%06ld\", \"question\": \"Item %ld: %s. Which word is "
		          "it?\", \"answer\": \"%s\"}%s\n",
		          i, i, words[i % (long)ARRAY_SIZE(words)],
		          words[i % (long)ARRAY_SIZE(words)], i + 1 < LIVE_INLINE ? "," : "");
	sbuf_adds(&b, "\t\t],");
	sbuf_adds(&b, ds);
	if (file_write_atomic(session, sbuf_str(&b), b.len, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	sbuf_free(&b);
	free(text);
}

static long long mtime_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : 0;
}

/* LIVE_ITERS iterations run through the workbench's own loop turn (app_loop_turn, as tui.c's
 * loop), saves as `mode` makes them, while keys j/k arrive every LIVE_KEY_GAP (jittered):
 * each is handled at the first turn after it was due, as the loop reads the terminal, and its
 * latency is the end of the draw that shows it - when it was due. */
struct keys {
	double *lat; /* latency of each key, s */
	size_t n, cap;
	double due; /* when the next key arrives */
	unsigned seed;
	long writes; /* of the session file, seen by its mtime */
	long long mtime;
};

static bool engine_working(const struct app *a)
{
	return engine_busy(a->t.en) || engine_running(a->t.en) || llm_pending(a->t.llm) > 0 ||
	       session_save_fd(a->t.s) >= 0;
}

/* Turns of the loop with keys arriving, for `seconds` or (while_working) as long as the engine
 * works or a save is being written. */
static void drive(struct app *a, const char *session, struct keys *k, double seconds,
                  bool while_working)
{
	double t0 = now_s();
	k->due = t0 + LIVE_KEY_GAP;
	while ((while_working ? engine_working(a) : true) && now_s() - t0 < seconds) {
		int wait = (int)((k->due - now_s()) * 1e3);
		app_loop_turn(a, -1, MAX(wait, 0));
		long long m = mtime_of(session);
		k->writes += m != k->mtime;
		k->mtime = m;
		if (now_s() < k->due)
			continue;
		size_t first = k->n; /* every key due by now, as read_keys reads them */
		while (k->due <= now_s() && k->n < k->cap) {
			input_key(a, k->n / 10 % 2 ? 'k' : 'j');
			a->draw_now = true;
			app_pump(a);
			k->lat[k->n++] = k->due;
			k->seed = k->seed * 1103515245 + 12345;
			k->due += LIVE_KEY_GAP * (0.5 + (double)(k->seed >> 16 & 0x7fff) / 32768.0);
		}
		app_draw(a); /* what the next turn would do first, the key having set draw_now */
		a->draw_now = false;
		a->last_draw = now_ms();
		double done = now_s();
		for (size_t i = first; i < k->n; i++)
			k->lat[i] = done - k->lat[i];
	}
}

static void report_keys(struct keys *k, const char *what)
{
	if (!k->n)
		return;
	double *v = k->lat;
	size_t n = k->n;
	bench_median(v, n);
	double p99 = v[(size_t)((double)(n - 1) * 0.99 + 0.5)];
	printf("    %s: %zu keys j/k -> screen drawn: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max "
	       "%.2f ms (target p99 < 16 ms: %s)\n",
	       what, n, v[n / 2] * 1e3, p95(v, n) * 1e3, p99 * 1e3, v[n - 1] * 1e3,
	       p99 < 0.016 ? "met" : "MISSED");
}

/* LIVE_ITERS iterations run through the workbench's own loop turn (app_loop_turn, as tui.c's
 * loop), saves as `mode` makes them, while keys j/k arrive every LIVE_KEY_GAP (jittered):
 * each is handled at the first turn after it was due, as the loop reads the terminal, and its
 * latency is the end of the draw that shows it - when it was due.  First, as a baseline of the
 * machine at that moment, the same keys for LIVE_IDLE_S with the engine idle. */
static void live_run(const char *label, int mode, const char *dir)
{
	char *session = xasprintf("%s/session.json", dir);
	write_session(dir, session, LIVE_TRAIN, N_VAL, 16);
	add_inline_test(session);
	struct front_opts o = {.session = session, .limit = -1, .no_cache = true};
	int rc;
	struct app *a = app_open(&o, &rc);
	if (!a) {
		printf("  %s: skipped (the workbench did not open: status %d)\n", label, rc);
		free(session);
		return;
	}
	a->t.deterministic = false;
	a->save_mode = mode;
#ifdef ENGINE_PROJECT_BESIDE
	engine_project_beside(a->t.en, true); /* as the workbench (the test screen's: at once) */
#endif
	app_focus(a, VIEW_TRACES);
	app_draw(a);
	size_t cap = (size_t)(LIVE_LIMIT_S / LIVE_KEY_GAP * 2);
	struct keys idle = {.lat = xcalloc(cap, sizeof(double)), .cap = cap, .seed = 7};
	struct keys k = {.lat = xcalloc(cap, sizeof(double)), .cap = cap, .seed = 7};
	drive(a, session, &idle, LIVE_IDLE_S, false);
	k.mtime = mtime_of(session);
	memset(&stalls, 0, sizeof stalls);
	stalls.en = a->t.en;
	double t0 = now_s();
	if (engine_run(a->t.en, LIVE_ITERS) < 0) {
		printf("  %s: engine_run refused\n", label);
		app_close(a);
		free(idle.lat);
		free(k.lat);
		free(session);
		return;
	}
	stalls.on = true;
	stalls.back = now_s();
	stalls.back_cpu = cpu_s();
	drive(a, session, &k, LIVE_LIMIT_S, true);
	stalls.on = false;
	double wall = now_s() - t0;
	app_save_collect(a, true);
	const struct iteration *it = engine_current(a->t.en);
	struct stat st;
	printf("  %s: %zu iteration(s) in %.1f s (the last %s), %ld writes of the %.1f MB file\n",
	       label, engine_iterations(a->t.en), wall,
	       it ? (it->phase < PHASE_COUNT ? phase_name(it->phase) : "done") : "-", k.writes,
	       stat(session, &st) == 0 ? (double)st.st_size / 1e6 : 0);
	report_keys(&idle, "engine idle (the machine's baseline now)");
	report_keys(&k, "while the iterations run");
	printf(
	    "    loop: %ld returns to poll(); longest time away from it %.1f ms (target < 50 ms: "
	    "%s); its longest CPU time away %.1f ms; %ld turns over 16 ms, %ld over 50 ms",
	    stalls.turns, stalls.max * 1e3, stalls.max < 0.050 ? "met" : "MISSED",
	    stalls.max_cpu * 1e3, stalls.over16, stalls.over50);
	for (size_t i = 0; i < stalls.n_worst; i++)
		printf("%s%.0f ms (%s)", i ? ", " : ": ", stalls.worst[i].s * 1e3,
		       stalls.worst[i].phase < PHASE_COUNT ? phase_name(stalls.worst[i].phase)
		                                           : "between iterations");
	printf("\n");
	free(idle.lat);
	free(k.lat);
	app_close(a);
	free(session);
}

static void bench_live(bool after_only)
{
	char *dir = bench_tmpdir("tui-live"), *rules = xasprintf("%s/rules.json", dir);
	write_rules(rules, LIVE_DELAY);
	printf("  keys while %d iterations run (%d train, %d validation examples, scripted answers "
	       "after %d ms, %d examples inline in the file):\n",
	       LIVE_ITERS, LIVE_TRAIN, N_VAL, LIVE_DELAY, LIVE_INLINE);
	if (!after_only)
		live_run("saves on the loop (before)", SAVE_ON_LOOP, dir);
	live_run("saves in the background (after)", SAVE_BACKGROUND, dir);
	bench_rmdir(dir);
	free(dir);
	free(rules);
}

/* ---- the real binary on a pty ---- */

struct child {
	pid_t pid;
	int fd; /* pty master */
	size_t bytes;
};

static int child_start(struct child *c, const char *bin, const char *session)
{
	memset(c, 0, sizeof *c);
	c->fd = posix_openpt(O_RDWR | O_NOCTTY);
	if (c->fd < 0 || grantpt(c->fd) < 0 || unlockpt(c->fd) < 0)
		return -1;
	struct winsize ws = {.ws_row = ROWS, .ws_col = COLS};
	const char *slave = ptsname(c->fd);
	c->pid = fork();
	if (c->pid == 0) {
		setsid();
		int s = open(slave, O_RDWR);
		if (s < 0)
			_exit(127);
		ioctl(s, TIOCSCTTY, 0);
		ioctl(s, TIOCSWINSZ, &ws);
		dup2(s, 0), dup2(s, 1), dup2(s, 2);
		if (s > 2)
			close(s);
		close(c->fd);
		setenv("TERM", "xterm-256color", 1);
		unsetenv("ADOPT_TEST_SCREEN");
		execl(bin, bin, "--no-cache", session, (char *)NULL);
		_exit(127);
	}
	return c->pid > 0 ? 0 : -1;
}

/* Reads the pty until it has been quiet for quiet_ms; returns the time of the last byte (s since
 * `since`), or -1 when nothing came within timeout_ms. */
static double child_read(struct child *c, double since, int quiet_ms, int timeout_ms)
{
	double last = -1, start = now_s();
	char buf[65536];
	for (;;) {
		int wait = last < 0 ? timeout_ms - (int)((now_s() - start) * 1e3) : quiet_ms;
		if (wait <= 0)
			return last;
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, wait);
		if (r <= 0)
			return last;
		ssize_t n = read(c->fd, buf, sizeof buf);
		if (n <= 0)
			return last;
		c->bytes += (size_t)n;
		last = now_s() - since;
	}
}

static void child_key(struct child *c, const char *k)
{
	if (write(c->fd, k, strlen(k)) < 0)
		perror("write to the pty");
}

static void bench_binary(const char *bin, const char *session, int idle_s)
{
	struct child c;
	if (access(bin, X_OK) < 0 || child_start(&c, bin, session) < 0) {
		printf("  real binary: skipped (%s not found or no pty)\n", bin);
		return;
	}
	double t0 = now_s();
	double up = child_read(&c, t0, 300, 20000);
	printf("  start-up to the first screen drawn (session with 2,000 traces): %.0f ms "
	       "(%zu bytes)\n",
	       up * 1e3, c.bytes);
	child_key(&c, "2"); /* focus Traces */
	child_read(&c, now_s(), 100, 2000);
	double rt[40];
	size_t n = 0;
	for (int i = 0; i < 40; i++) {
		double k0 = now_s();
		child_key(&c, i / 10 % 2 ? "k" : "j");
		double last = child_read(&c, k0, 30, 2000);
		if (last >= 0)
			rt[n++] = last;
	}
	if (n) {
		bench_median(rt, n);
		printf("  key j/k -> last byte of the screen update on the pty: median %.2f ms, "
		       "p95 %.2f ms, max %.2f ms over %zu keys (target < 16 ms: %s)\n",
		       bench_median(rt, n) * 1e3, p95(rt, n) * 1e3, rt[n - 1] * 1e3, n,
		       p95(rt, n) < 0.016 ? "met" : "MISSED");
	}
	child_read(&c, now_s(), 200, 1000);
	long hz = sysconf(_SC_CLK_TCK), tk0 = proc_ticks(c.pid);
	size_t b0 = c.bytes;
	double i0 = now_s();
	child_read(&c, i0, idle_s * 1000, idle_s * 1000); /* returns early only on output */
	while (now_s() - i0 < idle_s)
		child_read(&c, i0, 100, (int)((idle_s - (now_s() - i0)) * 1e3) + 1);
	double idle = now_s() - i0;
	long tk1 = proc_ticks(c.pid);
	double cpu = (double)(tk1 - tk0) / (double)hz;
	printf("  idle %.1f s: CPU %.2f s = %.2f %% (target < 1 %%: %s; /proc ticks of 1/%ld s), "
	       "%zu bytes written meanwhile\n",
	       idle, cpu, cpu / idle * 100, cpu / idle < 0.01 ? "met" : "MISSED", hz, c.bytes - b0);
	long rss = status_kb(c.pid, "VmRSS"), hwm = status_kb(c.pid, "VmHWM");
	printf("  real binary memory: VmRSS %.1f MB, VmHWM %.1f MB (target < 64 MB: %s)\n",
	       (double)rss / 1024, (double)hwm / 1024,
	       hwm > 0 && hwm < 64 * 1024 ? "met" : "MISSED");
	kill(c.pid, SIGKILL);
	int st;
	waitpid(c.pid, &st, 0);
	close(c.fd);
}

int main(int argc, char **argv)
{
	int idle_s = 10, keep = 0, history_only = 0, live_only = 0;
	const char *bin = "build/adopt-tui";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--idle-s") == 0)
			idle_s = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--adopt") == 0)
			bin = argv[i + 1];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--history-only") == 0)
			history_only = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--live-only") == 0)
			live_only = atoi(argv[i + 1]);
	}
	if (live_only) {
		setenv("ADOPT_TEST_SCREEN", "200x60", 1);
		unsetenv("ADOPT_TEST_SCRIPT");
		bench_live(live_only == 2);
		return 0;
	}
	if (history_only) {
		setenv("ADOPT_TEST_SCREEN", "200x60", 1);
		unsetenv("ADOPT_TEST_SCRIPT");
		bench_history();
		return 0;
	}
	char *dir = bench_tmpdir("tui");
	char *session = xasprintf("%s/session.json", dir), *rules = xasprintf("%s/rules.json", dir);
	write_rules(rules, 0);
	write_session(dir, session, N_TRAIN, N_VAL, 16);
	long rss0 = status_kb(getpid(), "VmRSS");

	setenv("ADOPT_TEST_SCREEN", "200x60", 1);
	unsetenv("ADOPT_TEST_SCRIPT");
	struct front_opts o = {.session = session, .limit = -1, .no_cache = true};
	int rc;
	struct app *a = app_open(&o, &rc);
	if (!a) {
		printf("tui: skipped (the workbench did not open: status %d)\n", rc);
		bench_rmdir(dir);
		return 1;
	}
	a->t.deterministic = false; /* draw latencies as a real session does */
	double t0 = now_s();
	if (engine_run(a->t.en, 1) < 0) {
		printf("tui: engine_run refused\n");
		return 1;
	}
	pump_until_idle(a, 120);
	const struct iteration *it = engine_iteration(a->t.en, 0);
	size_t bad = 0;
	for (size_t i = 0; it && i < it->n_traces; i++)
		bad += !it->traces[i].good;
	printf(
	    "  state: one iteration run (scripted, offline) in %.2f s: %zu traces (%zu bad), %zu "
	    "cases, %zu evaluations, %zu proposed changes; validation %.3f -> %.3f\n",
	    now_s() - t0, it ? it->n_traces : 0, bad, it ? it->n_cases : 0, it ? it->n_evals : 0,
	    it ? it->n_changes : 0, it ? it->base_score : 0, it ? it->best_score : 0);
	if (!it || it->n_traces != N_TRAIN) {
		printf("tui: the forward pass did not produce %d traces\n", N_TRAIN);
		return 1;
	}
	if (app_save(a, session) < 0)
		printf("  saving the session failed: %s\n", a->t.message);
	app_focus(a, VIEW_TRACES);
	for (int i = 0; i < 1000; i++) /* select a trace in the middle of the list */
		input_key(a, 'j');
	app_draw(a);

	printf("  in-process, in-memory screen %dx%d, Traces focused, 6 panes:\n", COLS, ROWS);
	bench_redraw(a);
	bench_keys(a);
	bench_stream(a);
	long rss = status_kb(getpid(), "VmRSS"), hwm = status_kb(getpid(), "VmHWM");
	printf(
	    "  this process (engine + shell, %d traces, 2 iterations): VmRSS %.1f MB, VmHWM %.1f "
	    "MB (%.1f MB at start)\n",
	    N_TRAIN, (double)rss / 1024, (double)hwm / 1024, (double)rss0 / 1024);
	app_close(a);

	bench_binary(bin, session, idle_s);
	printf("  a long history (part 6):\n");
	bench_history();
	printf("  an iteration running (part 7):\n");
	bench_live(false);
	if (keep)
		printf("  files kept in %s\n", dir);
	else
		bench_rmdir(dir);
	free(dir);
	free(session);
	free(rules);
	return 0;
}

/* ablations.c: --run N --compare-ablations: ADOPT and its ablations side by side (ablations.h).
 * Each variant loads its own copy of the session from the file (the command line's model
 * overrides applied), sets optimizer.ablate as its name says, runs N iterations headless with
 * automatic decisions and is thrown away: the user's session is never written.  All variants
 * share one LLM layer, so the response cache answers what an earlier variant already asked
 * (a variant's "cached" calls) and the spend journal records every billed call.  Accuracy is
 * the measured validation score of the prompts each variant ends with (and the test score with
 * --final-test); cost is what the variant paid (calls, tokens, money), what the cache gave it,
 * and its wall time. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ablations.h"
#include "core/termsafe.h"
#include "engine/engine.h"
#include "final_test.h"
#include "llm/llm.h"

void ablations_free(struct ablation_variant *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int parse_variant(const char *name, struct ablation_variant *v, struct err *e)
{
	memset(v, 0, sizeof *v);
	v->name = xstrdup(name);
	if (strcmp(name, "adopt") == 0)
		return 0;
	char *copy = xstrdup(name), *save = NULL;
	int rc = 0;
	for (char *kv = strtok_r(copy, "+", &save); kv && rc == 0;
	     kv = strtok_r(NULL, "+", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			rc = err_set(
			    e, "--compare-ablations: \"%.60s\" is not KEY=VALUE (nor adopt)", kv);
			break;
		}
		*eq = '\0';
		struct err e2 = {{0}};
		if (ablate_set(v->ablate, kv, eq + 1, &e2) < 0)
			rc = err_set(e, "--compare-ablations: %s", e2.msg);
	}
	free(copy);
	return rc;
}

int ablations_parse(const char *list, struct ablation_variant **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	char *copy = xstrdup(list && *list ? list : ABLATIONS_DEFAULT), *save = NULL;
	size_t cap = 0;
	int rc = 0;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		for (size_t k = 0; k < *n && rc == 0; k++)
			if (strcmp((*out)[k].name, name) == 0)
				rc = err_set(e, "--compare-ablations: \"%.60s\" is listed twice",
				             name);
		if (rc < 0)
			break;
		*out = xgrow(*out, &cap, *n + 1, sizeof **out);
		if ((rc = parse_variant(name, &(*out)[*n], e)) < 0) {
			free((*out)[*n].name);
			break;
		}
		(*n)++;
	}
	free(copy);
	if (rc == 0 && *n == 0)
		rc = err_set(e, "--compare-ablations: no variant in \"%.60s\"", list);
	if (rc < 0) {
		ablations_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- running ---- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct row {
	const char *name;
	int iterations;
	double val_before, val_after, test; /* test < 0: not measured */
	struct engine_totals t;
	long phase_calls[PHASE_COUNT]; /* answers per phase over its iterations, cached included */
	double wall_s;
	char *stopped; /* why the run ended early, or NULL */
	long failed;   /* requests that failed for good */
	bool done;     /* ran to its end (not interrupted) */
	bool scripted;
};

struct ctx {
	const char *variant;
	struct engine *en;
};

static void on_event(void *arg, const struct engine_event *ev)
{
	struct ctx *c = arg;
	if (ev->kind == EV_ERROR || ev->kind == EV_PAUSED) {
		char *m = term_line(ev->message);
		term_printf(stderr, "%s: iteration %d: %s\n", c->variant, ev->iteration, m);
		free(m);
	} else if (ev->kind == EV_ITERATION_DONE) {
		const struct iteration *it = engine_current(c->en);
		term_printf(stderr, "%s: iteration %d done: validation %.3f -> %.3f\n", c->variant,
		            it->number, it->base_score, engine_val_score(c->en));
	}
}

static void drive(struct ctx *c, struct llm *l)
{
	while (!stop && engine_running(c->en)) {
		if (engine_busy(c->en) && llm_wait(l, NULL, 0, 250) < 0)
			break;
		engine_poll(c->en);
	}
}

/* One variant on its own copy of the session and its own LLM layer (so its totals are its
 * own), the response cache file shared: 0, or the exit status of a failed opening. */
static int run_variant(const struct front_opts *o, const struct ablation_variant *v, struct row *r)
{
	memset(r, 0, sizeof *r);
	r->name = v->name;
	r->test = -1;
	struct front_env env;
	int rc = front_open(o, &env);
	struct err e = {{0}};
	if (!rc && o->final_test && final_test_check(env.s, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		rc = ADOPT_EXIT_INVALID;
	}
	struct ctx c = {v->name, NULL};
	if (!rc) {
		memcpy(env.s->opt.ablate, v->ablate, sizeof env.s->opt.ablate);
		struct engine_opts eo = {.trust = o->trust, .auto_accept = true};
		if (!(c.en = engine_new(env.s, env.llm, &eo, on_event, &c, &e))) {
			term_printf(stderr, "adopt-tui: %s: %s\n", v->name, e.msg);
			rc = ADOPT_EXIT_FAILED;
		}
	}
	if (rc) {
		front_close(&env);
		return rc;
	}
	r->scripted = env.scripted;
	term_printf(stderr, "%s: %d iteration%s...\n", v->name, o->iterations,
	            o->iterations == 1 ? "" : "s");
	size_t before = engine_iterations(c.en);
	double t0 = now_s();
	/* a session saved mid-iteration: its finished phases replayed from the cache, as --run */
	const struct iteration *open = engine_current(c.en);
	if (open && open->phase < PHASE_COUNT && before)
		before--;             /* that iteration is part of the variant's run */
	if (engine_resume(c.en) == 0) /* an older file's: its finished phases replayed */
		drive(&c, env.llm);
	if (!stop && engine_run(c.en, o->iterations) < 0 && engine_pause_reason(c.en))
		term_printf(stderr, "adopt-tui: %s: %s\n", v->name, engine_pause_reason(c.en));
	drive(&c, env.llm);
	if (stop)
		engine_cancel(c.en);
	r->iterations = (int)(engine_iterations(c.en) - before);
	for (size_t i = before; i < engine_iterations(c.en); i++)
		for (int p = 0; p < PHASE_COUNT; p++)
			r->phase_calls[p] += engine_iteration(c.en, i)->cost[p].calls;
	if (r->iterations > 0)
		r->val_before = engine_iteration(c.en, before)->base_score;
	r->val_after = engine_val_score(c.en);
	if (engine_pause_reason(c.en))
		r->stopped = xstrdup(engine_pause_reason(c.en));
	if (o->final_test && !stop && engine_current(c.en)) {
		if (final_test_run(env.s, env.llm, o->trust, engine_current(c.en)->number, &stop,
		                   &e) < 0)
			term_printf(stderr, "adopt-tui: %s: %s\n", v->name, e.msg);
		else
			r->test = cJSON_GetNumberValue(
			    cJSON_GetObjectItem(final_test_get(env.s), "score"));
	}
	r->wall_s = now_s() - t0;
	engine_totals(c.en, &r->t); /* this LLM layer's: the test run's calls included */
	struct llm_stats st;
	llm_get_stats(env.llm, &st);
	r->failed = st.failed;
	r->done = !stop;
	engine_free(c.en);
	front_close(&env);
	return 0;
}

/* Tokens the variant used: billed now, or reused from the cache (billed before). */
static long used_tokens(const struct engine_totals *t)
{
	return t->tokens_in + t->tokens_out + t->tokens_reused;
}

static cJSON *rows_json(const struct front_opts *o, const struct row *rows, size_t n)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "session", o->session);
	cJSON_AddBoolToObject(r, "scripted_model", rows[0].scripted);
	cJSON_AddNumberToObject(r, "iterations", o->iterations);
	cJSON *vs = cJSON_AddArrayToObject(r, "variants");
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "variant", w->name);
		cJSON_AddBoolToObject(j, "completed", w->done);
		cJSON_AddNumberToObject(j, "iterations_run", w->iterations);
		cJSON_AddNumberToObject(j, "val_before", w->val_before);
		cJSON_AddNumberToObject(j, "val_after", w->val_after);
		if (w->test >= 0)
			cJSON_AddNumberToObject(j, "test", w->test);
		cJSON_AddNumberToObject(j, "llm_calls", (double)w->t.calls);
		cJSON_AddNumberToObject(j, "cached", (double)w->t.cached);
		cJSON_AddNumberToObject(j, "paid_calls", (double)(w->t.calls - w->t.cached));
		cJSON_AddNumberToObject(j, "memo_hits", (double)w->t.memo_hits);
		cJSON_AddNumberToObject(j, "tokens_in", (double)w->t.tokens_in);
		cJSON_AddNumberToObject(j, "tokens_out", (double)w->t.tokens_out);
		cJSON_AddNumberToObject(j, "tokens_reused", (double)w->t.tokens_reused);
		cJSON_AddNumberToObject(j, "tokens_used", (double)used_tokens(&w->t));
		cJSON_AddNumberToObject(j, "estimated", (double)w->t.estimated);
		cJSON_AddNumberToObject(j, "cost_usd", w->t.cost_usd);
		cJSON_AddNumberToObject(j, "wall_s", w->wall_s);
		cJSON *pc = cJSON_AddObjectToObject(j, "calls_by_phase");
		for (int p = 0; p < PHASE_COUNT; p++)
			cJSON_AddNumberToObject(pc, phase_name((enum phase)p),
			                        (double)w->phase_calls[p]);
		if (w->stopped)
			cJSON_AddStringToObject(j, "stopped", w->stopped);
		cJSON_AddItemToArray(vs, j);
	}
	return r;
}

static void rows_text(const struct front_opts *o, const struct row *rows, size_t n)
{
	term_printf(stdout, "%s: %d iteration%s per variant, each from the same start%s\n",
	            o->session, o->iterations, o->iterations == 1 ? "" : "s",
	            rows[0].scripted ? "  [scripted model]" : "");
	term_printf(stdout, "%-26s %10s %9s %6s %6s %9s %6s %9s %9s %7s\n", "variant", "val before",
	            "val after", "test", "calls", "tokens", "paid", "paid tok", "paid $", "time");
	for (size_t i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		char test[16] = "-", usd[32];
		if (w->test >= 0)
			snprintf(test, sizeof test, "%.3f", w->test);
		/* ~: some usage was estimated (the provider did not count it) */
		snprintf(usd, sizeof usd, "%s$%.4f", w->t.estimated ? "~" : "", w->t.cost_usd);
		term_printf(stdout, "%-26s %10.4f %9.4f %6s %6ld %9ld %6ld %9ld %9s %6.1fs%s\n",
		            w->name, w->val_before, w->val_after, test, w->t.calls,
		            used_tokens(&w->t), w->t.calls - w->t.cached,
		            w->t.tokens_in + w->t.tokens_out, usd, w->wall_s,
		            w->done ? "" : "  (not finished)");
		if (w->stopped)
			term_printf(stdout, "  %s: %s\n", w->name, w->stopped);
	}
	term_printf(stdout,
	            "calls, tokens: what each variant used, answers from the response cache "
	            "included; paid: what it billed here (calls an earlier variant made come "
	            "from the cache)\n");
}

int ablations_main(const struct front_opts *o)
{
	struct ablation_variant *v;
	size_t n;
	struct err e = {{0}};
	if (ablations_parse(o->ablations, &v, &n, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s (try adopt-tui --help)\n", e.msg);
		return ADOPT_EXIT_INVALID;
	}
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal}, old[ARRAY_SIZE(sigs)];
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
	struct row *rows = xcalloc(n, sizeof *rows);
	size_t ran = 0;
	int rc = 0;
	while (ran < n && !stop && !rc)
		if (!(rc = run_variant(o, &v[ran], &rows[ran])))
			ran++;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (ran && o->json) {
		cJSON *r = rows_json(o, rows, ran);
		term_json_doc(stdout, r);
		cJSON_Delete(r);
	} else if (ran) {
		rows_text(o, rows, ran);
	}
	long failed = 0;
	for (size_t i = 0; i < ran; i++)
		failed += rows[i].failed;
	if (stop) {
		term_printf(stderr, "adopt-tui: interrupted; the session file was not changed\n");
		rc = ADOPT_EXIT_INTERRUPTED;
	} else if (!rc && failed) {
		term_printf(stderr, "adopt-tui: %ld request%s failed; exit status %d\n", failed,
		            failed == 1 ? "" : "s", ADOPT_EXIT_FAILED);
		rc = ADOPT_EXIT_FAILED;
	}
	for (size_t i = 0; i < ran; i++)
		free(rows[i].stopped);
	free(rows);
	ablations_free(v, n);
	return rc;
}

/* compare.c: --compare.  Owns the version specs (PATH, PATH@vN, PATH@iteration:K), the
 * evaluation of both sides (one LLM layer and one runner when both are the same session file,
 * so a comparison of versions that were evaluated before is answered by the response cache and
 * shares every upstream step), the per-example fixed / broken / unchanged lists with both
 * outputs and the per-step outputs that differ, the paired bootstrap interval, and the two
 * printed forms (text, --json). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "core/metric.h"
#include "core/termsafe.h"
#include "engine/engine.h"
#include "engine/run.h"

#define BOOTSTRAP_RESAMPLES 2000

enum spec_kind { SPEC_CURRENT, SPEC_VERSION, SPEC_ITERATION };

struct side {
	const char *label; /* as given */
	char *path;
	enum spec_kind kind;
	long n; /* version or iteration */
	struct batch_env env, *e; /* e: own env, or the other side's when the same file */
	struct engine *en;
	struct variant *var; /* per step */
	const struct variant **config;
	struct runner *runner;
	struct run_batch *batch;
	double cost;
	long requests, cached;
};

/* "PATH", "PATH@v3", "PATH@iteration:2"; -1 with a message for anything else after '@'. */
static int spec_parse(struct side *sd, const char *spec)
{
	sd->label = spec;
	const char *at = strrchr(spec, '@');
	const char *rest = at ? at + 1 : NULL;
	sd->kind = SPEC_CURRENT;
	if (rest && rest[0] == 'v' && parse_long(rest + 1, &sd->n) == 0 && sd->n >= 1)
		sd->kind = SPEC_VERSION;
	else if (rest && str_startswith(rest, "iteration:") &&
	         parse_long(rest + strlen("iteration:"), &sd->n) == 0 && sd->n >= 0)
		sd->kind = SPEC_ITERATION;
	else if (rest && !str_endswith(spec, ".json")) {
		term_printf(stderr,
		            "adopt-tui: %s: a version is @vN (a prompt version) or @iteration:K (the "
		            "prompts after iteration K)\n",
		            spec);
		return -1;
	}
	sd->path = sd->kind == SPEC_CURRENT ? xstrdup(spec) : xstrndup(spec, (size_t)(at - spec));
	return 0;
}

/* The prompt of step i that the spec names, or NULL for the current one. */
static const char *spec_prompt(const struct side *sd, int step, int *found)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(sd->en, &n), *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (pv[i].step != step)
			continue;
		bool fits = sd->kind == SPEC_VERSION ? pv[i].version <= sd->n
		                                     : pv[i].iteration <= sd->n;
		if (fits && (!best || pv[i].version > best->version))
			best = &pv[i];
		if (sd->kind == SPEC_VERSION && pv[i].version == sd->n)
			*found = 1;
	}
	return best ? best->prompt : NULL;
}

/* Builds the configuration the spec names; -1 (message printed) for an unknown version. */
static int side_resolve(struct side *sd)
{
	const struct session *s = sd->e->s;
	struct err e = {{0}};
	struct engine_opts eo = {0};
	if (!(sd->en = engine_new(sd->e->s, sd->e->llm, &eo, NULL, NULL, &e))) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		return -1;
	}
	sd->var = xcalloc(s->n_steps + 1, sizeof *sd->var);
	sd->config = xcalloc(s->n_steps + 1, sizeof *sd->config);
	if (sd->kind == SPEC_CURRENT)
		return 0;
	int found = 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		const char *p = st->kind == STEP_LLM ? spec_prompt(sd, (int)i, &found) : NULL;
		if (p) {
			sd->var[i] = (struct variant){p, st->demos, st->n_demos};
			sd->config[i] = &sd->var[i];
		}
	}
	size_t iters = engine_iterations(sd->en);
	long last = iters ? engine_iteration(sd->en, iters - 1)->number : 0;
	if (sd->kind == SPEC_VERSION && !found) {
		term_printf(stderr, "adopt-tui: %s: no prompt version v%ld in %s\n", sd->label, sd->n,
		            sd->path);
		return -1;
	}
	if (sd->kind == SPEC_ITERATION && sd->n > last) {
		term_printf(stderr,
		            "adopt-tui: %s: no iteration %ld in %s (it has %ld; iteration:0 is the "
		            "original prompts)\n",
		            sd->label, sd->n, sd->path, last);
		return -1;
	}
	return 0;
}

static void side_free(struct side *sd)
{
	run_batch_free(sd->batch);
	runner_free(sd->runner);
	engine_free(sd->en);
	free(sd->var);
	free(sd->config);
	if (sd->e == &sd->env)
		batch_env_close(&sd->env);
	free(sd->path);
}

/* Same steps (ids and kinds, in order) and the same examples in the split. */
static int same_shape(const struct side *a, const struct side *b, enum split_id sp,
                      const char *split)
{
	const struct session *x = a->e->s, *y = b->e->s;
	bool same = x->n_steps == y->n_steps;
	for (size_t i = 0; same && i < x->n_steps; i++)
		same = !strcmp(x->steps[i].id, y->steps[i].id) && x->steps[i].kind == y->steps[i].kind;
	if (!same) {
		term_printf(stderr,
		            "adopt-tui: %s and %s have different pipelines (steps differ); compare "
		            "two versions of one pipeline\n",
		            a->path, b->path);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		const struct side *sd = k ? b : a;
		if (!sd->e->s->data.splits[sp].n) {
			term_printf(stderr, "adopt-tui: %s: the %s split has no examples\n", sd->path,
			            split);
			return -1;
		}
	}
	const struct split *p = &x->data.splits[sp], *q = &y->data.splits[sp];
	same = p->n == q->n;
	for (size_t i = 0; same && i < p->n; i++)
		same = !strcmp(p->ex[i].id, q->ex[i].id);
	if (!same) {
		term_printf(stderr, "adopt-tui: %s and %s have different %s examples\n", a->path,
		            b->path, split);
		return -1;
	}
	return 0;
}

static int wait_done(struct side *sd)
{
	while (!run_batch_done(sd->batch))
		if (llm_wait(sd->e->llm, NULL, 0, 250) < 0)
			return -1;
	for (size_t i = 0; i < run_batch_count(sd->batch); i++) {
		const struct trace *t = run_batch_trace(sd->batch, i);
		for (size_t k = 0; k < t->n; k++) {
			const struct trace_step *ts = &t->steps[k];
			if (!ts->key[0])
				continue;
			if (ts->cached || ts->memo) {
				sd->cached++;
				continue;
			}
			sd->requests++;
			sd->cost += ts->cost_usd;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Percentile interval of the mean of d over BOOTSTRAP_RESAMPLES resamples of the examples
 * (the same resample for both sides: paired), seeded so a comparison repeats exactly. */
static void bootstrap(const double *d, size_t n, double *lo, double *hi)
{
	double *m = xcalloc(BOOTSTRAP_RESAMPLES, sizeof *m);
	struct rng r;
	rng_seed(&r, 1);
	for (int k = 0; k < BOOTSTRAP_RESAMPLES; k++) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += d[rng_below(&r, n)];
		m[k] = s / (double)n;
	}
	qsort(m, BOOTSTRAP_RESAMPLES, sizeof *m, cmp_double);
	*lo = m[(int)(0.025 * BOOTSTRAP_RESAMPLES)];
	*hi = m[(int)(0.975 * BOOTSTRAP_RESAMPLES) - 1];
	free(m);
}

static const char *out_text(const struct trace *t, int step)
{
	const struct trace_step *ts = trace_find(t, step);
	return ts ? ts->error ? ts->error : ts->out.text ? ts->out.text : "" : NULL;
}

static const char *change_name(double a, double b)
{
	return b > a ? "fixed" : b < a ? "broken" : "unchanged";
}

static void side_json(cJSON *r, const char *key, const struct side *sd)
{
	cJSON *j = cJSON_AddObjectToObject(r, key);
	cJSON_AddStringToObject(j, "spec", sd->label);
	cJSON_AddNumberToObject(j, "score", run_batch_score(sd->batch));
	cJSON_AddNumberToObject(j, "cost_usd", sd->cost);
	cJSON_AddNumberToObject(j, "requests", (double)sd->requests);
	cJSON_AddNumberToObject(j, "cached", (double)sd->cached);
}

static void report(const struct batch_opts *o, struct side *a, struct side *b)
{
	const struct session *s = a->e->s;
	size_t n = run_batch_count(a->batch);
	double *d = xcalloc(n + 1, sizeof *d);
	size_t fixed = 0, broken = 0;
	for (size_t i = 0; i < n; i++) {
		double x = run_batch_trace(a->batch, i)->score, y = run_batch_trace(b->batch, i)->score;
		d[i] = y - x;
		fixed += y > x;
		broken += y < x;
	}
	double lo, hi, diff = run_batch_score(b->batch) - run_batch_score(a->batch);
	bootstrap(d, n, &lo, &hi);
	bool real = lo > 0 || hi < 0;
	bool scripted = a->e->scripted || b->e->scripted;
	cJSON *r = o->json ? cJSON_CreateObject() : NULL;
	if (r) {
		cJSON_AddStringToObject(r, "split", o->split);
		cJSON_AddStringToObject(r, "metric", metric_name(s->metric));
		cJSON_AddBoolToObject(r, "scripted_model", scripted);
		cJSON_AddNumberToObject(r, "examples_count", (double)n);
		side_json(r, "a", a);
		side_json(r, "b", b);
		cJSON_AddNumberToObject(r, "difference", diff);
		cJSON *ci = cJSON_AddObjectToObject(r, "ci95");
		cJSON_AddNumberToObject(ci, "low", lo);
		cJSON_AddNumberToObject(ci, "high", hi);
		cJSON_AddNumberToObject(ci, "resamples", BOOTSTRAP_RESAMPLES);
		cJSON_AddBoolToObject(r, "significant", real);
		cJSON_AddNumberToObject(r, "fixed", (double)fixed);
		cJSON_AddNumberToObject(r, "broken", (double)broken);
		cJSON_AddNumberToObject(r, "unchanged", (double)(n - fixed - broken));
	} else {
		term_printf(stdout, "compare on split %s, %zu examples, metric %s%s\n", o->split, n,
		            metric_name(s->metric),
		            scripted ? "  [scripted model: a stand-in, not a real LLM]" : "");
		const struct side *sides[] = {a, b};
		for (int k = 0; k < 2; k++)
			term_printf(stdout, "  %c  %-40s score %.4f  cost $%.4f (requests %ld, cached %ld)\n",
			            'A' + k, sides[k]->label, run_batch_score(sides[k]->batch),
			            sides[k]->cost, sides[k]->requests, sides[k]->cached);
		term_printf(stdout,
		            "  B - A  %+.4f   95%% interval [%+.4f, %+.4f] (paired bootstrap, %d "
		            "resamples): %s\n",
		            diff, lo, hi, BOOTSTRAP_RESAMPLES,
		            real ? "a real difference" : "not significant (the interval holds 0)");
		term_printf(stdout, "  fixed %zu  broken %zu  unchanged %zu\n", fixed, broken,
		            n - fixed - broken);
	}
	cJSON *ex = r ? cJSON_AddArrayToObject(r, "examples") : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct trace *ta = run_batch_trace(a->batch, i), *tb = run_batch_trace(b->batch, i);
		const char *id = s->data.splits[ta->split].ex[ta->example].id;
		const char *ch = change_name(ta->score, tb->score);
		cJSON *j = NULL, *steps = NULL;
		if (r) {
			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "id", id);
			cJSON_AddStringToObject(j, "change", ch);
			cJSON_AddNumberToObject(j, "a_score", ta->score);
			cJSON_AddNumberToObject(j, "b_score", tb->score);
			cJSON_AddStringToObject(j, "a_output", ta->prediction ? ta->prediction : "");
			cJSON_AddStringToObject(j, "b_output", tb->prediction ? tb->prediction : "");
			cJSON_AddItemToArray(ex, j);
		}
		if (ta->score == tb->score)
			continue;
		if (!r) {
			char *pa = term_line(ta->prediction ? ta->prediction : "");
			char *pb = term_line(tb->prediction ? tb->prediction : "");
			term_printf(stdout, "  %s %s: %.4f -> %.4f\n      A: %s\n      B: %s\n", ch, id,
			            ta->score, tb->score, pa, pb);
			free(pa);
			free(pb);
		}
		/* the steps whose output differs on a flipped example */
		for (size_t k = 0; k < s->n_steps; k++) {
			const char *oa = out_text(ta, (int)k), *ob = out_text(tb, (int)k);
			if (!oa || !ob || !strcmp(oa, ob))
				continue;
			if (r) {
				if (!steps)
					steps = cJSON_AddArrayToObject(j, "steps");
				cJSON *sj = cJSON_CreateObject();
				cJSON_AddStringToObject(sj, "step", s->steps[k].id);
				cJSON_AddStringToObject(sj, "a", oa);
				cJSON_AddStringToObject(sj, "b", ob);
				cJSON_AddItemToArray(steps, sj);
			} else {
				char *la = term_line(oa), *lb = term_line(ob);
				term_printf(stdout, "      step %s: A %.120s\n      %*s  B %.120s\n",
				            s->steps[k].id, la, (int)strlen(s->steps[k].id) + 5, "", lb);
				free(la);
				free(lb);
			}
		}
	}
	if (r) {
		char *text = cJSON_Print(r);
		term_json(stdout, text);
		cJSON_free(text);
		cJSON_Delete(r);
	}
	free(d);
}

int compare_main(const struct batch_opts *o)
{
	struct side sd[2] = {{0}};
	int rc = 0;
	if (spec_parse(&sd[0], o->compare_a) < 0 || spec_parse(&sd[1], o->session) < 0) {
		free(sd[0].path);
		free(sd[1].path);
		return BATCH_EXIT_INVALID;
	}
	enum split_id split = (enum split_id)split_from_name(o->split);
	for (int k = 0; k < 2 && rc == 0; k++) {
		struct batch_opts so = *o;
		so.session = sd[k].path;
		so.read_only = true;
		if (k == 1 && !strcmp(sd[0].path, sd[1].path)) {
			sd[1].e = sd[0].e; /* one LLM layer and cache for both */
		} else {
			sd[k].e = &sd[k].env;
			rc = batch_prepare(&so, &sd[k].env);
		}
		if (rc == 0 && side_resolve(&sd[k]) < 0)
			rc = BATCH_EXIT_INVALID;
	}
	if (rc == 0 && same_shape(&sd[0], &sd[1], split, o->split) < 0)
		rc = BATCH_EXIT_INVALID;
	if (rc == 0) {
		size_t n = sd[0].e->s->data.splits[split].n;
		if (o->limit >= 0 && (size_t)o->limit < n)
			n = (size_t)o->limit;
		size_t *idx = xcalloc(n + 1, sizeof *idx);
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (int k = 0; k < 2; k++) {
			sd[k].runner = k == 1 && sd[1].e == sd[0].e ? NULL
			                                            : runner_new(sd[k].e->s, sd[k].e->llm,
			                                                         o->trust);
			struct runner *r = sd[k].runner ? sd[k].runner : sd[0].runner;
			sd[k].batch = runner_start(r, sd[k].config, split, idx, n, "compare", NULL);
		}
		for (int k = 0; k < 2 && rc == 0; k++)
			if (wait_done(&sd[k]) < 0)
				rc = BATCH_EXIT_FAILED;
		if (rc == 0)
			report(o, &sd[0], &sd[1]);
		struct llm_stats st = {0}, st2 = {0};
		llm_get_stats(sd[0].e->llm, &st);
		if (sd[1].e != sd[0].e)
			llm_get_stats(sd[1].e->llm, &st2);
		if (rc == 0 && st.failed + st2.failed > 0) {
			term_printf(stderr, "adopt-tui: %ld requests failed; exit status %d\n",
			            st.failed + st2.failed, BATCH_EXIT_FAILED);
			rc = BATCH_EXIT_FAILED;
		}
		free(idx);
	}
	/* the batches before the runner they ran on */
	for (int k = 0; k < 2; k++) {
		run_batch_free(sd[k].batch);
		sd[k].batch = NULL;
	}
	side_free(&sd[1]);
	side_free(&sd[0]);
	return rc;
}

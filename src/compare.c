/* compare.c: --compare.  Owns the version specs (PATH, PATH@vN, PATH@iteration:K), the
 * evaluation of both sides (one LLM layer and one runner when both are the same session file,
 * so a comparison of versions that were evaluated before is answered by the response cache and
 * shares every upstream step), the per-example fixed / broken / unchanged lists with both
 * outputs and the per-step outputs that differ, the paired bootstrap interval, and the two
 * printed forms (text, --json). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "core/metric.h"
#include "core/termsafe.h"
#include "core/utf8.h"
#include "engine/engine.h"
#include "engine/run.h"

#define BOOTSTRAP_RESAMPLES 2000

struct side {
	const char *label; /* as given */
	char *path;
	enum compare_spec kind;
	long n;                   /* version or iteration */
	struct front_env env, *e; /* e: own env, or the other side's when the same file */
	struct engine *en;
	struct variant *var; /* per step */
	const struct variant **config;
	struct runner *runner;
	struct run_batch *batch;
};

/* "PATH", "PATH@v3", "PATH@iteration:2"; -1 with a message for anything else after '@'. */
static int spec_parse(struct side *sd, const char *spec)
{
	sd->label = spec;
	const char *at = strrchr(spec, '@');
	sd->kind = SPEC_CURRENT;
	if (at && (compare_spec_parse(at + 1, &sd->kind, &sd->n) < 0 || sd->kind == SPEC_CURRENT) &&
	    !str_endswith(spec, ".json")) {
		term_printf(
		    stderr,
		    "adopt-tui: %s: a version is @vN (a prompt version) or @iteration:K (the "
		    "prompts after iteration K)\n",
		    spec);
		return -1;
	}
	if (sd->kind == SPEC_CURRENT)
		at = NULL;
	sd->path = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	return 0;
}

/* The version of step i that the spec names, or NULL for the current one. */
static const struct prompt_version *spec_version(const struct engine *en, enum compare_spec kind,
                                                 long n, int step, int *found)
{
	size_t nv;
	const struct prompt_version *pv = engine_versions(en, &nv), *best = NULL;
	for (size_t i = 0; i < nv; i++) {
		if (pv[i].step != step)
			continue;
		bool fits = kind == SPEC_VERSION ? pv[i].version <= n : pv[i].iteration <= n;
		if (fits && (!best || pv[i].version > best->version))
			best = &pv[i];
		if (kind == SPEC_VERSION && pv[i].version == n)
			*found = 1;
	}
	return best;
}

int compare_config(const struct engine *en, enum compare_spec kind, long n, struct variant *var,
                   const struct variant **config, struct err *e)
{
	const struct session *s = engine_session(en);
	if (kind == SPEC_CURRENT)
		return 0;
	int found = 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		const struct prompt_version *v =
		    st->kind == STEP_LLM ? spec_version(en, kind, n, (int)i, &found) : NULL;
		if (!v)
			continue;
		/* a version recorded by an older adopt-tui kept no demonstrations: the current ones
		 */
		var[i] = v->demos_known ? (struct variant){v->prompt, v->demos, v->n_demos}
		                        : (struct variant){v->prompt, st->demos, st->n_demos};
		config[i] = &var[i];
	}
	size_t iters = engine_iterations(en);
	long last = iters ? engine_iteration(en, iters - 1)->number : 0;
	if (kind == SPEC_VERSION && !found)
		return err_set(e, "no prompt version v%ld in %s", n, s->path);
	if (kind == SPEC_ITERATION && n > last)
		return err_set(e,
		               "no iteration %ld in %s (it has %ld; iteration:0 is the original "
		               "prompts)",
		               n, s->path, last);
	return 0;
}

int compare_spec_parse(const char *v, enum compare_spec *kind, long *n)
{
	if (v[0] == 'v' && parse_long(v + 1, n) == 0 && *n >= 1)
		*kind = SPEC_VERSION;
	else if (str_startswith(v, "iteration:") && parse_long(v + strlen("iteration:"), n) == 0 &&
	         *n >= 0)
		*kind = SPEC_ITERATION;
	else if (strcmp(v, "current") == 0)
		*kind = SPEC_CURRENT;
	else
		return -1;
	return 0;
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
	if (compare_config(sd->en, sd->kind, sd->n, sd->var, sd->config, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s: %s\n", sd->label, e.msg);
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
		front_close(&sd->env);
	free(sd->path);
}

/* Same steps (ids and kinds, in order) and the same examples in the split. */
static int same_shape(const struct side *a, const struct side *b, enum split_id sp,
                      const char *split)
{
	const struct session *x = a->e->s, *y = b->e->s;
	bool same = x->n_steps == y->n_steps;
	for (size_t i = 0; same && i < x->n_steps; i++)
		same =
		    !strcmp(x->steps[i].id, y->steps[i].id) && x->steps[i].kind == y->steps[i].kind;
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
			term_printf(stderr, "adopt-tui: %s: the %s split has no examples\n",
			            sd->path, split);
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
	return 0;
}

/* What a batch paid: requests sent and their cost; answers from the cache or the memo. */
static void batch_cost(const struct run_batch *b, double *cost, long *requests, long *cached)
{
	*cost = 0, *requests = *cached = 0;
	for (size_t i = 0; i < run_batch_count(b); i++) {
		const struct trace *t = run_batch_trace(b, i);
		for (size_t k = 0; k < t->n; k++) {
			const struct trace_step *ts = &t->steps[k];
			if (!ts->key[0])
				continue;
			if (ts->cached || ts->memo) {
				++*cached;
				continue;
			}
			++*requests;
			*cost += ts->cost_usd;
		}
	}
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

static void side_json(cJSON *r, const char *key, const char *label, const struct run_batch *b)
{
	double cost;
	long requests, cached;
	batch_cost(b, &cost, &requests, &cached);
	cJSON *j = cJSON_AddObjectToObject(r, key);
	cJSON_AddStringToObject(j, "spec", label);
	cJSON_AddNumberToObject(j, "score", run_batch_score(b));
	cJSON_AddNumberToObject(j, "cost_usd", cost);
	cJSON_AddNumberToObject(j, "requests", (double)requests);
	cJSON_AddNumberToObject(j, "cached", (double)cached);
}

struct stats {
	size_t n, fixed, broken;
	double diff, lo, hi;
	bool real;
};

static void stats_of(const struct run_batch *a, const struct run_batch *b, struct stats *st)
{
	st->n = run_batch_count(a);
	double *d = xcalloc(st->n + 1, sizeof *d);
	st->fixed = st->broken = 0;
	for (size_t i = 0; i < st->n; i++) {
		double x = run_batch_trace(a, i)->score, y = run_batch_trace(b, i)->score;
		d[i] = y - x;
		st->fixed += y > x;
		st->broken += y < x;
	}
	st->diff = run_batch_score(b) - run_batch_score(a);
	bootstrap(d, st->n, &st->lo, &st->hi);
	st->real = st->lo > 0 || st->hi < 0;
	free(d);
}

/* A step's output on a flipped example is shown up to STEP_OUTPUT_CHARS characters, cut on a
 * character boundary and marked with "..." when longer. */
enum { STEP_OUTPUT_CHARS = 120 };

static int cut_len(const char *text)
{
	return (int)utf8_prefix_len(text, STEP_OUTPUT_CHARS);
}

static const char *cut_mark(const char *text)
{
	return text[utf8_prefix_len(text, STEP_OUTPUT_CHARS)] ? "..." : "";
}

static void line(compare_line_fn *fn, void *arg, int indent, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static void line(compare_line_fn *fn, void *arg, int indent, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct sbuf b = {0};
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	fn(arg, indent, sbuf_str(&b));
	sbuf_free(&b);
}

void compare_text(const struct session *s, const char *split, const char *la, const char *lb,
                  const struct run_batch *a, const struct run_batch *b, bool scripted,
                  compare_line_fn *fn, void *arg)
{
	struct stats st;
	stats_of(a, b, &st);
	line(fn, arg, 0, "compare on split %s, %zu examples, metric %s%s", split, st.n,
	     metric_name(s->metric),
	     scripted ? "  [scripted model: a stand-in, not a real LLM]" : "");
	const char *labels[] = {la, lb};
	const struct run_batch *sides[] = {a, b};
	for (int k = 0; k < 2; k++) {
		double cost;
		long req, cached;
		batch_cost(sides[k], &cost, &req, &cached);
		line(fn, arg, 2, "%c  %-40s score %.4f  cost $%.4f (requests %ld, cached %ld)",
		     'A' + k, labels[k], run_batch_score(sides[k]), cost, req, cached);
	}
	line(fn, arg, 2,
	     "B - A  %+.4f   95%% interval [%+.4f, %+.4f] (paired bootstrap, %d resamples): %s",
	     st.diff, st.lo, st.hi, BOOTSTRAP_RESAMPLES,
	     st.real ? "a real difference" : "not significant (the interval holds 0)");
	line(fn, arg, 2, "fixed %zu  broken %zu  unchanged %zu", st.fixed, st.broken,
	     st.n - st.fixed - st.broken);
	for (size_t i = 0; i < st.n; i++) {
		const struct trace *ta = run_batch_trace(a, i), *tb = run_batch_trace(b, i);
		if (ta->score == tb->score)
			continue;
		line(fn, arg, 2, "%s %s: %.4f -> %.4f", change_name(ta->score, tb->score),
		     s->data.splits[ta->split].ex[ta->example].id, ta->score, tb->score);
		char *pa = term_line(ta->prediction ? ta->prediction : "");
		char *pb = term_line(tb->prediction ? tb->prediction : "");
		line(fn, arg, 6, "A: %s", pa);
		line(fn, arg, 6, "B: %s", pb);
		free(pa);
		free(pb);
		/* the steps whose output differs on a flipped example */
		for (size_t k = 0; k < s->n_steps; k++) {
			const char *oa = out_text(ta, (int)k), *ob = out_text(tb, (int)k);
			if (!oa || !ob || !strcmp(oa, ob))
				continue;
			char *xa = term_line(*oa ? oa : "(empty)"),
			     *xb = term_line(*ob ? ob : "(empty)");
			line(fn, arg, 6, "step %s: A %.*s%s", s->steps[k].id, cut_len(xa), xa,
			     cut_mark(xa));
			line(fn, arg, 6, "%*s  B %.*s%s", (int)strlen(s->steps[k].id) + 5, "",
			     cut_len(xb), xb, cut_mark(xb));
			free(xa);
			free(xb);
		}
	}
}

static void print_line(void *arg, int indent, const char *text)
{
	term_printf(arg, "%*s%s\n", indent, "", text);
}

static void report_json(const struct front_opts *o, struct side *sa, struct side *sb, bool scripted)
{
	const struct session *s = sa->e->s;
	const struct run_batch *a = sa->batch, *b = sb->batch;
	struct stats st;
	stats_of(a, b, &st);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "split", o->split);
	cJSON_AddStringToObject(r, "metric", metric_name(s->metric));
	cJSON_AddBoolToObject(r, "scripted_model", scripted);
	cJSON_AddNumberToObject(r, "examples_count", (double)st.n);
	side_json(r, "a", sa->label, a);
	side_json(r, "b", sb->label, b);
	cJSON_AddNumberToObject(r, "difference", st.diff);
	cJSON *ci = cJSON_AddObjectToObject(r, "ci95");
	cJSON_AddNumberToObject(ci, "low", st.lo);
	cJSON_AddNumberToObject(ci, "high", st.hi);
	cJSON_AddNumberToObject(ci, "resamples", BOOTSTRAP_RESAMPLES);
	cJSON_AddBoolToObject(r, "significant", st.real);
	cJSON_AddNumberToObject(r, "fixed", (double)st.fixed);
	cJSON_AddNumberToObject(r, "broken", (double)st.broken);
	cJSON_AddNumberToObject(r, "unchanged", (double)(st.n - st.fixed - st.broken));
	cJSON *ex = cJSON_AddArrayToObject(r, "examples");
	for (size_t i = 0; i < st.n; i++) {
		const struct trace *ta = run_batch_trace(a, i), *tb = run_batch_trace(b, i);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", s->data.splits[ta->split].ex[ta->example].id);
		cJSON_AddStringToObject(j, "change", change_name(ta->score, tb->score));
		cJSON_AddNumberToObject(j, "a_score", ta->score);
		cJSON_AddNumberToObject(j, "b_score", tb->score);
		cJSON_AddStringToObject(j, "a_output", ta->prediction ? ta->prediction : "");
		cJSON_AddStringToObject(j, "b_output", tb->prediction ? tb->prediction : "");
		cJSON_AddItemToArray(ex, j);
		cJSON *steps = NULL;
		for (size_t k = 0; ta->score != tb->score && k < s->n_steps; k++) {
			const char *oa = out_text(ta, (int)k), *ob = out_text(tb, (int)k);
			if (!oa || !ob || !strcmp(oa, ob))
				continue;
			if (!steps)
				steps = cJSON_AddArrayToObject(j, "steps");
			cJSON *sj = cJSON_CreateObject();
			cJSON_AddStringToObject(sj, "step", s->steps[k].id);
			cJSON_AddStringToObject(sj, "a", oa);
			cJSON_AddStringToObject(sj, "b", ob);
			cJSON_AddItemToArray(steps, sj);
		}
	}
	term_json_doc(stdout, r);
	cJSON_Delete(r);
}

int compare_main(const struct front_opts *o)
{
	struct side sd[2] = {{0}};
	int rc = 0;
	if (spec_parse(&sd[0], o->compare_a) < 0 || spec_parse(&sd[1], o->session) < 0) {
		free(sd[0].path);
		free(sd[1].path);
		return ADOPT_EXIT_INVALID;
	}
	enum split_id split = (enum split_id)split_from_name(o->split);
	for (int k = 0; k < 2 && rc == 0; k++) {
		struct front_opts so = *o;
		so.session = sd[k].path;
		so.read_only = true;
		if (k == 1 && !strcmp(sd[0].path, sd[1].path)) {
			sd[1].e = sd[0].e; /* one LLM layer and cache for both */
		} else {
			sd[k].e = &sd[k].env;
			rc = front_open(&so, &sd[k].env);
		}
		if (rc == 0 && side_resolve(&sd[k]) < 0)
			rc = ADOPT_EXIT_INVALID;
	}
	if (rc == 0 && same_shape(&sd[0], &sd[1], split, o->split) < 0)
		rc = ADOPT_EXIT_INVALID;
	if (rc == 0) {
		size_t n = sd[0].e->s->data.splits[split].n;
		if (o->limit >= 0 && (size_t)o->limit < n)
			n = (size_t)o->limit;
		size_t *idx = xcalloc(n + 1, sizeof *idx);
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (int k = 0; k < 2; k++) {
			sd[k].runner = k == 1 && sd[1].e == sd[0].e
			                   ? NULL
			                   : runner_new(sd[k].e->s, sd[k].e->llm, o->trust);
			struct runner *r = sd[k].runner ? sd[k].runner : sd[0].runner;
			sd[k].batch = runner_start(r, sd[k].config, split, idx, n, "compare", NULL);
		}
		for (int k = 0; k < 2 && rc == 0; k++)
			if (wait_done(&sd[k]) < 0)
				rc = ADOPT_EXIT_FAILED;
		bool scripted = sd[0].e->scripted || sd[1].e->scripted;
		if (rc == 0 && o->json)
			report_json(o, &sd[0], &sd[1], scripted);
		else if (rc == 0)
			compare_text(sd[0].e->s, o->split, sd[0].label, sd[1].label, sd[0].batch,
			             sd[1].batch, scripted, print_line, stdout);
		struct llm_stats st = {0}, st2 = {0};
		llm_get_stats(sd[0].e->llm, &st);
		if (sd[1].e != sd[0].e)
			llm_get_stats(sd[1].e->llm, &st2);
		if (rc == 0 && st.failed + st2.failed > 0) {
			term_printf(stderr, "adopt-tui: %ld requests failed; exit status %d\n",
			            st.failed + st2.failed, ADOPT_EXIT_FAILED);
			rc = ADOPT_EXIT_FAILED;
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

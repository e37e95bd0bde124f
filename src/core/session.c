/* session.c: loading, validating and saving the adopt-session file.
 *
 * Loading parses the file with cJSON, then builds the model (models, pipeline, dataset, metric,
 * optimizer settings) and checks everything that can be checked without running anything.
 * Every problem is collected with its position ("file:line:col: message"); positions are looked
 * up in the file's text only when a problem is reported.  The cJSON tree stays attached to the
 * session: saving writes it back, so keys this version does not know survive.
 *
 * Inline dataset arrays ("dataset": {"train": [{...}, ...]}) are the exception, because a tree
 * of 100,000 examples costs about 5 times their text.  The position scanner finds the byte span
 * of each array (jsonpos.h, json_member_spans); cJSON parses a copy of the rest of the file with
 * "[]" in their place (the outline); dataset_load_inline then parses the examples one at a time
 * straight from the file's text into the dataset's arena.  Once the load has succeeded, the
 * arrays' text is moved to the front of the file's buffer (the rest is given back) and each
 * placeholder becomes a raw node pointing at it, which cJSON prints verbatim: a save writes the
 * examples back exactly as they were read, unknown keys, numbers, nesting and escapes included.
 * Peak memory is the file's text, the dataset's arena and the outline's small tree.  Invalid
 * JSON inside an example is reported as before: the file's parse error, alone. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/jsonfmt.h"
#include "core/jsonnum.h"
#include "core/jsonpos.h"
#include "core/loader.h"
#include "core/metric.h"
#include "core/rx.h"
#include "core/session.h"
#include "core/utf8.h"

#define DEFAULT_MAX_BYTES ((size_t)256 << 20)

void diag_add(struct diag *d, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	d->msgs = xgrow(d->msgs, &d->cap, d->n + 1, sizeof *d->msgs);
	d->msgs[d->n++] = sbuf_take(&b);
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	*d = (struct diag){0};
}

/* ---- models ---- */

static const char *const known_providers[] = {"openai", "anthropic", "ollama", "scripted", NULL};

static const char *const model_keys[] = {
    "provider",          "base_url",   "model",        "api_key_env", "rules",
    "temperature",       "max_tokens", "price_in",     "price_out",   "price_cached_in",
    "price_cache_write", "reasoning",  "concurrency",  "rpm",         "tpm",
    "timeout",           "stream",     "cut_is_error", NULL};

/* "base_url": one string, or a list of 1 .. MODEL_REPLICAS_MAX distinct non-empty strings
 * (replicas: llm/sched.c spreads requests over them). */
static void load_base_url(struct loader *L, const cJSON *m, const char *path,
                          struct model_config *mc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "base_url");
	char p[320];
	snprintf(p, sizeof p, "%s.base_url", path);
	if (!v || cJSON_IsString(v)) {
		mc->base_url = load_string(L, m, path, "base_url", NULL);
		return;
	}
	if (!cJSON_IsArray(v)) {
		load_problem(L, p, "%s must be a string or a list of strings (replicas)", p);
		return;
	}
	int n = cJSON_GetArraySize(v);
	if (n == 0 || n > MODEL_REPLICAS_MAX) {
		load_problem(L, p, "model \"%s\": %s lists %d URLs (give 1 to %d)", mc->name, p, n,
		             MODEL_REPLICAS_MAX);
		return;
	}
	mc->replicas = xcalloc((size_t)n, sizeof(*mc->replicas));
	const cJSON *u;
	int i = 0;
	cJSON_ArrayForEach(u, v)
	{
		char ip[340];
		snprintf(ip, sizeof ip, "%s[%d]", p, i++);
		const char *bad = !cJSON_IsString(u) ? "must be a string"
		                  : !*u->valuestring ? "is empty"
		                                     : NULL;
		for (int k = 0; !bad && k < mc->n_replicas; k++)
			if (!strcmp(mc->replicas[k], u->valuestring))
				bad = "repeats an earlier URL";
		if (bad) {
			load_problem(L, ip, "model \"%s\": %s %s", mc->name, ip, bad);
			continue;
		}
		mc->replicas[mc->n_replicas++] = xstrdup(u->valuestring);
	}
	if (mc->n_replicas)
		mc->base_url = xstrdup(mc->replicas[0]);
}

static void load_models(struct loader *L, struct session *s)
{
	const cJSON *models = load_get(L, s->root, "models", "models", cJSON_Object, "an object");
	if (!models) {
		if (!cJSON_GetObjectItemCaseSensitive(s->root, "models"))
			load_problem(L, NULL,
			             "no \"models\" object: name at least one model configuration");
		return;
	}
	s->n_models = (size_t)cJSON_GetArraySize(models);
	s->models = xcalloc(s->n_models ? s->n_models : 1, sizeof *s->models);
	size_t i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, models)
	{
		struct model_config *mc = &s->models[i++];
		char path[300];
		snprintf(path, sizeof path, "models.%s", m->string);
		mc->name = xstrdup(m->string);
		if (!cJSON_IsObject(m)) {
			load_problem(L, path, "%s must be an object", path);
			continue;
		}
		char kp[320];
		snprintf(kp, sizeof kp, "%s.api_key", path);
		if (cJSON_GetObjectItemCaseSensitive(m, "api_key"))
			load_problem(
			    L, kp,
			    "model \"%s\": an API key must never be stored in the session; name "
			    "the environment variable that holds it with \"api_key_env\"",
			    mc->name);
		mc->provider = load_string(L, m, path, "provider", NULL);
		load_base_url(L, m, path, mc);
		mc->model = load_string(L, m, path, "model", NULL);
		mc->api_key_env = load_string(L, m, path, "api_key_env", NULL);
		mc->temperature = load_number(L, m, path, "temperature", 0, 0, 2);
		mc->max_tokens = (int)load_int(L, m, path, "max_tokens", 0, 0, 1e7);
		mc->price_in = load_number(L, m, path, "price_in", -1, 0, 1e6);
		mc->price_out = load_number(L, m, path, "price_out", -1, 0, 1e6);
		mc->price_cached_in = load_number(L, m, path, "price_cached_in", -1, 0, 1e6);
		mc->price_cache_write = load_number(L, m, path, "price_cache_write", -1, 0, 1e6);
		if (cJSON_GetObjectItemCaseSensitive(m, "reasoning"))
			mc->reasoning = load_bool(L, m, path, "reasoning", false)
			                    ? MODEL_REASONING_YES
			                    : MODEL_REASONING_NO;
		mc->concurrency = (int)load_int(L, m, path, "concurrency", 8, 1, 1024);
		mc->rpm = load_number(L, m, path, "rpm", 0, 0, 1e9);
		mc->tpm = load_number(L, m, path, "tpm", 0, 0, 1e12);
		mc->timeout_s = load_number(L, m, path, "timeout", 120, 0.1, 86400);
		mc->stream = load_bool(L, m, path, "stream", true);
		if (cJSON_GetObjectItemCaseSensitive(m, "cut_is_error"))
			mc->cut_is_error =
			    load_bool(L, m, path, "cut_is_error", false) ? CUT_ERROR : CUT_ALLOWED;
		if (!mc->provider) {
			if (cJSON_GetObjectItemCaseSensitive(m, "provider"))
				continue; /* reported as a wrong type */
			load_problem(L, path,
			             "model \"%s\": \"provider\" is required (one of openai, "
			             "anthropic, ollama, scripted)",
			             mc->name);
			continue;
		}
		bool known = false;
		for (const char *const *p = known_providers; *p && !known; p++)
			known = strcmp(*p, mc->provider) == 0;
		if (!known) {
			char pp[320];
			snprintf(pp, sizeof pp, "%s.provider", path);
			load_problem(L, pp,
			             "model \"%s\": unknown provider \"%s\" (one of openai, "
			             "anthropic, ollama, scripted)",
			             mc->name, mc->provider);
		}
		if (strcmp(mc->provider, "scripted") == 0) {
			char *rules = load_string(L, m, path, "rules", NULL);
			if (!rules) {
				load_problem(L, path,
				             "model \"%s\": a scripted model needs \"rules\" (a "
				             "rules file)",
				             mc->name);
			} else {
				mc->rules = path_join(s->dir, rules);
				mc->rules_ref = xstrdup(rules);
				/* a regular file we may read; --check reads and validates it */
				struct err e = {{0}};
				int fd = file_open_read(mc->rules, FILE_MAX_BYTES_DEFAULT, &e);
				if (fd < 0) {
					char pp[320];
					snprintf(pp, sizeof pp, "%s.rules", path);
					load_problem(L, pp, "model \"%s\": rules file %s", mc->name,
					             e.msg);
				} else {
					close(fd);
				}
				free(rules);
			}
			if (!mc->model)
				mc->model = xstrdup("scripted");
		} else if (!mc->model) {
			load_problem(L, path,
			             "model \"%s\": \"model\" is required (the model name the "
			             "provider knows, e.g. gpt-4o-mini)",
			             mc->name);
		}
	}
}

const struct model_config *session_model(const struct session *s, const char *name)
{
	for (size_t i = 0; i < s->n_models; i++)
		if (strcmp(s->models[i].name, name) == 0)
			return &s->models[i];
	return NULL;
}

/* ---- dataset ---- */

static const char *const dataset_keys[] = {"answer_field", "id_field", "train", "val", "test",
                                           "path",         "key",      "split", NULL};

static void load_dataset(struct loader *L, struct session *s)
{
	const cJSON *ds = load_get(L, s->root, "dataset", "dataset", cJSON_Object, "an object");
	if (!ds) {
		if (!cJSON_GetObjectItemCaseSensitive(s->root, "dataset"))
			load_problem(L, NULL,
			             "no \"dataset\" object: give train/val/test examples");
		return;
	}
	s->data.answer_field = load_string(L, ds, "dataset", "answer_field", "answer");
	s->data.id_field = load_string(L, ds, "dataset", "id_field", "id");
	bool any = false;
	if (cJSON_GetObjectItemCaseSensitive(ds, "split") ||
	    cJSON_GetObjectItemCaseSensitive(ds, "path")) {
		/* one file cut into splits by fractions */
		struct err e = {{0}};
		bool both = false;
		for (int i = 0; i < SPLIT_COUNT; i++)
			both |= cJSON_GetObjectItemCaseSensitive(ds, split_names[i]) != NULL;
		if (both)
			load_problem(L, "dataset",
			             "dataset: give either \"path\" with \"split\" "
			             "fractions or train/val/test, not both");
		else if (dataset_load_fractions(&s->data, ds, s->dir, &e) < 0)
			load_problem(L, "dataset", "%s", e.msg);
		any = true;
	}
	for (int i = 0; i < SPLIT_COUNT; i++) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(ds, split_names[i]);
		if (!spec)
			continue;
		any = true;
		char path[64];
		snprintf(path, sizeof path, "dataset.%s", split_names[i]);
		struct err e = {{0}};
		const size_t *span = L->inline_span[i];
		const char *bad = NULL;
		int rc = span[1] ? dataset_load_inline(&s->data, i, L->text + span[0],
		                                       span[1] - span[0], &bad, &e)
		                 : dataset_load_split(&s->data, i, spec, s->dir, &e);
		if (bad) {
			L->bad_json = bad; /* session_load reports it */
			return;
		}
		if (rc < 0) {
			if (cJSON_IsArray(spec)) {
				/* inline: point at the offending example when we can tell which */
				size_t idx = s->data.splits[i].n;
				char ip[96];
				snprintf(ip, sizeof ip, "%s[%zu]", path, idx);
				load_problem(L, ip, "%s: %s", path, e.msg);
			} else {
				load_problem(L, path, "%s: %s", path, e.msg);
			}
		}
	}
	if (!any)
		load_problem(L, "dataset", "dataset: no split given (train, val and/or test)");
	else if (s->data.splits[SPLIT_TRAIN].n == 0 && s->data.splits[SPLIT_VAL].n == 0 &&
	         s->data.splits[SPLIT_TEST].n == 0 && L->errors == 0)
		load_problem(L, "dataset", "dataset: every split is empty");
}

/* Every gold answer checked against the metric when the session loads, so that a gold no metric
 * can use (a regex that does not compile, no number, no option) is reported with its example
 * now rather than failing at run time; an example is an error only when none of its golds can
 * be used.  Suspect golds (one that normalises to nothing) are warnings.  At most
 * GOLD_REPORTS of each are listed, then how many more there are. */
#define GOLD_REPORTS 10

static void check_golds(struct loader *L, struct session *s)
{
	size_t n_bad = 0, n_warn = 0;
	for (int i = 0; i < SPLIT_COUNT; i++) {
		const struct split *sp = &s->data.splits[i];
		bool in_file = strcmp(sp->source ? sp->source : "inline", "inline") != 0;
		size_t base = 0;
		if (!in_file && L->inline_span[i][1])
			base = (size_t)json_pos_of_offset(L->text, L->inline_span[i][0]).line - 1;
		for (size_t k = 0; k < sp->n; k++) {
			const struct example *ex = &sp->ex[k];
			struct err e = {{0}}, first = {{0}};
			size_t bad = 0, warn = 0;
			for (size_t g = 0; g < ex->n_golds; g++) {
				int rc = metric_check_gold(s->metric, ex->golds[g], &e);
				if (rc < 0 && !bad++)
					first = e;
				if (rc > 0 && !warn++ && !bad)
					first = e;
			}
			bool error = bad && bad == ex->n_golds;
			if (!error && !warn)
				continue;
			size_t *count = error ? &n_bad : &n_warn;
			if ((*count)++ >= GOLD_REPORTS)
				continue;
			struct diag *d = error ? L->d : &s->warnings;
			char where[64] = "";
			if (ex->line)
				snprintf(where, sizeof where, ":%zu", ex->line + base);
			diag_add(d, "%s%s: %s example %zu: %s", in_file ? sp->source : L->file,
			         where, split_names[i], k + 1, first.msg);
		}
	}
	if (n_bad > GOLD_REPORTS)
		diag_add(L->d, "%s: %zu more examples whose gold answers the metric cannot use",
		         L->file, n_bad - GOLD_REPORTS);
	if (n_warn > GOLD_REPORTS)
		diag_add(&s->warnings, "%s: %zu more examples with a suspect gold answer", L->file,
		         n_warn - GOLD_REPORTS);
	L->errors += n_bad > 0;
}

/* ---- optimizer settings ---- */

static const char *const optimizer_keys[] = {
    "seed",         "batch_size",   "minibatch_good", "minibatch_bad",  "val_size",
    "budget_total", "budget_floor", "eval_budget",    "step_optimizer", "role_model",
    "cost_cap_usd", "token_cap",    "max_demos",      "roles",          "val_resample",
    "ablate",       "screen_size",  "overlap",        "steady_stop",    NULL};

const struct ablate_option ablate_options[ABLATE_COUNT] = {
    [ABLATE_ALLOCATION] = {"allocation", {"shapley", "uniform"}},
    [ABLATE_GRADIENT] = {"gradient", {"decomposed", "global"}},
    [ABLATE_SELECTION] = {"selection", {"search", "per_step"}},
};
static const char *const ablate_keys[] = {"allocation", "gradient", "selection", NULL};

int ablate_set(int *ablate, const char *key, const char *value, struct err *e)
{
	for (int k = 0; k < ABLATE_COUNT; k++) {
		const struct ablate_option *a = &ablate_options[k];
		if (strcmp(a->key, key) != 0)
			continue;
		for (int v = 0; v < (int)ARRAY_SIZE(a->values); v++)
			if (value && strcmp(a->values[v], value) == 0)
				return ablate[k] = v, 0;
		if (!value)
			return err_set(e, "\"%s\" must be a string", key);
		return err_set(e, "\"%s\" is \"%s\" or \"%s\", not \"%.40s\"", key, a->values[0],
		               a->values[1], value);
	}
	return err_set(e, "unknown ablation \"%.40s\" (known: allocation, gradient, selection)",
	               key);
}

/* optimizer.ablate: {"allocation": "uniform", ...}; a key left out keeps ADOPT's way. */
static void load_ablate(struct loader *L, const cJSON *o, struct optimizer_settings *st)
{
	const cJSON *a = load_get(L, o, "optimizer.ablate", "ablate", cJSON_Object, "an object");
	const cJSON *v;
	cJSON_ArrayForEach(v, a)
	{
		char path[200];
		snprintf(path, sizeof path, "optimizer.ablate.%s", v->string);
		struct err e = {{0}};
		if (ablate_set(st->ablate, v->string, cJSON_GetStringValue(v), &e) < 0)
			load_problem(L, path, "optimizer.ablate: %s", e.msg);
	}
}

static void load_optimizer(struct loader *L, struct session *s)
{
	static const cJSON empty = {0};
	const cJSON *o = load_get(L, s->root, "optimizer", "optimizer", cJSON_Object, "an object");
	if (!o)
		o = &empty;
	struct optimizer_settings *st = &s->opt;
	st->seed = (unsigned long)load_int(L, o, "optimizer", "seed", 1, 0, 4294967295.0);
	st->batch_size = (int)load_int(L, o, "optimizer", "batch_size", 50, 1, 100000);
	st->minibatch_good = (int)load_int(L, o, "optimizer", "minibatch_good", 5, 0, 1000);
	st->minibatch_bad = (int)load_int(L, o, "optimizer", "minibatch_bad", 5, 1, 1000);
	st->val_size = (int)load_int(L, o, "optimizer", "val_size", 16, 1, 100000);
	st->val_resample = load_bool(L, o, "optimizer", "val_resample", false);
	st->overlap = load_bool(L, o, "optimizer", "overlap", true);
	st->budget_total = (int)load_int(L, o, "optimizer", "budget_total", 6, 0, 1000);
	st->budget_floor = (int)load_int(L, o, "optimizer", "budget_floor", 1, 0, 100);
	/* m optimizable steps: m + 2 evaluations are the search's initial design (incumbent,
	 * each step alone, all-best); the default leaves room for the search beyond it */
	int m = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		m += s->steps[i].kind == STEP_LLM && !s->steps[i].frozen;
	st->eval_budget = (int)load_int(L, o, "optimizer", "eval_budget", MAX(12, m + 6), 1, 10000);
	if (st->eval_budget < m + 2 && cJSON_GetObjectItemCaseSensitive(o, "eval_budget"))
		load_warning(L, "optimizer.eval_budget",
		             "optimizer.eval_budget %d is below the %d steps + 2: some steps are "
		             "never evaluated alone and the search never runs (default here: %d)",
		             st->eval_budget, m, MAX(12, m + 6));
	st->screen_size = (int)load_int(L, o, "optimizer", "screen_size", SCREEN_AUTO, 0, 100000);
	st->steady_stop = load_bool(L, o, "optimizer", "steady_stop", true);
	st->step_optimizer = load_string(L, o, "optimizer", "step_optimizer", "joint");
	st->cost_cap_usd = load_number(L, o, "optimizer", "cost_cap_usd", 0, 0, 1e9);
	st->token_cap = (long)load_int(L, o, "optimizer", "token_cap", 0, 0, 1e15);
	st->max_demos = (int)load_int(L, o, "optimizer", "max_demos", 3, 0, 50);
	load_ablate(L, o, st);
	st->roles = (cJSON *)load_get(L, o, "optimizer.roles", "roles", cJSON_Object, "an object");
	const char *def_role = session_model(s, "optimizer") ? "optimizer" : "task";
	st->role_model = load_string(L, o, "optimizer", "role_model", def_role);
	if (o != &empty && s->n_models && !session_model(s, st->role_model) &&
	    cJSON_GetObjectItemCaseSensitive(o, "role_model"))
		load_problem(L, "optimizer.role_model",
		             "optimizer.role_model: no model named \"%s\"", st->role_model);
	if (st->roles) {
		const cJSON *r;
		cJSON_ArrayForEach(r, st->roles)
		{
			char path[200];
			snprintf(path, sizeof path, "optimizer.roles.%s", r->string);
			if (!cJSON_IsString(r)) {
				load_problem(L, path, "%s must be a template string", path);
				continue;
			}
			struct err e = {{0}};
			struct template *t = template_parse(r->valuestring, &e);
			if (!t)
				load_problem(L, path, "%s: %s", path, e.msg);
			template_free(t);
		}
	}
}

/* ---- metric ---- */

static void load_metric(struct loader *L, struct session *s)
{
	const cJSON *m = load_get(L, s->root, "metric", "metric", cJSON_Object, "an object");
	if (!m) {
		if (!cJSON_GetObjectItemCaseSensitive(s->root, "metric"))
			load_problem(L, NULL, "no \"metric\" object (e.g. {\"type\": \"f1\"})");
		return;
	}
	struct err e = {{0}};
	s->metric = metric_from_json(m, &e);
	if (!s->metric) {
		/* metric.c names the key ("metric.threshold must ...", "metric: unknown key
		 * \"x\""); point at it rather than at the whole object */
		const char *k = str_startswith(e.msg, "metric.") ? e.msg + 7 : NULL;
		if (!k && str_startswith(e.msg, "metric: ") && (k = strstr(e.msg, "key \"")))
			k += 5;
		size_t klen = k ? strspn(k, "abcdefghijklmnopqrstuvwxyz_") : 0;
		char kp[96] = "metric";
		if (klen && klen < 64)
			snprintf(kp, sizeof kp, "metric.%.*s", (int)klen, k);
		load_problem(L, kp, "%s%s",
		             str_startswith(e.msg, "metric") ? "" : "metric: ", e.msg);
	} else if (metric_is_judge(s->metric)) {
		const struct metric_judge *j = metric_judge(s->metric);
		if (j && j->model && !session_model(s, j->model))
			load_problem(L, "metric.model",
			             "metric: judge model \"%s\" is not in \"models\"", j->model);
	}
}

/* ---- the whole file ---- */

static const char *const top_keys[] = {"format",   "version", "name",        "models",
                                       "pipeline", "dataset", "metric",      "optimizer",
                                       "history",  "state",   "max_file_mb", NULL};

const struct session_keyset session_keysets[] = {
    {"top level", top_keys},           {"models.NAME", model_keys},
    {"dataset", dataset_keys},         {"optimizer", optimizer_keys},
    {"pipeline", pipeline_keys},       {"pipeline.steps[]", step_keys},
    {"optimizer.ablate", ablate_keys}, {"pipeline.loops[]", loop_keys},
    {"metric", metric_keys},           {NULL, NULL},
};

/* ---- the engine's record ----
 * "history" and "state" are written by the engine (engine_store.c) and read back when the
 * session is opened; their numbers are checked here, where positions are known, so that
 * --check and every open reject a count of 1e300 or a negative spend before anything converts
 * them.  A score of -1 means "not measured". */
#define N_MAX    1e15 /* calls and tokens */
#define USD_MAX  1e12 /* money */
#define ITER_MAX 1e6  /* iterations, versions, rounds */
#define COST_KEYS(p)                                                                               \
	{p ".calls", true, 0, N_MAX}, {p ".cached", true, 0, N_MAX},                               \
	    {p ".avoided", true, 0, N_MAX}, {p ".memo_hits", true, 0, N_MAX},                      \
	    {p ".tokens_in", true, 0, N_MAX}, {p ".tokens_out", true, 0, N_MAX},                   \
	    {p ".projected_calls", true, 0, N_MAX}, {p ".cost_usd", false, 0, USD_MAX},            \
	    {p ".projected_cached", true, 0, N_MAX}, {p ".projected_tokens_in", true, 0, N_MAX},   \
	    {p ".projected_tokens_out", true, 0, N_MAX},                                           \
	{                                                                                          \
		p ".projected_usd", false, 0, USD_MAX                                              \
	}

static const struct json_num_rule history_numbers[] = {
    {"history.versions[].version", true, 0, ITER_MAX},
    {"history.versions[].iteration", true, 0, ITER_MAX},
    {"history.versions[].score", false, -1, 1},
    {"history.iterations[].number", true, 1, ITER_MAX},
    {"history.iterations[].train_score", false, -1, 1},
    {"history.iterations[].base_score", false, -1, 1},
    {"history.iterations[].best_score", false, -1, 1},
    {"history.iterations[].kept_score", false, -1, 1},
    {"history.iterations[].validation_examples", true, 0, N_MAX},
    {"history.iterations[].candidates.*[].demos", true, 0, ITER_MAX},
    {"history.iterations[].evaluations[].choice[]", true, 0, ITER_MAX},
    {"history.iterations[].evaluations[].score", false, -1, 1},
    {"history.iterations[].evaluations[].scores[]", false, -1, 1},
    {"history.iterations[].shapley.phi.*", false, -1e9, 1e9},
    {"history.iterations[].shapley.sd.*", false, 0, 1e9},
    {"history.iterations[].shapley.extra_evaluations", true, 0, N_MAX},
    {"history.iterations[].budget.*", true, 0, 1000},
    {"history.iterations[].next_budget.*", true, 0, 1000},
    COST_KEYS("history.iterations[].cost.*"),
    {"history.iterations[].traces[].example", true, 0, N_MAX},
    {"history.iterations[].traces[].score", false, -1, 1},
    {"history.iterations[].traces[].steps[].round", true, 0, ITER_MAX},
    {"history.iterations[].traces[].steps[].latency_s", false, 0, 1e9},
    {"history.iterations[].traces[].steps[].replaced_bytes", true, 0, N_MAX},
    COST_KEYS("history.iterations[].traces[].steps[]"),
    COST_KEYS("history.totals_last_run"),
    COST_KEYS("history.spent"),
    {"history.incumbent_score", false, -1, 1},
    {"history.spent.journal", true, 0, N_MAX},
    {"state.iteration", true, 1, ITER_MAX},
    COST_KEYS("state.cost.*"),
    /* the unfinished iteration's record: a history record and what resuming reads */
    {"state.record.number", true, 1, ITER_MAX},
    {"state.record.train_score", false, -1, 1},
    {"state.record.base_score", false, -1, 1},
    {"state.record.best_score", false, -1, 1},
    {"state.record.kept_score", false, -1, 1},
    {"state.record.validation_examples", true, 0, N_MAX},
    {"state.record.evaluations[].choice[]", true, 0, ITER_MAX},
    {"state.record.evaluations[].score", false, -1, 1},
    {"state.record.evaluations[].scores[]", false, -1, 1},
    {"state.record.shapley.phi.*", false, -1e9, 1e9},
    {"state.record.shapley.sd.*", false, 0, 1e9},
    {"state.record.shapley.extra_evaluations", true, 0, N_MAX},
    {"state.record.budget.*", true, 0, 1000},
    {"state.record.next_budget.*", true, 0, 1000},
    COST_KEYS("state.record.cost.*"),
    {"state.record.traces[].example", true, 0, N_MAX},
    {"state.record.traces[].score", false, -1, 1},
    {"state.record.traces[].steps[].round", true, 0, ITER_MAX},
    {"state.record.traces[].steps[].latency_s", false, 0, 1e9},
    {"state.record.traces[].steps[].replaced_bytes", true, 0, N_MAX},
    COST_KEYS("state.record.traces[].steps[]"),
    {"state.record.good[]", true, 0, N_MAX},
    {"state.record.bad[]", true, 0, N_MAX},
    {"state.record.validation[]", true, 0, N_MAX},
    {"state.record.best_evaluation", true, -1, N_MAX},
    {"state.record.screening.positions[]", true, 0, N_MAX},
    {"state.record.screening.first", true, 1, N_MAX},
    {"state.record.screening.saved", true, 0, N_MAX},
    {"state.record.screening.screened[].choice[]", true, 0, ITER_MAX},
    {"state.record.screening.screened[].scores[]", false, -1, 1},
    {"state.record.screening.screened[].estimate", true, 0, N_MAX},
    {"state.record.screening.screened[].n", true, 1, N_MAX},
    {NULL, false, 0, 0},
};

static void history_bad(void *arg, const char *path, const char *msg)
{
	load_problem(arg, path, "%s %s", path, msg);
}

/* The kinds of what an iteration's record holds besides its numbers (history_numbers), by path
 * within the record: a finished iteration's (history.iterations[]) and the unfinished one's
 * (state.record).  A value of another kind reads as missing (or 0). */
struct kind_rule {
	const char *path;
	int kind;
};

static const struct kind_rule record_kinds[] = {
    {"", cJSON_Object},
    {".structure", cJSON_String},
    {".note", cJSON_String},
    {".dependency", cJSON_Object},
    {".dependency.*", cJSON_String},
    {".traces", cJSON_Array},
    {".traces[]", cJSON_Object},
    {".cases", cJSON_Array},
    {".cases[]", cJSON_Object},
    {".cases[].example", cJSON_String},
    {".cases[].loss", cJSON_String},
    {".cases[].gradient", cJSON_String},
    {".candidates", cJSON_Object},
    {".candidates.*", cJSON_Array},
    {".candidates.*[]", cJSON_Object},
    {".candidates.*[].prompt", cJSON_String},
    {".evaluations", cJSON_Array},
    {".evaluations[]", cJSON_Object},
    {".evaluations[].choice", cJSON_Array},
    {".evaluations[].scores", cJSON_Array},
    {".evaluations[].traces", cJSON_Array},
    {".shapley", cJSON_Object},
    {".shapley.method", cJSON_String},
    {".shapley.phi", cJSON_Object},
    {".shapley.sd", cJSON_Object},
    {".budget", cJSON_Object},
    {".next_budget", cJSON_Object},
    {".changes", cJSON_Array},
    {".changes[]", cJSON_Object},
    {".changes[].step", cJSON_String},
    {".changes[].old", cJSON_String},
    {".changes[].new", cJSON_String},
    {".changes[].edited", cJSON_String},
    {".changes[].decision", cJSON_String},
    {".changes[].demos", cJSON_Array},
    {".cost", cJSON_Object},
    {".cost.*", cJSON_Object},
    {".validation", cJSON_Array},
};

static const struct kind_rule history_kinds[] = {
    {"history", cJSON_Object},
    {"state", cJSON_Object},
    {"history.versions", cJSON_Array},
    {"history.versions[]", cJSON_Object},
    {"history.versions[].step", cJSON_String},
    {"history.versions[].prompt", cJSON_String},
    {"history.iterations", cJSON_Array},
    {"history.spent", cJSON_Object},
    {"state.phase", cJSON_String},
};

static int record_damage(const cJSON *root, void (*bad)(void *, const char *, const char *),
                         void *arg)
{
	static const char *const records[] = {"history.iterations[]", "state.record"};
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(history_kinds); i++)
		n += json_kind_check(root, history_kinds[i].path, history_kinds[i].kind, bad, arg);
	for (size_t r = 0; r < ARRAY_SIZE(records); r++)
		for (size_t i = 0; i < ARRAY_SIZE(record_kinds); i++) {
			char path[128];
			snprintf(path, sizeof path, "%s%s", records[r], record_kinds[i].path);
			n += json_kind_check(root, path, record_kinds[i].kind, bad, arg);
		}
	for (const struct json_num_rule *r = history_numbers; r->path; r++)
		n += json_kind_check(root, r->path, cJSON_Number, bad, arg);
	return n;
}

int session_record_damage(const struct session *s,
                          void (*bad)(void *arg, const char *path, const char *msg), void *arg)
{
	return record_damage(s->root, bad, arg);
}

static void history_damaged(void *arg, const char *path, const char *msg)
{
	load_warning(arg, path, "%s: %s (read as missing)", path, msg);
}

static void parse_error(struct loader *L, const char *errptr)
{
	char msg[512];
	json_describe_error(L->text, L->len, errptr, msg, sizeof msg);
	diag_add(L->d, "%s:%s (invalid JSON)", L->file, msg);
}

/* The inline split whose array starts first at or after byte `from` of the text, or -1. */
static int next_inline(const struct loader *L, size_t from)
{
	int best = -1;
	for (int i = 0; i < SPLIT_COUNT; i++)
		if (L->inline_span[i][1] && L->inline_span[i][0] >= from &&
		    (best < 0 || L->inline_span[i][0] < L->inline_span[best][0]))
			best = i;
	return best;
}

/* Parses the file without its inline dataset arrays, or returns NULL when it has none or the
 * outline does not parse (the caller then parses the whole text, for the same tree or the same
 * error as ever). */
static cJSON *parse_outline(struct loader *L)
{
	const char *keys[SPLIT_COUNT + 1] = {NULL};
	memcpy(keys, split_names, sizeof split_names);
	if (json_member_spans(L->text, L->len, "dataset", keys, L->inline_span) != 0)
		return NULL;
	for (int i = 0; i < SPLIT_COUNT; i++)
		if (L->inline_span[i][1] && L->text[L->inline_span[i][0]] != '[')
			L->inline_span[i][0] = L->inline_span[i][1] = 0; /* a path, or wrong */
	if (next_inline(L, 0) < 0)
		return NULL;
	struct sbuf b = {0};
	size_t at = 0;
	for (int i; (i = next_inline(L, at)) >= 0; at = L->inline_span[i][1]) {
		sbuf_add(&b, L->text + at, L->inline_span[i][0] - at);
		sbuf_adds(&b, "[]");
	}
	sbuf_add(&b, L->text + at, L->len - at);
	cJSON *root = cJSON_ParseWithLength(b.s, b.len);
	sbuf_free(&b);
	return root;
}

/* Makes the inline arrays' text part of the tree (see the top of the file); takes text. */
static void keep_inline_text(struct loader *L, struct session *s, char *text)
{
	size_t at = 0, off[SPLIT_COUNT] = {0};
	for (int i; (i = next_inline(L, at)) >= 0;) {
		/* in text order each moves down or stays: none is overwritten before it moved */
		size_t a = L->inline_span[i][0], n = L->inline_span[i][1] - a;
		memmove(text + at, text + a, n);
		off[i] = at;
		at += n;
		text[at++] = '\0';
	}
	if (!at) {
		free(text);
		return;
	}
	s->inline_text = xrealloc(text, at);
	cJSON *ds = cJSON_GetObjectItemCaseSensitive(s->root, "dataset");
	for (int i = 0; i < SPLIT_COUNT; i++) {
		if (!L->inline_span[i][1])
			continue;
		cJSON *raw = cJSON_CreateNull();
		raw->type = cJSON_Raw | cJSON_IsReference; /* cJSON_Delete leaves the text alone */
		raw->valuestring = s->inline_text + off[i];
		cJSON_ReplaceItemInObjectCaseSensitive(ds, split_names[i], raw);
	}
}

/* Remembers what the file at path holds now (its text is text). */
/* A hash of the file's text, to tell a change from a touch and a save that would rewrite the
 * same bytes: eight bytes at a step (a session with a large dataset inline is tens of MB and
 * is hashed at every save; hash_bytes goes a byte at a time). */
static uint64_t text_hash(const char *text, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, text + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
	return h;
}

static void stamp_disk(struct session *s, const char *path, const char *text, size_t len)
{
	struct stat st;
	free(s->disk.path);
	s->disk.path = NULL;
	if (stat(path, &st) < 0)
		return;
	s->disk.path = xstrdup(path);
	s->disk.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	s->disk.size = (long long)len;
	s->disk.hash = text_hash(text, len);
}

struct session *session_load(const char *path, const struct session_load_opts *opts, struct diag *d)
{
	struct err e = {{0}};
	char *text;
	size_t len;
	size_t max = opts && opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
	if (file_read(path, max, &text, &len, &e) < 0) {
		diag_add(d, "%s", e.msg);
		return NULL;
	}
	struct loader L = {.file = path, .text = text, .len = len, .d = d};
	if (memchr(text, '\0', len)) {
		diag_add(d, "%s: binary data (a NUL byte) where a JSON session file was expected",
		         path);
		free(text);
		return NULL;
	}
	size_t d0 = d->n;
	cJSON *root = parse_outline(&L);
	if (!root) {
		memset(L.inline_span, 0, sizeof L.inline_span);
		root = cJSON_ParseWithLength(text, len);
	}
	if (!root) {
		parse_error(&L, cJSON_GetErrorPtr());
		free(text);
		return NULL;
	}
	/* JSON is UTF-8 (RFC 8259); cJSON lets other bytes through, and a save would write them
	 * back into a file other JSON readers refuse */
	size_t bad = utf8_valid_len(text, len);
	if (bad < len) {
		struct json_pos pos = json_pos_of_offset(text, bad);
		diag_add(
		    d,
		    "%s:%d:%d: byte 0x%02X is not UTF-8 (a session file is UTF-8 text: convert "
		    "it, e.g. with iconv)",
		    path, pos.line, pos.col, (unsigned char)text[bad]);
		cJSON_Delete(root);
		free(text);
		return NULL;
	}
	struct session *s = xcalloc(1, sizeof *s);
	stamp_disk(s, path, text, len);
	s->root = root;
	s->path = xstrdup(path);
	s->save_path = file_resolve(path, &e);
	if (!s->save_path) {
		diag_add(d, "%s", e.msg);
		L.errors++;
		goto out;
	}
	file_remove_stale_temps(s->save_path);
	s->dir = path_dirname(path);
	s->output_step = -1;
	L.s = s;
	if (!cJSON_IsObject(root)) {
		load_problem(&L, NULL, "the session must be a JSON object");
		goto out;
	}
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, SESSION_FORMAT) != 0)
		load_problem(&L, fmt ? "format" : NULL,
		             "\"format\" must be \"" SESSION_FORMAT
		             "\" (is this an adopt-tui session?)");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(ver))
		load_problem(&L, ver ? "version" : NULL,
		             "\"version\" must be a number (this build "
		             "writes %d)",
		             SESSION_VERSION);
	else if (ver->valuedouble > SESSION_VERSION)
		load_problem(
		    &L, "version",
		    "version %g is newer than this build understands (%d): upgrade adopt-tui",
		    ver->valuedouble, SESSION_VERSION);
	else if (json_int(ver, 1, SESSION_VERSION, &(int){0}, &e) < 0)
		load_problem(&L, "version", "\"version\" %s", e.msg);
	char *name = load_string(&L, root, "", "name", NULL);
	if (!name) {
		const char *base = path_basename(path);
		size_t n = strlen(base);
		if (str_endswith(base, ".json"))
			n -= 5;
		name = xstrndup(base, n);
	}
	s->name = name;
	s->data.max_file_bytes = (size_t)load_number(&L, root, "", "max_file_mb", 256, 1, 1 << 20)
	                         << 20;
	load_models(&L, s);
	load_dataset(&L, s);
	if (L.bad_json) {
		while (d->n > d0)
			free(d->msgs[--d->n]);
		parse_error(&L, L.bad_json);
		L.errors++;
		goto out;
	}
	load_metric(&L, s);
	if (s->metric && L.errors == 0)
		check_golds(&L, s);
	load_pipeline(&L, s);
	load_optimizer(&L, s);
	json_num_check(root, history_numbers, history_bad, &L);
	record_damage(root, history_damaged, &L);
out:
	if (L.errors) {
		free(text);
		session_free(s);
		return NULL;
	}
	keep_inline_text(&L, s, text);
	return s;
}

static void reap_writer(struct session *s, bool wait);

void session_free(struct session *s)
{
	if (!s)
		return;
	struct err e;
	session_save_finish(s, true, &e); /* its outcome was the caller's to ask for */
	reap_writer(s, true);
	pipeline_free(s);
	for (size_t i = 0; i < s->n_models; i++)
		model_config_free(&s->models[i]);
	free(s->models);
	dataset_free(&s->data);
	metric_free(s->metric);
	diag_free(&s->warnings);
	free(s->opt.step_optimizer);
	free(s->opt.role_model);
	cJSON_Delete(s->root);
	free(s->inline_text);
	free(s->path);
	free(s->save_path);
	free(s->dir);
	free(s->name);
	free(s->disk.path);
	free(s);
}

static void set_string(cJSON *obj, const char *key, const char *val)
{
	cJSON *s = cJSON_CreateString(val);
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, s);
	else
		cJSON_AddItemToObject(obj, key, s);
}

/* Demonstrations are written into the objects already there, so keys this version does not
 * know (a demo's "note", say) survive; new demos get new objects, dropped ones are removed. */
static void sync_demos(struct step *st)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(st->json, "demos");
	if (!cJSON_IsArray(arr)) {
		arr = cJSON_CreateArray();
		if (cJSON_GetObjectItemCaseSensitive(st->json, "demos"))
			cJSON_ReplaceItemInObjectCaseSensitive(st->json, "demos", arr);
		else
			cJSON_AddItemToObject(st->json, "demos", arr);
	}
	for (size_t k = 0; k < st->n_demos; k++) {
		cJSON *o = cJSON_GetArrayItem(arr, (int)k);
		if (!cJSON_IsObject(o)) {
			cJSON *fresh = cJSON_CreateObject();
			if (o)
				cJSON_ReplaceItemInArray(arr, (int)k, fresh);
			else
				cJSON_AddItemToArray(arr, fresh);
			o = fresh;
		}
		set_string(o, "input", st->demos[k].input);
		set_string(o, "output", st->demos[k].output);
	}
	while (cJSON_GetArraySize(arr) > (int)st->n_demos)
		cJSON_DeleteItemFromArray(arr, cJSON_GetArraySize(arr) - 1);
}

void session_sync_json(struct session *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		struct step *st = &s->steps[i];
		if (st->kind != STEP_LLM || !st->json)
			continue;
		set_string(st->json, "prompt", st->prompt);
		if (st->n_demos || cJSON_GetObjectItemCaseSensitive(st->json, "demos"))
			sync_demos(st);
	}
}

void session_set_section(struct session *s, const char *key, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(s->root, key))
		cJSON_ReplaceItemInObjectCaseSensitive(s->root, key, value);
	else
		cJSON_AddItemToObject(s->root, key, value);
}

cJSON *session_section(const struct session *s, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(s->root, key);
}

/* The keys of every object the loader knows in one fixed order (its key list's), so that a
 * save is stable and a change shows as a change of its own lines in a diff. */
static void order_keys(struct session *s)
{
	static const struct {
		const char *section;
		const char *const *keys;
		enum { ONE, MEMBERS } what;
	} order[] = {
	    {"models", model_keys, MEMBERS},  {"dataset", dataset_keys, ONE},
	    {"metric", metric_keys, ONE},     {"optimizer", optimizer_keys, ONE},
	    {"pipeline", pipeline_keys, ONE},
	};
	json_order_keys(s->root, top_keys);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		cJSON *o = session_section(s, order[i].section), *m;
		if (order[i].what == ONE) {
			json_order_keys(o, order[i].keys);
			continue;
		}
		cJSON_ArrayForEach(m, o)
		{
			json_order_keys(m, order[i].keys);
		}
	}
	cJSON *pl = session_section(s, "pipeline"), *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(pl, "steps"))
	{
		json_order_keys(m, step_keys);
	}
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(pl, "loops"))
	{
		json_order_keys(m, loop_keys);
	}
}

int session_disk_changed(const struct session *s, const char *path)
{
	if (!s->disk.path || strcmp(s->disk.path, path) != 0)
		return 0;
	struct stat st;
	if (stat(path, &st) < 0)
		return 0; /* gone: saving puts it back, nothing to lose */
	if (st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec == s->disk.mtime_ns &&
	    st.st_size == s->disk.size)
		return 0;
	/* touched, or really changed: the content says */
	char *text = NULL;
	size_t len = 0;
	struct err e = {{0}};
	if (file_read(path, (size_t)1 << 30, &text, &len, &e) < 0)
		return 1;
	int changed = (long long)len != s->disk.size || text_hash(text, len) != s->disk.hash;
	free(text);
	return changed;
}

/* The file at path is the one this session last read or wrote, untouched since, and holds
 * exactly text (the hash says so cheaply, the bytes read back for sure): a save would rewrite
 * and fsync the same bytes. */
static bool on_disk_already(const struct session *s, const char *path, const char *text, size_t len)
{
	struct stat st;
	if (!s->disk.path || strcmp(s->disk.path, path) != 0 || stat(path, &st) < 0 ||
	    st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != s->disk.mtime_ns ||
	    st.st_size != s->disk.size || (long long)len != s->disk.size ||
	    text_hash(text, len) != s->disk.hash)
		return false;
	char *old = NULL;
	size_t n = 0;
	struct err e = {{0}};
	bool same =
	    file_read(path, len + 1, &old, &n, &e) == 0 && n == len && !memcmp(old, text, len);
	free(old);
	return same;
}

void session_overwrite_once(struct session *s)
{
	s->overwrite_once = true;
}

/* Another program's save since ours is never overwritten (unless asked once). */
static int save_check(struct session *s, const char *path, struct err *e)
{
	if (!s->overwrite_once && session_disk_changed(s, path))
		return err_set(e,
		               "%s changed on disk since it was read (another program saved it); "
		               "not overwritten, nothing was lost",
		               path);
	s->overwrite_once = false;
	return 0;
}

/* Updates the tree, prints it and writes it (nothing when the file holds those bytes). */
static int save_write(struct session *s, const char *path, struct err *e)
{
	session_sync_json(s);
	order_keys(s);
	char *text = json_print_stable(s->root);
	size_t len = strlen(text);
	if (on_disk_already(s, path, text, len)) {
		free(text);
		return 0; /* the same bytes are there, made durable by the save that wrote them */
	}
	bool own = s->save_path && strcmp(path, s->path) == 0;
	int rc = file_write_atomic(own ? s->save_path : path, text, len, e);
	if (rc == 0)
		stamp_disk(s, path, text, len);
	free(text);
	return rc;
}

int session_save(struct session *s, const char *path, struct err *e)
{
	if (s->bg.pid > 0 && session_save_finish(s, true, e) < 0)
		return -1; /* the earlier save failed: say so rather than hide it behind this one */
	if (save_check(s, path, e) < 0)
		return -1;
	return save_write(s, path, e);
}

/* ---- saving in the background ---- */

/* What the writer reports on its pipe: one write, under PIPE_BUF, so it arrives whole. */
struct save_report {
	int rc;
	bool stamped; /* the disk stamp below is the file's now */
	long long mtime_ns, size;
	uint64_t hash;
	char msg[512];
};

/* The signals a terminal or a quitting workbench sends: the writer finishes regardless. */
static const int writer_ignores[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGWINCH, SIGTSTP};
/* The parent's handlers of these restore its terminal: the writer just dies of them. */
static const int writer_defaults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static _Noreturn void writer_main(struct session *s, const char *path, session_fill_fn *fill,
                                  void *arg, int fd)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&ign.sa_mask);
	sigemptyset(&dfl.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(writer_ignores); i++)
		sigaction(writer_ignores[i], &ign, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(writer_defaults); i++)
		sigaction(writer_defaults[i], &dfl, NULL);
	if (nice(10) < 0) { /* the workbench's screen comes first on a busy machine */
	}
	if (fill)
		fill(arg);
	struct err e = {{0}};
	struct save_report r = {.rc = save_write(s, path, &e)};
	memcpy(r.msg, e.msg, sizeof r.msg - 1); /* e.msg is NUL-terminated; r is zeroed */
	if (r.rc == 0 && s->disk.path && strcmp(s->disk.path, path) == 0) {
		r.stamped = true;
		r.mtime_ns = s->disk.mtime_ns;
		r.size = s->disk.size;
		r.hash = s->disk.hash;
	}
	ssize_t w;
	while ((w = write(fd, &r, sizeof r)) < 0 && errno == EINTR)
		;
	_exit(w == (ssize_t)sizeof r ? 0 : 1); /* no atexit handlers, no stdio flushed twice */
}

/* Reaps a writer that has reported (its exit takes a few ms: nobody waits for it). */
static void reap_writer(struct session *s, bool wait)
{
	if (s->bg.exiting <= 0)
		return;
	pid_t r;
	while ((r = waitpid(s->bg.exiting, NULL, wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (r != 0)
		s->bg.exiting = 0;
}

int session_save_start(struct session *s, const char *path, session_fill_fn *fill, void *arg,
                       struct err *e)
{
	reap_writer(s, false);
	if (s->bg.pid > 0)
		return err_set(e, "a save of %s is still being written", s->bg.path);
	if (save_check(s, path, e) < 0)
		return -1;
	int p[2];
	if (pipe(p) < 0)
		return err_set(e, "%s: cannot save: pipe: %s", path, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(e, "%s: cannot save: fork: %s", path, strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		writer_main(s, path, fill, arg, p[1]);
	}
	close(p[1]);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->bg.pid = (int)pid;
	s->bg.fd = p[0];
	s->bg.path = xstrdup(path);
	return 0;
}

int session_save_fd(const struct session *s)
{
	return s->bg.pid > 0 ? s->bg.fd : -1;
}

int session_save_finish(struct session *s, bool wait, struct err *e)
{
	if (s->bg.pid <= 0)
		return 0;
	struct save_report r;
	ssize_t n;
	for (;;) {
		n = read(s->bg.fd, &r, sizeof r);
		if (n >= 0 || errno != EAGAIN)
			break;
		if (!wait)
			return 1;
		struct pollfd pf = {s->bg.fd, POLLIN, 0};
		poll(&pf, 1, -1);
	}
	int status = 0;
	close(s->bg.fd);
	int rc = 0;
	reap_writer(s, true); /* an earlier one, long gone */
	if (n == (ssize_t)sizeof r) {
		s->bg.exiting = s->bg.pid; /* reported: reaped later, not waited for here */
		reap_writer(s, false);
	} else {
		while (waitpid(s->bg.pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (n != (ssize_t)sizeof r) {
		rc = err_set(e, "%s: the save's writer process %s; the file is as it was before",
		             s->bg.path,
		             WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "ended early");
		bool own = s->save_path && strcmp(s->bg.path, s->path) == 0;
		file_remove_stale_temps(own ? s->save_path : s->bg.path); /* what it half-wrote */
	} else if (r.rc < 0) {
		rc = err_set(e, "%s", r.msg);
	} else if (r.stamped) {
		free(s->disk.path);
		s->disk.path = xstrdup(s->bg.path);
		s->disk.mtime_ns = r.mtime_ns;
		s->disk.size = r.size;
		s->disk.hash = r.hash;
	}
	free(s->bg.path);
	s->bg.path = NULL;
	s->bg.pid = 0;
	s->bg.fd = -1;
	return rc;
}

/* to, an absolute canonical path, relative to the absolute canonical directory from. */
static char *path_relative(const char *to, const char *from)
{
	size_t common = 0;
	for (size_t i = 0;; i++) { /* the longest common prefix of whole components */
		bool end_to = to[i] == '/' || !to[i], end_from = from[i] == '/' || !from[i];
		if (end_to && end_from)
			common = i;
		if (!to[i] || !from[i] || to[i] != from[i])
			break;
	}
	struct sbuf b = {0};
	for (const char *p = from + common; *p; p++)
		if (*p == '/' && p[1])
			sbuf_adds(&b, "../");
	const char *rest = to + common + (to[common] == '/');
	sbuf_adds(&b, rest);
	if (!b.len)
		sbuf_adds(&b, ".");
	return sbuf_take(&b);
}

/* A path string of the file at node: rewritten for the new directory. */
static void rebase_one(cJSON *node, const char *old_dir, const char *new_dir)
{
	if (!cJSON_IsString(node) || node->valuestring[0] == '/')
		return;
	char *joined = path_join(old_dir, node->valuestring);
	char *real = realpath(joined, NULL);
	char *dir = NULL;
	if (!real) { /* not there (yet): its directory may be */
		char *d = path_dirname(joined);
		dir = realpath(d, NULL);
		free(d);
		if (dir)
			real = xasprintf("%s/%s", strcmp(dir, "/") ? dir : "",
			                 path_basename(node->valuestring));
	}
	if (real) {
		char *rel = path_relative(real, new_dir);
		cJSON_SetValuestring(node, rel);
		free(rel);
	}
	free(dir);
	free(real);
	free(joined);
}

int session_rebase_paths(struct session *s, const char *new_path, struct err *e)
{
	char *nd = path_dirname(new_path);
	char *new_dir = realpath(nd, NULL), *old_dir = realpath(s->dir, NULL);
	int rc = 0;
	if (!new_dir || !old_dir) {
		rc = err_set(e, "%s: %s", new_dir ? s->dir : nd, strerror(errno));
	} else if (strcmp(new_dir, old_dir) != 0) {
		cJSON *ds = session_section(s, "dataset"), *m;
		for (int i = 0; i < SPLIT_COUNT; i++)
			rebase_one(cJSON_GetObjectItemCaseSensitive(ds, split_names[i]), old_dir,
			           new_dir);
		cJSON_ArrayForEach(m, session_section(s, "models"))
		{
			rebase_one(cJSON_GetObjectItemCaseSensitive(m, "rules"), old_dir, new_dir);
		}
		cJSON *steps =
		    cJSON_GetObjectItemCaseSensitive(session_section(s, "pipeline"), "steps");
		cJSON_ArrayForEach(m, steps)
		{
			rebase_one(cJSON_GetObjectItemCaseSensitive(m, "corpus"), old_dir, new_dir);
		}
		free(s->dir);
		s->dir = xstrdup(nd);
	}
	free(nd);
	free(new_dir);
	free(old_dir);
	return rc;
}

static void replace_str(char **dst, const char *val)
{
	free(*dst);
	*dst = val ? xstrdup(val) : NULL;
}

int session_override_models(struct session *s, const char *provider, const char *base_url,
                            const char *const *models, int n, struct err *e)
{
	for (size_t i = 0; i < s->n_models; i++) {
		if (provider)
			replace_str(&s->models[i].provider, provider);
		if (base_url) { /* one URL for this run: the replicas too */
			for (int k = 0; k < s->models[i].n_replicas; k++)
				free(s->models[i].replicas[k]);
			free(s->models[i].replicas);
			s->models[i].replicas = NULL;
			s->models[i].n_replicas = 0;
			replace_str(&s->models[i].base_url, base_url);
		}
	}
	for (int k = 0; k < n; k++) {
		const char *eq = strchr(models[k], '=');
		if (!eq) {
			for (size_t i = 0; i < s->n_models; i++)
				replace_str(&s->models[i].model, models[k]);
			continue;
		}
		char *cfg = xstrndup(models[k], (size_t)(eq - models[k]));
		struct model_config *m = (struct model_config *)session_model(s, cfg);
		if (!m) {
			err_set(e, "--model %s: the session has no model configuration \"%s\"",
			        models[k], cfg);
			free(cfg);
			return -1;
		}
		replace_str(&m->model, eq + 1);
		free(cfg);
	}
	return 0;
}

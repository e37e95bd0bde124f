/* pipeline.c: the pipeline graph: steps of each kind, loops, the names templates may use,
 * dependencies and the execution order.
 *
 * Names a template may use: {{input.FIELD}} (a dataset field), {{steps.ID}} or
 * {{steps.ID.output}} (a step's latest output), {{steps.ID.rounds}} (every round's output, one a
 * line), {{round}} (1-based, inside a loop) and any name the step declares in "inputs"
 * (name -> one of the paths above).  A step reads the steps its names mention; inside a loop a
 * step may read a step of the same loop that comes later (or itself): it sees the previous
 * round's output.  Any other cycle is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bm25.h"
#include "core/jsonpos.h"
#include "core/loader.h"
#include "core/rx.h"

const char *const pipeline_keys[] = {"steps", "loops", "output", NULL};
/* in the order a save writes them (session.c) */
const char *const step_keys[] = {
    "id",        "type",    "frozen",   "model",      "inputs",      "system",  "prompt",
    "parse",     "demos",   "template", "source",     "pattern",     "replace", "group",
    "global",    "query",   "corpus",   "passages",   "url",         "k",       "concurrency",
    "timeout_s", "command", "input",    "timeout_ms", "description", NULL};
const char *const loop_keys[] = {"id", "steps", "max_rounds", "until", NULL};

static const char *const kind_names[STEP_KIND_COUNT] = {
#define X(id, name, help) name,
    STEP_KINDS(X)
#undef X
};

const char *step_kind_name(enum step_kind k)
{
	return k < STEP_KIND_COUNT ? kind_names[k] : "?";
}

struct step *session_step(const struct session *s, const char *id)
{
	int i = session_step_index(s, id);
	return i < 0 ? NULL : &s->steps[i];
}

int session_step_index(const struct session *s, const char *id)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].id && strcmp(s->steps[i].id, id) == 0)
			return (int)i;
	return -1;
}

size_t session_learnable_steps(const struct session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		n += s->steps[i].kind == STEP_LLM && !s->steps[i].frozen;
	return n;
}

/* ---- per-kind fields ---- */

static struct template *load_template(struct loader *L, const cJSON *obj, const char *path,
                                      const char *key, bool required, const char *step_id)
{
	char p[300];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_String, "a string");
	if (!v) {
		if (required && !cJSON_GetObjectItemCaseSensitive(obj, key))
			load_problem(L, path, "step \"%s\": \"%s\" is required", step_id, key);
		return NULL;
	}
	struct err e = {{0}};
	struct template *t = template_parse(v->valuestring, &e);
	if (!t)
		load_problem(L, p, "step \"%s\": %s: %s", step_id, key, e.msg);
	return t;
}

/* `who` names the owner in messages: "step \"a\"", "loop \"hops\": until". */
static struct rx *load_regex(struct loader *L, const cJSON *obj, const char *path, const char *key,
                             const char *who)
{
	char p[300];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_String, "a string");
	if (!v)
		return NULL;
	struct err e = {{0}};
	struct rx *rx = rx_compile(v->valuestring, RX_MULTILINE, &e);
	if (!rx)
		load_problem(L, p, "%s: %s", who, e.msg);
	return rx;
}

static void load_llm(struct loader *L, struct session *s, struct step *st, const char *path)
{
	const cJSON *j = st->json;
	st->model = load_string(L, j, path, "model", NULL);
	if (!st->model)
		st->model = xstrdup(
		    session_model(s, "task") || s->n_models != 1 ? "task" : s->models[0].name);
	st->model_cfg = session_model(s, st->model);
	if (!st->model_cfg && s->n_models) {
		char p[300];
		snprintf(p, sizeof p, "%s.model", path);
		load_problem(L, cJSON_GetObjectItemCaseSensitive(j, "model") ? p : path,
		             "step \"%s\": no model configuration named \"%s\" in \"models\"",
		             st->id, st->model);
	}
	st->prompt_tpl = load_template(L, j, path, "prompt", true, st->id);
	if (st->prompt_tpl)
		st->prompt = xstrdup(template_text(st->prompt_tpl));
	st->system = load_template(L, j, path, "system", false, st->id);
	char p[300];
	snprintf(p, sizeof p, "%s.parse", path);
	const cJSON *parse = load_get(L, j, p, "parse", cJSON_Object | cJSON_String,
	                              "an object {\"pattern\", \"group\"} or a pattern string");
	if (cJSON_IsString(parse)) {
		struct err e = {{0}};
		st->parse_rx = rx_compile(parse->valuestring, RX_MULTILINE, &e);
		if (!st->parse_rx)
			load_problem(L, p, "step \"%s\": parse: %s", st->id, e.msg);
		st->parse_group = 1;
	} else if (parse) {
		char who[300];
		snprintf(who, sizeof who, "step \"%s\": parse", st->id);
		st->parse_rx = load_regex(L, parse, p, "pattern", who);
		if (!st->parse_rx && !cJSON_GetObjectItemCaseSensitive(parse, "pattern"))
			load_problem(L, p, "step \"%s\": parse needs a \"pattern\"", st->id);
		st->parse_group = (int)load_int(L, parse, p, "group", 1, 0, RX_MAX_GROUPS - 1);
	}
	if (st->parse_rx && st->parse_group > rx_capture_count(st->parse_rx))
		load_problem(L, p,
		             "step \"%s\": parse group %d does not exist (the pattern has %d)",
		             st->id, st->parse_group, rx_capture_count(st->parse_rx));
	snprintf(p, sizeof p, "%s.demos", path);
	const cJSON *demos = load_get(L, j, p, "demos", cJSON_Array, "an array of {input, output}");
	if (demos) {
		size_t n = (size_t)cJSON_GetArraySize(demos);
		st->demos = xcalloc(n ? n : 1, sizeof *st->demos);
		const cJSON *d;
		cJSON_ArrayForEach(d, demos)
		{
			char dp[340];
			snprintf(dp, sizeof dp, "%s[%zu]", p, st->n_demos);
			char *in = cJSON_IsObject(d) ? load_string(L, d, dp, "input", NULL) : NULL;
			char *out =
			    cJSON_IsObject(d) ? load_string(L, d, dp, "output", NULL) : NULL;
			if (!in || !out) {
				load_problem(L, dp,
				             "step \"%s\": a demonstration needs \"input\" and "
				             "\"output\" strings",
				             st->id);
				free(in);
				free(out);
				continue;
			}
			st->demos[st->n_demos++] = (struct demo){in, out};
		}
	}
}

static void load_regex_step(struct loader *L, struct step *st, const char *path)
{
	st->text = load_template(L, st->json, path, "source", true, st->id);
	char who[300];
	snprintf(who, sizeof who, "step \"%s\"", st->id);
	st->rx = load_regex(L, st->json, path, "pattern", who);
	if (!st->rx && !cJSON_GetObjectItemCaseSensitive(st->json, "pattern"))
		load_problem(L, path, "step \"%s\": \"pattern\" is required", st->id);
	st->replace = load_string(L, st->json, path, "replace", NULL);
	st->group =
	    (int)load_int(L, st->json, path, "group", st->replace ? 0 : -1, 0, RX_MAX_GROUPS - 1);
	if (st->group < 0)
		st->group = st->rx && rx_capture_count(st->rx) > 0 ? 1 : 0;
	if (st->rx && st->group > rx_capture_count(st->rx))
		load_problem(L, path, "step \"%s\": group %d does not exist (the pattern has %d)",
		             st->id, st->group, rx_capture_count(st->rx));
	st->global = load_bool(L, st->json, path, "global", false);
}

/* A retrieval server's address as the LLM layer will take it (llm/retriever.c). */
static bool retrieve_url_ok(const char *url)
{
	if (!str_startswith(url, "http://") && !str_startswith(url, "https://"))
		return false;
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7F || *c == '#')
			return false;
	return true;
}

/* "concurrency" and "timeout_s" belong to a retrieve step with a "url": an error elsewhere. */
static void reject_server_keys(struct loader *L, const struct step *st, const char *path,
                               const char *why)
{
	static const char *const keys[] = {"concurrency", "timeout_s"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!cJSON_GetObjectItemCaseSensitive(st->json, keys[i]))
			continue;
		char p[300];
		snprintf(p, sizeof p, "%s.%s", path, keys[i]);
		load_problem(L, p,
		             "step \"%s\": \"%s\" is for a retrieval server (a retrieve step with "
		             "\"url\"); %s",
		             st->id, keys[i], why);
	}
}

/* Steps asking the same retrieval server share its concurrency slots (the LLM layer keeps one
 * limiter per url): a step that gives none takes the one another gives, and two that differ
 * are an error. */
static void share_server_concurrency(struct loader *L, struct session *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		struct step *a = &s->steps[i];
		if (a->kind != STEP_RETRIEVE || !a->url || !a->json)
			continue;
		for (size_t j = 0; j < i; j++) {
			struct step *b = &s->steps[j];
			if (b->kind != STEP_RETRIEVE || !b->url || strcmp(a->url, b->url) != 0)
				continue;
			if (a->concurrency && b->concurrency && a->concurrency != b->concurrency) {
				char p[300];
				snprintf(p, sizeof p, "pipeline.steps[%zu].concurrency", i);
				load_problem(
				    L, p,
				    "step \"%s\": concurrency %d, but step \"%s\" asks the "
				    "same url with concurrency %d: steps that ask one server "
				    "share its slots, give them the same",
				    a->id, a->concurrency, b->id, b->concurrency);
				break;
			}
			if (!a->concurrency)
				a->concurrency = b->concurrency;
			else if (!b->concurrency)
				b->concurrency = a->concurrency;
		}
	}
}

static void load_retrieve(struct loader *L, struct session *s, struct step *st, const char *path)
{
	st->text = load_template(L, st->json, path, "query", true, st->id);
	st->k = (int)load_int(L, st->json, path, "k", 3, 1, 1000);
	char *corpus = load_string(L, st->json, path, "corpus", NULL);
	st->passages = load_string(L, st->json, path, "passages", NULL);
	st->url = load_string(L, st->json, path, "url", NULL);
	if (!corpus + !st->passages + !st->url != 2) {
		load_problem(L, path,
		             "step \"%s\": a retrieve step needs exactly one of \"corpus\" "
		             "(a JSONL file of {\"text\"}), \"passages\" (a list field, e.g. "
		             "\"input.context\") or \"url\" (a retrieval server)",
		             st->id);
	}
	st->concurrency = (int)load_int(L, st->json, path, "concurrency", 0, 1, 1024);
	st->timeout_s = load_number(L, st->json, path, "timeout_s", 0, 0.1, 3600);
	if (!st->url)
		reject_server_keys(L, st, path, "a retrieve step without \"url\" asks no server");
	if (st->url && !retrieve_url_ok(st->url)) {
		char p[300];
		snprintf(p, sizeof p, "%s.url", path);
		load_problem(L, p,
		             "step \"%s\": url \"%s\" must be an http:// or https:// address "
		             "without spaces, control characters or a #fragment",
		             st->id, st->url);
	}
	if (corpus) {
		st->corpus = path_join(s->dir, corpus);
		free(corpus);
		struct err e = {{0}};
		if (bm25_load_corpus(st->corpus, s->data.max_file_bytes, &st->corpus_docs,
		                     &st->n_corpus_docs, &e) < 0) {
			char p[300];
			snprintf(p, sizeof p, "%s.corpus", path);
			load_problem(L, p, "step \"%s\": corpus: %s", st->id, e.msg);
		} else {
			st->bm25 = bm25_new((const char *const *)st->corpus_docs, st->n_corpus_docs,
			                    1.5, 0.75);
		}
	}
	if (st->passages) {
		if (!str_startswith(st->passages, "input.") ||
		    !dataset_has_field(&s->data, st->passages + 6)) {
			char p[300];
			snprintf(p, sizeof p, "%s.passages", path);
			struct sbuf have = {0};
			for (size_t i = 0; i < s->data.n_fields; i++)
				sbuf_addf(&have, "%s%s", i ? ", " : "", s->data.fields[i]);
			load_problem(L, p,
			             "step \"%s\": passages \"%s\" must name a dataset field "
			             "holding a list (input.FIELD; the dataset has: %s)",
			             st->id, st->passages, have.len ? have.s : "no input fields");
			sbuf_free(&have);
		}
	}
}

static void load_exec(struct loader *L, struct step *st, const char *path)
{
	char p[300];
	snprintf(p, sizeof p, "%s.command", path);
	const cJSON *cmd = load_get(L, st->json, p, "command", cJSON_Array,
	                            "an array of strings (program and arguments)");
	if (!cmd) {
		if (!cJSON_GetObjectItemCaseSensitive(st->json, "command"))
			load_problem(L, path, "step \"%s\": \"command\" is required", st->id);
	} else {
		size_t n = (size_t)cJSON_GetArraySize(cmd), i = 0;
		st->argv = xcalloc(n + 1, sizeof *st->argv);
		const cJSON *a;
		cJSON_ArrayForEach(a, cmd)
		{
			if (!cJSON_IsString(a)) {
				load_problem(L, p, "step \"%s\": command arguments must be strings",
				             st->id);
				break;
			}
			st->argv[i++] = xstrdup(a->valuestring);
		}
		if (n == 0)
			load_problem(L, p, "step \"%s\": command is empty", st->id);
	}
	st->text = load_template(L, st->json, path, "input", false, st->id);
	st->timeout_ms = (int)load_int(L, st->json, path, "timeout_ms", 10000, 1, 3600000);
}

/* ---- names and dependencies ---- */

static void add_dep(struct step *st, int dep)
{
	for (size_t i = 0; i < st->n_deps; i++)
		if (st->deps[i] == dep)
			return;
	st->deps = xrealloc(st->deps, (st->n_deps + 1) * sizeof *st->deps);
	st->deps[st->n_deps++] = dep;
}

/* Checks one name; depth guards against inputs naming each other. */
static void check_name(struct loader *L, struct session *s, struct step *st, const char *path,
                       const char *name, int depth)
{
	if (strcmp(name, "round") == 0) {
		if (st->loop < 0)
			load_problem(L, path,
			             "step \"%s\": {{round}} is only defined inside a loop",
			             st->id);
		return;
	}
	if (str_startswith(name, "input.")) {
		const char *field = name + 6;
		size_t total = 0;
		for (int i = 0; i < SPLIT_COUNT; i++)
			total += s->data.splits[i].n;
		if (total && !dataset_has_field(&s->data, field)) {
			struct sbuf have = {0};
			for (size_t i = 0; i < s->data.n_fields; i++)
				sbuf_addf(&have, "%s%s", i ? ", " : "", s->data.fields[i]);
			load_problem(L, path,
			             "step \"%s\": template uses unknown input field \"%s\" "
			             "(the dataset has: %s)",
			             st->id, field, have.len ? have.s : "no input fields");
			sbuf_free(&have);
		}
		return;
	}
	if (str_startswith(name, "steps.")) {
		const char *id = name + 6;
		const char *dot = strrchr(id, '.');
		char *sid;
		if (dot && (strcmp(dot, ".output") == 0 || strcmp(dot, ".rounds") == 0))
			sid = xstrndup(id, (size_t)(dot - id));
		else
			sid = xstrdup(id);
		int dep = session_step_index(s, sid);
		if (dep < 0)
			load_problem(L, path, "step \"%s\": template uses unknown step \"%s\"",
			             st->id, sid);
		else if (dep == st->index && st->loop < 0)
			load_problem(L, path, "step \"%s\": reads its own output outside a loop",
			             st->id);
		else
			add_dep(st, dep);
		free(sid);
		return;
	}
	for (size_t i = 0; i < st->n_inputs; i++) {
		if (strcmp(st->inputs[i].name, name) != 0)
			continue;
		const char *to = st->inputs[i].path;
		if (depth == 0 && (str_startswith(to, "input.") || str_startswith(to, "steps.") ||
		                   strcmp(to, "round") == 0)) {
			check_name(L, s, st, path, to, depth + 1);
			return;
		}
		/* point at the input's definition, not at the template using it */
		struct sbuf ip = {0};
		sbuf_addf(&ip, "pipeline.steps[%d]", st->index);
		json_path_key(&ip, "inputs");
		json_path_key(&ip, name);
		load_problem(L, sbuf_str(&ip),
		             "step \"%s\": input \"%s\" is \"%s\"; it must be a path "
		             "like input.FIELD, steps.ID.output or round",
		             st->id, name, to);
		sbuf_free(&ip);
		return;
	}
	load_problem(L, path, "step \"%s\": template uses unknown input \"%s\"", st->id, name);
}

static void check_template(struct loader *L, struct session *s, struct step *st,
                           const struct template *t, const char *key)
{
	if (!t)
		return;
	char path[300];
	snprintf(path, sizeof path, "pipeline.steps[%d].%s", st->index, key);
	for (size_t i = 0; i < template_nvars(t); i++)
		check_name(L, s, st, path, template_var(t, i), 0);
}

static void load_inputs(struct loader *L, struct step *st, const char *path)
{
	char p[300];
	snprintf(p, sizeof p, "%s.inputs", path);
	const cJSON *in = load_get(L, st->json, p, "inputs", cJSON_Object,
	                           "an object of name -> path (e.g. {\"question\": "
	                           "\"input.question\"})");
	if (!in)
		return;
	size_t n = (size_t)cJSON_GetArraySize(in);
	st->inputs = xcalloc(n ? n : 1, sizeof *st->inputs);
	const cJSON *v;
	cJSON_ArrayForEach(v, in)
	{
		char vp[400];
		snprintf(vp, sizeof vp, "%s.%s", p, v->string);
		if (!cJSON_IsString(v)) {
			load_problem(L, vp, "step \"%s\": input \"%s\" must be a path string",
			             st->id, v->string);
			continue;
		}
		st->inputs[st->n_inputs++] =
		    (struct step_input){xstrdup(v->string), xstrdup(v->valuestring)};
	}
}

/* ---- loops and order ---- */

static void load_loops(struct loader *L, struct session *s, const cJSON *loops)
{
	s->n_loops = (size_t)cJSON_GetArraySize(loops);
	s->loops = xcalloc(s->n_loops ? s->n_loops : 1, sizeof *s->loops);
	size_t li = 0;
	const cJSON *lj;
	cJSON_ArrayForEach(lj, loops)
	{
		struct loop *lp = &s->loops[li];
		char path[64];
		snprintf(path, sizeof path, "pipeline.loops[%zu]", li);
		lp->json = (cJSON *)lj;
		lp->until_step = -1;
		li++;
		if (!cJSON_IsObject(lj)) {
			load_problem(L, path, "%s must be an object", path);
			continue;
		}
		lp->id = load_string(L, lj, path, "id", NULL);
		if (!lp->id)
			lp->id = xasprintf("loop%zu", li);
		lp->max_rounds = (int)load_int(L, lj, path, "max_rounds", 2, 1, 1000);
		char sp[96];
		snprintf(sp, sizeof sp, "%s.steps", path);
		const cJSON *steps =
		    load_get(L, lj, sp, "steps", cJSON_Array, "an array of step ids");
		if (!steps || cJSON_GetArraySize(steps) == 0) {
			load_problem(L, steps ? sp : path,
			             "loop \"%s\": \"steps\" must list the step ids "
			             "repeated each round",
			             lp->id);
			continue;
		}
		lp->steps = xcalloc((size_t)cJSON_GetArraySize(steps), sizeof *lp->steps);
		const cJSON *id;
		size_t k = 0;
		cJSON_ArrayForEach(id, steps)
		{
			char ep[120];
			snprintf(ep, sizeof ep, "%s[%zu]", sp, k++);
			int si = cJSON_IsString(id) ? session_step_index(s, id->valuestring) : -1;
			if (si < 0) {
				load_problem(L, ep, "loop \"%s\": unknown step %s%s%s", lp->id,
				             cJSON_IsString(id) ? "\"" : "",
				             cJSON_IsString(id) ? id->valuestring
				                                : "(not a string)",
				             cJSON_IsString(id) ? "\"" : "");
				continue;
			}
			if (s->steps[si].loop >= 0) {
				load_problem(L, ep, "step \"%s\" is in two loops", s->steps[si].id);
				continue;
			}
			s->steps[si].loop = (int)(lp - s->loops);
			lp->steps[lp->n_steps++] = si;
		}
		char up[96];
		snprintf(up, sizeof up, "%s.until", path);
		const cJSON *until =
		    load_get(L, lj, up, "until", cJSON_Object, "an object {\"step\", \"pattern\"}");
		if (until) {
			char *sid = load_string(L, until, up, "step", NULL);
			char who[300];
			snprintf(who, sizeof who, "loop \"%s\": until", lp->id);
			lp->until = load_regex(L, until, up, "pattern", who);
			if (!lp->until && !cJSON_GetObjectItemCaseSensitive(until, "pattern"))
				load_problem(L, up, "loop \"%s\": until needs a \"pattern\"",
				             lp->id);
			lp->until_step = sid ? session_step_index(s, sid)
			                     : (lp->n_steps ? lp->steps[lp->n_steps - 1] : -1);
			char usp[120];
			snprintf(usp, sizeof usp, "%s.step", up);
			if (sid &&
			    (lp->until_step < 0 || s->steps[lp->until_step].loop != (int)li - 1))
				load_problem(L, usp,
				             "loop \"%s\": until.step \"%s\" is not a step of this "
				             "loop",
				             lp->id, sid);
			free(sid);
		}
	}
}

/* Kahn's algorithm over order items (single steps and whole loops), stable in file order. */
static void compute_order(struct loader *L, struct session *s)
{
	size_t n = s->n_steps;
	/* node of each step: its own index, or n + loop index */
	size_t nodes = n + s->n_loops;
	int *indeg = xcalloc(nodes, sizeof *indeg);
	bool *edge = xcalloc(nodes * nodes, sizeof *edge);
	bool *present = xcalloc(nodes, sizeof *present);
	size_t *first = xcalloc(nodes, sizeof *first); /* smallest file index, for stable order */
	for (size_t i = 0; i < nodes; i++)
		first[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t node = s->steps[i].loop >= 0 ? n + (size_t)s->steps[i].loop : i;
		present[node] = true;
		if (i < first[node])
			first[node] = i;
	}
	for (size_t i = 0; i < n; i++) {
		size_t to = s->steps[i].loop >= 0 ? n + (size_t)s->steps[i].loop : i;
		for (size_t k = 0; k < s->steps[i].n_deps; k++) {
			int d = s->steps[i].deps[k];
			size_t from =
			    s->steps[d].loop >= 0 ? n + (size_t)s->steps[d].loop : (size_t)d;
			if (from != to && !edge[from * nodes + to]) {
				edge[from * nodes + to] = true;
				indeg[to]++;
			}
		}
	}
	s->order = xcalloc(nodes ? nodes : 1, sizeof *s->order);
	bool *done = xcalloc(nodes, sizeof *done);
	for (;;) {
		size_t pick = SIZE_MAX;
		for (size_t v = 0; v < nodes; v++)
			if (present[v] && !done[v] && indeg[v] == 0 &&
			    (pick == SIZE_MAX || first[v] < first[pick]))
				pick = v;
		if (pick == SIZE_MAX)
			break;
		done[pick] = true;
		s->order[s->n_order++] = pick < n ? (struct order_item){(int)pick, -1}
		                                  : (struct order_item){-1, (int)(pick - n)};
		for (size_t v = 0; v < nodes; v++)
			if (edge[pick * nodes + v])
				indeg[v]--;
	}
	struct sbuf cyc = {0};
	for (size_t i = 0; i < n; i++) {
		size_t node = s->steps[i].loop >= 0 ? n + (size_t)s->steps[i].loop : i;
		if (!done[node])
			sbuf_addf(&cyc, "%s\"%s\"", cyc.len ? ", " : "", s->steps[i].id);
	}
	if (cyc.len)
		load_problem(L, "pipeline.steps",
		             "the steps %s read each other in a cycle; a cycle "
		             "is only allowed inside a loop (pipeline.loops)",
		             cyc.s);
	sbuf_free(&cyc);
	free(done);
	free(first);
	free(present);
	free(edge);
	free(indeg);
}

void load_pipeline(struct loader *L, struct session *s)
{
	const cJSON *p = load_get(L, s->root, "pipeline", "pipeline", cJSON_Object, "an object");
	if (!p) {
		if (!cJSON_GetObjectItemCaseSensitive(s->root, "pipeline"))
			load_problem(L, NULL, "no \"pipeline\" object with \"steps\"");
		return;
	}
	const cJSON *steps = load_get(L, p, "pipeline.steps", "steps", cJSON_Array, "an array");
	if (!steps || cJSON_GetArraySize(steps) == 0) {
		load_problem(L, steps ? "pipeline.steps" : "pipeline", "the pipeline has no steps");
		return;
	}
	s->n_steps = (size_t)cJSON_GetArraySize(steps);
	s->steps = xcalloc(s->n_steps, sizeof *s->steps);
	size_t i = 0;
	const cJSON *sj;
	/* first pass: ids and kinds, so later references can be checked in any order */
	cJSON_ArrayForEach(sj, steps)
	{
		struct step *st = &s->steps[i];
		char path[64];
		snprintf(path, sizeof path, "pipeline.steps[%zu]", i);
		st->index = (int)i++;
		st->loop = -1;
		st->json = (cJSON *)sj;
		if (!cJSON_IsObject(sj)) {
			load_problem(L, path, "%s must be an object", path);
			st->id = xasprintf("#%zu", i);
			st->json = NULL; /* nothing more to load from it */
			continue;
		}
		st->id = load_string(L, sj, path, "id", NULL);
		if (!st->id) {
			if (!cJSON_GetObjectItemCaseSensitive(sj,
			                                      "id")) /* else: reported as a type */
				load_problem(L, path, "%s: \"id\" is required", path);
			st->id = xasprintf("#%zu", i);
		} else if (session_step_index(s, st->id) != st->index) {
			char ip[80];
			snprintf(ip, sizeof ip, "%s.id", path);
			load_problem(L, ip, "duplicate step id \"%s\"", st->id);
		}
		char *type = load_string(L, sj, path, "type", "llm");
		int k = -1;
		for (int t = 0; t < STEP_KIND_COUNT; t++)
			if (strcmp(kind_names[t], type) == 0)
				k = t;
		if (k < 0) {
			char tp[80];
			snprintf(tp, sizeof tp, "%s.type", path);
			load_problem(L, tp,
			             "step \"%s\": unknown type \"%s\" (llm, template, regex, "
			             "retrieve, exec)",
			             st->id, type);
			k = STEP_TEMPLATE;
			st->json = NULL; /* skip its fields */
		}
		st->kind = (enum step_kind)k;
		st->frozen = load_bool(L, sj, path, "frozen", st->kind != STEP_LLM);
		free(type);
	}
	const cJSON *loops = load_get(L, p, "pipeline.loops", "loops", cJSON_Array, "an array");
	if (loops)
		load_loops(L, s, loops);
	for (i = 0; i < s->n_steps; i++) {
		struct step *st = &s->steps[i];
		if (!st->json)
			continue;
		char path[64];
		snprintf(path, sizeof path, "pipeline.steps[%zu]", i);
		load_inputs(L, st, path);
		switch (st->kind) {
		case STEP_LLM:
			load_llm(L, s, st, path);
			check_template(L, s, st, st->prompt_tpl, "prompt");
			check_template(L, s, st, st->system, "system");
			break;
		case STEP_TEMPLATE:
			st->text = load_template(L, st->json, path, "template", true, st->id);
			check_template(L, s, st, st->text, "template");
			break;
		case STEP_REGEX:
			load_regex_step(L, st, path);
			check_template(L, s, st, st->text, "source");
			break;
		case STEP_RETRIEVE:
			load_retrieve(L, s, st, path);
			check_template(L, s, st, st->text, "query");
			break;
		case STEP_EXEC:
			load_exec(L, st, path);
			check_template(L, s, st, st->text, "input");
			break;
		case STEP_KIND_COUNT:
			break;
		}
		if (st->kind != STEP_RETRIEVE) {
			char why[48];
			snprintf(why, sizeof why, "this is a%s %s step",
			         st->kind == STEP_LLM || st->kind == STEP_EXEC ? "n" : "",
			         step_kind_name(st->kind));
			reject_server_keys(L, st, path, why);
		}
	}
	share_server_concurrency(L, s);
	compute_order(L, s);
	char *out = load_string(L, p, "pipeline", "output", NULL);
	if (out) {
		s->output_step = session_step_index(s, out);
		if (s->output_step < 0)
			load_problem(L, "pipeline.output", "pipeline.output: unknown step \"%s\"",
			             out);
		free(out);
	} else if (s->n_order) {
		const struct order_item *last = &s->order[s->n_order - 1];
		s->output_step = last->step >= 0
		                     ? last->step
		                     : s->loops[last->loop].steps[s->loops[last->loop].n_steps - 1];
	}
}

void pipeline_free(struct session *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		struct step *st = &s->steps[i];
		free(st->id);
		for (size_t k = 0; k < st->n_inputs; k++) {
			free(st->inputs[k].name);
			free(st->inputs[k].path);
		}
		free(st->inputs);
		free(st->deps);
		free(st->model);
		template_free(st->system);
		free(st->prompt);
		template_free(st->prompt_tpl);
		for (size_t k = 0; k < st->n_demos; k++) {
			free(st->demos[k].input);
			free(st->demos[k].output);
		}
		free(st->demos);
		rx_free(st->parse_rx);
		template_free(st->text);
		rx_free(st->rx);
		free(st->replace);
		free(st->corpus);
		bm25_free(st->bm25);
		for (size_t k = 0; k < st->n_corpus_docs; k++)
			free(st->corpus_docs[k]);
		free(st->corpus_docs);
		free(st->passages);
		free(st->url);
		if (st->argv)
			for (char **a = st->argv; *a; a++)
				free(*a);
		free(st->argv);
	}
	free(s->steps);
	for (size_t i = 0; i < s->n_loops; i++) {
		free(s->loops[i].id);
		free(s->loops[i].steps);
		rx_free(s->loops[i].until);
	}
	free(s->loops);
	free(s->order);
	s->steps = NULL;
	s->loops = NULL;
	s->order = NULL;
	s->n_steps = s->n_loops = s->n_order = 0;
}

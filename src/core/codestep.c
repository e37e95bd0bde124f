/* codestep.c: running template, regex, retrieve and exec steps, one function per kind in a
 * table indexed by step kind; exec steps also in two halves (start, result) for callers that
 * run the command inside their own event loop. */
#include <stdlib.h>
#include <string.h>

#include "core/bm25.h"
#include "core/codestep.h"
#include "core/proc.h"
#include "core/rx.h"

#define EXEC_MAX_OUTPUT ((size_t)4 << 20)

typedef int codestep_fn(const struct step *st, const char *text, const struct codestep_env *env,
                        struct step_out *out, struct err *e);

static int run_template(const struct step *st, const char *text, const struct codestep_env *env,
                        struct step_out *out, struct err *e)
{
	(void)st, (void)env, (void)e;
	step_out_set_text(out, text);
	return 0;
}

static int run_regex(const struct step *st, const char *text, const struct codestep_env *env,
                     struct step_out *out, struct err *e)
{
	(void)env;
	if (st->replace) {
		char *r = rx_substitute(st->rx, text, st->replace, st->global, e);
		if (!r)
			return -1;
		step_out_set_text(out, r);
		free(r);
		return 0;
	}
	size_t len = strlen(text), off = 0, n = 0, cap = 0;
	char **items = NULL;
	struct rx_match m;
	int rc;
	while ((rc = rx_match(st->rx, text, len, off, &m, e)) == 1) {
		char *g = rx_group_dup(&m, text, st->group);
		items = xgrow(items, &cap, n + 1, sizeof *items);
		items[n++] = g ? g : xstrdup("");
		if (!st->global)
			break;
		off = m.end[0] > m.start[0] ? m.end[0] : m.end[0] + 1;
		if (off > len)
			break;
	}
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(items[i]);
		free(items);
		return -1;
	}
	if (st->global) {
		step_out_set_items(out, items, n);
	} else {
		step_out_set_text(out, n ? items[0] : "");
		if (n)
			free(items[0]);
		free(items);
	}
	return 0;
}

static int run_retrieve(const struct step *st, const char *text, const struct codestep_env *env,
                        struct step_out *out, struct err *e)
{
	if (st->url) /* a request like a model's: the runner sends it (llm.h, llm_retrieve) */
		return err_set(e,
		               "step \"%s\" asks the retrieval server %s: it runs in the event "
		               "loop, not here",
		               st->id, st->url);
	const struct bm25 *index = st->bm25;
	struct bm25 *local = NULL;
	const char *const *docs = (const char *const *)st->corpus_docs;
	struct value_buf vb = {0}; /* the passages, when their field is kept as JSON */
	if (!index) {
		const struct value *v =
		    env->ex ? example_get(env->ex, st->passages + 6, &vb) : NULL;
		if (!v)
			return err_set(e, "this example has no \"%s\" field to retrieve from",
			               st->passages + 6);
		if (v->items) {
			docs = v->items;
			index = local = bm25_new(v->items, v->n_items, 1.5, 0.75);
		} else {
			docs = &v->text;
			index = local = bm25_new(&v->text, 1, 1.5, 0.75);
		}
	}
	size_t k = (size_t)st->k;
	size_t *idx = xcalloc(k, sizeof *idx);
	size_t n = bm25_search(index, text, k, idx, NULL);
	char **items = xcalloc(n ? n : 1, sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = xstrdup(docs[idx[i]]);
	step_out_set_items(out, items, n);
	free(idx);
	bm25_free(local);
	value_buf_free(&vb);
	return 0;
}

static int exec_refused(const struct step *st, const struct codestep_env *env, struct err *e)
{
	if (env->trust)
		return 0;
	return err_set(e,
	               "step \"%s\" runs the command \"%s\"; refusing without --trust (a "
	               "session file from someone else must not run commands)",
	               st->id, st->argv[0]);
}

struct proc *codestep_exec_start(const struct step *st, const char *text,
                                 const struct codestep_env *env, struct err *e)
{
	if (exec_refused(st, env, e) < 0)
		return NULL;
	return proc_start(st->argv, text, strlen(text), st->timeout_ms, EXEC_MAX_OUTPUT, e);
}

int codestep_exec_result(const struct step *st, const struct proc_result *res, struct step_out *out,
                         struct err *e)
{
	if (res->timed_out)
		return err_set(e, "command \"%s\" timed out after %d ms", st->argv[0],
		               st->timeout_ms);
	if (res->status != 0)
		return err_set(e, "command \"%s\" exited with status %d%s%s", st->argv[0],
		               res->status, res->err_tail && *res->err_tail ? ": " : "",
		               res->err_tail ? res->err_tail : "");
	if (res->truncated)
		return err_set(e, "command \"%s\" wrote more than %zu bytes", st->argv[0],
		               EXEC_MAX_OUTPUT);
	char *o = xstrndup(res->out ? res->out : "", res->out_len);
	str_trim(o);
	step_out_set_text(out, o);
	free(o);
	return 0;
}

static int run_exec(const struct step *st, const char *text, const struct codestep_env *env,
                    struct step_out *out, struct err *e)
{
	if (exec_refused(st, env, e) < 0)
		return -1;
	struct proc_result res = {0};
	if (proc_run(st->argv, text, strlen(text), st->timeout_ms, EXEC_MAX_OUTPUT, &res, e) < 0)
		return -1;
	int rc = codestep_exec_result(st, &res, out, e);
	proc_result_free(&res);
	return rc;
}

static codestep_fn *const runners[STEP_KIND_COUNT] = {
    [STEP_TEMPLATE] = run_template,
    [STEP_REGEX] = run_regex,
    [STEP_RETRIEVE] = run_retrieve,
    [STEP_EXEC] = run_exec,
};

int codestep_run(const struct step *st, const char *text, const struct codestep_env *env,
                 struct step_out *out, struct err *e)
{
	codestep_fn *fn = st->kind < STEP_KIND_COUNT ? runners[st->kind] : NULL;
	if (!fn)
		return err_set(e, "step \"%s\" is not a code step", st->id);
	return fn(st, text, env, out, e);
}

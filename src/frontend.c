/* frontend.c: what both front ends (the workbench and the headless modes) do before and after
 * their own work: open the session with the command line's overrides, take the writer's lock,
 * check every model configuration the run may use, and start the LLM layer with its response
 * cache and spend journal beside the session file; and close all of it.  It prints its problems
 * (through core/termsafe.h) and knows neither curses nor the engine. */
#include "frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lock.h"
#include "core/metric.h"
#include "core/session.h"
#include "core/termsafe.h"
#include "llm/llm.h"

struct session *front_load(const struct front_opts *o)
{
	struct diag d = {0};
	struct session *s = session_load(o->session, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		term_printf(stderr, "%s\n", d.msgs[i]);
	if (!s && d.n > 1)
		term_printf(stderr, "%zu problems\n", d.n);
	diag_free(&d);
	return s;
}

/* NAME.json -> NAME<suffix>, beside the session: the response cache and the spend journal. */
char *front_path_beside(const char *session, const char *suffix)
{
	size_t n = strlen(session);
	if (str_endswith(session, ".json"))
		n -= 5;
	return xasprintf("%.*s%s", (int)n, session, suffix);
}

int front_open(const struct front_opts *o, struct front_env *env)
{
	memset(env, 0, sizeof *env);
	env->s = front_load(o);
	if (!env->s)
		return ADOPT_EXIT_INVALID;
	struct err e = {{0}};
	/* beside the file saves go to (a symlinked session: its target), one lock for all links */
	if (!o->read_only && !(env->lock = session_lock_take(env->s->save_path, &e))) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg); /* names the lock file's owner */
		return ADOPT_EXIT_FAILED;
	}
	if (session_override_models(env->s, o->provider, o->base_url, o->models, o->n_models, &e) <
	    0) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		return ADOPT_EXIT_INVALID;
	}
	/* every configuration the run may use must be usable before anything is sent */
	for (size_t i = 0; i < env->s->n_steps; i++) {
		const struct step *st = &env->s->steps[i];
		if (st->kind != STEP_LLM)
			continue;
		if (llm_check_model(st->model_cfg, &e) < 0) {
			term_printf(stderr, "adopt-tui: step \"%s\": %s\n", st->id, e.msg);
			return ADOPT_EXIT_FAILED;
		}
		if (strcmp(st->model_cfg->provider, "scripted") == 0)
			env->scripted = true;
	}
	if (metric_is_judge(env->s->metric)) {
		const struct model_config *j =
		    session_model(env->s, metric_judge(env->s->metric)->model);
		if (j && llm_check_model(j, &e) < 0) {
			term_printf(stderr, "adopt-tui: metric judge: %s\n", e.msg);
			return ADOPT_EXIT_FAILED;
		}
		env->scripted |= j && strcmp(j->provider, "scripted") == 0;
	}
	if (o->iterations > 0 && !session_learnable_steps(env->s)) {
		term_printf(stderr,
		            "adopt-tui: %s: nothing to optimize: no step has a learnable prompt "
		            "(an llm step that is not frozen); --eval runs the pipeline\n",
		            o->session);
		return ADOPT_EXIT_FAILED;
	}
	const struct model_config *r = session_model(env->s, env->s->opt.role_model);
	if (r || o->iterations > 0) {
		if (!r) {
			term_printf(
			    stderr,
			    "adopt-tui: optimizer.role_model: no model configuration \"%s\" "
			    "for the analysis roles\n",
			    env->s->opt.role_model);
			return ADOPT_EXIT_FAILED;
		}
		if (llm_check_model(r, &e) < 0) {
			term_printf(stderr, "adopt-tui: role model: %s\n", e.msg);
			return ADOPT_EXIT_FAILED;
		}
		env->scripted |= strcmp(r->provider, "scripted") == 0;
	}
	env->cache_path = front_path_beside(o->session, ".cache.jsonl");
	char *spend_path = front_path_beside(o->session, ".spend.jsonl");
	struct llm_options lo = {.cache_path = o->no_cache ? NULL : env->cache_path,
	                         .spend_path = spend_path,
	                         .offline = o->offline,
	                         .no_cache = o->no_cache,
	                         .seed = env->s->opt.seed,
	                         .trust = o->trust,
	                         .user_base_url = o->base_url};
	env->llm = llm_new(&lo, &e);
	free(spend_path);
	if (!env->llm) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		return ADOPT_EXIT_FAILED;
	}
	const char *bad = llm_cache_problem(env->llm, &env->cache_skipped);
	if (bad)
		term_printf(stderr, "adopt-tui: warning: %s (%ld line(s) skipped in all)\n", bad,
		            env->cache_skipped);
	return 0;
}

void front_close(struct front_env *env)
{
	long skipped = 0;
	const char *bad = env->llm ? llm_cache_problem(env->llm, &skipped) : NULL;
	if (bad && skipped > env->cache_skipped) /* lines found corrupt when read back */
		term_printf(stderr,
		            "adopt-tui: warning: response cache: %ld line(s) proved corrupt when "
		            "read and were asked again; the first skipped: %s\n",
		            skipped - env->cache_skipped, bad);
	llm_free(env->llm);
	session_free(env->s);
	free(env->cache_path);
	session_lock_release(env->lock);
	memset(env, 0, sizeof *env);
}

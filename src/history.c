/* history.c: opens a session's recorded history read-only for the report, the export and the
 * comparison: no lock, no cache, no journal, an offline LLM layer that never sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/termsafe.h"
#include "history.h"

static bool is_scripted(const struct model_config *m)
{
	return m && strcmp(m->provider, "scripted") == 0;
}

int history_open(struct history *h, const struct front_opts *o)
{
	memset(h, 0, sizeof *h);
	struct diag d = {0};
	h->s = session_load(o->session, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		term_printf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	if (!h->s)
		return ADOPT_EXIT_INVALID;
	for (size_t i = 0; i < h->s->n_steps; i++)
		if (h->s->steps[i].kind == STEP_LLM)
			h->scripted |= is_scripted(h->s->steps[i].model_cfg);
	h->scripted |= is_scripted(session_model(h->s, h->s->opt.role_model));
	struct err e = {{0}};
	struct llm_options lo = {.offline = true, .no_cache = true};
	if (!(h->llm = llm_new(&lo, &e))) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		return ADOPT_EXIT_FAILED;
	}
	struct engine_opts eo = {0};
	if (!(h->en = engine_new(h->s, h->llm, &eo, NULL, NULL, &e))) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		return ADOPT_EXIT_INVALID;
	}
	return 0;
}

void history_close(struct history *h)
{
	engine_free(h->en);
	llm_free(h->llm);
	session_free(h->s);
	memset(h, 0, sizeof *h);
}

const struct prompt_version *history_version(const struct engine *en, int step)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(en, &n), *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (pv[i].step == step && (!best || pv[i].version > best->version))
			best = &pv[i];
	return best;
}

void history_now_utc(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

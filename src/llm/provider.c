/* provider.c: the provider table (openai, anthropic, ollama, scripted, and the retrieval format
 * that only llm_retrieve uses), base URL resolution and the owners' free functions for requests
 * and results.  The formats live in provider_*.c and retriever.c. */
#include "llm/provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"

/* Answers come from a rules file inside the LLM layer: no request is ever built. */
static const struct provider_ops provider_scripted = {
    .name = "scripted",
    .key_required = false,
};

static const struct provider_ops *const providers[] = {
    &provider_openai,   &provider_anthropic, &provider_ollama,
    &provider_scripted, &provider_colbertv2,
};

const struct provider_ops *provider_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(providers); i++)
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	return NULL;
}

const char *provider_names(void)
{
	static char names[128];
	if (!names[0]) {
		for (size_t i = 0; i < ARRAY_SIZE(providers); i++) {
			size_t n = strlen(names);
			if (!providers[i]->retriever)
				snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "",
				         providers[i]->name);
		}
	}
	return names;
}

static bool reason_in(const char *reason, const char *const *list, size_t n)
{
	for (size_t i = 0; reason && i < n; i++)
		if (!strcmp(reason, list[i]))
			return true;
	return false;
}

bool provider_finish_cut(const char *reason)
{
	static const char *const cut[] = {"length", "max_tokens", "model_context_window_exceeded"};
	return reason_in(reason, cut, ARRAY_SIZE(cut));
}

bool provider_finish_tool(const char *reason)
{
	static const char *const tool[] = {"tool_calls", "tool_use", "function_call"};
	return reason_in(reason, tool, ARRAY_SIZE(tool));
}

const char *provider_base_url(const struct provider_ops *ops, const char *configured)
{
	if (configured && *configured)
		return configured;
	const char *env = ops->base_url_env ? getenv(ops->base_url_env) : NULL;
	if (env && *env)
		return env;
	return ops->default_base_url;
}

void http_request_free(struct http_request *h)
{
	if (!h)
		return;
	for (size_t i = 0; h->headers && h->headers[i]; i++) {
		/* headers may hold the key: leave nothing behind in freed memory */
		explicit_bzero(h->headers[i], strlen(h->headers[i]));
		free(h->headers[i]);
	}
	free(h->headers);
	free(h->url);
	free(h->body);
	*h = (struct http_request){0};
}

void llm_result_free(struct llm_result *r)
{
	if (!r)
		return;
	sbuf_free(&r->text);
	sbuf_free(&r->reasoning);
	free(r->finish_reason);
	free(r->error);
	free(r->error_type);
	*r = (struct llm_result){0};
}

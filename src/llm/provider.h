/* provider.h: a wire format as an ops table: build an HTTP request, parse a streamed or whole
 * response, parse an error body.  Pure functions over bytes: no sockets, no curl. */
#ifndef ADOPT_PROVIDER_H
#define ADOPT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "llm/llm.h"

struct http_request {
	char *url;
	char *
	    *headers; /* "Name: value" strings, NULL-terminated; may hold the API key: never log */
	char *body;   /* JSON */
};
void http_request_free(struct http_request *h);

/* What a response has told us so far. */
struct llm_result {
	struct sbuf text;      /* assistant text as received, byte for byte */
	struct sbuf reasoning; /* reasoning_content / thinking, kept apart */
	char *finish_reason;   /* NULL until seen */
	/* usage.in counts every input token, cached ones included (the OpenAI convention;
	 * for Anthropic: input_tokens + cache reads + cache writes) */
	struct llm_usage usage;
	bool usage_seen;
	bool complete;    /* the format's end marker was seen ([DONE], message_stop, done:true) */
	char *error;      /* a readable message when the server reported an error */
	char *error_type; /* "rate_limit_exceeded", "overloaded_error", ... */
	bool retryable;   /* the error may go away on retry */
	bool permanent;   /* the provider's error type says it never will (insufficient_quota,
	                   * invalid_api_key, ...): not retried whatever the status */
};
void llm_result_free(struct llm_result *r);

/* Longest text (and, separately, reasoning) kept from one response: past it the response is cut
 * with an error rather than grown forever. */
#define LLM_RESULT_MAX_TEXT ((size_t)8 << 20)
/* Longest single streamed event (SSE) or line (NDJSON). */
#define LLM_STREAM_MAX_EVENT ((size_t)16 << 20)

struct provider_ops {
	const char *name;             /* "openai" */
	const char *default_base_url; /* "https://api.openai.com/v1" */
	const char *base_url_env;     /* "OPENAI_BASE_URL", "OLLAMA_HOST", or NULL */
	const char *key_env;          /* "OPENAI_API_KEY", or NULL when no key is needed */
	bool key_required;
	/* a retrieval server's format (retriever.c): reached only through llm_retrieve, never
	 * named by a model configuration; its request has no body and goes out as a GET */
	bool retriever;
	size_t body_max; /* largest whole or error body kept; 0: 16 MiB */

	int (*build)(const struct llm_request *req, const char *base_url, const char *api_key,
	             bool stream, struct http_request *out, struct err *e);
	/* Streaming: bytes of the response body in whatever pieces the network gives. */
	void *(*stream_new)(void);
	/* Appends text to r (and calls chunk for each new piece of text). -1: unrecoverable
	 * stream error, r->error set. */
	int (*stream_feed)(void *st, const char *data, size_t n, struct llm_result *r,
	                   llm_chunk_fn *chunk, void *arg);
	/* End of body: flushes a final unterminated event; a missing end marker sets an error
	 * with retryable = true ("stream ended before completion"). */
	int (*stream_end)(void *st, struct llm_result *r);
	void (*stream_free)(void *st);
	/* Whole (non-streamed) body with HTTP 2xx. -1 and r->error on malformed input. */
	int (*parse)(const char *body, size_t n, struct llm_result *r);
	/* Error body for a non-2xx status: sets r->error and r->error_type. */
	void (*parse_error)(int status, const char *body, size_t n, struct llm_result *r);
};

/* NULL when unknown.  The scripted provider has an ops entry with build == NULL; the retrieval
 * format is found too (by llm_retrieve's requests), but listed nowhere. */
const struct provider_ops *provider_find(const char *name);
/* The base URL to use: `configured` when non-empty, else the provider's environment variable when
 * set (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, OLLAMA_HOST), else its default.  The openai base
 * includes /v1 (as OPENAI_BASE_URL does); the anthropic and ollama bases do not.  The pointer is
 * into `configured`, the environment or the table: copy it before changing the environment. */
const char *provider_base_url(const struct provider_ops *ops, const char *configured);
/* Names for messages: "openai, anthropic, ollama, scripted". */
const char *provider_names(void);
/* Finish reasons by meaning: the token limit cut the answer ("length", "max_tokens"), or the
 * model asked for a tool instead of answering ("tool_calls", "tool_use", "function_call"). */
bool provider_finish_cut(const char *reason);
bool provider_finish_tool(const char *reason);

#endif

/* provider_openai.c: the OpenAI Chat Completions wire format, which vLLM, llama.cpp's server,
 * Ollama's /v1, LM Studio and many gateways speak too.
 *
 * POST {base}/chat/completions, where the base includes /v1 exactly as OPENAI_BASE_URL does
 * ("http://localhost:8000/v1"); a base without /v1 is used as given.  Streams are server-sent
 * events of chat.completion.chunk objects ending with `data: [DONE]`; usage arrives on a last
 * chunk with empty choices (stream_options.include_usage) or, with some servers, on the chunk
 * that carries finish_reason.  Prompt tokens served from the provider's cache come as
 * usage.prompt_tokens_details.cached_tokens (llama.cpp's server: timings.cache_n), reasoning
 * tokens as usage.completion_tokens_details.reasoning_tokens (both parts of the totals).
 * Reasoning models (o-series, gpt-5: llm_is_reasoning) take max_completion_tokens and refuse a
 * temperature, which is left out.  Fields we do not know (system_fingerprint, x_groq, ...) are
 * ignored. */
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"

static int openai_build(const struct llm_request *req, const char *base, const char *key,
                        bool stream, struct http_request *out, struct err *e)
{
	*out = (struct http_request){0};
	if (wire_check_request("openai", req, e) < 0 || wire_check_key("openai", key, e) < 0)
		return -1;
	if (!base || !*base)
		base = provider_openai.default_base_url;
	if (wire_url(out, "openai", base, "/chat/completions", e) < 0)
		return -1;
	wire_bearer(out, key);
	wire_header(out, "Content-Type", "application/json");

	const struct model_config *m = req->model;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", m->model);
	cJSON_AddItemToObject(root, "messages", wire_messages(req, false));
	bool reasoning = llm_is_reasoning(m);
	if (!reasoning)
		cJSON_AddNumberToObject(root, "temperature", m->temperature);
	if (m->max_tokens > 0)
		cJSON_AddNumberToObject(root, reasoning ? "max_completion_tokens" : "max_tokens",
		                        m->max_tokens);
	cJSON_AddBoolToObject(root, "stream", stream);
	if (stream) {
		cJSON *so = cJSON_AddObjectToObject(root, "stream_options");
		cJSON_AddTrueToObject(so, "include_usage");
	}
	wire_body(out, root);
	return 0;
}

/* llama.cpp's timings.cache_n stands in for cached_tokens when that is absent. */
static void openai_usage(struct llm_result *r, const cJSON *u, const cJSON *timings)
{
	if (!cJSON_IsObject(u))
		return;
	r->usage_seen = true;
	wire_get_long(u, "prompt_tokens", &r->usage.in);
	wire_get_long(u, "completion_tokens", &r->usage.out);
	if (!wire_get_long(u, "prompt_tokens_details.cached_tokens", &r->usage.cached))
		wire_get_long(timings, "cache_n", &r->usage.cached);
	wire_get_long(u, "completion_tokens_details.reasoning_tokens", &r->usage.reasoning);
}

/* {"error": {"message", "type", "code"}}, {"error": "text"}, or vLLM's older top-level
 * {"object": "error", "message", "type", "code"}.  False when j is not an error. */
static bool openai_error_fields(const cJSON *j, const char **type, const char **message)
{
	const cJSON *err = wire_get(j, "error");
	const char *object = wire_get_str(j, "object");
	if (cJSON_IsString(err)) {
		*type = NULL;
		*message = err->valuestring;
		return true;
	}
	if (!cJSON_IsObject(err)) {
		if (!object || strcmp(object, "error") != 0)
			return false;
		err = j;
	}
	*type = wire_get_str(err, "code"); /* the specific one: "rate_limit_exceeded" */
	if (!*type || !**type)
		*type = wire_get_str(err, "type");
	*message = wire_get_str(err, "message");
	return true;
}

/* A refusal with no answer is an error the user should read. */
static int openai_refused(struct llm_result *r, const struct sbuf *refusal)
{
	if (refusal->len == 0 || r->text.len > 0)
		return 0;
	return wire_fail(r, "refusal", false, "model refused: %s", sbuf_str(refusal));
}

/* What one choice says: the fields of its delta (stream) or message (whole response). */
struct oa_choice {
	const char *reasoning_content, *reasoning, *content, *refusal, *finish_reason;
};

static int openai_choice(const struct oa_choice *c, struct llm_result *r, struct sbuf *refusal,
                         llm_chunk_fn *chunk, void *arg)
{
	const char *reasoning = c->reasoning_content;
	if (!reasoning)
		reasoning = c->reasoning; /* vLLM >= 0.10, OpenRouter */
	if (wire_add_reasoning(r, reasoning) < 0 || wire_add_text(r, c->content, chunk, arg) < 0)
		return -1;
	if (c->refusal)
		sbuf_adds(refusal, c->refusal);
	wire_set_finish(r, c->finish_reason);
	return 0;
}

/* One chunk (stream, part = "delta") or the whole response (part = "message"). */
static int openai_object(const cJSON *j, const char *part, struct llm_result *r,
                         struct sbuf *refusal, llm_chunk_fn *chunk, void *arg, const char *body,
                         size_t n)
{
	const char *type, *message;
	if (openai_error_fields(j, &type, &message)) {
		wire_error(r, 200, type, message, body, n);
		return -1;
	}
	openai_usage(r, wire_get(j, "usage"), wire_get(j, "timings"));
	const cJSON *choice = wire_get(j, "choices.0");
	if (!cJSON_IsObject(choice))
		return 0; /* the usage chunk has empty choices */
	const cJSON *d = wire_get(choice, part);
	struct oa_choice c = {wire_get_str(d, "reasoning_content"), wire_get_str(d, "reasoning"),
	                      wire_get_str(d, "content"), wire_get_str(d, "refusal"),
	                      wire_get_str(choice, "finish_reason")};
	return openai_choice(&c, r, refusal, chunk, arg);
}

/* The paths openai_object reads from a chunk, for wire_pick (with their prefixes). */
enum {
	OA_ERROR,
	OA_OBJECT,
	OA_USAGE,
	OA_USAGE_IN,
	OA_USAGE_OUT,
	OA_USAGE_DETAILS,
	OA_USAGE_CACHED,
	OA_USAGE_OUT_DETAILS,
	OA_USAGE_REASONING,
	OA_TIMINGS,
	OA_TIMINGS_CACHE_N,
	OA_CHOICES,
	OA_CHOICE,
	OA_FINISH,
	OA_DELTA,
	OA_REASONING_CONTENT,
	OA_REASONING,
	OA_CONTENT,
	OA_REFUSAL,
	OA_N
};
static const char *const oa_chunk_paths[OA_N] = {
    [OA_ERROR] = "error",
    [OA_OBJECT] = "object",
    [OA_USAGE] = "usage",
    [OA_USAGE_IN] = "usage.prompt_tokens",
    [OA_USAGE_OUT] = "usage.completion_tokens",
    [OA_USAGE_DETAILS] = "usage.prompt_tokens_details",
    [OA_USAGE_CACHED] = "usage.prompt_tokens_details.cached_tokens",
    [OA_USAGE_OUT_DETAILS] = "usage.completion_tokens_details",
    [OA_USAGE_REASONING] = "usage.completion_tokens_details.reasoning_tokens",
    [OA_TIMINGS] = "timings",
    [OA_TIMINGS_CACHE_N] = "timings.cache_n",
    [OA_CHOICES] = "choices",
    [OA_CHOICE] = "choices.0",
    [OA_FINISH] = "choices.0.finish_reason",
    [OA_DELTA] = "choices.0.delta",
    [OA_REASONING_CONTENT] = "choices.0.delta.reasoning_content",
    [OA_REASONING] = "choices.0.delta.reasoning",
    [OA_CONTENT] = "choices.0.delta.content",
    [OA_REFUSAL] = "choices.0.delta.refusal",
};

/* openai_object for a chunk without a cJSON tree: false when the chunk is not read this way
 * (outside wire_pick's subset, or an error object), then cJSON reads it. */
static bool openai_chunk_fast(struct wire_stream *st, const char *data, size_t len, int *rc)
{
	static struct wire_paths paths = {.path = oa_chunk_paths, .n = OA_N};
	struct wire_pick p[OA_N];
	if (wire_pick(data, len, &paths, p, &st->scratch) < 0 || p[OA_ERROR].type != WIRE_ABSENT)
		return false;
	const char *object = wire_pick_str(&p[OA_OBJECT], &st->scratch);
	if (object && !strcmp(object, "error"))
		return false;
	struct llm_result *r = st->r;
	if (p[OA_USAGE].type == WIRE_OBJECT) {
		const struct {
			int pick;
			long *field;
		} usage[] = {{OA_USAGE_IN, &r->usage.in},
		             {OA_USAGE_OUT, &r->usage.out},
		             {OA_USAGE_CACHED, &r->usage.cached},
		             {OA_USAGE_REASONING, &r->usage.reasoning}};
		r->usage_seen = true;
		for (size_t i = 0; i < ARRAY_SIZE(usage); i++)
			if (p[usage[i].pick].type == WIRE_NUMBER)
				*usage[i].field = p[usage[i].pick].num;
		if (p[OA_USAGE_CACHED].type != WIRE_NUMBER &&
		    p[OA_TIMINGS_CACHE_N].type == WIRE_NUMBER)
			r->usage.cached = p[OA_TIMINGS_CACHE_N].num;
	}
	*rc = 0;
	if (p[OA_CHOICE].type != WIRE_OBJECT)
		return true;
	struct oa_choice c = {wire_pick_str(&p[OA_REASONING_CONTENT], &st->scratch),
	                      wire_pick_str(&p[OA_REASONING], &st->scratch),
	                      wire_pick_str(&p[OA_CONTENT], &st->scratch),
	                      wire_pick_str(&p[OA_REFUSAL], &st->scratch),
	                      wire_pick_str(&p[OA_FINISH], &st->scratch)};
	*rc = openai_choice(&c, r, &st->refusal, st->chunk, st->arg);
	return true;
}

static int openai_event(struct wire_stream *st, const char *event, const char *data, size_t len)
{
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		st->r->complete = true;
		return openai_refused(st->r, &st->refusal);
	}
	int rc;
	if (openai_chunk_fast(st, data, len, &rc))
		return rc;
	cJSON *j = wire_json_parse(data, len);
	if (!j) {
		/* chunks come unnamed (or named "error"); a server's own named events with
		 * something else than JSON in them are none of our business */
		if (strcmp(event, "message") != 0 && strcmp(event, "error") != 0)
			return 0;
		return wire_malformed(st->r, "a streamed chunk", data, len);
	}
	rc = openai_object(j, "delta", st->r, &st->refusal, st->chunk, st->arg, data, len);
	cJSON_Delete(j);
	return rc;
}

static void *openai_stream_new(void)
{
	return wire_stream_new(false, openai_event);
}

static int openai_parse(const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	if (!j)
		return wire_malformed(r, "the response", body, n);
	struct sbuf refusal = {0};
	int rc = openai_object(j, "message", r, &refusal, NULL, NULL, body, n);
	if (rc == 0 && !cJSON_IsObject(wire_get(j, "choices.0")))
		rc = wire_fail(r, "malformed_response", true, "the response holds no choices");
	if (rc == 0) {
		r->complete = true;
		rc = openai_refused(r, &refusal);
	}
	sbuf_free(&refusal);
	cJSON_Delete(j);
	return rc;
}

static void openai_parse_error(int status, const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	const char *type = NULL, *message = NULL;
	if (j)
		openai_error_fields(j, &type, &message);
	wire_error(r, status, type, message, body, n);
	cJSON_Delete(j);
}

const struct provider_ops provider_openai = {
    .name = "openai",
    .default_base_url = "https://api.openai.com/v1",
    .base_url_env = "OPENAI_BASE_URL",
    .key_env = "OPENAI_API_KEY",
    .key_required = true,
    .build = openai_build,
    .stream_new = openai_stream_new,
    .stream_feed = wire_stream_feed,
    .stream_end = wire_stream_end,
    .stream_free = wire_stream_free,
    .parse = openai_parse,
    .parse_error = openai_parse_error,
};

/* provider_anthropic.c: the Anthropic Messages API wire format.
 *
 * POST {base}/v1/messages with x-api-key and anthropic-version headers; the base is
 * https://api.anthropic.com (as ANTHROPIC_BASE_URL; a base already ending in /v1 is accepted).
 * System messages become the top-level `system` string; max_tokens is required by the API, so
 * 4096 stands in when the configuration has none: the analysis roles' answers (a dependency
 * for every step, a gradient with its reasons, a rewritten prompt) run past 1024 tokens, and
 * 4096 is the most every Claude model accepts (Claude 3 Haiku's limit).  Streams are named
 * server-sent events: message_start, content_block_start/delta/stop, message_delta, message_stop,
 * ping and error. */
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"

enum { ANTHROPIC_DEFAULT_MAX_TOKENS = 4096 };

static int anthropic_system(const struct llm_request *req, struct sbuf *sys, struct err *e)
{
	size_t turns = 0;
	for (size_t i = 0; i < req->n_messages; i++) {
		const struct llm_message *m = &req->messages[i];
		if (strcmp(m->role, "system") == 0) {
			if (sys->len)
				sbuf_adds(sys, "\n\n");
			sbuf_adds(sys, m->content);
		} else if (strcmp(m->role, "user") != 0 && strcmp(m->role, "assistant") != 0) {
			return err_set(e,
			               "anthropic: message %zu has role \"%s\"; the Messages API "
			               "takes system, user and assistant",
			               i + 1, m->role);
		} else {
			turns++;
		}
	}
	if (turns > 0)
		return 0;
	return err_set(e, "anthropic: a request needs a user message besides the system prompt");
}

static int anthropic_build(const struct llm_request *req, const char *base, const char *key,
                           bool stream, struct http_request *out, struct err *e)
{
	*out = (struct http_request){0};
	if (wire_check_request("anthropic", req, e) < 0 || wire_check_key("anthropic", key, e) < 0)
		return -1;
	struct sbuf sys = {0};
	if (anthropic_system(req, &sys, e) < 0) {
		sbuf_free(&sys);
		return -1;
	}
	if (!base || !*base)
		base = provider_anthropic.default_base_url;
	const char *path =
	    str_endswith(base, "/v1") || str_endswith(base, "/v1/") ? "/messages" : "/v1/messages";
	if (wire_url(out, "anthropic", base, path, e) < 0) {
		sbuf_free(&sys);
		return -1;
	}
	if (key && *key)
		wire_header(out, "x-api-key", key);
	wire_header(out, "anthropic-version", "2023-06-01");
	wire_header(out, "content-type", "application/json");

	const struct model_config *m = req->model;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", m->model);
	cJSON_AddNumberToObject(root, "max_tokens",
	                        m->max_tokens > 0 ? m->max_tokens : ANTHROPIC_DEFAULT_MAX_TOKENS);
	cJSON_AddItemToObject(root, "messages", wire_messages(req, true));
	if (sys.len)
		cJSON_AddStringToObject(root, "system", sbuf_str(&sys));
	cJSON_AddNumberToObject(root, "temperature", m->temperature);
	cJSON_AddBoolToObject(root, "stream", stream);
	wire_body(out, root);
	sbuf_free(&sys);
	return 0;
}

/* Anthropic counts cache reads and writes apart from input_tokens (the three are disjoint);
 * ours includes them, as usage.cached and usage.cache_write.  message_delta repeats what it
 * knows (cumulatively): a count it leaves out keeps its earlier value. */
static void anthropic_usage(struct llm_result *r, const cJSON *u)
{
	if (!cJSON_IsObject(u))
		return;
	long in;
	r->usage_seen = true;
	wire_get_long(u, "cache_read_input_tokens", &r->usage.cached);
	wire_get_long(u, "cache_creation_input_tokens", &r->usage.cache_write);
	if (wire_get_long(u, "input_tokens", &in))
		r->usage.in = in + r->usage.cached + r->usage.cache_write;
	wire_get_long(u, "output_tokens", &r->usage.out);
}

/* {"type": "error", "error": {"type", "message"}}: false when j is not one. */
static bool anthropic_error_fields(const cJSON *j, const char **type, const char **message)
{
	const cJSON *err = wire_get(j, "error");
	if (!cJSON_IsObject(err))
		return false;
	*type = wire_get_str(err, "type");
	*message = wire_get_str(err, "message");
	return true;
}

static int anthropic_refused(struct llm_result *r)
{
	if (!r->finish_reason || strcmp(r->finish_reason, "refusal") != 0 || r->text.len > 0)
		return 0;
	return wire_fail(r, "refusal", false, "model refused: stop_reason \"refusal\"");
}

/* A content block's text or thinking: from content_block_start's block, a delta, or a whole
 * response's content[] entry. */
static int anthropic_block(struct wire_stream *st, const cJSON *b)
{
	const char *type = wire_get_str(b, "type");
	if (!type)
		return 0;
	if (strcmp(type, "text") == 0 || strcmp(type, "text_delta") == 0)
		return wire_add_text(st->r, wire_get_str(b, "text"), st->chunk, st->arg);
	if (strcmp(type, "thinking") == 0 || strcmp(type, "thinking_delta") == 0)
		return wire_add_reasoning(st->r, wire_get_str(b, "thinking"));
	return 0; /* input_json_delta, signature_delta, citations_delta, tool_use, ... */
}

static int on_message_start(struct wire_stream *st, const cJSON *j)
{
	anthropic_usage(st->r, wire_get(j, "message.usage"));
	return 0;
}

static int on_block_start(struct wire_stream *st, const cJSON *j)
{
	return anthropic_block(st, wire_get(j, "content_block"));
}

static int on_block_delta(struct wire_stream *st, const cJSON *j)
{
	return anthropic_block(st, wire_get(j, "delta"));
}

static int on_message_delta(struct wire_stream *st, const cJSON *j)
{
	wire_set_finish(st->r, wire_get_str(j, "delta.stop_reason"));
	anthropic_usage(st->r, wire_get(j, "usage"));
	return 0;
}

static int on_message_stop(struct wire_stream *st, const cJSON *j)
{
	(void)j;
	st->r->complete = true;
	return anthropic_refused(st->r);
}

static int on_error(struct wire_stream *st, const cJSON *j)
{
	const char *type = NULL, *message = NULL;
	anthropic_error_fields(j, &type, &message);
	wire_error(st->r, 200, type ? type : "error",
	           message ? message : "error event without a message", NULL, 0);
	return -1;
}

static const struct {
	const char *type;
	int (*fn)(struct wire_stream *st, const cJSON *j);
} anthropic_events[] = {
    {"message_start", on_message_start},     {"content_block_start", on_block_start},
    {"content_block_delta", on_block_delta}, {"message_delta", on_message_delta},
    {"message_stop", on_message_stop},       {"error", on_error},
    /* ping, content_block_stop and event kinds added later: nothing to do */
};

static int anthropic_event(struct wire_stream *st, const char *event, const char *data, size_t len)
{
	cJSON *j = wire_json_parse(data, len);
	if (!j)
		return wire_malformed(st->r, "a streamed event", data, len);
	const char *type = wire_get_str(j, "type");
	if (!type)
		type = event; /* the event name and the type field agree */
	int rc = 0;
	for (size_t i = 0; i < ARRAY_SIZE(anthropic_events); i++)
		if (strcmp(type, anthropic_events[i].type) == 0)
			rc = anthropic_events[i].fn(st, j);
	cJSON_Delete(j);
	return rc;
}

static void *anthropic_stream_new(void)
{
	return wire_stream_new(false, anthropic_event);
}

static int anthropic_parse(const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	if (!j)
		return wire_malformed(r, "the response", body, n);
	int rc = 0;
	struct wire_stream st = {.r = r};
	const cJSON *content = wire_get(j, "content");
	const char *type = NULL, *message = NULL;
	if (anthropic_error_fields(j, &type, &message)) {
		wire_error(r, 200, type, message, body, n);
		rc = -1;
	} else if (!cJSON_IsArray(content)) {
		rc = wire_fail(r, "malformed_response", true, "the response holds no content");
	} else {
		const cJSON *b;
		cJSON_ArrayForEach(b, content)
		{
			if (anthropic_block(&st, b) < 0) {
				rc = -1;
				break;
			}
		}
	}
	if (rc == 0) {
		wire_set_finish(r, wire_get_str(j, "stop_reason"));
		anthropic_usage(r, wire_get(j, "usage"));
		r->complete = true;
		rc = anthropic_refused(r);
	}
	cJSON_Delete(j);
	return rc;
}

static void anthropic_parse_error(int status, const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	const char *type = NULL, *message = NULL;
	if (j)
		anthropic_error_fields(j, &type, &message);
	wire_error(r, status, type, message, body, n);
	cJSON_Delete(j);
}

const struct provider_ops provider_anthropic = {
    .name = "anthropic",
    .default_base_url = "https://api.anthropic.com",
    .base_url_env = "ANTHROPIC_BASE_URL",
    .key_env = "ANTHROPIC_API_KEY",
    .key_required = true,
    .build = anthropic_build,
    .stream_new = anthropic_stream_new,
    .stream_feed = wire_stream_feed,
    .stream_end = wire_stream_end,
    .stream_free = wire_stream_free,
    .parse = anthropic_parse,
    .parse_error = anthropic_parse_error,
};

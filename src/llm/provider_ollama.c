/* provider_ollama.c: Ollama's native chat API.
 *
 * POST {base}/api/chat; the base is http://localhost:11434 or OLLAMA_HOST, which Ollama lets
 * users write without a scheme or port ("127.0.0.1:11434", "0.0.0.0", "[::1]:8080"): those get
 * http:// and port 11434 as the ollama command would give them.  Sampling goes in `options`
 * (num_predict is the token cap).  Streams are newline-delimited JSON objects ending with
 * "done": true; an {"error": "..."} object can arrive mid-stream after the 200. */
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"

/* OLLAMA_HOST as the ollama command reads it; caller frees. */
static char *ollama_base(const char *base)
{
	char *s = xstrdup(base);
	str_trim(s);
	if (strstr(s, "://"))
		return s;
	size_t hp = strcspn(s, "/");
	const char *path = s + hp;
	bool port;
	bool bare_ipv6 = false;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', hp);
		port = close && close[1] == ':';
	} else {
		size_t colons = 0;
		for (size_t i = 0; i < hp; i++)
			colons += s[i] == ':';
		port = colons == 1;
		bare_ipv6 = colons > 1;
	}
	char *out =
	    xasprintf("http://%s%.*s%s%s%s", bare_ipv6 ? "[" : "", (int)hp, hp ? s : "127.0.0.1",
	              bare_ipv6 ? "]" : "", port ? "" : ":11434", path);
	free(s);
	return out;
}

static int ollama_build(const struct llm_request *req, const char *base, const char *key,
                        bool stream, struct http_request *out, struct err *e)
{
	*out = (struct http_request){0};
	if (wire_check_request("ollama", req, e) < 0 || wire_check_key("ollama", key, e) < 0)
		return -1;
	char *b = ollama_base(base && *base ? base : provider_ollama.default_base_url);
	int rc = wire_url(out, "ollama", b, "/api/chat", e);
	free(b);
	if (rc < 0)
		return -1;
	wire_bearer(out, key); /* Ollama's own service and authenticating proxies */
	wire_header(out, "Content-Type", "application/json");

	const struct model_config *m = req->model;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", m->model);
	cJSON_AddItemToObject(root, "messages", wire_messages(req, false));
	cJSON_AddBoolToObject(root, "stream", stream);
	cJSON *opt = cJSON_AddObjectToObject(root, "options");
	cJSON_AddNumberToObject(opt, "temperature", m->temperature);
	if (m->max_tokens > 0)
		cJSON_AddNumberToObject(opt, "num_predict", m->max_tokens);
	wire_body(out, root);
	return 0;
}

/* One streamed line or the whole response (`what` names it in messages).  Both must hold a
 * message object, the last line of a stream included. */
static int ollama_object(struct wire_stream *st, const cJSON *j, const char *what, const char *data,
                         size_t len)
{
	struct llm_result *r = st->r;
	const cJSON *err = wire_get(j, "error");
	if (err) {
		wire_error(r, 200, NULL, cJSON_IsString(err) ? err->valuestring : NULL, data, len);
		return -1;
	}
	if (!cJSON_IsObject(wire_get(j, "message"))) {
		struct sbuf b = {0};
		wire_snippet(&b, data, len, 120);
		wire_fail(r, "malformed_response", true, "%s holds no message: %s", what,
		          sbuf_str(&b));
		sbuf_free(&b);
		return -1;
	}
	if (wire_add_reasoning(r, wire_get_str(j, "message.thinking")) < 0 ||
	    wire_add_text(r, wire_get_str(j, "message.content"), st->chunk, st->arg) < 0)
		return -1;
	if (wire_get_long(j, "prompt_eval_count", &r->usage.in))
		r->usage_seen = true;
	if (wire_get_long(j, "eval_count", &r->usage.out))
		r->usage_seen = true;
	/* Ollama ends a tool call with done_reason "stop": the calls say what it was */
	const cJSON *calls = wire_get(j, "message.tool_calls");
	if (cJSON_IsArray(calls) && cJSON_GetArraySize(calls) > 0)
		wire_set_finish(r, "tool_calls");
	if (cJSON_IsTrue(wire_get(j, "done"))) {
		if (!provider_finish_tool(r->finish_reason))
			wire_set_finish(r, wire_get_str(j, "done_reason"));
		r->complete = true;
	}
	return 0;
}

static int ollama_line(struct wire_stream *st, const char *event, const char *data, size_t len)
{
	(void)event;
	cJSON *j = wire_json_parse(data, len);
	if (!j)
		return wire_malformed(st->r, "a streamed line", data, len);
	int rc = ollama_object(st, j, "a streamed line", data, len);
	cJSON_Delete(j);
	return rc;
}

static void *ollama_stream_new(void)
{
	return wire_stream_new(true, ollama_line);
}

static int ollama_parse(const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	if (!j)
		return wire_malformed(r, "the response", body, n);
	struct wire_stream st = {.r = r};
	int rc = ollama_object(&st, j, "the response", body, n);
	r->complete = rc == 0;
	cJSON_Delete(j);
	return rc;
}

static void ollama_parse_error(int status, const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	wire_error(r, status, NULL, wire_get_str(j, "error"), body, n);
	cJSON_Delete(j);
}

const struct provider_ops provider_ollama = {
    .name = "ollama",
    .default_base_url = "http://localhost:11434",
    .base_url_env = "OLLAMA_HOST",
    .key_env = NULL,
    .key_required = false,
    .build = ollama_build,
    .stream_new = ollama_stream_new,
    .stream_feed = wire_stream_feed,
    .stream_end = wire_stream_end,
    .stream_free = wire_stream_free,
    .parse = ollama_parse,
    .parse_error = ollama_parse_error,
};

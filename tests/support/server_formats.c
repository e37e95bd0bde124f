/* server_formats.c: the three wire formats the test LLM server speaks, as the real APIs do:
 * OpenAI Chat Completions, Anthropic Messages and Ollama /api/chat.  Parses a request into
 * messages, renders the answer (whole body or stream events) and vendor error bodies.
 * Usage shapes on demand (chat_reply_shape): prompt tokens read from / written to the prompt
 * cache, reasoning text and its token count, refusals, an error event after the usage, and
 * llama.cpp's way of reporting cached tokens.  Pure: no sockets, no locks. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

const char *const endpoint_names[EP_COUNT] = {"openai", "anthropic", "ollama", "search", "other"};

/* ---- requests ---- */

/* A message's content: a string, or an array of blocks whose text parts are joined. */
static char *content_text(const cJSON *c)
{
	if (!c || cJSON_IsNull(c))
		return xstrdup("");
	if (cJSON_IsString(c))
		return xstrdup(c->valuestring);
	if (!cJSON_IsArray(c))
		return NULL;
	struct sbuf b = {0};
	const cJSON *blk;
	cJSON_ArrayForEach(blk, c)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(blk, "text");
		if (cJSON_IsString(blk))
			sbuf_adds(&b, blk->valuestring);
		else if (cJSON_IsString(t))
			sbuf_adds(&b, t->valuestring);
	}
	return sbuf_take(&b);
}

static void req_add(struct chat_req *r, size_t *cap, const char *role, char *content)
{
	r->msgs = xgrow(r->msgs, cap, r->n_msgs + 1, sizeof *r->msgs);
	r->msgs[r->n_msgs++] = (struct llm_message){xstrdup(role), content};
}

static int req_messages(struct chat_req *r, const cJSON *root, size_t *cap, char **msg)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!cJSON_IsArray(list)) {
		*msg = xstrdup("messages: Field required (an array)");
		return -1;
	}
	const cJSON *m;
	int i = 0;
	cJSON_ArrayForEach(m, list)
	{
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		char *text = content_text(cJSON_GetObjectItemCaseSensitive(m, "content"));
		if (!cJSON_IsString(role) || !text) {
			free(text);
			*msg = xasprintf("messages.%d: needs a string \"role\" and a string or "
			                 "array \"content\"",
			                 i);
			return -1;
		}
		req_add(r, cap, role->valuestring, text);
		i++;
	}
	return 0;
}

static long json_long(const cJSON *o, const char *name, long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : dflt;
}

int chat_req_parse(enum endpoint ep, const char *body, struct chat_req *r, char **msg)
{
	*r = (struct chat_req){.ep = ep, .max_tokens = -1};
	*msg = NULL;
	size_t cap = 0;
	cJSON *root = cJSON_Parse(body);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*msg = xstrdup("We could not parse the JSON body of your request.");
		return -1;
	}
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
	int rc = -1;
	if (!cJSON_IsString(model)) {
		*msg = xstrdup(ep == EP_OLLAMA ? "model is required"
		                               : "you must provide a model parameter");
		goto out;
	}
	r->model = xstrdup(model->valuestring);
	/* Ollama streams unless told not to; the others only when asked. */
	r->stream = ep == EP_OLLAMA ? !cJSON_IsFalse(stream) : cJSON_IsTrue(stream);
	if (ep == EP_ANTHROPIC) {
		const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
		r->max_tokens = json_long(root, "max_tokens", -2);
		if (r->max_tokens == -2) {
			*msg = xstrdup("max_tokens: Field required");
			goto out;
		}
		if (sys) {
			char *text = content_text(sys);
			if (!text) {
				*msg =
				    xstrdup("system: Input should be a string or a list of blocks");
				goto out;
			}
			req_add(r, &cap, "system", text);
		}
	} else if (ep == EP_OPENAI) {
		const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
		r->include_usage =
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
		r->max_tokens =
		    json_long(root, "max_completion_tokens", json_long(root, "max_tokens", -1));
	} else {
		r->max_tokens =
		    json_long(cJSON_GetObjectItemCaseSensitive(root, "options"), "num_predict", -1);
	}
	rc = req_messages(r, root, &cap, msg);
out:
	cJSON_Delete(root);
	if (rc < 0)
		chat_req_free(r);
	return rc;
}

void chat_req_free(struct chat_req *r)
{
	for (size_t i = 0; i < r->n_msgs; i++) {
		free((char *)r->msgs[i].role);
		free((char *)r->msgs[i].content);
	}
	free(r->msgs);
	free(r->model);
	*r = (struct chat_req){0};
}

long tokens_estimate(size_t bytes)
{
	return (long)((bytes + 3) / 4);
}

void chat_reply_init(struct chat_reply *rep, const struct chat_req *req, char *text, long seq)
{
	*rep = (struct chat_reply){.text = text, .seq = seq, .created = (long)time(NULL)};
	for (size_t i = 0; i < req->n_msgs; i++)
		rep->tokens_in += tokens_estimate(strlen(req->msgs[i].content));
	size_t len = strlen(text);
	if (req->max_tokens >= 0 && len > (size_t)req->max_tokens * 4) {
		len = (size_t)req->max_tokens * 4;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--; /* never split a UTF-8 sequence */
		text[len] = '\0';
		rep->cut = true;
	}
	rep->tokens_out = tokens_estimate(len);
}

void chat_reply_shape(struct chat_reply *rep, const struct fault_plan *p)
{
	rep->cached = MIN(p->cached_tokens, rep->tokens_in);
	rep->cache_write = MIN(p->cache_write_tokens, rep->tokens_in - rep->cached);
	if (p->reasoning_tokens > 0) {
		struct sbuf b = {0};
		for (long i = 0; i < p->reasoning_tokens; i++)
			sbuf_adds(&b, "hmm "); /* 4 bytes: one token each */
		rep->reasoning = sbuf_take(&b);
		rep->reasoning_tokens = p->reasoning_tokens;
		rep->tokens_out += p->reasoning_tokens;
	}
	rep->refusal = p->refusal;
	rep->error_after_usage = p->error_after_usage;
	rep->llamacpp = p->llamacpp_usage;
}

void chat_reply_free(struct chat_reply *rep)
{
	free(rep->text);
	free(rep->reasoning);
	*rep = (struct chat_reply){0};
}

/* ---- pieces ---- */

void pieces_add(struct pieces *p, char *s)
{
	p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof *p->v);
	p->v[p->n++] = s;
}

void pieces_free(struct pieces *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (struct pieces){0};
}

/* Length of the next streamed piece of text: a word with the spaces after it. */
static size_t text_piece(const char *s)
{
	size_t i = 0;
	while (s[i] == ' ' || s[i] == '\n')
		i++;
	while (s[i] && s[i] != ' ' && s[i] != '\n')
		i++;
	while (s[i] == ' ' || s[i] == '\n')
		i++;
	return i;
}

char *json_take(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		abort();
	char *copy = xstrdup(s); /* ours to free() whatever cJSON's allocator is */
	cJSON_free(s);
	return copy;
}

/* "event: <event>\ndata: <json>\n\n" (no event line when event is NULL). */
static char *sse(const char *event, cJSON *o)
{
	char *j = json_take(o);
	char *s =
	    event ? xasprintf("event: %s\ndata: %s\n\n", event, j) : xasprintf("data: %s\n\n", j);
	free(j);
	return s;
}

static char *ndjson(cJSON *o)
{
	char *j = json_take(o);
	char *s = xasprintf("%s\n", j);
	free(j);
	return s;
}

static char *text_dup_piece(const char **t)
{
	size_t n = text_piece(*t);
	char *s = xstrndup(*t, n);
	*t += n;
	return s;
}

/* ---- OpenAI ---- */

static cJSON *oa_usage(const struct chat_reply *r)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->tokens_in);
	cJSON_AddNumberToObject(u, "completion_tokens", (double)r->tokens_out);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(r->tokens_in + r->tokens_out));
	if (r->llamacpp) /* llama.cpp: no details; its timings say what the cache held */
		return u;
	cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
	cJSON_AddNumberToObject(d, "cached_tokens", (double)r->cached);
	cJSON_AddNumberToObject(d, "audio_tokens", 0);
	d = cJSON_AddObjectToObject(u, "completion_tokens_details");
	cJSON_AddNumberToObject(d, "reasoning_tokens", (double)r->reasoning_tokens);
	cJSON_AddNumberToObject(d, "audio_tokens", 0);
	cJSON_AddNumberToObject(d, "accepted_prediction_tokens", 0);
	cJSON_AddNumberToObject(d, "rejected_prediction_tokens", 0);
	return u;
}

/* Adds usage (and for llama.cpp, its timings) to a chunk or a whole response. */
static void oa_add_usage(cJSON *o, const struct chat_reply *r)
{
	cJSON_AddItemToObject(o, "usage", oa_usage(r));
	if (!r->llamacpp)
		return;
	cJSON *t = cJSON_AddObjectToObject(o, "timings");
	cJSON_AddNumberToObject(t, "cache_n", (double)r->cached);
	cJSON_AddNumberToObject(t, "prompt_n", (double)(r->tokens_in - r->cached));
	cJSON_AddNumberToObject(t, "prompt_ms", 12.5);
	cJSON_AddNumberToObject(t, "predicted_n", (double)r->tokens_out);
	cJSON_AddNumberToObject(t, "predicted_ms", 40.25);
}

static cJSON *oa_envelope(const struct chat_req *q, const struct chat_reply *r, bool chunk)
{
	cJSON *o = cJSON_CreateObject();
	char id[48];
	snprintf(id, sizeof id, "chatcmpl-test%08lx", r->seq);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "object", chunk ? "chat.completion.chunk" : "chat.completion");
	cJSON_AddNumberToObject(o, "created", (double)r->created);
	cJSON_AddStringToObject(o, "model", q->model);
	cJSON_AddStringToObject(o, "system_fingerprint", "fp_adopt_test");
	cJSON_AddStringToObject(o, "service_tier", "default");
	return o;
}

static const char *oa_finish(const struct chat_reply *r)
{
	return r->tool ? "tool_calls" : r->cut ? "length" : "stop";
}

/* The tool call of the tool_call fault: [{index, id, type, function {name, arguments}}]. */
static cJSON *oa_tool_calls(void)
{
	return cJSON_Parse(
	    "[{\"index\":0,\"id\":\"call_test1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}}]");
}

static cJSON *oa_choice(cJSON *o, const char *key, cJSON *msg, const char *finish)
{
	cJSON *choices = cJSON_AddArrayToObject(o, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, key, msg);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	cJSON_AddItemToArray(choices, c);
	return o;
}

static char *oa_chunk(const struct chat_req *q, const struct chat_reply *r, cJSON *delta,
                      const char *finish)
{
	cJSON *o = oa_choice(oa_envelope(q, r, true), "delta", delta, finish);
	if (q->include_usage)
		cJSON_AddNullToObject(o, "usage");
	return sse(NULL, o);
}

/* One delta chunk per piece of text, under key (content, refusal, reasoning_content). */
static void oa_deltas(const struct chat_req *q, const struct chat_reply *r, const char *key,
                      const char *text, struct pieces *out)
{
	for (const char *t = text ? text : ""; *t;) {
		char *piece = text_dup_piece(&t);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, key, piece);
		free(piece);
		pieces_add(out, oa_chunk(q, r, d, NULL));
	}
}

static void oa_answer(const struct chat_req *q, const struct chat_reply *r, struct pieces *out)
{
	if (!q->stream) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "assistant");
		if (r->tool) {
			cJSON_AddNullToObject(m, "content");
			cJSON_AddItemToObject(m, "tool_calls", oa_tool_calls());
			cJSON_AddNullToObject(m, "refusal");
		} else if (r->refusal) {
			cJSON_AddNullToObject(m, "content");
			cJSON_AddStringToObject(m, "refusal", r->text);
		} else {
			cJSON_AddStringToObject(m, "content", r->text);
			cJSON_AddNullToObject(m, "refusal");
		}
		if (r->reasoning)
			cJSON_AddStringToObject(m, "reasoning_content", r->reasoning);
		cJSON *o = oa_choice(oa_envelope(q, r, false), "message", m, oa_finish(r));
		oa_add_usage(o, r);
		pieces_add(out, json_take(o));
		return;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	cJSON_AddNullToObject(d, "refusal");
	pieces_add(out, oa_chunk(q, r, d, NULL));
	oa_deltas(q, r, "reasoning_content", r->reasoning, out);
	oa_deltas(q, r, r->refusal ? "refusal" : "content", r->text, out);
	if (r->tool) {
		d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "tool_calls", oa_tool_calls());
		pieces_add(out, oa_chunk(q, r, d, NULL));
	}
	if (r->llamacpp) { /* usage and timings ride on the finishing chunk */
		cJSON *o =
		    oa_choice(oa_envelope(q, r, true), "delta", cJSON_CreateObject(), oa_finish(r));
		oa_add_usage(o, r);
		pieces_add(out, sse(NULL, o));
	} else {
		pieces_add(out, oa_chunk(q, r, cJSON_CreateObject(), oa_finish(r)));
	}
	if (q->include_usage && !r->llamacpp) {
		cJSON *o = oa_envelope(q, r, true);
		cJSON_AddArrayToObject(o, "choices");
		oa_add_usage(o, r);
		pieces_add(out, sse(NULL, o));
	}
	if (r->error_after_usage) {
		pieces_add(out, xstrdup("data: {\"error\":{\"message\":\"The server had an "
		                        "error while processing your request.\",\"type\":"
		                        "\"server_error\",\"param\":null,\"code\":null}}\n\n"));
		return;
	}
	pieces_add(out, xstrdup("data: [DONE]\n\n"));
	out->n_end = 1;
}

/* ---- Anthropic ---- */

static const char *an_stop(const struct chat_reply *r)
{
	return r->tool ? "tool_use" : r->refusal ? "refusal" : r->cut ? "max_tokens" : "end_turn";
}

/* The tool_call fault's content block (input {} when streamed: it follows as a delta). */
static cJSON *an_tool_block(bool stream)
{
	return cJSON_Parse(stream ? "{\"type\":\"tool_use\",\"id\":\"toolu_test1\","
	                            "\"name\":\"lookup\",\"input\":{}}"
	                          : "{\"type\":\"tool_use\",\"id\":\"toolu_test1\","
	                            "\"name\":\"lookup\",\"input\":{\"q\":\"x\"}}");
}

/* input_tokens, cache writes and cache reads are disjoint; r NULL: output only. */
static cJSON *an_usage(const struct chat_reply *r, long out)
{
	cJSON *u = cJSON_CreateObject();
	if (r) {
		cJSON_AddNumberToObject(u, "input_tokens",
		                        (double)(r->tokens_in - r->cached - r->cache_write));
		cJSON_AddNumberToObject(u, "cache_creation_input_tokens", (double)r->cache_write);
		cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)r->cached);
	}
	cJSON_AddNumberToObject(u, "output_tokens", (double)out);
	return u;
}

static cJSON *an_thinking_block(const char *thinking)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "thinking");
	cJSON_AddStringToObject(b, "thinking", thinking);
	cJSON_AddStringToObject(b, "signature", "c2lnbmF0dXJl");
	return b;
}

static cJSON *an_text_block(const char *text)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "text");
	cJSON_AddStringToObject(b, "text", text);
	return b;
}

static cJSON *an_event(const char *type)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	return o;
}

/* The message object: the whole answer, or message_start's skeleton when stream. */
static cJSON *an_message(const struct chat_req *q, const struct chat_reply *r, bool stream)
{
	cJSON *o = an_event("message");
	char id[48];
	snprintf(id, sizeof id, "msg_test%08lx", r->seq);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "role", "assistant");
	cJSON_AddStringToObject(o, "model", q->model);
	cJSON *content = cJSON_AddArrayToObject(o, "content");
	if (!stream) {
		if (r->reasoning)
			cJSON_AddItemToArray(content, an_thinking_block(r->reasoning));
		if (r->tool)
			cJSON_AddItemToArray(content, an_tool_block(false));
		else if (!r->refusal)
			cJSON_AddItemToArray(content, an_text_block(r->text));
		cJSON_AddStringToObject(o, "stop_reason", an_stop(r));
	} else {
		cJSON_AddNullToObject(o, "stop_reason");
	}
	cJSON_AddNullToObject(o, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", an_usage(r, stream ? 1 : r->tokens_out));
	return o;
}

/* A streamed content block: start, one delta per piece of text, stop. */
static void an_block(struct pieces *out, int index, bool thinking, const char *text)
{
	cJSON *o = an_event("content_block_start");
	cJSON_AddNumberToObject(o, "index", index);
	cJSON_AddItemToObject(o, "content_block",
	                      thinking ? an_thinking_block("") : an_text_block(""));
	pieces_add(out, sse("content_block_start", o));
	if (index == 0)
		pieces_add(out, sse("ping", an_event("ping")));
	for (const char *t = text; *t;) {
		char *piece = text_dup_piece(&t);
		o = an_event("content_block_delta");
		cJSON_AddNumberToObject(o, "index", index);
		cJSON *d = cJSON_AddObjectToObject(o, "delta");
		cJSON_AddStringToObject(d, "type", thinking ? "thinking_delta" : "text_delta");
		cJSON_AddStringToObject(d, thinking ? "thinking" : "text", piece);
		free(piece);
		pieces_add(out, sse("content_block_delta", o));
	}
	o = an_event("content_block_stop");
	cJSON_AddNumberToObject(o, "index", index);
	pieces_add(out, sse("content_block_stop", o));
}

/* The tool_call fault's block, streamed: its input follows as an input_json_delta. */
static void an_tool_stream(struct pieces *out, int index)
{
	cJSON *o = an_event("content_block_start");
	cJSON_AddNumberToObject(o, "index", index);
	cJSON_AddItemToObject(o, "content_block", an_tool_block(true));
	pieces_add(out, sse("content_block_start", o));
	if (index == 0)
		pieces_add(out, sse("ping", an_event("ping")));
	o = an_event("content_block_delta");
	cJSON_AddNumberToObject(o, "index", index);
	cJSON *d = cJSON_AddObjectToObject(o, "delta");
	cJSON_AddStringToObject(d, "type", "input_json_delta");
	cJSON_AddStringToObject(d, "partial_json", "{\"q\":\"x\"}");
	pieces_add(out, sse("content_block_delta", o));
	o = an_event("content_block_stop");
	cJSON_AddNumberToObject(o, "index", index);
	pieces_add(out, sse("content_block_stop", o));
}

static void an_answer(const struct chat_req *q, const struct chat_reply *r, struct pieces *out)
{
	if (!q->stream) {
		pieces_add(out, json_take(an_message(q, r, false)));
		return;
	}
	cJSON *o = an_event("message_start");
	cJSON_AddItemToObject(o, "message", an_message(q, r, true));
	pieces_add(out, sse("message_start", o));
	int index = 0;
	if (r->reasoning)
		an_block(out, index++, true, r->reasoning);
	if (r->tool)
		an_tool_stream(out, index++);
	else if (!r->refusal)
		an_block(out, index++, false, r->text);
	o = an_event("message_delta");
	cJSON *d = cJSON_AddObjectToObject(o, "delta");
	cJSON_AddStringToObject(d, "stop_reason", an_stop(r));
	cJSON_AddNullToObject(d, "stop_sequence");
	cJSON_AddItemToObject(o, "usage", an_usage(NULL, r->tokens_out));
	pieces_add(out, sse("message_delta", o));
	if (r->error_after_usage) {
		o = an_event("error");
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "type", "overloaded_error");
		cJSON_AddStringToObject(e, "message", "Overloaded");
		pieces_add(out, sse("error", o));
		return;
	}
	pieces_add(out, sse("message_stop", an_event("message_stop")));
	out->n_end = 1;
}

/* ---- Ollama ---- */

static cJSON *ol_line(const struct chat_req *q, const char *content, bool done,
                      const char *thinking)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[64], stamp[112];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof stamp, "%s.%06dZ", when, (int)(ts.tv_nsec / 1000) % 1000000);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", q->model);
	cJSON_AddStringToObject(o, "created_at", stamp);
	cJSON *m = cJSON_AddObjectToObject(o, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", content);
	if (thinking)
		cJSON_AddStringToObject(m, "thinking", thinking);
	cJSON_AddBoolToObject(o, "done", done);
	return o;
}

static char *ol_final(const struct chat_req *q, const struct chat_reply *r, const char *content)
{
	cJSON *o = ol_line(q, content, true, q->stream ? NULL : r->reasoning);
	if (r->tool)
		cJSON_AddItemToObject(cJSON_GetObjectItem(o, "message"), "tool_calls",
		                      cJSON_Parse("[{\"function\":{\"name\":\"lookup\","
		                                  "\"arguments\":{\"q\":\"x\"}}}]"));
	cJSON_AddStringToObject(o, "done_reason", r->cut ? "length" : "stop");
	cJSON_AddNumberToObject(o, "total_duration", 5043500667.0);
	cJSON_AddNumberToObject(o, "load_duration", 5025959.0);
	cJSON_AddNumberToObject(o, "prompt_eval_count", (double)r->tokens_in);
	cJSON_AddNumberToObject(o, "prompt_eval_duration", 325953000.0);
	cJSON_AddNumberToObject(o, "eval_count", (double)r->tokens_out);
	cJSON_AddNumberToObject(o, "eval_duration", 4709213000.0);
	return q->stream ? ndjson(o) : json_take(o);
}

static void ol_answer(const struct chat_req *q, const struct chat_reply *r, struct pieces *out)
{
	if (!q->stream) {
		pieces_add(out, ol_final(q, r, r->text));
		return;
	}
	for (const char *t = r->reasoning ? r->reasoning : ""; *t;) {
		char *piece = text_dup_piece(&t);
		pieces_add(out, ndjson(ol_line(q, "", false, piece)));
		free(piece);
	}
	for (const char *t = r->text; *t;) {
		char *piece = text_dup_piece(&t);
		pieces_add(out, ndjson(ol_line(q, piece, false, NULL)));
		free(piece);
	}
	pieces_add(out, ol_final(q, r, ""));
	out->n_end = 1;
}

static void (*const answer_fns[EP_COUNT])(const struct chat_req *, const struct chat_reply *,
                                          struct pieces *) = {
    [EP_OPENAI] = oa_answer,
    [EP_ANTHROPIC] = an_answer,
    [EP_OLLAMA] = ol_answer,
    [EP_OTHER] = oa_answer,
};

void format_answer(const struct chat_req *req, const struct chat_reply *rep, struct pieces *out)
{
	answer_fns[req->ep](req, rep, out);
}

char *format_break(const char *s)
{
	size_t len = strlen(s), frame = 0;
	while (frame < len && frame < 2 && s[len - 1 - frame] == '\n')
		frame++;
	const char *data = strstr(s, "data: ");
	size_t from = data ? (size_t)(data - s) + 6 : 0;
	size_t body_end = len - frame;
	size_t cut = from + (body_end > from ? (body_end - from) / 2 : 0);
	struct sbuf b = {0};
	sbuf_add(&b, s, cut);
	sbuf_add(&b, s + body_end, frame);
	return sbuf_take(&b);
}

/* ---- errors ---- */

static const struct {
	int status;
	const char *openai_type, *openai_code, *anthropic_type;
} error_kinds[] = {
    {400, "invalid_request_error", NULL, "invalid_request_error"},
    {401, "invalid_request_error", "invalid_api_key", "authentication_error"},
    {404, "invalid_request_error", "unknown_url", "not_found_error"},
    {413, "invalid_request_error", NULL, "request_too_large"},
    {429, "requests", "rate_limit_exceeded", "rate_limit_error"},
    {500, "server_error", NULL, "api_error"},
    {529, "server_error", NULL, "overloaded_error"},
};

const struct canned_error canned_errors[] = {
    {"none", 0, NULL, NULL, NULL, NULL},
    {"insufficient_quota", 429, "insufficient_quota", "insufficient_quota", "billing_error",
     "You exceeded your current quota, please check your plan and billing details."},
    {"invalid_api_key", 401, "invalid_request_error", "invalid_api_key", "authentication_error",
     "Incorrect API key provided."},
    {"model_not_found", 404, "invalid_request_error", "model_not_found", "not_found_error",
     "The model `test-model` does not exist or you do not have access to it."},
    {"context_length_exceeded", 400, "invalid_request_error", "context_length_exceeded",
     "invalid_request_error",
     "This model's maximum context length is 8192 tokens. However, your messages resulted in "
     "9000 tokens."},
    {"overloaded", 529, "server_error", NULL, "overloaded_error", "Overloaded"},
};
const size_t n_canned_errors = ARRAY_SIZE(canned_errors);

char *format_canned_error(enum endpoint ep, const struct canned_error *c)
{
	cJSON *o = cJSON_CreateObject();
	if (ep == EP_OLLAMA) {
		cJSON_AddStringToObject(o, "error", c->message);
	} else if (ep == EP_ANTHROPIC) {
		cJSON_AddStringToObject(o, "type", "error");
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "type", c->anthropic_type);
		cJSON_AddStringToObject(e, "message", c->message);
	} else {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "message", c->message);
		cJSON_AddStringToObject(e, "type", c->openai_type);
		cJSON_AddNullToObject(e, "param");
		if (c->openai_code)
			cJSON_AddStringToObject(e, "code", c->openai_code);
		else
			cJSON_AddNullToObject(e, "code");
	}
	return json_take(o);
}

char *format_error(enum endpoint ep, int status, const char *message)
{
	size_t k = 0;
	while (k < ARRAY_SIZE(error_kinds) - 1 && error_kinds[k].status != status)
		k++;
	if (error_kinds[k].status != status)
		k = ARRAY_SIZE(error_kinds) - 2; /* unknown: a server error */
	cJSON *o = cJSON_CreateObject();
	if (ep == EP_OLLAMA) {
		cJSON_AddStringToObject(o, "error", message);
	} else if (ep == EP_ANTHROPIC) {
		cJSON_AddStringToObject(o, "type", "error");
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "type", error_kinds[k].anthropic_type);
		cJSON_AddStringToObject(e, "message", message);
	} else {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "message", message);
		cJSON_AddStringToObject(e, "type", error_kinds[k].openai_type);
		cJSON_AddNullToObject(e, "param");
		if (error_kinds[k].openai_code)
			cJSON_AddStringToObject(e, "code", error_kinds[k].openai_code);
		else
			cJSON_AddNullToObject(e, "code");
	}
	return json_take(o);
}

const char *format_content_type(enum endpoint ep, bool stream)
{
	if (!stream)
		return "application/json";
	return ep == EP_OLLAMA ? "application/x-ndjson" : "text/event-stream; charset=utf-8";
}

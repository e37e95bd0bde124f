/* test_llm_server.c: starts build/tests/llm-server (or $LLM_SERVER) and checks each wire format,
 * streamed and whole, authentication, injected faults, /_control and /_stats, and a clean
 * shutdown on SIGTERM.  Skips when the server binary is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "llm_server.h"

#define KEY "test-key-123"
#define RULES                                                                                      \
	"{\"rules\": [{\"match\": \"capital of (?<c>\\\\w+)\","                                    \
	" \"reply\": \"The capital of ${c} is a fine city.\"}],"                                   \
	" \"fallback\": \"I do not know.\"}"
#define ASK_FRANCE   "{\"role\": \"user\", \"content\": \"What is the capital of France?\"}"
#define REPLY_FRANCE "The capital of France is a fine city."

static pid_t server_pid;
static int server_port;
static char rules_path[] = "/tmp/test_llm_server_rules_XXXXXX";

struct http_result {
	CURLcode rc;
	long status;
	struct sbuf body, headers;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	sbuf_add(arg, p, size * n);
	return size * n;
}

static CURL *http_easy(const char *method, const char *path, const char *const *hdrs,
                       const char *body, struct http_result *r, struct curl_slist **list)
{
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", server_port, path);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	*list = curl_slist_append(NULL, "Content-Type: application/json");
	for (; hdrs && *hdrs; hdrs++)
		*list = curl_slist_append(*list, *hdrs);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *list);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	return h;
}

static void http(const char *method, const char *path, const char *const *hdrs, const char *body,
                 struct http_result *r)
{
	*r = (struct http_result){0};
	struct curl_slist *list;
	CURL *h = http_easy(method, path, hdrs, body, r, &list);
	r->rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(list);
}

static void http_free(struct http_result *r)
{
	sbuf_free(&r->body);
	sbuf_free(&r->headers);
}

static const char *const OPENAI_AUTH[] = {"Authorization: Bearer " KEY, NULL};
static const char *const ANTHROPIC_AUTH[] = {"x-api-key: " KEY, "anthropic-version: 2023-06-01",
                                             NULL};

/* A request whose answer must be 200; returns the parsed JSON body (caller deletes). */
static cJSON *request_json(const char *method, const char *path, const char *const *hdrs,
                           const char *body)
{
	struct http_result r;
	http(method, path, hdrs, body, &r);
	assert_int_equal(r.rc, CURLE_OK);
	if (r.status != 200)
		fail_msg("%s: status %ld: %s", path, r.status, sbuf_str(&r.body));
	cJSON *j = cJSON_Parse(sbuf_str(&r.body));
	assert_non_null(j);
	http_free(&r);
	return j;
}

static cJSON *post_json(const char *path, const char *const *hdrs, const char *body)
{
	return request_json("POST", path, hdrs, body);
}

static cJSON *get_stats(void)
{
	return request_json("GET", "/_stats", NULL, NULL);
}

static double jnum(const cJSON *o, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	const cJSON *cur = o;
	for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	free(copy);
	if (!cJSON_IsNumber(cur))
		fail_msg("%s is not a number", path);
	return cur->valuedouble;
}

static const char *jstr(const cJSON *o, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	const cJSON *cur = o;
	for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save))
		cur = isdigit((unsigned char)k[0]) ? cJSON_GetArrayItem(cur, atoi(k))
		                                   : cJSON_GetObjectItemCaseSensitive(cur, k);
	free(copy);
	if (!cJSON_IsString(cur))
		fail_msg("%s is not a string", path);
	return cur->valuestring;
}

/* Clears faults and statistics between tests. */
static void server_clean(void)
{
	cJSON_Delete(
	    post_json("/_control", NULL,
	              "{\"latency_ms\":0,\"latency_jitter_ms\":0,\"rate_429\":0,"
	              "\"rate_500\":0,\"drop_before\":0,\"drop_during\":0,\"truncate\":0,"
	              "\"malformed\":0,\"stall_ms\":0,\"fail_first_n\":0,\"retry_after\":1,"
	              "\"retry_after_date\":false}"));
	cJSON_Delete(post_json("/_reset", NULL, ""));
}

static int setup(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_llm_server");
	if (!bin)
		return 0; /* every test skips */
	int fd = mkstemp(rules_path);
	if (fd < 0 || write(fd, RULES, strlen(RULES)) != (ssize_t)strlen(RULES))
		return -1;
	close(fd);
	server_pid = llm_server_spawn(bin, rules_path, KEY, &server_port);
	if (server_pid < 0) {
		server_pid = 0;
		return -1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!server_pid)
		return 0;
	unlink(rules_path);
	curl_global_cleanup();
	kill(server_pid, SIGTERM);
	int status = 0;
	for (int i = 0; i < 300; i++) {
		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			/* a clean shutdown: exit status 0 */
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		}
		usleep(10000);
	}
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	fprintf(stderr, "llm-server did not stop on SIGTERM\n");
	return -1;
}

static int before(void **state)
{
	(void)state;
	if (server_pid)
		server_clean();
	return 0;
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!server_pid)                                                                   \
			skip();                                                                    \
	} while (0)

/* The data: payloads of an SSE stream, and the event: names. */
static void sse_split(const char *body, cJSON **datas, size_t *n_data, char events[][32],
                      size_t *n_events, size_t max)
{
	*n_data = *n_events = 0;
	const char *p = body;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 6 && !strncmp(p, "data: ", 6) && *n_data < max) {
			char *j = xstrndup(p + 6, len - 6);
			datas[(*n_data)++] = !strcmp(j, "[DONE]") ? NULL : cJSON_Parse(j);
			free(j);
		} else if (len > 7 && !strncmp(p, "event: ", 7) && *n_events < max) {
			snprintf(events[(*n_events)++], 32, "%.*s", (int)(len - 7), p + 7);
		}
		p += len + (nl != NULL);
	}
}

static void test_openai_whole(void **state)
{
	(void)state;
	NEED_SERVER();
	cJSON *j = post_json("/v1/chat/completions", OPENAI_AUTH,
	                     "{\"model\": \"gpt-x\", \"messages\": [{\"role\": \"system\", "
	                     "\"content\": \"Be brief.\"}, " ASK_FRANCE "]}");
	assert_string_equal(jstr(j, "choices.0.message.content"), REPLY_FRANCE);
	assert_string_equal(jstr(j, "choices.0.finish_reason"), "stop");
	assert_string_equal(jstr(j, "object"), "chat.completion");
	assert_string_equal(jstr(j, "model"), "gpt-x");
	assert_non_null(cJSON_GetObjectItem(j, "system_fingerprint"));
	double in = jnum(j, "usage.prompt_tokens"), out = jnum(j, "usage.completion_tokens");
	/* ceil(bytes / 4): "Be brief." 9 -> 3, the question 30 -> 8; the reply 37 -> 10 */
	assert_true(in == 11 && out == 10);
	assert_true(jnum(j, "usage.total_tokens") == in + out);
	cJSON_Delete(j);
	/* the alias without /v1, and max_tokens cutting the reply */
	j = post_json("/chat/completions", OPENAI_AUTH,
	              "{\"model\": \"m\", \"max_tokens\": 2, \"messages\": [" ASK_FRANCE "]}");
	assert_string_equal(jstr(j, "choices.0.message.content"),
	                    "The capi"); /* 2 tokens = 8 bytes */
	assert_string_equal(jstr(j, "choices.0.finish_reason"), "length");
	cJSON_Delete(j);
}

static void test_openai_stream(void **state)
{
	(void)state;
	NEED_SERVER();
	struct http_result r;
	http("POST", "/v1/chat/completions", OPENAI_AUTH,
	     "{\"model\": \"m\", \"stream\": true, \"stream_options\": {\"include_usage\": true},"
	     " \"messages\": [" ASK_FRANCE "]}",
	     &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers.s, "text/event-stream"));
	cJSON *d[64];
	char ev[64][32];
	size_t nd, ne;
	sse_split(r.body.s, d, &nd, ev, &ne, 64);
	assert_true(nd >= 6);
	assert_int_equal(ne, 0);
	assert_string_equal(jstr(d[0], "choices.0.delta.role"), "assistant");
	struct sbuf text = {0};
	size_t content_chunks = 0;
	for (size_t i = 1; i + 3 < nd; i++) {
		sbuf_adds(&text, jstr(d[i], "choices.0.delta.content"));
		content_chunks++;
	}
	assert_string_equal(sbuf_str(&text), REPLY_FRANCE);
	assert_true(content_chunks >= 3);
	assert_string_equal(jstr(d[nd - 3], "choices.0.finish_reason"), "stop");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d[nd - 2], "choices")), 0);
	assert_true(jnum(d[nd - 2], "usage.completion_tokens") == 10);
	assert_null(d[nd - 1]); /* [DONE] */
	for (size_t i = 0; i < nd; i++)
		cJSON_Delete(d[i]);
	sbuf_free(&text);
	http_free(&r);
}

static void test_anthropic(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *body = "{\"model\": \"claude\", \"max_tokens\": 100, \"system\": \"Be brief.\","
	                   " \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\","
	                   " \"text\": \"capital of Peru\"}]}]%s}";
	char *whole = xasprintf(body, ""), *streamed = xasprintf(body, ", \"stream\": true");
	cJSON *j = post_json("/v1/messages", ANTHROPIC_AUTH, whole);
	assert_string_equal(jstr(j, "type"), "message");
	assert_string_equal(jstr(j, "role"), "assistant");
	assert_string_equal(jstr(j, "content.0.type"), "text");
	assert_string_equal(jstr(j, "content.0.text"), "The capital of Peru is a fine city.");
	assert_string_equal(jstr(j, "stop_reason"), "end_turn");
	assert_true(jnum(j, "usage.input_tokens") == 3 + 4);
	assert_true(jnum(j, "usage.output_tokens") == 9);
	cJSON_Delete(j);

	struct http_result r;
	http("POST", "/v1/messages", ANTHROPIC_AUTH, streamed, &r);
	assert_int_equal(r.status, 200);
	cJSON *d[64];
	char ev[64][32];
	size_t nd, ne;
	sse_split(r.body.s, d, &nd, ev, &ne, 64);
	assert_int_equal(nd, ne);
	assert_true(ne >= 8);
	const char *head[] = {"message_start", "content_block_start", "ping"};
	const char *tail[] = {"content_block_stop", "message_delta", "message_stop"};
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(ev[i], head[i]);
		assert_string_equal(ev[ne - 3 + i], tail[i]);
	}
	struct sbuf text = {0};
	for (size_t i = 3; i < ne - 3; i++) {
		assert_string_equal(ev[i], "content_block_delta");
		assert_string_equal(jstr(d[i], "type"), ev[i]);
		sbuf_adds(&text, jstr(d[i], "delta.text"));
	}
	assert_string_equal(sbuf_str(&text), "The capital of Peru is a fine city.");
	assert_true(jnum(d[0], "message.usage.input_tokens") == 7);
	assert_true(jnum(d[ne - 2], "usage.output_tokens") == 9);
	assert_string_equal(jstr(d[ne - 2], "delta.stop_reason"), "end_turn");
	for (size_t i = 0; i < nd; i++)
		cJSON_Delete(d[i]);
	sbuf_free(&text);
	http_free(&r);
	free(whole);
	free(streamed);
}

static void test_ollama(void **state)
{
	(void)state;
	NEED_SERVER();
	cJSON *j =
	    post_json("/api/chat", NULL,
	              "{\"model\": \"llama\", \"stream\": false, \"messages\": [" ASK_FRANCE "]}");
	assert_string_equal(jstr(j, "message.content"), REPLY_FRANCE);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "done")));
	assert_string_equal(jstr(j, "done_reason"), "stop");
	assert_true(jnum(j, "prompt_eval_count") == 8 && jnum(j, "eval_count") == 10);
	cJSON_Delete(j);

	/* Ollama streams by default: NDJSON lines */
	struct http_result r;
	http("POST", "/api/chat", NULL, "{\"model\": \"llama\", \"messages\": [" ASK_FRANCE "]}",
	     &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers.s, "application/x-ndjson"));
	struct sbuf text = {0};
	int lines = 0, done = 0;
	for (char *save = NULL, *l = strtok_r(r.body.s, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(l);
		assert_non_null(o);
		assert_int_equal(done, 0); /* nothing after done:true */
		sbuf_adds(&text, jstr(o, "message.content"));
		done = cJSON_IsTrue(cJSON_GetObjectItem(o, "done"));
		if (done)
			assert_true(jnum(o, "eval_count") == 10);
		lines++;
		cJSON_Delete(o);
	}
	assert_true(done && lines >= 4);
	assert_string_equal(sbuf_str(&text), REPLY_FRANCE);
	sbuf_free(&text);
	http_free(&r);
}

static void assert_error(const char *path, const char *const *hdrs, const char *body, long status,
                         const char *field, const char *value)
{
	struct http_result r;
	http("POST", path, hdrs, body, &r);
	assert_int_equal(r.rc, CURLE_OK);
	if (r.status != status)
		fail_msg("%s: want %ld, got %ld: %s", path, status, r.status, sbuf_str(&r.body));
	cJSON *j = cJSON_Parse(sbuf_str(&r.body));
	assert_non_null(j);
	assert_string_equal(jstr(j, field), value);
	cJSON_Delete(j);
	http_free(&r);
}

static void test_auth(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *oa = "{\"model\": \"m\", \"messages\": [" ASK_FRANCE "]}";
	const char *an = "{\"model\": \"m\", \"max_tokens\": 9, \"messages\": [" ASK_FRANCE "]}";
	const char *wrong[] = {"Authorization: Bearer nope", NULL};
	assert_error("/v1/chat/completions", wrong, oa, 401, "error.code", "invalid_api_key");
	assert_error("/v1/chat/completions", NULL, oa, 401, "error.type", "invalid_request_error");
	const char *an_wrong[] = {"x-api-key: nope", "anthropic-version: 2023-06-01", NULL};
	assert_error("/v1/messages", an_wrong, an, 401, "error.type", "authentication_error");
	const char *an_none[] = {"anthropic-version: 2023-06-01", NULL};
	assert_error("/v1/messages", an_none, an, 401, "type", "error");
	const char *an_nover[] = {"x-api-key: " KEY, NULL};
	assert_error("/v1/messages", an_nover, an, 400, "error.type", "invalid_request_error");
	/* malformed requests get the vendor's 400 */
	assert_error("/v1/messages", ANTHROPIC_AUTH, oa, 400, "error.message",
	             "max_tokens: Field required");
	assert_error("/api/chat", NULL, "{\"messages\": []}", 400, "error", "model is required");
	assert_error("/v1/chat/completions", OPENAI_AUTH, "{not json", 400, "error.type",
	             "invalid_request_error");
	assert_error("/v1/nothing", NULL, "{}", 404, "error.type", "invalid_request_error");
	cJSON *st = get_stats();
	assert_true(jnum(st, "status.401") == 4 && jnum(st, "status.400") == 4);
	assert_true(jnum(st, "status.404") == 1 && jnum(st, "endpoints.other") == 1);
	cJSON_Delete(st);
}

static void test_rate_limit(void **state)
{
	(void)state;
	NEED_SERVER();
	cJSON_Delete(post_json("/_control", NULL, "{\"rate_429\": 1, \"retry_after\": 7}"));
	const char *an = "{\"model\": \"m\", \"max_tokens\": 9, \"messages\": [" ASK_FRANCE "]}";
	struct http_result r;
	http("POST", "/v1/messages", ANTHROPIC_AUTH, an, &r);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(r.headers.s, "Retry-After: 7\r\n"));
	assert_non_null(strstr(r.body.s, "\"rate_limit_error\""));
	http_free(&r);
	assert_error("/api/chat", NULL, an, 429, "error",
	             "Rate limit reached for requests (injected by the test server).");

	cJSON_Delete(post_json("/_control", NULL, "{\"retry_after_date\": true}"));
	http("POST", "/v1/chat/completions", OPENAI_AUTH, an, &r);
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(r.body.s, "\"rate_limit_exceeded\""));
	const char *h = strstr(r.headers.s, "Retry-After: ");
	assert_non_null(h);
	char date[64];
	assert_int_equal(sscanf(h + 13, "%63[^\r]", date), 1);
	assert_non_null(strstr(date, " GMT"));
	time_t when = curl_getdate(date, NULL), now = time(NULL);
	assert_true(when >= now + 5 && when <= now + 9);
	http_free(&r);
	cJSON *st = get_stats();
	assert_true(jnum(st, "status.429") == 3 && jnum(st, "faults.rate_429") == 3);
	cJSON_Delete(st);
}

static void test_fail_first_n(void **state)
{
	(void)state;
	NEED_SERVER();
	cJSON *c = post_json("/_control", NULL, "{\"fail_first_n\": 2}");
	assert_true(jnum(c, "fail_remaining") == 2);
	cJSON_Delete(c);
	const char *oa = "{\"model\": \"m\", \"messages\": [" ASK_FRANCE "]}";
	assert_error("/v1/chat/completions", OPENAI_AUTH, oa, 500, "error.type", "server_error");
	assert_error("/v1/chat/completions", OPENAI_AUTH, oa, 500, "error.type", "server_error");
	cJSON_Delete(post_json("/v1/chat/completions", OPENAI_AUTH, oa));
	cJSON *st = get_stats();
	assert_true(jnum(st, "requests") == 3 && jnum(st, "status.500") == 2);
	assert_true(jnum(st, "status.200") == 1 && jnum(st, "faults.fail_first_n") == 2);
	/* the same body three times: "exactly two retries" is visible */
	assert_true(jnum(st, "unique_bodies") == 1 && jnum(st, "repeated_bodies") == 2);
	cJSON_Delete(st);
}

static void test_stats(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *a = "{\"model\": \"m\", \"messages\": [" ASK_FRANCE "]}";
	const char *b = "{\"model\": \"m\", \"stream\": false, \"messages\": [" ASK_FRANCE "]}";
	cJSON_Delete(post_json("/v1/chat/completions", OPENAI_AUTH, a));
	cJSON_Delete(post_json("/api/chat", NULL, b));
	cJSON *st = get_stats();
	assert_true(jnum(st, "requests") == 2 && jnum(st, "repeated_bodies") == 0);
	assert_true(jnum(st, "endpoints.openai") == 1 && jnum(st, "endpoints.ollama") == 1);
	assert_true(jnum(st, "tokens_in") == 16 && jnum(st, "tokens_out") == 20);
	assert_true(jnum(st, "concurrency") == 0 && jnum(st, "peak_concurrency") == 1);
	unsigned char md[32];
	char hex[65];
	EVP_Digest(b, strlen(b), md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(jstr(st, "recent.1.sha256"), hex);
	assert_string_equal(jstr(st, "recent.1.body"), b);
	assert_string_equal(jstr(st, "recent.0.endpoint"), "openai");
	cJSON_Delete(st);
	cJSON_Delete(post_json("/_reset", NULL, ""));
	st = get_stats();
	assert_true(jnum(st, "requests") == 0 && jnum(st, "tokens_in") == 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "recent")), 0);
	cJSON_Delete(st);
}

static void test_control(void **state)
{
	(void)state;
	NEED_SERVER();
	struct http_result r;
	http("POST", "/_control", NULL, "{\"rate_500\": 0.5, \"bogus\": 1}", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.s, "unknown setting \\\"bogus\\\""));
	http_free(&r);
	http("POST", "/_control", NULL, "{\"rate_500\": 2}", &r);
	assert_int_equal(r.status, 400);
	http_free(&r);
	http("GET", "/_control", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	cJSON *c = cJSON_Parse(r.body.s);
	assert_true(jnum(c, "rate_500") == 0); /* a refused change changes nothing */
	assert_true(jnum(c, "retry_after") == 1);
	cJSON_Delete(c);
	http_free(&r);
	http("DELETE", "/_stats", NULL, NULL, &r);
	assert_int_equal(r.status, 405);
	http_free(&r);
}

static void test_body_faults(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *s = "{\"model\": \"m\", \"stream\": true, \"messages\": [" ASK_FRANCE "]}";
	const char *w = "{\"model\": \"m\", \"messages\": [" ASK_FRANCE "]}";
	struct http_result r;

	cJSON_Delete(post_json("/_control", NULL, "{\"drop_before\": 1}"));
	http("POST", "/v1/chat/completions", OPENAI_AUTH, s, &r);
	assert_int_equal(r.rc, CURLE_GOT_NOTHING);
	http_free(&r);

	cJSON_Delete(post_json("/_control", NULL, "{\"drop_before\": 0, \"drop_during\": 1}"));
	http("POST", "/v1/chat/completions", OPENAI_AUTH, s, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_non_null(strstr(sbuf_str(&r.body), "data: {"));
	assert_null(strstr(sbuf_str(&r.body), "[DONE]"));
	http_free(&r);
	http("POST", "/v1/chat/completions", OPENAI_AUTH, w, &r); /* whole bodies are cut too */
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	http_free(&r);

	cJSON_Delete(post_json("/_control", NULL, "{\"drop_during\": 0, \"truncate\": 1}"));
	http("POST", "/v1/messages", ANTHROPIC_AUTH,
	     "{\"model\": \"m\", \"max_tokens\": 50, \"stream\": true, \"messages\": [" ASK_FRANCE
	     "]}",
	     &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_non_null(strstr(r.body.s, "event: message_delta"));
	assert_null(strstr(r.body.s, "message_stop"));
	http_free(&r);

	cJSON_Delete(post_json("/_control", NULL, "{\"truncate\": 0, \"malformed\": 1}"));
	http("POST", "/v1/chat/completions", OPENAI_AUTH, w, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	cJSON *j = cJSON_Parse(r.body.s);
	assert_null(j);
	http_free(&r);
	http("POST", "/api/chat", NULL, "{\"model\": \"m\", \"messages\": [" ASK_FRANCE "]}", &r);
	int bad = 0;
	for (char *save = NULL, *l = strtok_r(r.body.s, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		j = cJSON_Parse(l);
		bad += j == NULL;
		cJSON_Delete(j);
	}
	assert_int_equal(bad, 1);
	http_free(&r);

	cJSON *st = get_stats();
	assert_true(jnum(st, "faults.drop_before") == 1 && jnum(st, "faults.drop_during") == 2);
	assert_true(jnum(st, "faults.truncate") == 1 && jnum(st, "faults.malformed") == 2);
	assert_true(jnum(st, "status.0") == 1);
	cJSON_Delete(st);
}

static void test_stall_and_seed(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *s = "{\"model\": \"m\", \"stream\": true, \"messages\": [" ASK_FRANCE "]}";
	cJSON_Delete(post_json("/_control", NULL, "{\"stall_ms\": 300}"));
	struct http_result r;
	int64_t t0 = now_ms();
	http("POST", "/v1/chat/completions", OPENAI_AUTH, s, &r);
	assert_true(now_ms() - t0 >= 290);
	assert_int_equal(r.rc, CURLE_OK);
	assert_non_null(strstr(r.body.s, "data: [DONE]")); /* a stall, then the rest */
	http_free(&r);

	/* the same seed gives the same faults in the same order (re-seeded by /_reset) */
	cJSON_Delete(
	    post_json("/_control", NULL, "{\"stall_ms\": 0, \"rate_500\": 0.5, \"seed\": 42}"));
	char pattern[2][17] = {"", ""};
	for (int round = 0; round < 2; round++) {
		cJSON_Delete(post_json("/_reset", NULL, ""));
		for (int i = 0; i < 16; i++) {
			http("POST", "/api/chat", NULL, "{\"model\": \"m\", \"messages\": []}", &r);
			pattern[round][i] = r.status == 200 ? '.' : r.status == 500 ? 'x' : '?';
			http_free(&r);
		}
	}
	assert_string_equal(pattern[0], pattern[1]);
	assert_non_null(strchr(pattern[0], '.'));
	assert_non_null(strchr(pattern[0], 'x'));
}

static void test_concurrency(void **state)
{
	(void)state;
	NEED_SERVER();
	enum { N = 16 };
	cJSON_Delete(post_json("/_control", NULL, "{\"latency_ms\": 200}"));
	CURLM *m = curl_multi_init();
	CURL *h[N];
	struct http_result r[N];
	struct curl_slist *lists[N];
	char *bodies[N];
	for (int i = 0; i < N; i++) {
		r[i] = (struct http_result){0};
		bodies[i] = xasprintf("{\"model\": \"m\", \"stream\": %s, \"messages\": [{\"role\":"
		                      " \"user\", \"content\": \"capital of N%d\"}]}",
		                      i % 2 ? "true" : "false", i);
		h[i] = http_easy("POST", "/v1/chat/completions", OPENAI_AUTH, bodies[i], &r[i],
		                 &lists[i]);
		curl_multi_add_handle(m, h[i]);
	}
	int64_t t0 = now_ms();
	int running = 1;
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	int64_t elapsed = now_ms() - t0;
	for (int i = 0; i < N; i++) {
		long status = 0;
		curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		char want[64];
		snprintf(want, sizeof want, "The capital of N%d is", i);
		assert_non_null(strstr(r[i].body.s, i % 2 ? "The " : want));
		curl_multi_remove_handle(m, h[i]);
		curl_easy_cleanup(h[i]);
		curl_slist_free_all(lists[i]);
		http_free(&r[i]);
		free(bodies[i]);
	}
	curl_multi_cleanup(m);
	/* serially this would take 16 * 200 ms */
	if (elapsed > 1500)
		fail_msg("16 requests with 200 ms latency took %lld ms", (long long)elapsed);
	cJSON *st = get_stats();
	assert_true(jnum(st, "peak_concurrency") >= 8);
	assert_true(jnum(st, "requests") == N && jnum(st, "streamed") == N / 2);
	cJSON_Delete(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_openai_whole, before),
	    cmocka_unit_test_setup(test_openai_stream, before),
	    cmocka_unit_test_setup(test_anthropic, before),
	    cmocka_unit_test_setup(test_ollama, before),
	    cmocka_unit_test_setup(test_auth, before),
	    cmocka_unit_test_setup(test_rate_limit, before),
	    cmocka_unit_test_setup(test_fail_first_n, before),
	    cmocka_unit_test_setup(test_stats, before),
	    cmocka_unit_test_setup(test_control, before),
	    cmocka_unit_test_setup(test_body_faults, before),
	    cmocka_unit_test_setup(test_stall_and_seed, before),
	    cmocka_unit_test_setup(test_concurrency, before),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_money.c: what a call costs, against build/tests/llm-server ($LLM_SERVER; skipped with a
 * message when it is missing): a refusal and an error after the usage are billed, cached and
 * cache-write prompt tokens at their own prices (OpenAI, Anthropic, llama.cpp's timings), a cut
 * stream counted with an estimate, reasoning kept apart from the answer and counted, the usage
 * details and the reasoning replayed from the response cache, reasoning models sent
 * max_completion_tokens without a temperature, and an engine whose refused calls count in the
 * session's spend and trip its cost cap.  Tokens and dollars are checked exactly: the
 * server counts ceil(bytes / 4) tokens per message content.  First, without the server, the
 * usage details of recorded responses, parsed whole and fed one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine_fixture.h"
#include "llm/cost.h"
#include "llm/llm.h"
#include "llm/provider.h"
#include "llm_server.h"

static char tmpdir[64], rules_path[128], cache_path[128];
static pid_t server_pid;
static int server_port;
static char base_openai[64], base_root[64];

static const char rules_json[] =
    "{\"rules\": [{\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}";

/* ---- helpers ---- */

struct got {
	int n;
	char text[256], err[512], reasoning[512];
	bool cached;
	int attempts;
	struct llm_usage usage, answer;
	long reused;
	double cost;
	struct sbuf chunks;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	snprintf(g->text, sizeof g->text, "%s", r->text);
	snprintf(g->err, sizeof g->err, "%s", r->error ? r->error : "");
	snprintf(g->reasoning, sizeof g->reasoning, "%s", r->reasoning);
	g->cached = r->cached;
	g->attempts = r->attempts;
	g->usage = r->usage;
	g->answer = r->answer;
	g->reused = r->reused_tokens;
	g->cost = r->cost_usd;
}

static void on_chunk(void *arg, const char *text, size_t len)
{
	sbuf_add(&((struct got *)arg)->chunks, text, len);
}

static long toks(const char *s)
{
	return (long)((strlen(s) + 3) / 4);
}

static bool near(double a, double b)
{
	return a > b - 1e-12 && a < b + 1e-12;
}

static cJSON *server_call(const char *method, const char *path, const char *body)
{
	cJSON *j = llm_server_call(server_port, method, path, body);
	assert_non_null(j);
	return j;
}

static long server_stat(const char *name)
{
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
	cJSON_Delete(j);
	return n;
}

/* The body of the last request the server saw (caller frees). */
static char *server_last_body(void)
{
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *recent = cJSON_GetObjectItemCaseSensitive(j, "recent");
	int n = cJSON_GetArraySize(recent);
	const cJSON *last = cJSON_GetArrayItem(recent, n - 1);
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(last, "body");
	char *s = xstrdup(cJSON_IsString(body) ? body->valuestring : "");
	cJSON_Delete(j);
	return s;
}

static void server_control(const char *json)
{
	cJSON_Delete(server_call("POST", "/_control", json));
}

static int before(void **state)
{
	(void)state;
	if (!server_pid)
		return 0;
	server_control("{\"drop_during\":0,\"truncate\":0,\"malformed\":0,\"cached_tokens\":0,"
	               "\"cache_write_tokens\":0,\"reasoning_tokens\":0,\"refusal\":false,"
	               "\"error_after_usage\":false,\"llamacpp_usage\":false}");
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	unlink(cache_path);
	return 0;
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!server_pid)                                                                   \
			skip();                                                                    \
	} while (0)

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/adopt-money-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rules_path, sizeof rules_path, "%s/rules.json", tmpdir);
	snprintf(cache_path, sizeof cache_path, "%s/cache.jsonl", tmpdir);
	struct err e;
	if (file_write_atomic(rules_path, rules_json, strlen(rules_json), &e) < 0)
		return -1;
	setenv("ADOPT_MONEY_API_KEY", "money-key", 1);
	const char *bin = llm_server_bin("test_money");
	if (!bin)
		return 0;
	server_pid = llm_server_spawn(bin, rules_path, "money-key", &server_port);
	if (server_pid < 0) {
		server_pid = 0;
		return -1;
	}
	snprintf(base_openai, sizeof base_openai, "http://127.0.0.1:%d/v1", server_port);
	snprintf(base_root, sizeof base_root, "http://127.0.0.1:%d", server_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (server_pid)
		llm_server_stop(server_pid);
	unlink(rules_path);
	unlink(cache_path);
	rmdir(tmpdir);
	return 0;
}

static struct model_config srv_model(const char *provider, const char *name, bool stream)
{
	struct model_config m = {0};
	m.name = (char *)provider;
	m.provider = (char *)provider;
	m.base_url = !strcmp(provider, "openai") ? base_openai : base_root;
	m.model = (char *)name;
	m.api_key_env = "ADOPT_MONEY_API_KEY";
	m.price_in = m.price_out = m.price_cached_in = m.price_cache_write = -1;
	m.stream = stream;
	m.timeout_s = 10;
	m.max_tokens = 200;
	return m;
}

static struct llm *new_llm(int attempts, const char *cache)
{
	struct llm_options o = {0};
	o.no_cache = !cache;
	o.cache_path = cache;
	o.max_attempts = attempts;
	o.backoff_base_s = 0.01;
	o.backoff_max_s = 0.02;
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	if (!l)
		fail_msg("llm_new: %s", e.msg);
	return l;
}

/* Asks one question and waits for the answer. */
static void ask(struct llm *l, const struct model_config *m, const char *text, struct got *g)
{
	struct llm_message msg = {"user", text};
	struct llm_request req = {m, &msg, 1, "money"};
	llm_submit(l, &req, on_done, on_chunk, g);
	int64_t end = now_ms() + 10000;
	while (llm_pending(l) && now_ms() < end)
		assert_true(llm_wait(l, NULL, 0, 200) >= 0);
	assert_int_equal(g->n, 1);
}

/* USD at per-million prices. */
static double usd(long plain, double p_in, long cached, double p_cached, long written,
                  double p_write, long out, double p_out)
{
	return ((double)plain * p_in + (double)cached * p_cached + (double)written * p_write +
	        (double)out * p_out) /
	       1e6;
}

/* ---- usage details on the wire (no server) ---- */

/* Parses a stream fed whole and one byte at a time; both must agree.  Returns the whole run. */
static struct llm_result parse_stream(const char *provider, const char *in)
{
	const struct provider_ops *ops = provider_find(provider);
	struct llm_result r[2];
	memset(r, 0, sizeof r);
	for (int bytes = 0; bytes < 2; bytes++) {
		void *st = ops->stream_new();
		size_t n = strlen(in), step = bytes ? 1 : n;
		for (size_t i = 0; i < n; i += step) {
			size_t k = MIN(step, n - i);
			assert_int_equal(ops->stream_feed(st, in + i, k, &r[bytes], NULL, NULL), 0);
		}
		assert_int_equal(ops->stream_end(st, &r[bytes]), 0);
		ops->stream_free(st);
	}
	assert_string_equal(sbuf_str(&r[0].text), sbuf_str(&r[1].text));
	assert_string_equal(sbuf_str(&r[0].reasoning), sbuf_str(&r[1].reasoning));
	assert_memory_equal(&r[0].usage, &r[1].usage, sizeof r[0].usage);
	llm_result_free(&r[1]);
	return r[0];
}

/* An o3-mini answer as OpenAI returns it: 192 of the 202 completion tokens were reasoning. */
static const char o3_whole[] =
    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\","
    "\"created\":1741570283,\"model\":\"o3-mini-2025-01-31\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"4\",\"refusal\":null,"
    "\"annotations\":[]},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1213,"
    "\"completion_tokens\":202,\"total_tokens\":1415,\"prompt_tokens_details\":"
    "{\"cached_tokens\":1152,\"audio_tokens\":0},\"completion_tokens_details\":"
    "{\"reasoning_tokens\":192,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
    "\"rejected_prediction_tokens\":0}},\"service_tier\":\"default\","
    "\"system_fingerprint\":\"fp_42bfad963b\"}";

/* llama.cpp's server streaming a DeepSeek-R1 distill: reasoning_content deltas, then usage and
 * timings on the finishing chunk; cache_n prompt tokens came from its KV cache. */
static const char llamacpp_stream[] =
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":null}}],\"created\":1741570000,\"id\":\"chatcmpl-x\","
    "\"model\":\"r1\",\"object\":\"chat.completion.chunk\"}\n\n"
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":"
    "{\"reasoning_content\":\"Two and two \"}}],\"object\":\"chat.completion.chunk\"}\n\n"
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":"
    "{\"reasoning_content\":\"make four.\"}}],\"object\":\"chat.completion.chunk\"}\n\n"
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":"
    "\"4\"}}],\"object\":\"chat.completion.chunk\"}\n\n"
    "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],"
    "\"created\":1741570001,\"id\":\"chatcmpl-x\",\"model\":\"r1\",\"system_fingerprint\":"
    "\"b4800\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":9,"
    "\"prompt_tokens\":51,\"total_tokens\":60},\"timings\":{\"prompt_n\":3,\"prompt_ms\":"
    "25.1,\"prompt_per_token_ms\":8.37,\"prompt_per_second\":119.4,\"predicted_n\":9,"
    "\"predicted_ms\":110.2,\"predicted_per_token_ms\":12.2,\"predicted_per_second\":81.6,"
    "\"cache_n\":48}}\n\n"
    "data: [DONE]\n\n";

/* Anthropic with prompt caching: input_tokens, cache writes and cache reads are disjoint. */
static const char anthropic_cached[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
    "\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":21,\"cache_creation_input_tokens\":1800,"
    "\"cache_read_input_tokens\":2000,\"cache_creation\":{\"ephemeral_5m_input_tokens\":"
    "1800,\"ephemeral_1h_input_tokens\":0},\"output_tokens\":2,\"service_tier\":"
    "\"standard\"}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Done.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void test_usage_on_the_wire(void **state)
{
	(void)state;
	struct llm_result r = {0};
	assert_int_equal(provider_find("openai")->parse(o3_whole, strlen(o3_whole), &r), 0);
	assert_int_equal(r.usage.in, 1213);
	assert_int_equal(r.usage.cached, 1152);
	assert_int_equal(r.usage.out, 202);
	assert_int_equal(r.usage.reasoning, 192);
	/* o3-mini: cached input at half the price; reasoning billed as output */
	struct model_config m = {.provider = "openai",
	                         .model = "o3-mini",
	                         .price_in = -1,
	                         .price_out = -1,
	                         .price_cached_in = -1,
	                         .price_cache_write = -1};
	struct llm_prices p;
	llm_prices(&m, &p, NULL);
	struct llm_usage u = r.usage;
	assert_true(near(cost_usd(&p, &u), usd(61, 1.10, 1152, 0.55, 0, 0, 202, 4.40)));
	llm_result_free(&r);

	r = parse_stream("openai", llamacpp_stream);
	assert_string_equal(sbuf_str(&r.text), "4");
	assert_string_equal(sbuf_str(&r.reasoning), "Two and two make four.");
	assert_int_equal(r.usage.in, 51);
	assert_int_equal(r.usage.cached, 48);
	assert_int_equal(r.usage.out, 9);
	llm_result_free(&r);

	r = parse_stream("anthropic", anthropic_cached);
	assert_int_equal(r.usage.in, 21 + 1800 + 2000);
	assert_int_equal(r.usage.cache_write, 1800);
	assert_int_equal(r.usage.cached, 2000);
	assert_int_equal(r.usage.out, 7);
	m = (struct model_config){.provider = "anthropic",
	                          .model = "claude-sonnet-4-5-20250929",
	                          .price_in = -1,
	                          .price_out = -1,
	                          .price_cached_in = -1,
	                          .price_cache_write = -1};
	llm_prices(&m, &p, NULL);
	u = r.usage;
	double billed = cost_usd(&p, &u), full = (3821 * 3.0 + 7 * 15.0) / 1e6;
	assert_true(near(billed, usd(21, 3.0, 2000, 0.30, 1800, 3.75, 7, 15.0)));
	assert_true(full / billed > 1.5); /* what billing every token at the input price did */
	llm_result_free(&r);
}

/* ---- refused and failed requests are billed ---- */

static void test_refusal_is_billed(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"refusal\":true}");
	const char *q = "Tell me how to pick a lock, step by step please.";
	for (int stream = 1; stream >= 0; stream--) {
		struct llm *l = new_llm(5, NULL);
		struct model_config m = srv_model("openai", "gpt-4o-mini", stream);
		struct got g = {0};
		ask(l, &m, q, &g);
		assert_non_null(strstr(g.err, "model refused"));
		assert_int_equal(g.attempts, 1); /* a refusal is not retried */
		char reply[128];
		snprintf(reply, sizeof reply, "echo: %s", q);
		long in = toks(q), out = toks(reply);
		assert_int_equal(g.usage.in, in);
		assert_int_equal(g.usage.out, out);
		assert_false(g.usage.estimated);
		assert_true(near(g.cost, usd(in, 0.15, 0, 0, 0, 0, out, 0.60)));
		struct llm_stats s;
		llm_get_stats(l, &s);
		assert_int_equal(s.failed, 1);
		assert_int_equal(s.billed_failures, 1);
		assert_int_equal(s.estimated, 0);
		assert_int_equal(s.tokens_in, in);
		assert_int_equal(s.tokens_out, out);
		assert_true(near(s.cost_usd, g.cost));
		llm_free(l);
		sbuf_free(&g.chunks);
	}
}

/* Anthropic: message_delta carries the usage, then an error event ends the stream; the error is
 * transient, so the request is tried again, and each attempt is billed. */
static void test_error_after_usage_is_billed(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"error_after_usage\":true}");
	const char *q = "A question answered twice and never delivered";
	struct llm *l = new_llm(2, NULL);
	struct model_config m = srv_model("anthropic", "claude-3-5-haiku-20241022", true);
	struct got g = {0};
	ask(l, &m, q, &g);
	assert_non_null(strstr(g.err, "overloaded_error"));
	assert_int_equal(g.attempts, 2);
	assert_int_equal(server_stat("requests"), 2);
	char reply[128];
	snprintf(reply, sizeof reply, "echo: %s", q);
	long in = toks(q), out = toks(reply);
	assert_int_equal(g.usage.in, 2 * in);
	assert_int_equal(g.usage.out, 2 * out);
	assert_false(g.usage.estimated);
	assert_true(near(g.cost, usd(2 * in, 0.80, 0, 0, 0, 0, 2 * out, 4.00)));
	/* what the server produced is what we counted */
	assert_int_equal(server_stat("tokens_in"), g.usage.in);
	assert_int_equal(server_stat("tokens_out"), g.usage.out);
	/* the same on OpenAI's wire: an error chunk after the usage chunk */
	struct model_config mo = srv_model("openai", "gpt-4o-mini", true);
	struct got go = {0};
	ask(l, &mo, q, &go);
	assert_non_null(strstr(go.err, "server_error"));
	assert_int_equal(go.usage.in, 2 * in);
	assert_false(go.usage.estimated);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.failed, 2);
	assert_int_equal(s.billed_failures, 2);
	assert_int_equal(s.tokens_in, 4 * in);
	assert_true(near(s.cost_usd, g.cost + go.cost));
	llm_free(l);
	sbuf_free(&g.chunks);
	sbuf_free(&go.chunks);
}

/* ---- cached prompt tokens ---- */

static const char long_q[] =
    "Here is a long and stable system of instructions that a provider would keep in its prompt "
    "cache between calls, followed by the question that changes from call to call: why?";

static void test_cached_tokens_priced_apart(void **state)
{
	(void)state;
	NEED_SERVER();
	char reply[256];
	snprintf(reply, sizeof reply, "echo: %s", long_q);
	long in = toks(long_q), out = toks(reply);
	server_control("{\"cached_tokens\":32,\"cache_write_tokens\":8}");
	struct llm *l = new_llm(1, cache_path);
	for (int stream = 0; stream < 2; stream++) {
		/* OpenAI: 32 of the prompt tokens cached at a quarter of the price (gpt-4.1) */
		struct model_config m = srv_model("openai", "gpt-4.1-mini", stream);
		struct got g = {0};
		char q[256];
		snprintf(q, sizeof q, "%s", long_q);
		q[0] = stream ? 'h' : 'H'; /* another request, the same length */
		ask(l, &m, q, &g);
		assert_string_equal(g.err, "");
		assert_int_equal(g.usage.in, in);
		assert_int_equal(g.usage.cached, 32);
		assert_int_equal(g.usage.cache_write, 0);
		assert_true(near(g.cost, usd(in - 32, 0.40, 32, 0.10, 0, 0, out, 1.60)));
		sbuf_free(&g.chunks);
		/* Anthropic: reads at 0.1x and writes at 1.25x, the three counts disjoint */
		struct model_config a = srv_model("anthropic", "claude-3-5-haiku-latest", stream);
		struct got ga = {0};
		ask(l, &a, q, &ga);
		assert_string_equal(ga.err, "");
		assert_int_equal(ga.usage.in, in);
		assert_int_equal(ga.usage.cached, 32);
		assert_int_equal(ga.usage.cache_write, 8);
		assert_true(near(ga.cost, usd(in - 40, 0.80, 32, 0.08, 8, 1.00, out, 4.00)));
		sbuf_free(&ga.chunks);
	}
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.tokens_prompt_cached, 4 * 32);
	assert_int_equal(s.tokens_cache_write, 2 * 8);
	assert_int_equal(s.tokens_reused, 0);
	/* llama.cpp's server: no prompt_tokens_details, timings.cache_n instead */
	server_control("{\"llamacpp_usage\":true,\"cached_tokens\":20}");
	for (int stream = 0; stream < 2; stream++) {
		struct model_config m = srv_model("openai", "llama-3.1-8b", stream);
		m.price_in = 1;
		m.price_out = 2;
		m.price_cached_in = 0.25;
		struct got g = {0};
		const char *q = stream ? "llama streamed" : "llama whole";
		ask(l, &m, q, &g);
		assert_string_equal(g.err, "");
		assert_int_equal(g.usage.cached, toks(q)); /* all of a short prompt */
		char echo[64];
		snprintf(echo, sizeof echo, "echo: %s", q);
		assert_true(near(g.cost, usd(0, 1, toks(q), 0.25, 0, 0, toks(echo), 2)));
		assert_false(g.usage.estimated);
		sbuf_free(&g.chunks);
	}
	llm_free(l);

	/* a replay from the response cache reports the same usage details, and costs nothing */
	server_control("{\"llamacpp_usage\":false,\"cached_tokens\":0,\"cache_write_tokens\":0}");
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	l = new_llm(1, cache_path);
	struct model_config a = srv_model("anthropic", "claude-3-5-haiku-latest", true);
	struct got g = {0};
	char q[256];
	snprintf(q, sizeof q, "%s", long_q);
	q[0] = 'h';
	ask(l, &a, q, &g);
	assert_true(g.cached);
	assert_true(g.cost == 0);
	assert_int_equal(g.usage.in + g.usage.out, 0);
	assert_int_equal(g.answer.in, in);
	assert_int_equal(g.answer.cached, 32);
	assert_int_equal(g.answer.cache_write, 8);
	assert_int_equal(g.reused, in + out);
	llm_get_stats(l, &s);
	assert_int_equal(s.tokens_prompt_cached, 0); /* nothing read from the provider's cache */
	assert_int_equal(s.tokens_reused, in + out);
	assert_int_equal(server_stat("requests"), 0);
	llm_free(l);
	sbuf_free(&g.chunks);
}

/* ---- cut streams ---- */

static void test_cut_stream_is_estimated(void **state)
{
	(void)state;
	NEED_SERVER();
	const char *q = "one two three four five six seven eight nine ten eleven twelve";
	char reply[128];
	snprintf(reply, sizeof reply, "echo: %s", q);
	static const char *const faults[] = {"drop_during", "malformed"};
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		before(NULL);
		char ctl[64];
		snprintf(ctl, sizeof ctl, "{\"%s\":1}", faults[i]);
		server_control(ctl);
		struct llm *l = new_llm(1, NULL);
		struct model_config m = srv_model("openai", "gpt-4o-mini", true);
		struct got g = {0};
		ask(l, &m, q, &g);
		if (!g.err[0])
			fail_msg("%s: no error", faults[i]);
		/* prompt as projected (4 tokens of framing a message), output from what arrived */
		long in = 4 + toks(q), out = toks(sbuf_str(&g.chunks));
		if (out <= 0 || out >= toks(reply))
			fail_msg("%s: %ld tokens received of %ld", faults[i], out, toks(reply));
		assert_true(g.usage.estimated);
		assert_int_equal(g.usage.in, in);
		assert_int_equal(g.usage.out, out);
		assert_true(near(g.cost, usd(in, 0.15, 0, 0, 0, 0, out, 0.60)));
		struct llm_stats s;
		llm_get_stats(l, &s);
		assert_int_equal(s.estimated, 1);
		assert_int_equal(s.billed_failures, 1);
		assert_int_equal(s.tokens_in + s.tokens_out, in + out);
		llm_free(l);
		sbuf_free(&g.chunks);
	}
	/* a whole (not streamed) answer cut half way: the prompt is counted, the output unknown */
	before(NULL);
	server_control("{\"drop_during\":1}");
	struct llm *lw = new_llm(1, NULL);
	struct model_config mw = srv_model("openai", "gpt-4o-mini", false);
	struct got gw = {0};
	ask(lw, &mw, q, &gw);
	assert_true(gw.err[0] != '\0');
	assert_true(gw.usage.estimated);
	assert_int_equal(gw.usage.in, 4 + toks(q));
	assert_int_equal(gw.usage.out, 0);
	llm_free(lw);
	/* a stream that lost only its end marker had its usage: counted as reported */
	before(NULL);
	server_control("{\"truncate\":1}");
	struct llm *l = new_llm(1, NULL);
	struct model_config m = srv_model("openai", "gpt-4o-mini", true);
	struct got g = {0};
	ask(l, &m, q, &g);
	assert_non_null(strstr(g.err, "stream ended before completion"));
	assert_false(g.usage.estimated);
	assert_int_equal(g.usage.in, toks(q));
	assert_int_equal(g.usage.out, toks(reply));
	llm_free(l);
	sbuf_free(&g.chunks);
	/* a share of dropped streams retried to success: every attempt the server answered is
	 * counted (the cut ones estimated from what arrived, so never more than was produced) */
	before(NULL);
	server_control("{\"drop_during\":0.5,\"seed\":3}");
	l = new_llm(10, NULL);
	struct got gs[6] = {{0}};
	long want_in = 0, answered_out = 0, retried = 0;
	for (int i = 0; i < 6; i++) {
		char text[96], echo[128];
		snprintf(text, sizeof text, "%s %d", q, i);
		snprintf(echo, sizeof echo, "echo: %s", text);
		ask(l, &m, text, &gs[i]);
		assert_string_equal(gs[i].err, "");
		assert_int_equal(gs[i].usage.estimated, gs[i].attempts > 1);
		want_in += (gs[i].attempts - 1) * (4 + toks(text)) + toks(text);
		answered_out += toks(echo);
		retried += gs[i].attempts > 1;
		sbuf_free(&gs[i].chunks);
	}
	struct llm_stats s;
	llm_get_stats(l, &s);
	long requests = server_stat("requests");
	assert_true(requests > 6 && retried > 0);
	assert_int_equal(s.network_requests, requests);
	assert_int_equal(s.estimated, retried);
	assert_int_equal(s.tokens_in, want_in);
	assert_true(s.tokens_out > answered_out);
	assert_true(s.tokens_out < server_stat("tokens_out"));
	llm_free(l);
}

/* ---- reasoning ---- */

static void test_reasoning_kept_apart(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"reasoning_tokens\":5}");
	static const char *const provs[] = {"openai", "anthropic", "ollama"};
	struct llm *l = new_llm(1, cache_path);
	long reasoning = 0;
	for (int i = 0; i < 6; i++) {
		const char *p = provs[i / 2];
		bool stream = i % 2;
		struct model_config m = srv_model(p, "gpt-4o-mini", stream);
		char q[64];
		snprintf(q, sizeof q, "Think first (%d)", i);
		struct got g = {0};
		ask(l, &m, q, &g);
		if (g.err[0])
			fail_msg("%s stream=%d: %s", p, stream, g.err);
		char echo[96];
		snprintf(echo, sizeof echo, "echo: %s", q);
		assert_string_equal(g.text, echo); /* never in the answer ... */
		if (stream)
			assert_string_equal(sbuf_str(&g.chunks), echo); /* nor in its preview */
		assert_string_equal(g.reasoning, "hmm hmm hmm hmm hmm ");
		assert_int_equal(g.usage.out, toks(echo) + 5); /* reasoning is billed output */
		/* counted by OpenAI; estimated from the text where none is reported (Anthropic and
		 * Ollama count thinking as output) */
		assert_int_equal(g.usage.reasoning, 5);
		reasoning += g.usage.reasoning;
		sbuf_free(&g.chunks);
	}
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.tokens_reasoning, reasoning);
	llm_free(l);
	/* the cache keeps the reasoning and its count */
	l = new_llm(1, cache_path);
	struct model_config m = srv_model("openai", "gpt-4o-mini", true);
	struct got g = {0};
	ask(l, &m, "Think first (1)", &g);
	assert_true(g.cached);
	assert_string_equal(g.reasoning, "hmm hmm hmm hmm hmm ");
	assert_int_equal(g.answer.reasoning, 5);
	llm_free(l);
	sbuf_free(&g.chunks);
}

/* o-series and gpt-5 refuse max_tokens and a temperature: max_completion_tokens, no
 * temperature, and a request key that does not depend on the unsent temperature. */
static void test_reasoning_model_request(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm *l = new_llm(1, NULL);
	struct model_config m = srv_model("openai", "o3-mini", false);
	m.temperature = 0.7;
	m.max_tokens = 50;
	struct got g = {0};
	ask(l, &m, "Reason", &g);
	assert_string_equal(g.err, "");
	char *body = server_last_body();
	cJSON *j = cJSON_Parse(body);
	free(body);
	assert_non_null(j);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "temperature"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "max_tokens"));
	const cJSON *mct = cJSON_GetObjectItemCaseSensitive(j, "max_completion_tokens");
	assert_true(cJSON_IsNumber(mct) && mct->valuedouble == 50);
	cJSON_Delete(j);
	/* the configuration overrides the table */
	m.reasoning = MODEL_REASONING_NO;
	struct got g2 = {0};
	ask(l, &m, "Reason", &g2);
	body = server_last_body();
	j = cJSON_Parse(body);
	free(body);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "temperature")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "max_tokens")));
	cJSON_Delete(j);
	llm_free(l);
	/* keys: what is sent, so temperatures that are not sent do not matter, and a reasoning
	 * request never shares a key with the same one sent with a temperature */
	struct llm_message msg = {"user", "Reason"};
	char k1[65], k2[65], k3[65];
	m.reasoning = MODEL_REASONING_AUTO;
	struct llm_request req = {&m, &msg, 1, NULL};
	llm_request_key(&req, k1);
	m.temperature = 0;
	llm_request_key(&req, k2);
	assert_string_equal(k1, k2);
	m.reasoning = MODEL_REASONING_NO;
	llm_request_key(&req, k3);
	assert_string_not_equal(k1, k3);
	struct model_config plain = srv_model("openai", "gpt-4o-mini", false);
	req.model = &plain;
	llm_request_key(&req, k1);
	plain.temperature = 0.7;
	llm_request_key(&req, k2);
	assert_string_not_equal(k1, k2);
}

/* ---- the caps count what was billed ---- */

static void on_engine_event(void *arg, const struct engine_event *ev)
{
	(void)arg, (void)ev;
}

/* Every call of a forward pass is refused: nothing is answered, all of it is billed, and the
 * session's spend (which the caps compare with) says so. */
static void test_caps_count_refusals(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"refusal\":true}");
	struct fx f;
	fx_init(&f, FX_DATA);
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "provider", "openai");
	cJSON_AddStringToObject(m, "base_url", base_openai);
	cJSON_AddStringToObject(m, "model", "gpt-4o-mini");
	cJSON_AddStringToObject(m, "api_key_env", "ADOPT_MONEY_API_KEY");
	cJSON_AddNumberToObject(m, "price_in", 10000);
	cJSON_AddNumberToObject(m, "price_out", 20000);
	fx_patch(&f, "two.json", "models.task", m);
	struct session *s = fx_load(&f, "two.json");
	struct llm *l = fx_llm(&f, NULL);
	struct engine_opts o = {0};
	struct err e = {{0}};
	struct engine *en = engine_new(s, l, &o, on_engine_event, NULL, &e);
	if (!en)
		fail_msg("engine_new: %s", e.msg);
	assert_int_equal(engine_step(en), 0); /* the forward pass */
	for (int i = 0; i < 100000 && engine_busy(en); i++) {
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
		engine_poll(en);
	}
	assert_false(engine_busy(en));
	struct llm_stats st;
	llm_get_stats(l, &st);
	assert_true(st.failed > 0 && st.done == 0);
	assert_int_equal(st.billed_failures, st.failed);
	assert_int_equal(server_stat("tokens_in"), st.tokens_in);
	assert_int_equal(server_stat("tokens_out"), st.tokens_out);
	struct engine_totals spent;
	engine_spent(en, &spent);
	assert_true(spent.cost_usd > 0.1 && near(spent.cost_usd, st.cost_usd));
	assert_int_equal(spent.tokens_in + spent.tokens_out, st.tokens_in + st.tokens_out);
	const struct iteration *it = engine_current(en);
	assert_true(near(it->cost[PHASE_FORWARD].cost_usd, st.cost_usd));
	/* a cap below what the refusals cost stops the next phase */
	s->opt.cost_cap_usd = spent.cost_usd * 0.999;
	assert_int_equal(engine_step(en), -1);
	const char *why = engine_pause_reason(en);
	assert_non_null(why);
	char paid[32];
	snprintf(paid, sizeof paid, "has spent $%.4f", spent.cost_usd);
	if (!strstr(why, "budget cap") || !strstr(why, paid))
		fail_msg("pause: %s (want \"%s\")", why, paid);
	engine_free(en);
	llm_free(l);
	session_free(s);
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_usage_on_the_wire),
	    cmocka_unit_test_setup(test_refusal_is_billed, before),
	    cmocka_unit_test_setup(test_error_after_usage_is_billed, before),
	    cmocka_unit_test_setup(test_cached_tokens_priced_apart, before),
	    cmocka_unit_test_setup(test_cut_stream_is_estimated, before),
	    cmocka_unit_test_setup(test_reasoning_kept_apart, before),
	    cmocka_unit_test_setup(test_reasoning_model_request, before),
	    cmocka_unit_test_setup(test_caps_count_refusals, before),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

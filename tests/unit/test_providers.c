/* test_providers.c: the openai, anthropic and ollama wire formats: requests built, streams parsed
 * whole, byte by byte and in random splits (all must agree), whole bodies, error bodies, broken
 * and truncated streams, bytes that are not UTF-8; and the provider table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "llm/provider.h"

/* ---- harness ---- */

struct run {
	struct llm_result r;
	struct sbuf chunks; /* everything the chunk callback was given */
	int feed_rc, end_rc;
};

static void on_chunk(void *arg, const char *text, size_t len)
{
	struct run *run = arg;
	assert_true(len > 0);
	sbuf_add(&run->chunks, text, len);
}

static void run_free(struct run *run)
{
	llm_result_free(&run->r);
	sbuf_free(&run->chunks);
}

enum split { WHOLE, BYTES, RANDOM };

static void stream_run(const struct provider_ops *ops, const char *in, size_t n, enum split how,
                       uint64_t seed, struct run *run)
{
	*run = (struct run){0};
	struct rng rng;
	rng_seed(&rng, seed);
	void *st = ops->stream_new();
	size_t i = 0;
	while (i < n && run->feed_rc == 0) {
		size_t k = how == WHOLE ? n : how == BYTES ? 1 : 1 + rng_below(&rng, 40);
		k = MIN(k, n - i);
		run->feed_rc = ops->stream_feed(st, in + i, k, &run->r, on_chunk, run);
		i += k;
	}
	run->end_rc = run->feed_rc < 0 ? -1 : ops->stream_end(st, &run->r);
	ops->stream_free(st);
}

static void assert_str_same(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same_run(const struct run *a, const struct run *b)
{
	assert_int_equal(a->r.text.len, b->r.text.len);
	assert_memory_equal(sbuf_str(&a->r.text), sbuf_str(&b->r.text), a->r.text.len);
	assert_string_equal(sbuf_str(&a->r.reasoning), sbuf_str(&b->r.reasoning));
	assert_str_same(a->r.finish_reason, b->r.finish_reason);
	assert_str_same(a->r.error, b->r.error);
	assert_str_same(a->r.error_type, b->r.error_type);
	assert_int_equal(a->r.retryable, b->r.retryable);
	assert_int_equal(a->r.complete, b->r.complete);
	assert_int_equal(a->r.usage_seen, b->r.usage_seen);
	assert_int_equal(a->r.usage.in, b->r.usage.in);
	assert_int_equal(a->r.usage.out, b->r.usage.out);
	assert_int_equal(a->r.usage.cached, b->r.usage.cached);
	assert_int_equal(a->feed_rc, b->feed_rc);
	assert_int_equal(a->end_rc, b->end_rc);
}

/* Parses `in` whole into *out, and checks byte-by-byte and 12 random splits agree with it. */
static void stream_all_ways(const char *provider, const char *in, size_t n, struct run *out)
{
	const struct provider_ops *ops = provider_find(provider);
	assert_non_null(ops);
	stream_run(ops, in, n, WHOLE, 0, out);
	/* the chunk callback saw exactly the text, byte for byte */
	assert_int_equal(out->chunks.len, out->r.text.len);
	assert_memory_equal(sbuf_str(&out->chunks), sbuf_str(&out->r.text), out->r.text.len);
	struct run other;
	stream_run(ops, in, n, BYTES, 0, &other);
	assert_same_run(out, &other);
	run_free(&other);
	for (uint64_t seed = 1; seed <= 12; seed++) {
		stream_run(ops, in, n, RANDOM, seed, &other);
		assert_same_run(out, &other);
		run_free(&other);
	}
}

static void stream_all_ways_s(const char *provider, const char *in, struct run *out)
{
	stream_all_ways(provider, in, strlen(in), out);
}

static void assert_ok(const struct run *run)
{
	if (run->r.error)
		fail_msg("unexpected error: %s", run->r.error);
	assert_int_equal(run->feed_rc, 0);
	assert_int_equal(run->end_rc, 0);
	assert_true(run->r.complete);
}

static void assert_contains(const char *hay, const char *needle)
{
	assert_non_null(hay);
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void parse_body(const char *provider, const char *body, struct llm_result *r, int want_rc)
{
	*r = (struct llm_result){0};
	assert_int_equal(provider_find(provider)->parse(body, strlen(body), r), want_rc);
}

static void parse_err(const char *provider, int status, const char *body, struct llm_result *r)
{
	*r = (struct llm_result){0};
	provider_find(provider)->parse_error(status, body, strlen(body), r);
	assert_non_null(r->error);
	assert_non_null(r->error_type);
}

/* ---- requests ---- */

static const struct llm_message two_msgs[] = {
    {"system", "Be brief."},
    {"user", "Hi \"there\"\n"},
};

#define KEY "sk-test-KEY-0123456789"

static int build(const char *provider, struct model_config *m, const struct llm_message *msgs,
                 size_t n, const char *base, const char *key, bool stream, struct http_request *h,
                 struct err *e)
{
	struct llm_request req = {.model = m, .messages = msgs, .n_messages = n, .tag = "t"};
	return provider_find(provider)->build(&req, base, key, stream, h, e);
}

static void assert_headers(const struct http_request *h, const char *const *want)
{
	size_t i = 0;
	for (; want[i]; i++) {
		assert_non_null(h->headers[i]);
		assert_string_equal(h->headers[i], want[i]);
	}
	assert_null(h->headers[i]);
}

/* The key is in exactly one header, nowhere else. */
static void assert_key_only_in(const struct http_request *h, const char *header)
{
	assert_null(strstr(h->url, KEY));
	assert_null(strstr(h->body, KEY));
	int seen = 0;
	for (size_t i = 0; h->headers[i]; i++) {
		if (strstr(h->headers[i], KEY)) {
			seen++;
			assert_string_equal(h->headers[i], header);
		}
	}
	assert_int_equal(seen, 1);
}

static void test_openai_build(void **state)
{
	(void)state;
	struct model_config m = {.model = "gpt-4o-mini", .temperature = 0.7, .max_tokens = 64};
	struct http_request h;
	struct err e = {{0}};
	assert_int_equal(build("openai", &m, two_msgs, 2, NULL, KEY, true, &h, &e), 0);
	assert_string_equal(h.url, "https://api.openai.com/v1/chat/completions");
	assert_headers(&h, (const char *[]){"Authorization: Bearer " KEY,
	                                    "Content-Type: application/json", NULL});
	assert_key_only_in(&h, "Authorization: Bearer " KEY);
	assert_string_equal(h.body, "{\"model\":\"gpt-4o-mini\",\"messages\":["
	                            "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	                            "{\"role\":\"user\",\"content\":\"Hi \\\"there\\\"\\n\"}],"
	                            "\"temperature\":0.7,\"max_tokens\":64,\"stream\":true,"
	                            "\"stream_options\":{\"include_usage\":true}}");
	http_request_free(&h);

	/* no key: no Authorization header; max_tokens <= 0 is left out; the base as given */
	m.max_tokens = 0;
	m.temperature = 0;
	assert_int_equal(
	    build("openai", &m, two_msgs + 1, 1, "http://127.0.0.1:8080/", NULL, false, &h, &e), 0);
	assert_string_equal(h.url, "http://127.0.0.1:8080/chat/completions");
	assert_headers(&h, (const char *[]){"Content-Type: application/json", NULL});
	assert_string_equal(h.body, "{\"model\":\"gpt-4o-mini\",\"messages\":["
	                            "{\"role\":\"user\",\"content\":\"Hi \\\"there\\\"\\n\"}],"
	                            "\"temperature\":0,\"stream\":false}");
	http_request_free(&h);

	assert_int_equal(
	    build("openai", &m, two_msgs, 2, "http://localhost:8000/v1", "", true, &h, &e), 0);
	assert_string_equal(h.url, "http://localhost:8000/v1/chat/completions");
	http_request_free(&h);
}

static void test_build_rejects(void **state)
{
	(void)state;
	struct model_config m = {.model = "gpt-4o-mini"};
	struct http_request h;
	struct err e = {{0}};
	assert_int_equal(build("openai", &m, two_msgs, 2, "ftp://x", NULL, true, &h, &e), -1);
	assert_contains(e.msg, "must start with http:// or https://");
	assert_int_equal(build("openai", &m, two_msgs, 2, "http://a b", NULL, true, &h, &e), -1);
	assert_contains(e.msg, "space or a control character");
	/* a key that would smuggle in a header: refused, and not repeated in the message */
	assert_int_equal(
	    build("openai", &m, two_msgs, 2, NULL, "sk-abc\r\nX-Evil: 1", true, &h, &e), -1);
	assert_contains(e.msg, "control character");
	assert_null(strstr(e.msg, "sk-abc"));
	assert_int_equal(build("anthropic", &m, two_msgs, 2, NULL, "k\n", true, &h, &e), -1);
	assert_int_equal(build("ollama", &m, two_msgs, 0, NULL, NULL, true, &h, &e), -1);
	assert_contains(e.msg, "at least one message");
	struct model_config nomodel = {0};
	assert_int_equal(build("openai", &nomodel, two_msgs, 2, NULL, NULL, true, &h, &e), -1);
	assert_contains(e.msg, "names no model");
	/* anthropic: unknown roles and a system prompt alone */
	const struct llm_message tool[] = {{"user", "a"}, {"tool", "b"}};
	assert_int_equal(build("anthropic", &m, tool, 2, NULL, KEY, true, &h, &e), -1);
	assert_contains(e.msg, "message 2 has role \"tool\"");
	assert_int_equal(build("anthropic", &m, two_msgs, 1, NULL, KEY, true, &h, &e), -1);
	assert_contains(e.msg, "needs a user message");
}

static void test_anthropic_build(void **state)
{
	(void)state;
	struct model_config m = {.model = "claude-sonnet-4-20250514", .temperature = 0};
	const struct llm_message msgs[] = {
	    {"system", "Be brief."},         {"user", "Hi"},    {"assistant", "Hello."},
	    {"system", "Answer in French."}, {"user", "Again"},
	};
	struct http_request h;
	struct err e = {{0}};
	assert_int_equal(build("anthropic", &m, msgs, 5, NULL, KEY, true, &h, &e), 0);
	assert_string_equal(h.url, "https://api.anthropic.com/v1/messages");
	assert_headers(&h, (const char *[]){"x-api-key: " KEY, "anthropic-version: 2023-06-01",
	                                    "content-type: application/json", NULL});
	assert_key_only_in(&h, "x-api-key: " KEY);
	assert_string_equal(h.body, "{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":4096,"
	                            "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
	                            "{\"role\":\"assistant\",\"content\":\"Hello.\"},"
	                            "{\"role\":\"user\",\"content\":\"Again\"}],"
	                            "\"system\":\"Be brief.\\n\\nAnswer in French.\","
	                            "\"temperature\":0,\"stream\":true}");
	http_request_free(&h);

	m.max_tokens = 300;
	m.temperature = 0.5;
	assert_int_equal(
	    build("anthropic", &m, msgs + 1, 1, "http://127.0.0.1:9000/", KEY, false, &h, &e), 0);
	assert_string_equal(h.url, "http://127.0.0.1:9000/v1/messages");
	assert_string_equal(h.body, "{\"model\":\"claude-sonnet-4-20250514\",\"max_tokens\":300,"
	                            "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
	                            "\"temperature\":0.5,\"stream\":false}");
	http_request_free(&h);

	/* a base that already names /v1 does not get it twice */
	assert_int_equal(
	    build("anthropic", &m, msgs + 1, 1, "https://proxy.example/v1/", KEY, false, &h, &e),
	    0);
	assert_string_equal(h.url, "https://proxy.example/v1/messages");
	http_request_free(&h);
}

static void test_ollama_build(void **state)
{
	(void)state;
	struct model_config m = {.model = "llama3.2", .temperature = 0.2, .max_tokens = 100};
	struct http_request h;
	struct err e = {{0}};
	assert_int_equal(build("ollama", &m, two_msgs, 2, NULL, NULL, false, &h, &e), 0);
	assert_string_equal(h.url, "http://localhost:11434/api/chat");
	assert_headers(&h, (const char *[]){"Content-Type: application/json", NULL});
	assert_string_equal(h.body, "{\"model\":\"llama3.2\",\"messages\":["
	                            "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	                            "{\"role\":\"user\",\"content\":\"Hi \\\"there\\\"\\n\"}],"
	                            "\"stream\":false,\"options\":{\"temperature\":0.2,"
	                            "\"num_predict\":100}}");
	http_request_free(&h);

	m.max_tokens = -1;
	assert_int_equal(build("ollama", &m, two_msgs + 1, 1, NULL, KEY, true, &h, &e), 0);
	assert_key_only_in(&h, "Authorization: Bearer " KEY);
	assert_contains(h.body, "\"stream\":true,\"options\":{\"temperature\":0.2}}");
	http_request_free(&h);

	/* OLLAMA_HOST forms */
	static const struct {
		const char *base, *url;
	} hosts[] = {
	    {"127.0.0.1:11434", "http://127.0.0.1:11434/api/chat"},
	    {"0.0.0.0", "http://0.0.0.0:11434/api/chat"},
	    {" myhost:8080 ", "http://myhost:8080/api/chat"},
	    {"[::1]:9999", "http://[::1]:9999/api/chat"},
	    {"[::1]", "http://[::1]:11434/api/chat"},
	    {"::1", "http://[::1]:11434/api/chat"},
	    {"https://ollama.example.com/", "https://ollama.example.com/api/chat"},
	    {"http://box:11434", "http://box:11434/api/chat"},
	    {"gpu1:8000/ollama", "http://gpu1:8000/ollama/api/chat"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
		assert_int_equal(
		    build("ollama", &m, two_msgs, 2, hosts[i].base, NULL, true, &h, &e), 0);
		assert_string_equal(h.url, hosts[i].url);
		http_request_free(&h);
	}
}

static void test_provider_table(void **state)
{
	(void)state;
	assert_string_equal(provider_names(), "openai, anthropic, ollama, scripted");
	const struct provider_ops *s = provider_find("scripted");
	assert_non_null(s);
	assert_null(s->build);
	assert_false(s->key_required);
	assert_null(provider_find("gemini"));
	assert_null(provider_find(NULL));
	assert_string_equal(provider_find("openai")->key_env, "OPENAI_API_KEY");
	assert_true(provider_find("anthropic")->key_required);
	assert_null(provider_find("ollama")->key_env);

	const struct provider_ops *o = provider_find("ollama");
	unsetenv("OLLAMA_HOST");
	assert_string_equal(provider_base_url(o, NULL), "http://localhost:11434");
	setenv("OLLAMA_HOST", "10.0.0.2:11434", 1);
	assert_string_equal(provider_base_url(o, ""), "10.0.0.2:11434");
	assert_string_equal(provider_base_url(o, "http://mine:1"), "http://mine:1");
	unsetenv("OLLAMA_HOST");
	unsetenv("OPENAI_BASE_URL");
	assert_string_equal(provider_base_url(provider_find("openai"), NULL),
	                    "https://api.openai.com/v1");

	/* freeing zeroed or NULL things is harmless */
	struct http_request h = {0};
	http_request_free(&h);
	http_request_free(NULL);
	struct llm_result r = {0};
	llm_result_free(&r);
	llm_result_free(NULL);
}

/* ---- openai ---- */

#define OAI_HEAD                                                                                   \
	"data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\","                     \
	"\"created\":1694268190,\"model\":\"gpt-4o-mini-2024-07-18\","                             \
	"\"system_fingerprint\":\"fp_44709d6fcb\","
#define OAI_DELTA(d, fin)                                                                          \
	OAI_HEAD "\"choices\":[{\"index\":0,\"delta\":" d ",\"logprobs\":null,"                    \
	         "\"finish_reason\":" fin "}],\"usage\":null}\n\n"

/* As the OpenAI reference shows it with stream_options.include_usage. */
static const char oai_usage_last[] =
    OAI_DELTA("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null")
        OAI_DELTA("{\"content\":\"Hello\"}", "null") OAI_DELTA("{\"content\":\" world\"}", "null")
            OAI_DELTA("{}", "\"stop\"") OAI_HEAD
    "\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
    "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
    "data: [DONE]\n\n";

static void test_openai_stream_usage_last(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("openai", oai_usage_last, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "Hello world");
	assert_string_equal(sbuf_str(&run.chunks), "Hello world");
	assert_string_equal(run.r.finish_reason, "stop");
	assert_true(run.r.usage_seen);
	assert_int_equal(run.r.usage.in, 19);
	assert_int_equal(run.r.usage.out, 10);
	assert_int_equal(run.r.usage.cached, 4);
	assert_int_equal(run.r.reasoning.len, 0);
	run_free(&run);
}

/* llama.cpp's server style: CRLF, usage and timings on the finishing chunk, null content. */
static const char oai_usage_on_finish[] =
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":null}}],\"created\":1735000000,\"id\":\"chatcmpl-x\",\"model\":\"qwen\","
    "\"object\":\"chat.completion.chunk\"}\r\n\r\n"
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"Par\"}}],"
    "\"object\":\"chat.completion.chunk\"}\r\n\r\n"
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"is\"}}],"
    "\"object\":\"chat.completion.chunk\"}\r\n\r\n"
    "data: {\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"delta\":{}}],"
    "\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":2,"
    "\"prompt_tokens\":7,\"total_tokens\":9},\"timings\":{\"prompt_n\":7,\"prompt_ms\":12.5,"
    "\"predicted_n\":2,\"predicted_per_second\":80.1},\"x_groq\":{\"id\":\"req_1\"}}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

static void test_openai_stream_usage_on_finish(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("openai", oai_usage_on_finish, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "Paris");
	assert_string_equal(run.r.finish_reason, "length");
	assert_true(run.r.usage_seen);
	assert_int_equal(run.r.usage.in, 7);
	assert_int_equal(run.r.usage.out, 2);
	assert_int_equal(run.r.usage.cached, 0);
	run_free(&run);

	/* vLLM's usage chunk may carry "choices": null */
	static const char vllm[] = OAI_DELTA(
	    "{\"content\":\"ok\"}",
	    "\"stop\"") "data: {\"id\":\"c\",\"choices\":null,\"usage\":{\"prompt_tokens\":3,"
	                "\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";
	stream_all_ways_s("openai", vllm, &run);
	assert_ok(&run);
	assert_int_equal(run.r.usage.in, 3);
	assert_int_equal(run.r.usage.out, 1);
	run_free(&run);
}

/* vLLM / DeepSeek reasoning models: reasoning_content deltas, then content; a comment line. */
static const char oai_reasoning[] =
    ": keep-alive\n\n" OAI_DELTA("{\"role\":\"assistant\",\"reasoning_content\":\"Let me think.\","
                                 "\"content\":null}",
                                 "null")
        OAI_DELTA("{\"reasoning_content\":\" 2+2=4.\",\"content\":null}", "null")
            OAI_DELTA("{\"content\":\"4\",\"reasoning_content\":null}", "null")
                OAI_DELTA("{\"reasoning\":\" (checked)\"}", "null")
                    OAI_DELTA("{}", "\"stop\"") "data: [DONE]\n\n";

static void test_openai_stream_reasoning(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("openai", oai_reasoning, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "4");
	assert_string_equal(sbuf_str(&run.chunks), "4");
	assert_string_equal(sbuf_str(&run.r.reasoning), "Let me think. 2+2=4. (checked)");
	assert_false(run.r.usage_seen);
	run_free(&run);
}

static const char oai_refusal[] =
    OAI_DELTA("{\"role\":\"assistant\",\"content\":null,\"refusal\":\"\"}", "null")
        OAI_DELTA("{\"refusal\":\"I'm sorry, \"}", "null")
            OAI_DELTA("{\"refusal\":\"I can't help with that.\"}", "null")
                OAI_DELTA("{}", "\"stop\"") "data: [DONE]\n\n";

static void test_openai_stream_refusal(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("openai", oai_refusal, &run);
	assert_string_equal(run.r.error, "model refused: I'm sorry, I can't help with that.");
	assert_string_equal(run.r.error_type, "refusal");
	assert_false(run.r.retryable);
	assert_true(run.r.complete);
	assert_int_equal(run.r.text.len, 0);
	assert_int_equal(run.feed_rc, -1);
	run_free(&run);
}

static void test_openai_stream_error_chunk(void **state)
{
	(void)state;
	static const char in[] = OAI_DELTA(
	    "{\"content\":\"par\"}",
	    "null") "data: {\"error\":{\"message\":\"The server had an error while processing your "
	            "request.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}"
	            "\n\n" OAI_DELTA("{\"content\":\"never\"}", "null");
	struct run run;
	stream_all_ways_s("openai", in, &run);
	assert_string_equal(run.r.error, "The server had an error while "
	                                 "processing your request.");
	assert_string_equal(run.r.error_type, "server_error");
	assert_true(run.r.retryable);
	assert_int_equal(run.feed_rc, -1);
	assert_string_equal(sbuf_str(&run.r.text), "par");
	run_free(&run);

	/* vLLM's flat form, with a numeric code */
	static const char flat[] = "data: {\"object\":\"error\",\"message\":\"max_tokens is too "
	                           "large\",\"type\":\"BadRequestError\",\"param\":null,"
	                           "\"code\":400}\n\n";
	stream_all_ways_s("openai", flat, &run);
	assert_string_equal(run.r.error, "max_tokens is too large");
	assert_false(run.r.retryable);
	run_free(&run);
}

static void test_openai_stream_malformed(void **state)
{
	(void)state;
	static const char named[] =
	    "event: heartbeat\ndata: alive\n\n"
	    "event: chunk\n" OAI_DELTA("{\"content\":\"x\"}", "\"stop\"") "data: [DONE]\n\n";
	struct run named_run;
	stream_all_ways_s("openai", named, &named_run);
	assert_ok(&named_run);
	assert_string_equal(sbuf_str(&named_run.r.text), "x");
	run_free(&named_run);

	static const char in[] =
	    OAI_DELTA("{\"content\":\"ok\"}",
	              "null") "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"\n\n"
	                      "data: [DONE]\n\n";
	struct run run;
	stream_all_ways_s("openai", in, &run);
	assert_contains(run.r.error, "malformed JSON in a streamed chunk: {\"choices\"");
	assert_string_equal(run.r.error_type, "malformed_response");
	assert_true(run.r.retryable);
	assert_int_equal(run.feed_rc, -1);
	assert_false(run.r.complete);
	assert_string_equal(sbuf_str(&run.r.text), "ok");
	run_free(&run);
}

static void test_openai_stream_truncated(void **state)
{
	(void)state;
	/* cut after a chunk, and cut in the middle of one */
	static const char in[] =
	    OAI_DELTA("{\"content\":\"Hel\"}", "null") OAI_DELTA("{\"content\":\"lo\"}", "null");
	struct run run;
	stream_all_ways_s("openai", in, &run);
	assert_int_equal(run.feed_rc, 0);
	assert_int_equal(run.end_rc, -1);
	assert_string_equal(run.r.error, "stream ended before completion");
	assert_true(run.r.retryable);
	assert_false(run.r.complete);
	assert_string_equal(sbuf_str(&run.r.text), "Hello");
	run_free(&run);

	stream_all_ways("openai", in, sizeof in - 1 - 30, &run);
	assert_int_equal(run.end_rc, -1);
	assert_true(run.r.retryable);
	assert_string_equal(run.r.error, "stream ended before completion");
	assert_string_equal(sbuf_str(&run.r.text), "Hel");
	run_free(&run);

	/* an empty body */
	stream_all_ways("openai", "", 0, &run);
	assert_string_equal(run.r.error, "stream ended before completion");
	run_free(&run);
}

static void test_openai_stream_bytes(void **state)
{
	(void)state;
	/* raw invalid UTF-8 kept byte for byte; a lone surrogate escape read as U+FFFD; an
	 * escaped backslash before "u" left alone; a real surrogate pair decoded */
	static const char in[] = OAI_DELTA("{\"content\":\"\xff\xfe\xc3(\"}", "null")
	    OAI_DELTA("{\"content\":\"a\\ud83d\"}", "null")
	        OAI_DELTA("{\"content\":\"\\\\ud800 \\ud800|\\ud83d\\ude00\"}", "null")
	            OAI_DELTA("{\"content\":\"\x1b[31m\"}", "\"stop\"") "data: [DONE]";
	struct run run;
	stream_all_ways_s("openai", in, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "\xff\xfe\xc3(a\xef\xbf\xbd\\ud800 "
	                                           "\xef\xbf\xbd|\xf0\x9f\x98\x80\x1b[31m");
	run_free(&run);
}

/* A NUL, escaped or raw, inside a reply cuts nothing: each becomes the byte 0xC0 (never valid
 * UTF-8), which the LLM layer's repair then stores as U+FFFD and counts (utf8.h).  An escaped
 * backslash before "u0000" is text, not a NUL. */
static void test_nul_in_text(void **state)
{
	(void)state;
	static const char want[] = "a\xc0"
	                           "b\xc0"
	                           "c\\u0000d";
	static const struct {
		const char *provider, *head, *tail;
	} bodies[] = {
	    {"openai",
	     "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"",
	     "\"},\"finish_reason\":\"stop\"}]}"},
	    {"anthropic", "{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"",
	     "\"}],\"stop_reason\":\"end_turn\"}"},
	    {"ollama", "{\"message\":{\"role\":\"assistant\",\"content\":\"", "\"},\"done\":true}"},
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct sbuf body = {0};
		sbuf_adds(&body, bodies[i].head);
		sbuf_add(&body, "a\\u0000b\0c\\\\u0000d", 18); /* a raw NUL after b */
		sbuf_adds(&body, bodies[i].tail);
		struct llm_result r = {0};
		assert_int_equal(provider_find(bodies[i].provider)->parse(body.s, body.len, &r), 0);
		assert_int_equal(r.text.len, strlen(want));
		assert_string_equal(sbuf_str(&r.text), want);
		char *text = sbuf_take(&r.text);
		size_t n = strlen(text);
		assert_int_equal(utf8_repair(&text, &n), 2);
		assert_string_equal(text, "a\xef\xbf\xbd"
		                          "b\xef\xbf\xbd"
		                          "c\\u0000d");
		free(text);
		llm_result_free(&r);
		sbuf_free(&body);
	}
	/* streamed: the fast reader leaves such a chunk to cJSON, which gets the same */
	static const char in[] =
	    OAI_DELTA("{\"content\":\"x\\u0000y\"}", "\"stop\"") "data: [DONE]";
	struct run run;
	stream_all_ways_s("openai", in, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "x\xc0y");
	run_free(&run);
}

static void test_openai_stream_too_large(void **state)
{
	(void)state;
	struct sbuf in = {0};
	char *piece = xmalloc(65537);
	memset(piece, 'x', 65536);
	piece[65536] = '\0';
	size_t total = 0;
	while (total <= LLM_RESULT_MAX_TEXT + 65536) {
		sbuf_addf(&in,
		          "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n",
		          piece);
		total += 65536;
	}
	free(piece);
	const struct provider_ops *ops = provider_find("openai");
	struct llm_result r = {0};
	void *st = ops->stream_new();
	int rc = 0;
	size_t fed = 0;
	while (fed < in.len && rc == 0) {
		size_t k = MIN(in.len - fed, (size_t)1 << 20);
		rc = ops->stream_feed(st, in.s + fed, k, &r, NULL, NULL);
		fed += k;
	}
	assert_int_equal(rc, -1);
	assert_contains(r.error, "longer than the limit of 8 MiB");
	assert_false(r.retryable);
	assert_true(r.text.len <= LLM_RESULT_MAX_TEXT);
	assert_true(r.text.len > LLM_RESULT_MAX_TEXT - 65536);
	ops->stream_free(st);
	llm_result_free(&r);
	sbuf_free(&in);
}

static void test_openai_parse(void **state)
{
	(void)state;
	struct llm_result r;
	parse_body(
	    "openai",
	    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion\","
	    "\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"The image shows a wooden "
	    "boardwalk.\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
	    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1117,"
	    "\"completion_tokens\":46,\"total_tokens\":1163,\"prompt_tokens_details\":"
	    "{\"cached_tokens\":1024,\"audio_tokens\":0}},\"service_tier\":\"default\","
	    "\"system_fingerprint\":\"fp_fc9f1d7035\"}",
	    &r, 0);
	assert_null(r.error);
	assert_true(r.complete);
	assert_string_equal(sbuf_str(&r.text), "The image shows a wooden boardwalk.");
	assert_string_equal(r.finish_reason, "stop");
	assert_int_equal(r.usage.in, 1117);
	assert_int_equal(r.usage.out, 46);
	assert_int_equal(r.usage.cached, 1024);
	llm_result_free(&r);

	parse_body("openai",
	           "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"42\","
	           "\"reasoning_content\":\"six times seven\"},\"finish_reason\":\"stop\"}]}",
	           &r, 0);
	assert_string_equal(sbuf_str(&r.text), "42");
	assert_string_equal(sbuf_str(&r.reasoning), "six times seven");
	assert_false(r.usage_seen);
	llm_result_free(&r);

	parse_body("openai",
	           "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
	           "\"refusal\":\"I can't assist with that.\"},\"finish_reason\":\"stop\"}]}",
	           &r, -1);
	assert_string_equal(r.error, "model refused: I can't assist with that.");
	llm_result_free(&r);

	parse_body("openai", "{\"choices\":[{\"message\":{\"content\":\"trunc", &r, -1);
	assert_contains(r.error, "malformed JSON in the response");
	assert_true(r.retryable);
	llm_result_free(&r);

	parse_body("openai", "{\"object\":\"list\"}", &r, -1);
	assert_string_equal(r.error, "the response holds no choices");
	llm_result_free(&r);

	parse_body("openai", "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}", &r,
	           -1);
	assert_string_equal(r.error, "boom");
	assert_true(r.retryable);
	llm_result_free(&r);
}

static void test_openai_errors(void **state)
{
	(void)state;
	struct llm_result r;
	parse_err("openai", 400,
	          "{\"error\":{\"message\":\"'messages' must contain the word 'json'\","
	          "\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":null}}",
	          &r);
	assert_string_equal(r.error, "'messages' must contain the word 'json'");
	assert_string_equal(r.error_type, "invalid_request_error");
	assert_false(r.retryable);
	llm_result_free(&r);

	parse_err(
	    "openai", 401,
	    "{\"error\":{\"message\":\"Incorrect API key provided: sk-abc***xyz.\","
	    "\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}",
	    &r);
	assert_string_equal(r.error, "Incorrect API key provided: sk-abc***xyz.");
	assert_string_equal(r.error_type, "invalid_api_key");
	assert_false(r.retryable);
	llm_result_free(&r);

	parse_err(
	    "openai", 429,
	    "{\n  \"error\": {\n    \"message\": \"Rate limit reached for gpt-4o-mini on "
	    "requests per min (RPM): Limit 3, Used 3, Requested 1.\",\n    \"type\": "
	    "\"requests\",\n    \"param\": null,\n    \"code\": \"rate_limit_exceeded\"\n  }\n}\n",
	    &r);
	assert_string_equal(r.error_type, "rate_limit_exceeded");
	assert_contains(r.error, "Rate limit reached for gpt-4o-mini");
	assert_true(r.retryable);
	llm_result_free(&r);

	/* a 429 that waiting does not cure */
	parse_err(
	    "openai", 429,
	    "{\"error\":{\"message\":\"You exceeded your current quota.\","
	    "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
	    &r);
	assert_false(r.retryable);
	assert_true(r.permanent); /* the retry policy lets this win over the 429 */
	llm_result_free(&r);

	/* permanent whatever the status: model missing, prompt too long (llama.cpp, a 5xx from a
	 * gateway), a wrong key */
	static const struct {
		int status;
		const char *body;
	} permanent[] = {
	    {404, "{\"error\":{\"message\":\"The model `gpt-9` does not exist or you do not have "
	          "access to it.\",\"type\":\"invalid_request_error\",\"param\":null,"
	          "\"code\":\"model_not_found\"}}"},
	    {400, "{\"error\":{\"message\":\"This model's maximum context length is 128000 "
	          "tokens.\",\"type\":\"invalid_request_error\",\"param\":\"messages\","
	          "\"code\":\"context_length_exceeded\"}}"},
	    {500, "{\"error\":{\"code\":400,\"message\":\"the request exceeds the available "
	          "context size\",\"type\":\"exceed_context_size_error\"}}"},
	    {502, "{\"error\":{\"message\":\"bad key\",\"code\":\"invalid_api_key\"}}"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(permanent); i++) {
		parse_err("openai", permanent[i].status, permanent[i].body, &r);
		assert_true(r.permanent);
		assert_false(r.retryable);
		llm_result_free(&r);
	}
	parse_err("openai", 503, "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}",
	          &r);
	assert_false(r.permanent);
	llm_result_free(&r);

	parse_err("openai", 500,
	          "{\"error\":{\"message\":\"The server had an error processing your request.\","
	          "\"type\":\"server_error\",\"param\":null,\"code\":null}}",
	          &r);
	assert_string_equal(r.error, "The server had an error processing your "
	                             "request.");
	assert_true(r.retryable);
	llm_result_free(&r);

	/* a proxy's HTML page: an excerpt, single line, cut */
	struct sbuf html = {0};
	sbuf_adds(&html, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\x1b[2J<body>");
	for (int i = 0; i < 50; i++)
		sbuf_adds(&html, "<p>padding</p>");
	parse_err("openai", 502, sbuf_str(&html), &r);
	assert_string_equal(r.error_type, "bad_gateway");
	assert_true(r.retryable);
	assert_true(str_startswith(r.error, "<html>  <head><title>502 Bad Gateway</title>"));
	assert_true(str_endswith(r.error, "..."));
	assert_true(strlen(r.error) <= 203);
	for (const char *p = r.error; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	llm_result_free(&r);
	sbuf_free(&html);

	parse_err("openai", 503, "", &r);
	assert_string_equal(r.error, "empty response body (HTTP 503)");
	assert_string_equal(r.error_type, "service_unavailable");
	assert_true(r.retryable);
	llm_result_free(&r);

	parse_err("openai", 404, "{\"error\": \"model not found\"}", &r);
	assert_string_equal(r.error, "model not found");
	assert_string_equal(r.error_type, "not_found");
	assert_false(r.retryable);
	llm_result_free(&r);

	parse_err("openai", 408, "timeout", &r);
	assert_true(r.retryable);
	llm_result_free(&r);
	parse_err("openai", 403, "forbidden", &r);
	assert_false(r.retryable);
	assert_string_equal(r.error, "forbidden");
	llm_result_free(&r);
	parse_err("openai", 418, "teapot", &r);
	assert_string_equal(r.error_type, "http_418");
	llm_result_free(&r);
}

/* ---- anthropic ---- */

/* The Messages streaming reference transcript, with ping and a thinking block. */
static const char ant_stream[] =
    "event: message_start\n"
    "data: {\"type\": \"message_start\", \"message\": {\"id\": "
    "\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": "
    "\"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-20250514\", \"stop_reason\": "
    "null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, "
    "\"cache_creation_input_tokens\": 0, \"cache_read_input_tokens\": 10, "
    "\"output_tokens\": 1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": "
    "\"thinking\", \"thinking\": \"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
    "\"thinking_delta\", \"thinking\": \"Let me solve this.\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
    "\"signature_delta\", \"signature\": \"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\": \"content_block_start\", \"index\": 1, \"content_block\": {\"type\": "
    "\"text\", \"text\": \"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\": \"content_block_delta\", \"index\": 1, \"delta\": {\"type\": "
    "\"text_delta\", \"text\": \"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\": \"content_block_delta\", \"index\": 1, \"delta\": {\"type\": "
    "\"text_delta\", \"text\": \"!\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\": \"content_block_stop\", \"index\": 1}\n\n"
    "event: message_delta\n"
    "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", "
    "\"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n"
    "event: message_stop\n"
    "data: {\"type\": \"message_stop\"}\n\n";

static void test_anthropic_stream(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("anthropic", ant_stream, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "Hello!");
	assert_string_equal(sbuf_str(&run.chunks), "Hello!");
	assert_string_equal(sbuf_str(&run.r.reasoning), "Let me solve this.");
	assert_string_equal(run.r.finish_reason, "end_turn");
	assert_true(run.r.usage_seen);
	assert_int_equal(run.r.usage.in, 35); /* 25 + 10 read from the cache */
	assert_int_equal(run.r.usage.cached, 10);
	assert_int_equal(run.r.usage.out, 15);
	run_free(&run);
}

/* message_delta usage is cumulative and may repeat the input counts (server tools) */
static void test_anthropic_stream_usage(void **state)
{
	(void)state;
	static const char in[] =
	    "event: message_start\n"
	    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,"
	    "\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
	    "event: message_delta\n"
	    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
	    "\"usage\":{\"output_tokens\":7}}\n\n"
	    "event: message_delta\n"
	    "data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"input_tokens\":9,"
	    "\"output_tokens\":12}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	struct run run;
	stream_all_ways_s("anthropic", in, &run);
	assert_ok(&run);
	assert_string_equal(run.r.finish_reason, "max_tokens");
	assert_int_equal(run.r.usage.in, 109);
	assert_int_equal(run.r.usage.cached, 100);
	assert_int_equal(run.r.usage.out, 12);
	run_free(&run);
}

static void test_anthropic_stream_error(void **state)
{
	(void)state;
	static const char in[] =
	    "event: message_start\n"
	    "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":1}}}\n\n"
	    "event: content_block_delta\n"
	    "data: "
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	    "\"text\":\"Hi\"}}\n\n"
	    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	    "event: error\n"
	    "data: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": "
	    "\"Overloaded\"}}\n\n";
	struct run run;
	stream_all_ways_s("anthropic", in, &run);
	assert_int_equal(run.r.usage.in, 5);
	assert_string_equal(run.r.error, "Overloaded");
	assert_string_equal(run.r.error_type, "overloaded_error");
	assert_true(run.r.retryable);
	assert_int_equal(run.feed_rc, -1);
	assert_false(run.r.complete);
	assert_string_equal(sbuf_str(&run.r.text), "Hi");
	run_free(&run);

	static const char bad[] =
	    "event: error\n"
	    "data: {\"type\": \"error\", \"error\": {\"type\": \"invalid_request_error\", "
	    "\"message\": \"prompt is too long\"}}\n\n";
	stream_all_ways_s("anthropic", bad, &run);
	assert_false(run.r.retryable);
	run_free(&run);
}

static void test_anthropic_stream_broken(void **state)
{
	(void)state;
	struct run run;
	/* truncated: message_stop never came */
	size_t cut = strlen(ant_stream) - strlen("event: message_stop\n"
	                                         "data: {\"type\": \"message_stop\"}\n\n");
	stream_all_ways("anthropic", ant_stream, cut, &run);
	assert_int_equal(run.end_rc, -1);
	assert_string_equal(run.r.error, "stream ended before completion");
	assert_true(run.r.retryable);
	assert_string_equal(sbuf_str(&run.r.text), "Hello!");
	run_free(&run);

	/* malformed JSON */
	static const char bad[] = "event: content_block_delta\n"
	                          "data: {\"type\": \"content_block_delta\", \"delta\": {\n\n"
	                          "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	stream_all_ways_s("anthropic", bad, &run);
	assert_contains(run.r.error, "malformed JSON in a streamed event");
	assert_int_equal(run.feed_rc, -1);
	run_free(&run);

	/* non-UTF-8 text, CRLF endings, an unknown future event, a final event without its
	 * blank line */
	static const char odd[] =
	    "event: content_block_delta\r\n"
	    "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
	    "\"text\":\"\xe9t\xe9\"}}\r\n\r\n"
	    "event: content_block_delta\r\n"
	    "data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"input_json_delta\","
	    "\"partial_json\":\"{\\\"a\\\"\"}}\r\n\r\n"
	    "event: future_thing\r\ndata: {\"type\":\"future_thing\"}\r\n\r\n"
	    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}";
	stream_all_ways_s("anthropic", odd, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "\xe9t\xe9");
	run_free(&run);
}

static void test_anthropic_parse(void **state)
{
	(void)state;
	struct llm_result r;
	parse_body(
	    "anthropic",
	    "{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Hmm.\","
	    "\"signature\":\"x\"},{\"type\":\"text\",\"text\":\"Hi! My name is Claude.\"},"
	    "{\"type\":\"text\",\"text\":\" Bye.\"}],\"model\":\"claude-sonnet-4-20250514\","
	    "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
	    "2095,\"output_tokens\":503,\"cache_creation_input_tokens\":5,"
	    "\"cache_read_input_tokens\":0}}",
	    &r, 0);
	assert_true(r.complete);
	assert_string_equal(sbuf_str(&r.text), "Hi! My name is Claude. Bye.");
	assert_string_equal(sbuf_str(&r.reasoning), "Hmm.");
	assert_string_equal(r.finish_reason, "end_turn");
	assert_int_equal(r.usage.in, 2100);
	assert_int_equal(r.usage.out, 503);
	assert_int_equal(r.usage.cached, 0);
	llm_result_free(&r);

	parse_body("anthropic",
	           "{\"type\":\"message\",\"content\":[],\"stop_reason\":\"refusal\","
	           "\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}",
	           &r, -1);
	assert_contains(r.error, "model refused");
	llm_result_free(&r);

	parse_body("anthropic", "{\"type\":\"message\"}", &r, -1);
	assert_string_equal(r.error, "the response holds no content");
	llm_result_free(&r);

	parse_body("anthropic", "not json", &r, -1);
	assert_string_equal(r.error, "malformed JSON in the response: not json");
	llm_result_free(&r);
}

static void test_anthropic_errors(void **state)
{
	(void)state;
	static const struct {
		int status;
		const char *type, *message;
		bool retryable;
	} cases[] = {
	    {400, "invalid_request_error", "max_tokens: Field required", false},
	    {401, "authentication_error", "invalid x-api-key", false},
	    {403, "permission_error", "no access", false},
	    {404, "not_found_error", "model: claude-9", false},
	    {429, "rate_limit_error", "Number of request tokens has exceeded your rate limit",
	     true},
	    {500, "api_error", "Internal server error", true},
	    {529, "overloaded_error", "Overloaded", true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *body = xasprintf("{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":"
		                       "\"%s\"},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}",
		                       cases[i].type, cases[i].message);
		struct llm_result r;
		parse_err("anthropic", cases[i].status, body, &r);
		assert_string_equal(r.error, cases[i].message); /* the type is error_type only */
		assert_string_equal(r.error_type, cases[i].type);
		assert_int_equal(r.retryable, cases[i].retryable);
		llm_result_free(&r);
		free(body);
	}
}

/* ---- ollama ---- */

static const char ol_stream[] =
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"The\"},\"done\":false}\n"
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.4Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\" sky\",\"thinking\":\"blue?\"},"
    "\"done\":false}\n"
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.5Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\" is blue \xff.\"},\"done\":false}\n"
    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":"
    "\"stop\",\"total_duration\":4883583458,\"load_duration\":1334875,"
    "\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,\"eval_count\":282,"
    "\"eval_duration\":4535599000}\n";

static void test_ollama_stream(void **state)
{
	(void)state;
	struct run run;
	stream_all_ways_s("ollama", ol_stream, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "The sky is blue \xff.");
	assert_string_equal(sbuf_str(&run.r.reasoning), "blue?");
	assert_string_equal(run.r.finish_reason, "stop");
	assert_int_equal(run.r.usage.in, 26);
	assert_int_equal(run.r.usage.out, 282);
	run_free(&run);

	/* the last line without its newline, CRLF and blank lines elsewhere */
	static const char crlf[] = "{\"message\":{\"content\":\"a\"},\"done\":false}\r\n\r\n"
	                           "{\"message\":{\"content\":\"b\"},\"done\":true}";
	stream_all_ways_s("ollama", crlf, &run);
	assert_ok(&run);
	assert_string_equal(sbuf_str(&run.r.text), "ab");
	assert_false(run.r.usage_seen);
	run_free(&run);
}

static void test_ollama_stream_broken(void **state)
{
	(void)state;
	struct run run;
	static const char err[] =
	    "{\"message\":{\"content\":\"Once\"},\"done\":false}\n"
	    "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n";
	stream_all_ways_s("ollama", err, &run);
	assert_string_equal(run.r.error,
	                    "an error was encountered while running the model: unexpected EOF");
	assert_int_equal(run.feed_rc, -1);
	assert_false(run.r.complete);
	assert_string_equal(sbuf_str(&run.r.text), "Once");
	assert_string_equal(run.r.error_type, "error");
	assert_false(run.r.retryable);
	run_free(&run);

	/* truncated after the first lines */
	stream_all_ways("ollama", ol_stream, 200, &run);
	assert_int_equal(run.end_rc, -1);
	assert_true(run.r.retryable);
	assert_string_equal(run.r.error_type, "truncated");
	run_free(&run);

	/* a line without a message is rejected, as a whole response without one is, with the
	 * line (sanitised, cut) in the message */
	static const char nomsg[] = "{\"message\":{\"content\":\"a\"},\"done\":false}\n"
	                            "{\"response\":\"b\\u001b[31m\",\"done\":false}\n"
	                            "{\"message\":{\"content\":\"c\"},\"done\":true}\n";
	stream_all_ways_s("ollama", nomsg, &run);
	assert_int_equal(run.feed_rc, -1);
	assert_false(run.r.complete);
	assert_string_equal(run.r.error_type, "malformed_response");
	assert_contains(run.r.error, "a streamed line holds no message: {\"response\":\"b");
	assert_null(strchr(run.r.error, '\033'));
	run_free(&run);

	static const char bad[] = "{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"mess\n"
	                          "{\"done\":true}\n";
	stream_all_ways_s("ollama", bad, &run);
	assert_contains(run.r.error, "malformed JSON in a streamed line: {\"mess");
	run_free(&run);
}

static void test_ollama_parse(void **state)
{
	(void)state;
	struct llm_result r;
	parse_body("ollama",
	           "{\"model\":\"llama3.2\",\"created_at\":\"2023-12-12T14:13:43.416799Z\","
	           "\"message\":{\"role\":\"assistant\",\"content\":\"Hello! How are you today?\"},"
	           "\"done\":true,\"total_duration\":5191566416,\"load_duration\":2154458,"
	           "\"prompt_eval_count\":26,\"prompt_eval_duration\":383809000,\"eval_count\":298,"
	           "\"eval_duration\":4799921000}",
	           &r, 0);
	assert_true(r.complete);
	assert_string_equal(sbuf_str(&r.text), "Hello! How are you today?");
	assert_int_equal(r.usage.in, 26);
	assert_int_equal(r.usage.out, 298);
	llm_result_free(&r);

	parse_body("ollama", "{\"error\":\"model is loading\"}", &r, -1);
	assert_string_equal(r.error, "model is loading");
	llm_result_free(&r);

	parse_body("ollama", "{\"done\":true}", &r, -1);
	assert_string_equal(r.error, "the response holds no message: {\"done\":true}");
	llm_result_free(&r);

	parse_err("ollama", 404,
	          "{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}", &r);
	assert_string_equal(r.error, "model \"llama9\" not found, try pulling it first");
	assert_string_equal(r.error_type, "not_found");
	assert_false(r.retryable);
	llm_result_free(&r);

	parse_err("ollama", 503,
	          "{\"error\":\"server busy, please try again.  maximum pending "
	          "requests exceeded\"}",
	          &r);
	assert_true(r.retryable);
	llm_result_free(&r);

	parse_err("ollama", 500, "{\"error\":", &r);
	assert_string_equal(r.error, "{\"error\":");
	assert_true(r.retryable);
	llm_result_free(&r);
}

/* Garbage built from the formats' own pieces must never crash, and every failure says why. */
static void test_streams_survive_garbage(void **state)
{
	(void)state;
	static const char *const bits[] = {
	    "data: ",
	    "event: ",
	    "error",
	    "\n",
	    "\r\n",
	    "\r",
	    "\n\n",
	    "{",
	    "}",
	    "[",
	    "]",
	    "\"",
	    ":",
	    ",",
	    "\\",
	    "\\u",
	    "d83d",
	    "null",
	    "true",
	    "1e999",
	    "-1",
	    "\"choices\"",
	    "\"delta\"",
	    "\"content\"",
	    "\"message\"",
	    "\"text\"",
	    "\"type\"",
	    "\"done\"",
	    "\"usage\"",
	    "\"error\"",
	    "\"content_block_delta\"",
	    "\"text_delta\"",
	    "\"message_stop\"",
	    "[DONE]",
	    "\xff",
	    "\xc3",
	    "x",
	};
	static const char *const names[] = {"openai", "anthropic", "ollama"};
	struct rng rng;
	rng_seed(&rng, 42);
	for (int round = 0; round < 300; round++) {
		struct sbuf in = {0};
		int pieces = 1 + (int)rng_below(&rng, 60);
		for (int i = 0; i < pieces; i++)
			sbuf_adds(&in, bits[rng_below(&rng, ARRAY_SIZE(bits))]);
		const struct provider_ops *ops = provider_find(names[round % 3]);
		struct run run;
		stream_run(ops, in.s, in.len, RANDOM, (uint64_t)round, &run);
		if (run.feed_rc < 0 || run.end_rc < 0)
			assert_non_null(run.r.error);
		else
			assert_true(run.r.complete);
		run_free(&run);
		struct llm_result r = {0};
		if (ops->parse(in.s, in.len, &r) < 0)
			assert_non_null(r.error);
		llm_result_free(&r);
		ops->parse_error(500, in.s, in.len, &r);
		assert_non_null(r.error);
		llm_result_free(&r);
		sbuf_free(&in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_openai_build),
	    cmocka_unit_test(test_build_rejects),
	    cmocka_unit_test(test_anthropic_build),
	    cmocka_unit_test(test_ollama_build),
	    cmocka_unit_test(test_provider_table),
	    cmocka_unit_test(test_openai_stream_usage_last),
	    cmocka_unit_test(test_openai_stream_usage_on_finish),
	    cmocka_unit_test(test_openai_stream_reasoning),
	    cmocka_unit_test(test_openai_stream_refusal),
	    cmocka_unit_test(test_openai_stream_error_chunk),
	    cmocka_unit_test(test_openai_stream_malformed),
	    cmocka_unit_test(test_openai_stream_truncated),
	    cmocka_unit_test(test_openai_stream_bytes),
	    cmocka_unit_test(test_nul_in_text),
	    cmocka_unit_test(test_openai_stream_too_large),
	    cmocka_unit_test(test_openai_parse),
	    cmocka_unit_test(test_openai_errors),
	    cmocka_unit_test(test_anthropic_stream),
	    cmocka_unit_test(test_anthropic_stream_usage),
	    cmocka_unit_test(test_anthropic_stream_error),
	    cmocka_unit_test(test_anthropic_stream_broken),
	    cmocka_unit_test(test_anthropic_parse),
	    cmocka_unit_test(test_anthropic_errors),
	    cmocka_unit_test(test_ollama_stream),
	    cmocka_unit_test(test_ollama_stream_broken),
	    cmocka_unit_test(test_ollama_parse),
	    cmocka_unit_test(test_streams_survive_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_failures.c: what the LLM layer does when a provider fails or stops, against the test LLM
 * server (build/tests/llm-server, $LLM_SERVER; skipped with a message when missing): permanent
 * errors cost one request (the provider's type wins over a 429 or a 5xx), x-should-retry
 * either way, rate-limit reset headers (OpenAI durations, Anthropic RFC 3339) and a fixed
 * request window that every request gets through, the waiting state in llm_get_stats, a
 * streamed request answered with a whole JSON body, and finish reasons (cut answers, tool
 * calls).  Attempts are counted by the server; times are checked loosely (lower bounds that
 * tell the behaviour apart, upper bounds far from them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm/llm.h"
#include "llm_server.h"

#define KEY "failures-test-key"

static char tmpdir[64], rules_path[128];
static pid_t server_pid;
static int server_port;
static char base_openai[64], base_root[64];

/* ---- helpers ---- */

struct got {
	int n;
	char text[256];
	char err[512];
	char finish[32];
	int attempts;
	struct llm_usage usage;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	snprintf(g->text, sizeof g->text, "%s", r->text);
	snprintf(g->err, sizeof g->err, "%s", r->error ? r->error : "");
	snprintf(g->finish, sizeof g->finish, "%s", r->finish_reason ? r->finish_reason : "");
	g->attempts = r->attempts;
	g->usage = r->usage;
}

static cJSON *server_call(const char *method, const char *path, const char *body)
{
	cJSON *j = llm_server_call(server_port, method, path, body);
	assert_non_null(j);
	return j;
}

/* A number from /_stats by dotted path ("status.429"); 0 when absent. */
static long stat_of(const char *path)
{
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *v = j;
	char buf[64];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *seg = strtok(buf, "."); seg && v; seg = strtok(NULL, "."))
		v = cJSON_GetObjectItemCaseSensitive(v, seg);
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
	cJSON_Delete(j);
	return n;
}

static void control(const char *json)
{
	cJSON *j = server_call("POST", "/_control", json);
	assert_null(cJSON_GetObjectItem(j, "error"));
	cJSON_Delete(j);
}

static int before(void **state)
{
	(void)state;
	if (!server_pid)
		return 0;
	control("{\"rate_429\":0,\"rate_500\":0,\"retry_after\":1,\"window_ms\":0,"
	        "\"window_requests\":0,\"rate_headers\":0,\"error_kind\":0,\"should_retry\":0,"
	        "\"json_for_stream\":false,\"tool_call\":false,\"latency_ms\":0}");
	cJSON_Delete(server_call("POST", "/_reset", NULL));
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
	strcpy(tmpdir, "/tmp/adopt-failures-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rules_path, sizeof rules_path, "%s/rules.json", tmpdir);
	static const char rules[] =
	    "{\"rules\": [{\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}";
	struct err e;
	if (file_write_atomic(rules_path, rules, strlen(rules), &e) < 0)
		return -1;
	setenv("ADOPT_FAILURES_TEST_API_KEY", KEY, 1);
	const char *bin = llm_server_bin("test_failures");
	if (!bin)
		return 0;
	server_pid = llm_server_spawn(bin, rules_path, KEY, &server_port);
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
	rmdir(tmpdir);
	return 0;
}

static struct model_config srv_model(const char *provider)
{
	struct model_config m = {0};
	m.name = (char *)provider;
	m.provider = (char *)provider;
	m.base_url = !strcmp(provider, "openai") ? base_openai : base_root;
	m.model = "test-model";
	m.price_in = m.price_out = -1;
	m.stream = true;
	m.timeout_s = 10;
	m.api_key_env = "ADOPT_FAILURES_TEST_API_KEY";
	m.max_tokens = 200;
	return m;
}

/* Quick retries: what is asserted is how many, not how slow. */
static struct llm_options fast_opts(int max_attempts)
{
	struct llm_options o = {0};
	o.no_cache = true;
	o.backoff_base_s = 0.01;
	o.backoff_max_s = 0.05;
	o.max_attempts = max_attempts;
	o.seed = 7;
	return o;
}

static struct llm *new_llm(const struct llm_options *o)
{
	struct err e = {{0}};
	struct llm *l = llm_new(o, &e);
	if (!l)
		fail_msg("llm_new: %s", e.msg);
	return l;
}

static void ask(struct llm *l, const struct model_config *m, const char *text, struct got *g)
{
	struct llm_message msg = {"user", text};
	struct llm_request req = {m, &msg, 1, "test"};
	llm_submit(l, &req, on_done, NULL, g);
}

/* Drives the loop until nothing is pending; returns the largest wait_s seen meanwhile. */
static double run(struct llm *l, double max_s)
{
	double most = 0;
	int64_t end = now_ms() + (int64_t)(max_s * 1000);
	while (llm_pending(l) && now_ms() < end) {
		assert_true(llm_wait(l, NULL, 0, 50) >= 0);
		struct llm_stats s;
		llm_get_stats(l, &s);
		most = s.wait_s > most ? s.wait_s : most;
	}
	assert_int_equal(llm_pending(l), 0);
	return most;
}

/* ---- permanent failures ---- */

static void test_permanent_errors_cost_one_request(void **state)
{
	(void)state;
	NEED_SERVER();
	static const struct {
		int kind;
		const char *provider, *want;
	} cases[] = {
	    {1, "openai", "openai 429 insufficient_quota"},
	    {2, "openai", "openai 401 invalid_api_key"},
	    {3, "openai", "openai 404 model_not_found"},
	    {4, "openai", "openai 400 context_length_exceeded"},
	    {1, "anthropic", "anthropic 429 billing_error"},
	    {3, "anthropic", "anthropic 404 not_found_error"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		before(NULL);
		char ctl[64];
		snprintf(ctl, sizeof ctl, "{\"error_kind\":%d}", cases[i].kind);
		control(ctl);
		struct llm_options o = fast_opts(5);
		struct llm *l = new_llm(&o);
		struct model_config m = srv_model(cases[i].provider);
		struct got g = {0};
		ask(l, &m, "will this ever work?", &g);
		run(l, 5);
		if (!str_startswith(g.err, cases[i].want))
			fail_msg("case %zu: \"%s\", want \"%s...\"", i, g.err, cases[i].want);
		assert_int_equal(g.attempts, 1);
		assert_int_equal(stat_of("requests"), 1);
		struct llm_stats s;
		llm_get_stats(l, &s);
		assert_int_equal(s.network_requests, 1);
		llm_free(l);
	}
}

static void test_should_retry_header(void **state)
{
	(void)state;
	NEED_SERVER();
	/* an overloaded 529 the server says not to retry: one request */
	control("{\"error_kind\":5,\"should_retry\":2}");
	struct llm_options o = fast_opts(4);
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("anthropic");
	struct got g = {0};
	ask(l, &m, "overloaded?", &g);
	run(l, 5);
	assert_true(str_startswith(g.err, "anthropic 529 overloaded_error"));
	assert_int_equal(g.attempts, 1);
	assert_int_equal(stat_of("requests"), 1);
	llm_free(l);

	/* a 404 the server says to retry: every attempt is made */
	before(NULL);
	control("{\"error_kind\":3,\"should_retry\":1}");
	l = new_llm(&o);
	ask(l, &m, "there yet?", &g);
	run(l, 5);
	assert_true(str_startswith(g.err, "anthropic 404"));
	assert_non_null(strstr(g.err, "after 4 attempts"));
	assert_int_equal(stat_of("requests"), 4);
	llm_free(l);
}

/* ---- rate limits ---- */

/* One request a window of 800 ms, the second answered 429 with only the provider's reset
 * header (no Retry-After): waiting for the reset, the retry gets through on its first try,
 * where quick backoff alone would spend every attempt inside the window. */
static void test_reset_headers(void **state)
{
	(void)state;
	NEED_SERVER();
	static const char *const provs[] = {"openai", "anthropic"};
	for (size_t i = 0; i < ARRAY_SIZE(provs); i++) {
		before(NULL);
		control("{\"window_ms\":800,\"window_requests\":1,\"rate_headers\":1}");
		struct llm_options o = fast_opts(3);
		o.backoff_max_s = 5; /* room for the reset */
		struct llm *l = new_llm(&o);
		struct model_config m = srv_model(provs[i]);
		m.concurrency = 1;
		struct got a = {0}, b = {0};
		int64_t t0 = now_ms();
		ask(l, &m, "first", &a);
		ask(l, &m, "second", &b);
		double waited = run(l, 10);
		int64_t dt = now_ms() - t0;
		if (a.err[0] || b.err[0])
			fail_msg("%s: \"%s\" \"%s\"", provs[i], a.err, b.err);
		assert_string_equal(b.text, "echo: second");
		/* the first answer said no request was left: the second waited for the reset
		 * without a 429 at all */
		assert_int_equal(b.attempts, 1);
		assert_int_equal(stat_of("status.429"), 0);
		assert_int_equal(stat_of("requests"), 2);
		assert_true(waited > 0);
		assert_true(dt < 5000);
		llm_free(l);
	}
}

/* Six requests at once against two a window: the first wave meets 429s (nothing was known
 * yet); after that the client holds until each reset and every request gets through with
 * three attempts at most. */
static void test_request_window(void **state)
{
	(void)state;
	NEED_SERVER();
	static const int headers[] = {0, 1}; /* Retry-After; the provider's reset headers */
	for (size_t i = 0; i < ARRAY_SIZE(headers); i++) {
		before(NULL);
		char ctl[96];
		snprintf(ctl, sizeof ctl,
		         "{\"window_ms\":600,\"window_requests\":2,\"rate_headers\":%d}",
		         headers[i]);
		control(ctl);
		struct llm_options o = fast_opts(3);
		o.backoff_max_s = 5;
		struct llm *l = new_llm(&o);
		struct model_config m = srv_model("openai");
		m.concurrency = 6;
		struct got g[6] = {{0}};
		char text[6][16];
		int64_t t0 = now_ms();
		for (int k = 0; k < 6; k++) {
			snprintf(text[k], sizeof text[k], "w%d", k);
			ask(l, &m, text[k], &g[k]);
		}
		run(l, 15);
		int64_t dt = now_ms() - t0;
		for (int k = 0; k < 6; k++)
			if (g[k].err[0])
				fail_msg("headers %d, request %d: %s", headers[i], k, g[k].err);
		long n429 = stat_of("status.429");
		print_message("headers %d: %ld answered 429, %.2f s\n", headers[i], n429,
		              (double)dt / 1000);
		assert_true(n429 >= 1);
		assert_true(n429 <= 6);
		assert_int_equal(stat_of("status.200"), 6);
		/* three windows at least: two boundaries passed */
		assert_true(dt >= 600);
		struct llm_stats s;
		llm_get_stats(l, &s);
		assert_int_equal(s.throttled, n429);
		llm_free(l);
	}
}

/* ---- content type and finish reasons ---- */

static void test_json_answer_to_stream(void **state)
{
	(void)state;
	NEED_SERVER();
	control("{\"json_for_stream\":true}");
	static const char *const provs[] = {"openai", "anthropic", "ollama"};
	struct llm_options o = fast_opts(5);
	struct llm *l = new_llm(&o);
	struct got g[3] = {{0}};
	struct model_config m[3];
	for (int i = 0; i < 3; i++) {
		m[i] = srv_model(provs[i]);
		ask(l, &m[i], provs[i], &g[i]);
	}
	run(l, 5);
	for (int i = 0; i < 3; i++) {
		if (g[i].err[0])
			fail_msg("%s: %s", provs[i], g[i].err);
		char want[64];
		snprintf(want, sizeof want, "echo: %s", provs[i]);
		assert_string_equal(g[i].text, want);
		assert_int_equal(g[i].attempts, 1);
		assert_false(g[i].usage.estimated);
	}
	assert_int_equal(stat_of("requests"), 3);
	assert_int_equal(stat_of("streamed"), 0);
	llm_free(l);
}

/* A cut answer: delivered, with its finish reason, marked cut, in every format and both ways;
 * a tool call with no text: an error that says so, one request. */
static void test_finish_reasons(void **state)
{
	(void)state;
	NEED_SERVER();
	static const struct {
		const char *provider, *cut;
	} provs[] = {{"openai", "length"}, {"anthropic", "max_tokens"}, {"ollama", "length"}};
	for (size_t i = 0; i < ARRAY_SIZE(provs); i++) {
		for (int stream = 0; stream < 2; stream++) {
			before(NULL);
			struct llm_options o = fast_opts(3);
			struct llm *l = new_llm(&o);
			struct model_config m = srv_model(provs[i].provider);
			m.stream = stream;
			m.max_tokens = 2; /* 8 bytes of the echo */
			struct got g = {0}, whole = {0};
			ask(l, &m, "a question with a long answer", &g);
			m.max_tokens = 200;
			ask(l, &m, "short", &whole);
			run(l, 5);
			assert_string_equal(g.err, "");
			assert_string_equal(g.text, "echo: a ");
			assert_string_equal(g.finish, provs[i].cut);
			assert_string_equal(whole.finish, strcmp(provs[i].provider, "anthropic")
			                                      ? "stop"
			                                      : "end_turn");
			llm_free(l);

			before(NULL);
			control("{\"tool_call\":true}");
			l = new_llm(&o);
			ask(l, &m, "call something", &g);
			run(l, 5);
			if (!strstr(g.err, "called a tool instead of answering"))
				fail_msg("%s stream=%d: \"%s\"", provs[i].provider, stream, g.err);
			assert_int_equal(g.attempts, 1);
			assert_int_equal(stat_of("requests"), 1);
			llm_free(l);
		}
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_permanent_errors_cost_one_request, before),
	    cmocka_unit_test_setup(test_should_retry_header, before),
	    cmocka_unit_test_setup(test_reset_headers, before),
	    cmocka_unit_test_setup(test_request_window, before),
	    cmocka_unit_test_setup(test_json_answer_to_stream, before),
	    cmocka_unit_test_setup(test_finish_reasons, before),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

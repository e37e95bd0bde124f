/* test_keygate.c: where a key may go (llm/keygate.h) and its redaction (core/redact.h).  Part
 * one is pure: loopback and origins as libcurl parses them (look-alikes included), the
 * verdicts for hosts and variables, --trust, --base-url and OPENAI_BASE_URL, asking once and
 * answering.  Part two runs the LLM layer against the test LLM server ($LLM_SERVER, skipped
 * when missing): a refused key sends nothing; with an asker the request waits, is asked about
 * once, and goes (the server sees the key) or fails as the answer says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "llm/keygate.h"
#include "llm/llm.h"
#include "llm_server.h"

/* ---- part one ---- */

static void test_loopback(void **state)
{
	(void)state;
	static const char *const yes[] = {
	    "http://localhost:8080/v1", "http://LOCALHOST/v1", "http://127.0.0.1:1/v1",
	    "https://127.5.6.7/",       "http://[::1]:11434",  "http://[::ffff:127.0.0.1]:80/",
	};
	static const char *const no[] = {
	    "http://127.0.0.1.evil.example/v1",
	    "http://127.0.0.1@evil.example/v1",
	    "http://localhost@evil.example/",
	    "http://localhost.evil.example/",
	    "http://evil.example/127.0.0.1",
	    "http://evil.example#@127.0.0.1/",
	    "http://evil.example?@localhost/",
	    "http://10.0.0.1/",
	    "http://[::2]/",
	    "not a url",
	    "",
	    "http://",
	};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (!url_is_loopback(yes[i]))
			fail_msg("%s is loopback", yes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (url_is_loopback(no[i]))
			fail_msg("%s is not loopback", no[i]);
	assert_false(url_is_loopback(NULL));
}

static void test_origin(void **state)
{
	(void)state;
	char *o = url_origin("HTTPS://API.OpenAI.com/v1");
	assert_string_equal(o, "https://api.openai.com:443");
	free(o);
	o = url_origin("http://127.0.0.1@evil.example:8080/v1/chat/completions");
	assert_string_equal(o, "http://evil.example:8080");
	free(o);
	assert_null(url_origin("no scheme here"));
}

static enum key_verdict check(struct keygate *g, const char *provider, const char *var,
                              const char *url, struct err *e)
{
	const char *origin;
	return keygate_check(g, provider_find(provider), var, url, false, &origin, e);
}

static void test_hosts(void **state)
{
	(void)state;
	unsetenv("OPENAI_BASE_URL");
	unsetenv("ANTHROPIC_BASE_URL");
	struct err e = {{0}};
	struct keygate *g = keygate_new(false, NULL);
	const char *oa = "OPENAI_API_KEY";
	assert_int_equal(check(g, "openai", oa, "https://api.openai.com/v1/chat/completions", &e),
	                 KEY_SEND);
	assert_int_equal(
	    check(g, "anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1/messages", &e),
	    KEY_SEND);
	assert_int_equal(check(g, "openai", oa, "http://127.0.0.1:9/v1/chat/completions", &e),
	                 KEY_SEND);
	/* the default host over another scheme or port is another host */
	assert_int_equal(check(g, "openai", oa, "http://api.openai.com/v1/chat/completions", &e),
	                 KEY_REFUSE);
	assert_int_equal(check(g, "openai", oa, "https://api.openai.com:8443/v1/x", &e),
	                 KEY_REFUSE);
	e.msg[0] = '\0';
	assert_int_equal(check(g, "openai", oa, "https://evil.example/v1/chat/completions", &e),
	                 KEY_REFUSE);
	assert_non_null(strstr(e.msg, "refusing to send the API key in OPENAI_API_KEY to "
	                              "https://evil.example:443"));
	assert_non_null(strstr(e.msg, "--trust"));
	/* OPENAI_BASE_URL is the user's choice */
	setenv("OPENAI_BASE_URL", "https://evil.example/v1", 1);
	assert_int_equal(check(g, "openai", oa, "https://evil.example/v1/chat/completions", &e),
	                 KEY_SEND);
	/* ... for openai only */
	assert_int_equal(
	    check(g, "anthropic", "ANTHROPIC_API_KEY", "https://evil.example/v1/messages", &e),
	    KEY_REFUSE);
	unsetenv("OPENAI_BASE_URL");
	keygate_free(g);

	/* --base-url */
	g = keygate_new(false, "https://proxy.example:8443/v1");
	assert_int_equal(
	    check(g, "openai", oa, "https://proxy.example:8443/v1/chat/completions", &e), KEY_SEND);
	assert_int_equal(check(g, "openai", oa, "https://proxy.example/v1/chat/completions", &e),
	                 KEY_REFUSE);
	keygate_free(g);

	/* --trust */
	g = keygate_new(true, NULL);
	assert_int_equal(check(g, "openai", "ANY_SECRET", "http://evil.example/v1", &e), KEY_SEND);
	keygate_free(g);
}

static void test_variables(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct keygate *g = keygate_new(false, NULL);
	const char *local = "http://localhost:8000/v1/chat/completions";
	assert_int_equal(check(g, "openai", "CUSTOM_API_KEY", local, &e), KEY_SEND);
	assert_int_equal(
	    check(g, "ollama", "OLLAMA_API_KEY", "http://localhost:11434/api/chat", &e), KEY_SEND);
	assert_int_equal(check(g, "openai", "_API_KEY", local, &e), KEY_REFUSE);
	assert_int_equal(check(g, "openai", "api_key", local, &e), KEY_REFUSE);
	assert_int_equal(check(g, "openai", "AWS_SECRET_ACCESS_KEY", local, &e), KEY_REFUSE);
	assert_non_null(strstr(e.msg, "refusing to send the variable AWS_SECRET_ACCESS_KEY as an "
	                              "API key: api_key_env may name OPENAI_API_KEY or a variable "
	                              "ending in _API_KEY; run with --trust"));
	keygate_free(g);
}

static void test_ask_once(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct keygate *g = keygate_new(false, NULL);
	const struct provider_ops *oa = provider_find("openai");
	const char *origin = NULL;
	const char *url = "http://evil.example/v1/chat/completions";
	assert_int_equal(keygate_check(g, oa, "OPENAI_API_KEY", url, true, &origin, &e), KEY_ASK);
	assert_string_equal(origin, "http://evil.example:80");
	char *o = xstrdup(origin);
	assert_int_equal(keygate_check(g, oa, "OPENAI_API_KEY", url, true, &origin, &e), KEY_WAIT);
	assert_null(origin);
	/* another variable to the same host is another question */
	assert_int_equal(keygate_check(g, oa, "MY_API_KEY", url, true, &origin, &e), KEY_ASK);
	keygate_answer(g, "OPENAI_API_KEY", o, true);
	assert_int_equal(keygate_check(g, oa, "OPENAI_API_KEY", url, true, &origin, &e), KEY_SEND);
	keygate_answer(g, "MY_API_KEY", o, false);
	e.msg[0] = '\0';
	assert_int_equal(keygate_check(g, oa, "MY_API_KEY", url, true, &origin, &e), KEY_REFUSE);
	assert_non_null(strstr(e.msg, "--trust"));
	free(o);
	keygate_free(g);
}

static void test_redact(void **state)
{
	(void)state;
	redact_clear();
	redact_add("short"); /* under REDACT_MIN_LEN: ignored */
	redact_add("sk-secret-123456");
	redact_add("sk-secret-123456");
	redact_add(NULL);
	const char *in = "Incorrect API key provided: sk-secret-123456. (short) "
	                 "Bearer sk-secret-123456sk-secret-12345";
	assert_true(redact_needed(in, strlen(in)));
	char *s = redact_copy(in, strlen(in));
	assert_string_equal(s, "Incorrect API key provided: " REDACTED ". (short) Bearer " REDACTED
	                       "sk-secret-12345");
	free(s);
	s = xstrdup("nothing to hide");
	char *before = s;
	redact_str(&s);
	assert_ptr_equal(s, before);
	free(s);
	s = xstrdup("sk-secret-123456");
	redact_str(&s);
	assert_string_equal(s, REDACTED);
	free(s);
	assert_false(redact_needed("sk-secret-12345", 15));
	redact_clear();
	assert_false(redact_needed(in, strlen(in)));
}

/* ---- part two: the LLM layer against the test server ---- */

#define SERVER_KEY "keygate-test-key-0123456789"

static pid_t server_pid;
static int server_port;
static char rules_path[] = "/tmp/adopt-keygate-rules-XXXXXX";

static int server_start(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_keygate");
	if (!bin)
		return 0;
	int fd = mkstemp(rules_path);
	const char *rules = "{\"rules\": [{\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}";
	if (fd < 0 || write(fd, rules, strlen(rules)) != (ssize_t)strlen(rules))
		return -1;
	close(fd);
	server_pid = llm_server_spawn(bin, rules_path, NULL, &server_port);
	if (server_pid < 0)
		server_pid = 0;
	return server_pid ? 0 : -1;
}

static int server_end(void **state)
{
	(void)state;
	if (server_pid)
		llm_server_stop(server_pid);
	unlink(rules_path);
	redact_clear();
	return 0;
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!server_pid) {                                                                 \
			print_message("no test LLM server: skipped\n");                            \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	sbuf_add(arg, p, size * n);
	return size * n;
}

/* The server's /_stats as text (after POST /_reset when reset). */
static char *server_get(const char *path, bool post)
{
	struct sbuf b = {0};
	CURL *h = curl_easy_init();
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", server_port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_cleanup(h);
	return sbuf_take(&b);
}

struct got {
	int n;
	char *text, *error;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	g->text = xstrdup(r->text);
	g->error = r->error ? xstrdup(r->error) : NULL;
}

struct asked {
	int n;
	char var[64], origin[128];
};

static void on_ask(void *arg, const char *var, const char *origin)
{
	struct asked *a = arg;
	a->n++;
	snprintf(a->var, sizeof a->var, "%s", var);
	snprintf(a->origin, sizeof a->origin, "%s", origin);
}

static void wait_for(struct llm *l, int ms)
{
	int64_t end = now_ms() + ms;
	while (llm_pending(l) && now_ms() < end)
		assert_true(llm_wait(l, NULL, 0, 50) >= 0);
}

/* Two requests (different texts) to the loopback server with a key from MY_SECRET. */
static void submit_two(struct llm *l, struct model_config *m, char *base, struct got g[2])
{
	snprintf(base, 64, "http://127.0.0.1:%d/v1", server_port);
	*m = (struct model_config){.name = "task",
	                           .provider = "openai",
	                           .base_url = base,
	                           .model = "m",
	                           .api_key_env = "MY_SECRET",
	                           .stream = true,
	                           .price_in = -1,
	                           .price_out = -1,
	                           .concurrency = 4};
	struct llm_message a = {"user", "one"}, b = {"user", "two"};
	struct llm_request ra = {m, &a, 1, "t"}, rb = {m, &b, 1, "t"};
	llm_submit(l, &ra, on_done, NULL, &g[0]);
	llm_submit(l, &rb, on_done, NULL, &g[1]);
}

static void got_free(struct got *g)
{
	free(g->text);
	free(g->error);
}

static void test_refused_sends_nothing(void **state)
{
	(void)state;
	NEED_SERVER();
	setenv("MY_SECRET", "my-secret-value-0123456789", 1);
	free(server_get("/_reset", true));
	struct llm_options o = {.no_cache = true};
	struct err e;
	struct llm *l = llm_new(&o, &e);
	struct model_config m;
	char base[64];
	struct got g[2] = {{0}};
	submit_two(l, &m, base, g);
	wait_for(l, 5000);
	assert_int_equal(g[0].n, 1);
	assert_non_null(g[0].error);
	assert_non_null(strstr(g[0].error, "refusing to send the variable MY_SECRET"));
	assert_non_null(strstr(g[1].error, "--trust"));
	char *stats = server_get("/_stats", false);
	assert_non_null(strstr(stats, "\"requests\":0"));
	assert_null(strstr(stats, "my-secret-value"));
	free(stats);
	struct llm_stats st;
	llm_get_stats(l, &st);
	assert_int_equal(st.network_requests, 0);
	llm_free(l);
	got_free(&g[0]);
	got_free(&g[1]);
}

static void test_asked_once(void **state)
{
	(void)state;
	NEED_SERVER();
	setenv("MY_SECRET", "my-secret-value-0123456789", 1);
	for (int allow = 0; allow < 2; allow++) {
		free(server_get("/_reset", true));
		struct llm_options o = {.no_cache = true};
		struct err e;
		struct llm *l = llm_new(&o, &e);
		struct asked a = {0};
		llm_set_key_asker(l, on_ask, &a);
		struct model_config m;
		char base[64];
		struct got g[2] = {{0}};
		submit_two(l, &m, base, g);
		/* both wait for the answer, asked about once, nothing sent */
		for (int i = 0; i < 5; i++)
			assert_true(llm_wait(l, NULL, 0, 20) >= 0);
		assert_int_equal(a.n, 1);
		assert_string_equal(a.var, "MY_SECRET");
		char want[64];
		snprintf(want, sizeof want, "http://127.0.0.1:%d", server_port);
		assert_string_equal(a.origin, want);
		assert_int_equal(g[0].n + g[1].n, 0);
		assert_int_equal(llm_pending(l), 2);
		char *stats = server_get("/_stats", false);
		assert_non_null(strstr(stats, "\"requests\":0"));
		free(stats);
		llm_key_answer(l, a.var, a.origin, allow);
		wait_for(l, 5000);
		assert_int_equal(a.n, 1);
		assert_int_equal(g[0].n + g[1].n, 2);
		stats = server_get("/_stats", false);
		if (allow) {
			assert_null(g[0].error);
			assert_string_equal(g[1].text, "echo: two");
			assert_non_null(strstr(stats, "\"key\":\"my-secret-value-0123456789\""));
		} else {
			assert_non_null(strstr(g[0].error, "--trust"));
			assert_non_null(strstr(g[1].error, "--trust"));
			assert_non_null(strstr(stats, "\"requests\":0"));
		}
		free(stats);
		llm_free(l);
		got_free(&g[0]);
		got_free(&g[1]);
	}
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_loopback), cmocka_unit_test(test_origin),
	    cmocka_unit_test(test_hosts),    cmocka_unit_test(test_variables),
	    cmocka_unit_test(test_ask_once), cmocka_unit_test(test_redact),
	};
	const struct CMUnitTest server[] = {
	    cmocka_unit_test(test_refused_sends_nothing),
	    cmocka_unit_test(test_asked_once),
	};
	int rc = cmocka_run_group_tests_name("keygate", pure, NULL, NULL);
	return rc | cmocka_run_group_tests_name("keygate with the server", server, server_start,
	                                        server_end);
}

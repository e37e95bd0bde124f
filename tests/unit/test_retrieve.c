/* test_retrieve.c: a retrieval server through the LLM layer (llm_retrieve, llm/retriever.c)
 * against the test server's GET /api/search (build/tests/llm-server --corpus, $LLM_SERVER;
 * skipped with a message when missing), which answers as ColBERT's server does from a small
 * invented corpus ranked by BM25: the passages come back in the server's order, the query
 * arrives intact, no key is sent, a second run is answered from the response cache with the
 * server stopped (and offline), a retrieval's concurrency and timeout hold (how many the server
 * had in flight at once; a slow answer times out and is retried), a failing server is retried
 * and then reported, and hostile answers (huge, escape sequences, not JSON, the wrong shape)
 * are refused or cleaned, never kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bm25.h"
#include "core/fileio.h"
#include "llm/llm.h"
#include "llm_server.h"

/* Invented for this test. */
static const char corpus_text[] =
    "{\"title\": \"Velmora\", \"text\": \"Velmora is a harbour town on the Quill coast, founded "
    "by lamp makers.\"}\n"
    "{\"title\": \"Quill coast\", \"text\": \"The Quill coast runs north from Velmora to the "
    "Ashen cliffs.\"}\n"
    "{\"title\": \"Ashen cliffs\", \"text\": \"The Ashen cliffs are grey basalt; lamp oil was "
    "once shipped below them.\"}\n"
    "{\"title\": \"Orrin Tabb\", \"text\": \"Orrin Tabb was a lamp maker born in Velmora in "
    "1821.\"}\n"
    "{\"title\": \"Brisk river\", \"text\": \"The Brisk river drains the inland moors.\"}\n"
    "{\"title\": \"Moor sheep\", \"text\": \"Moor sheep graze the inland moors in summer.\"}\n";

static char tmpdir[64], corpus_path[128];
static const char *server_bin;
static pid_t server_pid;
static int server_port;
static char url[96];

struct got {
	int n;
	char *text, *err;
	bool cached;
	int attempts;
	double latency;
	struct llm_usage usage;
	double cost;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	g->text = xstrdup(r->text);
	g->err = r->error ? xstrdup(r->error) : NULL;
	g->cached = r->cached;
	g->attempts = r->attempts;
	g->latency = r->latency_s;
	g->usage = r->usage;
	g->cost = r->cost_usd;
}

static void got_free(struct got *g)
{
	free(g->text);
	free(g->err);
	memset(g, 0, sizeof *g);
}

static pid_t spawn(int *port)
{
	char *argv[] = {(char *)server_bin, "--corpus", corpus_path, NULL};
	return llm_server_spawn_argv(argv, port);
}

static cJSON *server_call(const char *method, const char *path, const char *body)
{
	cJSON *j = llm_server_call(server_port, method, path, body);
	assert_non_null(j);
	return j;
}

static void control(const char *json)
{
	cJSON *j = server_call("POST", "/_control", json);
	assert_null(cJSON_GetObjectItem(j, "error"));
	cJSON_Delete(j);
}

static long search_requests(void)
{
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "endpoints"), "search");
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
	cJSON_Delete(j);
	return n;
}

/* An LLM layer with fast retries; cache NULL: none. */
static struct llm *layer(const char *cache, bool offline)
{
	struct llm_options o = {.cache_path = cache,
	                        .no_cache = cache == NULL,
	                        .offline = offline,
	                        .max_attempts = 3,
	                        .backoff_base_s = 0.01,
	                        .backoff_max_s = 0.05};
	struct err e;
	struct llm *l = llm_new(&o, &e);
	assert_non_null(l);
	return l;
}

/* One retrieval, waited for. */
static void retrieve(struct llm *l, const char *u, const char *query, int k, struct got *g)
{
	struct llm_retrieval q = {.url = u, .query = query, .k = k, .tag = "test/retrieve"};
	llm_retrieve(l, &q, on_done, g);
	for (int i = 0; i < 3000 && !g->n; i++)
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
	assert_int_equal(g->n, 1);
}

static void passages(const struct got *g, char ***items, size_t *n)
{
	struct err e;
	assert_null(g->err);
	assert_int_equal(llm_passages(g->text, 1000, items, n, &e), 0);
}

static void items_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!server_pid)                                                                   \
			skip();                                                                    \
	} while (0)

static int before(void **state)
{
	(void)state;
	if (server_pid) {
		control(
		    "{\"search_hostile\":0,\"rate_500\":0,\"fail_first_n\":0,\"latency_ms\":0}");
		cJSON_Delete(server_call("POST", "/_reset", NULL));
	}
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/adopt-retrieve-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(corpus_path, sizeof corpus_path, "%s/corpus.jsonl", tmpdir);
	struct err e;
	if (file_write_atomic(corpus_path, corpus_text, strlen(corpus_text), &e) < 0)
		return -1;
	if (!(server_bin = llm_server_bin("test_retrieve")))
		return 0;
	server_pid = spawn(&server_port);
	if (server_pid < 0) {
		server_pid = 0;
		return -1;
	}
	snprintf(url, sizeof url, "http://127.0.0.1:%d/api/search", server_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (server_pid)
		llm_server_stop(server_pid);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the protocol ---- */

static void test_passages_in_order(void **state)
{
	(void)state;
	NEED_SERVER();
	/* the ranking the server computes, computed here from the same corpus */
	char **docs;
	size_t n_docs;
	struct err e;
	assert_int_equal(bm25_load_corpus(corpus_path, 0, &docs, &n_docs, &e), 0);
	struct bm25 *bm = bm25_new((const char *const *)docs, n_docs, 1.5, 0.75);
	const char *query = "lamp maker Velmora";
	size_t idx[3];
	size_t want = bm25_search(bm, query, 3, idx, NULL);
	assert_int_equal(want, 3);

	struct llm *l = layer(NULL, false);
	struct got g = {0};
	retrieve(l, url, query, 3, &g);
	char **items;
	size_t n;
	passages(&g, &items, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(items[i], docs[idx[i]]);
	assert_string_equal(items[0], "Orrin Tabb: Orrin Tabb was a lamp maker born in Velmora "
	                              "in 1821.");
	assert_false(g.cached);
	assert_int_equal(g.attempts, 1);
	assert_true(g.latency > 0);
	/* no tokens and no money for a retrieval */
	assert_int_equal(g.usage.in + g.usage.out, 0);
	assert_true(g.cost == 0);
	/* fewer asked: the first k of the same order */
	char **two;
	size_t n2;
	assert_int_equal(llm_passages(g.text, 2, &two, &n2, &e), 0);
	assert_int_equal(n2, 2);
	assert_string_equal(two[1], items[1]);
	items_free(two, n2);
	items_free(items, n);
	got_free(&g);
	/* a query matching nothing: no passages, no error */
	retrieve(l, url, "zzzz", 3, &g);
	passages(&g, &items, &n);
	assert_int_equal(n, 0);
	items_free(items, n);
	got_free(&g);
	llm_free(l);
	bm25_free(bm);
	bm25_corpus_free(docs, n_docs);
}

static void test_query_arrives_intact(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm *l = layer(NULL, false);
	struct got g = {0};
	const char *query = "moors & sheep? k=99 #1 100% \"é\"/+";
	retrieve(l, url, query, 2, &g);
	assert_null(g.err);
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *recent = cJSON_GetObjectItem(j, "recent");
	const cJSON *last = cJSON_GetArrayItem(recent, cJSON_GetArraySize(recent) - 1);
	char *want = xasprintf("query=%s&k=2", query);
	assert_string_equal(cJSON_GetObjectItem(last, "body")->valuestring, want);
	free(want);
	cJSON_Delete(j);
	got_free(&g);
	llm_free(l);
}

static void test_no_key_is_sent(void **state)
{
	(void)state;
	NEED_SERVER();
	setenv("OPENAI_API_KEY", "sk-retrieve-test-never-sent", 1);
	setenv("ANTHROPIC_API_KEY", "sk-ant-retrieve-test-never-sent", 1);
	struct llm *l = layer(NULL, false);
	struct got g = {0};
	retrieve(l, url, "Brisk river", 1, &g);
	assert_null(g.err);
	cJSON *j = server_call("GET", "/_stats", NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "credentials")), 0);
	cJSON_Delete(j);
	got_free(&g);
	llm_free(l);
	unsetenv("OPENAI_API_KEY");
	unsetenv("ANTHROPIC_API_KEY");
}

/* ---- cache and replay ---- */

static void test_second_run_from_cache_server_stopped(void **state)
{
	(void)state;
	NEED_SERVER();
	int port;
	pid_t pid = spawn(&port);
	assert_true(pid > 0);
	char own[96], cache[160];
	snprintf(own, sizeof own, "http://127.0.0.1:%d/api/search", port);
	snprintf(cache, sizeof cache, "%s/replay.cache.jsonl", tmpdir);
	const char *queries[] = {"Ashen cliffs basalt", "Quill coast north", "lamp oil"};
	char *first[3];
	struct llm *l = layer(cache, false);
	for (int i = 0; i < 3; i++) {
		struct got g = {0};
		retrieve(l, own, queries[i], 2, &g);
		assert_null(g.err);
		assert_false(g.cached);
		first[i] = xstrdup(g.text);
		got_free(&g);
	}
	llm_free(l);
	llm_server_stop(pid); /* nobody answers there now */

	for (int offline = 0; offline < 2; offline++) {
		l = layer(cache, offline);
		for (int i = 0; i < 3; i++) {
			struct got g = {0};
			retrieve(l, own, queries[i], 2, &g);
			assert_null(g.err);
			assert_true(g.cached);
			assert_string_equal(g.text, first[i]);
			got_free(&g);
		}
		struct llm_stats st;
		llm_get_stats(l, &st);
		assert_int_equal(st.network_requests, 0);
		assert_int_equal(st.cached, 3);
		/* another k is another request: not in the cache */
		struct got g = {0};
		retrieve(l, own, queries[0], 3, &g);
		assert_non_null(g.err);
		if (offline)
			assert_non_null(strstr(g.err, "offline: no cached answer"));
		got_free(&g);
		llm_free(l);
	}
	for (int i = 0; i < 3; i++)
		free(first[i]);
}

/* ---- the step's options: concurrency and timeout ---- */

static long peak_concurrency(void)
{
	cJSON *j = server_call("GET", "/_stats", NULL);
	const cJSON *v = cJSON_GetObjectItem(j, "peak_concurrency");
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
	cJSON_Delete(j);
	return n;
}

/* Six different queries at once with `concurrency` (0: the default), each answered slowly:
 * how many the server had in flight at most. */
static long six_at_once(struct llm *l, int concurrency, const char *salt)
{
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	struct got g[6] = {{0}};
	char query[6][48];
	for (int i = 0; i < 6; i++) {
		snprintf(query[i], sizeof query[i], "lamp %s %d", salt, i);
		struct llm_retrieval q = {.url = url,
		                          .query = query[i],
		                          .k = 2,
		                          .tag = "test/retrieve",
		                          .concurrency = concurrency};
		llm_retrieve(l, &q, on_done, &g[i]);
	}
	int done = 0;
	for (int t = 0; t < 3000 && done < 6; t++) {
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
		done = 0;
		for (int i = 0; i < 6; i++)
			done += g[i].n;
	}
	assert_int_equal(done, 6);
	for (int i = 0; i < 6; i++) {
		assert_null(g[i].err);
		got_free(&g[i]);
	}
	assert_int_equal(search_requests(), 6);
	return peak_concurrency();
}

static void test_concurrency_per_step(void **state)
{
	(void)state;
	NEED_SERVER();
	control("{\"latency_ms\":300}");
	/* a layer each: one keeps a url's slots (and their adaptive window) once made */
	const int conc[] = {2, 1, 0};
	for (int i = 0; i < 3; i++) {
		struct llm *l = layer(NULL, false);
		long peak = six_at_once(l, conc[i], i == 0 ? "two" : i == 1 ? "one" : "default");
		if (conc[i])
			assert_int_equal(peak, conc[i]);
		else
			assert_true(peak > 2); /* 8 slots by default */
		llm_free(l);
	}
}

static void test_timeout_per_step(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm *l = layer(NULL, false);
	control("{\"latency_ms\":1500}");
	struct got g = {0};
	struct llm_retrieval q = {
	    .url = url, .query = "Ashen cliffs", .k = 1, .tag = "test/retrieve", .timeout_s = 0.2};
	llm_retrieve(l, &q, on_done, &g);
	for (int i = 0; i < 3000 && !g.n; i++)
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
	assert_int_equal(g.n, 1);
	assert_non_null(g.err);
	if (!strstr(g.err, "imed out") && !strstr(g.err, "imeout"))
		fail_msg("not a timeout: %s", g.err);
	assert_int_equal(g.attempts, 3); /* retried as a dropped connection is */
	got_free(&g);
	/* a longer timeout waits for the slow answer */
	control("{\"latency_ms\":300}");
	q.timeout_s = 20;
	llm_retrieve(l, &q, on_done, &g);
	for (int i = 0; i < 3000 && !g.n; i++)
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
	assert_null(g.err);
	assert_int_equal(g.attempts, 1);
	got_free(&g);
	llm_free(l);
}

/* ---- failures ---- */

static void test_failing_server_retried_then_reported(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm *l = layer(NULL, false);
	struct got g = {0};
	control("{\"fail_first_n\":2}");
	retrieve(l, url, "Velmora harbour", 2, &g);
	assert_null(g.err);
	assert_int_equal(g.attempts, 3);
	assert_int_equal(search_requests(), 3);
	got_free(&g);

	control("{\"rate_500\":1}");
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	retrieve(l, url, "Velmora harbour again", 2, &g);
	assert_non_null(g.err);
	assert_non_null(strstr(g.err, "colbertv2 500"));
	assert_non_null(strstr(g.err, "after 3 attempts"));
	assert_string_equal(g.text, "");
	assert_int_equal(search_requests(), 3);
	got_free(&g);

	/* nobody listening: a transport error, retried, then reported with the address */
	int port;
	pid_t pid = spawn(&port);
	assert_true(pid > 0);
	llm_server_stop(pid);
	char dead[96];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d/api/search", port);
	retrieve(l, dead, "anything", 1, &g);
	assert_non_null(g.err);
	assert_non_null(strstr(g.err, "after 3 attempts"));
	assert_non_null(strstr(g.err, dead));
	got_free(&g);
	llm_free(l);
}

/* A hostile answer: an error saying what was wrong, one attempt, nothing cached. */
static void expect_refused(struct llm *l, int hostile, const char *why, const char *query)
{
	char set[64];
	snprintf(set, sizeof set, "{\"search_hostile\":%d}", hostile);
	control(set);
	struct got g = {0};
	retrieve(l, url, query, 2, &g);
	assert_non_null(g.err);
	if (!strstr(g.err, why))
		fail_msg("hostile %d: \"%s\" lacks \"%s\"", hostile, g.err, why);
	assert_int_equal(g.attempts, 1);
	assert_int_equal(g.usage.in + g.usage.out, 0); /* a failed retrieval bills nothing */
	assert_true(g.cost == 0);
	for (const char *c = g.err; *c; c++)
		assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	got_free(&g);
	/* not kept: the same request asks the server again */
	control("{\"search_hostile\":0}");
	retrieve(l, url, query, 2, &g);
	assert_null(g.err);
	assert_false(g.cached);
	got_free(&g);
}

static void test_hostile_answers_refused(void **state)
{
	(void)state;
	NEED_SERVER();
	char cache[160];
	snprintf(cache, sizeof cache, "%s/hostile.cache.jsonl", tmpdir);
	unlink(cache);
	struct llm *l = layer(cache, false);
	expect_refused(l, 1, "larger than 4 MiB", "Moor sheep");
	expect_refused(l, 3, "not JSON: <html>", "Brisk river");
	expect_refused(l, 4, "no \"topk\" list", "Ashen cliffs");
	expect_refused(l, 5, "passage 1 of the answer has no \"text\"", "Quill coast");
	llm_free(l);
}

static void test_escape_bytes_cleaned(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm *l = layer(NULL, false);
	control("{\"search_hostile\":2}");
	struct got g = {0};
	retrieve(l, url, "anything", 5, &g);
	char **items;
	size_t n;
	passages(&g, &items, &n);
	assert_int_equal(n, 2);
	assert_string_equal(items[0], "Clean red text");
	assert_string_equal(items[1], "second passage");
	items_free(items, n);
	got_free(&g);
	llm_free(l);
}

/* ---- without a server ---- */

static void test_cached_text_checked_again(void **state)
{
	(void)state;
	char **items;
	size_t n;
	struct err e;
	assert_int_equal(llm_passages("[\"a\", \"b\\u001b[31mc\", \"d\"]", 2, &items, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(items[1], "bc");
	items_free(items, n);
	assert_int_equal(llm_passages("[]", 3, &items, &n, &e), 0);
	assert_int_equal(n, 0);
	items_free(items, n);
	assert_int_equal(llm_passages("{\"topk\": []}", 3, &items, &n, &e), -1);
	assert_non_null(strstr(e.msg, "not a list of passages"));
	assert_int_equal(llm_passages("[\"a\", 7]", 3, &items, &n, &e), -1);
	assert_non_null(strstr(e.msg, "passage 2"));
	assert_int_equal(llm_passages("not json", 3, &items, &n, &e), -1);
}

static void test_not_a_model_provider(void **state)
{
	(void)state;
	struct model_config m = {.name = "task", .provider = "colbertv2", .model = "x"};
	struct err e;
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_non_null(strstr(e.msg, "unknown provider \"colbertv2\""));
	assert_null(strstr(e.msg, "(one of: openai, anthropic, ollama, scripted, colbertv2"));
}

static void test_bad_url_fails_cleanly(void **state)
{
	(void)state;
	struct llm *l = layer(NULL, false);
	struct got g = {0};
	retrieve(l, "ftp://example.invalid/search", "q", 1, &g);
	assert_non_null(g.err);
	assert_non_null(strstr(g.err, "must start with http:// or https://"));
	got_free(&g);
	llm_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_passages_in_order, before),
	    cmocka_unit_test_setup(test_query_arrives_intact, before),
	    cmocka_unit_test_setup(test_no_key_is_sent, before),
	    cmocka_unit_test_setup(test_second_run_from_cache_server_stopped, before),
	    cmocka_unit_test_setup(test_concurrency_per_step, before),
	    cmocka_unit_test_setup(test_timeout_per_step, before),
	    cmocka_unit_test_setup(test_failing_server_retried_then_reported, before),
	    cmocka_unit_test_setup(test_hostile_answers_refused, before),
	    cmocka_unit_test_setup(test_escape_bytes_cleaned, before),
	    cmocka_unit_test(test_cached_text_checked_again),
	    cmocka_unit_test(test_not_a_model_provider),
	    cmocka_unit_test(test_bad_url_fails_cleanly),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* test_replicas.c: a model configuration with several base URLs (sched_replica.c) against three
 * test LLM servers (build/tests/llm-server, $LLM_SERVER; skipped with a message without it):
 * requests spread over the replicas within each one's concurrency, a replica answering 500 or
 * refusing connections is taken out while every request is still answered on the others, and
 * returns once it answers again; per-replica figures match what each server saw; every replica
 * down fails requests after their retries instead of waiting forever; the cache key does not
 * depend on the replica that answered; the key gate judges each replica's host.
 * REPLICA_DEBUG=1 prints the figures each time they are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "llm/llm.h"
#include "llm_server.h"

#define N_SERVERS 3

static char tmpdir[64], rules_path[128], cache_path[128];
static pid_t pids[N_SERVERS];
static int ports[N_SERVERS];
static char urls[N_SERVERS][64];
static char dead_url[2][64]; /* nothing listens there */

static const char rules_json[] =
    "{\"rules\": [{\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}";

/* ---- helpers ---- */

struct got {
	int n;
	char text[128];
	char err[512];
	bool cached;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	snprintf(g->text, sizeof g->text, "%s", r->text);
	snprintf(g->err, sizeof g->err, "%s", r->error ? r->error : "");
	g->cached = r->cached;
}

static struct llm *new_llm(const struct llm_options *o)
{
	struct err e = {{0}};
	struct llm *l = llm_new(o, &e);
	if (!l)
		fail_msg("llm_new: %s", e.msg);
	return l;
}

static struct llm_options fast_opts(void)
{
	struct llm_options o = {0};
	o.no_cache = true;
	o.backoff_base_s = 0.02;
	o.backoff_max_s = 0.1;
	o.seed = 7;
	return o;
}

/* A model listing the given base URLs (not copied: the test's own strings). */
static struct model_config model_of(char **list, int n)
{
	struct model_config m = {0};
	m.name = "task";
	m.provider = "openai";
	m.model = "test-model";
	m.base_url = list[0];
	m.replicas = list;
	m.n_replicas = n;
	m.price_in = m.price_out = m.price_cached_in = m.price_cache_write = -1;
	m.stream = true;
	m.timeout_s = 10;
	m.max_tokens = 100;
	m.concurrency = 2;
	return m;
}

static void ask(struct llm *l, const struct model_config *m, const char *text, struct got *g)
{
	struct llm_message msg = {"user", text};
	struct llm_request req = {m, &msg, 1, "step:answer"};
	llm_submit(l, &req, on_done, NULL, g);
}

static void run(struct llm *l, double max_s)
{
	int64_t end = now_ms() + (int64_t)(max_s * 1000);
	while (llm_pending(l) && now_ms() < end)
		assert_true(llm_wait(l, NULL, 0, 200) >= 0);
	assert_int_equal(llm_pending(l), 0);
}

/* Submits n distinct requests (prefix + number) and checks every one is answered. */
static void ask_all(struct llm *l, const struct model_config *m, const char *prefix, int n)
{
	struct got *g = calloc((size_t)n, sizeof(*g));
	char(*text)[32] = calloc((size_t)n, sizeof(*text));
	for (int i = 0; i < n; i++) {
		snprintf(text[i], sizeof text[i], "%s %d", prefix, i);
		ask(l, m, text[i], &g[i]);
	}
	run(l, 30);
	for (int i = 0; i < n; i++) {
		assert_int_equal(g[i].n, 1);
		if (g[i].err[0])
			fail_msg("request %d: %s", i, g[i].err);
		char want[48];
		snprintf(want, sizeof want, "echo: %s", text[i]);
		assert_string_equal(g[i].text, want);
	}
	free(text);
	free(g);
}

struct figures {
	int n;
	struct llm_replica r[8];
	char url[8][64], state[8][16];
};

static void collect(void *arg, const struct llm_replica *r)
{
	struct figures *f = arg;
	assert_true(f->n < 8);
	f->r[f->n] = *r;
	snprintf(f->url[f->n], sizeof f->url[0], "%s", r->url);
	snprintf(f->state[f->n], sizeof f->state[0], "%s", r->state);
	f->r[f->n].url = f->url[f->n];
	f->r[f->n].state = f->state[f->n];
	f->n++;
}

static void figures(struct llm *l, struct figures *f)
{
	memset(f, 0, sizeof *f);
	llm_foreach_replica(l, collect, f);
	for (int i = 0; getenv("REPLICA_DEBUG") && i < f->n; i++)
		print_message("  %d %s req %ld err %ld ans %ld lat %.3f %s\n", i, f->url[i],
		              f->r[i].requests, f->r[i].errors, f->r[i].answered,
		              f->r[i].mean_latency_s, f->state[i]);
}

static long stat_of(int port, const char *a, const char *b)
{
	cJSON *j = llm_server_call(port, "GET", "/_stats", NULL);
	assert_non_null(j);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
	cJSON_Delete(j);
	return n;
}

static void control(int port, const char *json)
{
	cJSON *j = llm_server_call(port, "POST", "/_control", json);
	assert_non_null(j);
	cJSON_Delete(j);
}

#define NEED_SERVERS()                                                                             \
	do {                                                                                       \
		if (!pids[0])                                                                      \
			skip();                                                                    \
	} while (0)

/* ---- setup ---- */

/* A loopback port nobody listens on (bound, then closed). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	close(fd);
	return ntohs(a.sin_port);
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/adopt-replicas-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rules_path, sizeof rules_path, "%s/rules.json", tmpdir);
	snprintf(cache_path, sizeof cache_path, "%s/cache.jsonl", tmpdir);
	struct err e;
	if (file_write_atomic(rules_path, rules_json, strlen(rules_json), &e) < 0)
		return -1;
	setenv("ADOPT_TEST_API_KEY", "replica-test-key", 1);
	for (int i = 0; i < 2; i++) {
		int p = free_port();
		if (p < 0)
			return -1;
		snprintf(dead_url[i], sizeof dead_url[i], "http://127.0.0.1:%d/v1", p);
	}
	const char *bin = llm_server_bin("test_replicas");
	if (!bin)
		return 0;
	for (int i = 0; i < N_SERVERS; i++) {
		pids[i] = llm_server_spawn(bin, rules_path, NULL, &ports[i]);
		if (pids[i] < 0)
			return -1;
		snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%d/v1", ports[i]);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N_SERVERS; i++)
		if (pids[i] > 0)
			llm_server_stop(pids[i]);
	unlink(rules_path);
	unlink(cache_path);
	rmdir(tmpdir);
	return 0;
}

static int before(void **state)
{
	(void)state;
	for (int i = 0; pids[0] && i < N_SERVERS; i++) {
		control(ports[i], "{\"latency_ms\":20,\"rate_500\":0}");
		cJSON_Delete(llm_server_call(ports[i], "POST", "/_reset", NULL));
	}
	return 0;
}

/* ---- tests ---- */

/* The middle one of three answers 500: every request is still answered by the other two, the
 * failing one is out, its figures are its server's; once it answers again a probe returns it
 * and it takes its share. */
static void test_failing_replica_out_and_back(void **state)
{
	(void)state;
	NEED_SERVERS();
	control(ports[1], "{\"rate_500\":1}");
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	char *list[] = {urls[0], urls[1], urls[2]};
	struct model_config m = model_of(list, 3);
	ask_all(l, &m, "first", 40);

	struct figures f;
	figures(l, &f);
	assert_int_equal(f.n, 3);
	long total = 0;
	for (int i = 0; i < 3; i++) {
		assert_string_equal(f.r[i].model, "task");
		assert_int_equal(f.r[i].index, i);
		assert_string_equal(f.r[i].url, urls[i]);
		assert_int_equal(f.r[i].in_flight, 0);
		assert_int_equal(f.r[i].requests, stat_of(ports[i], "requests", NULL));
		total += f.r[i].requests;
	}
	struct llm_stats st;
	llm_get_stats(l, &st);
	assert_int_equal(st.network_requests, total);
	assert_int_equal(st.done, 40);
	assert_int_equal(st.failed, 0);
	/* the failing one: tried, every attempt failed, taken out */
	assert_true(f.r[1].requests >= 1);
	assert_int_equal(f.r[1].errors, f.r[1].requests);
	assert_int_equal(f.r[1].errors, stat_of(ports[1], "status", "500"));
	assert_int_equal(f.r[1].answered, 0);
	assert_true(strcmp(f.r[1].state, "down") == 0 || strcmp(f.r[1].state, "probing") == 0);
	/* taken out: far fewer attempts than its share of 40 */
	assert_true(f.r[1].requests < 10);
	for (int i = 0; i < 3; i += 2) {
		assert_string_equal(f.r[i].state, "up");
		assert_int_equal(f.r[i].errors, 0);
		assert_true(f.r[i].answered >= 10);
		assert_int_equal(f.r[i].answered, stat_of(ports[i], "status", "200"));
		assert_true(f.r[i].mean_latency_s > 0.015);
		/* concurrency 2 per replica */
		assert_true(stat_of(ports[i], "peak_concurrency", NULL) <= 2);
	}
	assert_int_equal(f.r[0].answered + f.r[2].answered, 40);

	/* it recovers: after its back-off, the next request probes it and it is back */
	control(ports[1], "{\"rate_500\":0}");
	usleep((useconds_t)(o.backoff_max_s * 1e6) + 50000);
	ask_all(l, &m, "second", 40);
	figures(l, &f);
	assert_string_equal(f.r[1].state, "up");
	assert_true(f.r[1].answered >= 5);
	assert_int_equal(f.r[1].answered, stat_of(ports[1], "status", "200"));
	assert_int_equal(f.r[0].answered + f.r[1].answered + f.r[2].answered, 80);
	for (int i = 0; i < 3; i++)
		assert_true(stat_of(ports[i], "peak_concurrency", NULL) <= 2);
	llm_get_stats(l, &st);
	assert_int_equal(st.done, 80);
	assert_int_equal(st.failed, 0);
	llm_free(l);
}

/* One refusing connections (nothing listens): all answered on the others, it is out. */
static void test_refusing_replica(void **state)
{
	(void)state;
	NEED_SERVERS();
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	char *list[] = {urls[0], dead_url[0], urls[2]};
	struct model_config m = model_of(list, 3);
	ask_all(l, &m, "refused", 30);
	struct figures f;
	figures(l, &f);
	assert_int_equal(f.n, 3);
	assert_true(f.r[1].requests >= 1 && f.r[1].requests < 8);
	assert_int_equal(f.r[1].errors, f.r[1].requests);
	assert_int_equal(f.r[1].answered, 0);
	assert_string_not_equal(f.r[1].state, "up");
	assert_true(f.r[1].down_s >= 0);
	assert_int_equal(f.r[0].answered + f.r[2].answered, 30);
	assert_int_equal(f.r[0].requests, stat_of(ports[0], "requests", NULL));
	assert_int_equal(f.r[2].requests, stat_of(ports[2], "requests", NULL));
	llm_free(l);
}

/* Every replica refusing: requests end with their error after their attempts, none waits for
 * ever for a replica to come back. */
static void test_all_down_fails_in_time(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	o.max_attempts = 4;
	struct llm *l = new_llm(&o);
	char *list[] = {dead_url[0], dead_url[1]};
	struct model_config m = model_of(list, 2);
	struct got g[6] = {{0}};
	char text[6][24];
	for (int i = 0; i < 6; i++) {
		snprintf(text[i], sizeof text[i], "nobody %d", i);
		ask(l, &m, text[i], &g[i]);
	}
	run(l, 20);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(g[i].n, 1);
		assert_non_null(strstr(g[i].err, "after 4 attempts"));
	}
	struct figures f;
	figures(l, &f);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.r[0].requests + f.r[1].requests, 24);
	assert_int_equal(f.r[0].errors + f.r[1].errors, 24);
	llm_free(l);
}

/* The cache key names the first URL, whoever answered: answered by the second replica (the
 * first refuses), the answer is found again offline through the first URL alone. */
static void test_cache_key_ignores_the_replica(void **state)
{
	(void)state;
	NEED_SERVERS();
	char *list[] = {dead_url[0], urls[1]};
	struct model_config m = model_of(list, 2);
	struct model_config one = m;
	one.replicas = NULL;
	one.n_replicas = 0;
	struct llm_message msg = {"user", "cached once"};
	struct llm_request a = {&m, &msg, 1, NULL}, b = {&one, &msg, 1, NULL};
	char ka[65], kb[65];
	llm_request_key(&a, ka);
	llm_request_key(&b, kb);
	assert_string_equal(ka, kb);

	unlink(cache_path);
	struct llm_options o = fast_opts();
	o.no_cache = false;
	o.cache_path = cache_path;
	struct llm *l = new_llm(&o);
	struct got g = {0};
	ask(l, &m, "cached once", &g);
	run(l, 10);
	assert_string_equal(g.err, "");
	assert_string_equal(g.text, "echo: cached once");
	assert_int_equal(stat_of(ports[1], "status", "200"), 1);
	llm_free(l);

	o.offline = true;
	l = new_llm(&o);
	memset(&g, 0, sizeof g);
	ask(l, &one, "cached once", &g);
	run(l, 5);
	assert_string_equal(g.err, "");
	assert_true(g.cached);
	assert_string_equal(g.text, "echo: cached once");
	llm_free(l);
}

/* Keys: a loopback replica gets the key; a replica on another host is judged on its own and
 * refused without --trust (no asker), before anything is sent to it. */
static void test_key_gate_per_replica(void **state)
{
	(void)state;
	NEED_SERVERS();
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	char far[] = "http://192.0.2.7:9/v1"; /* TEST-NET-1: never reached */
	char *list[] = {urls[0], far};
	struct model_config m = model_of(list, 2);
	m.api_key_env = "ADOPT_TEST_API_KEY";
	struct got g[6] = {{0}};
	char text[6][24];
	for (int i = 0; i < 6; i++) {
		snprintf(text[i], sizeof text[i], "key %d", i);
		ask(l, &m, text[i], &g[i]);
	}
	run(l, 10);
	int refused = 0, answered = 0;
	for (int i = 0; i < 6; i++) {
		if (g[i].err[0]) {
			refused++;
			assert_non_null(strstr(g[i].err, "--trust"));
			assert_non_null(strstr(g[i].err, "192.0.2.7"));
			assert_null(strstr(g[i].err, "replica-test-key"));
		} else {
			answered++;
		}
	}
	assert_true(refused >= 1);
	assert_true(answered >= 1);
	struct figures f;
	figures(l, &f);
	assert_int_equal(f.r[1].requests, 0); /* refused before a byte was sent */
	assert_int_equal(f.r[0].requests, answered);
	cJSON *st = llm_server_call(ports[0], "GET", "/_stats", NULL);
	const cJSON *cred = cJSON_GetObjectItemCaseSensitive(st, "credentials");
	assert_int_equal(cJSON_GetArraySize(cred), 1); /* the key reached the loopback one */
	cJSON_Delete(st);
	llm_free(l);
}

/* One base_url (a string) reports no replica figures and behaves as before. */
static void test_single_url_no_figures(void **state)
{
	(void)state;
	NEED_SERVERS();
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	char *list[] = {urls[0]};
	struct model_config m = model_of(list, 1);
	m.replicas = NULL;
	m.n_replicas = 0;
	ask_all(l, &m, "single", 5);
	struct figures f;
	figures(l, &f);
	assert_int_equal(f.n, 0);
	llm_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_failing_replica_out_and_back, before),
	    cmocka_unit_test_setup(test_refusing_replica, before),
	    cmocka_unit_test_setup(test_all_down_fails_in_time, before),
	    cmocka_unit_test_setup(test_cache_key_ignores_the_replica, before),
	    cmocka_unit_test_setup(test_key_gate_per_replica, before),
	    cmocka_unit_test_setup(test_single_url_no_figures, before),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

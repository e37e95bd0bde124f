/* test_sched.c: the LLM scheduler (llm.h).  Part one needs no network: the scripted provider,
 * request keys, model checks, delivery from llm_wait only, timers, deduplication, cancel, rate
 * and concurrency limits, re-entrant callbacks, the cache and offline mode.  Part two runs
 * against build/tests/llm-server ($LLM_SERVER) and skips with a message when it is missing:
 * every wire format streamed and whole, concurrency caps, retries (500, 429 + Retry-After,
 * dropped and truncated responses), no retry on 401, cache re-runs without network, offline
 * misses, dedup on the wire, cancel, stall timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llm/llm.h"
#include "llm_server.h"

#define KEY "sched-test-key"

static char tmpdir[64];
static char rules_path[128];
static char cache_path[128];

static const char rules_json[] =
    "{\"rules\": ["
    " {\"match\": \"^slow (\\\\w+)\", \"reply\": \"slow $1\", \"delay_ms\": 60},"
    " {\"match\": \"^tick0\", \"reply\": \"tock\", \"delay_ms\": 20},"
    " {\"match\": \"^tick1\", \"reply\": \"tock\", \"delay_ms\": 21},"
    " {\"match\": \"^tick2\", \"reply\": \"tock\", \"delay_ms\": 22},"
    " {\"match\": \"^tick3\", \"reply\": \"tock\", \"delay_ms\": 23},"
    " {\"match\": \"^tick4\", \"reply\": \"tock\", \"delay_ms\": 24},"
    " {\"match\": \"^tick5\", \"reply\": \"tock\", \"delay_ms\": 25},"
    " {\"match\": \"^tick6\", \"reply\": \"tock\", \"delay_ms\": 26},"
    " {\"match\": \"^tick7\", \"reply\": \"tock\", \"delay_ms\": 27},"
    " {\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}";

/* ---- helpers ---- */

struct got {
	int n;
	char text[256];
	char err[512];
	bool cached, scripted, shared;
	int attempts;
	struct llm_usage usage, answer;
	long reused;
	double cost;
	char reasoning[256];
	double latency, queued;
	struct sbuf chunks;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct got *g = arg;
	g->n++;
	snprintf(g->text, sizeof(g->text), "%s", r->text);
	snprintf(g->err, sizeof(g->err), "%s", r->error ? r->error : "");
	g->cached = r->cached;
	g->scripted = r->scripted;
	g->shared = r->shared;
	g->attempts = r->attempts;
	g->usage = r->usage;
	g->answer = r->answer;
	g->reused = r->reused_tokens;
	g->cost = r->cost_usd;
	snprintf(g->reasoning, sizeof(g->reasoning), "%s", r->reasoning);
	g->latency = r->latency_s;
	g->queued = r->queued_s;
}

static void on_chunk(void *arg, const char *text, size_t len)
{
	struct got *g = arg;
	sbuf_add(&g->chunks, text, len);
}

static struct model_config model(const char *name, const char *provider, const char *base,
                                 const char *model_name)
{
	struct model_config m = {0};
	m.name = (char *)name;
	m.provider = (char *)provider;
	m.base_url = (char *)base;
	m.model = (char *)model_name;
	m.price_in = m.price_out = m.price_cached_in = m.price_cache_write = -1;
	m.stream = true;
	m.timeout_s = 10;
	return m;
}

static struct model_config scripted(void)
{
	struct model_config m = model("script", "scripted", NULL, "script-1");
	m.rules = rules_path;
	return m;
}

static struct llm_options fast_opts(void)
{
	struct llm_options o = {0};
	o.no_cache = true;
	o.backoff_base_s = 0.01;
	o.backoff_max_s = 0.05;
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

static uint64_t ask(struct llm *l, const struct model_config *m, const char *text, const char *tag,
                    struct got *g)
{
	struct llm_message msg = {"user", text};
	struct llm_request req = {m, &msg, 1, tag};
	return llm_submit(l, &req, on_done, on_chunk, g);
}

/* Drives the loop until nothing is pending (or max_s passes). */
static void run(struct llm *l, double max_s)
{
	int64_t end = now_ms() + (int64_t)(max_s * 1000);
	while (llm_pending(l) && now_ms() < end)
		assert_true(llm_wait(l, NULL, 0, 200) >= 0);
	assert_int_equal(llm_pending(l), 0);
}

static int group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/adopt-sched-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rules_path, sizeof(rules_path), "%s/rules.json", tmpdir);
	snprintf(cache_path, sizeof(cache_path), "%s/cache.jsonl", tmpdir);
	struct err e;
	if (file_write_atomic(rules_path, rules_json, strlen(rules_json), &e) < 0)
		return -1;
	setenv("ADOPT_TEST_API_KEY", KEY, 1);
	setenv("ADOPT_TEST_BAD_API_KEY", "wrong", 1);
	unsetenv("ADOPT_TEST_NOKEY");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(rules_path);
	unlink(cache_path);
	rmdir(tmpdir);
	return 0;
}

/* ---- part one: no network ---- */

/* A request answered, billed and journaled, whose every waiter is cancelled before the answer is
 * delivered (here by the done callback of an answer delivered in the same turn), still counts
 * in the statistics: the journal's lines and the money counted agree, and the save's mark
 * (llm_spend_sync) covers it. */
static struct llm *cancel_l;
static uint64_t cancel_victim;

static void done_cancels_victim(void *arg, const struct llm_reply *r)
{
	on_done(arg, r);
	llm_cancel(cancel_l, cancel_victim);
}

static void test_cancelled_ready_is_counted(void **state)
{
	(void)state;
	char spend[160];
	snprintf(spend, sizeof spend, "%s/spend.jsonl", tmpdir);
	struct llm_options o = fast_opts();
	o.spend_path = spend;
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	m.price_in = 1, m.price_out = 2;
	struct got a = {0}, b = {0};
	struct llm_message ma = {"user", "first"}, mb = {"user", "second"};
	struct llm_request ra = {&m, &ma, 1, "t"}, rb = {&m, &mb, 1, "t"};
	cancel_l = l;
	assert_true(llm_submit(l, &ra, done_cancels_victim, NULL, &a) != 0);
	cancel_victim = llm_submit(l, &rb, on_done, NULL, &b);
	assert_true(cancel_victim != 0);
	run(l, 5);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 0); /* cancelled: never told */
	struct llm_stats st;
	llm_get_stats(l, &st);
	long mark;
	struct err e = {{0}};
	assert_int_equal(llm_spend_sync(l, &mark, &e), 0);
	/* both answers were ready in one turn: both billed, both journaled, both counted */
	assert_int_equal(mark, 2);
	assert_int_equal(st.done, 2);
	assert_true(st.cost_usd > a.cost * 1.5);
	llm_free(l);
	unlink(spend);
}

static void test_request_key(void **state)
{
	(void)state;
	struct model_config m = model("task", "openai", "http://h/v1", "gpt-4o");
	struct llm_message a[] = {{"system", "s"}, {"user", "q"}};
	struct llm_request r = {&m, a, 2, "x"};
	char k1[65], k2[65];
	llm_request_key(&r, k1);
	assert_int_equal(strlen(k1), 64);
	assert_int_equal(strspn(k1, "0123456789abcdef"), 64);
	setenv("ADOPT_TEST_API_KEY", "another key", 1); /* the key never enters the hash */
	m.api_key_env = "ADOPT_TEST_API_KEY";
	r.tag = "other tag";
	llm_request_key(&r, k2);
	assert_string_equal(k1, k2);
	setenv("ADOPT_TEST_API_KEY", KEY, 1);
	m.temperature = 0.5;
	llm_request_key(&r, k2);
	assert_string_not_equal(k1, k2);
	m.temperature = 0;
	a[1].content = "q2";
	llm_request_key(&r, k2);
	assert_string_not_equal(k1, k2);
	a[1].content = "q";
	m.base_url = "http://other/v1";
	llm_request_key(&r, k2);
	assert_string_not_equal(k1, k2);
}

static void test_check_model(void **state)
{
	(void)state;
	struct err e = {{0}};
	struct model_config m = model("task", "nope", NULL, "x");
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_non_null(strstr(e.msg, "unknown provider \"nope\""));
	assert_non_null(strstr(e.msg, "openai, anthropic, ollama, scripted"));

	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_BASE_URL");
	m = model("task", "openai", NULL, "gpt-4o");
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_string_equal(e.msg, "model \"task\": environment variable OPENAI_API_KEY is not set "
	                           "(api_key_env)");
	m.api_key_env = "ADOPT_TEST_NOKEY";
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_non_null(strstr(e.msg, "ADOPT_TEST_NOKEY"));
	m.api_key_env = "ADOPT_TEST_API_KEY";
	assert_int_equal(llm_check_model(&m, &e), 0);
	assert_null(strstr(e.msg, KEY));
	/* a local openai-compatible server needs no key */
	m = model("local", "openai", "http://127.0.0.1:8000/v1", "qwen");
	assert_int_equal(llm_check_model(&m, &e), 0);
	m.base_url = "http://localhost/v1";
	assert_int_equal(llm_check_model(&m, &e), 0);
	m.base_url = "http://localhost.example.com/v1";
	assert_int_equal(llm_check_model(&m, &e), -1);
	m = model("o", "ollama", NULL, "llama3");
	assert_int_equal(llm_check_model(&m, &e), 0);

	m = model("s", "scripted", NULL, NULL);
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_non_null(strstr(e.msg, "rules"));
	m.rules = "/nonexistent/rules.json";
	assert_int_equal(llm_check_model(&m, &e), -1);
	assert_non_null(strstr(e.msg, "model \"s\""));
	m = scripted();
	assert_int_equal(llm_check_model(&m, &e), 0);
}

static void test_scripted_reply(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct got g = {0};
	uint64_t id = ask(l, &m, "hello", "step:a", &g);
	assert_true(id > 0);
	assert_int_equal(g.n, 0); /* never from inside llm_submit */
	assert_int_equal(llm_pending(l), 1);
	run(l, 2);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text, "echo: hello");
	assert_string_equal(g.err, "");
	assert_true(g.scripted);
	assert_false(g.cached);
	assert_true(g.usage.estimated);
	assert_true(g.usage.in > 0 && g.usage.out > 0);
	assert_true(g.cost == 0);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.submitted, 1);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.network_requests, 0);
	llm_free(l);
	sbuf_free(&g.chunks);
}

/* A scripted delay is a timer: one llm_wait with a long timeout returns once it is due. */
static void test_scripted_delay_is_a_timer(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct got g = {0};
	ask(l, &m, "slow poke", NULL, &g);
	int64_t t0 = now_ms();
	for (int i = 0; i < 3 && !g.n; i++)
		llm_wait(l, NULL, 0, 5000);
	int64_t dt = now_ms() - t0;
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text, "slow poke");
	assert_true(dt >= 55);
	assert_true(dt < 4000); /* well short of the 5 s timeout (loose: shared machines) */
	llm_free(l);
}

/* A clock that moves on 1 ms at every reading. */
static int64_t ticking_ms;
static int64_t ticking_clock(void)
{
	return ticking_ms++;
}

/* However the clock moves between the readings inside llm_wait, it never blocks past a due
 * scripted delay.  (A deadline read as due at one reading and past at the next once made the
 * wait negative, and poll took that as "forever".)  Delays of 20..27 ms meet the readings at
 * every offset; the alarm turns a hang into a failure. */
static void test_wait_never_blocks_past_a_due_timer(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	ticking_ms = 1000;
	now_ms_hook = ticking_clock;
	alarm(20);
	for (int d = 0; d < 8; d++) {
		struct got g = {0};
		char text[16];
		snprintf(text, sizeof text, "tick%d", d);
		ask(l, &m, text, NULL, &g);
		for (int i = 0; i < 1000 && !g.n; i++)
			assert_true(llm_wait(l, NULL, 0, 250) >= 0);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.text, "tock");
	}
	alarm(0);
	now_ms_hook = NULL;
	llm_free(l);
}

/* The caller's descriptors wake llm_wait, and their readiness is reported. */
static void test_extra_fds(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct pollfd pf = {p[0], POLLIN, 0};
	assert_int_equal(llm_wait(l, &pf, 1, 10), 0);
	assert_int_equal(pf.revents, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	int64_t t0 = now_ms();
	assert_int_equal(llm_wait(l, &pf, 1, 5000), 1);
	assert_true(pf.revents & POLLIN);
	assert_true(now_ms() - t0 < 4000); /* not the 5 s timeout */
	close(p[0]);
	close(p[1]);
	llm_free(l);
}

static void test_dedup_and_cancel_one(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct got a = {0}, b = {0}, c = {0};
	uint64_t ia = ask(l, &m, "slow same", "t1", &a);
	ask(l, &m, "slow same", "t2", &b);
	ask(l, &m, "slow same", "t2", &c);
	llm_cancel(l, ia); /* the first waiter leaves; the others still get the answer */
	assert_int_equal(llm_pending(l), 2);
	run(l, 2);
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(c.n, 1);
	assert_string_equal(b.text, "slow same");
	assert_string_equal(c.text, "slow same");
	/* tokens are counted once: the shared copy reports them as reused, not as cached by the
	 * provider */
	assert_true(b.usage.in > 0);
	assert_int_equal(c.usage.in, 0);
	assert_int_equal(c.usage.cached, 0);
	assert_int_equal(c.reused, b.usage.in + b.usage.out);
	assert_int_equal(c.answer.in, b.usage.in);
	assert_false(b.shared); /* b made the request once a left; c shared its answer */
	assert_true(c.shared);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.deduplicated, 2);
	/* one request, answered; its answer delivered once more to the waiter that shared it */
	assert_int_equal(s.done, 1);
	assert_int_equal(s.shared, 1);
	llm_free(l);
}

static void test_cancel_and_free(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct got g[4] = {{0}};
	uint64_t id0 = ask(l, &m, "slow a", NULL, &g[0]);
	ask(l, &m, "slow b", NULL, &g[1]);
	ask(l, &m, "slow c", NULL, &g[2]);
	llm_wait(l, NULL, 0, 0); /* started, timers running */
	llm_cancel(l, id0);
	llm_cancel(l, id0); /* twice is harmless */
	llm_cancel(l, 999999);
	assert_int_equal(llm_pending(l), 2);
	llm_cancel_all(l);
	assert_int_equal(llm_pending(l), 0);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.in_flight + s.queued + s.retrying, 0);
	for (int i = 0; i < 5; i++)
		llm_wait(l, NULL, 0, 20);
	for (int i = 0; i < 3; i++)
		assert_int_equal(g[i].n, 0);
	/* freeing with requests pending leaks nothing (ASan) and calls nothing */
	ask(l, &m, "slow d", NULL, &g[3]);
	ask(l, &m, "e", NULL, &g[3]);
	llm_free(l);
	assert_int_equal(g[3].n, 0);
}

/* Callbacks may submit more work. */
struct chain {
	struct llm *l;
	struct model_config *m;
	int left, done;
	struct got g;
};

static void chain_done(void *arg, const struct llm_reply *r)
{
	struct chain *c = arg;
	assert_null(r->error);
	c->done++;
	if (c->left-- > 0) {
		char text[32];
		snprintf(text, sizeof(text), "link %d", c->left);
		struct llm_message msg = {"user", text};
		struct llm_request req = {c->m, &msg, 1, "chain"};
		llm_submit(c->l, &req, chain_done, NULL, c);
		assert_int_equal(llm_wait(c->l, NULL, 0, 0), -1); /* not re-entrant */
	}
}

static void test_reentrant_submit(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct chain c = {l, &m, 4, 0, {0}};
	struct llm_message msg = {"user", "start"};
	struct llm_request req = {&m, &msg, 1, "chain"};
	llm_submit(l, &req, chain_done, NULL, &c);
	run(l, 2);
	assert_int_equal(c.done, 5);
	llm_free(l);
}

static void test_concurrency_and_rpm(void **state)
{
	(void)state;
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	m.concurrency = 2;
	struct got g[6] = {{0}};
	char text[6][24];
	for (int i = 0; i < 6; i++) {
		snprintf(text[i], sizeof(text[i]), "slow n%d", i);
		ask(l, &m, text[i], NULL, &g[i]);
	}
	int64_t t0 = now_ms();
	long peak = 0;
	while (llm_pending(l) && now_ms() - t0 < 3000) {
		llm_wait(l, NULL, 0, 200);
		struct llm_stats s;
		llm_get_stats(l, &s);
		peak = MAX(peak, s.in_flight);
		assert_true(s.in_flight + s.queued <= 6);
	}
	assert_int_equal(peak, 2);
	assert_true(now_ms() - t0 >= 3 * 55); /* three rounds of two */
	for (int i = 0; i < 6; i++)
		assert_int_equal(g[i].n, 1);
	/* time waiting for a slot is reported apart from the time of the call itself: each call
	 * takes its scripted 55 ms or more, and the last two waited for two rounds before theirs */
	for (int i = 0; i < 6; i++)
		assert_true(g[i].latency >= 0.05);
	assert_true(g[4].queued >= 0.1 && g[5].queued >= 0.1);
	assert_true(g[5].queued >= g[0].queued + 0.1);

	/* 600 rpm: a bucket of 10, refilled at 10 a second: 13 requests take >= 0.3 s */
	struct model_config r = scripted();
	r.name = "paced";
	r.rpm = 600;
	struct got h[13] = {{0}};
	char t2[13][24];
	for (int i = 0; i < 13; i++) {
		snprintf(t2[i], sizeof(t2[i]), "fast %d", i);
		ask(l, &r, t2[i], NULL, &h[i]);
	}
	t0 = now_ms();
	run(l, 3);
	int64_t dt = now_ms() - t0;
	assert_true(dt >= 250);
	assert_true(dt < 2500);

	/* 1200 tpm: a bucket of 20 tokens refilled at 20 a second; each request reserves its
	 * estimated prompt (6 tokens) and pays for its actual usage when done */
	struct model_config t = scripted();
	t.name = "tokens";
	t.tpm = 1200;
	struct got k[4] = {{0}};
	char t3[4][24];
	for (int i = 0; i < 4; i++) {
		snprintf(t3[i], sizeof(t3[i]), "tpm %d", i);
		ask(l, &t, t3[i], NULL, &k[i]);
	}
	t0 = now_ms();
	run(l, 3);
	dt = now_ms() - t0;
	assert_true(dt >= 150);
	assert_true(dt < 2800);
	for (int i = 0; i < 4; i++)
		assert_int_equal(k[i].n, 1);
	llm_free(l);
}

static void collect_tag(void *arg, const char *tag, const struct llm_stats *s)
{
	struct sbuf *b = arg;
	sbuf_addf(b, "%s:%ld/%ld/%ld;", tag, s->submitted, s->done, s->failed);
}

static void test_cache_offline_and_errors(void **state)
{
	(void)state;
	unlink(cache_path);
	struct llm_options o = fast_opts();
	o.no_cache = false;
	o.cache_path = cache_path;
	struct llm *l = new_llm(&o);
	struct model_config m = scripted();
	struct got g = {0};
	ask(l, &m, "remember me", "step:a", &g);
	run(l, 2);
	assert_false(g.cached);
	llm_free(l);

	/* a new session with the same cache, offline */
	o.offline = true;
	l = new_llm(&o);
	struct got g2 = {0}, g3 = {0}, g4 = {0}, g5 = {0};
	ask(l, &m, "remember me", "step:a", &g2);
	struct model_config net = model("task", "openai", "http://127.0.0.1:9/v1", "gpt-4o");
	ask(l, &net, "never asked", "step:b", &g3);
	struct model_config bad = model("weird", "carrier-pigeon", NULL, "x");
	ask(l, &bad, "hi", "step:b", &g4);
	struct model_config nokey = model("task", "openai", "https://api.example.com/v1", "gpt-4o");
	nokey.api_key_env = "ADOPT_TEST_NOKEY";
	o.offline = false;
	struct llm *l2 = new_llm(&o);
	ask(l2, &nokey, "hi", "step:c", &g5);
	assert_int_equal(g2.n + g3.n + g4.n, 0);
	run(l, 2);
	run(l2, 2);
	assert_int_equal(g2.n, 1);
	assert_true(g2.cached);
	assert_true(g2.scripted);
	assert_string_equal(g2.text, "echo: remember me");
	assert_true(g2.cost == 0);
	assert_int_equal(g2.usage.in, 0);
	assert_int_equal(g2.usage.cached, 0);
	assert_true(g2.reused > 0);
	assert_int_equal(g2.reused, g2.answer.in + g2.answer.out);
	assert_int_equal(g3.n, 1);
	assert_true(str_startswith(g3.err, "offline: no cached answer for this request (step:b"));
	assert_non_null(strstr(g4.err, "unknown provider \"carrier-pigeon\""));
	assert_string_equal(g5.err, "model \"task\": environment variable ADOPT_TEST_NOKEY is not "
	                            "set (api_key_env)");
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.cached, 1);
	assert_int_equal(s.failed, 2);
	assert_int_equal(s.network_requests, 0);
	struct sbuf tags = {0};
	llm_foreach_tag(l, collect_tag, &tags);
	assert_string_equal(sbuf_str(&tags), "step:a:1/1/0;step:b:2/0/2;");
	sbuf_free(&tags);
	llm_get_stats(l2, &s);
	assert_int_equal(s.network_requests, 0);
	llm_free(l);
	llm_free(l2);
}

/* ---- part two: against the test server ---- */

static pid_t server_pid;
static int server_port;
static char base_openai[64], base_root[64];

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

static void server_control(const char *json)
{
	cJSON_Delete(server_call("POST", "/_control", json));
}

static int server_before(void **state)
{
	(void)state;
	if (!server_pid)
		return 0;
	server_control("{\"latency_ms\":0,\"stall_ms\":0,\"rate_429\":0,\"rate_500\":0,"
	               "\"drop_before\":0,\"drop_during\":0,\"truncate\":0,\"malformed\":0,"
	               "\"fail_first_n\":0,\"retry_after\":1,\"chunk_delay_ms\":0}");
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	return 0;
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!server_pid) {                                                                 \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static int server_start(void **state)
{
	if (group_setup(state) < 0)
		return -1;
	const char *bin = llm_server_bin("test_sched");
	if (!bin)
		return 0;
	server_pid = llm_server_spawn(bin, rules_path, KEY, &server_port);
	if (server_pid < 0) {
		server_pid = 0;
		return -1;
	}
	snprintf(base_openai, sizeof(base_openai), "http://127.0.0.1:%d/v1", server_port);
	snprintf(base_root, sizeof(base_root), "http://127.0.0.1:%d", server_port);
	return 0;
}

static int server_stop(void **state)
{
	if (server_pid)
		llm_server_stop(server_pid);
	return group_teardown(state);
}

static struct model_config srv_model(const char *provider)
{
	bool openai = !strcmp(provider, "openai");
	struct model_config m =
	    model(provider, provider, openai ? base_openai : base_root, "test-model");
	m.api_key_env = "ADOPT_TEST_API_KEY";
	m.max_tokens = 200;
	return m;
}

static void test_server_formats(void **state)
{
	(void)state;
	NEED_SERVER();
	static const char *const provs[] = {"openai", "anthropic", "ollama"};
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct got g[6] = {{0}};
	struct model_config m[6];
	for (int i = 0; i < 6; i++) {
		m[i] = srv_model(provs[i / 2]);
		m[i].stream = i % 2 == 0;
		/* different text: the stream flag is not part of the request key */
		ask(l, &m[i], m[i].stream ? "Streamed?" : "Whole?", provs[i / 2], &g[i]);
	}
	run(l, 5);
	for (int i = 0; i < 6; i++) {
		if (g[i].err[0])
			fail_msg("%s stream=%d: %s", provs[i / 2], m[i].stream, g[i].err);
		assert_string_equal(g[i].text, m[i].stream ? "echo: Streamed?" : "echo: Whole?");
		assert_false(g[i].usage.estimated);
		if (g[i].usage.in <= 0 || g[i].usage.out <= 0)
			fail_msg("%s stream=%d: usage %ld/%ld", provs[i / 2], m[i].stream,
			         g[i].usage.in, g[i].usage.out);
		assert_false(g[i].scripted);
		assert_int_equal(g[i].attempts, 1);
		if (m[i].stream)
			assert_string_equal(sbuf_str(&g[i].chunks), g[i].text);
		sbuf_free(&g[i].chunks);
	}
	assert_int_equal(server_stat("requests"), 6);
	assert_int_equal(server_stat("streamed"), 3);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.network_requests, 6);
	assert_int_equal(s.done, 6);
	llm_free(l);
}

static void test_server_concurrency_cap(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"latency_ms\":60}");
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("openai");
	m.concurrency = 3;
	struct got g[9] = {{0}};
	char text[9][24];
	for (int i = 0; i < 9; i++) {
		snprintf(text[i], sizeof(text[i]), "q%d", i);
		ask(l, &m, text[i], NULL, &g[i]);
	}
	run(l, 5);
	for (int i = 0; i < 9; i++) {
		assert_string_equal(g[i].err, "");
		sbuf_free(&g[i].chunks);
	}
	assert_int_equal(server_stat("requests"), 9);
	long peak = server_stat("peak_concurrency");
	assert_true(peak <= 3);
	assert_true(peak >= 2);
	llm_free(l);
}

static void test_server_fail_first_n(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"fail_first_n\":2}");
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("anthropic");
	struct got g = {0};
	ask(l, &m, "third time lucky", NULL, &g);
	run(l, 5);
	assert_string_equal(g.err, "");
	assert_string_equal(g.text, "echo: third time lucky");
	assert_int_equal(g.attempts, 3);
	assert_int_equal(server_stat("requests"), 3);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.network_requests, 3);
	llm_free(l);
	sbuf_free(&g.chunks);
}

static void test_server_429(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"rate_429\":1,\"retry_after\":1}");
	/* Retry-After capped by backoff_max_s (0.05): three quick attempts, then the error */
	struct llm_options o = fast_opts();
	o.max_attempts = 3;
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("openai");
	struct got g = {0};
	int64_t t0 = now_ms();
	ask(l, &m, "busy?", NULL, &g);
	run(l, 5);
	assert_true(now_ms() - t0 < 1800); /* honouring Retry-After: 1 twice would take 2 s */
	assert_true(str_startswith(g.err, "openai 429"));
	assert_non_null(strstr(g.err, "after 3 attempts: "));
	assert_int_equal(g.attempts, 3);
	assert_int_equal(server_stat("requests"), 3);
	llm_free(l);

	/* with room for it, the server's Retry-After: 1 is honoured */
	cJSON_Delete(server_call("POST", "/_reset", NULL));
	o.max_attempts = 2;
	o.backoff_max_s = 5;
	l = new_llm(&o);
	t0 = now_ms();
	ask(l, &m, "busy again?", NULL, &g);
	run(l, 5);
	int64_t dt = now_ms() - t0;
	assert_true(dt >= 900);
	assert_true(dt < 3000);
	assert_int_equal(server_stat("requests"), 2);
	llm_free(l);
	sbuf_free(&g.chunks);
}

static void test_server_no_retry_on_401(void **state)
{
	(void)state;
	NEED_SERVER();
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("openai");
	m.api_key_env = "ADOPT_TEST_BAD_API_KEY";
	struct got g = {0};
	ask(l, &m, "let me in", NULL, &g);
	run(l, 5);
	assert_true(str_startswith(g.err, "openai 401"));
	assert_null(strstr(g.err, "attempts"));
	assert_null(strstr(g.err, "wrong")); /* the key is never echoed */
	assert_int_equal(g.attempts, 1);
	assert_int_equal(server_stat("requests"), 1);
	llm_free(l);
}

/* Each fault, on every request: retried up to max_attempts, then a readable error. */
static void test_server_drop_and_truncate(void **state)
{
	(void)state;
	NEED_SERVER();
	static const char *const faults[] = {"drop_before", "drop_during", "truncate", "malformed"};
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		server_before(NULL);
		char ctl[64];
		snprintf(ctl, sizeof(ctl), "{\"%s\":1}", faults[i]);
		server_control(ctl);
		struct llm_options o = fast_opts();
		o.max_attempts = 3;
		struct llm *l = new_llm(&o);
		struct model_config m = srv_model("openai");
		struct got g = {0};
		ask(l, &m, "fragile", NULL, &g);
		run(l, 5);
		if (!g.err[0])
			fail_msg("%s: no error", faults[i]);
		if (strcmp(faults[i], "malformed") != 0) { /* transient: retried */
			assert_int_equal(g.attempts, 3);
			assert_int_equal(server_stat("requests"), 3);
			assert_non_null(strstr(g.err, "after 3 attempts"));
		}
		llm_free(l);
		sbuf_free(&g.chunks);
	}
	/* a share of drops with enough attempts ends in success */
	server_before(NULL);
	server_control("{\"drop_during\":0.5,\"seed\":3}");
	struct llm_options o = fast_opts();
	o.max_attempts = 10;
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("ollama");
	struct got g[4] = {{0}};
	char text[4][24];
	for (int i = 0; i < 4; i++) {
		snprintf(text[i], sizeof(text[i]), "d%d", i);
		ask(l, &m, text[i], NULL, &g[i]);
	}
	run(l, 5);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(g[i].err, "");
		sbuf_free(&g[i].chunks);
	}
	assert_true(server_stat("requests") > 4);
	llm_free(l);
}

static void test_server_cache_rerun(void **state)
{
	(void)state;
	NEED_SERVER();
	unlink(cache_path);
	struct llm_options o = fast_opts();
	o.no_cache = false;
	o.cache_path = cache_path;
	struct model_config m = srv_model("openai");
	for (int round = 0; round < 2; round++) {
		struct llm *l = new_llm(&o);
		struct got g[3] = {{0}};
		ask(l, &m, "one", NULL, &g[0]);
		ask(l, &m, "two", NULL, &g[1]);
		ask(l, &m, "three", NULL, &g[2]);
		run(l, 5);
		struct llm_stats s;
		llm_get_stats(l, &s);
		for (int i = 0; i < 3; i++) {
			assert_string_equal(g[i].err, "");
			assert_true(g[i].cached == (round == 1));
			sbuf_free(&g[i].chunks);
		}
		assert_string_equal(g[2].text, "echo: three");
		assert_int_equal(s.network_requests, round == 0 ? 3 : 0);
		assert_int_equal(s.cached, round == 0 ? 0 : 3);
		llm_free(l);
		assert_int_equal(server_stat("requests"), 3); /* the second round sent nothing */
	}
	/* offline: hits answer, a miss fails without a request */
	o.offline = true;
	struct llm *l = new_llm(&o);
	struct got hit = {0}, miss = {0};
	ask(l, &m, "two", NULL, &hit);
	ask(l, &m, "four", "step:answer", &miss);
	run(l, 2);
	assert_true(hit.cached);
	assert_true(str_startswith(miss.err, "offline: no cached answer"));
	assert_int_equal(server_stat("requests"), 3);
	llm_free(l);
}

static void test_server_dedup_and_cancel(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"latency_ms\":80}");
	struct llm_options o = fast_opts();
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("openai");
	struct got a = {0}, b = {0};
	ask(l, &m, "same question", NULL, &a);
	ask(l, &m, "same question", NULL, &b);
	run(l, 5);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.text, "echo: same question");
	assert_string_equal(sbuf_str(&b.chunks), "echo: same question");
	assert_int_equal(server_stat("requests"), 1);

	/* cancel mid-flight: nothing pending, no callbacks, nothing leaks */
	struct got c[3] = {{0}};
	uint64_t id = ask(l, &m, "c0", NULL, &c[0]);
	ask(l, &m, "c1", NULL, &c[1]);
	ask(l, &m, "c2", NULL, &c[2]);
	llm_wait(l, NULL, 0, 20);
	struct llm_stats s;
	llm_get_stats(l, &s);
	assert_int_equal(s.in_flight, 3);
	llm_cancel(l, id);
	assert_int_equal(llm_pending(l), 2);
	llm_cancel_all(l);
	assert_int_equal(llm_pending(l), 0);
	for (int i = 0; i < 5; i++)
		llm_wait(l, NULL, 0, 30);
	for (int i = 0; i < 3; i++)
		assert_int_equal(c[i].n, 0);
	ask(l, &m, "left behind", NULL, &c[0]);
	llm_wait(l, NULL, 0, 10);
	llm_free(l); /* with a transfer in flight */
	assert_int_equal(c[0].n, 0);
	sbuf_free(&a.chunks);
	sbuf_free(&b.chunks);
}

static void test_server_stall(void **state)
{
	(void)state;
	NEED_SERVER();
	server_control("{\"stall_ms\":1500}");
	struct llm_options o = fast_opts();
	o.stall_timeout_s = 0.2;
	o.max_attempts = 2;
	struct llm *l = new_llm(&o);
	struct model_config m = srv_model("openai");
	struct got g = {0};
	int64_t t0 = now_ms();
	ask(l, &m, "a long story that stalls half way", NULL, &g);
	run(l, 5);
	int64_t dt = now_ms() - t0;
	assert_non_null(strstr(g.err, "stalled"));
	assert_int_equal(g.attempts, 2);
	assert_true(dt >= 350);
	assert_true(dt < 1400);
	llm_free(l);
	sbuf_free(&g.chunks);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_key),
	    cmocka_unit_test(test_cancelled_ready_is_counted),
	    cmocka_unit_test(test_check_model),
	    cmocka_unit_test(test_scripted_reply),
	    cmocka_unit_test(test_scripted_delay_is_a_timer),
	    cmocka_unit_test(test_wait_never_blocks_past_a_due_timer),
	    cmocka_unit_test(test_extra_fds),
	    cmocka_unit_test(test_dedup_and_cancel_one),
	    cmocka_unit_test(test_cancel_and_free),
	    cmocka_unit_test(test_reentrant_submit),
	    cmocka_unit_test(test_concurrency_and_rpm),
	    cmocka_unit_test(test_cache_offline_and_errors),
	    cmocka_unit_test_setup(test_server_formats, server_before),
	    cmocka_unit_test_setup(test_server_concurrency_cap, server_before),
	    cmocka_unit_test_setup(test_server_fail_first_n, server_before),
	    cmocka_unit_test_setup(test_server_429, server_before),
	    cmocka_unit_test_setup(test_server_no_retry_on_401, server_before),
	    cmocka_unit_test_setup(test_server_drop_and_truncate, server_before),
	    cmocka_unit_test_setup(test_server_cache_rerun, server_before),
	    cmocka_unit_test_setup(test_server_dedup_and_cancel, server_before),
	    cmocka_unit_test_setup(test_server_stall, server_before),
	};
	return cmocka_run_group_tests(tests, server_start, server_stop);
}

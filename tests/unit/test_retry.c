/* test_retry.c: the retry policy: which failures retry (the provider's classification over the
 * status), backoff bounds, jitter determinism, Retry-After (seconds and HTTP-date),
 * x-should-retry overrides, max attempts, the retry budget, rate-limit reset headers
 * (durations and RFC 3339) and which limit is spent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <string.h>

#include "llm/retry.h"

static const struct retry_policy pol = {5, 0.5, 30, 0};

static struct retry_facts facts(long status, int code)
{
	struct retry_facts f = {1, status, code, false, -1, -1, false, 0};
	return f;
}

static void test_status_table(void **state)
{
	(void)state;
	long yes[] = {408, 409, 429, 500, 502, 503, 504, 529};
	long no[] = {400, 401, 403, 404, 422, 200};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(retry_status_retryable(yes[i]));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		assert_false(retry_status_retryable(no[i]));
}

static void test_curl_codes(void **state)
{
	(void)state;
	assert_true(retry_curl_retryable(CURLE_COULDNT_CONNECT));
	assert_true(retry_curl_retryable(CURLE_GOT_NOTHING));
	assert_true(retry_curl_retryable(CURLE_PARTIAL_FILE));
	assert_true(retry_curl_retryable(CURLE_OPERATION_TIMEDOUT));
	assert_true(retry_curl_retryable(CURLE_RECV_ERROR));
	assert_false(retry_curl_retryable(CURLE_URL_MALFORMAT));
	assert_false(retry_curl_retryable(CURLE_UNSUPPORTED_PROTOCOL));
	assert_false(retry_curl_retryable(CURLE_OK));
}

static void test_decide(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 1);
	double d;
	struct retry_facts f = facts(429, 0);
	assert_true(retry_decide(&pol, &f, &r, &d));
	assert_true(d >= 0.25 && d <= 0.5);
	/* the provider's word wins over the status: insufficient_quota on a 429, invalid key on
	 * a 502 */
	f = facts(429, 0);
	f.provider_permanent = true;
	assert_false(retry_decide(&pol, &f, &r, &d));
	f = facts(502, 0);
	f.provider_permanent = true;
	assert_false(retry_decide(&pol, &f, &r, &d));
	f = facts(200, 0); /* an error event in a stream */
	f.provider_retryable = false;
	f.provider_permanent = true;
	assert_false(retry_decide(&pol, &f, &r, &d));
	f = facts(400, 0);
	f.provider_retryable = true; /* a 400 is never retried on the format's word */
	assert_false(retry_decide(&pol, &f, &r, &d));
	f = facts(401, 0);
	assert_false(retry_decide(&pol, &f, &r, &d));
	f = facts(0, CURLE_COULDNT_CONNECT);
	assert_true(retry_decide(&pol, &f, &r, &d));
	/* a truncated stream: 200, transfer fine, the format says transient */
	f = facts(200, 0);
	assert_false(retry_decide(&pol, &f, &r, &d));
	f.provider_retryable = true;
	assert_true(retry_decide(&pol, &f, &r, &d));
	/* max attempts */
	f = facts(500, 0);
	f.attempts = 5;
	assert_false(retry_decide(&pol, &f, &r, &d));
	f.attempts = 4;
	assert_true(retry_decide(&pol, &f, &r, &d));
}

static void test_should_retry_header(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 1);
	double d;
	struct retry_facts f = facts(400, 0);
	f.should_retry = retry_should_parse(" true\r\n");
	assert_int_equal(f.should_retry, 1);
	assert_true(retry_decide(&pol, &f, &r, &d));
	f = facts(503, 0);
	f.should_retry = retry_should_parse("FALSE");
	assert_int_equal(f.should_retry, 0);
	assert_false(retry_decide(&pol, &f, &r, &d));
	/* the header is the server's last word, even over a permanent type */
	f = facts(429, 0);
	f.provider_permanent = true;
	f.should_retry = 1;
	assert_true(retry_decide(&pol, &f, &r, &d));
	assert_int_equal(retry_should_parse("maybe"), -1);
	assert_int_equal(retry_should_parse(NULL), -1);
}

static void test_backoff_bounds_and_jitter(void **state)
{
	(void)state;
	struct rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	double max_seen[6] = {0};
	for (int i = 0; i < 2000; i++) {
		for (int k = 1; k <= 6; k++) {
			double x = retry_backoff_s(&pol, k, &a);
			double ceiling = 0.5 * (1 << (k - 1));
			if (ceiling > 30)
				ceiling = 30;
			assert_true(x >= ceiling / 2 && x <= ceiling);  /* equal jitter */
			assert_true(x == retry_backoff_s(&pol, k, &b)); /* same seed, same draws */
			if (x > max_seen[k - 1])
				max_seen[k - 1] = x;
		}
	}
	/* the jitter reaches close to the ceiling: 2000 draws, the max is near 1 * ceiling */
	assert_true(max_seen[0] > 0.45);
	assert_true(max_seen[5] > 14.0); /* 0.5 * 32 = 16 */
	struct retry_policy capped = {10, 1, 3, 0};
	for (int i = 0; i < 100; i++)
		assert_true(retry_backoff_s(&capped, 9, &a) <= 3);
}

static void test_retry_after(void **state)
{
	(void)state;
	time_t now = curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL);
	assert_true(retry_after_parse("2", now) == 2.0);
	assert_true(retry_after_parse(" 0.25 ", now) == 0.25);
	assert_true(retry_after_parse("Wed, 21 Oct 2015 07:28:07 GMT", now) == 7.0);
	assert_true(retry_after_parse("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0.0);
	assert_true(retry_after_parse("soon", now) < 0);
	assert_true(retry_after_parse("", now) < 0);
	assert_true(retry_after_parse("-3", now) < 0);
	assert_true(retry_after_parse(NULL, now) < 0);

	/* Retry-After replaces the jitter, capped at max_s */
	struct rng r;
	rng_seed(&r, 3);
	double d;
	struct retry_facts f = facts(429, 0);
	f.retry_after_s = 2;
	assert_true(retry_decide(&pol, &f, &r, &d));
	assert_true(d == 2.0);
	f.retry_after_s = 3600;
	assert_true(retry_decide(&pol, &f, &r, &d));
	assert_true(d == 30.0);
}

static void test_budget(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 5);
	double d;
	struct retry_policy p = {20, 1, 30, 60};
	struct retry_facts f = facts(429, 0);
	f.retry_after_s = 20;
	f.waited_s = 35; /* 35 + 20 <= 60 */
	assert_true(retry_decide(&p, &f, &r, &d));
	assert_true(d == 20.0);
	f.waited_s = 45; /* 45 + 20 > 60: give up rather than wait past the budget */
	assert_false(retry_decide(&p, &f, &r, &d));
	p.budget_s = 0; /* none */
	assert_true(retry_decide(&p, &f, &r, &d));
	/* with the defaults (8 attempts, base 1, cap 30) the waits outlast a minute's limit */
	struct retry_policy def = {8, 1, 30, 120};
	double total = 0;
	f = facts(429, 0);
	for (f.attempts = 1; retry_decide(&def, &f, &r, &d); f.attempts++)
		total += d, f.waited_s = total;
	assert_int_equal(f.attempts, 8);
	assert_true(total >= 45 && total <= 91);
}

static void test_reset_parse(void **state)
{
	(void)state;
	double now = 1735689600; /* 2025-01-01T00:00:00Z */
	static const struct {
		const char *v;
		double want;
	} ok[] = {
	    {"6ms", 0.006},
	    {"1s", 1},
	    {"6m0s", 360},
	    {"1h2m3.5s", 3723.5},
	    {"250ms", 0.25},
	    {"20", 20},
	    {" 0.5s\r\n", 0.5},
	    {"2us", 2e-6},
	    {"2025-01-01T00:00:30Z", 30},
	    {"2025-01-01T00:00:30.25Z", 30.25},
	    {"2025-01-01T01:00:10+01:00", 10},
	    {"2024-12-31T23:59:00Z", 0},
	    {"2025-03-01T00:00:00Z", 59 * 86400.0},
	    {"1735689645", 45}, /* a Unix time (Anthropic's unified reset) */
	    {"1735689000", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		double got = retry_reset_parse(ok[i].v, now);
		if (got < ok[i].want - 1e-6 || got > ok[i].want + 1e-6)
			fail_msg("\"%s\": %g, want %g", ok[i].v, got, ok[i].want);
	}
	static const char *const bad[] = {"",
	                                  "soon",
	                                  "6x",
	                                  "1s2",
	                                  "-1s",
	                                  "s",
	                                  "2025-13-01T00:00:00Z",
	                                  "2025-01-01T00:00:00",
	                                  "2025-01-01",
	                                  NULL};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (retry_reset_parse(bad[i], now) >= 0)
			fail_msg("\"%s\" accepted", bad[i] ? bad[i] : "(null)");
}

static bool hdr(struct retry_limits *l, const char *name, const char *value)
{
	return retry_limits_header(l, name, strlen(name), value, 1735689600);
}

static void test_limits(void **state)
{
	(void)state;
	/* OpenAI: requests spent, tokens not: wait for the requests' reset */
	struct retry_limits l = {0};
	assert_false(hdr(&l, "x-ratelimit-limit-requests", " 60")); /* the limit itself: unused */
	assert_true(hdr(&l, "X-RateLimit-Remaining-Requests", " 0"));
	assert_true(hdr(&l, "x-ratelimit-reset-requests", " 1s"));
	assert_true(hdr(&l, "x-ratelimit-remaining-tokens", " 149984"));
	assert_true(hdr(&l, "x-ratelimit-reset-tokens", " 6m0s"));
	assert_false(hdr(&l, "x-request-id", "abc"));
	assert_false(hdr(&l, "retry-after", "3"));
	assert_true(retry_limits_wait(&l) == 1.0);
	double reset;
	assert_true(retry_limits_exhausted(&l, 0, &reset));
	assert_true(reset == 1.0);

	/* none spent: the earliest reset */
	l = (struct retry_limits){0};
	hdr(&l, "x-ratelimit-remaining-requests", "5");
	hdr(&l, "x-ratelimit-reset-requests", "2s");
	hdr(&l, "x-ratelimit-reset-tokens", "500ms");
	assert_true(retry_limits_wait(&l) == 0.5);
	assert_false(retry_limits_exhausted(&l, 5, &reset));
	assert_true(retry_limits_exhausted(&l, 6, &reset)); /* 6 in flight, 5 left */
	assert_true(reset == 2.0);

	/* Anthropic: KIND-remaining, KIND-reset as RFC 3339 */
	l = (struct retry_limits){0};
	assert_true(hdr(&l, "anthropic-ratelimit-requests-remaining", "10"));
	assert_true(hdr(&l, "anthropic-ratelimit-requests-reset", "2025-01-01T00:00:05Z"));
	assert_true(hdr(&l, "anthropic-ratelimit-output-tokens-remaining", "0"));
	assert_true(hdr(&l, "anthropic-ratelimit-output-tokens-reset", "2025-01-01T00:00:12Z"));
	assert_true(hdr(&l, "anthropic-ratelimit-input-tokens-reset", "2025-01-01T00:00:01Z"));
	assert_true(retry_limits_wait(&l) == 12.0);
	assert_true(retry_limits_exhausted(&l, 1, &reset));
	assert_true(reset == 12.0);
	assert_int_equal(l.n, 3);

	/* no reset given: nothing to wait for */
	l = (struct retry_limits){0};
	hdr(&l, "x-ratelimit-remaining-requests", "0");
	assert_true(retry_limits_wait(&l) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_table),
	    cmocka_unit_test(test_curl_codes),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_should_retry_header),
	    cmocka_unit_test(test_backoff_bounds_and_jitter),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_reset_parse),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

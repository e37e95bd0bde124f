/* test_retry.c: the retry policy: which failures retry, backoff bounds, jitter determinism,
 * Retry-After (seconds and HTTP-date), x-should-retry overrides, max attempts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "llm/retry.h"

static const struct retry_policy pol = {5, 0.5, 30};

static struct retry_facts facts(long status, int code)
{
	struct retry_facts f = {1, status, code, false, -1, -1};
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
	assert_true(d >= 0 && d <= 0.5);
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
			assert_true(x >= 0 && x <= ceiling);
			assert_true(x == retry_backoff_s(&pol, k, &b)); /* same seed, same draws */
			if (x > max_seen[k - 1])
				max_seen[k - 1] = x;
		}
	}
	/* full jitter reaches close to the ceiling: 2000 draws, the max is near 1 * ceiling */
	assert_true(max_seen[0] > 0.45);
	assert_true(max_seen[5] > 14.0); /* 0.5 * 32 = 16 */
	struct retry_policy capped = {10, 1, 3};
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_table),
	    cmocka_unit_test(test_curl_codes),
	    cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_should_retry_header),
	    cmocka_unit_test(test_backoff_bounds_and_jitter),
	    cmocka_unit_test(test_retry_after),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

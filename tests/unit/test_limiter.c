/* test_limiter.c: a model's adaptive limiter (sched_int.h, sched_limit.c) without a network:
 * AIMD (a burst of 429s halves the window once, successes add it back), holds until a
 * server-given reset, a spent "requests" limit seen in an answer's headers, the quota learned
 * from a fixed window and its probe, and a 429 taken back when a request sent after it is
 * accepted (random refusals must not throttle the model). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "llm/sched_int.h"

static struct limiter fresh_limiter(int cap)
{
	struct limiter lim = {0};
	lim.cap = cap;
	lim.window = cap;
	return lim;
}

/* Admits one attempt at `now`; returns its place in the order (0: not admitted). */
static uint64_t admit(struct limiter *lim, int64_t now)
{
	int64_t retry;
	return limiter_admit(lim, 1, now, &retry) ? lim->seq : 0;
}

static const struct retry_limits no_limits = {0};

static void answer(struct limiter *lim, enum answer_kind how, double delay, uint64_t seq,
                   int64_t now)
{
	limiter_learn(lim, how, delay, 30, &no_limits, seq, now);
	lim->running--;
}

static void test_aimd(void **state)
{
	(void)state;
	struct limiter lim = fresh_limiter(8);
	uint64_t s[8];
	for (int i = 0; i < 8; i++)
		assert_true((s[i] = admit(&lim, 0)) != 0);
	assert_int_equal(admit(&lim, 0), 0); /* the cap */
	/* a burst of 429s for the last four sent (no delay given): one cut */
	for (int i = 4; i < 8; i++)
		answer(&lim, ANSWER_THROTTLED, -1, s[i], 10);
	assert_true(lim.window == 4.0);
	assert_int_equal(lim.hold_until, 0);
	/* now 4 in flight, window 4: nothing more starts */
	assert_int_equal(admit(&lim, 20), 0);
	/* successes of the ones sent before (no evidence against the 429s) add 1/window each:
	 * four of them, about one more slot */
	for (int i = 0; i < 4; i++)
		answer(&lim, ANSWER_OK, -1, s[i], 30);
	assert_true(lim.window > 4.9 && lim.window < 5.0);
	/* a later 429 of an attempt sent after the cut cuts again */
	uint64_t t = admit(&lim, 40);
	answer(&lim, ANSWER_THROTTLED, -1, t, 50);
	assert_true(lim.window < 2.5);
	for (int i = 0; i < 200; i++) {
		t = admit(&lim, 60);
		answer(&lim, ANSWER_OK, -1, t, 60);
	}
	assert_true(lim.window == 8.0); /* never past the configured cap */
}

static void test_hold_until_reset(void **state)
{
	(void)state;
	struct limiter lim = fresh_limiter(4);
	uint64_t a = admit(&lim, 1000), b = admit(&lim, 1000);
	answer(&lim, ANSWER_THROTTLED, 2.5, a, 1100);
	int64_t retry;
	assert_false(limiter_admit(&lim, 1, 1200, &retry));
	assert_true(retry >= 3600 && retry <= 3602);  /* 1100 + 2.5 s */
	answer(&lim, ANSWER_THROTTLED, 2.5, b, 1110); /* the same burst: nothing new */
	assert_true(lim.hold_until <= 3602);
	assert_true(admit(&lim, 3700) != 0);

	/* a delay past the cap holds only as long as the cap (30 s here) */
	struct limiter l2 = fresh_limiter(4);
	uint64_t c = admit(&l2, 0);
	answer(&l2, ANSWER_THROTTLED, 3600, c, 0);
	assert_true(l2.hold_until <= 30001);

	/* an answer saying no request is left holds before any 429 */
	struct limiter l3 = fresh_limiter(4);
	uint64_t d = admit(&l3, 0);
	struct retry_limits rl = {0};
	assert_true(retry_limits_header(&rl, "x-ratelimit-remaining-requests", 30, "0", 0));
	assert_true(retry_limits_header(&rl, "x-ratelimit-reset-requests", 26, "750ms", 0));
	limiter_learn(&l3, ANSWER_OK, -1, 30, &rl, d, 500);
	l3.running--;
	assert_false(limiter_admit(&l3, 1, 600, &retry));
	assert_true(retry >= 1250 && retry <= 1252);
}

/* A window of 5 requests: the 429 after them teaches the quota; in the next window 5 start,
 * then one at a time probes. */
static void test_learned_quota(void **state)
{
	(void)state;
	struct limiter lim = fresh_limiter(16);
	uint64_t s[5];
	for (int i = 0; i < 5; i++)
		s[i] = admit(&lim, 0);
	for (int i = 0; i < 5; i++)
		answer(&lim, ANSWER_OK, -1, s[i], 10);
	uint64_t r = admit(&lim, 20);
	answer(&lim, ANSWER_THROTTLED, 1.0, r, 30);
	assert_int_equal(lim.quota, 5);
	/* next window: five start at once (the window allows 8 after the cut), no sixth while
	 * they run */
	uint64_t w[5];
	for (int i = 0; i < 5; i++)
		assert_true((w[i] = admit(&lim, 1100)) != 0);
	assert_int_equal(admit(&lim, 1100), 0);
	for (int i = 0; i < 5; i++)
		answer(&lim, ANSWER_OK, -1, w[i], 1150);
	/* then a single probe */
	uint64_t p = admit(&lim, 1160);
	assert_true(p != 0);
	assert_int_equal(admit(&lim, 1160), 0);
	answer(&lim, ANSWER_OK, -1, p, 1170);
	/* a limit that keeps taking requests is no fixed window: the quota goes */
	for (int i = 0; i < 6; i++) {
		uint64_t q = admit(&lim, 1200);
		assert_true(q != 0);
		answer(&lim, ANSWER_OK, -1, q, 1210);
	}
	assert_int_equal(lim.quota, 0);
	assert_true(admit(&lim, 1300) != 0 && admit(&lim, 1300) != 0);
}

/* A 429 among accepted requests sent after it: taken back, nothing held or cut. */
static void test_random_refusal_taken_back(void **state)
{
	(void)state;
	struct limiter lim = fresh_limiter(8);
	uint64_t s[8];
	for (int i = 0; i < 8; i++)
		s[i] = admit(&lim, 0);
	answer(&lim, ANSWER_THROTTLED, 0.2, s[2], 200);
	assert_true(lim.window == 4.0);
	assert_true(lim.hold_until > 200);
	answer(&lim, ANSWER_OK, -1, s[1], 201); /* sent before the refused one: proves nothing */
	assert_true(lim.hold_until > 200);
	answer(&lim, ANSWER_OK, -1, s[3], 202); /* sent after it, accepted */
	assert_true(lim.window >= 8.0 - 1e-9);
	assert_int_equal(lim.hold_until, 0);
	assert_int_equal(lim.quota, 0);
	assert_true(admit(&lim, 203) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aimd),
	    cmocka_unit_test(test_hold_until_reset),
	    cmocka_unit_test(test_learned_quota),
	    cmocka_unit_test(test_random_refusal_taken_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

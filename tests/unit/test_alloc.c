/* test_alloc.c: candidate budgets from Shapley credit (floor + largest remainder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <string.h>

#include "engine/alloc.h"

static void check(int m, const double *phi, const bool *el, int total, int floor_n, const int *want)
{
	int out[16];
	struct err e;
	assert_int_equal(alloc_budgets(m, phi, el, total, floor_n, out, &e), 0);
	for (int i = 0; i < m; i++)
		if (out[i] != want[i]) {
			print_error("step %d: got %d, want %d\n", i, out[i], want[i]);
			fail();
		}
}

static void test_proportional(void **state)
{
	(void)state;
	/* floor 1 each, 7 left split 0.5 : 0.3 : 0.2 -> quotas 3.5, 2.1, 1.4 -> 3+1, 2, 1 */
	check(3, (double[]){0.5, 0.3, 0.2}, NULL, 10, 1, (int[]){5, 3, 2});
	/* negative credit counts as 0 */
	check(3, (double[]){0.4, -0.3, 0.1}, NULL, 12, 2, (int[]){7, 2, 3});
	/* scale does not matter */
	check(3, (double[]){5e300, 3e300, 2e300}, NULL, 10, 1, (int[]){5, 3, 2});
	check(3, (double[]){5e-300, 3e-300, 2e-300}, NULL, 10, 1, (int[]){5, 3, 2});
}

static void test_uniform(void **state)
{
	(void)state;
	/* nothing positive (NaN and infinities count as 0): equal split, remainder to low index */
	check(4, (double[]){0, -1, NAN, -INFINITY}, NULL, 10, 1, (int[]){3, 3, 2, 2});
	check(3, (double[]){NAN, NAN, INFINITY}, NULL, 9, 0, (int[]){3, 3, 3});
	check(3, (double[]){-1, -2, -3}, NULL, 3, 1, (int[]){1, 1, 1});
}

static void test_ties(void **state)
{
	(void)state;
	/* equal credit, one seat left over: the lower index takes it */
	check(3, (double[]){0.2, 0.2, 0.2}, NULL, 4, 0, (int[]){2, 1, 1});
	check(4, (double[]){0.1, 0.3, 0.1, 0.3}, NULL, 6, 0, (int[]){1, 2, 1, 2});
	check(4, (double[]){0.1, 0.3, 0.1, 0.3}, NULL, 7, 0, (int[]){1, 3, 1, 2});
}

static void test_eligibility(void **state)
{
	(void)state;
	/* a frozen step gets 0 whatever its credit; the others share everything */
	check(3, (double[]){0.9, 0.1, 0.1}, (bool[]){false, true, true}, 8, 1, (int[]){0, 4, 4});
	/* nothing eligible: all zero, no error */
	check(3, (double[]){0.9, 0.1, 0.1}, (bool[]){false, false, false}, 8, 1, (int[]){0, 0, 0});
	check(0, NULL, NULL, 5, 1, NULL);
}

static void test_floors_and_errors(void **state)
{
	(void)state;
	int out[3];
	struct err e;
	/* exactly the floors: nothing to split */
	check(3, (double[]){1, 0, 0}, NULL, 6, 2, (int[]){2, 2, 2});
	assert_int_equal(alloc_budgets(3, (double[]){1, 0, 0}, NULL, 5, 2, out, &e), -1);
	assert_non_null(strstr(e.msg, "need 6"));
	assert_int_equal(alloc_budgets(3, (double[]){1, 0, 0}, NULL, -1, 0, out, &e), -1);
	assert_int_equal(alloc_budgets(3, (double[]){1, 0, 0}, NULL, 5, -1, out, &e), -1);
	/* a floor that would overflow int arithmetic */
	assert_int_equal(alloc_budgets(3, (double[]){1, 0, 0}, NULL, INT_MAX, INT_MAX, out, &e),
	                 -1);
}

static void test_large_totals(void **state)
{
	(void)state;
	int out[5];
	struct err e;
	double phi[] = {1.0 / 3, 1.0 / 3, 1.0 / 3, 1e-9, 0.25};
	assert_int_equal(alloc_budgets(5, phi, NULL, INT_MAX, 1000, out, &e), 0);
	long long sum = 0;
	for (int i = 0; i < 5; i++)
		sum += out[i];
	assert_int_equal(sum, INT_MAX);
	assert_true(out[3] >= 1000);
	assert_true(out[0] >= out[1] && out[1] >= out[2] && out[2] >= out[0] - 1);
}

static int sum_of(const int *v, int m)
{
	int s = 0;
	for (int i = 0; i < m; i++)
		s += v[i];
	return s;
}

static void test_properties(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 42);
	for (int rep = 0; rep < 2000; rep++) {
		int m = 1 + (int)rng_below(&r, 10), floor_n = (int)rng_below(&r, 4);
		double phi[10];
		bool el[10];
		int k = 0;
		for (int i = 0; i < m; i++) {
			phi[i] = rng_double(&r) - 0.3;
			if (rng_below(&r, 8) == 0) /* exact ties */
				phi[i] = phi[0];
			el[i] = rng_below(&r, 5) != 0;
			k += el[i];
		}
		int total = floor_n * k + (int)rng_below(&r, 60);
		int out[10], out2[10];
		struct err e;
		assert_int_equal(alloc_budgets(m, phi, el, total, floor_n, out, &e), 0);
		assert_int_equal(sum_of(out, m), k ? total : 0);
		for (int i = 0; i < m; i++) {
			assert_true(el[i] ? out[i] >= floor_n : out[i] == 0);
			/* more positive credit never means fewer candidates */
			for (int j = 0; j < m; j++)
				if (el[i] && el[j] && phi[i] > 0 && phi[i] > phi[j])
					assert_true(out[i] >= out[j]);
		}
		/* raising one step's credit never lowers its own budget */
		int i = (int)rng_below(&r, (uint64_t)m);
		phi[i] += rng_double(&r);
		assert_int_equal(alloc_budgets(m, phi, el, total, floor_n, out2, &e), 0);
		assert_true(out2[i] >= out[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proportional),
	    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_eligibility),
	    cmocka_unit_test(test_floors_and_errors),
	    cmocka_unit_test(test_large_totals),
	    cmocka_unit_test(test_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

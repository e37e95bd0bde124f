/* test_linalg.c: Cholesky factorisation and solves on known matrices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "core/util.h"
#include "engine/linalg.h"

static void test_known_factor(void **state)
{
	(void)state;
	double a[9] = {4, 12, -16, 12, 37, -43, -16, -43, 98};
	double want[9] = {2, 0, 0, 6, 1, 0, -8, 5, 3};
	assert_int_equal(linalg_cholesky(a, 3, 0), 0);
	for (int i = 0; i < 9; i++)
		assert_true(fabs(a[i] - want[i]) < 1e-12);
	/* A x = b with x = (1, -2, 0.5): b = A x */
	double b[3] = {4 - 24 - 8, 12 - 74 - 21.5, -16 + 86 + 49};
	linalg_cholesky_solve(a, 3, b);
	assert_true(fabs(b[0] - 1) < 1e-10);
	assert_true(fabs(b[1] + 2) < 1e-10);
	assert_true(fabs(b[2] - 0.5) < 1e-10);
	/* L y = c then L^T z = y separately */
	double c[3] = {2, 7, 0};
	linalg_solve_lower(a, 3, c); /* 2y0=2, 6y0+y1=7, -8y0+5y1+3y2=0 */
	assert_true(fabs(c[0] - 1) < 1e-12 && fabs(c[1] - 1) < 1e-12 && fabs(c[2] - 1) < 1e-12);
	linalg_solve_upper_t(a, 3, c); /* 3z2=1, z1+5z2=1, 2z0+6z1-8z2=1 */
	assert_true(fabs(c[2] - 1.0 / 3) < 1e-12);
	assert_true(fabs(c[1] - (1 - 5.0 / 3)) < 1e-12);
	assert_true(fabs(c[0] - (1 - 6 * c[1] + 8 * c[2]) / 2) < 1e-12);
}

static void test_hilbert_roundtrip(void **state)
{
	(void)state;
	enum { N = 6 };
	double h[N * N], l[N * N], x[N], b[N];
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			h[i * N + j] = l[i * N + j] = 1.0 / (i + j + 1);
	assert_int_equal(linalg_cholesky(l, N, 0), 0);
	for (int i = 0; i < N; i++) /* L L^T reproduces H */
		for (int j = 0; j < N; j++) {
			double s = 0;
			for (int k = 0; k < N; k++)
				s += l[i * N + k] * l[j * N + k];
			assert_true(fabs(s - h[i * N + j]) < 1e-14);
		}
	for (int i = 0; i < N; i++)
		x[i] = b[i] = 0;
	b[0] = 1;
	linalg_cholesky_solve(l, N, b);
	for (int i = 0; i < N; i++) /* H b = e0 */
		for (int j = 0; j < N; j++)
			x[i] += h[i * N + j] * b[j];
	assert_true(fabs(x[0] - 1) < 1e-7 && fabs(x[N - 1]) < 1e-7);
}

static void test_not_positive_definite(void **state)
{
	(void)state;
	double a[4] = {1, 2, 2, 1}; /* eigenvalues 3, -1 */
	assert_int_equal(linalg_cholesky(a, 2, 0), -1);
	double s[4] = {1, 1, 1, 1}; /* singular */
	assert_int_equal(linalg_cholesky(s, 2, 1e-12), -1);
	double n[1] = {NAN};
	assert_int_equal(linalg_cholesky(n, 1, 0), -1);
	double p[4] = {1e-20, 0, 0, 1};
	assert_int_equal(linalg_cholesky(p, 2, 0), 0);
	p[0] = 1e-20;
	p[3] = 1;
	assert_int_equal(linalg_cholesky(p, 2, 1e-12), -1);
	assert_int_equal(linalg_cholesky(NULL, 0, 0), 0);
}

/* A factor grown a row at a time equals the one factored at once (the same arithmetic in the
 * same order), and the packed solves agree with the square ones. */
static void test_append_equals_fresh(void **state)
{
	(void)state;
	enum { N = 40 };
	static double a[N * N], l[N * N], lp[N * (N + 1) / 2], row[N + 1];
	struct rng r;
	rng_seed(&r, 3);
	double g[N][5];
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 5; k++)
			g[i][k] = rng_double(&r) * 3;
	for (int i = 0; i < N; i++) /* a squared-exponential kernel matrix plus a small jitter */
		for (int j = 0; j < N; j++) {
			double d = 0;
			for (int k = 0; k < 5; k++)
				d += (g[i][k] - g[j][k]) * (g[i][k] - g[j][k]);
			a[i * N + j] = l[i * N + j] = exp(-d / 2) + (i == j ? 1e-6 : 0);
		}
	assert_int_equal(linalg_cholesky(l, N, 0), 0);
	for (int n = 0; n < N; n++) {
		for (int j = 0; j <= n; j++)
			row[j] = a[n * N + j];
		assert_int_equal(linalg_cholesky_append(lp, n, row, 0), 0);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j <= i; j++)
			assert_true(fabs(lp[LINALG_PACKED(i) + (size_t)j] - l[i * N + j]) < 1e-9);
	double b1[N], b2[N];
	for (int i = 0; i < N; i++)
		b1[i] = b2[i] = rng_double(&r) - 0.5;
	linalg_solve_lower(l, N, b1);
	linalg_packed_solve_lower(lp, N, b2);
	for (int i = 0; i < N; i++)
		assert_true(fabs(b1[i] - b2[i]) < 1e-9 * (1 + fabs(b1[i])));
	linalg_solve_upper_t(l, N, b1);
	linalg_packed_solve_upper_t(lp, N, b2);
	for (int i = 0; i < N; i++)
		assert_true(fabs(b1[i] - b2[i]) < 1e-9 * (1 + fabs(b1[i])));
	/* a point that covaries like point 0 but varies less makes it indefinite: -1, and the rows
	 * already there are untouched */
	double bad[3] = {a[0], a[1], 0.5};
	assert_int_equal(linalg_cholesky_append(lp, 2, bad, 0), -1);
	assert_true(lp[LINALG_PACKED(0)] == l[0] && lp[LINALG_PACKED(1) + 1] == l[N + 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_factor),
	    cmocka_unit_test(test_hilbert_roundtrip),
	    cmocka_unit_test(test_not_positive_definite),
	    cmocka_unit_test(test_append_equals_fresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

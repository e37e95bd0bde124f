/* test_bo.c: Bayesian optimisation over choice vectors: surrogate, acquisition, search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engine/bo.h"
#include "engine/linalg.h"

enum { MAXM = 8 };

/* An additive objective a[i][c[i]] with random parts; *opt receives its maximum. */
struct additive {
	int m, n;
	double a[MAXM][4], opt;
};

static void additive_init(struct additive *f, int m, int n, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	f->m = m;
	f->n = n;
	f->opt = 0;
	for (int i = 0; i < m; i++) {
		double mx = -1;
		for (int v = 0; v < n; v++) {
			f->a[i][v] = rng_double(&r);
			mx = MAX(mx, f->a[i][v]);
		}
		f->opt += mx;
	}
}

static double additive_eval(const struct additive *f, const int *c)
{
	double y = 0;
	for (int i = 0; i < f->m; i++)
		y += f->a[i][c[i]];
	return y;
}

/* Runs suggest/observe until the optimum is observed or `limit` evaluations; returns the
 * number of evaluations, or limit + 1 when the optimum was not found. */
static int run_to_optimum(struct bo *bo, const struct additive *f, int limit, int *trace)
{
	int c[MAXM];
	struct err e;
	for (int k = 0; k < limit; k++) {
		assert_int_equal(bo_suggest(bo, c), 0);
		if (trace)
			memcpy(trace + k * f->m, c, sizeof(int) * (size_t)f->m);
		double y = additive_eval(f, c);
		assert_int_equal(bo_observe(bo, c, y, &e), 0);
		if (fabs(y - f->opt) < 1e-12)
			return k + 1;
	}
	return limit + 1;
}

static void test_initial_design(void **state)
{
	(void)state;
	struct bo *bo = bo_new(3, (int[]){3, 1, 2}, 1);
	int d[5 * 3];
	size_t n = bo_initial_design(bo, d, 5);
	/* incumbent, step 0 -> 1, step 2 -> 1 (step 1 has one choice), all-best */
	int want[] = {0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1};
	assert_int_equal(n, 4);
	assert_memory_equal(d, want, sizeof(want));
	assert_int_equal(bo_initial_design(bo, d, 2), 2);
	/* suggestions walk the design first */
	int c[3];
	for (int k = 0; k < 4; k++) {
		assert_int_equal(bo_suggest(bo, c), 0);
		assert_memory_equal(c, want + 3 * k, sizeof(c));
	}
	bo_free(bo);
	/* m = 1 with two choices: incumbent and the single change (== all-best) */
	bo = bo_new(1, (int[]){2}, 1);
	assert_int_equal(bo_initial_design(bo, d, 5), 2);
	bo_free(bo);
}

static void test_interpolation_and_ei(void **state)
{
	(void)state;
	struct bo *bo = bo_new(3, (int[]){3, 3, 3}, 5);
	struct rng r;
	rng_seed(&r, 9);
	int xs[8][3];
	double ys[8];
	struct err e;
	int best = 0;
	for (int k = 0; k < 8; k++) {
		for (int i = 0; i < 3; i++)
			xs[k][i] = (k >> i & 1) + (k == 7 ? 1 : 0); /* distinct configurations */
		ys[k] = 10 + rng_double(&r);
		if (ys[k] > ys[best])
			best = k;
		assert_int_equal(bo_observe(bo, xs[k], ys[k], &e), 0);
	}
	assert_int_equal(bo_count(bo), 8);
	for (int k = 0; k < 8; k++) {
		double mu, sd;
		bo_predict(bo, xs[k], &mu, &sd);
		assert_true(fabs(mu - ys[k]) < 1e-3);
		assert_true(sd < 1e-2);
	}
	/* EI at the best observed point is ~0, positive at unobserved points */
	assert_true(bo_expected_improvement(bo, xs[best]) < 1e-3);
	int c[3] = {2, 0, 2};
	double mu, sd;
	bo_predict(bo, c, &mu, &sd);
	assert_true(sd > 0.01);
	assert_true(bo_expected_improvement(bo, c) > 1e-6);
	int bc[3];
	assert_true(bo_best(bo, bc) == ys[best]);
	assert_memory_equal(bc, xs[best], sizeof(bc));
	assert_true(bo_length_scale(bo) > 0);
	bo_free(bo);
}

/* A noisy observation (screening's estimate from a few examples) is weighed, not
 * interpolated: its posterior keeps a spread and leans towards its neighbours; revised to a
 * measured value (variance 0), the model interpolates it again. */
static void test_noisy(void **state)
{
	(void)state;
	struct bo *bo = bo_new(3, (int[]){2, 2, 2}, 5);
	struct err e;
	int a[3] = {0, 0, 0}, b[3] = {1, 0, 0}, c[3] = {0, 1, 0}, d[3] = {0, 0, 1};
	assert_int_equal(bo_observe(bo, a, 0.3, &e), 0);
	assert_int_equal(bo_observe(bo, c, 0.35, &e), 0);
	assert_int_equal(bo_observe(bo, d, 0.25, &e), 0);
	assert_int_equal(bo_observe_noisy(bo, b, 0.9, 0.04, &e), 0); /* SE 0.2 */
	double mu, sd, mu0, sd0;
	bo_predict(bo, b, &mu, &sd);
	assert_true(mu < 0.85 && mu > 0.3); /* pulled towards the measured neighbours */
	assert_true(sd > 0.02);
	assert_int_equal(bo_revise_noisy(bo, b, 0.9, 0), 0); /* measured: interpolated */
	bo_predict(bo, b, &mu0, &sd0);
	assert_true(fabs(mu0 - 0.9) < 1e-3);
	assert_true(sd0 < sd);
	assert_int_equal(bo_revise_noisy(bo, b, 0.9, 0.04), 0); /* back: the same fit as before */
	double mu1, sd1;
	bo_predict(bo, b, &mu1, &sd1);
	assert_true(fabs(mu1 - mu) < 1e-9 && fabs(sd1 - sd) < 1e-9);
	bo_free(bo);
}

/* bo_revise replaces a value (racing: a subsample mean, then the whole sample's): the model
 * interpolates the new one, the best follows it, and the count stays; an unobserved or failed
 * configuration, or a value that is not finite, is refused. */
static void test_revise(void **state)
{
	(void)state;
	struct bo *bo = bo_new(2, (int[]){2, 2}, 3);
	struct err e;
	int a[2] = {0, 0}, b[2] = {1, 0}, c[2] = {0, 1}, d[2] = {1, 1}, bc[2];
	assert_int_equal(bo_observe(bo, a, 0.2, &e), 0);
	assert_int_equal(bo_observe(bo, b, 0.6, &e), 0);
	assert_int_equal(bo_observe(bo, c, NAN, &e), 0);
	assert_true(bo_best(bo, bc) == 0.6);
	assert_int_equal(bo_revise(bo, b, 0.1), 0);
	double mu, sd;
	bo_predict(bo, b, &mu, &sd);
	assert_true(fabs(mu - 0.1) < 1e-3); /* replaced, not averaged with 0.6 */
	assert_true(bo_best(bo, bc) == 0.2);
	assert_memory_equal(bc, a, sizeof bc);
	assert_int_equal(bo_count(bo), 3);
	assert_int_equal(bo_revise(bo, d, 0.5), -1); /* never observed */
	assert_int_equal(bo_revise(bo, c, 0.5), -1); /* failed */
	assert_int_equal(bo_revise(bo, a, NAN), -1); /* not a value */
	assert_true(bo_best(bo, bc) == 0.2);
	bo_free(bo);
}

static void test_finds_additive_optimum(void **state)
{
	(void)state;
	/* 4 steps x 4 candidates = 256 configurations; enumerated acquisition */
	for (uint64_t obj = 0; obj < 20; obj++) {
		struct additive f;
		additive_init(&f, 4, 4, 1000 + obj);
		struct bo *bo = bo_new(4, (int[]){4, 4, 4, 4}, 7);
		int n = run_to_optimum(bo, &f, 32, NULL);
		if (n > 32) {
			print_error("objective %d: optimum not found in 32 of 256\n", (int)obj);
			fail();
		}
		bo_free(bo);
	}
	/* 8 steps x 4 candidates = 65536: sampled acquisition with hill climbing */
	for (uint64_t obj = 0; obj < 3; obj++) {
		struct additive f;
		additive_init(&f, 8, 4, 1000 + obj);
		int n[MAXM] = {4, 4, 4, 4, 4, 4, 4, 4};
		struct bo *bo = bo_new(8, n, 7);
		assert_true(run_to_optimum(bo, &f, 60, NULL) <= 60);
		bo_free(bo);
	}
}

static void test_determinism(void **state)
{
	(void)state;
	struct additive f;
	int n[MAXM] = {4, 4, 4, 4, 4, 4, 4, 4};
	for (int m = 4; m <= 8; m += 4) { /* enumerated and sampled */
		int t1[25 * MAXM], t2[25 * MAXM];
		additive_init(&f, m, 4, 55);
		f.opt = INFINITY; /* never stop early */
		struct bo *a = bo_new(m, n, 3), *b = bo_new(m, n, 3);
		run_to_optimum(a, &f, 25, t1);
		run_to_optimum(b, &f, 25, t2);
		assert_memory_equal(t1, t2, sizeof(int) * 25 * (size_t)m);
		bo_free(a);
		bo_free(b);
	}
}

static void test_exhaustion_no_repeats(void **state)
{
	(void)state;
	/* 3 x 3 x 2 = 18 configurations: every one suggested exactly once, then -1 */
	struct bo *bo = bo_new(3, (int[]){3, 3, 2}, 11);
	bool hit[3][3][2] = {0};
	int c[3];
	struct err e;
	for (int k = 0; k < 18; k++) {
		assert_int_equal(bo_suggest(bo, c), 0);
		assert_false(hit[c[0]][c[1]][c[2]]);
		hit[c[0]][c[1]][c[2]] = true;
		/* a failed evaluation now and then: still never suggested again */
		double y = k % 5 == 4 ? NAN : sin(c[0] + 2.0 * c[1]) + c[2];
		assert_int_equal(bo_observe(bo, c, y, &e), 0);
	}
	assert_int_equal(bo_suggest(bo, c), -1);
	assert_int_equal(bo_count(bo), 18);
	bo_free(bo);

	/* pending suggestions are not repeated before they are observed */
	bo = bo_new(2, (int[]){2, 2}, 1);
	int s[4][2];
	for (int k = 0; k < 4; k++)
		assert_int_equal(bo_suggest(bo, s[k]), 0);
	assert_int_equal(bo_suggest(bo, c), -1);
	for (int k = 0; k < 4; k++)
		for (int j = 0; j < k; j++)
			assert_false(s[k][0] == s[j][0] && s[k][1] == s[j][1]);
	bo_free(bo);
}

static void test_degenerate(void **state)
{
	(void)state;
	int c[4] = {9, 9, 9, 9};
	struct err e;
	/* one choice everywhere: nothing to search */
	struct bo *bo = bo_new(1, (int[]){1}, 1);
	assert_int_equal(bo_suggest(bo, c), -1);
	assert_true(isnan(bo_best(bo, c)));
	assert_int_equal(c[0], 0);
	bo_free(bo);
	bo = bo_new(3, (int[]){1, 1, 1}, 1);
	assert_int_equal(bo_suggest(bo, c), -1);
	bo_free(bo);
	/* m = 1 with three choices: 0, 1, then 2, then nothing */
	bo = bo_new(1, (int[]){3}, 1);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(bo_suggest(bo, c), 0);
		assert_int_equal(c[0], k);
		assert_int_equal(bo_observe(bo, c, -k, &e), 0);
	}
	assert_int_equal(bo_suggest(bo, c), -1);
	assert_true(bo_best(bo, c) == 0 && c[0] == 0);
	/* repeated observations average; NaN does not erase a value; out of range fails */
	assert_int_equal(bo_observe(bo, (int[]){1}, 1, &e), 0); /* (-1 + 1) / 2 */
	assert_int_equal(bo_observe(bo, (int[]){2}, NAN, &e), 0);
	assert_int_equal(bo_observe(bo, (int[]){2}, 4, &e), 0); /* -2 then 4 */
	assert_true(bo_best(bo, c) == 1 && c[0] == 2);
	assert_int_equal(bo_observe(bo, (int[]){3}, 1, &e), -1);
	assert_string_equal(e.msg, "search: step 1: choice 3 is outside 0..2");
	assert_int_equal(bo_count(bo), 3);
	bo_free(bo);
	/* invalid construction */
	assert_null(bo_new(0, NULL, 1));
	assert_null(bo_new(2, (int[]){2, 0}, 1));
	bo_free(NULL);
	/* a model with nothing finite still suggests */
	bo = bo_new(2, (int[]){3, 3}, 1);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(bo_suggest(bo, c), 0);
		assert_int_equal(bo_observe(bo, c, NAN, &e), 0);
	}
	assert_int_equal(bo_suggest(bo, c), 0);
	assert_true(isnan(bo_best(bo, c)));
	bo_free(bo);
	/* a failed configuration measured later joins the model before points fitted since */
	bo = bo_new(1, (int[]){3}, 1);
	double mu, sd;
	assert_int_equal(bo_observe(bo, (int[]){0}, NAN, &e), 0);
	assert_int_equal(bo_observe(bo, (int[]){1}, 1, &e), 0);
	assert_int_equal(bo_observe(bo, (int[]){2}, 3, &e), 0);
	bo_predict(bo, (int[]){1}, &mu, &sd);
	assert_true(fabs(mu - 1) < 1e-3);
	assert_int_equal(bo_observe(bo, (int[]){0}, 2, &e), 0);
	for (int v = 0; v < 3; v++) {
		bo_predict(bo, (int[]){v}, &mu, &sd);
		assert_true(fabs(mu - (v == 0 ? 2 : v == 1 ? 1 : 3)) < 1e-3);
	}
	bo_free(bo);
}

/* The objective of the two tests below: additive with a small interaction of the first and
 * last steps. */
static double bumpy(const double a[][4], int m, const int *c)
{
	double y = 0.05 * sin(7.0 * c[0] * c[m - 1]);
	for (int i = 0; i < m; i++)
		y += a[i][c[i]];
	return y;
}

static void bumpy_init(double a[][4], int m, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (int i = 0; i < m; i++)
		for (int v = 0; v < 4; v++)
			a[i][v] = rng_double(&r);
}

/* On an enumerated space the suggestions are those of the search before its factors were grown
 * incrementally and its candidates screened (recorded from that code), and each one past the
 * initial design is the first configuration, in mixed-radix order, of largest expected
 * improvement among those not yet evaluated. */
static void test_suggestions_unchanged(void **state)
{
	(void)state;
	static const char *const want[] = {
	    "0000", "1000", "0100", "0010", "0001", "1111", "0101", "0102", "2102", "2202",
	    "2302", "2322", "2332", "3322", "3302", "3323", "3303", "2323", "3223", "3321",
	    "3333", "3320", "0323", "3313", "3123", "1322", "3301", "3222", "2303", "3023",
	    "0322", "3312", "3203", "1303", "3300", "0303", "3332", "3122", "2321", "3103"};
	double a[4][4];
	bumpy_init(a, 4, 1001);
	struct bo *bo = bo_new(4, (int[]){4, 4, 4, 4}, 1001);
	bool done[256] = {0};
	struct err e;
	for (size_t k = 0; k < ARRAY_SIZE(want); k++) {
		int first = -1, c[4], x[4];
		double top = -1;
		for (int code = 0; code < 256 && k >= 6; code++) {
			for (int i = 0; i < 4; i++)
				x[i] = code >> (2 * i) & 3;
			double ei = done[code] ? -1 : bo_expected_improvement(bo, x);
			if (ei > top) {
				top = ei;
				first = code;
			}
		}
		assert_int_equal(bo_suggest(bo, c), 0);
		char got[5];
		for (int i = 0; i < 4; i++)
			got[i] = (char)('0' + c[i]);
		got[4] = 0;
		assert_string_equal(got, want[k]);
		int code = c[0] | c[1] << 2 | c[2] << 4 | c[3] << 6;
		if (k >= 6)
			assert_int_equal(code, first);
		done[code] = true;
		assert_int_equal(bo_observe(bo, c, bumpy((const double(*)[4])a, 4, c), &e), 0);
	}
	bo_free(bo);
}

/* The posterior after many observations, each added to the grown factors, equals the one
 * computed here from a fresh factorisation of the whole kernel matrix. */
static void test_posterior_matches_fresh_factor(void **state)
{
	(void)state;
	enum { M = 8, N = 120 };
	double a[M][4];
	bumpy_init(a, M, 77);
	int n[M] = {4, 4, 4, 4, 4, 4, 4, 4}, xs[N][M], c[M];
	double ys[N];
	struct bo *bo = bo_new(M, n, 77);
	struct err e;
	for (int k = 0; k < N; k++) {
		assert_int_equal(bo_suggest(bo, xs[k]), 0);
		ys[k] = bumpy((const double(*)[4])a, M, xs[k]);
		assert_int_equal(bo_observe(bo, xs[k], ys[k], &e), 0);
		if (k % 10 == 0) { /* refits along the way, as the search does */
			double mu, sd;
			bo_predict(bo, xs[0], &mu, &sd);
		}
	}
	/* the model, from scratch: standardised values, Matern-5/2 on sqrt(2h), noise 1e-6 */
	double mean = 0, ss = 0, ls = bo_length_scale(bo), kh[M + 1];
	for (int k = 0; k < N; k++)
		mean += ys[k] / N;
	for (int k = 0; k < N; k++)
		ss += (ys[k] - mean) * (ys[k] - mean);
	double sdy = sqrt(ss / (N - 1));
	for (int h = 0; h <= M; h++) {
		double r = sqrt(10.0 * h) / ls;
		kh[h] = (1 + r + r * r / 3) * exp(-r);
	}
	static double l[N * N], alpha[N], v[N];
	for (int i = 0; i < N; i++) {
		alpha[i] = (ys[i] - mean) / sdy;
		for (int j = 0; j < N; j++) {
			int h = 0;
			for (int s = 0; s < M; s++)
				h += xs[i][s] != xs[j][s];
			l[i * N + j] = kh[h] + (i == j ? 1e-6 : 0);
		}
	}
	assert_int_equal(linalg_cholesky(l, N, 0), 0);
	linalg_cholesky_solve(l, N, alpha);
	struct rng r;
	rng_seed(&r, 5);
	for (int t = 0; t < 50; t++) {
		for (int s = 0; s < M; s++)
			c[s] = t < 10 ? xs[t * 7][s] : (int)rng_below(&r, 4);
		double mu = 0, q = 0, got_mu, got_sd;
		for (int i = 0; i < N; i++) {
			int h = 0;
			for (int s = 0; s < M; s++)
				h += xs[i][s] != c[s];
			v[i] = kh[h];
			mu += alpha[i] * v[i];
		}
		linalg_solve_lower(l, N, v);
		for (int i = 0; i < N; i++)
			q += v[i] * v[i];
		bo_predict(bo, c, &got_mu, &got_sd);
		assert_true(fabs(got_mu - (mean + sdy * mu)) < 1e-9);
		assert_true(fabs(got_sd - sdy * sqrt(MAX(1 - q, 0))) < 1e-6 * sdy);
	}
	bo_free(bo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_initial_design),
	    cmocka_unit_test(test_interpolation_and_ei),
	    cmocka_unit_test(test_revise),
	    cmocka_unit_test(test_noisy),
	    cmocka_unit_test(test_finds_additive_optimum),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_exhaustion_no_repeats),
	    cmocka_unit_test(test_degenerate),
	    cmocka_unit_test(test_suggestions_unchanged),
	    cmocka_unit_test(test_posterior_matches_fresh_factor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_shapley.c: Shapley estimators against closed-form games, properties over random games,
 * Kernel SHAP edge cases and the bootstrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/shapley.h"

#define TOL 1e-9

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("got %.12g, want %.12g (tol %g)\n", got, want, tol);
		fail();
	}
}

/* A game as a full table, so every estimator can run on it. */
struct table {
	int m;
	double v[1 << 12];
	int calls;
};

static double table_v(void *arg, const uint64_t *s)
{
	struct table *t = arg;
	t->calls++;
	return t->v[*s];
}

static void all_estimators(struct table *t, const double *want, double tol_perm)
{
	int m = t->m;
	double phi[SHAPLEY_MAX_PLAYERS];
	struct err e;
	assert_int_equal(shapley_exact(m, table_v, t, phi, &e), 0);
	for (int i = 0; i < m; i++)
		assert_close(phi[i], want[i], TOL);

	uint64_t masks[1 << 12];
	for (uint64_t s = 0; s < 1u << m; s++)
		masks[s] = s;
	struct shapley_fit fit = {.ridged = true};
	assert_int_equal(shapley_kernel(m, masks, t->v, 1u << m, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	for (int i = 0; i < m; i++)
		assert_close(phi[i], want[i], TOL);

	struct rng r;
	rng_seed(&r, 7);
	assert_int_equal(shapley_permutation(m, table_v, t, 4000, &r, phi, NULL, &e), 0);
	for (int i = 0; i < m; i++)
		assert_close(phi[i], want[i], tol_perm);
}

static void test_glove(void **state)
{
	(void)state;
	/* player 0 holds a left glove, players 1 and 2 a right one; a pair is worth 1 */
	struct table t = {.m = 3};
	for (uint64_t s = 0; s < 8; s++)
		t.v[s] = (s & 1) && (s & 6);
	double want[] = {2.0 / 3, 1.0 / 6, 1.0 / 6};
	all_estimators(&t, want, 0.03);
}

static void test_airport(void **state)
{
	(void)state;
	/* runway cost of a coalition is the largest need in it; c = 1, 3, 6, 10 */
	double c[] = {1, 3, 6, 10};
	struct table t = {.m = 4};
	for (uint64_t s = 0; s < 16; s++)
		for (int i = 0; i < 4; i++)
			if (s >> i & 1)
				t.v[s] = MAX(t.v[s], c[i]);
	/* phi_i = sum_{k<=i} (c_k - c_{k-1}) / (m - k) */
	double want[4], acc = 0, prev = 0;
	for (int i = 0; i < 4; i++) {
		acc += (c[i] - prev) / (4 - i);
		prev = c[i];
		want[i] = acc;
	}
	assert_close(want[0], 0.25, TOL);
	assert_close(want[3], 0.25 + 2.0 / 3 + 1.5 + 4, TOL);
	all_estimators(&t, want, 0.15);
}

static void majority(struct table *t, const int *w, int quota)
{
	for (uint64_t s = 0; s < 1u << t->m; s++) {
		int sum = 0;
		for (int i = 0; i < t->m; i++)
			sum += (s >> i & 1) * w[i];
		t->v[s] = sum >= quota;
	}
}

static void test_weighted_majority(void **state)
{
	(void)state;
	/* [2,1,1] quota 3: player 0 is pivotal in 4 of the 6 orderings */
	struct table t = {.m = 3};
	majority(&t, (int[]){2, 1, 1}, 3);
	all_estimators(&t, (double[]){2.0 / 3, 1.0 / 6, 1.0 / 6}, 0.03);
	/* [3,1,1,1] quota 4: player 0 is pivotal unless it comes first */
	t.m = 4;
	majority(&t, (int[]){3, 1, 1, 1}, 4);
	all_estimators(&t, (double[]){0.75, 1.0 / 12, 1.0 / 12, 1.0 / 12}, 0.03);
}

static void test_additive(void **state)
{
	(void)state;
	double a[] = {0.3, -0.1, 0.05, 0.2, 0};
	struct table t = {.m = 5};
	for (uint64_t s = 0; s < 32; s++) {
		t.v[s] = 0.4;
		for (int i = 0; i < 5; i++)
			t.v[s] += (s >> i & 1) * a[i];
	}
	/* additive: every ordering gives the same marginals, so permutation is exact too */
	all_estimators(&t, a, TOL);

	/* Kernel SHAP from the search's initial design alone: empty, singletons, full */
	uint64_t masks[7] = {0, 1, 2, 4, 8, 16, 31};
	double vals[7], phi[5];
	for (int k = 0; k < 7; k++)
		vals[k] = t.v[masks[k]];
	struct shapley_fit fit = {.ridged = true};
	struct err e;
	assert_int_equal(shapley_kernel(5, masks, vals, 7, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	for (int i = 0; i < 5; i++)
		assert_close(phi[i], a[i], TOL);
}

static void random_table(struct table *t, int m, struct rng *r)
{
	t->m = m;
	for (uint64_t s = 0; s < 1u << m; s++)
		t->v[s] = rng_double(r);
}

static void test_random_properties(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 2024);
	for (int m = 2; m <= 12; m += m < 8 ? 1 : 4) { /* 2..8, and 12 */
		for (int rep = 0; rep < 3; rep++) {
			struct table t;
			random_table(&t, m, &r);
			/* players 0 and 1 interchangeable: v(S) = v(S with 0 and 1 swapped) */
			for (uint64_t s = 0; s < 1u << m; s++) {
				uint64_t sw = (s & ~3u) | (s >> 1 & 1) | (s << 1 & 2);
				t.v[sw] = t.v[s];
			}
			/* player m-1 is null: v(S) = v(S without m-1) */
			uint64_t last = 1u << (m - 1);
			for (uint64_t s = 0; s < 1u << m; s++)
				if (s & last)
					t.v[s] = t.v[s & ~last];
			if (m == 2) /* 0 and 1 would be the same player; keep only null-ness */
				for (uint64_t s = 0; s < 4; s++)
					t.v[s] = t.v[s & 1];

			double exact[12], kern[12], perm[12], total = t.v[(1u << m) - 1] - t.v[0];
			static uint64_t masks[1 << 12];
			for (uint64_t s = 0; s < 1u << m; s++)
				masks[s] = s;
			struct err e;
			struct rng pr;
			rng_seed(&pr, 99);
			assert_int_equal(shapley_exact(m, table_v, &t, exact, &e), 0);
			assert_int_equal(shapley_kernel(m, masks, t.v, 1u << m, kern, NULL, &e), 0);
			assert_int_equal(
			    shapley_permutation(m, table_v, &t, 301, &pr, perm, NULL, &e), 0);
			double se = 0, sk = 0, sp = 0;
			for (int i = 0; i < m; i++) {
				se += exact[i];
				sk += kern[i];
				sp += perm[i];
				assert_close(kern[i], exact[i], TOL);
			}
			assert_close(se, total, TOL);
			assert_close(sk, total, TOL);
			assert_close(sp, total, 1e-9); /* telescoping: exact per ordering */
			assert_close(exact[m - 1], 0, TOL);
			assert_close(kern[m - 1], 0, TOL);
			assert_close(perm[m - 1], 0, TOL);
			if (m > 2)
				assert_close(exact[0], exact[1], TOL);
		}
	}
}

static void test_permutation_converges(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 5);
	struct table t;
	random_table(&t, 7, &r);
	double exact[7], perm[7];
	struct err e;
	assert_int_equal(shapley_exact(7, table_v, &t, exact, &e), 0);
	double err_small = 0, err_big = 0;
	rng_seed(&r, 11);
	assert_int_equal(shapley_permutation(7, table_v, &t, 20, &r, perm, NULL, &e), 0);
	for (int i = 0; i < 7; i++)
		err_small = MAX(err_small, fabs(perm[i] - exact[i]));
	rng_seed(&r, 11);
	t.calls = 0;
	assert_int_equal(shapley_permutation(7, table_v, &t, 20000, &r, perm, NULL, &e), 0);
	assert_true(t.calls <= 128); /* each coalition asked once */
	for (int i = 0; i < 7; i++)
		err_big = MAX(err_big, fabs(perm[i] - exact[i]));
	assert_true(err_big < 0.02);
	assert_true(err_big < err_small);

	/* m = 2, an even number of antithetic orderings covers both orderings: exact */
	struct table t2 = {.m = 2, .v = {0, 1, 5, 3}};
	double p2[2];
	assert_int_equal(shapley_permutation(2, table_v, &t2, 2, &r, p2, NULL, &e), 0);
	assert_close(p2[0], (1 + (3 - 5)) / 2.0, TOL);
	assert_close(p2[1], (5 + (3 - 1)) / 2.0, TOL);

	/* determinism */
	double a[7], b[7];
	rng_seed(&r, 3);
	shapley_permutation(7, table_v, &t, 15, &r, a, NULL, &e);
	rng_seed(&r, 3);
	shapley_permutation(7, table_v, &t, 15, &r, b, NULL, &e);
	assert_memory_equal(a, b, sizeof(a));
}

static double nan_at_3(void *arg, const uint64_t *s)
{
	(void)arg;
	return *s == 3 ? NAN : (double)*s;
}

static void test_degenerate(void **state)
{
	(void)state;
	struct err e;
	double phi[SHAPLEY_MAX_PLAYERS + 1] = {42};
	struct rng r;
	rng_seed(&r, 1);
	/* m == 0: nothing written */
	assert_int_equal(shapley_exact(0, nan_at_3, NULL, phi, &e), 0);
	assert_int_equal(shapley_kernel(0, NULL, NULL, 0, phi, NULL, &e), 0);
	assert_close(phi[0], 42, 0);
	/* m == 1 */
	struct table t = {.m = 1, .v = {0.25, 0.75}};
	assert_int_equal(shapley_exact(1, table_v, &t, phi, &e), 0);
	assert_close(phi[0], 0.5, TOL);
	assert_int_equal(shapley_permutation(1, table_v, &t, 3, &r, phi, NULL, &e), 0);
	assert_close(phi[0], 0.5, TOL);
	struct shapley_fit fit = {.ridged = true};
	assert_int_equal(
	    shapley_kernel(1, (uint64_t[]){1, 0}, (double[]){0.75, 0.25}, 2, phi, &fit, &e), 0);
	assert_close(phi[0], 0.5, TOL);
	assert_false(fit.ridged);
	/* out of range m */
	assert_int_equal(shapley_exact(21, table_v, &t, phi, &e), -1);
	assert_non_null(strstr(e.msg, "21 steps"));
	assert_int_equal(shapley_exact(-1, table_v, &t, phi, &e), -1);
	/* NaN from the callback is an error naming the coalition */
	assert_int_equal(shapley_exact(2, nan_at_3, NULL, phi, &e), -1);
	assert_non_null(strstr(e.msg, "0x3"));
	assert_int_equal(shapley_permutation(2, nan_at_3, NULL, 4, &r, phi, NULL, &e), -1);
	assert_int_equal(shapley_permutation(2, table_v, &t, 0, &r, phi, NULL, &e), -1);
	assert_string_equal(shapley_method_name(SHAPLEY_KERNEL), "kernel");
	assert_string_equal(shapley_method_name((enum shapley_method)9), "unknown");
	assert_int_equal(shapley_choose(3, 8, 5), SHAPLEY_EXACT);
	assert_int_equal(shapley_choose(4, 8, 5), SHAPLEY_KERNEL);
	assert_int_equal(shapley_choose(4, 8, 0), SHAPLEY_PERMUTATION);
	assert_int_equal(shapley_choose(40, 1L << 40, 0), SHAPLEY_PERMUTATION);
}

static void test_kernel_observations(void **state)
{
	(void)state;
	struct err e;
	double phi[3];
	struct shapley_fit fit;
	/* duplicates are averaged, NaN observations skipped */
	uint64_t masks[] = {0, 7, 1, 1, 2, 4, 2, 5};
	double vals[] = {0, 1, 0.2, 0.4, NAN, NAN, NAN, NAN};
	assert_int_equal(shapley_kernel(3, masks, vals, 8, phi, &fit, &e), 0);
	assert_true(fit.ridged); /* only {0} seen: the split between 1 and 2 is open */
	assert_close(phi[0] + phi[1] + phi[2], 1, TOL);
	assert_close(phi[1], phi[2], TOL);
	assert_close(phi[0], 0.3, 1e-4);
	/* determined once {2} is known: additive game 0.3, 0.3, 0.4 */
	double vals2[] = {0, 1, 0.2, 0.4, 0.3, 0.4, 0.3, NAN};
	assert_int_equal(shapley_kernel(3, masks, vals2, 8, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	assert_close(phi[0], 0.3, TOL);
	assert_close(phi[1], 0.3, TOL);
	assert_close(phi[2], 0.4, TOL);
	/* only the ends: the equal split */
	assert_int_equal(
	    shapley_kernel(3, (uint64_t[]){7, 0}, (double[]){0.9, 0.3}, 2, phi, &fit, &e), 0);
	assert_true(fit.ridged);
	for (int i = 0; i < 3; i++)
		assert_close(phi[i], 0.2, TOL);
	/* missing ends, NaN ends, masks out of range */
	assert_int_equal(shapley_kernel(3, masks + 2, vals + 2, 3, phi, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "all-incumbent"));
	assert_int_equal(
	    shapley_kernel(3, (uint64_t[]){0, 7}, (double[]){0, NAN}, 2, phi, NULL, &e), -1);
	assert_int_equal(
	    shapley_kernel(3, (uint64_t[]){0, 7, 8}, (double[]){0, 1, 1}, 3, phi, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "0x8"));
}

static void test_bootstrap(void **state)
{
	(void)state;
	enum { N = 400 };
	struct rng r;
	rng_seed(&r, 77);
	/* m = 1: phi = mean(s1 - s0); its bootstrap sd approaches sd(diff) / sqrt(N) */
	static double scores[2 * N];
	double md = 0, sdd = 0;
	for (int j = 0; j < N; j++) {
		scores[j] = rng_double(&r) < 0.5;
		scores[N + j] = rng_double(&r) < 0.7;
		md += (scores[N + j] - scores[j]) / N;
	}
	for (int j = 0; j < N; j++)
		sdd += pow(scores[N + j] - scores[j] - md, 2) / N;
	struct shapley_boot opt = {.method = SHAPLEY_EXACT, .n_boot = 2000, .seed = 1};
	double phi[1], sd[1], lo[1], hi[1];
	struct err e;
	assert_int_equal(
	    shapley_bootstrap(1, (uint64_t[]){0, 1}, scores, 2, N, &opt, phi, sd, lo, hi, &e), 0);
	assert_close(phi[0], md, TOL);
	assert_close(sd[0], sqrt(sdd / N), 0.1 * sqrt(sdd / N));
	assert_true(lo[0] < phi[0] && phi[0] < hi[0]);
	assert_close(hi[0] - lo[0], 2 * 1.645 * sqrt(sdd / N), 0.2 * sqrt(sdd / N));

	/* m = 3 additive game with per-example noise, all three estimators agree on phi */
	enum { M = 3, C = 8, NE = 30 };
	static double sc[C * NE];
	uint64_t masks[C];
	double a[M] = {0.1, 0.2, 0.3};
	for (uint64_t s = 0; s < C; s++) {
		masks[s] = s;
		for (int j = 0; j < NE; j++) {
			sc[s * NE + j] = 0.1 * (j % 3);
			for (int i = 0; i < M; i++)
				sc[s * NE + j] += (s >> i & 1) * a[i];
		}
	}
	double p1[M], s1[M], p2[M], s2[M];
	opt = (struct shapley_boot){.method = SHAPLEY_KERNEL, .n_boot = 50, .seed = 3};
	assert_int_equal(shapley_bootstrap(M, masks, sc, C, NE, &opt, p1, s1, NULL, NULL, &e), 0);
	opt.method = SHAPLEY_PERMUTATION;
	opt.n_perm = 4;
	assert_int_equal(shapley_bootstrap(M, masks, sc, C, NE, &opt, p2, s2, NULL, NULL, &e), 0);
	for (int i = 0; i < M; i++) {
		assert_close(p1[i], a[i], TOL);
		assert_close(p2[i], a[i], TOL);
		assert_close(s1[i], 0, TOL); /* the noise is shared by every coalition */
		assert_close(s2[i], 0, TOL);
	}
	/* determinism: same seed, same answer; a different seed moves the interval */
	double l1[1], l2[1], h2[1];
	opt = (struct shapley_boot){.method = SHAPLEY_EXACT, .n_boot = 100, .seed = 9};
	shapley_bootstrap(1, (uint64_t[]){0, 1}, scores, 2, N, &opt, phi, sd, l1, hi, &e);
	shapley_bootstrap(1, (uint64_t[]){0, 1}, scores, 2, N, &opt, phi, sd, l2, h2, &e);
	assert_memory_equal(l1, l2, sizeof(l1));
	assert_memory_equal(hi, h2, sizeof(hi));
	/* errors */
	opt.n_boot = 1;
	assert_int_equal(
	    shapley_bootstrap(1, (uint64_t[]){0, 1}, scores, 2, N, &opt, phi, sd, NULL, NULL, &e),
	    -1);
	opt.n_boot = 10;
	assert_int_equal(
	    shapley_bootstrap(2, (uint64_t[]){0, 3}, scores, 2, N, &opt, phi, sd, NULL, NULL, &e),
	    -1); /* exact needs every coalition */
	assert_non_null(strstr(e.msg, "0x1"));
	scores[5] = NAN;
	assert_int_equal(
	    shapley_bootstrap(1, (uint64_t[]){0, 1}, scores, 2, N, &opt, phi, sd, NULL, NULL, &e),
	    -1);
	assert_non_null(strstr(e.msg, "example 5"));
}

/* The permutation bootstrap asks for the coalitions a permutation run with the same seed asked
 * for, so recording those is enough. */
struct recorder {
	struct table *t;
	uint64_t masks[64];
	int n;
};

static double record_v(void *arg, const uint64_t *s)
{
	struct recorder *rec = arg;
	rec->masks[rec->n++] = *s;
	return rec->t->v[*s];
}

static void test_bootstrap_permutation_coverage(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 8);
	struct table t;
	random_table(&t, 6, &r);
	struct recorder rec = {.t = &t};
	double phi[6], phi2[6], sd[6];
	struct err e;
	rng_seed(&r, 1234);
	assert_int_equal(shapley_permutation(6, record_v, &rec, 3, &r, phi, NULL, &e), 0);
	assert_true(rec.n < 64);
	enum { NE = 4 };
	double sc[64 * NE];
	for (int c = 0; c < rec.n; c++)
		for (int j = 0; j < NE; j++)
			sc[c * NE + j] = t.v[rec.masks[c]];
	struct shapley_boot opt = {
	    .method = SHAPLEY_PERMUTATION, .n_perm = 3, .perm_seed = 1234, .n_boot = 5, .seed = 1};
	assert_int_equal(
	    shapley_bootstrap(6, rec.masks, sc, (size_t)rec.n, NE, &opt, phi2, sd, NULL, NULL, &e),
	    0);
	for (int i = 0; i < 6; i++)
		assert_close(phi2[i], phi[i], TOL);
}

/* A game on any number of players: additive parts a[i] and a bonus b once a third of the
 * players are in. Its Shapley values: a[i] + b / m. */
struct pairwise {
	int m;
	double a[SHAPLEY_MAX_PLAYERS], b;
	int calls;
};

static double pairwise_v(void *arg, const uint64_t *s)
{
	struct pairwise *g = arg;
	g->calls++;
	double v = 0.1;
	int n = 0;
	for (int i = 0; i < g->m; i++) {
		int in = s[i / 64] >> (i % 64) & 1;
		v += in * g->a[i];
		n += in;
	}
	return v + (3 * n >= g->m ? g->b : 0);
}

static double pairwise_phi(const struct pairwise *g, int i)
{
	return g->a[i] + g->b / g->m;
}

static void pairwise_init(struct pairwise *g, int m, double b)
{
	*g = (struct pairwise){.m = m, .b = b};
	for (int i = 0; i < m; i++)
		g->a[i] = 0.01 * (i % 7) - 0.02;
}

/* The search's initial design for m players: incumbent, the first n_single singletons and,
 * when full, the all-best configuration. */
static size_t initial_design(int m, int n_single, bool full, uint64_t *masks)
{
	size_t n = 0;
	masks[n++] = 0;
	for (int i = 0; i < n_single; i++)
		masks[n++] = (uint64_t)1 << i;
	if (full)
		masks[n++] = m == 64 ? ~(uint64_t)0 : ((uint64_t)1 << m) - 1;
	return n;
}

static void test_many_players(void **state)
{
	(void)state;
	struct err e;
	static uint64_t masks[256];
	double vals[256], phi[SHAPLEY_MAX_PLAYERS], se[SHAPLEY_MAX_PLAYERS];
	struct shapley_fit fit;
	/* m = 20, additive: the initial design determines every phi, no ridge, no extra value */
	struct pairwise g;
	pairwise_init(&g, 20, 0);
	size_t n = initial_design(20, 20, true, masks);
	for (size_t k = 0; k < n; k++)
		vals[k] = pairwise_v(&g, &masks[k]);
	assert_int_equal(shapley_kernel(20, masks, vals, n, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	assert_false(fit.end_estimated);
	assert_int_equal(fit.used, 22);
	for (int i = 0; i < 20; i++)
		assert_close(phi[i], g.a[i], 1e-9);

	/* m = 20 with what an eval_budget of 12 evaluated (incumbent and 11 singletons): no
	 * all-best, under-determined; what was seen is kept, the rest split equally, and no step
	 * gets a silent zero */
	n = initial_design(20, 11, false, masks);
	for (size_t k = 0; k < n; k++)
		vals[k] = pairwise_v(&g, &masks[k]);
	assert_int_equal(shapley_kernel(20, masks, vals, n, phi, &fit, &e), 0);
	assert_true(fit.ridged);
	assert_true(fit.end_estimated);
	for (int i = 0; i < 11; i++)
		assert_close(phi[i], g.a[i], 1e-4);
	for (int i = 12; i < 20; i++)
		assert_close(phi[i], phi[11], 1e-9);

	/* m = 20 with a bonus: permutation sampling converges on the closed form, and
	 * its standard error says how far off it may be */
	pairwise_init(&g, 20, 0.05);
	struct rng r;
	rng_seed(&r, 4);
	assert_int_equal(shapley_permutation(20, pairwise_v, &g, 400, &r, phi, se, &e), 0);
	double sum = 0;
	for (int i = 0; i < 20; i++) {
		sum += phi[i];
		assert_true(se[i] > 0 && se[i] < 0.01);
		assert_true(fabs(phi[i] - pairwise_phi(&g, i)) <= 5 * se[i] + 1e-12);
	}
	assert_close(sum,
	             pairwise_v(&g, &(uint64_t){(1u << 20) - 1}) - pairwise_v(&g, &(uint64_t){0}),
	             1e-9);
	/* an additive game has no sampling error */
	pairwise_init(&g, 20, 0);
	assert_int_equal(shapley_permutation(20, pairwise_v, &g, 10, &r, phi, se, &e), 0);
	for (int i = 0; i < 20; i++) {
		assert_close(phi[i], g.a[i], 1e-12);
		assert_close(se[i], 0, 1e-8);
	}

	/* past 32 players: m = 64, kernel on the initial design */
	pairwise_init(&g, 64, 0);
	n = initial_design(64, 64, true, masks);
	for (size_t k = 0; k < n; k++)
		vals[k] = pairwise_v(&g, &masks[k]);
	assert_int_equal(shapley_kernel(64, masks, vals, n, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	for (int i = 0; i < 64; i++)
		assert_close(phi[i], g.a[i], 1e-9);

	/* past one word: m = 100, two words a coalition */
	static uint64_t wide[2 * 128];
	memset(wide, 0, sizeof wide);
	pairwise_init(&g, 100, 0);
	for (int k = 1; k <= 101; k++)
		for (int i = 0; i < 100; i++)
			if (k == 101 || k == i + 1)
				wide[2 * k + i / 64] |= (uint64_t)1 << (i % 64);
	for (int k = 0; k < 102; k++)
		vals[k] = pairwise_v(&g, &wide[2 * k]);
	assert_int_equal(shapley_kernel(100, wide, vals, 102, phi, &fit, &e), 0);
	assert_false(fit.ridged);
	assert_int_equal(fit.used, 102);
	for (int i = 0; i < 100; i++)
		assert_close(phi[i], g.a[i], 1e-9);
	/* without the all-best: the gain is fitted, same values */
	assert_int_equal(shapley_kernel(100, wide, vals, 101, phi, &fit, &e), 0);
	assert_true(fit.end_estimated);
	for (int i = 0; i < 100; i++)
		assert_close(phi[i], g.a[i], 1e-9);
	/* a bit beyond the 100 steps */
	wide[2 * 5 + 1] |= (uint64_t)1 << 40;
	assert_int_equal(shapley_kernel(100, wide, vals, 102, phi, &fit, &e), -1);
	assert_non_null(strstr(e.msg, "0x100000000000000000000000010 names a step beyond the 100"));
	/* permutation at m = 100: efficiency holds, and shapley_missing lists what it asks */
	pairwise_init(&g, 100, 0.05);
	rng_seed(&r, 9);
	assert_int_equal(shapley_permutation(100, pairwise_v, &g, 6, &r, phi, se, &e), 0);
	double gain = -pairwise_v(&g, wide); /* wide[0..1]: no one */
	memset(wide + 2, 0xff, 2 * sizeof *wide);
	wide[3] = ((uint64_t)1 << 36) - 1;
	gain += pairwise_v(&g, wide + 2);
	sum = 0;
	for (int i = 0; i < 100; i++)
		sum += phi[i];
	assert_close(sum, gain, 1e-9);
	uint64_t *miss;
	g.calls -= 2;
	assert_int_equal(shapley_missing(SHAPLEY_PERMUTATION, 100, 6, 9, NULL, 0, &miss), g.calls);
	free(miss);
	/* too many players for the normal equations */
	assert_int_equal(shapley_kernel(SHAPLEY_MAX_PLAYERS + 1, wide, vals, 0, phi, &fit, &e), -1);
	assert_non_null(strstr(e.msg, "257 steps"));
}

static void test_kernel_one_end(void **state)
{
	(void)state;
	struct err e;
	struct shapley_fit fit;
	struct pairwise g;
	pairwise_init(&g, 6, 0);
	uint64_t masks[16];
	double vals[16], phi[6];
	/* no all-best: incumbent and singletons fit an additive game exactly */
	size_t n = initial_design(6, 6, false, masks);
	for (size_t k = 0; k < n; k++)
		vals[k] = pairwise_v(&g, &masks[k]);
	assert_int_equal(shapley_kernel(6, masks, vals, n, phi, &fit, &e), 0);
	assert_true(fit.end_estimated);
	assert_false(fit.ridged);
	for (int i = 0; i < 6; i++)
		assert_close(phi[i], g.a[i], 1e-9);
	/* no incumbent: the all-best and every all-but-one (the dual game) do the same */
	for (int i = 0; i < 6; i++) {
		masks[i] = 63u & ~(1u << i);
		vals[i] = pairwise_v(&g, &masks[i]);
	}
	masks[6] = 63, vals[6] = pairwise_v(&g, &masks[6]);
	assert_int_equal(shapley_kernel(6, masks, vals, 7, phi, &fit, &e), 0);
	assert_true(fit.end_estimated);
	for (int i = 0; i < 6; i++)
		assert_close(phi[i], g.a[i], 1e-9);
	/* only the incumbent: nothing to fit */
	assert_int_equal(shapley_kernel(6, masks + 7, (double[]){0.5}, 0, phi, &fit, &e), -1);
	masks[0] = 0;
	assert_int_equal(shapley_kernel(6, masks, (double[]){0.5}, 1, phi, &fit, &e), -1);
	assert_non_null(strstr(e.msg, "nothing to fit"));
}

static void test_missing(void **state)
{
	(void)state;
	uint64_t have[] = {0, 1, 2, 4, 7}, *miss;
	/* kernel never asks for anything */
	assert_int_equal(shapley_missing(SHAPLEY_KERNEL, 3, 24, 1, have, 0, NULL), 0);
	assert_int_equal(shapley_missing(SHAPLEY_KERNEL, 40, 24, 1, NULL, 0, &miss), 0);
	assert_null(miss);
	/* exact asks for every coalition not had */
	assert_int_equal(shapley_missing(SHAPLEY_EXACT, 3, 0, 0, have, 5, &miss), 3);
	assert_int_equal(miss[0], 3);
	assert_int_equal(miss[1], 5);
	assert_int_equal(miss[2], 6);
	free(miss);
	assert_int_equal(shapley_missing(SHAPLEY_EXACT, 21, 0, 0, have, 5, NULL), -1);
	/* permutation: exactly the coalitions a run with the same seed asks for, less those had */
	struct pairwise g;
	pairwise_init(&g, 20, 0.05);
	struct rng r;
	rng_seed(&r, 77);
	double phi[20];
	struct err e;
	assert_int_equal(shapley_permutation(20, pairwise_v, &g, 24, &r, phi, NULL, &e), 0);
	long n = shapley_missing(SHAPLEY_PERMUTATION, 20, 24, 77, NULL, 0, &miss);
	assert_int_equal(n, g.calls);
	assert_true(n <= 24 * 19 + 2);
	/* values for just those coalitions are enough for the same estimate */
	double *vals = malloc(sizeof(double) * (size_t)n), phi2[20];
	for (long k = 0; k < n; k++)
		vals[k] = pairwise_v(&g, &miss[k]);
	double *sc = vals; /* one example per coalition */
	struct shapley_boot opt = {
	    .method = SHAPLEY_PERMUTATION, .n_perm = 24, .perm_seed = 77, .n_boot = 2, .seed = 1};
	double sd[20];
	assert_int_equal(
	    shapley_bootstrap(20, miss, sc, (size_t)n, 1, &opt, phi2, sd, NULL, NULL, &e), 0);
	/* one example: every resample is the same, so sd is the orderings' Monte Carlo error */
	double se[20];
	rng_seed(&r, 77);
	assert_int_equal(shapley_permutation(20, pairwise_v, &g, 24, &r, phi, se, &e), 0);
	bool sampled = false;
	for (int i = 0; i < 20; i++) {
		assert_close(phi2[i], phi[i], 1e-12);
		assert_close(sd[i], se[i], 1e-12);
		sampled |= se[i] > 0;
	}
	assert_true(sampled);
	assert_int_equal(shapley_missing(SHAPLEY_PERMUTATION, 20, 24, 77, miss, (size_t)n, NULL),
	                 0);
	free(vals);
	free(miss);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glove),
	    cmocka_unit_test(test_airport),
	    cmocka_unit_test(test_weighted_majority),
	    cmocka_unit_test(test_additive),
	    cmocka_unit_test(test_random_properties),
	    cmocka_unit_test(test_permutation_converges),
	    cmocka_unit_test(test_degenerate),
	    cmocka_unit_test(test_kernel_observations),
	    cmocka_unit_test(test_bootstrap),
	    cmocka_unit_test(test_bootstrap_permutation_coverage),
	    cmocka_unit_test(test_many_players),
	    cmocka_unit_test(test_kernel_one_end),
	    cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

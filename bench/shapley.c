/* shapley.c: benchmark of the Shapley phase's computation (src/engine/shapley.c) for m steps:
 * the CPU of Kernel SHAP with its 200-resample bootstrap over 300 validation examples, on the
 * coalitions selection evaluates with the default eval_budget (the incumbent, each step alone,
 * the all-best and 4 more), and the extra validation evaluations each method would buy on top
 * of them (shapley_missing). Nothing is sent to a model: the scores are drawn, with a planted
 * per-step effect, and the benchmark checks that Kernel SHAP finds it. Median of 3 runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "engine/shapley.h"

enum { N_EX = 300, N_BOOT = 200, REPS = 3 };

/* One game's evaluations: n coalitions of m steps, example scores with step i adding eff(i). */
static double effect(int i)
{
	return 0.002 * (i % 9);
}

static void game(int m, struct rng *r, uint64_t **masks, double **scores, size_t *n)
{
	size_t w = shapley_words(m);
	*n = (size_t)m + 6;
	*masks = calloc(*n * w, sizeof **masks);
	*scores = calloc(*n * N_EX, sizeof **scores);
	for (size_t k = 0; k < *n; k++) {
		uint64_t *s = *masks + k * w;
		for (int i = 0; i < m; i++)
			if (k == (size_t)m + 1 || k == (size_t)i + 1 ||
			    (k > (size_t)m + 1 && rng_double(r) < 0.5))
				s[i / 64] |= (uint64_t)1 << (i % 64);
		double p = 0.4;
		for (int i = 0; i < m; i++)
			p += (s[i / 64] >> (i % 64) & 1) * effect(i);
		for (int j = 0; j < N_EX; j++) /* a paired design: the same draw for every row */
			(*scores)[k * N_EX + j] = (double)j / N_EX < p;
	}
}

int main(void)
{
	static const int ms[] = {4, 8, 12, 20, 32, 64, 128, 256};
	printf(
	    "m | coalitions | kernel CPU (median of %d) | max |phi - effect| | extra evaluations:"
	    " exact / kernel / permutation\n",
	    REPS);
	for (size_t t = 0; t < sizeof ms / sizeof *ms; t++) {
		int m = ms[t];
		struct rng r;
		rng_seed(&r, 7);
		uint64_t *masks;
		double *scores, cpu[REPS], *phi = calloc((size_t)m, sizeof *phi);
		double *sd = calloc((size_t)m, sizeof *sd);
		size_t n;
		game(m, &r, &masks, &scores, &n);
		struct err e;
		for (int rep = 0; rep < REPS; rep++) {
			struct shapley_boot opt = {
			    .method = SHAPLEY_KERNEL, .n_boot = N_BOOT, .seed = 3};
			double c0 = bench_cpu_s();
			if (shapley_bootstrap(m, masks, scores, n, N_EX, &opt, phi, sd, NULL, NULL,
			                      &e) < 0) {
				printf("m = %d: %s\n", m, e.msg);
				return 1;
			}
			cpu[rep] = bench_cpu_s() - c0;
		}
		double off = 0;
		for (int i = 0; i < m; i++)
			off = fmax(off, fabs(phi[i] - effect(i)));
		long ex = shapley_missing(SHAPLEY_EXACT, m, 24, 1, masks, n, NULL);
		long perm = shapley_missing(SHAPLEY_PERMUTATION, m, 24, 1, masks, n, NULL);
		char exact[32] = "n/a";
		if (ex >= 0)
			snprintf(exact, sizeof exact, "%ld", ex);
		printf("%d | %zu | %.3f s | %.4f | %s / %ld / %ld\n", m, n, bench_median(cpu, REPS),
		       off, exact, shapley_missing(SHAPLEY_KERNEL, m, 24, 1, masks, n, NULL), perm);
		free(masks);
		free(scores);
		free(phi);
		free(sd);
	}
	return 0;
}

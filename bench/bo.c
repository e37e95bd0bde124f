/* bo.c: benchmark of the Bayesian search's CPU (src/engine/bo.c): time per suggestion as the
 * number of evaluations grows, on a 12-step space of 4 choices per step (16.8 M configurations,
 * so the acquisition samples) and on a 6-step space of 4 choices (4,096, small enough to
 * enumerate).  The objective is additive in the steps plus a little seeded noise, as
 * validation scores of prompt combinations roughly are.  Every suggestion is observed before
 * the next one is asked for, as the search does with one evaluation in flight.
 *
 *   bo [--evals N]      (default 400) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "engine/bo.h"

enum { MAXM = 12, CHOICES = 4 };

static double objective(const double a[][CHOICES], int m, const int *c, struct rng *r)
{
	double y = 0;
	for (int i = 0; i < m; i++)
		y += a[i][c[i]];
	return y + 0.01 * (rng_double(r) - 0.5);
}

/* Runs `evals` suggestions; prints the median CPU time of the suggestions in each window of 50
 * and the total. */
static void run(int m, int evals, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	double a[MAXM][CHOICES];
	for (int i = 0; i < m; i++)
		for (int v = 0; v < CHOICES; v++)
			a[i][v] = rng_double(&r);
	int n[MAXM], c[MAXM];
	for (int i = 0; i < m; i++)
		n[i] = CHOICES;
	struct bo *bo = bo_new(m, n, seed);
	double *t = calloc((size_t)evals, sizeof *t), total = 0, best = NAN;
	struct err e = {{0}};
	int done = 0;
	printf("  m = %d, %d choices a step (%.0f configurations)\n", m, CHOICES, pow(CHOICES, m));
	printf("    %-14s %16s %12s\n", "evaluations", "median ms/sugg.", "max ms");
	for (int k = 0; k < evals; k++) {
		double t0 = bench_cpu_s();
		if (bo_suggest(bo, c) < 0)
			break;
		t[k] = (bench_cpu_s() - t0) * 1e3;
		total += t[k];
		double y = objective((const double(*)[CHOICES])a, m, c, &r);
		bo_observe(bo, c, y, &e);
		best = isnan(best) || y > best ? y : best;
		done = k + 1;
		if (done % 50 == 0) {
			double w[50], mx = 0;
			memcpy(w, t + done - 50, sizeof w);
			for (int j = 0; j < 50; j++)
				mx = w[j] > mx ? w[j] : mx;
			printf("    %4d..%-9d %16.2f %12.2f\n", done - 49, done,
			       bench_median(w, 50), mx);
		}
	}
	double opt = 0;
	for (int i = 0; i < m; i++) {
		double mx = 0;
		for (int v = 0; v < CHOICES; v++)
			mx = a[i][v] > mx ? a[i][v] : mx;
		opt += mx;
	}
	printf("    total %.2f s CPU for %d suggestions; best found %.4f of optimum %.4f\n",
	       total / 1e3, done, best, opt);
	free(t);
	bo_free(bo);
}

int main(int argc, char **argv)
{
	int evals = 400;
	if (argc == 3 && !strcmp(argv[1], "--evals"))
		evals = atoi(argv[2]);
	run(12, evals, 7);
	run(6, evals, 7);
	return 0;
}

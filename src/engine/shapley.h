/* shapley.h: Shapley credit for the m optimised steps of a pipeline (DESIGN.md §2.10).
 *
 * A coalition is a bit mask over the steps (bit i set: step i uses its strong prompt, the best
 * candidate; clear: its weak one, the incumbent). A game is either a value callback v(S) or a
 * table of observed (mask, value) pairs. Three estimators:
 *   exact        all 2^m coalitions, the textbook weighted sum of marginal contributions;
 *   permutation  n_perm random orderings, antithetic (ordering 2k+1 is ordering 2k reversed),
 *                each v(S) asked at most once per call;
 *   kernel       Kernel SHAP: weighted least squares with the Shapley kernel over whatever
 *                coalitions were observed, efficiency (sum phi = v(N) - v(empty)) enforced
 *                exactly. When the observations do not determine phi, a small ridge pulls the
 *                undetermined directions towards the equal split (v(N) - v(empty)) / m.
 * Every estimator is deterministic given its seed. m is at most SHAPLEY_MAX_PLAYERS; m == 0
 * writes nothing and succeeds. */
#ifndef ADOPT_SHAPLEY_H
#define ADOPT_SHAPLEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define SHAPLEY_MAX_PLAYERS 16

enum shapley_method { SHAPLEY_EXACT, SHAPLEY_PERMUTATION, SHAPLEY_KERNEL };

/* The value of a coalition. NaN means "unknown" and makes exact/permutation fail. */
typedef double shapley_value_fn(void *arg, uint32_t coalition);

/* "exact", "permutation", "kernel". */
const char *shapley_method_name(enum shapley_method method);
/* Exact when 2^m evaluations fit in `budget`, else kernel when observations exist, else
 * permutation. */
enum shapley_method shapley_choose(int m, long budget, size_t n_observed);

/* Each fills phi[0..m-1]; 0, or -1 with a message (bad m, NaN value, missing coalition). */
int shapley_exact(int m, shapley_value_fn *v, void *arg, double *phi, struct err *e);
int shapley_permutation(int m, shapley_value_fn *v, void *arg, int n_perm, struct rng *r,
                        double *phi, struct err *e);
/* Observations may repeat a mask (their values are averaged) and may hold NaN values (skipped,
 * as failed evaluations); v(empty) and v(full) must be among the finite ones. *ridged
 * (optional) tells whether the observations left phi undetermined. */
int shapley_kernel(int m, const uint32_t *masks, const double *values, size_t n, double *phi,
                   bool *ridged, struct err *e);

/* Bootstrap over validation examples. scores[c * n_ex + j] is example j's score under coalition
 * masks[c]; every coalition was scored on the same n_ex examples, so resampling draws one set of
 * example indices per resample and applies it to every coalition (a paired bootstrap). */
struct shapley_boot {
	enum shapley_method method;
	int n_perm;         /* permutation: orderings per estimate */
	uint64_t perm_seed; /* permutation: every estimate reseeds with this, so it asks for the
	                       same coalitions as a shapley_permutation run seeded alike */
	int n_boot;         /* resamples B, at least 2 */
	uint64_t seed;      /* resampling */
};
/* phi: the estimate on all examples. sd: standard deviation of the B resampled estimates.
 * lo/hi (optional): their 5th and 95th percentiles, a 90% percentile interval. */
int shapley_bootstrap(int m, const uint32_t *masks, const double *scores, size_t n_coal,
                      size_t n_ex, const struct shapley_boot *opt, double *phi, double *sd,
                      double *lo, double *hi, struct err *e);

#endif

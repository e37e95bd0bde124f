/* shapley.h: Shapley credit for the m optimised steps of a pipeline (DESIGN.md §2.10).
 *
 * A coalition is a bit set over the steps, shapley_words(m) uint64_t words (bit i % 64 of word
 * i / 64 set: step i uses its strong prompt, the best candidate; clear: its weak one, the
 * incumbent); for m <= 64 it is one uint64_t mask. A list of coalitions is their words one after
 * the other. A game is either a value callback v(S) or a list of observed (coalition, value)
 * pairs. Three estimators:
 *   exact        all 2^m coalitions, the textbook weighted sum of marginal contributions
 *                (m at most SHAPLEY_EXACT_MAX);
 *   permutation  n_perm random orderings, antithetic (ordering 2k+1 is ordering 2k reversed),
 *                each v(S) asked at most once per call; its Monte Carlo standard error comes
 *                from the spread of the antithetic pairs' marginal contributions;
 *   kernel       Kernel SHAP: weighted least squares with the Shapley kernel over whatever
 *                coalitions were observed and nothing else, efficiency enforced exactly:
 *                sum phi = v(N) - v(empty). The rules when the observations fall short:
 *                - v(N) (all-best) not observed: the same regression, unconstrained, with v(N)
 *                  left to the fit (sum phi is then the fit's prediction of v(N) - v(empty));
 *                  v(empty) not observed, v(N) observed: the same on the dual game
 *                  v*(S) = v(N) - v(N \ S), which has the same Shapley values; neither: error.
 *                - the observations do not determine phi (fewer independent coalitions than
 *                  unknowns, or a singular design): a small ridge pulls phi towards its common
 *                  mean, so what the data say is kept and the rest is split equally (with v(N)
 *                  observed the mean is the equal split (v(N) - v(empty)) / m). fit->ridged
 *                  says so.
 * Every estimator is deterministic given its seed; none allocates 2^m except exact. m is at
 * most SHAPLEY_MAX_PLAYERS (kernel's normal equations are m x m); m == 0 writes nothing and
 * succeeds. */
#ifndef ADOPT_SHAPLEY_H
#define ADOPT_SHAPLEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define SHAPLEY_MAX_PLAYERS 256 /* Kernel SHAP then takes about 0.5 s of CPU */
#define SHAPLEY_EXACT_MAX   20  /* exact evaluates all 2^m coalitions */

/* Words of one coalition of m players. */
static inline size_t shapley_words(int m)
{
	return m > 64 ? ((size_t)m + 63) / 64 : 1;
}

enum shapley_method { SHAPLEY_EXACT, SHAPLEY_PERMUTATION, SHAPLEY_KERNEL };

/* The value of a coalition. NaN means "unknown" and makes exact/permutation fail. */
typedef double shapley_value_fn(void *arg, const uint64_t *coalition);

/* "exact", "permutation", "kernel". */
const char *shapley_method_name(enum shapley_method method);
/* Exact when 2^m evaluations fit in `budget`, else kernel when observations exist, else
 * permutation. */
enum shapley_method shapley_choose(int m, long budget, size_t n_observed);

/* The coalitions `method` asks for beyond the n_have in `have` (the configurations already
 * evaluated), each once, in the order the estimator asks: exact, all 2^m not had; kernel,
 * none ever; permutation, those the n_perm orderings seeded with perm_seed visit. *missing
 * (optional) receives their words (caller frees). Returns how many: each is one extra evaluation of
 * the pipeline on the validation sample. -1 when m is out of range for the method. */
long shapley_missing(enum shapley_method method, int m, int n_perm, uint64_t perm_seed,
                     const uint64_t *have, size_t n_have, uint64_t **missing);

/* How a Kernel SHAP estimate was fitted. */
struct shapley_fit {
	size_t used;        /* distinct coalitions with a finite value, the ends included */
	bool ridged;        /* phi not determined by them: the ridge split the rest equally */
	bool end_estimated; /* v(N) or v(empty) was not observed: the fit predicted it */
};

/* Each fills phi[0..m-1]; 0, or -1 with a message (bad m, NaN value, missing coalition). */
int shapley_exact(int m, shapley_value_fn *v, void *arg, double *phi, struct err *e);
/* se (optional): the Monte Carlo standard error of each phi (0 with fewer than two pairs). */
int shapley_permutation(int m, shapley_value_fn *v, void *arg, int n_perm, struct rng *r,
                        double *phi, double *se, struct err *e);
/* Observations may repeat a mask (their values are averaged) and may hold NaN values (skipped,
 * as failed evaluations); v(empty) or v(N) must be among the finite ones. fit is optional. */
int shapley_kernel(int m, const uint64_t *masks, const double *values, size_t n, double *phi,
                   struct shapley_fit *fit, struct err *e);

/* Bootstrap over validation examples. scores[c * n_ex + j] is example j's score under coalition
 * masks[c]; every coalition was scored on the same n_ex examples, so resampling draws one set of
 * example indices per resample and applies it to every coalition (a paired bootstrap). */
struct shapley_boot {
	enum shapley_method method;
	int n_perm;             /* permutation: orderings per estimate */
	uint64_t perm_seed;     /* permutation: every estimate reseeds with this, so it asks for the
	                           same coalitions as a shapley_permutation run seeded alike */
	int n_boot;             /* resamples B, at least 2 */
	uint64_t seed;          /* resampling */
	struct shapley_fit fit; /* out: kernel, how the estimate on all examples was fitted */
};
/* phi: the estimate on all examples. sd: standard deviation of the B resampled estimates (the
 * standard error of phi over examples; for permutation, combined in quadrature with the Monte
 * Carlo standard error of the orderings, which every resample shares). lo/hi (optional): their 5th
 * and 95th percentiles, a 90% percentile interval. */
int shapley_bootstrap(int m, const uint64_t *masks, const double *scores, size_t n_coal,
                      size_t n_ex, struct shapley_boot *opt, double *phi, double *sd, double *lo,
                      double *hi, struct err *e);

#endif

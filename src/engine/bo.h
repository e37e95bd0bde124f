/* bo.h: Bayesian optimisation over the product of per-step candidate sets (DESIGN.md §2.9).
 *
 * A configuration is a choice vector c with c[i] in [0, n_choices[i]); index 0 is step i's
 * incumbent prompt, index 1 its best-guess candidate. The surrogate is a Gaussian process over
 * the one-hot encoding of c with a Matern-5/2 kernel (two configurations differing in h steps
 * are sqrt(2h) apart), signal variance 1 on standardised values, a small noise term, and a
 * length-scale picked from a fixed grid by marginal likelihood at every refit. A refit after
 * new observations costs O(n^2) for n observations, not O(n^3): each grid length-scale keeps
 * its Cholesky factor and grows it by a row per point (linalg_cholesky_append).
 *
 * The acquisition is expected improvement (maximisation) over a candidate set: every
 * configuration when there are at most BO_ENUM_LIMIT in all (and n is small enough that
 * screening them all stays cheap), otherwise random samples (up to 2,000) plus the
 * single-coordinate neighbours of the best observed configurations, then single-coordinate
 * hill climbing. Candidates are screened by their exact posterior mean and a cheap bound on
 * their variance, and only those whose EI bound can still win are scored exactly (see bo.c),
 * so a suggestion costs O(n m) a candidate plus a bounded number of O(n^2) scores: about
 * 20 ms at n = 400 (bench/README.md, "bo"). On an enumerated set the choice is the same as
 * scoring every candidate exactly. All randomness comes from the seed. */
#ifndef ADOPT_BO_H
#define ADOPT_BO_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define BO_ENUM_LIMIT 20000

/* Owns copies of the choice counts and every observation. */
struct bo;

/* NULL when m < 1 or some n_choices[i] < 1. */
struct bo *bo_new(int m, const int *n_choices, uint64_t seed);
void bo_free(struct bo *bo);

/* The initial design, in order: the incumbent (all zeros), each single-step change to that
 * step's index 1, then index 1 everywhere; deduplicated (steps with one choice never change).
 * Writes at most `max` rows of m ints and returns how many it wrote. */
size_t bo_initial_design(const struct bo *bo, int *configs, size_t max);

/* Records a value (higher is better). NaN (or infinity) marks a failed evaluation: never suggested
 * again, left out of the model. Observing a configuration twice averages the finite values. -1 when
 * the configuration is out of range. */
int bo_observe(struct bo *bo, const int *config, double value, struct err *e);

/* Replaces an observed configuration's value with a better-founded one (selection's racing: a
 * configuration screened on a subsample, then measured on the whole sample).  -1 when the
 * configuration was not observed, failed, or value is not finite. */
int bo_revise(struct bo *bo, const int *config, double value);

/* The same with the value's variance var (in its units; 0: as measured): a noisy observation,
 * which the model does not interpolate but weighs (its own noise on the kernel's diagonal), as
 * an estimate from a few examples.  Observing a configuration again keeps the smaller
 * variance; revising replaces it. */
int bo_observe_noisy(struct bo *bo, const int *config, double value, double var, struct err *e);
int bo_revise_noisy(struct bo *bo, const int *config, double value, double var);

/* The next configuration to evaluate: the first unseen row of the initial design, then the
 * unseen configuration of largest expected improvement. A suggestion counts as pending (not
 * suggested again) until observed, so several can be evaluated at once. 0, or -1 when there
 * is nothing left to choose: every configuration observed or pending, or one choice per step. */
int bo_suggest(struct bo *bo, int *config_out);

/* Best observed finite value and its configuration; NaN (config all zeros) when none. */
double bo_best(const struct bo *bo, int *config_out);
/* Observations so far (distinct configurations, NaN ones included). */
size_t bo_count(const struct bo *bo);

/* The surrogate, for tests and display: posterior mean and standard deviation of the value
 * at a configuration, and its expected improvement over the best observed value (same units).
 * Refits the model first if observations arrived since the last fit. */
void bo_predict(struct bo *bo, const int *config, double *mean, double *sd);
double bo_expected_improvement(struct bo *bo, const int *config);
/* The length-scale chosen by the last fit. */
double bo_length_scale(struct bo *bo);

#endif

/* bo.c: Gaussian-process Bayesian optimisation over per-step choice vectors (see bo.h). */
#include "engine/bo.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "engine/linalg.h"

#define BO_NOISE   1e-6 /* on standardised values; evaluations are nearly deterministic */
#define BO_SAMPLES 2000 /* random candidates when the space is too large to enumerate */
#define BO_STARTS  5    /* hill climbs from the best sampled candidates */

static const double length_grid[] = {0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8};

struct bo {
	int m;
	int *n;
	uint64_t product; /* saturates at UINT64_MAX */
	struct rng rng;
	size_t n_obs, cap_obs, n_pend, cap_pend;
	int *x, *pend; /* rows of m */
	double *y;     /* NaN: a failed evaluation */
	int *cnt;
	/* the fitted model */
	bool fitted;
	int nf;
	int *fit_row; /* index into x of each fitted point */
	double *l, *alpha, *kh, ls, ymean, ysd, ybest;
};

struct bo *bo_new(int m, const int *n_choices, uint64_t seed)
{
	if (m < 1)
		return NULL;
	for (int i = 0; i < m; i++)
		if (n_choices[i] < 1)
			return NULL;
	struct bo *bo = xcalloc(1, sizeof(*bo));
	bo->m = m;
	bo->n = xmalloc(sizeof(int) * (size_t)m);
	memcpy(bo->n, n_choices, sizeof(int) * (size_t)m);
	bo->kh = xmalloc(sizeof(double) * (size_t)(m + 1));
	bo->product = 1;
	for (int i = 0; i < m; i++)
		bo->product = bo->product > UINT64_MAX / (uint64_t)n_choices[i]
		                  ? UINT64_MAX
		                  : bo->product * (uint64_t)n_choices[i];
	rng_seed(&bo->rng, seed);
	return bo;
}

void bo_free(struct bo *bo)
{
	if (!bo)
		return;
	free(bo->n);
	free(bo->x);
	free(bo->pend);
	free(bo->y);
	free(bo->cnt);
	free(bo->fit_row);
	free(bo->l);
	free(bo->alpha);
	free(bo->kh);
	free(bo);
}

size_t bo_count(const struct bo *bo)
{
	return bo->n_obs;
}

static int hamming(const int *a, const int *b, int m)
{
	int h = 0;
	for (int i = 0; i < m; i++)
		h += a[i] != b[i];
	return h;
}

static ssize_t find_row(const int *rows, size_t n, const int *c, int m)
{
	for (size_t k = 0; k < n; k++)
		if (!memcmp(rows + k * (size_t)m, c, sizeof(int) * (size_t)m))
			return (ssize_t)k;
	return -1;
}

static bool seen(const struct bo *bo, const int *c)
{
	return find_row(bo->x, bo->n_obs, c, bo->m) >= 0 ||
	       find_row(bo->pend, bo->n_pend, c, bo->m) >= 0;
}

size_t bo_initial_design(const struct bo *bo, int *configs, size_t max)
{
	int m = bo->m, *c = xcalloc((size_t)m, sizeof(int));
	size_t k = 0;
	for (int step = -1; step <= m && k < max; step++) {
		/* -1: incumbent; 0..m-1: single change; m: index 1 everywhere */
		for (int i = 0; i < m; i++)
			c[i] = bo->n[i] > 1 && (step == m || step == i);
		if (find_row(configs, k, c, m) < 0)
			memcpy(configs + k++ * (size_t)m, c, sizeof(int) * (size_t)m);
	}
	free(c);
	return k;
}

static void append_row(int **rows, size_t *n, size_t *cap, const int *c, int m)
{
	*rows = xgrow(*rows, cap, (*n + 1) * (size_t)m, sizeof(int));
	memcpy(*rows + *n * (size_t)m, c, sizeof(int) * (size_t)m);
	(*n)++;
}

int bo_observe(struct bo *bo, const int *config, double value, struct err *e)
{
	int m = bo->m;
	for (int i = 0; i < m; i++)
		if (config[i] < 0 || config[i] >= bo->n[i])
			return err_set(e, "search: step %d: choice %d is outside 0..%d", i + 1,
			               config[i], bo->n[i] - 1);
	ssize_t p = find_row(bo->pend, bo->n_pend, config, m);
	if (p >= 0) {
		bo->n_pend--;
		memmove(bo->pend + (size_t)p * m, bo->pend + (size_t)(p + 1) * m,
		        sizeof(int) * (bo->n_pend - (size_t)p) * (size_t)m);
	}
	bo->fitted = false;
	if (!isfinite(value))
		value = NAN;
	ssize_t k = find_row(bo->x, bo->n_obs, config, m);
	if (k >= 0) {
		if (isnan(value))
			return 0;
		if (isnan(bo->y[k]))
			bo->cnt[k] = 0, bo->y[k] = 0;
		bo->y[k] += (value - bo->y[k]) / ++bo->cnt[k];
		return 0;
	}
	size_t cap = bo->cap_obs;
	append_row(&bo->x, &bo->n_obs, &bo->cap_obs, config, m);
	if (bo->cap_obs != cap) {
		bo->y = xrealloc(bo->y, sizeof(double) * bo->cap_obs / (size_t)m);
		bo->cnt = xrealloc(bo->cnt, sizeof(int) * bo->cap_obs / (size_t)m);
	}
	bo->y[bo->n_obs - 1] = value;
	bo->cnt[bo->n_obs - 1] = !isnan(value);
	return 0;
}

double bo_best(const struct bo *bo, int *config_out)
{
	double best = NAN;
	memset(config_out, 0, sizeof(int) * (size_t)bo->m);
	for (size_t k = 0; k < bo->n_obs; k++)
		if (!isnan(bo->y[k]) && (isnan(best) || bo->y[k] > best)) {
			best = bo->y[k];
			memcpy(config_out, bo->x + k * (size_t)bo->m, sizeof(int) * (size_t)bo->m);
		}
	return best;
}

/* Matern-5/2 of the one-hot distance sqrt(2h) for h = 0..m. */
static void kernel_table(double *kh, int m, double ls)
{
	for (int h = 0; h <= m; h++) {
		double r = sqrt(5.0 * 2 * h) / ls;
		kh[h] = (1 + r + r * r / 3) * exp(-r);
	}
}

/* Factors K + noise for the fitted points into bo->l (escalating jitter if needed), solves
 * alpha and returns the log marginal likelihood (without the constant). */
static double fit_one(struct bo *bo, const double *ys)
{
	int nf = bo->nf, m = bo->m;
	for (double jitter = BO_NOISE; jitter < 1; jitter *= 10) {
		for (int i = 0; i < nf; i++)
			for (int j = 0; j <= i; j++) {
				int h = hamming(bo->x + (size_t)bo->fit_row[i] * m,
				                bo->x + (size_t)bo->fit_row[j] * m, m);
				bo->l[i * nf + j] = bo->kh[h] + (i == j ? jitter : 0);
			}
		if (linalg_cholesky(bo->l, nf, 0) == 0)
			break;
	}
	memcpy(bo->alpha, ys, sizeof(double) * (size_t)nf);
	linalg_solve_lower(bo->l, nf, bo->alpha);
	double lml = 0;
	for (int i = 0; i < nf; i++)
		lml -= 0.5 * bo->alpha[i] * bo->alpha[i] + log(bo->l[i * nf + i]);
	linalg_solve_upper_t(bo->l, nf, bo->alpha);
	return lml;
}

static void fit(struct bo *bo)
{
	if (bo->fitted)
		return;
	bo->fitted = true;
	int nf = 0;
	bo->fit_row = xrealloc(bo->fit_row, sizeof(int) * (bo->n_obs + 1));
	double mean = 0, ss = 0;
	for (size_t k = 0; k < bo->n_obs; k++)
		if (!isnan(bo->y[k])) {
			bo->fit_row[nf++] = (int)k;
			mean += bo->y[k];
		}
	bo->nf = nf;
	mean = nf ? mean / nf : 0;
	for (int i = 0; i < nf; i++)
		ss += pow(bo->y[bo->fit_row[i]] - mean, 2);
	bo->ymean = mean;
	bo->ysd = nf > 1 && ss > 0 ? sqrt(ss / (nf - 1)) : 1;
	double *ys = xmalloc(sizeof(double) * (size_t)(nf + 1));
	bo->ybest = nf ? -INFINITY : 0;
	for (int i = 0; i < nf; i++) {
		ys[i] = (bo->y[bo->fit_row[i]] - mean) / bo->ysd;
		bo->ybest = MAX(bo->ybest, ys[i]);
	}
	bo->l = xrealloc(bo->l, sizeof(double) * ((size_t)nf * nf + 1));
	bo->alpha = xrealloc(bo->alpha, sizeof(double) * (size_t)(nf + 1));
	double best_lml = -INFINITY, best_ls = 1;
	for (size_t g = 0; g < ARRAY_SIZE(length_grid); g++) {
		kernel_table(bo->kh, bo->m, length_grid[g]);
		double lml = fit_one(bo, ys);
		if (lml > best_lml) {
			best_lml = lml;
			best_ls = length_grid[g];
		}
	}
	bo->ls = best_ls;
	kernel_table(bo->kh, bo->m, best_ls);
	fit_one(bo, ys);
	free(ys);
}

/* Posterior in standardised units; `work` holds nf doubles. */
static void posterior(const struct bo *bo, const int *c, double *work, double *mu, double *var)
{
	int nf = bo->nf, m = bo->m;
	double s = 0, q = 0;
	for (int i = 0; i < nf; i++) {
		work[i] = bo->kh[hamming(bo->x + (size_t)bo->fit_row[i] * m, c, m)];
		s += bo->alpha[i] * work[i];
	}
	linalg_solve_lower(bo->l, nf, work);
	for (int i = 0; i < nf; i++)
		q += work[i] * work[i];
	*mu = s;
	*var = MAX(bo->kh[0] - q, 0);
}

static double ei_std(const struct bo *bo, const int *c, double *work)
{
	double mu, var;
	posterior(bo, c, work, &mu, &var);
	double sd = sqrt(var), d = mu - bo->ybest;
	if (sd < 1e-12)
		return MAX(d, 0);
	double z = d / sd;
	return d * 0.5 * erfc(-z / M_SQRT2) + sd * exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

void bo_predict(struct bo *bo, const int *config, double *mean, double *sd)
{
	fit(bo);
	double *work = xmalloc(sizeof(double) * (size_t)(bo->nf + 1)), mu, var;
	posterior(bo, config, work, &mu, &var);
	free(work);
	*mean = bo->ymean + bo->ysd * mu;
	*sd = bo->ysd * sqrt(var);
}

double bo_expected_improvement(struct bo *bo, const int *config)
{
	fit(bo);
	double *work = xmalloc(sizeof(double) * (size_t)(bo->nf + 1));
	double ei = ei_std(bo, config, work) * bo->ysd;
	free(work);
	return ei;
}

double bo_length_scale(struct bo *bo)
{
	fit(bo);
	return bo->ls;
}

/* Every configuration in mixed-radix order; the first of largest EI wins ties. */
static bool search_enumerate(struct bo *bo, int *c, int *best, double *work)
{
	double best_ei = -1;
	memset(c, 0, sizeof(int) * (size_t)bo->m);
	for (uint64_t k = 0; k < bo->product; k++) {
		if (!seen(bo, c)) {
			double ei = ei_std(bo, c, work);
			if (ei > best_ei) {
				best_ei = ei;
				memcpy(best, c, sizeof(int) * (size_t)bo->m);
			}
		}
		for (int i = 0; i < bo->m && ++c[i] == bo->n[i]; i++)
			c[i] = 0;
	}
	return best_ei >= 0;
}

/* Hill climb from c by single-coordinate moves to unseen configurations. */
static double climb(struct bo *bo, int *c, double ei, double *work)
{
	for (bool moved = true; moved;) {
		moved = false;
		for (int i = 0; i < bo->m; i++) {
			int keep = c[i], to = keep;
			for (int v = 0; v < bo->n[i]; v++) {
				if (v == keep)
					continue;
				c[i] = v;
				double x = seen(bo, c) ? -1 : ei_std(bo, c, work);
				if (x > ei) {
					ei = x;
					to = v;
					moved = true;
				}
			}
			c[i] = to;
		}
	}
	return ei;
}

/* Keeps the BO_STARTS best (ei, c) in descending order in starts/start_ei. */
static void keep_best(int *starts, double *start_ei, int *ns, const int *c, double ei, int m)
{
	int at = *ns;
	if (at == BO_STARTS) {
		if (ei <= start_ei[BO_STARTS - 1])
			return;
		at--;
	} else {
		(*ns)++;
	}
	for (; at > 0 && start_ei[at - 1] < ei; at--) {
		start_ei[at] = start_ei[at - 1];
		memcpy(starts + at * m, starts + (at - 1) * m, sizeof(int) * (size_t)m);
	}
	start_ei[at] = ei;
	memcpy(starts + at * m, c, sizeof(int) * (size_t)m);
}

/* Random unseen candidates, then hill climbs from the best of them and from the best
 * observed configuration. */
static bool search_sample(struct bo *bo, int *c, int *best, double *work)
{
	int m = bo->m, ns = 0;
	int *starts = xmalloc(sizeof(int) * (size_t)((BO_STARTS + 1) * m));
	double start_ei[BO_STARTS + 1];
	for (int s = 0; s < BO_SAMPLES; s++) {
		for (int i = 0; i < m; i++)
			c[i] = (int)rng_below(&bo->rng, (uint64_t)bo->n[i]);
		if (!seen(bo, c))
			keep_best(starts, start_ei, &ns, c, ei_std(bo, c, work), m);
	}
	if (!isnan(bo_best(bo, starts + ns * m)))
		start_ei[ns++] = -1;
	double best_ei = -1;
	for (int s = 0; s < ns; s++) {
		double ei = climb(bo, starts + s * m, start_ei[s], work);
		if (ei > best_ei) {
			best_ei = ei;
			memcpy(best, starts + s * m, sizeof(int) * (size_t)m);
		}
	}
	free(starts);
	return best_ei >= 0;
}

int bo_suggest(struct bo *bo, int *config_out)
{
	int m = bo->m;
	if (bo->product == 1 ||
	    (bo->product != UINT64_MAX && bo->n_obs + bo->n_pend >= bo->product))
		return -1;
	size_t nd = (size_t)m + 2;
	int *design = xmalloc(sizeof(int) * nd * (size_t)m);
	nd = bo_initial_design(bo, design, nd);
	bool found = false;
	for (size_t k = 0; k < nd && !found; k++)
		if (!seen(bo, design + k * (size_t)m)) {
			memcpy(config_out, design + k * (size_t)m, sizeof(int) * (size_t)m);
			found = true;
		}
	free(design);
	if (!found) {
		fit(bo);
		double *work = xmalloc(sizeof(double) * (size_t)(bo->nf + 1));
		int *c = xmalloc(sizeof(int) * (size_t)m);
		found = bo->product <= BO_ENUM_LIMIT ? search_enumerate(bo, c, config_out, work)
		                                     : search_sample(bo, c, config_out, work);
		free(c);
		free(work);
	}
	if (!found)
		return -1;
	append_row(&bo->pend, &bo->n_pend, &bo->cap_pend, config_out, m);
	return 0;
}

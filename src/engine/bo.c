/* bo.c: Gaussian-process Bayesian optimisation over per-step choice vectors (see bo.h). */
#include "engine/bo.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "engine/linalg.h"

#define BO_NOISE   1e-6 /* on standardised values; evaluations are nearly deterministic */
#define BO_SAMPLES 2000 /* random candidates when the space is too large to enumerate, */
#define BO_SCREEN  5e6  /* fewer when their screen would pass this many (nf m a candidate), */
#define BO_FLOOR   256  /* but at least this many */
#define BO_STARTS  5    /* the best observed configurations whose neighbours are candidates */
#define BO_WORK    4e6  /* exact scores per suggestion: at most this over nf^2 / 2 ... */
#define BO_EXACT   16   /* ... but at least this many */
#define BO_CLIMBS  8    /* rounds of single-coordinate moves from the sampled winner */
#define BO_SLACK   1e-6 /* added to the variance bound against rounding */

static const double length_grid[] = {0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8};
#define N_GRID ARRAY_SIZE(length_grid)

struct bo {
	int m;
	int *n;
	uint64_t product; /* saturates at UINT64_MAX */
	struct rng rng;
	size_t n_obs, cap_obs, n_pend, cap_pend;
	int *x, *pend; /* rows of m */
	double *y;     /* NaN: a failed evaluation */
	double *v; /* each value's variance in its own units (0: as measured; bo_observe_noisy) */
	int *cnt;
	/* The model: the nf finite observations in fit order (x order), their rows copied to xf,
	 * and one Cholesky factor of K + jitter per grid length-scale, packed, grown a row per new
	 * point (fit) and refactored only when the order changes or a pivot fails. */
	bool fitted;
	int nf, g; /* g: the chosen grid length-scale */
	size_t cap_fit, cap_l, cap_pt;
	int *fit_row, *xf, *hrow;
	int *xt; /* xf by columns: step i's choices at xt[i * cap_pt ...] (cap_pt a multiple of 8,
	          * the rows past nf unused), for the screen */
	double *l[N_GRID], jit[N_GRID], *khg; /* khg: N_GRID tables of m + 1 kernel values */
	double *kh, *alpha, *arow, ymean, ysd, ybest;
	/* noisy values: the factors hold v / ysd^2 on the diagonal at vscale = 1 / ysd^2, and are
	 * refactored when a variance or ysd changes (n is small where values are noisy); vmax: the
	 * largest of them, for the screen's variance bound */
	double vscale, vmax;
	bool v_changed;
};

/* Matern-5/2 of the one-hot distance sqrt(2h) for h = 0..m. */
static void kernel_table(double *kh, int m, double ls)
{
	for (int h = 0; h <= m; h++) {
		double r = sqrt(5.0 * 2 * h) / ls;
		kh[h] = (1 + r + r * r / 3) * exp(-r);
	}
}

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
	bo->khg = xmalloc(sizeof(double) * N_GRID * (size_t)(m + 1));
	for (size_t g = 0; g < N_GRID; g++) {
		kernel_table(bo->khg + g * (size_t)(m + 1), m, length_grid[g]);
		bo->jit[g] = BO_NOISE;
	}
	bo->kh = bo->khg;
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
	free(bo->v);
	free(bo->cnt);
	free(bo->fit_row);
	free(bo->xf);
	free(bo->xt);
	free(bo->hrow);
	for (size_t g = 0; g < N_GRID; g++)
		free(bo->l[g]);
	free(bo->khg);
	free(bo->alpha);
	free(bo->arow);
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
	return bo_observe_noisy(bo, config, value, 0, e);
}

int bo_observe_noisy(struct bo *bo, const int *config, double value, double var, struct err *e)
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
	var = isfinite(var) && var > 0 ? var : 0;
	ssize_t k = find_row(bo->x, bo->n_obs, config, m);
	if (k >= 0) {
		if (isnan(value))
			return 0;
		if (isnan(bo->y[k]))
			bo->cnt[k] = 0, bo->y[k] = 0, bo->v[k] = var;
		bo->y[k] += (value - bo->y[k]) / ++bo->cnt[k];
		bo->v_changed |= bo->v[k] != MIN(bo->v[k], var);
		bo->v[k] = MIN(bo->v[k], var); /* the better-founded of the two */
		return 0;
	}
	size_t cap = bo->cap_obs;
	append_row(&bo->x, &bo->n_obs, &bo->cap_obs, config, m);
	if (bo->cap_obs != cap) {
		bo->y = xrealloc(bo->y, sizeof(double) * bo->cap_obs / (size_t)m);
		bo->v = xrealloc(bo->v, sizeof(double) * bo->cap_obs / (size_t)m);
		bo->cnt = xrealloc(bo->cnt, sizeof(int) * bo->cap_obs / (size_t)m);
	}
	bo->y[bo->n_obs - 1] = value;
	bo->v[bo->n_obs - 1] = isnan(value) ? 0 : var;
	bo->v_changed |= bo->v[bo->n_obs - 1] > 0;
	bo->cnt[bo->n_obs - 1] = !isnan(value);
	return 0;
}

int bo_revise(struct bo *bo, const int *config, double value)
{
	return bo_revise_noisy(bo, config, value, 0);
}

int bo_revise_noisy(struct bo *bo, const int *config, double value, double var)
{
	ssize_t k = find_row(bo->x, bo->n_obs, config, bo->m);
	if (k < 0 || isnan(bo->y[k]) || !isfinite(value))
		return -1;
	var = isfinite(var) && var > 0 ? var : 0;
	bo->v_changed |= bo->v[k] != var;
	bo->y[k] = value, bo->cnt[k] = 1, bo->v[k] = var;
	bo->fitted = false; /* the factors hold positions only: fit restandardises the values */
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

/* Fitted point i's own noise, in standardised units. */
static double noise_of(const struct bo *bo, int i)
{
	return bo->v[bo->fit_row[i]] * bo->vscale;
}

/* Appends fitted point i (its distances to points 0..i-1 in bo->hrow) to grid g's factor. */
static int grid_append(struct bo *bo, size_t g, int i)
{
	const double *kh = bo->khg + g * (size_t)(bo->m + 1);
	for (int j = 0; j < i; j++)
		bo->arow[j] = kh[bo->hrow[j]];
	bo->arow[i] = kh[0] + bo->jit[g] + noise_of(bo, i);
	return linalg_cholesky_append(bo->l[g], i, bo->arow, 0);
}

static void distances(struct bo *bo, int i)
{
	const int *xi = bo->xf + (size_t)i * bo->m;
	for (int j = 0; j < i; j++)
		bo->hrow[j] = hamming(bo->xf + (size_t)j * bo->m, xi, bo->m);
}

/* Factors grid g's points 0..n-1 afresh, escalating the jitter until the factor exists (K is
 * positive semi-definite, so a jitter of 1 always does in practice; should even that fail, the
 * points are treated as uncorrelated rather than leaving a broken factor). */
static void grid_refactor(struct bo *bo, size_t g, int n)
{
	for (; bo->jit[g] < 1; bo->jit[g] *= 10) {
		bool ok = true;
		for (int i = 0; i < n && ok; i++) {
			distances(bo, i);
			ok = grid_append(bo, g, i) == 0;
		}
		if (ok)
			return;
	}
	double *l = bo->l[g];
	memset(l, 0, sizeof(double) * LINALG_PACKED(n));
	for (int i = 0; i < n; i++)
		l[LINALG_PACKED(i) + (size_t)i] =
		    sqrt(bo->khg[g * (size_t)(bo->m + 1)] + bo->jit[g] + noise_of(bo, i));
}

/* Adds fitted point nf (already in xf) to every grid's factor: O(nf (m + N_GRID nf)). */
static void add_point(struct bo *bo)
{
	int i = bo->nf;
	distances(bo, i);
	for (size_t g = 0; g < N_GRID; g++)
		if (grid_append(bo, g, i) < 0) {
			bo->jit[g] *= 10;
			grid_refactor(bo, g, i + 1);
		}
	bo->nf++;
}

/* Brings the factors up to the finite observations: new points are appended; a point that
 * became finite out of order (a failed evaluation observed again), or `afresh`, refactors from
 * scratch. */
static void update_factors(struct bo *bo, bool afresh)
{
	int m = bo->m, nf = 0;
	bool prefix = true;
	bo->fit_row = xgrow(bo->fit_row, &bo->cap_fit, bo->n_obs + 1, sizeof(int));
	for (size_t k = 0; k < bo->n_obs; k++)
		if (!isnan(bo->y[k])) {
			prefix = prefix && (nf >= bo->nf || bo->fit_row[nf] == (int)k);
			bo->fit_row[nf++] = (int)k;
		}
	if (!prefix || nf < bo->nf || afresh) {
		bo->nf = 0;
		for (size_t g = 0; g < N_GRID; g++)
			bo->jit[g] = BO_NOISE;
	}
	size_t need = LINALG_PACKED(nf);
	if (need > bo->cap_l) {
		bo->cap_l = MAX(need, 2 * bo->cap_l);
		for (size_t g = 0; g < N_GRID; g++)
			bo->l[g] = xrealloc(bo->l[g], sizeof(double) * bo->cap_l);
	}
	if ((size_t)nf + 1 > bo->cap_pt) {
		size_t old = bo->cap_pt;
		bo->cap_pt = (MAX((size_t)nf + 1, 2 * bo->cap_pt) + 7) / 8 * 8;
		int *xt = xcalloc(bo->cap_pt * (size_t)m, sizeof(int));
		for (int i = 0; i < m && bo->nf; i++)
			memcpy(xt + (size_t)i * bo->cap_pt, bo->xt + (size_t)i * old,
			       sizeof(int) * (size_t)bo->nf);
		free(bo->xt);
		bo->xt = xt;
		bo->xf = xrealloc(bo->xf, sizeof(int) * bo->cap_pt * (size_t)m);
		bo->hrow = xrealloc(bo->hrow, sizeof(int) * bo->cap_pt);
		bo->alpha = xrealloc(bo->alpha, sizeof(double) * bo->cap_pt);
		bo->arow = xrealloc(bo->arow, sizeof(double) * bo->cap_pt);
	}
	while (bo->nf < nf) {
		const int *row = bo->x + (size_t)bo->fit_row[bo->nf] * m;
		memcpy(bo->xf + (size_t)bo->nf * m, row, sizeof(int) * (size_t)m);
		for (int i = 0; i < m; i++)
			bo->xt[(size_t)i * bo->cap_pt + (size_t)bo->nf] = row[i];
		add_point(bo);
	}
}

/* alpha <- L^-1 ys on grid g; returns the log marginal likelihood (without the constant). */
static double grid_lml(struct bo *bo, size_t g, const double *ys)
{
	int nf = bo->nf;
	memcpy(bo->alpha, ys, sizeof(double) * (size_t)nf);
	linalg_packed_solve_lower(bo->l[g], nf, bo->alpha);
	double lml = 0;
	for (int i = 0; i < nf; i++)
		lml -= 0.5 * bo->alpha[i] * bo->alpha[i] + log(bo->l[g][LINALG_PACKED(i) + i]);
	return lml;
}

static void fit(struct bo *bo)
{
	if (bo->fitted)
		return;
	bo->fitted = true;
	int nf = 0;
	double mean = 0, ss = 0;
	bool noisy = false;
	for (size_t k = 0; k < bo->n_obs; k++)
		if (!isnan(bo->y[k]))
			mean += bo->y[k], nf++, noisy |= bo->v[k] > 0;
	mean = nf ? mean / nf : 0;
	for (size_t k = 0; k < bo->n_obs; k++)
		if (!isnan(bo->y[k]))
			ss += pow(bo->y[k] - mean, 2);
	bo->ymean = mean;
	bo->ysd = nf > 1 && ss > 0 ? sqrt(ss / (nf - 1)) : 1;
	double vscale = 1 / (bo->ysd * bo->ysd);
	bool afresh = bo->v_changed || (noisy && vscale != bo->vscale);
	if (noisy || bo->v_changed)
		bo->vscale = vscale;
	bo->v_changed = false;
	update_factors(bo, afresh);
	bo->vmax = 0;
	for (int i = 0; i < nf; i++)
		bo->vmax = MAX(bo->vmax, noise_of(bo, i));
	double *ys = xmalloc(sizeof(double) * (size_t)(nf + 1));
	bo->ybest = nf ? -INFINITY : 0;
	for (int i = 0; i < nf; i++) {
		ys[i] = (bo->y[bo->fit_row[i]] - mean) / bo->ysd;
		bo->ybest = MAX(bo->ybest, ys[i]);
	}
	double best_lml = -INFINITY;
	for (size_t g = 0; g < N_GRID; g++) {
		double lml = grid_lml(bo, g, ys);
		if (lml > best_lml) {
			best_lml = lml;
			bo->g = (int)g;
		}
	}
	bo->kh = bo->khg + (size_t)bo->g * (bo->m + 1);
	if (nf) {
		grid_lml(bo, (size_t)bo->g, ys);
		linalg_packed_solve_upper_t(bo->l[bo->g], nf, bo->alpha);
	}
	free(ys);
}

/* Posterior in standardised units; `work` holds nf doubles. */
static void posterior(const struct bo *bo, const int *c, double *work, double *mu, double *var)
{
	int nf = bo->nf, m = bo->m;
	double s = 0, q = 0;
	for (int i = 0; i < nf; i++) {
		work[i] = bo->kh[hamming(bo->xf + (size_t)i * m, c, m)];
		s += bo->alpha[i] * work[i];
	}
	linalg_packed_solve_lower(bo->l[bo->g], nf, work);
	for (int i = 0; i < nf; i++)
		q += work[i] * work[i];
	*mu = s;
	*var = MAX(bo->kh[0] - q, 0);
}

static double ei_of(double d, double sd)
{
	if (sd < 1e-12)
		return MAX(d, 0);
	double z = d / sd;
	return d * 0.5 * erfc(-z / M_SQRT2) + sd * exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

static double ei_std(const struct bo *bo, const int *c, double *work)
{
	double mu, var;
	posterior(bo, c, work, &mu, &var);
	return ei_of(mu - bo->ybest, sqrt(var));
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
	return length_grid[bo->g];
}

/* ---- the acquisition ----
 * A candidate set is scored in two passes. The screen costs O(nf m) a candidate: the posterior
 * mean exactly, and an upper bound on the variance from the nearest observed point alone
 * (conditioning on more points only lowers it), hence an upper bound on EI. Exact scores
 * (O(nf^2) each) then go in decreasing order of that bound until the bound falls below the
 * best exact score, so the winner is the set's true EI maximiser (the first in set order on a
 * tie) unless more candidates survive the bound than BO_WORK allows. */

struct cand {
	double ub;
	int idx;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *p = a, *q = b;
	if (p->ub != q->ub)
		return p->ub > q->ub || isnan(q->ub) ? -1 : 1;
	return (p->idx > q->idx) - (p->idx < q->idx);
}

/* The EI bound of an unseen c; false when c is observed or pending. `h` holds nf ints. */
static bool screen(const struct bo *bo, const int *c, int *h, double *ub)
{
	int nf = bo->nf, m = bo->m, hmin = m + 1, nb = (nf + 7) / 8;
	memset(h, 0, sizeof(int) * (size_t)nb * 8);
	for (int i = 0; i < m; i++) { /* by columns, eight at a time, so that it vectorises */
		const int *col = bo->xt + (size_t)i * bo->cap_pt;
		int ci = c[i];
		for (int b = 0; b < nb; b++)
			for (int u = 0; u < 8; u++)
				h[8 * b + u] += col[8 * b + u] != ci;
	}
	double s = 0;
	for (int j = 0; j < nf; j++) {
		s += bo->alpha[j] * bo->kh[h[j]];
		hmin = MIN(hmin, h[j]);
	}
	if (hmin == 0)
		return false;
	if (bo->n_obs > (size_t)nf && find_row(bo->x, bo->n_obs, c, m) >= 0)
		return false; /* a failed evaluation */
	if (find_row(bo->pend, bo->n_pend, c, m) >= 0)
		return false;
	double k0 = bo->kh[0], near = hmin <= m ? bo->kh[hmin] : 0;
	double var = k0 - near * near / (k0 + bo->jit[bo->g] + bo->vmax) + BO_SLACK;
	*ub = ei_of(s - bo->ybest, sqrt(MAX(var, 0)));
	return true;
}

/* Scores the n configurations of set (rows of m) and copies the winner to best if its EI
 * exceeds *best_ei, with at most *exact exact scores. Returns whether it did. */
static bool pick(struct bo *bo, const int *set, int n, double *best_ei, int *best, int *exact,
                 double *work)
{
	int m = bo->m, nc = 0, won = -1;
	struct cand *cs = xmalloc(sizeof(*cs) * (size_t)(n + 1));
	int *h = xmalloc(sizeof(int) * (size_t)(bo->nf + 8));
	for (int k = 0; k < n; k++)
		if (screen(bo, set + (size_t)k * m, h, &cs[nc].ub))
			cs[nc++].idx = k;
	free(h);
	qsort(cs, (size_t)nc, sizeof(*cs), cand_cmp);
	for (int k = 0; k<nc && * exact> 0 && cs[k].ub >= *best_ei; k++, --*exact) {
		double ei = ei_std(bo, set + (size_t)cs[k].idx * m, work);
		if (ei > *best_ei || (ei == *best_ei && won >= 0 && cs[k].idx < won)) {
			*best_ei = ei;
			won = cs[k].idx;
		}
	}
	free(cs);
	if (won >= 0)
		memcpy(best, set + (size_t)won * m, sizeof(int) * (size_t)m);
	return won >= 0;
}

/* Every configuration in mixed-radix order. */
static bool search_enumerate(struct bo *bo, int *best, int *exact, double *work)
{
	int m = bo->m, n = (int)bo->product;
	int *set = xmalloc(sizeof(int) * (size_t)n * (size_t)m), *c = set;
	memset(c, 0, sizeof(int) * (size_t)m);
	for (int k = 1; k < n; k++) {
		memcpy(c + m, c, sizeof(int) * (size_t)m);
		c += m;
		for (int i = 0; i < m && ++c[i] == bo->n[i]; i++)
			c[i] = 0;
	}
	double best_ei = -1;
	bool found = pick(bo, set, n, &best_ei, best, exact, work);
	free(set);
	return found;
}

/* Appends the single-coordinate neighbours of c to set; returns the new count. */
static int neighbours(const struct bo *bo, const int *c, int *set, int n)
{
	int m = bo->m;
	for (int i = 0; i < m; i++)
		for (int v = 0; v < bo->n[i]; v++)
			if (v != c[i]) {
				int *row = set + (size_t)n++ * m;
				memcpy(row, c, sizeof(int) * (size_t)m);
				row[i] = v;
			}
	return n;
}

/* Random configurations (BO_SAMPLES, fewer as the model grows) and the neighbours of the
 * BO_STARTS best observed ones, then single-coordinate moves from the winner while they raise
 * its EI. */
static bool search_sample(struct bo *bo, int *best, int *exact, double *work)
{
	int m = bo->m, moves = 0, n = 0;
	for (int i = 0; i < m; i++)
		moves += bo->n[i] - 1;
	int *set = xmalloc(sizeof(int) * (size_t)(BO_SAMPLES + BO_STARTS * moves) * (size_t)m);
	double fit = (double)bo->nf * m + 1;
	int samples = (int)MAX(BO_FLOOR, MIN(BO_SAMPLES, BO_SCREEN / fit));
	for (; n < samples; n++)
		for (int i = 0; i < m; i++)
			set[(size_t)n * m + i] = (int)rng_below(&bo->rng, (uint64_t)bo->n[i]);
	bool *used = xcalloc(bo->n_obs + 1, sizeof(bool));
	for (int s = 0; s < BO_STARTS; s++) {
		ssize_t top = -1;
		for (size_t k = 0; k < bo->n_obs; k++)
			if (!used[k] && !isnan(bo->y[k]) && (top < 0 || bo->y[k] > bo->y[top]))
				top = (ssize_t)k;
		if (top < 0)
			break;
		used[top] = true;
		n = neighbours(bo, bo->x + (size_t)top * m, set, n);
	}
	free(used);
	double best_ei = -1;
	bool found = pick(bo, set, n, &best_ei, best, exact, work);
	for (int r = 0; found && r < BO_CLIMBS; r++)
		if (!pick(bo, set, neighbours(bo, best, set, 0), &best_ei, best, exact, work))
			break;
	free(set);
	return found;
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
		/* exact scores for this suggestion: O(BO_WORK) arithmetic at most */
		int exact = (int)MAX(BO_EXACT, 2 * BO_WORK / ((double)bo->nf * bo->nf + 1));
		bool all = bo->product <= BO_ENUM_LIMIT &&
		           (double)bo->product * ((double)bo->nf * m + 1) <= BO_SCREEN;
		found = all ? search_enumerate(bo, config_out, &exact, work)
		            : search_sample(bo, config_out, &exact, work);
		free(work);
	}
	if (!found)
		return -1;
	append_row(&bo->pend, &bo->n_pend, &bo->cap_pend, config_out, m);
	return 0;
}

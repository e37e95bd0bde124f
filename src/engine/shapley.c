/* shapley.c: exact, permutation and Kernel SHAP estimators of Shapley credit, and a paired
 * bootstrap over validation examples for their uncertainty (see shapley.h). */
#include "engine/shapley.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/linalg.h"

static const char *const method_names[] = {
    [SHAPLEY_EXACT] = "exact",
    [SHAPLEY_PERMUTATION] = "permutation",
    [SHAPLEY_KERNEL] = "kernel",
};

const char *shapley_method_name(enum shapley_method method)
{
	if ((unsigned)method < ARRAY_SIZE(method_names))
		return method_names[method];
	return "unknown";
}

enum shapley_method shapley_choose(int m, long budget, size_t n_observed)
{
	if (m >= 0 && m <= SHAPLEY_MAX_PLAYERS && (1L << m) <= budget)
		return SHAPLEY_EXACT;
	return n_observed > 0 ? SHAPLEY_KERNEL : SHAPLEY_PERMUTATION;
}

static int check_m(int m, struct err *e)
{
	if (m < 0 || m > SHAPLEY_MAX_PLAYERS)
		return err_set(e, "Shapley credit: %d steps given, between 0 and %d supported", m,
		               SHAPLEY_MAX_PLAYERS);
	return 0;
}

static int popcount(uint32_t x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* A game behind a callback, each coalition asked at most once. */
struct game {
	shapley_value_fn *v;
	void *arg;
	double *val;
	unsigned char *known;
};

static void game_init(struct game *g, int m, shapley_value_fn *v, void *arg)
{
	g->v = v;
	g->arg = arg;
	g->val = xmalloc(sizeof(double) << m);
	g->known = xcalloc((size_t)1 << m, 1);
}

static void game_free(struct game *g)
{
	free(g->val);
	free(g->known);
}

static int game_value(struct game *g, uint32_t s, double *out, struct err *e)
{
	if (!g->known[s]) {
		g->val[s] = g->v(g->arg, s);
		g->known[s] = 1;
	}
	*out = g->val[s];
	if (isnan(*out))
		return err_set(e,
		               "Shapley credit: the value of coalition 0x%x is unknown "
		               "(not evaluated, or the evaluation failed)",
		               s);
	return 0;
}

static int exact_game(int m, struct game *g, double *phi, struct err *e)
{
	uint32_t n = (uint32_t)1 << m;
	double w[SHAPLEY_MAX_PLAYERS];
	/* w[s] = s! (m-1-s)! / m! = 1 / (m * C(m-1, s)) */
	double c = 1;
	for (int s = 0; s < m; s++) {
		w[s] = 1.0 / (m * c);
		c = c * (m - 1 - s) / (s + 1);
	}
	for (uint32_t s = 0; s < n; s++) {
		double x;
		if (game_value(g, s, &x, e) < 0)
			return -1;
	}
	memset(phi, 0, sizeof(*phi) * (size_t)m);
	for (uint32_t s = 0; s < n - 1; s++) { /* the full coalition has no one left to add */
		double ws = w[popcount(s)];
		for (int i = 0; i < m; i++)
			if (!(s >> i & 1))
				phi[i] += ws * (g->val[s | 1u << i] - g->val[s]);
	}
	return 0;
}

int shapley_exact(int m, shapley_value_fn *v, void *arg, double *phi, struct err *e)
{
	if (check_m(m, e) < 0)
		return -1;
	if (m == 0)
		return 0;
	struct game g;
	game_init(&g, m, v, arg);
	int rc = exact_game(m, &g, phi, e);
	game_free(&g);
	return rc;
}

static int permutation_game(int m, struct game *g, int n_perm, struct rng *r, double *phi,
                            struct err *e)
{
	if (n_perm < 1)
		return err_set(e, "Shapley credit: %d permutations asked for, at least 1 needed",
		               n_perm);
	int order[SHAPLEY_MAX_PLAYERS];
	for (int i = 0; i < m; i++)
		order[i] = i;
	double sum[SHAPLEY_MAX_PLAYERS] = {0};
	for (int p = 0; p < n_perm; p++) {
		if (p % 2 == 0) {
			for (int i = m - 1; i > 0; i--) { /* Fisher-Yates */
				int j = (int)rng_below(r, (uint64_t)i + 1), t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		} else {
			for (int i = 0; i < m / 2; i++) { /* antithetic: the reverse ordering */
				int t = order[i];
				order[i] = order[m - 1 - i];
				order[m - 1 - i] = t;
			}
		}
		uint32_t s = 0;
		double prev, cur;
		if (game_value(g, 0, &prev, e) < 0)
			return -1;
		for (int k = 0; k < m; k++) {
			s |= 1u << order[k];
			if (game_value(g, s, &cur, e) < 0)
				return -1;
			sum[order[k]] += cur - prev;
			prev = cur;
		}
	}
	for (int i = 0; i < m; i++)
		phi[i] = sum[i] / n_perm;
	return 0;
}

int shapley_permutation(int m, shapley_value_fn *v, void *arg, int n_perm, struct rng *r,
                        double *phi, struct err *e)
{
	if (check_m(m, e) < 0)
		return -1;
	if (m == 0)
		return 0;
	struct game g;
	game_init(&g, m, v, arg);
	int rc = permutation_game(m, &g, n_perm, r, phi, e);
	game_free(&g);
	return rc;
}

/* Averages observations per mask into tab[2^m] (NaN where nothing finite was seen). */
static int table_build(int m, const uint32_t *masks, const double *values, size_t n, double *tab,
                       struct err *e)
{
	uint32_t size = (uint32_t)1 << m;
	int *cnt = xcalloc(size, sizeof(*cnt));
	for (uint32_t s = 0; s < size; s++)
		tab[s] = 0;
	for (size_t k = 0; k < n; k++) {
		if (masks[k] >= size) {
			free(cnt);
			return err_set(e,
			               "Shapley credit: coalition 0x%x names a step beyond the "
			               "%d steps",
			               masks[k], m);
		}
		if (isnan(values[k]))
			continue;
		tab[masks[k]] += values[k];
		cnt[masks[k]]++;
	}
	for (uint32_t s = 0; s < size; s++)
		tab[s] = cnt[s] ? tab[s] / cnt[s] : NAN;
	free(cnt);
	return 0;
}

/* Kernel SHAP on a table. With phi = delta/m + d and sum(d) = 0, d[m-1] is eliminated; the
 * regressors are x_i = z_i - z_{m-1}, the target y = v(S) - v(0) - |S| delta / m. The ridge
 * (when needed) penalises |d|^2 over all m players: lambda (I + 1 1^T) on the m-1 unknowns. */
static int kernel_table(int m, const double *tab, double *phi, bool *ridged, struct err *e)
{
	uint32_t full = ((uint32_t)1 << m) - 1;
	if (isnan(tab[0]) || isnan(tab[full]))
		return err_set(e, "Kernel SHAP needs the value of the all-incumbent and of the "
		                  "all-best configuration among the observations");
	double v0 = tab[0], delta = tab[full] - v0;
	int k = m - 1;
	double a[(SHAPLEY_MAX_PLAYERS - 1) * (SHAPLEY_MAX_PLAYERS - 1)] = {0};
	double b[SHAPLEY_MAX_PLAYERS] = {0}, x[SHAPLEY_MAX_PLAYERS];
	double binom[SHAPLEY_MAX_PLAYERS + 1];
	binom[0] = 1;
	for (int s = 1; s <= m; s++)
		binom[s] = binom[s - 1] * (m - s + 1) / s;
	for (uint32_t s = 1; s < full; s++) {
		if (isnan(tab[s]))
			continue;
		int sz = popcount(s);
		double w = (m - 1) / (binom[sz] * sz * (m - sz));
		double y = tab[s] - v0 - sz * delta / m;
		int zl = (int)(s >> k & 1);
		for (int i = 0; i < k; i++)
			x[i] = (int)(s >> i & 1) - zl;
		for (int i = 0; i < k; i++) {
			b[i] += w * x[i] * y;
			for (int j = 0; j <= i; j++)
				a[i * k + j] += w * x[i] * x[j];
		}
	}
	double maxd = 0, l[ARRAY_SIZE(a)];
	for (int i = 0; i < k; i++)
		maxd = MAX(maxd, a[i * k + i]);
	memcpy(l, a, sizeof(a));
	bool ridge = k > 0 && (maxd <= 0 || linalg_cholesky(l, k, 1e-10 * maxd) < 0);
	if (ridge) {
		double lambda = maxd > 0 ? 1e-6 * maxd : 1;
		memcpy(l, a, sizeof(a));
		for (int i = 0; i < k; i++)
			for (int j = 0; j <= i; j++)
				l[i * k + j] += lambda * (1 + (i == j));
		if (linalg_cholesky(l, k, 0) < 0)
			return err_set(e, "Kernel SHAP: the observations give no usable system "
			                  "(values not finite?)");
	}
	if (k > 0)
		linalg_cholesky_solve(l, k, b);
	double rest = 0;
	for (int i = 0; i < k; i++) {
		phi[i] = delta / m + b[i];
		rest += b[i];
	}
	phi[k] = delta / m - rest;
	if (ridged)
		*ridged = ridge;
	for (int i = 0; i < m; i++)
		if (!isfinite(phi[i]))
			return err_set(e, "Kernel SHAP: observed values are not finite");
	return 0;
}

int shapley_kernel(int m, const uint32_t *masks, const double *values, size_t n, double *phi,
                   bool *ridged, struct err *e)
{
	if (ridged)
		*ridged = false;
	if (check_m(m, e) < 0)
		return -1;
	if (m == 0)
		return 0;
	double *tab = xmalloc(sizeof(double) << m);
	int rc = table_build(m, masks, values, n, tab, e);
	if (rc == 0)
		rc = kernel_table(m, tab, phi, ridged, e);
	free(tab);
	return rc;
}

static double table_lookup(void *arg, uint32_t s)
{
	return ((const double *)arg)[s];
}

static int estimate_table(int m, double *tab, const struct shapley_boot *opt, double *phi,
                          struct err *e)
{
	if (opt->method == SHAPLEY_KERNEL)
		return kernel_table(m, tab, phi, NULL, e);
	if (opt->method == SHAPLEY_EXACT)
		return shapley_exact(m, table_lookup, tab, phi, e);
	struct rng r;
	rng_seed(&r, opt->perm_seed);
	return shapley_permutation(m, table_lookup, tab, opt->n_perm, &r, phi, e);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Linear interpolation between order statistics (type 7) of sorted v[0..n-1]. */
static double quantile(const double *v, int n, double q)
{
	double h = q * (n - 1);
	int i = (int)h;
	return i + 1 < n ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[n - 1];
}

int shapley_bootstrap(int m, const uint32_t *masks, const double *scores, size_t n_coal,
                      size_t n_ex, const struct shapley_boot *opt, double *phi, double *sd,
                      double *lo, double *hi, struct err *e)
{
	if (check_m(m, e) < 0)
		return -1;
	if (opt->n_boot < 2)
		return err_set(e, "Shapley bootstrap: %d resamples asked for, at least 2 needed",
		               opt->n_boot);
	if (n_ex == 0)
		return err_set(e, "Shapley bootstrap: no validation examples were scored");
	for (size_t c = 0; c < n_coal; c++)
		for (size_t j = 0; j < n_ex; j++)
			if (!isfinite(scores[c * n_ex + j]))
				return err_set(e,
				               "Shapley bootstrap: coalition 0x%x, example %zu: "
				               "score is not a finite number",
				               masks[c], j);
	if (m == 0)
		return 0;
	int nb = opt->n_boot, rc = -1;
	double *tab = xmalloc(sizeof(double) << m), *means = xmalloc(sizeof(double) * (n_coal + 1));
	double *boot = xmalloc(sizeof(double) * (size_t)nb * (size_t)m);
	unsigned *cnt = xmalloc(sizeof(*cnt) * n_ex);
	struct rng r;
	rng_seed(&r, opt->seed);
	for (int b = -1; b < nb; b++) { /* b == -1: every example once, the point estimate */
		for (size_t j = 0; j < n_ex; j++)
			cnt[j] = b < 0;
		for (size_t j = 0; b >= 0 && j < n_ex; j++)
			cnt[rng_below(&r, n_ex)]++;
		for (size_t c = 0; c < n_coal; c++) {
			double s = 0;
			for (size_t j = 0; j < n_ex; j++)
				s += cnt[j] * scores[c * n_ex + j];
			means[c] = s / (double)n_ex;
		}
		if (table_build(m, masks, means, n_coal, tab, e) < 0 ||
		    estimate_table(m, tab, opt, b < 0 ? phi : boot + (size_t)b * m, e) < 0)
			goto out;
	}
	double *col = xmalloc(sizeof(double) * (size_t)nb);
	for (int i = 0; i < m; i++) {
		double mean = 0, ss = 0;
		for (int b = 0; b < nb; b++)
			mean += (col[b] = boot[(size_t)b * m + i]) / nb;
		for (int b = 0; b < nb; b++)
			ss += (col[b] - mean) * (col[b] - mean);
		sd[i] = sqrt(ss / (nb - 1));
		qsort(col, (size_t)nb, sizeof(double), cmp_double);
		if (lo)
			lo[i] = quantile(col, nb, 0.05);
		if (hi)
			hi[i] = quantile(col, nb, 0.95);
	}
	free(col);
	rc = 0;
out:
	free(tab);
	free(means);
	free(boot);
	free(cnt);
	return rc;
}

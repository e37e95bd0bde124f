/* shapley.c: exact, permutation and Kernel SHAP estimators of Shapley credit, the extra
 * evaluations each asks for, and a paired bootstrap over validation examples for their
 * uncertainty (see shapley.h). */
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
	if (m >= 0 && m <= SHAPLEY_EXACT_MAX && (1L << m) <= budget)
		return SHAPLEY_EXACT;
	return n_observed > 0 ? SHAPLEY_KERNEL : SHAPLEY_PERMUTATION;
}

static int check_m(int m, int max, struct err *e)
{
	if (m < 0 || m > max)
		return err_set(e, "Shapley credit: %d steps given, between 0 and %d supported", m,
		               max);
	return 0;
}

static uint64_t full_mask(int m)
{
	return m >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << m) - 1;
}

static int popcount(uint64_t x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* ---- a memo of coalition values: open addressing on the mask ---- */

struct memo {
	uint64_t *key;
	double *val;
	unsigned char *used;
	size_t cap, n;
};

static size_t memo_home(const struct memo *mm, uint64_t k)
{
	return (size_t)((k * 0x9E3779B97F4A7C15u) >> 17) & (mm->cap - 1);
}

static void memo_free(struct memo *mm)
{
	free(mm->key);
	free(mm->val);
	free(mm->used);
	*mm = (struct memo){0};
}

/* The slot of k; *fresh tells whether it was just added (its value then unset). */
static double *memo_slot(struct memo *mm, uint64_t k, bool *fresh)
{
	if (2 * (mm->n + 1) > mm->cap) {
		struct memo old = *mm;
		mm->cap = old.cap ? 2 * old.cap : 64;
		mm->key = xmalloc(mm->cap * sizeof *mm->key);
		mm->val = xmalloc(mm->cap * sizeof *mm->val);
		mm->used = xcalloc(mm->cap, 1);
		mm->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.used[i])
				*memo_slot(mm, old.key[i], fresh) = old.val[i];
		memo_free(&old);
	}
	size_t i = memo_home(mm, k);
	while (mm->used[i] && mm->key[i] != k)
		i = (i + 1) & (mm->cap - 1);
	*fresh = !mm->used[i];
	if (*fresh) {
		mm->used[i] = 1;
		mm->key[i] = k;
		mm->n++;
	}
	return &mm->val[i];
}

/* ---- exact ---- */

static int unknown(uint64_t s, struct err *e)
{
	return err_set(e,
	               "Shapley credit: the value of coalition 0x%llx is unknown "
	               "(not evaluated, or the evaluation failed)",
	               (unsigned long long)s);
}

int shapley_exact(int m, shapley_value_fn *v, void *arg, double *phi, struct err *e)
{
	if (check_m(m, SHAPLEY_EXACT_MAX, e) < 0)
		return -1;
	if (m == 0)
		return 0;
	uint32_t n = (uint32_t)1 << m;
	double w[SHAPLEY_EXACT_MAX], *val = xmalloc(sizeof(double) * n);
	/* w[s] = s! (m-1-s)! / m! = 1 / (m * C(m-1, s)) */
	double c = 1;
	for (int s = 0; s < m; s++) {
		w[s] = 1.0 / (m * c);
		c = c * (m - 1 - s) / (s + 1);
	}
	for (uint32_t s = 0; s < n; s++)
		if (isnan(val[s] = v(arg, s))) {
			free(val);
			return unknown(s, e);
		}
	memset(phi, 0, sizeof(*phi) * (size_t)m);
	for (uint32_t s = 0; s < n - 1; s++) { /* the full coalition has no one left to add */
		double ws = w[popcount(s)];
		for (int i = 0; i < m; i++)
			if (!(s >> i & 1))
				phi[i] += ws * (val[s | 1u << i] - val[s]);
	}
	free(val);
	return 0;
}

/* ---- permutation ---- */

/* The orderings: ordering 2k is a fresh shuffle of the previous one, 2k+1 its reverse. */
static void next_ordering(int *order, int m, int p, struct rng *r)
{
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
}

int shapley_permutation(int m, shapley_value_fn *v, void *arg, int n_perm, struct rng *r,
                        double *phi, double *se, struct err *e)
{
	if (check_m(m, SHAPLEY_MAX_PLAYERS, e) < 0)
		return -1;
	if (n_perm < 1)
		return err_set(e, "Shapley credit: %d permutations asked for, at least 1 needed",
		               n_perm);
	if (m == 0)
		return 0;
	int order[SHAPLEY_MAX_PLAYERS], rc = -1, n_samples = 0;
	/* per player: all contributions; this pair's; over pairs, their means and squares */
	double tot[SHAPLEY_MAX_PLAYERS] = {0}, pair[SHAPLEY_MAX_PLAYERS] = {0};
	double sum[SHAPLEY_MAX_PLAYERS] = {0}, sq[SHAPLEY_MAX_PLAYERS] = {0};
	struct memo mm = {0};
	for (int i = 0; i < m; i++)
		order[i] = i;
	for (int p = 0; p < n_perm; p++) {
		next_ordering(order, m, p, r);
		uint64_t s = 0;
		double prev = 0;
		for (int k = -1; k < m; k++) {
			if (k >= 0)
				s |= (uint64_t)1 << order[k];
			bool fresh;
			double *slot = memo_slot(&mm, s, &fresh);
			if (fresh)
				*slot = v(arg, s);
			if (isnan(*slot)) {
				unknown(s, e);
				goto out;
			}
			if (k >= 0) {
				tot[order[k]] += *slot - prev;
				pair[order[k]] += *slot - prev;
			}
			prev = *slot;
		}
		if (p % 2 == 1 || p == n_perm - 1) { /* a pair (or the last lone ordering) ends */
			n_samples++;
			for (int i = 0; i < m; i++) {
				double x = pair[i] / (p % 2 == 1 ? 2 : 1);
				sum[i] += x;
				sq[i] += x * x;
				pair[i] = 0;
			}
		}
	}
	for (int i = 0; i < m; i++) {
		phi[i] = tot[i] / n_perm;
		if (se) {
			double mean = sum[i] / n_samples;
			double var =
			    n_samples > 1 ? (sq[i] - n_samples * mean * mean) / (n_samples - 1) : 0;
			se[i] = sqrt(MAX(var, 0) / n_samples);
		}
	}
	rc = 0;
out:
	memo_free(&mm);
	return rc;
}

/* ---- observations ---- */

/* Observed coalitions, sorted by mask, repeats averaged, NaN values left out. */
struct obs {
	size_t n;
	uint64_t *mask;
	double *val;
};

struct pair {
	uint64_t mask;
	double val;
};

static int cmp_pair(const void *a, const void *b)
{
	uint64_t x = ((const struct pair *)a)->mask, y = ((const struct pair *)b)->mask;
	return (x > y) - (x < y);
}

static void obs_free(struct obs *o)
{
	free(o->mask);
	free(o->val);
}

static int obs_build(int m, const uint64_t *masks, const double *values, size_t n, struct obs *o,
                     struct err *e)
{
	struct pair *p = xcalloc(n ? n : 1, sizeof *p);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (masks[i] & ~full_mask(m)) {
			free(p);
			return err_set(e,
			               "Shapley credit: coalition 0x%llx names a step beyond the "
			               "%d steps",
			               (unsigned long long)masks[i], m);
		}
		if (!isnan(values[i]))
			p[k++] = (struct pair){masks[i], values[i]};
	}
	qsort(p, k, sizeof *p, cmp_pair);
	o->mask = xcalloc(k ? k : 1, sizeof *o->mask);
	o->val = xcalloc(k ? k : 1, sizeof *o->val);
	o->n = 0;
	for (size_t i = 0, j; i < k; i = j) {
		double sum = 0;
		for (j = i; j < k && p[j].mask == p[i].mask; j++)
			sum += p[j].val;
		o->mask[o->n] = p[i].mask;
		o->val[o->n++] = sum / (double)(j - i);
	}
	free(p);
	return 0;
}

static double obs_value(void *arg, uint64_t s)
{
	const struct obs *o = arg;
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->mask[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < o->n && o->mask[lo] == s ? o->val[lo] : NAN;
}

/* Adds s to out when it is not in had (and remembers it there). */
static void take(struct memo *had, uint64_t s, uint64_t **out, size_t *n, size_t *cap)
{
	bool fresh;
	memo_slot(had, s, &fresh);
	if (!fresh)
		return;
	*out = xgrow(*out, cap, *n + 1, sizeof **out);
	(*out)[(*n)++] = s;
}

long shapley_missing(enum shapley_method method, int m, int n_perm, uint64_t perm_seed,
                     const uint64_t *have, size_t n_have, uint64_t **missing)
{
	int max = method == SHAPLEY_EXACT ? SHAPLEY_EXACT_MAX : SHAPLEY_MAX_PLAYERS;
	if (missing)
		*missing = NULL;
	if (m < 0 || m > max)
		return -1;
	if (method == SHAPLEY_KERNEL || m == 0)
		return 0;
	struct memo had = {0};
	bool fresh;
	for (size_t i = 0; i < n_have; i++)
		memo_slot(&had, have[i], &fresh);
	uint64_t *out = NULL;
	size_t n = 0, cap = 0;
	if (method == SHAPLEY_EXACT) {
		for (uint64_t s = 0; s <= full_mask(m); s++)
			take(&had, s, &out, &n, &cap);
	} else { /* the prefixes of the orderings shapley_permutation walks */
		struct rng r;
		rng_seed(&r, perm_seed);
		int order[SHAPLEY_MAX_PLAYERS];
		for (int i = 0; i < m; i++)
			order[i] = i;
		for (int p = 0; p < n_perm; p++) {
			next_ordering(order, m, p, &r);
			uint64_t s = 0;
			take(&had, s, &out, &n, &cap);
			for (int k = 0; k < m; k++)
				take(&had, s |= (uint64_t)1 << order[k], &out, &n, &cap);
		}
	}
	memo_free(&had);
	if (missing)
		*missing = out;
	else
		free(out);
	return (long)n;
}

/* ---- Kernel SHAP ---- */

/* The Shapley kernel's weight of a coalition of sz of m players, (m-1) / (C(m,sz) sz (m-sz)). */
static double kernel_weight(int m, int sz)
{
	double log_c = lgamma(m + 1.0) - lgamma(sz + 1.0) - lgamma(m - sz + 1.0);
	return (m - 1) / (exp(log_c) * sz * (m - sz));
}

/* With v(N) known, phi = delta/m + d with sum(d) = 0, d[m-1] eliminated: the regressors are
 * x_i = z_i - z_{m-1}, the target y = v'(S) - |S| delta / m, the ridge lambda |d|^2 over all m
 * players, lambda (I + 1 1^T) on the m-1 unknowns. With v(N) unknown, phi itself: x_i = z_i,
 * y = v'(S), the ridge lambda |phi - mean(phi)|^2, lambda (I - 1 1^T / m). v' is v less
 * v(empty), or the dual game when only v(N) was seen. */
static int kernel_obs(int m, const struct obs *o, double *phi, struct shapley_fit *fit,
                      struct err *e)
{
	uint64_t full = full_mask(m);
	double v0 = obs_value((void *)o, 0), vn = obs_value((void *)o, full);
	if (isnan(v0) && isnan(vn))
		return err_set(e, "Kernel SHAP needs the value of the all-incumbent or of the "
		                  "all-best configuration among the observations");
	bool known_n = !isnan(v0) && !isnan(vn), dual = isnan(v0);
	double delta = known_n ? vn - v0 : 0;
	int k = known_n ? m - 1 : m, rc = 0;
	*fit = (struct shapley_fit){o->n, false, !known_n};
	double *a = xcalloc((size_t)k * k + 1, sizeof *a),
	       *l = xcalloc((size_t)k * k + 1, sizeof *l);
	double *b = xcalloc((size_t)k + 1, sizeof *b), *x = xcalloc((size_t)m, sizeof *x);
	for (size_t j = 0; j < o->n; j++) {
		uint64_t s = dual ? full ^ o->mask[j] : o->mask[j];
		double val = dual ? vn - o->val[j] : o->val[j] - v0;
		if (s == 0 || s == full)
			continue;
		int sz = popcount(s);
		double w = kernel_weight(m, sz), y = val - (known_n ? sz * delta / m : 0);
		int zl = known_n ? (int)(s >> k & 1) : 0;
		for (int i = 0; i < k; i++)
			x[i] = (int)(s >> i & 1) - zl;
		for (int i = 0; i < k; i++) {
			b[i] += w * x[i] * y;
			for (int c = 0; c <= i; c++)
				a[i * k + c] += w * x[i] * x[c];
		}
	}
	double maxd = 0;
	for (int i = 0; i < k; i++)
		maxd = MAX(maxd, a[i * k + i]);
	memcpy(l, a, sizeof(double) * (size_t)k * k);
	fit->ridged = k > 0 && (maxd <= 0 || linalg_cholesky(l, k, 1e-10 * maxd) < 0);
	if (fit->ridged) {
		double lambda = maxd > 0 ? 1e-6 * maxd : 1;
		memcpy(l, a, sizeof(double) * (size_t)k * k);
		for (int i = 0; i < k; i++)
			for (int c = 0; c <= i; c++)
				l[i * k + c] +=
				    lambda * (known_n ? 1.0 + (i == c) : (i == c) - 1.0 / m);
		if (linalg_cholesky(l, k, 1e-12 * lambda) < 0) {
			rc = err_set(e, known_n ? "Kernel SHAP: the observations give no usable "
			                          "system (values not finite?)"
			                        : "Kernel SHAP: only one end of the game was "
			                          "evaluated; nothing to fit");
			goto out;
		}
	}
	if (k > 0)
		linalg_cholesky_solve(l, k, b);
	if (known_n) {
		double rest = 0;
		for (int i = 0; i < k; i++) {
			phi[i] = delta / m + b[i];
			rest += b[i];
		}
		phi[k] = delta / m - rest;
	} else {
		memcpy(phi, b, sizeof(double) * (size_t)m);
	}
	for (int i = 0; i < m && rc == 0; i++)
		if (!isfinite(phi[i]))
			rc = err_set(e, "Kernel SHAP: observed values are not finite");
out:
	free(a);
	free(l);
	free(b);
	free(x);
	return rc;
}

int shapley_kernel(int m, const uint64_t *masks, const double *values, size_t n, double *phi,
                   struct shapley_fit *fit, struct err *e)
{
	struct shapley_fit f = {0};
	if (fit)
		*fit = f;
	if (check_m(m, SHAPLEY_MAX_PLAYERS, e) < 0)
		return -1;
	if (m == 0)
		return 0;
	struct obs o;
	if (obs_build(m, masks, values, n, &o, e) < 0)
		return -1;
	int rc = kernel_obs(m, &o, phi, &f, e);
	obs_free(&o);
	if (fit)
		*fit = f;
	return rc;
}

/* ---- bootstrap ---- */

static int estimate(int m, const struct obs *o, struct shapley_boot *opt, double *phi, double *se,
                    struct shapley_fit *fit, struct err *e)
{
	if (opt->method == SHAPLEY_KERNEL)
		return kernel_obs(m, o, phi, fit, e);
	if (opt->method == SHAPLEY_EXACT)
		return shapley_exact(m, obs_value, (void *)o, phi, e);
	struct rng r;
	rng_seed(&r, opt->perm_seed);
	return shapley_permutation(m, obs_value, (void *)o, opt->n_perm, &r, phi, se, e);
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

int shapley_bootstrap(int m, const uint64_t *masks, const double *scores, size_t n_coal,
                      size_t n_ex, struct shapley_boot *opt, double *phi, double *sd, double *lo,
                      double *hi, struct err *e)
{
	opt->fit = (struct shapley_fit){0};
	if (check_m(m, opt->method == SHAPLEY_EXACT ? SHAPLEY_EXACT_MAX : SHAPLEY_MAX_PLAYERS, e) <
	    0)
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
				               "Shapley bootstrap: coalition 0x%llx, example %zu: "
				               "score is not a finite number",
				               (unsigned long long)masks[c], j);
	if (m == 0)
		return 0;
	int nb = opt->n_boot, rc = -1;
	double *means = xmalloc(sizeof(double) * (n_coal + 1));
	double *boot = xmalloc(sizeof(double) * (size_t)nb * (size_t)m);
	unsigned *cnt = xmalloc(sizeof(*cnt) * n_ex);
	double *mc = xcalloc((size_t)m, sizeof *mc); /* permutation: Monte Carlo error */
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
		struct obs o;
		struct shapley_fit fit;
		if (obs_build(m, masks, means, n_coal, &o, e) < 0)
			goto out;
		int erc = estimate(m, &o, opt, b < 0 ? phi : boot + (size_t)b * m,
		                   b < 0 ? mc : NULL, &fit, e);
		obs_free(&o);
		if (erc < 0)
			goto out;
		if (b < 0 && opt->method == SHAPLEY_KERNEL)
			opt->fit = fit;
	}
	double *col = xmalloc(sizeof(double) * (size_t)nb);
	for (int i = 0; i < m; i++) {
		double mean = 0, ss = 0;
		for (int b = 0; b < nb; b++)
			mean += (col[b] = boot[(size_t)b * m + i]) / nb;
		for (int b = 0; b < nb; b++)
			ss += (col[b] - mean) * (col[b] - mean);
		sd[i] = sqrt(ss / (nb - 1) + mc[i] * mc[i]);
		qsort(col, (size_t)nb, sizeof(double), cmp_double);
		if (lo)
			lo[i] = quantile(col, nb, 0.05);
		if (hi)
			hi[i] = quantile(col, nb, 0.95);
	}
	free(col);
	rc = 0;
out:
	free(means);
	free(boot);
	free(cnt);
	free(mc);
	return rc;
}

/* shapley.c: exact, permutation and Kernel SHAP estimators of Shapley credit, the extra
 * evaluations each asks for, and a paired bootstrap over validation examples for their
 * uncertainty (see shapley.h). */
#include "engine/shapley.h"

#include <math.h>
#include <stdio.h>
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

/* ---- coalitions: W words each ---- */

static bool has(const uint64_t *s, int i)
{
	return s[i / 64] >> (i % 64) & 1;
}

static void add(uint64_t *s, int i)
{
	s[i / 64] |= (uint64_t)1 << (i % 64);
}

static int popcount(const uint64_t *s, size_t w)
{
	int n = 0;
	for (size_t k = 0; k < w; k++)
		for (uint64_t x = s[k]; x; x &= x - 1)
			n++;
	return n;
}

/* Bits of word k that name a player. */
static uint64_t word_mask(int m, size_t k)
{
	int left = m - 64 * (int)k;
	return left >= 64 ? ~(uint64_t)0 : left > 0 ? ((uint64_t)1 << left) - 1 : 0;
}

/* "0x..." of a coalition, most significant word first, for messages. */
static void coal_hex(const uint64_t *s, size_t w, char *buf, size_t size)
{
	size_t k = w;
	while (k > 1 && !s[k - 1])
		k--;
	int n = snprintf(buf, size, "0x%llx", (unsigned long long)s[--k]);
	while (k-- > 0 && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "%016llx", (unsigned long long)s[k]);
}

/* ---- a memo of coalitions: open addressing on their words ---- */

struct memo {
	size_t w; /* words per key */
	uint64_t *key;
	double *val;
	unsigned char *used;
	size_t cap, n;
};

static size_t memo_home(const struct memo *mm, const uint64_t *k)
{
	uint64_t h = 0x9E3779B97F4A7C15u;
	for (size_t i = 0; i < mm->w; i++) { /* every bit of a word reaches every bit of h */
		h = (h ^ k[i]) * 0xBF58476D1CE4E5B9u;
		h ^= h >> 31;
	}
	h *= 0x94D049BB133111EBu;
	return (size_t)(h ^ h >> 29) & (mm->cap - 1);
}

static void memo_free(struct memo *mm)
{
	free(mm->key);
	free(mm->val);
	free(mm->used);
	*mm = (struct memo){.w = mm->w};
}

/* The slot of k, or the free slot where it would go. */
static size_t memo_find(const struct memo *mm, const uint64_t *k)
{
	size_t i = memo_home(mm, k);
	while (mm->used[i] && memcmp(&mm->key[i * mm->w], k, mm->w * sizeof *k) != 0)
		i = (i + 1) & (mm->cap - 1);
	return i;
}

/* The value slot of k; *fresh tells whether it was just added (its value then 0). */
static double *memo_slot(struct memo *mm, const uint64_t *k, bool *fresh)
{
	if (2 * (mm->n + 1) > mm->cap) {
		struct memo old = *mm;
		mm->cap = old.cap ? 2 * old.cap : 64;
		mm->key = xmalloc(mm->cap * mm->w * sizeof *mm->key);
		mm->val = xcalloc(mm->cap, sizeof *mm->val);
		mm->used = xcalloc(mm->cap, 1);
		mm->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.used[i])
				*memo_slot(mm, &old.key[i * old.w], fresh) = old.val[i];
		memo_free(&old);
	}
	size_t i = memo_find(mm, k);
	*fresh = !mm->used[i];
	if (*fresh) {
		mm->used[i] = 1;
		memcpy(&mm->key[i * mm->w], k, mm->w * sizeof *k);
		mm->val[i] = 0;
		mm->n++;
	}
	return &mm->val[i];
}

/* The value stored for k, or NaN. */
static double memo_get(const struct memo *mm, const uint64_t *k)
{
	if (!mm->cap)
		return NAN;
	size_t i = memo_find(mm, k);
	return mm->used[i] ? mm->val[i] : NAN;
}

/* ---- exact ---- */

static int unknown(const uint64_t *s, size_t w, struct err *e)
{
	char hex[64];
	coal_hex(s, w, hex, sizeof hex);
	return err_set(e,
	               "Shapley credit: the value of coalition %s is unknown "
	               "(not evaluated, or the evaluation failed)",
	               hex);
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
	for (uint64_t s = 0; s < n; s++)
		if (isnan(val[s] = v(arg, &s))) {
			free(val);
			return unknown(&s, 1, e);
		}
	memset(phi, 0, sizeof(*phi) * (size_t)m);
	for (uint64_t s = 0; s < n - 1; s++) { /* the full coalition has no one left to add */
		double ws = w[popcount(&s, 1)];
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

static int *identity(int m)
{
	int *order = xcalloc((size_t)m + 1, sizeof *order);
	for (int i = 0; i < m; i++)
		order[i] = i;
	return order;
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
	size_t w = shapley_words(m);
	int *order = identity(m), rc = -1, n_samples = 0;
	/* per player: all contributions; this pair's; over pairs, their means and squares */
	double *acc = xcalloc(4 * (size_t)m, sizeof *acc);
	double *tot = acc, *pair = acc + m, *sum = acc + 2 * m, *sq = acc + 3 * m;
	uint64_t *s = xcalloc(w, sizeof *s);
	struct memo mm = {.w = w};
	for (int p = 0; p < n_perm; p++) {
		next_ordering(order, m, p, r);
		memset(s, 0, w * sizeof *s);
		double prev = 0;
		for (int k = -1; k < m; k++) {
			if (k >= 0)
				add(s, order[k]);
			bool fresh;
			double *slot = memo_slot(&mm, s, &fresh);
			if (fresh)
				*slot = v(arg, s);
			if (isnan(*slot)) {
				unknown(s, w, e);
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
	free(order);
	free(acc);
	free(s);
	return rc;
}

/* ---- observations ---- */

/* Observed coalitions: repeats averaged, NaN values left out, looked up by their words. */
struct obs {
	struct memo val; /* coalition -> mean value */
	size_t n;        /* distinct coalitions */
	uint64_t *keys;  /* their words, in first-seen order */
};

static void obs_free(struct obs *o)
{
	memo_free(&o->val);
	free(o->keys);
}

static int obs_build(int m, const uint64_t *masks, const double *values, size_t n, struct obs *o,
                     struct err *e)
{
	size_t w = shapley_words(m);
	*o = (struct obs){.val = {.w = w}};
	struct memo cnt = {.w = w};
	o->keys = xcalloc(n * w + 1, sizeof *o->keys);
	for (size_t i = 0; i < n; i++) {
		const uint64_t *s = &masks[i * w];
		for (size_t k = 0; k < w; k++) {
			if (s[k] & ~word_mask(m, k)) {
				char hex[64];
				coal_hex(s, w, hex, sizeof hex);
				memo_free(&cnt);
				obs_free(o);
				return err_set(e,
				               "Shapley credit: coalition %s names a step beyond "
				               "the %d steps",
				               hex, m);
			}
		}
		if (isnan(values[i]))
			continue;
		bool fresh;
		*memo_slot(&o->val, s, &fresh) += values[i];
		*memo_slot(&cnt, s, &fresh) += 1;
		if (fresh)
			memcpy(&o->keys[o->n++ * w], s, w * sizeof *s);
	}
	for (size_t j = 0; j < o->n; j++) {
		bool fresh;
		*memo_slot(&o->val, &o->keys[j * w], &fresh) /= memo_get(&cnt, &o->keys[j * w]);
	}
	memo_free(&cnt);
	return 0;
}

static double obs_value(void *arg, const uint64_t *s)
{
	return memo_get(&((const struct obs *)arg)->val, s);
}

/* Adds s to out when it is not in had (and remembers it there). */
static void take(struct memo *had, const uint64_t *s, uint64_t **out, size_t *n, size_t *cap)
{
	bool fresh;
	memo_slot(had, s, &fresh);
	if (!fresh)
		return;
	*out = xgrow(*out, cap, (*n + 1) * had->w, sizeof **out);
	memcpy(*out + *n * had->w, s, had->w * sizeof *s);
	(*n)++;
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
	size_t w = shapley_words(m);
	struct memo had = {.w = w};
	bool fresh;
	for (size_t i = 0; i < n_have; i++)
		memo_slot(&had, &have[i * w], &fresh);
	uint64_t *out = NULL;
	size_t n = 0, cap = 0;
	if (method == SHAPLEY_EXACT) {
		for (uint64_t s = 0; s < (uint64_t)1 << m; s++)
			take(&had, &s, &out, &n, &cap);
	} else { /* the prefixes of the orderings shapley_permutation walks */
		struct rng r;
		rng_seed(&r, perm_seed);
		int *order = identity(m);
		uint64_t *s = xcalloc(w, sizeof *s);
		for (int p = 0; p < n_perm; p++) {
			next_ordering(order, m, p, &r);
			memset(s, 0, w * sizeof *s);
			take(&had, s, &out, &n, &cap);
			for (int k = 0; k < m; k++) {
				add(s, order[k]);
				take(&had, s, &out, &n, &cap);
			}
		}
		free(order);
		free(s);
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

/* The weighted least-squares system of an observed game. Its matrix depends only on which
 * coalitions were observed, so a bootstrap factors it once and solves once per resample.
 * With v(N) known, phi = delta/m + d with sum(d) = 0, d[m-1] eliminated: the regressors are
 * x_i = z_i - z_{m-1}, the target y = v'(S) - |S| delta / m, the ridge lambda |d|^2 over all m
 * players, lambda (I + 1 1^T) on the m-1 unknowns. With v(N) unknown, phi itself: x_i = z_i,
 * y = v'(S), the ridge lambda |phi - mean(phi)|^2, lambda (I - 1 1^T / m). v' is v less
 * v(empty), or the dual game when only v(N) was seen. */
struct kernel_sys {
	int m, k; /* players, unknowns */
	bool known_n, dual;
	uint64_t *ends; /* the empty and the full coalition, shapley_words(m) words each */
	double *l;      /* Cholesky factor of the (ridged) normal matrix, k x k */
	double *x;      /* the regressors, k per observed coalition (in the order of o->keys) */
	int *sz;        /* each coalition's size in the (dual) game */
	int *in;        /* the members of a coalition */
	struct shapley_fit fit;
};

static void kernel_sys_free(struct kernel_sys *ks)
{
	free(ks->ends);
	free(ks->l);
	free(ks->x);
	free(ks->sz);
	free(ks->in);
	*ks = (struct kernel_sys){0};
}

/* x (k regressors) for coalition s; returns its size in the (dual) game, 0 or m for the ends. */
static int kernel_row(struct kernel_sys *ks, const uint64_t *s, double *x)
{
	int m = ks->m, n_in = 0;
	for (int i = 0; i < m; i++)
		if (has(s, i) != ks->dual)
			ks->in[n_in++] = i;
	if (n_in == 0 || n_in == m)
		return n_in;
	int zl = ks->known_n && ks->in[n_in - 1] == m - 1;
	for (int i = 0; i < ks->k; i++)
		x[i] = -zl;
	for (int t = 0; t < n_in; t++)
		if (ks->in[t] < ks->k)
			x[ks->in[t]] += 1;
	return n_in;
}

static int kernel_factor(int m, const struct obs *o, struct kernel_sys *ks, struct err *e)
{
	size_t w = shapley_words(m);
	*ks = (struct kernel_sys){.m = m};
	ks->ends = xcalloc(2 * w, sizeof *ks->ends);
	for (size_t i = 0; i < w; i++)
		ks->ends[w + i] = word_mask(m, i);
	bool v0 = !isnan(memo_get(&o->val, ks->ends));
	bool vn = !isnan(memo_get(&o->val, ks->ends + w));
	if (!v0 && !vn) {
		kernel_sys_free(ks);
		return err_set(e, "Kernel SHAP needs the value of the all-incumbent or of the "
		                  "all-best configuration among the observations");
	}
	ks->known_n = v0 && vn;
	ks->dual = !v0;
	int k = ks->k = ks->known_n ? m - 1 : m;
	ks->fit = (struct shapley_fit){o->n, false, !ks->known_n};
	size_t kk = (size_t)k * (size_t)k + 1;
	double *a = xcalloc(kk, sizeof *a);
	ks->l = xcalloc(kk, sizeof *ks->l);
	ks->x = xcalloc(o->n * (size_t)k + 1, sizeof *ks->x);
	ks->sz = xcalloc(o->n + 1, sizeof *ks->sz);
	ks->in = xcalloc((size_t)m + 1, sizeof *ks->in);
	for (size_t j = 0; j < o->n; j++) {
		double *x = &ks->x[j * (size_t)k];
		int sz = ks->sz[j] = kernel_row(ks, &o->keys[j * w], x);
		if (sz == 0 || sz == m)
			continue;
		double wt = kernel_weight(m, sz);
		for (int i = 0; i < k; i++)
			for (int c = 0; c <= i && x[i] != 0; c++)
				a[(size_t)i * k + c] += wt * x[i] * x[c];
	}
	double maxd = 0;
	for (int i = 0; i < k; i++)
		maxd = MAX(maxd, a[(size_t)i * k + i]);
	memcpy(ks->l, a, sizeof(double) * kk);
	ks->fit.ridged = k > 0 && (maxd <= 0 || linalg_cholesky(ks->l, k, 1e-10 * maxd) < 0);
	int rc = 0;
	if (ks->fit.ridged) {
		double lambda = maxd > 0 ? 1e-6 * maxd : 1;
		memcpy(ks->l, a, sizeof(double) * kk);
		for (int i = 0; i < k; i++)
			for (int c = 0; c <= i; c++)
				ks->l[(size_t)i * k + c] +=
				    lambda * (ks->known_n ? 1.0 + (i == c) : (i == c) - 1.0 / m);
		if (linalg_cholesky(ks->l, k, 1e-12 * lambda) < 0) {
			rc =
			    err_set(e, ks->known_n ? "Kernel SHAP: the observations give no usable "
			                             "system (values not finite?)"
			                           : "Kernel SHAP: only one end of the game was "
			                             "evaluated; nothing to fit");
			kernel_sys_free(ks);
		}
	}
	free(a);
	return rc;
}

/* phi from the values of o, whose coalitions (and their order) are those ks was factored for. */
static int kernel_solve(struct kernel_sys *ks, const struct obs *o, double *phi, struct err *e)
{
	int m = ks->m, k = ks->k;
	size_t w = shapley_words(m);
	double v0 = memo_get(&o->val, ks->ends), vn = memo_get(&o->val, ks->ends + w);
	double delta = ks->known_n ? vn - v0 : 0;
	double *b = xcalloc((size_t)k + 1, sizeof *b);
	for (size_t j = 0; j < o->n; j++) {
		const uint64_t *s = &o->keys[j * w];
		int sz = ks->sz[j];
		if (sz == 0 || sz == m)
			continue;
		double val = ks->dual ? vn - obs_value((void *)o, s) : obs_value((void *)o, s) - v0;
		double wy = kernel_weight(m, sz) * (val - (ks->known_n ? sz * delta / m : 0));
		const double *x = &ks->x[j * (size_t)k];
		for (int i = 0; i < k; i++)
			b[i] += wy * x[i];
	}
	if (k > 0)
		linalg_cholesky_solve(ks->l, k, b);
	if (ks->known_n) {
		double rest = 0;
		for (int i = 0; i < k; i++) {
			phi[i] = delta / m + b[i];
			rest += b[i];
		}
		phi[k] = delta / m - rest;
	} else {
		memcpy(phi, b, sizeof(double) * (size_t)m);
	}
	free(b);
	for (int i = 0; i < m; i++)
		if (!isfinite(phi[i]))
			return err_set(e, "Kernel SHAP: observed values are not finite");
	return 0;
}

static int kernel_obs(int m, const struct obs *o, double *phi, struct shapley_fit *fit,
                      struct err *e)
{
	struct kernel_sys ks;
	if (kernel_factor(m, o, &ks, e) < 0)
		return -1;
	*fit = ks.fit;
	int rc = kernel_solve(&ks, o, phi, e);
	kernel_sys_free(&ks);
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

/* ks: kernel's system, factored on the first call and reused (the coalitions do not change
 * between resamples, only their values). */
static int estimate(int m, const struct obs *o, struct shapley_boot *opt, struct kernel_sys *ks,
                    double *phi, double *se, struct err *e)
{
	if (opt->method == SHAPLEY_KERNEL) {
		if (!ks->l && kernel_factor(m, o, ks, e) < 0)
			return -1;
		return kernel_solve(ks, o, phi, e);
	}
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
	size_t w = shapley_words(m);
	for (size_t c = 0; c < n_coal; c++)
		for (size_t j = 0; j < n_ex; j++)
			if (!isfinite(scores[c * n_ex + j])) {
				char hex[64];
				coal_hex(&masks[c * w], w, hex, sizeof hex);
				return err_set(e,
				               "Shapley bootstrap: coalition %s, example %zu: "
				               "score is not a finite number",
				               hex, j);
			}
	if (m == 0)
		return 0;
	int nb = opt->n_boot, rc = -1;
	double *means = xmalloc(sizeof(double) * (n_coal + 1));
	double *boot = xmalloc(sizeof(double) * (size_t)nb * (size_t)m);
	unsigned *cnt = xmalloc(sizeof(*cnt) * n_ex);
	double *mc = xcalloc((size_t)m, sizeof *mc); /* permutation: Monte Carlo error */
	struct kernel_sys ks = {0};
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
		if (obs_build(m, masks, means, n_coal, &o, e) < 0)
			goto out;
		int erc = estimate(m, &o, opt, &ks, b < 0 ? phi : boot + (size_t)b * m,
		                   b < 0 ? mc : NULL, e);
		obs_free(&o);
		if (erc < 0)
			goto out;
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
	opt->fit = ks.fit;
	rc = 0;
out:
	kernel_sys_free(&ks);
	free(means);
	free(boot);
	free(cnt);
	free(mc);
	return rc;
}

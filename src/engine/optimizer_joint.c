/* optimizer_joint.c: the `joint` step optimizer, the default (the paper's Table 3: joint beats
 * instruct): instruction and few-shot demonstrations together.  The instruction side is the
 * instruct rewrite role; the demonstration side chooses up to max_demos examples from the step's
 * supervised set: (input, pseudo-label) of bad cases whose pseudo-label differs from what the
 * step produced (a step found not at fault keeps its failed output as pseudo-label: no lesson in
 * it), and (input, output) of good cases.
 *
 * Representative, not random.  Two texts are alike by BM25 (core/bm25.h, stopwords dropped): the
 * score of one as a query against the other over its score against itself, averaged both ways,
 * in [0, 1].  The set prefers the cases the step got wrong: pseudo-labelled cases first, the
 * first of them the most typical failure (its local gradient most like the others'), each next
 * one the case whose local gradient is least like those already chosen (farthest first, so
 * distinct failure kinds are covered before a kind repeats), its input's novelty against the
 * inputs chosen counting half as much; good cases fill the places left, each the one whose input
 * is least like those chosen (the input variety).  Ties go by an order drawn from req->seed and
 * the step id.
 *
 * With budget b and a non-empty pool: b-1 rewrites are asked for (b when b == 1), each candidate
 * pairs one rewrite with a demo set, and the last slot (when b >= 2) keeps the incumbent
 * instruction with the first set, so the search can tell instruction gains from demo gains.
 * Candidate i starts its set from the i-th most typical failure, so sets differ whenever the
 * pool allows.  With an empty pool or max_demos == 0 it behaves as `instruct`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bm25.h"
#include "engine/optimizer.h"
#include "engine/roles.h"

#define INPUT_WEIGHT 0.5 /* input novelty against failure novelty, for pseudo-labelled cases */

struct pool {
	struct demo *d;     /* borrowed strings */
	const char **local; /* the local gradient of a pseudo-labelled case, else NULL */
	bool *pseudo;       /* the output is a pseudo-label */
	size_t n, n_pseudo;
	double *sim_in;    /* n x n: how alike the inputs are */
	double *sim_local; /* n x n: how alike the local gradients are (pseudo-labelled only) */
	double *typical;   /* per case: summed likeness of its local gradient to the others' */
	uint64_t *tie;     /* per case: the seeded tie-break order */
};

/* sim[i * n + j] in [0, 1]: how alike texts i and j are (see the top of the file). */
static double *similarity(const char *const *texts, size_t n)
{
	double *raw = xcalloc(n * n + 1, sizeof *raw), *sim = xcalloc(n * n + 1, sizeof *sim);
	size_t *idx = xcalloc(n + 1, sizeof *idx);
	double *sc = xcalloc(n + 1, sizeof *sc);
	struct bm25_opts o = {-1, -1, true};
	struct bm25 *bm = bm25_new_opts(texts, n, &o);
	for (size_t i = 0; i < n; i++) {
		size_t k = bm25_search(bm, texts[i], n, idx, sc);
		for (size_t t = 0; t < k; t++)
			raw[i * n + idx[t]] = sc[t];
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double a = raw[i * n + i] > 0 ? raw[i * n + j] / raw[i * n + i] : 0;
			double b = raw[j * n + j] > 0 ? raw[j * n + i] / raw[j * n + j] : 0;
			sim[i * n + j] = i == j ? 1 : MIN(1.0, (a + b) / 2);
		}
	bm25_free(bm);
	free(idx);
	free(sc);
	free(raw);
	return sim;
}

static void pool_build(const struct opt_request *req, struct pool *p)
{
	size_t cap = req->n_cases ? req->n_cases : 1;
	p->d = xcalloc(cap, sizeof *p->d);
	p->local = xcalloc(cap, sizeof *p->local);
	p->pseudo = xcalloc(cap, sizeof *p->pseudo);
	p->n = p->n_pseudo = 0;
	for (size_t i = 0; i < req->n_cases; i++) {
		const struct opt_case *c = &req->cases[i];
		const char *out = c->good ? c->output : c->pseudo;
		if (!c->input || !*c->input || !out || !*out)
			continue;
		/* a pseudo-label that repeats the failed output teaches nothing */
		if (!c->good && c->output && optimizer_same_text(out, c->output))
			continue;
		p->d[p->n] = (struct demo){(char *)c->input, (char *)out};
		p->local[p->n] = c->good ? NULL : c->local ? c->local : "";
		p->pseudo[p->n++] = !c->good;
		p->n_pseudo += !c->good;
	}
	p->sim_in = p->sim_local = p->typical = NULL;
	p->tie = NULL;
}

/* The likenesses and tie-breaks, once the pool is known to be used. */
static void pool_measure(const struct opt_request *req, struct pool *p)
{
	size_t n = p->n;
	const char **in = xcalloc(n + 1, sizeof *in), **loc = xcalloc(n + 1, sizeof *loc);
	for (size_t i = 0; i < n; i++) {
		in[i] = p->d[i].input;
		loc[i] = p->local[i] ? p->local[i] : "";
	}
	p->sim_in = similarity(in, n);
	p->sim_local = similarity(loc, n);
	p->typical = xcalloc(n + 1, sizeof *p->typical);
	p->tie = xcalloc(n + 1, sizeof *p->tie);
	struct rng r;
	const char *id = req->step && req->step->id ? req->step->id : "";
	rng_seed(&r, (uint64_t)req->seed ^ hash_bytes(id, strlen(id), 0x6a6f696e74ULL));
	for (size_t i = 0; i < n; i++) {
		p->tie[i] = rng_next(&r);
		for (size_t j = 0; j < n && p->pseudo[i]; j++)
			if (j != i && p->pseudo[j])
				p->typical[i] += p->sim_local[i * n + j];
	}
	free(in);
	free(loc);
}

static void pool_free(struct pool *p)
{
	free(p->d);
	free(p->local);
	free(p->pseudo);
	free(p->sim_in);
	free(p->sim_local);
	free(p->typical);
	free(p->tie);
}

static size_t demo_count(const struct opt_request *req, const struct pool *p)
{
	return req->max_demos > 0 ? MIN((size_t)req->max_demos, p->n) : 0;
}

static int rewrites_wanted(const struct opt_request *req, size_t k)
{
	if (req->budget <= 0)
		return 0;
	return k && req->budget >= 2 ? req->budget - 1 : req->budget;
}

static size_t joint_ask(const struct opt_request *req, char ***prompts)
{
	*prompts = NULL;
	struct pool p;
	pool_build(req, &p);
	int n = rewrites_wanted(req, demo_count(req, &p));
	pool_free(&p);
	if (n <= 0)
		return 0;
	struct err e = {{0}};
	char *text = optimizer_instruct_prompt(req, n, &e);
	if (!text)
		return 0;
	*prompts = xmalloc(sizeof **prompts);
	(*prompts)[0] = text;
	return 1;
}

/* Case a ranks before case b for the first place of a set: more typical, then the tie order. */
static bool more_typical(const struct pool *p, size_t a, size_t b)
{
	if (p->pseudo[a] != p->pseudo[b])
		return p->pseudo[a];
	if (p->typical[a] != p->typical[b])
		return p->typical[a] > p->typical[b];
	return p->tie[a] < p->tie[b];
}

/* 1 - the largest likeness of case x to a chosen one in sim (1 when none is chosen). */
static double novelty(const struct pool *p, const double *sim, size_t x, const size_t *set,
                      size_t k)
{
	double most = 0;
	for (size_t i = 0; i < k; i++)
		most = MAX(most, sim[x * p->n + set[i]]);
	return 1 - most;
}

/* How well case x would continue a set of `got`: failure novelty (pseudo-labelled cases, of
 * which any beats a good run) plus input novelty. */
static double continue_score(const struct pool *p, size_t x, const size_t *set, size_t got)
{
	double score = novelty(p, p->sim_in, x, set, got);
	if (!p->pseudo[x])
		return score;
	size_t nl = 0, *chosen = xcalloc(got + 1, sizeof *chosen);
	for (size_t i = 0; i < got; i++)
		if (p->pseudo[set[i]])
			chosen[nl++] = set[i];
	score = 2 + novelty(p, p->sim_local, x, chosen, nl) + INPUT_WEIGHT * score;
	free(chosen);
	return score;
}

/* Fills set with k pool indices (see the top of the file).  Variant v starts from the
 * (v mod F)-th most typical failure (F: the pseudo-labelled cases, or all) and takes the
 * (v / F)-th best second case; v = 0 is the most representative set. */
static void pick_set(const struct pool *p, size_t k, size_t variant, size_t *set)
{
	size_t n = p->n, n_first = p->n_pseudo ? p->n_pseudo : n;
	size_t *order = xcalloc(n + 1, sizeof *order);
	for (size_t i = 0; i < n; i++) { /* insertion sort, most typical first */
		size_t j = i;
		for (; j > 0 && more_typical(p, i, order[j - 1]); j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	bool *used = xcalloc(n + 1, sizeof *used), *skip = xcalloc(n + 1, sizeof *skip);
	set[0] = order[variant % n_first];
	used[set[0]] = true;
	free(order);
	for (size_t got = 1; got < k; got++) {
		size_t rank = got == 1 ? (variant / n_first) % (n - 1) : 0;
		long best = -1;
		memset(skip, 0, (n + 1) * sizeof *skip);
		for (size_t r = 0; r <= rank; r++) {
			best = -1;
			double best_score = 0;
			for (size_t x = 0; x < n; x++) {
				if (used[x] || skip[x])
					continue;
				double score = continue_score(p, x, set, got);
				if (best < 0 || score > best_score ||
				    (score == best_score && p->tie[x] < p->tie[best]))
					best = (long)x, best_score = score;
			}
			skip[best] = true;
		}
		set[got] = (size_t)best;
		used[best] = true;
	}
	free(used);
	free(skip);
}

static bool same_set(const size_t *a, const size_t *b, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		bool found = false;
		for (size_t j = 0; j < k && !found; j++)
			found = a[i] == b[j];
		if (!found)
			return false;
	}
	return true;
}

/* Candidate i's set: its own variant, or the next variant whose set is new when that one was
 * taken (the first set again when the pool allows no new one). */
static void choose_set(const struct pool *p, size_t k, size_t i, size_t *sets)
{
	size_t *set = sets + i * k;
	for (size_t v = i; v < i + p->n * p->n; v++) {
		pick_set(p, k, v, set);
		bool fresh = true;
		for (size_t u = 0; u < i && fresh; u++)
			fresh = !same_set(sets + u * k, set, k);
		if (fresh)
			return;
	}
	pick_set(p, k, 0, set);
}

static void set_demos(struct candidate *c, const struct pool *p, const size_t *set, size_t k)
{
	c->demos = xcalloc(k, sizeof *c->demos);
	c->n_demos = k;
	size_t n_pseudo = 0;
	for (size_t i = 0; i < k; i++) {
		c->demos[i].input = xstrdup(p->d[set[i]].input);
		c->demos[i].output = xstrdup(p->d[set[i]].output);
		n_pseudo += p->pseudo[set[i]];
	}
	char *old = c->note;
	size_t n_good = k - n_pseudo;
	char pseudo[96] = "", good[64] = "";
	if (n_pseudo)
		snprintf(pseudo, sizeof pseudo, "%zu pseudo-label%s, distinct failures first",
		         n_pseudo, n_pseudo == 1 ? "" : "s");
	if (n_good)
		snprintf(good, sizeof good, "%zu good run%s, varied inputs", n_good,
		         n_good == 1 ? "" : "s");
	c->note = xasprintf("%s + %zu demonstration%s (%s%s%s)", old, k, k == 1 ? "" : "s", pseudo,
	                    n_pseudo && n_good ? "; " : "", good);
	free(old);
}

static size_t joint_make(const struct opt_request *req, const char *const *answers,
                         size_t n_answers, struct candidate **out)
{
	*out = NULL;
	if (req->budget <= 0)
		return 0;
	struct pool p;
	pool_build(req, &p);
	size_t k = demo_count(req, &p);
	int want = rewrites_wanted(req, k);
	char **rw;
	size_t n_rw = optimizer_parse_rewrites(req, answers, n_answers, (size_t)want, &rw);
	bool demo_only = k && req->budget >= 2;
	size_t n = n_rw + demo_only;
	struct candidate *c = n ? xcalloc(n, sizeof *c) : NULL;
	size_t *sets = k && n ? xcalloc(n * k, sizeof *sets) : NULL;
	if (k && n)
		pool_measure(req, &p);
	for (size_t i = 0; i < n; i++) {
		bool rewrite = i < n_rw;
		c[i].prompt = rewrite ? rw[i] : xstrdup(req->prompt ? req->prompt : "");
		c[i].optimizer = xstrdup("joint");
		c[i].note = rewrite ? xasprintf("instruction rewrite %zu of %zu", i + 1, n_rw)
		                    : xstrdup("current instruction");
		if (k) {
			/* the demo-only slot takes the first set, beside the first rewrite */
			if (rewrite)
				choose_set(&p, k, i, sets);
			else
				pick_set(&p, k, 0, sets + i * k);
			set_demos(&c[i], &p, sets + i * k, k);
		} else {
			c[i].demos = demos_dup(req->demos, req->n_demos);
			c[i].n_demos = req->demos ? req->n_demos : 0;
		}
	}
	free(rw);
	free(sets);
	pool_free(&p);
	*out = c;
	return n;
}

const struct step_optimizer optimizer_joint = {
    .name = "joint",
    .help = "rewrite the instruction and choose demonstrations from good runs and pseudo-labels",
    .ask = joint_ask,
    .make = joint_make,
};

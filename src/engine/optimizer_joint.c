/* optimizer_joint.c: the `joint` step optimizer: instruction and few-shot demonstrations
 * together.  The instruction side is the instruct rewrite role; the demonstration side draws up
 * to max_demos examples from the step's supervised set: (input, output) of good cases and
 * (input, pseudo-label) of bad ones whose pseudo-label differs from what the step produced (a
 * step found not at fault keeps its failed output as pseudo-label: no lesson in it).
 *
 * With budget b and a non-empty demo pool: b-1 rewrites are asked for (b when b == 1), each
 * candidate pairs one rewrite with its own demo set, and the last slot (when b >= 2) keeps the
 * incumbent instruction with a new demo set, so the search can tell instruction gains from demo
 * gains.  Demo sets are drawn with a PRNG seeded from req->seed and the step id (same request,
 * same candidates) and differ from each other whenever the pool allows.  With an empty pool or
 * max_demos == 0 it behaves as `instruct`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/optimizer.h"
#include "engine/roles.h"

#define DRAW_TRIES 16 /* redraws to find a demo set not used yet */

struct pool {
	struct demo *d; /* borrowed strings */
	bool *pseudo;   /* the output is a pseudo-label */
	size_t n;
};

static void pool_build(const struct opt_request *req, struct pool *p)
{
	p->d = xcalloc(req->n_cases ? req->n_cases : 1, sizeof *p->d);
	p->pseudo = xcalloc(req->n_cases ? req->n_cases : 1, sizeof *p->pseudo);
	p->n = 0;
	for (size_t i = 0; i < req->n_cases; i++) {
		const struct opt_case *c = &req->cases[i];
		const char *out = c->good ? c->output : c->pseudo;
		if (!c->input || !*c->input || !out || !*out)
			continue;
		/* a pseudo-label that repeats the failed output teaches nothing */
		if (!c->good && c->output && optimizer_same_text(out, c->output))
			continue;
		p->d[p->n] = (struct demo){(char *)c->input, (char *)out};
		p->pseudo[p->n++] = !c->good;
	}
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
	free(p.d);
	free(p.pseudo);
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

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Draws k distinct pool indices into set (sorted), trying not to repeat one of the `used`
 * sets (each k long). */
static void draw_set(struct rng *r, size_t n, size_t k, size_t *set, const size_t *used,
                     size_t n_used)
{
	size_t *perm = xmalloc(n * sizeof *perm);
	for (int t = 0; t < DRAW_TRIES; t++) {
		for (size_t i = 0; i < n; i++)
			perm[i] = i;
		for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
			size_t j = i + (size_t)rng_below(r, n - i);
			size_t tmp = perm[i];
			perm[i] = perm[j];
			perm[j] = tmp;
		}
		memcpy(set, perm, k * sizeof *set);
		qsort(set, k, sizeof *set, cmp_size);
		bool fresh = true;
		for (size_t u = 0; u < n_used && fresh; u++)
			fresh = memcmp(used + u * k, set, k * sizeof *set) != 0;
		if (fresh)
			break;
	}
	free(perm);
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
	c->note = xasprintf("%s + %zu demonstration%s (%zu from good runs, %zu pseudo-labels)", old,
	                    k, k == 1 ? "" : "s", k - n_pseudo, n_pseudo);
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
	struct rng r;
	const char *id = req->step && req->step->id ? req->step->id : "";
	rng_seed(&r, (uint64_t)req->seed ^ hash_bytes(id, strlen(id), 0x6a6f696e74ULL));
	for (size_t i = 0; i < n; i++) {
		bool rewrite = i < n_rw;
		c[i].prompt = rewrite ? rw[i] : xstrdup(req->prompt ? req->prompt : "");
		c[i].optimizer = xstrdup("joint");
		c[i].note = rewrite ? xasprintf("instruction rewrite %zu of %zu", i + 1, n_rw)
		                    : xstrdup("current instruction");
		if (k) {
			draw_set(&r, p.n, k, sets + i * k, sets, i);
			set_demos(&c[i], &p, sets + i * k, k);
		} else {
			c[i].demos = demos_dup(req->demos, req->n_demos);
			c[i].n_demos = req->demos ? req->n_demos : 0;
		}
	}
	free(rw);
	free(sets);
	free(p.d);
	free(p.pseudo);
	*out = c;
	return n;
}

const struct step_optimizer optimizer_joint = {
    .name = "joint",
    .help = "rewrite the instruction and choose demonstrations from good runs and pseudo-labels",
    .ask = joint_ask,
    .make = joint_make,
};

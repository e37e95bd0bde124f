/* screening.c: requests per iteration and the configuration chosen, with and without
 * selection's screening (optimizer.screen_size), on generated chains with a known best
 * configuration, through the scripted provider (in process: requests are counted, not timed).
 *
 * Each seed generates an m-step chain (default 12) that passes a word along, 300 validation
 * examples, and for each step one candidate ("Word only." before its prompt).  A step is, drawn
 * with the seed: lossy (its incumbent loses the word on 1 input in r, r in 3..8, and its
 * candidate does not), harmful (its candidate loses the word on 1 in r) or neutral (the
 * candidate answers as the incumbent does).  The best configuration takes the candidate of
 * every lossy step and keeps the incumbent of every harmful one (neutral steps do not matter).
 * One iteration runs with screening off and once with it on; the benchmark reports the
 * requests of each, whether both chose the same configuration, the same full-sample score, and
 * how often each chose a best configuration; and the requests of the incumbent alone on the whole
 * sample, which a later iteration does not pay when the memo or the response cache holds them.
 *
 *   screening [--steps M] [--seeds N | --seed N] [--val N] [--screen N] [--eval-budget N]
 *             [--steady 0|1] [--trace 1] [--errors request|example] [--iterations 1|2]
 *
 * With --iterations 2 a lossy step's candidate halves its losses and a second rewrite ends
 * them, so the second iteration has something left to improve; it is the one measured (its
 * incumbent is the first's proposal, whose whole-sample run the memo holds), and a best outcome
 * is the prompts after both: every lossy step rewritten twice, no harmful one rewritten. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "engine/engine.h"
#include "engine/run.h"

enum kind { NEUTRAL, LOSSY, HARMFUL };

struct chain {
	int m, n_val, screen, eval_budget, steady, trace;
	bool by_example; /* a step's losses follow the example's word, not the whole request */
	int iterations;  /* 2: a lossy step's first rewrite halves its losses, the second ends them
	                  */
	enum kind kind[64];
	int rate[64];
};

static const char *const words[] = {"apple",  "river",  "candle", "garden", "silver",  "thunder",
                                    "pepper", "harbor", "window", "meadow", "lantern", "copper",
                                    "falcon", "marble", "orchid", "saddle", "tunnel"};

/* A candidate's answers end with a full stop (gone after the metric's normalisation), so that
 * the steps after a changed one see other inputs, as they would with a real model.  Which
 * inputs a step loses is drawn from the hash of the whole request (`--errors request`: any
 * change before it re-draws them) or of the step and the example's word (`--errors example`:
 * the same examples whatever the steps before it said, as a real model's errors follow what it
 * finds hard). */
static void lossy_replies(cJSON *R, const struct chain *c, const char *match, const char *tag,
                          int r, const char *word)
{
	const char *rep[20];
	for (int i = 0; i < r; i++)
		rep[i] = i == r - 1 ? "none" : word;
	rep[r] = NULL;
	bench_add_rule(R, match, NULL, rep, 0);
	if (c->by_example)
		cJSON_AddStringToObject(cJSON_GetArrayItem(R, cJSON_GetArraySize(R) - 1), "pick",
		                        tag);
}

static void write_rules(const char *path, const struct chain *c)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	bench_add_rule(R,
	               "(?s)improving the prompt of one "
	               "step.*?<current_prompt>\\n(?<p>.*?)\\n</current_prompt>",
	               "<prompt>Word only.\n${p}</prompt>", NULL, 0);
	bench_add_role_rules(R, "<summary>The steps pass one word along to the answer.</summary>");
	char re[160], tag[40];
	/* w: what the step passes on; k: the example's word, without a full stop */
	const char *word = "(?:Text: Item \\d+: |Word: )(?<w>(?<k>[^\\s.]+)\\S*)";
	for (int k = 0; k < c->m; k++) {
		if (c->kind[k] != HARMFUL)
			continue;
		snprintf(re, sizeof re, "(?s)^(?:Word only\\.\\n)+Step S%02d\\..*?%s", k + 1, word);
		snprintf(tag, sizeof tag, "candidate S%02d ${k}", k + 1);
		lossy_replies(R, c, re, tag, c->rate[k], "${w}.");
	}
	for (int k = 0; c->iterations > 1 && k < c->m; k++) {
		if (c->kind[k] != LOSSY) /* rewritten once: half the losses; twice: none (below) */
			continue;
		snprintf(re, sizeof re, "(?s)^Word only\\.\\nStep S%02d\\..*?%s", k + 1, word);
		snprintf(tag, sizeof tag, "once S%02d ${k}", k + 1);
		lossy_replies(R, c, re, tag, 2 * c->rate[k], "${w}.");
	}
	snprintf(re, sizeof re, "(?s)^(?:Word only\\.\\n)+Step S\\d+\\..*?%s", word);
	bench_add_rule(R, re, "${w}.", NULL, 0);
	for (int k = 0; k < c->m; k++) {
		if (c->kind[k] != LOSSY)
			continue;
		snprintf(re, sizeof re, "(?s)^Step S%02d\\..*?%s", k + 1, word);
		snprintf(tag, sizeof tag, "S%02d ${k}", k + 1);
		lossy_replies(R, c, re, tag, c->rate[k], "${w}");
	}
	snprintf(re, sizeof re, "(?s)^Step S\\d+\\..*?%s", word);
	bench_add_rule(R, re, "${w}", NULL, 0);
	cJSON_AddStringToObject(root, "fallback", "none");
	bench_write_json(path, root);
}

static void add_examples(cJSON *ds, const char *split, int n, int first)
{
	cJSON *a = cJSON_AddArrayToObject(ds, split);
	for (int i = first; i < first + n; i++) {
		char id[32], q[64],
		    w[40]; /* a word of its own, so no two examples share a request */
		snprintf(w, sizeof w, "%s%d", words[(size_t)i * 7 % ARRAY_SIZE(words)], i);
		snprintf(id, sizeof id, "%s%d", split, i);
		snprintf(q, sizeof q, "Item %d: %s", i, w);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		cJSON_AddItemToArray(a, e);
	}
}

static void write_session(const char *path, const struct chain *c, unsigned seed, int screen)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "bench-screening");
	cJSON *task = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "models"), "task");
	cJSON_AddStringToObject(task, "provider", "scripted");
	cJSON_AddStringToObject(task, "rules", "rules.json");
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	for (int k = 0; k < c->m; k++) {
		char id[16], from[40], prompt[96];
		snprintf(id, sizeof id, "s%02d", k + 1);
		snprintf(from, sizeof from, "steps.s%02d.output", k);
		snprintf(prompt, sizeof prompt,
		         "Step S%02d. Pass the word on.\n%s: {{x}}\nOutput:", k + 1,
		         k ? "Word" : "Text");
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", id);
		cJSON_AddStringToObject(s, "type", "llm");
		cJSON_AddStringToObject(s, "model", "task");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "x",
		                        k ? from : "input.question");
		cJSON_AddStringToObject(s, "prompt", prompt);
		cJSON_AddItemToArray(steps, s);
	}
	char out[16];
	snprintf(out, sizeof out, "s%02d", c->m);
	cJSON_AddStringToObject(pl, "output", out);
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	add_examples(ds, "train", 50, 1);
	add_examples(ds, "val", c->n_val, 1001);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", seed);
	cJSON_AddNumberToObject(o, "batch_size", 50);
	cJSON_AddNumberToObject(o, "val_size", c->n_val);
	cJSON_AddNumberToObject(o, "budget_total", c->m);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	cJSON_AddNumberToObject(o, "eval_budget", c->eval_budget);
	cJSON_AddNumberToObject(o, "screen_size", screen);
	cJSON_AddBoolToObject(o, "steady_stop", c->steady);
	cJSON_AddStringToObject(o, "step_optimizer", "instruct"); /* what the rules answer */
	cJSON_AddStringToObject(o, "role_model", "task");
	bench_write_json(path, root);
}

struct result {
	double turn_max_ms; /* the longest turn of the loop (llm_wait + engine_poll), CPU time */
	long requests, selection, shapley; /* of the last iteration */
	long earlier;                      /* requests of the iterations before it */
	int prefixes[64]; /* after the run: the "Word only." lines before each step's prompt */
	long projected;   /* selection and Shapley's projected requests (made before each ran) */
	int choice[64];
	double best;
	size_t in_full;
	long saved;
	double wall;
	size_t configs;   /* configurations evaluated, on any number of examples */
	const char *stop; /* why the search stopped before its budget, or "" */
	char rungs[96];   /* screened: "17/6/3/2", configurations that ran on each rung */
};

/* This thread's CPU time: a turn of the loop that sleeps in poll costs none of it. */
static double bench_thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_one(const char *dir, const struct chain *c, unsigned seed, int screen,
                   struct result *res)
{
	char *rules = xasprintf("%s/rules.json", dir), *path = xasprintf("%s/session.json", dir);
	write_rules(rules, c);
	write_session(path, c, seed, screen);
	int rc = -1;
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	struct err e = {{0}};
	struct llm_options lo = {.no_cache = true, .seed = 3};
	struct llm *l = s ? llm_new(&lo, &e) : NULL;
	/* the workbench's way: a phase's projection made in a copy beside the loop (headless runs
	 * make it on the loop, where no key waits: 45-75 ms in the turn that starts selection) */
	struct engine_opts eo = {.auto_accept = true, .project_beside = true};
	struct engine *en = l ? engine_new(s, l, &eo, NULL, NULL, &e) : NULL;
	double t0 = now_s();
	struct llm_stats st;
	for (int i = 0; i < c->iterations; i++) {
		llm_get_stats(l, &st);
		res->earlier = st.done + st.failed;
		if (!en || engine_run(en, 1) < 0)
			goto out;
		while (engine_running(en)) {
			double c0 = bench_thread_cpu_ms();
			if (engine_busy(en) && llm_wait(l, NULL, 0, 250) < 0)
				goto out;
			engine_poll(en);
			res->turn_max_ms = MAX(res->turn_max_ms, bench_thread_cpu_ms() - c0);
		}
	}
	for (int k = 0; k < c->m; k++)
		for (const char *p = s->steps[k].prompt; !strncmp(p, "Word only.\n", 11); p += 11)
			res->prefixes[k]++;
	const struct iteration *it = engine_current(en);
	if (!it || it->phase < PHASE_COUNT || it->best_eval < 0) {
		fprintf(stderr, "seed %u: the iteration did not finish (%s)\n", seed,
		        engine_pause_reason(en) ? engine_pause_reason(en) : "?");
		goto out;
	}
	res->wall = now_s() - t0;
	llm_get_stats(l, &st);
	res->requests = st.done + st.failed - res->earlier;
	res->selection = it->cost[PHASE_SELECTION].calls;
	res->shapley = it->cost[PHASE_SHAPLEY].calls;
	res->projected =
	    it->cost[PHASE_SELECTION].projected_calls + it->cost[PHASE_SHAPLEY].projected_calls;
	memcpy(res->choice, it->evals[it->best_eval].choice, (size_t)c->m * sizeof(int));
	res->best = it->best_score;
	res->in_full = it->n_evals;
	res->saved = it->screen_saved;
	res->configs = it->n_screen ? it->n_screened : it->n_evals;
	res->stop = it->search_end ? it->search_end : "-";
	for (size_t n = it->n_screen, at = 0; n && at + 8 < sizeof res->rungs;
	     n = iteration_next_rung(it, n)) {
		at += (size_t)snprintf(res->rungs + at, sizeof res->rungs - at, "%s%zu",
		                       at ? "/" : "", iteration_screened_on(it, n));
		if (n >= it->n_val)
			break;
	}
	if (c->trace) { /* each configuration in the order it was evaluated, on stderr */
		const struct evaluation *ev = it->n_screen ? it->screened : it->evals;
		size_t n = it->n_screen ? it->n_screened : it->n_evals;
		for (size_t k = 0; k < n; k++) {
			fprintf(stderr, "  seed %u %s %2zu ", seed, screen ? "screened" : "full",
			        k);
			for (int i = 0; i < c->m; i++)
				fputc('0' + ev[k].choice[i], stderr);
			fprintf(stderr, " %.3f on %zu examples\n", ev[k].score,
			        it->n_screen ? it->screen_n[k] : it->n_val);
		}
	}
	rc = 0;
out:
	engine_free(en);
	llm_free(l);
	session_free(s);
	free(rules);
	free(path);
	return rc;
}

/* The requests of the incumbent on the whole validation sample alone (its own LLM layer and
 * runner, nothing memoized or cached): what an iteration does not pay when the memo or the
 * response cache still holds that run (the last iteration's proposal, val_resample off). */
static long incumbent_requests(const char *dir, const struct chain *c, unsigned seed)
{
	char *rules = xasprintf("%s/rules.json", dir), *path = xasprintf("%s/session.json", dir);
	write_rules(rules, c);
	write_session(path, c, seed, 0);
	long n = -1;
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	diag_free(&d);
	struct err e = {{0}};
	struct llm_options lo = {.no_cache = true, .seed = 3};
	struct llm *l = s ? llm_new(&lo, &e) : NULL;
	struct runner *r = l ? runner_new(s, l, false) : NULL;
	size_t *idx = xcalloc((size_t)c->n_val, sizeof *idx);
	for (int i = 0; i < c->n_val; i++)
		idx[i] = (size_t)i;
	struct run_batch *b =
	    r ? runner_start(r, NULL, SPLIT_VAL, idx, (size_t)c->n_val, "select", NULL) : NULL;
	while (b && !run_batch_done(b))
		if (llm_wait(l, NULL, 0, 250) < 0)
			break;
	if (b && run_batch_done(b)) {
		struct llm_stats st;
		llm_get_stats(l, &st);
		n = st.done + st.failed;
	}
	run_batch_free(b);
	runner_free(r);
	llm_free(l);
	session_free(s);
	free(idx);
	free(rules);
	free(path);
	return n;
}

/* One iteration: the configuration takes every lossy step's candidate and no harmful one's.
 * Two: the prompts after both are a best configuration's, every lossy step rewritten twice and
 * no harmful one rewritten. */
static bool is_best(const struct chain *c, const struct result *r)
{
	for (int k = 0; k < c->m; k++) {
		int lossy = c->iterations > 1 ? r->prefixes[k] != 2 : r->choice[k] != 1;
		int harmful = c->iterations > 1 ? r->prefixes[k] != 0 : r->choice[k] != 0;
		if ((c->kind[k] == LOSSY && lossy) || (c->kind[k] == HARMFUL && harmful))
			return false;
	}
	return true;
}

/* The same choice: one iteration, the same configuration; two, the same prompts after both. */
static bool same_choice(const struct chain *c, const struct result *a, const struct result *b)
{
	return c->iterations > 1 ? !memcmp(a->prefixes, b->prefixes, (size_t)c->m * sizeof(int))
	                         : !memcmp(a->choice, b->choice, (size_t)c->m * sizeof(int));
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct chain c = {
	    .m = 12, .n_val = 300, .screen = 30, .eval_budget = 18, .steady = 1, .iterations = 1};
	int seeds = 20, first = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		int v = atoi(argv[i + 1]);
		if (!strcmp(argv[i], "--steps"))
			c.m = v < 2 ? 2 : v > 40 ? 40 : v;
		else if (!strcmp(argv[i], "--seeds"))
			seeds = v < 1 ? 1 : v;
		else if (!strcmp(argv[i], "--seed")) /* that seed only */
			first = seeds = v < 1 ? 1 : v;
		else if (!strcmp(argv[i], "--val"))
			c.n_val = v;
		else if (!strcmp(argv[i], "--screen"))
			c.screen = v;
		else if (!strcmp(argv[i], "--eval-budget"))
			c.eval_budget = v;
		else if (!strcmp(argv[i], "--steady")) /* 0: the search runs its whole budget */
			c.steady = v;
		else if (!strcmp(argv[i], "--trace")) /* 1: every configuration, in order */
			c.trace = v;
		else if (!strcmp(argv[i], "--errors")) /* request (default) or example */
			c.by_example = !strcmp(argv[i + 1], "example");
		else if (!strcmp(argv[i], "--iterations")) /* 2: the second one is measured */
			c.iterations = v < 1 ? 1 : v > 2 ? 2 : v;
	}
	printf("screening: m = %d, %d validation examples, eval_budget %d, screen_size %d, %d "
	       "seeded chains, scripted model, errors following the %s%s\n",
	       c.m, c.n_val, c.eval_budget, c.screen, seeds - first + 1,
	       c.by_example ? "example" : "request",
	       c.iterations > 1 ? "; the second of two iterations measured (requests: the "
	                          "second's; incumbent: the first's whole-sample run)"
	                        : "");
	printf("  %4s %-*s %8s %8s %6s %8s %8s %5s %6s %6s\n", "seed", c.m, "kinds", "full req",
	       "scr req", "ratio", "full sel", "scr sel", "same", "best F", "best S");
	char *dir = bench_tmpdir("screening");
	long *req[3] = {xcalloc((size_t)seeds, sizeof(long)), xcalloc((size_t)seeds, sizeof(long)),
	                xcalloc((size_t)seeds, sizeof(long))};
	int same = 0, same_score = 0, best[2] = {0, 0}, done = 0;
	double turns[2] = {0, 0};
	for (int sd = first; sd <= seeds; sd++) {
		struct rng r;
		rng_seed(&r, (uint64_t)sd * 7919u);
		char kinds[65];
		bool any = false;
		for (int k = 0; k < c.m; k++) {
			uint64_t x = rng_below(&r, 12);
			c.kind[k] = x < 4 ? LOSSY : x < 7 ? HARMFUL : NEUTRAL;
			c.rate[k] = 3 + (int)rng_below(&r, 6);
			any |= c.kind[k] == LOSSY;
			kinds[k] = "nlh"[c.kind[k]];
		}
		if (!any)
			c.kind[0] = LOSSY, kinds[0] = 'l';
		kinds[c.m] = 0;
		struct result f = {0}, s = {0};
		long inc = incumbent_requests(dir, &c, (unsigned)sd);
		if (inc < 0 || run_one(dir, &c, (unsigned)sd, 0, &f) < 0 ||
		    run_one(dir, &c, (unsigned)sd, c.screen, &s) < 0) {
			printf("  %4d: failed\n", sd);
			continue;
		}
		bool eq = same_choice(&c, &f, &s);
		same += eq;
		same_score += f.best == s.best;
		best[0] += is_best(&c, &f);
		best[1] += is_best(&c, &s);
		req[0][done] = f.requests;
		req[1][done] = s.requests;
		req[2][done] = s.requests - inc;
		done++;
		printf("  %4d %s %8ld %8ld %5.2fx %8ld %8ld %5s %6s %6s  (%zu in full, ~%ld saved; "
		       "incumbent %ld; val %.3f / %.3f; %zu / %zu configurations, stopped %s / %s; "
		       "longest turn %.0f / %.0f ms; selection and Shapley projected %ld / %ld; "
		       "rungs %s)\n",
		       sd, kinds, f.requests, s.requests, (double)s.requests / (double)f.requests,
		       f.selection + f.shapley, s.selection + s.shapley, eq ? "yes" : "NO",
		       is_best(&c, &f) ? "yes" : "no", is_best(&c, &s) ? "yes" : "no", s.in_full,
		       s.saved, inc, f.best, s.best, f.configs, s.configs, f.stop, s.stop,
		       f.turn_max_ms, s.turn_max_ms, f.projected, s.projected, s.rungs);
		turns[0] = MAX(turns[0], f.turn_max_ms), turns[1] = MAX(turns[1], s.turn_max_ms);
		fflush(stdout);
	}
	if (done) {
		qsort(req[0], (size_t)done, sizeof(long), cmp_long);
		qsort(req[1], (size_t)done, sizeof(long), cmp_long);
		qsort(req[2], (size_t)done, sizeof(long), cmp_long);
		printf("  requests per iteration, median (min..max): full %ld (%ld..%ld), screened "
		       "%ld (%ld..%ld) (target <= 6000: %s)\n",
		       req[0][done / 2], req[0][0], req[0][done - 1], req[1][done / 2], req[1][0],
		       req[1][done - 1], req[1][done / 2] <= 6000 ? "met" : "MISSED");
		if (c.iterations == 1)
			printf(
			    "  screened, less the incumbent's whole-sample run (a later "
			    "iteration's, when the memo or cache holds it): %ld (%ld..%ld) (target "
			    "<= 6000: %s)\n",
			    req[2][done / 2], req[2][0], req[2][done - 1],
			    req[2][done / 2] <= 6000 ? "met" : "MISSED");
		printf("  same %s as the full evaluation: %d of %d (%.0f%%, target >= 95%%: %s); "
		       "same full-sample score %d of %d; a best %s: full %d, screened %d\n",
		       c.iterations > 1 ? "prompts after both iterations" : "configuration", same,
		       done, 100.0 * same / done, same * 100 >= 95 * done ? "met" : "MISSED",
		       same_score, done,
		       c.iterations > 1 ? "outcome (prompts)" : "configuration chosen", best[0],
		       best[1]);
		printf(
		    "  longest turn of the loop (thread CPU ms, llm_wait + engine_poll, scripted "
		    "answers included): full %.0f, screened %.0f (target <= 50: %s)\n",
		    turns[0], turns[1], MAX(turns[0], turns[1]) <= 50 ? "met" : "MISSED");
	}
	free(req[0]);
	free(req[1]);
	free(req[2]);
	bench_rmdir(dir);
	free(dir);
	return done == seeds - first + 1 ? 0 : 1;
}

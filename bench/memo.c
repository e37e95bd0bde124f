/* memo.c: benchmark of the runner's memory over iterations (src/engine/run.c, its memo).
 *
 * A 4-step chain (a -> b -> c -> d) on the scripted model (answers of about 650 bytes), with
 * a response cache, 300 validation examples.  Each "iteration" makes one new candidate prompt per
 * step and evaluates 12 configurations on the whole validation split through one runner, as
 * selection does: the incumbent, each single change, all changed, and five seeded mixes.  After
 * each iteration it reports the heap in use (mallinfo2: arena and mmapped bytes) and the runner's
 * memo hits; the growth per iteration is the slope from iteration 10 to the last.
 *
 *   memo [--iterations N] [--no-cache]      (default 40 iterations, with a response cache) */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "engine/run.h"

#define STEPS   4
#define N_VAL   300
#define CONFIGS 12

static const char *const base[STEPS] = {
    "Step A. Find the word in the text.\nText: {{x}}\nOutput:",
    "Step B. Copy the word.\nWord: {{x}}\nOutput:",
    "Step C. Check the word.\nWord: {{x}}\nOutput:",
    "Step D. Write the answer.\nWord: {{x}}\nAnswer:",
};

static void write_files(const char *dir, char *session, size_t size)
{
	char rules[512];
	snprintf(rules, sizeof rules, "%s/rules.json", dir);
	cJSON *rr = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(rr, "rules");
	/* the word first, then a paragraph (answers of a few hundred bytes, as real steps give);
	 * a revised prompt's answer says so, so that the steps after it see new inputs */
	char filler[700] = "";
	while (strlen(filler) < 600)
		strcat(filler, " The word was found in the text and is passed on unchanged.");
	char *rev = xasprintf("${w}\nRevision ${r}.%s", filler),
	     *plain = xasprintf("${w}\n%s", filler);
	bench_add_rule(R, "(?s)(?:Text: Item \\d+: |Word: )(?<w>\\w+).*?revision (?<r>\\d+)", rev,
	               NULL, 0);
	bench_add_rule(R, "(?s)(?:Text: Item \\d+: |Word: )(?<w>\\w+)", plain, NULL, 0);
	free(rev);
	free(plain);
	bench_write_json(rules, rr);

	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "bench-memo");
	cJSON *m = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "models"), "task");
	cJSON_AddStringToObject(m, "provider", "scripted");
	cJSON_AddStringToObject(m, "rules", rules);
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	static const char *const from[STEPS] = {"input.question", "steps.a.output",
	                                        "steps.b.output", "steps.c.output"};
	for (int i = 0; i < STEPS; i++) {
		cJSON *s = cJSON_CreateObject();
		char id[2] = {(char)('a' + i), 0};
		cJSON_AddStringToObject(s, "id", id);
		cJSON_AddStringToObject(s, "type", "llm");
		cJSON_AddStringToObject(s, "model", "task");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), "x", from[i]);
		cJSON_AddStringToObject(s, "prompt", base[i]);
		cJSON_AddItemToArray(steps, s);
	}
	cJSON_AddStringToObject(pl, "output", "d");
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	for (int sp = 0; sp < 2; sp++) {
		cJSON *a = cJSON_AddArrayToObject(ds, sp ? "val" : "train");
		for (int i = 0; i < (sp ? N_VAL : 8); i++) {
			char id[32], q[64], w[16];
			snprintf(id, sizeof id, "%s%d", sp ? "v" : "t", i);
			snprintf(w, sizeof w, "word%d", i * 7919 % 1000);
			snprintf(q, sizeof q, "Item %d: %s", i, w);
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "id", id);
			cJSON_AddStringToObject(e, "question", q);
			cJSON_AddStringToObject(e, "answer", w);
			cJSON_AddItemToArray(a, e);
		}
	}
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	snprintf(session, size, "%s/session.json", dir);
	bench_write_json(session, root);
}

static double heap_mb(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (double)(mi.uordblks + mi.hblkhd) / 1e6;
}

int main(int argc, char **argv)
{
	int iterations = 40;
	bool no_cache = false;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iterations = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-cache"))
			no_cache = true;
	char *dir = bench_tmpdir("memo"), session[512], cache[512];
	write_files(dir, session, sizeof session);
	snprintf(cache, sizeof cache, "%s/cache.jsonl", dir);
	struct err e = {{0}};
	struct diag d = {0};
	struct session *s = session_load(session, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	struct llm_options lo = {.cache_path = cache, .no_cache = no_cache, .seed = 3};
	struct llm *l = s ? llm_new(&lo, &e) : NULL;
	if (!l) {
		fprintf(stderr, "memo: cannot load the session or start the LLM layer: %s\n",
		        e.msg[0] ? e.msg : "session");
		return 1;
	}
	struct runner *r = runner_new(s, l, false);
	size_t idx[N_VAL];
	for (size_t i = 0; i < N_VAL; i++)
		idx[i] = i;
	struct rng rng;
	rng_seed(&rng, 9);
	double *heap = calloc((size_t)iterations + 1, sizeof *heap);
	printf("  %-10s %10s %12s %12s\n", "iteration", "heap MB", "memo hits", "LLM calls");
	for (int it = 1; it <= iterations; it++) {
		char *cand[STEPS];
		struct variant vb[STEPS], vc[STEPS];
		for (int i = 0; i < STEPS; i++) {
			cand[i] = xasprintf("%s\n(revision %d)", base[i], it);
			vb[i] = (struct variant){base[i], NULL, 0};
			vc[i] = (struct variant){cand[i], NULL, 0};
		}
		for (int k = 0; k < CONFIGS; k++) {
			const struct variant *cfg[STEPS];
			for (int i = 0; i < STEPS; i++) {
				bool change = k == STEPS + 1 || k == i + 1 ||
				              (k > STEPS + 1 && rng_below(&rng, 2));
				cfg[i] = change ? &vc[i] : &vb[i];
			}
			struct run_batch *b =
			    runner_start(r, cfg, SPLIT_VAL, idx, N_VAL, "select", NULL);
			while (!run_batch_done(b))
				if (llm_wait(l, NULL, 0, 250) < 0)
					break;
			run_batch_free(b);
		}
		for (int i = 0; i < STEPS; i++)
			free(cand[i]);
		heap[it] = heap_mb();
		struct runner_stats st;
		runner_get_stats(r, &st);
		if (it == 1 || it % 10 == 0 || it == iterations)
			printf("  %-10d %10.1f %12ld %12ld\n", it, heap[it], st.memo_hits,
			       st.llm_calls);
	}
	if (iterations > 10)
		printf("  growth from iteration 10 to %d: %.3f MB per iteration\n", iterations,
		       (heap[iterations] - heap[10]) / (iterations - 10));
	free(heap);
	runner_free(r);
	llm_free(l);
	session_free(s);
	bench_rmdir(dir);
	free(dir);
	return 0;
}

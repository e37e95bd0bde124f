/* session_load.c: benchmark of session_load on a 100,000-example dataset, against cJSON alone
 * parsing the same bytes.  Two layouts: the examples in a JSONL file the session references, and
 * the examples inline in the session JSON; and a nested one: a JSON array file in HotpotQA's
 * layout (each example with 10 context paragraphs [title, [sentence, ...]], about 51 MB for
 * 7,400 examples) read by a session whose retrieve step searches them.  Every measurement runs
 * in a fresh child process (this program re-executed with --child) so that its peak memory is
 * its own: the peak resident set (VmHWM of /proc/self/status, which exec resets, unlike
 * ru_maxrss) after minus before the work.  And two JSONL files of long inputs (issue 12: a 1 GB
 * file of 100,000 examples with 10 passages each): 10 passages of about 1 KB an example, as a
 * list of strings ("passages") or as a list of {"title", "text"} objects ("ctxs", as DPR writes
 * them), 10,000 examples (105 MB) unless --long N says otherwise.
 *
 *   session_load [--examples N] [--long N] [--reps R]
 *   session_load --child MODE FILE   MODE: cjson-jsonl, cjson-inline, load; prints "secs kib"
 *   session_load [--long N] --generate DIR   only writes train.jsonl, session-jsonl.json,
 *                                    session-inline.json, hotpot.json, session-nested.json,
 *                                    long.jsonl, session-long.json, ctxs.jsonl and
 *                                    session-ctxs.json into DIR (for callgrind / perf) */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/session.h"

/* ---- the child: one measurement ---- */

static long peak_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void *volatile keep; /* what the child built stays reachable until it reports */

static int child(const char *mode, const char *path)
{
	long before = peak_kib();
	double t0 = now_s();
	struct err e = {{0}};
	char *buf;
	size_t len;
	if (!strcmp(mode, "load")) {
		struct diag d = {0};
		struct session *s = session_load(path, NULL, &d);
		if (!s) {
			for (size_t i = 0; i < d.n; i++)
				fprintf(stderr, "%s\n", d.msgs[i]);
			return 1;
		}
		keep = s;
	} else {
		if (file_read(path, (size_t)1 << 31, &buf, &len, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		if (!strcmp(mode, "cjson-inline")) {
			/* the baseline the requirement names: cJSON parsing the same bytes (tree
			 * kept) */
			keep = cJSON_ParseWithLength(buf, len);
			if (!keep)
				return 1;
		} else { /* cjson-jsonl: each line parsed and deleted, as the dataset loader does */
			char *p = buf, *end = buf + len;
			while (p < end) {
				char *nl = memchr(p, '\n', (size_t)(end - p));
				char *stop = nl ? nl : end;
				if (stop > p) {
					cJSON *o = cJSON_ParseWithLength(p, (size_t)(stop - p));
					if (!o)
						return 1;
					cJSON_Delete(o);
				}
				p = stop + 1;
			}
		}
		free(buf);
	}
	double secs = now_s() - t0;
	printf("%.6f %ld\n", secs, peak_kib() - before);
	return 0;
}

/* ---- the parent: data, repetitions, report ---- */

static const char *const subj[] = {"the Treaty of Westphalia",
                                   "the river Danube",
                                   "Marie Curie",
                                   "the first transatlantic cable",
                                   "the city of Samarkand",
                                   "the Apollo 11 mission",
                                   "the Great Fire of London",
                                   "the composer of the Goldberg Variations",
                                   "Mount Kilimanjaro",
                                   "the printing press of Gutenberg",
                                   "the Hanseatic League"};
static const char *const ask[] = {"In which year was %s first described in a written source",
                                  "Which country is most closely associated with %s",
                                  "What is the name usually given to %s in older encyclopedias",
                                  "Who was the person responsible for %s according to the article",
                                  "How many kilometres from the capital is %s"};
static const char *const ans[] = {
    "1648",       "Austria",        "Warsaw",          "Cyrus Field",
    "Uzbekistan", "Neil Armstrong", "Thomas Farriner", "Johann Sebastian Bach",
    "Tanzania",   "Mainz",          "Lübeck"};

static void record(FILE *f, struct rng *r, long i)
{
	char q[256];
	size_t k = rng_below(r, ARRAY_SIZE(subj));
	snprintf(q, sizeof q, ask[rng_below(r, ARRAY_SIZE(ask))], subj[k]);
	fprintf(f, "{\"id\": \"q%06ld\", \"question\": \"%s (item %ld)?\", \"answer\": \"%s\"}", i,
	        q, i, ans[k]);
}

static const char session_head[] =
    "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"bench\", \"models\": {},\n"
    " \"pipeline\": {\"steps\": [{\"id\": \"answer\", \"type\": \"template\",\n"
    "   \"template\": \"{{input.question}}\"}], \"output\": \"answer\"},\n"
    " \"metric\": {\"type\": \"exact_match\"},\n"
    " \"dataset\": {\"train\": ";

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

static void generate(const char *dir, long n, char **jsonl_session, char **inline_session,
                     char **jsonl)
{
	*jsonl = xasprintf("%s/train.jsonl", dir);
	*jsonl_session = xasprintf("%s/session-jsonl.json", dir);
	*inline_session = xasprintf("%s/session-inline.json", dir);
	FILE *a = fopen(*jsonl, "w"), *b = fopen(*jsonl_session, "w"),
	     *c = fopen(*inline_session, "w");
	if (!a || !b || !c) {
		perror(dir);
		exit(1);
	}
	fprintf(b, "%s\"train.jsonl\"}}\n", session_head);
	fprintf(c, "%s[\n", session_head);
	struct rng r1, r2;
	rng_seed(&r1, 42);
	rng_seed(&r2, 42);
	for (long i = 0; i < n; i++) {
		record(a, &r1, i);
		fputc('\n', a);
		fputs("  ", c);
		record(c, &r2, i);
		fputs(i + 1 < n ? ",\n" : "\n", c);
	}
	fputs("]}}\n", c);
	fclose(a);
	fclose(b);
	fclose(c);
}

/* HotpotQA's layout: {"_id", "question", "answer", "supporting_facts", "context": [[title,
 * [sentence, ...]] x 10], "type", "level"}, about 6 KB an example. */
static void nested_record(FILE *f, struct rng *r, long i)
{
	size_t k = rng_below(r, ARRAY_SIZE(subj));
	fprintf(f, "{\"_id\": \"5a%022lx\", \"answer\": \"%s\", \"question\": \"", i, ans[k]);
	fprintf(f, ask[rng_below(r, ARRAY_SIZE(ask))], subj[k]);
	fprintf(f, " (item %ld)?\", \"supporting_facts\": [[\"Title %ld\", 0]], \"context\": [", i,
	        i);
	for (int p = 0; p < 10; p++) {
		size_t s = rng_below(r, ARRAY_SIZE(subj));
		fprintf(f, "%s[\"Title %ld.%d\", [", p ? ", " : "", i, p);
		for (int q = 0; q < 4; q++)
			fprintf(f,
			        "%s\"%s%s was discussed at length in the %d edition of the "
			        "encyclopedia, where the entry on %s ran to %ld lines and cited %d "
			        "sources.\"",
			        q ? ", " : "", q ? " " : "", subj[s], 1900 + q * 17 + p,
			        ans[rng_below(r, ARRAY_SIZE(ans))], 10 + i % 90, 3 + p);
		fputs("]]", f);
	}
	fputs("], \"type\": \"bridge\", \"level\": \"hard\"}", f);
}

static void generate_nested(const char *dir, long n, char **session, char **data)
{
	*data = xasprintf("%s/hotpot.json", dir);
	*session = xasprintf("%s/session-nested.json", dir);
	FILE *a = fopen(*data, "w"), *b = fopen(*session, "w");
	if (!a || !b) {
		perror(dir);
		exit(1);
	}
	fprintf(b, "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"bench\", "
	           "\"models\": {},\n \"pipeline\": {\"steps\": [{\"id\": \"search\", "
	           "\"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	           "\"passages\": \"input.context\", \"k\": 3}], \"output\": \"search\"},\n"
	           " \"metric\": {\"type\": \"hotpot_f1\"},\n \"dataset\": {\"id_field\": "
	           "\"_id\", \"train\": \"hotpot.json\"}}\n");
	struct rng r;
	rng_seed(&r, 7);
	fputs("[", a);
	for (long i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", a);
		nested_record(a, &r, i);
	}
	fputs("\n]\n", a);
	fclose(a);
	fclose(b);
}

/* A passage of about 1 KB: words of the subjects above, and now and then what JSON writers
 * escape (Python's json.dumps writes "é" as \u00e9; a quote; a line break). */
static void passage(FILE *f, struct rng *r, long i, int p)
{
	static const char *const extra[] = {"caf\\u00e9",   "\\\"so-called\\\"",
	                                    "line\\nbreak", "na\\u00efve",
	                                    "1648",         "M\\u00fcnchen"};
	int n = fprintf(f, "Passage %ld.%d:", i, p);
	while (n < 1000) {
		n += rng_below(r, 8) == 0
		         ? fprintf(f, " %s", extra[rng_below(r, ARRAY_SIZE(extra))])
		         : fprintf(f, " %s %s", subj[rng_below(r, ARRAY_SIZE(subj))],
		                   ans[rng_below(r, ARRAY_SIZE(ans))]);
	}
}

/* One line of long inputs: 10 passages as strings (objects false) or as DPR's {"title",
 * "text"} objects under "ctxs". */
static void long_record(FILE *f, struct rng *r, long i, bool objects)
{
	size_t k = rng_below(r, ARRAY_SIZE(subj));
	fprintf(f, "{\"id\": \"q%06ld\", \"question\": \"", i);
	fprintf(f, ask[rng_below(r, ARRAY_SIZE(ask))], subj[k]);
	fprintf(f, " (item %ld)?\", \"answer\": \"%s\", \"%s\": [", i, ans[k],
	        objects ? "ctxs" : "passages");
	for (int p = 0; p < 10; p++) {
		fputs(p ? ", " : "", f);
		if (objects)
			fprintf(f, "{\"title\": \"Title %ld.%d\", \"text\": \"", i, p);
		else
			fputc('"', f);
		passage(f, r, i, p);
		fputs(objects ? "\"}" : "\"", f);
	}
	fputs("]}\n", f);
}

/* long.jsonl and ctxs.jsonl with their sessions: a retrieve step searches the passages. */
static void generate_long(const char *dir, long n, char *paths[4])
{
	static const char *const names[4] = {"long.jsonl", "session-long.json", "ctxs.jsonl",
	                                     "session-ctxs.json"};
	for (int k = 0; k < 4; k++)
		paths[k] = xasprintf("%s/%s", dir, names[k]);
	for (int k = 0; k < 4; k += 2) {
		FILE *a = fopen(paths[k], "w"), *b = fopen(paths[k + 1], "w");
		if (!a || !b) {
			perror(dir);
			exit(1);
		}
		fprintf(b,
		        "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"bench\", "
		        "\"models\": {},\n \"pipeline\": {\"steps\": [{\"id\": \"search\", "
		        "\"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
		        "\"passages\": \"input.%s\", \"k\": 3}], \"output\": \"search\"},\n"
		        " \"metric\": {\"type\": \"exact_match\"}, \"max_file_mb\": 8192,\n"
		        " \"dataset\": {\"train\": \"%s\"}}\n",
		        k ? "ctxs.text" : "passages", names[k]);
		struct rng r;
		rng_seed(&r, 11);
		for (long i = 0; i < n; i++)
			long_record(a, &r, i, k != 0);
		fclose(a);
		fclose(b);
	}
}

/* Runs one measurement in a child; 0 with *secs and *kib filled. */
static int measure(const char *self, const char *mode, const char *path, double *secs, long *kib)
{
	int out[2];
	if (pipe(out) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execl(self, self, "--child", mode, path, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	int ok = fscanf(f, "%lf %ld", secs, kib) == 2;
	fclose(f);
	int st;
	waitpid(pid, &st, 0);
	return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

enum {
	M_CJSON_JSONL,
	M_LOAD_JSONL,
	M_CJSON_INLINE,
	M_LOAD_INLINE,
	M_CJSON_NESTED,
	M_LOAD_NESTED,
	M_CJSON_LONG,
	M_LOAD_LONG,
	M_CJSON_CTXS,
	M_LOAD_CTXS,
	M_COUNT
};
#define MAX_REPS 50

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3]);
	long n = 100000, reps = 7, n_long = 10000;
	const char *gen_dir = NULL;
	char *lp[4];
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--examples"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--reps"))
			reps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--long"))
			n_long = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--generate"))
			gen_dir = argv[i + 1];
	}
	if (reps < 1 || reps > MAX_REPS || n < 1 || n_long < 1) {
		fprintf(stderr, "usage: session_load [--examples N] [--long N] [--reps 1..%d]\n",
		        MAX_REPS);
		return 2;
	}
	if (gen_dir) {
		char *a, *b, *c, *d, *e;
		generate(gen_dir, n, &a, &b, &c);
		generate_nested(gen_dir, n * 74 / 1000, &d, &e);
		generate_long(gen_dir, n_long, lp);
		free(a), free(b), free(c), free(d), free(e);
		for (int k = 0; k < 4; k++)
			free(lp[k]);
		return 0;
	}
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl < 0) {
		perror("/proc/self/exe");
		return 1;
	}
	self[sl] = '\0';
	char *dir = bench_tmpdir("session"), *s_jsonl, *s_inline, *jsonl, *s_nested, *nested;
	generate(dir, n, &s_jsonl, &s_inline, &jsonl);
	generate_nested(dir, n * 74 / 1000, &s_nested, &nested);
	long size_jsonl = file_size(jsonl), size_inline = file_size(s_inline);
	long size_nested = file_size(nested);
	generate_long(dir, n_long, lp);
	long size_long = file_size(lp[0]), size_ctxs = file_size(lp[2]);
	printf("session_load: %ld examples; JSONL %.1f MB (%.0f bytes/example), inline session "
	       "%.1f MB; %ld repetitions, median\n",
	       n, size_jsonl / 1e6, (double)size_jsonl / (double)n, size_inline / 1e6, reps);
	printf("session_load: nested (HotpotQA layout): %ld examples, %.1f MB JSON array\n",
	       n * 74 / 1000, size_nested / 1e6);
	printf("session_load: long inputs: %ld examples of 10 passages, JSONL %.1f MB (strings), "
	       "%.1f MB (objects)\n",
	       n_long, size_long / 1e6, size_ctxs / 1e6);

	static const struct {
		const char *mode;
		int file; /* 0 jsonl data, 1 jsonl session, 2 inline session, 3 nested data, 4 its
		           * session, 5..8 the long files and their sessions */
	} ms[M_COUNT] = {{"cjson-jsonl", 0},  {"load", 1}, {"cjson-inline", 2}, {"load", 2},
	                 {"cjson-inline", 3}, {"load", 4}, {"cjson-jsonl", 5},  {"load", 6},
	                 {"cjson-jsonl", 7},  {"load", 8}};
	const char *files[9] = {jsonl, s_jsonl, s_inline, nested, s_nested,
	                        lp[0], lp[1],   lp[2],    lp[3]};
	double secs[M_COUNT][MAX_REPS], kib[M_COUNT][MAX_REPS];
	int rc = 0;
	for (long r = 0; r < reps && !rc; r++) {
		for (int m = 0; m < M_COUNT && !rc; m++) { /* interleaved: noise hits all alike */
			long k;
			if (measure(self, ms[m].mode, files[ms[m].file], &secs[m][r], &k) < 0) {
				fprintf(stderr, "session_load: measurement %s %s failed\n",
				        ms[m].mode, files[ms[m].file]);
				rc = 1;
			}
			kib[m][r] = (double)k;
		}
	}
	if (!rc) {
		double t[M_COUNT], mem[M_COUNT];
		for (int m = 0; m < M_COUNT; m++) {
			t[m] = bench_median(secs[m], (size_t)reps);
			mem[m] = bench_median(kib[m], (size_t)reps) * 1024;
		}
		const struct {
			const char *name;
			int base, load;
			long size;
			double target; /* peak / file size; long inputs: issue 12's 1.3x */
		} rows[] = {{"JSONL file", M_CJSON_JSONL, M_LOAD_JSONL, size_jsonl, 3},
		            {"inline", M_CJSON_INLINE, M_LOAD_INLINE, size_inline, 3},
		            {"nested", M_CJSON_NESTED, M_LOAD_NESTED, size_nested, 3},
		            {"long", M_CJSON_LONG, M_LOAD_LONG, size_long, 1.3},
		            {"long ctxs", M_CJSON_CTXS, M_LOAD_CTXS, size_ctxs, 1.3}};
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			double ratio = t[rows[i].load] / t[rows[i].base];
			double mratio = mem[rows[i].load] / (double)rows[i].size;
			printf(
			    "  %-10s cJSON alone %7.1f ms (peak +%5.1f MB)   session_load %7.1f ms "
			    "(peak +%5.1f MB)\n",
			    rows[i].name, t[rows[i].base] * 1e3, mem[rows[i].base] / 1e6,
			    t[rows[i].load] * 1e3, mem[rows[i].load] / 1e6);
			printf(
			    "  %-10s time ratio %.2fx (target < 1.5x: %s)   peak memory %.2fx file "
			    "size (target <= %gx: %s)\n",
			    "", ratio, ratio < 1.5 ? "met" : "MISSED", mratio, rows[i].target,
			    mratio <= rows[i].target ? "met" : "MISSED");
		}
	}
	bench_rmdir(dir);
	free(dir);
	free(s_jsonl);
	free(s_inline);
	free(jsonl);
	free(s_nested);
	free(nested);
	for (int k = 0; k < 4; k++)
		free(lp[k]);
	return rc;
}

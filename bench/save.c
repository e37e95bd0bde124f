/* save.c: benchmark of session_save (src/core/session.c) on a session with 100,000 examples
 * inline (14 MB), as the workbench's autosave after each phase does it: saves that change
 * nothing (a phase that left the session as it was, the save on quitting after the last one),
 * and saves after a small change (a section set), each timed on the wall clock (the fsyncs of
 * an atomic replacement are the cost); seven of each, medians.  Then the same changed saves as
 * the workbench now makes them, in the background (session_save_start, a child process prints,
 * writes and fsyncs, session_save_finish collects its report): the loop's stall is the time
 * in those two calls, set against the time the save took to land; both ways in the same run,
 * with the longest stall of each. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/session.h"

#define N_EX 100000
#define REPS 7

static void generate(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(
	    "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"bench\", \"models\": {},\n"
	    " \"pipeline\": {\"steps\": [{\"id\": \"answer\", \"type\": \"template\",\n"
	    "   \"template\": \"{{input.question}}\"}], \"output\": \"answer\"},\n"
	    " \"metric\": {\"type\": \"exact_match\"},\n"
	    " \"dataset\": {\"train\": [\n",
	    f);
	for (long i = 0; i < N_EX; i++)
		fprintf(f,
		        "  {\"id\": \"q%06ld\", \"question\": \"Which country is most closely "
		        "associated with Mount Kilimanjaro (item %ld)?\", \"answer\": "
		        "\"Tanzania\"}%s\n",
		        i, i, i + 1 < N_EX ? "," : "");
	fputs("]}}\n", f);
	fclose(f);
}

int main(void)
{
	char *dir = bench_tmpdir("save"), path[512];
	snprintf(path, sizeof path, "%s/session.json", dir);
	generate(path);
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	diag_free(&d);
	struct err e = {{0}};
	if (!s || session_save(s, path, &e) < 0) { /* the first save writes the stable style */
		fprintf(stderr, "save: cannot load or save the session: %s\n", e.msg);
		return 1;
	}
	double same[REPS], changed[REPS];
	for (int k = 0; k < REPS; k++) {
		double t0 = now_s();
		int rc = session_save(s, path, &e);
		same[k] = (now_s() - t0) * 1e3;
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "n", k);
		session_set_section(s, "bench", j);
		t0 = now_s();
		rc |= session_save(s, path, &e);
		changed[k] = (now_s() - t0) * 1e3;
		if (rc < 0) {
			fprintf(stderr, "save: %s\n", e.msg);
			return 1;
		}
	}
	double stall[REPS], landed[REPS];
	for (int k = 0; k < REPS; k++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "n", 100 + k);
		session_set_section(s, "bench", j);
		double t0 = now_s();
		int rc = session_save_start(s, path, NULL, NULL, &e);
		stall[k] = now_s() - t0;
		double st = 0;
		while (rc == 0) { /* the loop: back to poll() until the writer has reported */
			struct pollfd p = {session_save_fd(s), POLLIN, 0};
			poll(&p, 1, -1);
			double c0 = now_s();
			rc = session_save_finish(s, false, &e);
			st = MAX(st, now_s() - c0);
			if (rc <= 0)
				break;
		}
		landed[k] = (now_s() - t0) * 1e3;
		stall[k] = MAX(stall[k], st) * 1e3;
		if (rc < 0) {
			fprintf(stderr, "save: %s\n", e.msg);
			return 1;
		}
	}
	double max_changed = 0, max_stall = 0;
	for (int k = 0; k < REPS; k++) {
		max_changed = MAX(max_changed, changed[k]);
		max_stall = MAX(max_stall, stall[k]);
	}
	printf("  session with %d inline examples: unchanged save %.1f ms, changed save %.1f ms "
	       "(medians of %d)\n",
	       N_EX, bench_median(same, REPS), bench_median(changed, REPS), REPS);
	printf("  loop stall of a changed save: on the loop (session_save) median %.1f ms, longest "
	       "%.1f ms; in the background (session_save_start + _finish) median %.2f ms, longest "
	       "%.2f ms (target < 50 ms: %s); written and collected after %.1f ms (median)\n",
	       bench_median(changed, REPS), max_changed, bench_median(stall, REPS), max_stall,
	       max_stall < 50 ? "met" : "MISSED", bench_median(landed, REPS));
	session_free(s);
	bench_rmdir(dir);
	free(dir);
	return 0;
}

/* save.c: benchmark of session_save (src/core/session.c) on a session with 100,000 examples
 * inline (14 MB), as the workbench's autosave after each phase does it: saves that change
 * nothing (a phase that left the session as it was, the save on quitting after the last one),
 * and saves after a small change (a section set), each timed on the wall clock (the fsyncs of
 * an atomic replacement are the cost); seven of each, medians. */
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
	printf("  session with %d inline examples: unchanged save %.1f ms, changed save %.1f ms "
	       "(medians of %d)\n",
	       N_EX, bench_median(same, REPS), bench_median(changed, REPS), REPS);
	session_free(s);
	bench_rmdir(dir);
	free(dir);
	return 0;
}

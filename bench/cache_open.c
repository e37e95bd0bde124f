/* cache_open.c: benchmark of opening a large response cache (src/llm/cache.c) and reading
 * answers back from it.
 *
 * Writes 100,000 answers of about 1 kB through cache_put (97 MB, the file a long session
 * leaves), then, in a fresh child process each time (this program re-executed with --child),
 * opens it and reads 1,000 answers at random: wall time and CPU time of the open, peak memory
 * added (VmHWM after minus before), and the mean time of a read.  Five runs, medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "llm/cache.h"

#define ANSWERS 100000
#define RUNS    5

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

static void key_of(int i, char out[65])
{
	snprintf(out, 65, "%016x%048x", (unsigned)(i * 2654435761u), (unsigned)i);
}

static int child(const char *path)
{
	long h0 = vm_hwm_kb();
	double t0 = now_s(), c0 = bench_cpu_s();
	struct err e = {{0}};
	struct cache *c = cache_open(path, &e);
	double wall = now_s() - t0, cpu = bench_cpu_s() - c0;
	if (!c) {
		fprintf(stderr, "cache_open: %s\n", e.msg);
		return 1;
	}
	struct rng r;
	rng_seed(&r, 1);
	double t1 = now_s();
	int found = 0;
	for (int k = 0; k < 1000; k++) {
		char key[65];
		key_of((int)rng_below(&r, ANSWERS), key);
		found += cache_get(c, key) != NULL;
	}
	double get_us = (now_s() - t1) * 1e3;
	printf("%f %f %f %f %d %zu\n", wall, cpu, (double)(vm_hwm_kb() - h0) / 1024, get_us, found,
	       cache_count(c));
	cache_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	char *dir = bench_tmpdir("cache"), path[512];
	snprintf(path, sizeof path, "%s/cache.jsonl", dir);
	struct err e = {{0}};
	struct cache *c = cache_open(path, &e);
	char text[1100], key[65];
	struct llm_usage u = {.in = 800, .out = 200};
	for (int i = 0; c && i < ANSWERS; i++) {
		snprintf(text, sizeof text, "Answer %d.", i);
		while (strlen(text) < 1000)
			strcat(text, " The word was found in the text and is passed on unchanged.");
		key_of(i, key);
		if (cache_put(c, key, "gpt-4o-mini", text, NULL, &u, NULL, &e) < 0)
			break;
	}
	cache_close(c);
	if (e.msg[0]) {
		fprintf(stderr, "cache_open: cannot write the cache: %s\n", e.msg);
		return 1;
	}
	double v[5][RUNS];
	int found = 0;
	size_t count = 0;
	for (int k = 0; k < RUNS; k++) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "/proc/%d/exe --child %s", (int)getpid(), path);
		FILE *p = popen(cmd, "r");
		if (!p || fscanf(p, "%lf %lf %lf %lf %d %zu", &v[0][k], &v[1][k], &v[2][k],
		                 &v[3][k], &found, &count) != 6) {
			fprintf(stderr, "cache_open: the child failed\n");
			return 1;
		}
		pclose(p);
	}
	printf("  %d answers (%zu indexed), %d of 1000 random reads found\n", ANSWERS, count,
	       found);
	printf(
	    "  open: wall %.3f s, CPU %.3f s, peak +%.1f MB; 1000 reads %.1f ms (medians of %d)\n",
	    bench_median(v[0], RUNS), bench_median(v[1], RUNS), bench_median(v[2], RUNS),
	    bench_median(v[3], RUNS), RUNS);
	bench_rmdir(dir);
	free(dir);
	return 0;
}

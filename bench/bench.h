/* bench.h: helpers shared by the benchmarks under bench/: the test LLM server as a child process
 * (start, stop, /_stats, /_control), CPU time, medians, temp dirs.  Benchmarks only, never
 * linked into adopt-tui or the tests. */
#ifndef ADOPT_BENCH_H
#define ADOPT_BENCH_H

#include <stddef.h>
#include <sys/types.h>

struct bench_server {
	pid_t pid;
	int port;
	char base_v1[64]; /* http://127.0.0.1:PORT/v1 */
};

/* Starts $LLM_SERVER (default build/tests/llm-server) with the NULL-terminated extra args.
 * Returns 0, or -1 with a message on stderr (the caller skips). */
int bench_server_start(struct bench_server *s, const char *const *args);
void bench_server_stop(struct bench_server *s);
/* A number from GET /_stats ("requests", "peak_concurrency", or "by_status.429"), -1 on error. */
double bench_server_stat(const struct bench_server *s, const char *name);
int bench_server_control(const struct bench_server *s, const char *json);

double bench_cpu_s(void);                 /* user + system CPU of this process so far */
double bench_user_s(void);                /* user CPU only */
double bench_median(double *v, size_t n); /* sorts v */
char *bench_tmpdir(const char *tag);      /* mkdtemp under $TMPDIR or /tmp; caller frees */
void bench_rmdir(const char *dir);        /* rm -r of a temp dir made above */
struct cJSON;
/* Writes j (pretty) to path and deletes it; exits with the message on failure. */
void bench_write_json(const char *path, struct cJSON *j);
/* Appends a scripted rule {match, reply | replies[], delay_ms (when > 0)} to a rules array. */
void bench_add_rule(struct cJSON *rules, const char *match, const char *reply,
                    const char *const *replies, int delay_ms);
/* Appends generic answers of the seven analysis roles (E1..E6 and the rewrite), as
 * examples/make_scripted.py writes them, with `summary` as E1's. */
void bench_add_role_rules(struct cJSON *rules, const char *summary);

#endif

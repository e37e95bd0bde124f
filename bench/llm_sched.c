/* llm_sched.c: benchmark of the LLM layer's scheduler against the test server (tests/support).
 *
 * Part 1: 2,000 distinct requests at concurrency 32, 50 ms server latency, through the real
 * llm_new / llm_submit / llm_wait path (provider openai, base URL on 127.0.0.1 so no key, no
 * cache).  Reports wall time against the ideal 2000 / 32 x 50 ms and this process's own CPU
 * time (getrusage: the server is another process) as a share of wall time.
 * Part 2: 200 ms latency with 10% of requests answered 429 + Retry-After 0.2 s: every request
 * must still be answered; reports retries (HTTP attempts vs requests) and wall time.
 *
 *   llm_sched [--requests N] [--concurrency C] [--part 1|2]      ($LLM_SERVER: the server binary)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "llm/llm.h"

struct tally {
	long done, errors, max_attempts;
	char first_error[256];
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct tally *t = arg;
	t->done++;
	if (r->attempts > t->max_attempts)
		t->max_attempts = r->attempts;
	if (r->error && !t->errors++)
		snprintf(t->first_error, sizeof t->first_error, "%s", r->error);
}

struct result {
	double wall_s, cpu_s, user_s;
	struct tally t;
	struct llm_stats st;
};

/* Submits n distinct one-message requests at once and drives llm_wait until all are answered. */
static int run(const struct model_config *m, long n, const char *tag, struct result *res)
{
	memset(res, 0, sizeof *res);
	struct llm_options o = {.no_cache = true, .seed = 7};
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	if (!l) {
		fprintf(stderr, "llm_new: %s\n", e.msg);
		return -1;
	}
	double t0 = now_s(), c0 = bench_cpu_s(), u0 = bench_user_s();
	for (long i = 0; i < n; i++) {
		char text[128];
		snprintf(text, sizeof text, "%s: question number %ld, please answer briefly", tag,
		         i);
		struct llm_message msg = {"user", text};
		struct llm_request req = {m, &msg, 1, tag};
		llm_submit(l, &req, on_done, NULL, &res->t);
	}
	int rc = 0;
	while (llm_pending(l) && now_s() - t0 < 120)
		if (llm_wait(l, NULL, 0, 1000) < 0) {
			rc = -1;
			break;
		}
	res->wall_s = now_s() - t0;
	res->cpu_s = bench_cpu_s() - c0;
	res->user_s = bench_user_s() - u0;
	llm_get_stats(l, &res->st);
	if (llm_pending(l))
		rc = -1;
	llm_free(l);
	return rc;
}

int main(int argc, char **argv)
{
	long n = 2000, conc = 32, only = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--part"))
			only = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--concurrency"))
			conc = atol(argv[i + 1]);
	}
	struct bench_server srv;
	const char *args[] = {"--latency-ms", "50", NULL};
	if (bench_server_start(&srv, args) < 0) {
		printf("llm_sched: skipped (no test server)\n");
		return 0;
	}
	struct model_config m = {.name = "bench",
	                         .provider = "openai",
	                         .base_url = srv.base_v1,
	                         .model = "bench-model",
	                         .price_in = -1,
	                         .price_out = -1,
	                         .concurrency = (int)conc,
	                         .timeout_s = 30,
	                         .stream = true};
	int rc = 0;

	/* part 1 */
	struct result r;
	if (only == 2)
		goto part2;
	if (run(&m, n, "p1", &r) < 0)
		rc = 1;
	double ideal = (double)n / (double)conc * 0.050;
	double waves = ceil((double)n / (double)conc) * 0.050;
	printf("llm_sched part 1: %ld requests, concurrency %ld, server latency 50 ms, streamed\n",
	       n, conc);
	printf("  answered %ld (errors %ld), HTTP requests %ld, server peak concurrency %.0f\n",
	       r.t.done, r.t.errors, r.st.network_requests,
	       bench_server_stat(&srv, "peak_concurrency"));
	printf("  wall %.3f s; ideal %ld/%ld x 50 ms = %.3f s -> %.3fx (target <= 1.2x: %s)"
	       "  [ceil to whole waves: %.3f s -> %.3fx]\n",
	       r.wall_s, n, conc, ideal, r.wall_s / ideal,
	       r.wall_s / ideal <= 1.2 ? "met" : "MISSED", waves, r.wall_s / waves);
	printf("  own CPU %.3f s (user %.3f, system %.3f) = %.1f%% of wall (target < 5%%: %s); "
	       "%.0f us per request\n",
	       r.cpu_s, r.user_s, r.cpu_s - r.user_s, 100 * r.cpu_s / r.wall_s,
	       r.cpu_s / r.wall_s < 0.05 ? "met" : "MISSED", 1e6 * r.cpu_s / (double)n);
	if (r.t.errors)
		printf("  first error: %s\n", r.t.first_error);
	if (r.t.done != n || r.t.errors)
		rc = 1;
	/* the same without streaming: how much of the CPU is the event-by-event parsing */
	m.stream = false;
	if (run(&m, n, "p1w", &r) < 0 || r.t.done != n || r.t.errors)
		rc = 1;
	m.stream = true;
	printf("  not streamed: wall %.3f s (%.3fx); own CPU %.3f s (user %.3f, system %.3f) = "
	       "%.1f%% of wall; %.0f us per request\n",
	       r.wall_s, r.wall_s / ideal, r.cpu_s, r.user_s, r.cpu_s - r.user_s,
	       100 * r.cpu_s / r.wall_s, 1e6 * r.cpu_s / (double)n);

	if (only == 1)
		goto out;
part2:; /* part 2 */
	bench_server_control(&srv, "{\"latency_ms\": 200, \"rate_429\": 0.1, \"retry_after\": 0.2,"
	                           " \"seed\": 11}");
	bench_server_stat(&srv, "requests");
	struct result r2;
	double before429 = bench_server_stat(&srv, "status.429");
	double before_req = bench_server_stat(&srv, "requests");
	if (run(&m, n, "p2", &r2) < 0)
		rc = 1;
	double n429 = bench_server_stat(&srv, "status.429") - fmax(before429, 0);
	double nreq = bench_server_stat(&srv, "requests") - before_req;
	double ideal2 = (double)n / (double)conc * 0.200;
	printf("llm_sched part 2: %ld requests, concurrency %ld, latency 200 ms, 10%% answered 429 "
	       "(Retry-After 0.2 s)\n",
	       n, conc);
	printf("  answered %ld of %ld, errors %ld%s%s\n", r2.t.done, n, r2.t.errors,
	       r2.t.errors ? ": " : "", r2.t.errors ? r2.t.first_error : "");
	printf("  HTTP requests %ld for %ld requests (%.1f%% retries); server saw %.0f, of them "
	       "%.0f answered 429; most attempts for one request %ld\n",
	       r2.st.network_requests, n, 100.0 * (double)(r2.st.network_requests - n) / (double)n,
	       nreq, n429, r2.t.max_attempts);
	printf(
	    "  wall %.3f s; no-fault ideal %ld/%ld x 200 ms = %.3f s -> %.3fx; own CPU %.1f%% of "
	    "wall\n",
	    r2.wall_s, n, conc, ideal2, r2.wall_s / ideal2, 100 * r2.cpu_s / r2.wall_s);
	if (r2.t.done != n || r2.t.errors)
		rc = 1;
out:
	bench_server_stop(&srv);
	return rc;
}

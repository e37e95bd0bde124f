/* llm_sched.c: benchmark of the LLM layer's scheduler against the test server (tests/support).
 *
 * Part 1: 2,000 distinct requests at concurrency 32, 50 ms server latency, through the real
 * llm_new / llm_submit / llm_wait path (provider openai, base URL on 127.0.0.1 so no key, no
 * cache).  Reports wall time against the ideal 2000 / 32 x 50 ms and this process's own CPU
 * time (getrusage: the server is another process) as a share of wall time.
 * Part 2: 200 ms latency with 10% of requests answered 429 + Retry-After 0.2 s: every request
 * must still be answered; reports retries (HTTP attempts vs requests) and wall time.
 * Part 3: a rate-limited server: a fixed window (1 s, 100 requests: a per-minute limit scaled
 * down so that a run sees twenty windows) answering 429 beyond it, with the scheduler's real
 * defaults (backoff, budget, adaptive concurrency).  Twice: the 429s carry only Retry-After and
 * retry-after-ms; then every answer carries OpenAI's x-ratelimit-remaining/reset-requests and
 * the 429s no Retry-After.  Every request must be answered, and once settled (the second half
 * of the requests) fewer than 0.1 answers 429 per completed request.
 *
 * Part 4: replicas (a base_url listing several servers, sched_replica.c): 1, 2 and 3 test servers
 * with 100 ms latency and concurrency 4 per replica, 240 requests each time; throughput should
 * grow with the replicas (ideal: 40, 80, 120 requests/s).  Then the three with one answering
 * 500 to everything: every request must still be answered, at about the two others' rate.
 *
 *   llm_sched [--requests N] [--concurrency C] [--part 1|2|3|4] ($LLM_SERVER: the server binary)
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
	/* part 3: the server's 429 count and the answers when half the requests were done */
	double half_429, half_s;
	long half_done;
};

/* Submits n distinct one-message requests at once and drives llm_wait until all are answered.
 * With srv, samples the server's 429 count when half of them are answered. */
static int run_sampled(const struct model_config *m, long n, const char *tag, struct result *res,
                       const struct bench_server *srv)
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
	while (llm_pending(l) && now_s() - t0 < 120) {
		if (llm_wait(l, NULL, 0, 1000) < 0) {
			rc = -1;
			break;
		}
		if (srv && !res->half_done && res->t.done >= n / 2) {
			res->half_done = res->t.done;
			res->half_s = now_s() - t0;
			res->half_429 = bench_server_stat(srv, "status.429");
		}
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

static int run(const struct model_config *m, long n, const char *tag, struct result *res)
{
	return run_sampled(m, n, tag, res, NULL);
}

/* Part 3, one way of saying the limit: rate_headers as the test server takes it. */
static int part3(struct bench_server *srv, struct model_config *m, long n, int rate_headers)
{
	char ctl[160];
	snprintf(ctl, sizeof ctl,
	         "{\"latency_ms\": 50, \"rate_429\": 0, \"window_ms\": 1000, "
	         "\"window_requests\": 100, \"rate_headers\": %d}",
	         rate_headers);
	bench_server_control(srv, ctl);
	struct result r;
	double before429 = fmax(bench_server_stat(srv, "status.429"), 0);
	double before_req = bench_server_stat(srv, "requests");
	int rc = run_sampled(m, n, "p3", &r, srv) < 0 ? 1 : 0;
	double n429 = fmax(bench_server_stat(srv, "status.429"), 0) - before429;
	double nreq = bench_server_stat(srv, "requests") - before_req;
	double settled429 = fmax(bench_server_stat(srv, "status.429"), 0) - fmax(r.half_429, 0);
	long settled_done = r.t.done - r.half_done;
	double ratio = settled_done ? settled429 / (double)settled_done : 0;
	printf("llm_sched part 3 (%s): %ld requests, concurrency %d, latency 50 ms, server "
	       "window 100 requests / 1 s\n",
	       rate_headers ? "x-ratelimit-* headers on every answer, no Retry-After"
	                    : "Retry-After on 429 only",
	       n, m->concurrency);
	printf("  answered %ld of %ld, errors %ld%s%s; wall %.2f s (the limit alone allows %.1f "
	       "s)\n",
	       r.t.done, n, r.t.errors, r.t.errors ? ": " : "", r.t.errors ? r.t.first_error : "",
	       r.wall_s, (double)n / 100 - 1);
	printf("  server saw %.0f requests, %.0f answered 429 (%.3f per completed request); most "
	       "attempts for one request %ld\n",
	       nreq, n429, n429 / (double)n, r.t.max_attempts);
	printf("  settled (second half, from %.2f s): %.0f answered 429 for %ld completed = %.3f "
	       "per completed request (target < 0.1: %s)\n",
	       r.half_s, settled429, settled_done, ratio, ratio < 0.1 ? "met" : "MISSED");
	if (r.t.done != n || r.t.errors || ratio >= 0.1)
		rc = 1;
	return rc;
}

struct part4_figures {
	long requests[3], errors[3];
};

static void part4_collect(void *arg, const struct llm_replica *r)
{
	struct part4_figures *f = arg;
	if (r->index < 3) {
		f->requests[r->index] = r->requests;
		f->errors[r->index] = r->errors;
	}
}

/* One part-4 run over the first n_rep servers: answers, wall time, per-replica requests. */
static int part4_run(char **urls, int n_rep, long n, const char *label, double *rate)
{
	struct model_config m = {.name = "replicas",
	                         .provider = "openai",
	                         .base_url = urls[0],
	                         .replicas = urls,
	                         .n_replicas = n_rep,
	                         .model = "bench-model",
	                         .price_in = -1,
	                         .price_out = -1,
	                         .concurrency = 4,
	                         .timeout_s = 30,
	                         .stream = true};
	struct llm_options o = {.no_cache = true, .seed = 7};
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	if (!l) {
		fprintf(stderr, "llm_new: %s\n", e.msg);
		return -1;
	}
	struct tally t = {0};
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		char text[96];
		snprintf(text, sizeof text, "p4 %s: question number %ld", label, i);
		struct llm_message msg = {"user", text};
		struct llm_request req = {&m, &msg, 1, "p4"};
		llm_submit(l, &req, on_done, NULL, &t);
	}
	while (llm_pending(l) && now_s() - t0 < 120)
		if (llm_wait(l, NULL, 0, 1000) < 0)
			break;
	double wall = now_s() - t0;
	struct part4_figures f;
	memset(&f, 0, sizeof f);
	llm_foreach_replica(l, part4_collect, &f);
	int rc = llm_pending(l) || t.done != n || t.errors ? -1 : 0;
	llm_free(l);
	*rate = (double)t.done / wall;
	printf("  %-28s answered %ld of %ld (errors %ld), wall %.3f s, %.1f requests/s; "
	       "per replica requests",
	       label, t.done, n, t.errors, wall, *rate);
	for (int i = 0; i < n_rep; i++)
		printf(" %ld", f.requests[i]);
	for (int i = 0; i < n_rep; i++)
		if (f.errors[i])
			printf(" (replica %d: %ld errors)", i + 1, f.errors[i]);
	printf("\n");
	if (t.errors)
		printf("  first error: %s\n", t.first_error);
	return rc;
}

static int part4(struct bench_server *srv, long n)
{
	struct bench_server more[2];
	const char *args[] = {"--latency-ms", "100", NULL};
	for (int i = 0; i < 2; i++)
		if (bench_server_start(&more[i], args) < 0) {
			printf("llm_sched part 4: skipped (a second test server did not start)\n");
			if (i)
				bench_server_stop(&more[0]);
			return 0;
		}
	bench_server_control(srv, "{\"latency_ms\": 100, \"rate_429\": 0, \"window_ms\": 0, "
	                          "\"window_requests\": 0, \"rate_headers\": 0}");
	char *urls[] = {srv->base_v1, more[0].base_v1, more[1].base_v1};
	printf("llm_sched part 4: replicas, %ld requests, latency 100 ms, concurrency 4 per "
	       "replica (ideal 40 requests/s per replica)\n",
	       n);
	int rc = 0;
	double rate[3], failing;
	for (int k = 1; k <= 3; k++) {
		char label[32];
		snprintf(label, sizeof label, "%d replica%s", k, k > 1 ? "s" : "");
		rc |= part4_run(urls, k, n, label, &rate[k - 1]) < 0;
	}
	printf("  throughput vs one replica: 2 -> %.2fx, 3 -> %.2fx (ideal 2x, 3x)\n",
	       rate[1] / rate[0], rate[2] / rate[0]);
	bench_server_control(&more[0], "{\"rate_500\": 1}");
	rc |= part4_run(urls, 3, n, "3, the second answering 500", &failing) < 0;
	printf("  with one of three failing: %.2fx one replica (the two others alone: 2x)\n",
	       failing / rate[0]);
	for (int i = 0; i < 2; i++)
		bench_server_stop(&more[i]);
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
	if (only == 3)
		goto part3;
	if (only == 4)
		goto part4;
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
	if (only == 2)
		goto out;
part3:; /* part 3 */
	for (int headers = 0; headers < 2; headers++)
		rc |= part3(&srv, &m, n, headers);
	if (only == 3)
		goto out;
part4:; /* part 4 */
	rc |= part4(&srv, only == 4 && n != 2000 ? n : 240);
out:
	bench_server_stop(&srv);
	return rc;
}

/* engine_iter.c: benchmark of one full ADOPT iteration on a chain of LLM steps, against the
 * test server answering from scripted rules with latency (tests/support).
 *
 * Writes a session (m LLM steps 1 -> 2 -> ... -> m, 64 train and 32 val examples, batch 32,
 * validation sample 16, concurrency 32) and a rules file into a temp dir, runs engine_run(1)
 * with auto-accept through the real LLM layer (provider openai on 127.0.0.1, no cache), and
 * reports:
 *   part 1: m = 4, 200 ms (or --latency-ms N), overlap off: per phase wall time, HTTP
 *           requests and a lower bound on the time any schedule with barriers between phases
 *           needs (see bound_waves() and bench/README.md); then LLM calls against the same
 *           iteration without the runner's memo;
 *   part 2: m = 4 and m = 8 at 500 ms, overlap off and on in turn: the iteration's wall time
 *           against the bound WITHOUT barriers (see nobarrier_waves() and bench/README.md,
 *           section 3a).
 *
 *   engine_iter [--latency-ms N] [--part 1|2]          ($LLM_SERVER: the server binary) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "engine/engine.h"

#define CONC  32
#define N_VAL 16
#define CHAIN 4 /* LLM steps in part 1's chain */
#define MAX_M 8

static const char *const words[] = {"apple",  "river",  "candle", "garden", "silver",  "thunder",
                                    "pepper", "harbor", "window", "meadow", "lantern", "copper",
                                    "falcon", "marble", "orchid", "saddle", "tunnel"};

/* ---- the session and the rules ---- */

/* Role answers are generic (as examples/make_scripted.py writes them); the task steps pass a
 * word along, step 1 losing it on about a quarter of the inputs and step m/2 + 1 on another
 * quarter, chosen by a hash of the request, so the batch has bad cases and candidates change
 * outputs. */
static void write_rules(const char *path, int m)
{
	cJSON *root = cJSON_CreateObject(), *R = cJSON_AddArrayToObject(root, "rules");
	bench_add_role_rules(
	    R, "<summary>LLM steps pass one word along: the first finds it in the text, the next "
	       "copy it, the last writes it as the answer (exact match).</summary>");
	static const char *const lossy[] = {"${w}", "${w}", "${w}", "none", NULL};
	for (int k = 1; k <= m; k++) {
		char *rx = xasprintf(k == 1 ? "(?s)Step %d\\..*?Text: Item \\d+: (?<w>\\w+)"
		                            : "(?s)Step %d\\..*?Word: (?<w>\\S+)",
		                     k);
		bool loses = k == 1 || k == m / 2 + 1;
		bench_add_rule(R, rx, loses ? NULL : "${w}", loses ? lossy : NULL, 0);
		free(rx);
	}
	cJSON_AddStringToObject(root, "fallback", "I do not know.");
	bench_write_json(path, root);
}

static void add_model(cJSON *models, const char *name, const char *base)
{
	cJSON *m = cJSON_AddObjectToObject(models, name);
	cJSON_AddStringToObject(m, "provider", "openai");
	cJSON_AddStringToObject(m, "base_url", base);
	cJSON_AddStringToObject(m, "model", name);
	cJSON_AddNumberToObject(m, "concurrency", CONC);
	cJSON_AddNumberToObject(m, "price_in", 0.15);
	cJSON_AddNumberToObject(m, "price_out", 0.6);
}

static void add_step(cJSON *steps, const char *id, const char *prompt, const char *var,
                     const char *from)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "id", id);
	cJSON_AddStringToObject(s, "type", "llm");
	cJSON_AddStringToObject(s, "model", "task");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "inputs"), var, from);
	cJSON_AddStringToObject(s, "prompt", prompt);
	cJSON_AddItemToArray(steps, s);
}

static void add_examples(cJSON *ds, const char *split, int n, int first)
{
	cJSON *a = cJSON_AddArrayToObject(ds, split);
	for (int i = first; i < first + n; i++) {
		char id[32], q[64];
		const char *w = words[(size_t)i * 7 % ARRAY_SIZE(words)];
		snprintf(id, sizeof id, "%s%d", split, i);
		snprintf(q, sizeof q, "Item %d: %s", i, w);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "question", q);
		cJSON_AddStringToObject(e, "answer", w);
		cJSON_AddItemToArray(a, e);
	}
}

static void write_session(const char *path, const char *base, int m, bool overlap)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", "adopt-session");
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "bench-chain");
	cJSON *models = cJSON_AddObjectToObject(root, "models");
	add_model(models, "task", base);
	add_model(models, "optimizer", base);
	cJSON *pl = cJSON_AddObjectToObject(root, "pipeline");
	cJSON *steps = cJSON_AddArrayToObject(pl, "steps");
	for (int k = 1; k <= m; k++) {
		char id[16], from[32], *prompt;
		snprintf(id, sizeof id, "s%d", k);
		snprintf(from, sizeof from, "steps.s%d.output", k - 1);
		if (k == 1)
			prompt =
			    xasprintf("Step 1. Find the word in the text.\nText: {{q}}\nOutput:");
		else if (k < m)
			prompt = xasprintf("Step %d. Copy the word.\nWord: {{x}}\nOutput:", k);
		else
			prompt = xasprintf("Step %d. Write the answer.\nWord: {{x}}\nAnswer:", k);
		add_step(steps, id, prompt, k == 1 ? "q" : "x", k == 1 ? "input.question" : from);
		free(prompt);
	}
	char out[16];
	snprintf(out, sizeof out, "s%d", m);
	cJSON_AddStringToObject(pl, "output", out);
	cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
	add_examples(ds, "train", 64, 1);
	add_examples(ds, "val", 32, 101);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "metric"), "type", "exact_match");
	cJSON *o = cJSON_AddObjectToObject(root, "optimizer");
	cJSON_AddNumberToObject(o, "seed", 3);
	cJSON_AddNumberToObject(o, "batch_size", 32);
	cJSON_AddNumberToObject(o, "minibatch_good", 5);
	cJSON_AddNumberToObject(o, "minibatch_bad", 5);
	cJSON_AddNumberToObject(o, "val_size", N_VAL);
	cJSON_AddNumberToObject(o, "budget_total", 2 * m);
	cJSON_AddNumberToObject(o, "budget_floor", 1);
	cJSON_AddNumberToObject(o, "eval_budget", m + 8);
	cJSON_AddStringToObject(o, "step_optimizer", "instruct");
	cJSON_AddStringToObject(o, "role_model", "optimizer");
	cJSON_AddBoolToObject(o, "overlap", overlap);
	bench_write_json(path, root);
}

/* ---- measurement ---- */

#define MAX_ROUNDS 64

struct phase_rec {
	bool ran;
	double t0, t1;
	long req0, req1;
	/* evaluation rounds (selection, shapley): requests sent up to each burst of EV_EVAL_DONE,
	 * and the evaluations in the burst */
	long round_req[MAX_ROUNDS];
	double round_t[MAX_ROUNDS];
	int round_evals[MAX_ROUNDS];
	size_t n_rounds;
	long last_burst_wait;
};

struct ctx {
	struct llm *llm;
	struct engine *en;
	int m;
	struct phase_rec ph[PHASE_COUNT];
	long waits;         /* llm_wait calls so far: events between two belong to one burst */
	enum phase running; /* the phase of the last EV_PHASE_STARTED */
	char error[256];
	struct session *s;
};

static long requests(const struct ctx *c)
{
	struct llm_stats st;
	llm_get_stats(c->llm, &st);
	return st.network_requests;
}

static void on_event(void *arg, const struct engine_event *ev)
{
	struct ctx *c = arg;
	if (ev->kind == EV_PHASE_STARTED)
		c->running = ev->phase;
	struct phase_rec *p = &c->ph[c->running];
	switch (ev->kind) {
	case EV_PHASE_STARTED:
		p->ran = true;
		p->t0 = now_s();
		p->req0 = requests(c);
		p->last_burst_wait = -1;
		break;
	case EV_PHASE_FINISHED:
		p->t1 = now_s();
		p->req1 = requests(c);
		break;
	case EV_EVAL_DONE:
		if (p->last_burst_wait != c->waits && p->n_rounds < MAX_ROUNDS) {
			p->round_t[p->n_rounds] = now_s();
			p->round_evals[p->n_rounds] = 0;
			p->round_req[p->n_rounds++] = requests(c);
			p->last_burst_wait = c->waits;
		}
		if (p->n_rounds)
			p->round_evals[p->n_rounds - 1]++;
		break;
	case EV_ERROR:
		if (!c->error[0])
			snprintf(c->error, sizeof c->error, "%s", ev->message);
		break;
	default:
		break;
	}
}

/* max(chain, ceil(n / CONC)) latency waves; 0 when nothing was sent */
static long waves(long n, long chain)
{
	if (n <= 0)
		return 0;
	long w = (n + CONC - 1) / CONC;
	return w > chain ? w : chain;
}

/* The lower bound of a phase in latency waves: within a phase, requests that depend on each
 * other cannot overlap, and at most CONC are in flight.  Chains: forward CHAIN (each example
 * runs the 4 steps in order); analysis 2 (E1 then E2 per step); gradient 2 (E3 then E4 per
 * case); local, pseudo-labels, candidates 1.  Selection and Shapley run in rounds of
 * evaluations (the initial design in parallel, then one BO suggestion at a time); a round is
 * delimited by a burst of EV_EVAL_DONE events, and its chain is CHAIN for the first selection
 * round (the incumbent on a fresh validation sample runs all 4 steps), else
 * min(CHAIN, ceil(requests / N_VAL)) (some example of the round runs at least that many
 * requests one after the other). */
static long bound_waves(const struct phase_rec *p, enum phase ph)
{
	long n = p->req1 - p->req0;
	switch (ph) {
	case PHASE_FORWARD:
		return waves(n, CHAIN);
	case PHASE_ANALYSIS:
	case PHASE_GRADIENT:
		return waves(n, n >= 2 ? 2 : 1);
	case PHASE_SELECTION:
	case PHASE_SHAPLEY: {
		long w = 0, prev = p->req0;
		for (size_t r = 0; r <= p->n_rounds; r++) {
			long upto = r < p->n_rounds ? p->round_req[r] : p->req1;
			long k = upto - prev;
			long chain = ph == PHASE_SELECTION && r == 0
			                 ? CHAIN
			                 : MIN(CHAIN, (k + N_VAL - 1) / N_VAL);
			w += waves(k, chain);
			prev = upto;
		}
		return w;
	}
	default:
		return waves(n, 1);
	}
}

/* ---- part 2: the bound without barriers ----
 * With no barrier between phases, an iteration still has two stretches that cannot overlap:
 * the search needs every step's candidates, and the candidates need the analyses of the forward
 * pass.  A lower bound in latency waves:
 *   A (forward pass and roles) = max(m + 5, ceil(N_task / CONC), ceil(N_role / CONC)): the
 *     longest chain is the forward pass (m steps of one example in a row) then E3, E4, E5,
 *     E6 and the candidates (E1 reads the program only, E2 needs E1 and the forward pass and
 *     runs beside E3 and E4); the task and role models each take CONC requests at a time;
 *   B (selection and Shapley) = sum over rounds r of max(chain_r, ceil(N_r / CONC)): a round is
 *     the evaluations launched together (the initial design, then each batch of the search's
 *     proposals, then Shapley's), delimited by a burst of EV_EVAL_DONE; they depend on the
 *     rounds before.  chain_r is m for the first round (the incumbent on a fresh validation
 *     sample), else min(m, ceil(N_r / (N_VAL e_r))) for e_r evaluations in the round (one of
 *     them makes at least N_r / e_r requests, so one of its examples at least that many over
 *     N_VAL in a row).
 * The bound is A + B, from the requests this run sent and the rounds its search made. */
struct tag_req {
	long task, role;
};

static void count_tag(void *arg, const char *tag, const struct llm_stats *st)
{
	struct tag_req *t = arg;
	if (!strncmp(tag, "forward/", 8))
		t->task += st->network_requests;
	else if (!strncmp(tag, "role:", 5))
		t->role += st->network_requests;
}

static long search_waves(const struct ctx *c, long *rounds)
{
	long w = 0;
	*rounds = 0;
	for (int ph = PHASE_SELECTION; ph <= PHASE_SHAPLEY; ph++) {
		const struct phase_rec *p = &c->ph[ph];
		if (!p->ran)
			continue;
		long prev = p->req0;
		for (size_t r = 0; r <= p->n_rounds; r++) {
			long upto = r < p->n_rounds ? p->round_req[r] : p->req1;
			long k = upto - prev, e = r < p->n_rounds ? MAX(p->round_evals[r], 1) : 1;
			long chain = ph == PHASE_SELECTION && r == 0
			                 ? c->m
			                 : MIN(c->m, (k + N_VAL * e - 1) / (N_VAL * e));
			w += waves(k, chain);
			*rounds += k > 0;
			prev = upto;
		}
	}
	return w;
}

static long nobarrier_waves(const struct ctx *c, long *a, long *b, long *rounds)
{
	struct tag_req t = {0};
	llm_foreach_tag(c->llm, count_tag, &t);
	*a = MAX(waves(t.task, c->m + 5), waves(t.role, 1));
	*b = search_waves(c, rounds);
	return *a + *b;
}

/* One iteration on a chain of m steps; c keeps the engine and the LLM layer for the report.
 * -1 when it failed, 1 when there is no test server (skipped). */
static int run_once(const char *latency, int m, bool overlap, struct ctx *c, double *wall,
                    double *cpu)
{
	char *dir = bench_tmpdir("engine");
	char *rules = xasprintf("%s/rules.json", dir), *session = xasprintf("%s/session.json", dir);
	write_rules(rules, m);
	struct bench_server srv;
	const char *args[] = {"--rules", rules, "--latency-ms", latency, NULL};
	int rc = -1;
	if (bench_server_start(&srv, args) < 0) {
		printf("engine_iter: skipped (no test server)\n");
		rc = 1;
		goto out;
	}
	write_session(session, srv.base_v1, m, overlap);
	struct diag d = {0};
	struct session *s = session_load(session, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	memset(c, 0, sizeof *c);
	c->m = m;
	struct err e = {{0}};
	struct llm_options lo = {.no_cache = true, .seed = 3};
	struct engine_opts eo = {.auto_accept = true};
	if (!s || !(c->llm = llm_new(&lo, &e)) ||
	    !(c->en = engine_new(s, c->llm, &eo, on_event, c, &e))) {
		fprintf(stderr, "engine_iter: %s\n", e.msg);
		goto stop;
	}
	double t0 = now_s(), cpu0 = bench_cpu_s();
	if (engine_run(c->en, 1) < 0) {
		fprintf(stderr, "engine_run: %s\n", engine_pause_reason(c->en));
		goto stop;
	}
	while (engine_running(c->en) && now_s() - t0 < 300) {
		if (engine_busy(c->en)) {
			c->waits++;
			if (llm_wait(c->llm, NULL, 0, 250) < 0)
				break;
		}
		engine_poll(c->en);
	}
	*wall = now_s() - t0, *cpu = bench_cpu_s() - cpu0;
	const struct iteration *it = engine_current(c->en);
	if (!it || it->phase < PHASE_COUNT)
		fprintf(stderr, "engine_iter: the iteration did not finish%s%s\n",
		        c->error[0] ? ": " : "", c->error);
	else
		rc = 0;
stop:
	bench_server_stop(&srv);
	if (rc < 0) {
		if (c->en)
			engine_free(c->en);
		llm_free(c->llm);
		session_free(s);
		c->en = NULL, c->llm = NULL;
	} else {
		c->s = s;
	}
out:
	bench_rmdir(dir);
	free(dir);
	free(rules);
	free(session);
	return rc;
}

static void run_free(struct ctx *c)
{
	engine_free(c->en);
	llm_free(c->llm);
	session_free(c->s);
}

static int part2(void)
{
	const char *latency = "500";
	printf("engine_iter part 2: one iteration against the bound without barriers, "
	       "concurrency %d, latency %s ms\n",
	       CONC, latency);
	printf("  %2s %-7s %8s %13s %8s %7s %6s %9s %6s %7s  %s\n", "m", "overlap", "wall s",
	       "A s + B s", "requests", "waves A", "B", "bound s", "ratio", "rounds", "validation");
	static const int ms[] = {4, 8};
	for (size_t k = 0; k < ARRAY_SIZE(ms); k++) {
		double wall_off = 0;
		for (int on = 0; on <= 1; on++) {
			struct ctx c;
			double wall, cpu;
			int rc = run_once(latency, ms[k], on, &c, &wall, &cpu);
			if (rc)
				return rc < 0;
			long a, b, rounds, w = nobarrier_waves(&c, &a, &b, &rounds);
			double bound = (double)w * atof(latency) / 1000;
			struct llm_stats st;
			llm_get_stats(c.llm, &st);
			const struct iteration *it = engine_current(c.en);
			/* A's wall: to the end of the candidates; B's: the rest */
			double ta = c.ph[PHASE_CANDIDATES].t1 - c.ph[PHASE_FORWARD].t0;
			printf("  %2d %-7s %8.3f %6.2f + %5.2f %8ld %7ld %6ld %9.3f %5.2fx %7ld  "
			       "%.3f -> "
			       "%.3f, %zu evaluations",
			       ms[k], on ? "on" : "off", wall, ta, wall - ta, st.network_requests,
			       a, b, bound, wall / bound, rounds, it->base_score, it->best_score,
			       it->n_evals);
			if (on)
				printf("; %.2fx faster", wall_off / wall);
			printf("\n");
			wall_off = wall;
			run_free(&c);
		}
	}
	return 0;
}

static int part1(const char *latency)
{
	double lat_s = atof(latency) / 1000;
	struct ctx c;
	double wall, cpu;
	int rc = run_once(latency, CHAIN, false, &c, &wall, &cpu);
	if (rc)
		return rc < 0;
	const struct iteration *it = engine_current(c.en);
	printf(
	    "engine_iter: one ADOPT iteration, 4-step LLM chain, batch 32, validation sample %d, "
	    "concurrency %d, server latency %s ms, overlap off\n",
	    N_VAL, CONC, latency);
	printf("  %-16s %8s %8s %6s %9s %7s\n", "phase", "wall s", "requests", "waves", "bound s",
	       "ratio");
	long total_waves = 0, total_req = 0;
	for (int p = 0; p < PHASE_COUNT; p++) {
		const struct phase_rec *r = &c.ph[p];
		if (!r->ran)
			continue;
		long w = bound_waves(r, (enum phase)p);
		total_waves += w;
		total_req += r->req1 - r->req0;
		double t = r->t1 - r->t0;
		char ratio[16] = "-";
		if (w)
			snprintf(ratio, sizeof ratio, "%.2fx", t / ((double)w * lat_s));
		printf("  %-16s %8.3f %8ld %6ld %9.3f %7s\n", phase_name((enum phase)p), t,
		       r->req1 - r->req0, w, (double)w * lat_s, ratio);
		if (r->n_rounds > 1) { /* rounds: requests/seconds each */
			printf("    rounds (requests, s):");
			long prev = r->req0;
			double tp = r->t0;
			for (size_t k = 0; k < r->n_rounds; k++) {
				printf(" %ld/%.2f", r->round_req[k] - prev, r->round_t[k] - tp);
				prev = r->round_req[k];
				tp = r->round_t[k];
			}
			printf("\n");
		}
	}
	double bound = (double)total_waves * lat_s;
	printf(
	    "  iteration: wall %.3f s, critical-path bound %ld waves x %.0f ms = %.3f s -> %.2fx "
	    "(target <= 1.3x: %s); own CPU %.2f s\n",
	    wall, total_waves, lat_s * 1e3, bound, wall / bound,
	    wall / bound <= 1.3 ? "met" : "MISSED", cpu);
	struct llm_stats st;
	llm_get_stats(c.llm, &st);
	struct engine_totals t;
	engine_totals(c.en, &t);
	long no_memo = st.submitted + t.memo_hits;
	printf("  train %.3f, validation %.3f -> %.3f, %zu evaluations, %zu bad cases\n",
	       it->train_score, it->base_score, it->best_score, it->n_evals, it->n_bad);
	printf("  LLM calls: %ld submitted (%ld shared an identical request in flight), %ld HTTP "
	       "requests, %ld step executions answered by the runner's memo\n",
	       st.submitted, st.deduplicated, st.network_requests, t.memo_hits);
	printf("  without the memo: %ld calls (submitted + memo hits); with it %ld HTTP requests "
	       "-> %.2fx (target <= 0.5x: %s)\n",
	       no_memo, st.network_requests, (double)st.network_requests / (double)no_memo,
	       (double)st.network_requests / (double)no_memo <= 0.5 ? "met" : "MISSED");
	if (total_req != st.network_requests)
		printf("  (requests outside phases: %ld)\n", st.network_requests - total_req);
	run_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *latency = "200";
	int part = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--latency-ms"))
			latency = argv[i + 1];
		else if (!strcmp(argv[i], "--part"))
			part = atoi(argv[i + 1]);
	}
	int rc = 0;
	if (part != 2)
		rc |= part1(latency);
	if (part != 1)
		rc |= part2();
	return rc;
}

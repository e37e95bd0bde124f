/* batch.c: the headless front end.  --check validates, --eval runs the pipeline on a split and
 * reports the score (text or JSON), --run drives the ADOPT engine for N iterations.  It shares
 * the engine and the LLM layer with the workbench; it only prints, and every text it prints
 * (session strings, server errors, model text) goes through core/termsafe.h: no escape
 * sequence or control character reaches the terminal, no key is shown. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "core/metric.h"
#include "core/session.h"
#include "core/termsafe.h"
#include "engine/engine.h"
#include "engine/run.h"
#include "final_test.h"
#include "llm/llm.h"
#include "llm/rules.h"

/* The scripted models' rules files, read and validated as a run would load them. */
static int check_rules(const struct session *s)
{
	int bad = 0;
	for (size_t i = 0; i < s->n_models; i++) {
		const struct model_config *m = &s->models[i];
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen =
			    s->models[k].rules && m->rules && !strcmp(s->models[k].rules, m->rules);
		if (!m->rules || seen || strcmp(m->provider, "scripted") != 0)
			continue;
		struct err e = {{0}};
		struct rules *r = rules_load(m->rules, &e);
		if (!r) {
			fprintf(stderr, "%s\n", e.msg);
			bad++;
		}
		rules_free(r);
	}
	return bad;
}

int batch_check(const struct front_opts *o)
{
	struct session *s = front_load(o);
	if (!s)
		return ADOPT_EXIT_INVALID;
	if (check_rules(s)) {
		session_free(s);
		return ADOPT_EXIT_INVALID;
	}
	size_t total = 0;
	for (int i = 0; i < SPLIT_COUNT; i++)
		total += s->data.splits[i].n;
	for (size_t i = 0; i < s->warnings.n; i++)
		term_printf(stderr, "adopt-tui: warning: %s\n", s->warnings.msgs[i]);
	term_printf(
	    stdout,
	    "%s: ok: %zu steps, %zu loops, %zu examples (train %zu, val %zu, test %zu), metric "
	    "%s\n",
	    o->session, s->n_steps, s->n_loops, total, s->data.splits[SPLIT_TRAIN].n,
	    s->data.splits[SPLIT_VAL].n, s->data.splits[SPLIT_TEST].n, metric_name(s->metric));
	session_free(s);
	return 0;
}

/* Everything a headless command needs: the session, the LLM layer, and for --eval a runner
 * (--run's engine has its own). */
struct headless {
	struct front_env env;
	struct runner *runner;
};

static int headless_open(struct headless *h, const struct front_opts *o)
{
	h->runner = NULL;
	return front_open(o, &h->env);
}

static void headless_close(struct headless *h)
{
	runner_free(h->runner);
	front_close(&h->env);
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Ctrl-C, kill and a closed terminal or ssh session (SIGHUP) all stop the work and save what
 * finished. */
static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP};

struct saved_signals {
	struct sigaction old[ARRAY_SIZE(quit_signals)];
};

static void signals_catch(struct saved_signals *sv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaction(quit_signals[i], &sa, &sv->old[i]);
}

static void signals_restore(const struct saved_signals *sv)
{
	for (size_t i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaction(quit_signals[i], &sv->old[i], NULL);
}

static void progress(const struct headless *h, struct run_batch *b, bool final)
{
	if (!isatty(2))
		return;
	struct llm_stats st;
	llm_get_stats(h->env.llm, &st);
	fprintf(stderr, "\r\033[K%zu/%zu done  in flight %ld  retrying %ld  tokens %ld  $%.4f%s",
	        run_batch_finished(b), run_batch_count(b), st.in_flight, st.retrying,
	        st.tokens_in + st.tokens_out, st.cost_usd, final ? "\n" : "");
}

/* Waits until the batch is done (or Ctrl-C), showing progress on a terminal. */
static int wait_batch(struct headless *h, struct run_batch *b)
{
	struct saved_signals sv;
	signals_catch(&sv);
	while (!run_batch_done(b) && !interrupted) {
		if (llm_wait(h->env.llm, NULL, 0, 250) < 0)
			break;
		progress(h, b, false);
	}
	progress(h, b, true);
	signals_restore(&sv);
	return run_batch_done(b) ? 0 : -1;
}

/* After the report: 1 when a request failed for good, else 4 when the score is below
 * --min-score, else 0 (said on stderr, so that a log explains the status). */
static int exit_status(const struct headless *h, const struct front_opts *o, double score)
{
	struct llm_stats st;
	llm_get_stats(h->env.llm, &st);
	if (st.failed > 0) {
		term_printf(stderr, "adopt-tui: %ld request%s failed; exit status %d\n", st.failed,
		            st.failed == 1 ? "" : "s", ADOPT_EXIT_FAILED);
		return ADOPT_EXIT_FAILED;
	}
	if (o->min_score >= 0 && !(score >= o->min_score)) {
		term_printf(stderr,
		            "adopt-tui: score %.4f is below --min-score %g; exit status %d\n",
		            score, o->min_score, ADOPT_EXIT_SCORE);
		return ADOPT_EXIT_SCORE;
	}
	return ADOPT_EXIT_OK;
}

struct step_totals {
	long runs, errors, parse_misses, tok_in, tok_out, cached, memo;
	long tok_prompt_cached, tok_reasoning, estimated;
	long cut; /* answers cut by the token limit (errors too when the model says so) */
	double latency, queued, cost;
};

static void eval_text(const struct headless *h, const struct front_opts *o, struct run_batch *b,
                      const struct step_totals *tot, double elapsed)
{
	const struct session *s = h->env.s;
	size_t n = run_batch_count(b), good = 0, errors = 0;
	for (size_t i = 0; i < n; i++) {
		good += run_batch_trace(b, i)->good;
		errors += run_batch_trace(b, i)->error != NULL;
	}
	term_printf(stdout, "%s: split %s, %zu examples%s\n", s->name, o->split, n,
	            h->env.scripted ? "  [scripted model: a stand-in, not a real LLM]" : "");
	term_printf(stdout, "  score %.4f (%s)   good %zu  bad %zu  errors %zu\n",
	            run_batch_score(b), metric_name(s->metric), good, n - good, errors);
	/* avg ms: on the wire (or running, for code steps); queued: waiting for a slot first */
	term_printf(stdout, "  %-16s %-9s %6s %7s %9s %9s %9s %9s %9s\n", "step", "kind", "runs",
	            "errors", "avg ms", "queued ms", "tokens", "reasoning", "cost $");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step_totals *t = &tot[i];
		double runs = t->runs ? (double)t->runs : 1;
		term_printf(stdout, "  %-16s %-9s %6ld %7ld %9.1f %9.1f %9ld %9ld %s%*.4f\n",
		            s->steps[i].id, step_kind_name(s->steps[i].kind), t->runs, t->errors,
		            1000.0 * t->latency / runs, 1000.0 * t->queued / runs,
		            t->tok_in + t->tok_out, t->tok_reasoning, t->estimated ? "~" : "",
		            t->estimated ? 8 : 9, t->cost);
	}
	long cut = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		cut += tot[i].cut;
	if (cut)
		printf("  %ld answers cut by the token limit (finish reason length or max_tokens): "
		       "raise max_tokens\n",
		       cut);
	for (size_t i = 0, shown = 0; i < n && shown < 5; i++) {
		const struct trace *t = run_batch_trace(b, i);
		if (t->error) {
			char *m = term_line(t->error);
			term_printf(stdout, "  error in %s: %s\n",
			            s->data.splits[t->split].ex[t->example].id, m);
			free(m);
			shown++;
		}
	}
	struct llm_stats st;
	llm_get_stats(h->env.llm, &st);
	term_printf(stdout,
	            "  requests %ld (cached %ld)  tokens in %ld out %ld  cost %s$%.4f  time %.2f "
	            "s\n",
	            st.network_requests, st.cached, st.tokens_in, st.tokens_out,
	            st.estimated ? "~" : "", st.cost_usd, elapsed);
	if (st.tokens_prompt_cached || st.tokens_cache_write || st.tokens_reasoning ||
	    st.tokens_reused || st.estimated)
		term_printf(stdout,
		            "  tokens: %ld provider-cached, %ld cache writes, %ld reasoning, %ld "
		            "reused from the response cache; %ld requests estimated (cut before "
		            "their usage)\n",
		            st.tokens_prompt_cached, st.tokens_cache_write, st.tokens_reasoning,
		            st.tokens_reused, st.estimated);
}

/* The details of the billed tokens (--json): provider-cached and cache-write prompt tokens,
 * reasoning tokens, tokens of answers reused from our response cache, estimated counts. */
static void tokens_json(cJSON *o, const struct llm_stats *st)
{
	const struct {
		const char *name;
		long n;
	} f[] = {{"tokens_prompt_cached", st->tokens_prompt_cached},
	         {"tokens_cache_write", st->tokens_cache_write},
	         {"tokens_reasoning", st->tokens_reasoning},
	         {"tokens_reused", st->tokens_reused},
	         {"estimated_requests", st->estimated},
	         {"billed_failures", st->billed_failures}};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		cJSON_AddNumberToObject(o, f[i].name, (double)f[i].n);
}

/* Per-replica figures of the models whose base_url lists several (--json "replicas"). */
static void replica_json(void *arg, const struct llm_replica *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", r->model);
	cJSON_AddStringToObject(o, "url", r->url);
	const struct {
		const char *name;
		long n;
	} f[] = {{"requests", r->requests},
	         {"errors", r->errors},
	         {"answered", r->answered},
	         {"in_flight", r->in_flight}};
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		cJSON_AddNumberToObject(o, f[i].name, (double)f[i].n);
	cJSON_AddNumberToObject(o, "mean_latency_s", r->mean_latency_s);
	cJSON_AddStringToObject(o, "state", r->state);
	cJSON_AddItemToArray(arg, o);
}

static void replicas_json(cJSON *o, const struct llm *l)
{
	cJSON *a = cJSON_CreateArray();
	if (l)
		llm_foreach_replica(l, replica_json, a);
	if (cJSON_GetArraySize(a))
		cJSON_AddItemToObject(o, "replicas", a);
	else
		cJSON_Delete(a);
}

static void eval_json(const struct headless *h, const struct front_opts *o, struct run_batch *b,
                      const struct step_totals *tot, double elapsed)
{
	const struct session *s = h->env.s;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "session", o->session);
	cJSON_AddStringToObject(r, "split", o->split);
	cJSON_AddStringToObject(r, "metric", metric_name(s->metric));
	cJSON_AddBoolToObject(r, "scripted_model", h->env.scripted);
	size_t n = run_batch_count(b), good = 0;
	cJSON_AddNumberToObject(r, "score", run_batch_score(b));
	cJSON_AddNumberToObject(r, "examples_count", (double)n);
	cJSON *ex = cJSON_AddArrayToObject(r, "examples");
	for (size_t i = 0; i < n; i++) {
		const struct trace *t = run_batch_trace(b, i);
		const struct example *e = &s->data.splits[t->split].ex[t->example];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", e->id);
		cJSON_AddStringToObject(j, "prediction", t->prediction ? t->prediction : "");
		cJSON *golds = cJSON_AddArrayToObject(j, "gold");
		for (size_t g = 0; g < e->n_golds; g++)
			cJSON_AddItemToArray(golds, cJSON_CreateString(e->golds[g]));
		cJSON_AddNumberToObject(j, "score", t->score);
		cJSON_AddBoolToObject(j, "good", t->good);
		if (t->error)
			cJSON_AddStringToObject(j, "error", t->error);
		cJSON *cut = NULL; /* the steps whose answer the token limit cut */
		for (size_t k = 0; k < t->n; k++)
			if (t->steps[k].cut) {
				if (!cut)
					cut = cJSON_AddArrayToObject(j, "cut");
				cJSON_AddItemToArray(
				    cut, cJSON_CreateString(s->steps[t->steps[k].step].id));
			}
		cJSON_AddItemToArray(ex, j);
		good += t->good;
	}
	cJSON_AddNumberToObject(r, "good", (double)good);
	cJSON_AddNumberToObject(r, "bad", (double)(n - good));
	cJSON *steps = cJSON_AddArrayToObject(r, "steps");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step_totals *t = &tot[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "id", s->steps[i].id);
		cJSON_AddStringToObject(j, "kind", step_kind_name(s->steps[i].kind));
		cJSON_AddNumberToObject(j, "runs", (double)t->runs);
		cJSON_AddNumberToObject(j, "errors", (double)t->errors);
		cJSON_AddNumberToObject(j, "parse_misses", (double)t->parse_misses);
		cJSON_AddNumberToObject(j, "cut", (double)t->cut);
		cJSON_AddNumberToObject(j, "latency_s", t->latency);
		cJSON_AddNumberToObject(j, "queued_s", t->queued);
		cJSON_AddNumberToObject(j, "tokens_in", (double)t->tok_in);
		cJSON_AddNumberToObject(j, "tokens_out", (double)t->tok_out);
		cJSON_AddNumberToObject(j, "tokens_prompt_cached", (double)t->tok_prompt_cached);
		cJSON_AddNumberToObject(j, "tokens_reasoning", (double)t->tok_reasoning);
		cJSON_AddNumberToObject(j, "estimated", (double)t->estimated);
		cJSON_AddNumberToObject(j, "cost_usd", t->cost);
		cJSON_AddNumberToObject(j, "cached", (double)t->cached);
		cJSON_AddItemToArray(steps, j);
	}
	struct llm_stats st;
	llm_get_stats(h->env.llm, &st);
	struct runner_stats rs;
	runner_get_stats(h->runner, &rs);
	cJSON *tot_j = cJSON_AddObjectToObject(r, "totals");
	cJSON_AddNumberToObject(tot_j, "requests", (double)st.network_requests);
	cJSON_AddNumberToObject(tot_j, "llm_calls", (double)rs.llm_calls);
	cJSON_AddNumberToObject(tot_j, "cached", (double)st.cached);
	cJSON_AddNumberToObject(tot_j, "memo_hits", (double)rs.memo_hits);
	cJSON_AddNumberToObject(tot_j, "deduplicated", (double)st.deduplicated);
	cJSON_AddNumberToObject(tot_j, "failed", (double)st.failed);
	cJSON_AddNumberToObject(tot_j, "tokens_in", (double)st.tokens_in);
	cJSON_AddNumberToObject(tot_j, "tokens_out", (double)st.tokens_out);
	tokens_json(tot_j, &st);
	cJSON_AddNumberToObject(tot_j, "cost_usd", st.cost_usd);
	cJSON_AddNumberToObject(tot_j, "elapsed_s", elapsed);
	replicas_json(r, h->env.llm);
	term_json_doc(stdout, r);
	cJSON_Delete(r);
}

int batch_eval(const struct front_opts *o)
{
	struct headless h;
	int rc = headless_open(&h, o);
	if (rc) {
		headless_close(&h);
		return rc;
	}
	enum split_id split = (enum split_id)split_from_name(o->split);
	const struct split *sp = &h.env.s->data.splits[split];
	size_t n = sp->n;
	if (o->limit >= 0 && (size_t)o->limit < n)
		n = (size_t)o->limit;
	if (n == 0) {
		int none_rc = sp->n ? 2 : 1; /* sp goes with the session */
		if (sp->n)
			term_printf(
			    stderr,
			    "adopt-tui: --limit 0 leaves nothing to evaluate (the %s split has "
			    "%zu examples)\n",
			    o->split, sp->n);
		else
			term_printf(stderr, "adopt-tui: %s: the %s split has no examples\n",
			            o->session, o->split);
		headless_close(&h);
		return none_rc;
	}
	size_t *idx = xcalloc(n, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	double t0 = now_s();
	h.runner = runner_new(h.env.s, h.env.llm, o->trust);
	struct run_batch *b = runner_start(h.runner, NULL, split, idx, n, "eval", NULL);
	if (wait_batch(&h, b) < 0) {
		term_printf(stderr, "adopt-tui: interrupted; %zu of %zu examples finished\n",
		            run_batch_finished(b), n);
		run_batch_free(b);
		free(idx);
		headless_close(&h);
		return 130;
	}
	double elapsed = now_s() - t0;
	struct step_totals *tot = xcalloc(h.env.s->n_steps, sizeof *tot);
	for (size_t i = 0; i < n; i++) {
		const struct trace *t = run_batch_trace(b, i);
		for (size_t k = 0; k < t->n; k++) {
			const struct trace_step *ts = &t->steps[k];
			struct step_totals *st = &tot[ts->step];
			st->runs++;
			st->errors += ts->error != NULL;
			st->parse_misses += ts->parse_miss;
			st->cut += ts->cut;
			st->latency += ts->latency_s;
			st->queued += ts->queued_s;
			st->tok_in += ts->tok_in;
			st->tok_out += ts->tok_out;
			st->tok_prompt_cached += ts->tok_cached;
			st->tok_reasoning += ts->tok_reasoning;
			st->estimated += ts->estimated && !ts->scripted;
			st->cost += ts->cost_usd;
			st->cached += ts->cached || ts->memo;
		}
	}
	if (o->json)
		eval_json(&h, o, b, tot, elapsed);
	else
		eval_text(&h, o, b, tot, elapsed);
	rc = exit_status(&h, o, run_batch_score(b));
	free(tot);
	run_batch_free(b);
	free(idx);
	headless_close(&h);
	return rc;
}

/* ---- --run: the ADOPT loop headless ---- */

struct run_ctx {
	struct headless *h;
	const struct front_opts *o;
	struct engine *en;
	bool save_failed;
	/* what the run was projected to cost before it started, per phase and in total */
	struct cost_projection per[PHASE_COUNT], total;
	/* per iteration and in total, with the range of what the iterations accept */
	struct projection_range *range, range_total;
	int n_range;
	char *cap_note; /* a cap the run would pass (engine_range_over_cap), or NULL */
	/* per iteration and in total, at the odds of acceptance (engine_project_expected) */
	double *expected, expected_total;
	int accepted, closed;
	/* --dry-run with local models only: the run played out (engine_simulate), else why not */
	struct engine_sim sim;
	bool simulated;
	char *not_simulated;
};

static void save_session(struct run_ctx *c)
{
	struct err e = {{0}};
	engine_store(c->en);
	if (session_save(c->h->env.s, c->o->session, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		c->save_failed = true;
	}
}

static void on_engine_event(void *arg, const struct engine_event *ev)
{
	struct run_ctx *c = arg;
	switch (ev->kind) {
	case EV_PHASE_STARTED:
		term_printf(stderr, "iteration %d: %s...\n", ev->iteration, phase_name(ev->phase));
		break;
	case EV_PHASE_FINISHED:
	case EV_ERROR:
	case EV_PAUSED: {
		char *m = term_line(ev->message); /* a server's message may span lines */
		term_printf(stderr, "iteration %d: %s\n", ev->iteration, m);
		free(m);
		break;
	}
	case EV_ITERATION_DONE: {
		const struct iteration *it = engine_current(c->en);
		char kept[16] = "-"; /* what the decisions kept, as measured */
		if (it->kept_score >= 0)
			snprintf(kept, sizeof kept, "%.3f", it->kept_score);
		term_printf(stderr, "iteration %d done: train %.3f, validation %.3f -> %s\n",
		            it->number, it->train_score, it->base_score, kept);
		if (it->note)
			term_printf(stderr, "  note: %s\n", it->note);
		save_session(c);
		break;
	}
	default:
		break;
	}
}

/* A projection as --run --dry-run --json prints it, and beside each phase's actual cost. */
static cJSON *projection_json(const struct cost_projection *p)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "calls", (double)p->calls);
	cJSON_AddNumberToObject(j, "cached", (double)p->cached);
	cJSON_AddNumberToObject(j, "tokens_in", (double)p->tokens_in);
	cJSON_AddNumberToObject(j, "tokens_out", (double)p->tokens_out);
	cJSON_AddNumberToObject(j, "cost_usd", p->usd);
	return j;
}

static cJSON *projected_json(const struct phase_cost *c)
{
	struct cost_projection p = {c->projected_calls, c->projected_cached, c->projected_tokens_in,
	                            c->projected_tokens_out, c->projected_usd};
	return projection_json(&p);
}

/* Why the run ended, as a word: "interrupted", what stopped the engine early
 * (engine_stop_cause: "patience", "cost_cap", "token_cap", "error", "nothing_to_optimize"), or
 * "iterations" when it ran them all. */
static const char *run_stopped(const struct run_ctx *c)
{
	if (interrupted)
		return "interrupted";
	return engine_stop_cause(c->en) ? engine_stop_cause(c->en) : "iterations";
}

/* The scenarios of a later iteration's range (engine_project_range). */
#define RANGE_LOW                                                                                  \
	"nothing accepted, nothing left to fix (a quiet iteration: the memo and cache answer)"
#define RANGE_HIGH "the proposal is accepted (new prompts: a full iteration like the first)"
/* engine_project_expected's figure, in words */
#define EXPECTED_RULE                                                                              \
	"each later iteration at low + p (point - low), p the odds its proposal is accepted: "     \
	"(accepted + 1) / (closed + 2) over this session's closed iterations"

/* How a dry run's figures were made, as its text and JSON say it. */
#define BASIS_SIMULATED "simulated with the scripted model: exact"
#define FINAL_TEST_NOTE "not included: --final-test's scoring of the test split after the run"

static cJSON *phases_json(const struct cost_projection *per)
{
	cJSON *ph = cJSON_CreateObject();
	for (int p = 0; p < PHASE_DECISION; p++)
		cJSON_AddItemToObject(ph, phase_name((enum phase)p), projection_json(&per[p]));
	return ph;
}

/* A simulated run (--run --dry-run --json): the iterations played out, each exact. */
static void simulation_json(cJSON *j, const struct run_ctx *c)
{
	const struct engine_sim *sim = &c->sim;
	cJSON_AddItemToObject(j, "phases", phases_json(sim->per));
	cJSON_AddItemToObject(j, "total", projection_json(&sim->total));
	cJSON *per = cJSON_AddArrayToObject(j, "per_iteration");
	for (int i = 0; i <= sim->n; i++) {
		const struct cost_projection *t = i < sim->n ? &sim->iters[i].total : &sim->total;
		cJSON *o = i < sim->n ? cJSON_CreateObject() : cJSON_AddObjectToObject(j, "range");
		if (i < sim->n) {
			cJSON_AddNumberToObject(o, "number", sim->iters[i].number);
			cJSON_AddNumberToObject(o, "accepted", sim->iters[i].accepted);
		}
		cJSON_AddItemToObject(o, "low", projection_json(t));
		cJSON_AddItemToObject(o, "point", projection_json(t));
		cJSON_AddItemToObject(o, "high", projection_json(t));
		if (i < sim->n) {
			cJSON_AddItemToObject(o, "phases", phases_json(sim->iters[i].phase));
			cJSON_AddItemToArray(per, o);
		}
	}
	cJSON_AddStringToObject(j, "stopped", sim->stopped);
	if (sim->message)
		cJSON_AddStringToObject(j, "stopped_message", sim->message);
	if (c->o->final_test)
		cJSON_AddStringToObject(j, "note", FINAL_TEST_NOTE);
}

/* The projection of a run, per phase and in total (--run --json, --run --dry-run --json). */
static cJSON *run_projection_json(const struct run_ctx *c)
{
	cJSON *root = cJSON_CreateObject(), *j = root;
	cJSON_AddNumberToObject(j, "iterations", c->o->iterations);
	if (c->simulated) {
		cJSON_AddStringToObject(j, "basis", "simulated");
		cJSON_AddStringToObject(j, "basis_note", BASIS_SIMULATED);
		simulation_json(j, c);
		j = cJSON_AddObjectToObject(j, "estimate"); /* the rules' projection, beside it */
	} else {
		cJSON_AddStringToObject(j, "basis", "projected");
		if (c->not_simulated)
			cJSON_AddStringToObject(j, "basis_note", c->not_simulated);
	}
	cJSON *ph = cJSON_AddObjectToObject(j, "phases");
	for (int p = 0; p < PHASE_COUNT; p++)
		if (p < PHASE_DECISION)
			cJSON_AddItemToObject(ph, phase_name((enum phase)p),
			                      projection_json(&c->per[p]));
	cJSON_AddItemToObject(j, "total", projection_json(&c->total));
	cJSON *sc = cJSON_AddObjectToObject(j, "scenarios");
	cJSON_AddStringToObject(sc, "low", RANGE_LOW);
	cJSON_AddStringToObject(sc, "high", RANGE_HIGH);
	cJSON *per = cJSON_AddArrayToObject(j, "per_iteration");
	for (int i = 0; i <= c->n_range; i++) {
		const struct projection_range *r = i < c->n_range ? &c->range[i] : &c->range_total;
		cJSON *o =
		    i < c->n_range ? cJSON_CreateObject() : cJSON_AddObjectToObject(j, "range");
		cJSON_AddItemToObject(o, "low", projection_json(&r->low));
		cJSON_AddItemToObject(o, "point", projection_json(&r->point));
		cJSON_AddItemToObject(o, "high", projection_json(&r->high));
		cJSON_AddNumberToObject(o, "expected_usd",
		                        i < c->n_range ? c->expected[i] : c->expected_total);
		if (i < c->n_range)
			cJSON_AddItemToArray(per, o);
	}
	cJSON *ex = cJSON_AddObjectToObject(j, "expected");
	cJSON_AddNumberToObject(ex, "cost_usd", c->expected_total);
	cJSON_AddNumberToObject(ex, "accepted", c->accepted);
	cJSON_AddNumberToObject(ex, "closed", c->closed);
	cJSON_AddNumberToObject(ex, "accept_share", (c->accepted + 1.0) / (c->closed + 2.0));
	cJSON_AddStringToObject(ex, "rule", EXPECTED_RULE);
	if (c->cap_note)
		cJSON_AddStringToObject(j, "cap_note", c->cap_note);
	return root;
}

static void cost_row(FILE *f, const char *name, const struct cost_projection *pj)
{
	term_printf(f, "  %-16s %8ld %8ld %11ld %11ld %10.4f\n", name, pj->calls, pj->cached,
	            pj->tokens_in, pj->tokens_out, pj->usd);
}

/* A simulated run as a table (--run --dry-run with local models only), per iteration and
 * phase, with the rules' projection beside it for comparison. */
static void simulation_text(FILE *f, const struct run_ctx *c)
{
	const struct session *s = c->h->env.s;
	const struct engine_sim *sim = &c->sim;
	int n = c->o->iterations;
	term_printf(f,
	            "%s: cost of %d iteration%s, %s  [scripted model: a stand-in, not a real "
	            "LLM]\n",
	            s->name, n, n == 1 ? "" : "s", BASIS_SIMULATED);
	term_printf(f, "  %-16s %8s %8s %11s %11s %10s\n", "phase", "calls", "cached", "tokens in",
	            "tokens out", "cost $");
	for (int i = 0; i < sim->n; i++) {
		const struct engine_sim_iter *it = &sim->iters[i];
		term_printf(f, "  iteration %d (%d change%s accepted)\n", it->number, it->accepted,
		            it->accepted == 1 ? "" : "s");
		for (int p = 0; p < PHASE_DECISION; p++)
			if (it->phase[p].calls || it->phase[p].usd)
				cost_row(f, phase_name((enum phase)p), &it->phase[p]);
		cost_row(f, "iteration total", &it->total);
	}
	cost_row(f, "total", &sim->total);
	if (strcmp(sim->stopped, "iterations") != 0)
		term_printf(f, "  the run would stop after %d iteration%s: %s%s%s\n", sim->n,
		            sim->n == 1 ? "" : "s", sim->stopped, sim->message ? ": " : "",
		            sim->message ? sim->message : "");
	term_printf(f, "  (projected by the rules, not simulating: $%.4f)\n", c->total.usd);
	if (c->o->final_test)
		term_printf(f, "  %s\n", FINAL_TEST_NOTE);
}

/* The same as a table (--run prints it on stderr before it starts, --dry-run on stdout). */
static void run_projection_text(FILE *f, const struct run_ctx *c)
{
	const struct session *s = c->h->env.s;
	int n = c->o->iterations;
	if (c->simulated) {
		simulation_text(f, c);
		return;
	}
	term_printf(f, "%s: projected cost of %d iteration%s%s\n", s->name, n, n == 1 ? "" : "s",
	            c->h->env.scripted ? "  [scripted model: a stand-in, not a real LLM]" : "");
	term_printf(f, "  %-16s %8s %8s %11s %11s %10s\n", "phase", "calls", "cached", "tokens in",
	            "tokens out", "cost $");
	for (int p = 0; p <= PHASE_COUNT; p++) {
		const struct cost_projection *pj = p < PHASE_COUNT ? &c->per[p] : &c->total;
		if (p < PHASE_COUNT && (p >= PHASE_DECISION || (!pj->calls && !pj->usd)))
			continue;
		term_printf(f, "  %-16s %8ld %8ld %11ld %11ld %10.4f\n",
		            p < PHASE_COUNT ? phase_name((enum phase)p) : "total", pj->calls,
		            pj->cached, pj->tokens_in, pj->tokens_out, pj->usd);
	}
	/* what the iterations accept is not known before: a later one is a range */
	for (int i = 0; i <= c->n_range && c->n_range > 1; i++) {
		const struct projection_range *r = i < c->n_range ? &c->range[i] : &c->range_total;
		char name[24];
		snprintf(name, sizeof name, i < c->n_range ? "iteration %d" : "the run", i + 1);
		if (r->low.usd == r->high.usd)
			term_printf(f, "  %-16s $%.4f\n", name, r->point.usd);
		else
			term_printf(f, "  %-16s $%.4f to $%.4f (projected $%.4f)\n", name,
			            r->low.usd, r->high.usd, r->point.usd);
	}
	if (c->n_range > 1) {
		term_printf(f, "  low: %s\n  high: %s\n", RANGE_LOW, RANGE_HIGH);
		term_printf(
		    f,
		    "  expected $%.4f: later iterations at their low plus %.0f %% of the way "
		    "to their projection, the odds a proposal is accepted (%d of %d closed "
		    "iterations accepted one; one in two before any)\n",
		    c->expected_total, 100 * (c->accepted + 1.0) / (c->closed + 2.0), c->accepted,
		    c->closed);
	}
	if (c->cap_note)
		term_printf(f, "  note: %s\n", c->cap_note);
	if (c->not_simulated)
		term_printf(f, "  %s\n", c->not_simulated);
}

static cJSON *run_report(struct run_ctx *c)
{
	const struct session *s = c->h->env.s;
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "session", c->o->session);
	cJSON_AddBoolToObject(r, "scripted_model", c->h->env.scripted);
	cJSON_AddItemToObject(r, "projection", run_projection_json(c));
	if (c->o->dry_run) {
		cJSON_AddBoolToObject(r, "dry_run", true);
		return r;
	}
	cJSON_AddStringToObject(r, "stopped", run_stopped(c));
	if (engine_pause_reason(c->en))
		cJSON_AddStringToObject(r, "stopped_message", engine_pause_reason(c->en));
	cJSON *iters = cJSON_AddArrayToObject(r, "iterations");
	for (size_t i = 0; i < engine_iterations(c->en); i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		/* restored from an earlier run, the last of them aside (every restored iteration
		 * has its traces now: the one before this run is the one followed by a new one) */
		if (it->saved && i + 1 < engine_iterations(c->en) && it->phase >= PHASE_COUNT &&
		    engine_iteration(c->en, i + 1)->saved)
			continue;
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "number", it->number);
		cJSON_AddNumberToObject(j, "train_score", it->train_score);
		cJSON_AddNumberToObject(j, "val_before", it->base_score);
		cJSON_AddNumberToObject(j, "val_best", it->best_score);
		cJSON_AddNumberToObject(j, "bad_cases", (double)it->n_bad);
		cJSON_AddNumberToObject(j, "evaluations", (double)it->n_evals);
		if (it->n_screen) { /* optimizer.screen_size */
			cJSON *sc = cJSON_AddObjectToObject(j, "screening");
			cJSON_AddNumberToObject(sc, "examples", (double)it->n_screen);
			cJSON_AddNumberToObject(sc, "configurations", (double)it->n_screened);
			/* the rungs, each with the configurations that ran on it */
			cJSON *rungs = cJSON_AddArrayToObject(sc, "rungs");
			for (size_t n = it->n_screen;; n = iteration_next_rung(it, n)) {
				cJSON *rung = cJSON_CreateObject();
				cJSON_AddNumberToObject(rung, "examples", (double)n);
				cJSON_AddNumberToObject(rung, "configurations",
				                        (double)iteration_screened_on(it, n));
				cJSON_AddItemToArray(rungs, rung);
				if (n >= it->n_val)
					break;
			}
			cJSON_AddNumberToObject(sc, "in_full", (double)it->n_evals);
			cJSON_AddNumberToObject(sc, "requests_saved", (double)it->screen_saved);
		}
		if (it->search_end) /* the steady-proposal rule stopped the search early */
			cJSON_AddStringToObject(j, "search_stopped", it->search_end);
		if (it->note)
			cJSON_AddStringToObject(j, "note", it->note);
		cJSON *acc = cJSON_AddArrayToObject(j, "changes");
		for (size_t k = 0; k < it->n_changes; k++) {
			const struct step_change *ch = &it->changes[k];
			cJSON *cj = cJSON_CreateObject();
			cJSON_AddStringToObject(cj, "step", s->steps[ch->step].id);
			cJSON_AddStringToObject(cj, "decision", decision_name(ch->decision));
			if (decider_name(ch->by))
				cJSON_AddStringToObject(cj, "by", decider_name(ch->by));
			cJSON_AddStringToObject(cj, "new_prompt", ch->new_prompt);
			cJSON_AddItemToArray(acc, cj);
		}
		cJSON *sh = cJSON_AddObjectToObject(j, "shapley");
		cJSON_AddStringToObject(sh, "method",
		                        it->shapley_method ? it->shapley_method : "none");
		/* beside "shapley", whose other keys are step ids */
		cJSON *fit = cJSON_AddObjectToObject(j, "shapley_fit");
		cJSON_AddNumberToObject(fit, "extra_evaluations", (double)it->shapley_extra);
		cJSON_AddBoolToObject(fit, "underdetermined", it->shapley_underdetermined);
		if (it->shapley_note)
			cJSON_AddStringToObject(fit, "note", it->shapley_note);
		cJSON *budget = cJSON_AddObjectToObject(j, "next_budget");
		for (size_t k = 0; k < s->n_steps; k++) {
			if (s->steps[k].kind != STEP_LLM || s->steps[k].frozen)
				continue;
			if (it->phi) {
				cJSON *p = cJSON_AddObjectToObject(sh, s->steps[k].id);
				cJSON_AddNumberToObject(p, "phi", it->phi[k]);
				cJSON_AddNumberToObject(p, "sd", it->phi_sd[k]);
			}
			if (it->next_budget)
				cJSON_AddNumberToObject(budget, s->steps[k].id, it->next_budget[k]);
		}
		cJSON *cost = cJSON_AddObjectToObject(j, "cost_by_phase");
		for (int p = 0; p < PHASE_COUNT; p++) {
			cJSON *pc = cJSON_AddObjectToObject(cost, phase_name((enum phase)p));
			cJSON_AddNumberToObject(pc, "calls", (double)it->cost[p].calls);
			cJSON_AddNumberToObject(pc, "cached", (double)it->cost[p].cached);
			cJSON_AddNumberToObject(
			    pc, "tokens", (double)(it->cost[p].tokens_in + it->cost[p].tokens_out));
			cJSON_AddNumberToObject(pc, "tokens_in", (double)it->cost[p].tokens_in);
			cJSON_AddNumberToObject(pc, "tokens_out", (double)it->cost[p].tokens_out);
			cJSON_AddNumberToObject(pc, "tokens_prompt_cached",
			                        (double)it->cost[p].tokens_prompt_cached);
			cJSON_AddNumberToObject(pc, "tokens_reasoning",
			                        (double)it->cost[p].tokens_reasoning);
			cJSON_AddNumberToObject(pc, "estimated", (double)it->cost[p].estimated);
			cJSON_AddNumberToObject(pc, "cost_usd", it->cost[p].cost_usd);
			cJSON_AddNumberToObject(pc, "projected_calls",
			                        (double)it->cost[p].projected_calls);
			cJSON_AddItemToObject(pc, "projected", projected_json(&it->cost[p]));
		}
		cJSON_AddItemToArray(iters, j);
	}
	struct engine_totals t;
	engine_totals(c->en, &t);
	cJSON *tot = cJSON_AddObjectToObject(r, "totals");
	cJSON_AddNumberToObject(tot, "llm_calls", (double)t.calls);
	cJSON_AddNumberToObject(tot, "cached", (double)t.cached);
	cJSON_AddNumberToObject(tot, "executions_avoided", (double)t.avoided);
	cJSON_AddNumberToObject(tot, "memo_hits", (double)t.memo_hits);
	cJSON_AddNumberToObject(tot, "tokens_in", (double)t.tokens_in);
	cJSON_AddNumberToObject(tot, "tokens_out", (double)t.tokens_out);
	cJSON_AddNumberToObject(tot, "tokens_prompt_cached", (double)t.tokens_prompt_cached);
	cJSON_AddNumberToObject(tot, "tokens_reasoning", (double)t.tokens_reasoning);
	cJSON_AddNumberToObject(tot, "tokens_reused", (double)t.tokens_reused);
	cJSON_AddNumberToObject(tot, "estimated", (double)t.estimated);
	cJSON_AddNumberToObject(tot, "cost_usd", t.cost_usd);
	replicas_json(r, c->h->env.llm);
	if (c->o->final_test && final_test_get(s))
		cJSON_AddItemToObject(r, "final_test", cJSON_Duplicate(final_test_get(s), 1));
	cJSON *prompts = cJSON_AddObjectToObject(r, "prompts");
	for (size_t k = 0; k < s->n_steps; k++)
		if (s->steps[k].kind == STEP_LLM)
			cJSON_AddStringToObject(prompts, s->steps[k].id, s->steps[k].prompt);
	return r;
}

/* --dry-run: with local models only, the run is played out in a sandbox (engine_simulate) on
 * a copy of the session loaded for it; otherwise, or when that fails, the projection stands
 * and says why. */
static void dry_run_simulate(struct run_ctx *c)
{
	const struct front_opts *o = c->o;
	char *why = engine_sim_blocker(c->h->env.s);
	if (why) {
		c->not_simulated = xasprintf("projected, not simulated: %s", why);
		free(why);
		return;
	}
	struct err e = {{0}};
	struct session *copy = front_load(o);
	if (copy && session_override_models(copy, o->provider, o->base_url, o->models, o->n_models,
	                                    &e) < 0) {
		session_free(copy);
		copy = NULL;
	}
	char *spend = front_path_beside(o->session, ".spend.jsonl");
	struct engine_sim_opts so = {.iterations = o->iterations,
	                             .patience = o->patience,
	                             .cache_path = c->h->env.cache_path,
	                             .spend_path = spend,
	                             .no_cache = o->no_cache,
	                             .trust = o->trust};
	if (copy && engine_simulate(copy, &so, &c->sim, &e) == 0)
		c->simulated = true;
	else
		c->not_simulated = xasprintf("projected, not simulated: %s",
		                             e.msg[0] ? e.msg : "the session did not load again");
	free(spend);
	session_free(copy);
}

/* Runs the engine's loop until it stops by itself or Ctrl-C. */
static void drive(struct run_ctx *c)
{
	while (!interrupted && engine_running(c->en)) {
		if (engine_busy(c->en) && llm_wait(c->h->env.llm, NULL, 0, 250) < 0)
			break;
		engine_poll(c->en);
	}
}

int batch_run(const struct front_opts *o)
{
	struct headless h;
	int rc = headless_open(&h, o);
	if (rc) {
		headless_close(&h);
		return rc;
	}
	struct run_ctx c = {.h = &h, .o = o};
	struct err e = {{0}};
	if (o->final_test && final_test_check(h.env.s, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		headless_close(&h);
		return ADOPT_EXIT_INVALID;
	}
	struct engine_opts eo = {.trust = o->trust, .auto_accept = true};
	c.en = engine_new(h.env.s, h.env.llm, &eo, on_engine_event, &c, &e);
	if (!c.en) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		headless_close(&h);
		return 1;
	}
	if (engine_reopen_note(c.en))
		term_printf(stderr, "adopt-tui: reopened: %s\n", engine_reopen_note(c.en));
	engine_set_patience(c.en, o->patience);
	c.range = xcalloc((size_t)MAX(o->iterations, 0) + 1, sizeof *c.range);
	c.n_range =
	    engine_project_range(c.en, o->iterations, c.per, c.range, &c.total, &c.range_total);
	c.cap_note = engine_range_over_cap(c.en, &c.range_total);
	c.expected = xcalloc((size_t)MAX(o->iterations, 0) + 1, sizeof *c.expected);
	c.expected_total =
	    engine_project_expected(c.en, c.range, c.n_range, c.expected, &c.accepted, &c.closed);
	if (o->dry_run)
		dry_run_simulate(&c);
	if (o->dry_run) {
		if (o->json) {
			cJSON *r = run_report(&c);
			term_json_doc(stdout, r);
			cJSON_Delete(r);
		} else {
			run_projection_text(stdout, &c);
		}
		engine_free(c.en);
		headless_close(&h);
		free(c.range), free(c.cap_note), free(c.not_simulated), free(c.expected);
		engine_sim_free(&c.sim);
		return ADOPT_EXIT_OK;
	}
	run_projection_text(stderr, &c);
	struct saved_signals sv;
	signals_catch(&sv);
	const struct iteration *open = engine_current(c.en);
	if (engine_resume(c.en) == 0) {
		term_printf(stderr, "resuming iteration %d (finished phases come from the cache)\n",
		            engine_current(c.en)->number);
		drive(&c);
	} else if (open && open->phase > PHASE_FORWARD && open->phase < PHASE_COUNT) {
		term_printf(stderr,
		            "going on with iteration %d from phase %s, as it was saved; %s\n",
		            open->number, phase_name(open->phase), ENGINE_MEMO_NOT_SAVED);
	}
	struct llm_stats paid; /* a run killed after its last save: what it billed since */
	engine_reopen_journaled(c.en, &paid);
	if (paid.done)
		term_printf(stderr,
		            "%ld call(s), $%.4f, billed after the last save are counted (spend "
		            "journal); their answers are cached: nothing is paid twice\n",
		            paid.done, paid.cost_usd);
	if (!interrupted && engine_run(c.en, o->iterations) < 0 && engine_pause_reason(c.en))
		term_printf(stderr, "adopt-tui: %s\n", engine_pause_reason(c.en));
	drive(&c);
	if (interrupted) {
		engine_cancel(c.en);
		term_printf(stderr, "adopt-tui: interrupted; saving what finished\n");
	}
	if (o->final_test && !interrupted && engine_current(c.en) &&
	    final_test_run(h.env.s, h.env.llm, o->trust, engine_current(c.en)->number, &interrupted,
	                   &e) < 0)
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
	save_session(&c);
	signals_restore(&sv);
	term_printf(stderr, "adopt-tui: stopped: %s%s%s\n", run_stopped(&c),
	            engine_pause_reason(c.en) ? ": " : "",
	            engine_pause_reason(c.en) ? engine_pause_reason(c.en) : "");
	if (o->json) {
		cJSON *r = run_report(&c);
		term_json_doc(stdout, r);
		cJSON_Delete(r);
	} else {
		const struct iteration *it = engine_current(c.en);
		struct engine_totals t;
		engine_totals(c.en, &t);
		if (it) {
			struct sbuf detail = {0};
			engine_tokens_detail(&t, &detail);
			term_printf(stdout,
			            "%s: %zu iterations; validation %.4f -> %.4f; calls %ld "
			            "(cached %ld, avoided %ld); tokens %ld%s; cost %s$%.4f%s\n",
			            h.env.s->name, engine_iterations(c.en),
			            engine_iteration(c.en, 0)->base_score, engine_val_score(c.en),
			            t.calls, t.cached, t.avoided, t.tokens_in + t.tokens_out,
			            sbuf_str(&detail), t.estimated ? "~" : "", t.cost_usd,
			            h.env.scripted ? "  [scripted model]" : "");
			sbuf_free(&detail);
		}
		if (o->final_test && final_test_get(h.env.s))
			term_printf(
			    stdout, "  test score of the final prompts %.4f (%g examples)\n",
			    cJSON_GetObjectItem(final_test_get(h.env.s), "score")->valuedouble,
			    cJSON_GetObjectItem(final_test_get(h.env.s), "examples")->valuedouble);
	}
	rc = interrupted     ? ADOPT_EXIT_INTERRUPTED
	     : c.save_failed ? ADOPT_EXIT_FAILED
	                     : exit_status(&h, o, engine_val_score(c.en));
	engine_free(c.en);
	headless_close(&h);
	free(c.range), free(c.cap_note), free(c.not_simulated), free(c.expected);
	return rc;
}

/* run.h: runs the pipeline on batches of examples under a prompt configuration, asynchronously
 * through the LLM layer, with memoized step executions.  Nothing here blocks: LLM steps are
 * requests and exec steps are child processes watched by the LLM layer's loop (llm_wait), so
 * the examples of a batch advance side by side and cancelling kills their commands.
 *
 * A step execution is identified by its request (model configuration, prompt, rendered input);
 * identical executions run once per runner (and once per session through the LLM cache).
 * Evaluating a configuration that changes only the last step therefore re-uses every upstream
 * output.  The runner knows no screen: progress leaves through callbacks. */
#ifndef ADOPT_RUN_H
#define ADOPT_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/session.h"
#include "core/trace.h"
#include "llm/llm.h"

/* One step's prompt choice: a prompt template and its demonstrations.  Borrowed. */
struct variant {
	const char *prompt;
	const struct demo *demos;
	size_t n_demos;
};

struct run_batch;

struct run_callbacks {
	/* A step (one round of it) finished on one example. */
	void (*step_done)(void *arg, struct run_batch *b, const struct trace *t,
	                  const struct trace_step *ts);
	/* Text streamed in for a running LLM step. */
	void (*chunk)(void *arg, struct run_batch *b, const struct trace *t, int step,
	              const char *text, size_t len);
	/* Every example of the batch is done (scored). May be called from inside runner_start
	 * when nothing needed a model. */
	void (*batch_done)(void *arg, struct run_batch *b);
	void *arg;
	/* One example is done and scored (t->good says how), before batch_done; may be NULL. */
	void (*example_done)(void *arg, struct run_batch *b, const struct trace *t);
};

struct runner_stats {
	long executions; /* LLM step executions requested */
	long memo_hits;  /* answered from the runner's memo without a request (LLM steps and
	                  * server retrievals) */
	long llm_calls;  /* requests handed to the LLM layer (cache hits included) */
	long judge_calls;
};

struct runner;

struct runner *runner_new(const struct session *s, struct llm *l, bool trust);
void runner_free(struct runner *r); /* cancels whatever still runs */
void runner_get_stats(const struct runner *r, struct runner_stats *st);

/* Starts running examples idx[0..n) of a split.  config[i] is step i's variant, or NULL (or a
 * NULL config) for the step's current prompt; config and its strings must outlive the batch.
 * tag names the phase for cost accounting ("forward", "select"). */
struct run_batch *runner_start(struct runner *r, const struct variant *const *config,
                               enum split_id split, const size_t *idx, size_t n, const char *tag,
                               const struct run_callbacks *cb);
/* As runner_start, but no example starts yet: run_batch_launch starts them, a slice at a time,
 * so that a front end's loop is never held by a large batch. */
struct run_batch *runner_prepare(struct runner *r, const struct variant *const *config,
                                 enum split_id split, const size_t *idx, size_t n, const char *tag,
                                 const struct run_callbacks *cb);
/* Starts up to max more examples (their first steps: renders, memo look-ups, submissions);
 * returns how many it started.  A batch of none calls batch_done on its first launch. */
size_t run_batch_launch(struct run_batch *b, size_t max);
/* Frees each example's trace as soon as it is scored (only the scores are kept): for batches
 * whose traces nobody reads, so that freeing them is spread over the loop's turns. */
void run_batch_drop_traces(struct run_batch *b);
/* Every example of the batch has been started. */
bool run_batch_launched(const struct run_batch *b);
/* What running a batch would cost, found without spending anything.  runner_project walks the
 * examples as runner_start would, synchronously: an LLM step the memo or the response cache
 * answers takes that answer and is free; any other is priced from its rendered request (tokens
 * estimated from its length, cost_estimate_usage, times in_scale of its step) and answered with
 * a scripted model's very answer (known in advance), else a stand-in: the step's latest real
 * answer on that example, else the end of its inputs, so that what reads it renders to about
 * its real length and a retrieval finds about as much.  Its output is priced at the mean
 * measured for the step under that very prompt, else at out_tokens of the step.  Exec steps
 * never run (their output is empty); an LLM judge is priced like a step.  A request already
 * priced by the same projection is free the next time (the memo will answer it), unless it
 * reads a stand-in that is not its request's own (like below), so walks of several
 * configurations share their common part.  A stand-in
 * that is the step's latest real answer on the example is not one when the step, asked a
 * changed request (a candidate's), gave the same answer as before at least half of the times
 * measured: what reads it may then be answered by the memo.  fresh: as if nothing were
 * memoized or cached (prompts that will have changed by then).  A request that reads a stand-in
 * is taken as a memo hit at the share repeat gives its step (of n such requests, round(n x share),
 * spread evenly in the order walked), as inputs that collapse to one value (an empty or fixed
 * answer) repeat from one example to the next.  Adds to *p and, when p->steps is set, to
 * p->steps[step] (caller's array of n_steps; the judge counts in the totals only). With p->share, a
 * changed request of a step (another walk of p asked it another on the same example) answers as
 * that walk's did at the share its step answered a changed request as before (asked with a
 * candidate's prompt: the share of such requests when the step has 8 of them; else over all steps
 * when the step has too few; a fifth before any), so that the configurations after it may share
 * what follows; when that walk's answer was the memo's or the cache's (the plan's first walk: the
 * incumbent's recorded answer) it is taken as real, and what reads it is the incumbent's request;
 * free p's keys with run_projection_done. */
struct run_cost {
	long executions; /* LLM executions (judge included) */
	long memo;       /* answered by the run memo: no call */
	long cached;     /* calls the response cache answers: free */
	long calls;      /* calls that would be paid */
	long tokens_in, tokens_out;
	double usd;
};
struct run_projection {
	struct run_cost total;
	struct run_cost *steps; /* NULL, or per step */
	/* examples scored good or bad on real answers (memo, cache), or that read a stand-in */
	long good, bad, guessed;
	char (*seen)[65]; /* keys priced so far: open addressing, power-of-two capacity */
	size_t n_seen, cap_seen;
	bool share;                /* walks of a plan's configurations: keep notes (below) */
	struct answer_note *notes; /* the walks' latest stand-in per example, step and round */
	double *draws;             /* per kind of draw and step: the carried share (run.c) */
	size_t n_notes, cap_notes;
	double *stop_acc; /* per loop and round: the running sum that spreads loop stops */
};
struct run_estimate {
	const double *out_tokens; /* per step: expected output tokens of one execution */
	const double *in_scale;   /* per step: billed prompt tokens per estimated one (NULL: 1) */
	double judge_out;         /* output tokens of a judge's answer */
	bool fresh;
	/* per step (NULL: none): the share of its requests that repeat another example's (the
	 * last forward pass's); so many of those that read a stand-in are taken as memo hits */
	const double *repeat;
	/* per loop (NULL, or an entry NULL: not measured): loop_stop[l][r - 1], of the examples
	 * whose loop l reached round r on the last forward pass, the share that stopped after it;
	 * a round whose stop condition reads what a stand-in fed stops at that share, spread evenly
	 * over the examples walked (run_projection.stop_acc) */
	const double *const *loop_stop;
};
void runner_project(struct runner *r, const struct variant *const *config, enum split_id split,
                    const size_t *idx, size_t n, const struct run_estimate *est,
                    struct run_projection *p);
void run_projection_done(struct run_projection *p);

/* Cancels in-flight requests; no further callbacks. The batch must still be freed. */
void run_batch_cancel(struct run_batch *b);
void run_batch_free(struct run_batch *b);

bool run_batch_done(const struct run_batch *b);
size_t run_batch_count(const struct run_batch *b);
size_t run_batch_finished(const struct run_batch *b);
/* Trace of the i-th example of the batch (in idx order). */
const struct trace *run_batch_trace(const struct run_batch *b, size_t i);
/* Takes ownership of the traces (the batch keeps empty ones). */
struct trace *run_batch_take_traces(struct run_batch *b, size_t *n);
/* Mean score over the batch's examples. */
double run_batch_score(const struct run_batch *b);
/* Per-example scores, in idx order (borrowed, n = run_batch_count). */
const double *run_batch_scores(const struct run_batch *b);
/* Requests the batch made, answered so far: not its memo hits, nor answers it shared with an
 * identical request in flight (counted with the batch that made it). */
long run_batch_calls(const struct run_batch *b);
void *run_batch_user(const struct run_batch *b);
void run_batch_set_user(struct run_batch *b, void *user);

#endif

/* engine.h: the ADOPT loop as an explicit state machine, knowing no screen.
 *
 * One iteration moves through the phases of PHASES() below.  A front end (the TUI or the headless
 * runner) sends commands (step one phase, run to the proposal, run N iterations, pause, cancel,
 * accept / edit / reject / undo) and receives events; between them it reads the engine's state
 * through the const views declared here.  The engine advances only from the front end's loop:
 * llm_wait() delivers replies, which complete phases.
 *
 * Ownership: the engine owns its iterations and everything in them; pointers returned by the
 * accessors stay valid until the next command or the next llm_wait(). */
#ifndef ADOPT_ENGINE_H
#define ADOPT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/session.h"
#include "core/trace.h"
#include "engine/run.h"
#include "llm/llm.h"

/* id, name shown to people, what happens */
#define PHASES(X)                                                                                  \
	X(FORWARD, "forward", "run the pipeline on a training batch and score it")                 \
	X(ANALYSIS, "analysis", "E1 structure and E2 dependency of every step")                    \
	X(GRADIENT, "loss+gradient", "E3 textual loss and E4 global gradient per bad case")        \
	X(LOCAL, "local gradients", "E5: what each step did wrong, per bad case")                  \
	X(PSEUDO, "pseudo-labels", "E6: the revised output each step should have given")           \
	X(CANDIDATES, "candidates", "step-level optimizers propose prompts within budget")         \
	X(SELECTION, "selection",                                                                  \
	  "Bayesian optimization over candidate combinations on validation")                       \
	X(SHAPLEY, "shapley", "credit per step: weak (incumbent) vs strong (best candidate)")      \
	X(ALLOCATION, "allocation", "next iteration's candidate budget per step from Shapley")     \
	X(PROPOSAL, "proposal", "the best combination as per-step changes with validation gain")   \
	X(DECISION, "decision", "accept, edit or reject each proposed change")

enum phase {
#define X(id, name, help) PHASE_##id,
	PHASES(X)
#undef X
	    PHASE_COUNT
};
const char *phase_name(enum phase p);
const char *phase_help(enum phase p);

enum engine_event_kind {
	EV_PHASE_STARTED,
	EV_PHASE_FINISHED,
	EV_REQUEST_SENT,
	EV_TEXT,       /* streamed text: step (or -1 for a role), example, text/len */
	EV_STEP_TRACE, /* a pipeline step finished on an example */
	EV_GRADIENT_READY,
	EV_CANDIDATES_READY,
	EV_EVAL_DONE, /* one configuration evaluated on validation */
	EV_SHAPLEY_READY,
	EV_PROPOSAL_READY,
	EV_DECISION, /* a decision was made or undone */
	EV_ERROR,    /* message: something failed; the loop continues or pauses */
	EV_PAUSED,   /* message: why (budget cap, pause command, proposal reached) */
	EV_COST,     /* spend changed */
	EV_ITERATION_DONE,
};

struct engine_event {
	enum engine_event_kind kind;
	/* the iteration's phase; EV_PHASE_FINISHED: the one that finished; EV_REQUEST_SENT: the
	 * request's own, a later one when a run sent it ahead (optimizer.overlap) */
	enum phase phase;
	int iteration;
	int step;         /* step index or -1 */
	long example;     /* batch position or -1 */
	const char *text; /* EV_TEXT */
	size_t len;
	const char *message; /* EV_ERROR, EV_PAUSED, EV_PHASE_FINISHED summary */
};

typedef void engine_event_fn(void *arg, const struct engine_event *ev);

/* ---- state, read-only for front ends ---- */

/* One bad case analysed in an iteration. */
struct adopt_case {
	size_t trace;   /* index into iteration->traces */
	char *loss;     /* E3 */
	char *gradient; /* E4 */
	char **local;   /* E5 per step (NULL for frozen / code steps) */
	char **pseudo;  /* E6 per step */
};

struct candidate {
	char *prompt;
	struct demo *demos;
	size_t n_demos;
	char *optimizer; /* which step optimizer made it */
	char *note;      /* its rationale, if given */
};

struct evaluation {
	int *choice;    /* per step: 0 = incumbent, k = candidate k */
	double score;   /* mean validation score */
	double *scores; /* per validation example */
	/* per validation example (n_val), for the incumbent and the best so far only, else NULL:
	 * the evidence's outputs and traces (a reopened session keeps them as engine_store says) */
	struct trace *traces;
};

enum decision { DECISION_NONE, DECISION_ACCEPT, DECISION_EDIT, DECISION_REJECT };
/* Who made a decision: a person (a key, a command) or the engine deciding on its own (a run of
 * whole iterations accepts what improved validation); unknown in sessions saved before this was
 * recorded. */
enum decider { DECIDER_UNKNOWN, DECIDER_USER, DECIDER_ENGINE };
/* Their names in the session file and --run --json: "pending", "accepted", "edited",
 * "rejected"; "user", "engine" (NULL when unknown). */
const char *decision_name(enum decision d);
const char *decider_name(enum decider by);

struct step_change {
	int step;
	char *old_prompt, *new_prompt;
	struct demo *new_demos;
	size_t n_new_demos;
	enum decision decision;
	enum decider by;
	char *edited; /* the text accepted when edited */
};

struct phase_cost {
	long calls, cached, tokens_in, tokens_out;
	double cost_usd;
	/* the projection made before the phase ran (struct cost_projection): calls, of them
	 * answered by the response cache, billed tokens and money */
	double projected_usd;
	long projected_calls, projected_cached, projected_tokens_in, projected_tokens_out;
	/* parts of tokens_in / tokens_out; requests whose tokens are (partly) estimated */
	long tokens_prompt_cached, tokens_reasoning, estimated;
};

#define SEARCH_END_PERFECT "perfect"

struct iteration {
	int number;       /* 1-based */
	enum phase phase; /* the next phase to run (PHASE_COUNT when finished) */
	/* forward */
	struct trace *traces;
	size_t n_traces;
	double train_score;
	size_t *good, *bad; /* minibatch: indices into traces */
	size_t n_good, n_bad;
	/* analysis */
	char *structure;   /* E1 */
	char **dependency; /* E2 per step */
	/* gradients */
	struct adopt_case *cases;
	size_t n_cases;
	/* candidates per step (index 0 of a choice is the incumbent, candidate k is cands[k-1]) */
	struct candidate **cands;
	size_t *n_cands;
	int *budget; /* candidates asked per step this iteration */
	/* selection */
	size_t *val_idx; /* validation sample */
	size_t n_val;
	struct evaluation *evals;
	size_t n_evals;
	double base_score; /* incumbent on the validation sample */
	/* screening (optimizer.screen_size): every configuration is first run on a seeded
	 * subsample of the validation sample, then in rungs of twice as many examples, and only
	 * those that can still win on all of it run in full.
	 * screen_idx: the rungs' examples (split indices, n_screen_pos of them, nested: rung r is
	 * the first n_screen << r); n_screen: the first rung (0: no screening);
	 * screened: every configuration evaluated, scored on the first screen_n[e] of those
	 * (n_val: it ran in full; evals holds the full evaluations); screen_saved: requests saved,
	 * estimated from each configuration not run in full as its rung's requests per example
	 * times the examples it did not run */
	size_t *screen_idx, *screen_pos; /* screen_pos: the rungs' positions in val_idx */
	size_t n_screen, n_screen_pos;
	struct evaluation *screened;
	size_t *screen_n;
	size_t n_screened;
	long screen_saved;
	/* why the search stopped before eval_budget (phases_search.c, the steady-proposal rule):
	 * SEARCH_END_PERFECT (a configuration scored 1 on the whole sample); NULL when it did
	 * not */
	const char *search_end;
	/* shapley */
	double *phi, *phi_sd;
	const char *shapley_method;
	long shapley_extra;           /* validation evaluations bought beyond selection's */
	bool shapley_underdetermined; /* kernel: the evaluations did not determine every phi */
	char *shapley_note;           /* how the estimate fell short, or NULL */
	int *next_budget;
	/* proposal */
	struct step_change *changes;
	size_t n_changes;
	double best_score;
	int best_eval; /* index in evals or -1 */
	/* decision: the measured validation score of what the decisions kept (the incumbent, the
	 * proposal, or the part of it that selection evaluated alone); -1 while undecided, or when
	 * it was never measured (an edited prompt, a part no evaluation covered) */
	double kept_score;
	struct phase_cost cost[PHASE_COUNT];
	long memo_hits;
	char *note;          /* what happened (all-good batch, provider failure...) */
	struct cJSON *saved; /* an iteration restored from the session: its stored record */
};

/* Screening's rung after one of n examples (it->n_screen is the first): twice as many while
 * at most half the sample (it->n_screen_pos the largest), then the whole sample. */
static inline size_t iteration_next_rung(const struct iteration *it, size_t n)
{
	return n < it->n_screen_pos ? 2 * n : it->n_val;
}

/* How many screened configurations ran at least n examples (a rung). */
static inline size_t iteration_screened_on(const struct iteration *it, size_t n)
{
	size_t ran = 0;
	for (size_t e = 0; e < it->n_screened; e++)
		ran += it->screen_n[e] >= n;
	return ran;
}

struct prompt_version {
	int step;
	int version;   /* 1 = the original */
	int iteration; /* 0 for the original */
	char *prompt;
	struct demo *demos; /* the demonstrations it carried */
	size_t n_demos;
	bool demos_known; /* false: recorded by an older adopt-tui, which kept no demos */
	double score;     /* measured validation score of the configuration it joined, or -1 */
	bool edited;
};

/* tokens_in and tokens_out are billed tokens (failed and cut requests included); of them,
 * tokens_prompt_cached were read from the provider's prompt cache and tokens_reasoning spent
 * reasoning.  tokens_reused: tokens of answers taken from our response cache (not billed);
 * estimated: requests whose tokens are (partly) estimated. */
struct engine_totals {
	long calls, cached, memo_hits, avoided, tokens_in, tokens_out;
	double cost_usd;
	long tokens_prompt_cached, tokens_reasoning, tokens_reused, estimated;
};

struct engine;

struct engine_opts {
	bool trust;
	bool auto_accept; /* headless: accept a proposal when validation improves */
	/* the projections of the forward pass (a walk of the training batch: 10-20 ms at 300
	 * examples) and of selection (a walk of its plan: 45-60 ms at m = 12 and 300 examples) are
	 * made beside the loop (llm/beside.h) and the phase starts when it is in: the workbench's,
	 * so that it never holds a key; engine_busy is true meanwhile.  One a view has just made
	 * for the same state (engine_project_next_known) is taken instead; a copy that dies gives
	 * way to the projection made at once */
	bool project_beside;
};

struct engine *engine_new(struct session *s, struct llm *l, const struct engine_opts *o,
                          engine_event_fn *fn, void *arg, struct err *e);
void engine_free(struct engine *en);
/* engine_opts.project_beside after engine_new (bench/scale_probe: the workbench's on the test
 * screen, which projects at once) */
#define ENGINE_PROJECT_BESIDE 1
void engine_project_beside(struct engine *en, bool on);

/* ---- commands ---- */
int engine_step(struct engine *en); /* run the next phase */
/* Runs phases until a proposal awaits decisions, or an iteration ends with none to make. */
int engine_run_to_proposal(struct engine *en);
int engine_run(struct engine *en, int iterations); /* run whole iterations (auto decisions) */
void engine_pause(struct engine *en);              /* stop after the phase in flight */
void engine_cancel(struct engine *en);             /* abandon the phase in flight, roll it back */
int engine_accept(struct engine *en, int step);
int engine_edit(struct engine *en, int step, const char *text);
int engine_reject(struct engine *en, int step);
/* Takes back the last decision, also one that closed the iteration (which opens again), until
 * the next iteration's forward pass starts or a version is restored. */
int engine_undo(struct engine *en);
/* Decides every undecided change (accept when validation improved) and closes the iteration. */
int engine_decide_remaining(struct engine *en);
/* Restores an earlier prompt version of a step (a new version recording the restore). */
int engine_restore_version(struct engine *en, int step, int version);

/* After every llm_wait(): frees finished work and starts the next phase when running.
 * Returns true when it wants to be called again without waiting. */
bool engine_poll(struct engine *en);
/* Reopened mid-iteration from an older file, which kept no record of the iteration (a newer
 * one reopens as it stood: -1, nothing to replay): replays the finished phases (answered from
 * the cache, free). */
int engine_resume(struct engine *en);

/* ---- state ---- */
bool engine_busy(const struct engine *en);    /* a phase is in flight */
bool engine_running(const struct engine *en); /* will continue by itself */
const struct session *engine_session(const struct engine *en);
const struct iteration *engine_current(const struct engine *en); /* NULL before the first */
const struct iteration *engine_iteration(const struct engine *en, size_t i);
size_t engine_iterations(const struct engine *en);
const struct prompt_version *engine_versions(const struct engine *en, size_t *n);
void engine_totals(const struct engine *en, struct engine_totals *t);
/* What the session has cost so far: this run's totals plus those of the earlier runs recorded in
 * its history.  The cost and token caps apply to it. */
/* Appends what the tokens of t are, for the cost views: " (P provider-cached, R reasoning), U
 * reused, E requests estimated", each part only when it is not zero.  "reused": tokens of
 * answers taken from the response cache or shared with an identical request (not billed). */
void engine_tokens_detail(const struct engine_totals *t, struct sbuf *b);
void engine_spent(const struct engine *en, struct engine_totals *t);
/* Of what engine_spent counts, the calls billed after the session's last save, by a run killed
 * before it saved again (from the spend journal: done, tokens and cost_usd); zero otherwise.
 * Their answers are in the response cache: continuing sends them no more. */
void engine_reopen_journaled(const struct engine *en, struct llm_stats *s);
/* Said when an iteration reopened with phases still to run: the runner's memo is not saved. */
#define ENGINE_MEMO_NOT_SAVED                                                                      \
	"the run memo is not saved: what it would have answered comes from the response cache, "   \
	"free (more cached calls, fewer memo hits, the same money)"
/* What work is projected to cost before it runs (projection.c; the rules are in adopt-tui(1),
 * COST PROJECTION): calls the LLM layer will answer, of them `cached` by the response cache
 * (free; executions the run memo answers are no calls at all), billed tokens and money. */
struct cost_projection {
	long calls, cached, tokens_in, tokens_out;
	double usd;
};
/* The next phase (the forward pass of a new iteration when none is open). */
void engine_project_next(const struct engine *en, struct cost_projection *p);
/* engine_project_next's answer for the state of now when it has made it (true), for a front end
 * that must not wait: it makes it beside the loop (engine_project_next in a copy) and hands it
 * back with the key of the state it was made from (engine_project_next_key), which holds as
 * long as nothing has changed since. */
bool engine_project_next_known(const struct engine *en, struct cost_projection *p);
uint64_t engine_project_next_key(const struct engine *en);
void engine_project_next_put(struct engine *en, uint64_t key, const struct cost_projection *p);
/* A run before it starts, per phase (per may be NULL) and in total, counted as
 * engine_projection_run counts: iterations 0 is the rest of the iteration in progress up to its
 * proposal. */
void engine_project(const struct engine *en, int iterations, struct cost_projection *per,
                    struct cost_projection *total);
/* engine_project with what no projection knows before a run: what each iteration accepts.
 * Per iteration (range[0] the first, as engine_project counts; at most iterations + 1 entries,
 * 2 for iterations 0 from a pending decision; the number filled returned) and in total:
 * point, engine_project's figure; and for an
 * iteration after another, a range named by its scenarios: low, "nothing accepted, nothing
 * left to fix" (the prompts stay, its forward pass runs them, the memo answering the examples
 * the batch before had, and nothing else runs); high, "the proposal is accepted" (new prompts:
 * a full iteration, nothing memoized or cached).  low <= point <= high; the first iteration
 * (or the rest of the one in progress) is its point. */
struct projection_range {
	struct cost_projection low, point, high;
};
int engine_project_range(const struct engine *en, int iterations, struct cost_projection *per,
                         struct projection_range *range, struct cost_projection *total,
                         struct projection_range *range_total);
/* The money each of the n iterations of engine_project_range's range is expected to cost
 * (each may be NULL) and their sum, when what a proposal's acceptance will be is taken at the
 * odds of this session's record: low + p (point - low), p = (accepted + 1) / (closed + 2) over
 * its closed iterations (*accepted of *closed accepted a change; one in two before any). */
double engine_project_expected(const struct engine *en, const struct projection_range *range, int n,
                               double *each, int *accepted, int *closed);
/* The caps judged against a run's range: a sentence (to free) naming the cap its point
 * estimate, or else its high end, would pass with what the session has spent, or NULL. */
char *engine_range_over_cap(const struct engine *en, const struct projection_range *total);
/* Projection of the next phase before it runs. */
void engine_projection(const struct engine *en, long *calls, double *usd);
/* Projection of a run before it starts: the phases left in the iteration in progress up to its
 * proposal (iterations 0), or `iterations` whole iterations, the one in progress counting as the
 * first (as engine_run counts). */
void engine_projection_run(const struct engine *en, int iterations, long *calls, double *usd);
/* The money of engine_projection_run for 1 .. iterations (> 0) at once, usd[k - 1] for k: one
 * walk of the longest run instead of one per count. */
void engine_projection_each(const struct engine *en, int iterations, double *usd);
/* Measuring what the decisions kept when nobody measured it (an edited prompt): whether the
 * last iteration is closed with kept_score unmeasured on a validation sample it has; its
 * projected cost; and the run itself (the session's current prompts on that same sample, as
 * selection measures a configuration), which sets kept_score, the validation score and the
 * iteration's versions' scores when it is done (EV_DECISION).  -1 when there is nothing to
 * measure or the engine is busy; engine_cancel stops it (the score stays unmeasured). */
bool engine_can_measure(const struct engine *en);
void engine_project_measure(const struct engine *en, struct cost_projection *p);
int engine_measure(struct engine *en);
/* The validation evaluations the next Shapley phase buys beyond selection's (exact and
 * permutation; kernel never buys any): that of the iteration in progress when its Shapley
 * phase is still ahead, else of a fresh iteration. Counted in the projections above. */
long engine_shapley_extra(const struct engine *en);
/* engine_run stops after `iterations` iterations in a row without validation gain (an accepted
 * change whose combination beat the incumbent); 0 never stops for that. */
void engine_set_patience(struct engine *en, int iterations);
/* Why the engine paused last, or NULL. */
const char *engine_pause_reason(const struct engine *en);
/* What stopped the last command early, as a word: "patience", "cost_cap", "token_cap",
 * "error", "nothing_to_optimize", or NULL (it ran its course, or a pause or a proposal stopped
 * it: see engine_pause_reason). */
const char *engine_stop_cause(const struct engine *en);
/* What reopening the session refused or found damaged, for the person to read (the workbench's
 * status line, --run's stderr), or NULL: an unfinished iteration not resumed and why (it does
 * not follow the history; an older file's replay would run under other prompts), the fields of
 * a record that do not read. */
const char *engine_reopen_note(const struct engine *en);
/* The incumbent's measured validation score, or -1 when the current prompts were never measured
 * together (before the first selection, after an edit or a restored version). */
double engine_val_score(const struct engine *en);
/* The measured score of the best combination's part that changes only the steps in keep (per
 * step), or -1 when selection never evaluated that configuration. */
double engine_config_score(const struct engine *en, const struct iteration *it, const bool *keep);
/* Of an iteration's analysed bad cases, how many the local gradients (E5) blamed on step and how
 * many found it not at fault (the role's own words, "This step is not at fault."); cases
 * without a local gradient for it count in neither. */
void engine_blame(const struct iteration *it, int step, int *blamed, int *not_at_fault);
/* NULL, or why there is nothing to optimize (no learnable prompt): said before anything runs. */
const char *engine_nothing_to_optimize(const struct engine *en);

/* ---- a simulated run (simulate.c): a dry run that plays the iterations out ----
 * When every model a run would ask is the local scripted one (and no retrieval server or
 * external command is in the pipeline), a dry run need not project: engine_simulate runs
 * `iterations` iterations of s as engine_run does (auto-accepting, patience and caps as
 * set), through a sandboxed LLM layer (llm.h: the cache and journal at those paths read only,
 * nothing written, nothing sent), and reports what each iteration and phase was billed, as
 * the real run will then be: exact.  s is the caller's own copy (loaded for this, with the
 * run's overrides), which the simulation changes (prompts accepted, history): free it, never
 * save it.  max_requests > 0 bounds the work (stopped "bound", bounded set: a lower bound). */
struct engine_sim_opts {
	int iterations, patience;
	bool to_proposal; /* instead: run to the proposal as a person would (engine_run_to_proposal,
	                   * nothing decided automatically; iterations unused) */
	const char *cache_path, *spend_path; /* beside the session, as the run uses them */
	bool no_cache, trust;
	long max_requests; /* 0: no bound */
};
struct engine_sim_iter {
	int number;
	struct cost_projection phase[PHASE_COUNT], total;
	int accepted; /* changes the run would accept */
};
struct engine_sim {
	struct engine_sim_iter *iters; /* the iterations the run would make (and the rest of the
	                                * one in progress first) */
	int n;
	struct cost_projection per[PHASE_COUNT], total;
	char *stopped; /* why it would stop, as --run --json's "stopped" says it, or "bound" */
	char *message; /* engine_pause_reason, or NULL */
	bool bounded;
};
/* NULL when a run of s can be simulated, else why not (caller frees). */
char *engine_sim_blocker(const struct session *s);
/* 0 and *out filled (engine_sim_free it), or -1 with e set (a blocker says "not simulated"). */
int engine_simulate(struct session *s, const struct engine_sim_opts *o, struct engine_sim *out,
                    struct err *e);
void engine_sim_free(struct engine_sim *sim);

/* Persistence: the engine's history and resumable state as session sections. */
void engine_store(struct engine *en); /* writes "history" and "state" into the session tree */

#endif

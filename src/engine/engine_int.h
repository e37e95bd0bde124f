/* engine_int.h: the engine's private state, shared by engine.c (commands, events, decisions,
 * persistence) and phases.c (what each phase does).  Not for front ends. */
#ifndef ADOPT_ENGINE_INT_H
#define ADOPT_ENGINE_INT_H

#include "core/util.h"
#include "engine/engine.h"
#include "engine/roles.h"

struct bo;

/* An outstanding role request: where its answer goes, and the phase it belongs to (a later
 * phase than the one in flight when it was sent ahead: see engine_overlap). */
struct role_wait {
	struct engine *en;
	uint64_t id;
	char **dest;     /* extracted answer (NULL on failure) */
	char **raw_dest; /* the whole reply, when the caller wants it (optimizers) */
	const char *tag; /* NULL: keep the whole reply */
	enum phase phase;
	bool done;
	bool failed; /* an error, or nothing usable in the answer */
	char *error; /* why it failed (owned) */
};

/* A configuration being evaluated on the validation sample. */
struct eval_job {
	struct engine *en;
	int *choice;
	const struct variant **config; /* per step */
	struct variant *variants;      /* storage for config */
	struct run_batch *batch;
	uint32_t mask;   /* for Shapley coalitions: set when known */
	bool full;       /* on the whole validation sample, else on the screening subsample */
	size_t n_ex;     /* not full: the first n_ex of it->screen_idx (a rung) */
	double proj_usd; /* its projected cost, counted in engine.committed_* while it runs */
	long proj_tokens;
};

/* Selection's evaluation plan: stage k takes configs[k] configurations to the first
 * examples[k] validation examples; stage 0 is the screening's first rung (every configuration),
 * the middle stages its other rungs (the configurations expected to climb there), the last
 * the whole sample (the incumbent, which runs there from the start, and the proposal).  One
 * stage without screening.  `it` NULL: an iteration not begun. */
#define EVAL_PLAN_STAGES 24
struct eval_plan {
	int n_stages;
	long configs[EVAL_PLAN_STAGES], examples[EVAL_PLAN_STAGES];
};
void selection_plan(const struct engine *en, const struct iteration *it, struct eval_plan *p);
/* The configurations selection's projection walks, in the order the search is taken to start
 * them (projection.c): at most want rows of m choices into configs; returns how many. */
size_t plan_configs(const struct iteration *it, size_t m, long want, bool per_step, int *configs);

struct undo_rec {
	int step;
	size_t change; /* index in the iteration's changes */
	char *prev_prompt;
	struct demo *prev_demos;
	size_t n_prev_demos;
	size_t n_versions_before;
};

struct engine {
	struct session *s;
	struct llm *llm;
	struct runner *runner;
	struct engine_opts o;
	engine_event_fn *fn;
	void *arg;

	struct iteration **iters;
	size_t n_iters, cap_iters;
	struct prompt_version *versions;
	size_t n_versions, cap_versions;

	/* the phase in flight */
	bool busy;
	int stage;                /* sub-step inside a phase */
	struct role_wait **waits; /* outstanding role requests */
	size_t n_waits, cap_waits, waits_left;
	struct run_batch *batch; /* forward pass, or engine_measure's run */
	bool measuring;          /* engine_measure's run is the work in flight */
	struct llm_stats measure_start;
	struct eval_job **jobs; /* selection / Shapley evaluations in flight */
	size_t n_jobs, cap_jobs, jobs_left;
	size_t n_started; /* jobs[0..n_started) have every example started; the rest wait */
	uint64_t
	    slicer; /* the LLM loop's event source that starts them, a slice a turn (0: none) */
	/* the next phase's projection made beside the loop (engine_opts.project_beside): the
	 * source's id while it is made (0: none), then the projection until that phase starts */
	uint64_t projecting;
	bool pj_ready;
	bool pj_died; /* its copy died: the phase's start projects at once (once) */
	enum phase pj_phase;
	struct cost_projection pj;
	struct bo *bo;
	long *screen_est; /* per it->screened entry: the requests its screening saved (estimate) */
	double committed_usd; /* projected cost of the evaluations in flight */
	long committed_tokens;
	char *cap_reason; /* an evaluation the caps refused: the phase pauses when it ends */
	size_t cap_screen_est;
	bool launching; /* evaluations being started: completions wait for the launcher */
	struct run_batch **graveyard; /* finished batches, freed outside their callbacks */
	size_t n_graveyard, cap_graveyard;
	char ***opt_prompts; /* candidates phase: per step, the optimizer's role prompts */
	size_t *n_opt_prompts;
	char ***opt_answers;
	struct engine_totals earlier; /* spent by earlier runs on this session (history.spent) */
	struct llm_stats journaled;   /* of it, billed after the last save (a killed run) */
	/* reopened mid-iteration: what its finished phases cost when they ran ("state".cost), and
	 * the cache hits of their replay, which are no new calls */
	struct phase_cost resume_cost[PHASE_COUNT];
	struct engine_totals replayed;
	/* when the phase in flight started: the runner's memo hits, the LLM layer's deduplicated
	 * requests and reused tokens (what a replay adds to them was counted when it ran) */
	struct engine_totals at_start;
	char *reopen_note; /* engine_reopen_note: what reopening refused or found damaged */

	/* what to do after the phase in flight */
	enum { GO_NONE, GO_PROPOSAL, GO_ITERATIONS, GO_RESUME } go;
	enum phase resume_phase; /* GO_RESUME: run until the iteration reaches it */
	int iterations_left;
	int patience; /* GO_ITERATIONS stops after this many iterations without gain (0: never) */
	int flat;     /* iterations without gain in a row in this run */
	bool pause_requested;
	char *pause_reason;
	const char *stop_cause; /* engine_stop_cause */
	/* engine_project_next's last answer, for as long as nothing changed (views ask on every
	 * draw): the events emitted, the requests finished and the prompts it was made for */
	uint64_t events, next_key;
	struct cost_projection next;

	/* E1 is computed once per prompt version */
	char *structure_cache;
	uint64_t structure_key;

	/* per-phase accounting: the phase's requests carry its tags (phase_of_tag), whose spend
	 * is read when its first request is sent (a later phase's may go ahead of it) and again
	 * when it ends */
	struct llm_stats tag0[PHASE_COUNT];
	bool tag0_set[PHASE_COUNT];
	signed char ahead_ok[PHASE_COUNT]; /* 0 unknown, 1 the caps let it go ahead, -1 not */

	struct undo_rec *undo; /* decisions, undoable until the next forward pass starts */
	size_t n_undo, cap_undo;
	double val_score;
	double val_before_close; /* val_score before the last iteration closed (undo reopens it) */
	struct engine_totals totals;
};

void engine_emit(struct engine *en, enum engine_event_kind kind, int step, long example,
                 const char *message);
/* Phases call these when their work is all done / failed. */
void engine_phase_done(struct engine *en);
void engine_phase_failed(struct engine *en, const char *message);

/* Fails the phase in flight (true) when every role request it made failed. */
bool engine_roles_failed(struct engine *en);
/* All outstanding work of the current stage came back. */
void engine_work_done(struct engine *en);
/* Frees a batch later, outside the callback that may still be using it. */
void engine_bury_batch(struct engine *en, struct run_batch *b);

/* Whether evaluating configuration `choice` of iteration `it` on examples idx[0..n) of the
 * validation split keeps the session within optimizer.cost_cap_usd and token_cap beside what it
 * has spent and the evaluations in flight (committed_*), the evaluation priced by eval_project:
 * NULL with *usd and *tokens its projection (0 when no cap is set), else why not (caller
 * frees).  Checked before each evaluation, so an overrun is at most one evaluation's. */
char *engine_eval_over_cap(const struct engine *en, const struct iteration *it, const int *choice,
                           const size_t *idx, size_t n, double *usd, long *tokens);

/* phases.c */
void phase_start(struct engine *en, enum phase p);
void phase_clear(struct iteration *it, enum phase p, size_t n_steps);
void iteration_free(struct iteration *it, size_t n_steps);
/* projection.c: what phase p of the iteration in progress (or of the next one) will cost. */
void phase_project(const struct engine *en, enum phase p, struct cost_projection *out);
/* projection.c: what evaluating configuration `choice` of iteration `it` (per step: 0 the
 * incumbent, k its candidate k) on examples idx[0..n) of the validation split will cost, the
 * memo's and the response cache's answers free (at most 64 of them walked, spread over the
 * sample, the others priced alike). */
void eval_project(const struct engine *en, const struct iteration *it, const int *choice,
                  const size_t *idx, size_t n, struct cost_projection *p);
/* Sends a role prompt to the role model; the answer lands in *dest.  The request belongs to
 * the role's phase (role_phase): sent while an earlier phase is in flight, it goes ahead and
 * that phase adopts it when it starts. */
void engine_ask(struct engine *en, enum role r, const char *prompt, char **dest, char **raw_dest,
                const char *tag);
/* The request engine_ask makes of a role prompt (the role model, one user message *msg, the
 * tag "role:NAME" in tag), for a projection to look up in the response cache; false when
 * optimizer.role_model names no model. */
bool engine_role_request(const struct engine *en, enum role r, const char *prompt,
                         struct llm_message *msg, char tag[64], struct llm_request *req);
enum phase role_phase(enum role r);
/* The role request whose answer goes to *slot (dest or raw_dest), or NULL: a slot is asked
 * once, whichever of its phase or an earlier one asks first. */
struct role_wait *engine_wait_of(const struct engine *en, char *const *slot);
/* Whether work of later phases may start as soon as its inputs exist (optimizer.overlap and a
 * run of whole iterations or to the proposal; a single step keeps the strict order), and
 * whether the caps let phase p go ahead (its projection, as start_next checks it). */
bool engine_overlap(const struct engine *en);
bool engine_may_ahead(struct engine *en, enum phase p);
/* Starts what the answers so far make possible in later phases (phases_roles.c); nothing
 * unless engine_overlap. */
void phases_flow(struct engine *en);
/* Per step: whether its candidates were asked (phases_candidates.c, for phases_flow); asks
 * them. */
void phases_ask_candidates(struct engine *en, struct iteration *it, size_t step);
bool phases_candidates_setup(struct engine *en, struct iteration *it);
void engine_cancel_work(struct engine *en);
void bo_free_opt(struct engine *en);
/* phases_search.c: frees an evaluation's kept traces (n of them). */
void eval_free_traces(struct evaluation *ev, size_t n);
/* engine_store.c: reads "history" and "state" back from the session. */
void engine_restore(struct engine *en);
/* Adds a sentence to engine_reopen_note ("; " between them). */
void engine_note_reopen(struct engine *en, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* engine_store.c: a reopened closed iteration's record after :measure gave it its score. */
void engine_store_measured(struct iteration *it);
/* engine.c: the measured score of what an iteration's decisions kept (iteration.kept_score). */
double engine_kept_score(const struct engine *en, const struct iteration *it);
struct iteration *engine_new_iteration(struct engine *en);
/* Records a new version of a step's prompt; its demonstrations are unknown until
 * version_set_demos says what they are. */
struct prompt_version *engine_add_version(struct engine *en, int step, const char *prompt,
                                          double score, bool edited, int iteration);
void version_set_demos(struct prompt_version *v, const struct demo *d, size_t n);
/* engine.c: gives the versions in effect when an iteration measured its incumbent (each step's
 * last version made before iteration `before`; INT_MAX: the current ones) the score they formed,
 * where they had none. */
void engine_score_versions(struct engine *en, int before, double score);
/* engine.c: the decisions of a reopened iteration at its decision phase, undoable again as
 * they were before it was saved (nothing undoable when its versions do not match them). */
void engine_restore_undo(struct engine *en);
bool step_optimizable(const struct step *st);

#endif

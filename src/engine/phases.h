/* phases.h: what the phase files share (phases.c: the stage table, forward pass, projection and
 * roll-back; phases_roles.c: E1-E6; phases_candidates.c: the candidates; phases_search.c:
 * selection, Shapley, allocation, proposal).  Private to src/engine. */
#ifndef ADOPT_PHASES_H
#define ADOPT_PHASES_H

#include "engine/engine_int.h"

/* A stage submits work and returns STAGE_WAIT, or is done with its phase's next stage
 * (STAGE_NEXT) or with the whole phase (STAGE_DONE).  Called again with resumed=true when
 * everything it submitted has come back. */
enum { STAGE_WAIT, STAGE_NEXT, STAGE_DONE };
typedef int stage_fn(struct engine *en, struct iteration *it, bool resumed);

stage_fn stage_forward, stage_forward_collect;
stage_fn stage_analysis_e1, stage_analysis_e2, stage_gradient_e3, stage_gradient_e4, stage_local_e5,
    stage_pseudo_e6;
stage_fn stage_candidates_ask, stage_candidates_make, stage_selection_start, stage_selection_search,
    stage_screen_promote, stage_shapley_needs, stage_shapley_compute, stage_allocation,
    stage_proposal, stage_decision;

/* The training batch of iteration `number` (indices into the train split, the first *n of the
 * array), and the validation sample of selection (split phases_val_split).  Caller frees. */
size_t *phases_forward_sample(const struct engine *en, int number, size_t *n);
size_t *phases_val_sample(const struct engine *en, int number, size_t *n);
/* The index of the evaluation among ev[0..n) whose choice (m steps) is `choice`, or -1. */
long phases_find_eval(const struct evaluation *ev, size_t n, const int *choice, size_t m);
enum split_id phases_val_split(const struct engine *en);
/* A hash of every step's prompt: E1 is asked again only when it changes. */
uint64_t prompts_key(const struct session *s);
/* E1 ahead of its phase, during the forward pass, once its first bad example says there is
 * something to analyse (E1 reads the pipeline, not the traces), when engine_may_ahead and the
 * last answer was for other prompts. */
void phases_ask_structure(struct engine *en, struct iteration *it);
/* The E1 prompt (the pipeline's structure) and the E2 prompt of a step of `it`, whose forward
 * pass ran, under that structure (E1's answer), as the analysis asks them; NULL and *e when the
 * role's template does not render.  A projection looks them up in the response cache. */
char *phases_e1_prompt(const struct engine *en, struct err *e);
char *phases_e2_prompt(const struct engine *en, const struct iteration *it, int step,
                       const char *structure, struct err *e);

/* The extra validation evaluations the Shapley phase will launch (exact and permutation ask
 * for the coalitions selection did not evaluate; kernel for none): exact once selection has
 * run, else from the search's initial design. */
long phases_shapley_extra(const struct engine *en, const struct iteration *it);
/* Screening's paired rule: whether scores c can still beat scores l on the whole sample, from
 * their n paired subsample scores (phases_search.c). */
bool phases_can_still_win(const double *c, const double *l, size_t n);
/* The iteration in progress. */
struct iteration *phases_current(struct engine *en);
/* run_batch callback: one batch of the stage in flight is done. */
void phases_batch_done(void *arg, struct run_batch *b);
/* Starts the examples queued (the forward pass's batch, the evaluations) a slice a turn of the
 * LLM loop from now on (phases_search.c): a large batch never holds the loop. */
void phases_launch_sliced(struct engine *en);

#endif

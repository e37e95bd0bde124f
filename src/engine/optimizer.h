/* optimizer.h: step-level prompt optimizers behind one interface.  An optimizer sees one step
 * and its small supervised set D_i (inputs, current outputs, local gradients, pseudo-labels, and
 * good traces) and proposes up to `budget` candidate prompts.  It never talks to the network: it
 * says which role prompts it wants answered, and builds candidates from the answers.
 * Adding an optimizer is one new file defining a `struct step_optimizer` and one line in the
 * table in optimizer.c. */
#ifndef ADOPT_OPTIMIZER_H
#define ADOPT_OPTIMIZER_H

#include <stddef.h>

#include "core/session.h"
#include "engine/engine.h"

struct opt_case {
	const char *input;  /* the step's input variables, "name: value" lines */
	const char *output; /* what the step produced */
	const char *local;  /* E5: what it did wrong (NULL for good cases) */
	const char *pseudo; /* E6: what it should have produced (NULL for good cases) */
	bool good;
};

struct opt_request {
	const struct session *s;
	const struct step *step;
	const char *prompt; /* the incumbent prompt */
	const struct demo *demos;
	size_t n_demos;
	const char *structure;  /* E1 */
	const char *dependency; /* E2 for this step */
	const struct opt_case *cases;
	size_t n_cases;
	int budget; /* candidates wanted */
	int max_demos;
	unsigned long seed;
};

struct step_optimizer {
	const char *name;
	const char *help;
	/* The role prompts to send to the role model (caller frees each and the array). */
	size_t (*ask)(const struct opt_request *req, char ***prompts);
	/* Candidates from the answers (answers[i] may be NULL when that request failed); at most
	 * req->budget, each with optimizer set.  Deduplication and validation happen in the engine.
	 */
	size_t (*make)(const struct opt_request *req, const char *const *answers, size_t n_answers,
	               struct candidate **out);
};

const struct step_optimizer *optimizer_find(const char *name);
/* The i-th registered optimizer, NULL past the end (for help and completion). */
const struct step_optimizer *optimizer_at(size_t i);
/* "instruct, joint" for messages and help. */
const char *optimizer_names(void);
/* Frees what a candidate owns (not the struct itself: candidates live in arrays). */
void candidate_free(struct candidate *c);
/* Frees an array of n candidates and the array. */
void candidates_free(struct candidate *c, size_t n);

/* ---- helpers for optimizer implementations ---- */

/* The instruct role prompt asking for n rewrites of req's incumbent prompt (variables: see
 * src/engine/roles/README.md).  NULL + e when the role template does not render. */
char *optimizer_instruct_prompt(const struct opt_request *req, int n, struct err *e);
/* The usable rewrites in the answers, in order, at most max: every <prompt> block (a reply
 * without any such tag counts as one prompt), dropping blocks that are not valid templates,
 * lose a placeholder of the incumbent, add one it does not have, equal the incumbent or repeat
 * an earlier block.  Caller frees each and the array. */
size_t optimizer_parse_rewrites(const struct opt_request *req, const char *const *answers,
                                size_t n_answers, size_t max, char ***out);
/* Equal but for surrounding white space. */
bool optimizer_same_text(const char *a, const char *b);
/* Deep copy of demonstrations. */
struct demo *demos_dup(const struct demo *d, size_t n);
void demos_free(struct demo *d, size_t n);

#endif

/* compare.h: --compare A B: two sessions, or two prompt versions of one session
 * (SESSION@vN, SESSION@iteration:K), evaluated on one split through the response cache and
 * compared example by example, with a paired bootstrap interval for the score difference. */
#ifndef ADOPT_COMPARE_H
#define ADOPT_COMPARE_H

#include "frontend.h"
#include "engine/engine.h"
#include "engine/run.h"

enum compare_spec { SPEC_CURRENT, SPEC_VERSION, SPEC_ITERATION };

/* "vN", "iteration:K" or "current"; -1 for anything else. */
int compare_spec_parse(const char *v, enum compare_spec *kind, long *n);
/* The configuration a spec names for the session behind en: var and config (n_steps each,
 * zeroed by the caller) get the prompt of each llm step that differs from the current one (its
 * version n, or its last before; the prompts after iteration n).  The prompts are borrowed
 * from the engine's versions.  -1 (e set) for a version or iteration that does not exist. */
int compare_config(const struct engine *en, enum compare_spec kind, long n, struct variant *var,
                   const struct variant **config, struct err *e);

/* The comparison of two finished batches over the same examples as text lines (the command
 * line prints them, the workbench's compare screen shows them). */
typedef void compare_line_fn(void *arg, int indent, const char *text);
void compare_text(const struct session *s, const char *split, const char *la, const char *lb,
                  const struct run_batch *a, const struct run_batch *b, bool scripted,
                  compare_line_fn *fn, void *arg);

/* o->compare_a is A, o->session is B; o->split, o->json, o->limit apply. */
int compare_main(const struct front_opts *o);

#endif

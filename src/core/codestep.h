/* codestep.h: the code steps (the program logic C of the pipeline) that run without a model:
 * template, regex (extract or substitute), retrieve (BM25 top-k) and exec (an external command,
 * only when the user trusts the session). */
#ifndef ADOPT_CODESTEP_H
#define ADOPT_CODESTEP_H

#include <stdbool.h>

#include "core/session.h"
#include "core/trace.h"

struct codestep_env {
	bool trust;                /* --trust: exec steps may run */
	const struct example *ex;  /* the example, for per-example passages */
};

/* Runs a code step on `text`, its rendered template (template text, regex source, retrieve
 * query, exec stdin).  0 with *out filled, or -1 with a message a user can act on. */
int codestep_run(const struct step *st, const char *text, const struct codestep_env *env,
                 struct step_out *out, struct err *e);

#endif

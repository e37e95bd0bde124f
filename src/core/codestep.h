/* codestep.h: the code steps (the program logic C of the pipeline) that run without a model:
 * template, regex (extract or substitute), retrieve (BM25 top-k) and exec (an external command,
 * only when the user trusts the session).
 *
 * codestep_run runs any of them to the end, an exec step included (it waits for the command),
 * except a retrieve step with a server "url": that is a network request, which the runner sends
 * through the LLM layer (llm.h, llm_retrieve).
 * A caller with an event loop runs exec steps without blocking: codestep_exec_start, then the
 * proc.h calls from its loop, then codestep_exec_result on the result; same output, same
 * errors. */
#ifndef ADOPT_CODESTEP_H
#define ADOPT_CODESTEP_H

#include <stdbool.h>

#include "core/proc.h"
#include "core/session.h"
#include "core/trace.h"

struct codestep_env {
	bool trust;               /* --trust: exec steps may run */
	const struct example *ex; /* the example, for per-example passages */
};

/* Runs a code step on `text`, its rendered template (template text, regex source, retrieve
 * query, exec stdin).  0 with *out filled, or -1 with a message a user can act on. */
int codestep_run(const struct step *st, const char *text, const struct codestep_env *env,
                 struct step_out *out, struct err *e);

/* Checks trust and starts an exec step's command with `text` on its stdin.  NULL with e set
 * when refused (no --trust) or when it cannot start. */
struct proc *codestep_exec_start(const struct step *st, const char *text,
                                 const struct codestep_env *env, struct err *e);
/* Turns a finished exec step's result into its output (0), or an error (-1: timed out, non-zero
 * status with the stderr tail, output too big). */
int codestep_exec_result(const struct step *st, const struct proc_result *res, struct step_out *out,
                         struct err *e);

#endif

/* beside.h: work done beside the loop.  A forked copy of this process computes what the loop must
 * not wait for (the dry walks of a projection: 50-200 ms) and writes its answer to a pipe; the
 * loop reads it as an event source of the LLM layer (llm_source_add), never waiting, and hands
 * it to a callback.  The copy sees the state as it was at the fork, changes nothing the parent
 * sees (its writes go to its own pages) and leaves by _exit. */
#ifndef ADOPT_BESIDE_H
#define ADOPT_BESIDE_H
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "llm/llm.h"

/* In the child: the answer into out (the child's own memory; nothing else it changes counts). */
typedef void beside_work_fn(void *arg, struct sbuf *out);
/* In the loop (from llm_wait), once: the child's whole answer, or data NULL (n 0) when it died
 * (died true) or when the work was cancelled (llm_source_cancel, llm_free: the child killed and
 * reaped; died false: the caller's state may be going away, do no work for it). */
typedef void beside_done_fn(void *arg, const char *data, size_t n, bool died);

/* Forks the child that runs work(work_arg, out); done(done_arg, ...) gets out when it has
 * exited.  Returns the source's id (for llm_source_cancel), or 0 with e set when no child could
 * be started (done is not called: the caller may work at once). */
uint64_t llm_beside(struct llm *l, beside_work_fn *work, void *work_arg, beside_done_fn *done,
                    void *done_arg, struct err *e);

/* How many copies llm_beside has started in this process: a front end that forks too (a save)
 * spreads its own over the loop's turns by it (a fork of a large process is milliseconds). */
unsigned long llm_beside_forks(void);

/* Fault injection for tests: the next copy llm_beside starts dies by signal signo before it
 * works (SIGKILL: killed; SIGSEGV: a crash).  One copy only. */
void llm_beside_fault(int signo);

#endif

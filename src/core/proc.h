/* proc.h: runs an external command for the `exec` code step: input on stdin, stdout captured,
 * a tail of stderr kept, a time limit enforced on the whole process group.
 *
 * No threads, no shell: argv[0] is looked up in PATH and run directly (posix_spawnp) in a new
 * process group.  One poll() loop feeds stdin and drains stdout and stderr together, so a child
 * that writes a lot before it reads cannot deadlock us.  SIGPIPE is ignored only while a command
 * runs (the previous disposition is restored); the child starts with default signal
 * dispositions and an empty signal mask.  Every child is reaped before proc_run returns. */
#ifndef ADOPT_PROC_H
#define ADOPT_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define PROC_ERR_TAIL      2048 /* bytes of stderr kept (the last ones) */
#define PROC_TERM_GRACE_MS 500  /* from SIGTERM to SIGKILL on timeout */

struct proc_result {
	char *out; /* stdout, NUL-terminated (out_len excludes the NUL); never NULL */
	size_t out_len;
	char *err_tail; /* the last PROC_ERR_TAIL bytes of stderr at most, NUL-terminated */
	int status;     /* the exit status, or 128 + signal number when killed by a signal */
	bool timed_out; /* the time limit was hit and the process group killed */
	bool truncated; /* stdout exceeded max_out; the rest was read and discarded */
};

/* Runs argv (argv[0] looked up in PATH; argv NULL-terminated), writes input (input_len bytes,
 * may contain NULs; NULL for none) to its stdin and then closes it, and captures stdout up to
 * max_out bytes.  After timeout_ms (<= 0: no limit) the whole process group gets SIGTERM, then
 * SIGKILL PROC_TERM_GRACE_MS later.  When the command exits, whatever it left running in its
 * process group is killed too.  A child that closes its stdin early is not an error.
 * Returns 0 when the command ran, whatever its exit status (*res filled; free it with
 * proc_result_free); -1 with e set when it could not be started (*res zeroed). */
int proc_run(char *const argv[], const char *input, size_t input_len, int timeout_ms,
             size_t max_out, struct proc_result *res, struct err *e);
void proc_result_free(struct proc_result *res);

#endif

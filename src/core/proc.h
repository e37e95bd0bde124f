/* proc.h: runs an external command for the `exec` code step: input on stdin, stdout captured,
 * a tail of stderr kept, a time limit enforced on the whole process group.
 *
 * No threads, no shell: argv[0] is looked up in PATH and run directly (posix_spawnp) in a new
 * process group.  Stdin is fed and stdout and stderr drained together as poll() reports them
 * ready, so a child that writes a lot before it reads cannot deadlock us.  SIGPIPE is ignored
 * while at least one command runs (the previous disposition is restored after the last); the
 * child starts with default signal dispositions and an empty signal mask.
 *
 * Two ways to run one:
 *   - asynchronously, inside someone else's event loop: proc_start, then before each poll
 *     proc_poll_fds (the descriptors and the time to wake up), after it proc_step, until
 *     proc_step says it is finished; then proc_finish.  Nothing here ever blocks, except the
 *     reaping of a process that has exited or was just sent SIGKILL.  Any number of commands
 *     may run at once.  proc_kill stops one early (cancel).
 *   - synchronously: proc_run, a small poll loop around the above.
 * Every child is reaped by proc_finish, proc_kill or proc_run. */
#ifndef ADOPT_PROC_H
#define ADOPT_PROC_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/util.h"

#define PROC_ERR_TAIL      2048 /* bytes of stderr kept (the last ones) */
#define PROC_TERM_GRACE_MS 500  /* from SIGTERM to SIGKILL on timeout */
#define PROC_MAX_FDS       3    /* descriptors proc_poll_fds may ask for */

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

/* A running command; owned by whoever started it until proc_finish or proc_kill. */
struct proc;

/* Starts argv as proc_run does (input is copied).  NULL with e set when it cannot start. */
struct proc *proc_start(char *const argv[], const char *input, size_t input_len, int timeout_ms,
                        size_t max_out, struct err *e);
/* Fills fds (fd and events) with what to poll for it and returns how many (0 once finished);
 * *due_ms gets the now_ms() time at which proc_step must run even without an event (-1: no
 * need).  It is always set while the command runs (deadline, exit checks). */
unsigned proc_poll_fds(const struct proc *p, struct pollfd fds[PROC_MAX_FDS], int64_t *due_ms);
/* Acts on a wake-up: fds/n as proc_poll_fds filled them with the revents poll() set (n = 0 or
 * no revents on a timer).  Feeds, drains, enforces the time limit (SIGTERM, SIGKILL after the
 * grace), and reaps.  Never blocks.  True once the command is finished and reaped. */
bool proc_step(struct proc *p, const struct pollfd *fds, unsigned n);
/* Fills *res (free it with proc_result_free) from a finished command and frees p.  Called
 * early, it kills the group first (the result then has what was read so far). */
void proc_finish(struct proc *p, struct proc_result *res);
/* Cancels: SIGKILL to the whole group, reaps the child, closes the pipes, frees p.  NULL: no-op. */
void proc_kill(struct proc *p);
/* The child's pid (also its process group id). */
pid_t proc_pid(const struct proc *p);

#endif

/* proc.c: spawning a command with three pipes, the step function that feeds and drains them
 * when poll() says so, and the timeout / process-group teardown; proc_run is a small poll loop
 * around it.  Contract in proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"

extern char **environ;

#define IO_CHUNK        65536
#define LEADER_CHECK_MS 100 /* how often to look for an exited child whose pipes stay open */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A pipe whose ends are close-on-exec and numbered 3 or above, so that dup2 onto 0, 1 and 2 in
 * the child never meets an end that is already there. */
static int pipe_cloexec(int p[2])
{
	int raw[2];
	if (pipe(raw) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		p[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 3);
		close(raw[i]);
	}
	if (p[0] < 0 || p[1] < 0) {
		close_fd(&p[0]);
		close_fd(&p[1]);
		return -1;
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int spawn(char *const argv[], int in, int out, int err, pid_t *pid)
{
	static const int sigdef_list[] = {SIGPIPE, SIGINT,  SIGQUIT, SIGTERM, SIGHUP,
	                                  SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	for (size_t i = 0; i < ARRAY_SIZE(sigdef_list); i++)
		sigaddset(&def, sigdef_list[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                  POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	int rc = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* True once the child has exited (it stays a zombie, so its process group id stays ours to
 * signal).  Never blocks. */
static bool child_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
	return (r == 0 && si.si_pid == pid) || (r < 0 && errno == ECHILD);
}

/* SIGPIPE is ignored while at least one command runs: a child that stops reading its stdin must
 * give us EPIPE, not kill us.  The disposition found before the first is restored after the
 * last.  (No threads: a plain counter.) */
static int sigpipe_users;
static struct sigaction sigpipe_saved;

static void sigpipe_hold(void)
{
	if (sigpipe_users++ > 0)
		return;
	struct sigaction ign;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &sigpipe_saved);
}

static void sigpipe_release(void)
{
	if (--sigpipe_users == 0)
		sigaction(SIGPIPE, &sigpipe_saved, NULL);
}

enum proc_state {
	PROC_RUNNING,     /* feeding and draining; looking for the leader's exit */
	PROC_TERMINATING, /* timed out: the group has SIGTERM, SIGKILL at term_until */
	PROC_DONE,        /* reaped; the result is ready */
};

struct proc {
	enum proc_state state;
	pid_t pid;
	char *input;
	size_t input_len, written, max_out;
	int fd_in, fd_out, fd_err;
	struct sbuf out, err;
	bool truncated, timed_out;
	int64_t deadline;   /* -1: no time limit */
	int64_t term_until; /* PROC_TERMINATING: when SIGKILL follows */
	int64_t due;        /* when proc_step wants to run without an event */
	int nap;            /* ms between exit checks once the output pipes are closed */
	int status;
};

static void io_write(struct proc *p)
{
	while (p->written < p->input_len) {
		size_t n = MIN(p->input_len - p->written, IO_CHUNK);
		ssize_t w = write(p->fd_in, p->input + p->written, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0)
			break; /* EPIPE: the child stopped reading; not our error */
		p->written += (size_t)w;
	}
	close_fd(&p->fd_in);
}

static void keep_stdout(struct proc *p, const char *buf, size_t n)
{
	size_t room = p->max_out - MIN(p->out.len, p->max_out);
	if (n > room)
		p->truncated = true;
	if (MIN(n, room))
		sbuf_add(&p->out, buf, MIN(n, room));
}

static void keep_stderr(struct proc *p, const char *buf, size_t n)
{
	sbuf_add(&p->err, buf, n);
	if (p->err.len > 2 * PROC_ERR_TAIL) {
		memmove(p->err.s, p->err.s + p->err.len - PROC_ERR_TAIL, PROC_ERR_TAIL);
		p->err.len = PROC_ERR_TAIL;
		p->err.s[p->err.len] = '\0';
	}
}

/* Reads what is there now; closes *fd at end of file. */
static void io_drain(struct proc *p, int *fd, void (*keep)(struct proc *, const char *, size_t))
{
	char buf[IO_CHUNK];
	while (*fd >= 0) {
		ssize_t r = read(*fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			close_fd(fd);
			return;
		}
		keep(p, buf, (size_t)r);
	}
}

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

/* The leader is dead or a zombie (or about to be, after SIGKILL): its group id cannot have been
 * reused.  Kills whatever is left in the group, reaps the leader, closes the pipes. */
static void proc_reap(struct proc *p)
{
	kill(-p->pid, SIGKILL);
	int ws = 0;
	pid_t w;
	while ((w = waitpid(p->pid, &ws, 0)) < 0 && errno == EINTR)
		;
	p->status = w == p->pid ? decode_status(ws) : -1; /* -1: reaped elsewhere */
	close_fd(&p->fd_in);
	close_fd(&p->fd_out);
	close_fd(&p->fd_err);
	p->state = PROC_DONE;
	p->due = -1;
	sigpipe_release();
}

/* Whether a bare command name names a file in some PATH directory.  posix_spawnp says EACCES
 * when it met a directory it may not search and found the command nowhere else; a shell calls
 * that "not found", and so do we. */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (strchr(name, '/') || !path)
		return true;
	for (const char *p = path;; p++) {
		size_t n = strcspn(p, ":");
		char *file = xasprintf("%.*s/%s", (int)n, n ? p : ".", name);
		bool found = access(file, F_OK) == 0;
		free(file);
		if (found)
			return true;
		p += n;
		if (!*p)
			return false;
	}
}

struct proc *proc_start(char *const argv[], const char *input, size_t input_len, int timeout_ms,
                        size_t max_out, struct err *e)
{
	if (!argv || !argv[0] || !argv[0][0]) {
		err_set(e, "exec: no command given");
		return NULL;
	}
	/* looked up first: where posix_spawnp cannot report a failed exec (under valgrind, which
	 * turns its vfork into a fork) the child would only exit 127 */
	if (!in_path(argv[0])) {
		err_set(e, "exec \"%s\": command not found (searched PATH)", argv[0]);
		return NULL;
	}
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	if (pipe_cloexec(pin) < 0 || pipe_cloexec(pout) < 0 || pipe_cloexec(perr) < 0) {
		err_set(e, "exec \"%s\": cannot create pipes: %s", argv[0], strerror(errno));
		for (int i = 0; i < 2; i++) {
			close_fd(&pin[i]);
			close_fd(&pout[i]);
			close_fd(&perr[i]);
		}
		return NULL;
	}
	sigpipe_hold();
	int64_t start = now_ms();
	pid_t pid;
	int rc = spawn(argv, pin[0], pout[1], perr[1], &pid);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	if (rc != 0) {
		if (rc == ENOENT || (rc == EACCES && !in_path(argv[0])))
			err_set(e, "exec \"%s\": command not found (searched PATH)", argv[0]);
		else
			err_set(e, "exec \"%s\": cannot run it: %s", argv[0], strerror(rc));
		close_fd(&pin[1]);
		close_fd(&pout[0]);
		close_fd(&perr[0]);
		sigpipe_release();
		return NULL;
	}
	struct proc *p = xcalloc(1, sizeof *p);
	p->state = PROC_RUNNING;
	p->pid = pid;
	p->input_len = input ? input_len : 0;
	if (p->input_len) {
		p->input = xmalloc(p->input_len);
		memcpy(p->input, input, p->input_len);
	}
	p->max_out = max_out;
	p->fd_in = pin[1];
	p->fd_out = pout[0];
	p->fd_err = perr[0];
	set_nonblock(p->fd_in);
	set_nonblock(p->fd_out);
	set_nonblock(p->fd_err);
	if (p->written == p->input_len)
		close_fd(&p->fd_in);
	p->deadline = timeout_ms > 0 ? start + timeout_ms : -1;
	p->due =
	    p->deadline >= 0 ? MIN(p->deadline, start + LEADER_CHECK_MS) : start + LEADER_CHECK_MS;
	p->nap = 1;
	return p;
}

unsigned proc_poll_fds(const struct proc *p, struct pollfd fds[PROC_MAX_FDS], int64_t *due_ms)
{
	unsigned n = 0;
	*due_ms = p->due;
	if (p->state == PROC_DONE)
		return 0;
	if (p->fd_in >= 0)
		fds[n++] = (struct pollfd){.fd = p->fd_in, .events = POLLOUT};
	if (p->fd_out >= 0)
		fds[n++] = (struct pollfd){.fd = p->fd_out, .events = POLLIN};
	if (p->fd_err >= 0)
		fds[n++] = (struct pollfd){.fd = p->fd_err, .events = POLLIN};
	return n;
}

static void on_events(struct proc *p, const struct pollfd *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!fds[i].revents || fds[i].fd < 0)
			continue;
		if (fds[i].fd == p->fd_in)
			io_write(p);
		else if (fds[i].fd == p->fd_out)
			io_drain(p, &p->fd_out, keep_stdout);
		else if (fds[i].fd == p->fd_err)
			io_drain(p, &p->fd_err, keep_stderr);
	}
}

bool proc_step(struct proc *p, const struct pollfd *fds, unsigned n)
{
	if (p->state == PROC_DONE)
		return true;
	on_events(p, fds, n);
	int64_t now = now_ms();
	if (child_exited(p->pid)) {
		/* the child is gone; take what it wrote and do not wait for any process it left
		 * holding the pipes */
		io_drain(p, &p->fd_out, keep_stdout);
		io_drain(p, &p->fd_err, keep_stderr);
		proc_reap(p);
		return true;
	}
	if (p->state == PROC_TERMINATING) {
		if (now >= p->term_until) {
			proc_reap(p); /* SIGKILL: the leader ignored SIGTERM */
			return true;
		}
		p->due = MIN(p->term_until, now + p->nap);
		p->nap = MIN(p->nap * 2, 20);
		return false;
	}
	if (p->deadline >= 0 && now >= p->deadline) {
		p->timed_out = true;
		p->state = PROC_TERMINATING;
		kill(-p->pid, SIGTERM);
		p->term_until = now + PROC_TERM_GRACE_MS;
		p->nap = 1;
		p->due = now + p->nap;
		return false;
	}
	/* with a pipe open, its end of file (or the leader check) wakes us; once both are closed
	 * the exit is due any moment: look again soon, then less and less often */
	int wait = LEADER_CHECK_MS;
	if (p->fd_out < 0 && p->fd_err < 0) {
		wait = p->nap;
		p->nap = MIN(p->nap * 2, 20);
	}
	p->due = now + wait;
	if (p->deadline >= 0)
		p->due = MIN(p->due, p->deadline);
	return false;
}

void proc_finish(struct proc *p, struct proc_result *res)
{
	memset(res, 0, sizeof *res);
	if (p->state != PROC_DONE)
		proc_reap(p);
	/* the stderr tail starts at a character boundary */
	size_t from = p->err.len > PROC_ERR_TAIL ? p->err.len - PROC_ERR_TAIL : 0;
	if (from)
		while (from < p->err.len && ((unsigned char)p->err.s[from] & 0xC0) == 0x80)
			from++;
	res->err_tail = xstrndup(sbuf_str(&p->err) + from, p->err.len - from);
	sbuf_free(&p->err);
	res->out_len = p->out.len;
	res->out = sbuf_take(&p->out);
	res->status = p->status;
	res->timed_out = p->timed_out;
	res->truncated = p->truncated;
	free(p->input);
	free(p);
}

void proc_kill(struct proc *p)
{
	if (!p)
		return;
	if (p->state != PROC_DONE)
		proc_reap(p);
	sbuf_free(&p->out);
	sbuf_free(&p->err);
	free(p->input);
	free(p);
}

pid_t proc_pid(const struct proc *p)
{
	return p->pid;
}

int proc_run(char *const argv[], const char *input, size_t input_len, int timeout_ms,
             size_t max_out, struct proc_result *res, struct err *e)
{
	memset(res, 0, sizeof *res);
	struct proc *p = proc_start(argv, input, input_len, timeout_ms, max_out, e);
	if (!p)
		return -1;
	struct pollfd fds[PROC_MAX_FDS];
	unsigned n = 0;
	do {
		int64_t due;
		n = proc_poll_fds(p, fds, &due);
		int64_t left = due < 0 ? -1 : MAX(due - now_ms(), (int64_t)0);
		if (poll(fds, n, (int)MIN(left, (int64_t)INT32_MAX)) < 0)
			for (unsigned i = 0; i < n; i++)
				fds[i].revents = 0; /* EINTR: only the clock is looked at */
	} while (!proc_step(p, fds, n));
	proc_finish(p, res);
	return 0;
}

void proc_result_free(struct proc_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err_tail);
	memset(res, 0, sizeof *res);
}

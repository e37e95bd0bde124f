/* proc.c: spawning a command with three pipes, the poll() loop that feeds and drains them,
 * and the timeout / process-group teardown.  Contract in proc.h. */
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
 * signal); waits until `until` (ms, -1 = forever), false if it is still running then. */
static bool child_exited(pid_t pid, int64_t until)
{
	for (int nap = 1;; nap = MIN(nap * 2, 20)) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if ((r == 0 && si.si_pid == pid) || (r < 0 && errno == ECHILD))
			return true;
		if (until >= 0 && now_ms() >= until)
			return false;
		poll(NULL, 0, nap);
	}
}

struct io {
	const char *input;
	size_t input_len, written, max_out;
	int fd_in, fd_out, fd_err;
	struct sbuf out, err;
	bool truncated;
};

static void io_write(struct io *io)
{
	while (io->written < io->input_len) {
		size_t n = MIN(io->input_len - io->written, IO_CHUNK);
		ssize_t w = write(io->fd_in, io->input + io->written, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0)
			break; /* EPIPE: the child stopped reading; not our error */
		io->written += (size_t)w;
	}
	close_fd(&io->fd_in);
}

static void keep_stdout(struct io *io, const char *buf, size_t n)
{
	size_t room = io->max_out - MIN(io->out.len, io->max_out);
	if (n > room)
		io->truncated = true;
	if (MIN(n, room))
		sbuf_add(&io->out, buf, MIN(n, room));
}

static void keep_stderr(struct io *io, const char *buf, size_t n)
{
	sbuf_add(&io->err, buf, n);
	if (io->err.len > 2 * PROC_ERR_TAIL) {
		memmove(io->err.s, io->err.s + io->err.len - PROC_ERR_TAIL, PROC_ERR_TAIL);
		io->err.len = PROC_ERR_TAIL;
		io->err.s[io->err.len] = '\0';
	}
}

/* Reads what is there now; closes *fd at end of file. */
static void io_drain(struct io *io, int *fd, void (*keep)(struct io *, const char *, size_t))
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
		keep(io, buf, (size_t)r);
	}
}

/* Feeds and drains until both output pipes close, the child exits, or the deadline passes.
 * Returns false on timeout. */
static bool io_loop(struct io *io, pid_t pid, int64_t deadline)
{
	while (io->fd_out >= 0 || io->fd_err >= 0) {
		int wait = LEADER_CHECK_MS;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return false;
			wait = (int)MIN(left, (int64_t)wait);
		}
		struct pollfd pf[3];
		int n = 0, i_in = -1, i_out = -1, i_err = -1;
		if (io->fd_in >= 0)
			pf[i_in = n++] = (struct pollfd){.fd = io->fd_in, .events = POLLOUT};
		if (io->fd_out >= 0)
			pf[i_out = n++] = (struct pollfd){.fd = io->fd_out, .events = POLLIN};
		if (io->fd_err >= 0)
			pf[i_err = n++] = (struct pollfd){.fd = io->fd_err, .events = POLLIN};
		int r = poll(pf, (nfds_t)n, wait);
		if (r < 0 && errno != EINTR)
			return true; /* cannot happen with valid fds; stop reading, still reap */
		if (r > 0) {
			if (i_in >= 0 && pf[i_in].revents)
				io_write(io);
			if (i_out >= 0 && pf[i_out].revents)
				io_drain(io, &io->fd_out, keep_stdout);
			if (i_err >= 0 && pf[i_err].revents)
				io_drain(io, &io->fd_err, keep_stderr);
		}
		if (child_exited(pid, 0)) {
			/* the child is gone; take what it wrote and stop waiting for any process it
			 * left holding the pipes */
			io_drain(io, &io->fd_out, keep_stdout);
			io_drain(io, &io->fd_err, keep_stderr);
			return true;
		}
	}
	return true;
}

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return -1;
}

int proc_run(char *const argv[], const char *input, size_t input_len, int timeout_ms,
             size_t max_out, struct proc_result *res, struct err *e)
{
	memset(res, 0, sizeof *res);
	if (!argv || !argv[0] || !argv[0][0])
		return err_set(e, "exec: no command given");
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	if (pipe_cloexec(pin) < 0 || pipe_cloexec(pout) < 0 || pipe_cloexec(perr) < 0) {
		err_set(e, "exec \"%s\": cannot create pipes: %s", argv[0], strerror(errno));
		for (int i = 0; i < 2; i++) {
			close_fd(&pin[i]);
			close_fd(&pout[i]);
			close_fd(&perr[i]);
		}
		return -1;
	}

	struct sigaction ign, old_pipe;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);

	int64_t start = now_ms();
	pid_t pid;
	int rc = spawn(argv, pin[0], pout[1], perr[1], &pid);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	struct io io = {.input = input,
	                .input_len = input ? input_len : 0,
	                .max_out = max_out,
	                .fd_in = pin[1],
	                .fd_out = pout[0],
	                .fd_err = perr[0]};
	if (rc != 0) {
		if (rc == ENOENT)
			err_set(e, "exec \"%s\": command not found (searched PATH)", argv[0]);
		else
			err_set(e, "exec \"%s\": cannot run it: %s", argv[0], strerror(rc));
		close_fd(&io.fd_in);
		close_fd(&io.fd_out);
		close_fd(&io.fd_err);
		sigaction(SIGPIPE, &old_pipe, NULL);
		return -1;
	}
	set_nonblock(io.fd_in);
	set_nonblock(io.fd_out);
	set_nonblock(io.fd_err);
	if (io.written == io.input_len)
		close_fd(&io.fd_in);

	int64_t deadline = timeout_ms > 0 ? start + timeout_ms : -1;
	bool in_time = io_loop(&io, pid, deadline) && child_exited(pid, deadline);
	if (!in_time) {
		kill(-pid, SIGTERM);
		child_exited(pid, now_ms() + PROC_TERM_GRACE_MS);
	}
	/* the leader is dead or a zombie: its group id cannot have been reused */
	kill(-pid, SIGKILL);
	int ws = 0;
	pid_t w;
	while ((w = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
		;
	close_fd(&io.fd_in);
	close_fd(&io.fd_out);
	close_fd(&io.fd_err);
	sigaction(SIGPIPE, &old_pipe, NULL);

	/* the stderr tail starts at a character boundary */
	size_t from = io.err.len > PROC_ERR_TAIL ? io.err.len - PROC_ERR_TAIL : 0;
	if (from)
		while (from < io.err.len && ((unsigned char)io.err.s[from] & 0xC0) == 0x80)
			from++;
	res->err_tail = xstrndup(sbuf_str(&io.err) + from, io.err.len - from);
	sbuf_free(&io.err);
	res->out_len = io.out.len;
	res->out = sbuf_take(&io.out);
	res->status =
	    w == pid ? decode_status(ws) : -1; /* -1: reaped elsewhere (SIGCHLD ignored) */
	res->timed_out = !in_time;
	res->truncated = io.truncated;
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

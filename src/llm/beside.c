/* beside.c: work done in a forked copy of the process, its answer read by the loop as an event
 * source (beside.h).  The child ignores the terminal's signals as the save's writer does (the
 * parent decides when it ends), dies with its parent (it holds the parent's descriptors, the
 * session's lock among them: an orphan would keep a new workbench out), runs at a lower
 * priority so that the screen comes first on a busy machine, writes its answer and leaves by
 * _exit (no atexit handler, no stdio flushed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "llm/beside.h"

struct beside {
	pid_t pid;
	int fd;
	struct sbuf got;
	beside_done_fn *done;
	void *arg;
};

static const int child_ignores[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGWINCH, SIGTSTP};
static const int child_defaults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static int fault_next;      /* llm_beside_fault: the signal the next copy dies by (0: none) */
static unsigned long forks; /* copies started (llm_beside_forks) */

unsigned long llm_beside_forks(void)
{
	return forks;
}

void llm_beside_fault(int signo)
{
	fault_next = signo;
}

static _Noreturn void child_main(beside_work_fn *work, void *arg, int fd, pid_t parent)
{
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent) /* the parent died before that */
		_exit(1);
	struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&ign.sa_mask);
	sigemptyset(&dfl.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(child_ignores); i++)
		sigaction(child_ignores[i], &ign, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(child_defaults); i++)
		sigaction(child_defaults[i], &dfl, NULL);
	if (nice(10) < 0) { /* the loop's work comes first */
	}
	if (fault_next)
		raise(fault_next); /* as a crash (SIGSEGV) or the OOM killer (SIGKILL) would */
	struct sbuf out = {0};
	work(arg, &out);
	const char *p = out.s;
	size_t left = out.len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		p += w, left -= (size_t)w;
	}
	_exit(0);
}

static void reap(struct beside *b, int *status)
{
	while (waitpid(b->pid, status, 0) < 0 && errno == EINTR)
		;
	close(b->fd);
	sbuf_free(&b->got);
	free(b);
}

static unsigned beside_prepare(void *arg, struct pollfd *fds, int64_t *due_ms)
{
	struct beside *b = arg;
	fds[0] = (struct pollfd){b->fd, POLLIN, 0};
	*due_ms = -1;
	return 1;
}

static bool beside_dispatch(void *arg, const struct pollfd *fds, unsigned n)
{
	struct beside *b = arg;
	(void)fds, (void)n;
	char buf[4096];
	for (;;) {
		ssize_t r = read(b->fd, buf, sizeof buf);
		if (r > 0) {
			sbuf_add(&b->got, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true; /* more to come */
		break;               /* end of file (or an error: the answer is what came) */
	}
	int status = 0;
	beside_done_fn *done = b->done;
	void *done_arg = b->arg;
	struct sbuf got = b->got; /* kept past reap */
	b->got = (struct sbuf){0};
	reap(b, &status); /* it has closed its end: it is exiting */
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	done(done_arg, ok ? sbuf_str(&got) : NULL, ok ? got.len : 0, !ok);
	sbuf_free(&got);
	return false;
}

static void beside_cancel(void *arg)
{
	struct beside *b = arg;
	beside_done_fn *done = b->done;
	void *done_arg = b->arg;
	kill(b->pid, SIGKILL);
	reap(b, NULL);
	done(done_arg, NULL, 0, false);
}

static const struct llm_source_ops beside_ops = {beside_prepare, beside_dispatch, beside_cancel};

uint64_t llm_beside(struct llm *l, beside_work_fn *work, void *work_arg, beside_done_fn *done,
                    void *done_arg, struct err *e)
{
	int p[2];
	if (pipe(p) < 0) {
		err_set(e, "cannot work beside the loop: pipe: %s", strerror(errno));
		return 0;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		err_set(e, "cannot work beside the loop: fork: %s", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(work, work_arg, p[1], parent);
	}
	fault_next = 0;
	forks++;
	close(p[1]);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	struct beside *b = xcalloc(1, sizeof *b);
	*b = (struct beside){.pid = pid, .fd = p[0], .done = done, .arg = done_arg};
	return llm_source_add(l, &beside_ops, b);
}

/* lock.c: the session writer's lock of lock.h.  The lock file is removed on release while it is
 * still locked; a taker that locked a file which was removed meanwhile (its inode is no longer
 * the one at the path) tries again, so two writers can never hold locks on different files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/lock.h"

struct session_lock {
	int fd; /* -1: a directory nobody may write in, nothing locked */
	char *path;
};

char *session_lock_path(const char *path)
{
	char *real = realpath(path, NULL);
	const char *p = real ? real : path;
	char *dir = path_dirname(p);
	char *name = xasprintf(".%s.lock", path_basename(p));
	char *lock = path_join(dir, name);
	free(name);
	free(dir);
	free(real);
	return lock;
}

/* "pid N on HOST" from a lock file's text, or a fallback. */
static void owner_of(int fd, char *buf, size_t n)
{
	char text[300] = "";
	ssize_t got = pread(fd, text, sizeof text - 1, 0);
	text[got > 0 ? got : 0] = '\0';
	long pid = 0;
	char host[256] = "";
	if (sscanf(text, "%ld %255s", &pid, host) == 2 && pid > 0)
		snprintf(buf, n, "pid %ld on %s", pid, host);
	else
		snprintf(buf, n, "another process");
}

/* Why flock refused (err is its errno). */
static void refused(struct err *e, const char *path, const char *lp, int fd, int err)
{
	if (err != EWOULDBLOCK) {
		err_set(e, "%s: cannot lock %s: %s", path, lp, strerror(err));
		return;
	}
	char owner[300];
	owner_of(fd, owner, sizeof owner);
	err_set(e,
	        "%s is open for writing by another adopt-tui (%s), which saves it; nothing was "
	        "changed.  Close that one first, or look without writing: --read-only, --eval, "
	        "--check",
	        path, owner);
}

struct session_lock *session_lock_take(const char *path, struct err *e)
{
	char *lp = session_lock_path(path);
	for (int attempt = 0; attempt < 5; attempt++) {
		/* O_NONBLOCK: a FIFO planted in a bundle must not hang the open */
		int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		              0644);
		if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
			struct session_lock *l = xcalloc(1, sizeof *l);
			*l = (struct session_lock){-1, lp};
			return l;
		}
		if (fd < 0) {
			err_set(e, "%s: cannot make the lock file %s: %s", path, lp,
			        strerror(errno));
			break;
		}
		struct stat a, b;
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
			close(fd);
			err_set(e, "%s: the lock file %s is not a regular file", path, lp);
			break;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			refused(e, path, lp, fd, errno);
			close(fd);
			break;
		}
		if (stat(lp, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			char host[HOST_NAME_MAX + 1] = "unknown";
			gethostname(host, sizeof host);
			host[sizeof host - 1] = '\0';
			char line[400];
			int len = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), host);
			/* the owner's name is for messages only: the lock holds without it */
			if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len)
				len = 0;
			struct session_lock *l = xcalloc(1, sizeof *l);
			*l = (struct session_lock){fd, lp};
			return l;
		}
		close(fd); /* its owner removed it as we locked it: take the new one */
	}
	if (!e->msg[0])
		err_set(e, "%s: cannot lock %s: it keeps being replaced", path, lp);
	free(lp);
	return NULL;
}

void session_lock_release(struct session_lock *l)
{
	if (!l)
		return;
	if (l->fd >= 0) {
		unlink(l->path);
		close(l->fd);
	}
	free(l->path);
	free(l);
}

/* fileio.c: safe reading and writing of files a session names (see fileio.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

static const char *kind_of(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISLNK(m)  ? "a symbolic link"
	                     : "something else";
}

static int refuse_kind(const char *path, mode_t m, struct err *e)
{
	return err_set(e, "%s: not a regular file (%s)", path, kind_of(m));
}

/* Clears O_NONBLOCK once the descriptor is known to be a regular file. */
static void set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

int file_open_read(const char *path, size_t max_bytes, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return err_set(e, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return err_set(e, "%s: cannot stat: %s", path, strerror(saved));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return refuse_kind(path, st.st_mode, e);
	}
	if ((uint64_t)st.st_size > max_bytes) {
		close(fd);
		return err_set(e, "%s: file is %lld bytes, larger than the limit of %zu", path,
		               (long long)st.st_size, max_bytes);
	}
	set_blocking(fd);
	return fd;
}

static int over_limit(const char *path, size_t max_bytes, struct err *e)
{
	return err_set(e, "%s: larger than the limit of %zu bytes (it grew while being read)", path,
	               max_bytes);
}

int file_read(const char *path, size_t max_bytes, char **out, size_t *len, struct err *e)
{
	int fd = file_open_read(path, max_bytes, e);
	if (fd < 0)
		return -1;
	struct stat st;
	size_t cap = (fstat(fd, &st) == 0 ? (size_t)st.st_size : 0) + 1, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max_bytes) {
				free(buf);
				close(fd);
				return over_limit(path, max_bytes, e);
			}
			buf = xrealloc(buf, cap *= 2);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			close(fd);
			return err_set(e, "%s: read error: %s", path, strerror(saved));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max_bytes) {
		free(buf);
		return over_limit(path, max_bytes, e);
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int file_lines_open(struct file_lines *r, const char *path, size_t max_bytes, struct err *e)
{
	*r = (struct file_lines){.path = path, .max_bytes = max_bytes};
	int fd = file_open_read(path, max_bytes, e);
	if (fd < 0)
		return -1;
	r->f = fdopen(fd, "r");
	if (!r->f) {
		int saved = errno;
		close(fd);
		return err_set(e, "%s: cannot open: %s", path, strerror(saved));
	}
	return 0;
}

int file_lines_next(struct file_lines *r, size_t *len, struct err *e)
{
	errno = 0;
	ssize_t n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		/* getline says -1 for the end, a read error and an allocation failure alike */
		if (ferror(r->f) || (errno && errno != EINTR))
			return err_set(e, "%s: read error after line %zu: %s", r->path, r->lineno,
			               strerror(errno ? errno : EIO));
		return 0;
	}
	r->total += (size_t)n;
	if (r->total > r->max_bytes)
		return over_limit(r->path, r->max_bytes, e);
	r->lineno++;
	*len = (size_t)n;
	return 1;
}

void file_lines_close(struct file_lines *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
	*r = (struct file_lines){0};
}

/* A descriptor opened for writing must be a regular file of ours. */
static int check_writable(int fd, const char *path, struct err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(e, "%s: cannot stat: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, "%s: %s: refusing to write to it", path, kind_of(st.st_mode));
	if (st.st_uid != geteuid())
		return err_set(e, "%s: owned by another user (uid %ld): refusing to write to it",
		               path, (long)st.st_uid);
	return 0;
}

static int open_error(const char *path, int err, struct err *e)
{
	if (err == ELOOP)
		return err_set(e, "%s: a symbolic link: refusing to write through it", path);
	if (err == ENXIO)
		return err_set(e, "%s: a FIFO or device: refusing to write to it", path);
	return err_set(e, "%s: cannot open for writing: %s", path, strerror(err));
}

int file_open_append(const char *path, struct err *e)
{
	int fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
	    0600);
	if (fd < 0)
		return open_error(path, errno, e);
	if (check_writable(fd, path, e) < 0) {
		close(fd);
		return -1;
	}
	set_blocking(fd);
	return fd;
}

int file_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Test hook: when set, file_write_atomic fails after writing this many bytes. */
static long fail_after_bytes = -1;
void file_write_fail_after(long nbytes);
void file_write_fail_after(long nbytes)
{
	fail_after_bytes = nbytes;
}

/* Test hook: when set, file_write_atomic calls it once the temp file is written and synced,
 * just before the rename (a test stops the writer there to kill it half-way). */
static void (*before_rename)(const char *tmp);
void file_write_before_rename(void (*fn)(const char *tmp));
void file_write_before_rename(void (*fn)(const char *tmp))
{
	before_rename = fn;
}

/* The existing target of a replacement must be a regular file of ours, and not a link. */
static int check_target(const char *path, struct stat *st, bool *exists, struct err *e)
{
	*exists = false;
	if (lstat(path, st) < 0)
		return errno == ENOENT ? 0 : err_set(e, "%s: %s", path, strerror(errno));
	*exists = true;
	if (S_ISLNK(st->st_mode))
		return err_set(e, "%s: a symbolic link: refusing to replace it", path);
	if (!S_ISREG(st->st_mode))
		return err_set(e, "%s: %s: refusing to replace it", path, kind_of(st->st_mode));
	if (st->st_uid != geteuid())
		return err_set(e, "%s: owned by another user (uid %ld): refusing to replace it",
		               path, (long)st->st_uid);
	return 0;
}

int file_write_atomic(const char *path, const char *data, size_t len, struct err *e)
{
	struct stat st;
	bool exists;
	if (check_target(path, &st, &exists, e) < 0)
		return -1;
	char *dir = path_dirname(path);
	char *tmp = xasprintf("%s/.%s.tmp-%ld-XXXXXX", dir, path_basename(path), (long)getpid());
	int fd = mkstemp(tmp); /* O_CREAT | O_EXCL: never follows a link */
	if (fd < 0) {
		err_set(e, "%s: cannot create a temporary file in %s: %s", path, dir,
		        strerror(errno));
		goto fail_early;
	}
	fchmod(fd, exists ? st.st_mode & 07777 : 0644);
	size_t off = 0;
	while (off < len) {
		size_t chunk = len - off;
		if (fail_after_bytes >= 0 && off + chunk > (size_t)fail_after_bytes) {
			chunk = (size_t)fail_after_bytes > off ? (size_t)fail_after_bytes - off : 0;
			if (chunk == 0) {
				errno = ENOSPC;
				goto fail_write;
			}
		}
		ssize_t w = write(fd, data + off, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail_write;
		off += (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail_write;
	if (close(fd) < 0) {
		fd = -1;
		goto fail_write;
	}
	fd = -1;
	if (before_rename)
		before_rename(tmp);
	if (rename(tmp, path) < 0)
		goto fail_write;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;
fail_write:
	err_set(e, "%s: write failed, previous file left intact: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail_early:
	free(tmp);
	free(dir);
	return -1;
}

char *file_resolve(const char *path, struct err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode))
		return xstrdup(path);
	char *real = realpath(path, NULL);
	if (!real) {
		err_set(e, "%s: a symbolic link that cannot be resolved: %s", path,
		        strerror(errno));
		return NULL;
	}
	return real;
}

/* The pid in ".BASE.tmp-PID-XXXXXX", or -1 when name is not such a temp file of base. */
static long temp_pid(const char *name, const char *base)
{
	size_t bl = strlen(base);
	if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 ||
	    strncmp(name + 1 + bl, ".tmp-", 5) != 0)
		return -1;
	const char *p = name + 1 + bl + 5;
	char *end;
	errno = 0;
	long pid = strtol(p, &end, 10);
	if (errno || end == p || *end != '-' || strlen(end + 1) != 6 || pid <= 0)
		return -1;
	return pid;
}

int file_remove_stale_temps(const char *path)
{
	char *dir = path_dirname(path);
	const char *base = path_basename(path);
	DIR *d = opendir(dir);
	int removed = 0;
	for (struct dirent *de; d && (de = readdir(d));) {
		long pid = temp_pid(de->d_name, base);
		if (pid < 0 || pid > INT_MAX || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive (or not ours to ask about): maybe saving right now */
		char *p = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlink(p) == 0)
			removed++;
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
	return removed;
}

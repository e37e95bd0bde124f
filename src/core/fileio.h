/* fileio.h: safe file access for every file a session names, reads or writes.
 *
 * A session bundle may come from a stranger, so:
 * - reading accepts only a regular file (a FIFO, a device or a directory is refused at once with
 *   a message naming the path, never waited on), within a size limit, and a read error
 *   (allocation failure included) is an error, never an early end of file;
 * - writing (appends, temp files, atomic replacements) never follows a symbolic link and touches
 *   only a regular file the user owns;
 * - an atomic replacement writes ".NAME.tmp-PID-XXXXXX" beside the target, so the temp file of a
 *   save killed half-way can be told apart and removed at the next open (file_remove_stale_temps).
 *
 * Included by util.h, so every user of util.h has these helpers. */
#ifndef ADOPT_FILEIO_H
#define ADOPT_FILEIO_H

#include <stdio.h>

#include "core/util.h"

/* Default limit on a data, corpus or session file (a session's "max_file_mb" raises it). */
#define FILE_MAX_BYTES_DEFAULT ((size_t)256 << 20)

/* Opens a regular file for reading (O_NONBLOCK until fstat said regular: a FIFO never blocks);
 * refuses files over max_bytes.  Returns the descriptor or -1. */
int file_open_read(const char *path, size_t max_bytes, struct err *e);
/* Reads a whole regular file (NUL-terminated; *len excludes the NUL). */
int file_read(const char *path, size_t max_bytes, char **out, size_t *len, struct err *e);

/* Line by line, for JSON-lines files: only one line is in memory at a time. */
struct file_lines {
	FILE *f;
	const char *path; /* borrowed, for messages */
	size_t max_bytes, total;
	size_t lineno; /* of the line last returned, 1-based */
	char *buf;     /* the line, with its newline when it had one; NUL-terminated */
	size_t cap;
};
int file_lines_open(struct file_lines *r, const char *path, size_t max_bytes, struct err *e);
/* 1: a line in r->buf (*len bytes); 0: end of file; -1: read error or over the limit. */
int file_lines_next(struct file_lines *r, size_t *len, struct err *e);
void file_lines_close(struct file_lines *r);

/* Opens path for appending (created 0600 when absent) without following a symbolic link; the
 * file must be a regular file owned by the user.  Returns the descriptor or -1. */
int file_open_append(const char *path, struct err *e);
/* Atomic replace: temp file in the same directory, fsync, rename, fsync of the directory.
 * Refuses a path that is a symbolic link (resolve it first: file_resolve), or that exists and is
 * not a regular file owned by the user. */
int file_write_atomic(const char *path, const char *data, size_t len, struct err *e);
/* Writes every byte (retrying on EINTR); 0 or -1 with errno set. */
int file_write_all(int fd, const char *p, size_t n);

/* The path a save should write: the target of a symbolic link (resolved now, once), else path
 * itself.  Caller frees; NULL (e set) when the link is dangling or cannot be resolved. */
char *file_resolve(const char *path, struct err *e);
/* Removes the temp files file_write_atomic left beside path for a process that no longer
 * exists; returns how many were removed. */
int file_remove_stale_temps(const char *path);

#endif

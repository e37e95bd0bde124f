/* lock.h: one writer per session file.
 *
 * A writer (the workbench, --run) takes an advisory lock (flock) on a side file beside the
 * session, ".NAME.json.lock", which holds "pid host" of its owner for the message a second writer
 * gets.  The kernel drops the lock when its owner exits, however it exits, so a lock file left
 * behind by a crash locks nothing.  Readers (--check, --eval, --read-only) take no lock.
 *
 * Ownership: session_lock_take returns a lock the caller releases with session_lock_release. */
#ifndef ADOPT_LOCK_H
#define ADOPT_LOCK_H

#include "core/util.h"

struct session_lock;

/* Locks the session at path (a symlink is followed: the lock sits beside the real file).
 * NULL with a message when another process holds it or the lock file cannot be made; a
 * directory nobody may write in needs no lock (nothing can be saved there) and gives a lock that
 * holds nothing. */
struct session_lock *session_lock_take(const char *path, struct err *e);
/* Releases the lock and removes its file; NULL is fine. */
void session_lock_release(struct session_lock *l);
/* The lock file's path for a session path (caller frees). */
char *session_lock_path(const char *path);

#endif

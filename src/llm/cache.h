/* cache.h: the response cache: an append-only JSONL file, one answer a line, keyed by the
 * SHA-256 of the canonical request (llm_request_key), with an in-memory hash index of where each
 * answer's line is (offset, length, line number: about 60 bytes an answer).  Answers are read
 * back on demand (pread) and stay on disk, so opening a large cache neither parses nor holds
 * it, and answers written during a session add only their index entries.
 *
 * Line: {"key":"<64 hex>","model":"gpt-4o","text":"...","in":12,"out":34,"estimated":false,
 *        "at":1732400000}
 * and, when not zero or empty, the rest of the answer's usage and its reasoning:
 *        "cached":8,"cache_write":4,"reasoning_tokens":20,"reasoning":"..."
 * and "finish":"length" when the provider gave a finish reason (a replay reports the same usage
 * and shows a cut answer as cut; lines written before these keys existed read as zero / NULL).
 * Never holds an API key (the request key is a hash of the request without it; the text is the
 * model's answer).  Loading skips a line that is torn (no final newline: a crash mid-append), not
 * valid JSON or out of range, and counts it; a later line for the same key wins.  A line in the
 * form cache_put writes ({"key":"<64 hex>", first) is indexed by its key alone and checked
 * whole when it is read: one that proves corrupt then, or is no longer the answer indexed (the
 * file changed underneath), is skipped and counted the same way, and the request is made again.
 *
 * Durability: each answer is appended with one write() of the whole line on an O_APPEND
 * descriptor (no stdio buffer, so nothing waits for fflush and concurrent writers never
 * interleave within a line).  There is no fsync per line — a cache can be rebuilt, and an fsync
 * per answer would cost more than most answers; cache_sync() (called when the LLM layer is
 * freed) fsyncs.  A power cut can therefore lose the last answers or tear the last line, which
 * the next load skips. */
#ifndef ADOPT_CACHE_H
#define ADOPT_CACHE_H

#include <stddef.h>

#include "core/util.h"
#include "llm/llm.h"

struct cache_entry {
	char key[65];
	char *model;
	char *text;
	char *reasoning; /* NULL when none */
	char *finish;    /* the provider's finish reason, NULL when it gave none */
	struct llm_usage usage;
};

struct cache;

/* Opens the file at path and loads it (a missing file is created by the first answer); path
 * NULL gives a cache that lives in memory only.  The file is opened without following a symbolic
 * link and must be a regular file owned by the user (fileio.h): a bundle's cache that links
 * elsewhere is refused with its path named, before anything is read or written.  Errors: that,
 * unreadable file, directory missing, not writable, a read error. */
struct cache *cache_open(const char *path, struct err *e);
/* The same file read only (a simulated run's, llm.h sandbox): its answers are found, new ones
 * are kept in memory and nothing is ever written; a missing file is an empty cache. */
struct cache *cache_open_ro(const char *path, struct err *e);
/* Fsyncs and closes; NULL is fine. */
void cache_close(struct cache *c);
/* The entry for a key, or NULL; valid until the next cache_get, cache_put or cache_close. */
const struct cache_entry *cache_get(struct cache *c, const char *key);
/* Remembers an answer (reasoning and finish may be NULL) and appends it to the file.  The entry
 * is kept in memory instead when the write fails (-1 and e set) or the cache has no file. */
int cache_put(struct cache *c, const char *key, const char *model, const char *text,
              const char *reasoning, const struct llm_usage *u, const char *finish, struct err *e);
int cache_sync(struct cache *c, struct err *e);
/* Answers indexed (less those whose line proved corrupt when read). */
size_t cache_count(const struct cache *c);
/* Lines skipped at load or when read back because they were torn or corrupt (a token count that is
 * not a whole number from 0 to 1e15 makes a line corrupt), and the first one's reason
 * ("NAME.cache.jsonl:7: \"in\" must be a whole number between 0 and 1e+15 (got 1e+30); line
 * skipped"), or NULL when none was. */
long cache_skipped(const struct cache *c);
const char *cache_problem(const struct cache *c);

#endif

/* journal.h: the spend journal: one JSON line per billed call, appended the moment its bill is
 * known, as its answer goes into the response cache and before it is delivered (with the usage
 * and cost the LLM statistics count at the delivery), so that no paid call is forgotten when the
 * process dies before the session is saved, not even one whose answer a reopened session then
 * takes from the cache for free.
 *
 * The file lives beside the session (NAME.spend.jsonl) and is kept with --no-cache too.
 * Line: {"model":"gpt-4o","in":12,"out":34,"cost_usd":0.00021,"estimated":false,"at":1732400000}
 * The session's history.spent records how many lines it already counts ("journal"); on opening,
 * the lines after that are added to what the session has spent (engine_store.c), so the recorded
 * spend equals what was billed, minus at most the calls in flight at a kill.  The count a save
 * records leaves out the lines of answers not yet delivered (llm_spend_sync).
 *
 * Durability: one write() of a whole line per call on an O_APPEND descriptor (a kill -9 loses
 * nothing written); fsync when the session is saved (journal_sync), so that a saved count never
 * runs ahead of the lines on disk, and when closed.  Loading skips a torn or corrupt line.
 * Opened like the cache (fileio.h): never through a symbolic link, only a regular file of ours. */
#ifndef ADOPT_JOURNAL_H
#define ADOPT_JOURNAL_H

#include "core/util.h"
#include "llm/llm.h"

struct journal;

/* Opens and reads the journal at path; a missing file is created by the first journal_add.
 * NULL and e set on error (a link, a special file, unreadable). */
struct journal *journal_open(const char *path, struct err *e);
/* The same read only (a simulated run's, llm.h sandbox): its lines count as journal_open's do,
 * journal_add fails and writes nothing. */
struct journal *journal_open_ro(const char *path, struct err *e);
/* Fsyncs and closes; NULL is fine. */
void journal_close(struct journal *j);
/* Appends one billed call; -1 (e set) when the line could not be written (it is then not
 * counted by journal_count either). */
int journal_add(struct journal *j, const char *model, const struct llm_usage *u, double cost_usd,
                struct err *e);
int journal_sync(struct journal *j, struct err *e);
/* Lines (billed calls) in the file, read at open plus appended since. */
long journal_count(const struct journal *j);
/* Sums the calls after the first `from` that were in the file when it was opened (earlier
 * processes' calls: this one's are in its statistics) into s (done, tokens_in, tokens_out,
 * cost_usd). */
void journal_sum_from(const struct journal *j, long from, struct llm_stats *s);
/* Corrupt or torn lines skipped at open. */
long journal_skipped(const struct journal *j);

#endif

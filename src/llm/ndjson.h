/* ndjson.h: splitting a byte stream into lines, whatever pieces it arrives in.
 *
 * `struct lines` is the general splitter (\n, \r\n and a lone \r all end a line, even when the
 * \r and the \n arrive in different pieces) with a maximum line length; the SSE parser builds on
 * it.  `struct ndjson` is the same for newline-delimited JSON: blank lines are skipped and a final
 * line without a newline is delivered by ndjson_end(). */
#ifndef ADOPT_NDJSON_H
#define ADOPT_NDJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

/* Called once per line, without its line ending; `line` is NUL-terminated (it may also hold NUL
 * bytes of its own: trust len).  Non-zero stops the feed, which then returns -1. */
typedef int lines_fn(void *arg, const char *line, size_t len);

struct lines {
	struct sbuf buf; /* the unfinished line */
	size_t max;      /* longest accepted line in bytes */
	bool skip_lf;    /* the last byte was \r: a following \n belongs to it */
	bool failed;     /* an error happened: every later call returns -1 */
};

void lines_init(struct lines *l, size_t max);
/* -1 with a message in e when a line is longer than max (the stream is then unusable) or when fn
 * asked to stop (e is left alone: fn reports its own errors). */
int lines_feed(struct lines *l, const char *p, size_t n, lines_fn *fn, void *arg, struct err *e);
/* End of input: delivers a final line that had no line ending. */
int lines_end(struct lines *l, lines_fn *fn, void *arg, struct err *e);
void lines_free(struct lines *l);

struct ndjson {
	struct lines lines;
	lines_fn *fn;
	void *arg;
};

void ndjson_init(struct ndjson *j, size_t max_line);
/* fn receives each non-blank line (surrounding whitespace kept: JSON does not mind). */
int ndjson_feed(struct ndjson *j, const char *p, size_t n, lines_fn *fn, void *arg, struct err *e);
int ndjson_end(struct ndjson *j, lines_fn *fn, void *arg, struct err *e);
void ndjson_free(struct ndjson *j);

#endif

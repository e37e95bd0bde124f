/* sse.h: a server-sent events parser (the WHATWG "text/event-stream" format) fed with the body in
 * whatever pieces the network gives.
 *
 * Lines end with \n, \r\n or \r.  `data:` lines of one event are joined with \n; `event:` names the
 * event ("message" when absent); lines starting with ':' are comments; `id:`, `retry:` and unknown
 * fields are ignored; one space after the colon is dropped.  A blank line dispatches the event.
 * Unlike a browser, sse_end() also dispatches a final event whose blank line never came: a
 * server that closes right after its last `data:` line still gets its last word heard.
 * An event (its lines and data together) larger than the limit stops the parser with an error. */
#ifndef ADOPT_SSE_H
#define ADOPT_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "llm/ndjson.h"

/* One event: its name and data (NUL-terminated; len excludes the NUL).  Non-zero stops the
 * parser: sse_feed then returns -1 and leaves e alone (the callback reports its own errors). */
typedef int sse_event_fn(void *arg, const char *event, const char *data, size_t len);

struct sse {
	struct lines lines;
	struct sbuf event, data;
	bool have_data; /* a data field was seen (an empty `data:` still makes an event) */
	bool started;   /* the first line was seen (a leading byte order mark is dropped) */
	size_t max_event;
	sse_event_fn *fn;
	void *arg;
	struct err *e;
};

void sse_init(struct sse *p, size_t max_event);
int sse_feed(struct sse *p, const char *buf, size_t n, sse_event_fn *fn, void *arg, struct err *e);
/* End of the body: finishes an unterminated line and dispatches a pending event. */
int sse_end(struct sse *p, sse_event_fn *fn, void *arg, struct err *e);
void sse_free(struct sse *p);

#endif

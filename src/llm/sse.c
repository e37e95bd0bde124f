/* sse.c: server-sent events on top of the line splitter (see sse.h). */
#include "llm/sse.h"

#include <string.h>

void sse_init(struct sse *p, size_t max_event)
{
	*p = (struct sse){.max_event = max_event};
	lines_init(&p->lines, max_event);
}

static int sse_dispatch(struct sse *p)
{
	int rc = 0;
	if (p->have_data) {
		const char *name = p->event.len ? sbuf_str(&p->event) : "message";
		rc = p->fn(p->arg, name, sbuf_str(&p->data), p->data.len);
	}
	sbuf_reset(&p->event);
	sbuf_reset(&p->data);
	p->have_data = false;
	return rc;
}

static int sse_line(void *arg, const char *line, size_t len)
{
	struct sse *p = arg;
	if (!p->started) {
		p->started = true;
		if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
			line += 3;
			len -= 3;
		}
	}
	if (len == 0)
		return sse_dispatch(p);
	if (line[0] == ':')
		return 0;
	const char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t value_len = (size_t)(line + len - value);
	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		if (p->data.len + value_len + 1 > p->max_event) {
			return err_set(p->e,
			               "a server-sent event is larger than the limit of %zu bytes",
			               p->max_event);
		}
		if (p->have_data)
			sbuf_addc(&p->data, '\n');
		sbuf_add(&p->data, value, value_len);
		p->have_data = true;
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		sbuf_reset(&p->event);
		sbuf_add(&p->event, value, value_len);
	}
	return 0; /* id, retry and unknown fields: nothing we need */
}

static int sse_cleanup_on_error(struct sse *p)
{
	sbuf_free(&p->data);
	sbuf_free(&p->event);
	return -1;
}

int sse_feed(struct sse *p, const char *buf, size_t n, sse_event_fn *fn, void *arg, struct err *e)
{
	p->fn = fn;
	p->arg = arg;
	p->e = e;
	if (lines_feed(&p->lines, buf, n, sse_line, p, e) < 0)
		return sse_cleanup_on_error(p);
	return 0;
}

int sse_end(struct sse *p, sse_event_fn *fn, void *arg, struct err *e)
{
	p->fn = fn;
	p->arg = arg;
	p->e = e;
	if (lines_end(&p->lines, sse_line, p, e) < 0 || sse_dispatch(p) != 0) {
		p->lines.failed = true;
		return sse_cleanup_on_error(p);
	}
	return 0;
}

void sse_free(struct sse *p)
{
	lines_free(&p->lines);
	sbuf_free(&p->data);
	sbuf_free(&p->event);
}

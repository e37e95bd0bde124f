/* ndjson.c: the line splitter under the SSE and NDJSON stream parsers (see ndjson.h). */
#include "llm/ndjson.h"

#include <string.h>

void lines_init(struct lines *l, size_t max)
{
	*l = (struct lines){.max = max};
}

static int lines_emit(struct lines *l, lines_fn *fn, void *arg)
{
	int rc = fn(arg, sbuf_str(&l->buf), l->buf.len);
	sbuf_reset(&l->buf);
	if (rc != 0) {
		l->failed = true;
		return -1;
	}
	return 0;
}

static int lines_too_long(struct lines *l, struct err *e)
{
	l->failed = true;
	sbuf_free(&l->buf);
	return err_set(e, "a line of the response is longer than the limit of %zu bytes", l->max);
}

int lines_feed(struct lines *l, const char *p, size_t n, lines_fn *fn, void *arg, struct err *e)
{
	if (l->failed)
		return -1;
	size_t i = 0;
	while (i < n) {
		if (l->skip_lf) {
			l->skip_lf = false;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		/* the line ends at the first \n or \r: the \n, then a \r before it */
		const char *nl = memchr(p + i, '\n', n - i);
		size_t j = nl ? (size_t)(nl - p) : n;
		const char *cr = memchr(p + i, '\r', j - i);
		if (cr)
			j = (size_t)(cr - p);
		if (j - i > l->max - MIN(l->max, l->buf.len))
			return lines_too_long(l, e);
		sbuf_add(&l->buf, p + i, j - i);
		if (j == n)
			break;
		l->skip_lf = p[j] == '\r';
		i = j + 1;
		if (lines_emit(l, fn, arg) < 0)
			return -1;
	}
	return 0;
}

int lines_end(struct lines *l, lines_fn *fn, void *arg, struct err *e)
{
	(void)e;
	if (l->failed)
		return -1;
	l->skip_lf = false;
	if (l->buf.len > 0)
		return lines_emit(l, fn, arg);
	return 0;
}

void lines_free(struct lines *l)
{
	sbuf_free(&l->buf);
}

void ndjson_init(struct ndjson *j, size_t max_line)
{
	*j = (struct ndjson){0};
	lines_init(&j->lines, max_line);
}

static int ndjson_line(void *arg, const char *line, size_t len)
{
	struct ndjson *j = arg;
	size_t i = 0;
	while (i < len && strchr(" \t\f\v", line[i]) && line[i] != '\0')
		i++;
	if (i == len)
		return 0;
	return j->fn(j->arg, line, len);
}

int ndjson_feed(struct ndjson *j, const char *p, size_t n, lines_fn *fn, void *arg, struct err *e)
{
	j->fn = fn;
	j->arg = arg;
	return lines_feed(&j->lines, p, n, ndjson_line, j, e);
}

int ndjson_end(struct ndjson *j, lines_fn *fn, void *arg, struct err *e)
{
	j->fn = fn;
	j->arg = arg;
	return lines_end(&j->lines, ndjson_line, j, e);
}

void ndjson_free(struct ndjson *j)
{
	lines_free(&j->lines);
}

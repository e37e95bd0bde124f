/* fuzz_stream.c: the SSE and NDJSON splitters (src/llm/sse.c, ndjson.c) fed the same body whole,
 * one byte at a time and in pieces cut where the input says: every feeding must deliver the same
 * events (or lines) in the same order and end the same way.
 *
 * Input: byte 0 picks the limit (16..271 bytes, so that over-long lines and events happen),
 * byte 1 seeds the piece sizes; the rest is the body. */
#include <string.h>

#include "fuzz.h"
#include "llm/ndjson.h"
#include "llm/sse.h"

struct record {
	struct sbuf log; /* every event or line, length-prefixed */
	int rc;
};

static void log_bytes(struct sbuf *b, const char *s, size_t n)
{
	sbuf_addf(b, "%zu:", n);
	sbuf_add(b, s, n);
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct record *r = arg;
	FUZZ_CHECK(data[len] == '\0', "event data not NUL-terminated");
	sbuf_addc(&r->log, 'E');
	log_bytes(&r->log, event, strlen(event));
	log_bytes(&r->log, data, len);
	return 0;
}

static int on_line(void *arg, const char *line, size_t len)
{
	struct record *r = arg;
	FUZZ_CHECK(line[len] == '\0', "line not NUL-terminated");
	FUZZ_CHECK(!memchr(line, '\n', len) && !memchr(line, '\r', len),
	           "line ending inside a line");
	sbuf_addc(&r->log, 'L');
	log_bytes(&r->log, line, len);
	return 0;
}

/* Piece sizes: 0 whole, 1 bytes, else pseudo-random from the seed. */
static size_t piece(int how, struct rng *rng, size_t left)
{
	size_t k = how == 0 ? left : how == 1 ? 1 : 1 + rng_below(rng, 23);
	return MIN(k, left);
}

static void run_sse(const char *body, size_t n, size_t max, int how, unsigned seed,
                    struct record *r)
{
	struct sse p;
	struct err e = {{0}};
	struct rng rng;
	rng_seed(&rng, seed);
	sse_init(&p, max);
	r->rc = 0;
	for (size_t i = 0; i < n && r->rc == 0;) {
		size_t k = piece(how, &rng, n - i);
		r->rc = sse_feed(&p, body + i, k, on_event, r, &e);
		i += k;
	}
	if (r->rc == 0)
		r->rc = sse_end(&p, on_event, r, &e);
	if (r->rc != 0)
		FUZZ_CHECK(e.msg[0], "SSE failed without a message");
	sse_free(&p);
}

static void run_ndjson(const char *body, size_t n, size_t max, int how, unsigned seed,
                       struct record *r)
{
	struct ndjson j;
	struct err e = {{0}};
	struct rng rng;
	rng_seed(&rng, seed);
	ndjson_init(&j, max);
	r->rc = 0;
	for (size_t i = 0; i < n && r->rc == 0;) {
		size_t k = piece(how, &rng, n - i);
		r->rc = ndjson_feed(&j, body + i, k, on_line, r, &e);
		i += k;
	}
	if (r->rc == 0)
		r->rc = ndjson_end(&j, on_line, r, &e);
	if (r->rc != 0)
		FUZZ_CHECK(e.msg[0], "NDJSON failed without a message");
	ndjson_free(&j);
}

static void same(const struct record *a, const struct record *b, const char *what, int how)
{
	FUZZ_CHECK(a->rc == b->rc, "%s: feeding %d ends %d, whole %d", what, how, b->rc, a->rc);
	FUZZ_CHECK(a->log.len == b->log.len &&
	               memcmp(sbuf_str(&a->log), sbuf_str(&b->log), a->log.len) == 0,
	           "%s: feeding %d delivers other events than whole feeding", what, how);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t max = 16 + data[0];
	unsigned seed = data[1];
	const char *body = (const char *)data + 2;
	size_t n = size - 2;
	for (int kind = 0; kind < 2; kind++) {
		struct record whole = {0};
		void (*run)(const char *, size_t, size_t, int, unsigned, struct record *) =
		    kind ? run_ndjson : run_sse;
		run(body, n, max, 0, seed, &whole);
		for (int how = 1; how <= 2; how++) {
			struct record split = {0};
			run(body, n, max, how, seed, &split);
			same(&whole, &split, kind ? "ndjson" : "sse", how);
			sbuf_free(&split.log);
		}
		sbuf_free(&whole.log);
	}
	return 0;
}

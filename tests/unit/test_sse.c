/* test_sse.c: the SSE parser and the NDJSON line splitter, fed whole, byte by byte and in random
 * splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llm/ndjson.h"
#include "llm/sse.h"

/* Events as "name|data" lines, with \n in data written as \\n, so one string compares all. */
struct log {
	struct sbuf s;
	int count;
	int stop_after; /* 0: never stop */
};

static void log_bytes(struct sbuf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			sbuf_adds(b, "\\n");
		else if (p[i] == '\0')
			sbuf_adds(b, "\\0");
		else
			sbuf_addc(b, p[i]);
	}
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct log *l = arg;
	assert_int_equal(data[len], '\0');
	sbuf_adds(&l->s, event);
	sbuf_addc(&l->s, '|');
	log_bytes(&l->s, data, len);
	sbuf_addc(&l->s, '\n');
	l->count++;
	return l->stop_after && l->count >= l->stop_after ? -1 : 0;
}

enum split { WHOLE, BYTES, RANDOM };

/* Feeds `in` split as asked; returns the log (caller frees) and the return codes. */
static char *sse_run(const char *in, size_t n, enum split how, uint64_t seed, size_t max,
                     int *rc_out)
{
	struct sse p;
	struct log l = {0};
	struct err e = {{0}};
	struct rng rng;
	rng_seed(&rng, seed);
	sse_init(&p, max);
	int rc = 0;
	size_t i = 0;
	while (i < n && rc == 0) {
		size_t k = how == WHOLE ? n : how == BYTES ? 1 : 1 + rng_below(&rng, 17);
		k = MIN(k, n - i);
		rc = sse_feed(&p, in + i, k, on_event, &l, &e);
		i += k;
	}
	if (rc == 0)
		rc = sse_end(&p, on_event, &l, &e);
	sse_free(&p);
	if (rc_out)
		*rc_out = rc;
	return sbuf_take(&l.s);
}

/* The same events however the input is cut; returns them (caller frees). */
static char *sse_all_ways(const char *in, size_t max)
{
	size_t n = strlen(in);
	int rc;
	char *whole = sse_run(in, n, WHOLE, 0, max, &rc);
	assert_int_equal(rc, 0);
	char *bytes = sse_run(in, n, BYTES, 0, max, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(whole, bytes);
	free(bytes);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		char *r = sse_run(in, n, RANDOM, seed, max, &rc);
		assert_int_equal(rc, 0);
		assert_string_equal(whole, r);
		free(r);
	}
	return whole;
}

static void expect_sse(const char *in, const char *want)
{
	char *got = sse_all_ways(in, 1 << 20);
	assert_string_equal(got, want);
	free(got);
}

static void test_sse_basic(void **state)
{
	(void)state;
	expect_sse("data: hello\n\n", "message|hello\n");
	expect_sse("data:hello\n\ndata:  two spaces\n\n", "message|hello\nmessage| two spaces\n");
	expect_sse("data: a\n\ndata: b\n\n", "message|a\nmessage|b\n");
	/* a blank line with no data dispatches nothing */
	expect_sse("\n\n\ndata: x\n\n\n\n", "message|x\n");
	/* an empty data field is still an event */
	expect_sse("data:\n\n", "message|\n");
	expect_sse("data\n\n", "message|\n");
}

static void test_sse_multiline_data(void **state)
{
	(void)state;
	expect_sse("data: first\ndata: second\ndata:\ndata: fourth\n\n",
	           "message|first\\nsecond\\n\\nfourth\n");
	/* a colon inside the value stays */
	expect_sse("data: {\"a\": \"b:c\"}\n\n", "message|{\"a\": \"b:c\"}\n");
}

static void test_sse_event_names(void **state)
{
	(void)state;
	expect_sse("event: ping\ndata: {}\n\ndata: after\n\n", "ping|{}\nmessage|after\n");
	/* the name applies to its event only, even when that event had no data */
	expect_sse("event: lost\n\ndata: x\n\n", "message|x\n");
	expect_sse("event: a\nevent: b\ndata: x\n\n", "b|x\n");
}

static void test_sse_comments_and_ignored_fields(void **state)
{
	(void)state;
	expect_sse(": keep-alive\n:\nid: 42\nretry: 1000\nfoo: bar\ndata: x\n: inside\n\n",
	           "message|x\n");
	expect_sse(": OPENROUTER PROCESSING\n\ndata: y\n\n", "message|y\n");
}

static void test_sse_line_endings(void **state)
{
	(void)state;
	const char *want = "e|1\\n2\nmessage|3\n";
	expect_sse("event: e\ndata: 1\ndata: 2\n\ndata: 3\n\n", want);
	expect_sse("event: e\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n", want);
	expect_sse("event: e\rdata: 1\rdata: 2\r\rdata: 3\r\r", want);
	expect_sse("event: e\r\ndata: 1\rdata: 2\n\r\ndata: 3\r\r\n", want);
}

static void test_sse_flush_at_end(void **state)
{
	(void)state;
	/* the server closed without the final blank line, or even the final newline */
	expect_sse("data: a\n\ndata: last\n", "message|a\nmessage|last\n");
	expect_sse("data: a\n\ndata: last", "message|a\nmessage|last\n");
	expect_sse("data: a\r\n\r\ndata: last\r", "message|a\nmessage|last\n");
	expect_sse("", "");
	expect_sse(": only a comment", "");
}

static void test_sse_bom_and_bytes(void **state)
{
	(void)state;
	expect_sse("\xEF\xBB\xBF"
	           "data: x\n\n",
	           "message|x\n");
	/* invalid UTF-8 and NUL bytes pass through untouched */
	const char in[] = "data: \xff\xfe\x00z\n\n";
	char *got = sse_run(in, sizeof in - 1, BYTES, 0, 1024, NULL);
	assert_memory_equal(got, "message|\xff\xfe\\0z\n", 15);
	free(got);
}

static void test_sse_random_transcript(void **state)
{
	(void)state;
	/* a long stream with every feature, cut 20 different ways plus byte by byte */
	struct sbuf in = {0}, want = {0};
	for (int i = 0; i < 200; i++) {
		const char *eol = i % 3 == 0 ? "\n" : i % 3 == 1 ? "\r\n" : "\r";
		if (i % 7 == 0)
			sbuf_addf(&in, ": comment %d%s", i, eol);
		if (i % 5 == 0)
			sbuf_addf(&in, "event: e%d%s", i, eol);
		sbuf_addf(&in, "data: {\"n\": %d}%s", i, eol);
		if (i % 4 == 0)
			sbuf_addf(&in, "data: more%s", eol);
		sbuf_adds(&in, eol);
		if (i % 5 == 0)
			sbuf_addf(&want, "e%d|", i);
		else
			sbuf_adds(&want, "message|");
		sbuf_addf(&want, "{\"n\": %d}%s\n", i, i % 4 == 0 ? "\\nmore" : "");
	}
	expect_sse(sbuf_str(&in), sbuf_str(&want));
	sbuf_free(&in);
	sbuf_free(&want);
}

static void test_sse_enormous_event(void **state)
{
	(void)state;
	struct sse p;
	struct log l = {0};
	struct err e = {{0}};
	sse_init(&p, 64);
	/* many small data lines add up */
	int rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = sse_feed(&p, "data: 0123456789\n", 17, on_event, &l, &e);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "larger than the limit of 64 bytes"));
	/* once failed, it stays failed */
	assert_int_equal(sse_feed(&p, "\n\n", 2, on_event, &l, &e), -1);
	assert_int_equal(sse_end(&p, on_event, &l, &e), -1);
	assert_int_equal(l.count, 0);
	sse_free(&p);

	/* one endless line without a newline */
	sse_init(&p, 64);
	e.msg[0] = '\0';
	rc = 0;
	for (int i = 0; i < 20 && rc == 0; i++)
		rc = sse_feed(&p, "data: xxxxxxxxxx", 16, on_event, &l, &e);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "longer than the limit of 64 bytes"));
	sse_free(&p);

	/* just under the limit is fine */
	char *got = sse_all_ways("data: 0123456789012345678901234567890123456789\n\n", 64);
	assert_string_equal(got, "message|0123456789012345678901234567890123456789\n");
	free(got);
}

static void test_sse_callback_stops(void **state)
{
	(void)state;
	struct sse p;
	struct log l = {.stop_after = 1};
	struct err e = {{0}};
	sse_init(&p, 1024);
	assert_int_equal(sse_feed(&p, "data: a\n\ndata: b\n\n", 18, on_event, &l, &e), -1);
	assert_int_equal(l.count, 1);
	assert_string_equal(e.msg, "");
	assert_int_equal(sse_feed(&p, "data: c\n\n", 9, on_event, &l, &e), -1);
	assert_int_equal(l.count, 1);
	sse_free(&p);
	sbuf_free(&l.s);
}

static int on_line(void *arg, const char *line, size_t len)
{
	struct log *l = arg;
	assert_int_equal(line[len], '\0');
	log_bytes(&l->s, line, len);
	sbuf_addc(&l->s, '\n');
	l->count++;
	return 0;
}

static char *ndjson_run(const char *in, enum split how, uint64_t seed)
{
	struct ndjson j;
	struct log l = {0};
	struct err e = {{0}};
	struct rng rng;
	rng_seed(&rng, seed);
	ndjson_init(&j, 1024);
	size_t n = strlen(in), i = 0;
	while (i < n) {
		size_t k = how == WHOLE ? n : how == BYTES ? 1 : 1 + rng_below(&rng, 11);
		k = MIN(k, n - i);
		assert_int_equal(ndjson_feed(&j, in + i, k, on_line, &l, &e), 0);
		i += k;
	}
	assert_int_equal(ndjson_end(&j, on_line, &l, &e), 0);
	ndjson_free(&j);
	return sbuf_take(&l.s);
}

static void expect_ndjson(const char *in, const char *want)
{
	char *whole = ndjson_run(in, WHOLE, 0);
	assert_string_equal(whole, want);
	char *bytes = ndjson_run(in, BYTES, 0);
	assert_string_equal(bytes, want);
	free(bytes);
	for (uint64_t seed = 1; seed <= 10; seed++) {
		char *r = ndjson_run(in, RANDOM, seed);
		assert_string_equal(r, want);
		free(r);
	}
	free(whole);
}

static void test_ndjson_lines(void **state)
{
	(void)state;
	expect_ndjson("{\"a\":1}\n{\"b\":2}\n", "{\"a\":1}\n{\"b\":2}\n");
	expect_ndjson("{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n", "{\"a\":1}\n{\"b\":2}\n");
	expect_ndjson("{\"a\":1}\r{\"b\":2}", "{\"a\":1}\n{\"b\":2}\n");
	expect_ndjson("{\"last\":true}", "{\"last\":true}\n");
	expect_ndjson("\n\n \t\n", "");
	expect_ndjson("", "");
}

static void test_ndjson_too_long(void **state)
{
	(void)state;
	struct ndjson j;
	struct log l = {0};
	struct err e = {{0}};
	ndjson_init(&j, 8);
	assert_int_equal(ndjson_feed(&j, "{\"a\":1}\n", 8, on_line, &l, &e), 0);
	assert_int_equal(ndjson_feed(&j, "{\"abc\":12345}\n", 14, on_line, &l, &e), -1);
	assert_non_null(strstr(e.msg, "longer than the limit of 8 bytes"));
	assert_int_equal(ndjson_end(&j, on_line, &l, &e), -1);
	assert_int_equal(l.count, 1);
	ndjson_free(&j);
	sbuf_free(&l.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sse_basic),
	    cmocka_unit_test(test_sse_multiline_data),
	    cmocka_unit_test(test_sse_event_names),
	    cmocka_unit_test(test_sse_comments_and_ignored_fields),
	    cmocka_unit_test(test_sse_line_endings),
	    cmocka_unit_test(test_sse_flush_at_end),
	    cmocka_unit_test(test_sse_bom_and_bytes),
	    cmocka_unit_test(test_sse_random_transcript),
	    cmocka_unit_test(test_sse_enormous_event),
	    cmocka_unit_test(test_sse_callback_stops),
	    cmocka_unit_test(test_ndjson_lines),
	    cmocka_unit_test(test_ndjson_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

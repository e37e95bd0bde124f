/* test_cache.c: the JSONL response cache: round trip through the file, torn and corrupt lines
 * skipped and counted, appends after a torn line, later lines win, memory-only mode, odd bytes,
 * answers read on demand from a file changed underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm/cache.h"

static char dir[64];
static char path[96];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/adopt-cache-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/cache.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void key_of(int i, char out[65])
{
	/* 8 hex digits of i, then a fixed filler */
	snprintf(out, 65, "%08x%056x", (unsigned)i, 0xabcu);
}

static struct cache *open_ok(const char *p)
{
	struct err e = {{0}};
	struct cache *c = cache_open(p, &e);
	if (!c)
		fail_msg("cache_open: %s", e.msg);
	return c;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct cache *c = open_ok(path);
	struct err e;
	char k[65];
	for (int i = 0; i < 200; i++) {
		char text[32];
		snprintf(text, sizeof(text), "answer %d\nline two \"q\"", i);
		struct llm_usage u = {.in = i, .out = 2 * i, .estimated = i % 2 == 0};
		if (i == 77) /* the details and the reasoning come back after a reload */
			u = (struct llm_usage){
			    .in = 77, .out = 154, .cached = 64, .cache_write = 9, .reasoning = 100};
		key_of(i, k);
		assert_int_equal(cache_put(c, k, "gpt-4o", text, i == 77 ? "why \"so\"\n" : "", &u,
		                           i % 2 ? "length" : NULL, &e),
		                 0);
	}
	assert_int_equal(cache_count(c), 200);
	cache_close(c);

	c = open_ok(path);
	assert_int_equal(cache_count(c), 200);
	assert_int_equal(cache_skipped(c), 0);
	key_of(77, k);
	const struct cache_entry *ce = cache_get(c, k);
	assert_non_null(ce);
	assert_string_equal(ce->text, "answer 77\nline two \"q\"");
	assert_string_equal(ce->model, "gpt-4o");
	assert_int_equal(ce->usage.in, 77);
	assert_int_equal(ce->usage.out, 154);
	assert_int_equal(ce->usage.cached, 64);
	assert_int_equal(ce->usage.cache_write, 9);
	assert_int_equal(ce->usage.reasoning, 100);
	assert_string_equal(ce->reasoning, "why \"so\"\n");
	assert_false(ce->usage.estimated);
	assert_string_equal(ce->finish, "length"); /* a cut answer replays as cut */
	key_of(78, k);
	ce = cache_get(c, k);
	assert_null(ce->finish);
	assert_null(ce->reasoning); /* none given: none stored */
	assert_int_equal(ce->usage.cached + ce->usage.cache_write + ce->usage.reasoning, 0);
	assert_true(ce->usage.estimated);
	key_of(1000, k);
	assert_null(cache_get(c, k));
	assert_null(cache_get(c, "not-a-key"));
	cache_close(c);
}

static void write_file(const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_torn_and_corrupt(void **state)
{
	(void)state;
	char k1[65], k2[65], k3[65];
	key_of(1, k1);
	key_of(2, k2);
	key_of(3, k3);
	char buf[1024];
	snprintf(buf, sizeof(buf),
	         "{\"key\":\"%s\",\"text\":\"one\",\"in\":1,\"out\":2}\n"
	         "this is not json\n"
	         "\n"
	         "{\"key\":\"short\",\"text\":\"bad key\"}\n"
	         "{\"key\":\"%s\",\"text\":\"two\"}\n"
	         "{\"key\":\"%s\",\"text\":\"one again\"}\n"
	         "{\"key\":\"%s\",\"text\":\"tor",
	         k1, k2, k1, k3);
	write_file(buf);
	struct cache *c = open_ok(path);
	assert_int_equal(cache_count(c), 2);
	assert_int_equal(cache_skipped(c), 3); /* garbage, bad key, torn tail */
	assert_non_null(strstr(cache_problem(c), "cache.jsonl:2: invalid JSON; line skipped"));
	assert_string_equal(cache_get(c, k1)->text, "one again"); /* later line wins */
	assert_null(cache_get(c, k3));
	/* the next append starts on a fresh line, so it survives the torn tail */
	struct llm_usage u = {.in = 5, .out = 6};
	struct err e;
	assert_int_equal(cache_put(c, k3, "m", "three", NULL, &u, NULL, &e), 0);
	cache_close(c);
	c = open_ok(path);
	/* the torn line, now ended by the newline before "three", looks like a record and is
	 * indexed unread; the later line for k3 wins, so it is never read */
	assert_int_equal(cache_skipped(c), 2);
	assert_string_equal(cache_get(c, k3)->text, "three");
	assert_int_equal(cache_skipped(c), 2);
	cache_close(c);
}

/* Token counts that no long can hold, or negative ones, make a line corrupt: skipped, counted,
 * and the first one named with its line (they were converted with undefined behaviour). */
static void test_out_of_range(void **state)
{
	(void)state;
	char k1[65], k2[65], k3[65], k4[65];
	key_of(1, k1);
	key_of(2, k2);
	key_of(3, k3);
	key_of(4, k4);
	char buf[1024];
	snprintf(buf, sizeof(buf),
	         "{\"key\":\"%s\",\"text\":\"ok\",\"in\":1000000000000000,\"out\":2}\n"
	         "{\"key\":\"%s\",\"text\":\"huge\",\"in\":1e30,\"out\":2}\n"
	         "{\"key\":\"%s\",\"text\":\"negative\",\"in\":1,\"out\":-1}\n"
	         "{\"key\":\"%s\",\"text\":\"fraction\",\"in\":1.5}\n",
	         k1, k2, k3, k4);
	write_file(buf);
	struct cache *c = open_ok(path);
	/* lines in cache_put's form are indexed by their key and checked when read */
	assert_int_equal(cache_count(c), 4);
	assert_int_equal(cache_skipped(c), 0);
	assert_int_equal(cache_get(c, k1)->usage.in, 1000000000000000L);
	assert_null(cache_get(c, k2));
	assert_null(cache_get(c, k3));
	assert_null(cache_get(c, k4));
	assert_null(cache_get(c, k2)); /* skipped once, not counted again */
	assert_int_equal(cache_skipped(c), 3);
	assert_int_equal(cache_count(c), 1);
	char *want = xasprintf("%s:2: \"in\" must be a whole number between 0 and 1e+15 (got "
	                       "1e+30); line skipped",
	                       path);
	assert_string_equal(cache_problem(c), want);
	free(want);
	cache_close(c);
}

static void test_odd_bytes(void **state)
{
	(void)state;
	unlink(path);
	struct cache *c = open_ok(path);
	char k[65];
	key_of(9, k);
	const char *odd = "caf\xc3\xa9 \xff\xfe not utf-8 \x01\t\x1b[31m";
	struct llm_usage u = {0};
	struct err e;
	assert_int_equal(cache_put(c, k, NULL, odd, odd, &u, NULL, &e), 0);
	cache_close(c);
	c = open_ok(path);
	assert_int_equal(cache_skipped(c), 0);
	assert_string_equal(cache_get(c, k)->text, odd);
	assert_string_equal(cache_get(c, k)->reasoning, odd);
	cache_close(c);
	/* exactly one line in the file */
	char *data;
	size_t len;
	assert_int_equal(file_read(path, 1 << 20, &data, &len, &e), 0);
	assert_int_equal(strchr(data, '\n') - data, (long)len - 1);
	free(data);
}

static void test_memory_only_and_errors(void **state)
{
	(void)state;
	struct cache *c = open_ok(NULL);
	char k[65];
	key_of(4, k);
	struct llm_usage u = {.in = 1, .out = 1, .estimated = true};
	struct err e;
	assert_int_equal(cache_put(c, k, "m", "mem", NULL, &u, NULL, &e), 0);
	assert_string_equal(cache_get(c, k)->text, "mem");
	assert_int_equal(cache_put(c, "XYZ", "m", "mem", NULL, &u, NULL, &e), -1);
	cache_close(c);
	assert_null(cache_open("/nonexistent-dir/adopt/cache.jsonl", &e));
	assert_non_null(strstr(e.msg, "/nonexistent-dir/adopt/cache.jsonl"));
}

/* Answers are read from the file when asked for, so a file changed underneath is noticed then:
 * a line cut short, or one that is no longer the answer indexed at its place, is skipped with
 * its line named, and the other answers still come back. */
static void test_read_on_demand(void **state)
{
	(void)state;
	struct cache *c = open_ok(path);
	struct err e;
	struct llm_usage u = {.in = 1, .out = 1};
	char k[3][65];
	for (int i = 0; i < 3; i++) {
		key_of(i, k[i]);
		assert_int_equal(
		    cache_put(c, k[i], "m", i == 1 ? "bbbb" : "aaaa", NULL, &u, NULL, &e), 0);
	}
	assert_string_equal(cache_get(c, k[1])->text, "bbbb");
	/* swap lines 1 and 2 in place (same lengths, same file) */
	char *data;
	size_t len;
	assert_int_equal(file_read(path, 1 << 20, &data, &len, &e), 0);
	size_t l1 = (size_t)(strchr(data, '\n') - data) + 1;
	char *swapped = xmalloc(len + 1);
	memcpy(swapped, data + l1, l1);
	memcpy(swapped + l1, data, l1);
	memcpy(swapped + 2 * l1, data + 2 * l1, len - 2 * l1);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	assert_int_equal(fwrite(swapped, 1, len, f), len);
	fclose(f);
	assert_null(cache_get(c, k[0]));
	assert_int_equal(cache_skipped(c), 1);
	char *want = xasprintf("%s:1: not the answer indexed for it (the file changed underneath); "
	                       "line skipped",
	                       path);
	assert_string_equal(cache_problem(c), want);
	free(want);
	assert_string_equal(cache_get(c, k[2])->text, "aaaa");
	/* cut short: the last line is gone */
	assert_int_equal(truncate(path, (off_t)(2 * l1)), 0);
	assert_null(cache_get(c, k[2]));
	assert_int_equal(cache_skipped(c), 2);
	assert_int_equal(cache_count(c), 1);
	free(data);
	free(swapped);
	cache_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_and_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_only_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_on_demand, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

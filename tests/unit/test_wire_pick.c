/* test_wire_pick.c: wire_pick (values at paths without a cJSON tree) against wire_json_parse +
 * wire_get on the same text: hand-written cases at the edges of its subset, then generated
 * chunk-like texts and byte-level mutations of them.  Whenever wire_pick reads a text, every
 * answer must be cJSON's; what it declines is counted, so that the subset is known to cover
 * the ordinary chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"

static const char *const paths[] = {
    "error",
    "object",
    "usage",
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.prompt_tokens_details",
    "usage.prompt_tokens_details.cached_tokens",
    "choices",
    "choices.0",
    "choices.0.finish_reason",
    "choices.0.delta",
    "choices.0.delta.content",
    "choices.0.delta.refusal",
};
#define N_PATHS ARRAY_SIZE(paths)

static enum wire_type cjson_type(const cJSON *v)
{
	if (!v)
		return WIRE_ABSENT;
	if (cJSON_IsNull(v))
		return WIRE_NULL;
	if (cJSON_IsFalse(v))
		return WIRE_FALSE;
	if (cJSON_IsTrue(v))
		return WIRE_TRUE;
	if (cJSON_IsNumber(v))
		return WIRE_NUMBER;
	if (cJSON_IsString(v))
		return WIRE_STRING;
	if (cJSON_IsArray(v))
		return WIRE_ARRAY;
	return WIRE_OBJECT;
}

/* 1 when wire_pick read the text (and agreed with cJSON in every answer), 0 when it declined. */
static int check(const char *s, size_t n)
{
	static struct wire_paths w = {.path = paths, .n = N_PATHS};
	struct wire_pick p[N_PATHS];
	struct sbuf scratch = {0};
	int rc = wire_pick(s, n, &w, p, &scratch);
	if (rc < 0) {
		sbuf_free(&scratch);
		return 0;
	}
	cJSON *j = wire_json_parse(s, n);
	if (!j)
		fail_msg("wire_pick read what cJSON refuses: %.*s", (int)n, s);
	for (size_t i = 0; i < N_PATHS; i++) {
		const cJSON *v = wire_get(j, paths[i]);
		if (cjson_type(v) != p[i].type)
			fail_msg("%s: type %d, cJSON %d in %.*s", paths[i], p[i].type,
			         cjson_type(v), (int)n, s);
		const char *a = wire_pick_str(&p[i], &scratch), *b = wire_get_str(j, paths[i]);
		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
			fail_msg("%s: \"%s\", cJSON \"%s\" in %.*s", paths[i], a ? a : "(null)",
			         b ? b : "(null)", (int)n, s);
		long x = -1;
		if (p[i].type == WIRE_NUMBER && (!wire_get_long(j, paths[i], &x) || x != p[i].num))
			fail_msg("%s: %ld, cJSON %ld in %.*s", paths[i], p[i].num, x, (int)n, s);
	}
	cJSON_Delete(j);
	sbuf_free(&scratch);
	return 1;
}

static int check_str(const char *s)
{
	return check(s, strlen(s));
}

static const char chunk[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"m\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"Hello, w\\u00f6rld\\n\\\"\\/\\t\xe2\x82\xac\"},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}";

static void test_pick_chunk(void **state)
{
	(void)state;
	static struct wire_paths w = {.path = paths, .n = N_PATHS};
	struct wire_pick p[N_PATHS];
	struct sbuf scratch = {0};
	assert_int_equal(wire_pick(chunk, strlen(chunk), &w, p, &scratch), 0);
	assert_string_equal(wire_pick_str(&p[11], &scratch),
	                    "Hello, w\xc3\xb6rld\n\"/\t\xe2\x82\xac");
	assert_int_equal(p[9].type, WIRE_NULL);
	assert_int_equal(p[2].type, WIRE_NULL);
	assert_int_equal(p[0].type, WIRE_ABSENT);
	assert_null(wire_pick_str(&p[12], &scratch));
	sbuf_free(&scratch);
	assert_int_equal(check_str(chunk), 1);
	const char *usage =
	    "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":"
	    "345,\"total_tokens\":357,\"prompt_tokens_details\":{\"cached_tokens\":0}}}";
	assert_int_equal(check_str(usage), 1);
}

/* Texts wire_pick reads, each checked against cJSON. */
static void test_pick_accepted(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "{}",
	    " \r\n\t{ } \n",
	    "{\"choices\":{\"0\":{\"delta\":{\"content\":\"key zero\"}}}}", /* as wire_get */
	    "{\"choices\":[1,{\"delta\":{\"content\":\"second\"}}]}",
	    "{\"choices\":[{\"delta\":[\"content\"]}]}",
	    "{\"choices\":[{\"delta\":{\"content\":7}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"\"}}]}",
	    "{\"choices\":[{\"delta\":{\"content.x\":\"dotted key\"}}]}",
	    "{\"choices.0\":{\"delta\":1}}",
	    "{\"object\":\"chat.completion.chunk\",\"x\":[[[]],{},-0.5e+10,1E5,true,false]}",
	    "{\"usage\":{\"prompt_tokens\":999999999999999}}",
	    "{\"usage\":{\"prompt_tokens\":\"12\"}}",
	    "{\"usage\":[1,2]}",
	    "{\"x\":\"a\",\"x\":\"b\",\"choices\":[]}", /* duplicates off the picked paths */
	    "{\"Choices\":[{\"delta\":{\"content\":\"case\"}}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!check_str(ok[i]))
			fail_msg("declined: %s", ok[i]);
}

/* Texts wire_pick leaves to cJSON (any answer from it would risk being different). */
static void test_pick_declined(void **state)
{
	(void)state;
	static const char *const no[] = {
	    "",
	    "[]",
	    "\"s\"",
	    "{\"a\":1}x",                                       /* cJSON ignores the tail */
	    "{\"a\":1}\x01",                                    /* cJSON skips bytes <= 32 */
	    "\xef\xbb\xbf{}",                                   /* byte order mark */
	    "{\"a\":\"\x01\"}",                                 /* a raw control byte */
	    "{\"a\":\"\\u0000\"}",                              /* a NUL inside a value */
	    "{\"a\":\"\\ud83d\"}",                              /* a lone surrogate */
	    "{\"a\":\"\\ud83d\\ude00\"}",                       /* a pair: left to cJSON */
	    "{\"a\":\"\\x\"}",                                  /* an invalid escape */
	    "{\"cont\\u0065nt\":1}",                            /* an escaped key */
	    "{\"choices\":[],\"choices\":[{}]}",                /* a duplicate picked key */
	    "{\"usage\":{\"prompt_tokens\":1.0}}",              /* not an integer */
	    "{\"usage\":{\"prompt_tokens\":-1}}",               /* negative */
	    "{\"usage\":{\"prompt_tokens\":1000000000000000}}", /* 16 digits */
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":+1}",
	    "{\"a\":1e}",
	    "{\"a\":nul}",
	    "{\"a\":[1,]}",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "{\"a\":1",
	    "{\"a\":\"1",
	    "{\"a\":\"\\",
	    "{\"a\":1}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (check_str(no[i]))
			fail_msg("read: %s", no[i]);
	/* 65 levels */
	struct sbuf b = {0};
	sbuf_adds(&b, "{\"a\":");
	for (int i = 0; i < 64; i++)
		sbuf_addc(&b, '[');
	for (int i = 0; i < 64; i++)
		sbuf_addc(&b, ']');
	sbuf_addc(&b, '}');
	assert_int_equal(check(b.s, b.len), 0);
	/* a NUL byte inside the length */
	assert_int_equal(check("{\"a\":\"x\0y\"}", 11), 0);
	sbuf_free(&b);
}

/* Tables that break the rules make every call decline. */
static void test_pick_broken_tables(void **state)
{
	(void)state;
	static const char *const no_prefix[] = {"choices.0"};
	static const char *const dup[] = {"a", "a"};
	static const char *const index[] = {"choices", "choices.00"};
	static const char *const empty[] = {"a", "a."};
	static const char *const ok[] = {"choices", "choices.0"};
	static const struct {
		const char *const *path;
		size_t n;
		int rc;
	} tables[] = {{no_prefix, 1, -1}, {dup, 2, -1}, {index, 2, -1}, {empty, 2, -1}, {ok, 2, 0}};
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		struct wire_paths w = {.path = tables[i].path, .n = tables[i].n};
		struct wire_pick p[2];
		struct sbuf scratch = {0};
		assert_int_equal(wire_pick("{\"choices\":[{}]}", 16, &w, p, &scratch),
		                 tables[i].rc);
		assert_int_equal(w.state, tables[i].rc ? -1 : 1);
		sbuf_free(&scratch);
	}
}

/* ---- generated texts -------------------------------------------------------------------- */

static const char *const keys[] = {
    "choices", "0", "delta", "content",       "usage", "error", "object", "prompt_tokens",
    "refusal", "x", "a.b",   "finish_reason", "",      "1",     "Content"};
static const char *const strings[] = {
    "\"\"",         "\"hi\"",         "\"error\"",          "\"a\\nb\\\"c\"",
    "\"\\u00e9\"",  "\"\\u20ac\\/\"", "\"\\ud83d\\ude00\"", "\"\\u0000\"",
    "\"\xc3\xa9\"", "\"tab\\there\"", "\"\\b\\f\\r\"",      "\"\\u0041\\u0410\\uffff\"",
};
static const char *const scalars[] = {"0",    "-0",    "12",   "999999999999999", "1e3",
                                      "-1.5", "1.0",   "true", "false",           "null",
                                      "1E+2", "0.001", "-7"};

static void gen_value(struct rng *r, struct sbuf *b, int depth);

static void gen_container(struct rng *r, struct sbuf *b, int depth, bool object)
{
	sbuf_addc(b, object ? '{' : '[');
	size_t n = rng_below(r, depth > 3 ? 2 : 4);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_adds(b, rng_below(r, 4) ? "," : " , ");
		if (object) {
			sbuf_addf(b, "\"%s\"", keys[rng_below(r, ARRAY_SIZE(keys))]);
			sbuf_adds(b, rng_below(r, 4) ? ":" : " :\n");
		}
		gen_value(r, b, depth + 1);
	}
	sbuf_addc(b, object ? '}' : ']');
}

static void gen_value(struct rng *r, struct sbuf *b, int depth)
{
	uint64_t k = rng_below(r, depth > 4 ? 2 : 6);
	if (k == 0)
		sbuf_adds(b, strings[rng_below(r, ARRAY_SIZE(strings))]);
	else if (k == 1)
		sbuf_adds(b, scalars[rng_below(r, ARRAY_SIZE(scalars))]);
	else
		gen_container(r, b, depth, k != 2);
}

/* A chunk-like object: the real shape with random parts swapped in. */
static void gen_chunk(struct rng *r, struct sbuf *b)
{
	if (rng_below(r, 3) == 0) {
		gen_container(r, b, 0, true);
		return;
	}
	sbuf_adds(b, "{\"id\":\"c\",\"object\":");
	sbuf_adds(b, rng_below(r, 8) ? "\"chat.completion.chunk\"" : "\"error\"");
	sbuf_adds(b, ",\"choices\":[{\"index\":0,\"delta\":{");
	size_t n = rng_below(r, 4);
	for (size_t i = 0; i < n; i++) {
		static const char *const dk[] = {"content", "refusal", "role", "reasoning"};
		sbuf_addf(b, "%s\"%s\":", i ? "," : "", dk[rng_below(r, ARRAY_SIZE(dk))]);
		gen_value(r, b, 3);
	}
	sbuf_adds(b, "},\"finish_reason\":");
	gen_value(r, b, 4);
	sbuf_adds(b, "}],\"usage\":");
	if (rng_below(r, 2))
		sbuf_adds(b, "null");
	else
		gen_container(r, b, 2, true);
	if (rng_below(r, 6) == 0) {
		sbuf_adds(b, ",\"error\":");
		gen_value(r, b, 2);
	}
	sbuf_addc(b, '}');
}

static void mutate(struct rng *r, struct sbuf *b)
{
	static const char bytes[] = "{}[],:\"\\ .-0123456789eEuntfalsr\x01\x7f\xc3\t";
	size_t at = b->len ? rng_below(r, b->len) : 0;
	char c = bytes[rng_below(r, sizeof(bytes) - 1)];
	switch (rng_below(r, 3)) {
	case 0: /* delete */
		if (b->len) {
			memmove(b->s + at, b->s + at + 1, b->len - at - 1);
			b->s[--b->len] = '\0';
		}
		break;
	case 1: /* replace */
		if (b->len)
			b->s[at] = c;
		break;
	default: { /* insert */
		sbuf_addc(b, ' ');
		memmove(b->s + at + 1, b->s + at, b->len - at - 1);
		b->s[at] = c;
	}
	}
}

static void test_pick_generated(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 20261124);
	long read = 0, read_mutated = 0, total = 20000;
	struct sbuf b = {0};
	for (long i = 0; i < total; i++) {
		sbuf_reset(&b);
		gen_chunk(&r, &b);
		read += check(b.s, b.len);
		for (uint64_t m = 1 + rng_below(&r, 3); m > 0; m--)
			mutate(&r, &b);
		read_mutated += check(b.s, b.len);
	}
	sbuf_free(&b);
	/* most generated texts are in the subset (the rest hold a \u0000, a surrogate pair, a
	 * float at a picked number, a duplicate picked key...); some mutated ones still are */
	print_message("read %ld, mutated %ld of %ld\n", read, read_mutated, total);
	if (read < total / 4 || read_mutated < total / 50)
		fail_msg("read %ld and %ld mutated of %ld", read, read_mutated, total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pick_chunk),     cmocka_unit_test(test_pick_accepted),
	    cmocka_unit_test(test_pick_declined),  cmocka_unit_test(test_pick_broken_tables),
	    cmocka_unit_test(test_pick_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

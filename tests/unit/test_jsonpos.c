/* test_jsonpos.c: positions of offsets and paths in JSON text; parse error descriptions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonpos.h"
#include "core/util.h"

static const char doc[] =
    "{\n"
    "  \"pipeline\": {\n"
    "    \"steps\": [\n"
    "      {\"name\": \"q\", \"template\": \"x\"},\n"
    "      {\"name\": \"a\\\"}\", \"template\": \"say \\\"}\\\" [\", \"n\": [1, 2.5e3, {\"z\": "
    "null}]}\n"
    "    ]\n"
    "  },\n"
    "  \"models\": {\"task\": {\"temperature\": 0.5, \"t\": true, \"f\": false}}\n"
    "}\n";

static void check_path(const char *text, const char *path, int rc, int line, int col)
{
	struct json_pos p = {0, 0};
	int r = json_pos_of_path(text, strlen(text), path, &p);
	if (r != rc || p.line != line || p.col != col)
		fail_msg("path %s: got rc %d at %d:%d, want rc %d at %d:%d", path, r, p.line, p.col,
		         rc, line, col);
}

static void check_offset(const char *text, size_t off, int line, int col)
{
	struct json_pos p = json_pos_of_offset(text, off);
	if (p.line != line || p.col != col)
		fail_msg("offset %zu: got %d:%d, want %d:%d", off, p.line, p.col, line, col);
}

static void test_offset(void **state)
{
	(void)state;
	check_offset("ab\ncd", 4, 2, 2);
	check_offset("ab\ncd", 0, 1, 1);
	/* code points, not bytes: "é" is 2 bytes, "€" 3 */
	check_offset("\xc3\xa9\xe2\x82\xacx", 5, 1, 3);
	/* CRLF is one line break; the '\n' of a CRLF still belongs to the first line */
	check_offset("a\r\nb", 3, 2, 1);
	check_offset("a\r\nb", 2, 1, 2);
	/* a lone CR is a line break too */
	check_offset("a\rb", 2, 2, 1);
	/* an offset past the end is clamped to the end */
	check_offset("ab\nc", 1000, 2, 2);
}

static void test_nested(void **state)
{
	(void)state;
	check_path(doc, "", 0, 1, 1);
	check_path(doc, "pipeline", 0, 2, 15);
	check_path(doc, "pipeline.steps", 0, 3, 14);
	check_path(doc, "pipeline.steps[0]", 0, 4, 7);
	check_path(doc, "pipeline.steps[0].template", 0, 4, 33);
	/* escaped quotes and brackets inside strings do not confuse the scanner */
	check_path(doc, "pipeline.steps[1].template", 0, 5, 36);
	check_path(doc, "pipeline.steps[1].n[2]", 0, 5, 67);
	check_path(doc, "pipeline.steps[1].n[2].z", 0, 5, 73);
	check_path(doc, ".models.task.temperature", 0, 8, 38);
	check_path(doc, "models.task.f", 0, 8, 59);
	check_path(doc, "[\"models\"][\"task\"].t", 0, 8, 48);
}

static void test_missing_falls_back(void **state)
{
	(void)state;
	check_path(doc, "pipeline.steps[5].template", 1, 3, 14);
	check_path(doc, "pipeline.nothing.x", 1, 2, 15);
	check_path(doc, "models.task.temperature.x", 1, 8, 38); /* scalar has no keys */
	check_path(doc, "pipeline[0]", 1, 2, 15);               /* object is not an array */
	check_path(doc, "pipeline.steps.name", 1, 3, 14);       /* array is not an object */
	check_path(doc, "nope", 1, 1, 1);
	check_path("{\"a\": {}, \"b\": []}", "a.x", 1, 1, 7);
	check_path("{\"a\": {}, \"b\": []}", "b[0]", 1, 1, 16);
}

static void test_keys_quoted_and_unicode(void **state)
{
	(void)state;
	const char *t =
	    "{\"a.b\": 1, \"say \\\"hi\\\"\": 2, \"caf\\u00e9\": 3, \"\\ud83d\\ude00\": 4,"
	    " \"\xc3\xa9\": \"\xc3\xbc\", \"x\": 5}";
	check_path(t, "[\"a.b\"]", 0, 1, 9);
	check_path(t, "a.b", 1, 1, 1);
	check_path(t, "[\"say \\\"hi\\\"\"]", 0, 1, 26);
	/* \u escapes in keys compare equal to the UTF-8 they stand for */
	check_path(t, "caf\xc3\xa9", 0, 1, 42);
	check_path(t, "\xf0\x9f\x98\x80", 0, 1, 61);
	/* columns count code points: "é": "ü" are 3 characters each */
	check_path(t, "x", 0, 1, 79);

	/* the builders quote exactly what needs quoting, and their paths resolve */
	struct sbuf b = {0};
	json_path_key(&b, "steps");
	json_path_index(&b, 3);
	json_path_key(&b, "a.b");
	json_path_key(&b, "t");
	assert_string_equal(sbuf_str(&b), "steps[3][\"a.b\"].t");
	sbuf_reset(&b);
	json_path_key(&b, "say \"hi\"");
	assert_string_equal(sbuf_str(&b), "[\"say \\\"hi\\\"\"]");
	check_path(t, sbuf_str(&b), 0, 1, 26);
	sbuf_free(&b);
}

static void test_crlf(void **state)
{
	(void)state;
	check_path("{\r\n  \"a\": 1,\r\n  \"b\": [\r\n    true\r\n  ]\r\n}\r\n", "b[0]", 0, 4, 5);
	check_path("{\r  \"a\": 1,\r  \"b\": 2\r}", "b", 0, 3, 8);
}

static void test_duplicate_key_first(void **state)
{
	(void)state;
	/* cJSON_GetObjectItem returns the first of duplicate keys; so do we */
	const char *t = "{\"k\": 1,\n \"k\": 2}";
	cJSON *j = cJSON_Parse(t);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "k")->valueint, 1);
	cJSON_Delete(j);
	check_path(t, "k", 0, 1, 7);
}

static void test_truncated_and_bad(void **state)
{
	(void)state;
	const char *t = "{\"a\": [1, 2";
	check_path(t, "a[5]", -1, 1, 12);
	check_path(t, "a[1]", 0, 1, 11); /* lazy: the broken tail is never read */
	check_path("{\"a\": \"abc", "b", -1, 1, 11);
	check_path("{\"a\": tru, \"b\": 1}", "b", -1, 1, 10);
	check_path("", "a", -1, 1, 1);
	check_path("   ", "", -1, 1, 4);
	check_path("{\"a\": ", "a", -1, 1, 7);
	check_path("{\"a\" 1}", "a", -1, 1, 6);
	check_path("[[[[[[[[", "[0][0][0][0][0][0][0][0]", -1, 1, 9);
	/* malformed paths */
	check_path(doc, "pipeline..steps", -1, 2, 15);
	check_path(doc, "pipeline.steps[x]", -1, 3, 14);
	check_path(doc, "pipeline.steps[0", -1, 3, 14);
	check_path(doc, "[\"pipeline", -1, 1, 1);

	/* bounded by len: the same bytes with a shorter length are truncated text */
	const char *full = "{\"a\": [1, 2, 3]}";
	struct json_pos p;
	assert_int_equal(json_pos_of_path(full, 9, "a[2]", &p), -1);
	assert_int_equal(json_pos_of_path(full, strlen(full), "a[2]", &p), 0);
	assert_int_equal(p.col, 14);

	/* every prefix of a document is scanned without reading past its length (ASan checks) */
	size_t n = strlen(doc);
	for (size_t k = 0; k < n; k++) {
		char *cut = xmalloc(k ? k : 1);
		memcpy(cut, doc, k);
		json_pos_of_path(cut, k, "models.task.f", &p);
		json_pos_of_path(cut, k, "pipeline.steps[1].n[2].z", &p);
		char msg[200];
		json_describe_error(cut, k, NULL, msg, sizeof msg);
		free(cut);
	}
}

static void test_deep_nesting(void **state)
{
	(void)state;
	/* deeper than the scanner's limit: an error, not a stack overflow */
	size_t n = 5000;
	char *t = xmalloc(n + 20);
	memcpy(t, "{\"a\": ", 6);
	memset(t + 6, '[', n);
	memcpy(t + 6 + n, "], \"b\": 1}", 11);
	struct json_pos p;
	assert_int_equal(json_pos_of_path(t, strlen(t), "b", &p), -1);
	free(t);
}

static void check_error(const char *text, const char *want)
{
	size_t len = strlen(text);
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(text, &end, 1);
	assert_null(j); /* the helper is for texts cJSON rejects */
	char msg[256];
	json_describe_error(text, len, cJSON_GetErrorPtr(), msg, sizeof msg);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("error for %s: got \"%s\", want prefix \"%s\"", text, msg, want);
}

static void test_describe_error(void **state)
{
	(void)state;
	check_error("{\"a\": 1,}",
	            "1:9: unexpected character '}' (expected a '\"' to start a key)");
	check_error("{\"a\": [1, 2", "1:12: unexpected end of file (expected ',' or ']')");
	check_error("{\n  \"a\" 1}", "2:7: unexpected character '1' (expected ':' after the key)");
	check_error("[1, 2]]", "1:7: unexpected character ']' (expected end of file");
	check_error("", "1:1: unexpected end of file (expected a value)");
	check_error("{\"a\": \"abc",
	            "1:11: unexpected end of file (expected '\"' to end the string)");
	check_error("{\"a\":\"\\q\"}", "1:8: unexpected character 'q' (expected an escape");
	check_error("{\"a\": tru}", "1:10: unexpected character '}' (expected true)");
	check_error("[\x7f]", "1:2: unexpected character U+007F");
	check_error("[1\x01\x02 2]", "1:6: unexpected character '2' (expected ',' or ']')");
	check_error("[\xc3\xa9]", "1:2: unexpected character '\xc3\xa9'");
	check_error("[\xff]", "1:2: unexpected byte 0xFF (not UTF-8)");
	check_error("{\r\n\"a\": 1\r\n\"b\": 2}",
	            "3:1: unexpected character '\"' (expected ',' or '}')");

	/* when the re-scan finds nothing, cJSON's pointer is used */
	char msg[64];
	const char *ok = "[1]\n";
	json_describe_error(ok, strlen(ok), ok + 3, msg, sizeof msg);
	assert_string_equal(msg, "1:4: unexpected character U+000A");
	/* a tiny buffer is truncated, still terminated */
	json_describe_error("", 0, NULL, msg, 5);
	assert_string_equal(msg, "1:1:");
}

static void test_speed_10mb(void **state)
{
	(void)state;
	struct sbuf b = {0};
	sbuf_adds(&b, "{\"items\": [\n");
	size_t n = 0;
	while (b.len < 10u << 20) {
		sbuf_addf(&b,
		          "{\"id\": %zu, \"pad\": \"a string with \\\"escapes\\\" and [brackets] "
		          "{braces} \\u00e9 to skip over\", \"n\": [1, 2, {\"x\": null}]},\n",
		          n);
		n++;
	}
	sbuf_adds(&b, "{\"id\": -1}],\n\"last\": {\"x\": 1}}\n");
	char path[64];
	snprintf(path, sizeof path, "items[%zu].n[2].x", n - 1);
	struct json_pos p;
	/* two linear scans of 10 MB (no wall-clock bound: a quadratic scan would not finish
	 * within the test's time limit, and valgrind or a loaded machine must not fail it) */
	assert_int_equal(json_pos_of_path(b.s, b.len, "last.x", &p), 0);
	assert_int_equal(p.line, (int)n + 3);
	assert_int_equal(p.col, 15);
	assert_int_equal(json_pos_of_path(b.s, b.len, path, &p), 0);
	assert_int_equal(p.line, (int)n + 1);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offset),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_missing_falls_back),
	    cmocka_unit_test(test_keys_quoted_and_unicode),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_duplicate_key_first),
	    cmocka_unit_test(test_truncated_and_bad),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_describe_error),
	    cmocka_unit_test(test_speed_10mb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

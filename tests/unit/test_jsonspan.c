/* test_jsonspan.c: json_member_spans, the byte spans of an object's members found by the
 * position scanner (how the session loader finds inline dataset arrays without parsing them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/jsonpos.h"

static const char *const keys[] = {"train", "val", "test", NULL};

/* The text of span k of text, for comparison ("" when absent). */
static const char *span_text(const char *text, size_t (*spans)[2], int k)
{
	static char buf[256];
	size_t n = spans[k][1] - spans[k][0];
	assert_true(n < sizeof buf);
	memcpy(buf, text + spans[k][0], n);
	buf[n] = '\0';
	return buf;
}

static void test_spans(void **state)
{
	(void)state;
	static const char text[] =
	    "{\"x\": {\"dataset\": 1},\n"
	    " \"dataset\" : {\"note\": [\"train\", {\"val\": []}],\n"
	    "   \"val\"  :\t[ {\"q\": \"]}\\\"\", \"a\": [1, {\"b\": null}]} ] ,\n"
	    "   \"tr\\u0061in\": \"train.jsonl\",\n"
	    "   \"val\": [\"the second val: cJSON sees the first\"]},\n"
	    " \"after\": true}";
	size_t spans[3][2];
	assert_int_equal(json_member_spans(text, strlen(text), "dataset", keys, spans), 0);
	assert_string_equal(span_text(text, spans, 0), "\"train.jsonl\"");
	assert_string_equal(span_text(text, spans, 1),
	                    "[ {\"q\": \"]}\\\"\", \"a\": [1, {\"b\": null}]} ]");
	assert_int_equal(spans[2][0], 0);
	assert_int_equal(spans[2][1], 0);
	/* deeper paths, and an empty object */
	static const char nested[] = "{\"a\": [0, {\"b\": {\"test\": [] , \"val\":{}}}]}";
	assert_int_equal(json_member_spans(nested, strlen(nested), "a[1].b", keys, spans), 0);
	assert_string_equal(span_text(nested, spans, 2), "[]");
	assert_string_equal(span_text(nested, spans, 1), "{}");
	assert_int_equal(spans[0][1], 0);
	static const char none[] = "{\"dataset\": { }}";
	assert_int_equal(json_member_spans(none, strlen(none), "dataset", keys, spans), 0);
	assert_int_equal(spans[0][1] + spans[1][1] + spans[2][1], 0);
}

static void test_absent_and_bad(void **state)
{
	(void)state;
	size_t spans[3][2];
	static const char *const absent[] = {"{\"models\": {}}", "{\"dataset\": [1]}",
	                                     "{\"dataset\": \"d.jsonl\"}"};
	for (size_t k = 0; k < sizeof absent / sizeof *absent; k++) {
		spans[0][1] = 99;
		assert_int_equal(
		    json_member_spans(absent[k], strlen(absent[k]), "dataset", keys, spans), 1);
		assert_int_equal(spans[0][1], 0);
	}
	/* bad text before, inside or after a member: -1 and no spans */
	static const char *const bad[] = {
	    "{\"a\": tru, \"dataset\": {\"val\": []}}",
	    "{\"dataset\": {\"val\": [1, 2}}",
	    "{\"dataset\": {\"val\": [1, 2] \"train\": []}}",
	    "{\"dataset\": {\"val\": [1, 2], \"train\": [\"unterminated]}}",
	    "{\"dataset\": {\"val\": [1, 2], \"train\": []",
	    "",
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		assert_int_equal(json_member_spans(bad[k], strlen(bad[k]), "dataset", keys, spans),
		                 -1);
		for (int j = 0; j < 3; j++)
			assert_int_equal(spans[j][1], 0);
	}
	/* the length bounds the scan: a NUL-free prefix that stops mid-array */
	static const char cut[] = "{\"dataset\": {\"val\": [1, 2]}}";
	assert_int_equal(json_member_spans(cut, 22, "dataset", keys, spans), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spans),
	    cmocka_unit_test(test_absent_and_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

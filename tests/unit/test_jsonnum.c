/* test_jsonnum.c: range-checked JSON numbers (jsonnum.h): the edges of every range, numbers no
 * double holds, whole-number checks, and range tables walked over arrays and object members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"

static cJSON *num(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	assert_non_null(v);
	return v;
}

static void test_real(void **state)
{
	(void)state;
	struct err e;
	double x = 7;
	cJSON *v = num("0.5");
	assert_int_equal(json_real(v, 0, 1, &x, &e), 0);
	assert_true(x == 0.5);
	cJSON_Delete(v);
	v = num("-0.5");
	x = 7;
	assert_int_equal(json_real(v, 0, 1, &x, &e), -1);
	assert_true(x == 7); /* untouched */
	assert_string_equal(e.msg, "must be between 0 and 1 (got -0.5)");
	cJSON_Delete(v);
	v = num("1e400"); /* infinity */
	assert_int_equal(json_real(v, -1e308, 1e308, &x, &e), -1);
	assert_string_equal(e.msg, "must be between -1e+308 and 1e+308 (got a number beyond a "
	                           "double's range)");
	cJSON_Delete(v);
	v = num("\"3\"");
	assert_int_equal(json_real(v, 0, 9, &x, &e), -1);
	assert_string_equal(e.msg, "must be a number");
	assert_int_equal(json_real(v, 0, 9, &x, NULL), -1); /* no message wanted */
	cJSON_Delete(v);
	assert_int_equal(json_real(NULL, 0, 9, &x, NULL), -1);
}

static void test_whole(void **state)
{
	(void)state;
	struct err e;
	long l = 0;
	int i = 0;
	cJSON *v = num("9007199254740992"); /* 2^53: the largest range any caller may use */
	assert_int_equal(json_long(v, 0, 1e300, &l, &e), 0);
	assert_true(l == 9007199254740992L);
	cJSON_Delete(v);
	v = num("9007199254740994");
	assert_int_equal(json_long(v, 0, 1e300, &l, &e), -1);
	assert_string_equal(e.msg, "must be a whole number between 0 and 9.00719925474099e+15 "
	                           "(got 9.00719925474099e+15)");
	cJSON_Delete(v);
	v = num("1e300");
	assert_int_equal(json_long(v, -1e300, 1e300, &l, &e), -1);
	assert_int_equal(json_int(v, 0, 1e300, &i, &e), -1);
	assert_string_equal(e.msg, "must be a whole number between 0 and 2147483647 (got 1e+300)");
	cJSON_Delete(v);
	v = num("-1e300");
	assert_int_equal(json_long(v, -1e300, 1e300, &l, &e), -1);
	cJSON_Delete(v);
	v = num("2.5");
	assert_int_equal(json_long(v, 0, 10, &l, &e), -1);
	assert_string_equal(e.msg, "must be a whole number between 0 and 10 (got 2.5)");
	cJSON_Delete(v);
	v = num("-3");
	assert_int_equal(json_int(v, -3, 3, &i, &e), 0);
	assert_int_equal(i, -3);
	assert_int_equal(json_int(v, 0, 3, &i, &e), -1);
	cJSON_Delete(v);
	v = num("4e0");
	assert_int_equal(json_int(v, 0, 4, &i, &e), 0);
	assert_int_equal(i, 4);
	cJSON_Delete(v);
}

struct seen {
	char paths[8][128];
	int n;
};

static void record(void *arg, const char *path, const char *msg)
{
	struct seen *s = arg;
	assert_true(s->n < 8);
	snprintf(s->paths[s->n++], sizeof s->paths[0], "%s %s", path, msg);
}

static void test_table(void **state)
{
	(void)state;
	static const struct json_num_rule rules[] = {
	    {"a[].n", true, 0, 10}, {"b.*.c", false, 0, 1}, {"b.*.d[]", true, 1, 2},
	    {"e", true, 0, 1},      {NULL, false, 0, 0},
	};
	cJSON *root = num("{\"a\": [{\"n\": 3}, {\"n\": -1}, {\"n\": \"x\"}, 5, {\"n\": 1e300}],"
	                  " \"b\": {\"p.q\": {\"c\": 2, \"d\": [1, 3]}, \"r\": {\"c\": 0.5},"
	                  " \"s\": 4}, \"e\": true}");
	struct seen s = {0};
	assert_int_equal(json_num_check(root, rules, record, &s), 4);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.paths[0], "a[1].n must be a whole number between 0 and 10 (got -1)");
	assert_string_equal(s.paths[1],
	                    "a[4].n must be a whole number between 0 and 10 (got 1e+300)");
	assert_string_equal(s.paths[2], "b[\"p.q\"].c must be between 0 and 1 (got 2)");
	assert_string_equal(s.paths[3],
	                    "b[\"p.q\"].d[1] must be a whole number between 1 and 2 (got 3)");
	cJSON_Delete(root);
	/* not an object at all: nothing to check */
	root = num("[1, 2]");
	assert_int_equal(json_num_check(root, rules, record, &s), 0);
	cJSON_Delete(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real),
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

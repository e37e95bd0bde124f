/* test_rules.c: the scripted model's rules: order, groups, targets, fallback, errors, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rx.h"
#include "llm/rules.h"

static struct rules *parse_ok(const char *json)
{
	struct err e = {{0}};
	struct rules *r = rules_parse(json, "t.json", &e);
	if (!r)
		fail_msg("rules_parse: %s", e.msg);
	return r;
}

/* The reply to a single user message. */
static char *ask(const struct rules *r, const char *user)
{
	struct llm_message m = {"user", user};
	return rules_reply(r, &m, 1, NULL);
}

static void assert_reply(const struct rules *r, const char *user, const char *want)
{
	char *got = ask(r, user);
	assert_string_equal(got, want);
	free(got);
}

static void assert_parse_error(const char *json, const char *needle)
{
	struct err e = {{0}};
	struct rules *r = rules_parse(json, "bad.json", &e);
	assert_null(r);
	if (!strstr(e.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_first_match_wins(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": ["
	                           " {\"match\": \"hello\", \"reply\": \"first\"},"
	                           " {\"match\": \"hello world\", \"reply\": \"second\"},"
	                           " {\"match\": \"bye\", \"reply\": \"third\", \"delay_ms\": 25}],"
	                           " \"fallback\": \"none\"}");
	assert_int_equal(rules_count(r), 3);
	assert_reply(r, "hello world", "first");
	assert_reply(r, "say bye", "third");
	assert_reply(r, "nothing here", "none");

	struct llm_message m = {"user", "bye"};
	unsigned delay = 99;
	int rule = -5;
	char *s = rules_reply_ex(r, &m, 1, &delay, &rule);
	assert_string_equal(s, "third");
	assert_int_equal(delay, 25);
	assert_int_equal(rule, 2);
	free(s);
	m.content = "zzz";
	s = rules_reply_ex(r, &m, 1, &delay, &rule);
	assert_int_equal(delay, 0);
	assert_int_equal(rule, -1);
	free(s);
	rules_free(r);
}

static void test_groups(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": [{\"match\": \"(\\\\w+) plus (\\\\w+)(!)?\","
	                           " \"reply\": \"$2+$1 ${1} [$3] $$5 $x $0 ${10\"}]}");
	assert_reply(r, "say two plus three", "three+two two [] $5 $x two plus three ${10");
	assert_reply(r, "one plus one!", "one+one one [!] $5 $x one plus one! ${10");
	rules_free(r);
}

static void test_named_groups(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": [{\"match\": \"capital of (?<country>\\\\w+)\","
	                           " \"flags\": \"i\", \"reply\": \"${country}: Paris ($1)\"}]}");
	assert_reply(r, "What is the CAPITAL OF France?", "France: Paris (France)");
	rules_free(r);
}

static void test_on_system_and_all(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": ["
	                           " {\"match\": \"You are a (\\\\w+)\", \"on\": \"system\","
	                           "  \"reply\": \"as $1\"},"
	                           " {\"match\": \"assistant: (\\\\w+)\\\\n\\\\nuser: (\\\\w+)\","
	                           "  \"on\": \"all\", \"reply\": \"after $1 came $2\"}],"
	                           " \"fallback\": \"fb\"}");
	struct llm_message conv[] = {
	    {"system", "You are a pirate"},
	    {"user", "hi"},
	};
	char *s = rules_reply(r, conv, 2, NULL);
	assert_string_equal(s, "as pirate");
	free(s);

	struct llm_message conv2[] = {
	    {"user", "ping"},
	    {"assistant", "pong"},
	    {"user", "again"},
	};
	s = rules_reply(r, conv2, 3, NULL);
	assert_string_equal(s, "after pong came again");
	free(s);
	/* "system" must not look at user text, "last_user" only at the last user message */
	assert_reply(r, "You are a cat", "fb");
	rules_free(r);

	r = parse_ok("{\"rules\": [{\"match\": \"first\", \"reply\": \"saw first\"}]}");
	struct llm_message conv3[] = {
	    {"user", "first"},
	    {"assistant", "ok"},
	    {"user", "second"},
	};
	s = rules_reply(r, conv3, 3, NULL);
	assert_string_equal(s, "[scripted] no rule matched");
	free(s);
	rules_free(r);
}

static void test_fallback_and_empty(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"fallback\": \"$1 literal\"}");
	assert_reply(r, "x", "$1 literal");
	rules_free(r);
	r = parse_ok("{\"rules\": []}");
	assert_reply(r, "x", "[scripted] no rule matched");
	rules_free(r);
	/* no user message at all: last_user rules are skipped, even ones matching "" */
	r = parse_ok("{\"rules\": [{\"match\": \"^$\", \"reply\": \"empty\"}]}");
	struct llm_message sys = {"system", "s"};
	char *s = rules_reply(r, &sys, 1, NULL);
	assert_string_equal(s, "[scripted] no rule matched");
	free(s);
	assert_reply(r, "", "empty");
	rules_free(r);
}

static void test_replies_deterministic(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": [{\"match\": \"q(\\\\d+)\","
	                           " \"replies\": [\"a$1\", \"b$1\", \"c$1\"]}]}");
	bool seen[3] = {false, false, false};
	char q[32];
	for (int i = 0; i < 60; i++) {
		snprintf(q, sizeof q, "q%d", i);
		char *x = ask(r, q), *y = ask(r, q);
		assert_string_equal(x, y); /* same request, same answer */
		assert_string_equal(x + 1, q + 1);
		assert_true(x[0] >= 'a' && x[0] <= 'c');
		seen[x[0] - 'a'] = true;
		free(x);
		free(y);
	}
	assert_true(seen[0] && seen[1] && seen[2]); /* different requests vary */
	rules_free(r);
}

/* "pick": the reply follows what the template captures, whatever else the request says. */
static void test_replies_pick(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": [{\"match\": \"word (?<w>\\\\w+)\","
	                           " \"pick\": \"S1 ${w}\", \"replies\": [\"${w}\", \"none\"]}]}");
	int lost = 0, varied = 0;
	char q[64], q2[64];
	for (int i = 0; i < 60; i++) {
		snprintf(q, sizeof q, "Step one.\nword w%d", i);
		snprintf(q2, sizeof q2, "Word only.\nStep one.\nword w%d", i);
		char *x = ask(r, q), *y = ask(r, q2);
		assert_string_equal(x, y); /* the same word, the same reply */
		lost += !strcmp(x, "none");
		free(x);
		free(y);
	}
	assert_true(lost > 10 && lost < 50); /* different words vary */
	struct rules *plain = parse_ok("{\"rules\": [{\"match\": \"word (?<w>\\\\w+)\","
	                               " \"replies\": [\"${w}\", \"none\"]}]}");
	for (int i = 0; i < 60; i++) {
		snprintf(q, sizeof q, "Step one.\nword w%d", i);
		snprintf(q2, sizeof q2, "Word only.\nStep one.\nword w%d", i);
		char *x = ask(plain, q), *y = ask(plain, q2);
		varied += strcmp(x, y) != 0;
		free(x);
		free(y);
	}
	assert_true(varied > 10); /* without it, the whole request chooses */
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"pick\": 3, \"replies\": [\"x\"]}]}",
	                   "\"pick\" must be a template string");
	assert_parse_error(
	    "{\"rules\": [{\"match\": \"a\", \"pick\": \"${w}\", \"replies\": [\"x\"]}]}",
	    "rule 0: \"pick\" refers to ${w}, a group the pattern does not have");
	rules_free(plain);
	rules_free(r);
}

static void test_bad_json(void **state)
{
	(void)state;
	assert_parse_error("{\"rules\": [\n{\"match\": }",
	                   "bad.json:2:11: not a rules file: invalid JSON");
	assert_parse_error("[1, 2]", "bad.json:1: expected an object");
	assert_parse_error("{\"rules\": {}}", "expected an object with a \"rules\" array");
	assert_parse_error("{\"fallback\": 3}", "\"fallback\" must be a string");
	assert_parse_error("{\"rules\": [{\"reply\": \"x\"}]}", "rule 0: needs \"match\"");
	assert_parse_error(
	    "{\"rules\": [{\"match\": \"a\", \"reply\": \"x\"}, {\"match\": \"b\"}]}",
	    "bad.json:1: rule 1: needs \"reply\"");
	assert_parse_error(
	    "{\"rules\": [{\"match\": \"a\", \"reply\": \"x\", \"replies\": [\"y\"]}]}",
	    "not both");
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"replies\": [3]}]}",
	                   "a reply must be a string");
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"on\": \"user\", \"reply\": \"x\"}]}",
	                   "\"on\": unknown value \"user\"");
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"flags\": \"q\", \"reply\": \"x\"}]}",
	                   "unknown flag 'q'");
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"delay_ms\": -1, \"reply\": \"x\"}]}",
	                   "delay_ms");
}

/* A rules path may name any file: what does not parse is never quoted, and a problem in a
 * rule names its line. */
static void test_errors_quote_nothing(void **state)
{
	(void)state;
	struct err e = {{0}};
	assert_null(rules_parse("root:x:0:0:secret-word:/root:/bin/bash\n", "passwd", &e));
	assert_string_equal(e.msg, "passwd:1:1: not a rules file: invalid JSON (expected an object "
	                           "with a \"rules\" array)");
	assert_null(strstr(e.msg, "root:x"));
	assert_null(rules_parse("{\"rules\": [\n  {\"match\": \"a\", \"reply\": \"x\"},\n\n"
	                        "  {\"match\": \"b\"}\n]}",
	                        "r.json", &e));
	assert_string_equal(e.msg, "r.json:4: rule 1: needs \"reply\" (a string) or \"replies\" (a "
	                           "non-empty array)");
}

static void test_bad_regex_and_refs(void **state)
{
	(void)state;
	assert_parse_error("{\"rules\": [{\"match\": \"ok\", \"reply\": \"x\"},"
	                   " {\"match\": \"(a\", \"reply\": \"x\"}]}",
	                   "bad.json:1: rule 1: invalid regex \"(a\": missing closing parenthesis");
	assert_parse_error("{\"rules\": [{\"match\": \"(a)\", \"reply\": \"$2\"}]}",
	                   "rule 0: reply refers to $2 but the pattern has 1 group");
	assert_parse_error("{\"rules\": [{\"match\": \"(?<x>a)\", \"reply\": \"${y}\"}]}",
	                   "${y}, a group the pattern does not have");
	assert_parse_error("{\"rules\": [{\"match\": \"a\", \"replies\": [\"ok\", \"${3}\"]}]}",
	                   "${3}");
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_rules_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "{\"rules\": [{\"match\": \"(?s)(.*)\", \"reply\": \"echo: $1\"}]}";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct err e = {{0}};
	struct rules *r = rules_load(path, &e);
	assert_non_null(r);
	assert_reply(r, "a\nb", "echo: a\nb");
	rules_free(r);
	unlink(path);
	assert_null(rules_load(path, &e));
	assert_non_null(strstr(e.msg, path));
}

static void test_backtracking_limit(void **state)
{
	(void)state;
	struct rules *r = parse_ok("{\"rules\": ["
	                           " {\"match\": \"^(a+)+$\", \"reply\": \"catastrophe\"},"
	                           " {\"match\": \"^a\", \"reply\": \"next rule\"}],"
	                           " \"fallback\": \"fb\"}");
	rx_set_limits(20000, 1000);
	char subject[64];
	memset(subject, 'a', 40);
	strcpy(subject + 40, "b");
	int64_t t0 = now_ms();
	assert_reply(r, subject, "next rule");
	assert_true(now_ms() - t0 < 10000);    /* stopped by the limit (loose: shared machines) */
	assert_reply(r, "aaa", "catastrophe"); /* cheap inputs still match */
	rx_set_limits(1000000, 10000);
	rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_match_wins),   cmocka_unit_test(test_groups),
	    cmocka_unit_test(test_named_groups),       cmocka_unit_test(test_on_system_and_all),
	    cmocka_unit_test(test_fallback_and_empty), cmocka_unit_test(test_replies_deterministic),
	    cmocka_unit_test(test_replies_pick),       cmocka_unit_test(test_bad_json),
	    cmocka_unit_test(test_bad_regex_and_refs), cmocka_unit_test(test_errors_quote_nothing),
	    cmocka_unit_test(test_load_file),          cmocka_unit_test(test_backtracking_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

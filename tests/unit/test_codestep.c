/* test_codestep.c: every code step kind run through codestep_run: template, regex (extract,
 * extract every match, substitute), a catastrophic regex stopped by the limits, retrieve over a
 * corpus and over per-example passages, exec refused without trust, exec with trust, its timeout
 * and a failing command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/codestep.h"
#include "testdir.h"

static const char session_text[] =
    "{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
    " \"pipeline\": {\"steps\": [\n"
    "  {\"id\": \"tpl\", \"type\": \"template\", \"template\": \"Q: {{input.question}}\"},\n"
    "  {\"id\": \"first\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\",\n"
    "   \"pattern\": \"(\\\\d+) (\\\\w+)\", \"group\": 2},\n"
    "  {\"id\": \"whole\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\", \"pattern\": "
    "\"\\\\d+\"},\n"
    "  {\"id\": \"all\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\",\n"
    "   \"pattern\": \"(\\\\d+)\", \"global\": true},\n"
    "  {\"id\": \"sub1\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\",\n"
    "   \"pattern\": \"(\\\\d+)\", \"replace\": \"<$1>\"},\n"
    "  {\"id\": \"suball\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\",\n"
    "   \"pattern\": \"(?<n>\\\\d+)\", \"replace\": \"#${n}\", \"global\": true},\n"
    "  {\"id\": \"evil\", \"type\": \"regex\", \"source\": \"{{steps.tpl}}\", \"pattern\": "
    "\"^(a+)+$\"},\n"
    "  {\"id\": \"corpus\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\",\n"
    "   \"corpus\": \"corpus.jsonl\", \"k\": 2},\n"
    "  {\"id\": \"passages\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\",\n"
    "   \"passages\": \"input.ctx\", \"k\": 1},\n"
    "  {\"id\": \"cat\", \"type\": \"exec\", \"command\": [\"cat\"], \"input\": "
    "\"{{steps.tpl}}\"},\n"
    "  {\"id\": \"upper\", \"type\": \"exec\", \"command\": [\"tr\", \"a-z\", \"A-Z\"]},\n"
    "  {\"id\": \"slow\", \"type\": \"exec\", \"command\": [\"sleep\", \"5\"], \"timeout_ms\": "
    "200},\n"
    "  {\"id\": \"fails\", \"type\": \"exec\", \"command\": [\"sh\", \"-c\", \"echo broken >&2; "
    "exit 3\"]},\n"
    "  {\"id\": \"nosuch\", \"type\": \"exec\", \"command\": [\"/nonexistent/adopt-cmd\"]}\n"
    " ]},\n"
    " \"dataset\": {\"val\": [\n"
    "   {\"question\": \"capital of France\", \"answer\": \"Paris\",\n"
    "    \"ctx\": [\"Berlin is in Germany.\", \"Paris is the capital of France.\"]},\n"
    "   {\"question\": \"capital\", \"answer\": \"x\", \"ctx\": \"a single passage about a "
    "capital\"}]},\n"
    " \"metric\": {\"type\": \"exact_match\"}}\n";

static int setup(void **state)
{
	if (testdir_setup(state) < 0)
		return -1;
	put("corpus.jsonl",
	    "{\"title\": \"France\", \"text\": \"Paris is the capital of France.\"}\n"
	    "{\"title\": \"Germany\", \"text\": \"Berlin is the capital of Germany.\"}\n"
	    "{\"text\": \"The Seine flows through Paris, France.\"}\n"
	    "{\"text\": \"Nothing relevant here.\"}\n");
	return 0;
}

/* Runs step `id` of a fresh session on `text`; returns the rc, fills *out and e. */
static int run(const char *id, const char *text, bool trust, size_t example, struct step_out *out,
               struct err *e)
{
	struct session *s = load_ok(session_text);
	const struct step *st = session_step(s, id);
	assert_non_null(st);
	struct codestep_env env = {trust, &s->data.splits[SPLIT_VAL].ex[example]};
	int rc = codestep_run(st, text, &env, out, e);
	session_free(s);
	return rc;
}

static void run_ok(const char *id, const char *text, bool trust, struct step_out *out)
{
	struct err e = {""};
	if (run(id, text, trust, 0, out, &e) != 0)
		fail_msg("step %s: %s", id, e.msg);
}

static void test_template(void **state)
{
	(void)state;
	struct step_out o = {0};
	run_ok("tpl", "Q: rendered already", false, &o);
	assert_string_equal(o.text, "Q: rendered already");
	assert_int_equal(o.n_items, 0);
	step_out_free(&o);
	/* an LLM step is not a code step */
	struct session *s =
	    load_ok("{\"format\": \"adopt-session\", \"version\": 1, \"models\": "
	            "{\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	            "\"pipeline\": {\"steps\": [{\"id\": \"l\", \"prompt\": \"p\"}]},\n"
	            "\"dataset\": {\"val\": [{\"answer\": \"a\"}]}, \"metric\": "
	            "{\"type\": \"f1\"}}");
	struct codestep_env env = {false, NULL};
	struct err e = {""};
	assert_int_equal(codestep_run(&s->steps[0], "x", &env, &o, &e), -1);
	assert_string_equal(e.msg, "step \"l\" is not a code step");
	session_free(s);
}

static void test_regex(void **state)
{
	(void)state;
	struct step_out o = {0};
	run_ok("first", "take 12 apples and 7 pears", false, &o);
	assert_string_equal(o.text, "apples");
	step_out_free(&o);
	run_ok("first", "no numbers", false, &o); /* no match: empty */
	assert_string_equal(o.text, "");
	step_out_free(&o);
	run_ok("whole", "take 12 apples and 7 pears", false, &o); /* no group: the match */
	assert_string_equal(o.text, "12");
	step_out_free(&o);

	run_ok("all", "1, 22 and 333", false, &o);
	assert_int_equal(o.n_items, 3);
	assert_string_equal(o.items[0], "1");
	assert_string_equal(o.items[2], "333");
	assert_string_equal(o.text, "1\n22\n333");
	step_out_free(&o);
	run_ok("all", "none", false, &o);
	assert_int_equal(o.n_items, 0);
	assert_string_equal(o.text, "");
	step_out_free(&o);

	run_ok("sub1", "a 1 b 2", false, &o);
	assert_string_equal(o.text, "a <1> b 2");
	step_out_free(&o);
	run_ok("suball", "a 1 b 22 \xc3\xa9 3", false, &o);
	assert_string_equal(o.text, "a #1 b #22 \xc3\xa9 #3");
	step_out_free(&o);
}

static void test_catastrophic_regex(void **state)
{
	(void)state;
	/* ^(a+)+$ on "aaaa...ab" backtracks exponentially; the limits stop it with an error */
	char subject[4096];
	memset(subject, 'a', sizeof subject - 2);
	subject[sizeof subject - 2] = 'b';
	subject[sizeof subject - 1] = '\0';
	struct step_out o = {0};
	struct err e = {""};
	double t0 = now_s();
	int rc = run("evil", subject, false, 0, &o, &e);
	double dt = now_s() - t0;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "regex \"^(a+)+$\" gave up: backtracking limit reached"));
	assert_true(dt <
	            10.0); /* stopped by the limit, not by finishing: loose on a shared machine */
	step_out_free(&o);
	/* a harmless subject still matches */
	run_ok("evil", "aaaa", false, &o);
	assert_string_equal(o.text, "aaaa"); /* group 1: the greedy a+ */
	step_out_free(&o);
}

static void test_retrieve(void **state)
{
	(void)state;
	struct step_out o = {0};
	run_ok("corpus", "What is the capital of France?", false, &o);
	assert_int_equal(o.n_items, 2);
	assert_string_equal(o.items[0], "France: Paris is the capital of France.");
	/* "capital" and the small words outweigh a single "France" */
	assert_string_equal(o.text, "France: Paris is the capital of France.\nGermany: Berlin is "
	                            "the capital of Germany.");
	step_out_free(&o);
	run_ok("corpus", "zzz qqq", false, &o); /* nothing shares a term */
	assert_int_equal(o.n_items, 0);
	assert_string_equal(o.text, "");
	step_out_free(&o);
	/* per-example passages: a list field */
	run_ok("passages", "capital of France", false, &o);
	assert_int_equal(o.n_items, 1);
	assert_string_equal(o.items[0], "Paris is the capital of France.");
	step_out_free(&o);
	/* a plain string field counts as one passage */
	struct err e = {""};
	assert_int_equal(run("passages", "capital", false, 1, &o, &e), 0);
	assert_int_equal(o.n_items, 1);
	assert_string_equal(o.items[0], "a single passage about a capital");
	step_out_free(&o);
	/* an example without the field */
	struct session *s = load_ok(session_text);
	struct example bare = {.id = "bare"};
	struct codestep_env env = {false, &bare};
	assert_int_equal(codestep_run(session_step(s, "passages"), "q", &env, &o, &e), -1);
	assert_string_equal(e.msg, "this example has no \"ctx\" field to retrieve from");
	session_free(s);
}

static void test_exec_untrusted(void **state)
{
	(void)state;
	struct step_out o = {0};
	struct err e = {""};
	assert_int_equal(run("cat", "hello", false, 0, &o, &e), -1);
	assert_string_equal(e.msg,
	                    "step \"cat\" runs the command \"cat\"; refusing without --trust "
	                    "(a session file from someone else must not run commands)");
	assert_null(o.text);
}

static void test_exec_trusted(void **state)
{
	(void)state;
	struct step_out o = {0};
	run_ok("cat", "  hello\nworld \n", true, &o);
	assert_string_equal(o.text, "hello\nworld"); /* trimmed */
	step_out_free(&o);
	run_ok("upper", "shout", true, &o);
	assert_string_equal(o.text, "SHOUT");
	step_out_free(&o);
	run_ok("cat", "", true, &o);
	assert_string_equal(o.text, "");
	step_out_free(&o);
}

static void test_exec_failures(void **state)
{
	(void)state;
	struct step_out o = {0};
	struct err e = {""};
	double t0 = now_s();
	assert_int_equal(run("slow", "", true, 0, &o, &e), -1);
	assert_true(now_s() - t0 < 3.0);
	assert_string_equal(e.msg, "command \"sleep\" timed out after 200 ms");
	assert_int_equal(run("fails", "", true, 0, &o, &e), -1);
	assert_string_equal(e.msg, "command \"sh\" exited with status 3: broken\n");
	assert_int_equal(run("nosuch", "", true, 0, &o, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/adopt-cmd"));
	assert_null(o.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, testdir_teardown)
	    T(test_template),      T(test_regex),          T(test_catastrophic_regex),
	    T(test_retrieve),      T(test_exec_untrusted), T(test_exec_trusted),
	    T(test_exec_failures),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pipeline.c: the pipeline graph: dependencies derived from templates, the execution order
 * (topological, stable in file order), loops as blocks, the default output step. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdir.h"

/* A session with the given steps (and more pipeline keys in extra). */
static struct session *load_steps(const char *steps, const char *extra)
{
	char *text =
	    xasprintf("{\"format\": \"adopt-session\", \"version\": 1,\n"
	              " \"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	              " \"pipeline\": {\"steps\": [\n%s\n]%s},\n"
	              " \"dataset\": {\"val\": [{\"question\": \"q\", \"answer\": \"a\"}]},\n"
	              " \"metric\": {\"type\": \"exact_match\"}}\n",
	              steps, extra ? extra : "");
	struct session *s = load_ok(text);
	free(text);
	return s;
}

#define TPL(id, text) "{\"id\": \"" id "\", \"type\": \"template\", \"template\": \"" text "\"}"

/* The order as a string: step ids, a loop as "[id id]" in round order. */
static char *order_str(const struct session *s)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < s->n_order; i++) {
		if (i)
			sbuf_addc(&b, ' ');
		if (s->order[i].step >= 0) {
			assert_int_equal(s->order[i].loop, -1);
			sbuf_adds(&b, s->steps[s->order[i].step].id);
			continue;
		}
		const struct loop *lp = &s->loops[s->order[i].loop];
		sbuf_addc(&b, '[');
		for (size_t k = 0; k < lp->n_steps; k++)
			sbuf_addf(&b, "%s%s", k ? " " : "", s->steps[lp->steps[k]].id);
		sbuf_addc(&b, ']');
	}
	return sbuf_take(&b);
}

static void assert_order(const struct session *s, const char *want)
{
	char *got = order_str(s);
	if (strcmp(got, want) != 0) {
		print_message("order: got \"%s\", want \"%s\"\n", got, want);
		free(got);
		fail();
	}
	free(got);
}

static char *deps_str(const struct session *s, const char *id)
{
	const struct step *st = session_step(s, id);
	assert_non_null(st);
	struct sbuf b = {0};
	for (size_t i = 0; i < st->n_deps; i++)
		sbuf_addf(&b, "%s%s", i ? " " : "", s->steps[st->deps[i]].id);
	return sbuf_take(&b);
}

#define assert_deps(s, id, want)                                                                   \
	do {                                                                                       \
		char *d_ = deps_str((s), (id));                                                    \
		assert_string_equal(d_, (want));                                                   \
		free(d_);                                                                          \
	} while (0)

static void test_file_order_kept(void **state)
{
	(void)state;
	/* independent steps run in file order */
	struct session *s = load_steps(TPL("x", "1") ",\n" TPL("y", "2") ",\n" TPL("z", "3"), NULL);
	assert_order(s, "x y z");
	assert_int_equal(s->output_step, 2); /* the last step */
	session_free(s);
}

static void test_topological(void **state)
{
	(void)state;
	/* written backwards: each reads the next one in the file */
	struct session *s =
	    load_steps(TPL("c", "{{steps.b}}") ",\n" TPL("b", "{{steps.a.output}}") ",\n" TPL(
	                   "a", "{{input.question}}"),
	               NULL);
	assert_order(s, "a b c");
	assert_int_equal(s->output_step, session_step_index(s, "c"));
	session_free(s);
	/* stable: among ready steps the earliest in the file goes first */
	s = load_steps(
	    TPL("a", "1") ",\n" TPL("b", "{{steps.d}}") ",\n" TPL("c", "3") ",\n" TPL("d", "4"),
	    NULL);
	assert_order(s, "a c d b");
	session_free(s);
	/* a diamond */
	s = load_steps(
	    TPL("join", "{{steps.left}} {{steps.right}}") ",\n" TPL(
	        "right",
	        "{{steps.root}}") ",\n" TPL("left",
	                                    "{{steps.root}}") ",\n" TPL("root",
	                                                                "{{input.question}}"),
	    NULL);
	assert_order(s, "root right left join");
	assert_deps(s, "join", "left right");
	session_free(s);
}

static void test_deps(void **state)
{
	(void)state;
	struct session *s = load_steps(
	    TPL("a", "{{input.question}}") ",\n" TPL(
	        "b", "{{steps.a}}") ",\n"
	                            "{\"id\": \"c\", \"system\": \"{{steps.b.output}}\",\n"
	                            " \"prompt\": \"{{x}} {{y}} {{steps.a.output}} {{steps.a}}\",\n"
	                            " \"inputs\": {\"x\": \"steps.a.output\", \"y\": "
	                            "\"input.question\"}}",
	    NULL);
	assert_deps(s, "a", "");
	assert_deps(s, "b", "a");
	/* the prompt first, then the system message; inputs resolved; no duplicates */
	assert_deps(s, "c", "a b");
	session_free(s);
}

static void test_loop_block(void **state)
{
	(void)state;
	/* pre -> loop [gen, judge] (gen reads judge's previous round) -> post */
	struct session *s = load_steps(
	    TPL("post", "{{steps.judge}}") ",\n" TPL(
	        "gen", "{{steps.pre}} {{steps.judge}} "
	               "{{round}}") ",\n" TPL("judge",
	                                      "{{steps.gen}}") ",\n" TPL("pre", "{{input.question}"
	                                                                        "}") ",\n" TPL("sid"
	                                                                                       "e",
	                                                                                       "s"),
	    ",\n\"loops\": [{\"id\": \"refine\", \"steps\": [\"gen\", \"judge\"], \"max_rounds\": "
	    "4, "
	    "\"until\": {\"pattern\": \"^ok$\"}}],\n\"output\": \"post\"");
	assert_order(s, "pre [gen judge] post side");
	const struct loop *lp = &s->loops[0];
	assert_int_equal(lp->max_rounds, 4);
	assert_int_equal(lp->until_step, session_step_index(s, "judge")); /* default: last */
	assert_int_equal(session_step(s, "gen")->loop, 0);
	assert_int_equal(session_step(s, "pre")->loop, -1);
	assert_deps(s, "gen", "pre judge");
	assert_int_equal(s->output_step, session_step_index(s, "post"));
	session_free(s);

	/* round order is the loop's "steps" order, not the file order; a loop at the end gives the
	 * default output: its last step in round order */
	s = load_steps(TPL("b", "{{steps.a}}") ",\n" TPL("a", "{{steps.b}} {{round}}") ",\n" TPL(
	                   "first", "{{input.question}}"),
	               ",\n\"loops\": [{\"id\": \"l\", \"steps\": [\"a\", \"b\"]}]");
	assert_order(s, "[a b] first");
	assert_int_equal(s->loops[0].max_rounds, 2); /* the default */
	assert_null(s->loops[0].until);
	assert_int_equal(s->output_step, session_step_index(s, "first"));
	session_free(s);

	s = load_steps(TPL("first", "{{input.question}}") ",\n" TPL("b", "{{steps.a}}") ",\n" TPL(
	                   "a", "{{steps.first}} {{steps.b}}"),
	               ",\n\"loops\": [{\"id\": \"l\", \"steps\": [\"a\", \"b\"]}]");
	assert_order(s, "first [a b]");
	assert_int_equal(s->output_step, session_step_index(s, "b"));
	session_free(s);
}

static void test_two_loops(void **state)
{
	(void)state;
	/* the second loop reads the first; a step may read itself inside a loop */
	struct session *s = load_steps(
	    TPL("l2", "{{steps.l2}} {{steps.l1.rounds}}") ",\n" TPL("l1", "{{steps.l1}} {{round}}"),
	    ",\n\"loops\": [{\"id\": \"second\", \"steps\": [\"l2\"]}, {\"id\": \"first\", "
	    "\"steps\": [\"l1\"]}]");
	assert_order(s, "[l1] [l2]");
	assert_deps(s, "l2", "l2 l1");
	session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, testdir_setup, testdir_teardown)
	    T(test_file_order_kept), T(test_topological), T(test_deps),
	    T(test_loop_block),      T(test_two_loops),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_beside.c: work beside the loop (llm/beside.h): the child's answer reaches done through
 * llm_wait whole (larger than a pipe's buffer, so read in pieces), the child's changes stay in
 * the child, a child that dies gives NULL (died), cancelling and llm_free kill it and give NULL
 * (not died), and every child is reaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llm/beside.h"

#define BIG 300000 /* bytes: several pipe buffers */

struct got {
	int calls;
	bool died;
	char *data;
	size_t n;
};

static int touched; /* what the child changes */

static void work_big(void *arg, struct sbuf *out)
{
	touched = *(int *)arg;
	for (size_t i = 0; i < BIG; i++)
		sbuf_addc(out, (char)('a' + i % 26));
}

static void work_dies(void *arg, struct sbuf *out)
{
	(void)arg;
	sbuf_adds(out, "half an answer");
	_exit(3); /* before writing it */
}

static void work_hangs(void *arg, struct sbuf *out)
{
	(void)arg, (void)out;
	for (;;)
		pause();
}

static void done(void *arg, const char *data, size_t n, bool died)
{
	struct got *g = arg;
	g->calls++;
	g->died = died;
	g->n = n;
	g->data = data ? memcpy(malloc(n + 1), data, n) : NULL;
}

static struct llm *new_llm(void)
{
	struct llm_options o = {.no_cache = true};
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	assert_non_null(l);
	return l;
}

static void wait_done(struct llm *l, struct got *g)
{
	for (int i = 0; i < 600 && !g->calls; i++) /* at most a minute on a loaded machine */
		llm_wait(l, NULL, 0, 100);
}

static void assert_reaped(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_answer(void **state)
{
	(void)state;
	struct llm *l = new_llm();
	struct got g = {0};
	int value = 7;
	struct err e = {{0}};
	assert_true(llm_beside(l, work_big, &value, done, &g, &e) != 0);
	assert_int_equal(llm_pending(l), 1);
	wait_done(l, &g);
	assert_int_equal(g.calls, 1);
	assert_non_null(g.data);
	assert_int_equal(g.n, BIG);
	for (size_t i = 0; i < BIG; i++)
		if (g.data[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	assert_int_equal(touched, 0); /* the child's change stayed there */
	assert_int_equal(llm_pending(l), 0);
	assert_reaped();
	free(g.data);
	llm_free(l);
}

static void test_child_dies(void **state)
{
	(void)state;
	struct llm *l = new_llm();
	struct got g = {0};
	struct err e = {{0}};
	assert_true(llm_beside(l, work_dies, NULL, done, &g, &e) != 0);
	wait_done(l, &g);
	assert_int_equal(g.calls, 1);
	assert_null(g.data);
	assert_int_equal(g.n, 0);
	assert_true(g.died);
	assert_reaped();
	llm_free(l);
}

static void test_cancel_and_free(void **state)
{
	(void)state;
	struct llm *l = new_llm();
	struct got g1 = {0}, g2 = {0};
	struct err e = {{0}};
	uint64_t id = llm_beside(l, work_hangs, NULL, done, &g1, &e);
	assert_true(id != 0);
	assert_true(llm_beside(l, work_hangs, NULL, done, &g2, &e) != 0);
	llm_wait(l, NULL, 0, 10);
	assert_int_equal(g1.calls + g2.calls, 0);
	llm_source_cancel(l, id);
	assert_int_equal(g1.calls, 1);
	assert_null(g1.data);
	assert_false(g1.died); /* cancelled, not dead */
	assert_int_equal(llm_pending(l), 1);
	llm_free(l); /* the other one: killed, reaped, told */
	assert_int_equal(g2.calls, 1);
	assert_null(g2.data);
	assert_false(g2.died);
	assert_reaped();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_child_dies),
	    cmocka_unit_test(test_cancel_and_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_beside.c: work beside the loop (llm/beside.h): the child's answer reaches done through
 * llm_wait whole (larger than a pipe's buffer, so read in pieces), the child's changes stay in
 * the child, a child that dies gives NULL (died), cancelling and llm_free kill it and give NULL
 * (not died), every child is reaped, and a child dies with its parent (killed, or gone without
 * a word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
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

static void work_says_pid_hangs(void *arg, struct sbuf *out)
{
	(void)out;
	pid_t me = getpid();
	if (write(*(int *)arg, &me, sizeof me) != (ssize_t)sizeof me)
		_exit(1);
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

/* Whether process pid is gone: no such process, or a zombie its new parent has not reaped. */
static bool gone(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	char path[64], buf[256] = {0};
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	const char *paren = n ? strrchr(buf, ')') : NULL;
	return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

/* A parent that leaves without cancelling (killed, crashed): its copy, which holds the parent's
 * descriptors (the session's lock among them), dies with it instead of working on. */
static void test_dies_with_parent(void **state)
{
	(void)state;
	int q[2];
	assert_int_equal(pipe(q), 0);
	pid_t parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		close(q[0]);
		struct llm *l = new_llm();
		struct got g = {0};
		struct err e = {{0}};
		if (!llm_beside(l, work_says_pid_hangs, &q[1], done, &g, &e))
			_exit(2);
		sleep(1); /* the copy says its pid meanwhile */
		_exit(0); /* no cancel, no llm_free: as if killed */
	}
	close(q[1]);
	pid_t copy = 0;
	assert_int_equal(read(q[0], &copy, sizeof copy), (ssize_t)sizeof copy);
	close(q[0]);
	int status;
	assert_int_equal(waitpid(parent, &status, 0), parent);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	bool dead = false;
	for (int i = 0; i < 100 && !(dead = gone(copy)); i++)
		usleep(50 * 1000);
	if (!dead)
		kill(copy, SIGKILL);
	assert_true(dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_child_dies),
	    cmocka_unit_test(test_cancel_and_free),
	    cmocka_unit_test(test_dies_with_parent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

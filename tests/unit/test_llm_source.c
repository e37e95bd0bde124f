/* test_llm_source.c: event sources in the LLM layer's loop (llm_source_add): a descriptor wakes
 * llm_wait and dispatches its source, a due time wakes it without any descriptor, sources that
 * cancel others, themselves or add new ones from their dispatch, llm_cancel_all and llm_free
 * cancelling what is left, and llm_pending counting live sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "llm/llm.h"

struct src {
	struct llm *l;
	int fd;      /* to poll for POLLIN, or -1 */
	int64_t due; /* -1: none */
	int dispatched, cancelled;
	bool finish; /* dispatch returns false */
	uint64_t id;
	uint64_t kill;   /* a source to cancel from dispatch (0: none) */
	bool kill_self;  /* cancel itself from dispatch */
	struct src *add; /* a source to add from dispatch */
};

static unsigned src_prepare(void *arg, struct pollfd *fds, int64_t *due_ms);
static bool src_dispatch(void *arg, const struct pollfd *fds, unsigned n);

static void src_cancel(void *arg)
{
	((struct src *)arg)->cancelled++;
}

static const struct llm_source_ops ops = {src_prepare, src_dispatch, src_cancel};

static unsigned src_prepare(void *arg, struct pollfd *fds, int64_t *due_ms)
{
	struct src *s = arg;
	*due_ms = s->due;
	if (s->fd < 0)
		return 0;
	fds[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	return 1;
}

static bool src_dispatch(void *arg, const struct pollfd *fds, unsigned n)
{
	struct src *s = arg;
	s->dispatched++;
	if (n) {
		assert_int_equal(fds[0].fd, s->fd);
		if (fds[0].revents & POLLIN) {
			char c;
			assert_int_equal(read(s->fd, &c, 1), 1);
		}
	}
	s->due = -1;
	if (s->kill)
		llm_source_cancel(s->l, s->kill);
	if (s->kill_self)
		llm_source_cancel(s->l, s->id);
	if (s->add)
		s->add->id = llm_source_add(s->l, &ops, s->add);
	return !s->finish;
}

static struct llm *new_llm(void)
{
	struct llm_options o = {.no_cache = true};
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	assert_non_null(l);
	return l;
}

static void test_fd_and_due(void **state)
{
	(void)state;
	struct llm *l = new_llm();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct src a = {.l = l, .fd = p[0], .due = -1, .finish = true};
	/* due far enough ahead that a slow machine (or valgrind) gets to the first wait before */
	struct src t = {.l = l, .fd = -1, .due = now_ms() + 500, .finish = true};
	a.id = llm_source_add(l, &ops, &a);
	t.id = llm_source_add(l, &ops, &t);
	assert_true(a.id && t.id && a.id != t.id);
	assert_int_equal(llm_pending(l), 2);
	/* nothing ready, nothing due yet: not dispatched */
	assert_int_equal(llm_wait(l, NULL, 0, 0), 0);
	assert_int_equal(a.dispatched + t.dispatched, 0);
	/* the due time ends a wait that would otherwise last 10 s */
	int64_t t0 = now_ms();
	assert_int_equal(llm_wait(l, NULL, 0, 10000), 0);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(t.dispatched, 1);
	assert_int_equal(a.dispatched, 0);
	assert_int_equal(llm_pending(l), 1);
	/* a byte on the pipe wakes it; a finished source is dropped, never cancelled */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(llm_wait(l, NULL, 0, 10000), 0);
	assert_int_equal(a.dispatched, 1);
	assert_int_equal(llm_pending(l), 0);
	llm_source_cancel(l, a.id); /* finished: ignored */
	llm_source_cancel(l, 12345);
	assert_int_equal(a.cancelled + t.cancelled, 0);
	/* with no source and no descriptor, a wait without a timeout returns at once */
	assert_int_equal(llm_wait(l, NULL, 0, -1), 0);
	llm_free(l);
	close(p[0]);
	close(p[1]);
}

static void test_reentrancy(void **state)
{
	(void)state;
	struct llm *l = new_llm();
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "xyz", 3), 3);
	/* three sources on a readable pipe, all dispatched by the same wake-up; sources are
	 * dispatched newest first, so c comes first: it cancels b (not dispatched any more,
	 * cancelled at once) and itself (cancelled once its dispatch has returned), and adds g,
	 * which was not polled and waits for the next wake-up */
	struct src g = {.l = l, .fd = p[0], .due = -1, .finish = true};
	struct src a = {.l = l, .fd = p[0], .due = -1, .finish = true};
	struct src b = {.l = l, .fd = p[0], .due = -1};
	struct src c = {.l = l, .fd = p[0], .due = -1, .kill_self = true};
	a.id = llm_source_add(l, &ops, &a);
	b.id = llm_source_add(l, &ops, &b);
	c.id = llm_source_add(l, &ops, &c);
	c.kill = b.id;
	c.add = &g;
	llm_wait(l, NULL, 0, 1000);
	assert_int_equal(g.dispatched, 0);
	assert_int_equal(c.dispatched, 1);
	assert_int_equal(c.cancelled, 1);
	assert_int_equal(b.dispatched, 0);
	assert_int_equal(b.cancelled, 1);
	assert_int_equal(a.dispatched, 1);
	assert_int_equal(a.cancelled, 0);
	assert_int_equal(llm_pending(l), 1);
	llm_wait(l, NULL, 0, 1000);
	assert_int_equal(g.dispatched, 1);
	assert_int_equal(llm_pending(l), 0);
	/* a source that finishes and cancels itself in the same dispatch is not cancelled */
	struct src d = {.l = l, .fd = -1, .due = 0, .finish = true, .kill_self = true};
	d.id = llm_source_add(l, &ops, &d);
	llm_wait(l, NULL, 0, 1000);
	assert_int_equal(d.dispatched, 1);
	assert_int_equal(d.cancelled, 0);
	/* llm_cancel_all and llm_free cancel what is left, once */
	struct src e = {.l = l, .fd = p[0], .due = -1};
	struct src f = {.l = l, .fd = -1, .due = -1};
	e.id = llm_source_add(l, &ops, &e);
	llm_cancel_all(l);
	assert_int_equal(e.cancelled, 1);
	assert_int_equal(llm_pending(l), 0);
	f.id = llm_source_add(l, &ops, &f);
	llm_free(l);
	assert_int_equal(f.cancelled, 1);
	assert_int_equal(e.cancelled, 1);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fd_and_due),
	    cmocka_unit_test(test_reentrancy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

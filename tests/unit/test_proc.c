/* test_proc.c: running external commands: stdin/stdout, exit statuses, errors, time limits
 * on whole process groups, output caps, stderr tails, and no leaked fds or zombies; then the
 * asynchronous runner driven by one poll loop: commands side by side, a timeout beside a quick
 * command, cancelling, big input and output in both directions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"
#include "proc_fixture.h"

#define SH(script) ((char *const[]){"sh", "-c", (script), NULL})

static void run_ok(char *const argv[], const char *input, size_t len, int timeout_ms,
                   size_t max_out, struct proc_result *res)
{
	struct err e = {""};
	if (proc_run(argv, input, len, timeout_ms, max_out, res, &e) != 0)
		fail_msg("proc_run %s: %s", argv[0], e.msg);
}

/* The lowest free fd: unchanged across runs when nothing leaks. */
static int lowest_free_fd(void)
{
	int fd = dup(2);
	close(fd);
	return fd;
}

static void test_cat_and_tr(void **state)
{
	(void)state;
	int fd0 = lowest_free_fd();
	struct proc_result r;
	run_ok((char *const[]){"cat", NULL}, "hello\nworld", 11, 5000, 1 << 20, &r);
	assert_string_equal(r.out, "hello\nworld");
	assert_int_equal(r.out_len, 11);
	assert_int_equal(r.status, 0);
	assert_false(r.timed_out);
	assert_false(r.truncated);
	assert_string_equal(r.err_tail, "");
	proc_result_free(&r);

	run_ok((char *const[]){"tr", "a-z", "A-Z", NULL}, "abc xyz", 7, 5000, 1 << 20, &r);
	assert_string_equal(r.out, "ABC XYZ");
	proc_result_free(&r);

	/* binary input with NULs passes through; no input means an empty stdin */
	run_ok((char *const[]){"cat", NULL}, "a\0b", 3, 5000, 1 << 20, &r);
	assert_int_equal(r.out_len, 3);
	assert_memory_equal(r.out, "a\0b", 3);
	proc_result_free(&r);
	run_ok((char *const[]){"cat", NULL}, NULL, 0, 5000, 1 << 20, &r);
	assert_int_equal(r.out_len, 0);
	assert_string_equal(r.out, "");
	proc_result_free(&r);

	assert_int_equal(lowest_free_fd(), fd0);
	assert_no_children();
}

static void test_status_and_errors(void **state)
{
	(void)state;
	struct proc_result r;
	run_ok(SH("echo out; echo oops >&2; exit 3"), NULL, 0, 5000, 1024, &r);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err_tail, "oops\n");
	proc_result_free(&r);

	run_ok(SH("kill -9 $$"), NULL, 0, 5000, 1024, &r);
	assert_int_equal(r.status, 128 + 9);
	assert_false(r.timed_out);
	proc_result_free(&r);

	struct err e = {""};
	assert_int_equal(
	    proc_run((char *const[]){"no-such-command-4f2a", NULL}, "x", 1, 1000, 10, &r, &e), -1);
	assert_string_equal(e.msg,
	                    "exec \"no-such-command-4f2a\": command not found (searched PATH)");
	assert_null(r.out);
	assert_int_equal(proc_run((char *const[]){NULL}, NULL, 0, 1000, 10, &r, &e), -1);
	assert_string_equal(e.msg, "exec: no command given");

	/* SIGPIPE is ignored only while the command runs */
	struct sigaction sa;
	sigaction(SIGPIPE, NULL, &sa);
	assert_true(sa.sa_handler == SIG_DFL);
	assert_no_children();
}

static void test_timeout(void **state)
{
	(void)state;
	struct proc_result r;
	int64_t t0 = now_ms();
	run_ok((char *const[]){"sleep", "5", NULL}, NULL, 0, 200, 1024, &r);
	int64_t dt = now_ms() - t0;
	assert_true(r.timed_out);
	assert_int_equal(r.status, 128 + SIGTERM);
	if (dt < 190 || dt > 4000)
		fail_msg("sleep 5 with a 200 ms limit took %lld ms", (long long)dt);
	proc_result_free(&r);

	/* a command that ignores SIGTERM gets SIGKILL after the grace period */
	t0 = now_ms();
	run_ok(SH("trap '' TERM; echo ready; sleep 5; echo never"), NULL, 0, 200, 1024, &r);
	dt = now_ms() - t0;
	assert_true(r.timed_out);
	assert_string_equal(r.out, "ready\n");
	if (dt > 200 + PROC_TERM_GRACE_MS + 1000)
		fail_msg("SIGKILL escalation took %lld ms", (long long)dt);
	proc_result_free(&r);
	assert_no_children();
}

static void test_process_group_killed(void **state)
{
	(void)state;
	if (!have_proc()) {
		print_message("skipped: no /proc to check processes with\n");
		skip();
	}
	struct proc_result r;
	int64_t t0 = now_ms();
	run_ok(SH("sleep 10 & echo $!; sleep 10"), NULL, 0, 300, 1024, &r);
	assert_true(r.timed_out);
	assert_true(now_ms() - t0 < 8000); /* not the 10 s of the sleep */
	long grandchild = strtol(r.out, NULL, 10);
	assert_true(grandchild > 1);
	if (!gone_within_1s(grandchild))
		fail_msg("grandchild %ld survived the timeout", grandchild);
	proc_result_free(&r);

	/* when the command exits normally, what it left behind in its group is killed too, and we
	 * do not wait for it although it holds stdout open */
	t0 = now_ms();
	run_ok(SH("sleep 10 & echo $!"), NULL, 0, 5000, 1024, &r);
	assert_false(r.timed_out);
	assert_int_equal(r.status, 0);
	assert_true(now_ms() - t0 < 8000); /* not the 10 s of the sleep */
	grandchild = strtol(r.out, NULL, 10);
	if (!gone_within_1s(grandchild))
		fail_msg("background process %ld survived its parent", grandchild);
	proc_result_free(&r);
	assert_no_children();
}

static void test_output_cap(void **state)
{
	(void)state;
	/* the child ignores 1 MB of stdin and writes 1 MB: we must neither block on the write nor
	 * die of SIGPIPE, and stdout is cut at the cap */
	size_t big = 1 << 20;
	char *in = xmalloc(big);
	memset(in, 'i', big);
	struct proc_result r;
	run_ok(SH("yes abcdefg | head -c 1048576"), in, big, 10000, 100000, &r);
	assert_int_equal(r.status, 0);
	assert_true(r.truncated);
	assert_int_equal(r.out_len, 100000);
	assert_int_equal(strlen(r.out), 100000);
	assert_memory_equal(r.out, "abcdefg\nabcdefg\n", 16);
	proc_result_free(&r);

	/* the child writes 300 KB before it reads stdin (300 KB): polling both ways, no deadlock */
	size_t half = 300000;
	run_ok(SH("head -c 300000 /dev/zero | tr '\\0' z; cat"), in, half, 10000, 1 << 20, &r);
	assert_false(r.timed_out);
	assert_false(r.truncated);
	assert_int_equal(r.out_len, 2 * half);
	assert_int_equal(r.out[0], 'z');
	assert_int_equal(r.out[half - 1], 'z');
	assert_memory_equal(r.out + half, in, half);
	proc_result_free(&r);

	/* exactly at the cap is not truncated */
	run_ok((char *const[]){"printf", "12345", NULL}, NULL, 0, 5000, 5, &r);
	assert_string_equal(r.out, "12345");
	assert_false(r.truncated);
	proc_result_free(&r);
	free(in);
	assert_no_children();
}

static void test_stderr_tail(void **state)
{
	(void)state;
	struct proc_result r;
	run_ok(
	    SH("i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; echo done"),
	    NULL, 0, 10000, 1024, &r);
	assert_string_equal(r.out, "done\n");
	size_t n = strlen(r.err_tail);
	assert_true(n <= PROC_ERR_TAIL);
	assert_true(n >= PROC_ERR_TAIL - 16);
	assert_true(str_endswith(r.err_tail, "line 1998\nline 1999\n"));
	assert_null(strstr(r.err_tail, "line 0\n"));
	proc_result_free(&r);

	/* the tail never starts inside a UTF-8 character */
	run_ok(SH("i=0; while [ $i -lt 1000 ]; do printf '\\303\\251' >&2; i=$((i+1)); done; "
	          "printf x >&2"),
	       NULL, 0, 10000, 1024, &r);
	assert_int_equal((unsigned char)r.err_tail[0], 0xC3);
	assert_true(str_endswith(r.err_tail, "\xc3\xa9x"));
	proc_result_free(&r);
}

/* ---- the asynchronous runner, driven by one poll loop as an event loop would ---- */

#define MAX_PROCS 4

static struct proc *start_ok(char *const argv[], const char *input, size_t len, int timeout_ms,
                             size_t max_out)
{
	struct err e = {""};
	struct proc *p = proc_start(argv, input, len, timeout_ms, max_out, &e);
	if (!p)
		fail_msg("proc_start %s: %s", argv[0], e.msg);
	return p;
}

/* One wake-up of a loop over ps[0..n) (NULL entries are finished): polls every descriptor they
 * ask for, at most until the earliest due time, then steps each of them (a step without an
 * event must be harmless).  Finished ones are collected into res and set to NULL; their index
 * is appended to order.  Returns how many are still running. */
static size_t drive_once(struct proc **ps, size_t n, struct proc_result *res, size_t *order,
                         size_t *n_order)
{
	struct pollfd fds[MAX_PROCS * PROC_MAX_FDS];
	unsigned off[MAX_PROCS], cnt[MAX_PROCS], nf = 0;
	int64_t due = -1;
	assert_true(n <= MAX_PROCS);
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		int64_t d;
		off[i] = nf;
		cnt[i] = proc_poll_fds(ps[i], fds + nf, &d);
		nf += cnt[i];
		assert_true(d >= 0); /* a running command always has a deadline or an exit check */
		due = due < 0 ? d : MIN(due, d);
	}
	int64_t wait = due < 0 ? 0 : MAX(due - now_ms(), (int64_t)0);
	if (poll(fds, nf, (int)wait) < 0)
		for (unsigned i = 0; i < nf; i++)
			fds[i].revents = 0;
	size_t left = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		if (proc_step(ps[i], fds + off[i], cnt[i])) {
			proc_finish(ps[i], &res[i]);
			ps[i] = NULL;
			order[(*n_order)++] = i;
		} else {
			left++;
		}
	}
	return left;
}

static void drive_all(struct proc **ps, size_t n, struct proc_result *res, size_t *order)
{
	size_t n_order = 0;
	int64_t end = now_ms() + 20000;
	while (drive_once(ps, n, res, order, &n_order) && now_ms() < end)
		;
	assert_int_equal(n_order, n);
}

static void test_async_overlap(void **state)
{
	(void)state;
	int fd0 = lowest_free_fd();
	/* each prints when it started and when it ended (ns); run side by side, the two intervals
	 * overlap, whereas one after the other they could not */
	struct proc *ps[2];
	for (int i = 0; i < 2; i++)
		ps[i] = start_ok(SH("date +%s%N; sleep 0.3; date +%s%N"), NULL, 0, 10000, 1024);
	struct sigaction sa;
	sigaction(SIGPIPE, NULL, &sa);
	assert_true(sa.sa_handler == SIG_IGN); /* while commands run */
	struct proc_result r[2];
	size_t order[2];
	drive_all(ps, 2, r, order);
	long long start[2], end[2];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r[i].status, 0);
		char *nl;
		start[i] = strtoll(r[i].out, &nl, 10);
		end[i] = strtoll(nl, NULL, 10);
		assert_true(start[i] > 0 && end[i] >= start[i]);
		proc_result_free(&r[i]);
	}
	if (!(start[0] < end[1] && start[1] < end[0]))
		fail_msg("the two commands ran one after the other: [%lld, %lld] and [%lld, %lld]",
		         start[0], end[0], start[1], end[1]);
	sigaction(SIGPIPE, NULL, &sa);
	assert_true(sa.sa_handler == SIG_DFL);
	assert_int_equal(lowest_free_fd(), fd0);
	assert_no_children();
}

static void test_async_timeout(void **state)
{
	(void)state;
	/* a command that overstays its limit is killed with its process group, while a quick one
	 * beside it finishes normally (the limit leaves the quick one time to start on a loaded
	 * machine, or under valgrind) */
	struct proc *ps[2] = {
	    start_ok(SH("sleep 10 & echo $!; sleep 10"), NULL, 0, 1000, 1024),
	    start_ok(SH("sleep 0.05; echo quick"), NULL, 0, 5000, 1024),
	};
	struct proc_result r[2];
	size_t order[2];
	drive_all(ps, 2, r, order);
	assert_int_equal(order[0], 1);
	assert_string_equal(r[1].out, "quick\n");
	assert_false(r[1].timed_out);
	assert_true(r[0].timed_out);
	assert_int_equal(r[0].status, 128 + SIGTERM);
	long grandchild = strtol(r[0].out, NULL, 10);
	assert_true(grandchild > 1);
	if (have_proc() && !gone_within_1s(grandchild))
		fail_msg("grandchild %ld survived the timeout", grandchild);
	proc_result_free(&r[0]);
	proc_result_free(&r[1]);
	assert_no_children();
}

static void test_async_kill(void **state)
{
	(void)state;
	int fd0 = lowest_free_fd();
	char path[] = "/tmp/adopt-proc-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char *script = xasprintf("sleep 10 & echo $! > %s; wait", path);
	struct proc *p = start_ok(SH(script), NULL, 0, 0, 1024);
	pid_t leader = proc_pid(p);
	assert_true(leader > 1);
	/* run it until the background process is there */
	long grandchild = 0;
	for (int i = 0; i < 400 && grandchild <= 0; i++) {
		struct pollfd fds[PROC_MAX_FDS];
		int64_t due;
		unsigned n = proc_poll_fds(p, fds, &due);
		poll(fds, n, 5);
		assert_false(proc_step(p, fds, n));
		FILE *f = fopen(path, "r");
		if (f && fscanf(f, "%ld", &grandchild) != 1)
			grandchild = 0;
		if (f)
			fclose(f);
	}
	assert_true(grandchild > 1);
	proc_kill(p); /* cancel: the group dies, the leader is reaped, the pipes closed */
	assert_no_children();
	if (have_proc() && !gone_within_1s(grandchild))
		fail_msg("background process %ld survived the cancel", grandchild);
	struct sigaction sa;
	sigaction(SIGPIPE, NULL, &sa);
	assert_true(sa.sa_handler == SIG_DFL);
	assert_int_equal(lowest_free_fd(), fd0);
	proc_kill(NULL);
	unlink(path);
	free(script);
}

static void test_async_big_io(void **state)
{
	(void)state;
	/* two commands each fed 1 MB on stdin and echoing it: fed and drained together, by one
	 * loop, without deadlock */
	size_t big = 1 << 20;
	char *in[2];
	struct proc *ps[2];
	for (int i = 0; i < 2; i++) {
		in[i] = xmalloc(big);
		for (size_t k = 0; k < big; k++)
			in[i][k] = (char)('a' + (k * (size_t)(i + 3)) % 26);
		ps[i] = start_ok((char *const[]){"cat", NULL}, in[i], big, 20000, 2 * big);
	}
	struct proc_result r[2];
	size_t order[2];
	drive_all(ps, 2, r, order);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(r[i].status, 0);
		assert_false(r[i].truncated);
		assert_int_equal(r[i].out_len, big);
		assert_memory_equal(r[i].out, in[i], big);
		proc_result_free(&r[i]);
		free(in[i]);
	}
	/* a command that never reads its stdin and exits: not an error, no SIGPIPE */
	char *junk = xcalloc(1, big);
	ps[0] = start_ok(SH("exit 0"), junk, big, 5000, 10);
	drive_all(ps, 1, r, order);
	assert_int_equal(r[0].status, 0);
	proc_result_free(&r[0]);
	free(junk);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cat_and_tr),    cmocka_unit_test(test_status_and_errors),
	    cmocka_unit_test(test_timeout),       cmocka_unit_test(test_process_group_killed),
	    cmocka_unit_test(test_output_cap),    cmocka_unit_test(test_stderr_tail),
	    cmocka_unit_test(test_async_overlap), cmocka_unit_test(test_async_timeout),
	    cmocka_unit_test(test_async_kill),    cmocka_unit_test(test_async_big_io),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_proc.c: running external commands: stdin/stdout, exit statuses, errors, time limits
 * on whole process groups, output caps, stderr tails, and no leaked fds or zombies. */
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

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
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
	if (dt < 190 || dt > 1500)
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

/* A process is gone when /proc has no entry for it or it is a zombie awaiting init. */
static bool process_gone(long pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static bool gone_within_1s(long pid)
{
	for (int i = 0; i < 100; i++) {
		if (process_gone(pid))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_process_group_killed(void **state)
{
	(void)state;
	if (access("/proc/self/stat", R_OK) != 0) {
		print_message("skipped: no /proc to check processes with\n");
		skip();
	}
	struct proc_result r;
	int64_t t0 = now_ms();
	run_ok(SH("sleep 10 & echo $!; sleep 10"), NULL, 0, 300, 1024, &r);
	assert_true(r.timed_out);
	assert_true(now_ms() - t0 < 2000);
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
	assert_true(now_ms() - t0 < 2000);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cat_and_tr), cmocka_unit_test(test_status_and_errors),
	    cmocka_unit_test(test_timeout),    cmocka_unit_test(test_process_group_killed),
	    cmocka_unit_test(test_output_cap), cmocka_unit_test(test_stderr_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

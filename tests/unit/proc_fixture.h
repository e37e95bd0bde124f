/* proc_fixture.h: shared by test_proc.c and test_run.c: checks that child processes are gone
 * (reaped, and nothing left running in their process group).  Include after cmocka.h.
 * Everything is static inline so a test that uses part of it does not warn. */
#ifndef ADOPT_PROC_FIXTURE_H
#define ADOPT_PROC_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* No child of ours is left, running or zombie. */
static inline void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Whether processes can be checked at all (/proc). */
static inline bool have_proc(void)
{
	return access("/proc/self/stat", R_OK) == 0;
}

/* A process is gone when /proc has no entry for it or it is a zombie awaiting init. */
static inline bool process_gone(long pid)
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

static inline bool gone_within_1s(long pid)
{
	for (int i = 0; i < 100; i++) {
		if (process_gone(pid))
			return true;
		usleep(10000);
	}
	return false;
}

#endif

/* testdir.h: helpers shared by the core unit tests: a fresh temporary directory per test (the
 * working directory while it runs, removed with its files afterwards), writing files into it
 * from C strings, and loading session files that must load cleanly.  Header-only: each test
 * binary includes it once. */
#ifndef ADOPT_TESTDIR_H
#define ADOPT_TESTDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/session.h"
#include "core/util.h"

struct testdir {
	char dir[64];
	char *oldcwd;
};

static inline int testdir_setup(void **state)
{
	struct testdir *t = xcalloc(1, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/adopt-test-XXXXXX");
	if (!mkdtemp(t->dir) || !(t->oldcwd = getcwd(NULL, 0)) || chdir(t->dir) < 0) {
		free(t->oldcwd);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int testdir_teardown(void **state)
{
	struct testdir *t = *state;
	DIR *d = opendir(".");
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlink(de->d_name);
	if (d)
		closedir(d);
	int rc = chdir(t->oldcwd);
	rmdir(t->dir);
	free(t->oldcwd);
	free(t);
	return rc;
}

static inline void put(const char *name, const char *text)
{
	FILE *f = fopen(name, "wb");
	assert_non_null(f);
	fwrite(text, 1, strlen(text), f);
	assert_int_equal(fclose(f), 0);
}

static inline void print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("    got: %s\n", d->msgs[i]);
}

static inline struct session *load_ok_file(const char *name)
{
	struct diag d = {0};
	struct session *s = session_load(name, NULL, &d);
	if (!s || d.n) {
		print_diag(&d);
		diag_free(&d);
		session_free(s);
		fail_msg("%s did not load cleanly", name);
	}
	diag_free(&d);
	return s;
}

/* Writes text to s.json and loads it. */
static inline struct session *load_ok(const char *text)
{
	put("s.json", text);
	return load_ok_file("s.json");
}

#endif

/* test_fileio.c: safe file access: FIFOs, devices and directories refused at once (never a
 * hang), size limits, read errors, writes that never follow a symbolic link (the response cache
 * included: its target stays unchanged), the symlinked session saved to its target, stale temp
 * files of a killed save removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bm25.h"
#include "core/dataset.h"
#include "core/fileio.h"
#include "core/session.h"
#include "llm/cache.h"

static char dir[64];

static char *in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
	char *text;
	struct err e = {{0}};
	if (file_read(path, 1 << 24, &text, NULL, &e) < 0)
		fail_msg("%s", e.msg);
	return text;
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/adopt-fileio-XXXXXX");
	/* a test that would hang on a FIFO fails instead (generous: never a timing assertion) */
	alarm(60);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);
	free(cmd);
	alarm(0);
	return rc == 0 ? 0 : -1;
}

static void expect_msg(const struct err *e, const char *needle)
{
	if (!strstr(e->msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", e->msg, needle);
}

static void test_special_files_refused(void **state)
{
	(void)state;
	char *fifo = in_dir("fifo.jsonl");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	struct err e = {{0}};
	char *text;
	assert_int_equal(file_read(fifo, 1 << 20, &text, NULL, &e), -1);
	expect_msg(&e, "fifo.jsonl: not a regular file (a FIFO)");
	assert_int_equal(file_read("/dev/zero", 1 << 20, &text, NULL, &e), -1);
	assert_string_equal(e.msg, "/dev/zero: not a regular file (a character device)");
	assert_int_equal(file_read(dir, 1 << 20, &text, NULL, &e), -1);
	expect_msg(&e, "not a regular file (a directory)");
	struct file_lines r;
	assert_int_equal(file_lines_open(&r, fifo, 1 << 20, &e), -1);
	expect_msg(&e, "(a FIFO)");

	/* the readers of data and corpora say so too */
	char **docs;
	size_t n;
	assert_int_equal(bm25_load_corpus(fifo, 0, &docs, &n, &e), -1);
	expect_msg(&e, "(a FIFO)");
	assert_int_equal(bm25_load_corpus("/dev/zero", 0, &docs, &n, &e), -1);
	expect_msg(&e, "/dev/zero: not a regular file");
	struct dataset d = {0};
	cJSON *spec = cJSON_CreateString(fifo);
	assert_int_equal(dataset_load_split(&d, SPLIT_TRAIN, spec, ".", &e), -1);
	expect_msg(&e, "(a FIFO)");
	cJSON_Delete(spec);
	spec = cJSON_CreateString("/dev/zero");
	assert_int_equal(dataset_load_split(&d, SPLIT_TRAIN, spec, ".", &e), -1);
	expect_msg(&e, "/dev/zero: not a regular file");
	cJSON_Delete(spec);
	dataset_free(&d);
	free(fifo);
}

static void test_limits(void **state)
{
	(void)state;
	char *p = in_dir("big.jsonl");
	write_text(p, "{\"text\": \"one\"}\n{\"text\": \"two\"}\n");
	struct err e = {{0}};
	char *text;
	assert_int_equal(file_read(p, 10, &text, NULL, &e), -1);
	expect_msg(&e, "larger than the limit of 10");
	char **docs;
	size_t n;
	assert_int_equal(bm25_load_corpus(p, 10, &docs, &n, &e), -1);
	expect_msg(&e, "larger than the limit of 10");
	assert_int_equal(bm25_load_corpus(p, 0, &docs, &n, &e), 0);
	assert_int_equal(n, 2);
	bm25_corpus_free(docs, n);

	/* lines: numbered, newline kept, then the end */
	struct file_lines r;
	size_t len;
	assert_int_equal(file_lines_open(&r, p, 1 << 20, &e), 0);
	assert_int_equal(file_lines_next(&r, &len, &e), 1);
	assert_int_equal(len, 16);
	assert_int_equal(r.lineno, 1);
	assert_int_equal(file_lines_next(&r, &len, &e), 1);
	assert_int_equal(r.lineno, 2);
	assert_int_equal(file_lines_next(&r, &len, &e), 0);
	file_lines_close(&r);

	/* a file that grows past the limit while it is read is an error, not a short read */
	assert_int_equal(file_lines_open(&r, p, 40, &e), 0);
	FILE *f = fopen(p, "a");
	fputs("{\"text\": \"three\"}\n", f);
	fclose(f);
	int got;
	while ((got = file_lines_next(&r, &len, &e)) > 0)
		;
	assert_int_equal(got, -1);
	expect_msg(&e, "larger than the limit of 40");
	file_lines_close(&r);
	free(p);
}

/* A read error (here: reading a directory through a FILE) is reported, never end of file. */
static void test_read_error_is_error(void **state)
{
	(void)state;
	struct file_lines r = {.path = "dir", .max_bytes = 1 << 20};
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	r.f = fdopen(fd, "r");
	assert_non_null(r.f);
	struct err e = {{0}};
	size_t len;
	assert_int_equal(file_lines_next(&r, &len, &e), -1);
	expect_msg(&e, "dir: read error");
	file_lines_close(&r);
}

static void test_writes_never_follow_links(void **state)
{
	(void)state;
	char *target = in_dir("profile"), *link = in_dir("s.cache.jsonl");
	write_text(target, "echo hello\n");
	assert_int_equal(symlink(target, link), 0);
	struct err e = {{0}};
	assert_int_equal(file_open_append(link, &e), -1);
	expect_msg(&e, "s.cache.jsonl: a symbolic link: refusing to write through it");

	/* the response cache: refused with the path named, the target unchanged */
	assert_null(cache_open(link, &e));
	expect_msg(&e, link);
	expect_msg(&e, "symbolic link");
	char *text = slurp(target);
	assert_string_equal(text, "echo hello\n");
	free(text);

	/* an atomic replacement does not replace a link either */
	assert_int_equal(file_write_atomic(link, "x", 1, &e), -1);
	expect_msg(&e, "a symbolic link: refusing to replace it");
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	text = slurp(target);
	assert_string_equal(text, "echo hello\n");
	free(text);

	/* a FIFO is never opened for writing (no reader: no hang either) */
	char *fifo = in_dir("fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(file_open_append(fifo, &e), -1);
	expect_msg(&e, "fifo: a FIFO or device: refusing to write to it");
	assert_int_equal(file_write_atomic(fifo, "x", 1, &e), -1);
	expect_msg(&e, "fifo: a FIFO: refusing to replace it");
	/* a directory neither */
	assert_int_equal(file_open_append(dir, &e), -1);

	/* a regular file of ours is fine, and created 0600 */
	char *fresh = in_dir("fresh.jsonl");
	int fd = file_open_append(fresh, &e);
	assert_true(fd >= 0);
	assert_int_equal(file_write_all(fd, "a\n", 2), 0);
	close(fd);
	assert_int_equal(stat(fresh, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(fresh);
	free(fifo);
	free(target);
	free(link);
}

static const char session_text[] =
    "{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
    " \"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", \"template\": "
    "\"{{input.q}}\"}]},\n"
    " \"dataset\": {\"train\": [{\"q\": \"x\", \"answer\": \"x\"}]},\n"
    " \"metric\": {\"type\": \"exact_match\"}}\n";

/* A symlinked session is saved to its target, resolved once at open; the link stays. */
static void test_symlinked_session_saved_to_target(void **state)
{
	(void)state;
	char *real = in_dir("real");
	assert_int_equal(mkdir(real, 0700), 0);
	free(real);
	char *target = in_dir("real/s.json"), *link = in_dir("s.json");
	write_text(target, session_text);
	assert_int_equal(symlink("real/s.json", link), 0);
	struct diag d = {0};
	struct session *s = session_load(link, NULL, &d);
	if (!s)
		fail_msg("%s", d.n ? d.msgs[0] : "?");
	session_set_section(s, "state", cJSON_CreateString("saved through the link"));
	struct err e = {{0}};
	assert_int_equal(session_save(s, link, &e), 0);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char *text = slurp(target);
	assert_non_null(strstr(text, "saved through the link"));
	free(text);

	/* another path that is a link is refused, not replaced */
	char *other = in_dir("other.json");
	assert_int_equal(symlink("real/s.json", other), 0);
	assert_int_equal(session_save(s, other, &e), -1);
	expect_msg(&e, "symbolic link");
	session_free(s);
	diag_free(&d);
	free(other);
	free(target);
	free(link);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* The temp file of a save killed half-way is removed at the next open; a live process's stays. */
static void test_stale_temps_removed(void **state)
{
	(void)state;
	char *path = in_dir("s.json");
	write_text(path, session_text);
	char *stale = xasprintf("%s/.s.json.tmp-%ld-Ab12Cd", dir, (long)dead_pid());
	char *live = xasprintf("%s/.s.json.tmp-%ld-Ab12Cd", dir, (long)getppid());
	char *other = xasprintf("%s/.t.json.tmp-%ld-Ab12Cd", dir, (long)dead_pid());
	char *odd = in_dir(".s.json.tmp-notapid");
	write_text(stale, "{half a session");
	write_text(live, "{being written");
	write_text(other, "{another session's");
	write_text(odd, "?");
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	assert_non_null(s);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(access(odd, F_OK), 0);
	/* a save names its temp file so that the next open can tell */
	struct err e = {{0}};
	assert_int_equal(session_save(s, path, &e), 0);
	session_free(s);
	diag_free(&d);
	free(stale);
	free(live);
	free(other);
	free(odd);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_special_files_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_error_is_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writes_never_follow_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinked_session_saved_to_target, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_stale_temps_removed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

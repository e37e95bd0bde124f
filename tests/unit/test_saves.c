/* test_saves.c: saving in the background (session_save_start / session_save_finish, the
 * workbench's saves): the file written is byte for byte what session_save writes and reopens to
 * the same tree; a save that changes nothing writes nothing; one save at a time; a failed write
 * or a killed writer leaves the previous file whole; and kill -9 at the worst moments (the temp
 * file written and synced, the rename not done yet): of the workbench alone, the save still
 * lands; of the workbench and its writer, the file is the previous save's and the next load
 * removes the half-written temp file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/jsonfmt.h"
#include "testdir.h"

void file_write_fail_after(long nbytes);                    /* fileio.c test hooks */
void file_write_before_rename(void (*fn)(const char *tmp)); /* fileio.c */

static int saves_teardown(void **state)
{
	file_write_fail_after(-1);
	file_write_before_rename(NULL);
	return testdir_teardown(state);
}

/* A session with 2,000 examples inline, so a save takes long enough to be caught half-way. */
static void put_session(void)
{
	struct sbuf b = {0};
	sbuf_adds(&b,
	          "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"saves\",\n"
	          " \"models\": {\"task\": {\"provider\": \"scripted\", \"rules\": \"r.rules\"}},\n"
	          " \"pipeline\": {\"steps\": [{\"id\": \"answer\", \"type\": \"llm\", "
	          "\"model\": \"task\",\n"
	          "   \"inputs\": {\"q\": \"input.question\"}, \"prompt\": \"Answer: {{q}}\"}],\n"
	          "   \"output\": \"answer\"},\n"
	          " \"metric\": {\"type\": \"exact_match\"},\n"
	          " \"dataset\": {\"train\": [\n");
	for (int i = 0; i < 2000; i++)
		sbuf_addf(&b,
		          "  {\"id\": \"q%04d\", \"question\": \"Which word is number %d?\", "
		          "\"answer\": \"w%d\"}%s\n",
		          i, i, i, i < 1999 ? "," : "");
	sbuf_adds(&b, "]}}\n");
	put("s.json", sbuf_str(&b));
	put("r.rules", "# no rules\n");
	sbuf_free(&b);
}

static char *slurp(const char *name, size_t *len)
{
	char *buf = NULL;
	struct err e = {""};
	if (file_read(name, 1 << 26, &buf, len, &e) < 0)
		fail_msg("%s", e.msg);
	return buf;
}

static int count_temp_files(void)
{
	int n = 0;
	DIR *d = opendir(".");
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".tmp-") != NULL;
	closedir(d);
	return n;
}

/* A change a decision makes: the prompt, and a section of the engine's record. */
static void change(struct session *s, const char *prompt, int n)
{
	struct step *st = session_step(s, "answer");
	free(st->prompt);
	st->prompt = xstrdup(prompt);
	cJSON *h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "decisions", n);
	session_set_section(s, "history", h);
}

static char *printed(struct session *s)
{
	session_sync_json(s);
	return json_print_stable(s->root);
}

static long long mtime_ns(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static void test_same_bytes_and_reopen(void **state)
{
	(void)state;
	put_session();
	struct session *s = load_ok_file("s.json");
	change(s, "Answer briefly: {{q}}", 1);
	struct err e = {""};
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), 0);
	assert_true(session_save_fd(s) >= 0);
	/* one at a time */
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "a save of s.json is still being written"));
	assert_int_equal(session_save_finish(s, true, &e), 0);
	assert_int_equal(session_save_fd(s), -1);
	assert_int_equal(session_save_finish(s, false, &e), 0); /* none running */
	/* the stamp came back from the writer: a save that changes nothing writes nothing */
	long long m0 = mtime_ns("s.json");
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), 0);
	assert_int_equal(session_save_finish(s, true, &e), 0);
	assert_true(mtime_ns("s.json") == m0);
	/* what the foreground save writes, byte for byte */
	assert_int_equal(session_save(s, "t.json", &e), 0);
	size_t n1, n2;
	char *bg = slurp("s.json", &n1), *fg = slurp("t.json", &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(bg, fg, n1);
	free(bg);
	free(fg);
	/* reopened: the same tree, the change in it */
	struct session *r = load_ok_file("s.json");
	assert_string_equal(session_step(r, "answer")->prompt, "Answer briefly: {{q}}");
	char *p1 = printed(s), *p2 = printed(r);
	assert_string_equal(p1, p2);
	free(p1);
	free(p2);
	session_free(r);
	session_free(s);
	assert_int_equal(count_temp_files(), 0);
}

static void test_failed_write(void **state)
{
	(void)state;
	put_session();
	size_t n0, n1;
	char *before = slurp("s.json", &n0);
	struct session *s = load_ok_file("s.json");
	change(s, "Answer in one word: {{q}}", 2);
	struct err e = {""};
	file_write_fail_after(1000);
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), 0);
	assert_int_equal(session_save_finish(s, true, &e), -1);
	assert_non_null(strstr(e.msg, "s.json: write failed, previous file left intact"));
	char *after = slurp("s.json", &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	assert_int_equal(count_temp_files(), 0);
	free(after);
	file_write_fail_after(-1);
	/* the session is still usable */
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), 0);
	assert_int_equal(session_save_finish(s, true, &e), 0);
	struct session *r = load_ok_file("s.json");
	assert_string_equal(session_step(r, "answer")->prompt, "Answer in one word: {{q}}");
	session_free(r);
	/* and another program's save since is noticed, not overwritten */
	put("s.json", "{}");
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "s.json changed on disk since it was read"));
	assert_int_equal(session_save_fd(s), -1);
	session_free(s);
	free(before);
}

/* ---- killed half-way ---- */

static int hook_fd = -1;

/* In the writer: says it has reached the rename, then stops until the test decides. */
static void stop_before_rename(const char *tmp)
{
	(void)tmp;
	if (write(hook_fd, "R", 1) != 1)
		_exit(3);
	raise(SIGSTOP);
}

static void read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

static void test_writer_killed(void **state)
{
	(void)state;
	put_session();
	size_t n0, n1;
	char *before = slurp("s.json", &n0);
	struct session *s = load_ok_file("s.json");
	change(s, "Never written: {{q}}", 3);
	int p[2];
	assert_int_equal(pipe(p), 0);
	hook_fd = p[1];
	file_write_before_rename(stop_before_rename);
	struct err e = {""};
	assert_int_equal(session_save_start(s, "s.json", NULL, NULL, &e), 0);
	char c;
	read_all(p[0], &c, 1);
	assert_int_equal(count_temp_files(), 1); /* written and synced, not renamed */
	kill(s->bg.pid, SIGKILL);
	assert_int_equal(session_save_finish(s, true, &e), -1);
	assert_non_null(strstr(e.msg, "s.json: the save's writer process Killed; the file is as it "
	                              "was before"));
	assert_int_equal(count_temp_files(), 0); /* its temp file went with it */
	char *after = slurp("s.json", &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(before, after, n0);
	free(after);
	free(before);
	session_free(s);
	close(p[0]);
	close(p[1]);
}

/* Waits until pid has stopped itself (a SIGCONT sent before its SIGSTOP would be lost). */
static void wait_stopped(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	for (;;) {
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'T')
			return;
		usleep(1000);
	}
}

/* kill -9 of the workbench (a child here) while its writer stands before the rename; with
 * both: the writer too.  The sentinel pipe's write end is held by the workbench and its writer
 * only: its end of file says both are gone. */
static void kill_mid_save(bool writer_too)
{
	put_session();
	size_t n0, n1;
	char *before = slurp("s.json", &n0);
	int info[2], sentinel[2];
	assert_int_equal(pipe(info), 0);
	assert_int_equal(pipe(sentinel), 0);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); /* the orphaned writer is ours */
	pid_t w = fork();
	assert_true(w >= 0);
	if (w == 0) { /* the workbench: an accepted decision, saved in the background */
		close(info[0]);
		close(sentinel[0]);
		struct session *s = load_ok_file("s.json");
		change(s, "Accepted: {{q}}", 4);
		hook_fd = info[1];
		file_write_before_rename(stop_before_rename);
		struct err e = {""};
		if (session_save_start(s, "s.json", NULL, NULL, &e) < 0)
			_exit(2);
		int pid = s->bg.pid;
		char msg[1 + sizeof pid] = {'P'};
		memcpy(msg + 1, &pid, sizeof pid);
		if (write(info[1], msg, sizeof msg) != (ssize_t)sizeof msg)
			_exit(3);
		for (;;)
			pause();
	}
	close(info[1]);
	close(sentinel[1]);
	int writer = 0;
	bool at_rename = false;
	while (!writer || !at_rename) {
		char tag;
		read_all(info[0], &tag, 1);
		if (tag == 'P')
			read_all(info[0], &writer, sizeof writer);
		else
			at_rename = tag == 'R';
	}
	assert_int_equal(count_temp_files(), 1);
	wait_stopped(writer);
	int st;
	assert_int_equal(kill(w, SIGKILL), 0);
	assert_int_equal(waitpid(w, &st, 0), w);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(kill(writer, writer_too ? SIGKILL : SIGCONT), 0);
	char c;
	while (read(sentinel[0], &c, 1) != 0) /* both gone */
		;
	assert_int_equal(waitpid(writer, &st, 0), writer);         /* reaped: its pid is free */
	assert_true(writer_too ? WIFSIGNALED(st) : WIFEXITED(st)); /* nobody to report to */
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	close(info[0]);
	close(sentinel[0]);
	assert_int_equal(count_temp_files(), writer_too ? 1 : 0);
	struct session *r = load_ok_file("s.json"); /* removes what a dead writer left */
	assert_int_equal(count_temp_files(), 0);
	if (writer_too) { /* the previous save, whole */
		char *after = slurp("s.json", &n1);
		assert_int_equal(n0, n1);
		assert_memory_equal(before, after, n0);
		free(after);
		assert_string_equal(session_step(r, "answer")->prompt, "Answer: {{q}}");
	} else { /* the save landed although the workbench was killed */
		assert_string_equal(session_step(r, "answer")->prompt, "Accepted: {{q}}");
		cJSON *d =
		    cJSON_GetObjectItemCaseSensitive(session_section(r, "history"), "decisions");
		assert_true(cJSON_IsNumber(d) && d->valueint == 4);
		assert_int_equal(r->data.splits[SPLIT_TRAIN].n, 2000);
	}
	session_free(r);
	free(before);
}

static void test_workbench_killed(void **state)
{
	(void)state;
	kill_mid_save(false);
}

static void test_both_killed(void **state)
{
	(void)state;
	kill_mid_save(true);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, testdir_setup, saves_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_same_bytes_and_reopen), T(test_failed_write), T(test_writer_killed),
	    T(test_workbench_killed),      T(test_both_killed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

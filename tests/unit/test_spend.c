/* test_spend.c: no paid call is forgotten.  The spend journal on its own (append, reopen, torn
 * and corrupt lines, links refused), then the whole program against the test LLM server: a
 * `--run` killed with SIGKILL at several points and run again records the spend the server
 * counted, within the calls in flight at the kill (with and without the response cache); SIGHUP
 * saves the session like SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llm/journal.h"
#include "llm_server.h"

#define EXAMPLE   "examples/hotpot-mini"
#define CONC      4 /* per model configuration; two configurations */
#define IN_FLIGHT (2 * CONC)

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/adopt-spend-XXXXXX");
	alarm(300); /* a hung child fails the test instead of stalling the suite (generous) */
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

static char *in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	struct err e = {{0}};
	if (file_read(path, 1 << 26, &text, NULL, &e) < 0)
		return NULL;
	return text;
}

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* ---- the journal ---- */

static struct journal *open_ok(const char *path)
{
	struct err e = {{0}};
	struct journal *j = journal_open(path, &e);
	if (!j)
		fail_msg("journal_open: %s", e.msg);
	return j;
}

static void test_journal(void **state)
{
	(void)state;
	char *path = in_dir("s.spend.jsonl");
	struct journal *j = open_ok(path);
	assert_int_equal(access(path, F_OK), -1); /* created by the first billed call only */
	struct err e = {{0}};
	for (long i = 1; i <= 3; i++) {
		struct llm_usage u = {.in = 10 * i, .out = i};
		assert_int_equal(journal_add(j, "m", &u, 0.5 * (double)i, &e), 0);
	}
	assert_int_equal(journal_count(j), 3);
	struct llm_stats s;
	journal_sum_from(j, 0, &s); /* this process's own calls are in its statistics */
	assert_int_equal(s.done, 0);
	journal_close(j);
	j = open_ok(path);
	journal_sum_from(j, 1, &s);
	assert_int_equal(s.done, 2);
	assert_int_equal(s.tokens_in, 50);
	assert_int_equal(s.tokens_out, 5);
	assert_true(s.cost_usd == 2.5);
	journal_close(j);

	/* a torn line (kill mid-write) and corrupt ones are skipped; appends start a new line */
	append_text(path, "{\"in\": 1e30, \"out\": 1, \"cost_usd\": 0}\n"
	                  "{\"in\": -4, \"out\": 1, \"cost_usd\": 0}\n"
	                  "not json\n{\"in\": 7, \"out\"");
	j = open_ok(path);
	assert_int_equal(journal_count(j), 3);
	assert_int_equal(journal_skipped(j), 4);
	struct llm_usage u = {.in = 100, .out = 1, .estimated = true};
	assert_int_equal(journal_add(j, "m", &u, 0, &e), 0);
	assert_int_equal(journal_count(j), 4);
	journal_close(j);
	j = open_ok(path);
	assert_int_equal(journal_count(j), 4);
	journal_sum_from(j, 0, &s);
	assert_int_equal(s.tokens_in, 160);
	journal_close(j);

	/* never through a link: the target stays as it was */
	char *target = in_dir("rc"), *link = in_dir("t.spend.jsonl");
	append_text(target, "export A=1\n");
	assert_int_equal(symlink(target, link), 0);
	assert_null(journal_open(link, &e));
	assert_non_null(strstr(e.msg, "symbolic link"));
	char *dangling = in_dir("u.spend.jsonl"), *nowhere = in_dir("nowhere");
	assert_int_equal(symlink(nowhere, dangling), 0);
	assert_null(journal_open(dangling, &e));
	assert_non_null(strstr(e.msg, "symbolic link"));
	assert_int_equal(access(nowhere, F_OK), -1);
	free(dangling);
	free(nowhere);
	char *text = slurp(target);
	assert_string_equal(text, "export A=1\n");
	free(text);
	free(target);
	free(link);
	free(path);
}

/* ---- the program against the test server ---- */

static int server_port;

static cJSON *server_call(const char *path, const char *post)
{
	cJSON *j = llm_server_call(server_port, post ? "POST" : "GET", path, post);
	assert_non_null(j);
	return j;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", key);
	return v->valuedouble;
}

/* The example, its models pointed at the test server. */
static void make_bundle(void)
{
	char *cmd = xasprintf("cp " EXAMPLE "/*.json " EXAMPLE "/*.jsonl '%s'/", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *path = in_dir("session.json");
	char *text = slurp(path);
	assert_non_null(text);
	cJSON *root = cJSON_Parse(text);
	free(text);
	cJSON *models = cJSON_GetObjectItemCaseSensitive(root, "models"), *m;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", server_port);
	cJSON_ArrayForEach(m, models)
	{
		cJSON_ReplaceItemInObject(m, "provider", cJSON_CreateString("openai"));
		cJSON_AddStringToObject(m, "base_url", url);
		cJSON_AddStringToObject(m, "model", "scripted-m");
		cJSON_AddStringToObject(m, "api_key_env", "ADOPT_TEST_LLM_API_KEY");
		cJSON_AddNumberToObject(m, "concurrency", CONC);
	}
	char *out = cJSON_Print(root);
	struct err e = {{0}};
	assert_int_equal(file_write_atomic(path, out, strlen(out), &e), 0);
	cJSON_free(out);
	cJSON_Delete(root);
	free(path);
}

static const char *adopt_bin(void)
{
	static char real[PATH_MAX];
	const char *bin = getenv("ADOPT_BIN");
	if (!bin)
		bin = "build/adopt-tui";
	if (!realpath(bin, real) || access(real, X_OK) != 0)
		return NULL;
	return real;
}

/* Starts `adopt-tui --run N [--no-cache] session.json` in the bundle. */
static pid_t start_run(const char *iterations, bool no_cache)
{
	const char *bin = adopt_bin();
	assert_non_null(bin);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(dir) < 0 || !freopen("out.txt", "w", stdout) ||
		    !freopen("err.txt", "a", stderr))
			_exit(126);
		setenv("ADOPT_TEST_LLM_API_KEY", "test-key", 1);
		if (no_cache)
			execl(bin, bin, "--run", iterations, "--no-cache", "session.json",
			      (char *)NULL);
		else
			execl(bin, bin, "--run", iterations, "session.json", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static long journal_lines(void)
{
	char *path = in_dir("session.spend.jsonl");
	char *text = slurp(path);
	free(path);
	long n = 0;
	for (const char *p = text; p && *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits until the running program has journaled at least n billed calls; false when it ended
 * first. */
static bool wait_journal(pid_t pid, long n)
{
	while (journal_lines() < n) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		sleep_ms(5);
	}
	return true;
}

/* The largest call in the journal (tokens in + out): the bound on one call in flight; *total
 * gets the sum of every call. */
static long max_call_tokens(double *total)
{
	*total = 0;
	char *path = in_dir("session.spend.jsonl");
	char *text = slurp(path);
	free(path);
	long max = 0;
	for (char *line = text, *nl; line && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		cJSON *o = cJSON_Parse(line);
		if (o) {
			max = MAX(max, (long)(jnum(o, "in") + jnum(o, "out")));
			*total += jnum(o, "in") + jnum(o, "out");
		}
		cJSON_Delete(o);
	}
	free(text);
	return max;
}

static void spent_of_session(double *tokens, double *journal)
{
	char *path = in_dir("session.json");
	char *text = slurp(path);
	free(path);
	cJSON *root = cJSON_Parse(text);
	free(text);
	const cJSON *spent = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "history"), "spent");
	assert_non_null(spent);
	*tokens = jnum(spent, "tokens_in") + jnum(spent, "tokens_out");
	*journal = jnum(spent, "journal");
	cJSON_Delete(root);
}

static pid_t server_start(void)
{
	const char *bin = llm_server_bin("test_spend");
	if (!bin || !adopt_bin())
		return 0;
	char *rules = xstrdup(EXAMPLE "/rules.json");
	pid_t pid = llm_server_spawn(bin, rules, NULL, &server_port);
	free(rules);
	if (pid < 0)
		fail_msg("the test LLM server did not start");
	/* slow enough that a kill lands in the middle of a phase */
	cJSON_Delete(server_call("/_control", "{\"latency_ms\": 4}"));
	return pid;
}

/* Kills a run with SIGKILL once it has journaled `at` billed calls, runs it again to the end,
 * and compares what the session recorded with what the server counted. */
static void kill_and_rerun(long at, bool no_cache)
{
	pid_t server = server_start();
	if (!server) {
		print_message("  skipped: no test LLM server or adopt-tui binary\n");
		return;
	}
	make_bundle();
	pid_t pid = start_run("2", no_cache);
	if (!wait_journal(pid, at)) {
		char *p = in_dir("err.txt"), *err = slurp(p);
		fail_msg("the run ended before %ld billed calls: %s", at, err ? err : "");
	}
	kill(pid, SIGKILL);
	assert_int_equal(wait_exit(pid), 128 + SIGKILL);
	long at_kill = journal_lines();
	assert_true(at_kill > 2 * IN_FLIGHT); /* a loss of the whole run would show */

	pid = start_run("1", no_cache);
	int rc = wait_exit(pid);
	if (rc != 0) {
		char *p = in_dir("err.txt"), *err = slurp(p);
		fail_msg("the rerun failed (exit %d): %s", rc, err ? err : "");
	}
	cJSON *st = server_call("/_stats", NULL);
	double served = jnum(st, "tokens_in") + jnum(st, "tokens_out");
	double requests = jnum(st, "requests");
	cJSON_Delete(st);
	double recorded, mark;
	spent_of_session(&recorded, &mark);
	double journaled;
	long lines = journal_lines(), max_call = max_call_tokens(&journaled);
	print_message(
	    "  kill at %ld calls%s: server %.0f requests, %.0f tokens; journal %ld calls; "
	    "recorded %.0f tokens (largest call %ld)\n",
	    at_kill, no_cache ? " (--no-cache)" : "", requests, served, lines, recorded, max_call);
	assert_true(mark == (double)lines); /* the last save counts every line */
	assert_true(recorded == journaled); /* the killed run's calls included */
	assert_true(recorded <= served);    /* never more than was billed */
	assert_true(lines <= requests && requests - lines <= IN_FLIGHT);
	assert_true(served - recorded <= (double)(IN_FLIGHT * max_call));
	llm_server_stop(server);
}

static void test_kill_early(void **state)
{
	(void)state;
	kill_and_rerun(30, false);
}

static void test_kill_mid_iteration(void **state)
{
	(void)state;
	kill_and_rerun(150, false);
}

static void test_kill_after_a_save(void **state)
{
	(void)state;
	kill_and_rerun(260, false); /* the first iteration (saved) has about 190 */
}

static void test_kill_no_cache(void **state)
{
	(void)state;
	kill_and_rerun(120, true);
}

/* A closed terminal or ssh session: the headless run saves what finished and says so. */
static void test_sighup_saves(void **state)
{
	(void)state;
	pid_t server = server_start();
	if (!server) {
		print_message("  skipped: no test LLM server or adopt-tui binary\n");
		return;
	}
	make_bundle();
	pid_t pid = start_run("2", false);
	if (!wait_journal(pid, 40)) {
		char *p = in_dir("err.txt"), *err = slurp(p);
		fail_msg("the run ended early: %s", err ? err : "");
	}
	kill(pid, SIGHUP);
	assert_int_equal(wait_exit(pid), 130);
	char *p = in_dir("err.txt"), *err = slurp(p);
	assert_non_null(strstr(err, "interrupted; saving what finished"));
	free(err);
	free(p);
	p = in_dir("session.json");
	char *text = slurp(p);
	cJSON *root = cJSON_Parse(text);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "state");
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "phase")));
	cJSON_Delete(root);
	free(text);
	free(p);
	double recorded, mark;
	spent_of_session(&recorded, &mark);
	assert_true(mark == (double)journal_lines());
	llm_server_stop(server);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_early, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_mid_iteration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_after_a_save, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_no_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_saves, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

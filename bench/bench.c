/* bench.c: helpers shared by the benchmarks (see bench.h). */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core/util.h"

int bench_server_start(struct bench_server *s, const char *const *args)
{
	memset(s, 0, sizeof *s);
	const char *bin = getenv("LLM_SERVER");
	if (!bin)
		bin = "build/tests/llm-server";
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "%s not found (make build/tests/llm-server)\n", bin);
		return -1;
	}
	const char *argv[32] = {bin};
	size_t n = 1;
	for (; args && args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int out[2];
	if (pipe(out) < 0)
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	char line[64] = "";
	if (!fgets(line, sizeof line, f) || sscanf(line, "PORT=%d", &s->port) != 1) {
		fclose(f);
		fprintf(stderr, "%s did not print PORT=n\n", bin);
		bench_server_stop(s);
		return -1;
	}
	fclose(f);
	snprintf(s->base_v1, sizeof s->base_v1, "http://127.0.0.1:%d/v1", s->port);
	return 0;
}

void bench_server_stop(struct bench_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		int st;
		waitpid(s->pid, &st, 0);
	}
	s->pid = 0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	sbuf_add(arg, p, size * n);
	return size * n;
}

static cJSON *server_call(const struct bench_server *s, const char *method, const char *path,
                          const char *body)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
	struct sbuf out = {0};
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	cJSON *j = rc == CURLE_OK ? cJSON_Parse(sbuf_str(&out)) : NULL;
	sbuf_free(&out);
	return j;
}

double bench_server_stat(const struct bench_server *s, const char *name)
{
	cJSON *j = server_call(s, "GET", "/_stats", NULL);
	const cJSON *v = j;
	char *path = xstrdup(name), *save = NULL;
	for (char *k = strtok_r(path, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = cJSON_GetObjectItemCaseSensitive(v, k);
	double r = cJSON_IsNumber(v) ? v->valuedouble : -1;
	free(path);
	cJSON_Delete(j);
	return r;
}

int bench_server_control(const struct bench_server *s, const char *json)
{
	cJSON *j = server_call(s, "POST", "/_control", json);
	int rc = j && !cJSON_GetObjectItemCaseSensitive(j, "error") ? 0 : -1;
	cJSON_Delete(j);
	return rc;
}

double bench_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_user_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

char *bench_tmpdir(const char *tag)
{
	const char *t = getenv("TMPDIR");
	char *dir = xasprintf("%s/adopt-bench-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	if (!mkdtemp(dir)) {
		perror(dir);
		exit(1);
	}
	return dir;
}

void bench_rmdir(const char *dir)
{
	if (!strstr(dir, "/adopt-bench-"))
		return; /* only what bench_tmpdir made */
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
}

void bench_write_json(const char *path, cJSON *j)
{
	char *text = cJSON_Print(j);
	struct err e = {{0}};
	if (file_write_atomic(path, text, strlen(text), &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	cJSON_free(text);
	cJSON_Delete(j);
}

void bench_add_rule(cJSON *rules, const char *match, const char *reply, const char *const *replies,
                    int delay_ms)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "match", match);
	if (reply) {
		cJSON_AddStringToObject(r, "reply", reply);
	} else {
		cJSON *a = cJSON_AddArrayToObject(r, "replies");
		for (; *replies; replies++)
			cJSON_AddItemToArray(a, cJSON_CreateString(*replies));
	}
	if (delay_ms > 0)
		cJSON_AddNumberToObject(r, "delay_ms", delay_ms);
	cJSON_AddItemToArray(rules, r);
}

void bench_add_role_rules(cJSON *rules, const char *summary)
{
	bench_add_rule(rules, "Describe the overall task the pipeline solves", summary, NULL, 0);
	bench_add_rule(
	    rules, "The step under analysis: \"(?<s>[^\"]+)\"",
	    "<dependency>Step \"${s}\" must hand the next step exactly the word it needs; a "
	    "wrong or missing word carries through to the final output.</dependency>",
	    NULL, 0);
	bench_add_rule(rules,
	               "(?s)You are the loss "
	               "function.*?<output>\\n(?<o>.*?)\\n</output>.*?<gold>\\n(?<g>[^\\n]*)",
	               "<loss>The output \"${o}\" differs from the gold answer \"${g}\".</loss>",
	               NULL, 0);
	bench_add_rule(
	    rules, "Explain why the final output went wrong",
	    "<gradient>An intermediate step lost the word, and the later steps carried the "
	    "error through.</gradient>",
	    NULL, 0);
	bench_add_rule(
	    rules,
	    "(?s)^(?=.*?You are assigning blame within)(?=.*?one step, \"(?<s>[^\"]+)\")"
	    "(?=.*?<step_output>\\n(?<o>.*?)\\n</step_output>)",
	    "<local>Step \"${s}\" produced \"${o}\"; it should output the word only.</local>", NULL,
	    0);
	bench_add_rule(
	    rules,
	    "(?s)You are writing a training example.*?<step_output>\\n(?<o>.*?)\\n</step_output>",
	    "<revised>${o}</revised>", NULL, 0);
	bench_add_rule(rules,
	               "(?s)improving the prompt of one "
	               "step.*?<current_prompt>\\n(?<p>.*?)\\n</current_prompt>",
	               "<prompt>Be precise and brief.\n${p}</prompt>\n<prompt>Answer with the word "
	               "only.\n${p}</prompt>",
	               NULL, 0);
}

/* llm_server.h: starts the test LLM server (build/tests/llm-server, or $LLM_SERVER) for a test
 * binary, talks to its own endpoints (/_stats, /_control, /_reset) and stops it.  The server is
 * told to die with the test (PR_SET_PDEATHSIG), so a test killed half-way leaves no server behind
 * holding its output open.  Header-only. */
#ifndef ADOPT_TEST_LLM_SERVER_H
#define ADOPT_TEST_LLM_SERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "core/util.h"

/* The server binary, or NULL (with a message naming it) when there is none: the caller skips. */
static inline const char *llm_server_bin(const char *who)
{
	const char *bin = getenv("LLM_SERVER");
	if (!bin)
		bin = "build/tests/llm-server";
	if (access(bin, X_OK) == 0)
		return bin;
	fprintf(stderr, "%s: no test LLM server at %s (set LLM_SERVER): skipping its tests\n", who,
	        bin);
	return NULL;
}

/* Runs the server with argv (argv[0] the binary, NULL-terminated) and reads the port it prints.
 * Returns the pid, or -1 (with a message) when it did not start. */
static inline pid_t llm_server_spawn_argv(char *const *argv, int *port)
{
	int out[2];
	if (pipe(out) < 0)
		return -1;
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) /* the test died before prctl took effect */
			_exit(1);
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	char line[64] = "";
	if (!f || !fgets(line, sizeof line, f) || sscanf(line, "PORT=%d", port) != 1) {
		fprintf(stderr, "llm-server did not print PORT=: \"%s\"\n", line);
		if (f)
			fclose(f);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	fclose(f);
	return pid;
}

/* Runs `bin --rules RULES [--require-key KEY]` (llm_server_spawn_argv). */
static inline pid_t llm_server_spawn(const char *bin, const char *rules, const char *key, int *port)
{
	char *argv[] = {(char *)bin, "--rules", (char *)rules, "--require-key", (char *)key, NULL};
	if (!key)
		argv[3] = NULL;
	return llm_server_spawn_argv(argv, port);
}

/* SIGTERM, then the server's wait status. */
static inline int llm_server_stop(pid_t pid)
{
	int status = 0;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return status;
}

static inline size_t llm_server_sink(char *p, size_t size, size_t n, void *arg)
{
	sbuf_add(arg, p, size * n);
	return size * n;
}

/* One request to the server on port (method "GET" or "POST"; body NULL for none): its parsed
 * JSON answer, or NULL when the request or the parse failed.  The caller deletes it. */
static inline cJSON *llm_server_call(int port, const char *method, const char *path,
                                     const char *body)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	struct sbuf out = {0};
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, llm_server_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	cJSON *j = rc == CURLE_OK ? cJSON_Parse(sbuf_str(&out)) : NULL;
	sbuf_free(&out);
	return j;
}

#endif

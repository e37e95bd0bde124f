/* sched_http.c: one attempt of a job: the scripted reply or the HTTP request (API key and base
 * URL, easy handle setup), curl's write and header callbacks feeding the body or the stream
 * parser, and how the attempt ended: success, a retry after a backoff, or failure.
 *
 * Keys: the model's api_key_env names the variable, else the provider's standard one
 * (OPENAI_API_KEY, ANTHROPIC_API_KEY).  A server on localhost / 127.0.0.0/8 / ::1 usually
 * needs no key (vLLM, llama.cpp, LM Studio): when the variable is not named explicitly and is
 * unset, such a request goes out without Authorization.  Keys are read from the environment
 * per attempt, passed to the wire format, and wiped from memory after the transfer.  Before
 * the transfer starts, the key gate (keygate.h) checks the request's URL and the variable:
 * a refused key fails the job; one the user is being asked about holds it in TIMER (no slot,
 * no attempt counted) until llm_key_answer.  Every key sent is registered for redaction
 * (core/redact.h), so that an error echoing it shows "[redacted]".
 *
 * Streaming preview: chunk callbacks see each piece of text once.  When an attempt fails half
 * way and is retried, only text beyond what a waiter has already been shown is passed on (at
 * temperature 0 the retry says the same); the reply's text is always the final attempt's whole
 * answer.  A waiter that joins a running request catches up on the text streamed so far with
 * the next piece.
 *
 * Billing: an attempt whose response began (2xx status) was billed by the provider even when it
 * failed: a refusal or an error event after the usage, a stream cut by a dropped connection, a
 * stall, a malformed chunk or a missing end marker.  Its usage is counted as reported; when
 * none arrived (or less output than the text received), the prompt as projected and the text
 * received stand in, marked estimated (attempt_billed).  Reasoning tokens a provider does not
 * count apart (Anthropic's thinking, Ollama's) are estimated from the reasoning text, as a part
 * of the output it reported.
 *
 * Retries: see retry.h (which failures, the provider's classification first, equal-jitter
 * backoff, the server's delay capped at backoff_max_s: retry-after-ms, else Retry-After, else
 * on a 429 the rate-limit headers' reset; a retry budget per request).  A retrying job gives
 * its concurrency slot back while it waits.  Every answer also teaches the limiter of the
 * replica it came from (sched_int.h: AIMD window, holds until a rate limit resets) and its
 * health (sched_replica.c); a request that failed on one replica of several moves at once to
 * one it has not failed on, when one is up.  Redirects are not followed: a
 * 3xx is reported with its Location so that the base_url can be fixed.
 *
 * Content-Type decides how a 2xx body is read: a streamed request answered with
 * application/json (a server that ignores "stream": true) is parsed as a whole answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/redact.h"
#include "llm/cost.h"
#include "llm/retry.h"
#include "llm/rules.h"
#include "llm/sched_int.h"

#ifndef ADOPT_VERSION
#define ADOPT_VERSION "dev"
#endif

/* Largest whole or error body kept from one response, unless the format says less
 * (provider_ops.body_max); a streamed text is capped by the wire format (LLM_RESULT_MAX_TEXT). */
#define BODY_MAX ((size_t)16 << 20)

static size_t body_max(const struct job *j)
{
	return j->ops->body_max ? j->ops->body_max : BODY_MAX;
}

/* ---- model endpoint and key ------------------------------------------------------------- */

const char *model_base_url(const struct provider_ops *ops, const struct model_config *m)
{
	if (is_scripted(ops))
		return m->rules ? m->rules : "";
	const char *b = provider_base_url(ops, m->base_url);
	return b ? b : "";
}

const char *model_key_var(const struct provider_ops *ops, const struct model_config *m)
{
	return m->api_key_env && *m->api_key_env ? m->api_key_env : ops->key_env;
}

/* The API key for a model (NULL when none is needed or set); -1 when one is required and
 * missing. */
int model_key(const struct provider_ops *ops, const struct model_config *m, const char *base,
              const char **key, struct err *e)
{
	*key = NULL;
	const char *var = model_key_var(ops, m);
	if (!var)
		return 0;
	const char *v = getenv(var);
	if (v && *v) {
		*key = v;
		return 0;
	}
	bool explicit_var = m->api_key_env && *m->api_key_env;
	if (!explicit_var && (!ops->key_required || url_is_loopback(base)))
		return 0;
	return err_set(e, "model \"%s\": environment variable %s is not set (api_key_env)",
	               model_label(m), var);
}

/* The key gate for a built request: 0 to send it; -1 when the job failed or now waits for the
 * user's answer (in TIMER, the attempt undone). */
static int key_gate(struct llm *l, struct job *j, const char *key)
{
	if (!key)
		return 0;
	struct err e = {{0}};
	const char *var = model_key_var(j->ops, &j->m), *origin;
	switch (keygate_check(l->gate, j->ops, var, j->http.url, l->key_ask != NULL, &origin, &e)) {
	case KEY_SEND:
		redact_add(key);
		return 0;
	case KEY_REFUSE:
		attempt_clear(l, j);
		job_fail(l, j, xasprintf("model \"%s\": %s", model_label(&j->m), e.msg));
		return -1;
	case KEY_ASK:
		l->key_ask(l->key_ask_arg, var, origin);
		/* fall through */
	case KEY_WAIT:
		break;
	}
	attempt_clear(l, j);
	j->attempts--;
	j->lim->running--;
	j->key_held = true;
	j->due_ms = NEVER;
	job_set_state(l, j, JOB_TIMER);
	return -1;
}

void llm_set_key_asker(struct llm *l, llm_key_ask_fn *fn, void *arg)
{
	l->key_ask = fn;
	l->key_ask_arg = arg;
}

void llm_key_answer(struct llm *l, const char *var, const char *origin, bool allow)
{
	keygate_answer(l->gate, var, origin, allow);
	/* every held job tries again: the gate lets it go, fails it, or holds it anew */
	for (struct job *j = l->timers.head; j; j = j->snext)
		if (j->key_held) {
			j->key_held = false;
			j->due_ms = 0;
		}
}

/* ---- the transfer ----------------------------------------------------------------------- */

static void slist_wipe_free(struct curl_slist *s)
{
	for (struct curl_slist *p = s; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(s);
}

/* Easy handles kept for reuse: as many as can run at once is plenty. */
#define EASY_POOL_MAX 256

static CURL *easy_get(struct llm *l)
{
	return l->n_idle ? l->idle[--l->n_idle] : curl_easy_init();
}

/* curl_easy_reset forgets every option (our pointers into the job included); the handle keeps
 * only caches (DNS, TLS sessions), and the connections belong to the multi handle anyway. */
static void easy_put(struct llm *l, CURL *h)
{
	if (l->n_idle == EASY_POOL_MAX) {
		curl_easy_cleanup(h);
		return;
	}
	curl_easy_reset(h);
	if (!l->idle)
		l->idle = xcalloc(EASY_POOL_MAX, sizeof(*l->idle));
	l->idle[l->n_idle++] = h;
}

void easy_pool_free(struct llm *l)
{
	while (l->n_idle)
		curl_easy_cleanup(l->idle[--l->n_idle]);
	free(l->idle);
	l->idle = NULL;
}

/* Ends the current attempt's transfer and frees everything it used (not the outcome). */
void attempt_clear(struct llm *l, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(l->multi, j->easy);
		easy_put(l, j->easy);
		j->easy = NULL;
	}
	slist_wipe_free(j->hdrs);
	j->hdrs = NULL;
	http_request_free(&j->http);
	if (j->stream)
		j->ops->stream_free(j->stream);
	j->stream = NULL;
	llm_result_free(&j->res);
	sbuf_free(&j->body);
	sbuf_free(&j->preview);
	free(j->location);
	j->location = NULL;
	j->streaming = j->status_seen = false;
	j->status = 0;
	j->abort = ABORT_NONE;
	j->retry_after_s = -1;
	j->should_retry = -1;
	j->limits.n = 0;
	j->errbuf[0] = '\0';
}

/* ---- rules (scripted provider) ---------------------------------------------------------- */

static struct rules *rules_get(struct llm *l, const char *path, struct err *e)
{
	for (struct rules_file *f = l->rules; f; f = f->next)
		if (!strcmp(f->path, path))
			return f->rules;
	struct rules *r = rules_load(path, e);
	if (!r)
		return NULL;
	struct rules_file *f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->rules = r;
	f->next = l->rules;
	l->rules = f;
	return r;
}

char *llm_scripted_peek(struct llm *l, const struct llm_request *req)
{
	const struct provider_ops *ops = provider_find(req->model->provider);
	struct err e = {{0}};
	struct rules *r = ops && is_scripted(ops)
	                      ? rules_get(l, req->model->rules ? req->model->rules : "", &e)
	                      : NULL;
	return r ? rules_reply(r, req->messages, req->n_messages, NULL) : NULL;
}

/* ---- curl callbacks --------------------------------------------------------------------- */

static void on_chunk(void *arg, const char *text, size_t len)
{
	struct job *j = arg;
	sbuf_add(&j->preview, text, len);
	for (struct waiter *w = j->waiters; w; w = w->next) {
		if (w->cancelled || !w->chunk || w->streamed >= j->preview.len)
			continue;
		size_t from = w->streamed;
		w->streamed = j->preview.len;
		w->chunk(w->arg, j->preview.s + from, j->preview.len - from);
	}
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;
	j->last_data_ms = now_ms();
	if (!j->status_seen) {
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
		j->status_seen = true;
		const char *ctype = NULL;
		curl_easy_getinfo(j->easy, CURLINFO_CONTENT_TYPE, &ctype);
		j->streaming = j->m.stream && j->status >= 200 && j->status < 300 &&
		               !(ctype && !strncasecmp(ctype, "application/json", 16));
		if (j->streaming)
			j->stream = j->ops->stream_new();
	}
	if (j->streaming) {
		if (j->ops->stream_feed(j->stream, p, n, &j->res, on_chunk, j) < 0) {
			j->abort = ABORT_STREAM;
			return 0;
		}
		return n;
	}
	if (j->body.len + n > body_max(j)) {
		j->abort = ABORT_TOO_BIG;
		return 0;
	}
	sbuf_add(&j->body, p, n);
	return n;
}

static double unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool header_is(const char *h, size_t n, const char *name, const char **value)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(h, name, k) != 0 || h[k] != ':')
		return false;
	*value = h + k + 1;
	return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;
	j->last_data_ms = now_ms();
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (after 1xx): start over */
		j->retry_after_s = -1;
		j->should_retry = -1;
		j->limits.n = 0;
		return n;
	}
	char line[512];
	size_t len = MIN(n, sizeof(line) - 1);
	memcpy(line, p, len);
	line[len] = '\0';
	str_trim(line);
	len = strlen(line);
	const char *v;
	if (header_is(line, len, "retry-after", &v)) {
		if (j->retry_after_s < 0) /* retry-after-ms, when present, is more precise */
			j->retry_after_s = retry_after_parse(v, time(NULL));
	} else if (header_is(line, len, "retry-after-ms", &v)) {
		double ms = retry_after_parse(v, time(NULL));
		if (ms >= 0)
			j->retry_after_s = ms / 1000;
	} else if (header_is(line, len, "x-should-retry", &v)) {
		j->should_retry = retry_should_parse(v);
	} else if (header_is(line, len, "location", &v)) {
		free(j->location);
		j->location = xstrdup(str_trim((char *)v));
	} else if ((v = strchr(line, ':'))) {
		retry_limits_header(&j->limits, line, (size_t)(v - line), v + 1, unix_now());
	}
	return n;
}

/* ---- attempts --------------------------------------------------------------------------- */

/* A tool call where text was asked for: the pipeline's prompts want an answer, and asking again
 * gets the same tool call. */
static void fail_tool_call(struct llm_result *r)
{
	free(r->error_type);
	r->error_type = xstrdup("tool_call");
	r->error = xasprintf("the model called a tool instead of answering (finish reason \"%s\", "
	                     "no text); adopt-tui sends no tools: reword the prompt",
	                     r->finish_reason);
	r->retryable = false;
	r->permanent = true;
}

static char *attempt_error(const struct job *j, const char *head, const char *msg)
{
	if (j->attempts > 1)
		return xasprintf("%s after %d attempts: %s", head, j->attempts, msg);
	return xasprintf("%s: %s", head, msg);
}

void attempt_start(struct llm *l, struct job *j)
{
	struct err e = {{0}};
	j->attempts++;
	if (!j->t_start_ms)
		j->t_start_ms = now_ms();
	attempt_clear(l, j);
	j->lim_seq = j->lim->seq;         /* limiter_admit counted this attempt */
	job_set_state(l, j, JOB_RUNNING); /* holds the slot limiter_admit took */
	if (is_scripted(j->ops)) {
		struct rules *r = rules_get(l, j->m.rules ? j->m.rules : "", &e);
		if (!r) {
			job_fail(l, j, xasprintf("model \"%s\": %s", model_label(&j->m), e.msg));
			return;
		}
		unsigned delay = 0;
		j->text = rules_reply(r, j->msgs, j->n_msgs, &delay);
		j->scripted = true;
		j->scripted_delay = true;
		j->due_ms = now_ms() + (l->opt.sandbox ? 0 : delay);
		job_set_state(l, j, JOB_TIMER);
		return;
	}
	const char *key;
	const char *base = j->lim->url ? j->lim->url : model_base_url(j->ops, &j->m);
	struct llm_request req = {&j->m, j->msgs, j->n_msgs, job_tag(j)};
	if (model_key(j->ops, &j->m, base, &key, &e) < 0 ||
	    j->ops->build(&req, base, key, j->m.stream, &j->http, &e) < 0) {
		job_fail(l, j, xstrdup(e.msg));
		return;
	}
	if (key_gate(l, j, key) < 0)
		return;
	for (size_t i = 0; j->http.headers && j->http.headers[i]; i++)
		j->hdrs = curl_slist_append(j->hdrs, j->http.headers[i]);
	j->hdrs = curl_slist_append(j->hdrs, "Expect:");
	CURL *h = j->easy = easy_get(l);
	if (!h) {
		job_fail(l, j, xstrdup("curl_easy_init failed"));
		return;
	}
	double timeout = j->m.timeout_s > 0 ? j->m.timeout_s : 120;
	curl_easy_setopt(h, CURLOPT_URL, j->http.url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdrs);
	if (!j->ops->retriever) { /* a retrieval server is asked with a GET (a reset handle's) */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->http.body ? j->http.body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(j->http.body ? strlen(j->http.body) : 0));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a moved API is reported, not chased */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "adopt-tui/" ADOPT_VERSION);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(l->opt.connect_timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	j->last_data_ms = now_ms();
	if (curl_multi_add_handle(l->multi, h) != CURLM_OK) {
		job_fail(l, j, xstrdup("curl_multi_add_handle failed"));
		return;
	}
	l->st.network_requests++;
	cost_book_tag(l->book, job_tag(j))->network_requests++;
	j->lim->requests++;
	j->attempt_ms = now_ms();
}

/* Classifies how the attempt ended: fills f, and returns the message (NULL on success). */
static char *attempt_outcome(struct job *j, CURLcode code, double stall_s, struct retry_facts *f)
{
	const char *pname = j->ops->name;
	*f = (struct retry_facts){j->attempts,      0,     0,          false, j->should_retry,
	                          j->retry_after_s, false, j->waited_s};
	if (!j->status_seen && j->easy)
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	if (j->abort == ABORT_STALL) {
		f->curl_code = CURLE_OPERATION_TIMEDOUT;
		char msg[96];
		snprintf(msg, sizeof(msg), "stream stalled: no data for %gs (stall_timeout_s)",
		         stall_s);
		return attempt_error(j, pname, msg);
	}
	if (j->abort == ABORT_TOO_BIG) {
		f->curl_code = CURLE_WRITE_ERROR;
		char msg[96];
		snprintf(msg, sizeof(msg), "response larger than %zu MiB", body_max(j) >> 20);
		return attempt_error(j, pname, msg);
	}
	if (j->abort == ABORT_STREAM || (code == CURLE_OK && j->status >= 200 && j->status < 300)) {
		if (j->abort != ABORT_STREAM) {
			if (j->streaming)
				j->ops->stream_end(j->stream, &j->res);
			else
				j->ops->parse(sbuf_str(&j->body), j->body.len, &j->res);
		}
		if (!j->res.error && j->res.text.len == 0 &&
		    provider_finish_tool(j->res.finish_reason))
			fail_tool_call(&j->res);
		if (!j->res.error)
			return NULL;
		f->provider_retryable = j->res.retryable;
		f->provider_permanent = j->res.permanent;
		char *head = j->res.error_type ? xasprintf("%s %s", pname, j->res.error_type)
		                               : xstrdup(pname);
		char *m = attempt_error(j, head, j->res.error);
		free(head);
		return m;
	}
	if (code != CURLE_OK) {
		f->curl_code = code;
		if (j->status >= 400)
			f->status = j->status;
		const char *why = j->errbuf[0] ? j->errbuf : curl_easy_strerror(code);
		char *msg = xasprintf("%s (%s)", why, j->http.url ? j->http.url : "");
		char *m = attempt_error(j, pname, msg);
		free(msg);
		return m;
	}
	f->status = j->status;
	if (j->status >= 300 && j->status < 400) {
		char *msg =
		    xasprintf("redirect to %s not followed: set base_url to the final address",
		              j->location ? j->location : "(no location)");
		char *head = xasprintf("%s %ld", pname, j->status);
		char *m = attempt_error(j, head, msg);
		free(head);
		free(msg);
		return m;
	}
	j->ops->parse_error((int)j->status, sbuf_str(&j->body), j->body.len, &j->res);
	f->provider_retryable = j->res.retryable;
	f->provider_permanent = j->res.permanent;
	if (f->retry_after_s < 0 && j->status == 429)
		f->retry_after_s = retry_limits_wait(&j->limits);
	char *head = xasprintf("%s %ld%s%s", pname, j->status, j->res.error_type ? " " : "",
	                       j->res.error_type ? j->res.error_type : "");
	char *m = attempt_error(j, head, j->res.error ? j->res.error : "(no message)");
	free(head);
	return m;
}

/* The reasoning part of the output, when the provider did not count it. */
static void reasoning_fill(struct llm_usage *u, const struct sbuf *reasoning)
{
	if (u->reasoning <= 0 && reasoning->len)
		u->reasoning = MIN(u->out, cost_estimate_tokens(sbuf_str(reasoning)));
}

/* What a failed attempt was billed (see the top of the file); false when nothing. */
static bool attempt_billed(const struct job *j, struct llm_usage *u)
{
	const struct llm_result *r = &j->res;
	if (j->status < 200 || j->status >= 300 || j->ops->retriever) /* retrievals are free */
		return false;
	*u = r->usage;
	u->estimated = false;
	if (r->complete && r->usage_seen) {
		reasoning_fill(u, &r->reasoning);
		return true;
	}
	struct llm_usage est;
	cost_estimate_usage(j->msgs, j->n_msgs, sbuf_str(&r->text), &est);
	long thought = cost_estimate_tokens(sbuf_str(&r->reasoning));
	if (!r->usage_seen || u->in <= 0) {
		u->in = est.in;
		u->estimated = true;
	}
	if (u->out < est.out + thought) {
		u->out = est.out + thought;
		u->reasoning = MAX(u->reasoning, thought);
		u->estimated = true;
	}
	reasoning_fill(u, &r->reasoning);
	return true;
}

void attempt_done(struct llm *l, struct job *j, CURLcode code)
{
	if (job_orphaned(j)) {
		job_drop(l, j);
		return;
	}
	struct retry_facts f;
	char *err = attempt_outcome(j, code, l->opt.stall_timeout_s, &f);
	enum answer_kind how = !err              ? ANSWER_OK
	                       : f.status == 429 ? ANSWER_THROTTLED
	                                         : ANSWER_FAILED;
	if (how == ANSWER_THROTTLED)
		l->st.throttled++;
	replica_learn(j, !err, replica_fault(f.status, f.curl_code), &l->opt, now_ms());
	limiter_learn(j->lim, how, how == ANSWER_THROTTLED ? f.retry_after_s : -1,
	              l->opt.backoff_max_s, &j->limits, j->lim_seq, now_ms());
	if (!err) {
		char *text = sbuf_take(&j->res.text);
		free(j->finish);
		j->finish = j->res.finish_reason;
		j->res.finish_reason = NULL;
		struct llm_usage u = j->res.usage;
		bool seen = j->res.usage_seen;
		reasoning_fill(&u, &j->res.reasoning);
		job_set_reasoning(j, j->res.reasoning.len ? sbuf_take(&j->res.reasoning) : NULL);
		attempt_clear(l, j);
		job_succeed(l, j, text, seen ? &u : NULL);
		return;
	}
	struct llm_usage billed;
	if (attempt_billed(j, &billed))
		job_bill(j, &billed);
	struct retry_policy pol = {l->opt.max_attempts, l->opt.backoff_base_s, l->opt.backoff_max_s,
	                           l->opt.retry_budget_s};
	double delay;
	if (retry_decide(&pol, &f, &l->rng, &delay)) {
		if (replica_elsewhere(j, now_ms()))
			delay = 0; /* another replica takes it at once */
		free(err);
		attempt_clear(l, j);
		j->lim->running--;
		j->scripted_delay = false;
		j->waited_s += delay;
		j->due_ms = now_ms() + (int64_t)(delay * 1000);
		job_set_state(l, j, JOB_TIMER);
		return;
	}
	attempt_clear(l, j);
	job_fail(l, j, err);
}

/* sched.c: the request scheduler behind llm.h.  One curl multi handle driven by socket_action
 * on our own poll (curl reports its sockets and timer), no threads.
 *
 * A submitted request becomes a waiter on a job; a job is one distinct request (one canonical
 * key) and owns at most one transfer at a time.  An identical request submitted while a job is
 * queued, running, waiting to retry, or answered but not yet delivered attaches to it as a
 * second waiter (deduplication).
 *
 * Job states:
 *   QUEUED      waiting for a concurrency slot or for its model's rpm/tpm bucket (FIFO)
 *   RUNNING     an easy handle is in the multi handle
 *   TIMER       waiting until due_ms: a retry backoff (holds no slot) or a scripted reply's
 *               delay (holds its slot, as a real request would)
 *   READY       finished (answer or error), delivered by the next llm_wait
 *   DELIVERING  its callbacks are running
 *
 * Nothing is ever delivered inside llm_submit: cache hits, offline misses and configuration
 * errors become READY jobs that the next llm_wait delivers without blocking.  llm_wait never
 * sleeps past a due timer: its poll timeout shrinks to the next retry, scripted delay, rate
 * bucket refill or stall deadline.
 *
 * Re-entrancy: done callbacks may submit and cancel freely (a READY job is delivered only in the
 * llm_wait after it became READY, so a callback that resubmits a cached request cannot spin).
 * Chunk callbacks run inside curl's write callback: a cancel there only marks the waiter, and
 * the job is dropped once curl_multi_socket_action has returned.  llm_wait and llm_free must
 * not be called from a callback.
 *
 * Stall timeout: applies to streamed responses once the response has begun (status line seen):
 * stall_timeout_s without a byte ends the attempt as a timeout (retryable).  Before the first
 * byte, and for whole responses, the connect timeout and the model's total timeout apply (a
 * reasoning model may think for a long while before it says anything).
 *
 * Streaming preview: chunk callbacks see each piece of text once.  When an attempt fails half
 * way and is retried, only text beyond what a waiter has already been shown is passed on (at
 * temperature 0 the retry says the same); the reply's text is always the final attempt's whole
 * answer.  A waiter that joins a running request catches up on the text streamed so far with
 * the next piece.
 *
 * Retries: see retry.h (which failures, full-jitter backoff, Retry-After capped at
 * backoff_max_s).  A retrying job gives its concurrency slot back while it waits.
 *
 * Cache and offline: a hit costs nothing and reports the original tokens as usage.cached; so
 * does a deduplicated waiter (the tokens are charged once, to the first waiter).  Offline, a
 * miss fails at once; the scripted provider still answers (it needs no network).  Redirects are
 * not followed: a 3xx is reported with its Location so that the base_url can be fixed.
 *
 * Keys: the model's api_key_env names the variable, else the provider's standard one
 * (OPENAI_API_KEY, ANTHROPIC_API_KEY).  A server on localhost / 127.0.0.0/8 / ::1 usually
 * needs no key (vLLM, llama.cpp, LM Studio): when the variable is not named explicitly and is
 * unset, such a request goes out without Authorization.  Keys are read from the environment
 * per attempt, passed to the wire format, and wiped from memory after the transfer. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "llm/cache.h"
#include "llm/cost.h"
#include "llm/llm.h"
#include "llm/provider.h"
#include "llm/retry.h"
#include "llm/rules.h"

#ifndef ADOPT_VERSION
#define ADOPT_VERSION "dev"
#endif

/* Largest whole or error body kept from one response; a streamed text is capped by the wire
 * format (LLM_RESULT_MAX_TEXT). */
#define BODY_MAX ((size_t)16 << 20)
#define NEVER    INT64_MAX

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_TIMER, JOB_READY, JOB_DELIVERING };
enum job_abort { ABORT_NONE, ABORT_TOO_BIG, ABORT_STREAM, ABORT_STALL };

struct waiter {
	struct waiter *next;
	uint64_t id;
	llm_done_fn *done;
	llm_chunk_fn *chunk;
	void *arg;
	char *tag;
	size_t streamed; /* bytes of the preview already passed to chunk */
	bool cancelled, delivered;
};

/* Concurrency and rate limits of one model configuration (by name). */
struct limiter {
	struct limiter *next;
	char *name;
	int cap, running;
	double rpm, tpm;
	double req_level, tok_level; /* token buckets; tok_level may go negative (debt) */
	int64_t refill_ms;
	unsigned blocked_pass;
	size_t queued; /* its jobs in the run queue */
};

struct rules_file {
	struct rules_file *next;
	char *path;
	struct rules *rules;
};

/* A list of jobs in submission order (seq), through job.snext/sprev. */
struct jlist {
	struct job *head, *tail;
	size_t n;
};

struct job {
	struct job *next, *prev;   /* every job, in submission order */
	struct job *snext, *sprev; /* the list of its state (struct llm: queued ... ready) */
	struct jlist *list;        /* that list, NULL while DELIVERING */
	struct job *hnext;         /* the key index bucket */
	uint64_t seq;
	enum job_state state;
	char key[65];
	struct model_config m; /* private copy */
	const struct provider_ops *ops;
	struct limiter *lim;
	struct llm_message *msgs;
	size_t n_msgs;
	struct waiter *waiters;
	int attempts;
	int64_t t_submit_ms, due_ms;
	bool scripted_delay; /* TIMER holds a scripted reply rather than a retry */
	long tok_reserved;

	/* the current attempt */
	CURL *easy;
	struct curl_slist *hdrs;
	struct http_request http;
	void *stream;
	bool streaming, status_seen;
	long status;
	struct llm_result res;
	struct sbuf body;    /* whole body (not streamed) or error body */
	struct sbuf preview; /* streamed text of this attempt */
	char *location;
	enum job_abort abort;
	int64_t last_data_ms;
	double retry_after_s;
	int should_retry;
	char errbuf[CURL_ERROR_SIZE];

	/* the outcome */
	char *text, *error;
	struct llm_usage usage;
	double cost;
	bool cached, scripted;
};

struct llm {
	struct llm_options opt;
	CURLM *multi;
	struct job *head, *tail;
	/* the jobs by state, so that a wake-up touches only the jobs that can change */
	struct jlist queued, running, timers, ready, delivering;
	struct job **index; /* by key: hash chains of every job */
	size_t index_cap, n_jobs;
	size_t pending; /* waiters neither cancelled nor delivered */
	bool reap;      /* a cancel inside curl left an orphaned job to drop */
	uint64_t next_seq;
	struct limiter *limiters;
	struct rules_file *rules;
	struct cache *cache;
	struct cost_book *book;
	struct llm_stats st;
	struct rng rng;
	uint64_t next_id;
	unsigned pass;
	bool in_perform, in_wait;
	/* curl's sockets and timer (CURLMOPT_SOCKETFUNCTION, CURLMOPT_TIMERFUNCTION): llm_wait
	 * polls them itself and tells curl which one is ready, so that curl does not poll every
	 * transfer again on each wake-up */
	struct pollfd *socks;
	size_t n_socks, socks_cap;
	int64_t curl_due_ms; /* -1: no timer */
};

/* ---- small helpers ---------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void model_copy(struct model_config *dst, const struct model_config *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->provider = dup_or_null(src->provider);
	dst->base_url = dup_or_null(src->base_url);
	dst->model = dup_or_null(src->model);
	dst->api_key_env = dup_or_null(src->api_key_env);
	dst->rules = dup_or_null(src->rules);
}

static void model_free(struct model_config *m)
{
	free(m->name);
	free(m->provider);
	free(m->base_url);
	free(m->model);
	free(m->api_key_env);
	free(m->rules);
}

static const char *model_label(const struct model_config *m)
{
	return m->name ? m->name : m->model ? m->model : "?";
}

static bool is_scripted(const struct provider_ops *ops)
{
	return ops && !ops->build;
}

/* True when the URL's host is the loopback interface. */
static bool url_is_local(const char *url)
{
	if (!url)
		return false;
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	static const char *const local[] = {"localhost", "127.", "[::1]", "::1"};
	for (size_t i = 0; i < ARRAY_SIZE(local); i++) {
		size_t n = strlen(local[i]);
		if (strncasecmp(h, local[i], n) != 0)
			continue;
		char c = h[n];
		if (local[i][n - 1] == '.' || c == '\0' || c == ':' || c == '/')
			return true;
	}
	return false;
}

static const char *model_base_url(const struct provider_ops *ops, const struct model_config *m)
{
	if (is_scripted(ops))
		return m->rules ? m->rules : "";
	const char *b = provider_base_url(ops, m->base_url);
	return b ? b : "";
}

/* The API key for a model (NULL when none is needed or set); -1 when one is required and
 * missing. */
static int model_key(const struct provider_ops *ops, const struct model_config *m, const char **key,
                     struct err *e)
{
	*key = NULL;
	const char *var = m->api_key_env && *m->api_key_env ? m->api_key_env : ops->key_env;
	if (!var)
		return 0;
	const char *v = getenv(var);
	if (v && *v) {
		*key = v;
		return 0;
	}
	bool explicit_var = m->api_key_env && *m->api_key_env;
	if (!explicit_var && (!ops->key_required || url_is_local(model_base_url(ops, m))))
		return 0;
	return err_set(e, "model \"%s\": environment variable %s is not set (api_key_env)",
	               model_label(m), var);
}

/* ---- the canonical request key ---------------------------------------------------------- */

void llm_request_key(const struct llm_request *req, char out[65])
{
	const struct model_config *m = req->model;
	const struct provider_ops *ops = provider_find(m->provider);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "provider", m->provider ? m->provider : "");
	cJSON_AddStringToObject(o, "base_url", ops ? model_base_url(ops, m) : "");
	cJSON_AddStringToObject(o, "model", m->model ? m->model : "");
	cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
	for (size_t i = 0; i < req->n_messages; i++) {
		cJSON *mo = cJSON_CreateObject();
		cJSON_AddStringToObject(mo, "role",
		                        req->messages[i].role ? req->messages[i].role : "");
		cJSON_AddStringToObject(mo, "content",
		                        req->messages[i].content ? req->messages[i].content : "");
		cJSON_AddItemToArray(msgs, mo);
	}
	cJSON_AddNumberToObject(o, "temperature", m->temperature);
	cJSON_AddNumberToObject(o, "max_tokens", m->max_tokens);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* fetched once: an implicit fetch on every digest costs more than the hashing */
	static EVP_MD *sha256;
	if (!sha256)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!sha256 || !EVP_Digest(json, strlen(json), md, &mdlen, sha256, NULL) || mdlen != 32) {
		fprintf(stderr, "adopt-tui: SHA-256 unavailable from libcrypto\n");
		abort();
	}
	free(json);
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* ---- model checks ----------------------------------------------------------------------- */

int llm_check_model(const struct model_config *m, struct err *e)
{
	const char *label = model_label(m);
	if (!m->provider || !*m->provider)
		return err_set(e, "model \"%s\": no provider (one of: %s)", label,
		               provider_names());
	const struct provider_ops *ops = provider_find(m->provider);
	if (!ops)
		return err_set(e, "model \"%s\": unknown provider \"%s\" (one of: %s)", label,
		               m->provider, provider_names());
	if (is_scripted(ops)) {
		if (!m->rules || !*m->rules)
			return err_set(
			    e, "model \"%s\": the scripted provider needs a rules file (rules)",
			    label);
		struct rules *r = rules_load(m->rules, e);
		if (!r)
			return err_prefix(e, "model \"%s\"", label);
		rules_free(r);
		return 0;
	}
	if (!m->model || !*m->model)
		return err_set(e, "model \"%s\": no model name (model)", label);
	const char *key;
	return model_key(ops, m, &key, e);
}

/* ---- limits ----------------------------------------------------------------------------- */

static struct limiter *limiter_get(struct llm *l, const struct model_config *m)
{
	const char *name = model_label(m);
	struct limiter *lim;
	for (lim = l->limiters; lim; lim = lim->next)
		if (!strcmp(lim->name, name))
			break;
	if (!lim) {
		lim = xcalloc(1, sizeof(*lim));
		lim->name = xstrdup(name);
		lim->next = l->limiters;
		l->limiters = lim;
		lim->refill_ms = now_ms();
		lim->req_level = -1; /* filled below */
	}
	/* the latest configuration wins */
	lim->cap = m->concurrency > 0 ? m->concurrency : 8;
	lim->rpm = m->rpm > 0 ? m->rpm : 0;
	lim->tpm = m->tpm > 0 ? m->tpm : 0;
	if (lim->req_level < 0) {
		lim->req_level = MAX(1.0, lim->rpm / 60);
		lim->tok_level = MAX(1.0, lim->tpm / 60);
	}
	return lim;
}

/* Buckets hold one second's worth (at least one request): smooth pacing, small bursts. */
static double bucket_cap(double per_min)
{
	return MAX(1.0, per_min / 60);
}

static void limiter_refill(struct limiter *lim, int64_t now)
{
	double dt = (double)(now - lim->refill_ms) / 60000.0;
	lim->refill_ms = now;
	if (lim->rpm > 0)
		lim->req_level = MIN(bucket_cap(lim->rpm), lim->req_level + dt * lim->rpm);
	if (lim->tpm > 0)
		lim->tok_level = MIN(bucket_cap(lim->tpm), lim->tok_level + dt * lim->tpm);
}

/* Takes a slot and bucket tokens for a request needing `tokens`, or says when to ask again
 * (*retry_ms, NEVER when only a finishing request can free a slot). */
static bool limiter_admit(struct limiter *lim, long tokens, int64_t now, int64_t *retry_ms)
{
	*retry_ms = NEVER;
	if (lim->running >= lim->cap)
		return false;
	limiter_refill(lim, now);
	double wait_ms = 0;
	if (lim->rpm > 0 && lim->req_level < 1)
		wait_ms = MAX(wait_ms, (1 - lim->req_level) * 60000.0 / lim->rpm);
	if (lim->tpm > 0) {
		double need = MIN((double)tokens, bucket_cap(lim->tpm));
		if (lim->tok_level < need)
			wait_ms = MAX(wait_ms, (need - lim->tok_level) * 60000.0 / lim->tpm);
	}
	if (wait_ms > 0) {
		*retry_ms = now + (int64_t)wait_ms + 1;
		return false;
	}
	if (lim->rpm > 0)
		lim->req_level -= 1;
	if (lim->tpm > 0)
		lim->tok_level -= (double)tokens;
	lim->running++;
	return true;
}

/* ---- jobs ------------------------------------------------------------------------------- */

/* Inserts j in seq order; new jobs go last in O(1), a retried one walks back to its place. */
static void jlist_insert(struct jlist *q, struct job *j)
{
	struct job *after = q->tail;
	while (after && after->seq > j->seq)
		after = after->sprev;
	j->sprev = after;
	j->snext = after ? after->snext : q->head;
	if (j->snext)
		j->snext->sprev = j;
	else
		q->tail = j;
	if (after)
		after->snext = j;
	else
		q->head = j;
	j->list = q;
	q->n++;
}

static void jlist_remove(struct job *j)
{
	struct jlist *q = j->list;
	if (!q)
		return;
	if (j->sprev)
		j->sprev->snext = j->snext;
	else
		q->head = j->snext;
	if (j->snext)
		j->snext->sprev = j->sprev;
	else
		q->tail = j->sprev;
	j->snext = j->sprev = NULL;
	j->list = NULL;
	q->n--;
}

static struct jlist *state_list(struct llm *l, enum job_state st)
{
	struct jlist *const lists[] = {[JOB_QUEUED] = &l->queued,
	                               [JOB_RUNNING] = &l->running,
	                               [JOB_TIMER] = &l->timers,
	                               [JOB_READY] = &l->ready,
	                               [JOB_DELIVERING] = NULL};
	return lists[st];
}

/* Moves j to state st and to that state's list. */
static void job_set_state(struct llm *l, struct job *j, enum job_state st)
{
	if (j->state == JOB_QUEUED && j->list == &l->queued)
		j->lim->queued--;
	jlist_remove(j);
	j->state = st;
	struct jlist *q = state_list(l, st);
	if (q)
		jlist_insert(q, j);
	if (st == JOB_QUEUED)
		j->lim->queued++;
}

static size_t key_slot(const struct llm *l, const char *key)
{
	return (size_t)hash_bytes(key, 16, 0) & (l->index_cap - 1);
}

static void index_grow(struct llm *l)
{
	size_t old_cap = l->index_cap;
	struct job **old = l->index;
	l->index_cap = old_cap ? old_cap * 2 : 64;
	l->index = xcalloc(l->index_cap, sizeof(*l->index));
	for (size_t i = 0; i < old_cap; i++)
		for (struct job *j = old[i], *nj; j; j = nj) {
			nj = j->hnext;
			size_t s = key_slot(l, j->key);
			j->hnext = l->index[s];
			l->index[s] = j;
		}
	free(old);
}

static void job_link(struct llm *l, struct job *j)
{
	j->prev = l->tail;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	if (l->n_jobs + 1 > l->index_cap)
		index_grow(l);
	size_t s = key_slot(l, j->key);
	j->hnext = l->index[s];
	l->index[s] = j;
	l->n_jobs++;
}

static void job_unlink(struct llm *l, struct job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		l->head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		l->tail = j->prev;
	j->next = j->prev = NULL;
	if (j->state == JOB_QUEUED && j->list == &l->queued)
		j->lim->queued--;
	jlist_remove(j);
	for (struct job **p = &l->index[key_slot(l, j->key)]; *p; p = &(*p)->hnext)
		if (*p == j) {
			*p = j->hnext;
			break;
		}
	l->n_jobs--;
}

static void slist_wipe_free(struct curl_slist *s)
{
	for (struct curl_slist *p = s; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(s);
}

/* Ends the current attempt's transfer and frees everything it used (not the outcome). */
static void attempt_clear(struct llm *l, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(l->multi, j->easy);
		curl_easy_cleanup(j->easy);
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
	j->errbuf[0] = '\0';
}

static bool job_holds_slot(const struct job *j)
{
	return j->state == JOB_RUNNING || (j->state == JOB_TIMER && j->scripted_delay);
}

static void job_free(struct llm *l, struct job *j)
{
	if (job_holds_slot(j) && j->lim)
		j->lim->running--;
	attempt_clear(l, j);
	for (struct waiter *w = j->waiters, *next; w; w = next) {
		next = w->next;
		l->pending -= !w->cancelled && !w->delivered;
		free(w->tag);
		free(w);
	}
	for (size_t i = 0; i < j->n_msgs; i++) {
		free((char *)j->msgs[i].role);
		free((char *)j->msgs[i].content);
	}
	free(j->msgs);
	model_free(&j->m);
	free(j->text);
	free(j->error);
	free(j);
}

static void job_drop(struct llm *l, struct job *j)
{
	job_unlink(l, j);
	job_free(l, j);
}

static bool job_orphaned(const struct job *j)
{
	for (const struct waiter *w = j->waiters; w; w = w->next)
		if (!w->cancelled)
			return false;
	return true;
}

static const char *job_tag(const struct job *j)
{
	for (const struct waiter *w = j->waiters; w; w = w->next)
		if (!w->cancelled)
			return w->tag;
	return j->waiters ? j->waiters->tag : "";
}

static void job_ready(struct llm *l, struct job *j)
{
	if (j->state == JOB_RUNNING || (j->state == JOB_TIMER && j->scripted_delay))
		j->lim->running--;
	j->scripted_delay = false;
	job_set_state(l, j, JOB_READY);
}

static void job_fail(struct llm *l, struct job *j, char *msg)
{
	free(j->error);
	j->error = msg;
	job_ready(l, j);
}

/* usage NULL: the provider reported none, estimate it. */
static void job_succeed(struct llm *l, struct job *j, char *text, const struct llm_usage *usage)
{
	j->text = text;
	if (usage) {
		j->usage = *usage;
		j->usage.estimated = false;
	} else {
		cost_estimate_usage(j->msgs, j->n_msgs, text, &j->usage);
	}
	double pin, pout;
	llm_price(&j->m, &pin, &pout, NULL);
	j->cost = cost_usd(pin, pout, &j->usage);
	if (j->lim->tpm > 0) /* give back what the reservation overestimated */
		j->lim->tok_level =
		    MIN(bucket_cap(j->lim->tpm), j->lim->tok_level + (double)j->tok_reserved -
		                                     (double)(j->usage.in + j->usage.out));
	if (l->cache && !l->opt.no_cache) {
		struct err e;
		cache_put(l->cache, j->key, j->m.model, text, &j->usage, &e);
		/* a failed append keeps the answer in memory; the file is only a convenience */
	}
	job_ready(l, j);
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
		j->streaming = j->m.stream && j->status >= 200 && j->status < 300;
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
	if (j->body.len + n > BODY_MAX) {
		j->abort = ABORT_TOO_BIG;
		return 0;
	}
	sbuf_add(&j->body, p, n);
	return n;
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
	}
	return n;
}

/* ---- attempts --------------------------------------------------------------------------- */

static char *attempt_error(const struct job *j, const char *head, const char *msg)
{
	if (j->attempts > 1)
		return xasprintf("%s after %d attempts: %s", head, j->attempts, msg);
	return xasprintf("%s: %s", head, msg);
}

static void attempt_start(struct llm *l, struct job *j)
{
	struct err e = {{0}};
	j->attempts++;
	attempt_clear(l, j);
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
		j->due_ms = now_ms() + delay;
		job_set_state(l, j, JOB_TIMER);
		return;
	}
	const char *key;
	const char *base = model_base_url(j->ops, &j->m);
	struct llm_request req = {&j->m, j->msgs, j->n_msgs, job_tag(j)};
	if (model_key(j->ops, &j->m, &key, &e) < 0 ||
	    j->ops->build(&req, base, key, j->m.stream, &j->http, &e) < 0) {
		job_fail(l, j, xstrdup(e.msg));
		return;
	}
	for (size_t i = 0; j->http.headers && j->http.headers[i]; i++)
		j->hdrs = curl_slist_append(j->hdrs, j->http.headers[i]);
	j->hdrs = curl_slist_append(j->hdrs, "Expect:");
	CURL *h = j->easy = curl_easy_init();
	if (!h) {
		job_fail(l, j, xstrdup("curl_easy_init failed"));
		return;
	}
	double timeout = j->m.timeout_s > 0 ? j->m.timeout_s : 120;
	curl_easy_setopt(h, CURLOPT_URL, j->http.url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, j->http.body ? j->http.body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	                 (curl_off_t)(j->http.body ? strlen(j->http.body) : 0));
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
}

/* Classifies how the attempt ended: fills f, and returns the message (NULL on success). */
static char *attempt_outcome(struct job *j, CURLcode code, double stall_s, struct retry_facts *f)
{
	const char *pname = j->ops->name;
	*f = (struct retry_facts){j->attempts, 0, 0, false, j->should_retry, j->retry_after_s};
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
		snprintf(msg, sizeof(msg), "response larger than %zu MiB", BODY_MAX >> 20);
		return attempt_error(j, pname, msg);
	}
	if (j->abort == ABORT_STREAM || (code == CURLE_OK && j->status >= 200 && j->status < 300)) {
		if (j->abort != ABORT_STREAM) {
			if (j->streaming)
				j->ops->stream_end(j->stream, &j->res);
			else
				j->ops->parse(sbuf_str(&j->body), j->body.len, &j->res);
		}
		if (!j->res.error)
			return NULL;
		f->provider_retryable = j->res.retryable;
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
	char *head = xasprintf("%s %ld%s%s", pname, j->status, j->res.error_type ? " " : "",
	                       j->res.error_type ? j->res.error_type : "");
	char *m = attempt_error(j, head, j->res.error ? j->res.error : "(no message)");
	free(head);
	return m;
}

static void attempt_done(struct llm *l, struct job *j, CURLcode code)
{
	if (job_orphaned(j)) {
		job_drop(l, j);
		return;
	}
	struct retry_facts f;
	char *err = attempt_outcome(j, code, l->opt.stall_timeout_s, &f);
	if (!err) {
		char *text = sbuf_take(&j->res.text);
		struct llm_usage u = j->res.usage;
		bool seen = j->res.usage_seen;
		attempt_clear(l, j);
		job_succeed(l, j, text, seen ? &u : NULL);
		return;
	}
	struct retry_policy pol = {l->opt.max_attempts, l->opt.backoff_base_s,
	                           l->opt.backoff_max_s};
	double delay;
	if (retry_decide(&pol, &f, &l->rng, &delay)) {
		free(err);
		attempt_clear(l, j);
		j->lim->running--;
		j->scripted_delay = false;
		j->due_ms = now_ms() + (int64_t)(delay * 1000);
		job_set_state(l, j, JOB_TIMER);
		return;
	}
	attempt_clear(l, j);
	job_fail(l, j, err);
}

/* ---- scheduling ------------------------------------------------------------------------- */

/* Fires due timers, starts what may start, and returns when to look again (NEVER: only a
 * socket event can change anything). */
static int64_t schedule(struct llm *l)
{
	int64_t now = now_ms(), next = NEVER;
	l->pass++;
	for (struct job *j = l->timers.head, *nj; j; j = nj) {
		nj = j->snext;
		if (j->due_ms > now) {
			next = MIN(next, j->due_ms);
		} else if (j->scripted_delay) {
			char *text = j->text;
			j->text = NULL;
			job_succeed(l, j, text, NULL);
		} else {
			job_set_state(l, j, JOB_QUEUED);
		}
	}
	if (l->opt.stall_timeout_s > 0)
		for (struct job *j = l->running.head; j; j = j->snext)
			if (j->streaming)
				next = MIN(next, j->last_data_ms +
				                     (int64_t)(l->opt.stall_timeout_s * 1000));
	/* FIFO in submission order; a model that cannot start its first queued job starts none
	 * behind it.  `left` counts queued jobs of models not blocked yet: once it is zero, the
	 * rest of the queue is all blocked and is not walked. */
	size_t left = l->queued.n;
	for (struct job *j = l->queued.head, *nj; j && left; j = nj) {
		nj = j->snext;
		if (j->lim->blocked_pass == l->pass)
			continue;
		int64_t when;
		if (!limiter_admit(j->lim, j->tok_reserved, now, &when)) {
			j->lim->blocked_pass = l->pass;
			left -= j->lim->queued;
			next = MIN(next, when);
			continue;
		}
		left--;
		attempt_start(l, j);
		if (j->state == JOB_TIMER)
			next = MIN(next, j->due_ms);
	}
	return next;
}

static void stall_check(struct llm *l)
{
	if (l->opt.stall_timeout_s <= 0)
		return;
	int64_t now = now_ms(), limit = (int64_t)(l->opt.stall_timeout_s * 1000);
	for (struct job *j = l->running.head, *nj; j; j = nj) {
		nj = j->snext;
		if (j->streaming && now - j->last_data_ms >= limit) {
			j->abort = ABORT_STALL;
			attempt_done(l, j, CURLE_OPERATION_TIMEDOUT);
		}
	}
}

/* Drops the jobs whose every waiter was cancelled inside curl's callbacks. */
static void reap_orphans(struct llm *l)
{
	if (!l->reap)
		return;
	l->reap = false;
	for (struct job *j = l->head, *nj; j; j = nj) {
		nj = j->next;
		if (j->state != JOB_DELIVERING && job_orphaned(j))
			job_drop(l, j);
	}
}

/* ---- delivery --------------------------------------------------------------------------- */

static void account(struct llm_stats *s, const struct llm_reply *r)
{
	if (r->error) {
		s->failed++;
		return;
	}
	s->done++;
	if (r->cached)
		s->cached++;
	s->tokens_in += r->usage.in;
	s->tokens_out += r->usage.out;
	s->tokens_cached += r->usage.cached;
	s->cost_usd += r->cost_usd;
}

static void job_deliver(struct llm *l, struct job *j)
{
	job_set_state(l, j, JOB_DELIVERING);
	bool charged = j->cached; /* a cache hit costs nothing */
	double latency = (double)(now_ms() - j->t_submit_ms) / 1000;
	for (struct waiter *w = j->waiters; w; w = w->next) {
		if (w->cancelled)
			continue;
		struct llm_reply r = {0};
		r.text = j->error ? "" : j->text ? j->text : "";
		r.error = j->error;
		r.cached = j->cached;
		r.scripted = j->scripted;
		r.attempts = j->attempts;
		r.latency_s = latency;
		memcpy(r.key, j->key, sizeof(r.key));
		if (!j->error && !charged) {
			r.usage = j->usage;
			r.cost_usd = j->cost;
			charged = true;
		} else if (!j->error) { /* a shared or cached answer: its tokens were paid before */
			r.usage.cached = j->usage.in + j->usage.out;
			r.usage.estimated = j->usage.estimated;
		}
		account(&l->st, &r);
		account(cost_book_tag(l->book, w->tag), &r);
		w->delivered = true;
		l->pending--;
		if (w->done)
			w->done(w->arg, &r);
	}
	job_drop(l, j);
}

/* Delivers the jobs that are READY now, in submission order; what becomes READY in their
 * callbacks waits for the next llm_wait. */
static void deliver_ready(struct llm *l)
{
	l->delivering = l->ready;
	l->ready = (struct jlist){0};
	for (struct job *j = l->delivering.head; j; j = j->snext)
		j->list = &l->delivering;
	while (l->delivering.head)
		job_deliver(l, l->delivering.head);
}

/* ---- public API ------------------------------------------------------------------------- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	(void)easy;
	(void)sockp;
	struct llm *l = arg;
	size_t i = 0;
	while (i < l->n_socks && l->socks[i].fd != fd)
		i++;
	if (what == CURL_POLL_REMOVE) {
		if (i < l->n_socks)
			l->socks[i] = l->socks[--l->n_socks];
		return 0;
	}
	if (i == l->n_socks) {
		if (l->n_socks == l->socks_cap) {
			l->socks_cap = l->socks_cap ? 2 * l->socks_cap : 16;
			l->socks = xrealloc(l->socks, l->socks_cap * sizeof(*l->socks));
		}
		l->n_socks++;
	}
	l->socks[i] = (struct pollfd){
	    fd,
	    (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0)),
	    0};
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	(void)multi;
	struct llm *l = arg;
	l->curl_due_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

struct llm *llm_new(const struct llm_options *opt, struct err *e)
{
	static const struct llm_options defaults = {0};
	if (!opt)
		opt = &defaults;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(e, "cannot initialise libcurl");
		return NULL;
	}
	struct llm *l = xcalloc(1, sizeof(*l));
	l->opt = *opt;
	l->opt.cache_path = NULL; /* not kept: the caller owns the string */
	if (l->opt.max_attempts <= 0)
		l->opt.max_attempts = 5;
	if (l->opt.connect_timeout_s <= 0)
		l->opt.connect_timeout_s = 10;
	if (l->opt.stall_timeout_s <= 0)
		l->opt.stall_timeout_s = 30;
	if (l->opt.backoff_base_s <= 0)
		l->opt.backoff_base_s = 0.5;
	if (l->opt.backoff_max_s <= 0)
		l->opt.backoff_max_s = 30;
	rng_seed(&l->rng, opt->seed);
	l->book = cost_book_new();
	l->multi = curl_multi_init();
	if (!l->multi) {
		err_set(e, "cannot create a curl multi handle");
		goto fail;
	}
	l->curl_due_ms = -1;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	if (!opt->no_cache) {
		l->cache = cache_open(opt->cache_path, e);
		if (!l->cache)
			goto fail;
	}
	return l;
fail:
	llm_free(l);
	return NULL;
}

void llm_free(struct llm *l)
{
	if (!l)
		return;
	while (l->head)
		job_drop(l, l->head);
	for (struct limiter *lim = l->limiters, *n; lim; lim = n) {
		n = lim->next;
		free(lim->name);
		free(lim);
	}
	for (struct rules_file *f = l->rules, *n; f; f = n) {
		n = f->next;
		rules_free(f->rules);
		free(f->path);
		free(f);
	}
	free(l->index);
	cache_close(l->cache);
	cost_book_free(l->book);
	if (l->multi)
		curl_multi_cleanup(l->multi);
	free(l->socks);
	free(l);
	curl_global_cleanup();
}

static struct job *job_find_key(struct llm *l, const char *key)
{
	if (!l->index_cap)
		return NULL;
	for (struct job *j = l->index[key_slot(l, key)]; j; j = j->hnext)
		if ((j->state == JOB_QUEUED || j->state == JOB_RUNNING || j->state == JOB_TIMER ||
		     (j->state == JOB_READY && !j->error)) &&
		    !strcmp(j->key, key))
			return j;
	return NULL;
}

static struct job *job_new(struct llm *l, const struct llm_request *req, const char *key,
                           const struct provider_ops *ops)
{
	struct job *j = xcalloc(1, sizeof(*j));
	memcpy(j->key, key, 65);
	model_copy(&j->m, req->model);
	j->ops = ops;
	j->n_msgs = req->n_messages;
	j->msgs = xcalloc(j->n_msgs ? j->n_msgs : 1, sizeof(*j->msgs));
	for (size_t i = 0; i < j->n_msgs; i++) {
		j->msgs[i].role = xstrdup(req->messages[i].role ? req->messages[i].role : "user");
		j->msgs[i].content =
		    xstrdup(req->messages[i].content ? req->messages[i].content : "");
	}
	j->t_submit_ms = now_ms();
	j->retry_after_s = -1;
	j->should_retry = -1;
	j->seq = ++l->next_seq;
	job_link(l, j);
	return j;
}

uint64_t llm_submit(struct llm *l, const struct llm_request *req, llm_done_fn *done,
                    llm_chunk_fn *chunk, void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->id = ++l->next_id;
	w->done = done;
	w->chunk = chunk;
	w->arg = arg;
	w->tag = xstrdup(req->tag ? req->tag : "");
	l->st.submitted++;
	l->pending++;
	cost_book_tag(l->book, w->tag)->submitted++;

	char key[65];
	llm_request_key(req, key);
	const struct provider_ops *ops = provider_find(req->model->provider);
	struct job *j = ops ? job_find_key(l, key) : NULL;
	if (j) {
		struct waiter **p = &j->waiters;
		while (*p)
			p = &(*p)->next;
		*p = w;
		l->st.deduplicated++;
		cost_book_tag(l->book, w->tag)->deduplicated++;
		return w->id;
	}
	j = job_new(l, req, key, ops);
	j->waiters = w;
	j->lim = limiter_get(l, req->model);
	enum job_state st = JOB_READY;
	const struct cache_entry *hit =
	    ops && l->cache && !l->opt.no_cache ? cache_get(l->cache, key) : NULL;
	if (!ops) {
		j->error = xasprintf(
		    "model \"%s\": unknown provider \"%s\" (one of: %s)", model_label(req->model),
		    req->model->provider ? req->model->provider : "", provider_names());
	} else if (hit) {
		j->text = xstrdup(hit->text);
		j->usage = hit->usage;
		j->cached = true;
		j->scripted = is_scripted(ops);
	} else if (l->opt.offline && !is_scripted(ops)) {
		j->error =
		    xasprintf("offline: no cached answer for this request (%s, model \"%s\")",
		              *w->tag ? w->tag : "untagged", model_label(req->model));
	} else {
		struct llm_usage est;
		cost_estimate_usage(j->msgs, j->n_msgs, "", &est);
		j->tok_reserved =
		    est.in + (req->model->max_tokens > 0 ? req->model->max_tokens : 0);
		st = JOB_QUEUED;
	}
	job_set_state(l, j, st);
	return w->id;
}

static void waiter_cancel(struct llm *l, struct job *j, struct waiter *w)
{
	w->cancelled = true;
	l->pending--;
	if (l->in_perform)
		l->reap = true; /* dropped after curl returns */
	if (l->in_perform || j->state == JOB_DELIVERING || !job_orphaned(j))
		return; /* ... or after delivery, or shared with others */
	job_drop(l, j);
}

void llm_cancel(struct llm *l, uint64_t id)
{
	for (struct job *j = l->head; j; j = j->next)
		for (struct waiter *w = j->waiters; w; w = w->next)
			if (w->id == id && !w->cancelled && !w->delivered) {
				waiter_cancel(l, j, w);
				return;
			}
}

void llm_cancel_all(struct llm *l)
{
	for (struct job *j = l->head, *nj; j; j = nj) {
		nj = j->next;
		for (struct waiter *w = j->waiters; w; w = w->next) {
			l->pending -= !w->cancelled && !w->delivered;
			w->cancelled = true;
		}
		l->reap |= l->in_perform;
		if (!l->in_perform && j->state != JOB_DELIVERING)
			job_drop(l, j);
	}
}

/* Lets curl act on one ready socket (or, with CURL_SOCKET_TIMEOUT, on its due timer) and
 * collects the transfers that ended. */
static int curl_act(struct llm *l, curl_socket_t fd, int mask)
{
	int running = 0, rc = 0;
	if (fd == CURL_SOCKET_TIMEOUT)
		l->curl_due_ms = -1; /* curl sets the next one while it acts */
	l->in_perform = true;
	if (curl_multi_socket_action(l->multi, fd, mask, &running) != CURLM_OK)
		rc = -1;
	l->in_perform = false;
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(l->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		CURLcode code = msg->data.result;
		if (priv)
			attempt_done(l, (struct job *)priv, code);
	}
	return rc;
}

/* What the caller's descriptors may wait for and be told (as with curl_multi_poll before). */
#define EXTRA_EVENTS (POLLIN | POLLPRI | POLLOUT)

static bool curl_timer_due(const struct llm *l)
{
	return l->curl_due_ms >= 0 && l->curl_due_ms <= now_ms();
}

int llm_wait(struct llm *l, struct pollfd *extra, unsigned n_extra, int timeout_ms)
{
	if (l->in_wait)
		return -1; /* called from a callback */
	l->in_wait = true;
	int rc = 0;
	int64_t next = schedule(l);
	if (curl_timer_due(l) && curl_act(l, CURL_SOCKET_TIMEOUT, 0) < 0) /* start new transfers */
		rc = -1;
	bool ready = l->ready.head != NULL;
	int64_t wait = timeout_ms < 0 ? NEVER : timeout_ms;
	if (ready)
		wait = 0;
	else if (next != NEVER)
		wait = MIN(wait, MAX(0, next - now_ms()));
	if (l->curl_due_ms >= 0)
		wait = MIN(wait, MAX(0, l->curl_due_ms - now_ms()));
	if (wait == NEVER && n_extra == 0 && !l->head)
		wait = 0; /* nothing could ever wake us */
	if (wait > 24 * 3600 * 1000)
		wait = 24 * 3600 * 1000;

	/* curl's sockets first, then the caller's */
	size_t n = l->n_socks + n_extra;
	struct pollfd stackfds[64], *fds = n <= 64 ? stackfds : xcalloc(n, sizeof(*fds));
	if (l->n_socks)
		memcpy(fds, l->socks, l->n_socks * sizeof(*fds));
	for (unsigned i = 0; i < n_extra; i++) {
		fds[l->n_socks + i] =
		    (struct pollfd){extra[i].fd, extra[i].events & EXTRA_EVENTS, 0};
		extra[i].revents = 0;
	}
	size_t n_curl = l->n_socks;
	int np = poll(fds, (nfds_t)n, (int)wait);
	if (np < 0 && errno != EINTR)
		rc = -1;
	for (unsigned i = 0; np > 0 && i < n_extra && rc >= 0; i++) {
		extra[i].revents = fds[n_curl + i].revents & EXTRA_EVENTS;
		if (extra[i].revents)
			rc++;
	}
	/* every ready socket in one wake-up; on_socket may change l->socks meanwhile, fds is a
	 * copy (curl ignores a socket it has closed since) */
	for (size_t i = 0; np > 0 && i < n_curl; i++) {
		short ev = fds[i].revents;
		if (!ev)
			continue;
		int mask = ((ev & (POLLIN | POLLPRI)) ? CURL_CSELECT_IN : 0) |
		           ((ev & POLLOUT) ? CURL_CSELECT_OUT : 0) |
		           ((ev & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
		if (curl_act(l, fds[i].fd, mask) < 0)
			rc = -1;
	}
	if (fds != stackfds)
		free(fds);
	if (curl_timer_due(l) && curl_act(l, CURL_SOCKET_TIMEOUT, 0) < 0)
		rc = -1;
	stall_check(l);
	reap_orphans(l);
	schedule(l);
	deliver_ready(l);
	schedule(l); /* start what the callbacks submitted */
	l->in_wait = false;
	return rc;
}

size_t llm_pending(const struct llm *l)
{
	return l->pending;
}

/* Adds the live counts (in flight, retrying, queued) of waiters with `tag` (NULL: all). */
static void count_live(const struct llm *l, const char *tag, struct llm_stats *s)
{
	for (const struct job *j = l->head; j; j = j->next) {
		long *field = j->state == JOB_RUNNING                      ? &s->in_flight
		              : j->state == JOB_TIMER && j->scripted_delay ? &s->in_flight
		              : j->state == JOB_TIMER                      ? &s->retrying
		              : j->state == JOB_QUEUED                     ? &s->queued
		                                                           : NULL;
		if (!field)
			continue;
		for (const struct waiter *w = j->waiters; w; w = w->next)
			if (!w->cancelled && (!tag || !strcmp(tag, w->tag)))
				(*field)++;
	}
}

void llm_get_stats(const struct llm *l, struct llm_stats *s)
{
	*s = l->st;
	s->in_flight = s->retrying = s->queued = 0;
	count_live(l, NULL, s);
}

void llm_foreach_tag(const struct llm *l, llm_tag_fn *fn, void *arg)
{
	for (size_t i = 0; i < cost_book_count(l->book); i++) {
		struct llm_stats *p;
		const char *tag = cost_book_name(l->book, i, &p);
		struct llm_stats s = *p;
		s.in_flight = s.retrying = s.queued = 0;
		count_live(l, tag, &s);
		fn(arg, tag, &s);
	}
}

/* sched.c: the request scheduler behind llm.h: its public API, the poll loop and the
 * scheduling pass (timers, stalls, admitting queued jobs).  One curl multi handle driven by
 * socket_action on our own poll (curl reports its sockets and timer), no threads.  Jobs and
 * their lists are in sched_job.c; the rate limiters in sched_limit.c; a model's replicas
 * (several base URLs: which one takes an attempt, which are out) in sched_replica.c; one
 * attempt's transfer (keys, streaming preview, retries, redirects) in sched_http.c; delivery
 * and the figures in sched_deliver.c; outside event sources in sched_source.c; the canonical
 * request key in sched_reqkey.c; what they share in sched_int.h.
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
 * errors become READY jobs that the next llm_wait delivers without blocking (offline, a miss
 * fails at once; the scripted provider still answers: it needs no network).  llm_wait never
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
 * Event sources (llm_source_add): outside work in the same loop, such as an exec step's child
 * process.  llm_wait polls their descriptors after the caller's, never sleeps past their due
 * times, and dispatches them after curl has acted and before the ready jobs are delivered (what
 * their callbacks submit starts in the same llm_wait).  llm_cancel_all and llm_free cancel them
 * too (sched_source.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llm/cache.h"
#include "llm/cost.h"
#include "llm/journal.h"
#include "llm/rules.h"
#include "llm/sched_int.h"

/* ---- model checks ----------------------------------------------------------------------- */

int llm_check_model(const struct model_config *m, struct err *e)
{
	const char *label = model_label(m);
	if (!m->provider || !*m->provider)
		return err_set(e, "model \"%s\": no provider (one of: %s)", label,
		               provider_names());
	const struct provider_ops *ops = provider_find(m->provider);
	if (!ops || ops->retriever)
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
	if (m->n_replicas == 0)
		return model_key(ops, m, model_base_url(ops, m), &key, e);
	for (int i = 0; i < m->n_replicas; i++) /* a key needed by any of them */
		if (model_key(ops, m, m->replicas[i], &key, e) < 0)
			return -1;
	return 0;
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
		if (j->pool->blocked_pass == l->pass)
			continue;
		int64_t when;
		if (!pool_admit(j->pool, j, now, &when)) {
			j->pool->blocked_pass = l->pass;
			left -= j->pool->queued;
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
		l->socks = xgrow(l->socks, &l->socks_cap, l->n_socks + 1, sizeof(*l->socks));
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
	l->opt.user_base_url = NULL;
	l->gate = keygate_new(opt->trust, opt->user_base_url);
	if (l->opt.max_attempts <= 0)
		l->opt.max_attempts = 8;
	if (l->opt.connect_timeout_s <= 0)
		l->opt.connect_timeout_s = 10;
	if (l->opt.stall_timeout_s <= 0)
		l->opt.stall_timeout_s = 30;
	if (l->opt.backoff_base_s <= 0)
		l->opt.backoff_base_s = 1;
	if (l->opt.backoff_max_s <= 0)
		l->opt.backoff_max_s = 30;
	if (l->opt.retry_budget_s == 0)
		l->opt.retry_budget_s = 120;
	else if (l->opt.retry_budget_s < 0)
		l->opt.retry_budget_s = 0; /* retry.h: 0 is no limit */
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
		l->cache = opt->sandbox ? cache_open_ro(opt->cache_path, e)
		                        : cache_open(opt->cache_path, e);
		if (!l->cache)
			goto fail;
	}
	l->opt.spend_path = NULL;
	if (opt->spend_path && !(l->journal = opt->sandbox ? journal_open_ro(opt->spend_path, e)
	                                                   : journal_open(opt->spend_path, e)))
		goto fail;
	return l;
fail:
	llm_free(l);
	return NULL;
}

const char *llm_cache_problem(const struct llm *l, long *skipped)
{
	*skipped = l->cache ? cache_skipped(l->cache) : 0;
	return l->cache ? cache_problem(l->cache) : NULL;
}

void llm_free(struct llm *l)
{
	if (!l)
		return;
	sources_cancel_all(l);
	free(l->src_fds);
	while (l->head)
		job_drop(l, l->head);
	pools_free(l);
	for (struct rules_file *f = l->rules, *n; f; f = n) {
		n = f->next;
		rules_free(f->rules);
		free(f->path);
		free(f);
	}
	free(l->index);
	cache_close(l->cache);
	journal_close(l->journal);
	cost_book_free(l->book);
	keygate_free(l->gate);
	easy_pool_free(l);
	if (l->multi)
		curl_multi_cleanup(l->multi);
	free(l->socks);
	free(l);
	curl_global_cleanup();
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
	j->pool = pool_get(l, req->model);
	j->lim = j->pool->rep[0]; /* until an attempt takes a replica */
	enum job_state st = JOB_READY;
	const struct cache_entry *hit =
	    ops && l->cache && !l->opt.no_cache ? cache_get(l->cache, key) : NULL;
	if (!ops) {
		j->error = xasprintf(
		    "model \"%s\": unknown provider \"%s\" (one of: %s)", model_label(req->model),
		    req->model->provider ? req->model->provider : "", provider_names());
	} else if (hit) {
		job_set_text(j, xstrdup(hit->text)); /* a cache written before repair existed */
		job_set_reasoning(j, hit->reasoning ? xstrdup(hit->reasoning) : NULL);
		j->finish = hit->finish ? xstrdup(hit->finish) : NULL;
		j->usage = hit->usage;
		j->cached = true;
		j->scripted = is_scripted(ops);
	} else if (l->opt.sandbox && !is_scripted(ops)) {
		j->error = xasprintf("simulated run: a request to model \"%s\" (%s) is not sent",
		                     model_label(req->model), *w->tag ? w->tag : "untagged");
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

char *llm_cache_peek(const struct llm *l, const struct llm_request *req)
{
	if (!l->cache || l->opt.no_cache || !provider_find(req->model->provider))
		return NULL;
	char key[65];
	llm_request_key(req, key);
	const struct cache_entry *hit = cache_get(l->cache, key);
	return hit ? xstrdup(hit->text) : NULL;
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
	sources_cancel_all(l);
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
	int64_t next = MIN(schedule(l), sources_prepare(l));
	if (curl_timer_due(l) && curl_act(l, CURL_SOCKET_TIMEOUT, 0) < 0) /* start new transfers */
		rc = -1;
	bool ready = l->ready.head != NULL;
	/* one reading of the clock: read twice, a deadline due between the readings gave a
	 * negative wait, which poll takes as "forever" */
	int64_t now = now_ms(), wait = timeout_ms < 0 ? NEVER : timeout_ms;
	if (ready)
		wait = 0;
	else if (next != NEVER)
		wait = MIN(wait, next - now);
	if (l->curl_due_ms >= 0)
		wait = MIN(wait, l->curl_due_ms - now);
	wait = MAX(wait, 0);
	if (wait == NEVER && n_extra == 0 && !l->head && !l->n_sources)
		wait = 0; /* nothing could ever wake us */
	if (wait > 24 * 3600 * 1000)
		wait = 24 * 3600 * 1000;

	/* curl's sockets first, then the caller's, then the event sources' */
	size_t n = l->n_socks + n_extra + l->n_src_fds;
	struct pollfd stackfds[64], *fds = n <= 64 ? stackfds : xcalloc(n, sizeof(*fds));
	if (l->n_socks)
		memcpy(fds, l->socks, l->n_socks * sizeof(*fds));
	for (unsigned i = 0; i < n_extra; i++) {
		fds[l->n_socks + i] =
		    (struct pollfd){extra[i].fd, extra[i].events & EXTRA_EVENTS, 0};
		extra[i].revents = 0;
	}
	if (l->n_src_fds)
		memcpy(fds + l->n_socks + n_extra, l->src_fds, l->n_src_fds * sizeof(*fds));
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
	sources_dispatch(l, np > 0 ? fds + n_curl + n_extra : NULL);
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
	return l->pending + l->n_sources;
}

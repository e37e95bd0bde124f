/* sched_replica.c: a model's replicas.  A model configuration whose base_url lists several URLs
 * (replicas of a vLLM or Ollama server, gateways of one model) gets one limiter per URL, each
 * with the model's concurrency and rate limits, gathered in a pool; one base_url is a pool of
 * one, which behaves exactly as before.
 *
 * Choice: each attempt goes to the replica with the least load (requests in flight over its
 * current window) among those that admit it now, a replica the job has not failed on first;
 * ties go round.
 *
 * Health (only where there is somewhere else to go, two replicas or more): a replica fault
 * (no connection, a timeout or stall, a dropped response, a 5xx) takes the replica out (DOWN)
 * for the scheduler's backoff, doubling with each fault in a row (backoff_base_s, capped at
 * backoff_max_s); the requests that were in flight with the one that failed and fail too are
 * the same fault, not more of them.  Once that has passed, the next real request probes it
 * (PROBING: one request at a time); its answer returns the replica (UP), another fault takes it out
 * for longer. While every replica is out, they are all used as one endpoint would be, each request
 * keeping its own backoff, so that nothing waits for a probe that keeps failing.
 *
 * A failed attempt moves at once to a replica the job has not failed on when one is up; once
 * it has failed on every live replica it waits its backoff as with one endpoint (sched_http.c,
 * attempt_done).  The response cache key names the first URL (llm_request_key), never the
 * replica that answered. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "llm/sched_int.h"

/* The URL without its user:password@, for figures. */
static char *url_shown(const char *url)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t auth = strcspn(host, "/?#");
	const char *at = memchr(host, '@', auth);
	if (!at)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

static bool pool_matches(const struct pool *p, const struct model_config *m)
{
	if (strcmp(p->name, model_label(m)) != 0 || p->n != MAX(1, m->n_replicas))
		return false;
	for (int i = 0; i < m->n_replicas; i++)
		if (!p->rep[i]->url || strcmp(p->rep[i]->url, m->replicas[i]) != 0)
			return false;
	return m->n_replicas > 0 || !p->rep[0]->url;
}

struct pool *pool_get(struct llm *l, const struct model_config *m)
{
	struct pool *p;
	for (p = l->pools; p; p = p->next)
		if (pool_matches(p, m))
			break;
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(model_label(m));
		p->listed = m->n_replicas > 0;
		p->n = MAX(1, m->n_replicas);
		p->rep = xcalloc((size_t)p->n, sizeof(*p->rep));
		for (int i = 0; i < p->n; i++) {
			struct limiter *r = p->rep[i] = xcalloc(1, sizeof(*r));
			if (p->listed) {
				r->url = xstrdup(m->replicas[i]);
				r->shown = url_shown(r->url);
			}
		}
		struct pool **end = &l->pools; /* in order of first use, for figures */
		while (*end)
			end = &(*end)->next;
		*end = p;
	}
	for (int i = 0; i < p->n; i++) /* the latest configuration wins */
		limiter_config(p->rep[i], m);
	return p;
}

void pools_free(struct llm *l)
{
	for (struct pool *p = l->pools, *n; p; p = n) {
		n = p->next;
		for (int i = 0; i < p->n; i++) {
			free(p->rep[i]->url);
			free(p->rep[i]->shown);
			free(p->rep[i]);
		}
		free(p->rep);
		free(p->name);
		free(p);
	}
	l->pools = NULL;
}

static bool out_now(const struct limiter *r, int64_t now)
{
	return r->state == REPLICA_DOWN && r->down_until > now;
}

/* Requests in flight over what the replica takes at once now. */
static double load(const struct limiter *r)
{
	return (double)r->running / MAX(1, MIN(r->cap, (int)r->window));
}

bool pool_admit(struct pool *p, struct job *j, int64_t now, int64_t *retry_ms)
{
	*retry_ms = NEVER;
	if (p->n == 1) {
		j->lim = p->rep[0];
		j->replica = 0;
		return limiter_admit(j->lim, j->tok_reserved, now, retry_ms);
	}
	bool all_out = true;
	for (int i = 0; i < p->n && all_out; i++)
		all_out = out_now(p->rep[i], now);
	/* the candidates, best first: not failed on by j, least loaded, then in turn */
	int order[MODEL_REPLICAS_MAX], n = 0;
	for (int k = 0; k < p->n; k++) {
		int i = (p->cursor + k) % p->n;
		struct limiter *r = p->rep[i];
		if (!all_out && out_now(r, now)) {
			*retry_ms = MIN(*retry_ms, r->down_until);
			continue;
		}
		if (!all_out && r->state != REPLICA_UP && r->running > 0)
			continue; /* one probe at a time; its answer frees the slot */
		bool tried = j->tried >> i & 1;
		int at = n++;
		while (at > 0) {
			const struct limiter *o = p->rep[order[at - 1]];
			bool o_tried = j->tried >> order[at - 1] & 1;
			if (o_tried < tried || (o_tried == tried && load(o) <= load(r)))
				break;
			order[at] = order[at - 1];
			at--;
		}
		order[at] = i;
	}
	for (int k = 0; k < n; k++) {
		struct limiter *r = p->rep[order[k]];
		int64_t when;
		if (!limiter_admit(r, j->tok_reserved, now, &when)) {
			*retry_ms = MIN(*retry_ms, when);
			continue;
		}
		if (r->state == REPLICA_DOWN && !all_out)
			r->state = REPLICA_PROBING;
		j->lim = r;
		j->replica = order[k];
		p->cursor = (order[k] + 1) % p->n;
		return true;
	}
	return false;
}

/* curl's codes for "the replica did not answer": no connection, a timeout, a dropped or cut
 * response. */
static const int fault_codes[] = {CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
                                  CURLE_OPERATION_TIMEDOUT,   CURLE_GOT_NOTHING,
                                  CURLE_SEND_ERROR,           CURLE_RECV_ERROR,
                                  CURLE_PARTIAL_FILE,         CURLE_SSL_CONNECT_ERROR};

bool replica_fault(long status, int curl_code)
{
	if (status >= 500)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(fault_codes); i++)
		if (curl_code == fault_codes[i])
			return true;
	return false;
}

void replica_learn(struct job *j, bool ok, bool fault, const struct llm_options *opt, int64_t now)
{
	struct limiter *r = j->lim;
	if (ok) {
		r->answers++;
		r->latency_s += (double)(now - j->attempt_ms) / 1000;
		r->state = REPLICA_UP;
		r->faults = 0;
		return;
	}
	r->errors++;
	j->tried |= 1u << j->replica;
	if (!fault || j->pool->n < 2)
		return;
	if (r->state == REPLICA_DOWN && j->lim_seq <= r->out_seq)
		return; /* in flight when the replica was taken out: the same failure */
	r->faults++;
	r->out_seq = r->seq;
	double out_s = opt->backoff_base_s;
	for (int i = 1; i < r->faults && out_s < opt->backoff_max_s; i++)
		out_s *= 2;
	out_s = MIN(out_s, opt->backoff_max_s);
	r->state = REPLICA_DOWN;
	r->down_until = MAX(r->down_until, now + (int64_t)(out_s * 1000));
}

bool replica_elsewhere(const struct job *j, int64_t now)
{
	const struct pool *p = j->pool;
	for (int i = 0; i < p->n; i++)
		if (!(j->tried >> i & 1) && p->rep[i]->state == REPLICA_UP &&
		    !out_now(p->rep[i], now) && p->rep[i]->hold_until <= now)
			return true;
	return false;
}

/* ---- figures ---------------------------------------------------------------------------- */

void llm_foreach_replica(const struct llm *l, llm_replica_fn *fn, void *arg)
{
	static const char *const states[] = {
	    [REPLICA_UP] = "up", [REPLICA_DOWN] = "down", [REPLICA_PROBING] = "probing"};
	int64_t now = now_ms();
	for (const struct pool *p = l->pools; p; p = p->next) {
		if (!p->listed)
			continue;
		for (int i = 0; i < p->n; i++) {
			const struct limiter *r = p->rep[i];
			struct llm_replica f = {0};
			f.model = p->name;
			f.url = r->shown;
			f.index = i;
			f.requests = r->requests;
			f.errors = r->errors;
			f.in_flight = r->running;
			f.answered = r->answers;
			f.mean_latency_s = r->answers ? r->latency_s / (double)r->answers : 0;
			f.state = states[r->state];
			f.down_s = out_now(r, now) ? (double)(r->down_until - now) / 1000 : 0;
			fn(arg, &f);
		}
	}
}

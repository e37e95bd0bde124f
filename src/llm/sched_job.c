/* sched_job.c: the scheduler's bookkeeping: jobs (creation, state changes, success and failure,
 * freeing), the per-state lists in submission order, the index of jobs by request key, and the
 * per-replica concurrency slots and rpm/tpm token buckets.  No curl here beyond freeing a job's
 * transfer (sched_http.c). */
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "core/utf8.h"
#include "llm/cache.h"
#include "llm/cost.h"
#include "llm/sched_int.h"

/* ---- limits ----------------------------------------------------------------------------- */

void limiter_config(struct limiter *lim, const struct model_config *m)
{
	if (!lim->refill_ms) { /* a new one */
		lim->refill_ms = now_ms();
		lim->req_level = -1; /* filled below */
		lim->window = -1;
	}
	lim->cap = m->concurrency > 0 ? m->concurrency : 8;
	if (lim->window < 0 || lim->window > lim->cap)
		lim->window = lim->cap;
	lim->rpm = m->rpm > 0 ? m->rpm : 0;
	lim->tpm = m->tpm > 0 ? m->tpm : 0;
	if (lim->req_level < 0) {
		lim->req_level = MAX(1.0, lim->rpm / 60);
		lim->tok_level = MAX(1.0, lim->tpm / 60);
	}
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
bool limiter_admit(struct limiter *lim, long tokens, int64_t now, int64_t *retry_ms)
{
	*retry_ms = NEVER;
	if (lim->hold_until > now) {
		*retry_ms = lim->hold_until;
		return false;
	}
	int cap = MIN(lim->cap, MAX(1, (int)lim->window));
	if (lim->quota > 0 && lim->started >= lim->quota) {
		if (lim->answered >= 2 * lim->quota)
			lim->quota = 0;
		else
			cap = 1; /* the window's quota is spent, as far as we know: probe */
	}
	if (lim->running >= cap)
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
	lim->started++;
	lim->seq++;
	return true;
}

void limiter_learn(struct limiter *lim, enum answer_kind how, double delay_s, double max_s,
                   const struct retry_limits *rl, uint64_t seq, int64_t now)
{
	bool fresh = how == ANSWER_THROTTLED && seq > lim->cut_seq;
	if (fresh) {
		lim->before.window = lim->window;
		lim->before.quota = lim->quota;
		lim->before.hold_until = lim->hold_until;
		lim->refused_seq = seq;
		lim->refused_upto = lim->seq;
		lim->window = MAX(1.0, lim->window / 2);
		lim->cut_seq = lim->seq;
	} else if (how == ANSWER_OK) {
		lim->window = MIN((double)lim->cap, lim->window + 1 / MAX(1.0, lim->window));
		lim->answered += seq > lim->hold_seq;
		if (seq > lim->refused_seq && seq <= lim->refused_upto) {
			/* taken though sent after one the server refused: that 429 was no spent
			 * limit (load shedding, a blip); forget what it taught */
			lim->window = MAX(lim->window, lim->before.window);
			lim->quota = lim->before.quota;
			lim->hold_until = lim->before.hold_until;
			lim->refused_upto = 0;
		}
	}
	if (how == ANSWER_THROTTLED && !fresh)
		return; /* the rest of a burst: the first 429 of it said what there is to say */
	/* what the server may not have counted yet: the others in flight */
	double reset_s = -1;
	if (delay_s <= 0 && retry_limits_exhausted(rl, lim->running - 1, &reset_s))
		delay_s = reset_s;
	if (delay_s <= 0)
		return;
	/* a window ends here: a 429 of a request started in it says how much it held */
	if (fresh)
		lim->quota = MAX(1, lim->answered);
	lim->started = lim->answered = 0;
	lim->hold_seq = lim->seq;
	lim->hold_until = MAX(lim->hold_until, now + (int64_t)(MIN(delay_s, max_s) * 1000) + 1);
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
void job_set_state(struct llm *l, struct job *j, enum job_state st)
{
	if (j->state == JOB_QUEUED && j->list == &l->queued)
		j->pool->queued--;
	jlist_remove(j);
	j->state = st;
	struct jlist *q = state_list(l, st);
	if (q)
		jlist_insert(q, j);
	if (st == JOB_QUEUED)
		j->pool->queued++;
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
		j->pool->queued--;
	jlist_remove(j);
	for (struct job **p = &l->index[key_slot(l, j->key)]; *p; p = &(*p)->hnext)
		if (*p == j) {
			*p = j->hnext;
			break;
		}
	l->n_jobs--;
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
	model_config_free(&j->m);
	free(j->text);
	free(j->error);
	free(j->reasoning);
	free(j->finish);
	free(j);
}

void job_drop(struct llm *l, struct job *j)
{
	job_unlink(l, j);
	job_free(l, j);
}

bool job_orphaned(const struct job *j)
{
	for (const struct waiter *w = j->waiters; w; w = w->next)
		if (!w->cancelled)
			return false;
	return true;
}

const char *job_tag(const struct job *j)
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

/* Every error and answer passes here: a key a server echoed never leaves the LLM layer. */
void job_fail(struct llm *l, struct job *j, char *msg)
{
	redact_str(&msg);
	free(j->error);
	j->error = msg;
	job_ready(l, j);
}

void job_set_text(struct job *j, char *text)
{
	size_t n = strlen(text);
	free(j->text);
	j->replaced = utf8_repair(&text, &n);
	j->text = text;
}

void job_set_reasoning(struct job *j, char *reasoning)
{
	free(j->reasoning);
	j->reasoning = NULL;
	if (!reasoning || !*reasoning) {
		free(reasoning);
		return;
	}
	redact_str(&reasoning);
	size_t n = strlen(reasoning);
	utf8_repair(&reasoning, &n);
	j->reasoning = reasoning;
}

/* usage NULL: the provider reported none, estimate it. */
void job_succeed(struct llm *l, struct job *j, char *text, const struct llm_usage *usage)
{
	redact_str(&text);
	job_set_text(j, text);
	text = j->text;
	if (usage) {
		j->usage = *usage;
		j->usage.estimated = false;
	} else {
		cost_estimate_usage(j->msgs, j->n_msgs, text, &j->usage);
	}
	struct llm_prices p;
	llm_prices(&j->m, &p, NULL);
	j->cost = cost_usd(&p, &j->usage);
	if (j->lim->tpm > 0) /* give back what the reservation overestimated */
		j->lim->tok_level =
		    MIN(bucket_cap(j->lim->tpm), j->lim->tok_level + (double)j->tok_reserved -
		                                     (double)(j->usage.in + j->usage.out));
	if (l->cache && !l->opt.no_cache) {
		struct err e;
		cache_put(l->cache, j->key, j->m.model, text, j->reasoning, &j->usage, j->finish,
		          &e);
		/* a failed append keeps the answer in memory; the file is only a convenience */
	}
	job_ready(l, j);
}

void usage_add(struct llm_usage *dst, const struct llm_usage *u)
{
	dst->in += u->in;
	dst->out += u->out;
	dst->cached += u->cached;
	dst->cache_write += u->cache_write;
	dst->reasoning += u->reasoning;
	dst->estimated |= u->estimated;
}

void job_bill(struct job *j, const struct llm_usage *u)
{
	struct llm_prices p;
	llm_prices(&j->m, &p, NULL);
	usage_add(&j->billed, u);
	j->billed_cost += cost_usd(&p, u);
}

/* ---- lookup and creation ---------------------------------------------------------------- */

struct job *job_find_key(struct llm *l, const char *key)
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

struct job *job_new(struct llm *l, const struct llm_request *req, const char *key,
                    const struct provider_ops *ops)
{
	struct job *j = xcalloc(1, sizeof(*j));
	memcpy(j->key, key, 65);
	model_config_copy(&j->m, req->model);
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

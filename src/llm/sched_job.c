/* sched_job.c: the scheduler's bookkeeping: jobs (creation, state changes, success and failure,
 * freeing), the per-state lists in submission order and the index of jobs by request key.  No
 * curl here beyond freeing a job's transfer (sched_http.c). */
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "core/utf8.h"
#include "llm/cache.h"
#include "llm/cost.h"
#include "llm/journal.h"
#include "llm/sched_int.h"

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
	if (j->journaled && !j->counted) /* billed, but delivered to no one */
		job_count_unseen(l, j);
	l->undelivered_lines -= j->journaled;
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

void job_billed_total(const struct job *j, struct llm_usage *u, double *cost)
{
	*u = j->billed;
	*cost = j->billed_cost;
	if (!j->error) {
		usage_add(u, &j->usage);
		*cost += j->cost;
	}
}

/* What the job's attempts were billed, journaled the moment it is known: the answer is in the
 * response cache from now on, so a process killed before the delivery must not forget it.  The
 * line is counted by llm_spend_sync's mark only once the job is delivered (sched_deliver.c). */
static void job_journal(struct llm *l, struct job *j)
{
	struct llm_usage u;
	double cost;
	job_billed_total(j, &u, &cost);
	struct err e; /* a failed append is not counted: the old record stays */
	if (l->journal && !l->opt.sandbox && !j->cached && (u.in || u.out || cost > 0) &&
	    journal_add(l->journal, j->m.model, &u, cost, &e) == 0) {
		j->journaled = true;
		l->undelivered_lines++;
	}
}

static void job_ready(struct llm *l, struct job *j)
{
	job_journal(l, j);
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
	limiter_refund(j->lim, j->tok_reserved, j->usage.in + j->usage.out);
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

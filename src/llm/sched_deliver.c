/* sched_deliver.c: what the waiters get: a job's reply delivered to each live waiter, in
 * submission order, and what it cost counted in the figures (llm_get_stats, the figures by tag,
 * the spend journal).
 *
 * Money: a request is charged (to its first waiter) what all its attempts were billed, failed
 * ones included (sched_http.c, attempt_billed), whether it succeeds or not.  A cache hit costs
 * nothing and reports the original tokens as reused_tokens; so does a deduplicated waiter (the
 * tokens are charged once, to the first waiter). */
#include <string.h>

#include "llm/cost.h"
#include "llm/journal.h"
#include "llm/sched_int.h"

/* One delivery; `shared`: the request was another waiter's (counted once, as its). */
static void account(struct llm_stats *s, const struct llm_reply *r, bool shared)
{
	const struct llm_usage *u = &r->usage;
	bool billed = u->in || u->out || r->cost_usd > 0;
	if (shared) {
		s->shared++;
	} else if (r->error) {
		s->failed++;
		s->billed_failures += billed;
	} else {
		s->done++;
		s->cached += r->cached;
	}
	s->tokens_in += u->in;
	s->tokens_out += u->out;
	s->tokens_prompt_cached += u->cached;
	s->tokens_cache_write += u->cache_write;
	s->tokens_reasoning += u->reasoning;
	s->tokens_reused += r->reused_tokens;
	s->estimated += billed && u->estimated && !r->scripted; /* scripted: free, nominal */
	s->cost_usd += r->cost_usd;
}

static void job_deliver(struct llm *l, struct job *j)
{
	job_set_state(l, j, JOB_DELIVERING);
	bool charged = j->cached; /* a cache hit costs nothing */
	bool counted = false;     /* the request, counted with its first live waiter */
	/* time waiting for a slot, then time from the first attempt on (retries included) */
	int64_t now = now_ms(), start = j->t_start_ms ? j->t_start_ms : now;
	double queued = (double)(start - j->t_submit_ms) / 1000,
	       latency = (double)(now - start) / 1000;
	for (struct waiter *w = j->waiters; w; w = w->next) {
		if (w->cancelled)
			continue;
		struct llm_reply r = {0};
		r.text = j->error ? "" : j->text ? j->text : "";
		r.reasoning = j->error || !j->reasoning ? "" : j->reasoning;
		r.error = j->error;
		r.cached = j->cached;
		r.scripted = j->scripted;
		r.attempts = j->attempts;
		r.latency_s = latency;
		r.queued_s = queued;
		r.replaced = j->error ? 0 : j->replaced;
		r.finish_reason = j->error ? NULL : j->finish;
		r.cut = !j->error && provider_finish_cut(j->finish);
		memcpy(r.key, j->key, sizeof(r.key));
		r.shared = counted;
		if (!j->error)
			r.answer = j->usage;
		if (!charged) { /* the failed attempts' bill, and the answer's */
			job_billed_total(j, &r.usage, &r.cost_usd);
			charged = true;
		} else if (!j->error) { /* a shared or cached answer: its tokens were paid before */
			r.reused_tokens = j->usage.in + j->usage.out;
		}
		account(&l->st, &r, counted);
		account(cost_book_tag(l->book, w->tag), &r, counted);
		counted = true;
		w->delivered = true;
		l->pending--;
		if (w->done)
			w->done(w->arg, &r);
	}
	j->counted = counted;
	job_drop(l, j); /* its journal line, if any, now counted (llm_spend_sync) */
}

void job_count_unseen(struct llm *l, struct job *j)
{
	struct llm_reply r = {.text = "", .error = j->error, .attempts = j->attempts};
	job_billed_total(j, &r.usage, &r.cost_usd);
	if (!j->error)
		r.answer = j->usage;
	account(&l->st, &r, false);
	account(cost_book_tag(l->book, job_tag(j)), &r, false);
	j->counted = true;
}

void deliver_ready(struct llm *l)
{
	l->delivering = l->ready;
	l->ready = (struct jlist){0};
	for (struct job *j = l->delivering.head; j; j = j->snext)
		j->list = &l->delivering;
	while (l->delivering.head)
		job_deliver(l, l->delivering.head);
}

/* Adds the live counts (in flight, retrying, queued) of waiters with `tag` (NULL: all). */
static void count_live(const struct llm *l, const char *tag, struct llm_stats *s)
{
	for (const struct job *j = l->head; j; j = j->next) {
		long *field = j->state == JOB_RUNNING                      ? &s->in_flight
		              : j->state == JOB_TIMER && j->scripted_delay ? &s->in_flight
		              : j->state == JOB_TIMER && !j->key_held      ? &s->retrying
		              : j->state == JOB_QUEUED || j->key_held      ? &s->queued
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
	/* the waiting state: the soonest retry, or a rate-limit hold with work behind it */
	int64_t now = now_ms(), until = NEVER;
	for (const struct job *j = l->timers.head; j; j = j->snext)
		if (!j->scripted_delay)
			until = MIN(until, j->due_ms);
	for (const struct pool *p = l->pools; p; p = p->next) {
		int64_t held = NEVER; /* the pool waits for its first replica free of a hold */
		for (int i = 0; p->queued && i < p->n; i++)
			held = MIN(held, MAX(p->rep[i]->hold_until, now));
		if (held > now)
			until = MIN(until, held);
	}
	s->wait_s = until == NEVER ? 0 : (double)MAX(until - now, 0) / 1000;
}

int llm_spend_sync(struct llm *l, long *mark, struct err *e)
{
	/* the lines of answers not yet delivered are the last ones (each delivery drains every
	 * ready job): left out, as the statistics have not counted them yet */
	*mark = l ? journal_count(l->journal) - l->undelivered_lines : 0;
	return l ? journal_sync(l->journal, e) : 0;
}

void llm_spend_since(const struct llm *l, long mark, struct llm_stats *s)
{
	journal_sum_from(l ? l->journal : NULL, mark, s);
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

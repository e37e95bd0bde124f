/* sched_limit.c: one replica's limiter (struct limiter, sched_int.h): its concurrency slots
 * under the configured cap and the adaptive window, its rpm/tpm token buckets, and what a
 * provider's answers teach it (a 429 halves the window and may hold the model until a reset,
 * a learned quota, a refusal taken back).  sched_replica.c picks which replica's limiter an
 * attempt goes through. */
#include "llm/sched_int.h"

/* Buckets hold one second's worth (at least one request): smooth pacing, small bursts. */
static double bucket_cap(double per_min)
{
	return MAX(1.0, per_min / 60);
}

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
		lim->req_level = bucket_cap(lim->rpm);
		lim->tok_level = bucket_cap(lim->tpm);
	}
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

void limiter_refund(struct limiter *lim, long reserved, long used)
{
	if (lim->tpm > 0)
		lim->tok_level =
		    MIN(bucket_cap(lim->tpm), lim->tok_level + (double)reserved - (double)used);
}

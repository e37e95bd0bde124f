/* sched_int.h: the request scheduler's private state, shared by sched.c (public API, poll loop,
 * scheduling pass), sched_job.c (jobs, their state lists and key index), sched_limit.c (a
 * replica's limiter: slots, token buckets, what 429s teach), sched_replica.c (a model's
 * replicas: choice, health, figures), sched_http.c (one attempt's curl transfer and its
 * outcome), sched_deliver.c (delivery and the figures), sched_source.c (outside event sources)
 * and sched_reqkey.c (the canonical request key).  Not for callers of llm.h. */
#ifndef ADOPT_LLM_SCHED_INT_H
#define ADOPT_LLM_SCHED_INT_H

#include <curl/curl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"
#include "llm/keygate.h"
#include "llm/llm.h"
#include "llm/provider.h"
#include "llm/retry.h"

#define NEVER INT64_MAX /* no deadline */

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

/* An outside event source (llm_source_add); records stay linked until the sweep after
 * dispatching, so that a source cancelled during dispatch is never touched again. */
struct source {
	struct source *next;
	uint64_t id;
	const struct llm_source_ops *ops;
	void *arg;
	size_t off; /* its descriptors in l->src_fds for this wait */
	unsigned n;
	int64_t due;       /* NEVER: none */
	bool polled;       /* prepared for this wait's poll */
	bool dead;         /* finished or cancelled */
	bool cancel_after; /* cancelled from inside its own dispatch */
};

enum replica_state { REPLICA_UP, REPLICA_DOWN, REPLICA_PROBING };

/* Concurrency and rate limits of one replica of a model configuration (its one base URL, or one
 * of those its base_url lists: each has its own).  Besides the configured
 * cap and buckets, the limiter adapts to what the provider says (AIMD): a 429 halves `window`
 * (once per congestion event: only for an attempt started after the last cut; "after" by the
 * order attempts were admitted in, `seq`, which a clock cannot tell apart), each success
 * adds 1/window, up to cap; and while a provider's rate limit is spent (a 429's Retry-After or
 * reset time, or a response saying no requests are left) nothing of that model starts before
 * hold_until.
 *
 * A provider that says nothing until its 429 (no remaining-requests header) gets a learned
 * quota: the requests answered between two such holds (those started after the first) are what
 * its window allows, so once that many have started after a hold, one request at a time
 * probes for the next 429 instead of a whole window of them failing at once.  Twice the quota
 * answered without a 429 means the limit is no fixed window after all: the quota is dropped.
 *
 * A 429 is taken back when the server then accepts a request sent after the refused one and
 * before the refusal came (a spent limit refuses those too): the window, quota and hold it
 * changed return to what they were, so random refusals (load shedding) cost their own retry,
 * not the model's throughput. */
struct limiter {
	int cap, running;
	double window;          /* adaptive concurrency, 1 .. cap */
	int64_t hold_until;     /* now_ms() before which nothing starts; 0: none */
	uint64_t seq;           /* attempts admitted so far: their order */
	uint64_t cut_seq;       /* seq when window was last cut */
	uint64_t hold_seq;      /* seq when the last hold was set */
	long quota;             /* learned requests per window (0: unknown) */
	long started, answered; /* attempts started / answered (of those) since hold_seq */
	uint64_t refused_seq,
	    refused_upto; /* the last fresh 429: its attempt, seq on its arrival */
	struct {
		double window;
		long quota;
		int64_t hold_until;
	} before; /* what that 429 changed */
	double rpm, tpm;
	double req_level, tok_level; /* token buckets; tok_level may go negative (debt) */
	int64_t refill_ms;
	/* as one replica of its pool (sched_replica.c) */
	char *url;   /* its base URL; NULL: the model's own (one base_url) */
	char *shown; /* the URL as figures show it (no user:password@) */
	enum replica_state state;
	int faults;            /* replica faults in a row */
	int64_t down_until;    /* DOWN: taken out until then, then probed */
	uint64_t out_seq;      /* seq when it was last taken out */
	long requests, errors; /* attempts sent to it, attempts that failed */
	long answers;          /* attempts it answered */
	double latency_s;      /* their time on the wire, summed */
};

/* A model configuration's replicas, one limiter each (a single one for one base_url); queued
 * jobs wait in the pool and each attempt takes the replica pool_admit picks. */
struct pool {
	struct pool *next;
	char *name;
	struct limiter **rep;
	int n;
	bool listed; /* base_url was a list: its figures are reported */
	int cursor;  /* where the next choice starts looking (ties go round) */
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
	struct pool *pool;
	struct limiter *lim; /* the replica of the current (or last) attempt */
	int replica;         /* its index in pool->rep */
	uint32_t tried;      /* replicas an attempt of this job failed on (bit i: rep[i]) */
	int64_t attempt_ms;  /* when the current attempt started */
	struct llm_message *msgs;
	size_t n_msgs;
	struct waiter *waiters;
	int attempts;
	double waited_s; /* backoff spent so far */
	int64_t t_submit_ms, due_ms;
	int64_t t_start_ms; /* the first attempt started (0: none yet): queued before, wire after */
	bool scripted_delay; /* TIMER holds a scripted reply rather than a retry */
	bool key_held;       /* TIMER until the user answers about its key (llm_key_answer) */
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
	struct retry_limits limits; /* this response's rate-limit headers */
	uint64_t lim_seq;           /* this attempt's place in its limiter's order (seq) */
	char errbuf[CURL_ERROR_SIZE];

	/* the outcome */
	char *text, *error, *reasoning;
	char *finish;           /* the provider's finish reason, NULL when none */
	long replaced;          /* invalid bytes replaced in text (job_set_text) */
	struct llm_usage usage; /* of the answer */
	double cost;
	/* what the failed attempts so far were billed (usage that arrived, or an estimate for a
	 * stream cut after it began) */
	struct llm_usage billed;
	double billed_cost;
	bool cached, scripted;
	bool journaled; /* its bill is in the spend journal, the job not yet delivered */
	bool counted;   /* its bill is in the statistics (delivered, or job_count_unseen) */
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
	struct pool *pools;
	struct rules_file *rules;
	struct cache *cache;
	struct journal *journal; /* billed calls, or NULL */
	long undelivered_lines;  /* of the journal's lines, those of jobs not yet delivered */
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
	/* outside event sources (sched_source.c) */
	struct source *sources;
	size_t n_sources; /* live ones */
	struct source *dispatching;
	bool in_sources;
	struct pollfd *src_fds;
	size_t n_src_fds, src_fds_cap;
	/* where keys may go, and who asks the user */
	struct keygate *gate;
	llm_key_ask_fn *key_ask;
	void *key_ask_arg;
	/* easy handles of finished attempts, reset, for the next ones (init and cleanup per
	 * attempt cost more than a reset) */
	CURL **idle;
	size_t n_idle;
};

static inline const char *model_label(const struct model_config *m)
{
	return m->name ? m->name : m->model ? m->model : "?";
}

/* The scripted provider answers from a rules file and builds no HTTP request. */
static inline bool is_scripted(const struct provider_ops *ops)
{
	return ops && !ops->build;
}

/* sched_limit.c */
/* Sets a limiter's cap and rates from a model configuration (the latest one wins). */
void limiter_config(struct limiter *lim, const struct model_config *m);
bool limiter_admit(struct limiter *lim, long tokens, int64_t now, int64_t *retry_ms);
/* What an attempt's answer says about the provider's limits: how it ended, the delay the
 * server asked for (< 0: none), its rate-limit headers; a hold lasts at most max_s.  Called
 * while the attempt still holds its slot. */
enum answer_kind { ANSWER_FAILED, ANSWER_OK, ANSWER_THROTTLED };
void limiter_learn(struct limiter *lim, enum answer_kind how, double delay_s, double max_s,
                   const struct retry_limits *rl, uint64_t seq, int64_t now);
/* A request answered: the tpm bucket gets back what its reservation overestimated (reserved
 * tokens, used the answer's). */
void limiter_refund(struct limiter *lim, long reserved, long used);

/* sched_job.c */
struct job *job_new(struct llm *l, const struct llm_request *req, const char *key,
                    const struct provider_ops *ops);
struct job *job_find_key(struct llm *l, const char *key);
void job_set_state(struct llm *l, struct job *j, enum job_state st);
void job_drop(struct llm *l, struct job *j);
bool job_orphaned(const struct job *j);
const char *job_tag(const struct job *j);
/* What the job was billed: its failed attempts, and its answer unless it failed. */
void job_billed_total(const struct job *j, struct llm_usage *u, double *cost);
/* A job whose bill was journaled but that no waiter received (all cancelled once the answer
 * was in): its bill counted in the statistics all the same, as the journal has it. */
void job_count_unseen(struct llm *l, struct job *j);
void job_fail(struct llm *l, struct job *j, char *msg);
/* Takes text (a model's answer, from the network, the scripted model or the cache) and keeps it
 * as valid UTF-8: the one place where answers are repaired (utf8.h); j->replaced counts. */
void job_set_text(struct job *j, char *text);
/* Takes reasoning (NULL or "": none) as the answer's reasoning, redacted and valid UTF-8 as
 * the answer is. */
void job_set_reasoning(struct job *j, char *reasoning);
/* Takes text and j->reasoning (when set) as the answer.  usage NULL: estimated. */
void job_succeed(struct llm *l, struct job *j, char *text, const struct llm_usage *usage);
/* Adds a failed attempt's usage to what the job was billed. */
void job_bill(struct job *j, const struct llm_usage *u);
/* dst += u (estimated when either is) */
void usage_add(struct llm_usage *dst, const struct llm_usage *u);

/* sched_replica.c */
/* The pool of a model configuration (by name and base URLs), made on first use. */
struct pool *pool_get(struct llm *l, const struct model_config *m);
void pools_free(struct llm *l);
/* Picks the replica of j's next attempt and takes its slot (j->lim, j->replica), or says when
 * to ask again (*retry_ms, NEVER when only a finishing request can free one). */
bool pool_admit(struct pool *p, struct job *j, int64_t now, int64_t *retry_ms);
/* What an attempt's end says about its replica: answered (ok), or failed, and then whether
 * the failure was the replica's (connection, 5xx, timeout).  Called before the slot is
 * given back. */
void replica_learn(struct job *j, bool ok, bool fault, const struct llm_options *opt, int64_t now);
/* Whether a failed job may try again at once: another replica it has not failed on is up. */
bool replica_elsewhere(const struct job *j, int64_t now);
bool replica_fault(long status, int curl_code);

/* sched_http.c */
const char *model_base_url(const struct provider_ops *ops, const struct model_config *m);
const char *model_key_var(const struct provider_ops *ops, const struct model_config *m);
/* base: the URL the request goes to (model_base_url, or a replica's) */
int model_key(const struct provider_ops *ops, const struct model_config *m, const char *base,
              const char **key, struct err *e);
void attempt_start(struct llm *l, struct job *j);
void attempt_done(struct llm *l, struct job *j, CURLcode code);
void attempt_clear(struct llm *l, struct job *j);
void easy_pool_free(struct llm *l);

/* sched_deliver.c */
/* Delivers the jobs that are READY now, in submission order; what becomes READY in their
 * callbacks waits for the next llm_wait. */
void deliver_ready(struct llm *l);

/* sched_source.c */
/* Fills l->src_fds; returns the earliest due time (NEVER: none). */
int64_t sources_prepare(struct llm *l);
/* fds: the sources' part of the poll array, revents set (NULL: the poll failed, no events). */
void sources_dispatch(struct llm *l, const struct pollfd *fds);
void sources_cancel_all(struct llm *l);

#endif

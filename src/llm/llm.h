/* llm.h: the LLM layer's public face.  One curl multi handle drives every request; the caller's
 * loop waits in llm_wait() together with its own file descriptors (the terminal).  No threads.
 * Knows nothing of curses or of ADOPT. */
#ifndef ADOPT_LLM_H
#define ADOPT_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/util.h"

struct llm_message {
	const char *role; /* "system", "user", "assistant" */
	const char *content;
};

struct llm_request {
	const struct model_config *model;
	const struct llm_message *messages;
	size_t n_messages;
	const char *tag; /* accounting bucket ("step:answer", "phase:loss"); copied */
};

/* Tokens of one request as the provider bills them.  `in` counts every prompt token: `cached`
 * (read from the provider's prompt cache) and `cache_write` (written to it) are parts of it,
 * priced apart; `reasoning` is the part of `out` the model spent thinking. */
struct llm_usage {
	long in, out, cached; /* tokens */
	bool estimated;       /* provider gave none (or too little): estimated from text length */
	long cache_write, reasoning;
};

/* What a finished request delivers; valid only during the callback. */
struct llm_reply {
	const char *text;      /* "" on error */
	const char *reasoning; /* the model's reasoning (reasoning_content, thinking), "" if none */
	const char
	    *error; /* NULL on success: "openai 429 rate_limit_exceeded after 5 attempts: ..." */
	/* what this request was billed, failed and cut attempts included (a cut stream's usage is
	 * estimated); zero when answered from the cache or shared with an identical request */
	struct llm_usage usage;
	double cost_usd; /* 0 when cached */
	bool cached;     /* answered from the response cache */
	bool scripted;   /* answered by the scripted stand-in, not a real model */
	int attempts;
	double latency_s; /* from the first attempt to the answer, retries included */
	double queued_s;  /* before that, waiting for a slot (concurrency, rate limits) */
	char key[65];     /* hex SHA-256 of the canonical request */
	/* a cached or shared answer: the tokens it cost when it was paid for (not billed again) */
	long reused_tokens;
	bool shared; /* the answer of an identical request another waiter made (not a request) */
	/* the answer's own usage, as reported by the attempt that answered (for a cached answer:
	 * as stored in the cache), whoever paid for it; zero on error */
	struct llm_usage answer;
	long replaced; /* bytes of the answer that were not UTF-8, or NUL, each replaced by
	                * U+FFFD: text is always valid UTF-8 without a NUL */
	/* why the answer ended, as the provider said (OpenAI finish_reason, Anthropic
	 * stop_reason, Ollama done_reason; kept in the cache): "stop", "length", ...; NULL when
	 * none was given */
	const char *finish_reason;
	bool cut; /* the finish reason says the token limit cut the answer ("length",
	           * "max_tokens"): the text is incomplete */
};

typedef void llm_done_fn(void *arg, const struct llm_reply *reply);
typedef void llm_chunk_fn(void *arg, const char *text, size_t len);

struct llm_options {
	const char *cache_path; /* append-only JSONL; NULL: no persistent cache */
	bool offline;           /* answer only from the cache */
	bool no_cache;          /* neither read nor write the cache */
	const char
	    *spend_path;  /* the spend journal (journal.h), kept with no_cache too; NULL: none */
	int max_attempts; /* default 8 */
	double connect_timeout_s, stall_timeout_s; /* defaults 10, 30 */
	double backoff_base_s, backoff_max_s;      /* defaults 1, 30 (see retry.h) */
	double retry_budget_s; /* total backoff per request, default 120; < 0: none */
	uint64_t seed;         /* jitter */
	/* where keys may go (keygate.h): trust sends them anywhere; user_base_url (--base-url,
	 * copied) is a host the user chose */
	bool trust;
	const char *user_base_url;
	/* a simulated run (engine_simulate): the cache at cache_path is read and never written
	 * (new answers stay in memory, so they are found again as a real run finds them), the
	 * journal at spend_path is read and never written, only the scripted provider answers
	 * (any other request, retrievals included, fails at once: nothing is sent), and scripted
	 * delays are not waited */
	bool sandbox;
};

/* done and failed count requests (a cache hit is a request answered from the cache), not the
 * answers delivered: an answer shared with an identical request in flight is counted in shared
 * only, so done + failed + shared answers were delivered. */
struct llm_stats {
	long submitted, done, failed, cached, deduplicated, in_flight, retrying, queued;
	long shared;           /* answers delivered to a waiter that shared another's request */
	long network_requests; /* HTTP attempts actually sent */
	long throttled;        /* answers that were 429 (rate limited) */
	double wait_s;         /* how long until the next retry or rate-limit hold ends; 0: none */
	/* billed tokens (tokens_in includes the provider-cached and cache-write ones, tokens_out
	 * the reasoning ones), failed and cut attempts included */
	long tokens_in, tokens_out;
	long tokens_prompt_cached; /* prompt tokens read from the provider's prompt cache */
	long tokens_cache_write;   /* prompt tokens written to the provider's prompt cache */
	long tokens_reasoning;     /* output tokens spent reasoning */
	long tokens_reused;        /* tokens of answers taken from our response cache or shared */
	long estimated;            /* paid requests whose usage is (partly) estimated */
	long billed_failures;      /* failed requests that were billed anyway */
	double cost_usd;
};

struct llm;

struct llm *llm_new(const struct llm_options *opt, struct err *e);
void llm_free(struct llm *l); /* cancels everything still pending, without callbacks */

/* Checks a model configuration can be used (known provider, key present in the environment,
 * rules file readable) before anything is sent.  Never prints the key. */
int llm_check_model(const struct model_config *m, struct err *e);

/* Queues a request; `done` is called exactly once from llm_wait() unless cancelled, never from
 * inside llm_submit.  Identical requests in flight share one network request.  Returns an id. */
uint64_t llm_submit(struct llm *l, const struct llm_request *req, llm_done_fn *done,
                    llm_chunk_fn *chunk, void *arg);
/* The response cache's answer to a request, without sending or counting anything (a cost
 * projection asks what would be free), or NULL when the cache does not hold it or is off.  Caller
 * frees. */
char *llm_cache_peek(const struct llm *l, const struct llm_request *req);
/* The scripted model's answer to a request (its rules are local: the answer is known before
 * it is asked), without sending or counting anything, or NULL when the request's model is not
 * scripted or its rules do not load.  Caller frees. */
char *llm_scripted_peek(struct llm *l, const struct llm_request *req);
/* Cancels one request (its callbacks are never called) or all. */
void llm_cancel(struct llm *l, uint64_t id);
void llm_cancel_all(struct llm *l);

/* Waits at most timeout_ms for network activity or one of the extra descriptors (POLLIN), then
 * drives transfers and calls the callbacks of whatever finished.  Returns the number of extra
 * descriptors that are readable (their revents are set), or -1 on a fatal error. */
struct pollfd;
int llm_wait(struct llm *l, struct pollfd *extra, unsigned n_extra, int timeout_ms);
/* Requests queued, in flight or waiting to retry, plus live event sources (below). */
size_t llm_pending(const struct llm *l);
void llm_get_stats(const struct llm *l, struct llm_stats *s);
/* The first line the response cache skipped when it was loaded ("NAME.cache.jsonl:7: why; line
 * skipped") and in *skipped how many it skipped, or NULL when none. */
const char *llm_cache_problem(const struct llm *l, long *skipped);

/* Keys bound for a host or from a variable the user has not chosen (keygate.h): without an
 * asker such a request fails at once with a message naming --trust.  A front end that can ask
 * the user sets one: it is called (from inside llm_wait) once per variable and host, the
 * requests concerned wait, and llm_key_answer lets them go or fails them. */
typedef void llm_key_ask_fn(void *arg, const char *var, const char *origin);
void llm_set_key_asker(struct llm *l, llm_key_ask_fn *fn, void *arg);
void llm_key_answer(struct llm *l, const char *var, const char *origin, bool allow);

/* The spend journal (journal.h): *mark gets the number of billed calls it holds (the calls the
 * statistics have counted, plus those of earlier runs), after an fsync so that a session that
 * records the mark never runs ahead of the file; 0 and mark 0 without a journal. */
int llm_spend_sync(struct llm *l, long *mark, struct err *e);
/* The calls the journal held at llm_new after the first `mark` (done, tokens_in, tokens_out,
 * cost_usd): what a process killed before saving its session had spent. */
void llm_spend_since(const struct llm *l, long mark, struct llm_stats *s);

/* Spend per accounting tag: calls fn for each tag seen so far. */
typedef void llm_tag_fn(void *arg, const char *tag, const struct llm_stats *s);
void llm_foreach_tag(const struct llm *l, llm_tag_fn *fn, void *arg);

/* Figures of one replica of a model configuration whose base_url lists several URLs
 * (sched_replica.c); valid only during the callback. */
struct llm_replica {
	const char *model;     /* the configuration's name */
	const char *url;       /* the base URL as listed, without a user:password@ */
	int index;             /* its place in the list, from 0 */
	long requests;         /* HTTP attempts sent to it */
	long errors;           /* of them, failed (any failure: 5xx, 429, no connection, ...) */
	long answered;         /* of them, answered */
	long in_flight;        /* running now */
	double mean_latency_s; /* of the attempts it answered, on the wire; 0: none yet */
	/* "up"; "down": taken out after a failure of its own (no connection, timeout, 5xx) until
	 * its back-off ends (down_s from now); "probing": one request is finding out */
	const char *state;
	double down_s;
};
typedef void llm_replica_fn(void *arg, const struct llm_replica *r);
/* Calls fn for each replica of each listed base_url seen so far, in the list's order. */
void llm_foreach_replica(const struct llm *l, llm_replica_fn *fn, void *arg);

/* Prices per million tokens of a model.  Each price: the session's value when >= 0, else the
 * built-in list-price table, else 0 (and *known=false).  A cached-input or cache-write price
 * the session does not give follows its price_in by the table's ratio for the model (1 for a
 * model the table does not know). */
struct llm_prices {
	double in, out, cached_in, cache_write;
};
void llm_prices(const struct model_config *m, struct llm_prices *p, bool *known);
/* The input and output prices of llm_prices. */
void llm_price(const struct model_config *m, double *in, double *out, bool *known);
/* Whether requests to this model are made as to a reasoning model (OpenAI o-series, gpt-5):
 * the configuration's "reasoning" when set, else the built-in table. */
bool llm_is_reasoning(const struct model_config *m);
/* The canonical request hash (hex, 64 chars + NUL) that keys the cache: provider, base URL,
 * model, messages, sampling parameters; never the key. */
void llm_request_key(const struct llm_request *req, char out[65]);

/* A retrieval server, asked the way DSPy's ColBERTv2 client asks one: GET url?query=Q&k=K,
 * answered {"topk": [{"text": "...", "score": S, "pid": P, ...}, ...]} (a passage's text may
 * be "long_text" instead).  It is a request like any other: deduplicated, cached under a key
 * made of the URL, the query and k (llm_request_key of the request llm_retrieve makes),
 * replayed offline, retried by the same rules, reported with latency and attempts in the same
 * llm_reply (no tokens, no cost).  No key is ever sent; the answer is read only up to 4 MiB, and
 * the reply's text is the passages in the server's order, at most k, each made safe for a
 * terminal (term_sanitize, newlines and tabs kept), as a JSON array of strings: read it with
 * llm_passages.  A passage without a text, or an answer that is not the expected JSON, fails the
 * request with a message saying what was wrong. */
struct llm_retrieval {
	const char *url; /* http:// or https:// */
	const char *query;
	int k;           /* 1 .. LLM_RETRIEVE_MAX_K */
	const char *tag; /* accounting bucket, as for llm_submit */
	/* requests to this url in flight at once (one limiter per url: the latest request's
	 * value is the url's) and the time one attempt may take; 0: the defaults below */
	int concurrency;
	double timeout_s;
};
#define LLM_RETRIEVE_MAX_K       1000
#define LLM_RETRIEVE_CONCURRENCY 8
#define LLM_RETRIEVE_TIMEOUT_S   30
uint64_t llm_retrieve(struct llm *l, const struct llm_retrieval *q, llm_done_fn *done, void *arg);
/* The request key of a retrieval (as llm_request_key; the key of llm_retrieve's reply): the
 * url, the query and k, not its concurrency or timeout. */
void llm_retrieve_key(const struct llm_retrieval *q, char out[65]);
/* The first `max` passages of a retrieval reply's text (or of one a cache held: checked and
 * cleaned again): 0 with *items (caller frees each and the array) and *n, or -1 with e set. */
int llm_passages(const char *text, size_t max, char ***items, size_t *n, struct err *e);

/* Other event sources in the same loop, so that work outside the network (a child process's
 * pipes and deadline) never blocks it: llm_wait polls their descriptors with its own and wakes
 * up for their deadlines.  A source is an ops table and an argument owned by its creator. */
#define LLM_SOURCE_MAX_FDS 4
struct llm_source_ops {
	/* Before each poll: fills up to LLM_SOURCE_MAX_FDS descriptors (fd, events), sets *due_ms
	 * (a now_ms() time to be dispatched at even without an event; -1: none), returns how
	 * many. */
	unsigned (*prepare)(void *arg, struct pollfd *fds, int64_t *due_ms);
	/* From inside llm_wait, when one of those descriptors has revents or due_ms has passed;
	 * fds as prepared, with revents (all 0 on a timer).  May submit, cancel, add sources and
	 * cancel sources (itself included).  Returns true to stay; false when finished: the
	 * source is dropped and neither arg nor cancel is used again. */
	bool (*dispatch)(void *arg, const struct pollfd *fds, unsigned n);
	/* llm_source_cancel, llm_cancel_all, llm_free: stop at once and release arg. */
	void (*cancel)(void *arg);
};

/* Adds a source (first prepared by the next llm_wait).  Returns its id (never 0). */
uint64_t llm_source_add(struct llm *l, const struct llm_source_ops *ops, void *arg);
/* Cancels a live source (its cancel is called now, or right after its own dispatch when it
 * cancels itself from there).  An unknown or finished id is ignored. */
void llm_source_cancel(struct llm *l, uint64_t id);

#endif

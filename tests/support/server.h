/* server.h: the test LLM server's internal seams: wire formats (server_formats.c), faults and
 * statistics (server_fault.c), the retrieval endpoint's corpus and answers (server_search.c),
 * HTTP and the command line (llm_server.c).
 *
 * Tokens are estimated, never real: a text of n bytes counts ceil(n / 4) tokens; a prompt is the
 * sum over its messages' contents (system included), with no per-message overhead. */
#ifndef LLM_SERVER_H
#define LLM_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "llm/llm.h"

/* ---- wire formats ---- */

enum endpoint { EP_OPENAI, EP_ANTHROPIC, EP_OLLAMA, EP_SEARCH, EP_OTHER, EP_COUNT };
extern const char *const endpoint_names[EP_COUNT];

/* A parsed chat request; every string is owned by it. */
struct chat_req {
	enum endpoint ep;
	char *model;
	struct llm_message *msgs;
	size_t n_msgs;
	bool stream, include_usage;
	long max_tokens; /* -1: no limit */
};
/* 0, or -1 with a message for a 400 answer in *msg (caller frees). */
int chat_req_parse(enum endpoint ep, const char *body, struct chat_req *r, char **msg);
void chat_req_free(struct chat_req *r);

struct chat_reply {
	char *text;
	long tokens_in, tokens_out; /* tokens_out includes the reasoning tokens */
	bool cut;                   /* stopped by max_tokens */
	/* the usage shapes of the money settings (chat_reply_shape) */
	long cached, cache_write; /* parts of tokens_in */
	char *reasoning;          /* NULL: none; else reasoning_tokens * 4 bytes */
	long reasoning_tokens;
	bool refusal;           /* the text comes as a refusal (openai) / stop_reason refusal */
	bool error_after_usage; /* the stream ends with an error event after its usage */
	bool llamacpp;          /* openai usage as llama.cpp's server reports it (timings) */
	bool tool;              /* a tool call instead of text (tool_call fault): text is "" */
	long seq;               /* request number, for ids */
	long created;           /* unix seconds */
};
long tokens_estimate(size_t bytes);
/* Fills tokens and truncates text to max_tokens (at a UTF-8 boundary). Takes ownership of text. */
void chat_reply_init(struct chat_reply *rep, const struct chat_req *req, char *text, long seq);
struct fault_plan;
/* Applies the plan's usage shapes (cached and cache-write prompt tokens, reasoning, refusal,
 * error after usage, llama.cpp usage) to a reply. */
void chat_reply_shape(struct chat_reply *rep, const struct fault_plan *p);
void chat_reply_free(struct chat_reply *rep);

/* A response body as the pieces it is sent in (one write each). */
struct pieces {
	char **v;
	size_t n, cap;
	size_t n_end; /* the last n_end pieces carry the end marker ([DONE], message_stop, done) */
};
void pieces_add(struct pieces *p, char *s); /* takes ownership */
void pieces_free(struct pieces *p);

/* The 200 answer: a whole JSON body (one piece) or the stream's events. */
void format_answer(const struct chat_req *req, const struct chat_reply *rep, struct pieces *out);
/* A copy of piece s with its JSON cut short but its framing (\n\n or \n) kept. */
char *format_break(const char *s);
/* An error body in the vendor's format for the endpoint (caller frees). */
char *format_error(enum endpoint ep, int status, const char *message);
const char *format_content_type(enum endpoint ep, bool stream);
/* Prints a cJSON tree compactly and deletes it; the string is the caller's to free(). */
struct cJSON;
char *json_take(struct cJSON *o);

/* ---- the retrieval endpoint (server_search.c) ---- */

/* A JSONL corpus of {"text"[, "title"]} (core/bm25.h's format) and its BM25 index. */
struct search_corpus;
struct search_corpus *search_corpus_load(const char *path, struct err *e);
void search_corpus_free(struct search_corpus *c);
/* The answer to GET /api/search?query=Q&k=K as ColBERT's server.py gives it ({"query": Q,
 * "topk": [{"text", "pid", "rank", "score", "prob"}, ...]}, k at most 100, default 10), or the
 * bad answer `hostile` asks for (1..SEARCH_HOSTILE_MAX, see search_hostile in server_fault.c).
 * *status gets the HTTP status (400 for a bad k); the body is the caller's to free. */
#define SEARCH_HOSTILE_MAX 5
char *search_answer(const struct search_corpus *c, const char *query, const char *k, int hostile,
                    int *status);

/* ---- faults and statistics ---- */

/* Every fault setting, as numbers; names match the --flags and the /_control keys. */
struct fault_config {
	double latency_ms, latency_jitter_ms, chunk_delay_ms, stall_ms;
	double rate_429, rate_500, drop_before, drop_during, truncate, malformed;
	double retry_after, retry_after_date, fail_first_n, seed;
	double nul_bytes;
	/* usage shapes (not faults, but set the same way) */
	double cached_tokens, cache_write_tokens, reasoning_tokens, refusal, error_after_usage;
	double llamacpp_usage;
	/* rate limits and provider errors (server_fault.c's table says what each means) */
	double window_ms, window_requests, rate_headers, error_kind, should_retry;
	double json_for_stream, tool_call;
	double search_hostile; /* the retrieval endpoint's bad answers (server_search.c) */
};

/* What happens to one request, decided when it arrives. */
struct fault_plan {
	unsigned latency_ms, stall_ms, chunk_delay_ms;
	int status; /* 0: answer normally, else 429 or 500 */
	bool drop_before, drop_during, truncate, malformed;
	double retry_after;
	bool retry_after_date;
	bool nul_bytes; /* every \u0001 of the body is sent as \u0000 */
	long cached_tokens, cache_write_tokens, reasoning_tokens;
	bool refusal, error_after_usage, llamacpp_usage;
	int error_kind;   /* 0, or an index in canned_errors (a 4xx/5xx with its type) */
	int should_retry; /* x-should-retry on errors: 0 none, 1 true, 2 false */
	int rate_headers; /* 0: Retry-After on 429; 1: provider rate-limit headers; 2: none */
	long remaining;   /* requests left in the window (-1: no window) */
	double reset_s;   /* until the window ends */
	bool json_for_stream, tool_call;
	int search_hostile;
};

/* Provider errors the error_kind fault answers with (index 0: none). */
struct canned_error {
	const char *name;
	int status;
	const char *openai_type, *openai_code, *anthropic_type, *message;
};
extern const struct canned_error canned_errors[];
extern const size_t n_canned_errors;
/* The body of a canned error for the endpoint (caller frees). */
char *format_canned_error(enum endpoint ep, const struct canned_error *c);

#define RECENT_MAX      64
#define CREDENTIALS_MAX 64

struct recent {
	long seq;
	enum endpoint ep;
	int status; /* 0: dropped without a response */
	char sha256[65];
	char *body;
};

struct stats {
	long requests, streamed, tokens_in, tokens_out, concurrency, peak_concurrency;
	long repeated; /* requests whose body was seen before (since the last reset) */
	long by_endpoint[EP_COUNT];
	long by_status[600];
	long faults[10]; /* indexed like fault_names */
	uint64_t *seen;
	size_t n_seen, cap_seen;
	struct recent recent[RECENT_MAX];
	size_t n_recent;
	/* distinct "Host header\nkey" pairs of requests that carried a key (Authorization: Bearer
	 * or x-api-key): where keys went, for the tests that keys go only where they may */
	char *credentials[CREDENTIALS_MAX];
	size_t n_credentials;
};

struct server {
	pthread_mutex_t lock; /* guards everything below except rules and require_key */
	struct fault_config cfg;
	int64_t window_start; /* the fixed rate-limit window: its start (ms) and requests */
	long window_used;
	struct rng rng;
	long fail_remaining;
	struct stats st;
	struct rules *rules; /* read-only once started */
	char *require_key;   /* NULL: any key; never logged */
	bool verbose;
	bool echo_key;                /* a wrong key is quoted in the 401 message */
	char *error_message;          /* NULL, or the message of every error answer */
	struct search_corpus *corpus; /* --corpus: what GET /api/search searches; read-only */
};

void server_init(struct server *s);
void server_done(struct server *s);
/* "--latency-ms 5" / "--latency_ms=5" style: sets one setting by name. */
int fault_set(struct server *s, const char *name, const char *value, struct err *e);
/* A JSON object of settings (the /_control body). */
int fault_set_json(struct server *s, const char *json, struct err *e);
char *fault_config_json(struct server *s);
void fault_help(void);
void fault_decide(struct server *s, struct fault_plan *p);
/* Counts the faults that shaped a 200 answer. */
void fault_count_body(struct server *s, const struct fault_plan *p);

void stats_enter(struct server *s);
void stats_leave(struct server *s);
/* One request answered (status 0: dropped); returns its sequence number. */
long stats_record(struct server *s, enum endpoint ep, const char *body, size_t len, int status);
void stats_tokens(struct server *s, long in, long out, bool streamed);
/* Records that a request for `host` carried `key` (either may be NULL: nothing recorded). */
void stats_credential(struct server *s, const char *host, const char *key);
char *stats_json(struct server *s);
void stats_reset(struct server *s);

#endif

/* wire.h: what the three wire formats share (internal to src/llm): results that cap their size,
 * error messages and retryability, base URLs, headers, JSON bodies and JSON lookups.  Only the
 * provider_*.c files include it; everyone else uses provider.h. */
#ifndef ADOPT_WIRE_H
#define ADOPT_WIRE_H

#include <cjson/cJSON.h>

#include "llm/ndjson.h"
#include "llm/provider.h"
#include "llm/sse.h"

extern const struct provider_ops provider_openai, provider_anthropic, provider_ollama;
extern const struct provider_ops provider_colbertv2; /* retriever.c */

/* Results */

/* Sets r->error (unless an earlier error is already there: the first cause wins), r->error_type
 * and r->retryable.  Returns -1. */
int wire_fail(struct llm_result *r, const char *type, bool retryable, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Appends to r->text (and tells chunk) or r->reasoning; -1 with an error past
 * LLM_RESULT_MAX_TEXT bytes. */
int wire_add_text(struct llm_result *r, const char *s, llm_chunk_fn *chunk, void *arg);
int wire_add_reasoning(struct llm_result *r, const char *s);
void wire_set_finish(struct llm_result *r, const char *reason);
/* The standard ending for a stream that stopped before its end marker. */
int wire_truncated(struct llm_result *r);
/* A stream-level failure (line too long, callback stopped): copies e unless r has an error. */
int wire_stream_failed(struct llm_result *r, const struct err *e);
/* "malformed JSON in <what>: <first bytes, sanitised>", retryable. */
int wire_malformed(struct llm_result *r, const char *what, const char *s, size_t n);

/* Streams: one state for every format.  on_event gets each SSE event (name, data) or, for
 * NDJSON, each line (event NULL); it returns -1 after wire_fail() to stop. */
struct wire_stream {
	bool ndjson;
	struct sse sse;
	struct ndjson nd;
	struct sbuf refusal; /* openai: refusal text, kept apart from the answer */
	struct sbuf scratch; /* wire_pick's decoded strings */
	struct llm_result *r;
	llm_chunk_fn *chunk;
	void *arg;
	struct err e;
	int (*on_event)(struct wire_stream *st, const char *event, const char *data, size_t len);
};
void *wire_stream_new(bool ndjson,
                      int (*on_event)(struct wire_stream *, const char *, const char *, size_t));
/* These three fit provider_ops directly. */
int wire_stream_feed(void *st, const char *data, size_t n, struct llm_result *r,
                     llm_chunk_fn *chunk, void *arg);
int wire_stream_end(void *st, struct llm_result *r);
void wire_stream_free(void *st);

/* Error bodies */

/* A readable single-line excerpt of untrusted bytes: control characters become spaces, at most
 * max bytes (cut on a UTF-8 boundary, "..." appended).  Appends to out. */
void wire_snippet(struct sbuf *out, const char *s, size_t n, size_t max);
/* r->error = the message (never the type: the scheduler prints "openai 401 <type>: <message>"),
 * r->error_type = type or a name for the status, r->retryable from the status and the type.
 * message may be NULL (then the body excerpt is used). */
void wire_error(struct llm_result *r, int status, const char *type, const char *message,
                const char *body, size_t n);
/* Whether an HTTP status or a provider's error type says "try again later". */
bool wire_status_retryable(int status);
bool wire_type_retryable(const char *type);

/* Requests */

/* url = base (or default when base is NULL or empty; one trailing slash dropped) + path.  The
 * base must be http:// or https:// and hold no spaces or control characters. */
int wire_url(struct http_request *h, const char *name, const char *base, const char *path,
             struct err *e);
/* Appends one "Name: value" header (h owns it). */
void wire_header(struct http_request *h, const char *name, const char *value);
/* "Authorization: Bearer KEY" when a key is given. */
void wire_bearer(struct http_request *h, const char *key);
/* A key must not smuggle a second header in.  The key itself never appears in the message. */
int wire_check_key(const char *name, const char *key, struct err *e);
/* [{role, content}, ...]; system messages left out when skip_system. */
cJSON *wire_messages(const struct llm_request *req, bool skip_system);
/* h->body = the JSON text of root; deletes root. */
void wire_body(struct http_request *h, cJSON *root);
/* The model name from the configuration, or an error. */
int wire_check_request(const char *name, const struct llm_request *req, struct err *e);

/* JSON */

/* Parses n bytes (not NUL-terminated).  Lone UTF-16 surrogate escapes ("\ud83d" cut from its
 * pair), which cJSON refuses, are read as U+FFFD.  NULL when malformed. */
cJSON *wire_json_parse(const char *s, size_t n);
/* Dotted path through objects and arrays: "choices.0.delta.content".  NULL when absent. */
const cJSON *wire_get(const cJSON *o, const char *path);
/* The string at path, or NULL when absent or not a string (null counts as absent). */
const char *wire_get_str(const cJSON *o, const char *path);
/* The number at path as a long; false when absent. */
bool wire_get_long(const cJSON *o, const char *path, long *out);

/* The same answers as wire_json_parse + wire_get, without building a tree: for the few paths a
 * streamed chunk is read for, one pass over the text.  Only a strict subset of JSON is read
 * (see wire.c: strict syntax, no control bytes in strings, no \u0000 or surrogate escapes, no
 * escaped keys, no duplicate picked keys, integers only at picked numbers, ...); -1 for anything
 * else, and the caller then parses with cJSON, so the subset only decides the speed, never the
 * answer.  The root must be an object. */
#define WIRE_PICK_MAX 32
/* The paths to pick, as for wire_get; every prefix of one must be one too ("choices",
 * "choices.0", "choices.0.delta" for "choices.0.delta.content").  Prepared by the first
 * wire_pick: keep it static.  A table breaking the rules makes every wire_pick decline. */
struct wire_paths {
	const char *const *path;
	size_t n;                  /* at most WIRE_PICK_MAX */
	int state;                 /* 0 until prepared, then 1, or -1 for a broken table */
	int parent[WIRE_PICK_MAX]; /* -1: the root */
	bool inner[WIRE_PICK_MAX]; /* some pick lies below */
	const char *seg[WIRE_PICK_MAX];
	size_t seg_len[WIRE_PICK_MAX];
};
enum wire_type {
	WIRE_ABSENT,
	WIRE_NULL,
	WIRE_FALSE,
	WIRE_TRUE,
	WIRE_NUMBER,
	WIRE_STRING,
	WIRE_ARRAY,
	WIRE_OBJECT
};
/* One answer, for paths->path[i] in out[i]. */
struct wire_pick {
	enum wire_type type;
	long num;   /* WIRE_NUMBER: an integer from 0 to 10^15 - 1 */
	size_t str; /* WIRE_STRING: offset of the NUL-terminated value in scratch */
};
int wire_pick(const char *s, size_t n, struct wire_paths *paths, struct wire_pick *out,
              struct sbuf *scratch);
const char *wire_pick_str(const struct wire_pick *p, const struct sbuf *scratch);

#endif

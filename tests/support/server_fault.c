/* server_fault.c: the test LLM server's shared state: fault settings (from flags or
 * POST /_control), the per-request fault decision, and the statistics behind GET /_stats.
 * Every function here takes the server lock; connection threads call them concurrently. */
#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/rules.h"
#include "server.h"

enum fault_kind { FK_MS, FK_SHARE, FK_COUNT, FK_BOOL };

static const struct fault_opt {
	const char *name;
	enum fault_kind kind;
	size_t off;
	const char *help;
} fault_opts[] = {
#define OPT(f, k, h)                                                                               \
	{                                                                                          \
#f, k, offsetof(struct fault_config, f), h                                         \
	}
    OPT(latency_ms, FK_MS, "fixed delay before answering"),
    OPT(latency_jitter_ms, FK_MS, "random extra delay, uniform in [0, N)"),
    OPT(chunk_delay_ms, FK_MS, "delay between streamed pieces"),
    OPT(stall_ms, FK_MS, "send half the body, then stall this long"),
    OPT(rate_429, FK_SHARE, "share of requests answered 429 with Retry-After"),
    OPT(rate_500, FK_SHARE, "share of requests answered 500"),
    OPT(drop_before, FK_SHARE, "share of connections closed without a response"),
    OPT(drop_during, FK_SHARE, "share of responses cut off half way (connection closed)"),
    OPT(truncate, FK_SHARE, "share of streams that end cleanly but lack the end marker"),
    OPT(malformed, FK_SHARE, "share of responses with one broken JSON object"),
    OPT(retry_after, FK_COUNT, "Retry-After seconds on 429 (default 1)"),
    OPT(retry_after_date, FK_BOOL, "send Retry-After as an HTTP date (0 or 1)"),
    OPT(fail_first_n, FK_COUNT, "the next N requests get 500 (counted from when set)"),
    OPT(seed, FK_COUNT, "seed of the fault choices (re-seeds when set)"),
    OPT(nul_bytes, FK_BOOL, "send each U+0001 of an answer as \\u0000, a NUL (0 or 1)"),
    OPT(cached_tokens, FK_COUNT, "prompt tokens reported as read from the prompt cache"),
    OPT(cache_write_tokens, FK_COUNT, "prompt tokens reported as written to it (anthropic)"),
    OPT(reasoning_tokens, FK_COUNT, "reasoning text of N tokens before the answer"),
    OPT(refusal, FK_BOOL, "answer with a refusal (openai refusal deltas, anthropic refusal)"),
    OPT(error_after_usage, FK_BOOL, "end streams with an error event after the usage"),
    OPT(llamacpp_usage, FK_BOOL, "openai usage as llama.cpp reports it (timings.cache_n)"),
    OPT(window_ms, FK_COUNT, "fixed rate-limit window length in ms (with window_requests)"),
    OPT(window_requests, FK_COUNT, "requests allowed per window; beyond: 429 until it ends"),
    OPT(rate_headers, FK_COUNT,
        "0: Retry-After on 429; 1: x-ratelimit-* / anthropic-"
        "ratelimit-* on every answer instead; 2: neither"),
    OPT(error_kind, FK_COUNT,
        "every request fails as: 1 insufficient_quota (429), 2 "
        "invalid_api_key (401), 3 model_not_found (404), 4 "
        "context_length_exceeded (400), 5 overloaded (529)"),
    OPT(should_retry, FK_COUNT, "x-should-retry on error answers: 0 none, 1 true, 2 false"),
    OPT(json_for_stream, FK_BOOL, "answer streamed requests with a whole JSON body"),
    OPT(tool_call, FK_BOOL, "answer with a tool call and no text"),
    OPT(search_hostile, FK_COUNT,
        "GET /api/search answers 1 a 5 MiB body, 2 passages full of escape "
        "sequences, 3 not JSON, 4 no topk list, 5 a passage without text"),
#undef OPT
};

/* Counted in stats.faults, reported under these names. */
enum {
	F_429,
	F_500,
	F_FAIL_FIRST,
	F_DROP_BEFORE,
	F_DROP_DURING,
	F_TRUNCATE,
	F_MALFORMED,
	F_STALL,
	F_WINDOW,
	F_ERROR_KIND
};
static const char *const fault_names[] = {"rate_429",    "rate_500",  "fail_first_n", "drop_before",
                                          "drop_during", "truncate",  "malformed",    "stall",
                                          "window",      "error_kind"};

void server_init(struct server *s)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	s->cfg.retry_after = 1;
	rng_seed(&s->rng, 0);
}

void server_done(struct server *s)
{
	stats_reset(s);
	free(s->st.seen);
	rules_free(s->rules);
	free(s->require_key);
	free(s->error_message);
	search_corpus_free(s->corpus);
	pthread_mutex_destroy(&s->lock);
}

void fault_help(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fault_opts); i++) {
		char flag[40];
		snprintf(flag, sizeof flag, "%s N", fault_opts[i].name);
		for (char *p = flag; *p; p++)
			*p = *p == '_' ? '-' : *p;
		printf("  --%-19s %s\n", flag, fault_opts[i].help);
	}
}

static const struct fault_opt *fault_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fault_opts); i++)
		if (!strcmp(fault_opts[i].name, name))
			return &fault_opts[i];
	return NULL;
}

/* Checks and stores one value; the caller holds the lock. */
static int fault_store(struct server *s, const struct fault_opt *o, double v, struct err *e)
{
	if (!isfinite(v) || v < 0)
		return err_set(e, "%s: must be a number >= 0", o->name);
	if (o->kind == FK_SHARE && v > 1)
		return err_set(e, "%s: a share of requests, between 0 and 1", o->name);
	if (o->kind == FK_BOOL && v != 0 && v != 1)
		return err_set(e, "%s: 0 or 1 (or true/false)", o->name);
	if (o->kind == FK_MS && v > 600e3)
		return err_set(e, "%s: at most 600000 ms", o->name);
	if (!strcmp(o->name, "error_kind") && v >= (double)n_canned_errors)
		return err_set(e, "error_kind: 0 to %zu", n_canned_errors - 1);
	if (!strcmp(o->name, "search_hostile") && v > SEARCH_HOSTILE_MAX)
		return err_set(e, "search_hostile: 0 to %d", SEARCH_HOSTILE_MAX);
	if ((!strcmp(o->name, "rate_headers") || !strcmp(o->name, "should_retry")) && v > 2)
		return err_set(e, "%s: 0, 1 or 2", o->name);
	*(double *)((char *)&s->cfg + o->off) = v;
	if (!strcmp(o->name, "fail_first_n"))
		s->fail_remaining = (long)v;
	if (!strcmp(o->name, "seed"))
		rng_seed(&s->rng, (uint64_t)v);
	if (!strncmp(o->name, "window_", 7)) { /* a new window from the next request */
		s->window_start = -1;
		s->window_used = 0;
	}
	return 0;
}

int fault_set(struct server *s, const char *name, const char *value, struct err *e)
{
	char *key = xstrdup(name);
	for (char *p = key; *p; p++)
		if (*p == '-')
			*p = '_';
	const struct fault_opt *o = fault_find(key);
	free(key);
	if (!o)
		return err_set(e, "unknown option --%s (see --help)", name);
	double v;
	if (!strcmp(value, "true") || !strcmp(value, "false"))
		v = value[0] == 't';
	else if (parse_double(value, &v) < 0)
		return err_set(e, "--%s: \"%s\" is not a number", name, value);
	pthread_mutex_lock(&s->lock);
	int rc = fault_store(s, o, v, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int fault_set_json(struct server *s, const char *json, struct err *e)
{
	cJSON *root = cJSON_Parse(json);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return err_set(e, "the body must be a JSON object of settings");
	}
	/* Check everything first so that a bad request changes nothing. */
	int rc = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
	{
		if (!fault_find(it->string)) {
			rc = err_set(e, "unknown setting \"%s\"", it->string);
			break;
		}
		if (!cJSON_IsNumber(it) && !cJSON_IsBool(it)) {
			rc = err_set(e, "%s: must be a number or a boolean", it->string);
			break;
		}
	}
	pthread_mutex_lock(&s->lock);
	struct fault_config saved = s->cfg;
	long saved_fail = s->fail_remaining;
	struct rng saved_rng = s->rng;
	cJSON_ArrayForEach(it, root)
	{
		if (rc < 0)
			break;
		double v = cJSON_IsBool(it) ? cJSON_IsTrue(it) : it->valuedouble;
		rc = fault_store(s, fault_find(it->string), v, e);
	}
	if (rc < 0) {
		s->cfg = saved;
		s->fail_remaining = saved_fail;
		s->rng = saved_rng;
	}
	pthread_mutex_unlock(&s->lock);
	cJSON_Delete(root);
	return rc;
}

char *fault_config_json(struct server *s)
{
	cJSON *o = cJSON_CreateObject();
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < ARRAY_SIZE(fault_opts); i++) {
		double v = *(const double *)((const char *)&s->cfg + fault_opts[i].off);
		if (fault_opts[i].kind == FK_BOOL)
			cJSON_AddBoolToObject(o, fault_opts[i].name, v != 0);
		else
			cJSON_AddNumberToObject(o, fault_opts[i].name, v);
	}
	cJSON_AddNumberToObject(o, "fail_remaining", (double)s->fail_remaining);
	pthread_mutex_unlock(&s->lock);
	return json_take(o);
}

/* Every request draws the same number of random values, so that with a fixed seed the n-th
 * request always meets the same faults. */
void fault_decide(struct server *s, struct fault_plan *p)
{
	pthread_mutex_lock(&s->lock);
	const struct fault_config *c = &s->cfg;
	double r[7];
	for (size_t i = 0; i < ARRAY_SIZE(r); i++)
		r[i] = rng_double(&s->rng);
	*p = (struct fault_plan){
	    .latency_ms = (unsigned)(c->latency_ms + r[0] * c->latency_jitter_ms),
	    .stall_ms = (unsigned)c->stall_ms,
	    .chunk_delay_ms = (unsigned)c->chunk_delay_ms,
	    .drop_before = r[1] < c->drop_before,
	    .drop_during = r[4] < c->drop_during,
	    .truncate = r[5] < c->truncate,
	    .malformed = r[6] < c->malformed,
	    .retry_after = c->retry_after,
	    .retry_after_date = c->retry_after_date != 0,
	    .nul_bytes = c->nul_bytes != 0,
	    .cached_tokens = (long)c->cached_tokens,
	    .cache_write_tokens = (long)c->cache_write_tokens,
	    .reasoning_tokens = (long)c->reasoning_tokens,
	    .refusal = c->refusal != 0,
	    .error_after_usage = c->error_after_usage != 0,
	    .llamacpp_usage = c->llamacpp_usage != 0,
	    .error_kind = (int)c->error_kind,
	    .should_retry = (int)c->should_retry,
	    .rate_headers = (int)c->rate_headers,
	    .remaining = -1,
	    .json_for_stream = c->json_for_stream != 0,
	    .tool_call = c->tool_call != 0,
	    .search_hostile = (int)c->search_hostile,
	};
	/* the fixed window: aligned to multiples of window_ms on the monotonic clock */
	bool over = false;
	if (c->window_ms >= 1 && c->window_requests >= 1) {
		int64_t now = now_ms(), len = (int64_t)c->window_ms;
		int64_t start = now / len * len;
		if (start != s->window_start) {
			s->window_start = start;
			s->window_used = 0;
		}
		over = s->window_used >= (long)c->window_requests;
		s->window_used += !over;
		p->remaining = (long)c->window_requests - s->window_used;
		p->reset_s = (double)(start + len - now) / 1000;
	}
	if (s->fail_remaining > 0) {
		s->fail_remaining--;
		p->status = 500;
		s->st.faults[F_FAIL_FIRST]++;
	} else if (p->error_kind) {
		p->status = canned_errors[p->error_kind].status;
		s->st.faults[F_ERROR_KIND]++;
	} else if (over) {
		p->status = 429;
		p->retry_after = p->reset_s;
		s->st.faults[F_WINDOW]++;
	} else if (r[2] < c->rate_429) {
		p->status = 429;
		s->st.faults[F_429]++;
	} else if (r[3] < c->rate_500) {
		p->status = 500;
		s->st.faults[F_500]++;
	}
	if (p->status)
		p->drop_before = false;
	s->st.faults[F_DROP_BEFORE] += p->drop_before;
	pthread_mutex_unlock(&s->lock);
}

/* The faults that shape a 200 body are counted once the body is sent. */
void fault_count_body(struct server *s, const struct fault_plan *p)
{
	pthread_mutex_lock(&s->lock);
	s->st.faults[F_DROP_DURING] += p->drop_during;
	s->st.faults[F_TRUNCATE] += p->truncate && !p->drop_during;
	s->st.faults[F_MALFORMED] += p->malformed;
	s->st.faults[F_STALL] += p->stall_ms > 0;
	pthread_mutex_unlock(&s->lock);
}

/* ---- statistics ---- */

void stats_enter(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->st.concurrency++;
	if (s->st.concurrency > s->st.peak_concurrency)
		s->st.peak_concurrency = s->st.concurrency;
	pthread_mutex_unlock(&s->lock);
}

void stats_leave(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->st.concurrency--;
	pthread_mutex_unlock(&s->lock);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Bodies are kept whole up to this size in the recent list. */
#define RECENT_BODY_MAX (64u << 10)

long stats_record(struct server *s, enum endpoint ep, const char *body, size_t len, int status)
{
	char sha[65];
	sha256_hex(body, len, sha);
	uint64_t h = hash_bytes(body, len, 0);
	pthread_mutex_lock(&s->lock);
	struct stats *st = &s->st;
	long seq = ++st->requests;
	st->by_endpoint[ep]++;
	if (status >= 0 && status < (int)ARRAY_SIZE(st->by_status))
		st->by_status[status]++;
	bool seen = false;
	for (size_t i = 0; i < st->n_seen && !seen; i++)
		seen = st->seen[i] == h;
	if (seen) {
		st->repeated++;
	} else {
		st->seen = xgrow(st->seen, &st->cap_seen, st->n_seen + 1, sizeof *st->seen);
		st->seen[st->n_seen++] = h;
	}
	struct recent *r = &st->recent[(size_t)(seq - 1) % RECENT_MAX];
	free(r->body);
	*r = (struct recent){.seq = seq, .ep = ep, .status = status};
	memcpy(r->sha256, sha, sizeof sha);
	r->body = xstrndup(body, MIN(len, RECENT_BODY_MAX));
	st->n_recent = MIN(st->n_recent + 1, (size_t)RECENT_MAX);
	pthread_mutex_unlock(&s->lock);
	return seq;
}

void stats_tokens(struct server *s, long in, long out, bool streamed)
{
	pthread_mutex_lock(&s->lock);
	s->st.tokens_in += in;
	s->st.tokens_out += out;
	s->st.streamed += streamed;
	pthread_mutex_unlock(&s->lock);
}

void stats_reset(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	struct stats *st = &s->st;
	for (size_t i = 0; i < RECENT_MAX; i++)
		free(st->recent[i].body);
	for (size_t i = 0; i < st->n_credentials; i++)
		free(st->credentials[i]);
	uint64_t *seen = st->seen;
	size_t cap = st->cap_seen;
	long conc = st->concurrency;
	memset(st, 0, sizeof *st);
	st->seen = seen;
	st->cap_seen = cap;
	st->concurrency = conc; /* requests still in flight stay counted */
	st->peak_concurrency = conc;
	rng_seed(&s->rng, (uint64_t)s->cfg.seed);
	pthread_mutex_unlock(&s->lock);
}

void stats_credential(struct server *s, const char *host, const char *key)
{
	if (!host || !key || !*key)
		return;
	char *pair = xasprintf("%s\n%s", host, key);
	pthread_mutex_lock(&s->lock);
	struct stats *st = &s->st;
	bool seen = false;
	for (size_t i = 0; i < st->n_credentials && !seen; i++)
		seen = strcmp(st->credentials[i], pair) == 0;
	if (!seen && st->n_credentials < CREDENTIALS_MAX) {
		st->credentials[st->n_credentials++] = pair;
		pair = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(pair);
}

static cJSON *stats_credentials_json(const struct stats *st)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < st->n_credentials; i++) {
		const char *nl = strchr(st->credentials[i], '\n');
		cJSON *o = cJSON_CreateObject();
		char *host = xstrndup(st->credentials[i], (size_t)(nl - st->credentials[i]));
		cJSON_AddStringToObject(o, "host", host);
		cJSON_AddStringToObject(o, "key", nl + 1);
		free(host);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *stats_recent_json(const struct stats *st)
{
	cJSON *a = cJSON_CreateArray();
	long first = st->requests - (long)st->n_recent + 1;
	for (long seq = first; seq <= st->requests; seq++) {
		const struct recent *r = &st->recent[(size_t)(seq - 1) % RECENT_MAX];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "seq", (double)r->seq);
		cJSON_AddStringToObject(o, "endpoint", endpoint_names[r->ep]);
		cJSON_AddNumberToObject(o, "status", r->status);
		cJSON_AddStringToObject(o, "sha256", r->sha256);
		cJSON_AddStringToObject(o, "body", r->body ? r->body : "");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

char *stats_json(struct server *s)
{
	cJSON *o = cJSON_CreateObject();
	pthread_mutex_lock(&s->lock);
	const struct stats *st = &s->st;
	cJSON_AddNumberToObject(o, "requests", (double)st->requests);
	cJSON_AddNumberToObject(o, "streamed", (double)st->streamed);
	cJSON_AddNumberToObject(o, "tokens_in", (double)st->tokens_in);
	cJSON_AddNumberToObject(o, "tokens_out", (double)st->tokens_out);
	cJSON_AddNumberToObject(o, "concurrency", (double)st->concurrency);
	cJSON_AddNumberToObject(o, "peak_concurrency", (double)st->peak_concurrency);
	cJSON_AddNumberToObject(o, "unique_bodies", (double)st->n_seen);
	cJSON_AddNumberToObject(o, "repeated_bodies", (double)st->repeated);
	cJSON *eps = cJSON_AddObjectToObject(o, "endpoints");
	for (int i = 0; i < EP_COUNT; i++)
		cJSON_AddNumberToObject(eps, endpoint_names[i], (double)st->by_endpoint[i]);
	cJSON *sts = cJSON_AddObjectToObject(o, "status");
	for (size_t i = 0; i < ARRAY_SIZE(st->by_status); i++) {
		char key[8];
		snprintf(key, sizeof key, "%zu", i);
		if (st->by_status[i])
			cJSON_AddNumberToObject(sts, key, (double)st->by_status[i]);
	}
	cJSON *f = cJSON_AddObjectToObject(o, "faults");
	for (size_t i = 0; i < ARRAY_SIZE(fault_names); i++)
		cJSON_AddNumberToObject(f, fault_names[i], (double)st->faults[i]);
	cJSON_AddItemToObject(o, "recent", stats_recent_json(st));
	cJSON_AddItemToObject(o, "credentials", stats_credentials_json(st));
	pthread_mutex_unlock(&s->lock);
	return json_take(o);
}

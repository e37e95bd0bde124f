/* retry.h: when a failed LLM request is tried again, and after how long.  Pure policy over
 * numbers and header strings: no sockets, no clock (the caller passes "now").
 *
 * Retryable: HTTP 408, 409, 429 and 5xx; transport failures that a second try may cure
 * (connection refused/reset, nothing received, a partial body, a timeout); errors the wire
 * format flags as transient (a stream cut before its end marker, an "overloaded" event).
 * Never: 400, 401, 403, 404 and every other 4xx.  The order of authority:
 *   1. a server's `x-should-retry: true|false` header, either way (as the official OpenAI and
 *      Anthropic SDKs do);
 *   2. the provider's classification of its error: a permanent type (insufficient_quota,
 *      invalid_api_key, model_not_found, context_length_exceeded, ...; wire.c's table) is
 *      never retried, even on a 429 or a 5xx;
 *   3. the status and transport tables above.
 *
 * Delay before attempt k+1 (k attempts made): "equal jitter", uniform in [c/2, c] with
 * c = min(max, base * 2^(k-1)), so that the waits grow for sure while clients still spread
 * out.  A delay the server gave (Retry-After in seconds or as an HTTP-date, retry-after-ms,
 * or a rate limit's reset time: see struct retry_limits) replaces the jittered one, capped at
 * `max` so that one answer cannot park a request for an hour; a capped retry may meet another
 * 429, which costs one more attempt, nothing worse.  A request stops retrying when its waits
 * would pass the retry budget (budget_s, 0: none) or at max_attempts. */
#ifndef ADOPT_RETRY_H
#define ADOPT_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "core/util.h"

struct retry_policy {
	int max_attempts;     /* total attempts, first included (>= 1) */
	double base_s, max_s; /* backoff base and cap */
	double budget_s;      /* total waiting allowed per request; 0: no limit */
};

/* What one attempt ended with. */
struct retry_facts {
	int attempts;            /* attempts made so far, this one included */
	long status;             /* HTTP status, 0 when no response arrived */
	int curl_code;           /* CURLcode of the transfer, 0 (CURLE_OK) when it completed */
	bool provider_retryable; /* the wire format called the error transient */
	int should_retry;        /* x-should-retry: -1 absent, 0 false, 1 true */
	double retry_after_s;    /* Retry-After in seconds, < 0 when absent */
	bool provider_permanent; /* the wire format called the error permanent */
	double waited_s;         /* backoff already spent on this request */
};

bool retry_status_retryable(long status);
bool retry_curl_retryable(int curl_code);
/* Whether the failure described by f is worth another attempt, ignoring max_attempts. */
bool retry_is_transient(const struct retry_facts *f);
/* True when another attempt should be made; *delay_s gets how long to wait first. */
bool retry_decide(const struct retry_policy *p, const struct retry_facts *f, struct rng *r,
                  double *delay_s);
/* The jittered backoff after `attempts` attempts. */
double retry_backoff_s(const struct retry_policy *p, int attempts, struct rng *r);
/* Retry-After header value: delta-seconds or an HTTP-date (relative to now).  Returns the
 * delay in seconds (>= 0) or -1 when the value is neither. */
double retry_after_parse(const char *value, time_t now);
/* x-should-retry header value: 1 for "true", 0 for "false", -1 for anything else. */
int retry_should_parse(const char *value);

/* A reset time as rate-limit headers write it: a Go-style duration ("6ms", "1s", "6m0s",
 * "1h2m3.5s", or plain seconds "20"), an RFC 3339 time ("2025-01-01T00:00:30Z",
 * "...30.5+01:00") or a Unix time (a plain number from 1e9 on), the times relative to now_unix
 * (seconds since the epoch).  Seconds from now (>= 0), or -1 when the value is none of these. */
double retry_reset_parse(const char *value, double now_unix);

/* What a response's rate-limit headers say, per kind of limit ("requests", "tokens",
 * "input-tokens", "output-tokens"): OpenAI's x-ratelimit-remaining-KIND and
 * x-ratelimit-reset-KIND, Anthropic's anthropic-ratelimit-KIND-remaining and -KIND-reset. */
#define RETRY_LIMIT_KINDS 4
struct retry_limits {
	struct {
		char kind[24];
		long remaining; /* -1: not said */
		double reset_s; /* seconds from when the response came; -1: not said */
	} k[RETRY_LIMIT_KINDS];
	int n;
};
/* Reads one header into l when it is a rate-limit header (true), else false. */
bool retry_limits_header(struct retry_limits *l, const char *name, size_t name_len,
                         const char *value, double now_unix);
/* How long to wait after a 429 by these headers: the latest reset among the limits that are
 * exhausted (remaining 0), else the earliest reset of any; -1 when no reset was given. */
double retry_limits_wait(const struct retry_limits *l);
/* Whether a limit is spent for requests not yet sent: a "requests" limit with fewer left than
 * `in_flight` (sent, maybe not counted yet), or any limit at 0.  *reset_s: when it comes back
 * (-1: not said). */
bool retry_limits_exhausted(const struct retry_limits *l, long in_flight, double *reset_s);

#endif

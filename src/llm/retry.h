/* retry.h: when a failed LLM request is tried again, and after how long.  Pure policy over
 * numbers and header strings: no sockets, no clock (the caller passes "now").
 *
 * Retryable: HTTP 408, 409, 429 and 5xx; transport failures that a second try may cure
 * (connection refused/reset, nothing received, a partial body, a timeout); errors the wire
 * format flags as transient (a stream cut before its end marker, an "overloaded" event).
 * Never: 400, 401, 403, 404 and every other 4xx.  A server's `x-should-retry: true|false`
 * header overrides the table either way (as the official OpenAI and Anthropic SDKs do).
 *
 * Delay before attempt k+1 (k attempts made): full jitter, uniform in
 * [0, min(max, base * 2^(k-1))].  A server's Retry-After (seconds or an HTTP-date) replaces
 * the jittered delay, capped at `max` so that one answer cannot park a request for an hour;
 * a capped retry may meet another 429, which costs one more attempt, nothing worse. */
#ifndef ADOPT_RETRY_H
#define ADOPT_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "core/util.h"

struct retry_policy {
	int max_attempts;     /* total attempts, first included (>= 1) */
	double base_s, max_s; /* backoff base and cap */
};

/* What one attempt ended with. */
struct retry_facts {
	int attempts;            /* attempts made so far, this one included */
	long status;             /* HTTP status, 0 when no response arrived */
	int curl_code;           /* CURLcode of the transfer, 0 (CURLE_OK) when it completed */
	bool provider_retryable; /* the wire format called the error transient */
	int should_retry;        /* x-should-retry: -1 absent, 0 false, 1 true */
	double retry_after_s;    /* Retry-After in seconds, < 0 when absent */
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

#endif

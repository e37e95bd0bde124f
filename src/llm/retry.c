/* retry.c: the retry policy (see retry.h): which failures are transient, exponential backoff
 * with full jitter, Retry-After and x-should-retry. */
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm/retry.h"

bool retry_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

/* Transport failures that say nothing about the request itself. */
static const CURLcode transient_codes[] = {
    CURLE_COULDNT_RESOLVE_HOST,
    CURLE_COULDNT_CONNECT,
    CURLE_RECV_ERROR,
    CURLE_SEND_ERROR,
    CURLE_GOT_NOTHING,
    CURLE_PARTIAL_FILE,
    CURLE_OPERATION_TIMEDOUT,
    CURLE_SSL_CONNECT_ERROR,
    CURLE_HTTP2,
    CURLE_HTTP2_STREAM,
    CURLE_HTTP3,
};

bool retry_curl_retryable(int curl_code)
{
	for (size_t i = 0; i < ARRAY_SIZE(transient_codes); i++)
		if ((int)transient_codes[i] == curl_code)
			return true;
	return false;
}

bool retry_is_transient(const struct retry_facts *f)
{
	if (f->should_retry >= 0)
		return f->should_retry == 1;
	if (f->status >= 400)
		return retry_status_retryable(f->status);
	if (f->curl_code != 0)
		return retry_curl_retryable(f->curl_code);
	return f->provider_retryable;
}

double retry_backoff_s(const struct retry_policy *p, int attempts, struct rng *r)
{
	int k = attempts < 1 ? 0 : attempts - 1;
	double ceiling = p->base_s * ldexp(1.0, k > 60 ? 60 : k);
	if (ceiling > p->max_s)
		ceiling = p->max_s;
	return ceiling * rng_double(r);
}

bool retry_decide(const struct retry_policy *p, const struct retry_facts *f, struct rng *r,
                  double *delay_s)
{
	*delay_s = 0;
	if (f->attempts >= p->max_attempts || !retry_is_transient(f))
		return false;
	/* Draw even when Retry-After wins, so the jitter sequence does not depend on headers. */
	double d = retry_backoff_s(p, f->attempts, r);
	if (f->retry_after_s >= 0)
		d = f->retry_after_s < p->max_s ? f->retry_after_s : p->max_s;
	*delay_s = d;
	return true;
}

double retry_after_parse(const char *value, time_t now)
{
	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return -1;
	char *end;
	double secs = strtod(value, &end);
	if (end != value) {
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (!*end && secs >= 0 && isfinite(secs))
			return secs;
		if (!*end)
			return -1;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	return t > now ? (double)(t - now) : 0;
}

int retry_should_parse(const char *value)
{
	if (!value)
		return -1;
	char buf[16];
	size_t n = 0;
	while (*value == ' ' || *value == '\t')
		value++;
	while (value[n] && n < sizeof(buf) - 1 && value[n] != ' ' && value[n] != '\r' &&
	       value[n] != '\n') {
		buf[n] = value[n];
		n++;
	}
	buf[n] = '\0';
	if (!strcasecmp(buf, "true"))
		return 1;
	if (!strcasecmp(buf, "false"))
		return 0;
	return -1;
}

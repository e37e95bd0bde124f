/* retry.c: the retry policy (see retry.h): which failures are transient, exponential backoff
 * with equal jitter and a per-request budget, Retry-After, x-should-retry, and the rate-limit
 * headers' reset times. */
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
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
	if (f->provider_permanent)
		return false;
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
	return ceiling / 2 * (1 + rng_double(r));
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
	if (p->budget_s > 0 && f->waited_s + d > p->budget_s)
		return false;
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

/* ---- rate-limit headers ----------------------------------------------------------------- */

/* "1h2m3.5s", "6m0s", "250ms", "20" (seconds): a sum of number-unit terms. */
static double duration_parse(const char *s)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {{"ms", 1e-3}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ns", 1e-9}, {"h", 3600},
	             {"m", 60},    {"s", 1}};
	double total = 0;
	int terms = 0;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s || !isfinite(v) || v < 0 || *s == '+' || *s == '-')
			return -1;
		s = end;
		size_t i = 0;
		while (i < ARRAY_SIZE(units) && strncmp(s, units[i].unit, strlen(units[i].unit)))
			i++;
		if (i == ARRAY_SIZE(units)) {
			if (*s || terms) /* a bare number only alone: seconds */
				return -1;
			return v;
		}
		s += strlen(units[i].unit);
		total += v * units[i].secs;
		terms++;
	}
	return terms ? total : -1;
}

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm): no
 * timegm, which is not POSIX */
static long days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "2025-01-01T00:00:30Z", "2025-01-01T00:00:30.25+01:00": seconds since the epoch, or -1. */
static double rfc3339_parse(const char *s)
{
	int y, mo, d, h, mi, used = 0;
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%n", &y, &mo, &d, &h, &mi, &used) != 5 || !used)
		return -1;
	s += used;
	char *end;
	double sec = strtod(s, &end);
	if (end == s || !isdigit((unsigned char)*s) || sec < 0 || sec >= 61)
		return -1;
	s = end;
	double off = 0;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om, n = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
			return -1;
		off = (*s == '-' ? -1 : 1) * (oh * 3600.0 + om * 60.0);
		s += 6;
	} else {
		return -1;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return -1;
	return (double)days_from_civil(y, mo, d) * 86400 + h * 3600.0 + mi * 60.0 + sec - off;
}

double retry_reset_parse(const char *value, double now_unix)
{
	if (!value)
		return -1;
	char buf[64];
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strcspn(value, " \t\r\n");
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, value, n);
	buf[n] = '\0';
	double d = duration_parse(buf);
	if (d >= 1e9 && buf[strspn(buf, "0123456789.")] == '\0') /* a Unix time, not a wait */
		return d > now_unix ? d - now_unix : 0;
	if (d >= 0)
		return d;
	double t = rfc3339_parse(buf);
	if (t < 0)
		return -1;
	return t > now_unix ? t - now_unix : 0;
}

bool retry_limits_header(struct retry_limits *l, const char *name, size_t name_len,
                         const char *value, double now_unix)
{
	/* prefix, then KIND between the word and the end (OpenAI: word-KIND; Anthropic:
	 * KIND-word) */
	static const struct {
		const char *prefix;
		bool word_first;
	} forms[] = {{"x-ratelimit-", true}, {"anthropic-ratelimit-", false}};
	static const char *const words[] = {"remaining", "reset"};
	for (size_t f = 0; f < ARRAY_SIZE(forms); f++) {
		size_t pl = strlen(forms[f].prefix);
		if (name_len <= pl || strncasecmp(name, forms[f].prefix, pl))
			continue;
		const char *rest = name + pl;
		size_t rl = name_len - pl;
		for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
			size_t wl = strlen(words[w]);
			const char *kind;
			size_t kl;
			if (forms[f].word_first) {
				if (rl <= wl + 1 || strncasecmp(rest, words[w], wl) ||
				    rest[wl] != '-')
					continue;
				kind = rest + wl + 1, kl = rl - wl - 1;
			} else {
				if (rl <= wl + 1 || strncasecmp(rest + rl - wl, words[w], wl) ||
				    rest[rl - wl - 1] != '-')
					continue;
				kind = rest, kl = rl - wl - 1;
			}
			if (kl >= sizeof l->k[0].kind)
				return false;
			int i = 0;
			while (i < l->n &&
			       (strlen(l->k[i].kind) != kl || strncasecmp(l->k[i].kind, kind, kl)))
				i++;
			if (i == l->n) {
				if (l->n == RETRY_LIMIT_KINDS)
					return false;
				memcpy(l->k[i].kind, kind, kl);
				l->k[i].kind[kl] = '\0';
				l->k[i].remaining = -1;
				l->k[i].reset_s = -1;
				l->n++;
			}
			if (w == 0) {
				long v;
				char buf[32];
				size_t n = strcspn(value, "\r\n");
				snprintf(buf, sizeof buf, "%.*s", (int)MIN(n, sizeof buf - 1),
				         value);
				if (parse_long(str_trim(buf), &v) == 0 && v >= 0)
					l->k[i].remaining = v;
			} else {
				l->k[i].reset_s = retry_reset_parse(value, now_unix);
			}
			return true;
		}
	}
	return false;
}

double retry_limits_wait(const struct retry_limits *l)
{
	double spent = -1, any = -1;
	for (int i = 0; i < l->n; i++) {
		double r = l->k[i].reset_s;
		if (r < 0)
			continue;
		if (l->k[i].remaining == 0 && r > spent)
			spent = r;
		if (any < 0 || r < any)
			any = r;
	}
	return spent >= 0 ? spent : any;
}

bool retry_limits_exhausted(const struct retry_limits *l, long in_flight, double *reset_s)
{
	bool out = false;
	*reset_s = -1;
	for (int i = 0; i < l->n; i++) {
		long left = l->k[i].remaining;
		if (left < 0)
			continue;
		bool requests = !strcasecmp(l->k[i].kind, "requests");
		if (left == 0 || (requests && left < in_flight)) {
			out = true;
			*reset_s = MAX(*reset_s, l->k[i].reset_s);
		}
	}
	return out;
}

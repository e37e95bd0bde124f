/* keygate.c: the rule of keygate.h: which hosts and variables a key may go to without --trust,
 * and the user's answers (per variable and host) when the front end asks. */
#include "llm/keygate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum answer { ASKED, ALLOWED, DENIED };

struct decision {
	char *var, *origin;
	enum answer state;
};

struct keygate {
	bool trust;
	char *user_origin; /* of --base-url, or NULL */
	struct decision *v;
	size_t n, cap;
};

/* ---- URLs, as libcurl reads them --------------------------------------------------------- */

/* The URL's parts (curl_free them), or -1. */
static int url_parts(const char *url, char **scheme, char **host, char **port)
{
	*scheme = *host = *port = NULL;
	CURLU *u = url ? curl_url() : NULL;
	int rc = -1;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

static void parts_free(char *scheme, char *host, char *port)
{
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

char *url_origin(const char *url)
{
	char *scheme, *host, *port, *o = NULL;
	if (url_parts(url, &scheme, &host, &port) == 0) {
		o = xasprintf("%s://%s:%s", scheme, host, port);
		for (char *p = o; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	parts_free(scheme, host, port);
	return o;
}

bool url_is_loopback(const char *url)
{
	char *scheme, *host, *port;
	bool local = false;
	if (url_parts(url, &scheme, &host, &port) == 0) {
		struct in_addr a4;
		struct in6_addr a6;
		size_t n = strlen(host);
		if (strcasecmp(host, "localhost") == 0) {
			local = true;
		} else if (inet_pton(AF_INET, host, &a4) == 1) {
			local = (ntohl(a4.s_addr) >> 24) == 127;
		} else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = '\0';
			local = inet_pton(AF_INET6, host + 1, &a6) == 1 &&
			        (IN6_IS_ADDR_LOOPBACK(&a6) ||
			         (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127));
		}
	}
	parts_free(scheme, host, port);
	return local;
}

/* ---- the rule ------------------------------------------------------------------------------ */

struct keygate *keygate_new(bool trust, const char *user_base_url)
{
	struct keygate *g = xcalloc(1, sizeof *g);
	g->trust = trust;
	g->user_origin = user_base_url && *user_base_url ? url_origin(user_base_url) : NULL;
	return g;
}

void keygate_free(struct keygate *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].var);
		free(g->v[i].origin);
	}
	free(g->v);
	free(g->user_origin);
	free(g);
}

static bool same_origin(const char *origin, const char *url)
{
	char *o = url && *url ? url_origin(url) : NULL;
	bool same = o && strcmp(o, origin) == 0;
	free(o);
	return same;
}

/* The provider's default host, or one the user named (--base-url, the standard variable). */
static bool host_chosen(const struct keygate *g, const struct provider_ops *ops, const char *origin)
{
	return same_origin(origin, ops->default_base_url) ||
	       (g->user_origin && strcmp(g->user_origin, origin) == 0) ||
	       (ops->base_url_env && same_origin(origin, getenv(ops->base_url_env)));
}

static bool var_standard(const struct provider_ops *ops, const char *var)
{
	return (ops->key_env && strcmp(var, ops->key_env) == 0) ||
	       (strlen(var) > strlen("_API_KEY") && str_endswith(var, "_API_KEY"));
}

static struct decision *decision_find(struct keygate *g, const char *var, const char *origin)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->v[i].var, var) == 0 && strcmp(g->v[i].origin, origin) == 0)
			return &g->v[i];
	return NULL;
}

static struct decision *decision_add(struct keygate *g, const char *var, const char *origin,
                                     enum answer state)
{
	g->v = xgrow(g->v, &g->cap, g->n + 1, sizeof *g->v);
	g->v[g->n] = (struct decision){xstrdup(var), xstrdup(origin), state};
	return &g->v[g->n++];
}

enum key_verdict keygate_check(struct keygate *g, const struct provider_ops *ops, const char *var,
                               const char *url, bool can_ask, const char **origin, struct err *e)
{
	*origin = NULL;
	if (g->trust)
		return KEY_SEND;
	char *o = url_origin(url);
	if (!o) {
		err_set(e, "cannot read the host of \"%s\"; refusing to send %s there", url, var);
		return KEY_REFUSE;
	}
	bool host_ok = url_is_loopback(url) || host_chosen(g, ops, o);
	bool var_ok = var_standard(ops, var);
	if (host_ok && var_ok) {
		free(o);
		return KEY_SEND;
	}
	struct decision *d = decision_find(g, var, o);
	enum key_verdict v = KEY_REFUSE;
	if (d && d->state == ALLOWED)
		v = KEY_SEND;
	else if (d && d->state == ASKED)
		v = KEY_WAIT;
	else if (!d && can_ask) {
		d = decision_add(g, var, o, ASKED);
		*origin = d->origin;
		v = KEY_ASK;
	}
	if (v == KEY_REFUSE && !host_ok)
		err_set(e,
		        "refusing to send the API key in %s to %s: not the provider's host, a "
		        "loopback address or a URL you gave (--base-url, %s); run with --trust to "
		        "allow it",
		        var, o, ops->base_url_env ? ops->base_url_env : "the provider's variable");
	else if (v == KEY_REFUSE)
		err_set(e,
		        "refusing to send the variable %s as an API key: api_key_env may name %s%s "
		        "a variable ending in _API_KEY; run with --trust to allow it",
		        var, ops->key_env ? ops->key_env : "", ops->key_env ? " or" : "");
	free(o);
	return v;
}

void keygate_answer(struct keygate *g, const char *var, const char *origin, bool allow)
{
	struct decision *d = decision_find(g, var, origin);
	if (!d)
		d = decision_add(g, var, origin, ASKED);
	d->state = allow ? ALLOWED : DENIED;
}

/* wire.c: helpers the wire formats share: capped results, error messages and retryability,
 * request URLs, headers and JSON bodies, tolerant JSON parsing and lookups (see wire.h). */
#include "llm/wire.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"
#include "core/termsafe.h"

/* Error texts come from servers and are shown as they are: escape sequences go whole, controls
 * (C0, DEL, C1, bidi) and newlines become spaces, bytes that are not UTF-8 U+FFFD, and a key in
 * use is redacted (core/termsafe.h).  Takes s and returns the clean heap copy. */
static char *wire_clean(char *s)
{
	struct sbuf b = {0};
	term_sanitize(&b, s, strlen(s), 0);
	free(s);
	return sbuf_take(&b);
}

int wire_fail(struct llm_result *r, const char *type, bool retryable, const char *fmt, ...)
{
	if (r->error)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	struct sbuf b = {0};
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	r->error = wire_clean(sbuf_take(&b));
	free(r->error_type);
	r->error_type = type ? wire_clean(xstrdup(type)) : NULL;
	r->retryable = retryable;
	return -1;
}

static int wire_add(struct llm_result *r, struct sbuf *b, const char *what, const char *s, size_t n)
{
	if (n > LLM_RESULT_MAX_TEXT - MIN(b->len, LLM_RESULT_MAX_TEXT))
		return wire_fail(
		    r, "response_too_large", false,
		    "the response %s is longer than the limit of %zu MiB; stopped reading", what,
		    LLM_RESULT_MAX_TEXT >> 20);
	sbuf_add(b, s, n);
	return 0;
}

int wire_add_text(struct llm_result *r, const char *s, llm_chunk_fn *chunk, void *arg)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return 0;
	if (wire_add(r, &r->text, "text", s, n) < 0)
		return -1;
	if (chunk)
		chunk(arg, s, n);
	return 0;
}

int wire_add_reasoning(struct llm_result *r, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n ? wire_add(r, &r->reasoning, "reasoning", s, n) : 0;
}

void wire_set_finish(struct llm_result *r, const char *reason)
{
	if (!reason || !*reason)
		return;
	free(r->finish_reason);
	r->finish_reason = wire_clean(xstrdup(reason));
}

int wire_truncated(struct llm_result *r)
{
	return wire_fail(r, "truncated", true, "stream ended before completion");
}

int wire_stream_failed(struct llm_result *r, const struct err *e)
{
	return wire_fail(r, "stream_error", false, "%s", e->msg[0] ? e->msg : "unreadable stream");
}

int wire_malformed(struct llm_result *r, const char *what, const char *s, size_t n)
{
	struct sbuf b = {0};
	wire_snippet(&b, s, n, 120);
	wire_fail(r, "malformed_response", true, "malformed JSON in %s: %s", what,
	          n ? sbuf_str(&b) : "(empty)");
	sbuf_free(&b);
	return -1;
}

void *wire_stream_new(bool ndjson,
                      int (*on_event)(struct wire_stream *, const char *, const char *, size_t))
{
	struct wire_stream *st = xcalloc(1, sizeof *st);
	st->ndjson = ndjson;
	st->on_event = on_event;
	if (ndjson)
		ndjson_init(&st->nd, LLM_STREAM_MAX_EVENT);
	else
		sse_init(&st->sse, LLM_STREAM_MAX_EVENT);
	return st;
}

static int stream_sse_event(void *arg, const char *event, const char *data, size_t len)
{
	struct wire_stream *st = arg;
	return st->r->complete ? 0 : st->on_event(st, event, data, len);
}

static int stream_line(void *arg, const char *line, size_t len)
{
	return stream_sse_event(arg, NULL, line, len);
}

static void stream_bind(struct wire_stream *st, struct llm_result *r, llm_chunk_fn *chunk,
                        void *arg)
{
	st->r = r;
	st->chunk = chunk;
	st->arg = arg;
	st->e.msg[0] = '\0';
}

int wire_stream_feed(void *p, const char *data, size_t n, struct llm_result *r, llm_chunk_fn *chunk,
                     void *arg)
{
	struct wire_stream *st = p;
	stream_bind(st, r, chunk, arg);
	int rc = st->ndjson ? ndjson_feed(&st->nd, data, n, stream_line, st, &st->e)
	                    : sse_feed(&st->sse, data, n, stream_sse_event, st, &st->e);
	if (rc < 0)
		return wire_stream_failed(r, &st->e);
	return r->error ? -1 : 0;
}

int wire_stream_end(void *p, struct llm_result *r)
{
	struct wire_stream *st = p;
	st->r = r; /* chunk and arg stay those of the last feed */
	st->e.msg[0] = '\0';
	bool had_error = r->error != NULL;
	int rc = st->ndjson ? ndjson_end(&st->nd, stream_line, st, &st->e)
	                    : sse_end(&st->sse, stream_sse_event, st, &st->e);
	if (!had_error && r->error && r->error_type &&
	    strcmp(r->error_type, "malformed_response") == 0) {
		/* half an object cut off by the end of the body: a truncation, not garbage */
		free(r->error);
		r->error = NULL;
		return wire_truncated(r);
	}
	if (rc < 0)
		return wire_stream_failed(r, &st->e);
	if (!r->complete)
		return wire_truncated(r);
	return r->error ? -1 : 0;
}

void wire_stream_free(void *p)
{
	struct wire_stream *st = p;
	if (!st)
		return;
	sse_free(&st->sse);
	ndjson_free(&st->nd);
	sbuf_free(&st->refusal);
	sbuf_free(&st->scratch);
	free(st);
}

void wire_snippet(struct sbuf *out, const char *s, size_t n, size_t max)
{
	size_t m = n;
	if (m > max) {
		m = max;
		while (m > 0 && ((unsigned char)s[m] & 0xC0) == 0x80)
			m--; /* do not cut a UTF-8 sequence */
	}
	for (size_t i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		sbuf_addc(out, c < 0x20 || c == 0x7F ? ' ' : (char)c);
	}
	if (m < n)
		sbuf_adds(out, "...");
}

/* Names for statuses that come without an error type of their own. */
static const struct {
	int status;
	const char *name;
} status_names[] = {
    {400, "bad_request"},       {401, "unauthorized"},         {403, "forbidden"},
    {404, "not_found"},         {408, "request_timeout"},      {409, "conflict"},
    {413, "request_too_large"}, {422, "unprocessable_entity"}, {429, "rate_limited"},
    {500, "server_error"},      {502, "bad_gateway"},          {503, "service_unavailable"},
    {504, "gateway_timeout"},   {529, "overloaded"},
};

static const char *status_name(int status, char buf[16])
{
	if (status >= 200 && status < 300)
		return "error"; /* reported inside a successful response */
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (status_names[i].status == status)
			return status_names[i].name;
	snprintf(buf, 16, "http_%d", status);
	return buf;
}

bool wire_status_retryable(int status)
{
	return status == 408 || status == 409 || status == 425 || status == 429 ||
	       (status >= 500 && status != 501 && status != 505);
}

/* Error types that mean "later": overload, rate limits, the server's own trouble.  And the ones
 * that no retry can cure, whatever the status says: an exhausted quota stays exhausted (OpenAI
 * sends it as a 429), a wrong key stays wrong, a missing model stays missing, a prompt too long
 * stays too long (OpenAI's codes, Anthropic's types, llama.cpp's and vLLM's names). */
static const char *const retryable_types[] = {
    "rate_limit_exceeded", "rate_limit_error", "overloaded_error",    "api_error",
    "server_error",        "timeout",          "service_unavailable", "overloaded",
    "rate_limited",        "truncated",
};
static const char *const fatal_types[] = {
    "insufficient_quota",
    "billing_error",
    "billing_hard_limit_reached",
    "invalid_api_key",
    "authentication_error",
    "permission_error",
    "permission_denied",
    "account_deactivated",
    "model_not_found",
    "not_found_error",
    "NotFoundError",
    "context_length_exceeded",
    "string_above_max_length",
    "exceed_context_size_error",
    "request_too_large",
    "invalid_request_error",
};

static bool type_in(const char *type, const char *const *list, size_t n)
{
	for (size_t i = 0; type && i < n; i++)
		if (strcmp(type, list[i]) == 0)
			return true;
	return false;
}

bool wire_type_retryable(const char *type)
{
	return type_in(type, retryable_types, ARRAY_SIZE(retryable_types));
}

void wire_error(struct llm_result *r, int status, const char *type, const char *message,
                const char *body, size_t n)
{
	char buf[16];
	const char *name = type && *type ? type : status_name(status, buf);
	bool permanent = type_in(type, fatal_types, ARRAY_SIZE(fatal_types));
	bool retry = (wire_status_retryable(status) || wire_type_retryable(type)) && !permanent;
	struct sbuf msg = {0}; /* the type is r->error_type: the caller prints it once */
	if (message && *message)
		sbuf_adds(&msg, message);
	else if (n > 0)
		wire_snippet(&msg, body, n, 200);
	else
		sbuf_addf(&msg, "empty response body (HTTP %d)", status);
	if (!r->error)
		r->permanent = permanent;
	wire_fail(r, name, retry, "%s", sbuf_str(&msg));
	sbuf_free(&msg);
}

static bool url_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7F)
			return false;
	return true;
}

int wire_url(struct http_request *h, const char *name, const char *base, const char *path,
             struct err *e)
{
	if (!str_startswith(base, "http://") && !str_startswith(base, "https://"))
		return err_set(e, "%s: base URL \"%s\" must start with http:// or https://", name,
		               base);
	if (!url_clean(base))
		return err_set(e, "%s: base URL holds a space or a control character", name);
	size_t n = strlen(base);
	if (n > 0 && base[n - 1] == '/')
		n--;
	h->url = xasprintf("%.*s%s", (int)n, base, path);
	return 0;
}

void wire_header(struct http_request *h, const char *name, const char *value)
{
	size_t n = 0;
	while (h->headers && h->headers[n])
		n++;
	h->headers = xrealloc(h->headers, (n + 2) * sizeof *h->headers);
	h->headers[n] = xasprintf("%s: %s", name, value);
	h->headers[n + 1] = NULL;
}

void wire_bearer(struct http_request *h, const char *key)
{
	if (!key || !*key)
		return;
	char *v = xasprintf("Bearer %s", key);
	wire_header(h, "Authorization", v);
	explicit_bzero(v, strlen(v));
	free(v);
}

int wire_check_key(const char *name, const char *key, struct err *e)
{
	for (const char *p = key; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			return err_set(
			    e, "%s: the API key holds a control character (a stray newline?)",
			    name);
	return 0;
}

int wire_check_request(const char *name, const struct llm_request *req, struct err *e)
{
	if (!req->model || !req->model->model || !*req->model->model)
		return err_set(e, "%s: the model configuration names no model", name);
	if (req->n_messages == 0 || !req->messages)
		return err_set(e, "%s: a request needs at least one message", name);
	for (size_t i = 0; i < req->n_messages; i++)
		if (!req->messages[i].role || !req->messages[i].content)
			return err_set(e, "%s: message %zu has no role or no content", name, i + 1);
	return 0;
}

cJSON *wire_messages(const struct llm_request *req, bool skip_system)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < req->n_messages; i++) {
		const struct llm_message *m = &req->messages[i];
		if (skip_system && strcmp(m->role, "system") == 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "role", m->role);
		cJSON_AddStringToObject(o, "content", m->content);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void wire_body(struct http_request *h, cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root);
	if (!s)
		abort(); /* cJSON fails only when out of memory */
	h->body = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(root);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code unit of a \uXXXX escape at s (which points at the backslash), or -1. */
static long u_escape(const char *s, size_t left)
{
	if (left < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	long v = 0;
	for (int i = 2; i < 6; i++) {
		int h = hexval((unsigned char)s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Rewrites lone surrogate escapes to \ufffd in place (same length).  True when any was found. */
static bool fix_surrogates(char *s, size_t n)
{
	bool fixed = false;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		long v = u_escape(s + i, n - i);
		if (v < 0) {
			i++; /* skip the escaped character, which may be a backslash */
			continue;
		}
		if (v >= 0xD800 && v <= 0xDBFF) {
			long lo = u_escape(s + i + 6, n - i - 6);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				i += 11;
				continue;
			}
		}
		if (v >= 0xD800 && v <= 0xDFFF) {
			memcpy(s + i + 2, "fffd", 4);
			fixed = true;
		}
		i += 5;
	}
	return fixed;
}

/* A NUL inside a JSON string, raw or as \u0000, would cut the value cJSON gives (a C string),
 * and with it the rest of a reply.  Each becomes the byte 0xC0, which is never valid UTF-8, so
 * that the repair where the LLM layer finishes a reply (utf8_repair in job_succeed) replaces it
 * with U+FFFD and counts it with the other invalid bytes.  NULL when there is no NUL. */
static char *nul_to_invalid(const char *s, size_t n, size_t *len)
{
	bool any = memchr(s, '\0', n) != NULL;
	for (const char *p = s; !any && (p = memchr(p, '\\', n - (size_t)(p - s))); p++)
		any = n - (size_t)(p - s) >= 6 && memcmp(p + 1, "u0000", 5) == 0;
	if (!any)
		return NULL;
	struct sbuf b = {0};
	bool in_str = false;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		bool nul = false;
		if (!in_str) {
			in_str = s[i] == '"';
		} else if (s[i] == '"') {
			in_str = false;
		} else if (s[i] == '\\') {
			nul = n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0;
			if (!nul)
				i++; /* the escaped character, which may be a quote or a backslash
				      */
		} else {
			nul = s[i] == '\0';
		}
		if (nul) {
			sbuf_add(&b, s + run, i - run);
			sbuf_addc(&b, (char)0xC0);
			i += s[i] == '\\' ? 5 : 0;
			run = i + 1;
		}
	}
	sbuf_add(&b, s + run, n - MIN(run, n));
	*len = b.len;
	return sbuf_take(&b);
}

cJSON *wire_json_parse(const char *s, size_t n)
{
	size_t m;
	char *nul_free = nul_to_invalid(s, n, &m);
	if (nul_free)
		s = nul_free, n = m;
	cJSON *j = cJSON_ParseWithLength(s, n);
	if (!j) {
		char *copy = xstrndup(s, n);
		m = strlen(copy); /* a NUL outside a string ends the text, as it would for cJSON */
		if (fix_surrogates(copy, m))
			j = cJSON_ParseWithLength(copy, m);
		free(copy);
	}
	free(nul_free);
	return j;
}

const cJSON *wire_get(const cJSON *o, const char *path)
{
	char key[64];
	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		path += n + (path[n] == '.');
		if (cJSON_IsArray(o)) {
			long idx;
			if (parse_long(key, &idx) < 0 || idx < 0 || idx > 1000000)
				return NULL;
			o = cJSON_GetArrayItem(o, (int)idx);
		} else if (cJSON_IsObject(o)) {
			o = cJSON_GetObjectItemCaseSensitive(o, key);
		} else {
			return NULL;
		}
	}
	return o;
}

const char *wire_get_str(const cJSON *o, const char *path)
{
	const cJSON *v = wire_get(o, path);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool wire_get_long(const cJSON *o, const char *path, long *out)
{
	double x;
	if (json_real(wire_get(o, path), 0, 1e15, &x, NULL) < 0)
		return false;
	*out = (long)x; /* a fraction of a token is dropped */
	return true;
}

/* ---- picking values without a tree ------------------------------------------------------- */

/* Every byte is read by index against the end, as cJSON does with a length.  The subset read is
 * strict JSON (RFC 8259) minus what cJSON might read differently: whitespace is only space,
 * tab, CR and LF (cJSON skips every byte <= 32); no control bytes inside strings (cJSON keeps
 * them, and a NUL would cut a value short); no \u0000 or surrogate escapes (cJSON refuses lone
 * ones, which wire_json_parse then repairs); no escapes in keys; numbers of at most 63 bytes
 * (cJSON's buffer); nothing but whitespace after the value (cJSON ignores trailing bytes); at
 * most 64 levels deep.  Inside that subset, cJSON accepts the text and builds the tree whose
 * wire_get() answers are the ones picked here. */

#define PICK_MAX_DEPTH 64

/* Splits each path at its last dot into the parent pick and the segment.  Segments that
 * wire_get could read as another array index ("00", "+0", " 0") are refused, as are empty ones,
 * ones of 64 bytes or more (wire_get finds nothing there), duplicates and picks whose parent
 * path is not picked. */
static int paths_compile(struct wire_paths *w)
{
	if (w->n > WIRE_PICK_MAX)
		return -1;
	for (size_t i = 0; i < w->n; i++) {
		const char *path = w->path[i], *dot = strrchr(path, '.');
		const char *seg = dot ? dot + 1 : path;
		size_t plen = dot ? (size_t)(dot - path) : 0, len = strlen(seg);
		bool digits = len > 0 && strspn(seg, "0123456789") == len;
		if (len == 0 || len >= 64 || (dot && plen == 0) ||
		    (strchr("0123456789+- \t\n\v\f\r", seg[0]) &&
		     !(digits && (seg[0] != '0' || len == 1))))
			return -1;
		w->seg[i] = seg;
		w->seg_len[i] = len;
		w->parent[i] = -1;
		w->inner[i] = false;
		for (size_t j = 0; j < w->n; j++) {
			if (j != i && !strcmp(w->path[j], path))
				return -1;
			if (dot && strlen(w->path[j]) == plen && !memcmp(w->path[j], path, plen))
				w->parent[i] = (int)j;
		}
		if (dot && w->parent[i] < 0)
			return -1;
	}
	for (size_t i = 0; i < w->n; i++)
		if (w->parent[i] >= 0)
			w->inner[w->parent[i]] = true;
	return 0;
}

struct picker {
	const char *s, *end;
	const struct wire_paths *w;
	struct wire_pick *out;
	struct sbuf *scratch;
	int depth;
};

static void pk_ws(struct picker *k)
{
	while (k->s < k->end && (*k->s == ' ' || *k->s == '\n' || *k->s == '\r' || *k->s == '\t'))
		k->s++;
}

static void pk_utf8(struct sbuf *out, unsigned v)
{
	char b[3];
	size_t n;
	if (v < 0x80) {
		b[0] = (char)v;
		n = 1;
	} else if (v < 0x800) {
		b[0] = (char)(0xC0 | (v >> 6));
		b[1] = (char)(0x80 | (v & 0x3F));
		n = 2;
	} else {
		b[0] = (char)(0xE0 | (v >> 12));
		b[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		b[2] = (char)(0x80 | (v & 0x3F));
		n = 3;
	}
	sbuf_add(out, b, n);
}

/* The escape at s (after the backslash, at least one byte there): its value in *v (a byte, or
 * a code point for \u) and its length after the backslash; 0 outside the subset. */
static size_t pk_escape(const char *s, const char *end, unsigned *v)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c = memchr(from, *s, sizeof(from) - 1);
	if (c) {
		*v = (unsigned char)to[c - from];
		return 1;
	}
	if (*s != 'u' || end - s < 5)
		return 0;
	unsigned x = 0;
	for (int i = 1; i <= 4; i++) {
		int h = hexval((unsigned char)s[i]);
		if (h < 0)
			return 0;
		x = x * 16 + (unsigned)h;
	}
	if (x == 0 || (x >= 0xD800 && x <= 0xDFFF))
		return 0;
	*v = x;
	return 5;
}

/* Bytes a string may hold as they are: not the quote, the backslash or a control byte. */
static const unsigned char *pk_plain(void)
{
	static unsigned char plain[256];
	if (!plain['a'])
		for (int c = 0x20; c < 256; c++)
			plain[c] = c != '"' && c != '\\';
	return plain;
}

/* The string at k->s (its opening quote).  With out, its value and a NUL are appended there.
 * *escaped tells whether it held an escape.  -1 outside the subset. */
static int pk_string(struct picker *k, struct sbuf *out, bool *escaped)
{
	const unsigned char *plain = pk_plain();
	const char *s = ++k->s, *run = s;
	*escaped = false;
	for (;;) {
		while (s < k->end && plain[(unsigned char)*s])
			s++;
		if (s >= k->end || (unsigned char)*s < 0x20)
			return -1;
		if (out)
			sbuf_add(out, run, (size_t)(s - run));
		if (*s == '"')
			break;
		unsigned v;
		size_t len = s + 1 < k->end ? pk_escape(s + 1, k->end, &v) : 0;
		if (!len)
			return -1;
		*escaped = true;
		if (out) {
			if (len == 1)
				sbuf_addc(out, (char)v);
			else
				pk_utf8(out, v);
		}
		s += 1 + len;
		run = s;
	}
	if (out)
		sbuf_addc(out, '\0');
	k->s = s + 1;
	return 0;
}

static const char *pk_digits(const char *s, const char *e)
{
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	return s;
}

/* A number in strict JSON syntax.  Picked ones must be integers from 0 to 10^15 - 1 (exact as
 * doubles: wire_get_long reads the same value). */
static int pk_number(struct picker *k, struct wire_pick *at)
{
	const char *s = k->s, *e = k->end;
	if (s < e && *s == '-')
		s++;
	const char *digits = s;
	if (s < e && *s == '0')
		s++;
	else if (s < e && *s >= '1' && *s <= '9')
		s = pk_digits(s, e);
	else
		return -1;
	const char *int_end = s;
	if (s < e && *s == '.') {
		const char *f = s + 1;
		if ((s = pk_digits(f, e)) == f)
			return -1;
	}
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		const char *x = s;
		if ((s = pk_digits(x, e)) == x)
			return -1;
	}
	if (s - k->s > 63)
		return -1;
	if (at) {
		if (digits != k->s || s != int_end || int_end - digits > 15)
			return -1;
		long v = 0;
		for (const char *d = digits; d < int_end; d++)
			v = v * 10 + (*d - '0');
		at->num = v;
	}
	k->s = s;
	return 0;
}

static int pk_value(struct picker *k, int at);

/* The pick under parent c (-1: the root) whose segment is seg, or -1. */
static int pk_find(const struct picker *k, int c, const char *seg, size_t len)
{
	const struct wire_paths *w = k->w;
	for (size_t i = 0; i < w->n; i++)
		if (w->parent[i] == c && w->seg_len[i] == len && !memcmp(w->seg[i], seg, len))
			return (int)i;
	return -1;
}

/* An object or array at k->s; with match, its members are looked up among the children of
 * pick c (-1: the root). */
static int pk_container(struct picker *k, bool match, int c)
{
	bool object = *k->s == '{';
	char close = object ? '}' : ']';
	if (++k->depth > PICK_MAX_DEPTH)
		return -1;
	k->s++;
	pk_ws(k);
	if (k->s < k->end && *k->s == close) {
		k->s++;
		k->depth--;
		return 0;
	}
	for (unsigned long i = 0;; i++) {
		int at = -1;
		if (object) {
			bool escaped;
			if (k->s >= k->end || *k->s != '"')
				return -1;
			const char *key = k->s + 1;
			if (pk_string(k, NULL, &escaped) < 0 || escaped)
				return -1;
			if (match)
				at = pk_find(k, c, key, (size_t)(k->s - 1 - key));
			pk_ws(k);
			if (k->s >= k->end || *k->s != ':')
				return -1;
			k->s++;
			pk_ws(k);
		} else if (match) {
			char num[24], *p = num + sizeof num;
			unsigned long x = i;
			do
				*--p = (char)('0' + x % 10);
			while ((x /= 10));
			at = pk_find(k, c, p, (size_t)(num + sizeof num - p));
		}
		if (pk_value(k, at) < 0)
			return -1;
		pk_ws(k);
		if (k->s < k->end && *k->s == ',') {
			k->s++;
			pk_ws(k);
			continue;
		}
		if (k->s >= k->end || *k->s != close)
			return -1;
		k->s++;
		k->depth--;
		return 0;
	}
}

/* The value at k->s; at is the pick for its path, or -1. */
static int pk_value(struct picker *k, int at)
{
	if (k->s >= k->end)
		return -1;
	struct wire_pick *out = at >= 0 ? &k->out[at] : NULL;
	if (out && out->type != WIRE_ABSENT)
		return -1; /* a duplicate key: cJSON would take the first, not worth following */
	static const struct {
		const char *text;
		size_t len;
		enum wire_type type;
	} literals[] = {{"null", 4, WIRE_NULL}, {"true", 4, WIRE_TRUE}, {"false", 5, WIRE_FALSE}};
	char c = *k->s;
	enum wire_type type;
	if (c == '{' || c == '[') {
		type = c == '{' ? WIRE_OBJECT : WIRE_ARRAY;
		if (pk_container(k, out && k->w->inner[at], at) < 0)
			return -1;
	} else if (c == '"') {
		bool escaped;
		type = WIRE_STRING;
		if (out)
			out->str = k->scratch->len;
		if (pk_string(k, out ? k->scratch : NULL, &escaped) < 0)
			return -1;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		type = WIRE_NUMBER;
		if (pk_number(k, out) < 0)
			return -1;
	} else {
		size_t i = 0;
		while (i < ARRAY_SIZE(literals) &&
		       ((size_t)(k->end - k->s) < literals[i].len ||
		        memcmp(k->s, literals[i].text, literals[i].len) != 0))
			i++;
		if (i == ARRAY_SIZE(literals))
			return -1;
		type = literals[i].type;
		k->s += literals[i].len;
	}
	if (out)
		out->type = type;
	return 0;
}

int wire_pick(const char *s, size_t n, struct wire_paths *paths, struct wire_pick *out,
              struct sbuf *scratch)
{
	if (!paths->state)
		paths->state = paths_compile(paths) < 0 ? -1 : 1;
	if (paths->state < 0)
		return -1;
	for (size_t i = 0; i < paths->n; i++)
		out[i] = (struct wire_pick){WIRE_ABSENT, 0, 0};
	sbuf_reset(scratch);
	struct picker k = {.s = s, .end = s + n, .w = paths, .out = out, .scratch = scratch};
	pk_ws(&k);
	if (k.s >= k.end || *k.s != '{' || pk_container(&k, true, -1) < 0)
		return -1;
	pk_ws(&k);
	return k.s == k.end ? 0 : -1;
}

const char *wire_pick_str(const struct wire_pick *p, const struct sbuf *scratch)
{
	return p->type == WIRE_STRING ? scratch->s + p->str : NULL;
}

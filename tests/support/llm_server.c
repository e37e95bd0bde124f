/* llm_server.c: the test LLM server: command line, HTTP routing (libmicrohttpd, one thread per
 * connection so that latency never blocks other requests), authentication, and sending answers
 * with the faults decided in server_fault.c.  Answers come from a rules file (llm/rules.h).
 *
 *   llm-server [--port N] [--rules FILE] [--corpus FILE] [--require-key KEY] [--echo-key]
 *              [--error-message TEXT] [--verbose] [--<fault> VALUE ...]
 *
 * Prints "PORT=<n>" as its first stdout line.  Endpoints:
 *   POST /v1/chat/completions, /chat/completions   OpenAI Chat Completions
 *   POST /v1/messages                              Anthropic Messages
 *   POST /api/chat                                 Ollama chat
 *   GET /api/search?query=Q&k=K                    a retrieval server (ColBERTv2 protocol)
 *                                                  over --corpus, by BM25 (server_search.c)
 *   GET /_stats, POST /_reset                      statistics of the chat endpoints and of
 *                                                  unknown paths (never of these control
 *                                                  endpoints); reset also re-seeds the faults
 *   GET|POST /_control                             read or change fault settings (JSON object)
 * A request line in absolute form ("POST http://other.host/v1/messages") is served as its path,
 * as a forward proxy would: tests point http_proxy here to stand in for a host that is not
 * loopback.  /_stats lists every distinct host and key requests carried ("credentials").
 * Threads are fine here: this is a test tool, not part of adopt-tui. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm/rules.h"
#include "server.h"

#define BODY_MAX      (8u << 20)
#define DEFAULT_RULES "{\"rules\": [{\"match\": \"(?s)^(.*)$\", \"reply\": \"echo: $1\"}]}"

static atomic_bool stopping;

/* Per-request state, from the first call of the access handler to completion. */
struct conn {
	struct sbuf body;
	const struct route *route;
	bool too_big;
};

/* A response body being sent piece by piece, with the faults that shape it. */
struct stream {
	struct pieces p;
	size_t i, off;
	size_t stop_at; /* pieces sent before the body ends */
	bool cut;       /* end by closing the connection */
	size_t stall_at;
	unsigned stall_ms, chunk_delay_ms;
};

typedef enum MHD_Result handler_fn(struct server *s, struct MHD_Connection *c, struct conn *cn);

static void sleep_ms(unsigned ms)
{
	/* In slices, so that shutdown never waits for a long stall. */
	while (ms > 0 && !atomic_load(&stopping)) {
		unsigned step = MIN(ms, 20u);
		struct timespec ts = {0, (long)step * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms -= step;
	}
}

static void add_header(struct MHD_Response *r, const char *name, const char *value)
{
	MHD_add_response_header(r, name, value);
}

/* Headers a fault plan adds to an answer: the provider's rate-limit headers (rate_headers 1,
 * with a window: remaining and reset of "requests", OpenAI's as a duration, Anthropic's as an
 * RFC 3339 time), x-should-retry on errors.  Strings live in h. */
struct plan_headers {
	const char *v[12];
	char remaining[24], reset[48];
};

static void plan_headers(const struct fault_plan *p, enum endpoint ep, int status,
                         struct plan_headers *h)
{
	size_t n = 0;
	while (h->v[n])
		n += 2;
	if (p->rate_headers == 1 && p->remaining >= 0 && ep != EP_OLLAMA) {
		snprintf(h->remaining, sizeof h->remaining, "%ld", p->remaining);
		if (ep == EP_ANTHROPIC) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			/* rounded up to the millisecond: a reset stamped early would send the
			 * client's next request into the closing window */
			long long at_ms = (long long)ceil(
			    ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + p->reset_s) * 1000);
			time_t secs = (time_t)(at_ms / 1000);
			struct tm tm;
			gmtime_r(&secs, &tm);
			char when[32];
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
			snprintf(h->reset, sizeof h->reset, "%s.%03dZ", when, (int)(at_ms % 1000));
			h->v[n++] = "anthropic-ratelimit-requests-remaining";
			h->v[n++] = h->remaining;
			h->v[n++] = "anthropic-ratelimit-requests-reset";
			h->v[n++] = h->reset;
		} else {
			snprintf(h->reset, sizeof h->reset, "%.0fms", ceil(p->reset_s * 1000));
			h->v[n++] = "x-ratelimit-remaining-requests";
			h->v[n++] = h->remaining;
			h->v[n++] = "x-ratelimit-reset-requests";
			h->v[n++] = h->reset;
		}
	}
	if (status >= 400 && p->should_retry) {
		h->v[n++] = "x-should-retry";
		h->v[n++] = p->should_retry == 1 ? "true" : "false";
	}
}

static enum MHD_Result send_body(struct MHD_Connection *c, int status, const char *type, char *body,
                                 const char *const *headers)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	add_header(r, "Content-Type", type);
	for (; headers && headers[0]; headers += 2)
		add_header(r, headers[0], headers[1]);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static void log_request(struct server *s, const char *what, enum endpoint ep, int status)
{
	if (s->verbose)
		fprintf(stderr, "llm-server: %s %s -> %d\n", endpoint_names[ep], what, status);
}

/* ---- sending answers ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *st = cls;
	if (st->i >= st->stop_at)
		return st->cut ? MHD_CONTENT_READER_END_WITH_ERROR
		               : MHD_CONTENT_READER_END_OF_STREAM;
	if (st->off == 0 && st->i > 0) {
		if (st->i == st->stall_at)
			sleep_ms(st->stall_ms);
		sleep_ms(st->chunk_delay_ms);
	}
	if (atomic_load(&stopping))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	const char *piece = st->p.v[st->i];
	size_t n = MIN(max, strlen(piece) - st->off);
	memcpy(buf, piece + st->off, n);
	st->off += n;
	if (piece[st->off] == '\0') {
		st->i++;
		st->off = 0;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	pieces_free(&st->p);
	free(st);
}

/* Shapes the body's pieces by the plan: NULs, broken JSON, a cut, a missing end marker, a
 * stall. */
static void stream_apply(struct stream *st, const struct fault_plan *plan, bool stream)
{
	struct pieces *p = &st->p;
	for (size_t i = 0; plan->nul_bytes && i < p->n; i++) /* before a whole body is halved */
		for (char *u = p->v[i]; (u = strstr(u, "\\u0001")); u += 6)
			u[5] = '0';
	if (!stream && p->n == 1) { /* a whole body goes out in two halves */
		char *whole = p->v[0];
		size_t half = strlen(whole) / 2;
		p->v[0] = xstrndup(whole, half);
		pieces_add(p, xstrdup(whole + half));
		free(whole);
	}
	if (plan->malformed) {
		size_t k = stream ? p->n / 2 : 0;
		char *broken = stream ? format_break(p->v[k]) : xstrdup("");
		if (!stream) { /* the first half stays, the second half is lost */
			free(p->v[1]);
			p->v[1] = broken;
		} else {
			free(p->v[k]);
			p->v[k] = broken;
		}
	}
	st->stop_at = p->n;
	if (plan->truncate && stream)
		st->stop_at = p->n - p->n_end;
	if (plan->drop_during) {
		st->stop_at = p->n / 2;
		st->cut = true;
	}
	st->stall_at = p->n / 2;
	st->stall_ms = plan->stall_ms;
	st->chunk_delay_ms = plan->chunk_delay_ms;
}

static enum MHD_Result send_answer(struct MHD_Connection *c, const struct chat_req *req,
                                   struct stream *st, const struct fault_plan *plan)
{
	uint64_t size = MHD_SIZE_UNKNOWN;
	if (!req->stream) {
		size = 0;
		for (size_t i = 0; i < st->p.n; i++)
			size += strlen(st->p.v[i]);
	}
	struct MHD_Response *r =
	    MHD_create_response_from_callback(size, 16384, stream_read, st, stream_free);
	add_header(r, "Content-Type", format_content_type(req->ep, req->stream));
	if (req->stream)
		add_header(r, "Cache-Control", "no-cache");
	add_header(r, req->ep == EP_ANTHROPIC ? "request-id" : "x-request-id", "req_adopt_test");
	if (req->ep == EP_OPENAI)
		add_header(r, "openai-processing-ms", "1");
	struct plan_headers ph;
	memset(&ph, 0, sizeof ph);
	plan_headers(plan, req->ep, 200, &ph);
	for (size_t i = 0; ph.v[i]; i += 2)
		add_header(r, ph.v[i], ph.v[i + 1]);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- LLM endpoints ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* 0 when the request may proceed, else the status with a message in *msg (in buf when it
 * echoes the wrong key: --echo-key, as a careless server would). */
static int auth_check(const struct server *s, struct MHD_Connection *c, enum endpoint ep,
                      const char **msg, char *buf, size_t n)
{
	const char *key = s->require_key;
	if (ep == EP_OPENAI && key) {
		const char *auth = header(c, "Authorization");
		if (!auth || !str_startswith(auth, "Bearer ")) {
			*msg =
			    "You didn't provide an API key. You need to provide your API key in an "
			    "Authorization header using Bearer auth (i.e. Authorization: Bearer "
			    "YOUR_KEY).";
			return 401;
		}
		if (strcmp(auth + 7, key)) {
			*msg = "Incorrect API key provided. You can find your API key at "
			       "https://platform.openai.com/account/api-keys.";
			if (s->echo_key) {
				snprintf(buf, n,
				         "Incorrect API key provided: %s. You can find your API "
				         "key at https://platform.openai.com/account/api-keys.",
				         auth + 7);
				*msg = buf;
			}
			return 401;
		}
	} else if (ep == EP_ANTHROPIC) {
		const char *x = header(c, "x-api-key");
		if (!x || !*x) {
			*msg = "x-api-key header is required";
			return 401;
		}
		if (key && strcmp(x, key)) {
			*msg = "invalid x-api-key";
			if (s->echo_key) {
				snprintf(buf, n, "invalid x-api-key: %s", x);
				*msg = buf;
			}
			return 401;
		}
		if (!header(c, "anthropic-version")) {
			*msg = "anthropic-version: header is required";
			return 400;
		}
	}
	return 0;
}

static enum MHD_Result send_error(struct server *s, struct MHD_Connection *c, struct conn *cn,
                                  enum endpoint ep, int status, const char *msg,
                                  const struct fault_plan *plan)
{
	stats_record(s, ep, sbuf_str(&cn->body), cn->body.len, status);
	log_request(s, "error", ep, status);
	if (s->error_message)
		msg = s->error_message;
	char secs[32], ms[32], date[64];
	struct plan_headers ph;
	memset(&ph, 0, sizeof ph);
	const char **hdrs = ph.v;
	if (status == 429 && plan->rate_headers == 0) {
		snprintf(secs, sizeof secs, "%.0f", ceil(plan->retry_after));
		snprintf(ms, sizeof ms, "%.0f", plan->retry_after * 1000);
		if (plan->retry_after_date) {
			time_t t = time(NULL) + (time_t)ceil(plan->retry_after);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		}
		hdrs[0] = "Retry-After";
		hdrs[1] = plan->retry_after_date ? date : secs;
		hdrs[2] = "retry-after-ms";
		hdrs[3] = ms;
	}
	plan_headers(plan, ep, status, &ph);
	char *body = plan->error_kind ? format_canned_error(ep, &canned_errors[plan->error_kind])
	                              : format_error(ep, status, msg);
	return send_body(c, status, "application/json", body, hdrs);
}

static const char *fault_message(int status)
{
	return status == 429 ? "Rate limit reached for requests (injected by the test server)."
	                     : "The server had an error while processing your request (injected "
	                       "by the test server).";
}

static enum MHD_Result handle_chat(struct server *s, struct MHD_Connection *c, struct conn *cn);
static void record_credential(struct server *s, struct MHD_Connection *c);

/* ---- the retrieval endpoint ---- */

/* The faults that apply to any answer (latency, a dropped connection, 429 / 500, the first N
 * failing), then search_answer. */
static enum MHD_Result handle_search(struct server *s, struct MHD_Connection *c, struct conn *cn)
{
	(void)cn;
	record_credential(s, c);
	const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
	const char *k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
	char *what = xasprintf("query=%s&k=%s", query ? query : "", k ? k : "");
	struct fault_plan plan;
	fault_decide(s, &plan);
	sleep_ms(plan.latency_ms);
	if (plan.drop_before) {
		stats_record(s, EP_SEARCH, what, strlen(what), 0);
		free(what);
		log_request(s, "dropped", EP_SEARCH, 0);
		return MHD_NO;
	}
	int status = plan.status;
	char *body = status ? xasprintf("{\"error\": \"%s\"}", fault_message(status))
	                    : search_answer(s->corpus, query, k, plan.search_hostile, &status);
	stats_record(s, EP_SEARCH, what, strlen(what), status);
	free(what);
	log_request(s, "search", EP_SEARCH, status);
	return send_body(c, status, "application/json", body, NULL);
}

/* ---- control endpoints ---- */

static enum MHD_Result send_json(struct MHD_Connection *c, int status, char *body)
{
	return send_body(c, status, "application/json", body, NULL);
}

static char *error_json(const char *msg)
{
	return format_error(EP_OLLAMA, 400, msg); /* {"error": "..."} */
}

static enum MHD_Result handle_stats(struct server *s, struct MHD_Connection *c, struct conn *cn)
{
	(void)cn;
	return send_json(c, MHD_HTTP_OK, stats_json(s));
}

static enum MHD_Result handle_reset(struct server *s, struct MHD_Connection *c, struct conn *cn)
{
	(void)cn;
	stats_reset(s);
	return send_json(c, MHD_HTTP_OK, xstrdup("{\"ok\":true}"));
}

static enum MHD_Result handle_control(struct server *s, struct MHD_Connection *c, struct conn *cn)
{
	struct err e;
	if (cn->body.len && fault_set_json(s, cn->body.s, &e) < 0)
		return send_json(c, MHD_HTTP_BAD_REQUEST, error_json(e.msg));
	return send_json(c, MHD_HTTP_OK, fault_config_json(s));
}

/* ---- routing ---- */

static const struct route {
	const char *method, *path;
	enum endpoint ep;
	bool llm; /* counted in statistics and concurrency */
	handler_fn *fn;
} routes[] = {
    {"POST", "/v1/chat/completions", EP_OPENAI, true, handle_chat},
    {"POST", "/chat/completions", EP_OPENAI, true, handle_chat},
    {"POST", "/v1/messages", EP_ANTHROPIC, true, handle_chat},
    {"POST", "/api/chat", EP_OLLAMA, true, handle_chat},
    {"GET", "/api/search", EP_SEARCH, true, handle_search},
    {"GET", "/_stats", EP_OTHER, false, handle_stats},
    {"POST", "/_reset", EP_OTHER, false, handle_reset},
    {"GET", "/_control", EP_OTHER, false, handle_control},
    {"POST", "/_control", EP_OTHER, false, handle_control},
};

static const struct route *route_find(const char *method, const char *path, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (strcmp(routes[i].path, path))
			continue;
		*path_known = true;
		if (!strcmp(routes[i].method, method))
			return &routes[i];
	}
	return NULL;
}

/* Where the request's key went (the Host header) and what it was. */
static void record_credential(struct server *s, struct MHD_Connection *c)
{
	const char *auth = header(c, "Authorization"), *x = header(c, "x-api-key");
	if (auth && str_startswith(auth, "Bearer "))
		auth += 7;
	stats_credential(s, header(c, "Host"), auth ? auth : x);
}

static enum MHD_Result handle_chat(struct server *s, struct MHD_Connection *c, struct conn *cn)
{
	enum endpoint ep = cn->route->ep;
	record_credential(s, c);
	struct fault_plan plan;
	fault_decide(s, &plan);
	sleep_ms(plan.latency_ms);
	const char *msg = NULL;
	char buf[1024];
	int status = auth_check(s, c, ep, &msg, buf, sizeof buf);
	if (!status && plan.drop_before) {
		stats_record(s, ep, sbuf_str(&cn->body), cn->body.len, 0);
		log_request(s, "dropped", ep, 0);
		return MHD_NO; /* closes the connection without a response */
	}
	if (!status && plan.status) {
		status = plan.status;
		msg = fault_message(status);
	}
	if (!status && cn->too_big) {
		status = 413;
		msg = "Request too large.";
	}
	if (status)
		return send_error(s, c, cn, ep, status, msg, &plan);
	struct chat_req req;
	char *bad;
	if (chat_req_parse(ep, sbuf_str(&cn->body), &req, &bad) < 0) {
		enum MHD_Result ret = send_error(s, c, cn, ep, 400, bad, &plan);
		free(bad);
		return ret;
	}
	unsigned delay;
	char *text = rules_reply(s->rules, req.msgs, req.n_msgs, &delay);
	long seq = stats_record(s, ep, sbuf_str(&cn->body), cn->body.len, 200);
	if (plan.json_for_stream)
		req.stream = false; /* a server that ignores "stream": true */
	if (plan.tool_call)
		text[0] = '\0';
	struct chat_reply rep;
	chat_reply_init(&rep, &req, text, seq);
	chat_reply_shape(&rep, &plan);
	rep.tool = plan.tool_call;
	stats_tokens(s, rep.tokens_in, rep.tokens_out, req.stream);
	sleep_ms(delay);
	struct stream *st = xcalloc(1, sizeof *st);
	format_answer(&req, &rep, &st->p);
	plan.truncate = plan.truncate && req.stream; /* a whole body has no end marker */
	stream_apply(st, &plan, req.stream);
	fault_count_body(s, &plan);
	log_request(s, req.stream ? "stream" : "whole", ep, 200);
	enum MHD_Result ret = send_answer(c, &req, st, &plan);
	chat_reply_free(&rep);
	chat_req_free(&req);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct server *s = cls;
	struct conn *cn = *con_cls;
	if (str_startswith(url, "http://")) { /* absolute form: as a proxy, serve its path */
		const char *path = strchr(url + 7, '/');
		url = path ? path : "/";
	}
	if (!cn) {
		bool known;
		cn = xcalloc(1, sizeof *cn);
		cn->route = route_find(method, url, &known);
		if (cn->route && cn->route->llm)
			stats_enter(s);
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (cn->body.len + *upload_size > BODY_MAX)
			cn->too_big = true;
		else
			sbuf_add(&cn->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->route)
		return cn->route->fn(s, c, cn);
	bool known;
	route_find(method, url, &known);
	record_credential(s, c);
	int status = known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
	stats_record(s, EP_OTHER, sbuf_str(&cn->body), cn->body.len, status);
	char *m = xasprintf("%s %s: %s", method, url, known ? "method not allowed" : "not found");
	enum MHD_Result ret = send_json(c, status, format_error(EP_OPENAI, status, m));
	free(m);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	struct conn *cn = *con_cls;
	if (!cn)
		return;
	if (cn->route && cn->route->llm)
		stats_leave(cls);
	sbuf_free(&cn->body);
	free(cn);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages: injected faults make it talk, so only with --verbose. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct server *s = cls;
	if (!s->verbose)
		return;
	fputs("llm-server: libmicrohttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ---- command line ---- */

static void usage(void)
{
	printf("usage: llm-server [options]\n"
	       "A test LLM server speaking the OpenAI, Anthropic and Ollama wire formats.\n\n"
	       "  --port N              listen on 127.0.0.1:N (default 0: the kernel picks)\n"
	       "  --rules FILE          answer from a scripted-rules file (default: echo the\n"
	       "                        last user message as \"echo: <text>\")\n"
	       "  --corpus FILE         JSONL of {\"text\"[, \"title\"]} that GET /api/search\n"
	       "                        searches by BM25 (ColBERTv2 server's answers)\n"
	       "  --require-key KEY     OpenAI requests need \"Authorization: Bearer KEY\",\n"
	       "                        Anthropic requests \"x-api-key: KEY\"\n"
	       "  --echo-key            quote a wrong key in full in the 401 message\n"
	       "  --error-message TEXT  the message of every error answer (hostile text)\n"
	       "  --verbose             log each request to stderr\n"
	       "  --help                this text\n\n"
	       "Faults (also settable at run time: POST /_control {\"name\": value, ...}):\n");
	fault_help();
	printf("\nFirst stdout line: PORT=<n>.  GET /_stats, GET /_control; POST /_reset zeroes\n"
	       "the statistics and re-seeds the fault choices.\n"
	       "Tokens are estimated as ceil(bytes / 4) of each message and of the reply.\n");
}

static int parse_args(struct server *s, int argc, char **argv, long *port, struct err *e)
{
	char *rules = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!str_startswith(a, "--"))
			return err_set(e, "unexpected argument \"%s\" (see --help)", a);
		char *name = xstrdup(a + 2), *value = strchr(name, '=');
		if (value)
			*value++ = '\0';
		int rc = 0;
		if (!strcmp(name, "help")) {
			usage();
			exit(0);
		} else if (!strcmp(name, "verbose")) {
			s->verbose = true;
		} else if (!strcmp(name, "echo-key") || !strcmp(name, "echo_key")) {
			s->echo_key = true;
		} else if (!value && i + 1 >= argc) {
			rc = err_set(e, "--%s needs a value", name);
		} else {
			if (!value)
				value = argv[++i];
			if (!strcmp(name, "port")) {
				if (parse_long(value, port) < 0 || *port < 0 || *port > 65535)
					rc = err_set(e, "--port: \"%s\" is not a port number",
					             value);
			} else if (!strcmp(name, "rules")) {
				free(rules);
				rules = xstrdup(value);
			} else if (!strcmp(name, "corpus")) {
				search_corpus_free(s->corpus);
				s->corpus = search_corpus_load(value, e);
				rc = s->corpus ? 0 : -1;
			} else if (!strcmp(name, "require-key") || !strcmp(name, "require_key")) {
				free(s->require_key);
				s->require_key = xstrdup(value);
			} else if (!strcmp(name, "error-message") ||
			           !strcmp(name, "error_message")) {
				free(s->error_message);
				s->error_message = xstrdup(value);
			} else {
				rc = fault_set(s, name, value, e);
			}
		}
		free(name);
		if (rc < 0) {
			free(rules);
			return -1;
		}
	}
	s->rules = rules ? rules_load(rules, e) : rules_parse(DEFAULT_RULES, "default rules", e);
	free(rules);
	return s->rules ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct server srv;
	struct err e;
	long port = 0;
	server_init(&srv);
	if (parse_args(&srv, argc, argv, &port, &e) < 0) {
		fprintf(stderr, "llm-server: %s\n", e.msg);
		server_done(&srv);
		return 2;
	}
	/* Signals go to this thread only (sigwait below); connection threads inherit the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned flags =
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, &srv, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    &srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)300, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "llm-server: cannot listen on 127.0.0.1:%ld: %s\n", port,
		        strerror(errno));
		server_done(&srv);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("PORT=%u\n", info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);

	int sig = 0;
	sigwait(&set, &sig);
	atomic_store(&stopping, true);
	if (srv.verbose)
		fprintf(stderr, "llm-server: signal %d, shutting down\n", sig);
	MHD_stop_daemon(d);
	server_done(&srv);
	return 0;
}

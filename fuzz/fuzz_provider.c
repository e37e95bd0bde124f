/* fuzz_provider.c: the OpenAI, Anthropic and Ollama response handlers (src/llm/provider_*.c):
 * streamed bodies fed whole, byte by byte and in random pieces must give the same result; whole
 * bodies and error bodies must give a result without crashing; and no control character (C0,
 * DEL, C1, bidi, or a byte that is not UTF-8) nor a registered key may reach an error message,
 * an error type or a finish reason, which are shown to the user.
 *
 * Input: byte 0 picks the provider (bits 0-1) and the handler (bits 2-3: stream, whole body,
 * error body); byte 1 seeds the piece sizes or picks the HTTP status; the rest is the body. */
#include <string.h>

#include "core/redact.h"
#include "core/utf8.h"
#include "fuzz.h"
#include "llm/provider.h"

#define KEY "sk-fuzz-0123456789abcdef"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	redact_add(KEY);
	return 0;
}

static const char *const providers[] = {"openai", "anthropic", "ollama"};
static const int statuses[] = {400, 401, 403, 404, 408, 429, 500, 502, 503, 529, 200, 418};

/* Valid UTF-8 without C0 (tab and newline included: messages are one line), DEL, C1 or a bidi
 * control, and without the key. */
static void check_clean(const char *what, const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		long cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		FUZZ_CHECK(cp >= 0, "%s: invalid UTF-8 at byte %zu of \"%s\"", what, i, s);
		FUZZ_CHECK(cp >= 0x20 && !(cp >= 0x7F && cp < 0xA0) &&
		               !(cp >= 0x202A && cp <= 0x202E) && !(cp >= 0x2066 && cp <= 0x2069),
		           "%s: control character U+%04lX at byte %zu of \"%s\"", what, cp, i, s);
		i += k;
	}
	FUZZ_CHECK(!strstr(s, KEY), "%s: the key is shown: %s", what, s);
}

static void check_result(const struct llm_result *r)
{
	check_clean("error", r->error);
	check_clean("error type", r->error_type);
	check_clean("finish reason", r->finish_reason);
	FUZZ_CHECK(r->text.len <= LLM_RESULT_MAX_TEXT, "text over its limit");
	FUZZ_CHECK(r->usage.in >= 0 && r->usage.out >= 0 && r->usage.cached >= 0,
	           "negative usage %ld %ld %ld", r->usage.in, r->usage.out, r->usage.cached);
}

struct run {
	struct llm_result r;
	struct sbuf chunks;
	int rc;
};

static void on_chunk(void *arg, const char *text, size_t len)
{
	struct run *run = arg;
	FUZZ_CHECK(len > 0, "empty chunk");
	sbuf_add(&run->chunks, text, len);
}

static void stream(const struct provider_ops *ops, const char *body, size_t n, int how,
                   unsigned seed, struct run *run)
{
	struct rng rng;
	rng_seed(&rng, seed);
	*run = (struct run){0};
	void *st = ops->stream_new();
	for (size_t i = 0; i < n && run->rc == 0;) {
		size_t k = how == 0 ? n - i : how == 1 ? 1 : 1 + rng_below(&rng, 31);
		k = MIN(k, n - i);
		run->rc = ops->stream_feed(st, body + i, k, &run->r, on_chunk, run);
		i += k;
	}
	if (run->rc == 0)
		run->rc = ops->stream_end(st, &run->r);
	ops->stream_free(st);
	check_result(&run->r);
	FUZZ_CHECK(run->rc == 0 || run->r.error, "stream failed without an error");
	FUZZ_CHECK(run->chunks.len == run->r.text.len &&
	               memcmp(sbuf_str(&run->chunks), sbuf_str(&run->r.text), run->chunks.len) == 0,
	           "the chunks told differ from the text kept");
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_buf(const struct sbuf *a, const struct sbuf *b)
{
	return a->len == b->len && memcmp(sbuf_str(a), sbuf_str(b), a->len) == 0;
}

static void same(const struct run *a, const struct run *b, int how)
{
	FUZZ_CHECK(a->rc == b->rc, "feeding %d: rc %d, whole %d", how, b->rc, a->rc);
	FUZZ_CHECK(same_buf(&a->r.text, &b->r.text), "feeding %d: other text", how);
	FUZZ_CHECK(same_buf(&a->r.reasoning, &b->r.reasoning), "feeding %d: other reasoning", how);
	FUZZ_CHECK(same_str(a->r.finish_reason, b->r.finish_reason), "feeding %d: finish", how);
	FUZZ_CHECK(same_str(a->r.error, b->r.error), "feeding %d: error \"%s\", whole \"%s\"", how,
	           b->r.error ? b->r.error : "", a->r.error ? a->r.error : "");
	FUZZ_CHECK(same_str(a->r.error_type, b->r.error_type), "feeding %d: error type", how);
	FUZZ_CHECK(a->r.complete == b->r.complete && a->r.usage_seen == b->r.usage_seen &&
	               a->r.usage.in == b->r.usage.in && a->r.usage.out == b->r.usage.out &&
	               a->r.usage.cached == b->r.usage.cached && a->r.retryable == b->r.retryable,
	           "feeding %d: other usage or state", how);
}

static void run_free(struct run *run)
{
	llm_result_free(&run->r);
	sbuf_free(&run->chunks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const struct provider_ops *ops = provider_find(providers[(data[0] & 3) % 3]);
	const char *body = (const char *)data + 2;
	size_t n = size - 2;
	switch ((data[0] >> 2) & 3) {
	case 0:
	case 3: {
		struct run whole, split;
		stream(ops, body, n, 0, data[1], &whole);
		for (int how = 1; how <= 2; how++) {
			stream(ops, body, n, how, data[1], &split);
			same(&whole, &split, how);
			run_free(&split);
		}
		run_free(&whole);
		break;
	}
	case 1: {
		struct llm_result r = {0};
		int rc = ops->parse(body, n, &r);
		FUZZ_CHECK(rc == 0 || r.error, "parse failed without an error");
		check_result(&r);
		llm_result_free(&r);
		break;
	}
	case 2: {
		struct llm_result r = {0};
		ops->parse_error(statuses[data[1] % ARRAY_SIZE(statuses)], body, n, &r);
		FUZZ_CHECK(r.error && r.error_type, "an error body without an error");
		check_result(&r);
		llm_result_free(&r);
		break;
	}
	}
	return 0;
}

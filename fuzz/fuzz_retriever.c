/* fuzz_retriever.c: the retrieval-server format (src/llm/retriever.c): a whole answer body and an
 * error body give a result without crashing; an accepted answer's text is a list of passages
 * that llm_passages reads back, every passage valid UTF-8 with no escape sequence or control
 * character but newline and tab (they reach prompts and the screen), and llm_passages on any
 * bytes (a cache line's text may be anyone's) either refuses them or gives such passages.
 *
 * Input: byte 0 picks the handler (bit 0: answer or error body) and, for an error, the status
 * (the other bits); the rest is the body. */
#include <string.h>

#include "core/utf8.h"
#include "fuzz.h"
#include "llm/llm.h"
#include "llm/provider.h"

/* Valid UTF-8 without C0 (but newline and tab when `lines`), DEL, C1 or a bidi control. */
static void check_clean(const char *what, const char *s, bool lines)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		long cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		FUZZ_CHECK(cp >= 0, "%s: invalid UTF-8 at byte %zu", what, i);
		bool ok = cp >= 0x20 || (lines && (cp == '\n' || cp == '\t'));
		FUZZ_CHECK(ok && !(cp >= 0x7F && cp < 0xA0) && !(cp >= 0x202A && cp <= 0x202E) &&
		               !(cp >= 0x2066 && cp <= 0x2069),
		           "%s: control character U+%04lX at byte %zu", what, cp, i);
		i += k;
	}
}

/* llm_passages on text: refused, or clean passages. */
static int read_passages(const char *text, size_t *count)
{
	char **items;
	size_t n;
	struct err e;
	if (llm_passages(text, 1000, &items, &n, &e) < 0) {
		check_clean("llm_passages error", e.msg, false);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		check_clean("passage", items[i], true);
		free(items[i]);
	}
	free(items);
	*count = n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct provider_ops *ops = provider_find("colbertv2");
	FUZZ_CHECK(ops && ops->retriever, "no retrieval format");
	const char *body = (const char *)data + 1;
	size_t n = size - 1;
	char *copy = xstrndup(body, n); /* also as a cache line's text */
	size_t count;
	read_passages(copy, &count);
	struct llm_result r = {0};
	if (data[0] & 1) {
		static const int statuses[] = {400, 404, 429, 500, 502, 503};
		ops->parse_error(statuses[(data[0] >> 1) % 6], body, n, &r);
		FUZZ_CHECK(r.error, "an error body without an error");
		check_clean("error", r.error, false);
	} else if (ops->parse(body, n, &r) < 0) {
		FUZZ_CHECK(r.error, "refused without an error");
		check_clean("error", r.error, false);
		FUZZ_CHECK(r.text.len == 0, "refused, yet text kept");
	} else {
		FUZZ_CHECK(!r.error && r.usage_seen && r.usage.in == 0 && r.usage.out == 0,
		           "an answer with an error or tokens");
		FUZZ_CHECK(read_passages(sbuf_str(&r.text), &count) == 0,
		           "an accepted answer's text is not read back");
	}
	llm_result_free(&r);
	free(copy);
	return 0;
}

/* fuzz_termsafe.c: the headless half of terminal hygiene (src/core/termsafe.c), through which
 * --check, --eval and --run print: term_sanitize leaves valid UTF-8 without an escape sequence,
 * a control (C0 but the newline and tab it was told to keep, DEL, C1, bidi) or a registered key,
 * and changes nothing the second time; the scanner emits the same characters whether it gets a
 * text whole or in pieces (cut between characters); term_json writes JSON that reads back as the
 * same data, with no control and no key.
 *
 * Input: byte 0 gives the flags (bits 0-1), byte 1 seeds the cuts; the rest is the text. */
#include <string.h>

#include <cjson/cJSON.h>

#include "core/redact.h"
#include "core/termsafe.h"
#include "fuzz.h"

#define KEY "sk-fuzz-0123456789abcdef"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	redact_add(KEY);
	return 0;
}

static bool holds_key(const char *s, size_t n)
{
	size_t k = strlen(KEY);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, KEY, k) == 0)
			return true;
	return false;
}

/* Valid UTF-8 without a control but those allowed, and without the key. */
static void check_out(const char *what, const char *s, size_t n, unsigned flags)
{
	for (size_t i = 0; i < n;) {
		long c;
		size_t k = utf8_decode(s + i, n - i, &c);
		FUZZ_CHECK(c >= 0, "%s: invalid UTF-8 at byte %zu", what, i);
		FUZZ_CHECK(!term_is_control(c) || (c == '\n' && (flags & TERM_KEEP_NEWLINES)) ||
		               (c == '\t' && (flags & TERM_KEEP_TABS)),
		           "%s: control U+%04lX at byte %zu", what, c, i);
		i += k;
	}
	FUZZ_CHECK(!holds_key(s, n), "%s: the key is shown", what);
}

static void collect(void *arg, long cp)
{
	struct sbuf *b = arg;
	sbuf_add(b, (const char *)&cp, sizeof cp);
}

static void check_scan_pieces(const char *s, size_t n, unsigned seed)
{
	struct sbuf whole = {0}, cut = {0};
	struct term_scan a = {0, collect, &whole}, b = {0, collect, &cut};
	term_scan(&a, s, n);
	struct rng rng;
	rng_seed(&rng, seed);
	size_t start = 0;
	for (size_t i = 0; i < n;) {
		long c;
		i += utf8_decode(s + i, n - i, &c);
		if (i == n || rng_below(&rng, 4) == 0) {
			term_scan(&b, s + start, i - start);
			start = i;
		}
	}
	FUZZ_CHECK(whole.len == cut.len && memcmp(sbuf_str(&whole), sbuf_str(&cut), whole.len) == 0,
	           "the scanner emits other characters for a text in pieces");
	sbuf_free(&whole);
	sbuf_free(&cut);
}

static void check_json(const char *s, size_t n)
{
	cJSON *in = cJSON_ParseWithLength(s, n);
	if (!in)
		return;
	char *text = cJSON_Print(in);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	FUZZ_CHECK(f, "open_memstream failed");
	term_json(f, text);
	fclose(f);
	check_out("term_json", buf, len, TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
	cJSON *back = cJSON_ParseWithLength(buf, len);
	FUZZ_CHECK(back, "term_json wrote invalid JSON: %s", buf);
	bool valid = true;
	for (size_t i = 0, m = strlen(text); i < m && valid;) {
		long c;
		i += utf8_decode(text + i, m - i, &c);
		valid = c >= 0;
	}
	/* the same data: printed again, the same text (cJSON_Compare would stumble on duplicate
	 * keys) */
	if (valid && !redact_needed(text, strlen(text))) {
		char *text2 = cJSON_Print(back);
		FUZZ_CHECK(strcmp(text, text2) == 0, "term_json changed the data:\n%s\n%s", text,
		           text2);
		cJSON_free(text2);
	}
	cJSON_Delete(back);
	free(buf);
	cJSON_free(text);
	cJSON_Delete(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned flags = data[0] & (TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
	const char *s = (const char *)data + 2;
	size_t n = size - 2;

	struct sbuf out = {0}, again = {0};
	term_sanitize(&out, s, n, flags);
	check_out("term_sanitize", sbuf_str(&out), out.len, flags);
	term_sanitize(&again, sbuf_str(&out), out.len, flags);
	FUZZ_CHECK(again.len == out.len && memcmp(sbuf_str(&again), sbuf_str(&out), out.len) == 0,
	           "sanitizing twice changes the text");
	sbuf_free(&again);
	sbuf_free(&out);

	check_scan_pieces(s, n, data[1]);
	check_json(s, n);
	return 0;
}

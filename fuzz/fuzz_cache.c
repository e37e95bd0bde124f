/* fuzz_cache.c: the response cache's loader (src/llm/cache.c).  Whatever a cache file holds
 * (torn lines, garbage, records of every shape), opening it works; an answer appended after the
 * garbage is found again when the file is reopened, with its model, text and usage, and the
 * records that were there still are.
 *
 * Input: the file; its last bytes (up to 40, after the last newline) are also the answer's text. */
#include <string.h>

#include "fuzz.h"
#include "llm/cache.h"

static const char key[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_write("c.cache.jsonl", data, size);
	struct err e = {{0}};
	struct cache *c = cache_open(path, &e);
	FUZZ_CHECK(c, "open: %s", e.msg);
	size_t before = cache_count(c);
	FUZZ_CHECK(cache_skipped(c) >= 0, "negative skip count");
	const struct cache_entry *old = cache_get(c, key);
	FUZZ_CHECK(!old || (old->usage.in >= 0 && old->usage.out >= 0), "negative usage read");

	size_t tail = 0;
	while (tail < size && tail < 40 && data[size - 1 - tail] != '\n')
		tail++;
	char *text = xstrndup((const char *)data + size - tail, tail);
	struct llm_usage u = {12, 34, 0, false};
	FUZZ_CHECK(cache_put(c, key, "m\xc3\xa9", text, &u, &e) == 0, "put: %s", e.msg);
	size_t after = cache_count(c);
	cache_close(c);

	c = cache_open(path, &e);
	FUZZ_CHECK(c, "reopen: %s", e.msg);
	const struct cache_entry *ce = cache_get(c, key);
	FUZZ_CHECK(ce, "the appended answer is lost");
	FUZZ_CHECK(strcmp(ce->text, text) == 0 && strcmp(ce->model, "m\xc3\xa9") == 0 &&
	               ce->usage.in == 12 && ce->usage.out == 34 && !ce->usage.estimated,
	           "the appended answer reads back different");
	/* more, never fewer: a last line torn just before its newline is whole once the append
	 * has ended it, and then loads */
	FUZZ_CHECK(cache_count(c) >= after && after >= before, "%zu entries, %zu before closing",
	           cache_count(c), after);
	cache_close(c);
	free(text);
	free(path);
	return 0;
}

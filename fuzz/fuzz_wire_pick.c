/* fuzz_wire_pick.c: the streamed-chunk reader wire_pick (src/llm/wire.c) against cJSON
 * (wire_json_parse + wire_get), differentially: whenever wire_pick reads a text, cJSON must read
 * it too and agree on every picked path's type, string and number.  Two path tables: OpenAI's
 * chunk paths and a second one with array indexes and deeper nesting. */
#include <string.h>

#include "fuzz.h"
#include "llm/wire.h"

static const char *const oa_paths[] = {
    "error",
    "object",
    "usage",
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.prompt_tokens_details",
    "usage.prompt_tokens_details.cached_tokens",
    "choices",
    "choices.0",
    "choices.0.finish_reason",
    "choices.0.delta",
    "choices.0.delta.content",
    "choices.0.delta.refusal",
};
static const char *const other_paths[] = {
    "a", "a.1", "a.1.b", "a.1.b.0", "a.0", "type", "delta", "delta.text", "x",
};

static enum wire_type cjson_type(const cJSON *v)
{
	if (!v)
		return WIRE_ABSENT;
	if (cJSON_IsNull(v))
		return WIRE_NULL;
	if (cJSON_IsFalse(v))
		return WIRE_FALSE;
	if (cJSON_IsTrue(v))
		return WIRE_TRUE;
	if (cJSON_IsNumber(v))
		return WIRE_NUMBER;
	if (cJSON_IsString(v))
		return WIRE_STRING;
	if (cJSON_IsArray(v))
		return WIRE_ARRAY;
	return WIRE_OBJECT;
}

static void check(const char *s, size_t n, struct wire_paths *w)
{
	struct wire_pick p[WIRE_PICK_MAX];
	struct sbuf scratch = {0};
	if (wire_pick(s, n, w, p, &scratch) < 0) {
		sbuf_free(&scratch);
		return;
	}
	FUZZ_CHECK(w->state == 1, "the path table was refused");
	cJSON *j = wire_json_parse(s, n);
	FUZZ_CHECK(j, "wire_pick read what cJSON refuses: %.*s", (int)n, s);
	for (size_t i = 0; i < w->n; i++) {
		const char *path = w->path[i];
		const cJSON *v = wire_get(j, path);
		FUZZ_CHECK(cjson_type(v) == p[i].type, "%s: type %d, cJSON %d", path, p[i].type,
		           cjson_type(v));
		const char *a = wire_pick_str(&p[i], &scratch), *b = wire_get_str(j, path);
		FUZZ_CHECK((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0),
		           "%s: \"%s\", cJSON \"%s\"", path, a ? a : "(null)", b ? b : "(null)");
		long x = -1;
		if (p[i].type == WIRE_NUMBER)
			FUZZ_CHECK(wire_get_long(j, path, &x) && x == p[i].num,
			           "%s: %ld, cJSON %ld", path, p[i].num, x);
	}
	cJSON_Delete(j);
	sbuf_free(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_paths oa = {.path = oa_paths, .n = ARRAY_SIZE(oa_paths)};
	static struct wire_paths other = {.path = other_paths, .n = ARRAY_SIZE(other_paths)};
	/* an exact-size copy, so that a read past the end is seen */
	char *s = xmalloc(size ? size : 1);
	memcpy(s, data, size);
	check(s, size, &oa);
	check(s, size, &other);
	free(s);
	return 0;
}

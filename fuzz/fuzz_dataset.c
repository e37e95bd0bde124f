/* fuzz_dataset.c: datasets (src/core/dataset*.c) three ways over the same bytes: an inline array
 * read one example at a time (dataset_load_inline), the same array parsed whole by cJSON, and a
 * file beside the session (JSON lines, or a JSON array).  The inline reader and the whole parse
 * must agree on success, the error and every example; the file must load or give a message that
 * names it, and give every value as the loader computes it without keeping fields that hold
 * objects as JSON (dataset.eager). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/dataset.h"
#include "fuzz.h"

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void same_examples(const struct split *a, const struct split *b)
{
	FUZZ_CHECK(a->n == b->n, "%zu examples, %zu when parsed whole", a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct example *x = &a->ex[i], *y = &b->ex[i];
		FUZZ_CHECK(same_str(x->id, y->id), "example %zu: other id", i);
		FUZZ_CHECK(x->n == y->n && x->n_golds == y->n_golds, "example %zu: other fields",
		           i);
		for (size_t k = 0; k < x->n; k++) {
			FUZZ_CHECK(strcmp(x->keys[k], y->keys[k]) == 0, "example %zu: other key",
			           i);
			struct value_buf bx = {0}, by = {0};
			const struct value *vx = value_read(&x->vals[k], &bx);
			const struct value *vy = value_read(&y->vals[k], &by);
			FUZZ_CHECK(same_str(vx->text, vy->text) && vx->n_items == vy->n_items,
			           "example %zu: other value of %s", i, x->keys[k]);
			for (size_t m = 0; m < vx->n_items; m++)
				FUZZ_CHECK(strcmp(vx->items[m], vy->items[m]) == 0,
				           "example %zu: other item", i);
			char *jx, *jy;
			FUZZ_CHECK(
			    strcmp(value_text(&x->vals[k], &jx), value_text(&y->vals[k], &jy)) == 0,
			    "example %zu: other text of %s", i, x->keys[k]);
			free(jx);
			free(jy);
			value_buf_free(&bx);
			value_buf_free(&by);
		}
		for (size_t k = 0; k < x->n_golds; k++)
			FUZZ_CHECK(strcmp(x->golds[k], y->golds[k]) == 0, "example %zu: other gold",
			           i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dataset in = {0}, whole = {0}, file = {0}, eager = {.eager = true};
	struct err e1 = {{0}}, e2 = {{0}}, e3 = {{0}}, e4 = {{0}};

	/* inline, one example at a time, against the whole array parsed by cJSON */
	const char *bad = NULL;
	char *copy = xstrndup(text, size); /* the session loader's text is NUL-terminated */
	size_t len = strlen(copy);
	int rc1 = dataset_load_inline(&in, SPLIT_TRAIN, copy, len, &bad, &e1);
	FUZZ_CHECK(rc1 == 0 || e1.msg[0], "inline failed without a message");
	if (bad)
		FUZZ_CHECK(bad >= copy && bad <= copy + len, "error position outside the text");
	cJSON *arr = len >= 2 && copy[0] == '[' ? cJSON_ParseWithLength(copy, len) : NULL;
	if (len >= 2 && copy[0] == '[')
		FUZZ_CHECK((bad != NULL) == (arr == NULL), "inline %s what cJSON %s",
		           bad ? "refused" : "read", arr ? "reads" : "refuses");
	/* a \u0000 escape is refused by the reader that sees the text, while cJSON's tree holds
	 * the string cut short at it: only the first can tell */
	if (arr && !strstr(copy, "\\u0000")) {
		int rc2 = dataset_load_split(&whole, SPLIT_TRAIN, arr, fuzz_tmpdir(), &e2);
		FUZZ_CHECK(rc1 == rc2, "inline %d, whole %d: %s / %s", rc1, rc2, e1.msg, e2.msg);
		if (rc1 == 0)
			same_examples(&in.splits[SPLIT_TRAIN], &whole.splits[SPLIT_TRAIN]);
		else
			FUZZ_CHECK(strcmp(e1.msg, e2.msg) == 0, "other messages: %s / %s", e1.msg,
			           e2.msg);
	}
	cJSON_Delete(arr);

	/* the same bytes as a file */
	char *path = fuzz_write("data.jsonl", data, size);
	cJSON *spec = cJSON_CreateString("data.jsonl");
	int rc3 = dataset_load_split(&file, SPLIT_TRAIN, spec, fuzz_tmpdir(), &e3);
	if (rc3 < 0)
		FUZZ_CHECK(strstr(e3.msg, path), "the message does not name the file: %s", e3.msg);
	int rc4 = dataset_load_split(&eager, SPLIT_TRAIN, spec, fuzz_tmpdir(), &e4);
	FUZZ_CHECK(rc3 == rc4 && strcmp(e3.msg, e4.msg) == 0, "kept as JSON %d, eager %d: %s / %s",
	           rc3, rc4, e3.msg, e4.msg);
	if (rc3 == 0)
		same_examples(&file.splits[SPLIT_TRAIN], &eager.splits[SPLIT_TRAIN]);
	cJSON_Delete(spec);

	free(path);
	free(copy);
	dataset_free(&in);
	dataset_free(&whole);
	dataset_free(&file);
	dataset_free(&eager);
	return 0;
}

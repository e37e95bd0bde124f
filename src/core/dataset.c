/* dataset.c: the dataset in its arena: one example added from its JSON object (its input
 * fields and their sub-fields, its gold answers found by a path such as "answers.text", its
 * id), the field names interned and shared between examples, and looking a field up.  The
 * formats a split is read from are dataset_file.c's; a value made from its JSON is
 * dataset_value.c's; one file cut by fractions is dataset_fractions.c's; dataset_int.h holds
 * what they share. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset_int.h"

const char *const split_names[SPLIT_COUNT] = {"train", "val", "test"};

int split_from_name(const char *name)
{
	for (int i = 0; i < SPLIT_COUNT; i++)
		if (strcmp(split_names[i], name) == 0)
			return i;
	return -1;
}

const char *dataset_intern_field(struct dataset *d, const char *key)
{
	for (size_t i = d->n_fields; i-- > 0;)
		if (strcmp(d->fields[i], key) == 0)
			return d->fields[i];
	d->fields = xgrow(d->fields, &d->cap_fields, d->n_fields + 1, sizeof *d->fields);
	return d->fields[d->n_fields++] = arena_strdup(&d->arena, key);
}

/* False when v holds a number that overflowed a double (1e400 reads as infinity): its text
 * would be "inf", not what the file says. */
static bool numbers_finite(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return isfinite(v->valuedouble);
	const cJSON *c;
	cJSON_ArrayForEach(c, v)
	{
		if (!numbers_finite(c))
			return false;
	}
	return true;
}

/* ---- the gold answer by path ---- */

struct nodes {
	const cJSON **v;
	size_t n, cap;
};

/* The values at a field path below v ("answers.text", "answers[0]", "a.b"): keys separated by
 * dots and [N] indices; a list met where a key is asked for is mapped item by item (SQuAD's
 * "answers": [{"text": ...}, ...] with "answers.text" gives every text).  A member whose name is
 * the whole rest of the path ("a.b" itself) is taken first. */
static void path_collect(const cJSON *v, const char *p, struct nodes *out)
{
	if (!v)
		return;
	if (!*p) {
		out->v = xgrow(out->v, &out->cap, out->n + 1, sizeof *out->v);
		out->v[out->n++] = v;
		return;
	}
	if (*p == '[') {
		char *end;
		unsigned long i = strtoul(p + 1, &end, 10);
		if (end == p + 1 || *end != ']' || !cJSON_IsArray(v) || i > INT32_MAX)
			return;
		path_collect(cJSON_GetArrayItem(v, (int)i), end + 1 + (end[1] == '.'), out);
		return;
	}
	if (cJSON_IsArray(v)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, v) path_collect(it, p, out);
		return;
	}
	if (!cJSON_IsObject(v))
		return;
	const cJSON *whole = cJSON_GetObjectItemCaseSensitive(v, p);
	if (whole) {
		path_collect(whole, "", out);
		return;
	}
	size_t k = strcspn(p, ".[");
	char *key = xstrndup(p, k);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, key);
	free(key);
	path_collect(c, p + k + (p[k] == '.'), out);
}

/* The top-level member the gold comes from (so that it is no input field), or NULL. */
static const cJSON *gold_member(const cJSON *obj, const char *path)
{
	const cJSON *whole = cJSON_GetObjectItemCaseSensitive(obj, path);
	if (whole)
		return whole;
	char *key = xstrndup(path, strcspn(path, ".["));
	whole = cJSON_GetObjectItemCaseSensitive(obj, key);
	free(key);
	return whole;
}

/* The gold answers of obj at path into ex (texts in the arena); -1 with e set when absent or
 * when a gold is an object or a nested list, which no metric could read as text. */
static int golds_from_json(struct dataset *d, const cJSON *obj, const char *path,
                           struct example *ex, size_t index, struct err *e)
{
	struct nodes g = {0};
	path_collect(obj, path, &g);
	size_t n = 0;
	for (size_t i = 0; i < g.n; i++)
		n += cJSON_IsArray(g.v[i]) ? (size_t)cJSON_GetArraySize(g.v[i]) : 1;
	int rc = 0;
	if (n == 0) {
		rc = err_set(e,
		             g.n ? "example %zu: the gold answer \"%s\" is an empty list"
		                 : "example %zu has no \"%s\" field (the gold answer; set "
		                   "dataset.answer_field to use another)",
		             index + 1, path);
		free(g.v);
		return rc;
	}
	ex->golds = arena_alloc(&d->arena, n * sizeof *ex->golds);
	for (size_t i = 0; i < g.n && rc == 0; i++) {
		const cJSON *it = g.v[i], *single = cJSON_IsArray(it) ? it->child : it;
		for (; single && rc == 0; single = cJSON_IsArray(it) ? single->next : NULL) {
			if (cJSON_IsObject(single) || cJSON_IsArray(single)) {
				const cJSON *k = cJSON_IsObject(single) ? single->child : NULL;
				rc = err_set(
				    e,
				    "example %zu: the gold answer \"%s\" holds %s, not text; "
				    "name the field that holds the text in "
				    "dataset.answer_field%s%s%s%s%s",
				    index + 1, path,
				    cJSON_IsObject(single) ? "an object" : "a list of lists",
				    k ? ", e.g. \"" : "", k ? path : "", k ? "." : "",
				    k ? k->string : "", k ? "\"" : "");
				break;
			}
			ex->golds[ex->n_golds++] = scalar_text(&d->arena, single);
		}
	}
	free(g.v);
	return rc;
}

/* n pointers, zeroed: small (cap of them) when they fit, else allocated. */
static const char **scratch(const char **small, size_t cap, size_t n)
{
	if (n > cap)
		return xcalloc(n, sizeof *small);
	memset(small, 0, cap * sizeof *small);
	return small;
}

/* An example's field names: the previous example's array when it holds the same ones (most
 * datasets give every example the same fields: 8 bytes a field saved per example), else a
 * copy of keys. */
static const char **shared_keys(struct dataset *d, const char **keys, size_t n)
{
	if (d->last_keys && d->last_n == n && memcmp(d->last_keys, keys, n * sizeof *keys) == 0)
		return d->last_keys;
	d->last_keys = arena_alloc(&d->arena, (n ? n : 1) * sizeof *keys);
	memcpy(d->last_keys, keys, n * sizeof *keys);
	d->last_n = n;
	return d->last_keys;
}

int dataset_add_example(struct dataset *d, enum split_id split, const cJSON *obj, size_t index,
                        struct err *e)
{
	if (!cJSON_IsObject(obj))
		return err_set(e, "example %zu is not a JSON object", index + 1);
	const cJSON *f;
	cJSON_ArrayForEach(f, obj)
	{
		if (!numbers_finite(f))
			return err_set(e,
			               "example %zu: \"%s\" holds a number beyond a double's range "
			               "(quote it as a string)",
			               index + 1, f->string);
	}
	const char *answer = d->answer_field ? d->answer_field : "answer";
	const char *idf = d->id_field ? d->id_field : "id";
	const cJSON *gold = gold_member(obj, answer);
	struct split *sp = &d->splits[split];
	sp->ex = xgrow(sp->ex, &sp->cap, sp->n + 1, sizeof *sp->ex);
	struct example *ex = &sp->ex[sp->n];
	memset(ex, 0, sizeof *ex);
	if (golds_from_json(d, obj, answer, ex, index, e) < 0)
		return -1;

	/* every field but the gold (sized exactly: a large dataset pays per byte here), then the
	 * sub-fields of objects ("answers.text"); a field that holds objects kept as its JSON */
	size_t nfields = 0, nsub = 0, i = 0;
	cJSON_ArrayForEach(f, obj) nfields += f != gold;
	const char *json_small[16], *keys_small[32]; /* most examples: no allocation */
	const char **json = scratch(json_small, ARRAY_SIZE(json_small), nfields);
	struct fields subs = {0};
	cJSON_ArrayForEach(f, obj)
	{
		if (f != gold)
			json[i++] = value_subfields(d, f, &subs);
	}
	nsub = subs.n;
	const char **keys = scratch(keys_small, ARRAY_SIZE(keys_small), nfields + nsub);
	ex->vals = arena_alloc(&d->arena, (nfields + nsub ? nfields + nsub : 1) * sizeof *ex->vals);
	i = 0;
	cJSON_ArrayForEach(f, obj)
	{
		if (f == gold)
			continue;
		keys[ex->n] = dataset_intern_field(d, f->string);
		if (json[i])
			ex->vals[ex->n] = kept_json(json[i], 0);
		else
			value_from_json(&d->arena, f, &ex->vals[ex->n]);
		i++;
		if (strcmp(f->string, idf) == 0 && (cJSON_IsString(f) || cJSON_IsNumber(f)))
			ex->id = ex->vals[ex->n].text; /* the same text: shared, not copied */
		ex->n++;
	}
	for (size_t k = 0; k < nsub; k++) {
		keys[ex->n] = subs.v[k].key;
		ex->vals[ex->n++] = subs.v[k].val;
	}
	ex->keys = shared_keys(d, keys, ex->n);
	if (keys != keys_small)
		free(keys);
	if (json != json_small)
		free(json);
	free(subs.v);
	if (!ex->id) {
		char buf[48];
		snprintf(buf, sizeof buf, "%s-%zu", split_names[split], index + 1);
		ex->id = arena_strdup(&d->arena, buf);
	}
	sp->n++;
	return 0;
}

void dataset_free(struct dataset *d)
{
	for (int i = 0; i < SPLIT_COUNT; i++) {
		free(d->splits[i].ex);
		free(d->splits[i].source);
	}
	free(d->fields);
	free(d->answer_field);
	free(d->id_field);
	arena_free(&d->arena);
	memset(d, 0, sizeof *d);
}

/* The length of path without a final "[N]" index (*index = N), or strlen(path) (*index =
 * SIZE_MAX). */
static size_t path_index(const char *path, size_t *index)
{
	size_t n = strlen(path);
	*index = SIZE_MAX;
	if (n < 3 || path[n - 1] != ']')
		return n;
	size_t open = n - 1;
	while (open > 0 && path[open - 1] >= '0' && path[open - 1] <= '9')
		open--;
	if (open == 0 || open == n - 1 || path[open - 1] != '[' || n - 1 - open > 9)
		return n;
	*index = (size_t)strtoul(path + open, NULL, 10);
	return open - 1;
}

const char *example_text(const struct example *ex, const char *path, char **joined)
{
	size_t index, n = path_index(path, &index);
	*joined = NULL;
	for (size_t i = 0; i < ex->n; i++) {
		if (strncmp(ex->keys[i], path, n) != 0 || ex->keys[i][n])
			continue;
		if (index == SIZE_MAX)
			return value_text(&ex->vals[i], joined);
		struct value_buf buf = {0};
		const struct value *v = value_read(&ex->vals[i], &buf);
		const char *t = v->items && index < v->n_items ? v->items[index] : "";
		if (v == &buf.v)
			t = *joined = xstrdup(t);
		value_buf_free(&buf);
		return t;
	}
	return NULL;
}

const struct value *example_get(const struct example *ex, const char *key, struct value_buf *buf)
{
	for (size_t i = 0; i < ex->n; i++)
		if (strcmp(ex->keys[i], key) == 0)
			return value_read(&ex->vals[i], buf);
	return NULL;
}

int dataset_has_field(const struct dataset *d, const char *key)
{
	size_t index, n = path_index(key, &index);
	for (size_t i = 0; i < d->n_fields; i++)
		if (strncmp(d->fields[i], key, n) == 0 && !d->fields[i][n])
			return 1;
	return 0;
}

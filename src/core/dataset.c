/* dataset.c: loading examples into a compact arena form (inline, JSONL, JSON array). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/jsonnum.h"
#include "core/jsonpos.h"
#include "core/utf8.h"

const char *const split_names[SPLIT_COUNT] = {"train", "val", "test"};

int split_from_name(const char *name)
{
	for (int i = 0; i < SPLIT_COUNT; i++)
		if (strcmp(split_names[i], name) == 0)
			return i;
	return -1;
}

static const char *intern_field(struct dataset *d, const char *key)
{
	for (size_t i = d->n_fields; i-- > 0;)
		if (strcmp(d->fields[i], key) == 0)
			return d->fields[i];
	d->fields = xgrow(d->fields, &d->cap_fields, d->n_fields + 1, sizeof *d->fields);
	return d->fields[d->n_fields++] = arena_strdup(&d->arena, key);
}

/* Text of a scalar JSON value; numbers keep their shortest form, other values compact JSON. */
static const char *scalar_text(struct dataset *d, const cJSON *v)
{
	if (cJSON_IsString(v))
		return arena_strdup(&d->arena, v->valuestring);
	if (cJSON_IsNumber(v)) {
		char buf[64];
		long whole;
		if (json_long(v, -1e15, 1e15, &whole, NULL) == 0)
			snprintf(buf, sizeof buf, "%ld", whole);
		else
			snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
		return arena_strdup(&d->arena, buf);
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNull(v))
		return "";
	char *s = cJSON_PrintUnformatted(v);
	const char *r = arena_strdup(&d->arena, s ? s : "");
	cJSON_free(s);
	return r;
}

static void value_from_json(struct dataset *d, const cJSON *v, struct value *out)
{
	if (!cJSON_IsArray(v)) {
		*out = (struct value){scalar_text(d, v), NULL, 0};
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
	const char **items = arena_alloc(&d->arena, (n ? n : 1) * sizeof *items);
	struct sbuf joined = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		items[i] = scalar_text(d, it);
		if (i)
			sbuf_addc(&joined, '\n');
		sbuf_adds(&joined, items[i]);
		i++;
	}
	*out = (struct value){arena_strndup(&d->arena, sbuf_str(&joined), joined.len), items, n};
	sbuf_free(&joined);
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

int dataset_add_example(struct dataset *d, enum split_id split, const cJSON *obj, size_t index,
                        struct err *e)
{
	if (!cJSON_IsObject(obj))
		return err_set(e, "example %zu is not a JSON object", index + 1);
	const cJSON *f;
	cJSON_ArrayForEach(f, obj)
	{
		if (!numbers_finite(f))
			return err_set(e, "example %zu: \"%s\" holds a number beyond a double's range "
			                  "(quote it as a string)",
			               index + 1, f->string);
	}
	const char *answer = d->answer_field ? d->answer_field : "answer";
	const char *idf = d->id_field ? d->id_field : "id";
	const cJSON *gold = cJSON_GetObjectItemCaseSensitive(obj, answer);
	if (!gold)
		return err_set(e, "example %zu has no \"%s\" field (the gold answer; set "
		                  "dataset.answer_field to use another)",
		               index + 1, answer);
	struct split *sp = &d->splits[split];
	sp->ex = xgrow(sp->ex, &sp->cap, sp->n + 1, sizeof *sp->ex);
	struct example *ex = &sp->ex[sp->n];
	memset(ex, 0, sizeof *ex);

	/* every field but the gold (sized exactly: a large dataset pays per byte here) */
	size_t nfields = 0;
	cJSON_ArrayForEach(f, obj) nfields += f != gold;
	ex->keys = arena_alloc(&d->arena, (nfields ? nfields : 1) * sizeof *ex->keys);
	ex->vals = arena_alloc(&d->arena, (nfields ? nfields : 1) * sizeof *ex->vals);
	cJSON_ArrayForEach(f, obj)
	{
		if (f == gold)
			continue;
		ex->keys[ex->n] = intern_field(d, f->string);
		value_from_json(d, f, &ex->vals[ex->n]);
		if (strcmp(f->string, idf) == 0 && (cJSON_IsString(f) || cJSON_IsNumber(f)))
			ex->id = ex->vals[ex->n].text; /* the same text: shared, not copied */
		ex->n++;
	}
	struct value g;
	value_from_json(d, gold, &g);
	if (g.items) {
		ex->golds = (const char **)g.items;
		ex->n_golds = g.n_items;
	} else {
		ex->golds = arena_alloc(&d->arena, sizeof *ex->golds);
		ex->golds[0] = g.text;
		ex->n_golds = 1;
	}
	if (!ex->id) {
		char buf[48];
		snprintf(buf, sizeof buf, "%s-%zu", split_names[split], index + 1);
		ex->id = arena_strdup(&d->arena, buf);
	}
	sp->n++;
	return 0;
}

/* JSON is UTF-8 (RFC 8259); cJSON lets other bytes through, and they would reach the traces a
 * session saves, which other JSON readers would then refuse. */
static int not_utf8(struct err *e, const char *path, size_t line, int col, char byte)
{
	return err_set(e, "%s:%zu:%d: byte 0x%02X is not UTF-8 (a dataset is UTF-8 text: convert it, "
	                  "e.g. with iconv)",
	               path, line, col, (unsigned char)byte);
}

/* One JSONL line (without its newline); blank lines are skipped. */
static int load_jsonl_line(struct dataset *d, enum split_id split, const char *p, size_t len,
                           const char *path, size_t line, size_t *index, struct err *e)
{
	const char *q = p, *stop = p + len;
	while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	if (q == stop)
		return 0;
	cJSON *obj = cJSON_ParseWithLength(p, len);
	if (!obj) {
		struct json_pos pos;
		char msg[256];
		json_scan_error(p, len, cJSON_GetErrorPtr(), &pos, msg, sizeof msg);
		if (*index == 0) /* nothing parsed yet: the file may be anything, quote none of it */
			return err_set(e, "%s:%zu:%d: not a JSON-lines file: invalid JSON (expected one "
			                  "example object a line)",
			               path, line, pos.col);
		return err_set(e, "%s:%zu:%d: %s (invalid JSON)", path, line, pos.col, msg);
	}
	size_t bad = utf8_valid_len(p, len);
	if (bad < len) {
		cJSON_Delete(obj);
		return not_utf8(e, path, line, json_pos_of_offset(p, bad).col, p[bad]);
	}
	int rc = dataset_add_example(d, split, obj, (*index)++, e);
	cJSON_Delete(obj);
	return rc < 0 ? err_prefix(e, "%s:%zu", path, line) : 0;
}

/* JSON lines are read one at a time, so only one line is in memory beside the dataset. */
static int load_jsonl(struct dataset *d, enum split_id split, struct file_lines *r,
                      struct err *e)
{
	size_t n, index = 0;
	int got, rc = 0;
	while (rc == 0 && (got = file_lines_next(r, &n, e)) > 0) {
		if (n > 0 && r->buf[n - 1] == '\n')
			n--;
		rc = load_jsonl_line(d, split, r->buf, n, r->path, r->lineno, &index, e);
	}
	return rc < 0 || got < 0 ? -1 : 0;
}

static int load_array(struct dataset *d, enum split_id split, const char *path, size_t max,
                      struct err *e)
{
	char *buf;
	size_t len;
	if (file_read(path, max, &buf, &len, e) < 0)
		return -1;
	int rc = 0;
	cJSON *arr = cJSON_ParseWithLength(buf, len);
	size_t bad = arr ? utf8_valid_len(buf, len) : len;
	if (!arr) {
		rc = err_set(e, "%s: invalid JSON (expected an array of examples or JSON lines)", path);
	} else if (bad < len) {
		struct json_pos pos = json_pos_of_offset(buf, bad);
		rc = not_utf8(e, path, (size_t)pos.line, pos.col, buf[bad]);
	} else {
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, arr)
		{
			if (dataset_add_example(d, split, it, i++, e) < 0) {
				rc = err_prefix(e, "%s", path);
				break;
			}
		}
	}
	cJSON_Delete(arr);
	free(buf);
	return rc;
}

static int load_file(struct dataset *d, enum split_id split, const char *path, struct err *e)
{
	size_t max = d->max_file_bytes ? d->max_file_bytes : FILE_MAX_BYTES_DEFAULT;
	struct file_lines r;
	if (file_lines_open(&r, path, max, e) < 0)
		return -1;
	int c;
	while ((c = getc(r.f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		;
	if (c == '[') {
		file_lines_close(&r);
		return load_array(d, split, path, max, e);
	}
	rewind(r.f);
	int rc = load_jsonl(d, split, &r, e);
	file_lines_close(&r);
	return rc;
}

int dataset_load_split(struct dataset *d, enum split_id split, const cJSON *spec, const char *dir,
                       struct err *e)
{
	struct split *sp = &d->splits[split];
	if (cJSON_IsArray(spec)) {
		free(sp->source);
		sp->source = xstrdup("inline");
		size_t i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, spec)
		{
			if (dataset_add_example(d, split, it, i++, e) < 0)
				return -1;
		}
		return 0;
	}
	if (cJSON_IsString(spec)) {
		char *path = path_join(dir, spec->valuestring);
		free(sp->source);
		sp->source = path;
		return load_file(d, split, path, e);
	}
	return err_set(e, "must be an array of examples or a path to a JSONL/JSON file");
}

/* Whitespace as cJSON skips it (every byte from 0x01 to 0x20). */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && *p && (unsigned char)*p <= 0x20)
		p++;
	return p;
}

int dataset_load_inline(struct dataset *d, enum split_id split, const char *text, size_t len,
                        const char **bad, struct err *e)
{
	struct split *sp = &d->splits[split];
	free(sp->source);
	sp->source = xstrdup("inline");
	*bad = NULL;
	if (len < 2 || text[0] != '[')
		return err_set(e, "must be an array of examples or a path to a JSONL/JSON file");
	const char *end = text + len, *p = skip_ws(text + 1, end);
	if (p < end && *p == ']')
		return 0;
	/* after a bad example the rest is still parsed (not added): invalid JSON anywhere in the
	 * file is reported before anything else, as when the file was parsed whole */
	int rc = 0;
	for (size_t i = 0;; i++) {
		const char *stop;
		cJSON *obj = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, 0);
		if (!obj) {
			*bad = cJSON_GetErrorPtr();
			return err_set(e, "invalid JSON");
		}
		p = skip_ws(stop, end);
		if (p >= end || (*p != ',' && *p != ']')) {
			cJSON_Delete(obj);
			*bad = p;
			return err_set(e, "invalid JSON");
		}
		if (rc == 0)
			rc = dataset_add_example(d, split, obj, i, e);
		cJSON_Delete(obj);
		if (*p++ == ']')
			return rc;
	}
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

const struct value *example_get(const struct example *ex, const char *key)
{
	for (size_t i = 0; i < ex->n; i++)
		if (strcmp(ex->keys[i], key) == 0)
			return &ex->vals[i];
	return NULL;
}

int dataset_has_field(const struct dataset *d, const char *key)
{
	for (size_t i = 0; i < d->n_fields; i++)
		if (strcmp(d->fields[i], key) == 0)
			return 1;
	return 0;
}

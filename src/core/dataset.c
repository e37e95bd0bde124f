/* dataset.c: loading examples into a compact arena form (inline, JSONL, JSON array, or an
 * array under a key of a JSON object), one example at a time; the gold answer found by a path
 * ("answers.text"); every example's line remembered for messages.
 *
 * What an example costs: its values' texts once.  A field that holds objects (DPR's "ctxs":
 * [{"title": ..., "text": ...}, ...], or an object like "meta") would cost twice, as the
 * objects' JSON (its items) and as its members' values ("ctxs.text"), so it is kept once, as
 * its compact JSON, and those values are computed from it when asked (read_json), by the same
 * code that the loader runs on the parsed line: the same texts. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset.h"
#include "core/jsonfmt.h"
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

/* Appends the text of a scalar JSON value: numbers in their shortest form (0.1, not
 * 0.10000000000000001), other values compact JSON. */
static void scalar_add(struct sbuf *b, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		sbuf_adds(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		char buf[64];
		json_number_text(v->valuedouble, buf, sizeof buf);
		sbuf_adds(b, buf);
	} else if (cJSON_IsBool(v)) {
		sbuf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
	} else if (!cJSON_IsNull(v)) {
		char *s = json_print_compact(v);
		sbuf_adds(b, s);
		free(s);
	}
}

/* The text of a scalar JSON value (scalar_add), kept in the arena a. */
static const char *scalar_text(struct arena *a, const cJSON *v)
{
	if (cJSON_IsString(v))
		return arena_strdup(a, v->valuestring);
	if (cJSON_IsBool(v) || cJSON_IsNull(v))
		return cJSON_IsNull(v) ? "" : cJSON_IsTrue(v) ? "true" : "false";
	struct sbuf b = {0};
	scalar_add(&b, v);
	const char *r = arena_strndup(a, sbuf_str(&b), b.len);
	sbuf_free(&b);
	return r;
}

/* Appends v's text to b, a list's items flattened, with a space between two texts where
 * neither has one (HotpotQA's sentences carry their own leading spaces).  Nothing is kept in
 * the arena but the whole (item_text): a copy per sentence would double a context's cost. */
static void flatten_text(const cJSON *v, struct sbuf *b)
{
	if (cJSON_IsArray(v)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, v) flatten_text(it, b);
		return;
	}
	size_t at = b->len;
	scalar_add(b, v);
	if (at && b->len > at && !strchr(" \n", b->s[at - 1]) && !strchr(" \n", b->s[at])) {
		sbuf_addc(b, ' '); /* the space goes between the two: move the new text up */
		memmove(b->s + at + 1, b->s + at, b->len - 1 - at);
		b->s[at] = ' ';
	}
}

/* One item of a list field: a scalar's text, or, for a list inside the list, one passage: its
 * first item, ": ", then the rest flattened (HotpotQA's context [title, [sentence, ...]] becomes
 * "Title: sentence sentence"). */
static const char *item_text(struct arena *a, const cJSON *v)
{
	if (!cJSON_IsArray(v) || !v->child)
		return scalar_text(a, v);
	struct sbuf b = {0}, rest = {0};
	flatten_text(v->child, &b);
	for (const cJSON *it = v->child->next; it; it = it->next)
		flatten_text(it, &rest);
	if (rest.len)
		sbuf_addf(&b, ": %s", rest.s[0] == ' ' ? rest.s + 1 : rest.s);
	const char *r = arena_strndup(a, sbuf_str(&b), b.len);
	sbuf_free(&b);
	sbuf_free(&rest);
	return r;
}

static void value_from_json(struct arena *a, const cJSON *v, struct value *out)
{
	if (!cJSON_IsArray(v)) {
		*out = (struct value){.text = scalar_text(a, v)};
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
	const char **items = arena_alloc(a, (n ? n : 1) * sizeof *items);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) items[i++] = item_text(a, it);
	*out = (struct value){.items = items, .n_items = (uint32_t)n}; /* text joined when asked */
}

/* A value kept as JSON: the compact JSON of its example's top-level field, and which value of
 * that field it is (0 the field's own, N the Nth of its sub-fields in add_subfields' order). */
static struct value kept_json(const char *json, size_t index)
{
	return (struct value){.json = json, .json_index = (uint32_t)index + 1};
}

/* Fields found below an example's top level: "answers.text" -> its value. */
struct field {
	const char *key; /* interned */
	struct value val;
};
struct fields {
	struct field *v;
	size_t n, cap;
};

/* What add_subfields does with the sub-fields it meets, numbered from 1 in its order.  Loading
 * (d set): each is appended to fs with its name interned, and its value computed now or, when
 * the field is kept as JSON (json set), marked to be read from it.  Reading a value kept as
 * JSON (d NULL): only sub-field number want is computed, into *got, its texts in a. */
struct walk {
	struct dataset *d;
	struct fields *fs;
	const char *json;
	size_t count, want;
	struct arena *a;
	struct value *got;
};

/* v: the sub-field's value (NULL when it is not computed now: kept as JSON, or while reading,
 * another than the one wanted) */
static void add_field(struct walk *w, const char *key, const cJSON *v)
{
	size_t k = ++w->count;
	if (!w->d) {
		if (k == w->want)
			value_from_json(w->a, v, w->got);
		return;
	}
	struct fields *fs = w->fs;
	fs->v = xgrow(fs->v, &fs->cap, fs->n + 1, sizeof *fs->v);
	fs->v[fs->n].key = intern_field(w->d, key);
	if (w->json && k < UINT32_MAX - 1)
		fs->v[fs->n].val = kept_json(w->json, k);
	else
		value_from_json(&w->d->arena, v, &fs->v[fs->n].val);
	fs->n++;
}

/* The sub-fields of field `key` with value v: an object's members as "key.member" (and theirs,
 * a few levels deep); for a list of objects, each member name found among them as a list of
 * the items' values (SQuAD's "answers": [{"text": ...}, ...] gives "answers.text"). */
static void add_subfields(struct walk *w, const char *key, const cJSON *v, int depth)
{
	if (depth >= 4)
		return;
	const cJSON *c;
	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(c, v)
		{
			if (!w->d && w->count >= w->want)
				return; /* reading: found */
			char *name = xasprintf("%s.%s", key, c->string);
			add_field(w, name, c);
			add_subfields(w, name, c, depth + 1);
			free(name);
		}
		return;
	}
	if (!cJSON_IsArray(v))
		return;
	/* once per member name, skipping the names an earlier item had: names[k] was first met
	 * in item first[k] */
	struct {
		const char *name;
		size_t first;
	} *names = NULL;
	size_t n_names = 0, cap = 0, at = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		const cJSON *members = cJSON_IsObject(it) ? it : NULL;
		cJSON_ArrayForEach(c, members)
		{
			if (!w->d && w->count >= w->want)
				break; /* reading: found */
			size_t k = 0;
			while (k < n_names && strcmp(names[k].name, c->string) != 0)
				k++;
			if (k < n_names && names[k].first < at)
				continue;
			if (k == n_names) {
				names = xgrow(names, &cap, n_names + 1, sizeof *names);
				names[n_names].name = c->string;
				names[n_names++].first = at;
			}
			char *name = xasprintf("%s.%s", key, c->string);
			if (w->d ? w->json != NULL : w->count + 1 != w->want) {
				add_field(w, name, NULL); /* its value is not computed now */
				free(name);
				continue;
			}
			cJSON *list = cJSON_CreateArray();
			const cJSON *o;
			cJSON_ArrayForEach(o, v)
			{
				cJSON *m = cJSON_IsObject(o)
				               ? cJSON_GetObjectItemCaseSensitive(o, c->string)
				               : NULL;
				if (m)
					cJSON_AddItemReferenceToArray(list, m);
			}
			add_field(w, name, list);
			free(name);
			cJSON_Delete(list);
		}
		at++;
	}
	free(names);
}

/* Whether field v holds objects (is one, or a list with one in it): what has sub-fields, and
 * is then kept as JSON, unless it has more than KEEP_JSON_MAX of them (each read of one walks
 * the field: reading all of a field's values costs at most KEEP_JSON_MAX + 1 walks). */
#define KEEP_JSON_MAX 16
static bool holds_objects(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return true;
	const cJSON *it, *list = cJSON_IsArray(v) ? v : NULL;
	cJSON_ArrayForEach(it, list)
	{
		if (cJSON_IsObject(it))
			return true;
	}
	return false;
}

/* A value kept as JSON, computed into *out (texts in a) as the loader computes a value from
 * the parsed field: the JSON is the loader's own compact print of it, which parses back to the
 * same tree (numbers in their shortest form read back as the same doubles). */
static void read_json(const struct value *kept, struct arena *a, struct value *out)
{
	*out = (struct value){.text = ""};
	cJSON *v = cJSON_Parse(kept->json);
	if (!v)
		return; /* cannot happen: the loader printed it */
	if (kept->json_index == 1) {
		value_from_json(a, v, out);
	} else {
		struct walk w = {.want = kept->json_index - 1, .a = a, .got = out};
		add_subfields(&w, "", v, 0);
	}
	cJSON_Delete(v);
}

const struct value *value_read(const struct value *v, struct value_buf *buf)
{
	if (!v || !v->json_index)
		return v;
	read_json(v, &buf->arena, &buf->v);
	return &buf->v;
}

void value_buf_free(struct value_buf *buf)
{
	arena_free(&buf->arena);
	memset(buf, 0, sizeof *buf);
}

/* The text of a value that is no JSON (see value_text). */
static const char *plain_text(const struct value *v, char **joined)
{
	*joined = NULL;
	if (v->text)
		return v->text;
	struct sbuf b = {0};
	for (size_t i = 0; i < v->n_items; i++) {
		if (i)
			sbuf_addc(&b, '\n');
		sbuf_adds(&b, v->items[i]);
	}
	return *joined = sbuf_take(&b);
}

const char *value_text(const struct value *v, char **joined)
{
	if (!v->json_index)
		return plain_text(v, joined);
	struct value_buf buf = {0};
	const char *t = plain_text(value_read(v, &buf), joined);
	if (!*joined)
		*joined = xstrdup(t);
	value_buf_free(&buf);
	return *joined;
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
		if (f == gold)
			continue;
		char *text = !d->eager && holds_objects(f) ? json_print_compact(f) : NULL;
		size_t from = subs.n;
		struct walk w = {.d = d, .fs = &subs, .json = text};
		add_subfields(&w, f->string, f, 0);
		if (text && subs.n - from > KEEP_JSON_MAX) {
			/* reading one sub-field walks them all: with many, computed now */
			subs.n = from;
			w = (struct walk){.d = d, .fs = &subs};
			add_subfields(&w, f->string, f, 0);
		} else if (text) {
			json[i] = arena_strdup(&d->arena, text);
			for (size_t k = from; k < subs.n; k++)
				subs.v[k].val.json = json[i];
		}
		free(text);
		i++;
	}
	nsub = subs.n;
	const char **keys = scratch(keys_small, ARRAY_SIZE(keys_small), nfields + nsub);
	ex->vals = arena_alloc(&d->arena, (nfields + nsub ? nfields + nsub : 1) * sizeof *ex->vals);
	i = 0;
	cJSON_ArrayForEach(f, obj)
	{
		if (f == gold)
			continue;
		keys[ex->n] = intern_field(d, f->string);
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

/* JSON is UTF-8 (RFC 8259); cJSON lets other bytes through, and they would reach the traces a
 * session saves, which other JSON readers would then refuse. */
static int not_utf8(struct err *e, const char *path, size_t line, int col, char byte)
{
	return err_set(e,
	               "%s:%zu:%d: byte 0x%02X is not UTF-8 (a dataset is UTF-8 text: convert it, "
	               "e.g. with iconv)",
	               path, line, col, (unsigned char)byte);
}

/* The byte where a JSON text holds the escape \u0000 (a NUL, which C strings cannot keep: the
 * text would be cut short there), or NULL. */
static const char *nul_escape(const char *p, size_t len)
{
	for (const char *q = p, *end = p + len; (q = memchr(q, '\\', (size_t)(end - q)));) {
		if (end - q >= 6 && q[1] == 'u' && memcmp(q + 2, "0000", 4) == 0)
			return q;
		q += q + 1 < end ? 2
		                 : 1; /* the escaped character is skipped: "\\\\u0000" is no NUL */
	}
	return NULL;
}

static const char nul_message[] = "a string holds \\u0000 (a NUL character), which would cut "
                                  "it short; remove it";

/* Adds the example whose text is p (len bytes) and whose parse is obj, starting on line; -1 with
 * e set ("example N: ...", no position). */
static int add_parsed(struct dataset *d, enum split_id split, const cJSON *obj, const char *p,
                      size_t len, size_t index, size_t line, struct err *e)
{
	if (nul_escape(p, len))
		return err_set(e, "example %zu: %s", index + 1, nul_message);
	if (d->slice.on && (index < d->slice.from || index - d->slice.from >= d->slice.n))
		return 0; /* outside the file's slice: read as JSON, never kept */
	if (dataset_add_example(d, split, obj, index, e) < 0)
		return -1;
	d->splits[split].ex[d->splits[split].n - 1].line = line;
	return 0;
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
		if (*index ==
		    0) /* nothing parsed yet: the file may be anything, quote none of it */
			return err_set(
			    e,
			    "%s:%zu:%d: not a JSON-lines file: invalid JSON (expected one "
			    "example object a line)",
			    path, line, pos.col);
		return err_set(e, "%s:%zu:%d: %s (invalid JSON)", path, line, pos.col, msg);
	}
	size_t bad = utf8_valid_len(p, len);
	if (bad < len) {
		cJSON_Delete(obj);
		return not_utf8(e, path, line, json_pos_of_offset(p, bad).col, p[bad]);
	}
	int rc = add_parsed(d, split, obj, p, len, (*index)++, line, e);
	cJSON_Delete(obj);
	return rc < 0 ? err_prefix(e, "%s:%zu", path, line) : 0;
}

/* JSON lines are read one at a time, so only one line is in memory beside the dataset. */
static int load_jsonl(struct dataset *d, enum split_id split, struct file_lines *r, struct err *e)
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

/* Whitespace as cJSON skips it (every byte from 0x01 to 0x20). */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && *p && (unsigned char)*p <= 0x20)
		p++;
	return p;
}

/* Lines ("\n", "\r\n" or a lone "\r") that end between p and q. */
static size_t count_lines(const char *p, const char *q)
{
	size_t n = 0;
	for (; p < q; p++)
		n += *p == '\n' || (*p == '\r' && (p + 1 == q || p[1] != '\n'));
	return n;
}

/* The examples of an array's text ("[" to "]", len bytes), one at a time: each is parsed on its
 * own, added and freed, so the tree of the whole array never exists.  line is the line text
 * starts on.  Invalid JSON: *bad at the offending byte.  A bad example: -1, e says which, and
 * *bad_line is its line. */
static int load_array_text(struct dataset *d, enum split_id split, const char *text, size_t len,
                           size_t line, const char **bad, size_t *bad_line, struct err *e)
{
	*bad = NULL;
	*bad_line = line;
	if (len < 2 || text[0] != '[')
		return err_set(e, "must be an array of examples or a path to a JSONL/JSON file");
	const char *end = text + len, *p = skip_ws(text + 1, end), *counted = text;
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
		line += count_lines(counted, p);
		counted = p;
		if (rc == 0 &&
		    (rc = add_parsed(d, split, obj, p, (size_t)(stop - p), i, line, e)) < 0)
			*bad_line = line;
		p = skip_ws(stop, end);
		cJSON_Delete(obj);
		if (p >= end || (*p != ',' && *p != ']')) {
			*bad = p;
			return err_set(e, "invalid JSON");
		}
		if (*p++ == ']')
			return rc;
		p = skip_ws(p, end);
	}
}

/* The names of obj's members that hold arrays, for a message: "examples, extra". */
static void array_members(const char *text, size_t len, struct sbuf *b)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
	{
		if (cJSON_IsArray(it))
			sbuf_addf(b, "%s\"%.40s\"", b->len ? ", " : "", it->string);
	}
	cJSON_Delete(root);
}

/* A file holding one JSON array, or an object with the examples' array under key. */
static int load_json_file(struct dataset *d, enum split_id split, const char *path, size_t max,
                          const char *key, struct err *e)
{
	char *buf;
	size_t len;
	if (file_read(path, max, &buf, &len, e) < 0)
		return -1;
	const char *start = skip_ws(buf, buf + len), *bad = NULL;
	size_t span[1][2] = {{0, 0}}, line = 1 + count_lines(buf, start), bad_line;
	int rc = 0;
	size_t bad8 = utf8_valid_len(buf, len);
	if (bad8 < len) {
		struct json_pos pos = json_pos_of_offset(buf, bad8);
		rc = not_utf8(e, path, (size_t)pos.line, pos.col, buf[bad8]);
	} else if (*start == '{') {
		const char *const keys[] = {key, NULL};
		int found = key ? json_member_spans(buf, len, "", keys, span) : 1;
		/* found > 0: no key given, or the object lacks it */
		if (found < 0) {
			rc = err_set(e, "%s: invalid JSON", path);
		} else if (found > 0 || span[0][1] == 0 || buf[span[0][0]] != '[') {
			struct sbuf names = {0};
			array_members(buf, len, &names);
			rc = err_set(
			    e,
			    "%s: the file holds a JSON object, not an array of examples; %s%s%s "
			    "(its lists: %s)",
			    path, key ? "its key \"" : "", key ? key : "",
			    key ? "\" holds no list"
			        : "name the key that holds the "
			          "examples: {\"path\": ..., \"key\": ...}",
			    names.len ? sbuf_str(&names) : "none");
			sbuf_free(&names);
		} else {
			start = buf + span[0][0];
			line = 1 + count_lines(buf, start);
		}
	} else if (key) {
		rc = err_set(e, "%s: \"key\" is given, but the file holds no JSON object", path);
	}
	if (rc == 0) {
		size_t n = span[0][1] ? span[0][1] - span[0][0] : len - (size_t)(start - buf);
		rc = load_array_text(d, split, start, n, line, &bad, &bad_line, e);
		if (bad) {
			char msg[256];
			json_describe_error(buf, len, bad, msg, sizeof msg);
			rc = err_set(e, "%s:%s (invalid JSON)", path, msg);
		} else if (rc < 0) {
			err_prefix(e, "%s:%zu", path, bad_line);
		}
	}
	free(buf);
	return rc;
}

/* A JSONL file whose first example failed: when the file is one JSON object holding lists
 * (BBH's {"examples": [...]}), says to name the key rather than why line 1 is no example. */
static void explain_object_file(const char *path, size_t max, struct err *e)
{
	char *buf;
	size_t len;
	struct err ignored;
	if (file_read(path, max, &buf, &len, &ignored) < 0)
		return;
	cJSON *root = cJSON_ParseWithLength(buf, len);
	struct sbuf names = {0};
	const cJSON *it, *obj = cJSON_IsObject(root) ? root : NULL;
	cJSON_ArrayForEach(it, obj)
	{
		if (cJSON_IsArray(it))
			sbuf_addf(&names, "%s\"%.40s\"", names.len ? ", " : "", it->string);
	}
	if (names.len)
		err_set(e,
		        "%s: the file holds one JSON object, not examples; name the key that holds "
		        "them: {\"path\": ..., \"key\": ...} (its lists: %s)",
		        path, sbuf_str(&names));
	sbuf_free(&names);
	cJSON_Delete(root);
	free(buf);
}

static int load_file(struct dataset *d, enum split_id split, const char *path, const char *key,
                     struct err *e)
{
	size_t max = d->max_file_bytes ? d->max_file_bytes : FILE_MAX_BYTES_DEFAULT;
	struct file_lines r;
	if (file_lines_open(&r, path, max, e) < 0)
		return -1;
	int c;
	while ((c = getc(r.f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		;
	if (c == '[' || key) {
		file_lines_close(&r);
		return load_json_file(d, split, path, max, key, e);
	}
	rewind(r.f);
	size_t before = d->splits[split].n;
	int rc = load_jsonl(d, split, &r, e);
	file_lines_close(&r);
	if (rc < 0 && c == '{' && d->splits[split].n == before)
		explain_object_file(path, max, e);
	return rc;
}

/* {"path": ..., "key": ..., "offset": N, "limit": N}: examples offset+1 .. offset+limit. */
static int load_file_spec(struct dataset *d, enum split_id split, const cJSON *spec,
                          const char *dir, struct err *e)
{
	static const char *const keys[] = {"path", "key", "offset", "limit", NULL};
	const cJSON *it;
	cJSON_ArrayForEach(it, spec)
	{
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], it->string) != 0)
			k++;
		if (!keys[k])
			return err_set(e, "unknown key \"%.40s\" (known: path, key, offset, limit)",
			               it->string);
	}
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(spec, "path");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(spec, "key");
	long offset = 0, limit = -1;
	if (!cJSON_IsString(path) || !path->valuestring[0])
		return err_set(e, "\"path\" must name a JSONL or JSON file");
	if (key && (!cJSON_IsString(key) || !key->valuestring[0]))
		return err_set(e, "\"key\" must name the member that holds the examples");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(spec, "offset");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(spec, "limit");
	if (o && json_long(o, 0, 1e12, &offset, e) < 0)
		return err_prefix(e, "\"offset\"");
	if (l && json_long(l, 0, 1e12, &limit, e) < 0)
		return err_prefix(e, "\"limit\"");
	struct split *sp = &d->splits[split];
	char *full = path_join(dir, path->valuestring);
	free(sp->source);
	sp->source = full;
	/* only the examples of the slice are kept: three splits cut from one file cost the file
	 * once, not three times */
	d->slice.on = true;
	d->slice.from = (size_t)offset;
	d->slice.n = limit < 0 ? SIZE_MAX : (size_t)limit;
	int rc = load_file(d, split, full, key ? key->valuestring : NULL, e);
	d->slice.on = false;
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
		return load_file(d, split, path, NULL, e);
	}
	if (cJSON_IsObject(spec))
		return load_file_spec(d, split, spec, dir, e);
	return err_set(e, "must be an array of examples, a path to a JSONL/JSON file, or "
	                  "{\"path\": ..., \"key\": ..., \"offset\": N, \"limit\": N}");
}

/* The fractions of {"train": F, "val": F, "test": F, "seed": N}; -1 with e set. */
static int split_fractions(const cJSON *sp, double frac[SPLIT_COUNT], long *seed, struct err *e)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sp)
	{
		if (strcmp(it->string, "seed") != 0 && split_from_name(it->string) < 0)
			return err_set(e,
			               "dataset.split: unknown key \"%.40s\" (known: train, val, "
			               "test, seed)",
			               it->string);
	}
	double sum = 0;
	for (int i = 0; i < SPLIT_COUNT; i++) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(sp, split_names[i]);
		frac[i] = 0;
		if (f && json_real(f, 0, 1, &frac[i], e) < 0)
			return err_prefix(e, "dataset.split.%s", split_names[i]);
		sum += frac[i];
	}
	if (sum <= 0 || sum > 1 + 1e-9)
		return err_set(e,
		               "dataset.split: the fractions must add up to more than 0 and at "
		               "most 1 (they add up to %g)",
		               sum);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(sp, "seed");
	*seed = 1;
	if (s && json_long(s, 0, 4294967295.0, seed, e) < 0)
		return err_prefix(e, "dataset.split.seed");
	return 0;
}

int dataset_load_fractions(struct dataset *d, const cJSON *ds, const char *dir, struct err *e)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(ds, "path");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(ds, "key");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(ds, "split");
	double frac[SPLIT_COUNT];
	long seed;
	if (!cJSON_IsString(path) || !path->valuestring[0])
		return err_set(e, "dataset.path must name the JSONL or JSON file to split");
	if (key && (!cJSON_IsString(key) || !key->valuestring[0]))
		return err_set(e, "dataset.key must name the member that holds the examples");
	if (!cJSON_IsObject(sp))
		return err_set(e, "dataset.split must be an object like {\"train\": 0.6, \"val\": "
		                  "0.2, \"test\": 0.2, \"seed\": 1}");
	if (split_fractions(sp, frac, &seed, e) < 0)
		return -1;
	char *full = path_join(dir, path->valuestring);
	struct split all = d->splits[SPLIT_TRAIN];
	d->splits[SPLIT_TRAIN] = (struct split){0};
	int rc = load_file(d, SPLIT_TRAIN, full, key ? key->valuestring : NULL, e);
	struct split got = d->splits[SPLIT_TRAIN];
	d->splits[SPLIT_TRAIN] = all;
	if (rc < 0) {
		free(got.ex);
		free(full);
		return -1;
	}
	/* a generated id names the example's place in the file, not a split it may not be in */
	for (size_t i = 0; i < got.n; i++) {
		char gen[48], buf[48];
		snprintf(gen, sizeof gen, "%s-%zu", split_names[SPLIT_TRAIN], i + 1);
		snprintf(buf, sizeof buf, "ex-%zu", i + 1);
		if (strcmp(got.ex[i].id, gen) == 0)
			got.ex[i].id = arena_strdup(&d->arena, buf);
	}
	/* a seeded Fisher-Yates shuffle, then consecutive runs of it for train, val and test */
	struct rng r;
	rng_seed(&r, (uint64_t)seed);
	for (size_t i = got.n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		struct example t = got.ex[i - 1];
		got.ex[i - 1] = got.ex[j];
		got.ex[j] = t;
	}
	size_t at = 0;
	for (int i = 0; i < SPLIT_COUNT; i++) {
		size_t want = (size_t)(frac[i] * (double)got.n + 0.5);
		want = MIN(want, got.n - at);
		struct split *s = &d->splits[i];
		for (size_t k = 0; k < want; k++) {
			s->ex = xgrow(s->ex, &s->cap, s->n + 1, sizeof *s->ex);
			s->ex[s->n++] = got.ex[at++];
		}
		free(s->source);
		s->source = xstrdup(full);
	}
	free(got.ex);
	free(full);
	return 0;
}

int dataset_load_inline(struct dataset *d, enum split_id split, const char *text, size_t len,
                        const char **bad, struct err *e)
{
	struct split *sp = &d->splits[split];
	free(sp->source);
	sp->source = xstrdup("inline");
	size_t line;
	return load_array_text(d, split, text, len, 1, bad, &line, e);
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

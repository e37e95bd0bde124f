/* dataset_value.c: a field's value made from its JSON: a scalar's text, a list's items (a
 * passage of a list inside a list, HotpotQA's [title, [sentence, ...]], as one text), and the
 * sub-fields of a field that holds objects ("answers.text"); a value kept as JSON computed back
 * from it when asked (value_read, value_text).
 *
 * What an example costs: its values' texts once.  A field that holds objects (DPR's "ctxs":
 * [{"title": ..., "text": ...}, ...], or an object like "meta") would cost twice, as the
 * objects' JSON (its items) and as its members' values ("ctxs.text"), so it is kept once, as
 * its compact JSON, and those values are computed from it when asked (read_json), by the same
 * code that the loader runs on the parsed line: the same texts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset_int.h"
#include "core/jsonfmt.h"
#include "core/jsonnum.h"

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

const char *scalar_text(struct arena *a, const cJSON *v)
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

void value_from_json(struct arena *a, const cJSON *v, struct value *out)
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
	fs->v[fs->n].key = dataset_intern_field(w->d, key);
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

const char *value_subfields(struct dataset *d, const cJSON *f, struct fields *subs)
{
	char *text = !d->eager && holds_objects(f) ? json_print_compact(f) : NULL;
	size_t from = subs->n;
	struct walk w = {.d = d, .fs = subs, .json = text};
	add_subfields(&w, f->string, f, 0);
	const char *kept = NULL;
	if (text && subs->n - from > KEEP_JSON_MAX) {
		/* reading one sub-field walks them all: with many, computed now */
		subs->n = from;
		w = (struct walk){.d = d, .fs = subs};
		add_subfields(&w, f->string, f, 0);
	} else if (text) {
		kept = arena_strdup(&d->arena, text);
		for (size_t k = from; k < subs->n; k++)
			subs->v[k].val.json = kept;
	}
	free(text);
	return kept;
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

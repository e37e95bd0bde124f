/* jsonnum.c: range-checked reading of JSON numbers, and range tables walked over a tree
 * (see jsonnum.h). */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/jsonnum.h"
#include "core/jsonpos.h"

static int out_of_range(struct err *e, const char *what, double lo, double hi, double x)
{
	if (!e)
		return -1;
	if (!isfinite(x))
		return err_set(e,
		               "must be %sbetween %.15g and %.15g (got a number beyond a "
		               "double's range)",
		               what, lo, hi);
	return err_set(e, "must be %sbetween %.15g and %.15g (got %.15g)", what, lo, hi, x);
}

int json_real(const cJSON *v, double lo, double hi, double *out, struct err *e)
{
	if (!cJSON_IsNumber(v))
		return e ? err_set(e, "must be a number") : -1;
	double x = v->valuedouble;
	if (!(x >= lo && x <= hi)) /* NaN fails too */
		return out_of_range(e, "", lo, hi, x);
	*out = x;
	return 0;
}

int json_long(const cJSON *v, double lo, double hi, long *out, struct err *e)
{
	if (!cJSON_IsNumber(v))
		return e ? err_set(e, "must be a whole number") : -1;
	double cap = MIN(JSON_INT_MAX, (double)LONG_MAX);
	lo = MAX(lo, -cap);
	hi = MIN(hi, cap);
	double x = v->valuedouble;
	if (!(x >= lo && x <= hi) || x != floor(x))
		return out_of_range(e, "a whole number ", lo, hi, x);
	*out = (long)x;
	return 0;
}

int json_int(const cJSON *v, double lo, double hi, int *out, struct err *e)
{
	long x;
	if (json_long(v, MAX(lo, (double)INT_MIN), MIN(hi, (double)INT_MAX), &x, e) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

struct walk {
	const struct json_num_rule *rule;
	int kind; /* json_kind_check: the cJSON type wanted (null passes), else 0 */
	struct sbuf where;
	void (*bad)(void *arg, const char *path, const char *msg);
	void *arg;
	int n_bad;
};

static void walk(struct walk *w, const cJSON *v, const char *rest);

/* What json_kind_check says of a value of another kind. */
static const char *kind_missed(int kind)
{
	return kind == cJSON_Number   ? "not a number"
	       : kind == cJSON_String ? "not a string"
	       : kind == cJSON_Array  ? "not a list"
	       : kind == cJSON_Object ? "not an object"
	                              : "not of its kind";
}

/* Walks into child c, named by appending to w->where, then restores the name. */
static void walk_child(struct walk *w, const cJSON *c, const char *key, size_t index,
                       const char *rest)
{
	size_t len = w->where.len;
	if (key)
		json_path_key(&w->where, key);
	else
		json_path_index(&w->where, index);
	walk(w, c, rest);
	w->where.len = len;
	w->where.s[len] = '\0';
}

static void walk(struct walk *w, const cJSON *v, const char *rest)
{
	if (*rest == '.')
		rest++;
	if (!*rest) {
		if (w->kind) {
			if (!cJSON_IsNull(v) && (v->type & 0xFF) != w->kind) {
				w->bad(w->arg, sbuf_str(&w->where), kind_missed(w->kind));
				w->n_bad++;
			}
			return;
		}
		if (!cJSON_IsNumber(v))
			return;
		struct err e;
		double d;
		long l;
		const struct json_num_rule *r = w->rule;
		if ((r->whole ? json_long(v, r->lo, r->hi, &l, &e)
		              : json_real(v, r->lo, r->hi, &d, &e)) < 0) {
			w->bad(w->arg, sbuf_str(&w->where), e.msg);
			w->n_bad++;
		}
		return;
	}
	const cJSON *c;
	if (strncmp(rest, "[]", 2) == 0) {
		size_t i = 0;
		if (cJSON_IsArray(v))
			cJSON_ArrayForEach(c, v) walk_child(w, c, NULL, i++, rest + 2);
		return;
	}
	size_t n = strcspn(rest, ".[");
	if (n == 1 && rest[0] == '*') {
		if (cJSON_IsObject(v))
			cJSON_ArrayForEach(c, v) walk_child(w, c, c->string, 0, rest + 1);
		return;
	}
	char key[64];
	if (n >= sizeof key || !cJSON_IsObject(v))
		return;
	memcpy(key, rest, n);
	key[n] = '\0';
	c = cJSON_GetObjectItemCaseSensitive(v, key);
	if (c)
		walk_child(w, c, key, 0, rest + n);
}

int json_num_check(const cJSON *root, const struct json_num_rule *rules,
                   void (*bad)(void *arg, const char *path, const char *msg), void *arg)
{
	struct walk w = {.bad = bad, .arg = arg};
	for (w.rule = rules; w.rule->path; w.rule++)
		walk(&w, root, w.rule->path);
	sbuf_free(&w.where);
	return w.n_bad;
}

int json_kind_check(const cJSON *root, const char *path, int kind,
                    void (*bad)(void *arg, const char *path, const char *msg), void *arg)
{
	struct walk w = {.kind = kind, .bad = bad, .arg = arg};
	walk(&w, root, path);
	sbuf_free(&w.where);
	return w.n_bad;
}

double json_get_real(const cJSON *o, const char *key)
{
	double x;
	return json_real(cJSON_GetObjectItemCaseSensitive(o, key), -DBL_MAX, DBL_MAX, &x, NULL) < 0
	           ? 0
	           : x;
}

long json_get_count(const cJSON *o, const char *key)
{
	long x;
	return json_long(cJSON_GetObjectItemCaseSensitive(o, key), 0, 1e15, &x, NULL) < 0 ? 0 : x;
}

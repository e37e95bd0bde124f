/* loader.c: the session loader's shared helpers (loader.h), used by session.c (models, dataset,
 * metric, optimizer settings) and pipeline.c (steps and loops): problems reported at their
 * position in the file, and typed lookups that report a wrong type or a value out of range
 * instead of guessing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"
#include "core/jsonpos.h"
#include "core/loader.h"

static void report(struct loader *L, struct diag *d, const char *path, const char *fmt, va_list ap)
{
	struct json_pos pos = {1, 1};
	if (L->text && path)
		json_pos_of_path(L->text, L->len, path, &pos);
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	diag_add(d, "%s:%d:%d: %s", L->file, pos.line, pos.col, msg);
}

void load_problem(struct loader *L, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(L, L->d, path, fmt, ap);
	va_end(ap);
	L->errors++;
}

void load_warning(struct loader *L, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(L, &L->s->warnings, path, fmt, ap);
	va_end(ap);
}

/* Typed accessors: each reports a wrong type at the value's own position. */

const cJSON *load_get(struct loader *L, const cJSON *obj, const char *path, const char *key,
                      int type_mask, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return NULL;
	if (!(v->type & type_mask)) {
		load_problem(L, path, "%s must be %s", path, want);
		return NULL;
	}
	return v;
}

char *load_string(struct loader *L, const cJSON *obj, const char *path, const char *key,
                  const char *def)
{
	char p[512];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_String, "a string");
	if (v)
		return xstrdup(v->valuestring);
	return def ? xstrdup(def) : NULL;
}

double load_number(struct loader *L, const cJSON *obj, const char *path, const char *key,
                   double def, double lo, double hi)
{
	char p[512];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_Number, "a number");
	struct err e;
	double x;
	if (!v)
		return def;
	if (json_real(v, lo, hi, &x, &e) < 0) {
		load_problem(L, p, "%s %s", p, e.msg);
		return def;
	}
	return x;
}

long load_int(struct loader *L, const cJSON *obj, const char *path, const char *key, long def,
              double lo, double hi)
{
	char p[512];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_Number, "a whole number");
	struct err e;
	long x;
	if (!v)
		return def;
	if (json_long(v, lo, hi, &x, &e) < 0) {
		load_problem(L, p, "%s %s", p, e.msg);
		return def;
	}
	return x;
}

bool load_bool(struct loader *L, const cJSON *obj, const char *path, const char *key, bool def)
{
	char p[512];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = load_get(L, obj, p, key, cJSON_True | cJSON_False, "true or false");
	return v ? cJSON_IsTrue(v) : def;
}

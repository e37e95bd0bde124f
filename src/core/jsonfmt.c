/* jsonfmt.c: the stable JSON printer and key ordering of jsonfmt.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonfmt.h"
#include "core/util.h"

static void put_string(struct sbuf *b, const char *s)
{
	/* pairs: the byte, the letter after the backslash */
	static const char esc[] = "\"\"\\\\\bb\ff\nn\rr\tt";
	static const char special[] =
	    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
	    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
	    "\"\\";
	sbuf_addc(b, '"');
	while (*s) {
		size_t n = strcspn(s, special);
		sbuf_add(b, s, n);
		s += n;
		if (!*s)
			break;
		const char *e = strchr(esc, *s);
		if (e && (e - esc) % 2 == 0) {
			sbuf_addc(b, '\\');
			sbuf_addc(b, e[1]);
		} else {
			sbuf_addf(b, "\\u%04x", (unsigned char)*s);
		}
		s++;
	}
	sbuf_addc(b, '"');
}

void json_number_text(double d, char *buf, size_t n)
{
	if (!isfinite(d)) {
		snprintf(buf, n, "null");
		return;
	}
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(buf, n, "%.0f", d);
	} else {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(buf, n, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
	}
	for (char *p = buf; *p; p++)
		if (*p == ',') /* a locale's decimal comma */
			*p = '.';
}

static void put_number(struct sbuf *b, double d)
{
	char buf[64];
	json_number_text(d, buf, sizeof buf);
	sbuf_adds(b, buf);
}

static void put_scalar(struct sbuf *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		put_string(b, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsNumber(v))
		put_number(b, v->valuedouble);
	else if (cJSON_IsTrue(v))
		sbuf_adds(b, "true");
	else if (cJSON_IsFalse(v))
		sbuf_adds(b, "false");
	else if (cJSON_IsRaw(v))
		sbuf_adds(b, v->valuestring ? v->valuestring : "null");
	else
		sbuf_adds(b, "null");
}

static bool is_container(const cJSON *v)
{
	return cJSON_IsObject(v) || cJSON_IsArray(v);
}

/* Writes a container of scalars on one line if it fits from column col; false otherwise. */
static bool put_flat(struct sbuf *b, const cJSON *v, size_t col)
{
	bool obj = cJSON_IsObject(v);
	for (const cJSON *c = v->child; c; c = c->next)
		if (is_container(c) || cJSON_IsRaw(c))
			return false;
	size_t start = b->len;
	sbuf_addc(b, obj ? '{' : '[');
	for (const cJSON *c = v->child; c; c = c->next) {
		if (c != v->child)
			sbuf_adds(b, ", ");
		if (obj) {
			put_string(b, c->string ? c->string : "");
			sbuf_adds(b, ": ");
		}
		put_scalar(b, c);
		if (col + b->len - start >= JSONFMT_WIDTH)
			break;
	}
	sbuf_addc(b, obj ? '}' : ']');
	/* room for a comma after it; bytes, not columns: UTF-8 text only makes a line look
	 * shorter than it is */
	if (col + b->len - start + 1 > JSONFMT_WIDTH) {
		b->len = start;
		b->s[start] = '\0';
		return false;
	}
	return true;
}

static void indent(struct sbuf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		sbuf_adds(b, "  ");
}

/* v starts at column col; in_array: it is an array's element */
static void put_value(struct sbuf *b, const cJSON *v, int depth, size_t col, bool in_array)
{
	if (!is_container(v)) {
		put_scalar(b, v);
		return;
	}
	bool obj = cJSON_IsObject(v);
	if (!v->child) {
		sbuf_adds(b, obj ? "{}" : "[]");
		return;
	}
	/* an object among an array's elements gets lines of its own, as its siblings do */
	if (!(obj && in_array) && put_flat(b, v, col))
		return;
	sbuf_adds(b, obj ? "{\n" : "[\n");
	for (const cJSON *c = v->child; c; c = c->next) {
		size_t line = b->len;
		indent(b, depth + 1);
		if (obj) {
			put_string(b, c->string ? c->string : "");
			sbuf_adds(b, ": ");
		}
		put_value(b, c, depth + 1, b->len - line, !obj);
		sbuf_adds(b, c->next ? ",\n" : "\n");
	}
	indent(b, depth);
	sbuf_addc(b, obj ? '}' : ']');
}

static void put_compact(struct sbuf *b, const cJSON *v)
{
	if (!is_container(v)) {
		put_scalar(b, v);
		return;
	}
	bool obj = cJSON_IsObject(v);
	sbuf_addc(b, obj ? '{' : '[');
	for (const cJSON *c = v->child; c; c = c->next) {
		if (c != v->child)
			sbuf_addc(b, ',');
		if (obj) {
			put_string(b, c->string ? c->string : "");
			sbuf_addc(b, ':');
		}
		put_compact(b, c);
	}
	sbuf_addc(b, obj ? '}' : ']');
}

char *json_print_compact(const cJSON *v)
{
	struct sbuf b = {0};
	put_compact(&b, v);
	return sbuf_take(&b);
}

char *json_print_stable(const cJSON *root)
{
	struct sbuf b = {0};
	put_value(&b, root, 0, 0, false);
	sbuf_addc(&b, '\n');
	return sbuf_take(&b);
}

void json_order_keys(cJSON *obj, const char *const *keys)
{
	if (!cJSON_IsObject(obj))
		return;
	/* detach the known members in key order, then put them back at the front */
	cJSON *known = NULL, *tail = NULL;
	for (const char *const *k = keys; *k; k++) {
		cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(obj, *k);
		if (!m)
			continue;
		m->prev = tail;
		m->next = NULL;
		if (tail)
			tail->next = m;
		else
			known = m;
		tail = m;
	}
	if (!known)
		return;
	cJSON *rest = obj->child;
	tail->next = rest;
	if (rest) {
		known->prev = rest->prev; /* cJSON: the first item's prev is the last item */
		rest->prev = tail;
	} else {
		known->prev = tail;
	}
	obj->child = known;
}

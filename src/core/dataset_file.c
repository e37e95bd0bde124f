/* dataset_file.c: the formats a split is read from: JSON lines (one line in memory at a time),
 * a file holding a JSON array or an object with the array under a key, and an inline array's
 * text (each example of an array parsed on its own: the tree of the whole array never exists);
 * a file spec's offset/limit slice (the examples outside it parsed, never kept).  Every example
 * remembers its line; bad input is an error with "file:line:col" (invalid JSON, bytes that are
 * not UTF-8, a \u0000 escape). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset_int.h"
#include "core/jsonnum.h"
#include "core/jsonpos.h"
#include "core/utf8.h"

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

/* The names of the members that hold arrays when text is a JSON object, for a message:
 * "examples", "extra". */
static void array_members(const char *text, size_t len, struct sbuf *b)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *it, *obj = cJSON_IsObject(root) ? root : NULL;
	cJSON_ArrayForEach(it, obj)
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
	struct sbuf names = {0};
	array_members(buf, len, &names);
	if (names.len)
		err_set(e,
		        "%s: the file holds one JSON object, not examples; name the key that holds "
		        "them: {\"path\": ..., \"key\": ...} (its lists: %s)",
		        path, sbuf_str(&names));
	sbuf_free(&names);
	free(buf);
}

int dataset_load_file(struct dataset *d, enum split_id split, const char *path, const char *key,
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
	int rc = dataset_load_file(d, split, full, key ? key->valuestring : NULL, e);
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
		return dataset_load_file(d, split, path, NULL, e);
	}
	if (cJSON_IsObject(spec))
		return load_file_spec(d, split, spec, dir, e);
	return err_set(e, "must be an array of examples, a path to a JSONL/JSON file, or "
	                  "{\"path\": ..., \"key\": ..., \"offset\": N, \"limit\": N}");
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

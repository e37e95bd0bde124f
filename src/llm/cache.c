/* cache.c: the append-only JSONL response cache and its in-memory index (see cache.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/jsonnum.h"
#include "llm/cache.h"

#define CACHE_MAX_BYTES ((size_t)2 << 30)

struct cache {
	char *path; /* NULL: memory only */
	int fd;
	bool create;       /* no file yet: the first answer creates it (none is made for nothing) */
	bool need_newline; /* the file ends in a torn line: start the next append on a new line */
	struct cache_entry *v;
	size_t n, cap;
	size_t *slots; /* open addressing: index + 1 into v, 0 = empty */
	size_t nslots;
	long skipped;
	char *problem; /* the first skipped line: "file:line: why; line skipped" */
};

static bool key_valid(const char *k)
{
	if (!k || strlen(k) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return false;
	return true;
}

static size_t slot_of(const struct cache *c, const char *key)
{
	size_t mask = c->nslots - 1;
	size_t i = (size_t)hash_bytes(key, 64, 0) & mask;
	while (c->slots[i] && strcmp(c->v[c->slots[i] - 1].key, key) != 0)
		i = (i + 1) & mask;
	return i;
}

static void index_rebuild(struct cache *c, size_t nslots)
{
	free(c->slots);
	c->nslots = nslots;
	c->slots = xcalloc(nslots, sizeof(*c->slots));
	for (size_t j = 0; j < c->n; j++)
		c->slots[slot_of(c, c->v[j].key)] = j + 1;
}

/* Inserts or replaces; takes ownership of model, text and reasoning. */
static void cache_insert(struct cache *c, const char *key, char *model, char *text, char *reasoning,
                         const struct llm_usage *u)
{
	if ((c->n + 1) * 2 > c->nslots)
		index_rebuild(c, c->nslots ? c->nslots * 2 : 64);
	size_t s = slot_of(c, key);
	struct cache_entry *ce;
	if (c->slots[s]) {
		ce = &c->v[c->slots[s] - 1];
		free(ce->model);
		free(ce->text);
		free(ce->reasoning);
	} else {
		c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
		ce = &c->v[c->n++];
		memcpy(ce->key, key, 65);
		ce->finish = NULL;
		c->slots[s] = c->n;
	}
	ce->model = model;
	ce->text = text;
	ce->reasoning = reasoning;
	ce->usage = *u;
}

/* The finish reason of key's entry (just inserted); NULL: none. */
static void set_finish(struct cache *c, const char *key, const char *finish)
{
	struct cache_entry *ce = &c->v[c->slots[slot_of(c, key)] - 1];
	free(ce->finish);
	ce->finish = finish && *finish ? xstrdup(finish) : NULL;
}

/* A token count: absent is 0; anything but a whole number from 0 to 1e15 makes the line
 * corrupt (-1 and why). */
static int count_field(const cJSON *o, const char *name, long *out, struct err *why)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	struct err e;
	*out = 0;
	if (it && json_long(it, 0, 1e15, out, &e) < 0)
		return err_set(why, "\"%s\" %s", name, e.msg);
	return 0;
}

/* One complete line; -1 and why when it is not a cache record. */
static int load_line(struct cache *c, const char *line, struct err *why)
{
	cJSON *o = cJSON_Parse(line);
	if (!o)
		return err_set(why, "invalid JSON");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(o, "model");
	const cJSON *reasoning = cJSON_GetObjectItemCaseSensitive(o, "reasoning");
	struct llm_usage u = {0};
	int rc = 0;
	if (!cJSON_IsObject(o) || !cJSON_IsString(key) || !key_valid(key->valuestring) ||
	    !cJSON_IsString(text))
		rc = err_set(why, "not a cache record (needs \"key\" and \"text\")");
	else if (count_field(o, "in", &u.in, why) < 0 || count_field(o, "out", &u.out, why) < 0 ||
	         count_field(o, "cached", &u.cached, why) < 0 ||
	         count_field(o, "cache_write", &u.cache_write, why) < 0 ||
	         count_field(o, "reasoning_tokens", &u.reasoning, why) < 0)
		rc = -1;
	if (rc == 0) {
		u.estimated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "estimated"));
		cache_insert(c, key->valuestring,
		             xstrdup(cJSON_IsString(model) ? model->valuestring : ""),
		             xstrdup(text->valuestring),
		             cJSON_IsString(reasoning) && *reasoning->valuestring
		                 ? xstrdup(reasoning->valuestring)
		                 : NULL,
		             &u);
		const cJSON *finish = cJSON_GetObjectItemCaseSensitive(o, "finish");
		set_finish(c, key->valuestring,
		           cJSON_IsString(finish) ? finish->valuestring : NULL);
	}
	cJSON_Delete(o);
	return rc;
}

/* Counts a skipped line; the first one's reason is kept for cache_problem. */
static void skip_line(struct cache *c, size_t lineno, const char *why)
{
	if (!c->skipped++)
		c->problem = xasprintf("%s:%zu: %s; line skipped", c->path, lineno, why);
}

static int cache_load(struct cache *c, struct err *e)
{
	struct file_lines r;
	if (file_lines_open(&r, c->path, CACHE_MAX_BYTES, e) < 0)
		return err_prefix(e, "response cache");
	size_t n;
	int got;
	while ((got = file_lines_next(&r, &n, e)) > 0) {
		const char *line = r.buf;
		bool complete = line[n - 1] == '\n';
		c->need_newline = !complete;
		size_t blank = strspn(line, " \t\r\n");
		struct err why;
		if (blank == n)
			continue;
		if (!complete)
			skip_line(c, r.lineno, "torn line (no newline at its end)");
		else if (strlen(line) != n)
			skip_line(c, r.lineno, "a NUL byte in the line");
		else if (load_line(c, line, &why) < 0)
			skip_line(c, r.lineno, why.msg);
	}
	file_lines_close(&r);
	return got < 0 ? err_prefix(e, "response cache") : 0;
}

/* An existing file is opened for appending first: a link or a special file is refused before
 * anything is read from it.  A missing one is made by the first answer (none for nothing); a
 * directory it cannot be made in is an error now. */
struct cache *cache_open(const char *path, struct err *e)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	index_rebuild(c, 64);
	if (!path)
		return c;
	c->path = xstrdup(path);
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		char *dir = path_dirname(path);
		int ok = access(dir, W_OK | X_OK);
		free(dir);
		if (ok == 0) {
			c->create = true;
			return c;
		}
		err_set(e, "%s: cannot open the response cache for writing: %s", path,
		        strerror(errno));
		goto fail;
	}
	c->fd = file_open_append(path, e);
	if (c->fd < 0) {
		err_prefix(e, "response cache");
		goto fail;
	}
	if (cache_load(c, e) < 0)
		goto fail;
	return c;
fail:
	cache_close(c);
	return NULL;
}

int cache_sync(struct cache *c, struct err *e)
{
	if (c->fd >= 0 && fsync(c->fd) < 0)
		return err_set(e, "%s: fsync: %s", c->path, strerror(errno));
	return 0;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		struct err e;
		cache_sync(c, &e); /* best effort: nothing to tell a caller that is shutting down */
		close(c->fd);
	}
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].model);
		free(c->v[i].text);
		free(c->v[i].reasoning);
		free(c->v[i].finish);
	}
	free(c->v);
	free(c->slots);
	free(c->path);
	free(c->problem);
	free(c);
}

const struct cache_entry *cache_get(const struct cache *c, const char *key)
{
	if (!key_valid(key))
		return NULL;
	size_t s = slot_of(c, key);
	return c->slots[s] ? &c->v[c->slots[s] - 1] : NULL;
}

int cache_put(struct cache *c, const char *key, const char *model, const char *text,
              const char *reasoning, const struct llm_usage *u, const char *finish, struct err *e)
{
	if (!key_valid(key))
		return err_set(e, "response cache: invalid key");
	if (reasoning && !*reasoning)
		reasoning = NULL;
	cache_insert(c, key, xstrdup(model ? model : ""), xstrdup(text ? text : ""),
	             reasoning ? xstrdup(reasoning) : NULL, u);
	set_finish(c, key, finish);
	if (c->create) {
		c->create = false;
		c->fd = file_open_append(c->path, e); /* never through a link */
		if (c->fd < 0)
			return err_prefix(e, "response cache");
	}
	if (c->fd < 0)
		return 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "model", model ? model : "");
	cJSON_AddStringToObject(o, "text", text ? text : "");
	cJSON_AddNumberToObject(o, "in", (double)u->in);
	cJSON_AddNumberToObject(o, "out", (double)u->out);
	cJSON_AddBoolToObject(o, "estimated", u->estimated);
	const struct {
		const char *name;
		long n;
	} details[] = {{"cached", u->cached},
	               {"cache_write", u->cache_write},
	               {"reasoning_tokens", u->reasoning}};
	for (size_t i = 0; i < ARRAY_SIZE(details); i++)
		if (details[i].n)
			cJSON_AddNumberToObject(o, details[i].name, (double)details[i].n);
	if (reasoning)
		cJSON_AddStringToObject(o, "reasoning", reasoning);
	if (finish && *finish)
		cJSON_AddStringToObject(o, "finish", finish);
	cJSON_AddNumberToObject(o, "at", (double)time(NULL));
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	struct sbuf line = {0};
	if (c->need_newline)
		sbuf_addc(&line, '\n');
	sbuf_adds(&line, json);
	sbuf_addc(&line, '\n');
	free(json);
	int rc = 0;
	if (file_write_all(c->fd, line.s, line.len) < 0)
		rc = err_set(e, "%s: cannot append to the response cache: %s", c->path,
		             strerror(errno));
	else
		c->need_newline = false;
	sbuf_free(&line);
	return rc;
}

size_t cache_count(const struct cache *c)
{
	return c->n;
}

long cache_skipped(const struct cache *c)
{
	return c->skipped;
}

const char *cache_problem(const struct cache *c)
{
	return c->problem;
}

/* cache.c: the append-only JSONL response cache and its in-memory index of where each answer
 * is in the file (see cache.h). */
#include <cjson/cJSON.h>
#include <stdint.h>
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
#define KEY_PREFIX      "{\"key\":\""

/* Where an answer is: a line of the file (off, len, its line number) or, in a memory-only cache
 * or after a failed append, an entry in memory. */
struct slot_entry {
	unsigned char key[32];
	bool dead; /* its line proved corrupt when read */
	uint32_t len, lineno;
	off_t off;
	struct cache_entry *mem;
};

struct cache {
	char *path;        /* NULL: memory only */
	int fd, rfd;       /* append, and read (the same file) */
	bool create;       /* no file yet: the first answer creates it (none is made for nothing) */
	bool need_newline; /* the file ends in a torn line: start the next append on a new line */
	struct slot_entry *v;
	size_t n, cap, live;
	size_t *slots; /* open addressing: index + 1 into v, 0 = empty */
	size_t nslots;
	uint32_t lines;         /* lines in the file, ours included */
	struct cache_entry cur; /* the last answer read back, owned */
	char *buf;
	size_t buf_cap;
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

/* 64 lowercase hex digits (checked by key_valid) to 32 bytes. */
static void key_bin(const char *k, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = k[2 * i] <= '9' ? k[2 * i] - '0' : k[2 * i] - 'a' + 10;
		int lo = k[2 * i + 1] <= '9' ? k[2 * i + 1] - '0' : k[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

static size_t slot_of(const struct cache *c, const unsigned char key[32])
{
	/* hashed, not taken as they are: a stranger's file may hold keys made to collide */
	size_t mask = c->nslots - 1, i = (size_t)hash_bytes(key, 32, 0) & mask;
	while (c->slots[i] && memcmp(c->v[c->slots[i] - 1].key, key, 32) != 0)
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

static void entry_clear(struct cache_entry *ce)
{
	free(ce->model);
	free(ce->text);
	free(ce->reasoning);
	free(ce->finish);
	memset(ce, 0, sizeof *ce);
}

/* The slot entry of key, made empty when new. */
static struct slot_entry *index_get(struct cache *c, const char *key)
{
	unsigned char kb[32];
	key_bin(key, kb);
	if ((c->n + 1) * 2 > c->nslots)
		index_rebuild(c, c->nslots ? c->nslots * 2 : 64);
	size_t s = slot_of(c, kb);
	if (c->slots[s]) {
		struct slot_entry *se = &c->v[c->slots[s] - 1];
		if (se->mem) {
			entry_clear(se->mem);
			free(se->mem);
			se->mem = NULL;
		}
		c->live -= !se->dead;
		se->dead = false;
		c->live++;
		return se;
	}
	c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
	struct slot_entry *se = &c->v[c->n++];
	memset(se, 0, sizeof *se);
	memcpy(se->key, kb, 32);
	c->slots[s] = c->n;
	c->live++;
	return se;
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

/* One complete line into *ce (owned strings); -1 and why when it is not a cache record. */
static int parse_line(const char *line, struct cache_entry *ce, struct err *why)
{
	cJSON *o = cJSON_Parse(line);
	if (!o)
		return err_set(why, "invalid JSON");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(o, "model");
	const cJSON *reasoning = cJSON_GetObjectItemCaseSensitive(o, "reasoning");
	const cJSON *finish = cJSON_GetObjectItemCaseSensitive(o, "finish");
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
		memcpy(ce->key, key->valuestring, 65);
		ce->model = xstrdup(cJSON_IsString(model) ? model->valuestring : "");
		ce->text = xstrdup(text->valuestring);
		ce->reasoning = cJSON_IsString(reasoning) && *reasoning->valuestring
		                    ? xstrdup(reasoning->valuestring)
		                    : NULL;
		ce->finish = cJSON_IsString(finish) && *finish->valuestring
		                 ? xstrdup(finish->valuestring)
		                 : NULL;
		ce->usage = u;
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

/* A line as cache_put writes it: {"key":"<64 hex>", first.  Indexed without parsing; the
 * whole line is checked when it is read. */
static bool ours(const char *line, size_t n)
{
	size_t p = sizeof(KEY_PREFIX) - 1;
	if (n < p + 66 || memcmp(line, KEY_PREFIX, p) != 0 || line[p + 64] != '"')
		return false;
	for (size_t i = p; i < p + 64; i++)
		if (!((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'f')))
			return false;
	return true;
}

static void index_line(struct cache *c, const char *key, off_t off, size_t n, size_t lineno)
{
	struct slot_entry *se = index_get(c, key);
	se->off = off;
	se->len = (uint32_t)n;
	se->lineno = (uint32_t)lineno;
}

/* Indexes every answer of the file: a line of ours by its key alone, any other line after
 * parsing it (as a line of ours is when read). */
static int cache_load(struct cache *c, struct err *e)
{
	int dfd = dup(c->rfd);
	FILE *f = dfd >= 0 ? fdopen(dfd, "r") : NULL;
	if (!f) {
		if (dfd >= 0)
			close(dfd);
		return err_set(e, "%s: response cache: %s", c->path, strerror(errno));
	}
	struct file_lines r = {.f = f, .path = c->path, .max_bytes = CACHE_MAX_BYTES};
	size_t n;
	off_t off = 0;
	int got;
	for (; (got = file_lines_next(&r, &n, e)) > 0; off += (off_t)n) {
		const char *line = r.buf;
		bool complete = line[n - 1] == '\n';
		c->need_newline = !complete;
		c->lines = (uint32_t)r.lineno;
		size_t blank = strspn(line, " \t\r\n");
		struct err why;
		struct cache_entry ce = {0};
		if (blank == n)
			continue;
		if (!complete)
			skip_line(c, r.lineno, "torn line (no newline at its end)");
		else if (ours(line, n)) /* NUL bytes and the rest are checked when it is read */
			index_line(c, line + sizeof(KEY_PREFIX) - 1, off, n, r.lineno);
		else if (strlen(line) != n)
			skip_line(c, r.lineno, "a NUL byte in the line");
		else if (parse_line(line, &ce, &why) < 0)
			skip_line(c, r.lineno, why.msg);
		else
			index_line(c, ce.key, off, n, r.lineno);
		entry_clear(&ce);
	}
	file_lines_close(&r);
	return got < 0 ? err_prefix(e, "response cache") : 0;
}

/* The read descriptor: the file the append descriptor has, or an error. */
static int open_reader(struct cache *c, struct err *e)
{
	struct stat a, b;
	c->rfd = file_open_read(c->path, CACHE_MAX_BYTES, e);
	if (c->rfd < 0)
		return err_prefix(e, "response cache");
	if (fstat(c->fd, &a) < 0 || fstat(c->rfd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return err_set(e, "%s: response cache: the file changed while it was opened",
		               c->path);
	return 0;
}

/* An existing file is opened for appending first: a link or a special file is refused before
 * anything is read from it.  A missing one is made by the first answer (none for nothing); a
 * directory it cannot be made in is an error now. */
struct cache *cache_open(const char *path, struct err *e)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	c->fd = c->rfd = -1;
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
	if (open_reader(c, e) < 0 || cache_load(c, e) < 0)
		goto fail;
	return c;
fail:
	cache_close(c);
	return NULL;
}

/* A read-only cache (a simulated run's, llm.h sandbox): the file's answers are read, never
 * written to; cache_put keeps new answers in memory (fd stays -1).  A missing file is an empty
 * cache; a link or a special file is refused as cache_open refuses it. */
struct cache *cache_open_ro(const char *path, struct err *e)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	c->fd = c->rfd = -1;
	index_rebuild(c, 64);
	if (!path)
		return c;
	c->path = xstrdup(path);
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return c;
		err_set(e, "response cache: %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISLNK(st.st_mode)) {
		err_set(e, "response cache: %s: a symbolic link: refusing to use it", path);
		goto fail;
	}
	c->rfd = file_open_read(path, CACHE_MAX_BYTES, e);
	if (c->rfd < 0) {
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
	if (c->rfd >= 0)
		close(c->rfd);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].mem) {
			entry_clear(c->v[i].mem);
			free(c->v[i].mem);
		}
	entry_clear(&c->cur);
	free(c->buf);
	free(c->v);
	free(c->slots);
	free(c->path);
	free(c->problem);
	free(c);
}

/* Reads se's line back into c->cur; a line that is not the record indexed (corrupt, cut short,
 * or the file changed underneath) is skipped from now on, counted and named. */
static const struct cache_entry *read_back(struct cache *c, struct slot_entry *se, const char *key)
{
	c->buf = xgrow(c->buf, &c->buf_cap, (size_t)se->len + 1, 1);
	ssize_t got = pread(c->rfd, c->buf, se->len, se->off);
	struct err why = {{0}};
	entry_clear(&c->cur);
	c->buf[got > 0 ? got : 0] = 0;
	if (got != (ssize_t)se->len || c->buf[se->len - 1] != '\n')
		err_set(&why, "the line is cut short (the file shrank)");
	else if (strlen(c->buf) != se->len)
		err_set(&why, "a NUL byte in the line");
	else if (parse_line(c->buf, &c->cur, &why) == 0 && strcmp(c->cur.key, key) != 0)
		err_set(&why, "not the answer indexed for it (the file changed underneath)");
	if (!why.msg[0])
		return &c->cur;
	entry_clear(&c->cur);
	skip_line(c, se->lineno, why.msg);
	se->dead = true;
	c->live--;
	return NULL;
}

const struct cache_entry *cache_get(struct cache *c, const char *key)
{
	if (!key_valid(key))
		return NULL;
	unsigned char kb[32];
	key_bin(key, kb);
	size_t s = slot_of(c, kb);
	struct slot_entry *se = c->slots[s] ? &c->v[c->slots[s] - 1] : NULL;
	if (!se || se->dead)
		return NULL;
	return se->mem ? se->mem : read_back(c, se, key);
}

/* Keeps an answer in memory (memory-only cache, or its line could not be written). */
static void keep_in_memory(struct slot_entry *se, const char *key, const char *model,
                           const char *text, const char *reasoning, const struct llm_usage *u,
                           const char *finish)
{
	struct cache_entry *ce = xcalloc(1, sizeof *ce);
	memcpy(ce->key, key, 65);
	ce->model = xstrdup(model ? model : "");
	ce->text = xstrdup(text ? text : "");
	ce->reasoning = reasoning ? xstrdup(reasoning) : NULL;
	ce->finish = finish && *finish ? xstrdup(finish) : NULL;
	ce->usage = *u;
	se->mem = ce;
}

int cache_put(struct cache *c, const char *key, const char *model, const char *text,
              const char *reasoning, const struct llm_usage *u, const char *finish, struct err *e)
{
	if (!key_valid(key))
		return err_set(e, "response cache: invalid key");
	if (reasoning && !*reasoning)
		reasoning = NULL;
	struct slot_entry *se = index_get(c, key);
	if (c->create) {
		c->create = false;
		c->fd = file_open_append(c->path, e); /* never through a link */
		if (c->fd < 0 || open_reader(c, e) < 0) {
			keep_in_memory(se, key, model, text, reasoning, u, finish);
			return err_prefix(e, "response cache");
		}
	}
	if (c->fd < 0 || c->rfd < 0) {
		keep_in_memory(se, key, model, text, reasoning, u, finish);
		return 0;
	}
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
	struct stat st;
	size_t lead = c->need_newline;
	if (fstat(c->fd, &st) < 0 || file_write_all(c->fd, line.s, line.len) < 0) {
		rc = err_set(e, "%s: cannot append to the response cache: %s", c->path,
		             strerror(errno));
		keep_in_memory(se, key, model, text, reasoning, u, finish);
	} else {
		c->need_newline = false;
		c->lines++; /* a torn line before it is completed by lead, not new */
		se->off = st.st_size + (off_t)lead;
		se->len = (uint32_t)(line.len - lead);
		se->lineno = c->lines;
	}
	sbuf_free(&line);
	return rc;
}

size_t cache_count(const struct cache *c)
{
	return c->live;
}

long cache_skipped(const struct cache *c)
{
	return c->skipped;
}

const char *cache_problem(const struct cache *c)
{
	return c->problem;
}

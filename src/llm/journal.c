/* journal.c: the append-only spend journal of billed calls (see journal.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm/journal.h"

#define JOURNAL_MAX_BYTES ((size_t)2 << 30)
#define TOKENS_MAX        1e15 /* more than any real call; larger numbers are corrupt lines */

struct spend {
	long in, out;
	double cost;
};

struct journal {
	char *path;
	int fd;
	bool need_newline; /* the file ends in a torn line */
	struct spend *v;
	size_t n, cap;
	size_t loaded; /* lines read at open: earlier processes' calls */
	long skipped;
	bool ro; /* journal_open_ro: never written */
};

static bool num_ok(const cJSON *it, double max, double *out)
{
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
	    it->valuedouble > max)
		return false;
	*out = it->valuedouble;
	return true;
}

static void push(struct journal *j, long in, long out, double cost)
{
	j->v = xgrow(j->v, &j->cap, j->n + 1, sizeof *j->v);
	j->v[j->n++] = (struct spend){in, out, cost};
}

static bool load_line(struct journal *j, const char *line, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(line, n);
	double in, out, cost;
	bool ok = cJSON_IsObject(o) &&
	          num_ok(cJSON_GetObjectItemCaseSensitive(o, "in"), TOKENS_MAX, &in) &&
	          num_ok(cJSON_GetObjectItemCaseSensitive(o, "out"), TOKENS_MAX, &out) &&
	          num_ok(cJSON_GetObjectItemCaseSensitive(o, "cost_usd"), 1e9, &cost);
	if (ok)
		push(j, (long)in, (long)out, cost);
	cJSON_Delete(o);
	return ok;
}

static int journal_load(struct journal *j, struct err *e)
{
	struct file_lines r;
	if (file_lines_open(&r, j->path, JOURNAL_MAX_BYTES, e) < 0)
		return -1;
	size_t n;
	int got;
	while ((got = file_lines_next(&r, &n, e)) > 0) {
		bool complete = r.buf[n - 1] == '\n';
		j->need_newline = !complete;
		if (strspn(r.buf, " \t\r\n") == n)
			continue;
		if (!complete || strlen(r.buf) != n || !load_line(j, r.buf, n))
			j->skipped++;
	}
	file_lines_close(&r);
	j->loaded = j->n;
	return got < 0 ? -1 : 0;
}

struct journal *journal_open(const char *path, struct err *e)
{
	struct journal *j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	j->fd = -1;
	/* absent: the first billed call creates it (no spend, no file); present: opened for
	 * appending first, so that a link is refused before anything is read */
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return j;
	j->fd = file_open_append(path, e);
	if (j->fd < 0 || journal_load(j, e) < 0) {
		err_prefix(e, "spend journal");
		journal_close(j);
		return NULL;
	}
	return j;
}

/* A simulated run's (llm.h sandbox): read, never opened for writing nor written. */
struct journal *journal_open_ro(const char *path, struct err *e)
{
	struct journal *j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	j->fd = -1;
	j->ro = true;
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return j;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		err_set(e, "%s: a symbolic link: refusing to use it", path);
	else if (journal_load(j, e) == 0)
		return j;
	err_prefix(e, "spend journal");
	journal_close(j);
	return NULL;
}

int journal_sync(struct journal *j, struct err *e)
{
	if (j && j->fd >= 0 && fsync(j->fd) < 0)
		return err_set(e, "%s: fsync: %s", j->path, strerror(errno));
	return 0;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		struct err e;
		journal_sync(j, &e); /* best effort: the caller is shutting down */
		close(j->fd);
	}
	free(j->v);
	free(j->path);
	free(j);
}

int journal_add(struct journal *j, const char *model, const struct llm_usage *u, double cost_usd,
                struct err *e)
{
	if (j->ro)
		return err_set(e, "%s: the spend journal is open read-only", j->path);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", model ? model : "");
	cJSON_AddNumberToObject(o, "in", (double)u->in);
	cJSON_AddNumberToObject(o, "out", (double)u->out);
	cJSON_AddNumberToObject(o, "cost_usd", cost_usd);
	cJSON_AddBoolToObject(o, "estimated", u->estimated);
	cJSON_AddNumberToObject(o, "at", (double)time(NULL));
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (j->fd < 0 && (j->fd = file_open_append(j->path, e)) < 0) {
		free(json);
		return -1;
	}
	struct sbuf line = {0};
	if (j->need_newline)
		sbuf_addc(&line, '\n');
	sbuf_adds(&line, json);
	sbuf_addc(&line, '\n');
	free(json);
	int rc = 0;
	if (file_write_all(j->fd, line.s, line.len) < 0) {
		rc = err_set(e, "%s: cannot append to the spend journal: %s", j->path,
		             strerror(errno));
	} else {
		j->need_newline = false;
		push(j, u->in, u->out, cost_usd);
	}
	sbuf_free(&line);
	return rc;
}

long journal_count(const struct journal *j)
{
	return j ? (long)j->n : 0;
}

void journal_sum_from(const struct journal *j, long from, struct llm_stats *s)
{
	*s = (struct llm_stats){0};
	for (size_t i = from > 0 ? (size_t)from : 0; j && i < j->loaded; i++) {
		s->done++;
		s->tokens_in += j->v[i].in;
		s->tokens_out += j->v[i].out;
		s->cost_usd += j->v[i].cost;
	}
}

long journal_skipped(const struct journal *j)
{
	return j ? j->skipped : 0;
}

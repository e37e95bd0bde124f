/* export.c: --export and :export.  Owns the prompts.json bundle (its format is documented in
 * adopt-tui-session(5): keep the two together) and the per-step files beside it.  Every file is
 * replaced atomically and never through a symbolic link (core/fileio.h), so a link planted in
 * the target directory cannot redirect a write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/termsafe.h"
#include "export.h"
#include "history.h"

#define EXPORT_FORMAT  "adopt-prompts"
#define EXPORT_VERSION 1

/* A step id as a file name: letters, digits, '.', '-' and '_' kept, anything else '_', and no
 * leading dot (a step "../x" becomes "_.._x"). */
static char *file_stem(const char *id)
{
	char *f = xstrdup(id);
	for (char *p = f; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_' && (*p != '.' || p == f))
			*p = '_';
	return f;
}

static cJSON *score_json(double v)
{
	return v >= 0 ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *demos_json(const struct step *st)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t k = 0; k < st->n_demos; k++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "input", st->demos[k].input);
		cJSON_AddStringToObject(d, "output", st->demos[k].output);
		cJSON_AddItemToArray(a, d);
	}
	return a;
}

cJSON *export_bundle(const struct engine *en, bool scripted)
{
	const struct session *s = engine_session(en);
	char date[32];
	history_now_utc(date, sizeof date);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "format", EXPORT_FORMAT);
	cJSON_AddNumberToObject(r, "version", EXPORT_VERSION);
	cJSON_AddStringToObject(r, "session", s->name);
	cJSON_AddStringToObject(r, "date", date);
	cJSON_AddBoolToObject(r, "scripted_model", scripted);
	cJSON_AddNumberToObject(r, "iterations", (double)engine_iterations(en));
	cJSON_AddItemToObject(r, "validation_score", score_json(engine_val_score(en)));
	cJSON *steps = cJSON_AddObjectToObject(r, "steps");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind != STEP_LLM)
			continue;
		const struct prompt_version *pv = history_version(en, (int)i);
		cJSON *j = cJSON_AddObjectToObject(steps, st->id);
		char *stem = file_stem(st->id);
		char *file = xasprintf("%s.txt", stem);
		cJSON_AddStringToObject(j, "file", file);
		free(file);
		free(stem);
		cJSON_AddStringToObject(j, "model",
		                        st->model_cfg ? st->model_cfg->model : st->model);
		if (st->system)
			cJSON_AddStringToObject(j, "system", template_text(st->system));
		cJSON_AddStringToObject(j, "prompt", st->prompt);
		cJSON_AddItemToObject(j, "demos", demos_json(st));
		cJSON_AddNumberToObject(j, "version", pv ? pv->version : 1);
		cJSON_AddItemToObject(j, "validation_score", score_json(pv ? pv->score : -1));
		cJSON_AddBoolToObject(j, "frozen", st->frozen);
	}
	return r;
}

static int write_file(const char *dir, const char *name, const char *text, struct err *e)
{
	char *path = path_join(dir, name);
	int rc = file_write_atomic(path, text, strlen(text), e);
	free(path);
	return rc;
}

static int make_dir(const char *dir, struct err *e)
{
	struct stat sb;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return err_set(e, "%s: cannot create the directory: %s", dir, strerror(errno));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return err_set(e, "%s: not a directory", dir);
	return 0;
}

int export_write(const struct engine *en, bool scripted, const char *dir, int *n, struct err *e)
{
	*n = 0;
	if (make_dir(dir, e) < 0)
		return -1;
	const struct session *s = engine_session(en);
	cJSON *b = export_bundle(en, scripted);
	int rc = 0;
	/* two ids may share a file name once unsafe characters are replaced: refuse, lose nothing
	 */
	const cJSON *a, *c;
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(b, "steps")) for (
	    c = a->next; c;
	    c = c->next) if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "file")),
	                             cJSON_GetStringValue(cJSON_GetObjectItem(c, "file")))) rc =
	    err_set(e, "steps \"%s\" and \"%s\" would both be written to %s", a->string, c->string,
	            cJSON_GetStringValue(cJSON_GetObjectItem(a, "file")));
	for (size_t i = 0; i < s->n_steps && rc == 0; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind != STEP_LLM)
			continue;
		const cJSON *j = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "steps"), st->id);
		const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(j, "file"));
		rc = write_file(dir, file, st->prompt, e);
		*n += rc == 0;
		if (rc == 0 && st->n_demos) {
			cJSON *d = demos_json(st);
			char *text = cJSON_Print(d);
			char *name = xasprintf("%.*s.demos.json", (int)(strlen(file) - 4), file);
			char *line = xasprintf("%s\n", text);
			rc = write_file(dir, name, line, e);
			*n += rc == 0;
			free(line);
			free(name);
			cJSON_free(text);
			cJSON_Delete(d);
		}
	}
	if (rc == 0) {
		char *text = cJSON_Print(b);
		char *line = xasprintf("%s\n", text);
		rc = write_file(dir, "prompts.json", line, e);
		*n += rc == 0;
		free(line);
		cJSON_free(text);
	}
	cJSON_Delete(b);
	return rc;
}

int export_main(const struct front_opts *o)
{
	struct history h;
	int rc = history_open(&h, o);
	if (rc == 0 && strcmp(o->export_dir, "-") == 0) {
		cJSON *b = export_bundle(h.en, h.scripted);
		term_json_doc(stdout, b);
		cJSON_Delete(b);
	} else if (rc == 0) {
		struct err e = {{0}};
		int n;
		if (export_write(h.en, h.scripted, o->export_dir, &n, &e) < 0) {
			term_printf(stderr, "adopt-tui: %s\n", e.msg);
			rc = ADOPT_EXIT_FAILED;
		} else {
			term_printf(stderr, "%s: %d files written to %s%s\n", h.s->name, n,
			            o->export_dir, h.scripted ? "  [scripted model]" : "");
		}
	}
	history_close(&h);
	return rc;
}

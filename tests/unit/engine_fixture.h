/* engine_fixture.h: shared by test_run.c and test_engine.c.  Copies a fixture directory (the
 * scripted sessions of tests/data/engine, or an example) into a fresh temporary directory,
 * patches session files there, loads them, and drives the LLM layer.  Include after cmocka.h.
 * Everything is static inline so a test that uses part of it does not warn. */
#ifndef ADOPT_ENGINE_FIXTURE_H
#define ADOPT_ENGINE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "llm/llm.h"

#define FX_DATA "tests/data/engine"

struct fx {
	char dir[64];
};

static inline char *fx_path(const struct fx *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

/* A plain write: file_write_atomic fsyncs, which makes a test wait on the disk. */
static inline void fx_write(const char *path, const char *data, size_t n)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* A fresh temporary directory holding a copy of every regular file of src. */
static inline void fx_init(struct fx *f, const char *src)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/adopt-engine-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	DIR *d = opendir(src);
	if (!d)
		fail_msg("cannot open %s (run the tests from the repository root)", src);
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *from = xasprintf("%s/%s", src, de->d_name);
		struct stat st;
		if (stat(from, &st) == 0 && S_ISREG(st.st_mode)) {
			struct err e = {{0}};
			size_t n;
			char *text = NULL;
			assert_int_equal(file_read(from, 1 << 22, &text, &n, &e), 0);
			char *to = fx_path(f, de->d_name);
			fx_write(to, text, n);
			free(to);
			free(text);
		}
		free(from);
	}
	closedir(d);
}

static inline void fx_done(struct fx *f)
{
	DIR *d = opendir(f->dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *p = fx_path(f, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(f->dir);
}

/* A scripted-model rule: `match` answered with `reply`, or in turn with replies[0..3). */
static inline cJSON *fx_rule(const char *match, const char *reply, const char *const *replies)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "match", match);
	if (reply)
		cJSON_AddStringToObject(r, "reply", reply);
	else
		cJSON_AddItemToObject(r, "replies", cJSON_CreateStringArray(replies, 3));
	return r;
}

/* Writes j as file `name` of the fixture and frees it. */
static inline void fx_write_json(const struct fx *f, const char *name, cJSON *j)
{
	char *p = fx_path(f, name), *text = cJSON_Print(j);
	fx_write(p, text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(j);
	free(p);
}

/* Sets the value at a dotted path ("optimizer.val_size", "pipeline.steps.0.frozen") of a JSON
 * file in the fixture directory; takes ownership of val. */
static inline void fx_patch(const struct fx *f, const char *file, const char *path, cJSON *val)
{
	char *p = fx_path(f, file);
	struct err e = {{0}};
	size_t n;
	char *text = NULL;
	assert_int_equal(file_read(p, 1 << 22, &text, &n, &e), 0);
	cJSON *root = cJSON_Parse(text);
	assert_non_null(root);
	free(text);
	char *copy = xstrdup(path), *save = NULL, *key = strtok_r(copy, ".", &save);
	cJSON *node = root;
	for (char *next; (next = strtok_r(NULL, ".", &save)); key = next) {
		node = key[0] >= '0' && key[0] <= '9' ? cJSON_GetArrayItem(node, atoi(key))
		                                      : cJSON_GetObjectItemCaseSensitive(node, key);
		assert_non_null(node);
	}
	if (cJSON_IsArray(node))
		cJSON_ReplaceItemInArray(node, atoi(key), val);
	else if (cJSON_HasObjectItem(node, key))
		cJSON_ReplaceItemInObjectCaseSensitive(node, key, val);
	else
		cJSON_AddItemToObject(node, key, val);
	free(copy);
	char *out = cJSON_Print(root);
	fx_write(p, out, strlen(out));
	cJSON_free(out);
	cJSON_Delete(root);
	free(p);
}

/* Points both model configurations ("task", "optimizer") of a session file at the test LLM
 * server on port (its scripted rules answer as model "scripted-m"). */
static inline void fx_patch_server(const struct fx *f, const char *file, int port)
{
	char *url = xasprintf("http://127.0.0.1:%d/v1", port);
	const char *const models[] = {"task", "optimizer"};
	for (int i = 0; i < 2; i++) {
		const char *const keys[][2] = {{"provider", "openai"},
		                               {"base_url", url},
		                               {"model", "scripted-m"},
		                               {"api_key_env", "ADOPT_TEST_LLM_API_KEY"}};
		for (size_t k = 0; k < 4; k++) {
			char *path = xasprintf("models.%s.%s", models[i], keys[k][0]);
			fx_patch(f, file, path, cJSON_CreateString(keys[k][1]));
			free(path);
		}
	}
	free(url);
}

static inline struct session *fx_load(const struct fx *f, const char *file)
{
	char *p = fx_path(f, file);
	struct diag d = {0};
	struct session *s = session_load(p, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		print_error("%s\n", d.msgs[i]);
	diag_free(&d);
	free(p);
	assert_non_null(s);
	return s;
}

/* An LLM layer with a cache file in the fixture directory (NULL name: no cache). */
static inline struct llm *fx_llm(const struct fx *f, const char *cache)
{
	char *p = cache ? fx_path(f, cache) : NULL;
	struct llm_options o = {.cache_path = p, .no_cache = !cache, .seed = 1};
	struct err e = {{0}};
	struct llm *l = llm_new(&o, &e);
	if (!l)
		fail_msg("llm_new: %s", e.msg);
	free(p);
	return l;
}

/* The front end's loop: waits for replies and polls until the engine stops by itself, then
 * polls once more (which frees finished batches). */
static inline void fx_drive(struct engine *en, struct llm *l)
{
	for (int i = 0; i < 100000 && engine_running(en); i++) {
		if (engine_busy(en))
			assert_true(llm_wait(l, NULL, 0, 100) >= 0);
		engine_poll(en);
	}
	assert_false(engine_running(en));
	engine_poll(en);
}

#endif

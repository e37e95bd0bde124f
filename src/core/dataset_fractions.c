/* dataset_fractions.c: one file cut into train/val/test by the dataset object's "split":
 * {"train": F, "val": F, "test": F, "seed": N}: its examples shuffled with the seed (the same
 * seed, the same splits), then cut into consecutive runs of those fractions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dataset_int.h"
#include "core/jsonnum.h"

/* The fractions of {"train": F, "val": F, "test": F, "seed": N}; -1 with e set. */
static int split_fractions(const cJSON *sp, double frac[SPLIT_COUNT], long *seed, struct err *e)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sp)
	{
		if (strcmp(it->string, "seed") != 0 && split_from_name(it->string) < 0)
			return err_set(e,
			               "dataset.split: unknown key \"%.40s\" (known: train, val, "
			               "test, seed)",
			               it->string);
	}
	double sum = 0;
	for (int i = 0; i < SPLIT_COUNT; i++) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(sp, split_names[i]);
		frac[i] = 0;
		if (f && json_real(f, 0, 1, &frac[i], e) < 0)
			return err_prefix(e, "dataset.split.%s", split_names[i]);
		sum += frac[i];
	}
	if (sum <= 0 || sum > 1 + 1e-9)
		return err_set(e,
		               "dataset.split: the fractions must add up to more than 0 and at "
		               "most 1 (they add up to %g)",
		               sum);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(sp, "seed");
	*seed = 1;
	if (s && json_long(s, 0, 4294967295.0, seed, e) < 0)
		return err_prefix(e, "dataset.split.seed");
	return 0;
}

int dataset_load_fractions(struct dataset *d, const cJSON *ds, const char *dir, struct err *e)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(ds, "path");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(ds, "key");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(ds, "split");
	double frac[SPLIT_COUNT];
	long seed;
	if (!cJSON_IsString(path) || !path->valuestring[0])
		return err_set(e, "dataset.path must name the JSONL or JSON file to split");
	if (key && (!cJSON_IsString(key) || !key->valuestring[0]))
		return err_set(e, "dataset.key must name the member that holds the examples");
	if (!cJSON_IsObject(sp))
		return err_set(e, "dataset.split must be an object like {\"train\": 0.6, \"val\": "
		                  "0.2, \"test\": 0.2, \"seed\": 1}");
	if (split_fractions(sp, frac, &seed, e) < 0)
		return -1;
	char *full = path_join(dir, path->valuestring);
	struct split all = d->splits[SPLIT_TRAIN];
	d->splits[SPLIT_TRAIN] = (struct split){0};
	int rc = dataset_load_file(d, SPLIT_TRAIN, full, key ? key->valuestring : NULL, e);
	struct split got = d->splits[SPLIT_TRAIN];
	d->splits[SPLIT_TRAIN] = all;
	if (rc < 0) {
		free(got.ex);
		free(full);
		return -1;
	}
	/* a generated id names the example's place in the file, not a split it may not be in */
	for (size_t i = 0; i < got.n; i++) {
		char gen[48], buf[48];
		snprintf(gen, sizeof gen, "%s-%zu", split_names[SPLIT_TRAIN], i + 1);
		snprintf(buf, sizeof buf, "ex-%zu", i + 1);
		if (strcmp(got.ex[i].id, gen) == 0)
			got.ex[i].id = arena_strdup(&d->arena, buf);
	}
	/* a seeded Fisher-Yates shuffle, then consecutive runs of it for train, val and test */
	struct rng r;
	rng_seed(&r, (uint64_t)seed);
	for (size_t i = got.n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		struct example t = got.ex[i - 1];
		got.ex[i - 1] = got.ex[j];
		got.ex[j] = t;
	}
	size_t at = 0;
	for (int i = 0; i < SPLIT_COUNT; i++) {
		size_t want = (size_t)(frac[i] * (double)got.n + 0.5);
		want = MIN(want, got.n - at);
		struct split *s = &d->splits[i];
		for (size_t k = 0; k < want; k++) {
			s->ex = xgrow(s->ex, &s->cap, s->n + 1, sizeof *s->ex);
			s->ex[s->n++] = got.ex[at++];
		}
		free(s->source);
		s->source = xstrdup(full);
	}
	free(got.ex);
	free(full);
	return 0;
}

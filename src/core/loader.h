/* loader.h: shared state and helpers of the session loader (loader.c; used by session.c and
 * pipeline.c, which do not include each other).
 * Internal to src/core: not for the engine or the UI. */
#ifndef ADOPT_LOADER_H
#define ADOPT_LOADER_H

#include "core/session.h"

struct loader {
	const char *file; /* for messages */
	const char *text; /* the file's text, for positions */
	size_t len;
	struct diag *d;
	struct session *s;
	int errors;
	size_t inline_span[SPLIT_COUNT][2]; /* bytes of each inline split array in text, or 0, 0 */
	const char *bad_json; /* invalid JSON found in an inline example (reported alone) */
};

/* Reports a problem at the JSON path (e.g. "pipeline.steps[2].prompt"), or at 1:1 when NULL. */
void load_problem(struct loader *L, const char *path, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* The same as a warning (the session's warnings list), not an error. */
void load_warning(struct loader *L, const char *path, const char *fmt, ...) PRINTF_LIKE(3, 4);
const cJSON *load_get(struct loader *L, const cJSON *obj, const char *path, const char *key,
                      int type_mask, const char *want);
char *load_string(struct loader *L, const cJSON *obj, const char *path, const char *key,
                  const char *def);
double load_number(struct loader *L, const cJSON *obj, const char *path, const char *key,
                   double def, double lo, double hi);
/* A whole number within [lo, hi] (within +-2^53), or def; problems reported. */
long load_int(struct loader *L, const cJSON *obj, const char *path, const char *key, long def,
              double lo, double hi);
bool load_bool(struct loader *L, const cJSON *obj, const char *path, const char *key, bool def);

void load_pipeline(struct loader *L, struct session *s);
void pipeline_free(struct session *s);

extern const char *const pipeline_keys[];
extern const char *const step_keys[];
extern const char *const loop_keys[];

#endif

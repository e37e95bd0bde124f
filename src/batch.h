/* batch.h: the headless front end (check, eval, run) and the entry to the workbench. */
#ifndef ADOPT_BATCH_H
#define ADOPT_BATCH_H

#include <stdbool.h>

#define BATCH_MAX_MODEL_OVERRIDES 16

struct batch_opts {
	const char *session;
	const char *split; /* eval */
	long limit;        /* eval: -1 all */
	int iterations;    /* run */
	bool json, trust, offline, no_cache;
	const char *provider, *base_url;
	const char *models[BATCH_MAX_MODEL_OVERRIDES]; /* "NAME" or "CFG=NAME" */
	int n_models;
};

int batch_check(const struct batch_opts *o);
int batch_eval(const struct batch_opts *o);
int batch_run(const struct batch_opts *o);
int batch_tui(const struct batch_opts *o);

#endif

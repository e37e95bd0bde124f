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
	double min_score;  /* eval, run: exit BATCH_EXIT_SCORE below it; < 0: no gate */
	bool json, trust, offline, no_cache;
	bool read_only; /* take no lock, save nothing (--read-only, --eval) */
	const char *provider, *base_url;
	const char *models[BATCH_MAX_MODEL_OVERRIDES]; /* "NAME" or "CFG=NAME" */
	int n_models;
	const char *export_dir;  /* --export DIR, "-": the bundle to stdout */
	const char *report_path; /* --report FILE.html|FILE.md */
	const char *compare_a;   /* --compare A (B is session) */
	bool final_test;         /* --run: the test score of the final prompts (final_test.h) */
};

/* What every front end opens: the session (with the command line's model overrides, every model
 * configuration checked) and the LLM layer with its cache beside the session file. */
struct batch_env {
	struct session *s;
	struct llm *llm;
	char *cache_path;
	bool scripted; /* some step uses the scripted stand-in */
	struct session_lock *lock; /* a writer's lock on the session file (core/lock.h) */
};
/* Problems are printed to stderr; returns 0, or the exit status (2 invalid session, 1 other).
 * Close the environment with batch_env_close whatever it returned. */
int batch_prepare(const struct batch_opts *o, struct batch_env *env);
void batch_env_close(struct batch_env *env);

/* Exit statuses of the headless modes (documented in adopt-tui(1)). */
enum {
	BATCH_EXIT_OK = 0,
	BATCH_EXIT_FAILED = 1,   /* a request failed for good, or another runtime failure */
	BATCH_EXIT_INVALID = 2,  /* usage error or invalid session */
	BATCH_EXIT_SCORE = 4,    /* the score is below --min-score */
	BATCH_EXIT_INTERRUPTED = 130,
};

int batch_check(const struct batch_opts *o);
int batch_eval(const struct batch_opts *o);
int batch_run(const struct batch_opts *o);
int batch_tui(const struct batch_opts *o);

#endif

/* frontend.h: what both front ends share: the command line's options, the exit statuses, and
 * the environment every front end opens first (frontend.c).  main.c picks the front end: the
 * workbench (tui/tui.h) or a headless mode (batch.h); neither includes the other. */
#ifndef ADOPT_FRONTEND_H
#define ADOPT_FRONTEND_H

#include <stdbool.h>

#define FRONT_MAX_MODEL_OVERRIDES 16

struct front_opts {
	const char *session;
	const char *split; /* eval */
	long limit;        /* eval: -1 all */
	int iterations;    /* run */
	double min_score;  /* eval, run: exit ADOPT_EXIT_SCORE below it; < 0: no gate */
	bool json, trust, offline, no_cache;
	bool read_only; /* take no lock, save nothing (--read-only, --eval) */
	const char *provider, *base_url;
	const char *models[FRONT_MAX_MODEL_OVERRIDES]; /* "NAME" or "CFG=NAME" */
	int n_models;
	const char *export_dir;  /* --export DIR, "-": the bundle to stdout (export.h) */
	const char *report_path; /* --report FILE.html|FILE.md (report.h) */
	const char *compare_a;   /* --compare A (B is session; compare.h) */
	bool final_test;         /* --run: the test score of the final prompts (final_test.h) */
	bool dry_run;            /* --run: print the projected cost, spend nothing */
	int patience;          /* --run: stop after this many iterations without gain (0: never) */
	const char *ablations; /* --run --compare-ablations[=LIST] ("": the default list) */
};

/* Exit statuses of the program (documented in adopt-tui(1)). */
enum {
	ADOPT_EXIT_OK = 0,
	ADOPT_EXIT_FAILED = 1,  /* a request failed for good, or another runtime failure */
	ADOPT_EXIT_INVALID = 2, /* usage error or invalid session */
	ADOPT_EXIT_SCORE = 4,   /* the score is below --min-score */
	ADOPT_EXIT_INTERRUPTED = 130,
};

struct session;
struct llm;
struct session_lock;

/* What every front end opens: the session (with the command line's model overrides, every model
 * configuration checked) and the LLM layer with its cache beside the session file. */
struct front_env {
	struct session *s;
	struct llm *llm;
	char *cache_path;
	bool scripted;             /* some step uses the scripted stand-in */
	struct session_lock *lock; /* a writer's lock on the session file (core/lock.h) */
	long cache_skipped;        /* corrupt cache lines known when it was opened */
};
/* Problems are printed to stderr; returns 0, or the exit status (ADOPT_EXIT_INVALID for an
 * invalid session, ADOPT_EXIT_FAILED for others).  Close with front_close whatever it returned. */
int front_open(const struct front_opts *o, struct front_env *env);
/* Warns on stderr when cache lines proved corrupt as they were read (after the open's warning). */
void front_close(struct front_env *env);

/* The session alone, its problems printed (file:line:col: message); NULL when invalid. */
struct session *front_load(const struct front_opts *o);
/* NAME.json -> NAME<suffix>, beside the session: the response cache and the spend journal.
 * Caller frees. */
char *front_path_beside(const char *session, const char *suffix);

#endif

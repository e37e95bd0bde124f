/* session.h: the adopt-session file in memory: model configurations, the pipeline (steps, loops,
 * topological order), the dataset, the metric and the optimizer settings, plus the JSON tree it
 * came from so that saving keeps every key this version does not understand.
 *
 * Ownership: a session owns everything reachable from it; session_free() releases it all. */
#ifndef ADOPT_SESSION_H
#define ADOPT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/dataset.h"
#include "core/model.h"
#include "core/template.h"
#include "core/util.h"

struct bm25;
struct metric;
struct rx;

#define SESSION_FORMAT  "adopt-session"
#define SESSION_VERSION 1

/* A table of step kinds; the loader and the runner index it by enum step_kind. */
#define STEP_KINDS(X)                                                                              \
	X(LLM, "llm", "a prompt sent to a model")                                                  \
	X(TEMPLATE, "template", "text assembled from a template")                                  \
	X(REGEX, "regex", "a PCRE2 extract or substitute")                                         \
	X(RETRIEVE, "retrieve", "top-k passages (BM25 or a server)")                               \
	X(EXEC, "exec", "an external command (needs --trust)")

enum step_kind {
#define X(id, name, help) STEP_##id,
	STEP_KINDS(X)
#undef X
	    STEP_KIND_COUNT
};
const char *step_kind_name(enum step_kind k);

struct demo {
	char *input;
	char *output;
};

struct step_input {
	char *name; /* used in the template as {{name}} */
	char *path; /* dotted path it stands for: "input.question", "steps.retrieve.output" */
};

struct step {
	char *id;
	enum step_kind kind;
	int index;   /* position in session->steps (file order) */
	int loop;    /* index in session->loops, or -1 */
	bool frozen; /* runs and is traced, never optimized */
	cJSON *json; /* this step's node in session->root */

	struct step_input *inputs;
	size_t n_inputs;
	int *deps; /* indices of steps this one reads (derived from its templates) */
	size_t n_deps;

	/* llm */
	char *model; /* model configuration name */
	const struct model_config *model_cfg;
	struct template *system; /* optional system message */
	char *prompt;            /* the learnable prompt template, current version */
	struct template *prompt_tpl;
	struct demo *demos;
	size_t n_demos;
	struct rx *parse_rx; /* optional output parser */
	int parse_group;

	/* template / regex source / retrieve query / exec stdin */
	struct template *text;
	/* regex */
	struct rx *rx;
	char *replace; /* NULL: extract */
	int group;
	bool global; /* substitute every match / extract every match as a list */
	/* retrieve */
	char *corpus;      /* resolved path, or NULL when passages come from the example */
	struct bm25 *bm25; /* over the corpus, built at load */
	char **corpus_docs;
	size_t n_corpus_docs;
	char *passages; /* per-example passages: a dotted path to a list, e.g. "input.context" */
	char *url;      /* a retrieval server (llm.h, llm_retrieve), asked by the runner */
	int k;
	int concurrency;  /* with url: its requests in flight at once, the same for every step that
	                   * asks that url (0: the LLM layer's default) */
	double timeout_s; /* with url: the time one request may take (0: the default) */
	/* exec */
	char **argv; /* NULL-terminated */
	int timeout_ms;
};

struct loop {
	char *id;
	int *steps; /* step indices in round order */
	size_t n_steps;
	int max_rounds;
	int until_step;   /* step whose output is tested, or -1 */
	struct rx *until; /* stop when it matches, or NULL */
	cJSON *json;
};

/* One unit of the execution order: a single step or a whole loop. */
struct order_item {
	int step; /* >= 0: a step outside loops */
	int loop; /* >= 0: a loop (its steps run in loop->steps order for each round) */
};

/* The paper's ablations (Tables 4-5), optimizer.ablate: each a key whose first value is what
 * ADOPT does and whose second switches that part off. */
enum { ABLATE_ALLOCATION, ABLATE_GRADIENT, ABLATE_SELECTION, ABLATE_COUNT };
enum { ALLOC_SHAPLEY, ALLOC_UNIFORM };         /* budgets from Shapley credit / equal */
enum { GRADIENT_DECOMPOSED, GRADIENT_GLOBAL }; /* E2+E5 local gradients / the global one */
enum { SELECT_SEARCH, SELECT_PER_STEP };       /* combination search / each step alone */
struct ablate_option {
	const char *key;
	const char *values[2];
};
extern const struct ablate_option ablate_options[ABLATE_COUNT];
/* Sets ablate[k] from "key" and "value"; -1 (e names what is known) when either is unknown. */
int ablate_set(int *ablate, const char *key, const char *value, struct err *e);

/* optimizer.screen_size (0: off) left unset (SCREEN_AUTO): screening on SCREEN_SIZE_DEFAULT
 * examples when the validation sample holds at least SCREEN_SIZE_FROM (3 x 30: the smallest that
 * screens) */
#define SCREEN_AUTO         (-1)
#define SCREEN_SIZE_DEFAULT 30
#define SCREEN_SIZE_FROM    90

struct optimizer_settings {
	unsigned long seed;
	int batch_size;     /* forward pass examples (paper: 50) */
	int minibatch_good; /* good cases shown to the roles (paper: 5) */
	int minibatch_bad;  /* bad cases analysed (paper: 5) */
	int val_size;       /* validation sample for selection */
	bool val_resample;  /* a fresh sample each iteration (else one per session seed) */
	bool steady_stop;   /* the search may stop before eval_budget (phases_search.c) */
	bool overlap;       /* runs of whole iterations start work as soon as its inputs exist */
	int budget_total;   /* candidates per iteration over all steps */
	int budget_floor;   /* per step minimum */
	int eval_budget;    /* configurations evaluated per iteration */
	int screen_size;    /* selection screens on this many validation examples first (0: off) */
	char *step_optimizer; /* "instruct", "joint", ... */
	char *role_model;     /* model configuration for the analysis roles */
	double cost_cap_usd;  /* 0: none */
	long token_cap;       /* 0: none */
	int max_demos;
	cJSON *roles;             /* role prompt overrides: name -> template text (borrowed) */
	int ablate[ABLATE_COUNT]; /* "ablate": index into ablate_options[k].values, 0 the paper's */
};

/* Diagnostics: every problem found, each "file:line:col: message". */
struct diag {
	char **msgs;
	size_t n, cap;
};
void diag_add(struct diag *d, const char *fmt, ...) PRINTF_LIKE(2, 3);
void diag_free(struct diag *d);

struct session {
	char *path;      /* as given */
	char *save_path; /* where a save to `path` goes: the target when path is a symbolic link,
	                  * resolved once at load (never silently replacing the link) */
	char *dir;       /* directory of the file, for relative paths */
	char *name;
	cJSON *root;       /* the whole document; unknown keys survive a save */
	char *inline_text; /* inline dataset arrays, NUL-separated: root's raw nodes point here */
	char *text;        /* the file's text, kept for error positions until load finishes */
	/* the file as last read or written, to notice another program's save before ours */
	struct {
		char *path; /* NULL: unknown */
		long long mtime_ns;
		long long size;
		uint64_t hash;
	} disk;
	bool overwrite_once; /* the next save may replace a file changed on disk (asked) */

	struct model_config *models;
	size_t n_models;
	struct step *steps;
	size_t n_steps;
	struct loop *loops;
	size_t n_loops;
	struct order_item *order;
	size_t n_order;
	int output_step; /* the step whose output is the prediction */

	struct dataset data;
	struct metric *metric;
	struct optimizer_settings opt;
	struct diag warnings; /* suspect but usable things found on loading (for --check) */
	struct {
		int pid; /* > 0: a save is being written by this child process */
		int fd;  /* the read end of its report pipe */
		char *path;
		int exiting; /* > 0: a writer that has reported, not reaped yet */
	} bg;                /* session_save_start's save in the background */
};

struct session_load_opts {
	size_t max_bytes; /* default 256 MiB */
};

/* Loads and validates completely. NULL when any problem was found (all of them in d).
 * Removes the temp files of saves killed half-way (of processes no longer running). */
struct session *session_load(const char *path, const struct session_load_opts *opts,
                             struct diag *d);
void session_free(struct session *s);

/* Writes the session (its tree, updated from the model) atomically to path (to save_path when
 * path is the path it was loaded from; another path that is a symbolic link is refused).
 * Refuses (-1, a message, nothing written) when path is the file the session was read from or
 * last saved to and another program changed it since, unless session_overwrite_once was
 * called.  Writes nothing (and so spends no fsync) when that file, untouched since, already
 * holds exactly the bytes the save would write. */
int session_save(struct session *s, const char *path, struct err *e);
/* The same save without blocking the caller's loop: session_save_start checks here only for a
 * change on disk, then forks.  The child process calls fill(arg) (to bring the tree up to date,
 * e.g. with the engine's record; may be NULL), updates the tree from the model, prints it and
 * writes it exactly as session_save would (an atomic replacement, or nothing when the file
 * already holds those bytes), reports on a pipe and exits; what fill changed stays in the
 * child.  It ignores the signals a terminal or a quitting workbench sends, so a killed
 * workbench's last save still lands.  Whoever is killed when, the file is the previous save or
 * this one, whole (a temp file left by a killed child is removed by the next load).  One save at
 * a time: -1 (e says so) while one runs.  The caller may change the session meanwhile. */
typedef void session_fill_fn(void *arg);
int session_save_start(struct session *s, const char *path, session_fill_fn *fill, void *arg,
                       struct err *e);
/* The descriptor that becomes readable when the running save has ended; -1 when none runs. */
int session_save_fd(const struct session *s);
/* The running save's outcome: 1 while it runs (only without wait), 0 saved (or none ran), -1
 * failed (e says why; the file is as it was before).  With wait, blocks until it has ended. */
int session_save_finish(struct session *s, bool wait, struct err *e);
/* 1 when the file at path is the session's own and changed on disk since it was read or saved
 * (mtime, size, then content hash), else 0. */
int session_disk_changed(const struct session *s, const char *path);
/* Lets the next save replace the changed file (after the user said so). */
void session_overwrite_once(struct session *s);
/* Before saving to new_path in another directory: rewrites the relative paths the file names
 * (dataset splits, retrieve corpora, scripted rules) relative to new_path's directory; the
 * session's directory becomes that one. */
int session_rebase_paths(struct session *s, const char *new_path, struct err *e);
/* Copies the in-memory prompts and demos back into the JSON tree (session_save calls it). */
void session_sync_json(struct session *s);

struct step *session_step(const struct session *s, const char *id);
int session_step_index(const struct session *s, const char *id);
/* How many steps have a prompt the optimizer may change (llm steps that are not frozen). */
size_t session_learnable_steps(const struct session *s);
const struct model_config *session_model(const struct session *s, const char *name);

/* Command-line overrides for this run only (never written back by a save): provider and base URL
 * of every configuration, and model names ("NAME" for all, "CFG=NAME" for one). */
int session_override_models(struct session *s, const char *provider, const char *base_url,
                            const char *const *models, int n, struct err *e);

/* Replaces (or adds) a top-level section such as "history" or "state"; takes ownership. */
void session_set_section(struct session *s, const char *key, cJSON *value);
cJSON *session_section(const struct session *s, const char *key);

/* Every key the loader accepts, per object, for the man page test. */
struct session_keyset {
	const char *object;
	const char *const *keys;
};
extern const struct session_keyset session_keysets[];

/* The fields of the engine's record ("history", "state") that are not of their kind (a score
 * that is not a number, evaluations that are not a list): bad(arg, path, msg) for each, path in
 * jsonpos.h syntax ("history.iterations[2].evaluations[3].score"), msg "not a number" and the
 * like.  Loading reports them as warnings; the engine notes them on reopening.  Returns how
 * many. */
int session_record_damage(const struct session *s,
                          void (*bad)(void *arg, const char *path, const char *msg), void *arg);

#endif

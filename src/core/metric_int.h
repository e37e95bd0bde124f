/* metric_int.h: what the metric files share (metric.c: the table, reading the "metric" object,
 * the text and number metrics; metric_choice.c: choice; metric_judge.c: llm_judge): the type
 * record, the parsed metric, the option readers and each split-out type's entries. */
#ifndef ADOPT_METRIC_INT_H
#define ADOPT_METRIC_INT_H

#include "core/metric.h"
#include "core/rx.h"

struct metric_type {
	const char *name;
	double threshold;
	const char *const *keys; /* type-specific keys besides type and threshold */
	int (*parse)(struct metric *m, const cJSON *j, struct err *e);
	/* One gold (NULL when the metric needs none); NULL scorer: llm_judge. */
	int (*score)(const struct metric *m, const char *pred, const char *gold, double *out,
	             struct err *e);
	const char *what; /* what the score rewards, for the roles and reports */
};

struct metric {
	const struct metric_type *type;
	double threshold;
	bool gold_free; /* regex with "pattern": golds are not consulted */
	/* regex: "pattern"; numeric, one_minus_mae: a number; choice: the labels;
	 * llm_judge: score_pattern */
	struct rx *rx;
	struct rx *rx_bare, *rx_marker, *rx_paren; /* choice by option letter */
	struct rx *rx_answer;                      /* choice: "answer is" */
	bool caseless;
	bool strict; /* exact_match, f1, contains with "normalize": false */
	double abs_tol, rel_tol;
	double lo, hi; /* one_minus_mae scale */
	char **labels; /* choice: the canonical labels */
	size_t nlabels;
	size_t *alt_label; /* choice: group g + 1 of rx is an alternative of labels[alt_label[g]] */
	size_t nalts;
	char *model, *rubric, *score_pattern;
	struct metric_judge judge;
};

/* Option readers: absent keeps the default, present must have the right type. */
int metric_opt_number(const cJSON *j, const char *key, double lo, double hi, const char *what,
                      double *out, struct err *e);
int metric_opt_bool(const cJSON *j, const char *key, bool *out, struct err *e);
/* *out stays NULL when the key is absent (and not required). */
int metric_opt_string(const cJSON *j, const char *key, bool required, const char *what, char **out,
                      struct err *e);
double metric_clamp01(double v);

/* choice (metric_choice.c) */
extern const char *const metric_choice_keys[];
int metric_parse_choice(struct metric *m, const cJSON *j, struct err *e);
int metric_score_choice(const struct metric *m, const char *pred, const char *gold, double *out,
                        struct err *e);
/* llm_judge (metric_judge.c) */
extern const char *const metric_judge_keys[];
int metric_parse_judge(struct metric *m, const cJSON *j, struct err *e);

#endif

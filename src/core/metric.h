/* metric.h: how a pipeline's final output is scored against the gold answers, in [0, 1].
 *
 * A session names one metric, e.g. "metric": {"type": "f1", "threshold": 0.5}.  Types:
 *   exact_match, f1   the official SQuAD v1.1 evaluation script, code point for code point
 *                     ("normalize": false compares the whitespace-separated text as it is)
 *   hotpot_em, hotpot_f1  HotpotQA's official answer metric (yes/no/noanswer must match)
 *   contains          the normalised gold occurs, as whole tokens, in the normalised prediction
 *   regex             the trimmed prediction fully matches "pattern" (or each gold as a pattern)
 *   numeric           the last number of the prediction equals the gold's last number
 *   choice            multiple choice: option letters ("(B)", "Answer: b") or a "labels" list
 *   one_minus_mae     ratings on a "scale": 1 - |prediction - gold| / (max - min)
 *   llm_judge         an LLM grades the prediction; the engine runs it (see metric_judge)
 * The man page (adopt-tui-session.5) documents each key; metric_keys lists them. */
#ifndef ADOPT_METRIC_H
#define ADOPT_METRIC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

struct metric; /* opaque, owned by the caller of metric_from_json */

/* Parses the session's "metric" object.  On error NULL, and e names the offending key
 * ("metric.threshold must be a number between 0 and 1"); the caller prefixes file:line:col. */
struct metric *metric_from_json(const cJSON *j, struct err *e);
void metric_free(struct metric *m);
/* The type name: "f1". */
const char *metric_name(const struct metric *m);
/* "f1: token overlap F1 ...; a case passes at a score of 0.5 or more" (caller frees). */
char *metric_describe(const struct metric *m);
/* Pass threshold: a score >= it counts as a good run. */
double metric_threshold(const struct metric *m);
/* llm_judge: scored by the engine through an LLM, never by metric_score. */
bool metric_is_judge(const struct metric *m);

/* Score in [0, 1] of a prediction against one or more gold answers (the max over the golds
 * that can be used).  0 on success; -1 with e set when no gold can be used (an invalid gold
 * pattern, a gold without a number for numeric, a gold that is no option for choice; the first
 * gold's problem is reported), on a regex limit hit, with no gold at all, or for llm_judge. */
int metric_score(const struct metric *m, const char *pred, const char *const *golds, size_t ngolds,
                 double *score, struct err *e);
/* Whether a gold answer can be scored, for checking a dataset when it loads: 0 fine; -1 it
 * cannot (e says why: "the gold answer \"x\" holds no number"); 1 it can but is suspect (e says
 * why: a gold that normalises to nothing, which an empty answer matches). */
int metric_check_gold(const struct metric *m, const char *gold, struct err *e);

/* llm_judge settings for the engine.  Strings are owned by the metric. */
struct metric_judge {
	const char *model;         /* model configuration name */
	const char *rubric;        /* template with {{prediction}} and (optionally) {{gold}} */
	const char *score_pattern; /* PCRE2, group 1 is the score */
	double scale_max;          /* the parsed score is divided by it, then clamped to [0, 1] */
};
/* NULL unless the metric is llm_judge. */
const struct metric_judge *metric_judge(const struct metric *m);
/* The rubric with {{prediction}} and {{gold}} filled in (several golds: one per line, each
 * after "- ").  Caller frees.  NULL unless llm_judge. */
char *metric_judge_render(const struct metric *m, const char *pred, const char *const *golds,
                          size_t ngolds);
/* Reads the judge's reply with score_pattern (the last match wins), divides by scale_max and
 * clamps to [0, 1].  -1 with e set when the reply holds no score or on a regex limit. */
int metric_judge_parse(const struct metric *m, const char *reply, double *score, struct err *e);

/* Every key metric_from_json accepts (for the man page check); NULL-terminated. */
extern const char *const metric_keys[];

/* The SQuAD v1.1 normalisation (lower, drop ASCII punctuation, drop the articles a/an/the,
 * collapse whitespace), exactly as evaluate-v1.1.py computes it on Python 3 str.  Invalid UTF-8
 * is first decoded as Python's bytes.decode("utf-8", "replace") would: every maximal ill-formed
 * subsequence becomes one U+FFFD.  Caller frees. */
char *squad_normalize(const char *s);
/* 1.0 when the normalised strings are equal, else 0.0. */
double squad_exact_match(const char *pred, const char *gold);
/* Token F1 of the normalised strings (multiset overlap); 0 when nothing is shared. */
double squad_f1(const char *pred, const char *gold);

#endif

/* trace.h: what one run of the pipeline on one example did, step by step and round by round:
 * inputs, the rendered prompt, the raw and parsed output, latency, tokens, cost and errors.
 * A trace owns all of its strings. */
#ifndef ADOPT_TRACE_H
#define ADOPT_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/dataset.h"

/* A step's output: text, and for list outputs (retrieve, regex with global) the items. */
struct step_out {
	char *text;
	char **items;
	size_t n_items;
};
void step_out_free(struct step_out *o);
void step_out_set_text(struct step_out *o, const char *text);
/* Takes ownership of items; text becomes the items one a line. */
void step_out_set_items(struct step_out *o, char **items, size_t n);

struct trace_step {
	int step;     /* index in session->steps */
	int round;    /* 1-based inside a loop, 0 outside */
	char *input;  /* the step's input variables, "name: value" one a line */
	char *prompt; /* LLM: the full rendered message(s); code: the rendered text it worked on */
	char *raw;    /* LLM: the reply as received, except that bytes that were not UTF-8 (or
	               * NUL) are U+FFFD: `replaced` says how many */
	char *reasoning; /* LLM: the model's reasoning, apart from the reply (NULL: none) */
	struct step_out out;
	char *error;     /* NULL when the step succeeded */
	bool parse_miss; /* the output parser did not match: out is the trimmed raw reply */
	char *finish;    /* LLM: the provider's finish reason ("stop", "length", ...), or NULL */
	bool cut;        /* LLM: the token limit cut the answer (finish "length", "max_tokens") */
	bool cached, memo, scripted, estimated; /* estimated: the tokens (a cut stream, ...) */
	double latency_s; /* LLM: on the wire (llm_reply.latency_s); code steps: running */
	double queued_s;  /* LLM: waiting for a slot before the first attempt */
	long tok_in, tok_out;
	long tok_cached, tok_reasoning; /* parts of tok_in (provider-cached) and tok_out */
	double cost_usd;
	long replaced; /* bytes of the reply replaced by U+FFFD (llm.h, llm_reply.replaced) */
	char key[65];  /* LLM request key (memo / cache), "" for code steps */
};

struct trace {
	enum split_id split;
	size_t example; /* index in the split */
	struct trace_step *steps;
	size_t n, cap;
	char *prediction;
	double score;
	bool good;
	bool done;
	char *error; /* first step error, or a scoring error */
};

struct trace_step *trace_add_step(struct trace *t, int step, int round);
/* The latest record of a step (highest round), or NULL. */
const struct trace_step *trace_find(const struct trace *t, int step);
/* Every record of a step in order (round 1, 2, ...): the first after `after` (NULL: from the
 * start), or NULL; and how many there are. */
const struct trace_step *trace_next(const struct trace *t, int step,
                                    const struct trace_step *after);
size_t trace_rounds(const struct trace *t, int step);
void trace_free(struct trace *t);
/* Serialise / restore (for the session's saved traces). */
cJSON *trace_to_json(const struct trace *t, const char *const *step_ids);
int trace_from_json(const cJSON *j, struct trace *t, int (*step_index)(void *, const char *),
                    void *arg);

#endif

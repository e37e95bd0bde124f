/* rules.h: the scripted model.  A rules file maps conversations to replies with PCRE2 patterns;
 * the offline `scripted` provider and the test LLM server (tests/support/) both answer from it.
 *
 * Format (JSON):
 *
 *   { "rules": [
 *       { "match": "capital of (?<country>\\w+)",   PCRE2 pattern (required)
 *         "on": "last_user",                         what the pattern is tried on (optional):
 *                                                      "last_user" (default): the last user
 *                                                        message's content;
 *                                                      "system": every system message's content,
 *                                                        joined with "\n\n";
 *                                                      "all": every message as "role: content",
 *                                                        joined with "\n\n"
 *         "flags": "i",                              optional: i caseless, m multiline, s dotall
 *         "reply": "The capital of ${country} is $1.",  the reply template, or
 *         "replies": ["one", "two"],                 several templates: the one used is chosen
 *                                                      by a hash of the whole conversation, so
 *                                                      the same request always gets the same
 *                                                      reply and different ones vary
 *         "pick": "${country}",                      optional: choose among "replies" by a hash
 *                                                      of this template's expansion instead, so
 *                                                      the reply follows what it captures (an
 *                                                      example's word) and not the rest of the
 *                                                      request: errors that follow the example
 *         "delay_ms": 0 },                           optional: how long a server should wait
 *       ... ],
 *     "fallback": "text when nothing matches" }      optional (no template expansion)
 *
 * Rules are tried in order and the first that matches wins.  A rule whose subject is absent
 * (no user message, no system message) is skipped.  Templates expand $0..$9 (one digit), ${N},
 * ${name} (named group) and $$ (a dollar sign); a group that did not take part expands to "";
 * a `$` followed by anything else is kept as is.  References to groups the pattern does not have
 * are refused when the file is loaded.  Matching runs under rx's limits: a rule whose pattern
 * hits the backtracking limit counts as not matching (the next rule is tried) rather than hang. */
#ifndef ADOPT_RULES_H
#define ADOPT_RULES_H

#include <stddef.h>

#include "core/util.h"
#include "llm/llm.h"

struct rules; /* owned by whoever loaded it */

/* Loads a rules file.  Errors name the file, the rule index and the problem:
 * "rules.json: rule 2: invalid regex \"(a\": missing closing parenthesis at offset 2". */
struct rules *rules_load(const char *path, struct err *e);
/* Parses rules from a string; `name` stands for the file in messages. */
struct rules *rules_parse(const char *json, const char *name, struct err *e);
void rules_free(struct rules *r);
size_t rules_count(const struct rules *r);

/* The reply for a conversation (caller frees); never NULL: the fallback, or the text
 * "[scripted] no rule matched" when the file has none.  *delay_ms (when not NULL) gets the
 * matched rule's delay, 0 for the fallback. */
char *rules_reply(const struct rules *r, const struct llm_message *msgs, size_t n,
                  unsigned *delay_ms);
/* As rules_reply, and *rule (when not NULL) gets the index of the rule that matched or -1. */
char *rules_reply_ex(const struct rules *r, const struct llm_message *msgs, size_t n,
                     unsigned *delay_ms, int *rule);

#endif

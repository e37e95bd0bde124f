/* final_test.h: --final-test: the held-out test score of the prompts a run ends with, measured
 * once after the run (never used for selection) and recorded in the session's "final_test"
 * section ({score, examples, iteration, date}) for --run --json and the report. */
#ifndef ADOPT_FINAL_TEST_H
#define ADOPT_FINAL_TEST_H

#include <signal.h>

#include <cjson/cJSON.h>

#include "core/session.h"
#include "llm/llm.h"

/* Before the run: -1 (e set) when the session has no test examples. */
int final_test_check(const struct session *s, struct err *e);
/* Evaluates the test split with the current prompts (waiting in llm_wait until done or *stop)
 * and records the section; iteration: the number of the last iteration.  -1 (e set) when
 * stopped or a request failed. */
int final_test_run(struct session *s, struct llm *l, bool trust, int iteration,
                   volatile sig_atomic_t *stop, struct err *e);
/* The recorded section, or NULL. */
const cJSON *final_test_get(const struct session *s);

#endif

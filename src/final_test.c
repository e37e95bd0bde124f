/* final_test.c: the held-out test score of the final prompts (--final-test).  Runs after the
 * optimization has finished choosing, so the test split never influences selection. */
#include <stdlib.h>

#include "engine/run.h"
#include "final_test.h"
#include "history.h"

#define SECTION "final_test"

int final_test_check(const struct session *s, struct err *e)
{
	if (!s->data.splits[SPLIT_TEST].n)
		return err_set(e, "%s: --final-test: the session has no test examples", s->path);
	return 0;
}

int final_test_run(struct session *s, struct llm *l, bool trust, int iteration,
                   volatile sig_atomic_t *stop, struct err *e)
{
	if (final_test_check(s, e) < 0)
		return -1;
	/* an earlier score belongs to other prompts: gone whatever happens now */
	cJSON_DeleteItemFromObjectCaseSensitive(s->root, SECTION);
	size_t n = s->data.splits[SPLIT_TEST].n;
	size_t *idx = xcalloc(n, sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct runner *r = runner_new(s, l, trust);
	struct run_batch *b = runner_start(r, NULL, SPLIT_TEST, idx, n, "final-test", NULL);
	while (!run_batch_done(b) && !*stop)
		if (llm_wait(l, NULL, 0, 250) < 0)
			break;
	int rc = 0;
	size_t errors = 0;
	for (size_t i = 0; i < run_batch_count(b) && run_batch_done(b); i++)
		errors += run_batch_trace(b, i)->error != NULL;
	if (!run_batch_done(b))
		rc = err_set(e, "--final-test: interrupted; no test score recorded");
	else if (errors)
		rc = err_set(
		    e, "--final-test: %zu of %zu test examples failed; no test score recorded",
		    errors, n);
	if (rc == 0) {
		char date[32];
		history_now_utc(date, sizeof date);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "score", run_batch_score(b));
		cJSON_AddNumberToObject(j, "examples", (double)n);
		cJSON_AddNumberToObject(j, "iteration", iteration);
		cJSON_AddStringToObject(j, "date", date);
		session_set_section(s, SECTION, j);
	}
	run_batch_free(b);
	runner_free(r);
	free(idx);
	return rc;
}

const cJSON *final_test_get(const struct session *s)
{
	const cJSON *j = session_section(s, SECTION);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "score");
	return cJSON_IsNumber(sc) && sc->valuedouble >= 0 && sc->valuedouble <= 1 ? j : NULL;
}

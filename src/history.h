/* history.h: a session's recorded history opened for reading only (report, export, compare):
 * the session, an LLM layer that sends nothing, and an engine restored from the session's
 * "history" and "state" sections.  Nothing is run, locked or saved. */
#ifndef ADOPT_HISTORY_H
#define ADOPT_HISTORY_H

#include "frontend.h"
#include "engine/engine.h"

struct history {
	struct session *s;
	struct llm *llm;
	struct engine *en;
	bool scripted; /* some step, the judge or the role model uses the scripted stand-in */
};

/* Loads o->session (problems printed to stderr); 0, or the exit status (2 invalid session, 1
 * other).  Close with history_close whatever it returned. */
int history_open(struct history *h, const struct front_opts *o);
void history_close(struct history *h);

/* The current (latest) version record of an llm step, or NULL when none was recorded. */
const struct prompt_version *history_version(const struct engine *en, int step);

/* The date and time now in UTC, ISO 8601 ("2026-12-03T14:30:00Z"), into buf. */
void history_now_utc(char *buf, size_t n);

#endif

/* tracelines.h: one step run of a trace as rows of a line list (header with latency, tokens,
 * cost and markers; input, prompt, reasoning, output; parse misses, cut answers, errors), shared
 * by the Traces pane and the Evidence screen. */
#ifndef ADOPT_TUI_TRACELINES_H
#define ADOPT_TUI_TRACELINES_H

#include <stdbool.h>

#include "core/session.h"
#include "core/trace.h"
#include "tui/lines.h"

/* Adds the rows of step run ts; `selected` draws its header highlighted; `deterministic` hides
 * the latency (screen tests). */
void tracelines_step(struct tlines *l, const struct session *s, const struct trace_step *ts,
                     bool selected, bool deterministic);

#endif

/* export.h: the current prompts taken out of a session for production code: one text file per
 * llm step (exactly the template the pipeline uses), its demonstrations, and the prompts.json
 * bundle (format in adopt-tui-session(5)). */
#ifndef ADOPT_EXPORT_H
#define ADOPT_EXPORT_H

#include <cjson/cJSON.h>

#include "frontend.h"
#include "engine/engine.h"

/* The prompts.json bundle of the engine's current prompts; caller deletes.  scripted: label the
 * bundle as made with the scripted stand-in. */
cJSON *export_bundle(const struct engine *en, bool scripted);
/* Writes DIR/<step>.txt, DIR/<step>.demos.json (steps with demonstrations) and
 * DIR/prompts.json, creating DIR when absent; never through a symbolic link.  On success *n gets
 * the number of files written. */
int export_write(const struct engine *en, bool scripted, const char *dir, int *n, struct err *e);

/* --export DIR|- SESSION */
int export_main(const struct front_opts *o);

#endif

/* report.h: the session's report for stakeholders, one self-contained file: HTML with inline SVG
 * charts (report_html.c) or Markdown (report.c), the same content in both. */
#ifndef ADOPT_REPORT_H
#define ADOPT_REPORT_H

#include "frontend.h"
#include "engine/engine.h"

/* Writes the report of the engine's history to path (".md": Markdown, else HTML), replaced
 * atomically and never through a symbolic link. */
int report_write(const struct engine *en, bool scripted, const char *path, struct err *e);
/* The report as text; md: Markdown, else HTML.  Caller frees. */
char *report_text(const struct engine *en, bool scripted, bool md);

/* --report FILE SESSION */
int report_main(const struct front_opts *o);

#endif

/* batch.h: the headless front end: --check validates, --eval scores a split, --run drives the
 * engine for N iterations.  Each returns the program's exit status (frontend.h). */
#ifndef ADOPT_BATCH_H
#define ADOPT_BATCH_H

#include "frontend.h"

int batch_check(const struct front_opts *o);
int batch_eval(const struct front_opts *o);
int batch_run(const struct front_opts *o);

#endif

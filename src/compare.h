/* compare.h: --compare A B: two sessions, or two prompt versions of one session
 * (SESSION@vN, SESSION@iteration:K), evaluated on one split through the response cache and
 * compared example by example, with a paired bootstrap interval for the score difference. */
#ifndef ADOPT_COMPARE_H
#define ADOPT_COMPARE_H

#include "batch.h"

/* o->compare_a is A, o->session is B; o->split, o->json, o->limit apply. */
int compare_main(const struct batch_opts *o);

#endif

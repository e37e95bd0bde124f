/* ablations.h: --run N --compare-ablations[=LIST]: ADOPT and its ablations (the session's
 * optimizer.ablate, adopt-tui-session(5)) run from the same starting session, side by side in
 * accuracy and cost, the shape of the paper's Tables 4 and 5. */
#ifndef ADOPT_ABLATIONS_H
#define ADOPT_ABLATIONS_H

#include "core/session.h"
#include "frontend.h"

/* The variants run when no list is given: ADOPT, then each ablation alone. */
#define ABLATIONS_DEFAULT "adopt,allocation=uniform,gradient=global,selection=per_step"

struct ablation_variant {
	char *name;               /* as written in the list */
	int ablate[ABLATE_COUNT]; /* ADOPT's way (0) except what the name sets */
};

/* Parses "adopt,gradient=global,allocation=uniform+selection=per_step" (NULL or "": the
 * default list): each variant is "adopt" or KEY=VALUE settings joined by "+", the keys those
 * of optimizer.ablate.  *out is caller-freed with ablations_free.  -1 and e on a bad list. */
int ablations_parse(const char *list, struct ablation_variant **out, size_t *n, struct err *e);
void ablations_free(struct ablation_variant *v, size_t n);

/* Runs each variant for o->iterations iterations on its own in-memory copy of the session
 * (the file is never written; the response cache and the spend journal are shared), then
 * prints one row per variant (text, or JSON with o->json).  Returns the exit status. */
int ablations_main(const struct front_opts *o);

#endif

/* optimizer_instruct.c: the `instruct` step optimizer.  One role call asks the rewrite role for
 * `budget` improved versions of the step's instruction, shown the step's dependency and its
 * supervised set (inputs, outputs, local gradients, pseudo-labels).  Every usable <prompt> block
 * becomes a candidate that keeps the incumbent's demonstrations.  Candidates that lose or add a
 * placeholder, repeat the incumbent or each other are dropped here already. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/optimizer.h"
#include "engine/roles.h"

static size_t instruct_ask(const struct opt_request *req, char ***prompts)
{
	*prompts = NULL;
	if (req->budget <= 0)
		return 0;
	struct err e = {{0}};
	char *p = optimizer_instruct_prompt(req, req->budget, &e);
	if (!p)
		return 0;
	*prompts = xmalloc(sizeof **prompts);
	(*prompts)[0] = p;
	return 1;
}

static size_t instruct_make(const struct opt_request *req, const char *const *answers,
                            size_t n_answers, struct candidate **out)
{
	*out = NULL;
	if (req->budget <= 0)
		return 0;
	char **rw;
	size_t n = optimizer_parse_rewrites(req, answers, n_answers, (size_t)req->budget, &rw);
	if (!n)
		return 0;
	struct candidate *c = xcalloc(n, sizeof *c);
	for (size_t i = 0; i < n; i++) {
		c[i].prompt = rw[i];
		c[i].demos = demos_dup(req->demos, req->n_demos);
		c[i].n_demos = req->demos ? req->n_demos : 0;
		c[i].optimizer = xstrdup("instruct");
		c[i].note = xasprintf("instruction rewrite %zu of %zu", i + 1, n);
	}
	free(rw);
	*out = c;
	return n;
}

const struct step_optimizer optimizer_instruct = {
    .name = "instruct",
    .help = "rewrite the step's instruction from its failures (keeps its demonstrations)",
    .ask = instruct_ask,
    .make = instruct_make,
};

/* phases_candidates.c: the step-level candidates of an iteration: each learnable step's
 * budget (the last iteration's allocation, or an even start), the cases its optimizer sees, the
 * requests to the optimizer role and the candidates kept from its answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alloc.h"
#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/phases.h"

static void initial_budgets(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	it->budget = xcalloc(s->n_steps, sizeof *it->budget);
	const struct iteration *prev = en->n_iters > 1 ? en->iters[en->n_iters - 2] : NULL;
	if (prev && prev->next_budget) {
		memcpy(it->budget, prev->next_budget, s->n_steps * sizeof *it->budget);
		return;
	}
	double *phi = xcalloc(s->n_steps, sizeof *phi);
	bool *elig = xcalloc(s->n_steps, sizeof *elig);
	int k = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		k += elig[i] = step_optimizable(&s->steps[i]);
	int total = MAX(s->opt.budget_total, s->opt.budget_floor * k);
	struct err e = {{0}};
	alloc_budgets((int)s->n_steps, phi, elig, total, s->opt.budget_floor, it->budget, &e);
	free(phi);
	free(elig);
}

/* The step's supervised set: one pair per round of each bad case (the revision of that round
 * when E6 wrote one per round, else the whole revision on the last round) and of each good case.
 * Revisions cut out per round are kept in *owned (free with owned_free). */
static struct opt_case *opt_cases(struct iteration *it, int step, size_t *n, char ***owned,
                                  size_t *n_owned)
{
	size_t cap = 1;
	for (size_t c = 0; c < it->n_cases; c++)
		cap += trace_rounds(&it->traces[it->cases[c].trace], step);
	for (size_t g = 0; g < it->n_good; g++)
		cap += trace_rounds(&it->traces[it->good[g]], step);
	struct opt_case *cs = xcalloc(cap, sizeof *cs);
	*owned = xcalloc(cap, sizeof **owned);
	*n = *n_owned = 0;
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace *t = &it->traces[it->cases[c].trace];
		const char *local = it->cases[c].local[step], *pseudo = it->cases[c].pseudo[step];
		size_t rounds = trace_rounds(t, step);
		if (!local || !rounds)
			continue;
		size_t n0 = *n;
		char *part = NULL;
		for (const struct trace_step *ts = NULL;
		     rounds > 1 && pseudo && (ts = trace_next(t, step, ts));) {
			if (!(part = role_round_part(pseudo, ts->round)))
				break;
			(*owned)[(*n_owned)++] = part;
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, local, part, false};
		}
		if (!part) { /* not labelled per round (or a round missing): one pair, last round */
			*n = n0;
			const struct trace_step *ts = trace_find(t, step);
			cs[(*n)++] =
			    (struct opt_case){ts->input, ts->out.text, local, pseudo, false};
		}
	}
	for (size_t g = 0; g < it->n_good; g++) {
		const struct trace *t = &it->traces[it->good[g]];
		for (const struct trace_step *ts = NULL; (ts = trace_next(t, step, ts));)
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, NULL, NULL, true};
	}
	return cs;
}

static struct opt_request make_request(struct engine *en, struct iteration *it, int i,
                                       const struct opt_case *cs, size_t ncs)
{
	const struct step *st = &en->s->steps[i];
	return (struct opt_request){en->s,
	                            st,
	                            st->prompt,
	                            st->demos,
	                            st->n_demos,
	                            it->structure,
	                            it->dependency ? it->dependency[i] : NULL,
	                            cs,
	                            ncs,
	                            it->budget[i],
	                            en->s->opt.max_demos,
	                            en->s->opt.seed + (unsigned long)it->number * 31u +
	                                (unsigned)i};
}

/* The candidates' budgets and storage, once per iteration (false: no optimizer). */
bool phases_candidates_setup(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	if (it->budget)
		return true;
	if (!optimizer_find(s->opt.step_optimizer))
		return false;
	initial_budgets(en, it);
	it->cands = xcalloc(s->n_steps, sizeof *it->cands);
	it->n_cands = xcalloc(s->n_steps, sizeof *it->n_cands);
	en->opt_prompts = xcalloc(s->n_steps, sizeof *en->opt_prompts);
	en->n_opt_prompts = xcalloc(s->n_steps, sizeof *en->n_opt_prompts);
	en->opt_answers = xcalloc(s->n_steps, sizeof *en->opt_answers);
	return true;
}

void phases_ask_candidates(struct engine *en, struct iteration *it, size_t i)
{
	const struct session *s = en->s;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	if (!step_optimizable(&s->steps[i]) || it->budget[i] <= 0 || en->opt_answers[i])
		return; /* nothing to ask, or asked already */
	size_t ncs, nown;
	char **own;
	struct opt_case *cs = opt_cases(it, (int)i, &ncs, &own, &nown);
	struct opt_request req = make_request(en, it, (int)i, cs, ncs);
	en->n_opt_prompts[i] = opt->ask(&req, &en->opt_prompts[i]);
	en->opt_answers[i] = xcalloc(en->n_opt_prompts[i] + 1, sizeof(char *));
	for (size_t k = 0; k < en->n_opt_prompts[i]; k++)
		engine_ask(en, ROLE_INSTRUCT, en->opt_prompts[i][k], NULL, &en->opt_answers[i][k],
		           NULL);
	free(cs);
	role_strings_free(own, nown);
}

int stage_candidates_ask(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	if (!phases_candidates_setup(en, it)) {
		char *msg = xasprintf("unknown step optimizer \"%s\" (known: %s)",
		                      s->opt.step_optimizer, optimizer_names());
		engine_phase_failed(en, msg);
		free(msg);
		return STAGE_WAIT;
	}
	if (it->n_bad == 0)
		return STAGE_NEXT;
	for (size_t i = 0; i < s->n_steps; i++)
		phases_ask_candidates(en, it, i);
	return en->waits_left ? STAGE_WAIT : STAGE_NEXT;
}

/* A candidate is kept when it parses, keeps the incumbent's variables, and is new. */
static bool candidate_ok(const struct step *st, const struct candidate *c,
                         const struct candidate *kept, size_t n_kept, char **why)
{
	if (!c->prompt || !*c->prompt) {
		*why = xstrdup("empty prompt");
		return false;
	}
	struct err e = {{0}};
	struct template *t = template_parse(c->prompt, &e);
	if (!t) {
		*why = xasprintf("not a valid template: %s", e.msg);
		return false;
	}
	const char *missing = NULL;
	int covers = template_vars_cover(st->prompt_tpl, t, &missing);
	bool unknown = false;
	for (size_t i = 0; i < template_nvars(t) && !unknown; i++) {
		bool found = false;
		for (size_t k = 0; k < template_nvars(st->prompt_tpl) && !found; k++)
			found = strcmp(template_var(t, i), template_var(st->prompt_tpl, k)) == 0;
		if (!found) {
			unknown = true;
			*why = xasprintf("uses {{%s}}, which the step does not have",
			                 template_var(t, i));
		}
	}
	template_free(t);
	if (unknown)
		return false;
	if (!covers) {
		*why = xasprintf("drops the step's input {{%s}}", missing);
		return false;
	}
	bool same_demos = c->n_demos == st->n_demos;
	for (size_t d = 0; same_demos && d < c->n_demos; d++)
		same_demos = strcmp(c->demos[d].input, st->demos[d].input) == 0 &&
		             strcmp(c->demos[d].output, st->demos[d].output) == 0;
	if (strcmp(c->prompt, st->prompt) == 0 && same_demos) {
		*why = xstrdup("identical to the current prompt");
		return false;
	}
	for (size_t k = 0; k < n_kept; k++) {
		if (strcmp(kept[k].prompt, c->prompt) == 0 && kept[k].n_demos == c->n_demos) {
			bool same = true;
			for (size_t d = 0; same && d < c->n_demos; d++)
				same = strcmp(kept[k].demos[d].input, c->demos[d].input) == 0 &&
				       strcmp(kept[k].demos[d].output, c->demos[d].output) == 0;
			if (same) {
				*why = xstrdup("duplicate of another candidate");
				return false;
			}
		}
	}
	return true;
}

int stage_candidates_make(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	size_t dropped = 0;
	for (size_t i = 0; opt && i < s->n_steps; i++) {
		if (!en->opt_answers[i])
			continue;
		size_t ncs, nown;
		char **own;
		struct opt_case *cs = opt_cases(it, (int)i, &ncs, &own, &nown);
		struct opt_request req = make_request(en, it, (int)i, cs, ncs);
		struct candidate *made = NULL;
		size_t n = opt->make(&req, (const char *const *)en->opt_answers[i],
		                     en->n_opt_prompts[i], &made);
		it->cands[i] = xcalloc(n ? n : 1, sizeof **it->cands);
		for (size_t k = 0; k < n; k++) {
			char *why = NULL;
			if (it->n_cands[i] < (size_t)it->budget[i] &&
			    candidate_ok(&s->steps[i], &made[k], it->cands[i], it->n_cands[i],
			                 &why)) {
				it->cands[i][it->n_cands[i]++] = made[k];
			} else {
				if (why) {
					char *msg = xasprintf("step \"%s\": candidate dropped: %s",
					                      s->steps[i].id, why);
					engine_emit(en, EV_ERROR, (int)i, -1, msg);
					free(msg);
				}
				free(why);
				candidate_free(&made[k]);
				dropped++;
			}
		}
		free(made);
		free(cs);
		role_strings_free(own, nown);
	}
	engine_emit(en, EV_CANDIDATES_READY, -1, -1, NULL);
	return STAGE_DONE;
}

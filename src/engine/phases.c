/* phases.c: what each phase of an ADOPT iteration does.  A phase is a short list of stages;
 * a stage submits work (role requests, pipeline batches) and is called again with resumed=true
 * once all of it has come back.  The table at the bottom maps phases to their stage functions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "engine/alloc.h"
#include "engine/bo.h"
#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/shapley.h"

enum { STAGE_WAIT, STAGE_NEXT, STAGE_DONE };

#define MAX_TEXT_FOR_ROLE 3000 /* bytes of one trace field shown to a role */

bool step_optimizable(const struct step *st)
{
	return st->kind == STEP_LLM && !st->frozen;
}

static struct iteration *cur(struct engine *en)
{
	return en->iters[en->n_iters - 1];
}

/* ---- text the roles read ---- */

static void add_clipped(struct sbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n <= MAX_TEXT_FOR_ROLE) {
		sbuf_adds(b, s ? s : "");
		return;
	}
	sbuf_add(b, s, MAX_TEXT_FOR_ROLE);
	sbuf_addf(b, " [... %zu more bytes]", n - MAX_TEXT_FOR_ROLE);
}

static char *pipeline_text(const struct session *s)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < s->n_order; i++) {
		const struct order_item *it = &s->order[i];
		size_t n = it->step >= 0 ? 1 : s->loops[it->loop].n_steps;
		if (it->loop >= 0)
			sbuf_addf(&b, "Loop \"%s\" (up to %d rounds):\n", s->loops[it->loop].id,
			          s->loops[it->loop].max_rounds);
		for (size_t k = 0; k < n; k++) {
			const struct step *st =
				&s->steps[it->step >= 0 ? it->step : s->loops[it->loop].steps[k]];
			sbuf_addf(&b, "Step \"%s\" (%s%s)", st->id, step_kind_name(st->kind),
			          st->frozen && st->kind == STEP_LLM ? ", fixed" : "");
			if (st->n_deps) {
				sbuf_adds(&b, " reads");
				for (size_t d = 0; d < st->n_deps; d++)
					sbuf_addf(&b, " %s", s->steps[st->deps[d]].id);
			}
			sbuf_adds(&b, "\n");
			if (st->kind == STEP_LLM)
				sbuf_addf(&b, "Prompt:\n%s\n", st->prompt);
			else if (st->text)
				sbuf_addf(&b, "Works on: %s\n", template_text(st->text));
			sbuf_adds(&b, "\n");
		}
	}
	sbuf_addf(&b, "The final output is the output of step \"%s\".\n",
	          s->output_step >= 0 ? s->steps[s->output_step].id : "?");
	return sbuf_take(&b);
}

static const struct example *trace_example(const struct engine *en, const struct trace *t)
{
	return &en->s->data.splits[t->split].ex[t->example];
}

static char *question_text(const struct engine *en, const struct trace *t)
{
	const struct example *ex = trace_example(en, t);
	struct sbuf b = {0};
	for (size_t i = 0; i < ex->n; i++) {
		sbuf_addf(&b, "%s%s: ", i ? "\n" : "", ex->keys[i]);
		add_clipped(&b, ex->vals[i].text);
	}
	return sbuf_take(&b);
}

static char *gold_text(const struct engine *en, const struct trace *t)
{
	const struct example *ex = trace_example(en, t);
	struct sbuf b = {0};
	for (size_t i = 0; i < ex->n_golds; i++)
		sbuf_addf(&b, "%s%s", i ? " | " : "", ex->golds[i]);
	return sbuf_take(&b);
}

static char *traces_text(const struct engine *en, const struct trace *t)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *ts = &t->steps[i];
		sbuf_addf(&b, "[%s", en->s->steps[ts->step].id);
		if (ts->round)
			sbuf_addf(&b, ", round %d", ts->round);
		sbuf_adds(&b, "]\ninput:\n");
		add_clipped(&b, ts->input);
		sbuf_adds(&b, "\noutput:\n");
		add_clipped(&b, ts->error ? ts->error : ts->out.text);
		sbuf_adds(&b, "\n\n");
	}
	sbuf_addf(&b, "final output: %s\n", t->prediction ? t->prediction : "");
	return sbuf_take(&b);
}

/* ---- role requests ---- */

static void ask_role(struct engine *en, enum role r, const char *const *vars, char **dest)
{
	struct err e = {{0}};
	char *prompt = role_render(en->s, r, vars, &e);
	if (!prompt) {
		char *msg = xasprintf("role \"%s\": %s", role_name(r), e.msg);
		engine_emit(en, EV_ERROR, -1, -1, msg);
		free(msg);
		return;
	}
	engine_ask(en, r, prompt, dest, NULL, role_tag(r));
	free(prompt);
}

/* ---- forward ---- */

static void on_step_done(void *arg, struct run_batch *b, const struct trace *t,
                         const struct trace_step *ts)
{
	(void)b;
	struct engine *en = arg;
	(void)t;
	engine_emit(en, EV_STEP_TRACE, ts->step, -1, NULL);
}

static void on_chunk(void *arg, struct run_batch *b, const struct trace *t, int step,
                     const char *text, size_t len)
{
	(void)b, (void)t;
	struct engine *en = arg;
	struct engine_event ev = {.kind = EV_TEXT,
	                          .phase = cur(en)->phase,
	                          .iteration = cur(en)->number,
	                          .step = step,
	                          .example = -1,
	                          .text = text,
	                          .len = len};
	if (en->fn)
		en->fn(en->arg, &ev);
}

static void on_batch_done(void *arg, struct run_batch *b)
{
	struct engine *en = arg;
	(void)b;
	if (en->jobs_left)
		en->jobs_left--;
	if (en->jobs_left == 0 && en->waits_left == 0 && en->stage >= 0)
		engine_work_done(en);
}

static int forward(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	const struct split *train = &s->data.splits[SPLIT_TRAIN];
	if (!resumed) {
		size_t n = MIN((size_t)s->opt.batch_size, train->n);
		if (n == 0) {
			engine_phase_failed(en, "the train split is empty: nothing to optimize on");
			return STAGE_WAIT;
		}
		size_t *perm = xcalloc(train->n, sizeof *perm);
		for (size_t i = 0; i < train->n; i++)
			perm[i] = i;
		struct rng r;
		rng_seed(&r, s->opt.seed * 1000003u + (uint64_t)it->number);
		for (size_t i = train->n; i > 1; i--) {
			size_t j = (size_t)rng_below(&r, i);
			size_t t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		struct run_callbacks cb = {on_step_done, on_chunk, on_batch_done, en};
		en->jobs_left = 1;
		en->launching = true;
		en->batch = runner_start(en->runner, NULL, SPLIT_TRAIN, perm, n, "forward", &cb);
		en->launching = false;
		free(perm);
		return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
	}
	return STAGE_NEXT;
}

static int forward_collect(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	it->train_score = run_batch_score(en->batch);
	it->traces = run_batch_take_traces(en->batch, &it->n_traces);
	engine_bury_batch(en, en->batch);
	en->batch = NULL;
	it->good = xcalloc(it->n_traces ? it->n_traces : 1, sizeof *it->good);
	it->bad = xcalloc(it->n_traces ? it->n_traces : 1, sizeof *it->bad);
	for (size_t i = 0; i < it->n_traces; i++) {
		if (it->traces[i].good && it->n_good < (size_t)s->opt.minibatch_good)
			it->good[it->n_good++] = i;
		else if (!it->traces[i].good && it->n_bad < (size_t)s->opt.minibatch_bad)
			it->bad[it->n_bad++] = i;
	}
	it->n_cases = it->n_bad;
	it->cases = xcalloc(it->n_bad ? it->n_bad : 1, sizeof *it->cases);
	for (size_t c = 0; c < it->n_bad; c++) {
		it->cases[c].trace = it->bad[c];
		it->cases[c].local = xcalloc(s->n_steps, sizeof(char *));
		it->cases[c].pseudo = xcalloc(s->n_steps, sizeof(char *));
	}
	if (it->n_bad == 0) {
		free(it->note);
		it->note = xstrdup("every case in the batch is good: nothing to fix this iteration");
	}
	return STAGE_DONE;
}

/* ---- analysis: E1 then E2 ---- */

static uint64_t prompts_key(const struct session *s)
{
	uint64_t h = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].prompt)
			h = hash_bytes(s->steps[i].prompt, strlen(s->steps[i].prompt), h);
	return h;
}

static int analysis_e1(struct engine *en, struct iteration *it, bool resumed)
{
	if (it->n_bad == 0)
		return STAGE_DONE;
	uint64_t key = prompts_key(en->s);
	if (!resumed) {
		if (en->structure_cache && en->structure_key == key) {
			it->structure = xstrdup(en->structure_cache);
			return STAGE_NEXT;
		}
		char *p = pipeline_text(en->s);
		const char *vars[] = {"pipeline", p, NULL};
		ask_role(en, ROLE_STRUCTURE, vars, &it->structure);
		free(p);
		return en->waits_left ? STAGE_WAIT : STAGE_NEXT;
	}
	if (it->structure) {
		free(en->structure_cache);
		en->structure_cache = xstrdup(it->structure);
		en->structure_key = key;
	}
	return STAGE_NEXT;
}

static char *good_cases_text(struct engine *en, struct iteration *it, int step)
{
	struct sbuf b = {0};
	for (size_t g = 0; g < it->n_good; g++) {
		const struct trace_step *ts = trace_find(&it->traces[it->good[g]], step);
		if (!ts)
			continue;
		sbuf_addf(&b, "Case %zu input:\n", g + 1);
		add_clipped(&b, ts->input);
		sbuf_adds(&b, "\nCase output:\n");
		add_clipped(&b, ts->out.text);
		sbuf_adds(&b, "\n\n");
	}
	(void)en;
	if (!b.len)
		sbuf_adds(&b, "(no good case in this batch)");
	return sbuf_take(&b);
}

static int analysis_e2(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed)
		return STAGE_DONE;
	const struct session *s = en->s;
	it->dependency = xcalloc(s->n_steps, sizeof *it->dependency);
	const struct trace *sample = it->n_good ? &it->traces[it->good[0]]
	                                        : &it->traces[it->bad[0]];
	char *traces = traces_text(en, sample);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!step_optimizable(&s->steps[i]))
			continue;
		char *good = good_cases_text(en, it, (int)i);
		const char *vars[] = {"structure", it->structure ? it->structure : "",
		                      "step",      s->steps[i].id,
		                      "step_prompt", s->steps[i].prompt,
		                      "good_cases", good,
		                      "traces",    traces,
		                      NULL};
		ask_role(en, ROLE_DEPENDENCY, vars, &it->dependency[i]);
		free(good);
	}
	free(traces);
	return en->waits_left ? STAGE_WAIT : STAGE_DONE;
}

/* ---- loss and global gradient: E3 then E4 ---- */

static int gradient_e3(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed || it->n_bad == 0)
		return it->n_bad ? STAGE_NEXT : STAGE_DONE;
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace *t = &it->traces[it->cases[c].trace];
		char *q = question_text(en, t), *g = gold_text(en, t);
		char *metric = metric_describe(en->s->metric);
		const char *vars[] = {"metric", metric, "question", q,
		                      "output", t->error ? t->error : t->prediction, "gold", g, NULL};
		ask_role(en, ROLE_LOSS, vars, &it->cases[c].loss);
		free(metric);
		free(q);
		free(g);
	}
	return en->waits_left ? STAGE_WAIT : STAGE_NEXT;
}

static int gradient_e4(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed) {
		engine_emit(en, EV_GRADIENT_READY, -1, -1, NULL);
		return STAGE_DONE;
	}
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace *t = &it->traces[it->cases[c].trace];
		char *q = question_text(en, t), *g = gold_text(en, t), *tr = traces_text(en, t);
		const char *vars[] = {"question", q,
		                      "output", t->error ? t->error : t->prediction,
		                      "gold", g,
		                      "loss", it->cases[c].loss ? it->cases[c].loss : "",
		                      "traces", tr,
		                      NULL};
		ask_role(en, ROLE_GRADIENT, vars, &it->cases[c].gradient);
		free(q);
		free(g);
		free(tr);
	}
	return en->waits_left ? STAGE_WAIT : STAGE_DONE;
}

/* ---- local gradients (E5) and pseudo-labels (E6) ---- */

static int per_step_case(struct engine *en, struct iteration *it, bool resumed, enum role r)
{
	if (resumed || it->n_bad == 0)
		return STAGE_DONE;
	const struct session *s = en->s;
	for (size_t c = 0; c < it->n_cases; c++) {
		struct adopt_case *ac = &it->cases[c];
		const struct trace *t = &it->traces[ac->trace];
		for (size_t i = 0; i < s->n_steps; i++) {
			const struct trace_step *ts = trace_find(t, (int)i);
			if (!step_optimizable(&s->steps[i]) || !ts)
				continue;
			const char *dep = it->dependency && it->dependency[i] ? it->dependency[i] : "";
			const char *out = ts->error ? ts->error : ts->out.text;
			if (r == ROLE_LOCAL) {
				const char *vars[] = {"step", s->steps[i].id, "dependency", dep,
				                      "loss", ac->loss ? ac->loss : "",
				                      "gradient", ac->gradient ? ac->gradient : "",
				                      "step_input", ts->input ? ts->input : "",
				                      "step_output", out, NULL};
				ask_role(en, r, vars, &ac->local[i]);
			} else if (ac->local[i]) {
				const char *vars[] = {"step", s->steps[i].id, "dependency", dep,
				                      "local", ac->local[i],
				                      "step_input", ts->input ? ts->input : "",
				                      "step_output", out, NULL};
				ask_role(en, r, vars, &ac->pseudo[i]);
			}
		}
	}
	return en->waits_left ? STAGE_WAIT : STAGE_DONE;
}

static int local_e5(struct engine *en, struct iteration *it, bool resumed)
{
	return per_step_case(en, it, resumed, ROLE_LOCAL);
}

static int pseudo_e6(struct engine *en, struct iteration *it, bool resumed)
{
	return per_step_case(en, it, resumed, ROLE_PSEUDO);
}

/* ---- candidates ---- */

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

static struct opt_case *opt_cases(struct engine *en, struct iteration *it, int step, size_t *n)
{
	struct opt_case *cs = xcalloc(it->n_good + it->n_bad + 1, sizeof *cs);
	*n = 0;
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct trace_step *ts = trace_find(&it->traces[it->cases[c].trace], step);
		if (ts && it->cases[c].local[step])
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, it->cases[c].local[step],
			                               it->cases[c].pseudo[step], false};
	}
	for (size_t g = 0; g < it->n_good; g++) {
		const struct trace_step *ts = trace_find(&it->traces[it->good[g]], step);
		if (ts)
			cs[(*n)++] = (struct opt_case){ts->input, ts->out.text, NULL, NULL, true};
	}
	(void)en;
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
	                            en->s->opt.seed + (unsigned long)it->number * 31u + (unsigned)i};
}

static int candidates_ask(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	initial_budgets(en, it);
	it->cands = xcalloc(s->n_steps, sizeof *it->cands);
	it->n_cands = xcalloc(s->n_steps, sizeof *it->n_cands);
	en->opt_prompts = xcalloc(s->n_steps, sizeof *en->opt_prompts);
	en->n_opt_prompts = xcalloc(s->n_steps, sizeof *en->n_opt_prompts);
	en->opt_answers = xcalloc(s->n_steps, sizeof *en->opt_answers);
	if (it->n_bad == 0)
		return STAGE_NEXT;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	if (!opt) {
		char *msg = xasprintf("unknown step optimizer \"%s\" (known: %s)",
		                      s->opt.step_optimizer, optimizer_names());
		engine_phase_failed(en, msg);
		free(msg);
		return STAGE_WAIT;
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!step_optimizable(&s->steps[i]) || it->budget[i] <= 0)
			continue;
		size_t ncs;
		struct opt_case *cs = opt_cases(en, it, (int)i, &ncs);
		struct opt_request req = make_request(en, it, (int)i, cs, ncs);
		en->n_opt_prompts[i] = opt->ask(&req, &en->opt_prompts[i]);
		en->opt_answers[i] = xcalloc(en->n_opt_prompts[i] + 1, sizeof(char *));
		for (size_t k = 0; k < en->n_opt_prompts[i]; k++)
			engine_ask(en, ROLE_INSTRUCT, en->opt_prompts[i][k], NULL, &en->opt_answers[i][k],
			           NULL);
		free(cs);
	}
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
			*why = xasprintf("uses {{%s}}, which the step does not have", template_var(t, i));
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

static int candidates_make(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	const struct step_optimizer *opt = optimizer_find(s->opt.step_optimizer);
	size_t dropped = 0;
	for (size_t i = 0; opt && i < s->n_steps; i++) {
		if (!en->opt_answers[i])
			continue;
		size_t ncs;
		struct opt_case *cs = opt_cases(en, it, (int)i, &ncs);
		struct opt_request req = make_request(en, it, (int)i, cs, ncs);
		struct candidate *made = NULL;
		size_t n = opt->make(&req, (const char *const *)en->opt_answers[i],
		                     en->n_opt_prompts[i], &made);
		it->cands[i] = xcalloc(n ? n : 1, sizeof **it->cands);
		for (size_t k = 0; k < n; k++) {
			char *why = NULL;
			if (it->n_cands[i] < (size_t)it->budget[i] &&
			    candidate_ok(&s->steps[i], &made[k], it->cands[i], it->n_cands[i], &why)) {
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
	}
	engine_emit(en, EV_CANDIDATES_READY, -1, -1, NULL);
	return STAGE_DONE;
}

/* ---- evaluations (selection and Shapley) ---- */

static void val_sample(struct engine *en, struct iteration *it)
{
	const struct split *val = &en->s->data.splits[SPLIT_VAL];
	const struct split *src = val->n ? val : &en->s->data.splits[SPLIT_TRAIN];
	size_t n = MIN((size_t)en->s->opt.val_size, src->n);
	it->val_idx = xcalloc(n ? n : 1, sizeof *it->val_idx);
	it->n_val = n;
	/* a stable sample: the first n of the split, so scores compare across iterations */
	for (size_t i = 0; i < n; i++)
		it->val_idx[i] = i;
	if (!val->n) {
		free(it->note);
		it->note = xstrdup("no validation split: selecting on training examples");
	} else if ((size_t)en->s->opt.val_size > val->n) {
		free(it->note);
		it->note = xasprintf("the validation split has %zu examples, fewer than val_size %d",
		                     val->n, en->s->opt.val_size);
	}
}

static enum split_id val_split(const struct engine *en)
{
	return en->s->data.splits[SPLIT_VAL].n ? SPLIT_VAL : SPLIT_TRAIN;
}

static bool evaluated(const struct iteration *it, const int *choice, size_t m)
{
	for (size_t e = 0; e < it->n_evals; e++)
		if (memcmp(it->evals[e].choice, choice, m * sizeof *choice) == 0)
			return true;
	return false;
}

static void launch_eval(struct engine *en, struct iteration *it, const int *choice)
{
	const struct session *s = en->s;
	struct eval_job *job = xcalloc(1, sizeof *job);
	job->en = en;
	job->choice = xmalloc(s->n_steps * sizeof *job->choice);
	memcpy(job->choice, choice, s->n_steps * sizeof *job->choice);
	job->variants = xcalloc(s->n_steps, sizeof *job->variants);
	job->config = xcalloc(s->n_steps, sizeof *job->config);
	for (size_t i = 0; i < s->n_steps; i++) {
		if (choice[i] <= 0)
			continue;
		const struct candidate *c = &it->cands[i][choice[i] - 1];
		job->variants[i] = (struct variant){c->prompt, c->demos, c->n_demos};
		job->config[i] = &job->variants[i];
	}
	en->jobs = xgrow(en->jobs, &en->cap_jobs, en->n_jobs + 1, sizeof *en->jobs);
	en->jobs[en->n_jobs++] = job;
	en->jobs_left++;
	struct run_callbacks cb = {NULL, NULL, on_batch_done, en};
	job->batch = runner_start(en->runner, job->config, val_split(en), it->val_idx, it->n_val,
	                          cur(en)->phase == PHASE_SHAPLEY ? "shapley" : "select", &cb);
}

/* Moves finished jobs into the iteration's evaluations. */
static void collect_evals(struct engine *en, struct iteration *it)
{
	const struct session *s = en->s;
	for (size_t j = 0; j < en->n_jobs; j++) {
		struct eval_job *job = en->jobs[j];
		it->evals = xrealloc(it->evals, (it->n_evals + 1) * sizeof *it->evals);
		struct evaluation *ev = &it->evals[it->n_evals++];
		ev->choice = job->choice;
		ev->score = run_batch_score(job->batch);
		ev->scores = xmalloc((it->n_val ? it->n_val : 1) * sizeof *ev->scores);
		memcpy(ev->scores, run_batch_scores(job->batch), it->n_val * sizeof *ev->scores);
		if (en->bo) {
			struct err e = {{0}};
			bo_observe(en->bo, ev->choice, ev->score, &e);
		}
		bool incumbent = true;
		for (size_t i = 0; i < s->n_steps; i++)
			incumbent = incumbent && ev->choice[i] == 0;
		if (incumbent)
			it->base_score = ev->score;
		engine_emit(en, EV_EVAL_DONE, -1, (long)(it->n_evals - 1), NULL);
		engine_bury_batch(en, job->batch);
		free(job->variants);
		free(job->config);
		free(job);
	}
	en->n_jobs = 0;
}

static int selection_start(struct engine *en, struct iteration *it, bool resumed)
{
	const struct session *s = en->s;
	if (resumed)
		return STAGE_NEXT;
	val_sample(en, it);
	int *nch = xcalloc(s->n_steps, sizeof *nch);
	size_t total = 1;
	for (size_t i = 0; i < s->n_steps; i++) {
		nch[i] = 1 + (int)(it->n_cands ? it->n_cands[i] : 0);
		total *= (size_t)nch[i];
	}
	en->bo = bo_new((int)s->n_steps, nch, s->opt.seed + (uint64_t)it->number);
	size_t max = MIN((size_t)s->opt.eval_budget, total);
	int *configs = xcalloc(max * s->n_steps + 1, sizeof *configs);
	size_t n = bo_initial_design(en->bo, configs, max);
	en->launching = true;
	for (size_t k = 0; k < n; k++)
		launch_eval(en, it, &configs[k * s->n_steps]);
	en->launching = false;
	free(configs);
	free(nch);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

static int selection_search(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	collect_evals(en, it);
	int *next = xcalloc(s->n_steps, sizeof *next);
	en->launching = true;
	while (it->n_evals + en->n_jobs < (size_t)s->opt.eval_budget && !en->jobs_left) {
		if (bo_suggest(en->bo, next) < 0)
			break;
		if (evaluated(it, next, s->n_steps)) {
			struct err e = {{0}};
			bo_observe(en->bo, next, NAN, &e);
			continue;
		}
		launch_eval(en, it, next);
		if (!en->jobs_left)
			collect_evals(en, it); /* answered from the memo at once */
	}
	en->launching = false;
	free(next);
	if (en->jobs_left)
		return STAGE_WAIT; /* called again when this evaluation is back */
	bo_free(en->bo);
	en->bo = NULL;
	return STAGE_DONE;
}

/* ---- Shapley ---- */

struct players {
	int m;
	int step[SHAPLEY_MAX_PLAYERS];
	int strong[SHAPLEY_MAX_PLAYERS]; /* candidate choice of the strong prompt */
};

static int best_eval(const struct iteration *it)
{
	int best = -1;
	for (size_t e = 0; e < it->n_evals; e++)
		if (best < 0 || it->evals[e].score > it->evals[best].score)
			best = (int)e;
	return best;
}

static void find_players(const struct engine *en, const struct iteration *it, struct players *p)
{
	const struct session *s = en->s;
	p->m = 0;
	int best = best_eval(it);
	for (size_t i = 0; i < s->n_steps && p->m < SHAPLEY_MAX_PLAYERS; i++) {
		if (!it->n_cands || !it->n_cands[i])
			continue;
		/* strong: the candidate that did best changed alone, else the best combination's */
		int strong = 0;
		double strong_score = -1;
		for (size_t e = 0; e < it->n_evals; e++) {
			const int *c = it->evals[e].choice;
			bool alone = c[i] > 0;
			for (size_t k = 0; k < s->n_steps && alone; k++)
				alone = k == i || c[k] == 0;
			if (alone && it->evals[e].score > strong_score) {
				strong = c[i];
				strong_score = it->evals[e].score;
			}
		}
		if (!strong)
			strong = best >= 0 && it->evals[best].choice[i] > 0 ? it->evals[best].choice[i]
			                                                    : 1;
		p->step[p->m] = (int)i;
		p->strong[p->m] = strong;
		p->m++;
	}
}

static void mask_choice(const struct engine *en, const struct players *p, uint32_t mask, int *c)
{
	memset(c, 0, en->s->n_steps * sizeof *c);
	for (int j = 0; j < p->m; j++)
		if (mask & (1u << j))
			c[p->step[j]] = p->strong[j];
}

/* The coalition of an evaluated configuration, or -1 when it is not weak/strong per player. */
static long eval_mask(const struct engine *en, const struct players *p, const int *c)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < en->s->n_steps; i++) {
		if (c[i] == 0)
			continue;
		int j = 0;
		while (j < p->m && p->step[j] != (int)i)
			j++;
		if (j == p->m || c[i] != p->strong[j])
			return -1;
		mask |= 1u << j;
	}
	return mask;
}

struct mask_set {
	uint32_t *m;
	size_t n, cap;
};

static double record_mask(void *arg, uint32_t mask)
{
	struct mask_set *ms = arg;
	for (size_t i = 0; i < ms->n; i++)
		if (ms->m[i] == mask)
			return 0;
	ms->m = xgrow(ms->m, &ms->cap, ms->n + 1, sizeof *ms->m);
	ms->m[ms->n++] = mask;
	return 0;
}

#define SHAPLEY_PERMUTATIONS 24
#define SHAPLEY_BOOTSTRAP 200

static int shapley_needs(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed)
		return STAGE_NEXT;
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0)
		return STAGE_NEXT;
	size_t n_obs = 0;
	for (size_t e = 0; e < it->n_evals; e++)
		n_obs += eval_mask(en, &p, it->evals[e].choice) >= 0;
	enum shapley_method method = shapley_choose(p.m, en->s->opt.eval_budget + 1, n_obs);
	it->shapley_method = shapley_method_name(method);
	struct mask_set need = {0};
	if (method == SHAPLEY_EXACT) {
		for (uint32_t mask = 0; mask < (1u << p.m); mask++)
			record_mask(&need, mask);
	} else if (method == SHAPLEY_PERMUTATION) {
		struct rng r;
		rng_seed(&r, en->s->opt.seed);
		double *phi = xcalloc((size_t)p.m, sizeof *phi);
		struct err e = {{0}};
		shapley_permutation(p.m, record_mask, &need, SHAPLEY_PERMUTATIONS, &r, phi, &e);
		free(phi);
	} else {
		record_mask(&need, 0);
		record_mask(&need, (1u << p.m) - 1);
	}
	int *c = xcalloc(en->s->n_steps, sizeof *c);
	en->launching = true;
	for (size_t k = 0; k < need.n; k++) {
		mask_choice(en, &p, need.m[k], c);
		if (!evaluated(it, c, en->s->n_steps))
			launch_eval(en, it, c);
	}
	en->launching = false;
	free(c);
	free(need.m);
	return en->jobs_left ? STAGE_WAIT : STAGE_NEXT;
}

static int shapley_compute(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	collect_evals(en, it);
	it->phi = xcalloc(s->n_steps, sizeof *it->phi);
	it->phi_sd = xcalloc(s->n_steps, sizeof *it->phi_sd);
	struct players p;
	find_players(en, it, &p);
	if (p.m == 0) {
		it->shapley_method = "none";
		engine_emit(en, EV_SHAPLEY_READY, -1, -1, NULL);
		return STAGE_DONE;
	}
	uint32_t *masks = xcalloc(it->n_evals, sizeof *masks);
	double *scores = xcalloc(it->n_evals * (it->n_val ? it->n_val : 1), sizeof *scores);
	size_t n = 0;
	for (size_t e = 0; e < it->n_evals; e++) {
		long mask = eval_mask(en, &p, it->evals[e].choice);
		if (mask < 0)
			continue;
		masks[n] = (uint32_t)mask;
		memcpy(&scores[n * it->n_val], it->evals[e].scores, it->n_val * sizeof *scores);
		n++;
	}
	enum shapley_method method = strcmp(it->shapley_method, "exact") == 0 ? SHAPLEY_EXACT
	                             : strcmp(it->shapley_method, "permutation") == 0
	                                     ? SHAPLEY_PERMUTATION
	                                     : SHAPLEY_KERNEL;
	struct shapley_boot opt = {method, SHAPLEY_PERMUTATIONS, s->opt.seed, SHAPLEY_BOOTSTRAP,
	                           s->opt.seed + 17};
	double phi[SHAPLEY_MAX_PLAYERS], sd[SHAPLEY_MAX_PLAYERS];
	struct err e = {{0}};
	if (shapley_bootstrap(p.m, masks, scores, n, it->n_val, &opt, phi, sd, NULL, NULL, &e) < 0) {
		char *msg = xasprintf("Shapley: %s", e.msg);
		engine_emit(en, EV_ERROR, -1, -1, msg);
		free(msg);
	} else {
		for (int j = 0; j < p.m; j++) {
			it->phi[p.step[j]] = phi[j];
			it->phi_sd[p.step[j]] = sd[j];
		}
	}
	free(masks);
	free(scores);
	engine_emit(en, EV_SHAPLEY_READY, -1, -1, NULL);
	return STAGE_DONE;
}

/* ---- allocation and proposal ---- */

static int allocation(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	bool *elig = xcalloc(s->n_steps, sizeof *elig);
	int k = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		k += elig[i] = step_optimizable(&s->steps[i]);
	it->next_budget = xcalloc(s->n_steps, sizeof *it->next_budget);
	double *phi = it->phi ? it->phi : xcalloc(s->n_steps, sizeof *phi);
	struct err e = {{0}};
	alloc_budgets((int)s->n_steps, phi, elig, MAX(s->opt.budget_total, s->opt.budget_floor * k),
	              s->opt.budget_floor, it->next_budget, &e);
	if (phi != it->phi)
		free(phi);
	free(elig);
	return STAGE_DONE;
}

static struct demo *copy_demos(const struct demo *d, size_t n)
{
	struct demo *c = xcalloc(n ? n : 1, sizeof *c);
	for (size_t i = 0; i < n; i++)
		c[i] = (struct demo){xstrdup(d[i].input), xstrdup(d[i].output)};
	return c;
}

static int proposal(struct engine *en, struct iteration *it, bool resumed)
{
	(void)resumed;
	const struct session *s = en->s;
	it->best_eval = best_eval(it);
	it->best_score = it->best_eval >= 0 ? it->evals[it->best_eval].score : it->base_score;
	if (it->best_eval >= 0) {
		const int *c = it->evals[it->best_eval].choice;
		it->changes = xcalloc(s->n_steps, sizeof *it->changes);
		for (size_t i = 0; i < s->n_steps; i++) {
			if (c[i] <= 0)
				continue;
			const struct candidate *cd = &it->cands[i][c[i] - 1];
			it->changes[it->n_changes++] =
				(struct step_change){(int)i, xstrdup(s->steps[i].prompt),
				                     xstrdup(cd->prompt), copy_demos(cd->demos, cd->n_demos),
				                     cd->n_demos, DECISION_NONE, NULL};
		}
	}
	if (it->n_evals)
		en->val_score = it->base_score;
	engine_emit(en, EV_PROPOSAL_READY, -1, -1, NULL);
	return STAGE_DONE;
}

static int decision(struct engine *en, struct iteration *it, bool resumed)
{
	(void)en, (void)it, (void)resumed;
	return STAGE_DONE; /* decisions come as commands; engine.c closes the iteration */
}

/* ---- the table ---- */

typedef int stage_fn(struct engine *en, struct iteration *it, bool resumed);

static stage_fn *const stages[PHASE_COUNT][3] = {
	[PHASE_FORWARD] = {forward, forward_collect},
	[PHASE_ANALYSIS] = {analysis_e1, analysis_e2},
	[PHASE_GRADIENT] = {gradient_e3, gradient_e4},
	[PHASE_LOCAL] = {local_e5},
	[PHASE_PSEUDO] = {pseudo_e6},
	[PHASE_CANDIDATES] = {candidates_ask, candidates_make},
	[PHASE_SELECTION] = {selection_start, selection_search},
	[PHASE_SHAPLEY] = {shapley_needs, shapley_compute},
	[PHASE_ALLOCATION] = {allocation},
	[PHASE_PROPOSAL] = {proposal},
	[PHASE_DECISION] = {decision},
};

/* Runs stages until one waits; `resumed` tells the current stage its work came back. */
static void run_stages(struct engine *en, bool resumed)
{
	struct iteration *it = cur(en);
	enum phase p = it->phase;
	for (;;) {
		stage_fn *fn = en->stage < 3 ? stages[p][en->stage] : NULL;
		int rc = fn ? fn(en, it, resumed) : STAGE_DONE;
		if (!en->busy)
			return; /* failed or cancelled inside */
		if (rc == STAGE_WAIT)
			return;
		if (rc == STAGE_DONE) {
			engine_phase_done(en);
			return;
		}
		en->stage++;
		resumed = false;
	}
}

void engine_work_done(struct engine *en)
{
	if (en->launching || !en->busy)
		return;
	run_stages(en, true);
}

void phase_start(struct engine *en, enum phase p)
{
	(void)p;
	en->stage = 0;
	run_stages(en, false);
}

long phase_projected_calls(const struct engine *en, enum phase p)
{
	const struct session *s = en->s;
	const struct iteration *it = en->n_iters ? en->iters[en->n_iters - 1] : NULL;
	long llm_steps = 0, opt_steps = 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		if (s->steps[i].kind == STEP_LLM) {
			int rounds = s->steps[i].loop >= 0 ? s->loops[s->steps[i].loop].max_rounds : 1;
			llm_steps += rounds;
		}
		opt_steps += step_optimizable(&s->steps[i]);
	}
	long batch = (long)MIN((size_t)s->opt.batch_size, s->data.splits[SPLIT_TRAIN].n);
	long bad = it && it->phase > PHASE_FORWARD ? (long)it->n_bad : s->opt.minibatch_bad;
	long val = (long)MIN((size_t)s->opt.val_size, s->data.splits[SPLIT_VAL].n);
	switch (p) {
	case PHASE_FORWARD: return batch * llm_steps;
	case PHASE_ANALYSIS: return bad ? 1 + opt_steps : 0;
	case PHASE_GRADIENT: return 2 * bad;
	case PHASE_LOCAL:
	case PHASE_PSEUDO: return bad * opt_steps;
	case PHASE_CANDIDATES: return bad ? opt_steps : 0;
	case PHASE_SELECTION: return (long)s->opt.eval_budget * val; /* upper bound: memo saves */
	case PHASE_SHAPLEY: return val * 2;
	default: return 0;
	}
}

void phase_clear(struct iteration *it, enum phase p, size_t n_steps)
{
	switch (p) {
	case PHASE_FORWARD:
		for (size_t i = 0; i < it->n_traces; i++)
			trace_free(&it->traces[i]);
		free(it->traces);
		free(it->good);
		free(it->bad);
		for (size_t c = 0; c < it->n_cases; c++) {
			free(it->cases[c].local);
			free(it->cases[c].pseudo);
		}
		free(it->cases);
		it->traces = NULL, it->good = it->bad = NULL, it->cases = NULL;
		it->n_traces = it->n_good = it->n_bad = it->n_cases = 0;
		break;
	case PHASE_ANALYSIS:
		free(it->structure);
		it->structure = NULL;
		for (size_t i = 0; it->dependency && i < n_steps; i++)
			free(it->dependency[i]);
		free(it->dependency);
		it->dependency = NULL;
		break;
	case PHASE_GRADIENT:
		for (size_t c = 0; c < it->n_cases; c++) {
			free(it->cases[c].loss);
			free(it->cases[c].gradient);
			it->cases[c].loss = it->cases[c].gradient = NULL;
		}
		break;
	case PHASE_LOCAL:
	case PHASE_PSEUDO:
		for (size_t c = 0; c < it->n_cases; c++) {
			char **v = p == PHASE_LOCAL ? it->cases[c].local : it->cases[c].pseudo;
			for (size_t i = 0; v && i < n_steps; i++) {
				free(v[i]);
				v[i] = NULL;
			}
		}
		break;
	case PHASE_CANDIDATES:
		for (size_t i = 0; it->cands && i < n_steps; i++) {
			for (size_t k = 0; k < it->n_cands[i]; k++)
				candidate_free(&it->cands[i][k]);
			free(it->cands[i]);
		}
		free(it->cands);
		free(it->n_cands);
		free(it->budget);
		it->cands = NULL, it->n_cands = NULL, it->budget = NULL;
		break;
	case PHASE_SELECTION:
	case PHASE_SHAPLEY:
		if (p == PHASE_SELECTION) {
			for (size_t e = 0; e < it->n_evals; e++) {
				free(it->evals[e].choice);
				free(it->evals[e].scores);
			}
			free(it->evals);
			free(it->val_idx);
			it->evals = NULL, it->val_idx = NULL;
			it->n_evals = it->n_val = 0;
		}
		free(it->phi);
		free(it->phi_sd);
		it->phi = it->phi_sd = NULL;
		it->shapley_method = NULL;
		break;
	case PHASE_ALLOCATION:
		free(it->next_budget);
		it->next_budget = NULL;
		break;
	case PHASE_PROPOSAL:
		for (size_t c = 0; c < it->n_changes; c++) {
			struct step_change *ch = &it->changes[c];
			free(ch->old_prompt);
			free(ch->new_prompt);
			for (size_t d = 0; d < ch->n_new_demos; d++) {
				free(ch->new_demos[d].input);
				free(ch->new_demos[d].output);
			}
			free(ch->new_demos);
			free(ch->edited);
		}
		free(it->changes);
		it->changes = NULL;
		it->n_changes = 0;
		break;
	default:
		break;
	}
}

void iteration_free(struct iteration *it, size_t n_steps)
{
	for (int p = PHASE_COUNT - 1; p >= 0; p--)
		phase_clear(it, (enum phase)p, n_steps);
	free(it->note);
	free(it);
}

void bo_free_opt(struct engine *en)
{
	bo_free(en->bo);
	en->bo = NULL;
}

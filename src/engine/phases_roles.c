/* phases_roles.c: the analysis phases E1-E6: the text each role reads (pipeline, cases,
 * traces) and the role requests of structure, dependency, loss, gradient, local gradient and
 * pseudo-label. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/metric.h"
#include "core/rx.h"
#include "engine/alloc.h"
#include "engine/bo.h"
#include "engine/engine_int.h"
#include "engine/optimizer.h"
#include "engine/phases.h"
#include "engine/shapley.h"

#define MAX_TEXT_FOR_ROLE 3000 /* bytes of one trace field shown to a role */

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
		if (it->loop >= 0) {
			const struct loop *l = &s->loops[it->loop];
			sbuf_addf(&b, "Loop \"%s\" (up to %d rounds", l->id, l->max_rounds);
			if (l->until && l->until_step >= 0)
				sbuf_addf(&b,
				          "; it stops early when the output of step \"%s\" "
				          "matches the pattern /%s/",
				          s->steps[l->until_step].id, rx_pattern(l->until));
			sbuf_adds(&b, "):\n");
		}
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
			if (st->kind == STEP_LLM && st->system)
				sbuf_addf(&b, "System message:\n%s\n", template_text(st->system));
			if (st->kind == STEP_LLM)
				sbuf_addf(&b, "Prompt:\n%s\n", st->prompt);
			else if (st->text)
				sbuf_addf(&b, "Works on: %s\n", template_text(st->text));
			sbuf_adds(&b, "\n");
		}
	}
	sbuf_addf(&b, "The final output is the output of step \"%s\".\n",
	          s->output_step >= 0 ? s->steps[s->output_step].id : "?");
	char *metric = metric_describe(s->metric);
	sbuf_addf(&b, "It is scored against the gold answer with the metric %s.\n", metric);
	free(metric);
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
		char *joined;
		add_clipped(&b, value_text(&ex->vals[i], &joined));
		free(joined);
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

/* A step's input or output on one trace: as it is for a single run, else every round of the
 * loop under "Round N:" (the roles reason across rounds, e.g. the hops of a multi-hop
 * pipeline). */
static char *rounds_text(const struct trace *t, int step, bool output)
{
	struct sbuf b = {0};
	bool labelled = trace_rounds(t, step) > 1;
	for (const struct trace_step *ts = NULL; (ts = trace_next(t, step, ts));) {
		if (labelled)
			sbuf_addf(&b, "%sRound %d:\n", b.len ? "\n\n" : "", ts->round);
		add_clipped(&b, output ? (ts->error ? ts->error : ts->out.text) : ts->input);
	}
	return sbuf_take(&b);
}

/* ---- role requests ---- */

/* Asks a rendered role prompt (NULL: its template did not render, e says why), and frees it. */
static void ask_prompt(struct engine *en, enum role r, char *prompt, const struct err *e,
                       char **dest)
{
	if (!prompt) {
		char *msg = xasprintf("role \"%s\": %s", role_name(r), e->msg);
		engine_emit(en, EV_ERROR, -1, -1, msg);
		free(msg);
		return;
	}
	engine_ask(en, r, prompt, dest, NULL, role_tag(r));
	free(prompt);
}

static void ask_role(struct engine *en, enum role r, const char *const *vars, char **dest)
{
	struct err e = {{0}};
	ask_prompt(en, r, role_render(en->s, r, vars, &e), &e, dest);
}

/* ---- analysis: E1 then E2 ---- */

uint64_t prompts_key(const struct session *s)
{
	uint64_t h = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].prompt)
			h = hash_bytes(s->steps[i].prompt, strlen(s->steps[i].prompt), h);
	return h;
}

static bool structure_cached(const struct engine *en)
{
	return en->structure_cache && en->structure_key == prompts_key(en->s);
}

void phases_ask_structure(struct engine *en, struct iteration *it)
{
	if (!engine_may_ahead(en, PHASE_ANALYSIS) || it->structure ||
	    engine_wait_of(en, &it->structure) || structure_cached(en))
		return;
	struct err e = {{0}};
	ask_prompt(en, ROLE_STRUCTURE, phases_e1_prompt(en, &e), &e, &it->structure);
}

int stage_analysis_e1(struct engine *en, struct iteration *it, bool resumed)
{
	if (it->n_bad == 0)
		return STAGE_DONE; /* nothing to analyse (and no E1 went ahead: no bad example) */
	if (!resumed) {
		bool asked = engine_wait_of(en, &it->structure) != NULL; /* ahead */
		if (!asked && structure_cached(en)) {
			it->structure = xstrdup(en->structure_cache);
			return STAGE_NEXT;
		}
		if (!asked) {
			struct err e = {{0}};
			ask_prompt(en, ROLE_STRUCTURE, phases_e1_prompt(en, &e), &e,
			           &it->structure);
		}
		if (en->waits_left)
			return STAGE_WAIT;
	}
	if (it->structure) {
		free(en->structure_cache);
		en->structure_cache = xstrdup(it->structure);
		en->structure_key = prompts_key(en->s);
	}
	return STAGE_NEXT;
}

/* E2's view of the good cases: per case the pipeline's input, the step's input and output
 * (every round), the final output, the gold answer and the judgment, as the paper gives it.
 * All of them fit one budget: when they do not, the longest texts are cut first (to a common
 * length, the water level) and the prompt says so. */
#define E2_GOOD_BUDGET (4000 * 4) /* bytes (about 4000 tokens) of good-case text per call */
enum { GC_QUESTION, GC_IN, GC_OUT, GC_FINAL, GC_GOLD, GC_N };
static const char *const gc_label[GC_N] = {"Pipeline input", "Step input", "Step output",
                                           "Final output", "Gold answer"};

/* The largest length L with sum(min(len, L)) <= budget, or SIZE_MAX when all fit. */
static size_t water_level(const size_t *len, size_t n, size_t budget)
{
	size_t total = 0, hi = 0;
	for (size_t i = 0; i < n; i++)
		total += len[i], hi = MAX(hi, len[i]);
	if (total <= budget)
		return SIZE_MAX;
	size_t lo = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2, sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += MIN(len[i], mid);
		if (sum <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void add_cut(struct sbuf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max) {
		sbuf_adds(b, s);
		return;
	}
	size_t k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--; /* not inside a UTF-8 sequence */
	sbuf_add(b, s, k);
	sbuf_addf(b, " [... %zu more bytes cut]", n - k);
}

static char *good_cases_text(const struct engine *en, const struct iteration *it, int step)
{
	size_t n = 0;
	char **txt = xcalloc(it->n_good * GC_N + 1, sizeof *txt);
	size_t *len = xcalloc(it->n_good * GC_N + 1, sizeof *len);
	const struct trace **tr = xcalloc(it->n_good + 1, sizeof *tr);
	for (size_t g = 0; g < it->n_good; g++) {
		const struct trace *t = &it->traces[it->good[g]];
		if (!trace_find(t, step))
			continue;
		char **f = &txt[n * GC_N];
		f[GC_QUESTION] = question_text(en, t);
		f[GC_IN] = rounds_text(t, step, false);
		f[GC_OUT] = rounds_text(t, step, true);
		f[GC_FINAL] = xstrdup(t->prediction ? t->prediction : "");
		f[GC_GOLD] = gold_text(en, t);
		tr[n++] = t;
	}
	for (size_t i = 0; i < n * GC_N; i++)
		len[i] = strlen(txt[i]);
	size_t level = water_level(len, n * GC_N, E2_GOOD_BUDGET);
	struct sbuf b = {0};
	if (level != SIZE_MAX)
		sbuf_addf(&b,
		          "(Shortened to fit this prompt: every text longer than %zu bytes was "
		          "cut, marked \"[... N more bytes cut]\".)\n\n",
		          level);
	for (size_t c = 0; c < n; c++) {
		sbuf_addf(&b, "### Case %zu (score %.3g: judged good)\n", c + 1, tr[c]->score);
		for (int k = 0; k < GC_N; k++) {
			sbuf_addf(&b, "%s:\n", gc_label[k]);
			add_cut(&b, txt[c * GC_N + k], level);
			sbuf_adds(&b, "\n");
		}
		sbuf_adds(&b, "\n");
	}
	role_strings_free(txt, n * GC_N);
	free(len);
	free(tr);
	if (!b.len)
		sbuf_adds(&b, "(no good case in this batch)");
	return sbuf_take(&b);
}

int stage_analysis_e2(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed)
		return STAGE_DONE;
	const struct session *s = en->s;
	it->dependency = xcalloc(s->n_steps, sizeof *it->dependency);
	if (s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL)
		return STAGE_DONE; /* ablation: no dependency analysis */
	for (size_t i = 0; i < s->n_steps; i++) {
		if (!step_optimizable(&s->steps[i]))
			continue;
		struct err e = {{0}};
		ask_prompt(en, ROLE_DEPENDENCY, phases_e2_prompt(en, it, (int)i, it->structure, &e),
		           &e, &it->dependency[i]);
	}
	return en->waits_left ? STAGE_WAIT : STAGE_DONE;
}

char *phases_e1_prompt(const struct engine *en, struct err *e)
{
	char *p = pipeline_text(en->s);
	const char *vars[] = {"pipeline", p, NULL};
	char *prompt = role_render(en->s, ROLE_STRUCTURE, vars, e);
	free(p);
	return prompt;
}

char *phases_e2_prompt(const struct engine *en, const struct iteration *it, int step,
                       const char *structure, struct err *e)
{
	const struct session *s = en->s;
	const struct trace *sample =
	    it->n_good ? &it->traces[it->good[0]] : &it->traces[it->bad[0]];
	char *traces = traces_text(en, sample), *good = good_cases_text(en, it, step);
	const char *vars[] = {"structure",   structure ? structure : "",
	                      "step",        s->steps[step].id,
	                      "step_prompt", s->steps[step].prompt,
	                      "good_cases",  good,
	                      "traces",      traces,
	                      NULL};
	char *prompt = role_render(s, ROLE_DEPENDENCY, vars, e);
	free(good);
	free(traces);
	return prompt;
}

/* ---- loss and global gradient: E3 then E4 ---- */

static void ask_loss(struct engine *en, struct iteration *it, size_t c)
{
	const struct trace *t = &it->traces[it->cases[c].trace];
	char *q = question_text(en, t), *g = gold_text(en, t);
	char *metric = metric_describe(en->s->metric);
	const char *vars[] = {"metric", metric,   "question",
	                      q,        "output", t->error ? t->error : t->prediction,
	                      "gold",   g,        NULL};
	ask_role(en, ROLE_LOSS, vars, &it->cases[c].loss);
	free(metric);
	free(q);
	free(g);
}

static void ask_gradient(struct engine *en, struct iteration *it, size_t c)
{
	const struct trace *t = &it->traces[it->cases[c].trace];
	char *q = question_text(en, t), *g = gold_text(en, t), *tr = traces_text(en, t);
	const char *vars[] = {"question", q,  "output", t->error ? t->error : t->prediction,
	                      "gold",     g,  "loss",   it->cases[c].loss ? it->cases[c].loss : "",
	                      "traces",   tr, NULL};
	ask_role(en, ROLE_GRADIENT, vars, &it->cases[c].gradient);
	free(q);
	free(g);
	free(tr);
}

/* Whether a slot's request went out (or its answer is in): each is asked once. */
static bool asked(const struct engine *en, char **slot)
{
	return *slot || engine_wait_of(en, slot);
}

int stage_gradient_e3(struct engine *en, struct iteration *it, bool resumed)
{
	if (resumed || it->n_bad == 0)
		return it->n_bad ? STAGE_NEXT : STAGE_DONE;
	for (size_t c = 0; c < it->n_cases; c++)
		if (!asked(en, &it->cases[c].loss))
			ask_loss(en, it, c);
	return en->waits_left ? STAGE_WAIT : STAGE_NEXT;
}

int stage_gradient_e4(struct engine *en, struct iteration *it, bool resumed)
{
	if (!resumed) {
		for (size_t c = 0; c < it->n_cases; c++)
			if (!asked(en, &it->cases[c].gradient))
				ask_gradient(en, it, c);
		if (en->waits_left)
			return STAGE_WAIT;
	}
	engine_emit(en, EV_GRADIENT_READY, -1, -1, NULL);
	return STAGE_DONE;
}

/* ---- local gradients (E5) and pseudo-labels (E6) ---- */

/* The verdict roles/local.txt asks for when the error arose elsewhere. */
static bool not_at_fault(const char *local)
{
	static const char phrase[] = "not at fault";
	for (const char *p = local; *p; p++)
		if (strncasecmp(p, phrase, sizeof phrase - 1) == 0)
			return true;
	return false;
}

void engine_blame(const struct iteration *it, int step, int *blamed, int *cleared)
{
	*blamed = *cleared = 0;
	for (size_t c = 0; it && step >= 0 && c < it->n_cases; c++) {
		const char *local = it->cases[c].local ? it->cases[c].local[step] : NULL;
		if (local)
			++*(not_at_fault(local) ? cleared : blamed);
	}
}

/* Whether case c's step i gets a local gradient (E5) at all. */
static bool e5_applies(const struct engine *en, const struct iteration *it, size_t c, size_t i)
{
	return step_optimizable(&en->s->steps[i]) &&
	       trace_find(&it->traces[it->cases[c].trace], (int)i);
}

/* E5 (r ROLE_LOCAL) or E6 (ROLE_PSEUDO) of case c and step i. */
static void ask_step_case(struct engine *en, struct iteration *it, size_t c, size_t i, enum role r)
{
	const struct session *s = en->s;
	struct adopt_case *ac = &it->cases[c];
	const struct trace *t = &it->traces[ac->trace];
	const char *dep = it->dependency && it->dependency[i] ? it->dependency[i] : "";
	char *in = rounds_text(t, (int)i, false);
	char *out = rounds_text(t, (int)i, true);
	if (r == ROLE_LOCAL) {
		const char *vars[] = {"step",        s->steps[i].id,
		                      "dependency",  dep,
		                      "loss",        ac->loss ? ac->loss : "",
		                      "gradient",    ac->gradient ? ac->gradient : "",
		                      "step_input",  in,
		                      "step_output", out,
		                      NULL};
		ask_role(en, r, vars, &ac->local[i]);
	} else {
		const char *vars[] = {
		    "step", s->steps[i].id, "dependency", dep, "local", ac->local[i], "step_input",
		    in,     "step_output",  out,          NULL};
		ask_role(en, r, vars, &ac->pseudo[i]);
	}
	free(in);
	free(out);
}

static int per_step_case(struct engine *en, struct iteration *it, bool resumed, enum role r)
{
	if (resumed || it->n_bad == 0)
		return STAGE_DONE;
	for (size_t c = 0; c < it->n_cases; c++) {
		struct adopt_case *ac = &it->cases[c];
		for (size_t i = 0; i < en->s->n_steps; i++) {
			if (!e5_applies(en, it, c, i) || (r != ROLE_LOCAL && !ac->local[i]))
				continue;
			if (!asked(en, r == ROLE_LOCAL ? &ac->local[i] : &ac->pseudo[i]))
				ask_step_case(en, it, c, i, r);
		}
	}
	return en->waits_left ? STAGE_WAIT : STAGE_DONE;
}

/* ---- overlap: each request as soon as its own inputs are in ----
 * While whole iterations run (engine_overlap), a request of a later phase is sent when what it
 * reads has arrived, instead of when every request of the phases before it has: E3 of each bad
 * case once the forward pass is scored (beside E1 and E2); E4 of a case when its E3 answered;
 * E5 of a case and step when the case's E4 and the step's E2 answered; E6 when its own E5
 * answered; a step's candidates when every E5 and E6 of that step is in.  A request whose
 * input failed is left to its phase, which sends it as the strict order would (with the
 * failed text empty), so the prompts are the same as without overlap.  The phases still start
 * and finish in order: each adopts what went ahead for it. */

/* Whether a slot's request is back (answered or failed) or was never going to be sent. */
static bool settled(const struct engine *en, const struct iteration *it, enum phase p, char **slot)
{
	if (*slot || it->phase > p)
		return true;
	const struct role_wait *w = engine_wait_of(en, slot);
	return w && w->done;
}

/* Whether step i's supervised set is final: every E5 and E6 of it is back. */
static bool step_labelled(const struct engine *en, const struct iteration *it, size_t i)
{
	for (size_t c = 0; c < it->n_cases; c++) {
		const struct adopt_case *ac = &it->cases[c];
		if (!e5_applies(en, it, c, i))
			continue;
		if (!settled(en, it, PHASE_LOCAL, (char **)&ac->local[i]))
			return false;
		if (ac->local[i] && !settled(en, it, PHASE_PSEUDO, (char **)&ac->pseudo[i]))
			return false;
	}
	return true;
}

void phases_flow(struct engine *en)
{
	if (!engine_overlap(en) || !en->n_iters)
		return;
	struct iteration *it = phases_current(en);
	const struct session *s = en->s;
	/* forward scored; the candidates' phase and those after it run as they do */
	if (it->phase <= PHASE_FORWARD || it->phase > PHASE_CANDIDATES || it->n_bad == 0)
		return;
	bool global = s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL;
	for (size_t c = 0; c < it->n_cases; c++) {
		struct adopt_case *ac = &it->cases[c];
		if (it->phase <= PHASE_GRADIENT && engine_may_ahead(en, PHASE_GRADIENT)) {
			if (!asked(en, &ac->loss))
				ask_loss(en, it, c);
			if (ac->loss && !asked(en, &ac->gradient))
				ask_gradient(en, it, c);
		}
		for (size_t i = 0; i < s->n_steps; i++) {
			if (!e5_applies(en, it, c, i))
				continue;
			if (!global && it->phase <= PHASE_LOCAL && ac->loss && ac->gradient &&
			    it->dependency && it->dependency[i] && !asked(en, &ac->local[i]) &&
			    engine_may_ahead(en, PHASE_LOCAL))
				ask_step_case(en, it, c, i, ROLE_LOCAL);
			if (it->phase <= PHASE_PSEUDO && ac->local[i] &&
			    !asked(en, &ac->pseudo[i]) && engine_may_ahead(en, PHASE_PSEUDO))
				ask_step_case(en, it, c, i, ROLE_PSEUDO);
		}
	}
	/* a step's candidates read every E5 and E6 of it: none is in before the local phase */
	if (it->phase < PHASE_LOCAL || !engine_may_ahead(en, PHASE_CANDIDATES) ||
	    !phases_candidates_setup(en, it))
		return;
	for (size_t i = 0; i < s->n_steps; i++)
		if (step_optimizable(&s->steps[i]) && step_labelled(en, it, i))
			phases_ask_candidates(en, it, i);
}

/* The ablation of dependency-guided estimation (optimizer.ablate.gradient "global"): every
 * step's local gradient is the case's global gradient, with no call. */
static void local_is_global(struct engine *en, struct iteration *it)
{
	for (size_t c = 0; c < it->n_cases; c++) {
		struct adopt_case *ac = &it->cases[c];
		for (size_t i = 0; ac->gradient && i < en->s->n_steps; i++)
			if (step_optimizable(&en->s->steps[i]) &&
			    trace_find(&it->traces[ac->trace], (int)i)) {
				free(ac->local[i]);
				ac->local[i] = xstrdup(ac->gradient);
			}
	}
}

int stage_local_e5(struct engine *en, struct iteration *it, bool resumed)
{
	if (!resumed && en->s->opt.ablate[ABLATE_GRADIENT] == GRADIENT_GLOBAL) {
		local_is_global(en, it);
		return STAGE_DONE;
	}
	return per_step_case(en, it, resumed, ROLE_LOCAL);
}

int stage_pseudo_e6(struct engine *en, struct iteration *it, bool resumed)
{
	return per_step_case(en, it, resumed, ROLE_PSEUDO);
}

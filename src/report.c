/* report.c: the session's report (--report, :report).  Owns its content, read from the engine's
 * history accessors: the pipeline, scores per iteration, spend per iteration and phase
 * (projected beside actual), Shapley credit with its uncertainty and the budgets, the decided
 * changes as diffs, the validation examples the kept changes fixed and broke, and the models and
 * prices.  The content goes through a form's ops (report_int.h); the Markdown form is here, the
 * HTML form in report_html.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "core/termsafe.h"
#include "final_test.h"
#include "history.h"
#include "report.h"
#include "report_int.h"
#include "tui/diff.h"

char *report_clean(const char *s)
{
	struct sbuf b = {0};
	term_sanitize(&b, s ? s : "", s ? strlen(s) : 0, TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
	return sbuf_take(&b);
}

static void cell(struct report_table *t, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void cell(struct report_table *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct sbuf b = {0};
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	t->cells = xgrow(t->cells, &t->cap, t->n_cells + 1, sizeof *t->cells);
	t->cells[t->n_cells++] = sbuf_take(&b);
}

static void table_flush(struct sbuf *b, const struct report_ops *f, struct report_table *t)
{
	f->table(b, t);
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_cells = t->cap = 0;
}

/* A score as the report prints it: 4 decimals, "-" when not measured. */
static void score_cell(struct report_table *t, double v)
{
	if (v >= 0)
		cell(t, "%.4f", v);
	else
		cell(t, "-");
}

static const char *const decision_words[] = {
    [DECISION_NONE] = "undecided",
    [DECISION_ACCEPT] = "accepted",
    [DECISION_EDIT] = "edited, then accepted",
    [DECISION_REJECT] = "rejected",
};

static const char *const decider_words[] = {
    [DECIDER_UNKNOWN] = "",
    [DECIDER_USER] = " by the user",
    [DECIDER_ENGINE] = " by the engine",
};

struct ctx {
	const struct engine *en;
	const struct session *s;
	const struct report_ops *f;
	struct sbuf *b;
	size_t n; /* iterations */
};

static double iter_cost(const struct iteration *it, bool projected)
{
	double c = 0;
	for (int p = 0; p < PHASE_COUNT; p++)
		c += projected ? it->cost[p].projected_usd : it->cost[p].cost_usd;
	return c;
}

static char **x_labels(const struct ctx *c)
{
	char **x = xcalloc(c->n + 1, sizeof *x);
	for (size_t i = 0; i < c->n; i++)
		x[i] = xasprintf("%d", engine_iteration(c->en, i)->number);
	return x;
}

static void chart_free(struct report_chart *ch)
{
	for (size_t i = 0; i < ch->n_x; i++)
		free(ch->x_labels[i]);
	free(ch->x_labels);
	for (size_t k = 0; k < ch->n_series; k++)
		free(ch->v[k]);
	free(ch->err);
}

static void section_summary(struct ctx *c, const char *date)
{
	struct engine_totals t;
	engine_spent(c->en, &t);
	double first = c->n ? engine_iteration(c->en, 0)->base_score : -1;
	double now = engine_val_score(c->en);
	struct sbuf p = {0};
	sbuf_addf(&p,
	          "Session %s, report made %s. %zu iteration%s of ADOPT on a pipeline of %zu "
	          "steps (metric %s).",
	          c->s->name, date, c->n, c->n == 1 ? "" : "s", c->s->n_steps,
	          metric_name(c->s->metric));
	if (first >= 0)
		sbuf_addf(&p, " Validation score %.4f before the first iteration", first);
	if (first >= 0 && now >= 0)
		sbuf_addf(&p, ", %.4f now.", now);
	else if (first >= 0)
		sbuf_adds(&p, "; the prompts in use were not measured together since.");
	sbuf_addf(&p, " Spent: %ld calls, %ld tokens, %s$%.4f.", t.calls,
	          t.tokens_in + t.tokens_out, t.estimated ? "~" : "", t.cost_usd);
	const cJSON *ft = final_test_get(c->s);
	if (ft)
		sbuf_addf(&p,
		          " Test score of the prompts after iteration %d, on %d held-out examples "
		          "never used for selection: %.4f.",
		          cJSON_GetObjectItem(ft, "iteration")->valueint,
		          cJSON_GetObjectItem(ft, "examples")->valueint,
		          cJSON_GetObjectItem(ft, "score")->valuedouble);
	c->f->para(c->b, sbuf_str(&p));
	sbuf_free(&p);
}

/* The recorded test score (--final-test) when it was measured after iteration `number`. */
static double test_score(const struct ctx *c, int number)
{
	const cJSON *ft = final_test_get(c->s);
	const cJSON *it = cJSON_GetObjectItem(ft, "iteration");
	return ft && cJSON_IsNumber(it) && it->valueint == number
	           ? cJSON_GetObjectItem(ft, "score")->valuedouble
	           : NAN;
}

static void section_pipeline(struct ctx *c)
{
	const struct session *s = c->s;
	c->f->heading(c->b, 2, "Pipeline");
	c->f->graph(c->b, s);
	static const char *const head[] = {"step", "kind", "model", "reads", "loop"};
	struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		cell(&t, "%s%s", st->id, st->frozen ? " (frozen)" : "");
		cell(&t, "%s", step_kind_name(st->kind));
		cell(&t, "%s", st->kind == STEP_LLM && st->model_cfg ? st->model_cfg->model : "");
		struct sbuf r = {0};
		for (size_t k = 0; k < st->n_deps; k++)
			sbuf_addf(&r, "%s%s", k ? ", " : "", s->steps[st->deps[k]].id);
		cell(&t, "%s", sbuf_str(&r));
		sbuf_free(&r);
		cell(&t, "%s", st->loop >= 0 ? s->loops[st->loop].id : "");
	}
	table_flush(c->b, c->f, &t);
}

static void section_scores(struct ctx *c)
{
	c->f->heading(c->b, 2, "Scores per iteration");
	if (!c->n) {
		c->f->para(c->b, "No iteration has run yet.");
		return;
	}
	struct report_chart ch = {.id = "scores",
	                          .title = "Scores per iteration",
	                          .unit = "",
	                          .n_x = c->n,
	                          .x_labels = x_labels(c),
	                          .n_series = final_test_get(c->s) ? 4 : 3,
	                          .series = {"train (batch)", "validation before",
	                                     "validation, best proposal", "test (final prompts)"}};
	for (size_t k = 0; k < ch.n_series; k++)
		ch.v[k] = xcalloc(c->n, sizeof *ch.v[k]);
	static const char *const head[] = {"iteration",     "train", "validation before",
	                                   "best proposal", "kept",  "bad cases analysed",
	                                   "evaluations",   "test",  "note"};
	struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
	for (size_t i = 0; i < c->n; i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		ch.v[0][i] = it->train_score >= 0 ? it->train_score : NAN;
		ch.v[1][i] = it->base_score >= 0 ? it->base_score : NAN;
		ch.v[2][i] = it->best_score >= 0 ? it->best_score : NAN;
		if (ch.n_series > 3)
			ch.v[3][i] = test_score(c, it->number);
		cell(&t, "%d", it->number);
		score_cell(&t, it->train_score);
		score_cell(&t, it->base_score);
		score_cell(&t, it->best_score);
		score_cell(&t, it->kept_score);
		cell(&t, "%zu", it->n_cases);
		cell(&t, "%zu", it->n_evals);
		score_cell(&t, isnan(test_score(c, it->number)) ? -1 : test_score(c, it->number));
		cell(&t, "%s", it->note ? it->note : "");
	}
	c->f->chart(c->b, &ch);
	chart_free(&ch);
	table_flush(c->b, c->f, &t);
}

static void section_spend(struct ctx *c)
{
	c->f->heading(c->b, 2, "Spend");
	if (!c->n)
		return;
	struct report_chart ch = {.id = "spend",
	                          .title = "Spend per iteration (USD)",
	                          .unit = "$",
	                          .bars = true,
	                          .n_x = c->n,
	                          .x_labels = x_labels(c),
	                          .n_series = 2,
	                          .series = {"projected", "actual"}};
	for (size_t k = 0; k < ch.n_series; k++)
		ch.v[k] = xcalloc(c->n, sizeof *ch.v[k]);
	for (size_t i = 0; i < c->n; i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		ch.v[0][i] = iter_cost(it, true);
		ch.v[1][i] = iter_cost(it, false);
	}
	c->f->chart(c->b, &ch);
	chart_free(&ch);
	static const char *const head[] = {"iteration",   "phase",   "calls",
	                                   "cached",      "tokens",  "projected calls",
	                                   "projected $", "actual $"};
	struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
	for (size_t i = 0; i < c->n; i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		for (int p = 0; p < PHASE_COUNT; p++) {
			const struct phase_cost *pc = &it->cost[p];
			if (!pc->calls && !pc->projected_calls && !pc->cost_usd)
				continue;
			cell(&t, "%d", it->number);
			cell(&t, "%s", phase_name((enum phase)p));
			cell(&t, "%ld", pc->calls);
			cell(&t, "%ld", pc->cached);
			cell(&t, "%ld", pc->tokens_in + pc->tokens_out);
			cell(&t, "%ld", pc->projected_calls);
			cell(&t, "%.4f", pc->projected_usd);
			cell(&t, "%s%.4f", pc->estimated ? "~" : "", pc->cost_usd);
		}
		cell(&t, "%d", it->number);
		cell(&t, "total");
		for (int k = 0; k < 4; k++)
			cell(&t, "%s", "");
		cell(&t, "%.4f", iter_cost(it, true));
		cell(&t, "%.4f", iter_cost(it, false));
	}
	table_flush(c->b, c->f, &t);
}

static void section_shapley(struct ctx *c)
{
	const struct session *s = c->s;
	c->f->heading(c->b, 2, "Shapley credit and budgets");
	for (size_t i = 0; i < c->n; i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		char *h = xasprintf("Iteration %d (%s)", it->number,
		                    it->shapley_method ? it->shapley_method : "no Shapley values");
		c->f->heading(c->b, 3, h);
		free(h);
		struct report_chart ch = {.title =
		                              "Shapley value per step (bar: phi, line: +/- sd)",
		                          .unit = "",
		                          .bars = true,
		                          .n_series = 1,
		                          .series = {"phi"}};
		char *id = xasprintf("shapley-%d", it->number);
		ch.id = id;
		ch.x_labels = xcalloc(s->n_steps + 1, sizeof *ch.x_labels);
		ch.v[0] = xcalloc(s->n_steps + 1, sizeof *ch.v[0]);
		ch.err = xcalloc(s->n_steps + 1, sizeof *ch.err);
		static const char *const head[] = {"step", "phi", "sd", "budget", "next budget"};
		struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
		for (size_t k = 0; k < s->n_steps; k++) {
			if (s->steps[k].kind != STEP_LLM || s->steps[k].frozen)
				continue;
			cell(&t, "%s", s->steps[k].id);
			if (it->phi) {
				cell(&t, "%+.4f", it->phi[k]);
				cell(&t, "%.4f", it->phi_sd[k]);
				ch.x_labels[ch.n_x] = xstrdup(s->steps[k].id);
				ch.err[ch.n_x] = it->phi_sd[k];
				ch.v[0][ch.n_x++] = it->phi[k];
			} else {
				cell(&t, "-");
				cell(&t, "-");
			}
			if (it->budget)
				cell(&t, "%d", it->budget[k]);
			else
				cell(&t, "-");
			if (it->next_budget)
				cell(&t, "%d", it->next_budget[k]);
			else
				cell(&t, "-");
		}
		if (ch.n_x)
			c->f->chart(c->b, &ch);
		chart_free(&ch);
		free(id);
		table_flush(c->b, c->f, &t);
	}
}

/* The validation examples the kept configuration fixed and broke, from the per-example scores
 * of the incumbent's evaluation and the best one. */
static void flips(struct ctx *c, const struct iteration *it)
{
	const struct evaluation *inc = NULL, *best = NULL;
	for (size_t e = 0; e < it->n_evals; e++) {
		bool zero = true;
		for (size_t k = 0; k < c->s->n_steps; k++)
			zero &= it->evals[e].choice[k] == 0;
		if (zero && !inc)
			inc = &it->evals[e];
	}
	if (it->best_eval >= 0 && (size_t)it->best_eval < it->n_evals)
		best = &it->evals[it->best_eval];
	if (!inc || !best || !inc->scores || !best->scores) {
		c->f->para(c->b,
		           "Per-example validation scores were not recorded for this iteration.");
		return;
	}
	const struct split *val = &c->s->data.splits[SPLIT_VAL];
	if (!val->n)
		val = &c->s->data.splits[SPLIT_TRAIN];
	static const char *const head[] = {"example", "change", "before", "after"};
	struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
	size_t fixed = 0, broken = 0;
	for (size_t i = 0; i < it->n_val && i < val->n; i++) {
		double a = inc->scores[i], b = best->scores[i];
		if (a == b)
			continue;
		cell(&t, "%s", val->ex[i].id);
		cell(&t, "%s", b > a ? "fixed" : "broken");
		cell(&t, "%.4f", a);
		cell(&t, "%.4f", b);
		fixed += b > a;
		broken += b < a;
	}
	char *p = xasprintf("On the %zu validation examples, the best combination fixed %zu and "
	                    "broke %zu (score %.4f -> %.4f).",
	                    it->n_val, fixed, broken, inc->score, best->score);
	c->f->para(c->b, p);
	free(p);
	if (t.n_cells)
		table_flush(c->b, c->f, &t);
	else
		free(t.cells);
}

static void section_changes(struct ctx *c)
{
	c->f->heading(c->b, 2, "Changes and decisions");
	bool any = false;
	for (size_t i = 0; i < c->n; i++) {
		const struct iteration *it = engine_iteration(c->en, i);
		if (!it->n_changes)
			continue;
		any = true;
		char *h = xasprintf("Iteration %d", it->number);
		c->f->heading(c->b, 3, h);
		free(h);
		bool kept = false;
		for (size_t k = 0; k < it->n_changes; k++) {
			const struct step_change *ch = &it->changes[k];
			char *t = xasprintf("Step %s: %s%s", c->s->steps[ch->step].id,
			                    decision_words[ch->decision], decider_words[ch->by]);
			c->f->heading(c->b, 4, t);
			free(t);
			c->f->diff(c->b, ch->old_prompt ? ch->old_prompt : "",
			           ch->decision == DECISION_EDIT && ch->edited ? ch->edited
			           : ch->new_prompt                            ? ch->new_prompt
			                                                       : "");
			kept |= ch->decision == DECISION_ACCEPT || ch->decision == DECISION_EDIT;
		}
		if (kept)
			flips(c, it);
	}
	if (!any)
		c->f->para(c->b, "No change was proposed.");
}

static void section_models(struct ctx *c)
{
	const struct session *s = c->s;
	c->f->heading(c->b, 2, "Models and prices");
	static const char *const head[] = {"configuration",    "provider",          "model",
	                                   "input $/M tokens", "output $/M tokens", "temperature"};
	struct report_table t = {head, ARRAY_SIZE(head), NULL, 0, 0};
	for (size_t i = 0; i < s->n_models; i++) {
		const struct model_config *m = &s->models[i];
		double in, out;
		bool known;
		llm_price(m, &in, &out, &known);
		cell(&t, "%s", m->name);
		cell(&t, "%s%s", m->provider,
		     strcmp(m->provider, "scripted") == 0 ? " (a stand-in, not a real LLM)" : "");
		cell(&t, "%s", m->model ? m->model : "");
		cell(&t, known ? "%.4f" : "%.4f (unknown: counted as free)", in);
		cell(&t, "%.4f", out);
		cell(&t, "%g", m->temperature);
	}
	table_flush(c->b, c->f, &t);
}

char *report_text(const struct engine *en, bool scripted, bool md)
{
	struct sbuf b = {0};
	struct ctx c = {en, engine_session(en), md ? &report_md_ops : &report_html_ops, &b,
	                engine_iterations(en)};
	char date[32];
	history_now_utc(date, sizeof date);
	char *title = xasprintf("ADOPT report: %s", c.s->name);
	c.f->begin(&b, title,
	           scripted ? "Scripted model: every answer and score here comes from a rule-based "
	                      "stand-in, not a real LLM."
	                    : NULL);
	free(title);
	section_summary(&c, date);
	section_pipeline(&c);
	section_scores(&c);
	section_spend(&c);
	section_shapley(&c);
	section_changes(&c);
	section_models(&c);
	c.f->end(&b);
	return sbuf_take(&b);
}

int report_write(const struct engine *en, bool scripted, const char *path, struct err *e)
{
	char *text = report_text(en, scripted, str_endswith(path, ".md"));
	int rc = file_write_atomic(path, text, strlen(text), e);
	free(text);
	return rc;
}

int report_main(const struct front_opts *o)
{
	struct history h;
	int rc = history_open(&h, o);
	struct err e = {{0}};
	if (rc == 0 && report_write(h.en, h.scripted, o->report_path, &e) < 0) {
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
		rc = ADOPT_EXIT_FAILED;
	} else if (rc == 0) {
		term_printf(stderr, "%s: report written to %s%s\n", h.s->name, o->report_path,
		            h.scripted ? "  [scripted model]" : "");
	}
	history_close(&h);
	return rc;
}

/* ---- the Markdown form ---- */

/* Table cells: one line, '|' escaped. */
static void md_cell(struct sbuf *b, const char *s)
{
	char *t = report_clean(s);
	for (const char *p = t; *p; p++) {
		if (*p == '|' || *p == '\\' || *p == '`' || *p == '*' || *p == '_' || *p == '<')
			sbuf_addc(b, '\\');
		sbuf_addc(b, *p == '\n' || *p == '\t' ? ' ' : *p);
	}
	free(t);
}

/* A fenced block longer than any run of backquotes in the text. */
static void md_block(struct sbuf *b, const char *lang, const char *s)
{
	char *t = report_clean(s);
	size_t run = 0, longest = 0;
	for (const char *p = t; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	size_t n = MAX(3, longest + 1);
	for (size_t i = 0; i < n; i++)
		sbuf_addc(b, '`');
	sbuf_addf(b, "%s\n%s%s", lang, t, *t && t[strlen(t) - 1] == '\n' ? "" : "\n");
	for (size_t i = 0; i < n; i++)
		sbuf_addc(b, '`');
	sbuf_adds(b, "\n\n");
	free(t);
}

static void md_begin(struct sbuf *b, const char *title, const char *banner)
{
	sbuf_adds(b, "# ");
	md_cell(b, title);
	sbuf_adds(b, "\n\n");
	if (banner) {
		sbuf_adds(b, "> **");
		md_cell(b, banner);
		sbuf_adds(b, "**\n\n");
	}
}

static void md_heading(struct sbuf *b, int level, const char *text)
{
	for (int i = 0; i < level; i++)
		sbuf_addc(b, '#');
	sbuf_addc(b, ' ');
	md_cell(b, text);
	sbuf_adds(b, "\n\n");
}

static void md_para(struct sbuf *b, const char *text)
{
	md_cell(b, text);
	sbuf_adds(b, "\n\n");
}

static void md_table(struct sbuf *b, const struct report_table *t)
{
	for (size_t k = 0; k < t->n_cols; k++) {
		sbuf_adds(b, "| ");
		md_cell(b, t->head[k]);
		sbuf_addc(b, ' ');
	}
	sbuf_adds(b, "|\n");
	for (size_t k = 0; k < t->n_cols; k++)
		sbuf_adds(b, "|---");
	sbuf_adds(b, "|\n");
	for (size_t i = 0; i < t->n_cells; i++) {
		sbuf_adds(b, "| ");
		md_cell(b, t->cells[i]);
		sbuf_adds(b, (i + 1) % t->n_cols ? " " : " |\n");
	}
	sbuf_addc(b, '\n');
}

/* Markdown has no charts: the tables beside them carry the numbers. */
static void md_chart(struct sbuf *b, const struct report_chart *c)
{
	(void)b, (void)c;
}

static void md_graph(struct sbuf *b, const struct session *s)
{
	struct sbuf g = {0};
	for (size_t i = 0; i < s->n_order; i++) {
		const struct order_item *o = &s->order[i];
		if (o->step >= 0) {
			sbuf_addf(&g, "%s%s", i ? " -> " : "", s->steps[o->step].id);
			continue;
		}
		const struct loop *l = &s->loops[o->loop];
		sbuf_addf(&g, "%s[loop %s, up to %d rounds: ", i ? " -> " : "", l->id,
		          l->max_rounds);
		for (size_t k = 0; k < l->n_steps; k++)
			sbuf_addf(&g, "%s%s", k ? " -> " : "", s->steps[l->steps[k]].id);
		sbuf_adds(&g, "]");
	}
	md_block(b, "text", sbuf_str(&g));
	sbuf_free(&g);
}

static void md_diff(struct sbuf *b, const char *old, const char *new_text)
{
	struct diff d = {0};
	diff_texts(&d, old, new_text);
	struct sbuf w = {0};
	static const char *const open[] = {"", "{+", "[-"}, *const close[] = {"", "+}", "-]"};
	for (size_t i = 0; i < d.n; i++) {
		sbuf_adds(&w, open[d.v[i].kind]);
		sbuf_add(&w, d.v[i].text, d.v[i].len);
		sbuf_adds(&w, close[d.v[i].kind]);
	}
	diff_free(&d);
	sbuf_adds(b, "Word diff ([-removed-] {+added+}):\n\n");
	md_block(b, "text", sbuf_str(&w));
	sbuf_free(&w);
}

static void md_end(struct sbuf *b)
{
	(void)b;
}

const struct report_ops report_md_ops = {md_begin, md_heading, md_para, md_table,
                                         md_chart, md_graph,   md_diff, md_end};

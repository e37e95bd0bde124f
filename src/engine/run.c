/* run.c: the pipeline executor.  Each example walks the execution order (steps and loops,
 * round by round); template, regex and retrieve steps run at once, LLM steps and retrieve steps
 * with a server "url" go to the LLM layer and the walk resumes in their callback.  Exec steps never
 * block the loop either: the command is started (proc.h) and watched as an event source of the LLM
 * layer's loop (llm_source_add), and the walk resumes when it is reaped; cancelling kills and reaps
 * it. Examples therefore run side by side whatever their steps are.  A memo keyed by the request
 * hash answers repeated LLM executions and server retrievals (the same url, query and k)
 * without a request (code steps are not memoized: they are cheap or, for exec, may have
 * effects), so a configuration that changes only later steps asks nothing again.  The memo is
 * bounded (MEMO_BYTES): it keeps two generations, the answers put or used since the last turn
 * and those of the turn before; when the current one passes half the bound the older is
 * dropped, and an answer found in the older one moves to the current, so what is in use
 * survives and memory stays flat over iterations.
 * A dropped answer comes back from the response cache (or, without one, is asked again).  The
 * final output is scored with the session's metric (or its LLM judge).  runner_project walks
 * the same way without sending anything, to price a batch before it runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codestep.h"
#include "core/metric.h"
#include "core/rx.h"
#include "engine/run.h"
#include "llm/cost.h"

struct memo_entry {
	char key[65];
	char *raw;
	char *reasoning; /* NULL: none */
	char *finish;    /* the provider's finish reason, NULL when none */
	struct llm_usage usage;
	bool scripted, cut;
	long replaced; /* invalid bytes the LLM layer replaced in raw */
};

#define MEMO_BYTES (16u << 20) /* both generations, strings and table slots */

struct memo {
	struct memo_entry *tab; /* open addressing, power-of-two capacity */
	size_t n, cap, bytes;
};

/* What a projection learns from the answers so far: the latest answer of a step on an example,
 * per round of a loop (what stands in for its next one, so that what reads it renders to about
 * its real length and a loop runs about as many rounds),
 * and the mean output tokens of a step under a prompt (the length of that stand-in's price);
 * and per step, how often a request that differs from the one before it on the same example (a
 * candidate's) gave the same answer (runner.changed, runner.repeated). */
struct answer_note {
	uint64_t h;   /* of split, example, step and round; 0: empty slot */
	uint64_t req; /* of the request that gave it (0: not an LLM step's) */
	char *raw;
	bool real; /* a walk's note: the memo's or the cache's answer, not a stand-in */
};
struct out_note {
	uint64_t h; /* of step and prompt template; 0: empty slot */
	double sum;
	long n;
};

struct runner {
	const struct session *s;
	struct llm *llm;
	bool trust;
	struct answer_note *answers; /* open addressing, power-of-two capacity */
	size_t n_answers, cap_answers;
	struct out_note *outs;
	size_t n_outs, cap_outs;
	long *changed, *repeated; /* per step: answers to a changed request, of them the same */
	long *cand_changed, *cand_repeated; /* of those, asked with a candidate's prompt */
	struct memo memo[2];                /* the current generation and the one before */
	struct runner_stats stats;
	struct run_batch *batches; /* live batches, for runner_free */
};

struct ex_state {
	struct run_batch *b;
	size_t i;
	struct trace trace;
	size_t pos;        /* in s->order */
	int round;         /* inside a loop: 1-based, else 0 */
	size_t loop_pos;   /* in loop->steps */
	int *latest;       /* per step: index in trace.steps of its latest record, -1 */
	uint64_t pending;  /* the LLM request waited for */
	uint64_t exec;     /* the event source of the exec step waited for */
	int pending_step;  /* index in trace.steps being waited for, or -1 */
	uint64_t prompt_h; /* the pending step's prompt template (its out_note) */
	bool judging;
	bool finished;
	bool guessed; /* runner_project: a stand-in answer fed what follows */
	bool loose; /* and one that was not its request's own (the same text for other requests) */
	int64_t t0;
	char **scratch; /* strings handed to the template renderer */
	size_t n_scratch, cap_scratch;
};

struct run_batch {
	struct runner *r;
	struct run_batch *next;
	const struct variant *const *config;
	struct template **tpl; /* per step: the variant's parsed prompt (NULL: the step's own) */
	enum split_id split;
	struct ex_state *ex;
	size_t n, finished;
	double *scores;
	char *tag;
	struct run_callbacks cb;
	bool cancelled;
	void *user;
	long calls; /* requests answered (memo hits and answers shared with another are none) */
	size_t launched; /* examples started */
	bool started;    /* run_batch_launch was called */
	bool drop;       /* run_batch_drop_traces */
	/* runner_project: requests are priced, never sent */
	const struct run_estimate *dry;
	struct run_projection *proj;
};

static void advance(struct ex_state *es);
static void cursor_next(struct ex_state *es);

/* ---- memo ---- */

static struct memo_entry *memo_slot(struct memo *g, const char *key)
{
	if (!g->cap)
		return NULL;
	size_t mask = g->cap - 1, h = (size_t)hash_bytes(key, 64, 0) & mask;
	while (g->tab[h].raw && strcmp(g->tab[h].key, key) != 0)
		h = (h + 1) & mask;
	return &g->tab[h];
}

static void memo_clear(struct memo *g)
{
	for (size_t i = 0; i < g->cap; i++) {
		free(g->tab[i].raw);
		free(g->tab[i].reasoning);
		free(g->tab[i].finish);
	}
	free(g->tab);
	*g = (struct memo){0};
}

static size_t entry_bytes(const struct memo_entry *e)
{
	return 2 * sizeof *e + strlen(e->raw) + 1 + (e->reasoning ? strlen(e->reasoning) + 1 : 0) +
	       (e->finish ? strlen(e->finish) + 1 : 0);
}

/* Adds e (its strings now owned by the memo) to the current generation, turning generations
 * first when it is full.  Returns the stored entry (valid until the next memo_add). */
static struct memo_entry *memo_add(struct runner *r, const struct memo_entry *e)
{
	struct memo *g = &r->memo[0];
	if (g->bytes > MEMO_BYTES / 2) {
		memo_clear(&r->memo[1]);
		r->memo[1] = *g;
		*g = (struct memo){0};
	}
	if ((g->n + 1) * 2 > g->cap) {
		struct memo_entry *old = g->tab;
		size_t oldcap = g->cap;
		g->cap = oldcap ? oldcap * 2 : 256;
		g->tab = xcalloc(g->cap, sizeof *g->tab);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].raw)
				*memo_slot(g, old[i].key) = old[i];
		free(old);
	}
	struct memo_entry *slot = memo_slot(g, e->key);
	*slot = *e;
	g->n++;
	g->bytes += entry_bytes(slot);
	return slot;
}

static struct memo_entry copy_entry(const struct memo_entry *e)
{
	struct memo_entry c = *e;
	c.raw = xstrdup(e->raw);
	c.reasoning = e->reasoning ? xstrdup(e->reasoning) : NULL;
	c.finish = e->finish ? xstrdup(e->finish) : NULL;
	return c;
}

/* The answer for key, or NULL; valid until the next memo_get or memo_put. */
static const struct memo_entry *memo_get(struct runner *r, const char *key)
{
	struct memo_entry *e = memo_slot(&r->memo[0], key);
	if (e && e->raw)
		return e;
	e = memo_slot(&r->memo[1], key);
	if (!e || !e->raw)
		return NULL;
	struct memo_entry c = copy_entry(e); /* in use again: into the current generation */
	return memo_add(r, &c);
}

static void memo_put(struct runner *r, const struct llm_reply *rep)
{
	struct memo_entry *cur = memo_slot(&r->memo[0], rep->key);
	if (cur && cur->raw)
		return;
	struct memo_entry e = {0};
	memcpy(e.key, rep->key, 65);
	e.raw = xstrdup(rep->text);
	e.reasoning = *rep->reasoning ? xstrdup(rep->reasoning) : NULL;
	e.usage = rep->usage;
	e.scripted = rep->scripted;
	e.replaced = rep->replaced;
	e.finish = rep->finish_reason ? xstrdup(rep->finish_reason) : NULL;
	e.cut = rep->cut;
	memo_add(r, &e);
}

/* A cut answer is recorded as such; it fails the step only when its model says so. */
static void mark_cut(struct trace_step *ts, const char *finish, bool cut)
{
	free(ts->finish);
	ts->finish = finish ? xstrdup(finish) : NULL;
	ts->cut = cut;
}

static bool cut_fails(const struct model_config *m)
{
	return m && m->cut_is_error == CUT_ERROR;
}

/* ---- notes for projections ---- */

#define NOTE_SLOT(name, type)                                                                      \
	static type *name(type *v, size_t cap, uint64_t h)                                         \
	{                                                                                          \
		size_t mask = cap - 1, i = (size_t)h & mask;                                       \
		while (v[i].h && v[i].h != h)                                                      \
			i = (i + 1) & mask;                                                        \
		return &v[i];                                                                      \
	}
NOTE_SLOT(answer_slot, struct answer_note)
NOTE_SLOT(out_slot, struct out_note)

static uint64_t note_hash(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t v[3] = {a, b, c};
	uint64_t h = hash_bytes(v, sizeof v, 0);
	return h ? h : 1;
}

static uint64_t prompt_hash(const struct template *t)
{
	const char *text = template_text(t);
	return hash_bytes(text, strlen(text), 0);
}

/* Remembers a step's answer on an example and its length under the prompt it ran with; key:
 * its request's (NULL: not an LLM step's). */
static void note_answer(struct ex_state *es, int step, const char *raw, long out, const char *key)
{
	struct runner *r = es->b->r;
	double tokens = out > 0 ? (double)out : (double)cost_estimate_tokens(raw);
	if ((r->n_answers + 1) * 2 > r->cap_answers) {
		struct answer_note *old = r->answers;
		size_t oldcap = r->cap_answers;
		r->cap_answers = oldcap ? oldcap * 2 : 256;
		r->answers = xcalloc(r->cap_answers, sizeof *r->answers);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].h)
				*answer_slot(r->answers, r->cap_answers, old[i].h) = old[i];
		free(old);
	}
	uint64_t h =
	    note_hash(es->b->split, es->trace.example, (uint64_t)step << 20 | (uint64_t)es->round);
	struct answer_note *a = answer_slot(r->answers, r->cap_answers, h);
	uint64_t req = key ? hash_bytes(key, strlen(key), 0) | 1 : 0;
	if (!a->h)
		r->n_answers++;
	else if (req && a->req && a->req != req && (size_t)step < r->s->n_steps) {
		bool same = strcmp(a->raw, raw) == 0;
		r->changed[step]++;
		r->repeated[step] += same;
		if (es->b->config && es->b->config[step]) { /* a candidate's prompt */
			r->cand_changed[step]++;
			r->cand_repeated[step] += same;
		}
	}
	free(a->raw);
	*a = (struct answer_note){h, req, xstrdup(raw), false};
	if ((r->n_outs + 1) * 2 > r->cap_outs) {
		struct out_note *old = r->outs;
		size_t oldcap = r->cap_outs;
		r->cap_outs = oldcap ? oldcap * 2 : 64;
		r->outs = xcalloc(r->cap_outs, sizeof *r->outs);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].h)
				*out_slot(r->outs, r->cap_outs, old[i].h) = old[i];
		free(old);
	}
	h = note_hash((uint64_t)step, es->prompt_h, 0);
	struct out_note *o = out_slot(r->outs, r->cap_outs, h);
	if (!o->h)
		r->n_outs++;
	o->h = h;
	o->sum += tokens;
	o->n++;
}

/* The latest answer noted for a step on the example of es (this round), or NULL. */
static const char *answer_noted(const struct ex_state *es, int step)
{
	const struct runner *r = es->b->r;
	if (!r->cap_answers)
		return NULL;
	uint64_t h =
	    note_hash(es->b->split, es->trace.example, (uint64_t)step << 20 | (uint64_t)es->round);
	const struct answer_note *a = answer_slot(r->answers, r->cap_answers, h);
	return a->h ? a->raw : NULL;
}

/* ---- runner ---- */

struct runner *runner_new(const struct session *s, struct llm *l, bool trust)
{
	struct runner *r = xcalloc(1, sizeof *r);
	r->s = s;
	r->llm = l;
	r->trust = trust;
	r->changed = xcalloc(s->n_steps + 1, sizeof *r->changed);
	r->repeated = xcalloc(s->n_steps + 1, sizeof *r->repeated);
	r->cand_changed = xcalloc(s->n_steps + 1, sizeof *r->cand_changed);
	r->cand_repeated = xcalloc(s->n_steps + 1, sizeof *r->cand_repeated);
	return r;
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	while (r->batches) {
		struct run_batch *b = r->batches;
		run_batch_free(b);
	}
	memo_clear(&r->memo[0]);
	memo_clear(&r->memo[1]);
	for (size_t i = 0; i < r->cap_answers; i++)
		free(r->answers[i].raw);
	free(r->answers);
	free(r->outs);
	free(r->changed);
	free(r->repeated);
	free(r->cand_changed);
	free(r->cand_repeated);
	free(r);
}

void runner_get_stats(const struct runner *r, struct runner_stats *st)
{
	*st = r->stats;
}

/* ---- rendering ---- */

struct render_ctx {
	struct ex_state *es;
	const struct step *st;
	int depth;
};

static const char *keep(struct ex_state *es, char *s)
{
	es->scratch = xgrow(es->scratch, &es->cap_scratch, es->n_scratch + 1, sizeof *es->scratch);
	return es->scratch[es->n_scratch++] = s;
}

static void scratch_free(struct ex_state *es)
{
	for (size_t i = 0; i < es->n_scratch; i++)
		free(es->scratch[i]);
	es->n_scratch = 0;
}

static const struct example *example_of(const struct ex_state *es)
{
	const struct split *sp = &es->b->r->s->data.splits[es->b->split];
	return &sp->ex[es->trace.example];
}

static const char *lookup(void *arg, const char *name)
{
	struct render_ctx *c = arg;
	struct ex_state *es = c->es;
	const struct session *s = es->b->r->s;
	if (strcmp(name, "round") == 0) {
		char buf[16];
		snprintf(buf, sizeof buf, "%d", es->round);
		return keep(es, xstrdup(buf));
	}
	if (str_startswith(name, "input.")) {
		char *joined;
		const char *v = example_text(example_of(es), name + 6, &joined);
		if (joined)
			keep(es, joined);
		return v ? v : "";
	}
	if (str_startswith(name, "steps.")) {
		const char *id = name + 6, *dot = strrchr(id, '.');
		bool rounds = dot && strcmp(dot, ".rounds") == 0;
		bool output = dot && strcmp(dot, ".output") == 0;
		char *sid = rounds || output ? xstrndup(id, (size_t)(dot - id)) : xstrdup(id);
		int si = session_step_index(s, sid);
		free(sid);
		if (si < 0)
			return NULL;
		if (!rounds)
			return es->latest[si] >= 0 ? es->trace.steps[es->latest[si]].out.text : "";
		struct sbuf b = {0};
		for (size_t i = 0; i < es->trace.n; i++) {
			const struct trace_step *ts = &es->trace.steps[i];
			if (ts->step == si && !ts->error) {
				if (b.len)
					sbuf_addc(&b, '\n');
				sbuf_adds(&b, ts->out.text ? ts->out.text : "");
			}
		}
		return keep(es, sbuf_take(&b));
	}
	for (size_t i = 0; i < c->st->n_inputs && c->depth == 0; i++) {
		if (strcmp(c->st->inputs[i].name, name) == 0) {
			c->depth++;
			const char *v = lookup(c, c->st->inputs[i].path);
			c->depth--;
			return v;
		}
	}
	return NULL;
}

/* "name: value" for each distinct variable, the step's input as the roles see it. */
static char *render_inputs(struct render_ctx *c, const struct template *t)
{
	struct sbuf b = {0};
	for (size_t i = 0; t && i < template_nvars(t); i++) {
		const char *name = template_var(t, i);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(template_var(t, k), name) == 0;
		if (seen)
			continue;
		const char *v = lookup(c, name);
		sbuf_addf(&b, "%s%s: %s", b.len ? "\n" : "", name, v ? v : "");
	}
	return sbuf_take(&b);
}

static char *render(struct render_ctx *c, const struct template *t, struct err *e)
{
	struct sbuf b = {0};
	if (template_render(t, lookup, c, &b, e) < 0) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_take(&b);
}

/* ---- steps ---- */

static void record_error(struct ex_state *es, struct trace_step *ts, const char *msg)
{
	ts->error = xstrdup(msg);
	if (!es->trace.error)
		es->trace.error =
		    xasprintf("step \"%s\": %s", es->b->r->s->steps[ts->step].id, msg);
}

static void step_finished(struct ex_state *es, int tsi)
{
	struct trace_step *ts = &es->trace.steps[tsi];
	es->latest[ts->step] = tsi;
	if (es->b->cb.step_done)
		es->b->cb.step_done(es->b->cb.arg, es->b, &es->trace, ts);
}

static void apply_llm_output(struct ex_state *es, struct trace_step *ts, const char *raw)
{
	const struct step *st = &es->b->r->s->steps[ts->step];
	ts->raw = xstrdup(raw);
	if (st->parse_rx) {
		struct rx_match m;
		struct err e = {{0}};
		int rc = rx_match(st->parse_rx, raw, strlen(raw), 0, &m, &e);
		char *g = rc == 1 ? rx_group_dup(&m, raw, st->parse_group) : NULL;
		if (rc < 0) {
			record_error(es, ts, e.msg);
		} else if (g) {
			str_trim(g);
			step_out_set_text(&ts->out, g);
		} else {
			char *t = xstrdup(raw);
			step_out_set_text(&ts->out, str_trim(t));
			free(t);
			ts->parse_miss = true;
		}
		free(g);
	} else {
		char *t = xstrdup(raw);
		step_out_set_text(&ts->out, str_trim(t));
		free(t);
	}
}

static void on_llm_chunk(void *arg, const char *text, size_t len)
{
	struct ex_state *es = arg;
	if (es->b->cb.chunk && es->pending_step >= 0)
		es->b->cb.chunk(es->b->cb.arg, es->b, &es->trace,
		                es->trace.steps[es->pending_step].step, text, len);
}

static void finish_example(struct ex_state *es);

static void on_llm_done(void *arg, const struct llm_reply *rep)
{
	struct ex_state *es = arg;
	struct runner *r = es->b->r;
	es->pending = 0;
	es->b->calls += !rep->shared;
	if (es->judging) {
		es->judging = false;
		const struct metric *m = r->s->metric;
		double score = 0;
		struct err e = {{0}};
		if (rep->error)
			es->trace.error = xasprintf("judge: %s", rep->error);
		else if (metric_judge_parse(m, rep->text, &score, &e) < 0)
			es->trace.error = xasprintf("judge: %s", e.msg);
		else
			memo_put(r, rep);
		es->trace.score = score;
		es->trace.good = !es->trace.error && score >= metric_threshold(m);
		es->finished = true;
		es->b->scores[es->i] = score;
		finish_example(es);
		return;
	}
	int tsi = es->pending_step;
	es->pending_step = -1;
	struct trace_step *ts = &es->trace.steps[tsi];
	ts->latency_s = rep->latency_s;
	ts->queued_s = rep->queued_s;
	/* the answer of an identical request in flight is reused as a memo hit is: not billed
	 * again, its tokens those the answer cost when it ran */
	const struct llm_usage *u = rep->shared ? &rep->answer : &rep->usage;
	ts->memo = rep->shared;
	ts->tok_in = u->in;
	ts->tok_out = u->out;
	ts->tok_cached = u->cached;
	ts->tok_reasoning = u->reasoning;
	ts->estimated = u->estimated;
	if (*rep->reasoning)
		ts->reasoning = xstrdup(rep->reasoning);
	ts->cost_usd = rep->cost_usd;
	ts->cached = rep->cached;
	ts->scripted = rep->scripted;
	ts->replaced = rep->replaced;
	memcpy(ts->key, rep->key, sizeof ts->key);
	mark_cut(ts, rep->finish_reason, rep->cut);
	const struct model_config *mc = r->s->steps[ts->step].model_cfg;
	bool failed = rep->error || (rep->cut && cut_fails(mc));
	if (rep->error) {
		record_error(es, ts, rep->error);
	} else if (failed) {
		ts->raw = xstrdup(rep->text);
		char *msg = xasprintf("answer cut by the token limit (finish reason \"%s\"): raise "
		                      "max_tokens of model \"%s\" (cut_is_error is true)",
		                      rep->finish_reason, mc->name ? mc->name : "?");
		record_error(es, ts, msg);
		free(msg);
	} else {
		memo_put(r, rep);
		apply_llm_output(es, ts, rep->text);
		note_answer(es, ts->step, rep->text, rep->answer.out, ts->key);
	}
	step_finished(es, tsi);
	if (!failed)
		cursor_next(es);
	advance(es);
}

/* ---- projection (runner_project) ---- */

enum dry_kind { DRY_MEMO, DRY_CACHED, DRY_PAID };

static char *seen_slot(char (*set)[65], size_t cap, const char *key)
{
	size_t mask = cap - 1, h = (size_t)hash_bytes(key, 64, 0) & mask;
	while (set[h][0] && memcmp(set[h], key, 65) != 0)
		h = (h + 1) & mask;
	return set[h];
}

/* Adds a request key to those the projection priced; false when it was there. */
static bool seen_add(struct run_projection *p, const char *key)
{
	if ((p->n_seen + 1) * 2 > p->cap_seen) {
		size_t cap = p->cap_seen ? p->cap_seen * 2 : 256;
		char(*set)[65] = xcalloc(cap, sizeof *set);
		for (size_t i = 0; i < p->cap_seen; i++)
			if (p->seen[i][0])
				memcpy(seen_slot(set, cap, p->seen[i]), p->seen[i], 65);
		free(p->seen);
		p->seen = set, p->cap_seen = cap;
	}
	char *slot = seen_slot(p->seen, p->cap_seen, key);
	if (slot[0])
		return false;
	memcpy(slot, key, 65);
	p->n_seen++;
	return true;
}

static void dry_add(struct run_batch *b, int step, enum dry_kind k, const struct llm_usage *u,
                    double usd)
{
	struct run_cost *c[2] = {&b->proj->total,
	                         b->proj->steps && step >= 0 ? &b->proj->steps[step] : NULL};
	for (int i = 0; i < 2 && c[i]; i++) {
		c[i]->executions++;
		c[i]->memo += k == DRY_MEMO;
		c[i]->cached += k == DRY_CACHED;
		if (k != DRY_PAID)
			continue;
		c[i]->calls++;
		c[i]->tokens_in += u->in;
		c[i]->tokens_out += u->out;
		c[i]->usd += usd;
	}
}

/* The stand-in answer of a priced request: the end of the text it reads (its inputs), about
 * `tokens` tokens of it (cut at a character boundary, repeated when short), then its key's first
 * 8 characters (distinct requests stand for distinct answers). */
static char *stand_in(const char *key, const char *prompt, double tokens)
{
	size_t want = tokens > 0 ? (size_t)(tokens * 4 + 0.5) : 0, n = strlen(prompt);
	struct sbuf b = {0};
	while (b.len < want && n) {
		size_t take = MIN(n, want - b.len);
		while (take && (prompt[n - take] & 0xC0) == 0x80)
			take--;
		if (!take)
			break;
		sbuf_add(&b, prompt + n - take, take);
	}
	if (b.len)
		sbuf_addc(&b, ' ');
	sbuf_add(&b, key, MIN(strlen(key), (size_t)8));
	return sbuf_take(&b);
}

/* Share of a step's answers to a changed request that were the same as before: the step's own
 * when measured WALK_MEASURED times, else all steps', else WALK_PRIOR; cand: of those asked
 * with a candidate's prompt (selection's evaluations), when the step has WALK_MEASURED of them.
 * The prior is fitted, not known: bench/scale_probe's m = 12 chains (bench/README.md 12a) have
 * selection within -18..+24 % at a fifth, over by 28-89 % at none and under by 21-45 % at a
 * half. */
#define WALK_MEASURED 8
#define WALK_PRIOR    0.2
static double repeat_share(const struct runner *r, int step, bool cand)
{
	long changed = 0, repeated = 0;
	bool mine = (size_t)step < r->s->n_steps;
	if (cand && mine && r->cand_changed[step] >= WALK_MEASURED)
		return (double)r->cand_repeated[step] / (double)r->cand_changed[step];
	if (mine && r->changed[step] >= WALK_MEASURED)
		return (double)r->repeated[step] / (double)r->changed[step];
	for (size_t i = 0; i < r->s->n_steps; i++)
		changed += r->changed[i], repeated += r->repeated[i];
	return changed >= WALK_MEASURED ? (double)repeated / (double)changed : WALK_PRIOR;
}

/* The projection's draws: of n draws of a kind for a step at share x, round(n x) hit, spread
 * evenly in the order drawn (error diffusion: deterministic, so a small sample does not swing
 * with which keys a hash happens to pick). */
enum draw_kind { DRAW_SAME, DRAW_REPEAT, DRAW_KINDS };
static bool draw_even(const struct ex_state *es, enum draw_kind k, int step, double share)
{
	struct run_projection *p = es->b->proj;
	size_t m = es->b->r->s->n_steps;
	if (step < 0 || (size_t)step >= m || share <= 0)
		return false;
	if (!p->draws) {
		p->draws = xcalloc(DRAW_KINDS * m, sizeof *p->draws);
		for (size_t i = 0; i < DRAW_KINDS * m; i++)
			p->draws[i] = 0.5;
	}
	double *acc = &p->draws[(size_t)k * m + (size_t)step];
	*acc += share;
	if (*acc < 1)
		return false;
	*acc -= 1;
	return true;
}

static struct answer_note *walk_slot(struct run_projection *p, const struct ex_state *es, int step)
{
	uint64_t h =
	    note_hash(es->b->split, es->trace.example, (uint64_t)step << 20 | (uint64_t)es->round);
	return p->cap_notes ? answer_slot(p->notes, p->cap_notes, h) : NULL;
}

/* The answer an earlier walk of this projection gave the step on this example for another
 * request, when that answer is taken to be this one's (at repeat_share, drawn evenly),
 * or NULL; *real: it is the memo's or the cache's (the plan's first walk: the incumbent's
 * recorded answer), so what reads it is the incumbent's request, which the memo answers. */
static const char *walk_same(const struct ex_state *es, int step, const char *key, bool *real)
{
	const struct answer_note *a = step >= 0 ? walk_slot(es->b->proj, es, step) : NULL;
	uint64_t req = hash_bytes(key, strlen(key), 0) | 1;
	if (!a || !a->h || a->req == req)
		return NULL;
	bool cand = es->b->config && es->b->config[step]; /* a candidate's prompt */
	*real = a->real;
	return draw_even(es, DRAW_SAME, step, repeat_share(es->b->r, step, cand)) ? a->raw : NULL;
}

/* Notes a walk's answer of the step on this example (walk_same reads it): a
 * stand-in, or real (the memo's or the cache's), which a stand-in never replaces. */
static void walk_note(const struct ex_state *es, int step, const char *key, const char *answer,
                      bool real)
{
	struct run_projection *p = es->b->proj;
	if ((p->n_notes + 1) * 2 > p->cap_notes) {
		struct answer_note *old = p->notes;
		size_t oldcap = p->cap_notes;
		p->cap_notes = oldcap ? oldcap * 2 : 256;
		p->notes = xcalloc(p->cap_notes, sizeof *p->notes);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].h)
				*answer_slot(p->notes, p->cap_notes, old[i].h) = old[i];
		free(old);
	}
	struct answer_note *a = walk_slot(p, es, step);
	if (a->h && a->real)
		return;
	if (!a->h)
		p->n_notes++;
	free(a->raw);
	a->h =
	    note_hash(es->b->split, es->trace.example, (uint64_t)step << 20 | (uint64_t)es->round);
	a->req = hash_bytes(key, strlen(key), 0) | 1;
	a->raw = xstrdup(answer);
	a->real = real;
}

/* Prices one request of a projection: free when the memo or the response cache holds its
 * answer (which then stands as the answer) or the projection priced it already, else its
 * estimated usage at the model's prices, with a stand-in answer.  A stand-in made from its
 * request's key stands for that request's one real answer, so a request rendered from such
 * stand-ins only that the projection priced already is the same request again (the memo
 * answers it: configurations share the part before their first change).  A request rendered
 * from the step's latest real answer on the example (like, the same text whatever the request)
 * is always priced (the real answers it stands for differ from one prompt to another), unless
 * the step answered a changed request as before at least half of the times measured: its real
 * answer is then taken to be that one, and what reads it may be answered by the memo.  One
 * that reads a stand-in is free with the probability its step's requests repeated another
 * example's (run_estimate.repeat).  Caller frees *answer. */
static void dry_price(struct ex_state *es, int step, const struct llm_request *req, const char *key,
                      const char *prompt, const char *like, double out_tokens, double in_scale,
                      char **answer)
{
	struct run_batch *b = es->b;
	struct runner *r = b->r;
	struct run_projection *p = b->proj;
	const struct memo_entry *m = b->dry->fresh ? NULL : memo_get(r, key);
	char *hit = m ? xstrdup(m->raw) : b->dry->fresh ? NULL : llm_cache_peek(r->llm, req);
	if (hit) {
		dry_add(b, step, m ? DRY_MEMO : DRY_CACHED, NULL, 0);
		if (p->share && step >= 0)
			walk_note(es, step, key, hit, true); /* the incumbent's */
		*answer = hit;
		return;
	}
	char *known = llm_scripted_peek(r->llm, req); /* a scripted model's: its very answer */
	bool real = false;
	const char *same = p->share && !known && step >= 0 ? walk_same(es, step, key, &real) : NULL;
	const char *inc = real ? same : NULL, *before = real || like ? NULL : same;
	bool note = p->share && !known && !inc && !like && step >= 0;
	*answer = known    ? known
	          : inc    ? xstrdup(inc)
	          : like   ? xstrdup(like)
	          : before ? xstrdup(before)
	                   : stand_in(key, prompt, out_tokens);
	if (note)
		walk_note(es, step, key, *answer, false);
	bool guessed = es->guessed, loose = es->loose;
	bool trusted = inc || (like && (size_t)step < r->s->n_steps && r->changed[step] &&
	                       r->repeated[step] * 2 >= r->changed[step]);
	es->guessed = guessed || (!known && !trusted);
	es->loose = loose || (!known && like && !trusted);
	if (!seen_add(p, key) && !loose) {
		dry_add(b, step, DRY_MEMO, NULL, 0);
		return;
	}
	const double *rep = b->dry->repeat;
	if (guessed && rep && step >= 0 && (size_t)step < r->s->n_steps &&
	    draw_even(es, DRAW_REPEAT, step, rep[step])) {
		dry_add(b, step, DRY_MEMO, NULL,
		        0); /* another example asked it: the memo answers */
		return;
	}
	struct llm_usage u;
	cost_estimate_usage(req->messages, req->n_messages, *answer, &u);
	u.in = (long)((double)u.in * in_scale + 0.5);
	u.out = known ? u.out : (long)(out_tokens + 0.5);
	struct llm_prices pr;
	bool priced;
	llm_prices(req->model, &pr, &priced);
	dry_add(b, step, DRY_PAID, &u, cost_usd(&pr, &u));
}

static int dry_answer(struct ex_state *es, struct trace_step *ts, const struct llm_request *req,
                      const char *user)
{
	const struct run_estimate *est = es->b->dry;
	struct runner *r = es->b->r;
	int step = ts->step;
	double out = est->out_tokens ? est->out_tokens[step] : 0;
	const char *like = NULL;
	like = answer_noted(es, step);
	if (r->cap_outs) {
		uint64_t h = note_hash((uint64_t)step, es->prompt_h, 0);
		const struct out_note *o = out_slot(r->outs, r->cap_outs, h);
		if (o->h)
			out = o->sum / (double)o->n;
	}
	char *answer;
	dry_price(es, step, req, ts->key, ts->input && *ts->input ? ts->input : user, like, out,
	          est->in_scale ? est->in_scale[step] : 1, &answer);
	apply_llm_output(es, ts, answer);
	free(answer);
	return 0;
}

/* Builds the request of an LLM step.  Returns 0, or -1 with the error recorded. */
static int run_llm_step(struct ex_state *es, int tsi, struct render_ctx *c)
{
	struct run_batch *b = es->b;
	struct runner *r = b->r;
	const struct step *st = c->st;
	struct trace_step *ts = &es->trace.steps[tsi];
	const struct variant *v = b->config ? b->config[st->index] : NULL;
	const struct template *tpl = b->tpl[st->index] ? b->tpl[st->index] : st->prompt_tpl;
	const struct demo *demos = v ? v->demos : st->demos;
	size_t n_demos = v ? v->n_demos : st->n_demos;
	struct err e = {{0}};
	ts->input = render_inputs(c, tpl);
	char *user = render(c, tpl, &e);
	char *system = st->system ? render(c, st->system, &e) : NULL;
	if (!user || (st->system && !system)) {
		free(user);
		free(system);
		record_error(es, ts, e.msg);
		return -1;
	}
	if (n_demos) {
		struct sbuf d = {0};
		sbuf_adds(&d, "Examples of good answers:\n");
		for (size_t i = 0; i < n_demos; i++)
			sbuf_addf(&d, "\n### Example %zu\nInput:\n%s\nOutput:\n%s\n", i + 1,
			          demos[i].input, demos[i].output);
		sbuf_addf(&d, "\n---\n\n%s", user);
		free(user);
		user = sbuf_take(&d);
	}
	struct llm_message msgs[2];
	size_t nm = 0;
	if (system)
		msgs[nm++] = (struct llm_message){"system", system};
	msgs[nm++] = (struct llm_message){"user", user};
	ts->prompt = system ? xasprintf("[system]\n%s\n\n[user]\n%s", system, user) : xstrdup(user);
	char tag[160];
	snprintf(tag, sizeof tag, "%s/%s", b->tag, st->id);
	struct llm_request req = {st->model_cfg, msgs, nm, tag};
	llm_request_key(&req, ts->key);
	es->prompt_h = prompt_hash(tpl);
	if (b->dry) {
		int rc = dry_answer(es, ts, &req, user);
		free(user);
		free(system);
		return rc;
	}
	r->stats.executions++;
	const struct memo_entry *m = memo_get(r, ts->key);
	if (m) {
		r->stats.memo_hits++;
		ts->memo = true;
		ts->scripted = m->scripted;
		ts->replaced = m->replaced;
		ts->tok_in = m->usage.in;
		ts->tok_out = m->usage.out;
		ts->tok_cached = m->usage.cached;
		ts->tok_reasoning = m->usage.reasoning;
		if (m->reasoning)
			ts->reasoning = xstrdup(m->reasoning);
		mark_cut(ts, m->finish, m->cut);
		apply_llm_output(es, ts, m->raw);
		note_answer(es, ts->step, m->raw, m->usage.out, ts->key);
		free(user);
		free(system);
		return 0;
	}
	r->stats.llm_calls++;
	es->pending_step = tsi;
	es->pending = llm_submit(r->llm, &req, on_llm_done, on_llm_chunk, es);
	free(user);
	free(system);
	return 1;
}

/* An exec step's command, watched by the LLM layer's loop. */
struct exec_job {
	struct ex_state *es;
	struct proc *p;
	int tsi;
	int64_t t0;
};

static unsigned exec_prepare(void *arg, struct pollfd *fds, int64_t *due_ms)
{
	struct exec_job *j = arg;
	return proc_poll_fds(j->p, fds, due_ms);
}

static bool exec_dispatch(void *arg, const struct pollfd *fds, unsigned n)
{
	struct exec_job *j = arg;
	if (!proc_step(j->p, fds, n))
		return true;
	struct ex_state *es = j->es;
	struct trace_step *ts = &es->trace.steps[j->tsi];
	struct proc_result res;
	proc_finish(j->p, &res);
	ts->latency_s = (double)(now_ms() - j->t0) / 1000.0;
	es->exec = 0;
	es->pending_step = -1;
	struct err e = {{0}};
	int rc = codestep_exec_result(&es->b->r->s->steps[ts->step], &res, &ts->out, &e);
	proc_result_free(&res);
	if (rc < 0)
		record_error(es, ts, e.msg);
	step_finished(es, j->tsi);
	free(j);
	if (rc == 0)
		cursor_next(es);
	advance(es);
	return false;
}

static void exec_cancel(void *arg)
{
	struct exec_job *j = arg;
	proc_kill(j->p);
	free(j);
}

static const struct llm_source_ops exec_ops = {exec_prepare, exec_dispatch, exec_cancel};

/* Starts an exec step's command.  1 when it runs, -1 (e set) when it could not start. */
static int run_exec_step(struct ex_state *es, int tsi, const char *text, struct err *e)
{
	struct runner *r = es->b->r;
	struct codestep_env env = {r->trust, example_of(es)};
	int64_t t0 = now_ms();
	struct proc *p =
	    codestep_exec_start(&r->s->steps[es->trace.steps[tsi].step], text, &env, e);
	if (!p)
		return -1;
	struct exec_job *j = xcalloc(1, sizeof *j);
	*j = (struct exec_job){es, p, tsi, t0};
	es->pending_step = tsi;
	es->exec = llm_source_add(r->llm, &exec_ops, j);
	return 1;
}

/* A retrieve step with a server: its query is a request of the LLM layer (llm_retrieve), which
 * caches, deduplicates and retries it as it does a model call; the walk resumes here.  The
 * passages a reply held (the raw JSON list) become the step's output; -1 (e set) when they
 * cannot be read. */
static int retrieved(struct ex_state *es, struct trace_step *ts, const char *raw, struct err *e)
{
	char **items;
	size_t n;
	if (llm_passages(raw, (size_t)es->b->r->s->steps[ts->step].k, &items, &n, e) < 0)
		return -1;
	step_out_set_items(&ts->out, items, n);
	struct sbuf b = {0}; /* what stands in for it in a projection */
	for (size_t i = 0; i < ts->out.n_items; i++)
		sbuf_addf(&b, "%s%s", i ? "\n" : "", ts->out.items[i]);
	note_answer(es, ts->step, sbuf_str(&b), 1, NULL);
	sbuf_free(&b);
	return 0;
}

static void on_retrieve_done(void *arg, const struct llm_reply *rep)
{
	struct ex_state *es = arg;
	int tsi = es->pending_step;
	struct trace_step *ts = &es->trace.steps[tsi];
	es->pending = 0;
	es->pending_step = -1;
	ts->latency_s = rep->latency_s;
	ts->queued_s = rep->queued_s;
	ts->cached = rep->cached;
	ts->memo = rep->shared; /* an identical retrieval's answer, as the memo's */
	memcpy(ts->key, rep->key, sizeof ts->key);
	struct err e = {{0}};
	if (rep->error)
		record_error(es, ts, rep->error);
	else if (retrieved(es, ts, rep->text, &e) < 0)
		record_error(es, ts, e.msg);
	else
		memo_put(es->b->r, rep); /* the same query and k again: answered from here */
	bool failed = ts->error != NULL;
	step_finished(es, tsi);
	if (!failed)
		cursor_next(es);
	advance(es);
}

/* 0 answered from the memo (-1, e set, when that answer could not be read), 1 asked. */
static int run_retrieve_step(struct ex_state *es, int tsi, const char *query, struct err *e)
{
	struct runner *r = es->b->r;
	struct trace_step *ts = &es->trace.steps[tsi];
	const struct step *st = &r->s->steps[ts->step];
	char tag[160];
	snprintf(tag, sizeof tag, "%s/%s", es->b->tag, st->id);
	struct llm_retrieval q = {st->url, query, st->k, tag, st->concurrency, st->timeout_s};
	llm_retrieve_key(&q, ts->key);
	const struct memo_entry *m = memo_get(r, ts->key);
	if (m) {
		r->stats.memo_hits++;
		ts->memo = true;
		return retrieved(es, ts, m->raw, e);
	}
	es->pending_step = tsi;
	es->pending = llm_retrieve(r->llm, &q, on_retrieve_done, es);
	return 1;
}

/* Runs one step; 0 finished now, 1 waiting (a model, a server or a command), -1 failed
 * (recorded). */
static int run_step(struct ex_state *es, int si)
{
	const struct step *st = &es->b->r->s->steps[si];
	int tsi = (int)es->trace.n;
	trace_add_step(&es->trace, si, es->round);
	struct render_ctx c = {es, st, 0};
	int rc;
	if (st->kind == STEP_LLM) {
		rc = run_llm_step(es, tsi, &c);
	} else {
		struct trace_step *ts = &es->trace.steps[tsi];
		struct err e = {{0}};
		char *text = st->text ? render(&c, st->text, &e) : xstrdup("");
		ts->input = render_inputs(&c, st->text);
		rc = -1;
		if (text) {
			ts->prompt = xstrdup(text);
			if (st->kind == STEP_EXEC && es->b->dry) {
				step_out_set_text(&ts->out, ""); /* a projection runs no command */
				rc = 0;
			} else if (st->kind == STEP_EXEC) {
				rc = run_exec_step(es, tsi, text, &e);
			} else if (st->kind == STEP_RETRIEVE && st->url && es->b->dry) {
				/* a projection asks no server: the passages it found last time */
				const char *like = answer_noted(es, si);
				step_out_set_text(&ts->out, like ? like : "");
				rc = 0;
			} else if (st->kind == STEP_RETRIEVE && st->url) {
				rc = run_retrieve_step(es, tsi, text, &e);
			} else {
				struct codestep_env env = {es->b->r->trust, example_of(es)};
				int64_t t0 = now_ms();
				rc = codestep_run(st, text, &env, &ts->out, &e);
				ts->latency_s = (double)(now_ms() - t0) / 1000.0;
			}
		}
		free(text);
		if (rc < 0)
			record_error(es, ts, e.msg);
	}
	scratch_free(es);
	if (rc != 1)
		step_finished(es, tsi);
	return rc;
}

/* The step the cursor points at, or -1 when the walk is over. */
static int cursor_step(struct ex_state *es)
{
	const struct session *s = es->b->r->s;
	if (es->pos >= s->n_order)
		return -1;
	const struct order_item *it = &s->order[es->pos];
	if (it->step >= 0)
		return it->step;
	if (es->round == 0) {
		es->round = 1;
		es->loop_pos = 0;
	}
	return s->loops[it->loop].steps[es->loop_pos];
}

/* In a projection, whether loop l stops after this round when its stop condition would test a
 * made-up answer (a stand-in, the example's own answer of this round unknown: one never run
 * there): at the share of the examples that stopped after this round on the last forward pass
 * (run_estimate.loop_stop), spread evenly over the examples walked (a running sum per loop and
 * round: stop each time it reaches one half, deterministic).  False when that share was not
 * measured or the condition reads a real answer (the memo's, the cache's, a scripted model's, or
 * the example's latest of this round, which stands in for the next). */
static bool dry_loop_stop(struct ex_state *es, size_t l, bool *stop)
{
	const struct run_estimate *est = es->b->dry;
	const struct session *s = es->b->r->s;
	struct run_projection *p = es->b->proj;
	int until = s->loops[l].until_step;
	if (!est || !p || !es->guessed || !est->loop_stop || !est->loop_stop[l] || until < 0 ||
	    answer_noted(es, until))
		return false;
	size_t off = 0, total = 0;
	for (size_t k = 0; k < s->n_loops; k++) {
		off += k < l ? (size_t)s->loops[k].max_rounds : 0;
		total += (size_t)s->loops[k].max_rounds;
	}
	if (!p->stop_acc)
		p->stop_acc = xcalloc(total ? total : 1, sizeof *p->stop_acc);
	double *acc = &p->stop_acc[off + (size_t)es->round - 1];
	*acc += est->loop_stop[l][es->round - 1];
	*stop = *acc >= 0.5;
	*acc -= *stop;
	return true;
}

static void cursor_next(struct ex_state *es)
{
	const struct session *s = es->b->r->s;
	const struct order_item *it = &s->order[es->pos];
	if (it->step >= 0) {
		es->pos++;
		return;
	}
	const struct loop *lp = &s->loops[it->loop];
	if (++es->loop_pos < lp->n_steps)
		return;
	bool stop = es->round >= lp->max_rounds;
	bool decided = stop || dry_loop_stop(es, (size_t)it->loop, &stop);
	if (!decided && lp->until && lp->until_step >= 0 && es->latest[lp->until_step] >= 0) {
		const char *out = es->trace.steps[es->latest[lp->until_step]].out.text;
		struct err e = {{0}};
		stop = rx_match(lp->until, out, strlen(out), 0, NULL, &e) != 0;
	}
	es->loop_pos = 0;
	if (stop) {
		es->round = 0;
		es->pos++;
	} else {
		es->round++;
	}
}

static void finish_example(struct ex_state *es)
{
	struct run_batch *b = es->b;
	b->finished++;
	es->trace.done = true;
	if (b->cb.example_done && !b->cancelled)
		b->cb.example_done(b->cb.arg, b, &es->trace);
	if (b->drop) {
		trace_free(&es->trace);
		es->trace.done = true;
	}
	if (b->finished == b->n && b->cb.batch_done && !b->cancelled)
		b->cb.batch_done(b->cb.arg, b);
}

static void score_example(struct ex_state *es)
{
	struct runner *r = es->b->r;
	const struct session *s = r->s;
	const struct example *ex = example_of(es);
	int out = s->output_step;
	const char *pred =
	    out >= 0 && es->latest[out] >= 0 ? es->trace.steps[es->latest[out]].out.text : "";
	es->trace.prediction = xstrdup(pred ? pred : "");
	double score = 0;
	if (!es->trace.error && metric_is_judge(s->metric)) {
		const struct metric_judge *j = metric_judge(s->metric);
		char *rubric = metric_judge_render(s->metric, pred, ex->golds, ex->n_golds);
		struct llm_message msg = {"user", rubric};
		char tag[160];
		snprintf(tag, sizeof tag, "%s/judge", es->b->tag);
		struct llm_request req = {session_model(s, j->model), &msg, 1, tag};
		char key[65];
		llm_request_key(&req, key);
		if (es->b->dry) {
			char *answer;
			dry_price(es, -1, &req, key, rubric, NULL, es->b->dry->judge_out, 1,
			          &answer);
			free(answer);
			free(rubric);
			goto scored;
		}
		const struct memo_entry *m = memo_get(r, key);
		r->stats.judge_calls++;
		if (!m) {
			es->judging = true;
			es->pending = llm_submit(r->llm, &req, on_llm_done, NULL, es);
			free(rubric);
			return;
		}
		struct err e = {{0}};
		if (metric_judge_parse(s->metric, m->raw, &score, &e) < 0)
			es->trace.error = xasprintf("judge: %s", e.msg);
		free(rubric);
	} else if (!es->trace.error) {
		struct err e = {{0}};
		if (metric_score(s->metric, pred, ex->golds, ex->n_golds, &score, &e) < 0)
			es->trace.error = xasprintf("metric: %s", e.msg);
	}
scored:
	es->trace.score = score;
	es->trace.good = !es->trace.error && score >= metric_threshold(s->metric);
	if (es->b->dry) {
		struct run_projection *p = es->b->proj;
		p->guessed += es->guessed;
		p->good += !es->guessed && es->trace.good;
		p->bad += !es->guessed && !es->trace.good;
	}
	es->b->scores[es->i] = score;
	es->finished = true;
	finish_example(es);
}

static void advance(struct ex_state *es)
{
	for (;;) {
		if (es->b->cancelled)
			return;
		int si = es->trace.error ? -1 : cursor_step(es);
		if (si < 0) {
			score_example(es);
			return;
		}
		int rc = run_step(es, si);
		if (rc == 1)
			return;
		if (rc < 0)
			continue; /* the error ends the walk at the top of the loop */
		cursor_next(es);
	}
}

/* ---- batches ---- */

static struct run_batch *batch_prepare(struct runner *r, const struct variant *const *config,
                                       enum split_id split, const size_t *idx, size_t n,
                                       const char *tag, const struct run_callbacks *cb,
                                       const struct run_estimate *dry, struct run_projection *proj);

static struct run_batch *batch_start(struct runner *r, const struct variant *const *config,
                                     enum split_id split, const size_t *idx, size_t n,
                                     const char *tag, const struct run_callbacks *cb,
                                     const struct run_estimate *dry, struct run_projection *proj)
{
	struct run_batch *b = batch_prepare(r, config, split, idx, n, tag, cb, dry, proj);
	run_batch_launch(b, n);
	return b;
}

size_t run_batch_launch(struct run_batch *b, size_t max)
{
	if (!b->started && b->n == 0 && b->cb.batch_done) {
		b->started = true;
		b->cb.batch_done(b->cb.arg, b);
		return 0;
	}
	b->started = true;
	size_t k = 0;
	for (; k < max && b->launched < b->n && !b->cancelled; k++)
		advance(&b->ex[b->launched++]);
	return k;
}

void run_batch_drop_traces(struct run_batch *b)
{
	b->drop = true;
}

bool run_batch_launched(const struct run_batch *b)
{
	return b->started && (b->launched == b->n || b->cancelled);
}

/* A batch whose examples have not started; dry and proj: runner_project's. */
static struct run_batch *batch_prepare(struct runner *r, const struct variant *const *config,
                                       enum split_id split, const size_t *idx, size_t n,
                                       const char *tag, const struct run_callbacks *cb,
                                       const struct run_estimate *dry, struct run_projection *proj)
{
	const struct session *s = r->s;
	struct run_batch *b = xcalloc(1, sizeof *b);
	b->r = r;
	b->dry = dry;
	b->proj = proj;
	b->config = config;
	b->split = split;
	b->n = n;
	b->tag = xstrdup(tag ? tag : "run");
	if (cb)
		b->cb = *cb;
	b->ex = xcalloc(n ? n : 1, sizeof *b->ex);
	b->scores = xcalloc(n ? n : 1, sizeof *b->scores);
	b->tpl = xcalloc(s->n_steps ? s->n_steps : 1, sizeof *b->tpl);
	for (size_t i = 0; config && i < s->n_steps; i++) {
		if (!config[i] || !config[i]->prompt || s->steps[i].kind != STEP_LLM)
			continue;
		struct err e = {{0}};
		b->tpl[i] = template_parse(config[i]->prompt, &e);
	}
	b->next = r->batches;
	r->batches = b;
	for (size_t i = 0; i < n; i++) {
		struct ex_state *es = &b->ex[i];
		es->b = b;
		es->i = i;
		es->trace.split = split;
		es->trace.example = idx[i];
		es->pending_step = -1;
		es->latest = xmalloc((s->n_steps ? s->n_steps : 1) * sizeof *es->latest);
		for (size_t k = 0; k < s->n_steps; k++)
			es->latest[k] = -1;
		es->t0 = now_ms();
	}
	return b;
}

struct run_batch *runner_prepare(struct runner *r, const struct variant *const *config,
                                 enum split_id split, const size_t *idx, size_t n, const char *tag,
                                 const struct run_callbacks *cb)
{
	return batch_prepare(r, config, split, idx, n, tag, cb, NULL, NULL);
}

struct run_batch *runner_start(struct runner *r, const struct variant *const *config,
                               enum split_id split, const size_t *idx, size_t n, const char *tag,
                               const struct run_callbacks *cb)
{
	return batch_start(r, config, split, idx, n, tag, cb, NULL, NULL);
}

void runner_project(struct runner *r, const struct variant *const *config, enum split_id split,
                    const size_t *idx, size_t n, const struct run_estimate *est,
                    struct run_projection *p)
{
	run_batch_free(batch_start(r, config, split, idx, n, "projection", NULL, est, p));
}

void run_projection_done(struct run_projection *p)
{
	free(p->draws);
	p->draws = NULL;
	free(p->seen);
	p->seen = NULL;
	p->n_seen = p->cap_seen = 0;
	for (size_t i = 0; i < p->cap_notes; i++)
		free(p->notes[i].raw);
	free(p->notes);
	p->notes = NULL;
	p->n_notes = p->cap_notes = 0;
	free(p->stop_acc);
	p->stop_acc = NULL;
}

void run_batch_cancel(struct run_batch *b)
{
	b->cancelled = true;
	for (size_t i = 0; i < b->n; i++) {
		if (b->ex[i].pending) {
			llm_cancel(b->r->llm, b->ex[i].pending);
			b->ex[i].pending = 0;
		}
		if (b->ex[i].exec) { /* kills and reaps the command */
			llm_source_cancel(b->r->llm, b->ex[i].exec);
			b->ex[i].exec = 0;
		}
	}
}

void run_batch_free(struct run_batch *b)
{
	if (!b)
		return;
	run_batch_cancel(b);
	for (struct run_batch **p = &b->r->batches; *p; p = &(*p)->next) {
		if (*p == b) {
			*p = b->next;
			break;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		trace_free(&b->ex[i].trace);
		free(b->ex[i].latest);
		scratch_free(&b->ex[i]);
		free(b->ex[i].scratch);
	}
	for (size_t i = 0; i < b->r->s->n_steps; i++)
		template_free(b->tpl[i]);
	free(b->tpl);
	free(b->ex);
	free(b->scores);
	free(b->tag);
	free(b);
}

bool run_batch_done(const struct run_batch *b)
{
	return b->finished == b->n;
}

size_t run_batch_count(const struct run_batch *b)
{
	return b->n;
}

size_t run_batch_finished(const struct run_batch *b)
{
	return b->finished;
}

const struct trace *run_batch_trace(const struct run_batch *b, size_t i)
{
	return i < b->n ? &b->ex[i].trace : NULL;
}

struct trace *run_batch_take_traces(struct run_batch *b, size_t *n)
{
	struct trace *t = xcalloc(b->n ? b->n : 1, sizeof *t);
	for (size_t i = 0; i < b->n; i++) {
		t[i] = b->ex[i].trace;
		memset(&b->ex[i].trace, 0, sizeof b->ex[i].trace);
	}
	*n = b->n;
	return t;
}

double run_batch_score(const struct run_batch *b)
{
	double sum = 0;
	for (size_t i = 0; i < b->n; i++)
		sum += b->scores[i];
	return b->n ? sum / (double)b->n : 0;
}

const double *run_batch_scores(const struct run_batch *b)
{
	return b->scores;
}

long run_batch_calls(const struct run_batch *b)
{
	return b->calls;
}

void *run_batch_user(const struct run_batch *b)
{
	return b->user;
}

void run_batch_set_user(struct run_batch *b, void *user)
{
	b->user = user;
}

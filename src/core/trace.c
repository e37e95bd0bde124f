/* trace.c: step outputs and per-example traces, and their JSON form. */
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"
#include "core/trace.h"
#include "core/util.h"

void step_out_free(struct step_out *o)
{
	free(o->text);
	for (size_t i = 0; i < o->n_items; i++)
		free(o->items[i]);
	free(o->items);
	*o = (struct step_out){0};
}

void step_out_set_text(struct step_out *o, const char *text)
{
	step_out_free(o);
	o->text = xstrdup(text ? text : "");
}

void step_out_set_items(struct step_out *o, char **items, size_t n)
{
	step_out_free(o);
	struct sbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_addc(&b, '\n');
		sbuf_adds(&b, items[i]);
	}
	o->text = sbuf_take(&b);
	o->items = items;
	o->n_items = n;
}

struct trace_step *trace_add_step(struct trace *t, int step, int round)
{
	t->steps = xgrow(t->steps, &t->cap, t->n + 1, sizeof *t->steps);
	struct trace_step *ts = &t->steps[t->n++];
	memset(ts, 0, sizeof *ts);
	ts->step = step;
	ts->round = round;
	return ts;
}

const struct trace_step *trace_find(const struct trace *t, int step)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->steps[i].step == step)
			return &t->steps[i];
	return NULL;
}

const struct trace_step *trace_next(const struct trace *t, int step, const struct trace_step *after)
{
	for (size_t i = after ? (size_t)(after - t->steps) + 1 : 0; i < t->n; i++)
		if (t->steps[i].step == step)
			return &t->steps[i];
	return NULL;
}

size_t trace_rounds(const struct trace *t, int step)
{
	size_t n = 0;
	for (const struct trace_step *ts = NULL; (ts = trace_next(t, step, ts));)
		n++;
	return n;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct trace_step *s = &t->steps[i];
		free(s->input);
		free(s->prompt);
		free(s->raw);
		free(s->reasoning);
		free(s->finish);
		step_out_free(&s->out);
		free(s->error);
	}
	free(t->steps);
	free(t->prediction);
	free(t->error);
	memset(t, 0, sizeof *t);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

cJSON *trace_to_json(const struct trace *t, const char *const *step_ids)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "split", split_names[t->split]);
	cJSON_AddNumberToObject(o, "example", (double)t->example);
	add_str(o, "prediction", t->prediction);
	cJSON_AddNumberToObject(o, "score", t->score);
	cJSON_AddBoolToObject(o, "good", t->good);
	add_str(o, "error", t->error);
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_step *s = &t->steps[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "step", step_ids[s->step]);
		if (s->round)
			cJSON_AddNumberToObject(j, "round", s->round);
		add_str(j, "input", s->input);
		add_str(j, "prompt", s->prompt);
		add_str(j, "raw", s->raw);
		add_str(j, "reasoning", s->reasoning);
		add_str(j, "output", s->out.text);
		if (s->out.n_items) {
			cJSON *items = cJSON_AddArrayToObject(j, "items");
			for (size_t k = 0; k < s->out.n_items; k++)
				cJSON_AddItemToArray(items, cJSON_CreateString(s->out.items[k]));
		}
		add_str(j, "error", s->error);
		if (s->parse_miss)
			cJSON_AddBoolToObject(j, "parse_miss", true);
		add_str(j, "finish", s->finish);
		if (s->cut)
			cJSON_AddBoolToObject(j, "cut", true);
		if (s->cached)
			cJSON_AddBoolToObject(j, "cached", true);
		if (s->memo)
			cJSON_AddBoolToObject(j, "memo", true);
		if (s->scripted)
			cJSON_AddBoolToObject(j, "scripted", true);
		if (s->estimated)
			cJSON_AddBoolToObject(j, "estimated", true);
		cJSON_AddNumberToObject(j, "latency_s", s->latency_s);
		cJSON_AddNumberToObject(j, "tokens_in", (double)s->tok_in);
		cJSON_AddNumberToObject(j, "tokens_out", (double)s->tok_out);
		if (s->tok_cached)
			cJSON_AddNumberToObject(j, "tokens_prompt_cached", (double)s->tok_cached);
		if (s->tok_reasoning)
			cJSON_AddNumberToObject(j, "tokens_reasoning", (double)s->tok_reasoning);
		cJSON_AddNumberToObject(j, "cost_usd", s->cost_usd);
		if (s->replaced)
			cJSON_AddNumberToObject(j, "replaced_bytes", (double)s->replaced);
		cJSON_AddItemToArray(steps, j);
	}
	return o;
}

static char *dup_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

int trace_from_json(const cJSON *j, struct trace *t, int (*step_index)(void *, const char *),
                    void *arg)
{
	memset(t, 0, sizeof *t);
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(j, "split");
	int split = cJSON_IsString(sp) ? split_from_name(sp->valuestring) : -1;
	if (split < 0)
		return -1;
	t->split = (enum split_id)split;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "example");
	long index;
	if (json_long(ex, 0, 1e15, &index, NULL) < 0)
		return -1;
	t->example = (size_t)index;
	t->prediction = dup_str(j, "prediction");
	t->score = json_get_real(j, "score");
	t->good = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "good"));
	t->error = dup_str(j, "error");
	t->done = true;
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps"), *s;
	cJSON_ArrayForEach(s, steps)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "step");
		int idx = cJSON_IsString(id) ? step_index(arg, id->valuestring) : -1;
		if (idx < 0)
			continue;
		int round = 0;
		json_int(cJSON_GetObjectItemCaseSensitive(s, "round"), 0, 1e6, &round, NULL);
		struct trace_step *ts = trace_add_step(t, idx, round);
		ts->input = dup_str(s, "input");
		ts->prompt = dup_str(s, "prompt");
		ts->raw = dup_str(s, "raw");
		ts->reasoning = dup_str(s, "reasoning");
		ts->out.text = dup_str(s, "output");
		if (!ts->out.text)
			ts->out.text = xstrdup("");
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items"), *it;
		if (cJSON_IsArray(items)) {
			size_t n = (size_t)cJSON_GetArraySize(items), k = 0;
			ts->out.items = xcalloc(n ? n : 1, sizeof *ts->out.items);
			cJSON_ArrayForEach(it, items) ts->out.items[k++] =
			    xstrdup(cJSON_IsString(it) ? it->valuestring : "");
			ts->out.n_items = k;
		}
		ts->error = dup_str(s, "error");
		ts->parse_miss = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "parse_miss"));
		ts->finish = dup_str(s, "finish");
		ts->cut = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "cut"));
		ts->cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "cached"));
		ts->memo = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "memo"));
		ts->scripted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "scripted"));
		ts->estimated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "estimated"));
		ts->latency_s = json_get_real(s, "latency_s");
		ts->tok_in = json_get_count(s, "tokens_in");
		ts->tok_out = json_get_count(s, "tokens_out");
		ts->tok_cached = json_get_count(s, "tokens_prompt_cached");
		ts->tok_reasoning = json_get_count(s, "tokens_reasoning");
		ts->cost_usd = json_get_real(s, "cost_usd");
		ts->replaced = json_get_count(s, "replaced_bytes");
	}
	return 0;
}

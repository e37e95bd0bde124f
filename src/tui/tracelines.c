/* tracelines.c: a trace's step run as rows (tracelines.h). */
#include <string.h>

#include "tui/glyphs.h"
#include "tui/tracelines.h"

/* A finish reason worth a line: not one of the ordinary ends of an answer. */
static bool finish_unusual(const char *finish)
{
	static const char *const usual[] = {"stop", "end_turn", "stop_sequence"};
	if (!finish)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(usual); i++)
		if (!strcmp(finish, usual[i]))
			return false;
	return true;
}

static void add_block(struct tlines *l, const char *label, const char *text)
{
	tlines_add(l, THEME_TEXT_DIM, 2, label);
	tlines_add(l, THEME_TEXT, 4, text && *text ? text : "(empty)");
}

void tracelines_step(struct tlines *l, const struct session *s, const struct trace_step *ts,
                     bool selected, bool deterministic)
{
	const struct step *st = &s->steps[ts->step];
	struct sbuf b = {0};
	sbuf_addf(&b, "%s %s", glyphs()->hline, st->id);
	if (ts->round)
		sbuf_addf(&b, " round %d", ts->round);
	if (deterministic)
		sbuf_addf(&b, " (%s)  -.-- s", step_kind_name(st->kind));
	else
		sbuf_addf(&b, " (%s)  %.2f s", step_kind_name(st->kind), ts->latency_s);
	if (st->kind == STEP_LLM) {
		sbuf_addf(&b, "  %ld in", ts->tok_in);
		if (ts->tok_cached)
			sbuf_addf(&b, " (%ld cached)", ts->tok_cached);
		sbuf_addf(&b, " / %ld out", ts->tok_out);
		if (ts->tok_reasoning)
			sbuf_addf(&b, " (%ld reasoning)", ts->tok_reasoning);
		sbuf_addf(&b, " tokens  $%.5f%s", ts->cost_usd,
		          ts->estimated ? " (estimated)" : "");
	}
	if (ts->cached)
		sbuf_adds(&b, "  [cached]");
	if (ts->memo)
		sbuf_adds(&b, "  [memo]");
	if (ts->scripted)
		sbuf_adds(&b, "  [scripted]");
	if (ts->cut)
		sbuf_adds(&b, "  [cut]");
	tlines_add(l, selected ? THEME_HEADER : THEME_TITLE, 0, sbuf_str(&b));
	sbuf_free(&b);
	add_block(l, "input:", ts->input);
	if (ts->prompt)
		add_block(l, st->kind == STEP_LLM ? "prompt:" : "text:", ts->prompt);
	if (ts->reasoning) /* the model's, never part of the output */
		add_block(l, "reasoning:", ts->reasoning);
	add_block(l, "output:", ts->out.text);
	if (ts->parse_miss)
		tlines_add(l, THEME_WARNING, 2,
		           "parse miss: the output parser did not match; the "
		           "output is the trimmed raw reply");
	if (ts->replaced)
		tlines_addf(l, THEME_WARNING, 2,
		            "the reply held %ld byte(s) that were not UTF-8 (or NUL), each shown "
		            "and kept as U+FFFD",
		            ts->replaced);
	if (ts->cut)
		tlines_addf(l, THEME_WARNING, 2,
		            "cut: the answer stopped at the token limit (finish reason \"%s\"); "
		            "raise max_tokens of model \"%s\"",
		            ts->finish ? ts->finish : "?", st->model ? st->model : "?");
	else if (finish_unusual(ts->finish))
		tlines_addf(l, THEME_WARNING, 2, "finish reason: %s", ts->finish);
	if (ts->error)
		tlines_addf(l, THEME_ERROR, 2, "error: %s", ts->error);
}

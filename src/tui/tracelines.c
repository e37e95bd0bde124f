/* tracelines.c: a trace's step run as rows (tracelines.h). */
#include <string.h>

#include "tui/glyphs.h"
#include "tui/sanitize.h"
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

/* The header's pieces, set on rows of l's width: a piece that does not fit after the others
 * starts a row of its own, indented under the step's name. */
static void add_header(struct tlines *l, enum theme_element el, const char *const *piece, size_t n)
{
	struct sbuf row = {0};
	int indent = 0;
	for (size_t i = 0; i < n; i++) {
		if (row.len && san_width_utf8(sbuf_str(&row)) + 2 + san_width_utf8(piece[i]) >
		                   l->width - indent) {
			tlines_add(l, el, indent, sbuf_str(&row));
			sbuf_free(&row);
			indent = 2;
		}
		sbuf_addf(&row, "%s%s", row.len ? "  " : "", piece[i]);
	}
	tlines_add(l, el, indent, sbuf_str(&row));
	sbuf_free(&row);
}

/* An LLM step's tokens and money (two pieces of the header); a reused answer (memo, response
 * cache) says what it cost when it ran, when that is known. */
static void add_usage(struct sbuf *tok, struct sbuf *usd, const struct trace_step *ts)
{
	bool reused = ts->memo || ts->cached;
	if (!reused || ts->tok_in || ts->tok_out) {
		sbuf_addf(tok, "%ld in", ts->tok_in);
		if (ts->tok_cached)
			sbuf_addf(tok, " (%ld cached)", ts->tok_cached);
		sbuf_addf(tok, " / %ld out", ts->tok_out);
		if (ts->tok_reasoning)
			sbuf_addf(tok, " (%ld reasoning)", ts->tok_reasoning);
		sbuf_adds(tok, " tokens");
		if (reused) /* else the money says it */
			sbuf_addf(tok, " when it ran%s", ts->estimated ? " (estimated)" : "");
	}
	if (!reused) /* else the marker says it was not billed again */
		sbuf_addf(usd, "$%.5f%s", ts->cost_usd, ts->estimated ? " (estimated)" : "");
}

void tracelines_step(struct tlines *l, const struct session *s, const struct trace_step *ts,
                     bool selected, bool deterministic)
{
	const struct step *st = &s->steps[ts->step];
	struct sbuf name = {0}, time = {0}, tok = {0}, usd = {0};
	const char *piece[8];
	size_t n = 0;
	sbuf_addf(&name, "%s %s", glyphs()->hline, st->id);
	if (ts->round)
		sbuf_addf(&name, " round %d", ts->round);
	sbuf_addf(&name, " (%s)", step_kind_name(st->kind));
	piece[n++] = sbuf_str(&name);
	bool llm = st->kind == STEP_LLM; /* billed; a retrieval server is not */
	if (ts->memo)                    /* it did not run: no time of its own */
		piece[n++] = llm ? "[memo: not billed again]" : "[memo]";
	else if (deterministic)
		piece[n++] = "-.-- s";
	else {
		sbuf_addf(&time, "%.2f s", ts->latency_s);
		piece[n++] = sbuf_str(&time);
	}
	if (ts->cached)
		piece[n++] = llm ? "[cached: not billed again]" : "[cached]";
	if (llm) {
		add_usage(&tok, &usd, ts);
		if (tok.len)
			piece[n++] = sbuf_str(&tok);
		if (usd.len)
			piece[n++] = sbuf_str(&usd);
	}
	if (ts->scripted)
		piece[n++] = "[scripted]";
	if (ts->cut)
		piece[n++] = "[cut]";
	add_header(l, selected ? THEME_HEADER : THEME_TITLE, piece, n);
	sbuf_free(&name);
	sbuf_free(&time);
	sbuf_free(&tok);
	sbuf_free(&usd);
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

/* status.c: the status bar (top row: session, iteration and phase, scores, spend against the cap,
 * requests in flight, provider marker, unsaved marker) and the message line (bottom row: the
 * command line, the search prompt, a question, or the last message). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/sanitize.h"
#include "tui/lines.h"
#include "tui/tui_int.h"

/* A segment of the bar.  When the bar is too narrow, segments go lowest `drop` first (0: never;
 * the session name is then cut instead). */
struct seg {
	enum theme_element el;
	int drop;
	char text[160];
};

struct segs {
	struct seg v[16];
	int n;
};

static void add(struct segs *s, enum theme_element el, int drop, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static void add(struct segs *s, enum theme_element el, int drop, const char *fmt, ...)
{
	if (s->n >= (int)ARRAY_SIZE(s->v))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->v[s->n].text, sizeof s->v[s->n].text, fmt, ap);
	va_end(ap);
	s->v[s->n].drop = drop;
	s->v[s->n++].el = el;
}

static void remove_seg(struct segs *s, int i)
{
	memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof s->v[0]);
	s->n--;
}

/* The droppable segment of l or r that goes first, or 0 when none is left. */
static int drop_one(struct segs *l, struct segs *r)
{
	struct segs *best = NULL;
	int at = -1;
	struct segs *both[] = {l, r};
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < both[k]->n; i++)
			if (both[k]->v[i].drop && (!best || both[k]->v[i].drop < best->v[at].drop))
				best = both[k], at = i;
	if (!best)
		return 0;
	remove_seg(best, at);
	return 1;
}

static void human(char *buf, size_t n, long v)
{
	if (v >= 10000000)
		snprintf(buf, n, "%.0fM", (double)v / 1e6);
	else if (v >= 1000000)
		snprintf(buf, n, "%.1fM", (double)v / 1e6);
	else if (v >= 10000)
		snprintf(buf, n, "%.0fk", (double)v / 1e3);
	else if (v >= 1000)
		snprintf(buf, n, "%.1fk", (double)v / 1e3);
	else
		snprintf(buf, n, "%ld", v);
}

/* Draws segments from column x separated by one blank, never past `end`; returns the column
 * after the last one. */
static int draw_segs(const struct segs *s, int x, int end)
{
	for (int i = 0; i < s->n && x < end; i++) {
		if (i) {
			unsigned long sa;
			int sp;
			theme_get(THEME_STATUS, &sa, &sp);
			attr_set((attr_t)sa, (short)sp, NULL);
			mvaddstr(0, x, glyphs()->vline);
			x += 2;
		}
		struct san_text t;
		san_text_from(&t, s->v[i].text, strlen(s->v[i].text), x, 0);
		int used;
		size_t k = san_fit(t.s, t.len, end - x, &used);
		unsigned long attrs;
		int pair;
		theme_get(s->v[i].el, &attrs, &pair);
		attr_set((attr_t)attrs, (short)pair, NULL);
		if (k)
			mvaddnwstr(0, x, t.s, (int)k);
		san_text_free(&t);
		x += used + 1;
	}
	return x;
}

static int segs_width(const struct segs *s)
{
	int w = 0;
	for (int i = 0; i < s->n; i++)
		w += san_width_utf8(s->v[i].text) + 1 + (i ? 2 : 0);
	return w;
}

static void left_part(struct app *a, struct segs *s)
{
	const struct iteration *it = engine_current(a->t.en);
	add(s, THEME_TITLE, 0, " %s", a->t.s->name ? a->t.s->name : "session");
	if (!it) {
		add(s, THEME_STATUS, 5, "no iteration yet");
	} else if (engine_busy(a->t.en)) {
		const struct glyphs *g = glyphs();
		add(s, THEME_STATUS, 6, "it %d %s %s", it->number, phase_name(it->phase),
		    g->spinner[a->test ? 0 : a->spin % g->nspinner]);
	} else if (it->phase >= PHASE_COUNT) {
		add(s, THEME_STATUS, 6, "it %d done", it->number);
	} else {
		add(s, THEME_STATUS, 6, "it %d next: %s", it->number, phase_name(it->phase));
	}
	if (it && (it->phase > PHASE_FORWARD || it->saved))
		add(s, THEME_STATUS, 1, "train %.3f", it->train_score);
	/* the incumbent's measured score; "-" once prompts changed without a measurement */
	double val = engine_val_score(a->t.en);
	if (val >= 0)
		add(s, THEME_STATUS, 3, "val %.3f", val);
	else if (it && (it->n_evals || it->saved))
		add(s, THEME_STATUS, 3, "val -");
}

static void right_part(struct app *a, struct segs *s)
{
	struct engine_totals tot;
	struct llm_stats st;
	engine_spent(a->t.en, &tot);
	llm_get_stats(a->t.llm, &st);
	char tok[32];
	human(tok, sizeof tok, tot.tokens_in + tot.tokens_out);
	double cap = a->t.s->opt.cost_cap_usd;
	const char *est = tot.estimated ? "~" : ""; /* some of it estimated (cut streams) */
	if (cap > 0)
		add(s, THEME_COST, 4, "%s%s tok %s$%.4f/$%.2f", est, tok, est, tot.cost_usd, cap);
	else
		add(s, THEME_COST, 4, "%s%s tok %s$%.4f", est, tok, est, tot.cost_usd);
	if (st.in_flight || st.queued || st.retrying) {
		/* the waiting state: retries after a failure or a 429, and a provider's rate
		 * limit holding the queue until it resets (llm_get_stats: wait_s) */
		if (st.retrying)
			add(s, THEME_WARNING, 2, "req %ld+%ld retrying %ld in %.0fs", st.in_flight,
			    st.queued, st.retrying, ceil(st.wait_s));
		else if (st.wait_s > 0)
			add(s, THEME_WARNING, 2, "req %ld+%ld rate-limited %.0fs", st.in_flight,
			    st.queued, ceil(st.wait_s));
		else
			add(s, THEME_STATUS, 2, "req %ld+%ld", st.in_flight, st.queued);
	}
	if (a->t.offline)
		add(s, THEME_WARNING, 0, "OFFLINE");
	if (a->t.scripted)
		add(s, THEME_SCRIPTED, 0, "SCRIPTED");
	if (app_read_only(a))
		add(s, THEME_WARNING, 0, "READ-ONLY");
	if (a->t.dirty)
		add(s, THEME_WARNING, 0, "[+]");
}

void status_draw(struct app *a)
{
	unsigned long attrs;
	int pair;
	theme_get(THEME_STATUS, &attrs, &pair);
	attr_set((attr_t)attrs, (short)pair, NULL);
	mvhline(0, 0, ' ', a->cols);
	struct segs l = {.n = 0}, r = {.n = 0};
	left_part(a, &l);
	right_part(a, &r);
	/* whole segments or none: the least useful go first (train score, requests, spend, val
	 * score, phase); the markers stay, and the session name is cut last */
	while (segs_width(&l) + segs_width(&r) > a->cols && drop_one(&l, &r))
		;
	int rx = MAX(a->cols - segs_width(&r), 0);
	draw_segs(&l, 0, rx > 0 ? rx - 1 : 0);
	draw_segs(&r, rx, a->cols);
	attrset(A_NORMAL);
}

static void put_line(struct app *a, int y, enum theme_element el, const char *prefix,
                     const char *text)
{
	unsigned long attrs;
	int pair;
	theme_get(el, &attrs, &pair);
	attr_set((attr_t)attrs, (short)pair, NULL);
	mvhline(y, 0, ' ', a->cols);
	char *line = xasprintf("%s%s", prefix, text);
	struct san_text t;
	san_text_from(&t, line, strlen(line), 0, 0);
	int used;
	size_t k = san_fit(t.s, t.len, a->cols, &used);
	if (k)
		mvaddnwstr(y, 0, t.s, (int)k);
	san_text_free(&t);
	free(line);
	attrset(A_NORMAL);
}

/* Where a question's end starts that must stay in sight when the line is cut: its choices ("[y/n]")
 * and, when they fit in half the line, the words from its last ": " or "; " ("allow? [y/n]"). */
static const char *question_tail(const char *q, int cols)
{
	const char *tail = strrchr(q, '[');
	if (!tail)
		return NULL;
	for (const char *p = tail; p > q; p--)
		if ((p[0] == ':' || p[0] == ';') && p[1] == ' ') {
			if (san_width_utf8(p + 1) <= cols / 2)
				tail = p + 1;
			break;
		}
	return tail;
}

/* A question too long for the line is cut in its middle, never at its end. */
static void put_question(struct app *a, int y, const char *q)
{
	const char *tail = question_tail(q, a->cols);
	int tw = tail ? san_width_utf8(tail) : 0;
	if (!tail || san_width_utf8(q) <= a->cols || tw >= a->cols) {
		put_line(a, y, THEME_WARNING, "", q);
		return;
	}
	char *head = xstrndup(q, (size_t)(tail - q));
	struct sbuf b = {0};
	tlines_cell(&b, head, a->cols - tw);
	sbuf_add(&b, tail, strlen(tail));
	put_line(a, y, THEME_WARNING, "", sbuf_str(&b));
	sbuf_free(&b);
	free(head);
}

/* The completion candidates above the command line. */
static void draw_candidates(struct app *a)
{
	const struct cmdline_cands *c = cmdline_candidates(&a->cl);
	if (!c->n || a->rows < 3)
		return;
	struct sbuf b = {0};
	for (size_t i = 0; i < c->n; i++)
		sbuf_addf(&b, "%s%s", i ? "  " : " ", c->v[i]);
	put_line(a, a->rows - 2, THEME_SELECTED, "", sbuf_str(&b));
	sbuf_free(&b);
}

/* What the message rows show in normal mode, NULL otherwise (a question keeps one row, its end
 * in sight: put_question). */
static const char *msgline_text(const struct app *a, enum theme_element *el)
{
	*el = strncmp(a->t.message, "error", 5) == 0 ? THEME_ERROR : THEME_TEXT;
	return a->mode == INPUT_NORMAL ? a->t.message : NULL;
}

/* The text wrapped to the screen's width; returns how many of its rows are shown: at most
 * MSGLINE_MAX_ROWS (a quarter of a short screen), the last one cut, and 1 at least. */
static int msgline_wrap(const struct app *a, struct tlines *l)
{
	enum theme_element el;
	const char *text = msgline_text(a, &el);
	tlines_init(l, MAX(a->cols, 1));
	if (text && *text && a->cols > 0)
		tlines_add(l, el, 0, text);
	return (int)MAX(1, MIN(l->n, (size_t)MAX(1, MIN(MSGLINE_MAX_ROWS, a->rows / 4))));
}

int msgline_rows(const struct app *a)
{
	struct tlines l;
	int n = msgline_wrap(a, &l);
	tlines_free(&l);
	return n;
}

void msgline_draw(struct app *a)
{
	int y = a->rows - 1;
	if (y < 1)
		return;
	if (a->msg_rows > 1) { /* a long message or question, wrapped over the rows it took */
		enum theme_element el;
		msgline_text(a, &el);
		struct tlines l;
		msgline_wrap(a, &l);
		for (int i = 0; i < a->msg_rows; i++)
			put_line(a, a->rows - a->msg_rows + i, el, "",
			         (size_t)i < l.n ? l.v[i].text : "");
		tlines_free(&l);
		return;
	}
	switch (a->mode) {
	case INPUT_COMMAND:
		draw_candidates(a);
		put_line(a, y, THEME_CMDLINE, ":", cmdline_text(&a->cl));
		break;
	case INPUT_SEARCH:
		put_line(a, y, THEME_CMDLINE, "/", cmdline_text(&a->search_cl));
		break;
	case INPUT_ASK:
		put_question(a, y, a->ask);
		break;
	case INPUT_NORMAL:
		put_line(a, y, strncmp(a->t.message, "error", 5) == 0 ? THEME_ERROR : THEME_TEXT,
		         "", a->t.message);
		break;
	}
}

/* test_tui_views.c: the content views (traces, gradients, shapley, proposals, history) drawn into
 * an in-memory screen from a real engine run on a small scripted session written to a temp dir:
 * every view must show the engine's actual state, react to its keys and search its lines. */
#include <curses.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "llm/llm.h"
#include "tui/display.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/sanitize.h"
#include "tui/theme.h"
#include "tui/view.h"

/* ---- view.h's helpers for a bare struct tui ----
 * The shell's src/tui/view.c implements them on its struct app (tui_message and tui_focus_view
 * reach the app around the struct tui); this test has no app, so it supplies its own: plain
 * drawing, a message buffer, a recorded focus and a scripted editor.  Because every symbol of
 * view.c is defined here, view.o is never linked into this test. */

int view_print(struct view *v, int y, int x, enum theme_element el, const char *utf8, int maxw)
{
	if (y < 0 || y >= v->h || x < 0 || x >= v->w || !utf8)
		return 0;
	if (maxw > v->w - x || maxw < 0)
		maxw = v->w - x;
	struct san_text t, c;
	san_text_from(&t, utf8, strlen(utf8), x, 0);
	san_cut(&c, t.s, t.len, maxw, L"~");
	unsigned long attrs;
	int pair;
	theme_get(el, &attrs, &pair);
	wattr_set(v->win, (attr_t)attrs, (short)pair, NULL);
	mvwaddnwstr(v->win, y, x, c.s, (int)c.len);
	wattr_set(v->win, A_NORMAL, 0, NULL);
	int used = san_width(c.s, c.len);
	san_text_free(&t);
	san_text_free(&c);
	return used;
}

int view_printf(struct view *v, int y, int x, enum theme_element el, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	int n = view_print(v, y, x, el, sbuf_str(&b), v->w - x);
	sbuf_free(&b);
	return n;
}

void view_fill(struct view *v, int y, enum theme_element el)
{
	unsigned long attrs;
	int pair;
	theme_get(el, &attrs, &pair);
	wattr_set(v->win, (attr_t)attrs, (short)pair, NULL);
	mvwhline(v->win, y, 0, ' ', v->w);
	wattr_set(v->win, A_NORMAL, 0, NULL);
}

void view_clamp(struct view *v, int n)
{
	if (v->sel >= n)
		v->sel = n - 1;
	if (v->sel < 0)
		v->sel = 0;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + v->h)
		v->top = v->sel - v->h + 1;
}

void tui_message(struct tui *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
}

static const char *edit_result; /* what the fake editor returns */

char *tui_edit_text(struct tui *t, const char *text)
{
	(void)text;
	if (!edit_result) /* as the real editors do: say why nothing was accepted */
		snprintf(t->message, sizeof t->message, "the editor failed (test)");
	return edit_result ? xstrdup(edit_result) : NULL;
}

static char focused_name[32];

void tui_focus_view(struct tui *t, const char *name)
{
	snprintf(focused_name, sizeof focused_name, "%s", name);
	for (size_t i = 0; i < t->n_views; i++)
		if (strcmp(t->views[i].ops->name, name) == 0)
			t->focus = (int)i;
}

void tui_redraw(struct tui *t)
{
	(void)t;
}

void tui_close_overlay(struct tui *t)
{
	(void)t;
	snprintf(focused_name, sizeof focused_name, "(closed)");
}

/* A question waits here (the message holds it) until the test answers it. */
static tui_answer_fn *asked_fn;
static void *asked_arg;

void tui_ask(struct tui *t, tui_answer_fn *fn, void *arg, const char *choices, const char *fmt, ...)
{
	(void)choices;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof t->message, fmt, ap);
	va_end(ap);
	asked_fn = fn;
	asked_arg = arg;
}

static void answer(struct tui *t, int key)
{
	assert_non_null(asked_fn);
	tui_answer_fn *fn = asked_fn;
	asked_fn = NULL;
	fn(t, asked_arg, key);
}
/* ---- the fixture: a two-step scripted session in a temp dir, an engine run to its proposal ----
 */

static const char session_json[] =
    "{\"format\": \"adopt-session\", \"version\": 1, \"name\": \"sayword\",\n"
    " \"models\": {\"task\": {\"provider\": \"scripted\", \"rules\": \"rules.json\",\n"
    "                       \"price_in\": 0.15, \"price_out\": 0.6},\n"
    "            \"opt\": {\"provider\": \"scripted\", \"rules\": \"rules.json\",\n"
    "                      \"price_in\": 2.5, \"price_out\": 10}},\n"
    " \"pipeline\": {\"steps\": [\n"
    "   {\"id\": \"query\", \"type\": \"llm\", \"model\": \"task\",\n"
    "    \"inputs\": {\"question\": \"input.question\"},\n"
    "    \"prompt\": \"Write a search query for: {{question}}\\nQuery:\"},\n"
    "   {\"id\": \"answer\", \"type\": \"llm\", \"model\": \"task\",\n"
    "    \"inputs\": {\"question\": \"input.question\", \"query\": \"steps.query.output\"},\n"
    "    \"prompt\": \"Reply to the question.\\nQuestion: {{question}}\\nHint: "
    "{{query}}\\nReply:\"}],\n"
    "  \"output\": \"answer\"},\n"
    " \"dataset\": {\n"
    "   \"train\": [{\"id\": \"t1\", \"question\": \"Say Paris\", \"answer\": \"Paris\"},\n"
    "             {\"id\": \"t2\", \"question\": \"Say Oslo\", \"answer\": \"Oslo\"},\n"
    "             {\"id\": \"t3\", \"question\": \"Say Rome\", \"answer\": \"Rome\"},\n"
    "             {\"id\": \"t4\", \"question\": \"Say Lima\", \"answer\": \"Lima\"},\n"
    "             {\"id\": \"t5\", \"question\": \"Say Bern\", \"answer\": \"Bern\"},\n"
    "             {\"id\": \"t6\", \"question\": \"Say Kyiv\", \"answer\": \"Kyiv\"}],\n"
    "   \"val\": [{\"id\": \"v1\", \"question\": \"Say Cairo\", \"answer\": \"Cairo\"},\n"
    "           {\"id\": \"v2\", \"question\": \"Say Quito\", \"answer\": \"Quito\"},\n"
    "           {\"id\": \"v3\", \"question\": \"Say Oslo\", \"answer\": \"Oslo\"},\n"
    "           {\"id\": \"v4\", \"question\": \"Say Doha\", \"answer\": \"Doha\"}]},\n"
    " \"metric\": {\"type\": \"exact_match\"},\n"
    " \"optimizer\": {\"seed\": 3, \"batch_size\": 6, \"minibatch_good\": 2, \"minibatch_bad\": "
    "3,\n"
    "   \"val_size\": 4, \"budget_total\": 3, \"budget_floor\": 1, \"eval_budget\": 6,\n"
    "   \"step_optimizer\": \"instruct\", \"role_model\": \"opt\"}}\n";

static const char rules_json[] =
    "{\"rules\": [\n"
    " {\"match\": \"Describe the overall task\",\n"
    "  \"reply\": \"<summary>STRUCTURE-E1: the pipeline repeats a word.</summary>\"},\n"
    " {\"match\": \"The step under analysis: \\\"(?<s>\\\\w+)\\\"\",\n"
    "  \"reply\": \"<dependency>DEPENDENCY-E2 of ${s}: it feeds the final reply.</dependency>\"},\n"
    " {\"match\": \"You are the loss function\",\n"
    "  \"reply\": \"<loss>LOSS-E3: the reply wraps the word in a sentence.</loss>\"},\n"
    " {\"match\": \"Explain why the final output went wrong\",\n"
    "  \"reply\": \"<gradient>GRADIENT-E4: the answer step added words.</gradient>\"},\n"
    " {\"match\": \"(?s)You are assigning blame within.*?one step, \\\"(?<s>\\\\w+)\\\"\",\n"
    "  \"reply\": \"<local>LOCAL-E5 for ${s}: output only the word.</local>\"},\n"
    " {\"match\": \"(?s)You are writing a training example for one step, \\\"(?<s>\\\\w+)\\\"\",\n"
    "  \"reply\": \"<revised>PSEUDO-E6 for ${s}</revised>\"},\n"
    " {\"match\": \"(?s)improving the prompt of one step, "
    "\\\"answer\\\".*?<current_prompt>\\\\n(?<p>.*?)\\\\n</current_prompt>\",\n"
    "  \"reply\": \"<prompt>Answer with only the word.\\n${p}</prompt>\\n<prompt>Be "
    "careful.\\n${p}</prompt>\"},\n"
    " {\"match\": \"(?s)improving the prompt of one step, "
    "\\\"query\\\".*?<current_prompt>\\\\n(?<p>.*?)\\\\n</current_prompt>\",\n"
    /* a word joiner (U+2060), invisible: the proposals pane must show it */
    "  \"reply\": \"<prompt>Keep the query short.\\u2060\\n${p}</prompt>\"},\n"
    /* the answer is right only when both prompts improved: the query is the bare word and the
     * answer prompt asks for the word alone */
    " {\"match\": \"(?s)^(?=.*?Answer with only)(?=.*?Hint: (?<w>\\\\w+)\\\\n)\", \"reply\": "
    "\"${w}\"},\n"
    " {\"match\": \"(?s)Question: Say Oslo\", \"reply\": \"Oslo\"},\n"
    " {\"match\": \"(?s)Question: Say (?<w>\\\\w+)\", \"reply\": \"I think the word is ${w}.\"},\n"
    " {\"match\": \"(?s)Keep the query short.*?search query for: Say (?<w>\\\\w+)\", \"reply\": "
    "\"${w}\"},\n"
    " {\"match\": \"search query for: (?<q>[^\\\\n]*)\", \"reply\": \"${q}\"}],\n"
    " \"fallback\": \"I do not know.\"}\n";

static const struct view_ops *const all_ops[] = {
    &view_traces_ops,  &view_gradients_ops, &view_shapley_ops,   &view_proposals_ops,
    &view_history_ops, &view_prompt_ops,    &view_candidates_ops};
#define N_VIEWS (sizeof all_ops / sizeof all_ops[0])

struct fixture {
	char dir[64];
	struct session *s;
	struct llm *llm;
	struct engine *en;
	struct tui t;
	struct view views[N_VIEWS];
	long events[EV_ITERATION_DONE + 1];
	char last_error[256];
};

static struct fixture *fx; /* the event callback's target */

static void on_event(void *arg, const struct engine_event *ev)
{
	struct fixture *f = arg;
	if ((size_t)ev->kind < sizeof f->events / sizeof f->events[0])
		f->events[ev->kind]++;
	if (ev->kind == EV_ERROR && ev->message)
		snprintf(f->last_error, sizeof f->last_error, "%s", ev->message);
	for (size_t i = 0; i < f->t.n_views; i++)
		if (f->t.views[i].ops->event && f->t.views[i].priv)
			f->t.views[i].ops->event(&f->t.views[i], ev);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct err e;
	assert_int_equal(file_write_atomic(path, text, strlen(text), &e), 0);
	free(path);
}

static void drive(struct fixture *f)
{
	for (int guard = 0; engine_running(f->en) && guard < 100000; guard++) {
		if (engine_busy(f->en))
			assert_true(llm_wait(f->llm, NULL, 0, 250) >= 0);
		engine_poll(f->en);
	}
}

#define SCREEN_W 100
#define SCREEN_H 40

static void open_views(struct fixture *f)
{
	f->t.views = f->views;
	f->t.n_views = N_VIEWS;
	for (size_t i = 0; i < N_VIEWS; i++) {
		struct view *v = &f->views[i];
		v->ops = all_ops[i];
		v->tui = &f->t;
		v->w = SCREEN_W;
		v->h = SCREEN_H;
		v->win = stdscr;
		v->focused = true;
		v->ops->open(v);
	}
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	fx = f;
	snprintf(f->dir, sizeof f->dir, "/tmp/adopt-views-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	write_file(f->dir, "session.json", session_json);
	write_file(f->dir, "rules.json", rules_json);
	char *path = xasprintf("%s/session.json", f->dir);
	struct diag d = {0};
	f->s = session_load(path, NULL, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	free(path);
	assert_non_null(f->s);
	struct err e = {{0}};
	struct llm_options lo = {.no_cache = true};
	f->llm = llm_new(&lo, &e);
	assert_non_null(f->llm);
	struct engine_opts eo = {0};
	f->en = engine_new(f->s, f->llm, &eo, on_event, f, &e);
	assert_non_null(f->en);
	f->t.s = f->s;
	f->t.en = f->en;
	f->t.llm = f->llm;
	f->t.step = -1;
	f->t.example = -1;
	f->t.scripted = true;
	assert_int_equal(test_screen_open(SCREEN_W, SCREEN_H, &e), 0);
	struct theme th;
	theme_default(&th);
	theme_apply(&th, THEME_MONO);
	open_views(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tui_beside_cancel_all(&f->t); /* before the engine goes, as app_free does: a projection
	                               * still made beside would be made again on a freed engine */
	for (size_t i = 0; i < f->t.n_views; i++)
		f->views[i].ops->done(&f->views[i]);
	test_screen_close();
	engine_free(f->en);
	llm_free(f->llm);
	session_free(f->s);
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	fx = NULL;
	return 0;
}

static struct view *view_named(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->t.n_views; i++)
		if (strcmp(f->views[i].ops->name, name) == 0)
			return &f->views[i];
	fail_msg("no view %s", name);
	return NULL;
}

/* Draws a view on a cleared screen and returns the dump (caller frees). */
static char *draw(struct fixture *f, const char *name)
{
	struct view *v = view_named(f, name);
	werase(stdscr);
	v->ops->draw(v);
	refresh();
	struct sbuf b = {0};
	display_dump(&b);
	if (getenv("VIEWS_DUMP")) /* to look at the screens while working on a view */
		fprintf(stderr, "---- %s ----\n%s", name, sbuf_str(&b));
	return sbuf_take(&b);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not on screen:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("\"%s\" unexpectedly on screen:\n%s", needle, hay);
}

static bool key(struct fixture *f, const char *name, enum action a)
{
	struct view *v = view_named(f, name);
	return v->ops->key(v, a);
}

/* ---- tests ---- */

static void test_before_any_iteration(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "traces");
	assert_contains(scr, "No traces yet.");
	assert_contains(scr, "Press s to run");
	free(scr);
}

static void test_traces(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(engine_run_to_proposal(f->en), 0);
	drive(f);
	const struct iteration *it = engine_current(f->en);
	assert_non_null(it);
	assert_int_equal(it->n_traces, 6);
	char *scr = draw(f, "traces");
	assert_contains(scr, "Iteration 1: 6 examples, 1 good, 5 bad");
	assert_contains(scr, "I think the word is");
	assert_contains(scr, "t2");
	/* the selected example's detail: its steps with input, prompt, output and cost */
	assert_true(f->t.example >= 0);
	assert_contains(scr, "query (llm)");
	assert_contains(scr, "Write a search query for:");
	assert_contains(scr, "[scripted]");
	free(scr);
	/* the bad filter hides the good example t2 */
	assert_true(key(f, "traces", ACTION_TOGGLE_BAD_FILTER));
	scr = draw(f, "traces");
	assert_contains(scr, "[5 shown: bad]");
	assert_lacks(scr, " t2 ");
	free(scr);
	/* moving selects another example */
	long before = f->t.example;
	assert_true(key(f, "traces", ACTION_MOVE_DOWN));
	assert_true(f->t.example != before);
	assert_false(it->traces[f->t.example].good);
	/* right selects a step and the detail follows it */
	f->t.step = -1;
	assert_true(key(f, "traces", ACTION_MOVE_RIGHT));
	assert_int_equal(f->t.step, 0);
	assert_true(key(f, "traces", ACTION_MOVE_RIGHT));
	assert_int_equal(f->t.step, 1);
	scr = draw(f, "traces");
	assert_contains(scr, "answer (llm)");
	free(scr);
	/* search finds text in the detail */
	struct view *v = view_named(f, "traces");
	assert_true(v->ops->search(v, "hint:", 1));
	assert_false(v->ops->search(v, "no such text anywhere", 1));
	/* a bad case jumps to its gradient */
	focused_name[0] = 0;
	assert_true(key(f, "traces", ACTION_JUMP_TO_GRADIENT));
	assert_string_equal(focused_name, "gradients");
}

/* A reasoning model's call: its reasoning shows apart from the output, sanitised, with the
 * cached and reasoning parts of its tokens; the history view gets a reasoning column. */
static void test_traces_reasoning(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(engine_run_to_proposal(f->en), 0);
	drive(f);
	struct iteration *it = (struct iteration *)engine_current(f->en);
	free(draw(f, "traces")); /* selects an example */
	assert_true(f->t.example >= 0);
	struct trace_step *ts = NULL;
	for (size_t k = 0; k < it->traces[f->t.example].n && !ts; k++)
		if (f->t.s->steps[it->traces[f->t.example].steps[k].step].kind == STEP_LLM)
			ts = &it->traces[f->t.example].steps[k];
	assert_non_null(ts);
	ts->reasoning = xstrdup("First I weigh \x1b[31mthe passages\x07, then answer.");
	ts->tok_in = 300;
	ts->tok_cached = 256;
	ts->tok_out = 90;
	ts->tok_reasoning = 64;
	it->cost[PHASE_FORWARD].tokens_reasoning = 64;
	char *scr = draw(f, "traces");
	assert_contains(scr, "300 in (256 cached) / 90 out (64 reasoning) tokens");
	assert_contains(scr, "reasoning:");
	assert_contains(scr, "First I weigh the passages, then answer.");
	assert_lacks(scr, "\x1b");
	free(scr);
	scr = draw(f, "history");
	assert_contains(scr, "tokens    reasoning");
	assert_contains(scr, "64 ");
	free(scr);
}

static void run_to_proposal(struct fixture *f)
{
	assert_int_equal(engine_run_to_proposal(f->en), 0);
	drive(f);
	const struct iteration *it = engine_current(f->en);
	assert_non_null(it);
	assert_int_equal(it->phase, PHASE_DECISION);
}

static void test_gradients(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "gradients");
	assert_contains(scr, "No gradients yet.");
	free(scr);
	run_to_proposal(f);
	scr = draw(f, "gradients");
	assert_contains(scr, "STRUCTURE-E1");
	assert_contains(scr, "DEPENDENCY-E2 of query");
	assert_contains(scr, "DEPENDENCY-E2 of answer");
	assert_contains(scr, "Case 1:");
	assert_contains(scr, "LOSS-E3");
	assert_contains(scr, "GRADIENT-E4");
	assert_contains(scr, "LOCAL-E5 for query");
	assert_contains(scr, "PSEUDO-E6 for answer");
	free(scr);
	/* searching moves the cursor to a case and selects its trace and step */
	struct view *v = view_named(f, "gradients");
	const struct iteration *it = engine_current(f->en);
	assert_true(it->n_cases >= 2);
	assert_true(v->ops->search(v, "Case 2:", 1));
	assert_int_equal(f->t.example, (long)it->cases[1].trace);
	assert_true(v->ops->search(v, "local-e5 for answer", 1)); /* case-insensitive */
	assert_int_equal(f->t.step, 1);
	assert_int_equal(f->t.example, (long)it->cases[1].trace);
	assert_false(v->ops->search(v, "nowhere to be found", 1));
	/* selecting a case elsewhere scrolls the pane to it */
	f->t.example = (long)it->cases[2].trace;
	scr = draw(f, "gradients");
	assert_true(v->sel >= v->top && v->sel < v->top + v->h);
	assert_contains(scr, "✗ Case 3:");
	assert_lacks(scr, "STRUCTURE-E1"); /* scrolled down past the header */
	free(scr);
	/* movement keys move the cursor; Enter opens the case's trace */
	int sel = v->sel;
	assert_true(key(f, "gradients", ACTION_MOVE_DOWN));
	assert_int_equal(v->sel, sel + 1);
	assert_true(key(f, "gradients", ACTION_END));
	assert_true(key(f, "gradients", ACTION_HOME));
	assert_int_equal(v->sel, 0);
	assert_false(key(f, "gradients", ACTION_ENTER)); /* the header is no case */
	assert_true(v->ops->search(v, "Case 1:", 1));
	focused_name[0] = 0;
	assert_true(key(f, "gradients", ACTION_ENTER));
	assert_string_equal(focused_name, "traces");
	/* a step left without E5 once its phase went by is not "pending" (its E6 neither) */
	struct adopt_case *c0 = &((struct iteration *)it)->cases[0];
	free(c0->local[1]);
	free(c0->pseudo[1]);
	c0->local[1] = c0->pseudo[1] = NULL;
	f->t.example = (long)it->cases[0].trace;
	v->top = v->sel = 0;
	scr = draw(f, "gradients");
	assert_contains(scr, "(not run this iteration)");
	assert_lacks(scr, "(pending: local gradients phase)");
	free(scr);
}

static void test_shapley(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "shapley");
	assert_contains(scr, "No importance yet.");
	assert_contains(scr, "After the selection phase");
	free(scr);
	run_to_proposal(f);
	const struct iteration *it = engine_current(f->en);
	assert_non_null(it->phi);
	assert_non_null(it->shapley_method);
	scr = draw(f, "shapley");
	char *head = xasprintf("method %s", it->shapley_method);
	assert_contains(scr, head);
	free(head);
	char *num = xasprintf("%+.3f ±%.3f", it->phi[1], it->phi_sd[1]);
	assert_contains(scr, num);
	free(num);
	char *budget = xasprintf("%2d → %d", it->budget[1], it->next_budget[1]);
	assert_contains(scr, budget);
	free(budget);
	assert_contains(scr, "query ");
	assert_contains(scr, "answer ");
	if (it->phi[1] > 0)
		assert_contains(scr, "█"); /* a full eighth-block cell */
	free(scr);
	/* the ASCII glyphs draw the same rows without UTF-8 blocks */
	glyphs_select(&glyphs_ascii);
	scr = draw(f, "shapley");
	glyphs_select(&glyphs_utf8);
	assert_lacks(scr, "█");
	if (it->phi[1] > 0)
		assert_contains(scr, "#");
	free(scr);
	/* up/down select steps */
	f->t.step = -1;
	assert_true(key(f, "shapley", ACTION_MOVE_DOWN));
	assert_int_equal(f->t.step, 0);
	assert_true(key(f, "shapley", ACTION_MOVE_DOWN));
	assert_int_equal(f->t.step, 1);
	assert_true(key(f, "shapley", ACTION_HOME));
	assert_int_equal(f->t.step, 0);
	struct view *v = view_named(f, "shapley");
	assert_true(v->ops->search(v, "answer", 1));
	assert_int_equal(f->t.step, 1);
	/* a step the Shapley phase did not credit (no candidates) shows "-", not a φ of 0 */
	size_t had = it->n_cands[0];
	((struct iteration *)it)->n_cands[0] = 0;
	scr = draw(f, "shapley");
	((struct iteration *)it)->n_cands[0] = had; /* its candidates are freed by the count */
	assert_contains(scr, "-      -");
	num = xasprintf("%+.3f ±%.3f", it->phi[1], it->phi_sd[1]);
	assert_contains(scr, num);
	free(num);
	free(scr);
}

/* The Candidates screen lists what the engine holds: every candidate's text, the proposed one
 * marked, every evaluation with its mean and spread (computed here from the per-example scores),
 * sorted or in order; Enter opens a candidate with its diff, Enter returns, q closes. */
static void test_candidates(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "candidates");
	assert_contains(scr, "No candidates yet.");
	free(scr);
	run_to_proposal(f);
	const struct iteration *it = engine_current(f->en);
	assert_true(it->n_evals >= 2);
	assert_true(it->best_eval >= 0);
	scr = draw(f, "candidates");
	assert_contains(scr, "Iteration 1:");
	assert_contains(scr, "best first");
	assert_contains(scr, "Answer with only the word.");    /* answer's candidate #1 */
	assert_contains(scr, "Keep the query short.<U+2060>"); /* query's, its joiner marked */
	assert_contains(scr, "proposed");
	const struct evaluation *best = &it->evals[it->best_eval];
	double mean = 0, ss = 0;
	for (size_t i = 0; i < it->n_val; i++)
		mean += best->scores[i];
	mean /= (double)it->n_val;
	for (size_t i = 0; i < it->n_val; i++)
		ss += (best->scores[i] - mean) * (best->scores[i] - mean);
	char *row =
	    xasprintf("%.3f  ±%.3f  proposal", best->score, sqrt(ss / (double)(it->n_val - 1)));
	assert_contains(scr, row);
	free(row);
	/* best first: the proposal's row comes before the incumbent's */
	char *p = strstr(scr, "  proposal"), *q = strstr(scr, "  incumbent\n");
	if (q && best->score > it->base_score)
		assert_true(p < q);
	free(scr);
	assert_true(key(f, "candidates", ACTION_TOGGLE_SORT));
	scr = draw(f, "candidates");
	assert_contains(scr, "in the order they ran");
	free(scr);
	/* Enter on answer's candidate opens its text and its diff against the incumbent */
	struct view *v = view_named(f, "candidates");
	v->sel = 0;
	assert_true(v->ops->search(v, "Answer with only", 1));
	assert_true(key(f, "candidates", ACTION_ENTER));
	assert_int_equal(f->t.step, 1);
	scr = draw(f, "candidates");
	assert_contains(scr, "answer candidate #1 of 1 (instruct)  proposed");
	assert_contains(scr, "text:");
	assert_contains(scr, "against the incumbent:");
	assert_contains(scr, "{+Answer with only the word.");
	assert_lacks(scr, "Selection:");
	free(scr);
	assert_true(key(f, "candidates", ACTION_ENTER)); /* back to the list */
	scr = draw(f, "candidates");
	assert_contains(scr, "Selection:");
	free(scr);
	assert_false(v->ops->search(v, "no such text anywhere", 1));
	assert_true(key(f, "candidates", ACTION_QUIT));
	assert_string_equal(focused_name, "(closed)");
}

/* The Proposals pane's evidence: how many validation examples the proposal fixes, breaks and
 * leaves (counted here from the engine's per-example scores) and the flipped ones by id. */
static void test_evidence(void **state)
{
	struct fixture *f = *state;
	run_to_proposal(f);
	const struct iteration *it = engine_current(f->en);
	const struct evaluation *inc = NULL, *best = &it->evals[it->best_eval];
	for (size_t e = 0; e < it->n_evals; e++)
		if (!it->evals[e].choice[0] && !it->evals[e].choice[1])
			inc = &it->evals[e];
	assert_non_null(inc);
	size_t n[3] = {0};
	const char *fixed = NULL;
	size_t fi = 0;
	for (size_t i = 0; i < it->n_val; i++) {
		double a = inc->scores[i], b = best->scores[i];
		n[b > a ? 0 : b < a ? 1 : 2]++;
		if (b > a && !fixed)
			fixed = f->s->data.splits[SPLIT_VAL].ex[fi = i].id;
	}
	assert_true(n[0] > 0); /* the fixture's proposal fixes examples */
	char *want =
	    xasprintf("per example: fixes %zu, breaks %zu, unchanged %zu", n[0], n[1], n[2]);
	struct view *v = view_named(f, "proposals");
	assert_true(v->ops->search(v, "Flipped validation examples", 1));
	char *scr = draw(f, "proposals");
	assert_contains(scr, want);
	char *row = xasprintf("fixes  %-10s 0.000 → 1.000", fixed);
	assert_contains(scr, row);
	free(row);
	/* both final outputs side by side, the incumbent's first */
	assert_non_null(inc->traces);
	assert_non_null(best->traces);
	row = xasprintf("%s", inc->traces[fi].prediction);
	char *after = strstr(scr, row);
	assert_non_null(after);
	assert_non_null(strstr(after, best->traces[fi].prediction));
	free(row);
	free(want);
	free(scr);
}

/* The Evidence screen's columns (tlines_add_columns): each side wrapped to its own width, the
 * rows paired, the shorter side blank, colours and indents kept, the rule at the left width. */
static void test_columns(void **state)
{
	(void)state;
	struct tlines l, a, b;
	tlines_init(&l, 40);
	tlines_init(&a, 10);
	tlines_init(&b, 12);
	tlines_add(&a, THEME_SCORE_BAD, 2, "one two three"); /* 8 columns a row: two rows */
	tlines_add(&b, THEME_TEXT, 0, "alpha");
	tlines_add(&b, THEME_TITLE, 4, "beta");
	tlines_add(&b, THEME_TEXT, 0, "gamma delta");
	tlines_add_columns(&l, &a, &b, " | ");
	assert_int_equal(a.n, 2);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].text, "  one two  | alpha");
	assert_string_equal(l.v[1].text, "  three    |     beta");
	assert_string_equal(l.v[2].text, "           | gamma delta");
	for (size_t i = 0; i < l.n; i++) {
		const struct tline *r = &l.v[i];
		assert_int_equal(r->indent, 0);
		assert_int_equal(r->segs[0].off, 0);  /* drawn from the row's first byte */
		assert_int_equal(r->segs[1].off, 10); /* the rule */
		assert_int_equal(r->segs[1].el, THEME_TEXT_DIM);
	}
	assert_int_equal(l.v[0].segs[0].el, THEME_SCORE_BAD);
	assert_int_equal(l.v[1].segs[2].el, THEME_TITLE);
	assert_int_equal(l.v[1].segs[2].off, 13); /* its indent, in its colour */
	tlines_free(&l);
	tlines_free(&a);
	tlines_free(&b);
}

/* A header that wraps goes on under itself: hanging rows, plain text and coloured spans, the
 * hang kept to leave 20 columns. */
static void test_hang(void **state)
{
	(void)state;
	struct tlines l;
	tlines_init(&l, 24);
	tlines_hangf(&l, THEME_HEADER, 2, "%s", "alpha beta gamma delta epsilon zeta");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "alpha beta gamma delta");
	assert_int_equal(l.v[0].indent, 0);
	assert_string_equal(l.v[1].text, "epsilon zeta");
	assert_int_equal(l.v[1].indent, 2);
	tlines_clear(&l);
	struct tspan sp[] = {{"one two ", 8, THEME_TITLE},
	                     {"three four five six seven", 25, THEME_TEXT}};
	tlines_add_spans_hang(&l, 3, sp, 2);
	assert_int_equal(l.n, 2);
	assert_int_equal(strncmp(l.v[0].text, "one two three four five", 23), 0);
	assert_int_equal(l.v[1].indent, 3);
	assert_string_equal(l.v[1].text, "six seven");
	assert_int_equal(l.v[0].segs[0].el, THEME_TITLE);
	assert_int_equal(l.v[1].segs[0].el, THEME_TEXT);
	tlines_clear(&l);
	tlines_hangf(&l, THEME_TEXT, 30, "%s", "a b c d e f g h i j k l m n o");
	for (size_t i = 1; i < l.n; i++) /* 24 - 20 at most */
		assert_int_equal(l.v[i].indent, 4);
	tlines_free(&l);
}

static const struct step_change *change_of(const struct iteration *it, const char *id,
                                           const struct session *s)
{
	for (size_t c = 0; c < it->n_changes; c++)
		if (strcmp(s->steps[it->changes[c].step].id, id) == 0)
			return &it->changes[c];
	return NULL;
}

/* Moves the history cursor to the first row containing text. */
static void history_seek(struct fixture *f, const char *text)
{
	struct view *v = view_named(f, "history");
	v->sel = 0;
	assert_true(v->ops->search(v, text, 1));
}

static void test_proposals(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "proposals");
	assert_contains(scr, "No proposal yet.");
	assert_contains(scr, "Press r to run to the proposal");
	free(scr);
	run_to_proposal(f);
	const struct iteration *it = engine_current(f->en);
	const struct step_change *ch = change_of(it, "answer", f->s);
	assert_non_null(ch);
	assert_int_equal(f->t.step, it->changes[0].step); /* EV_PROPOSAL_READY selected it */
	scr = draw(f, "proposals");
	assert_contains(scr, "Iteration 1 proposal, 0 of 2 decided: validation 0.250 → 1.000");
	assert_contains(scr, "a accept  x reject  e edit  u undo");
	assert_contains(scr, "answer  [pending]");
	assert_contains(scr, "{+Answer with only the word.");
	assert_contains(scr, "Reply to the question.");
	assert_contains(scr, "{+Keep the query short.<U+2060>");
	free(scr);
	/* accept, then undo */
	f->t.step = ch->step;
	assert_true(key(f, "proposals", ACTION_ACCEPT));
	assert_true(f->t.dirty);
	ch = change_of(engine_current(f->en), "answer", f->s);
	if (it->n_changes > 1) {
		assert_int_equal(ch->decision, DECISION_ACCEPT);
		scr = draw(f, "proposals");
		assert_contains(scr, "answer  [accepted]");
		free(scr);
		assert_true(key(f, "proposals", ACTION_UNDO));
		assert_int_equal(ch->decision, DECISION_NONE);
	} else {
		assert_true(key(f, "proposals", ACTION_UNDO));
		assert_int_equal(ch->decision, DECISION_ACCEPT); /* the iteration closed */
		return;
	}
	/* an edit that drops an input is refused with the engine's message */
	edit_result = "Answer with only the word.";
	assert_true(key(f, "proposals", ACTION_EDIT));
	assert_int_equal(ch->decision, DECISION_NONE);
	assert_contains(f->t.message, "drops the input");
	/* a valid edit is accepted and shown as edited */
	edit_result = "Answer with one word only.\nQuestion: {{question}}\nHint: {{query}}\nReply:";
	assert_true(key(f, "proposals", ACTION_EDIT));
	edit_result = NULL;
	assert_int_equal(ch->decision, DECISION_EDIT);
	assert_string_equal(
	    f->s->steps[ch->step].prompt,
	    "Answer with one word only.\nQuestion: {{question}}\nHint: {{query}}\nReply:");
	scr = draw(f, "proposals");
	assert_contains(scr, "[edited and accepted]");
	assert_contains(scr, "your edit against the old prompt:");
	free(scr);
	/* a decided change is not decided again */
	assert_true(key(f, "proposals", ACTION_EDIT));
	assert_contains(f->t.message, "answer is already edited and accepted (u undoes it)");
	/* the other change: move to it and reject it; that closes the iteration */
	const struct step_change *other = change_of(it, "query", f->s);
	assert_non_null(other);
	assert_true(key(f, "proposals", ACTION_HOME));
	assert_int_equal(f->t.step, other->step);
	/* a cancelled edit changes nothing, and the editor's reason stays on the status line */
	assert_true(key(f, "proposals", ACTION_EDIT));
	assert_string_equal(f->t.message, "the editor failed (test)");
	assert_int_equal(other->decision, DECISION_NONE);
	/* the last decision closes the iteration: x asks first, n leaves it pending */
	assert_true(key(f, "proposals", ACTION_REJECT));
	assert_contains(f->t.message, "reject query? It is the last decision: iteration 1 closes");
	answer(&f->t, 'n');
	assert_int_equal(other->decision, DECISION_NONE);
	assert_contains(f->t.message, "query: still pending");
	assert_true(key(f, "proposals", ACTION_REJECT));
	answer(&f->t, 'y');
	assert_int_equal(other->decision, DECISION_REJECT);
	assert_int_equal(it->phase, PHASE_COUNT);
	scr = draw(f, "proposals");
	assert_contains(scr, "query  [rejected]");
	assert_contains(scr, "Closed.  u undoes its last decision");
	free(scr);
	/* and it stays undoable: the iteration opens again, then closes again */
	assert_true(key(f, "proposals", ACTION_UNDO));
	assert_contains(f->t.message, "decision undone; the iteration is open again");
	assert_int_equal(other->decision, DECISION_NONE);
	assert_int_equal(it->phase, PHASE_DECISION);
	assert_true(key(f, "proposals", ACTION_REJECT));
	answer(&f->t, 'y');
	assert_int_equal(it->phase, PHASE_COUNT);
	/* the rejected prompt stays visible in History, as a row after the versions */
	f->t.step = other->step;
	scr = draw(f, "history");
	assert_contains(scr, "Prompt versions of \"query\"");
	assert_contains(scr, "iteration 1   rejected");
	free(scr);
	history_seek(f, "iteration 1   rejected");
	assert_true(key(f, "history", ACTION_ENTER));
	scr = draw(f, "history");
	char *first = xstrndup(other->new_prompt, strcspn(other->new_prompt, "\n"));
	char *shown = xasprintf("      %.20s", first);
	assert_contains(scr, shown); /* its full text, indented under the row */
	free(shown);
	free(first);
	free(scr);
}

static void test_history(void **state)
{
	struct fixture *f = *state;
	char *scr = draw(f, "history");
	assert_contains(scr, "0 iteration(s)");
	assert_contains(scr, "no iteration yet");
	free(scr);
	run_to_proposal(f);
	const struct iteration *it = engine_current(f->en);
	int answer = session_step_index(f->s, "answer");
	char *original = xstrdup(f->s->steps[answer].prompt);
	for (size_t c = 0; c < it->n_changes; c++) {
		f->t.step = it->changes[c].step;
		assert_true(key(f, "proposals", ACTION_ACCEPT));
	}
	assert_int_equal(it->phase, PHASE_COUNT);
	f->t.step = answer;
	scr = draw(f, "history");
	assert_contains(scr, "1 iteration(s)");
	assert_contains(scr, "0.250 → 1.000");
	assert_contains(scr, "answer accepted");
	assert_contains(scr, "Prompt versions of \"answer\"");
	assert_contains(scr, "v1   iteration 0   score");
	assert_contains(scr, "original");
	assert_contains(scr, "v2   iteration 1   score 1.000");
	assert_contains(scr, "validation ▃█  0.250 → 1.000"); /* 0.25 then 1.0 */
	free(scr);
	/* Enter shows a version's full text */
	history_seek(f, "v2 ");
	assert_true(key(f, "history", ACTION_ENTER));
	scr = draw(f, "history");
	assert_contains(scr, "      Hint: {{query}}");
	free(scr);
	assert_true(key(f, "history", ACTION_ENTER));
	scr = draw(f, "history");
	assert_lacks(scr, "      Hint: {{query}}");
	/* the header names m, and once a version is marked says that Enter diffs from it */
	assert_contains(scr, "m: mark one to diff");
	free(scr);
	history_seek(f, "v1 ");
	assert_true(key(f, "history", ACTION_MARK));
	scr = draw(f, "history");
	assert_contains(scr, "Enter: diff from the marked v1");
	assert_lacks(scr, "m: mark one to diff");
	free(scr);
	history_seek(f, "v2 ");
	assert_true(key(f, "history", ACTION_ENTER));
	scr = draw(f, "history");
	assert_contains(scr, "word diff from the marked v1 to this one:");
	free(scr);
	assert_true(key(f, "history", ACTION_ENTER));
	history_seek(f, "v1 ");
	assert_true(key(f, "history", ACTION_MARK)); /* again: unmarked */
	assert_contains(f->t.message, "unmarked");
	scr = draw(f, "history");
	assert_contains(scr, "m: mark one to diff");
	free(scr);
	/* restoring the original makes it current again, as a new version */
	f->t.dirty = false;
	history_seek(f, "v1 ");
	assert_true(key(f, "history", ACTION_RESTORE_VERSION));
	assert_true(f->t.dirty);
	assert_string_equal(f->s->steps[answer].prompt, original);
	scr = draw(f, "history");
	assert_contains(scr, "v3   iteration 1");
	free(scr);
	/* restore on a row that is no version says so */
	history_seek(f, "iter ");
	assert_true(key(f, "history", ACTION_RESTORE_VERSION));
	assert_contains(f->t.message, "select a prompt version");
	/* left/right switch the step whose versions are listed */
	assert_true(key(f, "history", ACTION_MOVE_LEFT));
	assert_int_equal(f->t.step, session_step_index(f->s, "query"));
	scr = draw(f, "history");
	assert_contains(scr, "Prompt versions of \"query\"");
	free(scr);
	free(original);
}

static void send_event(struct fixture *f, enum engine_event_kind kind, int step, const char *text)
{
	struct engine_event ev = {.kind = kind,
	                          .phase = PHASE_FORWARD,
	                          .iteration = 1,
	                          .step = step,
	                          .example = -1,
	                          .text = text,
	                          .len = text ? strlen(text) : 0};
	on_event(f, &ev);
}

/* Row y of a dump (caller frees). */
static char *dump_row(const char *scr, int y)
{
	for (; y > 0 && scr; y--)
		scr = strchr(scr, '\n') ? strchr(scr, '\n') + 1 : NULL;
	return scr ? xstrndup(scr, strcspn(scr, "\n")) : xstrdup("");
}

static void assert_row_starts(const char *scr, int y, const char *text)
{
	char *row = dump_row(scr, y);
	if (strncmp(row, text, strlen(text)) != 0)
		fail_msg("row %d is \"%s\", not \"%s...\":\n%s", y, row, text, scr);
	free(row);
}

/* The first row (below `from`) that starts with text, or -1. */
static int row_starting(const char *scr, int from, const char *text)
{
	for (int y = from; y < SCREEN_H; y++) {
		char *row = dump_row(scr, y);
		bool hit = strncmp(row, text, strlen(text)) == 0;
		free(row);
		if (hit)
			return y;
	}
	return -1;
}

/* The Proposals header with its keys and the History summary and column header stay at the top
 * of a small pane however far it is scrolled; in a pane this small the Proposals key line is
 * cut, never wrapped into the data. */
static void test_headers_stay(void **state)
{
	struct fixture *f = *state;
	run_to_proposal(f);
	struct view *pv = view_named(f, "proposals"), *hv = view_named(f, "history");
	pv->w = hv->w = 40;
	pv->h = hv->h = 8;
	for (int i = 0; i < 4; i++)
		assert_true(key(f, "proposals", ACTION_PAGE_DOWN));
	char *scr = draw(f, "proposals");
	assert_row_starts(scr, 0, "Iteration 1 proposal, 0 of");
	int keys = row_starting(scr, 1, "a/x/e accept/reject/edit  u undo");
	assert_true(keys > 0 && keys < pv->h - 1); /* the key line, under the wrapped title */
	assert_lacks(scr, "pick it");              /* cut, not wrapped into the diff below */
	free(scr);
	for (int i = 0; i < 40; i++) /* to the last row */
		key(f, "history", ACTION_MOVE_DOWN);
	scr = draw(f, "history");
	assert_row_starts(scr, 0, "1 iteration(s); ");
	int cols = row_starting(scr, 1, "iter  train  validation");
	assert_true(cols > 0 && cols < hv->h - 1);
	assert_int_equal(row_starting(scr, 0, "changes"), -1); /* cut, not wrapped */
	assert_contains(scr, "v1   iteration 0"); /* the cursor's row, scrolled to under them */
	free(scr);
	assert_true(key(f, "history", ACTION_HOME));
	scr = draw(f, "history");
	assert_int_equal(row_starting(scr, 0, "iter  train  validation"), cols);
	/* 40 columns leave no room beside the others: the changes get a row of their own */
	assert_row_starts(scr, cols + 1, "      changes");
	assert_row_starts(scr, cols + 2, "   1  ");
	free(scr);
}

static void test_streaming_and_hostile_text(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(engine_step(f->en), 0);
	const struct iteration *it = engine_current(f->en);
	assert_non_null(it);
	assert_true(it->phase == PHASE_FORWARD && engine_busy(f->en));
	/* streamed text of a running step shows (sanitised) until its trace arrives */
	send_event(f, EV_PHASE_STARTED, -1, NULL);
	send_event(f, EV_TEXT, 1, "partial \x1b[31mrep");
	send_event(f, EV_TEXT, 1, "ly\x07 so far");
	char *scr = draw(f, "traces");
	assert_contains(scr, "Forward pass of iteration 1 running");
	assert_contains(scr, "answer (streaming)");
	assert_contains(scr, "partial reply so far");
	assert_lacks(scr, "\x1b");
	assert_lacks(scr, "\x07");
	free(scr);
	send_event(f, EV_STEP_TRACE, 1, NULL);
	scr = draw(f, "traces");
	assert_lacks(scr, "answer (streaming)");
	free(scr);
	drive(f);
	/* every view survives a tiny pane and a one-column pane after a full proposal */
	assert_int_equal(engine_run_to_proposal(f->en), 0);
	drive(f);
	int sizes[][2] = {{24, 6}, {1, 3}, {SCREEN_W, 1}};
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < f->t.n_views; i++) {
			struct view *v = &f->views[i];
			v->w = sizes[k][0];
			v->h = sizes[k][1];
			for (enum action a = ACTION_MOVE_UP; a <= ACTION_END; a++)
				v->ops->key(v, a);
			free(draw(f, v->ops->name));
			assert_true(v->ops->search(v, "e", 1) || true);
		}
	}
	for (size_t i = 0; i < f->t.n_views; i++)
		f->views[i].w = SCREEN_W, f->views[i].h = SCREEN_H;
	/* lines: wrapping, spans and search over sanitised text */
	struct tlines l;
	tlines_init(&l, 10);
	tlines_add(&l, THEME_TEXT, 2, "abc def ghi\x1b]0;title\x07 jkl");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "abc def");
	assert_string_equal(l.v[1].text, "ghi jkl");
	struct tspan sp[] = {{"same ", 5, THEME_TEXT}, {"[-gone-]", 8, THEME_DIFF_REMOVED}};
	tlines_add_spans(&l, 0, sp, 2); /* spans wrap at word boundaries, keeping their colours */
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[2].text, "same");
	assert_string_equal(l.v[3].text, "[-gone-]");
	assert_int_equal(l.v[3].n_segs, 1);
	assert_int_equal(l.v[3].segs[0].el, THEME_DIFF_REMOVED);
	assert_int_equal(l.v[3].segs[0].off, 0);
	struct tspan mid[] = {
	    {"in the ", 7, THEME_TEXT}, {"query", 5, THEME_DIFF_ADDED}, {" more", 5, THEME_TEXT}};
	tlines_add_spans(&l, 0, mid, 3); /* "in the qu|ery" no more */
	assert_int_equal(l.n, 6);
	assert_string_equal(l.v[4].text, "in the");
	assert_string_equal(l.v[5].text, "query more");
	assert_int_equal(l.v[5].n_segs, 2);
	assert_int_equal(l.v[5].segs[0].el, THEME_DIFF_ADDED);
	assert_int_equal(l.v[5].segs[0].off, 0);
	assert_int_equal(l.v[5].segs[1].el, THEME_TEXT);
	assert_int_equal(l.v[5].segs[1].off, 5);
	assert_int_equal(tlines_find(&l, 0, "GHI", 1), 1);
	assert_int_equal(tlines_find(&l, 1, "abc", 1), 0); /* wraps around */
	assert_int_equal(tlines_find(&l, 0, "GON", -1), 3);
	assert_int_equal(tlines_find(&l, 0, "title", 1), -1); /* the OSC sequence is gone */
	tlines_free(&l);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	glyphs_select(&glyphs_utf8);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_before_any_iteration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_traces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gradients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shapley, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proposals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_candidates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
	    cmocka_unit_test(test_columns),
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_headers_stay, setup, teardown),
	    cmocka_unit_test(test_hang),
	    cmocka_unit_test_setup_teardown(test_streaming_and_hostile_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_traces_reasoning, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

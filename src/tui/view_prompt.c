/* view_prompt.c: the Prompt screen, opened over the body from the Pipeline pane (Enter on a node)
 * or from anywhere with the show_prompt key (P).  It shows the selected step as it runs now: for
 * an LLM step its model, inputs, system message, the full current prompt template (the latest
 * version, with its number), its demonstrations and output parser; for a code step its
 * definition as the session file has it.  The header stays put while the text scrolls.
 *
 * Keys: up/down/PgUp/PgDn/Space/Home/End scroll, h/l the previous/next step, t its traces,
 * Enter, Backspace, Esc or q go back to the pane it was opened from. */
#include <stdlib.h>
#include <string.h>

#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/view.h"

struct prompt_screen {
	struct tlines l;
	int placed_step; /* the step the text was last scrolled for */
};

static void open_prompt(struct view *v)
{
	struct prompt_screen *p = xcalloc(1, sizeof *p);
	tlines_init(&p->l, v->w);
	p->placed_step = -2;
	v->priv = p;
}

static void done_prompt(struct view *v)
{
	struct prompt_screen *p = v->priv;
	if (!p)
		return;
	tlines_free(&p->l);
	free(p);
	v->priv = NULL;
}

static int shown_step(const struct view *v)
{
	int st = v->tui->step;
	return st >= 0 && (size_t)st < v->tui->s->n_steps ? st : (v->tui->s->n_steps ? 0 : -1);
}

/* The current version number of a step's prompt (0 when the engine recorded none). */
static int current_version(const struct view *v, int step)
{
	size_t n;
	const struct prompt_version *pv = engine_versions(v->tui->en, &n);
	int ver = 0;
	for (size_t i = 0; i < n; i++)
		if (pv[i].step == step)
			ver = pv[i].version;
	return ver;
}

static void build_llm(struct view *v, struct tlines *l, const struct step *st)
{
	tlines_addf(l, THEME_TEXT, 0, "model: %s%s", st->model ? st->model : "(default)",
	            st->frozen ? "  (frozen: never optimized)" : "");
	for (size_t i = 0; i < st->n_inputs; i++)
		tlines_addf(l, THEME_TEXT, 2, "{{%s}} = %s", st->inputs[i].name,
		            st->inputs[i].path);
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(st->json, "system");
	if (cJSON_IsString(sys)) {
		tlines_add(l, THEME_TEXT_DIM, 0, "system:");
		tlines_add(l, THEME_TEXT, 2, sys->valuestring);
	}
	int ver = current_version(v, st->index);
	if (ver)
		tlines_addf(l, THEME_TEXT_DIM, 0,
		            "prompt (version %d, the one that runs now):", ver);
	else
		tlines_add(l, THEME_TEXT_DIM, 0, "prompt (the one that runs now):");
	tlines_add(l, THEME_TEXT, 2, st->prompt && *st->prompt ? st->prompt : "(empty)");
	for (size_t i = 0; i < st->n_demos; i++) {
		tlines_addf(l, THEME_TEXT_DIM, 0, "demonstration %zu:", i + 1);
		tlines_addf(l, THEME_TEXT, 2, "input: %s", st->demos[i].input);
		tlines_addf(l, THEME_TEXT, 2, "output: %s", st->demos[i].output);
	}
	const cJSON *parse = cJSON_GetObjectItemCaseSensitive(st->json, "parse");
	if (parse) {
		char *text = cJSON_PrintUnformatted(parse);
		tlines_addf(l, THEME_TEXT_DIM, 0, "output parser: %s", text ? text : "?");
		cJSON_free(text);
	}
}

static void build(struct view *v, struct prompt_screen *p, int step)
{
	const struct step *st = &v->tui->s->steps[step];
	tlines_clear(&p->l);
	p->l.width = v->w;
	if (st->json && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st->json, "description")))
		tlines_add(&p->l, THEME_TEXT_DIM, 0,
		           cJSON_GetObjectItemCaseSensitive(st->json, "description")->valuestring);
	if (st->loop >= 0) {
		const struct loop *lp = &v->tui->s->loops[st->loop];
		tlines_addf(&p->l, THEME_TEXT_DIM, 0,
		            "runs in loop \"%s\", up to %d rounds (one prompt for every round)",
		            lp->id, lp->max_rounds);
	}
	if (st->kind == STEP_LLM) {
		build_llm(v, &p->l, st);
		return;
	}
	tlines_addf(&p->l, THEME_TEXT_DIM, 0,
	            "a %s step (%s); as the session defines it:", step_kind_name(st->kind),
	            "no prompt to optimize");
	char *text = st->json ? cJSON_Print(st->json) : NULL;
	tlines_add(&p->l, THEME_TEXT, 2, text ? text : "(no definition)");
	cJSON_free(text);
}

static int body_rows(const struct view *v)
{
	return v->h - 1;
}

static void draw_prompt(struct view *v)
{
	struct prompt_screen *p = v->priv;
	int step = shown_step(v);
	view_fill(v, 0, THEME_HEADER);
	if (step < 0) {
		view_print(v, 0, 0, THEME_HEADER, "The pipeline has no step.", v->w);
		return;
	}
	const struct step *st = &v->tui->s->steps[step];
	view_printf(v, 0, 0, THEME_HEADER, "%s %s (%s)   h/l other step  t traces  Enter or q back",
	            glyphs()->hline_focus, st->id, step_kind_name(st->kind));
	build(v, p, step);
	if (step != p->placed_step) {
		v->top = 0;
		p->placed_step = step;
	}
	int sel = v->top;
	tlines_clamp(&sel, &v->top, p->l.n, body_rows(v));
	tlines_draw(v, &p->l, 1, body_rows(v), v->top, -1);
}

static void other_step(struct view *v, int dir)
{
	int n = (int)v->tui->s->n_steps, s = shown_step(v) + dir;
	if (s >= 0 && s < n)
		v->tui->step = s;
}

static bool key_prompt(struct view *v, enum action a)
{
	struct prompt_screen *p = v->priv;
	int rows = body_rows(v);
	switch (a) {
	case ACTION_QUIT:
	case ACTION_CANCEL:
	case ACTION_BACK:
	case ACTION_ENTER:
	case ACTION_SHOW_PROMPT:
		tui_close_overlay(v->tui);
		return true;
	case ACTION_MOVE_LEFT:
		other_step(v, -1);
		return true;
	case ACTION_MOVE_RIGHT:
		other_step(v, 1);
		return true;
	default:
		return tlines_scroll(a, &v->top, p->l.n, rows);
	}
}

static bool search_prompt(struct view *v, const char *pattern, int direction)
{
	struct prompt_screen *p = v->priv;
	int step = shown_step(v);
	if (step < 0)
		return false;
	build(v, p, step);
	return tlines_seek(&p->l, &v->top, pattern, direction);
}

const struct view_ops view_prompt_ops = {
    .name = "prompt",
    .title = "Prompt (Enter, q or Esc closes)",
    .open = open_prompt,
    .draw = draw_prompt,
    .key = key_prompt,
    .search = search_prompt,
    .done = done_prompt,
};

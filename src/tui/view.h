/* view.h: a pane of the workbench as an ops table (tig's view.h, tmux's window-*.c), and the
 * application state every view may read.  One file per view: view_graph.c, view_traces.c,
 * view_gradients.c, view_shapley.c, view_proposals.c, view_history.c, view_help.c; screens over
 * the body: view_prompt.c, view_candidates.c, view_evidence.c.
 *
 * Views read the engine only through engine.h's accessors and change it only through its
 * commands; they draw only through the helpers below, which sanitise every string. */
#ifndef ADOPT_VIEW_H
#define ADOPT_VIEW_H

#include <stdbool.h>
#include <wchar.h>

#include <curses.h>

#include "engine/engine.h"
#include "tui/keys.h"
#include "tui/theme.h"

struct tui;
struct view;

struct view_ops {
	const char *name;  /* "graph": used by :view NAME and in the tab bar */
	const char *title; /* "Pipeline" */
	void (*open)(struct view *v);
	/* Draws into v->win (v->w x v->h, inside the frame). */
	void (*draw)(struct view *v);
	/* Handles an action; true when used.  `key` is the raw key (for text entry). */
	bool (*key)(struct view *v, enum action a);
	/* An engine event arrived (the view may update its selection or scroll). */
	void (*event)(struct view *v, const struct engine_event *ev);
	/* Moves to the next/previous line containing `pattern` (case-insensitive); false if none.
	 */
	bool (*search)(struct view *v, const char *pattern, int direction);
	void (*done)(struct view *v);
};

struct view {
	const struct view_ops *ops;
	struct tui *tui;
	WINDOW *win;
	int w, h;
	int top, sel; /* first line shown, selected line */
	bool focused;
	void *priv;
};

/* What views share: the selection travels between panes (select a step in the graph, the
 * traces, gradients and proposals follow it). */
struct tui {
	struct session *s;
	struct engine *en;
	struct llm *llm;
	const char *session_path;
	int step;        /* selected step index (-1 none) */
	long example;    /* selected trace (index into the current iteration's traces) or -1 */
	long evidence;   /* the flipped validation example the Evidence screen shows (its position
	                  * in the iteration's validation sample), or -1 */
	bool bad_only;   /* traces filter */
	int trace_state; /* traces filter by step state (view_traces.c): 0 all */
	char trace_text[128]; /* traces filter by text (:filter), "" none */
	bool colour_by_importance;
	bool dirty; /* unsaved changes */
	bool scripted, offline;
	bool deterministic; /* screen tests: no wall-clock figures (latency) on screen */
	char message[512];  /* one-line status message */
	struct view *views;
	size_t n_views;
	int focus;
	struct tui_work *beside; /* works in flight beside the loop (projwork.c) */
};

/* Drawing helpers: every string is sanitised (no control characters or escape sequences reach
 * the terminal, invalid UTF-8 shows as U+FFFD), cut to the width, and drawn with a theme
 * element.  They return the number of columns used. */
int view_print(struct view *v, int y, int x, enum theme_element el, const char *utf8, int maxw);
int view_printf(struct view *v, int y, int x, enum theme_element el, const char *fmt, ...)
    PRINTF_LIKE(5, 6);
/* Word-wrapped text starting at line y (skipping `skip` wrapped lines); returns lines used. */
int view_text(struct view *v, int y, int x, int w, enum theme_element el, const char *utf8,
              int skip, int max_lines);
/* Counts the wrapped lines a text takes at width w. */
int view_text_lines(const char *utf8, int w);
void view_fill(struct view *v, int y, enum theme_element el);
/* Keeps v->sel in [0, n) and visible. */
void view_clamp(struct view *v, int n);
/* Sets the status line message. */
void tui_message(struct tui *t, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Draws the screen again at the loop's next turn (what a view learnt outside a key or an event). */
void tui_redraw(struct tui *t);
/* Work made beside the loop (projwork.c, llm/beside.h): work(t, arg, out) runs in a copy of the
 * process, whose changes nobody sees, and got(t, arg, data, n) in the loop with its answer; then
 * the screen is drawn again.  On the test screen, when no copy can be started, and when the copy
 * dies before it answers, work runs in the loop instead (once).  data is NULL only when the work
 * was cancelled (tui_beside_cancel, tui_beside_cancel_all).  Returns an id, or 0 when the work
 * was made at once: got was called before the return. */
typedef void tui_work_fn(struct tui *t, void *arg, struct sbuf *out);
typedef void tui_got_fn(struct tui *t, void *arg, const char *data, size_t n);
uint64_t tui_beside(struct tui *t, tui_work_fn *work, tui_got_fn *got, void *arg);
void tui_beside_cancel(struct tui *t, uint64_t id); /* 0, or one already in: nothing */
void tui_beside_cancel_all(struct tui *t);
/* Whether this process is such a copy (work that may change what it runs on, as a simulation
 * does, is made there only). */
bool tui_beside_in_copy(void);
/* engine_projection_each(en, n, usd) for a view, made beside the loop (projwork.c: a dry walk of
 * n iterations is 50-200 ms at 300 examples): done(arg, usd) is called once from the loop when
 * it is in, or with usd NULL when it was cancelled, and the screen is drawn again (tui_beside).
 * Returns an id for tui_projection_cancel, or 0 when it was made at once (the test screen, or
 * no child process to be had): done was called before the return. */
typedef void tui_projected_fn(void *arg, const double *usd);
uint64_t tui_projection_each(struct tui *t, int n, tui_projected_fn *done, void *arg);
void tui_projection_cancel(struct tui *t, uint64_t id);
/* engine_project_next for a view: true with p when the engine has it for the state of now;
 * else false, and it is being made beside the loop (the screen is drawn again when it is in). */
bool tui_project_next(struct tui *t, struct cost_projection *p);
/* "" or, when the last iteration closed with what its decisions kept unmeasured (an edited
 * prompt), what measuring it costs: "edit unmeasured: :measure scores it (12 examples, ~24
 * calls, ~$0.0004)", into buf (view_proposals.c). */
const char *tui_measure_hint(struct tui *t, char *buf, size_t n);
/* Asks a question in the message line; fn gets arg and the key typed (one of `choices`,
 * lower case), or 0 when cancelled (Esc, C-c). */
typedef void tui_answer_fn(struct tui *t, void *arg, int answer);
void tui_ask(struct tui *t, tui_answer_fn *fn, void *arg, const char *choices, const char *fmt, ...)
    PRINTF_LIKE(5, 6);
/* Runs $VISUAL/$EDITOR (or the built-in editor) on text; returns the edited text (caller frees),
 * or NULL when nothing was accepted, having told the user why (cancelled, the editor failed). */
char *tui_edit_text(struct tui *t, const char *text);
/* Moves focus to the view named `name` (e.g. "gradients", or "prompt": a screen over the body). */
void tui_focus_view(struct tui *t, const char *name);
/* Closes the screen shown over the body (help, prompt): focus returns where it was. */
void tui_close_overlay(struct tui *t);

extern const struct view_ops view_graph_ops, view_traces_ops, view_gradients_ops, view_shapley_ops,
    view_proposals_ops, view_history_ops, view_help_ops, view_prompt_ops, view_compare_ops,
    view_candidates_ops, view_evidence_ops;
/* :compare A B (view_compare.c): starts evaluating both; -1 (e set) for a bad version. */
int view_compare_start(struct view *v, const char *a, const char *b, struct err *e);

#endif

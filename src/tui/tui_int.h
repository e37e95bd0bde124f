/* tui_int.h: the workbench's private state, shared by the files of the shell: tui.c (start,
 * event loop, engine events, saving), layout.c (panes, frames, tabs), status.c (status bar and
 * message line), input.c (keys, actions, mouse, search, questions), commands.c (the : command
 * table) and editor.c.  Views never include this; they see only struct tui (view.h). */
#ifndef ADOPT_TUI_INT_H
#define ADOPT_TUI_INT_H

#include <stddef.h>

#include "frontend.h"
#include "tui/cmdline.h"
#include "tui/config.h"
#include "tui/keys.h"
#include "tui/theme.h"
#include "tui/view.h"

/* The panes, in focus-key order (1-6), then the screens shown over the whole body (help, a
 * step's prompt): focusing one opens it, focusing a pane closes it. */
enum view_id {
	VIEW_GRAPH,
	VIEW_TRACES,
	VIEW_GRADIENTS,
	VIEW_SHAPLEY,
	VIEW_PROPOSALS,
	VIEW_HISTORY,
	VIEW_HELP,
	VIEW_PROMPT,
	VIEW_COMPARE,
	VIEW_CANDIDATES,
	VIEW_EVIDENCE,
	VIEW_COUNT
};
#define PANE_COUNT VIEW_HELP

/* How the body is divided (chosen from the terminal size, ncdu's ncresize idea). */
enum layout_kind {
	LAYOUT_TOO_SMALL, /* below LAYOUT_MIN_W x LAYOUT_MIN_H: a notice only */
	LAYOUT_TABS,      /* one pane with a tab bar */
	LAYOUT_SPLIT,     /* the graph on the left, one tabbed pane on the right */
	LAYOUT_GRID,      /* all six panes */
};
#define LAYOUT_MIN_W   60
#define LAYOUT_MIN_H   16
#define LAYOUT_SPLIT_W 120
#define LAYOUT_SPLIT_H 30
#define LAYOUT_GRID_W  160
#define LAYOUT_GRID_H  45

struct rect {
	int x, y, w, h;
};

enum input_mode { INPUT_NORMAL, INPUT_COMMAND, INPUT_SEARCH, INPUT_ASK };

struct app;
/* Answer to a question: the key typed (one of the choices) or 0 when cancelled with Esc. */
typedef void ask_fn(struct app *a, int answer);

struct app {
	struct tui t; /* first: views get &app->t */
	const struct front_opts *o;
	char *path; /* the session path after :saveas (owned), else NULL */
	struct front_env env;
	struct view views[VIEW_COUNT];
	struct keymap km;
	struct tui_config cfg;
	struct theme theme;
	enum theme_depth depth;
	bool mouse_on;

	/* input */
	enum input_mode mode;
	struct cmdline cl, search_cl;
	char search[256]; /* last search pattern */
	char ask[300];    /* question in the message line */
	const char *ask_choices;
	ask_fn *ask_cb;
	tui_answer_fn *view_answer; /* a view's question (tui_ask) */
	void *view_answer_arg;
	int pending_run;              /* the run a question waits to start (app_run) */
	char pending_projection[480]; /* what it was projected to cost */
	uint64_t run_projecting; /* the run's projection being made beside the loop (0: none) */
	/* keys bound for a host or from a variable the user has not chosen (llm_set_key_asker):
	 * asked one at a time, in the order the LLM layer raised them */
	struct key_question {
		char *var, *origin;
	} * key_questions;
	size_t n_key_questions, cap_key_questions;

	/* layout */
	int rows, cols;
	int msg_rows; /* rows the message line takes: a long message wraps (msgline_rows) */
	enum layout_kind layout;
	struct rect frame[VIEW_COUNT]; /* frame of each shown view (w == 0: hidden) */
	int right;                     /* the pane shown on the right in LAYOUT_SPLIT */
	bool help_open;  /* a screen over the body (help or prompt, the focused view) is open */
	int help_return; /* focus to restore when it closes */
	bool zoomed;     /* the focused pane fills the body (z, as tmux's zoom) */

	/* loop */
	bool need_draw, need_layout, quit;
	bool draw_now; /* a key was handled: draw without waiting for the frame */
	bool autosave_pending;
	/* saves: written in the background (session_save_start) and collected by the loop;
	 * APP_SAVE_MODES tells a bench compiled against older trees too that save_mode exists */
#define APP_SAVE_MODES 1
	enum {
		SAVE_BACKGROUND, /* the workbench's */
		SAVE_AT_ONCE,    /* collected as soon as started: screen tests stay deterministic */
		SAVE_ON_LOOP, /* written on the loop (session_save), as before: bench/tui compares
		               */
	} save_mode;
	bool save_again; /* asked while one was being written: another follows it */
	/* forks so far (llm_beside_forks + saves started) and at this turn's start: a background
	 * save waits for the next turn when this one has forked already (3-7 ms each) */
	unsigned long forks, turn_forks;
	bool save_announce; /* say "saved" when the saves asked for have ended (w, not autosave) */
	int64_t last_tick, last_draw;
	unsigned spin;
	bool test;      /* ADOPT_TEST_SCREEN: in-memory screen, deterministic drawing */
	SCREEN *screen; /* the terminal's (NULL on the test screen) */
	int sig_pipe[2];
	struct test_script *script;
};

static inline struct app *app_of(struct tui *t)
{
	return (struct app *)t;
}

/* tui.c */
/* Opens the workbench as tui_main does (session, engine, curses, views) without running its loop:
 * the seam bench/tui.c drives.  On the in-memory screen when ADOPT_TEST_SCREEN is set.  NULL
 * with the message on stderr and *rc the exit status when it cannot. */
struct app *app_open(const struct front_opts *o, int *rc);
void app_close(struct app *a); /* ends curses and frees everything app_open made */
/* The engine's event callback: passes the event to every view and updates the shell. */
void app_on_event(void *arg, const struct engine_event *ev);
/* Saves to path and returns once it is written (after any save still being written). */
int app_save(struct app *a, const char *path);
/* Saves to the session's path in the background (another follows when one is being written);
 * announce: say "saved" when done.  -1 when it could not start (the message says why). */
int app_save_start(struct app *a, bool announce);
/* Collects the background save when it has ended (wait: blocks until it has). */
void app_save_collect(struct app *a, bool wait);
/* One turn of the loop: draws when due, waits in llm_wait on the terminal (in_fd, -1: none),
 * the signal pipe and a save being written (at most max_wait_ms when >= 0), then handles what
 * woke it.  tui_main's loop and bench/tui call it. */
void app_loop_turn(struct app *a, int in_fd, int max_wait_ms);
bool app_read_only(const struct app *a);  /* engine_store + session_save; 0 or -1 */
void app_quit(struct app *a, bool force); /* asks first when there are unsaved changes */
void app_ask(struct app *a, ask_fn *cb, const char *choices, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
void app_set_mouse(struct app *a, bool on);
/* Applies a->cfg after :set (mouse, glyphs, colour depth). */
void app_apply_config(struct app *a);
/* The next key for a modal loop (the built-in editor): from the terminal, while the engine and
 * the network keep going, or from the test script; -1 when the script has no key to give. */
int app_next_key(struct app *a);
int app_set_theme(struct app *a, const char *name, struct err *e);
/* Runs the engine's bookkeeping after a command or a wake-up. */
void app_pump(struct app *a);

/* layout.c */
void layout_apply(struct app *a); /* recomputes frames and windows from the terminal size */
void layout_draw(struct app *a);  /* frames, titles, tab bar or the too-small notice */
bool layout_shown(const struct app *a, int view);
/* The view whose frame contains screen cell (y, x), and the line inside it; -1 if none. */
int layout_view_at(const struct app *a, int y, int x, int *line);
void app_focus(struct app *a, int view);
void app_draw(struct app *a);

/* status.c */
void status_draw(struct app *a);
void msgline_draw(struct app *a);
/* Rows the message line needs at this width: a message longer than a row wraps onto
 * up to MSGLINE_MAX_ROWS rows above the last (the panes give them up); 1 otherwise. */
#define MSGLINE_MAX_ROWS 4
int msgline_rows(const struct app *a);

/* input.c */
void input_key(struct app *a, int key);
/* Starts a run (N whole iterations, or one of the two below) after showing its projected calls
 * and money, asking first when they pass the ask_above setting. */
#define RUN_TO_PROPOSAL 0
#define RUN_CONTINUOUS  -1
void app_run(struct app *a, int iterations);
/* Runs a global action as if its key was pressed. */
void input_key_action(struct app *a, enum action act);
void input_mouse(struct app *a);

/* commands.c */
const struct cmd_spec *tui_commands(size_t *n);
void commands_run(struct app *a, const char *line);

/* view_graph.c: a mouse click at (y, x) inside the graph pane selects the node there. */
void view_graph_click(struct view *v, int y, int x);

/* view.c: true when `needle` occurs in `hay` ignoring ASCII case (NULL hay: false). */
bool tui_contains(const char *hay, const char *needle);
/* view.c: draws a frame box with a title on a window (stdscr for the panes), with the
 * glyphs of the locale (never curses' ACS line drawing, which shows as "lqqqk" in some UTF-8
 * terminals). */
void view_frame(WINDOW *win, const struct rect *r, const char *title, bool focused);

#endif

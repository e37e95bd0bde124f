/* keys.h: key codes and their names, the table of user actions (one X-macro, as tig's request.h),
 * and the keymap that binds keys to actions, globally or per view context.
 *
 * Key codes are ints: a character is its Unicode code point; a curses function key k (KEY_UP,
 * KEY_F(5), KEY_BTAB, ...) is KEYS_FN(k), outside the Unicode range, so the two never collide
 * (raw curses codes do: KEY_DOWN == U+0102).  Enter is always '\n', Backspace always
 * KEYS_BACKSPACE, whatever the terminal sent (keys_from_curses normalises).
 *
 * The default bindings live in src/tui/keys.conf, in the user's config format, compiled in. */
#ifndef ADOPT_TUI_KEYS_H
#define ADOPT_TUI_KEYS_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

struct err;

#define KEYS_FN_BASE   0x200000
#define KEYS_FN(k)     (KEYS_FN_BASE + (k))
#define KEYS_CTRL(c)   ((c)&0x1f)
#define KEYS_ESC       27
#define KEYS_BACKSPACE KEYS_FN(KEY_BACKSPACE)

/* name, help text, group (the help screen's headings, in this order) */
#define ACTION_INFO(X)                                                                             \
	X(QUIT, "quit", "Quit adopt-tui", "General")                                               \
	X(HELP, "help", "Show this help", "General")                                               \
	X(COMMAND_LINE, "command_line", "Open the : command line", "General")                      \
	X(CANCEL, "cancel", "Cancel the current prompt, search or operation", "General")           \
	X(SAVE, "save", "Save the session", "General")                                             \
	X(UNDO, "undo", "Undo the last decision", "General")                                       \
	X(REDRAW, "redraw", "Redraw the screen", "General")                                        \
	X(TOGGLE_MOUSE, "toggle_mouse", "Turn mouse support on or off", "General")                 \
	X(TOGGLE_COLOUR_MODE, "toggle_colour_mode", "Colour graph nodes by importance or state",   \
	  "General")                                                                               \
	X(INTERRUPT, "interrupt", "Cancel the running phase (rolled back); again: ask to quit",    \
	  "General")                                                                               \
	X(SUSPEND, "suspend", "Suspend to the shell (fg brings the workbench back)", "General")    \
	X(FOCUS_NEXT, "focus_next", "Focus the next pane", "Panes")                                \
	X(FOCUS_PREV, "focus_prev", "Focus the previous pane", "Panes")                            \
	X(FOCUS_1, "focus_1", "Focus pane 1 (graph)", "Panes")                                     \
	X(FOCUS_2, "focus_2", "Focus pane 2 (traces)", "Panes")                                    \
	X(FOCUS_3, "focus_3", "Focus pane 3 (gradients)", "Panes")                                 \
	X(FOCUS_4, "focus_4", "Focus pane 4 (importance)", "Panes")                                \
	X(FOCUS_5, "focus_5", "Focus pane 5 (proposals)", "Panes")                                 \
	X(FOCUS_6, "focus_6", "Focus pane 6 (history)", "Panes")                                   \
	X(SHOW_PROMPT, "show_prompt",                                                              \
	  "Show the selected step's full current prompt (also Enter on a Pipeline node)", "Panes") \
	X(SHOW_TRACES, "show_traces", "Show the selected step's runs in the Traces pane", "Panes") \
	X(SHOW_CANDIDATES, "show_candidates",                                                      \
	  "Show the iteration's candidates and the evaluated selections", "Panes")                 \
	X(ZOOM, "zoom", "Zoom the focused pane to the whole screen, or back", "Panes")             \
	X(MOVE_UP, "move_up", "Move up", "Moving")                                                 \
	X(MOVE_DOWN, "move_down", "Move down", "Moving")                                           \
	X(MOVE_LEFT, "move_left", "Move left", "Moving")                                           \
	X(MOVE_RIGHT, "move_right", "Move right", "Moving")                                        \
	X(PAGE_UP, "page_up", "Scroll up one page", "Moving")                                      \
	X(PAGE_DOWN, "page_down", "Scroll down one page", "Moving")                                \
	X(HOME, "home", "Go to the first line", "Moving")                                          \
	X(END, "end", "Go to the last line", "Moving")                                             \
	X(ENTER, "enter", "Open or select the item under the cursor", "Moving")                    \
	X(BACK, "back", "Go back to the previous view", "Moving")                                  \
	X(ITERATION_PREV, "prev_iteration",                                                        \
	  "Pinned example (Traces): its run in the previous iteration", "Moving")                  \
	X(ITERATION_NEXT, "next_iteration",                                                        \
	  "Pinned example (Traces): its run in the next iteration", "Moving")                      \
	X(MARK, "mark",                                                                            \
	  "Pin an example across iterations (Traces), mark a version to diff (History)", "Moving") \
	X(SEARCH, "search", "Search in the focused pane", "Searching")                             \
	X(SEARCH_NEXT, "search_next", "Go to the next match", "Searching")                         \
	X(SEARCH_PREV, "search_prev", "Go to the previous match", "Searching")                     \
	X(TOGGLE_BAD_FILTER, "toggle_bad_filter", "Show only failing examples", "Searching")       \
	X(CYCLE_FILTER, "cycle_filter",                                                            \
	  "Traces: all examples, a step failed, or an answer cut; "                                \
	  "Evidence: fold or show the unchanged steps",                                            \
	  "Searching")                                                                             \
	X(JUMP_TO_GRADIENT, "jump_to_gradient", "Jump to the selected step's local gradient",      \
	  "Searching")                                                                             \
	X(TOGGLE_SORT, "toggle_sort", "Sort the evaluations by score or by the order they ran",    \
	  "Searching")                                                                             \
	X(STEP_PHASE, "step_phase", "Run the next phase of the loop", "Optimizing")                \
	X(RUN_TO_PROPOSAL, "run_to_proposal", "Run to the proposal (or the end of the iteration)", \
	  "Optimizing")                                                                            \
	X(RUN_CONTINUOUS, "run_continuous", "Run iterations until paused or out of budget",        \
	  "Optimizing")                                                                            \
	X(PAUSE, "pause", "Pause after the current request", "Optimizing")                         \
	X(ACCEPT, "accept", "Accept the proposed prompt for this step", "Optimizing")              \
	X(REJECT, "reject", "Reject the proposed prompt for this step", "Optimizing")              \
	X(EDIT, "edit", "Edit the proposal before accepting it", "Optimizing")                     \
	X(RESTORE_VERSION, "restore_version", "Restore the selected prompt version", "Optimizing")

enum action {
	ACTION_NONE,
#define ACTION_ENUM(id, name, help, group) ACTION_##id,
	ACTION_INFO(ACTION_ENUM)
#undef ACTION_ENUM
	    ACTION_COUNT
};

struct action_info {
	const char *name, *help, *group;
};

/* NULL for ACTION_NONE or out of range. */
const struct action_info *action_info(enum action a);
/* Looks up "quit" (also accepts "-" for "_"); ACTION_NONE when unknown. */
enum action action_by_name(const char *name);

/* Normalises a get_wch() result (ret OK or KEY_CODE_YES) to a key code; -1 for ERR. */
int keys_from_curses(int ret, wint_t wch);
/* Parses a key name ("q", "?", "Tab", "S-Tab", "Esc", "Enter", "Up", "C-l", "F5", "Space", "PgDn",
 * "Hash" for '#', any single UTF-8 character); 0 or -1. */
int keys_parse(const char *name, int *key);
/* The canonical name of a key, as keys_parse reads it. */
void keys_name(int key, char *buf, size_t n);

struct key_binding {
	char context[24]; /* "" for global, else a view name ("graph", "diff", ...) */
	int key;
	enum action action;
};

/* Owns its bindings.  A context binding shadows the global one for the same key. */
struct keymap {
	struct key_binding *v;
	size_t n, cap;
};

void keymap_init(struct keymap *km);
void keymap_free(struct keymap *km);
/* Adds or replaces the binding of `key` in `context` ("" or NULL = global). */
void keymap_bind(struct keymap *km, const char *context, int key, enum action a);
/* Removes the binding; false when there was none. */
bool keymap_unbind(struct keymap *km, const char *context, int key);
/* The action for a key in a context, falling back to the global binding; ACTION_NONE if none. */
enum action keymap_lookup(const struct keymap *km, const char *context, int key);
/* Comma-separated names of the keys bound to `a` in `context` (global only when "" or NULL),
 * in binding order, e.g. "q, F10"; empty string when unbound. */
void keymap_keys_for(const struct keymap *km, const char *context, enum action a, char *buf,
                     size_t n);

/* Applies one config line's words: `bind [CONTEXT] KEY ACTION` or `unbind [CONTEXT] KEY`.
 * Returns 1 when handled, 0 when the first word is neither, -1 on error (message in e). */
int keymap_apply_words(struct keymap *km, int argc, char **argv, struct err *e);
/* Loads the compiled-in defaults (src/tui/keys.conf). */
int keymap_load_defaults(struct keymap *km, struct err *e);

#endif

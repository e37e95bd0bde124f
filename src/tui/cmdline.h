/* cmdline.h: the ':' command line as a state machine, independent of drawing: editing keys,
 * history, Tab completion of command names (from the caller's table of command specs) and of
 * arguments (through a per-command callback), and splitting a finished line into argv.
 *
 * The text is UTF-8; the cursor is a byte offset on a character boundary.  Keys are keys.h codes.
 * Editing keys: printable characters insert; Backspace, Del, Left, Right, Home/C-a, End/C-e,
 * C-u (kill to start), C-k (kill to end), C-w (kill the word before the cursor), Up/Down
 * (history), Tab / S-Tab (complete, then cycle), Enter (done), Esc/C-c/C-g (cancel), and
 * Backspace on an empty line cancels (as vim does). */
#ifndef ADOPT_TUI_CMDLINE_H
#define ADOPT_TUI_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* A list of owned strings. */
struct cmdline_cands {
	char **v;
	size_t n, cap;
};
void cmdline_cands_add(struct cmdline_cands *c, const char *s);
void cmdline_cands_clear(struct cmdline_cands *c);

/* Adds every possible value of argument `argi` (1 = first argument) of command `cmd` to `out`;
 * the command line keeps those starting with the typed prefix, so a callback may add them all. */
typedef void (*cmdline_complete_fn)(void *ud, const char *cmd, int argi, const char *prefix,
                                    struct cmdline_cands *out);

struct cmd_spec {
	const char *name;             /* "save-display" */
	const char *args;             /* "FILE" (for help and the hint line) */
	const char *help;             /* one line */
	cmdline_complete_fn complete; /* NULL: no argument completion */
};

enum cmdline_result { CMDLINE_EDITING, CMDLINE_DONE, CMDLINE_CANCELLED };

struct cmdline {
	char *s; /* the text, NUL-terminated */
	size_t len, cap, cur;
	const struct cmd_spec *specs;
	size_t nspecs;
	void *ud; /* passed to completion callbacks */
	/* history, oldest first; `pos` == n when not browsing */
	char **hist;
	size_t nhist, hist_cap, hist_pos, hist_max;
	char *hist_saved; /* the line being typed before browsing started */
	/* completion: candidates for the word at [word_start, cur); cycling through them */
	struct cmdline_cands cands;
	size_t word_start, cand_idx;
	bool cycling;
};

void cmdline_init(struct cmdline *cl, const struct cmd_spec *specs, size_t nspecs, void *ud);
void cmdline_free(struct cmdline *cl);
/* Starts editing a new line with `initial` text (may be NULL) and the cursor at its end. */
void cmdline_start(struct cmdline *cl, const char *initial);
/* Feeds one key.  On CMDLINE_DONE the text stays readable (cmdline_text) and a non-empty line
 * that differs from the newest history entry is added to the history. */
enum cmdline_result cmdline_key(struct cmdline *cl, int key);
const char *cmdline_text(const struct cmdline *cl);
/* The cursor's display column within the text (wide characters count 2). */
int cmdline_cursor_col(const struct cmdline *cl);
/* The candidates of the last ambiguous completion (for a list under the line); empty otherwise. */
const struct cmdline_cands *cmdline_candidates(const struct cmdline *cl);
void cmdline_history_add(struct cmdline *cl, const char *line);

/* The spec named `name`, or the only one `name` is a prefix of; NULL (and a message in e) when
 * unknown or ambiguous. */
const struct cmd_spec *cmdline_lookup(const struct cmd_spec *specs, size_t n, const char *name,
                                      struct err *e);

/* Splits a line into words: blanks separate, 'single quotes' are literal, "double quotes" and
 * bare words take backslash escapes, an unquoted # at the start of a word begins a comment.
 * *argv is NULL-terminated and owned by the caller (cmdline_argv_free); -1 on an unterminated
 * quote (and *argv = NULL). */
int cmdline_split(const char *line, int *argc, char ***argv, struct err *e);
void cmdline_argv_free(char **argv);

#endif

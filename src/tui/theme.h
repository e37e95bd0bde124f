/* theme.h: colour themes.  A theme file has lines `element = FG [BG] [ATTR...]` (see
 * themes/default.theme); colours are names (default, black, red, ..., bright-red, ...), 0-255 or
 * #rrggbb; attributes are bold, dim, underline, reverse, italic, blink.  The elements come from one
 * X-macro table, THEME_ELEMENTS, used for the enum, the parser and the built-in defaults.
 *
 * Loading a theme starts from the compiled-in themes/default.theme and applies the named theme's
 * lines over it.  Names are looked up in $XDG_CONFIG_HOME/adopt-tui/themes/NAME.theme (or
 * ~/.config/...), then ADOPT_DATADIR/themes, then the compiled-in copies.
 *
 * Colours are downgraded to what the terminal has, as tmux's colour.c does: #rrggbb to the nearest
 * xterm-256 cube or grey entry, 256 to the nearest of the 16 standard colours, 16 to 8 (bright
 * colours become bold), and no colour at all (NO_COLOR set, TERM=dumb, or no colour support)
 * gives a monochrome screen that uses the "mono" theme's attributes (selection = reverse...). */
#ifndef ADOPT_TUI_THEME_H
#define ADOPT_TUI_THEME_H

#include <stdbool.h>

struct err;
struct sbuf;
struct cmdline_cands;

/* id, name in theme files */
#define THEME_ELEMENTS(X)                                                                          \
	X(TEXT, "text")                                                                            \
	X(TEXT_DIM, "text.dim")                                                                    \
	X(TITLE, "title")                                                                          \
	X(HEADER, "header")                                                                        \
	X(STATUS, "status")                                                                        \
	X(BORDER, "border")                                                                        \
	X(BORDER_FOCUS, "border.focus")                                                            \
	X(SELECTED, "selected")                                                                    \
	X(NODE_IDLE, "graph.node.idle")                                                            \
	X(NODE_RUNNING, "graph.node.running")                                                      \
	X(NODE_DONE, "graph.node.done")                                                            \
	X(NODE_ERROR, "graph.node.error")                                                          \
	X(NODE_CODE, "graph.node.code")                                                            \
	X(NODE_LLM, "graph.node.llm")                                                              \
	X(NODE_SELECTED, "graph.node.selected")                                                    \
	X(EDGE, "graph.edge")                                                                      \
	X(LOOP, "graph.loop")                                                                      \
	X(SHAPLEY_POS, "shapley.positive")                                                         \
	X(SHAPLEY_NEG, "shapley.negative")                                                         \
	X(SHAPLEY_UNCERTAIN, "shapley.uncertainty")                                                \
	X(BUDGET, "budget")                                                                        \
	X(DIFF_ADDED, "diff.added")                                                                \
	X(DIFF_REMOVED, "diff.removed")                                                            \
	X(SCORE_GOOD, "score.good")                                                                \
	X(SCORE_BAD, "score.bad")                                                                  \
	X(COST, "cost")                                                                            \
	X(ERROR, "error")                                                                          \
	X(WARNING, "warning")                                                                      \
	X(SCRIPTED, "scripted")                                                                    \
	X(HELP_KEY, "help.key")                                                                    \
	X(HELP_GROUP, "help.group")                                                                \
	X(CMDLINE, "cmdline")                                                                      \
	X(SEARCH_MATCH, "search.match")                                                            \
	X(SPARKLINE, "sparkline")

enum theme_element {
#define THEME_ENUM(id, name) THEME_##id,
	THEME_ELEMENTS(THEME_ENUM)
#undef THEME_ENUM
	    THEME_COUNT
};

/* Colours: THEME_DEFAULT, a palette index 0..255, or THEME_RGB(r, g, b). */
#define THEME_DEFAULT      (-1)
#define THEME_RGB_FLAG     0x1000000
#define THEME_RGB(r, g, b) (THEME_RGB_FLAG | ((r) << 16) | ((g) << 8) | (b))
#define THEME_IS_RGB(c)    ((c) >= 0 && ((c)&THEME_RGB_FLAG))

enum {
	THEME_BOLD = 1 << 0,
	THEME_DIM = 1 << 1,
	THEME_UNDERLINE = 1 << 2,
	THEME_REVERSE = 1 << 3,
	THEME_ITALIC = 1 << 4,
	THEME_BLINK = 1 << 5,
};

struct theme_style {
	int fg, bg;
	unsigned attrs;
};

struct theme {
	char name[64];
	struct theme_style el[THEME_COUNT];
};

/* What the terminal can show, worst first. */
enum theme_depth { THEME_MONO, THEME_8, THEME_16, THEME_256, THEME_TRUECOLOR };

/* The element's name ("graph.node.running"), or its id from a name (-1 if unknown). */
const char *theme_element_name(enum theme_element el);
int theme_element_by_name(const char *name);

/* Parses "red", "bright-red", "default", "0".."255", "#rrggbb"; 0 or -1. */
int theme_parse_colour(const char *s, int *colour);
/* Applies theme text over `t`.  Each bad line appends "FNAME:LINE: message\n" to errors (bad lines
 * are skipped); returns the number of bad lines. */
int theme_parse(struct theme *t, const char *text, const char *fname, struct sbuf *errors);
/* The compiled-in default theme (themes/default.theme). */
void theme_default(struct theme *t);
/* Loads theme `name` (see the search order above) over the default.  Errors in the file are
 * appended to errors (the theme still loads); -1 only when no theme of that name exists. */
int theme_load(struct theme *t, const char *name, struct sbuf *errors, struct err *e);
/* A theme name is a plain file name: not empty, no '/', no leading '.', under 64 bytes. */
bool theme_name_valid(const char *name);
/* Adds the names of every theme found (user, installed, built-in) to out. */
void theme_list(struct cmdline_cands *out);

/* Colour downgrades (pure functions). */
int theme_rgb_to_256(int r, int g, int b);
int theme_256_to_16(int c);
/* Maps a colour to a depth; for THEME_8, bright colours become their base colour and *bold is
 * set (bold may be NULL).  THEME_TRUECOLOR turns palette entries >= 16 into THEME_RGB values. */
int theme_colour_for(int colour, enum theme_depth depth, bool *bold);
/* The RGB value of a palette entry (xterm's default palette). */
int theme_palette_rgb(int c);

/* The depth to use: MONO when NO_COLOR is set, TERM is dumb or unset, or curses has no colours;
 * else from COLORS.  Call after start_color(). */
enum theme_depth theme_detect_depth(void);

/* The theme to load at a depth: "mono" at THEME_MONO (colour themes would lose their meaning),
 * else `name`. */
const char *theme_name_for(const char *name, enum theme_depth depth);

/* Sets up curses colour pairs for every element at `depth` (start_color must have been called
 * unless depth is THEME_MONO); at THEME_MONO only attributes are used. */
void theme_apply(const struct theme *t, enum theme_depth depth);
/* The curses attributes and colour pair of an element as applied. */
void theme_get(enum theme_element el, unsigned long *attrs, int *pair);

#endif

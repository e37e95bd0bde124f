/* config.h: the user's configuration file ($XDG_CONFIG_HOME/adopt-tui/config, falling back to
 * ~/.config/adopt-tui/config): key bindings (`bind`, `unbind`, see keys.h) and options
 * (`set NAME VALUE`).  Errors name file:line, are collected, and never stop loading: a bad line
 * is skipped and the rest still applies.  The options form one table, also used by `:set`. */
#ifndef ADOPT_TUI_CONFIG_H
#define ADOPT_TUI_CONFIG_H

#include <stdbool.h>

struct err;
struct keymap;
struct sbuf;
struct cmdline_cands;

enum config_glyphs { CONFIG_GLYPHS_AUTO, CONFIG_GLYPHS_UTF8, CONFIG_GLYPHS_ASCII };
/* Colour depth override: auto, or force one level (see theme.h). */
enum config_colours {
	CONFIG_COLOURS_AUTO,
	CONFIG_COLOURS_TRUECOLOR,
	CONFIG_COLOURS_256,
	CONFIG_COLOURS_16,
	CONFIG_COLOURS_8,
	CONFIG_COLOURS_MONO
};

struct tui_config {
	char theme[64]; /* theme name, "default" */
	bool mouse;     /* default on */
	enum config_glyphs glyphs;
	enum config_colours colours;
	double ask_above; /* USD: r, R and :run projected above it ask first; < 0 never ask */
	int patience;     /* R stops after this many iterations without validation gain; 0 never */
};

#define CONFIG_ASK_ABOVE_DEFAULT 1.0
#define CONFIG_PATIENCE_DEFAULT  3

/* name, value hint, help */
#define CONFIG_OPTIONS(X)                                                                          \
	X(theme, "NAME", "Colour theme (default, light, high-contrast, mono, or your own)")        \
	X(mouse, "on|off", "Mouse support (click to focus and select, wheel to scroll)")           \
	X(glyphs, "auto|utf8|ascii", "Line-drawing and bar characters")                            \
	X(colours, "auto|truecolor|256|16|8|mono", "Colour depth (auto: what the terminal says)")  \
	X(ask_above, "USD|never",                                                                  \
	  "Ask before a run projected to cost more (r, R, :run; default 1)")                       \
	X(patience, "N", "R stops after N iterations without validation gain (0: never; default 3)")

void tui_config_init(struct tui_config *c);
/* Sets one option from text ("mouse", "off"); -1 with a message naming the valid values. */
int tui_config_set(struct tui_config *c, const char *name, const char *value, struct err *e);
/* Adds the option names (argi 1) or the values of option `option` (argi 2) to out; the values of
 * `theme` are not known here (the caller lists themes). */
void tui_config_complete(const char *option, int argi, struct cmdline_cands *out);
/* Applies a whole config text.  Each bad line appends "FILE:LINE: message\n" to errors; returns the
 * number of bad lines. */
int tui_config_parse(struct tui_config *c, struct keymap *km, const char *text, const char *fname,
                     struct sbuf *errors);
/* The user's configuration directory, $XDG_CONFIG_HOME/adopt-tui or ~/.config/adopt-tui (caller
 * frees), or NULL when neither XDG_CONFIG_HOME nor HOME is set. */
char *tui_config_dir(void);
/* The next line of a text (without its '\n'; caller frees) and advances *p; NULL at the end. */
char *tui_config_next_line(const char **p);
/* The user's config path (caller frees), or NULL when neither XDG_CONFIG_HOME nor HOME is set. */
char *tui_config_user_path(void);
/* Loads the user's config if it exists (a missing file is fine); returns the number of errors. */
int tui_config_load_user(struct tui_config *c, struct keymap *km, struct sbuf *errors);

#endif

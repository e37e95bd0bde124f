/* config.c: the option table, `set` lines, and reading the user's config file line by line
 * (bind/unbind go to the keymap).  Bad lines are reported with file:line and skipped. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/config.h"
#include "tui/keys.h"
#include "tui/theme.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

static const char *const glyphs_values[] = {"auto", "utf8", "ascii", NULL};
static const char *const colours_values[] = {"auto", "truecolor", "256", "16", "8", "mono", NULL};
static const char *const bool_values[] = {"on", "off", NULL};

static const struct {
	const char *name, *hint, *help;
} options[] = {
#define OPTION_ROW(name, hint, help) {#name, hint, help},
    CONFIG_OPTIONS(OPTION_ROW)
#undef OPTION_ROW
};

void tui_config_init(struct tui_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->theme, sizeof(c->theme), "default");
	c->mouse = true;
	c->ask_above = CONFIG_ASK_ABOVE_DEFAULT;
	c->patience = CONFIG_PATIENCE_DEFAULT;
}

static int value_index(const char *const *values, const char *v)
{
	for (int i = 0; values[i]; i++)
		if (strcmp(values[i], v) == 0)
			return i;
	return -1;
}

static int bad_value(struct err *e, const char *name, const char *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].name, name) == 0)
			return err_set(e, "option %s: invalid value \"%s\" (expected %s)", name,
			               value, options[i].hint);
	return err_set(e, "unknown option \"%s\"", name);
}

int tui_config_set(struct tui_config *c, const char *name, const char *value, struct err *e)
{
	int i;
	if (strcmp(name, "theme") == 0) {
		if (!theme_name_valid(value) || strlen(value) >= sizeof(c->theme))
			return err_set(e, "option theme: invalid theme name \"%s\"", value);
		memcpy(c->theme, value, strlen(value) + 1);
		return 0;
	}
	if (strcmp(name, "mouse") == 0 && (i = value_index(bool_values, value)) >= 0) {
		c->mouse = i == 0;
		return 0;
	}
	if (strcmp(name, "glyphs") == 0 && (i = value_index(glyphs_values, value)) >= 0) {
		c->glyphs = (enum config_glyphs)i;
		return 0;
	}
	if (strcmp(name, "colours") == 0 && (i = value_index(colours_values, value)) >= 0) {
		c->colours = (enum config_colours)i;
		return 0;
	}
	double usd;
	if (strcmp(name, "ask_above") == 0 && strcmp(value, "never") == 0) {
		c->ask_above = -1;
		return 0;
	}
	if (strcmp(name, "ask_above") == 0 && parse_double(value, &usd) == 0 && usd >= 0 &&
	    usd <= 1e9) {
		c->ask_above = usd;
		return 0;
	}
	long n;
	if (strcmp(name, "patience") == 0 && parse_long(value, &n) == 0 && n >= 0 && n <= 100000) {
		c->patience = (int)n;
		return 0;
	}
	return bad_value(e, name, value);
}

void tui_config_complete(const char *option, int argi, struct cmdline_cands *out)
{
	if (argi == 1) {
		for (size_t i = 0; i < ARRAY_SIZE(options); i++)
			cmdline_cands_add(out, options[i].name);
		return;
	}
	static const char *const ask_values[] = {"never", NULL};
	const char *const *values = strcmp(option, "ask_above") == 0 ? ask_values
	                            : strcmp(option, "mouse") == 0   ? bool_values
	                            : strcmp(option, "glyphs") == 0  ? glyphs_values
	                            : strcmp(option, "colours") == 0 ? colours_values
	                                                             : NULL;
	for (size_t i = 0; argi == 2 && values && values[i]; i++)
		cmdline_cands_add(out, values[i]);
}

/* One line's words; 0 or -1 with a message. */
static int apply_words(struct tui_config *c, struct keymap *km, int argc, char **argv,
                       struct err *e)
{
	int rc = keymap_apply_words(km, argc, argv, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (strcmp(argv[0], "set") == 0) {
		if (argc != 3)
			return err_set(e, "usage: set OPTION VALUE");
		return tui_config_set(c, argv[1], argv[2], e);
	}
	return err_set(e, "unknown command \"%s\" (expected bind, unbind or set)", argv[0]);
}

int tui_config_parse(struct tui_config *c, struct keymap *km, const char *text, const char *fname,
                     struct sbuf *errors)
{
	int nerr = 0, line = 0;
	char *s;
	for (const char *p = text; (s = tui_config_next_line(&p));) {
		char **argv = NULL;
		struct err e;
		int argc;
		line++;
		if (cmdline_split(s, &argc, &argv, &e) < 0 ||
		    (argc && apply_words(c, km, argc, argv, &e) < 0)) {
			sbuf_addf(errors, "%s:%d: %s\n", fname, line, e.msg);
			nerr++;
		}
		cmdline_argv_free(argv);
		free(s);
	}
	return nerr;
}

char *tui_config_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		return xasprintf("%s/adopt-tui", xdg);
	if (home && *home)
		return xasprintf("%s/.config/adopt-tui", home);
	return NULL;
}

char *tui_config_next_line(const char **p)
{
	if (!**p)
		return NULL;
	const char *nl = strchr(*p, '\n');
	size_t len = nl ? (size_t)(nl - *p) : strlen(*p);
	char *line = xstrndup(*p, len);
	*p += len + (nl != NULL);
	return line;
}

char *tui_config_user_path(void)
{
	char *dir = tui_config_dir(), *path = dir ? xasprintf("%s/config", dir) : NULL;
	free(dir);
	return path;
}

int tui_config_load_user(struct tui_config *c, struct keymap *km, struct sbuf *errors)
{
	char *path = tui_config_user_path(), *text;
	size_t len;
	struct err e;
	int nerr = 0;
	if (!path || access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	if (file_read(path, CONFIG_MAX_BYTES, &text, &len, &e) < 0) {
		sbuf_addf(errors, "%s\n", e.msg);
		nerr = 1;
	} else {
		nerr = tui_config_parse(c, km, text, path, errors);
		free(text);
	}
	free(path);
	return nerr;
}

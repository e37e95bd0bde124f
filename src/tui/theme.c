/* theme.c: theme files (parsing, search path, built-in copies), colour downgrades (truecolor to
 * 256 to 16 to 8, after tmux's colour.c) and the curses colour pairs of the applied theme. */
#include <curses.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/builtin.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/config.h"
#include "tui/theme.h"

#ifndef ADOPT_DATADIR
#define ADOPT_DATADIR "/usr/local/share/adopt-tui"
#endif
#define THEME_MAX_BYTES (256 * 1024)

static const char *const element_names[] = {
#define THEME_NAME(id, name) name,
    THEME_ELEMENTS(THEME_NAME)
#undef THEME_NAME
};

static const char *const colour_names[] = {"black", "red",     "green", "yellow",
                                           "blue",  "magenta", "cyan",  "white"};

static const struct {
	const char *name;
	unsigned bit;
	attr_t curses;
} attr_names[] = {
    {"bold", THEME_BOLD, A_BOLD},
    {"dim", THEME_DIM, A_DIM},
    {"underline", THEME_UNDERLINE, A_UNDERLINE},
    {"reverse", THEME_REVERSE, A_REVERSE},
    {"italic", THEME_ITALIC, A_ITALIC},
    {"blink", THEME_BLINK, A_BLINK},
};

const char *theme_element_name(enum theme_element el)
{
	return (unsigned)el < THEME_COUNT ? element_names[el] : NULL;
}

int theme_element_by_name(const char *name)
{
	for (int i = 0; i < THEME_COUNT; i++)
		if (strcmp(element_names[i], name) == 0)
			return i;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int theme_parse_colour(const char *s, int *colour)
{
	long n;
	if (strcmp(s, "default") == 0) {
		*colour = THEME_DEFAULT;
		return 0;
	}
	if (s[0] == '#') {
		int v = 0;
		if (strlen(s) != 7)
			return -1;
		for (int i = 1; i < 7; i++) {
			int h = hexval(s[i]);
			if (h < 0)
				return -1;
			v = v * 16 + h;
		}
		*colour = THEME_RGB_FLAG | v;
		return 0;
	}
	if (parse_long(s, &n) == 0)
		return n >= 0 && n <= 255 ? (*colour = (int)n, 0) : -1;
	int bright = 0;
	if (strncmp(s, "bright", 6) == 0) {
		bright = 8;
		s += 6;
		if (*s == '-' || *s == '_')
			s++;
	}
	if (strcmp(s, "grey") == 0 || strcmp(s, "gray") == 0) {
		*colour = bright ? 7 : 8; /* grey is bright black; bright grey is white */
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		if (strcmp(s, colour_names[i]) == 0) {
			*colour = i + bright;
			return 0;
		}
	}
	return -1;
}

/* Parses "element = FG [BG] [ATTR...]" (comment already stripped). */
static int parse_line(struct theme *t, char *line, struct err *e)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return err_set(e, "expected \"element = FG [BG] [ATTR...]\"");
	*eq = 0;
	char *name = str_trim(line);
	int el = theme_element_by_name(name);
	if (el < 0)
		return err_set(e, "unknown element \"%s\"", name);
	struct theme_style st = {THEME_DEFAULT, THEME_DEFAULT, 0};
	int ncolours = 0;
	char *save = NULL;
	for (char *w = strtok_r(eq + 1, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(attr_names); i++)
			if (strcmp(w, attr_names[i].name) == 0)
				break;
		if (i < ARRAY_SIZE(attr_names)) {
			st.attrs |= attr_names[i].bit;
			continue;
		}
		int c;
		if (theme_parse_colour(w, &c) < 0)
			return err_set(e,
			               "%s: \"%s\" is not a colour (name, 0-255 or #rrggbb) "
			               "or an attribute (bold dim underline reverse italic blink)",
			               name, w);
		if (ncolours == 2)
			return err_set(e, "%s: a third colour \"%s\" (only FG and BG)", name, w);
		*(ncolours++ ? &st.bg : &st.fg) = c;
	}
	t->el[el] = st;
	return 0;
}

int theme_parse(struct theme *t, const char *text, const char *fname, struct sbuf *errors)
{
	int nerr = 0, lineno = 0;
	char *line;
	for (const char *p = text; (line = tui_config_next_line(&p));) {
		lineno++;
		/* a comment: '#' first on the line, or starting a word that is not #rrggbb */
		char *start = line + strspn(line, " \t");
		if (*start == '#')
			*start = 0;
		for (char *h = strchr(start, '#'); h; h = strchr(h + 1, '#')) {
			bool word_start = h[-1] == ' ' || h[-1] == '\t';
			bool colour = strspn(h + 1, "0123456789abcdefABCDEF") == 6 &&
			              strchr(" \t\r", h[7]); /* also true at the NUL */
			if (word_start && !colour) {
				*h = 0;
				break;
			}
		}
		struct err e;
		if (*str_trim(line) && parse_line(t, line, &e) < 0) {
			sbuf_addf(errors, "%s:%d: %s\n", fname, lineno, e.msg);
			nerr++;
		}
		free(line);
	}
	return nerr;
}

void theme_default(struct theme *t)
{
	struct sbuf errs = {0};
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < THEME_COUNT; i++)
		t->el[i] = (struct theme_style){THEME_DEFAULT, THEME_DEFAULT, 0};
	const char *text = builtin_get("themes/default.theme");
	if (text)
		theme_parse(t, text, "themes/default.theme", &errs);
	sbuf_free(&errs); /* the built-in file is tested to be clean */
	snprintf(t->name, sizeof(t->name), "default");
}

/* The user's theme directory (caller frees), or NULL. */
static char *user_theme_dir(void)
{
	char *dir = tui_config_dir(), *themes = dir ? xasprintf("%s/themes", dir) : NULL;
	free(dir);
	return themes;
}

bool theme_name_valid(const char *name)
{
	return *name && !strchr(name, '/') && name[0] != '.' && strlen(name) < 64;
}

int theme_load(struct theme *t, const char *name, struct sbuf *errors, struct err *e)
{
	if (!theme_name_valid(name))
		return err_set(e, "invalid theme name \"%s\"", name);
	char *dirs[2] = {user_theme_dir(), xstrdup(ADOPT_DATADIR "/themes")};
	int rc = -1;
	theme_default(t);
	for (int i = 0; i < 2 && rc < 0; i++) {
		if (!dirs[i])
			continue;
		char *path = xasprintf("%s/%s.theme", dirs[i], name), *text;
		size_t len;
		if (access(path, F_OK) == 0) {
			if (file_read(path, THEME_MAX_BYTES, &text, &len, e) < 0) {
				sbuf_addf(errors, "%s\n", e->msg);
			} else {
				theme_parse(t, text, path, errors);
				free(text);
			}
			rc = 0;
		}
		free(path);
	}
	if (rc < 0) {
		char *key = xasprintf("themes/%s.theme", name);
		const char *text = builtin_get(key);
		if (text) {
			theme_parse(t, text, key, errors);
			rc = 0;
		} else {
			err_set(e, "no theme \"%s\" (looked in %s, %s and the built-in themes)",
			        name, dirs[0] ? dirs[0] : "~/.config/adopt-tui/themes", dirs[1]);
		}
		free(key);
	}
	if (rc == 0)
		snprintf(t->name, sizeof(t->name), "%s", name);
	free(dirs[0]);
	free(dirs[1]);
	return rc;
}

static void list_dir(const char *dir, struct cmdline_cands *out)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 6 && de->d_name[0] != '.' && str_endswith(de->d_name, ".theme")) {
			char *name = xstrndup(de->d_name, n - 6);
			cmdline_cands_add(out, name);
			free(name);
		}
	}
	if (d)
		closedir(d);
}

void theme_list(struct cmdline_cands *out)
{
	char *dir = user_theme_dir();
	list_dir(dir, out);
	free(dir);
	list_dir(ADOPT_DATADIR "/themes", out);
	for (const struct builtin_file *f = builtin_files; f->path; f++) {
		if (str_startswith(f->path, "themes/") && str_endswith(f->path, ".theme")) {
			char *name = xstrndup(f->path + 7, strlen(f->path) - 7 - 6);
			cmdline_cands_add(out, name);
			free(name);
		}
	}
}

/* xterm's default 16 colours. */
static const int base16[16] = {0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd,
                               0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00,
                               0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff};
static const int cube_levels[6] = {0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff};

int theme_palette_rgb(int c)
{
	if (c < 0 || c > 255)
		return 0;
	if (c < 16)
		return base16[c];
	if (c >= 232) {
		int v = 8 + 10 * (c - 232);
		return v << 16 | v << 8 | v;
	}
	c -= 16;
	return cube_levels[c / 36] << 16 | cube_levels[(c / 6) % 6] << 8 | cube_levels[c % 6];
}

static int dist_sq(int rgb, int r, int g, int b)
{
	int dr = (rgb >> 16 & 0xff) - r, dg = (rgb >> 8 & 0xff) - g, db = (rgb & 0xff) - b;
	return dr * dr + dg * dg + db * db;
}

static int to_6cube(int v)
{
	return v < 48 ? 0 : v < 114 ? 1 : (v - 35) / 40;
}

int theme_rgb_to_256(int r, int g, int b)
{
	int qr = to_6cube(r), qg = to_6cube(g), qb = to_6cube(b);
	int cube = 16 + 36 * qr + 6 * qg + qb;
	int crgb = theme_palette_rgb(cube);
	if (crgb == (r << 16 | g << 8 | b))
		return cube;
	int avg = (r + g + b) / 3;
	int grey_idx = avg > 238 ? 23 : (avg - 3) / 10;
	if (grey_idx < 0)
		grey_idx = 0;
	int grey = 232 + grey_idx;
	return dist_sq(theme_palette_rgb(grey), r, g, b) < dist_sq(crgb, r, g, b) ? grey : cube;
}

int theme_256_to_16(int c)
{
	if (c < 16)
		return c;
	int rgb = theme_palette_rgb(c), best = 0, bestd = -1;
	for (int i = 0; i < 16; i++) {
		int d = dist_sq(base16[i], rgb >> 16 & 0xff, rgb >> 8 & 0xff, rgb & 0xff);
		if (bestd < 0 || d < bestd)
			best = i, bestd = d;
	}
	return best;
}

int theme_colour_for(int colour, enum theme_depth depth, bool *bold)
{
	if (bold)
		*bold = false;
	if (colour == THEME_DEFAULT || depth == THEME_MONO)
		return THEME_DEFAULT;
	if (depth == THEME_TRUECOLOR)
		return THEME_IS_RGB(colour) || colour < 16
		           ? colour
		           : THEME_RGB_FLAG | theme_palette_rgb(colour);
	if (THEME_IS_RGB(colour))
		colour = theme_rgb_to_256(colour >> 16 & 0xff, colour >> 8 & 0xff, colour & 0xff);
	if (depth == THEME_256)
		return colour;
	colour = theme_256_to_16(colour);
	if (depth == THEME_16 || colour < 8)
		return colour;
	if (bold)
		*bold = true;
	return colour - 8;
}

enum theme_depth theme_detect_depth(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	if ((nc && *nc) || !term || !*term || strcmp(term, "dumb") == 0 || !has_colors())
		return THEME_MONO;
	if (COLORS >= 0x1000000)
		return THEME_TRUECOLOR;
	if (COLORS >= 256)
		return THEME_256;
	if (COLORS >= 16)
		return THEME_16;
	if (COLORS >= 8)
		return THEME_8;
	return THEME_MONO;
}

static struct {
	attr_t attrs;
	int pair;
} applied[THEME_COUNT];

const char *theme_name_for(const char *name, enum theme_depth depth)
{
	return depth == THEME_MONO ? "mono" : name;
}

void theme_apply(const struct theme *t, enum theme_depth depth)
{
	bool defaults = depth != THEME_MONO && use_default_colors() == OK;
	for (int i = 0; i < THEME_COUNT; i++) {
		const struct theme_style *s = &t->el[i];
		attr_t a = 0;
		for (size_t k = 0; k < ARRAY_SIZE(attr_names); k++)
			if (s->attrs & attr_names[k].bit)
				a |= attr_names[k].curses;
		applied[i].pair = 0;
		if (depth != THEME_MONO && i + 1 < COLOR_PAIRS) {
			bool bold_fg, bold_bg;
			int fg = theme_colour_for(s->fg, depth, &bold_fg);
			int bg = theme_colour_for(s->bg, depth, &bold_bg);
			if (!defaults) {
				fg = fg == THEME_DEFAULT ? COLOR_WHITE : fg;
				bg = bg == THEME_DEFAULT ? COLOR_BLACK : bg;
			}
			if (THEME_IS_RGB(fg))
				fg &= 0xffffff;
			if (THEME_IS_RGB(bg))
				bg &= 0xffffff;
			if (init_extended_pair(i + 1, fg, bg) == OK)
				applied[i].pair = i + 1;
			if (bold_fg)
				a |= A_BOLD;
		}
		applied[i].attrs = a | (applied[i].pair ? COLOR_PAIR(applied[i].pair) : 0);
	}
}

void theme_get(enum theme_element el, unsigned long *attrs, int *pair)
{
	if ((unsigned)el >= THEME_COUNT)
		el = THEME_TEXT;
	if (attrs)
		*attrs = applied[el].attrs;
	if (pair)
		*pair = applied[el].pair;
}

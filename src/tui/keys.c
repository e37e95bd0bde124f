/* keys.c: the action table, key names, get_wch normalisation and the keymap (bindings by
 * context, lookup, listing for the help screen, bind/unbind config lines, built-in defaults). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/builtin.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/config.h"
#include "tui/keys.h"
#include "tui/sanitize.h"

/* clang-format off */
static const struct action_info actions[] = {
	{NULL, NULL, NULL},
#define ACTION_ROW(id, name, help, group) {name, help, group},
	ACTION_INFO(ACTION_ROW)
#undef ACTION_ROW
};

const struct action_info *action_info(enum action a)
{
	return a > ACTION_NONE && a < ACTION_COUNT ? &actions[a] : NULL;
}

enum action action_by_name(const char *name)
{
	for (int a = ACTION_NONE + 1; a < ACTION_COUNT; a++) {
		const char *p = actions[a].name, *q = name;
		while (*p && (*p == *q || (*p == '_' && *q == '-')))
			p++, q++;
		if (!*p && !*q)
			return (enum action)a;
	}
	return ACTION_NONE;
}

/* Named keys; the first name of a key is its canonical one. */
static const struct {
	const char *name;
	int key;
} key_names[] = {
	{"Tab", '\t'},
	{"S-Tab", KEYS_FN(KEY_BTAB)},
	{"BTab", KEYS_FN(KEY_BTAB)},
	{"Esc", KEYS_ESC},
	{"Escape", KEYS_ESC},
	{"Enter", '\n'},
	{"Return", '\n'},
	{"Space", ' '},
	{"Hash", '#'},
	{"Backspace", KEYS_BACKSPACE},
	{"BS", KEYS_BACKSPACE},
	{"Del", KEYS_FN(KEY_DC)},
	{"Delete", KEYS_FN(KEY_DC)},
	{"Ins", KEYS_FN(KEY_IC)},
	{"Insert", KEYS_FN(KEY_IC)},
	{"Up", KEYS_FN(KEY_UP)},
	{"Down", KEYS_FN(KEY_DOWN)},
	{"Left", KEYS_FN(KEY_LEFT)},
	{"Right", KEYS_FN(KEY_RIGHT)},
	{"S-Up", KEYS_FN(KEY_SR)},
	{"S-Down", KEYS_FN(KEY_SF)},
	{"S-Left", KEYS_FN(KEY_SLEFT)},
	{"S-Right", KEYS_FN(KEY_SRIGHT)},
	{"Home", KEYS_FN(KEY_HOME)},
	{"End", KEYS_FN(KEY_END)},
	{"PgUp", KEYS_FN(KEY_PPAGE)},
	{"PageUp", KEYS_FN(KEY_PPAGE)},
	{"PgDn", KEYS_FN(KEY_NPAGE)},
	{"PageDown", KEYS_FN(KEY_NPAGE)},
	{"PgDown", KEYS_FN(KEY_NPAGE)},
	{"Mouse", KEYS_FN(KEY_MOUSE)},
	{"Resize", KEYS_FN(KEY_RESIZE)},
};
/* clang-format on */

int keys_from_curses(int ret, wint_t wch)
{
	if (ret == KEY_CODE_YES) {
		if (wch == KEY_ENTER)
			return '\n';
		return KEYS_FN((int)wch);
	}
	if (ret != OK)
		return -1;
	if (wch == '\r')
		return '\n';
	if (wch == 127 || wch == 8)
		return KEYS_BACKSPACE;
	return (int)wch;
}

int keys_parse(const char *name, int *key)
{
	size_t n = strlen(name);
	if (n == 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(key_names); i++) {
		if (strcasecmp(name, key_names[i].name) == 0) {
			*key = key_names[i].key;
			return 0;
		}
	}
	if ((name[0] == 'F' || name[0] == 'f') && n >= 2 && n <= 3) {
		long f;
		if (parse_long(name + 1, &f) == 0 && f >= 1 && f <= 63) {
			*key = KEYS_FN(KEY_F((int)f));
			return 0;
		}
	}
	if ((name[0] == 'C' || name[0] == 'c') && name[1] == '-' && n == 3) {
		char c = name[2];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c < 'a' || c > 'z')
			return -1;
		*key = KEYS_CTRL(c);
		if (*key == '\r')
			*key = '\n';
		if (*key == 8)
			*key = KEYS_BACKSPACE;
		return 0;
	}
	long cp;
	size_t len = san_utf8_decode(name, n, &cp);
	if (len != n || cp <= ' ' || cp == 127 || (cp >= 0x80 && cp < 0xa0))
		return -1;
	*key = (int)cp;
	return 0;
}

void keys_name(int key, char *buf, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_names); i++) {
		if (key_names[i].key == key) {
			snprintf(buf, n, "%s", key_names[i].name);
			return;
		}
	}
	if (key >= KEYS_FN(KEY_F(1)) && key <= KEYS_FN(KEY_F(63))) {
		snprintf(buf, n, "F%d", key - KEYS_FN(KEY_F(0)));
	} else if (key >= 1 && key < 27) {
		snprintf(buf, n, "C-%c", 'a' + key - 1);
	} else if (key > ' ' && key < KEYS_FN_BASE) {
		struct sbuf b = {0};
		wchar_t w = (wchar_t)key;
		san_utf8_encode(&b, &w, 1);
		snprintf(buf, n, "%s", sbuf_str(&b));
		sbuf_free(&b);
	} else {
		snprintf(buf, n, "<%#x>", (unsigned)key);
	}
}

void keymap_init(struct keymap *km)
{
	memset(km, 0, sizeof(*km));
}

void keymap_free(struct keymap *km)
{
	free(km->v);
	memset(km, 0, sizeof(*km));
}

static struct key_binding *keymap_find(const struct keymap *km, const char *context, int key)
{
	for (size_t i = 0; i < km->n; i++)
		if (km->v[i].key == key && strcmp(km->v[i].context, context ? context : "") == 0)
			return &km->v[i];
	return NULL;
}

void keymap_bind(struct keymap *km, const char *context, int key, enum action a)
{
	struct key_binding *b = keymap_find(km, context, key);
	if (!b) {
		km->v = xgrow(km->v, &km->cap, km->n + 1, sizeof(*km->v));
		b = &km->v[km->n++];
		snprintf(b->context, sizeof(b->context), "%s", context ? context : "");
		b->key = key;
	}
	b->action = a;
}

bool keymap_unbind(struct keymap *km, const char *context, int key)
{
	struct key_binding *b = keymap_find(km, context, key);
	if (!b)
		return false;
	size_t i = (size_t)(b - km->v);
	memmove(b, b + 1, (km->n - i - 1) * sizeof(*b));
	km->n--;
	return true;
}

enum action keymap_lookup(const struct keymap *km, const char *context, int key)
{
	const struct key_binding *b = context && *context ? keymap_find(km, context, key) : NULL;
	if (!b)
		b = keymap_find(km, "", key);
	return b ? b->action : ACTION_NONE;
}

void keymap_keys_for(const struct keymap *km, const char *context, enum action a, char *buf,
                     size_t n)
{
	size_t len = 0;
	if (n)
		buf[0] = 0;
	for (size_t i = 0; i < km->n; i++) {
		const struct key_binding *b = &km->v[i];
		if (b->action != a || strcmp(b->context, context ? context : "") != 0)
			continue;
		char name[32];
		keys_name(b->key, name, sizeof(name));
		int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", name);
		if (w < 0 || (size_t)w >= n - len)
			return;
		len += (size_t)w;
	}
}

int keymap_apply_words(struct keymap *km, int argc, char **argv, struct err *e)
{
	if (argc < 1)
		return 0;
	bool bind = strcmp(argv[0], "bind") == 0;
	if (!bind && strcmp(argv[0], "unbind") != 0)
		return 0;
	int want = bind ? 3 : 2;
	if (argc != want && argc != want + 1)
		return err_set(e, bind ? "usage: bind [CONTEXT] KEY ACTION"
		                       : "usage: unbind [CONTEXT] KEY");
	const char *context = argc == want + 1 ? argv[1] : "";
	const char *keyname = argv[argc == want + 1 ? 2 : 1];
	if (strlen(context) >= sizeof(((struct key_binding *)0)->context))
		return err_set(e, "context name \"%s\" is too long", context);
	int key;
	if (keys_parse(keyname, &key) < 0)
		return err_set(e, "unknown key \"%s\" (e.g. q, C-l, S-Tab, F5, PgDn, Hash)",
		               keyname);
	if (!bind) {
		if (!keymap_unbind(km, context, key))
			return err_set(e, "key \"%s\" is not bound", keyname);
		return 1;
	}
	enum action a = action_by_name(argv[argc - 1]);
	if (a == ACTION_NONE)
		return err_set(e, "unknown action \"%s\" (see the help screen for the list)",
		               argv[argc - 1]);
	keymap_bind(km, context, key, a);
	return 1;
}

int keymap_load_defaults(struct keymap *km, struct err *e)
{
	static const char path[] = "src/tui/keys.conf";
	const char *text = builtin_get(path);
	if (!text)
		return err_set(e, "%s: not compiled in", path);
	int line = 0;
	char *s;
	for (const char *p = text; (s = tui_config_next_line(&p));) {
		char **argv = NULL;
		int argc, rc = cmdline_split(s, &argc, &argv, e);
		line++;
		if (rc == 0 && argc) {
			rc = keymap_apply_words(km, argc, argv, e);
			if (rc == 0)
				rc = err_set(e, "only bind and unbind belong in the key defaults");
		}
		cmdline_argv_free(argv);
		free(s);
		if (rc < 0)
			return err_prefix(e, "%s:%d", path, line);
	}
	return 0;
}

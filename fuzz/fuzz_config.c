/* fuzz_config.c: the user's configuration file (src/tui/config.c, keys.c, cmdline.c's word
 * splitting): key bindings over the compiled-in defaults and options.  Each bad line gives one
 * "FILE:LINE: message" line and is skipped; every binding left has a key whose name reads back
 * as the same key, a known action, and is found by a lookup; the options stay valid. */
#include <string.h>

#include "fuzz.h"
#include "tui/config.h"
#include "tui/keys.h"
#include "tui/theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct tui_config c;
	struct keymap km;
	struct sbuf errors = {0};
	struct err e;
	tui_config_init(&c);
	keymap_init(&km);
	FUZZ_CHECK(keymap_load_defaults(&km, &e) == 0, "defaults: %s", e.msg);
	int bad = tui_config_parse(&c, &km, text, "config", &errors);
	int lines = 0;
	for (const char *p = sbuf_str(&errors); *p; p = strchr(p, '\n') + 1) {
		FUZZ_CHECK(str_startswith(p, "config:") && strchr(p, '\n'), "bad message: %s", p);
		lines++;
	}
	FUZZ_CHECK(lines == bad, "%d bad lines, %d messages", bad, lines);
	for (size_t i = 0; i < km.n; i++) {
		const struct key_binding *b = &km.v[i];
		char name[64];
		int key = -1;
		keys_name(b->key, name, sizeof name);
		FUZZ_CHECK(keys_parse(name, &key) == 0 && key == b->key,
		           "key %#x: name \"%s\" reads %#x", b->key, name, key);
		FUZZ_CHECK(action_info(b->action), "binding %zu: action %d", i, (int)b->action);
		FUZZ_CHECK(memchr(b->context, '\0', sizeof b->context), "context not terminated");
		FUZZ_CHECK(keymap_lookup(&km, b->context, b->key) == b->action,
		           "lookup of %s fails", name);
	}
	FUZZ_CHECK(theme_name_valid(c.theme), "theme name \"%s\"", c.theme);
	FUZZ_CHECK(c.glyphs <= CONFIG_GLYPHS_ASCII && c.colours <= CONFIG_COLOURS_MONO,
	           "option out of range");
	keymap_free(&km);
	sbuf_free(&errors);
	free(text);
	return 0;
}

/* fuzz_theme.c: theme files (src/tui/theme.c) applied over the default theme.  Each bad line
 * gives one "FILE:LINE: message" line and is skipped; every element ends with colours and
 * attributes the screen can use, at every colour depth. */
#include <string.h>

#include "fuzz.h"
#include "tui/theme.h"

static void check_colour(int c, const char *what, int el)
{
	FUZZ_CHECK(c == THEME_DEFAULT || (c >= 0 && c <= 255) ||
	               (THEME_IS_RGB(c) && (c & ~(THEME_RGB_FLAG | 0xFFFFFF)) == 0),
	           "element %d: %s colour %#x", el, what, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct theme t;
	struct sbuf errors = {0};
	theme_default(&t);
	int bad = theme_parse(&t, text, "x.theme", &errors);
	FUZZ_CHECK(bad >= 0, "negative count");
	int lines = 0;
	for (const char *p = sbuf_str(&errors); *p; p = strchr(p, '\n') + 1) {
		FUZZ_CHECK(str_startswith(p, "x.theme:") && strchr(p, '\n'), "bad message: %s", p);
		lines++;
	}
	FUZZ_CHECK(lines == bad, "%d bad lines, %d messages", bad, lines);
	for (int el = 0; el < THEME_COUNT; el++) {
		const struct theme_style *s = &t.el[el];
		check_colour(s->fg, "fg", el);
		check_colour(s->bg, "bg", el);
		FUZZ_CHECK(s->attrs < (THEME_BLINK << 1), "element %d: attributes %#x", el,
		           s->attrs);
		for (int depth = THEME_MONO; depth <= THEME_TRUECOLOR; depth++) {
			bool bold = false;
			int c = theme_colour_for(s->fg, (enum theme_depth)depth, &bold);
			check_colour(c, "downgraded", el);
			if (depth == THEME_8)
				FUZZ_CHECK(c >= -1 && c < 8, "depth 8 gives colour %d", c);
			if (depth == THEME_16 || depth == THEME_MONO)
				FUZZ_CHECK(c >= -1 && c < 16, "depth %d gives colour %d", depth, c);
			if (depth == THEME_256)
				FUZZ_CHECK(c >= -1 && c < 256, "depth 256 gives colour %d", c);
		}
	}
	sbuf_free(&errors);
	free(text);
	return 0;
}

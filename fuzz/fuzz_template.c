/* fuzz_template.c: {{name}} templates (src/core/template.c).  A text that parses keeps its text
 * and names valid variables; rendering it with each variable's value written back as "{{name}}"
 * gives a template with the same variables in the same order; a missing value fails rendering
 * with a message.  A text that does not parse gets a message with its position. */
#include <string.h>

#include "core/template.h"
#include "fuzz.h"

static const char *wrap(void *ctx, const char *name)
{
	struct sbuf *b = ctx;
	sbuf_reset(b);
	sbuf_addf(b, "{{%s}}", name);
	return sbuf_str(b);
}

static const char *missing(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct err e = {{0}};
	struct template *t = template_parse(text, &e);
	if (!t) {
		FUZZ_CHECK(strstr(e.msg, " at line "), "no position in \"%s\"", e.msg);
		free(text);
		return 0;
	}
	FUZZ_CHECK(strcmp(template_text(t), text) == 0, "the text changed");
	size_t n = template_nvars(t);
	for (size_t i = 0; i < n; i++) {
		const char *v = template_var(t, i);
		FUZZ_CHECK(v && *v &&
		               strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                         "0123456789_.-") == strlen(v),
		           "bad variable name \"%s\"", v ? v : "(null)");
	}
	FUZZ_CHECK(template_var(t, n) == NULL, "a variable past the end");
	const char *gone;
	FUZZ_CHECK(template_vars_cover(t, t, &gone), "a template does not cover itself");

	struct sbuf val = {0}, out = {0};
	FUZZ_CHECK(template_render(t, wrap, &val, &out, &e) == 0, "render failed: %s", e.msg);
	/* the same text with the blanks inside the braces dropped: the same variables */
	struct template *u = template_parse(sbuf_str(&out), &e);
	FUZZ_CHECK(u, "the rendered text does not parse: %s", e.msg);
	FUZZ_CHECK(template_nvars(u) == n, "%zu variables after rendering, %zu before",
	           template_nvars(u), n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(template_var(u, i), template_var(t, i)) == 0,
		           "variable %zu differs", i);
	template_free(u);
	sbuf_reset(&out);
	if (n > 0) {
		FUZZ_CHECK(template_render(t, missing, NULL, &out, &e) < 0 && e.msg[0],
		           "rendering with a missing value succeeded");
	}
	sbuf_free(&out);
	sbuf_free(&val);
	template_free(t);
	free(text);
	return 0;
}

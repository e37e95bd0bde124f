/* test_template.c: parsing {{name}} templates (names, positions of errors) and rendering them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "core/util.h"

static struct template *parse_ok(const char *text)
{
	struct err e = {""};
	struct template *t = template_parse(text, &e);
	if (!t)
		fail_msg("template_parse(\"%s\"): %s", text, e.msg);
	return t;
}

static void parse_fails(const char *text, const char *want)
{
	struct err e = {""};
	struct template *t = template_parse(text, &e);
	if (t) {
		template_free(t);
		fail_msg("template_parse(\"%s\") succeeded; want: %s", text, want);
	}
	assert_string_equal(e.msg, want);
}

/* A final [N] picks a list's item ({{input.context[0]}}); anywhere else a bracket is no name. */
static void test_index(void **state)
{
	(void)state;
	struct template *t = parse_ok("{{input.context[0]}} {{ input.a.b[12] }}");
	assert_int_equal(template_nvars(t), 2);
	assert_string_equal(template_var(t, 0), "input.context[0]");
	assert_string_equal(template_var(t, 1), "input.a.b[12]");
	template_free(t);
	static const char *const bad[] = {"{{a[x]}}", "{{a[]}}", "{{a[1]b}}",
	                                  "{{[1]}}",  "{{a[1}}", "{{a]}}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct err e = {""};
		struct template *u = template_parse(bad[i], &e);
		if (u)
			fail_msg("template_parse(\"%s\") succeeded", bad[i]);
		assert_non_null(strstr(e.msg, "bad name"));
	}
}

static void test_vars(void **state)
{
	(void)state;
	struct template *t =
	    parse_ok("Q: {{input.question}}\nCtx: {{ steps.retrieve.output }} #{{round}} {{q}}"
	             "{{input.question}}");
	assert_string_equal(template_text(t),
	                    "Q: {{input.question}}\nCtx: {{ steps.retrieve.output }} #{{round}} "
	                    "{{q}}{{input.question}}");
	assert_int_equal(template_nvars(t), 5);
	assert_string_equal(template_var(t, 0), "input.question");
	assert_string_equal(template_var(t, 1), "steps.retrieve.output"); /* spaces trimmed */
	assert_string_equal(template_var(t, 2), "round");
	assert_string_equal(template_var(t, 3), "q");
	assert_string_equal(template_var(t, 4), "input.question"); /* duplicates kept */
	assert_null(template_var(t, 5));
	template_free(t);

	t = parse_ok("no variables at all, a lone { and } and }} too");
	assert_int_equal(template_nvars(t), 0);
	template_free(t);
	t = parse_ok("");
	assert_int_equal(template_nvars(t), 0);
	assert_string_equal(template_text(t), "");
	template_free(t);
	t = parse_ok("{{a-b_c.1}}");
	assert_string_equal(template_var(t, 0), "a-b_c.1");
	template_free(t);
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("abc {{input.q", "unclosed {{ at line 1, column 5");
	parse_fails("line one\n  {{x", "unclosed {{ at line 2, column 3");
	/* a second {{ before the first closes */
	parse_fails("{{a {{b}}", "unclosed {{ at line 1, column 1");
	/* columns count characters, not bytes */
	parse_fails("\xc3\xa9\xc3\xa9 {{", "unclosed {{ at line 1, column 4");
	parse_fails("ok {{a}}\n\n{{  }}", "empty {{}} at line 3, column 1");
	parse_fails("x {{a b}}",
	            "bad name \"a b\" in {{...}} at line 1, column 3 (names are letters, digits, "
	            "_ - and dots, with an optional final [N])");
	parse_fails(
	    "{{a}} {{$x}}",
	    "bad name \"$x\" in {{...}} at line 1, column 7 (names are letters, digits, _ - "
	    "and dots, with an optional final [N])");
}

static const char *lookup(void *ctx, const char *name)
{
	const char *const *v = ctx;
	for (; v[0]; v += 2)
		if (strcmp(v[0], name) == 0)
			return v[1];
	return NULL;
}

static void test_render(void **state)
{
	(void)state;
	struct template *t = parse_ok("Q: {{q}}\n{{ ctx }}|{{q}}{{empty}}.");
	const char *vars[] = {"q", "why?", "ctx", "line1\nline2", "empty", "", NULL};
	struct sbuf out = {0};
	struct err e = {""};
	assert_int_equal(template_render(t, lookup, (void *)vars, &out, &e), 0);
	assert_string_equal(sbuf_str(&out), "Q: why?\nline1\nline2|why?.");
	sbuf_free(&out);

	/* values are not templates themselves: braces in a value stay as they are */
	const char *braces[] = {"q", "{{ctx}}", "ctx", "c", "empty", "", NULL};
	assert_int_equal(template_render(t, lookup, (void *)braces, &out, &e), 0);
	assert_string_equal(sbuf_str(&out), "Q: {{ctx}}\nc|{{ctx}}.");
	sbuf_free(&out);

	const char *missing[] = {"q", "x", NULL};
	assert_int_equal(template_render(t, lookup, (void *)missing, &out, &e), -1);
	assert_string_equal(e.msg, "template uses unknown variable \"ctx\"");
	sbuf_free(&out);
	template_free(t);
}

static void test_render_pairs(void **state)
{
	(void)state;
	struct template *t = parse_ok("{{task}}: {{output}}");
	struct err e = {""};
	char *s =
	    template_render_pairs(t, (const char *const[]){"task", "T", "output", NULL, NULL}, &e);
	assert_string_equal(s, "T: "); /* a NULL value renders empty */
	free(s);
	assert_null(template_render_pairs(t, (const char *const[]){"task", "T", NULL}, &e));
	assert_string_equal(e.msg, "template uses unknown variable \"output\"");
	template_free(t);
}

static void test_vars_cover(void **state)
{
	(void)state;
	struct template *req = parse_ok("{{a}} and {{b}}");
	struct template *ok = parse_ok("rewritten: {{b}} then {{a}} then {{c}}");
	struct template *bad = parse_ok("only {{a}}");
	const char *missing = NULL;
	assert_int_equal(template_vars_cover(req, ok, &missing), 1);
	assert_int_equal(template_vars_cover(req, bad, &missing), 0);
	assert_string_equal(missing, "b");
	assert_int_equal(template_vars_cover(req, bad, NULL), 0);
	template_free(req);
	template_free(ok);
	template_free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vars),         cmocka_unit_test(test_index),
	    cmocka_unit_test(test_errors),       cmocka_unit_test(test_render),
	    cmocka_unit_test(test_render_pairs), cmocka_unit_test(test_vars_cover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

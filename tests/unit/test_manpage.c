/* test_manpage.c: man/adopt-tui-session.5 documents every key the loader accepts.
 *
 * Convention: the page writes each key in bold, \fBkey\fR (the loader's keysets in session.c
 * and metric_keys in metric.c are the source of truth), so a key added to the loader without a
 * line in the man page fails here.  The budget allocation rule the page quotes must also still
 * read as src/engine/alloc.h says.  Runs from the repository root, like every test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "core/session.h"
#include "core/util.h"

#define MANPAGE "man/adopt-tui-session.5"

static char *read_or_fail(const char *path)
{
	char *text = NULL;
	struct err e = {""};
	if (file_read(path, 1 << 22, &text, NULL, &e) < 0)
		fail_msg("%s (run the tests from the repository root)", e.msg);
	return text;
}

static bool documented(const char *page, const char *key)
{
	char *bold = xasprintf("\\fB%s\\fR", key);
	bool ok = strstr(page, bold) != NULL;
	free(bold);
	return ok;
}

static void test_every_session_key(void **state)
{
	(void)state;
	char *page = read_or_fail(MANPAGE);
	int missing = 0, total = 0;
	for (const struct session_keyset *ks = session_keysets; ks->object; ks++) {
		for (const char *const *k = ks->keys; *k; k++, total++) {
			if (!documented(page, *k)) {
				print_message("  %s: key \"%s\" is not in " MANPAGE
				              " as \\fB%s\\fR\n",
				              ks->object, *k, *k);
				missing++;
			}
		}
	}
	assert_true(total > 60); /* the keysets really were walked */
	assert_int_equal(missing, 0);
	free(page);
}

static void test_every_metric_key(void **state)
{
	(void)state;
	char *page = read_or_fail(MANPAGE);
	int missing = 0;
	for (const char *const *k = metric_keys; *k; k++) {
		if (!documented(page, *k)) {
			print_message("  metric key \"%s\" is not in " MANPAGE "\n", *k);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
	free(page);
}

static void test_sections(void **state)
{
	(void)state;
	char *page = read_or_fail(MANPAGE);
	static const char *const sections[] = {
	    ".TH ADOPT-TUI-SESSION 5",
	    ".SH NAME",
	    ".SH MODELS",
	    ".SH PIPELINE",
	    ".SH STEPS",
	    ".SH TEMPLATES",
	    ".SH LOOPS",
	    ".SH DATASET",
	    ".SH METRIC",
	    ".SS SQuAD normalisation",
	    ".SH OPTIMIZER",
	    ".SS Budget allocation",
	    ".SH HISTORY AND STATE",
	    ".SH UNKNOWN KEYS AND SAVING",
	    ".SH EXAMPLE",
	};
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
		if (!strstr(page, sections[i]))
			fail_msg(MANPAGE " lacks \"%s\"", sections[i]);
	/* every step kind and metric type is described */
	for (int k = 0; k < STEP_KIND_COUNT; k++) {
		char *bold = xasprintf("\\fB%s\\fR", step_kind_name((enum step_kind)k));
		if (!strstr(page, bold))
			fail_msg(MANPAGE " does not name the step type %s", bold);
		free(bold);
	}
	static const char *const types[] = {"exact_match", "f1",     "contains",      "regex",
	                                    "numeric",     "choice", "one_minus_mae", "llm_judge"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		char *item = xasprintf(".B %s\n", types[i]);
		if (!strstr(page, item))
			fail_msg(MANPAGE " has no .B item for the metric type %s", types[i]);
		free(item);
	}
	free(page);
}

/* Letters, digits and a few signs of text; roff requests, \- escapes and comment margins dropped,
 * so the quote can be compared with the header comment whatever the line breaks. */
static char *normalise(const char *s, const char *end)
{
	struct sbuf b = {0};
	for (const char *p = s; p < end; p++) {
		if (p[0] == '\\' && p[1] == '-') {
			sbuf_addc(&b, '-');
			p++;
		} else if (p[0] == '\n' && (p[1] == ' ' || p[1] == '*')) {
			while (p + 1 < end && (p[1] == ' ' || (p[1] == '*' && p[2] == ' ')))
				p++; /* a C comment's " * " margin */
		} else if (p[0] == '\n' && p[1] == '.') {
			while (p + 1 < end && p[1] != ' ' && p[1] != '\n')
				p++; /* a request line such as ".RE" */
		} else if (isalnum((unsigned char)*p) || strchr("-_(),.;:=<>*", *p)) {
			sbuf_addc(&b, *p);
		}
	}
	return sbuf_take(&b);
}

static void test_alloc_rule_quoted(void **state)
{
	(void)state;
	char *hdr = read_or_fail("src/engine/alloc.h");
	char *page = read_or_fail(MANPAGE);
	const char *a = strstr(hdr, "The rule:");
	const char *a_end = a ? strstr(a, "*/") : NULL;
	assert_non_null(a_end);
	const char *q = strstr(page, "The rule:");
	const char *q_end = q ? strstr(q, "\n.RE") : NULL;
	assert_non_null(q_end);
	char *want = normalise(a, a_end), *got = normalise(q, q_end);
	if (strcmp(want, got) != 0)
		fail_msg("the budget rule in " MANPAGE " differs from src/engine/alloc.h:\n%s\n%s",
		         got, want);
	free(want);
	free(got);
	free(hdr);
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_session_key),
	    cmocka_unit_test(test_every_metric_key),
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_alloc_rule_quoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

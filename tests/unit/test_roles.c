/* test_roles.c: role prompt texts (built-in and overridden), rendering with the documented
 * variables, and lenient extraction of answers from untrusted replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "engine/roles.h"

/* The variables each role receives, as documented in src/engine/roles/README.md. */
static const char *const role_vars[ROLE_COUNT][8] = {
    [ROLE_STRUCTURE] = {"pipeline"},
    [ROLE_DEPENDENCY] = {"structure", "step", "step_prompt", "good_cases", "traces"},
    [ROLE_LOSS] = {"metric", "question", "output", "gold"},
    [ROLE_GRADIENT] = {"question", "output", "gold", "loss", "traces"},
    [ROLE_LOCAL] = {"step", "dependency", "loss", "gradient", "step_input", "step_output"},
    [ROLE_PSEUDO] = {"step", "dependency", "local", "step_input", "step_output"},
    [ROLE_INSTRUCT] = {"step", "prompt", "dependency", "cases", "n", "variables"},
};

static bool documented(enum role r, const char *name)
{
	for (const char *const *v = role_vars[r]; *v; v++)
		if (strcmp(*v, name) == 0)
			return true;
	return false;
}

static void test_builtins_render(void **state)
{
	(void)state;
	for (int r = 0; r < ROLE_COUNT; r++) {
		const char *text = role_builtin((enum role)r);
		if (!text) {
			print_error("no built-in src/engine/roles/%s.txt\n",
			            role_name((enum role)r));
			fail();
		}
		assert_ptr_equal(role_text(NULL, (enum role)r), text);
		assert_int_equal(role_find(role_name((enum role)r)), r);
		/* every variable used is documented, every documented one is used */
		struct err e = {{0}};
		struct template *t = template_parse(text, &e);
		assert_non_null(t);
		for (size_t i = 0; i < template_nvars(t); i++)
			if (!documented((enum role)r, template_var(t, i))) {
				print_error("%s.txt uses undocumented {{%s}}\n",
				            role_name((enum role)r), template_var(t, i));
				fail();
			}
		for (const char *const *v = role_vars[r]; *v; v++) {
			bool used = false;
			for (size_t i = 0; i < template_nvars(t) && !used; i++)
				used = strcmp(template_var(t, i), *v) == 0;
			if (!used) {
				print_error("%s.txt never uses {{%s}}\n", role_name((enum role)r),
				            *v);
				fail();
			}
		}
		template_free(t);
		/* renders with the documented names; values appear; the answer tag is asked for */
		const char *pairs[20];
		char vals[8][32];
		size_t n = 0;
		for (size_t i = 0; role_vars[r][i]; i++) {
			snprintf(vals[i], sizeof vals[i], "<<value-%zu>>", i);
			pairs[n++] = role_vars[r][i];
			pairs[n++] = vals[i];
		}
		pairs[n] = NULL;
		char *out = role_render(NULL, (enum role)r, pairs, &e);
		assert_non_null(out);
		for (size_t i = 0; role_vars[r][i]; i++)
			assert_non_null(strstr(out, vals[i]));
		assert_null(strstr(out, "{{"));
		char open[40], close[40];
		snprintf(open, sizeof open, "<%s>", role_tag((enum role)r));
		snprintf(close, sizeof close, "</%s>", role_tag((enum role)r));
		assert_non_null(strstr(out, open));
		assert_non_null(strstr(out, close));
		free(out);
	}
	assert_int_equal(role_find("nope"), -1);
	assert_string_equal(role_tag(ROLE_PSEUDO), "revised");
	assert_string_equal(role_name(ROLE_LOCAL), "local");
}

static void test_render_missing_and_raw_values(void **state)
{
	(void)state;
	struct err e = {{0}};
	/* a documented variable left out is an error naming the role */
	const char *partial[] = {"metric", "f1", "question", "q", "output", "o", NULL};
	assert_null(role_render(NULL, ROLE_LOSS, partial, &e));
	assert_non_null(strstr(e.msg, "loss"));
	assert_non_null(strstr(e.msg, "gold"));
	/* values are not parsed again: a prompt template survives literally */
	const char *vars[] = {
	    "step",       "answer", "prompt",    "Q: {{question}}\nP: {{passages}}",
	    "dependency", "d",      "cases",     "c",
	    "n",          "3",      "variables", "{{question}}, {{passages}}",
	    NULL};
	char *out = role_render(NULL, ROLE_INSTRUCT, vars, &e);
	assert_non_null(out);
	assert_non_null(
	    strstr(out, "<current_prompt>\nQ: {{question}}\nP: {{passages}}\n</current_prompt>"));
	assert_non_null(strstr(out, "Write 3 improved versions"));
	free(out);
}

static void test_overrides(void **state)
{
	(void)state;
	struct session s;
	memset(&s, 0, sizeof s);
	s.opt.roles = cJSON_Parse("{\"loss\": \"Compare {{output}} with {{gold}}.\", "
	                          "\"gradient\": \"\", \"bad\": \"Uses {{nothing}}.\"}");
	assert_non_null(s.opt.roles);
	assert_string_equal(role_text(&s, ROLE_LOSS), "Compare {{output}} with {{gold}}.");
	/* empty override: the built-in */
	assert_ptr_equal(role_text(&s, ROLE_GRADIENT), role_builtin(ROLE_GRADIENT));
	assert_ptr_equal(role_text(&s, ROLE_LOCAL), role_builtin(ROLE_LOCAL));
	struct err e = {{0}};
	const char *vars[] = {"metric", "f1",   "question", "q", "output",
	                      "Paris",  "gold", "Rome",     NULL};
	char *out = role_render(&s, ROLE_LOSS, vars, &e);
	assert_string_equal(out, "Compare Paris with Rome.");
	free(out);
	/* an override using an unknown name fails */
	cJSON_ReplaceItemInObject(s.opt.roles, "loss", cJSON_CreateString("{{nothing}}"));
	assert_null(role_render(&s, ROLE_LOSS, vars, &e));
	assert_non_null(strstr(e.msg, "nothing"));
	/* a broken override template fails with the role named */
	cJSON_ReplaceItemInObject(s.opt.roles, "loss", cJSON_CreateString("oops {{output"));
	assert_null(role_render(&s, ROLE_LOSS, vars, &e));
	assert_non_null(strstr(e.msg, "role \"loss\""));
	cJSON_Delete(s.opt.roles);
}

static char *extract(const char *reply, const char *tag)
{
	char *out;
	struct err e = {{0}};
	if (role_extract(reply, tag, &out, &e) < 0) {
		assert_null(out);
		assert_true(e.msg[0] != '\0');
		return NULL;
	}
	return out;
}

static void expect(const char *reply, const char *tag, const char *want)
{
	char *got = extract(reply, tag);
	if (!want) {
		if (got) {
			print_error("reply %s: want an error, got \"%s\"\n",
			            reply ? reply : "(null)", got);
			fail();
		}
		return;
	}
	if (!got || strcmp(got, want) != 0) {
		print_error("reply %s: want \"%s\", got \"%s\"\n", reply ? reply : "(null)", want,
		            got ? got : "(error)");
		fail();
	}
	free(got);
}

static void test_extract_cases(void **state)
{
	(void)state;
	expect("<loss>too long</loss>", "loss", "too long");
	expect("Here:\n<loss>\n  too long \n</loss>\nthanks", "loss", "too long");
	expect("<LOSS>upper</Loss>", "loss", "upper");              /* any case */
	expect("<loss type=\"text\">attr</loss >", "loss", "attr"); /* attributes, space */
	expect("<lossy>no</lossy> plain", "loss", "<lossy>no</lossy> plain"); /* not the tag */
	expect("no tags at all\n", "loss", "no tags at all");                 /* whole reply */
	expect("the answer</loss> junk", "loss", "the answer");               /* stray close */
	expect("<loss>first</loss><loss>second</loss>", "loss", "first");     /* the first */
	expect("<loss></loss><loss>second</loss>", "loss", "second");         /* first non-empty */
	expect("<loss>unclosed and the rest", "loss", "unclosed and the rest");
	expect("```\n<loss>x</loss>\n```", "loss", "x");
	expect("<prompt>```text\nQ: {{q}}\n```</prompt>", "prompt", "Q: {{q}}"); /* fence */
	expect("", "loss", NULL);
	expect("   \n\t ", "loss", NULL);
	expect("<loss>   </loss>", "loss", NULL);
	expect("<loss></loss> afterwards", "loss", NULL);
	expect(NULL, "loss", NULL);
}

static void test_extract_enormous(void **state)
{
	(void)state;
	/* 1 MB of two-byte characters: capped on a character boundary */
	size_t n = 1 << 20;
	char *big = malloc(n + 32);
	strcpy(big, "<gradient>");
	size_t off = strlen(big);
	while (off + 2 < n) {
		big[off++] = (char)0xc3;
		big[off++] = (char)0xa9; /* é */
	}
	strcpy(big + off, "</gradient>");
	char *out = extract(big, "gradient");
	assert_non_null(out);
	size_t len = strlen(out);
	assert_true(len <= ROLE_MAX_ANSWER && len >= ROLE_MAX_ANSWER - 1);
	assert_int_equal(len % 2, 0);
	assert_int_equal((unsigned char)out[len - 1], 0xa9);
	free(out);
	/* pathological: many openings without '>' stay fast and find the real answer */
	size_t k = 0;
	for (; k + 40 < n; k += 8)
		memcpy(big + k, "<prompt ", 8);
	strcpy(big + k, "<prompt>found</prompt>");
	expect(big, "prompt", "found");
	/* an enormous untagged reply is capped too */
	memset(big, 'x', n);
	big[n] = '\0';
	out = extract(big, "loss");
	assert_int_equal(strlen(out), ROLE_MAX_ANSWER);
	free(out);
	free(big);
}

static void test_extract_all(void **state)
{
	(void)state;
	char **v;
	size_t n = role_extract_all("Sure.\n<prompt>one {{a}}</prompt>\n<PROMPT>\ntwo\n</prompt>"
	                            "<prompt> </prompt><prompt>three",
	                            "prompt", &v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "one {{a}}");
	assert_string_equal(v[1], "two");
	assert_string_equal(v[2], "three");
	role_strings_free(v, n);
	/* an unclosed block ends where the next one opens */
	n = role_extract_all("<prompt>a\n<prompt>b</prompt>", "prompt", &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	role_strings_free(v, n);
	n = role_extract_all("no tags", "prompt", &v);
	assert_int_equal(n, 0);
	assert_null(v);
	n = role_extract_all(NULL, "prompt", &v);
	assert_int_equal(n, 0);
	role_strings_free(v, n);
}

/* E6's revision of a loop step, one part per round */
static void test_round_part(void **state)
{
	(void)state;
	const char *a = "Round 1:\nWhich zone?\n\nRound 2:\n  FINAL: order 7, zone B \n";
	char *p1 = role_round_part(a, 1), *p2 = role_round_part(a, 2);
	assert_string_equal(p1, "Which zone?");
	assert_string_equal(p2, "FINAL: order 7, zone B");
	assert_null(role_round_part(a, 3));
	/* a label inside a line is not a label; round 1 does not match round 10 */
	assert_null(role_round_part("say Round 1: here", 1));
	char *p10 = role_round_part("Round 10: ten\nRound 1: one", 1);
	assert_string_equal(p10, "one");
	assert_null(role_round_part("no labels at all", 1));
	free(p1);
	free(p2);
	free(p10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtins_render),
	    cmocka_unit_test(test_render_missing_and_raw_values),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_extract_cases),
	    cmocka_unit_test(test_extract_enormous),
	    cmocka_unit_test(test_extract_all),
	    cmocka_unit_test(test_round_part),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_metric.c: the evaluation metrics: the SQuAD v1.1 normalisation, EM and F1 against numbers
 * computed by the official script, a differential fixture, every other metric type (good, bad,
 * edge cases, configuration errors), and real gold answers (GSM8K's "#### N", BBH's option letters
 * and labels) when the shared data is there.
 *
 * The SQuAD expectations below were obtained by pasting normalize_answer, f1_score and
 * exact_match_score verbatim from the official evaluate-v1.1.py into a scratch file (outside the
 * repository) and running them on these very strings with Python 3.11.7 (Unicode 14.0.0); the
 * F1 values are Python's repr() of the result, so they are compared exactly. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/metric.h"
#include "core/rx.h"

/* ---- helpers ---- */

static struct metric *parse(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	struct err e = {{0}};
	struct metric *m = metric_from_json(j, &e);
	if (!m)
		fail_msg("metric_from_json(%s): %s", json, e.msg);
	cJSON_Delete(j);
	return m;
}

/* The configuration must be refused with a message containing want. */
static void parse_fails(const char *json, const char *want)
{
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	struct err e = {{0}};
	struct metric *m = metric_from_json(j, &e);
	cJSON_Delete(j);
	if (m) {
		metric_free(m);
		fail_msg("metric_from_json(%s) accepted", json);
	}
	if (!strstr(e.msg, want))
		fail_msg("metric_from_json(%s): \"%s\" lacks \"%s\"", json, e.msg, want);
}

static double score1(const struct metric *m, const char *pred, const char *gold)
{
	struct err e = {{0}};
	double s = -1;
	if (metric_score(m, pred, &gold, 1, &s, &e) < 0)
		fail_msg("metric_score(%s, \"%s\", \"%s\"): %s", metric_name(m), pred, gold, e.msg);
	assert_true(s >= 0 && s <= 1);
	return s;
}

/* metric_score must fail with a message containing want. */
static void score_fails(const struct metric *m, const char *pred, const char *gold,
                        const char *want)
{
	struct err e = {{0}};
	double s = -1;
	if (metric_score(m, pred, &gold, 1, &s, &e) == 0)
		fail_msg("metric_score(%s, \"%s\", \"%s\") = %g, expected an error", metric_name(m),
		         pred, gold, s);
	if (!strstr(e.msg, want))
		fail_msg("metric_score: \"%s\" lacks \"%s\"", e.msg, want);
}

/* Each case: prediction, gold, expected score. */
struct scase {
	const char *pred, *gold;
	double want;
};

static void check_cases(const char *json, const struct scase *c, size_t n)
{
	struct metric *m = parse(json);
	for (size_t i = 0; i < n; i++) {
		double s = score1(m, c[i].pred, c[i].gold);
		if (s < c[i].want - 1e-12 || s > c[i].want + 1e-12)
			fail_msg("%s: pred \"%s\" gold \"%s\": %.17g, expected %.17g", json,
			         c[i].pred, c[i].gold, s, c[i].want);
	}
	metric_free(m);
}

#define CHECK_CASES(json, cases) check_cases(json, cases, sizeof(cases) / sizeof((cases)[0]))

/* ---- SQuAD ---- */

static const struct {
	const char *in, *want;
} normalize_cases[] = {
    {"The Cat", "cat"},
    {"a cat", "cat"},
    {"An apple a day", "apple day"},
    {"the the the", ""},
    {"Theatre", "theatre"},
    {"anthem", "anthem"},
    {"a_b", "ab"},
    {"a-b", "ab"},
    {"don't", "dont"},
    {"  Hello,   World!  ", "hello world"},
    {"U.S.A.", "usa"},
    {"Café au lait", "café au lait"},
    {"ÉCOLE Normale", "école normale"},
    {"Ω ΟΔΟΣ", "ω οδος"},
    {"ΣΑΣ ΣΑΣ.", "σας σας"},
    {"Σ", "σ"},
    {"İstanbul", "i\xcc\x87stanbul"},
    {"STRASSE ẞ", "strasse ß"},
    {"Straße", "straße"},
    {"МОСКВА — столица", "москва — столица"},
    {"Ёлка", "ёлка"},
    {"北京 大学", "北京 大学"},
    {"東京の塔", "東京の塔"},
    {"«Le Monde»", "«le monde»"},
    {"Anna—Karenina", "anna—karenina"},
    {"¿Qué?", "¿qué"},
    {"a\xc2\xa0"
     "b\xe2\x80\x83"
     "c\xe3\x80\x80"
     "d",
     "b c d"},                            /* a\u00a0b\u2003c\u3000d */
    {"x\xe2\x80\x8by", "x\xe2\x80\x8by"}, /* x\u200by */
    {"the\xc2\xa0"
     "end",
     "end"},                                        /* the\u00a0end */
    {"a\xcc\x81 the\xcc\x81", "\xcc\x81 \xcc\x81"}, /* a\u0301 the\u0301 */
    {"’The’ answer", "’ ’ answer"},
    {"ǅemal", "ǆemal"},
    {"ﬃ", "ﬃ"},
    {"Ⅻ", "ⅻ"},
    {"𐐀𐐁", "𐐨𐐩"},
    {"naïve résumé", "naïve résumé"},
    {"$1,000.50", "100050"},
    {"½ cup", "½ cup"},
    {"the_end", "theend"},
    {"\x09\x0anew\x0aline\x0d\x0a", "new line"}, /* \u0009\u000anew\u000aline\u000d\u000a */
    {"", ""},
    {"!!!", ""},
    {"a.b.c", "abc"},
    {"Ǆ", "ǆ"},
    {"K Å", "k å"},
    {"ΑΣ1", "ας1"},
    {"ΑΣ'Β", "ασβ"},
    {"ΑΣ'", "ας"},
    {"Σ\xcc\x81Α", "σ\xcc\x81α"}, /* Σ\u0301Α */
    {"_the_", ""},
    {"the-end", "theend"},
    {"a1 the2 an", "a1 the2"},
};

static void test_squad_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof normalize_cases / sizeof normalize_cases[0]; i++) {
		char *got = squad_normalize(normalize_cases[i].in);
		if (strcmp(got, normalize_cases[i].want) != 0)
			fail_msg("squad_normalize(\"%s\") = \"%s\", expected \"%s\"",
			         normalize_cases[i].in, got, normalize_cases[i].want);
		free(got);
	}
	char *s = squad_normalize(NULL);
	assert_string_equal(s, "");
	free(s);
}

static const struct {
	const char *pred, *gold;
	double f1;
	int em;
} pair_cases[] = {
    {"the cat sat", "a cat sat", 1.0, 1},
    {"Barack Obama", "Obama", 0.6666666666666666, 0},
    {"the big dog", "dog big the", 1.0, 0},
    {"New York City", "york", 0.5, 0},
    {"cat cat dog", "cat dog dog", 0.6666666666666666, 0},
    {"", "", 0.0, 1},
    {"the", "a", 0.0, 1},
    {"", "x", 0.0, 0},
    {"1,000", "1000", 1.0, 1},
    {"Denver Broncos", "The Denver Broncos!", 1.0, 1},
    {"σοφός", "ΣΟΦΟΣ", 0.0, 0},
    {"Ελληνικά γράμματα", "ΕΛΛΗΝΙΚΑ", 0.0, 0},
    {"Straße", "STRASSE", 0.0, 0},
    {"İzmir", "izmir", 0.0, 0},
    {"Москва столица России", "столица", 0.5, 0},
    {"北京 大学", "北京大学", 0.0, 0},
    {"«Le Monde»", "Le Monde", 0.0, 0},
    {"Anna — Karenina", "Anna Karenina", 0.8, 0},
    {"a\xc2\xa0"
     "b",
     "a b", 1.0, 1}, /* a\u00a0b | a b */
    {"naïve", "naive", 0.0, 0},
    {"one two three four five", "three four five six seven eight", 0.5454545454545454, 0},
    {"x y z", "z y x w", 0.8571428571428571, 0},
    {"Éric the Red", "eric red", 0.5, 0},
    {"the Ünited States", "ünited states of america", 0.6666666666666666, 0},
};

static void test_squad_f1_em(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pair_cases / sizeof pair_cases[0]; i++) {
		double f1 = squad_f1(pair_cases[i].pred, pair_cases[i].gold);
		double em = squad_exact_match(pair_cases[i].pred, pair_cases[i].gold);
		if (f1 != pair_cases[i].f1 || em != pair_cases[i].em)
			fail_msg("\"%s\" vs \"%s\": f1 %.17g em %g, expected %.17g %d",
			         pair_cases[i].pred, pair_cases[i].gold, f1, em, pair_cases[i].f1,
			         pair_cases[i].em);
	}
}

/* Invalid UTF-8: each maximal ill-formed subsequence is one U+FFFD, as Python's
 * bytes.decode("utf-8", "replace") (expectations from the official script on that decoding). */
static void test_squad_invalid_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} c[] = {
	    {"\xff the CAT \xc3", "\xef\xbf\xbd cat \xef\xbf\xbd"},
	    {"caf\xe2\x82 au", "caf\xef\xbf\xbd au"},                 /* truncated */
	    {"\xc0\x80x", "\xef\xbf\xbd\xef\xbf\xbdx"},               /* overlong NUL */
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
	    {"\xf0\x9f\x98the", "\xef\xbf\xbd"}, /* U+FFFD is no word char: "the" goes */
	    {"A\x80\x80"
	     "B",
	     "\xef\xbf\xbd\xef\xbf\xbd"
	     "b"},
	    {"\xf4\x90\x80\x80",
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *got = squad_normalize(c[i].in);
		assert_string_equal(got, c[i].want);
		free(got);
	}
	assert_true(squad_f1("\xff\xfe", "\xff\xfe") == 1.0);
}

static char *unhex(const char *h)
{
	if (strcmp(h, "-") == 0)
		return xstrdup("");
	size_t n = strlen(h) / 2;
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		s[i] = (char)v;
	}
	s[n] = '\0';
	return s;
}

/* tests/data/squad_diff.txt: 300 random tricky pairs scored by the official script. */
static void test_squad_differential(void **state)
{
	(void)state;
	FILE *f = fopen("tests/data/squad_diff.txt", "r");
	if (!f)
		fail_msg("tests/data/squad_diff.txt: cannot open (run from the repository root)");
	static char line[1 << 16], col[4][16384];
	char f1s[64];
	int em, n = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%16383s %16383s %16383s %16383s %63s %d", col[0],
		                        col[1], col[2], col[3], f1s, &em),
		                 6);
		char *p = unhex(col[0]), *g = unhex(col[1]), *np = unhex(col[2]),
		     *ng = unhex(col[3]);
		char *xp = squad_normalize(p), *xg = squad_normalize(g);
		double f1 = squad_f1(p, g), want = strtod(f1s, NULL);
		n++;
		if (strcmp(xp, np) || strcmp(xg, ng) || f1 != want || squad_exact_match(p, g) != em)
			fail_msg("fixture line %d: normalised \"%s\" / \"%s\", expected \"%s\" / "
			         "\"%s\"; "
			         "f1 %.17g, expected %.17g",
			         n, xp, xg, np, ng, f1, want);
		free(p);
		free(g);
		free(np);
		free(ng);
		free(xp);
		free(xg);
	}
	fclose(f);
	assert_int_equal(n, 300);
}

static void test_squad_large(void **state)
{
	(void)state;
	struct sbuf a = {0}, b = {0};
	for (int i = 0; i < 20000; i++) {
		sbuf_addf(&a, "w%d the ", i % 997);
		sbuf_addf(&b, "w%d, ", i % 1009);
	}
	double f1 = squad_f1(sbuf_str(&a), sbuf_str(&b));
	assert_true(f1 > 0.9 && f1 < 1.0);
	sbuf_free(&a);
	sbuf_free(&b);
}

/* ---- configuration ---- */

static void test_config_errors(void **state)
{
	(void)state;
	parse_fails("[1]", "metric must be an object");
	parse_fails("{}", "metric.type is required (one of: exact_match, f1,");
	parse_fails("{\"type\": 3}", "metric.type must be a string");
	parse_fails("{\"type\": \"bleu\"}", "unknown metric \"bleu\"");
	parse_fails("{\"type\": \"f1\", \"foo\": 1}",
	            "unknown key \"foo\" for type \"f1\" (accepted: type, threshold, normalize)");
	parse_fails("{\"type\": \"f1\", \"pattern\": \"x\"}", "inapplicable key \"pattern\"");
	parse_fails("{\"type\": \"regex\", \"labels\": []}",
	            "(accepted: type, threshold, pattern, caseless)");
	parse_fails("{\"type\": \"f1\", \"threshold\": 1.5}",
	            "metric.threshold must be a number between 0 and 1");
	parse_fails("{\"type\": \"f1\", \"threshold\": -0.1}", "metric.threshold must be a number");
	parse_fails("{\"type\": \"f1\", \"threshold\": \"0.5\"}",
	            "metric.threshold must be a number");
	parse_fails("{\"type\": \"f1\", \"threshold\": 0.2, \"threshold\": 0.3}",
	            "key \"threshold\" is given twice");
	parse_fails("{\"type\": \"regex\", \"pattern\": \"(a\"}", "metric.pattern: invalid regex");
	parse_fails("{\"type\": \"regex\", \"pattern\": \"\"}",
	            "metric.pattern must be a non-empty");
	parse_fails("{\"type\": \"regex\", \"caseless\": \"yes\"}",
	            "metric.caseless must be true or");
	parse_fails("{\"type\": \"numeric\", \"abs_tol\": -1}",
	            "metric.abs_tol must be a number >= 0");
	parse_fails("{\"type\": \"numeric\", \"rel_tol\": null}",
	            "metric.rel_tol must be a number");
	parse_fails("{\"type\": \"one_minus_mae\"}", "metric.scale is required");
	parse_fails("{\"type\": \"one_minus_mae\", \"scale\": [5, 1]}", "min < max");
	parse_fails("{\"type\": \"one_minus_mae\", \"scale\": [1]}",
	            "metric.scale must be [min, max]");
	parse_fails("{\"type\": \"one_minus_mae\", \"scale\": [\"1\", \"5\"]}",
	            "metric.scale must");
	parse_fails("{\"type\": \"choice\", \"labels\": []}", "metric.labels must be a list");
	parse_fails("{\"type\": \"choice\", \"labels\": [1, 2]}", "metric.labels must be a list");
	parse_fails("{\"type\": \"choice\", \"labels\": [\"yes\", \" \"]}", "non-empty strings");
	parse_fails("{\"type\": \"choice\", \"labels\": \"yes\"}", "metric.labels must be a list");
	struct sbuf b = {0};
	sbuf_adds(&b, "{\"type\": \"choice\", \"labels\": [\"l0\"");
	for (int i = 1; i < 32; i++)
		sbuf_addf(&b, ", \"l%d\"", i);
	sbuf_adds(&b, "]}");
	parse_fails(sbuf_str(&b), "1 to 31");
	sbuf_free(&b);
	parse_fails("{\"type\": \"llm_judge\"}", "metric.model is required");
	parse_fails("{\"type\": \"llm_judge\", \"model\": 7}", "metric.model must be a non-empty");
	parse_fails("{\"type\": \"llm_judge\", \"model\": \"j\", \"rubric\": \"{{prediction}} "
	            "{{answer}}\"}",
	            "unknown placeholder \"{{answer}}\"");
	parse_fails("{\"type\": \"llm_judge\", \"model\": \"j\", \"rubric\": \"grade {{gold}}\"}",
	            "metric.rubric must contain {{prediction}}");
	parse_fails("{\"type\": \"llm_judge\", \"model\": \"j\", \"score_pattern\": \"score\"}",
	            "metric.score_pattern needs a group");
	parse_fails("{\"type\": \"llm_judge\", \"model\": \"j\", \"score_pattern\": \"(\"}",
	            "metric.score_pattern: invalid regex");
	parse_fails("{\"type\": \"llm_judge\", \"model\": \"j\", \"scale_max\": 0}",
	            "metric.scale_max must be a number > 0");
}

static void test_config_defaults(void **state)
{
	(void)state;
	static const struct {
		const char *json, *name;
		double threshold;
	} c[] = {
	    {"{\"type\": \"exact_match\"}", "exact_match", 1.0},
	    {"{\"type\": \"f1\"}", "f1", 0.5},
	    {"{\"type\": \"contains\"}", "contains", 1.0},
	    {"{\"type\": \"regex\"}", "regex", 1.0},
	    {"{\"type\": \"numeric\"}", "numeric", 1.0},
	    {"{\"type\": \"choice\"}", "choice", 1.0},
	    {"{\"type\": \"one_minus_mae\", \"scale\": [1, 5]}", "one_minus_mae", 0.75},
	    {"{\"type\": \"llm_judge\", \"model\": \"judge\"}", "llm_judge", 0.5},
	    {"{\"type\": \"f1\", \"threshold\": 0.3}", "f1", 0.3},
	    {"{\"type\": \"exact_match\", \"threshold\": 0}", "exact_match", 0.0},
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct metric *m = parse(c[i].json);
		assert_string_equal(metric_name(m), c[i].name);
		assert_true(metric_threshold(m) == c[i].threshold);
		assert_int_equal(metric_is_judge(m), strcmp(c[i].name, "llm_judge") == 0);
		assert_int_equal(metric_judge(m) != NULL, strcmp(c[i].name, "llm_judge") == 0);
		metric_free(m);
	}
	metric_free(NULL);
}

/* metric_keys lists exactly the keys some type accepts: each one parses in a configuration. */
static void test_config_keys(void **state)
{
	(void)state;
	static const char *const valid[][2] = {
	    {"type", "{\"type\": \"f1\"}"},
	    {"threshold", "{\"type\": \"f1\", \"threshold\": 0.7}"},
	    {"pattern", "{\"type\": \"regex\", \"pattern\": \"a+\"}"},
	    {"caseless", "{\"type\": \"regex\", \"caseless\": true}"},
	    {"abs_tol", "{\"type\": \"numeric\", \"abs_tol\": 0.5}"},
	    {"rel_tol", "{\"type\": \"numeric\", \"rel_tol\": 0.01}"},
	    {"labels", "{\"type\": \"choice\", \"labels\": [\"yes\", \"no\"]}"},
	    {"scale", "{\"type\": \"one_minus_mae\", \"scale\": [0, 10]}"},
	    {"model", "{\"type\": \"llm_judge\", \"model\": \"j\"}"},
	    {"rubric",
	     "{\"type\": \"llm_judge\", \"model\": \"j\", \"rubric\": \"{{prediction}}\"}"},
	    {"score_pattern",
	     "{\"type\": \"llm_judge\", \"model\": \"j\", \"score_pattern\": \"(\\\\d+)\"}"},
	    {"scale_max", "{\"type\": \"llm_judge\", \"model\": \"j\", \"scale_max\": 10}"},
	    {"normalize", "{\"type\": \"exact_match\", \"normalize\": false}"},
	};
	size_t n = 0;
	for (; metric_keys[n]; n++) {
		size_t k = 0;
		while (k < sizeof valid / sizeof valid[0] &&
		       strcmp(valid[k][0], metric_keys[n]) != 0)
			k++;
		if (k == sizeof valid / sizeof valid[0])
			fail_msg("metric_keys has \"%s\", which this test does not know",
			         metric_keys[n]);
		metric_free(parse(valid[k][1]));
	}
	assert_int_equal(n, sizeof valid / sizeof valid[0]);
}

/* ---- SQuAD-based metrics through metric_score ---- */

static void test_metric_squad_types(void **state)
{
	(void)state;
	static const struct scase em[] = {
	    {"Paris", "paris", 1},
	    {"The Paris.", "paris", 1},
	    {"Paris, France", "paris", 0},
	    {"", "", 1},
	    {"the", "an", 1},
	    {"Ελλάδα", "ελλάδα", 1},
	    {"STRASSE", "straße", 0},
	};
	CHECK_CASES("{\"type\": \"exact_match\"}", em);
	static const struct scase f1[] = {
	    {"Barack Obama", "Obama", 0.6666666666666666},
	    {"the big dog", "dog big the", 1.0},
	    {"cat", "dog", 0},
	};
	CHECK_CASES("{\"type\": \"f1\"}", f1);
	static const struct scase contains[] = {
	    {"The capital is Paris.", "paris", 1},
	    {"I live in New York City", "new york", 1},
	    {"I live in New Yorkshire", "new york", 0}, /* whole tokens only */
	    {"10 apples", "1", 0},
	    {"1 apple", "1", 1},
	    {"York, New", "new york", 0},
	    {"«Le Monde» says", "«Le Monde»", 1},
	    {"", "the", 1}, /* a gold that normalises to nothing needs an empty prediction */
	    {"x", "the", 0},
	    {"", "x", 0},
	};
	CHECK_CASES("{\"type\": \"contains\"}", contains);
}

static void test_metric_golds(void **state)
{
	(void)state;
	struct metric *m = parse("{\"type\": \"f1\"}");
	const char *golds[] = {"cat", NULL, "cat dog bird"};
	struct err e = {{0}};
	double s = -1;
	assert_int_equal(metric_score(m, "cat dog", golds, 3, &s, &e), 0);
	assert_true(s == 0.8); /* max(2/3, 0, 0.8) */
	assert_int_equal(metric_score(m, NULL, golds, 3, &s, &e), 0);
	assert_true(s == 0);
	assert_int_equal(metric_score(m, "cat", golds, 0, &s, &e), -1);
	assert_non_null(strstr(e.msg, "no gold answer"));
	metric_free(m);
}

/* ---- regex ---- */

static void test_metric_regex(void **state)
{
	(void)state;
	static const struct scase pat[] = {
	    {"3 apples", "ignored", 1},
	    {"1 apple\n", "ignored", 1}, /* surrounding whitespace is trimmed */
	    {"I have 3 apples", "ignored", 0},
	    {"3 apples!", "ignored", 0},
	    {"3 Apples", "ignored", 0},
	};
	CHECK_CASES("{\"type\": \"regex\", \"pattern\": \"\\\\d+ apples?\"}", pat);
	static const struct scase caseless[] = {{"3 APPLES", "x", 1}, {"ÄPFEL", "äpfel", 0}};
	CHECK_CASES("{\"type\": \"regex\", \"pattern\": \"\\\\d+ apples?\", \"caseless\": true}",
	            caseless);
	static const struct scase gold[] = {
	    {"ab", "a|ab", 1}, /* full match backtracks into the longer branch */
	    {"abc", "a|ab", 0},    {"Yes", "yes", 0},       {"42", "4\\d", 1},
	    {"  42  ", "4\\d", 1}, {"Ελλάδα", "Ελλ.δα", 1},
	};
	CHECK_CASES("{\"type\": \"regex\"}", gold);
	static const struct scase gold_caseless[] = {{"Yes", "yes", 1}, {"ΕΛΛΆΔΑ", "ελλάδα", 1}};
	CHECK_CASES("{\"type\": \"regex\", \"caseless\": true}", gold_caseless);

	struct metric *m = parse("{\"type\": \"regex\", \"pattern\": \"\\\\d+\"}");
	struct err e = {{0}};
	double s = -1;
	assert_int_equal(metric_score(m, "123", NULL, 0, &s, &e), 0); /* golds not needed */
	assert_true(s == 1);
	metric_free(m);

	m = parse("{\"type\": \"regex\"}");
	score_fails(m, "x", "(x", "gold answer used as the pattern: invalid regex");
	metric_free(m);
}

static void test_metric_regex_limit(void **state)
{
	(void)state;
	struct metric *m = parse("{\"type\": \"regex\", \"pattern\": \"(a+)+b\"}");
	rx_set_limits(1000, 100);
	score_fails(m, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaacb", "x", "backtracking limit");
	rx_set_limits(1000000, 10000);
	assert_true(score1(m, "aaab", "x") == 1);
	metric_free(m);
}

/* ---- numeric ---- */

static void test_metric_numeric(void **state)
{
	(void)state;
	static const struct scase c[] = {
	    {"The answer is 72.", "#### 72", 1},
	    {"72.0", "72", 1},
	    {"I think 70, no wait, 72", "Natalia sold 48/2 = 24 clips.\n#### 72", 1},
	    {"72 apples, 3 left", "72", 0}, /* the last number counts */
	    {"no idea", "72", 0},
	    {"", "72", 0},
	    {"-72", "72", 0},
	    {"1234", "#### 1,234", 1},
	    {"It costs $1,234.00.", "1234", 1},
	    {"1,234,567 people", "1234567", 1},
	    {"The temperature is -5 degrees", "-5", 1},
	    {"x = +5", "5", 1},
	    {"COVID-19", "19", 1}, /* a hyphen glued to a word is no sign */
	    {"COVID-19", "-19", 0},
	    {"pages 3-5", "5", 1},
	    {"pi is 3.14.", "3.14", 1},
	    {"v3.14.15", "3.14", 1},
	    {".5", "0.5", 1},
	    {"1e3", "1000", 1},
	    {"\xe2\x88\x92"
	     "7",
	     "-7", 1},                /* U+2212 MINUS SIGN */
	    {"5 then 1e999", "5", 1}, /* an overflowing number is no number */
	    {"0.1 + 0.2 = 0.30000000000000004", "0.3", 1},
	    {"0.3001", "0.3", 0},
	    {"3 ٣", "3", 1}, /* only ASCII digits are digits */
	};
	CHECK_CASES("{\"type\": \"numeric\"}", c);
	static const struct scase abs[] = {{"3.141", "3.14", 1}, {"3.16", "3.14", 0}};
	CHECK_CASES("{\"type\": \"numeric\", \"abs_tol\": 0.01}", abs);
	static const struct scase rel[] = {
	    {"105", "100", 1}, {"110", "100", 1}, {"112", "100", 0}, {"0", "0", 1}};
	CHECK_CASES("{\"type\": \"numeric\", \"rel_tol\": 0.1, \"abs_tol\": 0}", rel);

	struct metric *m = parse("{\"type\": \"numeric\"}");
	score_fails(m, "5", "five", "the gold answer \"five\" holds no number");
	/* A decimal-comma locale, as a front end may set, changes nothing.  Not under ASan: glibc
	 * keeps the locale data it loads for good, and LeakSanitizer reports it. */
#ifdef __SANITIZE_ADDRESS__
	locale_t comma = (locale_t)0;
#else
	locale_t comma = newlocale(LC_NUMERIC_MASK, "de_DE.UTF-8", (locale_t)0);
#endif
	if (comma) {
		uselocale(comma);
		assert_true(score1(m, "pi is 3.14", "3.14") == 1);
		assert_true(score1(m, "pi is 3.14", "3") == 0);
		uselocale(LC_GLOBAL_LOCALE);
		freelocale(comma);
	} else {
		print_message(
		    "note: decimal-comma check skipped (no de_DE.UTF-8 locale, or ASan)\n");
	}
	metric_free(m);
}

/* ---- choice ---- */

static void test_metric_choice_letters(void **state)
{
	(void)state;
	static const struct scase c[] = {
	    {"B", "(B)", 1},
	    {"(B)", "(B)", 1},
	    {"b)", "(B)", 1},
	    {"b", "(B)", 1},
	    {"(b).", "(B)", 1},
	    {"Answer: B", "(B)", 1},
	    {"The answer is (B).", "(B)", 1},
	    {"the answer is b", "(B)", 1},
	    {"Answer: **B**", "(B)", 1},
	    {"The answer is B because it is blue.", "B", 1},
	    {"The correct answer is b) blue", "b)", 1},
	    {"Options: (A) red (B) blue. The answer is (B).", "(B)", 1},
	    {"Between (A) and (B), I pick (B)", "(B)", 1},
	    {"(A)", "(B)", 0},
	    {"Answer: A", "(B)", 0},
	    {"I'd say (B) or maybe (C)", "(B)", 0}, /* the last "(X)" counts */
	    {"The answer is a dog", "(A)", 0},      /* a lower-case "a" inside prose is no option */
	    {"", "(B)", 0},
	    {"Blue", "(B)", 0},
	};
	CHECK_CASES("{\"type\": \"choice\"}", c);
	struct metric *m = parse("{\"type\": \"choice\"}");
	score_fails(m, "True", "True", "is no option letter");
	metric_free(m);
}

static void test_metric_choice_labels(void **state)
{
	(void)state;
	static const struct scase tf[] = {
	    {"True", "True", 1},
	    {"TRUE", "True", 1},
	    {"false", "True", 0},
	    {"It is true.", "True", 1},
	    {"It is true that x, but the answer is False", "False", 1}, /* after "answer" first */
	    {"Untrue", "True", 0},                                      /* whole words only */
	    {"False, since true only holds at night", "False", 1},      /* the first label */
	    {"no idea", "False", 0},
	    {"False", " false. ", 1},
	};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": [\"True\", \"False\"]}", tf);
	static const struct scase yn[] = {
	    {"Yes, definitely", "yes", 1}, {"No.", "no", 1},       {"I know", "no", 0},
	    {"no answer", "no answer", 1}, {"no", "no answer", 0}, {"no answer", "no", 0},
	};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": [\"yes\", \"no\", \"no answer\"]}", yn);
	static const struct scase ru[] = {{"нет", "Нет", 1}, {"Да, конечно", "Нет", 0}};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": [\"Да\", \"Нет\"]}", ru);
	static const struct scase special[] = {
	    {"I like C# most", "C#", 1}, {"C++", "C++", 1}, {"C++", "C#", 0}, {"a.b", "a*b", 0}};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": [\"C++\", \"C#\", \"a*b\"]}", special);

	struct metric *m = parse("{\"type\": \"choice\", \"labels\": [\"True\", \"False\"]}");
	score_fails(m, "True", "(A)", "the gold answer \"(A)\" is none of the labels");
	metric_free(m);
}

/* ---- one_minus_mae ---- */

static void test_metric_one_minus_mae(void **state)
{
	(void)state;
	static const struct scase c[] = {
	    {"4", "4", 1},
	    {"5", "4", 0.75},
	    {"1", "4", 0.25},
	    {"Rating: 2/5", "4", 0.5}, /* the first number */
	    {"10", "4", 0},
	    {"none", "4", 0},
	    {"4.5", "4 stars", 0.875},
	    {"-3", "1", 0},
	};
	CHECK_CASES("{\"type\": \"one_minus_mae\", \"scale\": [1, 5]}", c);
	struct metric *m = parse("{\"type\": \"one_minus_mae\", \"scale\": [1, 5]}");
	score_fails(m, "4", "great", "holds no number");
	metric_free(m);
}

/* ---- llm_judge ---- */

static void test_metric_judge(void **state)
{
	(void)state;
	struct metric *m = parse("{\"type\": \"llm_judge\", \"model\": \"judge-model\"}");
	assert_true(metric_is_judge(m));
	score_fails(m, "x", "y", "llm_judge is scored by the engine");
	const struct metric_judge *j = metric_judge(m);
	assert_non_null(j);
	assert_string_equal(j->model, "judge-model");
	assert_non_null(strstr(j->rubric, "{{prediction}}"));
	assert_non_null(strstr(j->rubric, "{{gold}}"));
	assert_true(j->scale_max == 1);
	const char *gold = "Paris";
	char *r = metric_judge_render(m, "It is Paris.", &gold, 1);
	assert_non_null(strstr(r, "\nParis\n"));
	assert_non_null(strstr(r, "\nIt is Paris.\n"));
	assert_null(strstr(r, "{{"));
	free(r);

	static const struct {
		const char *reply;
		double want;
	} c[] = {
	    {"The answer matches.\nScore: 0.8", 0.8},
	    {"score = 1", 1},
	    {"SCORE: **0.5**", 0.5},
	    {"Score: 0.2 at first, but on reflection\nScore: 0.9", 0.9},
	    {"Score: 3", 1}, /* clamped */
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct err e = {{0}};
		double s = -1;
		if (metric_judge_parse(m, c[i].reply, &s, &e) < 0)
			fail_msg("metric_judge_parse(\"%s\"): %s", c[i].reply, e.msg);
		assert_true(s == c[i].want);
	}
	struct err e = {{0}};
	double s = -1;
	assert_int_equal(metric_judge_parse(m, "Looks right to me.", &s, &e), -1);
	assert_non_null(strstr(e.msg, "no score in the judge's reply"));
	metric_free(m);

	m = parse("{\"type\": \"llm_judge\", \"model\": \"j\", \"scale_max\": 10, \"rubric\": "
	          "\"P={{prediction}} G={{ gold }} {x}\", \"score_pattern\": \"(\\\\d+)/10\"}");
	const char *golds[] = {"a", "b"};
	r = metric_judge_render(m, "x", golds, 2);
	assert_string_equal(r, "P=x G=- a\n- b {x}");
	free(r);
	r = metric_judge_render(m, "{{gold}}", golds, 1); /* no second expansion */
	assert_string_equal(r, "P={{gold}} G=a {x}");
	free(r);
	assert_int_equal(metric_judge_parse(m, "I give it 7/10.", &s, &e), 0);
	assert_true(s == 0.7);
	assert_int_equal(metric_judge_parse(m, "15/10!", &s, &e), 0);
	assert_true(s == 1);
	metric_free(m);

	m = parse("{\"type\": \"f1\"}");
	assert_null(metric_judge(m));
	assert_null(metric_judge_render(m, "x", golds, 1));
	assert_int_equal(metric_judge_parse(m, "Score: 1", &s, &e), -1);
	metric_free(m);
}

/* ---- real data: GSM8K's "#### N" answers ---- */

static FILE *open_shared_data(const char *name)
{
	const char *env = getenv("ADOPT_DATA_DIR");
	const char *dirs[] = {env, "../shared/data", "../../shared/data"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (!dirs[i])
			continue;
		char *path = path_join(dirs[i], name);
		FILE *f = fopen(path, "r");
		free(path);
		if (f)
			return f;
	}
	return NULL;
}

static void test_metric_gsm8k(void **state)
{
	(void)state;
	FILE *f = open_shared_data("gsm8k_test.jsonl");
	if (!f) {
		print_message(
		    "skipped: gsm8k_test.jsonl not found in $ADOPT_DATA_DIR, ../shared/data "
		    "or ../../shared/data\n");
		skip();
	}
	struct metric *m = parse("{\"type\": \"numeric\"}");
	static char line[1 << 16];
	int n = 0;
	while (n < 200 && fgets(line, sizeof line, f)) {
		cJSON *j = cJSON_Parse(line);
		assert_non_null(j);
		const char *gold = cJSON_GetStringValue(cJSON_GetObjectItem(j, "answer"));
		assert_non_null(gold);
		const char *hash = strstr(gold, "#### ");
		assert_non_null(hash);
		/* the expected value, read independently of the metric: digits and commas */
		struct sbuf digits = {0};
		for (const char *s = hash + 5; *s; s++)
			if (*s != ',')
				sbuf_addc(&digits, *s);
		double want = strtod(sbuf_str(&digits), NULL);
		char *good = xasprintf("So the answer is %s.", sbuf_str(&digits));
		char *plain = xasprintf("%.15g", want);
		char *off =
		    xasprintf("%.15g is what I first thought, but it is %.15g", want, want + 1);
		assert_true(score1(m, good, gold) == 1);
		assert_true(score1(m, plain, gold) == 1);
		assert_true(score1(m, hash, gold) == 1);
		assert_true(score1(m, gold, gold) ==
		            1); /* the worked solution ends with the answer */
		assert_true(score1(m, off, gold) == 0);
		assert_true(score1(m, "I cannot tell.", gold) == 0);
		free(good);
		free(plain);
		free(off);
		sbuf_free(&digits);
		cJSON_Delete(j);
		n++;
	}
	fclose(f);
	metric_free(m);
	assert_int_equal(n, 200);
}

/* BBH targets: option letters ("(C)") and label sets, with the task's own question (which lists
 * every option) echoed before the conclusion, as a model's reasoning would. */
static void bbh_check(const char *file, const char *json, const char *other_label)
{
	FILE *f = open_shared_data(file);
	if (!f) {
		print_message("skipped: bbh/%s not found in $ADOPT_DATA_DIR, ../shared/data or "
		              "../../shared/data\n",
		              path_basename(file));
		skip();
	}
	struct sbuf text = {0};
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_add(&text, buf, n);
	fclose(f);
	cJSON *j = cJSON_Parse(sbuf_str(&text));
	sbuf_free(&text);
	assert_non_null(j);
	struct metric *m = parse(json);
	const cJSON *ex;
	int count = 0;
	cJSON_ArrayForEach(ex, cJSON_GetObjectItem(j, "examples"))
	{
		const char *input = cJSON_GetStringValue(cJSON_GetObjectItem(ex, "input"));
		const char *target = cJSON_GetStringValue(cJSON_GetObjectItem(ex, "target"));
		assert_non_null(input);
		assert_non_null(target);
		char *good =
		    xasprintf("%s\nLet's think step by step. So the answer is %s.", input, target);
		char *bad;
		if (other_label)
			bad = xasprintf("%s\nSo the answer is %s.", input,
			                strcmp(target, other_label) ? other_label : "neither");
		else
			bad = xasprintf("%s\nSo the answer is (%c).", input,
			                target[1] == 'A' ? 'B' : 'A');
		assert_true(score1(m, good, target) == 1);
		assert_true(score1(m, target, target) == 1);
		assert_true(score1(m, bad, target) == 0);
		free(good);
		free(bad);
		count++;
	}
	assert_true(count > 100);
	metric_free(m);
	cJSON_Delete(j);
}

static void test_metric_bbh(void **state)
{
	(void)state;
	bbh_check("bbh/date_understanding.json", "{\"type\": \"choice\"}", NULL);
	bbh_check("bbh/formal_fallacies.json",
	          "{\"type\": \"choice\", \"labels\": [\"valid\", \"invalid\"]}", "invalid");
	bbh_check("bbh/web_of_lies.json", "{\"type\": \"choice\", \"labels\": [\"Yes\", \"No\"]}",
	          "No");
}

/* ---- issue 13's metric defects, one case each ---- */

/* Scores pred against a list of golds; fails the test on an error. */
static double score_list(const struct metric *m, const char *pred, const char *const *golds,
                         size_t n)
{
	struct err e = {{0}};
	double s = -1;
	if (metric_score(m, pred, golds, n, &s, &e) < 0)
		fail_msg("metric_score(%s, \"%s\"): %s", metric_name(m), pred, e.msg);
	return s;
}

/* numeric 18 against ["eighteen", "18"] is 1 and 19 against ["18", "eighteen"] is 0: a gold
 * with no number does not hide the others; with only unusable golds it is still an error. */
static void test_gold_list_numeric_skips_unusable(void **state)
{
	(void)state;
	struct metric *m = parse("{\"type\": \"numeric\"}");
	const char *a[] = {"eighteen", "18"}, *b[] = {"18", "eighteen"}, *c[] = {"x", "y"};
	assert_true(score_list(m, "18", a, 2) == 1);
	assert_true(score_list(m, "19", b, 2) == 0);
	struct err e = {{0}};
	double s;
	assert_int_equal(metric_score(m, "18", c, 2, &s, &e), -1);
	assert_non_null(strstr(e.msg, "\"x\" holds no number")); /* the first gold's problem */
	metric_free(m);
}

static void test_gold_list_choice_and_regex(void **state)
{
	(void)state;
	struct metric *m = parse("{\"type\": \"choice\"}");
	const char *a[] = {"maybe", "(B)"};
	assert_true(score_list(m, "The answer is (B).", a, 2) == 1);
	assert_true(score_list(m, "The answer is (C).", a, 2) == 0);
	metric_free(m);
	m = parse("{\"type\": \"regex\"}");
	const char *r[] = {"a(", "ab+c"};
	assert_true(score_list(m, "abbc", r, 2) == 1);
	assert_true(score_list(m, "ac", r, 2) == 0);
	metric_free(m);
}

/* metric_check_gold: what --check reports for each gold before anything runs. */
static void test_check_gold(void **state)
{
	(void)state;
	static const struct {
		const char *metric, *gold;
		int want;
		const char *msg;
	} cases[] = {
	    {"{\"type\": \"regex\"}", "a(", -1, "gold answer used as the pattern"},
	    {"{\"type\": \"regex\"}", "a+", 0, NULL},
	    {"{\"type\": \"numeric\"}", "eighteen", -1, "holds no number"},
	    {"{\"type\": \"numeric\"}", "#### 18", 0, NULL},
	    {"{\"type\": \"choice\"}", "maybe", -1, "no option letter"},
	    {"{\"type\": \"choice\", \"labels\": [\"yes\", \"no\"]}", "perhaps", -1,
	     "none of the labels"},
	    {"{\"type\": \"exact_match\"}", ") ] }", 1, "normalises to nothing"},
	    {"{\"type\": \"f1\"}", "the", 1, "normalize\": false"},
	    {"{\"type\": \"exact_match\", \"normalize\": false}", ") ] }", 0, NULL},
	    {"{\"type\": \"exact_match\"}", "Paris", 0, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct metric *m = parse(cases[i].metric);
		struct err e = {{0}};
		int rc = metric_check_gold(m, cases[i].gold, &e);
		if (rc != cases[i].want || (cases[i].msg && !strstr(e.msg, cases[i].msg)))
			fail_msg("%s gold \"%s\": %d \"%s\", expected %d \"%s\"", cases[i].metric,
			         cases[i].gold, rc, e.msg, cases[i].want,
			         cases[i].msg ? cases[i].msg : "");
		metric_free(m);
	}
}

/* BBH dyck_languages: a gold of brackets only normalises to nothing, so the SQuAD exact_match
 * gives an empty prediction 1.0; "normalize": false compares the text. */
static void test_strict_punctuation_gold(void **state)
{
	(void)state;
	static const struct scase loose[] = {{"", ") ] }", 1}, {"]", ") ] }", 1}};
	CHECK_CASES("{\"type\": \"exact_match\"}", loose);
	static const struct scase strict[] = {
	    {"", ") ] }", 0},      {"]", ") ] }", 0},
	    {") ] }", ") ] }", 1}, {"  ) ]\n }\n", ") ] }", 1},
	    {")]}", ") ] }", 0},   {"Paris", "paris", 0},
	};
	CHECK_CASES("{\"type\": \"exact_match\", \"normalize\": false}", strict);
	static const struct scase strict_f1[] = {
	    {") ]", ") ] }", 0.8},
	    {"", ") ] }", 0},
	    {") ) ]", ") ]", 0.8},
	    {"A b", "a b", 0.5},
	};
	CHECK_CASES("{\"type\": \"f1\", \"normalize\": false}", strict_f1);
	static const struct scase strict_contains[] = {
	    {"so: ) ] } done", ") ] }", 1},
	    {"", ") ] }", 0},
	    {") ]", ") ] }", 0},
	};
	CHECK_CASES("{\"type\": \"contains\", \"normalize\": false}", strict_contains);
	parse_fails("{\"type\": \"exact_match\", \"normalize\": 0}",
	            "metric.normalize must be true");
	parse_fails("{\"type\": \"numeric\", \"normalize\": false}", "inapplicable key");
}

/* numeric: integers beyond 2^53 are compared digit by digit, not as doubles. */
static void test_numeric_big_integers(void **state)
{
	(void)state;
	static const struct scase c[] = {
	    {"12345678901234567890", "12345678901234567891", 0},
	    {"12345678901234567890", "12345678901234567890", 1},
	    {"12,345,678,901,234,567,890", "12345678901234567890", 1},
	    {"-12345678901234567890", "12345678901234567890", 0},
	    {"0012345678901234567890", "12345678901234567890", 1},
	    {"9007199254740993", "9007199254740992", 0},
	    {"1.2345678901234567e19", "12345678901234567890", 1}, /* a decimal: as doubles */
	    {"42", "42", 1},
	};
	CHECK_CASES("{\"type\": \"numeric\"}", c);
	static const struct scase tol[] = {{"12345678901234567890", "12345678901234567891", 1}};
	CHECK_CASES("{\"type\": \"numeric\", \"rel_tol\": 1e-9}", tol);
}

/* numeric: a gold written "#### N ..." is the number after "####", not the gold's last one. */
static void test_numeric_hash_marker(void **state)
{
	(void)state;
	static const struct scase c[] = {
	    {"72", "#### 72 (from 48 + 24 in 2 months)", 1},
	    {"2", "#### 72 (from 48 + 24 in 2 months)", 0},
	    {"72", "48/2 = 24 clips in May.\n#### 72", 1},
	    {"24", "48/2 = 24 clips in May.\n#### 72", 0},
	    {"5", "#### 3 #### 5", 1}, /* the last marker */
	};
	CHECK_CASES("{\"type\": \"numeric\"}", c);
}

/* numeric: a 17 KB comma-grouped number is read, not a backtracking-limit error. */
static void test_numeric_long_grouped_number(void **state)
{
	(void)state;
	struct sbuf b = {0};
	sbuf_adds(&b, "1");
	for (int i = 0; i < 4300; i++)
		sbuf_adds(&b, ",000");
	assert_true(b.len > 17000);
	struct metric *m = parse("{\"type\": \"numeric\"}");
	char *same = xstrdup(sbuf_str(&b));
	assert_true(score1(m, same, sbuf_str(&b)) == 1);
	same[0] = '2';
	assert_true(score1(m, same, sbuf_str(&b)) == 0);
	char *pred = xasprintf("The total is %s.", sbuf_str(&b));
	assert_true(score1(m, pred, sbuf_str(&b)) == 1);
	free(pred);
	free(same);
	sbuf_free(&b);
	metric_free(m);
}

/* choice with labels: "NOT SUPPORTED", "not supported" and "The claim is not supported" are
 * NOT_SUPPORTED, never SUPPORTED; aliases stand for their label. */
static void test_choice_whole_labels_and_aliases(void **state)
{
	(void)state;
	static const struct scase plain[] = {
	    {"NOT SUPPORTED", "SUPPORTED", 0},
	    {"not supported", "SUPPORTED", 0},
	    {"The claim is not supported", "SUPPORTED", 0},
	    {"The claim is not supported", "NOT_SUPPORTED", 1},
	    {"NOT-SUPPORTED", "NOT_SUPPORTED", 1},
	    {"SUPPORTED", "SUPPORTED", 1},
	    {"It is supported.", "SUPPORTED", 1},
	    {"SUPPORTED", "NOT_SUPPORTED", 0},
	};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": [\"SUPPORTED\", \"NOT_SUPPORTED\"]}",
	            plain);
	static const struct scase alias[] = {
	    {"refuted", "NOT_SUPPORTED", 1}, {"true", "SUPPORTED", 1},
	    {"refuted", "SUPPORTED", 0},     {"Answer: not supported", "NOT_SUPPORTED", 1},
	    {"supported", "SUPPORTED", 1},   {"It is true.", "NOT_SUPPORTED", 0},
	    {"refuted", "refuted", 1}, /* a gold written as an alias */
	};
	CHECK_CASES("{\"type\": \"choice\", \"labels\": {\"SUPPORTED\": [\"supported\", \"true\"], "
	            "\"NOT_SUPPORTED\": [\"not supported\", \"refuted\"]}}",
	            alias);
	parse_fails("{\"type\": \"choice\", \"labels\": {\"A\": \"a\"}}", "list of aliases");
	parse_fails("{\"type\": \"choice\", \"labels\": {\"A\": [\"\"]}}", "list of aliases");
	parse_fails("{\"type\": \"choice\", \"labels\": {}}", "metric.labels must be");
}

/* The official HotpotQA answer metric: the expected values come from f1_score and
 * exact_match_score of hotpot_evaluate_v1.py, pasted verbatim into a scratch file (outside the
 * repository) and run on strings of these shapes with Python 3 (the answers are made up: no
 * dataset text in the repository). */
static void test_hotpot_metric(void **state)
{
	(void)state;
	static const struct scase f1[] = {
	    {"Yes, they are.", "yes", 0},
	    {"yes", "Yes", 1},
	    {"No.", "no", 1},
	    {"no", "yes", 0},
	    {"Brindle's Almanac", "Brindle's Almanac", 1},
	    {"the Brindle's Almanac was first", "Brindle's Almanac", 0.6666666666666666},
	    {"yes and no", "no", 0},
	    {"noanswer", "no answer", 0},
	    {"Keeper of Records of the North Province", "Keeper of Records", 0.6666666666666666},
	    {"no", "no way", 0},
	    {"The answer is yes", "yes", 0},
	};
	CHECK_CASES("{\"type\": \"hotpot_f1\"}", f1);
	static const struct scase em[] = {
	    {"Yes, they are.", "yes", 0},
	    {"yes", "Yes", 1},
	    {"No.", "no", 1},
	    {"the Brindle's Almanac", "Brindle's Almanac", 1},
	    {"noanswer", "no answer", 0},
	};
	CHECK_CASES("{\"type\": \"hotpot_em\"}", em);
	/* SQuAD's F1 gives "Yes, they are." half marks */
	static const struct scase squad[] = {{"Yes, they are.", "yes", 0.5}};
	CHECK_CASES("{\"type\": \"f1\"}", squad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_squad_normalize),
	    cmocka_unit_test(test_squad_f1_em),
	    cmocka_unit_test(test_squad_invalid_utf8),
	    cmocka_unit_test(test_squad_differential),
	    cmocka_unit_test(test_squad_large),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_config_defaults),
	    cmocka_unit_test(test_config_keys),
	    cmocka_unit_test(test_metric_squad_types),
	    cmocka_unit_test(test_metric_golds),
	    cmocka_unit_test(test_metric_regex),
	    cmocka_unit_test(test_metric_regex_limit),
	    cmocka_unit_test(test_metric_numeric),
	    cmocka_unit_test(test_metric_choice_letters),
	    cmocka_unit_test(test_metric_choice_labels),
	    cmocka_unit_test(test_metric_one_minus_mae),
	    cmocka_unit_test(test_metric_judge),
	    cmocka_unit_test(test_metric_gsm8k),
	    cmocka_unit_test(test_metric_bbh),
	    cmocka_unit_test(test_gold_list_numeric_skips_unusable),
	    cmocka_unit_test(test_gold_list_choice_and_regex),
	    cmocka_unit_test(test_check_gold),
	    cmocka_unit_test(test_strict_punctuation_gold),
	    cmocka_unit_test(test_numeric_big_integers),
	    cmocka_unit_test(test_numeric_hash_marker),
	    cmocka_unit_test(test_numeric_long_grouped_number),
	    cmocka_unit_test(test_choice_whole_labels_and_aliases),
	    cmocka_unit_test(test_hotpot_metric),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

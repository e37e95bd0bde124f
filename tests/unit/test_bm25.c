/* test_bm25.c: BM25 scores checked against hand computation, ranking, edge cases, the JSONL
 * corpus reader and its errors, and a self-retrieval check on the HotpotQA dev questions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bm25.h"
#include "core/util.h"

/* 3 documents; tokens: 6, 3 and 3, so avgdl = 4 and N = 3. */
static const char *const docs3[] = {
    "The cat sat on the mat.",
    "The dog sat!",
    "Cats and DOGS",
};

static void test_hand_computed(void **state)
{
	(void)state;
	struct bm25 *bm = bm25_new(docs3, 3, 1.5, 0.75);
	size_t idx[3];
	double sc[3];

	/* "cat": df = 1, only d0 (tf 1, |d| 6):
	 * ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) * 1 * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 6 / 4)) */
	assert_int_equal(bm25_search(bm, "cat", 3, idx, sc), 1);
	assert_int_equal(idx[0], 0);
	double want = log(1 + 2.5 / 1.5) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 6.0 / 4.0));
	assert_float_equal(sc[0], want, 1e-9);
	assert_float_equal(sc[0], 0.800676941234062, 1e-9);

	/* "the sat": both df = 2 (idf ln 1.6); d1 (short) beats d0 although d0 has "the" twice */
	assert_int_equal(bm25_search(bm, "the sat", 3, idx, sc), 2);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 0);
	double d1 = log(1.6) * 2 * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 3.0 / 4.0));
	double d0 = log(1.6) * (2 * 2.5 / (2 + 1.5 * (0.25 + 0.75 * 6.0 / 4.0)) +
	                        2.5 / (1 + 1.5 * (0.25 + 0.75 * 6.0 / 4.0)));
	assert_float_equal(sc[0], d1, 1e-9);
	assert_float_equal(sc[1], d0, 1e-9);
	assert_float_equal(sc[0], 1.059163108159404, 1e-9);
	assert_float_equal(sc[1], 0.962142437262856, 1e-9);
	bm25_free(bm);

	/* negative parameters select the defaults */
	bm = bm25_new(docs3, 3, -1, -1);
	assert_int_equal(bm25_search(bm, "cat", 1, idx, sc), 1);
	assert_float_equal(sc[0], want, 1e-9);
	bm25_free(bm);

	/* k1 = 0: term frequency and length no longer matter, each matching term scores its idf */
	bm = bm25_new(docs3, 3, 0, 0.75);
	assert_int_equal(bm25_search(bm, "the sat", 3, idx, sc), 2);
	assert_float_equal(sc[0], 2 * log(1.6), 1e-9);
	assert_float_equal(sc[1], 2 * log(1.6), 1e-9);
	assert_int_equal(idx[0], 0); /* a tie: lower index first */
	bm25_free(bm);
}

static void test_ranking_and_ties(void **state)
{
	(void)state;
	struct bm25 *bm = bm25_new(docs3, 3, 1.5, 0.75);
	size_t idx[3];
	double sc[3];
	assert_int_equal(bm25_search(bm, "sat", 3, idx, sc), 2);
	assert_int_equal(idx[0], 1); /* same tf, shorter document */
	assert_int_equal(idx[1], 0);
	assert_true(sc[0] > sc[1]);
	/* case-insensitive; "cats" is not "cat" (no stemming) */
	assert_int_equal(bm25_search(bm, "DOGS, cats?", 3, idx, sc), 1);
	assert_int_equal(idx[0], 2);
	/* k = 1 keeps the best only */
	/* "cats" (rare, idf ln 8/3) in a short document outweighs "the" + "sat" */
	assert_int_equal(bm25_search(bm, "the sat cats", 1, idx, sc), 1);
	assert_int_equal(idx[0], 2);
	bm25_free(bm);

	/* b = 0 turns length normalisation off: "sat" ties, lower index wins */
	bm = bm25_new(docs3, 3, 1.5, 0);
	assert_int_equal(bm25_search(bm, "sat", 3, idx, sc), 2);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	assert_float_equal(sc[0], sc[1], 0);
	bm25_free(bm);

	/* identical documents tie exactly; many of them exercise the heap */
	const char *same[40];
	for (size_t i = 0; i < 40; i++)
		same[i] = i % 3 ? "alpha beta" : "gamma";
	bm = bm25_new(same, 40, 1.5, 0.75);
	size_t top[5];
	assert_int_equal(bm25_search(bm, "beta", 5, top, NULL), 5);
	size_t want[] = {1, 2, 4, 5, 7};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(top[i], want[i]);
	bm25_free(bm);
}

static void test_edges(void **state)
{
	(void)state;
	struct bm25 *bm = bm25_new(docs3, 3, 1.5, 0.75);
	size_t idx[10] = {0};
	double sc[10];
	/* k > n: every matching document, no more */
	assert_int_equal(bm25_search(bm, "the cats sat", 10, idx, sc), 3);
	assert_int_equal(bm25_search(bm, "the sat", 10, idx, sc), 2);
	/* empty and unknown queries */
	assert_int_equal(bm25_search(bm, "", 10, idx, sc), 0);
	assert_int_equal(bm25_search(bm, " ,;!? ", 10, idx, sc), 0);
	assert_int_equal(bm25_search(bm, "zebra", 10, idx, sc), 0);
	assert_int_equal(bm25_search(bm, "cat", 0, idx, sc), 0);
	/* duplicate query terms count once */
	double one, three;
	assert_int_equal(bm25_search(bm, "cat", 1, idx, &one), 1);
	assert_int_equal(bm25_search(bm, "cat CAT cat", 1, idx, &three), 1);
	assert_float_equal(one, three, 0);
	assert_int_equal(bm25_count(bm), 3);
	bm25_free(bm);

	/* empty corpus, and a corpus of empty documents */
	bm = bm25_new(NULL, 0, 1.5, 0.75);
	assert_int_equal(bm25_count(bm), 0);
	assert_int_equal(bm25_search(bm, "cat", 10, idx, sc), 0);
	bm25_free(bm);
	const char *empty[] = {"", "...", NULL};
	bm = bm25_new(empty, 3, 1.5, 0.75);
	assert_int_equal(bm25_search(bm, "cat", 10, idx, sc), 0);
	bm25_free(bm);
	bm25_free(NULL);
}

static void test_stopwords(void **state)
{
	(void)state;
	struct bm25_opts o = {.k1 = -1, .b = -1, .stopwords = true};
	struct bm25 *bm = bm25_new_opts(docs3, 3, &o);
	size_t idx[3];
	double sc[3];
	assert_int_equal(bm25_search(bm, "the and of", 3, idx, sc), 0);
	/* lengths without stopwords: 3, 2, 2 (avgdl 7/3); "the" is ignored, "sat" has df 2 */
	assert_int_equal(bm25_search(bm, "the sat", 3, idx, sc), 2);
	assert_int_equal(idx[0], 1);
	assert_float_equal(sc[0], log(1.6) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / (7.0 / 3))), 1e-9);
	assert_float_equal(sc[1], log(1.6) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 3 / (7.0 / 3))), 1e-9);
	bm25_free(bm);
}

struct toks {
	char buf[256];
};

static void collect(const char *tok, size_t len, void *arg)
{
	struct toks *t = arg;
	size_t n = strlen(t->buf);
	snprintf(t->buf + n, sizeof t->buf - n, "%s%.*s", n ? "|" : "", (int)len, tok);
}

static void test_tokenize(void **state)
{
	(void)state;
	struct toks t = {""};
	bm25_tokenize("Caf\xc3\xa9-au-LAIT x2, \xc3\x9c"
	              "BER_alles (the end)",
	              false, collect, &t);
	assert_string_equal(t.buf, "caf\xc3\xa9|au|lait|x2|\xc3\x9c"
	                           "ber|alles|the|end");
	t.buf[0] = '\0';
	bm25_tokenize("The end of it IS near", true, collect, &t);
	assert_string_equal(t.buf, "end|near");
}

/* A query pays for the postings of its terms, not for the corpus: 20,000 searches for a rare
 * term in 100,000 documents take less time than 200 searches for a term in every document, where
 * they would take 100 times more if each one touched every document.  (A ratio measured in one
 * run, not a bound in seconds: valgrind and loaded machines slow both sides alike.) */
static void test_query_cost(void **state)
{
	(void)state;
	size_t n = 100000;
	char **docs = xcalloc(n, sizeof *docs);
	for (size_t i = 0; i < n; i++)
		docs[i] =
		    xasprintf("common filler words w%zu%s", i % 5000, i == 77777 ? " needle" : "");
	struct bm25 *bm = bm25_new((const char *const *)docs, n, 1.5, 0.75);
	bm25_corpus_free(docs, n);
	size_t idx[5];
	double t0 = now_s();
	for (int r = 0; r < 20000; r++) {
		assert_int_equal(bm25_search(bm, "needle", 5, idx, NULL), 1);
		assert_int_equal(idx[0], 77777);
	}
	double rare = now_s() - t0;
	t0 = now_s();
	for (int r = 0; r < 200; r++)
		assert_int_equal(bm25_search(bm, "filler", 5, idx, NULL), 5);
	double common = now_s() - t0;
	if (rare >= common)
		fail_msg("20000 rare-term searches took %.3f s, 200 common-term ones %.3f s", rare,
		         common);
	/* a term in 20 documents returns those 20, best (all equal here) by index */
	assert_int_equal(bm25_search(bm, "w123", 5, idx, NULL), 5);
	assert_int_equal(idx[0], 123);
	assert_int_equal(idx[4], 123 + 4 * 5000);
	bm25_free(bm);
}

/* ---- corpus files ------------------------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_bm25.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *write_tmp(const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	struct err e;
	if (file_write_atomic(path, content, strlen(content), &e) < 0)
		fail_msg("%s", e.msg);
	return path;
}

static void check_load_error(const char *content, const char *want_suffix)
{
	char *path = write_tmp("bad.jsonl", content);
	char **docs = NULL;
	size_t n = 99;
	struct err e = {""};
	assert_int_equal(bm25_load_corpus(path, 0, &docs, &n, &e), -1);
	char *want = xasprintf("%s%s", path, want_suffix);
	if (strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want prefix \"%s\"", e.msg, want);
	assert_null(docs);
	assert_int_equal(n, 99);
	free(want);
	free(path);
}

static void test_corpus_file(void **state)
{
	(void)state;
	char *path =
	    write_tmp("c.jsonl", "\xEF\xBB\xBF{\"text\": \"The cat sat on the mat.\"}\n"
	                         "\n"
	                         "   \r\n"
	                         "{\"title\": \"Dogs\", \"text\": \"The dog sat!\", \"id\": 7}\r\n"
	                         "{\"text\": \"Cats and DOGS\"}");
	char **docs;
	size_t n;
	struct err e;
	assert_int_equal(bm25_load_corpus(path, 0, &docs, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(docs[0], "The cat sat on the mat.");
	assert_string_equal(docs[1], "Dogs: The dog sat!");
	assert_string_equal(docs[2], "Cats and DOGS");
	struct bm25 *bm = bm25_new((const char *const *)docs, n, 1.5, 0.75);
	bm25_corpus_free(docs, n); /* the index keeps its own copy */
	size_t idx[3];
	assert_int_equal(bm25_search(bm, "dogs dog", 3, idx, NULL), 2);
	assert_int_equal(idx[0], 1); /* the title is searchable */
	bm25_free(bm);
	free(path);

	path = write_tmp("empty.jsonl", "");
	assert_int_equal(bm25_load_corpus(path, 0, &docs, &n, &e), 0);
	assert_int_equal(n, 0);
	bm25_corpus_free(docs, n);
	free(path);
}

static void test_corpus_errors(void **state)
{
	(void)state;
	char **docs;
	size_t n;
	struct err e;
	char *missing = xasprintf("%s/nope.jsonl", tmpdir);
	assert_int_equal(bm25_load_corpus(missing, 0, &docs, &n, &e), -1);
	char *want = xasprintf("%s: cannot open: No such file or directory", missing);
	assert_string_equal(e.msg, want);
	free(want);
	free(missing);

	check_load_error("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\",}\n",
	                 ":3:14: unexpected character '}'");
	check_load_error("{\"text\": \"a\"}\n{\"title\": \"t\"}\n",
	                 ":2: missing the \"text\" field");
	check_load_error("{\"text\": 5}\n", ":1: \"text\" must be a string");
	check_load_error("{\"text\": \"a\", \"title\": [1]}\n", ":1: \"title\" must be a string");
	check_load_error("\n\n[\"text\"]\n", ":3: expected a JSON object");
	check_load_error("{\"text\": \"a\"}\n{\"text\": \"a\"} x\n",
	                 ":2:15: unexpected character 'x'");
	check_load_error("{\"text\": \"a\"}\n{\"text\": \"a\n", ":2:12: unexpected end of file");
	/* until a line has parsed the file may be anything (say /etc/passwd): nothing is quoted */
	check_load_error("root:x:0:0:root:/root:/bin/sh\n",
	                 ":1:1: not a JSON-lines corpus: invalid JSON (expected one object like "
	                 "{\"text\": \"...\"} a line)");
	check_load_error("\n{\"text\": \"a\"} x\n", ":2:15: not a JSON-lines corpus");
}

/* ---- real data ---------------------------------------------------------------------------- */

static char *find_data(const char *name)
{
	const char *env = getenv("ADOPT_DATA_DIR");
	const char *dirs[] = {env ? env : "", "../shared/data", "/work/shared/data"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (!*dirs[i])
			continue;
		char *p = xasprintf("%s/%s", dirs[i], name);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static void test_hotpot_self_retrieval(void **state)
{
	(void)state;
	char *path = find_data("hotpot_dev_v1_simplified.json");
	if (!path) {
		print_message("skipped: hotpot_dev_v1_simplified.json not found "
		              "(set ADOPT_DATA_DIR to the shared data folder)\n");
		skip();
	}
	char *text;
	size_t len;
	struct err e;
	if (file_read(path, 64u << 20, &text, &len, &e) < 0)
		fail_msg("%s", e.msg);
	cJSON *root = cJSON_ParseWithLength(text, len);
	free(text);
	assert_non_null(root);
	size_t n = (size_t)cJSON_GetArraySize(root);
	assert_true(n > 7000);
	const char **qs = xcalloc(n, sizeof *qs);
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
	{
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "question");
		assert_true(cJSON_IsString(q));
		qs[i++] = q->valuestring;
	}
	struct bm25 *bm = bm25_new(qs, n, 1.5, 0.75);
	/* every 25th question (about 300 searches) finds itself, or an identical duplicate, first
	 */
	size_t checked = 0;
	for (i = 0; i < n; i += 25) {
		size_t idx[3];
		double sc[3];
		size_t got = bm25_search(bm, qs[i], 3, idx, sc);
		assert_true(got >= 1);
		if (idx[0] != i && strcmp(qs[idx[0]], qs[i]) != 0)
			fail_msg("question %zu \"%s\" retrieved %zu \"%s\" first", i, qs[i], idx[0],
			         qs[idx[0]]);
		checked++;
	}
	assert_true(checked >= 290);
	bm25_free(bm);
	free(qs);
	cJSON_Delete(root);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hand_computed),
	    cmocka_unit_test(test_ranking_and_ties),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_stopwords),
	    cmocka_unit_test(test_tokenize),
	    cmocka_unit_test(test_query_cost),
	    cmocka_unit_test(test_corpus_file),
	    cmocka_unit_test(test_corpus_errors),
	    cmocka_unit_test(test_hotpot_self_retrieval),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}

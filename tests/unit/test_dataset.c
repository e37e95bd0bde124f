/* test_dataset.c: loading examples: inline arrays, JSONL and JSON-array files, several gold
 * answers, numbers as answers, list fields, ids, and the errors (with line numbers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dataset.h"
#include "testdir.h"

/* Loads one split from a JSON spec (an inline array or a "path" string) into d. */
static int load_spec(struct dataset *d, enum split_id split, const char *spec_json, struct err *e)
{
	cJSON *spec = cJSON_Parse(spec_json);
	assert_non_null(spec);
	int rc = dataset_load_split(d, split, spec, ".", e);
	cJSON_Delete(spec);
	return rc;
}

/* example_get, what a value kept as JSON is computed into kept until the next call */
static const struct value *get(const struct example *ex, const char *key)
{
	static struct value_buf buf;
	value_buf_free(&buf);
	return example_get(ex, key, &buf);
}

static void load_spec_ok(struct dataset *d, enum split_id split, const char *spec_json)
{
	struct err e = {""};
	if (load_spec(d, split, spec_json, &e) < 0)
		fail_msg("%s: %s", spec_json, e.msg);
}

static void test_inline(void **state)
{
	(void)state;
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TRAIN,
	             "[{\"id\": \"a1\", \"question\": \"Q1\", \"answer\": \"A1\"},"
	             " {\"question\": \"Q2\", \"answer\": \"A2\", \"ctx\": [\"p1\", \"p2\"], "
	             "\"n\": 3, \"ok\": true, \"none\": null, \"obj\": {\"k\": 1}}]");
	const struct split *sp = &d.splits[SPLIT_TRAIN];
	assert_int_equal(sp->n, 2);
	assert_string_equal(sp->source, "inline");
	assert_string_equal(sp->ex[0].id, "a1");
	assert_string_equal(sp->ex[1].id, "train-2"); /* generated: split and 1-based index */
	assert_int_equal(sp->ex[0].n_golds, 1);
	assert_string_equal(sp->ex[0].golds[0], "A1");
	assert_string_equal(get(&sp->ex[0], "question")->text, "Q1");
	assert_null(get(&sp->ex[0], "answer")); /* the gold is no input */
	const struct value *ctx = get(&sp->ex[1], "ctx");
	assert_int_equal(ctx->n_items, 2);
	assert_string_equal(ctx->items[1], "p2");
	assert_null(ctx->text); /* a list is kept once, as its items ... */
	char *joined;
	assert_string_equal(value_text(ctx, &joined), "p1\np2"); /* ... and reads one a line */
	free(joined);
	assert_string_equal(value_text(get(&sp->ex[1], "n"), &joined), "3");
	assert_null(joined);
	assert_string_equal(get(&sp->ex[1], "n")->text, "3");
	assert_string_equal(get(&sp->ex[1], "ok")->text, "true");
	assert_string_equal(get(&sp->ex[1], "none")->text, "");
	assert_string_equal(get(&sp->ex[1], "obj")->text, "{\"k\":1}");
	assert_true(dataset_has_field(&d, "ctx"));
	assert_true(dataset_has_field(&d, "id"));
	assert_false(dataset_has_field(&d, "answer"));
	assert_false(dataset_has_field(&d, "nope"));
	dataset_free(&d);
}

static void test_golds(void **state)
{
	(void)state;
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_VAL,
	             "[{\"q\": \"x\", \"answer\": [\"New York\", \"NYC\", \"New York City\"]},"
	             " {\"q\": \"y\", \"answer\": 42},"
	             " {\"q\": \"z\", \"answer\": 2.5},"
	             " {\"q\": \"w\", \"answer\": [1, \"one\"]},"
	             " {\"id\": 7, \"q\": \"v\", \"answer\": 1e20}]");
	const struct split *sp = &d.splits[SPLIT_VAL];
	assert_int_equal(sp->n, 5);
	assert_int_equal(sp->ex[0].n_golds, 3);
	assert_string_equal(sp->ex[0].golds[2], "New York City");
	assert_string_equal(sp->ex[1].golds[0], "42"); /* an integer, not 42.000000 */
	assert_string_equal(sp->ex[2].golds[0], "2.5");
	assert_int_equal(sp->ex[3].n_golds, 2);
	assert_string_equal(sp->ex[3].golds[0], "1");
	assert_string_equal(sp->ex[4].id, "7"); /* a numeric id */
	assert_string_equal(sp->ex[4].golds[0], "1e+20");
	dataset_free(&d);
}

static void test_jsonl(void **state)
{
	(void)state;
	put("d.jsonl", "{\"question\": \"q1\", \"answer\": \"a1\"}\n"
	               "\n"
	               "   \t\r\n"
	               "{\"question\": \"q2\", \"answer\": \"a2\"}\r\n"
	               "{\"question\": \"q3\", \"answer\": \"a3\"}"); /* no final newline */
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TEST, "\"d.jsonl\"");
	const struct split *sp = &d.splits[SPLIT_TEST];
	assert_int_equal(sp->n, 3);
	assert_string_equal(sp->source, "d.jsonl");
	assert_string_equal(sp->ex[1].golds[0], "a2");
	assert_string_equal(sp->ex[2].golds[0], "a3");
	assert_string_equal(sp->ex[2].id, "test-3"); /* numbered by example, not by line */
	dataset_free(&d);
}

static void test_json_array_file(void **state)
{
	(void)state;
	put("d.json", "\n  [{\"question\": \"q1\", \"answer\": \"a1\"},\n"
	              "   {\"question\": \"q2\", \"answer\": [\"a2\", \"b2\"]}]\n");
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TRAIN, "\"d.json\"");
	assert_int_equal(d.splits[SPLIT_TRAIN].n, 2);
	assert_int_equal(d.splits[SPLIT_TRAIN].ex[1].n_golds, 2);
	/* another split of the same dataset from inline data */
	load_spec_ok(&d, SPLIT_VAL, "[{\"question\": \"v\", \"answer\": \"w\"}]");
	assert_int_equal(d.splits[SPLIT_VAL].n, 1);
	assert_int_equal(d.n_fields, 1);
	dataset_free(&d);
}

static void test_answer_field(void **state)
{
	(void)state;
	struct dataset d = {0};
	d.answer_field = xstrdup("label");
	d.id_field = xstrdup("qid");
	load_spec_ok(&d, SPLIT_TRAIN,
	             "[{\"qid\": \"x9\", \"text\": \"t\", \"label\": \"pos\", "
	             "\"answer\": \"an input now\"}]");
	const struct example *ex = &d.splits[SPLIT_TRAIN].ex[0];
	assert_string_equal(ex->id, "x9");
	assert_string_equal(ex->golds[0], "pos");
	assert_string_equal(get(ex, "answer")->text, "an input now");
	dataset_free(&d);
}

static void expect_error(const char *spec, const char *want)
{
	struct dataset d = {0};
	struct err e = {""};
	assert_int_equal(load_spec(&d, SPLIT_TRAIN, spec, &e), -1);
	assert_string_equal(e.msg, want);
	dataset_free(&d);
}

static void test_errors(void **state)
{
	(void)state;
	put("missing.jsonl", "{\"question\": \"q1\", \"answer\": \"a1\"}\n"
	                     "\n"
	                     "{\"question\": \"q2\"}\n");
	expect_error("\"missing.jsonl\"",
	             "missing.jsonl:3: example 2 has no \"answer\" field (the gold answer; set "
	             "dataset.answer_field to use another)");
	put("bad.jsonl", "{\"question\": \"q1\", \"answer\": \"a1\"}\n{\"question\": \n");
	expect_error("\"bad.jsonl\"",
	             "bad.jsonl:2:14: unexpected end of file (expected a value) (invalid JSON)");
	/* until an example has parsed the file may be anything (/etc/passwd): nothing quoted */
	put("passwd", "root:x:0:0:root:/root:/bin/sh\n");
	expect_error("\"passwd\"", "passwd:1:1: not a JSON-lines file: invalid JSON (expected one "
	                           "example object a line)");
	put("notobj.jsonl", "[1, 2]\n");
	expect_error("\"notobj.jsonl\"", "notobj.jsonl:1: example 1 is not a JSON object");
	put("scalar.jsonl", "{\"answer\": \"a\"}\n42\n");
	expect_error("\"scalar.jsonl\"", "scalar.jsonl:2: example 2 is not a JSON object");
	put("badarr.json", "[{\"answer\": \"a\"},");
	expect_error("\"badarr.json\"",
	             "badarr.json:1:18: unexpected end of file (expected a value) (invalid JSON)");
	expect_error("\"nope.jsonl\"", "nope.jsonl: cannot open: No such file or directory");
	expect_error(
	    "[{\"answer\": \"a\"}, {\"q\": \"b\"}]",
	    "example 2 has no \"answer\" field (the gold answer; set dataset.answer_field to "
	    "use another)");
	expect_error("[\"just text\"]", "example 1 is not a JSON object");
	expect_error("5", "must be an array of examples, a path to a JSONL/JSON file, or "
	                  "{\"path\": ..., \"key\": ..., \"offset\": N, \"limit\": N}");
}

/* dataset_load_inline: the examples of an array's text, one at a time; bad JSON by position. */
static void test_inline_text(void **state)
{
	(void)state;
	struct dataset d = {0};
	struct err e = {""};
	const char *bad = (const char *)1;
	static const char empty[] = "[ \n\t]";
	assert_int_equal(dataset_load_inline(&d, SPLIT_VAL, empty, strlen(empty), &bad, &e), 0);
	assert_null(bad);
	assert_int_equal(d.splits[SPLIT_VAL].n, 0);
	assert_string_equal(d.splits[SPLIT_VAL].source, "inline");
	/* the length bounds it: what follows the array is never read */
	static const char two[] = "[\n {\"q\": \"x]\", \"answer\": 1} ,{\"answer\": [\"a\", 2]}\n]"
	                          "{\"answer\": \"not this\"}";
	size_t len = strlen(two) - strlen("{\"answer\": \"not this\"}");
	assert_int_equal(dataset_load_inline(&d, SPLIT_TRAIN, two, len, &bad, &e), 0);
	assert_int_equal(d.splits[SPLIT_TRAIN].n, 2);
	assert_string_equal(get(&d.splits[SPLIT_TRAIN].ex[0], "q")->text, "x]");
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[1].golds[1], "2");
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[1].id, "train-2");
	dataset_free(&d);

	/* a problem in an example: its number; bad stays NULL */
	static const char noans[] = "[{\"answer\": \"a\"}, {\"q\": \"b\"}, {\"answer\": \"c\"}]";
	assert_int_equal(dataset_load_inline(&d, SPLIT_TEST, noans, strlen(noans), &bad, &e), -1);
	assert_null(bad);
	assert_int_equal(d.splits[SPLIT_TEST].n, 1); /* the index of the bad one */
	assert_true(strstr(e.msg, "example 2 has no \"answer\" field") != NULL);
	dataset_free(&d);

	/* invalid JSON: bad points at it, even after an example with a problem */
	static const char *const invalid[] = {
	    "[{\"answer\": 1.2.3}]", "[{\"answer\": \"a\"} {\"answer\": \"b\"}]",
	    "[{\"q\": 1}, {\"answer\": 1}, 7.7.7]", "[{\"answer\": \"a\"},", "[1 2]"};
	static const size_t at[] = {15, 17, 29, 17, 3};
	for (size_t k = 0; k < ARRAY_SIZE(invalid); k++) {
		bad = NULL;
		assert_int_equal(
		    dataset_load_inline(&d, SPLIT_TRAIN, invalid[k], strlen(invalid[k]), &bad, &e),
		    -1);
		assert_non_null(bad);
		assert_int_equal(bad - invalid[k], at[k]);
		dataset_free(&d);
	}
	assert_int_equal(dataset_load_inline(&d, SPLIT_TRAIN, "{}", 2, &bad, &e), -1);
	assert_null(bad);
	dataset_free(&d);
}

static void test_split_names(void **state)
{
	(void)state;
	assert_int_equal(split_from_name("train"), SPLIT_TRAIN);
	assert_int_equal(split_from_name("val"), SPLIT_VAL);
	assert_int_equal(split_from_name("test"), SPLIT_TEST);
	assert_int_equal(split_from_name("dev"), -1);
}

/* Numbers as text: the shortest form that reads back as the same double, so that a gold 0.1
 * is "0.1" (not "0.10000000000000001", which exact_match against 0.1 scored 0) and so is a
 * {{input.x}}; inside an object field too. */
static void test_numbers_shortest(void **state)
{
	(void)state;
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TRAIN,
	             "[{\"x\": 0.1, \"y\": {\"k\": [0.3, 1e-7]}, \"z\": 123456789012345678, "
	             "\"answer\": [0.1, 2.675, 1e16, -0.0, 5e-324]}]");
	const struct example *ex = &d.splits[SPLIT_TRAIN].ex[0];
	assert_string_equal(get(ex, "x")->text, "0.1");
	assert_string_equal(get(ex, "y")->text, "{\"k\":[0.3,1e-07]}");
	assert_string_equal(get(ex, "z")->text, "1.2345678901234568e+17");
	assert_string_equal(ex->golds[0], "0.1");
	assert_string_equal(ex->golds[1], "2.675");
	assert_string_equal(ex->golds[2], "1e+16");
	assert_string_equal(ex->golds[3], "-0");
	assert_string_equal(ex->golds[4], "5e-324");
	dataset_free(&d);
}

/* A gold that is an object is an error naming a field to use; answer_field takes a path, and a
 * list met on the way is mapped item by item (SQuAD's official layout and the HF one). */
static void test_gold_paths(void **state)
{
	(void)state;
	expect_error(
	    "[{\"q\": \"w\", \"answer\": {\"text\": \"New Zealand\", \"answer_start\": 5}}]",
	    "example 1: the gold answer \"answer\" holds an object, not text; name the "
	    "field that holds the text in dataset.answer_field, e.g. \"answer.text\"");
	expect_error("[{\"answer\": [[\"a\"]]}]",
	             "example 1: the gold answer \"answer\" holds a list of lists, not text; name "
	             "the field that holds the text in dataset.answer_field");
	expect_error("[{\"answer\": []}]",
	             "example 1: the gold answer \"answer\" is an empty list");
	struct dataset d = {0};
	d.answer_field = xstrdup("answers.text");
	load_spec_ok(
	    &d, SPLIT_TRAIN,
	    "[{\"q\": \"a\", \"answers\": [{\"text\": \"New Zealand\", \"answer_start\": 5},"
	    " {\"text\": \"NZ\", \"answer_start\": 9}]},"
	    " {\"q\": \"b\", \"answers\": {\"text\": [\"x\", \"y\"], \"answer_start\": [1, 2]}},"
	    " {\"q\": \"c\", \"answers.text\": \"literal key first\"}]");
	const struct example *ex = d.splits[SPLIT_TRAIN].ex;
	assert_int_equal(ex[0].n_golds, 2);
	assert_string_equal(ex[0].golds[0], "New Zealand");
	assert_string_equal(ex[0].golds[1], "NZ");
	assert_null(get(&ex[0], "answers")); /* the gold's field is no input */
	assert_string_equal(get(&ex[0], "q")->text, "a");
	assert_int_equal(ex[1].n_golds, 2);
	assert_string_equal(ex[1].golds[1], "y");
	assert_string_equal(ex[2].golds[0], "literal key first");
	dataset_free(&d);
	d = (struct dataset){0};
	d.answer_field = xstrdup("answers[1].text");
	load_spec_ok(&d, SPLIT_TRAIN, "[{\"answers\": [{\"text\": \"A\"}, {\"text\": \"B\"}]}]");
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[0].golds[0], "B");
	dataset_free(&d);
}

/* "x\u0000y" would be read as "x": refused with the example's line instead. */
static void test_nul_in_string(void **state)
{
	(void)state;
	put("nul.jsonl", "{\"answer\": \"ok\"}\n{\"q\": \"x\\u0000y\", \"answer\": \"a\"}\n");
	expect_error("\"nul.jsonl\"", "nul.jsonl:2: example 2: a string holds \\u0000 (a NUL "
	                              "character), which would cut it short; remove it");
	put("nul.json", "[{\"answer\": \"ok\"},\n {\"answer\": \"a\\u0000\"}]");
	expect_error("\"nul.json\"", "nul.json:2: example 2: a string holds \\u0000 (a NUL "
	                             "character), which would cut it short; remove it");
	/* an escaped backslash before u0000 is text, not a NUL */
	struct dataset d = {0};
	put("bs.jsonl", "{\"answer\": \"a\\\\u0000\"}\n");
	load_spec_ok(&d, SPLIT_TRAIN, "\"bs.jsonl\"");
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[0].golds[0], "a\\u0000");
	dataset_free(&d);
}

/* BBH's {"canary": ..., "examples": [...]}: "key" names the list; without it the error says so
 * (and lists the object's lists) rather than why line 1 is no example. */
static void test_object_file_with_key(void **state)
{
	(void)state;
	put("task.json", "{\n  \"canary\": \"x\",\n  \"examples\": [\n"
	                 "    {\"input\": \"i1\", \"target\": \"(A)\"},\n"
	                 "    {\"input\": \"i2\", \"target\": \"(B)\"}\n  ]\n}\n");
	struct dataset d = {0};
	d.answer_field = xstrdup("target");
	load_spec_ok(&d, SPLIT_TRAIN, "{\"path\": \"task.json\", \"key\": \"examples\"}");
	const struct split *sp = &d.splits[SPLIT_TRAIN];
	assert_int_equal(sp->n, 2);
	assert_string_equal(sp->ex[1].golds[0], "(B)");
	assert_int_equal(sp->ex[0].line, 4);
	assert_int_equal(sp->ex[1].line, 5);
	assert_string_equal(sp->source, "task.json");
	dataset_free(&d);
	expect_error("\"task.json\"", "task.json: the file holds one JSON object, not examples; "
	                              "name the key that holds them: {\"path\": ..., \"key\": ...} "
	                              "(its lists: \"examples\")");
	expect_error("{\"path\": \"task.json\", \"key\": \"canary\"}",
	             "task.json: the file holds a JSON object, not an array of examples; its key "
	             "\"canary\" holds no list (its lists: \"examples\")");
	expect_error("{\"path\": \"task.json\", \"key\": \"examples\", \"colour\": 1}",
	             "unknown key \"colour\" (known: path, key, offset, limit)");
	expect_error("{\"path\": \"task.json\", \"key\": \"examples\", \"limit\": -1}",
	             "\"limit\": must be a whole number between 0 and 1000000000000 (got -1)");
}

/* offset and limit take a slice of a file's examples; lines stay those of the file. */
static void test_offset_limit(void **state)
{
	(void)state;
	put("all.jsonl", "{\"answer\": \"a1\"}\n{\"answer\": \"a2\"}\n{\"answer\": \"a3\"}\n"
	                 "{\"answer\": \"a4\"}\n");
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TRAIN, "{\"path\": \"all.jsonl\", \"limit\": 2}");
	load_spec_ok(&d, SPLIT_VAL, "{\"path\": \"all.jsonl\", \"offset\": 2}");
	load_spec_ok(&d, SPLIT_TEST, "{\"path\": \"all.jsonl\", \"offset\": 9, \"limit\": 1}");
	assert_int_equal(d.splits[SPLIT_TRAIN].n, 2);
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[1].golds[0], "a2");
	assert_int_equal(d.splits[SPLIT_VAL].n, 2);
	assert_string_equal(d.splits[SPLIT_VAL].ex[0].golds[0], "a3");
	assert_int_equal(d.splits[SPLIT_VAL].ex[0].line, 3);
	assert_int_equal(d.splits[SPLIT_TEST].n, 0);
	dataset_free(&d);

	/* the examples outside a slice are never kept: a JSON array of four 4 KB examples, of
	 * which one is asked for, costs one example's text */
	struct sbuf big = {0};
	char pad[4001];
	memset(pad, 'x', 4000);
	pad[4000] = '\0';
	for (int i = 0; i < 4; i++)
		sbuf_addf(&big, "%s{\"answer\": \"a%d\", \"text\": \"%s\"}", i ? ", " : "[", i + 1,
		          pad);
	sbuf_adds(&big, "]");
	put("big.json", sbuf_str(&big));
	sbuf_free(&big);
	memset(&d, 0, sizeof d);
	load_spec_ok(&d, SPLIT_TRAIN, "{\"path\": \"big.json\", \"offset\": 2, \"limit\": 1}");
	assert_int_equal(d.splits[SPLIT_TRAIN].n, 1);
	assert_string_equal(d.splits[SPLIT_TRAIN].ex[0].golds[0], "a3");
	assert_in_range(d.arena.used_bytes, 4000, 8000);
	dataset_free(&d);
}

/* A list of lists is a list of passages: HotpotQA's context [[title, [sentence, ...]], ...]
 * gives "Title: sentence sentence" per item (its sentences carry their leading spaces). */
static void test_list_of_lists(void **state)
{
	(void)state;
	struct dataset d = {0};
	load_spec_ok(&d, SPLIT_TRAIN,
	             "[{\"context\": [[\"Ed Wood (film)\", [\"Ed Wood is a film.\", \" It won.\"]],"
	             " [\"Scott\", [\"A\", \"b\", [\"c\"]]], [\"Alone\"], [], [1.5, 2]],"
	             " \"answer\": \"yes\"}]");
	const struct value *v = get(&d.splits[SPLIT_TRAIN].ex[0], "context");
	assert_int_equal(v->n_items, 5);
	assert_string_equal(v->items[0], "Ed Wood (film): Ed Wood is a film. It won.");
	assert_string_equal(v->items[1], "Scott: A b c");
	assert_string_equal(v->items[2], "Alone");
	assert_string_equal(v->items[3], "[]");
	assert_string_equal(v->items[4], "1.5: 2");
	dataset_free(&d);
}

/* One file cut into train/val/test by fractions, shuffled by a seed: the same seed gives the
 * same splits, another seed others; every example lands in exactly one split. */
static void fractions(struct dataset *d, const char *json)
{
	cJSON *ds = cJSON_Parse(json);
	assert_non_null(ds);
	struct err e = {""};
	if (dataset_load_fractions(d, ds, ".", &e) < 0)
		fail_msg("%s: %s", json, e.msg);
	cJSON_Delete(ds);
}

static void test_split_fractions(void **state)
{
	(void)state;
	FILE *f = fopen("all.jsonl", "w");
	for (int i = 0; i < 10; i++)
		fprintf(f, "{\"q\": \"q%d\", \"answer\": \"a%d\"%s}\n", i, i,
		        i == 3 ? ", \"id\": \"mine\"" : "");
	fclose(f);
	struct dataset a = {0}, b = {0}, c = {0};
	const char *spec = "{\"path\": \"all.jsonl\", \"split\": {\"train\": 0.6, \"val\": 0.2, "
	                   "\"test\": 0.2, \"seed\": 1}}";
	fractions(&a, spec);
	fractions(&b, spec);
	fractions(&c, "{\"path\": \"all.jsonl\", \"split\": {\"train\": 0.6, \"val\": 0.2, "
	              "\"test\": 0.2, \"seed\": 2}}");
	assert_int_equal(a.splits[SPLIT_TRAIN].n, 6);
	assert_int_equal(a.splits[SPLIT_VAL].n, 2);
	assert_int_equal(a.splits[SPLIT_TEST].n, 2);
	int seen[10] = {0};
	bool differ = false;
	for (int s = 0; s < SPLIT_COUNT; s++)
		for (size_t i = 0; i < a.splits[s].n; i++) {
			const struct example *x = &a.splits[s].ex[i], *y = &b.splits[s].ex[i];
			assert_string_equal(x->id, y->id); /* reproducible */
			differ |= strcmp(x->id, c.splits[s].ex[i].id) != 0;
			int k = x->golds[0][1] - '0';
			seen[k]++;
			if (k == 3)
				assert_string_equal(x->id, "mine");
			else
				assert_int_equal(atoi(x->id + 3),
				                 k + 1); /* "ex-N": its place in the file */
			assert_int_equal(x->line, k + 1);
		}
	for (int k = 0; k < 10; k++)
		assert_int_equal(seen[k], 1);
	assert_true(differ);
	assert_string_equal(a.splits[SPLIT_VAL].source, "all.jsonl");
	dataset_free(&a);
	dataset_free(&b);
	dataset_free(&c);
	/* fractions below 1: the rest is left out */
	struct dataset d = {0};
	fractions(&d, "{\"path\": \"all.jsonl\", \"split\": {\"val\": 0.3}}");
	assert_int_equal(d.splits[SPLIT_VAL].n, 3);
	assert_int_equal(d.splits[SPLIT_TRAIN].n + d.splits[SPLIT_TEST].n, 0);
	dataset_free(&d);
	static const struct {
		const char *spec, *want;
	} bad[] = {
	    {"{\"path\": \"all.jsonl\", \"split\": {\"train\": 0.8, \"val\": 0.4}}",
	     "dataset.split: the fractions must add up to more than 0 and at most 1 (they add up "
	     "to 1.2)"},
	    {"{\"path\": \"all.jsonl\", \"split\": {\"dev\": 0.5}}",
	     "dataset.split: unknown key \"dev\" (known: train, val, test, seed)"},
	    {"{\"path\": \"all.jsonl\", \"split\": {\"train\": 2}}",
	     "dataset.split.train: must be between 0 and 1 (got 2)"},
	    {"{\"path\": \"all.jsonl\", \"split\": {\"train\": 1, \"seed\": -1}}",
	     "dataset.split.seed: must be a whole number between 0 and 4294967295 (got -1)"},
	    {"{\"split\": {\"train\": 1}}",
	     "dataset.path must name the JSONL or JSON file to split"},
	    {"{\"path\": \"all.jsonl\"}", "dataset.split must be an object like"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cJSON *ds = cJSON_Parse(bad[i].spec);
		struct err e = {""};
		d = (struct dataset){0};
		assert_int_equal(dataset_load_fractions(&d, ds, ".", &e), -1);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].spec, e.msg, bad[i].want);
		cJSON_Delete(ds);
		dataset_free(&d);
	}
}

/* example_text, a list's joined text kept until the next call */
static const char *text_at(const struct example *ex, const char *path)
{
	static char *joined;
	free(joined);
	return example_text(ex, path, &joined);
}

/* Nested fields: an object's members are fields ("meta.source.name"), a list of objects gives
 * each member as a list ("answers.text"), and example_text takes a final [N]. */
static void test_nested_fields(void **state)
{
	(void)state;
	struct dataset d = {0};
	load_spec_ok(
	    &d, SPLIT_TRAIN,
	    "[{\"meta\": {\"source\": {\"name\": \"wiki\", \"n\": 0.1}, "
	    "\"tags\": [\"a\", \"b\"]},"
	    " \"answers\": [{\"text\": \"NZ\", \"start\": 5}, {\"text\": \"New Zealand\"}],"
	    " \"context\": [[\"T1\", [\"s1\", \" s2\"]], [\"T2\", [\"s3\"]]],"
	    " \"mixed\": [[\"X\", [\"a\", \"b\\n\", \"c\", 7, null, true, {\"k\": [0.1]}]]],"
	    " \"answer\": \"x\"}]");
	const struct example *ex = &d.splits[SPLIT_TRAIN].ex[0];
	assert_string_equal(text_at(ex, "meta.source.name"), "wiki");
	assert_string_equal(text_at(ex, "meta.source.n"), "0.1");
	assert_string_equal(text_at(ex, "meta.tags"), "a\nb");
	assert_string_equal(text_at(ex, "meta.tags[1]"), "b");
	assert_string_equal(text_at(ex, "meta"),
	                    "{\"source\":{\"name\":\"wiki\",\"n\":0.1},\"tags\":[\"a\",\"b\"]}");
	assert_string_equal(text_at(ex, "answers.text"), "NZ\nNew Zealand");
	assert_string_equal(text_at(ex, "answers.start"), "5");
	assert_string_equal(text_at(ex, "context[0]"), "T1: s1 s2");
	assert_string_equal(text_at(ex, "context[1]"), "T2: s3");
	assert_string_equal(text_at(ex, "context[2]"), "");               /* past the end */
	assert_string_equal(text_at(ex, "context"), "T1: s1 s2\nT2: s3"); /* joined when asked */
	/* a space between two texts where neither has one; scalars as their text */
	assert_string_equal(text_at(ex, "mixed[0]"), "X: a b\nc 7 true {\"k\":[0.1]}");
	assert_null(text_at(ex, "nope"));
	assert_null(text_at(ex, "nope[0]"));
	assert_int_equal(get(ex, "answers.text")->n_items, 2);
	assert_true(dataset_has_field(&d, "answers.text"));
	assert_true(dataset_has_field(&d, "context[3]"));
	assert_true(dataset_has_field(&d, "meta.source"));
	assert_false(dataset_has_field(&d, "meta.nope"));
	assert_false(dataset_has_field(&d, "context[x]"));
	dataset_free(&d);
}

/* Every value of two loads of the same examples is the same, read through every accessor:
 * value_read (text, items), value_text, example_text of the whole and of each item (and one
 * past the end), example_get. */
static void same_values(const struct split *a, const struct split *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct example *x = &a->ex[i], *y = &b->ex[i];
		assert_string_equal(x->id, y->id);
		assert_int_equal(x->n, y->n);
		assert_int_equal(x->n_golds, y->n_golds);
		for (size_t g = 0; g < x->n_golds; g++)
			assert_string_equal(x->golds[g], y->golds[g]);
		for (size_t k = 0; k < x->n; k++) {
			assert_string_equal(x->keys[k], y->keys[k]);
			struct value_buf bx = {0}, by = {0};
			const struct value *vx = value_read(&x->vals[k], &bx);
			const struct value *vy = value_read(&y->vals[k], &by);
			assert_true((vx->text == NULL) == (vy->text == NULL));
			if (vx->text)
				assert_string_equal(vx->text, vy->text);
			assert_int_equal(vx->n_items, vy->n_items);
			for (size_t m = 0; m < vx->n_items; m++)
				assert_string_equal(vx->items[m], vy->items[m]);
			char *jx, *jy, path[128];
			assert_string_equal(value_text(&x->vals[k], &jx),
			                    value_text(&y->vals[k], &jy));
			free(jx);
			free(jy);
			for (size_t m = 0; m <= vx->n_items; m++) {
				snprintf(path, sizeof path, "%s[%zu]", x->keys[k], m);
				assert_string_equal(example_text(x, path, &jx),
				                    example_text(y, path, &jy));
				free(jx);
				free(jy);
			}
			struct value_buf gx = {0}, gy = {0};
			const struct value *ex1 = example_get(x, x->keys[k], &gx);
			const struct value *ex2 = example_get(y, y->keys[k], &gy);
			assert_int_equal(ex1->n_items, ex2->n_items);
			value_buf_free(&gx);
			value_buf_free(&gy);
			value_buf_free(&bx);
			value_buf_free(&by);
		}
	}
}

/* The examples of this test: escapes, Unicode (\u escapes and surrogate pairs, raw UTF-8),
 * numbers in every form, objects in lists in objects, a member name with a dot, the same member
 * twice, empty containers. */
static const char objects_jsonl[] =
    "{\"id\": 1, \"q\": \"caf\\u00e9 \\ud83d\\ude00 \\\"x\\\" \\\\ \\/ \\b\\f\\n\\r\\t\", "
    "\"answer\": \"a\", \"ctxs\": [{\"title\": \"T\\u00fc\", \"text\": \"x\\ny\", \"n\": 1e5, "
    "\"m\": -0}, {\"title\": \"U\", \"meta\": {\"a.b\": [1.5e300, 0.1, true, null, "
    "{\"k\": []}]}}, \"plain\", [\"t\", [\"s\", 2]]]}\n"
    "{\"id\": \"b\", \"answer\": [\"a\", \"b\"], \"meta\": {\"a\": {\"b\": {\"c\": {\"d\": "
    "{\"e\": 1}}}}, \"a.b\": 2, \"x\": {}}, \"l\": [{}, {\"z\": 1}, {\"z\": [{\"y\": "
    "0.30000000000000004}]}], \"dup\": {\"k\": 1, \"k\": 2}}\n"
    "{\"id\": \"c\", \"answer\": \"z\", \"ctxs\": [{\"title\": \"Z\\u00e9\", \"text\": "
    "\"1E-7 \\u2028 \\u0001\"}], \"n\": 12345678901234567890, \"f\": -1.25e-3}\n";

/* A field that holds objects is kept once, as its JSON, and gives the values it gave when
 * they were computed at load (dataset.eager, the loader before): DPR's "ctxs" and its
 * members as lists, an object field's members, escapes, Unicode and numbers alike. */
static void test_json_kept_fields(void **state)
{
	(void)state;
	put("o.jsonl", objects_jsonl);
	struct dataset d = {0}, old = {.eager = true};
	load_spec_ok(&d, SPLIT_TRAIN, "\"o.jsonl\"");
	load_spec_ok(&old, SPLIT_TRAIN, "\"o.jsonl\"");
	same_values(&d.splits[SPLIT_TRAIN], &old.splits[SPLIT_TRAIN]);

	const struct example *ex = d.splits[SPLIT_TRAIN].ex;
	/* kept as JSON: the field and its members; a plain field as before */
	assert_int_equal(ex[0].vals[2].json_index, 1);
	assert_string_equal(ex[0].keys[2], "ctxs");
	assert_int_equal(get(&ex[0], "q")->json_index, 0);
	assert_non_null(get(&ex[0], "q")->text);
	assert_string_equal(text_at(&ex[0], "q"),
	                    "caf\xc3\xa9 \xf0\x9f\x98\x80 \"x\" \\ / \b\f\n\r\t");
	assert_string_equal(text_at(&ex[0], "ctxs.title"), "T\xc3\xbc\nU");
	assert_string_equal(text_at(&ex[0], "ctxs.text[0]"), "x\ny");
	assert_string_equal(text_at(&ex[0], "ctxs.n"), "100000");
	assert_string_equal(text_at(&ex[0], "ctxs.m"), "-0");
	assert_string_equal(text_at(&ex[0], "ctxs[0]"),
	                    "{\"title\":\"T\xc3\xbc\",\"text\":\"x\\ny\",\"n\":100000,\"m\":-0}");
	assert_string_equal(text_at(&ex[0], "ctxs[2]"), "plain");
	assert_string_equal(text_at(&ex[0], "ctxs[3]"), "t: s 2");
	assert_string_equal(text_at(&ex[0], "ctxs[4]"), "");
	assert_string_equal(text_at(&ex[0], "ctxs.meta"),
	                    "{\"a.b\":[1.5e+300,0.1,true,null,{\"k\":[]}]}");
	const struct value *v = get(&ex[0], "ctxs.text");
	assert_int_equal(v->json_index, 0); /* computed */
	assert_int_equal(v->n_items, 1);
	assert_string_equal(v->items[0], "x\ny");
	assert_string_equal(text_at(&ex[1], "meta.a.b.c.d"), "{\"e\":1}");
	assert_null(text_at(&ex[1], "meta.a.b.c.d.e")); /* four levels, as before */
	assert_string_equal(text_at(&ex[1], "meta.a.b"), "{\"c\":{\"d\":{\"e\":1}}}");
	assert_string_equal(text_at(&ex[1], "meta.x"), "{}");
	assert_string_equal(text_at(&ex[1], "l.z"), "1\n{\"y\":0.30000000000000004}");
	assert_string_equal(text_at(&ex[1], "dup.k"), "1"); /* the first, as cJSON reads it */
	assert_string_equal(text_at(&ex[2], "ctxs.text"), "1E-7 \xe2\x80\xa8 \x01");
	assert_string_equal(text_at(&ex[2], "n"), "1.2345678901234567e+19");
	assert_string_equal(text_at(&ex[2], "f"), "-0.00125");
	assert_true(dataset_has_field(&d, "ctxs.meta"));
	dataset_free(&d);
	dataset_free(&old);

	/* an example of many fields, and one of fewer after it (no field-name array shared) */
	struct sbuf w = {0};
	sbuf_adds(&w, "{\"answer\": \"a\"");
	for (int i = 0; i < 40; i++)
		sbuf_addf(&w, ", \"f%d\": {\"x\": %d, \"y\": [\"s%d\"]}", i, i, i);
	sbuf_adds(&w, "}\n{\"answer\": \"b\", \"f0\": 1}\n");
	put("wide.jsonl", sbuf_str(&w));
	struct dataset d2 = {0}, old2 = {.eager = true};
	load_spec_ok(&d2, SPLIT_TRAIN, "\"wide.jsonl\"");
	load_spec_ok(&old2, SPLIT_TRAIN, "\"wide.jsonl\"");
	same_values(&d2.splits[SPLIT_TRAIN], &old2.splits[SPLIT_TRAIN]);
	assert_int_equal(d2.splits[SPLIT_TRAIN].ex[0].n, 120);
	assert_string_equal(text_at(&d2.splits[SPLIT_TRAIN].ex[0], "f39.y"), "s39");
	assert_string_equal(text_at(&d2.splits[SPLIT_TRAIN].ex[1], "f0"), "1");
	dataset_free(&d2);
	dataset_free(&old2);
	sbuf_free(&w);
}

/* A list of objects with another member name each (a stranger's file): its sub-fields are
 * found without comparing every item with every earlier one, and past 16 sub-fields a field is
 * computed at load, not kept as JSON (reading one walks them all); up to 16 it is kept.  The
 * item that repeats a member keeps giving it twice, as the loader always did. */
static void test_json_kept_many_members(void **state)
{
	(void)state;
	struct sbuf f = {0};
	sbuf_adds(&f, "{\"answer\": \"a\", \"l\": [");
	for (int i = 0; i < 2000; i++)
		sbuf_addf(&f, "%s{\"m%d\": %d}", i ? ", " : "", i, i);
	sbuf_adds(&f, "]}\n{\"answer\": \"b\", \"l\": [");
	for (int i = 0; i < 14; i++)
		sbuf_addf(&f, "{\"m%d\": %d}, ", i, i);
	sbuf_adds(&f, "{\"m0\": 9, \"k\": 1, \"k\": 2}]}\n");
	put("many.jsonl", sbuf_str(&f));
	struct dataset d = {0}, old = {.eager = true};
	load_spec_ok(&d, SPLIT_TRAIN, "\"many.jsonl\"");
	load_spec_ok(&old, SPLIT_TRAIN, "\"many.jsonl\"");
	same_values(&d.splits[SPLIT_TRAIN], &old.splits[SPLIT_TRAIN]);
	const struct example *ex = d.splits[SPLIT_TRAIN].ex;
	assert_int_equal(ex[0].n, 2001);
	assert_int_equal(ex[0].vals[0].json_index, 0); /* 2000 sub-fields: computed */
	assert_string_equal(text_at(&ex[0], "l.m1999"), "1999");
	assert_int_equal(ex[1].n, 1 + 14 + 2);
	assert_int_equal(ex[1].vals[0].json_index, 1); /* 14 + 2 ("k" twice): kept */
	assert_string_equal(text_at(&ex[1], "l.m0"), "0\n9");
	assert_string_equal(text_at(&ex[1], "l.k"), "1");
	dataset_free(&d);
	dataset_free(&old);
	sbuf_free(&f);
}

/* DPR's layout costs its text once: the arena of a "ctxs" dataset holds about its file's size,
 * not twice (the objects' JSON beside their members' values, as when computed at load). */
static void test_json_kept_memory(void **state)
{
	(void)state;
	struct sbuf f = {0};
	for (int i = 0; i < 200; i++) {
		sbuf_addf(&f,
		          "{\"id\": \"q%d\", \"question\": \"q?\", \"answer\": \"a\", \"ctxs\": [",
		          i);
		for (int p = 0; p < 10; p++) {
			sbuf_addf(&f, "%s{\"title\": \"T%d.%d\", \"text\": \"", p ? ", " : "", i,
			          p);
			for (int w = 0; w < 40; w++)
				sbuf_adds(&f, "passage words ");
			sbuf_adds(&f, "\"}");
		}
		sbuf_adds(&f, "]}\n");
	}
	put("ctxs.jsonl", sbuf_str(&f));
	struct dataset d = {0}, old = {.eager = true};
	load_spec_ok(&d, SPLIT_TRAIN, "\"ctxs.jsonl\"");
	load_spec_ok(&old, SPLIT_TRAIN, "\"ctxs.jsonl\"");
	same_values(&d.splits[SPLIT_TRAIN], &old.splits[SPLIT_TRAIN]);
	assert_true(d.arena.used_bytes < f.len * 11 / 10);
	assert_true(old.arena.used_bytes > f.len * 19 / 10);
	dataset_free(&d);
	dataset_free(&old);
	sbuf_free(&f);
}

/* A line of several MB (a passage of 2.7 MB with escapes, one of 1 MB without) is read whole, and a
 * bad line after it is still named by its line. */
static void test_long_lines(void **state)
{
	(void)state;
	struct sbuf f = {0}, want = {0};
	sbuf_adds(&f, "{\"answer\": \"a\", \"ctxs\": [{\"text\": \"");
	for (int i = 0; i < 100000; i++) {
		sbuf_adds(&f, "caf\\u00e9 \\\"quoted\\\" line\\n");
		sbuf_adds(&want, "caf\xc3\xa9 \"quoted\" line\n");
	}
	sbuf_adds(&f, "\"}], \"p\": [\"");
	for (int i = 0; i < 1000000; i++)
		sbuf_addc(&f, (char)('a' + i % 26));
	sbuf_adds(&f, "\"]}\n{\"answer\": \"b\"}\n{\"answer\": }\n");
	put("long.jsonl", sbuf_str(&f));
	struct dataset d = {0};
	struct err e = {""};
	assert_int_equal(load_spec(&d, SPLIT_TRAIN, "\"long.jsonl\"", &e), -1);
	assert_string_equal(e.msg, "long.jsonl:3:12: unexpected character '}' (expected a value) "
	                           "(invalid JSON)");
	dataset_free(&d);
	char *nl = strstr(f.s, "\n{\"answer\": }");
	*++nl = '\0';
	put("long.jsonl", f.s);
	load_spec_ok(&d, SPLIT_TRAIN, "\"long.jsonl\"");
	assert_int_equal(d.splits[SPLIT_TRAIN].n, 2);
	const struct example *ex = d.splits[SPLIT_TRAIN].ex;
	assert_string_equal(text_at(ex, "ctxs.text"), sbuf_str(&want));
	assert_int_equal(strlen(text_at(ex, "p[0]")), 1000000);
	assert_int_equal(ex[1].line, 2);
	struct dataset old = {.eager = true};
	load_spec_ok(&old, SPLIT_TRAIN, "\"long.jsonl\"");
	same_values(&d.splits[SPLIT_TRAIN], &old.splits[SPLIT_TRAIN]);
	dataset_free(&d);
	dataset_free(&old);
	sbuf_free(&f);
	sbuf_free(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, testdir_setup, testdir_teardown)
	    T(test_numbers_shortest),
	    T(test_gold_paths),
	    T(test_nul_in_string),
	    T(test_object_file_with_key),
	    T(test_offset_limit),
	    T(test_list_of_lists),
	    T(test_split_fractions),
	    T(test_nested_fields),
	    T(test_json_kept_fields),
	    T(test_json_kept_memory),
	    T(test_json_kept_many_members),
	    T(test_long_lines),
	    T(test_inline),
	    T(test_golds),
	    T(test_jsonl),
	    T(test_json_array_file),
	    T(test_answer_field),
	    T(test_errors),
	    T(test_split_names),
	    T(test_inline_text),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

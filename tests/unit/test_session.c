/* test_session.c: the session loader, validator and saver.
 *
 * Every test runs in its own temporary directory (the working directory while it runs), writes
 * session files there from the C strings below and loads them by relative name, so messages read
 * exactly "s.json:LINE:COL: message" and are compared whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "testdir.h"

void file_write_fail_after(long nbytes); /* util.c test hook */

static int session_teardown(void **state)
{
	file_write_fail_after(-1);
	return testdir_teardown(state);
}

static char *slurp(const char *name, size_t *len)
{
	char *buf = NULL;
	struct err e = {""};
	if (file_read(name, 1 << 20, &buf, len, &e) < 0)
		fail_msg("%s", e.msg);
	return buf;
}

/* A session whose steps start on line 7 (column 7 with the usual indent) and whose pipeline
 * object can take more keys after "steps" (extra starts right after the closing "]"). */
static char *doc(const char *steps, const char *extra)
{
	return xasprintf("{\n"
	                 "  \"format\": \"adopt-session\",\n"
	                 "  \"version\": 1,\n"
	                 "  \"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	                 "  \"pipeline\": {\n"
	                 "    \"steps\": [\n"
	                 "%s\n"
	                 "    ]%s\n"
	                 "  },\n"
	                 "  \"dataset\": {\"val\": [{\"question\": \"a?\", \"answer\": \"b\", "
	                 "\"ctx\": [\"x y\", \"z\"]}]},\n"
	                 "  \"metric\": {\"type\": \"exact_match\"}\n"
	                 "}\n",
	                 steps, extra ? extra : "");
}

/* Loads `name` with `opts` and checks it fails with exactly the messages in want (NULL-ended). */
static void expect_file(const char *name, const struct session_load_opts *opts,
                        const char *const *want)
{
	struct diag d = {0};
	struct session *s = session_load(name, opts, &d);
	size_t n = 0;
	while (want[n])
		n++;
	bool same = !s && d.n == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(d.msgs[i], want[i]) == 0;
	if (!same) {
		print_message("  loading %s%s\n", name, s ? " SUCCEEDED" : "");
		print_diag(&d);
		for (size_t i = 0; i < n; i++)
			print_message("   want: %s\n", want[i]);
		session_free(s);
		diag_free(&d);
		fail_msg("unexpected diagnostics for %s", name);
	}
	diag_free(&d);
}

#define EXPECT_TEXT(text, ...)                                                                     \
	do {                                                                                       \
		put("s.json", (text));                                                             \
		expect_file("s.json", NULL, (const char *const[]){__VA_ARGS__, NULL});             \
	} while (0)

#define EXPECT_DOC(steps, extra, ...)                                                              \
	do {                                                                                       \
		char *text_ = doc((steps), (extra));                                               \
		EXPECT_TEXT(text_, __VA_ARGS__);                                                   \
		free(text_);                                                                       \
	} while (0)

/* ---- good files ---- */

static void test_minimal(void **state)
{
	(void)state;
	char *text = doc("      {\"id\": \"q\", \"type\": \"template\", \"template\": \"Q: "
	                 "{{input.question}}\"},\n"
	                 "      {\"id\": \"answer\", \"prompt\": \"{{steps.q.output}}\"}",
	                 NULL);
	struct session *s = load_ok(text);
	free(text);
	assert_string_equal(s->name, "s"); /* from the file name */
	assert_int_equal(s->n_models, 1);
	assert_string_equal(s->models[0].provider, "openai");
	assert_int_equal(s->models[0].concurrency, 8);
	assert_true(s->models[0].stream);
	assert_true(s->models[0].price_in < 0);
	assert_int_equal(s->n_steps, 2);
	assert_int_equal(s->steps[0].kind, STEP_TEMPLATE);
	assert_true(s->steps[0].frozen);
	assert_int_equal(s->steps[1].kind, STEP_LLM); /* the default type */
	assert_false(s->steps[1].frozen);
	assert_ptr_equal(s->steps[1].model_cfg, &s->models[0]); /* the sole model */
	assert_string_equal(s->steps[1].prompt, "{{steps.q.output}}");
	assert_int_equal(s->steps[1].n_deps, 1);
	assert_int_equal(s->steps[1].deps[0], 0);
	assert_int_equal(s->output_step, 1);
	assert_int_equal(s->data.splits[SPLIT_VAL].n, 1);
	assert_int_equal(s->opt.batch_size, 50);
	assert_int_equal(s->opt.minibatch_good, 5);
	assert_int_equal(s->opt.minibatch_bad, 5);
	assert_string_equal(s->opt.step_optimizer, "joint");
	assert_string_equal(s->opt.role_model, "task");
	assert_ptr_equal(session_step(s, "answer"), &s->steps[1]);
	assert_null(session_step(s, "nope"));
	assert_ptr_equal(session_model(s, "task"), &s->models[0]);
	session_free(s);
}

static const char full_session[] =
    "{\n"
    "  \"format\": \"adopt-session\",\n"
    "  \"version\": 1,\n"
    "  \"name\": \"full\",\n"
    "  \"x_top\": {\"keep\": [1, 2]},\n"
    "  \"models\": {\n"
    "    \"task\": {\"provider\": \"openai\", \"model\": \"gpt-4o-mini\", \"temperature\": 0.5,\n"
    "             \"max_tokens\": 300, \"price_in\": 0.15, \"price_out\": 0.6, \"concurrency\": "
    "4,\n"
    "             \"rpm\": 60, \"tpm\": 10000, \"timeout\": 30, \"stream\": false,\n"
    "             \"api_key_env\": \"MY_KEY\", \"x_model\": \"keep\"},\n"
    "    \"optimizer\": {\"provider\": \"scripted\", \"rules\": \"r.rules\"}\n"
    "  },\n"
    "  \"pipeline\": {\n"
    "    \"x_pipeline\": true,\n"
    "    \"steps\": [\n"
    "      {\"id\": \"retrieve\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\",\n"
    "       \"corpus\": \"corpus.jsonl\", \"k\": 2, \"x_step\": 1},\n"
    "      {\"id\": \"hop\", \"model\": \"task\", \"system\": \"You search.\",\n"
    "       \"prompt\": \"Q {{q}} round {{round}} prev {{steps.hop.rounds}}\",\n"
    "       \"inputs\": {\"q\": \"input.question\", \"x_unused\": \"input.question\"}},\n"
    "      {\"id\": \"check\", \"type\": \"regex\", \"source\": \"{{steps.hop}}\",\n"
    "       \"pattern\": \"DONE|done\", \"group\": 0},\n"
    "      {\"id\": \"answer\", \"prompt\": \"{{steps.retrieve.output}} / {{steps.hop.output}}\",\n"
    "       \"parse\": {\"pattern\": \"Answer: (.*)\", \"group\": 1, \"x_parse\": 0},\n"
    "       \"demos\": [{\"input\": \"i1\", \"output\": \"o1\", \"x_demo\": \"keep\"}],\n"
    "       \"description\": \"the final answer\"},\n"
    "      {\"id\": \"clean\", \"type\": \"exec\", \"command\": [\"tr\", \"a-z\", \"A-Z\"],\n"
    "       \"input\": \"{{steps.answer}}\", \"timeout_ms\": 500},\n"
    "      {\"id\": \"fix\", \"type\": \"regex\", \"source\": \"{{steps.clean}}\",\n"
    "       \"pattern\": \"\\\\s+\", \"replace\": \" \", \"global\": true}\n"
    "    ],\n"
    "    \"loops\": [{\"id\": \"hops\", \"steps\": [\"hop\", \"check\"], \"max_rounds\": 3,\n"
    "                \"until\": {\"step\": \"check\", \"pattern\": \"DONE\", \"x_until\": 2},\n"
    "                \"x_loop\": \"keep\"}],\n"
    "    \"output\": \"answer\"\n"
    "  },\n"
    "  \"dataset\": {\"train\": \"train.jsonl\", \"val\": [{\"question\": \"v?\", "
    "\"answer\": \"w\", \"x_ex\": 1}],\n"
    "              \"answer_field\": \"answer\", \"x_dataset\": null},\n"
    "  \"metric\": {\"type\": \"f1\", \"threshold\": 0.5},\n"
    "  \"optimizer\": {\"seed\": 42, \"batch_size\": 10, \"minibatch_good\": 2, "
    "\"minibatch_bad\": 3,\n"
    "                \"val_size\": 4, \"budget_total\": 5, \"budget_floor\": 1, "
    "\"eval_budget\": 8,\n"
    "                \"step_optimizer\": \"joint\", \"role_model\": \"optimizer\", "
    "\"cost_cap_usd\": 1.5,\n"
    "                \"token_cap\": 100000, \"max_demos\": 2, \"roles\": {\"local\": \"L "
    "{{x}}\"},\n"
    "                \"x_optimizer\": [\"keep\"]},\n"
    "  \"history\": {\"iterations\": []}\n"
    "}\n";

static void put_full(void)
{
	put("s.json", full_session);
	put("r.rules", "# no rules\n");
	put("corpus.jsonl", "{\"title\": \"France\", \"text\": \"Paris is the capital.\"}\n"
	                    "{\"text\": \"Berlin is in Germany.\"}\n");
	put("train.jsonl", "{\"question\": \"t?\", \"answer\": \"u\"}\n");
}

static void test_full(void **state)
{
	(void)state;
	put_full();
	struct session *s = load_ok_file("s.json");
	assert_string_equal(s->name, "full");
	const struct model_config *m = session_model(s, "task");
	assert_non_null(m);
	assert_true(m->temperature == 0.5);
	assert_int_equal(m->max_tokens, 300);
	assert_int_equal(m->concurrency, 4);
	assert_false(m->stream);
	assert_true(m->timeout_s == 30);
	assert_string_equal(m->api_key_env, "MY_KEY");
	const struct model_config *o = session_model(s, "optimizer");
	assert_string_equal(o->model, "scripted");
	assert_non_null(strstr(o->rules, "r.rules"));

	const struct step *hop = session_step(s, "hop");
	assert_int_equal(hop->loop, 0);
	assert_int_equal(hop->n_inputs, 2);
	assert_non_null(hop->system);
	const struct step *ans = session_step(s, "answer");
	assert_non_null(ans->parse_rx);
	assert_int_equal(ans->parse_group, 1);
	assert_int_equal(ans->n_demos, 1);
	assert_string_equal(ans->demos[0].output, "o1");
	const struct step *ret = session_step(s, "retrieve");
	assert_int_equal(ret->k, 2);
	assert_int_equal(ret->n_corpus_docs, 2);
	assert_string_equal(ret->corpus_docs[0], "France: Paris is the capital.");
	const struct step *clean = session_step(s, "clean");
	assert_string_equal(clean->argv[0], "tr");
	assert_null(clean->argv[3]);
	assert_int_equal(clean->timeout_ms, 500);
	const struct step *fix = session_step(s, "fix");
	assert_string_equal(fix->replace, " ");
	assert_true(fix->global);

	assert_int_equal(s->n_loops, 1);
	assert_string_equal(s->loops[0].id, "hops");
	assert_int_equal(s->loops[0].max_rounds, 3);
	assert_int_equal(s->loops[0].until_step, session_step_index(s, "check"));
	assert_non_null(s->loops[0].until);
	assert_int_equal(s->output_step, session_step_index(s, "answer"));

	assert_int_equal(s->data.splits[SPLIT_TRAIN].n, 1);
	assert_int_equal(s->data.splits[SPLIT_VAL].n, 1);
	assert_int_equal(s->opt.seed, 42);
	assert_int_equal(s->opt.batch_size, 10);
	assert_int_equal(s->opt.budget_total, 5);
	assert_int_equal(s->opt.eval_budget, 8);
	assert_string_equal(s->opt.step_optimizer, "joint");
	assert_string_equal(s->opt.role_model, "optimizer");
	assert_true(s->opt.cost_cap_usd == 1.5);
	assert_int_equal(s->opt.token_cap, 100000);
	assert_non_null(s->opt.roles);
	assert_non_null(session_section(s, "history"));
	session_free(s);
}

/* ---- bad files: the JSON itself ---- */

static void test_bad_json(void **state)
{
	(void)state;
	EXPECT_TEXT("{\n  \"format\": \"adopt-session\",\n  \"version\": 1,\n  \"models\": {",
	            "s.json:4:14: unexpected end of file (expected a '\"' to start a key) (invalid "
	            "JSON)");
	EXPECT_TEXT("{\n  \"format\": \"adopt-session\",\n  \"version\": 1,,\n}",
	            "s.json:3:16: unexpected character ',' (expected a '\"' to start a key) "
	            "(invalid JSON)");
	EXPECT_TEXT("", "s.json:1:1: unexpected end of file (expected a value) (invalid JSON)");
	EXPECT_TEXT("{\"a\": [1, 2}\n",
	            "s.json:1:12: unexpected character '}' (expected ',' or ']') (invalid JSON)");
	EXPECT_TEXT("[]", "s.json:1:1: the session must be a JSON object");
	/* binary garbage: a NUL byte, or bytes that are no text at all */
	put("bin.json", "");
	FILE *f = fopen("bin.json", "wb");
	fwrite("\x7f"
	       "ELF\x02\x01\x00\x00\xff",
	       1, 9, f);
	fclose(f);
	expect_file("bin.json", NULL,
	            (const char *const[]){"bin.json: binary data (a NUL byte) where a JSON session "
	                                  "file was expected",
	                                  NULL});
	EXPECT_TEXT("\x89PNG\r\n\x1a\n",
	            "s.json:1:1: unexpected byte 0x89 (not UTF-8) (expected a value) (invalid "
	            "JSON)");
}

static void test_bad_header(void **state)
{
	(void)state;
	EXPECT_TEXT(
	    "{\"format\": \"other\", \"version\": 2, \"models\": {}, \"pipeline\": {\"steps\": "
	    "[{\"id\": \"a\", \"type\": \"template\", \"template\": \"x\"}]}, \"dataset\": "
	    "{\"val\": [{\"answer\": \"b\"}]}, \"metric\": {\"type\": \"f1\"}}",
	    "s.json:1:12: \"format\" must be \"adopt-session\" (is this an adopt-tui "
	    "session?)",
	    "s.json:1:32: version 2 is newer than this build understands (1): upgrade "
	    "adopt-tui");
	EXPECT_TEXT(
	    "{\"format\": \"adopt-session\", \"version\": -1e300, \"models\": {}, "
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	    "\"template\": \"x\"}]}, \"dataset\": {\"val\": [{\"answer\": \"b\"}]}, "
	    "\"metric\": {\"type\": \"f1\"}}",
	    "s.json:1:40: \"version\" must be a whole number between 1 and 1 (got -1e+300)");
	EXPECT_TEXT("{\"format\": \"adopt-session\", \"version\": \"1\"}",
	            "s.json:1:40: \"version\" must be a number (this build writes 1)",
	            "s.json:1:1: no \"models\" object: name at least one model configuration",
	            "s.json:1:1: no \"dataset\" object: give train/val/test examples",
	            "s.json:1:1: no \"metric\" object (e.g. {\"type\": \"f1\"})",
	            "s.json:1:1: no \"pipeline\" object with \"steps\"");
}

static void test_file_problems(void **state)
{
	(void)state;
	expect_file(
	    "missing.json", NULL,
	    (const char *const[]){"missing.json: cannot open: No such file or directory", NULL});
	assert_int_equal(mkdir("dir.json", 0755), 0);
	expect_file("dir.json", NULL,
	            (const char *const[]){"dir.json: not a regular file (a directory)", NULL});
	rmdir("dir.json");
	put("plain", "{}");
	expect_file("plain/s.json", NULL,
	            (const char *const[]){"plain/s.json: cannot open: Not a directory", NULL});
	/* over the size limit: refused before it is read */
	char *text =
	    doc("      {\"id\": \"a\", \"type\": \"template\", \"template\": \"x\"}", NULL);
	put("s.json", text);
	char want[160];
	snprintf(want, sizeof want, "s.json: file is %zu bytes, larger than the limit of 64",
	         strlen(text));
	free(text);
	struct session_load_opts small = {.max_bytes = 64};
	expect_file("s.json", &small, (const char *const[]){want, NULL});
	/* unreadable: only testable when permissions apply to us (not as root) */
	put("locked.json", "{}");
	chmod("locked.json", 0);
	if (access("locked.json", R_OK) == 0) {
		print_message(
		    "  (running as root: the unreadable-file case is covered by ENOTDIR)\n");
	} else {
		expect_file(
		    "locked.json", NULL,
		    (const char *const[]){"locked.json: cannot open: Permission denied", NULL});
	}
}

/* ---- bad files: the pipeline ---- */

static void test_bad_steps(void **state)
{
	(void)state;
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": \"x\"},\n"
	           "      {\"id\": \"a\", \"type\": \"template\", \"template\": \"y\"}",
	           NULL, "s.json:8:14: duplicate step id \"a\"");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": "
	           "\"{{steps.nope.output}}\"}",
	           NULL, "s.json:7:51: step \"a\": template uses unknown step \"nope\"");
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"template\", \"template\": \"{{steps.b}}\"},\n"
	    "      {\"id\": \"b\", \"type\": \"template\", \"template\": \"{{steps.a}}\"}",
	    NULL,
	    "s.json:6:14: the steps \"a\", \"b\" read each other in a cycle; a cycle is only "
	    "allowed inside a loop (pipeline.loops)");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": \"{{steps.a}}\"}",
	           NULL, "s.json:7:51: step \"a\": reads its own output outside a loop");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": 5, \"frozen\": "
	           "\"yes\"},\n"
	           "      {\"id\": 7, \"type\": \"template\", \"template\": \"x\"},\n"
	           "      {\"id\": \"c\", \"type\": \"foo\", \"template\": \"x\"},\n"
	           "      \"d\"",
	           NULL, "s.json:7:64: pipeline.steps[0].frozen must be true or false",
	           "s.json:8:14: pipeline.steps[1].id must be a string",
	           "s.json:9:27: step \"c\": unknown type \"foo\" (llm, template, regex, retrieve, "
	           "exec)",
	           "s.json:10:7: pipeline.steps[3] must be an object",
	           "s.json:7:51: pipeline.steps[0].template must be a string");
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"template\"},\n"
	    "      {\"id\": \"b\", \"model\": \"nomodel\", \"inputs\": {\"x\": 3}}",
	    ",\n    \"output\": \"zz\"", "s.json:7:7: step \"a\": \"template\" is required",
	    "s.json:8:55: step \"b\": input \"x\" must be a path string",
	    "s.json:8:28: step \"b\": no model configuration named \"nomodel\" in \"models\"",
	    "s.json:8:7: step \"b\": \"prompt\" is required",
	    "s.json:10:15: pipeline.output: unknown step \"zz\"");
	EXPECT_DOC("", NULL, "s.json:6:14: the pipeline has no steps");
}

static void test_bad_templates(void **state)
{
	(void)state;
	EXPECT_DOC("      {\"id\": \"answer\", \"prompt\": \"{{input.question}} {{passage}}\"}",
	           NULL, "s.json:7:34: step \"answer\": template uses unknown input \"passage\"");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": "
	           "\"{{input.passage}}\"}",
	           NULL,
	           "s.json:7:51: step \"a\": template uses unknown input field \"passage\" (the "
	           "dataset has: question, ctx)");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": \"{{round}}\"}",
	           NULL, "s.json:7:51: step \"a\": {{round}} is only defined inside a loop");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"template\", \"template\": "
	           "\"x\\n{{input.question\"}",
	           NULL, "s.json:7:51: step \"a\": template: unclosed {{ at line 2, column 1");
	EXPECT_DOC("      {\"id\": \"a\", \"prompt\": \"ok\", \"system\": \"{{}}\"}", NULL,
	           "s.json:7:45: step \"a\": system: empty {{}} at line 1, column 1");
	/* an input naming an input is refused (it must be a real path) */
	EXPECT_DOC("      {\"id\": \"a\", \"prompt\": \"{{x}}\", \"inputs\": {\"x\": \"y\", \"y\": "
	           "\"input.question\"}}",
	           NULL,
	           "s.json:7:54: step \"a\": input \"x\" is \"y\"; it must be a path like "
	           "input.FIELD, steps.ID.output or round");
}

static void test_bad_regexes(void **state)
{
	(void)state;
	EXPECT_DOC("      {\"id\": \"a\", \"prompt\": \"{{input.question}}\", \"parse\": \"(a\"}",
	           NULL,
	           "s.json:7:60: step \"a\": parse: invalid regex \"(a\": missing closing "
	           "parenthesis at offset 2");
	EXPECT_DOC("      {\"id\": \"a\", \"prompt\": \"{{input.question}}\", \"parse\": "
	           "{\"pattern\": \"a)\", \"group\": 1}}",
	           NULL,
	           "s.json:7:72: step \"a\": parse: invalid regex \"a)\": unmatched closing "
	           "parenthesis at offset 1");
	EXPECT_DOC("      {\"id\": \"a\", \"prompt\": \"{{input.question}}\", \"parse\": "
	           "{\"pattern\": \"(a)\", \"group\": 2}}",
	           NULL,
	           "s.json:7:60: step \"a\": parse group 2 does not exist (the pattern has 1)");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"regex\", \"source\": \"{{input.question}}\", "
	           "\"pattern\": \"[a-\"}",
	           NULL,
	           "s.json:7:79: step \"a\": invalid regex \"[a-\": missing terminating ] for "
	           "character class at offset 3");
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"regex\", \"source\": \"x\"}", NULL,
	           "s.json:7:7: step \"a\": \"pattern\" is required");
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"template\", \"template\": \"{{round}}\"}",
	    ",\n    \"loops\": [{\"id\": \"L\", \"steps\": [\"a\"], \"until\": {\"pattern\": "
	    "\"(?<\"}}]",
	    "s.json:9:64: loop \"L\": until: invalid regex \"(?<\": subpattern name "
	    "expected at offset 3");
}

static void test_loops(void **state)
{
	(void)state;
	/* a cycle inside a declared loop is allowed */
	char *text =
	    doc("      {\"id\": \"a\", \"type\": \"template\", \"template\": \"{{steps.b}} "
	        "{{round}}\"},\n"
	        "      {\"id\": \"b\", \"type\": \"template\", \"template\": \"{{steps.a}}\"}",
	        ",\n    \"loops\": [{\"id\": \"L\", \"steps\": [\"a\", \"b\"], "
	        "\"max_rounds\": 3, \"until\": {\"step\": \"b\", \"pattern\": \"done\"}}]");
	struct session *s = load_ok(text);
	free(text);
	assert_int_equal(s->n_order, 1);
	assert_int_equal(s->order[0].loop, 0);
	assert_int_equal(s->loops[0].until_step, 1);
	assert_int_equal(s->output_step, 1); /* the loop's last step */
	session_free(s);
	/* problems with loops */
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"template\", \"template\": \"x\"},\n"
	    "      {\"id\": \"b\", \"type\": \"template\", \"template\": \"y\"}",
	    ",\n    \"loops\": [{\"id\": \"L\", \"steps\": [\"a\", \"zz\"], \"until\": "
	    "{\"step\": \"b\", \"pattern\": \"x\"}},\n"
	    "              {\"id\": \"M\", \"steps\": [\"a\"], \"max_rounds\": 0},\n"
	    "              {\"id\": \"N\", \"steps\": []}, 3]",
	    "s.json:10:42: loop \"L\": unknown step \"zz\"",
	    "s.json:10:67: loop \"L\": until.step \"b\" is not a step of this loop",
	    "s.json:11:57: pipeline.loops[1].max_rounds must be a whole number between 1 and 1000 "
	    "(got 0)",
	    "s.json:11:37: step \"a\" is in two loops",
	    "s.json:12:36: loop \"N\": \"steps\" must list the step ids repeated each round",
	    "s.json:12:41: pipeline.loops[3] must be an object");
}

static void test_bad_code_steps(void **state)
{
	(void)state;
	EXPECT_DOC("      {\"id\": \"a\", \"type\": \"exec\"}", NULL,
	           "s.json:7:7: step \"a\": \"command\" is required");
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"exec\", \"command\": [], \"timeout_ms\": 0},\n"
	    "      {\"id\": \"b\", \"type\": \"exec\", \"command\": [\"cat\", 3]},\n"
	    "      {\"id\": \"c\", \"type\": \"exec\", \"command\": \"cat\"}",
	    NULL, "s.json:7:46: step \"a\": command is empty",
	    "s.json:7:64: pipeline.steps[0].timeout_ms must be a whole number between 1 and "
	    "3600000 "
	    "(got 0)",
	    "s.json:8:46: step \"b\": command arguments must be strings",
	    "s.json:9:46: pipeline.steps[2].command must be an array of strings (program "
	    "and arguments)");
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	    "\"corpus\": \"nope.jsonl\"},\n"
	    "      {\"id\": \"b\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	    "\"passages\": \"input.nope\"},\n"
	    "      {\"id\": \"c\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\"},\n"
	    "      {\"id\": \"d\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	    "\"passages\": \"input.ctx\", \"k\": 0},\n"
	    "      {\"id\": \"e\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	    "\"url\": \"ftp://example.org/search\"},\n"
	    "      {\"id\": \"f\", \"type\": \"retrieve\", \"query\": \"{{input.question}}\", "
	    "\"url\": \"http://example.org/\", \"passages\": \"input.ctx\"}",
	    NULL,
	    "s.json:7:80: step \"a\": corpus: nope.jsonl: cannot open: No such file or "
	    "directory",
	    "s.json:8:82: step \"b\": passages \"input.nope\" must name a dataset field holding a "
	    "list (input.FIELD; the dataset has: question, ctx)",
	    "s.json:9:7: step \"c\": a retrieve step needs exactly one of \"corpus\" (a JSONL file "
	    "of {\"text\"}), \"passages\" (a list field, e.g. \"input.context\") or \"url\" (a "
	    "retrieval server)",
	    "s.json:10:100: pipeline.steps[3].k must be a whole number between 1 and 1000 (got 0)",
	    "s.json:11:77: step \"e\": url \"ftp://example.org/search\" must be an http:// or "
	    "https:// address without spaces, control characters or a #fragment",
	    "s.json:12:7: step \"f\": a retrieve step needs exactly one of \"corpus\" (a JSONL "
	    "file "
	    "of {\"text\"}), \"passages\" (a list field, e.g. \"input.context\") or \"url\" (a "
	    "retrieval server)");
}

/* A retrieval server's concurrency and timeout: bounds, only where a server is asked, and
 * steps asking one url share its concurrency (an unset one takes the other's). */
static void test_retrieve_server_options(void **state)
{
	(void)state;
	EXPECT_DOC(
	    "      {\"id\": \"a\", \"type\": \"retrieve\", \"query\": \"q\", \"url\": "
	    "\"http://r/s\", \"concurrency\": 0, \"timeout_s\": 0.01},\n"
	    "      {\"id\": \"b\", \"type\": \"retrieve\", \"query\": \"q\", \"url\": "
	    "\"http://r/s\", \"concurrency\": 2.5, \"timeout_s\": \"9\"},\n"
	    "      {\"id\": \"c\", \"type\": \"retrieve\", \"query\": \"q\", \"passages\": "
	    "\"input.ctx\", \"timeout_s\": 5},\n"
	    "      {\"id\": \"d\", \"prompt\": \"{{input.question}}\", \"concurrency\": 2},\n"
	    "      {\"id\": \"e\", \"type\": \"retrieve\", \"query\": \"q\", \"url\": "
	    "\"http://r/t\", \"concurrency\": 4},\n"
	    "      {\"id\": \"f\", \"type\": \"retrieve\", \"query\": \"q\", \"url\": "
	    "\"http://r/t\", \"concurrency\": 5, \"timeout_s\": 3601}",
	    NULL,
	    "s.json:7:89: pipeline.steps[0].concurrency must be a whole number between 1 and 1024 "
	    "(got 0)",
	    "s.json:7:105: pipeline.steps[0].timeout_s must be between 0.1 and 3600 (got 0.01)",
	    "s.json:8:89: pipeline.steps[1].concurrency must be a whole number between 1 and 1024 "
	    "(got 2.5)",
	    "s.json:8:107: pipeline.steps[1].timeout_s must be a number",
	    "s.json:9:91: step \"c\": \"timeout_s\" is for a retrieval server (a retrieve step "
	    "with \"url\"); a retrieve step without \"url\" asks no server",
	    "s.json:10:66: step \"d\": \"concurrency\" is for a retrieval server (a retrieve step "
	    "with \"url\"); this is an llm step",
	    "s.json:12:105: pipeline.steps[5].timeout_s must be between 0.1 and 3600 (got 3601)",
	    "s.json:12:89: step \"f\": concurrency 5, but step \"e\" asks the same url with "
	    "concurrency 4: steps that ask one server share its slots, give them the same");
	char *text = doc(
	    "      {\"id\": \"a\", \"type\": \"retrieve\", \"query\": \"q\", \"url\": "
	    "\"http://r/s\", \"timeout_s\": 2.5},\n"
	    "      {\"id\": \"b\", \"type\": \"retrieve\", \"query\": \"{{steps.a}}\", \"url\": "
	    "\"http://r/s\", \"concurrency\": 3},\n"
	    "      {\"id\": \"c\", \"type\": \"retrieve\", \"query\": \"{{steps.b}}\", \"url\": "
	    "\"http://r/t\"},\n"
	    "      {\"id\": \"answer\", \"prompt\": \"{{steps.c}}\"}",
	    NULL);
	struct session *s = load_ok(text);
	free(text);
	assert_int_equal(s->steps[0].concurrency, 3); /* b's, for the same url */
	assert_true(s->steps[0].timeout_s == 2.5);
	assert_int_equal(s->steps[1].concurrency, 3);
	assert_true(s->steps[1].timeout_s == 0); /* the LLM layer's default */
	assert_int_equal(s->steps[2].concurrency, 0);
	session_free(s);
}

/* ---- bad files: models, dataset, metric, optimizer ---- */

static void test_bad_models(void **state)
{
	(void)state;
	EXPECT_TEXT(
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\n"
	    "  \"task\": {\"provider\": \"openai\", \"model\": \"m\", \"api_key\": "
	    "\"sk-SECRET\"},\n"
	    "  \"x\": {\"provider\": \"openaii\", \"model\": \"m\"},\n"
	    "  \"y\": {\"provider\": 3},\n"
	    "  \"z\": {\"provider\": \"scripted\", \"rules\": \"none.rules\"},\n"
	    "  \"w\": {\"provider\": \"openai\", \"temperature\": 3},\n"
	    "  \"v\": 5},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	    "\"template\": \"x\"}]},\n"
	    "\"dataset\": {\"val\": [{\"answer\": \"b\"}]}, \"metric\": {\"type\": \"f1\"}}",
	    "s.json:3:59: model \"task\": an API key must never be stored in the session; "
	    "name the environment variable that holds it with \"api_key_env\"",
	    "s.json:4:21: model \"x\": unknown provider \"openaii\" (one of openai, "
	    "anthropic, ollama, scripted)",
	    "s.json:5:21: models.y.provider must be a string",
	    "s.json:6:42: model \"z\": rules file none.rules: cannot open: No such file or "
	    "directory",
	    "s.json:7:46: models.w.temperature must be between 0 and 2 (got 3)",
	    "s.json:7:8: model \"w\": \"model\" is required (the model name the provider "
	    "knows, e.g. gpt-4o-mini)",
	    "s.json:8:8: models.v must be an object");
}

/* text with the first `from` replaced by `to` (which must be there). */
static char *swap(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

/* "base_url" as a list of replicas: kept in order (the first is base_url), a single string as
 * before; an empty list, a non-string, an empty or repeated URL, too many, or another type are
 * errors at their position. */
static void test_base_url_replicas(void **state)
{
	(void)state;
	const char *steps = "      {\"id\": \"answer\", \"prompt\": \"{{input.question}}\"}";
	char *text = doc(steps, NULL);
	char *t2 = swap(text, "\"model\": \"m\"}",
	                "\"model\": \"m\", \"base_url\": [\"http://a:8000/v1\", "
	                "\"http://b:8000/v1\", \"http://c:8000/v1\"]}");
	struct session *s = load_ok(t2);
	const struct model_config *m = session_model(s, "task");
	assert_int_equal(m->n_replicas, 3);
	assert_string_equal(m->base_url, "http://a:8000/v1");
	assert_string_equal(m->replicas[2], "http://c:8000/v1");
	struct model_config copy;
	model_config_copy(&copy, m);
	assert_int_equal(copy.n_replicas, 3);
	assert_true(copy.replicas != m->replicas);
	assert_string_equal(copy.replicas[1], "http://b:8000/v1");
	model_config_free(&copy);
	/* --base-url: one URL for the run, the list set aside */
	struct err e = {""};
	assert_int_equal(session_override_models(s, NULL, "http://127.0.0.1:1", NULL, 0, &e), 0);
	assert_int_equal(m->n_replicas, 0);
	assert_null(m->replicas);
	assert_string_equal(m->base_url, "http://127.0.0.1:1");
	session_free(s);
	free(t2);
	t2 = swap(text, "\"model\": \"m\"}", "\"model\": \"m\", \"base_url\": \"http://a/v1\"}");
	s = load_ok(t2);
	assert_int_equal(session_model(s, "task")->n_replicas, 0);
	assert_string_equal(session_model(s, "task")->base_url, "http://a/v1");
	session_free(s);
	free(t2);
	free(text);

	char many[2048] = "[";
	for (int i = 0; i <= MODEL_REPLICAS_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"http://h%d/v1\"",
		         i ? ", " : "", i);
	strcat(many, "]");
	char *bad = xasprintf(
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\n"
	    "  \"a\": {\"provider\": \"openai\", \"model\": \"m\", \"base_url\": []},\n"
	    "  \"b\": {\"provider\": \"openai\", \"model\": \"m\", \"base_url\": "
	    "[\"http://x/v1\", 7, \"\", \"http://x/v1\"]},\n"
	    "  \"c\": {\"provider\": \"openai\", \"model\": \"m\", \"base_url\": %s},\n"
	    "  \"d\": {\"provider\": \"openai\", \"model\": \"m\", \"base_url\": {}}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	    "\"template\": \"x\"}]},\n"
	    "\"dataset\": {\"val\": [{\"answer\": \"b\"}]}, \"metric\": {\"type\": \"f1\"}}",
	    many);
	EXPECT_TEXT(bad, "s.json:3:57: model \"a\": models.a.base_url lists 0 URLs (give 1 to 16)",
	            "s.json:4:73: model \"b\": models.b.base_url[1] must be a string",
	            "s.json:4:76: model \"b\": models.b.base_url[2] is empty",
	            "s.json:4:80: model \"b\": models.b.base_url[3] repeats an earlier URL",
	            "s.json:5:57: model \"c\": models.c.base_url lists 17 URLs (give 1 to 16)",
	            "s.json:6:57: models.d.base_url must be a string or a list of strings "
	            "(replicas)");
	free(bad);
}

/* Prices of cached prompt tokens and the reasoning flag: set, absent (the table decides), and
 * of the wrong type. */
static void test_model_money_keys(void **state)
{
	(void)state;
	const char *steps = "      {\"id\": \"answer\", \"prompt\": \"{{input.question}}\"}";
	char *text = doc(steps, NULL);
	char *t2 = swap(text, "\"model\": \"m\"}",
	                "\"model\": \"m\", \"price_cached_in\": 0.5, "
	                "\"price_cache_write\": 3.75, \"reasoning\": true}");
	struct session *s = load_ok(t2);
	assert_true(s->models[0].price_cached_in == 0.5 && s->models[0].price_cache_write == 3.75);
	assert_int_equal(s->models[0].reasoning, MODEL_REASONING_YES);
	session_free(s);
	free(t2);
	t2 = swap(text, "\"model\": \"m\"}", "\"model\": \"o3\", \"reasoning\": false}");
	s = load_ok(t2);
	assert_int_equal(s->models[0].reasoning, MODEL_REASONING_NO);
	session_free(s);
	free(t2);
	s = load_ok(text);
	assert_int_equal(s->models[0].reasoning, MODEL_REASONING_AUTO);
	assert_true(s->models[0].price_cached_in < 0 && s->models[0].price_cache_write < 0);
	session_free(s);
	t2 = swap(text, "\"model\": \"m\"}",
	          "\"model\": \"m\", \"reasoning\": \"yes\", \"price_cached_in\": -1}");
	EXPECT_TEXT(t2,
	            "s.json:4:98: models.task.price_cached_in must be between 0 and 1000000 "
	            "(got -1)",
	            "s.json:4:72: models.task.reasoning must be true or false");
	free(t2);
	free(text);
}

static void test_bad_dataset(void **state)
{
	(void)state;
	put("d1.jsonl", "{\"question\": \"x\", \"answer\": \"y\"}\n\n{\"question\": \"x\"}\n");
	put("d2.jsonl", "{\"question\": \"x\", \"answer\": \"y\"}\n{\"question\": \n");
	EXPECT_TEXT("{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
	            "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	            "\"template\": \"{{input.question}}\"}]},\n"
	            "\"dataset\": {\"train\": \"missing.jsonl\",\n"
	            "  \"val\": \"d1.jsonl\",\n"
	            "  \"test\": [{\"question\": \"q\", \"answer\": \"a\"}, {\"question\": \"no "
	            "answer\"}]},\n"
	            "\"metric\": {\"type\": \"f1\"}}",
	            "s.json:3:22: dataset.train: missing.jsonl: cannot open: No such file or "
	            "directory",
	            "s.json:4:10: dataset.val: d1.jsonl:3: example 2 has no \"answer\" field (the "
	            "gold answer; set dataset.answer_field to use another)",
	            "s.json:5:46: dataset.test: example 2 has no \"answer\" field (the gold "
	            "answer; set dataset.answer_field to use another)");
	EXPECT_TEXT(
	    "{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	    "\"template\": \"x\"}]},\n"
	    "\"dataset\": {\"train\": \"d2.jsonl\", \"val\": 5},\n"
	    "\"metric\": {\"type\": \"f1\"}}",
	    "s.json:3:22: dataset.train: d2.jsonl:2:14: unexpected end of file (expected a value) "
	    "(invalid JSON)",
	    "s.json:3:41: dataset.val: must be an array of examples, a path to a JSONL/JSON file, "
	    "or {\"path\": ..., \"key\": ..., \"offset\": N, \"limit\": N}");
	EXPECT_TEXT("{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
	            "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	            "\"template\": \"x\"}]},\n"
	            "\"dataset\": {\"val\": []},\n"
	            "\"metric\": {\"type\": \"f1\"}}",
	            "s.json:3:12: dataset: every split is empty");
}

/* Every gold is checked against the metric when the session loads: an example none of whose
 * golds the metric can use is an error with its file, line and number (inline examples: the
 * session's line); a gold that normalises to nothing is a warning. */
static void test_golds_checked_on_load(void **state)
{
	(void)state;
	static const char head[] =
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", \"template\": "
	    "\"x\"}]},\n";
	put("g.jsonl", "{\"answer\": \"18\"}\n\n{\"answer\": [\"eighteen\", \"18\"]}\n"
	               "{\"answer\": \"eighteen\"}\n");
	char *t = xasprintf("%s\"dataset\": {\"train\": \"g.jsonl\", \"val\": [\n"
	                    "  {\"answer\": \"1\"},\n  {\"answer\": \"none\"}]},\n"
	                    "\"metric\": {\"type\": \"numeric\"}}",
	                    head);
	EXPECT_TEXT(
	    t,
	    "g.jsonl:4: train example 3: metric numeric: the gold answer \"eighteen\" holds "
	    "no number",
	    "s.json:6: val example 2: metric numeric: the gold answer \"none\" holds no "
	    "number");
	free(t);
	t = xasprintf("%s\"dataset\": {\"val\": [{\"answer\": \"a(\"}]},\n"
	              "\"metric\": {\"type\": \"regex\"}}",
	              head);
	put("s.json", t);
	struct diag d = {0};
	struct session *s = session_load("s.json", NULL, &d);
	assert_null(s);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "s.json:4: val example 1: metric regex: gold answer "
	                                  "used as the pattern"));
	diag_free(&d);
	free(t);
	/* a warning only: the session loads */
	t = xasprintf("%s\"dataset\": {\"val\": [{\"answer\": \") ] }\"}, {\"answer\": \"x\"}]},\n"
	              "\"metric\": {\"type\": \"exact_match\"}}",
	              head);
	put("s.json", t);
	s = load_ok_file("s.json");
	assert_int_equal(s->warnings.n, 1);
	assert_string_equal(
	    s->warnings.msgs[0],
	    "s.json:4: val example 1: the gold \") ] }\" normalises to nothing "
	    "(punctuation, articles and spaces only), so an empty answer matches "
	    "it; give the metric \"normalize\": false to compare the text as it is");
	session_free(s);
	free(t);
	/* one file cut by fractions, or named splits: not both */
	put("all.jsonl", "{\"answer\": \"1\"}\n{\"answer\": \"2\"}\n{\"answer\": \"3\"}\n");
	t = xasprintf("%s\"dataset\": {\"path\": \"all.jsonl\", \"split\": {\"val\": 0.7}, "
	              "\"train\": []},\n\"metric\": {\"type\": \"numeric\"}}",
	              head);
	EXPECT_TEXT(t, "s.json:4:12: dataset: give either \"path\" with \"split\" fractions or "
	               "train/val/test, not both");
	free(t);
	t = xasprintf("%s\"dataset\": {\"path\": \"all.jsonl\", \"split\": {\"val\": 0.7}},\n"
	              "\"metric\": {\"type\": \"numeric\"}}",
	              head);
	put("s.json", t);
	s = load_ok_file("s.json");
	assert_int_equal(s->data.splits[SPLIT_VAL].n, 2);
	session_free(s);
	free(t);
}

static void test_bad_metric_optimizer(void **state)
{
	(void)state;
	static const char head[] =
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", \"template\": "
	    "\"x\"}]},\n"
	    "\"dataset\": {\"val\": [{\"answer\": \"b\"}]},\n";
	char *t = xasprintf("%s\"metric\": {\"type\": \"f1\", \"threshold\": 2}}", head);
	EXPECT_TEXT(t, "s.json:5:39: metric.threshold must be a number between 0 and 1");
	free(t);
	t = xasprintf("%s\"metric\": {\"type\": \"f1\", \"colour\": 2}}", head);
	EXPECT_TEXT(t, "s.json:5:36: metric: unknown key \"colour\" for type \"f1\" (accepted: "
	               "type, threshold, normalize)");
	free(t);
	t = xasprintf("%s\"metric\": {\"type\": \"llm_judge\", \"model\": \"judge\"}}", head);
	EXPECT_TEXT(t, "s.json:5:42: metric: judge model \"judge\" is not in \"models\"");
	free(t);
	t = xasprintf("%s\"metric\": {\"type\": \"nope\"},\n"
	              "\"optimizer\": {\"seed\": \"x\", \"budget_total\": -1, \"role_model\": "
	              "\"zz\",\n"
	              "  \"roles\": {\"local\": \"{{x\", \"dependency\": 4}}}",
	              head);
	EXPECT_TEXT(t,
	            "s.json:5:20: metric.type: unknown metric \"nope\" (known: exact_match, f1, "
	            "contains, hotpot_em, hotpot_f1, regex, numeric, choice, one_minus_mae, "
	            "llm_judge)",
	            "s.json:6:23: optimizer.seed must be a whole number",
	            "s.json:6:44: optimizer.budget_total must be a whole number between 0 and 1000 "
	            "(got -1)",
	            "s.json:6:62: optimizer.role_model: no model named \"zz\"",
	            "s.json:7:22: optimizer.roles.local: unclosed {{ at line 1, column 1",
	            "s.json:7:43: optimizer.roles.dependency must be a template string");
	free(t);
}

/* Numbers out of range: options, the engine's history and state, dataset values.  Each is
 * reported at its position instead of being converted (1e300 to an int is undefined
 * behaviour). */
static void test_out_of_range(void **state)
{
	(void)state;
	static const char head[] =
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", \"template\": "
	    "\"x\"}]},\n"
	    "\"metric\": {\"type\": \"f1\"},\n";
	char *t = xasprintf(
	    "%s\"dataset\": {\"val\": [{\"answer\": \"b\"}]},\n"
	    "\"optimizer\": {\"batch_size\": 2.5, \"token_cap\": 1e300, \"cost_cap_usd\": -1},\n"
	    "\"history\": {\"iterations\": [{\"number\": 1e300, \"cost\": {\"forward\": "
	    "{\"calls\": -3, \"tokens_in\": 1e400}}}],\n"
	    "  \"spent\": {\"cost_usd\": -0.5, \"tokens_in\": 12}},\n"
	    "\"state\": {\"iteration\": 0}}",
	    head);
	EXPECT_TEXT(
	    t,
	    "s.json:6:29: optimizer.batch_size must be a whole number between 1 and 100000 "
	    "(got 2.5)",
	    "s.json:6:70: optimizer.cost_cap_usd must be between 0 and 1000000000 (got -1)",
	    "s.json:6:47: optimizer.token_cap must be a whole number between 0 and 1e+15 "
	    "(got 1e+300)",
	    "s.json:7:39: history.iterations[0].number must be a whole number between 1 and "
	    "1000000 (got 1e+300)",
	    "s.json:7:76: history.iterations[0].cost.forward.calls must be a whole number "
	    "between 0 and 1e+15 (got -3)",
	    "s.json:7:93: history.iterations[0].cost.forward.tokens_in must be a whole number "
	    "between 0 and 1e+15 (got a number beyond a double's range)",
	    "s.json:8:25: history.spent.cost_usd must be between 0 and 1000000000000 (got "
	    "-0.5)",
	    "s.json:9:24: state.iteration must be a whole number between 1 and 1000000 (got "
	    "0)");
	free(t);
	/* a dataset value is text: 1e300 is kept as written in the shortest form, 1e400 (infinity
	 * for a double) cannot be */
	t = xasprintf("%s\"dataset\": {\"val\": [{\"answer\": 1e300, \"n\": -12}],\n"
	              "  \"test\": [{\"answer\": \"x\"}, {\"answer\": [1, 1e400]}]}}",
	              head);
	EXPECT_TEXT(t, "s.json:6:29: dataset.test: example 2: \"answer\" holds a number beyond a "
	               "double's range (quote it as a string)");
	free(t);
	t = xasprintf("%s\"dataset\": {\"val\": [{\"answer\": 1e300, \"n\": -12}]}}", head);
	put("s.json", t);
	free(t);
	struct session *s = load_ok_file("s.json");
	const struct example *ex = &s->data.splits[SPLIT_VAL].ex[0];
	assert_string_equal(ex->golds[0], "1e+300"); /* the shortest form */
	assert_string_equal(example_get(ex, "n", &(struct value_buf){0})->text, "-12");
	session_free(s);
}

/* Bytes that are not UTF-8 in a session or a dataset file are refused with their position: a
 * save would carry them into a file other JSON readers refuse. */
static void test_not_utf8(void **state)
{
	(void)state;
	static const char head[] =
	    "{\"format\": \"adopt-session\", \"version\": 1,\n"
	    "\"models\": {\"task\": {\"provider\": \"openai\", \"model\": \"m\"}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", \"template\": "
	    "\"caf\xc3\xa9 \xe9t\xe9\"}]},\n"
	    "\"metric\": {\"type\": \"f1\"},\n";
	char *t = xasprintf("%s\"dataset\": {\"val\": [{\"answer\": \"b\"}]}}", head);
	EXPECT_TEXT(t, "s.json:3:74: byte 0xE9 is not UTF-8 (a session file is UTF-8 text: convert "
	               "it, e.g. with iconv)");
	free(t);
	put("d.jsonl", "{\"answer\": \"caf\xc3\xa9\"}\n{\"answer\": \"ok\", \"q\": \"\xff\"}\n");
	put("a.json", "[{\"answer\": \"x\"},\n {\"answer\": \"\xc0\xaf\"}]");
	EXPECT_TEXT("{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
	            "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	            "\"template\": \"x\"}]},\n"
	            "\"dataset\": {\"val\": \"d.jsonl\", \"test\": \"a.json\"},\n"
	            "\"metric\": {\"type\": \"f1\"}}",
	            "s.json:3:20: dataset.val: d.jsonl:2:24: byte 0xFF is not UTF-8 (a dataset is "
	            "UTF-8 text: convert it, e.g. with iconv)",
	            "s.json:3:39: dataset.test: a.json:2:14: byte 0xC0 is not UTF-8 (a dataset is "
	            "UTF-8 text: convert it, e.g. with iconv)");
}

/* ---- the saver ---- */

static void test_round_trip(void **state)
{
	(void)state;
	put_full();
	struct session *a = load_ok_file("s.json");
	struct err e = {""};
	assert_int_equal(session_save(a, "t.json", &e), 0);
	struct session *b = load_ok_file("t.json");
	/* the same model */
	assert_true(cJSON_Compare(a->root, b->root, true));
	assert_int_equal(a->n_steps, b->n_steps);
	for (size_t i = 0; i < a->n_steps; i++) {
		assert_string_equal(a->steps[i].id, b->steps[i].id);
		assert_int_equal(a->steps[i].kind, b->steps[i].kind);
		assert_int_equal(a->steps[i].loop, b->steps[i].loop);
		assert_int_equal(a->steps[i].n_deps, b->steps[i].n_deps);
		if (a->steps[i].prompt)
			assert_string_equal(a->steps[i].prompt, b->steps[i].prompt);
		assert_int_equal(a->steps[i].n_demos, b->steps[i].n_demos);
	}
	assert_int_equal(a->n_order, b->n_order);
	for (size_t i = 0; i < a->n_order; i++) {
		assert_int_equal(a->order[i].step, b->order[i].step);
		assert_int_equal(a->order[i].loop, b->order[i].loop);
	}
	assert_int_equal(a->output_step, b->output_step);
	assert_int_equal(a->opt.seed, b->opt.seed);
	assert_int_equal(a->n_models, b->n_models);
	assert_int_equal(a->data.splits[SPLIT_VAL].n, b->data.splits[SPLIT_VAL].n);
	/* saving the reloaded session gives the same bytes */
	assert_int_equal(session_save(b, "u.json", &e), 0);
	size_t la, lb;
	char *ta = slurp("t.json", &la), *tb = slurp("u.json", &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ta, tb, la);
	assert_int_equal(ta[la - 1], '\n');
	free(ta);
	free(tb);
	session_free(a);
	session_free(b);
}

static const cJSON *at(const cJSON *root, const char *const *path)
{
	const cJSON *j = root;
	for (; *path && j; path++) {
		char *end;
		long idx = strtol(*path, &end, 10);
		j = *end == '\0' ? cJSON_GetArrayItem(j, (int)idx)
		                 : cJSON_GetObjectItemCaseSensitive(j, *path);
	}
	return j;
}
#define AT(root, ...) at((root), (const char *const[]){__VA_ARGS__, NULL})

static void test_unknown_keys_kept(void **state)
{
	(void)state;
	put_full();
	struct session *a = load_ok_file("s.json");
	struct err e = {""};
	/* change what the saver rewrites, so the rewriting itself is tested */
	struct step *ans = session_step(a, "answer");
	free(ans->demos[0].output);
	ans->demos[0].output = xstrdup("o1 changed");
	assert_int_equal(session_save(a, "s.json", &e), 0);
	session_free(a);
	struct session *b = load_ok_file("s.json");
	const cJSON *r = b->root;
	assert_int_equal(AT(r, "x_top", "keep", "1")->valueint, 2);
	assert_string_equal(AT(r, "models", "task", "x_model")->valuestring, "keep");
	assert_true(cJSON_IsTrue(AT(r, "pipeline", "x_pipeline")));
	assert_int_equal(AT(r, "pipeline", "steps", "0", "x_step")->valueint, 1);
	assert_string_equal(AT(r, "pipeline", "steps", "1", "inputs", "x_unused")->valuestring,
	                    "input.question");
	assert_int_equal(AT(r, "pipeline", "steps", "3", "parse", "x_parse")->valueint, 0);
	assert_string_equal(AT(r, "pipeline", "steps", "3", "demos", "0", "x_demo")->valuestring,
	                    "keep");
	assert_string_equal(AT(r, "pipeline", "steps", "3", "demos", "0", "output")->valuestring,
	                    "o1 changed");
	assert_string_equal(AT(r, "pipeline", "steps", "3", "description")->valuestring,
	                    "the final answer");
	assert_string_equal(AT(r, "pipeline", "loops", "0", "x_loop")->valuestring, "keep");
	assert_int_equal(AT(r, "pipeline", "loops", "0", "until", "x_until")->valueint, 2);
	assert_true(cJSON_IsNull(AT(r, "dataset", "x_dataset")));
	/* the inline examples are kept as their text, not as a tree: look at the file */
	size_t len;
	char *text = slurp("s.json", &len);
	cJSON *saved = cJSON_ParseWithLength(text, len);
	free(text);
	assert_int_equal(AT(saved, "dataset", "val", "0", "x_ex")->valueint, 1);
	cJSON_Delete(saved);
	assert_string_equal(AT(r, "optimizer", "x_optimizer", "0")->valuestring, "keep");
	assert_non_null(AT(r, "history", "iterations"));
	assert_string_equal(session_step(b, "answer")->demos[0].output, "o1 changed");
	session_free(b);
}

static void test_prompts_written_back(void **state)
{
	(void)state;
	put_full();
	struct session *a = load_ok_file("s.json");
	struct step *hop = session_step(a, "hop");
	free(hop->prompt);
	hop->prompt = xstrdup("New prompt: {{q}} at {{round}}");
	struct step *ans = session_step(a, "answer");
	ans->demos = xrealloc(ans->demos, 2 * sizeof *ans->demos);
	ans->demos[1] = (struct demo){xstrdup("i2"), xstrdup("o2")};
	ans->n_demos = 2;
	session_set_section(a, "state", cJSON_CreateString("phase 3"));
	struct err e = {""};
	assert_int_equal(session_save(a, "s.json", &e), 0);
	session_free(a);
	struct session *b = load_ok_file("s.json");
	assert_string_equal(session_step(b, "hop")->prompt, "New prompt: {{q}} at {{round}}");
	assert_int_equal(session_step(b, "answer")->n_demos, 2);
	assert_string_equal(session_step(b, "answer")->demos[1].input, "i2");
	assert_string_equal(session_section(b, "state")->valuestring, "phase 3");
	/* replacing a section keeps one copy */
	session_set_section(b, "state", cJSON_CreateString("phase 4"));
	assert_string_equal(session_section(b, "state")->valuestring, "phase 4");
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, b->root) n += strcmp(it->string, "state") == 0;
	assert_int_equal(n, 1);
	/* dropping demos removes them from the file too */
	struct step *bans = session_step(b, "answer");
	for (size_t k = 0; k < bans->n_demos; k++) {
		free(bans->demos[k].input);
		free(bans->demos[k].output);
	}
	bans->n_demos = 0;
	assert_int_equal(session_save(b, "s.json", &e), 0);
	session_free(b);
	struct session *c = load_ok_file("s.json");
	assert_int_equal(session_step(c, "answer")->n_demos, 0);
	session_free(c);
}

/* A save that would write the bytes already on disk writes nothing (the file keeps its inode:
 * no temp file, no rename, no fsync); any change, a file removed or replaced, is written. */
static void test_unchanged_save_skipped(void **state)
{
	(void)state;
	put_full();
	struct session *a = load_ok_file("s.json");
	struct err e = {""};
	struct stat st1, st2;
	assert_int_equal(session_save(a, "s.json", &e), 0); /* the stable style */
	assert_int_equal(stat("s.json", &st1), 0);
	assert_int_equal(session_save(a, "s.json", &e), 0);
	assert_int_equal(stat("s.json", &st2), 0);
	assert_true(st1.st_ino == st2.st_ino && st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	session_set_section(a, "state", cJSON_CreateString("phase 3"));
	assert_int_equal(session_save(a, "s.json", &e), 0);
	assert_int_equal(stat("s.json", &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(unlink("s.json"), 0); /* gone: put back */
	assert_int_equal(session_save(a, "s.json", &e), 0);
	assert_int_equal(stat("s.json", &st1), 0);
	/* the same length and stamp, other bytes (as another program could leave it): written */
	size_t len;
	char *text = slurp("s.json", &len), *p = strstr(text, "phase 3");
	assert_non_null(p);
	p[6] = '4';
	FILE *f = fopen("s.json", "r+");
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	struct timespec ts[2] = {st1.st_atim, st1.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, "s.json", ts, 0), 0);
	assert_int_equal(session_save(a, "s.json", &e), 0);
	free(text);
	text = slurp("s.json", &len);
	assert_non_null(strstr(text, "phase 3"));
	free(text);
	session_free(a);
}

static int count_temp_files(void)
{
	int n = 0;
	DIR *d = opendir(".");
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".tmp-") != NULL;
	closedir(d);
	return n;
}

static void test_atomic_save(void **state)
{
	(void)state;
	put_full();
	struct session *a = load_ok_file("s.json");
	struct err e = {""};
	assert_int_equal(session_save(a, "s.json", &e), 0);
	size_t before_len;
	char *before = slurp("s.json", &before_len);
	struct step *hop = session_step(a, "hop");
	free(hop->prompt);
	hop->prompt = xstrdup("{{q}} {{round}} a much longer prompt that must not reach the disk");
	/* fail at several points: before the first byte, mid-file, one byte short */
	const long points[] = {0, 1, 100, (long)before_len / 2, (long)before_len};
	for (size_t i = 0; i < ARRAY_SIZE(points); i++) {
		file_write_fail_after(points[i]);
		e.msg[0] = '\0';
		assert_int_equal(session_save(a, "s.json", &e), -1);
		assert_non_null(strstr(e.msg, "s.json: write failed, previous file left intact"));
		size_t after_len;
		char *after = slurp("s.json", &after_len);
		assert_int_equal(after_len, before_len);
		assert_memory_equal(after, before, before_len);
		free(after);
		assert_int_equal(count_temp_files(), 0);
	}
	file_write_fail_after(-1);
	/* the session is still usable and the next save works */
	assert_int_equal(session_save(a, "s.json", &e), 0);
	assert_int_equal(count_temp_files(), 0);
	struct session *b = load_ok_file("s.json");
	assert_string_equal(session_step(b, "hop")->prompt, hop->prompt);
	session_free(b);
	/* permissions of the old file are kept */
	chmod("s.json", 0600);
	assert_int_equal(session_save(a, "s.json", &e), 0);
	struct stat st;
	assert_int_equal(stat("s.json", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a directory that does not exist: a clear error, nothing written */
	assert_int_equal(session_save(a, "nodir/s.json", &e), -1);
	assert_non_null(strstr(e.msg, "nodir/s.json: cannot create a temporary file in nodir"));
	free(before);
	session_free(a);
}

static void test_override_models(void **state)
{
	(void)state;
	put_full();
	struct session *s = load_ok_file("s.json");
	struct err e = {""};
	const char *const m1[] = {"task=big"};
	assert_int_equal(session_override_models(s, NULL, "http://127.0.0.1:1", m1, 1, &e), 0);
	assert_string_equal(session_model(s, "task")->model, "big");
	assert_string_equal(session_model(s, "optimizer")->model, "scripted");
	assert_string_equal(session_model(s, "optimizer")->base_url, "http://127.0.0.1:1");
	const char *const m2[] = {"nope=x"};
	assert_int_equal(session_override_models(s, NULL, NULL, m2, 1, &e), -1);
	assert_string_equal(e.msg, "--model nope=x: the session has no model configuration "
	                           "\"nope\"");
	/* overrides are for this run only: a save does not write them */
	assert_int_equal(session_save(s, "s.json", &e), 0);
	session_free(s);
	s = load_ok_file("s.json");
	assert_string_equal(session_model(s, "task")->model, "gpt-4o-mini");
	session_free(s);
}

/* ---- inline datasets: parsed one example at a time, written back as they were ---- */

/* Splits out of order, brackets and braces inside strings, every JSON type, escapes (\u with a
 * surrogate pair), nesting, unknown keys in examples and beside them. */
static const char inline_session[] =
    "{\"format\": \"adopt-session\", \"version\": 1, \"models\": {},\n"
    " \"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
    "\"template\": \"{{input.q}}\"}]},\n"
    " \"dataset\": {\"x_before\": [1, {\"train\": []}],\n"
    "  \"val\" : [ {\"q\": \"caf\\u00e9 \\ud83d\\ude00 ]}[{\", \"answer\": 42, \"n\": -1.5e3,\n"
    "             \"ok\": true, \"no\": false, \"none\": null, \"x_ex\": {\"deep\": [[1], "
    "{\"k\": \"v\"}]}},\n"
    "           {\"id\": 7, \"q\": \"tab\\there \\\"quoted\\\" back\\\\slash\", "
    "\"answer\": [\"A\", \"b\"]} ] ,\n"
    "  \"answer_field\": \"answer\",\n"
    "  \"train\":[{\"q\":\"t1\",\"answer\":\"u1\"},{\"q\":\"t2\",\"answer\":\"\",\"list\":[]}],\n"
    "  \"test\": \"test.jsonl\", \"x_after\": \"keep\"},\n"
    " \"metric\": {\"type\": \"exact_match\"}, \"x_top\": [true]}\n";

static cJSON *parse_file(const char *name)
{
	size_t len;
	char *text = slurp(name, &len);
	cJSON *j = cJSON_ParseWithLength(text, len);
	free(text);
	assert_non_null(j);
	return j;
}

static void assert_same_examples(const struct dataset *a, const struct dataset *b)
{
	for (int sp = 0; sp < SPLIT_COUNT; sp++) {
		assert_int_equal(a->splits[sp].n, b->splits[sp].n);
		for (size_t i = 0; i < a->splits[sp].n; i++) {
			const struct example *x = &a->splits[sp].ex[i], *y = &b->splits[sp].ex[i];
			assert_string_equal(x->id, y->id);
			assert_int_equal(x->n, y->n);
			for (size_t k = 0; k < x->n; k++) {
				assert_string_equal(x->keys[k], y->keys[k]);
				char *jx, *jy;
				assert_string_equal(value_text(&x->vals[k], &jx),
				                    value_text(&y->vals[k], &jy));
				free(jx);
				free(jy);
				assert_int_equal(x->vals[k].n_items, y->vals[k].n_items);
			}
			assert_int_equal(x->n_golds, y->n_golds);
			for (size_t k = 0; k < x->n_golds; k++)
				assert_string_equal(x->golds[k], y->golds[k]);
		}
	}
}

static void test_inline_round_trip(void **state)
{
	(void)state;
	put("s.json", inline_session);
	put("test.jsonl", "{\"q\": \"j\", \"answer\": \"k\"}\n");
	struct session *a = load_ok_file("s.json");
	const struct split *val = &a->data.splits[SPLIT_VAL];
	assert_int_equal(val->n, 2);
	assert_string_equal(val->source, "inline");
	assert_string_equal(example_get(&val->ex[0], "q", &(struct value_buf){0})->text,
	                    "caf\xc3\xa9 \xf0\x9f\x98\x80 ]}[{");
	assert_string_equal(val->ex[0].golds[0], "42");
	assert_string_equal(example_get(&val->ex[0], "n", &(struct value_buf){0})->text, "-1500");
	struct value_buf buf = {0}; /* x_ex holds objects: kept as JSON, computed into buf */
	assert_string_equal(example_get(&val->ex[0], "x_ex", &buf)->text,
	                    "{\"deep\":[[1],{\"k\":\"v\"}]}");
	value_buf_free(&buf);
	assert_string_equal(val->ex[1].id, "7");
	assert_string_equal(example_get(&val->ex[1], "q", &(struct value_buf){0})->text,
	                    "tab\there \"quoted\" back\\slash");
	assert_int_equal(val->ex[1].n_golds, 2);
	assert_int_equal(a->data.splits[SPLIT_TRAIN].n, 2);
	assert_string_equal(a->data.splits[SPLIT_TRAIN].ex[1].golds[0], "");
	assert_int_equal(a->data.splits[SPLIT_TEST].n, 1);

	struct err e = {""};
	assert_int_equal(session_save(a, "t.json", &e), 0);
	/* the same document, read by cJSON alone: every key, value and JSON type */
	cJSON *orig = parse_file("s.json"), *saved = parse_file("t.json");
	assert_true(cJSON_Compare(orig, saved, true));
	assert_true(cJSON_IsNumber(AT(saved, "dataset", "val", "0", "answer")));
	assert_true(cJSON_IsObject(AT(saved, "dataset", "val", "0", "x_ex")));
	assert_string_equal(AT(saved, "dataset", "x_after")->valuestring, "keep");
	cJSON_Delete(orig);
	cJSON_Delete(saved);

	/* load -> save -> load: the same examples; a second save gives the same bytes */
	struct session *b = load_ok_file("t.json");
	assert_same_examples(&a->data, &b->data);
	assert_int_equal(session_save(b, "u.json", &e), 0);
	size_t lt, lu;
	char *tt = slurp("t.json", &lt), *tu = slurp("u.json", &lu);
	assert_int_equal(lt, lu);
	assert_memory_equal(tt, tu, lt);
	free(tt);
	free(tu);
	session_free(a);
	session_free(b);
}

static void test_bad_inline(void **state)
{
	(void)state;
	static const char head[] =
	    "{\"format\": \"adopt-session\", \"version\": 1, \"models\": {\"m\": {}},\n"
	    "\"pipeline\": {\"steps\": [{\"id\": \"a\", \"type\": \"template\", "
	    "\"template\": \"x\"}]},\n"
	    "\"metric\": {\"type\": \"f1\"},\n";
	/* the example's position, whichever split comes first in the file */
	char *t = xasprintf("%s\"dataset\": {\"test\": [{\"answer\": \"a\"}],\n"
	                    "  \"train\": [{\"answer\": \"a\"},\n"
	                    "             {\"answer\": \"b\"}, 5]}}",
	                    head);
	EXPECT_TEXT(t,
	            "s.json:1:59: model \"m\": \"provider\" is required (one of openai, "
	            "anthropic, ollama, scripted)",
	            "s.json:6:31: dataset.train: example 3 is not a JSON object");
	free(t);
	/* invalid JSON inside an example is the file's parse error, reported alone */
	t = xasprintf("%s\"dataset\": {\"train\": [{\"answer\": \"a\"},\n"
	              "  {\"answer\": 1.2.3}]}}",
	              head);
	EXPECT_TEXT(t, "s.json:5:17: unexpected character '.' (invalid JSON)");
	free(t);
	/* ... even after an example with a problem of its own, and between examples */
	t = xasprintf("%s\"dataset\": {\"train\": [{\"q\": \"no answer\"}, {\"answer\": 1},\n"
	              "  {\"answer\": \"a\"}, 1.2.3]}}",
	              head);
	EXPECT_TEXT(t, "s.json:5:23: unexpected character '.' (invalid JSON)");
	free(t);
	t = xasprintf("%s\"dataset\": {\"train\": [{\"answer\": \"\\udc00\"}]}}", head);
	EXPECT_TEXT(t, "s.json:4:35: unexpected character '\\' (invalid JSON)");
	free(t);
	t = xasprintf("%s\"dataset\": {\"train\": [{\"answer\": \"a\"} {\"answer\": \"b\"}]}}",
	              head);
	EXPECT_TEXT(t, "s.json:4:39: unexpected character '{' (expected ',' or ']') (invalid "
	               "JSON)");
	free(t);
	t = xasprintf("%s\"dataset\": {\"train\": [{\"answer\": \"a\"}], \"val\": [}}", head);
	EXPECT_TEXT(t, "s.json:4:49: unexpected character '}' (expected a value) (invalid JSON)");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, testdir_setup, session_teardown)
	    T(test_minimal),
	    T(test_full),
	    T(test_bad_json),
	    T(test_bad_header),
	    T(test_file_problems),
	    T(test_bad_steps),
	    T(test_bad_templates),
	    T(test_bad_regexes),
	    T(test_loops),
	    T(test_bad_code_steps),
	    T(test_retrieve_server_options),
	    T(test_bad_models),
	    T(test_base_url_replicas),
	    T(test_model_money_keys),
	    T(test_bad_dataset),
	    T(test_bad_metric_optimizer),
	    T(test_golds_checked_on_load),
	    T(test_out_of_range),
	    T(test_not_utf8),
	    T(test_round_trip),
	    T(test_unknown_keys_kept),
	    T(test_prompts_written_back),
	    T(test_unchanged_save_skipped),
	    T(test_atomic_save),
	    T(test_override_models),
	    T(test_inline_round_trip),
	    T(test_bad_inline),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_run.c: the pipeline runner (engine/run.h) on the scripted sessions of tests/data/engine:
 * a batch on a two-step pipeline, the memo (a repeated batch and a batch changing only the last
 * step; a retrieve step asking the test server, whose requests are counted), loops (rounds, the
 * until pattern, {{round}}, {{steps.X.rounds}}), a step error that ends one example while the
 * others go on, cancelling, and the llm_judge metric; exec steps running in the loop beside LLM
 * steps (runner_start does not wait for them, a slow command holds back only its own example),
 * their errors, and cancelling them (batch cancel, llm_cancel_all, runner_free) with nothing left
 * running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/run.h"
#include "engine_fixture.h"
#include "llm_server.h"
#include "proc_fixture.h"

struct counts {
	int step_done, chunks, batch_done;
	struct run_batch *last;
};

static void on_step(void *arg, struct run_batch *b, const struct trace *t,
                    const struct trace_step *ts)
{
	(void)b, (void)t, (void)ts;
	((struct counts *)arg)->step_done++;
}

static void on_chunk(void *arg, struct run_batch *b, const struct trace *t, int step,
                     const char *text, size_t len)
{
	(void)b, (void)t, (void)step, (void)text, (void)len;
	((struct counts *)arg)->chunks++;
}

static void on_done(void *arg, struct run_batch *b)
{
	struct counts *c = arg;
	c->batch_done++;
	c->last = b;
}

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct runner *r;
	struct counts c;
	struct run_callbacks cb;
};

static void rig_load(struct rig *g, const char *file, bool trust)
{
	g->s = fx_load(&g->f, file);
	g->l = fx_llm(&g->f, NULL);
	g->r = runner_new(g->s, g->l, trust);
	g->cb = (struct run_callbacks){on_step, on_chunk, on_done, &g->c, NULL};
}

static void rig_open(struct rig *g, const char *file, bool trust)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, FX_DATA);
	rig_load(g, file, trust);
}

/* two.json, trusted, its first step ("find") replaced by the exec step step_fmt, in which %s
 * stands for the fixture directory. */
static void rig_open_exec(struct rig *g, const char *step_fmt)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, FX_DATA);
	char *json = xasprintf(step_fmt, g->f.dir);
	cJSON *step = cJSON_Parse(json);
	assert_non_null(step);
	fx_patch(&g->f, "two.json", "pipeline.steps.0", step);
	free(json);
	rig_load(g, "two.json", true);
}

static void rig_close(struct rig *g)
{
	runner_free(g->r);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

static void wait_done(struct rig *g, struct run_batch *b)
{
	for (int i = 0; i < 1000 && !run_batch_done(b); i++)
		assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
	assert_true(run_batch_done(b));
}

static struct run_batch *run_split(struct rig *g, const struct variant *const *config,
                                   enum split_id split, size_t n)
{
	size_t idx[16];
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	struct run_batch *b = runner_start(g->r, config, split, idx, n, "test", &g->cb);
	wait_done(g, b);
	return b;
}

static void test_two_step_batch(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "two.json", false);
	struct run_batch *b = run_split(&g, NULL, SPLIT_TRAIN, 8);
	assert_int_equal(g.c.batch_done, 1);
	assert_ptr_equal(g.c.last, b);
	assert_int_equal(g.c.step_done, 16);
	assert_int_equal(run_batch_count(b), 8);
	assert_int_equal(run_batch_finished(b), 8);
	size_t good = 0;
	double sum = 0;
	for (size_t i = 0; i < 8; i++) {
		const struct trace *t = run_batch_trace(b, i);
		assert_int_equal(t->example, i);
		assert_true(t->done);
		assert_null(t->error);
		assert_int_equal(t->n, 2);
		assert_int_equal(t->steps[0].step, 0);
		assert_int_equal(t->steps[1].step, 1);
		/* the answer step saw the find step's output as its input */
		char *want = xasprintf("w: %s", t->steps[0].out.text);
		assert_string_equal(t->steps[1].input, want);
		free(want);
		assert_non_null(strstr(t->steps[0].prompt, "Find the key word in: The thing is "));
		assert_true(t->steps[0].scripted && !t->steps[0].memo);
		assert_int_equal(strlen(t->steps[1].key), 64);
		assert_string_equal(t->prediction, t->steps[1].out.text);
		const struct example *ex = &g.s->data.splits[SPLIT_TRAIN].ex[i];
		bool right = strcmp(t->prediction, ex->golds[0]) == 0;
		assert_true(t->score == (right ? 1.0 : 0.0));
		assert_true(t->good == right);
		assert_true(run_batch_scores(b)[i] == t->score);
		good += t->good;
		sum += t->score;
	}
	assert_true(good > 0 && good < 8); /* the fixture mixes good and bad answers */
	assert_true(run_batch_score(b) == sum / 8);
	struct runner_stats st;
	runner_get_stats(g.r, &st);
	assert_int_equal(st.executions, 16);
	assert_int_equal(st.llm_calls, 16);
	assert_int_equal(st.memo_hits, 0);
	assert_int_equal(st.judge_calls, 0);
	/* traces can be taken over; the batch keeps empty ones */
	size_t n;
	struct trace *t = run_batch_take_traces(b, &n);
	assert_int_equal(n, 8);
	assert_int_equal(t[3].n, 2);
	assert_int_equal(run_batch_trace(b, 3)->n, 0);
	for (size_t i = 0; i < n; i++)
		trace_free(&t[i]);
	free(t);
	run_batch_free(b);
	rig_close(&g);
}

static void test_memo_same_config(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "two.json", false);
	struct run_batch *a = run_split(&g, NULL, SPLIT_VAL, 6);
	struct runner_stats s1, s2;
	runner_get_stats(g.r, &s1);
	struct llm_stats l1, l2;
	llm_get_stats(g.l, &l1);
	assert_int_equal(s1.llm_calls, 12);
	/* everything is in the memo: batch_done comes from inside runner_start */
	size_t idx[6] = {0, 1, 2, 3, 4, 5};
	int before = g.c.batch_done;
	struct run_batch *b = runner_start(g.r, NULL, SPLIT_VAL, idx, 6, "again", &g.cb);
	assert_int_equal(g.c.batch_done, before + 1);
	assert_true(run_batch_done(b));
	runner_get_stats(g.r, &s2);
	llm_get_stats(g.l, &l2);
	assert_int_equal(s2.llm_calls, s1.llm_calls);
	assert_int_equal(s2.memo_hits, s1.memo_hits + 12);
	assert_int_equal(s2.executions, s1.executions + 12);
	assert_int_equal(l2.submitted, l1.submitted);
	for (size_t i = 0; i < 6; i++) {
		const struct trace *x = run_batch_trace(a, i), *y = run_batch_trace(b, i);
		assert_string_equal(x->prediction, y->prediction);
		assert_true(x->score == y->score);
		assert_true(y->steps[0].memo && y->steps[1].memo);
		assert_string_equal(x->steps[1].key, y->steps[1].key);
	}
	assert_true(run_batch_score(a) == run_batch_score(b));
	run_batch_free(a);
	run_batch_free(b);
	rig_close(&g);
}

static void test_memo_last_step_changed(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "two.json", false);
	struct run_batch *a = run_split(&g, NULL, SPLIT_VAL, 6);
	struct runner_stats s1, s2;
	runner_get_stats(g.r, &s1);
	struct variant v = {"Copy the last word of the key word.\n"
	                    "Turn the key word into the answer.\nKey word: {{w}}\nAnswer:",
	                    NULL, 0};
	const struct variant *config[2] = {NULL, &v};
	struct run_batch *b = run_split(&g, config, SPLIT_VAL, 6);
	runner_get_stats(g.r, &s2);
	/* only the last step's six executions reached the LLM layer */
	assert_int_equal(s2.llm_calls - s1.llm_calls, 6);
	assert_true(s2.memo_hits - s1.memo_hits >= 6); /* (and any answer two examples share) */
	for (size_t i = 0; i < 6; i++) {
		const struct trace *x = run_batch_trace(a, i), *y = run_batch_trace(b, i);
		assert_true(y->steps[0].memo);
		assert_false(y->steps[1].memo);
		assert_string_equal(x->steps[0].out.text, y->steps[0].out.text);
		assert_non_null(strstr(y->steps[1].prompt, "Copy the last word"));
		/* the rewritten answer step takes the last word: always right here */
		assert_true(y->good);
	}
	assert_true(run_batch_score(b) == 1.0);
	assert_true(run_batch_score(a) < 1.0);
	/* the session's own prompt is untouched */
	assert_null(strstr(g.s->steps[1].prompt, "Copy"));
	run_batch_free(a);
	run_batch_free(b);
	rig_close(&g);
}

/* The memo is bounded: answers of 400 kB fill its 16 MiB in a few batches; an answer not used
 * since two turns of its generations is dropped (the runner asks the LLM layer again, with the
 * same result), while one in use all along (the answer step's, whose input is the same big text
 * for every example) stays. */
static void test_memo_bounded(void **state)
{
	(void)state;
	struct rig g;
	memset(&g, 0, sizeof g);
	fx_init(&g.f, FX_DATA);
	size_t big = 400 * 1000;
	char *text = xmalloc(big + 1);
	memset(text, 'x', big);
	text[big] = 0;
	cJSON *rules = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(rules, "rules");
	cJSON *rule = cJSON_CreateObject();
	cJSON_AddStringToObject(rule, "match", "(?s).");
	cJSON_AddStringToObject(rule, "reply", text);
	cJSON_AddItemToArray(list, rule);
	char *json = cJSON_PrintUnformatted(rules), *path = fx_path(&g.f, "big.json");
	fx_write(path, json, strlen(json));
	free(path);
	cJSON_free(json);
	cJSON_Delete(rules);
	fx_patch(&g.f, "two.json", "models.task.rules", cJSON_CreateString("big.json"));
	rig_load(&g, "two.json", false);

	struct run_batch *a = run_split(&g, NULL, SPLIT_TRAIN, 8);
	struct runner_stats s1, s2, s3;
	runner_get_stats(g.r, &s1);
	/* 8 find, then the answer's (the same request each time: in flight together or memo) */
	assert_true(s1.llm_calls >= 9 && s1.llm_calls <= 16);
	char prompt[5][64];
	for (int k = 0; k < 5; k++) { /* 5 x 8 new answers of 400 kB: two turns at least */
		snprintf(prompt[k], sizeof prompt[k], "Variant %d. Find the key word in: {{q}}", k);
		struct variant v = {prompt[k], NULL, 0};
		const struct variant *config[2] = {&v, NULL};
		run_batch_free(run_split(&g, config, SPLIT_TRAIN, 8));
	}
	runner_get_stats(g.r, &s2);
	assert_int_equal(s2.llm_calls - s1.llm_calls, 40);
	struct run_batch *b = run_split(&g, NULL, SPLIT_TRAIN, 8);
	runner_get_stats(g.r, &s3);
	assert_int_equal(s3.llm_calls - s2.llm_calls, 8); /* the first batch's find answers */
	assert_int_equal(s3.memo_hits - s2.memo_hits, 8); /* the answer step's, kept */
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(run_batch_trace(a, i)->prediction,
		                    run_batch_trace(b, i)->prediction);
	run_batch_free(b);
	b = run_split(&g, NULL, SPLIT_TRAIN, 8); /* used just now: all from the memo */
	runner_get_stats(g.r, &s2);
	assert_int_equal(s2.llm_calls, s3.llm_calls);
	run_batch_free(a);
	run_batch_free(b);
	free(text);
	rig_close(&g);
}

/* The server's count of an endpoint ("search") or of a figure ("peak_concurrency"). */
static long server_figure(int port, const char *endpoint, const char *figure)
{
	cJSON *j = llm_server_call(port, "GET", "/_stats", NULL);
	assert_non_null(j);
	const cJSON *v = endpoint
	                     ? cJSON_GetObjectItem(cJSON_GetObjectItem(j, "endpoints"), endpoint)
	                     : cJSON_GetObjectItem(j, figure);
	long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
	cJSON_Delete(j);
	return n;
}

/* A retrieve step asking a server is memoized like an LLM step: with no response cache, a
 * batch that changes only the step after it (and one that changes nothing) asks the server
 * nothing again, counted by the server; the step's "concurrency" reaches the LLM layer (the
 * server never has two of its queries at once). */
static void test_memo_retrievals(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_run");
	if (!bin)
		skip();
	struct rig g;
	memset(&g, 0, sizeof g);
	fx_init(&g.f, FX_DATA);
	char *corpus = fx_path(&g.f, "corpus.jsonl");
	static const char docs[] = "{\"text\": \"tiger: a large striped cat\"}\n"
	                           "{\"text\": \"chair: a seat with a back\"}\n"
	                           "{\"text\": \"music: sounds in order\"}\n"
	                           "{\"text\": \"paper: a thin sheet\"}\n";
	fx_write(corpus, docs, strlen(docs));
	int port;
	char *argv[] = {(char *)bin, "--corpus", corpus, NULL};
	pid_t pid = llm_server_spawn_argv(argv, &port);
	assert_true(pid > 0);
	cJSON *c = llm_server_call(port, "POST", "/_control", "{\"latency_ms\":50}");
	assert_non_null(c);
	cJSON_Delete(c);
	char *step = xasprintf("{\"id\": \"find\", \"type\": \"retrieve\", \"query\": "
	                       "\"{{input.question}}\", \"k\": 1, \"concurrency\": 1, "
	                       "\"url\": \"http://127.0.0.1:%d/api/search\"}",
	                       port);
	fx_patch(&g.f, "two.json", "pipeline.steps.0", cJSON_Parse(step));
	free(step);
	rig_load(&g, "two.json", false);

	struct run_batch *a = run_split(&g, NULL, SPLIT_VAL, 6);
	assert_int_equal(server_figure(port, "search", NULL), 6); /* one per question */
	assert_int_equal(server_figure(port, NULL, "peak_concurrency"), 1);
	struct runner_stats s1, s2;
	runner_get_stats(g.r, &s1);
	/* only the answer step changes: the passages come from the memo */
	struct variant v = {"Copy the last word of the key word.\n"
	                    "Turn the key word into the answer.\nKey word: {{w}}\nAnswer:",
	                    NULL, 0};
	const struct variant *config[2] = {NULL, &v};
	struct run_batch *b = run_split(&g, config, SPLIT_VAL, 6);
	assert_int_equal(server_figure(port, "search", NULL), 6);
	runner_get_stats(g.r, &s2);
	assert_true(s2.memo_hits - s1.memo_hits >= 6); /* (and any answer two examples share) */
	for (size_t i = 0; i < 6; i++) {
		const struct trace *x = run_batch_trace(a, i), *y = run_batch_trace(b, i);
		assert_null(x->error);
		assert_false(x->steps[0].memo);
		assert_true(y->steps[0].memo);
		assert_false(y->steps[0].cached);
		assert_string_equal(x->steps[0].key, y->steps[0].key);
		assert_string_equal(x->steps[0].out.text, y->steps[0].out.text);
		assert_int_equal(y->steps[0].out.n_items, x->steps[0].out.n_items);
	}
	assert_non_null(strstr(run_batch_trace(a, 0)->steps[0].out.text, "tiger"));
	/* nothing changed: nothing asked either */
	run_batch_free(run_split(&g, NULL, SPLIT_VAL, 6));
	assert_int_equal(server_figure(port, "search", NULL), 6);
	run_batch_free(a);
	run_batch_free(b);
	llm_server_stop(pid);
	free(corpus);
	rig_close(&g);
}

static void test_loop_rounds(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "loop.json", false);
	struct run_batch *b = run_split(&g, NULL, SPLIT_TRAIN, 2);
	int ask = session_step_index(g.s, "ask"), reply = session_step_index(g.s, "reply");
	int final = session_step_index(g.s, "final");
	/* "short": round 2 says DONE, the until pattern stops the loop after that round */
	const struct trace *t = run_batch_trace(b, 0);
	assert_null(t->error);
	assert_int_equal(t->n, 5);
	const int want_step[] = {ask, reply, ask, reply, final};
	const int want_round[] = {1, 1, 2, 2, 0};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(t->steps[i].step, want_step[i]);
		assert_int_equal(t->steps[i].round, want_round[i]);
	}
	assert_string_equal(t->steps[0].out.text, "Q1");
	assert_string_equal(t->steps[1].out.text, "A1");
	assert_string_equal(t->steps[2].out.text, "DONE");
	assert_non_null(strstr(t->steps[0].prompt, "Round 1. Topic: short\nSo far:\n\nAsk"));
	assert_non_null(strstr(t->steps[2].prompt, "Round 2. Topic: short\nSo far:\nA1\nAsk"));
	assert_string_equal(t->prediction, "DONE");
	assert_true(t->good);
	assert_ptr_equal(trace_find(t, ask), &t->steps[2]);
	/* "long": never DONE, max_rounds (3) ends it; {{steps.reply.rounds}} joins every round */
	t = run_batch_trace(b, 1);
	assert_int_equal(t->n, 7);
	assert_int_equal(t->steps[4].round, 3);
	assert_int_equal(t->steps[5].round, 3);
	assert_non_null(strstr(t->steps[4].prompt, "Round 3. Topic: long\nSo far:\nA1\nA2\nAsk"));
	assert_string_equal(t->prediction, "Q3");
	assert_false(t->good);
	assert_int_equal(g.c.step_done, 12);
	run_batch_free(b);
	rig_close(&g);
}

static void test_step_error_ends_one_example(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "err.json", false);
	struct run_batch *b = run_split(&g, NULL, SPLIT_TRAIN, 3);
	assert_int_equal(g.c.batch_done, 1);
	int ret = session_step_index(g.s, "ret");
	const struct trace *bad = run_batch_trace(b, 1);
	assert_non_null(bad->error);
	assert_non_null(strstr(bad->error, "step \"ret\""));
	assert_non_null(strstr(bad->error, "ctx"));
	assert_int_equal(bad->n, 2); /* find ran, ret failed, answer never ran */
	assert_int_equal(bad->steps[1].step, ret);
	assert_non_null(bad->steps[1].error);
	assert_true(bad->score == 0 && !bad->good);
	for (size_t i = 0; i < 3; i += 2) {
		const struct trace *t = run_batch_trace(b, i);
		assert_null(t->error);
		assert_int_equal(t->n, 3);
		assert_non_null(strstr(t->steps[2].prompt, "Context: "));
	}
	struct runner_stats st;
	runner_get_stats(g.r, &st);
	assert_int_equal(st.executions, 5);
	run_batch_free(b);
	rig_close(&g);
}

static void test_cancel(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "two.json", false);
	size_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct run_batch *b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 8, "c", &g.cb);
	assert_false(run_batch_done(b));
	run_batch_cancel(b);
	struct counts snap = g.c;
	for (int i = 0; i < 5; i++)
		llm_wait(g.l, NULL, 0, 10);
	assert_int_equal(g.c.step_done, snap.step_done);
	assert_int_equal(g.c.batch_done, 0);
	assert_int_equal(llm_pending(g.l), 0);
	run_batch_free(b);
	/* cancelled half-way: the first replies came in, the rest never call back */
	b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 8, "c2", &g.cb);
	llm_wait(g.l, NULL, 0, 100);
	run_batch_cancel(b);
	snap = g.c;
	for (int i = 0; i < 5; i++)
		llm_wait(g.l, NULL, 0, 10);
	assert_int_equal(g.c.step_done, snap.step_done);
	assert_int_equal(g.c.batch_done, 0);
	run_batch_free(b);
	/* a batch still running when the runner goes is freed with it (no leak under ASan) */
	runner_start(g.r, NULL, SPLIT_VAL, idx, 6, "left", &g.cb);
	rig_close(&g);
}

static void test_llm_judge(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, "judge.json", false);
	struct run_batch *a = run_split(&g, NULL, SPLIT_TRAIN, 8);
	struct runner_stats s1, s2;
	runner_get_stats(g.r, &s1);
	assert_int_equal(s1.judge_calls, 8);
	size_t full = 0;
	for (size_t i = 0; i < 8; i++) {
		const struct trace *t = run_batch_trace(a, i);
		assert_null(t->error);
		const char *gold = g.s->data.splits[SPLIT_TRAIN].ex[i].golds[0];
		double want = strcmp(t->prediction, gold) == 0 ? 1.0 : 0.25;
		assert_true(t->score == want);
		assert_true(t->good == (want == 1.0));
		full += want == 1.0;
	}
	assert_true(full > 0 && full < 8);
	/* again: steps and verdicts come from the memo, nothing reaches the LLM layer */
	struct llm_stats l1, l2;
	llm_get_stats(g.l, &l1);
	size_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct run_batch *b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 8, "again", &g.cb);
	assert_true(run_batch_done(b));
	llm_get_stats(g.l, &l2);
	runner_get_stats(g.r, &s2);
	assert_int_equal(l2.submitted, l1.submitted);
	assert_int_equal(s2.judge_calls, 16);
	assert_true(run_batch_score(a) == run_batch_score(b));
	run_batch_free(a);
	run_batch_free(b);
	rig_close(&g);
}

/* ---- exec steps inside the loop ---- */

struct step_log {
	size_t n;
	struct {
		size_t example;
		int step;
	} at[64];
};

static void log_step(void *arg, struct run_batch *b, const struct trace *t,
                     const struct trace_step *ts)
{
	(void)b;
	struct step_log *lg = arg;
	assert_true(lg->n < 64);
	lg->at[lg->n].example = t->example;
	lg->at[lg->n++].step = ts->step;
}

/* Where (example, step) finished in the log; -1 when it did not. */
static int log_pos(const struct step_log *lg, size_t example, int step)
{
	for (size_t i = 0; i < lg->n; i++)
		if (lg->at[i].example == example && lg->at[i].step == step)
			return (int)i;
	return -1;
}

static const char *question(const struct rig *g, size_t i)
{
	return example_get(&g->s->data.splits[SPLIT_TRAIN].ex[i], "question",
	                   &(struct value_buf){0})
	    ->text;
}

static void test_exec_beside_llm(void **state)
{
	(void)state;
	/* the first example's command takes 0.6 s, the others' none: while it runs, the other
	 * examples go on to their LLM step and finish */
	struct rig g;
	rig_open_exec(&g, "{\"id\": \"find\", \"type\": \"exec\", \"input\": "
	                  "\"{{input.question}}\", \"command\": [\"sh\", \"-c\", \"read q; case "
	                  "$q in *apple*) sleep 0.6;; esac; echo \\\"#$q\\\"\"]}");
	struct step_log lg = {0};
	struct run_callbacks cb = {log_step, NULL, NULL, &lg, NULL};
	size_t idx[3] = {0, 1, 2};
	assert_non_null(strstr(question(&g, 0), "apple"));
	struct run_batch *b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 3, "x", &cb);
	/* runner_start did not wait for any command */
	assert_int_equal(log_pos(&lg, 0, 0), -1);
	assert_true(llm_pending(g.l) >= 1);
	wait_done(&g, b);
	assert_int_equal(lg.n, 6);
	int slow_exec = log_pos(&lg, 0, 0), fast_llm = log_pos(&lg, 1, 1);
	assert_true(slow_exec >= 0 && fast_llm >= 0);
	if (fast_llm > slow_exec)
		fail_msg("example 1's LLM step waited for example 0's command");
	for (size_t i = 0; i < 3; i++) {
		const struct trace *t = run_batch_trace(b, i);
		assert_null(t->error);
		assert_int_equal(t->n, 2);
		char *want = xasprintf("#%s", question(&g, i));
		assert_string_equal(t->steps[0].out.text, want);
		assert_string_equal(t->steps[0].prompt, want + 1);
		free(want);
	}
	/* the slow command's own time, and the others' shorter (not a bound: valgrind and loaded
	 * machines stretch every command) */
	assert_true(run_batch_trace(b, 0)->steps[0].latency_s >= 0.5);
	assert_true(run_batch_trace(b, 1)->steps[0].latency_s <
	            run_batch_trace(b, 0)->steps[0].latency_s);
	/* code steps are not memoized: a second batch runs the commands again (and only the LLM
	 * steps come from the memo) */
	struct runner_stats s1, s2;
	runner_get_stats(g.r, &s1);
	struct run_batch *b2 = runner_start(g.r, NULL, SPLIT_TRAIN, idx + 1, 2, "y", &cb);
	assert_false(run_batch_done(b2));
	wait_done(&g, b2);
	runner_get_stats(g.r, &s2);
	assert_int_equal(s2.memo_hits, s1.memo_hits + 2);
	run_batch_free(b);
	run_batch_free(b2);
	assert_no_children();

	/* a failing command: the error goes into the trace as the synchronous runner put it */
	rig_close(&g);
	rig_open_exec(&g, "{\"id\": \"find\", \"type\": \"exec\", \"command\": [\"sh\", \"-c\", "
	                  "\"echo broken >&2; exit 4\"]}");
	b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 1, "z", NULL);
	wait_done(&g, b);
	assert_string_equal(run_batch_trace(b, 0)->error,
	                    "step \"find\": command \"sh\" exited with status 4: broken\n");
	run_batch_free(b);
	rig_close(&g);
}

/* Runs the loop until the fixture's "pids" file lists n background processes; fills pids. */
static void wait_pids(struct rig *g, size_t n, long *pids)
{
	char *path = fx_path(&g->f, "pids");
	size_t got = 0;
	for (int i = 0; i < 300 && got < n; i++) {
		llm_wait(g->l, NULL, 0, 10);
		FILE *f = fopen(path, "r");
		for (got = 0; f && got < n && fscanf(f, "%ld", &pids[got]) == 1; got++)
			;
		if (f)
			fclose(f);
	}
	assert_int_equal(got, n);
	unlink(path);
	free(path);
}

static void assert_gone(const long *pids, size_t n)
{
	assert_no_children();
	for (size_t i = 0; i < n && have_proc(); i++)
		if (!gone_within_1s(pids[i]))
			fail_msg("background process %ld survived the cancel", pids[i]);
}

static void test_exec_cancel(void **state)
{
	(void)state;
	struct rig g;
	rig_open_exec(&g, "{\"id\": \"find\", \"type\": \"exec\", \"command\": [\"sh\", \"-c\", "
	                  "\"sleep 10 & echo $! >> %s/pids; wait\"]}");
	size_t idx[2] = {0, 1};
	long pids[2];
	/* the batch is cancelled: both commands and what they started die, nothing calls back */
	struct run_batch *b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 2, "c", &g.cb);
	wait_pids(&g, 2, pids);
	run_batch_cancel(b);
	assert_int_equal(llm_pending(g.l), 0);
	assert_gone(pids, 2);
	for (int i = 0; i < 3; i++)
		llm_wait(g.l, NULL, 0, 10);
	assert_int_equal(g.c.step_done, 0);
	run_batch_free(b);
	/* llm_cancel_all stops them too; the batch is freed afterwards */
	b = runner_start(g.r, NULL, SPLIT_TRAIN, idx, 2, "c2", &g.cb);
	wait_pids(&g, 2, pids);
	llm_cancel_all(g.l);
	assert_int_equal(llm_pending(g.l), 0);
	assert_gone(pids, 2);
	run_batch_free(b);
	/* a batch still running when the runner goes */
	runner_start(g.r, NULL, SPLIT_TRAIN, idx, 1, "left", &g.cb);
	wait_pids(&g, 1, pids);
	rig_close(&g);
	assert_gone(pids, 1);
	assert_int_equal(g.c.step_done, 0);
}

/* A prepared batch starts nothing until launched; launched a few examples at a time (as the
 * engine does, a slice a turn of the loop) it scores as a batch started whole, and with its
 * traces dropped it keeps the scores and frees each trace as its example is scored. */
static void test_launch_in_slices(void **state)
{
	(void)state;
	struct rig g, h;
	rig_open(&g, "two.json", false);
	struct run_batch *whole = run_split(&g, NULL, SPLIT_TRAIN, 8);
	rig_open(&h, "two.json", false); /* a runner of its own: no memo to answer from */
	size_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	struct run_batch *b = runner_prepare(h.r, NULL, SPLIT_TRAIN, idx, 8, "slices", &h.cb);
	run_batch_drop_traces(b);
	struct llm_stats st;
	llm_get_stats(h.l, &st);
	assert_int_equal(st.submitted, 0); /* prepared, nothing started */
	assert_false(run_batch_launched(b));
	for (int turn = 0; !run_batch_launched(b); turn++) {
		assert_true(turn < 4);
		assert_int_equal(run_batch_launch(b, 3), turn < 2 ? 3 : 2);
		assert_true(llm_wait(h.l, NULL, 0, 0) >= 0);
	}
	wait_done(&h, b);
	assert_int_equal(h.c.batch_done, 1);
	for (size_t i = 0; i < 8; i++) {
		assert_true(run_batch_scores(b)[i] == run_batch_scores(whole)[i]);
		assert_true(run_batch_trace(b, i)->done);
		assert_int_equal(run_batch_trace(b, i)->n, 0); /* dropped once scored */
		assert_true(run_batch_trace(whole, i)->n == 2);
	}
	/* a batch of none reports done on its first launch */
	struct run_batch *none = runner_prepare(h.r, NULL, SPLIT_TRAIN, idx, 0, "none", &h.cb);
	assert_int_equal(run_batch_launch(none, 3), 0);
	assert_int_equal(h.c.batch_done, 2);
	assert_true(run_batch_launched(none));
	run_batch_free(none);
	run_batch_free(b);
	run_batch_free(whole);
	rig_close(&h);
	rig_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_step_batch),
	    cmocka_unit_test(test_launch_in_slices),
	    cmocka_unit_test(test_memo_same_config),
	    cmocka_unit_test(test_memo_last_step_changed),
	    cmocka_unit_test(test_memo_bounded),
	    cmocka_unit_test(test_memo_retrievals),
	    cmocka_unit_test(test_loop_rounds),
	    cmocka_unit_test(test_step_error_ends_one_example),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_llm_judge),
	    cmocka_unit_test(test_exec_beside_llm),
	    cmocka_unit_test(test_exec_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

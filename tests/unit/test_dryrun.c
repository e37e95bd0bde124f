/* test_dryrun.c: the simulated dry run (engine_simulate) against the run it stands for.  On
 * small fixed sessions with the scripted model (tests/data/engine/two.json and
 * examples/chain5), a simulation of 3 iterations reports per iteration and phase exactly the
 * calls, cached answers, tokens and money that engine_run(3) then spends; so does one of 2
 * more iterations on the saved session, whose response cache and journal it reads; and
 * neither writes anything: every file of the directory byte-identical, no cache, journal or
 * other file made.  A session saved half-way through an iteration is resumed as the run
 * resumes it, and the simulation counts what the run then spends.  A session with a model that is
 * not local, a retrieval server or an exec step is not simulated (and says why); the sandboxed LLM
 * layer sends nothing to a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>

#include "engine/engine.h"
#include "engine_fixture.h"
#include "llm_server.h"

/* Every file of a directory, name and content, to compare before and after. */
struct snap {
	char **names, **texts;
	size_t *lens;
	size_t n;
};

static void snap_take(struct snap *sn, const struct fx *f)
{
	memset(sn, 0, sizeof *sn);
	DIR *d = opendir(f->dir);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sn->names = realloc(sn->names, (sn->n + 1) * sizeof *sn->names);
		sn->texts = realloc(sn->texts, (sn->n + 1) * sizeof *sn->texts);
		sn->lens = realloc(sn->lens, (sn->n + 1) * sizeof *sn->lens);
		char *p = fx_path(f, de->d_name);
		struct err e = {{0}};
		sn->texts[sn->n] = NULL;
		assert_int_equal(file_read(p, 1 << 26, &sn->texts[sn->n], &sn->lens[sn->n], &e), 0);
		sn->names[sn->n++] = xstrdup(de->d_name);
		free(p);
	}
	closedir(d);
}

static void snap_free(struct snap *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->names[i]), free(sn->texts[i]);
	free(sn->names), free(sn->texts), free(sn->lens);
}

/* The directory holds exactly the files of sn, each byte-identical. */
static void snap_same(const struct snap *sn, const struct fx *f)
{
	struct snap now;
	snap_take(&now, f);
	if (now.n != sn->n)
		fail_msg("%zu files in %s, %zu before", now.n, f->dir, sn->n);
	for (size_t i = 0; i < now.n; i++) {
		size_t k = 0;
		while (k < sn->n && strcmp(sn->names[k], now.names[i]))
			k++;
		if (k == sn->n)
			fail_msg("a file appeared: %s", now.names[i]);
		if (now.lens[i] != sn->lens[k] || memcmp(now.texts[i], sn->texts[k], now.lens[i]))
			fail_msg("%s changed", now.names[i]);
	}
	snap_free(&now);
}

static void sim_opts(const struct fx *f, int iterations, struct engine_sim_opts *o, char **cache,
                     char **spend)
{
	*cache = fx_path(f, "s.cache.jsonl");
	*spend = fx_path(f, "s.spend.jsonl");
	*o = (struct engine_sim_opts){
	    .iterations = iterations, .patience = 3, .cache_path = *cache, .spend_path = *spend};
}

/* Simulates `iterations` of the session file, checks it wrote nothing, then runs them for real
 * (as --run does: the cache and journal beside it, the session saved at the end) and checks
 * each iteration's phases spent what the simulation said. */
static void sim_then_run(const struct fx *f, const char *file, int iterations, bool expect_hits)
{
	struct engine_sim_opts so;
	char *cache, *spend;
	sim_opts(f, iterations, &so, &cache, &spend);
	struct snap before;
	snap_take(&before, f);
	struct session *s = fx_load(f, file);
	struct engine_sim sim;
	struct err e = {{0}};
	if (engine_simulate(s, &so, &sim, &e) < 0)
		fail_msg("engine_simulate: %s", e.msg);
	session_free(s);
	snap_same(&before, f);
	snap_free(&before);
	assert_true(sim.n >= 1 && sim.n <= iterations + 1);
	assert_false(sim.bounded);
	assert_true(expect_hits || sim.total.usd > 0); /* the cache may answer all */
	assert_true(expect_hits ? sim.total.cached > 0 : sim.total.cached >= 0);

	s = fx_load(f, file);
	struct llm_options lo = {.cache_path = cache, .spend_path = spend, .seed = s->opt.seed};
	struct llm *l = llm_new(&lo, &e);
	assert_non_null(l);
	struct engine_opts eo = {.auto_accept = true};
	struct engine *en = engine_new(s, l, &eo, NULL, NULL, &e);
	assert_non_null(en);
	engine_set_patience(en, 3);
	size_t first = engine_iterations(en);
	assert_int_equal(engine_run(en, iterations), 0);
	for (int i = 0; i < 100000 && engine_running(en); i++) {
		if (engine_busy(en))
			assert_true(llm_wait(l, NULL, 0, 100) >= 0);
		engine_poll(en);
	}
	assert_false(engine_running(en));
	assert_int_equal(engine_iterations(en) - first, (size_t)sim.n);
	double total = 0;
	for (int i = 0; i < sim.n; i++) {
		const struct iteration *it = engine_iteration(en, first + (size_t)i);
		const struct engine_sim_iter *si = &sim.iters[i];
		assert_int_equal(it->number, si->number);
		for (int p = 0; p < PHASE_COUNT; p++) {
			const struct phase_cost *c = &it->cost[p];
			const struct cost_projection *x = &si->phase[p];
			if (c->calls != x->calls || c->cached != x->cached ||
			    c->tokens_in != x->tokens_in || c->tokens_out != x->tokens_out ||
			    fabs(c->cost_usd - x->usd) > 1e-12)
				fail_msg(
				    "%s iteration %d %s: simulated %ld calls (%ld cached), %ld/%ld "
				    "tokens, $%.6f; the run %ld (%ld), %ld/%ld, $%.6f",
				    file, it->number, phase_name((enum phase)p), x->calls,
				    x->cached, x->tokens_in, x->tokens_out, x->usd, c->calls,
				    c->cached, c->tokens_in, c->tokens_out, c->cost_usd);
			total += c->cost_usd;
		}
	}
	assert_true(fabs(total - sim.total.usd) < 1e-9);
	const char *cause = engine_stop_cause(en);
	assert_string_equal(sim.stopped, cause ? cause : "iterations");
	engine_store(en);
	char *path = fx_path(f, file);
	assert_int_equal(session_save(s, path, &e), 0);
	free(path);
	engine_free(en);
	llm_free(l);
	session_free(s);
	engine_sim_free(&sim);
	free(cache);
	free(spend);
}

static void check_session(const char *src, const char *file)
{
	struct fx f;
	fx_init(&f, src);
	/* priced as gpt-4o-mini and gpt-4o (a scripted model is free unless priced) */
	const char *const prices[][2] = {{"models.task.price_in", "0.15"},
	                                 {"models.task.price_out", "0.6"},
	                                 {"models.optimizer.price_in", "2.5"},
	                                 {"models.optimizer.price_out", "10"}};
	for (size_t i = 0; i < ARRAY_SIZE(prices); i++)
		fx_patch(&f, file, prices[i][0], cJSON_CreateNumber(atof(prices[i][1])));
	char *cache = fx_path(&f, "s.cache.jsonl"), *spend = fx_path(&f, "s.spend.jsonl");
	/* a fresh session: no cache, no journal, and the simulation makes none */
	sim_then_run(&f, file, 3, false);
	assert_int_equal(access(cache, F_OK), 0); /* the run made them */
	assert_int_equal(access(spend, F_OK), 0);
	/* the session saved with its history; the cache answers what was asked before */
	sim_then_run(&f, file, 2, true);
	free(cache);
	free(spend);
	fx_done(&f);
}

static void test_two_steps(void **state)
{
	(void)state;
	check_session(FX_DATA, "two.json");
}

static void test_chain5(void **state)
{
	(void)state;
	check_session("examples/chain5", "session.json");
}

static void drive_idle(struct engine *en, struct llm *l)
{
	for (int i = 0; i < 100000 && (engine_busy(en) || engine_running(en)); i++) {
		if (engine_busy(en))
			assert_true(llm_wait(l, NULL, 0, 100) >= 0);
		engine_poll(en);
	}
	assert_false(engine_busy(en));
}

/* A session saved half-way through an iteration: the simulation resumes it as the run does and
 * counts what the run then spends on it (the run's record of it also holds what was spent
 * before the save). */
static void test_resumed_iteration(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "examples/chain5");
	struct engine_sim_opts so;
	char *cache, *spend;
	sim_opts(&f, 2, &so, &cache, &spend);
	struct err e = {{0}};
	struct session *s = fx_load(&f, "session.json");
	struct llm_options lo = {.cache_path = cache, .spend_path = spend, .seed = s->opt.seed};
	struct llm *l = llm_new(&lo, &e);
	assert_non_null(l);
	struct engine_opts eo = {.auto_accept = true};
	struct engine *en = engine_new(s, l, &eo, NULL, NULL, &e);
	assert_non_null(en);
	for (int p = 0; p <= PHASE_LOCAL; p++) { /* forward .. local gradients */
		assert_int_equal(engine_step(en), 0);
		drive_idle(en, l);
	}
	assert_int_equal(engine_current(en)->phase, PHASE_PSEUDO);
	engine_store(en);
	char *path = fx_path(&f, "session.json");
	assert_int_equal(session_save(s, path, &e), 0);
	engine_free(en);
	llm_free(l);
	session_free(s);

	struct snap before;
	snap_take(&before, &f);
	s = fx_load(&f, "session.json");
	struct engine_sim sim;
	if (engine_simulate(s, &so, &sim, &e) < 0)
		fail_msg("engine_simulate: %s", e.msg);
	session_free(s);
	snap_same(&before, &f);
	snap_free(&before);
	assert_int_equal(sim.iters[0].number, 1); /* the rest of iteration 1, then iteration 2 */
	assert_int_equal(sim.n, 2);
	for (int p = 0; p < PHASE_PSEUDO; p++)
		assert_int_equal(sim.iters[0].phase[p].calls, 0);
	assert_true(sim.iters[0].phase[PHASE_PSEUDO].calls > 0);

	s = fx_load(&f, "session.json");
	l = llm_new(&lo, &e);
	assert_non_null(l);
	en = engine_new(s, l, &eo, NULL, NULL, &e);
	assert_non_null(en);
	engine_set_patience(en, 3);
	struct phase_cost was[PHASE_COUNT];
	memcpy(was, engine_current(en)->cost, sizeof was);
	if (engine_resume(en) == 0)
		drive_idle(en, l);
	assert_int_equal(engine_run(en, 2), 0);
	drive_idle(en, l);
	size_t n = engine_iterations(en);
	assert_int_equal(n, 2);
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		const struct iteration *it = engine_iteration(en, i);
		for (int p = 0; p < PHASE_COUNT; p++) {
			const struct phase_cost *c = &it->cost[p];
			const struct cost_projection *x = &sim.iters[i].phase[p];
			long calls = c->calls - (i ? 0 : was[p].calls);
			double usd = c->cost_usd - (i ? 0 : was[p].cost_usd);
			if (calls != x->calls || fabs(usd - x->usd) > 1e-12)
				fail_msg(
				    "iteration %d %s: simulated %ld calls $%.6f, the run %ld $%.6f",
				    it->number, phase_name((enum phase)p), x->calls, x->usd, calls,
				    usd);
			total += usd;
		}
	}
	struct engine_totals t;
	engine_totals(en, &t);
	assert_true(fabs(t.cost_usd - sim.total.usd) < 1e-9);
	assert_true(fabs(total - sim.total.usd) < 1e-9);
	engine_free(en);
	llm_free(l);
	session_free(s);
	engine_sim_free(&sim);
	free(path), free(cache), free(spend);
	fx_done(&f);
}

/* A bound on the requests stops the simulation there and says so: a lower bound. */
static void test_bounded(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "examples/chain5");
	struct snap before;
	snap_take(&before, &f);
	struct session *s = fx_load(&f, "session.json");
	struct engine_sim_opts so;
	char *cache, *spend;
	sim_opts(&f, 3, &so, &cache, &spend);
	so.max_requests = 10;
	struct engine_sim sim;
	struct err e = {{0}};
	assert_int_equal(engine_simulate(s, &so, &sim, &e), 0);
	assert_true(sim.bounded);
	assert_string_equal(sim.stopped, "bound");
	assert_int_equal(sim.n, 1);
	assert_true(sim.total.calls <= 11);
	snap_same(&before, &f);
	snap_free(&before);
	engine_sim_free(&sim);
	session_free(s);
	free(cache), free(spend);
	fx_done(&f);
}

/* What keeps a run from being simulated, said before anything runs. */
static void test_blockers(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, FX_DATA);
	struct session *s = fx_load(&f, "two.json");
	char *why = engine_sim_blocker(s);
	assert_null(why);
	session_free(s);

	fx_patch(&f, "two.json", "models.task.provider", cJSON_CreateString("openai"));
	fx_patch(&f, "two.json", "models.task.base_url", cJSON_CreateString("http://127.0.0.1:9"));
	fx_patch(&f, "two.json", "models.task.model", cJSON_CreateString("m"));
	s = fx_load(&f, "two.json");
	why = engine_sim_blocker(s);
	assert_non_null(why);
	assert_non_null(strstr(why, "step \"find\" asks model \"task\" (provider openai)"));
	free(why);
	struct engine_sim_opts so = {.iterations = 1, .no_cache = true};
	struct engine_sim sim;
	struct err e = {{0}};
	assert_int_equal(engine_simulate(s, &so, &sim, &e), -1);
	assert_non_null(strstr(e.msg, "not simulated"));
	session_free(s);
	fx_done(&f);

	fx_init(&f, "examples/hotpot-mini");
	cJSON *url = cJSON_CreateString("http://127.0.0.1:9/api/search");
	fx_patch(&f, "session.json", "pipeline.steps.1.url", url);
	char *p = fx_path(&f, "session.json"), *text = NULL;
	size_t n;
	assert_int_equal(file_read(p, 1 << 22, &text, &n, &e), 0);
	cJSON *root = cJSON_Parse(text);
	cJSON_DeleteItemFromObject(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "pipeline"), "steps"),
	                       1),
	    "corpus");
	fx_write_json(&f, "session.json", root);
	free(text);
	free(p);
	s = fx_load(&f, "session.json");
	why = engine_sim_blocker(s);
	assert_non_null(why);
	assert_non_null(strstr(why, "retrieve step \"retrieve\" asks a retrieval server"));
	free(why);
	session_free(s);
	fx_done(&f);
}

struct reply_seen {
	char *error;
	bool done;
};

static void on_done(void *arg, const struct llm_reply *r)
{
	struct reply_seen *seen = arg;
	seen->error = r->error ? xstrdup(r->error) : NULL;
	seen->done = true;
}

/* The sandbox answers from the scripted model only: a request to a server is never sent. */
static void test_sandbox_sends_nothing(void **state)
{
	(void)state;
	const char *bin = llm_server_bin("test_dryrun");
	if (!bin)
		skip();
	int port = 0;
	pid_t pid = llm_server_spawn(bin, FX_DATA "/rules.json", NULL, &port);
	assert_true(pid > 0);
	struct llm_options lo = {.no_cache = true, .sandbox = true};
	struct err e = {{0}};
	struct llm *l = llm_new(&lo, &e);
	assert_non_null(l);
	char *base = xasprintf("http://127.0.0.1:%d/v1", port);
	struct model_config m = {.name = "task",
	                         .provider = "openai",
	                         .model = "m",
	                         .base_url = base,
	                         .max_tokens = 64,
	                         .price_in = -1,
	                         .price_out = -1,
	                         .price_cached_in = -1,
	                         .price_cache_write = -1};
	struct llm_message msg = {"user", "Find the key word in: x"};
	struct llm_request req = {&m, &msg, 1, "test"};
	struct reply_seen seen = {0};
	llm_submit(l, &req, on_done, NULL, &seen);
	for (int i = 0; i < 100 && !seen.done; i++)
		assert_true(llm_wait(l, NULL, 0, 100) >= 0);
	assert_true(seen.done);
	assert_non_null(seen.error);
	assert_non_null(strstr(seen.error, "simulated run"));
	assert_non_null(strstr(seen.error, "is not sent"));
	cJSON *st = llm_server_call(port, "GET", "/_stats", NULL);
	assert_non_null(st);
	assert_int_equal(cJSON_GetObjectItem(st, "requests")->valueint, 0);
	cJSON_Delete(st);
	free(seen.error);
	free(base);
	llm_free(l);
	llm_server_stop(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_two_steps),         cmocka_unit_test(test_chain5),
	    cmocka_unit_test(test_resumed_iteration), cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_blockers),          cmocka_unit_test(test_sandbox_sends_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

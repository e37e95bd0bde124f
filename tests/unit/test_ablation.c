/* test_ablation.c: the paper's ablations (optimizer.ablate) with the scripted model: each one
 * changes what it should and nothing else.  gradient "global" makes no E2 and no E5 call and
 * gives every step the global gradient, with the same forward pass, losses and gradients as
 * ADOPT; allocation "uniform" gives equal budgets from the same Shapley credit; selection
 * "per_step" evaluates the incumbent, each candidate alone and the winners' combination, and
 * nothing else.  Also: the option is read, checked (file:line:col) and survives a save. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "engine/engine.h"
#include "engine_fixture.h"

struct rig {
	struct fx f;
	struct session *s;
	struct llm *l;
	struct engine *en;
};

/* Opens src/file in a fresh copy, with optimizer.ablate.key = value when key is not NULL. */
static void rig_open(struct rig *g, const char *src, const char *file, const char *key,
                     const char *value)
{
	memset(g, 0, sizeof *g);
	fx_init(&g->f, src);
	if (key) {
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, key, value);
		fx_patch(&g->f, file, "optimizer.ablate", a);
	}
	g->s = fx_load(&g->f, file);
	g->l = fx_llm(&g->f, NULL);
	struct engine_opts o = {.auto_accept = true};
	struct err e = {{0}};
	g->en = engine_new(g->s, g->l, &o, NULL, NULL, &e);
	if (!g->en)
		fail_msg("engine_new: %s", e.msg);
}

static void rig_close(struct rig *g)
{
	engine_free(g->en);
	llm_free(g->l);
	session_free(g->s);
	fx_done(&g->f);
}

static void drive(struct rig *g)
{
	for (int i = 0; i < 100000 && engine_busy(g->en); i++) {
		assert_true(llm_wait(g->l, NULL, 0, 100) >= 0);
		engine_poll(g->en);
	}
	assert_false(engine_busy(g->en));
	engine_poll(g->en);
}

/* Steps phase by phase until the first iteration's next phase is p. */
static const struct iteration *step_until(struct rig *g, enum phase p)
{
	for (int i = 0; i < PHASE_COUNT + 1; i++) {
		const struct iteration *it = engine_current(g->en);
		if (it && it->phase == p)
			return it;
		assert_int_equal(engine_step(g->en), 0);
		drive(g);
	}
	fail_msg("never reached phase %s", phase_name(p));
	return NULL;
}

static bool optimizable(const struct session *s, size_t i)
{
	return s->steps[i].kind == STEP_LLM && !s->steps[i].frozen;
}

static void test_gradient_global(void **state)
{
	(void)state;
	struct rig a, g;
	rig_open(&a, FX_DATA, "two.json", NULL, NULL);
	rig_open(&g, FX_DATA, "two.json", "gradient", "global");
	assert_int_equal(g.s->opt.ablate[ABLATE_GRADIENT], GRADIENT_GLOBAL);
	const struct iteration *ia = step_until(&a, PHASE_CANDIDATES);
	const struct iteration *ig = step_until(&g, PHASE_CANDIDATES);
	assert_true(ig->n_bad > 0);
	/* what it should change: E1 alone in the analysis, no E5, every local gradient global */
	assert_int_equal(ig->cost[PHASE_ANALYSIS].calls, 1);
	assert_int_equal(ig->cost[PHASE_LOCAL].calls, 0);
	assert_true(ia->cost[PHASE_ANALYSIS].calls > 1);
	assert_true(ia->cost[PHASE_LOCAL].calls > 0);
	assert_true(ig->cost[PHASE_PSEUDO].calls > 0); /* E6 still writes pseudo-labels */
	int locals = 0;
	for (size_t c = 0; c < ig->n_cases; c++) {
		const struct adopt_case *ac = &ig->cases[c];
		assert_non_null(ac->gradient);
		for (size_t i = 0; i < g.s->n_steps; i++) {
			assert_null(ig->dependency[i]);
			if (!optimizable(g.s, i))
				continue;
			assert_non_null(ac->local[i]);
			assert_string_equal(ac->local[i], ac->gradient);
			assert_non_null(ac->pseudo[i]);
			locals++;
		}
	}
	assert_true(locals > 0);
	/* and nothing else: the same forward pass, structure, losses and global gradients */
	assert_true(ia->train_score == ig->train_score);
	assert_int_equal(ia->n_cases, ig->n_cases);
	assert_string_equal(ia->structure, ig->structure);
	for (size_t c = 0; c < ig->n_cases; c++) {
		assert_int_equal(ia->cases[c].trace, ig->cases[c].trace);
		assert_string_equal(ia->cases[c].loss, ig->cases[c].loss);
		assert_string_equal(ia->cases[c].gradient, ig->cases[c].gradient);
	}
	for (int p = PHASE_FORWARD; p < PHASE_CANDIDATES; p++)
		if (p != PHASE_ANALYSIS && p != PHASE_LOCAL && p != PHASE_PSEUDO)
			assert_int_equal(ia->cost[p].calls, ig->cost[p].calls);
	rig_close(&a);
	rig_close(&g);
}

static void test_allocation_uniform(void **state)
{
	(void)state;
	struct rig a, u;
	/* chain5 (several learnable steps): a total of 3 per step splits evenly whatever the
	 * credit */
	rig_open(&a, "examples/chain5", "session.json", NULL, NULL);
	rig_open(&u, "examples/chain5", "session.json", "allocation", "uniform");
	int total = 3 * (int)session_learnable_steps(u.s);
	a.s->opt.budget_total = u.s->opt.budget_total = total;
	a.s->opt.budget_floor = u.s->opt.budget_floor = 1;
	const struct iteration *ia = step_until(&a, PHASE_PROPOSAL);
	const struct iteration *iu = step_until(&u, PHASE_PROPOSAL);
	assert_non_null(iu->next_budget);
	int k = 0, first = -1, sum = 0;
	bool credit = false, differs = false;
	for (size_t i = 0; i < u.s->n_steps; i++) {
		if (!optimizable(u.s, i))
			continue;
		k++;
		if (first < 0)
			first = iu->next_budget[i];
		assert_int_equal(iu->next_budget[i], first); /* equal budgets */
		sum += iu->next_budget[i];
		differs |= ia->next_budget[i] != first;
		/* nothing else: the same candidates, evaluations and Shapley credit */
		assert_int_equal(ia->n_cands[i], iu->n_cands[i]);
		assert_true(ia->phi[i] == iu->phi[i]);
		credit |= iu->phi[i] != 0;
	}
	assert_true(k >= 2);
	assert_int_equal(sum, total);
	assert_int_equal(ia->n_evals, iu->n_evals);
	assert_true(ia->best_score == iu->best_score);
	/* the credit was there to use, and ADOPT's own allocation used it */
	if (credit)
		assert_true(differs);
	rig_close(&a);
	rig_close(&u);
}

static int changed_steps(const int *c, size_t m)
{
	int n = 0;
	for (size_t i = 0; i < m; i++)
		n += c[i] > 0;
	return n;
}

static void test_selection_per_step(void **state)
{
	(void)state;
	struct rig a, p;
	rig_open(&a, "examples/hotpot-mini", "session.json", NULL, NULL);
	rig_open(&p, "examples/hotpot-mini", "session.json", "selection", "per_step");
	const struct iteration *ia = step_until(&a, PHASE_SHAPLEY);
	const struct iteration *ip = step_until(&p, PHASE_SHAPLEY);
	size_t m = p.s->n_steps;
	size_t cands = 0;
	for (size_t i = 0; i < m; i++) {
		cands += ip->n_cands[i];
		assert_int_equal(ia->n_cands[i], ip->n_cands[i]); /* the same candidates */
	}
	assert_true(cands >= 2);
	/* the incumbent, each candidate alone, then at most the one combination of winners */
	size_t singles = 0, combos = 0, incumbent = 0;
	int combo = -1;
	for (size_t e = 0; e < ip->n_evals; e++) {
		int n = changed_steps(ip->evals[e].choice, m);
		incumbent += n == 0;
		singles += n == 1;
		if (n >= 2)
			combos++, combo = (int)e;
	}
	assert_int_equal(incumbent, 1);
	assert_int_equal(singles, cands);
	assert_int_equal(combos, 1); /* on hotpot-mini two steps win alone */
	/* each step of the combination carries its best candidate alone, which beat the
	 * incumbent */
	int *win = xcalloc(m, sizeof *win);
	double *best = xcalloc(m, sizeof *best);
	for (size_t e = 0; e < ip->n_evals; e++) {
		const int *c = ip->evals[e].choice;
		if (changed_steps(c, m) != 1)
			continue;
		for (size_t i = 0; i < m; i++)
			if (c[i] > 0 && ip->evals[e].score > ip->base_score &&
			    (!win[i] || ip->evals[e].score > best[i]))
				win[i] = c[i], best[i] = ip->evals[e].score;
	}
	assert_memory_equal(ip->evals[combo].choice, win, m * sizeof *win);
	/* the proposal is that combination, not the search's best */
	step_until(&p, PHASE_PROPOSAL);
	assert_int_equal(engine_step(p.en), 0);
	drive(&p);
	const struct iteration *it = engine_current(p.en);
	assert_true(it->best_eval >= 0);
	assert_memory_equal(it->evals[it->best_eval].choice, win, m * sizeof *win);
	assert_int_equal((int)it->n_changes, changed_steps(win, m));
	/* ADOPT's own search did try combinations */
	size_t a_combos = 0;
	for (size_t e = 0; e < ia->n_evals; e++)
		a_combos += changed_steps(ia->evals[e].choice, m) >= 2;
	assert_true(a_combos >= 1);
	free(win);
	free(best);
	rig_close(&a);
	rig_close(&p);
}

static void test_option_file(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, FX_DATA);
	/* read and kept by a save */
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "allocation", "uniform");
	cJSON_AddStringToObject(a, "selection", "per_step");
	fx_patch(&f, "two.json", "optimizer.ablate", a);
	struct session *s = fx_load(&f, "two.json");
	assert_int_equal(s->opt.ablate[ABLATE_ALLOCATION], ALLOC_UNIFORM);
	assert_int_equal(s->opt.ablate[ABLATE_GRADIENT], GRADIENT_DECOMPOSED);
	assert_int_equal(s->opt.ablate[ABLATE_SELECTION], SELECT_PER_STEP);
	char *path = fx_path(&f, "saved.json");
	struct err e = {{0}};
	assert_int_equal(session_save(s, path, &e), 0);
	session_free(s);
	s = fx_load(&f, "saved.json");
	assert_int_equal(s->opt.ablate[ABLATE_ALLOCATION], ALLOC_UNIFORM);
	assert_int_equal(s->opt.ablate[ABLATE_SELECTION], SELECT_PER_STEP);
	session_free(s);
	free(path);
	/* problems at their place */
	static const struct {
		const char *key, *value, *msg;
	} bad[] = {
	    {"gradient", "bogus",
	     "optimizer.ablate: \"gradient\" is \"decomposed\" or \"global\", "
	     "not \"bogus\""},
	    {"speed", "fast", "optimizer.ablate: unknown ablation \"speed\""},
	};
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, bad[k].key, bad[k].value);
		fx_patch(&f, "two.json", "optimizer.ablate", a);
		char *p = fx_path(&f, "two.json");
		struct diag d = {0};
		assert_null(session_load(p, NULL, &d));
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.msgs[0], bad[k].msg));
		assert_non_null(strstr(d.msgs[0], "two.json:"));
		diag_free(&d);
		free(p);
	}
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gradient_global),
	    cmocka_unit_test(test_allocation_uniform),
	    cmocka_unit_test(test_selection_per_step),
	    cmocka_unit_test(test_option_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

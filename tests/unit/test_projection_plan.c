/* test_projection_plan.c: the order in which selection's projection takes the configurations
 * the search will evaluate (plan_configs): the initial design first, as bo_initial_design
 * starts it, then the rest nearest the incumbent first (one step changed, then two, ...), where
 * counting order put a configuration changing three steps before some changing two; the
 * ablation of the search (per_step) every candidate alone; never a configuration twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/bo.h"
#include "engine/engine_int.h"

static int changed(const int *c, size_t m)
{
	int d = 0;
	for (size_t i = 0; i < m; i++)
		d += c[i] != 0;
	return d;
}

/* Four steps of one candidate each, room for all 16: the design (incumbent, four alone, all
 * together), then the six pairs, then the four triples; none twice. */
static void test_nearest_first(void **state)
{
	(void)state;
	size_t nc[4] = {1, 1, 1, 1};
	struct iteration it = {.n_cands = nc};
	int plan[16 * 4];
	size_t n = plan_configs(&it, 4, 16, false, plan);
	assert_int_equal(n, 16);
	int design[6 * 4];
	int choices[4] = {2, 2, 2, 2};
	struct bo *bo = bo_new(4, choices, 1);
	assert_int_equal(bo_initial_design(bo, design, 6), 6);
	bo_free(bo);
	assert_memory_equal(plan, design, sizeof design);
	for (size_t k = 6; k < 12; k++)
		assert_int_equal(changed(&plan[k * 4], 4), 2);
	for (size_t k = 12; k < 16; k++)
		assert_int_equal(changed(&plan[k * 4], 4), 3);
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			assert_true(memcmp(&plan[a * 4], &plan[b * 4], 4 * sizeof(int)) != 0);
	/* the first pairs, in counting order: steps 1-2, 1-3 */
	const int first[2][4] = {{1, 1, 0, 0}, {1, 0, 1, 0}};
	assert_memory_equal(&plan[6 * 4], first, sizeof first);
}

/* Steps of two and three candidates and one without: after the design, every configuration
 * changing one step (the second and third candidates alone) before any changing two, and a
 * budget below the product takes the nearest. */
static void test_more_candidates(void **state)
{
	(void)state;
	size_t nc[3] = {2, 0, 3};
	struct iteration it = {.n_cands = nc};
	int plan[12 * 3];
	size_t n = plan_configs(&it, 3, 12, false, plan);
	assert_int_equal(n, 12); /* the product: 3 x 1 x 4 */
	const int want[7][3] = {{0, 0, 0}, {1, 0, 0}, {0, 0, 1}, {1, 0, 1},
	                        {2, 0, 0}, {0, 0, 2}, {0, 0, 3}};
	assert_memory_equal(plan, want, sizeof want);
	for (size_t k = 7; k < n; k++)
		assert_int_equal(changed(&plan[k * 3], 3), 2);
	assert_int_equal(plan_configs(&it, 3, 6, false, plan), 6);
	assert_memory_equal(plan, want, 6 * sizeof want[0]);
	/* per_step: the incumbent, every candidate alone, the first ones together */
	n = plan_configs(&it, 3, 12, true, plan);
	assert_int_equal(n, 7);
	const int ps[7][3] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {0, 0, 1},
	                      {0, 0, 2}, {0, 0, 3}, {1, 0, 1}};
	assert_memory_equal(plan, ps, sizeof ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nearest_first),
	    cmocka_unit_test(test_more_candidates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

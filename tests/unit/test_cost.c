/* test_cost.c: price lookup (exact, prefix, overrides), cost arithmetic, token estimates and
 * the per-tag ledger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "llm/cost.h"

static void assert_price(const char *model, double in, double out)
{
	double a, b;
	if (!cost_lookup(model, &a, &b))
		fail_msg("no price for %s", model);
	if (a != in || b != out)
		fail_msg("%s: got %g/%g, want %g/%g", model, a, b, in, out);
}

static void test_lookup(void **state)
{
	(void)state;
	assert_price("gpt-4o", 2.50, 10.00);
	assert_price("gpt-4o-mini", 0.15, 0.60);
	assert_price("gpt-4o-mini-2024-07-18", 0.15, 0.60); /* longest prefix, not gpt-4o */
	assert_price("gpt-4o-2024-08-06", 2.50, 10.00);
	assert_price("gpt-4o-2024-05-13", 5.00, 15.00); /* exact beats prefix */
	assert_price("gpt-4.1-nano", 0.10, 0.40);
	assert_price("gpt-4.1-2025-04-14", 2.00, 8.00);
	assert_price("o3-mini", 1.10, 4.40);
	assert_price("claude-3-5-sonnet-20241022", 3.00, 15.00);
	assert_price("claude-3-5-haiku-latest", 0.80, 4.00);
	assert_price("claude-3-haiku-20240307", 0.25, 1.25);
	assert_price("claude-sonnet-4-20250514", 3.00, 15.00);
	assert_price("openai/gpt-4o-mini", 0.15, 0.60); /* router prefix */
	double a = 1, b = 1;
	assert_false(cost_lookup("gpt-4oo", &a, &b)); /* no separator after the prefix */
	assert_true(a == 0 && b == 0);
	assert_false(cost_lookup("llama3.1:8b", &a, &b));
	assert_false(cost_lookup(NULL, &a, &b));
}

static void test_llm_price(void **state)
{
	(void)state;
	struct model_config m = {0};
	m.provider = "openai";
	m.model = "gpt-4o-mini";
	m.price_in = m.price_out = -1;
	double in, out;
	bool known;
	llm_price(&m, &in, &out, &known);
	assert_true(known && in == 0.15 && out == 0.60);
	m.price_in = 1;
	m.price_out = 2; /* session override */
	llm_price(&m, &in, &out, &known);
	assert_true(known && in == 1 && out == 2);
	m.model = "my-finetune";
	m.price_in = m.price_out = -1;
	llm_price(&m, &in, &out, &known);
	assert_false(known);
	assert_true(in == 0 && out == 0);
	m.provider = "ollama";
	llm_price(&m, &in, &out, &known);
	assert_true(known && in == 0);
	m.provider = "scripted";
	llm_price(&m, &in, &out, &known);
	assert_true(known && out == 0);
}

static void test_arithmetic(void **state)
{
	(void)state;
	struct llm_usage u = {1000000, 500000, 0, false};
	double c = cost_usd(2.5, 10, &u);
	assert_true(c > 7.4999 && c < 7.5001);
	assert_int_equal(cost_estimate_tokens(""), 0);
	assert_int_equal(cost_estimate_tokens(NULL), 0);
	assert_int_equal(cost_estimate_tokens("abcd"), 1);
	assert_int_equal(cost_estimate_tokens("abcde"), 2);
	struct llm_message msgs[] = {{"system", "12345678"}, {"user", "1234"}};
	cost_estimate_usage(msgs, 2, "123456789", &u);
	assert_true(u.estimated);
	assert_int_equal(u.in, 4 + 2 + 4 + 1);
	assert_int_equal(u.out, 3);
}

static void test_book(void **state)
{
	(void)state;
	struct cost_book *b = cost_book_new();
	cost_book_tag(b, "step:a")->cost_usd += 1;
	cost_book_tag(b, "step:b")->done++;
	cost_book_tag(b, "step:a")->cost_usd += 2;
	cost_book_tag(b, NULL)->failed++;
	for (int i = 0; i < 40; i++) { /* growth keeps earlier entries */
		char t[16];
		snprintf(t, sizeof(t), "t%d", i);
		cost_book_tag(b, t)->submitted = i;
	}
	assert_int_equal(cost_book_count(b), 43);
	struct llm_stats *s;
	assert_string_equal(cost_book_name(b, 0, &s), "step:a");
	assert_true(s->cost_usd == 3);
	assert_string_equal(cost_book_name(b, 2, &s), "");
	assert_int_equal(s->failed, 1);
	assert_string_equal(cost_book_name(b, 42, &s), "t39");
	assert_int_equal(s->submitted, 39);
	assert_null(cost_book_name(b, 43, &s));
	cost_book_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_llm_price),
	    cmocka_unit_test(test_arithmetic),
	    cmocka_unit_test(test_book),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

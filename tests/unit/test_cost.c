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
	/* the last name's row is remembered: asked again, alternately, and after one with no
	 * price, each name still gets its own; a name in a reused buffer too */
	char name[64];
	for (int i = 0; i < 3; i++) {
		assert_price("gpt-4o", 2.50, 10.00);
		assert_price("gpt-4o", 2.50, 10.00);
		assert_price("gpt-4o-mini", 0.15, 0.60);
		assert_false(cost_lookup("gpt-4oo", &a, &b));
		strcpy(name, i % 2 ? "o3-mini" : "gpt-4o-2024-05-13");
		assert_price(name, i % 2 ? 1.10 : 5.00, i % 2 ? 4.40 : 15.00);
		strcpy(name, "gpt-4o-mini");
		assert_price(name, 0.15, 0.60);
	}
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

static bool near(double a, double b)
{
	return a > b - 1e-12 && a < b + 1e-12;
}

/* The two cases: billed at the full input price they cost 1.6x and 1.85x too much. */
static void test_cached_prices(void **state)
{
	(void)state;
	struct model_config m = {.provider = "openai", .model = "gpt-4.1-2025-04-14"};
	m.price_in = m.price_out = m.price_cached_in = m.price_cache_write = -1;
	struct llm_prices p;
	bool known;
	llm_prices(&m, &p, &known);
	assert_true(known && p.in == 2.00 && p.out == 8.00);
	assert_true(near(p.cached_in, 0.50) && near(p.cache_write, 2.00));
	/* 2,000 prompt tokens of which 1,536 cached, no output */
	struct llm_usage u = {.in = 2000, .cached = 1536};
	double paid = cost_usd(&p, &u), full = 2000 * 2.00 / 1e6;
	assert_true(near(paid, (464 * 2.00 + 1536 * 0.50) / 1e6));
	assert_true(full / paid > 1.6 && full / paid < 2.4);
	m.model = "gpt-4o-mini";
	llm_prices(&m, &p, NULL);
	assert_true(near(p.cached_in, 0.075));
	m.model = "gpt-5-mini";
	llm_prices(&m, &p, NULL);
	assert_true(near(p.cached_in, 0.025));
	m.model = "gpt-3.5-turbo"; /* no prompt caching: every prompt token alike */
	llm_prices(&m, &p, NULL);
	assert_true(near(p.cached_in, p.in));
	/* Anthropic: reads 0.1x, writes 1.25x; input_tokens 100 + 1,000 written + 4,000 read */
	m.provider = "anthropic";
	m.model = "claude-sonnet-4-5-20250929";
	llm_prices(&m, &p, NULL);
	assert_true(near(p.cached_in, 0.30) && near(p.cache_write, 3.75));
	u = (struct llm_usage){.in = 5100, .cached = 4000, .cache_write = 1000, .out = 200};
	double want = (100 * 3.0 + 4000 * 0.30 + 1000 * 3.75 + 200 * 15.0) / 1e6;
	assert_true(near(cost_usd(&p, &u), want));
	/* session prices win; a missing cached price follows the session's input price by the
	 * table's ratio */
	m.price_in = 10;
	m.price_out = 20;
	llm_prices(&m, &p, NULL);
	assert_true(near(p.cached_in, 1.0) && near(p.cache_write, 12.5));
	m.price_cached_in = 0.5;
	m.price_cache_write = 0;
	llm_prices(&m, &p, NULL);
	assert_true(p.cached_in == 0.5 && p.cache_write == 0);
	/* an unknown model: cached tokens at the input price */
	m = (struct model_config){.provider = "openai",
	                          .model = "my-finetune",
	                          .price_in = 4,
	                          .price_out = 8,
	                          .price_cached_in = -1,
	                          .price_cache_write = -1};
	llm_prices(&m, &p, &known);
	assert_true(known && p.cached_in == 4 && p.cache_write == 4);
	/* more cached than prompt tokens (a confused server): never a negative rest */
	u = (struct llm_usage){.in = 10, .cached = 50};
	assert_true(near(cost_usd(&p, &u), 50 * 4 / 1e6));
}

static void test_reasoning_models(void **state)
{
	(void)state;
	const char *yes[] = {"o1",
	                     "o1-mini",
	                     "o3-mini-2025-01-31",
	                     "o4-mini",
	                     "gpt-5",
	                     "gpt-5-mini-2025-08-07",
	                     "openai/gpt-5-nano"};
	const char *no[] = {"gpt-4o",          "gpt-4.1-mini", "gpt-5-chat-latest",
	                    "claude-sonnet-4", "llama3.1:8b",  "o"};
	struct model_config m = {.provider = "openai"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		m.model = (char *)yes[i];
		if (!llm_is_reasoning(&m))
			fail_msg("%s should be a reasoning model", yes[i]);
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		m.model = (char *)no[i];
		if (llm_is_reasoning(&m))
			fail_msg("%s should not be a reasoning model", no[i]);
	}
	m.reasoning = MODEL_REASONING_YES; /* the configuration says so */
	assert_true(llm_is_reasoning(&m));
	m.model = "o3";
	m.reasoning = MODEL_REASONING_NO;
	assert_false(llm_is_reasoning(&m));
}

static void test_arithmetic(void **state)
{
	(void)state;
	struct llm_usage u = {.in = 1000000, .out = 500000};
	struct llm_prices p = {2.5, 10, 1.25, 2.5};
	double c = cost_usd(&p, &u);
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
	    cmocka_unit_test(test_lookup),        cmocka_unit_test(test_llm_price),
	    cmocka_unit_test(test_cached_prices), cmocka_unit_test(test_reasoning_models),
	    cmocka_unit_test(test_arithmetic),    cmocka_unit_test(test_book),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_request_key.c: llm_request_key writes its canonical text itself; it must give the keys
 * that the cJSON tree printed with cJSON_PrintUnformatted gave (the cache on disk holds those).
 * The reference below is the former implementation, compared on awkward strings and numbers,
 * plus what a request to an OpenAI reasoning model adds (no temperature is sent to it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"
#include "llm/provider.h"

static void reference_key(const struct llm_request *req, char out[65])
{
	const struct model_config *m = req->model;
	const struct provider_ops *ops = provider_find(m->provider);
	const char *base = "";
	if (ops && !ops->build)
		base = m->rules ? m->rules : "";
	else if (ops)
		base =
		    provider_base_url(ops, m->base_url) ? provider_base_url(ops, m->base_url) : "";
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "provider", m->provider ? m->provider : "");
	cJSON_AddStringToObject(o, "base_url", base);
	cJSON_AddStringToObject(o, "model", m->model ? m->model : "");
	cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
	for (size_t i = 0; i < req->n_messages; i++) {
		cJSON *mo = cJSON_CreateObject();
		cJSON_AddStringToObject(mo, "role",
		                        req->messages[i].role ? req->messages[i].role : "");
		cJSON_AddStringToObject(mo, "content",
		                        req->messages[i].content ? req->messages[i].content : "");
		cJSON_AddItemToArray(msgs, mo);
	}
	bool reasoning = m->provider && !strcmp(m->provider, "openai") && llm_is_reasoning(m);
	if (reasoning)
		cJSON_AddNullToObject(o, "temperature");
	else
		cJSON_AddNumberToObject(o, "temperature", m->temperature);
	cJSON_AddNumberToObject(o, "max_tokens", m->max_tokens);
	if (reasoning)
		cJSON_AddTrueToObject(o, "reasoning");
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_true(EVP_Digest(json, strlen(json), md, &n, EVP_sha256(), NULL));
	free(json);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void expect_same(const struct llm_request *req)
{
	char a[65], b[65];
	llm_request_key(req, a);
	reference_key(req, b);
	assert_string_equal(a, b);
}

static void test_key_fixed(void **state)
{
	(void)state;
	struct model_config m = {.provider = "openai",
	                         .model = "gpt-4o-mini",
	                         .temperature = 0.7,
	                         .max_tokens = 256,
	                         .base_url = "http://localhost:8000/v1"};
	struct llm_message msg[] = {{"system", "Be brief."}, {"user", "What is 2+2?"}};
	struct llm_request req = {&m, msg, 2, NULL};
	char k[65];
	llm_request_key(&req, k);
	/* sha256 of {"v":1,"provider":"openai","base_url":"http://localhost:8000/v1","model":
	 * "gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user",
	 * "content":"What is 2+2?"}],"temperature":0.7,"max_tokens":256} (cache files hold it) */
	assert_string_equal(k, "69d611abf5358804408c4186009d028cf55440ad0859e10f7b1774b339d7b5fb");
	expect_same(&req);
}

static void test_key_strings(void **state)
{
	(void)state;
	char every[256];
	for (int i = 1; i < 256; i++)
		every[i - 1] = (char)i;
	every[255] = '\0';
	const char *texts[] = {
	    "",           "plain",        "quote \" backslash \\ slash /",
	    "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\xff\xfe",   every,          NULL};
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		for (size_t j = 0; j < ARRAY_SIZE(texts); j++) {
			struct model_config m = {.provider = "openai",
			                         .model = (char *)texts[i],
			                         .base_url = "http://127.0.0.1:9/v1"};
			struct llm_message msg[] = {{texts[j], texts[i]}, {"user", texts[j]}};
			struct llm_request req = {&m, msg, 2, NULL};
			expect_same(&req);
			req.n_messages = 0;
			expect_same(&req);
		}
	const char *providers[] = {"anthropic", "ollama", "scripted", "nonesuch", "", NULL};
	for (size_t i = 0; i < ARRAY_SIZE(providers); i++) {
		struct model_config m = {
		    .provider = (char *)providers[i], .model = "m", .rules = "rules.txt"};
		struct llm_message msg = {"user", "hi"};
		struct llm_request req = {&m, &msg, 1, NULL};
		expect_same(&req);
	}
}

static void test_key_numbers(void **state)
{
	(void)state;
	const double temps[] = {0,         -0.0,         0.7,           1,
	                        2,         1.0 / 3,      0.1 + 0.2,     1e-7,
	                        1e300,     -1.5,         123456.5,      1e15,
	                        1e16,      4e9,          NAN,           INFINITY,
	                        -INFINITY, 2147483647.0, -2147483648.0, 0.30000000000000004};
	const int maxes[] = {0, 1, -1, 4096, 2147483647, -2147483647 - 1};
	for (int round = 0; round < 2; round++) /* the second round reads remembered numbers */
		for (size_t i = 0; i < ARRAY_SIZE(temps); i++)
			for (size_t j = 0; j < ARRAY_SIZE(maxes); j++) {
				struct model_config m = {.provider = "openai",
				                         .model = "m",
				                         .temperature = temps[i],
				                         .max_tokens = maxes[j]};
				struct llm_message msg = {"user", "hi"};
				struct llm_request req = {&m, &msg, 1, NULL};
				expect_same(&req);
			}
}

static void test_key_reasoning(void **state)
{
	(void)state;
	struct llm_message msg = {"user", "hi"};
	const char *models[] = {"o3-mini", "gpt-5", "o1-2024-12-17", "gpt-4o"};
	const char *providers[] = {"openai", "anthropic"};
	for (size_t p = 0; p < ARRAY_SIZE(providers); p++)
		for (size_t i = 0; i < ARRAY_SIZE(models); i++)
			for (int r = MODEL_REASONING_AUTO; r <= MODEL_REASONING_NO; r++) {
				struct model_config m = {.provider = (char *)providers[p],
				                         .model = (char *)models[i],
				                         .temperature = 0.5,
				                         .max_tokens = 100,
				                         .reasoning = r};
				struct llm_request req = {&m, &msg, 1, NULL};
				expect_same(&req);
				char a[65], b[65];
				llm_request_key(&req, a);
				m.temperature = 1;
				llm_request_key(&req, b);
				/* the temperature counts exactly when it is sent */
				bool sent = p == 1 || !llm_is_reasoning(&m);
				assert_int_equal(strcmp(a, b) != 0, sent);
			}
}

/* The scripted model's key holds its rules file as the session names it: a session opened by
 * a relative or an absolute path finds the same answers; another rules file does not. */
static void test_key_scripted_ref(void **state)
{
	(void)state;
	struct model_config rel = {.provider = "scripted",
	                           .model = "scripted",
	                           .rules = "rules.json",
	                           .rules_ref = "rules.json"};
	struct model_config abs = rel, other = rel;
	abs.rules = "/srv/sessions/hotpot/rules.json";
	other.rules = "/srv/sessions/hotpot/other.json", other.rules_ref = "other.json";
	struct llm_message msg = {"user", "hi"};
	char a[65], b[65], c[65];
	llm_request_key(&(struct llm_request){&rel, &msg, 1, NULL}, a);
	llm_request_key(&(struct llm_request){&abs, &msg, 1, NULL}, b);
	llm_request_key(&(struct llm_request){&other, &msg, 1, NULL}, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_fixed),     cmocka_unit_test(test_key_scripted_ref),
	    cmocka_unit_test(test_key_strings),   cmocka_unit_test(test_key_numbers),
	    cmocka_unit_test(test_key_reasoning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

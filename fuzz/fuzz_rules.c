/* fuzz_rules.c: the scripted model's rules (src/llm/rules.c): parsing a rules file, then
 * answering a conversation with it.  A file either parses or gets a message naming it; a parsed
 * file always answers, the same conversation twice the same way, with a rule it has.
 *
 * Input: the rules file, then after a NUL byte the last user message, then after another NUL a
 * system message (each optional). */
#include <string.h>

#include "fuzz.h"
#include "llm/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 2);
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	const char *user = text + strlen(text) + 1;
	if (user > text + size)
		user = NULL;
	const char *sys = user ? user + strlen(user) + 1 : NULL;
	if (sys && sys > text + size)
		sys = NULL;

	struct err e = {{0}};
	struct rules *r = rules_parse(text, "r.json", &e);
	if (!r) {
		FUZZ_CHECK(str_startswith(e.msg, "r.json"), "a message without the file: %s",
		           e.msg);
		free(text);
		return 0;
	}
	struct llm_message msgs[3] = {
	    {"system", sys ? sys : ""}, {"assistant", "earlier"}, {"user", user ? user : ""}};
	size_t n = 3;
	const struct llm_message *m = msgs;
	if (!sys) {
		m++;
		n--;
	}
	if (!user)
		n--;
	unsigned delay1 = 0, delay2 = 0;
	int rule1 = -2, rule2 = -2;
	char *a = rules_reply_ex(r, m, n, &delay1, &rule1);
	char *b = rules_reply_ex(r, m, n, &delay2, &rule2);
	FUZZ_CHECK(a && b && strcmp(a, b) == 0 && delay1 == delay2 && rule1 == rule2,
	           "the same conversation answered two ways");
	FUZZ_CHECK(rule1 >= -1 && rule1 < (int)rules_count(r), "rule %d of %zu", rule1,
	           rules_count(r));
	FUZZ_CHECK(rule1 >= 0 || delay1 == 0, "a delay without a rule");
	free(a);
	free(b);
	rules_free(r);
	free(text);
	return 0;
}

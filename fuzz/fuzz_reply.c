/* fuzz_reply.c: what is read from a model's reply or a prediction: the roles' tagged answers
 * (src/engine/roles.c), the judge's score and every metric (src/core/metric.c, squad.c), and
 * the word diff of a proposed prompt (src/tui/diff.c).
 *
 * Input: byte 0 picks the role tag; the rest is a reply A, then after a NUL a second text B
 * (the gold answer, the new prompt), then after another NUL a second gold C.
 *   - a role's answer is trimmed, not empty, within ROLE_MAX_ANSWER, cut on a UTF-8 boundary;
 *   - every metric scores A against B and C within [0, 1] or fails with a message; F1 and exact
 *     match are symmetric and exact match of a text with itself is 1; the judge's score is
 *     within [0, 1];
 *   - the diff's spans rebuild A (same + removed) and B (same + added), and its counts add up. */
#include <math.h>
#include <string.h>

#include "core/metric.h"
#include "engine/roles.h"
#include "fuzz.h"
#include "tui/diff.h"

static const char *const metric_specs[] = {
    "{\"type\": \"exact_match\"}",
    "{\"type\": \"f1\", \"threshold\": 0.5}",
    "{\"type\": \"contains\"}",
    "{\"type\": \"regex\"}",
    "{\"type\": \"regex\", \"pattern\": \"(?:answer|ANSWER)\\\\s*\\\\w+\", \"caseless\": true}",
    "{\"type\": \"numeric\", \"abs_tol\": 0.01, \"rel_tol\": 0.001}",
    "{\"type\": \"choice\"}",
    "{\"type\": \"choice\", \"labels\": [\"yes\", \"no\", \"maybe\"]}",
    "{\"type\": \"one_minus_mae\", \"scale\": [1, 5]}",
    "{\"type\": \"llm_judge\", \"model\": \"j\", \"scale_max\": 10}",
};
static struct metric *metrics[ARRAY_SIZE(metric_specs)];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < ARRAY_SIZE(metric_specs); i++) {
		cJSON *j = cJSON_Parse(metric_specs[i]);
		struct err e;
		metrics[i] = metric_from_json(j, &e);
		FUZZ_CHECK(metrics[i], "%s: %s", metric_specs[i], e.msg);
		cJSON_Delete(j);
	}
	return 0;
}

static bool utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80   ? 1
		           : c < 0xC2 ? 0
		           : c < 0xE0 ? 2
		           : c < 0xF0 ? 3
		           : c < 0xF5 ? 4
		                      : 0;
		if (k == 0 || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if (((unsigned char)s[i + j] & 0xC0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static void check_answer(const char *reply, const char *ans)
{
	size_t n = strlen(ans);
	FUZZ_CHECK(n > 0 && n <= ROLE_MAX_ANSWER, "answer of %zu bytes", n);
	FUZZ_CHECK(!strchr(" \t\r\n", ans[0]) && !strchr(" \t\r\n", ans[n - 1]), "not trimmed");
	if (utf8_valid(reply, strlen(reply)))
		FUZZ_CHECK(utf8_valid(ans, n), "the answer is cut inside a character");
}

static void check_roles(int sel, const char *reply)
{
	const char *tag = role_tag((enum role)(sel % ROLE_COUNT));
	char *ans = NULL;
	struct err e = {{0}};
	if (role_extract(reply, tag, &ans, &e) == 0)
		check_answer(reply, ans);
	else
		FUZZ_CHECK(!ans && e.msg[0], "failed without a message");
	free(ans);
	char **all = NULL;
	size_t n = role_extract_all(reply, tag, &all);
	FUZZ_CHECK(n > 0 || !all, "no answers but a list");
	for (size_t i = 0; i < n; i++)
		check_answer(reply, all[i]);
	role_strings_free(all, n);
}

static void check_metrics(const char *pred, const char *const *golds, size_t ngolds)
{
	for (size_t i = 0; i < ARRAY_SIZE(metrics); i++) {
		double score = -1;
		struct err e = {{0}};
		if (metric_is_judge(metrics[i])) {
			if (metric_judge_parse(metrics[i], pred, &score, &e) == 0)
				FUZZ_CHECK(score >= 0 && score <= 1, "judge score %g", score);
			else
				FUZZ_CHECK(e.msg[0], "judge failed without a message");
			char *r = metric_judge_render(metrics[i], pred, golds, ngolds);
			FUZZ_CHECK(r, "no judge prompt");
			free(r);
			continue;
		}
		if (metric_score(metrics[i], pred, golds, ngolds, &score, &e) == 0)
			FUZZ_CHECK(score >= 0 && score <= 1, "%s: score %g", metric_specs[i],
			           score);
		else
			FUZZ_CHECK(e.msg[0], "%s failed without a message", metric_specs[i]);
	}
	double f = squad_f1(pred, golds[0]), g = squad_f1(golds[0], pred);
	FUZZ_CHECK(f >= 0 && f <= 1 && fabs(f - g) < 1e-12, "f1 %g, reversed %g", f, g);
	FUZZ_CHECK(squad_exact_match(pred, golds[0]) == squad_exact_match(golds[0], pred),
	           "exact match not symmetric");
	FUZZ_CHECK(squad_exact_match(pred, pred) == 1.0, "a text does not match itself");
	free(squad_normalize(pred));
}

static void check_diff(const char *a, const char *b)
{
	struct diff d;
	diff_texts(&d, a, b);
	struct sbuf ra = {0}, rb = {0};
	size_t added = 0, removed = 0, want_added = 0, want_removed = 0;
	for (size_t i = 0; i < d.n; i++) {
		const struct diff_span *s = &d.v[i];
		if (s->kind != DIFF_ADDED)
			sbuf_add(&ra, s->text, s->len);
		if (s->kind != DIFF_REMOVED)
			sbuf_add(&rb, s->text, s->len);
		want_added += s->kind == DIFF_ADDED ? s->len : 0;
		want_removed += s->kind == DIFF_REMOVED ? s->len : 0;
	}
	FUZZ_CHECK(strcmp(sbuf_str(&ra), a) == 0, "same + removed is not the old text");
	FUZZ_CHECK(strcmp(sbuf_str(&rb), b) == 0, "same + added is not the new text");
	diff_stats(&d, &added, &removed);
	FUZZ_CHECK(added == want_added && removed == want_removed,
	           "stats +%zu -%zu, spans +%zu -%zu", added, removed, want_added, want_removed);
	sbuf_free(&ra);
	sbuf_free(&rb);
	diff_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* three NUL-terminated texts, the missing ones empty */
	char *buf = xmalloc(size + 2);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = buf[size] = buf[size + 1] = '\0';
	const char *a = buf, *b = a + strlen(a) + 1;
	if (b > buf + size - 1)
		b = buf + size;
	const char *c = b + strlen(b) + 1;
	if (c > buf + size)
		c = buf + size + 1;
	const char *golds[] = {b, c};

	check_roles(data[0], a);
	check_metrics(a, golds, *c ? 2 : 1);
	check_diff(a, b);
	free(buf);
	return 0;
}

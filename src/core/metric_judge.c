/* metric_judge.c: the llm_judge metric: its options, the rubric it renders for the judge model
 * and the score read back from the judge's reply (the engine makes the call; see metric.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric_int.h"

/* ---- llm_judge ---- */

const char *const metric_judge_keys[] = {"model", "rubric", "score_pattern", "scale_max", NULL};

static const char default_rubric[] =
    "You are grading an answer against the reference answer.\n"
    "\n"
    "Reference answer:\n"
    "{{gold}}\n"
    "\n"
    "Answer to grade:\n"
    "{{prediction}}\n"
    "\n"
    "Judge only whether the answer states the same thing as the reference; ignore wording, "
    "formatting and extra explanation that does not contradict it. Give partial credit between "
    "0 and 1 when it is partly right.\n"
    "End your reply with one line of the form \"Score: X\", X a number from 0 to 1.\n";
static const char default_score_pattern[] = "(?i)score\\s*[:=]\\s*\\**\\s*([0-9]+(?:\\.[0-9]+)?)";

/* The placeholder ("prediction", "gold") whose "{{ name }}" starts at s, or NULL. */
static const char *const rubric_names[] = {"prediction", "gold"};

static const char *rubric_placeholder(const char *s, size_t *len)
{
	if (strncmp(s, "{{", 2) != 0)
		return NULL;
	const char *p = s + 2;
	p += strspn(p, " ");
	for (size_t i = 0; i < ARRAY_SIZE(rubric_names); i++) {
		size_t n = strlen(rubric_names[i]);
		if (strncmp(p, rubric_names[i], n) != 0)
			continue;
		const char *q = p + n + strspn(p + n, " ");
		if (strncmp(q, "}}", 2) == 0) {
			*len = (size_t)(q + 2 - s);
			return rubric_names[i];
		}
	}
	return NULL;
}

static int check_rubric(const char *rubric, struct err *e)
{
	bool has_prediction = false;
	for (const char *s = strstr(rubric, "{{"); s; s = strstr(s + 2, "{{")) {
		size_t len;
		const char *name = rubric_placeholder(s, &len);
		if (!name)
			return err_set(e,
			               "metric.rubric: unknown placeholder \"%.*s\" (known: "
			               "{{prediction}}, {{gold}})",
			               (int)MIN(strcspn(s, "}") + 2, 40), s);
		has_prediction |= strcmp(name, "prediction") == 0;
	}
	if (!has_prediction)
		return err_set(e,
		               "metric.rubric must contain {{prediction}} (the answer to grade)");
	return 0;
}

int metric_parse_judge(struct metric *m, const cJSON *j, struct err *e)
{
	m->judge.scale_max = 1;
	if (metric_opt_string(j, "model", true, "the name of the model configuration that judges",
	                      &m->model, e) < 0 ||
	    metric_opt_string(j, "rubric", false,
	                      "the judge's prompt with {{prediction}} and {{gold}}", &m->rubric,
	                      e) < 0 ||
	    metric_opt_string(j, "score_pattern", false,
	                      "a PCRE2 pattern whose group 1 is the score", &m->score_pattern,
	                      e) < 0 ||
	    metric_opt_number(j, "scale_max", 1e-300, HUGE_VAL, "> 0 (the judge's best score)",
	                      &m->judge.scale_max, e) < 0)
		return -1;
	if (!m->rubric)
		m->rubric = xstrdup(default_rubric);
	if (!m->score_pattern)
		m->score_pattern = xstrdup(default_score_pattern);
	if (check_rubric(m->rubric, e) < 0)
		return -1;
	m->rx = rx_compile(m->score_pattern, 0, e);
	if (!m->rx)
		return err_prefix(e, "metric.score_pattern");
	if (rx_capture_count(m->rx) < 1)
		return err_set(e, "metric.score_pattern needs a group around the score, like "
		                  "\"Score: ([0-9.]+)\"");
	m->judge.model = m->model;
	m->judge.rubric = m->rubric;
	m->judge.score_pattern = m->score_pattern;
	return 0;
}

const struct metric_judge *metric_judge(const struct metric *m)
{
	return m->model ? &m->judge : NULL;
}

char *metric_judge_render(const struct metric *m, const char *pred, const char *const *golds,
                          size_t ngolds)
{
	if (!metric_judge(m))
		return NULL;
	struct sbuf gold = {0}, out = {0};
	if (ngolds == 1)
		sbuf_adds(&gold, golds[0] ? golds[0] : "");
	for (size_t i = 0; ngolds > 1 && i < ngolds; i++)
		sbuf_addf(&gold, "%s- %s", i ? "\n" : "", golds[i] ? golds[i] : "");
	for (const char *s = m->rubric; *s;) {
		size_t len;
		const char *name = rubric_placeholder(s, &len);
		if (!name) {
			sbuf_addc(&out, *s++);
			continue;
		}
		sbuf_adds(&out, strcmp(name, "gold") == 0 ? sbuf_str(&gold) : pred ? pred : "");
		s += len;
	}
	sbuf_free(&gold);
	return sbuf_take(&out);
}

int metric_judge_parse(const struct metric *m, const char *reply, double *score, struct err *e)
{
	if (!metric_judge(m))
		return err_set(e, "metric %s is no llm_judge", m->type->name);
	struct rx_match mt;
	int rc = rx_match_last(m->rx, reply, &mt, e);
	if (rc < 0)
		return err_prefix(e, "metric llm_judge");
	char *g = rc ? rx_group_dup(&mt, reply, 1) : NULL;
	double v;
	if (!g || parse_double(g, &v) < 0) {
		err_set(
		    e,
		    "metric llm_judge: no score in the judge's reply (score_pattern \"%.80s\" %s)",
		    m->score_pattern, g ? "captured no number" : "did not match");
		free(g);
		return -1;
	}
	free(g);
	*score = metric_clamp01(v / m->judge.scale_max);
	return 0;
}

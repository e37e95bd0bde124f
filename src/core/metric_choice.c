/* metric_choice.c: the choice metric: an option letter or a label (with aliases) read from the
 * prediction and compared with the gold's (see the rules below and metric_int.h). */
#include <stdlib.h>
#include <string.h>

#include "core/metric_int.h"

/* ---- choice ----
 * Option letters (no "labels"): the gold must be a bare option, "(B)", "B", "b)", "B.".  The
 * prediction's choice is, in this order:
 *   1. the whole (trimmed) prediction when it is a bare option: "b)", "(B).", "B";
 *   2. else the option after the last "answer"/"answer is"/"answer:" ("The answer is (B).",
 *      "Answer: **B**"): "(x)" or "x)" in either case, an upper-case letter standing alone, or a
 *      lower-case letter only when it ends the text ("so the answer is b") so that "the answer
 *      is a dog" chooses nothing;
 *   3. else the last "(X)" anywhere in the prediction;
 *   otherwise no choice (score 0).  Letters compare case-insensitively.
 * With "labels" (e.g. ["True", "False"], or labels with aliases): the gold must contain a label;
 * the prediction's choice is the label (or alias) that appears first as a whole word, the
 * longest where several start at one place (case-insensitive, Unicode letters, space, '_' and
 * '-' alike), looking first after the last "answer" marker and then in the whole text. */

const char *const metric_choice_keys[] = {"labels", NULL};

static const char bare_pattern[] =
    "^\\s*\\**\\s*(?:\\(([A-Za-z])\\)|([A-Za-z])[).:]?)\\s*\\**\\s*\\.?\\s*$";
static const char marker_pattern[] =
    "(?i:\\banswer)(?:\\s+(?i:is))?\\s*[:=]?\\s*\\**\\s*"
    "(?:\\(([A-Za-z])\\)|([A-Za-z])\\)|([A-Z])(?![\\w])|([A-Za-z])\\s*\\**\\s*\\.?\\s*$)";
static const char paren_pattern[] = "\\(([A-Za-z])\\)";
static const char answer_marker[] = "(?i)\\banswer(?:\\s+is)?\\s*[:=]?";

/* One way of writing a label: the label itself or one of its aliases. */
struct label_alt {
	const char *text;
	size_t label;
};

static int alt_cmp(const void *a, const void *b)
{
	size_t x = strlen(((const struct label_alt *)a)->text);
	size_t y = strlen(((const struct label_alt *)b)->text);
	return (x < y) - (x > y); /* longest first */
}

/* An alternative as a pattern: letters and digits as they are, other ASCII escaped, and a run of
 * spaces, '_' or '-' matches any such run ("NOT_SUPPORTED" is also "not supported"). */
static void alt_pattern(struct sbuf *b, const char *s)
{
	while (*s) {
		size_t sep = strspn(s, " \t_-");
		if (sep) {
			sbuf_adds(b, "[\\s_-]+");
			s += sep;
			continue;
		}
		unsigned char c = (unsigned char)*s;
		if (c < 0x80 && !(c >= '0' && c <= '9') &&
		    !((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			sbuf_addc(b, '\\');
		sbuf_addc(b, *s++);
	}
}

/* Labels become one caseless alternation of whole words, one group per way of writing a label,
 * longest first, so that a label that ends another ("SUPPORTED" / "NOT SUPPORTED") or begins
 * it ("no" / "no answer") cannot hide it.  "labels" is a list of labels or an object from each
 * label to a list of aliases: {"SUPPORTED": ["true"], "NOT_SUPPORTED": ["refuted"]}. */
static int parse_labels(struct metric *m, const cJSON *v, struct err *e)
{
	static const char what[] =
	    "metric.labels must be a list of 1 to 31 non-empty strings, e.g. [\"True\", "
	    "\"False\"], or an object from each label to a list of aliases, e.g. {\"SUPPORTED\": "
	    "[\"true\"]} (31 labels and aliases at most)";
	int n = cJSON_IsArray(v) || cJSON_IsObject(v) ? cJSON_GetArraySize(v) : 0;
	if (n < 1 || n >= RX_MAX_GROUPS)
		return err_set(e, "%s", what);
	m->labels = xcalloc((size_t)n, sizeof *m->labels);
	struct label_alt alts[RX_MAX_GROUPS - 1];
	size_t nalts = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		const char *name = cJSON_IsObject(v) ? it->string : it->valuestring;
		if (!name || (cJSON_IsArray(v) && !cJSON_IsString(it)) ||
		    (cJSON_IsObject(v) && !cJSON_IsArray(it)))
			return err_set(e, "%s", what);
		char *label = str_trim(xstrdup(name));
		m->labels[m->nlabels++] = label;
		if (!*label || nalts >= ARRAY_SIZE(alts))
			return err_set(e, "%s", what);
		alts[nalts++] = (struct label_alt){label, m->nlabels - 1};
		const cJSON *alias, *aliases = cJSON_IsObject(v) ? it : NULL;
		cJSON_ArrayForEach(alias, aliases)
		{
			if (!cJSON_IsString(alias) || !*alias->valuestring ||
			    nalts >= ARRAY_SIZE(alts))
				return err_set(e, "%s", what);
			alts[nalts++] = (struct label_alt){alias->valuestring, m->nlabels - 1};
		}
	}
	qsort(alts, nalts, sizeof *alts, alt_cmp);
	m->alt_label = xcalloc(nalts, sizeof *m->alt_label);
	m->nalts = nalts;
	struct sbuf b = {0};
	sbuf_adds(&b, "(?<![\\p{L}\\p{N}_])(?:");
	for (size_t k = 0; k < nalts; k++) {
		m->alt_label[k] = alts[k].label;
		sbuf_adds(&b, k ? "|(" : "(");
		alt_pattern(&b, alts[k].text);
		sbuf_addc(&b, ')');
	}
	sbuf_adds(&b, ")(?![\\p{L}\\p{N}_])");
	m->rx = rx_compile(sbuf_str(&b), RX_CASELESS, e);
	sbuf_free(&b);
	return m->rx ? 0 : err_prefix(e, "metric.labels");
}

int metric_parse_choice(struct metric *m, const cJSON *j, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "labels");
	if (!(m->rx_answer = rx_compile(answer_marker, 0, e)))
		return -1;
	if (v)
		return parse_labels(m, v, e);
	if (!(m->rx_bare = rx_compile(bare_pattern, 0, e)) ||
	    !(m->rx_marker = rx_compile(marker_pattern, 0, e)) ||
	    !(m->rx_paren = rx_compile(paren_pattern, 0, e)))
		return -1;
	return 0;
}

/* The letter of the first group that took part in a match, upper-cased. */
static char match_letter(const struct rx_match *mt, const char *s)
{
	for (int g = 1; g < mt->ngroups; g++)
		if (mt->start[g] != SIZE_MAX)
			return (char)(s[mt->start[g]] & ~0x20);
	return 0;
}

/* The option letter chosen by text, 0 when none; -1 on a regex error. */
static int choice_letter(const struct metric *m, const char *s, bool gold, struct err *e)
{
	struct rx_match mt;
	int rc = rx_match(m->rx_bare, s, strlen(s), 0, &mt, e);
	if (rc || gold)
		return rc <= 0 ? rc : match_letter(&mt, s);
	const struct rx *rules[] = {m->rx_marker, m->rx_paren};
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		rc = rx_match_last(rules[i], s, &mt, e);
		if (rc)
			return rc < 0 ? -1 : match_letter(&mt, s);
	}
	return 0;
}

/* The index of the label chosen by text (+1; an alias stands for its label), 0 when none, -1
 * on a regex error. */
static int choice_label(const struct metric *m, const char *s, struct err *e)
{
	struct rx_match mt;
	size_t from = 0;
	int rc = rx_match_last(m->rx_answer, s, &mt, e);
	if (rc < 0)
		return -1;
	if (rc)
		from = mt.end[0];
	for (;;) {
		rc = rx_match(m->rx, s, strlen(s), from, &mt, e);
		if (rc < 0)
			return -1;
		if (rc)
			break;
		if (from == 0)
			return 0;
		from = 0;
	}
	for (int g = 1; g < mt.ngroups; g++)
		if (mt.start[g] != SIZE_MAX)
			return (int)m->alt_label[g - 1] + 1;
	return 0;
}

int metric_score_choice(const struct metric *m, const char *pred, const char *gold, double *out,
                        struct err *e)
{
	int g, p;
	if (m->labels) {
		g = choice_label(m, gold, e);
		if (g == 0)
			return err_set(
			    e, "metric choice: the gold answer \"%.60s\" is none of the labels",
			    gold);
		p = g > 0 ? choice_label(m, pred, e) : 0;
	} else {
		g = choice_letter(m, gold, true, e);
		if (g == 0)
			return err_set(
			    e,
			    "metric choice: the gold answer \"%.60s\" is no option letter "
			    "like \"(B)\" or \"B\"; give the metric a \"labels\" list",
			    gold);
		p = g > 0 ? choice_letter(m, pred, false, e) : 0;
	}
	if (g < 0 || p < 0)
		return err_prefix(e, "metric choice");
	*out = p == g ? 1.0 : 0.0;
	return 0;
}

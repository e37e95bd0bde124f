/* metric.c: the metric types as one table of {name, default threshold, keys, options parser,
 * scorer}; reading the session's "metric" object; the max over gold answers; the text and
 * number metrics (exact_match, f1, contains, hotpot_em/f1, regex, numeric, one_minus_mae).
 * choice is in metric_choice.c, llm_judge in metric_judge.c, the SQuAD normalisation in
 * squad.c.
 *
 * Default pass thresholds (a run is "good" when its score >= threshold):
 *   exact_match, contains, regex, choice, numeric   1.0   (these scores are 0 or 1)
 *   f1                                              0.5   (most of the answer's tokens right)
 *   one_minus_mae                                   0.75  (within one point on a 1..5 scale)
 *   llm_judge                                       0.5   (the judge's own midpoint) */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric_int.h"

/* ---- option readers: absent keep the default, present must have the right type ---- */

int metric_opt_number(const cJSON *j, const char *key, double lo, double hi, const char *what,
                      double *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
	    v->valuedouble > hi)
		return err_set(e, "metric.%s must be a number %s", key, what);
	*out = v->valuedouble;
	return 0;
}

int metric_opt_bool(const cJSON *j, const char *key, bool *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return err_set(e, "metric.%s must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* *out stays NULL when the key is absent (and not required). */
int metric_opt_string(const cJSON *j, const char *key, bool required, const char *what, char **out,
                      struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!v) {
		if (required)
			return err_set(e, "metric.%s is required: %s", key, what);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return err_set(e, "metric.%s must be a non-empty string: %s", key, what);
	*out = xstrdup(v->valuestring);
	return 0;
}

/* ---- numbers in text ---- */

/* A number: optional sign (not glued to a word: "COVID-19" is 19), digits with optional comma
 * thousands separators ("1,234,567"), optional decimals and exponent; not the tail of another
 * number ("3.14.15" holds only 3.14).  U+2212 MINUS SIGN counts as '-'. */
static const char number_pattern[] = "(?:(?<![\\w.])[-+\\x{2212}]|(?<![\\d.]))"
                                     "(?:(?:\\d{1,3}+(?:,\\d{3})++|\\d++)(?:\\.\\d++)?|\\.\\d++)"
                                     "(?:[eE][-+]?\\d+)?";

/* The value of a matched number; NaN when a decimal overflows (1e999), infinity when an integer
 * does (its digits are what counts, see integers_equal).  The '.' becomes the locale's
 * decimal point, so a front end that set LC_NUMERIC to "de_DE" still reads "3.14" as 3.14. */
static double number_value(const char *s, size_t len)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ',')
			continue;
		if (s[i] == '.') {
			sbuf_adds(&b, localeconv()->decimal_point);
			continue;
		}
		if (len - i >= 3 && memcmp(s + i, "\xe2\x88\x92", 3) == 0) {
			sbuf_addc(&b, '-');
			i += 2;
			continue;
		}
		sbuf_addc(&b, s[i]);
	}
	double v = NAN;
	if (parse_double(sbuf_str(&b), &v) < 0) {
		/* an integer too long for a double is still a number: its digits are compared */
		const char *t = sbuf_str(&b);
		v = t[strspn(t, "-+0123456789")] ? NAN : t[0] == '-' ? -INFINITY : INFINITY;
	}
	sbuf_free(&b);
	return v;
}

/* A number found in a text: its value and where its text is. */
struct number {
	double v;
	const char *s;
	size_t len;
};

/* The first (last == false) or last number in s from byte from: 1 found, 0 none, -1 regex
 * error. */
static int number_find(const struct metric *m, const char *s, size_t from, bool last,
                       struct number *out, struct err *e)
{
	size_t len = strlen(s), off = from;
	int found = 0;
	struct rx_match mt;
	for (;;) {
		int rc = rx_match(m->rx, s, len, off, &mt, e);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		double v = number_value(s + mt.start[0], mt.end[0] - mt.start[0]);
		if (!isnan(v)) {
			*out = (struct number){v, s + mt.start[0], mt.end[0] - mt.start[0]};
			found = 1;
			if (!last)
				break;
		}
		off = mt.end[0];
	}
	return found;
}

/* The gold's number: the first after the last "####" when it has one (GSM8K's "#### 72"), else
 * its first or last number.  1 found, 0 none, -1 error. */
static int gold_number(const struct metric *m, const char *gold, bool last, struct number *g,
                       struct err *e)
{
	const char *mark = NULL;
	for (const char *p = strstr(gold, "####"); p; p = strstr(p + 4, "####"))
		mark = p + 4;
	if (mark)
		return number_find(m, gold, (size_t)(mark - gold), false, g, e);
	return number_find(m, gold, 0, last, g, e);
}

/* The first or last number of the gold (*g, which must have one) and of the prediction (*p):
 * 1 both found, 0 no number in the prediction, -1 error. */
static int numbers_pair(const struct metric *m, const char *pred, const char *gold, bool last,
                        struct number *p, struct number *g, struct err *e)
{
	int rc = gold_number(m, gold, last, g, e);
	if (rc == 0)
		return err_set(e, "metric %s: the gold answer \"%.60s\" holds no number",
		               m->type->name, gold);
	return rc < 0 ? -1 : number_find(m, pred, 0, last, p, e);
}

/* The digits of an integer's text without sign, separators and leading zeros into b (the sign
 * in *neg); false when the text is no integer (a decimal point or an exponent). */
static bool integer_digits(const struct number *n, struct sbuf *b, bool *neg)
{
	*neg = false;
	for (size_t i = 0; i < n->len; i++) {
		char c = n->s[i];
		if (c == '.' || c == 'e' || c == 'E')
			return false;
		if (c == '-' || (unsigned char)c == 0xe2)
			*neg = true;
		if (c >= '0' && c <= '9' && (b->len || c != '0'))
			sbuf_addc(b, c);
	}
	if (!b->len)
		*neg = false; /* -0 is 0 */
	return true;
}

/* Integers beyond 2^53 are not all doubles (12345678901234567890 and ...891 are the same
 * double): when both numbers are written as integers and one is that large, their digits are
 * compared exactly.  -1 when that does not apply, else 1 equal, 0 different. */
static int integers_equal(const struct number *p, const struct number *g)
{
	if (fabs(p->v) < 9007199254740992.0 && fabs(g->v) < 9007199254740992.0)
		return -1;
	struct sbuf a = {0}, b = {0};
	bool na, nb;
	int r = -1;
	if (integer_digits(p, &a, &na) && integer_digits(g, &b, &nb))
		r = na == nb && strcmp(sbuf_str(&a), sbuf_str(&b)) == 0;
	sbuf_free(&a);
	sbuf_free(&b);
	return r;
}

double metric_clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int parse_number_rx(struct metric *m, struct err *e)
{
	m->rx = rx_compile(number_pattern, 0, e);
	return m->rx ? 0 : -1;
}

/* ---- exact_match, f1, contains, hotpot_em, hotpot_f1 ----
 * "normalize": false (strict) compares the texts trimmed of ASCII whitespace, tokens split at
 * whitespace, case and punctuation kept: for golds that are all punctuation (BBH's
 * dyck_languages "] ) }"), which the SQuAD normalisation turns into nothing. */

static const char *const squad_keys[] = {"normalize", NULL};

static int parse_squad(struct metric *m, const cJSON *j, struct err *e)
{
	bool normalize = true;
	if (metric_opt_bool(j, "normalize", &normalize, e) < 0)
		return -1;
	m->strict = !normalize;
	return 0;
}

/* The text as the metric compares it: normalised, or (strict) trimmed with its whitespace runs
 * collapsed to one space.  Caller frees. */
static char *compare_form(const struct metric *m, const char *s)
{
	if (!m->strict)
		return squad_normalize(s);
	struct sbuf b = {0};
	for (const char *p = s; *p;) {
		size_t sp = strspn(p, " \t\n\r\f\v");
		if (sp && b.len && p[sp])
			sbuf_addc(&b, ' ');
		p += sp;
		size_t w = strcspn(p, " \t\n\r\f\v");
		sbuf_add(&b, p, w);
		p += w;
	}
	return sbuf_take(&b);
}

static int score_exact_match(const struct metric *m, const char *pred, const char *gold,
                             double *out, struct err *e)
{
	(void)e;
	if (!m->strict) {
		*out = squad_exact_match(pred, gold);
		return 0;
	}
	char *p = compare_form(m, pred), *g = compare_form(m, gold);
	*out = strcmp(p, g) == 0;
	free(p);
	free(g);
	return 0;
}

struct token {
	const char *s;
	size_t len;
};

static int token_cmp(const void *a, const void *b)
{
	const struct token *x = a, *y = b;
	int r = memcmp(x->s, y->s, MIN(x->len, y->len));
	return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* The tokens of a text in compare form (separated by single spaces), sorted bytewise. */
static struct token *tokens_sorted(const char *s, size_t *n)
{
	struct token *t = NULL;
	size_t cap = 0;
	for (*n = 0; *s; s += *s == ' ') {
		size_t len = strcspn(s, " ");
		t = xgrow(t, &cap, *n + 1, sizeof *t);
		t[(*n)++] = (struct token){s, len};
		s += len;
	}
	if (*n)
		qsort(t, *n, sizeof *t, token_cmp);
	return t;
}

/* Token F1 (multiset overlap) of two texts in compare form, as squad_f1 computes it. */
static double tokens_f1(const char *p, const char *g)
{
	size_t np, ng, same = 0;
	struct token *tp = tokens_sorted(p, &np), *tg = tokens_sorted(g, &ng);
	for (size_t i = 0, j = 0; i < np && j < ng;) {
		int r = token_cmp(&tp[i], &tg[j]);
		same += r == 0;
		i += r <= 0;
		j += r >= 0;
	}
	free(tp);
	free(tg);
	if (!same)
		return 0.0;
	double precision = 1.0 * (double)same / (double)np;
	double recall = 1.0 * (double)same / (double)ng;
	return (2 * precision * recall) / (precision + recall);
}

static int score_f1(const struct metric *m, const char *pred, const char *gold, double *out,
                    struct err *e)
{
	(void)e;
	if (!m->strict) {
		*out = squad_f1(pred, gold);
		return 0;
	}
	char *p = compare_form(m, pred), *g = compare_form(m, gold);
	*out = tokens_f1(p, g);
	free(p);
	free(g);
	return 0;
}

/* Both sides in compare form; the gold must occur as whole tokens ("1" is not in "10").
 * A gold that normalises to nothing ("the") only matches a prediction that does too. */
static int score_contains(const struct metric *m, const char *pred, const char *gold, double *out,
                          struct err *e)
{
	(void)e;
	char *p = compare_form(m, pred), *g = compare_form(m, gold);
	if (!*g) {
		*out = *p ? 0.0 : 1.0;
	} else {
		char *pp = xasprintf(" %s ", p), *gg = xasprintf(" %s ", g);
		*out = strstr(pp, gg) ? 1.0 : 0.0;
		free(pp);
		free(gg);
	}
	free(p);
	free(g);
	return 0;
}

/* The official HotpotQA answer metric (hotpot_evaluate_v1.py): SQuAD's EM and F1, except that
 * F1 is 0 when either side normalises to "yes", "no" or "noanswer" and they differ. */
static int score_hotpot_f1(const struct metric *m, const char *pred, const char *gold, double *out,
                           struct err *e)
{
	(void)m;
	(void)e;
	static const char *const special[] = {"yes", "no", "noanswer"};
	char *p = squad_normalize(pred), *g = squad_normalize(gold);
	bool differ = strcmp(p, g) != 0, zero = false;
	for (size_t i = 0; differ && i < ARRAY_SIZE(special); i++)
		zero |= strcmp(p, special[i]) == 0 || strcmp(g, special[i]) == 0;
	*out = zero ? 0.0 : squad_f1(pred, gold);
	free(p);
	free(g);
	return 0;
}

/* ---- regex ---- */

static const char *const regex_keys[] = {"pattern", "caseless", NULL};

static int parse_regex(struct metric *m, const cJSON *j, struct err *e)
{
	char *pattern = NULL;
	if (metric_opt_bool(j, "caseless", &m->caseless, e) < 0 ||
	    metric_opt_string(j, "pattern", false,
	                      "a PCRE2 pattern the whole prediction must match", &pattern, e) < 0)
		return -1;
	if (!pattern)
		return 0;
	m->rx = rx_compile(pattern, RX_ANCHORED_FULL | (m->caseless ? RX_CASELESS : 0), e);
	free(pattern);
	if (!m->rx)
		return err_prefix(e, "metric.pattern");
	m->gold_free = true;
	return 0;
}

/* The prediction, trimmed of surrounding ASCII whitespace (a model's trailing newline), must
 * match as a whole: the "pattern" when given, else the gold answer read as a pattern. */
static int score_regex(const struct metric *m, const char *pred, const char *gold, double *out,
                       struct err *e)
{
	struct rx *own = NULL;
	if (!m->gold_free) {
		own = rx_compile(gold, RX_ANCHORED_FULL | (m->caseless ? RX_CASELESS : 0), e);
		if (!own)
			return err_prefix(e, "metric regex: gold answer used as the pattern");
	}
	char *p = str_trim(xstrdup(pred));
	int rc = rx_match(own ? own : m->rx, p, strlen(p), 0, NULL, e);
	free(p);
	rx_free(own);
	if (rc < 0)
		return err_prefix(e, "metric regex");
	*out = rc;
	return 0;
}

/* ---- numeric ---- */

static const char *const numeric_keys[] = {"abs_tol", "rel_tol", NULL};

static int parse_numeric(struct metric *m, const cJSON *j, struct err *e)
{
	m->abs_tol = 1e-9;
	m->rel_tol = 0;
	if (metric_opt_number(j, "abs_tol", 0, HUGE_VAL, ">= 0", &m->abs_tol, e) < 0 ||
	    metric_opt_number(j, "rel_tol", 0, HUGE_VAL, ">= 0", &m->rel_tol, e) < 0)
		return -1;
	return parse_number_rx(m, e);
}

/* The last number of the prediction against the gold's number (the first after "####", else
 * its last), as Python's math.isclose: |p - g| <= max(abs_tol, rel_tol * max(|p|, |g|)); two
 * integers beyond 2^53 with no tolerance beyond rounding compare digit by digit. */
static int score_numeric(const struct metric *m, const char *pred, const char *gold, double *out,
                         struct err *e)
{
	struct number g, p;
	int rc = numbers_pair(m, pred, gold, true, &p, &g, e);
	if (rc < 0)
		return -1;
	bool exact = (m->abs_tol < 1 && m->rel_tol == 0) || !isfinite(p.v) || !isfinite(g.v);
	int same = rc && exact ? integers_equal(&p, &g) : -1;
	if (same >= 0)
		*out = same;
	else
		*out = rc &&
		       fabs(p.v - g.v) <= fmax(m->abs_tol, m->rel_tol * fmax(fabs(p.v), fabs(g.v)));
	return 0;
}

/* ---- one_minus_mae ---- */

static const char *const mae_keys[] = {"scale", NULL};

static int parse_mae(struct metric *m, const cJSON *j, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "scale");
	static const char what[] = "metric.scale must be [min, max], two numbers with min < max "
	                           "(e.g. [1, 5])";
	if (!v)
		return err_set(
		    e, "metric.scale is required for one_minus_mae: [min, max], e.g. [1, 5]");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(v, 1)))
		return err_set(e, "%s", what);
	m->lo = cJSON_GetArrayItem(v, 0)->valuedouble;
	m->hi = cJSON_GetArrayItem(v, 1)->valuedouble;
	if (!isfinite(m->lo) || !isfinite(m->hi) || !(m->lo < m->hi))
		return err_set(e, "%s", what);
	return parse_number_rx(m, e);
}

/* The first number of the prediction and of the gold; 1 - |p - g| / (max - min) in [0, 1]. */
static int score_mae(const struct metric *m, const char *pred, const char *gold, double *out,
                     struct err *e)
{
	struct number g, p;
	int rc = numbers_pair(m, pred, gold, false, &p, &g, e);
	if (rc < 0)
		return -1;
	double d = fabs(p.v - g.v);
	*out = rc && isfinite(d) ? metric_clamp01(1.0 - d / (m->hi - m->lo)) : 0.0;
	return 0;
}

/* ---- the table ---- */

static const struct metric_type metric_types[] = {
    {"exact_match", 1.0, squad_keys, parse_squad, score_exact_match,
     "the answer must equal the gold after SQuAD normalisation (case, punctuation, "
     "articles and spacing ignored)"},
    {"f1", 0.5, squad_keys, parse_squad, score_f1,
     "token overlap F1 with the gold after SQuAD normalisation: extra or missing words cost "
     "points"},
    {"contains", 1.0, squad_keys, parse_squad, score_contains,
     "the normalised gold must appear as whole words in the answer"},
    {"hotpot_em", 1.0, NULL, NULL, score_exact_match,
     "the answer must equal the gold after SQuAD normalisation (HotpotQA's official EM)"},
    {"hotpot_f1", 0.5, NULL, NULL, score_hotpot_f1,
     "token overlap F1 with the gold after SQuAD normalisation; a yes/no answer must match "
     "exactly (HotpotQA's official F1)"},
    {"regex", 1.0, regex_keys, parse_regex, score_regex,
     "the trimmed answer must fully match a pattern"},
    {"numeric", 1.0, numeric_keys, parse_numeric, score_numeric,
     "the last number in the answer must equal the gold number"},
    {"choice", 1.0, metric_choice_keys, metric_parse_choice, metric_score_choice,
     "the chosen option letter or label must be the gold one"},
    {"one_minus_mae", 0.75, mae_keys, parse_mae, score_mae,
     "1 - |answer - gold| / (scale range): closer ratings score higher"},
    {"llm_judge", 0.5, metric_judge_keys, metric_parse_judge, NULL,
     "a judge model grades the answer with a rubric"},
};

static const char *const common_keys[] = {"type", "threshold", NULL};

const char *const metric_keys[] = {
    "type",   "threshold", "normalize", "pattern", "caseless",      "abs_tol",   "rel_tol",
    "labels", "scale",     "model",     "rubric",  "score_pattern", "scale_max", NULL,
};

static bool key_in(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

static void keys_list(struct sbuf *b, const char *const *keys)
{
	for (; keys && *keys; keys++)
		sbuf_addf(b, ", %s", *keys);
}

static int check_keys(const cJSON *j, const struct metric_type *t, struct err *e)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, j)
	{
		for (const cJSON *prev = j->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0)
				return err_set(e, "metric: key \"%.40s\" is given twice",
				               it->string);
		if (key_in(common_keys, it->string) || key_in(t->keys, it->string))
			continue;
		struct sbuf b = {0};
		keys_list(&b, common_keys);
		keys_list(&b, t->keys);
		err_set(e, "metric: %s key \"%.40s\" for type \"%s\" (accepted: %s)",
		        key_in(metric_keys, it->string) ? "inapplicable" : "unknown", it->string,
		        t->name, sbuf_str(&b) + 2);
		sbuf_free(&b);
		return -1;
	}
	return 0;
}

static const struct metric_type *type_find(const cJSON *j, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "type");
	struct sbuf names = {0};
	for (size_t i = 0; i < ARRAY_SIZE(metric_types); i++) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, metric_types[i].name) == 0) {
			sbuf_free(&names);
			return &metric_types[i];
		}
		sbuf_addf(&names, "%s%s", i ? ", " : "", metric_types[i].name);
	}
	if (!v)
		err_set(e, "metric.type is required (one of: %s)", sbuf_str(&names));
	else if (!cJSON_IsString(v))
		err_set(e, "metric.type must be a string (one of: %s)", sbuf_str(&names));
	else
		err_set(e, "metric.type: unknown metric \"%.40s\" (known: %s)", v->valuestring,
		        sbuf_str(&names));
	sbuf_free(&names);
	return NULL;
}

struct metric *metric_from_json(const cJSON *j, struct err *e)
{
	if (!cJSON_IsObject(j)) {
		err_set(e, "metric must be an object like {\"type\": \"f1\", \"threshold\": 0.5}");
		return NULL;
	}
	const struct metric_type *t = type_find(j, e);
	if (!t || check_keys(j, t, e) < 0)
		return NULL;
	struct metric *m = xcalloc(1, sizeof *m);
	m->type = t;
	m->threshold = t->threshold;
	if (metric_opt_number(j, "threshold", 0, 1, "between 0 and 1", &m->threshold, e) < 0 ||
	    (t->parse && t->parse(m, j, e) < 0)) {
		metric_free(m);
		return NULL;
	}
	return m;
}

void metric_free(struct metric *m)
{
	if (!m)
		return;
	struct rx *rxs[] = {m->rx, m->rx_bare, m->rx_marker, m->rx_paren, m->rx_answer};
	for (size_t i = 0; i < ARRAY_SIZE(rxs); i++)
		rx_free(rxs[i]);
	for (size_t i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	free(m->labels);
	free(m->alt_label);
	free(m->model);
	free(m->rubric);
	free(m->score_pattern);
	free(m);
}

const char *metric_name(const struct metric *m)
{
	return m->type->name;
}

double metric_threshold(const struct metric *m)
{
	return m->threshold;
}

bool metric_is_judge(const struct metric *m)
{
	return m->type->score == NULL;
}

int metric_score(const struct metric *m, const char *pred, const char *const *golds, size_t ngolds,
                 double *score, struct err *e)
{
	*score = 0;
	if (!m->type->score)
		return err_set(e,
		               "llm_judge is scored by the engine (through the judge model), not "
		               "by metric_score");
	if (!pred)
		pred = "";
	if (m->gold_free)
		return m->type->score(m, pred, NULL, score, e);
	if (ngolds == 0)
		return err_set(e, "metric %s: no gold answer to compare with", m->type->name);
	/* every gold is tried: one that cannot be used (no number, no option) does not hide the
	 * others; the first one's error is reported when none could be used */
	double best = 0;
	size_t failed = 0;
	struct err first = {{0}};
	for (size_t i = 0; i < ngolds && best < 1; i++) {
		double s;
		struct err ge = {{0}};
		if (m->type->score(m, pred, golds[i] ? golds[i] : "", &s, &ge) < 0) {
			if (!failed++)
				first = ge;
			continue;
		}
		best = MAX(best, s);
	}
	if (failed == ngolds) {
		*e = first;
		return -1;
	}
	*score = best;
	return 0;
}

int metric_check_gold(const struct metric *m, const char *gold, struct err *e)
{
	if (!m->type->score || m->gold_free)
		return 0;
	double s;
	/* a gold's problems are the scorers' only errors besides regex limits, which an empty
	 * prediction cannot reach */
	if (m->type->score(m, "", gold ? gold : "", &s, e) < 0)
		return -1;
	if (m->type->parse != parse_regex && m->type->parse != metric_parse_choice &&
	    m->type->parse != parse_numeric && m->type->parse != parse_mae && !m->strict) {
		char *g = squad_normalize(gold ? gold : "");
		bool empty = !*g;
		free(g);
		if (empty) {
			err_set(e,
			        "the gold \"%.60s\" normalises to nothing (punctuation, articles "
			        "and spaces only), so an empty answer matches it; give the metric "
			        "\"normalize\": false to compare the text as it is",
			        gold ? gold : "");
			return 1;
		}
	}
	return 0;
}

char *metric_describe(const struct metric *m)
{
	return xasprintf("%s: %s; a case passes at a score of %g or more", m->type->name,
	                 m->type->what, m->threshold);
}

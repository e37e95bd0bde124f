/* squad.c: the official SQuAD v1.1 answer normalisation, exact match and token F1
 * (evaluate-v1.1.py), reproduced on UTF-8 C strings code point for code point:
 *
 *   normalize_answer(s) = white_space_fix(remove_articles(remove_punc(lower(s))))
 *   lower:           Python's str.lower(): full Unicode lowercasing, so U+0130 'İ' becomes
 *                    "i\u0307" and a capital sigma becomes final 'ς' in Python's Final_Sigma
 *                    context, else 'σ'.  The tables (squad_unidata.h) are generated from
 *                    Python itself (tools/gen_squad_unidata.py) for the whole code space, not
 *                    only the BMP.  glibc's towlower() in C.UTF-8 agrees everywhere except these
 *                    two cases, but it depends on the process locale (a Turkish one maps 'I' to
 *                    'ı'), so it is not used.
 *   remove_punc:     only the 32 ASCII characters of Python's string.punctuation; Unicode
 *                    punctuation such as '«', '»', '—', '¿' stays.
 *   remove_articles: re.sub(r'\b(a|an|the)\b', ' ', text) with Python 3's Unicode \b: a word
 *                    character is one for which str.isalnum() is true, or '_'.
 *   white_space_fix: ' '.join(text.split()): split on str.isspace() (U+00A0, U+2003, U+3000,
 *                    U+0085, U+001C..U+001F, ...).
 *
 * Known difference: the tables are those of the Python that generated them (Unicode version in
 * SQUAD_UNIDATA_VERSION); a Python with a newer Unicode differs only on code points assigned
 * since.  Invalid UTF-8 cannot reach the Python script (it works on str); here it is decoded as
 * bytes.decode("utf-8", "replace") does, each maximal ill-formed subsequence becoming U+FFFD
 * (neither alphanumeric nor space nor punctuation, so it stays inside its token). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/metric.h"
#include "core/squad_unidata.h"

#define REPLACEMENT   0xFFFDu
#define CAPITAL_SIGMA 0x3A3u

/* A code point string. */
struct ustr {
	uint32_t *c;
	size_t n, cap;
};

static void ustr_add(struct ustr *u, uint32_t c)
{
	u->c = xgrow(u->c, &u->cap, u->n + 1, sizeof *u->c);
	u->c[u->n++] = c;
}

/* Decodes one code point at s[*i] and advances *i.  Ill-formed input follows the Unicode
 * "maximal subpart" practice that Python's "replace" error handler implements. */
static uint32_t utf8_next(const unsigned char *s, size_t *i)
{
	unsigned char b = s[*i];
	if (b < 0x80) {
		(*i)++;
		return b;
	}
	int need;
	uint32_t c;
	unsigned char lo = 0x80, hi = 0xBF; /* range of the first continuation byte */
	if (b >= 0xC2 && b <= 0xDF) {
		need = 1;
		c = b & 0x1F;
	} else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		c = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0; /* no overlongs */
		else if (b == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		(*i)++;
		return REPLACEMENT;
	}
	(*i)++;
	for (int k = 0; k < need; k++) {
		unsigned char t = s[*i]; /* the NUL terminator fails the test below */
		if (t < lo || t > hi)
			return REPLACEMENT; /* resume at the offending byte */
		c = c << 6 | (t & 0x3F);
		(*i)++;
		lo = 0x80;
		hi = 0xBF;
	}
	return c;
}

static void utf8_put(struct sbuf *b, uint32_t c)
{
	char t[4];
	size_t n;
	if (c < 0x80) {
		t[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		t[0] = (char)(0xC0 | c >> 6);
		t[1] = (char)(0x80 | (c & 0x3F));
		n = 2;
	} else if (c < 0x10000) {
		t[0] = (char)(0xE0 | c >> 12);
		t[1] = (char)(0x80 | (c >> 6 & 0x3F));
		t[2] = (char)(0x80 | (c & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | c >> 18);
		t[1] = (char)(0x80 | (c >> 12 & 0x3F));
		t[2] = (char)(0x80 | (c >> 6 & 0x3F));
		t[3] = (char)(0x80 | (c & 0x3F));
		n = 4;
	}
	sbuf_add(b, t, n);
}

static bool in_ranges(const struct uni_range *r, size_t n, uint32_t c)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c < r[mid].lo)
			hi = mid;
		else if (c > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

#define IN_TABLE(t, c) in_ranges(t, ARRAY_SIZE(t), c)

static bool is_word(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		       c == '_';
	return IN_TABLE(uni_alnum, c);
}

static bool is_space(uint32_t c)
{
	return IN_TABLE(uni_space, c);
}

static uint32_t lower_simple(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
	size_t lo = 0, hi = ARRAY_SIZE(uni_lower_table);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c < uni_lower_table[mid].cp)
			hi = mid;
		else if (c > uni_lower_table[mid].cp)
			lo = mid + 1;
		else
			return uni_lower_table[mid].lower;
	}
	return c;
}

/* CPython's handle_capital_sigma(): final when preceded by a cased letter and not followed by
 * one, case-ignorable characters being skipped on both sides. */
static bool sigma_is_final(const uint32_t *c, size_t n, size_t i)
{
	size_t j = i;
	while (j > 0 && IN_TABLE(uni_caseign, c[j - 1]))
		j--;
	if (j == 0 || !IN_TABLE(uni_cased, c[j - 1]))
		return false;
	for (j = i + 1; j < n && IN_TABLE(uni_caseign, c[j]); j++)
		;
	return j == n || !IN_TABLE(uni_cased, c[j]);
}

/* str.lower() followed by remove_punc(): the two are a single pass. */
static void lower_and_unpunct(const struct ustr *in, struct ustr *out)
{
	static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	for (size_t i = 0; i < in->n; i++) {
		uint32_t c = in->c[i];
		if (c == 0x130) { /* 'İ' -> 'i' + COMBINING DOT ABOVE */
			ustr_add(out, 'i');
			ustr_add(out, 0x307);
			continue;
		}
		if (c == CAPITAL_SIGMA)
			c = sigma_is_final(in->c, in->n, i) ? 0x3C2 : 0x3C3;
		else
			c = lower_simple(c);
		if (c < 0x80 && c && strchr(punct, (int)c))
			continue;
		ustr_add(out, c);
	}
}

/* Length of the article (a, an, the) at c[i] followed by a word boundary, or 0. */
static size_t article_at(const uint32_t *c, size_t n, size_t i)
{
	static const char *const articles[] = {"a", "an", "the"}; /* re's alternation order */
	for (size_t k = 0; k < ARRAY_SIZE(articles); k++) {
		size_t len = strlen(articles[k]), j = 0;
		while (j < len && i + j < n && c[i + j] == (uint32_t)articles[k][j])
			j++;
		if (j == len && (i + len == n || !is_word(c[i + len])))
			return len;
	}
	return 0;
}

/* re.sub(r'\b(a|an|the)\b', ' ', text): an article can start only where the previous
 * character is no word character (articles begin with one), scanning left to right. */
static void remove_articles(const struct ustr *in, struct ustr *out)
{
	for (size_t i = 0; i < in->n;) {
		size_t len = (i == 0 || !is_word(in->c[i - 1])) ? article_at(in->c, in->n, i) : 0;
		if (len) {
			ustr_add(out, ' ');
			i += len;
		} else {
			ustr_add(out, in->c[i++]);
		}
	}
}

char *squad_normalize(const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	struct ustr text = {0}, lowered = {0}, stripped = {0};
	for (size_t i = 0; u[i];)
		ustr_add(&text, utf8_next(u, &i));
	lower_and_unpunct(&text, &lowered);
	remove_articles(&lowered, &stripped);

	struct sbuf b = {0};
	bool in_token = false;
	for (size_t i = 0; i < stripped.n; i++) {
		uint32_t c = stripped.c[i];
		if (is_space(c)) {
			in_token = false;
			continue;
		}
		if (!in_token && b.len)
			sbuf_addc(&b, ' ');
		in_token = true;
		utf8_put(&b, c);
	}
	free(text.c);
	free(lowered.c);
	free(stripped.c);
	return sbuf_take(&b);
}

double squad_exact_match(const char *pred, const char *gold)
{
	char *p = squad_normalize(pred), *g = squad_normalize(gold);
	double r = strcmp(p, g) == 0 ? 1.0 : 0.0;
	free(p);
	free(g);
	return r;
}

struct token {
	const char *s;
	size_t len;
};

static int token_cmp(const void *a, const void *b)
{
	const struct token *x = a, *y = b;
	int r = memcmp(x->s, y->s, MIN(x->len, y->len));
	if (r)
		return r;
	return (x->len > y->len) - (x->len < y->len);
}

/* Splits a normalised string (tokens separated by single spaces), sorted bytewise. */
static struct token *tokens_sorted(const char *s, size_t *n)
{
	struct token *t = NULL;
	size_t cap = 0;
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, " ");
		t = xgrow(t, &cap, *n + 1, sizeof *t);
		t[(*n)++] = (struct token){s, len};
		s += len;
		s += *s == ' ';
	}
	if (*n)
		qsort(t, *n, sizeof *t, token_cmp);
	return t;
}

double squad_f1(const char *pred, const char *gold)
{
	char *p = squad_normalize(pred), *g = squad_normalize(gold);
	size_t np, ng;
	struct token *tp = tokens_sorted(p, &np), *tg = tokens_sorted(g, &ng);
	/* sum((Counter(pred) & Counter(gold)).values()) is a merge of the two sorted lists */
	size_t same = 0;
	for (size_t i = 0, j = 0; i < np && j < ng;) {
		int r = token_cmp(&tp[i], &tg[j]);
		if (r == 0) {
			same++;
			i++;
			j++;
		} else if (r < 0) {
			i++;
		} else {
			j++;
		}
	}
	double f1 = 0.0;
	if (same) { /* the script's operations, in its order, for identical rounding */
		double precision = 1.0 * (double)same / (double)np;
		double recall = 1.0 * (double)same / (double)ng;
		f1 = (2 * precision * recall) / (precision + recall);
	}
	free(tp);
	free(tg);
	free(p);
	free(g);
	return f1;
}

/* cost.c: the built-in price table (with prompt-cache ratios and which models are reasoning
 * models), model-name matching, token estimation and the per-tag ledger.  Prices change: a
 * session's price_in, price_out, price_cached_in and price_cache_write override this table. */
#include <stdlib.h>
#include <string.h>

#include "llm/cost.h"

struct price {
	const char *model;
	double in, out;                /* USD per million tokens */
	double cached_in, cache_write; /* ratios to `in` */
	bool reasoning;                /* takes max_completion_tokens and no temperature */
};

/* The providers' published ratios for prompt caching: OpenAI bills cached input at a tenth
 * (gpt-5), a quarter (gpt-4.1, o3, o4-mini) or a half (gpt-4o, o1) of the input price and writes
 * at no extra charge; Anthropic bills cache reads at 0.1x and (5-minute) cache writes at 1.25x.
 * Models without prompt caching bill every prompt token alike. */
#define OPENAI_10 0.10, 1.00
#define OPENAI_25 0.25, 1.00
#define OPENAI_50 0.50, 1.00
#define NO_CACHE  1.00, 1.00
#define ANTHROPIC 0.10, 1.25

/* Public list prices (standard tier, no batch discount), USD per 1M tokens. */
static const struct price prices[] = {
    {"gpt-5", 1.25, 10.00, OPENAI_10, true},
    {"gpt-5-mini", 0.25, 2.00, OPENAI_10, true},
    {"gpt-5-nano", 0.05, 0.40, OPENAI_10, true},
    {"gpt-5-chat", 1.25, 10.00, OPENAI_10, false},
    {"gpt-4.1", 2.00, 8.00, OPENAI_25, false},
    {"gpt-4.1-mini", 0.40, 1.60, OPENAI_25, false},
    {"gpt-4.1-nano", 0.10, 0.40, OPENAI_25, false},
    {"gpt-4.5-preview", 75.00, 150.00, OPENAI_50, false},
    {"gpt-4o", 2.50, 10.00, OPENAI_50, false},
    {"gpt-4o-2024-05-13", 5.00, 15.00, NO_CACHE, false},
    {"gpt-4o-mini", 0.15, 0.60, OPENAI_50, false},
    {"gpt-4-turbo", 10.00, 30.00, NO_CACHE, false},
    {"gpt-4", 30.00, 60.00, NO_CACHE, false},
    {"gpt-3.5-turbo", 0.50, 1.50, NO_CACHE, false},
    {"o1", 15.00, 60.00, OPENAI_50, true},
    {"o1-mini", 1.10, 4.40, OPENAI_50, true},
    {"o3", 2.00, 8.00, OPENAI_25, true},
    {"o3-mini", 1.10, 4.40, OPENAI_50, true},
    {"o4-mini", 1.10, 4.40, OPENAI_25, true},
    {"claude-opus-4", 15.00, 75.00, ANTHROPIC, false},
    {"claude-opus-4-1", 15.00, 75.00, ANTHROPIC, false},
    {"claude-sonnet-4", 3.00, 15.00, ANTHROPIC, false},
    {"claude-sonnet-4-5", 3.00, 15.00, ANTHROPIC, false},
    {"claude-haiku-4-5", 1.00, 5.00, ANTHROPIC, false},
    {"claude-3-7-sonnet", 3.00, 15.00, ANTHROPIC, false},
    {"claude-3-5-sonnet", 3.00, 15.00, ANTHROPIC, false},
    {"claude-3-5-haiku", 0.80, 4.00, ANTHROPIC, false},
    {"claude-3-opus", 15.00, 75.00, ANTHROPIC, false},
    {"claude-3-sonnet", 3.00, 15.00, ANTHROPIC, false},
    {"claude-3-haiku", 0.25, 1.25, ANTHROPIC, false},
};

static bool is_separator(char c)
{
	return c == '\0' || c == '-' || c == ':' || c == '@' || c == '_';
}

static const struct price *price_match(const char *model)
{
	const struct price *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < ARRAY_SIZE(prices); i++) {
		size_t n = strlen(prices[i].model);
		if (strncmp(model, prices[i].model, n) != 0 || !is_separator(model[n]))
			continue;
		if (!best || n > best_len) {
			best = &prices[i];
			best_len = n;
		}
	}
	return best;
}

/* The last model matched and its row: a projection's dry walk asks for the same model's price
 * twice a request, tens of thousands of times in one walk (a fifth of the walk's time was this
 * table's scan).  The table never changes, so the answer for a name never does. */
static const struct price *price_find(const char *model)
{
	static char last[128];
	static const struct price *last_row;
	static bool have;
	if (!model)
		return NULL;
	const char *slash = strrchr(model, '/');
	if (slash)
		model = slash + 1;
	if (have && strcmp(model, last) == 0)
		return last_row;
	const struct price *row = price_match(model);
	if (strlen(model) < sizeof last) {
		strcpy(last, model);
		last_row = row;
		have = true;
	}
	return row;
}

bool cost_lookup(const char *model, double *in, double *out)
{
	const struct price *p = price_find(model);
	*in = p ? p->in : 0;
	*out = p ? p->out : 0;
	return p != NULL;
}

bool cost_lookup_prices(const char *model, struct llm_prices *lp)
{
	const struct price *p = price_find(model);
	if (!p) {
		*lp = (struct llm_prices){0};
		return false;
	}
	*lp = (struct llm_prices){p->in, p->out, p->in * p->cached_in, p->in * p->cache_write};
	return true;
}

void llm_prices(const struct model_config *m, struct llm_prices *p, bool *known)
{
	const struct price *t = NULL;
	bool found = false;
	if (m->provider && !strcmp(m->provider, "scripted"))
		found = true; /* free by construction */
	else if (m->provider && !strcmp(m->provider, "ollama"))
		found = true; /* local models cost nothing per token */
	else
		found = (t = price_find(m->model)) != NULL;
	bool session = m->price_in >= 0 && m->price_out >= 0;
	p->in = m->price_in >= 0 ? m->price_in : t ? t->in : 0;
	p->out = m->price_out >= 0 ? m->price_out : t ? t->out : 0;
	double rc = t ? t->cached_in : 1, rw = t ? t->cache_write : 1;
	p->cached_in = m->price_cached_in >= 0 ? m->price_cached_in : p->in * rc;
	p->cache_write = m->price_cache_write >= 0 ? m->price_cache_write : p->in * rw;
	if (known)
		*known = found || session;
}

void llm_price(const struct model_config *m, double *in, double *out, bool *known)
{
	struct llm_prices p;
	llm_prices(m, &p, known);
	*in = p.in;
	*out = p.out;
}

bool llm_is_reasoning(const struct model_config *m)
{
	if (m->reasoning != MODEL_REASONING_AUTO)
		return m->reasoning == MODEL_REASONING_YES;
	const struct price *t = price_find(m->model);
	return t && t->reasoning;
}

double cost_usd(const struct llm_prices *p, const struct llm_usage *u)
{
	/* cached and written tokens are parts of `in`; a provider reporting more of them than
	 * prompt tokens is believed on the parts, never billed a negative rest */
	long cached = MAX(u->cached, 0), written = MAX(u->cache_write, 0);
	long plain = MAX(u->in - cached - written, 0);
	return ((double)plain * p->in + (double)cached * p->cached_in +
	        (double)written * p->cache_write + (double)u->out * p->out) /
	       1e6;
}

long cost_estimate_tokens(const char *text)
{
	size_t n = text ? strlen(text) : 0;
	return (long)((n + 3) / 4);
}

void cost_estimate_usage(const struct llm_message *msgs, size_t n, const char *reply,
                         struct llm_usage *u)
{
	long in = 0;
	for (size_t i = 0; i < n; i++)
		in += 4 + cost_estimate_tokens(msgs[i].content);
	u->in = in;
	u->out = cost_estimate_tokens(reply);
	u->cached = u->cache_write = u->reasoning = 0;
	u->estimated = true;
}

struct cost_entry {
	char *tag;
	struct llm_stats s;
};

struct cost_book {
	struct cost_entry *v;
	size_t n, cap;
};

struct cost_book *cost_book_new(void)
{
	return xcalloc(1, sizeof(struct cost_book));
}

void cost_book_free(struct cost_book *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].tag);
	free(b->v);
	free(b);
}

struct llm_stats *cost_book_tag(struct cost_book *b, const char *tag)
{
	if (!tag)
		tag = "";
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].tag, tag))
			return &b->v[i].s;
	b->v = xgrow(b->v, &b->cap, b->n + 1, sizeof(*b->v));
	struct cost_entry *ce = &b->v[b->n++];
	memset(ce, 0, sizeof(*ce));
	ce->tag = xstrdup(tag);
	return &ce->s;
}

size_t cost_book_count(const struct cost_book *b)
{
	return b->n;
}

const char *cost_book_name(const struct cost_book *b, size_t i, struct llm_stats **s)
{
	if (i >= b->n)
		return NULL;
	if (s)
		*s = &b->v[i].s;
	return b->v[i].tag;
}

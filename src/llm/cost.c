/* cost.c: the built-in price table, model-name matching, token estimation and the per-tag
 * ledger.  Prices change: a session's price_in/price_out override this table. */
#include <stdlib.h>
#include <string.h>

#include "llm/cost.h"

struct price {
	const char *model;
	double in, out; /* USD per million tokens */
};

/* Public list prices (standard tier, no batch or cache discounts), USD per 1M tokens. */
static const struct price prices[] = {
    {"gpt-5", 1.25, 10.00},
    {"gpt-5-mini", 0.25, 2.00},
    {"gpt-5-nano", 0.05, 0.40},
    {"gpt-4.1", 2.00, 8.00},
    {"gpt-4.1-mini", 0.40, 1.60},
    {"gpt-4.1-nano", 0.10, 0.40},
    {"gpt-4.5-preview", 75.00, 150.00},
    {"gpt-4o", 2.50, 10.00},
    {"gpt-4o-2024-05-13", 5.00, 15.00},
    {"gpt-4o-mini", 0.15, 0.60},
    {"gpt-4-turbo", 10.00, 30.00},
    {"gpt-4", 30.00, 60.00},
    {"gpt-3.5-turbo", 0.50, 1.50},
    {"o1", 15.00, 60.00},
    {"o1-mini", 1.10, 4.40},
    {"o3", 2.00, 8.00},
    {"o3-mini", 1.10, 4.40},
    {"o4-mini", 1.10, 4.40},
    {"claude-opus-4", 15.00, 75.00},
    {"claude-opus-4-1", 15.00, 75.00},
    {"claude-sonnet-4", 3.00, 15.00},
    {"claude-sonnet-4-5", 3.00, 15.00},
    {"claude-haiku-4-5", 1.00, 5.00},
    {"claude-3-7-sonnet", 3.00, 15.00},
    {"claude-3-5-sonnet", 3.00, 15.00},
    {"claude-3-5-haiku", 0.80, 4.00},
    {"claude-3-opus", 15.00, 75.00},
    {"claude-3-sonnet", 3.00, 15.00},
    {"claude-3-haiku", 0.25, 1.25},
};

static bool is_separator(char c)
{
	return c == '\0' || c == '-' || c == ':' || c == '@' || c == '_';
}

bool cost_lookup(const char *model, double *in, double *out)
{
	*in = *out = 0;
	if (!model)
		return false;
	const char *slash = strrchr(model, '/');
	if (slash)
		model = slash + 1;
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
	if (!best)
		return false;
	*in = best->in;
	*out = best->out;
	return true;
}

void llm_price(const struct model_config *m, double *in, double *out, bool *known)
{
	double tin = 0, tout = 0;
	bool found = false;
	if (m->provider && !strcmp(m->provider, "scripted")) {
		found = true; /* free by construction */
	} else if (m->provider && !strcmp(m->provider, "ollama")) {
		found = true; /* local models cost nothing per token */
	} else {
		found = cost_lookup(m->model, &tin, &tout);
	}
	bool session = m->price_in >= 0 && m->price_out >= 0;
	*in = m->price_in >= 0 ? m->price_in : tin;
	*out = m->price_out >= 0 ? m->price_out : tout;
	if (known)
		*known = found || session;
}

double cost_usd(double price_in, double price_out, const struct llm_usage *u)
{
	return ((double)u->in * price_in + (double)u->out * price_out) / 1e6;
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
	u->cached = 0;
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

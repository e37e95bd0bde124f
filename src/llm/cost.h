/* cost.h: list prices, token estimates and spend per accounting tag.
 *
 * Prices are USD per million tokens (input, output) from the providers' public list prices,
 * with the providers' ratios for prompt tokens read from and written to their prompt caches.
 * A model name matches an entry exactly, else the longest entry that is a prefix of it ending
 * at a separator ("gpt-4o-mini-2024-07-18" -> "gpt-4o-mini", never "gpt-4o"); a router prefix
 * such as "openai/" is ignored.  Session prices (>= 0) override the table.  When a provider
 * reports no usage the tokens are estimated as ceil(bytes / 4) and marked estimated. */
#ifndef ADOPT_COST_H
#define ADOPT_COST_H

#include <stdbool.h>
#include <stddef.h>

#include "llm/llm.h"

/* Built-in list price of a model name; false when unknown (*in = *out = 0). */
bool cost_lookup(const char *model, double *in, double *out);
/* Every built-in price of a model name; false (and zeros) when unknown. */
bool cost_lookup_prices(const char *model, struct llm_prices *p);
/* USD for a usage at the given prices: uncached prompt tokens at `in`, cache reads at
 * `cached_in`, cache writes at `cache_write`, output (reasoning included) at `out`. */
double cost_usd(const struct llm_prices *p, const struct llm_usage *u);
/* ceil(strlen / 4): a rough token count for text without a tokenizer. */
long cost_estimate_tokens(const char *text);
/* Estimated usage of a conversation and its reply (a few tokens of framing per message). */
void cost_estimate_usage(const struct llm_message *msgs, size_t n, const char *reply,
                         struct llm_usage *u);

/* Stats per tag, in order of first appearance.  Owns the tag strings. */
struct cost_book;
struct cost_book *cost_book_new(void);
void cost_book_free(struct cost_book *b);
/* The stats of a tag (created zeroed on first use; NULL tag means ""); valid until the next
 * cost_book_tag call. */
struct llm_stats *cost_book_tag(struct cost_book *b, const char *tag);
size_t cost_book_count(const struct cost_book *b);
/* The i-th tag and its stats. */
const char *cost_book_name(const struct cost_book *b, size_t i, struct llm_stats **s);

#endif

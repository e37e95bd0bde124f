/* bm25.h: Okapi BM25 retrieval over an in-memory corpus, for the `retrieve` code step.
 *
 * Scoring, for a query with distinct terms q (a term repeated in the query counts once, i.e.
 * Okapi's k3 = 0) and a document d of |d| tokens in a corpus of N documents, avgdl tokens on
 * average:
 *
 *   score(d) = sum over q in d of  idf(q) * tf(q,d) * (k1 + 1) / (tf(q,d) + K(d))
 *   K(d)     = k1 * (1 - b + b * |d| / avgdl)
 *   idf(q)   = ln(1 + (N - df(q) + 0.5) / (df(q) + 0.5))
 *
 * This is the Lucene / BM25+ non-negative IDF: a term in every document still scores a little
 * above zero, never below.  Tokens: runs of ASCII letters and digits, lowercased, with bytes
 * >= 0x80 (UTF-8 multibyte sequences) kept inside tokens; everything else separates.  An optional
 * small English stopword list drops words like "the" from documents and queries alike.
 *
 * The vocabulary is a hash table of postings lists, so a query costs O(postings of its terms),
 * not O(corpus). */
#ifndef ADOPT_BM25_H
#define ADOPT_BM25_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

#define BM25_K1_DEFAULT 1.5
#define BM25_B_DEFAULT  0.75

struct bm25; /* an index; owned by its creator, freed with bm25_free */

struct bm25_opts {
	double k1, b;   /* a negative value selects the default; b is clamped to [0, 1] */
	bool stopwords; /* drop the built-in English stopwords */
};

/* Builds an index over n NUL-terminated documents (n may be 0); copies what it needs, so the
 * documents may be freed afterwards.  No stopword removal. */
struct bm25 *bm25_new(const char *const *docs, size_t n, double k1, double b);
struct bm25 *bm25_new_opts(const char *const *docs, size_t n, const struct bm25_opts *o);
void bm25_free(struct bm25 *bm);

size_t bm25_count(const struct bm25 *bm);

/* Top-k document indices by score (descending; ties by lower index) into idx_out and, when not
 * NULL, score_out (both hold k).  Only documents sharing a term with the query are returned, so
 * the count written may be below k (0 for an empty query or corpus). */
size_t bm25_search(const struct bm25 *bm, const char *query, size_t k, size_t *idx_out,
                   double *score_out);

/* Loads a JSONL corpus: one object per line with a string "text" and an optional string "title"
 * (the document is then "title: text"); blank lines are skipped.  Errors name file:line(:col).
 * Only a regular file of at most max_bytes is read (0: FILE_MAX_BYTES_DEFAULT).
 * On success *docs_out (n_out strings) belongs to the caller: free with bm25_corpus_free. */
int bm25_load_corpus(const char *path, size_t max_bytes, char ***docs_out, size_t *n_out,
                     struct err *e);
void bm25_corpus_free(char **docs, size_t n);

/* The tokenizer, for callers and tests: calls fn for each token (lowercased, not
 * NUL-terminated) of text, after stopword removal when asked. */
void bm25_tokenize(const char *text, bool stopwords,
                   void (*fn)(const char *tok, size_t len, void *arg), void *arg);

#endif

/* bm25.c: the BM25 index (vocabulary hash table of postings lists, per-document length
 * norms), top-k search with a bounded heap, and the JSONL corpus reader.  Formulas: bm25.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bm25.h"
#include "core/jsonpos.h"

struct posting {
	uint32_t doc, tf;
};

struct term {
	char *s;
	size_t len;
	uint64_t hash;
	struct posting *post; /* ascending doc order */
	size_t npost, cap;
};

struct bm25 {
	double k1, b;
	bool stopwords;
	size_t ndocs;
	double *norm; /* k1 * (1 - b + b * |d| / avgdl), per document */
	struct term *terms;
	size_t nterms, terms_cap;
	uint32_t *slots; /* open addressing, linear probing: term index + 1, 0 = empty */
	size_t nslots;   /* a power of two */
};

/* Lucene's English stop word set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), sorted. */
static const char *const stopword_list[] = {
    "a",   "an",    "and",  "are",   "as",    "at",   "be",   "but", "by",  "for",  "if",
    "in",  "into",  "is",   "it",    "no",    "not",  "of",   "on",  "or",  "such", "that",
    "the", "their", "then", "there", "these", "they", "this", "to",  "was", "will", "with",
};

static bool is_stopword(const char *s, size_t len)
{
	size_t lo = 0, hi = ARRAY_SIZE(stopword_list);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *w = stopword_list[mid];
		int c = strncmp(w, s, len);
		if (c == 0)
			c = w[len] ? 1 : 0;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool is_token_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80;
}

void bm25_tokenize(const char *text, bool stopwords,
                   void (*fn)(const char *tok, size_t len, void *arg), void *arg)
{
	struct sbuf tok = {0};
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		if (!is_token_byte(*p)) {
			p++;
			continue;
		}
		sbuf_reset(&tok);
		for (; *p && is_token_byte(*p); p++)
			sbuf_addc(&tok, (char)(*p >= 'A' && *p <= 'Z' ? *p + ('a' - 'A') : *p));
		if (!stopwords || !is_stopword(tok.s, tok.len))
			fn(tok.s, tok.len, arg);
	}
	sbuf_free(&tok);
}

/* ---- vocabulary --------------------------------------------------------------------------- */

/* Slot holding the term, or the empty slot where it would go. */
static size_t vocab_slot(const struct bm25 *bm, const char *s, size_t len, uint64_t h)
{
	size_t mask = bm->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t t = bm->slots[i];
		if (!t)
			return i;
		const struct term *x = &bm->terms[t - 1];
		if (x->hash == h && x->len == len && memcmp(x->s, s, len) == 0)
			return i;
	}
}

static const struct term *vocab_find(const struct bm25 *bm, const char *s, size_t len)
{
	if (!bm->nslots)
		return NULL;
	uint32_t t = bm->slots[vocab_slot(bm, s, len, hash_bytes(s, len, 0))];
	return t ? &bm->terms[t - 1] : NULL;
}

static void vocab_rehash(struct bm25 *bm)
{
	free(bm->slots);
	bm->nslots = bm->nslots ? bm->nslots * 2 : 1024;
	bm->slots = xcalloc(bm->nslots, sizeof *bm->slots);
	for (size_t t = 0; t < bm->nterms; t++) {
		const struct term *x = &bm->terms[t];
		bm->slots[vocab_slot(bm, x->s, x->len, x->hash)] = (uint32_t)(t + 1);
	}
}

static struct term *vocab_intern(struct bm25 *bm, const char *s, size_t len)
{
	if ((bm->nterms + 1) * 10 >= bm->nslots * 7)
		vocab_rehash(bm);
	uint64_t h = hash_bytes(s, len, 0);
	size_t i = vocab_slot(bm, s, len, h);
	if (bm->slots[i])
		return &bm->terms[bm->slots[i] - 1];
	if (bm->nterms >= UINT32_MAX - 1)
		abort(); /* four billion distinct terms: not a corpus this tool can hold anyway */
	bm->terms = xgrow(bm->terms, &bm->terms_cap, bm->nterms + 1, sizeof *bm->terms);
	struct term *x = &bm->terms[bm->nterms++];
	*x = (struct term){.s = xstrndup(s, len), .len = len, .hash = h};
	bm->slots[i] = (uint32_t)bm->nterms;
	return x;
}

/* ---- building ----------------------------------------------------------------------------- */

struct build_ctx {
	struct bm25 *bm;
	uint32_t doc;
	uint32_t ntok;
};

static void build_add(const char *tok, size_t len, void *arg)
{
	struct build_ctx *c = arg;
	struct term *x = vocab_intern(c->bm, tok, len);
	if (x->npost && x->post[x->npost - 1].doc == c->doc) {
		x->post[x->npost - 1].tf++;
	} else {
		x->post = xgrow(x->post, &x->cap, x->npost + 1, sizeof *x->post);
		x->post[x->npost++] = (struct posting){c->doc, 1};
	}
	c->ntok++;
}

struct bm25 *bm25_new_opts(const char *const *docs, size_t n, const struct bm25_opts *o)
{
	if (n > UINT32_MAX - 1)
		abort(); /* documents are numbered with 32 bits */
	struct bm25 *bm = xcalloc(1, sizeof *bm);
	bm->k1 = o && o->k1 >= 0 ? o->k1 : BM25_K1_DEFAULT;
	bm->b = o && o->b >= 0 ? MIN(o->b, 1.0) : BM25_B_DEFAULT;
	bm->stopwords = o && o->stopwords;
	bm->ndocs = n;
	bm->norm = xcalloc(n, sizeof *bm->norm);
	vocab_rehash(bm);
	double total = 0;
	for (size_t d = 0; d < n; d++) {
		struct build_ctx c = {bm, (uint32_t)d, 0};
		bm25_tokenize(docs[d] ? docs[d] : "", bm->stopwords, build_add, &c);
		bm->norm[d] = c.ntok; /* the length for now; turned into the norm below */
		total += c.ntok;
	}
	double avgdl = n ? total / (double)n : 0;
	for (size_t d = 0; d < n; d++) {
		double rel = avgdl > 0 ? bm->norm[d] / avgdl : 1;
		bm->norm[d] = bm->k1 * (1 - bm->b + bm->b * rel);
	}
	return bm;
}

struct bm25 *bm25_new(const char *const *docs, size_t n, double k1, double b)
{
	struct bm25_opts o = {.k1 = k1, .b = b, .stopwords = false};
	return bm25_new_opts(docs, n, &o);
}

void bm25_free(struct bm25 *bm)
{
	if (!bm)
		return;
	for (size_t t = 0; t < bm->nterms; t++) {
		free(bm->terms[t].s);
		free(bm->terms[t].post);
	}
	free(bm->terms);
	free(bm->slots);
	free(bm->norm);
	free(bm);
}

size_t bm25_count(const struct bm25 *bm)
{
	return bm ? bm->ndocs : 0;
}

/* ---- search ------------------------------------------------------------------------------- */

struct query_ctx {
	const struct bm25 *bm;
	const struct term **terms;
	size_t n, cap;
};

static void query_add(const char *tok, size_t len, void *arg)
{
	struct query_ctx *q = arg;
	const struct term *x = vocab_find(q->bm, tok, len);
	if (!x)
		return;
	q->terms = xgrow(q->terms, &q->cap, q->n + 1, sizeof *q->terms);
	q->terms[q->n++] = x;
}

static int cmp_term_ptr(const void *a, const void *b)
{
	const struct term *x = *(const struct term *const *)a, *y = *(const struct term *const *)b;
	return (x > y) - (x < y);
}

struct hit {
	uint32_t doc1; /* doc + 1; 0 = empty accumulator slot */
	double score;
};

/* a ranks below b: lower score, or the same score and a higher index */
static bool hit_worse(const struct hit *a, const struct hit *b)
{
	return a->score < b->score || (a->score == b->score && a->doc1 > b->doc1);
}

static int cmp_hit_best_first(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return hit_worse(x, y) ? 1 : hit_worse(y, x) ? -1 : 0;
}

/* Min-heap on "worse": the root is the weakest of the hits kept. */
static void heap_sift_down(struct hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && hit_worse(&h[l], &h[m]))
			m = l;
		if (r < n && hit_worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct hit t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_push(struct hit *h, size_t *n, struct hit x)
{
	size_t i = (*n)++;
	h[i] = x;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!hit_worse(&h[i], &h[p]))
			break;
		struct hit t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

size_t bm25_search(const struct bm25 *bm, const char *query, size_t k, size_t *idx_out,
                   double *score_out)
{
	if (!bm || !query || k == 0 || bm->ndocs == 0)
		return 0;
	struct query_ctx q = {.bm = bm};
	bm25_tokenize(query, bm->stopwords, query_add, &q);
	/* distinct terms only (k3 = 0), in a fixed order so sums are reproducible */
	if (q.n == 0)
		return 0;
	qsort(q.terms, q.n, sizeof *q.terms, cmp_term_ptr);
	size_t nt = 0, npost = 0;
	for (size_t i = 0; i < q.n; i++)
		if (i == 0 || q.terms[i] != q.terms[i - 1]) {
			q.terms[nt++] = q.terms[i];
			npost += q.terms[i]->npost;
		}

	/* accumulate per-document scores in a hash table sized by the postings touched */
	size_t cap = 16;
	while (cap < 2 * npost)
		cap *= 2;
	struct hit *acc = xcalloc(cap, sizeof *acc);
	double N = (double)bm->ndocs, k1 = bm->k1;
	for (size_t i = 0; i < nt; i++) {
		const struct term *x = q.terms[i];
		double df = (double)x->npost;
		double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
		for (size_t j = 0; j < x->npost; j++) {
			uint32_t d = x->post[j].doc;
			double tf = x->post[j].tf;
			size_t s =
			    (size_t)(((uint64_t)d * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
			while (acc[s].doc1 && acc[s].doc1 != d + 1)
				s = (s + 1) & (cap - 1);
			acc[s].doc1 = d + 1;
			acc[s].score += idf * (tf * (k1 + 1)) / (tf + bm->norm[d]);
		}
	}

	/* keep the best k in a bounded heap, then order them */
	size_t nh = 0, kk = MIN(k, npost);
	struct hit *heap = xmalloc((kk ? kk : 1) * sizeof *heap);
	for (size_t s = 0; s < cap; s++) {
		if (!acc[s].doc1)
			continue;
		if (nh < kk) {
			heap_push(heap, &nh, acc[s]);
		} else if (hit_worse(&heap[0], &acc[s])) {
			heap[0] = acc[s];
			heap_sift_down(heap, nh, 0);
		}
	}
	if (nh)
		qsort(heap, nh, sizeof *heap, cmp_hit_best_first);
	for (size_t i = 0; i < nh; i++) {
		idx_out[i] = heap[i].doc1 - 1;
		if (score_out)
			score_out[i] = heap[i].score;
	}
	free(heap);
	free(acc);
	free(q.terms);
	return nh;
}

/* ---- corpus files ------------------------------------------------------------------------- */

void bm25_corpus_free(char **docs, size_t n)
{
	if (!docs)
		return;
	for (size_t i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
}

/* One JSONL line (without its line break) to a document; NULL with e set on error.  Until a
 * line has parsed (first), the file may be anything: its content is not quoted. */
static char *corpus_line_doc(const char *path, size_t lineno, bool first, const char *line,
                             size_t len, struct err *e)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (j && end) {
		while (end < line + len && (unsigned char)*end <= ' ')
			end++;
		if (end < line + len) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	if (!j) {
		struct json_pos p;
		char msg[256];
		json_scan_error(line, len, cJSON_GetErrorPtr(), &p, msg, sizeof msg);
		if (first)
			err_set(e,
			        "%s:%zu:%d: not a JSON-lines corpus: invalid JSON (expected one "
			        "object like {\"text\": \"...\"} a line)",
			        path, lineno, p.col);
		else
			err_set(e, "%s:%zu:%d: %s", path, lineno, p.col, msg);
		return NULL;
	}
	char *doc = NULL;
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(j, "title");
	if (!cJSON_IsObject(j))
		err_set(e, "%s:%zu: expected a JSON object like {\"text\": \"...\"}", path, lineno);
	else if (!cJSON_IsString(text))
		err_set(e, "%s:%zu: %s", path, lineno,
		        text ? "\"text\" must be a string" : "missing the \"text\" field");
	else if (title && !cJSON_IsString(title))
		err_set(e, "%s:%zu: \"title\" must be a string", path, lineno);
	else if (title)
		doc = xasprintf("%s: %s", title->valuestring, text->valuestring);
	else
		doc = xstrdup(text->valuestring);
	cJSON_Delete(j);
	return doc;
}

int bm25_load_corpus(const char *path, size_t max_bytes, char ***docs_out, size_t *n_out,
                     struct err *e)
{
	struct file_lines r;
	if (file_lines_open(&r, path, max_bytes ? max_bytes : FILE_MAX_BYTES_DEFAULT, e) < 0)
		return -1;
	char **docs = NULL;
	size_t n = 0, cap = 0, len;
	int got, rc = 0;
	while ((got = file_lines_next(&r, &len, e)) > 0) {
		const char *s = r.buf;
		if (r.lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3; /* a UTF-8 byte order mark */
			len -= 3;
		}
		while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
			len--;
		size_t sp = strspn(s, " \t");
		if (sp >= len)
			continue;
		char *doc = corpus_line_doc(path, r.lineno, n == 0, s, len, e);
		if (!doc) {
			rc = -1;
			break;
		}
		docs = xgrow(docs, &cap, n + 1, sizeof *docs);
		docs[n++] = doc;
	}
	if (got < 0)
		rc = -1;
	file_lines_close(&r);
	if (rc < 0) {
		bm25_corpus_free(docs, n);
		return -1;
	}
	*docs_out = docs;
	*n_out = n;
	return 0;
}

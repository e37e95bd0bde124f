/* server_search.c: the test server's retrieval endpoint, GET /api/search?query=Q&k=K, as
 * ColBERT's server.py answers it for DSPy's ColBERTv2 client, over a small JSONL corpus
 * (--corpus) searched with the project's own BM25 (core/bm25.h) instead of ColBERT.  Also the
 * bad answers a hostile or broken retriever gives (search_hostile). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bm25.h"
#include "server.h"

struct search_corpus {
	char **docs;
	size_t n;
	struct bm25 *index;
};

struct search_corpus *search_corpus_load(const char *path, struct err *e)
{
	struct search_corpus *c = xcalloc(1, sizeof *c);
	if (bm25_load_corpus(path, 0, &c->docs, &c->n, e) < 0) {
		free(c);
		return NULL;
	}
	c->index = bm25_new((const char *const *)c->docs, c->n, BM25_K1_DEFAULT, BM25_B_DEFAULT);
	return c;
}

void search_corpus_free(struct search_corpus *c)
{
	if (!c)
		return;
	bm25_free(c->index);
	bm25_corpus_free(c->docs, c->n);
	free(c);
}

/* The bad answers, by search_hostile. */
static char *hostile_answer(int hostile, const char *query)
{
	cJSON *o = cJSON_CreateObject(), *topk = cJSON_CreateArray(), *p;
	cJSON_AddStringToObject(o, "query", query);
	switch (hostile) {
	case 1: { /* 5 MiB of passage: past any sane retrieval answer */
		size_t n = (size_t)5 << 20;
		char *big = xmalloc(n + 1);
		memset(big, 'x', n);
		big[n] = '\0';
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "text", big);
		cJSON_AddItemToArray(topk, p);
		free(big);
		break;
	}
	case 2: /* a terminal's escape sequences and controls inside the passages */
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "text",
		                        "\x1b[2J\x1b]0;owned\x07"
		                        "Clean \x1b[31mred\x1b[0m text\r\x7f"
		                        "\xc2\x9b"
		                        "6n");
		cJSON_AddItemToArray(topk, p);
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "long_text", "second\x1b P passage");
		cJSON_AddItemToArray(topk, p);
		break;
	case 3:
		cJSON_Delete(o);
		cJSON_Delete(topk);
		return xstrdup("<html><body>Service Unavailable</body></html>");
	case 4:
		cJSON_Delete(topk);
		cJSON_AddStringToObject(o, "topk", "none");
		return json_take(o);
	default: /* 5 */
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", 7);
		cJSON_AddItemToArray(topk, p);
		break;
	}
	cJSON_AddItemToObject(o, "topk", topk);
	return json_take(o);
}

char *search_answer(const struct search_corpus *c, const char *query, const char *k, int hostile,
                    int *status)
{
	*status = 200;
	if (!query)
		query = "";
	if (hostile)
		return hostile_answer(hostile, query);
	long kk = 10;
	if (k && (parse_long(k, &kk) < 0 || kk < 1)) {
		*status = 400;
		return xstrdup("{\"error\": \"k must be a positive integer\"}");
	}
	kk = MIN(kk, 100);
	size_t *idx = xcalloc((size_t)kk, sizeof *idx);
	double *score = xcalloc((size_t)kk, sizeof *score);
	size_t n = c ? bm25_search(c->index, query, (size_t)kk, idx, score) : 0;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += exp(score[i]);
	cJSON *o = cJSON_CreateObject(), *topk = cJSON_CreateArray();
	cJSON_AddStringToObject(o, "query", query);
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "text", c->docs[idx[i]]);
		cJSON_AddNumberToObject(p, "pid", (double)idx[i]);
		cJSON_AddNumberToObject(p, "rank", (double)(i + 1));
		cJSON_AddNumberToObject(p, "score", score[i]);
		cJSON_AddNumberToObject(p, "prob", exp(score[i]) / sum);
		cJSON_AddItemToArray(topk, p);
	}
	cJSON_AddItemToObject(o, "topk", topk);
	free(idx);
	free(score);
	return json_take(o);
}

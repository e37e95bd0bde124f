/* retriever.c: a retrieval server as a wire format of the LLM layer, so that a retrieve step's
 * queries share the scheduler, retries, deduplication, response cache and offline replay of
 * model calls (llm.h, llm_retrieve).  The protocol is the one DSPy's ColBERTv2 client speaks
 * (dspy/dsp/colbertv2.py) to ColBERT's server (server.py):
 *
 *   GET URL?query=Q&k=K  ->  {"query": Q, "topk": [{"text": T, "pid": P, "rank": R,
 *                                                    "score": S, "prob": X}, ...]}
 *
 * The passages are taken in the server's order, the first k, each by its "text" (or, as a local
 * ColBERT retriever writes it, "long_text"); the other members are not needed.
 *
 * llm_retrieve makes an ordinary llm_request of a private model configuration: provider
 * "colbertv2" (found by provider_find, listed nowhere, refused in a session's models), base URL
 * the server's URL, max_tokens k, one user message holding the query, prices 0, no streaming,
 * and the retrieval's concurrency and timeout (a retrieve step's "concurrency" and "timeout_s").
 * Its key is therefore the hash of (URL, query, k), whatever the concurrency and timeout.  The
 * answer is kept as a JSON array of the passages' texts, each cleaned for a terminal: the cache
 * holds what the step uses, and llm_passages reads it back, checking and cleaning again what a
 * cache file may have held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/termsafe.h"
#include "llm/wire.h"

/* A k = 100 answer of Wikipedia abstracts is about 100 KB: four MiB is plenty. */
#define RETRIEVER_BODY_MAX ((size_t)4 << 20)

/* RFC 3986 percent-encoding of everything but the unreserved characters. */
static void add_escaped(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			sbuf_addc(b, (char)c);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			sbuf_add(b, esc, 3);
		}
	}
}

static int colbert_build(const struct llm_request *req, const char *base, const char *key,
                         bool stream, struct http_request *out, struct err *e)
{
	(void)key, (void)stream; /* no key goes to a retrieval server; answers are whole */
	*out = (struct http_request){0};
	int k = req->model->max_tokens;
	if (req->n_messages != 1 || k < 1 || k > LLM_RETRIEVE_MAX_K)
		return err_set(e, "colbertv2: a retrieval needs one query and k from 1 to %d",
		               LLM_RETRIEVE_MAX_K);
	if (strchr(base, '#'))
		return err_set(e, "colbertv2: the URL \"%s\" holds a fragment (#)", base);
	if (wire_url(out, "colbertv2", base, "", e) < 0)
		return -1;
	struct sbuf b = {0};
	sbuf_adds(&b, out->url);
	sbuf_adds(&b, strchr(out->url, '?') ? "&query=" : "?query=");
	add_escaped(&b, req->messages[0].content ? req->messages[0].content : "");
	sbuf_addf(&b, "&k=%d", k);
	free(out->url);
	out->url = sbuf_take(&b);
	wire_header(out, "Accept", "application/json");
	return 0;
}

/* One passage's text, cleaned, into the array. */
static void add_passage(cJSON *out, const char *text)
{
	struct sbuf c = {0};
	term_sanitize(&c, text, strlen(text), TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
	cJSON_AddItemToArray(out, cJSON_CreateString(sbuf_str(&c)));
	sbuf_free(&c);
}

static int colbert_parse(const char *body, size_t n, struct llm_result *r)
{
	cJSON *root = wire_json_parse(body, n);
	if (!root) {
		struct sbuf b = {0};
		wire_snippet(&b, body, n, 80);
		wire_fail(r, "invalid_answer", false, "the answer is not JSON: %s", sbuf_str(&b));
		sbuf_free(&b);
		return -1;
	}
	const cJSON *topk = cJSON_IsObject(root) ? wire_get(root, "topk") : NULL, *p;
	int rc = 0;
	if (!cJSON_IsArray(topk))
		rc = wire_fail(r, "invalid_answer", false,
		               "the answer has no \"topk\" list of passages (expected {\"topk\": "
		               "[{\"text\": ...}, ...]})");
	cJSON *out = cJSON_CreateArray();
	size_t i = 0;
	for (p = rc == 0 ? topk->child : NULL; p; p = p->next) {
		const char *t = cJSON_IsObject(p) ? wire_get_str(p, "text") : NULL;
		if (!t && cJSON_IsObject(p))
			t = wire_get_str(p, "long_text");
		if (!t) {
			rc = wire_fail(
			    r, "invalid_answer", false,
			    "passage %zu of the answer has no \"text\" (or \"long_text\") "
			    "string",
			    i + 1);
			break;
		}
		add_passage(out, t);
		i++;
	}
	if (rc == 0) {
		char *text = cJSON_PrintUnformatted(out);
		sbuf_adds(&r->text, text);
		free(text);
		r->usage_seen = true; /* no tokens: nothing to estimate */
		r->complete = true;
	}
	cJSON_Delete(out);
	cJSON_Delete(root);
	return rc;
}

/* A JSON error's own message when there is one ({"error": "..."}, {"message": "..."}), else
 * the body's first bytes. */
static void colbert_parse_error(int status, const char *body, size_t n, struct llm_result *r)
{
	cJSON *j = wire_json_parse(body, n);
	const char *msg = wire_get_str(j, "error");
	wire_error(r, status, NULL, msg ? msg : wire_get_str(j, "message"), body, n);
	cJSON_Delete(j);
}

const struct provider_ops provider_colbertv2 = {
    .name = "colbertv2",
    .retriever = true,
    .body_max = RETRIEVER_BODY_MAX,
    .build = colbert_build,
    .parse = colbert_parse,
    .parse_error = colbert_parse_error,
};

/* The request of a retrieval, borrowing q's strings (msg: its one message). */
static struct llm_request retrieval_request(const struct llm_retrieval *q, struct model_config *m,
                                            struct llm_message *msg)
{
	*m = (struct model_config){
	    .name = (char *)q->url, /* the server's own concurrency slots */
	    .provider = (char *)provider_colbertv2.name,
	    .base_url = (char *)q->url,
	    .model = (char *)provider_colbertv2.name,
	    .max_tokens = q->k, /* k: part of the request key, read back by colbert_build */
	    .reasoning = MODEL_REASONING_NO,
	    .concurrency = q->concurrency > 0 ? q->concurrency : LLM_RETRIEVE_CONCURRENCY,
	    .timeout_s = q->timeout_s > 0 ? q->timeout_s : LLM_RETRIEVE_TIMEOUT_S,
	    .cut_is_error = CUT_ALLOWED,
	};
	*msg = (struct llm_message){"user", q->query ? q->query : ""};
	return (struct llm_request){m, msg, 1, q->tag};
}

uint64_t llm_retrieve(struct llm *l, const struct llm_retrieval *q, llm_done_fn *done, void *arg)
{
	struct model_config m;
	struct llm_message msg;
	struct llm_request req = retrieval_request(q, &m, &msg);
	return llm_submit(l, &req, done, NULL, arg);
}

void llm_retrieve_key(const struct llm_retrieval *q, char out[65])
{
	struct model_config m;
	struct llm_message msg;
	struct llm_request req = retrieval_request(q, &m, &msg);
	llm_request_key(&req, out);
}

int llm_passages(const char *text, size_t max, char ***items, size_t *n, struct err *e)
{
	*items = NULL;
	*n = 0;
	cJSON *a = wire_json_parse(text, strlen(text));
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return err_set(e, "the retrieval answer is not a list of passages (a damaged "
		                  "cache line?)");
	}
	size_t count = MIN((size_t)cJSON_GetArraySize(a), max);
	char **v = xcalloc(count ? count : 1, sizeof *v);
	const cJSON *it = a->child;
	for (size_t i = 0; i < count; i++, it = it->next) {
		if (!cJSON_IsString(it)) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			cJSON_Delete(a);
			return err_set(e,
			               "passage %zu of the retrieval answer is not a string (a "
			               "damaged cache line?)",
			               i + 1);
		}
		struct sbuf c = {0};
		term_sanitize(&c, it->valuestring, strlen(it->valuestring),
		              TERM_KEEP_NEWLINES | TERM_KEEP_TABS);
		v[i] = sbuf_take(&c);
	}
	cJSON_Delete(a);
	*items = v;
	*n = count;
	return 0;
}

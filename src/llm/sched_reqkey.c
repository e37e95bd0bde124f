/* sched_reqkey.c: the canonical request key (llm_request_key), which names a request in the
 * response cache and joins identical requests into one job.
 *
 * The key is the SHA-256 of the request as cJSON_PrintUnformatted would print
 *   {"v":1,"provider":"...","base_url":"...","model":"...","messages":[{"role":"...",
 *    "content":"..."},...],"temperature":T,"max_tokens":M}
 * (the cache on disk holds keys made that way).  A request to an OpenAI reasoning model, which
 * is sent without a temperature and with max_completion_tokens (provider_openai.c), has
 * "temperature":null and "reasoning":true after max_tokens instead: its key is that of what is
 * sent, whatever temperature the configuration holds.  The text is written here directly: strings
 * escaped exactly as cJSON escapes them, numbers printed by cJSON itself and remembered, since
 * a run uses a handful of temperatures.  test_request_key compares both ways. */
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/sched_int.h"

static void key_string(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	sbuf_addc(b, '"');
	if (!s)
		s = "";
	for (const char *run = s;; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 32 && c != '"' && c != '\\')
			continue;
		sbuf_add(b, run, (size_t)(s - run));
		if (!c)
			break;
		static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
		const char *e = memchr(from, c, sizeof(from) - 1);
		char esc[6] = {'\\', e ? to[e - from] : 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		sbuf_add(b, esc, e ? 2 : 6);
		run = s + 1;
	}
	sbuf_addc(b, '"');
}

static void key_number(struct sbuf *b, double d)
{
	static struct {
		uint64_t bits;
		bool used;
		char text[40];
	} memo[8];
	static unsigned next;
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	for (size_t i = 0; i < ARRAY_SIZE(memo); i++)
		if (memo[i].used && memo[i].bits == bits) {
			sbuf_adds(b, memo[i].text);
			return;
		}
	cJSON *n = cJSON_CreateNumber(d);
	char *text = n ? cJSON_PrintUnformatted(n) : NULL;
	cJSON_Delete(n);
	if (!text) {
		fprintf(stderr, "adopt-tui: out of memory\n");
		abort();
	}
	sbuf_adds(b, text);
	if (strlen(text) < sizeof memo[0].text) {
		unsigned i = next++ % ARRAY_SIZE(memo);
		memo[i].bits = bits;
		memo[i].used = true;
		strcpy(memo[i].text, text);
	}
	free(text);
}

void llm_request_key(const struct llm_request *req, char out[65])
{
	const struct model_config *m = req->model;
	const struct provider_ops *ops = provider_find(m->provider);
	struct sbuf b = {0};
	sbuf_adds(&b, "{\"v\":1,\"provider\":");
	key_string(&b, m->provider);
	sbuf_adds(&b, ",\"base_url\":");
	/* the scripted model is its rules file, named as the session names it (not the path it
	 * was reached by), so opening the session by another path finds the same answers */
	key_string(&b, !ops                               ? ""
	               : is_scripted(ops) && m->rules_ref ? m->rules_ref
	                                                  : model_base_url(ops, m));
	sbuf_adds(&b, ",\"model\":");
	key_string(&b, m->model);
	sbuf_adds(&b, ",\"messages\":[");
	for (size_t i = 0; i < req->n_messages; i++) {
		sbuf_adds(&b, i ? ",{\"role\":" : "{\"role\":");
		key_string(&b, req->messages[i].role);
		sbuf_adds(&b, ",\"content\":");
		key_string(&b, req->messages[i].content);
		sbuf_addc(&b, '}');
	}
	bool reasoning = m->provider && !strcmp(m->provider, "openai") && llm_is_reasoning(m);
	sbuf_adds(&b, "],\"temperature\":");
	if (reasoning)
		sbuf_adds(&b, "null");
	else
		key_number(&b, m->temperature);
	sbuf_adds(&b, ",\"max_tokens\":");
	key_number(&b, m->max_tokens);
	sbuf_adds(&b, reasoning ? ",\"reasoning\":true}" : "}");
	/* one context and the implementation fetched once: a fetch per digest costs more than
	 * the hashing */
	static EVP_MD *sha256;
	static EVP_MD_CTX *ctx;
	if (!sha256)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!sha256 || !ctx || !EVP_DigestInit_ex(ctx, sha256, NULL) ||
	    !EVP_DigestUpdate(ctx, sbuf_str(&b), b.len) || !EVP_DigestFinal_ex(ctx, md, &mdlen) ||
	    mdlen != 32) {
		fprintf(stderr, "adopt-tui: SHA-256 unavailable from libcrypto\n");
		abort();
	}
	sbuf_free(&b);
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* keygate.h: where an API key may go.  A session file names both the URL and the environment
 * variable of a model, so a session from someone else could otherwise send any secret anywhere.
 * Without --trust a key is sent only
 *   - to the provider's own default host, to a loopback address (localhost, 127.0.0.0/8, ::1),
 *     or to a host the user chose: --base-url, or the provider's standard variable
 *     (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, OLLAMA_HOST);
 *   - from the provider's standard variable (OPENAI_API_KEY, ANTHROPIC_API_KEY) or one whose
 *     name ends in _API_KEY.
 * Anything else is refused before a byte is sent, with a message naming --trust; a front end
 * that can ask the user (the workbench) gets the question instead, once per variable and host.
 * Hosts are compared as scheme://host:port, parsed by libcurl's own URL parser (the one that
 * will make the connection). */
#ifndef ADOPT_KEYGATE_H
#define ADOPT_KEYGATE_H

#include <stdbool.h>

#include "core/util.h"
#include "llm/provider.h"

struct keygate;

/* user_base_url: the --base-url of this run, or NULL (copied). */
struct keygate *keygate_new(bool trust, const char *user_base_url);
void keygate_free(struct keygate *g);

enum key_verdict {
	KEY_SEND,   /* allowed */
	KEY_REFUSE, /* refused: e says why and names --trust */
	KEY_ASK,    /* the user may allow it: ask now (*origin is set); the answer comes later */
	KEY_WAIT,   /* asked already, not answered yet */
};

/* May the key from environment variable `var` go to `url` (the request's URL)?  With can_ask,
 * a pair that is neither allowed nor refused gives KEY_ASK once, then KEY_WAIT until
 * keygate_answer.  *origin (for KEY_ASK) is "scheme://host:port", owned by the gate. */
enum key_verdict keygate_check(struct keygate *g, const struct provider_ops *ops, const char *var,
                               const char *url, bool can_ask, const char **origin, struct err *e);
/* The user's answer for var and origin (as KEY_ASK gave them). */
void keygate_answer(struct keygate *g, const char *var, const char *origin, bool allow);

/* "scheme://host:port" of a URL in lower case (the default port filled in), or NULL when
 * libcurl cannot parse it; caller frees. */
char *url_origin(const char *url);
/* Whether the URL's host is a loopback address. */
bool url_is_loopback(const char *url);

#endif

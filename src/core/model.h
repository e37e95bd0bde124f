/* model.h: a named model configuration from the session file (what to call and at what price).
 * The API key itself is never stored: only the name of the environment variable holding it. */
#ifndef ADOPT_MODEL_H
#define ADOPT_MODEL_H

#include <stdbool.h>

struct model_config {
	char *name;        /* session key, e.g. "task", "optimizer" */
	char *provider;    /* "openai", "anthropic", "ollama", "scripted" */
	char *base_url;    /* NULL: the provider's default (or its standard env variable) */
	char *model;       /* e.g. "gpt-4o-mini" */
	char *api_key_env; /* NULL: the provider's standard variable (OPENAI_API_KEY, ...) */
	char *rules;       /* scripted provider: rules file, resolved against the session dir */
	char *rules_ref;   /* the same as the session names it: the response cache's key holds
	                    * it, so a session opened by another path finds its answers */
	double temperature;
	int max_tokens;
	double price_in, price_out; /* USD per million tokens; < 0: use the built-in table */
	/* USD per million prompt tokens read from / written to the provider's prompt cache;
	 * < 0: price_in times the built-in table's ratio */
	double price_cached_in, price_cache_write;
	/* a reasoning model (sent max_completion_tokens and no temperature)? */
	enum { MODEL_REASONING_AUTO, MODEL_REASONING_YES, MODEL_REASONING_NO } reasoning;
	int concurrency;  /* in-flight cap for this configuration (default 8) */
	double rpm, tpm;  /* requests / tokens per minute; 0 = unlimited */
	double timeout_s; /* total per attempt (default 120) */
	bool stream;      /* stream responses (default true) */
	/* whether an answer cut by the token limit is an error: CUT_DEFAULT (for the analysis
	 * roles, whose tags a cut would lose; not for pipeline steps, whose cut answers are
	 * marked and counted), CUT_ERROR or CUT_ALLOWED ("cut_is_error": true / false) */
	int cut_is_error;
	/* "base_url" given as a list (replicas of one server, gateways of one model): its URLs,
	 * base_url being the first (the one the response cache key names); NULL and 0 when
	 * base_url was one string */
	char **replicas;
	int n_replicas;
};
enum { CUT_ALLOWED = -1, CUT_DEFAULT = 0, CUT_ERROR = 1 };

/* The most base URLs one model configuration may list. */
#define MODEL_REPLICAS_MAX 16

/* A deep copy (the strings are the copy's own) and its release; the struct itself is the
 * caller's. */
void model_config_copy(struct model_config *dst, const struct model_config *src);
void model_config_free(struct model_config *m);

#endif

/* redact.h: the secrets in use (API key values) and their removal from text.  The LLM layer
 * registers each key it reads from the environment; every text that leaves the program (error
 * messages, replies, what is printed, drawn or written) can then be cleaned of them.  One
 * process-wide list: keys come from the environment, which is process-wide too. */
#ifndef ADOPT_REDACT_H
#define ADOPT_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* What a secret becomes. */
#define REDACTED "[redacted]"
/* Shorter values are not registered: they would garble ordinary words, and no real key is so
 * short. */
#define REDACT_MIN_LEN 8

/* Registers a secret (copied; registering it again does nothing). */
void redact_add(const char *secret);
/* Whether any secret is registered. */
bool redact_active(void);
/* Whether s holds a registered secret. */
bool redact_needed(const char *s, size_t n);
/* Replaces every registered secret in the heap string *s (reallocated when it changes). */
void redact_str(char **s);
/* A copy of n bytes with every registered secret replaced (NUL-terminated; caller frees). */
char *redact_copy(const char *s, size_t n);
/* Forgets every secret (wiping the copies). */
void redact_clear(void);

#endif

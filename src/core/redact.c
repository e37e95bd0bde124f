/* redact.c: the registered secrets (wiped when forgotten) and their replacement in text.  See
 * redact.h.  A handful of keys at most: a linear scan per secret is plenty. */
#include "core/redact.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static char **secrets;
static size_t n_secrets, cap_secrets;

void redact_add(const char *secret)
{
	if (!secret || strlen(secret) < REDACT_MIN_LEN)
		return;
	for (size_t i = 0; i < n_secrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	secrets = xgrow(secrets, &cap_secrets, n_secrets + 1, sizeof *secrets);
	secrets[n_secrets++] = xstrdup(secret);
}

/* The first registered secret at s[0..n), or NULL; *len gets its length. */
static const char *secret_at(const char *s, size_t n, size_t *len)
{
	for (size_t i = 0; i < n_secrets; i++) {
		size_t k = strlen(secrets[i]);
		if (k <= n && memcmp(s, secrets[i], k) == 0) {
			*len = k;
			return secrets[i];
		}
	}
	return NULL;
}

bool redact_active(void)
{
	return n_secrets > 0;
}

bool redact_needed(const char *s, size_t n)
{
	for (size_t i = 0; i < n_secrets; i++) {
		size_t k = strlen(secrets[i]);
		for (const char *p = s; k <= n - (size_t)(p - s);) {
			p = memchr(p, secrets[i][0], n - (size_t)(p - s) - k + 1);
			if (!p)
				break;
			if (memcmp(p, secrets[i], k) == 0)
				return true;
			p++;
		}
	}
	return false;
}

char *redact_copy(const char *s, size_t n)
{
	struct sbuf b = {0};
	if (!redact_needed(s, n)) {
		sbuf_add(&b, s, n);
		return sbuf_take(&b);
	}
	for (size_t i = 0; i < n;) {
		size_t k;
		if (secret_at(s + i, n - i, &k)) {
			sbuf_adds(&b, REDACTED);
			i += k;
		} else {
			sbuf_addc(&b, s[i++]);
		}
	}
	return sbuf_take(&b);
}

void redact_str(char **s)
{
	if (!*s || !redact_needed(*s, strlen(*s)))
		return;
	char *r = redact_copy(*s, strlen(*s));
	free(*s);
	*s = r;
}

void redact_clear(void)
{
	for (size_t i = 0; i < n_secrets; i++) {
		explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	free(secrets);
	secrets = NULL;
	n_secrets = cap_secrets = 0;
}

/* roles.c: the role prompts of ADOPT (E1..E6 and the rewrite role): where their text comes from
 * (session override or the built-in file), rendering with fixed name/value pairs, and reading the
 * answer out of a model's reply.  Replies are treated as untrusted text: tags may be missing,
 * unclosed, repeated, in any case, or buried in an enormous reply. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/builtin.h"
#include "core/template.h"
#include "engine/roles.h"

static const struct {
	const char *name, *tag, *help;
} role_table[ROLE_COUNT] = {
#define X(id, name, tag, help) {name, tag, help},
    ROLES(X)
#undef X
};

const char *role_name(enum role r)
{
	return r < ROLE_COUNT ? role_table[r].name : "?";
}

const char *role_tag(enum role r)
{
	return r < ROLE_COUNT ? role_table[r].tag : "answer";
}

const char *role_help(enum role r)
{
	return r < ROLE_COUNT ? role_table[r].help : "";
}

int role_find(const char *name)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (strcmp(role_table[r].name, name) == 0)
			return r;
	return -1;
}

const char *role_builtin(enum role r)
{
	if (r >= ROLE_COUNT)
		return NULL;
	char path[96];
	snprintf(path, sizeof path, "src/engine/roles/%s.txt", role_table[r].name);
	return builtin_get(path);
}

const char *role_text(const struct session *s, enum role r)
{
	if (r >= ROLE_COUNT)
		return NULL;
	if (s && s->opt.roles) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(s->opt.roles, role_table[r].name);
		if (cJSON_IsString(o) && o->valuestring[0])
			return o->valuestring;
	}
	return role_builtin(r);
}

char *role_render(const struct session *s, enum role r, const char *const *vars, struct err *e)
{
	const char *text = role_text(s, r);
	if (!text) {
		err_set(
		    e,
		    "role \"%s\": no prompt template (neither optimizer.roles.%s nor a built-in)",
		    role_name(r), role_name(r));
		return NULL;
	}
	struct template *t = template_parse(text, e);
	if (!t) {
		err_prefix(e, "role \"%s\"", role_name(r));
		return NULL;
	}
	char *out = template_render_pairs(t, vars, e);
	if (!out)
		err_prefix(e, "role \"%s\"", role_name(r));
	template_free(t);
	return out;
}

/* ---- reading answers ---- */

/* Finds "<tag>" or "<tag attr...>" (case-insensitive) at or after p; *body gets the text after
 * the '>'.  Returns the '<' or NULL. */
static const char *find_open(const char *p, const char *tag, const char **body)
{
	size_t n = strlen(tag);
	for (; (p = strchr(p, '<')) != NULL; p++) {
		if (strncasecmp(p + 1, tag, n) != 0)
			continue;
		char c = p[1 + n];
		if (c == '>') {
			*body = p + n + 2;
			return p;
		}
		if (c == ' ' || c == '\t' || c == '\n') {
			const char *q = p + 1 + n;
			q += strcspn(q, "<>");
			if (*q == '>') {
				*body = q + 1;
				return p;
			}
		}
	}
	return NULL;
}

/* Finds "</tag>" (case-insensitive, spaces allowed before '>') at or after p; *after gets the
 * text after it. */
static const char *find_close(const char *p, const char *tag, const char **after)
{
	size_t n = strlen(tag);
	for (; (p = strstr(p, "</")) != NULL; p++) {
		if (strncasecmp(p + 2, tag, n) != 0)
			continue;
		const char *q = p + 2 + n;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '>') {
			*after = q + 1;
			return p;
		}
	}
	return NULL;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* A trimmed, capped copy of [a, b) with a surrounding Markdown code fence removed; NULL when
 * nothing is left. */
static char *answer_dup(const char *a, const char *b)
{
	while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r'))
		b--;
	if (b - a >= 6 && strncmp(a, "```", 3) == 0 && strncmp(b - 3, "```", 3) == 0) {
		const char *nl = memchr(a, '\n', (size_t)(b - a));
		if (nl && nl < b - 3) {
			a = nl + 1;
			b -= 3;
			while (b > a && (b[-1] == ' ' || b[-1] == '\n' || b[-1] == '\r'))
				b--;
		}
	}
	if (a >= b)
		return NULL;
	size_t n = utf8_cut(a, (size_t)(b - a), ROLE_MAX_ANSWER);
	return xstrndup(a, n);
}

/* The next tagged answer at or after *p: the body of the next <tag>, up to its </tag> or, when
 * unclosed, the end.  Advances *p past it.  Returns NULL when no further <tag> exists; *body_out
 * is NULL for an empty body. */
static bool next_tagged(const char **p, const char *tag, char **body_out)
{
	const char *body, *after;
	if (!find_open(*p, tag, &body))
		return false;
	const char *end = find_close(body, tag, &after);
	/* unclosed: up to the next opening of the same tag, else the rest */
	const char *b2, *next = find_open(body, tag, &b2);
	if (next && (!end || next < end))
		end = after = next;
	else if (!end)
		end = after = body + strlen(body);
	*body_out = answer_dup(body, end);
	*p = after;
	return true;
}

int role_extract(const char *reply, const char *tag, char **out, struct err *e)
{
	*out = NULL;
	if (!reply)
		return err_set(e, "no reply");
	const char *p = reply;
	bool tagged = false;
	char *body;
	while (next_tagged(&p, tag, &body)) {
		tagged = true;
		if (body) {
			*out = body;
			return 0;
		}
	}
	if (tagged)
		return err_set(e, "the reply's <%s> answer is empty", tag);
	/* no opening tag: a lone closing tag ends the answer, else the whole reply counts */
	const char *after, *end = find_close(reply, tag, &after);
	*out = answer_dup(reply, end ? end : reply + strlen(reply));
	if (!*out)
		return err_set(e, "the reply is empty (expected an answer inside <%s>...</%s>)",
		               tag, tag);
	return 0;
}

size_t role_extract_all(const char *reply, const char *tag, char ***out)
{
	*out = NULL;
	size_t n = 0, cap = 0;
	const char *p = reply ? reply : "";
	char *body;
	while (next_tagged(&p, tag, &body)) {
		if (!body)
			continue;
		*out = xgrow(*out, &cap, n + 1, sizeof **out);
		(*out)[n++] = body;
	}
	return n;
}

void role_strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *role_round_part(const char *text, int k)
{
	char label[32];
	int n = snprintf(label, sizeof label, "Round %d:", k);
	const char *p = text;
	if (!p)
		return NULL;
	while (p && strncmp(p, label, (size_t)n) != 0) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		return NULL;
	p += n;
	const char *end = p;
	while ((end = strchr(end, '\n')) && strncmp(end + 1, "Round ", 6) != 0)
		end++;
	if (!end)
		end = p + strlen(p);
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	return xstrndup(p, (size_t)(end - p));
}

/* rules.c: the scripted model's rules: loading and checking the file, picking the rule that
 * matches a conversation and expanding its reply template. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonnum.h"
#include "core/jsonpos.h"
#include "core/rx.h"
#include "llm/rules.h"

#define RULES_MAX_BYTES    (16u << 20)
#define RULES_DEFAULT_TEXT "[scripted] no rule matched"

enum rule_on { ON_LAST_USER, ON_SYSTEM, ON_ALL };

static const struct {
	const char *name;
	enum rule_on on;
} rule_on_names[] = {
    {"last_user", ON_LAST_USER},
    {"system", ON_SYSTEM},
    {"all", ON_ALL},
};

static const struct {
	char c;
	int flag;
} rule_flag_chars[] = {
    {'i', RX_CASELESS},
    {'m', RX_MULTILINE},
    {'s', RX_DOTALL},
};

struct rule {
	struct rx *rx;
	enum rule_on on;
	char **replies;
	size_t n_replies;
	char *pick; /* NULL: a reply is chosen by the whole conversation */
	unsigned delay_ms;
};

struct rules {
	struct rule *v;
	size_t n;
	char *fallback; /* NULL: the default text */
};

/* Walks a template: with out == NULL only checks its references against rx (errors name the
 * template as `what`: "reply", "pick"); otherwise appends the expansion for match m of
 * subject. */
static int tpl_walk(const char *t, const struct rx *rx, const char *subject,
                    const struct rx_match *m, struct sbuf *out, const char *what, struct err *e)
{
	int ncap = rx_capture_count(rx);
	while (*t) {
		const char *d = strchr(t, '$');
		size_t lit = d ? (size_t)(d - t) : strlen(t);
		if (out)
			sbuf_add(out, t, lit);
		if (!d)
			break;
		t = d + 1;
		int g = -2; /* -2: not a reference */
		if (*t == '$') {
			if (out)
				sbuf_addc(out, '$');
			t++;
			continue;
		} else if (isdigit((unsigned char)*t)) {
			g = *t++ - '0';
		} else if (*t == '{' && strchr(t, '}')) {
			const char *close = strchr(t, '}');
			char *ref = xstrndup(t + 1, (size_t)(close - t - 1));
			long num;
			g = parse_long(ref, &num) == 0 ? (num >= 0 && num <= ncap ? (int)num : -1)
			                               : rx_group_index(rx, ref);
			if (g < 0 && !out)
				err_set(e, "%s refers to ${%s}, a group the pattern does not have",
				        what, ref);
			free(ref);
			if (g < 0 && !out)
				return -1;
			t = close + 1;
		}
		if (g == -2) {
			if (out)
				sbuf_addc(out, '$');
			continue;
		}
		if (g > ncap && !out)
			return err_set(e, "%s refers to $%d but the pattern has %d group%s", what,
			               g, ncap, ncap == 1 ? "" : "s");
		if (out && g >= 0 && g < m->ngroups && m->start[g] != SIZE_MAX)
			sbuf_add(out, subject + m->start[g], m->end[g] - m->start[g]);
	}
	return 0;
}

static void rule_clear(struct rule *r)
{
	rx_free(r->rx);
	for (size_t i = 0; i < r->n_replies; i++)
		free(r->replies[i]);
	free(r->replies);
	free(r->pick);
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_clear(&r->v[i]);
	free(r->v);
	free(r->fallback);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n : 0;
}

static int rule_parse_on(const cJSON *j, enum rule_on *on, struct err *e)
{
	*on = ON_LAST_USER;
	if (!j)
		return 0;
	if (!cJSON_IsString(j))
		return err_set(e, "\"on\" must be a string");
	for (size_t i = 0; i < ARRAY_SIZE(rule_on_names); i++)
		if (!strcmp(j->valuestring, rule_on_names[i].name)) {
			*on = rule_on_names[i].on;
			return 0;
		}
	return err_set(e, "\"on\": unknown value \"%s\" (use last_user, system or all)",
	               j->valuestring);
}

static int rule_parse_flags(const cJSON *j, int *flags, struct err *e)
{
	*flags = 0;
	if (!j)
		return 0;
	if (!cJSON_IsString(j))
		return err_set(e, "\"flags\" must be a string such as \"is\"");
	for (const char *p = j->valuestring; *p; p++) {
		size_t i = 0;
		while (i < ARRAY_SIZE(rule_flag_chars) && rule_flag_chars[i].c != *p)
			i++;
		if (i == ARRAY_SIZE(rule_flag_chars))
			return err_set(e, "\"flags\": unknown flag '%c' (use i, m, s)", *p);
		*flags |= rule_flag_chars[i].flag;
	}
	return 0;
}

static int rule_add_reply(struct rule *r, const cJSON *j, size_t *cap, struct err *e)
{
	if (!cJSON_IsString(j))
		return err_set(e, "a reply must be a string");
	if (tpl_walk(j->valuestring, r->rx, NULL, NULL, NULL, "reply", e) < 0)
		return -1;
	r->replies = xgrow(r->replies, cap, r->n_replies + 1, sizeof *r->replies);
	r->replies[r->n_replies++] = xstrdup(j->valuestring);
	return 0;
}

static int rule_parse_replies(struct rule *r, const cJSON *obj, struct err *e)
{
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(obj, "reply");
	const cJSON *many = cJSON_GetObjectItemCaseSensitive(obj, "replies");
	size_t cap = 0;
	if (one && many)
		return err_set(e, "give either \"reply\" or \"replies\", not both");
	if (one)
		return rule_add_reply(r, one, &cap, e);
	if (!cJSON_IsArray(many) || cJSON_GetArraySize(many) == 0)
		return err_set(e, "needs \"reply\" (a string) or \"replies\" (a non-empty array)");
	const cJSON *it;
	cJSON_ArrayForEach(it, many)
	{
		if (rule_add_reply(r, it, &cap, e) < 0)
			return -1;
	}
	return 0;
}

static int rule_parse(struct rule *r, const cJSON *obj, struct err *e)
{
	if (!cJSON_IsObject(obj))
		return err_set(e, "must be an object");
	const cJSON *match = cJSON_GetObjectItemCaseSensitive(obj, "match");
	if (!cJSON_IsString(match))
		return err_set(e, "needs \"match\", a PCRE2 pattern string");
	int flags;
	if (rule_parse_on(cJSON_GetObjectItemCaseSensitive(obj, "on"), &r->on, e) < 0 ||
	    rule_parse_flags(cJSON_GetObjectItemCaseSensitive(obj, "flags"), &flags, e) < 0)
		return -1;
	const cJSON *delay = cJSON_GetObjectItemCaseSensitive(obj, "delay_ms");
	double ms = 0;
	if (delay && json_real(delay, 0, 3600e3, &ms, NULL) < 0)
		return err_set(e, "\"delay_ms\" must be a number of milliseconds (0 to 3600000)");
	r->delay_ms = (unsigned)ms;
	r->rx = rx_compile(match->valuestring, flags, e);
	if (!r->rx)
		return -1;
	const cJSON *pick = cJSON_GetObjectItemCaseSensitive(obj, "pick");
	if (pick) {
		if (!cJSON_IsString(pick))
			return err_set(e, "\"pick\" must be a template string such as \"${word}\"");
		if (tpl_walk(pick->valuestring, r->rx, NULL, NULL, NULL, "\"pick\"", e) < 0)
			return -1;
		r->pick = xstrdup(pick->valuestring);
	}
	return rule_parse_replies(r, obj, e);
}

/* The line of the value at a JSON path, for "file:line: message". */
static int line_of(const char *json, const char *path)
{
	struct json_pos pos = {1, 1};
	json_pos_of_path(json, strlen(json), path, &pos);
	return pos.line;
}

/* Messages quote nothing of a text that is not JSON (a rules path may name any file): only
 * the position of the problem. */
struct rules *rules_parse(const char *json, const char *name, struct err *e)
{
	cJSON *root = cJSON_Parse(json);
	if (!root) {
		struct json_pos pos;
		json_scan_error(json, strlen(json), cJSON_GetErrorPtr(), &pos, NULL, 0);
		err_set(e,
		        "%s:%d:%d: not a rules file: invalid JSON (expected an object with a "
		        "\"rules\" array)",
		        name, pos.line, pos.col);
		return NULL;
	}
	struct rules *r = xcalloc(1, sizeof *r);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "rules");
	const cJSON *fb = cJSON_GetObjectItemCaseSensitive(root, "fallback");
	if (!cJSON_IsObject(root) || (list && !cJSON_IsArray(list))) {
		err_set(e, "%s:%d: expected an object with a \"rules\" array", name,
		        line_of(json, list ? "rules" : ""));
		goto fail;
	}
	if (fb && !cJSON_IsString(fb)) {
		err_set(e, "%s:%d: \"fallback\" must be a string", name, line_of(json, "fallback"));
		goto fail;
	}
	r->fallback = fb ? xstrdup(fb->valuestring) : NULL;
	size_t n = list ? (size_t)cJSON_GetArraySize(list) : 0;
	r->v = xcalloc(n, sizeof *r->v);
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		struct rule *ru = &r->v[r->n++];
		if (rule_parse(ru, it, e) < 0) {
			char path[48];
			snprintf(path, sizeof path, "rules[%zu]", r->n - 1);
			err_prefix(e, "%s:%d: rule %zu", name, line_of(json, path), r->n - 1);
			goto fail;
		}
	}
	cJSON_Delete(root);
	return r;
fail:
	cJSON_Delete(root);
	rules_free(r);
	return NULL;
}

struct rules *rules_load(const char *path, struct err *e)
{
	char *text;
	size_t len;
	if (file_read(path, RULES_MAX_BYTES, &text, &len, e) < 0)
		return NULL;
	struct rules *r = NULL;
	if (memchr(text, '\0', len))
		err_set(e, "%s: binary data (a NUL byte): not a rules file", path);
	else
		r = rules_parse(text, path, e);
	free(text);
	return r;
}

/* The text a rule's pattern is tried on; false when the conversation has none. */
static bool rule_subject(enum rule_on on, const struct llm_message *msgs, size_t n,
                         struct sbuf *out)
{
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		const char *role = msgs[i].role ? msgs[i].role : "";
		const char *content = msgs[i].content ? msgs[i].content : "";
		if (on == ON_LAST_USER && !strcmp(role, "user")) {
			sbuf_reset(out);
			sbuf_adds(out, content);
			found = true;
		} else if (on == ON_SYSTEM && !strcmp(role, "system")) {
			if (found)
				sbuf_adds(out, "\n\n");
			sbuf_adds(out, content);
			found = true;
		} else if (on == ON_ALL) {
			if (found)
				sbuf_adds(out, "\n\n");
			sbuf_addf(out, "%s: %s", role, content);
			found = true;
		}
	}
	if (found && !out->s)
		sbuf_adds(out, ""); /* an empty message is still a subject */
	return found;
}

/* FNV's low bits are weak: finish with splitmix64's mixer before taking a modulo. */
static uint64_t hash_finish(uint64_t h)
{
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

static uint64_t conversation_hash(const struct llm_message *msgs, size_t n)
{
	uint64_t h = 0;
	for (size_t i = 0; i < n; i++) {
		const char *role = msgs[i].role ? msgs[i].role : "";
		const char *content = msgs[i].content ? msgs[i].content : "";
		h = hash_bytes(role, strlen(role) + 1, h);
		h = hash_bytes(content, strlen(content) + 1, h);
	}
	return hash_finish(h);
}

/* Which of a rule's replies answers: by its "pick" template's expansion when it has one (the
 * same captured text, the same reply, whatever else the conversation says), else by the whole
 * conversation. */
static size_t reply_index(const struct rule *ru, const char *subject, const struct rx_match *m,
                          const struct llm_message *msgs, size_t n)
{
	if (ru->n_replies == 1)
		return 0;
	if (!ru->pick)
		return conversation_hash(msgs, n) % ru->n_replies;
	struct sbuf key = {0};
	sbuf_adds(&key, "");
	tpl_walk(ru->pick, ru->rx, subject, m, &key, NULL, NULL);
	uint64_t h = hash_finish(hash_bytes(key.s, key.len, 0));
	sbuf_free(&key);
	return h % ru->n_replies;
}

char *rules_reply_ex(const struct rules *r, const struct llm_message *msgs, size_t n,
                     unsigned *delay_ms, int *rule)
{
	struct sbuf subject = {0};
	if (delay_ms)
		*delay_ms = 0;
	if (rule)
		*rule = -1;
	for (size_t i = 0; r && i < r->n; i++) {
		const struct rule *ru = &r->v[i];
		sbuf_reset(&subject);
		if (!rule_subject(ru->on, msgs, n, &subject))
			continue;
		struct rx_match m;
		struct err e;
		if (rx_match(ru->rx, subject.s, subject.len, 0, &m, &e) != 1)
			continue; /* no match, or the limit was hit: try the next rule */
		const char *tpl = ru->replies[reply_index(ru, subject.s, &m, msgs, n)];
		struct sbuf out = {0};
		sbuf_adds(&out, "");
		tpl_walk(tpl, ru->rx, subject.s, &m, &out, NULL, NULL);
		sbuf_free(&subject);
		if (delay_ms)
			*delay_ms = ru->delay_ms;
		if (rule)
			*rule = (int)i;
		return sbuf_take(&out);
	}
	sbuf_free(&subject);
	return xstrdup(r && r->fallback ? r->fallback : RULES_DEFAULT_TEXT);
}

char *rules_reply(const struct rules *r, const struct llm_message *msgs, size_t n,
                  unsigned *delay_ms)
{
	return rules_reply_ex(r, msgs, n, delay_ms, NULL);
}

/* optimizer.c: the table of step-level optimizers (the only place one is registered) and what
 * they share: the instruct role prompt built from a step's supervised set, and the reading of
 * rewritten prompts out of the role model's replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/template.h"
#include "engine/optimizer.h"
#include "engine/roles.h"

extern const struct step_optimizer optimizer_instruct;
extern const struct step_optimizer optimizer_joint;

/* Adding an optimizer: one file defining a `const struct step_optimizer`, one line here. */
static const struct step_optimizer *const optimizers[] = {
    &optimizer_instruct,
    &optimizer_joint,
};

const struct step_optimizer *optimizer_find(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(optimizers); i++)
		if (strcmp(optimizers[i]->name, name) == 0)
			return optimizers[i];
	return NULL;
}

const struct step_optimizer *optimizer_at(size_t i)
{
	return i < ARRAY_SIZE(optimizers) ? optimizers[i] : NULL;
}

const char *optimizer_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t off = 0;
		for (size_t i = 0; i < ARRAY_SIZE(optimizers) && off < sizeof names; i++)
			off += (size_t)snprintf(names + off, sizeof names - off, "%s%s",
			                        i ? ", " : "", optimizers[i]->name);
	}
	return names;
}

void candidate_free(struct candidate *c)
{
	if (!c)
		return;
	free(c->prompt);
	demos_free(c->demos, c->n_demos);
	free(c->optimizer);
	free(c->note);
	memset(c, 0, sizeof *c);
}

void candidates_free(struct candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		candidate_free(&c[i]);
	free(c);
}

struct demo *demos_dup(const struct demo *d, size_t n)
{
	if (!n)
		return NULL;
	struct demo *out = xcalloc(n, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		out[i].input = xstrdup(d[i].input ? d[i].input : "");
		out[i].output = xstrdup(d[i].output ? d[i].output : "");
	}
	return out;
}

void demos_free(struct demo *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].input);
		free(d[i].output);
	}
	free(d);
}

/* ---- the instruct role prompt ---- */

#define CASE_FIELD_MAX 2000 /* bytes of one case field shown to the role model */

static void add_field(struct sbuf *b, const char *label, const char *text)
{
	const char *t = text && *text ? text : "(empty)";
	size_t n = strlen(t);
	sbuf_addf(b, "%s:\n", label);
	if (n > CASE_FIELD_MAX) {
		size_t k = CASE_FIELD_MAX;
		while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80)
			k--;
		sbuf_add(b, t, k);
		sbuf_addf(b, " [... %zu more bytes]\n", n - k);
	} else {
		sbuf_addf(b, "%s\n", t);
	}
}

static char *cases_text(const struct opt_request *req)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < req->n_cases; i++) {
		const struct opt_case *c = &req->cases[i];
		sbuf_addf(&b, "%s### Case %zu (%s)\n", i ? "\n" : "", i + 1,
		          c->good ? "went well" : "went wrong");
		add_field(&b, "Input", c->input);
		add_field(&b, "Output", c->output);
		if (!c->good) {
			add_field(&b, "What was wrong", c->local);
			add_field(&b, "Revised output", c->pseudo);
		}
	}
	if (!b.len)
		sbuf_adds(&b, "(no cases)\n");
	return sbuf_take(&b);
}

/* "{{a}}, {{b}}": the distinct placeholders of a template. */
static char *variables_text(const struct template *t)
{
	struct sbuf b = {0};
	for (size_t i = 0; t && i < template_nvars(t); i++) {
		const char *v = template_var(t, i);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(template_var(t, k), v) == 0;
		if (!seen)
			sbuf_addf(&b, "%s{{%s}}", b.len ? ", " : "", v);
	}
	if (!b.len)
		sbuf_adds(&b, "it has none");
	return sbuf_take(&b);
}

char *optimizer_instruct_prompt(const struct opt_request *req, int n, struct err *e)
{
	struct template *cur = template_parse(req->prompt ? req->prompt : "", e);
	if (!cur)
		return NULL;
	char nbuf[16];
	snprintf(nbuf, sizeof nbuf, "%d", n);
	char *cases = cases_text(req);
	char *vars = variables_text(cur);
	const char *const pairs[] = {
	    "step",       req->step && req->step->id ? req->step->id : "step",
	    "prompt",     req->prompt ? req->prompt : "",
	    "dependency", req->dependency && *req->dependency ? req->dependency : "(not analysed)",
	    "cases",      cases,
	    "n",          nbuf,
	    "variables",  vars,
	    NULL,
	};
	char *out = role_render(req->s, ROLE_INSTRUCT, pairs, e);
	free(cases);
	free(vars);
	template_free(cur);
	return out;
}

/* ---- reading rewrites ---- */

bool optimizer_same_text(const char *a, const char *b)
{
	while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
		a++;
	while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
		b++;
	size_t na = strlen(a), nb = strlen(b);
	while (na && strchr(" \t\n\r", a[na - 1]))
		na--;
	while (nb && strchr(" \t\n\r", b[nb - 1]))
		nb--;
	return na == nb && memcmp(a, b, na) == 0;
}

static bool names_subset(const struct template *a, const struct template *b)
{
	return template_vars_cover(a, b, NULL) == 1;
}

size_t optimizer_parse_rewrites(const struct opt_request *req, const char *const *answers,
                                size_t n_answers, size_t max, char ***out)
{
	*out = NULL;
	struct err e = {{0}};
	struct template *cur = template_parse(req->prompt ? req->prompt : "", &e);
	size_t n = 0;
	for (size_t a = 0; a < n_answers && n < max; a++) {
		if (!answers[a])
			continue;
		char **blocks;
		size_t nb = role_extract_all(answers[a], role_tag(ROLE_INSTRUCT), &blocks);
		if (nb == 0) {
			char *whole;
			if (role_extract(answers[a], role_tag(ROLE_INSTRUCT), &whole, &e) == 0) {
				blocks = xmalloc(sizeof *blocks);
				blocks[nb++] = whole;
			}
		}
		for (size_t i = 0; i < nb; i++) {
			struct template *t = n < max ? template_parse(blocks[i], &e) : NULL;
			bool ok = t && (!cur || (names_subset(cur, t) && names_subset(t, cur)));
			ok = ok && (!req->prompt || !optimizer_same_text(blocks[i], req->prompt));
			for (size_t k = 0; ok && k < n; k++)
				ok = strcmp((*out)[k], blocks[i]) != 0;
			template_free(t);
			if (!ok) {
				free(blocks[i]);
				continue;
			}
			*out = xrealloc(*out, (n + 1) * sizeof **out);
			(*out)[n++] = blocks[i];
		}
		free(blocks);
	}
	template_free(cur);
	return n;
}

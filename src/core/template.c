/* template.c: parsing and rendering of {{name}} templates. */
#include <stdlib.h>
#include <string.h>

#include "core/template.h"

struct segment {
	bool is_var;
	char *s; /* literal text or variable name */
};

struct template
{
	char *text;
	struct segment *segs;
	size_t n, cap;
	char **vars; /* names, in order */
	size_t nvars;
};

static void add_segment(struct template *t, bool is_var, const char *s, size_t n)
{
	t->segs = xgrow(t->segs, &t->cap, t->n + 1, sizeof *t->segs);
	t->segs[t->n++] = (struct segment){is_var, xstrndup(s, n)};
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static void position(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

struct template *template_parse(const char *text, struct err *e)
{
	struct template *t = xcalloc(1, sizeof *t);
	t->text = xstrdup(text);
	const char *p = text, *lit = text;
	int line, col;
	while ((p = strstr(p, "{{")) != NULL) {
		const char *close = strstr(p + 2, "}}");
		const char *next_open = strstr(p + 2, "{{");
		if (!close || (next_open && next_open < close)) {
			position(text, (size_t)(p - text), &line, &col);
			err_set(e, "unclosed {{ at line %d, column %d", line, col);
			goto fail;
		}
		const char *a = p + 2, *b = close;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		position(text, (size_t)(p - text), &line, &col);
		if (a == b) {
			err_set(e, "empty {{}} at line %d, column %d", line, col);
			goto fail;
		}
		/* a final [N] picks a list's item N: {{input.context[0]}} */
		const char *name_end = b;
		if (b - a >= 3 && b[-1] == ']') {
			const char *q = b - 1;
			while (q > a && q[-1] >= '0' && q[-1] <= '9')
				q--;
			if (q > a + 1 && q < b - 1 && q[-1] == '[')
				name_end = q - 1;
		}
		for (const char *q = a; q < b; q++) {
			if (q >= name_end || name_char(*q))
				continue;
			err_set(e,
			        "bad name \"%.*s\" in {{...}} at line %d, column %d (names are "
			        "letters, digits, _ - and dots, with an optional final [N])",
			        (int)(b - a), a, line, col);
			goto fail;
		}
		if (p > lit)
			add_segment(t, false, lit, (size_t)(p - lit));
		add_segment(t, true, a, (size_t)(b - a));
		p = lit = close + 2;
	}
	if (*lit)
		add_segment(t, false, lit, strlen(lit));
	t->vars = xcalloc(t->n, sizeof *t->vars);
	for (size_t i = 0; i < t->n; i++)
		if (t->segs[i].is_var)
			t->vars[t->nvars++] = t->segs[i].s;
	return t;
fail:
	template_free(t);
	return NULL;
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->segs[i].s);
	free(t->segs);
	free(t->vars);
	free(t->text);
	free(t);
}

const char *template_text(const struct template *t)
{
	return t->text;
}

size_t template_nvars(const struct template *t)
{
	return t->nvars;
}

const char *template_var(const struct template *t, size_t i)
{
	return i < t->nvars ? t->vars[i] : NULL;
}

int template_render(const struct template *t, template_lookup_fn *lookup, void *ctx,
                    struct sbuf *out, struct err *e)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct segment *s = &t->segs[i];
		if (!s->is_var) {
			sbuf_adds(out, s->s);
			continue;
		}
		const char *v = lookup(ctx, s->s);
		if (!v)
			return err_set(e, "template uses unknown variable \"%s\"", s->s);
		sbuf_adds(out, v);
	}
	return 0;
}

static const char *pairs_lookup(void *ctx, const char *name)
{
	for (const char *const *v = ctx; v[0]; v += 2)
		if (strcmp(v[0], name) == 0)
			return v[1] ? v[1] : "";
	return NULL;
}

char *template_render_pairs(const struct template *t, const char *const *vars, struct err *e)
{
	struct sbuf b = {0};
	if (template_render(t, pairs_lookup, (void *)vars, &b, e) < 0) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_take(&b);
}

int template_vars_cover(const struct template *required, const struct template *candidate,
                        const char **missing)
{
	for (size_t i = 0; i < required->nvars; i++) {
		bool found = false;
		for (size_t j = 0; j < candidate->nvars && !found; j++)
			found = strcmp(required->vars[i], candidate->vars[j]) == 0;
		if (!found) {
			if (missing)
				*missing = required->vars[i];
			return 0;
		}
	}
	return 1;
}

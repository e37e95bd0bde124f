/* template.h: {{name}} templates with dotted paths ({{input.question}}, {{steps.retrieve.output}},
 * {{round}}).  Parsing is separate from rendering so names can be checked when a session loads;
 * at run time a lookup callback supplies each value (a list arrives already one item a line). */
#ifndef ADOPT_TEMPLATE_H
#define ADOPT_TEMPLATE_H

#include <stddef.h>

#include "core/util.h"

struct template; /* owned by whoever parsed it */

/* Error: "unclosed {{ at line 2, column 7" / "empty {{}} at ..." / "bad name \"a b\" at ...". */
struct template *template_parse(const char *text, struct err *e);
void template_free(struct template *t);
const char *template_text(const struct template *t);

/* The variables in order of appearance (duplicates included). */
size_t template_nvars(const struct template *t);
const char *template_var(const struct template *t, size_t i);

/* Returns the value's text, or NULL when the name is unknown (rendering then fails). */
typedef const char *template_lookup_fn(void *ctx, const char *name);
int template_render(const struct template *t, template_lookup_fn *lookup, void *ctx,
                    struct sbuf *out, struct err *e);

/* Convenience for fixed name/value pairs (role prompts): vars = {"name", "value", ..., NULL}. */
char *template_render_pairs(const struct template *t, const char *const *vars, struct err *e);

/* True when every variable of `required` also appears in `candidate` (a rewritten prompt must
 * keep the inputs its step needs).  Names the first missing one in *missing. */
int template_vars_cover(const struct template *required, const struct template *candidate,
                        const char **missing);

#endif

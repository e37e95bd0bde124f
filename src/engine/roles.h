/* roles.h: the six analysis roles of ADOPT (E1..E6) and the optimizer's rewrite role.  Each
 * role's prompt is a template shipped in src/engine/roles/NAME.txt (compiled in) and can be
 * overridden per session in optimizer.roles.NAME.  Replies are read leniently: the text inside
 * the role's tag when present, else the whole reply, trimmed and capped. */
#ifndef ADOPT_ROLES_H
#define ADOPT_ROLES_H

#include "core/session.h"
#include "core/util.h"

/* id, file/session name, the tag its answer comes in, what it does */
#define ROLES(X)                                                                                   \
	X(STRUCTURE, "structure", "summary", "E1: overall task and each step's role")              \
	X(DEPENDENCY, "dependency", "dependency", "E2: a step's duty and effect on the result")    \
	X(LOSS, "loss", "loss", "E3: concrete differences between output and gold")                \
	X(GRADIENT, "gradient", "gradient", "E4: why the final output went wrong")                 \
	X(LOCAL, "local", "local", "E5: what this step did that led to the error")                 \
	X(PSEUDO, "pseudo", "revised", "E6: the output this step should have given")               \
	X(INSTRUCT, "instruct", "prompt", "optimizer: rewrite a step's prompt")

enum role {
#define X(id, name, tag, help) ROLE_##id,
	ROLES(X)
#undef X
	    ROLE_COUNT
};

const char *role_name(enum role r);
const char *role_tag(enum role r);
const char *role_help(enum role r);
/* The role of a session name ("loss"), or -1. */
int role_find(const char *name);
/* The built-in template text of a role (src/engine/roles/NAME.txt), or NULL. */
const char *role_builtin(enum role r);

/* The role's template text: the session's override, else the built-in file. */
const char *role_text(const struct session *s, enum role r);
/* Renders the role prompt with NULL-terminated name/value pairs; NULL + e on an unknown name.
 * Which names each role receives: src/engine/roles/README.md.  Values are not parsed again, so
 * they may hold {{...}} text.  Caller frees. */
char *role_render(const struct session *s, enum role r, const char *const *vars, struct err *e);

#define ROLE_MAX_ANSWER 8000 /* bytes kept of one answer */

/* The answer inside <tag>...</tag> (the first non-empty one; tag names are case-insensitive and
 * may carry attributes; an unclosed tag runs to the end), else, when the reply has no such tag,
 * the text before a stray </tag> or the whole reply.  Trimmed, a surrounding ``` fence removed,
 * capped at ROLE_MAX_ANSWER bytes on a UTF-8 boundary; *out is the caller's.  -1 with e set
 * (and *out NULL) when nothing is left. */
int role_extract(const char *reply, const char *tag, char **out, struct err *e);
/* Every non-empty <tag>...</tag> answer, in order (for several candidates in one reply); an
 * unclosed tag runs to the next opening tag or the end.  Each trimmed and capped like
 * role_extract.  0 (and *out NULL) when the reply has no tagged answer.  Free with
 * role_strings_free. */
size_t role_extract_all(const char *reply, const char *tag, char ***out);
void role_strings_free(char **v, size_t n);
/* The part of an answer under the line "Round k:" up to the next line starting "Round ",
 * trimmed (caller frees), or NULL when no line starts "Round k:": E6 labels a loop step's
 * revision per round like the step's input. */
char *role_round_part(const char *text, int k);

#endif

/* builtin.h: the default files (themes, role prompts, keys) compiled into the binary. */
#ifndef ADOPT_BUILTIN_H
#define ADOPT_BUILTIN_H

struct builtin_file {
	const char *path; /* repository path, e.g. "themes/dark.theme" */
	const char *text;
};

/* Terminated by { NULL, NULL }. */
extern const struct builtin_file builtin_files[];

/* The text of a built-in file by repository path, or NULL. */
const char *builtin_get(const char *path);

#endif

/* jsonfmt.h: the one way adopt-tui writes JSON files, stable and diff-friendly.
 *
 * Two spaces a level; a member or element a line; an object member or an array that holds only
 * scalars is written on one line when that line fits in JSONFMT_WIDTH columns ({"question":
 * "input.question"}, [0, 1, 2]), an object that is an array's element never is; empty
 * containers as {} and [].  Strings are escaped as cJSON
 * escapes them (UTF-8 kept, control bytes as \uXXXX), numbers in their shortest form
 * (json_number_text), raw nodes (the inline datasets, see session.c) verbatim.  Keys keep the
 * tree's order: json_order_keys puts a known object's keys in a fixed order first. */
#ifndef ADOPT_JSONFMT_H
#define ADOPT_JSONFMT_H

#include <cjson/cJSON.h>

#define JSONFMT_WIDTH 100

/* The document's text, with a final newline; caller frees. */
char *json_print_stable(const cJSON *root);

/* The value on one line without spaces, as cJSON_PrintUnformatted but with numbers as
 * json_number_text writes them; caller frees. */
char *json_print_compact(const cJSON *v);

/* The shortest text that reads back as the same double ("0.1", not "0.10000000000000001");
 * whole numbers below 2^53 plainly ("42"); "null" for infinity and NaN; '.' whatever the
 * locale.  32 bytes always suffice. */
void json_number_text(double d, char *buf, size_t n);

/* Moves obj's members named in keys (NULL-terminated) to the front, in that order; the others
 * follow in their order. */
void json_order_keys(cJSON *obj, const char *const *keys);

#endif

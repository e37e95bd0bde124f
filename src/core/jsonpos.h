/* jsonpos.h: positions in JSON text for error messages (cJSON keeps none). */
#ifndef ADOPT_JSONPOS_H
#define ADOPT_JSONPOS_H

#include <stddef.h>

struct json_pos {
	int line, col; /* 1-based; col counts characters */
};

struct json_pos json_pos_of_offset(const char *text, size_t offset);
/* 0 found, 1 deepest existing ancestor, -1 bad text. */
int json_pos_of_path(const char *text, size_t len, const char *path, struct json_pos *out);

#endif

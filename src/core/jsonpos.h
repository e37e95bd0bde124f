/* jsonpos.h: line:column positions in JSON text, found lazily for error messages.
 *
 * cJSON keeps no positions, so when a loader needs to say `session.json:14:9: step "answer": ...`
 * it asks here: an allocation-free scanner walks the raw text to the value at a path, skipping
 * everything else (strings with escapes, numbers, literals, nested containers), and never reads
 * past the length it is given.  The same scanner explains cJSON parse failures precisely. */
#ifndef ADOPT_JSONPOS_H
#define ADOPT_JSONPOS_H

#include <stddef.h>

#include "core/util.h"

/* 1-based; col counts characters (UTF-8 code points), a tab is one character.  Lines end at
 * "\n", "\r\n" or a lone "\r". */
struct json_pos {
	int line, col;
};

/* Position of byte `offset` in NUL-terminated `text` (an offset past the NUL is clamped to it). */
struct json_pos json_pos_of_offset(const char *text, size_t offset);

/* Position of the value at `path` in `text` (len bytes, no NUL needed).
 * Path syntax: keys separated by dots, array indices in brackets, a leading dot allowed:
 * "pipeline.steps[3].template", ".models.task.temperature"; a key with dots, brackets or quotes
 * is quoted in brackets with backslash escapes: steps["a.b"], x["say \"hi\""].  "" is the root.
 * A key that occurs twice in one object resolves to its FIRST occurrence, as cJSON's
 * cJSON_GetObjectItem does, so positions agree with the values the loader saw.
 * Returns 0 when found; 1 when the path does not exist (*out = the deepest existing ancestor,
 * e.g. the array when an index is out of range); -1 when the text is not JSON along the way or
 * the path is malformed (*out = where scanning stopped). */
int json_pos_of_path(const char *text, size_t len, const char *path, struct json_pos *out);

/* Byte spans of members of the object at `path`, found in one pass over it without building
 * anything (for values too large to parse whole, like an inline dataset): for each key of the
 * NULL-terminated `keys`, spans[k] = {start, end} of its value (the first occurrence, as cJSON
 * resolves it), or {0, 0} when absent.  Returns 0; 1 when `path` is absent or not an object;
 * -1 when the text is not JSON along the way (every span is then {0, 0}). */
int json_member_spans(const char *text, size_t len, const char *path, const char *const *keys,
                      size_t (*spans)[2]);

/* Path builders for callers: append one component to a path in `b` (starting empty).
 * json_path_key(b, "steps"); json_path_index(b, 3); json_path_key(b, "a.b") -> steps[3]["a.b"] */
void json_path_key(struct sbuf *b, const char *key);
void json_path_index(struct sbuf *b, size_t index);

/* For a text cJSON failed to parse: writes "line:col: unexpected ..." into buf (always
 * NUL-terminated), e.g. "3:5: unexpected character '}' (expected a value)" or
 * "7:1: unexpected end of file (expected ']' or ',')".  The position comes from a strict re-scan
 * of the text (cJSON_GetErrorPtr() is often a few characters off); errptr (may be NULL) is the
 * fallback when the re-scan finds nothing wrong.  Characters are shown safely: control bytes as
 * U+XXXX, invalid UTF-8 as a hex byte. */
void json_describe_error(const char *text, size_t len, const char *errptr, char *buf, size_t n);
/* The same, split: *pos gets the position, msg the "unexpected ..." part (for callers that number
 * lines themselves, like a JSONL reader). */
void json_scan_error(const char *text, size_t len, const char *errptr, struct json_pos *pos,
                     char *msg, size_t n);

#endif

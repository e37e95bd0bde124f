/* dataset.h: examples with their input fields and gold answers, in train/val/test splits, held in
 * one arena (compact: a 100,000-example dataset costs little more than its text).  Examples come
 * inline from the session file or from JSONL / JSON-array files beside it. */
#ifndef ADOPT_DATASET_H
#define ADOPT_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/util.h"

/* A field value: a scalar's text, or a list's items.  A list is kept once, as its items (what a
 * retrieve step searches): its text, the items one a line, is joined only when asked
 * (value_text), so text is NULL for a list.  A field that holds objects (an object, or a list
 * with objects in it: DPR's "ctxs": [{"title": ..., "text": ...}]) is kept once too, as its
 * JSON: its value and its sub-fields' ("ctxs.text") have json_index set (text NULL, n_items 0)
 * and are computed when asked (value_read, value_text, example_get, example_text).  24 bytes:
 * a dataset has one per field per example. */
struct value {
	const char *text;
	union {
		const char *const *items;
		const char *json; /* the compact JSON of the example's top-level field */
	};
	uint32_t n_items;
	uint32_t
	    json_index; /* 0: not kept as JSON; 1: the field's own value; N: its sub-field N-1 */
};
/* A value's text: v->text, or a list's items one a line joined into *joined (caller frees;
 * NULL when nothing was joined), which is then what is returned.  A value kept as JSON is
 * always computed into *joined. */
const char *value_text(const struct value *v, char **joined);
/* Where a value kept as JSON is computed (zeroed before use; value_buf_free releases it). */
struct value_buf {
	struct value v;
	struct arena arena;
};
/* v itself, or, when v is kept as JSON, v computed into buf (&buf->v): text or items set. */
const struct value *value_read(const struct value *v, struct value_buf *buf);
void value_buf_free(struct value_buf *buf);

struct example {
	const char *id;
	const char **keys; /* input field names (interned in the dataset) */
	struct value *vals;
	size_t n;
	const char **golds; /* one or more gold answers */
	size_t n_golds;
	size_t line; /* where the example starts in its file (inline: in its array); 0 unknown */
};

enum split_id { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT };
extern const char *const split_names[SPLIT_COUNT];
int split_from_name(const char *name); /* -1 when unknown */

struct split {
	struct example *ex;
	size_t n, cap;
	char *source; /* "inline" or the resolved path */
};

struct dataset {
	struct split splits[SPLIT_COUNT];
	char *answer_field; /* default "answer" */
	char *id_field;     /* default "id" */
	char **fields;      /* union of input field names seen, interned */
	size_t n_fields, cap_fields;
	struct arena arena;
	size_t max_file_bytes; /* largest data file read; 0: FILE_MAX_BYTES_DEFAULT */
	struct {
		bool on;
		size_t from, n;
	} slice;    /* the loader's own: while a file's offset/limit slice is read, what is kept */
	bool eager; /* tests: no value kept as JSON, every one computed at load (to compare) */
	const char **last_keys; /* the loader's own: the last example's field names, shared */
	size_t last_n;
};

/* Loads one split from an inline array, a path (JSONL, or a JSON array) relative to dir, or
 * {"path": P, "key": K, "offset": N, "limit": N} (K: the member of a JSON object file that holds
 * the examples, as BBH's {"examples": [...]}; offset and limit: a slice of the file's examples).
 * Errors carry "file:line: ..." for files; for inline data the caller adds the position.
 * dataset.answer_field may be a path ("answers.text", "answers[0]"; a list on the way is mapped
 * item by item); a gold that is an object is an error naming its fields. */
int dataset_load_split(struct dataset *d, enum split_id split, const cJSON *spec, const char *dir,
                       struct err *e);
/* The dataset object's {"path": P, "key": K, "split": {"train": F, "val": F, "test": F,
 * "seed": N}}: the file's examples shuffled with the seed (the same seed, the same splits) and
 * cut into runs of those fractions (rounded; they add up to at most 1).  An example without an
 * id gets "ex-N", N its place in the file. */
int dataset_load_fractions(struct dataset *d, const cJSON *ds, const char *dir, struct err *e);
/* Loads one split from the text of an inline JSON array ("[" to "]", len bytes), one example at
 * a time: each is parsed on its own, added to the arena and freed, so that the tree of the whole
 * array never exists.  On invalid JSON, *bad points at the offending byte of text (for the
 * caller's "file:line:col"); otherwise *bad is NULL and, as for dataset_load_split, the failing
 * example is number d->splits[split].n of the split. */
int dataset_load_inline(struct dataset *d, enum split_id split, const char *text, size_t len,
                        const char **bad, struct err *e);
/* Adds one example from a JSON object; error when it is not an object or lacks the answer. */
int dataset_add_example(struct dataset *d, enum split_id split, const cJSON *obj, size_t index,
                        struct err *e);
void dataset_free(struct dataset *d);

/* A field by name.  An object field's members are fields too ("answers.text", and for a list
 * of objects the list of each one's member); the gold's own field is none.  The value is the
 * dataset's, or, when kept as JSON, computed into buf (value_read: value_buf_free it). */
const struct value *example_get(const struct example *ex, const char *key, struct value_buf *buf);
/* The text of a field, or with a final [N] its item N ("context[0]"; "" past the end); NULL
 * when the example has no such field.  Owned by the dataset, except a list's whole text and
 * the texts of a value kept as JSON, which are made for this call into *joined (value_text:
 * caller frees). */
const char *example_text(const struct example *ex, const char *path, char **joined);
/* Whether some example has the field (a final [N] ignored). */
int dataset_has_field(const struct dataset *d, const char *key);

#endif

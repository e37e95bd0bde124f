/* dataset_int.h: what the dataset's files share; not for callers of dataset.h.  dataset.c holds
 * the dataset and its examples (one added from its JSON object, its gold answers, field
 * look-ups), dataset_value.c a field's value made from its JSON (and a value kept as JSON read
 * back), dataset_file.c the formats a split is read from (JSON lines, a JSON array, an array
 * under a key, inline text; a file's offset/limit slice), and dataset_fractions.c one file cut
 * into train/val/test by seeded fractions. */
#ifndef ADOPT_DATASET_INT_H
#define ADOPT_DATASET_INT_H

#include "core/dataset.h"

/* dataset.c */
/* The dataset's one copy of a field name (the names of all its examples' fields). */
const char *dataset_intern_field(struct dataset *d, const char *key);

/* dataset_value.c */
/* The text of a scalar JSON value, kept in the arena a: numbers in their shortest form (0.1,
 * not 0.10000000000000001), null "", other values compact JSON. */
const char *scalar_text(struct arena *a, const cJSON *v);
/* A field's value computed from its JSON: a scalar's text, or a list's items. */
void value_from_json(struct arena *a, const cJSON *v, struct value *out);
/* A value kept as JSON: the compact JSON of its example's top-level field, and which value of
 * that field it is (0 the field's own, N the Nth of its sub-fields in add_subfields' order). */
static inline struct value kept_json(const char *json, size_t index)
{
	return (struct value){.json = json, .json_index = (uint32_t)index + 1};
}

/* Fields found below an example's top level: "answers.text" -> its value. */
struct field {
	const char *key; /* interned */
	struct value val;
};
struct fields {
	struct field *v;
	size_t n, cap;
};

/* Appends the sub-fields of field f (an example's top-level member) to subs, their names
 * interned.  When f is kept as JSON, returns its compact JSON (in d's arena), which its
 * sub-fields' values then point to; NULL when f's values are computed now. */
const char *value_subfields(struct dataset *d, const cJSON *f, struct fields *subs);

/* dataset_file.c */
/* Loads the examples of a file into split: JSON lines, a JSON array, or with key the array
 * under that member of a JSON object. */
int dataset_load_file(struct dataset *d, enum split_id split, const char *path, const char *key,
                      struct err *e);

#endif

/* jsonnum.h: numbers read from JSON, checked before they are used.
 *
 * cJSON gives every number as a double: 1e300, -3 or 1e400 (infinity) are all "numbers", and
 * converting one to an int or a long that cannot hold it is undefined behaviour.  Every number a
 * file gives the program goes through here: it is accepted only when finite, within [lo, hi] and,
 * where an integer is wanted, whole; otherwise the caller gets a message to report at the value's
 * position ("must be between 0 and 1e+15 (got 1e+30)").
 *
 * json_num_check walks a table of paths (a file section's numbers and their ranges) so that a
 * loader checks a whole section in one place instead of at every read. */
#ifndef ADOPT_JSONNUM_H
#define ADOPT_JSONNUM_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "core/util.h"

/* Integer ranges stay within +-2^53, where every integer is an exact double. */
#define JSON_INT_MAX 9007199254740992.0

/* 0 with *out when v is a finite number with lo <= x <= hi; else -1 (*out untouched) and, when
 * e is not NULL, e->msg = "must be a number" or "must be between LO and HI (got X)". */
int json_real(const cJSON *v, double lo, double hi, double *out, struct err *e);
/* The same for a whole number (lo and hi are narrowed to +-JSON_INT_MAX and the range of a
 * long): "must be a whole number between LO and HI (got X)". */
int json_long(const cJSON *v, double lo, double hi, long *out, struct err *e);
/* json_long with an int result (lo and hi within INT_MIN..INT_MAX). */
int json_int(const cJSON *v, double lo, double hi, int *out, struct err *e);

/* Reading back what the program wrote (traces, history) after the loader's range table has
 * checked it: a member's number, or 0 when it is missing or out of range (-DBL_MAX..DBL_MAX for
 * json_get_real, a whole count 0..1e15 for json_get_count).  Never undefined behaviour. */
double json_get_real(const cJSON *o, const char *key);
long json_get_count(const cJSON *o, const char *key);

/* One entry of a range table.  Path syntax: object keys separated by dots, "[]" for every item
 * of an array, "*" for every member of an object: "history.iterations[].cost.*.calls". */
struct json_num_rule {
	const char *path;
	bool whole;
	double lo, hi;
};

/* For every number found at a rule's path that is out of its range, calls
 * bad(arg, path, msg): path in jsonpos.h syntax ("history.iterations[2].cost.forward.calls"),
 * msg as json_real/json_long word it.  Values of other types and absent paths are left to the
 * reader (which ignores or reports them).  Returns how many were out of range. */
int json_num_check(const cJSON *root, const struct json_num_rule *rules,
                   void (*bad)(void *arg, const char *path, const char *msg), void *arg);

/* For every value at path (json_num_rule's syntax) that is neither null nor of the cJSON type
 * kind (cJSON_Number, cJSON_String, cJSON_Array or cJSON_Object), calls bad(arg, path, msg),
 * msg "not a number", "not a string", "not a list" or "not an object".  Returns how many. */
int json_kind_check(const cJSON *root, const char *path, int kind,
                    void (*bad)(void *arg, const char *path, const char *msg), void *arg);

#endif

/* rx.h: PCRE2 made safe to use on anything: JIT where available, match and depth limits,
 * and a limit hit reported as an error (never a hang).  UTF-8 patterns and subjects. */
#ifndef ADOPT_RX_H
#define ADOPT_RX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"

struct rx; /* a compiled pattern; owned by whoever compiled it */

#define RX_MAX_GROUPS 32

struct rx_match {
	size_t start[RX_MAX_GROUPS],
	    end[RX_MAX_GROUPS]; /* byte offsets; start == SIZE_MAX: unset */
	int ngroups;            /* groups captured, including group 0 */
};

enum {
	RX_CASELESS = 1 << 0,
	RX_MULTILINE = 1 << 1,
	RX_DOTALL = 1 << 2,
	RX_ANCHORED_FULL = 1 << 3, /* the pattern must match the whole subject */
};

/* Compiles; on error: "invalid regex \"(a\": missing closing parenthesis at offset 2". */
struct rx *rx_compile(const char *pattern, int flags, struct err *e);
void rx_free(struct rx *rx);
const char *rx_pattern(const struct rx *rx);
int rx_capture_count(const struct rx *rx);
/* Index of a named group, or -1. */
int rx_group_index(const struct rx *rx, const char *name);

/* 1 match, 0 no match, -1 error (match/depth limit, bad UTF-8): message in e. */
int rx_match(const struct rx *rx, const char *subject, size_t len, size_t offset,
             struct rx_match *m, struct err *e);
/* A copy of group g of the last match, or NULL when the group did not take part. */
char *rx_group_dup(const struct rx_match *m, const char *subject, int g);
/* Substitution with $1 / ${name} references; global replaces every match. NULL on error. */
char *rx_substitute(const struct rx *rx, const char *subject, const char *replacement, bool global,
                    struct err *e);

/* The last match of rx in the string s (NUL-terminated): 1 found (in *last), 0 none, -1 error
 * (the limits hit). */
int rx_match_last(const struct rx *rx, const char *s, struct rx_match *last, struct err *e);

/* Limits applied to every match; tests lower them to provoke a limit hit. */
void rx_set_limits(unsigned match_limit, unsigned depth_limit);

#endif

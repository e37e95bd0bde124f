/* diff.h: word-level differences between two texts, for showing proposed prompt changes.
 *
 * Texts are split into tokens (runs of word characters, runs of whitespace, single punctuation
 * marks, single CJK characters), the longest common subsequence of the tokens is found by dynamic
 * programming after trimming the common prefix and suffix, and the result is a list of spans.
 * When the changed middle is too large for the DP table (DIFF_MAX_CELLS), the diff is redone over
 * lines; when even that is too large, the middle is shown as removed then added (d->coarse says a
 * fallback was used).  Whitespace-only common runs between two changes are folded into the change
 * so that "the quick" -> "a slow" reads as one replacement rather than two. */
#ifndef ADOPT_TUI_DIFF_H
#define ADOPT_TUI_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#define DIFF_MAX_CELLS (2u * 1024 * 1024) /* 8 MB of table at most */

enum diff_kind { DIFF_SAME, DIFF_ADDED, DIFF_REMOVED };

/* A piece of one of the input texts: SAME and REMOVED point into `a`, ADDED into `b`.  The spans
 * borrow the caller's strings; they stay valid while a and b do. */
struct diff_span {
	enum diff_kind kind;
	const char *text;
	size_t len;
};

struct diff {
	struct diff_span *v;
	size_t n, cap;
	int coarse; /* 0: word level, 1: line level, 2: whole middle replaced */
};

/* Diffs a (old) against b (new), both UTF-8 and NUL-terminated.  Free with diff_free. */
void diff_texts(struct diff *d, const char *a, const char *b);
void diff_free(struct diff *d);
/* Total bytes added and removed (for a "+12 -3" summary). */
void diff_stats(const struct diff *d, size_t *added, size_t *removed);

#endif

/* lines.h: the scrolled line list the content views (traces, gradients, shapley, proposals,
 * history) build on every draw: text is sanitised and wrapped to the pane's width once, so every
 * entry is exactly one screen row; a row may carry several coloured segments (a diff line) and
 * two references back to the model (a trace index, a step index) so that the cursor row tells the
 * view what is selected.  Search, movement keys and drawing are shared here.
 *
 * Ownership: a struct tlines owns its rows and their text. */
#ifndef ADOPT_TUI_LINES_H
#define ADOPT_TUI_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "tui/keys.h"
#include "tui/theme.h"

struct view;

/* A coloured piece of one row: bytes [off, next segment's off) of the row's text. */
struct tseg {
	size_t off;
	enum theme_element el;
};

struct tline {
	char *text; /* sanitised UTF-8, one screen row, no newline */
	struct tseg *segs;
	size_t n_segs;
	int indent;
	long ref; /* a trace index (or other item id), -1 none */
	int step; /* a step index, -1 none */
};

struct tlines {
	struct tline *v;
	size_t n, cap;
	int width; /* wrapping width (the pane's) */
	long ref;  /* the ref and step given to rows added next (tlines_ref) */
	int step;
};

/* A span of text with one element, for tlines_add_spans. */
struct tspan {
	const char *text;
	size_t len;
	enum theme_element el;
};

void tlines_init(struct tlines *l, int width);
/* Empties the list (keeps the width). */
void tlines_clear(struct tlines *l);
void tlines_free(struct tlines *l);
/* Appends copies of src's rows (text, colours, refs): a view keeps rows that seldom change in a
 * list of their own, built once, and copies them into the list it draws (far cheaper than
 * sanitising and wrapping the text again). */
void tlines_append(struct tlines *l, const struct tlines *src);
/* Sets the ref/step that rows added from now on carry. */
void tlines_ref(struct tlines *l, long ref, int step);
/* Adds text (NULL or "" adds one empty row) wrapped to width - indent, one row per wrapped line;
 * returns the index of the first row added. */
size_t tlines_add(struct tlines *l, enum theme_element el, int indent, const char *text);
size_t tlines_addf(struct tlines *l, enum theme_element el, int indent, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* As tlines_addf at indent 0, but the rows after the first start `hang` columns in (leaving 20
 * columns at least): a header or a table row that wraps goes on under itself, not at the
 * margin. */
size_t tlines_hangf(struct tlines *l, enum theme_element el, int hang, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Adds coloured spans as one flowing text wrapped at character boundaries (newlines in spans
 * start new rows); returns the index of the first row. */
size_t tlines_add_spans(struct tlines *l, int indent, const struct tspan *spans, size_t n);
/* As tlines_add_spans at indent 0, the rows after the first `hang` columns in (tlines_hangf). */
size_t tlines_add_spans_hang(struct tlines *l, int hang, const struct tspan *spans, size_t n);
/* As tlines_add_spans, but each invisible character (sanitize.h, san_invisible) is shown as a
 * marker "<U+200B>" in THEME_WARNING: for diffs and proposed prompts, which must not carry a
 * change nobody can see. */
size_t tlines_add_spans_marked(struct tlines *l, int indent, const struct tspan *spans, size_t n);
/* Adds the word diff of old against new (diff.h) as flowing text: removed text as [-old-] in
 * THEME_DIFF_REMOVED, added text as {+new+} in THEME_DIFF_ADDED, so it reads without colour
 * too, and invisible characters marked (tlines_add_spans_marked). */
void tlines_add_diff(struct tlines *l, int indent, const char *old, const char *new);
/* Adds the spans as one row, not wrapped (it is cut when drawn; a newline ends it). */
size_t tlines_add_row(struct tlines *l, int indent, const struct tspan *spans, size_t n);
/* As tlines_add_row, with invisible characters marked as tlines_add_spans_marked does. */
size_t tlines_add_row_marked(struct tlines *l, int indent, const struct tspan *spans, size_t n);
/* Adds formatted text as one row, not wrapped (a pane's header line). */
size_t tlines_add_rowf(struct tlines *l, enum theme_element el, int indent, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* Adds max(left->n, right->n) rows that set left's rows beside right's: row i holds left's row
 * i (its indent and colours kept) padded to left->width columns, then `sep` (THEME_TEXT_DIM),
 * then right's row i; the side that has no row i is blank.  Both lists wrap to their own width
 * (a column's), so the rows line up; the new rows carry l's ref and step. */
void tlines_add_columns(struct tlines *l, const struct tlines *left, const struct tlines *right,
                        const char *sep);

/* Pads b with spaces up to `col` display columns (for aligned columns of UTF-8 text). */
void tlines_pad(struct sbuf *b, int col);
/* Appends the first line of text (NULL: "") as a cell of exactly `cols` display columns: cut
 * with an ellipsis when longer, padded with spaces when shorter (side-by-side columns). */
void tlines_cell(struct sbuf *b, const char *text, int cols);

/* The next row (direction > 0) or previous (< 0) after `from` whose text contains pattern
 * (ASCII case-insensitive), wrapping around; -1 when none. */
long tlines_find(const struct tlines *l, long from, const char *pattern, int direction);
/* tlines_find from *row, which moves to the match; whether there was one (a pane's search). */
bool tlines_seek(const struct tlines *l, int *row, const char *pattern, int direction);
/* Whether hay (NULL: false) contains needle, ignoring ASCII case (as tlines_find matches). */
bool tlines_contains(const char *hay, const char *needle);
/* First row with ref == ref (and step == step unless step < -1); -1 when none. */
long tlines_find_ref(const struct tlines *l, long ref, int step);

/* Draws rows [top, top + rows) at pane rows y0.. ; row `sel` (or -1) in the selection colour. */
void tlines_draw(struct view *v, const struct tlines *l, int y0, int rows, int top, int sel);
/* Applies a movement action to *sel / *top over n rows with `rows` visible; true when the action
 * was a movement (even at an edge). */
bool tlines_move(enum action a, int *sel, int *top, size_t n, int rows);
/* A pager's movement (no selection): scrolls *top by the action over n rows with `rows`
 * visible (a page is rows - 1); true when the action was a movement. */
bool tlines_scroll(enum action a, int *top, size_t n, int rows);
/* Keeps sel in [0, n) and inside [top, top + rows). */
void tlines_clamp(int *sel, int *top, size_t n, int rows);

/* A list whose first `head` rows are a header that stays at the top of the pane while the rest
 * scrolls under it: *top and *sel (NULL: no cursor to keep in view) are row indices kept at or
 * past head; row `mark` (or -1) is drawn selected when there is no *sel. */
void tlines_draw_headed(struct view *v, const struct tlines *l, int head, int *top, int *sel,
                        int mark);
/* tlines_move over the rows under such a header (`rows`: the pane's height). */
bool tlines_move_headed(enum action a, int head, int *sel, int *top, size_t n, int rows);

#endif

/* glyphs.h: the characters the TUI draws with (box drawing, arrows, bars, sparklines, spinner),
 * in a UTF-8 set and an ASCII set chosen from the locale (htop's CRT.c fallback), plus the bar and
 * sparkline renderers.  Every glyph is a UTF-8 string one terminal cell wide. */
#ifndef ADOPT_TUI_GLYPHS_H
#define ADOPT_TUI_GLYPHS_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf;

struct glyphs {
	const char *name; /* "utf8" or "ascii" */
	/* box drawing: horizontal, vertical, corners (top-left, top-right, bottom-left,
	 * bottom-right), tees (left edge, right edge, top edge, bottom edge), cross */
	const char *hline, *vline, *tl, *tr, *bl, *br, *ltee, *rtee, *ttee, *btee, *cross;
	/* heavier frame for the focused pane */
	const char *hline_focus, *vline_focus, *tl_focus, *tr_focus, *bl_focus, *br_focus;
	const char *arrow_right, *arrow_left, *arrow_up, *arrow_down, *loop;
	/* bar[n] is a left-aligned block n eighths wide (bar[0] blank, bar[8] full) */
	const char *bar[9];
	/* rbar[n]: a right-aligned block of about n eighths (for bars growing leftwards) */
	const char *rbar[9];
	const char *spark[8]; /* lowest to highest */
	const char *shade;    /* a projected (not yet measured) cell of a column chart */
	const char *full;     /* a full cell of a column chart */
	const char *ellipsis, *replacement, *bullet, *check, *cross_mark, *whisker, *whisker_lo,
	    *whisker_hi, *axis;
	const char *const *spinner;
	size_t nspinner;
};

/* The two sets. */
extern const struct glyphs glyphs_utf8, glyphs_ascii;

/* The current set: chosen on first use from nl_langinfo(CODESET) (UTF-8 or not) unless
 * glyphs_select() forced one. */
const struct glyphs *glyphs(void);
/* Forces a set (tests, a --ascii option); NULL returns to automatic choice. */
void glyphs_select(const struct glyphs *g);
/* True when the current locale's codeset is UTF-8. */
bool glyphs_locale_is_utf8(void);

/* What each cell of a rendered bar shows, so views can colour the parts differently. */
enum bar_cell_kind { BAR_EMPTY, BAR_POS, BAR_NEG, BAR_WHISKER, BAR_AXIS };
struct bar_cell {
	const char *glyph;
	enum bar_cell_kind kind;
};

/* Renders a bar over `w` cells (cells[w] must exist).
 * Unsigned (signed == false): v in [0, 1] fills from the left with 1/8-cell resolution.
 * Signed: v in [-1, 1] grows from an axis in the middle, rightwards for positive values and
 * leftwards for negative ones (leftward partial cells use right-aligned blocks, 1/2 resolution
 * in UTF-8).  lo <= hi is an uncertainty interval on the same scale, drawn as a whisker where it
 * reaches past the bar's end (NAN, NAN: none).  Values are clamped. */
void glyphs_bar(const struct glyphs *g, struct bar_cell *cells, int w, double v, double lo,
                double hi, bool is_signed);
/* Renders a sparkline of n values into `w` cells, appending UTF-8 to `out`.  When n > w, the values
 * are averaged in w buckets; when n < w, the line is left-aligned and padded with spaces.  The
 * scale is [lo, hi]; pass lo == hi (e.g. NAN, NAN) to scale to the data.  NAN values are blank. */
void glyphs_sparkline(const struct glyphs *g, struct sbuf *out, const double *vals, size_t n, int w,
                      double lo, double hi);
/* Renders a column chart h rows high: row r (0 the top) is appended to rows[r].  The n values
 * are averaged into at most `w` columns (as the sparkline does; a column is a flag's when any
 * of its values has it); each column is `cell` cells wide and filled from the bottom with 1/8-row
 * resolution on the scale [lo, hi] (a value at or under lo still shows its lowest eighth, a NAN
 * column is blank); flagged columns are drawn with the shade glyph (a projection).  Returns the
 * number of columns drawn. */
size_t glyphs_columns(const struct glyphs *g, struct sbuf *rows, int h, const double *vals,
                      const bool *flag, size_t n, size_t w, int cell, double lo, double hi);
/* Appends the glyphs of rendered bar cells to `out`. */
void glyphs_bar_text(struct sbuf *out, const struct bar_cell *cells, int w);

#endif

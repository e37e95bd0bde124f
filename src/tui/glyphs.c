/* glyphs.c: the UTF-8 and ASCII glyph tables, the locale choice between them, and the bar and
 * sparkline renderers (1/8-cell resolution where the glyphs allow it). */
#include <langinfo.h>
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "tui/glyphs.h"

static const char *const spinner_utf8[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
static const char *const spinner_ascii[] = {"|", "/", "-", "\\"};

/* clang-format off */
const struct glyphs glyphs_utf8 = {
	.name = "utf8",
	.hline = "─", .vline = "│", .tl = "┌", .tr = "┐", .bl = "└", .br = "┘",
	.ltee = "├", .rtee = "┤", .ttee = "┬", .btee = "┴", .cross = "┼",
	.hline_focus = "━", .vline_focus = "┃", .tl_focus = "┏", .tr_focus = "┓",
	.bl_focus = "┗", .br_focus = "┛",
	.arrow_right = "→", .arrow_left = "←", .arrow_up = "↑", .arrow_down = "↓", .loop = "↻",
	.bar = {" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"},
	.rbar = {" ", "▕", "▕", "▐", "▐", "▐", "▐", "█", "█"},
	.spark = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}, .shade = "░", .full = "█",
	.ellipsis = "…", .replacement = "�", .bullet = "•", .check = "✓", .cross_mark = "✗",
	.whisker = "─", .whisker_lo = "├", .whisker_hi = "┤", .axis = "│",
	.spinner = spinner_utf8, .nspinner = ARRAY_SIZE(spinner_utf8),
};

const struct glyphs glyphs_ascii = {
	.name = "ascii",
	.hline = "-", .vline = "|", .tl = "+", .tr = "+", .bl = "+", .br = "+",
	.ltee = "+", .rtee = "+", .ttee = "+", .btee = "+", .cross = "+",
	.hline_focus = "=", .vline_focus = "#", .tl_focus = "#", .tr_focus = "#",
	.bl_focus = "#", .br_focus = "#",
	.arrow_right = ">", .arrow_left = "<", .arrow_up = "^", .arrow_down = "v", .loop = "@",
	.bar = {" ", "-", "-", "-", "=", "=", "=", "=", "#"},
	.rbar = {" ", "-", "-", "-", "=", "=", "=", "=", "#"},
	.spark = {"_", ".", ".", "-", "-", "=", "^", "^"}, .shade = ":", .full = "#",
	.ellipsis = "~", .replacement = "?", .bullet = "*", .check = "+", .cross_mark = "x",
	.whisker = ".", .whisker_lo = "[", .whisker_hi = "]", .axis = "|",
	.spinner = spinner_ascii, .nspinner = ARRAY_SIZE(spinner_ascii),
};
/* clang-format on */

static const struct glyphs *forced;

bool glyphs_locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

const struct glyphs *glyphs(void)
{
	if (forced)
		return forced;
	return glyphs_locale_is_utf8() ? &glyphs_utf8 : &glyphs_ascii;
}

void glyphs_select(const struct glyphs *g)
{
	forced = g;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Fills one direction of a bar: n cells growing away from the axis (dir > 0: from cells[0]
 * rightwards; dir < 0: from cells[n-1] leftwards) to magnitude mag in [0, 1], and marks the
 * uncertainty interval [wlo, whi] (magnitudes) with whisker cells. */
static void bar_region(const struct glyphs *g, struct bar_cell *cells, int n, int dir, double mag,
                       double wlo, double whi, enum bar_cell_kind kind)
{
	if (n <= 0)
		return;
	long e = lround(clamp(mag, 0, 1) * n * 8);
	const char *const *part = dir > 0 ? g->bar : g->rbar;
	bool whiskers = !isnan(wlo) && !isnan(whi) && whi > wlo;
	int last_whisker = -1;
	for (int i = 0; i < n; i++) {
		struct bar_cell *c = &cells[dir > 0 ? i : n - 1 - i];
		if (i < e / 8) {
			*c = (struct bar_cell){part[8], kind};
		} else if (i == e / 8 && e % 8) {
			*c = (struct bar_cell){part[e % 8], kind};
		} else {
			*c = (struct bar_cell){" ", BAR_EMPTY};
		}
		double mid = (i + 0.5) / n;
		if (whiskers && mid >= wlo && mid <= whi) {
			c->kind = BAR_WHISKER;
			if (!strcmp(c->glyph, " ")) {
				c->glyph = g->whisker;
				last_whisker = i;
			}
		}
	}
	if (last_whisker >= 0)
		cells[dir > 0 ? last_whisker : n - 1 - last_whisker].glyph =
		    dir > 0 ? g->whisker_hi : g->whisker_lo;
}

void glyphs_bar(const struct glyphs *g, struct bar_cell *cells, int w, double v, double lo,
                double hi, bool is_signed)
{
	if (w <= 0)
		return;
	if (isnan(v))
		v = 0;
	bool whisk = !isnan(lo) && !isnan(hi);
	if (!is_signed) {
		bar_region(g, cells, w, 1, clamp(v, 0, 1), whisk ? clamp(lo, 0, 1) : NAN,
		           whisk ? clamp(hi, 0, 1) : NAN, BAR_POS);
		return;
	}
	v = clamp(v, -1, 1);
	int half = (w - 1) / 2;
	cells[half] = (struct bar_cell){g->axis, BAR_AXIS};
	double plo = NAN, phi = NAN, nlo = NAN, nhi = NAN;
	if (whisk) {
		plo = clamp(lo, 0, 1), phi = clamp(hi, 0, 1);
		nlo = clamp(-hi, 0, 1), nhi = clamp(-lo, 0, 1);
	}
	bar_region(g, cells, half, -1, v < 0 ? -v : 0, nlo, nhi, BAR_NEG);
	bar_region(g, cells + half + 1, w - half - 1, 1, v > 0 ? v : 0, plo, phi, BAR_POS);
}

void glyphs_bar_text(struct sbuf *out, const struct bar_cell *cells, int w)
{
	for (int i = 0; i < w; i++)
		sbuf_adds(out, cells[i].glyph);
}

size_t glyphs_columns(const struct glyphs *g, struct sbuf *rows, int h, const double *vals,
                      const bool *flag, size_t n, size_t w, int cell, double lo, double hi)
{
	size_t cols = n < w ? n : w;
	for (size_t c = 0; c < cols && h > 0; c++) {
		size_t a = c * n / cols, b = (c + 1) * n / cols, k = 0;
		double sum = 0;
		bool shade = false;
		for (size_t i = a; i < b; i++) {
			if (!isnan(vals[i]))
				sum += vals[i], k++;
			shade |= flag && flag[i];
		}
		double f = k && hi > lo ? (sum / (double)k - lo) / (hi - lo) : 0;
		long eighths = k ? lround((f < 0 ? 0 : f > 1 ? 1 : f) * h * 8) : 0;
		if (k && eighths < 1)
			eighths = 1;
		for (int r = 0; r < h; r++) {
			long fill = eighths - (long)(h - 1 - r) * 8; /* eighths in this row */
			const char *gl = fill <= 0   ? " "
			                 : shade     ? g->shade
			                 : fill >= 8 ? g->full
			                             : g->spark[fill - 1];
			for (int i = 0; i < cell; i++)
				sbuf_adds(&rows[r], gl);
		}
	}
	return cols;
}

void glyphs_sparkline(const struct glyphs *g, struct sbuf *out, const double *vals, size_t n, int w,
                      double lo, double hi)
{
	if (w <= 0)
		return;
	if (!(lo < hi)) {
		lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < n; i++) {
			if (isnan(vals[i]))
				continue;
			lo = vals[i] < lo ? vals[i] : lo;
			hi = vals[i] > hi ? vals[i] : hi;
		}
	}
	size_t cells = n < (size_t)w ? n : (size_t)w;
	for (size_t c = 0; c < cells; c++) {
		/* bucket [a, b) of the values averaged into cell c */
		size_t a = c * n / cells, b = (c + 1) * n / cells;
		double sum = 0;
		size_t k = 0;
		for (size_t i = a; i < b; i++)
			if (!isnan(vals[i]))
				sum += vals[i], k++;
		if (!k) {
			sbuf_addc(out, ' ');
			continue;
		}
		double x = sum / (double)k;
		int level = hi > lo ? (int)floor((x - lo) / (hi - lo) * 8) : 0;
		sbuf_adds(out, g->spark[level < 0 ? 0 : level > 7 ? 7 : level]);
	}
	for (size_t c = cells; c < (size_t)w; c++)
		sbuf_addc(out, ' ');
}

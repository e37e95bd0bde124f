/* report_int.h: between the report's content (report.c) and its two forms: the Markdown writer
 * (report.c) and the HTML writer with inline SVG (report_html.c).  The content calls a form's
 * ops with raw text; each form sanitizes (report_clean) and escapes what it writes. */
#ifndef ADOPT_REPORT_INT_H
#define ADOPT_REPORT_INT_H

#include "core/session.h"
#include "core/util.h"

#define CHART_MAX_SERIES 4

/* A chart over iterations: lines (scores) or grouped bars (spend, Shapley credit). */
struct report_chart {
	const char *id, *title, *unit; /* unit: "$" or "" */
	bool bars;
	size_t n_x;
	char **x_labels;
	size_t n_series;
	const char *series[CHART_MAX_SERIES];
	double *v[CHART_MAX_SERIES]; /* n_x values each; NAN: no value */
	double *err;                 /* bars: +/- of series 0 per x, or NULL */
};

/* A table of text cells, row by row: n_cells / n_cols rows. */
struct report_table {
	const char *const *head; /* n_cols column names */
	size_t n_cols;
	char **cells; /* owned */
	size_t n_cells, cap;
};

struct report_ops {
	void (*begin)(struct sbuf *b, const char *title, const char *banner);
	void (*heading)(struct sbuf *b, int level, const char *text);
	void (*para)(struct sbuf *b, const char *text);
	void (*table)(struct sbuf *b, const struct report_table *t);
	void (*chart)(struct sbuf *b, const struct report_chart *c);
	void (*graph)(struct sbuf *b, const struct session *s);
	/* a prompt change: the old text, the new one, and their word diff */
	void (*diff)(struct sbuf *b, const char *old, const char *new_text);
	void (*end)(struct sbuf *b);
};

extern const struct report_ops report_md_ops, report_html_ops;

/* Text safe to write into a report: valid UTF-8, no control character but newline and tab, no
 * escape sequence, secrets redacted (core/termsafe.h).  Caller frees. */
char *report_clean(const char *s);

#endif

/* report_html.c: the HTML form of the report: one self-contained page (inline CSS, charts as
 * inline SVG, no script, no external asset), readable without JavaScript and printable.  Every
 * text is cleaned (report_clean) and HTML-escaped.  Each chart is an <svg class="chart"> whose
 * data-points attribute counts its marks (a circle per line point, a rect per bar), for the
 * browser test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "tui/diff.h"

/* Dark enough on white for WCAG AA (4.5:1) as text and lines. */
static const char *const series_colour[CHART_MAX_SERIES] = {"#1f4e9c", "#a33a00", "#2b6e2f",
                                                            "#6a1b9a"};

static void esc(struct sbuf *b, const char *s)
{
	char *t = report_clean(s);
	for (const char *p = t; *p; p++) {
		switch (*p) {
		case '&':
			sbuf_adds(b, "&amp;");
			break;
		case '<':
			sbuf_adds(b, "&lt;");
			break;
		case '>':
			sbuf_adds(b, "&gt;");
			break;
		case '"':
			sbuf_adds(b, "&quot;");
			break;
		case '\'':
			sbuf_adds(b, "&#39;");
			break;
		default:
			sbuf_addc(b, *p);
		}
	}
	free(t);
}

static void esc_n(struct sbuf *b, const char *s, size_t n)
{
	char *t = xstrndup(s, n);
	esc(b, t);
	free(t);
}

static const char css[] =
    "body{font:15px/1.45 system-ui,sans-serif;color:#111;background:#fff;max-width:60em;"
    "margin:2em auto;padding:0 1em}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #999;margin-top:2em}"
    ".banner{background:#fff3c4;border:2px solid #7a5c00;color:#3d2e00;padding:.6em 1em;"
    "font-weight:bold}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #888;padding:.2em .5em;"
    "text-align:left;vertical-align:top}th{background:#e8e8e8}"
    "pre{white-space:pre-wrap;background:#f4f4f4;border:1px solid #ccc;padding:.5em}"
    "ins{background:#c8f0c8;color:#003a00;text-decoration:underline}"
    "del{background:#f8c8c8;color:#5a0000}"
    "svg text{font:12px sans-serif;fill:#111}.legend span{margin-right:1em}"
    "@media print{body{max-width:none;margin:0}h2{break-after:avoid}svg,table,pre{"
    "break-inside:avoid}}";

static void html_begin(struct sbuf *b, const char *title, const char *banner)
{
	sbuf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
	             "<title>");
	esc(b, title);
	sbuf_addf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
	esc(b, title);
	sbuf_adds(b, "</h1>\n");
	if (banner) {
		sbuf_adds(b, "<p class=\"banner\" id=\"scripted\">");
		esc(b, banner);
		sbuf_adds(b, "</p>\n");
	}
}

static void html_heading(struct sbuf *b, int level, const char *text)
{
	sbuf_addf(b, "<h%d>", level);
	esc(b, text);
	sbuf_addf(b, "</h%d>\n", level);
}

static void html_para(struct sbuf *b, const char *text)
{
	sbuf_adds(b, "<p>");
	esc(b, text);
	sbuf_adds(b, "</p>\n");
}

static void html_table(struct sbuf *b, const struct report_table *t)
{
	sbuf_adds(b, "<table>\n<tr>");
	for (size_t k = 0; k < t->n_cols; k++) {
		sbuf_adds(b, "<th>");
		esc(b, t->head[k]);
		sbuf_adds(b, "</th>");
	}
	sbuf_adds(b, "</tr>\n");
	for (size_t i = 0; i < t->n_cells; i++) {
		sbuf_adds(b, i % t->n_cols ? "<td>" : "<tr><td>");
		esc(b, t->cells[i]);
		sbuf_adds(b, (i + 1) % t->n_cols ? "</td>" : "</td></tr>\n");
	}
	sbuf_adds(b, "</table>\n");
}

/* Chart geometry: plot area inside the margins. */
enum { CW = 640, CH = 260, ML = 60, MR = 20, MT = 30, MB = 40 };

static void chart_range(const struct report_chart *c, double *lo, double *hi)
{
	*lo = 0, *hi = c->unit[0] ? 0 : 1; /* scores span 0..1 at least */
	for (size_t k = 0; k < c->n_series; k++)
		for (size_t i = 0; i < c->n_x; i++) {
			double v = c->v[k][i], e = c->err && k == 0 ? c->err[i] : 0;
			if (isnan(v))
				continue;
			*lo = MIN(*lo, v - e);
			*hi = MAX(*hi, v + e);
		}
	if (*hi - *lo < 1e-12)
		*hi = *lo + 1;
}

static void html_chart(struct sbuf *b, const struct report_chart *c)
{
	size_t marks = 0;
	for (size_t k = 0; k < c->n_series; k++)
		for (size_t i = 0; i < c->n_x; i++)
			marks += !isnan(c->v[k][i]);
	double lo, hi;
	chart_range(c, &lo, &hi);
	const double pw = CW - ML - MR, ph = CH - MT - MB;
#define Y(v) (MT + ph * (1 - ((v)-lo) / (hi - lo)))
	sbuf_addf(b,
	          "<figure>\n<svg class=\"chart\" id=\"chart-%s\" data-points=\"%zu\" "
	          "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	          "height=\"%d\" role=\"img\" aria-label=\"",
	          c->id, marks, CW, CH, CW, CH);
	esc(b, c->title);
	sbuf_adds(b, "\">\n<title>");
	esc(b, c->title);
	sbuf_adds(b, "</title>\n");
	/* axes, gridlines and their labels */
	for (int g = 0; g <= 4; g++) {
		double v = lo + (hi - lo) * g / 4.0;
		sbuf_addf(b,
		          "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
		          "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s%.*f</text>\n",
		          ML, CW - MR, Y(v), Y(v), ML - 6, Y(v) + 4, c->unit, c->unit[0] ? 4 : 2,
		          v);
	}
	sbuf_addf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#111\"/>\n", ML,
	          CW - MR, Y(lo < 0 && hi > 0 ? 0 : lo), Y(lo < 0 && hi > 0 ? 0 : lo));
	double slot = pw / (double)(c->n_x ? c->n_x : 1);
	for (size_t i = 0; i < c->n_x; i++) {
		sbuf_addf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
		          ML + slot * (i + 0.5), CH - MB + 18);
		esc(b, c->x_labels[i]);
		sbuf_adds(b, "</text>\n");
	}
	for (size_t k = 0; k < c->n_series; k++) {
		const char *col = series_colour[k];
		if (!c->bars) {
			sbuf_addf(
			    b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			    col);
			for (size_t i = 0; i < c->n_x; i++)
				if (!isnan(c->v[k][i]))
					sbuf_addf(b, "%.1f,%.1f ", ML + slot * (i + 0.5),
					          Y(c->v[k][i]));
			sbuf_adds(b, "\"/>\n");
		}
		for (size_t i = 0; i < c->n_x; i++) {
			double v = c->v[k][i];
			if (isnan(v))
				continue;
			double x = ML + slot * (i + 0.5);
			if (!c->bars) {
				sbuf_addf(b,
				          "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
				          "fill=\"%s\"><title>",
				          x, Y(v), col);
			} else {
				double bw = slot * 0.7 / (double)c->n_series;
				double bx = ML + slot * i + slot * 0.15 + bw * (double)k;
				double y0 = Y(lo < 0 && hi > 0 ? 0 : lo), y1 = Y(v);
				sbuf_addf(
				    b,
				    "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				    "height=\"%.1f\" fill=\"%s\"><title>",
				    bx, MIN(y0, y1), bw, fabs(y1 - y0), col);
				x = bx + bw / 2;
			}
			esc(b, c->series[k]);
			sbuf_adds(b, " ");
			esc(b, c->x_labels[i]);
			sbuf_addf(b, ": %s%.4f</title></%s>\n", c->unit, v,
			          c->bars ? "rect" : "circle");
			if (c->err && k == 0 && c->err[i] > 0)
				sbuf_addf(b,
				          "<line class=\"err\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
				          "y2=\"%.1f\" stroke=\"#111\" stroke-width=\"1.5\"/>\n",
				          x, x, Y(v - c->err[i]), Y(v + c->err[i]));
		}
	}
#undef Y
	sbuf_adds(b, "</svg>\n<figcaption class=\"legend\">");
	esc(b, c->title);
	sbuf_adds(b, ": ");
	for (size_t k = 0; k < c->n_series; k++) {
		sbuf_addf(b, "<span style=\"color:%s\">&#9632; ", series_colour[k]);
		esc(b, c->series[k]);
		sbuf_adds(b, "</span>");
	}
	sbuf_adds(b, "</figcaption>\n</figure>\n");
}

/* The pipeline: steps as boxes top to bottom in execution order, data flow as arrows (an edge
 * that skips steps bends out to the right), loops as dashed frames. */
static void html_graph(struct sbuf *b, const struct session *s)
{
	enum { BW = 260, BH = 34, GAP = 22, X0 = 20, TOP = 10 };
	int *row = xcalloc(s->n_steps + 1, sizeof *row);
	int n = 0;
	for (size_t i = 0; i < s->n_order; i++) {
		const struct order_item *o = &s->order[i];
		if (o->step >= 0)
			row[o->step] = n++;
		else
			for (size_t k = 0; k < s->loops[o->loop].n_steps; k++)
				row[s->loops[o->loop].steps[k]] = n++;
	}
	int h = TOP * 2 + n * BH + (n ? n - 1 : 0) * GAP;
	sbuf_addf(
	    b,
	    "<svg class=\"graph\" id=\"pipeline\" data-steps=\"%zu\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-label=\"pipeline graph\">\n"
	    "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
	    "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" "
	    "fill=\"#111\"/></marker></defs>\n",
	    s->n_steps, BW + 200, h, BW + 200, h);
#define TOPY(r) (TOP + (r) * (BH + GAP))
	for (size_t l = 0; l < s->n_loops; l++) {
		const struct loop *lp = &s->loops[l];
		if (!lp->n_steps)
			continue;
		int r0 = row[lp->steps[0]], r1 = row[lp->steps[lp->n_steps - 1]];
		sbuf_addf(b,
		          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		          "stroke=\"#555\" stroke-dasharray=\"5,4\"/><text x=\"%d\" y=\"%d\">loop ",
		          X0 - 8, TOPY(r0) - 8, BW + 16, TOPY(r1) - TOPY(r0) + BH + 16,
		          X0 + BW + 14, TOPY(r0) + 4);
		esc(b, lp->id);
		sbuf_addf(b, " (up to %d rounds)</text>\n", lp->max_rounds);
	}
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct step *st = &s->steps[i];
		for (size_t k = 0; k < st->n_deps; k++) {
			int a = row[st->deps[k]], z = row[i];
			if (z == a + 1) {
				sbuf_addf(
				    b,
				    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#111\" "
				    "marker-end=\"url(#arrow)\"/>\n",
				    X0 + BW / 2, TOPY(a) + BH, X0 + BW / 2, TOPY(z));
			} else {
				int bend = X0 + BW + 20 + 12 * abs(z - a);
				sbuf_addf(b,
				          "<path d=\"M%d,%d C%d,%d %d,%d %d,%d\" fill=\"none\" "
				          "stroke=\"#111\" marker-end=\"url(#arrow)\"/>\n",
				          X0 + BW, TOPY(a) + BH / 2, bend, TOPY(a) + BH / 2, bend,
				          TOPY(z) + BH / 2, X0 + BW, TOPY(z) + BH / 2);
			}
		}
		bool llm = st->kind == STEP_LLM;
		sbuf_addf(b,
		          "<rect class=\"step\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		          "rx=\"5\" fill=\"%s\" stroke=\"#111\"/><text x=\"%d\" y=\"%d\">",
		          X0, TOPY(row[i]), BW, BH, llm ? "#dce8fa" : "#eeeeee", X0 + 10,
		          TOPY(row[i]) + 22);
		esc(b, st->id);
		sbuf_adds(b, " (");
		esc(b, step_kind_name(st->kind));
		if (llm && st->model_cfg) {
			sbuf_adds(b, ", ");
			esc(b, st->model_cfg->model);
		}
		sbuf_addf(b, "%s)</text>\n", st->frozen ? ", frozen" : "");
	}
#undef TOPY
	sbuf_adds(b, "</svg>\n");
	free(row);
}

static void html_diff(struct sbuf *b, const char *old, const char *new_text)
{
	struct diff d = {0};
	diff_texts(&d, old, new_text);
	static const char *const open[] = {"", "<ins>", "<del>"}, *const close[] = {"", "</ins>",
	                                                                            "</del>"};
	sbuf_adds(b, "<pre class=\"diff\">");
	for (size_t i = 0; i < d.n; i++) {
		sbuf_adds(b, open[d.v[i].kind]);
		esc_n(b, d.v[i].text, d.v[i].len);
		sbuf_adds(b, close[d.v[i].kind]);
	}
	sbuf_adds(b, "</pre>\n");
	diff_free(&d);
}

static void html_end(struct sbuf *b)
{
	sbuf_adds(b, "</body>\n</html>\n");
}

const struct report_ops report_html_ops = {html_begin, html_heading, html_para, html_table,
                                           html_chart, html_graph,   html_diff, html_end};

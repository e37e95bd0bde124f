/* lines.c: the wrapped, coloured, referenced row list shared by the content views (see lines.h).
 * Text is sanitised here (sanitize.h) before it is split into rows, and again by view_print when
 * drawn, so no byte from a model or a file reaches the terminal unfiltered. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tui/diff.h"
#include "tui/glyphs.h"
#include "tui/lines.h"
#include "tui/sanitize.h"
#include "tui/view.h"

void tlines_init(struct tlines *l, int width)
{
	memset(l, 0, sizeof *l);
	l->width = width > 1 ? width : 1;
	l->ref = -1;
	l->step = -1;
}

void tlines_clear(struct tlines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].text);
		free(l->v[i].segs);
	}
	l->n = 0;
	l->ref = -1;
	l->step = -1;
}

void tlines_free(struct tlines *l)
{
	tlines_clear(l);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

void tlines_ref(struct tlines *l, long ref, int step)
{
	l->ref = ref;
	l->step = step;
}

/* Adds one row; takes ownership of text and segs. */
static size_t push_row(struct tlines *l, int indent, char *text, struct tseg *segs, size_t n_segs)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	struct tline *r = &l->v[l->n];
	r->text = text;
	r->segs = segs;
	r->n_segs = n_segs;
	r->indent = indent;
	r->ref = l->ref;
	r->step = l->step;
	return l->n++;
}

void tlines_append(struct tlines *l, const struct tlines *src)
{
	long ref = l->ref;
	int step = l->step;
	for (size_t i = 0; i < src->n; i++) {
		const struct tline *r = &src->v[i];
		struct tseg *segs = xmalloc((r->n_segs ? r->n_segs : 1) * sizeof *segs);
		memcpy(segs, r->segs, r->n_segs * sizeof *segs);
		tlines_ref(l, r->ref, r->step);
		push_row(l, r->indent, xstrdup(r->text), segs, r->n_segs);
	}
	tlines_ref(l, ref, step);
}

static struct tseg *one_seg(enum theme_element el)
{
	struct tseg *s = xmalloc(sizeof *s);
	s->off = 0;
	s->el = el;
	return s;
}

static int avail(const struct tlines *l, int indent)
{
	return l->width - indent > 1 ? l->width - indent : 1;
}

/* Text wrapped to width - indent; rows after the first go `hang` columns further in. */
static size_t add_text(struct tlines *l, enum theme_element el, int indent, int hang,
                       const char *text)
{
	size_t first = l->n;
	if (!text)
		text = "";
	struct san_text st;
	san_text_from(&st, text, strlen(text), indent, SAN_KEEP_NEWLINES);
	struct san_lines ls = {0}, rest = {0};
	san_wrap(&ls, st.s, st.len, avail(l, indent));
	if (hang > 0 && ls.n > 1) { /* the rest again, under the hang */
		size_t from = ls.v[1].start;
		san_wrap(&rest, st.s + from, st.len - from, avail(l, indent + hang));
		for (size_t i = 0; i < rest.n; i++)
			rest.v[i].start += from;
		ls.n = 1;
	}
	struct sbuf b = {0};
	for (size_t i = 0; i < ls.n + rest.n; i++) {
		const struct san_line *r = i < ls.n ? &ls.v[i] : &rest.v[i - ls.n];
		san_utf8_encode(&b, st.s + r->start, r->len);
		push_row(l, indent + (i ? hang : 0), sbuf_take(&b), one_seg(el), 1);
	}
	if (l->n == first)
		push_row(l, indent, xstrdup(""), one_seg(el), 1);
	sbuf_free(&b);
	san_lines_free(&ls);
	san_lines_free(&rest);
	san_text_free(&st);
	return first;
}

size_t tlines_add(struct tlines *l, enum theme_element el, int indent, const char *text)
{
	return add_text(l, el, indent, 0, text);
}

size_t tlines_hangf(struct tlines *l, enum theme_element el, int hang, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	size_t r = add_text(l, el, 0, MAX(0, MIN(hang, l->width - 20)), sbuf_str(&b));
	sbuf_free(&b);
	return r;
}

size_t tlines_addf(struct tlines *l, enum theme_element el, int indent, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	size_t r = tlines_add(l, el, indent, sbuf_str(&b));
	sbuf_free(&b);
	return r;
}

/* The row being filled by tlines_add_spans. */
struct flow {
	struct sbuf text;
	struct tseg *segs;
	size_t n_segs, cap_segs;
	int used;
};

static void flow_flush(struct tlines *l, struct flow *f, int indent)
{
	push_row(l, indent, sbuf_take(&f->text), f->segs, f->n_segs);
	f->segs = NULL;
	f->n_segs = f->cap_segs = 0;
	f->used = 0;
}

/* The row is full: ends it at its last space (the words after it start the next row, in their
 * colours), or where it is when it holds one long word. */
static void flow_wrap(struct tlines *l, struct flow *f, int indent)
{
	const char *t = sbuf_str(&f->text), *sp = strrchr(t, ' ');
	if (!sp || sp == t || !sp[1]) {
		flow_flush(l, f, indent);
		return;
	}
	size_t cut = (size_t)(sp - t), from = cut + 1;
	struct flow next = {0};
	sbuf_adds(&next.text, sp + 1);
	for (size_t i = 0; i < f->n_segs; i++) {
		bool last_before = i + 1 == f->n_segs || f->segs[i + 1].off > from;
		if (f->segs[i].off > from || (f->segs[i].off <= from && last_before)) {
			size_t off = f->segs[i].off > from ? f->segs[i].off - from : 0;
			next.segs =
			    xgrow(next.segs, &next.cap_segs, next.n_segs + 1, sizeof *next.segs);
			next.segs[next.n_segs++] = (struct tseg){off, f->segs[i].el};
		}
	}
	next.used = san_width_utf8(sbuf_str(&next.text));
	while (f->n_segs > 1 && f->segs[f->n_segs - 1].off >= cut)
		f->n_segs--;
	f->text.len = cut;
	f->text.s[cut] = '\0';
	flow_flush(l, f, indent);
	sbuf_free(&f->text);
	*f = next;
}

/* Rows after the first go `hang` columns further in. */
static size_t add_spans_hang(struct tlines *l, int indent, int hang, const struct tspan *spans,
                             size_t n, int w)
{
	size_t first = l->n;
	struct flow f = {0};
	int first_w = w;
	for (size_t i = 0; i < n; i++) {
		struct san_text st;
		san_text_from(&st, spans[i].text, spans[i].len, indent + f.used, SAN_KEEP_NEWLINES);
		for (size_t k = 0; k < st.len; k++) {
			wchar_t c = st.s[k];
			if (hang && l->n > first) /* past the first row: the rest under the hang */
				indent += hang, w = MAX(1, first_w - hang), hang = 0;
			if (c == L'\n') {
				flow_flush(l, &f, indent);
				continue;
			}
			int cw = san_wcwidth(c);
			if (f.used > 0 && f.used + cw > w)
				flow_wrap(l, &f, indent);
			if (!f.n_segs || f.segs[f.n_segs - 1].el != spans[i].el) {
				f.segs = xgrow(f.segs, &f.cap_segs, f.n_segs + 1, sizeof *f.segs);
				f.segs[f.n_segs++] = (struct tseg){f.text.len, spans[i].el};
			}
			san_utf8_encode(&f.text, &c, 1);
			f.used += cw;
		}
		san_text_free(&st);
	}
	if (f.n_segs || l->n == first) {
		if (!f.n_segs)
			f.segs = one_seg(THEME_TEXT), f.n_segs = 1;
		flow_flush(l, &f, indent);
	}
	sbuf_free(&f.text);
	return first;
}

static size_t add_spans(struct tlines *l, int indent, const struct tspan *spans, size_t n, int w)
{
	return add_spans_hang(l, indent, 0, spans, n, w);
}

size_t tlines_add_spans(struct tlines *l, int indent, const struct tspan *spans, size_t n)
{
	return add_spans(l, indent, spans, n, avail(l, indent));
}

size_t tlines_add_spans_hang(struct tlines *l, int hang, const struct tspan *spans, size_t n)
{
	return add_spans_hang(l, 0, MAX(0, MIN(hang, l->width - 20)), spans, n, avail(l, 0));
}

/* Calls fn for each piece of the span: a run of visible text (cp -1), then an invisible
 * character cp, and so on. */
static void span_pieces(const struct tspan *sp, void (*fn)(void *, const char *, size_t, long),
                        void *arg)
{
	const char *p = sp->text;
	size_t left = sp->len;
	for (;;) {
		long cp;
		size_t clen, run = san_visible_run(p, left, &cp, &clen);
		fn(arg, p, run, -1);
		if (cp < 0)
			return;
		fn(arg, NULL, 0, cp);
		p += run + clen;
		left -= run + clen;
	}
}

struct marked {
	struct tspan *out;
	char (*marks)[24];
	size_t n, n_marks;
	enum theme_element el;
};

static void count_piece(void *arg, const char *text, size_t len, long cp)
{
	struct marked *m = arg;
	(void)text, (void)len;
	m->n++;
	m->n_marks += cp >= 0;
}

static void add_piece(void *arg, const char *text, size_t len, long cp)
{
	struct marked *m = arg;
	if (cp < 0) {
		m->out[m->n++] = (struct tspan){text, len, m->el};
		return;
	}
	char *mk = m->marks[m->n_marks++];
	snprintf(mk, sizeof m->marks[0], "<U+%04lX>", cp);
	m->out[m->n++] = (struct tspan){mk, strlen(mk), THEME_WARNING};
}

/* Adds the spans with their invisible characters marked, wrapped at `width`. */
static size_t add_marked(struct tlines *l, int indent, const struct tspan *spans, size_t n,
                         int width)
{
	struct marked m = {0};
	for (size_t i = 0; i < n; i++)
		span_pieces(&spans[i], count_piece, &m);
	m.out = xcalloc(m.n + 1, sizeof *m.out);
	m.marks = xcalloc(m.n_marks + 1, sizeof *m.marks);
	m.n = m.n_marks = 0;
	for (size_t i = 0; i < n; i++) {
		m.el = spans[i].el;
		span_pieces(&spans[i], add_piece, &m);
	}
	size_t first = add_spans(l, indent, m.out, m.n, width);
	free(m.out);
	free(m.marks);
	return first;
}

size_t tlines_add_spans_marked(struct tlines *l, int indent, const struct tspan *spans, size_t n)
{
	return add_marked(l, indent, spans, n, avail(l, indent));
}

/* Drops the rows after `first` (a newline started them). */
void tlines_add_diff(struct tlines *l, int indent, const char *old, const char *new)
{
	struct diff d;
	diff_texts(&d, old ? old : "", new ? new : "");
	struct tspan *sp = xcalloc(d.n * 3 + 1, sizeof *sp);
	size_t n = 0;
	for (size_t i = 0; i < d.n; i++) {
		const struct diff_span *s = &d.v[i];
		enum theme_element el = s->kind == DIFF_ADDED     ? THEME_DIFF_ADDED
		                        : s->kind == DIFF_REMOVED ? THEME_DIFF_REMOVED
		                                                  : THEME_TEXT;
		if (s->kind != DIFF_SAME)
			sp[n++] = (struct tspan){s->kind == DIFF_ADDED ? "{+" : "[-", 2, el};
		sp[n++] = (struct tspan){s->text, s->len, el};
		if (s->kind != DIFF_SAME)
			sp[n++] = (struct tspan){s->kind == DIFF_ADDED ? "+}" : "-]", 2, el};
	}
	tlines_add_spans_marked(l, indent, sp, n); /* no change may hide in invisible characters */
	free(sp);
	diff_free(&d);
}

static size_t keep_first_row(struct tlines *l, size_t first)
{
	while (l->n > first + 1) {
		l->n--;
		free(l->v[l->n].text);
		free(l->v[l->n].segs);
	}
	return first;
}

size_t tlines_add_row_marked(struct tlines *l, int indent, const struct tspan *spans, size_t n)
{
	return keep_first_row(l, add_marked(l, indent, spans, n, INT_MAX / 2));
}

size_t tlines_add_row(struct tlines *l, int indent, const struct tspan *spans, size_t n)
{
	size_t first = l->n;
	add_spans(l, indent, spans, n, INT_MAX / 2);
	return keep_first_row(l, first);
}

size_t tlines_add_rowf(struct tlines *l, enum theme_element el, int indent, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	struct tspan sp = {sbuf_str(&b), b.len, el};
	size_t r = tlines_add_row(l, indent, &sp, 1);
	sbuf_free(&b);
	return r;
}

/* Appends row r (its indent as spaces) to b and its colours to segs. */
static void add_side(struct sbuf *b, struct tseg **segs, size_t *n, size_t *cap,
                     const struct tline *r)
{
	size_t at = b->len;
	for (int c = 0; c < r->indent; c++)
		sbuf_addc(b, ' ');
	size_t base = b->len;
	sbuf_adds(b, r->text);
	for (size_t i = 0; i < r->n_segs; i++) {
		*segs = xgrow(*segs, cap, *n + 1, sizeof **segs);
		(*segs)[(*n)++] = (struct tseg){i ? base + r->segs[i].off : at, r->segs[i].el};
	}
}

void tlines_add_columns(struct tlines *l, const struct tlines *left, const struct tlines *right,
                        const char *sep)
{
	size_t rows = MAX(left->n, right->n);
	for (size_t i = 0; i < rows; i++) {
		struct sbuf b = {0};
		struct tseg *segs = NULL;
		size_t n = 0, cap = 0;
		if (i < left->n)
			add_side(&b, &segs, &n, &cap, &left->v[i]);
		if (!n) { /* a row's first colour starts at its first byte */
			segs = xgrow(segs, &cap, 1, sizeof *segs);
			segs[n++] = (struct tseg){0, THEME_TEXT};
		}
		tlines_pad(&b, left->width);
		segs = xgrow(segs, &cap, n + 1, sizeof *segs);
		segs[n++] = (struct tseg){b.len, THEME_TEXT_DIM};
		sbuf_adds(&b, sep);
		if (i < right->n)
			add_side(&b, &segs, &n, &cap, &right->v[i]);
		push_row(l, 0, sbuf_take(&b), segs, n);
	}
}

void tlines_pad(struct sbuf *b, int col)
{
	for (int w = san_width_utf8(sbuf_str(b)); w < col; w++)
		sbuf_addc(b, ' ');
}

void tlines_cell(struct sbuf *b, const char *text, int cols)
{
	if (cols <= 0)
		return;
	text = text ? text : "";
	struct san_text t, cut;
	san_text_from(&t, text, strcspn(text, "\n"), 0, 0);
	struct san_text ell;
	const char *e = glyphs()->ellipsis;
	san_text_from(&ell, e, strlen(e), 0, 0);
	san_cut(&cut, t.s, t.len, cols, ell.s);
	san_utf8_encode(b, cut.s, cut.len);
	for (int w = san_width(cut.s, cut.len); w < cols; w++)
		sbuf_addc(b, ' ');
	san_text_free(&t);
	san_text_free(&cut);
	san_text_free(&ell);
}

static bool contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return true;
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] &&
		       tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == n)
			return true;
	}
	return false;
}

bool tlines_seek(const struct tlines *l, int *row, const char *pattern, int direction)
{
	long r = tlines_find(l, *row, pattern, direction);
	if (r < 0)
		return false;
	*row = (int)r;
	return true;
}

bool tlines_contains(const char *hay, const char *needle)
{
	return hay && contains_nocase(hay, needle);
}

long tlines_find(const struct tlines *l, long from, const char *pattern, int direction)
{
	if (!l->n || !pattern)
		return -1;
	long n = (long)l->n, step = direction < 0 ? -1 : 1;
	if (from < 0 || from >= n)
		from = step > 0 ? -1 : n;
	for (long k = 1; k <= n; k++) {
		long i = ((from + step * k) % n + n) % n;
		if (contains_nocase(l->v[i].text, pattern))
			return i;
	}
	return -1;
}

long tlines_find_ref(const struct tlines *l, long ref, int step)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].ref == ref && (step < -1 || l->v[i].step == step))
			return (long)i;
	return -1;
}

void tlines_draw(struct view *v, const struct tlines *l, int y0, int rows, int top, int sel)
{
	for (int y = 0; y < rows; y++) {
		long i = (long)top + y;
		bool is_sel = i == sel && v->focused;
		view_fill(v, y0 + y, is_sel ? THEME_SELECTED : THEME_TEXT);
		if (i < 0 || i >= (long)l->n)
			continue;
		const struct tline *r = &l->v[i];
		int x = r->indent;
		for (size_t s = 0; s < r->n_segs && x < v->w; s++) {
			size_t end = s + 1 < r->n_segs ? r->segs[s + 1].off : strlen(r->text);
			char *piece = xstrndup(r->text + r->segs[s].off, end - r->segs[s].off);
			x += view_print(v, y0 + y, x, is_sel ? THEME_SELECTED : r->segs[s].el,
			                piece, v->w - x);
			free(piece);
		}
	}
}

void tlines_clamp(int *sel, int *top, size_t n, int rows)
{
	if (rows < 1)
		rows = 1;
	if (*sel >= (int)n)
		*sel = (int)n - 1;
	if (*sel < 0)
		*sel = 0;
	if (*sel < *top)
		*top = *sel;
	if (*sel >= *top + rows)
		*top = *sel - rows + 1;
	if (*top > (int)n - rows)
		*top = (int)n - rows;
	if (*top < 0)
		*top = 0;
}

bool tlines_move(enum action a, int *sel, int *top, size_t n, int rows)
{
	int page = rows > 1 ? rows - 1 : 1;
	switch (a) {
	case ACTION_MOVE_UP:
		(*sel)--;
		break;
	case ACTION_MOVE_DOWN:
		(*sel)++;
		break;
	case ACTION_PAGE_UP:
		*sel -= page, *top -= page;
		break;
	case ACTION_PAGE_DOWN:
		*sel += page, *top += page;
		break;
	case ACTION_HOME:
		*sel = 0;
		break;
	case ACTION_END:
		*sel = (int)n - 1;
		break;
	default:
		return false;
	}
	tlines_clamp(sel, top, n, rows);
	return true;
}

bool tlines_scroll(enum action a, int *top, size_t n, int rows)
{
	int page = rows > 1 ? rows - 1 : 1, d;
	switch (a) {
	case ACTION_MOVE_UP:
		d = -1;
		break;
	case ACTION_MOVE_DOWN:
		d = 1;
		break;
	case ACTION_PAGE_UP:
		d = -page;
		break;
	case ACTION_PAGE_DOWN:
		d = page;
		break;
	case ACTION_HOME:
		d = -(int)n;
		break;
	case ACTION_END:
		d = (int)n;
		break;
	default:
		return false;
	}
	*top += d;
	int sel = *top;
	tlines_clamp(&sel, top, n, rows);
	return true;
}

/* The body under a header of `head` rows: rows [head, n) seen through rows - head lines. */
static void body_of(int *head, size_t n, int rows, int *nb, int *rb)
{
	*head = MAX(0, MIN(*head, MIN((int)n, rows - 1)));
	*nb = (int)n - *head;
	*rb = rows - *head;
}

void tlines_draw_headed(struct view *v, const struct tlines *l, int head, int *top, int *sel,
                        int mark)
{
	int nb, rb;
	body_of(&head, l->n, v->h, &nb, &rb);
	int t = *top - head, s = sel ? *sel - head : t;
	tlines_clamp(&s, &t, (size_t)nb, rb);
	if (!sel) /* no cursor: any top that fills the pane */
		t = MAX(0, MIN(*top - head, nb - rb));
	*top = t + head;
	if (sel)
		*sel = s + head;
	tlines_draw(v, l, 0, head, 0, -1);
	tlines_draw(v, l, head, rb, *top, sel ? *sel : mark);
}

bool tlines_move_headed(enum action a, int head, int *sel, int *top, size_t n, int rows)
{
	int nb, rb;
	body_of(&head, n, rows, &nb, &rb);
	int s = *sel - head, t = *top - head;
	bool moved = tlines_move(a, &s, &t, (size_t)nb, rb);
	*sel = s + head;
	*top = t + head;
	return moved;
}

/* view_graph.c: the pipeline graph.  Steps are boxes in a layered layout (a step's layer is the
 * longest path to it from a source through its dependencies), edges run between layers (skip
 * edges in lanes on the right), loops are frames around their steps labelled "↻ N rounds until
 * ...".  LLM steps have rounded corners and their model; code steps square corners and their
 * kind; frozen steps say so.  Nodes are coloured by state (idle, running, done, error; from the
 * engine's events) or by Shapley importance (toggle_colour_mode).  When the layers do not fit the
 * pane, the graph becomes a vertical list with arrows (readable at 80 columns). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/glyphs.h"
#include "tui/sanitize.h"
#include "tui/tui_int.h"

enum node_state { NODE_IDLE, NODE_RUNNING, NODE_DONE, NODE_ERROR };

static const enum theme_element state_el[] = {
    [NODE_IDLE] = THEME_NODE_IDLE,
    [NODE_RUNNING] = THEME_NODE_RUNNING,
    [NODE_DONE] = THEME_NODE_DONE,
    [NODE_ERROR] = THEME_NODE_ERROR,
};

struct node {
	int layer, slot;
	int pad;     /* columns of gap after the loop bands left of its slot */
	int x, y, w; /* box: 3 rows high */
	enum node_state state;
	long done;   /* step executions finished this phase */
	long errors; /* in the last forward pass */
	long cut;    /* answers cut by the token limit there (not counted as errors) */
};

struct graph {
	struct node *n;
	int *topo; /* step indices in execution order */
	size_t count;
	int layers;
	bool list; /* drawn as a list this time */
	int lanes;
	/* per layer: the row of its boxes, and whether a loop's frame starts above them or ends
	 * below them (each frame edge gets a row of its own, so no edge runs along it) */
	int ybox[64];
	int starts[64]; /* rows above: the frame's edge, and a row for its stop condition */
	bool ends[64];
};

static struct graph *G(struct view *v)
{
	return v->priv;
}

static const struct session *S(struct view *v)
{
	return v->tui->s;
}

/* Execution order, then layers by longest path over dependencies that come earlier. */
static void graph_build(struct view *v)
{
	const struct session *s = S(v);
	struct graph *g = G(v);
	int *pos = xcalloc(s->n_steps ? s->n_steps : 1, sizeof *pos);
	g->count = 0;
	for (size_t i = 0; i < s->n_order; i++) {
		const struct order_item *o = &s->order[i];
		if (o->step >= 0)
			g->topo[g->count++] = o->step;
		for (size_t k = 0; o->loop >= 0 && k < s->loops[o->loop].n_steps; k++)
			g->topo[g->count++] = s->loops[o->loop].steps[k];
	}
	for (size_t i = 0; i < g->count; i++)
		pos[g->topo[i]] = (int)i;
	g->layers = 0;
	for (size_t i = 0; i < g->count; i++) {
		int st = g->topo[i], layer = 0;
		for (size_t d = 0; d < s->steps[st].n_deps; d++) {
			int dep = s->steps[st].deps[d];
			if (pos[dep] < (int)i)
				layer = MAX(layer, g->n[dep].layer + 1);
		}
		g->n[st].layer = layer;
		g->layers = MAX(g->layers, layer + 1);
	}
	free(pos);
}

static void graph_open(struct view *v)
{
	size_t n = S(v)->n_steps;
	struct graph *g = xcalloc(1, sizeof *g);
	g->n = xcalloc(n ? n : 1, sizeof *g->n);
	g->topo = xcalloc(n ? n : 1, sizeof *g->topo);
	v->priv = g;
	graph_build(v);
}

static void graph_done(struct view *v)
{
	struct graph *g = G(v);
	if (!g)
		return;
	free(g->n);
	free(g->topo);
	free(g);
	v->priv = NULL;
}

/* ---- events: node states ---- */

/* After a phase: examples each step ran on in the forward pass, and how many failed. */
static void count_runs(struct view *v)
{
	struct graph *g = G(v);
	const struct iteration *it = engine_current(v->tui->en);
	for (size_t i = 0; i < S(v)->n_steps; i++) {
		struct node *nd = &g->n[i];
		nd->errors = nd->done = nd->cut = 0;
		for (size_t t = 0; it && t < it->n_traces; t++) {
			const struct trace_step *ts = trace_find(&it->traces[t], (int)i);
			nd->done += ts != NULL;
			nd->errors += ts && ts->error;
			nd->cut += ts && ts->cut && !ts->error;
		}
		if (nd->errors)
			nd->state = NODE_ERROR;
	}
}

static void graph_event(struct view *v, const struct engine_event *ev)
{
	struct graph *g = G(v);
	size_t n = S(v)->n_steps;
	bool step_ok = ev->step >= 0 && (size_t)ev->step < n;
	if (ev->kind == EV_PHASE_STARTED &&
	    (ev->phase == PHASE_FORWARD || ev->phase == PHASE_SELECTION)) {
		for (size_t i = 0; i < n; i++)
			g->n[i] = (struct node){.layer = g->n[i].layer, .state = NODE_RUNNING};
	} else if (ev->kind == EV_STEP_TRACE && step_ok) {
		g->n[ev->step].done++;
	} else if (ev->kind == EV_TEXT && step_ok) {
		g->n[ev->step].state = NODE_RUNNING;
	} else if (ev->kind == EV_ERROR && step_ok) {
		g->n[ev->step].state = NODE_ERROR;
	} else if (ev->kind == EV_PHASE_FINISHED || ev->kind == EV_PAUSED) {
		for (size_t i = 0; i < n; i++)
			if (g->n[i].state == NODE_RUNNING)
				g->n[i].state = g->n[i].done ? NODE_DONE : NODE_IDLE;
		if (ev->kind == EV_PHASE_FINISHED) /* ev->phase is already the next one */
			count_runs(v);
	}
}

/* ---- layout ---- */

static bool is_skip(const struct graph *g, int from, int to)
{
	return g->n[to].layer - g->n[from].layer > 1;
}

/* Columns: without loops, each layer's steps side by side (centred later).  With loops, each
 * loop owns a band of columns as wide as its widest layer, and a step outside the loop never
 * takes a column of that band in the layers the loop spans, so a loop's frame encloses its own
 * steps only.  Returns the number of columns. */
static int assign_columns(struct view *v)
{
	struct graph *g = G(v);
	const struct session *s = S(v);
	size_t nl = s->n_loops;
	int *lo = xcalloc(nl + 1, sizeof *lo), *hi = xcalloc(nl + 1, sizeof *hi);
	int *base = xcalloc(nl + 1, sizeof *base), *width = xcalloc(nl + 1, sizeof *width);
	int *used = xcalloc((size_t)g->layers * (nl + 1), sizeof *used);
	for (size_t l = 0; l < nl; l++)
		lo[l] = g->layers, hi[l] = -1;
	/* per (layer, loop) member counts; loop index nl: outside every loop */
	for (size_t i = 0; i < g->count; i++) {
		int st = g->topo[i], l = s->steps[st].loop < 0 ? (int)nl : s->steps[st].loop;
		struct node *nd = &g->n[st];
		nd->slot = used[nd->layer * (int)(nl + 1) + l]++;
		if (l < (int)nl) {
			lo[l] = MIN(lo[l], nd->layer), hi[l] = MAX(hi[l], nd->layer);
			width[l] = MAX(width[l], nd->slot + 1);
		}
	}
	for (size_t l = 1; l < nl; l++)
		base[l] = base[l - 1] + width[l - 1];
	int cols = 1;
	for (size_t i = 0; i < g->count; i++) {
		int st = g->topo[i], l = s->steps[st].loop;
		struct node *nd = &g->n[st];
		int start = 0;
		if (l >= 0) {
			start = base[l];
		} else {
			for (size_t k = 0; k < nl; k++)
				if (lo[k] <= nd->layer && nd->layer <= hi[k])
					start = MAX(start, base[k] + width[k]);
		}
		nd->slot += start;
		nd->pad = 0;
		for (size_t k = 0; k < nl; k++)
			nd->pad += 2 * (width[k] && base[k] + width[k] <= nd->slot);
		cols = MAX(cols, nd->slot + 1);
	}
	free(lo), free(hi), free(base), free(width), free(used);
	return cols;
}

/* Places the boxes; false when the layered drawing does not fit the pane. */
static bool place(struct view *v)
{
	struct graph *g = G(v);
	const struct session *s = S(v);
	if (g->layers > 64)
		return false;
	int per_layer[64] = {0}, widest = assign_columns(v);
	for (size_t i = 0; i < s->n_steps; i++)
		per_layer[g->n[i].layer] = MAX(per_layer[g->n[i].layer], g->n[i].slot + 1);
	g->lanes = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t d = 0; d < s->steps[i].n_deps; d++)
			g->lanes += is_skip(g, s->steps[i].deps[d], (int)i);
	int avail = v->w - 5 - 2 * g->lanes - 2 * (int)s->n_loops;
	int bw = MIN(28, avail / widest - 2);
	memset(g->starts, 0, sizeof g->starts);
	memset(g->ends, 0, sizeof g->ends);
	for (size_t l = 0; l < s->n_loops; l++) {
		int lo = g->layers, hi = -1;
		for (size_t k = 0; k < s->loops[l].n_steps; k++) {
			lo = MIN(lo, g->n[s->loops[l].steps[k]].layer);
			hi = MAX(hi, g->n[s->loops[l].steps[k]].layer);
		}
		if (hi < 0)
			continue;
		g->starts[lo] = MAX(g->starts[lo], 1 + (s->loops[l].until_step >= 0));
		g->ends[hi] = true;
	}
	g->ybox[0] = MAX(1, g->starts[0]);
	for (int l = 1; l < g->layers; l++)
		g->ybox[l] = g->ybox[l - 1] + 3 + g->ends[l - 1] + 2 + g->starts[l];
	int need_h = g->ybox[g->layers - 1] + 3 + g->ends[g->layers - 1] + 1;
	if (bw < 14 || need_h > v->h)
		return false;
	for (size_t i = 0; i < s->n_steps; i++) {
		struct node *nd = &g->n[i];
		/* a layer narrower than the graph is centred, unless loops fix the columns */
		int offset = s->n_loops ? 0 : (widest - per_layer[nd->layer]) * (bw + 2) / 2;
		nd->x = 3 + offset + nd->slot * (bw + 2) + nd->pad;
		nd->y = g->ybox[nd->layer];
		nd->w = bw;
	}
	return true;
}

/* ---- drawing ---- */

static void put(struct view *v, int y, int x, enum theme_element el, const char *glyph)
{
	if (y >= 0 && x >= 0 && y < v->h && x < v->w)
		view_print(v, y, x, el, glyph, 1);
}

static const double *latest_phi(struct view *v)
{
	for (size_t i = engine_iterations(v->tui->en); i-- > 0;) {
		const struct iteration *it = engine_iteration(v->tui->en, i);
		if (it->phi)
			return it->phi;
	}
	return NULL;
}

static enum theme_element node_el(struct view *v, int step)
{
	const struct step *st = &S(v)->steps[step];
	if (!v->tui->colour_by_importance)
		return state_el[G(v)->n[step].state];
	const double *phi = latest_phi(v);
	if (!phi || st->kind != STEP_LLM || st->frozen)
		return THEME_NODE_IDLE;
	return phi[step] > 0.005    ? THEME_SHAPLEY_POS
	       : phi[step] < -0.005 ? THEME_SHAPLEY_NEG
	                            : THEME_NODE_IDLE;
}

/* The second line of a box (or of a list entry): what kind of step, and its state. */
static void node_label(struct view *v, int step, char *buf, size_t n)
{
	const struct step *st = &S(v)->steps[step];
	const struct node *nd = &G(v)->n[step];
	bool llm = st->kind == STEP_LLM;
	int len = llm ? snprintf(buf, n, "llm %s", st->model ? st->model : "")
	              : snprintf(buf, n, "%s", step_kind_name(st->kind));
	const double *phi = v->tui->colour_by_importance ? latest_phi(v) : NULL;
	int blamed, cleared;
	engine_blame(engine_current(v->tui->en), step, &blamed, &cleared);
	if (phi && st->kind == STEP_LLM && !st->frozen)
		len += snprintf(buf + len, n - (size_t)len, " φ%+.3f", phi[step]);
	else if (nd->errors || nd->cut)
		len += snprintf(buf + len, n - (size_t)len, nd->errors ? " %ld errors" : " %ld cut",
		                nd->errors ? nd->errors : nd->cut);
	else if (nd->state == NODE_RUNNING)
		len +=
		    snprintf(buf + len, n - (size_t)len, " %s %ld", glyphs()->spinner[0], nd->done);
	else if (blamed + cleared) /* the bad cases its local gradients judged: k/n blamed it */
		len +=
		    snprintf(buf + len, n - (size_t)len, " blamed %d/%d", blamed, blamed + cleared);
	else if (nd->state == NODE_DONE)
		len +=
		    snprintf(buf + len, n - (size_t)len, " %s %ld runs", glyphs()->check, nd->done);
	if (st->frozen && llm)
		snprintf(buf + len, n - (size_t)len, " frozen");
}

static void draw_box(struct view *v, int step)
{
	const struct glyphs *g = glyphs();
	const struct step *st = &S(v)->steps[step];
	const struct node *nd = &G(v)->n[step];
	bool llm = st->kind == STEP_LLM, utf8 = strcmp(g->name, "utf8") == 0;
	bool sel = v->tui->step == step;
	enum theme_element el = sel && v->focused ? THEME_NODE_SELECTED : node_el(v, step);
	/* LLM steps: rounded corners; code steps: square ones (heavy when selected) */
	const char *tl = llm ? (utf8 ? "╭" : "/") : sel ? g->tl_focus : g->tl;
	const char *tr = llm ? (utf8 ? "╮" : "\\") : sel ? g->tr_focus : g->tr;
	const char *bl = llm ? (utf8 ? "╰" : "\\") : sel ? g->bl_focus : g->bl;
	const char *br = llm ? (utf8 ? "╯" : "/") : sel ? g->br_focus : g->br;
	const char *h = sel ? g->hline_focus : g->hline, *vl = sel ? g->vline_focus : g->vline;
	for (int x = 1; x < nd->w - 1; x++) {
		put(v, nd->y, nd->x + x, el, h);
		put(v, nd->y + 2, nd->x + x, el, h);
	}
	put(v, nd->y, nd->x, el, tl);
	put(v, nd->y, nd->x + nd->w - 1, el, tr);
	put(v, nd->y + 2, nd->x, el, bl);
	put(v, nd->y + 2, nd->x + nd->w - 1, el, br);
	put(v, nd->y + 1, nd->x, el, vl);
	put(v, nd->y + 1, nd->x + nd->w - 1, el, vl);
	char title[96], label[96];
	snprintf(title, sizeof title, " %s ", st->id);
	view_print(v, nd->y, nd->x + 1, sel ? THEME_SELECTED : THEME_TITLE, title, nd->w - 2);
	node_label(v, step, label, sizeof label);
	/* too narrow for "llm MODEL state": the state alone (the rounded corners say LLM) */
	size_t pre = llm ? 4 + strlen(st->model ? st->model : "") : 0;
	const char *shown = label;
	if (llm && san_width_utf8(label) > nd->w - 4 && strlen(label) > pre && label[pre] == ' ')
		shown = label + pre + 1;
	view_print(v, nd->y + 1, nd->x + 2, llm ? THEME_NODE_LLM : THEME_NODE_CODE, shown,
	           nd->w - 4);
}

/* Edges between layers and loop frames are drawn on a canvas: each cell collects the directions
 * its lines leave in, and the glyph follows from them, so two edges that share a source or a
 * target join in a tee, and an edge crossing a frame crosses it, instead of overwriting each
 * other's corners.  A cell an edge passes through takes the edge's colour. */
enum { LINK_UP = 1, LINK_DOWN = 2, LINK_LEFT = 4, LINK_RIGHT = 8, LINK_EDGE = 16 };

struct canvas {
	unsigned char *cell; /* v->w x v->h link bits */
	int w, h;
};

static void link_add(struct canvas *c, int y, int x, unsigned bits)
{
	if (y >= 0 && x >= 0 && y < c->h && x < c->w)
		c->cell[y * c->w + x] |= (unsigned char)bits;
}

static const char *link_glyph(const struct glyphs *g, unsigned bits)
{
	const char *const table[16] = {
	    [LINK_UP | LINK_DOWN] = g->vline,
	    [LINK_UP] = g->vline,
	    [LINK_DOWN] = g->vline,
	    [LINK_LEFT | LINK_RIGHT] = g->hline,
	    [LINK_LEFT] = g->hline,
	    [LINK_RIGHT] = g->hline,
	    [LINK_UP | LINK_RIGHT] = g->bl,
	    [LINK_UP | LINK_LEFT] = g->br,
	    [LINK_DOWN | LINK_RIGHT] = g->tl,
	    [LINK_DOWN | LINK_LEFT] = g->tr,
	    [LINK_UP | LINK_LEFT | LINK_RIGHT] = g->btee,
	    [LINK_DOWN | LINK_LEFT | LINK_RIGHT] = g->ttee,
	    [LINK_UP | LINK_DOWN | LINK_RIGHT] = g->ltee,
	    [LINK_UP | LINK_DOWN | LINK_LEFT] = g->rtee,
	    [LINK_UP | LINK_DOWN | LINK_LEFT | LINK_RIGHT] = g->cross,
	};
	return table[bits & 15];
}

static void draw_edge(struct view *v, struct canvas *c, int from, int to, int *lane)
{
	const struct glyphs *g = glyphs();
	const struct graph *gr = G(v);
	const struct node *a = &gr->n[from], *b = &gr->n[to];
	if (is_skip(gr, from, to)) {
		/* around the right: source's right side -> lane -> target's right side */
		int right = 0;
		for (size_t i = 0; i < S(v)->n_steps; i++)
			right = MAX(right, gr->n[i].x + gr->n[i].w);
		int lx = right + 2 + 2 * (*lane)++;
		for (int x = a->x + a->w; x < lx; x++)
			link_add(c, a->y + 1, x, LINK_EDGE | LINK_LEFT | LINK_RIGHT);
		link_add(c, a->y + 1, lx, LINK_EDGE | LINK_LEFT | LINK_DOWN);
		for (int y = a->y + 2; y < b->y + 1; y++)
			link_add(c, y, lx, LINK_EDGE | LINK_UP | LINK_DOWN);
		link_add(c, b->y + 1, lx, LINK_EDGE | LINK_UP | LINK_LEFT);
		for (int x = b->x + b->w + 1; x < lx; x++)
			link_add(c, b->y + 1, x, LINK_EDGE | LINK_LEFT | LINK_RIGHT);
		put(v, b->y + 1, b->x + b->w, THEME_EDGE, g->arrow_left);
		return;
	}
	/* down from the source, along the row under its layer, down to an arrow over the target
	 * (above the frame of a loop the target starts) */
	int xs = a->x + a->w / 2, xt = b->x + b->w / 2;
	int row = a->y + 3 + gr->ends[a->layer], arrow = b->y - 1 - gr->starts[b->layer];
	for (int y = a->y + 3; y < row; y++)
		link_add(c, y, xs, LINK_EDGE | LINK_UP | LINK_DOWN);
	link_add(c, row, xs, LINK_EDGE | LINK_UP);
	link_add(c, row, xt, LINK_EDGE | LINK_DOWN);
	if (xs != xt) {
		int dir = xt > xs ? LINK_RIGHT : LINK_LEFT, back = xt > xs ? LINK_LEFT : LINK_RIGHT;
		link_add(c, row, xs, (unsigned)dir);
		for (int x = MIN(xs, xt) + 1; x < MAX(xs, xt); x++)
			link_add(c, row, x, LINK_EDGE | LINK_LEFT | LINK_RIGHT);
		link_add(c, row, xt, (unsigned)back);
	}
	for (int y = row + 1; y < arrow; y++)
		link_add(c, y, xt, LINK_EDGE | LINK_UP | LINK_DOWN);
	put(v, arrow, xt, THEME_EDGE, g->arrow_down);
}

static void canvas_draw(struct view *v, const struct canvas *c)
{
	for (int y = 0; y < c->h; y++)
		for (int x = 0; x < c->w; x++) {
			unsigned bits = c->cell[y * c->w + x];
			if (bits)
				put(v, y, x, bits & LINK_EDGE ? THEME_EDGE : THEME_LOOP,
				    link_glyph(glyphs(), bits));
		}
}

/* A loop's label in two parts: what repeats (" ↻ hops: up to 2 rounds ") and its stop
 * condition (" until retrieve ~ /capital/ ", or "" without one). */
static void loop_parts(const struct session *s, const struct loop *lp, char *what, size_t nw,
                       char *until, size_t nu)
{
	const cJSON *cond = cJSON_GetObjectItemCaseSensitive(lp->json, "until");
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(cond, "pattern");
	snprintf(what, nw, " %s %s: up to %d rounds ", glyphs()->loop, lp->id, lp->max_rounds);
	if (lp->until_step >= 0 && cJSON_IsString(pat))
		snprintf(until, nu, " until %s ~ /%s/ ", s->steps[lp->until_step].id,
		         pat->valuestring);
	else
		snprintf(until, nu, "%s", "");
}

static void loop_label(const struct session *s, const struct loop *lp, char *buf, size_t n)
{
	char what[100], until[160];
	loop_parts(s, lp, what, sizeof what, until, sizeof until);
	if (*until)
		what[strlen(what) - 1] = ','; /* " ↻ hops: up to 2 rounds, until ..." */
	snprintf(buf, n, "%s%s", what, *until ? until : "");
}

/* A loop's frame around its steps (a row above and below them of its own). */
static bool loop_frame(struct view *v, const struct loop *lp, int *x0, int *y0, int *x1, int *y1)
{
	const struct graph *gr = G(v);
	*x0 = v->w, *x1 = 0, *y0 = v->h, *y1 = 0;
	for (size_t k = 0; k < lp->n_steps; k++) {
		const struct node *nd = &gr->n[lp->steps[k]];
		*x0 = MIN(*x0, nd->x - 2);
		*x1 = MAX(*x1, nd->x + nd->w + 1);
		*y0 = MIN(*y0, nd->y - 1 - (lp->until_step >= 0));
		*y1 = MAX(*y1, nd->y + 3);
	}
	return *x0 < *x1;
}

static void frame_add(struct canvas *c, int x0, int y0, int x1, int y1)
{
	for (int x = x0 + 1; x < x1; x++) {
		link_add(c, y0, x, LINK_LEFT | LINK_RIGHT);
		link_add(c, y1, x, LINK_LEFT | LINK_RIGHT);
	}
	for (int y = y0 + 1; y < y1; y++) {
		link_add(c, y, x0, LINK_UP | LINK_DOWN);
		link_add(c, y, x1, LINK_UP | LINK_DOWN);
	}
	link_add(c, y0, x0, LINK_DOWN | LINK_RIGHT);
	link_add(c, y0, x1, LINK_DOWN | LINK_LEFT);
	link_add(c, y1, x0, LINK_UP | LINK_RIGHT);
	link_add(c, y1, x1, LINK_UP | LINK_LEFT);
}

/* The label lives on the frame: what repeats on its top edge, the stop condition on the row
 * below it (cut with an ellipsis to fit). */
static void loop_frame_label(struct view *v, const struct loop *lp)
{
	int x0, y0, x1, y1;
	if (!loop_frame(v, lp, &x0, &y0, &x1, &y1))
		return;
	char what[100], until[160];
	loop_parts(S(v), lp, what, sizeof what, until, sizeof until);
	int room = x1 - x0 - 3;
	if (san_width_utf8(what) > room) /* narrow: " ↻ hops: 2 max " */
		snprintf(what, sizeof what, " %s %s: %d max ", glyphs()->loop, lp->id,
		         lp->max_rounds);
	view_print(v, y0, x0 + 2, THEME_LOOP, what, room);
	const char *tilde = strstr(until, " ~ /");
	if (tilde && san_width_utf8(until + 1) > room) /* narrow: the pattern, not its step */
		memmove(until + 7, tilde + 3, strlen(tilde + 3) + 1); /* " until " */
	if (*until)
		view_print(v, y0 + 1, x0 + 2, THEME_LOOP, until + 1, room);
}

static void draw_layers(struct view *v)
{
	const struct session *s = S(v);
	struct canvas c = {xcalloc((size_t)MAX(v->w, 1) * (size_t)MAX(v->h, 1), 1), v->w, v->h};
	for (size_t l = 0; l < s->n_loops; l++) {
		int x0, y0, x1, y1;
		if (loop_frame(v, &s->loops[l], &x0, &y0, &x1, &y1))
			frame_add(&c, x0, y0, x1, y1);
	}
	int lane = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t d = 0; d < s->steps[i].n_deps; d++)
			if (G(v)->n[s->steps[i].deps[d]].layer < G(v)->n[i].layer)
				draw_edge(v, &c, s->steps[i].deps[d], (int)i, &lane);
	canvas_draw(v, &c);
	for (size_t l = 0; l < s->n_loops; l++)
		loop_frame_label(v, &s->loops[l]);
	free(c.cell);
	for (size_t i = 0; i < s->n_steps; i++)
		draw_box(v, (int)i);
}

/* The fallback: one entry a step in execution order, two lines each, "↓" between them. */
static void draw_list(struct view *v)
{
	const struct session *s = S(v);
	const struct graph *g = G(v);
	int sel_pos = 0;
	for (size_t i = 0; i < g->count; i++)
		if (g->topo[i] == v->tui->step)
			sel_pos = (int)i;
	v->sel = sel_pos * 2;
	view_clamp(v, (int)g->count * 2);
	for (size_t i = 0; i < g->count; i++) {
		int y = (int)i * 2 - v->top, step = g->topo[i];
		const struct step *st = &s->steps[step];
		if (y >= v->h)
			break;
		char label[96];
		node_label(v, step, label, sizeof label);
		bool sel = step == v->tui->step;
		if (y >= 0) {
			if (sel) {
				view_fill(v, y, v->focused ? THEME_SELECTED : THEME_TEXT_DIM);
				view_print(v, y, 0, THEME_SELECTED, glyphs()->arrow_right, 1);
			}
			int x = view_print(v, y, 1,
			                   st->kind == STEP_LLM ? THEME_NODE_LLM : THEME_NODE_CODE,
			                   st->kind == STEP_LLM ? "(" : "[", 1) +
			        1;
			x += view_print(v, y, x, sel ? THEME_SELECTED : node_el(v, step), st->id,
			                24);
			x += view_print(v, y, x,
			                st->kind == STEP_LLM ? THEME_NODE_LLM : THEME_NODE_CODE,
			                st->kind == STEP_LLM ? ")" : "]", 1);
			x = MAX(x + 2, 18);
			x += view_print(v, y, x, THEME_TEXT_DIM, label, v->w - x) + 1;
			if (st->loop >= 0) {
				const struct loop *lp = &s->loops[st->loop];
				char lbl[272]; /* what (100) and until (160) */
				if (lp->steps[0] == step)
					loop_label(s, lp, lbl, sizeof lbl);
				else
					snprintf(lbl, sizeof lbl, " %s %s", glyphs()->loop, lp->id);
				view_print(v, y, x + 1, THEME_LOOP, lbl, v->w - x - 1);
			}
		}
		if (i + 1 < g->count && y + 1 >= 0)
			view_print(v, y + 1, 3, THEME_EDGE, glyphs()->arrow_down, 1);
	}
}

static void graph_draw(struct view *v)
{
	struct graph *g = G(v);
	if (!S(v)->n_steps) {
		view_print(v, 0, 1, THEME_TEXT_DIM, "the pipeline has no steps", -1);
		return;
	}
	g->list = !place(v);
	if (g->list)
		draw_list(v);
	else
		draw_layers(v);
}

/* ---- keys ---- */

static int topo_pos(const struct graph *g, int step)
{
	for (size_t i = 0; i < g->count; i++)
		if (g->topo[i] == step)
			return (int)i;
	return 0;
}

/* The node in layer `layer` whose centre is nearest to x, or -1. */
static int nearest_in_layer(struct view *v, int layer, int x)
{
	const struct graph *g = G(v);
	int best = -1, bestd = 0;
	for (size_t i = 0; i < S(v)->n_steps; i++) {
		int d = abs(g->n[i].x + g->n[i].w / 2 - x);
		if (g->n[i].layer == layer && (best < 0 || d < bestd))
			best = (int)i, bestd = d;
	}
	return best;
}

static int move_target(struct view *v, enum action a)
{
	const struct graph *g = G(v);
	int cur = v->tui->step < 0 ? g->topo[0] : v->tui->step, pos = topo_pos(g, cur);
	int last = (int)g->count - 1;
	if (a == ACTION_HOME)
		return g->topo[0];
	if (a == ACTION_END)
		return g->topo[last];
	const struct node *nd = &g->n[cur];
	if (!g->list && (a == ACTION_MOVE_UP || a == ACTION_MOVE_DOWN)) {
		int l = nd->layer + (a == ACTION_MOVE_UP ? -1 : 1);
		int to = l >= 0 && l < g->layers ? nearest_in_layer(v, l, nd->x + nd->w / 2) : -1;
		return to >= 0 ? to : cur;
	}
	if (a == ACTION_MOVE_UP || a == ACTION_MOVE_LEFT || a == ACTION_PAGE_UP)
		return g->topo[MAX(pos - 1, 0)];
	if (a == ACTION_MOVE_DOWN || a == ACTION_MOVE_RIGHT || a == ACTION_PAGE_DOWN)
		return g->topo[MIN(pos + 1, last)];
	return -1;
}

static bool graph_key(struct view *v, enum action a)
{
	if (!G(v)->count)
		return false;
	if (a == ACTION_ENTER) { /* the node's prompt; t (show_traces) goes to its runs */
		if (v->tui->step < 0)
			v->tui->step = G(v)->topo[0];
		tui_focus_view(v->tui, "prompt");
		return true;
	}
	int to = move_target(v, a);
	if (to < 0)
		return false;
	v->tui->step = to;
	return true;
}

static bool graph_search(struct view *v, const char *pattern, int dir)
{
	const struct graph *g = G(v);
	const struct session *s = S(v);
	int n = (int)g->count, pos = topo_pos(g, v->tui->step);
	for (int k = 1; k <= n; k++) {
		int step = g->topo[((pos + dir * k) % n + n) % n];
		const struct step *st = &s->steps[step];
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(st->json, "description");
		if (tui_contains(st->id, pattern) ||
		    (st->prompt && tui_contains(st->prompt, pattern)) ||
		    (cJSON_IsString(desc) && tui_contains(desc->valuestring, pattern))) {
			v->tui->step = step;
			return true;
		}
	}
	return false;
}

void view_graph_click(struct view *v, int y, int x)
{
	const struct graph *g = G(v);
	if (g->list) {
		int i = (y + v->top) / 2;
		if (i >= 0 && i < (int)g->count)
			v->tui->step = g->topo[i];
		return;
	}
	for (size_t i = 0; i < S(v)->n_steps; i++) {
		const struct node *nd = &g->n[i];
		if (y >= nd->y && y < nd->y + 3 && x >= nd->x && x < nd->x + nd->w)
			v->tui->step = (int)i;
	}
}

const struct view_ops view_graph_ops = {
    .name = "graph",
    .title = "Pipeline",
    .open = graph_open,
    .draw = graph_draw,
    .key = graph_key,
    .event = graph_event,
    .search = graph_search,
    .done = graph_done,
};

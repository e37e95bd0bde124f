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
#include "tui/tui_int.h"

#define LOOP_LABEL_W 18 /* columns kept for loop labels beside the graph */

enum node_state { NODE_IDLE, NODE_RUNNING, NODE_DONE, NODE_ERROR };

static const enum theme_element state_el[] = {
    [NODE_IDLE] = THEME_NODE_IDLE,
    [NODE_RUNNING] = THEME_NODE_RUNNING,
    [NODE_DONE] = THEME_NODE_DONE,
    [NODE_ERROR] = THEME_NODE_ERROR,
};

struct node {
	int layer, slot;
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

/* Places the boxes; false when the layered drawing does not fit the pane. */
static bool place(struct view *v)
{
	struct graph *g = G(v);
	const struct session *s = S(v);
	int per_layer[64] = {0}, widest = 1;
	if (g->layers > 64)
		return false;
	for (size_t i = 0; i < g->count; i++) {
		struct node *nd = &g->n[g->topo[i]];
		nd->slot = per_layer[nd->layer]++;
		widest = MAX(widest, per_layer[nd->layer]);
	}
	g->lanes = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t d = 0; d < s->steps[i].n_deps; d++)
			g->lanes += is_skip(g, s->steps[i].deps[d], (int)i);
	int avail = v->w - 5 - 2 * g->lanes;
	if (s->n_loops && (avail - LOOP_LABEL_W) / widest - 2 >= 14)
		avail -= LOOP_LABEL_W; /* loop labels go right of the frames */
	int bw = MIN(28, avail / widest - 2);
	int need_h = 1 + g->layers * 3 + (g->layers - 1) * 2 + 1;
	if (bw < 14 || need_h > v->h)
		return false;
	for (size_t i = 0; i < s->n_steps; i++) {
		struct node *nd = &g->n[i];
		int offset = (widest - per_layer[nd->layer]) * (bw + 2) / 2;
		nd->x = 3 + offset + nd->slot * (bw + 2);
		nd->y = 1 + nd->layer * 5;
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
	if (phi && st->kind == STEP_LLM && !st->frozen)
		len += snprintf(buf + len, n - (size_t)len, " φ%+.3f", phi[step]);
	else if (nd->errors || nd->cut)
		len += snprintf(buf + len, n - (size_t)len, nd->errors ? " %ld errors" : " %ld cut",
		                nd->errors ? nd->errors : nd->cut);
	else if (nd->state == NODE_RUNNING)
		len +=
		    snprintf(buf + len, n - (size_t)len, " %s %ld", glyphs()->spinner[0], nd->done);
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
	view_print(v, nd->y + 1, nd->x + 2, llm ? THEME_NODE_LLM : THEME_NODE_CODE, label,
	           nd->w - 4);
}

static void draw_edge(struct view *v, int from, int to, int *lane)
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
			put(v, a->y + 1, x, THEME_EDGE, g->hline);
		for (int y = a->y + 2; y < b->y + 1; y++)
			put(v, y, lx, THEME_EDGE, g->vline);
		put(v, a->y + 1, lx, THEME_EDGE, g->tr);
		put(v, b->y + 1, lx, THEME_EDGE, g->br);
		for (int x = b->x + b->w + 1; x < lx; x++)
			put(v, b->y + 1, x, THEME_EDGE, g->hline);
		put(v, b->y + 1, b->x + b->w, THEME_EDGE, g->arrow_left);
		return;
	}
	int xs = a->x + a->w / 2, xt = b->x + b->w / 2, row = a->y + 3;
	if (xs == xt) {
		put(v, row, xs, THEME_EDGE, g->vline);
	} else {
		for (int x = MIN(xs, xt) + 1; x < MAX(xs, xt); x++)
			put(v, row, x, THEME_EDGE, g->hline);
		put(v, row, xs, THEME_EDGE, xt > xs ? g->bl : g->br);
		put(v, row, xt, THEME_EDGE, xt > xs ? g->tr : g->tl);
	}
	put(v, row + 1, xt, THEME_EDGE, g->arrow_down);
}

static void loop_label(const struct session *s, const struct loop *lp, char *buf, size_t n)
{
	const cJSON *until = cJSON_GetObjectItemCaseSensitive(lp->json, "until");
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(until, "pattern");
	int len =
	    snprintf(buf, n, " %s %s: up to %d rounds", glyphs()->loop, lp->id, lp->max_rounds);
	if (lp->until_step >= 0 && cJSON_IsString(pat))
		snprintf(buf + len, n - (size_t)len, ", until %s ~ /%s/ ",
		         s->steps[lp->until_step].id, pat->valuestring);
	else
		snprintf(buf + len, n - (size_t)len, " ");
}

static void draw_loop(struct view *v, const struct loop *lp)
{
	const struct glyphs *g = glyphs();
	const struct graph *gr = G(v);
	int x0 = v->w, x1 = 0, y0 = v->h, y1 = 0;
	for (size_t k = 0; k < lp->n_steps; k++) {
		const struct node *nd = &gr->n[lp->steps[k]];
		x0 = MIN(x0, nd->x - 2);
		x1 = MAX(x1, nd->x + nd->w + 1);
		y0 = MIN(y0, nd->y - 1);
		y1 = MAX(y1, nd->y + 3);
	}
	if (x0 >= x1)
		return;
	for (int x = x0 + 1; x < x1; x++) {
		put(v, y0, x, THEME_LOOP, g->hline);
		put(v, y1, x, THEME_LOOP, g->hline);
	}
	for (int y = y0 + 1; y < y1; y++) {
		put(v, y, x0, THEME_LOOP, g->vline);
		put(v, y, x1, THEME_LOOP, g->vline);
	}
	put(v, y0, x0, THEME_LOOP, g->tl);
	put(v, y0, x1, THEME_LOOP, g->tr);
	put(v, y1, x0, THEME_LOOP, g->bl);
	put(v, y1, x1, THEME_LOOP, g->br);
	char label[200];
	loop_label(S(v), lp, label, sizeof label);
	/* beside the frame, right of the skip-edge lanes, wrapped; else on its bottom border */
	int lx = 0;
	for (size_t i = 0; i < S(v)->n_steps; i++)
		lx = MAX(lx, gr->n[i].x + gr->n[i].w);
	lx += 2 * gr->lanes + 3;
	if (v->w - lx >= 12)
		view_text(v, y0 + 1, lx, v->w - lx, THEME_LOOP, label + 1, 0, y1 - y0 - 1);
	else
		view_print(v, y1, x0 + 2, THEME_LOOP, label, x1 - x0 - 3);
}

static void draw_layers(struct view *v)
{
	const struct session *s = S(v);
	for (size_t l = 0; l < s->n_loops; l++)
		draw_loop(v, &s->loops[l]);
	int lane = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t d = 0; d < s->steps[i].n_deps; d++)
			if (G(v)->n[s->steps[i].deps[d]].layer < G(v)->n[i].layer)
				draw_edge(v, s->steps[i].deps[d], (int)i, &lane);
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
				char lbl[200];
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
	if (a == ACTION_ENTER) {
		if (v->tui->step < 0)
			v->tui->step = G(v)->topo[0];
		tui_focus_view(v->tui, "traces");
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

/* input.c: what a key does.  In normal mode the key map turns a key into an action; the focused
 * view gets it first, then the table of global actions below (one handler a row).  The command
 * line, the search prompt and questions in the message line take keys while they are open.
 * Mouse: a click focuses the pane (or tab) under it and selects the line; the wheel scrolls. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/tui_int.h"

#define CONTINUOUS_ITERATIONS 1000000 /* "run until paused": the cap or a pause stops it */

static struct view *focused(struct app *a)
{
	return &a->views[a->t.focus];
}

static void engine_refused(struct app *a, const char *what)
{
	const char *why = engine_pause_reason(a->t.en);
	if (engine_busy(a->t.en))
		tui_message(&a->t, "a phase is running: p pauses after it, Esc cancels it");
	else
		tui_message(&a->t, "cannot %s%s%s", what, why ? ": " : "", why ? why : "");
}

static void act_quit(struct app *a)
{
	app_quit(a, false);
}

static void act_help(struct app *a)
{
	if (a->help_open && a->t.focus == VIEW_HELP) {
		app_focus(a, a->help_return);
		return;
	}
	app_focus(a, VIEW_HELP);
	a->views[VIEW_HELP].top = a->views[VIEW_HELP].sel = 0;
}

static void act_command_line(struct app *a)
{
	a->mode = INPUT_COMMAND;
	cmdline_start(&a->cl, NULL);
	a->need_draw = true;
}

static bool cancel_run_projection(struct app *a);

static void act_cancel(struct app *a)
{
	if (cancel_run_projection(a))
		return;
	if (a->help_open)
		app_focus(a, a->help_return);
	else if (engine_busy(a->t.en) || engine_running(a->t.en))
		engine_cancel(a->t.en);
	else
		a->t.message[0] = 0;
	a->need_draw = true;
}

static void act_save(struct app *a)
{
	app_save_start(a, true); /* "saved" when it is written */
}

static void act_undo(struct app *a)
{
	const struct iteration *it = engine_current(a->t.en);
	bool closed = it && it->phase == PHASE_COUNT;
	if (engine_undo(a->t.en) < 0) {
		tui_message(&a->t, "nothing to undo");
		return;
	}
	a->t.dirty = true;
	tui_message(&a->t, "undone%s", closed ? "; the iteration is open again" : "");
}

static void act_redraw(struct app *a)
{
	clearok(curscr, TRUE);
	a->need_layout = true;
}

static void act_toggle_mouse(struct app *a)
{
	app_set_mouse(a, !a->mouse_on);
	tui_message(&a->t, "mouse %s", a->mouse_on ? "on" : "off");
}

static void act_colour_mode(struct app *a)
{
	a->t.colour_by_importance = !a->t.colour_by_importance;
	tui_message(&a->t, "graph nodes coloured by %s",
	            a->t.colour_by_importance ? "Shapley importance" : "state");
}

static void focus_step(struct app *a, int d)
{
	int f = a->t.focus < PANE_COUNT ? a->t.focus : a->help_return;
	app_focus(a, (f + d + PANE_COUNT) % PANE_COUNT);
}

static void act_focus_next(struct app *a)
{
	focus_step(a, 1);
}
static void act_focus_prev(struct app *a)
{
	focus_step(a, -1);
}

static void act_search(struct app *a)
{
	a->mode = INPUT_SEARCH;
	cmdline_start(&a->search_cl, NULL);
	a->need_draw = true;
}

static void search(struct app *a, int dir)
{
	struct view *v = focused(a);
	if (!a->search[0]) {
		tui_message(&a->t, "no search yet: / searches the focused pane");
		return;
	}
	if (!v->ops->search) {
		tui_message(&a->t, "the %s pane cannot be searched", v->ops->title);
		return;
	}
	if (!v->ops->search(v, a->search, dir))
		tui_message(&a->t, "not found: %s", a->search);
	else
		tui_message(&a->t, "/%s", a->search);
}

static void act_search_next(struct app *a)
{
	search(a, 1);
}
static void act_search_prev(struct app *a)
{
	search(a, -1);
}

static void act_bad_filter(struct app *a)
{
	a->t.bad_only = !a->t.bad_only;
	tui_message(&a->t, "traces: %s", a->t.bad_only ? "failing examples only" : "all examples");
}

static void act_jump_gradient(struct app *a)
{
	app_focus(a, VIEW_GRADIENTS);
}

static void act_step(struct app *a)
{
	if (engine_step(a->t.en) < 0)
		engine_refused(a, "step");
}

/* ---- runs: their projected cost first, a question above ask_above ---- */

static void start_run(struct app *a, int iterations, const char *projected)
{
	int rc = iterations == RUN_TO_PROPOSAL  ? engine_run_to_proposal(a->t.en)
	         : iterations == RUN_CONTINUOUS ? engine_run(a->t.en, CONTINUOUS_ITERATIONS)
	                                        : engine_run(a->t.en, iterations);
	if (rc < 0)
		engine_refused(a, "run");
	else if (engine_running(a->t.en) && iterations == RUN_CONTINUOUS && a->cfg.patience)
		tui_message(&a->t,
		            "running until %d iterations without validation gain, the cost "
		            "cap or a pause (p); %s",
		            a->cfg.patience, projected);
	else if (engine_running(a->t.en) && iterations == RUN_CONTINUOUS)
		tui_message(&a->t, "running until the cost cap or a pause (p); %s", projected);
	else if (engine_running(a->t.en))
		tui_message(&a->t, "running %s; %s",
		            iterations == RUN_TO_PROPOSAL ? "to the proposal" : "iterations",
		            projected);
}

static void on_run_answer(struct app *a, int answer)
{
	if (answer == 'y')
		start_run(a, a->pending_run, a->pending_projection);
	else
		tui_message(&a->t, "not started (:set ask_above USD changes when it asks)");
}

/* What a run is projected to cost (the walks app_run makes beside the loop), as bytes; and
 * with local scripted models, what it costs: the run played out (engine_simulate). */
struct run_walks {
	struct cost_projection p, more;
	struct projection_range all;
	bool simulated, bounded;
	int sim_iterations;
	struct cost_projection sim;
	char stops[32]; /* engine_stop_cause of the simulated run, or "" */
};

#define SIM_MAX_REQUESTS 200000 /* a simulation past it says "at least" */

/* The iterations a run's projection counts: R at least `patience` unless a cap stops it. */
static int run_counted(const struct app *a, int iterations)
{
	return iterations == RUN_CONTINUOUS    ? MAX(1, a->cfg.patience)
	       : iterations == RUN_TO_PROPOSAL ? 0
	                                       : iterations;
}

/* In a copy of the process only (the simulation accepts proposals and adds iterations to the
 * session it runs on: the copy's, which nobody sees): r, :run N and R played out with the scripted
 * model through a sandboxed LLM layer (the response cache and spend journal read, nothing
 * written or sent), from the session as it stands, unsaved decisions included.  Nothing when a
 * model is not the local scripted one, a retrieval server or an external command is asked. */
static void run_simulate(struct app *a, int iterations, struct run_walks *rp)
{
	struct session *s = a->env.s;
	char *why = engine_sim_blocker(s);
	if (why) {
		free(why);
		return;
	}
	engine_store(
	    a->t.en); /* the history and the iteration in progress, as a save writes them */
	char *spend = front_path_beside(a->path ? a->path : a->o->session, ".spend.jsonl");
	bool go_on = iterations == RUN_CONTINUOUS;
	struct engine_sim_opts so = {.iterations = go_on ? CONTINUOUS_ITERATIONS : iterations,
	                             .patience = go_on ? a->cfg.patience : 0,
	                             .to_proposal = iterations == RUN_TO_PROPOSAL,
	                             .cache_path = a->env.cache_path,
	                             .spend_path = spend,
	                             .no_cache = a->o->no_cache,
	                             .trust = a->o->trust,
	                             .max_requests = SIM_MAX_REQUESTS};
	struct engine_sim sim;
	struct err e = {{0}};
	if (engine_simulate(s, &so, &sim, &e) == 0) {
		rp->simulated = true;
		rp->bounded = sim.bounded;
		rp->sim_iterations = sim.n;
		rp->sim = sim.total;
		snprintf(rp->stops, sizeof rp->stops, "%s", sim.stopped ? sim.stopped : "");
		engine_sim_free(&sim);
	}
	free(spend);
}

/* Why a simulated run stops, in words, from engine_stop_cause ("iterations": it ran them all). */
static const struct {
	const char *cause, *words;
} sim_stops[] = {
    {"patience", "then stops: no validation gain"},
    {"cost_cap", "then the cost cap stops it"},
    {"token_cap", "then the token cap stops it"},
    {"nothing_to_optimize", "then stops: nothing to optimize"},
    {"error", "then stops on an error"},
};

static void say_simulated(struct sbuf *b, const struct run_walks *rp, int iterations)
{
	const struct cost_projection *p = &rp->sim;
	sbuf_addf(b, "simulated with the scripted model: %s", rp->bounded ? "at least " : "");
	if (iterations != RUN_TO_PROPOSAL) /* r runs the phases up to the proposal */
		sbuf_addf(b, "%d iteration%s, ", rp->sim_iterations,
		          rp->sim_iterations == 1 ? "" : "s");
	sbuf_addf(b, "%ld calls (%ld cached), %ld tok, $%.4f", p->calls, p->cached,
	          p->tokens_in + p->tokens_out, p->usd);
	for (size_t i = 0; i < ARRAY_SIZE(sim_stops); i++)
		if (!strcmp(rp->stops, sim_stops[i].cause))
			sbuf_addf(b, ", %s", sim_stops[i].words);
}

/* In a copy of the process (or at once): several iterations' dry walks. */
static void run_project(struct tui *t, void *arg, struct sbuf *out)
{
	struct app *a = app_of(t);
	int iterations = *(int *)arg, n = run_counted(a, iterations);
	struct run_walks rp = {0};
	/* to the proposal from a pending decision: that iteration, then the next one */
	struct projection_range *r = xcalloc((size_t)n + 2, sizeof *r);
	engine_project_range(t->en, n, NULL, r, &rp.p, &rp.all);
	free(r);
	if (iterations == RUN_CONTINUOUS) /* what each further iteration costs */
		engine_project(t->en, n + 1, NULL, &rp.more);
	if (tui_beside_in_copy())
		run_simulate(a, iterations, &rp);
	sbuf_add(out, (const char *)&rp, sizeof rp);
}

/* The run's projection is in (data NULL: cancelled): said, then the run starts or asks. */
static void run_projected(struct tui *t, void *arg, const char *data, size_t n)
{
	struct app *a = app_of(t);
	int iterations = *(int *)arg;
	free(arg);
	a->run_projecting = 0;
	if (!data || n != sizeof(struct run_walks)) {
		tui_message(t, "run not started: its projection was cancelled");
		return;
	}
	if (engine_busy(t->en)) { /* a phase started meanwhile (s) */
		engine_refused(a, "run");
		return;
	}
	struct run_walks rp;
	memcpy(&rp, data, sizeof rp);
	const struct cost_projection *p = rp.simulated ? &rp.sim : &rp.p;
	engine_set_patience(t->en, iterations == RUN_CONTINUOUS ? a->cfg.patience : 0);
	struct sbuf b = {0};
	if (rp.simulated) { /* what it costs: the projection's range says nothing more */
		say_simulated(&b, &rp, iterations);
		rp.all.low = rp.all.high = rp.sim;
	} else {
		sbuf_addf(&b, "projected ~%ld calls (%ld cached), ~%ld tok, ~$%.4f", p->calls,
		          p->cached, p->tokens_in + p->tokens_out, p->usd);
		if (iterations == RUN_CONTINUOUS)
			sbuf_addf(&b, " (about $%.4f an iteration)", rp.more.usd - p->usd);
	}
	if (rp.all.low.usd < rp.all.high.usd) /* what the iterations accept is not known before */
		sbuf_addf(&b, " ($%.4f if nothing is accepted, $%.4f if every proposal is)",
		          rp.all.low.usd, rp.all.high.usd);
	char *cap = engine_range_over_cap(t->en, &rp.all);
	if (cap)
		sbuf_addf(&b, "; %s", cap);
	free(cap);
	long extra = engine_shapley_extra(t->en);
	if (extra > 0) /* exact Shapley's price, said before it is paid */
		sbuf_addf(&b, "; Shapley buys %ld extra evaluation(s) an iteration", extra);
	snprintf(a->pending_projection, sizeof a->pending_projection, "%s", sbuf_str(&b));
	sbuf_free(&b);
	if (a->cfg.ask_above < 0 || p->usd <= a->cfg.ask_above) {
		start_run(a, iterations, a->pending_projection);
		return;
	}
	a->pending_run = iterations;
	app_ask(a, on_run_answer, "yn", "%s: %s, above ask_above $%g; start? [y/n]",
	        iterations == RUN_TO_PROPOSAL  ? "run to the proposal"
	        : iterations == RUN_CONTINUOUS ? "run until no gain"
	                                       : "run",
	        a->pending_projection, a->cfg.ask_above);
}

void app_run(struct app *a, int iterations)
{
	if (engine_busy(a->t.en)) {
		engine_refused(a, "run");
		return;
	}
	if (a->run_projecting) {
		tui_message(&a->t, "projecting the run... (Esc cancels)");
		return;
	}
	int *arg = xmalloc(sizeof *arg);
	*arg = iterations;
	/* its walks are made beside the loop: keys and the screen go on meanwhile */
	a->run_projecting = tui_beside(&a->t, run_project, run_projected, arg);
	if (a->run_projecting)
		tui_message(&a->t, "projecting the run... (Esc cancels)");
}

/* Esc or C-c while a run is projected: it is not started.  True when there was one. */
static bool cancel_run_projection(struct app *a)
{
	if (!a->run_projecting)
		return false;
	tui_beside_cancel(&a->t, a->run_projecting); /* run_projected says so */
	a->need_draw = true;
	return true;
}

static void act_run_proposal(struct app *a)
{
	app_run(a, RUN_TO_PROPOSAL);
}

static void act_run(struct app *a)
{
	app_run(a, RUN_CONTINUOUS);
}

static void act_pause(struct app *a)
{
	engine_pause(a->t.en);
	if (engine_busy(a->t.en))
		tui_message(&a->t, "pausing after the phase in flight");
}

static void act_decision(struct app *a)
{
	const struct iteration *it = engine_current(a->t.en);
	if (!it || it->phase != PHASE_DECISION || !it->n_changes) {
		tui_message(&a->t, "no proposal to decide: r runs to the next one");
		return;
	}
	app_focus(a, VIEW_PROPOSALS);
	tui_message(&a->t, "decide in the Proposals pane: a accept, x reject, e edit");
}

static void act_show_prompt(struct app *a)
{
	if (a->t.step < 0 && a->t.s->n_steps)
		a->t.step = 0;
	app_focus(a, VIEW_PROMPT);
}

static void act_show_candidates(struct app *a)
{
	app_focus(a, VIEW_CANDIDATES);
}

static void act_show_traces(struct app *a)
{
	app_focus(a, VIEW_TRACES);
}

static void on_interrupt_answer(struct app *a, int answer)
{
	if (answer == 'y')
		app_quit(a, false); /* asks to save unsaved changes */
}

/* C-c: cancels the running phase as Esc does (rolled back); with nothing running, asks to quit
 * (in raw mode the terminal sends C-c as a key, not SIGINT). */
static void act_interrupt(struct app *a)
{
	if (cancel_run_projection(a))
		return;
	if (engine_busy(a->t.en) || engine_running(a->t.en)) {
		bool busy = engine_busy(a->t.en);
		engine_cancel(a->t.en);
		const char *why = engine_pause_reason(a->t.en);
		tui_message(&a->t, "%s; C-c again asks to quit",
		            busy && why ? why : "run stopped before its next phase");
		return;
	}
	app_ask(a, on_interrupt_answer, "yn", "quit adopt-tui? [y/n]");
}

/* C-z: gives the terminal back to the shell and stops; fg continues here and redraws. */
static void act_suspend(struct app *a)
{
	if (a->test) {
		tui_message(&a->t, "suspend: not on the test screen");
		return;
	}
	endwin();
	raise(SIGTSTP); /* returns when the shell continues us (SIGCONT) */
	reset_prog_mode();
	clearok(curscr, TRUE);
	a->need_layout = true;
}

/* z: the focused pane fills the body, or the layout comes back (focus moves keep the zoom). */
static void act_zoom(struct app *a)
{
	if (a->help_open) {
		tui_message(&a->t, "this screen already fills the body (q closes it)");
		return;
	}
	a->zoomed = !a->zoomed;
	a->need_layout = true;
	tui_message(&a->t, "%s", a->zoomed ? "zoomed: z restores the layout" : "layout restored");
}

static void act_focus_n(struct app *a, int n)
{
	app_focus(a, n);
}

#define FOCUS_FN(n)                                                                                \
	static void act_focus_##n(struct app *a)                                                   \
	{                                                                                          \
		act_focus_n(a, n - 1);                                                             \
	}
FOCUS_FN(1)
FOCUS_FN(2)
FOCUS_FN(3)
FOCUS_FN(4)
FOCUS_FN(5)
FOCUS_FN(6)

/* Global actions: what a key does when the focused view did not use it. */
static void (*const global_actions[ACTION_COUNT])(struct app *a) = {
    [ACTION_QUIT] = act_quit,
    [ACTION_HELP] = act_help,
    [ACTION_COMMAND_LINE] = act_command_line,
    [ACTION_CANCEL] = act_cancel,
    [ACTION_BACK] = act_cancel,
    [ACTION_SAVE] = act_save,
    [ACTION_UNDO] = act_undo,
    [ACTION_REDRAW] = act_redraw,
    [ACTION_TOGGLE_MOUSE] = act_toggle_mouse,
    [ACTION_TOGGLE_COLOUR_MODE] = act_colour_mode,
    [ACTION_FOCUS_NEXT] = act_focus_next,
    [ACTION_FOCUS_PREV] = act_focus_prev,
    [ACTION_FOCUS_1] = act_focus_1,
    [ACTION_FOCUS_2] = act_focus_2,
    [ACTION_FOCUS_3] = act_focus_3,
    [ACTION_FOCUS_4] = act_focus_4,
    [ACTION_FOCUS_5] = act_focus_5,
    [ACTION_FOCUS_6] = act_focus_6,
    [ACTION_SHOW_PROMPT] = act_show_prompt,
    [ACTION_SHOW_TRACES] = act_show_traces,
    [ACTION_SHOW_CANDIDATES] = act_show_candidates,
    [ACTION_ZOOM] = act_zoom,
    [ACTION_INTERRUPT] = act_interrupt,
    [ACTION_SUSPEND] = act_suspend,
    [ACTION_SEARCH] = act_search,
    [ACTION_SEARCH_NEXT] = act_search_next,
    [ACTION_SEARCH_PREV] = act_search_prev,
    [ACTION_TOGGLE_BAD_FILTER] = act_bad_filter,
    [ACTION_JUMP_TO_GRADIENT] = act_jump_gradient,
    [ACTION_STEP_PHASE] = act_step,
    [ACTION_RUN_TO_PROPOSAL] = act_run_proposal,
    [ACTION_RUN_CONTINUOUS] = act_run,
    [ACTION_PAUSE] = act_pause,
    [ACTION_ACCEPT] = act_decision,
    [ACTION_REJECT] = act_decision,
    [ACTION_EDIT] = act_decision,
};

/* Actions the shell keeps even when a view would take them (undo is global, as are quitting,
 * focus and the engine's stepping). */
static bool shell_first(enum action act)
{
	return act == ACTION_UNDO || act == ACTION_QUIT || act == ACTION_HELP ||
	       act == ACTION_INTERRUPT || act == ACTION_SUSPEND || act == ACTION_COMMAND_LINE ||
	       (act >= ACTION_FOCUS_NEXT && act <= ACTION_FOCUS_6) ||
	       (act >= ACTION_STEP_PHASE && act <= ACTION_PAUSE);
}

/* A key that answers nothing does nothing but say so, once, before the question: "answer first:
 * y or n" (or "y, n or c"). */
static void ask_insist(struct app *a)
{
	static const char lead[] = "answer first: ";
	if (strncmp(a->ask, lead, sizeof lead - 1) == 0)
		return;
	struct sbuf b = {0};
	sbuf_adds(&b, lead);
	for (const char *c = a->ask_choices; *c; c++)
		sbuf_addf(&b, "%s%c", c == a->ask_choices ? "" : c[1] ? ", " : " or ", *c);
	sbuf_addf(&b, "; %s", a->ask);
	snprintf(a->ask, sizeof a->ask, "%s", sbuf_str(&b));
	sbuf_free(&b);
	a->need_draw = true;
}

static void key_ask(struct app *a, int key)
{
	int k = key >= 'A' && key <= 'Z' ? key + 32 : key;
	if (key == KEYS_ESC || key == KEYS_CTRL('c') || key == KEYS_CTRL('g'))
		k = 0;
	else if (k <= 0 || k > 127 || !strchr(a->ask_choices, k)) {
		ask_insist(a);
		return;
	}
	ask_fn *cb = a->ask_cb;
	a->mode = INPUT_NORMAL;
	a->ask_cb = NULL;
	a->ask[0] = 0;
	a->need_draw = true;
	if (cb)
		cb(a, k);
}

static void key_command(struct app *a, int key)
{
	enum cmdline_result r = cmdline_key(&a->cl, key);
	a->need_draw = true;
	if (r == CMDLINE_EDITING)
		return;
	a->mode = INPUT_NORMAL;
	if (r == CMDLINE_DONE) {
		char *line = xstrdup(cmdline_text(&a->cl));
		commands_run(a, line);
		free(line);
	}
}

static void key_search(struct app *a, int key)
{
	enum cmdline_result r = cmdline_key(&a->search_cl, key);
	a->need_draw = true;
	if (r == CMDLINE_EDITING)
		return;
	a->mode = INPUT_NORMAL;
	if (r == CMDLINE_DONE && cmdline_text(&a->search_cl)[0]) {
		snprintf(a->search, sizeof a->search, "%s", cmdline_text(&a->search_cl));
		search(a, 1);
	}
}

void input_key(struct app *a, int key)
{
	if (a->mode == INPUT_ASK) {
		key_ask(a, key);
		return;
	}
	if (a->mode == INPUT_COMMAND) {
		key_command(a, key);
		return;
	}
	if (a->mode == INPUT_SEARCH) {
		key_search(a, key);
		return;
	}
	/* a key typed right after a focus change (say "5a") goes to a pane that has its window */
	if (a->need_layout)
		layout_apply(a);
	struct view *v = focused(a);
	enum action act = keymap_lookup(&a->km, v->ops ? v->ops->name : "", key);
	if (act == ACTION_NONE) {
		char name[32];
		keys_name(key, name, sizeof name);
		tui_message(&a->t, "%s is not bound (? lists the keys)", name);
		return;
	}
	a->need_draw = true;
	bool shell =
	    shell_first(act) && global_actions[act] && !(a->help_open && act == ACTION_QUIT);
	if (!shell && v->ops && v->ops->key && v->win && v->ops->key(v, act))
		return;
	if (global_actions[act])
		global_actions[act](a);
}

void input_key_action(struct app *a, enum action act)
{
	if (global_actions[act])
		global_actions[act](a);
}

void input_mouse(struct app *a)
{
	MEVENT me;
	if (getmouse(&me) != OK || a->mode != INPUT_NORMAL)
		return;
	int line, view = layout_view_at(a, me.y, me.x, &line);
	if (view < 0)
		return;
	if (view != a->t.focus)
		app_focus(a, view);
	struct view *v = &a->views[view];
	if (!v->ops || !v->ops->key || line < 0)
		return;
	if (me.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		enum action act = me.bstate & BUTTON4_PRESSED ? ACTION_MOVE_UP : ACTION_MOVE_DOWN;
		for (int i = 0; i < 3; i++)
			v->ops->key(v, act);
	} else if (view == VIEW_GRAPH) {
		view_graph_click(v, line, me.x - a->frame[view].x - 1);
	} else if (line < v->h) {
		v->sel = v->top + line;
	}
	a->need_draw = true;
}

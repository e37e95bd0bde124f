/* tui.c: the workbench's life: opening the session, the LLM layer and the engine; setting up
 * curses (UTF-8, raw keys, theme colours or monochrome, mouse); the one event loop, which waits
 * in llm_wait() on the network, the terminal and a signal self-pipe together and redraws only what
 * changed (idle = no wake-ups at all); engine events; saving and autosaving; questions in the
 * message line (a key bound for a host the session chose is one: asked once per variable and
 * host, the requests concerned waiting for the answer); the screen-test driver
 * (ADOPT_TEST_SCREEN / ADOPT_TEST_SCRIPT); and restoring the terminal on every way out (quit,
 * SIGINT/SIGTERM/SIGHUP, a fatal signal); a redraw after SIGCONT (C-z is the suspend key, see
 * input.c). */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/termsafe.h"
#include "core/util.h"
#include "llm/beside.h"
#include "tui/display.h"
#include "tui/glyphs.h"
#include "tui/tui.h"
#include "tui/tui_int.h"

#define TICK_MS       100   /* spinner and progress while the engine works */
#define WAIT_IDLE_MAX 60000 /* a test's wait-idle gives up after this long */

static const struct view_ops *const view_table[VIEW_COUNT] = {
    [VIEW_GRAPH] = &view_graph_ops,         [VIEW_TRACES] = &view_traces_ops,
    [VIEW_GRADIENTS] = &view_gradients_ops, [VIEW_SHAPLEY] = &view_shapley_ops,
    [VIEW_PROPOSALS] = &view_proposals_ops, [VIEW_HISTORY] = &view_history_ops,
    [VIEW_HELP] = &view_help_ops,           [VIEW_PROMPT] = &view_prompt_ops,
    [VIEW_COMPARE] = &view_compare_ops,     [VIEW_CANDIDATES] = &view_candidates_ops,
    [VIEW_EVIDENCE] = &view_evidence_ops,
};

/* ---- signals ---- */

static volatile sig_atomic_t got_quit_signal, got_winch;
static int sig_write_fd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGWINCH || sig == SIGCONT) /* resized, or continued after a stop: redraw */
		got_winch = 1;
	else
		got_quit_signal = sig;
	if (sig_write_fd >= 0 && write(sig_write_fd, "", 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = saved;
}

static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGCONT};

#ifndef __SANITIZE_ADDRESS__ /* ASan reports crashes itself */
/* A crash must not leave the terminal raw: restore it, then die of the same signal. */
static void on_fatal(int sig)
{
	endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#endif

static void signals_install(struct app *a, bool on)
{
	struct sigaction sa = {.sa_handler = on ? on_signal : SIG_DFL};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaction(quit_signals[i], &sa, NULL);
#ifndef __SANITIZE_ADDRESS__
	struct sigaction fa = {.sa_handler = on ? on_fatal : SIG_DFL, .sa_flags = SA_RESETHAND};
	sigemptyset(&fa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &fa, NULL);
#endif
	sig_write_fd = on ? a->sig_pipe[1] : -1;
}

/* ---- saving ---- */

static void on_overwrite_answer(struct app *a, int answer)
{
	if (answer != 'y') {
		tui_message(&a->t,
		            "not saved: %s keeps the other program's version; :saveas FILE "
		            "keeps yours elsewhere",
		            a->t.session_path);
		return;
	}
	session_overwrite_once(a->t.s);
	if (app_save(a, a->t.session_path) == 0)
		tui_message(&a->t, "saved %s over the version changed on disk", a->t.session_path);
}

/* --read-only: the file it was opened from is never written (a :saveas copy is). */
bool app_read_only(const struct app *a)
{
	return a->o->read_only && !a->path;
}

/* May a save to path go ahead?  Says why not (read-only, or asks about a change on disk). */
static bool save_allowed(struct app *a, const char *path)
{
	if (app_read_only(a) && strcmp(path, a->o->session) == 0) {
		tui_message(&a->t,
		            "read-only (--read-only): %s is not saved; :saveas FILE saves a "
		            "copy",
		            path);
		return false;
	}
	if (!a->t.s->overwrite_once && session_disk_changed(a->t.s, path)) {
		app_ask(a, on_overwrite_answer, "yn",
		        "%s changed on disk since it was read (another program saved it): "
		        "overwrite it? [y/n]",
		        path);
		return false;
	}
	return true;
}

int app_save(struct app *a, const char *path)
{
	struct err e = {{0}};
	app_save_collect(a, true);
	if (!save_allowed(a, path))
		return -1;
	engine_store(a->t.en);
	if (session_save(a->t.s, path, &e) < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		return -1;
	}
	a->t.dirty = false;
	a->need_draw = true;
	return 0;
}

/* In the writer: the engine's record into the session's tree (engine_store builds it whole,
 * tens of ms with a few iterations of traces: off the loop there). */
static void store_engine(void *en)
{
	engine_store(en);
}

int app_save_start(struct app *a, bool announce)
{
	const char *path = a->t.session_path;
	if (a->save_mode == SAVE_ON_LOOP) {
		if (app_save(a, path) < 0)
			return -1;
		if (announce)
			tui_message(&a->t, "saved %s", path);
		return 0;
	}
	if (session_save_fd(a->t.s) >= 0) { /* the newer state follows the one being written */
		a->save_again = true;
		a->save_announce |= announce;
		return 0;
	}
	struct err e = {{0}};
	if (!save_allowed(a, path))
		return -1;
	a->forks++;
	if (session_save_start(a->t.s, path, store_engine, a->t.en, &e) < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		return -1;
	}
	a->t.dirty = false;
	a->save_announce |= announce;
	if (a->save_mode == SAVE_AT_ONCE)
		app_save_collect(a, true);
	return 0;
}

/* Whether the loop has forked in this turn (a copy beside it, a save): a background save then
 * waits for the next turn, so that a turn holds one fork at the most that the shell decides. */
static bool forked_this_turn(const struct app *a)
{
	return a->save_mode == SAVE_BACKGROUND && a->forks + llm_beside_forks() != a->turn_forks;
}

void app_save_collect(struct app *a, bool wait)
{
	struct err e = {{0}};
	int rc = session_save_finish(a->t.s, wait, &e);
	if (rc > 0)
		return;
	if (rc < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		a->t.dirty = true;
		a->save_announce = false;
	} else if (a->save_announce && !a->save_again) {
		tui_message(&a->t, "saved %s", a->t.session_path);
		a->save_announce = false;
	}
	a->need_draw = true;
	if (a->save_again && !wait && forked_this_turn(a)) {
		a->save_again = false;      /* now the pending autosave: written once, not twice */
		a->autosave_pending = true; /* the next turn starts it (app_pump) */
	} else if (a->save_again) {
		a->save_again = false;
		if (app_save_start(a, false) == 0 && wait)
			app_save_collect(a, true);
	}
}

static void on_quit_answer(struct app *a, int answer)
{
	if (answer == 'y' && app_save(a, a->t.session_path) == 0)
		a->quit = true;
	else if (answer == 'n')
		a->quit = true;
	else if (answer != 'y')
		tui_message(&a->t, "quit cancelled");
}

void app_quit(struct app *a, bool force)
{
	app_save_collect(a, true); /* a failed one leaves the session dirty: the question comes */
	if (force || !a->t.dirty || app_read_only(a))
		a->quit = true;
	else
		app_ask(a, on_quit_answer, "ync", "save before quitting? [y/n/c]");
}

void app_ask(struct app *a, ask_fn *cb, const char *choices, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->ask, sizeof a->ask, fmt, ap);
	va_end(ap);
	a->ask_cb = cb;
	a->ask_choices = choices;
	a->mode = INPUT_ASK;
	a->need_draw = true;
}

/* ---- where keys may go (llm_set_key_asker) ---- */

static void ask_key_question(struct app *a);

static void on_key_answer(struct app *a, int answer)
{
	struct key_question q = a->key_questions[0];
	memmove(a->key_questions, a->key_questions + 1,
	        --a->n_key_questions * sizeof *a->key_questions);
	llm_key_answer(a->t.llm, q.var, q.origin, answer == 'y'); /* refused: the traces say */
	free(q.var);
	free(q.origin);
	ask_key_question(a);
}

/* Asks the first waiting question when no other input is open. */
static void ask_key_question(struct app *a)
{
	if (!a->n_key_questions || a->mode != INPUT_NORMAL)
		return;
	const struct key_question *q = &a->key_questions[0];
	app_ask(a, on_key_answer, "yn", "the session sends the API key in %s to %s: allow? [y/n]",
	        q->var, q->origin);
}

static void on_key_question(void *arg, const char *var, const char *origin)
{
	struct app *a = arg;
	a->key_questions = xgrow(a->key_questions, &a->cap_key_questions, a->n_key_questions + 1,
	                         sizeof *a->key_questions);
	a->key_questions[a->n_key_questions++] =
	    (struct key_question){xstrdup(var), xstrdup(origin)};
	ask_key_question(a);
}

/* ---- settings that touch curses ---- */

void app_set_mouse(struct app *a, bool on)
{
	a->mouse_on = on;
	a->cfg.mouse = on;
	if (on)
		mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED,
		          NULL);
	else
		mousemask(0, NULL);
}

static enum theme_depth depth_for(const struct tui_config *c)
{
	static const enum theme_depth forced[] = {
	    [CONFIG_COLOURS_TRUECOLOR] = THEME_TRUECOLOR,
	    [CONFIG_COLOURS_256] = THEME_256,
	    [CONFIG_COLOURS_16] = THEME_16,
	    [CONFIG_COLOURS_8] = THEME_8,
	    [CONFIG_COLOURS_MONO] = THEME_MONO,
	};
	enum theme_depth auto_depth = theme_detect_depth();
	if (c->colours == CONFIG_COLOURS_AUTO || auto_depth == THEME_MONO)
		return auto_depth; /* NO_COLOR and TERM=dumb always win */
	return forced[c->colours];
}

int app_set_theme(struct app *a, const char *name, struct err *e)
{
	struct theme t;
	struct sbuf errors = {0};
	if (theme_load(&t, theme_name_for(name, a->depth), &errors, e) < 0) {
		sbuf_free(&errors);
		return -1;
	}
	a->theme = t;
	snprintf(a->cfg.theme, sizeof a->cfg.theme, "%s", name);
	theme_apply(&a->theme, a->depth);
	if (errors.len)
		tui_message(&a->t, "error: theme %s: %s", name, sbuf_str(&errors));
	sbuf_free(&errors);
	a->need_draw = true;
	return 0;
}

/* ---- engine events ---- */

/* What each event does to the shell (the views get every event too). */
static const struct {
	bool autosave, dirty;
	const char *message; /* format for ev->message, NULL: none */
} event_table[] = {
    [EV_PHASE_STARTED] = {false, false, NULL},    [EV_PHASE_FINISHED] = {true, false, "%s"},
    [EV_REQUEST_SENT] = {false, false, NULL},     [EV_TEXT] = {false, false, NULL},
    [EV_STEP_TRACE] = {false, false, NULL},       [EV_GRADIENT_READY] = {false, false, NULL},
    [EV_CANDIDATES_READY] = {false, false, NULL}, [EV_EVAL_DONE] = {false, false, NULL},
    [EV_SHAPLEY_READY] = {false, false, NULL},    [EV_PROPOSAL_READY] = {false, false, NULL},
    [EV_DECISION] = {true, true, NULL},           [EV_ERROR] = {false, false, "error: %s"},
    [EV_PAUSED] = {false, false, "%s"},           [EV_COST] = {false, false, NULL},
    [EV_ITERATION_DONE] = {true, false, NULL},
};

void app_on_event(void *arg, const struct engine_event *ev)
{
	struct app *a = arg;
	for (int i = 0; i < VIEW_COUNT; i++)
		if (a->views[i].ops && a->views[i].ops->event)
			a->views[i].ops->event(&a->views[i], ev);
	if ((size_t)ev->kind < ARRAY_SIZE(event_table)) {
		a->autosave_pending |= event_table[ev->kind].autosave;
		a->t.dirty |= event_table[ev->kind].dirty;
		if (event_table[ev->kind].message && ev->message)
			tui_message(&a->t, event_table[ev->kind].message, ev->message);
	}
	if (ev->kind == EV_ITERATION_DONE) {
		const struct iteration *it = engine_current(a->t.en);
		char kept[16] = "-"; /* what the decisions kept, as measured */
		if (it && it->kept_score >= 0)
			snprintf(kept, sizeof kept, "%.3f", it->kept_score);
		char hint[160];
		if (it && *tui_measure_hint(&a->t, hint, sizeof hint))
			tui_message(&a->t, "iteration %d done; %s", it->number, hint);
		else if (it)
			tui_message(&a->t, "iteration %d done: train %.3f, validation %.3f -> %s",
			            it->number, it->train_score, it->base_score, kept);
	}
	a->need_draw = true;
}

void app_pump(struct app *a)
{
	for (int i = 0; i < 1000 && engine_poll(a->t.en); i++)
		;
	ask_key_question(a); /* one raised while another input was open */
	if (a->autosave_pending && app_read_only(a))
		a->autosave_pending = false;
	if (a->autosave_pending && a->mode != INPUT_ASK && !forked_this_turn(a)) {
		/* not while a question waits for its answer; one fork a turn */
		a->autosave_pending = false;
		bool was_dirty = a->t.dirty;
		char keep[sizeof a->t.message];
		memcpy(keep, a->t.message, sizeof keep);
		if (app_save_start(a, false) == 0)
			memcpy(a->t.message, keep, sizeof keep); /* autosave is silent */
		else
			a->t.dirty = was_dirty;
	}
}

/* ---- the loop ---- */

static void handle_winch(struct app *a)
{
	got_winch = 0;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
	a->need_layout = true;
}

static void drain_pipe(struct app *a)
{
	char buf[64];
	while (read(a->sig_pipe[0], buf, sizeof buf) > 0)
		;
}

static void read_keys(struct app *a)
{
	wint_t wch;
	int ret;
	while (!a->quit && (ret = get_wch(&wch)) != ERR) {
		int key = keys_from_curses(ret, wch);
		if (key == KEYS_FN(KEY_RESIZE))
			a->need_layout = true;
		else if (key == KEYS_FN(KEY_MOUSE))
			input_mouse(a);
		else if (key >= 0)
			input_key(a, key);
		a->draw_now = true; /* a person is waiting: no frame pacing */
		app_pump(a);
	}
}

static bool engine_active(const struct app *a)
{
	return engine_busy(a->t.en) || engine_running(a->t.en) || llm_pending(a->t.llm) > 0;
}

#define FRAME_MS 16 /* at most ~60 redraws a second for engine events */

void app_loop_turn(struct app *a, int in_fd, int max_wait_ms)
{
	/* Engine events (streamed text) may arrive hundreds of times a second: they are drawn at
	 * most once a frame; keys and resizes are drawn at once. */
	int64_t now = now_ms();
	a->turn_forks = a->forks + llm_beside_forks();
	bool save_waits = a->autosave_pending && a->mode != INPUT_ASK;
	int timeout = engine_active(a) || save_waits ? TICK_MS : -1;
	if (a->need_layout || a->need_draw) {
		if (a->need_layout || a->draw_now || now - a->last_draw >= FRAME_MS) {
			app_draw(a);
			a->last_draw = now;
			a->draw_now = false;
		} else {
			timeout = (int)(FRAME_MS - (now - a->last_draw));
		}
	}
	if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
		timeout = max_wait_ms;
	bool active = engine_active(a);
	struct pollfd fds[3] = {
	    {in_fd, POLLIN, 0}, {a->sig_pipe[0], POLLIN, 0}, {session_save_fd(a->t.s), POLLIN, 0}};
	if (llm_wait(a->t.llm, fds, 3, timeout) < 0) {
		tui_message(&a->t, "error: waiting for the network failed");
		poll(NULL, 0, TICK_MS); /* never spin */
	}
	if (fds[2].revents)
		app_save_collect(a, false);
	app_pump(a);
	if (fds[1].revents)
		drain_pipe(a);
	if (got_winch)
		handle_winch(a);
	if (in_fd >= 0)
		read_keys(a);
	if (active && now_ms() - a->last_tick >= TICK_MS) {
		a->last_tick = now_ms();
		a->spin++;
		a->need_draw = true;
	}
}

static void loop(struct app *a)
{
	a->last_tick = now_ms();
	while (!a->quit && !got_quit_signal)
		app_loop_turn(a, STDIN_FILENO, -1);
}

int app_next_key(struct app *a)
{
	if (a->test) {
		struct test_item it;
		struct err e;
		if (!a->script || test_script_next(a->script, &it, &e) < 0 || it.kind != TEST_KEY)
			return -1;
		return it.key;
	}
	while (!got_quit_signal) {
		wint_t wch;
		/* get_wch refreshes stdscr first when it was touched, as a resize touches it: that
		 * painted the workbench beneath over the built-in editor, which was then seen at
		 * its old size until the next key */
		untouchwin(stdscr);
		int ret = get_wch(&wch);
		if (ret != ERR) {
			int key = keys_from_curses(ret, wch);
			if (key != KEYS_FN(KEY_MOUSE))
				return key;
			continue;
		}
		struct pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0},
		                        {a->sig_pipe[0], POLLIN, 0},
		                        {session_save_fd(a->t.s), POLLIN, 0}};
		if (llm_wait(a->t.llm, fds, 3, engine_active(a) ? TICK_MS : -1) < 0)
			poll(NULL, 0, TICK_MS);
		if (fds[2].revents)
			app_save_collect(a, false);
		app_pump(a);
		if (fds[1].revents)
			drain_pipe(a);
		if (got_winch) {
			handle_winch(a);
			return KEYS_FN(KEY_RESIZE);
		}
	}
	return -1;
}

void app_apply_config(struct app *a)
{
	glyphs_select(a->cfg.glyphs == CONFIG_GLYPHS_AUTO    ? NULL
	              : a->cfg.glyphs == CONFIG_GLYPHS_ASCII ? &glyphs_ascii
	                                                     : &glyphs_utf8);
	enum theme_depth d = depth_for(&a->cfg);
	struct err e = {{0}};
	if (d != a->depth) {
		a->depth = d;
		if (app_set_theme(a, a->cfg.theme, &e) < 0)
			tui_message(&a->t, "error: %s", e.msg);
	}
	if (a->cfg.mouse != a->mouse_on && !a->test)
		app_set_mouse(a, a->cfg.mouse);
	a->need_layout = true;
}

/* ---- screen tests ---- */

static void wait_idle(struct app *a)
{
	int64_t end = now_ms() + WAIT_IDLE_MAX;
	app_pump(a);
	while (engine_active(a) && a->mode != INPUT_ASK && now_ms() < end) {
		llm_wait(a->t.llm, NULL, 0, 50);
		app_pump(a);
	}
}

/* Runs the script; returns 0, or 1 after a bad script line (message in e). */
static int test_loop(struct app *a, const char *script_path, struct err *e)
{
	struct test_script *ts = script_path ? test_script_open(script_path, e) : NULL;
	if (script_path && !ts)
		return 1;
	a->script = ts;
	int rc = 0;
	app_draw(a);
	while (ts && !a->quit) {
		struct test_item it;
		if (test_script_next(ts, &it, e) < 0) {
			rc = 1;
			break;
		}
		if (it.kind == TEST_END)
			break;
		if (it.kind == TEST_KEY)
			input_key(a, it.key);
		else if (it.kind == TEST_COMMAND)
			commands_run(a, it.command);
		else if (it.kind == TEST_WAIT_IDLE)
			wait_idle(a);
		else if (it.kind == TEST_RESIZE) {
			test_screen_resize(it.w, it.h);
			a->need_layout = true;
		}
		app_pump(a);
		if (a->need_layout || a->need_draw)
			app_draw(a);
	}
	test_script_close(ts);
	a->script = NULL;
	return rc;
}

/* ---- start and end ---- */

static int screen_open(struct app *a, SCREEN **scr, struct err *e)
{
	int w, h, t = display_test_size(&w, &h, e);
	if (t < 0)
		return -1;
	if (t > 0) {
		a->test = a->t.deterministic = true;
		a->save_mode = SAVE_AT_ONCE;
		return test_screen_open(w, h, e);
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return err_set(e, "the workbench needs a terminal; use --run or --eval headless");
	*scr = newterm(NULL, stdout, stdin);
	if (!*scr)
		return err_set(e, "cannot use terminal type \"%s\"",
		               getenv("TERM") ? getenv("TERM") : "(unset)");
	set_term(*scr);
	if (display_check_terminal(e) < 0) {
		endwin();
		delscreen(*scr);
		*scr = NULL;
		return -2;
	}
	if (has_colors()) {
		start_color();
		use_default_colors(); /* pair 0 is the terminal's own colours, also in monochrome */
	}
	return 0;
}

/* Home and End as the terminals that are not the one TERM names send them: tmux and screen send
 * ESC [1~ and ESC [4~ whatever TERM the pane has, rxvt ESC [7~ / [8~, xterm ESC OH / ESC [H.  Only
 * sequences the terminfo entry leaves free are taught. */
static const struct {
	const char *seq;
	int key;
} home_end_keys[] = {
    {"\033[1~", KEY_HOME}, {"\033[7~", KEY_HOME}, {"\033OH", KEY_HOME}, {"\033[H", KEY_HOME},
    {"\033[4~", KEY_END},  {"\033[8~", KEY_END},  {"\033OF", KEY_END},  {"\033[F", KEY_END},
};

static void define_home_end(void)
{
	for (size_t i = 0; i < sizeof home_end_keys / sizeof home_end_keys[0]; i++)
		if (key_defined(home_end_keys[i].seq) == 0)
			define_key(home_end_keys[i].seq, home_end_keys[i].key);
}

static void curses_setup(struct app *a)
{
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	define_home_end();
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (a->cfg.glyphs != CONFIG_GLYPHS_AUTO)
		glyphs_select(a->cfg.glyphs == CONFIG_GLYPHS_ASCII ? &glyphs_ascii : &glyphs_utf8);
	a->depth = depth_for(&a->cfg);
	struct err e = {{0}};
	if (app_set_theme(a, a->cfg.theme, &e) < 0) {
		tui_message(&a->t, "error: %s; using the default theme", e.msg);
		theme_default(&a->theme);
		theme_apply(&a->theme, a->depth);
	}
	app_set_mouse(a, a->cfg.mouse && !a->test);
}

static void on_resume_answer(struct app *a, int answer)
{
	if (answer != 'y') {
		tui_message(&a->t, "not resumed: s steps a phase, r runs to the proposal");
		return;
	}
	if (engine_resume(a->t.en) < 0)
		tui_message(&a->t, "error: cannot resume: %s",
		            engine_pause_reason(a->t.en) ? engine_pause_reason(a->t.en) : "busy");
	else
		tui_message(&a->t, "resuming: finished phases are answered from the cache");
}

/* A session saved mid-iteration reopens with that iteration as it stood (engine_store.c): said
 * on the message line.  Only an older file, which kept no record of it, is replayed from the
 * response cache, when the user says so. */
static void offer_resume(struct app *a)
{
	const cJSON *st = session_section(a->t.s, "state");
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(st, "phase");
	const struct iteration *it = engine_current(a->t.en);
	struct llm_stats paid; /* a run killed after its last save: what it billed since */
	engine_reopen_journaled(a->t.en, &paid);
	char billed[160] = ""; /* said with whatever else the reopening says */
	if (paid.done)
		snprintf(
		    billed, sizeof billed,
		    "%ld call(s), $%.4f, billed after the last save are counted (spend journal); "
		    "their answers are cached: nothing is paid twice",
		    paid.done, paid.cost_usd);
	if (billed[0])
		tui_message(&a->t, "%s", billed);
	if (!cJSON_IsString(ph) || strcmp(ph->valuestring, phase_name(PHASE_FORWARD)) == 0)
		return;
	if (!it || it->phase >= PHASE_COUNT) { /* not resumed: the note says why */
		const char *why = engine_reopen_note(a->t.en);
		tui_message(&a->t, "reopened: %s%s%s",
		            why ? why
		                : "the unfinished iteration cannot be resumed; r runs it afresh",
		            billed[0] ? "; " : "", billed);
		return;
	}
	if (strcmp(ph->valuestring, phase_name(it->phase)) == 0) {
		size_t decided = 0;
		for (size_t c = 0; c < it->n_changes; c++)
			decided += it->changes[c].decision != DECISION_NONE;
		if (it->phase == PHASE_DECISION)
			tui_message(&a->t,
			            "iteration %d reopened at its proposal, %zu of %zu decided; "
			            "nothing was sent again%s%s",
			            it->number, decided, it->n_changes, billed[0] ? "; " : "",
			            billed);
		else if (paid.done)
			tui_message(
			    &a->t,
			    "iteration %d reopened as it was saved (next: %s); %ld call(s), "
			    "$%.4f, billed after that save are counted and their answers "
			    "cached: continuing pays for none of them again; %s",
			    it->number, phase_name(it->phase), paid.done, paid.cost_usd,
			    ENGINE_MEMO_NOT_SAVED);
		else
			tui_message(&a->t,
			            "iteration %d reopened as it was saved (next: %s); nothing was "
			            "sent again; %s",
			            it->number, phase_name(it->phase), ENGINE_MEMO_NOT_SAVED);
		return;
	}
	app_ask(a, on_resume_answer, "yn", "resume iteration %d from phase %s? [y/n]", it->number,
	        ph->valuestring);
}

static void app_init(struct app *a, const struct front_opts *o)
{
	a->o = o;
	a->t.s = a->env.s;
	a->t.llm = a->env.llm;
	a->t.session_path = o->session;
	a->t.step = a->env.s->n_steps ? 0 : -1;
	a->t.example = -1;
	a->t.evidence = -1;
	a->t.scripted = a->env.scripted;
	a->t.offline = o->offline;
	a->t.views = a->views;
	a->t.n_views = VIEW_COUNT;
	a->sig_pipe[0] = a->sig_pipe[1] = -1;
	keymap_init(&a->km);
	struct err e = {{0}};
	keymap_load_defaults(&a->km, &e);
	tui_config_init(&a->cfg);
	size_t ncmds;
	const struct cmd_spec *cmds = tui_commands(&ncmds);
	cmdline_init(&a->cl, cmds, ncmds, a);
	cmdline_init(&a->search_cl, NULL, 0, a);
}

/* Before the screen closes: the views and their windows. */
static void views_close(struct app *a)
{
	for (int i = 0; i < VIEW_COUNT; i++) {
		struct view *v = &a->views[i];
		if (v->ops && v->ops->done)
			v->ops->done(v);
		if (v->win)
			delwin(v->win);
		v->win = NULL;
		v->ops = NULL;
	}
}

static void app_free(struct app *a)
{
	tui_beside_cancel_all(&a->t); /* before the LLM layer goes */
	if (a->t.en)
		engine_free(a->t.en);
	front_close(&a->env);
	keymap_free(&a->km);
	cmdline_free(&a->cl);
	cmdline_free(&a->search_cl);
	for (int i = 0; i < 2; i++)
		if (a->sig_pipe[i] >= 0)
			close(a->sig_pipe[i]);
	for (size_t i = 0; i < a->n_key_questions; i++) {
		free(a->key_questions[i].var);
		free(a->key_questions[i].origin);
	}
	free(a->key_questions);
	free(a->path);
}

struct app *app_open(const struct front_opts *o, int *rc)
{
	setlocale(LC_ALL, "");
	struct app *a = xcalloc(1, sizeof *a);
	*rc = front_open(o, &a->env);
	if (*rc) {
		front_close(&a->env);
		free(a);
		return NULL;
	}
	app_init(a, o);
	llm_set_key_asker(a->t.llm, on_key_question, a);
	struct sbuf cfg_errors = {0};
	if (!getenv("ADOPT_TEST_SCREEN"))
		tui_config_load_user(&a->cfg, &a->km, &cfg_errors);
	struct err e = {{0}};
	/* the test screen projects at once (deterministic frames); the workbench beside the loop */
	struct engine_opts eo = {.trust = o->trust, .project_beside = !getenv("ADOPT_TEST_SCREEN")};
	a->t.en = engine_new(a->t.s, a->t.llm, &eo, app_on_event, a, &e);
	int screen = 0;
	if (!a->t.en || pipe(a->sig_pipe) < 0 || (screen = screen_open(a, &a->screen, &e)) < 0) {
		term_printf(stderr, "adopt-tui: %s\n",
		            a->sig_pipe[0] < 0 && a->t.en ? strerror(errno) : e.msg);
		app_free(a);
		free(a);
		sbuf_free(&cfg_errors);
		*rc = screen == -2 ? 2 : 1; /* a terminal that cannot show it: a usage error */
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		fcntl(a->sig_pipe[i], F_SETFL, O_NONBLOCK);
	curses_setup(a);
	long skipped;
	const char *bad_cache = llm_cache_problem(a->t.llm, &skipped);
	if (cfg_errors.len)
		tui_message(&a->t, "error: config: %s", sbuf_str(&cfg_errors));
	else if (bad_cache)
		tui_message(&a->t, "warning: %s (%ld line(s) skipped in all)", bad_cache, skipped);
	else if (engine_reopen_note(a->t.en))
		tui_message(&a->t, "reopened: %s", engine_reopen_note(a->t.en));
	else if (a->t.s->warnings.n) /* what --check warns about, e.g. a small eval_budget */
		tui_message(&a->t, "warning: %s", a->t.s->warnings.msgs[a->t.s->warnings.n - 1]);
	else if (engine_nothing_to_optimize(a->t.en))
		tui_message(&a->t, "%s: %s", a->t.s->name, engine_nothing_to_optimize(a->t.en));
	else if (!a->t.message[0])
		tui_message(&a->t,
		            "%s: %zu steps; ? help, s step a phase, r run to the proposal, "
		            ": commands",
		            a->t.s->name, a->t.s->n_steps);
	sbuf_free(&cfg_errors);
	for (int i = 0; i < VIEW_COUNT; i++) {
		a->views[i] = (struct view){.ops = view_table[i], .tui = &a->t};
		if (a->views[i].ops->open)
			a->views[i].ops->open(&a->views[i]);
	}
	a->t.focus = VIEW_GRAPH;
	a->views[VIEW_GRAPH].focused = true;
	a->need_layout = true;
	offer_resume(a);
	return a;
}

/* The views, their windows and the screen (the app stays). */
static void screen_close(struct app *a)
{
	views_close(a);
	if (a->test)
		test_screen_close();
	else {
		endwin();
		delscreen(a->screen);
	}
}

void app_close(struct app *a)
{
	app_save_collect(a, true);
	screen_close(a);
	app_free(a);
	free(a);
}

int tui_main(const struct front_opts *o)
{
	int rc;
	struct app *a = app_open(o, &rc);
	if (!a)
		return rc;
	struct err e = {{0}};
	signals_install(a, true);
	if (a->test) {
		rc = test_loop(a, getenv("ADOPT_TEST_SCRIPT"), &e);
	} else {
		layout_apply(a);
		loop(a);
	}
	bool saved = false;
	app_save_collect(a, true); /* the last one lands before the lock goes */
	if (got_quit_signal) {
		engine_cancel(a->t.en);
		saved = app_save(a, a->t.session_path) == 0; /* the autosave: reopening resumes */
	}
	screen_close(a);
	signals_install(a, false);
	if (rc)
		term_printf(stderr, "adopt-tui: %s\n", e.msg);
	if (got_quit_signal) {
		term_printf(stderr, "adopt-tui: %s: %s %s\n", strsignal(got_quit_signal),
		            saved ? "saved" : "could not save", a->t.session_path);
		rc = 128 + got_quit_signal;
	}
	app_free(a);
	free(a);
	return rc;
}

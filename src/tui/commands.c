/* commands.c: the ':' commands, one table row each (name, arguments, help, completion, argument
 * count, handler), in the style of tmux's cmd_entry.  The same table feeds the command line's
 * completion and the help screen, so neither can drift from what the commands do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lock.h"
#include "core/util.h"
#include "export.h"
#include "report.h"
#include "tui/display.h"
#include "tui/tui_int.h"

typedef void cmd_fn(struct app *a, int argc, char **argv);

static void complete_theme(void *ud, const char *cmd, int argi, const char *prefix,
                           struct cmdline_cands *out)
{
	(void)ud, (void)cmd, (void)prefix;
	if (argi == 1)
		theme_list(out);
}

static void complete_view(void *ud, const char *cmd, int argi, const char *prefix,
                          struct cmdline_cands *out)
{
	(void)cmd, (void)prefix;
	struct app *a = ud;
	for (int i = 0; argi == 1 && i < VIEW_COUNT; i++)
		if (a->views[i].ops)
			cmdline_cands_add(out, a->views[i].ops->name);
}

static void complete_cost(void *ud, const char *cmd, int argi, const char *prefix,
                          struct cmdline_cands *out)
{
	(void)ud, (void)cmd, (void)prefix;
	if (argi == 1)
		cmdline_cands_add(out, "replicas");
}

static void complete_step(void *ud, const char *cmd, int argi, const char *prefix,
                          struct cmdline_cands *out)
{
	(void)cmd, (void)prefix;
	struct app *a = ud;
	for (size_t i = 0; argi == 1 && i < a->t.s->n_steps; i++)
		if (a->t.s->steps[i].kind == STEP_LLM)
			cmdline_cands_add(out, a->t.s->steps[i].id);
}

static void complete_set(void *ud, const char *cmd, int argi, const char *prefix,
                         struct cmdline_cands *out)
{
	(void)cmd, (void)prefix;
	struct app *a = ud;
	/* the option is the word after "set" */
	const char *p = a->cl.s + strspn(a->cl.s, " ");
	p += strcspn(p, " ");
	p += strspn(p, " ");
	char opt[32];
	snprintf(opt, sizeof opt, "%.*s", (int)strcspn(p, " "), p);
	if (argi == 1) {
		cmdline_cands_add(out, "concurrency");
		cmdline_cands_add(out, "cost_cap");
		cmdline_cands_add(out, "token_cap");
	}
	if (argi == 2 && strcmp(opt, "theme") == 0)
		theme_list(out);
	else
		tui_config_complete(opt, argi, out);
}

static int step_arg(struct app *a, const char *id)
{
	int i = session_step_index(a->t.s, id);
	if (i < 0)
		tui_message(&a->t, "error: no step \"%s\"", id);
	return i;
}

static bool number_arg(struct app *a, const char *s, long lo, long hi, long *out)
{
	if (parse_long(s, out) == 0 && *out >= lo && *out <= hi)
		return true;
	tui_message(&a->t, "error: \"%s\" is not a number from %ld to %ld", s, lo, hi);
	return false;
}

static void cmd_step(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	input_key_action(a, ACTION_STEP_PHASE);
}

static void cmd_run(struct app *a, int argc, char **argv)
{
	long n = 1;
	if (argc > 1 && !number_arg(a, argv[1], 1, 100000, &n))
		return;
	app_run(a, (int)n);
}

static void cmd_proposal(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	input_key_action(a, ACTION_RUN_TO_PROPOSAL);
}

static void cmd_pause(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	input_key_action(a, ACTION_PAUSE);
}

static void cmd_cancel(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	engine_cancel(a->t.en);
}

static void cmd_save(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	input_key_action(a, ACTION_SAVE);
}

/* The copy is the file worked on from now on: it gets the writer's lock, and the paths it names
 * are rewritten for its directory (session_rebase_paths). */
static void cmd_saveas(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	char *lp = session_lock_path(argv[1]), *cur = session_lock_path(a->t.session_path);
	struct session_lock *lock = NULL;
	bool same = strcmp(lp, cur) == 0;
	free(lp);
	free(cur);
	if (same && app_read_only(a)) { /* the same file under another name */
		tui_message(&a->t,
		            "read-only (--read-only): %s is the file opened read-only; save "
		            "a copy under another name",
		            argv[1]);
		return;
	}
	if (!same && !(lock = session_lock_take(argv[1], &e))) {
		tui_message(&a->t, "error: %s", e.msg);
		return;
	}
	if (session_rebase_paths(a->t.s, argv[1], &e) < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		session_lock_release(lock);
		return;
	}
	if (app_save(a, argv[1]) < 0) {
		session_rebase_paths(a->t.s, a->t.session_path, &e); /* back as it was */
		session_lock_release(lock);
		return;
	}
	if (!same) {
		session_lock_release(a->env.lock);
		a->env.lock = lock;
	}
	free(a->path);
	a->path = xstrdup(argv[1]);
	a->t.session_path = a->path;
	tui_message(&a->t, "saved as %s (w now saves there)", a->path);
}

/* :set cost_cap USD / token_cap N: the session's caps (optimizer.cost_cap_usd, .token_cap), in
 * force at once and saved with the session; 0 removes a cap. */
static bool set_cap(struct app *a, const char *name, const char *value)
{
	bool cost = strcmp(name, "cost_cap") == 0;
	if (!cost && strcmp(name, "token_cap") != 0)
		return false;
	double v;
	if (parse_double(value, &v) < 0 || !(v >= 0) || v > (cost ? 1e9 : 1e15)) {
		tui_message(&a->t, "error: %s: \"%s\" is not a %s from 0 (no cap) up", name, value,
		            cost ? "dollar amount" : "token count");
		return true;
	}
	struct optimizer_settings *o = &a->t.s->opt;
	const char *key = cost ? "cost_cap_usd" : "token_cap";
	if (cost)
		o->cost_cap_usd = v;
	else
		o->token_cap = (long)v;
	cJSON *opt = session_section(a->t.s, "optimizer");
	if (!cJSON_IsObject(opt)) {
		opt = cJSON_CreateObject();
		session_set_section(a->t.s, "optimizer", opt);
	}
	cJSON *num = cJSON_CreateNumber(cost ? v : (double)o->token_cap);
	if (cJSON_GetObjectItemCaseSensitive(opt, key))
		cJSON_ReplaceItemInObjectCaseSensitive(opt, key, num);
	else
		cJSON_AddItemToObject(opt, key, num);
	a->t.dirty = true;
	struct engine_totals t;
	engine_spent(a->t.en, &t);
	if (v <= 0)
		tui_message(&a->t, "%s: no cap (saved with the session)", name);
	else if (cost)
		tui_message(&a->t, "cost cap $%.4f, $%.4f spent (saved with the session)", v,
		            t.cost_usd);
	else
		tui_message(&a->t, "token cap %ld, %ld used (saved with the session)", o->token_cap,
		            t.tokens_in + t.tokens_out);
	return true;
}

static void cmd_set(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	if (set_cap(a, argv[1], argv[2]))
		return;
	if (strcmp(argv[1], "concurrency") == 0) {
		long n;
		if (!number_arg(a, argv[2], 1, 1024, &n))
			return;
		for (size_t i = 0; i < a->t.s->n_models; i++)
			a->t.s->models[i].concurrency = (int)n;
		tui_message(&a->t, "concurrency %ld for every model configuration (this run only)",
		            n);
		return;
	}
	if (strcmp(argv[1], "theme") == 0) {
		if (app_set_theme(a, argv[2], &e) < 0)
			tui_message(&a->t, "error: %s", e.msg);
		return;
	}
	if (tui_config_set(&a->cfg, argv[1], argv[2], &e) < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		return;
	}
	app_apply_config(a);
	tui_message(&a->t, "%s %s", argv[1], argv[2]);
}

static void cmd_theme(struct app *a, int argc, char **argv)
{
	struct err e = {{0}};
	if (argc < 2)
		tui_message(&a->t, "theme %s", a->cfg.theme);
	else if (app_set_theme(a, argv[1], &e) < 0)
		tui_message(&a->t, "error: %s", e.msg);
	else
		tui_message(&a->t, "theme %s", argv[1]);
}

/* The replicas of models whose base_url lists several (llm_foreach_replica): counted by state
 * for :cost, or each with its figures for :cost replicas. */
struct replica_text {
	struct sbuf b;
	long n, out;
	bool each;
};

static void replica_add(void *arg, const struct llm_replica *r)
{
	struct replica_text *rt = arg;
	rt->n++;
	rt->out += strcmp(r->state, "up") != 0;
	if (!rt->each)
		return;
	sbuf_addf(&rt->b, "%s%s#%d %s %s", rt->b.len ? "; " : "", r->model, r->index + 1, r->url,
	          r->state);
	if (r->down_s > 0)
		sbuf_addf(&rt->b, " %.0fs", r->down_s + 0.5);
	sbuf_addf(&rt->b, ": %ld req, %ld err, %ld in flight, %.0f ms", r->requests, r->errors,
	          r->in_flight, 1000 * r->mean_latency_s);
}

/* :filter [TEXT]: the Traces pane lists only the examples whose id, output or any step's output
 * contains TEXT (ignoring ASCII case); without TEXT, all again. */
static void cmd_filter(struct app *a, int argc, char **argv)
{
	snprintf(a->t.trace_text, sizeof a->t.trace_text, "%s", argc > 1 ? argv[1] : "");
	if (argc > 1)
		tui_message(&a->t, "traces: examples containing \"%s\" (:filter alone clears it)",
		            a->t.trace_text);
	else
		tui_message(&a->t, "traces: text filter cleared");
}

static void cmd_cost(struct app *a, int argc, char **argv)
{
	struct replica_text rt = {.each = argc > 1};
	if (a->t.llm)
		llm_foreach_replica(a->t.llm, replica_add, &rt);
	if (rt.each) {
		if (strcmp(argv[1], "replicas") != 0)
			tui_message(&a->t, "error: :cost takes no argument but \"replicas\"");
		else if (!rt.n)
			tui_message(&a->t, "no model lists several base URLs (replicas)");
		else
			tui_message(&a->t, "%s", sbuf_str(&rt.b));
		sbuf_free(&rt.b);
		return;
	}
	struct engine_totals t, run;
	engine_spent(a->t.en, &t);
	engine_totals(a->t.en, &run);
	struct cost_projection p;
	engine_project_next(a->t.en, &p);
	const struct iteration *it = engine_current(a->t.en);
	enum phase next = it && it->phase < PHASE_COUNT ? it->phase : PHASE_FORWARD;
	double cap = a->t.s->opt.cost_cap_usd;
	char capbuf[64] = "no cap";
	if (cap > 0)
		snprintf(capbuf, sizeof capbuf, "cap $%.2f, $%.4f left", cap, cap - t.cost_usd);
	struct sbuf detail = {0};
	engine_tokens_detail(&t, &detail);
	const char *est = t.estimated ? "~" : ""; /* some of it estimated (cut streams) */
	char reps[96] = "";
	if (rt.n)
		snprintf(reps, sizeof reps, "; replicas %ld up, %ld out (:cost replicas)",
		         rt.n - rt.out, rt.out);
	char *full = xasprintf(
	    "spent %s$%.4f (this run %s$%.4f), %ld calls (%ld cached, %ld avoided), %ld tok%s; "
	    "next %s ~%ld calls (%ld cached) ~%ld tok ~$%.4f; %s%s",
	    est, t.cost_usd, run.estimated ? "~" : "", run.cost_usd, t.calls, t.cached, t.avoided,
	    t.tokens_in + t.tokens_out, sbuf_str(&detail), phase_name(next), p.calls, p.cached,
	    p.tokens_in + p.tokens_out, p.usd, capbuf, reps);
	if ((int)strlen(full) <= a->cols) /* the message line is one row: else the gist */
		tui_message(&a->t, "%s", full);
	else
		tui_message(&a->t,
		            "spent %s$%.4f, %ld calls, %ld tok; next %s projected ~$%.4f; %s%s",
		            est, t.cost_usd, t.calls, t.tokens_in + t.tokens_out, phase_name(next),
		            p.usd, capbuf, reps);
	free(full);
	sbuf_free(&detail);
}

static void cmd_view(struct app *a, int argc, char **argv)
{
	(void)argc;
	for (int i = 0; i < VIEW_COUNT; i++)
		if (a->views[i].ops && strcmp(a->views[i].ops->name, argv[1]) == 0) {
			if (i == VIEW_HELP)
				input_key_action(a, ACTION_HELP);
			else
				app_focus(a, i);
			return;
		}
	tui_message(&a->t, "error: no view \"%s\" (Tab completes)", argv[1]);
}

/* Runs a decision on step argv[1]; the engine's own news (an iteration closing) stays visible. */
typedef int decide_fn(struct engine *en, int step, const char *text);

static int do_accept(struct engine *en, int step, const char *text)
{
	(void)text;
	return engine_accept(en, step);
}

static int do_reject(struct engine *en, int step, const char *text)
{
	(void)text;
	return engine_reject(en, step);
}

static void decide(struct app *a, const char *id, decide_fn *fn, const char *text, const char *verb)
{
	int i = step_arg(a, id);
	if (i < 0)
		return;
	a->t.message[0] = 0;
	if (fn(a->t.en, i, text) < 0) {
		tui_message(
		    &a->t, "error: no pending change for step %s (the proposal must be ready)", id);
		return;
	}
	char news[sizeof a->t.message];
	snprintf(news, sizeof news, "%s", a->t.message);
	tui_message(&a->t, "%s %s%s%s", verb, id, news[0] ? "; " : "", news);
}

static void cmd_accept(struct app *a, int argc, char **argv)
{
	(void)argc;
	decide(a, argv[1], do_accept, NULL, "accepted");
}

static void cmd_reject(struct app *a, int argc, char **argv)
{
	(void)argc;
	decide(a, argv[1], do_reject, NULL, "rejected");
}

static void cmd_edit(struct app *a, int argc, char **argv)
{
	(void)argc;
	int i = step_arg(a, argv[1]);
	const struct iteration *it = engine_current(a->t.en);
	const struct step_change *ch = NULL;
	for (size_t k = 0; i >= 0 && it && it->phase == PHASE_DECISION && k < it->n_changes; k++)
		if (it->changes[k].step == i)
			ch = &it->changes[k];
	if (i < 0)
		return;
	if (!ch) {
		tui_message(&a->t,
		            "error: no pending change for step %s (the proposal must be ready)",
		            argv[1]);
		return;
	}
	char *text = tui_edit_text(&a->t, ch->edited ? ch->edited : ch->new_prompt);
	if (!text)
		return; /* the editor said why */
	decide(a, argv[1], engine_edit, text, "edited and accepted");
	free(text);
}

static void cmd_undo(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	input_key_action(a, ACTION_UNDO);
}

/* :measure: runs what the last iteration's decisions kept (an edited prompt) on its
 * validation sample, so that it gets a measured score. */
static void cmd_measure(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	const struct iteration *it = engine_current(a->t.en);
	if (engine_measure(a->t.en) < 0)
		tui_message(&a->t, "nothing to measure: %s",
		            engine_busy(a->t.en)
		                ? "the engine is busy"
		                : "what the last decisions kept was measured already, "
		                  "or no iteration is closed");
	else if (engine_busy(a->t.en)) /* else the memo answered it all: the result is shown */
		tui_message(&a->t, "measuring what the decisions kept on %zu validation examples",
		            it->n_val);
}

static void cmd_quit(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	app_quit(a, false);
}

static void cmd_force_quit(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	app_quit(a, true);
}

static void cmd_save_display(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	app_draw(a);
	if (display_save(argv[1], &e) < 0)
		tui_message(&a->t, "error: %s", e.msg);
}

/* :report FILE and :export DIR: what --report and --export write, from the session on screen
 * (its prompts as they are now, saved or not). */
static void cmd_report(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	if (!str_endswith(argv[1], ".html") && !str_endswith(argv[1], ".md"))
		tui_message(&a->t, "error: :report writes FILE.html or FILE.md");
	else if (report_write(a->t.en, a->t.scripted, argv[1], &e) < 0)
		tui_message(&a->t, "error: %s", e.msg);
	else
		tui_message(&a->t, "report written to %s", argv[1]);
}

static void cmd_export(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	int n;
	if (export_write(a->t.en, a->t.scripted, argv[1], &n, &e) < 0)
		tui_message(&a->t, "error: %s", e.msg);
	else
		tui_message(&a->t, "%d files written to %s", n, argv[1]);
}

static void cmd_compare(struct app *a, int argc, char **argv)
{
	(void)argc;
	struct err e = {{0}};
	if (view_compare_start(&a->views[VIEW_COMPARE], argv[1], argv[2], &e) < 0)
		tui_message(&a->t, "error: %s", e.msg);
	else {
		/* replaces an earlier :compare's error, which no longer applies */
		tui_message(&a->t, "comparing %s with %s on the validation split", argv[1],
		            argv[2]);
		app_focus(a, VIEW_COMPARE);
	}
}

static void cmd_help(struct app *a, int argc, char **argv)
{
	(void)argc, (void)argv;
	if (!a->help_open || a->t.focus != VIEW_HELP)
		input_key_action(a, ACTION_HELP);
}

/* name, arguments, help, completion, least and most arguments, handler */
#define COMMANDS(X)                                                                                \
	X("step", "", "run the next phase", NULL, 0, 0, cmd_step)                                  \
	X("run", "[N]", "run N whole iterations (decisions made automatically)", NULL, 0, 1,       \
	  cmd_run)                                                                                 \
	X("proposal", "", "run phases until the next proposal", NULL, 0, 0, cmd_proposal)          \
	X("pause", "", "pause after the phase in flight", NULL, 0, 0, cmd_pause)                   \
	X("cancel", "", "cancel the phase in flight (rolled back)", NULL, 0, 0, cmd_cancel)        \
	X("save", "", "save the session", NULL, 0, 0, cmd_save)                                    \
	X("saveas", "FILE", "save the session to FILE and keep working there", NULL, 1, 1,         \
	  cmd_saveas)                                                                              \
	X("set", "OPTION VALUE",                                                                   \
	  "concurrency N, cost_cap USD, token_cap N, ask_above USD, patience N, mouse on|off, "    \
	  "theme, glyphs, colours",                                                                \
	  complete_set, 2, 2, cmd_set)                                                             \
	X("theme", "NAME", "switch the colour theme", complete_theme, 0, 1, cmd_theme)             \
	X("cost", "[replicas]",                                                                    \
	  "spend so far and the projected cost of the next phase; with "                           \
	  "replicas, each replica's figures",                                                      \
	  complete_cost, 0, 1, cmd_cost)                                                           \
	X("view", "NAME", "focus a pane by name", complete_view, 1, 1, cmd_view)                   \
	X("filter", "[TEXT]", "list only the traces whose id or outputs contain TEXT", NULL, 0, 1, \
	  cmd_filter)                                                                              \
	X("accept", "STEP", "accept the proposed prompt of STEP", complete_step, 1, 1, cmd_accept) \
	X("reject", "STEP", "reject the proposed prompt of STEP", complete_step, 1, 1, cmd_reject) \
	X("edit", "STEP", "edit the proposed prompt of STEP, then accept it", complete_step, 1, 1, \
	  cmd_edit)                                                                                \
	X("undo", "", "undo the last decision", NULL, 0, 0, cmd_undo)                              \
	X("measure", "", "measure an edited prompt on the validation sample", NULL, 0, 0,          \
	  cmd_measure)                                                                             \
	X("quit", "", "quit (asks to save unsaved changes)", NULL, 0, 0, cmd_quit)                 \
	X("q", "", "quit (asks to save unsaved changes)", NULL, 0, 0, cmd_quit)                    \
	X("q!", "", "quit without saving", NULL, 0, 0, cmd_force_quit)                             \
	X("save-display", "FILE", "write the screen as text to FILE (screen tests)", NULL, 1, 1,   \
	  cmd_save_display)                                                                        \
	X("help", "", "show keys and commands", NULL, 0, 0, cmd_help)                              \
	X("report", "FILE", "write the report to FILE.html or FILE.md", NULL, 1, 1, cmd_report)    \
	X("export", "DIR", "write the current prompts to DIR as files and prompts.json", NULL, 1,  \
	  1, cmd_export)                                                                           \
	X("compare", "A B", "compare two versions (vN, iteration:K, current) on validation", NULL, \
	  2, 2, cmd_compare)

static const struct cmd_spec specs[] = {
#define X(name, args, help, complete, lo, hi, fn) {name, args, help, complete},
    COMMANDS(X)
#undef X
};

static const struct {
	int lo, hi;
	cmd_fn *fn;
} handlers[] = {
#define X(name, args, help, complete, lo, hi, fn) {lo, hi, fn},
    COMMANDS(X)
#undef X
};

const struct cmd_spec *tui_commands(size_t *n)
{
	*n = ARRAY_SIZE(specs);
	return specs;
}

void commands_run(struct app *a, const char *line)
{
	struct err e = {{0}};
	int argc;
	char **argv;
	if (cmdline_split(line, &argc, &argv, &e) < 0) {
		tui_message(&a->t, "error: %s", e.msg);
		return;
	}
	if (argc == 0) {
		cmdline_argv_free(argv);
		return;
	}
	const struct cmd_spec *spec = cmdline_lookup(specs, ARRAY_SIZE(specs), argv[0], &e);
	if (!spec) {
		tui_message(&a->t, "error: %s", e.msg);
	} else {
		size_t i = (size_t)(spec - specs);
		if (argc - 1 < handlers[i].lo || argc - 1 > handlers[i].hi)
			tui_message(&a->t, "error: usage: :%s%s%s", spec->name,
			            spec->args[0] ? " " : "", spec->args);
		else
			handlers[i].fn(a, argc, argv);
	}
	cmdline_argv_free(argv);
	a->need_draw = true;
}

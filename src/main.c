/* main.c: the command line.  Parses options from one table (which also prints --help) and hands
 * over to a front end: the workbench (TUI), or the headless check / eval / run (batch.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ablations.h"
#include "batch.h"
#include "compare.h"
#include "export.h"
#include "report.h"
#include "tui/tui.h"
#include "core/termsafe.h"
#include "core/util.h"

enum mode { MODE_TUI, MODE_CHECK, MODE_EVAL, MODE_RUN, MODE_EXPORT, MODE_REPORT, MODE_COMPARE };

/* One row per option: long name, short letter (0: none), argument name (NULL: a flag), help. */
#define OPTIONS(X)                                                                                 \
	X(check, 'c', NULL, "validate the session and print every problem (exit 0 valid, 2 not)")  \
	X(eval, 'e', NULL, "run the pipeline on a split and print the score")                      \
	X(run, 'r', "N", "run N optimization iterations headless, saving after each")              \
	X(export, 0, "DIR|-",                                                                      \
	  "write the current prompts as files to DIR (-: the bundle to stdout)")                   \
	X(report, 0, "FILE", "write the session's report to FILE (.html, or .md for Markdown)")    \
	X(compare, 0, "A",                                                                         \
	  "--compare A B: evaluate two sessions or versions (S@v3, S@iteration:2)")                \
	X(final_test, 0, NULL, "--run: then score the final prompts on the test split")            \
	X(dry_run, 0, NULL,                                                                        \
	  "--run N: print what it would cost (projected, or simulated); spend nothing")            \
	X(patience, 0, "K",                                                                        \
	  "--run: stop after K iterations without validation gain (3; 0: never)")                  \
	X(compare_ablations, 0, "[=LIST]",                                                         \
	  "--run N: ADOPT and its ablations from the same session, side by side")                  \
	X(split, 's', "NAME", "split for --eval: train, val or test (default val)")                \
	X(limit, 'n', "N", "--eval at most N examples")                                            \
	X(json, 'j', NULL, "print one machine-readable JSON object")                               \
	X(min_score, 0, "X", "--eval, --run: exit 4 when the (validation) score is below X")       \
	X(trust, 0, NULL, "let exec steps run and keys go to any host (never for a stranger)")     \
	X(offline, 0, NULL, "answer only from the response cache; a miss is an error")             \
	X(no_cache, 0, NULL, "neither read nor write the response cache")                          \
	X(read_only, 0, NULL, "open without the writer's lock and never save (beside a writer)")   \
	X(provider, 0, "NAME", "override every model configuration's provider for this run")       \
	X(base_url, 0, "URL", "override every model configuration's base URL for this run")        \
	X(model, 0, "[CFG=]NAME", "override the model name (of all, or of configuration CFG)")     \
	X(help, 'h', NULL, "show this help")                                                       \
	X(version, 'V', NULL, "show the version")

enum option_id {
#define X(name, sh, arg, help) OPT_##name,
	OPTIONS(X)
#undef X
	    OPT_COUNT
};

static const struct {
	const char *name;
	int short_name;
	const char *arg;
	const char *help;
} option_table[] = {
#define X(name, sh, arg, help) {#name, sh, arg, help},
    OPTIONS(X)
#undef X
};

static void long_name(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: adopt-tui [options] SESSION.json\n\n"
	        "adopt-tui opens a terminal workbench for optimizing the prompts of a multi-step\n"
	        "LLM pipeline with ADOPT (dependency-guided textual gradients, step-level\n"
	        "optimizers, Shapley budget allocation).  With --check, --eval or --run it works\n"
	        "headless.\n\noptions:\n");
	for (size_t i = 0; i < OPT_COUNT; i++) {
		char name[64], left[96];
		long_name(name, sizeof name, option_table[i].name);
		const char *arg = option_table[i].arg;
		const char *sep = arg && strncmp(arg, "[=", 2) != 0 ? " " : ""; /* [=X]: optional */
		if (option_table[i].short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", option_table[i].short_name,
			         name, sep, arg ? arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", name, sep, arg ? arg : "");
		fprintf(f, "  %-26s %s\n", left, option_table[i].help);
	}
	fprintf(f, "\nSee adopt-tui(1) and adopt-tui-session(5).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	char *msg = xasprintf(fmt, arg);
	term_printf(stderr, "adopt-tui: %s (try adopt-tui --help)\n",
	            msg); /* arg may be anything */
	free(msg);
	return 2;
}

int main(int argc, char **argv)
{
	struct option longopts[OPT_COUNT + 1];
	char names[OPT_COUNT][64];
	char shortopts[3 * OPT_COUNT + 2] = ":";
	for (size_t i = 0; i < OPT_COUNT; i++) {
		long_name(names[i], sizeof names[i], option_table[i].name);
		const char *arg = option_table[i].arg;
		int has = !arg                         ? no_argument
		          : strncmp(arg, "[=", 2) == 0 ? optional_argument
		                                       : required_argument;
		longopts[i] = (struct option){names[i], has, NULL, 256 + (int)i};
		if (option_table[i].short_name) {
			size_t n = strlen(shortopts);
			shortopts[n++] = (char)option_table[i].short_name;
			if (option_table[i].arg)
				shortopts[n++] = ':';
			shortopts[n] = '\0';
		}
	}
	longopts[OPT_COUNT] = (struct option){0};

	struct front_opts o = {.split = "val", .limit = -1, .min_score = -1, .patience = 3};
	enum mode mode = MODE_TUI;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int id = -1;
		if (c >= 256)
			id = c - 256;
		for (size_t i = 0; i < OPT_COUNT && id < 0; i++)
			if (option_table[i].short_name == c)
				id = (int)i;
		if (c == '?')
			return usage_error("unknown option %s", argv[optind - 1]);
		if (c == ':')
			return usage_error("option %s needs an argument", argv[optind - 1]);
		long n;
		switch ((enum option_id)id) {
		case OPT_check:
			mode = MODE_CHECK;
			break;
		case OPT_eval:
			mode = MODE_EVAL;
			break;
		case OPT_run:
			if (parse_long(optarg, &n) < 0 || n < 1 || n > 100000)
				return usage_error("--run needs a number of iterations, not \"%s\"",
				                   optarg);
			mode = MODE_RUN;
			o.iterations = (int)n;
			break;
		case OPT_export:
			mode = MODE_EXPORT;
			o.export_dir = optarg;
			break;
		case OPT_report:
			if (!str_endswith(optarg, ".html") && !str_endswith(optarg, ".md"))
				return usage_error(
				    "--report writes FILE.html or FILE.md, not \"%s\"", optarg);
			mode = MODE_REPORT;
			o.report_path = optarg;
			break;
		case OPT_compare:
			mode = MODE_COMPARE;
			o.compare_a = optarg;
			break;
		case OPT_final_test:
			o.final_test = true;
			break;
		case OPT_dry_run:
			o.dry_run = true;
			break;
		case OPT_patience:
			if (parse_long(optarg, &n) < 0 || n < 0 || n > 100000)
				return usage_error(
				    "--patience needs a count of iterations (0: never "
				    "stop early), not \"%s\"",
				    optarg);
			o.patience = (int)n;
			break;
		case OPT_compare_ablations:
			o.ablations = optarg ? optarg : "";
			break;
		case OPT_split:
			if (strcmp(optarg, "train") && strcmp(optarg, "val") &&
			    strcmp(optarg, "test"))
				return usage_error("--split is train, val or test, not \"%s\"",
				                   optarg);
			o.split = optarg;
			break;
		case OPT_limit:
			if (parse_long(optarg, &n) < 0 || n < 0)
				return usage_error("--limit needs a count, not \"%s\"", optarg);
			o.limit = n;
			break;
		case OPT_json:
			o.json = true;
			break;
		case OPT_min_score: {
			double x;
			if (parse_double(optarg, &x) < 0 || !(x >= 0 && x <= 1))
				return usage_error(
				    "--min-score needs a score from 0 to 1, not \"%s\"", optarg);
			o.min_score = x;
			break;
		}
		case OPT_trust:
			o.trust = true;
			break;
		case OPT_offline:
			o.offline = true;
			break;
		case OPT_no_cache:
			o.no_cache = true;
			break;
		case OPT_read_only:
			o.read_only = true;
			break;
		case OPT_provider:
			o.provider = optarg;
			break;
		case OPT_base_url:
			o.base_url = optarg;
			break;
		case OPT_model:
			if (o.n_models < FRONT_MAX_MODEL_OVERRIDES)
				o.models[o.n_models++] = optarg;
			break;
		case OPT_help:
			usage(stdout);
			return 0;
		case OPT_version:
			printf("adopt-tui %s\n", ADOPT_VERSION);
			return 0;
		case OPT_COUNT:
			break;
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", optind >= argc ? "no session file given"
		                                        : "give exactly one session file");
	o.session = argv[optind];
	if (o.dry_run && mode != MODE_RUN)
		return usage_error("%s", "--dry-run goes with --run N");
	o.read_only |= o.dry_run; /* spends nothing, saves nothing */
	if (o.ablations && mode != MODE_RUN)
		return usage_error("%s", "--compare-ablations goes with --run N");
	/* they never save the session */
	o.read_only |= mode == MODE_EVAL || mode == MODE_CHECK || mode == MODE_EXPORT ||
	               mode == MODE_REPORT || mode == MODE_COMPARE || o.ablations;
	switch (mode) {
	case MODE_CHECK:
		return batch_check(&o);
	case MODE_EVAL:
		return batch_eval(&o);
	case MODE_RUN:
		return o.ablations ? ablations_main(&o) : batch_run(&o);
	case MODE_EXPORT:
		return export_main(&o);
	case MODE_COMPARE:
		return compare_main(&o);
	case MODE_REPORT:
		return report_main(&o);
	case MODE_TUI:
		return tui_main(&o);
	}
	return 1;
}

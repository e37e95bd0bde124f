/* fuzz_session.c: the session loader (src/core/session.c with everything it validates: models,
 * steps, loops, templates, patterns, inline datasets, metric, optimizer settings) and the saver.
 * Any bytes either load or give messages of the form "file:line:col: ..."; a session that loads
 * saves, reloads, and saves again to the same bytes.
 *
 * The input is the session file; beside it are a corpus, a JSONL dataset and a rules file that
 * a session may name (corpus.jsonl, train.jsonl, r.rules). */
#include <string.h>

#include "core/session.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char corpus[] =
	    "{\"title\": \"France\", \"text\": \"Paris is the capital.\"}\n"
	    "{\"text\": \"Berlin is in Germany.\"}\n";
	static const char train[] = "{\"question\": \"t?\", \"answer\": \"u\"}\n";
	static const char rules[] = "{\"rules\": [{\"match\": \"x\", \"reply\": \"y\"}]}\n";
	free(fuzz_write("corpus.jsonl", corpus, strlen(corpus)));
	free(fuzz_write("train.jsonl", train, strlen(train)));
	free(fuzz_write("r.rules", rules, strlen(rules)));
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	char *s;
	struct err e;
	FUZZ_CHECK(file_read(path, (size_t)1 << 30, &s, len, &e) == 0, "%s", e.msg);
	return s;
}

static void check_diag(const struct diag *d, const char *path)
{
	FUZZ_CHECK(d->n > 0, "%s did not load and says nothing", path);
	for (size_t i = 0; i < d->n; i++)
		FUZZ_CHECK(str_startswith(d->msgs[i], path) && d->msgs[i][strlen(path)] == ':',
		           "a message without the file's name: %s", d->msgs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_write("s.json", data, size);
	struct diag d = {0};
	struct session *a = session_load(path, NULL, &d);
	if (!a) {
		check_diag(&d, path);
		diag_free(&d);
		free(path);
		return 0;
	}
	FUZZ_CHECK(d.n == 0, "loaded with %zu messages: %s", d.n, d.msgs[0]);
	char *t = path_join(fuzz_tmpdir(), "t.json"), *u = path_join(fuzz_tmpdir(), "u.json");
	struct err e = {{0}};
	FUZZ_CHECK(session_save(a, t, &e) == 0, "save: %s", e.msg);
	struct session *b = session_load(t, NULL, &d);
	if (!b) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		FUZZ_CHECK(b, "a saved session does not load again");
	}
	FUZZ_CHECK(a->n_steps == b->n_steps && a->n_loops == b->n_loops &&
	               a->n_models == b->n_models && a->n_order == b->n_order &&
	               a->output_step == b->output_step,
	           "the reloaded session differs");
	for (size_t i = 0; i < a->n_steps; i++) {
		const struct step *x = &a->steps[i], *y = &b->steps[i];
		FUZZ_CHECK(strcmp(x->id, y->id) == 0 && x->kind == y->kind && x->loop == y->loop &&
		               x->n_deps == y->n_deps && x->n_demos == y->n_demos &&
		               (!x->prompt || strcmp(x->prompt, y->prompt) == 0),
		           "step %zu differs after reloading", i);
	}
	for (int sp = 0; sp < SPLIT_COUNT; sp++)
		FUZZ_CHECK(a->data.splits[sp].n == b->data.splits[sp].n, "split %d differs", sp);
	FUZZ_CHECK(session_save(b, u, &e) == 0, "second save: %s", e.msg);
	size_t lt, lu;
	char *st = slurp(t, &lt), *su = slurp(u, &lu);
	FUZZ_CHECK(lt == lu && memcmp(st, su, lt) == 0, "saving the reloaded session changed it");
	free(st);
	free(su);
	session_free(b);
	session_free(a);
	free(t);
	free(u);
	diag_free(&d);
	free(path);
	return 0;
}

/* fuzz_reopen.c: reopening a session with a history (src/engine/engine_store.c, through
 * engine_new): whatever "history" and "state" a file holds, the engine either takes them or
 * refuses with a message; what it writes back when nothing happened (engine_store, then a save)
 * loads and reopens, and reopening that changes nothing more.  (Written back is not always the
 * file as it was: restore_traces drops a trace that does not parse or names an example the
 * dataset lacks, without a word.)
 *
 * The input is the session file; beside it are the datasets and the scripted model's rules a
 * session may name (train.jsonl, val.jsonl, test.jsonl, r.rules).  No request is sent: nothing
 * runs. */
#include <string.h>

#include "core/session.h"
#include "engine/engine.h"
#include "fuzz.h"
#include "llm/llm.h"

static struct llm *llm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char train[] =
	    "{\"id\": \"r01\", \"review\": \"This kettle is great.\", \"answer\": \"positive\"}\n"
	    "{\"id\": \"r02\", \"review\": \"The lamp arrived broken.\", \"answer\": "
	    "\"negative\"}\n";
	static const char val[] =
	    "{\"id\": \"r13\", \"review\": \"Great pillow.\", \"answer\": \"positive\"}\n";
	static const char rules[] = "{\"rules\": [{\"match\": \"x\", \"reply\": \"y\"}]}\n";
	free(fuzz_write("train.jsonl", train, strlen(train)));
	free(fuzz_write("val.jsonl", val, strlen(val)));
	free(fuzz_write("test.jsonl", val, strlen(val)));
	free(fuzz_write("r.rules", rules, strlen(rules)));
	struct llm_options o = {.no_cache = true};
	struct err e;
	llm = llm_new(&o, &e);
	FUZZ_CHECK(llm, "llm_new: %s", e.msg);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	char *s;
	struct err e;
	FUZZ_CHECK(file_read(path, (size_t)1 << 30, &s, len, &e) == 0, "%s", e.msg);
	return s;
}

/* Saves s to name in the temporary directory and returns the bytes written. */
static char *save(struct session *s, const char *name, size_t *len)
{
	char *path = path_join(fuzz_tmpdir(), name);
	struct err e = {{0}};
	FUZZ_CHECK(session_save(s, path, &e) == 0, "save: %s", e.msg);
	char *text = slurp(path, len);
	free(path);
	return text;
}

static struct session *load(const char *name)
{
	char *path = path_join(fuzz_tmpdir(), name);
	struct diag d = {0};
	struct session *s = session_load(path, NULL, &d);
	diag_free(&d);
	free(path);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	free(fuzz_write("s.json", data, size));
	struct session *a = load("s.json");
	if (!a)
		return 0;
	size_t l2, l3;
	struct engine_opts o = {0};
	struct err e = {{0}};
	struct engine *en = engine_new(a, llm, &o, NULL, NULL, &e);
	if (!en) {
		FUZZ_CHECK(e.msg[0], "engine_new failed without a message");
		session_free(a);
		return 0;
	}
	engine_store(en);
	char *stored = save(a, "u.json", &l2);
	engine_free(en);

	struct session *b = load("u.json");
	FUZZ_CHECK(b, "the written session does not load");
	en = engine_new(b, llm, &o, NULL, NULL, &e);
	FUZZ_CHECK(en, "the written session does not reopen: %s", e.msg);
	engine_store(en);
	char *again = save(b, "v.json", &l3);
	FUZZ_CHECK(l2 == l3 && memcmp(stored, again, l2) == 0, "reopening again changes the file");
	engine_free(en);
	session_free(b);
	free(stored);
	free(again);
	session_free(a);
	return 0;
}

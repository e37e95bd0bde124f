/* projwork.c: work the workbench makes beside the loop (llm/beside.h), the projections views and
 * commands show above all.  A projection is a dry walk of whole iterations (50-200 ms with 300
 * validation examples, more on a loaded machine): made in a copy of the process (tui_beside),
 * it never holds a key waiting.  On the test screen (deterministic drawing) it is made at once,
 * so screen tests see it in the frame that asked; so it is when no copy can be started, and
 * when the copy dies before it answers (then once, in the loop, from the state of that moment). */
#include <stdlib.h>
#include <string.h>

#include "llm/beside.h"
#include "tui/tui_int.h"

/* A work in flight, on t->beside until it is in or cancelled. */
struct tui_work {
	struct tui *t;
	tui_work_fn *work;
	tui_got_fn *got;
	void *arg;
	uint64_t id;
	struct tui_work *next;
};

static void unlink_work(struct tui_work *w)
{
	for (struct tui_work **p = &w->t->beside; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* The work made in the loop, now: its answer to got. */
static void at_once(struct tui *t, tui_work_fn *work, tui_got_fn *got, void *arg)
{
	struct sbuf out = {0};
	work(t, arg, &out);
	got(t, arg, out.s ? out.s : "", out.len);
	sbuf_free(&out);
}

static bool in_copy; /* set in a copy tui_beside made, which ends when its work is done */

bool tui_beside_in_copy(void)
{
	return in_copy;
}

static void child_work(void *arg, struct sbuf *out)
{
	struct tui_work *w = arg;
	in_copy = true;
	w->work(w->t, w->arg, out);
}

static void work_in(void *arg, const char *data, size_t n, bool died)
{
	struct tui_work *w = arg;
	unlink_work(w);
	if (died) /* the copy died (killed, crashed, out of memory): once more, in the loop */
		at_once(w->t, w->work, w->got, w->arg);
	else /* its answer, or NULL: cancelled (also by llm_free: then nothing runs) */
		w->got(w->t, w->arg, data, n);
	tui_redraw(w->t);
	free(w);
}

uint64_t tui_beside(struct tui *t, tui_work_fn *work, tui_got_fn *got, void *arg)
{
	struct tui_work *w = xcalloc(1, sizeof *w);
	*w = (struct tui_work){.t = t, .work = work, .got = got, .arg = arg};
	struct err e = {{0}};
	w->id = t->deterministic ? 0 : llm_beside(t->llm, child_work, w, work_in, w, &e);
	if (!w->id) { /* a test, or no copy to be had */
		free(w);
		at_once(t, work, got, arg);
		return 0;
	}
	w->next = t->beside;
	t->beside = w;
	return w->id;
}

void tui_beside_cancel(struct tui *t, uint64_t id)
{
	for (struct tui_work *w = t->beside; id && w; w = w->next)
		if (w->id == id) {
			llm_source_cancel(t->llm, id); /* got gets NULL */
			return;
		}
}

void tui_beside_cancel_all(struct tui *t)
{
	while (t->beside)
		tui_beside_cancel(t, t->beside->id);
}

/* ---- the spend chart's projection: the money of 1 .. n iterations ---- */

struct each {
	int n;
	tui_projected_fn *done;
	void *arg;
};

static void each_work(struct tui *t, void *arg, struct sbuf *out)
{
	struct each *w = arg;
	double *usd = xcalloc((size_t)w->n, sizeof *usd);
	engine_projection_each(t->en, w->n, usd);
	sbuf_add(out, (const char *)usd, (size_t)w->n * sizeof *usd);
	free(usd);
}

static void each_in(struct tui *t, void *arg, const char *data, size_t n)
{
	(void)t;
	struct each *w = arg;
	double *usd = NULL;
	if (data && n == (size_t)w->n * sizeof *usd) {
		usd = xcalloc((size_t)w->n, sizeof *usd);
		memcpy(usd, data, n);
	}
	w->done(w->arg, usd);
	free(usd);
	free(w);
}

uint64_t tui_projection_each(struct tui *t, int n, tui_projected_fn *done, void *arg)
{
	struct each *w = xcalloc(1, sizeof *w);
	*w = (struct each){n, done, arg};
	return tui_beside(t, each_work, each_in, w);
}

void tui_projection_cancel(struct tui *t, uint64_t id)
{
	tui_beside_cancel(t, id);
}

/* ---- the next phase's projection (engine_project_next), kept by the engine ---- */

static void next_work(struct tui *t, void *arg, struct sbuf *out)
{
	(void)arg;
	struct cost_projection p;
	engine_project_next(t->en, &p);
	sbuf_add(out, (const char *)&p, sizeof p);
}

static void next_in(struct tui *t, void *arg, const char *data, size_t n)
{
	uint64_t *key = arg;
	struct cost_projection p;
	if (data && n == sizeof p) {
		memcpy(&p, data, sizeof p);
		engine_project_next_put(t->en, *key,
		                        &p); /* stale when the state moved: asked again */
	}
	free(key);
}

bool tui_project_next(struct tui *t, struct cost_projection *p)
{
	if (engine_project_next_known(t->en, p))
		return true;
	for (struct tui_work *w = t->beside; w; w = w->next)
		if (w->work == next_work)
			return false; /* one at a time: a newer state is seen when it is in */
	uint64_t *key = xmalloc(sizeof *key);
	*key = engine_project_next_key(t->en);
	tui_beside(t, next_work, next_in, key);
	return engine_project_next_known(t->en, p); /* made at once (the test screen) */
}

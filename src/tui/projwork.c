/* projwork.c: the projections views show, made beside the loop (llm/beside.h).  A projection is
 * a dry walk of whole iterations (50-200 ms with 300 validation examples, more on a loaded
 * machine): made in a copy of the process, it never holds a key waiting.  On the test screen
 * (deterministic drawing) it is made at once, so screen tests see it in the frame that asked. */
#include <stdlib.h>
#include <string.h>

#include "llm/beside.h"
#include "tui/tui_int.h"

struct projwork {
	struct tui *t;
	int n;
	tui_projected_fn *done;
	void *arg;
};

static void project(void *arg, struct sbuf *out)
{
	struct projwork *w = arg;
	double *usd = xcalloc((size_t)w->n, sizeof *usd);
	engine_projection_each(w->t->en, w->n, usd);
	sbuf_add(out, (const char *)usd, (size_t)w->n * sizeof *usd);
	free(usd);
}

static void projected(void *arg, const char *data, size_t n)
{
	struct projwork *w = arg;
	double *usd = NULL;
	if (data && n == (size_t)w->n * sizeof *usd) {
		usd = xcalloc((size_t)w->n, sizeof *usd);
		memcpy(usd, data, n);
	}
	w->done(w->arg, usd);
	tui_redraw(w->t);
	free(usd);
	free(w);
}

uint64_t tui_projection_each(struct tui *t, int n, tui_projected_fn *done, void *arg)
{
	struct projwork *w = xcalloc(1, sizeof *w);
	*w = (struct projwork){t, n, done, arg};
	struct err e = {{0}};
	uint64_t id = t->deterministic ? 0 : llm_beside(t->llm, project, w, projected, w, &e);
	if (id)
		return id;
	double *usd = xcalloc((size_t)n, sizeof *usd); /* at once: a test, or no child to be had */
	engine_projection_each(t->en, n, usd);
	done(arg, usd);
	free(usd);
	free(w);
	return 0;
}

void tui_projection_cancel(struct tui *t, uint64_t id)
{
	if (id)
		llm_source_cancel(t->llm, id); /* done gets NULL */
}

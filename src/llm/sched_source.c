/* sched_source.c: outside event sources in the scheduler's loop (llm.h, llm_source_add), such
 * as an exec step's child process.  Before the poll each live source says which descriptors it
 * waits on and when it is due; after it, those with an event or past their due time are
 * dispatched.  A source cancelled meanwhile is only marked (dead) and unlinked by the sweep at
 * the end, so the walk never meets freed memory; one added meanwhile was not polled and waits
 * for the next llm_wait. */
#include <stdlib.h>

#include "llm/sched_int.h"

uint64_t llm_source_add(struct llm *l, const struct llm_source_ops *ops, void *arg)
{
	struct source *s = xcalloc(1, sizeof(*s));
	s->id = ++l->next_id;
	s->ops = ops;
	s->arg = arg;
	s->due = NEVER;
	s->next = l->sources;
	l->sources = s;
	l->n_sources++;
	return s->id;
}

static void sources_sweep(struct llm *l)
{
	for (struct source **p = &l->sources; *p;) {
		struct source *s = *p;
		if (s->dead) {
			*p = s->next;
			free(s);
		} else {
			p = &s->next;
		}
	}
}

static void source_kill(struct llm *l, struct source *s)
{
	s->dead = true;
	l->n_sources--;
	if (s == l->dispatching)
		s->cancel_after = true;
	else
		s->ops->cancel(s->arg);
}

void llm_source_cancel(struct llm *l, uint64_t id)
{
	for (struct source *s = l->sources; s; s = s->next) {
		if (s->id == id && !s->dead) {
			source_kill(l, s);
			break;
		}
	}
	if (!l->in_sources)
		sources_sweep(l);
}

void sources_cancel_all(struct llm *l)
{
	for (struct source *s = l->sources; s; s = s->next)
		if (!s->dead)
			source_kill(l, s);
	if (!l->in_sources)
		sources_sweep(l);
}

int64_t sources_prepare(struct llm *l)
{
	int64_t next = NEVER;
	l->n_src_fds = 0;
	for (struct source *s = l->sources; s; s = s->next) {
		if (s->dead)
			continue;
		l->src_fds = xgrow(l->src_fds, &l->src_fds_cap, l->n_src_fds + LLM_SOURCE_MAX_FDS,
		                   sizeof(*l->src_fds));
		int64_t due = -1;
		s->off = l->n_src_fds;
		s->n = MIN(s->ops->prepare(s->arg, l->src_fds + s->off, &due), LLM_SOURCE_MAX_FDS);
		for (unsigned i = 0; i < s->n; i++)
			l->src_fds[s->off + i].revents = 0;
		s->due = due < 0 ? NEVER : due;
		s->polled = true;
		l->n_src_fds += s->n;
		next = MIN(next, s->due);
	}
	return next;
}

void sources_dispatch(struct llm *l, const struct pollfd *fds)
{
	int64_t now = now_ms();
	l->in_sources = true;
	for (struct source *s = l->sources; s; s = s->next) {
		if (s->dead || !s->polled)
			continue;
		s->polled = false;
		bool event = false;
		for (unsigned i = 0; fds && i < s->n; i++)
			event |= fds[s->off + i].revents != 0;
		if (!event && s->due > now)
			continue;
		struct pollfd mine[LLM_SOURCE_MAX_FDS];
		for (unsigned i = 0; i < s->n; i++) {
			mine[i] = l->src_fds[s->off + i];
			mine[i].revents = fds ? fds[s->off + i].revents : 0;
		}
		l->dispatching = s;
		bool stay = s->ops->dispatch(s->arg, mine, s->n);
		l->dispatching = NULL;
		if (!stay && !s->dead) {
			s->dead = true;
			l->n_sources--;
		} else if (stay && s->cancel_after) {
			s->ops->cancel(s->arg);
		}
	}
	l->in_sources = false;
	sources_sweep(l);
}

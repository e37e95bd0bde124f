/* view_pending.c: stand-ins for the content views (traces, gradients, Shapley, proposals,
 * history) while they are written on their own branch.  Each stand-in disappears by itself when
 * the real view_NAME.c is present beside this file; after the merge this file can be deleted. */
#include "tui/view.h"

#if defined(__has_include)
#define HAS_VIEW(f) __has_include(f)
#else
#define HAS_VIEW(f) 0
#endif

static void pending_draw(struct view *v)
{
	view_printf(v, 0, 1, THEME_TEXT_DIM, "the %s pane is not in this build yet", v->ops->name);
}

#define PENDING(var, id, label)                                                                    \
	const struct view_ops var = {.name = id, .title = label, .draw = pending_draw}

#if !HAS_VIEW("view_traces.c")
PENDING(view_traces_ops, "traces", "Traces");
#endif
#if !HAS_VIEW("view_gradients.c")
PENDING(view_gradients_ops, "gradients", "Gradients");
#endif
#if !HAS_VIEW("view_shapley.c")
PENDING(view_shapley_ops, "shapley", "Importance");
#endif
#if !HAS_VIEW("view_proposals.c")
PENDING(view_proposals_ops, "proposals", "Proposals");
#endif
#if !HAS_VIEW("view_history.c")
PENDING(view_history_ops, "history", "History");
#endif

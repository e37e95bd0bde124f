/* cmdline.c: the ':' line editor, its history and Tab completion, and the argv splitter. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/keys.h"
#include "tui/sanitize.h"

#define HISTORY_MAX 200

void cmdline_cands_add(struct cmdline_cands *c, const char *s)
{
	c->v = xgrow(c->v, &c->cap, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = xstrdup(s);
}

void cmdline_cands_clear(struct cmdline_cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	c->n = 0;
}

void cmdline_init(struct cmdline *cl, const struct cmd_spec *specs, size_t nspecs, void *ud)
{
	memset(cl, 0, sizeof(*cl));
	cl->specs = specs;
	cl->nspecs = nspecs;
	cl->ud = ud;
	cl->hist_max = HISTORY_MAX;
	cmdline_start(cl, NULL);
}

void cmdline_free(struct cmdline *cl)
{
	for (size_t i = 0; i < cl->nhist; i++)
		free(cl->hist[i]);
	free(cl->hist);
	free(cl->hist_saved);
	cmdline_cands_clear(&cl->cands);
	free(cl->cands.v);
	free(cl->s);
	memset(cl, 0, sizeof(*cl));
}

static void set_text(struct cmdline *cl, const char *text)
{
	size_t n = strlen(text);
	cl->s = xgrow(cl->s, &cl->cap, n + 1, 1);
	memmove(cl->s, text, n + 1);
	cl->len = cl->cur = n;
}

void cmdline_start(struct cmdline *cl, const char *initial)
{
	set_text(cl, initial ? initial : "");
	cl->hist_pos = cl->nhist;
	free(cl->hist_saved);
	cl->hist_saved = NULL;
	cmdline_cands_clear(&cl->cands);
	cl->cycling = false;
}

const char *cmdline_text(const struct cmdline *cl)
{
	return cl->s;
}

const struct cmdline_cands *cmdline_candidates(const struct cmdline *cl)
{
	return &cl->cands;
}

int cmdline_cursor_col(const struct cmdline *cl)
{
	struct san_text t;
	san_text_from(&t, cl->s, cl->cur, 0, 0);
	int w = san_width(t.s, t.len);
	san_text_free(&t);
	return w;
}

static void replace(struct cmdline *cl, size_t from, size_t to, const char *with)
{
	size_t n = strlen(with);
	cl->s = xgrow(cl->s, &cl->cap, cl->len - (to - from) + n + 1, 1);
	memmove(cl->s + from + n, cl->s + to, cl->len - to + 1);
	memcpy(cl->s + from, with, n);
	cl->len = cl->len - (to - from) + n;
	cl->cur = from + n;
}

static size_t prev_char(const struct cmdline *cl, size_t i)
{
	while (i > 0 && ((unsigned char)cl->s[--i] & 0xc0) == 0x80)
		;
	return i;
}

static size_t next_char(const struct cmdline *cl, size_t i)
{
	while (i < cl->len && ((unsigned char)cl->s[++i] & 0xc0) == 0x80)
		;
	return i;
}

void cmdline_history_add(struct cmdline *cl, const char *line)
{
	if (!*line || (cl->nhist && strcmp(cl->hist[cl->nhist - 1], line) == 0))
		return;
	while (cl->nhist && cl->nhist >= cl->hist_max) {
		free(cl->hist[0]);
		memmove(cl->hist, cl->hist + 1, (cl->nhist - 1) * sizeof(*cl->hist));
		cl->nhist--;
	}
	cl->hist = xgrow(cl->hist, &cl->hist_cap, cl->nhist + 1, sizeof(*cl->hist));
	cl->hist[cl->nhist++] = xstrdup(line);
	cl->hist_pos = cl->nhist;
}

static void history_move(struct cmdline *cl, int dir)
{
	if (dir < 0 && cl->hist_pos > 0) {
		if (cl->hist_pos == cl->nhist) {
			free(cl->hist_saved);
			cl->hist_saved = xstrdup(cl->s);
		}
		set_text(cl, cl->hist[--cl->hist_pos]);
	} else if (dir > 0 && cl->hist_pos < cl->nhist) {
		cl->hist_pos++;
		set_text(cl, cl->hist_pos == cl->nhist ? (cl->hist_saved ? cl->hist_saved : "")
		                                       : cl->hist[cl->hist_pos]);
	}
}

const struct cmd_spec *cmdline_lookup(const struct cmd_spec *specs, size_t n, const char *name,
                                      struct err *e)
{
	const struct cmd_spec *found = NULL;
	size_t nfound = 0, len = strlen(name);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(specs[i].name, name) == 0)
			return &specs[i];
		if (len && strncmp(specs[i].name, name, len) == 0)
			found = &specs[i], nfound++;
	}
	if (nfound == 1)
		return found;
	if (nfound == 0)
		err_set(e, "unknown command \"%s\" (:help lists commands)", name);
	else
		err_set(e, "ambiguous command \"%s\" (%zu commands start so)", name, nfound);
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills cl->cands with the candidates for the word before the cursor. */
static void collect_candidates(struct cmdline *cl)
{
	size_t ws = cl->cur;
	while (ws > 0 && cl->s[ws - 1] != ' ')
		ws--;
	cl->word_start = ws;
	char *prefix = xstrndup(cl->s + ws, cl->cur - ws);
	struct cmdline_cands all = {0};
	int argi = 0;
	for (size_t i = 0; i < ws; i++)
		if (cl->s[i] != ' ' && (i == 0 || cl->s[i - 1] == ' '))
			argi++;
	if (argi == 0) {
		for (size_t i = 0; i < cl->nspecs; i++)
			cmdline_cands_add(&all, cl->specs[i].name);
	} else {
		size_t c0 = strspn(cl->s, " "), c1 = c0 + strcspn(cl->s + c0, " ");
		char *cmd = xstrndup(cl->s + c0, c1 - c0);
		struct err e;
		const struct cmd_spec *spec = cmdline_lookup(cl->specs, cl->nspecs, cmd, &e);
		if (spec && spec->complete)
			spec->complete(cl->ud, spec->name, argi, prefix, &all);
		free(cmd);
	}
	cmdline_cands_clear(&cl->cands);
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), cmp_str);
	for (size_t i = 0; i < all.n; i++) {
		bool dup = cl->cands.n && strcmp(cl->cands.v[cl->cands.n - 1], all.v[i]) == 0;
		if (!dup && str_startswith(all.v[i], prefix))
			cmdline_cands_add(&cl->cands, all.v[i]);
	}
	cmdline_cands_clear(&all);
	free(all.v);
	free(prefix);
}

static void complete(struct cmdline *cl, int dir)
{
	if (cl->cycling && cl->cands.n) {
		size_t n = cl->cands.n;
		cl->cand_idx = (cl->cand_idx + (dir > 0 ? 1 : n - 1)) % n;
		replace(cl, cl->word_start, cl->cur, cl->cands.v[cl->cand_idx]);
		return;
	}
	collect_candidates(cl);
	size_t typed = cl->cur - cl->word_start;
	if (cl->cands.n == 0)
		return;
	if (cl->cands.n == 1) {
		char *c = xasprintf("%s%s", cl->cands.v[0], cl->cur == cl->len ? " " : "");
		replace(cl, cl->word_start, cl->cur, c);
		free(c);
		cmdline_cands_clear(&cl->cands);
		return;
	}
	size_t lcp = strlen(cl->cands.v[0]);
	for (size_t i = 1; i < cl->cands.n; i++) {
		size_t k = 0;
		while (k < lcp && cl->cands.v[i][k] == cl->cands.v[0][k])
			k++;
		lcp = k;
	}
	if (lcp > typed) {
		char *c = xstrndup(cl->cands.v[0], lcp);
		replace(cl, cl->word_start, cl->cur, c);
		free(c);
		return; /* the candidates stay listed; the next Tab cycles */
	}
	cl->cycling = true;
	cl->cand_idx = dir > 0 ? 0 : cl->cands.n - 1;
	replace(cl, cl->word_start, cl->cur, cl->cands.v[cl->cand_idx]);
}

static void kill_word(struct cmdline *cl)
{
	size_t i = cl->cur;
	while (i > 0 && cl->s[i - 1] == ' ')
		i--;
	while (i > 0 && cl->s[i - 1] != ' ')
		i--;
	replace(cl, i, cl->cur, "");
}

enum cmdline_result cmdline_key(struct cmdline *cl, int key)
{
	bool was_cycling = cl->cycling;
	if (key != '\t' && key != KEYS_FN(KEY_BTAB)) {
		cl->cycling = false;
		cmdline_cands_clear(&cl->cands);
	}
	switch (key) {
	case '\n':
		cmdline_history_add(cl, cl->s);
		return CMDLINE_DONE;
	case KEYS_ESC:
	case KEYS_CTRL('c'):
	case KEYS_CTRL('g'):
		return CMDLINE_CANCELLED;
	case KEYS_BACKSPACE:
		if (cl->len == 0)
			return CMDLINE_CANCELLED;
		replace(cl, prev_char(cl, cl->cur), cl->cur, "");
		break;
	case KEYS_FN(KEY_DC):
	case KEYS_CTRL('d'):
		if (cl->cur < cl->len)
			replace(cl, cl->cur, next_char(cl, cl->cur), "");
		break;
	case KEYS_FN(KEY_LEFT):
	case KEYS_CTRL('b'):
		cl->cur = prev_char(cl, cl->cur);
		break;
	case KEYS_FN(KEY_RIGHT):
	case KEYS_CTRL('f'):
		cl->cur = cl->cur < cl->len ? next_char(cl, cl->cur) : cl->cur;
		break;
	case KEYS_FN(KEY_HOME):
	case KEYS_CTRL('a'):
		cl->cur = 0;
		break;
	case KEYS_FN(KEY_END):
	case KEYS_CTRL('e'):
		cl->cur = cl->len;
		break;
	case KEYS_CTRL('u'):
		replace(cl, 0, cl->cur, "");
		break;
	case KEYS_CTRL('k'):
		cl->s[cl->len = cl->cur] = 0;
		break;
	case KEYS_CTRL('w'):
		kill_word(cl);
		break;
	case KEYS_FN(KEY_UP):
	case KEYS_CTRL('p'):
		history_move(cl, -1);
		break;
	case KEYS_FN(KEY_DOWN):
	case KEYS_CTRL('n'):
		history_move(cl, 1);
		break;
	case '\t':
	case KEYS_FN(KEY_BTAB):
		cl->cycling = was_cycling;
		complete(cl, key == '\t' ? 1 : -1);
		break;
	default:
		if (key >= ' ' && key != 127 && key < KEYS_FN_BASE &&
		    !(key >= 0x80 && key < 0xa0)) {
			struct sbuf b = {0};
			wchar_t w = (wchar_t)key;
			san_utf8_encode(&b, &w, 1);
			replace(cl, cl->cur, cl->cur, sbuf_str(&b));
			sbuf_free(&b);
		}
		break;
	}
	return CMDLINE_EDITING;
}

int cmdline_split(const char *line, int *argc, char ***argv, struct err *e)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		struct sbuf w = {0};
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				while (*p && *p != q) {
					if (q == '"' && *p == '\\' && p[1])
						p++;
					sbuf_addc(&w, *p++);
				}
				if (!*p) {
					sbuf_free(&w);
					v = xgrow(v, &cap, n + 1, sizeof(*v));
					v[n] = NULL;
					cmdline_argv_free(v);
					*argv = NULL;
					*argc = 0;
					return err_set(e, "unterminated %c quote", q);
				}
				p++;
			} else {
				if (*p == '\\' && p[1])
					p++;
				sbuf_addc(&w, *p++);
			}
		}
		v = xgrow(v, &cap, n + 2, sizeof(*v));
		v[n++] = sbuf_take(&w);
	}
	v = xgrow(v, &cap, n + 1, sizeof(*v));
	v[n] = NULL;
	*argv = v;
	*argc = (int)n;
	return 0;
}

void cmdline_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

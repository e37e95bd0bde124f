/* diff.c: tokenizer, LCS by dynamic programming over the changed middle, whitespace cleanup and
 * span building for word-level diffs (see diff.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tui/diff.h"
#include "tui/sanitize.h"

struct tok {
	const char *p;
	size_t len;
	uint64_t h;
};

struct toks {
	struct tok *v;
	size_t n, cap;
};

enum op { OP_SAME, OP_DEL, OP_INS, OP_CHANGE };

static void toks_add(struct toks *t, const char *p, size_t len)
{
	t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = (struct tok){p, len, hash_bytes(p, len, 0)};
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_cjk(long c)
{
	return (c >= 0x2e80 && c < 0xa000) || (c >= 0xac00 && c < 0xd7b0) ||
	       (c >= 0xf900 && c < 0xfb00) || (c >= 0xff00 && c < 0xfff0) || c >= 0x20000;
}

/* Character class for tokenizing: 0 space, 1 word, 2 a token on its own. */
static int char_class(const char *s, size_t n, size_t *len)
{
	long c;
	*len = san_utf8_decode(s, n, &c);
	if (c >= 0 && c < 0x80) {
		if (is_space((char)c))
			return 0;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_')
			return 1;
		return 2;
	}
	return is_cjk(c) ? 2 : 1;
}

static void tokenize_words(struct toks *t, const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t len;
		int cls = char_class(s + i, n - i, &len), k;
		size_t j = i + len;
		if (cls != 2)
			while (j < n && (k = char_class(s + j, n - j, &len)) == cls)
				j += len;
		toks_add(t, s + i, j - i);
		i = j;
	}
}

static void tokenize_lines(struct toks *t, const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
		toks_add(t, s, len);
		s += len;
	}
}

static int tok_eq(const struct tok *a, const struct tok *b)
{
	return a->h == b->h && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

struct ops {
	unsigned char *v;
	size_t n, cap;
};

static void ops_add(struct ops *o, enum op op, size_t count)
{
	if (!count)
		return;
	o->v = xgrow(o->v, &o->cap, o->n + count, 1);
	memset(o->v + o->n, op, count);
	o->n += count;
}

/* Edit operations turning A into B; -1 when the middle exceeds the table cap. */
static int lcs_ops(struct ops *o, const struct toks *A, const struct toks *B, int force)
{
	size_t pre = 0, suf = 0;
	while (pre < A->n && pre < B->n && tok_eq(&A->v[pre], &B->v[pre]))
		pre++;
	while (suf < A->n - pre && suf < B->n - pre &&
	       tok_eq(&A->v[A->n - 1 - suf], &B->v[B->n - 1 - suf]))
		suf++;
	/* an empty text has no token array (v is NULL), and even a zero offset from NULL is
	 * undefined: a and b stay NULL then (n or m is 0, so they are never read) */
	const struct tok *a = A->v ? A->v + pre : NULL, *b = B->v ? B->v + pre : NULL;
	size_t n = A->n - pre - suf, m = B->n - pre - suf;
	if (!force && n && m && (n + 1) > DIFF_MAX_CELLS / (m + 1))
		return -1;
	ops_add(o, OP_SAME, pre);
	if (force) {
		ops_add(o, OP_DEL, n);
		ops_add(o, OP_INS, m);
	} else {
		/* L[i][j] = LCS length of a[i..] and b[j..] */
		size_t w = m + 1;
		uint32_t *L = xcalloc((n + 1) * w, sizeof(*L));
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				L[i * w + j] = tok_eq(&a[i], &b[j])
				                   ? L[(i + 1) * w + j + 1] + 1
				                   : MAX(L[(i + 1) * w + j], L[i * w + j + 1]);
		size_t i = 0, j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && tok_eq(&a[i], &b[j]))
				ops_add(o, OP_SAME, 1), i++, j++;
			else if (i < n && (j == m || L[(i + 1) * w + j] >= L[i * w + j + 1]))
				ops_add(o, OP_DEL, 1), i++;
			else
				ops_add(o, OP_INS, 1), j++;
		}
		free(L);
	}
	ops_add(o, OP_SAME, suf);
	return 0;
}

static int tok_is_space(const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (!is_space(t->p[i]))
			return 0;
	return 1;
}

/* Folds whitespace-only SAME runs between two changes into the change. */
static void ops_cleanup(struct ops *o, const struct toks *A)
{
	size_t ai = 0;
	for (size_t k = 0; k < o->n;) {
		if (o->v[k] != OP_SAME) {
			ai += o->v[k] != OP_INS;
			k++;
			continue;
		}
		size_t s = k, blank = 1;
		for (; k < o->n && o->v[k] == OP_SAME; k++, ai++)
			blank &= tok_is_space(&A->v[ai]);
		if (blank && s > 0 && k < o->n)
			memset(o->v + s, OP_CHANGE, k - s);
	}
}

static void span_add(struct diff *d, enum diff_kind kind, const char *p, size_t len)
{
	if (!len)
		return;
	d->v = xgrow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = (struct diff_span){kind, p, len};
}

/* Text covered by tokens [i, j) of t. */
static void range(const struct toks *t, size_t i, size_t j, const char **p, size_t *len)
{
	*p = i < t->n ? t->v[i].p : "";
	*len = i < j ? (size_t)(t->v[j - 1].p + t->v[j - 1].len - t->v[i].p) : 0;
}

static void build_spans(struct diff *d, const struct ops *o, const struct toks *A,
                        const struct toks *B)
{
	size_t i = 0, j = 0;
	const char *p;
	size_t len;
	for (size_t k = 0; k < o->n;) {
		size_t i0 = i, j0 = j;
		if (o->v[k] == OP_SAME) {
			for (; k < o->n && o->v[k] == OP_SAME; k++)
				i++, j++;
			range(A, i0, i, &p, &len);
			span_add(d, DIFF_SAME, p, len);
			continue;
		}
		for (; k < o->n && o->v[k] != OP_SAME; k++) {
			i += o->v[k] != OP_INS;
			j += o->v[k] != OP_DEL;
		}
		range(A, i0, i, &p, &len);
		span_add(d, DIFF_REMOVED, p, len);
		range(B, j0, j, &p, &len);
		span_add(d, DIFF_ADDED, p, len);
	}
}

void diff_texts(struct diff *d, const char *a, const char *b)
{
	memset(d, 0, sizeof(*d));
	for (int level = 0; level < 3; level++) {
		struct toks A = {0}, B = {0};
		struct ops o = {0};
		if (level == 0) {
			tokenize_words(&A, a);
			tokenize_words(&B, b);
		} else {
			tokenize_lines(&A, a);
			tokenize_lines(&B, b);
		}
		int ok = lcs_ops(&o, &A, &B, level == 2) == 0;
		if (ok) {
			ops_cleanup(&o, &A);
			build_spans(d, &o, &A, &B);
			d->coarse = level;
		}
		free(A.v);
		free(B.v);
		free(o.v);
		if (ok)
			return;
	}
}

void diff_free(struct diff *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void diff_stats(const struct diff *d, size_t *added, size_t *removed)
{
	*added = *removed = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].kind == DIFF_ADDED)
			*added += d->v[i].len;
		else if (d->v[i].kind == DIFF_REMOVED)
			*removed += d->v[i].len;
	}
}

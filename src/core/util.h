/* util.h: allocation that cannot fail, growable strings, error buffers, small file helpers.
 *
 * Allocation failure aborts through the x* family; every other failure is reported as
 * -1 plus a message in a caller's `struct err` (a fixed buffer, never allocated). */
#ifndef ADOPT_UTIL_H
#define ADOPT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to hold at least `need` items; doubles `*cap`. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* An error message for the user: "file:line:col: what went wrong". */
struct err {
	char msg[1024];
};
/* Sets the message (truncating) and returns -1, so `return err_set(e, ...)` reads well. */
int err_set(struct err *e, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Prefixes the existing message: err_prefix(e, "session.json") -> "session.json: <old>". */
int err_prefix(struct err *e, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Growable NUL-terminated byte string. A zeroed struct is an empty string. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void sbuf_vaddf(struct sbuf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
void sbuf_reset(struct sbuf *b);
/* Returns the string (never NULL; caller frees) and leaves the buffer empty. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/* A NUL-terminated view; "" when empty. */
const char *sbuf_str(const struct sbuf *b);

/* Directory part of a path ("." when none); caller frees. */
char *path_dirname(const char *path);
/* `rel` resolved against directory `dir` unless absolute; caller frees. */
char *path_join(const char *dir, const char *rel);
/* Final component of a path (a pointer into `path`). */
const char *path_basename(const char *path);

/* Monotonic clock in milliseconds / seconds. */
int64_t now_ms(void);
/* Tests only: replaces the monotonic clock behind now_ms (NULL: the real clock). */
extern int64_t (*now_ms_hook)(void);
double now_s(void);

/* Strict base-10 parse of a whole string; 0 or -1. */
int parse_long(const char *s, long *out);
int parse_double(const char *s, double *out);

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
/* Trims ASCII whitespace in place; returns s. */
char *str_trim(char *s);

/* Deterministic PRNG (xoshiro256**) so every random choice is reproducible from a seed. */
struct rng {
	uint64_t s[4];
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_double(struct rng *r);
/* Uniform in [0, n). */
uint64_t rng_below(struct rng *r, uint64_t n);

/* 64-bit FNV-1a, for hash tables. */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);

/* Bump allocator for many small immutable strings (datasets): freed all at once.  arena_alloc
 * aligns to ARENA_ALIGN (pointers, sizes, doubles: not long double); strings are packed. */
struct arena {
	struct arena_block *head;
	size_t used_bytes; /* for memory reports */
};
#define ARENA_ALIGN 8
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

#include "core/fileio.h" /* file_read, file_write_atomic and the other file helpers */
#endif

/* utf8.h: strict UTF-8 decoding and the repair of text from outside (model replies).
 *
 * Strict means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing past
 * U+10FFFF, no truncated sequences.  Repair replaces every byte that is not part of a valid
 * sequence, and every NUL (which no C string can carry), by U+FFFD, one for each byte, and says
 * how many it replaced, so that a text handed on is valid UTF-8 that any JSON reader accepts. */
#ifndef ADOPT_UTF8_H
#define ADOPT_UTF8_H

#include <stddef.h>

/* Decodes one character at s (n >= 1 bytes available); returns its length (>= 1) and stores the
 * code point, or -1 in *cp for an invalid byte (length 1). */
size_t utf8_decode(const char *s, size_t n, long *cp);

struct sbuf;
/* Appends the UTF-8 encoding of a code point (U+FFFD for a surrogate or > U+10FFFF). */
void utf8_encode(struct sbuf *b, unsigned long c);

/* How many bytes at the start of s (n of them) are valid UTF-8 without a NUL: n when all are,
 * else the offset of the first byte that is not. */
size_t utf8_valid_len(const char *s, size_t n);

/* How many bytes of the NUL-terminated s hold its first `chars` characters: a cut there never
 * splits a character (an invalid byte counts as one character). */
size_t utf8_prefix_len(const char *s, size_t chars);

/* Repairs the n bytes at *s (a NUL-terminated heap string of n bytes, NULs inside allowed):
 * when they are valid UTF-8 without a NUL, leaves them alone and returns 0; otherwise replaces
 * *s by a repaired copy (freeing the old one), sets *n to its length and returns how many bytes
 * were replaced. */
long utf8_repair(char **s, size_t *n);

#endif

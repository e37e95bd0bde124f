/* utf8.c: strict UTF-8 decoding, encoding and repair (see utf8.h). */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/util.h"

size_t utf8_decode(const char *s, size_t n, long *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c = u[0];
	size_t len;
	long v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (len > n) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

void utf8_encode(struct sbuf *b, unsigned long c)
{
	char t[4];
	size_t k;
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		t[0] = (char)c, k = 1;
	} else if (c < 0x800) {
		t[0] = (char)(0xc0 | c >> 6), t[1] = (char)(0x80 | (c & 0x3f)), k = 2;
	} else if (c < 0x10000) {
		t[0] = (char)(0xe0 | c >> 12), t[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		t[2] = (char)(0x80 | (c & 0x3f)), k = 3;
	} else {
		t[0] = (char)(0xf0 | c >> 18), t[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((c >> 6) & 0x3f)), t[3] = (char)(0x80 | (c & 0x3f)), k = 4;
	}
	sbuf_add(b, t, k);
}

/* ASCII runs are skipped quickly. */
size_t utf8_valid_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		long cp;
		size_t len = utf8_decode(s + i, n - i, &cp);
		if (cp <= 0)
			break;
		i += len;
	}
	return i;
}

size_t utf8_prefix_len(const char *s, size_t chars)
{
	size_t n = strlen(s), i = 0;
	for (; chars > 0 && i < n; chars--) {
		long cp;
		i += utf8_decode(s + i, n - i, &cp);
	}
	return i;
}

long utf8_repair(char **s, size_t *n)
{
	size_t i = utf8_valid_len(*s, *n);
	if (i == *n)
		return 0;
	struct sbuf b = {0};
	long replaced = 0;
	sbuf_add(&b, *s, i);
	while (i < *n) {
		long cp;
		size_t len = utf8_decode(*s + i, *n - i, &cp);
		if (cp <= 0) {
			sbuf_add(&b, "\xef\xbf\xbd", 3); /* U+FFFD */
			replaced++;
		} else {
			sbuf_add(&b, *s + i, len);
		}
		i += len;
	}
	free(*s);
	*n = b.len;
	*s = sbuf_take(&b);
	return replaced;
}

/* termsafe.h: the byte-level half of terminal hygiene, for every text that goes to a terminal:
 * the workbench (tui/sanitize.c builds its wide-character text on the scanner below) and the
 * headless modes (--check, --eval, --run print through term_printf).
 *
 * The scanner decodes UTF-8 strictly (core/utf8.h: an invalid byte is -1) and removes
 * ANSI/ECMA-48 escape sequences entirely: CSI (ESC [, U+009B and a raw byte 0x9b),
 * OSC/DCS/SOS/PM/APC strings (ESC ] or U+009D, ...) ended by BEL, ESC \ or U+009C, and
 * two/three-byte ESC sequences.  What is left is handed on one code point at a time, controls
 * included: the consumer decides. */
#ifndef ADOPT_TERMSAFE_H
#define ADOPT_TERMSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/utf8.h"
#include "core/util.h"

/* C0 and C1 controls, DEL, and the bidi embedding/override/isolate controls (U+202A..U+202E,
 * U+2066..U+2069): what never reaches a terminal as is. */
bool term_is_control(long c);

typedef void term_emit_fn(void *arg, long cp); /* cp -1: an invalid byte */

/* The escape-sequence scanner: feed it bytes; it calls emit for text outside sequences.  A
 * sequence may span calls (the state is kept). */
struct term_scan {
	int state;
	term_emit_fn *emit;
	void *arg;
};
void term_scan(struct term_scan *sc, const char *bytes, size_t n);

enum {
	TERM_KEEP_NEWLINES = 1 << 0, /* '\n' stays (else a space) */
	TERM_KEEP_TABS = 1 << 1,     /* '\t' stays (else a space) */
};
/* Appends n bytes as text safe for a terminal: valid UTF-8, no escape sequence, no control
 * (term_is_control; CR dropped; newline and tab as the flags say), invalid bytes as U+FFFD, and
 * every registered secret (core/redact.h) replaced. */
void term_sanitize(struct sbuf *out, const char *s, size_t n, unsigned flags);
/* printf to a terminal (or anything): the formatted text through term_sanitize, newlines and
 * tabs kept. */
void term_printf(FILE *f, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* A one-line copy of s for a %s argument (newlines and tabs become spaces); caller frees. */
char *term_line(const char *s);
/* Writes JSON text (as cJSON prints it) with every character term_sanitize would drop written
 * as a \u escape instead (the same data, nothing raw), invalid bytes as \ufffd and secrets
 * redacted, then a newline. */
void term_json(FILE *f, const char *json);
/* term_json of a cJSON document, printed formatted (the caller still owns it). */
struct cJSON;
void term_json_doc(FILE *f, const struct cJSON *doc);

#endif

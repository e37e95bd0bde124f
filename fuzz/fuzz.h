/* fuzz.h: what every fuzz target shares: the libFuzzer entry point's prototype and a check that
 * reports a broken property and aborts (so libFuzzer, and the replay driver under make check,
 * both see a crash and keep the input), and the helpers of common.c. */
#ifndef ADOPT_FUZZ_H
#define ADOPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#include "core/util.h"

/* A private temporary directory (made on first use, removed with its files at exit). */
const char *fuzz_tmpdir(void);
/* Writes size bytes to NAME in that directory; returns the path (caller frees). */
char *fuzz_write(const char *name, const void *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif

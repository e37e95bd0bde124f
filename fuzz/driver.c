/* driver.c: a main() for the fuzz targets without libFuzzer, so that make check replays every
 * seed and every past crash input with the normal compiler (and in the ASan build).
 *
 *   fuzz_NAME DIR_OR_FILE...
 *
 * Feeds each regular file (a directory's files in name order) to LLVMFuzzerTestOneInput once.
 * A target that breaks a property aborts; an argument that cannot be read, or no input at all,
 * is an error too, so that a corpus that went missing cannot pass silently. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
	char *buf;
	size_t len;
	struct err e;
	if (file_read(path, (size_t)64 << 20, &buf, &len, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	/* A copy of exactly len bytes, so that ASan sees a read past the end. */
	uint8_t *data = xmalloc(len ? len : 1);
	memcpy(data, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir; the number run, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		names = xgrow(names, &cap, n + 1, sizeof *names);
		names[n++] = path_join(dir, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	long ran = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) < 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	long total = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long ran;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		ran = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0;
		if (ran < 0)
			rc = 1;
		else
			total += ran;
	}
	printf("%s: %ld inputs replayed\n", argv[0], total);
	if (total == 0) {
		fprintf(stderr, "%s: no input found\n", argv[0]);
		rc = 1;
	}
	return rc;
}

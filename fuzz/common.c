/* common.c: helpers the fuzz targets share: a private temporary directory, removed at exit, and
 * writing an input to a file in it (for the loaders that take a path). */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char *tmpdir;

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = path_join(tmpdir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	free(tmpdir);
}

const char *fuzz_tmpdir(void)
{
	if (!tmpdir) {
		/* memory, where there is some: every input is written to a file */
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		tmpdir = xasprintf("%s/adopt-fuzz.XXXXXX", base);
		FUZZ_CHECK(mkdtemp(tmpdir), "cannot create a temporary directory in %s", base);
		atexit(remove_tmpdir);
	}
	return tmpdir;
}

char *fuzz_write(const char *name, const void *data, size_t size)
{
	char *path = path_join(fuzz_tmpdir(), name);
	FILE *f = fopen(path, "w");
	FUZZ_CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s",
	           path);
	return path;
}

/*
 * fuzz_config: config_load_file on a hostile file (the input, through a
 * memfd named /proc/self/fd/N, as config has no loader from memory), then
 * config_validate. A file that loads is dumped, and the dump must load
 * back into a fresh configuration equal to the first (config_dump's
 * promise), unless it holds pass-through secrets, which the dump hides.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "config.h"
#include "fuzz.h"

/* Loads size bytes as a file; returns the result of config_load_file. */
static int
fuzz_config_load(struct config *cf, const void *data, size_t size)
{
	char	 path[64], *cause = NULL;
	int	 fd, rc;

	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	FUZZ_CHECK(fd != -1);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rc = config_load_file(cf, path, &cause);
	FUZZ_CHECK((rc == 0) == (cause == NULL));
	free(cause);
	close(fd);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cf, *back;
	char		*dump = NULL, *cause = NULL;
	size_t		 dlen = 0;
	FILE		*f;

	cf = config_new();
	if (fuzz_config_load(cf, data, size) != 0) {
		config_free(cf);
		return 0;
	}
	if (config_validate(cf, &cause) != 0)
		FUZZ_CHECK(cause != NULL);
	free(cause);

	f = open_memstream(&dump, &dlen);
	FUZZ_CHECK(f != NULL);
	config_dump(cf, f);
	FUZZ_CHECK(fclose(f) == 0);
	back = config_new();
	FUZZ_CHECK(fuzz_config_load(back, dump, dlen) == 0);
	if (strstr(dump, " = (hidden)\t") == NULL)
		FUZZ_CHECK(config_equal(cf, back));
	config_free(back);
	free(dump);
	config_free(cf);
	return 0;
}

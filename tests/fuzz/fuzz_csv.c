/*
 * fuzz_csv: the CSV reader over hostile input, through a descriptor (a
 * memfd) or a stream (fmemopen): bit 0 of the first byte picks which, the
 * rest of the byte a small row limit (16 .. 4096 bytes) so that the
 * skipping of oversized rows is reached; the rest is the file. Every row
 * must have fields that lie within it, NUL-terminated, with line numbers
 * that never go down, and the reader must reach the end.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "csv.h"
#include "fuzz.h"

static void
fuzz_csv_read(struct csv *r, size_t max_row)
{
	struct csv_row	 row;
	uint64_t	 last = 0;
	size_t		 i, bytes;
	int		 st;

	while ((st = csv_next(r, &row)) != CSV_EOF) {
		FUZZ_CHECK(st == CSV_ROW || st == CSV_BAD);
		FUZZ_CHECK(row.line >= last && row.line >= 1);
		last = row.line;
		if (st == CSV_BAD) {
			FUZZ_CHECK(row.error != NULL);
			continue;
		}
		FUZZ_CHECK(row.nfields >= 1);
		bytes = 0;
		for (i = 0; i < row.nfields; i++) {
			FUZZ_CHECK(row.fields[i].p != NULL);
			FUZZ_CHECK(row.fields[i].p[row.fields[i].len] == '\0');
			bytes += row.fields[i].len + 1;
		}
		FUZZ_CHECK(bytes <= max_row);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv	*r;
	FILE		*f = NULL;
	size_t		 max_row;
	int		 fd = -1;

	if (size == 0)
		return 0;
	max_row = 16 + (size_t)(data[0] >> 1) * 32;
	data++;
	size--;
	if ((data[-1] & 1) == 0) {
		fd = memfd_create("fuzz_csv", MFD_CLOEXEC);
		FUZZ_CHECK(fd != -1);
		FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
		FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
		r = csv_new_fd(fd, max_row);
	} else {
		/* fmemopen refuses an empty buffer. */
		if (size == 0)
			return 0;
		f = fmemopen((void *)data, size, "r");
		FUZZ_CHECK(f != NULL);
		r = csv_new_file(f, max_row);
	}
	FUZZ_CHECK(r != NULL);
	fuzz_csv_read(r, max_row);
	FUZZ_CHECK(csv_offset(r) == size);
	csv_free(r);
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	return 0;
}

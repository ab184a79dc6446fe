/*
 * tmpdir.h: the temporary directories of the unit tests that need files
 * (test_store, test_writer, test_admin). Static inline, as
 * engine_fixture.h.
 */
#ifndef AD_TEST_TMPDIR_H
#define AD_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static inline int
tmpdir_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything under it; 0 or -1 as nftw(3). */
static inline int
tmpdir_remove(const char *dir)
{
	return nftw(dir, tmpdir_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif

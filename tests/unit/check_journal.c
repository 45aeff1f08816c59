/* tests/unit/check_journal.c - journal transactions torn at every byte, and
 * damage that is not a tear.
 *
 * A one-device pool is made on a file (block class, then pmem class), a
 * first transaction is committed, then a second one with its end marker;
 * the daemon "dies".  For every byte k of what the second commit wrote, its
 * bytes from k on are put back as they were before that write (a torn
 * write), and the pool is loaded again: the first transaction must always
 * be there, the second only when it is whole, and the load must never
 * refuse.  Then a byte of a transaction followed by others is flipped:
 * that is damage, never a torn tail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "testpool.h"

static char path[64];

static void tear_at_every_byte(unsigned int cls)
{
	const struct tfs_ctx ctx = { .uid = 0, .gid = 0 };
	uint64_t offs[8], lens[8], start, span, align = cls == TFS_CLASS_PMEM ? 64 : 4096, k;
	unsigned int torn = 0, whole = 0, n;
	uint8_t *before, *after, *img;
	struct tfs_fs *fs;
	struct stat st;
	int fd;

	tp_make(path, cls, 32u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "first", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	n = tp_regions(fs, "journal", offs, lens, 8);
	ck_assert_uint_eq(n, 1);
	start = offs[0] + ((lens[0] + align - 1) & ~(align - 1)); /* the next one goes here */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	before = malloc(65536);
	after = malloc(65536);
	img = malloc(65536);
	ck_assert_int_eq(pread(fd, before, 65536, (off_t)start), 65536);
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "second", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_xattr_set(fs, &ctx, st.st_ino, "user.k", "v", 1, 0), 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	n = tp_regions(fs, "journal", offs, lens, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(offs[1], start);
	tp_crash(fs); /* no unmount record */
	ck_assert_int_eq(pread(fd, after, 65536, (off_t)start), 65536);
	/* the transaction, padded, and its end marker */
	span = ((lens[1] + align - 1) & ~(align - 1)) + align;
	for (k = 0; k <= span; k++) {
		int present, intact;

		memcpy(img, after, k);
		memcpy(img + k, before + k, 65536 - k);
		intact = !memcmp(img, after, lens[1]);
		ck_assert_int_eq(pwrite(fd, img, span, (off_t)start), (ssize_t)span);
		fs = tp_open(path, TFS_OPEN_NOREPAIR);
		ck_assert_int_eq(tfs_lookup(fs, 1, "first", &st), 0);
		present = tfs_lookup(fs, 1, "second", &st) == 0;
		if (!intact) {
			ck_assert_msg(!present, "torn at byte %llu, yet replayed", (unsigned long long)k);
			torn++;
		} else {
			ck_assert(present);
			ck_assert_int_eq(tfs_xattr_get(fs, st.st_ino, "user.k", NULL, 0), 1);
			whole++;
		}
		tp_crash(fs);
	}
	ck_assert_uint_ge(whole, 2);
	ck_assert_uint_ge(torn, lens[1] - 16);
	/* whole again, then one byte of the first transaction flipped: it is
	 * followed by the second, so this is damage */
	ck_assert_int_eq(pwrite(fd, after, span, (off_t)start), (ssize_t)span);
	n = 0;
	{
		uint8_t b;

		ck_assert_int_eq(pread(fd, &b, 1, (off_t)(offs[0] + 60)), 1);
		b ^= 1;
		ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)(offs[0] + 60)), 1);
	}
	ck_assert_int_eq(tp_open_ret(path, TFS_OPEN_NOREPAIR, &fs), -EUCLEAN);
	close(fd);
	free(before);
	free(after);
	free(img);
	tp_remove(path);
}

START_TEST(test_torn_block)
{
	tear_at_every_byte(TFS_CLASS_BLOCK);
}
END_TEST

START_TEST(test_torn_pmem)
{
	tear_at_every_byte(TFS_CLASS_PMEM);
}
END_TEST

/* the last transaction damaged after it was acknowledged: its end marker
 * gives it away */
START_TEST(test_last_damaged)
{
	const struct tfs_ctx ctx = { .uid = 0, .gid = 0 };
	uint64_t offs[8], lens[8];
	struct tfs_fs *fs;
	struct stat st;

	tp_make(path, TFS_CLASS_BLOCK, 32u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "a", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "b", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	ck_assert_uint_eq(tp_regions(fs, "journal", offs, lens, 8), 2);
	tp_crash(fs);
	tp_flip(path, offs[1] + lens[1] / 2);
	ck_assert_int_eq(tp_open_ret(path, 0, &fs), -EUCLEAN);
	ck_assert_int_eq(tp_open_ret(path, TFS_OPEN_NOREPAIR | TFS_OPEN_SALVAGE, &fs), -EUCLEAN);
	ck_assert_int_eq(tfs_lookup(fs, 1, "a", &st), 0);
	ck_assert_int_eq(tfs_lookup(fs, 1, "b", &st), -ENOENT);
	tp_crash(fs);
	tp_remove(path);
}
END_TEST

Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("torn");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_torn_block);
	tcase_add_test(tc, test_torn_pmem);
	tcase_add_test(tc, test_last_damaged);
	suite_add_tcase(s, tc);
	return s;
}

/* tests/unit/check_journal.c - a journal transaction torn at every byte.
 *
 * A one-device pool is made on a file (block class, then pmem class), a
 * first transaction is committed, then a second one; the daemon "dies"
 * (the pool is dropped without unmounting).  Then, for every byte offset k
 * of the second transaction, its bytes from k on are replaced by what a
 * torn write leaves (zeros, as in a fresh journal, or garbage) and the pool
 * is loaded again: the first transaction must always be there, the second
 * only when it is whole, and the load must never fail or apply part of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "tfs.h"

#define POOL_SIZE (16u << 20)

static char path[] = "/tmp/tfs-jrnl-XXXXXX";

static void mkpool(unsigned int cls)
{
	struct tfs_inode *root;
	struct tfs_fs *fs;
	struct tfs_sb *sb;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, POOL_SIZE), 0);
	close(fd);
	fs = tfs_fs_new();
	ck_assert_ptr_nonnull(fs);
	sb = &fs->sb;
	sb->s_magic = TFS_SB_MAGIC;
	sb->s_version = TFS_SB_VERSION;
	sb->s_ndev = 1;
	sb->s_chunk_shift = 18;
	tfs_uuid_gen(sb->s_pool_uuid);
	sb->s_jrnl_off = TFS_META_START;
	sb->s_jrnl_len = 1u << 20;
	sb->s_ckpt_len = 1u << 20;
	sb->s_ckpt_off[0] = sb->s_jrnl_off + sb->s_jrnl_len;
	sb->s_ckpt_off[1] = sb->s_ckpt_off[0] + sb->s_ckpt_len;
	tfs_uuid_gen(sb->s_dev[0].sd_uuid);
	memcpy(sb->s_dev_uuid, sb->s_dev[0].sd_uuid, 16);
	sb->s_dev[0].sd_class = cls;
	sb->s_dev[0].sd_size = POOL_SIZE;
	sb->s_dev[0].sd_data_off = 4u << 20;
	sb->s_dev[0].sd_nslots = (POOL_SIZE - (4u << 20)) >> 18;
	strcpy(sb->s_dev[0].sd_path, path);
	ck_assert_int_eq(tfs_io_dev_open(&fs->dev[0], path, cls), 0);
	fs->ndev = 1;
	ck_assert_int_eq(tfs_sb_write(&fs->dev[0], sb), 0);
	fs->chunk_shift = 18;
	fs->chunk_size = 1u << 18;
	fs->chunk_blocks = 64;
	root = tfs_inode_new(fs, TFS_ROOT_INO);
	ck_assert_ptr_nonnull(root);
	root->i_dir = tfs_dir_new();
	root->i_mode = S_IFDIR | 0755;
	root->i_nlink = 2;
	root->i_parent = TFS_ROOT_INO;
	tfs_inode_dirty(fs, root);
	ck_assert_int_eq(tfs_checkpoint_initial(fs), 0);
	tfs_fs_close(fs);
}

static void tear_at_every_byte(unsigned int cls)
{
	const struct tfs_ctx ctx = { 0, 0 };
	uint64_t start, end, len, k;
	unsigned int fill, torn = 0, whole = 0;
	struct tfs_fs *fs;
	struct stat st;
	uint8_t *good, *img;
	int fd;

	mkpool(cls);
	ck_assert_int_eq(tfs_fs_open(&fs, path, NULL, 0, 0), 0);
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "first", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_commit(fs, 0), 0);
	start = fs->sb.s_jrnl_off + fs->jhalf * ((fs->sb.s_jrnl_len / 2) & ~4095ull) + fs->joff;
	ck_assert_int_eq(tfs_mknod(fs, &ctx, 1, "second", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_xattr_set(fs, st.st_ino, "user.k", "v", 1, 0), 0);
	ck_assert_int_eq(tfs_commit(fs, 0), 0);
	end = fs->sb.s_jrnl_off + fs->jhalf * ((fs->sb.s_jrnl_len / 2) & ~4095ull) + fs->joff;
	tfs_fs_close(fs); /* no unmount record: a crash */
	tfs_io_thread_exit();

	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	len = end - start;
	good = malloc(len);
	img = malloc(len);
	ck_assert_int_eq(pread(fd, good, len, (off_t)start), (ssize_t)len);
	/* the transaction's own bytes: header (length at offset 4) + records */
	len = TFS_JHDR_SIZE + (good[4] | good[5] << 8 | good[6] << 16 | (uint64_t)good[7] << 24);
	ck_assert_uint_le(len, end - start);
	for (fill = 0; fill < 2; fill++) {
		for (k = 0; k <= len; k++) {
			int ret, present, intact;

			memcpy(img, good, k);
			memset(img + k, fill ? 0xa5 : 0, end - start - k);
			if (k == len) /* the padding is never looked at */
				memcpy(img, good, end - start);
			/* a zero written over a zero is no tear */
			intact = !memcmp(img, good, len);
			ck_assert_int_eq(pwrite(fd, img, end - start, (off_t)start),
					 (ssize_t)(end - start));
			ret = tfs_fs_open(&fs, path, NULL, 0, TFS_OPEN_NOREPAIR);
			ck_assert_msg(ret == 0, "load failed with the tail torn at byte %llu",
				      (unsigned long long)k);
			ck_assert_int_eq(tfs_lookup(fs, 1, "first", &st), 0);
			present = tfs_lookup(fs, 1, "second", &st) == 0;
			if (!intact) {
				ck_assert_msg(!present, "torn at byte %llu, yet replayed",
					      (unsigned long long)k);
				torn++;
			} else {
				ck_assert(present);
				ck_assert_int_eq(tfs_xattr_get(fs, st.st_ino, "user.k", NULL, 0), 1);
				whole++;
			}
			tfs_fs_close(fs);
			tfs_io_thread_exit();
		}
	}
	/* every cut but those leaving the same bytes behind was a tear */
	ck_assert_uint_ge(whole, 2);
	ck_assert_uint_eq(torn + whole, 2 * (len + 1));
	ck_assert_uint_ge(torn, 2 * len - 16);
	free(good);
	free(img);
	close(fd);
	unlink(path);
	strcpy(path, "/tmp/tfs-jrnl-XXXXXX");
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

Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("torn");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_torn_block);
	tcase_add_test(tc, test_torn_pmem);
	suite_add_tcase(s, tc);
	return s;
}

/* tests/unit/check_meta.c - the metadata layer end to end, in process:
 * pools on files are changed through the namespace, committed,
 * checkpointed, dropped without unmounting ("crashed") or unmounted,
 * damaged byte by byte, and loaded again.  A manifest of the whole tree
 * (names, types, sizes, link counts, content hashes, symlinks, xattrs) is
 * what must survive. */
#define _GNU_SOURCE /* fallocate, SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include "check_suites.h"
#include "testpool.h"

static const struct tfs_ctx root_ctx = { .uid = 0, .gid = 0 };
static char path[64];

static void teardown(void)
{
	tp_remove(path);
}

/* a varied tree: directories, files of several sizes (holes too),
 * symlinks, a hard link, xattrs, a rename */
static void populate(struct tfs_fs *fs, unsigned int seed)
{
	struct stat st, dst;
	char name[64];
	unsigned int i;
	uint64_t ino;

	snprintf(name, sizeof(name), "dir%u", seed);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, name, S_IFDIR | 0755, 0, NULL, &dst), 0);
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		tp_file(fs, dst.st_ino, name, (uint64_t)(i * 37 + seed) * 1531 % 400000, seed + i);
	}
	ino = tp_file(fs, dst.st_ino, "big", 3u << 20, seed);
	ck_assert_int_eq(tfs_xattr_set(fs, &root_ctx, ino, "user.note", "hello", 5, 0), 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, dst.st_ino, "ln", S_IFLNK | 0777, 0, "f1/../f2", &st), 0);
	tfs_forget(fs, st.st_ino, 1);
	snprintf(name, sizeof(name), "hard%u", seed);
	ck_assert_int_eq(tfs_link(fs, &root_ctx, ino, TFS_ROOT_INO, name, &st), 0);
	tfs_forget(fs, st.st_ino, 1);
	ck_assert_int_eq(tfs_rename(fs, &root_ctx, dst.st_ino, "f3", dst.st_ino, "f3-renamed", 0), 0);
	ck_assert_int_eq(tfs_unlink(fs, dst.st_ino, "f4", 0), 0);
	tfs_forget(fs, dst.st_ino, 1);
}

START_TEST(test_roundtrip_crash_and_remount)
{
	struct tfs_fs *fs;
	char *want, *got;

	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	populate(fs, 1);
	ck_assert_int_eq(tfs_commit(fs), 0);
	want = tp_manifest(fs);
	tp_crash(fs); /* journal only */
	fs = tp_open(path, 0);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	free(got);
	/* a checkpoint, changes after it, a crash: checkpoint + journal */
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	populate(fs, 2);
	ck_assert_int_eq(tfs_unlink(fs, TFS_ROOT_INO, "hard1", 0), 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	free(want);
	want = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	free(got);
	tp_unmount(fs);
	/* a clean unmount: everything from the checkpoint */
	fs = tp_open(path, 0);
	ck_assert(tfs_meta_report(fs->meta)->clean);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	free(got);
	free(want);
	tp_unmount(fs);
}
END_TEST

START_TEST(test_incremental)
{
	struct tfs_meta_stats st;
	struct tfs_fs *fs;
	uint64_t first;
	char name[32];
	unsigned int i;

	tp_make(path, TFS_CLASS_BLOCK, 256u << 20, 16, 4u << 20);
	fs = tp_open(path, 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		tp_file(fs, TFS_ROOT_INO, name, 100 + i % 5000, i);
	}
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	tfs_meta_stats(fs->meta, &st);
	first = st.log_live;
	/* one file changed: the next checkpoint writes a few pages (two copies
	 * of each log page, a checksum page or two, the header), not the
	 * state */
	tp_file(fs, TFS_ROOT_INO, "one-more", 5000, 1);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	tfs_meta_stats(fs->meta, &st);
	ck_assert_uint_gt(first, 300000);
	ck_assert_uint_le(st.ckpt_bytes_last, (2 * 8 + 4 + 1) * TFS_LOG_PAGE);
	tp_unmount(fs);
}
END_TEST

START_TEST(test_log_cleaning)
{
	struct tfs_meta_stats st;
	struct tfs_fs *fs;
	char name[32], *want, *got;
	unsigned int r, i;

	tp_make(path, TFS_CLASS_BLOCK, 256u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	tp_file(fs, TFS_ROOT_INO, "keeper", 100000, 7);
	/* churn: the log must be cleaned from its tail and stay near twice
	 * its live bytes, however long this goes on */
	for (r = 0; r < 40; r++) {
		for (i = 0; i < 200; i++) {
			snprintf(name, sizeof(name), "r%u-%u", r, i);
			tp_file(fs, TFS_ROOT_INO, name, 1000, i);
		}
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
		for (i = 0; i < 200; i++) {
			snprintf(name, sizeof(name), "r%u-%u", r, i);
			ck_assert_int_eq(tfs_unlink(fs, TFS_ROOT_INO, name, 0), 0);
		}
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	}
	tfs_meta_stats(fs->meta, &st);
	ck_assert_uint_le(st.log_bytes, 2 * st.log_live + 12 * 65536);
	ck_assert_uint_le(st.log_segments, 40);
	want = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	free(got);
	free(want);
	tp_unmount(fs);
}
END_TEST

/* newest header damaged, or a page of the newest log: the older
 * checkpoint and the journal give the same pool, nothing lost */
START_TEST(test_damaged_newest_checkpoint)
{
	uint64_t offs[64], lens[64];
	struct tfs_fs *fs;
	char *want, *got;
	unsigned int pass;

	for (pass = 0; pass < 3; pass++) {
		const struct tfs_meta_report *r;
		char lpos[64] = "";

		tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 1u << 20);
		fs = tp_open(path, 0);
		populate(fs, 1);
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
		populate(fs, 2);
		ck_assert_int_eq(tfs_commit(fs), 0);
		want = tp_manifest(fs);
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
		if (pass == 0) {
			/* the header of the newest checkpoint, after unmounting */
			struct tfs_meta_stats st;

			tfs_meta_stats(fs->meta, &st);
			tp_crash(fs);
			tp_flip(path, TFS_META_START + (st.gen % 2) * TFS_CKH_SIZE + 100);
		} else {
			/* a log page written by the newest checkpoint only: both
			 * copies (the checkpoint is lost), or one (its twin
			 * stands in, and a read-write open rewrites it) */
			unsigned int n = tp_regions_match(fs, "logpage", "copy 1 (newest checkpoint only)",
							  offs, lens, 64);
			char *buf = NULL;
			size_t blen = 0;
			FILE *f = open_memstream(&buf, &blen);
			char *at;

			ck_assert_uint_gt(n, 0);
			n = n < 64 ? n : 64;
			tfs_meta_map(fs->meta, f);
			fclose(f);
			/* the lpos of that page, to find its other copy */
			snprintf(lpos, sizeof(lpos), " %llu 4096 live lpos ", (unsigned long long)offs[n - 1]);
			at = strstr(buf, lpos);
			ck_assert_ptr_nonnull(at);
			snprintf(lpos, sizeof(lpos), "lpos %llu, copy 2",
				 strtoull(at + strlen(lpos), NULL, 10));
			free(buf);
			tp_crash(fs);
			tp_flip(path, offs[n - 1] + 200);
		}
		if (pass == 1) {
			fs = tp_open(path, TFS_OPEN_NOREPAIR);
			ck_assert_uint_eq(tp_regions_match(fs, "logpage", lpos, offs, lens, 64), 1);
			tp_crash(fs);
			tp_flip(path, offs[0] + 300);
		}
		fs = tp_open(path, 0);
		r = tfs_meta_report(fs->meta);
		if (pass < 2)
			ck_assert(r->older || r->ckh_bad);
		else
			ck_assert(!r->older && !r->ckh_bad && r->log_redund == 1);
		ck_assert(!tfs_meta_lossy(fs->meta));
		got = tp_manifest(fs);
		ck_assert_str_eq(got, want);
		free(got);
		/* the mount wrote a checkpoint over the damage, or the intact
		 * copy over the damaged one: all whole again */
		ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
		tp_unmount(fs);
		fs = tp_open(path, 0);
		got = tp_manifest(fs);
		ck_assert_str_eq(got, want);
		ck_assert_uint_eq(tfs_meta_report(fs->meta)->log_redund, 0);
		free(got);
		free(want);
		tp_unmount(fs);
		tp_remove(path);
	}
}
END_TEST

/* four fsynced files, the daemon killed, a byte flipped in the second
 * transaction: not a torn tail.  A read-write open refuses; a salvage keeps
 * what verifies (files 1, 3 and 4) */
START_TEST(test_journal_damage)
{
	uint64_t offs[16], lens[16];
	struct tfs_fs *fs;
	struct stat st;
	unsigned int n, i;
	char name[8];
	int ret;

	tp_make(path, TFS_CLASS_BLOCK, 64u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	for (i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "f%u", i);
		tp_file(fs, TFS_ROOT_INO, name, 10000, i);
		ck_assert_int_eq(tfs_commit(fs), 0);
	}
	n = tp_regions(fs, "journal", offs, lens, 16);
	ck_assert_uint_eq(n, 4);
	tp_crash(fs);
	tp_flip(path, offs[1] + lens[1] - 3);
	ret = tp_open_ret(path, 0, &fs);
	ck_assert_int_eq(ret, -EUCLEAN);
	ck_assert_ptr_null(fs);
	ret = tp_open_ret(path, TFS_OPEN_NOREPAIR | TFS_OPEN_SALVAGE, &fs);
	ck_assert_int_eq(ret, -EUCLEAN);
	ck_assert_ptr_nonnull(fs);
	ck_assert_uint_ge(tfs_meta_report(fs->meta)->jrnl_lost, 1);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f1", &st), 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f3", &st), 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f4", &st), 0);
	/* repair: what verified is written anew; the pool is whole again */
	ck_assert_int_eq(tfs_meta_repair(fs->meta), 0);
	ck_assert_int_eq(tfs_unmount(fs), 0);
	tfs_fs_close(fs);
	tfs_io_thread_exit();
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f4", &st), 0);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	tp_unmount(fs);
}
END_TEST

/* checksum pages: a page written once is in both copies, so one flipped
 * copy loses nothing; both flipped, the chunks it covers read as EIO, never
 * wrong data, and other files are fine.  A page rewritten since has an
 * older copy: with the newest flipped, blocks written after the older
 * checkpoint read as EIO, the others as they are.  verify names each. */
static unsigned int read_all(struct tfs_fs *fs, const char *name, unsigned int nchunks)
{
	uint8_t *buf = tfs_io_alloc(65536);
	struct tfs_inode *in;
	struct stat st;
	unsigned int bad = 0, i;

	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, name, &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	for (i = 0; i < nchunks; i++) {
		ssize_t r = tfs_read(fs, in, (uint64_t)i * 65536, 65536, buf);

		ck_assert(r == 65536 || r == -EIO);
		if (r == 65536)
			ck_assert(tp_check_content(buf, 65536, (uint64_t)i * 65536, 1));
		bad += r == -EIO;
	}
	tfs_release(fs, in);
	tfs_io_free(buf);
	return bad;
}

START_TEST(test_checksum_page_damage)
{
	uint64_t offs[256], lens[256];
	struct tfs_fs *fs;
	unsigned int n, bad;

	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	tp_file(fs, TFS_ROOT_INO, "a", 4u << 20, 1);
	tp_unmount(fs);
	fs = tp_open(path, 0);
	n = tp_regions_match(fs, "cspage", "device 0 page 0 ", offs, lens, 256);
	ck_assert_uint_eq(n, 2); /* newest and its twin */
	tp_crash(fs);
	/* one copy */
	tp_flip(path, offs[0] + 100);
	fs = tp_open(path, 0);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 1);
	ck_assert_uint_eq(read_all(fs, "a", 64), 0);
	tp_crash(fs);
	/* both */
	tp_flip(path, offs[1] + 100);
	fs = tp_open(path, 0);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 2);
	/* the page covers a few chunks: exactly those fail */
	bad = read_all(fs, "a", 64);
	ck_assert_uint_gt(bad, 0);
	ck_assert_uint_lt(bad, 64);
	tp_crash(fs);
	tp_remove(path);

	/* rewritten: chunk 0 changes after the first checkpoint */
	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	tp_file(fs, TFS_ROOT_INO, "a", 4u << 20, 1);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	{
		struct tfs_inode *in;
		struct stat st;
		uint8_t *buf = tfs_io_alloc(4096);

		memset(buf, 'z', 4096);
		ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "a", &st), 0);
		ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
		ck_assert_int_eq(tfs_write(fs, in, 8192, buf, 4096), 4096);
		tfs_release(fs, in);
		tfs_io_free(buf);
	}
	tp_unmount(fs);
	fs = tp_open(path, 0);
	n = tp_regions_match(fs, "cspage", "device 0 page 0 newest", offs, lens, 256);
	ck_assert_uint_eq(n, 1);
	tp_crash(fs);
	tp_flip(path, offs[0] + 100);
	fs = tp_open(path, 0);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 1);
	{
		uint8_t *buf = tfs_io_alloc(65536);
		struct tfs_inode *in;
		struct stat st;

		ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "a", &st), 0);
		ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
		ck_assert_int_eq(tfs_read(fs, in, 8192, 4096, buf), -EIO); /* written since */
		ck_assert_int_eq(tfs_read(fs, in, 0, 8192, buf), 8192);	   /* not */
		ck_assert(tp_check_content(buf, 8192, 0, 1));
		ck_assert_int_eq(tfs_read(fs, in, 65536, 65536, buf), 65536);
		tfs_release(fs, in);
		tfs_io_free(buf);
	}
	tp_crash(fs);
}
END_TEST

/* metadata fills the pool: ENOSPC at the call, root keeps its reserve, all
 * that was acknowledged survives, and deleting makes room again */
START_TEST(test_metadata_enospc)
{
	const struct tfs_ctx user = { .uid = 65534, .gid = 65534 };
	char target[4001], name[32], *want, *got;
	unsigned int nuser = 0, nroot = 0, i;
	struct tfs_fs *fs;
	struct stat st;
	int ret;

	memset(target, 'x', 4000);
	target[4000] = 0;
	tp_make(path, TFS_CLASS_BLOCK, 16u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_setattr(fs, TFS_ROOT_INO, &(struct stat){ .st_mode = 0777 },
				     TFS_SET_MODE, &st), 0);
	for (;;) {
		snprintf(name, sizeof(name), "u%u", nuser);
		ret = tfs_mknod(fs, &user, TFS_ROOT_INO, name, S_IFLNK | 0777, 0, target, &st);
		if (ret < 0)
			break;
		tfs_forget(fs, st.st_ino, 1);
		nuser++;
		if (nuser % 64 == 0)
			ck_assert_int_eq(tfs_commit(fs), 0);
	}
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_uint_gt(nuser, 200);
	/* root gets the reserve */
	for (;;) {
		snprintf(name, sizeof(name), "r%u", nroot);
		ret = tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, name, S_IFLNK | 0777, 0, target, &st);
		if (ret < 0)
			break;
		tfs_forget(fs, st.st_ino, 1);
		nroot++;
	}
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_uint_gt(nroot, 5);
	/* the pool is full, yet it commits, checkpoints and reloads */
	ck_assert_int_eq(tfs_commit(fs), 0);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	want = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	/* deletions always go through, and make room */
	for (i = 0; i < nuser; i += 2) {
		snprintf(name, sizeof(name), "u%u", i);
		ck_assert_int_eq(tfs_unlink(fs, TFS_ROOT_INO, name, 0), 0);
	}
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	ck_assert_int_eq(tfs_mknod(fs, &user, TFS_ROOT_INO, "again", S_IFLNK | 0777, 0, target, &st), 0);
	tfs_forget(fs, st.st_ino, 1);
	tp_unmount(fs);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "again", &st), 0);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	tp_unmount(fs);
}
END_TEST

/* a file of many chunks is freed in one linear walk, its slots reusable
 * once the free is committed */
START_TEST(test_big_file_free)
{
	struct tfs_fs *fs;
	struct tfs_inode *in;
	struct stat st;
	uint64_t used0, used1;
	struct tfs_meta_stats ms;
	int i;

	tp_make(path, TFS_CLASS_BLOCK, 40ull << 30, 16, 4u << 20); /* sparse */
	fs = tp_open(path, 0);
	used0 = fs->pool.alloc.a_nslots - fs->pool.alloc.a_nfree;
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "huge", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	/* 300,000 chunks of 64 KiB, allocated but never written */
	ck_assert_int_eq(tfs_fallocate(fs, in, 0, 0, 300000ull << 16), 0);
	tfs_release(fs, in);
	ck_assert_uint_eq(fs->pool.chunks.count, 300000);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	ck_assert_int_eq(tfs_unlink(fs, TFS_ROOT_INO, "huge", 0), 0);
	tfs_forget(fs, st.st_ino, 1);
	ck_assert_uint_eq(fs->pool.chunks.count, 0);
	ck_assert_int_eq(tfs_commit(fs), 0);
	/* every data slot is free; what is left is the log, which still holds
	 * the chunk records until checkpoints clean them away */
	used1 = fs->pool.alloc.a_nslots - fs->pool.alloc.a_nfree;
	tfs_meta_stats(fs->meta, &ms);
	ck_assert_uint_le(used1, used0 + 2 * ms.log_segments + 8); /* two copies */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	used1 = fs->pool.alloc.a_nslots - fs->pool.alloc.a_nfree;
	ck_assert_uint_le(used1, used0 + 16);
	tp_crash(fs);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "huge", &st), -ENOENT);
	ck_assert_uint_eq(fs->pool.chunks.count, 0);
	tp_unmount(fs);
}
END_TEST

/* a fresh pool (64 KiB chunks) with file "f": 8 blocks of 'a', committed;
 * @buf (a block) is left holding 'a' */
static struct tfs_fs *pool_with_f8(struct stat *st, struct tfs_inode **in, uint8_t *buf)
{
	struct tfs_fs *fs;

	tp_make(path, TFS_CLASS_BLOCK, 64u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "f", S_IFREG | 0644, 0, NULL, st), 0);
	ck_assert_int_eq(tfs_open(fs, st->st_ino, in), 0);
	memset(buf, 'a', 4096);
	for (int b = 0; b < 8; b++)
		ck_assert_int_eq(tfs_write(fs, *in, (uint64_t)b * 4096, buf, 4096), 4096);
	ck_assert_int_eq(tfs_commit(fs), 0);
	return fs;
}

/* a block overwritten in place under an intent, the daemon killed before
 * the commit: its data may be old or new, and is re-checksummed at the
 * next open; a block of the same chunk that was not written keeps its
 * checksum, so damage to it still reads as EIO */
START_TEST(test_intent_reseal)
{
	uint8_t *buf = tfs_io_alloc(4096), *got = tfs_io_alloc(4096), junk[4096];
	struct tfs_inode *in;
	struct tfs_chunk *c;
	struct tfs_fs *fs;
	struct stat st;
	uint64_t off1, off5;
	int fd;

	fs = pool_with_f8(&st, &in, buf);
	/* an overwrite of block 1: its intent is committed before the data */
	memset(buf, 'b', 4096);
	ck_assert_int_eq(tfs_write(fs, in, 4096, buf, 4096), 4096);
	c = tier_cmap_get(&in->i_map, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(tfs_intent_get(fs, c));
	ck_assert_uint_eq(tfs_intent_get(fs, c)->i_mask[0], 1u << 1);
	off1 = tfs_slot_off(fs, c->c_dev, c->c_slot) + 4096;
	off5 = tfs_slot_off(fs, c->c_dev, c->c_slot) + 5 * 4096;
	tfs_release(fs, in);
	tp_crash(fs); /* the checksum of 'b' was never committed */
	/* a later write that was never acknowledged lands in block 1, and
	 * block 5 is damaged */
	memset(junk, 'c', sizeof(junk));
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, junk, 4096, (off_t)off1), 4096);
	ck_assert_int_eq(pwrite(fd, junk, 16, (off_t)off5 + 100), 16);
	close(fd);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	ck_assert_int_eq(tfs_read(fs, in, 4096, 4096, got), 4096);
	ck_assert(!memcmp(got, junk, 4096)); /* whatever landed, now trusted */
	ck_assert_int_eq(tfs_read(fs, in, 5 * 4096, 4096, got), -EIO);
	memset(buf, 'a', 4096);
	ck_assert_int_eq(tfs_read(fs, in, 6 * 4096, 4096, got), 4096);
	ck_assert(!memcmp(got, buf, 4096));
	tfs_release(fs, in);
	tp_unmount(fs);
	tfs_io_free(buf);
	tfs_io_free(got);
}
END_TEST

/* a file shortened inside a chunk, then written again past the new end
 * (block aligned: nothing of the old last block is zeroed, so no intent)
 * before any commit, then the daemon killed: the blocks written were holes
 * in memory (no intent), but the durable record named them with their old
 * checksums.  Whatever the next open shows must read without EIO. */
START_TEST(test_truncate_then_write_crash)
{
	uint8_t *buf = tfs_io_alloc(4096), *got = tfs_io_alloc(4096);
	struct tfs_inode *in;
	struct tfs_fs *fs;
	struct stat st;
	ssize_t n;

	fs = pool_with_f8(&st, &in, buf);
	pthread_rwlock_wrlock(TFS_ILOCK(in));
	ck_assert_int_eq(tfs_truncate_locked(fs, in, 2 * 4096), 0);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	memset(buf, 'n', 4096);
	ck_assert_int_eq(tfs_write(fs, in, 5 * 4096, buf, 4096), 4096);
	tfs_release(fs, in);
	tp_crash(fs);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	for (int b = 0; b < 8; b++) {
		n = tfs_read(fs, in, (uint64_t)b * 4096, 4096, got);
		ck_assert_msg(n >= 0, "block %d: %s", b, strerror((int)-n));
	}
	tfs_release(fs, in);
	tp_unmount(fs);
	tfs_io_free(buf);
	tfs_io_free(got);
}
END_TEST

/* a big directory after deletions, renames and log cleaning: its blocks
 * come out of cookie order in the log; the load appends them and sorts
 * once, and the directory must be exactly what it was, in cookie order */
START_TEST(test_big_dir_churn)
{
	struct tfs_fs *fs;
	struct stat dst, st;
	char name[32], name2[32], *want, *got;
	struct tfs_inode *dir;
	struct tfs_dir *d;
	unsigned int i, n = 6400;
	size_t k, live = 0;

	tp_make(path, TFS_CLASS_BLOCK, 256u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "big", S_IFDIR | 0755, 0, NULL, &dst), 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "e%05u", i);
		ck_assert_int_eq(tfs_mknod(fs, &root_ctx, dst.st_ino, name, S_IFREG | 0644, 0, NULL, &st), 0);
		tfs_forget(fs, st.st_ino, 1);
	}
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	/* every third, in scattered order; the whole first two blocks */
	for (i = 0; i < n; i++) {
		unsigned int j = (i * 7919) % n;

		if (j % 3 == 0 || j < 128) {
			snprintf(name, sizeof(name), "e%05u", j);
			ck_assert_int_eq(tfs_unlink(fs, dst.st_ino, name, 0), 0);
		}
		if (i % 1000 == 999)
			ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	}
	/* renames: new cookies at the end, old blocks rewritten */
	for (i = 0; i < 300; i++) {
		unsigned int j = (i * 104729) % n;

		if (j % 3 == 0 || j < 128)
			continue;
		snprintf(name, sizeof(name), "e%05u", j);
		snprintf(name2, sizeof(name2), "moved-%05u", j);
		ck_assert_int_eq(tfs_rename(fs, &root_ctx, dst.st_ino, name, dst.st_ino, name2, 0), 0);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	/* and some only in the journal */
	for (i = 1; i < n; i += 97) {
		snprintf(name, sizeof(name), "e%05u", i);
		tfs_unlink(fs, dst.st_ino, name, 0);
	}
	ck_assert_int_eq(tfs_commit(fs), 0);
	want = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	ck_assert_ptr_null(fs->ns.lblk.t_b);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	dir = tfs_inode_get(fs, dst.st_ino);
	ck_assert_ptr_nonnull(dir);
	d = tfs_idir(dir);
	ck_assert_int_eq(d->dr_unsorted, 0);
	for (k = 0; k < d->dr_len; k++) {
		if (!d->dr_ents[k])
			continue;
		live++;
		for (size_t m = k + 1; m < d->dr_len; m++)
			if (d->dr_ents[m]) {
				ck_assert_uint_lt(d->dr_ents[k]->d_cookie, d->dr_ents[m]->d_cookie);
				break;
			}
	}
	ck_assert_uint_eq(live, d->dr_live);
	for (k = 1; k < d->dr_nblk; k++)
		ck_assert_uint_lt(d->dr_blk[k - 1].b_k, d->dr_blk[k].b_k);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	free(got);
	free(want);
	tp_unmount(fs);
}
END_TEST

/* a file removed while the checkpoint that writes its directory block
 * (naming it) has not yet written the file's own record: the log then has a
 * block naming an inode it never describes, and a later block without it.
 * That is no damage: nothing of the file is in the pool. */
static struct tfs_fs *hook_fs;
static uint64_t hook_dir;
static int hook_done;

static void remove_in_between(void *arg)
{
	(void)arg;
	if (hook_done++)
		return;
	ck_assert_int_eq(tfs_unlink(hook_fs, hook_dir, "victim", 0), 0);
}

START_TEST(test_removed_during_checkpoint)
{
	struct tfs_fs *fs;
	struct stat d1, d2, st;
	char name[32], *want, *got;
	unsigned int i;

	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 4u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "d1", S_IFDIR | 0755, 0, NULL, &d1), 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "d2", S_IFDIR | 0755, 0, NULL, &d2), 0);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	/* d1's first block is queued first, the victim's record long after
	 * (more than a batch of other records in between) */
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, d1.st_ino, "first", S_IFREG | 0644, 0, NULL, &st), 0);
	tfs_forget(fs, st.st_ino, 1);
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "filler-%u", i);
		ck_assert_int_eq(tfs_mknod(fs, &root_ctx, d2.st_ino, name, S_IFREG | 0644, 0, NULL, &st), 0);
		tfs_forget(fs, st.st_ino, 1);
	}
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, d1.st_ino, "victim", S_IFREG | 0644, 0, NULL, &st), 0);
	tfs_forget(fs, st.st_ino, 1);
	hook_fs = fs;
	hook_dir = d1.st_ino;
	hook_done = 0;
	tfs_meta_set_batch_hook(fs->meta, remove_in_between, NULL);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	tfs_meta_set_batch_hook(fs->meta, NULL, NULL);
	ck_assert_int_gt(hook_done, 0);
	/* the next checkpoint writes d1's block without it */
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	want = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	got = tp_manifest(fs);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(tfs_lookup(fs, d1.st_ino, "victim", &st), -ENOENT);
	ck_assert_uint_eq(fs->ns.load_bad, 0);
	free(got);
	free(want);
	tp_unmount(fs);
}
END_TEST

/* the daemon killed inside a checkpoint while a block written in place
 * under an intent had its checksum in memory only: the next open loads the
 * checkpoint before, replays the journal of both halves, and takes a
 * checkpoint before anything reuses a half.  That checkpoint must not let
 * the intents loaded expire before they are resealed: the block holds the
 * new data and must read as it. */
static struct tfs_inode *snap_in;
static char snap_path[80];

static void copy_file(const char *from, const char *to)
{
	static uint8_t b[1 << 16];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, b, sizeof(b))) > 0)
		ck_assert_int_eq(write(out, b, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

static void crash_in_between(void *arg)
{
	uint8_t *buf = tfs_io_alloc(4096);
	struct stat st;

	(void)arg;
	if (hook_done++) {
		tfs_io_free(buf);
		return;
	}
	/* a commit in the journal's new half, then an in-place overwrite
	 * (its intent committed, its checksum not), then the "crash": the
	 * device as it is now */
	ck_assert_int_eq(tfs_mknod(hook_fs, &root_ctx, TFS_ROOT_INO, "g", S_IFREG | 0644, 0, NULL,
				   &st), 0);
	tfs_forget(hook_fs, st.st_ino, 1);
	ck_assert_int_eq(tfs_commit(hook_fs), 0);
	memset(buf, 'b', 4096);
	ck_assert_int_eq(tfs_write(hook_fs, snap_in, 4096, buf, 4096), 4096);
	copy_file(path, snap_path);
	tfs_io_free(buf);
}

START_TEST(test_intent_across_checkpoint_crash)
{
	uint8_t *buf = tfs_io_alloc(4096), *got = tfs_io_alloc(4096);
	struct tfs_fs *fs;
	struct stat st;
	char name[32];
	unsigned int i;

	tp_make(path, TFS_CLASS_BLOCK, 64u << 20, 16, 1u << 20);
	snprintf(snap_path, sizeof(snap_path), "%s.snap", path);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "f", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &snap_in), 0);
	memset(buf, 'a', 4096);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(tfs_write(fs, snap_in, (uint64_t)i * 4096, buf, 4096), 4096);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	/* enough records for more than one batch, so the hook runs */
	for (i = 0; i < 2000; i++) {
		struct stat fst;

		snprintf(name, sizeof(name), "filler-%u", i);
		ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, name, S_IFREG | 0644, 0, NULL,
					   &fst), 0);
		tfs_forget(fs, fst.st_ino, 1);
	}
	hook_fs = fs;
	hook_done = 0;
	tfs_meta_set_batch_hook(fs->meta, crash_in_between, NULL);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	tfs_meta_set_batch_hook(fs->meta, NULL, NULL);
	ck_assert_int_gt(hook_done, 0);
	tfs_release(fs, snap_in);
	tp_unmount(fs);
	/* the image the crash left */
	fs = tp_open(snap_path, 0);
	ck_assert(tfs_meta_report(fs->meta)->jcont);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "g", &st), 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f", &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &snap_in), 0);
	ck_assert_int_eq(tfs_read(fs, snap_in, 4096, 4096, got), 4096);
	memset(buf, 'b', 4096);
	ck_assert(!memcmp(got, buf, 4096));
	ck_assert_int_eq(tfs_read(fs, snap_in, 0, 4096, got), 4096);
	memset(buf, 'a', 4096);
	ck_assert(!memcmp(got, buf, 4096));
	tfs_release(fs, snap_in);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	tp_unmount(fs);
	unlink(snap_path);
	tfs_io_free(buf);
	tfs_io_free(got);
}
END_TEST

/* fallocate COLLAPSE_RANGE / INSERT_RANGE against a model of the bytes and,
 * where the host's file system has them (ext4, xfs), against it: the same
 * errors, sizes and contents; inserted ranges are holes; after a crash
 * and remount (the ops are followed by a commit, as fsync would) the file
 * is the same.  The kernel's FUSE client does not pass these modes to any
 * FUSE daemon (EOPNOTSUPP): this runs tierfs's side in process. */
static int host_falloc(int fd, int mode, uint64_t off, uint64_t len)
{
	if (fd < 0)
		return -EOPNOTSUPP;
	return fallocate(fd, mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

static int model_falloc(uint8_t *m, uint64_t *size, int mode, uint64_t off, uint64_t len)
{
	if (mode != FALLOC_FL_COLLAPSE_RANGE && mode != FALLOC_FL_INSERT_RANGE)
		return -EOPNOTSUPP;
	if (!len || off % 4096 || len % 4096)
		return -EINVAL;
	if (mode == FALLOC_FL_COLLAPSE_RANGE) {
		if (off >= *size || len >= *size - off)
			return -EINVAL;
		memmove(m + off, m + off + len, *size - off - len);
		*size -= len;
	} else {
		if (off >= *size)
			return -EINVAL;
		memmove(m + off + len, m + off, *size - off);
		memset(m + off, 0, len);
		*size += len;
	}
	return 0;
}

START_TEST(test_collapse_insert)
{
	static const struct { int mode; uint64_t off, len; } ops[] = {
		{ FALLOC_FL_COLLAPSE_RANGE, 8192, 4096 },	  /* one block */
		{ FALLOC_FL_INSERT_RANGE, 4096, 3u << 16 },	  /* three chunks of hole */
		{ FALLOC_FL_COLLAPSE_RANGE, 100000, 4096 },	  /* unaligned: EINVAL */
		{ FALLOC_FL_INSERT_RANGE, 0, 12288 },		  /* at the start */
		{ FALLOC_FL_COLLAPSE_RANGE, 65536, 200704 },	  /* across chunks */
		{ FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096 }, /* EOPNOTSUPP */
		{ FALLOC_FL_INSERT_RANGE, 1u << 30, 4096 },	  /* past the end: EINVAL */
		{ FALLOC_FL_COLLAPSE_RANGE, 4096, 1u << 30 },	  /* reaching the end: EINVAL */
		{ FALLOC_FL_INSERT_RANGE, 327680, 1u << 20 },	  /* a MiB, in the middle */
		{ FALLOC_FL_COLLAPSE_RANGE, 0, 4096 },
	};
	const uint64_t cap = 8u << 20;
	uint8_t *model = calloc(1, cap), *buf = tfs_io_alloc(cap), *hbuf = malloc(cap);
	char hpath[] = "/tmp/tfs-shift-XXXXXX";
	uint64_t size = 0, ino, hsize;
	struct tfs_inode *in;
	struct tfs_fs *fs;
	struct stat st;
	int hfd, ret, hret, mret;
	char *m1;
	size_t i;

	ck_assert(model && buf && hbuf);
	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	/* 700 KiB of data with a hole of three blocks at 200 KiB and a
	 * partial last block */
	size = 700u * 1024 + 1000;
	for (i = 0; i < size; i++)
		model[i] = (uint8_t)(i * 7 + i / 4096);
	memset(model + 200 * 1024, 0, 12288);
	ino = tp_file(fs, TFS_ROOT_INO, "f", 0, 1);
	ck_assert_int_eq(tfs_open(fs, ino, &in), 0);
	memcpy(buf, model, size);
	ck_assert_int_eq(tfs_write(fs, in, 0, buf, size), (ssize_t)size);
	ck_assert_int_eq(tfs_fallocate(fs, in, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 200 * 1024,
				       12288), 0);
	hfd = mkstemp(hpath);
	ck_assert_int_ge(hfd, 0);
	unlink(hpath);
	ck_assert_int_eq(pwrite(hfd, model, size, 0), (ssize_t)size);
	ck_assert_int_eq(fallocate(hfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 200 * 1024, 12288),
			 0);
	if (host_falloc(hfd, FALLOC_FL_INSERT_RANGE, 0, 4096) == -EOPNOTSUPP) {
		close(hfd); /* tmpfs and the like: the model only */
		hfd = -1;
	} else {
		ck_assert_int_eq(host_falloc(hfd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096), 0);
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		mret = model_falloc(model, &size, ops[i].mode, ops[i].off, ops[i].len);
		ret = tfs_fallocate(fs, in, ops[i].mode, ops[i].off, ops[i].len);
		ck_assert_msg(ret == mret, "op %zu: tierfs %d, model %d", i, ret, mret);
		hret = host_falloc(hfd, ops[i].mode, ops[i].off, ops[i].len);
		if (hfd >= 0)
			ck_assert_msg(hret == ret, "op %zu: tierfs %d, host file system %d", i, ret, hret);
		ck_assert_uint_eq(in->i_size, size);
		ck_assert_int_eq(tfs_read(fs, in, 0, cap, buf), (ssize_t)size);
		ck_assert_msg(!memcmp(buf, model, size), "op %zu: contents differ from the model", i);
		if (hfd >= 0) {
			hsize = (uint64_t)lseek(hfd, 0, SEEK_END);
			ck_assert_uint_eq(hsize, size);
			ck_assert_int_eq(pread(hfd, hbuf, size, 0), (ssize_t)size);
			ck_assert_msg(!memcmp(hbuf, model, size), "op %zu: host file differs", i);
		}
	}
	/* the MiB inserted at 320 KiB (moved down a block by the last op) is
	 * a hole: no data in it */
	ck_assert_int_eq(tfs_lseek(fs, in, 327680 - 4096, SEEK_HOLE), 327680 - 4096);
	ck_assert_int_ge(tfs_lseek(fs, in, 327680 - 4096, SEEK_DATA), 327680 - 4096 + (1 << 20));
	tfs_release(fs, in);
	ck_assert_int_eq(tfs_commit(fs), 0);
	m1 = tp_manifest(fs);
	tp_crash(fs);
	fs = tp_open(path, 0);
	{
		char *m2 = tp_manifest(fs);

		ck_assert_str_eq(m1, m2);
		free(m2);
	}
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f", &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, size);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	ck_assert_int_eq(tfs_read(fs, in, 0, cap, buf), (ssize_t)size);
	ck_assert(!memcmp(buf, model, size));
	tfs_release(fs, in);
	tp_unmount(fs);
	free(m1);
	if (hfd >= 0)
		close(hfd);
	free(model);
	free(hbuf);
	tfs_io_free(buf);
}
END_TEST

/* the journal half in use: the one with fewer transactions listed right
 * after a checkpoint and a commit (the other lists those from before) */
static unsigned int cur_half(struct tfs_fs *fs, uint64_t *offs, uint64_t *lens, unsigned int max,
			     const char **which)
{
	unsigned int a = tp_regions_match(fs, "journal", "(half A)", offs, lens, max);
	unsigned int b = tp_regions_match(fs, "journal", "(half B)", offs, lens, max);

	*which = a && (!b || a < b) ? "(half A)" : "(half B)";
	return tp_regions_match(fs, "journal", *which, offs, lens, max);
}

static void no_kick(void *arg)
{
	(void)arg; /* the background checkpoint that has not come yet */
}

/*
 * A commit that finds too little room left in the journal half (the
 * background checkpoint has not run yet) is not written in parts: replay
 * applies transactions one by one, and a crash between the parts (the
 * checkpoint in between can take seconds) left a prefix of the commit
 * durable, its directory entries without all their inodes: a pool that
 * refused to load.  Here the half is filled to about 40 KiB of room, a
 * commit of 600 creates (84 KiB, its entries fitting the room) follows,
 * and the checkpoint it forces fails (an injected metadata write error,
 * after the first write).  The pool must load again, with every file of
 * that commit or none.
 */
START_TEST(test_commit_not_split)
{
	uint64_t offs[1024], lens[1024], room;
	unsigned int i, n, have = 0;
	const char *which;
	struct tfs_fs *fs;
	struct stat st;
	char name[32];

	tp_make(path, TFS_CLASS_BLOCK, 128u << 20, 16, 4u << 20);
	fs = tp_open(path, 0);
	tfs_meta_set_kick(fs->meta, no_kick, NULL);
	ck_assert_int_eq(tfs_meta_checkpoint(fs->meta, 0), 0);
	for (i = 0;; i++) {
		snprintf(name, sizeof(name), "old%u", i);
		ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, name, S_IFREG | 0644, 0, NULL,
					   &st), 0);
		tfs_forget(fs, st.st_ino, 1);
		ck_assert_int_eq(tfs_commit(fs), 0);
		/* the 2 MiB half from its first transaction on: used, the
		 * last one padded to 4 KiB, and its end marker */
		n = cur_half(fs, offs, lens, 1024, &which);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_lt(n, 1024);
		room = (2u << 20) - (offs[n - 1] + ((lens[n - 1] + 4095) & ~4095ull) - offs[0]) - 4096;
		if (room < (44u << 10))
			break;
	}
	ck_assert_uint_ge(room, 36u << 10);
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "new-file-%u", i);
		ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, name, S_IFREG | 0644, 0, NULL,
					   &st), 0);
		tfs_forget(fs, st.st_ino, 1);
	}
	/* the first metadata write goes through (what the first part of a
	 * commit written in parts was), every later one fails (the
	 * checkpoint): the commit fails, the pool is "crashed" */
	ck_assert_int_eq(tfs_fault_set("jwrite:EIO:after=1:count=0"), 0);
	ck_assert_int_lt(tfs_commit(fs), 0);
	ck_assert_int_eq(tfs_fault_set(NULL), 0);
	tp_crash(fs);
	ck_assert_int_eq(tp_open_ret(path, 0, &fs), 0);
	ck_assert_uint_eq(fs->ns.load_bad, 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "old0", &st), 0);
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "new-file-%u", i);
		have += tfs_lookup(fs, TFS_ROOT_INO, name, &st) == 0;
	}
	ck_assert_msg(have == 0 || have == 600, "%u of the commit's 600 files", have);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	tp_unmount(fs);
}
END_TEST

/*
 * Cached writes (writeback) that went out of order on a pool running out of
 * space: a later piece was stored, then an earlier one refused.  The file
 * is cut back to the refused place when that lies in what cached writes
 * added since the file last grew otherwise (never below: that data may be
 * older and durable), and later cached writes past it are refused.
 */
START_TEST(test_refused_cached_write_cuts_back)
{
	static uint8_t buf[65536];
	struct tfs_inode *in;
	struct tfs_fs *fs;
	struct stat st;

	memset(buf, 'c', sizeof(buf));
	tp_make(path, TFS_CLASS_BLOCK, 64u << 20, 16, 1u << 20);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_mknod(fs, &root_ctx, TFS_ROOT_INO, "f", S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	/* 64 KiB by an ordinary write: not the cached writes' to cut */
	ck_assert_int_eq(tfs_write(fs, in, 0, buf, 65536), 65536);
	/* cached: 64-128 KiB refused (below), 128-192 KiB stored first */
	ck_assert_int_eq(tfs_write_cached(fs, in, 131072, buf, 65536, TFS_CLASS_MAX), 65536);
	ck_assert_uint_eq(in->i_size, 196608);
	/* a refusal below where the cached writes began cuts nothing */
	ck_assert_int_eq(tfs_write_refused(fs, in, 32768), 0);
	ck_assert_uint_eq(in->i_size, 196608);
	ck_assert_int_eq(tfs_write_cached(fs, in, 65536, buf, 4096, TFS_CLASS_MAX), -ENOSPC); /* past 32 KiB */
	/* a truncate ends the refusal and what the cached writes added */
	ck_assert_int_eq(tfs_setattr(fs, st.st_ino, &(struct stat){ .st_size = 65536 },
				     TFS_SET_SIZE, &st), 0);
	ck_assert_int_eq(tfs_write_cached(fs, in, 131072, buf, 65536, TFS_CLASS_MAX), 65536);
	ck_assert_int_eq(tfs_write_refused(fs, in, 65536), 1);
	ck_assert_uint_eq(in->i_size, 65536);
	/* past the refused place: refused; at it: the refused data again */
	ck_assert_int_eq(tfs_write_cached(fs, in, 69632, buf, 4096, TFS_CLASS_MAX), -ENOSPC);
	ck_assert_int_eq(tfs_write_cached(fs, in, 65536, buf, 4096, TFS_CLASS_MAX), 4096);
	/* an ordinary write into what cached writes added: never cut back */
	ck_assert_int_eq(tfs_write(fs, in, 65536, buf, 4096), 4096);
	ck_assert_int_eq(tfs_write_refused(fs, in, 65536), 0);
	ck_assert_uint_eq(in->i_size, 69632);
	/* cached growth, then a fallocate: nothing is cut back any more */
	ck_assert_int_eq(tfs_setattr(fs, st.st_ino, &(struct stat){ .st_size = 69632 },
				     TFS_SET_SIZE, &st), 0);
	ck_assert_int_eq(tfs_write_cached(fs, in, 69632, buf, 4096, TFS_CLASS_MAX), 4096);
	ck_assert_int_eq(tfs_fallocate(fs, in, FALLOC_FL_KEEP_SIZE, 0, 65536), 0);
	ck_assert_int_eq(tfs_write_refused(fs, in, 69632), 0);
	ck_assert_uint_eq(in->i_size, 73728);
	/* and all of it is there after a reload */
	tfs_release(fs, in);
	ck_assert_int_eq(tfs_commit(fs), 0);
	tp_crash(fs);
	fs = tp_open(path, 0);
	ck_assert_int_eq(tfs_lookup(fs, TFS_ROOT_INO, "f", &st), 0);
	ck_assert_int_eq(st.st_size, 73728);
	ck_assert_uint_eq(tfs_meta_verify(fs->meta, stdout), 0);
	tp_unmount(fs);
}
END_TEST

Suite *meta_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_roundtrip_crash_and_remount);
	tcase_add_test(tc, test_incremental);
	tcase_add_test(tc, test_log_cleaning);
	tcase_add_test(tc, test_damaged_newest_checkpoint);
	tcase_add_test(tc, test_journal_damage);
	tcase_add_test(tc, test_checksum_page_damage);
	tcase_add_test(tc, test_collapse_insert);
	tcase_add_test(tc, test_metadata_enospc);
	tcase_add_test(tc, test_big_file_free);
	tcase_add_test(tc, test_intent_reseal);
	tcase_add_test(tc, test_intent_across_checkpoint_crash);
	tcase_add_test(tc, test_truncate_then_write_crash);
	tcase_add_test(tc, test_big_dir_churn);
	tcase_add_test(tc, test_removed_during_checkpoint);
	tcase_add_test(tc, test_commit_not_split);
	tcase_add_test(tc, test_refused_cached_write_cuts_back);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * tests/fuzz/fuzz_journal.c - journal replay at mount.
 *
 * A one-device pool (pmem class, on a file in /dev/shm) is made once.  Each
 * input is cut into transactions: a 2-byte little-endian length, then that
 * many bytes of records.  The harness frames them as the journal would
 * (header, sequence, checksums) in journal half A after the first
 * checkpoint, so that replay gets past the checksums and applies fuzzed
 * records across transactions; a trailing byte, if any, picks one byte of
 * the framed journal to flip, which replay must then stop at.  Mount
 * (read-only: TFS_OPEN_NOREPAIR) must succeed or fail cleanly.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL (8u << 20)
static char path[64];
static uint64_t jrnl_off, pool_seed0;

static uint64_t seed(uint64_t seq)
{
	return pool_seed0 ^ (seq * 0x9E3779B97F4A7C15ull);
}

static void make_pool(void)
{
	struct tfs_inode *root;
	struct tfs_fs *fs = tfs_fs_new();
	struct tfs_sb *sb = &fs->sb;
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/tfs-fuzz-journal-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, POOL) < 0)
		abort();
	close(fd);
	sb->s_magic = TFS_SB_MAGIC;
	sb->s_version = TFS_SB_VERSION;
	sb->s_ndev = 1;
	sb->s_chunk_shift = 16;
	tfs_uuid_gen(sb->s_pool_uuid);
	sb->s_jrnl_off = TFS_META_START;
	sb->s_jrnl_len = 1u << 20;
	sb->s_ckpt_len = 1u << 20;
	sb->s_ckpt_off[0] = sb->s_jrnl_off + sb->s_jrnl_len;
	sb->s_ckpt_off[1] = sb->s_ckpt_off[0] + sb->s_ckpt_len;
	sb->s_dev[0].sd_class = TFS_CLASS_PMEM;
	sb->s_dev[0].sd_size = POOL;
	sb->s_dev[0].sd_data_off = 4u << 20;
	sb->s_dev[0].sd_nslots = (POOL - (4u << 20)) >> 16;
	tfs_uuid_gen(sb->s_dev[0].sd_uuid);
	memcpy(sb->s_dev_uuid, sb->s_dev[0].sd_uuid, 16);
	if (tfs_io_dev_open(&fs->dev[0], path, TFS_CLASS_PMEM) < 0)
		abort();
	fs->ndev = 1;
	if (tfs_sb_write(&fs->dev[0], sb) < 0)
		abort();
	fs->chunk_shift = 16;
	fs->chunk_size = 1u << 16;
	fs->chunk_blocks = 16;
	root = tfs_inode_new(fs, TFS_ROOT_INO);
	root->i_dir = tfs_dir_new();
	root->i_mode = S_IFDIR | 0755;
	root->i_nlink = 2;
	root->i_parent = TFS_ROOT_INO;
	tfs_inode_dirty(fs, root);
	if (tfs_checkpoint_initial(fs) < 0)
		abort();
	jrnl_off = sb->s_jrnl_off; /* the first checkpoint is in slot A: half A */
	memcpy(&pool_seed0, sb->s_pool_uuid, 8);
	tfs_fs_close(fs);
	tfs_io_thread_exit();
}

static void remove_pool(void)
{
	unlink(path);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t half[(1u << 20) / 2];
	size_t pos = 0, off = 0;
	uint64_t seq = 1;
	struct tfs_fs *fs;
	int fd;

	if (!path[0]) {
		make_pool();
		atexit(remove_pool);
	}
	tfs_log_verbose = -1;
	memset(half, 0, sizeof(half));
	while (pos + 2 <= size) {
		uint32_t len = (uint32_t)(data[pos] | data[pos + 1] << 8);
		uint8_t *h = half + off;
		size_t span;

		pos += 2;
		if (len > size - pos)
			len = (uint32_t)(size - pos);
		span = (TFS_JHDR_SIZE + len + 63) & ~(size_t)63;
		if (off + span > sizeof(half) / 2) /* the checkpoint rule keeps it half full */
			break;
		memcpy(h + TFS_JHDR_SIZE, data + pos, len);
		put32(h, TFS_JRNL_MAGIC);
		put32(h + 4, len);
		put64(h + 8, seq);
		put32(h + 16, 1);
		put32(h + 20, 0);
		put64(h + 24, 0);
		put64(h + 32, tfs_hash(data + pos, len, seed(seq)));
		put64(h + 40, tfs_hash(h, 40, seed(seq)));
		pos += len;
		off += span;
		seq++;
	}
	if (pos < size && off)
		half[data[size - 1] * 7919u % off] ^= 0x5a; /* damage somewhere */
	fd = open(path, O_RDWR);
	if (fd < 0 || pwrite(fd, half, sizeof(half), (off_t)jrnl_off) != (ssize_t)sizeof(half))
		abort();
	close(fd);
	if (tfs_fs_open(&fs, path, NULL, 0, TFS_OPEN_NOREPAIR) == 0)
		tfs_fs_close(fs);
	tfs_io_thread_exit();
	return 0;
}

/*
 * tests/fuzz/fuzz_log.c - loading the metadata log of a checkpoint: page
 * framing, records that span pages, and every kind of unit record (inode,
 * xattrs, directory block, chunk group, checksum directory, tombstones).
 *
 * A small pool is made, populated and unmounted once, and the log pages of
 * its newest checkpoint are found.  For each input the pool is put back as
 * it was, and the input is cut into pages: 4 bytes (the offset of the first
 * record starting in the page, and the payload bytes used, little-endian
 * u16s) then up to a page of payload.  The harness seals each such page
 * with the position and generation the real one had, so that it verifies,
 * and writes it over both copies; then the pool is opened as fsck.tierfs -n
 * does (no repair, salvage).  That open must succeed or fail cleanly: never
 * a crash, a leak or undefined behaviour.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta_i.h"
#include "testpool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define POOL (16u << 20)
#define MAXP 64
static char path[64];
static uint8_t *pristine;
static uint64_t off1[MAXP], off2[MAXP], lpos[MAXP], gen[MAXP], seed;
static unsigned int npages;

static void put_back(void)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, pristine, POOL, 0) != (ssize_t)POOL)
		abort();
	close(fd);
}

static void init(void)
{
	const struct tfs_ctx ctx = { .uid = 0, .gid = 0 };
	uint64_t lens[MAXP];
	struct tfs_lpg_hdr h;
	struct tfs_fs *fs;
	struct stat st;
	unsigned int i, n2;
	int fd;

	setenv("TFS_TEST_DIR", "/dev/shm", 0);
	tp_make(path, TFS_CLASS_BLOCK, POOL, 16, 1u << 20);
	fs = tp_open(path, 0);
	if (tfs_mknod(fs, &ctx, TFS_ROOT_INO, "d", S_IFDIR | 0755, 0, NULL, &st) < 0 ||
	    tfs_mknod(fs, &ctx, st.st_ino, "l", S_IFLNK | 0777, 0, "../g", &st) < 0)
		abort();
	tp_file(fs, TFS_ROOT_INO, "f", 300000, 1);
	if (tfs_lookup(fs, TFS_ROOT_INO, "f", &st) < 0 ||
	    tfs_xattr_set(fs, &ctx, st.st_ino, "user.k", "value", 5, 0) < 0)
		abort();
	tp_unmount(fs);
	fs = tp_open(path, TFS_OPEN_NOREPAIR);
	npages = tp_regions_match(fs, "logpage", "copy 1", off1, lens, MAXP);
	n2 = tp_regions_match(fs, "logpage", "copy 2", off2, lens, MAXP);
	seed = fs->meta->seed;
	tp_crash(fs);
	if (npages > MAXP)
		npages = MAXP;
	if (!npages || n2 < npages)
		abort();
	pristine = malloc(POOL);
	fd = open(path, O_RDONLY);
	if (!pristine || fd < 0 || pread(fd, pristine, POOL, 0) != (ssize_t)POOL)
		abort();
	close(fd);
	for (i = 0; i < npages; i++) {
		memcpy(&lpos[i], pristine + off1[i] + 8, 8);
		if (tfs_lpg_check(&h, seed, lpos[i], pristine + off1[i]) < 0)
			abort();
		gen[i] = h.gen;
	}
	tfs_log_verbose = -1; /* errors about bad records are expected */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t page[TFS_LOG_PAGE];
	struct tfs_fs *fs;
	size_t pos = 0;
	unsigned int i;
	int fd;

	if (!pristine)
		init();
	put_back();
	fd = open(path, O_WRONLY);
	if (fd < 0)
		abort();
	for (i = 0; i < npages && pos + 4 <= size; i++) {
		struct tfs_lpg_hdr h = { .first = (uint16_t)(data[pos] | data[pos + 1] << 8),
					 .used = (uint16_t)(data[pos + 2] | data[pos + 3] << 8),
					 .lpos = lpos[i], .gen = gen[i] };
		size_t n = size - pos - 4 < TFS_LPG_PAYLOAD ? size - pos - 4 : TFS_LPG_PAYLOAD;

		memset(page, 0, sizeof(page));
		memcpy(page + TFS_LPG_HDR, data + pos + 4, n);
		pos += 4 + n;
		tfs_lpg_seal(&h, seed, page);
		if (pwrite(fd, page, TFS_LOG_PAGE, (off_t)off1[i]) != TFS_LOG_PAGE ||
		    pwrite(fd, page, TFS_LOG_PAGE, (off_t)off2[i]) != TFS_LOG_PAGE)
			abort();
	}
	close(fd);
	fs = NULL;
	if (tp_open_ret(path, TFS_OPEN_NOREPAIR | TFS_OPEN_SALVAGE, &fs) == 0 || fs)
		tp_crash(fs);
	return 0;
}

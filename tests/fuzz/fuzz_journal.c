/*
 * tests/fuzz/fuzz_journal.c - journal replay at mount.
 *
 * A small pool (one block-class device on a file in /dev/shm) is made and
 * populated once, and unmounted.  For each input the pool is put back as it
 * was and opened; the input is cut into transactions (a 2-byte
 * little-endian length, then that many bytes of records) that the harness
 * commits as the journal would (jrnl_write: header, sequence, checksums,
 * end marker), so that replay gets past the checksums and applies the
 * fuzzed records; the pool is dropped without unmounting and opened again
 * as fsck.tierfs -n does (no repair, salvage).  That open must succeed or
 * fail cleanly: never a crash, a leak or undefined behaviour.
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
static char path[64];
static uint8_t *pristine;

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
	struct tfs_fs *fs;
	struct stat st;
	int fd;

	setenv("TFS_TEST_DIR", "/dev/shm", 0);
	tp_make(path, TFS_CLASS_BLOCK, POOL, 16, 1u << 20);
	fs = tp_open(path, 0);
	if (tfs_mknod(fs, &ctx, TFS_ROOT_INO, "d", S_IFDIR | 0755, 0, NULL, &st) < 0)
		abort();
	tp_file(fs, st.st_ino, "f", 200000, 1);
	tp_file(fs, TFS_ROOT_INO, "g", 5000, 2);
	tp_unmount(fs);
	pristine = malloc(POOL);
	fd = open(path, O_RDONLY);
	if (!pristine || fd < 0 || pread(fd, pristine, POOL, 0) != (ssize_t)POOL)
		abort();
	close(fd);
	tfs_log_verbose = -1; /* errors about bad records are expected */
}

/* records in @p: u16 type, u16 zero, u32 length, payload */
static uint32_t count_records(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	uint32_t n = 0;

	while (pos + 8 <= len) {
		uint32_t l = (uint32_t)p[pos + 4] | (uint32_t)p[pos + 5] << 8 |
			     (uint32_t)p[pos + 6] << 16 | (uint32_t)p[pos + 7] << 24;

		if (l > len - pos - 8)
			break;
		pos += 8 + l;
		n++;
	}
	return n ? n : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tfs_fs *fs;
	size_t pos = 0;
	int ret;

	if (!pristine)
		init();
	put_back();
	ret = tp_open_ret(path, 0, &fs);
	if (ret != 0) {
		fprintf(stderr, "the pristine pool does not open: %s\n", strerror(-ret));
		abort();
	}
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		if (jrnl_write(fs->meta, data + pos, len, count_records(data + pos, len),
			       fs->ns.next_ino) < 0)
			break;
		pos += len;
	}
	tp_crash(fs);
	if (tp_open_ret(path, TFS_OPEN_NOREPAIR | TFS_OPEN_SALVAGE, &fs) == 0 || fs)
		tp_crash(fs);
	return 0;
}

/*
 * tests/fuzz/fuzz_zemu.c - the header and zone tables of a zoned device
 * emulated on a file (io/backend_zns_emu.c).
 *
 * The input is the start of such a file: a 4 KiB header and the two zone
 * table copies (zero-padded to 12 KiB).  When its first byte is odd the
 * harness puts valid checksums over the header and both tables, so that the
 * fuzzer reaches the geometry and zone-condition checks.  The file is made
 * big enough for the zones the header claims (sparse, capped), and opened:
 * that must succeed or fail cleanly; an opened device must report zones
 * whose write pointers lie within them.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 4096u

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8); /* little-endian hosts, as the fuzz build */
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[3 * HDR];
	static char path[64];
	struct tfs_io_dev dev;
	struct tfs_zone z[8];
	uint64_t nr, tl, h;
	unsigned int i, n;
	int fd;

	if (!path[0])
		snprintf(path, sizeof(path), "%s/tfs-fuzz-zemu-%d",
			 getenv("TFS_TEST_DIR") ? getenv("TFS_TEST_DIR") : "/dev/shm", (int)getpid());
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	nr = get64(buf + 32);
	tl = (8 + (nr & 0xff) * 16 + 8 + 4095) & ~4095ull;
	if (size && (data[0] & 1)) {
		memcpy(buf, "TFSZEMU1", 8);
		buf[8] = 1;
		memset(buf + 9, 0, 7);
		nr &= 0xff; /* the tables must fit in the buffer */
		memcpy(buf + 32, &nr, 8);
		h = XXH3_64bits(buf, HDR - 8);
		memcpy(buf + HDR - 8, &h, 8);
		if (HDR + 2 * tl <= sizeof(buf))
			for (i = 0; i < 2; i++) {
				h = XXH3_64bits(buf + HDR + i * tl, tl - 8);
				memcpy(buf + HDR + i * tl + tl - 8, &h, 8);
			}
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    ftruncate(fd, 1ll << 30) < 0)
		abort();
	close(fd);
	if (tfs_io_dev_open(&dev, path, TFS_CLASS_ZNS) == 0) {
		n = (unsigned int)tfs_zns_report(&dev, 0, z, 8);
		for (i = 0; i < n; i++)
			if (z[i].wp < z[i].start || z[i].wp > z[i].start + z[i].len)
				abort();
		tfs_io_dev_close(&dev);
	}
	tfs_io_thread_exit();
	unlink(path);
	return 0;
}

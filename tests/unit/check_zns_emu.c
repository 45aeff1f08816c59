/* tests/unit/check_zns_emu.c - the file-backed zoned device: geometry
 * checks, the zone rules through the I/O engine, write pointers persisted at
 * flush (and only then), the second table copy when one is damaged */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "io.h"

#define ZSZ (1u << 20)
#define ZCAP (768u << 10)
#define NZ 16

static char path[] = "/tmp/tfs-zns-XXXXXX";
static struct tfs_io_dev dev;

static void setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tfs_zns_emu_format(path, ZSZ, ZCAP, NZ, 4, 6), 0);
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_MAX), 0);
	ck_assert_uint_eq(dev.d_class, TFS_CLASS_ZNS);
	ck_assert_uint_eq(dev.d_size, (uint64_t)NZ * ZSZ);
}

static void teardown(void)
{
	tfs_io_dev_close(&dev);
	unlink(path);
	strcpy(path, "/tmp/tfs-zns-XXXXXX");
	tfs_io_thread_exit();
}

static int io(unsigned int op, void *buf, uint32_t len, uint64_t off)
{
	struct tfs_io_req r = { .r_dev = &dev, .r_op = op, .r_buf = buf, .r_len = len, .r_off = off };

	return tfs_io_run(&r, 1);
}

static void reopen(void)
{
	tfs_io_dev_close(&dev);
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_ZNS), 0);
}

START_TEST(test_geometry)
{
	const char *why = NULL;

	ck_assert_int_eq(tfs_zns_emu_check(3u << 20, 1u << 20, 8, 2, 2, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "power of two"));
	ck_assert_int_eq(tfs_zns_emu_check(ZSZ, ZSZ + 4096, 8, 2, 2, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "capacity"));
	ck_assert_int_eq(tfs_zns_emu_check(ZSZ, ZCAP, 8, 4, 2, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "max-open"));
	ck_assert_int_eq(tfs_zns_emu_check(ZSZ, ZCAP, 8, 4, 9, &why), -EINVAL);
	ck_assert_int_eq(tfs_zns_emu_check(ZSZ, ZCAP, 8, 4, 6, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(tfs_zns_emu_format(path, ZSZ, ZCAP, 8, 7, 6), -EINVAL);
}
END_TEST

START_TEST(test_rules)
{
	uint8_t *buf = tfs_io_alloc(ZSZ), *back = tfs_io_alloc(ZSZ);
	struct tfs_zone z[NZ];
	unsigned int i;

	memset(buf, 0xab, ZSZ);
	ck_assert_int_eq(tfs_zns_report(&dev, 0, z, NZ), NZ);
	for (i = 0; i < NZ; i++) {
		ck_assert_uint_eq(z[i].cond, TFS_ZC_EMPTY);
		ck_assert_uint_eq(z[i].cap, ZCAP); /* capacity below size */
	}
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 8192), -EIO);	/* not at the WP */
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 8192, 0), 0);
	ck_assert_int_eq(io(TFS_IO_READ, back, 8192, 0), 0);
	ck_assert(!memcmp(back, buf, 8192));
	ck_assert_int_eq(io(TFS_IO_READ, back, 4096, 8192), -EIO);	/* beyond the WP */
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, ZCAP, 8192), -EIO);	/* past capacity */
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, ZCAP - 8192, 8192), 0);
	ck_assert_int_eq(tfs_zns_report(&dev, 0, z, 1), 1);
	ck_assert_uint_eq(z[0].cond, TFS_ZC_FULL);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, ZCAP), -EIO);	/* a FULL zone */
	/* open limit 4 with implicit close, active limit 6 */
	for (i = 1; i <= 6; i++)
		ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, (uint64_t)i * ZSZ), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 7ull * ZSZ), -EOVERFLOW);
	for (i = 1; i <= 4; i++)
		ck_assert_int_eq(tfs_zns_mgmt(&dev, i, TFS_ZONE_OPEN), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 5ull * ZSZ + 4096), -ETOOMANYREFS);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 1, TFS_ZONE_FINISH), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 5ull * ZSZ + 4096), 0);
	/* reset: empty again, the data gone, writes from the start */
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 0, TFS_ZONE_RESET), 0);
	ck_assert_int_eq(io(TFS_IO_READ, back, 4096, 0), -EIO);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 0), 0);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, NZ, TFS_ZONE_RESET), -EINVAL);
	tfs_io_free(buf);
	tfs_io_free(back);
}
END_TEST

START_TEST(test_persistence)
{
	uint8_t *buf = tfs_io_alloc(65536);
	struct tfs_zone z[3];
	int fd;

	memset(buf, 0x3c, 65536);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 65536, 0), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 65536, ZSZ), 0);
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 2, TFS_ZONE_FINISH), 0); /* durable at once */
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 65536, 65536), 0); /* not flushed */
	/* a crash: the write pointers are the flushed ones, open zones closed */
	tfs_io_dev_close(&dev);
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_ZNS), 0);
	ck_assert_int_eq(tfs_zns_report(&dev, 0, z, 3), 3);
	ck_assert_uint_eq(z[0].wp, 65536);
	ck_assert_uint_eq(z[0].cond, TFS_ZC_CLOSED);
	ck_assert_uint_eq(z[1].wp, ZSZ + 65536);
	ck_assert_uint_eq(z[2].cond, TFS_ZC_FULL);
	/* the next write goes where the flushed write pointer is */
	ck_assert_int_eq(io(TFS_IO_WRITE, buf, 4096, 65536), 0);
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	/* both table copies hold the newest state: damage to either one loses
	 * nothing; damage to both is a device that cannot be opened */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	{
		uint8_t junk[64], *save = malloc(4096);
		uint64_t s0 = 0, s1 = 0;
		off_t a = 4096, tl;
		int c;

		memset(junk, 0x55, sizeof(junk));
		ck_assert_int_eq(pread(fd, &s0, 8, a), 8);
		/* copy B follows copy A; its length is a multiple of 4K */
		for (tl = 4096; tl < (off_t)ZSZ; tl += 4096)
			if (pread(fd, &s1, 8, a + tl) == 8 && s1 == s0)
				break;
		ck_assert_uint_eq(s1, s0);
		for (c = 0; c < 2; c++) {
			ck_assert_int_eq(pread(fd, save, 4096, a + c * tl), 4096);
			ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), a + c * tl + 16),
					 (ssize_t)sizeof(junk));
			reopen();
			ck_assert_int_eq(tfs_zns_report(&dev, 0, z, 1), 1);
			ck_assert_uint_eq(z[0].wp, 65536 + 4096);
			ck_assert_int_eq(tfs_zns_emu_verify(&dev, NULL, 0), 1);
			ck_assert_int_eq(pwrite(fd, save, 4096, a + c * tl), 4096);
		}
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), a + 16), (ssize_t)sizeof(junk));
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), a + tl + 16), (ssize_t)sizeof(junk));
		tfs_io_dev_close(&dev);
		ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_ZNS), -EUCLEAN);
		ck_assert_int_eq(pwrite(fd, save, 4096, a + tl), 4096);
		ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_ZNS), 0);
		free(save);
	}
	close(fd);
	tfs_io_free(buf);
}
END_TEST

Suite *zns_emu_suite(void)
{
	Suite *s = suite_create("zns_emu");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_geometry);
	tcase_add_test(tc, test_rules);
	tcase_add_test(tc, test_persistence);
	suite_add_tcase(s, tc);
	return s;
}

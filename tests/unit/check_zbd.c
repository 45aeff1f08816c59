/* tests/unit/check_zbd.c - the real zoned backend (io/backend_zns.c) run
 * against the stand-in kernel (io/zbd_standin.c): selected by what the path
 * is, its geometry and limits from the ioctls and sysfs, writes through the
 * ring checked at the write pointer, zone management, and the error paths
 * of a zone gone READONLY or OFFLINE and of a failed reset */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "io.h"

#define ZSZ (1u << 20)
#define ZCAP (768u << 10)
#define NZ 12

static char img[] = "/tmp/tfs-zbd-XXXXXX";
static char blk[] = "/tmp/tfs-zbd-blk-XXXXXX";
static struct tfs_io_dev dev;
static uint8_t *buf;

static int io(unsigned int op, uint32_t len, uint64_t off)
{
	struct tfs_io_req r = { .r_dev = &dev, .r_op = op, .r_buf = buf, .r_len = len, .r_off = off };

	return tfs_io_run(&r, 1);
}

static struct tfs_zone zone(uint32_t i)
{
	struct tfs_zone z;

	ck_assert_int_eq(tfs_zns_report(&dev, i, &z, 1), 1);
	return z;
}

static void setup(void)
{
	int fd = mkstemp(img);

	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = mkstemp(blk);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	/* 2 open zones, 3 active */
	ck_assert_int_eq(tfs_zbd_standin_create(img, NZ, ZSZ, ZCAP, 2, 3), 0);
	ck_assert_int_eq(tfs_zbd_standin_install(img), 0);
	buf = tfs_io_alloc(64 << 10);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0x5a, 64 << 10);
}

static void teardown(void)
{
	char state[sizeof(img) + 4];

	tfs_io_dev_close(&dev);
	tfs_io_free(buf);
	snprintf(state, sizeof(state), "%s.zbd", img);
	unlink(state);
	unlink(img);
	unlink(blk);
	tfs_io_thread_exit();
}

START_TEST(test_selected_and_geometry)
{
	struct tfs_io_dev b;
	struct tfs_zgeom g;

	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_MAX), 0);
	ck_assert_ptr_eq(dev.d_ops, &tfs_zns_ops);
	ck_assert_uint_eq(dev.d_class, TFS_CLASS_ZNS);
	ck_assert_uint_eq(dev.d_size, (uint64_t)NZ * ZSZ);
	ck_assert_int_eq(dev.d_direct, 1);
	ck_assert_int_eq(tfs_zns_geometry(&dev, &g), 0);
	ck_assert_uint_eq(g.nr_zones, NZ);
	ck_assert_uint_eq(g.zone_size, ZSZ);
	ck_assert_uint_eq(g.zone_cap, ZCAP);
	ck_assert_uint_eq(g.max_open, 2);
	ck_assert_uint_eq(g.max_active, 3);
	tfs_io_dev_close(&dev);
	/* a host-managed device is never taken as a block device */
	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_BLOCK), -ENOTSUP);
	/* other paths are what they are */
	ck_assert_int_eq(tfs_io_dev_open(&b, blk, TFS_CLASS_MAX), 0);
	ck_assert_ptr_eq(b.d_ops, &tfs_block_ops);
	tfs_io_dev_close(&b);
}
END_TEST

START_TEST(test_write_pointer)
{
	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_ZNS), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 64 << 10, ZSZ), 0);
	ck_assert_uint_eq(zone(1).wp, ZSZ + (64 << 10));
	ck_assert_uint_eq(zone(1).cond, TFS_ZC_IMP_OPEN);
	/* off the write pointer, behind it, past the capacity: EIO */
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, ZSZ + (128 << 10)), -EIO);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, ZSZ), -EIO);
	ck_assert_uint_eq(zone(1).wp, ZSZ + (64 << 10));
	/* synchronous writes are checked too */
	ck_assert_int_eq(tfs_io_dev_pwrite(&dev, buf, 4096, ZSZ + 4096), -EIO);
	ck_assert_int_eq(tfs_io_dev_pwrite(&dev, buf, 4096, ZSZ + (64 << 10)), 0);
	ck_assert_int_eq(io(TFS_IO_READ, 4096, ZSZ), 0);
	/* finish: FULL, no more writes; reset: empty again */
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 1, TFS_ZONE_FINISH), 0);
	ck_assert_uint_eq(zone(1).cond, TFS_ZC_FULL);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, ZSZ + (68 << 10)), -EIO);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 1, TFS_ZONE_RESET), 0);
	ck_assert_uint_eq(zone(1).cond, TFS_ZC_EMPTY);
	ck_assert_uint_eq(zone(1).wp, ZSZ);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, ZSZ), 0);
	/* the state is the device's: a new open sees it */
	tfs_io_dev_close(&dev);
	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_ZNS), 0);
	ck_assert_uint_eq(zone(1).wp, ZSZ + 4096);
}
END_TEST

START_TEST(test_limits)
{
	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_ZNS), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 2 * (uint64_t)ZSZ), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 3 * (uint64_t)ZSZ), 0);
	/* a third open zone: the device closes an implicitly open one */
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 4 * (uint64_t)ZSZ), 0);
	ck_assert_uint_eq(zone(2).cond, TFS_ZC_CLOSED);
	/* a fourth active zone: refused */
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 5 * (uint64_t)ZSZ), -EIO);
	ck_assert_uint_eq(zone(5).cond, TFS_ZC_EMPTY);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 2, TFS_ZONE_FINISH), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 5 * (uint64_t)ZSZ), 0);
}
END_TEST

START_TEST(test_zone_failures)
{
	ck_assert_int_eq(tfs_io_dev_open(&dev, img, TFS_CLASS_ZNS), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 6 * (uint64_t)ZSZ), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 7 * (uint64_t)ZSZ), 0);
	/* read-only: readable, not writable, not resettable */
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 6, "readonly"), 0);
	ck_assert_uint_eq(zone(6).cond, TFS_ZC_READONLY);
	ck_assert_int_eq(io(TFS_IO_READ, 4096, 6 * (uint64_t)ZSZ), 0);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 6 * (uint64_t)ZSZ + 4096), -EIO);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 6, TFS_ZONE_RESET), -EIO);
	/* offline: not even readable */
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 7, "offline"), 0);
	ck_assert_int_eq(io(TFS_IO_READ, 4096, 7 * (uint64_t)ZSZ), -EIO);
	ck_assert_uint_eq(zone(7).cond, TFS_ZC_OFFLINE);
	/* a reset that fails once */
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 8 * (uint64_t)ZSZ), 0);
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 8, "fail-reset=1"), 0);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 8, TFS_ZONE_RESET), -EIO);
	ck_assert_uint_eq(zone(8).wp, 8 * (uint64_t)ZSZ + 4096);
	ck_assert_int_eq(tfs_zns_mgmt(&dev, 8, TFS_ZONE_RESET), 0);
	ck_assert_uint_eq(zone(8).wp, 8 * (uint64_t)ZSZ);
	/* a write pointer moved under the host */
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 9, "wp=64"), 0);
	ck_assert_uint_eq(zone(9).cond, TFS_ZC_CLOSED);
	ck_assert_int_eq(io(TFS_IO_WRITE, 4096, 9 * (uint64_t)ZSZ), -EIO);
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 99, "offline"), -EINVAL);
	ck_assert_int_eq(tfs_zbd_standin_poke(img, 9, "sideways"), -EINVAL);
}
END_TEST

Suite *zbd_suite(void)
{
	Suite *s = suite_create("zbd");
	TCase *tc = tcase_create("standin");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_selected_and_geometry);
	tcase_add_test(tc, test_write_pointer);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_zone_failures);
	suite_add_tcase(s, tc);
	return s;
}

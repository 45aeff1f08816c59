/* tests/unit/check_io.c - the io_uring engine: async submit with callbacks,
 * the sync batch helper, EOF as an error, and fault injection */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "io.h"

static char path[] = "/tmp/tfs-io-XXXXXX";
static struct tfs_io_dev dev;

static void setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_BLOCK), 0);
	ck_assert_uint_eq(dev.d_size, 1 << 20);
}

static void teardown(void)
{
	tfs_io_dev_close(&dev);
	unlink(path);
	strcpy(path, "/tmp/tfs-io-XXXXXX");
	tfs_io_thread_exit();
}

static int completed;
static void on_done(struct tfs_io_req *req)
{
	ck_assert_int_eq(req->r_res, 0);
	completed++;
}

START_TEST(test_async_and_sync)
{
	struct tfs_io_req w[8], r[8];
	uint8_t *buf = tfs_io_alloc(8 * TFS_BLOCK_SIZE), *back = tfs_io_alloc(8 * TFS_BLOCK_SIZE);
	int i;

	for (i = 0; i < 8 * (int)TFS_BLOCK_SIZE; i++)
		buf[i] = (uint8_t)(i * 13 + i / 4096);
	completed = 0;
	for (i = 0; i < 8; i++) {
		w[i] = (struct tfs_io_req){ .r_dev = &dev, .r_op = TFS_IO_WRITE,
					    .r_buf = buf + i * TFS_BLOCK_SIZE,
					    .r_len = TFS_BLOCK_SIZE,
					    .r_off = (uint64_t)(7 - i) * TFS_BLOCK_SIZE,
					    .r_cb = on_done };
		ck_assert_int_eq(tfs_io_submit(&w[i]), 0);
	}
	while (completed < 8)
		ck_assert_int_ge(tfs_io_reap(1), 0);
	ck_assert_int_eq(tfs_io_dirty(&dev), 1);
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	ck_assert_int_eq(tfs_io_dirty(&dev), 0);
	/* a flush covers the writes completed before it started, not those
	 * after: one that started earlier (and read an older generation)
	 * leaves the device dirty when it ends after a later write */
	tfs_io_written(&dev);
	ck_assert_int_eq(tfs_io_dirty(&dev), 1);
	__atomic_store_n(&dev.d_fgen, dev.d_wgen - 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(tfs_io_dirty(&dev), 1);
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	ck_assert_int_eq(tfs_io_dirty(&dev), 0);
	for (i = 0; i < 8; i++)
		r[i] = (struct tfs_io_req){ .r_dev = &dev, .r_op = TFS_IO_READ,
					    .r_buf = back + i * TFS_BLOCK_SIZE,
					    .r_len = TFS_BLOCK_SIZE,
					    .r_off = (uint64_t)(7 - i) * TFS_BLOCK_SIZE };
	ck_assert_int_eq(tfs_io_run(r, 8), 0);
	ck_assert(memcmp(buf, back, 8 * TFS_BLOCK_SIZE) == 0);
	tfs_io_free(buf);
	tfs_io_free(back);
}
END_TEST

START_TEST(test_read_past_end)
{
	uint8_t *buf = tfs_io_alloc(2 * TFS_BLOCK_SIZE);
	struct tfs_io_req r = { .r_dev = &dev, .r_op = TFS_IO_READ, .r_buf = buf,
				.r_len = 2 * TFS_BLOCK_SIZE,
				.r_off = (1 << 20) - TFS_BLOCK_SIZE };

	/* a short read is resubmitted; hitting the end is an error, not zeros */
	ck_assert_int_eq(tfs_io_run(&r, 1), -EIO);
	ck_assert_int_eq(r.r_done, TFS_BLOCK_SIZE);
	tfs_io_free(buf);
}
END_TEST

static int fail_submit(void *ring, unsigned int wait_nr)
{
	(void)ring;
	(void)wait_nr;
	return -EIO;
}

static ssize_t short_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	/* at most 100 bytes per call: the helpers must loop */
	return pwrite(fd, buf, len > 100 ? 100 : len, off);
}

START_TEST(test_fault_injection)
{
	uint8_t *buf = tfs_io_alloc(TFS_BLOCK_SIZE), *back = tfs_io_alloc(TFS_BLOCK_SIZE);
	struct tfs_io_req r = { .r_dev = &dev, .r_op = TFS_IO_READ, .r_buf = buf,
				.r_len = TFS_BLOCK_SIZE };
	int fd;

	ck_assert_int_eq(tfs_syscall_set("no_such_call", NULL), -ENOENT);
	ck_assert_int_eq(tfs_syscall_set("uring_submit", (void *)fail_submit), 0);
	ck_assert_int_eq(tfs_io_run(&r, 1), -EIO);
	ck_assert_int_eq(tfs_syscall_set("uring_submit", NULL), 0);
	/* the engine dropped the failed ring: the next batch works on a new one */
	ck_assert_int_eq(tfs_io_run(&r, 1), 0);

	memset(buf, 0x77, TFS_BLOCK_SIZE);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tfs_syscall_set("pwrite", (void *)short_pwrite), 0);
	ck_assert_int_eq(tfs_io_pwrite_full(fd, buf, TFS_BLOCK_SIZE, 8192), 0);
	ck_assert_int_eq(tfs_syscall_set("pwrite", NULL), 0);
	ck_assert_int_eq(tfs_io_pread_full(fd, back, TFS_BLOCK_SIZE, 8192), 0);
	ck_assert(memcmp(buf, back, TFS_BLOCK_SIZE) == 0);
	close(fd);
	tfs_io_free(buf);
	tfs_io_free(back);
}
END_TEST

/* the request-level fault plan: errors, torn and short writes, filters */
START_TEST(test_fault_plan)
{
	uint8_t *buf = tfs_io_alloc(4 * TFS_BLOCK_SIZE), *back = tfs_io_alloc(4 * TFS_BLOCK_SIZE);
	struct tfs_io_req w = { .r_dev = &dev, .r_op = TFS_IO_WRITE, .r_buf = buf,
				.r_len = 4 * TFS_BLOCK_SIZE, .r_off = 65536 };
	struct tfs_io_req r = { .r_dev = &dev, .r_op = TFS_IO_READ, .r_buf = back,
				.r_len = 4 * TFS_BLOCK_SIZE, .r_off = 65536 };
	unsigned int i;

	ck_assert_int_eq(tfs_fault_set("write"), -EINVAL);
	ck_assert_int_eq(tfs_fault_set("bogus:EIO"), -EINVAL);
	ck_assert_int_eq(tfs_fault_set("flush:torn"), -EINVAL);
	ck_assert_int_eq(tfs_fault_set("write:EIO:after=x"), -EINVAL);
	ck_assert_int_eq(tfs_fault_set("write:EIO:what=1"), -EINVAL);
	/* the second write fails with EIO, moving nothing; the third is fine */
	ck_assert_int_eq(tfs_fault_set("write:EIO:after=1"), 0);
	memset(buf, 1, 4 * TFS_BLOCK_SIZE);
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	memset(buf, 2, 4 * TFS_BLOCK_SIZE);
	ck_assert_int_eq(tfs_io_run(&w, 1), -EIO);
	ck_assert_int_eq(tfs_io_run(&r, 1), 0);
	ck_assert_uint_eq(back[0], 1);
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	ck_assert_uint_eq(tfs_fault_hits(), 1);
	/* torn: the first half lands, then EIO */
	ck_assert_int_eq(tfs_fault_set("write:torn"), 0);
	memset(buf, 3, 4 * TFS_BLOCK_SIZE);
	ck_assert_int_eq(tfs_io_run(&w, 1), -EIO);
	ck_assert_int_eq(tfs_io_run(&r, 1), 0);
	ck_assert_uint_eq(back[0], 3);
	ck_assert_uint_eq(back[2 * TFS_BLOCK_SIZE - 1], 3);
	ck_assert_uint_eq(back[2 * TFS_BLOCK_SIZE], 2);
	/* short: reported short once, the engine finishes the rest */
	ck_assert_int_eq(tfs_fault_set("write:short:count=0"), 0);
	memset(buf, 4, 4 * TFS_BLOCK_SIZE);
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	ck_assert_uint_ge(tfs_fault_hits(), 1);
	ck_assert_int_eq(tfs_io_run(&r, 1), 0);
	for (i = 0; i < 4 * TFS_BLOCK_SIZE; i++)
		ck_assert_uint_eq(back[i], 4);
	/* filters: jwrite hits metadata requests only, dev= by path */
	ck_assert_int_eq(tfs_fault_set("jwrite:ENOSPC:count=0"), 0);
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	w.r_flags = TFS_IO_F_META;
	ck_assert_int_eq(tfs_io_run(&w, 1), -ENOSPC);
	w.r_flags = 0;
	/* dwrite: data requests only */
	ck_assert_int_eq(tfs_fault_set("dwrite:EIO:count=0"), 0);
	ck_assert_int_eq(tfs_io_run(&w, 1), -EIO);
	w.r_flags = TFS_IO_F_META;
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	w.r_flags = 0;
	ck_assert_int_eq(tfs_fault_set("write:EIO:count=0:dev=no-such-device"), 0);
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	ck_assert_int_eq(tfs_fault_set("flush:EIO"), 0);
	ck_assert_int_eq(tfs_io_flush(&dev), -EIO);
	ck_assert_int_eq(tfs_io_dirty(&dev), 1); /* a failed flush leaves the device dirty */
	ck_assert_int_eq(tfs_fault_set(NULL), 0);
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	tfs_io_free(buf);
	tfs_io_free(back);
}
END_TEST

Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_async_and_sync);
	tcase_add_test(tc, test_read_past_end);
	tcase_add_test(tc, test_fault_injection);
	tcase_add_test(tc, test_fault_plan);
	suite_add_tcase(s, tc);
	return s;
}

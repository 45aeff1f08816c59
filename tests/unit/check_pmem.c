/* tests/unit/check_pmem.c - the pmem backend and its persistence layer:
 * mode selection, the shadow crash mode (only persisted lines survive), the
 * 8-byte commit point, a record fixture whose missing flush the shadow mode
 * must catch, and pmem requests through the engine */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include "check_suites.h"
#include "io.h"

#define PM_SIZE (1u << 20)

static char path[] = "/tmp/tfs-pmem-XXXXXX";
static struct tfs_io_dev dev;

static void open_pm(int shadow)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, PM_SIZE), 0);
	close(fd);
	if (shadow)
		setenv("TIERFS_PMEM_SHADOW", "1", 1);
	else
		unsetenv("TIERFS_PMEM_SHADOW");
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_PMEM), 0);
	unsetenv("TIERFS_PMEM_SHADOW");
	ck_assert_ptr_nonnull(dev.d_map);
	ck_assert_uint_eq(dev.d_size, PM_SIZE);
}

static void teardown(void)
{
	tfs_io_dev_close(&dev);
	unlink(path);
	strcpy(path, "/tmp/tfs-pmem-XXXXXX");
	tfs_io_thread_exit();
}

/* what the media (the file) holds at @off */
static void media(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

START_TEST(test_modes)
{
	open_pm(0);
	/* no DAX on a file in /tmp: the msync fallback */
	ck_assert_int_eq(tfs_pmem_mode(&dev), TFS_PMEM_MSYNC);
	ck_assert_str_eq(tfs_pmem_mode_str(&dev), "msync");
	ck_assert_int_eq(tfs_pmem_store8(&dev, 12, 1), -EINVAL); /* unaligned */
	ck_assert_int_eq(tfs_pmem_store8(&dev, PM_SIZE, 1), -EINVAL);
	ck_assert_int_eq(tfs_pmem_crash(&dev), -EINVAL); /* shadow mode only */
	tfs_io_dev_close(&dev);
	/* a regular file is only pmem when the pool says so */
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, TFS_CLASS_MAX), 0);
	ck_assert_ptr_null(dev.d_map);
	ck_assert_uint_eq(dev.d_class, TFS_CLASS_BLOCK);
	tfs_io_dev_close(&dev);
	unlink(path);
	strcpy(path, "/tmp/tfs-pmem-XXXXXX");
	open_pm(1);
	ck_assert_int_eq(tfs_pmem_mode(&dev), TFS_PMEM_SHADOW);
}
END_TEST

START_TEST(test_shadow_crash)
{
	uint8_t back[256];

	open_pm(1);
	memset(dev.d_map + 4096, 0xaa, 100); /* lines 64 and 65 (bytes 4096..4195) */
	ck_assert_int_eq(tfs_pmem_persist(&dev, 4096, 1), 0); /* line 64 only */
	memset(dev.d_map + 8192, 0xbb, 64); /* never persisted */
	/* a store is visible at once, durable only once persisted */
	media(4096, back, 128);
	ck_assert_uint_eq(back[0], 0xaa);
	ck_assert_uint_eq(back[63], 0xaa); /* the whole line went with byte 0 */
	ck_assert_uint_eq(back[64], 0);	   /* the next line did not */
	ck_assert_uint_eq(tfs_pmem_persisted(&dev), 64);
	ck_assert_int_eq(tfs_pmem_crash(&dev), 0);
	ck_assert_uint_eq(dev.d_map[4096], 0xaa);
	ck_assert_uint_eq(dev.d_map[4096 + 63], 0xaa);
	ck_assert_uint_eq(dev.d_map[4096 + 64], 0); /* stored, not persisted: lost */
	ck_assert_uint_eq(dev.d_map[8192], 0);
	/* the commit word */
	ck_assert_int_eq(tfs_pmem_store8(&dev, 16384, 0x1122334455667788ull), 0);
	ck_assert_int_eq(tfs_pmem_crash(&dev), 0);
	ck_assert(*(uint64_t *)(void *)(dev.d_map + 16384) == 0x1122334455667788ull);
}
END_TEST

/*
 * A fixture: a record is [commit word: magic << 32 | len][XXH3 of payload]
 * [payload].  The right order is payload and hash, persist, then the commit
 * word.  @skip_flush leaves out the persist, the bug the shadow mode exists
 * to catch.
 */
#define REC_MAGIC 0x52454331ull

static int rec_write(uint64_t off, const void *p, uint32_t len, int skip_flush)
{
	uint64_t h = XXH3_64bits(p, len);
	int ret = 0;

	memcpy(dev.d_map + off + 8, &h, 8);
	memcpy(dev.d_map + off + 16, p, len);
	if (!skip_flush)
		ret = tfs_pmem_persist(&dev, off + 8, 8 + len);
	return ret ? ret : tfs_pmem_store8(&dev, off, REC_MAGIC << 32 | len);
}

/* 1: a committed, intact record; 0: none; -1: committed but damaged */
static int rec_check(uint64_t off)
{
	uint64_t w, h;

	memcpy(&w, dev.d_map + off, 8);
	if (w >> 32 != REC_MAGIC)
		return 0;
	memcpy(&h, dev.d_map + off + 8, 8);
	return XXH3_64bits(dev.d_map + off + 16, (uint32_t)w) == h ? 1 : -1;
}

START_TEST(test_missing_flush_caught)
{
	char payload[3000];

	memset(payload, 'p', sizeof(payload));
	open_pm(1);
	/* persisted properly: survives the crash intact */
	ck_assert_int_eq(rec_write(0, payload, sizeof(payload), 0), 0);
	/* the buggy writer: looks fine until the crash */
	ck_assert_int_eq(rec_write(65536, payload, sizeof(payload), 1), 0);
	ck_assert_int_eq(rec_check(0), 1);
	ck_assert_int_eq(rec_check(65536), 1);
	ck_assert_int_eq(tfs_pmem_crash(&dev), 0);
	ck_assert_int_eq(rec_check(0), 1);
	ck_assert_int_eq(rec_check(65536), -1); /* the missing flush is caught */
	/* a crash before the commit word: the record does not exist */
	memcpy(dev.d_map + 131072 + 16, payload, 100);
	ck_assert_int_eq(tfs_pmem_persist(&dev, 131072 + 16, 100), 0);
	ck_assert_int_eq(tfs_pmem_crash(&dev), 0);
	ck_assert_int_eq(rec_check(131072), 0);
}
END_TEST

static int completed;
static void on_done(struct tfs_io_req *req)
{
	ck_assert_int_eq(req->r_res, 0);
	completed++;
}

START_TEST(test_engine)
{
	uint8_t wbuf[5000], rbuf[5000];
	struct tfs_io_req w = { 0 }, r = { 0 };

	open_pm(1);
	memset(wbuf, 0x5c, sizeof(wbuf));
	/* unaligned lengths and offsets are fine on pmem */
	w = (struct tfs_io_req){ .r_dev = &dev, .r_op = TFS_IO_WRITE, .r_buf = wbuf,
				 .r_len = sizeof(wbuf), .r_off = 1000 };
	ck_assert_int_eq(tfs_io_run(&w, 1), 0);
	ck_assert_int_eq(tfs_io_dirty(&dev), 0); /* durable already: nothing to flush */
	/* engine writes are persisted: they survive a crash */
	ck_assert_int_eq(tfs_pmem_crash(&dev), 0);
	r = (struct tfs_io_req){ .r_dev = &dev, .r_op = TFS_IO_READ, .r_buf = rbuf,
				 .r_len = sizeof(rbuf), .r_off = 1000, .r_cb = on_done };
	completed = 0;
	ck_assert_int_eq(tfs_io_submit(&r), 0);
	ck_assert_int_eq(completed, 0); /* callbacks run from reap, never inside submit */
	ck_assert_int_eq(tfs_io_reap(1), 1);
	ck_assert_int_eq(completed, 1);
	ck_assert(!memcmp(rbuf, wbuf, sizeof(wbuf)));
	ck_assert_int_eq(tfs_io_flush(&dev), 0);
	/* out of range */
	r.r_off = PM_SIZE - 10;
	ck_assert_int_eq(tfs_io_run(&r, 1), -EIO);
}
END_TEST

Suite *pmem_suite(void)
{
	Suite *s = suite_create("pmem");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_shadow_crash);
	tcase_add_test(tc, test_missing_flush_caught);
	tcase_add_test(tc, test_engine);
	suite_add_tcase(s, tc);
	return s;
}

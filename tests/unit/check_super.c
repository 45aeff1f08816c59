/* tests/unit/check_super.c - superblock encode/decode and the two copies */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "tfs.h"

static void sample(struct tfs_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->s_magic = TFS_SB_MAGIC;
	sb->s_version = TFS_SB_VERSION;
	tfs_uuid_gen(sb->s_pool_uuid);
	sb->s_ndev = 2;
	sb->s_dev_index = 1;
	sb->s_chunk_shift = 18;
	sb->s_reserve_pct = 5;
	tfs_cs_geometry(64, &sb->s_cs_psize, &sb->s_cs_per_page);
	sb->s_ckh_off[0] = 65536;
	sb->s_ckh_off[1] = 65536 + 4096;
	sb->s_jrnl_off = 3 * 65536;
	sb->s_jrnl_len = 1 << 20;
	strcpy(sb->s_label, "lbl");
	sb->s_dev[0].sd_index = 0;
	sb->s_dev[1].sd_index = 1;
	sb->s_dev[1].sd_class = TFS_CLASS_BLOCK;
	sb->s_dev[1].sd_nslots = 77;
	sb->s_dev[1].sd_cs_dev = 1;
	sb->s_dev[1].sd_cs_off = 2 << 20;
	sb->s_dev[1].sd_cs_pages = (77 + sb->s_cs_per_page - 1) / sb->s_cs_per_page;
	strcpy(sb->s_dev[1].sd_path, "/some/where.img");
	memcpy(sb->s_dev_uuid, sb->s_dev[1].sd_uuid, 16);
}

START_TEST(test_roundtrip_and_damage)
{
	uint8_t *buf = malloc(TFS_SB_SIZE);
	struct tfs_sb sb, out;
	size_t i;

	sample(&sb);
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), 0);
	ck_assert(!memcmp(out.s_pool_uuid, sb.s_pool_uuid, 16));
	ck_assert_uint_eq(out.s_dev[1].sd_nslots, 77);
	ck_assert_str_eq(out.s_dev[1].sd_path, "/some/where.img");
	ck_assert_str_eq(out.s_label, "lbl");
	/* any flipped byte is caught */
	for (i = 8; i < TFS_SB_SIZE; i += 97) {
		buf[i] ^= 0x40;
		ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
		buf[i] ^= 0x40;
	}
	buf[0] ^= 1;
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -ENOENT);
	buf[0] ^= 1;
	/* checksummed but nonsensical geometry is refused too */
	sb.s_ndev = 99;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
	sb.s_ndev = 2;
	sb.s_dev[1].sd_cs_pages--;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
	sb.s_dev[1].sd_cs_pages++;
	/* format 5: the table generation and the device states round-trip */
	sb.s_gen = 7;
	sb.s_dev[1].sd_flags = TFS_SD_DRAINING;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), 0);
	ck_assert_uint_eq(out.s_gen, 7);
	ck_assert_uint_eq(out.s_dev[1].sd_flags, TFS_SD_DRAINING);
	/* an unknown state, a state on the metadata device, and a state in
	 * an older format are damage */
	sb.s_dev[1].sd_flags = 4;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
	sb.s_dev[1].sd_flags = 0;
	sb.s_dev[sb.s_meta_dev].sd_flags = TFS_SD_REMOVED;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
	sb.s_dev[sb.s_meta_dev].sd_flags = 0;
	sb.s_dev[1].sd_flags = TFS_SD_DRAINING;
	sb.s_version = 4;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EINVAL);
	sb.s_dev[1].sd_flags = 0;
	sb.s_gen = 0;
	/* format 3 (no heat in the log) is still read */
	sb.s_version = 3;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), 0);
	ck_assert_uint_eq(out.s_version, 3);
	/* another format version: recognised, and refused as such */
	sb.s_version = 2;
	tfs_sb_encode(&sb, buf);
	ck_assert_int_eq(tfs_sb_decode(&out, buf), -EPROTONOSUPPORT);
	ck_assert_uint_eq(out.s_version, 2);
	free(buf);
}
END_TEST

/* both backends: a block file (O_DIRECT) and a pmem mapping */
START_TEST(test_two_copies)
{
	char path[] = "/tmp/tfs-sb-XXXXXX";
	unsigned int cls = _i ? TFS_CLASS_PMEM : TFS_CLASS_BLOCK;
	int fd = mkstemp(path);
	struct tfs_io_dev dev;
	uint8_t junk[512];
	struct tfs_sb sb, out;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	ck_assert_int_eq(tfs_io_dev_open(&dev, path, cls), 0);
	unlink(path);
	ck_assert_int_eq(tfs_sb_read(&dev, &out, 0), -ENOENT);
	sample(&sb);
	ck_assert_int_eq(tfs_sb_write(&dev, &sb), 0);
	memset(junk, 0x5a, sizeof(junk));
	/* damage copy 0: copy 1 is used and, with repair, copy 0 rewritten */
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 100), (ssize_t)sizeof(junk));
	ck_assert_int_eq(tfs_sb_read(&dev, &out, 1), 0);
	ck_assert(!memcmp(out.s_pool_uuid, sb.s_pool_uuid, 16));
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), TFS_SB_COPY1 + 100), (ssize_t)sizeof(junk));
	ck_assert_int_eq(tfs_sb_read(&dev, &out, 0), 0); /* copy 0 was repaired */
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 100), (ssize_t)sizeof(junk));
	ck_assert_int_eq(tfs_sb_read(&dev, &out, 0), -EINVAL); /* both bad */
	tfs_io_dev_close(&dev);
	tfs_io_thread_exit();
	close(fd);
}
END_TEST

START_TEST(test_foreign)
{
	uint8_t *buf = calloc(1, 70000);

	ck_assert_ptr_null(tfs_sb_foreign(buf, 70000));
	buf[1080] = 0x53;
	buf[1081] = 0xef;
	ck_assert_str_eq(tfs_sb_foreign(buf, 70000), "ext2/3/4");
	memset(buf, 0, 70000);
	memcpy(buf, "XFSB", 4);
	ck_assert_str_eq(tfs_sb_foreign(buf, 70000), "xfs");
	free(buf);
}
END_TEST

Suite *super_suite(void)
{
	Suite *s = suite_create("super");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip_and_damage);
	tcase_add_loop_test(tc, test_two_copies, 0, 2);
	tcase_add_test(tc, test_foreign);
	suite_add_tcase(s, tc);
	return s;
}

/* tests/unit/check_meta.c - metadata records: encode, apply, serialize */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check_suites.h"
#include "tfs.h"

static struct tfs_fs *mkfs_mem(void)
{
	struct tfs_fs *fs = tfs_fs_new();

	ck_assert_ptr_nonnull(fs);
	fs->ndev = 2;
	fs->sb.s_ndev = 2;
	fs->sb.s_dev[0].sd_nslots = 100;
	fs->sb.s_dev[1].sd_nslots = 100;
	fs->sb.s_ckpt_len = 1 << 20;
	fs->chunk_shift = 18;
	fs->chunk_size = 1 << 18;
	fs->chunk_blocks = 64;
	fs->loading = 1;
	return fs;
}

static void mk_inode(struct tfs_inode *in, uint64_t ino, uint32_t mode, uint32_t nlink)
{
	memset(in, 0, sizeof(*in));
	in->i_ino = ino;
	in->i_gen = 1;
	in->i_mode = mode;
	in->i_nlink = nlink;
	in->i_uid = 1000 + (uint32_t)ino;
	in->i_gid = 2000;
	in->i_size = ino * 12345;
	in->i_mtime.tv_sec = 1700000000;
	in->i_mtime.tv_nsec = 123456789;
	in->i_parent = 1;
}

/* a small pool as a record stream: /, /dir, /dir/file (2 chunks, xattr), /link */
static void build_stream(struct tfs_wbuf *w)
{
	struct tfs_inode in;
	struct tfs_chunk *c;

	/* children first: placeholders must be resolved by the end */
	meta_put_dirent(w, TFS_REC_DIRENT_ADD, 2, 3, 3, "file", 4);
	meta_put_dirent(w, TFS_REC_DIRENT_ADD, 1, 3, 2, "dir", 3);
	meta_put_dirent(w, TFS_REC_DIRENT_ADD, 1, 4, 4, "link", 4);
	mk_inode(&in, 1, S_IFDIR | 0755, 3);
	meta_put_inode(w, &in);
	mk_inode(&in, 2, S_IFDIR | 0700, 2);
	meta_put_inode(w, &in);
	mk_inode(&in, 3, S_IFREG | 0644, 1);
	meta_put_inode(w, &in);
	mk_inode(&in, 4, S_IFLNK | 0777, 1);
	in.i_symlink = "dir/file";
	meta_put_inode(w, &in);
	meta_put_xattr(w, TFS_REC_XATTR_SET, 3, "user.k", 6, "value", 5);
	c = tier_chunk_new(3, 0, 64);
	c->c_dev = 1;
	c->c_slot = 42;
	tier_chunk_set(c, 0);
	tier_chunk_set(c, 63);
	c->c_csum[0] = 0xdeadbeef;
	c->c_csum[63] = 0x12345678;
	meta_put_chunk(w, c);
	c->c_idx = 9;
	c->c_slot = 43;
	meta_put_chunk(w, c);
	tier_chunk_free(c);
}

static void check_pool(struct tfs_fs *fs)
{
	struct tfs_inode *root = tfs_inode_get(fs, 1), *dir, *f, *l;
	struct tfs_chunk *c;
	char buf[16];

	ck_assert_ptr_nonnull(root);
	ck_assert_ptr_nonnull(tfs_dir_lookup(root->i_dir, "dir", 3));
	dir = tfs_inode_get(fs, 2);
	ck_assert(S_ISDIR(dir->i_mode));
	ck_assert_uint_eq(tfs_dir_lookup(dir->i_dir, "file", 4)->d_ino, 3);
	f = tfs_inode_get(fs, 3);
	ck_assert_uint_eq(f->i_size, 3 * 12345);
	ck_assert_uint_eq(f->i_uid, 1003);
	ck_assert_int_eq(f->i_mtime.tv_nsec, 123456789);
	ck_assert_uint_eq(f->i_map.m_count, 2);
	ck_assert_uint_eq(f->i_map.m_blocks, 4);
	c = tier_cmap_get(&f->i_map, 9);
	ck_assert_uint_eq(c->c_slot, 43);
	ck_assert_uint_eq(c->c_dev, 1);
	ck_assert_uint_eq(c->c_csum[63], 0x12345678);
	ck_assert(!tier_chunk_has(c, 1));
	ck_assert_int_eq(tfs_xattr_get(fs, 3, "user.k", buf, sizeof(buf)), 5);
	ck_assert(!memcmp(buf, "value", 5));
	l = tfs_inode_get(fs, 4);
	ck_assert_str_eq(l->i_symlink, "dir/file");
}

START_TEST(test_apply_and_roundtrip)
{
	struct tfs_fs *a = mkfs_mem(), *b = mkfs_mem();
	struct tfs_wbuf w = { 0 }, w2 = { 0 };

	build_stream(&w);
	ck_assert_int_eq(w.err, 0);
	ck_assert_int_eq(meta_apply_all(a, w.b, w.len), 0);
	ck_assert_int_eq(meta_finish_load(a), 0);
	check_pool(a);
	ck_assert_uint_eq(a->next_ino, 5);
	/* allocator rebuilt from the maps */
	ck_assert_uint_eq(a->alloc.a_nfree, 198);
	/* a checkpoint of it loads into the same pool */
	ck_assert_int_eq(meta_serialize(a, &w2), 0);
	ck_assert_int_eq(meta_apply_all(b, w2.b, w2.len), 0);
	ck_assert_int_eq(meta_finish_load(b), 0);
	check_pool(b);
	tfs_wbuf_free(&w);
	tfs_wbuf_free(&w2);
	tfs_fs_close(a);
	tfs_fs_close(b);
}
END_TEST

/* a pool with a 10,000-entry directory and a 6,000-chunk file, taken whole
 * and in small parts (as a checkpoint under load does): both load to it */
START_TEST(test_serialize_in_parts)
{
	struct tfs_fs *a = mkfs_mem(), *b = mkfs_mem(), *c = mkfs_mem();
	struct tfs_wbuf w = { 0 }, whole = { 0 }, parts = { 0 };
	struct meta_cursor cur = { 0, 0, 0 };
	struct tfs_inode in;
	char name[32];
	unsigned int i, calls = 0;

	a->sb.s_dev[0].sd_nslots = 10000;
	b->sb.s_dev[0].sd_nslots = 10000;
	c->sb.s_dev[0].sd_nslots = 10000;
	mk_inode(&in, 1, S_IFDIR | 0755, 3);
	meta_put_inode(&w, &in);
	mk_inode(&in, 2, S_IFDIR | 0755, 2);
	meta_put_inode(&w, &in);
	meta_put_dirent(&w, TFS_REC_DIRENT_ADD, 1, 3, 2, "big", 3);
	mk_inode(&in, 3, S_IFREG | 0644, 1);
	meta_put_inode(&w, &in);
	meta_put_dirent(&w, TFS_REC_DIRENT_ADD, 1, 4, 3, "file", 4);
	for (i = 0; i < 10000; i++) {
		mk_inode(&in, 10 + i, S_IFREG | 0600, 1);
		meta_put_inode(&w, &in);
		snprintf(name, sizeof(name), "f%u", i);
		meta_put_dirent(&w, TFS_REC_DIRENT_ADD, 2, 3 + i, 10 + i, name, strlen(name));
	}
	for (i = 0; i < 6000; i++) {
		struct tfs_chunk *ch = tier_chunk_new(3, i, 64);

		ch->c_dev = 0;
		ch->c_slot = i;
		tier_chunk_set(ch, 0);
		meta_put_chunk(&w, ch);
		tier_chunk_free(ch);
	}
	ck_assert_int_eq(meta_apply_all(a, w.b, w.len), 0);
	ck_assert_int_eq(meta_finish_load(a), 0);
	ck_assert_int_eq(meta_serialize(a, &whole), 0);
	while (cur.bucket < a->inodes.t_size) {
		ck_assert_int_eq(meta_serialize_part(a, &parts, &cur, 4096), 0);
		calls++;
	}
	ck_assert_uint_gt(calls, 20); /* the directory and the file were split */
	ck_assert_uint_eq(parts.len, whole.len);
	ck_assert_int_eq(meta_apply_all(b, whole.b, whole.len), 0);
	ck_assert_int_eq(meta_finish_load(b), 0);
	ck_assert_int_eq(meta_apply_all(c, parts.b, parts.len), 0);
	ck_assert_int_eq(meta_finish_load(c), 0);
	ck_assert_uint_eq(b->ninodes, 10003);
	ck_assert_uint_eq(c->ninodes, 10003);
	ck_assert_uint_eq(tfs_inode_get(c, 2)->i_dir->dr_live, 10000);
	ck_assert_uint_eq(tfs_inode_get(c, 3)->i_map.m_count, 6000);
	ck_assert_uint_eq(c->alloc.a_nfree, b->alloc.a_nfree);
	tfs_wbuf_free(&w);
	tfs_wbuf_free(&whole);
	tfs_wbuf_free(&parts);
	tfs_fs_close(a);
	tfs_fs_close(b);
	tfs_fs_close(c);
}
END_TEST

START_TEST(test_truncated_streams)
{
	struct tfs_wbuf w = { 0 };
	size_t cut, boundaries = 0;

	build_stream(&w);
	for (cut = 1; cut < w.len; cut++) {
		struct tfs_fs *fs = mkfs_mem();
		int ret = meta_apply_all(fs, w.b, cut);

		/* a cut record is refused, never half applied */
		if (ret == 0)
			boundaries++;
		else
			ck_assert_int_eq(ret, -EINVAL);
		tfs_fs_close(fs);
	}
	ck_assert_uint_eq(boundaries, 9); /* 10 records: 9 inner boundaries */
	tfs_wbuf_free(&w);
}
END_TEST

START_TEST(test_inconsistent)
{
	struct tfs_fs *fs = mkfs_mem();
	struct tfs_wbuf w = { 0 };
	struct tfs_inode in;
	struct tfs_chunk *c = tier_chunk_new(1, 0, 64);

	mk_inode(&in, 1, S_IFDIR | 0755, 2);
	meta_put_inode(&w, &in);
	/* an entry naming an inode that is never described */
	meta_put_dirent(&w, TFS_REC_DIRENT_ADD, 1, 3, 77, "ghost", 5);
	ck_assert_int_eq(meta_apply_all(fs, w.b, w.len), 0);
	ck_assert_int_eq(meta_finish_load(fs), -EUCLEAN);
	tfs_fs_close(fs);
	tfs_wbuf_free(&w);

	/* a chunk on a device the pool does not have */
	fs = mkfs_mem();
	c->c_dev = 5;
	meta_put_chunk(&w, c);
	ck_assert_int_eq(meta_apply_all(fs, w.b, w.len), -EINVAL);
	tfs_fs_close(fs);
	tfs_wbuf_free(&w);

	/* two chunks in one slot */
	fs = mkfs_mem();
	mk_inode(&in, 1, S_IFDIR | 0755, 2);
	meta_put_inode(&w, &in);
	mk_inode(&in, 2, S_IFREG | 0644, 0);
	meta_put_inode(&w, &in);
	c->c_dev = 0;
	c->c_ino = 2;
	meta_put_chunk(&w, c);
	c->c_idx = 1;
	meta_put_chunk(&w, c);
	ck_assert_int_eq(meta_apply_all(fs, w.b, w.len), 0);
	ck_assert_int_eq(meta_finish_load(fs), -EUCLEAN);
	tfs_fs_close(fs);
	tfs_wbuf_free(&w);
	tier_chunk_free(c);
}
END_TEST

START_TEST(test_free_records)
{
	struct tfs_fs *fs = mkfs_mem();
	struct tfs_wbuf w = { 0 };

	build_stream(&w);
	meta_put_chunk_free(&w, 3, 9);
	meta_put_xattr(&w, TFS_REC_XATTR_DEL, 3, "user.k", 6, NULL, 0);
	meta_put_dirent(&w, TFS_REC_DIRENT_DEL, 1, 0, 0, "link", 4);
	meta_put_ino(&w, TFS_REC_INODE_FREE, 4);
	ck_assert_int_eq(meta_apply_all(fs, w.b, w.len), 0);
	ck_assert_int_eq(meta_finish_load(fs), 0);
	ck_assert_ptr_null(tfs_inode_get(fs, 4));
	ck_assert_uint_eq(tfs_inode_get(fs, 3)->i_map.m_count, 1);
	ck_assert_int_eq(tfs_xattr_get(fs, 3, "user.k", NULL, 0), -ENODATA);
	ck_assert_uint_eq(fs->alloc.a_nfree, 199);
	tfs_fs_close(fs);
	tfs_wbuf_free(&w);
}
END_TEST

Suite *meta_suite(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_apply_and_roundtrip);
	tcase_add_test(tc, test_truncated_streams);
	tcase_add_test(tc, test_serialize_in_parts);
	tcase_add_test(tc, test_inconsistent);
	tcase_add_test(tc, test_free_records);
	suite_add_tcase(s, tc);
	return s;
}

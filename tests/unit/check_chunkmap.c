/* tests/unit/check_chunkmap.c - chunk objects (slab) and the per-file
 * radix map of chunk groups */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check_suites.h"
#include "tier.h"

static struct tier_chunks ch;

static void chunks_setup(void)
{
	tier_chunks_init(&ch, 64);
}

static void chunks_teardown(void)
{
	tier_chunks_destroy(&ch);
}

static void free_chunk(void *arg, struct tfs_chunk *c, struct tier_cgroup *g)
{
	(void)g;
	tier_chunk_free(arg, c);
}

START_TEST(test_set_get_next)
{
	struct tier_cmap m;
	uint64_t idx[] = { 0, 1, 63, 64, 511, 512, 100000, 1ull << 26 };
	unsigned int i, n = sizeof(idx) / sizeof(idx[0]);
	uint64_t g;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		struct tfs_chunk *c = tier_chunk_new(&ch, 7, idx[i]);

		ck_assert_ptr_nonnull(c);
		tier_chunk_set(c, i);
		ck_assert_int_eq(tier_cmap_set(&m, idx[i], c), 0);
	}
	ck_assert_uint_eq(m.m_count, n);
	{
		struct tfs_chunk *dup = tier_chunk_new(&ch, 7, 511);

		ck_assert_int_eq(tier_cmap_set(&m, 511, dup), -EEXIST);
		tier_chunk_free(&ch, dup);
	}
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(tier_cmap_get(&m, idx[i])->c_idx, idx[i]);
	ck_assert_ptr_null(tier_cmap_get(&m, 2));
	ck_assert_ptr_null(tier_cmap_get(&m, 65));
	ck_assert_ptr_null(tier_cmap_get(&m, 1ull << 40));
	ck_assert_uint_eq(tier_cmap_next(&m, 2)->c_idx, 63);
	ck_assert_uint_eq(tier_cmap_next(&m, 65)->c_idx, 511);
	ck_assert_uint_eq(tier_cmap_next(&m, 513)->c_idx, 100000);
	ck_assert_uint_eq(tier_cmap_next(&m, 100001)->c_idx, 1ull << 26);
	ck_assert_ptr_null(tier_cmap_next(&m, (1ull << 26) + 1));
	/* groups in order */
	g = 0;
	ck_assert_ptr_nonnull(tier_cmap_group_next(&m, &g));
	ck_assert_uint_eq(g, 0);
	g = 1;
	ck_assert_ptr_nonnull(tier_cmap_group_next(&m, &g));
	ck_assert_uint_eq(g, 1);
	g = 2;
	ck_assert_ptr_nonnull(tier_cmap_group_next(&m, &g));
	ck_assert_uint_eq(g, 7);
	ck_assert_uint_eq(__builtin_popcountll(tier_cmap_group(&m, 0)->g_present), 3);
	tier_chunk_free(&ch, tier_cmap_take(&m, 512));
	ck_assert_ptr_null(tier_cmap_get(&m, 512));
	ck_assert_uint_eq(tier_cmap_get(&m, 511)->c_idx, 511);
	ck_assert_uint_eq(m.m_count, n - 1);
	ck_assert_ptr_null(tier_cmap_take(&m, 512));
	/* an emptied group stays until dropped */
	tier_chunk_free(&ch, tier_cmap_take(&m, 100000));
	ck_assert_ptr_nonnull(tier_cmap_group(&m, 100000 >> 6));
	tier_cmap_group_drop(&m, 100000 >> 6);
	ck_assert_ptr_null(tier_cmap_group(&m, 100000 >> 6));
	ck_assert_uint_eq(tier_cmap_next(&m, 513)->c_idx, 1ull << 26);
	tier_cmap_destroy(&m, free_chunk, &ch);
	ck_assert_uint_eq(m.m_count, 0);
	ck_assert_uint_eq(ch.count, 0);
}
END_TEST

START_TEST(test_dense_and_linear_free)
{
	struct tier_cmap m;
	const uint64_t n = 200000;
	uint64_t i, seen = 0;
	struct tfs_chunk *c;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		c = tier_chunk_new(&ch, 9, i);
		ck_assert_int_eq(tier_cmap_set(&m, i, c), 0);
	}
	ck_assert_uint_eq(ch.count, n);
	/* a dense map costs about 8.4 bytes of structure a chunk */
	ck_assert_uint_le(tier_cmap_bytes(&m), n * 9);
	/* 40-byte chunk objects from 64 KiB slabs */
	ck_assert_uint_le(tier_chunks_bytes(&ch), n * 41);
	for (c = tier_cmap_next(&m, 0); c; c = tier_cmap_next(&m, (uint64_t)c->c_idx + 1))
		seen++;
	ck_assert_uint_eq(seen, n);
	tier_cmap_destroy(&m, free_chunk, &ch);
	ck_assert_uint_eq(ch.count, 0);
	/* every slab went back but at most one spare */
	ck_assert_uint_le(ch.slabs, 1);
}
END_TEST

START_TEST(test_mask_and_csum)
{
	struct tier_chunks big;
	struct tfs_chunk *c;
	uint8_t blk[TFS_BLOCK_SIZE];

	tier_chunks_init(&big, 1024); /* 4 MiB chunks */
	c = tier_chunk_new(&big, 1, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(tier_chunk_count(c, 1024), 0);
	tier_chunk_set(c, 0);
	tier_chunk_set(c, 63);
	tier_chunk_set(c, 64);
	tier_chunk_set(c, 1023);
	ck_assert_uint_eq(tier_chunk_count(c, 1024), 4);
	ck_assert(tier_chunk_has(c, 1023) && !tier_chunk_has(c, 1022));
	tier_chunk_clear(c, 63);
	ck_assert_uint_eq(tier_chunk_count(c, 1024), 3);
	memset(blk, 0xab, sizeof(blk));
	/* the checksum binds data to its file and place */
	ck_assert_uint_eq(tier_block_csum(blk, 5, 9), tier_block_csum(blk, 5, 9));
	ck_assert_uint_ne(tier_block_csum(blk, 5, 9), tier_block_csum(blk, 5, 10));
	ck_assert_uint_ne(tier_block_csum(blk, 5, 9), tier_block_csum(blk, 6, 9));
	{
		uint32_t a = tier_block_csum(blk, 5, 9);

		blk[100] ^= 1;
		ck_assert_uint_ne(a, tier_block_csum(blk, 5, 9));
	}
	tier_chunk_free(&big, c);
	tier_chunks_destroy(&big);
}
END_TEST

Suite *chunkmap_suite(void)
{
	Suite *s = suite_create("chunkmap");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, chunks_setup, chunks_teardown);
	tcase_add_test(tc, test_set_get_next);
	tcase_add_test(tc, test_dense_and_linear_free);
	tcase_add_test(tc, test_mask_and_csum);
	suite_add_tcase(s, tc);
	return s;
}

/* tests/unit/check_chunkmap.c - chunks and the per-file radix map */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "check_suites.h"
#include "tier.h"

START_TEST(test_set_get_next)
{
	struct tier_cmap m;
	uint64_t idx[] = { 0, 1, 511, 512, 100000, 1ull << 26 };
	unsigned int i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < 6; i++) {
		struct tfs_chunk *c = tier_chunk_new(7, idx[i], 64);

		ck_assert_ptr_nonnull(c);
		tier_chunk_set(c, i);
		ck_assert_int_eq(tier_cmap_set(&m, idx[i], c), 0);
	}
	ck_assert_uint_eq(m.m_count, 6);
	ck_assert_uint_eq(m.m_blocks, 6);
	{
		struct tfs_chunk *dup = tier_chunk_new(7, 511, 64);

		ck_assert_int_eq(tier_cmap_set(&m, 511, dup), -EEXIST);
		tier_chunk_free(dup);
	}
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(tier_cmap_get(&m, idx[i])->c_idx, idx[i]);
	ck_assert_ptr_null(tier_cmap_get(&m, 2));
	ck_assert_ptr_null(tier_cmap_get(&m, 1ull << 40));
	ck_assert_uint_eq(tier_cmap_next(&m, 2)->c_idx, 511);
	ck_assert_uint_eq(tier_cmap_next(&m, 513)->c_idx, 100000);
	ck_assert_uint_eq(tier_cmap_next(&m, 100001)->c_idx, 1ull << 26);
	ck_assert_ptr_null(tier_cmap_next(&m, (1ull << 26) + 1));
	tier_chunk_free(tier_cmap_take(&m, 512));
	ck_assert_ptr_null(tier_cmap_get(&m, 512));
	ck_assert_uint_eq(m.m_count, 5);
	ck_assert_uint_eq(m.m_blocks, 5);
	ck_assert_ptr_null(tier_cmap_take(&m, 512));
	tier_cmap_destroy(&m);
	ck_assert_uint_eq(m.m_count, 0);
}
END_TEST

START_TEST(test_mask_and_csum)
{
	struct tfs_chunk *c = tier_chunk_new(1, 0, 1024); /* 4 MiB chunk */
	uint8_t blk[TFS_BLOCK_SIZE];

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(tier_chunk_count(c), 0);
	tier_chunk_set(c, 0);
	tier_chunk_set(c, 63);
	tier_chunk_set(c, 64);
	tier_chunk_set(c, 1023);
	ck_assert_uint_eq(tier_chunk_count(c), 4);
	ck_assert(tier_chunk_has(c, 1023) && !tier_chunk_has(c, 1022));
	tier_chunk_clear(c, 63);
	ck_assert_uint_eq(tier_chunk_count(c), 3);
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
	tier_chunk_free(c);
}
END_TEST

Suite *chunkmap_suite(void)
{
	Suite *s = suite_create("chunkmap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_set_get_next);
	tcase_add_test(tc, test_mask_and_csum);
	suite_add_tcase(s, tc);
	return s;
}

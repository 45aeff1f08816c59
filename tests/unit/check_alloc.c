/* tests/unit/check_alloc.c - slot allocator and striping placement */
#include <errno.h>
#include <string.h>
#include "check_suites.h"
#include "tier.h"

START_TEST(test_fill_and_release)
{
	uint64_t nslots[2] = { 70, 3 }, slot;
	struct tier_alloc a;
	unsigned int n = 0;
	uint16_t dev;
	uint8_t seen[2][70];

	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(tier_alloc_init(&a, 2, nslots, NULL), 0);
	ck_assert_uint_eq(a.a_nfree, 73);
	while (tier_alloc_take(&a, 1, &dev, &slot) == 0) {
		ck_assert_uint_lt(slot, nslots[dev]);
		ck_assert_int_eq(seen[dev][slot], 0); /* never handed out twice */
		seen[dev][slot] = 1;
		n++;
	}
	ck_assert_uint_eq(n, 73);
	ck_assert_uint_eq(a.a_nfree, 0);
	ck_assert_int_eq(tier_alloc_take(&a, 0, &dev, &slot), -ENOSPC);
	tier_alloc_release(&a, 0, 65);
	ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &slot), 0);
	ck_assert_uint_eq(dev, 0);
	ck_assert_uint_eq(slot, 65);
	tier_alloc_destroy(&a);
}
END_TEST

/* a device being emptied: nothing new goes there, it leaves the totals,
 * its own counts go on; a device added later joins them */
START_TEST(test_out_and_add)
{
	uint64_t nslots[2] = { 10, 10 }, slot, s1[3];
	unsigned int classes[2] = { TFS_CLASS_BLOCK, TFS_CLASS_BLOCK }, i;
	struct tier_alloc a;
	uint16_t dev;

	ck_assert_int_eq(tier_alloc_init(&a, 2, nslots, classes), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &s1[i]), 0);
		ck_assert_uint_eq(dev, 1);
	}
	tier_alloc_set_out(&a, 1);
	ck_assert_uint_eq(a.a_nslots, 10);
	ck_assert_uint_eq(a.a_nfree, 10);
	ck_assert_uint_eq(a.a_nfree_ip, 10);
	ck_assert_uint_eq(tier_alloc_dev_used(&a, 1), 3);
	ck_assert_int_eq(tier_dest(&a, TFS_CLASS_BLOCK, 0, 1, 0), 0);
	ck_assert_uint_eq(tier_place_cls(&a, 0, 1, TFS_CLASS_MAX), 0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &slot), 0);
		ck_assert_uint_eq(dev, 0);
	}
	ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &slot), -ENOSPC);
	ck_assert_int_eq(tier_dest(&a, TFS_CLASS_BLOCK, 0, 1, 0), -ENOSPC);
	/* what leaves it frees its slots, not the pool's */
	tier_alloc_release(&a, 1, s1[0]);
	ck_assert_uint_eq(tier_alloc_dev_used(&a, 1), 2);
	ck_assert_uint_eq(a.a_nfree, 0);
	ck_assert_int_eq(tier_alloc_add(&a, 3, 5, TFS_CLASS_BLOCK), -EINVAL);
	ck_assert_int_eq(tier_alloc_add(&a, 2, 5, TFS_CLASS_BLOCK), 0);
	ck_assert_uint_eq(a.a_ndev, 3);
	ck_assert_uint_eq(a.a_nfree, 5);
	ck_assert_uint_eq(a.a_nslots, 15);
	ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &slot), 0);
	ck_assert_uint_eq(dev, 2);
	tier_alloc_destroy(&a);
}
END_TEST

START_TEST(test_mark_and_place)
{
	uint64_t nslots[3] = { 10, 10, 10 }, slot;
	struct tier_alloc a;
	uint16_t dev;

	ck_assert_int_eq(tier_alloc_init(&a, 3, nslots, NULL), 0);
	ck_assert_int_eq(tier_alloc_mark(&a, 1, 4, NULL), 0);
	ck_assert_int_eq(tier_alloc_mark(&a, 1, 4, NULL), -EEXIST);
	ck_assert_int_eq(tier_alloc_mark(&a, 1, 10, NULL), -ERANGE);
	ck_assert_int_eq(tier_alloc_mark(&a, 3, 0, NULL), -ERANGE);
	ck_assert_uint_eq(a.a_nfree, 29);
	/* consecutive chunks of a file go to consecutive devices */
	ck_assert_uint_eq(tier_place(&a, 0, 0), 0);
	ck_assert_uint_eq(tier_place(&a, 0, 1), 1);
	ck_assert_uint_eq(tier_place(&a, 0, 2), 2);
	ck_assert_uint_eq(tier_place(&a, 0, 3), 0);
	ck_assert_int_eq(tier_alloc_take(&a, 2, &dev, &slot), 0);
	ck_assert_uint_eq(dev, 2);
	tier_alloc_destroy(&a);
}
END_TEST

/* pmem first while it is under the high watermark, then block, striped */
START_TEST(test_place_tiers)
{
	uint64_t nslots[3] = { 10, 100, 100 }, slot;
	unsigned int classes[3] = { TFS_CLASS_PMEM, TFS_CLASS_BLOCK, TFS_CLASS_BLOCK };
	struct tier_alloc a;
	uint16_t dev;
	int i;

	ck_assert_int_eq(tier_alloc_init(&a, 3, nslots, classes), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(tier_place(&a, 7, (uint64_t)i), 0);
		ck_assert_int_eq(tier_alloc_take(&a, tier_place(&a, 7, (uint64_t)i), &dev, &slot), 0);
		ck_assert_uint_eq(dev, 0);
	}
	ck_assert_int_eq(tier_alloc_above_high(&a, 0), 0);
	ck_assert_int_eq(tier_alloc_take(&a, 0, &dev, &slot), 0); /* 9 of 10: at the mark */
	ck_assert_int_eq(tier_alloc_above_high(&a, 0), 1);
	/* above it: striped over the block devices */
	ck_assert_uint_eq(tier_place(&a, 0, 0), 1);
	ck_assert_uint_eq(tier_place(&a, 0, 1), 2);
	/* a freed pmem slot brings pmem back under the mark */
	tier_alloc_release(&a, 0, slot);
	ck_assert_uint_eq(tier_place(&a, 0, 1), 0);
	tier_alloc_destroy(&a);
}
END_TEST

Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fill_and_release);
	tcase_add_test(tc, test_mark_and_place);
	tcase_add_test(tc, test_out_and_add);
	tcase_add_test(tc, test_place_tiers);
	suite_add_tcase(s, tc);
	return s;
}

/* tests/unit/check_zalloc.c - zones as chunk space: append order, streams,
 * the cleaning reserve, reclaim after the last live chunk dies, adoption of
 * zones at mount, and cleaning victim choice by cost-benefit */
#include <errno.h>
#include <string.h>
#include "check_suites.h"
#include "tier.h"

#define NZ 8  /* data zones */
#define SPZ 4 /* slots per zone */

static struct tier_alloc a;

static void setup(void)
{
	uint64_t nslots[2] = { 16, NZ * SPZ };
	unsigned int cls[2] = { TFS_CLASS_BLOCK, TFS_CLASS_ZNS };

	ck_assert_int_eq(tier_alloc_init(&a, 2, nslots, cls), 0);
	ck_assert_int_eq(tier_zone_init(&a, 1, NZ, SPZ, 3), 0);
}

static void teardown(void)
{
	tier_alloc_destroy(&a);
}

START_TEST(test_append_order)
{
	uint64_t s, t;
	uint16_t dev;
	int i;

	/* the in-place allocator never hands out zone slots */
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &s), 0);
		ck_assert_uint_eq(dev, 0);
	}
	ck_assert_int_eq(tier_alloc_take(&a, 1, &dev, &s), -ENOSPC);
	/* slots of one zone in order; a busy zone makes the next writer open another */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 1, &s), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 1, &t), 0);
	ck_assert_uint_eq(t / SPZ, 1); /* zone 0 busy: zone 1 opened */
	/* two user zones open (limit 3 - 1 for the cleaner), both busy */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 1, &s), -EAGAIN);
	ck_assert_int_eq(tier_zone_done(&a, 1, 0, 0), 0);
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 1, &s), 0);
	ck_assert_uint_eq(s, 1); /* right after slot 0 */
	tier_zone_done(&a, 1, s, 0);
	/* the cleaner has a zone of its own */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_CLEAN, 1, &s), 0);
	ck_assert_uint_eq(s / SPZ, 2);
	tier_zone_done(&a, 1, s, 0);
	tier_zone_done(&a, 1, t, 0);
}
END_TEST

/* user streams by lifetime: each opens its own zone while the open limit
 * allows, then shares another user stream's; the cleaner never mixes; a
 * chunk's age in device writes picks the stream of its next version */
START_TEST(test_streams)
{
	struct tier_zdev *z = a.a_dev[1].a_z;
	uint64_t s, l, u, c;

	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_SHORT, 1, &s), 0);
	tier_zone_done(&a, 1, s, 0);
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_LONG, 1, &l), 0);
	tier_zone_done(&a, 1, l, 0);
	ck_assert_uint_ne(s / SPZ, l / SPZ);
	ck_assert_uint_eq(tier_zone_stream(&a, 1, (uint32_t)(s / SPZ)), TIER_STREAM_SHORT);
	ck_assert_uint_eq(tier_zone_stream(&a, 1, (uint32_t)(l / SPZ)), TIER_STREAM_LONG);
	/* two user zones open (limit 3 - 1): USER writes into one of them */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 1, &u), 0);
	tier_zone_done(&a, 1, u, 0);
	ck_assert(u / SPZ == s / SPZ || u / SPZ == l / SPZ);
	ck_assert_uint_eq(z->z_nopen[TIER_STREAM_USER], 0);
	/* the cleaner opens its own */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_CLEAN, 1, &c), 0);
	tier_zone_done(&a, 1, c, 0);
	ck_assert(c / SPZ != s / SPZ && c / SPZ != l / SPZ);
	/* 4 slots appended of 32: young is SHORT, except a cleaner's survivor */
	ck_assert_uint_eq(z->z_clock, 4);
	ck_assert_uint_eq(tier_zone_life(&a, 1, s), TIER_STREAM_SHORT);
	ck_assert_uint_eq(tier_zone_life(&a, 1, c), TIER_STREAM_USER);
	/* a slot never written, a device written in place: nothing known */
	ck_assert_uint_eq(tier_zone_life(&a, 1, s + 2), TIER_STREAM_USER);
	ck_assert_uint_eq(tier_zone_life(&a, 0, 3), TIER_STREAM_USER);
	/* more than the device's capacity written since: LONG */
	z->z_clock += 10;
	ck_assert_uint_eq(tier_zone_life(&a, 1, s), TIER_STREAM_USER);
	z->z_clock += 30;
	ck_assert_uint_eq(tier_zone_life(&a, 1, s), TIER_STREAM_LONG);
	ck_assert_uint_eq(tier_zone_life(&a, 1, c), TIER_STREAM_LONG);
}
END_TEST

START_TEST(test_reserve_and_reclaim)
{
	uint64_t s, slots[NZ * SPZ];
	uint32_t zs[TIER_Z_NSTATES];
	int n = 0, i;

	/* users fill zones until only the reserve is left */
	while (tier_zone_take(&a, 1, TIER_STREAM_USER, 5, &s) == 0) {
		slots[n++] = s;
		tier_zone_done(&a, 1, s, 0);
	}
	ck_assert_int_eq(n, (NZ - TIER_ZONE_RESERVE) * SPZ);
	ck_assert_int_eq(tier_zone_pressure(&a, 1), 2);
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 5, &s), -ENOSPC);
	/* the cleaner may still open a reserved zone */
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_CLEAN, 5, &s), 0);
	tier_zone_done(&a, 1, s, 0);
	tier_zone_counts(&a, 1, zs);
	ck_assert_uint_eq(zs[TIER_Z_FULL], NZ - TIER_ZONE_RESERVE);
	/* a zone is reclaimable only when its last live chunk is freed */
	for (i = 0; i < SPZ - 1; i++)
		ck_assert_int_eq(tier_alloc_release(&a, 1, slots[i]), 0);
	ck_assert_int_eq(tier_zone_reclaimable(&a, 1), -1);
	ck_assert_uint_eq(tier_zone_garbage(&a, 1), SPZ - 1);
	ck_assert_int_eq(tier_alloc_release(&a, 1, slots[SPZ - 1]), 1);
	ck_assert_int_eq(tier_zone_reclaimable(&a, 1), 0);
	tier_zone_reset_done(&a, 1, 0);
	ck_assert_int_eq(tier_zone_reclaimable(&a, 1), -1);
	ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 5, &s), -ENOSPC); /* still at the reserve */
	tier_zone_counts(&a, 1, zs);
	ck_assert_uint_eq(zs[TIER_Z_FREE], TIER_ZONE_RESERVE);
}
END_TEST

START_TEST(test_victim)
{
	uint64_t s, slots[NZ * SPZ];
	int n = 0, z;

	/* zone k written at time 100 * (k + 1) */
	for (z = 0; z < 4; z++) {
		for (int k = 0; k < SPZ; k++) {
			ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 100 * (z + 1), &s), 0);
			slots[n++] = s;
			tier_zone_done(&a, 1, s, 0);
		}
	}
	ck_assert_int_eq(tier_zone_victim(&a, 1), -1); /* no garbage anywhere */
	/* zone 1: one dead of 4; zone 3: three dead of 4 -> zone 3, fewer to copy */
	tier_alloc_release(&a, 1, slots[1 * SPZ]);
	for (int k = 0; k < 3; k++)
		tier_alloc_release(&a, 1, slots[3 * SPZ + k]);
	ck_assert_int_eq(slots[3 * SPZ] / SPZ, 3);
	ck_assert_int_eq(tier_zone_victim(&a, 1), 3);
	/* same garbage: the older zone wins (its data is colder) */
	tier_alloc_release(&a, 1, slots[0]);
	tier_alloc_release(&a, 1, slots[2 * SPZ]);
	tier_alloc_release(&a, 1, slots[1 * SPZ + 1]);
	tier_alloc_release(&a, 1, slots[1 * SPZ + 2]);
	tier_alloc_release(&a, 1, slots[0 * SPZ + 1]);
	tier_alloc_release(&a, 1, slots[0 * SPZ + 2]);
	/* zones 0, 1 and 3 each have one live chunk; zone 0 is the oldest */
	ck_assert_int_eq(tier_zone_victim(&a, 1), 0);
}
END_TEST

START_TEST(test_adopt)
{
	struct tier_chunks ch;
	struct tfs_chunk *c;

	tier_chunks_init(&ch, 64);
	c = tier_chunk_new(&ch, 7, 0);

	/* a live chunk in data zone 2, slot 1 */
	ck_assert_int_eq(tier_alloc_mark(&a, 1, 2 * SPZ + 1, c), 0);
	ck_assert_ptr_eq(tier_zone_chunk(&a, 1, 2 * SPZ + 1), c);
	ck_assert_int_eq(tier_zone_adopt(&a, 1, 0, 0, 0, 1), TIER_ZADOPT_NONE); /* empty */
	ck_assert_int_eq(tier_zone_adopt(&a, 1, 1, 3, 0, 1), TIER_ZADOPT_RESET); /* garbage only */
	ck_assert_int_eq(tier_zone_adopt(&a, 1, 2, 2, 0, 1), TIER_ZADOPT_NONE); /* goes on */
	ck_assert_uint_eq(tier_zone_life(&a, 1, 2 * SPZ), TIER_STREAM_USER); /* age unknown */
	/* the next user slot follows the adopted write pointer */
	{
		uint64_t s;

		ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 2, &s), 0);
		ck_assert_uint_eq(s, 2 * SPZ + 2);
		tier_zone_done(&a, 1, s, 0);
	}
	/* a write failure seals the zone and frees the slot */
	{
		uint64_t s;

		ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 2, &s), 0);
		ck_assert_int_eq(tier_zone_done(&a, 1, s, 1), 1);
		ck_assert_ptr_null(tier_zone_chunk(&a, 1, s));
	}
	tier_chunk_free(&ch, c);
	tier_chunks_destroy(&ch);
}
END_TEST

START_TEST(test_retire)
{
	static struct tfs_chunk dummy;
	uint64_t s, slots[SPZ + 1], nfree;
	uint32_t zs[TIER_Z_NSTATES];
	int i;

	/* zone 0 full of live chunks, zone 1 open with one */
	for (i = 0; i < SPZ + 1; i++) {
		ck_assert_int_eq(tier_zone_take(&a, 1, TIER_STREAM_USER, 5, &slots[i]), 0);
		tier_zone_done(&a, 1, slots[i], 0);
		tier_alloc_bind(&a, 1, slots[i], &dummy);
	}
	ck_assert_uint_eq(slots[SPZ] / SPZ, 1);
	nfree = a.a_dev[1].a_nfree;
	ck_assert_uint_eq(tier_zone_retire(&a, 1, 0, 0), SPZ);
	ck_assert_uint_eq(a.a_dev[1].a_nfree, nfree); /* it had no room left */
	ck_assert_uint_eq(tier_zone_retire(&a, 1, 1, 1), 1);
	ck_assert_uint_eq(a.a_dev[1].a_nfree, nfree - (SPZ - 1)); /* its unwritten slots go */
	tier_zone_counts(&a, 1, zs);
	ck_assert_uint_eq(zs[TIER_Z_RETIRED], 2);
	ck_assert_uint_eq(zs[TIER_Z_OPEN], 0);
	/* the readable one is to be emptied, the lost one is not */
	ck_assert_int_eq(tier_zone_evacuee(&a, 1), 0);
	ck_assert_int_eq(tier_zone_victim(&a, 1), -1);
	for (i = 0; i < SPZ; i++)
		ck_assert_int_eq(tier_alloc_release(&a, 1, slots[i]), 0);
	ck_assert_int_eq(tier_alloc_release(&a, 1, slots[0]), 0); /* twice: nothing */
	ck_assert_uint_eq(a.a_dev[1].a_nfree, nfree - (SPZ - 1)); /* freed slots are no room */
	ck_assert_int_eq(tier_zone_evacuee(&a, 1), -1);
	ck_assert_int_eq(tier_zone_reclaimable(&a, 1), -1); /* never reset again */
	ck_assert_uint_eq(tier_zone_garbage(&a, 1), 0);
	/* never written again */
	while (tier_zone_take(&a, 1, TIER_STREAM_CLEAN, 5, &s) == 0) {
		ck_assert_uint_ge(s / SPZ, 2);
		tier_zone_done(&a, 1, s, 0);
	}
	ck_assert_uint_eq(tier_zone_reset_failed(&a, 1, 3), 1);
	ck_assert_uint_eq(tier_zone_reset_failed(&a, 1, 3), 2);
}
END_TEST

Suite *zalloc_suite(void)
{
	Suite *s = suite_create("zalloc");
	TCase *tc = tcase_create("zalloc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_append_order);
	tcase_add_test(tc, test_streams);
	tcase_add_test(tc, test_reserve_and_reclaim);
	tcase_add_test(tc, test_victim);
	tcase_add_test(tc, test_retire);
	tcase_add_test(tc, test_adopt);
	suite_add_tcase(s, tc);
	return s;
}

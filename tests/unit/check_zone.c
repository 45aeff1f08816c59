/* tests/unit/check_zone.c - the zone state machine against a table of every
 * transition and error, the open/active accounting, implicit close, and
 * reads below the write pointer only */
#include <errno.h>
#include <string.h>
#include "check_suites.h"
#include "io.h"

#define ZSZ 1024u /* zone size (bytes, small for the test) */
#define ZCAP 768u /* capacity below size, as on most ZNS drives */
#define NZ 8

static struct tfs_zone zones[NZ];
static struct tfs_zoneset zs;

static void reset_set(uint32_t max_open, uint32_t max_active)
{
	unsigned int i;

	memset(&zs, 0, sizeof(zs));
	for (i = 0; i < NZ; i++)
		zones[i] = (struct tfs_zone){ .start = i * ZSZ, .len = ZSZ, .cap = ZCAP,
					      .wp = i * ZSZ, .cond = TFS_ZC_EMPTY };
	zs.z = zones;
	zs.nr = NZ;
	zs.max_open = max_open;
	zs.max_active = max_active;
}

/* put zone 0 into @cond by the rules themselves */
static void make(unsigned int cond)
{
	switch (cond) {
	case TFS_ZC_EMPTY:
		break;
	case TFS_ZC_IMP_OPEN:
		ck_assert_int_eq(tfs_zone_write(&zs, 0, 0, 100), 0);
		break;
	case TFS_ZC_EXP_OPEN:
		ck_assert_int_eq(tfs_zone_mgmt(&zs, 0, TFS_ZONE_OPEN), 0);
		break;
	case TFS_ZC_CLOSED:
		ck_assert_int_eq(tfs_zone_write(&zs, 0, 0, 100), 0);
		ck_assert_int_eq(tfs_zone_mgmt(&zs, 0, TFS_ZONE_CLOSE), 0);
		break;
	case TFS_ZC_FULL:
		ck_assert_int_eq(tfs_zone_write(&zs, 0, 0, ZCAP), 0);
		break;
	default: /* READONLY, OFFLINE: set by the device, not by commands */
		zones[0].cond = (uint8_t)cond;
		break;
	}
	ck_assert_uint_eq(zones[0].cond, cond);
}

/* event: -1 = write 100 bytes at the WP, else a tfs_zone_op */
struct row {
	unsigned int from;
	int event;
	int ret;
	unsigned int to;
	uint32_t open, active; /* accounting afterwards */
};

#define W (-1)
static const struct row table[] = {
	{ TFS_ZC_EMPTY, W, 0, TFS_ZC_IMP_OPEN, 1, 1 },
	{ TFS_ZC_EMPTY, TFS_ZONE_OPEN, 0, TFS_ZC_EXP_OPEN, 1, 1 },
	{ TFS_ZC_EMPTY, TFS_ZONE_CLOSE, -EIO, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_EMPTY, TFS_ZONE_FINISH, 0, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_EMPTY, TFS_ZONE_RESET, 0, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_IMP_OPEN, W, 0, TFS_ZC_IMP_OPEN, 1, 1 },
	{ TFS_ZC_IMP_OPEN, TFS_ZONE_OPEN, 0, TFS_ZC_EXP_OPEN, 1, 1 },
	{ TFS_ZC_IMP_OPEN, TFS_ZONE_CLOSE, 0, TFS_ZC_CLOSED, 0, 1 },
	{ TFS_ZC_IMP_OPEN, TFS_ZONE_FINISH, 0, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_IMP_OPEN, TFS_ZONE_RESET, 0, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_EXP_OPEN, W, 0, TFS_ZC_EXP_OPEN, 1, 1 },
	{ TFS_ZC_EXP_OPEN, TFS_ZONE_OPEN, 0, TFS_ZC_EXP_OPEN, 1, 1 },
	{ TFS_ZC_EXP_OPEN, TFS_ZONE_CLOSE, 0, TFS_ZC_EMPTY, 0, 0 }, /* nothing written */
	{ TFS_ZC_EXP_OPEN, TFS_ZONE_FINISH, 0, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_EXP_OPEN, TFS_ZONE_RESET, 0, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_CLOSED, W, 0, TFS_ZC_IMP_OPEN, 1, 1 },
	{ TFS_ZC_CLOSED, TFS_ZONE_OPEN, 0, TFS_ZC_EXP_OPEN, 1, 1 },
	{ TFS_ZC_CLOSED, TFS_ZONE_CLOSE, 0, TFS_ZC_CLOSED, 0, 1 },
	{ TFS_ZC_CLOSED, TFS_ZONE_FINISH, 0, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_CLOSED, TFS_ZONE_RESET, 0, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_FULL, W, -EIO, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_FULL, TFS_ZONE_OPEN, -EIO, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_FULL, TFS_ZONE_CLOSE, -EIO, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_FULL, TFS_ZONE_FINISH, 0, TFS_ZC_FULL, 0, 0 },
	{ TFS_ZC_FULL, TFS_ZONE_RESET, 0, TFS_ZC_EMPTY, 0, 0 },
	{ TFS_ZC_READONLY, W, -EIO, TFS_ZC_READONLY, 0, 0 },
	{ TFS_ZC_READONLY, TFS_ZONE_OPEN, -EIO, TFS_ZC_READONLY, 0, 0 },
	{ TFS_ZC_READONLY, TFS_ZONE_RESET, -EIO, TFS_ZC_READONLY, 0, 0 },
	{ TFS_ZC_OFFLINE, W, -EIO, TFS_ZC_OFFLINE, 0, 0 },
	{ TFS_ZC_OFFLINE, TFS_ZONE_FINISH, -EIO, TFS_ZC_OFFLINE, 0, 0 },
	{ TFS_ZC_OFFLINE, TFS_ZONE_RESET, -EIO, TFS_ZC_OFFLINE, 0, 0 },
};

START_TEST(test_transitions)
{
	const struct row *r = &table[_i];
	int ret;

	reset_set(0, 0);
	make(r->from);
	ret = r->event == W ? tfs_zone_write(&zs, 0, zones[0].wp, 100) : tfs_zone_mgmt(&zs, 0, (unsigned int)r->event);
	ck_assert_msg(ret == r->ret, "%s, event %d: %d, expected %d", tfs_zone_cond_str(r->from),
		      r->event, ret, r->ret);
	ck_assert_msg(zones[0].cond == r->to, "%s, event %d: now %s, expected %s",
		      tfs_zone_cond_str(r->from), r->event, tfs_zone_cond_str(zones[0].cond),
		      tfs_zone_cond_str(r->to));
	ck_assert_uint_eq(zs.nr_open, r->open);
	ck_assert_uint_eq(zs.nr_active, r->active);
	if (r->to == TFS_ZC_EMPTY)
		ck_assert_uint_eq(zones[0].wp, zones[0].start);
}
END_TEST

START_TEST(test_write_rules)
{
	reset_set(0, 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ + 8, 8), -EIO); /* not at the WP */
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ, ZCAP + 1), -EIO); /* past capacity */
	ck_assert_uint_eq(zones[1].cond, TFS_ZC_EMPTY);
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ, 512), 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ, 8), -EIO); /* behind the WP now */
	/* capacity, not size, ends a zone */
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ + 512, ZCAP - 512), 0);
	ck_assert_uint_eq(zones[1].cond, TFS_ZC_FULL);
	ck_assert_uint_eq(zs.nr_open, 0);
	/* reads: below the WP only, never past the capacity */
	reset_set(0, 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 2, 2 * ZSZ, 256), 0);
	ck_assert_int_eq(tfs_zone_readable(&zs, 2, 2 * ZSZ, 256), 0);
	ck_assert_int_eq(tfs_zone_readable(&zs, 2, 2 * ZSZ + 200, 100), -EIO);
	ck_assert_int_eq(tfs_zone_readable(&zs, 2, 2 * ZSZ + ZCAP, 8), -EIO);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 9, TFS_ZONE_RESET), -EINVAL);
}
END_TEST

START_TEST(test_limits)
{
	unsigned int i;

	/* open limit 2, active limit 3 */
	reset_set(2, 3);
	ck_assert_int_eq(tfs_zone_write(&zs, 0, 0, 8), 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 1, ZSZ, 8), 0);
	/* a third write implicitly closes an implicitly open zone */
	ck_assert_int_eq(tfs_zone_write(&zs, 2, 2 * ZSZ, 8), 0);
	ck_assert_uint_eq(zs.nr_open, 2);
	ck_assert_uint_eq(zs.nr_active, 3);
	ck_assert_uint_eq(zs.implicit_closes, 1);
	ck_assert_uint_eq(zones[0].cond, TFS_ZC_CLOSED);
	/* a fourth zone: the active limit */
	ck_assert_int_eq(tfs_zone_write(&zs, 3, 3 * ZSZ, 8), -EOVERFLOW);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 3, TFS_ZONE_OPEN), -EOVERFLOW);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 3, TFS_ZONE_FINISH), -EOVERFLOW);
	ck_assert_uint_eq(zones[3].cond, TFS_ZC_EMPTY);
	/* explicitly open zones are never closed for room */
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 1, TFS_ZONE_OPEN), 0);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 2, TFS_ZONE_OPEN), 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 0, 8, 8), -ETOOMANYREFS);
	ck_assert_uint_eq(zones[0].cond, TFS_ZC_CLOSED);
	/* finishing one frees both slots */
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 1, TFS_ZONE_FINISH), 0);
	ck_assert_uint_eq(zs.nr_open, 1);
	ck_assert_uint_eq(zs.nr_active, 2);
	ck_assert_int_eq(tfs_zone_write(&zs, 0, 8, 8), 0); /* CLOSED -> IMP_OPEN */
	ck_assert_uint_eq(zs.nr_active, 2);
	/* zone 3: an active slot is free, the open one is taken from zone 0 */
	ck_assert_int_eq(tfs_zone_write(&zs, 3, 3 * ZSZ, 8), 0);
	ck_assert_uint_eq(zones[0].cond, TFS_ZC_CLOSED);
	ck_assert_uint_eq(zs.implicit_closes, 2);
	ck_assert_uint_eq(zs.nr_active, 3);
	/* reset frees the slots; a zone with data closes to CLOSED */
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 0, TFS_ZONE_RESET), 0);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 3, TFS_ZONE_RESET), 0);
	ck_assert_int_eq(tfs_zone_write(&zs, 3, 3 * ZSZ, 8), 0);
	ck_assert_int_eq(tfs_zone_mgmt(&zs, 3, TFS_ZONE_CLOSE), 0);
	ck_assert_uint_eq(zones[3].cond, TFS_ZC_CLOSED);
	/* the counters always agree with the conditions */
	{
		uint32_t o = zs.nr_open, a = zs.nr_active;

		tfs_zoneset_recount(&zs);
		ck_assert_uint_eq(zs.nr_open, o);
		ck_assert_uint_eq(zs.nr_active, a);
	}
	for (i = 0; i < NZ; i++)
		ck_assert(tfs_zone_cond_ok(zones[i].cond));
}
END_TEST

Suite *zone_suite(void)
{
	Suite *s = suite_create("zone");
	TCase *tc = tcase_create("model");

	tcase_add_loop_test(tc, test_transitions, 0, (int)(sizeof(table) / sizeof(table[0])));
	tcase_add_test(tc, test_write_rules);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return s;
}

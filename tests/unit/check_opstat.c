/* tests/unit/check_opstat.c - the request histogram: buckets and percentiles */
#include "check_suites.h"
#include "tfs.h"

START_TEST(test_buckets)
{
	unsigned int b;

	ck_assert_uint_eq(tfs_op_bucket(0), 0);
	ck_assert_uint_eq(tfs_op_bucket(1023), 0);
	ck_assert_uint_eq(tfs_op_bucket(1024), 1);
	ck_assert_uint_eq(tfs_op_bucket(1279), 1);
	ck_assert_uint_eq(tfs_op_bucket(1280), 2);
	ck_assert_uint_eq(tfs_op_bucket(2047), 4);
	ck_assert_uint_eq(tfs_op_bucket(2048), 5);
	ck_assert_uint_eq(tfs_op_bucket(UINT64_MAX), TFS_OP_BUCKETS - 1);
	/* every value lies below the top of its bucket and at or above the
	 * top of the one before; buckets are at most 25 % wide */
	for (b = 1; b < TFS_OP_BUCKETS - 1; b++) {
		uint64_t lo = tfs_op_bucket_top(b - 1), hi = tfs_op_bucket_top(b);

		ck_assert_uint_lt(lo, hi);
		ck_assert_uint_eq(tfs_op_bucket(lo), b);
		ck_assert_uint_eq(tfs_op_bucket(hi - 1), b);
		ck_assert_uint_le(hi - lo, lo / 4);
	}
}
END_TEST

START_TEST(test_summary)
{
	struct tfs_opstat s = { 0 };
	uint64_t n;
	double mean, p99;
	int i;

	tfs_op_summary(&s, &n, &mean, &p99);
	ck_assert_uint_eq(n, 0);
	ck_assert(mean == 0 && p99 == 0);
	/* 990 requests of 10 us and 10 of 5 ms: p99 in the 10 us bucket */
	for (i = 0; i < 990; i++)
		tfs_op_record(&s, 10000);
	for (i = 0; i < 10; i++)
		tfs_op_record(&s, 5000000);
	tfs_op_summary(&s, &n, &mean, &p99);
	ck_assert_uint_eq(n, 1000);
	ck_assert(mean > 59.8 && mean < 60.0); /* (990 * 10 + 10 * 5000) / 1000 */
	ck_assert(p99 >= 10.0 && p99 <= 12.5);
	/* one more slow one: the 99th percentile is now a slow request */
	tfs_op_record(&s, 5000000);
	tfs_op_summary(&s, &n, &mean, &p99);
	ck_assert(p99 >= 5000.0 && p99 <= 6250.0);
}
END_TEST

Suite *opstat_suite(void)
{
	Suite *s = suite_create("opstat");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_summary);
	suite_add_tcase(s, tc);
	return s;
}

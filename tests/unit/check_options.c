/* tests/unit/check_options.c - mount options and size parsing */
#include <errno.h>
#include <string.h>
#include "check_suites.h"
#include "tfs.h"

START_TEST(test_parse)
{
	struct tfs_opts o;
	char err[128];

	tfs_opts_defaults(&o);
	ck_assert_uint_eq(o.commit, 5);
	ck_assert_uint_eq(o.lock_wait, 30);
	ck_assert_ptr_null(o.devices);
	ck_assert_str_eq(o.transport, "dev");
	ck_assert_int_eq(tfs_opts_parse_one(&o, "transport=uring", err, sizeof(err)), 1);
	ck_assert_str_eq(o.transport, "uring");
	ck_assert_int_eq(tfs_opts_parse_one(&o, "commit=17", err, sizeof(err)), 1);
	ck_assert_uint_eq(o.commit, 17);
	ck_assert_int_eq(o.threads, 16);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "threads=2", err, sizeof(err)), 1);
	ck_assert_int_eq(o.threads, 2);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "devices=/a:/b", err, sizeof(err)), 1);
	ck_assert_str_eq(o.devices, "/a:/b");
	ck_assert_int_eq(tfs_opts_parse_one(&o, "allow_other", err, sizeof(err)), 0);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "commits=1", err, sizeof(err)), 0);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "commit=soon", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "commit"));
	ck_assert_int_eq(tfs_opts_parse_one(&o, "commit", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "commit=-1", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "tfs_debug=1", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tfs_opts_parse_one(&o, "tfs_debug", err, sizeof(err)), 1);
	ck_assert_int_eq(o.debug, 1);
	ck_assert_uint_eq(o.commit, 17); /* failed parses change nothing */
	tfs_opts_free(&o);
}
END_TEST

START_TEST(test_sizes)
{
	uint64_t v;

	ck_assert_int_eq(tfs_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(tfs_parse_size("256K", &v), 0);
	ck_assert_uint_eq(v, 256 << 10);
	ck_assert_int_eq(tfs_parse_size("4G", &v), 0);
	ck_assert_uint_eq(v, 4ull << 30);
	ck_assert_int_eq(tfs_parse_size("1MiB", &v), 0);
	ck_assert_uint_eq(v, 1 << 20);
	ck_assert_int_eq(tfs_parse_size("2t", &v), 0);
	ck_assert_uint_eq(v, 2ull << 40);
	ck_assert_int_eq(tfs_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(tfs_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(tfs_parse_size("12X", &v), -EINVAL);
	ck_assert_int_eq(tfs_parse_size("G", &v), -EINVAL);
	ck_assert_int_eq(tfs_parse_size("99999999999999T", &v), -ERANGE);
}
END_TEST

Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_sizes);
	suite_add_tcase(s, tc);
	return s;
}

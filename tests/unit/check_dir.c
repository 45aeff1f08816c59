/* tests/unit/check_dir.c - directories: names and stable readdir cookies */
#include <stdio.h>
#include <string.h>
#include "check_suites.h"
#include "tfs.h"

START_TEST(test_add_lookup_del)
{
	struct tfs_dir *d = tfs_dir_new();
	struct tfs_dirent *de;
	char name[32];
	int i;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ck_assert_int_eq(tfs_dir_add(d, name, strlen(name), 100 + i, 0, &de), 0);
		ck_assert_uint_eq(de->d_cookie, TFS_DIR_COOKIE_FIRST + i);
	}
	ck_assert_uint_eq(d->dr_live, 1000);
	de = tfs_dir_lookup(d, "f500", 4);
	ck_assert_ptr_nonnull(de);
	ck_assert_uint_eq(de->d_ino, 600);
	ck_assert_ptr_null(tfs_dir_lookup(d, "f1000", 5));
	ck_assert_ptr_nonnull(tfs_dir_lookup(d, "f50", 3));
	ck_assert_ptr_null(tfs_dir_lookup(d, "nope", 4));
	/* remove most: compaction must keep order and lookups */
	for (i = 0; i < 1000; i++) {
		if (i % 10 == 0)
			continue;
		snprintf(name, sizeof(name), "f%d", i);
		tfs_dir_del(d, tfs_dir_lookup(d, name, strlen(name)));
	}
	ck_assert_uint_eq(d->dr_live, 100);
	ck_assert_uint_lt(d->dr_len, 1000); /* compacted */
	ck_assert_ptr_nonnull(tfs_dir_lookup(d, "f990", 4));
	ck_assert_ptr_null(tfs_dir_lookup(d, "f991", 4));
	tfs_dir_free(d);
}
END_TEST

START_TEST(test_resume_while_changing)
{
	struct tfs_dir *d = tfs_dir_new();
	struct tfs_dirent *de;
	uint64_t last = 2;
	int seen[100] = { 0 }, i, ino;
	char name[16];
	size_t pos;

	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		tfs_dir_add(d, name, strlen(name), (uint64_t)i, 0, NULL);
	}
	/* read 10 at a time; between reads, add new entries and remove others */
	for (;;) {
		int got = 0;

		for (pos = tfs_dir_seek(d, last); pos < d->dr_len && got < 10; pos++) {
			de = d->dr_ents[pos];
			if (!de)
				continue;
			ck_assert_uint_gt(de->d_cookie, last);
			last = de->d_cookie;
			seen[de->d_ino]++;
			got++;
		}
		if (!got)
			break;
		ino = 50 + (int)(last % 50);
		snprintf(name, sizeof(name), "b%d", ino);
		if (!tfs_dir_lookup(d, name, strlen(name)))
			tfs_dir_add(d, name, strlen(name), (uint64_t)ino, 0, NULL);
	}
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(seen[i], 1); /* old entries: exactly once */
	for (i = 50; i < 100; i++)
		ck_assert_int_le(seen[i], 1);
	tfs_dir_free(d);
}
END_TEST

START_TEST(test_replay_order)
{
	struct tfs_dir *d = tfs_dir_new();

	/* a load may insert cookies out of order: the array stays sorted */
	tfs_dir_add(d, "c", 1, 3, 30, NULL);
	tfs_dir_add(d, "a", 1, 1, 10, NULL);
	tfs_dir_add(d, "b", 1, 2, 20, NULL);
	ck_assert_uint_eq(d->dr_ents[0]->d_cookie, 10);
	ck_assert_uint_eq(d->dr_ents[1]->d_cookie, 20);
	ck_assert_uint_eq(d->dr_ents[2]->d_cookie, 30);
	ck_assert_uint_eq(d->dr_next_cookie, 31);
	ck_assert_uint_eq(tfs_dir_seek(d, 15), 1);
	ck_assert_uint_eq(tfs_dir_seek(d, 30), 3);
	/* the last slot removed (NULL): a lower cookie still goes in order
	 * (found by fuzz_records: it used to be appended, and a later removal
	 * then missed it and freed it twice) */
	tfs_dir_del(d, tfs_dir_lookup(d, "c", 1));
	tfs_dir_add(d, "d", 1, 4, 15, NULL);
	ck_assert_uint_eq(d->dr_ents[1]->d_cookie, 15);
	ck_assert_int_eq(tfs_dir_has_cookie(d, 15), 1);
	ck_assert_int_eq(tfs_dir_has_cookie(d, 30), 0);
	tfs_dir_del(d, tfs_dir_lookup(d, "d", 1));
	ck_assert_int_eq(tfs_dir_has_cookie(d, 15), 0);
	ck_assert_ptr_null(d->dr_ents[1]);
	tfs_dir_free(d);
}
END_TEST

Suite *dir_suite(void)
{
	Suite *s = suite_create("dir");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_add_lookup_del);
	tcase_add_test(tc, test_resume_while_changing);
	tcase_add_test(tc, test_replay_order);
	suite_add_tcase(s, tc);
	return s;
}

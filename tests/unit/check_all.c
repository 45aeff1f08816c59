/* tests/unit/check_all.c - runs every unit suite (fork mode) */
#include <stdlib.h>
#include "check_suites.h"

int main(void)
{
	SRunner *sr = srunner_create(chunkmap_suite());
	int failed;

	srunner_add_suite(sr, alloc_suite());
	srunner_add_suite(sr, dir_suite());
	srunner_add_suite(sr, meta_suite());
	srunner_add_suite(sr, super_suite());
	srunner_add_suite(sr, options_suite());
	srunner_add_suite(sr, io_suite());
	srunner_add_suite(sr, pmem_suite());
	srunner_add_suite(sr, journal_suite());
	srunner_add_suite(sr, zone_suite());
	srunner_add_suite(sr, zns_emu_suite());
	srunner_add_suite(sr, zbd_suite());
	srunner_add_suite(sr, zalloc_suite());
	srunner_add_suite(sr, heat_suite());
	srunner_add_suite(sr, opstat_suite());
	srunner_add_suite(sr, transport_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

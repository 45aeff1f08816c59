/* tests/unit/check_suites.h - one suite per module, run by check_all.c */
#ifndef TFS_CHECK_SUITES_H
#define TFS_CHECK_SUITES_H
#include <check.h>
Suite *chunkmap_suite(void);
Suite *alloc_suite(void);
Suite *dir_suite(void);
Suite *meta_suite(void);
Suite *super_suite(void);
Suite *options_suite(void);
Suite *io_suite(void);
Suite *pmem_suite(void);
Suite *journal_suite(void);
Suite *zone_suite(void);
Suite *zns_emu_suite(void);
Suite *zbd_suite(void);
Suite *zalloc_suite(void);
Suite *heat_suite(void);
Suite *opstat_suite(void);
Suite *transport_suite(void);
#endif

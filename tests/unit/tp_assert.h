/* tests/unit/tp_assert.h - the assertions of testpool.c: the check
 * library's in the unit tests; built into the fuzz targets
 * (TFS_TESTPOOL_ABORT) without that library, they abort, which libFuzzer
 * reports as a crash with the input that caused it. */
#ifndef TFS_TP_ASSERT_H
#define TFS_TP_ASSERT_H
#ifndef TFS_TESTPOOL_ABORT
#include "check_suites.h"
#else
#include <stdio.h>
#include <stdlib.h>

#define ck_assert(c)                                                                 \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                     \
		}                                                                    \
	} while (0)
#define ck_assert_msg(c, ...) ck_assert(c)
#define ck_assert_int_eq(a, b) ck_assert((a) == (b))
#define ck_assert_int_ge(a, b) ck_assert((a) >= (b))
#define ck_assert_ptr_nonnull(p) ck_assert((p) != NULL)
#endif
#endif

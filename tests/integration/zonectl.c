/*
 * tests/integration/zonectl.c - poke at a zoned device from a test.
 *
 *   zonectl DEV report           one line per zone: index condition wp(KiB)
 *   zonectl DEV reset ZONE       reset a zone (its write pointer goes back to
 *                                the start: the "tampered" device of a test)
 *   zonectl DEV live-zone        the first data zone holding written data
 *   zonectl DEV backend          the backend that drives it (zns, zns-emu)
 *   zonectl IMG create NR ZONE_KIB CAP_KIB MAX_OPEN MAX_ACTIVE
 *                                make IMG a stand-in zoned block device
 *                                (io/zbd_standin.c; use it with
 *                                TIERFS_ZBD_STANDIN=IMG)
 *   zonectl IMG poke ZONE WHAT   change a zone of a stand-in device while it
 *                                is in use: readonly, offline, fail-reset=N,
 *                                wp=KIB
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

int main(int argc, char *argv[])
{
	struct tfs_io_dev dev;
	struct tfs_zgeom g;
	struct tfs_zone *z;
	int n, ret = 0, i;

	if (argc < 3) {
		fprintf(stderr, "usage: zonectl DEV report|reset ZONE|live-zone|backend|create ...|poke ZONE WHAT\n");
		return 2;
	}
	if (!strcmp(argv[2], "create") && argc == 8) {
		ret = tfs_zbd_standin_create(argv[1], (uint32_t)atoi(argv[3]),
					     strtoull(argv[4], NULL, 10) << 10,
					     strtoull(argv[5], NULL, 10) << 10, (uint32_t)atoi(argv[6]),
					     (uint32_t)atoi(argv[7]));
		if (ret < 0)
			fprintf(stderr, "zonectl: create %s: %s\n", argv[1], strerror(-ret));
		return ret < 0;
	}
	if (!strcmp(argv[2], "poke") && argc == 5) {
		ret = tfs_zbd_standin_poke(argv[1], (uint32_t)atoi(argv[3]), argv[4]);
		if (ret < 0)
			fprintf(stderr, "zonectl: poke %s: %s\n", argv[1], strerror(-ret));
		return ret < 0;
	}
	if (tfs_io_dev_open(&dev, argv[1], TFS_CLASS_ZNS) < 0 || tfs_zns_geometry(&dev, &g) < 0) {
		fprintf(stderr, "zonectl: %s is not a zoned device\n", argv[1]);
		return 1;
	}
	z = calloc(g.nr_zones, sizeof(*z));
	n = z ? tfs_zns_report(&dev, 0, z, g.nr_zones) : -1;
	if (n < 0) {
		fprintf(stderr, "zonectl: report failed\n");
		ret = 1;
	} else if (!strcmp(argv[2], "report")) {
		for (i = 0; i < n; i++)
			printf("%d %s %llu\n", i, tfs_zone_cond_str(z[i].cond),
			       (unsigned long long)((z[i].wp - z[i].start) >> 10));
	} else if (!strcmp(argv[2], "reset") && argc == 4) {
		ret = tfs_zns_mgmt(&dev, (uint32_t)atoi(argv[3]), TFS_ZONE_RESET) < 0;
	} else if (!strcmp(argv[2], "backend")) {
		printf("%s\n", dev.d_ops->name);
	} else if (!strcmp(argv[2], "live-zone")) {
		ret = 1;
		for (i = 2; i < n; i++)
			if (z[i].cond == TFS_ZC_FULL) {
				printf("%d\n", i);
				ret = 0;
				break;
			}
	} else {
		fprintf(stderr, "zonectl: unknown command\n");
		ret = 2;
	}
	free(z);
	tfs_io_dev_close(&dev);
	tfs_io_thread_exit();
	return ret;
}

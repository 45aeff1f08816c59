/*
 * io/zone.c - the zone model of zoned devices (ZNS, host-managed SMR).
 *
 * One place for the rules a zoned device enforces, so that the file-backed
 * emulator enforces exactly what a real device does and the rest of tierfs
 * can predict it.  It mirrors the kernel's own reference (null_blk's zoned
 * mode) and the ZNS/ZBC condition machine:
 *
 *   write at the WP   EMPTY -> IMP_OPEN (needs an active and an open slot),
 *                     CLOSED -> IMP_OPEN (needs an open slot), open zones
 *                     stay; reaching start + capacity makes it FULL, which
 *                     frees both slots
 *   open              EMPTY/CLOSED -> EXP_OPEN (same checks), IMP -> EXP
 *   close             open -> CLOSED, or EMPTY if nothing was written
 *   finish            EMPTY/open/CLOSED -> FULL (EMPTY needs an active slot)
 *   reset             any -> EMPTY, WP back to the start
 *
 * When the open limit is reached and some zone is implicitly open, that
 * zone is closed to make room (explicitly opened zones never are).  Errors
 * are the kernel's: a write not at the WP, past the capacity, or to a FULL,
 * READONLY or OFFLINE zone is EIO; no open slot is ETOOMANYREFS; no active
 * slot is EOVERFLOW.  Limits of 0 mean no limit.
 *
 * Counting is kept in struct tfs_zoneset and changed only here.  The caller
 * serialises calls on one set.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "io.h"

static int is_open(const struct tfs_zone *z)
{
	return z->cond == TFS_ZC_IMP_OPEN || z->cond == TFS_ZC_EXP_OPEN;
}

static int is_active(const struct tfs_zone *z)
{
	return is_open(z) || z->cond == TFS_ZC_CLOSED;
}

int tfs_zone_cond_ok(unsigned int cond)
{
	switch (cond) {
	case TFS_ZC_NOT_WP:
	case TFS_ZC_EMPTY:
	case TFS_ZC_IMP_OPEN:
	case TFS_ZC_EXP_OPEN:
	case TFS_ZC_CLOSED:
	case TFS_ZC_READONLY:
	case TFS_ZC_FULL:
	case TFS_ZC_OFFLINE:
		return 1;
	}
	return 0;
}

const char *tfs_zone_cond_str(unsigned int cond)
{
	switch (cond) {
	case TFS_ZC_NOT_WP:
		return "not_wp";
	case TFS_ZC_EMPTY:
		return "empty";
	case TFS_ZC_IMP_OPEN:
		return "implicit_open";
	case TFS_ZC_EXP_OPEN:
		return "explicit_open";
	case TFS_ZC_CLOSED:
		return "closed";
	case TFS_ZC_READONLY:
		return "readonly";
	case TFS_ZC_FULL:
		return "full";
	case TFS_ZC_OFFLINE:
		return "offline";
	}
	return "unknown";
}

void tfs_zoneset_recount(struct tfs_zoneset *zs)
{
	uint32_t i;

	zs->nr_open = zs->nr_active = 0;
	for (i = 0; i < zs->nr; i++) {
		zs->nr_open += is_open(&zs->z[i]);
		zs->nr_active += is_active(&zs->z[i]);
	}
}

static int active_room(const struct tfs_zoneset *zs)
{
	return zs->max_active == 0 || zs->nr_active < zs->max_active;
}

/* make room for one more open zone, closing an implicitly open one other
 * than @except if the limit is reached: 0 or -ETOOMANYREFS */
static int open_room(struct tfs_zoneset *zs, uint32_t except)
{
	uint32_t i;

	if (zs->max_open == 0 || zs->nr_open < zs->max_open)
		return 0;
	for (i = 0; i < zs->nr; i++) {
		struct tfs_zone *z = &zs->z[i];

		if (i == except || z->cond != TFS_ZC_IMP_OPEN)
			continue;
		/* an implicit close: nothing written means EMPTY again */
		if (z->wp == z->start) {
			z->cond = TFS_ZC_EMPTY;
			zs->nr_active--;
		} else {
			z->cond = TFS_ZC_CLOSED;
		}
		zs->nr_open--;
		zs->implicit_closes++;
		return 0;
	}
	return -ETOOMANYREFS;
}

/* move zone @i (EMPTY or CLOSED) to an open condition, checking resources */
static int do_open(struct tfs_zoneset *zs, uint32_t i, unsigned int cond)
{
	struct tfs_zone *z = &zs->z[i];
	int ret;

	if (z->cond == TFS_ZC_EMPTY && !active_room(zs))
		return -EOVERFLOW;
	ret = open_room(zs, i);
	if (ret < 0)
		return ret;
	if (z->cond == TFS_ZC_EMPTY)
		zs->nr_active++;
	zs->nr_open++;
	z->cond = (uint8_t)cond;
	return 0;
}

static void leave(struct tfs_zoneset *zs, struct tfs_zone *z)
{
	if (is_open(z))
		zs->nr_open--;
	if (is_active(z))
		zs->nr_active--;
}

int tfs_zone_write(struct tfs_zoneset *zs, uint32_t i, uint64_t off, uint64_t len)
{
	struct tfs_zone *z;
	int ret;

	if (i >= zs->nr)
		return -EINVAL;
	z = &zs->z[i];
	switch (z->cond) {
	case TFS_ZC_NOT_WP:
		return 0; /* conventional: anywhere */
	case TFS_ZC_EMPTY:
	case TFS_ZC_CLOSED:
	case TFS_ZC_IMP_OPEN:
	case TFS_ZC_EXP_OPEN:
		break;
	default: /* FULL, READONLY, OFFLINE */
		return -EIO;
	}
	if (off != z->wp || len == 0 || len > z->start + z->cap - z->wp)
		return -EIO; /* an unaligned write, or past the capacity */
	if (z->cond == TFS_ZC_EMPTY || z->cond == TFS_ZC_CLOSED) {
		ret = do_open(zs, i, TFS_ZC_IMP_OPEN);
		if (ret < 0)
			return ret;
	}
	z->wp += len;
	if (z->wp == z->start + z->cap) {
		leave(zs, z);
		z->cond = TFS_ZC_FULL;
	}
	return 0;
}

int tfs_zone_mgmt(struct tfs_zoneset *zs, uint32_t i, unsigned int op)
{
	struct tfs_zone *z;

	if (i >= zs->nr)
		return -EINVAL;
	z = &zs->z[i];
	if (z->cond == TFS_ZC_READONLY || z->cond == TFS_ZC_OFFLINE)
		return -EIO;
	if (z->cond == TFS_ZC_NOT_WP)
		return -EINVAL; /* conventional zones have no condition to change */
	switch (op) {
	case TFS_ZONE_OPEN:
		switch (z->cond) {
		case TFS_ZC_EXP_OPEN:
			return 0;
		case TFS_ZC_IMP_OPEN:
			z->cond = TFS_ZC_EXP_OPEN;
			return 0;
		case TFS_ZC_EMPTY:
		case TFS_ZC_CLOSED:
			return do_open(zs, i, TFS_ZC_EXP_OPEN);
		default: /* FULL */
			return -EIO;
		}
	case TFS_ZONE_CLOSE:
		switch (z->cond) {
		case TFS_ZC_CLOSED:
			return 0;
		case TFS_ZC_IMP_OPEN:
		case TFS_ZC_EXP_OPEN:
			zs->nr_open--;
			if (z->wp == z->start) {
				zs->nr_active--;
				z->cond = TFS_ZC_EMPTY;
			} else {
				z->cond = TFS_ZC_CLOSED;
			}
			return 0;
		default: /* EMPTY, FULL */
			return -EIO;
		}
	case TFS_ZONE_FINISH:
		if (z->cond == TFS_ZC_FULL)
			return 0;
		if (z->cond == TFS_ZC_EMPTY && !active_room(zs))
			return -EOVERFLOW;
		leave(zs, z);
		z->cond = TFS_ZC_FULL;
		z->wp = z->start + z->len;
		return 0;
	case TFS_ZONE_RESET:
		leave(zs, z);
		z->cond = TFS_ZC_EMPTY;
		z->wp = z->start;
		return 0;
	}
	return -EINVAL;
}

int tfs_zone_readable(const struct tfs_zoneset *zs, uint32_t i, uint64_t off, uint64_t len)
{
	const struct tfs_zone *z;

	if (i >= zs->nr)
		return -EINVAL;
	z = &zs->z[i];
	if (z->cond == TFS_ZC_OFFLINE)
		return -EIO;
	if (z->cond == TFS_ZC_NOT_WP)
		return off >= z->start && len <= z->start + z->len - off ? 0 : -EIO;
	/* only what was written: below the WP (and never past the capacity) */
	if (off < z->start || len > z->start + z->cap - off)
		return -EIO;
	if (z->cond != TFS_ZC_FULL && off + len > z->wp)
		return -EIO;
	return 0;
}

int tfs_zns_is_zoned(const struct tfs_io_dev *dev)
{
	return dev->d_ops && dev->d_ops->zreport != NULL;
}

int tfs_zns_geometry(struct tfs_io_dev *dev, struct tfs_zgeom *g)
{
	if (!tfs_zns_is_zoned(dev))
		return -ENOTTY;
	return dev->d_ops->zgeom(dev, g);
}

int tfs_zns_report(struct tfs_io_dev *dev, uint32_t first, struct tfs_zone *out, uint32_t nr)
{
	if (!tfs_zns_is_zoned(dev))
		return -ENOTTY;
	return dev->d_ops->zreport(dev, first, out, nr);
}

int tfs_zns_mgmt(struct tfs_io_dev *dev, uint32_t zone, unsigned int op)
{
	if (!tfs_zns_is_zoned(dev))
		return -ENOTTY;
	return dev->d_ops->zmgmt(dev, zone, op);
}

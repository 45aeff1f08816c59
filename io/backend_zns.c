/*
 * io/backend_zns.c - a real zoned block device (NVMe ZNS, host-managed SMR).
 *
 * Found by what the path is: a block device whose queue says it is zoned
 * (/sys/dev/block/MAJ:MIN/queue/zoned is "host-managed").  The zone layout
 * comes from the kernel (BLKGETZONESZ, BLKGETNRZONES, BLKREPORTZONE with
 * zone capacities), the open and active limits from sysfs
 * (queue/max_open_zones, queue/max_active_zones; 0 means none).  Data moves
 * through the ring like on a block device, with O_DIRECT, which a zoned
 * device requires for writes; the caller keeps one write in flight per zone,
 * at its write pointer (the kernel's zone write locking would otherwise
 * serialise or fail them).  Management commands are the blkzoned ioctls.
 *
 * Every call into the kernel goes through the syscall table (syscall.c), so
 * that on machines without zoned block devices the tests run this file
 * against a stand-in kernel (zbd_standin.c) that keeps the zone rules of
 * io/zone.c: mkfs, mount, appends, finish, reset, the write pointer check at
 * mount and the error paths (a zone gone READONLY or OFFLINE, a write off
 * the write pointer, a failed reset) all run here in CI.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/blkzoned.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "io.h"

#define SECTOR 512u

struct zdev {
	struct tfs_zgeom g;
};

/* read /sys/dev/block/MAJ:MIN/queue/@attr into @buf; 0 or -errno */
static int queue_attr(dev_t rdev, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s", major(rdev), minor(rdev),
		 attr);
	return tfs_sys_read_attr(path, buf, len) < 0 ? -errno : 0;
}

static uint32_t queue_u32(dev_t rdev, const char *attr)
{
	char buf[32];

	return queue_attr(rdev, attr, buf, sizeof(buf)) == 0 ? (uint32_t)strtoul(buf, NULL, 10) : 0;
}

int tfs_zbd_host_managed(const void *p)
{
	const struct stat *st = p;
	char buf[32];

	if (!S_ISBLK(st->st_mode) || queue_attr(st->st_rdev, "zoned", buf, sizeof(buf)) < 0)
		return 0;
	return strncmp(buf, "host-managed", 12) == 0;
}

static int zns_probe(int fd, const void *p, unsigned int cls)
{
	(void)fd;
	if (cls != TFS_CLASS_ZNS && cls != TFS_CLASS_MAX)
		return 0;
	return tfs_zbd_host_managed(p);
}

/* report up to @nr zones from @first straight from the device */
static int zns_report(struct tfs_io_dev *dev, uint32_t first, struct tfs_zone *out, uint32_t nr)
{
	struct zdev *z = dev->d_priv;
	struct blk_zone_report *rep;
	uint32_t want, got = 0, i;
	int ret = 0;

	if (first >= z->g.nr_zones)
		return -EINVAL;
	if (nr > z->g.nr_zones - first)
		nr = z->g.nr_zones - first;
	want = nr < 4096 ? nr : 4096;
	rep = calloc(1, sizeof(*rep) + want * sizeof(struct blk_zone));
	if (!rep)
		return -ENOMEM;
	while (got < nr) {
		rep->sector = (uint64_t)(first + got) * (z->g.zone_size / SECTOR);
		rep->nr_zones = nr - got < want ? nr - got : want;
		if (tfs_sys_ioctl(dev->d_fd, BLKREPORTZONE, rep) < 0) {
			ret = -errno;
			break;
		}
		if (rep->nr_zones == 0)
			break;
		for (i = 0; i < rep->nr_zones && got < nr; i++, got++) {
			const struct blk_zone *bz = &rep->zones[i];
			struct tfs_zone *t = &out[got];

			t->start = bz->start * SECTOR;
			t->len = bz->len * SECTOR;
			t->cap = (rep->flags & BLK_ZONE_REP_CAPACITY) ? bz->capacity * SECTOR : t->len;
			t->wp = bz->wp * SECTOR;
			t->cond = bz->type == BLK_ZONE_TYPE_CONVENTIONAL ? TFS_ZC_NOT_WP : bz->cond;
		}
	}
	free(rep);
	return ret < 0 ? ret : (int)got;
}

static int zns_open(struct tfs_io_dev *dev)
{
	struct tfs_zone zbuf[256];
	struct stat st;
	struct zdev *z;
	uint32_t zsect = 0, nr = 0, i;
	uint64_t size = 0;
	int flags, n, ret;

	if (tfs_sys_fstat(dev->d_fd, &st) < 0)
		return -errno;
	if (tfs_sys_ioctl(dev->d_fd, BLKGETSIZE64, &size) < 0 ||
	    tfs_sys_ioctl(dev->d_fd, BLKGETZONESZ, &zsect) < 0 ||
	    tfs_sys_ioctl(dev->d_fd, BLKGETNRZONES, &nr) < 0)
		return -errno;
	if (zsect == 0 || nr == 0)
		return -ENOTBLK;
	/* writes to sequential zones must bypass the page cache */
	flags = fcntl(dev->d_fd, F_GETFL);
	if (flags < 0 || fcntl(dev->d_fd, F_SETFL, flags | O_DIRECT) < 0)
		return -errno;
	dev->d_direct = 1;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->g.nr_zones = nr;
	z->g.zone_size = (uint64_t)zsect * SECTOR;
	z->g.zone_cap = z->g.zone_size;
	z->g.max_open = queue_u32(st.st_rdev, "max_open_zones");
	z->g.max_active = queue_u32(st.st_rdev, "max_active_zones");
	dev->d_priv = z;
	/* the smallest capacity of any sequential zone bounds what is used */
	for (i = 0; i < nr; i += (uint32_t)n) {
		n = zns_report(dev, i, zbuf, 256);
		if (n <= 0) {
			ret = n < 0 ? n : -EIO;
			goto out_free;
		}
		for (int k = 0; k < n; k++)
			if (zbuf[k].cond != TFS_ZC_NOT_WP && zbuf[k].cap < z->g.zone_cap)
				z->g.zone_cap = zbuf[k].cap;
	}
	dev->d_size = (uint64_t)nr * z->g.zone_size;
	if (dev->d_size > size)
		dev->d_size = size;
	return 0;

out_free:
	free(z);
	dev->d_priv = NULL;
	return ret;
}

static void zns_close(struct tfs_io_dev *dev)
{
	free(dev->d_priv);
	dev->d_priv = NULL;
}

static int zns_geom(struct tfs_io_dev *dev, struct tfs_zgeom *g)
{
	*g = ((struct zdev *)dev->d_priv)->g;
	return 0;
}

static int zns_mgmt(struct tfs_io_dev *dev, uint32_t zone, unsigned int op)
{
	struct zdev *z = dev->d_priv;
	struct blk_zone_range r;
	unsigned long cmd;

	if (zone >= z->g.nr_zones)
		return -EINVAL;
	switch (op) {
	case TFS_ZONE_OPEN:
		cmd = BLKOPENZONE;
		break;
	case TFS_ZONE_CLOSE:
		cmd = BLKCLOSEZONE;
		break;
	case TFS_ZONE_FINISH:
		cmd = BLKFINISHZONE;
		break;
	case TFS_ZONE_RESET:
		cmd = BLKRESETZONE;
		break;
	default:
		return -EINVAL;
	}
	r.sector = (uint64_t)zone * (z->g.zone_size / SECTOR);
	r.nr_sectors = z->g.zone_size / SECTOR;
	if (tfs_sys_ioctl(dev->d_fd, cmd, &r) < 0)
		return -errno;
	return 0;
}

const struct tfs_io_ops tfs_zns_ops = {
	.name = "zns",
	.version = TFS_IO_OPS_VERSION,
	.flags = TFS_IO_DIRECT | TFS_IO_ZONED,
	.probe = zns_probe,
	.open = zns_open,
	.close = zns_close,
	.prep = tfs_block_prep, /* reads and writes as on a block device */
	.flush = tfs_block_flush,
	.zgeom = zns_geom,
	.zreport = zns_report,
	.zmgmt = zns_mgmt,
};

/*
 * src/devices.c - devices added to and removed from a mounted pool.
 *
 * The device table is in every device's superblock, with a generation
 * (s_gen) that each change raises; at mount the highest generation any
 * device of the pool holds wins (src/pool.c), so a change is made durable
 * device by device and a crash in the middle leaves either table, both
 * whole.  A table entry is never reused: a removed device keeps its index
 * as a hole, so nothing that names a device by index can name a new one.
 *
 * Adding: the new device gets its superblocks (with the new table) first,
 * then every other device; only then does the allocator hand out its slots.
 * A crash before the last write leaves a device no table names, or one the
 * newest table names and nothing uses yet.
 *
 * Removing: the entry is marked draining in every superblock; the
 * allocator hands out nothing from it any more (tier_alloc_set_out) and the
 * migration engine moves every chunk on it elsewhere, as journaled moves
 * (tiering/engine.c, evac_dest).  A crash leaves the mark: the next mount
 * resumes.  When a pass finds nothing on it, the metadata log is rewritten
 * into slots of the other devices (tfs_meta_rewrite, two checkpoints, so
 * neither checkpoint nor the journal names the device), the entry becomes
 * removed in every other superblock, and the device's own superblocks are
 * erased and it is let go.
 *
 * A zoned device added has its checksum table in a run of chunk slots of a
 * device written in place (zns_table; a mount marks them taken again, and
 * the zoned device's removal gives them back); a regular file added as zns
 * is given emulated zones first, as mkfs.tierfs --zns would.
 *
 * Not removable: the metadata device (journal and checkpoint headers at
 * fixed places) and a device holding the checksum tables of zoned devices.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"

#define MIN_SLOTS 4u /* as mkfs.tierfs */

uint64_t tfs_layout_inplace(struct tfs_sb_dev *sd, uint64_t size, uint64_t start,
			    unsigned int chunk_shift, uint32_t ps, uint32_t per)
{
	uint64_t chunk = 1ull << chunk_shift, cs_off = (start + ps - 1) & ~(uint64_t)(ps - 1);
	uint64_t nslots, pages;

	/* slots and their table share what is left */
	nslots = size > cs_off ? (size - cs_off) / (chunk + 2 * ps / per) : 0;
	for (;;) {
		pages = (nslots + per - 1) / per;
		sd->sd_data_off = (cs_off + 2 * pages * ps + chunk - 1) & ~(chunk - 1);
		if (!nslots || sd->sd_data_off + nslots * chunk <= size)
			break;
		nslots--;
	}
	sd->sd_cs_off = cs_off;
	sd->sd_cs_pages = pages;
	sd->sd_nslots = nslots;
	return nslots;
}

static int __attribute__((format(printf, 4, 5))) say(char *msg, size_t len, int ret,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return ret;
}

int tfs_dev_present(const struct tfs_fs *fs, unsigned int d)
{
	return d < fs->pool.ndev && !(fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED) &&
	       fs->pool.dev[d].d_fd >= 0;
}

/* @sb into every device of the pool but @skip, the metadata device first */
static int sb_write_all(struct tfs_fs *fs, struct tfs_sb *sb, unsigned int skip)
{
	unsigned int i, d;
	int ret;

	for (i = 0; i < sb->s_ndev; i++) {
		d = i == 0 ? sb->s_meta_dev : (i <= sb->s_meta_dev ? i - 1 : i);
		if (d == skip || (sb->s_dev[d].sd_flags & TFS_SD_REMOVED) || !tfs_dev_present(fs, d))
			continue;
		sb->s_dev_index = d;
		memcpy(sb->s_dev_uuid, sb->s_dev[d].sd_uuid, 16);
		ret = tfs_sb_write(&fs->pool.dev[d], sb);
		if (ret < 0) {
			tfs_err("writing the superblock of %s: %s", fs->pool.dev[d].d_path,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int tfs_devices_sync(struct tfs_fs *fs)
{
	struct tfs_sb *sb = malloc(sizeof(*sb));
	unsigned int d;
	int stale = 0, ret = 0;

	if (!sb)
		return -ENOMEM;
	for (d = 0; d < fs->pool.ndev; d++)
		stale |= tfs_dev_present(fs, d) && fs->pool.sb_gen[d] != fs->pool.sb.s_gen;
	if (stale) {
		/* a change of the table was cut short: finish it */
		*sb = fs->pool.sb;
		ret = sb_write_all(fs, sb, UINT_MAX);
		for (d = 0; ret == 0 && d < fs->pool.ndev; d++)
			fs->pool.sb_gen[d] = fs->pool.sb.s_gen;
		if (ret == 0)
			tfs_info("device table generation %u written to every device", fs->pool.sb.s_gen);
	}
	free(sb);
	return ret;
}

/* the new table in memory (pool lock held): fields one by one, as the I/O
 * path reads entries of devices in use without the lock */
static int table_publish(struct tfs_fs *fs, const struct tfs_sb *sb, unsigned int d)
{
	fs->pool.sb.s_dev[d] = sb->s_dev[d];
	fs->pool.sb.s_gen = sb->s_gen;
	fs->pool.sb.s_version = sb->s_version;
	fs->pool.sb.s_ndev = sb->s_ndev;
	return tfs_meta_devices(fs->meta, &fs->pool.sb);
}

/* a copy of the device table as it is now, to change and write (NULL: out
 * of memory) */
static struct tfs_sb *table_copy(struct tfs_fs *fs)
{
	struct tfs_sb *sb = malloc(sizeof(*sb));

	if (!sb)
		return NULL;
	pthread_mutex_lock(&fs->lock);
	*sb = fs->pool.sb;
	pthread_mutex_unlock(&fs->lock);
	return sb;
}

static void erase_sb(struct tfs_io_dev *dev)
{
	uint8_t *z = tfs_io_alloc(2 * TFS_SB_SIZE);

	if (!z)
		return;
	memset(z, 0, 2 * TFS_SB_SIZE);
	if (tfs_zns_is_zoned(dev)) {
		tfs_zns_mgmt(dev, 0, TFS_ZONE_RESET);
		tfs_zns_mgmt(dev, 1, TFS_ZONE_RESET);
	} else if (tfs_io_dev_pwrite(dev, z, 2 * TFS_SB_SIZE, 0) == 0) {
		tfs_io_flush(dev);
	}
	tfs_io_free(z);
}

/* a regular file to be added as a zoned device: emulated zones (as
 * mkfs.tierfs --zns makes them), unless it is such a file already */
static int emu_prepare(const char *path, uint64_t fsize, uint64_t zone_size, int force, char *msg,
		       size_t len)
{
	const char *what = NULL, *why = NULL;
	struct tfs_io_dev dev;
	struct tfs_zgeom g;
	struct tfs_sb sb;
	uint32_t zones;
	int ret;

	if (tfs_io_dev_open(&dev, path, TFS_CLASS_MAX) == 0) {
		int emu = tfs_zns_geometry(&dev, &g) == 0;

		if (emu && tfs_sb_read(&dev, &sb, 0) == 0)
			what = "a tierfs superblock";
		if (!emu && dev.d_size >= 68 * 1024) {
			uint8_t *buf = tfs_io_alloc(68 * 1024);

			if (buf && tfs_io_dev_pread(&dev, buf, 68 * 1024, 0) == 0)
				what = tfs_sb_foreign(buf, 68 * 1024);
			tfs_io_free(buf);
		}
		tfs_io_dev_close(&dev);
		if (what && !force)
			return say(msg, len, -EEXIST, "%s holds %s; use --force to overwrite it", path, what);
		if (emu && !what)
			return 0; /* emulated zones already, holding nothing */
	}
	zones = (uint32_t)(fsize / zone_size);
	if (tfs_zns_emu_check(zone_size, zone_size - zone_size / 16, zones, 14, 14, &why) < 0)
		return say(msg, len, -EINVAL, "%s: %u zones of %llu MiB: %s", path, zones,
			   (unsigned long long)(zone_size >> 20), why);
	ret = tfs_zns_emu_format(path, zone_size, zone_size - zone_size / 16, zones, 14, 14);
	if (ret < 0)
		return say(msg, len, ret, "%s: %s", path, strerror(-ret));
	return 0;
}

/* every data zone of a zoned device empty: 0, or the zone that cannot be */
static int zones_reset(struct tfs_io_dev *dev, const struct tfs_zgeom *g, char *msg, size_t len)
{
	struct tfs_zone z;
	uint32_t i;
	int ret;

	for (i = 2; i < g->nr_zones; i++) {
		ret = tfs_zns_report(dev, i, &z, 1);
		if (ret == 1 && z.cond != TFS_ZC_EMPTY)
			ret = tfs_zns_mgmt(dev, i, TFS_ZONE_RESET) == 0 &&
					      tfs_zns_report(dev, i, &z, 1) == 1 && z.cond == TFS_ZC_EMPTY
				      ? 1
				      : -EIO;
		if (ret != 1)
			return say(msg, len, -EIO, "%s: zone %u cannot be emptied (%s)", dev->d_path, i,
				   ret == 1 ? tfs_zone_cond_str(z.cond) : "reset failed");
	}
	return 0;
}

/* a zoned device's checksum table: a run of free slots of a device written
 * in place (the one holding other zoned devices' tables, else the first
 * block device, else the metadata device), taken now */
static int zns_table(struct tfs_fs *fs, struct tfs_sb *sb, struct tfs_sb_dev *sd, char *msg,
		     size_t len)
{
	uint64_t bytes = 2 * sd->sd_cs_pages * sb->s_cs_psize, n, first;
	unsigned int d, host = sb->s_meta_dev;
	int ret;

	for (d = 0; d < sb->s_ndev; d++)
		if (sb->s_dev[d].sd_class == TFS_CLASS_BLOCK && !sb->s_dev[d].sd_flags) {
			host = d;
			break;
		}
	for (d = 0; d < sb->s_ndev; d++)
		if (sb->s_dev[d].sd_class == TFS_CLASS_ZNS && !sb->s_dev[d].sd_flags) {
			host = sb->s_dev[d].sd_cs_dev;
			break;
		}
	n = (bytes + fs->pool.chunk_size - 1) >> fs->pool.chunk_shift;
	pthread_mutex_lock(&fs->lock);
	ret = tier_alloc_take_run(&fs->pool.alloc, host, n, &first);
	pthread_mutex_unlock(&fs->lock);
	if (ret < 0)
		return say(msg, len, -ENOSPC,
			   "%s has no run of %llu free chunk slots for the zoned device's checksum table",
			   sb->s_dev[host].sd_path, (unsigned long long)n);
	sd->sd_cs_dev = host;
	sd->sd_cs_off = sb->s_dev[host].sd_data_off + (first << fs->pool.chunk_shift);
	return 0;
}

/* give back the slots a zoned device's table took (pool lock held) */
static void zns_table_free(struct tfs_fs *fs, const struct tfs_sb *sb, const struct tfs_sb_dev *sd)
{
	const struct tfs_sb_dev *h = &sb->s_dev[sd->sd_cs_dev];
	uint64_t s, n;

	if (sd->sd_class != TFS_CLASS_ZNS || sd->sd_cs_off < h->sd_data_off)
		return; /* made by mkfs: outside the host's slots */
	n = (2 * sd->sd_cs_pages * sb->s_cs_psize + fs->pool.chunk_size - 1) >> fs->pool.chunk_shift;
	for (s = 0; s < n; s++)
		tier_alloc_release(&fs->pool.alloc, sd->sd_cs_dev,
				   ((sd->sd_cs_off - h->sd_data_off) >> fs->pool.chunk_shift) + s);
}

int tfs_dev_add(struct tfs_fs *fs, const char *path, unsigned int cls, int force,
		uint64_t zone_size, char *msg, size_t len)
{
	struct tfs_zgeom g;
	int zoned = 0, table = 0;
	struct tfs_sb *sb = NULL;
	struct tfs_sb_dev *sd;
	struct tfs_io_dev *dev;
	char real[PATH_MAX], who[PATH_MAX + 64];
	const char *what = NULL;
	struct tfs_sb old;
	struct stat st;
	unsigned int n, d;
	uint8_t *buf;
	int ret;

	pthread_mutex_lock(&fs->pool.devop);
	n = fs->pool.sb.s_ndev;
	if (fs->ns.readonly || tfs_meta_readonly(fs->meta)) {
		ret = say(msg, len, -EROFS, "the pool is mounted read-only");
		goto out_unlock;
	}
	if (n >= TFS_MAX_DEVS) {
		ret = say(msg, len, -ENOSPC,
			  "the pool has had %u devices (removed ones keep their place): no more can be added",
			  n);
		goto out_unlock;
	}
	if (tfs_rados_path(path) || cls == TFS_CLASS_RADOS) {
		ret = say(msg, len, -EOPNOTSUPP,
			  "a rados tier is given to mkfs.tierfs --rados; adding one to a pool is not supported");
		goto out_unlock;
	}
	if (!realpath(path, real)) {
		ret = say(msg, len, -errno, "%s: %s", path, strerror(errno));
		goto out_unlock;
	}
	if (strlen(real) >= TFS_DEV_PATH_MAX) {
		ret = say(msg, len, -ENAMETOOLONG, "%s: path too long", real);
		goto out_unlock;
	}
	if (stat(real, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
		ret = say(msg, len, -EINVAL, "%s is not a file or a device", real);
		goto out_unlock;
	}
	for (d = 0; d < n; d++) {
		struct stat o;

		if (!tfs_dev_present(fs, d))
			continue;
		if (!strcmp(real, fs->pool.dev[d].d_path) ||
		    (fstat(fs->pool.dev[d].d_fd, &o) == 0 && o.st_dev == st.st_dev &&
		     o.st_ino == st.st_ino && o.st_rdev == st.st_rdev)) {
			ret = say(msg, len, -EEXIST, "%s is device %u of this pool already", real, d);
			goto out_unlock;
		}
	}
	ret = tfs_dev_claim(real, who, sizeof(who));
	if (ret == -EBUSY) {
		ret = say(msg, len, -EBUSY, "%s is in use by %s", real, who);
		goto out_unlock;
	}
	if (ret >= 0)
		close(ret);
	if (cls == TFS_CLASS_ZNS && S_ISREG(st.st_mode)) {
		ret = emu_prepare(real, (uint64_t)st.st_size, zone_size ? zone_size : 64u << 20, force,
				  msg, len);
		if (ret < 0)
			goto out_unlock;
	}
	dev = &fs->pool.dev[n];
	ret = tfs_io_dev_open(dev, real, cls);
	if (ret < 0) {
		dev->d_fd = -1;
		ret = say(msg, len, ret, "%s: %s", real, strerror(-ret));
		goto out_unlock;
	}
	zoned = tfs_zns_is_zoned(dev);
	if (zoned != (dev->d_class == TFS_CLASS_ZNS)) {
		ret = say(msg, len, -EINVAL, "%s is %s zoned device", real, zoned ? "a" : "not a");
		goto out_close_dev;
	}
	if (flock(dev->d_fd, LOCK_EX | LOCK_NB) < 0) {
		ret = say(msg, len, -EBUSY, "%s is locked by another process", real);
		goto out_close_dev;
	}
	buf = zoned ? NULL : tfs_io_alloc(68 * 1024);
	if (buf && dev->d_size >= 68 * 1024 && tfs_io_dev_pread(dev, buf, 68 * 1024, 0) == 0)
		what = tfs_sb_foreign(buf, 68 * 1024);
	tfs_io_free(buf);
	if (dev->d_size >= 2 * TFS_SB_SIZE && tfs_sb_read(dev, &old, 0) == 0)
		what = memcmp(old.s_pool_uuid, fs->pool.sb.s_pool_uuid, 16) ? "a tierfs pool"
									      : "a superblock of this pool";
	if (what && !force) {
		ret = say(msg, len, -EEXIST, "%s holds %s; use --force to overwrite it", real, what);
		goto out_unlock_dev;
	}
	sb = table_copy(fs);
	if (!sb) {
		ret = say(msg, len, -ENOMEM, "out of memory");
		goto out_unlock_dev;
	}
	sd = &sb->s_dev[n];
	memset(sd, 0, sizeof(*sd));
	if (zoned) {
		/* zones 0 and 1 hold the superblocks, the rest chunk slots;
		 * the checksum table goes to a device written in place */
		tfs_zns_geometry(dev, &g);
		if (g.zone_cap < fs->pool.chunk_size || g.nr_zones < TIER_ZONES_MIN + 2 ||
		    (g.max_open && g.max_open < 2) || (g.max_active && g.max_active < 2)) {
			ret = say(msg, len, -EINVAL,
				  "%s: %u zones of capacity %llu KiB, %u open at most: at least %u zones holding a chunk each and 2 open zones are needed",
				  real, g.nr_zones, (unsigned long long)(g.zone_cap >> 10), g.max_open,
				  TIER_ZONES_MIN + 2);
			goto out_free_sb;
		}
		ret = zones_reset(dev, &g, msg, len);
		if (ret < 0)
			goto out_free_sb;
		sd->sd_data_off = 2 * g.zone_size;
		sd->sd_nslots = (uint64_t)(g.nr_zones - 2) * (g.zone_cap >> sb->s_chunk_shift);
		sd->sd_cs_pages = (sd->sd_nslots + sb->s_cs_per_page - 1) / sb->s_cs_per_page;
		ret = zns_table(fs, sb, sd, msg, len);
		if (ret < 0)
			goto out_free_sb;
		table = 1;
	} else {
		if (tfs_layout_inplace(sd, dev->d_size, TFS_META_START, sb->s_chunk_shift,
				       sb->s_cs_psize, sb->s_cs_per_page) < MIN_SLOTS) {
			ret = say(msg, len, -ENOSPC, "%s is too small: at least %u chunk slots are needed",
				  real, MIN_SLOTS);
			goto out_free_sb;
		}
		sd->sd_cs_dev = n;
	}
	tfs_uuid_gen(sd->sd_uuid);
	sd->sd_class = dev->d_class;
	sd->sd_index = n;
	sd->sd_size = dev->d_size;
	strcpy(sd->sd_path, real);
	sb->s_ndev = n + 1;
	sb->s_gen++;
	sb->s_version = sb->s_version > TFS_FORMAT_NO_RADOS ? sb->s_version : TFS_FORMAT_NO_RADOS;
	/* the new device first: until every other one has the new table it
	 * is a device nothing uses */
	sb->s_dev_index = n;
	memcpy(sb->s_dev_uuid, sd->sd_uuid, 16);
	ret = tfs_sb_write(dev, sb);
	if (ret < 0) {
		ret = say(msg, len, ret, "writing the superblock of %s: %s", real, strerror(-ret));
		goto out_erase;
	}
	ret = sb_write_all(fs, sb, n);
	if (ret < 0) {
		/* the old table again, above every generation written */
		int r2;

		if (0) {
out_r2_failed:
			/* some devices may name it: it stays as it is, unused
			 * until the next mount settles the table */
			table = 0;
			goto out_free_sb;
		}

		pthread_mutex_lock(&fs->lock);
		*sb = fs->pool.sb;
		pthread_mutex_unlock(&fs->lock);
		sb->s_gen += 2;
		sb->s_version = sb->s_version > TFS_FORMAT_NO_RADOS ? sb->s_version : TFS_FORMAT_NO_RADOS;
		r2 = sb_write_all(fs, sb, n);
		if (r2 == 0) {
			fs->pool.sb.s_gen = sb->s_gen;
			fs->pool.sb.s_version = sb->s_version;
		}
		ret = say(msg, len, ret, "writing the new device table: %s%s", strerror(-ret),
			  r2 ? " (and putting the old one back failed: remount to settle it)" : "");
		if (r2)
			goto out_r2_failed;
		goto out_erase;
	}
	/* every superblock names the table's slots now: they stay taken */
	table = 0;
	if (zoned) {
		/* its geometry, as a mount learns it (the entry is published
		 * first: nothing reads entries past ndev) */
		fs->pool.sb.s_dev[n] = *sd;
		ret = tfs_zns_setup(fs, n);
	}
	pthread_mutex_lock(&fs->lock);
	if (ret == 0)
		ret = table_publish(fs, sb, n);
	if (ret == 0)
		ret = tier_alloc_add(&fs->pool.alloc, n, sd->sd_nslots, sd->sd_class);
	if (ret == 0 && zoned) {
		ret = tier_zone_init(&fs->pool.alloc, n, fs->zns.nzones[n] - 2, fs->zns.spz[n],
				     fs->zns.zopen[n]);
		if (ret < 0) {
			/* in the allocator, but unusable: nothing goes there, and
			 * it is not one being emptied */
			tier_alloc_set_out(&fs->pool.alloc, n);
			fs->pool.alloc.a_dev[n].a_nslots = fs->pool.alloc.a_dev[n].a_nfree = 0;
		}
	}
	if (ret == 0) {
		memset(&fs->pool.dstat[n], 0, sizeof(fs->pool.dstat[n]));
		fs->pool.sb_gen[n] = sb->s_gen;
		for (d = 0; d < n; d++)
			fs->pool.sb_gen[d] = sb->s_gen;
		__atomic_store_n(&fs->pool.ndev, n + 1, __ATOMIC_RELEASE);
		if (zoned)
			tfs_migrate_zoned(fs);
		if (fs->eng.running)
			tier_engine_kick(&fs->eng, 0);
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret < 0) {
		/* the superblocks name it: it stays, unused until a remount */
		say(msg, len, ret, "%s joined the pool's table but cannot be used until the next mount: %s",
		    real, strerror(-ret));
		goto out_free_sb;
	}
	tfs_info("device %u added: %s (%s, %llu MiB)", n, real, tfs_dev_class_str(sd->sd_class),
		 (unsigned long long)((sd->sd_nslots << sb->s_chunk_shift) >> 20));
	say(msg, len, 0, "device %u added: %s (%s, %llu MiB of chunk slots)", n, real,
	    tfs_dev_class_str(sd->sd_class),
	    (unsigned long long)((sd->sd_nslots << sb->s_chunk_shift) >> 20));
	free(sb);
	pthread_mutex_unlock(&fs->pool.devop);
	return (int)n;

out_erase:
	erase_sb(dev);
out_free_sb:
	if (table) {
		pthread_mutex_lock(&fs->lock);
		zns_table_free(fs, sb, sd);
		pthread_mutex_unlock(&fs->lock);
	}
	free(sb);
out_unlock_dev:
	flock(dev->d_fd, LOCK_UN);
out_close_dev:
	tfs_io_dev_close(dev);
out_unlock:
	pthread_mutex_unlock(&fs->pool.devop);
	return ret;
}

/* device @what of the pool: an index or a path */
static int dev_find(struct tfs_fs *fs, const char *what)
{
	char real[PATH_MAX], *end;
	unsigned long i = strtoul(what, &end, 10);
	unsigned int d;

	if (*what && !*end)
		return i < fs->pool.sb.s_ndev ? (int)i : -ENOENT;
	if (!realpath(what, real))
		snprintf(real, sizeof(real), "%s", what);
	for (d = 0; d < fs->pool.sb.s_ndev; d++)
		if (!(fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED) &&
		    (!strcmp(real, fs->pool.dev[d].d_path) || !strcmp(real, fs->pool.sb.s_dev[d].sd_path)))
			return (int)d;
	return -ENOENT;
}

int tfs_dev_remove(struct tfs_fs *fs, const char *what, char *msg, size_t len)
{
	struct tier_alloc *a = &fs->pool.alloc;
	struct tfs_sb *sb = NULL;
	uint64_t used, room, keep;
	unsigned int d, e;
	int ret, idx;

	pthread_mutex_lock(&fs->pool.devop);
	idx = dev_find(fs, what);
	if (idx < 0) {
		ret = say(msg, len, -ENOENT, "%s is not a device of this pool", what);
		goto out_unlock;
	}
	d = (unsigned int)idx;
	if (fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED) {
		ret = say(msg, len, -ENOENT, "device %u (%s) was removed already", d,
			  fs->pool.sb.s_dev[d].sd_path);
		goto out_unlock;
	}
	if (fs->pool.sb.s_dev[d].sd_flags & TFS_SD_DRAINING) {
		ret = say(msg, len, 0, "device %u (%s) is being emptied already", d, fs->pool.dev[d].d_path);
		goto out_unlock;
	}
	if (fs->ns.readonly || tfs_meta_readonly(fs->meta)) {
		ret = say(msg, len, -EROFS, "the pool is mounted read-only");
		goto out_unlock;
	}
	if (fs->pool.sb.s_dev[d].sd_class == TFS_CLASS_RADOS) {
		ret = say(msg, len, -EOPNOTSUPP,
			  "device %u is the rados tier: removing it is not supported (see docs/rados.md)", d);
		goto out_unlock;
	}
	if (d == fs->pool.sb.s_meta_dev) {
		ret = say(msg, len, -EBUSY,
			  "device %u (%s) holds the pool's journal and checkpoint headers: it cannot be removed",
			  d, fs->pool.dev[d].d_path);
		goto out_unlock;
	}
	for (e = 0; e < fs->pool.sb.s_ndev; e++)
		if (e != d && fs->pool.sb.s_dev[e].sd_cs_dev == d &&
		    !(fs->pool.sb.s_dev[e].sd_flags & TFS_SD_REMOVED)) {
			ret = say(msg, len, -EBUSY,
				  "device %u (%s) holds the checksum table of device %u (%s): it cannot be removed while that one is in the pool",
				  d, fs->pool.dev[d].d_path, e, fs->pool.sb.s_dev[e].sd_path);
			goto out_unlock;
		}
	/* everything on it must fit on the others, the root reserve kept */
	pthread_mutex_lock(&fs->lock);
	used = tier_alloc_dev_used(a, d);
	for (e = 0; e < a->a_ndev; e++)
		if (e != d && a->a_dev[e].a_out)
			used += tier_alloc_dev_used(a, e); /* being emptied too */
	room = a->a_nfree - a->a_dev[d].a_nfree;
	keep = ((a->a_nslots - a->a_dev[d].a_nslots) * fs->pool.reserve_pct + 99) / 100;
	pthread_mutex_unlock(&fs->lock);
	if (used + keep > room) {
		ret = say(msg, len, -ENOSPC,
			  "device %u (%s) holds %llu chunks; the other devices have room for %llu (after the root reserve): free space first",
			  d, fs->pool.dev[d].d_path, (unsigned long long)used,
			  (unsigned long long)(room > keep ? room - keep : 0));
		goto out_unlock;
	}
	sb = table_copy(fs);
	if (!sb) {
		ret = say(msg, len, -ENOMEM, "out of memory");
		goto out_unlock;
	}
	sb->s_dev[d].sd_flags |= TFS_SD_DRAINING;
	sb->s_gen++;
	sb->s_version = sb->s_version > TFS_FORMAT_NO_RADOS ? sb->s_version : TFS_FORMAT_NO_RADOS;
	ret = sb_write_all(fs, sb, UINT_MAX);
	if (ret < 0) {
		/* some devices may say draining (the next mount resumes it);
		 * the next change must be of a higher generation */
		pthread_mutex_lock(&fs->lock);
		fs->pool.sb.s_gen = sb->s_gen;
		pthread_mutex_unlock(&fs->lock);
		say(msg, len, ret, "writing the device table: %s", strerror(-ret));
		goto out_free_sb;
	}
	pthread_mutex_lock(&fs->lock);
	ret = table_publish(fs, sb, d);
	for (e = 0; e < fs->pool.ndev; e++)
		fs->pool.sb_gen[e] = sb->s_gen;
	tier_alloc_set_out(a, d);
	fs->pool.drain_total[d] = tier_alloc_dev_used(a, d);
	if (fs->eng.running)
		tier_engine_kick(&fs->eng, 0);
	pthread_mutex_unlock(&fs->lock);
	/* zone copies kept on it are let go (they are only copies) */
	if (fs->zns.spz[d])
		tfs_shadows_drop_all(fs);
	tfs_info("device %u (%s) is being emptied: %llu chunk slots in use", d, fs->pool.dev[d].d_path,
		 (unsigned long long)fs->pool.drain_total[d]);
	say(msg, len, ret, "device %u (%s) is being emptied: %llu chunks to move", d,
	    fs->pool.dev[d].d_path, (unsigned long long)fs->pool.drain_total[d]);
out_free_sb:
	free(sb);
out_unlock:
	pthread_mutex_unlock(&fs->pool.devop);
	return ret < 0 ? ret : idx;
}

/* device @d holds nothing any more: out of the table */
static int finalize(struct tfs_fs *fs, unsigned int d)
{
	struct tier_alloc_dev *ad = &fs->pool.alloc.a_dev[d];
	struct tfs_sb *sb = table_copy(fs);
	char path[PATH_MAX];
	unsigned int e;
	int ret;

	if (!sb)
		return -ENOMEM;
	sb->s_dev[d].sd_flags = TFS_SD_REMOVED;
	sb->s_gen++;
	ret = sb_write_all(fs, sb, d);
	if (ret < 0)
		goto out_free_sb;
	snprintf(path, sizeof(path), "%s", fs->pool.dev[d].d_path);
	erase_sb(&fs->pool.dev[d]);
	pthread_mutex_lock(&fs->lock);
	ret = table_publish(fs, sb, d);
	for (e = 0; e < fs->pool.ndev; e++)
		fs->pool.sb_gen[e] = sb->s_gen;
	/* its checksum table's slots on another device go back */
	zns_table_free(fs, sb, &sb->s_dev[d]);
	/* nothing names it: no slots, not zoned.  Its descriptor stays open
	 * until unmount (a flush or a report that looked at it just before
	 * must not meet a closed one); the pool lock is let go, so mkfs and
	 * other pools may take it (a block device is still held O_EXCL until
	 * the unmount) */
	ad->a_nslots = ad->a_nfree = 0;
	tier_zone_destroy(ad);
	fs->zns.spz[d] = 0;
	fs->pool.drain_total[d] = 0;
	flock(fs->pool.dev[d].d_fd, LOCK_UN);
	pthread_mutex_unlock(&fs->lock);
	tfs_info("device %u (%s) removed from the pool", d, path);
	free(sb);
	return ret;

out_free_sb:
	/* no two tables may share a generation */
	pthread_mutex_lock(&fs->lock);
	fs->pool.sb.s_gen = sb->s_gen;
	pthread_mutex_unlock(&fs->lock);
	free(sb);
	return ret;
}

void tfs_dev_evacuated(struct tfs_fs *fs)
{
	unsigned int d;

	pthread_mutex_lock(&fs->pool.devop);
	for (d = 0; d < fs->pool.ndev; d++) {
		int inlog, ret;
		uint64_t used;

		if (!(fs->pool.sb.s_dev[d].sd_flags & TFS_SD_DRAINING) || !tfs_dev_present(fs, d))
			continue;
		/* the slots of moved chunks are free once their commit is */
		ret = tfs_commit(fs);
		if (ret < 0)
			break;
		pthread_mutex_lock(&fs->lock);
		inlog = tfs_meta_dev_in_log(fs->meta, d);
		pthread_mutex_unlock(&fs->lock);
		/* two checkpoints: the checksums written to its slots go into
		 * its table while it is there, and neither checkpoint nor the
		 * journal names it afterwards; with a segment of the log on it,
		 * the whole log is written anew elsewhere */
		ret = inlog ? tfs_meta_rewrite(fs->meta) : tfs_meta_checkpoint(fs->meta, 0);
		if (ret == 0 && !inlog)
			ret = tfs_meta_checkpoint(fs->meta, 0);
		if (ret < 0) {
			tfs_err("emptying device %u: %s failed: %s", d,
				inlog ? "rewriting the metadata log" : "a checkpoint", strerror(-ret));
			break;
		}
		pthread_mutex_lock(&fs->lock);
		inlog = tfs_meta_dev_in_log(fs->meta, d);
		/* a zoned device's slots in zones retired for errors stay
		 * taken: what counts there is live chunks and zones being
		 * written */
		used = fs->zns.spz[d] ? tier_zone_live(&fs->pool.alloc, d)
				      : tier_alloc_dev_used(&fs->pool.alloc, d);
		pthread_mutex_unlock(&fs->lock);
		if (inlog || used) {
			tfs_debug("emptying device %u: %llu slots still in use%s", d,
				  (unsigned long long)used, inlog ? " (metadata log)" : "");
			continue;
		}
		ret = finalize(fs, d);
		if (ret < 0)
			tfs_err("removing device %u from the device table failed: %s; retried later", d,
				strerror(-ret));
	}
	pthread_mutex_unlock(&fs->pool.devop);
}

const char *tfs_dev_state(const struct tfs_fs *fs, unsigned int d)
{
	uint32_t f = fs->pool.sb.s_dev[d].sd_flags;

	return f & TFS_SD_REMOVED ? "removed" : f & TFS_SD_DRAINING ? "draining" : "active";
}

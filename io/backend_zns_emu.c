/*
 * io/backend_zns_emu.c - a zoned device emulated on a regular file.
 *
 * No test machine has a ZNS drive, so a file plays one, enforcing the same
 * rules through the zone model (zone.c): writes only at the write pointer
 * and within the zone capacity, reads only below the write pointer, open and
 * active limits with implicit close, reset/open/close/finish.
 *
 * File layout (all little-endian):
 *   0        header, 4 KiB: magic "TFSZEMU1", version, zone size, zone
 *            capacity, zone count, max open, max active, XXH3-64 of the rest
 *   4 KiB    zone table copy A, then copy B: a sequence number, per zone its
 *            write pointer and condition, XXH3-64 of the copy
 *   data     zone i at data_off + i * zone size
 *
 * Write pointers are persisted when the device is flushed (a management
 * command flushes too), into both table copies one after the other, each
 * made durable before the next is written: a torn write leaves the other
 * copy (the previous state, or already the new one), and damage to one copy
 * leaves an intact one with the newest state - a real device does not lose
 * its write pointers to one bad byte either.  After a crash a zone's write
 * pointer is the last one flushed, as the durability contract of a device
 * with a volatile cache promises no more.
 *
 * Requests are carried out synchronously (sync_io) under a mutex: the zone
 * checks and the transfer of a write happen together, one write per zone at
 * a time, as a real zoned device needs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "io.h"

#define EMU_MAGIC "TFSZEMU1"
#define EMU_VERSION 1u
#define EMU_HDR 4096u
#define EMU_ENT 16u

struct emu {
	pthread_mutex_t lock;
	struct tfs_zoneset zs;
	uint64_t zone_size;
	uint64_t data_off;	/* file offset of zone 0 */
	uint64_t table_len;	/* bytes of one table copy */
	uint64_t table_seq;	/* sequence of the newest copy */
	unsigned int table_next; /* copy the next persist goes to */
	uint8_t *table;		/* encoding buffer */
};

static void put64(uint8_t *p, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t table_len(uint32_t nr)
{
	return ((uint64_t)8 + (uint64_t)nr * EMU_ENT + 8 + 4095) & ~(uint64_t)4095;
}

int tfs_zns_emu_check(uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		      uint32_t max_open, uint32_t max_active, const char **why)
{
	const char *w = NULL;

	if (zone_size < 65536 || (zone_size & (zone_size - 1)))
		w = "the zone size must be a power of two of at least 64K";
	else if (zone_cap == 0 || zone_cap > zone_size || (zone_cap & (TFS_BLOCK_SIZE - 1)))
		w = "the zone capacity must be a multiple of 4K, not larger than the zone size";
	else if (nr_zones < 1)
		w = "a device needs at least one zone";
	else if (max_active && max_open > max_active)
		w = "max-open cannot be larger than max-active";
	else if (max_active > nr_zones || max_open > nr_zones)
		w = "the open and active limits cannot exceed the number of zones";
	if (why)
		*why = w;
	return w ? -EINVAL : 0;
}

/* persist the zone table into both copies (emulator lock held) */
static int table_persist(struct tfs_io_dev *dev, struct emu *e)
{
	uint8_t *t = e->table;
	uint32_t i, c;
	int ret = 0;

	memset(t, 0, e->table_len);
	put64(t, e->table_seq + 1);
	for (i = 0; i < e->zs.nr; i++) {
		put64(t + 8 + i * EMU_ENT, e->zs.z[i].wp - e->zs.z[i].start);
		t[8 + i * EMU_ENT + 8] = e->zs.z[i].cond;
	}
	put64(t + e->table_len - 8, XXH3_64bits(t, e->table_len - 8));
	/* the copy that is not the newest first: the newest survives a tear */
	for (c = 0; c < 2 && ret == 0; c++) {
		unsigned int copy = c == 0 ? e->table_next : 1 - e->table_next;

		ret = tfs_io_pwrite_full(dev->d_fd, t, e->table_len, EMU_HDR + copy * e->table_len);
		if (ret == 0 && tfs_sys_fdatasync(dev->d_fd) < 0)
			ret = -errno;
	}
	if (ret < 0)
		return ret;
	e->table_seq++;
	return 0;
}

int tfs_zns_emu_format(const char *path, uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		       uint32_t max_open, uint32_t max_active)
{
	uint8_t hdr[EMU_HDR];
	uint64_t tl = table_len(nr_zones), size;
	uint8_t *t;
	int fd, ret;

	ret = tfs_zns_emu_check(zone_size, zone_cap, nr_zones, max_open, max_active, NULL);
	if (ret < 0)
		return ret;
	size = EMU_HDR + 2 * tl + (uint64_t)nr_zones * zone_size;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* a fresh, sparse file: every zone empty, no stale data */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto out_close_fd;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, EMU_MAGIC, 8);
	put64(hdr + 8, EMU_VERSION);
	put64(hdr + 16, zone_size);
	put64(hdr + 24, zone_cap);
	put64(hdr + 32, nr_zones);
	put64(hdr + 40, max_open);
	put64(hdr + 48, max_active);
	put64(hdr + EMU_HDR - 8, XXH3_64bits(hdr, EMU_HDR - 8));
	ret = tfs_io_pwrite_full(fd, hdr, EMU_HDR, 0);
	if (ret < 0)
		goto out_close_fd;
	t = calloc(1, tl);
	if (!t) {
		ret = -ENOMEM;
		goto out_close_fd;
	}
	/* both copies, sequence 1: every zone empty, its write pointer at its
	 * start (a copy never written would look damaged) */
	put64(t, 1);
	for (uint32_t i = 0; i < nr_zones; i++)
		t[8 + i * EMU_ENT + 8] = TFS_ZC_EMPTY;
	put64(t + tl - 8, XXH3_64bits(t, tl - 8));
	ret = tfs_io_pwrite_full(fd, t, tl, EMU_HDR);
	if (ret == 0)
		ret = tfs_io_pwrite_full(fd, t, tl, EMU_HDR + tl);
	free(t);
	if (ret == 0 && tfs_sys_fdatasync(fd) < 0)
		ret = -errno;
out_close_fd:
	close(fd);
	return ret;
}

/* 1 if the file starts with an emulated zoned device header */
static int is_emu(int fd)
{
	char magic[8];

	return pread(fd, magic, 8, 0) == 8 && memcmp(magic, EMU_MAGIC, 8) == 0;
}

static int emu_probe(int fd, const void *p, unsigned int cls)
{
	const struct stat *st = p;

	if (!S_ISREG(st->st_mode))
		return 0;
	return cls == TFS_CLASS_ZNS || (cls == TFS_CLASS_MAX && is_emu(fd));
}

/* load the newest valid table copy into the zones (conditions checked) */
static int table_load(struct tfs_io_dev *dev, struct emu *e)
{
	int best = -1, c;
	uint64_t seq[2] = { 0, 0 };
	uint8_t *t[2];
	uint32_t i;
	int ret = 0;

	t[0] = malloc(e->table_len);
	t[1] = malloc(e->table_len);
	if (!t[0] || !t[1]) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (c = 0; c < 2; c++) {
		if (tfs_io_pread_full(dev->d_fd, t[c], e->table_len, EMU_HDR + c * e->table_len) < 0)
			continue;
		if (get64(t[c] + e->table_len - 8) != XXH3_64bits(t[c], e->table_len - 8))
			continue;
		seq[c] = get64(t[c]);
		if (seq[c] && (best < 0 || seq[c] > seq[best]))
			best = c;
	}
	if (best < 0) {
		ret = -EUCLEAN; /* no valid zone table */
		goto out_free;
	}
	for (i = 0; i < e->zs.nr; i++) {
		struct tfs_zone *z = &e->zs.z[i];
		uint64_t wp = get64(t[best] + 8 + i * EMU_ENT);
		uint8_t cond = t[best][8 + i * EMU_ENT + 8];

		if (!tfs_zone_cond_ok(cond) || cond == TFS_ZC_NOT_WP || wp > z->len ||
		    (cond != TFS_ZC_FULL && wp > z->cap)) {
			ret = -EUCLEAN;
			goto out_free;
		}
		z->wp = z->start + wp;
		z->cond = cond;
		/* a device that lost power has no open zones: they come back
		 * closed (or empty when nothing was written) */
		if (cond == TFS_ZC_IMP_OPEN || cond == TFS_ZC_EXP_OPEN)
			z->cond = wp ? TFS_ZC_CLOSED : TFS_ZC_EMPTY;
	}
	tfs_zoneset_recount(&e->zs);
	e->table_seq = seq[best];
	e->table_next = (unsigned int)(1 - best);
out_free:
	free(t[0]);
	free(t[1]);
	return ret;
}

int tfs_zns_emu_verify(struct tfs_io_dev *dev, char *why, size_t len)
{
	struct emu *e = dev->d_priv;
	int bad = 0, c;
	uint8_t *t;

	if (dev->d_ops != &tfs_zns_emu_ops || !e)
		return 0;
	t = malloc(e->table_len);
	if (!t)
		return -ENOMEM;
	if (why && len)
		why[0] = 0;
	for (c = 0; c < 2; c++) {
		if (tfs_io_pread_full(dev->d_fd, t, e->table_len, EMU_HDR + c * e->table_len) == 0 &&
		    get64(t + e->table_len - 8) == XXH3_64bits(t, e->table_len - 8) && get64(t))
			continue;
		bad++;
		if (why && len)
			snprintf(why + strlen(why), len - strlen(why), "%szone table copy %c is damaged",
				 bad > 1 ? "; " : "", 'A' + c);
	}
	free(t);
	return bad;
}

int tfs_zns_emu_layout(const struct tfs_io_dev *dev, uint64_t *data_off, uint64_t *table_off,
		       uint64_t *table_len)
{
	const struct emu *e = dev->d_priv;

	if (dev->d_ops != &tfs_zns_emu_ops || !e)
		return -ENOTTY;
	*data_off = e->data_off;
	*table_off = EMU_HDR;
	*table_len = e->table_len;
	return 0;
}

static void emu_free(struct emu *e)
{
	if (!e)
		return;
	pthread_mutex_destroy(&e->lock);
	free(e->zs.z);
	free(e->table);
	free(e);
}

static int emu_open(struct tfs_io_dev *dev)
{
	uint8_t hdr[EMU_HDR];
	uint64_t zsz, cap, nr, mo, ma;
	struct stat st;
	struct emu *e;
	uint32_t i;
	int ret;

	if (tfs_io_pread_full(dev->d_fd, hdr, EMU_HDR, 0) < 0 || memcmp(hdr, EMU_MAGIC, 8) ||
	    get64(hdr + EMU_HDR - 8) != XXH3_64bits(hdr, EMU_HDR - 8) ||
	    get64(hdr + 8) != EMU_VERSION)
		return -EUCLEAN; /* not an emulated zoned device, or a damaged one */
	zsz = get64(hdr + 16);
	cap = get64(hdr + 24);
	nr = get64(hdr + 32);
	mo = get64(hdr + 40);
	ma = get64(hdr + 48);
	if (nr > UINT32_MAX || mo > UINT32_MAX || ma > UINT32_MAX ||
	    tfs_zns_emu_check(zsz, cap, (uint32_t)nr, (uint32_t)mo, (uint32_t)ma, NULL) < 0)
		return -EUCLEAN;
	/* the file must hold what the header claims before anything is sized
	 * after it */
	if (fstat(dev->d_fd, &st) < 0 || zsz == 0 || nr > (UINT64_MAX / 2) / zsz ||
	    (uint64_t)st.st_size < EMU_HDR + 2 * table_len((uint32_t)nr) + nr * zsz)
		return -EUCLEAN; /* truncated */
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	e->zone_size = zsz;
	e->table_len = table_len((uint32_t)nr);
	e->data_off = EMU_HDR + 2 * e->table_len;
	e->zs.nr = (uint32_t)nr;
	e->zs.max_open = (uint32_t)mo;
	e->zs.max_active = (uint32_t)ma;
	e->zs.z = calloc(nr, sizeof(*e->zs.z));
	e->table = malloc(e->table_len);
	ret = -ENOMEM;
	if (!e->zs.z || !e->table)
		goto out_free;
	for (i = 0; i < nr; i++)
		e->zs.z[i] = (struct tfs_zone){ .start = i * zsz, .len = zsz, .cap = cap };
	ret = table_load(dev, e);
	if (ret < 0)
		goto out_free;
	dev->d_size = nr * zsz;
	dev->d_priv = e;
	return 0;

out_free:
	emu_free(e);
	return ret;
}

static void emu_close(struct tfs_io_dev *dev)
{
	emu_free(dev->d_priv);
	dev->d_priv = NULL;
}

static int emu_sync_io(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	struct emu *e = dev->d_priv;
	uint32_t zi;
	struct tfs_zone saved;
	int ret;

	pthread_mutex_lock(&e->lock);
	if (req->r_op == TFS_IO_FLUSH) {
		/* data first, then the write pointers that cover it */
		ret = tfs_sys_fdatasync(dev->d_fd) < 0 ? -errno : table_persist(dev, e);
		goto out_unlock;
	}
	ret = -EIO;
	if (req->r_off >= dev->d_size || req->r_len > dev->d_size - req->r_off)
		goto out_unlock;
	zi = (uint32_t)(req->r_off / e->zone_size);
	if ((req->r_off + req->r_len - 1) / e->zone_size != zi)
		goto out_unlock; /* a request never crosses a zone */
	if (req->r_op == TFS_IO_READ) {
		ret = tfs_zone_readable(&e->zs, zi, req->r_off, req->r_len);
		if (ret == 0)
			ret = tfs_io_pread_full(dev->d_fd, req->r_buf, req->r_len,
						e->data_off + req->r_off);
		goto out_unlock;
	}
	saved = e->zs.z[zi];
	ret = tfs_zone_write(&e->zs, zi, req->r_off, req->r_len);
	if (ret < 0)
		goto out_unlock;
	ret = tfs_io_pwrite_full(dev->d_fd, req->r_buf, req->r_len, e->data_off + req->r_off);
	if (ret < 0) {
		/* the write failed: the zone is as it was (its condition is
		 * checked again, as after any I/O error on a real device) */
		e->zs.z[zi] = saved;
		tfs_zoneset_recount(&e->zs);
	} else {
		tfs_io_written(dev);
	}
out_unlock:
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static int emu_report(struct tfs_io_dev *dev, uint32_t first, struct tfs_zone *out, uint32_t nr)
{
	struct emu *e = dev->d_priv;
	uint32_t n;

	pthread_mutex_lock(&e->lock);
	if (first >= e->zs.nr) {
		pthread_mutex_unlock(&e->lock);
		return -EINVAL;
	}
	n = e->zs.nr - first < nr ? e->zs.nr - first : nr;
	memcpy(out, e->zs.z + first, n * sizeof(*out));
	pthread_mutex_unlock(&e->lock);
	return (int)n;
}

static int emu_geom(struct tfs_io_dev *dev, struct tfs_zgeom *g)
{
	struct emu *e = dev->d_priv;

	g->nr_zones = e->zs.nr;
	g->zone_size = e->zone_size;
	g->zone_cap = e->zs.z[0].cap;
	g->max_open = e->zs.max_open;
	g->max_active = e->zs.max_active;
	return 0;
}

static int emu_mgmt(struct tfs_io_dev *dev, uint32_t zone, unsigned int op)
{
	struct emu *e = dev->d_priv;
	int ret;

	pthread_mutex_lock(&e->lock);
	ret = tfs_zone_mgmt(&e->zs, zone, op);
	if (ret == 0 && op == TFS_ZONE_RESET)
		/* the data is gone, as on a device (and the file's space too) */
		fallocate(dev->d_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(e->data_off + (uint64_t)zone * e->zone_size), (off_t)e->zone_size);
	/* the table records every zone's write pointer: what it covers must be
	 * durable first (a command is a flush of the device as well) */
	if (ret == 0 && tfs_sys_fdatasync(dev->d_fd) < 0)
		ret = -errno;
	if (ret == 0)
		ret = table_persist(dev, e);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

const struct tfs_io_ops tfs_zns_emu_ops = {
	.name = "zns-emulated",
	.version = TFS_IO_OPS_VERSION,
	.flags = TFS_IO_ZONED,
	.probe = emu_probe,
	.open = emu_open,
	.close = emu_close,
	.sync_io = emu_sync_io,
	.zgeom = emu_geom,
	.zreport = emu_report,
	.zmgmt = emu_mgmt,
};

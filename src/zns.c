/*
 * src/zns.c - the zns tier inside the pool: zone geometry, appending chunks
 * to zones, resets, and the zone cleaner.
 *
 * Layout of a zoned device: zones 0 and 1 hold the superblock copies
 * (super.c), zones 2.. are data zones of fs->zns.spz chunk slots each (the zone
 * capacity, not its size, bounds them).  tiering/zalloc.c decides where a
 * chunk goes and when a zone can be reset; this file does the device work.
 *
 * A chunk in a zone is never rewritten: a write to it makes a new copy
 * elsewhere (file.c) and the old slot garbage.  The cleaner picks a victim
 * zone (fewest live chunks), moves its live chunks into a zone of the CLEAN
 * stream (a chunk that survived a zone is likely to live long, so it is kept
 * apart from new data), commits (the moved chunks' records flip the map),
 * and once the commit has freed the old slots the zone is reset.
 *
 * Write amplification of a zoned device = bytes written into its zones /
 * bytes of user data written into them; both counters are journaled
 * (TFS_REC_DEVSTAT) so they survive remounts.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfs.h"

int tfs_zns_setup(struct tfs_fs *fs, unsigned int d)
{
	struct tfs_io_dev *dev = &fs->pool.dev[d];
	const struct tfs_sb_dev *sd = &fs->pool.sb.s_dev[d];
	struct tfs_zgeom g;
	uint64_t spz;
	int ret;

	if (sd->sd_class != TFS_CLASS_ZNS)
		return 0;
	ret = tfs_zns_geometry(dev, &g);
	if (ret < 0) {
		tfs_err("%s: device %u of the pool is zoned, but this is not a zoned device", dev->d_path,
			d);
		return -EINVAL;
	}
	spz = g.zone_cap >> fs->pool.sb.s_chunk_shift;
	if (g.nr_zones < TIER_ZONES_MIN || spz == 0 || sd->sd_data_off != 2 * g.zone_size ||
	    sd->sd_nslots != (uint64_t)(g.nr_zones - 2) * spz) {
		tfs_err("%s: zone geometry (%u zones of %llu MiB, capacity %llu KiB) is not the one it was formatted with",
			dev->d_path, g.nr_zones, (unsigned long long)(g.zone_size >> 20),
			(unsigned long long)(g.zone_cap >> 10));
		return -EINVAL;
	}
	fs->zns.spz[d] = (uint32_t)spz;
	fs->zns.nzones[d] = g.nr_zones;
	fs->zns.zsize[d] = g.zone_size;
	fs->zns.zcap[d] = g.zone_cap;
	/* what the device lets us keep open, and never more than 8 */
	fs->zns.zopen[d] = 8;
	if (g.max_open && g.max_open < fs->zns.zopen[d])
		fs->zns.zopen[d] = g.max_open;
	if (g.max_active && g.max_active < fs->zns.zopen[d])
		fs->zns.zopen[d] = g.max_active;
	if (fs->zns.zopen[d] < 2) {
		tfs_err("%s: the device allows %u open zone(s); tierfs needs 2", dev->d_path,
			fs->zns.zopen[d]);
		return -EINVAL;
	}
	return 0;
}

/* pool lock held: take zone @dz of device @d out of use (@lost: its data
 * cannot be read), counted; returns its live chunks */
static uint32_t retire_locked(struct tfs_fs *fs, unsigned int d, uint32_t dz, int lost)
{
	uint32_t live = tier_zone_retire(&fs->pool.alloc, d, dz, lost);

	fs->zns.zstat[d].retired++;
	if (lost)
		fs->zns.zstat[d].lost_chunks += live;
	return live;
}

/*
 * After a failed write or command, ask the device what zone @dz of device @d
 * is now, as zonefs does after an I/O error.  A zone gone READONLY or
 * OFFLINE is retired: never written or reset again; the cleaner moves the
 * live chunks of a READONLY one out, those of an OFFLINE one are lost and
 * read as EIO.  Returns 1 if the zone was retired, 0 if it is still usable,
 * -errno if the report failed.
 */
static int zone_recheck(struct tfs_fs *fs, unsigned int d, uint32_t dz, const char *after)
{
	struct tfs_zone z;
	uint32_t live;
	int ret = tfs_zns_report(&fs->pool.dev[d], dz + 2, &z, 1);

	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	if (z.cond != TFS_ZC_READONLY && z.cond != TFS_ZC_OFFLINE)
		return 0;
	pthread_mutex_lock(&fs->lock);
	if (tier_zone_retired(&fs->pool.alloc.a_dev[d], (uint64_t)dz * fs->zns.spz[d])) {
		pthread_mutex_unlock(&fs->lock);
		return 1; /* known already */
	}
	live = retire_locked(fs, d, dz, z.cond == TFS_ZC_OFFLINE);
	pthread_cond_broadcast(&fs->zns.cond);
	pthread_mutex_unlock(&fs->lock);
	if (z.cond == TFS_ZC_OFFLINE)
		tfs_err("%s: zone %u went offline (found after a failed %s): retired; its %u live chunk%s cannot be read (EIO)",
			fs->pool.dev[d].d_path, dz + 2, after, live, live == 1 ? "" : "s");
	else
		tfs_err("%s: zone %u went read-only (found after a failed %s): retired; its %u live chunk%s will be moved out",
			fs->pool.dev[d].d_path, dz + 2, after, live, live == 1 ? "" : "s");
	return 1;
}

void tfs_zns_io_errors(struct tfs_fs *fs, const struct tfs_io_req *reqs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		unsigned int d = (unsigned int)(reqs[i].r_dev - fs->pool.dev);
		uint64_t zsize = fs->zns.zsize[d];

		if (reqs[i].r_res >= 0 || d >= fs->pool.ndev || !fs->zns.spz[d] ||
		    reqs[i].r_off < 2 * zsize)
			continue;
		zone_recheck(fs, d, (uint32_t)(reqs[i].r_off / zsize) - 2,
			     reqs[i].r_op == TFS_IO_READ ? "read" : "write");
	}
}

/* a zone operation, counted; when it fails, logged and the zone looked at
 * again: gone READONLY or OFFLINE, or refusing resets three times in a row,
 * it is retired */
static int zone_cmd(struct tfs_fs *fs, unsigned int d, uint32_t dzone, unsigned int op)
{
	const char *what = op == TFS_ZONE_RESET ? "reset" : op == TFS_ZONE_FINISH ? "finish" : "command";
	int ret = tfs_zns_mgmt(&fs->pool.dev[d], dzone + 2, op);

	if (ret < 0) {
		tfs_err("%s: zone %u: %s failed: %s", fs->pool.dev[d].d_path, dzone + 2, what,
			strerror(-ret));
		if (zone_recheck(fs, d, dzone, what) == 0 && op == TFS_ZONE_RESET) {
			pthread_mutex_lock(&fs->lock);
			if (tier_zone_reset_failed(&fs->pool.alloc, d, dzone) >= 3) {
				retire_locked(fs, d, dzone, 0);
				tfs_err("%s: zone %u failed to reset 3 times in a row: retired",
					fs->pool.dev[d].d_path, dzone + 2);
			}
			pthread_mutex_unlock(&fs->lock);
		}
		return ret;
	}
	pthread_mutex_lock(&fs->lock);
	if (op == TFS_ZONE_RESET) {
		tier_zone_reset_done(&fs->pool.alloc, d, dzone);
		fs->zns.zstat[d].resets++;
	} else if (op == TFS_ZONE_FINISH) {
		fs->zns.zstat[d].finishes++;
	}
	pthread_cond_broadcast(&fs->zns.cond);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* check one device's zones against metadata and adopt them */
static int mount_dev(struct tfs_fs *fs, unsigned int d, int repair)
{
	uint32_t nz = fs->zns.nzones[d], spz = fs->zns.spz[d], i, k;
	struct tfs_zone *zt;
	uint64_t now = tfs_now_ms();
	int n, ret = 0;

	zt = calloc(nz, sizeof(*zt));
	if (!zt)
		return -ENOMEM;
	n = tfs_zns_report(&fs->pool.dev[d], 0, zt, nz);
	if (n != (int)nz) {
		ret = n < 0 ? n : -EIO;
		tfs_err("%s: zone report failed: %s", fs->pool.dev[d].d_path, strerror(-ret));
		goto out_free;
	}
	for (i = 2; i < nz && ret == 0; i++) {
		const struct tfs_zone *z = &zt[i];
		uint32_t dz = i - 2, wslots;
		uint64_t wp;
		int sealed, act;

		if (z->cond == TFS_ZC_OFFLINE || z->cond == TFS_ZC_READONLY ||
		    z->cond == TFS_ZC_FULL) {
			wp = z->cap;
			sealed = 1;
		} else {
			wp = z->wp - z->start;
			/* a write pointer inside a slot: the rest of it is lost */
			sealed = (wp & (fs->pool.chunk_size - 1)) != 0;
		}
		wslots = (uint32_t)((wp + fs->pool.chunk_size - 1) >> fs->pool.chunk_shift);
		/* every live chunk must lie below the write pointer */
		for (k = wslots < spz ? wslots : spz; k < spz; k++) {
			struct tfs_chunk *c = tier_zone_chunk(&fs->pool.alloc, d, (uint64_t)dz * spz + k);

			if (!c)
				continue;
			tfs_err("%s: zone %u: write pointer at %llu KiB, but chunk %llu of inode %llu is at %llu KiB in it (its data was never written or was lost)",
				fs->pool.dev[d].d_path, i, (unsigned long long)(wp >> 10),
				(unsigned long long)c->c_idx, (unsigned long long)c->c_ino,
				(unsigned long long)(((uint64_t)k << fs->pool.chunk_shift) >> 10));
			fs->zns.errors++;
			/* whatever follows is unusable: take it as written */
			wslots = spz;
			sealed = 1;
		}
		pthread_mutex_lock(&fs->lock);
		act = tier_zone_adopt(&fs->pool.alloc, d, dz, wslots, sealed, now);
		if (z->cond == TFS_ZC_OFFLINE || z->cond == TFS_ZC_READONLY) {
			uint32_t live = retire_locked(fs, d, dz, z->cond == TFS_ZC_OFFLINE);

			pthread_mutex_unlock(&fs->lock);
			if (live)
				tfs_err("%s: zone %u is %s: retired; its %u live chunk%s %s",
					fs->pool.dev[d].d_path, i, tfs_zone_cond_str(z->cond), live,
					live == 1 ? "" : "s",
					z->cond == TFS_ZC_OFFLINE ? "cannot be read (EIO)" : "are moved out");
			else
				tfs_warn("%s: zone %u is %s: retired (nothing live in it)",
					 fs->pool.dev[d].d_path, i, tfs_zone_cond_str(z->cond));
			pthread_mutex_lock(&fs->lock);
		}
		pthread_mutex_unlock(&fs->lock);
		if (!repair || z->cond == TFS_ZC_OFFLINE || z->cond == TFS_ZC_READONLY)
			continue;
		if (act == TIER_ZADOPT_RESET)
			ret = zone_cmd(fs, d, dz, TFS_ZONE_RESET);
		else if (act == TIER_ZADOPT_FINISH && z->cond != TFS_ZC_FULL)
			ret = zone_cmd(fs, d, dz, TFS_ZONE_FINISH);
	}
out_free:
	free(zt);
	return ret;
}

int tfs_zns_mount(struct tfs_fs *fs, int repair)
{
	unsigned int d;
	int ret;

	for (d = 0; d < fs->pool.ndev; d++) {
		if (!fs->zns.spz[d])
			continue;
		fs->zns.zstat[d].mount_user_bytes = fs->zns.zstat[d].user_bytes;
		fs->zns.zstat[d].mount_dev_bytes = fs->zns.zstat[d].dev_bytes;
		ret = mount_dev(fs, d, repair);
		if (ret < 0)
			return ret;
	}
	if (fs->zns.errors)
		tfs_err("%u zone write pointer inconsistenc%s: the data named above reads as EIO; run fsck.tierfs",
			fs->zns.errors, fs->zns.errors == 1 ? "y" : "ies");
	return 0;
}

/* ---------------------------------------------------------------- zone copies */

struct tfs_shadow {
	struct tfs_hnode s_hn;
	const struct tfs_chunk *s_c;
	uint64_t s_slot;
	uint16_t s_dev;
};

static uint64_t shadow_key(const struct tfs_chunk *c)
{
	return (uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ull;
}

static struct tfs_shadow *shadow_get(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	struct tfs_hnode *h;

	if (!(c->c_flags & TIER_CHUNK_SHADOW) || !fs->zns.shadows.t_b)
		return NULL;
	for (h = tfs_htab_find(&fs->zns.shadows, shadow_key(c)); h; h = tfs_htab_next(h)) {
		struct tfs_shadow *sh = tfs_container_of(h, struct tfs_shadow, s_hn);

		if (sh->s_c == c)
			return sh;
	}
	return NULL;
}

int tfs_shadow_keep(struct tfs_fs *fs, struct tfs_chunk *c, uint16_t dev, uint64_t slot)
{
	struct tier_alloc *a = &fs->pool.alloc;
	struct tfs_zstat *st = &fs->zns.zstat[dev];
	struct tfs_shadow *sh;

	/* none on a device being emptied: nothing may stay there */
	if (!fs->zns.spz[dev] || a->a_dev[dev].a_out || (c->c_flags & TIER_CHUNK_SHADOW) ||
	    st->shadows >= a->a_dev[dev].a_nslots / 8 || tier_zone_pressure(a, dev) ||
	    tier_zone_retired(&a->a_dev[dev], slot))
		return 0;
	if (!fs->zns.shadows.t_b && tfs_htab_init(&fs->zns.shadows, 64) < 0)
		return 0;
	sh = malloc(sizeof(*sh));
	if (!sh)
		return 0;
	sh->s_c = c;
	sh->s_dev = dev;
	sh->s_slot = slot;
	sh->s_hn.h_key = shadow_key(c);
	tfs_htab_insert(&fs->zns.shadows, &sh->s_hn);
	c->c_flags |= TIER_CHUNK_SHADOW;
	tier_zone_shadow(a, dev, slot, 1);
	st->shadows++;
	return 1;
}

/* take @c's copy out of the table; its slot stays allocated */
static void shadow_unlink(struct tfs_fs *fs, struct tfs_chunk *c, struct tfs_shadow *sh)
{
	tfs_htab_remove(&fs->zns.shadows, &sh->s_hn);
	c->c_flags &= (uint16_t)~TIER_CHUNK_SHADOW;
	tier_zone_shadow(&fs->pool.alloc, sh->s_dev, sh->s_slot, -1);
	fs->zns.zstat[sh->s_dev].shadows--;
}

int tfs_shadow_reuse(struct tfs_fs *fs, struct tfs_chunk *c, unsigned int cls, uint16_t *dev,
		     uint64_t *slot)
{
	struct tfs_shadow *sh = shadow_get(fs, c);

	if (!sh || fs->pool.alloc.a_dev[sh->s_dev].a_class != cls || fs->pool.alloc.a_dev[sh->s_dev].a_out ||
	    tier_zone_retired(&fs->pool.alloc.a_dev[sh->s_dev], sh->s_slot))
		return 0;
	*dev = sh->s_dev;
	*slot = sh->s_slot;
	shadow_unlink(fs, c, sh);
	fs->zns.zstat[*dev].shadow_reused++;
	free(sh);
	return 1;
}

void tfs_shadow_drop(struct tfs_fs *fs, struct tfs_chunk *c)
{
	struct tfs_shadow *sh = shadow_get(fs, c);

	if (!sh)
		return;
	shadow_unlink(fs, c, sh);
	fs->zns.zstat[sh->s_dev].shadow_dropped++;
	tier_alloc_unbind(&fs->pool.alloc, sh->s_dev, sh->s_slot, c);
	/* metadata named the slot until the commit after the promotion */
	if (!fs->ns.loading)
		tfs_slot_free(fs, sh->s_dev, sh->s_slot, NULL);
	free(sh);
}

int tfs_shadows_drop_all(struct tfs_fs *fs)
{
	struct tfs_htab *t = &fs->zns.shadows;
	int n = 0;
	size_t b;

	pthread_mutex_lock(&fs->lock);
	for (b = 0; t->t_b && b < t->t_size; b++) {
		while (t->t_b[b]) {
			struct tfs_shadow *sh = tfs_container_of(t->t_b[b], struct tfs_shadow, s_hn);

			/* the chunk is live while its copy is in the table */
			tfs_shadow_drop(fs, (struct tfs_chunk *)sh->s_c);
			n++;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

int tfs_shadow_at(const struct tfs_fs *fs, const struct tfs_chunk *c, uint16_t dev, uint64_t slot)
{
	const struct tfs_shadow *sh = shadow_get(fs, c);

	return sh && sh->s_dev == dev && sh->s_slot == slot;
}

void tfs_shadows_clear(struct tfs_fs *fs)
{
	struct tfs_htab *t = &fs->zns.shadows;
	size_t b;

	for (b = 0; t->t_b && b < t->t_size; b++) {
		while (t->t_b[b]) {
			struct tfs_hnode *h = t->t_b[b];

			t->t_b[b] = h->h_next;
			free(tfs_container_of(h, struct tfs_shadow, s_hn));
		}
	}
	tfs_htab_destroy(t);
	memset(t, 0, sizeof(*t));
	for (b = 0; b < TFS_MAX_DEVS; b++)
		fs->zns.zstat[b].shadows = 0;
}

static void wait_zone(struct tfs_fs *fs, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&fs->zns.cond, &fs->lock, &ts);
}

int tfs_zns_append(struct tfs_fs *fs, unsigned int dev, unsigned int stream, const void *buf,
		   uint64_t user, uint64_t *slot)
{
	struct tfs_io_req req;
	uint64_t s;
	int ret, tries = 0, sealed, retired;

	for (;;) {
		pthread_mutex_lock(&fs->lock);
		while ((ret = tier_zone_take(&fs->pool.alloc, dev, stream, tfs_now_ms(), &s)) == -EAGAIN)
			wait_zone(fs, 100);
		if (ret == -ENOSPC)
			tfs_cleaner_kick(fs);
		pthread_mutex_unlock(&fs->lock);
		if (ret < 0)
			return ret;
		req = (struct tfs_io_req){
			.r_dev = &fs->pool.dev[dev],
			.r_op = TFS_IO_WRITE,
			.r_buf = (void *)buf,
			.r_len = fs->pool.chunk_size,
			.r_off = tfs_slot_off(fs, dev, s),
		};
		ret = tfs_io_run(&req, 1);
		pthread_mutex_lock(&fs->lock);
		sealed = tier_zone_done(&fs->pool.alloc, dev, s, ret < 0);
		if (ret == 0) {
			/* user == 0: a chunk being moved (cleaning, migration) */
			__atomic_fetch_add(user ? &fs->pool.dstat[dev].write_bytes
						: &fs->pool.dstat[dev].move_write_bytes,
					   fs->pool.chunk_size, __ATOMIC_RELAXED);
			struct tfs_zstat *st = &fs->zns.zstat[dev];
			unsigned int zs = tier_zone_stream(&fs->pool.alloc, dev,
							   (uint32_t)(s / fs->zns.spz[dev]));

			st->dev_bytes += fs->pool.chunk_size;
			st->user_bytes += user;
			st->s_dev[zs] += fs->pool.chunk_size;
			st->s_user[zs] += user;
			fs->zns.gen++;
		}
		pthread_cond_broadcast(&fs->zns.cond);
		pthread_mutex_unlock(&fs->lock);
		/* a failed write: what is the zone now?  A zone filled short of
		 * its capacity (or failed, and still usable) is finished so that
		 * it stops holding an open and an active resource */
		retired = ret < 0 ? zone_recheck(fs, dev, (uint32_t)(s / fs->zns.spz[dev]), "write") : 0;
		if (retired != 0)
			sealed = 0; /* retired, or the device cannot say */
		if (sealed && (ret < 0 || (uint64_t)fs->zns.spz[dev] << fs->pool.chunk_shift < fs->zns.zcap[dev]))
			zone_cmd(fs, dev, (uint32_t)(s / fs->zns.spz[dev]), TFS_ZONE_FINISH);
		if (ret == 0) {
			*slot = s;
			return 0;
		}
		tfs_err("%s: zone append failed: %s", fs->pool.dev[dev].d_path, strerror(-ret));
		/* a retired zone is never picked again: that retry is free */
		if (ret != -EIO || (retired != 1 && ++tries >= 3))
			return ret;
	}
}

/*
 * 1 if a writer should wait for the cleaner before writing: only when the
 * zones are at their reserve, the devices written in place have no room
 * left but the root reserve (else new data goes there, at that tier's
 * speed, while cleaning catches up), and the cleaner can make room now (a
 * zone to reset, or a sealed zone with garbage).  Waiting on anything else
 * held every buffered writer of a filling pool for seconds per request: a
 * 3 GiB write into an empty pmem + zns + block pool ran at 3 MB/s while the
 * zones' only garbage sat in open zones the cleaner cannot take.
 */
static int must_wait(struct tfs_fs *fs)
{
	const struct tier_alloc *a = &fs->pool.alloc;
	uint64_t root = (a->a_nslots * fs->pool.reserve_pct + 99) / 100;
	unsigned int d;

	if (a->a_nfree_ip > root)
		return 0;
	for (d = 0; d < fs->pool.ndev; d++)
		if (fs->zns.spz[d] && !a->a_dev[d].a_out && tier_zone_pressure(a, d) == 2 &&
		    (tier_zone_reclaimable(a, d) >= 0 || tier_zone_victim(a, d) >= 0))
			return 1;
	return 0;
}

void tfs_zns_throttle(struct tfs_fs *fs)
{
	unsigned int waited = 0;

	pthread_mutex_lock(&fs->lock);
	/* bounded: a cleaner that cannot make progress must not hang writers
	 * (they then take the reserve or another tier) */
	while (fs->eng.running && must_wait(fs) && waited++ < 100) {
		tfs_cleaner_kick(fs);
		wait_zone(fs, 50);
	}
	pthread_mutex_unlock(&fs->lock);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* move the live chunks out of zone @dz of device @d */
static int clean_zone(struct tfs_fs *fs, unsigned int d, uint32_t dz, int urgent)
{
	uint32_t spz = fs->zns.spz[d], k;
	uint64_t t0 = mono_us(), moved = 0, evicted = 0;
	unsigned int cls = fs->pool.alloc.a_dev[d].a_class, to, vs;
	int ret = 0, dst;

	pthread_mutex_lock(&fs->lock);
	vs = tier_zone_stream(&fs->pool.alloc, d, dz);
	pthread_mutex_unlock(&fs->lock);

	for (k = 0; k < spz && ret == 0; k++) {
		uint64_t slot = (uint64_t)dz * spz + k, idx, ino;
		struct tfs_inode *in;
		struct tfs_chunk *c;

		pthread_mutex_lock(&fs->lock);
		c = tier_zone_chunk(&fs->pool.alloc, d, slot);
		if (c && tfs_shadow_at(fs, c, d, slot)) {
			/* a copy of a chunk that lives elsewhere: dropped, not moved */
			tfs_shadow_drop(fs, c);
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		in = c ? tfs_inode_get(fs, c->c_ino) : NULL;
		if (!in) {
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		idx = c->c_idx;
		/* cleaning doubles as migration: hot survivors go up, idle ones
		 * down, the rest to a zone of the cleaner's stream */
		to = tier_engine_zone_dest(&fs->eng, cls,
					   tier_heat_get(c, tier_engine_epoch(&fs->eng)),
					   tfs_inode_place_pin(in));
		dst = to == cls ? -1 : tier_dest(&fs->pool.alloc, to, in->i_ino, idx, to < cls);
		if (dst < 0) {
			dst = (int)d;
			to = cls;
		}
		ino = in->i_ino;
		pthread_mutex_unlock(&fs->lock);
		/* migration's move: no inode lock held across the copy */
		ret = tfs_chunk_evacuate(fs, ino, idx, (uint16_t)d, slot, (unsigned int)dst);
		if (ret == -ESTALE) { /* rewritten (elsewhere), moved or gone meanwhile */
			ret = 0;
			continue;
		}
		if (ret == 0)
			tier_engine_count(&fs->eng, cls, to, fs->pool.chunk_size);
		if (ret < 0) {
			tfs_err("%s: cleaning zone %u: %s", fs->pool.dev[d].d_path, dz + 2, strerror(-ret));
			break;
		}
		moved++;
		evicted += !fs->zns.spz[dst]; /* into another tier written in place */
		/* the engine's one budget, unless at the reserve */
		tier_engine_pace(&fs->eng, mono_us() - t0, urgent);
		t0 = mono_us();
	}
	pthread_mutex_lock(&fs->lock);
	fs->zns.zstat[d].moved_chunks += moved;
	fs->zns.zstat[d].s_cleaned[vs] += moved << fs->pool.chunk_shift;
	/* a chunk cleaning sends to another tier is written all the same: it
	 * counts in the zones' write amplification */
	fs->zns.zstat[d].evicted_bytes += evicted << fs->pool.chunk_shift;
	fs->zns.zstat[d].dev_bytes += evicted << fs->pool.chunk_shift;
	fs->zns.gen += evicted != 0;
	if (ret == 0)
		fs->zns.zstat[d].cleaned_zones++;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_clean_round(struct tfs_fs *fs)
{
	unsigned int d;
	int done = 0, ret;

	for (d = 0; d < fs->pool.ndev; d++) {
		int64_t z;
		int p;

		/* a device being emptied is the engine's (its moves would find
		 * no zone there to go to) */
		if (!fs->zns.spz[d] || fs->pool.alloc.a_dev[d].a_out)
			continue;
		/* zones with nothing live: reset them */
		for (;;) {
			pthread_mutex_lock(&fs->lock);
			z = tier_zone_reclaimable(&fs->pool.alloc, d);
			pthread_mutex_unlock(&fs->lock);
			if (z < 0 || zone_cmd(fs, d, (uint32_t)z, TFS_ZONE_RESET) < 0)
				break;
			done++;
		}
		pthread_mutex_lock(&fs->lock);
		p = tier_zone_pressure(&fs->pool.alloc, d);
		/* a retired zone's live chunks first, whatever the pressure */
		z = tier_zone_evacuee(&fs->pool.alloc, d);
		if (z < 0 && p)
			z = tier_zone_victim(&fs->pool.alloc, d);
		pthread_mutex_unlock(&fs->lock);
		if (z < 0)
			continue;
		ret = clean_zone(fs, d, (uint32_t)z, p == 2);
		if (ret < 0) {
			pthread_mutex_lock(&fs->lock);
			fs->zns.clean_failed_ms = tfs_now_ms();
			pthread_mutex_unlock(&fs->lock);
		}
		/* the moved chunks' records flip the map; the commit frees the old
		 * slots, which leaves the victim with nothing live */
		if (tfs_commit(fs) < 0 || ret < 0)
			return ret < 0 ? ret : -EIO;
		pthread_mutex_lock(&fs->lock);
		z = tier_zone_reclaimable(&fs->pool.alloc, d);
		pthread_mutex_unlock(&fs->lock);
		if (z >= 0 && zone_cmd(fs, d, (uint32_t)z, TFS_ZONE_RESET) == 0)
			done++;
	}
	return done;
}

int tfs_clean_due(struct tfs_fs *fs)
{
	unsigned int d;

	/* pool lock held.  Cleaning that is due at all goes between the moves
	 * of a migration pass: a long paced pass must not starve it (a pass of
	 * promotions into the zones kept a device below its cleaning mark with
	 * nothing cleaned for a minute) */
	for (d = 0; d < fs->pool.ndev; d++) {
		const struct tier_alloc *a = &fs->pool.alloc;

		if (!fs->zns.spz[d] || a->a_dev[d].a_out)
			continue;
		/* (not again for a second after a round failed: a cleaner that
		 * cannot move must not run a round between every move) */
		if (tier_zone_reclaimable(a, d) >= 0 ||
		    (tfs_now_ms() >= fs->zns.clean_failed_ms + 1000 &&
		     (tier_zone_evacuee(a, d) >= 0 ||
		      (tier_zone_pressure(a, d) && tier_zone_victim(a, d) >= 0))))
			return 1;
	}
	return 0;
}

void tfs_cleaner_kick(struct tfs_fs *fs)
{
	/* pool lock held */
	tier_engine_kick_clean(&fs->eng);
}

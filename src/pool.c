/*
 * src/pool.c - a pool's assembly: devices found and locked, metadata
 * loaded, and the way back down.
 *
 * Opening: the superblock of the device named (both copies), the other
 * devices by the paths recorded at mkfs or given with -o devices= (each
 * identified by its superblock, locked with flock so that one daemon owns
 * the pool), zone geometry, then the metadata layer loads the newest
 * checkpoint that verifies and replays the journal, and the namespace
 * rebuilds what is not persisted (the slot allocator, from the chunk maps
 * and the log's segments).  Damage is reported with what it would cost:
 * a read-write mount is refused if acknowledged changes could be missing;
 * a read-only mount loads what verifies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "tfs.h"

struct tfs_fs *tfs_fs_new(void)
{
	struct tfs_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->pool.devop, NULL);
	pthread_cond_init(&fs->zns.cond, NULL);
	fs->ns.next_ino = TFS_ROOT_INO + 1;
	fs->pool.pin_gid = (uint32_t)-1;
	fs->ns.itab_size = 1024;
	fs->ns.itab = calloc(fs->ns.itab_size, sizeof(*fs->ns.itab));
	if (!fs->ns.itab) {
		free(fs);
		return NULL;
	}
	return fs;
}

/* the pool lock: a daemon that is exiting (unmounted, still writing its
 * last checkpoint) is waited for up to @wait_s seconds; a pool that is
 * still mounted is refused at once, naming the mount */
static int dev_lock(struct tfs_io_dev *dev, const char *path, unsigned int wait_s)
{
	unsigned int waited = 0;
	char who[PATH_MAX + 64];

	for (;;) {
		if (flock(dev->d_fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		if ((waited == 0 && tfs_dev_holder(dev->d_fd, path, who, sizeof(who))) ||
		    waited >= wait_s * 10) {
			if (waited)
				tfs_dev_holder(dev->d_fd, path, who, sizeof(who));
			tfs_err("%s is in use by %s", path, who);
			return -EBUSY;
		}
		waited++;
		usleep(100000);
	}
}

/* a block device is opened O_EXCL: when that fails, say who holds it (a
 * mounted pool, or anything else that claimed it); 1 if said */
static int busy(const char *path)
{
	char who[PATH_MAX + 64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	tfs_dev_holder(fd, path, who, sizeof(who));
	close(fd);
	tfs_err("%s is in use by %s", path, who);
	return 1;
}

/* open the device named on the command line; a block device still claimed
 * (O_EXCL) by a daemon that is exiting is waited for like the pool lock,
 * one claimed by a mounted pool is not */
static int open_waiting(struct tfs_io_dev *dev, const char *path, unsigned int wait_s)
{
	unsigned int waited;
	int ret = -EBUSY;

	for (waited = 0; ret == -EBUSY && waited <= wait_s * 10; waited++) {
		char who[PATH_MAX + 64];
		int fd;

		ret = tfs_io_dev_open(dev, path, TFS_CLASS_MAX);
		if (ret != -EBUSY)
			break;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || tfs_dev_holder(fd, path, who, sizeof(who))) {
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		usleep(100000);
	}
	return ret;
}

static int dev_attach(struct tfs_fs *fs, const struct tfs_sb *want, unsigned int idx,
		      const char *path, unsigned int wait_s, unsigned int flags)
{
	struct tfs_io_dev *dev = &fs->pool.dev[idx];
	struct tfs_sb sb;
	int ret;

	ret = tfs_io_dev_open(dev, path, want->s_dev[idx].sd_class);
	if (ret == -EBUSY && busy(path))
		return ret;
	if (ret < 0 && want->s_dev[idx].sd_class == TFS_CLASS_RADOS) {
		if ((flags & TFS_OPEN_DEGRADED) && ret != -EOPNOTSUPP &&
		    tfs_rados_offline(dev, path, want->s_dev[idx].sd_size) == 0) {
			tfs_warn("device %u of the pool (rados, %s): %s; mounted degraded: its chunks read as EIO",
				 idx, path, tfs_rados_error());
			fs->pool.sb_gen[idx] = want->s_gen;
			return 0;
		}
		tfs_err("device %u of the pool (rados, %s): %s%s", idx, path,
			tfs_rados_error()[0] ? tfs_rados_error() : strerror(-ret),
			ret == -EOPNOTSUPP ? "" : " (-o degraded mounts without it)");
		return ret == -EOPNOTSUPP ? ret : -EHOSTUNREACH;
	}
	if (ret == -EUCLEAN && want->s_dev[idx].sd_class == TFS_CLASS_ZNS) {
		tfs_err("device %u of the pool (zns, %s) is damaged: its emulated zone header or both copies of its zone table fail their checksums",
			idx, path);
		return ret;
	}
	if (ret < 0) {
		tfs_err("device %u of the pool (%s, %s): %s", idx,
			tfs_dev_class_str(want->s_dev[idx].sd_class), path, strerror(-ret));
		return ret;
	}
	ret = tfs_sb_read(dev, &sb, !(flags & TFS_OPEN_NOREPAIR));
	if (ret < 0 || memcmp(sb.s_pool_uuid, want->s_pool_uuid, 16) ||
	    memcmp(sb.s_dev_uuid, want->s_dev[idx].sd_uuid, 16)) {
		tfs_err("%s is not device %u of this pool (%s)", path, idx,
			ret < 0 ? "no valid tierfs superblock" : "it belongs elsewhere");
		ret = -ENODEV;
		goto out_close_dev;
	}
	if (dev->d_ops == &tfs_rados_ops &&
	    tfs_rados_window(dev, want->s_chunk_shift, want->s_dev[idx].sd_size) < 0) {
		ret = -EINVAL;
		goto out_close_dev;
	}
	if (dev->d_size < want->s_dev[idx].sd_data_off +
				  (want->s_dev[idx].sd_nslots << want->s_chunk_shift)) {
		tfs_err("%s is smaller (%llu bytes) than when it was formatted", path,
			(unsigned long long)dev->d_size);
		ret = -EINVAL;
		goto out_close_dev;
	}
	ret = dev_lock(dev, path, wait_s);
	if (ret < 0)
		goto out_close_dev;
	fs->pool.sb_gen[idx] = sb.s_gen;
	ret = tfs_zns_setup(fs, idx);
	if (ret < 0)
		goto out_close_dev;
	return 0;

out_close_dev:
	flock(dev->d_fd, LOCK_UN);
	tfs_io_dev_close(dev);
	return ret;
}

/* the path of device @idx: from the -o devices list (matched by its
 * superblock) or as recorded at mkfs */
static const char *dev_path(const struct tfs_sb *sb, unsigned int idx, const char *devices,
			    char *buf, size_t len)
{
	const char *p = devices;

	while (p && *p) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct tfs_io_dev d;
		struct tfs_sb s;

		if (n < len) {
			memcpy(buf, p, n);
			buf[n] = 0;
			if (tfs_io_dev_open(&d, buf, TFS_CLASS_MAX) == 0) {
				int ok = tfs_sb_read(&d, &s, 0) == 0 &&
					 memcmp(s.s_pool_uuid, sb->s_pool_uuid, 16) == 0 &&
					 s.s_dev_index == idx;

				tfs_io_dev_close(&d);
				if (ok)
					return buf;
			}
		}
		p = e ? e + 1 : NULL;
	}
	return sb->s_dev[idx].sd_path;
}

/* every path in the -o devices list must be a device of this pool: a typo
 * is an error, not a path silently passed over */
static int devices_check(const struct tfs_sb *sb, const char *devices)
{
	const char *p = devices;
	char buf[PATH_MAX];

	while (p && *p) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct tfs_io_dev d;
		struct tfs_sb s;
		int ret, ours;

		if (n == 0 || n >= sizeof(buf)) {
			tfs_err("-o devices: an empty or overlong path in '%s'", devices);
			return -EINVAL;
		}
		memcpy(buf, p, n);
		buf[n] = 0;
		ret = tfs_io_dev_open(&d, buf, TFS_CLASS_MAX);
		if (ret < 0) {
			tfs_err("-o devices: %s: %s", buf, strerror(-ret));
			return ret;
		}
		ours = tfs_sb_read(&d, &s, 0) == 0 && !memcmp(s.s_pool_uuid, sb->s_pool_uuid, 16);
		tfs_io_dev_close(&d);
		if (!ours) {
			tfs_err("-o devices: %s is not a device of this pool", buf);
			return -ENODEV;
		}
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* every device the table names, but the removed ones; @named is the one
 * given on the command line */
static int attach_all(struct tfs_fs *fs, const char *path, unsigned int named,
		      const struct tfs_open_args *a, unsigned int flags)
{
	char pbuf[PATH_MAX];
	unsigned int i;
	int ret;

	for (i = 0; i < fs->pool.sb.s_ndev; i++) {
		const char *p = i == named ? path
					   : dev_path(&fs->pool.sb, i, a->devices, pbuf, sizeof(pbuf));

		if (fs->pool.sb.s_dev[i].sd_flags & TFS_SD_REMOVED) {
			if (i == named) {
				tfs_err("%s was removed from its pool", path);
				return -ENODEV;
			}
			/* a hole: its index is never used again */
			fs->pool.dev[i].d_fd = -1;
			fs->pool.dev[i].d_class = fs->pool.sb.s_dev[i].sd_class;
			fs->pool.ndev = i + 1;
			continue;
		}
		ret = dev_attach(fs, &fs->pool.sb, i, p, (unsigned int)a->lock_wait_s, flags);
		if (ret < 0) {
			if (i != named && !a->devices && (ret == -ENOENT || ret == -ENODEV))
				tfs_err("give the device's current path with -o devices=PATH[:PATH...]");
			return ret;
		}
		fs->pool.ndev = i + 1;
	}
	return 0;
}

static void detach_all(struct tfs_fs *fs)
{
	unsigned int i;

	for (i = 0; i < fs->pool.ndev; i++) {
		if (fs->pool.dev[i].d_fd >= 0)
			flock(fs->pool.dev[i].d_fd, LOCK_UN);
		tfs_io_dev_close(&fs->pool.dev[i]);
		fs->zns.spz[i] = 0;
	}
	fs->pool.ndev = 0;
}

/* a device holding a newer device table than the one read first (a change
 * of the table cut short by a crash): that table, and its devices */
static int newest_table(struct tfs_fs *fs, const char *path, unsigned int named,
			const struct tfs_open_args *a, unsigned int flags)
{
	unsigned int i, best = UINT_MAX;
	struct tfs_sb *sb;
	int ret;

	for (i = 0; i < fs->pool.ndev; i++)
		if (fs->pool.dev[i].d_fd >= 0 && fs->pool.sb_gen[i] > fs->pool.sb.s_gen &&
		    (best == UINT_MAX || fs->pool.sb_gen[i] > fs->pool.sb_gen[best]))
			best = i;
	if (best == UINT_MAX)
		return 0;
	sb = malloc(sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	ret = tfs_sb_read(&fs->pool.dev[best], sb, 0);
	if (ret == 0) {
		tfs_info("%s holds device table generation %u (%s had %u): using it",
			 fs->pool.dev[best].d_path, sb->s_gen, path, fs->pool.sb.s_gen);
		detach_all(fs);
		fs->pool.sb = *sb;
		ret = attach_all(fs, path, named, a, flags);
	}
	free(sb);
	return ret;
}

static void pool_geometry(struct tfs_fs *fs)
{
	struct tfs_pool *p = &fs->pool;

	p->chunk_shift = p->sb.s_chunk_shift;
	p->chunk_size = 1u << p->chunk_shift;
	p->chunk_blocks = p->chunk_size / TFS_BLOCK_SIZE;
	p->mask_words = p->chunk_blocks < 64 ? 1 : p->chunk_blocks / 64;
	tier_chunks_init(&p->chunks, p->chunk_blocks);
	p->reserve_pct = p->sb.s_reserve_pct;
}

static struct tfs_meta_env meta_env(struct tfs_fs *fs, uint64_t csum_cache)
{
	struct tfs_meta_env env = {
		.sb = &fs->pool.sb,
		.dev = fs->pool.dev,
		.lock = &fs->lock,
		.ops = &tfs_meta_ops,
		.ctx = fs,
		.cs_cache_bytes = csum_cache,
	};

	return env;
}

/* say what a damaged pool would cost */
static void explain(struct tfs_fs *fs, int rw)
{
	const struct tfs_meta_report *r = tfs_meta_report(fs->meta);

	if (r->recovered)
		tfs_warn("the newest checkpoint is damaged (%s); the older one and the journal hold everything: nothing is lost",
			 r->what);
	else if (r->jcont && !r->older)
		tfs_info("a checkpoint was being taken when the pool stopped: the one before it and the journal hold everything");
	if (!tfs_meta_lossy(fs->meta))
		return;
	if (rw)
		tfs_err("metadata is damaged: %s", r->what);
	tfs_err("%s", rw ? "mounting read-write would lose acknowledged changes: refused.  Mount with -o ro to read what is intact, and run fsck.tierfs -n to see the damage, -y to keep what can be proven intact"
		       : "read-only: what is intact is shown; changes after the damage are missing");
}

int tfs_fs_open(struct tfs_fs **out, const char *path, const struct tfs_open_args *a)
{
	unsigned int flags = a->flags, mflags = 0, named;
	struct tfs_meta_env env;
	struct tfs_io_dev first;
	struct tfs_fs *fs;
	int ret, lossy;

	ret = open_waiting(&first, path, (unsigned int)a->lock_wait_s);
	if (ret < 0) {
		if (ret != -EBUSY || !busy(path))
			tfs_err("%s: %s", path, strerror(-ret));
		return ret;
	}
	fs = tfs_fs_new();
	if (!fs) {
		tfs_io_dev_close(&first);
		return -ENOMEM;
	}
	fs->pool.heat_halflife_ms = a->heat_halflife_ms;
	fs->pool.heat_now_ms = tfs_wall_ms();
	ret = tfs_sb_read(&first, &fs->pool.sb, 0);
	if (ret < 0) {
		uint8_t *buf = tfs_io_alloc(68 * 1024);
		const char *what = NULL;

		if (buf && tfs_io_dev_pread(&first, buf, 68 * 1024, 0) == 0)
			what = tfs_sb_foreign(buf, 68 * 1024);
		tfs_io_free(buf);
		if (ret == -ENOENT)
			tfs_err("%s is not a tierfs device%s%s%s", path, what ? " (it holds " : "",
				what ? what : "", what ? ")" : "");
		else if (ret == -EPROTONOSUPPORT)
			tfs_err("%s holds a tierfs pool of format %u; this tierfs reads formats %u to %u: copy the data off with the tierfs that made it and make a new pool",
				path, fs->pool.sb.s_version, TFS_FORMAT_OLDEST, TFS_FORMAT_VERSION);
		else
			tfs_err("%s: tierfs superblock is damaged (both copies): %s", path,
				strerror(-ret));
		tfs_io_dev_close(&first);
		tfs_fs_close(fs);
		return -EINVAL;
	}
	tfs_io_dev_close(&first);
	ret = devices_check(&fs->pool.sb, a->devices);
	if (ret < 0)
		goto out_close;
	named = fs->pool.sb.s_dev_index;
	ret = attach_all(fs, path, named, a, flags);
	if (ret == 0)
		ret = newest_table(fs, path, named, a, flags);
	if (ret < 0)
		goto out_close;
	pool_geometry(fs);
	if (a->reserve_pct >= 0)
		fs->pool.reserve_pct = (unsigned int)a->reserve_pct;
	fs->ns.readonly = (flags & TFS_OPEN_RDONLY) != 0;
	if (flags & (TFS_OPEN_NOREPAIR | TFS_OPEN_RDONLY))
		mflags |= TFS_META_RDONLY;
	if (flags & TFS_OPEN_SALVAGE)
		mflags |= TFS_META_SALVAGE;
	env = meta_env(fs, a->csum_cache);
	/* the intents the load finds wait for tfs_reseal below (a read-only
	 * or repair open leaves them for the next read-write one) */
	fs->ns.reseal_pending = 1;
	fs->ns.loading = 1;
	ret = tfs_meta_open(&fs->meta, &env, mflags);
	fs->ns.loading = 0;
	lossy = ret == -EUCLEAN;
	if (ret < 0 && !(lossy && (flags & TFS_OPEN_SALVAGE) && tfs_meta_report(fs->meta)->gen)) {
		if (fs->meta)
			explain(fs, !(flags & (TFS_OPEN_RDONLY | TFS_OPEN_NOREPAIR)));
		tfs_err("cannot load the pool's metadata: %s",
			lossy ? "it is damaged (see above)" : strerror(-ret));
		ret = lossy ? -EUCLEAN : ret;
		goto out_close;
	}
	ret = tfs_ns_finish_load(fs, (flags & TFS_OPEN_SALVAGE) != 0);
	if (ret < 0) {
		tfs_err("cannot load the pool's metadata: it is inconsistent (see above)");
		goto out_close;
	}
	explain(fs, 0);
	ret = tfs_zns_mount(fs, !(flags & (TFS_OPEN_NOREPAIR | TFS_OPEN_RDONLY)));
	if (ret < 0) {
		tfs_err("cannot bring up the zoned devices: %s", strerror(-ret));
		goto out_close;
	}
	if (!(flags & (TFS_OPEN_NOREPAIR | TFS_OPEN_RDONLY))) {
		/* log pages found damaged in one copy: the other one is
		 * written over them */
		ret = tfs_meta_heal(fs->meta);
		if (ret < 0)
			goto out_close;
		if (tfs_meta_report(fs->meta)->need_ckpt) {
			/* the older checkpoint was loaded, or the journal went on
			 * in the other half: a checkpoint covers it all before
			 * either half is reused */
			ret = tfs_meta_checkpoint(fs->meta, 1);
			if (ret < 0)
				goto out_close;
		}
		ret = tfs_reseal(fs);
		if (ret < 0) {
			tfs_err("cannot re-checksum chunks written at the crash: %s", strerror(-ret));
			goto out_close;
		}
		if (fs->pool.sb.s_version == 6) {
			/* format 7 records object generations: every superblock
			 * says so before the first such record is written */
			fs->pool.sb.s_version = 7;
			fs->pool.sb.s_gen++;
			tfs_info("format 6 pool: now format 7 (rados objects named by chunk and generation)");
		}
		ret = tfs_devices_sync(fs);
		if (ret < 0)
			goto out_close;
	}
	*out = fs;
	return lossy ? -EUCLEAN : 0;

out_close:
	tfs_fs_close(fs);
	return ret;
}

int tfs_fs_format(struct tfs_fs *fs, uint32_t uid, uint32_t gid)
{
	struct timespec now;
	uint64_t nslots[TFS_MAX_DEVS];
	unsigned int classes[TFS_MAX_DEVS], d;
	struct tfs_meta_env env;
	struct tfs_inode *root;
	int ret;

	pool_geometry(fs);
	for (d = 0; d < fs->pool.ndev; d++) {
		nslots[d] = fs->pool.sb.s_dev[d].sd_nslots;
		classes[d] = fs->pool.sb.s_dev[d].sd_class;
		if (classes[d] == TFS_CLASS_ZNS) {
			ret = tfs_zns_setup(fs, d);
			if (ret < 0)
				return ret;
		}
	}
	ret = tier_alloc_init(&fs->pool.alloc, fs->pool.ndev, nslots, classes);
	for (d = 0; ret == 0 && d < fs->pool.ndev; d++)
		if (fs->zns.spz[d])
			ret = tier_zone_init(&fs->pool.alloc, d, fs->zns.nzones[d] - 2, fs->zns.spz[d],
					     fs->zns.zopen[d]);
	if (ret < 0)
		return ret;
	env = meta_env(fs, 0);
	ret = tfs_meta_format(&fs->meta, &env);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	root = tfs_inode_new(fs, TFS_ROOT_INO);
	if (!root || !(root->i_u.dir = tfs_dir_new())) {
		pthread_mutex_unlock(&fs->lock);
		return -ENOMEM;
	}
	root->i_mode = S_IFDIR | 0755;
	root->i_nlink = 2;
	root->i_uid = uid;
	root->i_gid = gid;

	tfs_touch(&now);
	tfs_itimes_set(root, TFS_T_A | TFS_T_M | TFS_T_C, now);
	tfs_iparent_set(root, TFS_ROOT_INO);
	tfs_inode_dirty(fs, root);
	pthread_mutex_unlock(&fs->lock);
	/* the first checkpoint holds the root; the journal starts empty */
	return tfs_meta_checkpoint(fs->meta, 1);
}

int tfs_commit(struct tfs_fs *fs)
{
	return tfs_meta_commit(fs->meta);
}

int tfs_unmount(struct tfs_fs *fs)
{
	/* nothing is being written any more: no chunk needs an intent */
	pthread_mutex_lock(&fs->lock);
	tfs_intents_expire(fs, 1);
	/* heat survives the remount: the last checkpoint carries it */
	tfs_heat_save_all(fs);
	pthread_mutex_unlock(&fs->lock);
	return tfs_meta_unmount(fs->meta);
}

struct memwalk {
	struct tfs_fs *fs;
	struct tfs_memstat *ms;
};

/* what the allocator spends on @p (NULL: nothing): what it can hold and
 * its header, so that the report is what the daemon's memory grows by */
static uint64_t heap(const void *p)
{
	return p ? malloc_usable_size((void *)p) + sizeof(size_t) : 0;
}

static void mem_inode(void *arg, struct tfs_inode *in)
{
	struct memwalk *w = arg;
	struct tfs_dir *d = tfs_idir(in);
	size_t i;

	w->ms->inodes++;
	w->ms->inode_bytes += heap(in);
	w->ms->map_bytes += tier_cmap_bytes(&in->i_map);
	if (in->i_xattrs)
		w->ms->inode_bytes += heap(in->i_xattrs);
	if (S_ISLNK(in->i_mode))
		w->ms->inode_bytes += heap(in->i_u.symlink);
	if (d) {
		w->ms->inode_bytes += heap(d) + heap(d->dr_hash) + heap(d->dr_ents) + heap(d->dr_blk);
		for (i = 0; i < d->dr_len; i++)
			if (d->dr_ents[i])
				w->ms->dirent_bytes += heap(d->dr_ents[i]);
	}
}

void tfs_memstat(struct tfs_fs *fs, struct tfs_memstat *ms)
{
	struct memwalk w = { fs, ms };

	memset(ms, 0, sizeof(*ms));
	pthread_mutex_lock(&fs->lock);
	tfs_inode_each(fs, mem_inode, &w);
	ms->inode_bytes += fs->ns.itab_size * sizeof(*fs->ns.itab);
	ms->chunks = fs->pool.chunks.count;
	ms->chunk_bytes = tier_chunks_bytes(&fs->pool.chunks);
	pthread_mutex_unlock(&fs->lock);
}

static void close_one(void *arg, struct tfs_inode *in)
{
	tfs_inode_destroy(arg, in);
}

void tfs_fs_close(struct tfs_fs *fs)
{
	unsigned int i;

	if (!fs)
		return;
	free(fs->conf_path);
	fs->conf_path = NULL;
	tfs_pinq_free(fs);
	fs->ns.loading = 1;
	if (fs->meta) {
		tfs_inode_each(fs, close_one, fs);
	} else {
		/* no metadata layer: nothing was recorded anywhere */
		size_t b;

		for (b = 0; b < fs->ns.itab_size; b++)
			while (fs->ns.itab[b]) {
				struct tfs_inode *in = fs->ns.itab[b];

				fs->ns.itab[b] = in->i_hnext;
				free(in);
			}
	}
	free(fs->ns.itab);
	tfs_meta_close(fs->meta);
	tier_engine_destroy(&fs->eng);
	tier_alloc_destroy(&fs->pool.alloc);
	tier_chunks_destroy(&fs->pool.chunks);
	free(fs->ns.fpend);
	free(fs->ns.jd);
	tfs_intents_clear(fs);
	tfs_shadows_clear(fs);
	tfs_load_dirs_done(fs);
	for (i = 0; i < fs->pool.ndev; i++) {
		/* unlocked now: a ring may keep the file open a little longer
		 * (io_uring drops its references asynchronously), and an
		 * open right after this one must not find the pool busy */
		if (fs->pool.dev[i].d_fd >= 0)
			flock(fs->pool.dev[i].d_fd, LOCK_UN);
		tfs_io_dev_close(&fs->pool.dev[i]);
	}
	pthread_mutex_destroy(&fs->lock);
	pthread_cond_destroy(&fs->zns.cond);
	free(fs);
}

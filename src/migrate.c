/*
 * src/migrate.c - the pool's side of tiering: heat from requests, pins, and
 * the operations the migration engine (tiering/engine.c) calls: walking the
 * chunks of every file, moving one chunk, committing.
 *
 * Pins are the user.tierfs.pin xattr ("pmem", "zns" or "block"): stored and
 * journaled like any xattr, so they survive remounts and crashes with no
 * record of their own.  A new file or directory inherits its directory's
 * pin (fs.c, tfs_mknod).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tfs.h"

int tfs_pin_parse(const void *val, size_t len)
{
	unsigned int c;

	for (c = 0; c < TFS_CLASS_MAX; c++) {
		const char *name = tfs_dev_class_str(c);

		if (len == strlen(name) && !memcmp(val, name, len))
			return (int)c;
	}
	return -EINVAL;
}

unsigned int tfs_inode_pin(const struct tfs_inode *in)
{
	const size_t nl = sizeof(TFS_PIN_XATTR) - 1;
	const struct tfs_xattr *x;

	for (x = in->i_xattrs ? in->i_xattrs->xs_list : NULL; x; x = x->x_next) {
		if (x->x_namelen == nl && !memcmp(x->x_name, TFS_PIN_XATTR, nl)) {
			int c = tfs_pin_parse(x->x_value, x->x_len);

			return c < 0 ? TFS_CLASS_MAX : (unsigned int)c;
		}
	}
	return TFS_CLASS_MAX;
}

void tfs_heat_note_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, uint64_t len,
			  unsigned int w)
{
	uint32_t epoch = tier_engine_epoch(&fs->eng);
	uint64_t idx, last;

	if (len == 0)
		return;
	last = (off + len - 1) >> fs->pool.chunk_shift;
	for (idx = off >> fs->pool.chunk_shift; idx <= last; idx++) {
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);

		if (c)
			tier_heat_add(c, epoch, w);
	}
}

void tfs_heat_note(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, uint64_t len,
		   unsigned int w)
{
	pthread_rwlock_rdlock(TFS_ILOCK(in));
	tfs_heat_note_locked(fs, in, off, len, w);
	pthread_rwlock_unlock(TFS_ILOCK(in));
}

/* the engine's walk: inode table buckets from *cursor on */
static int walk(void *ctx, uint64_t *cursor, unsigned int budget, tier_walk_fn fn, void *arg)
{
	struct tfs_fs *fs = ctx;
	unsigned int seen = 0;

	while (*cursor < fs->ns.itab_size && seen < budget) {
		struct tfs_inode *in;

		for (in = fs->ns.itab[*cursor]; in; in = in->i_hnext) {
			struct tier_cgroup *grp;
			unsigned int pin, i, n;
			uint64_t g = 0;

			if (!S_ISREG(in->i_mode) || !in->i_map.m_count)
				continue;
			pin = tfs_inode_pin(in);
			while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
				n = (unsigned int)__builtin_popcountll(grp->g_present);
				for (i = 0; i < n; i++)
					fn(arg, grp->g_c[i], pin);
				seen += n;
				g++;
			}
		}
		(*cursor)++;
	}
	return *cursor >= fs->ns.itab_size;
}

static int move(void *ctx, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		unsigned int cls)
{
	return tfs_chunk_migrate(ctx, ino, idx, dev, slot, cls);
}

static int commit(void *ctx)
{
	return tfs_commit(ctx);
}

static uint64_t fg_requests(void *ctx)
{
	struct tfs_fs *fs = ctx;

	return __atomic_load_n(&fs->pool.fg_requests, __ATOMIC_RELAXED);
}

static int clean(void *ctx)
{
	return tfs_clean_round(ctx);
}

static int clean_due(void *ctx)
{
	return tfs_clean_due(ctx);
}

static void evacuated(void *ctx)
{
	tfs_dev_evacuated(ctx);
}

static const struct tier_engine_ops engine_ops = {
	.walk = walk,
	.move = move,
	.commit = commit,
	.fg_requests = fg_requests,
	.evacuated = evacuated,
};

/* a pool with zoned devices: the engine's thread cleans their zones too */
static const struct tier_engine_ops engine_ops_zoned = {
	.walk = walk,
	.move = move,
	.commit = commit,
	.fg_requests = fg_requests,
	.clean = clean,
	.clean_due = clean_due,
	.evacuated = evacuated,
};

void tfs_migrate_init(struct tfs_fs *fs, const struct tier_policy *pol)
{
	unsigned int d;
	int zoned = 0;

	for (d = 0; d < fs->pool.ndev; d++)
		zoned |= fs->zns.spz[d] != 0;
	tier_engine_init(&fs->eng, zoned ? &engine_ops_zoned : &engine_ops, fs, &fs->lock,
			 &fs->pool.alloc, fs->pool.chunk_size);
	if (pol)
		fs->eng.pol = *pol;
	fs->pool.alloc.a_high = fs->eng.pol.high;
}

uint64_t tfs_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct heat_walk {
	struct tfs_fs *fs;
	uint32_t epoch;
	uint64_t bytes;	   /* of log records marked so far */
	uint64_t skipped;  /* groups left out for want of room */
};

static void heat_inode(void *arg, struct tfs_inode *in)
{
	struct heat_walk *w = arg;
	struct tier_cgroup *grp;
	uint64_t g = 0;

	if (!S_ISREG(in->i_mode))
		return;
	for (grp = tier_cmap_group_next(&in->i_map, &g); grp;
	     g++, grp = tier_cmap_group_next(&in->i_map, &g)) {
		unsigned int i, n = (unsigned int)__builtin_popcountll(grp->g_present);

		for (i = 0; i < n; i++) {
			if (!tier_heat_get(grp->g_c[i], w->epoch))
				continue;
			if (grp->g_flags & TIER_G_DIRTY)
				break; /* written anyway */
			/* heat is advice: it never takes the last room of the
			 * metadata log, nor the root reserve */
			if (w->skipped || tfs_room(w->fs, w->bytes + TFS_CGROUP_EST, 1) < 0) {
				w->skipped++;
				break;
			}
			w->bytes += TFS_CGROUP_EST;
			tfs_cgroup_dirty(w->fs, in, g);
			break;
		}
	}
}

/*
 * Before the unmount's checkpoint: every group with a warm chunk is written
 * again, so its record carries the heat of now.  A group left out holds
 * only chunks whose heat has decayed to nothing since its record was
 * written; that record's heat, decayed for the time since, is no more.
 * One linear walk over the chunks.
 */
void tfs_heat_save_all(struct tfs_fs *fs)
{
	struct heat_walk w = { fs, tier_engine_epoch(&fs->eng), 0, 0 };

	/* heat that was not loaded (halflife 0) is not the pool's to save */
	if (fs->ns.readonly || tfs_meta_readonly(fs->meta) || !fs->pool.heat_halflife_ms ||
	    fs->pool.sb.s_version < 4)
		return;
	tfs_inode_each(fs, heat_inode, &w);
	if (w.skipped)
		tfs_warn("the metadata log has no room for the heat of %llu chunk groups: they start lukewarm at the next mount",
			 (unsigned long long)w.skipped);
}

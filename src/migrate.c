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
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

unsigned int tfs_inode_place_pin(const struct tfs_inode *in)
{
	return in->i_flags & TFS_I_PIN_OVER ? TFS_CLASS_MAX : tfs_inode_pin(in);
}

unsigned int tfs_slowest_class(const struct tfs_fs *fs)
{
	unsigned int d, slowest = 0;

	/* of the local tiers: pinning to rados, the coldest, is always
	 * allowed, and a pin to block stays what it was without rados */
	for (d = 0; d < fs->pool.ndev; d++)
		if (!(fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED) &&
		    fs->pool.sb.s_dev[d].sd_class != TFS_CLASS_RADOS &&
		    fs->pool.sb.s_dev[d].sd_class > slowest)
			slowest = fs->pool.sb.s_dev[d].sd_class;
	return slowest;
}

/*
 * -o pin_quota: what each user (not root, not in -o pin_group) has pinned
 * to each tier faster than the slowest, counted by every walk of the
 * migration engine (the chunks of their pinned files, in walk order); a
 * file that does not fit any more is marked TFS_I_PIN_OVER and placed as
 * if it were not pinned, so that a file pinned small and grown later does
 * not take more of a fast tier than the quota.  Whether a user is in
 * pin_group is what their last pin request said, or what the group
 * database says (looked up outside the pool lock, again after a minute).
 */
enum { PINQ_UNKNOWN, PINQ_EXEMPT, PINQ_LIMITED };

struct tfs_pinq {
	uint32_t uid;
	int state;
	uint64_t at_ms;			/* when state was learnt */
	uint64_t used[TFS_CLASS_MAX];	/* bytes, as the last complete walk counted */
	uint64_t next[TFS_CLASS_MAX];	/* the walk under way */
};

static struct tfs_pinq *pinq_get(struct tfs_fs *fs, uint32_t uid)
{
	struct tfs_pool *p = &fs->pool;
	unsigned int i;

	for (i = 0; i < p->npinq; i++)
		if (p->pinq[i].uid == uid)
			return &p->pinq[i];
	if (p->npinq == p->cpinq) {
		unsigned int cap = p->cpinq ? 2 * p->cpinq : 8;
		struct tfs_pinq *n = realloc(p->pinq, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->pinq = n;
		p->cpinq = cap;
	}
	memset(&p->pinq[p->npinq], 0, sizeof(p->pinq[0]));
	p->pinq[p->npinq].uid = uid;
	return &p->pinq[p->npinq++];
}

void tfs_pinq_free(struct tfs_fs *fs)
{
	free(fs->pool.pinq);
	fs->pool.pinq = NULL;
	fs->pool.npinq = fs->pool.cpinq = 0;
}

/* is @uid in the group @gid (primary or supplementary)? */
static int uid_in_group(uint32_t uid, uint32_t gid)
{
	struct passwd pw, *r = NULL;
	gid_t *groups = NULL;
	int ng = 64, i, in = 0;
	char buf[4096];

	if (gid == (uint32_t)-1 || getpwuid_r(uid, &pw, buf, sizeof(buf), &r) || !r)
		return 0;
	if (pw.pw_gid == gid)
		return 1;
	for (;;) {
		gid_t *g = realloc(groups, (size_t)ng * sizeof(*g));

		if (!g)
			break;
		groups = g;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) >= 0) {
			for (i = 0; i < ng; i++)
				in |= groups[i] == gid;
			break;
		}
		if (ng > 65536)
			break;
	}
	free(groups);
	return in;
}

/* start of a walk (pool lock held, dropped for the lookups) */
static void pinq_begin(struct tfs_fs *fs)
{
	struct tfs_pool *p = &fs->pool;
	uint64_t now = tfs_wall_ms();
	unsigned int i, n = 0, c;
	uint32_t *todo;

	if (!p->npinq)
		return;
	todo = malloc(p->npinq * sizeof(*todo));
	for (i = 0; todo && i < p->npinq; i++)
		if (p->pinq[i].state == PINQ_UNKNOWN || now - p->pinq[i].at_ms > 60000)
			todo[n++] = p->pinq[i].uid;
	if (n) {
		int *res = malloc(n * sizeof(*res));

		pthread_mutex_unlock(&fs->lock);
		for (i = 0; res && i < n; i++)
			res[i] = uid_in_group(todo[i], p->pin_gid) ? PINQ_EXEMPT : PINQ_LIMITED;
		pthread_mutex_lock(&fs->lock);
		for (i = 0; res && i < n; i++) {
			struct tfs_pinq *q = pinq_get(fs, todo[i]);

			if (q) {
				q->state = res[i];
				q->at_ms = now;
			}
		}
		free(res);
	}
	free(todo);
	for (i = 0; i < p->npinq; i++)
		for (c = 0; c < TFS_CLASS_MAX; c++)
			p->pinq[i].next[c] = 0;
}

static void pinq_end(struct tfs_fs *fs)
{
	unsigned int i;

	for (i = 0; i < fs->pool.npinq; i++)
		memcpy(fs->pool.pinq[i].used, fs->pool.pinq[i].next, sizeof(fs->pool.pinq[i].used));
}

/* a pinned file met by the walk: within its owner's quota or not */
static void pinq_count(struct tfs_fs *fs, struct tfs_inode *in, unsigned int pin,
		       unsigned int slowest)
{
	uint64_t bytes = (uint64_t)in->i_map.m_count << fs->pool.chunk_shift;
	struct tfs_pinq *q;

	in->i_flags &= ~TFS_I_PIN_OVER;
	if (!fs->pool.pin_quota || in->i_uid == 0 || pin >= slowest)
		return;
	q = pinq_get(fs, in->i_uid);
	if (!q || q->state != PINQ_LIMITED)
		return;
	if (q->next[pin] + bytes > fs->pool.pin_quota)
		in->i_flags |= TFS_I_PIN_OVER;
	else
		q->next[pin] += bytes;
}

int tfs_pin_quota_check(struct tfs_fs *fs, uint32_t uid, int exempt, unsigned int cls,
			uint64_t bytes)
{
	struct tfs_pinq *q = pinq_get(fs, uid);

	if (q) {
		q->state = exempt ? PINQ_EXEMPT : PINQ_LIMITED;
		q->at_ms = tfs_wall_ms();
	}
	if (exempt)
		return 0;
	if (!fs->pool.pin_quota)
		return -EPERM;
	if (!q || cls >= TFS_CLASS_MAX)
		return -EDQUOT;
	return q->used[cls] + bytes > fs->pool.pin_quota ? -EDQUOT : 0;
}

uint64_t tfs_pin_quota_used(struct tfs_fs *fs, uint32_t uid, unsigned int cls)
{
	unsigned int i;

	for (i = 0; i < fs->pool.npinq; i++)
		if (fs->pool.pinq[i].uid == uid && cls < TFS_CLASS_MAX)
			return fs->pool.pinq[i].used[cls];
	return 0;
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
	unsigned int seen = 0, slowest = tfs_slowest_class(fs);

	if (*cursor == 0 && fs->pool.pin_quota)
		pinq_begin(fs);
	while (*cursor < fs->ns.itab_size && seen < budget) {
		struct tfs_inode *in;

		for (in = fs->ns.itab[*cursor]; in; in = in->i_hnext) {
			struct tier_cgroup *grp;
			unsigned int pin, i, n;
			uint64_t g = 0;

			if (!S_ISREG(in->i_mode) || !in->i_map.m_count)
				continue;
			pin = tfs_inode_pin(in);
			if (pin < TFS_CLASS_MAX) {
				pinq_count(fs, in, pin, slowest);
				pin = tfs_inode_place_pin(in);
			}
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
	if (*cursor >= fs->ns.itab_size && fs->pool.pin_quota)
		pinq_end(fs);
	return *cursor >= fs->ns.itab_size;
}

static int move(void *ctx, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		unsigned int cls)
{
	return tfs_chunk_migrate(ctx, ino, idx, dev, slot, cls);
}

static int sink(void *ctx, const struct tier_move *m, unsigned int n, int *res)
{
	return tfs_chunk_sink(ctx, m, n, res);
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
	.sink = sink,
	.commit = commit,
	.fg_requests = fg_requests,
	.evacuated = evacuated,
};

/* a pool with zoned devices: the engine's thread cleans their zones too */
static const struct tier_engine_ops engine_ops_zoned = {
	.walk = walk,
	.move = move,
	.sink = sink,
	.commit = commit,
	.fg_requests = fg_requests,
	.clean = clean,
	.clean_due = clean_due,
	.evacuated = evacuated,
};

void tfs_migrate_zoned(struct tfs_fs *fs)
{
	/* the engine thread reads the pointer at each turn */
	__atomic_store_n(&fs->eng.ops, &engine_ops_zoned, __ATOMIC_RELEASE);
}

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

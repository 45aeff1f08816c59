/*
 * src/records.c - what the namespace's records mean: the callbacks the
 * metadata layer (src/meta/) calls, and the encoders for the journal.
 *
 * Two kinds of records describe the same objects (format.h):
 *   - journal records, one per change, in the order the changes happened:
 *     names added and removed, xattrs set and removed, frees, and at commit
 *     time the whole state of every inode and chunk changed since the last
 *     commit (a chunk's record carries only the checksums written since);
 *   - log records, one per unit, written by checkpoints: an inode, all its
 *     xattrs, a block of 64 directory entries, a group of 64 chunks; a
 *     later record of a unit replaces the earlier one, a tombstone removes
 *     it (and TFS_L_DEL_INODE everything the inode owned).
 * Both are states, not operations: applying one twice gives the same
 * result, which is what lets a checkpoint be taken while the pool changes
 * (its image is fuzzy; replaying the journal from where it began fixes
 * every object to its last journaled state).
 *
 * While the log is applied (ns.loading == 1) nothing is recorded; while the
 * journal is replayed (ns.loading == 2) every unit touched is queued for the
 * next checkpoint, as the change itself would have done.  A record may name
 * an inode whose own record comes later: it is created as a placeholder,
 * which must be filled by the end of the load (tfs_ns_finish_load).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tfs.h"

/* ---------------------------------------------------------------- encoding */

static void put_ts(struct tfs_wbuf *w, const struct timespec *ts)
{
	tfs_put_u64(w, (uint64_t)ts->tv_sec);
	tfs_put_u32(w, (uint32_t)ts->tv_nsec);
}

static void get_ts(struct tfs_rbuf *r, struct timespec *ts)
{
	ts->tv_sec = (time_t)tfs_get_u64(r);
	ts->tv_nsec = tfs_get_u32(r);
	if (ts->tv_nsec >= 1000000000)
		r->err = -EINVAL;
}

/* the state of an inode: TFS_J_INODE's payload and TFS_L_INODE's body */
static void inode_body(struct tfs_wbuf *w, const struct tfs_inode *in)
{
	const char *sl = tfs_isymlink(in);
	size_t sll = sl ? strlen(sl) : 0;
	unsigned int t;

	tfs_put_u64(w, in->i_ino);
	tfs_put_u32(w, in->i_mode);
	tfs_put_u32(w, in->i_uid);
	tfs_put_u32(w, in->i_gid);
	tfs_put_u32(w, in->i_nlink);
	tfs_put_u64(w, in->i_size);
	tfs_put_u64(w, tfs_irdev(in));
	for (t = 0; t < 3; t++) {
		struct timespec ts = tfs_itime(in, t);

		put_ts(w, &ts);
	}
	tfs_put_u64(w, tfs_iparent(in));
	tfs_put_u16(w, (uint16_t)sll);
	tfs_put_bytes(w, sl, sll);
}

void rec_inode(struct tfs_wbuf *w, const struct tfs_inode *in)
{
	size_t at = tfs_rec_begin(w, TFS_J_INODE);

	inode_body(w, in);
	tfs_rec_end(w, at);
}

void rec_ino(struct tfs_wbuf *w, unsigned int type, uint64_t ino)
{
	size_t at = tfs_rec_begin(w, type);

	tfs_put_u64(w, ino);
	tfs_rec_end(w, at);
}

void rec_dirent(struct tfs_wbuf *w, unsigned int type, uint64_t dir, uint64_t cookie,
		uint64_t ino, const char *name, size_t namelen)
{
	size_t at = tfs_rec_begin(w, type);

	tfs_put_u64(w, dir);
	if (type == TFS_J_DIRENT_ADD) {
		tfs_put_u64(w, cookie);
		tfs_put_u64(w, ino);
	}
	tfs_put_u16(w, (uint16_t)namelen);
	tfs_put_bytes(w, name, namelen);
	tfs_rec_end(w, at);
}

void rec_xattr(struct tfs_wbuf *w, unsigned int type, uint64_t ino, const char *name,
	       size_t namelen, const void *val, size_t len)
{
	size_t at = tfs_rec_begin(w, type);

	tfs_put_u64(w, ino);
	tfs_put_u16(w, (uint16_t)namelen);
	tfs_put_bytes(w, name, namelen);
	if (type == TFS_J_XATTR_SET) {
		tfs_put_u32(w, (uint32_t)len);
		tfs_put_bytes(w, val, len);
	}
	tfs_rec_end(w, at);
}

void rec_chunk_free(struct tfs_wbuf *w, unsigned int type, uint64_t ino, uint64_t idx)
{
	size_t at = tfs_rec_begin(w, type);

	tfs_put_u64(w, ino);
	tfs_put_u64(w, idx);
	tfs_rec_end(w, at);
}

/* a chunk with an intent: the blocks it names (every block holding data
 * if the table lost it) */
static void put_intent(struct tfs_fs *fs, struct tfs_wbuf *w, const struct tfs_chunk *c)
{
	const struct tfs_intent *it;
	uint32_t i;

	if (!(c->c_flags & TIER_CHUNK_INTENT))
		return;
	it = tfs_intent_get(fs, c);
	for (i = 0; i < fs->pool.mask_words; i++)
		tfs_put_u64(w, it ? it->i_mask[i] : c->c_mask[i]);
}

/* the flags of a chunk's record; with TFS_CF_OGEN its object generation
 * follows the slot (tfs_chunk_ogen) */
static uint8_t chunk_flags(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	return (uint8_t)(((c->c_flags & TIER_CHUNK_INTENT) ? TFS_CF_INTENT : 0) |
			 (tfs_chunk_ogen(fs, c) ? TFS_CF_OGEN : 0));
}

static void put_slot(const struct tfs_fs *fs, struct tfs_wbuf *w, const struct tfs_chunk *c)
{
	tfs_put_u64(w, c->c_slot);
	if (tfs_chunk_ogen(fs, c))
		tfs_put_u32(w, c->c_wgen);
}

/* a chunk's state with the checksums written since the last commit */
static void rec_chunk(struct tfs_fs *fs, struct tfs_wbuf *w, const struct tfs_chunk *c,
		      uint64_t *csmask, uint32_t *vals)
{
	size_t at = tfs_rec_begin(w, TFS_J_CHUNK);
	uint32_t i, words = fs->pool.mask_words;
	int n = tfs_cs_jtake(fs->meta, c->c_dev, c->c_slot, csmask, vals);

	tfs_put_u64(w, c->c_ino);
	tfs_put_u64(w, c->c_idx);
	tfs_put_u16(w, c->c_dev);
	tfs_put_u8(w, chunk_flags(fs, c));
	put_slot(fs, w, c);
	tfs_put_u32(w, fs->pool.chunk_blocks);
	for (i = 0; i < words; i++)
		tfs_put_u64(w, c->c_mask[i]);
	put_intent(fs, w, c);
	for (i = 0; i < words; i++)
		tfs_put_u64(w, csmask[i]);
	for (i = 0; i < (uint32_t)n; i++)
		tfs_put_u32(w, vals[i]);
	tfs_rec_end(w, at);
}

/* ---------------------------------------------------------------- loading */

/* the inode @ino, created as a placeholder if the load has not seen it yet */
static struct tfs_inode *load_inode(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in = tfs_inode_get(fs, ino);

	if (in || ino == 0)
		return in;
	in = tfs_inode_new(fs, ino);
	if (in)
		in->i_flags |= TFS_I_PLACEHOLDER;
	return in;
}

static struct tfs_inode *load_dir(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in = load_inode(fs, ino);

	if (!in)
		return NULL;
	if ((in->i_flags & TFS_I_PLACEHOLDER) && !in->i_mode)
		in->i_mode = S_IFDIR; /* until its record says more */
	if (!S_ISDIR(in->i_mode))
		return NULL;
	if (!in->i_u.dir)
		in->i_u.dir = tfs_dir_new();
	return in->i_u.dir ? in : NULL;
}

static int valid_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO:
	case S_IFSOCK:
		return 1;
	}
	return 0;
}

static int apply_inode(struct tfs_fs *fs, struct tfs_rbuf *r, struct tfs_inode **out)
{
	uint64_t ino = tfs_get_u64(r), rdev, parent;
	struct tfs_inode *in, tmp;
	struct timespec ts[3];
	const char *sl;
	uint16_t sll;
	unsigned int t;

	memset(&tmp, 0, sizeof(tmp));
	tmp.i_mode = tfs_get_u32(r);
	tmp.i_uid = tfs_get_u32(r);
	tmp.i_gid = tfs_get_u32(r);
	tmp.i_nlink = tfs_get_u32(r);
	tmp.i_size = tfs_get_u64(r);
	rdev = tfs_get_u64(r);
	for (t = 0; t < 3; t++)
		get_ts(r, &ts[t]);
	parent = tfs_get_u64(r);
	sll = tfs_get_u16(r);
	sl = tfs_get_bytes(r, sll);
	if (r->err || ino == 0 || !valid_type(tmp.i_mode) || sll > TFS_SYMLINK_MAX ||
	    (sll && !S_ISLNK(tmp.i_mode)))
		return -EINVAL;
	in = load_inode(fs, ino);
	if (!in)
		return -ENOMEM;
	/* a placeholder made for a directory entry of it may only become a
	 * directory; an inode never changes its type */
	if (in->i_mode && (in->i_mode & S_IFMT) != (tmp.i_mode & S_IFMT))
		return -EINVAL;
	in->i_flags &= ~TFS_I_PLACEHOLDER;
	in->i_mode = tmp.i_mode;
	in->i_uid = tmp.i_uid;
	in->i_gid = tmp.i_gid;
	in->i_nlink = tmp.i_nlink;
	in->i_size = tmp.i_size;
	for (t = 0; t < 3; t++)
		tfs_itime_set(in, t, ts[t]);
	if (S_ISCHR(in->i_mode) || S_ISBLK(in->i_mode))
		in->i_u.rdev = rdev;
	if (S_ISDIR(in->i_mode) && !in->i_u.dir) {
		in->i_u.dir = tfs_dir_new();
		if (!in->i_u.dir)
			return -ENOMEM;
	}
	tfs_iparent_set(in, parent);
	if (S_ISLNK(in->i_mode)) {
		free(in->i_u.symlink);
		in->i_u.symlink = strndup(sl ? sl : "", sll);
		if (!in->i_u.symlink)
			return -ENOMEM;
	}
	if (!S_ISREG(in->i_mode) && in->i_map.m_count)
		return -EINVAL;
	*out = in;
	return 0;
}

/* add (or replace, by name) entry @name -> @ino at @cookie of @dir */
static int dirent_put(struct tfs_fs *fs, struct tfs_inode *dir, const char *name, uint16_t nl,
		      uint64_t cookie, uint64_t ino)
{
	struct tfs_dir *d = dir->i_u.dir;
	struct tfs_dirent *de = tfs_dir_lookup(d, name, nl);

	if (de) {
		uint64_t old = de->d_cookie;

		tfs_dir_del(d, de);
		tfs_dblk_dirty(fs, dir, old);
	}
	if (tfs_dir_has_cookie(d, cookie))
		return -EINVAL; /* two entries at one readdir position */
	if (!load_inode(fs, ino))
		return -ENOMEM;
	return tfs_dir_add(d, name, nl, ino, cookie, NULL);
}

static int name_ok(const char *name, uint16_t nl)
{
	return name && nl && nl <= TFS_NAME_MAX && !memchr(name, '/', nl) && !memchr(name, 0, nl);
}

static int apply_dirent(struct tfs_fs *fs, struct tfs_rbuf *r, unsigned int type)
{
	uint64_t dirino = tfs_get_u64(r), cookie = 0, ino = 0;
	struct tfs_inode *dir;
	struct tfs_dirent *de;
	const char *name;
	uint16_t nl;
	int ret;

	if (type == TFS_J_DIRENT_ADD) {
		cookie = tfs_get_u64(r);
		ino = tfs_get_u64(r);
	}
	nl = tfs_get_u16(r);
	name = tfs_get_bytes(r, nl);
	if (r->err || !name_ok(name, nl) ||
	    (type == TFS_J_DIRENT_ADD && (ino == 0 || cookie < TFS_DIR_COOKIE_FIRST)))
		return -EINVAL;
	dir = load_dir(fs, dirino);
	if (!dir)
		return -EINVAL;
	if (type == TFS_J_DIRENT_DEL) {
		/* gone already: a checkpoint taken while it changed */
		de = tfs_dir_lookup(dir->i_u.dir, name, nl);
		if (de) {
			cookie = de->d_cookie;
			tfs_dir_del(dir->i_u.dir, de);
			tfs_dblk_dirty(fs, dir, cookie);
		}
		return 0;
	}
	ret = dirent_put(fs, dir, name, nl, cookie, ino);
	if (ret == 0)
		tfs_dblk_dirty(fs, dir, cookie);
	return ret;
}

static struct tfs_xattr **xattr_find(struct tfs_xattrs *xs, const char *name, size_t nl)
{
	struct tfs_xattr **p;

	for (p = &xs->xs_list; *p; p = &(*p)->x_next)
		if ((*p)->x_namelen == nl && memcmp((*p)->x_name, name, nl) == 0)
			return p;
	return p;
}

/* set xattr @name of @in to @val (NULL: remove) without logging */
static int xattr_put(struct tfs_inode *in, const char *name, uint16_t nl, const void *val,
		     uint32_t len)
{
	struct tfs_xattrs *xs = in->i_xattrs;
	struct tfs_xattr **p, *x;

	if (!xs) {
		if (!val)
			return 0;
		xs = in->i_xattrs = calloc(1, sizeof(*xs));
		if (!xs)
			return -ENOMEM;
	}
	p = xattr_find(xs, name, nl);
	x = *p;
	if (!val) {
		if (x) {
			*p = x->x_next;
			xs->xs_bytes -= x->x_namelen + x->x_len;
			free(x->x_name);
			free(x->x_value);
			free(x);
		}
		return 0;
	}
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->x_name = malloc(nl))) {
			free(x);
			return -ENOMEM;
		}
		memcpy(x->x_name, name, nl);
		x->x_namelen = nl;
		*p = x;
	} else {
		xs->xs_bytes -= x->x_namelen + x->x_len;
	}
	free(x->x_value);
	x->x_value = malloc(len ? len : 1);
	if (!x->x_value)
		return -ENOMEM;
	memcpy(x->x_value, val, len);
	x->x_len = len;
	xs->xs_bytes += nl + len;
	return 0;
}

static int xattr_name_ok(const char *name, uint16_t nl)
{
	return name && nl && nl <= TFS_XATTR_NAME_MAX && !memchr(name, 0, nl);
}

static int apply_xattr(struct tfs_fs *fs, struct tfs_rbuf *r, unsigned int type)
{
	uint64_t ino = tfs_get_u64(r);
	uint16_t nl = tfs_get_u16(r);
	const char *name = tfs_get_bytes(r, nl);
	const void *val = NULL;
	uint32_t len = 0;
	struct tfs_inode *in;
	int ret;

	if (type == TFS_J_XATTR_SET) {
		len = tfs_get_u32(r);
		val = tfs_get_bytes(r, len);
	}
	if (r->err || !xattr_name_ok(name, nl) || len > TFS_XATTR_SIZE_MAX)
		return -EINVAL;
	in = load_inode(fs, ino);
	if (!in)
		return -ENOMEM;
	ret = xattr_put(in, name, nl, type == TFS_J_XATTR_SET ? (val ? val : "") : NULL, len);
	if (ret == 0)
		tfs_xattrs_dirty(fs, in);
	return ret;
}

/* chunk @idx of @in becomes (dev, slot, flags, mask); a new one if needed */
static int chunk_put(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, uint16_t dev,
		     uint64_t slot, uint32_t ogen, unsigned int flags, const uint64_t *mask,
		     const uint64_t *imask, struct tfs_chunk **out)
{
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
	uint32_t w;
	int ret;

	if (dev >= fs->pool.ndev || slot >= fs->pool.sb.s_dev[dev].sd_nslots ||
	    idx > (TFS_MAX_FILE_SIZE >> fs->pool.chunk_shift) ||
	    (!!(flags & TFS_CF_OGEN) != (ogen != 0)) ||
	    (ogen && (fs->pool.sb.s_version < 7 || fs->pool.sb.s_dev[dev].sd_class != TFS_CLASS_RADOS)))
		return -EINVAL;
	if (!c) {
		c = tier_chunk_new(&fs->pool.chunks, in->i_ino, idx);
		if (!c)
			return -ENOMEM;
		ret = tier_cmap_set(&in->i_map, idx, c);
		if (ret < 0) {
			tier_chunk_free(&fs->pool.chunks, c);
			return ret;
		}
	} else {
		in->i_map.m_blocks -= tier_chunk_count(c, fs->pool.chunk_blocks);
	}
	c->c_dev = dev;
	c->c_slot = slot;
	/* in rados the write generation names the object (tfs_chunk_ogen);
	 * new ones are drawn past every one loaded */
	c->c_wgen = ogen;
	if (ogen > fs->ns.wgen)
		fs->ns.wgen = ogen;
	c->c_flags = (uint16_t)((c->c_flags & ~TIER_CHUNK_INTENT) |
				((flags & TFS_CF_INTENT) ? TIER_CHUNK_INTENT : 0));
	for (w = 0; w < fs->pool.mask_words; w++)
		c->c_mask[w] = mask[w];
	if (fs->pool.chunk_blocks < 64)
		c->c_mask[0] &= (1ull << fs->pool.chunk_blocks) - 1;
	in->i_map.m_blocks += tier_chunk_count(c, fs->pool.chunk_blocks);
	*out = c;
	return tfs_intent_set(fs, c, (flags & TFS_CF_INTENT) ? imask : NULL);
}

/* the intent mask a record carries after the chunk's data mask */
static void get_intent(struct tfs_fs *fs, struct tfs_rbuf *r, uint8_t flags, uint64_t *imask)
{
	uint32_t w;

	for (w = 0; w < fs->pool.mask_words; w++)
		imask[w] = (flags & TFS_CF_INTENT) ? tfs_get_u64(r) : 0;
}

static int apply_chunk(struct tfs_fs *fs, struct tfs_rbuf *r)
{
	uint64_t ino = tfs_get_u64(r), idx = tfs_get_u64(r), slot, mask[16], csmask[16], imask[16];
	uint32_t vals[1024], nb, w, i, n = 0, ogen;
	uint16_t dev = tfs_get_u16(r);
	uint8_t flags = tfs_get_u8(r);
	struct tfs_chunk *c;
	struct tfs_inode *in;
	int ret;

	slot = tfs_get_u64(r);
	ogen = (flags & TFS_CF_OGEN) ? tfs_get_u32(r) : 0;
	nb = tfs_get_u32(r);
	if (r->err || nb != fs->pool.chunk_blocks || (flags & ~(TFS_CF_INTENT | TFS_CF_OGEN)))
		return -EINVAL;
	for (w = 0; w < fs->pool.mask_words; w++)
		mask[w] = tfs_get_u64(r);
	get_intent(fs, r, flags, imask);
	for (w = 0; w < fs->pool.mask_words; w++)
		csmask[w] = tfs_get_u64(r);
	for (i = 0; i < nb; i++)
		if ((csmask[i >> 6] >> (i & 63)) & 1)
			vals[n++] = tfs_get_u32(r);
	if (r->err)
		return -EINVAL;
	in = load_inode(fs, ino);
	if (!in)
		return -ENOMEM;
	if (in->i_mode && !S_ISREG(in->i_mode))
		return -EINVAL;
	ret = chunk_put(fs, in, idx, dev, slot, ogen, flags, mask, imask, &c);
	if (ret == 0 && n)
		ret = tfs_cs_replay(fs->meta, dev, slot, csmask, vals);
	if (ret == 0)
		tfs_chunk_dirty(fs, in, c);
	return ret;
}

static int japply(void *ctx, unsigned int type, struct tfs_rbuf *r)
{
	struct tfs_fs *fs = ctx;
	struct tfs_inode *in;
	int ret;

	fs->ns.loading = 2; /* the journal: its changes go to the next checkpoint */
	switch (type) {
	case TFS_J_INODE:
		ret = apply_inode(fs, r, &in);
		if (ret == 0)
			tfs_inode_dirty(fs, in);
		return ret;
	case TFS_J_INODE_FREE:
		in = tfs_inode_get(fs, tfs_get_u64(r));
		if (in)
			tfs_inode_destroy(fs, in);
		return r->err;
	case TFS_J_DIRENT_ADD:
	case TFS_J_DIRENT_DEL:
		return apply_dirent(fs, r, type);
	case TFS_J_XATTR_SET:
	case TFS_J_XATTR_DEL:
		return apply_xattr(fs, r, type);
	case TFS_J_CHUNK:
		return apply_chunk(fs, r);
	case TFS_J_CHUNK_FREE:
	case TFS_J_CHUNK_TRUNC: {
		uint64_t ino = tfs_get_u64(r), idx = tfs_get_u64(r);

		if (r->err)
			return -EINVAL;
		in = tfs_inode_get(fs, ino);
		if (in && type == TFS_J_CHUNK_FREE)
			tfs_chunk_release(fs, in, idx, 0);
		else if (in)
			tfs_chunks_trunc(fs, in, idx);
		return 0;
	}
	case TFS_J_UNMOUNT:
		tfs_get_u64(r);
		return r->err;
	case TFS_J_DEVSTAT: {
		uint16_t d = tfs_get_u16(r);
		uint64_t user = tfs_get_u64(r), all = tfs_get_u64(r);

		if (r->err || d >= TFS_MAX_DEVS)
			return -EINVAL;
		fs->zns.zstat[d].user_bytes = user;
		fs->zns.zstat[d].dev_bytes = all;
		return 0;
	}
	}
	return -EINVAL;
}

/* bytes of all records of @in's units in the log */
static uint64_t inode_log_bytes(struct tfs_inode *in)
{
	struct tfs_dir *d = tfs_idir(in);
	uint64_t n = in->i_lpos ? in->i_lsize : 0, g = 0;
	struct tier_cgroup *grp;
	size_t i;

	if (in->i_xattrs && in->i_xattrs->xs_lpos)
		n += in->i_xattrs->xs_lsize;
	for (i = 0; d && i < d->dr_nblk; i++)
		if (d->dr_blk[i].b_lpos)
			n += d->dr_blk[i].b_lsize;
	while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
		if (grp->g_lpos)
			n += grp->g_lsize;
		g++;
	}
	return n;
}

/* drop the entries of block @k of @dir */
/*
 * Directory blocks while the log loads.  A big directory's blocks come in
 * log order, which after deletions and cleaning is not cookie order; kept
 * sorted, each block would shift the entries after it.  So entries and
 * blocks are appended as they come, and a table says where each block's
 * entries went (the latest record of a block replaces them); each
 * directory is sorted once, when the log is loaded (tfs_load_dirs_done,
 * before the journal replays).  Every step is linear in what the log
 * holds.
 */
struct lblk {
	struct tfs_hnode hn;
	struct tfs_dir *d;
	uint64_t ino, k;
	size_t first, n;	/* dr_ents[first, first + n): the block's entries */
	size_t bi;		/* its struct tfs_dblk: dr_blk[bi] */
};

static uint64_t lblk_key(uint64_t ino, uint64_t k)
{
	return (ino * 0x9E3779B97F4A7C15ull) ^ (k * 0xC2B2AE3D27D4EB4Full) ^ (k >> 29);
}

static struct lblk *lblk_find(struct tfs_fs *fs, const struct tfs_dir *d, uint64_t ino, uint64_t k)
{
	struct tfs_hnode *h;

	if (!fs->ns.lblk.t_b)
		return NULL;
	for (h = tfs_htab_find(&fs->ns.lblk, lblk_key(ino, k)); h; h = tfs_htab_next(h)) {
		struct lblk *b = tfs_container_of(h, struct lblk, hn);

		if (b->ino == ino && b->k == k && b->d == d)
			return b;
	}
	return NULL;
}

/* the entries the latest record of block @b put in */
static void lblk_clear(struct tfs_dir *d, struct lblk *b)
{
	size_t i;

	for (i = b->first; i < b->first + b->n && i < d->dr_len; i++)
		if (d->dr_ents[i] && d->dr_ents[i]->d_cookie >> TFS_DIRBLK_SHIFT == b->k)
			tfs_dir_drop_at(d, i);
	b->n = 0;
}

/* an entry about to be replaced by one of the same name in another block */
static void lblk_drop_entry(struct tfs_fs *fs, struct tfs_inode *dir, struct tfs_dirent *de)
{
	struct tfs_dir *d = dir->i_u.dir;
	struct lblk *b = lblk_find(fs, d, dir->i_ino, de->d_cookie >> TFS_DIRBLK_SHIFT);
	size_t i, lo = b ? b->first : 0, hi = b ? b->first + b->n : d->dr_len;

	for (i = lo; i < hi && i < d->dr_len; i++)
		if (d->dr_ents[i] == de) {
			tfs_dir_drop_at(d, i);
			return;
		}
}

void tfs_load_dirs_done(struct tfs_fs *fs)
{
	size_t i;

	if (!fs->ns.lblk.t_b)
		return;
	for (i = 0; i < fs->ns.lblk.t_size; i++)
		while (fs->ns.lblk.t_b[i]) {
			struct lblk *b = tfs_container_of(fs->ns.lblk.t_b[i], struct lblk, hn);
			struct tfs_inode *in = tfs_inode_get(fs, b->ino);

			fs->ns.lblk.t_b[i] = b->hn.h_next;
			/* the directory may have gone (a tombstone) */
			if (in && tfs_idir(in) == b->d)
				tfs_dir_sort(b->d);
			free(b);
		}
	tfs_htab_destroy(&fs->ns.lblk);
	memset(&fs->ns.lblk, 0, sizeof(fs->ns.lblk));
}

/* drop the chunks of group @g of @in */
static void cgroup_clear(struct tfs_fs *fs, struct tfs_inode *in, uint64_t g)
{
	struct tier_cgroup *grp = tier_cmap_group(&in->i_map, g);
	uint64_t mask = grp ? grp->g_present : 0;

	while (mask) {
		unsigned int bit = (unsigned int)__builtin_ctzll(mask);

		mask &= mask - 1;
		tfs_chunk_release(fs, in, (g << TIER_GROUP_SHIFT) + bit, 0);
	}
}

static int lapply_dirblk(struct tfs_fs *fs, const struct tfs_ukey *k, struct tfs_rbuf *r,
			 uint64_t lpos, uint32_t size, uint64_t *old)
{
	struct tfs_inode *dir = load_dir(fs, k->ino);
	uint64_t last = 0;
	struct tfs_dir *d;
	struct lblk *b;
	uint32_t n, i;
	int ret;

	if (!dir || k->sub > (UINT64_MAX >> TFS_DIRBLK_SHIFT))
		return -EINVAL;
	d = dir->i_u.dir;
	b = lblk_find(fs, d, dir->i_ino, k->sub);
	if (b) {
		if (d->dr_blk[b->bi].b_lpos)
			*old = d->dr_blk[b->bi].b_lsize;
		lblk_clear(d, b);
	} else {
		struct tfs_dblk *db;

		if (!fs->ns.lblk.t_b && tfs_htab_init(&fs->ns.lblk, 1024) < 0)
			return -ENOMEM;
		b = calloc(1, sizeof(*b));
		db = b ? tfs_dir_blk_append(d, k->sub) : NULL;
		if (!db) {
			free(b);
			return -ENOMEM;
		}
		b->d = d;
		b->ino = dir->i_ino;
		b->k = k->sub;
		b->bi = (size_t)(db - d->dr_blk);
		b->hn.h_key = lblk_key(b->ino, b->k);
		if (tfs_htab_insert(&fs->ns.lblk, &b->hn) < 0) {
			free(b);
			return -ENOMEM;
		}
	}
	n = tfs_get_u32(r);
	if (n > (1u << TFS_DIRBLK_SHIFT))
		return -EINVAL;
	b->first = d->dr_len;
	for (i = 0; i < n; i++) {
		uint64_t cookie = tfs_get_u64(r), ino = tfs_get_u64(r);
		uint16_t nl = tfs_get_u16(r);
		const char *name = tfs_get_bytes(r, nl);
		struct tfs_dirent *de;
		size_t pos;

		/* a block's entries are written in cookie order: two at one
		 * readdir position is damage */
		if (r->err || !name_ok(name, nl) || ino == 0 || cookie <= last ||
		    cookie >> TFS_DIRBLK_SHIFT != k->sub || cookie < TFS_DIR_COOKIE_FIRST)
			return -EINVAL;
		last = cookie;
		de = tfs_dir_lookup(d, name, nl);
		if (de)
			lblk_drop_entry(fs, dir, de);
		if (!load_inode(fs, ino))
			return -ENOMEM;
		ret = tfs_dir_append(d, name, nl, ino, cookie, &pos);
		if (ret < 0)
			return ret;
		b->n++; /* appended: at b->first + b->n */
	}
	d->dr_blk[b->bi].b_k = k->sub;
	d->dr_blk[b->bi].b_lpos = lpos;
	d->dr_blk[b->bi].b_lsize = size;
	return 0;
}

static int lapply_cgroup(struct tfs_fs *fs, const struct tfs_ukey *k, struct tfs_rbuf *r,
			 uint64_t lpos, uint32_t size, uint64_t *old)
{
	struct tfs_inode *in = load_inode(fs, k->ino);
	uint64_t present, mask[16], imask[16];
	struct tier_cgroup *grp;
	unsigned int n, i;
	uint32_t w;
	int ret;

	if (!in || k->sub > (TFS_MAX_FILE_SIZE >> fs->pool.chunk_shift) >> TIER_GROUP_SHIFT ||
	    (in->i_mode && !S_ISREG(in->i_mode)))
		return -EINVAL;
	grp = tier_cmap_group(&in->i_map, k->sub);
	if (grp && grp->g_lpos)
		*old = grp->g_lsize;
	cgroup_clear(fs, in, k->sub);
	present = tfs_get_u64(r);
	n = (unsigned int)__builtin_popcountll(present);
	while (present) {
		unsigned int bit = (unsigned int)__builtin_ctzll(present);
		uint16_t dev = tfs_get_u16(r);
		uint8_t flags = tfs_get_u8(r);
		uint64_t slot = tfs_get_u64(r);
		uint32_t ogen = (flags & TFS_CF_OGEN) ? tfs_get_u32(r) : 0;
		struct tfs_chunk *c;

		present &= present - 1;
		for (w = 0; w < fs->pool.mask_words; w++)
			mask[w] = tfs_get_u64(r);
		get_intent(fs, r, flags, imask);
		if (r->err || (flags & ~(TFS_CF_INTENT | TFS_CF_OGEN)))
			return -EINVAL;
		ret = chunk_put(fs, in, (k->sub << TIER_GROUP_SHIFT) + bit, dev, slot, ogen, flags,
				mask, imask, &c);
		if (ret < 0)
			return ret;
	}
	grp = tier_cmap_group_get(&in->i_map, k->sub);
	if (!grp)
		return -ENOMEM;
	/* the heat trailer (a record written before it existed has none):
	 * restored decayed for the time since it was written */
	if (r->pos < r->len) {
		uint64_t saved = tfs_get_u64(r), halvings = 0;

		if (fs->pool.heat_halflife_ms && fs->pool.heat_now_ms > saved)
			halvings = (fs->pool.heat_now_ms - saved) / fs->pool.heat_halflife_ms;
		if (grp->g_present && (unsigned int)__builtin_popcountll(grp->g_present) != n)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			uint16_t h = tfs_get_u16(r);

			if (r->err)
				return -EINVAL;
			if (!fs->pool.heat_halflife_ms || !grp->g_present)
				continue;
			grp->g_c[i]->c_heat = (uint16_t)(halvings >= 16 ? 0 : h >> halvings);
			grp->g_c[i]->c_hepoch = 0; /* the engine's clock starts at 0 */
		}
	}
	grp->g_lpos = lpos;
	grp->g_lsize = size;
	return 0;
}

static int lapply(void *ctx, const struct tfs_ukey *k, struct tfs_rbuf *r, uint64_t lpos,
		  uint32_t size, uint64_t *old)
{
	struct tfs_fs *fs = ctx;
	struct tfs_inode *in;
	int ret;

	fs->ns.loading = 1; /* the persisted state itself: nothing to record */
	switch (k->type) {
	case TFS_L_INODE:
		{
			struct tfs_rbuf peek = *r;

			if (tfs_get_u64(&peek) != k->ino)
				return -EINVAL;
		}
		in = tfs_inode_get(fs, k->ino);
		if (in && in->i_lpos)
			*old = in->i_lsize;
		ret = apply_inode(fs, r, &in);
		if (ret == 0) {
			in->i_lpos = lpos;
			in->i_lsize = size;
		}
		return ret;
	case TFS_L_XATTRS: {
		uint32_t n, i;

		in = load_inode(fs, k->ino);
		if (!in)
			return -ENOMEM;
		if (in->i_xattrs) {
			if (in->i_xattrs->xs_lpos)
				*old = in->i_xattrs->xs_lsize;
			while (in->i_xattrs->xs_list)
				xattr_put(in, in->i_xattrs->xs_list->x_name,
					  (uint16_t)in->i_xattrs->xs_list->x_namelen, NULL, 0);
		}
		n = tfs_get_u32(r);
		for (i = 0; i < n; i++) {
			uint16_t nl = tfs_get_u16(r);
			const char *name = tfs_get_bytes(r, nl);
			uint32_t len = tfs_get_u32(r);
			const void *val = tfs_get_bytes(r, len);

			if (r->err || !xattr_name_ok(name, nl) || len > TFS_XATTR_SIZE_MAX)
				return -EINVAL;
			ret = xattr_put(in, name, nl, val ? val : "", len);
			if (ret < 0)
				return ret;
		}
		if (!in->i_xattrs) {
			in->i_xattrs = calloc(1, sizeof(*in->i_xattrs));
			if (!in->i_xattrs)
				return -ENOMEM;
		}
		in->i_xattrs->xs_lpos = lpos;
		in->i_xattrs->xs_lsize = size;
		return 0;
	}
	case TFS_L_DIRBLK:
		return lapply_dirblk(fs, k, r, lpos, size, old);
	case TFS_L_CGROUP:
		return lapply_cgroup(fs, k, r, lpos, size, old);
	case TFS_L_DEL_INODE:
		in = tfs_inode_get(fs, k->ino);
		if (in) {
			*old = inode_log_bytes(in);
			tfs_inode_destroy(fs, in);
		}
		return 0;
	case TFS_L_DEL_XATTRS:
		in = tfs_inode_get(fs, k->ino);
		if (in && in->i_xattrs) {
			if (in->i_xattrs->xs_lpos)
				*old = in->i_xattrs->xs_lsize;
			while (in->i_xattrs->xs_list)
				xattr_put(in, in->i_xattrs->xs_list->x_name,
					  (uint16_t)in->i_xattrs->xs_list->x_namelen, NULL, 0);
			free(in->i_xattrs);
			in->i_xattrs = NULL;
		}
		return 0;
	case TFS_L_DEL_DIRBLK:
		in = tfs_inode_get(fs, k->ino);
		if (in && S_ISDIR(in->i_mode) && in->i_u.dir) {
			struct tfs_dir *d = in->i_u.dir;
			struct lblk *b = lblk_find(fs, d, in->i_ino, k->sub);

			if (b) {
				lblk_clear(d, b);
				if (d->dr_blk[b->bi].b_lpos)
					*old = d->dr_blk[b->bi].b_lsize;
				/* dropped when the directory is sorted; a later
				 * record of the block appends a new one */
				d->dr_blk[b->bi].b_k = TFS_DBLK_DEAD;
				d->dr_unsorted = 1;
				tfs_htab_remove(&fs->ns.lblk, &b->hn);
				free(b);
			}
		}
		return 0;
	case TFS_L_DEL_CGROUP:
		in = tfs_inode_get(fs, k->ino);
		if (in) {
			struct tier_cgroup *grp = tier_cmap_group(&in->i_map, k->sub);

			if (grp && grp->g_lpos)
				*old = grp->g_lsize;
			cgroup_clear(fs, in, k->sub);
			tier_cmap_group_drop(&in->i_map, k->sub);
		}
		return 0;
	}
	return -EINVAL;
}

/* ---------------------------------------------------------------- commit */

struct jhandle {
	struct tfs_free_slot *fp;
	size_t n;
};

static void *jtake(void *ctx, struct tfs_wbuf *w, uint32_t *nrec, uint64_t *next_ino)
{
	struct tfs_fs *fs = ctx;
	struct tfs_ns *ns = &fs->ns;
	uint64_t csmask[16];
	uint32_t vals[1024];
	struct jhandle *h;
	size_t i;

	tfs_intents_expire(fs, 0);
	for (i = 0; i < ns->njd; i++) {
		struct tfs_inode *in = tfs_inode_get(fs, ns->jd[i].ino);
		struct tfs_chunk *c;

		if (!in)
			continue; /* freed: its free record is logged */
		if (ns->jd[i].idx == TFS_JD_INODE) {
			if (!(in->i_flags & TFS_I_JDIRTY))
				continue;
			in->i_flags &= ~TFS_I_JDIRTY;
			rec_inode(w, in);
			(*nrec)++;
			continue;
		}
		c = tier_cmap_get(&in->i_map, ns->jd[i].idx);
		if (!c || !(c->c_flags & TIER_CHUNK_JDIRTY))
			continue;
		c->c_flags &= (uint16_t)~TIER_CHUNK_JDIRTY;
		rec_chunk(fs, w, c, csmask, vals);
		(*nrec)++;
	}
	ns->njd = 0;
	if (fs->zns.gen != fs->zns.logged) {
		unsigned int d;

		for (d = 0; d < fs->pool.ndev; d++) {
			size_t at;

			if (!fs->zns.spz[d])
				continue;
			at = tfs_rec_begin(w, TFS_J_DEVSTAT);
			tfs_put_u16(w, (uint16_t)d);
			tfs_put_u64(w, fs->zns.zstat[d].user_bytes);
			tfs_put_u64(w, fs->zns.zstat[d].dev_bytes);
			tfs_rec_end(w, at);
			(*nrec)++;
		}
		fs->zns.logged = fs->zns.gen;
	}
	*next_ino = ns->next_ino;
	h = malloc(sizeof(*h));
	if (!h) {
		/* the slots stay allocated until remount: nothing is lost */
		tfs_warn("out of memory: %zu freed chunk slots stay in use until remount",
			 ns->fpend_len);
		ns->fpend_len = 0;
		return NULL;
	}
	h->fp = ns->fpend;
	h->n = ns->fpend_len;
	ns->fpend = NULL;
	ns->fpend_len = ns->fpend_cap = 0;
	return h;
}

static void jdone(void *ctx, void *handle, int ok)
{
	struct tfs_fs *fs = ctx;
	struct jhandle *h = handle;
	int reclaim = 0;
	size_t i, ncold = 0;

	if (!h)
		return;
	pthread_mutex_lock(&fs->lock);
	/* a slot is reused only once a durable record no longer points at it;
	 * after a failed commit nothing durable freed them: keep them.  Slots
	 * of the rados tier are kept apart (ncold at the front) */
	for (i = 0; ok && i < h->n; i++) {
		if (fs->pool.alloc.a_dev[h->fp[i].dev].a_cold) {
			h->fp[ncold++] = h->fp[i];
			continue;
		}
		reclaim |= tier_alloc_release(&fs->pool.alloc, h->fp[i].dev, h->fp[i].slot);
	}
	if (reclaim)
		tfs_cleaner_kick(fs); /* a zone has nothing live: reset it */
	pthread_mutex_unlock(&fs->lock);
	if (ncold) {
		/* objects no durable record names any more: their removal is
		 * sent without the pool lock (librados may block when many are
		 * in flight), then their slots are free (a slot used again
		 * holds an object of another name).  One lost to a crash is an
		 * orphan fsck finds. */
		for (i = 0; i < ncold; i++) {
			uint16_t d = h->fp[i].dev;

			if (fs->pool.dev[d].d_fd >= 0)
				tfs_rados_remove(&fs->pool.dev[d], &h->fp[i].key, h->fp[i].slot);
		}
		pthread_mutex_lock(&fs->lock);
		for (i = 0; i < ncold; i++)
			tier_alloc_release(&fs->pool.alloc, h->fp[i].dev, h->fp[i].slot);
		pthread_mutex_unlock(&fs->lock);
	}
	free(h->fp);
	free(h);
}

/* ---------------------------------------------------------------- checkpoint */

static int uwrite(void *ctx, const struct tfs_ukey *k, struct tfs_wbuf *w, uint64_t lpos,
		  size_t hdr, uint32_t *old)
{
	struct tfs_fs *fs = ctx;
	struct tfs_inode *in = tfs_inode_get(fs, k->ino);
	size_t at = w->len;

	if (!in || (in->i_flags & TFS_I_PLACEHOLDER))
		return 0;
	switch (k->type) {
	case TFS_L_INODE:
		inode_body(w, in);
		*old = in->i_lpos ? in->i_lsize : 0;
		in->i_lpos = lpos;
		in->i_lsize = (uint32_t)(hdr + w->len - at);
		in->i_flags &= ~TFS_I_CDIRTY;
		return 1;
	case TFS_L_XATTRS: {
		struct tfs_xattrs *xs = in->i_xattrs;
		struct tfs_xattr *x;
		uint32_t n = 0;

		if (!xs || !xs->xs_list)
			return 0;
		for (x = xs->xs_list; x; x = x->x_next)
			n++;
		tfs_put_u32(w, n);
		for (x = xs->xs_list; x; x = x->x_next) {
			tfs_put_u16(w, (uint16_t)x->x_namelen);
			tfs_put_bytes(w, x->x_name, x->x_namelen);
			tfs_put_u32(w, x->x_len);
			tfs_put_bytes(w, x->x_value, x->x_len);
		}
		*old = xs->xs_lpos ? xs->xs_lsize : 0;
		xs->xs_lpos = lpos;
		xs->xs_lsize = (uint32_t)(hdr + w->len - at);
		xs->xs_flags &= ~TFS_U_DIRTY;
		return 1;
	}
	case TFS_L_DIRBLK: {
		struct tfs_dir *d = tfs_idir(in);
		struct tfs_dblk *b = d ? tfs_dir_blk(d, k->sub) : NULL;
		size_t pos, cnt_at;
		uint32_t n = 0;

		if (!b)
			return 0;
		cnt_at = w->len;
		tfs_put_u32(w, 0);
		pos = tfs_dir_seek(d, (k->sub << TFS_DIRBLK_SHIFT) ? (k->sub << TFS_DIRBLK_SHIFT) - 1 : 0);
		for (; pos < d->dr_len; pos++) {
			struct tfs_dirent *de = d->dr_ents[pos];

			if (!de)
				continue;
			if (de->d_cookie >> TFS_DIRBLK_SHIFT != k->sub)
				break;
			tfs_put_u64(w, de->d_cookie);
			tfs_put_u64(w, de->d_ino);
			tfs_put_u16(w, de->d_namelen);
			tfs_put_bytes(w, de->d_name, de->d_namelen);
			n++;
		}
		if (!w->err) {
			uint32_t le = htole32(n);

			memcpy(w->b + cnt_at, &le, 4);
		}
		*old = b->b_lpos ? b->b_lsize : 0;
		b->b_lpos = lpos;
		b->b_lsize = (uint32_t)(hdr + w->len - at);
		b->b_flags &= ~TFS_U_DIRTY;
		return 1;
	}
	case TFS_L_CGROUP: {
		struct tier_cgroup *grp = tier_cmap_group(&in->i_map, k->sub);
		unsigned int i, n;
		uint32_t wd;

		if (!grp || !grp->g_present)
			return 0;
		tfs_put_u64(w, grp->g_present);
		n = (unsigned int)__builtin_popcountll(grp->g_present);
		for (i = 0; i < n; i++) {
			const struct tfs_chunk *c = grp->g_c[i];

			tfs_put_u16(w, c->c_dev);
			tfs_put_u8(w, chunk_flags(fs, c));
			put_slot(fs, w, c);
			for (wd = 0; wd < fs->pool.mask_words; wd++)
				tfs_put_u64(w, c->c_mask[wd]);
			put_intent(fs, w, c);
		}
		/* the heat trailer: when, and each chunk's heat then (format 4) */
		if (fs->pool.sb.s_version >= 4) {
			tfs_put_u64(w, tfs_wall_ms());
			for (i = 0; i < n; i++)
				tfs_put_u16(w, (uint16_t)tier_heat_get(grp->g_c[i],
								      tier_engine_epoch(&fs->eng)));
		}
		*old = grp->g_lpos ? grp->g_lsize : 0;
		grp->g_lpos = lpos;
		grp->g_lsize = (uint32_t)(hdr + w->len - at);
		grp->g_flags &= (uint8_t)~TIER_G_DIRTY;
		return 1;
	}
	}
	return 0;
}

static uint32_t uclean(void *ctx, const struct tfs_ukey *k, uint64_t lpos)
{
	struct tfs_fs *fs = ctx;
	struct tfs_inode *in = tfs_inode_get(fs, k->ino);

	if (!in)
		return 0;
	switch (k->type) {
	case TFS_L_INODE:
		if (in->i_lpos != lpos)
			return 0;
		if (!(in->i_flags & TFS_I_CDIRTY)) {
			in->i_flags |= TFS_I_CDIRTY;
			tfs_meta_dirty(fs->meta, k, in->i_lsize);
		}
		return in->i_lsize;
	case TFS_L_XATTRS: {
		struct tfs_xattrs *xs = in->i_xattrs;

		if (!xs || xs->xs_lpos != lpos)
			return 0;
		if (!(xs->xs_flags & TFS_U_DIRTY)) {
			xs->xs_flags |= TFS_U_DIRTY;
			tfs_meta_dirty(fs->meta, k, xs->xs_lsize);
		}
		return xs->xs_lsize;
	}
	case TFS_L_DIRBLK: {
		struct tfs_dir *d = tfs_idir(in);
		struct tfs_dblk *b = d ? tfs_dir_blk(d, k->sub) : NULL;

		if (!b || b->b_lpos != lpos)
			return 0;
		if (!(b->b_flags & TFS_U_DIRTY)) {
			b->b_flags |= TFS_U_DIRTY;
			tfs_meta_dirty(fs->meta, k, b->b_lsize);
		}
		return b->b_lsize;
	}
	case TFS_L_CGROUP: {
		struct tier_cgroup *grp = tier_cmap_group(&in->i_map, k->sub);

		if (!grp || grp->g_lpos != lpos)
			return 0;
		if (!(grp->g_flags & TIER_G_DIRTY)) {
			grp->g_flags |= TIER_G_DIRTY;
			tfs_meta_dirty(fs->meta, k, grp->g_lsize);
		}
		return grp->g_lsize;
	}
	}
	return 0;
}

static void dirty_one(void *arg, struct tfs_inode *in)
{
	struct tfs_fs *fs = arg;
	struct tfs_dir *d = tfs_idir(in);
	struct tier_cgroup *grp;
	uint64_t g = 0;
	size_t i;

	/* a whole new log: nothing of the old one counts */
	in->i_lpos = 0;
	in->i_flags &= ~TFS_I_CDIRTY;
	tfs_inode_dirty(fs, in);
	if (in->i_xattrs) {
		in->i_xattrs->xs_lpos = 0;
		in->i_xattrs->xs_flags &= ~TFS_U_DIRTY;
		tfs_xattrs_dirty(fs, in);
	}
	for (i = 0; d && i < d->dr_nblk; i++) {
		struct tfs_ukey k = { .type = TFS_L_DIRBLK, .ino = in->i_ino, .sub = d->dr_blk[i].b_k };

		d->dr_blk[i].b_lpos = 0;
		if (d->dr_blk[i].b_flags & TFS_U_DIRTY)
			continue;
		d->dr_blk[i].b_flags |= TFS_U_DIRTY;
		tfs_meta_dirty(fs->meta, &k, 0);
	}
	while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
		struct tfs_ukey k = { .type = TFS_L_CGROUP, .ino = in->i_ino, .sub = g };

		grp->g_lpos = 0;
		if (!(grp->g_flags & TIER_G_DIRTY) && grp->g_present) {
			grp->g_flags |= TIER_G_DIRTY;
			tfs_meta_dirty(fs->meta, &k, 0);
		}
		g++;
	}
}

static void dirty_all(void *ctx)
{
	struct tfs_fs *fs = ctx;
	int loading = fs->ns.loading;

	fs->ns.loading = 2; /* checkpoint only: the journal has all of it */
	tfs_inode_each(fs, dirty_one, fs);
	fs->ns.loading = loading;
}

static void set_next_ino(void *ctx, uint64_t ino)
{
	struct tfs_fs *fs = ctx;

	if (ino > fs->ns.next_ino)
		fs->ns.next_ino = ino;
}

static void hdr_fill(void *ctx, struct tfs_ckh *h)
{
	struct tfs_fs *fs = ctx;
	unsigned int d;

	h->next_ino = fs->ns.next_ino;
	h->nzstat = 0;
	for (d = 0; d < fs->pool.ndev && h->nzstat < TFS_CKH_MAX_ZSTAT; d++) {
		if (!fs->zns.spz[d])
			continue;
		h->zstat[h->nzstat].dev = d;
		h->zstat[h->nzstat].user = fs->zns.zstat[d].user_bytes;
		h->zstat[h->nzstat].all = fs->zns.zstat[d].dev_bytes;
		h->nzstat++;
	}
}

static void hdr_load(void *ctx, const struct tfs_ckh *h)
{
	struct tfs_fs *fs = ctx;
	uint32_t i;

	/* the log is loaded: directories in cookie order before the journal
	 * replays changes to them */
	tfs_load_dirs_done(fs);
	for (i = 0; i < h->nzstat; i++) {
		if (h->zstat[i].dev >= TFS_MAX_DEVS)
			continue;
		fs->zns.zstat[h->zstat[i].dev].user_bytes = h->zstat[i].user;
		fs->zns.zstat[h->zstat[i].dev].dev_bytes = h->zstat[i].all;
	}
}

static void reset_one(void *arg, struct tfs_inode *in)
{
	tfs_inode_destroy(arg, in);
}

static void reset(void *ctx)
{
	struct tfs_fs *fs = ctx;
	int loading = fs->ns.loading;

	fs->ns.loading = 1;
	tfs_inode_each(fs, reset_one, fs);
	fs->ns.loading = loading;
	fs->ns.next_ino = TFS_ROOT_INO + 1;
	fs->ns.njd = fs->ns.fpend_len = 0;
	tfs_intents_clear(fs);
	tfs_shadows_clear(fs);
	tfs_load_dirs_done(fs);
}

static int seg_alloc(void *ctx, int other, uint16_t *dev, uint64_t *slot)
{
	struct tfs_fs *fs = ctx;
	const struct tier_alloc *a = &fs->pool.alloc;
	unsigned int d, pref = 0;
	int found = 0;

	/* the log goes to the capacity tier when there is one; a segment's
	 * second copy to another device of it if there is one, else next to
	 * the first (the allocator moves on to the next device when one is
	 * full) */
	for (d = 0; d < a->a_ndev && !found; d++)
		if (a->a_dev[d].a_class == TFS_CLASS_BLOCK && (int)d != other && a->a_dev[d].a_nfree) {
			pref = d;
			found = 1;
		}
	if (!found && other >= 0)
		pref = (unsigned int)other;
	return tier_alloc_take(&fs->pool.alloc, pref, dev, slot);
}

static void seg_free(void *ctx, uint16_t dev, uint64_t slot)
{
	struct tfs_fs *fs = ctx;

	tier_alloc_release(&fs->pool.alloc, dev, slot);
}

const struct tfs_meta_ops tfs_meta_ops = {
	.japply = japply,
	.lapply = lapply,
	.jtake = jtake,
	.jdone = jdone,
	.uwrite = uwrite,
	.uclean = uclean,
	.set_next_ino = set_next_ino,
	.hdr_fill = hdr_fill,
	.hdr_load = hdr_load,
	.dirty_all = dirty_all,
	.reset = reset,
	.seg_alloc = seg_alloc,
	.seg_free = seg_free,
};

/* ---------------------------------------------------------------- finishing a load */

struct finish {
	struct tfs_fs *fs;
	int salvage;
	int bad;
};

/* placeholders that a directory entry names (the others are leftovers) */
static void mark_named(void *arg, struct tfs_inode *in)
{
	struct tfs_dir *d = tfs_idir(in);
	size_t i;

	for (i = 0; d && i < d->dr_len; i++) {
		struct tfs_inode *t;

		if (!d->dr_ents[i])
			continue;
		t = tfs_inode_get(arg, d->dr_ents[i]->d_ino);
		if (t && (t->i_flags & TFS_I_PLACEHOLDER))
			t->i_flags |= TFS_I_NAMED;
	}
}

static void fix_inode(void *arg, struct tfs_inode *in)
{
	struct finish *f = arg;
	struct tfs_fs *fs = f->fs;
	struct tfs_dir *d;
	size_t i;

	if ((in->i_flags & TFS_I_PLACEHOLDER) && !(in->i_flags & TFS_I_NAMED)) {
		/* named only by directory blocks that later ones replaced: an
		 * inode removed before a checkpoint wrote anything of it.
		 * Nothing of it is in the pool. */
		in->i_mode = S_IFREG;
		in->i_flags &= ~TFS_I_PLACEHOLDER;
		if (in->i_u.dir)
			tfs_dir_free(in->i_u.dir);
		in->i_u.dir = NULL;
		if (in->i_map.m_count || in->i_xattrs) {
			tfs_err("metadata holds state of inode %llu but never describes it%s",
				(unsigned long long)in->i_ino, f->salvage ? ": dropped" : "");
			f->bad++;
		}
		tfs_inode_destroy(fs, in);
		return;
	}
	in->i_flags &= ~TFS_I_NAMED;
	if (in->i_flags & TFS_I_PLACEHOLDER) {
		tfs_err("metadata names inode %llu but never describes it%s",
			(unsigned long long)in->i_ino, f->salvage ? ": dropped" : "");
		f->bad++;
		if (f->salvage) {
			in->i_mode = S_IFREG;
			in->i_flags &= ~TFS_I_PLACEHOLDER;
			if (in->i_u.dir)
				tfs_dir_free(in->i_u.dir);
			in->i_u.dir = NULL;
			tfs_inode_destroy(fs, in);
		}
		return;
	}
	if (in->i_ino >= fs->ns.next_ino)
		fs->ns.next_ino = in->i_ino + 1;
	if (!S_ISREG(in->i_mode) && in->i_map.m_count) {
		tfs_err("inode %llu is not a regular file but has chunks", (unsigned long long)in->i_ino);
		f->bad++;
	}
	d = tfs_idir(in);
	for (i = 0; d && i < d->dr_len; i++) {
		struct tfs_dirent *de = d->dr_ents[i];
		struct tfs_inode *t;

		if (!de)
			continue;
		t = tfs_inode_get(fs, de->d_ino);
		if (t && (!(t->i_flags & TFS_I_PLACEHOLDER) || f->salvage))
			continue;
		tfs_err("entry '%.*s' in directory %llu points at missing inode %llu%s",
			de->d_namelen, de->d_name, (unsigned long long)in->i_ino,
			(unsigned long long)de->d_ino, f->salvage ? ": removed" : "");
		f->bad++;
	}
}

/* salvage: entries naming inodes that do not exist (or are placeholders,
 * dropped afterwards) go */
static void fix_entries(void *arg, struct tfs_inode *in)
{
	struct finish *f = arg;
	struct tfs_dir *d = tfs_idir(in);
	size_t i = 0;

	while (d && i < d->dr_len) {
		struct tfs_dirent *de = d->dr_ents[i];
		struct tfs_inode *t;
		uint64_t cookie;

		if (!de) {
			i++;
			continue;
		}
		t = tfs_inode_get(f->fs, de->d_ino);
		if (t && !(t->i_flags & TFS_I_PLACEHOLDER)) {
			i++;
			continue;
		}
		tfs_err("entry '%.*s' in directory %llu points at missing inode %llu: removed",
			de->d_namelen, de->d_name, (unsigned long long)in->i_ino,
			(unsigned long long)de->d_ino);
		cookie = de->d_cookie;
		tfs_dir_del(d, de);
		tfs_dblk_dirty(f->fs, in, cookie);
		i = tfs_dir_seek(d, cookie); /* deleting may have compacted the array */
	}
}

struct marker {
	struct tfs_fs *fs;
	int salvage;
	int bad;
};

static void mark_inode(void *arg, struct tfs_inode *in)
{
	struct marker *mk = arg;
	struct tfs_fs *fs = mk->fs;
	struct tier_cgroup *grp;
	uint64_t g = 0;

	while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
		uint64_t mask = grp->g_present;

		while (mask) {
			unsigned int bit = (unsigned int)__builtin_ctzll(mask);
			uint64_t idx = (g << TIER_GROUP_SHIFT) + bit;
			struct tfs_chunk *c = grp->g_c[__builtin_popcountll(grp->g_present &
									     ((1ull << bit) - 1))];
			int ret = tier_alloc_mark(&fs->pool.alloc, c->c_dev, c->c_slot, c);

			mask &= mask - 1;
			if (ret == 0)
				continue;
			tfs_err("chunk %llu of inode %llu: slot %llu on device %u is %s%s",
				(unsigned long long)idx, (unsigned long long)in->i_ino,
				(unsigned long long)c->c_slot, c->c_dev,
				ret == -EEXIST ? "used twice" : "out of range",
				mk->salvage ? ": the chunk is dropped" : "");
			mk->bad++;
			if (mk->salvage) {
				tfs_chunk_release(fs, in, idx, 0);
				tfs_cgroup_dirty(fs, in, g);
				grp = tier_cmap_group(&in->i_map, g);
				if (!grp)
					break;
			}
		}
		g++;
	}
}

static void mark_seg(void *arg, uint16_t dev, uint64_t slot)
{
	struct marker *mk = arg;

	if (tier_alloc_mark(&mk->fs->pool.alloc, dev, slot, NULL) < 0) {
		tfs_err("metadata log segment in slot %llu of device %u is also used by data",
			(unsigned long long)slot, dev);
		mk->bad++;
	}
}

int tfs_ns_finish_load(struct tfs_fs *fs, int salvage)
{
	uint64_t nslots[TFS_MAX_DEVS];
	unsigned int classes[TFS_MAX_DEVS], d;
	struct finish f = { fs, salvage, 0 };
	struct marker mk = { fs, salvage, 0 };
	struct tfs_inode *root;
	int ret, loading = fs->ns.loading;

	for (d = 0; d < fs->pool.ndev; d++) {
		/* a removed device has no slots: whatever names one is damage */
		nslots[d] = fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED
				    ? 0
				    : fs->pool.sb.s_dev[d].sd_nslots;
		classes[d] = fs->pool.sb.s_dev[d].sd_class;
	}
	ret = tier_alloc_init(&fs->pool.alloc, fs->pool.ndev, nslots, classes);
	if (ret < 0)
		return ret;
	for (d = 0; d < fs->pool.ndev; d++) {
		if (!fs->zns.spz[d] || (fs->pool.sb.s_dev[d].sd_flags & TFS_SD_REMOVED))
			continue;
		ret = tier_zone_init(&fs->pool.alloc, d, fs->zns.nzones[d] - 2, fs->zns.spz[d],
				     fs->zns.zopen[d]);
		if (ret < 0)
			return ret;
	}
	root = tfs_inode_get(fs, TFS_ROOT_INO);
	if (!root || !S_ISDIR(root->i_mode) || (root->i_flags & TFS_I_PLACEHOLDER)) {
		tfs_err("metadata has no root directory");
		return -EUCLEAN;
	}
	/* fixes in salvage mode go into the next checkpoint, not the journal */
	fs->ns.loading = 2;
	tfs_inode_each(fs, mark_named, fs);
	if (salvage)
		tfs_inode_each(fs, fix_entries, &f);
	tfs_inode_each(fs, fix_inode, &f);
	tfs_meta_segments(fs->meta, mark_seg, &mk);
	tfs_inode_each(fs, mark_inode, &mk);
	fs->ns.loading = loading;
	/* checksum tables of zoned devices added to a mounted pool: slots of
	 * the device that holds them (mkfs put the others outside the slots) */
	for (d = 0; d < fs->pool.ndev; d++) {
		const struct tfs_sb_dev *sd = &fs->pool.sb.s_dev[d];
		const struct tfs_sb_dev *h = &fs->pool.sb.s_dev[sd->sd_cs_dev];
		uint64_t s, first, n;

		if (sd->sd_class != TFS_CLASS_ZNS || (sd->sd_flags & TFS_SD_REMOVED) ||
		    sd->sd_cs_off < h->sd_data_off)
			continue;
		first = (sd->sd_cs_off - h->sd_data_off) >> fs->pool.chunk_shift;
		n = (2 * sd->sd_cs_pages * fs->pool.sb.s_cs_psize + fs->pool.chunk_size - 1) >>
		    fs->pool.chunk_shift;
		for (s = 0; s < n; s++)
			if (tier_alloc_mark(&fs->pool.alloc, sd->sd_cs_dev, first + s, NULL) < 0) {
				tfs_err("the checksum table of device %u is in slot %llu of device %u, which is also used by data",
					d, (unsigned long long)(first + s), sd->sd_cs_dev);
				mk.bad++;
			}
	}
	/* devices being emptied (the engine goes on with it) or gone */
	for (d = 0; d < fs->pool.ndev; d++) {
		if (!fs->pool.sb.s_dev[d].sd_flags)
			continue;
		tier_alloc_set_out(&fs->pool.alloc, d);
		fs->pool.drain_total[d] = tier_alloc_dev_used(&fs->pool.alloc, d);
	}
	fs->ns.load_bad = f.bad + mk.bad;
	if ((f.bad || mk.bad) && !salvage)
		return -EUCLEAN;
	return 0;
}

/*
 * src/meta.c - metadata records.
 *
 * The journal and the checkpoints speak one language: a stream of records,
 * each "u16 type, u16 zero, u32 payload length, payload".  A checkpoint is
 * the whole pool written as records; a journal transaction is the records of
 * the changes since the previous one.  Loading is the same for both: apply
 * records in order (meta_apply).
 *
 * Records are states, not operations: TFS_REC_INODE carries all attributes of
 * an inode, TFS_REC_CHUNK the whole placement, hole mask and checksums of one
 * chunk.  Applying one twice gives the same result.  Namespace changes
 * (dirent add/del, xattrs, frees) are logged in the order they happened and
 * come first in a transaction; the states of inodes and chunks dirtied since
 * the last commit are written after them at commit time.  A record may
 * therefore name an inode whose own record comes later in the same
 * transaction: such an inode is created as a placeholder and must be filled in
 * by the end of the load (meta_finish_load checks it).
 *
 * Checksums live one level up: a transaction and a checkpoint each carry an
 * XXH3 of their record bytes, so a record is only ever applied after the
 * bytes it came in were verified.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tfs.h"

static size_t rec_begin(struct tfs_wbuf *w, unsigned int type)
{
	size_t at = w->len;

	tfs_put_u16(w, (uint16_t)type);
	tfs_put_u16(w, 0);
	tfs_put_u32(w, 0);
	return at;
}

static void rec_end(struct tfs_wbuf *w, size_t at)
{
	uint32_t len;

	if (w->err)
		return;
	len = htole32((uint32_t)(w->len - at - 8));
	memcpy(w->b + at + 4, &len, 4);
}

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

void meta_put_inode(struct tfs_wbuf *w, const struct tfs_inode *in)
{
	size_t at = rec_begin(w, TFS_REC_INODE);
	size_t sl = in->i_symlink ? strlen(in->i_symlink) : 0;

	tfs_put_u64(w, in->i_ino);
	tfs_put_u64(w, in->i_gen);
	tfs_put_u32(w, in->i_mode);
	tfs_put_u32(w, in->i_uid);
	tfs_put_u32(w, in->i_gid);
	tfs_put_u32(w, in->i_nlink);
	tfs_put_u64(w, in->i_size);
	tfs_put_u64(w, in->i_rdev);
	put_ts(w, &in->i_atime);
	put_ts(w, &in->i_mtime);
	put_ts(w, &in->i_ctime);
	put_ts(w, &in->i_btime);
	tfs_put_u64(w, in->i_parent);
	tfs_put_u16(w, (uint16_t)sl);
	tfs_put_bytes(w, in->i_symlink, sl);
	rec_end(w, at);
}

void meta_put_ino(struct tfs_wbuf *w, unsigned int type, uint64_t ino)
{
	size_t at = rec_begin(w, type);

	tfs_put_u64(w, ino);
	rec_end(w, at);
}

void meta_put_dirent(struct tfs_wbuf *w, unsigned int type, uint64_t dir, uint64_t cookie,
		     uint64_t ino, const char *name, size_t namelen)
{
	size_t at = rec_begin(w, type);

	tfs_put_u64(w, dir);
	if (type == TFS_REC_DIRENT_ADD) {
		tfs_put_u64(w, cookie);
		tfs_put_u64(w, ino);
	}
	tfs_put_u16(w, (uint16_t)namelen);
	tfs_put_bytes(w, name, namelen);
	rec_end(w, at);
}

void meta_put_xattr(struct tfs_wbuf *w, unsigned int type, uint64_t ino, const char *name,
		    size_t namelen, const void *val, size_t len)
{
	size_t at = rec_begin(w, type);

	tfs_put_u64(w, ino);
	tfs_put_u16(w, (uint16_t)namelen);
	tfs_put_bytes(w, name, namelen);
	if (type == TFS_REC_XATTR_SET) {
		tfs_put_u32(w, (uint32_t)len);
		tfs_put_bytes(w, val, len);
	}
	rec_end(w, at);
}

void meta_put_chunk(struct tfs_wbuf *w, const struct tfs_chunk *c)
{
	size_t at = rec_begin(w, TFS_REC_CHUNK);
	uint32_t i, words = (c->c_nblocks + 63) / 64;

	tfs_put_u64(w, c->c_ino);
	tfs_put_u64(w, c->c_idx);
	tfs_put_u16(w, c->c_dev);
	tfs_put_u64(w, c->c_slot);
	tfs_put_u32(w, c->c_nblocks);
	tfs_put_u8(w, (c->c_flags & TIER_CHUNK_INTENT) ? 1 : 0);
	for (i = 0; i < words; i++)
		tfs_put_u64(w, c->c_mask[i]);
	/* checksums of data blocks only: holes have none */
	for (i = 0; i < c->c_nblocks; i++)
		if (tier_chunk_has(c, i))
			tfs_put_u32(w, c->c_csum[i]);
	rec_end(w, at);
}

void meta_put_devstats(struct tfs_fs *fs, struct tfs_wbuf *w)
{
	unsigned int d;

	for (d = 0; d < fs->ndev; d++) {
		size_t at;

		if (!fs->zspz[d])
			continue;
		at = rec_begin(w, TFS_REC_DEVSTAT);
		tfs_put_u16(w, (uint16_t)d);
		tfs_put_u64(w, fs->zstat[d].user_bytes);
		tfs_put_u64(w, fs->zstat[d].dev_bytes);
		rec_end(w, at);
	}
}

void meta_put_chunk_free(struct tfs_wbuf *w, uint64_t ino, uint64_t idx)
{
	size_t at = rec_begin(w, TFS_REC_CHUNK_FREE);

	tfs_put_u64(w, ino);
	tfs_put_u64(w, idx);
	rec_end(w, at);
}

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

static struct tfs_dir *load_dir(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in = load_inode(fs, ino);

	if (!in)
		return NULL;
	if (!in->i_dir)
		in->i_dir = tfs_dir_new();
	return in->i_dir;
}

static int apply_inode(struct tfs_fs *fs, struct tfs_rbuf *r)
{
	uint64_t ino = tfs_get_u64(r);
	struct tfs_inode *in;
	const char *sl;
	uint16_t sll;

	if (r->err || ino == 0)
		return -EINVAL;
	in = load_inode(fs, ino);
	if (!in)
		return -ENOMEM;
	in->i_flags &= ~TFS_I_PLACEHOLDER;
	in->i_gen = tfs_get_u64(r);
	in->i_mode = tfs_get_u32(r);
	in->i_uid = tfs_get_u32(r);
	in->i_gid = tfs_get_u32(r);
	in->i_nlink = tfs_get_u32(r);
	in->i_size = tfs_get_u64(r);
	in->i_rdev = tfs_get_u64(r);
	get_ts(r, &in->i_atime);
	get_ts(r, &in->i_mtime);
	get_ts(r, &in->i_ctime);
	get_ts(r, &in->i_btime);
	in->i_parent = tfs_get_u64(r);
	sll = tfs_get_u16(r);
	sl = tfs_get_bytes(r, sll);
	if (r->err)
		return -EINVAL;
	if (S_ISDIR(in->i_mode) && !in->i_dir) {
		in->i_dir = tfs_dir_new();
		if (!in->i_dir)
			return -ENOMEM;
	}
	if (S_ISLNK(in->i_mode)) {
		free(in->i_symlink);
		in->i_symlink = strndup(sl, sll);
		if (!in->i_symlink)
			return -ENOMEM;
	}
	return 0;
}

static int apply_dirent(struct tfs_fs *fs, struct tfs_rbuf *r, unsigned int type)
{
	uint64_t dir = tfs_get_u64(r), cookie = 0, ino = 0;
	struct tfs_dirent *de;
	struct tfs_dir *d;
	const char *name;
	uint16_t nl;

	if (type == TFS_REC_DIRENT_ADD) {
		cookie = tfs_get_u64(r);
		ino = tfs_get_u64(r);
	}
	nl = tfs_get_u16(r);
	name = tfs_get_bytes(r, nl);
	if (r->err || nl == 0 || nl > TFS_NAME_MAX || memchr(name, '/', nl) ||
	    (type == TFS_REC_DIRENT_ADD && (ino == 0 || cookie < TFS_DIR_COOKIE_FIRST)))
		return -EINVAL;
	d = load_dir(fs, dir);
	if (!d)
		return -ENOMEM;
	de = tfs_dir_lookup(d, name, nl);
	if (type == TFS_REC_DIRENT_DEL) {
		/* gone already: a checkpoint taken while it changed (journal.c) */
		if (de)
			tfs_dir_del(d, de);
		return 0;
	}
	if (de)
		tfs_dir_del(d, de);
	if (tfs_dir_has_cookie(d, cookie))
		return -EINVAL; /* two entries at one readdir position */
	if (!load_inode(fs, ino))
		return -ENOMEM;
	return tfs_dir_add(d, name, nl, ino, cookie, NULL);
}

static struct tfs_xattr **xattr_find(struct tfs_inode *in, const char *name, size_t nl)
{
	struct tfs_xattr **p;

	for (p = &in->i_xattrs; *p; p = &(*p)->x_next)
		if ((*p)->x_namelen == nl && memcmp((*p)->x_name, name, nl) == 0)
			return p;
	return p;
}

static int apply_xattr(struct tfs_fs *fs, struct tfs_rbuf *r, unsigned int type)
{
	uint64_t ino = tfs_get_u64(r);
	uint16_t nl = tfs_get_u16(r);
	const char *name = tfs_get_bytes(r, nl);
	struct tfs_xattr **p, *x;
	const void *val = NULL;
	uint32_t len = 0;
	struct tfs_inode *in;

	if (type == TFS_REC_XATTR_SET) {
		len = tfs_get_u32(r);
		val = tfs_get_bytes(r, len);
	}
	if (r->err || nl == 0 || nl > TFS_XATTR_NAME_MAX || len > TFS_XATTR_SIZE_MAX)
		return -EINVAL;
	in = load_inode(fs, ino);
	if (!in)
		return -ENOMEM;
	p = xattr_find(in, name, nl);
	if (type == TFS_REC_XATTR_DEL) {
		if (!*p)
			return 0; /* as for directory entries */
		x = *p;
		*p = x->x_next;
		free(x->x_name);
		free(x->x_value);
		free(x);
		return 0;
	}
	x = *p;
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->x_name = malloc(nl))) {
			free(x);
			return -ENOMEM;
		}
		memcpy(x->x_name, name, nl);
		x->x_namelen = nl;
		*p = x;
	}
	free(x->x_value);
	x->x_value = malloc(len ? len : 1);
	if (!x->x_value)
		return -ENOMEM;
	memcpy(x->x_value, val, len);
	x->x_len = len;
	return 0;
}

static int apply_chunk(struct tfs_fs *fs, struct tfs_rbuf *r)
{
	uint64_t ino = tfs_get_u64(r), idx = tfs_get_u64(r), slot;
	uint16_t dev = tfs_get_u16(r);
	uint32_t nb, i, words;
	uint8_t intent;
	struct tfs_chunk *c, *old;
	struct tfs_inode *in;

	slot = tfs_get_u64(r);
	nb = tfs_get_u32(r);
	intent = tfs_get_u8(r);
	if (r->err || intent > 1 || nb != fs->chunk_blocks || dev >= fs->ndev ||
	    slot >= fs->sb.s_dev[dev].sd_nslots || idx > (TFS_MAX_FILE_SIZE >> fs->chunk_shift))
		return -EINVAL;
	c = tier_chunk_new(ino, idx, nb);
	if (!c)
		return -ENOMEM;
	c->c_dev = dev;
	c->c_slot = slot;
	if (intent)
		c->c_flags |= TIER_CHUNK_INTENT;
	words = (nb + 63) / 64;
	for (i = 0; i < words; i++)
		c->c_mask[i] = tfs_get_u64(r);
	for (i = 0; i < nb; i++)
		if (tier_chunk_has(c, i))
			c->c_csum[i] = tfs_get_u32(r);
	in = r->err ? NULL : load_inode(fs, ino);
	if (!in) {
		tier_chunk_free(c);
		return r->err ? -EINVAL : -ENOMEM;
	}
	old = tier_cmap_take(&in->i_map, idx);
	tier_chunk_free(old);
	return tier_cmap_set(&in->i_map, idx, c);
}

int meta_apply(struct tfs_fs *fs, struct tfs_rbuf *r)
{
	unsigned int type = tfs_get_u16(r);
	uint32_t len;
	struct tfs_rbuf sub;
	struct tfs_inode *in;
	int ret;

	tfs_get_u16(r);
	len = tfs_get_u32(r);
	sub.p = tfs_get_bytes(r, len);
	if (r->err)
		return -EINVAL;
	sub.len = len;
	sub.pos = 0;
	sub.err = 0;
	switch (type) {
	case TFS_REC_INODE:
		ret = apply_inode(fs, &sub);
		break;
	case TFS_REC_INODE_FREE:
		in = tfs_inode_get(fs, tfs_get_u64(&sub));
		if (in)
			tfs_inode_destroy(fs, in);
		ret = sub.err;
		break;
	case TFS_REC_DIRENT_ADD:
	case TFS_REC_DIRENT_DEL:
		ret = apply_dirent(fs, &sub, type);
		break;
	case TFS_REC_XATTR_SET:
	case TFS_REC_XATTR_DEL:
		ret = apply_xattr(fs, &sub, type);
		break;
	case TFS_REC_CHUNK:
		ret = apply_chunk(fs, &sub);
		break;
	case TFS_REC_CHUNK_FREE: {
		uint64_t ino = tfs_get_u64(&sub), idx = tfs_get_u64(&sub);

		in = tfs_inode_get(fs, ino);
		if (in)
			tier_chunk_free(tier_cmap_take(&in->i_map, idx));
		ret = sub.err;
		break;
	}
	case TFS_REC_UNMOUNT:
		ret = 0;
		break;
	case TFS_REC_DEVSTAT: {
		uint16_t d = tfs_get_u16(&sub);
		uint64_t user = tfs_get_u64(&sub), all = tfs_get_u64(&sub);

		ret = sub.err;
		if (ret == 0 && d >= TFS_MAX_DEVS)
			ret = -EINVAL;
		if (ret == 0) {
			fs->zstat[d].user_bytes = user;
			fs->zstat[d].dev_bytes = all;
		}
		break;
	}
	default:
		ret = -EINVAL;
	}
	if (ret == 0 && sub.err)
		ret = sub.err;
	return ret;
}

int meta_apply_all(struct tfs_fs *fs, const uint8_t *p, size_t len)
{
	struct tfs_rbuf r = { .p = p, .len = len };
	int ret;

	while (r.pos < r.len) {
		ret = meta_apply(fs, &r);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * The records of @in, resumable: *after is 0 to start with the inode itself,
 * else where to go on (a directory: the last cookie written; a file: the
 * index after the last chunk written).  When @w reaches @limit bytes, or
 * many slots were looked at, in the middle of the entries or chunks, returns
 * 1 with *after set, so that a huge directory or file is taken in several
 * pool-lock holds.  Otherwise 0.
 */
static int serialize_inode(struct tfs_wbuf *w, struct tfs_inode *in, uint64_t *after, size_t limit)
{
	unsigned int looked = 0;
	struct tfs_xattr *x;
	struct tfs_chunk *c;
	size_t i;

	if (*after == 0) {
		meta_put_inode(w, in);
		for (x = in->i_xattrs; x; x = x->x_next)
			meta_put_xattr(w, TFS_REC_XATTR_SET, in->i_ino, x->x_name, x->x_namelen,
				       x->x_value, x->x_len);
	}
	if (in->i_dir) {
		for (i = tfs_dir_seek(in->i_dir, *after); i < in->i_dir->dr_len; i++) {
			struct tfs_dirent *de = in->i_dir->dr_ents[i];

			looked++;
			if (!de)
				continue;
			meta_put_dirent(w, TFS_REC_DIRENT_ADD, in->i_ino, de->d_cookie, de->d_ino,
					de->d_name, de->d_namelen);
			if ((w->len >= limit || looked >= 4096) && i + 1 < in->i_dir->dr_len) {
				*after = de->d_cookie;
				return 1;
			}
		}
	}
	for (c = tier_cmap_next(&in->i_map, in->i_dir ? 0 : *after); c;
	     c = tier_cmap_next(&in->i_map, c->c_idx + 1)) {
		meta_put_chunk(w, c);
		if (w->len >= limit || ++looked >= 4096) {
			*after = c->c_idx + 1;
			return 1;
		}
	}
	*after = 0;
	return 0;
}

int meta_serialize_part(struct tfs_fs *fs, struct tfs_wbuf *w, struct meta_cursor *cur,
			size_t budget)
{
	size_t limit = budget > SIZE_MAX - w->len ? SIZE_MAX : w->len + budget;

	if (cur->bucket == 0 && cur->ino == 0)
		meta_put_devstats(fs, w);
	while (cur->bucket < fs->inodes.t_size && w->len < limit && !w->err) {
		struct tfs_hnode *h = fs->inodes.t_b[cur->bucket], *x;
		uint64_t after = 0;

		if (cur->ino) {
			/* resume inside a directory; if it is gone, take the bucket
			 * again (records are states: repeating one is harmless) */
			for (x = h; x; x = x->h_next)
				if (tfs_container_of(x, struct tfs_inode, i_hnode)->i_ino == cur->ino)
					break;
			if (x) {
				h = x;
				after = cur->cookie;
			}
			cur->ino = 0;
		}
		for (; h; h = h->h_next) {
			struct tfs_inode *in = tfs_container_of(h, struct tfs_inode, i_hnode);

			if (serialize_inode(w, in, &after, limit)) {
				cur->ino = in->i_ino;
				cur->cookie = after;
				return w->err;
			}
		}
		cur->bucket++;
	}
	return w->err;
}

int meta_serialize(struct tfs_fs *fs, struct tfs_wbuf *w)
{
	struct meta_cursor cur = { 0, 0, 0 };
	int ret = 0;

	while (ret == 0 && cur.bucket < fs->inodes.t_size)
		ret = meta_serialize_part(fs, w, &cur, SIZE_MAX);
	return ret;
}

int meta_finish_load(struct tfs_fs *fs)
{
	uint64_t nslots[TFS_MAX_DEVS];
	unsigned int classes[TFS_MAX_DEVS];
	struct tfs_inode *root;
	unsigned int d;
	size_t b;
	int ret;

	for (d = 0; d < fs->ndev; d++) {
		nslots[d] = fs->sb.s_dev[d].sd_nslots;
		classes[d] = fs->sb.s_dev[d].sd_class;
	}
	ret = tier_alloc_init(&fs->alloc, fs->ndev, nslots, classes);
	if (ret < 0)
		return ret;
	for (d = 0; d < fs->ndev; d++) {
		if (!fs->zspz[d])
			continue;
		ret = tier_zone_init(&fs->alloc, d, fs->znzones[d] - 2, fs->zspz[d], fs->zopen[d]);
		if (ret < 0)
			return ret;
	}
	root = tfs_inode_get(fs, TFS_ROOT_INO);
	if (!root || !S_ISDIR(root->i_mode)) {
		tfs_err("metadata has no root directory");
		return -EUCLEAN;
	}
	for (b = 0; b < fs->inodes.t_size; b++) {
		struct tfs_hnode *h;

		for (h = fs->inodes.t_b[b]; h; h = h->h_next) {
			struct tfs_inode *in = tfs_container_of(h, struct tfs_inode, i_hnode);
			struct tfs_chunk *c;

			if (in->i_flags & TFS_I_PLACEHOLDER) {
				tfs_err("metadata names inode %llu but never describes it",
					(unsigned long long)in->i_ino);
				return -EUCLEAN;
			}
			if (in->i_ino >= fs->next_ino)
				fs->next_ino = in->i_ino + 1;
			if (in->i_dir) {
				size_t i;

				for (i = 0; i < in->i_dir->dr_len; i++) {
					struct tfs_dirent *de = in->i_dir->dr_ents[i];

					if (de && !tfs_inode_get(fs, de->d_ino)) {
						tfs_err("entry '%.*s' in directory %llu points at missing inode %llu",
							de->d_namelen, de->d_name,
							(unsigned long long)in->i_ino,
							(unsigned long long)de->d_ino);
						return -EUCLEAN;
					}
				}
			}
			for (c = tier_cmap_next(&in->i_map, 0); c;
			     c = tier_cmap_next(&in->i_map, c->c_idx + 1)) {
				ret = tier_alloc_mark(&fs->alloc, c->c_dev, c->c_slot, c);
				if (ret < 0) {
					tfs_err("chunk %llu of inode %llu: slot %llu on device %u is %s",
						(unsigned long long)c->c_idx,
						(unsigned long long)in->i_ino,
						(unsigned long long)c->c_slot, c->c_dev,
						ret == -EEXIST ? "used twice" : "out of range");
					return -EUCLEAN;
				}
			}
		}
	}
	return 0;
}

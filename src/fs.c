/*
 * src/fs.c - the pool in memory: assembly, inodes, directories, namespace.
 *
 * Inode numbers are the pool's own: allocated from next_ino, never reused
 * (next_ino is persisted in every transaction and checkpoint), so the FUSE
 * generation is constant and an inode number names one file forever.
 *
 * Lifetimes follow the FUSE rules: i_nlookup counts the kernel's references
 * (+1 for every entry reply, -n on forget).  An inode goes away when it has
 * no name (i_nlink == 0), no kernel reference and no open handle; until then
 * an unlinked file stays readable.  Unmount frees what is left unlinked.
 *
 * Every change to the pool is made under fs->lock and, in the same critical
 * section, either logged as a record in fs->jbuf (names, xattrs, frees) or
 * put on a commit list (inode attributes, chunk states), so a commit sees
 * whole operations only.  A rename is one critical section, hence one
 * transaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tfs.h"

/* ---------------------------------------------------------------- dirs */

struct tfs_dir *tfs_dir_new(void)
{
	struct tfs_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (tfs_htab_init(&d->dr_names, 8) < 0) {
		free(d);
		return NULL;
	}
	d->dr_next_cookie = TFS_DIR_COOKIE_FIRST;
	return d;
}

void tfs_dir_free(struct tfs_dir *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->dr_len; i++)
		free(d->dr_ents[i]);
	free(d->dr_ents);
	tfs_htab_destroy(&d->dr_names);
	free(d);
}

int tfs_dir_has_cookie(const struct tfs_dir *d, uint64_t cookie)
{
	size_t pos = tfs_dir_seek(d, cookie - 1);

	while (pos < d->dr_len && !d->dr_ents[pos])
		pos++;
	return pos < d->dr_len && d->dr_ents[pos]->d_cookie == cookie;
}

struct tfs_dirent *tfs_dir_lookup(const struct tfs_dir *d, const char *name, size_t len)
{
	struct tfs_hnode *h = tfs_htab_find(&d->dr_names, tfs_hash_str(name, len));

	for (; h; h = tfs_htab_next(h)) {
		struct tfs_dirent *de = tfs_container_of(h, struct tfs_dirent, d_hnode);

		if (de->d_namelen == len && memcmp(de->d_name, name, len) == 0)
			return de;
	}
	return NULL;
}

size_t tfs_dir_seek(const struct tfs_dir *d, uint64_t after)
{
	size_t lo = 0, hi = d->dr_len;

	/* entries are sorted by cookie; removed ones (NULL) sit between */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, m = mid;

		while (m < hi && !d->dr_ents[m])
			m++;
		if (m == hi) {
			hi = mid;
			continue;
		}
		if (d->dr_ents[m]->d_cookie <= after)
			lo = m + 1;
		else
			hi = mid;
	}
	return lo;
}

static void dir_compact(struct tfs_dir *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->dr_len; i++)
		if (d->dr_ents[i])
			d->dr_ents[j++] = d->dr_ents[i];
	d->dr_len = j;
}

int tfs_dir_add(struct tfs_dir *d, const char *name, size_t len, uint64_t ino, uint64_t cookie,
		struct tfs_dirent **out)
{
	struct tfs_dirent *de;
	size_t pos;

	if (d->dr_len == d->dr_cap) {
		size_t cap = d->dr_cap ? d->dr_cap * 2 : 16;
		struct tfs_dirent **e = realloc(d->dr_ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		d->dr_ents = e;
		d->dr_cap = cap;
	}
	de = malloc(sizeof(*de) + len + 1);
	if (!de)
		return -ENOMEM;
	memcpy(de->d_name, name, len);
	de->d_name[len] = 0;
	de->d_namelen = (uint16_t)len;
	de->d_ino = ino;
	de->d_cookie = cookie ? cookie : d->dr_next_cookie;
	if (de->d_cookie >= d->dr_next_cookie)
		d->dr_next_cookie = de->d_cookie + 1;
	de->d_hnode.h_key = tfs_hash_str(name, len);
	/* new cookies are the largest: append.  Replay may insert in any order,
	 * and the array must stay sorted past removed (NULL) slots. */
	pos = d->dr_len;
	if (cookie) {
		pos = tfs_dir_seek(d, de->d_cookie);
		memmove(d->dr_ents + pos + 1, d->dr_ents + pos, (d->dr_len - pos) * sizeof(*d->dr_ents));
	}
	d->dr_ents[pos] = de;
	d->dr_len++;
	d->dr_live++;
	tfs_htab_insert(&d->dr_names, &de->d_hnode);
	if (out)
		*out = de;
	return 0;
}

void tfs_dir_del(struct tfs_dir *d, struct tfs_dirent *de)
{
	size_t pos = tfs_dir_seek(d, de->d_cookie - 1);

	while (pos < d->dr_len && d->dr_ents[pos] != de)
		pos++;
	if (pos < d->dr_len)
		d->dr_ents[pos] = NULL;
	tfs_htab_remove(&d->dr_names, &de->d_hnode);
	d->dr_live--;
	free(de);
	if (d->dr_len > 64 && d->dr_live < d->dr_len / 2)
		dir_compact(d);
}

/* ---------------------------------------------------------------- inodes */

void tfs_touch(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

uint64_t tfs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void tfs_changed(struct tfs_fs *fs)
{
	fs->change_gen++;
}

/*
 * Inode data locks prefer writers: with readers always in flight on a busy
 * file (a database, a benchmark at queue depth 16) a reader-preferring lock
 * would never let a writer or the migration engine's map flip in.  Nobody
 * takes an i_rwlock twice in one thread, which this kind requires.
 */
static pthread_rwlockattr_t rwlock_attr;
static pthread_once_t rwlock_once = PTHREAD_ONCE_INIT;

static void rwlock_attr_init(void)
{
	pthread_rwlockattr_init(&rwlock_attr);
	pthread_rwlockattr_setkind_np(&rwlock_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
}

struct tfs_inode *tfs_inode_new(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	pthread_once(&rwlock_once, rwlock_attr_init);
	in->i_ino = ino;
	in->i_gen = 1;
	in->i_hnode.h_key = ino;
	tfs_list_init(&in->i_dirty);
	pthread_rwlock_init(&in->i_rwlock, &rwlock_attr);
	tfs_htab_insert(&fs->inodes, &in->i_hnode);
	fs->ninodes++;
	return in;
}

struct tfs_inode *tfs_inode_get(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_hnode *h = tfs_htab_find(&fs->inodes, ino);

	return h ? tfs_container_of(h, struct tfs_inode, i_hnode) : NULL;
}

/*
 * pool lock held: @bytes more go into the next transaction.  When it grows
 * past an eighth of a journal half, the background thread is asked to commit
 * now, so that a burst of changes without fsync does not become one
 * transaction too big for the journal (which would force a checkpoint that
 * stops the pool while it serialises).
 */
static void pending_grow(struct tfs_fs *fs, size_t bytes)
{
	fs->pend_bytes += bytes;
	if (fs->pend_bytes + fs->jbuf.len > fs->sb.s_jrnl_len / 16 && fs->ckpt_kick &&
	    !fs->commit_kicked) {
		fs->commit_kicked = 1;
		fs->ckpt_kick(fs->ckpt_kick_arg);
	}
}

void tfs_inode_dirty(struct tfs_fs *fs, struct tfs_inode *in)
{
	fs->change_gen++;
	if (fs->loading || (in->i_flags & TFS_I_DIRTY))
		return;
	in->i_flags |= TFS_I_DIRTY;
	tfs_list_add_tail(&fs->dirty_inodes, &in->i_dirty);
	pending_grow(fs, 192);
}

void tfs_chunk_dirty(struct tfs_fs *fs, struct tfs_chunk *c)
{
	fs->change_gen++;
	c->c_wgen = ++fs->wgen; /* a move in progress sees the chunk changed */
	if (c->c_flags & TIER_CHUNK_DIRTY)
		return;
	c->c_flags |= TIER_CHUNK_DIRTY;
	tfs_list_add_tail(&fs->dirty_chunks, &c->c_dirty);
	pending_grow(fs, 64 + c->c_nblocks * 5);
}

static void fpend_add(struct tfs_fs *fs, uint16_t dev, uint64_t slot)
{
	if (fs->fpend_len == fs->fpend_cap) {
		size_t cap = fs->fpend_cap ? fs->fpend_cap * 2 : 64;
		struct tfs_free_slot *p = realloc(fs->fpend, cap * sizeof(*p));

		if (!p) {
			tfs_warn("out of memory: a freed chunk slot stays in use until remount");
			return;
		}
		fs->fpend = p;
		fs->fpend_cap = cap;
	}
	fs->fpend[fs->fpend_len].dev = dev;
	fs->fpend[fs->fpend_len].slot = slot;
	fs->fpend_len++;
}

void tfs_slot_free(struct tfs_fs *fs, uint16_t dev, uint64_t slot)
{
	fpend_add(fs, dev, slot);
	fs->change_gen++;
}

void tfs_chunk_release(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, int log)
{
	struct tfs_chunk *c = tier_cmap_take(&in->i_map, idx);

	if (!c)
		return;
	if (c->c_flags & TIER_CHUNK_DIRTY)
		tfs_list_del(&c->c_dirty);
	tfs_list_del(&c->c_intent);
	if (!fs->loading) {
		/* reusable only once the record freeing it is durable */
		fpend_add(fs, c->c_dev, c->c_slot);
		if (log) {
			meta_put_chunk_free(&fs->jbuf, in->i_ino, idx);
			fs->jnrec++;
		}
		fs->change_gen++;
	}
	tier_chunk_free(c);
}

void tfs_inode_destroy(struct tfs_fs *fs, struct tfs_inode *in)
{
	struct tfs_xattr *x, *xn;
	struct tfs_chunk *c;

	while ((c = tier_cmap_next(&in->i_map, 0)))
		tfs_chunk_release(fs, in, c->c_idx, 0);
	tier_cmap_destroy(&in->i_map);
	if (!fs->loading) {
		meta_put_ino(&fs->jbuf, TFS_REC_INODE_FREE, in->i_ino);
		fs->jnrec++;
		fs->change_gen++;
	}
	if (in->i_flags & TFS_I_DIRTY)
		tfs_list_del(&in->i_dirty);
	for (x = in->i_xattrs; x; x = xn) {
		xn = x->x_next;
		free(x->x_name);
		free(x->x_value);
		free(x);
	}
	tfs_dir_free(in->i_dir);
	free(in->i_symlink);
	tfs_htab_remove(&fs->inodes, &in->i_hnode);
	fs->ninodes--;
	pthread_rwlock_destroy(&in->i_rwlock);
	free(in);
}

void tfs_inode_maybe_free(struct tfs_fs *fs, struct tfs_inode *in)
{
	if (in->i_nlink == 0 && in->i_nlookup == 0 && in->i_nopen == 0 && in->i_ino != TFS_ROOT_INO)
		tfs_inode_destroy(fs, in);
}

void tfs_stat_fill(const struct tfs_fs *fs, const struct tfs_inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->i_ino;
	st->st_mode = in->i_mode;
	st->st_nlink = in->i_nlink;
	st->st_uid = in->i_uid;
	st->st_gid = in->i_gid;
	st->st_rdev = in->i_rdev;
	st->st_size = (off_t)in->i_size;
	st->st_blksize = (blksize_t)fs->chunk_size;
	st->st_blocks = S_ISREG(in->i_mode) ? (blkcnt_t)(in->i_map.m_blocks * (TFS_BLOCK_SIZE / 512))
		      : S_ISDIR(in->i_mode) ? 8 : 0;
	st->st_atim = in->i_atime;
	st->st_mtim = in->i_mtime;
	st->st_ctim = in->i_ctime;
}

/* ---------------------------------------------------------------- namespace */

static int name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -ENOENT;
	if (len > TFS_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* pool lock held: the directory @ino, or an error */
static int dir_get(struct tfs_fs *fs, uint64_t ino, struct tfs_inode **out)
{
	struct tfs_inode *in = tfs_inode_get(fs, ino);

	if (!in)
		return -ESTALE;
	if (!S_ISDIR(in->i_mode))
		return -ENOTDIR;
	*out = in;
	return 0;
}

static void log_dirent(struct tfs_fs *fs, unsigned int type, struct tfs_inode *dir,
		       const struct tfs_dirent *de)
{
	meta_put_dirent(&fs->jbuf, type, dir->i_ino, de->d_cookie, de->d_ino, de->d_name,
			de->d_namelen);
	fs->jnrec++;
}

static int meta_room(struct tfs_fs *fs)
{
	/* keep a tenth of the checkpoint slot for what is already queued */
	if (fs->meta_bytes + fs->jbuf.len > fs->sb.s_ckpt_len / 10 * 9)
		return -ENOSPC;
	if (fs->readonly)
		return -EROFS;
	return 0;
}

int tfs_lookup(struct tfs_fs *fs, uint64_t parent, const char *name, struct stat *st)
{
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	int ret = name_check(name);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	de = tfs_dir_lookup(dir->i_dir, name, strlen(name));
	in = de ? tfs_inode_get(fs, de->d_ino) : NULL;
	if (!in) {
		ret = -ENOENT;
		goto unlock;
	}
	in->i_nlookup++;
	tfs_stat_fill(fs, in, st);
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_forget(struct tfs_fs *fs, uint64_t ino, uint64_t n)
{
	struct tfs_inode *in;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (in) {
		if (in->i_nlookup < n) {
			tfs_err("lookup count of inode %llu would go negative",
				(unsigned long long)ino);
			abort();
		}
		in->i_nlookup -= n;
		tfs_inode_maybe_free(fs, in);
	}
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

int tfs_getattr(struct tfs_fs *fs, uint64_t ino, struct stat *st)
{
	struct tfs_inode *in;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (in)
		tfs_stat_fill(fs, in, st);
	else
		ret = -ESTALE;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static int xattr_set_locked(struct tfs_fs *fs, struct tfs_inode *in, const char *name,
			    const void *val, size_t len, int flags);

int tfs_mknod(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, const char *symlink, struct stat *st)
{
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	size_t nl = strlen(name);
	int ret = name_check(name);

	if (ret < 0)
		return ret;
	if (symlink && strlen(symlink) > TFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	if (tfs_dir_lookup(dir->i_dir, name, nl)) {
		ret = -EEXIST;
		goto unlock;
	}
	ret = meta_room(fs);
	if (ret < 0)
		goto unlock;
	in = tfs_inode_new(fs, fs->next_ino);
	if (!in) {
		ret = -ENOMEM;
		goto unlock;
	}
	fs->next_ino++;
	in->i_mode = (uint32_t)mode;
	in->i_uid = ctx->uid;
	in->i_gid = ctx->gid;
	if (dir->i_mode & S_ISGID) {
		/* BSD group semantics for setgid directories */
		in->i_gid = dir->i_gid;
		if (S_ISDIR(mode))
			in->i_mode |= S_ISGID;
	}
	in->i_rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
	in->i_nlink = 1;
	if (S_ISDIR(mode)) {
		in->i_dir = tfs_dir_new();
		in->i_nlink = 2;
		in->i_parent = dir->i_ino;
	} else if (S_ISLNK(mode)) {
		in->i_symlink = strdup(symlink);
		in->i_size = strlen(symlink);
	}
	if ((S_ISDIR(mode) && !in->i_dir) || (S_ISLNK(mode) && !in->i_symlink)) {
		ret = -ENOMEM;
		goto out_destroy;
	}
	tfs_touch(&in->i_ctime);
	in->i_atime = in->i_mtime = in->i_btime = in->i_ctime;
	ret = tfs_dir_add(dir->i_dir, name, nl, in->i_ino, 0, &de);
	if (ret < 0)
		goto out_destroy;
	log_dirent(fs, TFS_REC_DIRENT_ADD, dir, de);
	/* files and directories made in a pinned directory are pinned alike */
	if ((S_ISDIR(mode) || S_ISREG(mode)) && tfs_inode_pin(dir) < TFS_CLASS_MAX) {
		const char *t = tfs_dev_class_str(tfs_inode_pin(dir));

		xattr_set_locked(fs, in, TFS_PIN_XATTR, t, strlen(t), 0);
	}
	if (S_ISDIR(mode))
		dir->i_nlink++;
	dir->i_mtime = dir->i_ctime = in->i_ctime;
	tfs_inode_dirty(fs, dir);
	tfs_inode_dirty(fs, in);
	in->i_nlookup++;
	tfs_stat_fill(fs, in, st);
	goto unlock;

out_destroy:
	in->i_nlink = 0;
	fs->loading = 1; /* nothing of it was logged yet */
	tfs_inode_destroy(fs, in);
	fs->loading = 0;
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_link(struct tfs_fs *fs, uint64_t ino, uint64_t parent, const char *name, struct stat *st)
{
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	size_t nl = strlen(name);
	int ret = name_check(name);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	in = tfs_inode_get(fs, ino);
	if (!in) {
		ret = -ESTALE;
		goto unlock;
	}
	if (S_ISDIR(in->i_mode)) {
		ret = -EPERM;
		goto unlock;
	}
	if (in->i_nlink >= 65000) {
		ret = -EMLINK;
		goto unlock;
	}
	if (tfs_dir_lookup(dir->i_dir, name, nl)) {
		ret = -EEXIST;
		goto unlock;
	}
	ret = meta_room(fs);
	if (ret == 0)
		ret = tfs_dir_add(dir->i_dir, name, nl, ino, 0, &de);
	if (ret < 0)
		goto unlock;
	log_dirent(fs, TFS_REC_DIRENT_ADD, dir, de);
	in->i_nlink++;
	tfs_touch(&in->i_ctime);
	dir->i_mtime = dir->i_ctime = in->i_ctime;
	tfs_inode_dirty(fs, in);
	tfs_inode_dirty(fs, dir);
	in->i_nlookup++;
	tfs_stat_fill(fs, in, st);
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* pool lock held: drop one name of @in (a directory loses all of them) */
static void drop_link(struct tfs_fs *fs, struct tfs_inode *dir, struct tfs_inode *in,
		      const struct timespec *now)
{
	if (S_ISDIR(in->i_mode)) {
		in->i_nlink = 0;
		dir->i_nlink--;
	} else {
		in->i_nlink--;
	}
	in->i_ctime = *now;
	tfs_inode_dirty(fs, in);
}

int tfs_unlink(struct tfs_fs *fs, uint64_t parent, const char *name, int isdir)
{
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	struct timespec now;
	int ret = name_check(name), synced = 0;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	if (fs->readonly) {
		ret = -EROFS;
		goto unlock;
	}
	de = tfs_dir_lookup(dir->i_dir, name, strlen(name));
	in = de ? tfs_inode_get(fs, de->d_ino) : NULL;
	if (!in) {
		ret = -ENOENT;
		goto unlock;
	}
	if (isdir && !S_ISDIR(in->i_mode)) {
		ret = -ENOTDIR;
		goto unlock;
	}
	if (!isdir && S_ISDIR(in->i_mode)) {
		ret = -EISDIR;
		goto unlock;
	}
	if (isdir && in->i_dir->dr_live) {
		ret = -ENOTEMPTY;
		goto unlock;
	}
	log_dirent(fs, TFS_REC_DIRENT_DEL, dir, de);
	tfs_dir_del(dir->i_dir, de);
	tfs_touch(&now);
	drop_link(fs, dir, in, &now);
	dir->i_mtime = dir->i_ctime = now;
	tfs_inode_dirty(fs, dir);
	/* a file someone fsynced is one whose removal can be a commit point
	 * (SQLite's rollback journal, with synchronous=FULL, does not sync
	 * the directory after deleting it): make the removal durable too */
	synced = (in->i_flags & TFS_I_SYNCED) != 0;
	tfs_inode_maybe_free(fs, in);
unlock:
	pthread_mutex_unlock(&fs->lock);
	if (ret == 0 && synced)
		ret = tfs_sync(fs);
	return ret;
}

/* pool lock held: is @anc an ancestor of (or equal to) directory @ino? */
static int is_ancestor(struct tfs_fs *fs, uint64_t anc, uint64_t ino)
{
	struct tfs_inode *in;
	unsigned int depth = 0;

	while (depth++ < 100000) {
		if (ino == anc)
			return 1;
		if (ino == TFS_ROOT_INO)
			return 0;
		in = tfs_inode_get(fs, ino);
		if (!in)
			return 0;
		ino = in->i_parent;
	}
	return 1; /* a cycle: refuse */
}

/* pool lock held: move the name @de of @in from directory @d1 to @d2 */
static void reparent(struct tfs_fs *fs, struct tfs_inode *d1, struct tfs_inode *d2,
		     struct tfs_inode *in)
{
	if (!S_ISDIR(in->i_mode) || d1 == d2)
		return;
	in->i_parent = d2->i_ino;
	d1->i_nlink--;
	d2->i_nlink++;
}

int tfs_rename(struct tfs_fs *fs, uint64_t p1, const char *n1, uint64_t p2, const char *n2,
	       unsigned int flags)
{
	struct tfs_inode *d1, *d2, *src, *dst = NULL;
	struct tfs_dirent *de1, *de2, *nde;
	size_t l1 = strlen(n1), l2 = strlen(n2);
	struct timespec now;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	ret = name_check(n1);
	if (ret == 0)
		ret = name_check(n2);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, p1, &d1);
	if (ret == 0)
		ret = dir_get(fs, p2, &d2);
	if (ret == 0)
		ret = meta_room(fs);
	if (ret < 0)
		goto unlock;
	de1 = tfs_dir_lookup(d1->i_dir, n1, l1);
	src = de1 ? tfs_inode_get(fs, de1->d_ino) : NULL;
	if (!src) {
		ret = -ENOENT;
		goto unlock;
	}
	de2 = tfs_dir_lookup(d2->i_dir, n2, l2);
	if (de2)
		dst = tfs_inode_get(fs, de2->d_ino);
	tfs_touch(&now);

	if (flags & RENAME_EXCHANGE) {
		if (!dst) {
			ret = -ENOENT;
			goto unlock;
		}
		if ((S_ISDIR(src->i_mode) && is_ancestor(fs, src->i_ino, d2->i_ino)) ||
		    (S_ISDIR(dst->i_mode) && is_ancestor(fs, dst->i_ino, d1->i_ino))) {
			ret = -EINVAL;
			goto unlock;
		}
		/* entries keep their cookies and swap targets */
		log_dirent(fs, TFS_REC_DIRENT_DEL, d1, de1);
		log_dirent(fs, TFS_REC_DIRENT_DEL, d2, de2);
		de1->d_ino = dst->i_ino;
		de2->d_ino = src->i_ino;
		log_dirent(fs, TFS_REC_DIRENT_ADD, d1, de1);
		log_dirent(fs, TFS_REC_DIRENT_ADD, d2, de2);
		reparent(fs, d1, d2, src);
		reparent(fs, d2, d1, dst);
		dst->i_ctime = now;
		tfs_inode_dirty(fs, dst);
		goto done;
	}
	if (dst && (flags & RENAME_NOREPLACE)) {
		ret = -EEXIST;
		goto unlock;
	}
	if (dst == src)
		goto unlock; /* two names of one file: nothing to do */
	if (S_ISDIR(src->i_mode) && is_ancestor(fs, src->i_ino, d2->i_ino)) {
		ret = -EINVAL;
		goto unlock;
	}
	if (dst) {
		if (S_ISDIR(src->i_mode) && !S_ISDIR(dst->i_mode)) {
			ret = -ENOTDIR;
			goto unlock;
		}
		if (!S_ISDIR(src->i_mode) && S_ISDIR(dst->i_mode)) {
			ret = -EISDIR;
			goto unlock;
		}
		if (S_ISDIR(dst->i_mode) && dst->i_dir->dr_live) {
			ret = -ENOTEMPTY;
			goto unlock;
		}
		log_dirent(fs, TFS_REC_DIRENT_DEL, d2, de2);
		tfs_dir_del(d2->i_dir, de2);
		drop_link(fs, d2, dst, &now);
	}
	log_dirent(fs, TFS_REC_DIRENT_DEL, d1, de1);
	tfs_dir_del(d1->i_dir, de1);
	ret = tfs_dir_add(d2->i_dir, n2, l2, src->i_ino, 0, &nde);
	if (ret < 0) {
		/* out of memory half way: put the old name back (same cookie space) */
		if (tfs_dir_add(d1->i_dir, n1, l1, src->i_ino, 0, &nde) == 0)
			log_dirent(fs, TFS_REC_DIRENT_ADD, d1, nde);
		goto unlock;
	}
	log_dirent(fs, TFS_REC_DIRENT_ADD, d2, nde);
	reparent(fs, d1, d2, src);
	if (dst)
		tfs_inode_maybe_free(fs, dst);
done:
	src->i_ctime = now;
	d1->i_mtime = d1->i_ctime = now;
	d2->i_mtime = d2->i_ctime = now;
	tfs_inode_dirty(fs, src);
	tfs_inode_dirty(fs, d1);
	tfs_inode_dirty(fs, d2);
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_readlink(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size)
{
	struct tfs_inode *in;
	int ret;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in)
		ret = -ESTALE;
	else if (!S_ISLNK(in->i_mode) || !in->i_symlink)
		ret = -EINVAL;
	else {
		snprintf(buf, size, "%s", in->i_symlink);
		ret = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* ---------------------------------------------------------------- xattrs */

static int xattr_name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -EINVAL;
	if (len > TFS_XATTR_NAME_MAX)
		return -ERANGE;
	/* POSIX ACLs are not enforced by tierfs: refuse to store them */
	if (strncmp(name, "system.", 7) == 0)
		return -EOPNOTSUPP;
	return 0;
}

/* pool lock held: set xattr @name of @in and log it */
static int xattr_set_locked(struct tfs_fs *fs, struct tfs_inode *in, const char *name,
			    const void *val, size_t len, int flags)
{
	struct tfs_xattr *x, **p;
	size_t nl = strlen(name);
	uint8_t *nv;
	int ret = meta_room(fs);

	if (ret < 0)
		return ret;
	for (p = &in->i_xattrs; *p; p = &(*p)->x_next)
		if ((*p)->x_namelen == nl && memcmp((*p)->x_name, name, nl) == 0)
			break;
	x = *p;
	if (x && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!x && (flags & XATTR_REPLACE))
		return -ENODATA;
	nv = malloc(len ? len : 1);
	if (!nv)
		return -ENOMEM;
	memcpy(nv, val, len);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x || !(x->x_name = strdup(name))) {
			free(x);
			free(nv);
			return -ENOMEM;
		}
		x->x_namelen = (uint32_t)nl;
		*p = x;
	}
	free(x->x_value);
	x->x_value = nv;
	x->x_len = (uint32_t)len;
	meta_put_xattr(&fs->jbuf, TFS_REC_XATTR_SET, in->i_ino, name, nl, val, len);
	fs->jnrec++;
	tfs_touch(&in->i_ctime);
	tfs_inode_dirty(fs, in);
	return 0;
}

/* pool lock held: a pin changed, the engine looks at it now */
static void pin_changed(struct tfs_fs *fs)
{
	if (fs->eng.running)
		tier_engine_kick(&fs->eng, 0);
}

int tfs_xattr_set(struct tfs_fs *fs, uint64_t ino, const char *name, const void *val, size_t len,
		  int flags)
{
	struct tfs_inode *in;
	int ret = xattr_name_check(name), pin = !strcmp(name, TFS_PIN_XATTR);

	if (ret < 0)
		return ret;
	if (len > TFS_XATTR_SIZE_MAX)
		return -E2BIG;
	/* the pin names a tier, nothing else */
	if (pin && tfs_pin_parse(val, len) < 0)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = in ? xattr_set_locked(fs, in, name, val, len, flags) : -ESTALE;
	if (ret == 0 && pin)
		pin_changed(fs);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_xattr_get(struct tfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t size)
{
	struct tfs_xattr *x;
	struct tfs_inode *in;
	size_t nl = strlen(name);
	int ret = xattr_name_check(name);

	if (ret == -ERANGE || ret == -EOPNOTSUPP)
		return ret == -ERANGE ? -ENODATA : ret;
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = in ? -ENODATA : -ESTALE;
	for (x = in ? in->i_xattrs : NULL; x; x = x->x_next) {
		if (x->x_namelen != nl || memcmp(x->x_name, name, nl))
			continue;
		if (size && size < x->x_len)
			ret = -ERANGE;
		else {
			if (size)
				memcpy(buf, x->x_value, x->x_len);
			ret = (int)x->x_len;
		}
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_xattr_list(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size)
{
	struct tfs_xattr *x;
	struct tfs_inode *in;
	size_t need = 0;
	int ret;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in) {
		ret = -ESTALE;
		goto unlock;
	}
	for (x = in->i_xattrs; x; x = x->x_next)
		need += x->x_namelen + 1;
	ret = (int)need;
	if (!size)
		goto unlock;
	if (size < need) {
		ret = -ERANGE;
		goto unlock;
	}
	for (x = in->i_xattrs; x; x = x->x_next) {
		memcpy(buf, x->x_name, x->x_namelen);
		buf[x->x_namelen] = 0;
		buf += x->x_namelen + 1;
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_xattr_remove(struct tfs_fs *fs, uint64_t ino, const char *name)
{
	struct tfs_xattr **p, *x;
	struct tfs_inode *in;
	size_t nl = strlen(name);
	int ret = xattr_name_check(name);

	if (ret < 0)
		return ret == -ERANGE ? -ENODATA : ret;
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = in ? -ENODATA : -ESTALE;
	for (p = in ? &in->i_xattrs : NULL; p && *p; p = &(*p)->x_next) {
		x = *p;
		if (x->x_namelen != nl || memcmp(x->x_name, name, nl))
			continue;
		*p = x->x_next;
		free(x->x_name);
		free(x->x_value);
		free(x);
		meta_put_xattr(&fs->jbuf, TFS_REC_XATTR_DEL, ino, name, nl, NULL, 0);
		fs->jnrec++;
		tfs_touch(&in->i_ctime);
		tfs_inode_dirty(fs, in);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_open(struct tfs_fs *fs, uint64_t ino, struct tfs_inode **out)
{
	struct tfs_inode *in;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in)
		ret = -ESTALE;
	else {
		in->i_nopen++;
		*out = in;
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

void tfs_release(struct tfs_fs *fs, struct tfs_inode *in)
{
	pthread_mutex_lock(&fs->lock);
	in->i_nopen--;
	tfs_inode_maybe_free(fs, in);
	pthread_mutex_unlock(&fs->lock);
}

/* ---------------------------------------------------------------- pool */

unsigned int tfs_free_orphans(struct tfs_fs *fs)
{
	unsigned int n = 0;
	size_t b;
	int again = 1;

	/* an inode without names is only alive through kernel references and
	 * open files; at mount and at unmount there are none, so it is an
	 * orphan of an unlink-while-open (or of a daemon killed meanwhile) */
	pthread_mutex_lock(&fs->lock);
	while (again) {
		again = 0;
		for (b = 0; b < fs->inodes.t_size && !again; b++) {
			struct tfs_hnode *h;

			for (h = fs->inodes.t_b[b]; h; h = h->h_next) {
				struct tfs_inode *in = tfs_container_of(h, struct tfs_inode, i_hnode);

				if (in->i_nlink == 0 && in->i_ino != TFS_ROOT_INO) {
					tfs_inode_destroy(fs, in);
					n++;
					again = 1;
					break;
				}
			}
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (n)
		tfs_info("freed %u orphaned inode%s (unlinked while open)", n, n == 1 ? "" : "s");
	return n;
}

struct tfs_fs *tfs_fs_new(void)
{
	struct tfs_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->commit_lock, NULL);
	pthread_cond_init(&fs->ckpt_cond, NULL);
	pthread_cond_init(&fs->zcond, NULL);
	fs->clean_mbps = 256;
	tfs_list_init(&fs->dirty_inodes);
	tfs_list_init(&fs->dirty_chunks);
	tfs_list_init(&fs->intent_chunks);
	fs->next_ino = TFS_ROOT_INO + 1;
	if (tfs_htab_init(&fs->inodes, 1024) < 0) {
		free(fs);
		return NULL;
	}
	return fs;
}

static int dev_lock(struct tfs_io_dev *dev, unsigned int wait_s)
{
	unsigned int waited = 0;

	for (;;) {
		if (flock(dev->d_fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited++ >= wait_s * 10)
			return -EBUSY;
		usleep(100000);
	}
}

static int dev_attach(struct tfs_fs *fs, const struct tfs_sb *want, unsigned int idx,
		      const char *path, unsigned int wait_s, unsigned int flags)
{
	struct tfs_io_dev *dev = &fs->dev[idx];
	struct tfs_sb sb;
	int ret;

	ret = tfs_io_dev_open(dev, path, want->s_dev[idx].sd_class);
	if (ret < 0) {
		tfs_err("device %u of the pool (%s, %s): %s", idx, tfs_dev_class_str(want->s_dev[idx].sd_class),
			path, strerror(-ret));
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
	if (dev->d_size < want->s_dev[idx].sd_data_off +
				  (want->s_dev[idx].sd_nslots << want->s_chunk_shift)) {
		tfs_err("%s is smaller (%llu bytes) than when it was formatted", path,
			(unsigned long long)dev->d_size);
		ret = -EINVAL;
		goto out_close_dev;
	}
	ret = dev_lock(dev, wait_s);
	if (ret < 0) {
		tfs_err("%s: the pool is in use (mounted by another tierfs process?)", path);
		goto out_close_dev;
	}
	ret = tfs_zns_setup(fs, idx);
	if (ret < 0)
		goto out_close_dev;
	return 0;

out_close_dev:
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

int tfs_fs_open(struct tfs_fs **out, const char *path, const char *devices, int lock_wait_s,
		unsigned int flags)
{
	struct tfs_fs *fs;
	struct tfs_io_dev first;
	char pbuf[PATH_MAX];
	unsigned int i;
	int ret;

	ret = tfs_io_dev_open(&first, path, TFS_CLASS_MAX);
	if (ret < 0) {
		tfs_err("%s: %s", path, strerror(-ret));
		return ret;
	}
	fs = tfs_fs_new();
	if (!fs) {
		tfs_io_dev_close(&first);
		return -ENOMEM;
	}
	ret = tfs_sb_read(&first, &fs->sb, 0);
	if (ret < 0) {
		uint8_t *buf = tfs_io_alloc(68 * 1024);
		const char *what = NULL;

		if (buf && tfs_io_dev_pread(&first, buf, 68 * 1024, 0) == 0)
			what = tfs_sb_foreign(buf, 68 * 1024);
		tfs_io_free(buf);
		if (ret == -ENOENT)
			tfs_err("%s is not a tierfs device%s%s%s", path, what ? " (it holds " : "",
				what ? what : "", what ? ")" : "");
		else
			tfs_err("%s: tierfs superblock is damaged (both copies): %s", path,
				strerror(-ret));
		tfs_io_dev_close(&first);
		tfs_fs_close(fs);
		return -EINVAL;
	}
	tfs_io_dev_close(&first);
	for (i = 0; i < fs->sb.s_ndev; i++) {
		const char *p = (i == fs->sb.s_dev_index) ? path
							  : dev_path(&fs->sb, i, devices, pbuf, sizeof(pbuf));

		ret = dev_attach(fs, &fs->sb, i, p, (unsigned int)lock_wait_s, flags);
		if (ret < 0) {
			if (i != fs->sb.s_dev_index && !devices)
				tfs_err("give the device's current path with -o devices=PATH[:PATH...]");
			goto out_close;
		}
		fs->ndev = i + 1;
	}
	fs->chunk_shift = fs->sb.s_chunk_shift;
	fs->chunk_size = 1u << fs->chunk_shift;
	fs->chunk_blocks = fs->chunk_size / TFS_BLOCK_SIZE;
	ret = tfs_journal_load(fs);
	if (ret < 0) {
		tfs_err("cannot load the pool's metadata: %s", strerror(-ret));
		goto out_close;
	}
	ret = tfs_zns_mount(fs, !(flags & TFS_OPEN_NOREPAIR));
	if (ret < 0) {
		tfs_err("cannot bring up the zoned devices: %s", strerror(-ret));
		goto out_close;
	}
	if (!(flags & TFS_OPEN_NOREPAIR)) {
		ret = tfs_reseal(fs);
		if (ret < 0) {
			tfs_err("cannot re-checksum chunks written at the crash: %s", strerror(-ret));
			goto out_close;
		}
	}
	if (fs->need_ckpt && !(flags & TFS_OPEN_NOREPAIR)) {
		ret = tfs_commit(fs, 1); /* replace the damaged checkpoint */
		if (ret < 0)
			goto out_close;
		fs->need_ckpt = 0;
	}
	*out = fs;
	return 0;

out_close:
	tfs_fs_close(fs);
	return ret;
}

void tfs_fs_close(struct tfs_fs *fs)
{
	unsigned int i;
	size_t b;

	if (!fs)
		return;
	fs->loading = 1;
	for (b = 0; b < fs->inodes.t_size; b++)
		while (fs->inodes.t_b[b])
			tfs_inode_destroy(fs, tfs_container_of(fs->inodes.t_b[b], struct tfs_inode,
							       i_hnode));
	tfs_htab_destroy(&fs->inodes);
	tier_engine_destroy(&fs->eng);
	tier_alloc_destroy(&fs->alloc);
	tfs_wbuf_free(&fs->jbuf);
	free(fs->fpend);
	for (i = 0; i < fs->ndev; i++)
		tfs_io_dev_close(&fs->dev[i]);
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->commit_lock);
	pthread_cond_destroy(&fs->ckpt_cond);
	pthread_cond_destroy(&fs->zcond);
	free(fs);
}

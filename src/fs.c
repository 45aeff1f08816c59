/*
 * src/fs.c - the namespace in memory: inodes, directories, xattrs, and the
 * bookkeeping that makes each change durable.
 *
 * Inode numbers are the pool's own: allocated from next_ino, never reused
 * (next_ino is in every transaction and checkpoint), so the FUSE generation
 * is constant and an inode number names one file forever.
 *
 * Lifetimes follow the FUSE rules: i_nlookup counts the kernel's references
 * (+1 for every entry reply, -n on forget).  An inode goes away when it has
 * no name (i_nlink == 0), no kernel reference and no open reference; until
 * then an unlinked file stays readable.  Unmount frees what is left unlinked.
 *
 * Every change is made under the pool lock and, in the same critical
 * section:
 *   - logged: a journal record in the metadata layer's buffer (names,
 *     xattrs, frees), or the object goes on the list of objects whose state
 *     the next commit writes (inode attributes, chunks);
 *   - the log units it touched (the inode, its xattrs, a directory block, a
 *     chunk group) are queued for the next checkpoint, once each; a unit
 *     that disappears after it was persisted leaves a tombstone.
 * So a commit sees whole operations only, and a checkpoint writes what
 * changed and nothing else.  A rename is one critical section, hence one
 * transaction.
 *
 * Room: a change that makes metadata grow asks tfs_room() first; removals
 * never do.  The last slots of the pool are kept for what the metadata log
 * may need and, for users other than root, a reserve (-o reserve=,
 * mkfs.tierfs --reserve): a full pool answers ENOSPC and stays usable.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tfs.h"

/* ---------------------------------------------------------------- dirs */

static size_t dhash_at(const struct tfs_dir *d, uint32_t h)
{
	return h & (d->dr_hsize - 1);
}

struct tfs_dir *tfs_dir_new(void)
{
	struct tfs_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->dr_hsize = 4;
	d->dr_hash = calloc(d->dr_hsize, sizeof(*d->dr_hash));
	if (!d->dr_hash) {
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
	free(d->dr_hash);
	free(d->dr_blk);
	free(d);
}

static void dhash_grow(struct tfs_dir *d)
{
	size_t n = d->dr_hsize * 2, i;
	struct tfs_dirent **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains; still correct */
	for (i = 0; i < d->dr_hsize; i++) {
		struct tfs_dirent *e = d->dr_hash[i], *next;

		for (; e; e = next) {
			size_t at = (uint32_t)tfs_hash_str(e->d_name, e->d_namelen) & (n - 1);

			next = e->d_hnext;
			e->d_hnext = b[at];
			b[at] = e;
		}
	}
	free(d->dr_hash);
	d->dr_hash = b;
	d->dr_hsize = n;
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
	uint32_t h = (uint32_t)tfs_hash_str(name, len);
	struct tfs_dirent *de;

	for (de = d->dr_hash[dhash_at(d, h)]; de; de = de->d_hnext)
		if (de->d_namelen == len && memcmp(de->d_name, name, len) == 0)
			return de;
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
	if (d->dr_cap > 64 && d->dr_len < d->dr_cap / 4) {
		struct tfs_dirent **e = realloc(d->dr_ents, d->dr_cap / 2 * sizeof(*e));

		if (e) {
			d->dr_ents = e;
			d->dr_cap /= 2;
		}
	}
}

/* room for one more entry in the array */
static int ents_room(struct tfs_dir *d)
{
	if (d->dr_len == d->dr_cap) {
		size_t cap = d->dr_cap ? d->dr_cap * 2 : 4;
		struct tfs_dirent **e = realloc(d->dr_ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		d->dr_ents = e;
		d->dr_cap = cap;
	}
	return 0;
}

/* a new entry at @cookie (0: the next one), not yet in the array or hash */
static struct tfs_dirent *dirent_new(struct tfs_dir *d, const char *name, size_t len, uint64_t ino,
				     uint64_t cookie)
{
	struct tfs_dirent *de = malloc(offsetof(struct tfs_dirent, d_name) + len + 1);

	if (!de)
		return NULL;
	memcpy(de->d_name, name, len);
	de->d_name[len] = 0;
	de->d_namelen = (uint16_t)len;
	de->d_ino = ino;
	de->d_cookie = cookie ? cookie : d->dr_next_cookie;
	if (de->d_cookie >= d->dr_next_cookie)
		d->dr_next_cookie = de->d_cookie + 1;
	return de;
}

/* @de, placed in the array, goes into the name hash */
static void dirent_hash(struct tfs_dir *d, struct tfs_dirent *de)
{
	uint32_t h = (uint32_t)tfs_hash_str(de->d_name, de->d_namelen);

	d->dr_live++;
	if (d->dr_live > d->dr_hsize)
		dhash_grow(d);
	de->d_hnext = d->dr_hash[dhash_at(d, h)];
	d->dr_hash[dhash_at(d, h)] = de;
}

int tfs_dir_add(struct tfs_dir *d, const char *name, size_t len, uint64_t ino, uint64_t cookie,
		struct tfs_dirent **out)
{
	struct tfs_dirent *de;
	size_t pos;

	if (ents_room(d) < 0 || !(de = dirent_new(d, name, len, ino, cookie)))
		return -ENOMEM;
	/* new cookies are the largest: append.  A journal replay may insert
	 * in any order, and the array must stay sorted past removed (NULL)
	 * slots. */
	pos = d->dr_len;
	if (cookie) {
		pos = tfs_dir_seek(d, de->d_cookie);
		memmove(d->dr_ents + pos + 1, d->dr_ents + pos, (d->dr_len - pos) * sizeof(*d->dr_ents));
	}
	d->dr_ents[pos] = de;
	d->dr_len++;
	dirent_hash(d, de);
	if (out)
		*out = de;
	return 0;
}

static void dhash_unlink(struct tfs_dir *d, struct tfs_dirent *de);

void tfs_dir_del(struct tfs_dir *d, struct tfs_dirent *de)
{
	size_t pos = tfs_dir_seek(d, de->d_cookie - 1);

	while (pos < d->dr_len && d->dr_ents[pos] != de)
		pos++;
	if (pos < d->dr_len)
		d->dr_ents[pos] = NULL;
	dhash_unlink(d, de);
	d->dr_live--;
	free(de);
	if (d->dr_len > 64 && d->dr_live < d->dr_len / 2)
		dir_compact(d);
}

static size_t blk_seek(const struct tfs_dir *d, uint64_t k)
{
	size_t lo = 0, hi = d->dr_nblk;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->dr_blk[mid].b_k < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tfs_dblk *tfs_dir_blk(const struct tfs_dir *d, uint64_t k)
{
	size_t i = blk_seek(d, k);

	return i < d->dr_nblk && d->dr_blk[i].b_k == k ? &d->dr_blk[i] : NULL;
}

/* room for one more block in @d's array: 0 or -ENOMEM */
static int blk_room(struct tfs_dir *d)
{
	size_t c;
	struct tfs_dblk *n;

	if (d->dr_nblk < d->dr_cblk)
		return 0;
	c = d->dr_cblk ? d->dr_cblk * 2 : 2;
	n = realloc(d->dr_blk, c * sizeof(*n));
	if (!n)
		return -ENOMEM;
	d->dr_blk = n;
	d->dr_cblk = c;
	return 0;
}

struct tfs_dblk *tfs_dir_blk_get(struct tfs_dir *d, uint64_t k)
{
	size_t i = blk_seek(d, k);

	if (i < d->dr_nblk && d->dr_blk[i].b_k == k)
		return &d->dr_blk[i];
	if (blk_room(d) < 0)
		return NULL;
	memmove(&d->dr_blk[i + 1], &d->dr_blk[i], (d->dr_nblk - i) * sizeof(*d->dr_blk));
	memset(&d->dr_blk[i], 0, sizeof(*d->dr_blk));
	d->dr_blk[i].b_k = k;
	d->dr_nblk++;
	return &d->dr_blk[i];
}

struct tfs_dblk *tfs_dir_blk_append(struct tfs_dir *d, uint64_t k)
{
	if (blk_room(d) < 0)
		return NULL;
	if (d->dr_nblk && d->dr_blk[d->dr_nblk - 1].b_k >= k)
		d->dr_unsorted = 1;
	memset(&d->dr_blk[d->dr_nblk], 0, sizeof(*d->dr_blk));
	d->dr_blk[d->dr_nblk].b_k = k;
	return &d->dr_blk[d->dr_nblk++];
}

int tfs_dir_append(struct tfs_dir *d, const char *name, size_t len, uint64_t ino,
		   uint64_t cookie, size_t *pos)
{
	struct tfs_dirent *de;

	if (ents_room(d) < 0 || !(de = dirent_new(d, name, len, ino, cookie)))
		return -ENOMEM;
	if (d->dr_len && (!d->dr_ents[d->dr_len - 1] ||
			  d->dr_ents[d->dr_len - 1]->d_cookie >= cookie))
		d->dr_unsorted = 1;
	*pos = d->dr_len;
	d->dr_ents[d->dr_len++] = de;
	dirent_hash(d, de);
	return 0;
}

static void dhash_unlink(struct tfs_dir *d, struct tfs_dirent *de)
{
	struct tfs_dirent **p;

	for (p = &d->dr_hash[dhash_at(d, (uint32_t)tfs_hash_str(de->d_name, de->d_namelen))]; *p;
	     p = &(*p)->d_hnext)
		if (*p == de) {
			*p = de->d_hnext;
			break;
		}
}

void tfs_dir_drop_at(struct tfs_dir *d, size_t pos)
{
	struct tfs_dirent *de = d->dr_ents[pos];

	if (!de)
		return;
	dhash_unlink(d, de);
	d->dr_ents[pos] = NULL;
	d->dr_unsorted = 1; /* compacted by tfs_dir_sort */
	d->dr_live--;
	free(de);
}

static int ent_cmp(const void *a, const void *b)
{
	const struct tfs_dirent *x = *(struct tfs_dirent *const *)a, *y = *(struct tfs_dirent *const *)b;

	return x->d_cookie < y->d_cookie ? -1 : x->d_cookie > y->d_cookie;
}

static int blk_cmp(const void *a, const void *b)
{
	const struct tfs_dblk *x = a, *y = b;

	return x->b_k < y->b_k ? -1 : x->b_k > y->b_k;
}

void tfs_dir_sort(struct tfs_dir *d)
{
	size_t i, j = 0;

	if (!d->dr_unsorted)
		return;
	for (i = 0; i < d->dr_len; i++)
		if (d->dr_ents[i])
			d->dr_ents[j++] = d->dr_ents[i];
	d->dr_len = j;
	if (d->dr_len)
		qsort(d->dr_ents, d->dr_len, sizeof(*d->dr_ents), ent_cmp);
	for (i = j = 0; i < d->dr_nblk; i++)
		if (d->dr_blk[i].b_k != TFS_DBLK_DEAD)
			d->dr_blk[j++] = d->dr_blk[i];
	d->dr_nblk = j;
	if (d->dr_nblk)
		qsort(d->dr_blk, d->dr_nblk, sizeof(*d->dr_blk), blk_cmp);
	d->dr_unsorted = 0;
}

void tfs_dir_blk_del(struct tfs_dir *d, struct tfs_dblk *b)
{
	size_t i = (size_t)(b - d->dr_blk);

	memmove(&d->dr_blk[i], &d->dr_blk[i + 1], (d->dr_nblk - i - 1) * sizeof(*d->dr_blk));
	d->dr_nblk--;
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

static size_t itab_at(const struct tfs_ns *ns, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 20) & (ns->itab_size - 1);
}

static void itab_grow(struct tfs_ns *ns)
{
	size_t n = ns->itab_size * 2, i, old = ns->itab_size;
	struct tfs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	ns->itab_size = n;
	for (i = 0; i < old; i++) {
		struct tfs_inode *in = ns->itab[i], *next;

		for (; in; in = next) {
			next = in->i_hnext;
			in->i_hnext = b[itab_at(ns, in->i_ino)];
			b[itab_at(ns, in->i_ino)] = in;
		}
	}
	free(ns->itab);
	ns->itab = b;
}

struct tfs_inode *tfs_inode_new(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_ns *ns = &fs->ns;
	struct tfs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->i_ino = ino;
	if (ns->ninodes >= ns->itab_size)
		itab_grow(ns);
	in->i_hnext = ns->itab[itab_at(ns, ino)];
	ns->itab[itab_at(ns, ino)] = in;
	ns->ninodes++;
	return in;
}

struct tfs_inode *tfs_inode_get(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in;

	for (in = fs->ns.itab[itab_at(&fs->ns, ino)]; in; in = in->i_hnext)
		if (in->i_ino == ino)
			return in;
	return NULL;
}

void tfs_inode_each(struct tfs_fs *fs, void (*fn)(void *arg, struct tfs_inode *in), void *arg)
{
	size_t b;

	for (b = 0; b < fs->ns.itab_size; b++) {
		struct tfs_inode *in, *next;

		for (in = fs->ns.itab[b]; in; in = next) {
			next = in->i_hnext; /* @fn may free it */
			fn(arg, in);
		}
	}
}

/*
 * Inode data locks prefer writers: with readers always in flight on a busy
 * file (a database, a benchmark at queue depth 16) a reader-preferring lock
 * would never let a writer or the migration engine's map flip in.  Nobody
 * takes an inode lock twice in one thread, which this kind requires.
 */
static pthread_rwlockattr_t rwlock_attr;
static pthread_once_t rwlock_once = PTHREAD_ONCE_INIT;

static void rwlock_attr_init(void)
{
	pthread_rwlockattr_init(&rwlock_attr);
	pthread_rwlockattr_setkind_np(&rwlock_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
}

int tfs_inode_hold(struct tfs_fs *fs, struct tfs_inode *in)
{
	(void)fs;
	if (!in->i_os) {
		pthread_once(&rwlock_once, rwlock_attr_init);
		in->i_os = calloc(1, sizeof(*in->i_os));
		if (!in->i_os)
			return -ENOMEM;
		pthread_rwlock_init(&in->i_os->os_lock, &rwlock_attr);
	}
	in->i_nopen++;
	return 0;
}

void tfs_inode_unhold(struct tfs_fs *fs, struct tfs_inode *in)
{
	if (--in->i_nopen == 0) {
		/* a read replies while it holds the data lock (the reply may
		 * point into a mapped device) and unlocks after: the release
		 * that the reply let the kernel send can get here first.  Wait
		 * for such a reader; nothing else can hold the lock without an
		 * open reference, and a reader past its reply takes no other
		 * lock, so waiting under the pool lock is safe. */
		pthread_rwlock_wrlock(&in->i_os->os_lock);
		pthread_rwlock_unlock(&in->i_os->os_lock);
		pthread_rwlock_destroy(&in->i_os->os_lock);
		free(in->i_os);
		in->i_os = NULL;
		tfs_inode_maybe_free(fs, in);
	}
}

/* ---------------------------------------------------------------- bookkeeping */

struct tfs_wbuf *tfs_jlog(struct tfs_fs *fs)
{
	return tfs_meta_jbuf(fs->meta);
}

void tfs_jlogged(struct tfs_fs *fs)
{
	tfs_meta_jlogged(fs->meta);
}

static void jd_add(struct tfs_fs *fs, uint64_t ino, uint64_t idx)
{
	struct tfs_ns *ns = &fs->ns;

	if (ns->njd == ns->cjd) {
		size_t c = ns->cjd ? ns->cjd * 2 : 256;
		struct tfs_jdirty *n = realloc(ns->jd, c * sizeof(*n));

		if (!n) {
			tfs_err("out of memory: a change of inode %llu waits for the next checkpoint",
				(unsigned long long)ino);
			return;
		}
		ns->jd = n;
		ns->cjd = c;
	}
	ns->jd[ns->njd].ino = ino;
	ns->jd[ns->njd].idx = idx;
	ns->njd++;
}

static uint32_t inode_est(const struct tfs_inode *in)
{
	const char *sl = tfs_isymlink(in);

	return 128 + (sl ? (uint32_t)strlen(sl) : 0);
}

/* ns.loading: 1 while the log is applied (it is the persisted state: no
 * bookkeeping at all), 2 while the journal is replayed (its changes must
 * reach the next checkpoint, but are journaled already) */
void tfs_inode_dirty(struct tfs_fs *fs, struct tfs_inode *in)
{
	if (fs->ns.loading == 1)
		return;
	tfs_meta_changed(fs->meta);
	if (!fs->ns.loading && !(in->i_flags & TFS_I_JDIRTY)) {
		in->i_flags |= TFS_I_JDIRTY;
		jd_add(fs, in->i_ino, TFS_JD_INODE);
		tfs_meta_jpend(fs->meta, inode_est(in));
	}
	if (!(in->i_flags & TFS_I_CDIRTY)) {
		struct tfs_ukey k = { .type = TFS_L_INODE, .ino = in->i_ino };

		in->i_flags |= TFS_I_CDIRTY;
		tfs_meta_dirty(fs->meta, &k, inode_est(in) + TFS_LREC_HDR);
	}
}


void tfs_cgroup_dirty(struct tfs_fs *fs, struct tfs_inode *in, uint64_t g)
{
	struct tier_cgroup *grp = tier_cmap_group(&in->i_map, g);

	if (fs->ns.loading == 1 || !grp)
		return;
	if (!grp->g_present) {
		/* its last chunk is gone */
		if (grp->g_lpos) {
			struct tfs_ukey k = { .type = TFS_L_DEL_CGROUP, .ino = in->i_ino, .sub = g };

			tfs_meta_tomb(fs->meta, &k, grp->g_lsize);
		}
		tier_cmap_group_drop(&in->i_map, g);
		return;
	}
	if (!(grp->g_flags & TIER_G_DIRTY)) {
		struct tfs_ukey k = { .type = TFS_L_CGROUP, .ino = in->i_ino, .sub = g };

		grp->g_flags |= TIER_G_DIRTY;
		tfs_meta_dirty(fs->meta, &k, TFS_CGROUP_EST);
	}
}

void tfs_chunk_dirty(struct tfs_fs *fs, struct tfs_inode *in, struct tfs_chunk *c)
{
	/* changed or moved: a copy left in a zone is no longer the chunk */
	if (c->c_flags & TIER_CHUNK_SHADOW)
		tfs_shadow_drop(fs, c);
	if (fs->ns.loading == 1)
		return;
	tfs_meta_changed(fs->meta);
	/* a move in progress sees the chunk changed; in rados the generation
	 * names the object, and any change of data moves the chunk out */
	if (fs->pool.sb.s_dev[c->c_dev].sd_class != TFS_CLASS_RADOS)
		c->c_wgen = ++fs->ns.wgen;
	tfs_cgroup_dirty(fs, in, c->c_idx >> TIER_GROUP_SHIFT);
	if (!fs->ns.loading && !(c->c_flags & TIER_CHUNK_JDIRTY)) {
		c->c_flags |= TIER_CHUNK_JDIRTY;
		jd_add(fs, in->i_ino, c->c_idx);
		tfs_meta_jpend(fs->meta, 48 + 4 * fs->pool.chunk_blocks);
	}
}

uint32_t tfs_chunk_ogen(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	return fs->pool.sb.s_dev[c->c_dev].sd_class == TFS_CLASS_RADOS && fs->pool.sb.s_version >= 7
		       ? c->c_wgen
		       : 0;
}

uint32_t tfs_obj_gen(struct tfs_fs *fs)
{
	uint32_t g = ++fs->ns.wgen;

	return g ? g : ++fs->ns.wgen;
}

void tfs_dblk_dirty(struct tfs_fs *fs, struct tfs_inode *dir, uint64_t cookie)
{
	struct tfs_dir *d = tfs_idir(dir);
	uint64_t k = cookie >> TFS_DIRBLK_SHIFT;
	struct tfs_dblk *b;
	size_t pos;
	int empty = 1;

	if (fs->ns.loading == 1 || !d)
		return;
	b = tfs_dir_blk_get(d, k);
	if (!b) {
		tfs_err("out of memory: directory %llu is persisted at the next checkpoint only if changed again",
			(unsigned long long)dir->i_ino);
		return;
	}
	/* any entry left in the block? */
	pos = tfs_dir_seek(d, (k << TFS_DIRBLK_SHIFT) ? (k << TFS_DIRBLK_SHIFT) - 1 : 0);
	for (; pos < d->dr_len; pos++) {
		struct tfs_dirent *de = d->dr_ents[pos];

		if (!de)
			continue;
		empty = de->d_cookie >> TFS_DIRBLK_SHIFT != k;
		break;
	}
	if (empty) {
		if (b->b_lpos) {
			struct tfs_ukey kk = { .type = TFS_L_DEL_DIRBLK, .ino = dir->i_ino, .sub = k };

			tfs_meta_tomb(fs->meta, &kk, b->b_lsize);
		}
		tfs_dir_blk_del(d, b);
		return;
	}
	if (!(b->b_flags & TFS_U_DIRTY)) {
		struct tfs_ukey kk = { .type = TFS_L_DIRBLK, .ino = dir->i_ino, .sub = k };

		b->b_flags |= TFS_U_DIRTY;
		tfs_meta_dirty(fs->meta, &kk, 64 * 40 + TFS_LREC_HDR);
	}
}

void tfs_xattrs_dirty(struct tfs_fs *fs, struct tfs_inode *in)
{
	struct tfs_xattrs *xs = in->i_xattrs;

	if (fs->ns.loading == 1 || !xs)
		return;
	if (!xs->xs_list) {
		/* none left */
		if (xs->xs_lpos) {
			struct tfs_ukey k = { .type = TFS_L_XATTRS, .ino = in->i_ino };

			/* an empty record replaces the old one: no tombstone type
			 * for xattrs, the unit just holds nothing */
			if (!(xs->xs_flags & TFS_U_DIRTY)) {
				xs->xs_flags |= TFS_U_DIRTY;
				tfs_meta_dirty(fs->meta, &k, 8 + TFS_LREC_HDR);
			}
			return;
		}
		free(xs);
		in->i_xattrs = NULL;
		return;
	}
	if (!(xs->xs_flags & TFS_U_DIRTY)) {
		struct tfs_ukey k = { .type = TFS_L_XATTRS, .ino = in->i_ino };

		xs->xs_flags |= TFS_U_DIRTY;
		tfs_meta_dirty(fs->meta, &k, xs->xs_bytes + 16 + TFS_LREC_HDR);
	}
}

int tfs_room(struct tfs_fs *fs, uint64_t bytes, uint32_t uid)
{
	const struct tier_alloc *a = &fs->pool.alloc;
	uint64_t need, keep;

	if (fs->ns.readonly)
		return -EROFS;
	if (tfs_meta_readonly(fs->meta))
		return -EIO;
	need = tfs_meta_log_slots(fs->meta, bytes);
	keep = uid ? (a->a_nslots_ip * fs->pool.reserve_pct + 99) / 100 : 0;
	return a->a_nfree_ip >= need + keep ? 0 : -ENOSPC;
}

int tfs_enospc_retry(struct tfs_fs *fs)
{
	int again = 0;
	size_t n;

	if (fs->ns.readonly)
		return 0;
	pthread_mutex_lock(&fs->lock);
	n = fs->ns.fpend_len;
	pthread_mutex_unlock(&fs->lock);
	/* zone copies kept after promotions are room the cleaner can take */
	if (tfs_shadows_drop_all(fs) > 0)
		n = 1;
	if (n && tfs_commit(fs) == 0)
		again = 1;
	if (tfs_meta_reclaim(fs->meta) > 0)
		again = 1;
	return again;
}

uint64_t tfs_data_room(struct tfs_fs *fs, uint32_t uid, int inplace)
{
	const struct tier_alloc *a = &fs->pool.alloc;
	uint64_t need = tfs_meta_log_slots(fs->meta, TFS_CGROUP_EST), keep, free;

	if (inplace) {
		keep = need + (uid ? (a->a_nslots_ip * fs->pool.reserve_pct + 99) / 100 : 0);
		free = a->a_nfree_ip;
	} else {
		keep = need + (uid ? (a->a_nslots * fs->pool.reserve_pct + 99) / 100 : 0);
		free = a->a_nfree;
	}
	return free > keep ? free - keep : 0;
}

/* ---------------------------------------------------------------- freeing */

static void fpend_add(struct tfs_fs *fs, uint16_t dev, uint64_t slot, const struct tfs_okey *k)
{
	struct tfs_ns *ns = &fs->ns;

	if (ns->fpend_len == ns->fpend_cap) {
		size_t cap = ns->fpend_cap ? ns->fpend_cap * 2 : 64;
		struct tfs_free_slot *p = realloc(ns->fpend, cap * sizeof(*p));

		if (!p) {
			tfs_warn("out of memory: a freed chunk slot stays in use until remount");
			return;
		}
		ns->fpend = p;
		ns->fpend_cap = cap;
	}
	ns->fpend[ns->fpend_len].dev = dev;
	ns->fpend[ns->fpend_len].slot = slot;
	ns->fpend[ns->fpend_len].key = k ? *k : (struct tfs_okey){ 0 };
	ns->fpend_len++;
}

void tfs_slot_free(struct tfs_fs *fs, uint16_t dev, uint64_t slot, const struct tfs_okey *k)
{
	fpend_add(fs, dev, slot, k);
	tfs_meta_changed(fs->meta);
}

/* a chunk leaves the pool: its slot is reusable after the next commit */
static void chunk_gone(struct tfs_fs *fs, struct tfs_chunk *c)
{
	tfs_intent_drop(fs, c);
	if (c->c_flags & TIER_CHUNK_SHADOW)
		tfs_shadow_drop(fs, c);
	/* the zone's reverse map must not name a freed chunk */
	tier_alloc_unbind(&fs->pool.alloc, c->c_dev, c->c_slot, c);
	if (!fs->ns.loading) {
		struct tfs_okey k = tfs_chunk_okey(c);

		fpend_add(fs, c->c_dev, c->c_slot, &k);
	}
	tier_chunk_free(&fs->pool.chunks, c);
}

void tfs_chunk_release(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, int log)
{
	struct tfs_chunk *c = tier_cmap_take(&in->i_map, idx);

	if (!c)
		return;
	in->i_map.m_blocks -= tier_chunk_count(c, fs->pool.chunk_blocks);
	if (!fs->ns.loading && log) {
		rec_chunk_free(tfs_jlog(fs), TFS_J_CHUNK_FREE, in->i_ino, idx);
		tfs_jlogged(fs);
	}
	tfs_meta_changed(fs->meta);
	chunk_gone(fs, c);
	tfs_cgroup_dirty(fs, in, idx >> TIER_GROUP_SHIFT);
}

void tfs_chunks_trunc(struct tfs_fs *fs, struct tfs_inode *in, uint64_t from)
{
	uint64_t g = from >> TIER_GROUP_SHIFT;
	struct tier_cgroup *grp;
	int any = 0;

	/* one walk over the groups from @from on; one record */
	while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
		uint64_t base = g << TIER_GROUP_SHIFT, mask = grp->g_present;

		if (base < from)
			mask &= ~((1ull << (from - base)) - 1);
		while (mask) {
			unsigned int bit = (unsigned int)__builtin_ctzll(mask);
			struct tfs_chunk *c = tier_cmap_take(&in->i_map, base + bit);

			mask &= mask - 1;
			in->i_map.m_blocks -= tier_chunk_count(c, fs->pool.chunk_blocks);
			chunk_gone(fs, c);
			any = 1;
		}
		tfs_cgroup_dirty(fs, in, g); /* tombstone, or the rest of the group */
		g++;
	}
	if (any && !fs->ns.loading) {
		rec_chunk_free(tfs_jlog(fs), TFS_J_CHUNK_TRUNC, in->i_ino, from);
		tfs_jlogged(fs);
	}
	if (any)
		tfs_meta_changed(fs->meta);
}

struct destroy_ctx {
	struct tfs_fs *fs;
	uint64_t bytes; /* of its units in the log */
	struct tier_cgroup *last;
};

static void destroy_chunk(void *arg, struct tfs_chunk *c, struct tier_cgroup *g)
{
	struct destroy_ctx *d = arg;

	if (g != d->last) {
		d->last = g;
		if (g->g_lpos)
			d->bytes += g->g_lsize;
	}
	chunk_gone(d->fs, c);
}

static void xattrs_free(struct tfs_xattrs *xs)
{
	struct tfs_xattr *x, *xn;

	if (!xs)
		return;
	for (x = xs->xs_list; x; x = xn) {
		xn = x->x_next;
		free(x->x_name);
		free(x->x_value);
		free(x);
	}
	free(xs);
}

void tfs_inode_destroy(struct tfs_fs *fs, struct tfs_inode *in)
{
	struct destroy_ctx d = { fs, 0, NULL };
	struct tfs_inode **p;
	struct tfs_dir *dir = tfs_idir(in);
	size_t i;

	/* one walk over the map, however big the file */
	tier_cmap_destroy(&in->i_map, destroy_chunk, &d);
	if (in->i_lpos)
		d.bytes += in->i_lsize;
	if (in->i_xattrs && in->i_xattrs->xs_lpos)
		d.bytes += in->i_xattrs->xs_lsize;
	for (i = 0; dir && i < dir->dr_nblk; i++)
		if (dir->dr_blk[i].b_lpos)
			d.bytes += dir->dr_blk[i].b_lsize;
	if (fs->ns.loading != 1) {
		if (!fs->ns.loading) {
			rec_ino(tfs_jlog(fs), TFS_J_INODE_FREE, in->i_ino);
			tfs_jlogged(fs);
		}
		if (in->i_lpos || d.bytes) {
			struct tfs_ukey k = { .type = TFS_L_DEL_INODE, .ino = in->i_ino };

			tfs_meta_tomb(fs->meta, &k, d.bytes);
		}
		tfs_meta_changed(fs->meta);
	}
	xattrs_free(in->i_xattrs);
	if (S_ISDIR(in->i_mode))
		tfs_dir_free(in->i_u.dir);
	else if (S_ISLNK(in->i_mode))
		free(in->i_u.symlink);
	for (p = &fs->ns.itab[itab_at(&fs->ns, in->i_ino)]; *p; p = &(*p)->i_hnext)
		if (*p == in) {
			*p = in->i_hnext;
			break;
		}
	fs->ns.ninodes--;
	if (in->i_os) {
		pthread_rwlock_destroy(&in->i_os->os_lock);
		free(in->i_os);
	}
	free(in);
}

void tfs_inode_maybe_free(struct tfs_fs *fs, struct tfs_inode *in)
{
	if (in->i_nlink == 0 && in->i_nlookup == 0 && in->i_nopen == 0 && in->i_ino != TFS_ROOT_INO)
		tfs_inode_destroy(fs, in);
}

/* ---------------------------------------------------------------- intents */

static uint64_t intent_key(const struct tfs_chunk *c)
{
	return (uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ull;
}

struct tfs_intent *tfs_intent_get(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	struct tfs_hnode *h;

	if (!(c->c_flags & TIER_CHUNK_INTENT_LIVE))
		return NULL;
	for (h = tfs_htab_find(&fs->ns.intents, intent_key(c)); h; h = tfs_htab_next(h)) {
		struct tfs_intent *it = tfs_container_of(h, struct tfs_intent, i_hn);

		if (it->i_c == c)
			return it;
	}
	return NULL;
}

static void lru_unlink(struct tfs_ns *ns, struct tfs_intent *it)
{
	if (it->i_prev)
		it->i_prev->i_next = it->i_next;
	else
		ns->ihead = it->i_next;
	if (it->i_next)
		it->i_next->i_prev = it->i_prev;
	else
		ns->itail = it->i_prev;
	it->i_prev = it->i_next = NULL;
}

static void lru_append(struct tfs_ns *ns, struct tfs_intent *it)
{
	it->i_prev = ns->itail;
	it->i_next = NULL;
	if (ns->itail)
		ns->itail->i_next = it;
	else
		ns->ihead = it;
	ns->itail = it;
}

static struct tfs_intent *intent_new(struct tfs_fs *fs, struct tfs_chunk *c)
{
	struct tfs_ns *ns = &fs->ns;
	struct tfs_intent *it;

	if (!ns->intents.t_b && tfs_htab_init(&ns->intents, 64) < 0)
		return NULL;
	it = calloc(1, sizeof(*it) + fs->pool.mask_words * sizeof(uint64_t));
	if (!it)
		return NULL;
	it->i_c = c;
	it->i_hn.h_key = intent_key(c);
	if (tfs_htab_insert(&ns->intents, &it->i_hn) < 0) {
		free(it);
		return NULL;
	}
	lru_append(ns, it);
	c->c_flags |= TIER_CHUNK_INTENT_LIVE;
	return it;
}

int tfs_intent_note(struct tfs_fs *fs, struct tfs_chunk *c, uint64_t now, const uint64_t *blocks)
{
	struct tfs_intent *it = tfs_intent_get(fs, c);
	int grew = 0;
	uint32_t w;

	if (!it) {
		it = intent_new(fs, c);
		if (!it)
			return -ENOMEM;
		grew = 1;
	} else {
		lru_unlink(&fs->ns, it);
		lru_append(&fs->ns, it);
	}
	it->i_written = now;
	for (w = 0; blocks && w < fs->pool.mask_words; w++) {
		grew |= (blocks[w] & ~it->i_mask[w]) != 0;
		it->i_mask[w] |= blocks[w];
	}
	return grew;
}

int tfs_intent_set(struct tfs_fs *fs, struct tfs_chunk *c, const uint64_t *mask)
{
	struct tfs_intent *it;

	if (!mask) {
		tfs_intent_drop(fs, c);
		return 0;
	}
	it = tfs_intent_get(fs, c);
	if (!it)
		it = intent_new(fs, c);
	if (!it)
		return -ENOMEM;
	memcpy(it->i_mask, mask, fs->pool.mask_words * sizeof(uint64_t));
	return 0;
}

void tfs_intent_drop(struct tfs_fs *fs, struct tfs_chunk *c)
{
	struct tfs_intent *it = tfs_intent_get(fs, c);

	c->c_flags &= (uint16_t)~TIER_CHUNK_INTENT_LIVE;
	if (!it)
		return;
	tfs_htab_remove(&fs->ns.intents, &it->i_hn);
	lru_unlink(&fs->ns, it);
	free(it);
}

void tfs_intents_expire(struct tfs_fs *fs, int all)
{
	struct tfs_ns *ns = &fs->ns;
	uint64_t now = tfs_now_ms();

	/* those the load found say which blocks a crash may have left with
	 * data their checksums do not describe: kept, whatever checkpoint or
	 * unmount comes first, until tfs_reseal has looked at them */
	if (ns->reseal_pending)
		return;
	/* least recently written first: stop at the first one still live */
	while (ns->ihead && (all || now - ns->ihead->i_written >= TFS_INTENT_MS)) {
		struct tfs_intent *it = ns->ihead;
		struct tfs_chunk *c = it->i_c;
		struct tfs_inode *in = tfs_inode_get(fs, c->c_ino);

		/* a file with a write under way (one stalled for longer than
		 * the expiry behind a slow device): dropped, the intent could
		 * be durable gone before the write lands.  It counts as
		 * written now. */
		if (!all && in && in->i_os &&
		    __atomic_load_n(&in->i_os->os_writes, __ATOMIC_ACQUIRE)) {
			lru_unlink(ns, it);
			lru_append(ns, it);
			it->i_written = now;
			continue;
		}
		tfs_intent_drop(fs, c);
		c->c_flags &= (uint16_t)~TIER_CHUNK_INTENT;
		if (in)
			tfs_chunk_dirty(fs, in, c); /* its record without the intent */
	}
}

void tfs_intents_clear(struct tfs_fs *fs)
{
	struct tfs_ns *ns = &fs->ns;

	while (ns->ihead) {
		struct tfs_intent *it = ns->ihead;

		ns->ihead = it->i_next;
		free(it);
	}
	ns->itail = NULL;
	tfs_htab_destroy(&ns->intents);
	memset(&ns->intents, 0, sizeof(ns->intents));
}

/* ---------------------------------------------------------------- stat */

void tfs_stat_fill(const struct tfs_fs *fs, const struct tfs_inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->i_ino;
	st->st_mode = in->i_mode;
	st->st_nlink = in->i_nlink;
	st->st_uid = in->i_uid;
	st->st_gid = in->i_gid;
	st->st_rdev = tfs_irdev(in);
	st->st_size = (off_t)in->i_size;
	st->st_blksize = (blksize_t)fs->pool.chunk_size;
	st->st_blocks = S_ISREG(in->i_mode) ? (blkcnt_t)(in->i_map.m_blocks * (TFS_BLOCK_SIZE / 512))
		      : S_ISDIR(in->i_mode) ? 8 : 0;
	st->st_atim = tfs_itime(in, TFS_AT);
	st->st_mtim = tfs_itime(in, TFS_MT);
	st->st_ctim = tfs_itime(in, TFS_CT);
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
	rec_dirent(tfs_jlog(fs), type, dir->i_ino, de->d_cookie, de->d_ino, de->d_name,
		   de->d_namelen);
	tfs_jlogged(fs);
}

static int name_ends(const char *name, size_t nl, const char *tail)
{
	size_t tl = strlen(tail);

	return nl >= tl && memcmp(name + nl - tl, tail, tl) == 0;
}

/*
 * Pool lock: what @in's name @name in directory @dir says of how long its
 * data lives, for the zone streams (tier_zone_life() decides first; this
 * breaks the tie).  Logs are rewritten, recycled or deleted soon: the
 * entries of pg_wal/ (PostgreSQL), SQLite's -wal and -journal files, *.log
 * (RocksDB's write-ahead log, most daemons' logs).  RocksDB's *.sst files
 * are written once and only read until compaction deletes them whole.
 */
void tfs_name_hint(struct tfs_inode *dir, struct tfs_inode *in, const char *name)
{
	size_t nl = strlen(name);

	if (dir)
		in->i_lparent = dir->i_ino;
	in->i_flags &= ~TFS_I_LIFE;
	if (S_ISDIR(in->i_mode)) {
		if (strcmp(name, "pg_wal") == 0 || strcmp(name, "pg_xlog") == 0)
			in->i_flags |= TFS_I_LOGDIR;
		return;
	}
	if (!S_ISREG(in->i_mode))
		return;
	if ((dir && (dir->i_flags & TFS_I_LOGDIR)) || name_ends(name, nl, "-wal") ||
	    name_ends(name, nl, "-journal") || name_ends(name, nl, ".log"))
		in->i_flags |= TFS_I_LIFE_SHORT;
	else if (name_ends(name, nl, ".sst"))
		in->i_flags |= TFS_I_LIFE_LONG;
}

int tfs_inode_path(struct tfs_fs *fs, const struct tfs_inode *in, char *buf, size_t len)
{
	char tmp[PATH_MAX];
	size_t pos = sizeof(tmp) - 1;
	uint64_t ino = in->i_ino, parent = S_ISDIR(in->i_mode) ? tfs_iparent(in) : in->i_lparent;
	unsigned int depth;

	tmp[pos] = 0;
	for (depth = 0; ino != TFS_ROOT_INO; depth++) {
		const struct tfs_inode *dir = tfs_inode_get(fs, parent);
		const struct tfs_dirent *de = NULL;
		size_t i;

		if (!dir || !S_ISDIR(dir->i_mode) || depth > 1024)
			return -ENOENT;
		for (i = 0; i < dir->i_u.dir->dr_len; i++) {
			de = dir->i_u.dir->dr_ents[i];
			if (de && de->d_ino == ino)
				break;
			de = NULL;
		}
		if (!de || de->d_namelen + 1u > pos)
			return -ENOENT;
		pos -= de->d_namelen;
		memcpy(tmp + pos, de->d_name, de->d_namelen);
		tmp[--pos] = '/';
		ino = parent;
		parent = tfs_iparent(dir);
	}
	if ((size_t)snprintf(buf, len, "%s", pos == sizeof(tmp) - 1 ? "/" : tmp + pos) >= len)
		return -ENAMETOOLONG;
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
	de = tfs_dir_lookup(dir->i_u.dir, name, strlen(name));
	in = de ? tfs_inode_get(fs, de->d_ino) : NULL;
	if (!in) {
		ret = -ENOENT;
		goto unlock;
	}
	in->i_nlookup++;
	tfs_name_hint(dir, in, name);
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
			    const void *val, size_t len, int flags, uint32_t uid);

int tfs_mknod(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, const char *symlink, struct stat *st)
{
	struct timespec now;
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	size_t nl = strlen(name), sl = symlink ? strlen(symlink) : 0;
	int ret = name_check(name);

	if (ret == 0)
		ret = tfs_meta_throttle(fs->meta);

	if (ret < 0)
		return ret;
	if (sl > TFS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	if (tfs_dir_lookup(dir->i_u.dir, name, nl)) {
		ret = -EEXIST;
		goto unlock;
	}
	/* the inode record, the entry, and maybe the pin it inherits */
	ret = tfs_room(fs, 2 * TFS_LREC_HDR + 160 + nl + sl + 32, ctx->uid);
	if (ret < 0)
		goto unlock;
	in = tfs_inode_new(fs, fs->ns.next_ino);
	if (!in) {
		ret = -ENOMEM;
		goto unlock;
	}
	fs->ns.next_ino++;
	in->i_mode = (uint32_t)mode;
	in->i_uid = ctx->uid;
	in->i_gid = ctx->gid;
	if (dir->i_mode & S_ISGID) {
		/* BSD group semantics for setgid directories */
		in->i_gid = dir->i_gid;
		if (S_ISDIR(mode))
			in->i_mode |= S_ISGID;
	}
	if (S_ISCHR(mode) || S_ISBLK(mode))
		in->i_u.rdev = rdev;
	in->i_nlink = 1;
	if (S_ISDIR(mode)) {
		in->i_u.dir = tfs_dir_new();
		in->i_nlink = 2;
		tfs_iparent_set(in, dir->i_ino);
	} else if (S_ISLNK(mode)) {
		in->i_u.symlink = strdup(symlink);
		in->i_size = sl;
	}
	if ((S_ISDIR(mode) && !in->i_u.dir) || (S_ISLNK(mode) && !in->i_u.symlink)) {
		ret = -ENOMEM;
		goto out_destroy;
	}
	tfs_touch(&now);
	tfs_itimes_set(in, TFS_T_A | TFS_T_M | TFS_T_C, now);
	ret = tfs_dir_add(dir->i_u.dir, name, nl, in->i_ino, 0, &de);
	if (ret < 0)
		goto out_destroy;
	log_dirent(fs, TFS_J_DIRENT_ADD, dir, de);
	tfs_dblk_dirty(fs, dir, de->d_cookie);
	/* files and directories made in a pinned directory are pinned alike */
	if ((S_ISDIR(mode) || S_ISREG(mode)) && tfs_inode_pin(dir) < TFS_CLASS_MAX) {
		const char *t = tfs_dev_class_str(tfs_inode_pin(dir));

		xattr_set_locked(fs, in, TFS_PIN_XATTR, t, strlen(t), 0, 0);
	}
	if (S_ISDIR(mode))
		dir->i_nlink++;
	tfs_itimes_set(dir, TFS_T_M | TFS_T_C, now);
	tfs_inode_dirty(fs, dir);
	tfs_inode_dirty(fs, in);
	in->i_nlookup++;
	tfs_name_hint(dir, in, name);
	tfs_stat_fill(fs, in, st);
	goto unlock;

out_destroy:
	in->i_nlink = 0;
	fs->ns.loading = 1; /* nothing of it was logged yet */
	tfs_inode_destroy(fs, in);
	fs->ns.loading = 0;
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

int tfs_link(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, uint64_t parent,
	     const char *name, struct stat *st)
{
	struct timespec now;
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	size_t nl = strlen(name);
	int ret = name_check(name);

	if (ret == 0)
		ret = tfs_meta_throttle(fs->meta);

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
	if (tfs_dir_lookup(dir->i_u.dir, name, nl)) {
		ret = -EEXIST;
		goto unlock;
	}
	ret = tfs_room(fs, TFS_LREC_HDR + 64 + nl, ctx->uid);
	if (ret == 0)
		ret = tfs_dir_add(dir->i_u.dir, name, nl, ino, 0, &de);
	if (ret < 0)
		goto unlock;
	log_dirent(fs, TFS_J_DIRENT_ADD, dir, de);
	tfs_dblk_dirty(fs, dir, de->d_cookie);
	in->i_nlink++;
	tfs_touch(&now);
	tfs_itime_set(in, TFS_CT, now);
	tfs_itimes_set(dir, TFS_T_M | TFS_T_C, now);
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
	tfs_itime_set(in, TFS_CT, *now);
	tfs_inode_dirty(fs, in);
}

/* pool lock held: remove entry @de of @dir, logged */
static void entry_del(struct tfs_fs *fs, struct tfs_inode *dir, struct tfs_dirent *de)
{
	uint64_t cookie = de->d_cookie;

	log_dirent(fs, TFS_J_DIRENT_DEL, dir, de);
	tfs_dir_del(dir->i_u.dir, de);
	tfs_dblk_dirty(fs, dir, cookie);
}

int tfs_unlink(struct tfs_fs *fs, uint64_t parent, const char *name, int isdir)
{
	struct tfs_inode *dir, *in;
	struct tfs_dirent *de;
	struct timespec now;
	int ret = name_check(name), synced = 0;

	if (ret == 0)
		ret = tfs_meta_throttle(fs->meta);

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->lock);
	ret = dir_get(fs, parent, &dir);
	if (ret < 0)
		goto unlock;
	if (fs->ns.readonly || tfs_meta_readonly(fs->meta)) {
		ret = fs->ns.readonly ? -EROFS : -EIO;
		goto unlock;
	}
	de = tfs_dir_lookup(dir->i_u.dir, name, strlen(name));
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
	if (isdir && in->i_u.dir->dr_live) {
		ret = -ENOTEMPTY;
		goto unlock;
	}
	entry_del(fs, dir, de);
	tfs_touch(&now);
	drop_link(fs, dir, in, &now);
	tfs_itimes_set(dir, TFS_T_M | TFS_T_C, now);
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
		ino = tfs_iparent(in);
	}
	return 1; /* a cycle: refuse */
}

/* pool lock held: the name of directory @in moves from @d1 to @d2 */
static void reparent(struct tfs_fs *fs, struct tfs_inode *d1, struct tfs_inode *d2,
		     struct tfs_inode *in)
{
	if (!S_ISDIR(in->i_mode) || d1 == d2)
		return;
	tfs_iparent_set(in, d2->i_ino);
	d1->i_nlink--;
	d2->i_nlink++;
}

/* pool lock: a whiteout inode (character device 0:0, mode 0, the caller's),
 * not yet in any directory: the caller links it */
static struct tfs_inode *whiteout_new(struct tfs_fs *fs, const struct tfs_ctx *ctx,
				      const struct timespec *now)
{
	struct tfs_inode *in = tfs_inode_new(fs, fs->ns.next_ino);

	if (!in)
		return NULL;
	fs->ns.next_ino++;
	in->i_mode = S_IFCHR;
	in->i_uid = ctx->uid;
	in->i_gid = ctx->gid;
	in->i_u.rdev = 0;
	in->i_nlink = 1;
	tfs_itimes_set(in, TFS_T_A | TFS_T_M | TFS_T_C, *now);
	return in;
}

int tfs_rename(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t p1, const char *n1,
	       uint64_t p2, const char *n2, unsigned int flags)
{
	struct tfs_inode *d1, *d2, *src, *dst = NULL, *wo = NULL;
	struct tfs_dirent *de1, *de2, *nde;
	size_t l1 = strlen(n1), l2 = strlen(n2);
	struct timespec now;
	int ret;

	ret = tfs_meta_throttle(fs->meta);
	if (ret < 0)
		return ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
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
		ret = tfs_room(fs, TFS_LREC_HDR + 64 + l2 +
					   ((flags & RENAME_WHITEOUT) ? TFS_LREC_HDR + 160 : 0),
			       ctx->uid);
	if (ret < 0)
		goto unlock;
	de1 = tfs_dir_lookup(d1->i_u.dir, n1, l1);
	src = de1 ? tfs_inode_get(fs, de1->d_ino) : NULL;
	if (!src) {
		ret = -ENOENT;
		goto unlock;
	}
	de2 = tfs_dir_lookup(d2->i_u.dir, n2, l2);
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
		log_dirent(fs, TFS_J_DIRENT_DEL, d1, de1);
		log_dirent(fs, TFS_J_DIRENT_DEL, d2, de2);
		de1->d_ino = dst->i_ino;
		de2->d_ino = src->i_ino;
		log_dirent(fs, TFS_J_DIRENT_ADD, d1, de1);
		log_dirent(fs, TFS_J_DIRENT_ADD, d2, de2);
		tfs_dblk_dirty(fs, d1, de1->d_cookie);
		tfs_dblk_dirty(fs, d2, de2->d_cookie);
		reparent(fs, d1, d2, src);
		reparent(fs, d2, d1, dst);
		tfs_itime_set(dst, TFS_CT, now);
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
		if (S_ISDIR(dst->i_mode) && dst->i_u.dir->dr_live) {
			ret = -ENOTEMPTY;
			goto unlock;
		}
	}
	/* RENAME_WHITEOUT (overlayfs): the old name is left to a whiteout, a
	 * character device 0:0, in the same change.  Its inode is made before
	 * anything changes; the old entry is pointed at it (no allocation) */
	if (flags & RENAME_WHITEOUT) {
		wo = whiteout_new(fs, ctx, &now);
		if (!wo) {
			ret = -ENOMEM;
			goto unlock;
		}
	}
	if (dst) {
		entry_del(fs, d2, de2);
		drop_link(fs, d2, dst, &now);
	}
	if (wo) {
		log_dirent(fs, TFS_J_DIRENT_DEL, d1, de1);
		de1->d_ino = wo->i_ino;
		log_dirent(fs, TFS_J_DIRENT_ADD, d1, de1);
		tfs_dblk_dirty(fs, d1, de1->d_cookie);
	} else {
		entry_del(fs, d1, de1);
	}
	ret = tfs_dir_add(d2->i_u.dir, n2, l2, src->i_ino, 0, &nde);
	if (ret < 0) {
		/* out of memory half way: put the old name back (same cookie space) */
		if (wo) {
			log_dirent(fs, TFS_J_DIRENT_DEL, d1, de1);
			de1->d_ino = src->i_ino;
			log_dirent(fs, TFS_J_DIRENT_ADD, d1, de1);
			wo->i_nlink = 0;
			fs->ns.loading = 1; /* nothing of it was logged yet */
			tfs_inode_destroy(fs, wo);
			fs->ns.loading = 0;
		} else if (tfs_dir_add(d1->i_u.dir, n1, l1, src->i_ino, 0, &nde) == 0) {
			log_dirent(fs, TFS_J_DIRENT_ADD, d1, nde);
			tfs_dblk_dirty(fs, d1, nde->d_cookie);
		}
		goto unlock;
	}
	if (wo)
		tfs_inode_dirty(fs, wo);
	log_dirent(fs, TFS_J_DIRENT_ADD, d2, nde);
	tfs_dblk_dirty(fs, d2, nde->d_cookie);
	reparent(fs, d1, d2, src);
	tfs_name_hint(d2, src, n2);
	if (dst)
		tfs_inode_maybe_free(fs, dst);
done:
	tfs_itime_set(src, TFS_CT, now);
	tfs_itimes_set(d1, TFS_T_M | TFS_T_C, now);
	tfs_itimes_set(d2, TFS_T_M | TFS_T_C, now);
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
	else if (!tfs_isymlink(in))
		ret = -EINVAL;
	else {
		snprintf(buf, size, "%s", in->i_u.symlink);
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

/* pool lock held: an xattr of @in changed; journal it, mark it, ctime */
static void xattr_logged(struct tfs_fs *fs, struct tfs_inode *in, unsigned int type, const char *name,
			 size_t nl, const void *val, size_t len)
{
	struct timespec now;

	rec_xattr(tfs_jlog(fs), type, in->i_ino, name, nl, val, len);
	tfs_jlogged(fs);
	tfs_xattrs_dirty(fs, in);
	tfs_touch(&now);
	tfs_itime_set(in, TFS_CT, now);
	tfs_inode_dirty(fs, in);
}

/* pool lock held: set xattr @name of @in and log it */
static int xattr_set_locked(struct tfs_fs *fs, struct tfs_inode *in, const char *name,
			    const void *val, size_t len, int flags, uint32_t uid)
{
	struct tfs_xattr *x, **p;
	struct tfs_xattrs *xs = in->i_xattrs;
	size_t nl = strlen(name), old = 0;
	uint8_t *nv;
	int ret;

	for (p = xs ? &xs->xs_list : NULL; p && *p; p = &(*p)->x_next)
		if ((*p)->x_namelen == nl && memcmp((*p)->x_name, name, nl) == 0)
			break;
	x = p ? *p : NULL;
	if (x && (flags & XATTR_CREATE))
		return -EEXIST;
	if (!x && (flags & XATTR_REPLACE))
		return -ENODATA;
	if (x)
		old = x->x_namelen + x->x_len;
	if ((xs ? xs->xs_bytes : 0) - old + nl + len > TFS_XATTRS_MAX)
		return -ENOSPC; /* like ext4 when an inode's xattrs fill their block */
	ret = tfs_room(fs, (xs ? xs->xs_bytes : 0) + nl + len + 64, uid);
	if (ret < 0)
		return ret;
	if (!xs) {
		xs = calloc(1, sizeof(*xs));
		if (!xs)
			return -ENOMEM;
		in->i_xattrs = xs;
		p = &xs->xs_list;
	}
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
		x->x_next = NULL;
		for (p = &xs->xs_list; *p; p = &(*p)->x_next)
			;
		*p = x;
	}
	free(x->x_value);
	x->x_value = nv;
	x->x_len = (uint32_t)len;
	xs->xs_bytes = (uint32_t)(xs->xs_bytes - old + nl + len);
	xattr_logged(fs, in, TFS_J_XATTR_SET, name, nl, val, len);
	return 0;
}

/* pool lock held: a pin changed, the engine looks at it now */
static void pin_changed(struct tfs_fs *fs)
{
	if (fs->eng.running)
		tier_engine_kick(&fs->eng, 0);
}

/*
 * Pool lock held: may @ctx pin @in to class @cls (TFS_CLASS_MAX: unpin)?
 * A pin is the owner's (or root's) to set or take off.  Pinning to a tier
 * faster than the pool's slowest keeps data where automatic placement
 * might not: it displaces other users' hot data, so it is root's, the
 * -o pin_group's, or within the owner's -o pin_quota of that tier.  Anyone
 * may pin their own files to the slowest tier.
 */
static int pin_allowed(struct tfs_fs *fs, const struct tfs_ctx *ctx, const struct tfs_inode *in,
		       unsigned int cls)
{
	uint64_t bytes;

	if (ctx->uid == 0)
		return 0;
	if (ctx->uid != in->i_uid)
		return -EPERM;
	if (cls == TFS_CLASS_MAX || cls >= tfs_slowest_class(fs))
		return 0;
	/* a faster tier: -o pin_group, or within -o pin_quota (what the last
	 * migration pass counted of the owner's pins, and this file) */
	bytes = tfs_inode_pin(in) == cls ? 0 : (uint64_t)in->i_map.m_count << fs->pool.chunk_shift;
	return tfs_pin_quota_check(fs, ctx->uid, ctx->pin_group, cls, bytes);
}

int tfs_xattr_set(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, const char *name,
		  const void *val, size_t len, int flags)
{
	struct tfs_inode *in;
	int ret = xattr_name_check(name), pin = !strcmp(name, TFS_PIN_XATTR);

	if (ret == 0)
		ret = tfs_meta_throttle(fs->meta);

	if (ret < 0)
		return ret;
	if (len > TFS_XATTR_SIZE_MAX)
		return -E2BIG;
	/* the pin names a tier, nothing else */
	if (pin && tfs_pin_parse(val, len) < 0)
		return -EINVAL;
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = in ? 0 : -ESTALE;
	if (in && pin)
		ret = pin_allowed(fs, ctx, in, (unsigned int)tfs_pin_parse(val, len));
	if (ret == 0)
		ret = xattr_set_locked(fs, in, name, val, len, flags, ctx->uid);
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
	for (x = in && in->i_xattrs ? in->i_xattrs->xs_list : NULL; x; x = x->x_next) {
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
	struct tfs_xattr *x, *first;
	struct tfs_inode *in;
	size_t need = 0;
	int ret;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in) {
		ret = -ESTALE;
		goto unlock;
	}
	first = in->i_xattrs ? in->i_xattrs->xs_list : NULL;
	for (x = first; x; x = x->x_next)
		need += x->x_namelen + 1;
	ret = (int)need;
	if (!size)
		goto unlock;
	if (size < need) {
		ret = -ERANGE;
		goto unlock;
	}
	for (x = first; x; x = x->x_next) {
		memcpy(buf, x->x_name, x->x_namelen);
		buf[x->x_namelen] = 0;
		buf += x->x_namelen + 1;
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* pool lock held: remove xattr @name of @in and log it; -ENODATA if none */
static int xattr_remove_locked(struct tfs_fs *fs, struct tfs_inode *in, const char *name)
{
	size_t nl = strlen(name);
	struct tfs_xattr **p, *x;

	for (p = in->i_xattrs ? &in->i_xattrs->xs_list : NULL; p && *p; p = &(*p)->x_next) {
		x = *p;
		if (x->x_namelen != nl || memcmp(x->x_name, name, nl))
			continue;
		*p = x->x_next;
		in->i_xattrs->xs_bytes -= x->x_namelen + x->x_len;
		free(x->x_name);
		free(x->x_value);
		free(x);
		xattr_logged(fs, in, TFS_J_XATTR_DEL, name, nl, NULL, 0);
		return 0;
	}
	return -ENODATA;
}

int tfs_xattr_remove(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, const char *name)
{
	struct tfs_inode *in;
	int ret = xattr_name_check(name);

	if (ret == 0)
		ret = tfs_meta_throttle(fs->meta);

	if (ret < 0)
		return ret == -ERANGE ? -ENODATA : ret;
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = in ? -ENODATA : -ESTALE;
	if (in && (fs->ns.readonly || tfs_meta_readonly(fs->meta)))
		ret = fs->ns.readonly ? -EROFS : -EIO;
	if (ret == -ENODATA && !strcmp(name, TFS_PIN_XATTR) &&
	    pin_allowed(fs, ctx, in, TFS_CLASS_MAX) < 0)
		ret = -EPERM;
	if (ret == -ENODATA)
		ret = xattr_remove_locked(fs, in, name);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

#define CAP_XATTR "security.capability"

/* pool lock held: what a write, truncate or chown by a caller without
 * CAP_FSETID takes away, as the VFS does: setuid, setgid of a
 * group-executable file, file capabilities.  The kernel leaves it to the
 * file system on a HANDLE_KILLPRIV_V2 connection. */
int tfs_kill_priv_locked(struct tfs_fs *fs, struct tfs_inode *in)
{
	uint32_t mode = in->i_mode & ~(uint32_t)S_ISUID;
	struct timespec now;
	int changed = 0;

	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		mode &= ~(uint32_t)S_ISGID;
	if (mode != in->i_mode) {
		in->i_mode = mode;
		tfs_touch(&now);
		tfs_itime_set(in, TFS_CT, now);
		tfs_inode_dirty(fs, in);
		changed = 1;
	}
	/* (a removed xattr stamps ctime and marks the inode itself) */
	if (in->i_xattrs && xattr_remove_locked(fs, in, CAP_XATTR) == 0)
		changed = 1;
	return changed;
}

int tfs_kill_priv(struct tfs_fs *fs, struct tfs_inode *in)
{
	int ret = 0;

	/* the common case: nothing to kill, nothing to lock (a stale look
	 * misses only a change racing with this very write) */
	if (!(__atomic_load_n(&in->i_mode, __ATOMIC_RELAXED) & (S_ISUID | S_ISGID)) &&
	    !__atomic_load_n(&in->i_xattrs, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&fs->lock);
	if (fs->ns.readonly || tfs_meta_readonly(fs->meta))
		ret = fs->ns.readonly ? -EROFS : -EIO;
	else
		ret = tfs_kill_priv_locked(fs, in);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/* ---------------------------------------------------------------- open, sync */

int tfs_open(struct tfs_fs *fs, uint64_t ino, struct tfs_inode **out)
{
	struct tfs_inode *in;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in)
		ret = -ESTALE;
	else
		ret = tfs_inode_hold(fs, in);
	if (ret == 0)
		*out = in;
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

void tfs_release(struct tfs_fs *fs, struct tfs_inode *in)
{
	pthread_mutex_lock(&fs->lock);
	tfs_inode_unhold(fs, in);
	pthread_mutex_unlock(&fs->lock);
}

int tfs_sync(struct tfs_fs *fs)
{
	if (fs->ns.readonly)
		return 0;
	return tfs_meta_sync(fs->meta);
}

int tfs_fsync(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (in)
		in->i_flags |= TFS_I_SYNCED;
	pthread_mutex_unlock(&fs->lock);
	return tfs_sync(fs);
}

/* ---------------------------------------------------------------- orphans */

struct orphans {
	struct tfs_fs *fs;
	unsigned int n;
};

static void orphan_one(void *arg, struct tfs_inode *in)
{
	struct orphans *o = arg;

	/* an inode without names is only alive through kernel references and
	 * open files; at mount and at unmount there are none, so it is an
	 * orphan of an unlink-while-open (or of a daemon killed meanwhile) */
	if (in->i_nlink == 0 && in->i_ino != TFS_ROOT_INO && in->i_nopen == 0) {
		tfs_inode_destroy(o->fs, in);
		o->n++;
	}
}

unsigned int tfs_free_orphans(struct tfs_fs *fs)
{
	struct orphans o = { fs, 0 };

	pthread_mutex_lock(&fs->lock);
	tfs_inode_each(fs, orphan_one, &o);
	pthread_mutex_unlock(&fs->lock);
	if (o.n)
		tfs_info("freed %u orphaned inode%s (unlinked while open)", o.n, o.n == 1 ? "" : "s");
	return o.n;
}

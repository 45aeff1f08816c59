/*
 * src/scrub.c - the online scrub: every data block of every file read back
 * from its device and checked against its checksum while the pool is in
 * use (tierfsctl scrub).
 *
 * One thread walks the directory tree from the root, so that each damaged
 * block is named by a path: a directory's entries are copied under the
 * pool lock and the lock is dropped before its files are read.  A file is
 * read a MiB at a time through the ordinary read path (the inode's read
 * lock, the checksums of file.c), a MiB that fails again a block at a time
 * to name each bad block with its device and device offset.  Files reached
 * by a second hard link are read once (a set of inode numbers).  The pace
 * is held to a rate (MB/s); progress and findings are read by the control
 * socket at any time.  Then the metadata: every redundant copy that
 * fsck.tierfs checks (checkpoint headers, both copies of every log page
 * and checksum page, the older journal half), with checkpoints held off
 * meanwhile (tfs_meta_scrub); the newer journal half is being written and
 * was checked by the mount's replay.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"

#define SCRUB_MAX_BAD 1000 /* findings kept (all are counted) */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------ a set of inode numbers */

struct iset {
	uint64_t *v;
	size_t cap, n;
};

/* 1 if @ino was not in the set (and is now), 0 if it was, -ENOMEM */
static int iset_add(struct iset *s, uint64_t ino)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap) {
		struct iset t = { calloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)), 0, 0 };

		if (!t.v)
			return -ENOMEM;
		t.cap = s->cap ? s->cap * 2 : 1024;
		for (i = 0; i < s->cap; i++)
			if (s->v[i])
				iset_add(&t, s->v[i]);
		free(s->v);
		*s = t;
	}
	for (i = (ino * 0x9e3779b97f4a7c15ull) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == ino)
			return 0;
	s->v[i] = ino;
	s->n++;
	return 1;
}

/* ------------------------------------------------------------ the walk */

struct sentry {
	uint64_t ino;
	char *path;
};

struct sstack {
	struct sentry *e;
	size_t n, cap;
};

static int push(struct sstack *s, uint64_t ino, const char *dir, const char *name, size_t nl)
{
	size_t dl = strlen(dir);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return -ENOMEM;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl);
	p[dl + 1 + nl] = 0;
	if (s->n == s->cap) {
		struct sentry *e = realloc(s->e, (s->cap = s->cap * 2 + 64) * sizeof(*e));

		if (!e) {
			free(p);
			return -ENOMEM;
		}
		s->e = e;
	}
	s->e[s->n].ino = ino;
	s->e[s->n].path = p;
	s->n++;
	return 0;
}

static void note_bad(struct tfs_scrub *sc, struct tfs_fs *fs, struct tfs_inode *in,
		     const char *path, uint64_t off)
{
	struct tfs_scrub_bad b = { .ino = in->i_ino, .off = off, .dev = UINT_MAX };
	const struct tfs_chunk *c;

	pthread_rwlock_rdlock(TFS_ILOCK(in));
	c = tier_cmap_get(&in->i_map, off >> fs->pool.chunk_shift);
	if (c) {
		b.dev = c->c_dev;
		b.dev_off = tfs_slot_off(fs, c->c_dev, c->c_slot) +
			    (off & (fs->pool.chunk_size - 1));
	}
	pthread_rwlock_unlock(TFS_ILOCK(in));
	snprintf(b.path, sizeof(b.path), "%s", path);
	pthread_mutex_lock(&sc->lock);
	sc->bad++;
	if (sc->nbad < SCRUB_MAX_BAD)
		sc->bads[sc->nbad++] = b;
	pthread_mutex_unlock(&sc->lock);
}

/* hold the pace: @bytes more read since the start */
static void pace(struct tfs_scrub *sc)
{
	uint64_t rate = __atomic_load_n(&sc->rate_mbps, __ATOMIC_RELAXED), due, now;

	if (!rate)
		return;
	due = sc->t_start_ms + __atomic_load_n(&sc->read_bytes, __ATOMIC_RELAXED) / (rate * 1000);
	now = mono_ms();
	if (due > now)
		usleep((useconds_t)((due - now) * 1000));
}

static void scrub_file(struct tfs_scrub *sc, struct tfs_fs *fs, uint64_t ino, const char *path,
		       uint8_t *buf)
{
	struct tfs_inode *in;
	uint64_t off, size;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in || !S_ISREG(in->i_mode) || tfs_inode_hold(fs, in) < 0) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	size = in->i_size;
	pthread_mutex_unlock(&fs->lock);
	for (off = 0; off < size && !__atomic_load_n(&sc->stop, __ATOMIC_RELAXED); off += 1u << 20) {
		ssize_t n = tfs_read(fs, in, off, 1u << 20, buf);

		if (n <= 0 && n != -EIO)
			break; /* truncated meanwhile, or out of memory */
		if (n < 0) {
			uint64_t o;

			for (o = off; o < off + (1u << 20) && o < size; o += TFS_BLOCK_SIZE)
				if (tfs_read(fs, in, o, TFS_BLOCK_SIZE, buf) == -EIO)
					note_bad(sc, fs, in, path, o);
		}
		__atomic_fetch_add(&sc->read_bytes, n > 0 ? (uint64_t)n : 1u << 20, __ATOMIC_RELAXED);
		pace(sc);
	}
	pthread_mutex_lock(&fs->lock);
	tfs_inode_unhold(fs, in);
	pthread_mutex_unlock(&fs->lock);
	__atomic_fetch_add(&sc->files, 1, __ATOMIC_RELAXED);
}

/* the bytes of all files, for the progress: the inode table a slice of
 * 4096 buckets at a time under the pool lock, so requests go on meanwhile
 * (a table resized between slices makes it an estimate) */
static uint64_t sum_bytes(struct tfs_fs *fs)
{
	uint64_t total = 0;
	size_t b = 0, end;

	for (;;) {
		pthread_mutex_lock(&fs->lock);
		if (b >= fs->ns.itab_size) {
			pthread_mutex_unlock(&fs->lock);
			return total;
		}
		for (end = b + 4096; b < end && b < fs->ns.itab_size; b++)
			for (struct tfs_inode *in = fs->ns.itab[b]; in; in = in->i_hnext)
				if (S_ISREG(in->i_mode))
					total += in->i_map.m_blocks * TFS_BLOCK_SIZE;
		pthread_mutex_unlock(&fs->lock);
	}
}

/* every redundant copy of the metadata: checkpoint headers, both copies of
 * every log page, both copies of every checksum page, the older journal
 * half (src/meta: checkpoints wait meanwhile) */
static void scrub_meta(struct tfs_scrub *sc, struct tfs_fs *fs)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned int bad;

	if (!f)
		return;
	bad = tfs_meta_scrub(fs->meta, f);
	fclose(f);
	if (bad)
		tfs_err("scrub: %u damaged metadata cop%s: %s", bad, bad == 1 ? "y" : "ies",
			text ? text : "");
	pthread_mutex_lock(&sc->lock);
	free(sc->meta_report);
	sc->meta_report = text;
	sc->meta_bad = bad;
	sc->meta_done = 1;
	pthread_mutex_unlock(&sc->lock);
}

static void *scrub_main(void *arg)
{
	struct tfs_fs *fs = arg;
	struct tfs_scrub *sc = fs->scrub;
	struct sstack st = { NULL, 0, 0 };
	struct iset seen = { NULL, 0, 0 };
	uint8_t *buf = tfs_io_alloc((1u << 20) + 2 * TFS_BLOCK_SIZE);
	int ret = buf ? push(&st, TFS_ROOT_INO, "", "", 0) : -ENOMEM;

	__atomic_store_n(&sc->total_bytes, sum_bytes(fs), __ATOMIC_RELAXED);
	if (ret == 0)
		st.e[0].path[0] = 0; /* the root: "" + "/" + names */
	while (ret == 0 && st.n && !__atomic_load_n(&sc->stop, __ATOMIC_RELAXED)) {
		struct sentry d = st.e[--st.n];
		struct tfs_inode *dir;
		struct sstack files = { NULL, 0, 0 };
		size_t i;

		pthread_mutex_lock(&fs->lock);
		dir = tfs_inode_get(fs, d.ino);
		for (i = 0; dir && S_ISDIR(dir->i_mode) && i < dir->i_u.dir->dr_len && ret == 0; i++) {
			const struct tfs_dirent *de = dir->i_u.dir->dr_ents[i];
			const struct tfs_inode *in = de ? tfs_inode_get(fs, de->d_ino) : NULL;

			if (!in)
				continue;
			if (S_ISDIR(in->i_mode))
				ret = push(&st, de->d_ino, d.path, de->d_name, de->d_namelen);
			else if (S_ISREG(in->i_mode) && iset_add(&seen, de->d_ino) != 0)
				ret = push(&files, de->d_ino, d.path, de->d_name, de->d_namelen);
		}
		pthread_mutex_unlock(&fs->lock);
		for (i = 0; i < files.n; i++) {
			if (ret == 0 && !__atomic_load_n(&sc->stop, __ATOMIC_RELAXED))
				scrub_file(sc, fs, files.e[i].ino, files.e[i].path, buf);
			free(files.e[i].path);
		}
		free(files.e);
		free(d.path);
	}
	while (st.n)
		free(st.e[--st.n].path);
	free(st.e);
	free(seen.v);
	tfs_io_free(buf);
	if (ret == 0 && !__atomic_load_n(&sc->stop, __ATOMIC_RELAXED))
		scrub_meta(sc, fs);
	pthread_mutex_lock(&sc->lock);
	sc->error = ret;
	sc->t_end_ms = mono_ms();
	sc->state = __atomic_load_n(&sc->stop, __ATOMIC_RELAXED) ? TFS_SCRUB_STOPPED : TFS_SCRUB_DONE;
	pthread_mutex_unlock(&sc->lock);
	tfs_io_thread_exit();
	return NULL;
}

int tfs_scrub_start(struct tfs_fs *fs, unsigned int rate_mbps)
{
	struct tfs_scrub *sc = fs->scrub;

	if (!sc) {
		sc = calloc(1, sizeof(*sc));
		if (!sc)
			return -ENOMEM;
		pthread_mutex_init(&sc->lock, NULL);
		fs->scrub = sc;
	}
	pthread_mutex_lock(&sc->lock);
	if (sc->state == TFS_SCRUB_RUNNING) {
		pthread_mutex_unlock(&sc->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&sc->lock);
	if (sc->joinable)
		pthread_join(sc->thread, NULL);
	sc->joinable = 0;
	free(sc->bads);
	sc->bads = calloc(SCRUB_MAX_BAD, sizeof(*sc->bads));
	if (!sc->bads)
		return -ENOMEM;
	sc->nbad = 0;
	free(sc->meta_report);
	sc->meta_report = NULL;
	sc->meta_bad = 0;
	sc->meta_done = 0;
	sc->bad = sc->files = sc->read_bytes = sc->total_bytes = 0;
	sc->error = 0;
	sc->stop = 0;
	sc->rate_mbps = rate_mbps;
	sc->t_start_ms = mono_ms();
	sc->t_end_ms = 0;
	sc->state = TFS_SCRUB_RUNNING;
	if (pthread_create(&sc->thread, NULL, scrub_main, fs) != 0) {
		sc->state = TFS_SCRUB_IDLE;
		return -EAGAIN;
	}
	sc->joinable = 1;
	return 0;
}

void tfs_scrub_stop(struct tfs_fs *fs)
{
	struct tfs_scrub *sc = fs->scrub;

	if (!sc)
		return;
	__atomic_store_n(&sc->stop, 1, __ATOMIC_RELAXED);
	if (sc->joinable)
		pthread_join(sc->thread, NULL);
	sc->joinable = 0;
	free(sc->bads);
	free(sc->meta_report);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
	fs->scrub = NULL;
}

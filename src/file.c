/*
 * src/file.c - file data: byte ranges to chunk I/O.
 *
 * A request is cut at TFS_BLOCK_SIZE boundaries into runs of blocks that are
 * contiguous on one device (a run never leaves a chunk, since a chunk is one
 * slot).  All device I/O of one request is submitted together and waited for
 * once (tfs_io_run).  Every device transfer is block aligned and goes through
 * an aligned per-thread bounce buffer: FUSE hands payloads over at arbitrary
 * addresses and sizes, the devices are O_DIRECT.
 *
 * Checksums: every data block has one, kept by the metadata layer per chunk
 * slot (tfs_cs_get / tfs_cs_put): reads fetch those of the blocks they read
 * (from its cache, or one read of a checksum page) and verify each block;
 * a mismatch is EIO and a log line.  A chunk that moves to another slot
 * takes its checksums along; a slot that starts a new chunk forgets the old
 * ones (tfs_cs_reset).
 *
 * Writes: blocks only partly covered are read first (and verified), the new
 * bytes are merged, every written block gets a fresh checksum, and only after
 * the writes completed are the chunk's mask and checksums updated and the
 * chunk put on the commit list.  The journal therefore never describes data
 * that is not on the device (data=ordered).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tfs.h"

#define MAX_RUNS 512 /* I/O requests of one batch */
#define IO_MAX (1u << 20) /* bytes moved per batch */
#define CHUNK_BLOCKS_MAX 1024 /* 4 MiB chunks */

static uint64_t round_down(uint64_t v)
{
	return v & ~(uint64_t)(TFS_BLOCK_SIZE - 1);
}

static uint64_t round_up(uint64_t v)
{
	return round_down(v + TFS_BLOCK_SIZE - 1);
}

size_t tfs_read_span(uint64_t off, size_t size)
{
	return (size_t)(round_up(off + size) - round_down(off));
}

static uint64_t dev_off(const struct tfs_fs *fs, const struct tfs_chunk *c, uint32_t b)
{
	return tfs_slot_off(fs, c->c_dev, c->c_slot) + (uint64_t)b * TFS_BLOCK_SIZE;
}

static int on_map(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	return fs->pool.dev[c->c_dev].d_map != NULL;
}

/* where block @b of chunk @c is in its device's mapping */
static const uint8_t *map_addr(const struct tfs_fs *fs, const struct tfs_chunk *c, uint32_t b)
{
	return fs->pool.dev[c->c_dev].d_map + dev_off(fs, c, b);
}

static unsigned int c_class(const struct tfs_fs *fs, unsigned int dev)
{
	return fs->pool.alloc.a_dev[dev].a_class;
}

static int on_zone(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	return fs->zns.spz[c->c_dev] != 0;
}

/* a chunk never overwritten in place: in a zone, or an object in rados
 * (a write makes a new copy of it: cow_stage) */
static int out_of_place(const struct tfs_fs *fs, const struct tfs_chunk *c)
{
	return fs->zns.spz[c->c_dev] != 0 || fs->pool.alloc.a_dev[c->c_dev].a_cold;
}

/* does the pool have devices whose chunks are copied, not overwritten? */
static int pool_cow(const struct tfs_fs *fs)
{
	unsigned int d;

	for (d = 0; d < fs->pool.ndev; d++)
		if (fs->zns.spz[d] || fs->pool.alloc.a_dev[d].a_cold)
			return 1;
	return 0;
}

static int pool_zoned(const struct tfs_fs *fs)
{
	unsigned int d;

	for (d = 0; d < fs->pool.ndev; d++)
		if (fs->zns.spz[d])
			return 1;
	return 0;
}

int tfs_chunk_csums(struct tfs_fs *fs, const struct tfs_chunk *c, uint32_t b0, uint32_t n,
		    uint32_t *out)
{
	int ret = tfs_cs_get(fs->meta, c->c_dev, c->c_slot, b0, n, c->c_mask, out);

	static struct tfs_ratelimit rl = TFS_RATELIMIT_INIT;

	if (ret == -EIO)
		tfs_log_rl(&rl, TFS_LOG_ERR, "checksums of chunk %u of inode %llu (%s slot %llu) are lost: its data reads as EIO",
			c->c_idx, (unsigned long long)c->c_ino, fs->pool.dev[c->c_dev].d_path,
			(unsigned long long)c->c_slot);
	return ret;
}

#define PLAN_SKIP_MAPPED (1u << 0) /* reads: leave blocks on mapped devices alone */
#define PLAN_SKIP_ZONED (1u << 1)  /* writes: leave chunks in zones or rados alone */

/*
 * Collect I/O for the blocks [fb, fb+n) of @in into @reqs against @buf (block
 * 0 of @buf is file block @fb).  Reads skip holes (zero-filled here); writes
 * cover every block.  Returns the number of requests.
 */
static unsigned int plan_io_flags(struct tfs_fs *fs, struct tfs_inode *in, unsigned int op,
				  uint64_t fb, uint64_t n, uint8_t *buf, struct tfs_io_req *reqs,
				  unsigned int flags)
{
	uint32_t cb = fs->pool.chunk_blocks;
	unsigned int nr = 0;
	uint64_t i = 0;

	while (i < n) {
		uint64_t blk = fb + i, idx = blk / cb;
		uint32_t b = (uint32_t)(blk % cb);
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
		uint32_t run = 0;

		if (!c || (op == TFS_IO_READ && !tier_chunk_has(c, b))) {
			if (op == TFS_IO_READ)
				memset(buf + i * TFS_BLOCK_SIZE, 0, TFS_BLOCK_SIZE);
			i++;
			continue;
		}
		if (((flags & PLAN_SKIP_MAPPED) && on_map(fs, c)) ||
		    ((flags & PLAN_SKIP_ZONED) && out_of_place(fs, c))) {
			i++;
			continue;
		}
		while (i + run < n && b + run < cb && (op == TFS_IO_WRITE || tier_chunk_has(c, b + run)))
			run++;
		reqs[nr] = (struct tfs_io_req){
			.r_dev = &fs->pool.dev[c->c_dev],
			.r_op = op,
			.r_buf = buf + i * TFS_BLOCK_SIZE,
			.r_len = run * TFS_BLOCK_SIZE,
			.r_off = dev_off(fs, c, b),
			.r_key = tfs_chunk_okey(c), /* (only rados looks at it) */
		};
		nr++;
		i += run;
	}
	return nr;
}

static unsigned int plan_io(struct tfs_fs *fs, struct tfs_inode *in, unsigned int op,
			    uint64_t fb, uint64_t n, uint8_t *buf, struct tfs_io_req *reqs)
{
	return plan_io_flags(fs, in, op, fb, n, buf, reqs, 0);
}

/* set while this thread moves chunks: its I/O is not the users' */
static __thread int moving;

/* per-device counters (tierfsctl status) */
static void count_io(struct tfs_fs *fs, const struct tfs_io_req *reqs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct tfs_dstat *st = &fs->pool.dstat[reqs[i].r_dev - fs->pool.dev];

		if (moving) {
			__atomic_fetch_add(reqs[i].r_op == TFS_IO_READ ? &st->move_read_bytes
								     : &st->move_write_bytes,
					   reqs[i].r_len, __ATOMIC_RELAXED);
		} else if (reqs[i].r_op == TFS_IO_READ) {
			__atomic_fetch_add(&st->read_bytes, reqs[i].r_len, __ATOMIC_RELAXED);
			__atomic_fetch_add(&st->read_requests, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_add(&st->write_bytes, reqs[i].r_len, __ATOMIC_RELAXED);
			__atomic_fetch_add(&st->write_requests, 1, __ATOMIC_RELAXED);
		}
	}
}

/* for an error's log line: " (PATH)", the name @in was last looked up or
 * made by, or nothing when that is gone (takes the pool lock) */
static void name_of(struct tfs_fs *fs, const struct tfs_inode *in, char *out, size_t len)
{
	char path[PATH_MAX];

	out[0] = 0;
	pthread_mutex_lock(&fs->lock);
	if (tfs_inode_path(fs, in, path, sizeof(path)) == 0)
		snprintf(out, len, " (%s)", path);
	pthread_mutex_unlock(&fs->lock);
}

static int bad_block(struct tfs_fs *fs, struct tfs_inode *in, const struct tfs_chunk *c,
		     uint64_t blk)
{
	uint32_t b = (uint32_t)(blk % fs->pool.chunk_blocks);
	char name[PATH_MAX + 4];

	__atomic_fetch_add(&fs->pool.dstat[c->c_dev].csum_errors, 1, __ATOMIC_RELAXED);
	name_of(fs, in, name, sizeof(name));
	tfs_err("checksum mismatch: inode %llu%s offset %llu (%s offset %llu)",
		(unsigned long long)in->i_ino, name, (unsigned long long)(blk * TFS_BLOCK_SIZE),
		fs->pool.dev[c->c_dev].d_path, (unsigned long long)dev_off(fs, c, b));
	return -EIO;
}

/*
 * Verify the data blocks among [fb, fb+n) whose data is at @at(i) (block i
 * of the range; NULL: @buf + i blocks), a chunk's worth of checksums at a
 * time.  @skip: leave blocks on mapped devices to the caller.
 */
static int verify(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
		  const uint8_t *buf)
{
	uint32_t cs[CHUNK_BLOCKS_MAX], cb = fs->pool.chunk_blocks;
	uint64_t i = 0;
	int ret;

	while (i < n) {
		uint64_t blk = fb + i;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, blk / cb);
		uint32_t b = (uint32_t)(blk % cb), k, run = cb - b;

		if (run > n - i)
			run = (uint32_t)(n - i);
		if (!c) {
			i += run;
			continue;
		}
		ret = tfs_chunk_csums(fs, c, b, run, cs);
		if (ret < 0)
			return ret == -ENOMEM ? -ENOMEM : -EIO;
		for (k = 0; k < run; k++)
			if (tier_chunk_has(c, b + k) &&
			    tier_block_csum(buf + (i + k) * TFS_BLOCK_SIZE, in->i_ino, blk + k) != cs[k])
				return bad_block(fs, in, c, blk + k);
		i += run;
	}
	return 0;
}

/* a failed read of @in whose requests @reqs started at file block @fb (into
 * @buf): one line naming the file offset and the device that failed */
static void read_failed(struct tfs_fs *fs, struct tfs_inode *in, const struct tfs_io_req *reqs,
			unsigned int nr, uint64_t fb, const uint8_t *buf, int err)
{
	char name[PATH_MAX + 4];
	unsigned int i;

	for (i = 0; i < nr && reqs[i].r_res == 0; i++)
		;
	name_of(fs, in, name, sizeof(name));
	if (i == nr) {
		tfs_err("read error on inode %llu%s: %s", (unsigned long long)in->i_ino, name,
			strerror(-err));
	} else {
		uint64_t off = fb * TFS_BLOCK_SIZE + (uint64_t)((const uint8_t *)reqs[i].r_buf - buf);

		tfs_err("read error on inode %llu%s at offset %llu (%s %s): %s",
			(unsigned long long)in->i_ino, name, (unsigned long long)off,
			tfs_dev_class_str(reqs[i].r_dev->d_class), reqs[i].r_dev->d_path,
			strerror(-reqs[i].r_res));
	}
	tfs_zns_io_errors(fs, reqs, nr);
}

static int run_reads(struct tfs_io_req *reqs, unsigned int nr);

/* read blocks [fb, fb+n) of @in into @buf: holes as zeros, data verified */
static int read_blocks(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
		       uint8_t *buf)
{
	struct tfs_io_req reqs[MAX_RUNS];
	uint64_t done = 0;
	int ret;

	while (done < n) {
		uint64_t step = n - done < MAX_RUNS ? n - done : MAX_RUNS;
		unsigned int nr = plan_io(fs, in, TFS_IO_READ, fb + done, step,
					  buf + done * TFS_BLOCK_SIZE, reqs);

		ret = run_reads(reqs, nr);
		if (ret < 0) {
			read_failed(fs, in, reqs, nr, fb + done, buf + done * TFS_BLOCK_SIZE, ret);
			return -EIO;
		}
		count_io(fs, reqs, nr);
		ret = verify(fs, in, fb + done, step, buf + done * TFS_BLOCK_SIZE);
		if (ret < 0)
			return ret;
		done += step;
	}
	return 0;
}

ssize_t tfs_read(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size, uint8_t *abuf)
{
	uint64_t start, end;
	int ret;

	pthread_rwlock_rdlock(TFS_ILOCK(in));
	if (off >= in->i_size) {
		pthread_rwlock_unlock(TFS_ILOCK(in));
		return 0;
	}
	if (size > in->i_size - off)
		size = (size_t)(in->i_size - off);
	start = round_down(off);
	end = round_up(off + size);
	ret = read_blocks(fs, in, start / TFS_BLOCK_SIZE, (end - start) / TFS_BLOCK_SIZE, abuf);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret < 0 ? ret : (ssize_t)size;
}

/* append [p, p+len) to @iov, merging with the previous piece when adjacent */
static void iov_add(struct iovec *iov, int *n, const uint8_t *p, size_t len)
{
	if (*n > 0 && (const uint8_t *)iov[*n - 1].iov_base + iov[*n - 1].iov_len == p) {
		iov[*n - 1].iov_len += len;
		return;
	}
	iov[*n].iov_base = (void *)p;
	iov[*n].iov_len = len;
	(*n)++;
}

/* ------------------------------------------------- reads from rados, answered later */

/*
 * A FUSE read that touches a chunk in the rados tier does not keep its
 * worker thread for the round trip to the cluster.  Under the file's shared
 * lock the read is planned, its local parts are read, the checksums of all
 * its blocks are copied and the objects' reads are started
 * (tfs_rados_submit); then the lock and the worker are let go.  When the
 * last object of a read is in, librados's thread queues it for the
 * cold-read loop, which verifies every block against the copied checksums
 * and answers the request.  An object is never written twice (its name
 * carries a generation), so what arrives without the lock is the data that
 * was planned, or nothing: an object removed meanwhile (its chunk moved
 * on) reads as -ENOENT, and the loop reads again the ordinary way.
 */
struct coldlist {
	struct cold_read *head, **tail;
	pthread_cond_t cond;
	pthread_t thread;
};

struct tfs_coldq {
	pthread_mutex_t lock;
	struct coldlist done;  /* objects in: the loop verifies and answers */
	struct coldlist slow;  /* what may wait on a lock or the cluster: the
				* deferred writes, the reads done again */
	unsigned int inflight; /* started, not yet answered */
	int stop;
};

struct cold_read {
	struct tfs_fs *fs;
	struct tfs_inode *in; /* kept by the open file the request is on */
	uint64_t off, start, fb, n;
	size_t size;
	tfs_done_fn done;     /* a read: its answer */
	tfs_later_fn later;   /* or a write: what runs once the objects are in */
	void *arg;
	uint8_t *buf;	      /* blocks [fb, fb+n) */
	uint32_t *cs;	      /* their checksums */
	uint64_t *has;	      /* which hold data */
	int pending;	      /* object reads not yet in, +1 while starting */
	int slow;	      /* what the slow thread does with it (COLD_*) */
	unsigned int nr;
	struct cold_read *next;
	struct tfs_io_req reqs[]; /* the object reads */
};

/* the loop thread, while a deferred write runs: the objects its read
 * fetched, verified */
static __thread const struct cold_read *cold_hint;

/* serve @req from cold_hint: 1 if it could */
static int hint_copy(struct tfs_io_req *req)
{
	unsigned int j;

	for (j = 0; j < cold_hint->nr; j++) {
		const struct tfs_io_req *h = &cold_hint->reqs[j];

		if (h->r_dev == req->r_dev && h->r_key.ino == req->r_key.ino &&
		    h->r_key.idx == req->r_key.idx && h->r_key.gen == req->r_key.gen &&
		    req->r_off >= h->r_off && req->r_off + req->r_len <= h->r_off + h->r_len) {
			memcpy(req->r_buf, (const uint8_t *)h->r_buf + (req->r_off - h->r_off),
			       req->r_len);
			req->r_res = 0;
			return 1;
		}
	}
	return 0;
}

/* tfs_io_run for reads, but what a deferred write's objects hold is taken
 * from them (served requests end up at the back of @reqs) */
static int run_reads(struct tfs_io_req *reqs, unsigned int nr)
{
	unsigned int i, k;

	if (!cold_hint)
		return tfs_io_run(reqs, nr);
	for (i = 0, k = nr; i < k;) {
		if (reqs[i].r_dev->d_class == TFS_CLASS_RADOS && hint_copy(&reqs[i])) {
			struct tfs_io_req t = reqs[--k];

			reqs[k] = reqs[i];
			reqs[i] = t;
		} else {
			i++;
		}
	}
	return tfs_io_run(reqs, k);
}

static void cold_free(struct cold_read *cr)
{
	tfs_io_free(cr->buf);
	free(cr);
}

enum { COLD_WRITE = 1, COLD_WRITE_MOVED, COLD_READ_AGAIN };

static void cold_put(struct tfs_coldq *q, struct coldlist *l, struct cold_read *cr)
{
	pthread_mutex_lock(&q->lock);
	cr->next = NULL;
	*l->tail = cr;
	l->tail = &cr->next;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&q->lock);
}

/* the last object read of @cr is in (or never started): to the loop */
static void cold_queue(struct cold_read *cr)
{
	cold_put(cr->fs->coldq, &cr->fs->coldq->done, cr);
}

/* @cr answered: gone */
static void cold_done(struct cold_read *cr)
{
	struct tfs_coldq *q = cr->fs->coldq;

	cold_free(cr);
	pthread_mutex_lock(&q->lock);
	if (--q->inflight == 0 && q->stop) {
		pthread_cond_signal(&q->done.cond);
		pthread_cond_signal(&q->slow.cond);
	}
	pthread_mutex_unlock(&q->lock);
}

/* to the slow thread, to do @what */
static void cold_slow(struct cold_read *cr, int what)
{
	cr->slow = what;
	cold_put(cr->fs->coldq, &cr->fs->coldq->slow, cr);
}

/* librados's thread: an object read completed */
static void cold_notify(struct tfs_io_req *req)
{
	struct cold_read *cr = req->r_priv;

	if (__atomic_sub_fetch(&cr->pending, 1, __ATOMIC_ACQ_REL) == 0)
		cold_queue(cr);
}

/*
 * i_rwlock held shared: start the read of blocks [@fb, @fb+@n) of @in
 * (@start: byte offset of @fb) for the request [@off, @off+@size), to be
 * answered by @done.  TFS_READ_LATER, or -errno (nothing started).
 */
static int cold_start(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		      uint64_t start, uint64_t fb, uint64_t n, struct tfs_io_req *reqs,
		      tfs_done_fn done, tfs_later_fn later, void *arg)
{
	uint32_t cs[CHUNK_BLOCKS_MAX], cb = fs->pool.chunk_blocks;
	size_t words = (size_t)(n + 63) / 64;
	unsigned int nr, nl = 0, nc = 0, i;
	struct tfs_coldq *q = fs->coldq;
	struct cold_read *cr;
	uint8_t *buf;
	uint64_t k;
	int ret;

	buf = tfs_io_alloc((size_t)n * TFS_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	nr = plan_io(fs, in, TFS_IO_READ, fb, n, buf, reqs);
	/* local requests to the front, the objects' after them */
	for (i = 0; i < nr; i++) {
		if (reqs[i].r_dev->d_class != TFS_CLASS_RADOS) {
			struct tfs_io_req t = reqs[nl];

			reqs[nl++] = reqs[i];
			reqs[i] = t;
		}
	}
	nc = nr - nl;
	cr = calloc(1, sizeof(*cr) + nc * sizeof(struct tfs_io_req) + (size_t)n * sizeof(uint32_t) +
			       words * sizeof(uint64_t));
	if (!cr) {
		tfs_io_free(buf);
		return -ENOMEM;
	}
	cr->buf = buf;
	cr->has = (uint64_t *)&cr->reqs[nc]; /* (the 8-byte words first) */
	cr->cs = (uint32_t *)(cr->has + words);
	ret = tfs_io_run(reqs, nl);
	if (ret < 0) {
		read_failed(fs, in, reqs, nl, fb, buf, ret);
		cold_free(cr);
		return -EIO;
	}
	count_io(fs, reqs, nl);
	/* the checksums, while they are the data's */
	for (k = 0; k < n;) {
		uint64_t blk = fb + k;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, blk / cb);
		uint32_t b = (uint32_t)(blk % cb), run = cb - b, j;

		if (run > n - k)
			run = (uint32_t)(n - k);
		if (c) {
			ret = tfs_chunk_csums(fs, c, b, run, cs);
			if (ret < 0) {
				cold_free(cr);
				return ret == -ENOMEM ? -ENOMEM : -EIO;
			}
			for (j = 0; j < run; j++) {
				if (!tier_chunk_has(c, b + j))
					continue;
				cr->has[(k + j) / 64] |= 1ull << ((k + j) % 64);
				cr->cs[k + j] = cs[j];
			}
		}
		k += run;
	}
	cr->fs = fs;
	cr->in = in;
	cr->off = off;
	cr->size = size;
	cr->start = start;
	cr->fb = fb;
	cr->n = n;
	cr->done = done;
	cr->later = later;
	cr->arg = arg;
	cr->nr = nc;
	cr->pending = (int)nc + 1;
	pthread_mutex_lock(&q->lock);
	q->inflight++;
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < nc; i++) {
		struct tfs_io_req *r = &cr->reqs[i];

		*r = reqs[nl + i];
		r->r_cb = cold_notify;
		r->r_priv = cr;
		r->r_aio = NULL;
		ret = tfs_rados_submit(r);
		if (ret < 0) {
			r->r_res = ret;
			__atomic_sub_fetch(&cr->pending, 1, __ATOMIC_ACQ_REL);
		}
	}
	if (__atomic_sub_fetch(&cr->pending, 1, __ATOMIC_ACQ_REL) == 0)
		cold_queue(cr);
	return TFS_READ_LATER;
}

static int cold_reply(void *arg, const struct iovec *iov, int n)
{
	struct cold_read *cr = arg;

	cr->done(cr->arg, iov, n, 0);
	return 1;
}

/* @cr could not be read or verified: the read or the write fails with EIO */
static void cold_fail(struct cold_read *cr)
{
	if (cr->later)
		cr->later(cr->arg, -EIO);
	else
		cr->done(cr->arg, NULL, 0, -EIO);
	cold_done(cr);
}

/* the loop: every object of @cr is in; verify and answer */
static void cold_finish(struct cold_read *cr)
{
	struct tfs_fs *fs = cr->fs;
	uint64_t ino = cr->in->i_ino, i;
	int err = 0;
	unsigned int r;

	for (r = 0; r < cr->nr; r++) {
		if (cr->reqs[r].r_aio)
			tfs_rados_reap(&cr->reqs[r]);
		if (cr->reqs[r].r_res < 0 && (!err || cr->reqs[r].r_res == -ENOENT))
			err = cr->reqs[r].r_res;
	}
	if (err == -ENOENT) {
		/* an object gone: its chunk moved after the read was planned;
		 * the write finds it where it is now, the read is done again */
		cold_slow(cr, cr->later ? COLD_WRITE_MOVED : COLD_READ_AGAIN);
		return;
	}
	if (err) {
		read_failed(fs, cr->in, cr->reqs, cr->nr, cr->fb, cr->buf, err);
		cold_fail(cr);
		return;
	}
	count_io(fs, cr->reqs, cr->nr);
	for (i = 0; i < cr->n; i++) {
		const uint8_t *p = cr->buf + i * TFS_BLOCK_SIZE;

		if (!((cr->has[i / 64] >> (i % 64)) & 1) ||
		    tier_block_csum(p, ino, cr->fb + i) == cr->cs[i])
			continue;
		/* name the device the block came from */
		for (r = 0; r < cr->nr; r++) {
			const uint8_t *b = cr->reqs[r].r_buf;

			if (p >= b && p < b + cr->reqs[r].r_len)
				break;
		}
		if (r < cr->nr)
			__atomic_fetch_add(&fs->pool.dstat[cr->reqs[r].r_dev - fs->pool.dev].csum_errors,
					   1, __ATOMIC_RELAXED);
		{
			char name[PATH_MAX + 4];

			name_of(fs, cr->in, name, sizeof(name));
			tfs_err("checksum mismatch: inode %llu%s offset %llu (%s)",
				(unsigned long long)ino, name,
				(unsigned long long)((cr->fb + i) * TFS_BLOCK_SIZE),
				r < cr->nr ? cr->reqs[r].r_dev->d_path : "a local tier");
		}
		cold_fail(cr);
		return;
	}
	if (cr->later) {
		cold_slow(cr, COLD_WRITE);
		return;
	}
	{
		struct iovec one = { .iov_base = cr->buf + (cr->off - cr->start),
				     .iov_len = cr->size };

		cr->done(cr->arg, &one, 1, 0);
	}
	cold_done(cr);
}

/* the slow thread: what may wait */
static void cold_slow_run(struct cold_read *cr)
{
	int ret;

	switch (cr->slow) {
	case COLD_WRITE:
		/* its reads of these objects are served from what came
		 * (run_reads) */
		cold_hint = cr;
		cr->later(cr->arg, 0);
		cold_hint = NULL;
		break;
	case COLD_WRITE_MOVED:
		cr->later(cr->arg, 0);
		break;
	default:
		ret = tfs_read_iov(cr->fs, cr->in, cr->off, cr->size, cr->buf, 0, cold_reply, NULL,
				   cr);
		if (ret < 0)
			cr->done(cr->arg, NULL, 0, ret);
	}
	cold_done(cr);
}

/* one of the two threads: the loop (@l: done) or the slow thread */
static void cold_thread(struct tfs_coldq *q, struct coldlist *l, void (*run)(struct cold_read *))
{
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct cold_read *cr;

		while (!l->head && !(q->stop && !q->inflight))
			pthread_cond_wait(&l->cond, &q->lock);
		if (!l->head)
			break;
		cr = l->head;
		l->head = cr->next;
		if (!l->head)
			l->tail = &l->head;
		pthread_mutex_unlock(&q->lock);
		run(cr);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	tfs_io_thread_exit();
}

static void *cold_loop(void *arg)
{
	struct tfs_coldq *q = arg;

	cold_thread(q, &q->done, cold_finish);
	return NULL;
}

static void *cold_slow_loop(void *arg)
{
	struct tfs_coldq *q = arg;

	cold_thread(q, &q->slow, cold_slow_run);
	return NULL;
}

static void coldlist_init(struct coldlist *l)
{
	pthread_cond_init(&l->cond, NULL);
	l->head = NULL;
	l->tail = &l->head;
}

int tfs_cold_start(struct tfs_fs *fs)
{
	struct tfs_coldq *q;
	unsigned int d;

	for (d = 0; d < fs->pool.ndev; d++)
		if (tfs_rados_online(&fs->pool.dev[d]))
			break;
	if (d == fs->pool.ndev || fs->coldq)
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	coldlist_init(&q->done);
	coldlist_init(&q->slow);
	if (pthread_create(&q->done.thread, NULL, cold_loop, q) != 0)
		goto out_free;
	if (pthread_create(&q->slow.thread, NULL, cold_slow_loop, q) != 0)
		goto out_stop_loop;
	fs->coldq = q;
	return 0;

out_stop_loop:
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->done.cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->done.thread, NULL);
out_free:
	free(q);
	return -EAGAIN;
}

void tfs_cold_stop(struct tfs_fs *fs)
{
	struct tfs_coldq *q = fs->coldq;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->done.cond);
	pthread_cond_signal(&q->slow.cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->done.thread, NULL);
	pthread_join(q->slow.thread, NULL);
	fs->coldq = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->done.cond);
	pthread_cond_destroy(&q->slow.cond);
	free(q);
}

/*
 * i_rwlock held: the blocks a write of [off, off+size) would read from
 * rados: those of the chunks in rados it covers only in part (a write makes
 * a local copy of such a chunk, merged with what the object holds), as
 * [*fb, *fb + *n); 0 if none
 */
static int write_cold_span(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
			   uint64_t *fb, uint64_t *n)
{
	uint64_t cs = fs->pool.chunk_size, first = off / cs, last = (off + size - 1) / cs, idx;
	uint64_t lo = UINT64_MAX, hi = 0;

	if (!size || !fs->coldq)
		return 0;
	for (idx = first; idx <= last; idx++) {
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);

		if (!c || fs->pool.dev[c->c_dev].d_class != TFS_CLASS_RADOS ||
		    (off <= idx * cs && off + size >= (idx + 1) * cs))
			continue;
		if (lo == UINT64_MAX)
			lo = idx;
		hi = idx;
	}
	if (lo == UINT64_MAX)
		return 0;
	*fb = lo * fs->pool.chunk_blocks;
	*n = (hi - lo + 1) * fs->pool.chunk_blocks;
	return *n <= MAX_RUNS;
}

int tfs_write_needs_cold(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size)
{
	uint64_t fb, n;
	int ret;

	if (!fs->coldq)
		return 0;
	pthread_rwlock_rdlock(TFS_ILOCK(in));
	ret = write_cold_span(fs, in, off, size, &fb, &n);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

int tfs_write_later(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		    tfs_later_fn later, void *arg)
{
	struct tfs_io_req reqs[MAX_RUNS];
	uint64_t fb, n;
	int ret = 0;

	pthread_rwlock_rdlock(TFS_ILOCK(in));
	if (write_cold_span(fs, in, off, size, &fb, &n))
		ret = cold_start(fs, in, fb * TFS_BLOCK_SIZE, (size_t)(n * TFS_BLOCK_SIZE),
				 fb * TFS_BLOCK_SIZE, fb, n, reqs, NULL, later, arg);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

int tfs_read_iov(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		 uint8_t *abuf, unsigned int heat, tfs_reply_fn reply, tfs_done_fn done, void *arg)
{
	static const uint8_t zeros[TFS_BLOCK_SIZE];
	struct tfs_io_req reqs[MAX_RUNS];
	struct iovec iov[MAX_RUNS]; /* at most a piece per block: n <= MAX_RUNS here */
	uint32_t cs[CHUNK_BLOCKS_MAX], cb = fs->pool.chunk_blocks;
	struct tfs_chunk *csc = NULL; /* the chunk whose checksums are in cs[] */
	uint64_t start, fb, n, i;
	unsigned int nr;
	int niov = 0, mapped = 0, cold = 0, ret;

	pthread_rwlock_rdlock(TFS_ILOCK(in));
	tfs_heat_note_locked(fs, in, off, size, heat); /* under the lock the read takes anyway */
	if (off >= in->i_size || size == 0) {
		ret = reply(arg, NULL, 0);
		goto out_unlock;
	}
	if (size > in->i_size - off)
		size = (size_t)(in->i_size - off);
	start = round_down(off);
	fb = start / TFS_BLOCK_SIZE;
	n = (round_up(off + size) - start) / TFS_BLOCK_SIZE;
	for (i = 0; i < n; i += cb - (fb + i) % cb) {
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, (fb + i) / cb);

		mapped |= c && on_map(fs, c);
		cold |= c && fs->pool.dev[c->c_dev].d_class == TFS_CLASS_RADOS;
	}
	if (cold && done && fs->coldq && n <= MAX_RUNS) {
		/* the objects are waited for by the cold-read loop */
		ret = cold_start(fs, in, off, size, start, fb, n, reqs, done, NULL, arg);
		goto out_unlock;
	}
	if (!mapped || n > MAX_RUNS) {
		/* nothing on a mapped device (or too long to plan in one go) */
		ret = read_blocks(fs, in, fb, n, abuf);
		if (ret == 0) {
			struct iovec one = { .iov_base = abuf + (off - start), .iov_len = size };

			ret = reply(arg, &one, 1);
		}
		goto out_unlock;
	}
	/* the rest is read into @abuf, mapped blocks are verified in place */
	nr = plan_io_flags(fs, in, TFS_IO_READ, fb, n, abuf, reqs, PLAN_SKIP_MAPPED);
	ret = tfs_io_run(reqs, nr);
	if (ret == 0)
		count_io(fs, reqs, nr);
	if (ret < 0) {
		read_failed(fs, in, reqs, nr, fb, abuf, ret);
		ret = -EIO;
		goto out_unlock;
	}
	for (i = 0; i < n; i++) {
		uint64_t blk = fb + i;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, blk / cb);
		uint32_t b = (uint32_t)(blk % cb);
		size_t lo = i == 0 ? (size_t)(off - start) : 0;
		size_t hi = i == n - 1 ? (size_t)(off + size - (blk * TFS_BLOCK_SIZE)) : TFS_BLOCK_SIZE;
		const uint8_t *src;

		if (!c || !tier_chunk_has(c, b)) {
			src = c && on_map(fs, c) ? zeros : abuf + i * TFS_BLOCK_SIZE;
		} else {
			src = on_map(fs, c) ? map_addr(fs, c, b) : abuf + i * TFS_BLOCK_SIZE;
			if (c != csc) {
				ret = tfs_chunk_csums(fs, c, 0, cb, cs);
				if (ret < 0) {
					ret = ret == -ENOMEM ? -ENOMEM : -EIO;
					goto out_unlock;
				}
				csc = c;
			}
			if (tier_block_csum(src, in->i_ino, blk) != cs[b]) {
				ret = bad_block(fs, in, c, blk);
				goto out_unlock;
			}
			if (on_map(fs, c)) {
				struct tfs_dstat *st = &fs->pool.dstat[c->c_dev];

				__atomic_fetch_add(&st->read_bytes, hi - lo, __ATOMIC_RELAXED);
				if (i == 0 || (fb + i) % cb == 0)
					__atomic_fetch_add(&st->read_requests, 1, __ATOMIC_RELAXED);
			}
		}
		iov_add(iov, &niov, src + lo, hi - lo);
	}
	ret = reply(arg, iov, niov);
out_unlock:
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

/*
 * i_rwlock held exclusively: make sure chunks exist for blocks [fb, fb+n).
 * A chunk that placement sends to a zoned device is not made here: it comes
 * to life when its data is appended to a zone (cow_stage).  @prealloc
 * (fallocate) places only on devices written in place, and leaves what finds
 * no room there to the zones.
 */
static int __alloc_chunks(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
			  int prealloc, unsigned int cls)
{
	uint64_t idx, last = (fb + n - 1) / fs->pool.chunk_blocks;
	unsigned int pin;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	if (fs->ns.readonly)
		ret = -EROFS;
	else if (tfs_meta_readonly(fs->meta))
		ret = -EIO;
	if ((pin = tfs_inode_place_pin(in)) < TFS_CLASS_MAX)
		cls = pin;
	for (idx = fb / fs->pool.chunk_blocks; idx <= last && ret == 0; idx++) {
		struct tfs_chunk *c;
		uint16_t dev;
		uint64_t slot;
		int pref;

		if (tier_cmap_get(&in->i_map, idx))
			continue;
		pref = prealloc ? tier_place_inplace(&fs->pool.alloc, in->i_ino, idx)
				: (int)tier_place_cls(&fs->pool.alloc, in->i_ino, idx, cls);
		if (pref < 0 || tier_alloc_zoned(&fs->pool.alloc, (unsigned int)pref))
			continue;
		/* what the metadata log and the root reserve need stays free */
		ret = tfs_data_room(fs, in->i_uid, 1) ? tier_alloc_take(&fs->pool.alloc,
									(unsigned int)pref, &dev, &slot)
						      : -ENOSPC;
		if (ret == -ENOSPC && pool_zoned(fs)) {
			ret = 0; /* the zones take it */
			continue;
		}
		if (ret < 0)
			break;
		c = tier_chunk_new(&fs->pool.chunks, in->i_ino, idx);
		if (!c || tier_cmap_set(&in->i_map, idx, c) < 0) {
			tier_chunk_free(&fs->pool.chunks, c);
			tier_alloc_release(&fs->pool.alloc, dev, slot);
			ret = -ENOMEM;
			break;
		}
		c->c_dev = dev;
		c->c_slot = slot;
		/* idle from now, not from the mount (rados_after) */
		c->c_hepoch = (uint16_t)tier_engine_epoch(&fs->eng);
		tfs_cs_reset(fs->meta, dev, slot);
		tfs_chunk_dirty(fs, in, c);
	}
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

static int alloc_chunks(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
			int prealloc, unsigned int cls)
{
	uint64_t step = (uint64_t)fs->pool.chunk_blocks * 4096, done = 0;
	int ret = 0, pending, high;

	/* a big preallocation in slices, committing in between, so that what
	 * one commit carries stays small */
	while (done < n && ret == 0) {
		uint64_t len = n - done < step ? n - done : step;

		ret = __alloc_chunks(fs, in, fb + done, len, prealloc, cls);
		if (ret == -ENOSPC) {
			/* freed slots become usable once the records freeing
			 * them are durable */
			pthread_mutex_lock(&fs->lock);
			pending = fs->ns.fpend_len > 0;
			pthread_mutex_unlock(&fs->lock);
			if (pending && tfs_commit(fs) == 0)
				ret = __alloc_chunks(fs, in, fb + done, len, prealloc, cls);
		}
		done += len;
		pthread_mutex_lock(&fs->lock);
		high = tfs_meta_pending_high(fs->meta);
		pthread_mutex_unlock(&fs->lock);
		if (ret == 0 && high && done < n)
			ret = tfs_commit(fs);
	}
	return ret;
}

/* pool lock: a copy written to (@dev, @slot) that no metadata names is
 * dropped: the slot is free at once (a zone slot becomes garbage), and an
 * object in rados (@k) is removed (a later use of the slot writes another
 * object: no name is used twice) */
static void drop_copy(struct tfs_fs *fs, uint16_t dev, uint64_t slot, const struct tfs_okey *k)
{
	tier_alloc_release(&fs->pool.alloc, dev, slot);
	if (fs->pool.alloc.a_dev[dev].a_cold)
		tfs_rados_remove(&fs->pool.dev[dev], k, slot);
}

/* pool lock: the name of a new object of chunk @idx of @in for device @dev
 * (a generation of 0 anywhere but in rados; also in a pool still of format
 * 6, which cannot record it: the backend refuses to write that) */
static struct tfs_okey new_okey(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx,
				unsigned int dev)
{
	int named = fs->pool.alloc.a_dev[dev].a_cold && fs->pool.sb.s_version >= 7;

	return (struct tfs_okey){ .ino = in->i_ino,
				  .idx = (uint32_t)idx,
				  .gen = named ? tfs_obj_gen(fs) : 0 };
}

/*
 * Copies of whole chunks: how data gets into a zone (never in place), and
 * how a chunk moves (the cleaner; tiering).  put_chunk writes the chunk
 * image @buf to device @dst: appended to a zone of @stream when @dst is
 * zoned, or into a free slot of a device written in place (@dst preferred).
 * A zone with no room left sends it to a device written in place, unless
 * @strict (a migration to the zns tier has no point elsewhere).  @user:
 * bytes of new user data in it (write amplification).  @uid: whose data
 * (the root reserve).  @nk: the name of the object written, in rados.
 */
static int put_chunk(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, unsigned int dst,
		     unsigned int stream, const uint8_t *buf, uint64_t user, int strict,
		     uint16_t *ndev, uint64_t *nslot, struct tfs_okey *nk)
{
	struct tfs_io_req req;
	int ret, pref;

	if (fs->zns.spz[dst]) {
		pthread_mutex_lock(&fs->lock);
		ret = tfs_data_room(fs, moving ? 0 : in->i_uid, 0) ? 0 : -ENOSPC;
		pthread_mutex_unlock(&fs->lock);
		if (ret == 0)
			ret = tfs_zns_append(fs, dst, stream, buf, user, nslot);
		if (ret != -ENOSPC || strict) {
			*ndev = (uint16_t)dst;
			return ret;
		}
		pthread_mutex_lock(&fs->lock);
		pref = tier_place_inplace(&fs->pool.alloc, in->i_ino, idx);
		pthread_mutex_unlock(&fs->lock);
		if (pref < 0)
			return -ENOSPC;
		dst = (unsigned int)pref;
	}
	pthread_mutex_lock(&fs->lock);
	/* (the rados tier is not in the pool's room: its own slots decide) */
	ret = fs->pool.alloc.a_dev[dst].a_cold || tfs_data_room(fs, moving ? 0 : in->i_uid, 1)
		      ? tier_alloc_take(&fs->pool.alloc, dst, ndev, nslot)
		      : -ENOSPC;
	if (ret == 0)
		*nk = new_okey(fs, in, idx, *ndev);
	pthread_mutex_unlock(&fs->lock);
	if (ret < 0)
		return ret;
	req = (struct tfs_io_req){
		.r_dev = &fs->pool.dev[*ndev],
		.r_op = TFS_IO_WRITE,
		.r_buf = (void *)buf,
		.r_len = fs->pool.chunk_size,
		.r_off = tfs_slot_off(fs, *ndev, *nslot),
		.r_key = *nk,
	};
	ret = tfs_io_run(&req, 1);
	if (ret == 0)
		count_io(fs, &req, 1);
	if (ret < 0) {
		pthread_mutex_lock(&fs->lock);
		drop_copy(fs, *ndev, *nslot, nk);
		pthread_mutex_unlock(&fs->lock);
	}
	return ret;
}

/* pool lock: chunk @c of @in now lives at (@dev, @slot) with checksums @cs
 * (all its data blocks), in rados as the object of generation @ogen; its
 * old slot is freed, or when @keep and it is in a zone kept as the chunk's
 * zone copy (tfs_shadow_keep) */
static int relocate(struct tfs_fs *fs, struct tfs_inode *in, struct tfs_chunk *c, uint16_t dev,
		    uint64_t slot, uint32_t ogen, const uint32_t *cs, int keep)
{
	uint32_t b = 0, cb = fs->pool.chunk_blocks;
	uint16_t odev = c->c_dev;
	uint64_t oslot = c->c_slot;
	struct tfs_okey okey = tfs_chunk_okey(c);
	int ret = 0;

	tfs_cs_reset(fs->meta, dev, slot);
	/* the checksums move with the data, run by run of data blocks */
	while (b < cb && ret == 0) {
		uint32_t e;

		if (!tier_chunk_has(c, b)) {
			b++;
			continue;
		}
		for (e = b; e < cb && tier_chunk_has(c, e); e++)
			;
		ret = tfs_cs_put(fs->meta, dev, slot, b, e - b, cs + b);
		b = e;
	}
	if (ret < 0)
		return ret;
	c->c_dev = dev;
	c->c_slot = slot;
	tier_alloc_bind(&fs->pool.alloc, dev, slot, c);
	tfs_chunk_dirty(fs, in, c); /* (drops a zone copy it had) */
	if (fs->pool.alloc.a_dev[dev].a_cold)
		c->c_wgen = ogen; /* its object's name from now on */
	if (!keep || !tfs_shadow_keep(fs, c, odev, oslot)) {
		/* the cleaner finds no chunk there any more */
		tier_alloc_unbind(&fs->pool.alloc, odev, oslot, c);
		tfs_slot_free(fs, odev, oslot, &okey);
	}
	return 0;
}

/* read chunk @idx of @in whole into @buf, verifying every block, and its
 * checksums into @cs; i_rwlock held */
static int read_chunk(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, uint8_t *buf,
		      uint32_t *cs)
{
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
	int ret = read_blocks(fs, in, idx * fs->pool.chunk_blocks, fs->pool.chunk_blocks, buf);

	if (ret == 0 && c)
		ret = tfs_chunk_csums(fs, c, 0, fs->pool.chunk_blocks, cs);
	return ret;
}

/*
 * Move chunk @idx of @in from (@dev, @slot) to its zone copy on a device of
 * class @cls, which it has kept since a promotion and has not changed since:
 * nothing to write, the map flips under the exclusive lock.  0 moved,
 * -ESTALE moved or gone, -ENOENT no such copy (copy the chunk).
 */
static int move_to_copy(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, uint16_t dev,
			uint64_t slot, unsigned int cls)
{
	uint32_t cs[CHUNK_BLOCKS_MAX];
	struct tfs_chunk *c;
	uint16_t zd;
	uint64_t zs;
	int ret;

	pthread_rwlock_wrlock(TFS_ILOCK(in));
	pthread_mutex_lock(&fs->lock);
	c = tier_cmap_get(&in->i_map, idx);
	ret = c && c->c_dev == dev && c->c_slot == slot ? 0 : -ESTALE;
	pthread_mutex_unlock(&fs->lock);
	/* the checksums are the chunk's: the data is the same */
	if (ret == 0)
		ret = tfs_chunk_csums(fs, c, 0, fs->pool.chunk_blocks, cs);
	if (ret == 0) {
		pthread_mutex_lock(&fs->lock);
		ret = -ENOENT;
		if (tfs_shadow_reuse(fs, c, cls, &zd, &zs)) {
			ret = relocate(fs, in, c, zd, zs, 0, cs, 0);
			if (ret < 0) {
				tier_alloc_unbind(&fs->pool.alloc, zd, zs, c);
				tfs_slot_free(fs, zd, zs, NULL);
			}
		}
		pthread_mutex_unlock(&fs->lock);
	}
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

/*
 * One try at moving chunk @idx of @in from (@dev, @slot): to device @dst, or
 * when @dst < 0 to a device of class @cls placement picks (@strict: nowhere
 * else).  0 moved, -EAGAIN written meanwhile, -ESTALE moved or gone.
 *
 * The one way chunks move, for migration and zone cleaning alike: the copy
 * is read under the file's shared lock (readers go on, writers wait for the
 * read), written to its new place with no lock held, and the map flips under
 * the exclusive lock only if the chunk's write generation is unchanged;
 * otherwise the copy is dropped.
 */
static int move_once(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, uint16_t dev,
		     uint64_t slot, unsigned int cls, int dst, int strict, uint8_t *buf)
{
	uint32_t cs[CHUNK_BLOCKS_MAX];
	struct tfs_okey nk;
	struct tfs_chunk *c;
	uint32_t gen;
	uint16_t nd;
	uint64_t ns;
	int ret, d;

	/* a demotion back to where an identical copy is kept: no write */
	pthread_mutex_lock(&fs->lock);
	c = tier_cmap_get(&in->i_map, idx);
	ret = dst < 0 && c && (c->c_flags & TIER_CHUNK_SHADOW);
	pthread_mutex_unlock(&fs->lock);
	if (ret) {
		ret = move_to_copy(fs, in, idx, dev, slot, cls);
		if (ret != -ENOENT)
			return ret;
	}
	/* copy under the shared lock: readers go on, writers wait for the read */
	pthread_rwlock_rdlock(TFS_ILOCK(in));
	pthread_mutex_lock(&fs->lock);
	c = tier_cmap_get(&in->i_map, idx);
	ret = c && c->c_dev == dev && c->c_slot == slot ? 0 : -ESTALE;
	gen = c ? c->c_wgen : 0;
	d = dst >= 0 ? dst : tier_dest(&fs->pool.alloc, cls, in->i_ino, idx, cls < c_class(fs, dev));
	pthread_mutex_unlock(&fs->lock);
	if (ret == 0 && d < 0)
		ret = -ENOSPC;
	if (ret == 0)
		ret = read_chunk(fs, in, idx, buf, cs);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	if (ret < 0)
		return ret;
	/* moved chunks are survivors or cold: the zones of the cleaner's
	 * stream keep them apart from new data; only the cleaner (@dst given)
	 * may open its reserve zone */
	ret = put_chunk(fs, in, idx, (unsigned int)d, dst >= 0 ? TIER_STREAM_CLEAN : TIER_STREAM_MOVE,
			buf, 0, strict, &nd, &ns, &nk);
	if (ret < 0)
		return ret;
	/* the flip: only if nothing changed the chunk since it was read */
	pthread_rwlock_wrlock(TFS_ILOCK(in));
	pthread_mutex_lock(&fs->lock);
	c = tier_cmap_get(&in->i_map, idx);
	if (c && c->c_dev == dev && c->c_slot == slot && c->c_wgen == gen) {
		/* a promotion out of a zone keeps the zone copy while it may */
		ret = relocate(fs, in, c, nd, ns, nk.gen, cs,
			       dst < 0 && fs->zns.spz[dev] && !fs->zns.spz[nd]);
		if (ret < 0)
			drop_copy(fs, nd, ns, &nk);
	} else {
		drop_copy(fs, nd, ns, &nk);
		ret = c && c->c_dev == dev && c->c_slot == slot ? -EAGAIN : -ESTALE;
	}
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

/* the inode @ino held for a move, or NULL */
static struct tfs_inode *move_hold(struct tfs_fs *fs, uint64_t ino)
{
	struct tfs_inode *in;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in || !S_ISREG(in->i_mode) || fs->ns.readonly || tfs_meta_readonly(fs->meta) ||
	    tfs_inode_hold(fs, in) < 0)
		in = NULL; /* the hold keeps it while the pool lock is dropped */
	pthread_mutex_unlock(&fs->lock);
	return in;
}

/*
 * Move chunk @idx of @ino from (@dev, @slot): to device @dst, or when @dst
 * < 0 to a device of class *@cls (a demotion into a full class going on
 * down, *@cls then says where).  Redone up to four times when written
 * meanwhile.  0, -EAGAIN written on every try, -ESTALE moved or gone, or
 * -errno.
 */
static int move_chunk(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		      unsigned int *cls, int dst)
{
	struct tfs_inode *in = move_hold(fs, ino);
	uint8_t *buf;
	int ret = -ESTALE, tries;

	if (!in)
		return -ESTALE;
	buf = tfs_io_scratch(TFS_SCRATCH_CHUNK, fs->pool.chunk_size);
	moving = 1;
	for (tries = 0; buf && tries < 4; tries++) {
		ret = move_once(fs, in, idx, dev, slot, *cls, dst, dst < 0, buf);
		if (ret == -ENOSPC && dst < 0 && *cls > c_class(fs, dev) && *cls + 1 < TFS_CLASS_MAX) {
			(*cls)++;
			tries--;
			continue;
		}
		if (ret != -EAGAIN)
			break;
		__atomic_fetch_add(&fs->eng.redone, 1, __ATOMIC_RELAXED);
	}
	moving = 0;
	tfs_release(fs, in);
	return buf ? ret : -ENOMEM;
}

int tfs_chunk_evacuate(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev,
		       uint64_t slot, unsigned int dst)
{
	unsigned int cls = c_class(fs, dst);
	int ret = move_chunk(fs, ino, idx, dev, slot, &cls, (int)dst);

	return ret == -EAGAIN ? -EBUSY : ret;
}

/*
 * Moves into the rados tier, up to TFS_SINK_BATCH at a time, with every
 * object write in flight at once (one round trip to the cluster for the
 * batch, not one per chunk).  The same steps as move_once, phase by phase:
 * each chunk read under its file's shared lock, a slot taken, all objects
 * written in one batch, then each map flipped under the exclusive lock only
 * if the chunk's write generation is unchanged.  @res[i]: the class moved
 * to, or -ESTALE gone or changed, -EAGAIN written meanwhile, -errno.
 */
int tfs_chunk_sink(struct tfs_fs *fs, const struct tier_move *m, unsigned int n, int *res)
{
	struct tfs_io_req reqs[TFS_SINK_BATCH];
	struct tfs_inode *in[TFS_SINK_BATCH];
	struct tfs_okey nk[TFS_SINK_BATCH];
	uint32_t gen[TFS_SINK_BATCH], *cs;
	uint16_t nd[TFS_SINK_BATCH];
	uint64_t ns[TFS_SINK_BATCH];
	unsigned int i, nr = 0, at[TFS_SINK_BATCH];
	size_t cb = fs->pool.chunk_blocks;
	uint8_t *buf;
	int ret;

	if (n > TFS_SINK_BATCH)
		n = TFS_SINK_BATCH;
	buf = tfs_io_scratch(TFS_SCRATCH_CHUNK, (size_t)n * fs->pool.chunk_size);
	cs = calloc((size_t)n * cb, sizeof(*cs));
	if (!buf || !cs) {
		free(cs);
		for (i = 0; i < n; i++)
			res[i] = -ENOMEM;
		return -ENOMEM;
	}
	moving = 1;
	for (i = 0; i < n; i++) {
		uint8_t *b = buf + (size_t)i * fs->pool.chunk_size;
		struct tfs_chunk *c;
		int d;

		in[i] = move_hold(fs, m[i].ino);
		if (!in[i]) {
			res[i] = -ESTALE;
			continue;
		}
		pthread_rwlock_rdlock(TFS_ILOCK(in[i]));
		pthread_mutex_lock(&fs->lock);
		c = tier_cmap_get(&in[i]->i_map, m[i].idx);
		ret = c && c->c_dev == m[i].dev && c->c_slot == m[i].slot ? 0 : -ESTALE;
		gen[i] = c ? c->c_wgen : 0;
		d = tier_dest(&fs->pool.alloc, TFS_CLASS_RADOS, m[i].ino, m[i].idx, 0);
		if (ret == 0)
			ret = d < 0 ? -ENOSPC
				    : tier_alloc_take(&fs->pool.alloc, (unsigned int)d, &nd[i], &ns[i]);
		if (ret == 0)
			nk[i] = new_okey(fs, in[i], m[i].idx, nd[i]);
		pthread_mutex_unlock(&fs->lock);
		if (ret == 0) {
			ret = read_chunk(fs, in[i], m[i].idx, b, cs + (size_t)i * cb);
			if (ret < 0) {
				pthread_mutex_lock(&fs->lock);
				tier_alloc_release(&fs->pool.alloc, nd[i], ns[i]);
				pthread_mutex_unlock(&fs->lock);
			}
		}
		pthread_rwlock_unlock(TFS_ILOCK(in[i]));
		res[i] = ret;
		if (ret < 0)
			continue;
		reqs[nr] = (struct tfs_io_req){
			.r_dev = &fs->pool.dev[nd[i]],
			.r_op = TFS_IO_WRITE,
			.r_buf = b,
			.r_len = fs->pool.chunk_size,
			.r_off = tfs_slot_off(fs, nd[i], ns[i]),
			.r_key = nk[i],
		};
		at[nr++] = i;
	}
	/* every object in flight at once */
	tfs_io_run(reqs, nr);
	count_io(fs, reqs, nr);
	for (unsigned int r = 0; r < nr; r++) {
		struct tfs_chunk *c;

		i = at[r];
		if (reqs[r].r_res < 0) {
			res[i] = reqs[r].r_res;
			pthread_mutex_lock(&fs->lock);
			drop_copy(fs, nd[i], ns[i], &nk[i]);
			pthread_mutex_unlock(&fs->lock);
			continue;
		}
		pthread_rwlock_wrlock(TFS_ILOCK(in[i]));
		pthread_mutex_lock(&fs->lock);
		c = tier_cmap_get(&in[i]->i_map, m[i].idx);
		if (c && c->c_dev == m[i].dev && c->c_slot == m[i].slot && c->c_wgen == gen[i]) {
			ret = relocate(fs, in[i], c, nd[i], ns[i], nk[i].gen, cs + (size_t)i * cb, 0);
			if (ret < 0)
				drop_copy(fs, nd[i], ns[i], &nk[i]);
			res[i] = ret < 0 ? ret : TFS_CLASS_RADOS;
		} else {
			drop_copy(fs, nd[i], ns[i], &nk[i]);
			res[i] = c && c->c_dev == m[i].dev && c->c_slot == m[i].slot ? -EAGAIN : -ESTALE;
		}
		pthread_mutex_unlock(&fs->lock);
		pthread_rwlock_unlock(TFS_ILOCK(in[i]));
	}
	moving = 0;
	for (i = 0; i < n; i++)
		if (in[i])
			tfs_release(fs, in[i]);
	free(cs);
	return 0;
}

int tfs_chunk_migrate(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		      unsigned int cls)
{
	int ret = move_chunk(fs, ino, idx, dev, slot, &cls, -1);

	if (ret == 0)
		return (int)cls;
	return ret == -EAGAIN ? -ESTALE : ret;
}

/*
 * Copies: how new data reaches a chunk that is never written in place (in a
 * zone, or an object in rados), or a new chunk that placement sends to the
 * zones.  A write first stages its copies (cow_stage: the chunk's new image,
 * its other blocks read and verified, written to a new place that no
 * metadata names yet), then writes its blocks in place, and lands it all in
 * one lock section with the new end of file (land_write).  A commit thus
 * sees the whole write or none of it.  Copies that landed one by one moved
 * the end of file before the in-place part of the same write was there: a
 * commit in between, then a crash (or a failed in-place write), left the
 * file its new size with zeros in that part.
 */
struct cow_copy {
	uint64_t idx;	 /* the chunk */
	uint32_t b0, b1; /* the write's blocks in it */
	uint16_t dev;	 /* where the copy is */
	uint64_t slot;
	struct tfs_okey key;
	uint32_t *cs; /* the checksums of all its blocks */
};
/* the chunks one write batch spans, at most (chunks of 64 KiB or more) */
#define COPIES_MAX (IO_MAX / (64u << 10) + 2)

/*
 * i_rwlock held exclusively: blocks [b0, b1) of chunk @idx get @data (their
 * checksums @csum) in a new copy of the chunk, because the chunk is in a
 * zone or rados, or placement (class @cls preferred) sends it to a zone.  A
 * whole chunk goes to a zone; a part of one is merged with the rest of the
 * chunk and the copy goes to a device written in place if one has room
 * (later writes then land in place), else to a zone again.  The copy is
 * described in @cp (whose cs has room for a chunk's checksums); nothing
 * names it until cow_land.
 */
static int cow_stage(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, uint32_t b0,
		     uint32_t b1, const uint8_t *data, const uint32_t *csum, unsigned int cls,
		     struct cow_copy *cp)
{
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
	uint32_t cb = fs->pool.chunk_blocks, b;
	int whole = b0 == 0 && b1 == cb, ip, ret;
	const uint8_t *img = data;
	unsigned int dst, stream, pin;

	/* where new data goes (an overwrite of a zone chunk too: up, if the
	 * faster tiers have room) */
	pthread_mutex_lock(&fs->lock);
	if ((pin = tfs_inode_place_pin(in)) < TFS_CLASS_MAX)
		cls = pin;
	dst = tier_place_cls(&fs->pool.alloc, in->i_ino, idx, cls);
	ip = tier_place_inplace(&fs->pool.alloc, in->i_ino, idx);
	if (ip >= 0 && !tfs_data_room(fs, in->i_uid, 1))
		ip = -1;
	/* the zone stream: by how long the version it replaces lived, else by
	 * what the file's name says */
	stream = c && on_zone(fs, c) ? tier_zone_life(&fs->pool.alloc, c->c_dev, c->c_slot)
				     : TIER_STREAM_USER;
	if (stream == TIER_STREAM_USER && (in->i_flags & TFS_I_LIFE_SHORT))
		stream = TIER_STREAM_SHORT;
	else if (stream == TIER_STREAM_USER && (in->i_flags & TFS_I_LIFE_LONG))
		stream = TIER_STREAM_LONG;
	pthread_mutex_unlock(&fs->lock);
	if (!whole || !fs->zns.spz[dst]) {
		/* a part of a chunk is never appended to a zone when a device
		 * written in place has room: later writes then land in place */
		if (ip >= 0 && fs->zns.spz[dst]) {
			dst = (unsigned int)ip;
		} else if (ip < 0) {
			/* the devices written in place are full: a zone */
			unsigned int d;

			for (d = 0; d < fs->pool.ndev &&
				    (!fs->zns.spz[d] || fs->pool.alloc.a_dev[d].a_out);
			     d++)
				;
			if (d == fs->pool.ndev)
				return -ENOSPC;
			dst = d;
		}
	}
	memset(cp->cs, 0, sizeof(cp->cs[0]) * cb);
	if (!whole) {
		uint8_t *buf = tfs_io_scratch(TFS_SCRATCH_CHUNK, fs->pool.chunk_size);

		if (!buf)
			return -ENOMEM;
		if (c) {
			ret = read_chunk(fs, in, idx, buf, cp->cs);
			if (ret < 0)
				return ret;
		} else {
			memset(buf, 0, fs->pool.chunk_size);
		}
		memcpy(buf + (size_t)b0 * TFS_BLOCK_SIZE, data, (size_t)(b1 - b0) * TFS_BLOCK_SIZE);
		img = buf;
	}
	for (b = b0; b < b1; b++)
		cp->cs[b] = csum[b - b0];
	ret = put_chunk(fs, in, idx, dst, stream, img, (uint64_t)(b1 - b0) * TFS_BLOCK_SIZE, 0,
			&cp->dev, &cp->slot, &cp->key);
	if (ret < 0)
		return ret;
	cp->idx = idx;
	cp->b0 = b0;
	cp->b1 = b1;
	return 0;
}

/* pool lock, i_rwlock held exclusively: the map takes staged copy @cp (on
 * failure the caller drops the copy) */
static int cow_land(struct tfs_fs *fs, struct tfs_inode *in, const struct cow_copy *cp)
{
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, cp->idx);
	uint64_t added[CHUNK_BLOCKS_MAX / 64] = { 0 };
	uint32_t b;
	int ret;

	/* what can fail first, so that a failure leaves nothing naming the
	 * copy (the caller frees its slot) and no block claimed that is not
	 * there */
	if (!c) {
		tfs_cs_reset(fs->meta, cp->dev, cp->slot);
		ret = tfs_cs_put(fs->meta, cp->dev, cp->slot, cp->b0, cp->b1 - cp->b0,
				 cp->cs + cp->b0);
		if (ret < 0)
			return ret;
		c = tier_chunk_new(&fs->pool.chunks, in->i_ino, cp->idx);
		if (!c || tier_cmap_set(&in->i_map, cp->idx, c) < 0) {
			tier_chunk_free(&fs->pool.chunks, c);
			return -ENOMEM;
		}
		c->c_dev = cp->dev;
		c->c_slot = cp->slot;
		c->c_hepoch = (uint16_t)tier_engine_epoch(&fs->eng);
		tier_alloc_bind(&fs->pool.alloc, cp->dev, cp->slot, c);
		for (b = cp->b0; b < cp->b1; b++)
			tier_chunk_set(c, b);
		in->i_map.m_blocks += cp->b1 - cp->b0;
		tfs_chunk_dirty(fs, in, c);
		return 0;
	}
	/* a new copy of a chunk in a zone or rados: relocate moves the
	 * checksums of the blocks the chunk has, the written ones included */
	for (b = cp->b0; b < cp->b1; b++)
		if (!tier_chunk_has(c, b)) {
			tier_chunk_set(c, b);
			added[b / 64] |= 1ull << (b % 64);
			in->i_map.m_blocks++;
		}
	ret = relocate(fs, in, c, cp->dev, cp->slot, cp->key.gen, cp->cs, 0);
	if (ret < 0)
		for (b = cp->b0; b < cp->b1; b++)
			if ((added[b / 64] >> (b % 64)) & 1) {
				tier_chunk_clear(c, b);
				in->i_map.m_blocks--;
			}
	return ret;
}

/* i_rwlock held exclusively: stage the copies of a write of blocks [fb,
 * fb+n) (in @abuf, checksums @csum) for the chunks in zones or rados, or
 * bound for the zones, into @cp (checksum room from @cs); their number in
 * *@ncp, also on failure (the caller drops them) */
static int stage_copies(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
			const uint8_t *abuf, const uint32_t *csum, unsigned int cls,
			struct cow_copy *cp, uint32_t *cs, unsigned int *ncp)
{
	uint32_t cb = fs->pool.chunk_blocks;
	uint64_t blk = fb;
	int ret;

	*ncp = 0;
	while (blk < fb + n) {
		uint64_t idx = blk / cb;
		uint32_t b0 = (uint32_t)(blk % cb);
		uint32_t b1 = fb + n - idx * cb < cb ? (uint32_t)(fb + n - idx * cb) : cb;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);

		if (!c || out_of_place(fs, c)) {
			if (*ncp == COPIES_MAX)
				return -EINVAL;
			cp[*ncp].cs = cs + (size_t)*ncp * cb;
			ret = cow_stage(fs, in, idx, b0, b1, abuf + (blk - fb) * TFS_BLOCK_SIZE,
					csum + (blk - fb), cls, &cp[*ncp]);
			if (ret < 0)
				return ret;
			(*ncp)++;
		}
		blk = (idx + 1) * cb;
	}
	return 0;
}

/*
 * Write intents.  A block that already holds data is overwritten in place,
 * and its new checksum only becomes durable with the next commit: a crash in
 * between would leave valid data (old or new) that the durable checksum
 * condemns.  So before the first in-place overwrite of a block, a commit
 * records an intent on its chunk naming the block; an intent lives until the
 * chunk has not been written for TFS_INTENT_MS (so a hot block pays one
 * commit, not one per write) and is dropped at clean unmount.  After an
 * unclean stop, tfs_reseal() re-checksums the blocks an intent names whose
 * data no longer matches: those alone can hold a write that was never
 * committed.  Every other block keeps its checksum, so damage to it is
 * still found.
 *
 * i_rwlock held exclusively.
 */
static int write_intent(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n)
{
	uint32_t cb = fs->pool.chunk_blocks;
	uint64_t i, now = tfs_now_ms();
	int need = 0;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < n;) {
		uint64_t blk = fb + i, idx = blk / cb, m[CHUNK_BLOCKS_MAX / 64];
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
		uint32_t b = (uint32_t)(blk % cb), e = b + (uint32_t)(n - i < cb - b ? n - i : cb - b);
		int any = 0, ret;

		i += e - b;
		if (!c || out_of_place(fs, c))
			continue; /* a new copy (cow_stage), not an overwrite */
		memset(m, 0, fs->pool.mask_words * sizeof(uint64_t));
		for (; b < e; b++)
			if (tier_chunk_has(c, b)) {
				m[b / 64] |= 1ull << (b % 64);
				any = 1;
			}
		if (!any && !(c->c_flags & TIER_CHUNK_INTENT_LIVE))
			continue; /* only holes: nothing is overwritten */
		/* before the I/O: no expiry while it runs */
		ret = tfs_intent_note(fs, c, now, any ? m : NULL);
		if (ret < 0) {
			pthread_mutex_unlock(&fs->lock);
			return ret;
		}
		if (ret > 0 && any) {
			c->c_flags |= TIER_CHUNK_INTENT;
			tfs_chunk_dirty(fs, in, c);
			need = 1;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return need ? tfs_commit(fs) : 0;
}

int tfs_reseal(struct tfs_fs *fs)
{
	struct tfs_ns *ns = &fs->ns;
	uint32_t cs, cb = fs->pool.chunk_blocks;
	uint64_t chunks = 0, blocks = 0;
	uint8_t *buf;
	int ret = 0;

	if (!ns->ihead) {
		ns->reseal_pending = 0;
		return 0;
	}
	buf = tfs_io_alloc(fs->pool.chunk_size);
	if (!buf)
		return -ENOMEM;
	/* at mount, before anything else runs: holding the lock over I/O is
	 * fine.  The intents are those the load found in the metadata. */
	pthread_mutex_lock(&fs->lock);
	while (ns->ihead && ret == 0) {
		struct tfs_intent *it = ns->ihead;
		struct tfs_chunk *c = it->i_c;
		struct tfs_inode *in = tfs_inode_get(fs, c->c_ino);
		struct tfs_io_req reqs[MAX_RUNS];
		uint64_t fb = (uint64_t)c->c_idx * cb;
		unsigned int nr, fixed = 0;
		uint32_t k;

		if (in) {
			nr = plan_io(fs, in, TFS_IO_READ, fb, cb, buf, reqs);
			ret = tfs_io_run(reqs, nr);
		}
		/* a block the intent names: old or new data, whichever landed,
		 * unless it still matches the checksum it had */
		for (k = 0; in && k < cb && ret == 0; k++) {
			uint32_t now;

			if (!tier_chunk_has(c, k) || !((it->i_mask[k / 64] >> (k % 64)) & 1))
				continue;
			now = tier_block_csum(buf + (size_t)k * TFS_BLOCK_SIZE, in->i_ino, fb + k);
			if (tfs_cs_get(fs->meta, c->c_dev, c->c_slot, k, 1, NULL, &cs) == 0 && cs == now)
				continue;
			ret = tfs_cs_put(fs->meta, c->c_dev, c->c_slot, k, 1, &now);
			fixed++;
		}
		if (ret < 0)
			break;
		chunks += fixed != 0;
		blocks += fixed;
		tfs_intent_drop(fs, c);
		c->c_flags &= (uint16_t)~TIER_CHUNK_INTENT;
		if (in)
			tfs_chunk_dirty(fs, in, c);
	}
	if (ret == 0)
		ns->reseal_pending = 0;
	pthread_mutex_unlock(&fs->lock);
	tfs_io_free(buf);
	if (ret < 0)
		return ret;
	if (blocks)
		tfs_info("re-checksummed %llu block%s of %llu chunk%s written in place at the crash",
			 (unsigned long long)blocks, blocks == 1 ? "" : "s",
			 (unsigned long long)chunks, chunks == 1 ? "" : "s");
	return tfs_commit(fs);
}

/*
 * Stale bytes past the end of file.  Shrinking a file does not zero the part
 * of its new last block past the new end: that would be an in-place change
 * made durable before the new size is, and a crash in between would leave
 * the old size with zeros in the middle.  Instead those bytes are zeroed when
 * they come back inside the file: by the read-modify-write of a write that
 * touches the block (clear_past_eof), or by zero_tail before anything else
 * makes the file longer.
 */
static void clear_past_eof(const struct tfs_inode *in, uint64_t blk_off, uint8_t *blk)
{
	if (in->i_size < blk_off + TFS_BLOCK_SIZE) {
		uint64_t from = in->i_size > blk_off ? in->i_size - blk_off : 0;

		memset(blk + from, 0, TFS_BLOCK_SIZE - from);
	}
}

static ssize_t write_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off,
			    const void *buf, size_t size, unsigned int cls, int keep_size);

/* i_rwlock held exclusively, before the file grows: zero the bytes of its
 * last block past the end (the end of file stays where it is) */
static int zero_tail(struct tfs_fs *fs, struct tfs_inode *in)
{
	static const uint8_t zeros[TFS_BLOCK_SIZE];
	uint64_t size = in->i_size, end = round_up(size);
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, size >> fs->pool.chunk_shift);
	ssize_t ret;

	if (size == end || !c ||
	    !tier_chunk_has(c, (uint32_t)((size / TFS_BLOCK_SIZE) % fs->pool.chunk_blocks)))
		return 0;
	ret = write_locked(fs, in, size, zeros, end - size, TFS_CLASS_MAX, 1);
	return ret < 0 ? (int)ret : 0;
}

/*
 * Pool lock, i_rwlock held exclusively: a write of blocks [fb, fb+n)
 * (checksums @csum) whose data is on the devices lands: the blocks written
 * in place and the @ncp copies @cp, in file order, and the end of file
 * moves to @grow_to (0: it stays) in the same lock section.  A copy that
 * cannot land (no memory) is dropped with those after it; the end of file
 * then moves only up to its first block (not at all if nothing landed
 * before it), and blocks past that point that were holes
 * stay holes (their checksums are still recorded: a block that held data
 * was overwritten, and must read as what it holds now).
 */
static int land_write(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb, uint64_t n,
		      const uint32_t *csum, const struct cow_copy *cp, unsigned int ncp,
		      uint64_t grow_to)
{
	uint32_t cb = fs->pool.chunk_blocks;
	uint64_t i, stop = UINT64_MAX; /* the first block not landed */
	unsigned int k = 0;
	struct timespec now;
	int ret = 0, r;

	for (i = 0; i < n;) {
		uint64_t blk = fb + i, idx = blk / cb;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
		uint32_t b = (uint32_t)(blk % cb), run = cb - b, j;

		if (run > n - i)
			run = (uint32_t)(n - i);
		i += run;
		if (k < ncp && cp[k].idx == idx) {
			r = stop == UINT64_MAX ? cow_land(fs, in, &cp[k]) : -ENOMEM;
			if (r < 0) {
				drop_copy(fs, cp[k].dev, cp[k].slot, &cp[k].key);
				if (stop == UINT64_MAX) {
					stop = blk;
					ret = r;
				}
			}
			k++;
			continue;
		}
		if (!c) { /* (alloc_chunks made it, or it was staged) */
			if (stop == UINT64_MAX) {
				stop = blk;
				ret = -EIO;
			}
			continue;
		}
		for (j = 0; j < run; j++)
			if (!tier_chunk_has(c, b + j) && blk + j < stop) {
				tier_chunk_set(c, b + j);
				in->i_map.m_blocks++;
			}
		r = tfs_cs_put(fs->meta, c->c_dev, c->c_slot, b, run, csum + (blk - fb));
		if (r < 0 && ret == 0) {
			tfs_err("out of memory recording checksums of inode %llu",
				(unsigned long long)in->i_ino);
			ret = r;
		}
		tfs_chunk_dirty(fs, in, c);
	}
	/* a failure: the end of file moves only past what landed before it */
	if (stop == fb)
		grow_to = 0;
	else if (stop != UINT64_MAX && grow_to > stop * TFS_BLOCK_SIZE)
		grow_to = stop * TFS_BLOCK_SIZE;
	if (grow_to > in->i_size)
		in->i_size = grow_to;
	tfs_touch(&now);
	tfs_itimes_set(in, TFS_T_M | TFS_T_C, now);
	tfs_inode_dirty(fs, in);
	return ret;
}

/* thread's room for the checksums of a write's copies: the chunks one write
 * batch spans, whole */
static __thread uint32_t copy_cs[IO_MAX / TFS_BLOCK_SIZE + 2 * CHUNK_BLOCKS_MAX];

/* i_rwlock held exclusively: write [off, off+size) from @buf, new chunks
 * preferring class @cls; the end of file moves past what is written unless
 * @keep_size.  Everything it changes in the metadata, the end of file with
 * it, lands in one lock section once all its data is on the devices
 * (land_write): a commit sees all of it or none. */
static ssize_t __write_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off,
			      const void *buf, size_t size, unsigned int cls, int keep_size)
{
	struct tfs_io_req reqs[MAX_RUNS];
	uint64_t start = round_down(off), end = round_up(off + size);
	uint64_t fb = start / TFS_BLOCK_SIZE, n = (end - start) / TFS_BLOCK_SIZE, i;
	uint32_t csum[IO_MAX / TFS_BLOCK_SIZE + 2];
	struct cow_copy cp[COPIES_MAX];
	uint8_t *abuf;
	unsigned int nr, ncp = 0, k;
	int ret, cow = pool_cow(fs);

	if (n > sizeof(csum) / sizeof(csum[0]))
		return -EINVAL;
	/* a tail block this write does not touch comes inside the file */
	if (off > in->i_size && start > round_down(in->i_size)) {
		ret = zero_tail(fs, in);
		if (ret < 0)
			return ret;
	}
	abuf = tfs_io_scratch(TFS_SCRATCH_WRITE, end - start);
	if (!abuf)
		return -ENOMEM;
	ret = alloc_chunks(fs, in, fb, n, 0, cls);
	if (ret < 0)
		return ret;
	/* partly covered first and last blocks: merge with what is there; what
	 * lies past the end of file there may be stale (see zero_tail) */
	if (off != start) {
		ret = read_blocks(fs, in, fb, 1, abuf);
		if (ret < 0)
			return ret;
		clear_past_eof(in, start, abuf);
	}
	if (off + size != end && (n > 1 || off == start)) {
		ret = read_blocks(fs, in, fb + n - 1, 1, abuf + (n - 1) * TFS_BLOCK_SIZE);
		if (ret < 0)
			return ret;
		clear_past_eof(in, end - TFS_BLOCK_SIZE, abuf + (n - 1) * TFS_BLOCK_SIZE);
	}
	memcpy(abuf + (off - start), buf, size);
	for (i = 0; i < n; i++)
		csum[i] = tier_block_csum(abuf + i * TFS_BLOCK_SIZE, in->i_ino, fb + i);
	ret = write_intent(fs, in, fb, n);
	if (ret < 0)
		return ret;
	/* the copies (chunks in zones or rados, new chunks bound for the
	 * zones) first: a copy can fail (no room, a cluster that does not
	 * answer) where an overwrite in place would already have replaced
	 * data; nothing names them until the write lands */
	if (cow)
		ret = stage_copies(fs, in, fb, n, abuf, csum, cls, cp, copy_cs, &ncp);
	if (ret == 0) {
		/* (the chunks staged are absent or out of place: skipped) */
		nr = plan_io_flags(fs, in, TFS_IO_WRITE, fb, n, abuf, reqs, PLAN_SKIP_ZONED);
		ret = tfs_io_run(reqs, nr);
		if (ret == 0)
			count_io(fs, reqs, nr);
	}
	if (ret < 0) {
		pthread_mutex_lock(&fs->lock);
		for (k = 0; k < ncp; k++)
			drop_copy(fs, cp[k].dev, cp[k].slot, &cp[k].key);
		pthread_mutex_unlock(&fs->lock);
		tfs_err("write error on inode %llu: %s", (unsigned long long)in->i_ino,
			strerror(-ret));
		return ret == -ENOSPC ? -ENOSPC : ret == -ENOMEM ? -ENOMEM : -EIO;
	}
	pthread_mutex_lock(&fs->lock);
	ret = land_write(fs, in, fb, n, csum, cp, ncp, keep_size ? 0 : off + size);
	pthread_mutex_unlock(&fs->lock);
	return ret < 0 ? ret : (ssize_t)size;
}

static ssize_t write_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off,
			    const void *buf, size_t size, unsigned int cls, int keep_size)
{
	ssize_t ret;

	/* (counted across the I/O: tfs_intents_expire) */
	__atomic_add_fetch(&in->i_os->os_writes, 1, __ATOMIC_ACQ_REL);
	ret = __write_locked(fs, in, off, buf, size, cls, keep_size);
	__atomic_sub_fetch(&in->i_os->os_writes, 1, __ATOMIC_ACQ_REL);
	return ret;
}

ssize_t tfs_write(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf, size_t size)
{
	return tfs_write_cls(fs, in, off, buf, size, TFS_CLASS_MAX);
}

static ssize_t write_cls(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
			 size_t size, unsigned int cls, int cached)
{
	ssize_t ret = 0, done = 0;
	struct tfs_ostate *os;
	uint64_t osize, nospc;

	ret = tfs_meta_throttle(fs->meta);
	if (ret < 0)
		return ret;

	if (off >= TFS_MAX_FILE_SIZE || size > TFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	if (size == 0)
		return 0;
	if (pool_zoned(fs))
		tfs_zns_throttle(fs);
	pthread_rwlock_wrlock(TFS_ILOCK(in));
	os = in->i_os;
	nospc = __atomic_load_n(&os->os_nospc, __ATOMIC_ACQUIRE);
	/* (past the refused place, as tfs_ll_write checks: a write at it is
	 * the refused data written again) */
	if (cached && nospc && off >= nospc) {
		pthread_rwlock_unlock(TFS_ILOCK(in));
		return -ENOSPC;
	}
	/* a write of another kind into what cached writes added: that part
	 * is no longer theirs alone to cut back */
	if (!cached && os->os_grow && off + size > os->os_grow - 1)
		os->os_grow = 0;
	osize = in->i_size;
	while ((size_t)done < size) {
		size_t step = size - (size_t)done > IO_MAX ? IO_MAX : size - (size_t)done;

		ret = write_locked(fs, in, off + (uint64_t)done, (const char *)buf + done, step, cls,
				   0);
		if (ret < 0)
			break;
		done += ret;
	}
	/* the file grew by a cached write: what such writes add can be cut
	 * back when a later one is refused for space */
	if (cached && in->i_size > osize && !os->os_grow)
		os->os_grow = osize + 1;
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return done > 0 ? done : ret;
}

ssize_t tfs_write_cls(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
		      size_t size, unsigned int cls)
{
	return write_cls(fs, in, off, buf, size, cls, 0);
}

ssize_t tfs_write_cached(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
			 size_t size, unsigned int cls)
{
	return write_cls(fs, in, off, buf, size, cls, 1);
}

int tfs_write_refused(struct tfs_fs *fs, struct tfs_inode *in, uint64_t at)
{
	struct tfs_ostate *os;
	uint64_t cur, grow;
	int cut = 0;

	pthread_rwlock_wrlock(TFS_ILOCK(in));
	os = in->i_os;
	cur = __atomic_load_n(&os->os_nospc, __ATOMIC_ACQUIRE);
	if (!cur || at + 1 < cur)
		__atomic_store_n(&os->os_nospc, at + 1, __ATOMIC_RELEASE);
	grow = os->os_grow;
	if (grow && at >= grow - 1 && in->i_size > at) {
		uint64_t was = in->i_size;

		cut = tfs_truncate_locked(fs, in, at) == 0;
		if (cut)
			tfs_info("inode %llu: a cached write at %llu was refused for space after later ones were stored: the file is cut back from %llu bytes",
				 (unsigned long long)in->i_ino, (unsigned long long)at,
				 (unsigned long long)was);
	}
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return cut;
}

/* pool lock, i_rwlock held exclusively: clear the whole blocks [from, to)
 * of @in and free the chunks left empty, in one walk over the groups in the
 * range; *@cleared set if a chunk that stays lost blocks */
static void punch_blocks(struct tfs_fs *fs, struct tfs_inode *in, uint64_t from, uint64_t to,
			 int *cleared)
{
	uint32_t cb = fs->pool.chunk_blocks;
	uint64_t g = (from / cb) >> TIER_GROUP_SHIFT;

	for (;;) {
		struct tier_cgroup *grp = tier_cmap_group_next(&in->i_map, &g);
		uint64_t mask, base;

		if (!grp || (g << TIER_GROUP_SHIFT) * cb >= to)
			break;
		base = g << TIER_GROUP_SHIFT;
		mask = grp->g_present;
		while (mask) {
			unsigned int bit = (unsigned int)__builtin_ctzll(mask);
			uint64_t idx = base + bit, cf = idx * cb, k;
			struct tfs_chunk *c;

			mask &= mask - 1;
			if (cf + cb <= from || cf >= to)
				continue;
			if (cf >= from && cf + cb <= to) {
				tfs_chunk_release(fs, in, idx, 1);
				continue;
			}
			c = tier_cmap_get(&in->i_map, idx);
			for (k = cf < from ? from : cf;
			     k < cf + cb && k < to; k++) {
				if (!tier_chunk_has(c, (uint32_t)(k - cf)))
					continue;
				tier_chunk_clear(c, (uint32_t)(k - cf));
				in->i_map.m_blocks--;
				tfs_chunk_dirty(fs, in, c);
				*cleared = 1;
			}
		}
		g++;
	}
	tfs_inode_dirty(fs, in);
}

/* i_rwlock held exclusively: make [off, end) read as zeros, freeing what it can */
static int punch_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, uint64_t end,
			int *cleared)
{
	static const uint8_t zeros[TFS_BLOCK_SIZE];
	uint64_t fs_b, fe_b, blk;
	uint32_t cb = fs->pool.chunk_blocks;
	int ret = 0;

	if (off >= end)
		return 0;
	/* partial blocks at either edge: overwrite with zeros where data is */
	fs_b = round_up(off);
	fe_b = round_down(end);
	if (fs_b > fe_b) { /* inside one block */
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, off / fs->pool.chunk_size);

		if (c && tier_chunk_has(c, (uint32_t)((off / TFS_BLOCK_SIZE) % cb)))
			ret = write_locked(fs, in, off, zeros, end - off, TFS_CLASS_MAX, 1) < 0
				      ? -EIO
				      : 0;
		return ret;
	}
	for (blk = 0; blk < 2; blk++) {
		uint64_t a = blk ? fe_b : off, b = blk ? end : fs_b;
		struct tfs_chunk *c;

		if (a == b)
			continue;
		c = tier_cmap_get(&in->i_map, a / fs->pool.chunk_size);
		if (c && tier_chunk_has(c, (uint32_t)((a / TFS_BLOCK_SIZE) % cb))) {
			ret = (int)write_locked(fs, in, a, zeros, b - a, TFS_CLASS_MAX, 1);
			if (ret < 0)
				return ret;
			ret = 0;
		}
	}
	/* whole blocks */
	pthread_mutex_lock(&fs->lock);
	punch_blocks(fs, in, fs_b / TFS_BLOCK_SIZE, fe_b / TFS_BLOCK_SIZE, cleared);
	pthread_mutex_unlock(&fs->lock);
	return ret;
}

/*
 * After a punch that set *@cleared (i_rwlock still held, the file's new
 * size in place): blocks cleared in a chunk that stays are holes now, and a
 * later write lands in them in place without a write intent (nothing is
 * overwritten, as far as memory knows).  Until a commit, the durable record
 * still names them with their old checksums: a crash after such a write
 * would condemn its data (EIO).  So the clearing is committed, with the
 * size, before the file can be written again.
 */
static int punched_commit(struct tfs_fs *fs, int cleared)
{
	return cleared ? tfs_commit(fs) : 0;
}

int tfs_truncate_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t size)
{
	int ret = 0, cleared = 0;

	if (size > TFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (size > in->i_size)
		ret = zero_tail(fs, in);
	if (ret == 0) {
		uint64_t from = round_up(size) / TFS_BLOCK_SIZE, cb = fs->pool.chunk_blocks;
		uint64_t to = (from + cb - 1) / cb * cb; /* the end of the last chunk */

		pthread_mutex_lock(&fs->lock);
		/* a shrink: the whole blocks past the end in the chunk that keeps
		 * the new end (its stale tail stays: zero_tail), in the lock
		 * section that moves the end of file, so that no commit sees the
		 * old size with the blocks gone; the chunks after it go whole
		 * below, in one record */
		if (to > round_up(in->i_size) / TFS_BLOCK_SIZE)
			to = round_up(in->i_size) / TFS_BLOCK_SIZE;
		if (size < in->i_size && from < to)
			punch_blocks(fs, in, from, to, &cleared);
		/* drop every chunk past the end, even preallocated ones */
		tfs_chunks_trunc(fs, in, (size + fs->pool.chunk_size - 1) >> fs->pool.chunk_shift);
		in->i_size = size;
		tfs_inode_dirty(fs, in);
		pthread_mutex_unlock(&fs->lock);
		ret = punched_commit(fs, cleared);
	}
	return ret;
}

static int block_has(struct tfs_fs *fs, struct tfs_inode *in, uint64_t fb)
{
	struct tfs_chunk *c = tier_cmap_get(&in->i_map, fb / fs->pool.chunk_blocks);

	return c && tier_chunk_has(c, (uint32_t)(fb % fs->pool.chunk_blocks));
}

/*
 * i_rwlock held exclusively: blocks [from, from+n) go to [to, to+n), holes
 * staying holes (a run of data is read, verified and written again with
 * checksums of its new place; a run of holes is punched there).  Windows of
 * IO_MAX go front to back when moving down and back to front when moving
 * up, and so do the runs inside a window, so no block is written before it
 * was read.
 */
static int shift_blocks(struct tfs_fs *fs, struct tfs_inode *in, uint64_t from, uint64_t to,
			uint64_t n, int *cleared)
{
	const uint64_t step = IO_MAX / TFS_BLOCK_SIZE;
	int down = to < from, ret = 0;
	uint8_t *buf = tfs_io_alloc(IO_MAX);
	uint64_t k, m;

	if (!buf)
		return -ENOMEM;
	for (k = 0; k < n && ret == 0; k += m) {
		uint64_t src, dst, b = 0;

		m = n - k < step ? n - k : step;
		src = down ? from + k : from + n - k - m;
		dst = down ? to + k : to + n - k - m;
		while (b < m && ret == 0) {
			/* the next run: from the front when moving down, from the
			 * back when moving up */
			uint64_t first = down ? b : m - 1 - b, r = 1, s;
			int data = block_has(fs, in, src + first);

			while (b + r < m &&
			       block_has(fs, in, src + (down ? first + r : first - r)) == data)
				r++;
			s = down ? first : first + 1 - r;
			if (data) {
				ret = read_blocks(fs, in, src + s, r, buf);
				if (ret == 0) {
					ssize_t w = write_locked(fs, in, (dst + s) * TFS_BLOCK_SIZE, buf,
								 r * TFS_BLOCK_SIZE, TFS_CLASS_MAX, 0);

					ret = w < 0 ? (int)w : 0;
				}
			} else {
				ret = punch_locked(fs, in, (dst + s) * TFS_BLOCK_SIZE,
						   (dst + s + r) * TFS_BLOCK_SIZE, cleared);
			}
			b += r;
		}
	}
	tfs_io_free(buf);
	return ret;
}

/*
 * FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE, as ext4 has them:
 * block-aligned, inside the file, alone.  The data past the range is moved
 * (holes kept): the cost is that of reading and writing it.  Room for it
 * is checked first; a read error (a damaged block) or a crash in the middle
 * leaves the file partly shifted (nothing of it was acknowledged yet).
 */
static int shift_range(struct tfs_fs *fs, struct tfs_inode *in, int mode, uint64_t off,
		       uint64_t len)
{
	uint64_t size, nb, ob = off / TFS_BLOCK_SIZE, lb = len / TFS_BLOCK_SIZE;
	int ret = 0, cleared = 0;
	struct timespec now;

	/* alone, as the kernel's fallocate wants them */
	if (mode != FALLOC_FL_COLLAPSE_RANGE && mode != FALLOC_FL_INSERT_RANGE)
		return -EOPNOTSUPP;
	if (!len || off % TFS_BLOCK_SIZE || len % TFS_BLOCK_SIZE)
		return -EINVAL;
	pthread_rwlock_wrlock(TFS_ILOCK(in));
	in->i_os->os_grow = 0; /* (cached growth moves: never cut back) */
	size = in->i_size;
	nb = (size + TFS_BLOCK_SIZE - 1) / TFS_BLOCK_SIZE;
	if (off < size) {
		/* room for every chunk the shift may write (a copy of each, on
		 * zones), before anything moves: an ENOSPC half way would leave
		 * the file partly shifted */
		uint64_t cb = fs->pool.chunk_blocks;
		uint64_t span = mode == FALLOC_FL_INSERT_RANGE ? nb - ob + lb : nb - ob;

		pthread_mutex_lock(&fs->lock);
		if (tfs_data_room(fs, in->i_uid, 0) < (span + cb - 1) / cb + 2)
			ret = -ENOSPC;
		pthread_mutex_unlock(&fs->lock);
		if (ret < 0)
			goto out_unlock;
	}
	if (mode == FALLOC_FL_COLLAPSE_RANGE) {
		if (off >= size || len >= size - off) {
			ret = -EINVAL;
			goto out_unlock;
		}
		ret = shift_blocks(fs, in, ob + lb, ob, nb - ob - lb, &cleared);
		if (ret == 0)
			ret = tfs_truncate_locked(fs, in, size - len);
	} else {
		if (off >= size) {
			ret = -EINVAL;
			goto out_unlock;
		}
		if (len > TFS_MAX_FILE_SIZE - size) {
			ret = -EFBIG;
			goto out_unlock;
		}
		ret = zero_tail(fs, in);
		if (ret == 0)
			ret = shift_blocks(fs, in, ob, ob + lb, nb - ob, &cleared);
		if (ret == 0)
			ret = punch_locked(fs, in, off, off + len, &cleared);
		pthread_mutex_lock(&fs->lock);
		if (ret == 0)
			in->i_size = size + len;
		pthread_mutex_unlock(&fs->lock);
	}
	if (ret == 0) {
		pthread_mutex_lock(&fs->lock);
		tfs_touch(&now);
		tfs_itimes_set(in, TFS_T_M | TFS_T_C, now);
		tfs_inode_dirty(fs, in);
		pthread_mutex_unlock(&fs->lock);
		ret = punched_commit(fs, cleared);
	}
out_unlock:
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

int tfs_fallocate(struct tfs_fs *fs, struct tfs_inode *in, int mode, uint64_t off, uint64_t len)
{
	uint64_t end;
	int ret = 0, cleared = 0;

	ret = tfs_meta_throttle(fs->meta);
	if (ret < 0)
		return ret;

	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE))
		return shift_range(fs, in, mode, off, len);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && (mode & FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (len == 0)
		return -EINVAL;
	if (off >= TFS_MAX_FILE_SIZE || len > TFS_MAX_FILE_SIZE - off)
		return -EFBIG;
	end = off + len;
	pthread_rwlock_wrlock(TFS_ILOCK(in));
	/* the size and the blocks past the cached growth are not all the
	 * cached writes' any more: never cut back (tfs_write_refused) */
	in->i_os->os_grow = 0;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > in->i_size)
		ret = zero_tail(fs, in);
	if (ret == 0 && (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)))
		ret = punch_locked(fs, in, off, end, &cleared);
	if (ret == 0 && !(mode & FALLOC_FL_PUNCH_HOLE))
		ret = alloc_chunks(fs, in, off / TFS_BLOCK_SIZE,
				   (round_up(end) - round_down(off)) / TFS_BLOCK_SIZE, 1, TFS_CLASS_MAX);
	pthread_mutex_lock(&fs->lock);
	if (ret == 0 && !(mode & FALLOC_FL_KEEP_SIZE) && end > in->i_size)
		in->i_size = end;
	if (ret == 0) {
		struct timespec now;

		tfs_touch(&now);
		tfs_itimes_set(in, TFS_T_M | TFS_T_C, now);
		tfs_inode_dirty(fs, in);
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret == 0)
		ret = punched_commit(fs, cleared);
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

int64_t tfs_lseek(struct tfs_fs *fs, struct tfs_inode *in, int64_t off, int whence)
{
	uint64_t blk, size;
	uint32_t cb = fs->pool.chunk_blocks;
	int64_t ret;

	if (off < 0)
		return -ENXIO;
	pthread_rwlock_rdlock(TFS_ILOCK(in));
	size = in->i_size;
	if ((uint64_t)off >= size) {
		ret = -ENXIO;
		goto unlock;
	}
	for (blk = (uint64_t)off / TFS_BLOCK_SIZE; blk * TFS_BLOCK_SIZE < size;) {
		uint64_t idx = blk / cb;
		struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
		int data = c && tier_chunk_has(c, (uint32_t)(blk % cb));

		if (data == (whence == SEEK_DATA))
			break;
		if (!c && whence == SEEK_DATA) {
			/* skip the whole hole to the next chunk */
			c = tier_cmap_next(&in->i_map, idx);
			if (!c) {
				blk = (size + TFS_BLOCK_SIZE - 1) / TFS_BLOCK_SIZE;
				break;
			}
			blk = (uint64_t)c->c_idx * cb;
			continue;
		}
		blk++;
	}
	ret = (int64_t)(blk * TFS_BLOCK_SIZE);
	if (ret < off)
		ret = off;
	if ((uint64_t)ret >= size)
		ret = whence == SEEK_DATA ? -ENXIO : (int64_t)size;
unlock:
	pthread_rwlock_unlock(TFS_ILOCK(in));
	return ret;
}

/* pool lock: the owner, group and mode parts of a setattr */
static void set_ids_locked(struct tfs_fs *fs, struct tfs_inode *in, const struct stat *attr,
			   unsigned int valid)
{
	if (valid & TFS_SET_MODE)
		in->i_mode = (in->i_mode & S_IFMT) | (attr->st_mode & 07777);
	if (valid & TFS_SET_UID)
		in->i_uid = attr->st_uid;
	if (valid & TFS_SET_GID)
		in->i_gid = attr->st_gid;
	if (valid & TFS_SET_KILL_PRIV)
		tfs_kill_priv_locked(fs, in);
	tfs_inode_dirty(fs, in);
}

int tfs_setattr(struct tfs_fs *fs, uint64_t ino, const struct stat *attr, unsigned int valid,
		struct stat *out)
{
	struct tfs_inode *in;
	struct timespec now;
	int ret = 0;

	ret = tfs_meta_throttle(fs->meta);
	if (ret < 0)
		return ret;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	ret = !in ? -ESTALE : fs->ns.readonly ? -EROFS : tfs_meta_readonly(fs->meta) ? -EIO : 0;
	if (ret == 0 && (valid & TFS_SET_SIZE))
		ret = S_ISDIR(in->i_mode) ? -EISDIR : !S_ISREG(in->i_mode) ? -EINVAL : 0;
	/* the data lock is only there while the inode is held */
	if (ret == 0 && (valid & TFS_SET_SIZE))
		ret = tfs_inode_hold(fs, in);
	/* owner and mode before the size: a truncate commits on its own when
	 * it clears blocks, and a crash after it must not leave the file
	 * changed with the set-id bits the change was to take away */
	if (ret == 0 && (valid & TFS_SET_SIZE))
		set_ids_locked(fs, in, attr, valid);
	pthread_mutex_unlock(&fs->lock);
	if (ret < 0)
		return ret;
	tfs_touch(&now);
	if (valid & TFS_SET_SIZE) {
		pthread_rwlock_wrlock(TFS_ILOCK(in));
		ret = tfs_truncate_locked(fs, in, (uint64_t)attr->st_size);
		/* cached writes refused for space (ll_ops.c): over; what
		 * they added is no longer theirs to cut back */
		__atomic_store_n(&in->i_os->os_nospc, 0, __ATOMIC_RELEASE);
		in->i_os->os_grow = 0;
		pthread_rwlock_unlock(TFS_ILOCK(in));
		if (ret < 0 && (valid & (TFS_SET_MODE | TFS_SET_UID | TFS_SET_GID |
					 TFS_SET_KILL_PRIV))) {
			/* the size failed, what was set before it stays */
			pthread_mutex_lock(&fs->lock);
			tfs_itime_set(in, TFS_CT, now);
			tfs_inode_dirty(fs, in);
			pthread_mutex_unlock(&fs->lock);
		}
		tfs_release(fs, in);
		if (ret < 0)
			return ret;
	}
	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in) {
		pthread_mutex_unlock(&fs->lock);
		return -ESTALE;
	}
	if (!(valid & TFS_SET_SIZE))
		set_ids_locked(fs, in, attr, valid);
	if (valid & TFS_SET_ATIME_NOW)
		tfs_itime_set(in, TFS_AT, now);
	else if (valid & TFS_SET_ATIME)
		tfs_itime_set(in, TFS_AT, attr->st_atim);
	if (valid & TFS_SET_MTIME_NOW)
		tfs_itime_set(in, TFS_MT, now);
	else if (valid & TFS_SET_MTIME)
		tfs_itime_set(in, TFS_MT, attr->st_mtim);
	else if (valid & TFS_SET_SIZE)
		tfs_itime_set(in, TFS_MT, now);
	if (valid & TFS_SET_CTIME)
		tfs_itime_set(in, TFS_CT, attr->st_ctim);
	else if (valid)
		tfs_itime_set(in, TFS_CT, now);
	tfs_inode_dirty(fs, in);
	tfs_stat_fill(fs, in, out);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

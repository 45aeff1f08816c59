/*
 * src/journal.c - making metadata durable: the journal and checkpoints.
 *
 * The journal lives on the metadata device (s_meta_dev, the fastest: pmem
 * when the pool has one), the checkpoints on s_ckpt_dev (the first capacity
 * device, so that a small pmem device is not filled with them):
 *
 *   checkpoint slot A, slot B   a 4 KiB header (magic, checkpoint sequence,
 *                               first journal sequence to replay, next inode
 *                               number, payload length, XXH3 of the payload,
 *                               XXH3 of the header) and the whole pool as a
 *                               record stream (meta.c).  Slots alternate; the
 *                               valid one with the highest sequence wins.
 *   journal, two halves         one half per checkpoint slot.  The
 *                               transactions that follow the checkpoint in
 *                               slot X go to half X from its offset 0, each a
 *                               48-byte header (magic, sequence, payload
 *                               length, record count, next inode, XXH3 of the
 *                               payload, XXH3 of the header, both seeded with
 *                               the sequence) and its records, padded to
 *                               TFS_BLOCK_SIZE on a block device and to a
 *                               cache line on pmem.
 *
 * On pmem a transaction has a commit point of its own: everything but its
 * first 8 bytes (magic and length) is stored and persisted, then those 8
 * bytes are written with one aligned store and persisted.  Until that store
 * is durable the transaction does not exist; the checksums still catch a
 * stale or torn one.
 *
 * Commit (tfs_commit): under the pool lock take the logged records, the
 * states of dirty inodes and chunks and the list of freed slots; drop the
 * lock; flush every data device written since its last flush (data=ordered:
 * a record describing data is only written after that data is durable); write
 * the transaction and flush the metadata device; only then may the freed
 * slots be reused.  Commits are serialised by commit_lock, and every caller
 * that finds its change already covered returns at once (group commit).
 *
 * Replay (tfs_journal_load): newest valid checkpoint, then the transactions
 * of its half as long as the sequence is the expected next one and both
 * checksums verify.  The first that does not is the end: a torn or stale tail
 * is never applied.  Then, if the other half starts with exactly the next
 * sequence, replay goes on there: that is the case where the newer
 * checkpoint is damaged and the older one was loaded instead.  Its half runs
 * up to where the newer checkpoint was taken, and the newer half from there,
 * so either slot plus the journal gives the whole pool.
 *
 * Checkpoints.  When a quarter of the current half is used, the commit asks
 * the daemon's background thread for a checkpoint, which is taken while the
 * pool keeps changing (ckpt_run, below): the journal moves to the other
 * slot's half at once, the pool is serialised in small batches under the pool
 * lock, and the image written to the other slot says "replay from here".
 * Requests wait at most one batch (well under a millisecond measured with
 * 20,000 files and a 12,000-chunk file).  Only two cases take the whole pool
 * at once under the lock: a forced checkpoint (mkfs, unmount, repair), and a
 * single transaction too big for what is left of the half (the background
 * thread is asked to commit early so that bursts of changes do not grow one).
 * If a checkpoint write is torn, the old slot and its untouched half still
 * describe the pool.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tfs.h"

#define CKPT_HDR 4096u

static uint64_t pool_seed(const struct tfs_fs *fs, uint64_t seq)
{
	uint64_t s;

	memcpy(&s, fs->sb.s_pool_uuid, 8);
	return s ^ (seq * 0x9E3779B97F4A7C15ull);
}

static uint64_t round_block(uint64_t n)
{
	return (n + TFS_BLOCK_SIZE - 1) & ~(uint64_t)(TFS_BLOCK_SIZE - 1);
}

static struct tfs_io_dev *meta_dev(struct tfs_fs *fs)
{
	return &fs->dev[fs->sb.s_meta_dev];
}

static struct tfs_io_dev *ckpt_dev(struct tfs_fs *fs)
{
	return &fs->dev[fs->sb.s_ckpt_dev];
}

static int meta_byte(struct tfs_fs *fs)
{
	return (meta_dev(fs)->d_ops->flags & TFS_IO_BYTE) != 0;
}

/* transactions start at multiples of this */
static uint64_t jalign(struct tfs_fs *fs)
{
	return meta_byte(fs) ? TFS_PMEM_LINE : TFS_BLOCK_SIZE;
}

static uint64_t round_txn(struct tfs_fs *fs, uint64_t n)
{
	uint64_t a = jalign(fs);

	return (n + a - 1) & ~(a - 1);
}

/* bytes in one journal half */
static uint64_t half_len(const struct tfs_fs *fs)
{
	return (fs->sb.s_jrnl_len / 2) & ~(uint64_t)(TFS_BLOCK_SIZE - 1);
}

static uint64_t half_off(const struct tfs_fs *fs, unsigned int half)
{
	return fs->sb.s_jrnl_off + half * half_len(fs);
}

static int dev_io(struct tfs_io_dev *dev, unsigned int op, void *buf, size_t len, uint64_t off)
{
	struct tfs_io_req req = {
		.r_dev = dev, .r_op = op, .r_buf = buf, .r_len = (uint32_t)len, .r_off = off,
		.r_flags = TFS_IO_F_META,
	};

	return tfs_io_run(&req, 1);
}

static int jrnl_io(struct tfs_fs *fs, unsigned int op, void *buf, size_t len, uint64_t off)
{
	return dev_io(meta_dev(fs), op, buf, len, off);
}

static int ckpt_io(struct tfs_fs *fs, unsigned int op, void *buf, size_t len, uint64_t off)
{
	return dev_io(ckpt_dev(fs), op, buf, len, off);
}

/* ---------------------------------------------------------------- load */

struct ckpt_hdr {
	uint64_t seq, jseq, next_ino, len, csum;
};

static int ckpt_read_hdr(struct tfs_fs *fs, unsigned int slot, uint8_t *blk, struct ckpt_hdr *h)
{
	struct tfs_rbuf r = { .p = blk, .len = CKPT_HDR };
	uint64_t csum;
	int ret;

	ret = ckpt_io(fs, TFS_IO_READ, blk, CKPT_HDR, fs->sb.s_ckpt_off[slot]);
	if (ret < 0)
		return ret;
	if (tfs_get_u64(&r) != TFS_CKPT_MAGIC)
		return -EINVAL;
	h->seq = tfs_get_u64(&r);
	h->jseq = tfs_get_u64(&r);
	h->next_ino = tfs_get_u64(&r);
	h->len = tfs_get_u64(&r);
	h->csum = tfs_get_u64(&r);
	csum = tfs_get_u64(&r);
	if (csum != tfs_hash(blk, 48, pool_seed(fs, h->seq)))
		return -EINVAL;
	if (h->len > fs->sb.s_ckpt_len - CKPT_HDR)
		return -EINVAL;
	return 0;
}

static int ckpt_load(struct tfs_fs *fs, unsigned int slot, const struct ckpt_hdr *h)
{
	uint8_t *buf;
	int ret;

	buf = tfs_io_alloc(round_block(h->len));
	if (!buf)
		return -ENOMEM;
	ret = ckpt_io(fs, TFS_IO_READ, buf, round_block(h->len), fs->sb.s_ckpt_off[slot] + CKPT_HDR);
	if (ret < 0)
		goto out_free_buf;
	if (tfs_hash(buf, h->len, pool_seed(fs, h->seq)) != h->csum) {
		ret = -EINVAL;
		goto out_free_buf;
	}
	ret = meta_apply_all(fs, buf, h->len);
	if (ret == 0) {
		fs->meta_bytes = h->len;
		if (h->next_ino > fs->next_ino)
			fs->next_ino = h->next_ino;
	}
out_free_buf:
	tfs_io_free(buf);
	return ret;
}

struct txn_hdr {
	uint32_t magic, len, nrec;
	uint64_t seq, next_ino, csum, hcsum;
};

static void txn_hdr_decode(const uint8_t *b, struct txn_hdr *h)
{
	struct tfs_rbuf r = { .p = b, .len = TFS_JHDR_SIZE };

	h->magic = tfs_get_u32(&r);
	h->len = tfs_get_u32(&r);
	h->seq = tfs_get_u64(&r);
	h->nrec = tfs_get_u32(&r);
	tfs_get_u32(&r);
	h->next_ino = tfs_get_u64(&r);
	h->csum = tfs_get_u64(&r);
	h->hcsum = tfs_get_u64(&r);
}

/* replay half @half from its start, expecting fs->jseq first; returns
 * transactions applied or -errno, and leaves fs->jseq/joff after the last */
static int journal_replay(struct tfs_fs *fs, unsigned int half, int *clean)
{
	uint64_t len = half_len(fs), off = 0, seq = fs->jseq, span, a = jalign(fs);
	uint8_t *blk = tfs_io_alloc(TFS_BLOCK_SIZE), *buf = NULL;
	struct txn_hdr h;
	int n = 0, ret = 0;

	if (!blk)
		return -ENOMEM;
	while (off + a <= len) {
		ret = jrnl_io(fs, TFS_IO_READ, blk, a, half_off(fs, half) + off);
		if (ret < 0)
			break;
		txn_hdr_decode(blk, &h);
		if (h.magic != TFS_JRNL_MAGIC || h.seq != seq ||
		    h.hcsum != tfs_hash(blk, TFS_JHDR_SIZE - 8, pool_seed(fs, seq)))
			break;
		span = round_txn(fs, TFS_JHDR_SIZE + (uint64_t)h.len);
		if (off + span > len)
			break;
		tfs_io_free(buf);
		buf = tfs_io_alloc(span);
		if (!buf) {
			ret = -ENOMEM;
			break;
		}
		ret = jrnl_io(fs, TFS_IO_READ, buf, span, half_off(fs, half) + off);
		if (ret < 0)
			break;
		if (tfs_hash(buf + TFS_JHDR_SIZE, h.len, pool_seed(fs, seq)) != h.csum)
			break; /* torn tail */
		ret = meta_apply_all(fs, buf + TFS_JHDR_SIZE, h.len);
		if (ret < 0) {
			tfs_err("journal transaction %llu is valid but does not apply (%s)",
				(unsigned long long)seq, strerror(-ret));
			ret = -EUCLEAN;
			break;
		}
		/* a transaction holding only the unmount record marks a clean stop */
		*clean = (h.nrec == 1 && buf[TFS_JHDR_SIZE] == TFS_REC_UNMOUNT);
		if (h.next_ino > fs->next_ino)
			fs->next_ino = h.next_ino;
		fs->meta_bytes += h.len;
		off += span;
		seq++;
		n++;
	}
	tfs_io_free(buf);
	tfs_io_free(blk);
	if (ret < 0)
		return ret;
	fs->jseq = seq;
	fs->joff = off;
	return n;
}

static void drop_inodes(struct tfs_fs *fs)
{
	size_t b;

	for (b = 0; b < fs->inodes.t_size; b++)
		while (fs->inodes.t_b[b])
			tfs_inode_destroy(fs, tfs_container_of(fs->inodes.t_b[b], struct tfs_inode,
							       i_hnode));
	fs->next_ino = TFS_ROOT_INO + 1;
	fs->meta_bytes = 0;
}

int tfs_journal_load(struct tfs_fs *fs)
{
	struct ckpt_hdr h[2];
	int ok[2], order[2], i, ret, clean, n;
	uint8_t *blk;

	blk = tfs_io_alloc(CKPT_HDR);
	if (!blk)
		return -ENOMEM;
	for (i = 0; i < 2; i++)
		ok[i] = ckpt_read_hdr(fs, (unsigned int)i, blk, &h[i]) == 0;
	tfs_io_free(blk);
	order[0] = (ok[1] && (!ok[0] || h[1].seq > h[0].seq)) ? 1 : 0;
	order[1] = 1 - order[0];
	ret = -EINVAL;
	fs->loading = 1;
	for (i = 0; i < 2; i++) {
		int s = order[i];

		if (!ok[s])
			continue;
		ret = ckpt_load(fs, (unsigned int)s, &h[s]);
		if (ret == 0) {
			fs->ckpt_seq = h[s].seq;
			fs->ckpt_slot = (unsigned int)s;
			fs->jseq = h[s].jseq;
			if (i > 0)
				tfs_warn("newest checkpoint is damaged; using the older one");
			break;
		}
		tfs_warn("checkpoint slot %c is damaged (%s)", 'A' + s, strerror(-ret));
		drop_inodes(fs); /* a partial load, before trying the other slot */
	}
	fs->loading = 0;
	if (ret < 0) {
		tfs_err("no valid checkpoint on %s", ckpt_dev(fs)->d_path);
		return -EUCLEAN;
	}
	fs->loading = 1;
	clean = 0;
	fs->jhalf = fs->ckpt_slot;
	n = journal_replay(fs, fs->jhalf, &clean);
	if (n >= 0) {
		uint64_t joff = fs->joff;
		int more = journal_replay(fs, 1 - fs->jhalf, &clean);

		if (more > 0) {
			/* the newer checkpoint is damaged; its half carried on from
			 * where the older one's ended.  Write a new checkpoint over
			 * the damaged slot before anything else. */
			tfs_warn("recovered from the older checkpoint and %d + %d journal transactions",
				 n, more);
			fs->jhalf = 1 - fs->jhalf;
			fs->need_ckpt = 1;
			n += more;
		} else if (more == 0) {
			fs->joff = joff;
		} else {
			n = more;
		}
	}
	fs->loading = 0;
	if (n < 0)
		return n;
	if (!clean && n > 0)
		tfs_info("recovered %d journal transaction%s after an unclean shutdown", n,
			 n == 1 ? "" : "s");
	ret = meta_finish_load(fs);
	if (ret < 0)
		return ret;
	fs->committed_gen = fs->change_gen;
	return 0;
}

/* ---------------------------------------------------------------- commit */

struct commit {
	struct tfs_wbuf w;	   /* records */
	uint32_t nrec;
	struct tfs_free_slot *fp;  /* slots to release after the commit */
	size_t nfp;
	uint64_t gen, next_ino;
};

/*
 * pool lock held: drop write intents of chunks not written for
 * TFS_INTENT_MS (all of them when @all); the chunk goes on the commit list
 * so that its record without the intent is written.
 */
static void intents_expire(struct tfs_fs *fs, int all)
{
	uint64_t now = tfs_now_ms();
	struct tfs_list *l, *next;

	for (l = fs->intent_chunks.next; l != &fs->intent_chunks; l = next) {
		struct tfs_chunk *ch = tfs_container_of(l, struct tfs_chunk, c_intent);

		next = l->next;
		if (!all && now - ch->c_written < TFS_INTENT_MS)
			continue;
		ch->c_flags &= ~TIER_CHUNK_INTENT;
		tfs_list_del(l);
		tfs_chunk_dirty(fs, ch);
	}
}

/* pool lock held: move everything pending into @c */
static void commit_take(struct tfs_fs *fs, struct commit *c, int full)
{
	struct tfs_list *l;

	intents_expire(fs, 0);
	c->gen = fs->change_gen;
	c->next_ino = fs->next_ino;
	if (full) {
		meta_serialize(fs, &c->w);
		tfs_wbuf_free(&fs->jbuf);
	} else {
		c->w = fs->jbuf;
		memset(&fs->jbuf, 0, sizeof(fs->jbuf));
		c->nrec = fs->jnrec;
		if (fs->zstat_gen != fs->zstat_logged) {
			unsigned int d;

			meta_put_devstats(fs, &c->w);
			for (d = 0; d < fs->ndev; d++)
				c->nrec += fs->zspz[d] != 0;
		}
	}
	fs->zstat_logged = fs->zstat_gen;
	fs->jnrec = 0;
	while (!tfs_list_empty(&fs->dirty_inodes)) {
		struct tfs_inode *in;

		l = fs->dirty_inodes.next;
		in = tfs_container_of(l, struct tfs_inode, i_dirty);
		tfs_list_del(l);
		in->i_flags &= ~TFS_I_DIRTY;
		if (!full) {
			meta_put_inode(&c->w, in);
			c->nrec++;
		}
	}
	while (!tfs_list_empty(&fs->dirty_chunks)) {
		struct tfs_chunk *ch;

		l = fs->dirty_chunks.next;
		ch = tfs_container_of(l, struct tfs_chunk, c_dirty);
		tfs_list_del(l);
		ch->c_flags &= ~TIER_CHUNK_DIRTY;
		if (!full) {
			meta_put_chunk(&c->w, ch);
			c->nrec++;
		}
	}
	fs->pend_bytes = 0;
	fs->commit_kicked = 0;
	c->fp = fs->fpend;
	c->nfp = fs->fpend_len;
	fs->fpend = NULL;
	fs->fpend_len = fs->fpend_cap = 0;
}

static void commit_release(struct tfs_fs *fs, struct commit *c)
{
	size_t i;
	int reclaim = 0;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < c->nfp; i++)
		reclaim |= tier_alloc_release(&fs->alloc, c->fp[i].dev, c->fp[i].slot);
	if (reclaim)
		tfs_cleaner_kick(fs); /* a zone has nothing live: reset it */
	pthread_mutex_unlock(&fs->lock);
	free(c->fp);
	c->fp = NULL;
	tfs_wbuf_free(&c->w);
}

/* data=ordered: whatever the records describe must be durable first */
static int flush_data(struct tfs_fs *fs)
{
	unsigned int d;
	int ret;

	for (d = 0; d < fs->ndev; d++) {
		if (!__atomic_load_n(&fs->dev[d].d_dirty, __ATOMIC_ACQUIRE))
			continue;
		ret = tfs_io_flush(&fs->dev[d]);
		if (ret < 0) {
			tfs_err("flush of %s failed: %s", fs->dev[d].d_path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int write_txn(struct tfs_fs *fs, const uint8_t *p, size_t len, uint32_t nrec,
		     uint64_t next_ino)
{
	uint64_t span = round_txn(fs, TFS_JHDR_SIZE + len), seed = pool_seed(fs, fs->jseq);
	uint64_t off = half_off(fs, fs->jhalf) + fs->joff, word;
	struct tfs_wbuf hw = { 0 };
	uint8_t *buf;
	int ret;

	buf = tfs_io_alloc(span);
	if (!buf)
		return -ENOMEM;
	memset(buf + TFS_JHDR_SIZE + len, 0, span - TFS_JHDR_SIZE - len);
	memcpy(buf + TFS_JHDR_SIZE, p, len);
	tfs_put_u32(&hw, TFS_JRNL_MAGIC);
	tfs_put_u32(&hw, (uint32_t)len);
	tfs_put_u64(&hw, fs->jseq);
	tfs_put_u32(&hw, nrec);
	tfs_put_u32(&hw, 0);
	tfs_put_u64(&hw, next_ino);
	tfs_put_u64(&hw, tfs_hash(p, len, seed));
	ret = hw.err;
	if (ret == 0) {
		memcpy(buf, hw.b, 40);
		tfs_put_u64(&hw, tfs_hash(buf, 40, seed));
		ret = hw.err;
	}
	if (ret == 0) {
		memcpy(buf, hw.b, TFS_JHDR_SIZE);
		if (meta_byte(fs)) {
			/* body first, then the commit point (see top) */
			ret = jrnl_io(fs, TFS_IO_WRITE, buf + 8, span - 8, off + 8);
			memcpy(&word, buf, 8);
			if (ret == 0)
				ret = tfs_pmem_store8(meta_dev(fs), off, word);
		} else {
			ret = jrnl_io(fs, TFS_IO_WRITE, buf, span, off);
			if (ret == 0)
				ret = tfs_io_flush(meta_dev(fs));
		}
	}
	tfs_wbuf_free(&hw);
	tfs_io_free(buf);
	if (ret < 0)
		return ret;
	tfs_debug("commit %llu: %u records, %zu bytes, journal half %u at %llu",
		  (unsigned long long)fs->jseq, nrec, len, fs->jhalf, (unsigned long long)fs->joff);
	fs->joff += span;
	fs->jseq++;
	fs->meta_bytes += len;
	fs->commits++;
	return 0;
}

/* write checkpoint @seq holding the stream @w to @slot and flush it; replay
 * of the journal goes on from sequence @jseq */
static int ckpt_write(struct tfs_fs *fs, unsigned int slot, uint64_t seq, uint64_t jseq,
		      const struct tfs_wbuf *w, uint64_t next_ino)
{
	uint64_t span = CKPT_HDR + round_block(w->len);
	struct tfs_wbuf hw = { 0 };
	uint8_t *buf;
	int ret;

	if (span > fs->sb.s_ckpt_len) {
		tfs_err("metadata (%zu bytes) no longer fits a checkpoint slot (%llu bytes)",
			w->len, (unsigned long long)fs->sb.s_ckpt_len);
		return -ENOSPC;
	}
	buf = tfs_io_alloc(span);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, span);
	memcpy(buf + CKPT_HDR, w->b, w->len);
	tfs_put_u64(&hw, TFS_CKPT_MAGIC);
	tfs_put_u64(&hw, seq);
	tfs_put_u64(&hw, jseq);
	tfs_put_u64(&hw, next_ino);
	tfs_put_u64(&hw, w->len);
	tfs_put_u64(&hw, tfs_hash(w->b, w->len, pool_seed(fs, seq)));
	ret = hw.err;
	if (ret == 0) {
		tfs_put_u64(&hw, tfs_hash(hw.b, 48, pool_seed(fs, seq)));
		ret = hw.err;
	}
	if (ret == 0) {
		memcpy(buf, hw.b, 56);
		ret = ckpt_io(fs, TFS_IO_WRITE, buf, span, fs->sb.s_ckpt_off[slot]);
	}
	if (ret == 0)
		ret = tfs_io_flush(ckpt_dev(fs));
	tfs_wbuf_free(&hw);
	tfs_io_free(buf);
	if (ret == 0)
		tfs_debug("checkpoint %llu: %zu bytes in slot %c, replay from %llu",
			  (unsigned long long)seq, w->len, 'A' + slot, (unsigned long long)jseq);
	return ret;
}

/* pool lock held: at least the bytes the next transaction's records take */
static size_t commit_estimate(struct tfs_fs *fs)
{
	size_t n = fs->jbuf.len, chunk = 64 + (fs->chunk_blocks + 63) / 64 * 8 + fs->chunk_blocks * 4;
	struct tfs_list *l;

	for (l = fs->dirty_inodes.next; l != &fs->dirty_inodes; l = l->next) {
		struct tfs_inode *in = tfs_container_of(l, struct tfs_inode, i_dirty);

		n += 192 + (in->i_symlink ? strlen(in->i_symlink) : 0);
	}
	for (l = fs->dirty_chunks.next; l != &fs->dirty_chunks; l = l->next)
		n += chunk;
	for (l = fs->intent_chunks.next; l != &fs->intent_chunks; l = l->next)
		n += chunk; /* an expiring intent is one more chunk record */
	return n;
}

#define CKPT_BATCH (64u << 10) /* bytes of records serialised per pool-lock hold */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int __commit(struct tfs_fs *fs, int force_ckpt, int builder);

/*
 * A checkpoint taken while the pool keeps changing (commit_lock held on entry
 * and on return; dropped while it works).
 *
 *  1. The journal moves to the other slot's half at sequence J: every change
 *     from now on is committed there, while the old checkpoint and its half
 *     stay as they are.
 *  2. The pool is serialised a batch at a time, each under the pool lock
 *     (held for about CKPT_BATCH bytes of records, a big directory taken in
 *     several; the table does not resize meanwhile).  Requests run between batches, so the
 *     image is fuzzy: each object is as it was at some moment after J.
 *  3. Everything changed so far is committed (from J on), and the data
 *     devices flushed: the image describes nothing that is not durable.
 *  4. The image goes to the other slot with "replay from J".
 *
 * Loading it and replaying the journal from J applies every change made
 * after J again, in order.  Records are whole states or removals, and a
 * removal of what is already gone is no error (meta.c), so each object ends
 * as its last journalled change left it: the pool as of the last commit.  A
 * crash before step 4 completes leaves the old checkpoint, its half up to
 * J - 1, and this half from J: the "other half goes on" case of replay.
 */
static int ckpt_run(struct tfs_fs *fs)
{
	uint64_t jseq, seq, next_ino = 0, t0, t;
	struct tfs_wbuf w = { 0 };
	struct meta_cursor cur = { 0, 0, 0 };
	struct tfs_wbuf part = { 0 };
	unsigned int slot;
	int ret = 0, done = 0;

	if (fs->ckpt_building) {
		while (fs->ckpt_building)
			pthread_cond_wait(&fs->ckpt_cond, &fs->commit_lock);
		return fs->readonly ? -EROFS : 0;
	}
	slot = 1 - fs->ckpt_slot;
	seq = fs->ckpt_seq + 1;
	jseq = fs->jseq;
	fs->jhalf = slot;
	fs->joff = 0;
	fs->ckpt_building = 1;
	fs->ckpt_wanted = 0;
	pthread_mutex_unlock(&fs->commit_lock);

	pthread_mutex_lock(&fs->lock);
	fs->inodes.t_frozen++;
	pthread_mutex_unlock(&fs->lock);
	while (ret == 0 && !done) {
		/* each batch into a small buffer, appended to the image outside
		 * the lock: growing a big buffer copies it */
		part.len = 0;
		pthread_mutex_lock(&fs->lock);
		t0 = now_us();
		ret = meta_serialize_part(fs, &part, &cur, CKPT_BATCH);
		done = cur.bucket >= fs->inodes.t_size;
		t = now_us() - t0;
		if (t > fs->ckpt_pause_max_us)
			fs->ckpt_pause_max_us = t;
		pthread_mutex_unlock(&fs->lock);
		tfs_put_bytes(&w, part.b, part.len);
		if (ret == 0)
			ret = w.err;
	}
	tfs_wbuf_free(&part);
	pthread_mutex_lock(&fs->lock);
	fs->inodes.t_frozen--;
	next_ino = fs->next_ino;
	pthread_mutex_unlock(&fs->lock);

	pthread_mutex_lock(&fs->commit_lock);
	if (ret == 0)
		ret = __commit(fs, 0, 1);
	pthread_mutex_unlock(&fs->commit_lock);
	if (ret == 0)
		ret = flush_data(fs);
	if (ret == 0)
		ret = ckpt_write(fs, slot, seq, jseq, &w, next_ino);
	pthread_mutex_lock(&fs->commit_lock);
	if (ret == 0) {
		fs->ckpt_seq = seq;
		fs->ckpt_slot = slot;
		fs->meta_bytes = w.len + fs->joff;
		fs->checkpoints++;
	} else {
		/* the old checkpoint and both halves still describe the pool, but
		 * the next checkpoint would reuse this half: stop changes */
		tfs_err("checkpoint failed: %s; the pool is read-only until remounted",
			strerror(-ret));
		fs->readonly = 1;
	}
	fs->ckpt_building = 0;
	pthread_cond_broadcast(&fs->ckpt_cond);
	tfs_wbuf_free(&w);
	return ret;
}

/*
 * One transaction (commit_lock held).  When it does not fit in what is left
 * of the current journal half, a checkpoint comes first: wait for the one
 * being built, or take the whole pool at once under the pool lock (the
 * fallback: a stall, but only when a single transaction outgrows the room).
 * @force_ckpt asks for that whole-pool checkpoint (mkfs, unmount, repair).
 * @builder: called by ckpt_run, which must not wait for itself.
 */
static int __commit(struct tfs_fs *fs, int force_ckpt, int builder)
{
	struct commit c;
	int full = force_ckpt, want = 0, ret;
	uint64_t est, take_us;

	for (;;) {
		pthread_mutex_lock(&fs->lock);
		if (!force_ckpt && fs->change_gen == fs->committed_gen && fs->jnrec == 0) {
			pthread_mutex_unlock(&fs->lock);
			return 0;
		}
		est = round_txn(fs, TFS_JHDR_SIZE + commit_estimate(fs));
		if (!fs->ckpt_building && (full || fs->joff + est <= half_len(fs)))
			break;
		if (builder && fs->joff + est <= half_len(fs))
			break;
		pthread_mutex_unlock(&fs->lock);
		if (builder) {
			tfs_err("the journal half filled up while a checkpoint was taken");
			return -ENOSPC;
		}
		if (fs->ckpt_building)
			pthread_cond_wait(&fs->ckpt_cond, &fs->commit_lock);
		else
			full = 1;
	}
	memset(&c, 0, sizeof(c));
	take_us = now_us();
	commit_take(fs, &c, full);
	take_us = now_us() - take_us;
	want = !full && !builder && fs->joff + est > half_len(fs) / 4;
	pthread_mutex_unlock(&fs->lock);

	ret = c.w.err;
	if (ret == 0)
		ret = flush_data(fs);
	if (ret == 0 && !full) {
		ret = write_txn(fs, c.w.b, c.w.len, c.nrec, c.next_ino);
	} else if (ret == 0) {
		uint64_t t0 = now_us(), t;

		ret = ckpt_write(fs, 1 - fs->ckpt_slot, fs->ckpt_seq + 1, fs->jseq, &c.w, c.next_ino);
		if (ret == 0) {
			/* transactions before fs->jseq are all in it: the journal
			 * goes on in this slot's half, leaving the other intact */
			fs->ckpt_seq++;
			fs->ckpt_slot = 1 - fs->ckpt_slot;
			fs->jhalf = fs->ckpt_slot;
			fs->joff = 0;
			fs->meta_bytes = c.w.len;
			fs->checkpoints++;
			fs->ckpt_wanted = 0;
		}
		t = now_us() - t0;
		if (!force_ckpt)
			tfs_info("a %zu-byte transaction did not fit the journal: checkpoint taken at once (%llu us to serialise, %llu us to write)",
				 c.w.len, (unsigned long long)take_us, (unsigned long long)t);
	}
	if (ret < 0) {
		tfs_err("metadata commit failed: %s; the pool is read-only until remounted",
			strerror(-ret));
		fs->readonly = 1;
		free(c.fp); /* keep those slots allocated: nothing durable freed them */
		c.fp = NULL;
		c.nfp = 0;
	} else {
		fs->committed_gen = c.gen;
		if (want && !fs->ckpt_wanted) {
			fs->ckpt_wanted = 1;
			if (fs->ckpt_kick)
				fs->ckpt_kick(fs->ckpt_kick_arg);
		}
	}
	commit_release(fs, &c);
	return ret;
}

int tfs_commit(struct tfs_fs *fs, int force_checkpoint)
{
	int ret;

	pthread_mutex_lock(&fs->commit_lock);
	ret = fs->readonly ? -EROFS : __commit(fs, force_checkpoint, 0);
	/* no background thread to hand the checkpoint to: take it here */
	if (ret == 0 && fs->ckpt_wanted && !fs->ckpt_kick && !fs->ckpt_building)
		ret = ckpt_run(fs);
	pthread_mutex_unlock(&fs->commit_lock);
	return ret;
}

int tfs_checkpoint_if_wanted(struct tfs_fs *fs)
{
	int ret = 0;

	pthread_mutex_lock(&fs->commit_lock);
	if (!fs->readonly && fs->ckpt_wanted && !fs->ckpt_building)
		ret = ckpt_run(fs);
	pthread_mutex_unlock(&fs->commit_lock);
	return ret;
}

int tfs_sync(struct tfs_fs *fs)
{
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&fs->lock);
	gen = fs->change_gen;
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_lock(&fs->commit_lock);
	if (fs->readonly)
		ret = -EIO;
	else if (fs->committed_gen < gen)
		ret = __commit(fs, 0, 0); /* covers every change up to now, ours included */
	else
		ret = flush_data(fs); /* metadata is durable; data may not be */
	pthread_mutex_unlock(&fs->commit_lock);
	return ret;
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

int tfs_checkpoint_initial(struct tfs_fs *fs)
{
	uint8_t *zero;
	int ret;

	zero = tfs_io_alloc(TFS_BLOCK_SIZE);
	if (!zero)
		return -ENOMEM;
	memset(zero, 0, TFS_BLOCK_SIZE);
	/* no stale transaction may look like the first one */
	ret = jrnl_io(fs, TFS_IO_WRITE, zero, TFS_BLOCK_SIZE, half_off(fs, 0));
	if (ret == 0)
		ret = jrnl_io(fs, TFS_IO_WRITE, zero, TFS_BLOCK_SIZE, half_off(fs, 1));
	if (ret == 0)
		ret = ckpt_io(fs, TFS_IO_WRITE, zero, TFS_BLOCK_SIZE, fs->sb.s_ckpt_off[1]);
	if (ret == 0)
		ret = tfs_io_flush(meta_dev(fs));
	tfs_io_free(zero);
	if (ret < 0)
		return ret;
	fs->jseq = 1;
	fs->ckpt_seq = 0;
	fs->ckpt_slot = 1; /* so that the first checkpoint goes to slot A */
	return tfs_commit(fs, 1);
}

int tfs_journal_unmount(struct tfs_fs *fs)
{
	struct tfs_wbuf w = { 0 };
	int ret;

	/* nothing is being written any more: no chunk needs an intent */
	pthread_mutex_lock(&fs->lock);
	intents_expire(fs, 1);
	pthread_mutex_unlock(&fs->lock);
	ret = tfs_commit(fs, 1);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&fs->commit_lock);
	meta_put_ino(&w, TFS_REC_UNMOUNT, 0);
	ret = w.err ? w.err : write_txn(fs, w.b, w.len, 1, fs->next_ino);
	pthread_mutex_unlock(&fs->commit_lock);
	tfs_wbuf_free(&w);
	return ret;
}

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
 * When the current half is half full, or at unmount, the commit writes a
 * checkpoint instead: the pool serialised under the pool lock (the only stall,
 * proportional to the metadata size), then written to the other slot and
 * flushed, and only then does the journal move to that slot's half.  If the
 * checkpoint write is torn, the old slot and its untouched half still
 * describe the pool.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	}
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
	c->fp = fs->fpend;
	c->nfp = fs->fpend_len;
	fs->fpend = NULL;
	fs->fpend_len = fs->fpend_cap = 0;
}

static void commit_release(struct tfs_fs *fs, struct commit *c)
{
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < c->nfp; i++)
		tier_alloc_release(&fs->alloc, c->fp[i].dev, c->fp[i].slot);
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

static int write_checkpoint(struct tfs_fs *fs, const struct commit *c)
{
	uint64_t span = CKPT_HDR + round_block(c->w.len), seq = fs->ckpt_seq + 1;
	unsigned int slot = 1 - fs->ckpt_slot;
	struct tfs_wbuf hw = { 0 };
	uint8_t *buf;
	int ret;

	if (span > fs->sb.s_ckpt_len) {
		tfs_err("metadata (%zu bytes) no longer fits a checkpoint slot (%llu bytes)",
			c->w.len, (unsigned long long)fs->sb.s_ckpt_len);
		return -ENOSPC;
	}
	buf = tfs_io_alloc(span);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, span);
	memcpy(buf + CKPT_HDR, c->w.b, c->w.len);
	tfs_put_u64(&hw, TFS_CKPT_MAGIC);
	tfs_put_u64(&hw, seq);
	tfs_put_u64(&hw, fs->jseq);
	tfs_put_u64(&hw, c->next_ino);
	tfs_put_u64(&hw, c->w.len);
	tfs_put_u64(&hw, tfs_hash(c->w.b, c->w.len, pool_seed(fs, seq)));
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
	if (ret < 0)
		return ret;
	fs->ckpt_seq = seq;
	fs->ckpt_slot = slot;
	/* transactions before fs->jseq are all in the checkpoint: the journal
	 * goes on in this slot's half, leaving the other slot's intact */
	fs->jhalf = slot;
	fs->joff = 0;
	fs->meta_bytes = c->w.len;
	fs->checkpoints++;
	tfs_debug("checkpoint %llu: %zu bytes in slot %c", (unsigned long long)seq, c->w.len,
		  'A' + slot);
	return 0;
}

static int __commit(struct tfs_fs *fs, int force_ckpt)
{
	struct commit c;
	int full, ret;

	memset(&c, 0, sizeof(c));
	pthread_mutex_lock(&fs->lock);
	if (!force_ckpt && fs->change_gen == fs->committed_gen && fs->jnrec == 0) {
		pthread_mutex_unlock(&fs->lock);
		return 0;
	}
	/* checkpoint when the journal is half used or this transaction would
	 * not fit in what is left */
	full = force_ckpt || fs->joff + round_txn(fs, TFS_JHDR_SIZE + fs->jbuf.len) * 2 >
				     half_len(fs) / 2;
	commit_take(fs, &c, full);
	pthread_mutex_unlock(&fs->lock);

	ret = c.w.err;
	if (ret == 0)
		ret = flush_data(fs);
	if (ret == 0 && !full && fs->joff + round_txn(fs, TFS_JHDR_SIZE + c.w.len) > half_len(fs))
		full = 1; /* cannot happen with the half rule, but never overrun */
	if (ret == 0)
		ret = full ? write_checkpoint(fs, &c) : write_txn(fs, c.w.b, c.w.len, c.nrec, c.next_ino);
	if (ret < 0) {
		tfs_err("metadata commit failed: %s; the pool is read-only until remounted",
			strerror(-ret));
		fs->readonly = 1;
		free(c.fp); /* keep those slots allocated: nothing durable freed them */
		c.fp = NULL;
		c.nfp = 0;
	} else {
		fs->committed_gen = c.gen;
	}
	commit_release(fs, &c);
	return ret;
}

int tfs_commit(struct tfs_fs *fs, int force_checkpoint)
{
	int ret;

	pthread_mutex_lock(&fs->commit_lock);
	ret = fs->readonly ? -EROFS : __commit(fs, force_checkpoint);
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
		ret = __commit(fs, 0); /* covers every change up to now, ours included */
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

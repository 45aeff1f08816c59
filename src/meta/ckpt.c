/*
 * src/meta/ckpt.c - commits, checkpoints, loading a pool, room.
 *
 * Commit (tfs_meta_commit): under the pool lock take the journal records
 * logged since the last commit and let the namespace add the states of
 * the objects it changed (ops->jtake); without it, flush every data device
 * written since its last flush (data=ordered: a record describing data is
 * written after the data is durable), write the transaction and its end
 * marker, flush.  Then the namespace may reuse what the transaction freed
 * (ops->jdone).  Commits are serialised; a caller whose change a finished
 * commit already covers returns at once (group commit).
 *
 * Checkpoint N (ckpt_run), taken by the daemon's background thread while
 * the pool keeps changing:
 *   1. the journal moves to half N % 2 at sequence J: every later commit
 *      goes there (a quiet checkpoint - mount, unmount, repair, when nothing
 *      else runs - moves it only after step 6);
 *   2. checksum pages with new checksums are written into their other copy
 *      (csum.c); their descriptors become dirty units;
 *   3. the tail of the log is cleaned if the log holds more than twice its
 *      live bytes: live units in the oldest segments become dirty;
 *   4. the dirty units are written at the head of the log, a batch at a
 *      time under the pool lock (each object as it is at that moment: the
 *      image is fuzzy, every change after J is in the journal anyway);
 *   5. everything changed so far is committed, so that the journal holds
 *      all the image does, and every device written is flushed;
 *   6. the header goes to slot N % 2: gen N, replay from J, the log's tail
 *      and head, the previous log's tail (its segments are freed only when
 *      checkpoint N + 1 is durable).
 * The cost is the change since checkpoint N - 1, not the pool.  A crash at
 * any step leaves checkpoint N - 1 and the journal from J(N - 1) on, which
 * hold everything.
 *
 * Loading (tfs_meta_open): the valid header with the highest gen whose log
 * replays without damage, then the journal from its J.  When the newest
 * checkpoint is damaged, the older one plus the journal (both halves)
 * still give the whole pool; if the journal is damaged too the state would
 * lack acknowledged changes and the open says so (-EUCLEAN, report).
 *
 * Room: the log is kept at no more than twice its live bytes by cleaning,
 * so holding L live bytes takes at most 2L plus a few segments.  The
 * namespace asks tfs_meta_log_slots() before growing metadata and before
 * taking data slots (see meta.h), so a checkpoint always finds the segments
 * it needs and a full pool stays writable for deletions.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta_i.h"

#define CKPT_BATCH (64u << 10)	   /* bytes of log records per pool-lock hold */
#define OVERLAY_MAX (32ull << 20)  /* overlay bytes that ask for a checkpoint */
#define DIRTY_MAX (16ull << 20)	   /* pending unit bytes that ask for one */

uint64_t meta_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int meta_io(struct tfs_io_dev *dev, unsigned int op, void *buf, size_t len, uint64_t off)
{
	struct tfs_io_req req = {
		.r_dev = dev, .r_op = op, .r_buf = buf, .r_len = (uint32_t)len, .r_off = off,
		.r_flags = TFS_IO_F_META,
	};

	return tfs_io_run(&req, 1);
}

int meta_flush_dirty(struct tfs_meta *m)
{
	unsigned int d;
	int ret;

	for (d = 0; d < m->ndev; d++) {
		if (!tfs_io_dirty(&m->env.dev[d]) || m->env.dev[d].d_fd < 0)
			continue;
		ret = tfs_io_flush(&m->env.dev[d]);
		if (ret < 0) {
			tfs_err("flush of %s failed: %s", m->env.dev[d].d_path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void meta_problem(struct tfs_meta *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!m->rep.what[0])
		snprintf(m->rep.what, sizeof(m->rep.what), "%s", msg);
	tfs_err("%s", msg);
}

static int meta_new(struct tfs_meta **out, const struct tfs_meta_env *env, unsigned int flags)
{
	struct tfs_meta *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->env = *env;
	m->sb = *env->sb;
	m->env.sb = &m->sb;
	m->ndev = m->sb.s_ndev;
	m->seed = tfs_pool_seed(m->sb.s_pool_uuid);
	m->flags = flags;
	m->blocks = 1u << (m->sb.s_chunk_shift - TFS_BLOCK_SHIFT);
	m->words = m->blocks < 64 ? 1 : m->blocks / 64;
	pthread_mutex_init(&m->commit_lock, NULL);
	pthread_cond_init(&m->ckpt_cond, NULL);
	jrnl_init(m);
	ret = mlog_init(m);
	if (ret == 0)
		ret = cs_init(m, env->cs_cache_bytes);
	if (ret < 0) {
		tfs_meta_close(m);
		return ret;
	}
	*out = m;
	return 0;
}

void tfs_meta_close(struct tfs_meta *m)
{
	if (!m)
		return;
	mlog_free(m);
	cs_free(m);
	tfs_wbuf_free(&m->jbuf);
	tfs_wbuf_free(&m->carry.w);
	free(m->dirty);
	pthread_mutex_destroy(&m->commit_lock);
	pthread_cond_destroy(&m->ckpt_cond);
	free(m);
}

/* ---------------------------------------------------------------- recording */

static void kick(struct tfs_meta *m)
{
	if (m->kick && !m->commit_kicked) {
		m->commit_kicked = 1;
		m->kick(m->kick_arg);
	}
}

void meta_dirty_locked(struct tfs_meta *m, const struct tfs_ukey *k, uint32_t est)
{
	if (m->ndirty == m->cdirty) {
		size_t c = m->cdirty ? m->cdirty * 2 : 1024;
		struct tfs_ukey *n = realloc(m->dirty, c * sizeof(*n));

		if (!n) {
			/* the unit stays marked in the namespace; a later change
			 * or cleaning queues it again */
			tfs_err("out of memory queueing a metadata unit for the next checkpoint");
			return;
		}
		m->dirty = n;
		m->cdirty = c;
	}
	m->dirty[m->ndirty++] = *k;
	m->pend_bytes += est;
	if (m->pend_bytes > DIRTY_MAX && !m->wanted) {
		m->wanted = 1;
		kick(m);
	}
}

void tfs_meta_dirty(struct tfs_meta *m, const struct tfs_ukey *k, uint32_t est)
{
	meta_dirty_locked(m, k, est);
}

void tfs_meta_tomb(struct tfs_meta *m, const struct tfs_ukey *k, uint64_t size)
{
	m->live -= size < m->live ? size : m->live;
	meta_dirty_locked(m, k, 0);
}

struct tfs_wbuf *tfs_meta_jbuf(struct tfs_meta *m)
{
	return &m->jbuf;
}

void tfs_meta_jlogged(struct tfs_meta *m)
{
	m->jnrec++;
	m->change_gen++;
	if (m->jbuf.len + m->jpend > m->j.half / 16)
		kick(m);
}

void tfs_meta_jpend(struct tfs_meta *m, size_t bytes)
{
	m->jpend += bytes;
	if (m->jbuf.len + m->jpend > m->j.half / 16)
		kick(m);
}

int tfs_meta_pending_high(const struct tfs_meta *m)
{
	return m->jbuf.len + m->jpend > m->j.half / 8;
}

int tfs_meta_reclaim(struct tfs_meta *m)
{
	int run, ret;

	/* what the log would give back: units waiting to be rewritten (whose
	 * old records then die), dead records to clean.  Once per change. */
	pthread_mutex_lock(m->env.lock);
	run = m->change_gen != m->reclaim_gen &&
	      (m->pend_bytes || m->log.head - mlog_tail_lpos(m) > m->live + 4ull * m->log.segsize);
	m->reclaim_gen = m->change_gen;
	pthread_mutex_unlock(m->env.lock);
	if (!run)
		return 0;
	ret = tfs_meta_checkpoint(m, 0);
	return ret < 0 ? ret : 1;
}

int tfs_meta_throttle(struct tfs_meta *m)
{
	int high;

	pthread_mutex_lock(m->env.lock);
	high = tfs_meta_pending_high(m);
	pthread_mutex_unlock(m->env.lock);
	return high ? tfs_meta_commit(m) : 0;
}

void tfs_meta_changed(struct tfs_meta *m)
{
	m->change_gen++;
}

int tfs_meta_loading(const struct tfs_meta *m)
{
	return m->loading;
}

void tfs_meta_set_kick(struct tfs_meta *m, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&m->commit_lock);
	m->kick_arg = arg;
	__atomic_store_n(&m->kick, fn, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->commit_lock);
}

void tfs_meta_set_batch_hook(struct tfs_meta *m, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&m->commit_lock);
	m->batch_hook = fn;
	m->batch_arg = arg;
	pthread_mutex_unlock(&m->commit_lock);
}

uint64_t tfs_meta_log_slots(const struct tfs_meta *m, uint64_t add)
{
	const struct mlog *l = &m->log;
	uint64_t need = 2 * (m->live + m->pend_bytes + add) + 4ull * l->segsize;
	uint64_t have = (l->nseg + (l->have_next ? 1 : 0)) * (uint64_t)l->segsize;

	/* every segment takes two slots: its copies */
	return need > have ? 2 * ((need - have + l->segsize - 1) / l->segsize) : 0;
}

int tfs_meta_readonly(const struct tfs_meta *m)
{
	return m->failed || (m->flags & TFS_META_RDONLY);
}

const struct tfs_meta_report *tfs_meta_report(const struct tfs_meta *m)
{
	return &m->rep;
}

int tfs_meta_lossy(const struct tfs_meta *m)
{
	return m->rep.jrnl_lost || m->rep.log_lost || !m->rep.gen;
}

/* ---------------------------------------------------------------- commit */

static int ckpt_run(struct tfs_meta *m, int quiet, int rewrite);

/* records from @pos on that fit in @room bytes of one transaction, at
 * least up to @atomic (the logged records of whole operations): bytes, or
 * 0 if not even those fit; *@n: how many */
static size_t fit_records(const struct tfs_meta *m, const struct tfs_wbuf *w, size_t pos,
			  size_t atomic, uint64_t room, uint32_t *n)
{
	size_t end = pos;

	*n = 0;
	while (end < w->len) {
		uint32_t len;
		size_t next;

		memcpy(&len, w->b + end + 4, 4);
		next = end + 8 + le32toh(len);
		if (jrnl_span(m, next - pos) > room)
			break;
		end = next;
		(*n)++;
	}
	if (end < atomic)
		return 0;
	return end - pos;
}

/*
 * Write the records of @c from c->pos on into the current half below
 * @limit: all of them in one transaction, or -ENOSPC (the caller carries
 * them over a checkpoint).  Replay applies transactions one by one, so a
 * commit written in parts with a crash between them came back as a prefix
 * of its states: an entry naming an inode whose record had not been
 * written (a pool refusing to mount), a size without its chunks.  Only a
 * commit too big for a quarter of a half, which nothing but an extreme
 * burst makes, is still written in parts as the room allows (c->pos says
 * how far it got).
 */
static int write_parts(struct tfs_meta *m, struct mcommit *c, uint64_t limit)
{
	int ret;

	while (c->pos < c->w.len) {
		uint64_t room = limit > m->j.pos ? limit - m->j.pos : 0;
		uint32_t n;
		size_t len;

		room = room > jrnl_span(m, 0) ? room - jrnl_span(m, 0) : 0;
		len = fit_records(m, &c->w, c->pos, c->atomic, room, &n);
		if (len && c->pos + len < c->w.len &&
		    jrnl_span(m, c->w.len - c->pos) <= m->j.half / 4)
			len = 0; /* all or nothing */
		if (!len)
			return -ENOSPC;
		ret = jrnl_write(m, c->w.b + c->pos, len, n, c->next_ino);
		if (ret < 0)
			return ret;
		c->pos += len;
		m->commits++;
	}
	return 0;
}

/* commit_lock held: the carry, if it is still the one whose records are
 * @buf, ends unwritten (its freed slots are not reused) */
static void carry_end(struct tfs_meta *m, const uint8_t *buf)
{
	struct mcommit c;

	pthread_mutex_lock(m->env.lock);
	if (!buf || m->carry.w.b != buf) {
		pthread_mutex_unlock(m->env.lock);
		return;
	}
	c = m->carry;
	memset(&m->carry, 0, sizeof(m->carry));
	pthread_mutex_unlock(m->env.lock);
	m->env.ops->jdone(m->env.ctx, c.handle, 0);
	tfs_wbuf_free(&c.w);
}

/*
 * One commit (commit_lock held).  Everything logged and every changed
 * state is taken at once under the pool lock, and written in order in one
 * transaction: the logged records (whole operations), then the states
 * (write_parts: in parts only when far too big).  When the half has no room
 * for it, it is carried over (m->carry) and a checkpoint moves the journal
 * to the other half; whoever commits next writes the carry first, so the
 * order of records is never changed.  @builder: the commit inside a
 * checkpoint, which cannot move the journal again.
 */
static int __commit(struct tfs_meta *m, int builder)
{
	struct mcommit c;
	uint64_t t0, t;
	int ret, want, carried;

	for (;;) {
		pthread_mutex_lock(m->env.lock);
		carried = m->carry.w.b != NULL;
		if (carried) {
			c = m->carry;
			memset(&m->carry, 0, sizeof(m->carry));
		} else {
			if (!m->jnrec && m->change_gen == m->committed_gen) {
				pthread_mutex_unlock(m->env.lock);
				return 0;
			}
			t0 = meta_now_us();
			memset(&c, 0, sizeof(c));
			c.w = m->jbuf;
			c.atomic = m->jbuf.len;
			memset(&m->jbuf, 0, sizeof(m->jbuf));
			m->jnrec = 0;
			c.handle = m->env.ops->jtake(m->env.ctx, &c.w, &c.nrec, &c.next_ino);
			c.gen = m->change_gen;
			m->jpend = 0;
			m->commit_kicked = 0;
			t = meta_now_us() - t0;
			if (t > m->commit_pause_max_us)
				m->commit_pause_max_us = t;
		}
		pthread_mutex_unlock(m->env.lock);

		ret = c.w.err;
		if (ret == 0 && !carried)
			ret = meta_flush_dirty(m); /* data=ordered */
		/* while a checkpoint is being taken, the second half of the
		 * journal half is kept for the commit that ends it (which
		 * cannot move to the other half): others wait for the end */
		if (ret == 0)
			ret = write_parts(m, &c, builder || !m->building ? m->j.half
								       : m->j.half / 2);
		if (ret == -ENOSPC && !builder) {
			/* the half is full: carry the rest over a checkpoint */
			pthread_mutex_lock(m->env.lock);
			m->carry = c;
			pthread_mutex_unlock(m->env.lock);
			ret = 0;
			if (m->building)
				pthread_cond_wait(&m->ckpt_cond, &m->commit_lock);
			else
				ret = ckpt_run(m, 0, 0);
			if (ret < 0 || m->failed) {
				/* the pool takes no more changes: this commit's
				 * carry, unless another commit took it, is over */
				carry_end(m, c.w.b);
				return ret < 0 ? ret : -EROFS;
			}
			continue;
		}
		if (ret == -ENOSPC)
			tfs_err("the journal half filled up while a checkpoint was taken (%zu bytes left to commit, %llu of %llu used)",
				c.w.len - c.pos, (unsigned long long)m->j.pos,
				(unsigned long long)m->j.half);
		m->env.ops->jdone(m->env.ctx, c.handle, ret == 0);
		tfs_wbuf_free(&c.w);
		if (ret < 0) {
			tfs_err("metadata commit failed: %s; no more changes until remounted",
				strerror(-ret));
			m->failed = 1;
			return ret;
		}
		m->committed_gen = c.gen;
		if (carried)
			continue; /* and now what changed since */
		want = !builder && (m->j.pos > m->j.half / 4 ||
				    cs_overlay_bytes(m) > OVERLAY_MAX);
		if (want && !m->wanted) {
			m->wanted = 1;
			if (m->kick)
				m->kick(m->kick_arg);
		}
		return 0;
	}
}

int tfs_meta_commit(struct tfs_meta *m)
{
	int ret;

	pthread_mutex_lock(&m->commit_lock);
	ret = tfs_meta_readonly(m) ? -EROFS : __commit(m, 0);
	/* no background thread to hand the checkpoint to: take it here */
	if (ret == 0 && m->wanted && !m->kick && !m->building)
		ret = ckpt_run(m, 0, 0);
	pthread_mutex_unlock(&m->commit_lock);
	return ret;
}

int tfs_meta_sync(struct tfs_meta *m)
{
	uint64_t gen;
	int ret;

	pthread_mutex_lock(m->env.lock);
	gen = m->change_gen;
	pthread_mutex_unlock(m->env.lock);
	pthread_mutex_lock(&m->commit_lock);
	if (tfs_meta_readonly(m))
		ret = -EIO;
	else if (m->committed_gen < gen)
		ret = __commit(m, 0); /* covers every change up to now, ours included */
	else
		ret = meta_flush_dirty(m); /* metadata is durable; data may not be */
	pthread_mutex_unlock(&m->commit_lock);
	return ret;
}

/* ---------------------------------------------------------------- checkpoint */

/* step 4: the dirty units at the head of the log */
static int ckpt_append(struct tfs_meta *m, uint64_t gen, int rewrite)
{
	struct tfs_wbuf w = { 0 };
	struct tfs_ukey *d;
	size_t n, i = 0;
	int ret = 0;

	pthread_mutex_lock(m->env.lock);
	if (rewrite)
		ret = mlog_drop_all(m);
	d = m->dirty;
	n = m->ndirty;
	m->dirty = NULL;
	m->ndirty = m->cdirty = 0;
	m->pend_bytes = 0;
	mlog_begin(m, gen);
	pthread_mutex_unlock(m->env.lock);
	while (i < n && ret == 0) {
		size_t batch = 0;
		uint64_t t0, t;

		pthread_mutex_lock(m->env.lock);
		t0 = meta_now_us();
		while (i < n && batch < CKPT_BATCH && ret == 0) {
			const struct tfs_ukey *k = &d[i++];
			uint64_t lpos = mlog_start(m);
			uint32_t old = 0, blen;
			int wrote;

			if (!lpos) {
				ret = -ENOSPC;
				break;
			}
			w.len = 0;
			if (tfs_wbuf_reserve(&w, TFS_LREC_HDR) < 0) {
				ret = -ENOMEM;
				break;
			}
			memset(w.b, 0, TFS_LREC_HDR);
			w.len = TFS_LREC_HDR;
			if (k->type >= TFS_L_DEL_INODE)
				wrote = 1;
			else if (k->type == TFS_L_CSDIR)
				wrote = cs_unit_write(m, k, &w, lpos, &old);
			else
				wrote = m->env.ops->uwrite(m->env.ctx, k, &w, lpos, TFS_LREC_HDR, &old);
			if (w.err) {
				ret = w.err;
				break;
			}
			if (!wrote)
				continue;
			blen = (uint32_t)(w.len - TFS_LREC_HDR);
			w.b[0] = k->type;
			w.b[1] = k->dev;
			w.b[2] = w.b[3] = 0;
			w.b[4] = (uint8_t)blen;
			w.b[5] = (uint8_t)(blen >> 8);
			w.b[6] = (uint8_t)(blen >> 16);
			w.b[7] = (uint8_t)(blen >> 24);
			for (int b = 0; b < 8; b++) {
				w.b[8 + b] = (uint8_t)(k->ino >> (8 * b));
				w.b[16 + b] = (uint8_t)(k->sub >> (8 * b));
			}
			ret = mlog_put(m, w.b, w.len);
			if (k->type < TFS_L_DEL_INODE)
				m->live += w.len - (rewrite ? 0 : old);
			batch += w.len;
		}
		if (ret == 0 && i == n)
			ret = mlog_end(m);
		t = meta_now_us() - t0;
		if (t > m->ckpt_pause_max_us)
			m->ckpt_pause_max_us = t;
		pthread_mutex_unlock(m->env.lock);
		if (ret == 0)
			ret = mlog_flush_out(m);
		if (ret == 0 && i < n && m->batch_hook)
			m->batch_hook(m->batch_arg);
	}
	if (n == 0 && ret == 0) {
		pthread_mutex_lock(m->env.lock);
		ret = mlog_end(m);
		pthread_mutex_unlock(m->env.lock);
		if (ret == 0)
			ret = mlog_flush_out(m);
	}
	/* both copies of the log pages, the checksum pages, the header */
	m->ckpt_bytes_last = 2 * m->log.appended + m->cs.wbytes + TFS_CKH_SIZE;
	if (ret < 0) {
		/* the units stay dirty in the namespace's eyes only if queued
		 * again: put the rest back */
		pthread_mutex_lock(m->env.lock);
		for (; i < n; i++)
			meta_dirty_locked(m, &d[i], 0);
		pthread_mutex_unlock(m->env.lock);
	}
	tfs_wbuf_free(&w);
	free(d);
	return ret;
}

static int ckh_write(struct tfs_meta *m, const struct tfs_ckh *h)
{
	struct tfs_io_dev *dev = &m->env.dev[m->sb.s_meta_dev];
	uint8_t *buf = tfs_io_alloc(TFS_CKH_SIZE);
	int ret;

	if (!buf)
		return -ENOMEM;
	tfs_ckh_encode(h, m->seed, buf);
	ret = meta_io(dev, TFS_IO_WRITE, buf, TFS_CKH_SIZE, m->sb.s_ckh_off[h->gen % 2]);
	if (ret == 0)
		ret = tfs_io_flush(dev);
	tfs_io_free(buf);
	return ret;
}

/* commit_lock held on entry and return, dropped while it works */
static int ckpt_run(struct tfs_meta *m, int quiet, int rewrite)
{
	uint64_t gen, jseq, t0 = meta_now_us();
	struct tfs_ckh h;
	int ret;

	/* an online check of the metadata reads what checkpoints write */
	while (m->scrubbing)
		pthread_cond_wait(&m->ckpt_cond, &m->commit_lock);
	if (m->building) {
		while (m->building)
			pthread_cond_wait(&m->ckpt_cond, &m->commit_lock);
		return m->failed ? -EROFS : 0;
	}
	if (tfs_meta_readonly(m))
		return -EROFS;
	gen = m->ck.gen + 1;
	jseq = m->j.seq;
	if (!quiet) {
		/* step 1: every later commit goes to the other half */
		m->j.cur = (unsigned int)(gen % 2);
		m->j.pos = 0;
	}
	m->building = 1;
	m->wanted = 0;
	pthread_mutex_unlock(&m->commit_lock);

	ret = cs_ckpt_write(m, (uint32_t)gen);
	if (ret == 0 && !rewrite)
		ret = mlog_clean(m);
	if (ret == 0)
		ret = ckpt_append(m, gen, rewrite);

	pthread_mutex_lock(&m->commit_lock);
	if (ret == 0 && !quiet)
		ret = __commit(m, 1);
	if (quiet)
		jseq = m->j.seq;
	pthread_mutex_unlock(&m->commit_lock);
	if (ret == 0)
		ret = meta_flush_dirty(m);
	if (ret == 0) {
		memset(&h, 0, sizeof(h));
		h.gen = gen;
		h.jseq = jseq;
		h.time = (uint64_t)time(NULL);
		pthread_mutex_lock(m->env.lock);
		m->env.ops->hdr_fill(m->env.ctx, &h);
		mlog_fill_header(m, &h);
		h.live = m->live;
		pthread_mutex_unlock(m->env.lock);
		ret = ckh_write(m, &h);
	}
	pthread_mutex_lock(&m->commit_lock);
	cs_ckpt_publish(m, ret == 0);
	if (ret == 0) {
		pthread_mutex_lock(m->env.lock);
		mlog_publish(m, &h);
		pthread_mutex_unlock(m->env.lock);
		m->ck = h;
		m->checkpoints++;
		if (quiet) {
			m->j.cur = (unsigned int)(gen % 2);
			m->j.pos = 0;
		}
		m->ckpt_us_last = meta_now_us() - t0;
		tfs_debug("checkpoint %llu: %llu bytes in %llu us, replay from %llu",
			  (unsigned long long)gen, (unsigned long long)m->ckpt_bytes_last,
			  (unsigned long long)m->ckpt_us_last, (unsigned long long)jseq);
	} else {
		tfs_err("checkpoint %llu failed: %s; no more changes until remounted",
			(unsigned long long)gen, strerror(-ret));
		m->failed = 1;
	}
	m->building = 0;
	pthread_cond_broadcast(&m->ckpt_cond);
	return ret;
}

int tfs_meta_checkpoint_if_wanted(struct tfs_meta *m)
{
	int ret = 0;

	pthread_mutex_lock(&m->commit_lock);
	if (!tfs_meta_readonly(m) && !m->building) {
		pthread_mutex_lock(m->env.lock);
		if (!m->wanted) {
			uint64_t used = m->log.head - mlog_tail_lpos(m);

			/* a log grown past twice its live bytes wants cleaning */
			if (m->log.nseg > 2 && used > 2 * (m->live + m->pend_bytes) +
							   8ull * m->log.segsize)
				m->wanted = 1;
		}
		pthread_mutex_unlock(m->env.lock);
		if (m->wanted)
			ret = ckpt_run(m, 0, 0);
	}
	pthread_mutex_unlock(&m->commit_lock);
	return ret;
}

int tfs_meta_checkpoint(struct tfs_meta *m, int quiet)
{
	int ret;

	pthread_mutex_lock(&m->commit_lock);
	ret = tfs_meta_readonly(m) ? -EROFS : __commit(m, 0);
	if (ret == 0)
		ret = ckpt_run(m, quiet, 0);
	pthread_mutex_unlock(&m->commit_lock);
	return ret;
}

int tfs_meta_unmount(struct tfs_meta *m)
{
	struct tfs_wbuf w = { 0 };
	size_t at;
	int ret;

	ret = tfs_meta_checkpoint(m, 1);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&m->commit_lock);
	at = tfs_rec_begin(&w, TFS_J_UNMOUNT);
	tfs_put_u64(&w, 0);
	tfs_rec_end(&w, at);
	ret = w.err ? w.err : jrnl_write(m, w.b, w.len, 1, m->ck.next_ino);
	pthread_mutex_unlock(&m->commit_lock);
	tfs_wbuf_free(&w);
	return ret;
}

void tfs_meta_stats(struct tfs_meta *m, struct tfs_meta_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(m->env.lock);
	st->commits = m->commits;
	st->checkpoints = m->checkpoints;
	st->gen = m->ck.gen;
	st->jseq = m->j.seq;
	st->log_live = m->live;
	st->log_bytes = m->log.head - mlog_tail_lpos(m);
	st->log_segments = m->log.nseg + m->log.ndefer + (m->log.have_next ? 1 : 0);
	st->ckpt_bytes_last = m->ckpt_bytes_last;
	st->ckpt_us_last = m->ckpt_us_last;
	st->ckpt_pause_max_us = m->ckpt_pause_max_us;
	st->commit_pause_max_us = m->commit_pause_max_us;
	pthread_mutex_unlock(m->env.lock);
	pthread_mutex_lock(&m->cs.lock);
	st->cs_cached_bytes = m->cs.cbytes;
	st->cs_dirty_bytes = (uint64_t)m->cs.ocount * m->cs.entsize;
	st->cs_hits = m->cs.hits;
	st->cs_misses = m->cs.misses;
	pthread_mutex_unlock(&m->cs.lock);
}

/* ---------------------------------------------------------------- loading */

static int ckh_read(struct tfs_meta *m, unsigned int slot, struct tfs_ckh *h)
{
	uint8_t *buf = tfs_io_alloc(TFS_CKH_SIZE);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = meta_io(&m->env.dev[m->sb.s_meta_dev], TFS_IO_READ, buf, TFS_CKH_SIZE,
		      m->sb.s_ckh_off[slot]);
	if (ret == 0)
		ret = tfs_ckh_decode(h, m->seed, buf);
	if (ret == 0 && h->gen % 2 != slot)
		ret = -EINVAL;
	tfs_io_free(buf);
	return ret;
}

int tfs_meta_format(struct tfs_meta **out, const struct tfs_meta_env *env)
{
	struct tfs_meta *m;
	uint8_t *zero;
	int ret;

	ret = meta_new(&m, env, 0);
	if (ret < 0)
		return ret;
	zero = tfs_io_alloc(TFS_CKH_SIZE);
	if (!zero) {
		tfs_meta_close(m);
		return -ENOMEM;
	}
	memset(zero, 0, TFS_CKH_SIZE);
	ret = jrnl_zero(m);
	if (ret == 0)
		ret = meta_io(&m->env.dev[m->sb.s_meta_dev], TFS_IO_WRITE, zero, TFS_CKH_SIZE,
			      m->sb.s_ckh_off[0]);
	if (ret == 0)
		ret = meta_io(&m->env.dev[m->sb.s_meta_dev], TFS_IO_WRITE, zero, TFS_CKH_SIZE,
			      m->sb.s_ckh_off[1]);
	tfs_io_free(zero);
	if (ret < 0) {
		tfs_meta_close(m);
		return ret;
	}
	m->rep.gen = 1;
	*out = m;
	return 0;
}

int tfs_meta_open(struct tfs_meta **out, const struct tfs_meta_env *env, unsigned int flags)
{
	int salvage = (flags & TFS_META_SALVAGE) != 0, ok[2], order[2], n = 0, i, ret;
	struct tfs_ckh h[2];
	struct tfs_meta *m;

	ret = meta_new(&m, env, flags);
	if (ret < 0)
		return ret;
	*out = m; /* the callbacks record through it while loading */
	for (i = 0; i < 2; i++) {
		ret = ckh_read(m, (unsigned int)i, &h[i]);
		ok[i] = ret == 0;
		if (ret == -EINVAL) {
			m->rep.ckh_bad++;
			meta_problem(m, "checkpoint header %c on %s is damaged", 'A' + i,
				     m->env.dev[m->sb.s_meta_dev].d_path);
		} else if (ret < 0 && ret != -ENOENT) {
			*out = NULL;
			tfs_meta_close(m);
			return ret;
		}
	}
	/* newest first */
	if (ok[0])
		order[n++] = 0;
	if (ok[1]) {
		if (n && h[1].gen > h[0].gen) {
			order[1] = 0;
			order[0] = 1;
			n++;
		} else {
			order[n++] = 1;
		}
	}
	ret = -EUCLEAN;
	m->loading = 1;
	for (i = 0; i < n; i++) {
		const struct tfs_ckh *c = &h[order[i]];
		int last = i == n - 1;

		ret = mlog_load(m, c, salvage && last);
		if (ret == 0 || (salvage && last && ret == -EUCLEAN)) {
			m->ck = *c;
			m->rep.gen = c->gen;
			m->rep.older = i > 0;
			break;
		}
		meta_problem(m, "checkpoint %llu (header %c) cannot be loaded: its metadata log is damaged",
			     (unsigned long long)c->gen, 'A' + order[i]);
		if (ret != -EUCLEAN)
			break;
		m->env.ops->reset(m->env.ctx);
		cs_reset(m);
		m->live = 0;
		/* nothing is lost while an older checkpoint is left to try:
		 * log_bad keeps the damage for fsck and repair */
		m->rep.log_lost = 0;
	}
	if (!m->rep.gen) {
		m->loading = 0;
		if (!m->rep.what[0])
			snprintf(m->rep.what, sizeof(m->rep.what), "no valid checkpoint");
		tfs_err("no usable checkpoint on %s: %s", m->env.dev[m->sb.s_meta_dev].d_path,
			m->rep.what);
		*out = m;
		return ret < 0 ? ret : -EUCLEAN;
	}
	m->env.ops->hdr_load(m->env.ctx, &m->ck);
	if (m->env.ops->set_next_ino)
		m->env.ops->set_next_ino(m->env.ctx, m->ck.next_ino);
	mlog_load_deferred(m, &m->ck);
	ret = jrnl_replay(m, m->ck.jseq, (unsigned int)(m->ck.gen % 2), salvage);
	m->loading = 0;
	if (ret < 0 && ret != -EUCLEAN) {
		*out = m;
		return ret;
	}
	if (ret == 0 && (m->rep.older || m->rep.ckh_bad))
		m->rep.recovered = 1;
	/* the journal went on in the other half (a checkpoint was being taken,
	 * or the newer one is damaged): the next checkpoint must not reuse that
	 * half before a header covers it */
	if (m->rep.older || m->rep.ckh_bad || m->rep.jcont)
		m->rep.need_ckpt = 1;
	if (m->rep.log_lost)
		ret = -EUCLEAN;
	if (m->rep.jrnl_applied && !m->rep.clean)
		tfs_info("recovered %llu journal transaction%s after an unclean shutdown",
			 (unsigned long long)m->rep.jrnl_applied, m->rep.jrnl_applied == 1 ? "" : "s");
	*out = m;
	return ret;
}

void tfs_meta_segments(struct tfs_meta *m, void (*fn)(void *arg, uint16_t dev, uint64_t slot),
		       void *arg)
{
	struct mlog *l = &m->log;
	size_t i;

	for (i = 0; i < l->nseg; i++) {
		const struct mseg *s = &l->seg[(l->first + i) % l->cap];

		fn(arg, s->dev, s->slot);
		fn(arg, s->dev2, s->slot2);
	}
	for (i = 0; i < l->ndefer; i++) {
		fn(arg, l->defer[i].dev, l->defer[i].slot);
		fn(arg, l->defer[i].dev2, l->defer[i].slot2);
	}
	if (l->have_next) {
		fn(arg, l->next.dev, l->next.slot);
		fn(arg, l->next.dev2, l->next.slot2);
	}
}

/* ---------------------------------------------------------------- fsck */

unsigned int tfs_meta_verify(struct tfs_meta *m, FILE *out)
{
	unsigned int bad = 0, i;
	struct tfs_ckh h;

	/* both header slots: the older one is the redundancy of the newer */
	for (i = 0; i < 2; i++) {
		int ret = ckh_read(m, i, &h);

		if (ret == 0 || (ret == -ENOENT && m->ck.gen <= 1 && i != m->ck.gen % 2))
			continue;
		if (i == m->ck.gen % 2 && ret == 0)
			continue;
		bad++;
		fprintf(out, "checkpoint header %c (%s offset %llu): %s\n", 'A' + i,
			m->env.dev[m->sb.s_meta_dev].d_path, (unsigned long long)m->sb.s_ckh_off[i],
			ret == -ENOENT ? "missing" : "damaged");
	}
	/* the older checkpoint's journal run - unless a checkpoint that never
	 * completed moved the journal on into that half (the loaded one and
	 * the journal then hold everything; the next mount writes a new one) */
	if (ckh_read(m, (unsigned int)((m->ck.gen + 1) % 2), &h) == 0 && h.gen + 1 == m->ck.gen &&
	    !m->rep.jcont)
		bad += jrnl_verify(m, h.jseq, out);
	bad += mlog_verify(m, &m->ck, out);
	bad += cs_verify(m, out);
	return bad;
}

unsigned int tfs_meta_scrub(struct tfs_meta *m, FILE *out)
{
	unsigned int bad;

	/* no checkpoint runs meanwhile: headers, log segments, checksum pages
	 * and the older journal half stay as they are (commits go on into the
	 * newer half, which is not read) */
	pthread_mutex_lock(&m->commit_lock);
	while (m->building || m->scrubbing)
		pthread_cond_wait(&m->ckpt_cond, &m->commit_lock);
	m->scrubbing = 1;
	pthread_mutex_unlock(&m->commit_lock);
	bad = tfs_meta_verify(m, out);
	pthread_mutex_lock(&m->commit_lock);
	m->scrubbing = 0;
	pthread_cond_broadcast(&m->ckpt_cond);
	pthread_mutex_unlock(&m->commit_lock);
	return bad;
}

int tfs_meta_heal(struct tfs_meta *m)
{
	return mlog_heal(m);
}

/* every unit goes into the next checkpoint, which starts a new log (pool
 * lock held) */
static void dirty_everything(struct tfs_meta *m)
{
	unsigned int d;
	uint64_t u;

	m->env.ops->dirty_all(m->env.ctx);
	for (d = 0; d < m->cs.ndev; d++)
		for (u = 0; u < m->cs.dev[d].nunits; u++) {
			struct tfs_ukey k = { .type = TFS_L_CSDIR, .dev = (uint8_t)d, .sub = u };

			if (m->cs.dev[d].udirty[u])
				continue;
			m->cs.dev[d].udirty[u] = 1;
			meta_dirty_locked(m, &k, 0);
		}
	m->live = 0;
}

int tfs_meta_rewrite(struct tfs_meta *m)
{
	int ret;

	/* the whole state into a new log, in segments the pool hands out now;
	 * the second checkpoint frees what the first one's predecessor kept.
	 * Neither may be one that another caller began: */
	pthread_mutex_lock(&m->commit_lock);
	while (m->building || m->scrubbing)
		pthread_cond_wait(&m->ckpt_cond, &m->commit_lock);
	ret = tfs_meta_readonly(m) ? -EROFS : __commit(m, 0);
	if (ret == 0) {
		pthread_mutex_lock(m->env.lock);
		dirty_everything(m);
		pthread_mutex_unlock(m->env.lock);
		ret = ckpt_run(m, 0, 1);
	}
	if (ret == 0)
		ret = __commit(m, 0);
	if (ret == 0)
		ret = ckpt_run(m, 0, 0);
	pthread_mutex_unlock(&m->commit_lock);
	return ret;
}

struct devuse {
	unsigned int dev;
	int used;
};

static void devuse_fn(void *arg, uint16_t dev, uint64_t slot)
{
	struct devuse *u = arg;

	(void)slot;
	u->used |= dev == u->dev;
}

int tfs_meta_dev_in_log(struct tfs_meta *m, unsigned int dev)
{
	struct devuse u = { dev, 0 };

	tfs_meta_segments(m, devuse_fn, &u);
	return u.used;
}

int tfs_meta_devices(struct tfs_meta *m, const struct tfs_sb *sb)
{
	struct csstore *cs = &m->cs;
	unsigned int d;

	if (sb->s_ndev < m->ndev || sb->s_ndev > TFS_MAX_DEVS_FMT)
		return -EINVAL;
	/* a new device's table is empty: every page descriptor is zero */
	for (d = m->ndev; d < sb->s_ndev; d++)
		if (cs_dev_init(&cs->dev[d], &sb->s_dev[d]) < 0)
			return -ENOMEM;
	pthread_mutex_lock(&cs->lock);
	memcpy(m->sb.s_dev, sb->s_dev, sizeof(m->sb.s_dev));
	m->sb.s_gen = sb->s_gen;
	m->sb.s_version = sb->s_version;
	m->sb.s_ndev = sb->s_ndev;
	cs->ndev = sb->s_ndev;
	m->ndev = sb->s_ndev;
	pthread_mutex_unlock(&cs->lock);
	return 0;
}

int tfs_meta_repair(struct tfs_meta *m)
{
	int pass, ret = 0, rewrite = m->rep.log_bad || m->rep.jrnl_bad;

	ret = mlog_heal(m);
	if (ret < 0)
		return ret;
	ret = 0;

	/* a damaged copy gets rewritten by a checkpoint; the copy that is then
	 * the older one may be the damaged one: twice.  Damage in the log or
	 * the journal: the whole state goes into a new log */
	m->flags &= ~TFS_META_RDONLY;
	if (rewrite) {
		pthread_mutex_lock(m->env.lock);
		dirty_everything(m);
		pthread_mutex_unlock(m->env.lock);
	}
	for (pass = 0; pass < 2 && ret == 0; pass++) {
		cs_redirty_damaged(m);
		pthread_mutex_lock(&m->commit_lock);
		ret = __commit(m, 0);
		if (ret == 0)
			ret = ckpt_run(m, 1, rewrite);
		pthread_mutex_unlock(&m->commit_lock);
		rewrite = 0;
	}
	return ret;
}

void tfs_meta_map(struct tfs_meta *m, FILE *out)
{
	struct tfs_ckh h;
	unsigned int i;
	uint64_t pjseq = 0;

	for (i = 0; i < 2; i++)
		if (ckh_read(m, i, &h) == 0) {
			fprintf(out, "ckh %u %llu %u live checkpoint %llu%s\n", m->sb.s_meta_dev,
				(unsigned long long)m->sb.s_ckh_off[i], TFS_CKH_SIZE,
				(unsigned long long)h.gen, h.gen == m->ck.gen ? " (newest)" : "");
			if (h.gen + 1 == m->ck.gen)
				pjseq = h.jseq;
		}
	jrnl_map(m, pjseq, out);
	mlog_map(m, &m->ck, out);
	cs_map(m, out);
}

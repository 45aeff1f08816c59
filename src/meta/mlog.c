/*
 * src/meta/mlog.c - the metadata log.
 *
 * The log is a chain of segments, each one chunk slot of a device written in
 * place.  A segment starts with a header page (its sequence number and the
 * slot of the next segment, chosen when it is opened so that the chain is
 * known before the next one is written) followed by log pages.  A position
 * in the log (lpos) is seq * segment size + offset in the segment.
 *
 * A checkpoint appends records from the first page after the previous
 * checkpoint's last one (mlog_begin / mlog_start / mlog_put / mlog_end,
 * under the pool lock, a batch at a time; the sealed pages are written
 * without it by mlog_flush_out).  A record never starts with less than a
 * header's room left in a page; it may continue over later pages.
 *
 * Cleaning is first in, first out: while the log holds more than twice its
 * live bytes, the tail segment is read and every unit whose newest record is
 * in it is marked dirty, so that the running checkpoint writes it again at
 * the head.  Tombstones in the tail segment are dropped: everything older
 * than them is gone with it.  How much one checkpoint cleans is bounded by
 * the live bytes it has to write again (and by 256 MiB of reading), so a
 * log full of dead records shrinks quickly.  A cleaned segment is no longer
 * part of the new checkpoint's log, but the previous checkpoint's log still
 * runs through it, so it is freed only when the checkpoint after the new one
 * is durable.
 *
 * Loading replays every record from tail to head in order (mlog_load): the
 * last record of a unit wins and a tombstone removes it.  Every page is
 * checked (magic, its own position, generation at most the checkpoint's,
 * checksum); a page that fails makes the checkpoint unusable, unless the
 * caller salvages what it can.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_i.h"

#define PAGE TFS_LOG_PAGE

static struct mseg *seg_at(struct mlog *l, size_t i)
{
	return &l->seg[(l->first + i) % l->cap];
}

static int seg_push(struct mlog *l, const struct mseg *s)
{
	if (l->nseg == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16, i;
		struct mseg *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (i = 0; i < l->nseg; i++)
			n[i] = *seg_at(l, i);
		free(l->seg);
		l->seg = n;
		l->first = 0;
		l->cap = cap;
	}
	*seg_at(l, l->nseg) = *s;
	l->nseg++;
	return 0;
}

static int list_add(struct mseg **v, size_t *n, size_t *cap, const struct mseg *s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct mseg *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *s;
	return 0;
}

static uint64_t seg_off(const struct tfs_meta *m, uint16_t dev, uint64_t slot)
{
	return m->sb.s_dev[dev].sd_data_off + (slot << m->sb.s_chunk_shift);
}

/* a slot that can hold a segment */
static int slot_valid(const struct tfs_meta *m, uint32_t dev, uint64_t slot)
{
	return dev < m->ndev && slot < m->sb.s_dev[dev].sd_nslots &&
	       m->sb.s_dev[dev].sd_class != TFS_CLASS_ZNS &&
	       m->sb.s_dev[dev].sd_class != TFS_CLASS_RADOS;
}

/* two distinct slots that can hold the copies of a segment */
static int seg_valid(const struct tfs_meta *m, const struct mseg *s)
{
	return slot_valid(m, s->dev, s->slot) && slot_valid(m, s->dev2, s->slot2) &&
	       (s->dev != s->dev2 || s->slot != s->slot2);
}

/* copy @c (0, 1) of segment @s: its device and offset */
static uint16_t copy_dev(const struct mseg *s, unsigned int c)
{
	return c ? s->dev2 : s->dev;
}

static uint64_t copy_off(const struct tfs_meta *m, const struct mseg *s, unsigned int c)
{
	return c ? seg_off(m, s->dev2, s->slot2) : seg_off(m, s->dev, s->slot);
}

static void seg_free2(struct tfs_meta *m, const struct mseg *s)
{
	m->env.ops->seg_free(m->env.ctx, s->dev, s->slot);
	m->env.ops->seg_free(m->env.ctx, s->dev2, s->slot2);
}

/* both slots of a new segment */
static int seg_alloc2(struct tfs_meta *m, struct mseg *s)
{
	int ret = m->env.ops->seg_alloc(m->env.ctx, -1, &s->dev, &s->slot);

	if (ret < 0)
		return ret;
	ret = m->env.ops->seg_alloc(m->env.ctx, s->dev, &s->dev2, &s->slot2);
	if (ret < 0)
		m->env.ops->seg_free(m->env.ctx, s->dev, s->slot);
	return ret;
}

int mlog_init(struct tfs_meta *m)
{
	struct mlog *l = &m->log;

	memset(l, 0, sizeof(*l));
	l->segsize = 1u << m->sb.s_chunk_shift;
	l->page = tfs_io_alloc(PAGE);
	return l->page ? 0 : -ENOMEM;
}

void mlog_reset(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	size_t i;

	for (i = 0; i < l->nout; i++)
		tfs_io_free(l->out[i].buf);
	l->nout = 0;
	l->first = l->nseg = 0;
	l->have_next = 0;
	l->head = l->phead = 0;
	l->ndefer = l->nclean = 0;
	for (i = 0; i < l->nheal; i++)
		tfs_io_free(l->heal[i].page);
	l->nheal = 0;
}

void mlog_free(struct tfs_meta *m)
{
	struct mlog *l = &m->log;

	mlog_reset(m);
	free(l->seg);
	free(l->defer);
	free(l->clean);
	free(l->out);
	free(l->heal);
	tfs_io_free(l->page);
	memset(l, 0, sizeof(*l));
}

uint64_t mlog_tail_lpos(const struct tfs_meta *m)
{
	const struct mlog *l = &m->log;

	return l->nseg ? l->seg[l->first % l->cap].seq * l->segsize : l->head;
}

/* ---------------------------------------------------------------- reading */

/* assembles records from the payload of consecutive pages */
struct rasm {
	uint8_t *b;		/* a record that spans pages */
	size_t len, cap, need;
	uint64_t lpos;
	int sync;		/* waiting for a page where a record starts */
	int (*emit)(struct tfs_meta *m, const uint8_t *rec, size_t len, uint64_t lpos, void *arg);
	void *arg;
};

static int rec_key(const uint8_t *p, struct tfs_ukey *k, uint32_t *len)
{
	struct tfs_rbuf r = { .p = p, .len = TFS_LREC_HDR };

	k->type = tfs_get_u8(&r);
	k->dev = tfs_get_u8(&r);
	tfs_get_u16(&r);
	*len = tfs_get_u32(&r);
	k->ino = tfs_get_u64(&r);
	k->sub = tfs_get_u64(&r);
	return k->type > TFS_L_PAD && k->type < TFS_L_MAX ? 0 : -EINVAL;
}

static int rasm_feed(struct tfs_meta *m, struct rasm *a, const uint8_t *pl, const struct tfs_lpg_hdr *h)
{
	size_t pos = 0;
	int ret;

	if (a->sync) {
		if (h->first == TFS_LPG_NOREC)
			return 0;
		pos = h->first;
		a->sync = 0;
		a->len = a->need = 0;
	} else if (a->need && h->first != TFS_LPG_NOREC && h->first < a->need) {
		return -EINVAL; /* a record starts inside the one in progress */
	}
	while (pos < h->used) {
		struct tfs_ukey k;
		uint32_t blen;
		size_t n;

		if (a->need) {
			n = h->used - pos < a->need ? h->used - pos : a->need;
			memcpy(a->b + a->len, pl + pos, n);
			a->len += n;
			a->need -= n;
			pos += n;
			if (a->need)
				break;
			ret = a->emit(m, a->b, a->len, a->lpos, a->arg);
			if (ret < 0)
				return ret;
			a->len = 0;
			continue;
		}
		if (h->used - pos < TFS_LREC_HDR || rec_key(pl + pos, &k, &blen) < 0)
			return -EINVAL;
		if (blen > (64u << 20))
			return -EINVAL;
		if (pos + TFS_LREC_HDR + blen <= h->used) {
			ret = a->emit(m, pl + pos, TFS_LREC_HDR + blen, h->lpos + TFS_LPG_HDR + pos, a->arg);
			if (ret < 0)
				return ret;
			pos += TFS_LREC_HDR + blen;
			continue;
		}
		if (h->used != TFS_LPG_PAYLOAD)
			return -EINVAL; /* continues past a page that was not full */
		if (a->cap < TFS_LREC_HDR + blen) {
			uint8_t *nb = realloc(a->b, TFS_LREC_HDR + blen);

			if (!nb)
				return -ENOMEM;
			a->b = nb;
			a->cap = TFS_LREC_HDR + blen;
		}
		n = h->used - pos;
		memcpy(a->b, pl + pos, n);
		a->len = n;
		a->need = TFS_LREC_HDR + blen - n;
		a->lpos = h->lpos + TFS_LPG_HDR + pos;
		pos = h->used;
	}
	return 0;
}

static int emit_apply(struct tfs_meta *m, const uint8_t *rec, size_t len, uint64_t lpos, void *arg)
{
	struct tfs_rbuf r = { .p = rec + TFS_LREC_HDR, .len = len - TFS_LREC_HDR };
	struct tfs_ukey k;
	uint64_t old = 0;
	uint32_t blen;
	int ret;

	(void)arg;
	if (rec_key(rec, &k, &blen) < 0)
		return -EINVAL;
	if (k.type == TFS_L_CSDIR)
		ret = cs_load_unit(m, k.dev, k.sub, &r, lpos, (uint32_t)len);
	else
		ret = m->env.ops->lapply(m->env.ctx, &k, &r, lpos, (uint32_t)len, &old);
	if (ret == 0 && r.pos != r.len)
		ret = -EINVAL; /* a record is exactly its body */
	if (ret == 0 && r.err)
		ret = -EINVAL;
	if (ret < 0)
		return ret;
	if (k.type < TFS_L_DEL_INODE)
		m->live += len;
	m->live -= old < m->live ? old : m->live;
	return 0;
}

/* read pages [p0, p1) of copy @c of segment @s into @buf (page-indexed) */
static int seg_read(struct tfs_meta *m, const struct mseg *s, unsigned int c, uint32_t p0,
		    uint32_t p1, uint8_t *buf)
{
	if (p1 <= p0)
		return 0;
	return meta_io(&m->env.dev[copy_dev(s, c)], TFS_IO_READ, buf + (size_t)p0 * PAGE,
		       (size_t)(p1 - p0) * PAGE, copy_off(m, s, c) + (uint64_t)p0 * PAGE);
}

/* page @p of segment @s verifies (no later than checkpoint @gen); for a
 * header, *@sh gets it */
static int page_ok(struct tfs_meta *m, const struct mseg *s, uint32_t p, const uint8_t *pg,
		   uint64_t gen, struct tfs_seg_hdr *sh)
{
	struct tfs_lpg_hdr ph;

	if (p == 0) {
		struct mseg n;

		if (tfs_seg_decode(sh, m->seed, pg) < 0 || sh->seq != s->seq || sh->gen > gen)
			return 0;
		n = (struct mseg){ s->seq + 1, (uint16_t)sh->next_dev, (uint16_t)sh->next_dev2,
				   sh->next_slot, sh->next_slot2 };
		return seg_valid(m, &n);
	}
	return tfs_lpg_check(&ph, m->seed, s->seq * m->log.segsize + (uint64_t)p * PAGE, pg) == 0 &&
	       ph.gen <= gen;
}

/* copy @c of page @p of @s is damaged, its twin @good is intact: say so,
 * and remember it for mlog_heal */
static void redundancy_lost(struct tfs_meta *m, const struct mseg *s, unsigned int c, uint32_t p,
			    const uint8_t *good, FILE *out)
{
	static struct tfs_ratelimit rl = TFS_RATELIMIT_INIT;
	struct mlog *l = &m->log;
	uint16_t dev = copy_dev(s, c);
	uint64_t off = copy_off(m, s, c) + (uint64_t)p * PAGE;

	m->rep.log_redund++;
	if (out)
		fprintf(out, "log %s of segment %llu, copy %u (%s offset %llu): damaged; the other copy is intact\n",
			p ? "page" : "segment header", (unsigned long long)s->seq, c + 1,
			m->env.dev[dev].d_path, (unsigned long long)off);
	else
		tfs_log_rl(&rl, TFS_LOG_WARN,
			   "metadata log page at %s offset %llu is damaged; its other copy is intact",
			   m->env.dev[dev].d_path, (unsigned long long)off);
	for (size_t i = 0; i < l->nheal; i++)
		if (l->heal[i].dev == dev && l->heal[i].off == off)
			return;
	if (l->nheal == l->cheal) {
		size_t cap = l->cheal ? 2 * l->cheal : 16;
		struct mheal *n;

		if (cap > 4096)
			return; /* fsck.tierfs -y rewrites the rest */
		n = realloc(l->heal, cap * sizeof(*n));
		if (!n)
			return;
		l->heal = n;
		l->cheal = cap;
	}
	l->heal[l->nheal].page = tfs_io_alloc(PAGE);
	if (!l->heal[l->nheal].page)
		return;
	memcpy(l->heal[l->nheal].page, good, PAGE);
	l->heal[l->nheal].dev = dev;
	l->heal[l->nheal].off = off;
	l->nheal++;
}

/*
 * Pages [0, @plim) of segment @s into @buf, each from a copy where it
 * verifies; @both: read and check both copies of every page (fsck), else
 * the second copy of a page only when the first fails.  *@okp[p]: page p
 * verified in one copy.  Returns 0 or -errno (I/O on both copies).
 */
static int seg_get(struct tfs_meta *m, const struct mseg *s, uint32_t plim, uint64_t gen, int both,
		   uint8_t *buf, uint8_t *tmp, uint8_t *okp, struct tfs_seg_hdr *sh, FILE *out)
{
	int r0, r1 = -1;
	uint32_t p;

	r0 = seg_read(m, s, 0, 0, plim, buf);
	if (both)
		r1 = seg_read(m, s, 1, 0, plim, tmp);
	if (r0 < 0 && r1 < 0 && both)
		return r0;
	for (p = 0; p < plim; p++) {
		uint8_t *pg = buf + (size_t)p * PAGE, *twin = tmp + (size_t)p * PAGE;
		struct tfs_seg_hdr h2;
		int ok0 = r0 == 0 && page_ok(m, s, p, pg, gen, sh), ok1;

		if (!both && !ok0)
			r1 = seg_read(m, s, 1, p, p + 1, tmp);
		ok1 = (both || !ok0) && r1 == 0 && page_ok(m, s, p, twin, gen, ok0 ? &h2 : sh);
		okp[p] = (uint8_t)(ok0 || ok1);
		if (!ok0 && ok1) {
			memcpy(pg, twin, PAGE);
			redundancy_lost(m, s, 0, p, pg, out);
		} else if (ok0 && both && !ok1) {
			redundancy_lost(m, s, 1, p, pg, out);
		}
	}
	return 0;
}

/*
 * Walk the log from segment @first to lpos @end: verify every segment header
 * and page (taking each from a copy where it verifies), hand each page's
 * payload to @a (NULL: only verify).  @segs: push the segments into the
 * log's list.  @both: check both copies of everything (fsck), reporting to
 * @out.  Returns 0, -EUCLEAN (damage in both copies), -errno.  With
 * @salvage, damaged pages are skipped.
 */
static int walk(struct tfs_meta *m, const struct mseg *first, uint64_t end, uint64_t gen,
		struct rasm *a, int segs, int salvage, int both, FILE *out, unsigned int *bad,
		struct mseg *last_next)
{
	uint32_t npages = m->log.segsize / PAGE, p, plim;
	uint8_t *buf = tfs_io_alloc(m->log.segsize), *tmp = tfs_io_alloc(m->log.segsize);
	uint8_t *okp = malloc(npages);
	struct mseg s = *first;
	struct tfs_seg_hdr sh;
	int ret = 0;

	if (!buf || !tmp || !okp) {
		ret = -ENOMEM;
		goto out_free;
	}
	while (s.seq * m->log.segsize < end) {
		uint64_t base = s.seq * m->log.segsize;

		if (!seg_valid(m, &s)) {
			ret = -EUCLEAN;
			meta_problem(m, "log segment %llu: slots %llu of device %u and %llu of device %u cannot hold it",
				     (unsigned long long)s.seq, (unsigned long long)s.slot, s.dev,
				     (unsigned long long)s.slot2, s.dev2);
			break;
		}
		plim = end - base >= m->log.segsize ? npages : (uint32_t)((end - base + PAGE - 1) / PAGE);
		ret = seg_get(m, &s, plim, gen, both, buf, tmp, okp, &sh, out);
		if (ret < 0)
			break;
		if (!okp[0]) {
			/* without its header the chain is broken: nothing after it
			 * can be found */
			if (bad)
				(*bad)++;
			if (out)
				fprintf(out, "log segment %llu (device %u slot %llu, device %u slot %llu): header damaged in both copies\n",
					(unsigned long long)s.seq, s.dev, (unsigned long long)s.slot,
					s.dev2, (unsigned long long)s.slot2);
			meta_problem(m, "metadata log segment %llu (%s offset %llu and its copy) has a damaged header",
				     (unsigned long long)s.seq, m->env.dev[s.dev].d_path,
				     (unsigned long long)copy_off(m, &s, 0));
			ret = -EUCLEAN;
			break;
		}
		if (segs) {
			ret = seg_push(&m->log, &s);
			if (ret < 0)
				break;
		}
		for (p = 1; p < plim; p++) {
			struct tfs_lpg_hdr ph;
			uint64_t lpos = base + (uint64_t)p * PAGE;

			if (!okp[p]) {
				if (bad)
					(*bad)++;
				if (out)
					fprintf(out, "log page at lpos %llu (device %u offset %llu and its copy): damaged in both copies\n",
						(unsigned long long)lpos, s.dev,
						(unsigned long long)(copy_off(m, &s, 0) + (uint64_t)p * PAGE));
				meta_problem(m, "metadata log page at %s offset %llu is damaged, and so is its copy",
					     m->env.dev[s.dev].d_path,
					     (unsigned long long)(copy_off(m, &s, 0) + (uint64_t)p * PAGE));
				if (!salvage) {
					ret = -EUCLEAN;
					goto out_free;
				}
				if (a)
					a->sync = 1;
				continue;
			}
			if (!a)
				continue;
			tfs_lpg_check(&ph, m->seed, lpos, buf + (size_t)p * PAGE);
			ret = rasm_feed(m, a, buf + (size_t)p * PAGE + TFS_LPG_HDR, &ph);
			if (ret == -ENOMEM)
				goto out_free;
			if (ret < 0) {
				if (bad)
					(*bad)++;
				meta_problem(m, "metadata log page at %s offset %llu holds a record that does not apply",
					     m->env.dev[s.dev].d_path,
					     (unsigned long long)(copy_off(m, &s, 0) + (uint64_t)p * PAGE));
				if (!salvage) {
					ret = -EUCLEAN;
					goto out_free;
				}
				a->sync = 1;
				ret = 0;
			}
		}
		s = (struct mseg){ s.seq + 1, (uint16_t)sh.next_dev, (uint16_t)sh.next_dev2,
				   sh.next_slot, sh.next_slot2 };
		if (last_next)
			*last_next = s;
	}
out_free:
	free(okp);
	tfs_io_free(tmp);
	tfs_io_free(buf);
	return ret;
}

int mlog_load(struct tfs_meta *m, const struct tfs_ckh *h, int salvage)
{
	struct mlog *l = &m->log;
	struct rasm a = { .emit = emit_apply, .sync = 1 };
	struct mseg next = { 0, 0, 0, 0, 0 };
	struct mseg tail = { h->tail_seq, (uint16_t)h->tail_dev, (uint16_t)h->tail_dev2,
			     h->tail_slot, h->tail_slot2 };
	unsigned int bad = 0;
	int ret;

	mlog_reset(m);
	m->live = 0;
	ret = walk(m, &tail, h->head, h->gen, &a, 1, salvage, 0, NULL, &bad, &next);
	free(a.b);
	m->rep.log_bad += bad;
	m->rep.log_lost += bad;
	if (ret < 0 && !(salvage && ret == -EUCLEAN))
		return ret;
	l->head = h->head;
	l->next = next;
	l->have_next = l->nseg > 0;
	l->ptail = (struct mseg){ h->ptail_seq, (uint16_t)h->ptail_dev, (uint16_t)h->ptail_dev2,
				  h->ptail_slot, h->ptail_slot2 };
	l->phead = h->phead;
	return ret;
}

int mlog_load_deferred(struct tfs_meta *m, const struct tfs_ckh *h)
{
	struct mlog *l = &m->log;
	struct mseg s = { h->ptail_seq, (uint16_t)h->ptail_dev, (uint16_t)h->ptail_dev2,
			  h->ptail_slot, h->ptail_slot2 };
	uint8_t *buf, *tmp, ok;
	int ret = 0;

	if (h->ptail_seq >= h->tail_seq || h->gen <= 1)
		return 0;
	buf = tfs_io_alloc(PAGE);
	tmp = tfs_io_alloc(PAGE);
	if (!buf || !tmp) {
		ret = -ENOMEM;
		goto out_free;
	}
	while (s.seq < h->tail_seq) {
		struct tfs_seg_hdr sh;

		if (!seg_valid(m, &s) || seg_get(m, &s, 1, h->gen, 0, buf, tmp, &ok, &sh, NULL) < 0 ||
		    !ok) {
			/* only the older checkpoint needed it */
			tfs_warn("the log of the previous checkpoint is damaged at segment %llu: that checkpoint is no longer usable",
				 (unsigned long long)s.seq);
			m->rep.log_bad++;
			break;
		}
		ret = list_add(&l->defer, &l->ndefer, &l->cdefer, &s);
		if (ret < 0)
			break;
		s = (struct mseg){ s.seq + 1, (uint16_t)sh.next_dev, (uint16_t)sh.next_dev2,
				   sh.next_slot, sh.next_slot2 };
	}
out_free:
	tfs_io_free(tmp);
	tfs_io_free(buf);
	return ret;
}

/* ---------------------------------------------------------------- appending */

static int out_add(struct mlog *l, const uint8_t *page, uint16_t dev, uint64_t off)
{
	uint8_t *b;

	if (l->nout == l->cout) {
		size_t c = l->cout ? l->cout * 2 : 64;
		struct mpage *n = realloc(l->out, c * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->out = n;
		l->cout = c;
	}
	b = tfs_io_alloc(PAGE);
	if (!b)
		return -ENOMEM;
	memcpy(b, page, PAGE);
	l->out[l->nout++] = (struct mpage){ b, dev, off };
	return 0;
}

static struct mseg *seg_of(struct mlog *l, uint64_t lpos)
{
	uint64_t seq = lpos / l->segsize;
	struct mseg *t;

	if (!l->nseg)
		return NULL;
	t = seg_at(l, 0);
	if (seq < t->seq || seq - t->seq >= l->nseg)
		return NULL;
	return seg_at(l, (size_t)(seq - t->seq));
}

/* move into the reserved next segment and reserve its successor */
static int seg_open(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	struct tfs_seg_hdr sh;
	struct mseg s, n;
	int ret;

	if (!l->have_next) {
		/* a new pool: the first segment */
		ret = seg_alloc2(m, &s);
		if (ret < 0)
			return ret;
		s.seq = l->cur / l->segsize;
	} else {
		s = l->next;
	}
	ret = seg_alloc2(m, &n);
	if (ret < 0) {
		tfs_err("metadata log: no free slots for a segment: %s", strerror(-ret));
		if (!l->have_next)
			seg_free2(m, &s);
		return ret;
	}
	n.seq = s.seq + 1;
	ret = seg_push(l, &s);
	if (ret < 0) {
		seg_free2(m, &n);
		return ret;
	}
	sh.seq = s.seq;
	sh.gen = l->gen;
	sh.next_dev = n.dev;
	sh.next_slot = n.slot;
	sh.next_dev2 = n.dev2;
	sh.next_slot2 = n.slot2;
	tfs_seg_encode(&sh, m->seed, l->page);
	ret = out_add(l, l->page, s.dev, copy_off(m, &s, 0));
	if (ret == 0)
		ret = out_add(l, l->page, s.dev2, copy_off(m, &s, 1));
	l->next = n;
	l->have_next = 1;
	l->cur = s.seq * l->segsize + PAGE;
	return ret;
}

/* start the page at l->cur (a page boundary) */
static int page_open(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	int ret;

	if (l->cur % l->segsize == 0) {
		ret = seg_open(m);
		if (ret < 0)
			return ret;
	}
	memset(l->page, 0, PAGE);
	l->pfirst = TFS_LPG_NOREC;
	l->cur += TFS_LPG_HDR;
	return 0;
}

static int page_close(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	uint64_t start = (l->cur - 1) & ~(uint64_t)(PAGE - 1);
	struct tfs_lpg_hdr h = { .first = l->pfirst, .used = (uint16_t)(l->cur - start - TFS_LPG_HDR),
				 .lpos = start, .gen = l->gen };
	struct mseg *s = seg_of(l, start);
	int ret;

	if (!s) {
		tfs_err("metadata log: page at %llu has no segment", (unsigned long long)start);
		return -EIO;
	}
	tfs_lpg_seal(&h, m->seed, l->page);
	l->cur = start + PAGE;
	l->appended += PAGE;
	ret = out_add(l, l->page, s->dev, copy_off(m, s, 0) + (start - s->seq * l->segsize));
	if (ret == 0)
		ret = out_add(l, l->page, s->dev2, copy_off(m, s, 1) + (start - s->seq * l->segsize));
	return ret;
}

static int page_is_open(const struct mlog *l)
{
	return l->cur % PAGE != 0;
}

int mlog_begin(struct tfs_meta *m, uint64_t gen)
{
	struct mlog *l = &m->log;

	l->gen = gen;
	l->cur = l->head;
	l->appended = 0;
	return 0;
}

uint64_t mlog_start(struct tfs_meta *m)
{
	struct mlog *l = &m->log;

	if (page_is_open(l)) {
		uint64_t end = (l->cur & ~(uint64_t)(PAGE - 1)) + PAGE - 8;

		if (end - l->cur < TFS_LREC_HDR && page_close(m) < 0)
			return 0;
	}
	if (!page_is_open(l) && page_open(m) < 0)
		return 0;
	return l->cur;
}

int mlog_put(struct tfs_meta *m, const uint8_t *p, size_t len)
{
	struct mlog *l = &m->log;
	int ret;

	/* a whole record, at the position mlog_start() gave */
	if (l->pfirst == TFS_LPG_NOREC)
		l->pfirst = (uint16_t)((l->cur % PAGE) - TFS_LPG_HDR);
	while (len) {
		uint64_t start = l->cur & ~(uint64_t)(PAGE - 1), end = start + PAGE - 8;
		size_t n = end - l->cur < len ? (size_t)(end - l->cur) : len;

		memcpy(l->page + (l->cur - start), p, n);
		l->cur += n;
		p += n;
		len -= n;
		if (len) {
			ret = page_close(m);
			if (ret == 0)
				ret = page_open(m);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

int mlog_end(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	int ret = 0;

	if (page_is_open(l))
		ret = page_close(m);
	return ret;
}

int mlog_flush_out(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	struct tfs_io_req reqs[64];
	size_t i = 0, n, k;
	int ret = 0;

	while (i < l->nout) {
		n = l->nout - i < 64 ? l->nout - i : 64;
		for (k = 0; k < n; k++)
			reqs[k] = (struct tfs_io_req){ .r_dev = &m->env.dev[l->out[i + k].dev],
						       .r_op = TFS_IO_WRITE,
						       .r_buf = l->out[i + k].buf,
						       .r_len = PAGE,
						       .r_off = l->out[i + k].off,
						       .r_flags = TFS_IO_F_META };
		if (ret == 0)
			ret = tfs_io_run(reqs, (unsigned int)n);
		for (k = 0; k < n; k++)
			tfs_io_free(l->out[i + k].buf);
		i += n;
	}
	l->nout = 0;
	return ret;
}

void mlog_fill_header(struct tfs_meta *m, struct tfs_ckh *h)
{
	struct mlog *l = &m->log;

	if (l->nseg) {
		const struct mseg *t = seg_at(l, 0);

		h->tail_seq = t->seq;
		h->tail_dev = t->dev;
		h->tail_slot = t->slot;
		h->tail_dev2 = t->dev2;
		h->tail_slot2 = t->slot2;
	} else {
		h->tail_seq = l->next.seq;
		h->tail_dev = l->next.dev;
		h->tail_slot = l->next.slot;
		h->tail_dev2 = l->next.dev2;
		h->tail_slot2 = l->next.slot2;
	}
	h->head = l->cur > l->head ? l->cur : l->head;
	/* the previous checkpoint's log: from its tail */
	h->ptail_seq = m->ck.gen ? m->ck.tail_seq : h->tail_seq;
	h->ptail_dev = m->ck.gen ? m->ck.tail_dev : h->tail_dev;
	h->ptail_slot = m->ck.gen ? m->ck.tail_slot : h->tail_slot;
	h->ptail_dev2 = m->ck.gen ? m->ck.tail_dev2 : h->tail_dev2;
	h->ptail_slot2 = m->ck.gen ? m->ck.tail_slot2 : h->tail_slot2;
	h->phead = m->ck.gen ? m->ck.head : 0;
}

void mlog_publish(struct tfs_meta *m, const struct tfs_ckh *h)
{
	struct mlog *l = &m->log;
	size_t i;

	for (i = 0; i < l->ndefer; i++)
		seg_free2(m, &l->defer[i]);
	free(l->defer);
	l->defer = l->clean;
	l->ndefer = l->nclean;
	l->cdefer = l->cclean;
	l->clean = NULL;
	l->nclean = l->cclean = 0;
	l->head = h->head;
	l->ptail = (struct mseg){ h->ptail_seq, (uint16_t)h->ptail_dev, (uint16_t)h->ptail_dev2,
				  h->ptail_slot, h->ptail_slot2 };
	l->phead = h->phead;
}

/* ---------------------------------------------------------------- cleaning */

struct found {
	struct tfs_ukey k;
	uint64_t lpos;
};

struct collect {
	struct found *f;
	size_t n, cap;
	uint64_t seg_end;
};

/* only the header of a record matters here; the rest may be elsewhere.
 * @sync: resynchronise at the page's first record; @skip: bytes of a record
 * begun earlier still to pass over */
static int collect_hdrs(const uint8_t *pl, const struct tfs_lpg_hdr *h, struct collect *c,
			uint64_t *skip, int *sync)
{
	size_t pos = 0;

	if (*sync) {
		if (h->first == TFS_LPG_NOREC)
			return 0;
		pos = h->first;
		*sync = 0;
		*skip = 0;
	} else if (*skip) {
		if (*skip >= h->used) {
			*skip -= h->used;
			return 0;
		}
		pos = (size_t)*skip;
		*skip = 0;
	}
	while (pos < h->used) {
		struct tfs_ukey k;
		uint32_t blen;

		if (h->used - pos < TFS_LREC_HDR || rec_key(pl + pos, &k, &blen) < 0)
			return -EINVAL;
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 256;
			struct found *nf = realloc(c->f, cap * sizeof(*nf));

			if (!nf)
				return -ENOMEM;
			c->f = nf;
			c->cap = cap;
		}
		c->f[c->n++] = (struct found){ k, h->lpos + TFS_LPG_HDR + pos };
		if (pos + TFS_LREC_HDR + blen > h->used) {
			*skip = pos + TFS_LREC_HDR + blen - h->used;
			break;
		}
		pos += TFS_LREC_HDR + blen;
	}
	return 0;
}

/* the records whose headers lie in segment @s (read from the media) */
static int seg_records(struct tfs_meta *m, const struct mseg *s, struct collect *c)
{
	uint32_t npages = m->log.segsize / PAGE, p, plim = npages;
	uint8_t *buf = tfs_io_alloc(m->log.segsize), *tmp = tfs_io_alloc(m->log.segsize);
	uint8_t *okp = malloc(npages);
	struct tfs_seg_hdr sh;
	uint64_t skip = 0;
	int sync = 1, ret;

	if (!buf || !tmp || !okp) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (s->seq * m->log.segsize + m->log.segsize > m->log.head)
		plim = (uint32_t)((m->log.head - s->seq * m->log.segsize + PAGE - 1) / PAGE);
	ret = seg_get(m, s, plim, UINT64_MAX, 0, buf, tmp, okp, &sh, NULL);
	if (ret == 0 && !okp[0])
		ret = -EUCLEAN;
	for (p = 1; p < plim && ret == 0; p++) {
		struct tfs_lpg_hdr ph;
		uint64_t lpos = s->seq * m->log.segsize + (uint64_t)p * PAGE;

		if (!okp[p] || tfs_lpg_check(&ph, m->seed, lpos, buf + (size_t)p * PAGE) < 0) {
			ret = -EUCLEAN;
			break;
		}
		ret = collect_hdrs(buf + (size_t)p * PAGE + TFS_LPG_HDR, &ph, c, &skip, &sync);
		if (ret == -EINVAL)
			ret = -EUCLEAN;
	}
out_free:
	free(okp);
	tfs_io_free(tmp);
	tfs_io_free(buf);
	return ret;
}

int mlog_clean(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	uint64_t used, target, moved = 0, budget, nread = 0, maxread;
	int ret = 0;

	/* what bounds a checkpoint is what cleaning makes it write again (live
	 * units of the tail, rewritten at the head under the pool lock): a
	 * sixteenth of the live bytes, at least four segments' worth.  A
	 * segment whose records are all dead costs one read: after a big
	 * delete the log shrinks by up to 256 MiB of reads per checkpoint. */
	pthread_mutex_lock(m->env.lock);
	budget = m->live / 16 + 4ull * l->segsize;
	pthread_mutex_unlock(m->env.lock);
	maxread = (256ull << 20) / l->segsize;
	if (maxread < 4)
		maxread = 4;
	while (moved < budget && nread < maxread) {
		struct collect c = { NULL, 0, 0, 0 };
		struct mseg s;
		size_t i;

		pthread_mutex_lock(m->env.lock);
		used = l->head - mlog_tail_lpos(m);
		target = 2 * (m->live + m->pend_bytes) + 4ull * l->segsize;
		if (l->nseg < 2 || used <= target) {
			pthread_mutex_unlock(m->env.lock);
			break;
		}
		s = *seg_at(l, 0);
		pthread_mutex_unlock(m->env.lock);
		ret = seg_records(m, &s, &c);
		if (ret < 0) {
			free(c.f);
			if (ret == -EUCLEAN)
				tfs_err("metadata log segment %llu (%s) no longer verifies: not cleaned; run fsck.tierfs",
					(unsigned long long)s.seq, m->env.dev[s.dev].d_path);
			return ret == -EUCLEAN ? 0 : ret;
		}
		pthread_mutex_lock(m->env.lock);
		for (i = 0; i < c.n; i++) {
			const struct found *f = &c.f[i];

			uint64_t b = 0;

			if (f->k.type == TFS_L_CSDIR)
				b = cs_unit_clean(m, &f->k, f->lpos);
			else if (f->k.type < TFS_L_DEL_INODE)
				b = m->env.ops->uclean(m->env.ctx, &f->k, f->lpos);
			m->pend_bytes += b;
			moved += b;
		}
		ret = list_add(&l->clean, &l->nclean, &l->cclean, &s);
		if (ret == 0) {
			l->first = (l->first + 1) % l->cap;
			l->nseg--;
		}
		pthread_mutex_unlock(m->env.lock);
		free(c.f);
		if (ret < 0)
			return ret;
		nread++;
	}
	return 0;
}

/* ---------------------------------------------------------------- fsck */

unsigned int mlog_verify(struct tfs_meta *m, const struct tfs_ckh *h, FILE *out)
{
	struct mseg tail = { h->tail_seq, (uint16_t)h->tail_dev, (uint16_t)h->tail_dev2,
			     h->tail_slot, h->tail_slot2 };
	struct mseg ptail = { h->ptail_seq, (uint16_t)h->ptail_dev, (uint16_t)h->ptail_dev2,
			      h->ptail_slot, h->ptail_slot2 };
	unsigned int bad = 0, redund = m->rep.log_redund;
	int ret;

	/* both copies of the newer checkpoint's log (the load read one of
	 * each), and of the segments only the older one still runs through */
	ret = walk(m, &tail, h->head, h->gen, NULL, 0, 1, 1, out, &bad, NULL);
	if (ret < 0 && !bad)
		bad++;
	if (h->gen > 1 && h->ptail_seq < h->tail_seq) {
		ret = walk(m, &ptail, h->tail_seq * m->log.segsize, h->gen, NULL, 0, 1, 1, out, &bad,
			   NULL);
		if (ret < 0 && !bad)
			bad++;
	}
	return bad + (m->rep.log_redund - redund);
}

int mlog_heal(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	size_t i, n = l->nheal;
	int ret = 0;

	for (i = 0; i < l->nheal && ret == 0; i++)
		ret = meta_io(&m->env.dev[l->heal[i].dev], TFS_IO_WRITE, l->heal[i].page, PAGE,
			      l->heal[i].off);
	if (ret == 0)
		ret = meta_flush_dirty(m);
	for (i = 0; i < l->nheal; i++)
		tfs_io_free(l->heal[i].page);
	l->nheal = 0;
	if (ret < 0) {
		tfs_err("rewriting damaged metadata log pages from their copies failed: %s",
			strerror(-ret));
		return ret;
	}
	if (n)
		tfs_info("rewrote %zu damaged metadata log page%s from %s intact cop%s", n,
			 n == 1 ? "" : "s", n == 1 ? "its" : "their", n == 1 ? "y" : "ies");
	return (int)n;
}

static void map_seg(struct tfs_meta *m, const struct mseg *s, uint64_t head, uint64_t phead,
		    int older_only, FILE *out)
{
	struct mlog *l = &m->log;
	uint64_t base = s->seq * l->segsize;
	uint32_t p, npages = l->segsize / PAGE;
	unsigned int c;

	for (c = 0; c < 2; c++) {
		uint16_t dev = copy_dev(s, c);
		uint64_t off = copy_off(m, s, c);

		fprintf(out, "logseg %u %llu %u live segment %llu header, copy %u%s\n", dev,
			(unsigned long long)off, PAGE, (unsigned long long)s->seq, c + 1,
			older_only ? " (older checkpoint only)" : "");
		for (p = 1; p < npages && (older_only || base + (uint64_t)p * PAGE < head); p++)
			fprintf(out, "logpage %u %llu %u live lpos %llu, copy %u%s\n", dev,
				(unsigned long long)(off + (uint64_t)p * PAGE), PAGE,
				(unsigned long long)(base + (uint64_t)p * PAGE), c + 1,
				older_only ? " (older checkpoint only)"
				: base + (uint64_t)p * PAGE >= phead ? " (newest checkpoint only)" : "");
	}
}

void mlog_map(struct tfs_meta *m, const struct tfs_ckh *h, FILE *out)
{
	struct mlog *l = &m->log;
	size_t i;

	for (i = 0; i < l->ndefer; i++)
		map_seg(m, &l->defer[i], h->head, h->phead, 1, out);
	for (i = 0; i < l->nseg; i++)
		map_seg(m, seg_at(l, i), h->head, h->phead, 0, out);
}

int mlog_drop_all(struct tfs_meta *m)
{
	struct mlog *l = &m->log;
	int ret = 0;

	/* every segment leaves the log of the checkpoint being written; the
	 * older checkpoint still needs them until the next one */
	while (l->nseg && ret == 0) {
		ret = list_add(&l->clean, &l->nclean, &l->cclean, seg_at(l, 0));
		if (ret == 0) {
			l->first = (l->first + 1) % l->cap;
			l->nseg--;
		}
	}
	if (ret == 0 && l->have_next) {
		struct mseg n;

		/* the new log starts in a fresh segment from the devices the
		 * pool hands out now (one being emptied holds no part of it);
		 * the reserved one is freed with the old log */
		if (seg_alloc2(m, &n) == 0) {
			n.seq = l->next.seq;
			ret = list_add(&l->clean, &l->nclean, &l->cclean, &l->next);
			if (ret == 0)
				l->next = n;
			else
				seg_free2(m, &n);
		}
		l->head = l->next.seq * l->segsize;
	}
	return ret;
}

/*
 * src/meta/journal.c - journal transactions.
 *
 * The journal is two halves on the metadata device.  Checkpoint N is
 * followed by transactions in half N % 2, from its offset 0 with sequence
 * jseq(N); the other half holds those that followed checkpoint N - 1, so
 * either checkpoint plus the journal gives the pool.
 *
 * A commit writes its transaction at the next aligned offset and, right
 * after it, an end marker (a transaction header with TFS_JF_END, no
 * records, the next sequence), which the next commit overwrites.  On a block
 * device both go in one write followed by a flush.  On pmem the transaction
 * is stored and persisted except for its first 8 bytes (magic and length),
 * which are then stored at once and persisted: that store is the commit
 * point; the marker follows.
 *
 * Replay applies transactions in sequence while they verify.  It stops at
 * an end marker, at a header that is not the next sequence, or at a
 * transaction that does not verify (header or records).  That is the end -
 * unless a valid header with a later sequence (a transaction, or a marker
 * past the next sequence) lies anywhere in either half.  Such a header was
 * written after the transaction replay stopped at was acknowledged, so that
 * one was damaged, not torn: the pool has lost acknowledged changes and
 * says so.  Thanks to the end marker this holds for the last transaction
 * too.  Marker and transaction are written in one go on block devices, so
 * a torn write that leaves the marker but not the whole transaction (a
 * power cut, not a killed daemon, which leaves no torn writes) is taken for
 * damage too: the mount refuses to go read-write and fsck.tierfs -y drops
 * the transaction.  It was never acknowledged, so nothing is lost by that.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_i.h"

static uint64_t jseed(const struct tfs_meta *m, uint64_t seq)
{
	return m->seed ^ (seq * 0x9E3779B97F4A7C15ull);
}

static struct tfs_io_dev *jdev(struct tfs_meta *m)
{
	return &m->env.dev[m->sb.s_meta_dev];
}

void jrnl_init(struct tfs_meta *m)
{
	struct jrnl *j = &m->j;

	j->off = m->sb.s_jrnl_off;
	j->half = (m->sb.s_jrnl_len / 2) & ~(uint64_t)(TFS_BLOCK_SIZE - 1);
	j->byte = (jdev(m)->d_ops->flags & TFS_IO_BYTE) != 0;
	j->align = j->byte ? TFS_PMEM_LINE : TFS_BLOCK_SIZE;
	j->cur = 0;
	j->pos = 0;
	j->seq = 1;
}

uint64_t jrnl_span(const struct tfs_meta *m, uint64_t len)
{
	uint64_t a = m->j.align;

	return (TFS_JHDR_SIZE + len + a - 1) & ~(a - 1);
}

int jrnl_fits(const struct tfs_meta *m, uint64_t len)
{
	return m->j.pos + jrnl_span(m, len) + jrnl_span(m, 0) <= m->j.half;
}

struct jhdr {
	uint32_t magic, len, nrec, flags;
	uint64_t seq, next_ino, csum, hcsum;
};

static void hdr_put(uint8_t *b, uint32_t v32, int at)
{
	uint32_t le = htole32(v32);

	memcpy(b + at, &le, 4);
}

static void hdr_put64(uint8_t *b, uint64_t v, int at)
{
	uint64_t le = htole64(v);

	memcpy(b + at, &le, 8);
}

/* a transaction (or marker) with payload @p at @b */
static void txn_build(const struct tfs_meta *m, uint8_t *b, uint64_t seq, uint32_t flags,
		      uint32_t nrec, uint64_t next_ino, const uint8_t *p, size_t len)
{
	uint64_t seed = jseed(m, seq);

	hdr_put(b, TFS_JRNL_MAGIC, 0);
	hdr_put(b, (uint32_t)len, 4);
	hdr_put64(b, seq, 8);
	hdr_put(b, nrec, 16);
	hdr_put(b, flags, 20);
	hdr_put64(b, next_ino, 24);
	hdr_put64(b, tfs_hash(p ? p : b, len, seed), 32);
	hdr_put64(b, tfs_hash(b, 40, seed), 40);
	if (len)
		memcpy(b + TFS_JHDR_SIZE, p, len);
}

/* 0 when the header at @b verifies (whatever its sequence) */
static int hdr_get(const struct tfs_meta *m, const uint8_t *b, struct jhdr *h)
{
	struct tfs_rbuf r = { .p = b, .len = TFS_JHDR_SIZE };

	h->magic = tfs_get_u32(&r);
	if (h->magic != TFS_JRNL_MAGIC)
		return -EINVAL;
	h->len = tfs_get_u32(&r);
	h->seq = tfs_get_u64(&r);
	h->nrec = tfs_get_u32(&r);
	h->flags = tfs_get_u32(&r);
	h->next_ino = tfs_get_u64(&r);
	h->csum = tfs_get_u64(&r);
	h->hcsum = tfs_get_u64(&r);
	if (h->hcsum != tfs_hash(b, 40, jseed(m, h->seq)) || h->len > m->j.half ||
	    (h->flags & ~TFS_JF_END) || ((h->flags & TFS_JF_END) && (h->len || h->nrec)))
		return -EINVAL;
	return 0;
}

int jrnl_write(struct tfs_meta *m, const uint8_t *p, size_t len, uint32_t nrec, uint64_t next_ino)
{
	struct jrnl *j = &m->j;
	uint64_t span = jrnl_span(m, len), ms = jrnl_span(m, 0), off, word;
	uint8_t *buf;
	int ret;

	if (!jrnl_fits(m, len))
		return -ENOSPC;
	buf = tfs_io_alloc(span + ms);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, span + ms);
	txn_build(m, buf, j->seq, 0, nrec, next_ino, p, len);
	txn_build(m, buf + span, j->seq + 1, TFS_JF_END, 0, next_ino, NULL, 0);
	off = j->off + j->cur * j->half + j->pos;
	if (j->byte) {
		/* body first, then the commit point, then the marker */
		ret = meta_io(jdev(m), TFS_IO_WRITE, buf + 8, span - 8, off + 8);
		memcpy(&word, buf, 8);
		if (ret == 0)
			ret = tfs_pmem_store8(jdev(m), off, word);
		if (ret == 0)
			ret = meta_io(jdev(m), TFS_IO_WRITE, buf + span, ms, off + span);
	} else {
		ret = meta_io(jdev(m), TFS_IO_WRITE, buf, span + ms, off);
		if (ret == 0)
			ret = tfs_io_flush(jdev(m));
	}
	if (ret < 0) {
		/* part of it (or all of it, when the flush failed) may have
		 * reached the device: make sure neither it nor its end marker
		 * looks committed (a header that verifies over records that do
		 * not, or a later marker, is taken for damage).  If the device
		 * takes no write at all, a later mount reports it and
		 * fsck.tierfs -y drops it. */
		memset(buf, 0, span + ms);
		if (meta_io(jdev(m), TFS_IO_WRITE, buf, span + ms, off) == 0)
			tfs_io_flush(jdev(m));
	}
	tfs_io_free(buf);
	if (ret < 0)
		return ret;
	tfs_debug("commit %llu: %u records, %zu bytes, journal half %u at %llu",
		  (unsigned long long)j->seq, nrec, len, j->cur, (unsigned long long)j->pos);
	j->pos += span;
	j->seq++;
	return 0;
}

int jrnl_zero(struct tfs_meta *m)
{
	uint64_t chunk = 1u << 20, done = 0, len = 2 * m->j.half;
	uint8_t *zero = tfs_io_alloc(chunk);
	int ret = 0;

	if (!zero)
		return -ENOMEM;
	memset(zero, 0, chunk);
	while (done < len && ret == 0) {
		uint64_t n = len - done < chunk ? len - done : chunk;

		ret = meta_io(jdev(m), TFS_IO_WRITE, zero, n, m->j.off + done);
		done += n;
	}
	if (ret == 0)
		ret = tfs_io_flush(jdev(m));
	tfs_io_free(zero);
	return ret;
}

/* ---------------------------------------------------------------- replay */

struct jview {
	uint8_t *h[2];	/* both halves as on the media */
};

static int view_read(struct tfs_meta *m, struct jview *v)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2; i++) {
		v->h[i] = tfs_io_alloc(m->j.half);
		if (!v->h[i])
			return -ENOMEM;
		ret = meta_io(jdev(m), TFS_IO_READ, v->h[i], m->j.half, m->j.off + i * m->j.half);
		if (ret < 0) {
			tfs_err("cannot read the journal on %s: %s", jdev(m)->d_path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void view_free(struct jview *v)
{
	tfs_io_free(v->h[0]);
	tfs_io_free(v->h[1]);
}

/* the header at @off of half @h verifies and so does its payload */
static int txn_ok(struct tfs_meta *m, const uint8_t *b, uint64_t off, struct jhdr *jh)
{
	if (off + TFS_JHDR_SIZE > m->j.half || hdr_get(m, b + off, jh) < 0)
		return 0;
	if (off + jrnl_span(m, jh->len) > m->j.half)
		return 0;
	return jh->csum == tfs_hash(b + off + TFS_JHDR_SIZE, jh->len, jseed(m, jh->seq));
}

static int txn_apply(struct tfs_meta *m, const uint8_t *p, const struct jhdr *jh, int *clean)
{
	struct tfs_rbuf r = { .p = p, .len = jh->len };
	uint32_t n = 0;

	*clean = 0;
	while (r.pos < r.len) {
		unsigned int type = tfs_get_u16(&r);
		uint32_t len;
		struct tfs_rbuf sub;
		int ret;

		tfs_get_u16(&r);
		len = tfs_get_u32(&r);
		sub.p = tfs_get_bytes(&r, len);
		sub.len = len;
		sub.pos = 0;
		sub.err = 0;
		if (r.err)
			return -EINVAL;
		if (type == TFS_J_UNMOUNT && jh->nrec == 1)
			*clean = 1;
		ret = m->env.ops->japply(m->env.ctx, type, &sub);
		if (ret < 0)
			return ret;
		n++;
	}
	if (n != jh->nrec)
		return -EINVAL;
	if (m->env.ops->set_next_ino)
		m->env.ops->set_next_ino(m->env.ctx, jh->next_ino);
	return 0;
}

/* a valid header proving that something after sequence @e was written:
 * a transaction at or past it, or a marker past it; its sequence or 0.
 * The header where replay stopped (half @sh, offset @soff) is not
 * evidence: a write torn after its header leaves exactly that. */
static uint64_t later_evidence(struct tfs_meta *m, struct jview *v, uint64_t e, unsigned int sh,
			       uint64_t soff)
{
	uint64_t off, best = 0;
	struct jhdr jh;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		for (off = 0; off + TFS_JHDR_SIZE <= m->j.half; off += m->j.align) {
			if ((i == sh && off == soff) || hdr_get(m, v->h[i] + off, &jh) < 0)
				continue;
			if ((!(jh.flags & TFS_JF_END) && jh.seq >= e) ||
			    ((jh.flags & TFS_JF_END) && jh.seq > e))
				if (!best || jh.seq > best)
					best = jh.seq;
		}
	}
	return best;
}

struct jfound {
	uint64_t seq;
	unsigned int half;
	uint64_t off;
};

static int found_cmp(const void *a, const void *b)
{
	const struct jfound *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* salvage: every verifying transaction after @e, in sequence; what was
 * skipped is reported */
static int salvage_rest(struct tfs_meta *m, struct jview *v, uint64_t e, uint64_t *maxseq)
{
	struct jfound *f = NULL;
	size_t n = 0, cap = 0, i;
	uint64_t off, want = e;
	struct jhdr jh;
	unsigned int h;
	int clean, ret = 0;

	for (h = 0; h < 2; h++) {
		for (off = 0; off + TFS_JHDR_SIZE <= m->j.half; off += m->j.align) {
			if (hdr_get(m, v->h[h] + off, &jh) < 0 || jh.seq < e)
				continue;
			if (jh.seq > *maxseq)
				*maxseq = jh.seq;
			if ((jh.flags & TFS_JF_END) || !txn_ok(m, v->h[h], off, &jh))
				continue;
			if (n == cap) {
				struct jfound *nf = realloc(f, (cap = cap ? 2 * cap : 64) * sizeof(*f));

				if (!nf) {
					free(f);
					return -ENOMEM;
				}
				f = nf;
			}
			f[n++] = (struct jfound){ jh.seq, h, off };
		}
	}
	if (n)
		qsort(f, n, sizeof(*f), found_cmp);
	for (i = 0; i < n; i++) {
		if (i && f[i].seq == f[i - 1].seq)
			continue;
		txn_ok(m, v->h[f[i].half], f[i].off, &jh);
		if (f[i].seq != want)
			tfs_err("journal: transactions %llu to %llu are lost; applying %llu",
				(unsigned long long)want, (unsigned long long)f[i].seq - 1,
				(unsigned long long)f[i].seq);
		ret = txn_apply(m, v->h[f[i].half] + f[i].off + TFS_JHDR_SIZE, &jh, &clean);
		if (ret < 0) {
			tfs_err("journal: transaction %llu does not apply: skipped",
				(unsigned long long)f[i].seq);
			ret = 0;
		}
		m->rep.jrnl_applied++;
		want = f[i].seq + 1;
	}
	free(f);
	return ret;
}

int jrnl_replay(struct tfs_meta *m, uint64_t seq, unsigned int half, int salvage)
{
	struct jview v = { { NULL, NULL } };
	uint64_t e = seq, off = 0, ev, maxseq = 0;
	unsigned int h = half, tried_other = 0;
	struct jhdr jh;
	int ret, clean = 0;

	ret = view_read(m, &v);
	if (ret < 0)
		goto out_free;
	for (;;) {
		int stop = 0;

		if (off + TFS_JHDR_SIZE > m->j.half || hdr_get(m, v.h[h] + off, &jh) < 0 ||
		    jh.seq != e || (jh.flags & TFS_JF_END)) {
			stop = 1;
		} else if (!txn_ok(m, v.h[h], off, &jh)) {
			stop = 1; /* torn, unless something later was written */
		} else {
			ret = txn_apply(m, v.h[h] + off + TFS_JHDR_SIZE, &jh, &clean);
			if (ret < 0) {
				tfs_err("journal transaction %llu verifies but does not apply (%s)",
					(unsigned long long)e, strerror(-ret));
				m->rep.jrnl_bad++;
				m->rep.jrnl_lost++;
				snprintf(m->rep.what, sizeof(m->rep.what),
					 "journal transaction %llu verifies but does not apply",
					 (unsigned long long)e);
				ret = -EUCLEAN;
				goto out_free;
			}
			m->rep.jrnl_applied++;
			off += jrnl_span(m, jh.len);
			e++;
		}
		if (!stop)
			continue;
		/* the other half goes on where this one ends: after a
		 * checkpoint switched halves */
		if (!tried_other &&
		    hdr_get(m, v.h[1 - h], &jh) == 0 && jh.seq == e && !(jh.flags & TFS_JF_END)) {
			tried_other = 1;
			m->rep.jcont = 1;
			h = 1 - h;
			off = 0;
			continue;
		}
		break;
	}
	m->rep.clean = clean;
	ev = later_evidence(m, &v, e, h, off);
	if (ev) {
		m->rep.jrnl_bad++;
		m->rep.jrnl_lost++;
		if (!m->rep.what[0])
			snprintf(m->rep.what, sizeof(m->rep.what),
				 "journal transaction %llu (half %c, offset %llu) is damaged and later ones (up to %llu) were written after it: acknowledged changes from %llu on would be lost",
				 (unsigned long long)e, 'A' + h, (unsigned long long)off,
				 (unsigned long long)(ev ? ev : e), (unsigned long long)e);
		tfs_err("%s", m->rep.what);
		if (!salvage) {
			ret = -EUCLEAN;
			goto out_free;
		}
		maxseq = e;
		ret = salvage_rest(m, &v, e, &maxseq);
		if (ret < 0)
			goto out_free;
		/* continue past everything seen, so that none of it counts again */
		m->j.cur = h;
		m->j.pos = off;
		m->j.seq = maxseq + 1;
		ret = -EUCLEAN;
		goto out_free;
	}
	m->j.cur = h;
	m->j.pos = off;
	m->j.seq = e;
	ret = 0;
out_free:
	view_free(&v);
	return ret;
}

/* ---------------------------------------------------------------- fsck */

/* the run of verifying transactions in half @h from offset 0 with
 * sequences [from, to): how many are missing */
static unsigned int check_run(struct tfs_meta *m, struct jview *v, unsigned int h, uint64_t from,
			      uint64_t to, FILE *out)
{
	uint64_t off = 0, e = from;
	struct jhdr jh;

	while (e < to) {
		if (!txn_ok(m, v->h[h], off, &jh) || jh.seq != e || (jh.flags & TFS_JF_END)) {
			fprintf(out, "journal half %c: transaction %llu at offset %llu is damaged (needed by the older checkpoint: its redundancy is lost)\n",
				'A' + h, (unsigned long long)e, (unsigned long long)off);
			return 1;
		}
		off += jrnl_span(m, jh.len);
		e++;
	}
	return 0;
}

unsigned int jrnl_verify(struct tfs_meta *m, uint64_t pjseq, FILE *out)
{
	struct jview v = { { NULL, NULL } };
	unsigned int bad = 0;

	/* the older checkpoint replays from pjseq in its own half up to where
	 * the newer one begins; the newer half was checked by the replay */
	if (pjseq && pjseq < m->ck.jseq && view_read(m, &v) == 0)
		bad = check_run(m, &v, (unsigned int)((m->ck.gen - 1) % 2), pjseq, m->ck.jseq, out);
	view_free(&v);
	return bad;
}

void jrnl_map(struct tfs_meta *m, uint64_t pjseq, FILE *out)
{
	struct jview v = { { NULL, NULL } };
	unsigned int h;

	if (view_read(m, &v) < 0)
		goto out_free;
	for (h = 0; h < 2; h++) {
		uint64_t off = 0, e = h == m->ck.gen % 2 ? m->ck.jseq : pjseq;
		struct jhdr jh;

		if (!e)
			continue;
		while (txn_ok(m, v.h[h], off, &jh) && jh.seq == e && !(jh.flags & TFS_JF_END)) {
			fprintf(out, "journal %u %llu %llu live transaction %llu (half %c)\n",
				m->sb.s_meta_dev, (unsigned long long)(m->j.off + h * m->j.half + off),
				(unsigned long long)(TFS_JHDR_SIZE + jh.len), (unsigned long long)e,
				'A' + h);
			off += jrnl_span(m, jh.len);
			e++;
		}
	}
out_free:
	view_free(&v);
}

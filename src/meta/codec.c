/*
 * src/meta/codec.c - byte buffers for on-media encoding, the checksum
 * function, and the small fixed headers of format.h.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "meta.h"

uint64_t tfs_hash(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

uint64_t tfs_pool_seed(const uint8_t uuid[16])
{
	uint64_t s;

	memcpy(&s, uuid, 8);
	return le64toh(s);
}

int tfs_wbuf_reserve(struct tfs_wbuf *w, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (w->err)
		return w->err;
	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	b = realloc(w->b, cap);
	if (!b) {
		w->err = -ENOMEM;
		return w->err;
	}
	w->b = b;
	w->cap = cap;
	return 0;
}

void tfs_put_bytes(struct tfs_wbuf *w, const void *p, size_t n)
{
	if (tfs_wbuf_reserve(w, n))
		return;
	if (n)
		memcpy(w->b + w->len, p, n);
	w->len += n;
}

void tfs_put_u8(struct tfs_wbuf *w, uint8_t v)
{
	tfs_put_bytes(w, &v, 1);
}
void tfs_put_u16(struct tfs_wbuf *w, uint16_t v)
{
	uint16_t le = htole16(v);
	tfs_put_bytes(w, &le, 2);
}
void tfs_put_u32(struct tfs_wbuf *w, uint32_t v)
{
	uint32_t le = htole32(v);
	tfs_put_bytes(w, &le, 4);
}
void tfs_put_u64(struct tfs_wbuf *w, uint64_t v)
{
	uint64_t le = htole64(v);
	tfs_put_bytes(w, &le, 8);
}

void tfs_wbuf_free(struct tfs_wbuf *w)
{
	free(w->b);
	memset(w, 0, sizeof(*w));
}

const void *tfs_get_bytes(struct tfs_rbuf *r, size_t n)
{
	const void *p;

	if (r->err || n > r->len - r->pos) {
		r->err = -EINVAL;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t tfs_get_u8(struct tfs_rbuf *r)
{
	const uint8_t *p = tfs_get_bytes(r, 1);
	return p ? *p : 0;
}
uint16_t tfs_get_u16(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 2);
	uint16_t v = 0;
	if (p)
		memcpy(&v, p, 2);
	return le16toh(v);
}
uint32_t tfs_get_u32(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	return le32toh(v);
}
uint64_t tfs_get_u64(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 8);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	return le64toh(v);
}

size_t tfs_rec_begin(struct tfs_wbuf *w, unsigned int type)
{
	size_t at = w->len;

	tfs_put_u16(w, (uint16_t)type);
	tfs_put_u16(w, 0);
	tfs_put_u32(w, 0);
	return at;
}

void tfs_rec_end(struct tfs_wbuf *w, size_t at)
{
	uint32_t len;

	if (w->err)
		return;
	len = htole32((uint32_t)(w->len - at - 8));
	memcpy(w->b + at + 4, &len, 4);
}

/* ---------------------------------------------------------------- fixed headers */

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

void tfs_ckh_encode(const struct tfs_ckh *h, uint64_t pool_seed, uint8_t *out)
{
	struct tfs_wbuf w = { 0 };
	uint32_t i, n = h->nzstat < TFS_CKH_MAX_ZSTAT ? h->nzstat : TFS_CKH_MAX_ZSTAT;

	tfs_put_u64(&w, TFS_CKH_MAGIC);
	tfs_put_u64(&w, h->gen);
	tfs_put_u64(&w, h->jseq);
	tfs_put_u64(&w, h->next_ino);
	tfs_put_u64(&w, h->time);
	tfs_put_u64(&w, h->live);
	tfs_put_u64(&w, h->tail_seq);
	tfs_put_u32(&w, h->tail_dev);
	tfs_put_u64(&w, h->tail_slot);
	tfs_put_u64(&w, h->head);
	tfs_put_u64(&w, h->ptail_seq);
	tfs_put_u32(&w, h->ptail_dev);
	tfs_put_u64(&w, h->ptail_slot);
	tfs_put_u64(&w, h->phead);
	tfs_put_u32(&w, h->tail_dev2);
	tfs_put_u64(&w, h->tail_slot2);
	tfs_put_u32(&w, h->ptail_dev2);
	tfs_put_u64(&w, h->ptail_slot2);
	tfs_put_u32(&w, n);
	for (i = 0; i < n; i++) {
		tfs_put_u32(&w, h->zstat[i].dev);
		tfs_put_u64(&w, h->zstat[i].user);
		tfs_put_u64(&w, h->zstat[i].all);
	}
	memset(out, 0, TFS_CKH_SIZE);
	if (!w.err && w.len <= TFS_CKH_SIZE - 8)
		memcpy(out, w.b, w.len);
	tfs_wbuf_free(&w);
	put64(out + TFS_CKH_SIZE - 8,
	      tfs_hash(out, TFS_CKH_SIZE - 8, pool_seed ^ h->gen ^ 'C'));
}

int tfs_ckh_decode(struct tfs_ckh *h, uint64_t pool_seed, const uint8_t *in)
{
	struct tfs_rbuf r = { .p = in, .len = TFS_CKH_SIZE - 8 };
	uint32_t i;

	memset(h, 0, sizeof(*h));
	if (get64(in) != TFS_CKH_MAGIC)
		return all_zero(in, TFS_CKH_SIZE) ? -ENOENT : -EINVAL;
	tfs_get_u64(&r);
	h->gen = tfs_get_u64(&r);
	if (get64(in + TFS_CKH_SIZE - 8) != tfs_hash(in, TFS_CKH_SIZE - 8, pool_seed ^ h->gen ^ 'C'))
		return -EINVAL;
	h->jseq = tfs_get_u64(&r);
	h->next_ino = tfs_get_u64(&r);
	h->time = tfs_get_u64(&r);
	h->live = tfs_get_u64(&r);
	h->tail_seq = tfs_get_u64(&r);
	h->tail_dev = tfs_get_u32(&r);
	h->tail_slot = tfs_get_u64(&r);
	h->head = tfs_get_u64(&r);
	h->ptail_seq = tfs_get_u64(&r);
	h->ptail_dev = tfs_get_u32(&r);
	h->ptail_slot = tfs_get_u64(&r);
	h->phead = tfs_get_u64(&r);
	h->tail_dev2 = tfs_get_u32(&r);
	h->tail_slot2 = tfs_get_u64(&r);
	h->ptail_dev2 = tfs_get_u32(&r);
	h->ptail_slot2 = tfs_get_u64(&r);
	h->nzstat = tfs_get_u32(&r);
	if (h->nzstat > TFS_CKH_MAX_ZSTAT)
		return -EINVAL;
	for (i = 0; i < h->nzstat; i++) {
		h->zstat[i].dev = tfs_get_u32(&r);
		h->zstat[i].user = tfs_get_u64(&r);
		h->zstat[i].all = tfs_get_u64(&r);
	}
	if (r.err || h->gen == 0 || h->jseq == 0 || h->tail_dev >= TFS_MAX_DEVS_FMT ||
	    h->ptail_dev >= TFS_MAX_DEVS_FMT || h->tail_dev2 >= TFS_MAX_DEVS_FMT ||
	    h->ptail_dev2 >= TFS_MAX_DEVS_FMT)
		return -EINVAL;
	return 0;
}

void tfs_seg_encode(const struct tfs_seg_hdr *s, uint64_t pool_seed, uint8_t *out)
{
	memset(out, 0, TFS_LOG_PAGE);
	put32(out, TFS_SEG_MAGIC);
	put32(out + 4, 1);
	put64(out + 8, s->seq);
	put64(out + 16, s->gen);
	put32(out + 24, s->next_dev);
	put64(out + 32, s->next_slot);
	put32(out + 40, s->next_dev2);
	put64(out + 48, s->next_slot2);
	put64(out + TFS_LOG_PAGE - 8, tfs_hash(out, TFS_LOG_PAGE - 8, pool_seed ^ s->seq ^ 'S'));
}

int tfs_seg_decode(struct tfs_seg_hdr *s, uint64_t pool_seed, const uint8_t *in)
{
	memset(s, 0, sizeof(*s));
	if (get32(in) != TFS_SEG_MAGIC || get32(in + 4) != 1)
		return -EINVAL;
	s->seq = get64(in + 8);
	if (get64(in + TFS_LOG_PAGE - 8) != tfs_hash(in, TFS_LOG_PAGE - 8, pool_seed ^ s->seq ^ 'S'))
		return -EINVAL;
	s->gen = get64(in + 16);
	s->next_dev = get32(in + 24);
	s->next_slot = get64(in + 32);
	s->next_dev2 = get32(in + 40);
	s->next_slot2 = get64(in + 48);
	if (s->next_dev >= TFS_MAX_DEVS_FMT || s->next_dev2 >= TFS_MAX_DEVS_FMT)
		return -EINVAL;
	return 0;
}

void tfs_lpg_seal(const struct tfs_lpg_hdr *h, uint64_t pool_seed, uint8_t *page)
{
	put32(page, TFS_LPG_MAGIC);
	put16(page + 4, h->first);
	put16(page + 6, h->used);
	put64(page + 8, h->lpos);
	put64(page + 16, h->gen);
	put64(page + TFS_LOG_PAGE - 8, tfs_hash(page, TFS_LOG_PAGE - 8, pool_seed ^ h->lpos));
}

int tfs_lpg_check(struct tfs_lpg_hdr *h, uint64_t pool_seed, uint64_t lpos, const uint8_t *page)
{
	if (get32(page) != TFS_LPG_MAGIC || get64(page + 8) != lpos ||
	    get64(page + TFS_LOG_PAGE - 8) != tfs_hash(page, TFS_LOG_PAGE - 8, pool_seed ^ lpos))
		return -EINVAL;
	h->first = get16(page + 4);
	h->used = get16(page + 6);
	h->lpos = lpos;
	h->gen = get64(page + 16);
	if (h->used > TFS_LPG_PAYLOAD || (h->first != TFS_LPG_NOREC && h->first >= h->used))
		return -EINVAL;
	return 0;
}

static uint64_t cs_seed(uint64_t pool_seed, uint16_t dev, uint64_t page, uint16_t copy)
{
	return pool_seed ^ ((uint64_t)dev << 48) ^ (page << 1) ^ copy;
}

void tfs_cs_seal(const struct tfs_cs_hdr *h, uint64_t pool_seed, uint8_t *page, size_t psize)
{
	memset(page, 0, TFS_CS_HDR);
	put32(page, TFS_CS_MAGIC);
	put16(page + 4, h->dev);
	put16(page + 6, h->copy);
	put64(page + 8, h->page);
	put32(page + 16, h->gen);
	put32(page + 20, h->entries);
	memcpy(page + 24, h->poison, sizeof(h->poison));
	put64(page + psize - 8, tfs_hash(page, psize - 8, cs_seed(pool_seed, h->dev, h->page, h->copy)));
}

int tfs_cs_check(struct tfs_cs_hdr *h, uint64_t pool_seed, uint16_t dev, uint64_t page,
		 uint16_t copy, const uint8_t *in, size_t psize)
{
	if (get32(in) != TFS_CS_MAGIC || get16(in + 4) != dev || get16(in + 6) != copy ||
	    get64(in + 8) != page ||
	    get64(in + psize - 8) != tfs_hash(in, psize - 8, cs_seed(pool_seed, dev, page, copy)))
		return -EINVAL;
	h->dev = dev;
	h->copy = copy;
	h->page = page;
	h->gen = get32(in + 16);
	h->entries = get32(in + 20);
	memcpy(h->poison, in + 24, sizeof(h->poison));
	if (h->gen == 0 || h->gen > 0x7fffffffu || h->entries > TFS_CS_POISON_MAX)
		return -EINVAL;
	return 0;
}

void tfs_cs_geometry(uint32_t blocks, uint32_t *psize, uint32_t *per_page)
{
	uint32_t entry = blocks * 4, ps = TFS_LOG_PAGE;

	while (ps - TFS_CS_HDR - 8 < entry)
		ps *= 2;
	*psize = ps;
	*per_page = (ps - TFS_CS_HDR - 8) / entry;
	if (*per_page > TFS_CS_POISON_MAX)
		*per_page = TFS_CS_POISON_MAX;
}

/*
 * src/meta/csum.c - the checksum tables: every data block's checksum, on
 * media, with a bounded cache.
 *
 * Each device has a table of one entry per chunk slot (the checksums of the
 * slot's blocks), TFS_CS_PER_PAGE entries to a page, and every page twice.
 * In memory there are only
 *   - the page descriptors (8 bytes a page: gen and copy of the newest copy,
 *     gen of the other), persisted as TFS_L_CSDIR units of the log;
 *   - the overlay: checksums written since the last checkpoint, per slot
 *     (struct cs_ent), which reads consult first and the next checkpoint
 *     merges into the pages.  Each entry also remembers which of its
 *     checksums are newer than the last commit (jmask), so that a commit
 *     journals exactly those (tfs_cs_jtake);
 *   - a cache of clean pages (LRU, -o csum_cache=).
 *
 * A checkpoint reads each page that has overlay entries (or takes it from
 * the cache), merges them, and writes the result with the checkpoint's
 * generation into the copy that does not hold the newest state: the older
 * checkpoint's view of the page survives.  Reads then see the new copy at
 * once (it holds everything the old copy and the overlay did); the overlay
 * entries it took are dropped once the checkpoint is durable, unless they
 * changed meanwhile.
 *
 * When the newest copy of a page does not verify, the older one stands in
 * (page_read): its checksums are the older checkpoint's, so a block
 * written since then reads as EIO and one that was not reads as it was -
 * nothing reads wrong.  When both copies are damaged and a checkpoint must
 * rewrite the page, the entries it cannot rebuild are marked poisoned in the
 * new copy, so that they keep failing instead of verifying against
 * whatever the page held.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "meta_i.h"

#define CS_RESET 1u /* in cs_ent.pad: the slot started a new chunk */

/* a device removed from the pool: its table went with it (its page
 * descriptors stay, as the log holds them, but are never read) */
static int cs_gone(const struct tfs_meta *m, unsigned int dev)
{
	return (m->sb.s_dev[dev].sd_flags & TFS_SD_REMOVED) != 0;
}

static uint64_t ekey(unsigned int dev, uint64_t slot)
{
	return (uint64_t)dev << 56 | slot;
}

static size_t hmix(uint64_t k, size_t nb)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)(k & (nb - 1));
}

static uint64_t *dmask(struct csstore *cs, struct cs_ent *e)
{
	(void)cs;
	return e->mask;
}

static uint64_t *jmask(struct csstore *cs, struct cs_ent *e)
{
	return e->mask + cs->words;
}

static uint32_t *ecsum(struct csstore *cs, struct cs_ent *e)
{
	return (uint32_t *)(e->mask + 2 * cs->words);
}

static int bit(const uint64_t *m, uint32_t b)
{
	return (m[b >> 6] >> (b & 63)) & 1;
}

static void bset(uint64_t *m, uint32_t b)
{
	m[b >> 6] |= 1ull << (b & 63);
}

/* ---------------------------------------------------------------- overlay */

static struct cs_ent *ov_find(struct csstore *cs, uint64_t key)
{
	struct cs_ent *e;

	for (e = cs->ob[hmix(key, cs->onb)]; e; e = e->next)
		if (e->key == key)
			return e;
	return NULL;
}

static void ov_grow(struct csstore *cs)
{
	size_t nb = cs->onb * 2, i;
	struct cs_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains; still correct */
	for (i = 0; i < cs->onb; i++) {
		struct cs_ent *e = cs->ob[i], *n;

		for (; e; e = n) {
			n = e->next;
			e->next = b[hmix(e->key, nb)];
			b[hmix(e->key, nb)] = e;
		}
	}
	free(cs->ob);
	cs->ob = b;
	cs->onb = nb;
}

static struct cs_ent *ov_get(struct csstore *cs, uint64_t key)
{
	struct cs_ent *e = ov_find(cs, key);
	size_t h;

	if (e)
		return e;
	e = calloc(1, cs->entsize);
	if (!e)
		return NULL;
	e->key = key;
	if (cs->ocount >= cs->onb)
		ov_grow(cs);
	h = hmix(key, cs->onb);
	e->next = cs->ob[h];
	cs->ob[h] = e;
	cs->ocount++;
	return e;
}

static void ov_remove(struct csstore *cs, struct cs_ent *e)
{
	struct cs_ent **p = &cs->ob[hmix(e->key, cs->onb)];

	for (; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			cs->ocount--;
			free(e);
			return;
		}
	}
}

/* ---------------------------------------------------------------- cache */

static void lru_unlink(struct cs_page *p)
{
	p->lprev->lnext = p->lnext;
	p->lnext->lprev = p->lprev;
}

static void lru_front(struct csstore *cs, struct cs_page *p)
{
	p->lnext = cs->lru.lnext;
	p->lprev = &cs->lru;
	cs->lru.lnext->lprev = p;
	cs->lru.lnext = p;
}

static struct cs_page *cache_find(struct csstore *cs, uint64_t key)
{
	struct cs_page *p;

	for (p = cs->cb[hmix(key, cs->cnb)]; p; p = p->next)
		if (p->key == key)
			return p;
	return NULL;
}

static void cache_drop(struct csstore *cs, struct cs_page *p)
{
	struct cs_page **pp = &cs->cb[hmix(p->key, cs->cnb)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	lru_unlink(p);
	cs->ccount--;
	cs->cbytes -= cs->psize;
	tfs_io_free(p->data);
	free(p);
}

/* insert (or replace) the page @key with @data, which the cache takes */
static void cache_put(struct csstore *cs, uint64_t key, uint8_t *data)
{
	struct cs_page *p = cache_find(cs, key);
	size_t h;

	if (p) {
		tfs_io_free(p->data);
		p->data = data;
		lru_unlink(p);
		lru_front(cs, p);
		return;
	}
	while (cs->ccount && cs->cbytes + cs->psize > cs->climit)
		cache_drop(cs, cs->lru.lprev);
	p = calloc(1, sizeof(*p));
	if (!p) {
		tfs_io_free(data);
		return;
	}
	p->key = key;
	p->data = data;
	h = hmix(key, cs->cnb);
	p->next = cs->cb[h];
	cs->cb[h] = p;
	lru_front(cs, p);
	cs->ccount++;
	cs->cbytes += cs->psize;
}

/* ---------------------------------------------------------------- setup */

int cs_init(struct tfs_meta *m, uint64_t cache_bytes)
{
	struct csstore *cs = &m->cs;
	unsigned int d;

	memset(cs, 0, sizeof(*cs));
	pthread_mutex_init(&cs->lock, NULL);
	cs->blocks = m->blocks;
	cs->words = m->words;
	cs->psize = m->sb.s_cs_psize;
	cs->per_page = m->sb.s_cs_per_page;
	cs->entsize = sizeof(struct cs_ent) + 2 * cs->words * 8 + (size_t)cs->blocks * 4;
	cs->ndev = m->ndev;
	cs->lru.lnext = cs->lru.lprev = &cs->lru;
	cs->climit = cache_bytes ? cache_bytes : 64ull << 20;
	if (cs->climit < 4ull * cs->psize)
		cs->climit = 4ull * cs->psize;
	cs->onb = 1024;
	cs->ob = calloc(cs->onb, sizeof(*cs->ob));
	for (cs->cnb = 64; cs->cnb < cs->climit / cs->psize; cs->cnb *= 2)
		;
	cs->cb = calloc(cs->cnb, sizeof(*cs->cb));
	if (!cs->ob || !cs->cb)
		return -ENOMEM;
	for (d = 0; d < m->ndev; d++)
		if (cs_dev_init(&cs->dev[d], &m->sb.s_dev[d]) < 0)
			return -ENOMEM;
	return 0;
}

int cs_dev_init(struct cs_dev *cd, const struct tfs_sb_dev *sd)
{
	cd->host = sd->sd_cs_dev;
	cd->off = sd->sd_cs_off;
	cd->npages = sd->sd_cs_pages;
	cd->nunits = (cd->npages + (1u << TFS_CSDIR_SHIFT) - 1) >> TFS_CSDIR_SHIFT;
	cd->desc = calloc(cd->npages ? cd->npages : 1, sizeof(*cd->desc));
	cd->ulpos = calloc(cd->nunits ? cd->nunits : 1, sizeof(*cd->ulpos));
	cd->usize = calloc(cd->nunits ? cd->nunits : 1, sizeof(*cd->usize));
	cd->udirty = calloc(cd->nunits ? cd->nunits : 1, 1);
	return cd->desc && cd->ulpos && cd->usize && cd->udirty ? 0 : -ENOMEM;
}

void cs_reset(struct tfs_meta *m)
{
	struct csstore *cs = &m->cs;
	unsigned int d;
	size_t i;

	pthread_mutex_lock(&cs->lock);
	for (i = 0; i < cs->onb; i++)
		while (cs->ob[i]) {
			struct cs_ent *e = cs->ob[i];

			cs->ob[i] = e->next;
			free(e);
		}
	cs->ocount = 0;
	while (cs->ccount)
		cache_drop(cs, cs->lru.lprev);
	for (d = 0; d < cs->ndev; d++) {
		struct cs_dev *cd = &cs->dev[d];

		memset(cd->desc, 0, cd->npages * sizeof(*cd->desc));
		memset(cd->ulpos, 0, cd->nunits * sizeof(*cd->ulpos));
		memset(cd->usize, 0, cd->nunits * sizeof(*cd->usize));
		memset(cd->udirty, 0, cd->nunits);
	}
	pthread_mutex_unlock(&cs->lock);
}

void cs_free(struct tfs_meta *m)
{
	struct csstore *cs = &m->cs;
	unsigned int d;
	size_t i;

	if (!cs->ob && !cs->cb)
		return;
	cs_reset(m);
	for (i = 0; i < cs->nwp; i++) {
		tfs_io_free(cs->wp[i].data);
		free(cs->wp[i].ents);
		free(cs->wp[i].vers);
	}
	free(cs->wp);
	free(cs->ob);
	free(cs->cb);
	for (d = 0; d < TFS_MAX_DEVS_FMT; d++) {
		free(cs->dev[d].desc);
		free(cs->dev[d].ulpos);
		free(cs->dev[d].usize);
		free(cs->dev[d].udirty);
	}
	pthread_mutex_destroy(&cs->lock);
	memset(cs, 0, sizeof(*cs));
}

uint64_t cs_overlay_bytes(struct tfs_meta *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->cs.lock);
	n = (uint64_t)m->cs.ocount * m->cs.entsize;
	pthread_mutex_unlock(&m->cs.lock);
	return n;
}

/* ---------------------------------------------------------------- pages */

static uint64_t page_off(const struct csstore *cs, const struct cs_dev *cd, uint64_t page,
			 unsigned int copy)
{
	return cd->off + (2 * page + copy) * (uint64_t)cs->psize;
}

/* copy @copy of @page of device @dev, if it verifies as generation @gen:
 * 0, -EIO (damaged), -errno */
static int copy_read(struct tfs_meta *m, unsigned int dev, uint64_t page, uint32_t copy,
		     uint32_t gen, uint8_t *buf)
{
	struct csstore *cs = &m->cs;
	struct cs_dev *cd = &cs->dev[dev];
	struct tfs_cs_hdr h;
	int ret;

	ret = meta_io(&m->env.dev[cd->host], TFS_IO_READ, buf, cs->psize,
		      page_off(cs, cd, page, copy));
	if (ret < 0)
		return ret;
	if (tfs_cs_check(&h, m->seed, (uint16_t)dev, page, (uint16_t)copy, buf, cs->psize) < 0 ||
	    h.gen != gen)
		return -EIO;
	return 0;
}

/*
 * @page of device @dev as its descriptor @desc (and @prev, the generation
 * of the other copy) names it: the newest copy, or, if that is damaged, the
 * older one.  The older copy holds the checksums of the older checkpoint:
 * a block written since then does not match and reads as EIO, as it would
 * with no checksum at all; a block not written since matches and is what
 * it was.  So nothing reads wrong, and only what changed is lost.  0 or
 * -EIO (both damaged).
 */
static int page_read(struct tfs_meta *m, unsigned int dev, uint64_t page, uint32_t desc,
		     uint32_t prev, uint8_t *buf)
{
	static struct tfs_ratelimit rl = TFS_RATELIMIT_INIT;
	struct csstore *cs = &m->cs;
	struct cs_dev *cd = &cs->dev[dev];
	uint32_t copy = TFS_CSD_COPY(desc);
	int ret;

	ret = copy_read(m, dev, page, copy, TFS_CSD_GEN(desc), buf);
	if (ret != -EIO)
		return ret;
	if (prev && copy_read(m, dev, page, 1 - copy, prev, buf) == 0) {
		tfs_log_rl(&rl, TFS_LOG_ERR,
			   "checksum page %llu of %s (on %s offset %llu) is damaged: using its older copy; blocks written since checkpoint %u read as EIO",
			   (unsigned long long)page, m->env.dev[dev].d_path,
			   m->env.dev[cd->host].d_path,
			   (unsigned long long)page_off(cs, cd, page, copy), prev);
		return 0;
	}
	tfs_log_rl(&rl, TFS_LOG_ERR,
		   "checksum page %llu of %s (on %s offset %llu) is damaged, and so is its older copy",
		   (unsigned long long)page, m->env.dev[dev].d_path, m->env.dev[cd->host].d_path,
		   (unsigned long long)page_off(cs, cd, page, copy));
	return -EIO;
}

static int poisoned(const uint8_t *page, uint32_t idx)
{
	return (page[24 + idx / 8] >> (idx % 8)) & 1;
}

int tfs_cs_get(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint32_t b0, uint32_t n,
	       const uint64_t *want, uint32_t *out)
{
	struct csstore *cs = &m->cs;
	uint64_t page = slot / cs->per_page;
	uint32_t idx = (uint32_t)(slot % cs->per_page), i, desc, prev;
	uint8_t *buf = NULL;
	int tries, ret = 0;

	if (dev >= cs->ndev || page >= cs->dev[dev].npages || b0 + n > cs->blocks)
		return -EIO;
	for (tries = 0; tries < 4; tries++) {
		struct cs_ent *e;
		struct cs_page *pg;
		int need = 0;

		pthread_mutex_lock(&cs->lock);
		e = ov_find(cs, ekey(dev, slot));
		for (i = 0; i < n; i++) {
			if (want && !bit(want, b0 + i))
				continue;
			if (e && bit(dmask(cs, e), b0 + i))
				out[i] = ecsum(cs, e)[b0 + i];
			else
				need = 1;
		}
		if (!need) {
			pthread_mutex_unlock(&cs->lock);
			ret = 0;
			goto out;
		}
		if (e && (e->pad & CS_RESET)) {
			/* a new chunk: blocks it did not write have no checksum */
			pthread_mutex_unlock(&cs->lock);
			ret = -EIO;
			goto out;
		}
		pg = cache_find(cs, ekey(dev, page));
		if (pg) {
			const uint32_t *ent = (const uint32_t *)(pg->data + TFS_CS_HDR) +
					      (size_t)idx * cs->blocks;

			cs->hits++;
			lru_unlink(pg);
			lru_front(cs, pg);
			ret = 0;
			for (i = 0; i < n; i++) {
				if ((want && !bit(want, b0 + i)) || (e && bit(dmask(cs, e), b0 + i)))
					continue;
				if (poisoned(pg->data, idx)) {
					ret = -EIO;
					break;
				}
				out[i] = ent[b0 + i];
			}
			pthread_mutex_unlock(&cs->lock);
			goto out;
		}
		cs->misses++;
		desc = cs->dev[dev].desc[page][0];
		prev = cs->dev[dev].desc[page][1];
		pthread_mutex_unlock(&cs->lock);
		if (TFS_CSD_GEN(desc) == 0) {
			ret = -EIO; /* never written: no checksum exists */
			goto out;
		}
		if (!buf) {
			buf = tfs_io_alloc(cs->psize);
			if (!buf)
				return -ENOMEM;
		}
		ret = page_read(m, dev, page, desc, prev, buf);
		if (ret < 0)
			goto out;
		pthread_mutex_lock(&cs->lock);
		if (cs->dev[dev].desc[page][0] == desc && !cache_find(cs, ekey(dev, page))) {
			cache_put(cs, ekey(dev, page), buf);
			buf = NULL;
		}
		pthread_mutex_unlock(&cs->lock);
		/* and look again: the overlay may have changed meanwhile */
	}
	ret = -EAGAIN;
out:
	tfs_io_free(buf);
	return ret;
}

static int put_mask(struct tfs_meta *m, unsigned int dev, uint64_t slot, const uint64_t *mask,
		    uint32_t b0, uint32_t n, const uint32_t *cs_in, int journal)
{
	struct csstore *cs = &m->cs;
	struct cs_ent *e;
	uint32_t i, k = 0;

	if (dev >= cs->ndev || slot / cs->per_page >= cs->dev[dev].npages)
		return -EINVAL;
	if (cs_gone(m, dev))
		return 0; /* (a record older than the removal: nothing lives there) */
	pthread_mutex_lock(&cs->lock);
	e = ov_get(cs, ekey(dev, slot));
	if (!e) {
		pthread_mutex_unlock(&cs->lock);
		return -ENOMEM;
	}
	for (i = b0; i < b0 + n; i++) {
		if (mask && !bit(mask, i))
			continue;
		ecsum(cs, e)[i] = cs_in[k++];
		bset(dmask(cs, e), i);
		if (journal)
			bset(jmask(cs, e), i);
	}
	e->ver++;
	pthread_mutex_unlock(&cs->lock);
	return 0;
}

int tfs_cs_put(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint32_t b0, uint32_t n,
	       const uint32_t *cs)
{
	if (b0 + n > m->cs.blocks)
		return -EINVAL;
	return put_mask(m, dev, slot, NULL, b0, n, cs, 1);
}

int tfs_cs_replay(struct tfs_meta *m, unsigned int dev, uint64_t slot, const uint64_t *mask,
		  const uint32_t *vals)
{
	return put_mask(m, dev, slot, mask, 0, m->cs.blocks, vals, 0);
}

void tfs_cs_reset(struct tfs_meta *m, unsigned int dev, uint64_t slot)
{
	struct csstore *cs = &m->cs;
	struct cs_ent *e;

	if (dev >= cs->ndev || slot / cs->per_page >= cs->dev[dev].npages)
		return;
	pthread_mutex_lock(&cs->lock);
	/* a page never written holds no checksum for the slot, and no entry
	 * means none is pending: nothing to forget (a fallocate of millions
	 * of chunks then writes no checksum page) */
	e = ov_find(cs, ekey(dev, slot));
	if (!e && TFS_CSD_GEN(cs->dev[dev].desc[slot / cs->per_page][0]) == 0) {
		pthread_mutex_unlock(&cs->lock);
		return;
	}
	if (!e)
		e = ov_get(cs, ekey(dev, slot));
	if (e) {
		memset(e->mask, 0, 2 * cs->words * 8);
		e->pad |= CS_RESET;
		e->ver++;
	}
	pthread_mutex_unlock(&cs->lock);
}

int tfs_cs_jtake(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint64_t *mask,
		 uint32_t *vals)
{
	struct csstore *cs = &m->cs;
	struct cs_ent *e;
	uint32_t i;
	int n = 0;

	memset(mask, 0, cs->words * 8);
	pthread_mutex_lock(&cs->lock);
	e = ov_find(cs, ekey(dev, slot));
	if (e) {
		for (i = 0; i < cs->blocks; i++)
			if (bit(jmask(cs, e), i)) {
				bset(mask, i);
				vals[n++] = ecsum(cs, e)[i];
			}
		memset(jmask(cs, e), 0, cs->words * 8);
	}
	pthread_mutex_unlock(&cs->lock);
	return n;
}

/* ---------------------------------------------------------------- descriptors */

int cs_load_unit(struct tfs_meta *m, unsigned int dev, uint64_t unit, struct tfs_rbuf *r,
		 uint64_t lpos, uint32_t size)
{
	struct csstore *cs = &m->cs;
	struct cs_dev *cd;
	uint32_t n, i, want;

	if (dev >= cs->ndev || unit >= cs->dev[dev].nunits)
		return -EINVAL;
	cd = &cs->dev[dev];
	n = tfs_get_u32(r);
	want = cd->npages - (unit << TFS_CSDIR_SHIFT) < (1u << TFS_CSDIR_SHIFT)
		       ? (uint32_t)(cd->npages - (unit << TFS_CSDIR_SHIFT))
		       : 1u << TFS_CSDIR_SHIFT;
	if (n != want)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint32_t cur = tfs_get_u32(r), prev = tfs_get_u32(r);

		cd->desc[(unit << TFS_CSDIR_SHIFT) + i][0] = cur;
		cd->desc[(unit << TFS_CSDIR_SHIFT) + i][1] = prev;
	}
	if (r->err)
		return -EINVAL;
	if (cd->ulpos[unit])
		m->live -= cd->usize[unit];
	cd->ulpos[unit] = lpos;
	cd->usize[unit] = size;
	return 0;
}

int cs_unit_write(struct tfs_meta *m, const struct tfs_ukey *k, struct tfs_wbuf *w, uint64_t lpos,
		  uint32_t *old)
{
	struct csstore *cs = &m->cs;
	struct cs_dev *cd = &cs->dev[k->dev];
	uint64_t unit = k->sub, i, first = unit << TFS_CSDIR_SHIFT;
	uint32_t n = (uint32_t)(cd->npages - first < (1u << TFS_CSDIR_SHIFT) ? cd->npages - first
									     : 1u << TFS_CSDIR_SHIFT);
	size_t at = w->len;

	pthread_mutex_lock(&cs->lock);
	tfs_put_u32(w, n);
	for (i = 0; i < n; i++) {
		tfs_put_u32(w, cd->desc[first + i][0]);
		tfs_put_u32(w, cd->desc[first + i][1]);
	}
	pthread_mutex_unlock(&cs->lock);
	*old = cd->ulpos[unit] ? cd->usize[unit] : 0;
	cd->ulpos[unit] = lpos;
	cd->usize[unit] = (uint32_t)(TFS_LREC_HDR + (w->len - at));
	cd->udirty[unit] = 0;
	return 1;
}

uint32_t cs_unit_clean(struct tfs_meta *m, const struct tfs_ukey *k, uint64_t lpos)
{
	struct cs_dev *cd;

	if (k->dev >= m->cs.ndev || k->sub >= m->cs.dev[k->dev].nunits)
		return 0;
	cd = &m->cs.dev[k->dev];
	if (cd->ulpos[k->sub] != lpos)
		return 0;
	if (!cd->udirty[k->sub]) {
		cd->udirty[k->sub] = 1;
		meta_dirty_locked(m, k, cd->usize[k->sub]);
	}
	return cd->usize[k->sub];
}

/* ---------------------------------------------------------------- checkpoint */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* pages (dev << 56 | page) with overlay entries, sorted, or forced */
static int dirty_pages(struct tfs_meta *m, struct csstore *cs, uint64_t **out, size_t *nout)
{
	uint64_t *v;
	size_t i, n = 0, k = 0;

	pthread_mutex_lock(&cs->lock);
	v = malloc((cs->ocount + 1) * sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&cs->lock);
		return -ENOMEM;
	}
	for (i = 0; i < cs->onb; i++) {
		struct cs_ent *e;

		for (e = cs->ob[i]; e; e = e->next)
			if (!cs_gone(m, (unsigned int)(e->key >> 56)))
				v[n++] = ekey((unsigned int)(e->key >> 56),
					      (e->key & ((1ull << 56) - 1)) / cs->per_page);
	}
	pthread_mutex_unlock(&cs->lock);
	qsort(v, n, sizeof(*v), u64_cmp);
	for (i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	*out = v;
	*nout = k;
	return 0;
}

/* merge the overlay into @wp's page image (cs lock held); @damaged: the old
 * image is lost */
static int page_merge(struct tfs_meta *m, struct cs_wpage *wp, int damaged, int fresh,
		      uint8_t *poison)
{
	struct csstore *cs = &m->cs;
	uint32_t idx, b;

	wp->ents = calloc(cs->per_page, sizeof(*wp->ents));
	wp->vers = calloc(cs->per_page, sizeof(*wp->vers));
	if (!wp->ents || !wp->vers)
		return -ENOMEM;
	for (idx = 0; idx < cs->per_page; idx++) {
		uint64_t slot = wp->page * cs->per_page + idx;
		struct cs_ent *e = ov_find(cs, ekey(wp->dev, slot));
		uint32_t *ent = (uint32_t *)(wp->data + TFS_CS_HDR) + (size_t)idx * cs->blocks;
		int lost = damaged;

		if (fresh)
			memset(ent, 0, cs->blocks * 4);
		if (e) {
			if (e->pad & CS_RESET) {
				memset(ent, 0, cs->blocks * 4);
				lost = 0;
				poison[idx / 8] &= (uint8_t)~(1u << (idx % 8));
			}
			for (b = 0; b < cs->blocks; b++)
				if (bit(dmask(cs, e), b))
					ent[b] = ecsum(cs, e)[b];
			wp->ents[wp->nents] = e;
			wp->vers[wp->nents++] = e->ver;
		}
		if (lost)
			poison[idx / 8] |= (uint8_t)(1u << (idx % 8));
	}
	return 0;
}

int cs_ckpt_write(struct tfs_meta *m, uint32_t gen)
{
	struct csstore *cs = &m->cs;
	uint64_t *pages = NULL;
	size_t np, i, k, bat = 32;
	struct tfs_io_req *reqs;
	unsigned int nreq;
	int ret;

	ret = dirty_pages(m, cs, &pages, &np);
	if (ret < 0)
		return ret;
	reqs = calloc(2 * bat, sizeof(*reqs));
	cs->wp = calloc(np ? np : 1, sizeof(*cs->wp));
	if (!reqs || !cs->wp) {
		free(pages);
		free(reqs);
		return -ENOMEM;
	}
	cs->nwp = 0;
	cs->wbytes = 0;
	for (i = 0; i < np && ret == 0; i += bat) {
		size_t n = np - i < bat ? np - i : bat;
		uint32_t desc[32], prev[32];
		int need[32], damaged[32];

		/* the base images: from the cache, else read */
		for (k = 0; k < n && ret == 0; k++) {
			struct cs_wpage *wp = &cs->wp[cs->nwp + k];
			struct cs_page *pg;

			wp->dev = (uint16_t)(pages[i + k] >> 56);
			wp->page = pages[i + k] & ((1ull << 56) - 1);
			wp->data = tfs_io_alloc(cs->psize);
			if (!wp->data) {
				ret = -ENOMEM;
				break;
			}
			pthread_mutex_lock(&cs->lock);
			desc[k] = cs->dev[wp->dev].desc[wp->page][0];
			prev[k] = cs->dev[wp->dev].desc[wp->page][1];
			pg = cache_find(cs, pages[i + k]);
			need[k] = !pg && TFS_CSD_GEN(desc[k]) != 0;
			if (pg)
				memcpy(wp->data, pg->data, cs->psize);
			else
				memset(wp->data, 0, cs->psize);
			pthread_mutex_unlock(&cs->lock);
			damaged[k] = 0;
		}
		for (k = 0; k < n && ret == 0; k++)
			if (need[k] && page_read(m, cs->wp[cs->nwp + k].dev, cs->wp[cs->nwp + k].page,
						 desc[k], prev[k], cs->wp[cs->nwp + k].data) < 0)
				damaged[k] = 1;
		if (ret < 0)
			break;
		/* merge and seal */
		nreq = 0;
		for (k = 0; k < n && ret == 0; k++) {
			struct cs_wpage *wp = &cs->wp[cs->nwp + k];
			struct tfs_cs_hdr h = { .dev = wp->dev, .page = wp->page, .gen = gen,
						.entries = cs->per_page };
			uint32_t copy = TFS_CSD_GEN(desc[k]) ? 1 - TFS_CSD_COPY(desc[k]) : 0;

			if (!damaged[k] && TFS_CSD_GEN(desc[k]))
				memcpy(h.poison, wp->data + 24, sizeof(h.poison));
			pthread_mutex_lock(&cs->lock);
			ret = page_merge(m, wp, damaged[k], damaged[k] || !TFS_CSD_GEN(desc[k]),
					 h.poison);
			pthread_mutex_unlock(&cs->lock);
			if (ret < 0)
				break;
			h.copy = (uint16_t)copy;
			tfs_cs_seal(&h, m->seed, wp->data, cs->psize);
			wp->newdesc = gen | copy << 31;
			reqs[nreq++] = (struct tfs_io_req){
				.r_dev = &m->env.dev[cs->dev[wp->dev].host],
				.r_op = TFS_IO_WRITE,
				.r_buf = wp->data,
				.r_len = cs->psize,
				.r_off = page_off(cs, &cs->dev[wp->dev], wp->page, copy),
				.r_flags = TFS_IO_F_META,
			};
			/* a page written for the first time has no older copy to
			 * stand in for it: it goes to both (the older checkpoint
			 * does not know the page, so neither copy is its) */
			if (!TFS_CSD_GEN(desc[k])) {
				wp->twin = tfs_io_alloc(cs->psize);
				if (!wp->twin) {
					ret = -ENOMEM;
					break;
				}
				memcpy(wp->twin, wp->data, cs->psize);
				h.copy = 1;
				tfs_cs_seal(&h, m->seed, wp->twin, cs->psize);
				reqs[nreq++] = (struct tfs_io_req){
					.r_dev = &m->env.dev[cs->dev[wp->dev].host],
					.r_op = TFS_IO_WRITE,
					.r_buf = wp->twin,
					.r_len = cs->psize,
					.r_off = page_off(cs, &cs->dev[wp->dev], wp->page, 1),
					.r_flags = TFS_IO_F_META,
				};
			}
		}
		if (ret == 0)
			ret = tfs_io_run(reqs, nreq);
		cs->wbytes += (uint64_t)nreq * cs->psize;
		cs->nwp += n;
	}
	free(reqs);
	free(pages);
	if (ret < 0)
		return ret;
	/* the new copies hold everything: reads use them from now on (they are
	 * durable before the header that names them); the log gets their
	 * descriptors */
	pthread_mutex_lock(m->env.lock);
	pthread_mutex_lock(&cs->lock);
	for (i = 0; i < cs->nwp; i++) {
		struct cs_wpage *wp = &cs->wp[i];
		struct cs_dev *cd = &cs->dev[wp->dev];
		uint8_t *copy = tfs_io_alloc(cs->psize);
		uint64_t unit = wp->page >> TFS_CSDIR_SHIFT;

		cd->desc[wp->page][1] = wp->twin ? TFS_CSD_GEN(wp->newdesc)
						 : TFS_CSD_GEN(cd->desc[wp->page][0]);
		cd->desc[wp->page][0] = wp->newdesc;
		if (copy) {
			memcpy(copy, wp->data, cs->psize);
			cache_put(cs, ekey(wp->dev, wp->page), copy);
		} else {
			struct cs_page *pg = cache_find(cs, ekey(wp->dev, wp->page));

			if (pg)
				cache_drop(cs, pg);
		}
		if (!cd->udirty[unit]) {
			struct tfs_ukey uk = { .type = TFS_L_CSDIR, .dev = (uint8_t)wp->dev, .sub = unit };

			cd->udirty[unit] = 1;
			meta_dirty_locked(m, &uk, 8 + 8 * (1u << TFS_CSDIR_SHIFT) + TFS_LREC_HDR);
		}
	}
	pthread_mutex_unlock(&cs->lock);
	pthread_mutex_unlock(m->env.lock);
	return 0;
}

void cs_ckpt_publish(struct tfs_meta *m, int ok)
{
	struct csstore *cs = &m->cs;
	size_t i;
	uint32_t k;

	pthread_mutex_lock(&cs->lock);
	for (i = 0; i < cs->nwp; i++) {
		struct cs_wpage *wp = &cs->wp[i];

		for (k = 0; ok && k < wp->nents; k++) {
			struct cs_ent *e = wp->ents[k];
			uint32_t w;
			int pending = 0;

			/* changed since it was merged: the next checkpoint's.
			 * Checksums not yet journaled stay too: a commit needs them */
			if (e->ver != wp->vers[k])
				continue;
			for (w = 0; w < cs->words; w++)
				pending |= jmask(cs, e)[w] != 0;
			if (!pending)
				ov_remove(cs, e);
		}
		tfs_io_free(wp->data);
		tfs_io_free(wp->twin);
		free(wp->ents);
		free(wp->vers);
	}
	free(cs->wp);
	cs->wp = NULL;
	cs->nwp = 0;
	pthread_mutex_unlock(&cs->lock);
}

/* ---------------------------------------------------------------- fsck */

enum { COPY_NONE, COPY_OK, COPY_SUPERSEDED, COPY_DAMAGED };

/* copy @c (0: the newest, 1: the older) of page @p of device @d: expected
 * at all, intact, written since by a checkpoint that never completed (a
 * crash during it, or its header damaged: not damage, though it no longer
 * stands in for the newest), or damaged */
static int copy_state(struct tfs_meta *m, unsigned int d, uint64_t p, unsigned int c, uint8_t *buf)
{
	struct csstore *cs = &m->cs;
	struct cs_dev *cd = &cs->dev[d];
	uint32_t cur = cd->desc[p][0], copy = c == 0 ? TFS_CSD_COPY(cur) : 1 - TFS_CSD_COPY(cur);
	uint32_t gen = c == 0 ? TFS_CSD_GEN(cur) : cd->desc[p][1];
	struct tfs_cs_hdr h;

	if (!TFS_CSD_GEN(cur) || !gen)
		return COPY_NONE;
	if (meta_io(&m->env.dev[cd->host], TFS_IO_READ, buf, cs->psize, page_off(cs, cd, p, copy)) < 0 ||
	    tfs_cs_check(&h, m->seed, (uint16_t)d, p, (uint16_t)copy, buf, cs->psize) < 0)
		return COPY_DAMAGED;
	if (h.gen == gen)
		return COPY_OK;
	return c == 1 && h.gen > TFS_CSD_GEN(cur) ? COPY_SUPERSEDED : COPY_DAMAGED;
}

unsigned int cs_verify(struct tfs_meta *m, FILE *out)
{
	struct csstore *cs = &m->cs;
	uint8_t *buf = tfs_io_alloc(cs->psize);
	unsigned int d, bad = 0, c;
	uint64_t p;

	if (!buf)
		return 0;
	for (d = 0; d < cs->ndev; d++) {
		struct cs_dev *cd = &cs->dev[d];

		if (cs_gone(m, d))
			continue;
		for (p = 0; p < cd->npages; p++)
			for (c = 0; c < 2; c++) {
				uint32_t copy = c == 0 ? TFS_CSD_COPY(cd->desc[p][0])
						       : 1 - TFS_CSD_COPY(cd->desc[p][0]);

				if (copy_state(m, d, p, c, buf) != COPY_DAMAGED)
					continue;
				bad++;
				m->rep.cs_bad++;
				fprintf(out, "checksum page %llu of device %u, copy %u (%s offset %llu): damaged (%s)\n",
					(unsigned long long)p, d, copy, m->env.dev[cd->host].d_path,
					(unsigned long long)page_off(cs, cd, p, copy),
					c == 0 ? "the newest copy: blocks of these chunk slots "
						 "written since the older checkpoint read as EIO"
					       : "the older copy: redundancy lost");
				if (c == 0)
					fprintf(out, "  slots %llu..%llu of device %u\n",
						(unsigned long long)(p * cs->per_page),
						(unsigned long long)((p + 1) * cs->per_page - 1), d);
			}
	}
	tfs_io_free(buf);
	return bad;
}

unsigned int cs_redirty_damaged(struct tfs_meta *m)
{
	struct csstore *cs = &m->cs;
	uint8_t *buf = tfs_io_alloc(cs->psize);
	unsigned int d, n = 0;
	uint64_t p;

	if (!buf)
		return 0;
	for (d = 0; d < cs->ndev; d++)
		for (p = 0; !cs_gone(m, d) && p < cs->dev[d].npages; p++) {
			int a = copy_state(m, d, p, 0, buf), b = copy_state(m, d, p, 1, buf);

			if (a != COPY_DAMAGED && b != COPY_DAMAGED && b != COPY_SUPERSEDED)
				continue;
			/* an empty overlay entry makes the next checkpoint rewrite
			 * the page */
			pthread_mutex_lock(&cs->lock);
			if (ov_get(cs, ekey(d, p * cs->per_page)))
				n++;
			pthread_mutex_unlock(&cs->lock);
		}
	tfs_io_free(buf);
	return n;
}

void cs_map(struct tfs_meta *m, FILE *out)
{
	struct csstore *cs = &m->cs;
	unsigned int d;
	uint64_t p;

	for (d = 0; d < cs->ndev; d++) {
		struct cs_dev *cd = &cs->dev[d];

		for (p = 0; !cs_gone(m, d) && p < cd->npages; p++) {
			uint32_t cur = cd->desc[p][0];

			if (!TFS_CSD_GEN(cur))
				continue;
			fprintf(out, "cspage %u %llu %u live device %u page %llu newest\n", cd->host,
				(unsigned long long)page_off(cs, cd, p, TFS_CSD_COPY(cur)), cs->psize, d,
				(unsigned long long)p);
			if (cd->desc[p][1])
				fprintf(out, "cspage %u %llu %u live device %u page %llu older\n",
					cd->host,
					(unsigned long long)page_off(cs, cd, p, 1 - TFS_CSD_COPY(cur)),
					cs->psize, d, (unsigned long long)p);
		}
	}
}

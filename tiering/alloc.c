/*
 * tiering/alloc.c - chunk slot allocation and placement of new chunks.
 *
 * Placement of new data: a new chunk goes to the fastest tier that still has
 * a device under the high watermark (90 % of its slots in use by default), so
 * a pool with pmem fills pmem first and then spills to zns or block; a pinned
 * file or a long sequential stream may name a tier instead (tier_place_cls).
 * The heat engine (engine.c) moves chunks afterwards.
 * Within a tier, a file's chunks are striped across the devices below the
 * watermark (chunk i prefers device (ino + i) mod n).  When the preferred
 * device is full the allocator falls back to the next device with room, so
 * placement never causes ENOSPC while any device has a free slot.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tier.h"

static int dev_init(struct tier_alloc *a, unsigned int d, uint64_t nslots, unsigned int cls)
{
	struct tier_alloc_dev *ad = &a->a_dev[d];

	memset(ad, 0, sizeof(*ad));
	ad->a_class = cls;
	ad->a_nslots = nslots;
	ad->a_nfree = nslots;
	ad->a_bitmap = calloc((nslots + 63) / 64 + 1, 8);
	if (!ad->a_bitmap)
		return -ENOMEM;
	if (cls == TFS_CLASS_RADOS) {
		/* the cold tier: reached by migration only, outside the totals */
		ad->a_cold = 1;
		return 0;
	}
	a->a_nfree += nslots;
	a->a_nslots += nslots;
	if (ad->a_class != TFS_CLASS_ZNS) {
		a->a_nfree_ip += nslots;
		a->a_nslots_ip += nslots;
	}
	return 0;
}

int tier_alloc_init(struct tier_alloc *a, unsigned int ndev, const uint64_t *nslots,
		    const unsigned int *classes)
{
	unsigned int d;

	memset(a, 0, sizeof(*a));
	if (ndev > TFS_MAX_DEVS)
		return -EINVAL;
	a->a_high = TIER_HIGH_WATERMARK;
	for (d = 0; d < ndev; d++) {
		if (dev_init(a, d, nslots[d], classes ? classes[d] : TFS_CLASS_BLOCK) < 0) {
			tier_alloc_destroy(a);
			return -ENOMEM;
		}
	}
	a->a_ndev = ndev;
	return 0;
}

int tier_alloc_add(struct tier_alloc *a, unsigned int dev, uint64_t nslots, unsigned int cls)
{
	int ret;

	if (dev != a->a_ndev || dev >= TFS_MAX_DEVS)
		return -EINVAL;
	ret = dev_init(a, dev, nslots, cls);
	if (ret == 0)
		__atomic_store_n(&a->a_ndev, dev + 1, __ATOMIC_RELEASE);
	return ret;
}

void tier_alloc_set_out(struct tier_alloc *a, unsigned int dev)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];

	if (ad->a_out)
		return;
	ad->a_out = 1;
	if (ad->a_cold)
		return;
	a->a_nfree -= ad->a_nfree;
	a->a_nslots -= ad->a_nslots;
	if (!ad->a_z && ad->a_class != TFS_CLASS_ZNS) {
		a->a_nfree_ip -= ad->a_nfree;
		a->a_nslots_ip -= ad->a_nslots;
	}
}

void tier_alloc_destroy(struct tier_alloc *a)
{
	unsigned int d;

	for (d = 0; d < TFS_MAX_DEVS; d++) {
		free(a->a_dev[d].a_bitmap);
		tier_zone_destroy(&a->a_dev[d]);
	}
	memset(a, 0, sizeof(*a));
}

static int dev_take(struct tier_alloc_dev *ad, uint64_t *slot)
{
	uint64_t nwords = (ad->a_nslots + 63) / 64, w, start, i;

	if (!ad->a_nfree)
		return -ENOSPC;
	start = ad->a_hint / 64;
	for (i = 0; i < nwords; i++) {
		uint64_t word;
		uint64_t s;

		w = (start + i) % nwords;
		word = ad->a_bitmap[w];
		if (word == ~0ull)
			continue;
		s = w * 64 + (uint64_t)__builtin_ctzll(~word);
		if (s >= ad->a_nslots)
			continue;
		ad->a_bitmap[w] |= 1ull << (s & 63);
		ad->a_nfree--;
		ad->a_hint = s + 1 < ad->a_nslots ? s + 1 : 0;
		*slot = s;
		return 0;
	}
	return -ENOSPC;
}

int tier_alloc_take(struct tier_alloc *a, unsigned int pref, uint16_t *dev, uint64_t *slot)
{
	unsigned int i, d;

	int cold = pref < a->a_ndev && a->a_dev[pref].a_cold;

	for (i = 0; i < a->a_ndev; i++) {
		d = (pref + i) % a->a_ndev;
		/* the cold tier only when asked for, and only then */
		if (a->a_dev[d].a_z || a->a_dev[d].a_out || a->a_dev[d].a_cold != cold)
			continue;
		if (dev_take(&a->a_dev[d], slot) == 0) {
			*dev = (uint16_t)d;
			if (!cold) {
				a->a_nfree--;
				a->a_nfree_ip--;
			}
			return 0;
		}
	}
	return -ENOSPC;
}

int tier_alloc_take_run(struct tier_alloc *a, unsigned int dev, uint64_t n, uint64_t *first)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];
	uint64_t s, run = 0, i;

	if (dev >= a->a_ndev || ad->a_z || ad->a_out || ad->a_cold || !n)
		return -EINVAL;
	for (s = 0; s < ad->a_nslots; s++) {
		run = ad->a_bitmap[s / 64] & (1ull << (s & 63)) ? 0 : run + 1;
		if (run < n)
			continue;
		*first = s + 1 - n;
		for (i = *first; i <= s; i++)
			ad->a_bitmap[i / 64] |= 1ull << (i & 63);
		ad->a_nfree -= n;
		a->a_nfree -= n;
		a->a_nfree_ip -= n;
		return 0;
	}
	return -ENOSPC;
}

int tier_alloc_mark(struct tier_alloc *a, unsigned int dev, uint64_t slot, struct tfs_chunk *c)
{
	struct tier_alloc_dev *ad;

	if (dev >= a->a_ndev || slot >= a->a_dev[dev].a_nslots)
		return -ERANGE;
	ad = &a->a_dev[dev];
	if (ad->a_bitmap[slot / 64] & (1ull << (slot & 63)))
		return -EEXIST;
	ad->a_bitmap[slot / 64] |= 1ull << (slot & 63);
	ad->a_nfree--;
	if (!ad->a_out && !ad->a_cold)
		a->a_nfree--;
	if (ad->a_z)
		tier_zone_mark(ad, slot, c);
	else if (!ad->a_out && !ad->a_cold)
		a->a_nfree_ip--;
	return 0;
}

int tier_alloc_used(const struct tier_alloc *a, unsigned int dev, uint64_t slot)
{
	if (dev >= a->a_ndev || slot >= a->a_dev[dev].a_nslots)
		return 0;
	return (a->a_dev[dev].a_bitmap[slot / 64] >> (slot & 63)) & 1;
}

int tier_alloc_release(struct tier_alloc *a, unsigned int dev, uint64_t slot)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];

	if (dev >= a->a_ndev || slot >= ad->a_nslots)
		return 0; /* (a device that left the pool has none) */
	if (!(ad->a_bitmap[slot / 64] & (1ull << (slot & 63))))
		return 0;
	if (ad->a_z && tier_zone_retired(ad, slot)) {
		/* no room: the slot stays taken, only its chunk goes (only live
		 * slots are ever released: the dead ones retirement took are
		 * named by nothing) */
		tier_zone_unmark(ad, slot);
		return 0;
	}
	ad->a_bitmap[slot / 64] &= ~(1ull << (slot & 63));
	ad->a_nfree++;
	if (!ad->a_out && !ad->a_cold)
		a->a_nfree++;
	if (!ad->a_z && !ad->a_out && !ad->a_cold)
		a->a_nfree_ip++;
	return ad->a_z ? tier_zone_unmark(ad, slot) : 0;
}

int tier_alloc_above_high(const struct tier_alloc *a, unsigned int d)
{
	const struct tier_alloc_dev *ad = &a->a_dev[d];

	return (ad->a_nslots - ad->a_nfree) * 100 >= ad->a_nslots * a->a_high;
}

unsigned int tier_place(const struct tier_alloc *a, uint64_t ino, uint64_t idx)
{
	return tier_place_cls(a, ino, idx, TFS_CLASS_MAX);
}

int tier_dest(const struct tier_alloc *a, unsigned int cls, uint64_t ino, uint64_t idx,
	      int below_high)
{
	unsigned int cand[TFS_MAX_DEVS], d, n = 0;
	int best = -1;

	for (d = 0; d < a->a_ndev; d++) {
		const struct tier_alloc_dev *ad = &a->a_dev[d];

		if (ad->a_class != cls || !ad->a_nfree || ad->a_out)
			continue;
		if (below_high && tier_alloc_above_high(a, d))
			continue;
		cand[n++] = d;
		if (best < 0 || ad->a_nfree > a->a_dev[best].a_nfree)
			best = (int)d;
	}
	if (!n)
		return -ENOSPC;
	/* striped like new data while there is room everywhere */
	return below_high ? (int)cand[(ino + idx) % n] : best;
}

void tier_class_usage(const struct tier_alloc *a, unsigned int cls, uint64_t *slots,
		      uint64_t *used)
{
	unsigned int d;

	*slots = *used = 0;
	for (d = 0; d < a->a_ndev; d++) {
		if (a->a_dev[d].a_class != cls || a->a_dev[d].a_out)
			continue;
		*slots += a->a_dev[d].a_nslots;
		*used += a->a_dev[d].a_nslots - a->a_dev[d].a_nfree;
	}
}

unsigned int tier_place_cls(const struct tier_alloc *a, uint64_t ino, uint64_t idx,
			    unsigned int cls)
{
	unsigned int cand[TFS_MAX_DEVS], d, n, best = 0;
	int want;

	/* (new data never goes to the rados tier: only the engine moves
	 * chunks there, whole) */
	if (cls < TFS_CLASS_MAX && cls != TFS_CLASS_RADOS) {
		want = tier_dest(a, cls, ino, idx, 1);
		if (want < 0)
			want = tier_dest(a, cls, ino, idx, 0);
		if (want >= 0)
			return (unsigned int)want;
	}
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		n = 0;
		for (d = 0; d < a->a_ndev; d++)
			if (a->a_dev[d].a_class == cls && !a->a_dev[d].a_out &&
			    !a->a_dev[d].a_cold && !tier_alloc_above_high(a, d))
				cand[n++] = d;
		if (n)
			return cand[(ino + idx) % n];
	}
	/* everything is above the watermark: the most free room, by fraction */
	while (best + 1 < a->a_ndev && (a->a_dev[best].a_out || a->a_dev[best].a_cold))
		best++;
	for (d = best + 1; d < a->a_ndev; d++)
		if (!a->a_dev[d].a_out && !a->a_dev[d].a_cold &&
		    a->a_dev[d].a_nfree * a->a_dev[best].a_nslots >
			    a->a_dev[best].a_nfree * a->a_dev[d].a_nslots)
			best = d;
	return best;
}

int tier_place_inplace(const struct tier_alloc *a, uint64_t ino, uint64_t idx)
{
	unsigned int cand[TFS_MAX_DEVS], cls, d, n;
	int best = -1;

	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		n = 0;
		for (d = 0; d < a->a_ndev; d++)
			if (a->a_dev[d].a_class == cls && !a->a_dev[d].a_z && !a->a_dev[d].a_out &&
			    !a->a_dev[d].a_cold && !tier_alloc_above_high(a, d))
				cand[n++] = d;
		if (n)
			return (int)cand[(ino + idx) % n];
	}
	for (d = 0; d < a->a_ndev; d++)
		if (!a->a_dev[d].a_z && !a->a_dev[d].a_out && !a->a_dev[d].a_cold &&
		    a->a_dev[d].a_nfree &&
		    (best < 0 || a->a_dev[d].a_nfree > a->a_dev[best].a_nfree))
			best = (int)d;
	return best < 0 ? -ENOSPC : best;
}

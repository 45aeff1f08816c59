/*
 * tiering/zalloc.c - zones of a zoned device as chunk space.
 *
 * See tier.h for the model.  This file decides which zone a chunk is
 * appended to, counts live chunks per zone, says when the cleaner must run
 * and which zone it should empty.  It does no I/O: the caller performs the
 * writes, resets and finishes on the device and reports back.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tier.h"

int tier_zone_init(struct tier_alloc *a, unsigned int dev, uint32_t nzones, uint32_t spz,
		   uint32_t open_limit)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];
	struct tier_zdev *z;

	if (dev >= a->a_ndev || spz == 0 || (uint64_t)nzones * spz != ad->a_nslots ||
	    nzones < TIER_ZONES_MIN - 2 || open_limit < 2)
		return -EINVAL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->z = calloc(nzones, sizeof(*z->z));
	z->z_rmap = calloc(ad->a_nslots, sizeof(*z->z_rmap));
	if (!z->z || !z->z_rmap) {
		free(z->z);
		free(z->z_rmap);
		free(z);
		return -ENOMEM;
	}
	z->z_nzones = nzones;
	z->z_spz = spz;
	z->z_nfree = nzones;
	/* the cleaner writes one zone at a time; the user streams share the
	 * rest */
	z->z_open_user = open_limit - 1;
	z->z_reserve = TIER_ZONE_RESERVE;
	/* late: free zones are space the data cannot use, and the fuller the
	 * sealed zones get before cleaning, the less each victim holds (nzones
	 * / 16 cost 3.46 WA against 3.37 at 80 % uniform) */
	z->z_clean_low = z->z_reserve + 1 + nzones / 128;
	ad->a_z = z;
	return 0;
}

void tier_zone_destroy(struct tier_alloc_dev *ad)
{
	if (!ad->a_z)
		return;
	free(ad->a_z->z);
	free(ad->a_z->z_rmap);
	free(ad->a_z);
	ad->a_z = NULL;
}

void tier_zone_mark(struct tier_alloc_dev *ad, uint64_t slot, struct tfs_chunk *c)
{
	struct tier_zdev *z = ad->a_z;

	z->z[slot / z->z_spz].valid++;
	z->z_rmap[slot] = c;
}

int tier_zone_unmark(struct tier_alloc_dev *ad, uint64_t slot)
{
	struct tier_zdev *z = ad->a_z;
	struct tier_zone *zn = &z->z[slot / z->z_spz];

	z->z_rmap[slot] = NULL;
	if (zn->valid)
		zn->valid--;
	if (zn->valid == 0 && zn->state == TIER_Z_FULL) {
		zn->state = TIER_Z_RECLAIM;
		return 1;
	}
	return 0;
}

void tier_alloc_bind(struct tier_alloc *a, unsigned int dev, uint64_t slot, struct tfs_chunk *c)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;

	if (z && slot < a->a_dev[dev].a_nslots)
		z->z_rmap[slot] = c;
}

void tier_alloc_unbind(struct tier_alloc *a, unsigned int dev, uint64_t slot,
		       const struct tfs_chunk *c)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;

	if (z && slot < a->a_dev[dev].a_nslots && z->z_rmap[slot] == c)
		z->z_rmap[slot] = NULL;
}

struct tfs_chunk *tier_zone_chunk(const struct tier_alloc *a, unsigned int dev, uint64_t slot)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;

	return z && slot < a->a_dev[dev].a_nslots ? z->z_rmap[slot] : NULL;
}

static uint32_t user_open(const struct tier_zdev *z)
{
	return z->z_nopen[TIER_STREAM_USER] + z->z_nopen[TIER_STREAM_SHORT] +
	       z->z_nopen[TIER_STREAM_LONG];
}

int tier_zone_adopt(struct tier_alloc *a, unsigned int dev, uint32_t zone, uint32_t wp_slots,
		    int sealed, uint64_t now)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;
	struct tier_zone *zn = &z->z[zone];

	if (wp_slots >= z->z_spz) {
		wp_slots = z->z_spz;
		sealed = 1;
	}
	zn->next = wp_slots;
	zn->stamp = now;
	if (wp_slots == 0 && zn->valid == 0 && !sealed)
		return TIER_ZADOPT_NONE; /* FREE already */
	z->z_nfree--;
	if (zn->valid == 0) {
		/* written, nothing live: garbage of a crash or of a stop */
		zn->state = TIER_Z_RECLAIM;
		return TIER_ZADOPT_RESET;
	}
	/* what wrote it, and when, is not known */
	zn->stream = TIER_STREAM_USER;
	zn->born = TIER_ZCLOCK_UNKNOWN;
	if (!sealed && user_open(z) < z->z_open_user) {
		/* go on filling it */
		zn->state = TIER_Z_OPEN;
		z->z_nopen[TIER_STREAM_USER]++;
		return TIER_ZADOPT_NONE;
	}
	zn->state = TIER_Z_FULL;
	return sealed ? TIER_ZADOPT_NONE : TIER_ZADOPT_FINISH;
}

static int64_t open_zone(struct tier_zdev *z, unsigned int stream, int reserve_ok)
{
	uint32_t i;

	if (stream == TIER_STREAM_CLEAN ? z->z_nopen[stream] >= 1 : user_open(z) >= z->z_open_user)
		return -1;
	if (z->z_nfree <= (reserve_ok ? 0 : z->z_reserve))
		return -1;
	for (i = 0; i < z->z_nzones; i++) {
		struct tier_zone *zn = &z->z[i];

		if (zn->state != TIER_Z_FREE)
			continue;
		zn->state = TIER_Z_OPEN;
		zn->stream = (uint8_t)stream;
		zn->next = 0;
		zn->born = zn->last = z->z_clock;
		z->z_nfree--;
		z->z_nopen[stream]++;
		return i;
	}
	return -1;
}

int tier_zone_take(struct tier_alloc *a, unsigned int dev, unsigned int stream, uint64_t now,
		   uint64_t *slot)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];
	struct tier_zdev *z = ad->a_z;
	int64_t pick = -1, other = -1;
	int busy = 0, reserve_ok = stream == TIER_STREAM_CLEAN;
	uint32_t i;

	if (stream == TIER_STREAM_MOVE) {
		/* migration writes with the cleaner's survivors, but leaves the
		 * reserve to the cleaner: it alone frees zones */
		stream = TIER_STREAM_CLEAN;
		reserve_ok = 0;
	}
	if (!z || stream >= TIER_STREAM_MAX)
		return -EINVAL;
	if (ad->a_out)
		return -ENOSPC;
	for (i = 0; i < z->z_nzones; i++) {
		struct tier_zone *zn = &z->z[i];

		if (zn->state != TIER_Z_OPEN || zn->next >= z->z_spz ||
		    (zn->stream != stream &&
		     (stream == TIER_STREAM_CLEAN || zn->stream == TIER_STREAM_CLEAN)))
			continue;
		if (zn->busy) {
			busy = 1;
			continue;
		}
		if (zn->stream != stream) {
			if (other < 0)
				other = i; /* another user stream's zone: the fallback */
			continue;
		}
		pick = i;
		break;
	}
	if (pick < 0)
		pick = open_zone(z, stream, reserve_ok);
	if (pick < 0)
		pick = other;
	if (pick < 0)
		return busy ? -EAGAIN : -ENOSPC;
	z->z[pick].busy = 1;
	z->z[pick].stamp = now;
	z->z[pick].last = ++z->z_clock;
	*slot = (uint64_t)pick * z->z_spz + z->z[pick].next++;
	/* live from now on: the slot is the caller's */
	ad->a_bitmap[*slot / 64] |= 1ull << (*slot & 63);
	ad->a_nfree--;
	a->a_nfree--;
	z->z[pick].valid++;
	return 0;
}

static void seal(struct tier_zdev *z, struct tier_zone *zn)
{
	if (zn->state == TIER_Z_OPEN)
		z->z_nopen[zn->stream]--;
	zn->state = zn->valid ? TIER_Z_FULL : TIER_Z_RECLAIM;
}

unsigned int tier_zone_life(const struct tier_alloc *a, unsigned int dev, uint64_t slot)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	const struct tier_zone *zn;
	uint64_t cap, at, age, k;

	if (!z || slot >= a->a_dev[dev].a_nslots)
		return TIER_STREAM_USER;
	zn = &z->z[slot / z->z_spz];
	k = slot % z->z_spz;
	if (zn->born == TIER_ZCLOCK_UNKNOWN || zn->state == TIER_Z_RETIRED || k >= zn->next)
		return TIER_STREAM_USER;
	/* when it was appended: its place between the zone's first and last
	 * append, the device's clock running evenly in between */
	at = zn->born + (zn->last - zn->born) * (k + 1) / zn->next;
	age = z->z_clock > at ? z->z_clock - at : 0;
	cap = (uint64_t)z->z_nzones * z->z_spz;
	if (age < cap / 8 && zn->stream != TIER_STREAM_CLEAN)
		return TIER_STREAM_SHORT;
	return age > cap ? TIER_STREAM_LONG : TIER_STREAM_USER;
}

void tier_zone_shadow(struct tier_alloc *a, unsigned int dev, uint64_t slot, int delta)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;
	struct tier_zone *zn;

	if (!z || slot >= a->a_dev[dev].a_nslots)
		return;
	zn = &z->z[slot / z->z_spz];
	if (delta > 0)
		zn->shadow++;
	else if (zn->shadow)
		zn->shadow--;
}

unsigned int tier_zone_stream(const struct tier_alloc *a, unsigned int dev, uint32_t zone)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;

	return z && zone < z->z_nzones ? z->z[zone].stream : TIER_STREAM_USER;
}

int tier_zone_done(struct tier_alloc *a, unsigned int dev, uint64_t slot, int failed)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;
	struct tier_zone *zn = &z->z[slot / z->z_spz];

	zn->busy = 0;
	if (failed) {
		/* where the write pointer is now is unknown: write no more here */
		zn->next = z->z_spz;
		tier_alloc_release(a, dev, slot);
		if (zn->state == TIER_Z_OPEN)
			seal(z, zn);
		return 1;
	}
	if (zn->next >= z->z_spz && zn->state == TIER_Z_OPEN) {
		seal(z, zn);
		return 1;
	}
	return 0;
}

int64_t tier_zone_reclaimable(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint32_t i;

	if (!z)
		return -1;
	for (i = 0; i < z->z_nzones; i++)
		if (z->z[i].state == TIER_Z_RECLAIM)
			return i;
	return -1;
}

void tier_zone_reset_done(struct tier_alloc *a, unsigned int dev, uint32_t zone)
{
	struct tier_zdev *z = a->a_dev[dev].a_z;
	struct tier_zone *zn = &z->z[zone];

	if (zn->state != TIER_Z_RECLAIM)
		return;
	zn->reset_fails = 0;
	zn->state = TIER_Z_FREE;
	zn->next = 0;
	zn->valid = 0;
	zn->shadow = 0;
	z->z_nfree++;
}

int64_t tier_zone_victim(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint32_t best = 0;
	int64_t pick = -1;
	uint32_t i;

	if (!z)
		return -1;
	/* greedy: the fewest live chunks to copy, the oldest zone on a tie.
	 * Cost-benefit ((1 - u) * age / (1 + u)) cost more on every pattern
	 * contrib/bench-zns.sh measures: at 80 % full WA 3.48 against 3.46
	 * uniform and 1.27 against 1.07 zipf-like (the chunks that stay are
	 * moved to the cleaner's stream, so zones age apart anyway) */
	for (i = 0; i < z->z_nzones; i++) {
		const struct tier_zone *zn = &z->z[i];
		uint32_t live = zn->valid - (zn->shadow < zn->valid ? zn->shadow : zn->valid);

		/* a copy of a chunk that lives elsewhere is dropped, not moved */
		if (zn->state != TIER_Z_FULL || live >= zn->next)
			continue;
		if (pick < 0 || live < best || (live == best && zn->stamp < z->z[pick].stamp)) {
			pick = i;
			best = live;
		}
	}
	return pick;
}

int tier_zone_pressure(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;

	if (!z)
		return 0;
	if (z->z_nfree <= z->z_reserve)
		return 2;
	return z->z_nfree <= z->z_clean_low ? 1 : 0;
}

uint64_t tier_zone_garbage(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint64_t g = 0;
	uint32_t i;

	if (!z)
		return 0;
	for (i = 0; i < z->z_nzones; i++)
		if (z->z[i].state != TIER_Z_FREE && z->z[i].state != TIER_Z_RETIRED &&
		    z->z[i].next > z->z[i].valid)
			g += z->z[i].next - z->z[i].valid;
	return g;
}

void tier_zone_counts(const struct tier_alloc *a, unsigned int dev, uint32_t out[TIER_Z_NSTATES])
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint32_t i;

	memset(out, 0, TIER_Z_NSTATES * sizeof(out[0]));
	if (!z)
		return;
	for (i = 0; i < z->z_nzones; i++)
		out[z->z[i].state]++;
}

int tier_zone_retired(const struct tier_alloc_dev *ad, uint64_t slot)
{
	const struct tier_zdev *z = ad->a_z;

	return z && z->z[slot / z->z_spz].state == TIER_Z_RETIRED;
}

uint32_t tier_zone_retire(struct tier_alloc *a, unsigned int dev, uint32_t zone, int lost)
{
	struct tier_alloc_dev *ad = &a->a_dev[dev];
	struct tier_zdev *z = ad->a_z;
	struct tier_zone *zn = &z->z[zone];
	uint64_t s, first = (uint64_t)zone * z->z_spz;

	if (zn->state == TIER_Z_RETIRED) {
		zn->lost |= (uint8_t)!!lost;
		return zn->valid - (zn->shadow < zn->valid ? zn->shadow : zn->valid);
	}
	if (zn->state == TIER_Z_OPEN)
		z->z_nopen[zn->stream]--;
	else if (zn->state == TIER_Z_FREE)
		z->z_nfree--;
	zn->state = TIER_Z_RETIRED;
	zn->lost = (uint8_t)!!lost;
	zn->next = z->z_spz;
	/* its unwritten and dead slots are no room any more: they stay taken
	 * (tier_alloc_release keeps the slots of retired zones taken too) */
	for (s = first; s < first + z->z_spz; s++) {
		if (ad->a_bitmap[s / 64] & (1ull << (s & 63)))
			continue;
		ad->a_bitmap[s / 64] |= 1ull << (s & 63);
		ad->a_nfree--;
		if (!ad->a_out)
			a->a_nfree--;
	}
	return zn->valid - (zn->shadow < zn->valid ? zn->shadow : zn->valid);
}

int64_t tier_zone_evacuee(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint32_t i;

	if (!z)
		return -1;
	for (i = 0; i < z->z_nzones; i++)
		if (z->z[i].state == TIER_Z_RETIRED && z->z[i].valid && !z->z[i].lost)
			return i;
	return -1;
}

unsigned int tier_zone_reset_failed(struct tier_alloc *a, unsigned int dev, uint32_t zone)
{
	struct tier_zone *zn = &a->a_dev[dev].a_z->z[zone];

	if (zn->reset_fails < 255)
		zn->reset_fails++;
	return zn->reset_fails;
}

uint64_t tier_zone_live(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; z && i < z->z_nzones; i++)
		n += (uint64_t)z->z[i].valid + z->z[i].busy;
	return n;
}

uint64_t tier_zone_reserved_slots(const struct tier_alloc *a, unsigned int dev)
{
	const struct tier_zdev *z = a->a_dev[dev].a_z;

	if (!z)
		return 0;
	return (uint64_t)(z->z_nfree < z->z_reserve ? z->z_nfree : z->z_reserve) * z->z_spz;
}

/*
 * tiering/heat.c - chunk heat, sequential stream detection, the policy
 * knobs and the migration plan.  No threads and no I/O here: the engine
 * (engine.c) runs what this file decides.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tier.h"

/* ------------------------------------------------------------------ heat */

static uint32_t decayed(uint32_t h, uint16_t from, uint32_t epoch)
{
	uint16_t age = (uint16_t)((uint16_t)epoch - from);

	return age >= 16 ? 0 : h >> age;
}

uint32_t tier_heat_get(const struct tfs_chunk *c, uint32_t epoch)
{
	return decayed(__atomic_load_n(&c->c_heat, __ATOMIC_RELAXED),
		       __atomic_load_n(&c->c_hepoch, __ATOMIC_RELAXED), epoch);
}

uint32_t tier_heat_settle(struct tfs_chunk *c, uint32_t epoch)
{
	uint32_t h = tier_heat_get(c, epoch);

	/* a chunk whose heat is gone keeps the epoch it went at: how long it
	 * has been idle (tier_heat_idle) */
	if (h == 0 && __atomic_load_n(&c->c_heat, __ATOMIC_RELAXED) == 0)
		return 0;

	__atomic_store_n(&c->c_heat, (uint16_t)h, __ATOMIC_RELAXED);
	__atomic_store_n(&c->c_hepoch, (uint16_t)epoch, __ATOMIC_RELAXED);
	return h;
}

uint32_t tier_heat_idle(const struct tfs_chunk *c, uint32_t epoch)
{
	if (__atomic_load_n(&c->c_heat, __ATOMIC_RELAXED) != 0)
		return 0;
	return (uint16_t)((uint16_t)epoch - __atomic_load_n(&c->c_hepoch, __ATOMIC_RELAXED));
}

void tier_heat_add(struct tfs_chunk *c, uint32_t epoch, unsigned int w)
{
	uint32_t h = tier_heat_get(c, epoch) + w;

	if (w == 0 && __atomic_load_n(&c->c_hepoch, __ATOMIC_RELAXED) == (uint16_t)epoch)
		return;
	if (h > TIER_HEAT_MAX)
		h = TIER_HEAT_MAX;
	__atomic_store_n(&c->c_heat, (uint16_t)h, __ATOMIC_RELAXED);
	__atomic_store_n(&c->c_hepoch, (uint16_t)epoch, __ATOMIC_RELAXED);
}

/* bucket 0: no heat; then four buckets per power of two (by the two bits
 * after the leading one), so neighbouring buckets differ by at most 25 % */
unsigned int tier_heat_bucket(uint32_t heat)
{
	unsigned int lg, sub;

	if (heat == 0)
		return 0;
	if (heat > TIER_HEAT_MAX)
		heat = TIER_HEAT_MAX;
	lg = 31u - (unsigned int)__builtin_clz(heat);
	sub = lg >= 2 ? (heat >> (lg - 2)) & 3 : (heat << (2 - lg)) & 3;
	return 1 + lg * 4 + sub;
}

uint32_t tier_heat_bucket_min(unsigned int b)
{
	unsigned int lg, sub;

	if (b == 0)
		return 0;
	if (b >= TIER_HEAT_BUCKETS)
		return TIER_HEAT_MAX + 1;
	lg = (b - 1) / 4;
	sub = (b - 1) % 4;
	if (lg < 2) {
		/* 1..3 cannot be told apart by two more bits: the smallest heat
		 * whose bucket is b */
		uint32_t h;

		for (h = 1; h < 4; h++)
			if (tier_heat_bucket(h) >= b)
				return h;
		return 4;
	}
	return (4u + sub) << (lg - 2);
}

/* ------------------------------------------------------ sequential streams */

int tier_stream_note(struct tier_seq *s, uint64_t off, uint64_t len, uint64_t scan_min)
{
	/* the kernel's readahead may deliver a stream slightly out of order */
	const uint64_t slack = 256 * 1024;
	uint64_t next = __atomic_load_n(&s->next, __ATOMIC_RELAXED);
	uint64_t run = __atomic_load_n(&s->run, __ATOMIC_RELAXED);

	if (run && off + slack >= next && off <= next + slack)
		run += len;
	else
		run = len;
	__atomic_store_n(&s->next, off + len, __ATOMIC_RELAXED);
	__atomic_store_n(&s->run, run, __ATOMIC_RELAXED);
	return scan_min && run >= scan_min;
}

/* ----------------------------------------------------------------- policy */

#define P(f) offsetof(struct tier_policy, f)
const struct tier_policy_def tier_policy_table[] = {
	{ "migrate", P(migrate), 0, 1, 1, "0/1", "move chunks between tiers by heat in the background" },
	{ "high_watermark", P(high), 10, 99, 90, "%",
	  "a tier fuller than this gets no new data and is demoted from" },
	{ "low_watermark", P(low), 5, 98, 80, "%", "demotion of a full tier stops here" },
	{ "halflife_ms", P(halflife_ms), 10, 86400000, 120000, "ms", "heat halves every this long" },
	{ "read_weight", P(read_weight), 0, 1000, 4, "", "heat of one read request" },
	{ "write_weight", P(write_weight), 0, 1000, 2, "", "heat of one write request" },
	{ "scan_weight", P(scan_weight), 0, 1000, 1, "",
	  "heat of one read that is part of a sequential scan" },
	{ "scan_min_kib", P(scan_min_kib), 0, 16777216, 4096, "KiB",
	  "a sequential run of an open file this long is a scan (0: never)" },
	{ "promote_min", P(promote_min), 1, 65535, 8, "", "heat a chunk needs to move up at all" },
	{ "promote_margin", P(promote_margin), 0, 1000, 50, "%",
	  "a chunk moves up only this much hotter than the threshold of the tier above" },
	{ "demote_idle", P(demote_idle), 0, 1, 1, "0/1",
	  "chunks whose heat has decayed to nothing sink one tier" },
	{ "migrate_mbps", P(migrate_mbps), 0, 1000000, 0, "MB/s",
	  "bandwidth of migration (0: migrate_duty of the measured copy speed)" },
	{ "migrate_duty", P(migrate_duty), 1, 100, 25, "%",
	  "with migrate_mbps=0: share of the time moves may take" },
	{ "busy_iops", P(busy_iops), 0, 100000000, 2000, "req/s",
	  "foreground requests per second above which migration slows to a quarter" },
	{ "batch", P(batch), 1, 4096, 64, "chunks", "chunks moved per pass before a commit" },
	{ "rados_after", P(rados_after), 0, 87600, 24, "h",
	  "chunks idle this long sink into the rados tier (0: as soon as their heat is gone)" },
	{ "seq_write_tier", P(seq_write_tier), 0, TFS_CLASS_MAX, TFS_CLASS_MAX, "tier",
	  "tier for long sequential writes (pmem, zns, block; none: like other data)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};
#undef P

void tier_policy_defaults(struct tier_policy *p)
{
	const struct tier_policy_def *d;

	memset(p, 0, sizeof(*p));
	for (d = tier_policy_table; d->name; d++)
		*(unsigned int *)((char *)p + d->off) = d->def;
}

int tier_policy_set(struct tier_policy *p, const char *kv, char *err, size_t errlen)
{
	const struct tier_policy_def *d;
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	unsigned long v;
	char *end;

	for (d = tier_policy_table; d->name; d++)
		if (strlen(d->name) == klen && !strncmp(d->name, kv, klen))
			break;
	if (!d->name)
		return 0;
	if (!eq || !eq[1])
		goto bad;
	if (!strcmp(d->unit, "tier")) {
		for (v = 0; v < TFS_CLASS_MAX; v++)
			if (!strcmp(eq + 1, tfs_dev_class_str((unsigned int)v)))
				break;
		if (v == TFS_CLASS_MAX && strcmp(eq + 1, "none"))
			goto bad;
	} else {
		errno = 0;
		v = strtoul(eq + 1, &end, 10);
		if (errno || *end || eq[1] == '-' || v < d->min || v > d->max)
			goto bad;
	}
	*(unsigned int *)((char *)p + d->off) = (unsigned int)v;
	return 1;
bad:
	if (!strcmp(d->unit, "tier"))
		snprintf(err, errlen, "bad value for %s: '%s' (pmem, zns, block, rados or none expected)",
			 d->name, eq ? eq + 1 : "");
	else
		snprintf(err, errlen, "bad value for %s: '%s' (%u..%u%s%s expected)", d->name,
			 eq ? eq + 1 : "", d->min, d->max, d->unit[0] ? " " : "", d->unit);
	return -EINVAL;
}

/* what no single key can check: the watermarks in order.  Called once all
 * keys of a command line or a policy change are set, so that their order
 * does not matter. */
int tier_policy_check(const struct tier_policy *p, char *err, size_t errlen)
{
	if (p->seq_write_tier == TFS_CLASS_RADOS) {
		snprintf(err, errlen, "seq_write_tier cannot be rados: new data is never written there");
		return -EINVAL;
	}
	if (p->low >= p->high) {
		snprintf(err, errlen, "low_watermark (%u) must be below high_watermark (%u)", p->low,
			 p->high);
		return -EINVAL;
	}
	return 0;
}

void tier_policy_fmt(const struct tier_policy *p, const struct tier_policy_def *d, char *out,
		     size_t len)
{
	unsigned int v = *(const unsigned int *)((const char *)p + d->off);

	if (!strcmp(d->unit, "tier"))
		snprintf(out, len, "%s", v < TFS_CLASS_MAX ? tfs_dev_class_str(v) : "none");
	else
		snprintf(out, len, "%u", v);
}

/* ------------------------------------------------------------------- plan */

int tier_class_below(const struct tier_plan_in *in, unsigned int cls)
{
	unsigned int c;

	for (c = cls + 1; c < TFS_CLASS_MAX; c++)
		if (in->slots[c])
			return (int)c;
	return -1;
}

/* @p percent of @slots, rounded up: placement fills a device until its use
 * reaches the high watermark, so the last chunk may cross it by a fraction
 * of a slot, and that is not "above" */
static uint64_t pct(uint64_t slots, unsigned int p)
{
	return (slots * p + 99) / 100;
}

/* slots free below @high once @need chunks of the @used have left */
static uint64_t room_after(uint64_t used, uint64_t need, uint64_t high)
{
	uint64_t u = used > need ? used - need : 0;

	return u < high ? high - u : 0;
}

void tier_plan_make(const struct tier_policy *p, const struct tier_plan_in *in,
		    struct tier_plan *pl)
{
	uint64_t all[TIER_HEAT_BUCKETS] = { 0 }, capcum = 0;
	unsigned int c, b;

	memset(pl, 0, sizeof(*pl));
	for (c = 0; c < TFS_CLASS_MAX; c++)
		for (b = 0; b < TIER_HEAT_BUCKETS; b++)
			all[b] += in->hist[c][b];

	/* residency thresholds: walk from the hottest bucket down until the
	 * chunks seen no longer fit this class and the faster ones */
	for (c = 0; c < TFS_CLASS_MAX; c++) {
		uint64_t cum = 0;

		pl->thr[c] = 1;
		if (!in->slots[c])
			continue;
		capcum += pct(in->slots[c], p->high);
		for (b = TIER_HEAT_BUCKETS - 1; b > 0; b--) {
			cum += all[b];
			if (cum > capcum) {
				pl->thr[c] = tier_heat_bucket_min(b + 1 < TIER_HEAT_BUCKETS ? b + 1 : b);
				break;
			}
		}
		pl->promote_at[c] = pl->thr[c] * (100 + p->promote_margin) / 100;
		if (pl->promote_at[c] < p->promote_min)
			pl->promote_at[c] = p->promote_min;
	}

	/* promotions each class would receive (bucket granularity: a bucket
	 * counts when its smallest heat qualifies), fastest class first */
	for (c = 0; c < TFS_CLASS_MAX; c++) {
		unsigned int x;

		if (!in->slots[c])
			continue;
		for (x = c + 1; x < TFS_CLASS_MAX; x++) {
			for (b = 1; b < TIER_HEAT_BUCKETS; b++) {
				unsigned int f;
				int faster = 0;

				if (tier_heat_bucket_min(b) < pl->promote_at[c])
					continue;
				for (f = 0; f < c; f++)
					faster |= in->slots[f] && tier_heat_bucket_min(b) >= pl->promote_at[f];
				if (!faster)
					pl->promote[c] += in->hist[x][b];
			}
		}
	}

	/* demotions out of each class, and the room promotions get */
	for (c = 0; c < TFS_CLASS_MAX; c++) {
		uint64_t high = pct(in->slots[c], p->high), low = pct(in->slots[c], p->low);
		uint64_t used = in->used[c], need = 0, colder = 0, room, n;

		if (!in->slots[c])
			continue;
		if (tier_class_below(in, c) < 0) {
			/* the slowest class: nothing below it */
			room = room_after(used, 0, high);
			if (pl->promote[c] > room)
				pl->promote[c] = room;
			continue;
		}
		if (used > high)
			need = used - low;
		/* into rados only what has been idle for rados_after (the
		 * engine picks those itself), not all that has no heat */
		if (p->demote_idle && need < in->hist[c][0] &&
		    tier_class_below(in, c) != TFS_CLASS_RADOS)
			need = in->hist[c][0];
		/* exchanges: chunks colder than the threshold make room for hotter
		 * ones that would not fit */
		room = room_after(used, need, high);
		if (pl->promote[c] > room) {
			for (b = 0; b < TIER_HEAT_BUCKETS && tier_heat_bucket_min(b) < pl->thr[c]; b++)
				colder += in->hist[c][b];
			n = pl->promote[c] - room;
			if (colder > need)
				need += n < colder - need ? n : colder - need;
			room = room_after(used, need, high);
			if (pl->promote[c] > room)
				pl->promote[c] = room;
		}
		/* the cut: every chunk below bucket cut, and cut_rem of bucket cut */
		n = need;
		for (b = 0; b < TIER_HEAT_BUCKETS && n; b++) {
			if (in->hist[c][b] >= n) {
				pl->cut[c] = b;
				pl->cut_rem[c] = n;
				n = 0;
				break;
			}
			n -= in->hist[c][b];
		}
		if (n) /* fewer movable chunks than needed: all of them */
			pl->cut[c] = TIER_HEAT_BUCKETS;
		pl->demote[c] = need - n;
	}
}

int tier_plan_decide(struct tier_plan *pl, const struct tier_plan_in *in, unsigned int cls,
		     uint32_t heat)
{
	unsigned int b = tier_heat_bucket(heat), c;

	if (cls >= TFS_CLASS_MAX)
		return -1;
	if (b < pl->cut[cls] || (b == pl->cut[cls] && pl->cut_rem[cls])) {
		if (b == pl->cut[cls])
			pl->cut_rem[cls]--;
		return tier_class_below(in, cls);
	}
	for (c = 0; c < cls; c++) {
		if (!in->slots[c] || heat < pl->promote_at[c])
			continue;
		if (!pl->promote[c])
			continue; /* no room up there this pass: maybe below it */
		pl->promote[c]--;
		return (int)c;
	}
	return -1;
}

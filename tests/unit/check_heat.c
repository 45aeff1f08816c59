/* tests/unit/check_heat.c - heat decay and buckets, scan detection, policy
 * parsing, the migration plan (watermarks, exchanges, hysteresis, idle
 * chunks, coldest-first victims) and an engine pass over a fake pool */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check_suites.h"
#include "tier.h"

static struct tier_chunks hch;

START_TEST(test_decay)
{
	struct tfs_chunk *c;

	tier_chunks_init(&hch, 64);
	c = tier_chunk_new(&hch, 1, 0);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(tier_heat_get(c, 0), TIER_HEAT_INIT);
	tier_heat_add(c, 0, 108 - TIER_HEAT_INIT);
	ck_assert_uint_eq(tier_heat_get(c, 0), 108);
	/* halved once per epoch, lazily */
	ck_assert_uint_eq(tier_heat_get(c, 1), 54);
	ck_assert_uint_eq(tier_heat_get(c, 3), 13);
	ck_assert_uint_eq(tier_heat_get(c, 16), 0);
	/* settling stores the decayed value at the new epoch */
	ck_assert_uint_eq(tier_heat_settle(c, 2), 27);
	ck_assert_uint_eq(c->c_heat, 27);
	ck_assert_uint_eq(c->c_hepoch, 2);
	ck_assert_uint_eq(tier_heat_get(c, 2), 27);
	/* an add decays first, then counts */
	tier_heat_add(c, 4, 10);
	ck_assert_uint_eq(tier_heat_get(c, 4), 6 + 10);
	/* saturation, and the 16-bit epoch wraps without a jump */
	tier_heat_add(c, 5, 70000);
	ck_assert_uint_eq(tier_heat_get(c, 5), TIER_HEAT_MAX);
	tier_heat_settle(c, 65535);
	tier_heat_add(c, 65535, 64);
	ck_assert_uint_eq(tier_heat_get(c, 65536), 32);
	tier_chunk_free(&hch, c);
	tier_chunks_destroy(&hch);
}
END_TEST

START_TEST(test_buckets)
{
	unsigned int prev = 0, b;
	uint32_t h;

	ck_assert_uint_eq(tier_heat_bucket(0), 0);
	for (h = 1; h <= TIER_HEAT_MAX; h++) {
		b = tier_heat_bucket(h);
		ck_assert_uint_ge(b, prev);
		ck_assert_uint_lt(b, TIER_HEAT_BUCKETS);
		ck_assert_uint_le(tier_heat_bucket_min(b), h);
		prev = b;
	}
	/* bucket_min(b) is the smallest heat whose bucket is b or above; from
	 * heat 4 on (bucket 9) no bucket is empty, so it lies in b itself.
	 * Below 4 two more bits cannot split one heat value and some buckets
	 * stay empty. */
	for (b = 1; b < TIER_HEAT_BUCKETS; b++) {
		uint32_t lo = tier_heat_bucket_min(b);

		ck_assert_uint_le(lo, TIER_HEAT_MAX + 1);
		if (lo > TIER_HEAT_MAX) {
			/* a bucket past the largest heat: no heat maps into it
			 * or above, and only the last bucket may be one */
			ck_assert_uint_lt(tier_heat_bucket(TIER_HEAT_MAX), b);
			ck_assert_uint_eq(b, TIER_HEAT_BUCKETS - 1);
			continue;
		}
		ck_assert_uint_ge(tier_heat_bucket(lo), b);
		ck_assert_uint_lt(tier_heat_bucket(lo - 1), b);
		if (b >= 9)
			ck_assert_uint_eq(tier_heat_bucket(lo), b);
		ck_assert_uint_ge(tier_heat_bucket_min(b), tier_heat_bucket_min(b - 1));
	}
	/* neighbouring buckets are at most 25 % apart above 4 */
	for (b = 10; b < TIER_HEAT_BUCKETS - 1; b++)
		ck_assert_uint_le(tier_heat_bucket_min(b + 1) * 4, tier_heat_bucket_min(b) * 5 + 4);
}
END_TEST

START_TEST(test_scan_detection)
{
	struct tier_seq s = { 0, 0 };
	const uint64_t k = 1024, min = 1024 * k;
	uint64_t off;
	int i;

	/* random reads are never a scan */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(tier_stream_note(&s, (uint64_t)((i * 7919) % 1000) * 4 * k * 64, 4 * k, min), 0);
	/* a sequential run is one once it reaches scan_min */
	for (off = 0; off + 128 * k < min; off += 128 * k)
		ck_assert_int_eq(tier_stream_note(&s, (1ull << 30) + off, 128 * k, min), 0);
	ck_assert_int_eq(tier_stream_note(&s, (1ull << 30) + off, 128 * k, min), 1);
	off += 128 * k;
	/* readahead delivering a request a little out of order keeps the run */
	ck_assert_int_eq(tier_stream_note(&s, (1ull << 30) + off + 128 * k, 128 * k, min), 1);
	ck_assert_int_eq(tier_stream_note(&s, (1ull << 30) + off, 128 * k, min), 1);
	/* a jump far away starts over */
	ck_assert_int_eq(tier_stream_note(&s, 5, 128 * k, min), 0);
	/* scan_min 0: detection off */
	ck_assert_int_eq(tier_stream_note(&s, 5 + 128 * k, 1 << 30, 0), 0);
}
END_TEST

START_TEST(test_policy)
{
	struct tier_policy p;
	char err[256], v[32];

	tier_policy_defaults(&p);
	ck_assert_uint_eq(p.high, 90);
	ck_assert_uint_eq(p.low, 80);
	ck_assert_uint_eq(p.migrate, 1);
	ck_assert_uint_eq(p.seq_write_tier, TFS_CLASS_MAX);
	ck_assert_int_eq(tier_policy_set(&p, "halflife_ms=250", err, sizeof(err)), 1);
	ck_assert_uint_eq(p.halflife_ms, 250);
	ck_assert_int_eq(tier_policy_set(&p, "seq_write_tier=block", err, sizeof(err)), 1);
	ck_assert_uint_eq(p.seq_write_tier, TFS_CLASS_BLOCK);
	{
		const struct tier_policy_def *d;

		for (d = tier_policy_table; d->name && strcmp(d->name, "seq_write_tier"); d++)
			;
		ck_assert_ptr_nonnull(d->name);
		tier_policy_fmt(&p, d, v, sizeof(v));
		ck_assert_str_eq(v, "block");
	}
	ck_assert_int_eq(tier_policy_set(&p, "seq_write_tier=none", err, sizeof(err)), 1);
	ck_assert_uint_eq(p.seq_write_tier, TFS_CLASS_MAX);
	ck_assert_int_eq(tier_policy_set(&p, "seq_write_tier=ssd", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tier_policy_set(&p, "nosuch=1", err, sizeof(err)), 0);
	ck_assert_int_eq(tier_policy_set(&p, "migrate=2", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0..1"));
	ck_assert_int_eq(tier_policy_set(&p, "batch=", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tier_policy_set(&p, "batch=-1", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(tier_policy_set(&p, "batch", err, sizeof(err)), -EINVAL);
	/* watermarks stay ordered, checked once all keys are set: either order
	 * of two keys that agree is taken */
	ck_assert_int_eq(tier_policy_check(&p, err, sizeof(err)), 0);
	ck_assert_int_eq(tier_policy_set(&p, "low_watermark=95", err, sizeof(err)), 1);
	ck_assert_int_eq(tier_policy_check(&p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "low_watermark (95) must be below high_watermark (90)"));
	ck_assert_int_eq(tier_policy_set(&p, "high_watermark=97", err, sizeof(err)), 1);
	ck_assert_int_eq(tier_policy_check(&p, err, sizeof(err)), 0);
	ck_assert_int_eq(tier_policy_set(&p, "high_watermark=50", err, sizeof(err)), 1);
	ck_assert_int_eq(tier_policy_set(&p, "low_watermark=40", err, sizeof(err)), 1);
	ck_assert_int_eq(tier_policy_check(&p, err, sizeof(err)), 0);
	ck_assert_int_eq(tier_policy_set(&p, "low_watermark=50", err, sizeof(err)), 1);
	ck_assert_int_eq(tier_policy_check(&p, err, sizeof(err)), -EINVAL);
}
END_TEST

static struct tier_policy pol;
static struct tier_plan_in in;

static void plan_setup(void)
{
	tier_policy_defaults(&pol);
	pol.demote_idle = 0;
	memset(&in, 0, sizeof(in));
}

static void put(unsigned int cls, uint32_t heat, uint64_t n)
{
	in.hist[cls][tier_heat_bucket(heat)] += n;
	in.used[cls] += n;
}

static int count_moves(struct tier_plan *pl, unsigned int cls, uint32_t heat, uint64_t n, int to)
{
	int moved = 0;

	while (n--)
		moved += tier_plan_decide(pl, &in, cls, heat) == to;
	return moved;
}

START_TEST(test_plan_watermark)
{
	struct tier_plan pl;

	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 1000, 50);
	put(TFS_CLASS_PMEM, 10, 45);
	put(TFS_CLASS_BLOCK, 2, 100);
	tier_plan_make(&pol, &in, &pl);
	/* 95 % full: down to 80 %, the coldest first */
	ck_assert_uint_eq(pl.demote[TFS_CLASS_PMEM], 15);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 1000, 50, TFS_CLASS_BLOCK), 0);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 10, 45, TFS_CLASS_BLOCK), 15);
	/* nothing goes up into a tier being emptied */
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, 2, 100, TFS_CLASS_PMEM), 0);
	/* zns in the middle: demotions go to the next tier down */
	in.slots[TFS_CLASS_ZNS] = 200;
	tier_plan_make(&pol, &in, &pl);
	ck_assert_int_eq(tier_plan_decide(&pl, &in, TFS_CLASS_PMEM, 10), TFS_CLASS_ZNS);
	ck_assert_int_eq(tier_class_below(&in, TFS_CLASS_ZNS), TFS_CLASS_BLOCK);
	ck_assert_int_eq(tier_class_below(&in, TFS_CLASS_BLOCK), -1);
}
END_TEST

START_TEST(test_plan_exchange)
{
	struct tier_plan pl;

	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 16, 90); /* at the high watermark, lukewarm */
	put(TFS_CLASS_BLOCK, 4000, 20); /* hot data below */
	put(TFS_CLASS_BLOCK, 1, 500);
	tier_plan_make(&pol, &in, &pl);
	ck_assert_uint_gt(pl.thr[TFS_CLASS_PMEM], 16);
	ck_assert_uint_le(pl.thr[TFS_CLASS_PMEM], 4000);
	/* the 20 hot chunks go up, 20 of the coldest residents make room */
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, 4000, 25, TFS_CLASS_PMEM), 20);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 16, 90, TFS_CLASS_BLOCK), 20);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, 1, 500, TFS_CLASS_PMEM), 0);
}
END_TEST

START_TEST(test_plan_hysteresis)
{
	struct tier_plan pl;

	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 100, 90);
	put(TFS_CLASS_BLOCK, 120, 5); /* hotter, but not by the margin */
	tier_plan_make(&pol, &in, &pl);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, 120, 5, TFS_CLASS_PMEM), 0);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 100, 90, TFS_CLASS_BLOCK), 0);
	/* by more than the margin, they go (and as many residents leave) */
	memset(&in, 0, sizeof(in));
	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 100, 90);
	put(TFS_CLASS_BLOCK, 400, 5);
	tier_plan_make(&pol, &in, &pl);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, 400, 5, TFS_CLASS_PMEM), 5);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 100, 90, TFS_CLASS_BLOCK), 5);
	/* with room up there, anything past promote_min goes up */
	memset(&in, 0, sizeof(in));
	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 100, 10);
	put(TFS_CLASS_BLOCK, pol.promote_min, 5);
	put(TFS_CLASS_BLOCK, pol.promote_min - 1, 5);
	tier_plan_make(&pol, &in, &pl);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, pol.promote_min, 5, TFS_CLASS_PMEM), 5);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_BLOCK, pol.promote_min - 1, 5, TFS_CLASS_PMEM), 0);
}
END_TEST

START_TEST(test_plan_idle)
{
	struct tier_plan pl;

	in.slots[TFS_CLASS_PMEM] = 100;
	in.slots[TFS_CLASS_ZNS] = 100;
	in.slots[TFS_CLASS_BLOCK] = 1000;
	put(TFS_CLASS_PMEM, 0, 10);
	put(TFS_CLASS_PMEM, 50, 10);
	put(TFS_CLASS_ZNS, 0, 7);
	tier_plan_make(&pol, &in, &pl);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 0, 10, TFS_CLASS_ZNS), 0);
	pol.demote_idle = 1;
	tier_plan_make(&pol, &in, &pl);
	/* idle chunks sink a tier at a time; warm ones stay */
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 0, 10, TFS_CLASS_ZNS), 10);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_PMEM, 50, 10, TFS_CLASS_ZNS), 0);
	ck_assert_int_eq(count_moves(&pl, TFS_CLASS_ZNS, 0, 7, TFS_CLASS_BLOCK), 7);
	/* the slowest tier keeps its idle chunks */
	ck_assert_int_eq(tier_plan_decide(&pl, &in, TFS_CLASS_BLOCK, 0), -1);
}
END_TEST

/* ---- an engine pass over a fake pool: chunks in an array ---- */
#define NCH 40
static struct tier_alloc fa;
static struct tfs_chunk *fch[NCH];
static pthread_mutex_t flock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int fpin[NCH];

static int fwalk(void *ctx, uint64_t *cursor, unsigned int budget, tier_walk_fn fn, void *arg)
{
	(void)ctx;
	for (; *cursor < NCH && budget--; (*cursor)++)
		fn(arg, fch[*cursor], fpin[*cursor]);
	return *cursor >= NCH;
}

static int fmove(void *ctx, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		 unsigned int cls)
{
	struct tfs_chunk *c = fch[idx];
	uint16_t nd;
	uint64_t ns;
	int d;

	(void)ctx;
	(void)ino;
	if (c->c_dev != dev || c->c_slot != slot)
		return -ESTALE;
	d = tier_dest(&fa, cls, 0, idx, 0);
	if (d < 0 || tier_alloc_take(&fa, (unsigned int)d, &nd, &ns) < 0)
		return -ENOSPC;
	tier_alloc_release(&fa, c->c_dev, c->c_slot);
	c->c_dev = nd;
	c->c_slot = ns;
	return (int)cls;
}

static void fake_pool_free(void)
{
	unsigned int i;

	for (i = 0; i < NCH; i++)
		tier_chunk_free(&hch, fch[i]);
	tier_chunks_destroy(&hch);
	tier_alloc_destroy(&fa);
}

static int fcommit(void *ctx)
{
	(void)ctx;
	return 0;
}

static uint64_t ffg(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct tier_engine_ops fops = {
	.walk = fwalk, .move = fmove, .commit = fcommit, .fg_requests = ffg,
};

START_TEST(test_engine_pass)
{
	uint64_t nslots[2] = { 20, 100 };
	unsigned int cls[2] = { TFS_CLASS_PMEM, TFS_CLASS_BLOCK }, i, inpmem = 0;
	struct tier_engine e;
	uint16_t dev;

	ck_assert_int_eq(tier_alloc_init(&fa, 2, nslots, cls), 0);
	tier_chunks_init(&hch, 64);
	for (i = 0; i < NCH; i++) {
		fch[i] = tier_chunk_new(&hch, 1, i);
		fpin[i] = TFS_CLASS_MAX;
		/* the first 18 in pmem (90 %), lukewarm; the rest in block */
		ck_assert_int_eq(tier_alloc_take(&fa, i < 18 ? 0 : 1, &dev, &fch[i]->c_slot), 0);
		fch[i]->c_dev = dev;
		tier_heat_add(fch[i], 0, i < 18 ? 20 : 2);
	}
	/* chunks 30..39 are hot; chunk 20 is pinned to pmem */
	for (i = 30; i < NCH; i++)
		tier_heat_add(fch[i], 0, 5000);
	fpin[20] = TFS_CLASS_PMEM;
	tier_engine_init(&e, &fops, NULL, &flock, &fa, 262144);
	e.pol.demote_idle = 0;
	e.pol.batch = 8;
	/* batches of 8: the first pass leaves a backlog */
	ck_assert_int_eq(tier_engine_pass(&e, 1), 8);
	ck_assert_uint_gt(e.backlog, 0);
	while (tier_engine_pass(&e, 1) > 0)
		;
	ck_assert_uint_eq(e.backlog, 0);
	for (i = 30; i < NCH; i++)
		ck_assert_uint_eq(fch[i]->c_dev, 0); /* the hot ones are in pmem */
	ck_assert_uint_eq(fch[20]->c_dev, 0);	     /* so is the pinned one */
	for (i = 0; i < NCH; i++)
		inpmem += fch[i]->c_dev == 0;
	ck_assert_uint_le(inpmem, 18); /* not above the high watermark */
	/* the 10 hot chunks and the pinned one; lukewarm ones (heat 6) are
	 * below the threshold plus margin and stay */
	ck_assert_uint_eq(e.promoted[TFS_CLASS_PMEM], 11);
	ck_assert_uint_ge(e.demoted[TFS_CLASS_BLOCK], 10);
	/* settled: a pass with nothing to do moves nothing (no ping-pong) */
	ck_assert_int_eq(tier_engine_pass(&e, 1), 0);
	/* with migration off, an unforced pass only looks */
	e.pol.migrate = 0;
	fpin[20] = TFS_CLASS_BLOCK;
	ck_assert_int_eq(tier_engine_pass(&e, 0), 0);
	ck_assert_uint_eq(e.backlog, 1);
	ck_assert_uint_eq(e.pinned_misplaced, 1);
	ck_assert_int_eq(tier_engine_pass(&e, 1), 1);
	ck_assert_uint_eq(fch[20]->c_dev, 1);
	tier_engine_destroy(&e);
	fake_pool_free();
}
END_TEST

/* a device being emptied: its chunks move, migration on or off, to
 * another device of their tier while it has room, then to the nearest tier */
START_TEST(test_engine_evacuates)
{
	uint64_t nslots[3] = { 30, 30, 12 };
	unsigned int cls[3] = { TFS_CLASS_PMEM, TFS_CLASS_BLOCK, TFS_CLASS_BLOCK }, i;
	struct tier_engine e;
	uint16_t dev;

	ck_assert_int_eq(tier_alloc_init(&fa, 3, nslots, cls), 0);
	tier_chunks_init(&hch, 64);
	for (i = 0; i < NCH; i++) {
		fch[i] = tier_chunk_new(&hch, 1, i);
		fpin[i] = TFS_CLASS_MAX;
		/* 10 in pmem, 30 on block device 1 (full) */
		ck_assert_int_eq(tier_alloc_take(&fa, i < 10 ? 0 : 1, &dev, &fch[i]->c_slot), 0);
		fch[i]->c_dev = dev;
		tier_heat_add(fch[i], 0, 4);
	}
	tier_engine_init(&e, &fops, NULL, &flock, &fa, 262144);
	e.pol.migrate = 0;
	e.pol.batch = 64;
	ck_assert_int_eq(tier_engine_evacuating(&e), 0);
	tier_alloc_set_out(&fa, 1);
	ck_assert_int_eq(tier_engine_evacuating(&e), 1);
	ck_assert_int_eq(tier_engine_pass(&e, 0), 30);
	ck_assert_uint_eq(e.evac_left, 30);
	ck_assert_uint_eq(e.evac_stuck, 0);
	ck_assert_uint_eq(e.evac_moved, 30);
	ck_assert_uint_eq(tier_alloc_dev_used(&fa, 1), 0);
	ck_assert_uint_eq(tier_alloc_dev_used(&fa, 2), 12); /* its own tier first */
	ck_assert_uint_eq(tier_alloc_dev_used(&fa, 0), 28); /* then the next one */
	ck_assert_int_eq(tier_engine_pass(&e, 0), 0);
	ck_assert_uint_eq(e.evac_left, 0);
	/* empty, but in the pool until ops->evacuated drops it (no slots) */
	ck_assert_int_eq(tier_engine_evacuating(&e), 1);
	fa.a_dev[1].a_nslots = fa.a_dev[1].a_nfree = 0;
	ck_assert_int_eq(tier_engine_evacuating(&e), 0);
	tier_engine_destroy(&e);
	fake_pool_free();
}
END_TEST

/* zone cleaning on the engine's thread: between the moves of a batch when
 * it is due, and at every turn of the thread */
static int fclean_calls, fclean_due_flag;

static int fclean(void *ctx)
{
	(void)ctx;
	__atomic_fetch_add(&fclean_calls, 1, __ATOMIC_RELAXED);
	return 0;
}

static int fclean_due(void *ctx)
{
	(void)ctx;
	return fclean_due_flag;
}

static const struct tier_engine_ops fops_zoned = {
	.walk = fwalk, .move = fmove, .commit = fcommit, .fg_requests = ffg,
	.clean = fclean, .clean_due = fclean_due,
};

START_TEST(test_engine_cleans)
{
	uint64_t nslots[2] = { 20, 100 };
	unsigned int cls[2] = { TFS_CLASS_PMEM, TFS_CLASS_BLOCK }, i;
	struct tier_engine e;
	uint16_t dev;
	int n, waited;

	ck_assert_int_eq(tier_alloc_init(&fa, 2, nslots, cls), 0);
	tier_chunks_init(&hch, 64);
	for (i = 0; i < NCH; i++) {
		fch[i] = tier_chunk_new(&hch, 1, i);
		fpin[i] = TFS_CLASS_MAX;
		ck_assert_int_eq(tier_alloc_take(&fa, 1, &dev, &fch[i]->c_slot), 0);
		fch[i]->c_dev = dev;
		tier_heat_add(fch[i], 0, i < 4 ? 5000 : 2);
	}
	tier_engine_init(&e, &fops_zoned, NULL, &flock, &fa, 262144);
	e.pol.migrate_mbps = 100000; /* pacing next to nothing */
	/* not due: a batch moves without cleaning */
	fclean_calls = 0;
	fclean_due_flag = 0;
	n = tier_engine_pass(&e, 0);
	ck_assert_int_eq(n, 4); /* the hot ones go up */
	ck_assert_int_eq(fclean_calls, 0);
	/* due: cleaning runs after every move of the batch */
	for (i = 0; i < 4; i++)
		tier_heat_add(fch[4 + i], 0, 50000);
	fclean_due_flag = 1;
	n = tier_engine_pass(&e, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(fclean_calls, n);
	/* the thread cleans when kicked (and on its own) */
	fclean_calls = 0;
	fclean_due_flag = 0;
	ck_assert_int_eq(tier_engine_start(&e), 0);
	pthread_mutex_lock(&flock);
	tier_engine_kick_clean(&e);
	pthread_mutex_unlock(&flock);
	for (waited = 0; waited < 1000 && !__atomic_load_n(&fclean_calls, __ATOMIC_RELAXED); waited++)
		usleep(10000);
	tier_engine_stop(&e);
	ck_assert_int_gt(fclean_calls, 0);
	tier_engine_destroy(&e);
	fake_pool_free();
}
END_TEST

Suite *heat_suite(void)
{
	Suite *s = suite_create("heat");
	TCase *tc = tcase_create("heat");
	TCase *tp = tcase_create("plan");

	tcase_add_test(tc, test_decay);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_scan_detection);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_engine_pass);
	tcase_add_test(tc, test_engine_evacuates);
	tcase_add_test(tc, test_engine_cleans);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tp, plan_setup, NULL);
	tcase_add_test(tp, test_plan_watermark);
	tcase_add_test(tp, test_plan_exchange);
	tcase_add_test(tp, test_plan_hysteresis);
	tcase_add_test(tp, test_plan_idle);
	suite_add_tcase(s, tp);
	return s;
}

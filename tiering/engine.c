/*
 * tiering/engine.c - the migration engine: a background thread that keeps
 * the tiers between their watermarks and the hottest chunks in the fastest
 * tier.
 *
 * A pass: (1) walk every chunk (in slices, dropping the pool lock between
 * them), settle its heat to the current epoch and count it in the
 * histogram of its class; (2) make the plan (heat.c); (3) walk again and
 * pick up to policy.batch moves, counting every move the plan wants as
 * backlog; (4) move them one by one through ops->move, pacing between moves;
 * (5) commit, which makes the new locations durable and frees the old
 * copies.  The heat clock (the epoch) advances in the same thread.
 *
 * Pacing: with migrate_mbps set, moves are spaced to that rate; otherwise
 * each move is followed by a pause that keeps moves to migrate_duty percent
 * of the time, so the budget follows the copy speed actually measured on
 * these devices.  While foreground requests exceed busy_iops, the pauses
 * grow fourfold.  A forced pass (tierfsctl migrate) does not pace.
 *
 * Zone cleaning runs on the same thread (ops->clean), before each pass and
 * between the moves of a batch whenever it cannot wait (ops->clean_due),
 * and its moves go through the same pacer (tier_engine_pace): one thread,
 * one budget for everything that moves.  Cleaning at a device's reserve is
 * not paced.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tier.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tier_engine_init(struct tier_engine *e, const struct tier_engine_ops *ops, void *ctx,
		      pthread_mutex_t *lock, struct tier_alloc *alloc, uint32_t chunk_size)
{
	memset(e, 0, sizeof(*e));
	tier_policy_defaults(&e->pol);
	e->ops = ops;
	e->ctx = ctx;
	e->lock = lock;
	e->alloc = alloc;
	e->chunk_size = chunk_size;
	pthread_cond_init(&e->kick, NULL);
}

void tier_engine_destroy(struct tier_engine *e)
{
	if (!e->ops)
		return;
	pthread_cond_destroy(&e->kick);
	free(e->moves);
	e->moves = NULL;
	e->ops = NULL;
}

struct walk {
	struct tier_engine *e;
	struct tier_plan_in in;
	struct tier_plan pl;
	uint32_t epoch;
	uint64_t backlog, misplaced, evac, stuck;
	uint64_t room[TFS_CLASS_MAX];	/* free slots per tier, for evacuations */
	uint32_t rados_idle;	/* epochs of idleness before a chunk sinks into rados */
	int rados_paused;	/* moves to and from rados wait (a recent failure) */
	unsigned int limit;
	int plan_moves;	/* the plan's moves are wanted (not only evacuations) */
	/* the hottest files: the one being walked (its chunks come one after
	 * another) and the best so far */
	struct tier_hot cur, hot[TIER_HOT_N];
	unsigned int nhot;
};

/* the file just walked joins the hottest if it is hot enough */
static void hot_flush(struct walk *w)
{
	unsigned int i;

	if (!w->cur.heat)
		goto out;
	if (w->nhot == TIER_HOT_N && w->hot[TIER_HOT_N - 1].heat >= w->cur.heat)
		goto out;
	i = w->nhot < TIER_HOT_N ? w->nhot++ : TIER_HOT_N - 1;
	for (; i > 0 && w->hot[i - 1].heat < w->cur.heat; i--)
		w->hot[i] = w->hot[i - 1];
	w->hot[i] = w->cur;
out:
	w->cur = (struct tier_hot){ 0, 0, 0 };
}

static unsigned int chunk_class(const struct tier_engine *e, const struct tfs_chunk *c)
{
	return e->alloc->a_dev[c->c_dev].a_class;
}

static void walk_hist(void *arg, struct tfs_chunk *c, unsigned int pin)
{
	struct walk *w = arg;
	unsigned int cls = chunk_class(w->e, c);
	uint32_t h = tier_heat_settle(c, w->epoch);

	if (c->c_ino != w->cur.ino) {
		hot_flush(w);
		w->cur.ino = c->c_ino;
	}
	w->cur.heat = w->cur.heat + h < w->cur.heat ? UINT32_MAX : w->cur.heat + h;
	w->cur.chunks++;
	if (cls >= TFS_CLASS_MAX || w->e->alloc->a_dev[c->c_dev].a_out)
		return; /* chunks leaving a device are not in its tier's plan */
	if (pin < TFS_CLASS_MAX) {
		/* pinned chunks stay out of the plan; they only go to their tier */
		w->misplaced += cls != pin && w->in.slots[pin];
		return;
	}
	w->in.hist[cls][tier_heat_bucket(h)]++;
}

static void add_move(struct walk *w, const struct tfs_chunk *c, unsigned int from, unsigned int to)
{
	struct tier_engine *e = w->e;

	w->backlog++;
	if (e->nmoves >= w->limit)
		return;
	if (e->nmoves == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		struct tier_move *m = realloc(e->moves, cap * sizeof(*m));

		if (!m)
			return;
		e->moves = m;
		e->cap = cap;
	}
	e->moves[e->nmoves++] = (struct tier_move){ .ino = c->c_ino, .idx = c->c_idx,
						    .slot = c->c_slot, .dev = c->c_dev,
						    .from = (uint8_t)from, .to = (uint8_t)to };
}

/* where a chunk on a device being emptied goes: its pin's tier, its own
 * tier on another device, else the nearest tier with room (slower first);
 * the room is what the tiers had at the start of the walk less what the
 * walk gave away already */
static int evac_dest(struct walk *w, unsigned int cls, unsigned int pin)
{
	unsigned int k, c = TFS_CLASS_MAX;

	if (pin < TFS_CLASS_MAX && w->room[pin])
		c = pin;
	/* the local tiers first: rados only when none has room */
	for (k = 0; c == TFS_CLASS_MAX && k < TFS_CLASS_MAX; k++) {
		if (cls + k < TFS_CLASS_RADOS && w->room[cls + k])
			c = cls + k;
		else if (k && k <= cls && w->room[cls - k])
			c = cls - k;
	}
	if (c == TFS_CLASS_MAX && cls != TFS_CLASS_RADOS && w->room[TFS_CLASS_RADOS])
		c = TFS_CLASS_RADOS;
	if (c == TFS_CLASS_MAX)
		return -1;
	w->room[c]--;
	return (int)c;
}

static void walk_pick(void *arg, struct tfs_chunk *c, unsigned int pin)
{
	struct walk *w = arg;
	unsigned int cls = chunk_class(w->e, c);
	int to;

	if (cls >= TFS_CLASS_MAX)
		return;
	if (w->e->alloc->a_dev[c->c_dev].a_out) {
		/* evacuation comes before any plan, and whether or not
		 * migration is on */
		w->evac++;
		to = evac_dest(w, cls, pin);
		if (to < 0)
			w->stuck++;
		else
			add_move(w, c, cls, (unsigned int)to);
		return;
	}
	if (pin < TFS_CLASS_MAX)
		to = cls != pin && w->in.slots[pin] ? (int)pin : -1;
	else
		to = tier_plan_decide(&w->pl, &w->in, cls, tier_heat_get(c, w->epoch));
	/* idle long enough: into rados (tier_plan_make leaves these out of
	 * the idle demotions of the tier above rados) */
	if (to < 0 && pin >= TFS_CLASS_MAX && w->e->pol.demote_idle &&
	    tier_class_below(&w->in, cls) == TFS_CLASS_RADOS &&
	    tier_heat_get(c, w->epoch) == 0 && tier_heat_idle(c, w->epoch) >= w->rados_idle)
		to = TFS_CLASS_RADOS;
	if (to < 0)
		return;
	/* the cluster failed a move lately: moves to and from it wait */
	if ((to == TFS_CLASS_RADOS || cls == TFS_CLASS_RADOS) && w->rados_paused) {
		w->backlog++;
		return;
	}
	if (w->plan_moves)
		add_move(w, c, cls, (unsigned int)to);
	else
		w->backlog++; /* migration is off: only counted */
}

/* walk every chunk with @fn, a slice at a time under the pool lock */
static void walk_all(struct tier_engine *e, tier_walk_fn fn, struct walk *w)
{
	uint64_t cursor = 0;
	int done = 0;

	while (!done) {
		pthread_mutex_lock(e->lock);
		done = e->ops->walk(e->ctx, &cursor, 4096, fn, w);
		pthread_mutex_unlock(e->lock);
	}
}

/* sleep up to @us, or until stopped */
static void nap(struct tier_engine *e, uint64_t us)
{
	struct timespec ts;

	if (us == 0)
		return;
	if (us > 1000000)
		us = 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(us % 1000000) * 1000;
	ts.tv_sec += (time_t)(us / 1000000) + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_mutex_lock(e->lock);
	if (!e->stop)
		pthread_cond_timedwait(&e->kick, e->lock, &ts);
	pthread_mutex_unlock(e->lock);
}

/* the pause after a move that took @took_us */
static uint64_t pause_us(struct tier_engine *e, uint64_t took_us)
{
	const struct tier_policy *p = &e->pol;
	struct tier_pacer *pc = &e->pc;
	uint64_t now = now_us(), fg = e->ops->fg_requests(e->ctx), want;

	if (now - pc->t >= 100000) {
		pc->busy = p->busy_iops && (fg - pc->fg) * 1000000 > (uint64_t)p->busy_iops * (now - pc->t);
		pc->fg = fg;
		pc->t = now;
	}
	if (p->migrate_mbps)
		want = (uint64_t)e->chunk_size / p->migrate_mbps; /* bytes / (MB/s) = us */
	else
		want = took_us * 100 / (p->migrate_duty ? p->migrate_duty : 1);
	if (pc->busy)
		want *= 4;
	return want > took_us ? want - took_us : 0;
}

void tier_engine_pace(struct tier_engine *e, uint64_t took_us, int urgent)
{
	if (!urgent && !__atomic_load_n(&e->stop, __ATOMIC_RELAXED))
		nap(e, pause_us(e, took_us));
}

void tier_engine_kick_clean(struct tier_engine *e)
{
	e->clean_kicked = 1;
	pthread_cond_signal(&e->kick);
}

/* cleaning that cannot wait: done between migration moves */
static void clean_if_due(struct tier_engine *e)
{
	int due;

	if (!e->ops->clean)
		return;
	pthread_mutex_lock(e->lock);
	due = e->ops->clean_due(e->ctx);
	pthread_mutex_unlock(e->lock);
	if (due)
		e->ops->clean(e->ctx);
}

int tier_engine_pass(struct tier_engine *e, int force)
{
	struct walk *w = calloc(1, sizeof(*w));
	unsigned int c;
	size_t i, nb;
	int moved = 0, rados_failed = 0, ret;

	if (!w)
		return -ENOMEM;
	w->e = e;
	w->epoch = tier_engine_epoch(e);
	/* (the idle clock counts 16-bit epochs: at most TIER_IDLE_MAX of them) */
	w->rados_idle = (uint32_t)((uint64_t)e->pol.rados_after * 3600000u /
				   (e->pol.halflife_ms ? e->pol.halflife_ms : 1));
	if (w->rados_idle > TIER_IDLE_MAX)
		w->rados_idle = TIER_IDLE_MAX;
	/* (a pass the administrator asks for tries the cluster anyway) */
	w->rados_paused = !force && now_us() / 1000 < e->rados_pause_ms;
	pthread_mutex_lock(e->lock);
	for (c = 0; c < TFS_CLASS_MAX; c++)
		tier_class_usage(e->alloc, c, &w->in.slots[c], &w->in.used[c]);
	pthread_mutex_unlock(e->lock);
	walk_all(e, walk_hist, w);
	hot_flush(w);
	tier_plan_make(&e->pol, &w->in, &w->pl);
	pthread_mutex_lock(e->lock);
	memcpy(e->hot, w->hot, sizeof(e->hot));
	e->nhot = w->nhot;
	e->pin = w->in;
	e->plan = w->pl;
	e->pinned_misplaced = w->misplaced;
	pthread_mutex_unlock(e->lock);

	w->plan_moves = e->pol.migrate || force;
	w->limit = e->pol.batch;
	pthread_mutex_lock(e->lock);
	for (c = 0; c < TFS_CLASS_MAX; c++) {
		uint64_t slots, used;

		tier_class_usage(e->alloc, c, &slots, &used);
		w->room[c] = slots > used ? slots - used : 0;
	}
	pthread_mutex_unlock(e->lock);
	e->nmoves = 0;
	walk_all(e, walk_pick, w);
	pthread_mutex_lock(e->lock);
	e->backlog = w->backlog;
	e->evac_left = w->evac;
	e->evac_stuck = w->stuck;
	pthread_mutex_unlock(e->lock);

	for (i = 0; i < e->nmoves && !__atomic_load_n(&e->stop, __ATOMIC_RELAXED); i += nb) {
		const struct tier_move *m = &e->moves[i];
		uint64_t t0 = now_us();
		int res[TIER_SINK_MAX];
		unsigned int k;

		nb = 1;
		/* after a failure the other moves to or from the cluster would
		 * fail alike, each after the whole timeout */
		if ((m->to == TFS_CLASS_RADOS || m->from == TFS_CLASS_RADOS) &&
		    t0 / 1000 < e->rados_pause_ms && (!force || rados_failed))
			continue;
		/* moves into rados go out together, their objects all in flight
		 * (not evacuations: those may go further when rados is full) */
		if (m->to == TFS_CLASS_RADOS && e->ops->sink && !e->alloc->a_dev[m->dev].a_out) {
			while (nb < TIER_SINK_MAX && i + nb < e->nmoves &&
			       e->moves[i + nb].to == TFS_CLASS_RADOS &&
			       !e->alloc->a_dev[e->moves[i + nb].dev].a_out)
				nb++;
			e->ops->sink(e->ctx, m, nb, res);
		} else {
			res[0] = e->ops->move(e->ctx, m->ino, m->idx, m->dev, m->slot, m->to);
		}
		for (k = 0; k < nb; k++) {
			m = &e->moves[i + k];
			ret = res[k];
			if (ret >= 0) {
				tier_engine_count(e, m->from, (unsigned int)ret, e->chunk_size);
				moved++;
				if (e->alloc->a_dev[m->dev].a_out)
					__atomic_fetch_add(&e->evac_moved, 1, __ATOMIC_RELAXED);
			} else if (ret == -EAGAIN) {
				__atomic_fetch_add(&e->redone, 1, __ATOMIC_RELAXED);
			} else if (ret != -ESTALE && ret != -ENOSPC) {
				__atomic_fetch_add(&e->failed, 1, __ATOMIC_RELAXED);
				/* the cluster did not answer: no more moves to or
				 * from it for a while */
				if (m->to == TFS_CLASS_RADOS || m->from == TFS_CLASS_RADOS) {
					e->rados_pause_ms = now_us() / 1000 + TIER_RADOS_PAUSE_MS;
					if (!rados_failed)
						__atomic_fetch_add(&e->rados_pauses, 1, __ATOMIC_RELAXED);
					rados_failed = 1;
				}
			}
		}
		pthread_mutex_lock(e->lock);
		e->backlog = e->backlog > nb ? e->backlog - nb : 0;
		if (force)
			for (k = 0; k < nb; k++)
				e->force_moved += res[k] >= 0;
		pthread_mutex_unlock(e->lock);
		if (!force)
			tier_engine_pace(e, now_us() - t0, 0);
		clean_if_due(e);
	}
	if (moved)
		e->ops->commit(e->ctx);
	__atomic_fetch_add(&e->passes, 1, __ATOMIC_RELAXED);
	free(w);
	return moved;
}

void tier_engine_count(struct tier_engine *e, unsigned int from, unsigned int to,
		       uint64_t bytes)
{
	if (from >= TFS_CLASS_MAX || to >= TFS_CLASS_MAX || from == to)
		return;
	if (to < from)
		__atomic_fetch_add(&e->promoted[to], 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&e->demoted[to], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->moved_bytes, bytes, __ATOMIC_RELAXED);
}

unsigned int tier_engine_zone_dest(struct tier_engine *e, unsigned int cls, uint32_t heat,
				   unsigned int pin)
{
	unsigned int c;
	int below;

	/* (never into rados from here: the cleaner copies synchronously, and
	 * sinking waits for rados_after and for a cluster that answers) */
	if (pin < TFS_CLASS_MAX)
		return pin != TFS_CLASS_RADOS && e->pin.slots[pin] &&
				       tier_dest(e->alloc, pin, 0, 0, 0) >= 0
			       ? pin
			       : cls;
	for (c = 0; c < cls; c++)
		if (e->pin.slots[c] && heat >= e->plan.promote_at[c] &&
		    tier_dest(e->alloc, c, 0, 0, 1) >= 0)
			return c;
	below = tier_class_below(&e->pin, cls);
	if (heat == 0 && e->pol.demote_idle && below >= 0 && below != TFS_CLASS_RADOS &&
	    tier_dest(e->alloc, (unsigned int)below, 0, 0, 1) >= 0)
		return (unsigned int)below;
	return cls;
}

int tier_engine_evacuating(const struct tier_engine *e)
{
	unsigned int d, n = __atomic_load_n(&e->alloc->a_ndev, __ATOMIC_ACQUIRE);

	/* out, and not gone yet (a device that left the pool has no slots) */
	for (d = 0; d < n; d++)
		if (e->alloc->a_dev[d].a_out && e->alloc->a_dev[d].a_nslots)
			return 1;
	return 0;
}

void tier_engine_set_policy(struct tier_engine *e, const struct tier_policy *p)
{
	uint64_t next = now_us() / 1000 + p->halflife_ms;

	/* a shorter half-life takes effect now, not at the end of the
	 * epoch the old one began */
	if (p->halflife_ms != e->pol.halflife_ms && next < e->epoch_next_ms)
		e->epoch_next_ms = next;
	e->pol = *p;
	tier_engine_kick(e, 0);
}

uint64_t tier_engine_kick(struct tier_engine *e, int force)
{
	uint64_t ticket = e->force_req;

	if (force) {
		ticket = ++e->force_req;
		e->force_moved = 0;
		e->force_planned = e->backlog;
	}
	e->pass_kicked = 1;
	pthread_cond_signal(&e->kick);
	return ticket;
}

static void *engine_main(void *arg)
{
	struct tier_engine *e = arg;
	struct timespec ts;

	pthread_mutex_lock(e->lock);
	while (!e->stop) {
		uint64_t now = now_us() / 1000, ticket = e->force_req, wake;
		int force = ticket > e->force_done, pass, n = 0, c = 0;

		if (now >= e->epoch_next_ms) {
			uint32_t hl = e->pol.halflife_ms ? e->pol.halflife_ms : 1;
			uint64_t steps = (now - e->epoch_next_ms) / hl + 1;

			__atomic_fetch_add(&e->epoch, (uint32_t)steps, __ATOMIC_RELAXED);
			e->epoch_next_ms = now + hl;
		}
		/* a migration pass about once a second, or when asked */
		pass = force || e->pass_kicked || now >= e->pass_next_ms;
		if (pass)
			e->pass_kicked = 0;
		e->clean_kicked = 0;
		pthread_mutex_unlock(e->lock);
		/* zone cleaning first: writers may be waiting for it */
		if (e->ops->clean)
			c = e->ops->clean(e->ctx);
		if (pass && !__atomic_load_n(&e->stop, __ATOMIC_RELAXED)) {
			do {
				n = tier_engine_pass(e, force);
				/* a forced pass goes on until the plan is done or stuck */
			} while (force && n > 0 && e->backlog && !__atomic_load_n(&e->stop, __ATOMIC_RELAXED));
			if (n == 0 && e->ops->evacuated && tier_engine_evacuating(e) &&
			    !__atomic_load_n(&e->evac_left, __ATOMIC_RELAXED) &&
			    !__atomic_load_n(&e->stop, __ATOMIC_RELAXED))
				e->ops->evacuated(e->ctx);
		}
		pthread_mutex_lock(e->lock);
		if (pass)
			e->pass_next_ms = now_us() / 1000 + 1000;
		if (force) {
			e->force_done = ticket;
			pthread_cond_broadcast(&e->kick);
		}
		if (e->stop || e->force_req > e->force_done)
			continue;
		if (c > 0 || e->clean_kicked)
			continue; /* more cleaning may be due */
		if (n > 0 && e->backlog && (e->pol.migrate || e->evac_left)) {
			e->pass_kicked = 1; /* more to do: the pacing spaced it already */
			continue;
		}
		now = now_us() / 1000;
		wake = e->epoch_next_ms < e->pass_next_ms ? e->epoch_next_ms : e->pass_next_ms;
		/* zoned pools look at their zones five times a second; after a
		 * cleaning error, once a second */
		if (e->ops->clean && wake > now + (c < 0 ? 1000 : 200))
			wake = now + (c < 0 ? 1000 : 200);
		if (wake > now) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)((wake - now) % 1000) * 1000000;
			ts.tv_sec += (time_t)((wake - now) / 1000) + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&e->kick, e->lock, &ts);
		}
	}
	pthread_mutex_unlock(e->lock);
	tfs_io_thread_exit();
	return NULL;
}

int tier_engine_start(struct tier_engine *e)
{
	if (e->running)
		return 0;
	e->stop = 0;
	e->epoch_next_ms = now_us() / 1000 + e->pol.halflife_ms;
	e->pc.fg = e->ops->fg_requests(e->ctx);
	e->pc.t = now_us();
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0)
		return -EAGAIN;
	e->running = 1;
	return 0;
}

void tier_engine_stop(struct tier_engine *e)
{
	if (!e->running)
		return;
	pthread_mutex_lock(e->lock);
	e->stop = 1;
	pthread_cond_broadcast(&e->kick);
	pthread_mutex_unlock(e->lock);
	pthread_join(e->thread, NULL);
	e->running = 0;
}

/*
 * tiering/tier.h - the one header src/ includes from tiering/.
 *
 * What lives where.  A file's data is cut into chunks of the pool's chunk
 * size (a power of two, 64 KiB..4 MiB, fixed at mkfs).  A chunk lives wholly
 * in one slot of one device: the data area of every device is an array of
 * chunk-sized slots.  Inside a chunk, data is tracked per TFS_BLOCK_SIZE block:
 * a bit in c_mask says the block holds data (clear = hole, reads as zeros);
 * the block's checksum (low 32 bits of XXH3-64, seeded with the block's
 * identity, see tier_block_csum()) is kept by the metadata layer.  A random
 * 4 KiB read verifies exactly what it read.
 *
 * Memory: a chunk costs 40 bytes (256 KiB chunks; 8 more per 64 blocks
 * beyond) plus about 8.4 bytes of map, and 8 bytes of reverse map when it
 * lives in a zone.  Of these, 8 are the heat engine's: heat (2), its epoch
 * (2) and the write generation (4).  Block checksums are on media.
 *
 * Locking is the caller's (see src/fs.c): the map of an inode changes only
 * with the inode's data lock held exclusively and the pool lock held.
 */
#ifndef TFS_TIER_H
#define TFS_TIER_H

#include <pthread.h>
#include <stdint.h>
#include <stddef.h>

#include "io.h"

#define TFS_MAX_DEVS 16

/* intrusive doubly-linked list (commit lists) */
struct tfs_list {
	struct tfs_list *prev, *next;
};
static inline void tfs_list_init(struct tfs_list *l)
{
	l->prev = l->next = l;
}
static inline int tfs_list_empty(const struct tfs_list *l)
{
	return l->next == l;
}
static inline void tfs_list_add_tail(struct tfs_list *head, struct tfs_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}
static inline void tfs_list_del(struct tfs_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}
#define tfs_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* chunk flags (c_flags; pool lock) */
#define TIER_CHUNK_JDIRTY (1u << 0) /* its state goes into the next commit */
#define TIER_CHUNK_INTENT (1u << 1) /* durable: blocks may be overwritten in place */
#define TIER_CHUNK_INTENT_LIVE (1u << 2) /* in the pool's table of live intents */
#define TIER_CHUNK_SHADOW (1u << 3) /* an identical copy stays in a zone (zns.c) */

/*
 * A chunk in memory: 32 bytes plus its hole mask (a bit per block, at least
 * one word): 40 bytes for chunks of up to 256 KiB.  Block checksums are not
 * here: they live on media (the metadata layer's checksum tables).  Chunks
 * come from a slab allocator (struct tier_chunks), so they cost no malloc
 * header and their address is stable (the zone reverse map points at them).
 */
struct tfs_chunk {
	uint64_t c_ino;	       /* owner inode */
	uint32_t c_idx;	       /* index in the file (file offset / chunk size) */
	uint32_t c_wgen;       /* write generation: changes with every change of the
				* chunk (pool lock); a move detects writes by it */
	uint64_t c_slot;       /* slot on the device */
	uint16_t c_dev;	       /* device index in the pool */
	uint16_t c_flags;      /* TIER_CHUNK_* ; protected by the pool lock */
	uint16_t c_heat;       /* decayed access count (heat.c); relaxed atomics */
	uint16_t c_hepoch;     /* heat epoch c_heat was last decayed to */
	uint64_t c_mask[];     /* blocks holding data */
};

/*
 * The allocator of chunk objects of one pool: 64 KiB slabs of equal
 * objects, a slab freed when its last object is.  Not thread-safe: the
 * pool lock covers it.
 */
struct tier_slab;
struct tier_chunks {
	size_t objsz;		/* bytes per chunk object */
	uint32_t nblocks;	/* blocks per chunk */
	uint32_t per_slab;
	struct tier_slab *partial; /* slabs with free objects */
	uint64_t count;		/* chunks allocated */
	uint64_t slabs;		/* slabs held */
};
void tier_chunks_init(struct tier_chunks *a, uint32_t nblocks);
void tier_chunks_destroy(struct tier_chunks *a);
struct tfs_chunk *tier_chunk_new(struct tier_chunks *a, uint64_t ino, uint64_t idx);
void tier_chunk_free(struct tier_chunks *a, struct tfs_chunk *c);
/* bytes the allocator holds */
uint64_t tier_chunks_bytes(const struct tier_chunks *a);

static inline int tier_chunk_has(const struct tfs_chunk *c, uint32_t b)
{
	return (c->c_mask[b >> 6] >> (b & 63)) & 1;
}
static inline void tier_chunk_set(struct tfs_chunk *c, uint32_t b)
{
	c->c_mask[b >> 6] |= 1ull << (b & 63);
}
static inline void tier_chunk_clear(struct tfs_chunk *c, uint32_t b)
{
	c->c_mask[b >> 6] &= ~(1ull << (b & 63));
}
/* number of blocks holding data (@nblocks: blocks per chunk) */
uint32_t tier_chunk_count(const struct tfs_chunk *c, uint32_t nblocks);

/* checksum of one block of data belonging to (ino, file block number) */
uint32_t tier_block_csum(const void *data, uint64_t ino, uint64_t fblock);

/*
 * Chunk map of one file: a radix tree of groups.  A group holds the chunks
 * of 64 consecutive indexes (a presence mask and a packed array of
 * pointers, grown as needed) and is also the unit in which the metadata
 * log persists a file's map, so it carries the log's bookkeeping (g_lpos,
 * g_lsize, g_flags: the pool's, not interpreted here).  Above the groups,
 * nodes of 64 pointers, as many levels as the highest index needs: a
 * one-chunk file costs one small group, a dense file about 8.4 bytes a chunk,
 * a sparse one a path of nodes per populated region.
 */
#define TIER_GROUP_SHIFT 6
#define TIER_GROUP (1u << TIER_GROUP_SHIFT)
#define TIER_G_DIRTY (1u << 0) /* the pool's: to be written at the next checkpoint */

struct tier_cgroup {
	uint64_t g_present;	/* bit i: the chunk at index 64 g + i exists */
	uint64_t g_lpos;	/* the pool's: its record in the metadata log (0: none) */
	uint32_t g_lsize;	/* the pool's: bytes of that record */
	uint8_t g_flags;	/* the pool's */
	uint8_t g_cap;		/* room in g_c[] */
	uint16_t g_pad;
	struct tfs_chunk *g_c[]; /* popcount(g_present) chunks, by index */
};

struct tier_cmap {
	void *m_root;		/* m_height 0: the group of indexes 0..63, else a node */
	uint64_t m_blocks;	/* data blocks in the map (st_blocks / 8) */
	uint32_t m_count;	/* chunks in the map */
	uint8_t m_height;
};

struct tfs_chunk *tier_cmap_get(const struct tier_cmap *m, uint64_t idx);
/* @c at index @idx; -EEXIST if one is there, -ENOMEM */
int tier_cmap_set(struct tier_cmap *m, uint64_t idx, struct tfs_chunk *c);
/* remove and return the chunk at @idx (NULL if none); an emptied group
 * stays until tier_cmap_group_drop() */
struct tfs_chunk *tier_cmap_take(struct tier_cmap *m, uint64_t idx);
/* first chunk at index >= @idx, or NULL */
struct tfs_chunk *tier_cmap_next(const struct tier_cmap *m, uint64_t idx);
/* the group @g (NULL if none); _get creates an empty one */
struct tier_cgroup *tier_cmap_group(const struct tier_cmap *m, uint64_t g);
struct tier_cgroup *tier_cmap_group_get(struct tier_cmap *m, uint64_t g);
/* the first group with index >= *@g: sets *@g to its index */
struct tier_cgroup *tier_cmap_group_next(const struct tier_cmap *m, uint64_t *g);
/* free group @g if it holds no chunk */
void tier_cmap_group_drop(struct tier_cmap *m, uint64_t g);
/* every chunk to @fn (which may free it), then the map's own memory: one
 * linear walk */
void tier_cmap_destroy(struct tier_cmap *m, void (*fn)(void *arg, struct tfs_chunk *c,
						       struct tier_cgroup *g), void *arg);
/* bytes the map's own structure (groups, nodes) takes */
uint64_t tier_cmap_bytes(const struct tier_cmap *m);

/*
 * Slot allocator: one bitmap per device.  Rebuilt at mount from the chunk
 * maps (tier_alloc_mark), so it has no on-media form of its own.
 */
struct tier_zdev;

struct tier_alloc_dev {
	unsigned int a_class; /* enum tfs_dev_class */
	struct tier_zdev *a_z; /* zoned devices: zone state (zalloc.c), else NULL */
	uint64_t a_nslots;  /* slots on the device */
	uint64_t a_nfree;   /* free slots */
	uint64_t a_hint;    /* where the next search starts */
	uint64_t *a_bitmap; /* 1 = in use */
	int a_out;	    /* being emptied or gone: nothing new goes here, and
			     * its slots are not in the pool's totals */
	int a_cold;	    /* the rados tier: only migration puts chunks here
			     * (tier_dest), and its slots are not in the totals */
};

#define TIER_SINK_MAX 8 /* moves into rados done together */
#define TIER_IDLE_MAX 65000 /* epochs: the longest idleness rados_after can ask for */
#define TIER_RADOS_PAUSE_MS 30000 /* moves to and from rados after a failed one */
#define TIER_HIGH_WATERMARK 90 /* percent: new data goes to a slower tier above it */

struct tier_alloc {
	unsigned int a_ndev;
	unsigned int a_high;  /* high watermark, percent */
	uint64_t a_nfree;   /* free slots over all devices */
	uint64_t a_nslots;  /* slots over all devices */
	uint64_t a_nfree_ip;  /* free slots of devices written in place */
	uint64_t a_nslots_ip; /* slots of devices written in place */
	struct tier_alloc_dev a_dev[TFS_MAX_DEVS];
};

int tier_alloc_init(struct tier_alloc *a, unsigned int ndev, const uint64_t *nslots,
		    const unsigned int *classes);
/* device @dev (== a_ndev) joins with @nslots free slots of class @cls */
int tier_alloc_add(struct tier_alloc *a, unsigned int dev, uint64_t nslots, unsigned int cls);
/* device @dev takes nothing new and leaves the pool's totals (its slots
 * are still tracked: the chunks on it are being moved off) */
void tier_alloc_set_out(struct tier_alloc *a, unsigned int dev);
/* @n consecutive free slots of @dev (not zoned), taken: the first in
 * *@first; -ENOSPC when there is no such run */
int tier_alloc_take_run(struct tier_alloc *a, unsigned int dev, uint64_t n, uint64_t *first);
/* chunks live in the zones of zoned device @dev, plus zones being written */
uint64_t tier_zone_live(const struct tier_alloc *a, unsigned int dev);
/* slots of @dev in use */
static inline uint64_t tier_alloc_dev_used(const struct tier_alloc *a, unsigned int dev)
{
	return a->a_dev[dev].a_nslots - a->a_dev[dev].a_nfree;
}
void tier_alloc_destroy(struct tier_alloc *a);
/* take a free slot, trying device @pref first, then the others in turn;
 * zoned devices are skipped (their slots come from tier_zone_take) */
int tier_alloc_take(struct tier_alloc *a, unsigned int pref, uint16_t *dev, uint64_t *slot);
/* mark a slot used by @c while rebuilding: -EEXIST if it already was,
 * -ERANGE if out of range */
int tier_alloc_mark(struct tier_alloc *a, unsigned int dev, uint64_t slot, struct tfs_chunk *c);
/* 1 if the slot is in use */
int tier_alloc_used(const struct tier_alloc *a, unsigned int dev, uint64_t slot);
/* free a slot.  Returns 1 when that emptied a sealed zone (it may be reset:
 * see tier_zone_reclaimable), else 0. */
int tier_alloc_release(struct tier_alloc *a, unsigned int dev, uint64_t slot);
/* 1 if @dev is zoned */
static inline int tier_alloc_zoned(const struct tier_alloc *a, unsigned int dev)
{
	return a->a_dev[dev].a_z != NULL;
}

/*
 * Placement of a new chunk of file @ino at index @idx: the preferred device.
 * The fastest tier whose devices are not all above the high watermark; among
 * its devices below the watermark, chunks are striped ((ino + idx) mod n).
 * When every device is above it, the one with the most free room.
 */
unsigned int tier_place(const struct tier_alloc *a, uint64_t ino, uint64_t idx);
/* the same, preferring the devices of class @cls (a pin, a policy); falls
 * back to tier_place() when none of them has a free slot.  TFS_CLASS_MAX:
 * no preference. */
unsigned int tier_place_cls(const struct tier_alloc *a, uint64_t ino, uint64_t idx,
			    unsigned int cls);
/* a device of class @cls to move a chunk to: below the high watermark if
 * @below_high, else any with a free slot (zoned: any zoned device of the
 * class; room is the zone allocator's to find).  -ENOSPC if none. */
int tier_dest(const struct tier_alloc *a, unsigned int cls, uint64_t ino, uint64_t idx,
	      int below_high);
/* slots of all devices of class @cls, and of them in use */
void tier_class_usage(const struct tier_alloc *a, unsigned int cls, uint64_t *slots,
		      uint64_t *used);
/* the same among devices that can be written in place (not zoned); -ENOSPC
 * when none of them has a free slot */
int tier_place_inplace(const struct tier_alloc *a, uint64_t ino, uint64_t idx);
/* 1 if device @d is above the high watermark */
int tier_alloc_above_high(const struct tier_alloc *a, unsigned int d);

/*
 * Zones (zalloc.c).  The data area of a zoned device is its zones from the
 * third on (zones 0 and 1 hold the superblock copies); each holds
 * z_spz = zone capacity / chunk size slots, slot s being the (s mod spz)-th
 * chunk of data zone s / spz.  A zone is filled once, front to back, one
 * write in flight at a time, and reused only after a reset, which needs
 * every chunk in it dead: a slot freed in a zone is garbage until then.
 *
 *   FREE    reset, nothing written
 *   OPEN    being filled by one stream (z_next slots written or reserved)
 *   FULL    sealed: every slot written (or the zone finished early)
 *   RECLAIM sealed and no live chunk left: to be reset
 *   RETIRED the device turned the zone READONLY or OFFLINE (or it would not
 *           reset): never written or reset again; its unwritten and dead
 *           slots stop counting as room; live chunks of a READONLY zone are
 *           moved out by the cleaner first, those of an OFFLINE one are lost
 *           (they read as EIO, as the device answers)
 *
 * Streams separate data by expected lifetime, so that a zone's chunks tend
 * to die together and cleaning finds zones nearly empty.  New user data goes
 * to SHORT, USER or LONG zones (tier_zone_life(): how long the version it
 * replaces lived; the caller's path hint when that says nothing), chunks
 * moved by the cleaner (survivors, so colder) to CLEAN zones.  The user
 * streams share the device's open zones but one; a stream that may open no
 * zone of its own writes into another user stream's.  Per zone: live count,
 * fill, time of last write, and the device's append clock (slots appended)
 * when it was opened and last written, from which a chunk's age is
 * estimated.  Each device keeps z_reserve free zones that only the cleaner
 * may open, so cleaning can always go on, and a reverse map slot -> chunk so
 * that it finds what to move.
 *
 * All calls with the pool lock held.
 */
enum tier_zstate { TIER_Z_FREE, TIER_Z_OPEN, TIER_Z_FULL, TIER_Z_RECLAIM, TIER_Z_RETIRED, TIER_Z_NSTATES };
enum tier_stream {
	TIER_STREAM_USER,  /* new data of no known lifetime */
	TIER_STREAM_SHORT, /* new data expected to be rewritten soon (logs, hot) */
	TIER_STREAM_LONG,  /* new data expected to stay (immutable files, cold) */
	TIER_STREAM_CLEAN, /* survivors moved by the cleaner */
	TIER_STREAM_MAX
};
/* for tier_zone_take: a migration move, written to the CLEAN stream but
 * never into the cleaner's reserve */
#define TIER_STREAM_MOVE 0x80u
#define TIER_ZCLOCK_UNKNOWN UINT64_MAX

struct tier_zone {
	uint32_t valid;	 /* live slots */
	uint32_t next;	 /* slots written or being written */
	uint8_t state;	 /* enum tier_zstate */
	uint8_t stream;	 /* enum tier_stream, while OPEN */
	uint8_t busy;	 /* a write is in flight */
	uint8_t lost;	 /* RETIRED OFFLINE: its data cannot be read */
	uint8_t reset_fails; /* resets that failed in a row */
	uint32_t shadow; /* live slots that are only copies of chunks now elsewhere */
	uint64_t stamp;	 /* ms of the last write */
	uint64_t born;	 /* z_clock when opened (TIER_ZCLOCK_UNKNOWN: adopted at mount) */
	uint64_t last;	 /* z_clock at its last append */
};

struct tier_zdev {
	uint32_t z_nzones;	/* data zones */
	uint32_t z_spz;		/* slots per zone */
	uint32_t z_open_user;	/* zones the user streams may have open together */
	uint32_t z_nopen[TIER_STREAM_MAX]; /* open zones per stream */
	uint64_t z_clock;	/* slots appended to the device since mount */
	uint32_t z_nfree;	/* FREE zones */
	uint32_t z_reserve;	/* FREE zones kept for the cleaner */
	uint32_t z_clean_low;	/* cleaning starts at or below this many FREE zones */
	struct tier_zone *z;
	struct tfs_chunk **z_rmap; /* slot -> live chunk */
};

/* smallest zone count a device needs: the two superblock zones, an open zone
 * for the user streams, one for the cleaner and the cleaning reserve */
/* one zone: a victim holds less than a zone of live chunks, so the cleaner
 * empties it into what is left of its open zone and one more; each zone held
 * back costs write amplification (at 80 % full, uniform: 3.46 with two
 * against 3.09 with one, 62 data zones) */
#define TIER_ZONE_RESERVE 1
#define TIER_ZONES_MIN (2 + 2 + TIER_ZONE_RESERVE)

/* give device @dev @nzones data zones of @spz slots, at most @open_limit open
 * at once (the device's open/active limits; at least 2) */
int tier_zone_init(struct tier_alloc *a, unsigned int dev, uint32_t nzones, uint32_t spz,
		   uint32_t open_limit);
/* after the marks: a zone's fill as the device reports it (slots, rounded
 * up) and whether it can take no more writes.  Returns what the caller must
 * do on the device: TIER_ZADOPT_NONE, _FINISH (seal it) or _RESET (written,
 * nothing live). */
enum { TIER_ZADOPT_NONE, TIER_ZADOPT_FINISH, TIER_ZADOPT_RESET };
int tier_zone_adopt(struct tier_alloc *a, unsigned int dev, uint32_t zone, uint32_t wp_slots,
		    int sealed, uint64_t now);
/*
 * Reserve the next slot of an open zone of @stream (opening a FREE zone if
 * needed, else a user stream falls back to another user stream's zone; user
 * streams never take the reserve) and mark the zone busy
 * until tier_zone_done().  The slot counts as live from now on.
 * -EAGAIN: every usable zone has a write in flight, retry after one ends;
 * -ENOSPC: no zone to write.
 */
int tier_zone_take(struct tier_alloc *a, unsigned int dev, unsigned int stream, uint64_t now,
		   uint64_t *slot);
/* the user stream for a new version of the chunk now at (@dev, @slot), by
 * how long this version has lived in device writes (slots appended since):
 * SHORT under an eighth of the device's capacity, LONG over the whole of it,
 * else (or when nothing is known: not a zone, a zone adopted at mount)
 * USER.  A survivor of cleaning is never SHORT. */
unsigned int tier_zone_life(const struct tier_alloc *a, unsigned int dev, uint64_t slot);
/* slot @slot of zoned device @dev holds a copy of a chunk that lives
 * elsewhere (@delta 1) or no longer does (-1): to the cleaner it is garbage
 * that costs nothing to drop */
void tier_zone_shadow(struct tier_alloc *a, unsigned int dev, uint64_t slot, int delta);
/* the stream zone @zone was (or is being) written by */
unsigned int tier_zone_stream(const struct tier_alloc *a, unsigned int dev, uint32_t zone);
/* the write to @slot ended (@failed: the zone is sealed and the slot freed).
 * Returns 1 if the zone is now sealed (FULL): the caller finishes it on the
 * device when its capacity is not used up exactly. */
int tier_zone_done(struct tier_alloc *a, unsigned int dev, uint64_t slot, int failed);
void tier_alloc_bind(struct tier_alloc *a, unsigned int dev, uint64_t slot, struct tfs_chunk *c);
/* the reverse map forgets @c at @slot (if it names @c there): it moved or
 * went, so the cleaner must not find it there */
void tier_alloc_unbind(struct tier_alloc *a, unsigned int dev, uint64_t slot,
		       const struct tfs_chunk *c);
struct tfs_chunk *tier_zone_chunk(const struct tier_alloc *a, unsigned int dev, uint64_t slot);
/* a RECLAIM zone (or -1); tier_zone_reset_done() once the device reset it */
int64_t tier_zone_reclaimable(const struct tier_alloc *a, unsigned int dev);
void tier_zone_reset_done(struct tier_alloc *a, unsigned int dev, uint32_t zone);
/* the cleaning victim: the sealed zone with the fewest live chunks (the
 * oldest on a tie), or -1 when no sealed zone has garbage */
int64_t tier_zone_victim(const struct tier_alloc *a, unsigned int dev);
/* 0: enough FREE zones; 1: cleaning should run; 2: at the reserve (writers wait) */
int tier_zone_pressure(const struct tier_alloc *a, unsigned int dev);
/* slots holding garbage (written, not live) */
uint64_t tier_zone_garbage(const struct tier_alloc *a, unsigned int dev);
/* zones in each enum tier_zstate */
void tier_zone_counts(const struct tier_alloc *a, unsigned int dev, uint32_t out[TIER_Z_NSTATES]);
/* take zone @zone out of use for good (@lost: its data is unreadable);
 * returns its live chunks */
uint32_t tier_zone_retire(struct tier_alloc *a, unsigned int dev, uint32_t zone, int lost);
/* slots of @dev's FREE zones held back for the cleaner (no room for
 * users: statfs and status do not count them as free) */
uint64_t tier_zone_reserved_slots(const struct tier_alloc *a, unsigned int dev);
/* a RETIRED zone whose live chunks can still be read and must be moved out,
 * or -1 */
int64_t tier_zone_evacuee(const struct tier_alloc *a, unsigned int dev);
/* a reset of zone @zone failed and the zone is still usable: returns how
 * many times in a row */
unsigned int tier_zone_reset_failed(struct tier_alloc *a, unsigned int dev, uint32_t zone);
/* 1 if @slot of zoned device @ad lies in a RETIRED zone */
int tier_zone_retired(const struct tier_alloc_dev *ad, uint64_t slot);

/* internal to tiering/: the allocator's hooks into zone state */
void tier_zone_mark(struct tier_alloc_dev *ad, uint64_t slot, struct tfs_chunk *c);
int tier_zone_unmark(struct tier_alloc_dev *ad, uint64_t slot);
void tier_zone_destroy(struct tier_alloc_dev *ad);

/*
 * Heat (heat.c).  A chunk's heat is a 16-bit count of accesses, weighted
 * (a random read counts more than a write, a read that is part of a long
 * sequential stream counts little), halved once per epoch.  The epoch is a
 * global clock the engine advances every policy.halflife_ms; decay is lazy:
 * c_hepoch says which epoch c_heat was last brought to, so an update costs
 * two loads and two stores and no timer touches idle chunks.  The engine's
 * walk settles every chunk to the current epoch, so the 16-bit epoch never
 * wraps unnoticed.  The pool persists heat with its chunk groups' records
 * (src/records.c) and restores it at mount, decayed for the time between;
 * a chunk without saved heat starts at TIER_HEAT_INIT, lukewarm.
 *
 * Updates come from many reader threads at once; they use relaxed atomics
 * and a lost update is harmless.
 */
#define TIER_HEAT_MAX 0xffffu
#define TIER_HEAT_BUCKETS 65 /* 0, then 4 per power of two up to 2^16 */
#define TIER_HEAT_INIT 4     /* a chunk's heat when it comes to life (also at mount):
			      * below the default promote_min, so that a mount does
			      * not promote everything into free room above */

/* @c's heat at @epoch (not stored) */
uint32_t tier_heat_get(const struct tfs_chunk *c, uint32_t epoch);
/* the same, and store it decayed to @epoch */
uint32_t tier_heat_settle(struct tfs_chunk *c, uint32_t epoch);
/* epochs since @c's heat went to nothing (0 while it has heat; counted
 * from the mount for chunks loaded without heat) */
uint32_t tier_heat_idle(const struct tfs_chunk *c, uint32_t epoch);
/* an access of weight @w at @epoch */
void tier_heat_add(struct tfs_chunk *c, uint32_t epoch, unsigned int w);
/* histogram bucket of a heat (monotonic), and the smallest heat in bucket @b */
unsigned int tier_heat_bucket(uint32_t heat);
uint32_t tier_heat_bucket_min(unsigned int b);

/*
 * Sequential stream detection, one per open file and direction: an access
 * starting where the previous one ended (give or take the kernel's
 * readahead reordering) extends the run, anything else restarts it.
 * Returns 1 when the run has reached @scan_min bytes: the access is part of
 * a scan (backup, cp, grep -r) and should not make data hot.
 */
struct tier_seq {
	uint64_t next; /* where a sequential access would start */
	uint64_t run;  /* bytes of the current sequential run */
};
int tier_stream_note(struct tier_seq *s, uint64_t off, uint64_t len, uint64_t scan_min);

/*
 * Policy knobs (heat.c): a table, so that -o, tierfsctl policy, the help
 * text and the man page agree.  Changed at run time by tierfsctl policy
 * (under the pool lock); read without it.
 */
struct tier_policy {
	unsigned int migrate;	     /* 0: no background migration */
	unsigned int high, low;	     /* watermarks, percent of a tier's slots */
	unsigned int halflife_ms;    /* heat halves every this long */
	unsigned int read_weight, write_weight, scan_weight;
	unsigned int scan_min_kib;   /* a sequential run this long is a scan */
	unsigned int promote_min;    /* heat a chunk needs to move up at all */
	unsigned int promote_margin; /* percent hotter than the coldest resident */
	unsigned int demote_idle;    /* chunks with no heat left sink a tier */
	unsigned int migrate_mbps;   /* bandwidth cap; 0: migrate_duty applies */
	unsigned int migrate_duty;   /* percent of the time moves may take */
	unsigned int busy_iops;	     /* foreground requests/s above which moves slow down */
	unsigned int batch;	     /* chunks moved per pass before a commit */
	unsigned int rados_after;    /* hours idle before a chunk sinks into rados */
	unsigned int seq_write_tier; /* class for long sequential writes; TFS_CLASS_MAX: none */
};
struct tier_policy_def {
	const char *name;
	size_t off;
	unsigned int min, max, def;
	const char *unit; /* "tier": the value is a tier name (or none) */
	const char *help;
};
extern const struct tier_policy_def tier_policy_table[];
void tier_policy_defaults(struct tier_policy *p);
/* set one knob from "key=value": 1 done, 0 not a policy key, -EINVAL bad
 * value (why in @err) */
int tier_policy_set(struct tier_policy *p, const char *kv, char *err, size_t errlen);
int tier_policy_check(const struct tier_policy *p, char *err, size_t errlen);
/* the value of knob @d as text */
void tier_policy_fmt(const struct tier_policy *p, const struct tier_policy_def *d, char *out,
		     size_t len);

/*
 * The migration plan (heat.c; pure, so unit tests drive it).  Input: per
 * class, the chunks that may move (not pinned) by heat bucket, and the slots
 * of the class and how many are used.  From the histogram over all classes
 * the plan derives for each class a residency threshold: the heat from
 * which the hottest chunks just fill it (and every faster class) to the
 * high watermark; no sorting.  Then per class:
 *   - demotions: above the high watermark, the coldest chunks down to the
 *     low watermark; chunks colder than the threshold to make room for
 *     promotions that would not fit; chunks with no heat when demote_idle;
 *   - promotions into it: chunks of slower classes at least promote_margin
 *     percent hotter than its threshold (and promote_min), as many as there
 *     is room below the high watermark once the demotions are done.
 * tier_plan_decide() then takes chunks one by one (in any order) and says
 * where each goes, spending the plan's counts.
 */
struct tier_plan_in {
	uint64_t hist[TFS_CLASS_MAX][TIER_HEAT_BUCKETS];
	uint64_t slots[TFS_CLASS_MAX], used[TFS_CLASS_MAX];
};
struct tier_plan {
	uint32_t thr[TFS_CLASS_MAX];	/* residency threshold (heat) */
	uint32_t promote_at[TFS_CLASS_MAX]; /* heat a chunk needs to be promoted here */
	unsigned int cut[TFS_CLASS_MAX]; /* demote every chunk below this bucket... */
	uint64_t cut_rem[TFS_CLASS_MAX]; /* ...and this many in bucket cut */
	uint64_t promote[TFS_CLASS_MAX]; /* promotions into the class still allowed */
	uint64_t demote[TFS_CLASS_MAX];	 /* demotions out of the class planned */
};
void tier_plan_make(const struct tier_policy *p, const struct tier_plan_in *in,
		    struct tier_plan *pl);
/* where a chunk of class @cls with heat @heat goes: a class, or -1 to stay */
int tier_plan_decide(struct tier_plan *pl, const struct tier_plan_in *in, unsigned int cls,
		     uint32_t heat);
/* the next slower class present after @cls, or -1 */
int tier_class_below(const struct tier_plan_in *in, unsigned int cls);

/*
 * The migration engine (engine.c): a thread with its own io_uring ring (the
 * I/O layer gives every thread its own) that runs passes: settle heat and
 * build the histogram, make the plan, pick up to policy.batch chunks, move
 * them one at a time under the bandwidth budget, commit.  What a move is
 * (locks, copy, verification, the map flip) is the pool's business: the
 * engine calls it through struct tier_engine_ops.
 */
typedef void (*tier_walk_fn)(void *arg, struct tfs_chunk *c, unsigned int pin);
struct tier_move;
struct tier_engine_ops {
	/* with the pool lock held: call @fn for the chunks of regular files from
	 * *@cursor on, about @budget of them; @pin: the class the file is pinned
	 * to or TFS_CLASS_MAX.  Returns 1 when the walk is complete. */
	int (*walk)(void *ctx, uint64_t *cursor, unsigned int budget, tier_walk_fn fn, void *arg);
	/* move chunk @idx of @ino, if still at (@dev, @slot), to class @cls (or,
	 * for a demotion into a full class, one further down): the class it
	 * went to, or -ESTALE gone or changed, -ENOSPC no room, -errno */
	int (*move)(void *ctx, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		    unsigned int cls);
	/* moves into the rados tier, @n of them (at most TIER_SINK_MAX) done
	 * together, every object in flight at once; @res[i] as @move's
	 * return.  NULL: one by one through @move */
	int (*sink)(void *ctx, const struct tier_move *m, unsigned int n, int *res);
	int (*commit)(void *ctx);
	uint64_t (*fg_requests)(void *ctx); /* foreground requests since mount */
	/* zone cleaning, on the engine's thread (NULL: nothing to clean): one
	 * round over the zoned devices (reset zones with nothing live, empty
	 * one victim each, pacing every chunk it moves through
	 * tier_engine_pace unless urgent); returns zones reset or emptied, or
	 * -errno. */
	int (*clean)(void *ctx);
	/* 1 if cleaning cannot wait for the end of a migration batch (a zoned
	 * device at its reserve, or a zone to reset); pool lock held */
	int (*clean_due)(void *ctx);
	/* a device is being emptied and the last pass found no chunk on it:
	 * the pool finishes the removal (metadata off it, the device table
	 * rewritten); engine thread, no lock held.  NULL: nothing to do */
	void (*evacuated)(void *ctx);
};

struct tier_move {
	uint64_t ino, idx, slot;
	uint16_t dev;
	uint8_t from, to; /* classes */
};

#define TIER_HOT_N 16
struct tier_engine {
	struct tier_policy pol;
	uint32_t epoch;		 /* heat clock (atomic) */
	uint64_t epoch_next_ms;
	/* from the last pass; pool lock */
	struct tier_plan_in pin;
	struct tier_plan plan;
	uint64_t backlog;	 /* moves the last plan wanted and no pass did yet */
	uint64_t pinned_misplaced; /* chunks of pinned files not on their tier */
	uint64_t evac_left;	 /* chunks the last pass found on devices being emptied */
	uint64_t evac_stuck;	 /* of those, with no room anywhere else */
	uint64_t evac_moved;	 /* chunks moved off such devices since mount */
	/* the hottest files of the last pass, hottest first: heat summed over
	 * their chunks (tierfsctl top) */
	struct tier_hot {
		uint64_t ino;
		uint32_t heat, chunks;
	} hot[TIER_HOT_N];
	unsigned int nhot;
	/* counters since mount (atomics) */
	uint64_t promoted[TFS_CLASS_MAX], demoted[TFS_CLASS_MAX]; /* into each class */
	uint64_t moved_bytes, redone, failed, passes;
	uint64_t rados_pauses;	/* times moves to and from rados were paused */
	uint64_t rados_pause_ms; /* engine thread: until when (CLOCK_MONOTONIC ms) */
	/* forced passes (tierfsctl migrate) */
	uint64_t force_req, force_done; /* pool lock */
	uint64_t force_moved, force_planned;
	/* the one pacer of everything the thread moves (engine thread only) */
	struct tier_pacer {
		uint64_t fg, t; /* foreground requests and time of the last sample */
		int busy;
	} pc;
	int clean_kicked; /* pool lock: cleaning is wanted now */
	int pass_kicked;  /* pool lock: a migration pass is wanted now */
	uint64_t pass_next_ms; /* when the next pass is due (CLOCK_MONOTONIC ms) */
	/* the thread */
	const struct tier_engine_ops *ops;
	void *ctx;
	pthread_mutex_t *lock; /* the pool lock */
	struct tier_alloc *alloc;
	uint32_t chunk_size;
	pthread_t thread;
	pthread_cond_t kick;
	int running, stop;
	struct tier_move *moves;
	size_t nmoves, cap;
};

void tier_engine_init(struct tier_engine *e, const struct tier_engine_ops *ops, void *ctx,
		      pthread_mutex_t *lock, struct tier_alloc *alloc, uint32_t chunk_size);
int tier_engine_start(struct tier_engine *e);
void tier_engine_stop(struct tier_engine *e);
void tier_engine_destroy(struct tier_engine *e);
static inline uint32_t tier_engine_epoch(const struct tier_engine *e)
{
	return __atomic_load_n(&e->epoch, __ATOMIC_RELAXED);
}
/* engine lock held: a new policy, in effect at once (heat epochs too) */
void tier_engine_set_policy(struct tier_engine *e, const struct tier_policy *p);
/* ask for a pass now (@force: even with migration off, at full speed);
 * returns the number tier_engine_forced() reaches when it is done.  Pool
 * lock held. */
uint64_t tier_engine_kick(struct tier_engine *e, int force);
/* 1 while a device is being emptied (out, and not yet gone) */
int tier_engine_evacuating(const struct tier_engine *e);
/* the engine thread, after moving a chunk that took @took_us (migration or
 * cleaning): the pause the policy wants (migrate_mbps, or migrate_duty
 * percent of the time, four times longer while users are busy); none when
 * @urgent (cleaning at a zoned device's reserve) or the engine stops */
void tier_engine_pace(struct tier_engine *e, uint64_t took_us, int urgent);
/* ask for zone cleaning now (pool lock held) */
void tier_engine_kick_clean(struct tier_engine *e);
/* one pass: the thread's; tests call it directly.  Returns chunks moved. */
int tier_engine_pass(struct tier_engine *e, int force);
/* a move made by someone else (the zone cleaner) */
void tier_engine_count(struct tier_engine *e, unsigned int from, unsigned int to,
		       uint64_t bytes);
/* the class a live chunk of a zone being cleaned should go to: up when hot
 * enough for a faster class with room, down when idle and a slower class
 * has room, else @cls (it stays in the zns tier).  Pool lock held. */
unsigned int tier_engine_zone_dest(struct tier_engine *e, unsigned int cls, uint32_t heat,
				   unsigned int pin);

#endif /* TFS_TIER_H */

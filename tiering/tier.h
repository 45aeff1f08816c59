/*
 * tiering/tier.h - the one header src/ includes from tiering/.
 *
 * What lives where.  A file's data is cut into chunks of the pool's chunk
 * size (a power of two, 64 KiB..4 MiB, fixed at mkfs).  A chunk lives wholly
 * in one slot of one device: the data area of every device is an array of
 * chunk-sized slots.  Inside a chunk, data is tracked per TFS_BLOCK_SIZE block:
 * a bit in c_mask says the block holds data (clear = hole, reads as zeros) and
 * c_csum[] holds the block's checksum (low 32 bits of XXH3-64, seeded with the
 * block's identity, see tier_block_csum()).  A random 4 KiB read therefore
 * verifies exactly what it read.
 *
 * Memory: a chunk costs sizeof(struct tfs_chunk) + nblocks/8 + 4*nblocks
 * bytes: 328 bytes for a 256 KiB chunk (0.13 % of the data), plus 8 bytes of
 * radix slot.
 *
 * Locking is the caller's (see src/fs.c): the map of an inode changes only
 * with the inode's data lock held exclusively and the pool lock held.
 */
#ifndef TFS_TIER_H
#define TFS_TIER_H

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

/* chunk flags */
#define TIER_CHUNK_DIRTY (1u << 0)  /* on the pool's commit list */
#define TIER_CHUNK_INTENT (1u << 1) /* durable: blocks may be overwritten in place */

struct tfs_chunk {
	uint64_t c_ino;	       /* owner inode */
	uint64_t c_idx;	       /* index in the file (file offset / chunk size) */
	uint64_t c_slot;       /* slot on the device */
	uint16_t c_dev;	       /* device index in the pool */
	uint16_t c_flags;      /* TIER_CHUNK_* ; protected by the pool lock */
	uint32_t c_nblocks;    /* blocks per chunk */
	struct tfs_list c_dirty; /* commit list link; pool lock */
	struct tfs_list c_intent; /* intent list link; pool lock */
	uint64_t c_written;	  /* last in-place write, CLOCK_MONOTONIC ms; pool lock */
	uint64_t *c_mask;      /* c_nblocks bits: block holds data */
	uint32_t *c_csum;      /* c_nblocks block checksums */
	/* mask words and checksums follow in the same allocation */
};

struct tfs_chunk *tier_chunk_new(uint64_t ino, uint64_t idx, uint32_t nblocks);
void tier_chunk_free(struct tfs_chunk *c);
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
/* number of blocks holding data */
uint32_t tier_chunk_count(const struct tfs_chunk *c);

/* checksum of one block of data belonging to (ino, file block number) */
uint32_t tier_block_csum(const void *data, uint64_t ino, uint64_t fblock);

/*
 * Chunk map of one file: a two-level radix (a growable top array of leaves of
 * TIER_LEAF chunk pointers), so lookups are two loads and a sparse file far
 * past 4 GiB costs one leaf per populated region.
 */
#define TIER_LEAF_SHIFT 9
#define TIER_LEAF (1u << TIER_LEAF_SHIFT)

struct tier_cmap {
	struct tfs_chunk ***m_top; /* m_ntop leaves, NULL where empty */
	uint64_t m_ntop;
	uint64_t m_count;	   /* chunks in the map */
	uint64_t m_blocks;	   /* data blocks in the map (st_blocks / 8) */
};

struct tfs_chunk *tier_cmap_get(const struct tier_cmap *m, uint64_t idx);
int tier_cmap_set(struct tier_cmap *m, uint64_t idx, struct tfs_chunk *c);
/* remove and return the chunk at @idx (NULL if none) */
struct tfs_chunk *tier_cmap_take(struct tier_cmap *m, uint64_t idx);
/* first chunk at index >= @idx, or NULL */
struct tfs_chunk *tier_cmap_next(const struct tier_cmap *m, uint64_t idx);
void tier_cmap_destroy(struct tier_cmap *m);

/*
 * Slot allocator: one bitmap per device.  Rebuilt at mount from the chunk
 * maps (tier_alloc_mark), so it has no on-media form of its own.
 */
struct tier_alloc_dev {
	unsigned int a_class; /* enum tfs_dev_class */
	uint64_t a_nslots;  /* slots on the device */
	uint64_t a_nfree;   /* free slots */
	uint64_t a_hint;    /* where the next search starts */
	uint64_t *a_bitmap; /* 1 = in use */
};

#define TIER_HIGH_WATERMARK 90 /* percent: new data goes to a slower tier above it */

struct tier_alloc {
	unsigned int a_ndev;
	unsigned int a_high;  /* high watermark, percent */
	uint64_t a_nfree;   /* free slots over all devices */
	uint64_t a_nslots;  /* slots over all devices */
	struct tier_alloc_dev a_dev[TFS_MAX_DEVS];
};

int tier_alloc_init(struct tier_alloc *a, unsigned int ndev, const uint64_t *nslots,
		    const unsigned int *classes);
void tier_alloc_destroy(struct tier_alloc *a);
/* take a free slot, trying device @pref first, then the others in turn */
int tier_alloc_take(struct tier_alloc *a, unsigned int pref, uint16_t *dev, uint64_t *slot);
/* mark a slot used while rebuilding: -EEXIST if it already was, -ERANGE if out of range */
int tier_alloc_mark(struct tier_alloc *a, unsigned int dev, uint64_t slot);
void tier_alloc_release(struct tier_alloc *a, unsigned int dev, uint64_t slot);

/*
 * Placement of a new chunk of file @ino at index @idx: the preferred device.
 * The fastest tier whose devices are not all above the high watermark; among
 * its devices below the watermark, chunks are striped ((ino + idx) mod n).
 * When every device is above it, the one with the most free room.
 */
unsigned int tier_place(const struct tier_alloc *a, uint64_t ino, uint64_t idx);
/* 1 if device @d is above the high watermark */
int tier_alloc_above_high(const struct tier_alloc *a, unsigned int d);

#endif /* TFS_TIER_H */

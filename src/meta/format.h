/*
 * src/meta/format.h - the on-media format of a tierfs pool, version 3.
 *
 * Everything tierfs writes outside file data is described here; nothing
 * else in the tree lays out bytes on a device.  All integers are
 * little-endian; every checksum is XXH3-64 with a seed that binds the bytes
 * to their pool and their place (pool seed ^ position or sequence), so that
 * a block of another pool, a stale copy or a misdirected write does not
 * verify.
 *
 *   every device   superblock copy 0 at 0 and copy 1 at 8 KiB (a zoned
 *                  device: at the starts of zones 0 and 1).  It names the
 *                  pool, the device, every other device of the pool, the
 *                  metadata device and where the checkpoint headers, the
 *                  journal and each device's checksum table are.
 *
 *   metadata dev   (the fastest device that is not zoned: pmem when the
 *                  pool has one) after the superblocks:
 *                    checkpoint header slots A and B, TFS_CKH_SIZE each;
 *                    the journal, two halves, zeroed at mkfs.
 *
 *   checksum tables  one per device, on the device itself when it can be
 *                  written in place, else on the first block device (or the
 *                  metadata device): for every chunk slot of the device the
 *                  checksums of its blocks, TFS_CS_PER_PAGE slots to a page,
 *                  and every page twice (copies 0 and 1 side by side).  A
 *                  checkpoint writes a changed page into the copy that does
 *                  not hold its newest state, so the state the previous
 *                  checkpoint describes stays intact.  Never zeroed: which
 *                  pages hold what is known from the page descriptors in the
 *                  metadata log (a page never written is gen 0).
 *
 *   metadata log   chunk slots of devices written in place (block first,
 *                  pmem when there is no block device), chained into one log:
 *                  each segment (one slot) starts with a segment header page
 *                  naming the next segment, then log pages.  A checkpoint
 *                  appends the records of every unit (inode, xattrs,
 *                  directory block, chunk group, checksum page descriptors)
 *                  that changed since the previous one, starting on a fresh
 *                  page; the log is cleaned from its tail (the live units of
 *                  the oldest segment are appended again and the segment is
 *                  freed two checkpoints later).  Loading a checkpoint =
 *                  replaying its log from tail to head; later records of a
 *                  unit replace earlier ones, tombstones remove units.
 *
 *   data           the chunk slots of every device.
 *
 * Durability of a change: journal transaction (fsync point) -> next
 * checkpoint (log records + checksum pages, then a checkpoint header naming
 * tail, head and "replay the journal from sequence J").  A checkpoint only
 * ever contains what the journal already has, so an older checkpoint plus
 * the journal gives the same pool as the newer one.
 */
#ifndef TFS_META_FORMAT_H
#define TFS_META_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* 4: chunk-group log records end with their chunks' heat (src/records.c).
 * A format-3 pool still mounts: its records have no heat, and none is
 * written into them (a tierfs of format 3 could not read them).
 * 5: the device table has a generation and a state per device (devices
 * added to or removed from a mounted pool, src/devices.c).  A pool of
 * format 3 or 4 becomes format 5 when a device is added or removed.
 * 6: a device may be of class rados (a Ceph RADOS pool, the coldest tier).
 * Only a pool made with a rados tier is format 6 (mkfs.tierfs --rados): an
 * older tierfs refuses it instead of misreading the class.
 * 7: a chunk in the rados tier records the generation its object was
 * written with (TFS_CF_OGEN): objects are named by chunk and generation,
 * no longer by slot.  A format-6 pool becomes format 7 at its first
 * read-write mount; its objects keep their slot names until they move. */
#define TFS_FORMAT_VERSION 7
#define TFS_FORMAT_NO_RADOS 5 /* the format of a pool without a rados tier */
#define TFS_FORMAT_OLDEST 3

/* ---------------------------------------------------------------- superblock */

#define TFS_SB_MAGIC 0x3130534652454954ull /* "TIERFS01" */
#define TFS_SB_VERSION TFS_FORMAT_VERSION
#define TFS_SB_SIZE 8192u	 /* bytes, one copy */
#define TFS_SB_COPY1 8192u	 /* offset of the second copy */
#define TFS_META_START 65536u	 /* first byte after the superblocks */
#define TFS_DEV_PATH_MAX 256
#define TFS_LABEL_MAX 64
#define TFS_MAX_DEVS_FMT 16

/*
 * Superblock (8 KiB; the last 8 bytes are XXH3-64 of the rest, seed
 * TFS_SB_SEED).  Fields in this order:
 *   u64 magic, u32 version, u32 size (8192), u8[16] pool uuid, u8[16] device
 *   uuid, u32 device index, u32 device count, u32 chunk shift, u32 metadata
 *   device, u32 reserve (percent of the pool only root may fill), u32 checksum
 *   page size, u32 checksum entries per page, u32 device table generation
 *   (format 5; zero before), u64 mkfs time,
 *   u64 journal offset, u64 journal length, u64 checkpoint header offset A,
 *   u64 offset B, char[64] label, then for each of 16 devices:
 *   u8[16] uuid, u32 class, u32 index, u64 size, u64 data offset, u64 slots,
 *   u32 checksum table device, u32 state (format 5, TFS_SD_*; zero before),
 *   u64 checksum table offset,
 *   u64 checksum table pages (per copy), char[256] path at mkfs.
 */
/* a device's state in the table: being emptied (no new data goes to it,
 * the engine moves what it holds elsewhere), or gone (its index is never
 * used again) */
#define TFS_SD_DRAINING 1u
#define TFS_SD_REMOVED 2u
#define TFS_SD_KNOWN (TFS_SD_DRAINING | TFS_SD_REMOVED)

struct tfs_sb_dev {
	uint8_t sd_uuid[16];
	uint32_t sd_class;	/* enum tfs_dev_class */
	uint32_t sd_index;
	uint64_t sd_size;	/* bytes formatted */
	uint64_t sd_data_off;	/* bytes: first slot */
	uint64_t sd_nslots;	/* chunk slots */
	uint32_t sd_cs_dev;	/* device holding this device's checksum table */
	uint32_t sd_flags;	/* TFS_SD_* */
	uint64_t sd_cs_off;	/* bytes: page 0 copy 0 of it on sd_cs_dev */
	uint64_t sd_cs_pages;	/* pages per copy */
	char sd_path[TFS_DEV_PATH_MAX];
};

struct tfs_sb {
	uint64_t s_magic;
	uint32_t s_version;
	uint8_t s_pool_uuid[16];
	uint8_t s_dev_uuid[16];	 /* this device */
	uint32_t s_dev_index;	 /* this device */
	uint32_t s_ndev;
	uint32_t s_chunk_shift;	 /* log2 of chunk size in bytes */
	uint32_t s_meta_dev;	 /* device holding checkpoint headers and journal */
	uint32_t s_reserve_pct;	 /* percent of the slots kept for root */
	uint32_t s_cs_psize;	 /* checksum page size, bytes */
	uint32_t s_cs_per_page;	 /* slots per checksum page */
	uint32_t s_gen;		 /* device table generation: the highest wins */
	uint64_t s_ctime;	 /* mkfs time, seconds */
	uint64_t s_jrnl_off, s_jrnl_len;  /* bytes, on s_meta_dev */
	uint64_t s_ckh_off[2];		   /* checkpoint header slots, on s_meta_dev */
	char s_label[TFS_LABEL_MAX];
	struct tfs_sb_dev s_dev[TFS_MAX_DEVS_FMT];
};

#define TFS_SB_SEED 0x7466735f73622d31ull

/* ---------------------------------------------------------------- seeds */

/* the pool's checksum seed: the first 8 bytes of its uuid */
uint64_t tfs_pool_seed(const uint8_t uuid[16]);

/* ---------------------------------------------------------------- checkpoint header */

#define TFS_CKH_MAGIC 0x3330504b43534654ull /* "TFSCKP03" */
#define TFS_CKH_SIZE 4096u
#define TFS_CKH_MAX_ZSTAT 16

/*
 * Checkpoint header (TFS_CKH_SIZE bytes in slot gen % 2; the last 8 bytes
 * are XXH3-64 of the rest, seed pool seed ^ gen ^ 'C'):
 *   u64 magic, u64 gen, u64 jseq (replay the journal from this sequence; its
 *   transactions are in half gen % 2 and, from where the next checkpoint
 *   began, half (gen + 1) % 2), u64 next inode number, u64 time (s),
 *   u64 live bytes of the log,
 *   u64 tail seq, u32 tail device, u64 tail slot  (first segment of the log),
 *   u64 head lpos                                 (end of the log),
 *   u64 prev tail seq, u32 prev tail device, u64 prev tail slot, u64 prev head
 *                  (the log of checkpoint gen - 1: segments from its tail to
 *                  this tail are kept until the next checkpoint),
 *   u32 tail mirror device, u64 tail mirror slot, u32 prev tail mirror
 *   device, u64 prev tail mirror slot (every segment has two copies),
 *   u32 zoned device counters, then per counter u32 device, u64 user bytes,
 *   u64 device bytes (write amplification).
 */
struct tfs_ckh {
	uint64_t gen;
	uint64_t jseq;
	uint64_t next_ino;
	uint64_t time;
	uint64_t live;
	uint64_t tail_seq;
	uint32_t tail_dev;
	uint64_t tail_slot;
	uint64_t head;
	uint64_t ptail_seq;
	uint32_t ptail_dev;
	uint64_t ptail_slot;
	uint64_t phead;
	uint32_t tail_dev2, ptail_dev2;
	uint64_t tail_slot2, ptail_slot2;
	uint32_t nzstat;
	struct {
		uint32_t dev;
		uint64_t user, all;
	} zstat[TFS_CKH_MAX_ZSTAT];
};

void tfs_ckh_encode(const struct tfs_ckh *h, uint64_t pool_seed, uint8_t *out /* TFS_CKH_SIZE */);
/* 0, -ENOENT (no header: zeros or another magic), -EINVAL (damaged) */
int tfs_ckh_decode(struct tfs_ckh *h, uint64_t pool_seed, const uint8_t *in);

/* ---------------------------------------------------------------- journal */

#define TFS_JRNL_MAGIC 0x334a5354u /* "TSJ3" */
#define TFS_JHDR_SIZE 48u
#define TFS_JF_END 1u /* an end marker: no records, closes the journal */

/*
 * Journal transaction: a 48-byte header and its records, padded to a
 * TFS_BLOCK_SIZE boundary (a cache line on pmem):
 *   u32 magic, u32 payload length, u64 sequence, u32 record count, u32
 *   flags (TFS_JF_*), u64 next inode number, u64 XXH3 of the payload, u64
 *   XXH3 of the first 40 header bytes; both seeded with pool seed ^ seq.
 * Every commit also writes an end marker (a header with TFS_JF_END and the
 * next sequence) right after its transaction, which the next commit
 * overwrites.  A transaction that does not verify but is followed by a
 * valid one with a later sequence (at least that marker) was acknowledged
 * and then damaged: that is corruption, never a torn tail.
 *
 * Journal records: u16 type, u16 zero, u32 payload length, payload.
 */
enum tfs_jrec {
	TFS_J_INODE = 1,    /* the whole inode (tfs_inode_rec) */
	TFS_J_INODE_FREE,   /* u64 ino: the inode and all it owns are gone */
	TFS_J_DIRENT_ADD,   /* u64 dir, u64 cookie, u64 ino, u16 len, name */
	TFS_J_DIRENT_DEL,   /* u64 dir, u16 len, name */
	TFS_J_XATTR_SET,    /* u64 ino, u16 len, name, u32 len, value */
	TFS_J_XATTR_DEL,    /* u64 ino, u16 len, name */
	TFS_J_CHUNK,	    /* a chunk's place, flags, hole mask and the checksums
			     * of the blocks written since the last commit */
	TFS_J_CHUNK_FREE,   /* u64 ino, u64 idx */
	TFS_J_UNMOUNT,	    /* u64 0: a clean stop */
	TFS_J_DEVSTAT,	    /* u16 dev, u64 user bytes, u64 device bytes */
	TFS_J_CHUNK_TRUNC,  /* u64 ino, u64 idx: every chunk from idx on is gone */
	TFS_J_MAX
};

/*
 * TFS_J_CHUNK payload: u64 ino, u64 idx, u16 dev, u8 flags (TFS_CF_*),
 * u64 slot, with TFS_CF_OGEN u32 object generation, u32 blocks per chunk,
 * u64[W] data mask, with TFS_CF_INTENT
 * u64[W] intent mask, u64[W] checksum mask, u32 checksum per block set in
 * the checksum mask (W = blocks / 64, at least 1).  A chunk that moved
 * carries all its checksums.
 */
#define TFS_CF_OGEN 2u /* (format 7) a u32 follows the slot: the generation of
			* the chunk's object in the rados tier */
#define TFS_CF_INTENT 1u /* the blocks of the intent mask may be overwritten in
			  * place (write intent): after a crash they are
			  * re-checksummed if they no longer match */

/* ---------------------------------------------------------------- metadata log */

#define TFS_LOG_PAGE 4096u
#define TFS_SEG_MAGIC 0x53534654u  /* "TFSS" */
#define TFS_LPG_MAGIC 0x4c534654u  /* "TFSL" */
#define TFS_LPG_HDR 24u
#define TFS_LPG_PAYLOAD (TFS_LOG_PAGE - TFS_LPG_HDR - 8)
#define TFS_LPG_NOREC 0xffffu

/*
 * A log position (lpos) is seq * segment size + byte offset in the segment:
 * it grows forever and names one byte of the log.  Segment seq lives in the
 * chunk slot the previous segment's header names.
 *
 * Every segment is written twice, to two chunk slots (on two devices when
 * the pool has two that take metadata): the copies are byte for byte the
 * same, and a page that does not verify in one is read from the other.
 *
 * Segment header (page 0 of a segment): u32 magic, u32 version, u64 seq,
 * u64 gen (the checkpoint that opened it), u32 next device, u32 zero, u64 next
 * slot, u32 next mirror device, u32 zero, u64 next mirror slot, then zeros;
 * the last 8 bytes XXH3-64 of the rest, seed pool seed ^ seq ^ 'S'.
 *
 * Log page (pages 1..n of a segment): u32 magic, u16 offset of the first
 * record that starts in this page (TFS_LPG_NOREC: none), u16 payload bytes
 * used, u64 lpos of the page, u64 gen, then TFS_LPG_PAYLOAD bytes of records
 * and last the XXH3-64 of the rest of the page, seed pool seed ^ lpos.  A
 * record may continue on the next page, after its header; a record header
 * never straddles two pages.  Each checkpoint starts on a fresh page.
 */
struct tfs_seg_hdr {
	uint64_t seq;
	uint64_t gen;
	uint32_t next_dev;
	uint64_t next_slot;
	uint32_t next_dev2;
	uint64_t next_slot2;
};
void tfs_seg_encode(const struct tfs_seg_hdr *s, uint64_t pool_seed, uint8_t *out /* PAGE */);
int tfs_seg_decode(struct tfs_seg_hdr *s, uint64_t pool_seed, const uint8_t *in);

struct tfs_lpg_hdr {
	uint16_t first, used;
	uint64_t lpos, gen;
};
/* fills the header and the checksum of a page whose payload is in place */
void tfs_lpg_seal(const struct tfs_lpg_hdr *h, uint64_t pool_seed, uint8_t *page);
/* 0, or -EINVAL (not the page that belongs at @lpos, or damaged) */
int tfs_lpg_check(struct tfs_lpg_hdr *h, uint64_t pool_seed, uint64_t lpos, const uint8_t *page);

/*
 * Log record: a 24-byte header - u8 type, u8 device, u16 zero, u32 body
 * length, u64 inode (the unit's owner), u64 sub (which unit of it) - and
 * the body.  Units and their bodies:
 *   TFS_L_INODE   (ino, 0)       the inode, encoded as TFS_J_INODE
 *   TFS_L_XATTRS  (ino, 0)       u32 count, then per xattr u16 name length,
 *                                name, u32 value length, value
 *   TFS_L_DIRBLK  (dir, k)       the entries with cookies in [64k, 64k+64):
 *                                u32 count, then u64 cookie, u64 ino, u16
 *                                name length, name
 *   TFS_L_CGROUP  (ino, g)       chunks g*64 .. g*64+63: u64 present mask,
 *                                then per present chunk u16 device, u8
 *                                flags, u64 slot, with TFS_CF_OGEN u32
 *                                object generation, u64[W] data mask, and
 *                                with TFS_CF_INTENT u64[W] intent mask
 *   TFS_L_CSDIR   (0, k), dev    descriptors of checksum pages 256k .. +255
 *                                of device dev: u32 count, u32 cur, u32 prev
 *                                per page (TFS_CSD_*)
 *   TFS_L_DEL_INODE  (ino, 0)    every unit of ino before it is gone
 *   TFS_L_DEL_DIRBLK (dir, k), TFS_L_DEL_CGROUP (ino, g), TFS_L_DEL_XATTRS
 *   (ino, 0): that unit is gone
 */
#define TFS_LREC_HDR 24u
enum tfs_lrec {
	TFS_L_PAD = 0,
	TFS_L_INODE,
	TFS_L_XATTRS,
	TFS_L_DIRBLK,
	TFS_L_CGROUP,
	TFS_L_CSDIR,
	TFS_L_DEL_INODE,
	TFS_L_DEL_DIRBLK,
	TFS_L_DEL_CGROUP,
	TFS_L_DEL_XATTRS,
	TFS_L_MAX
};
#define TFS_DIRBLK_SHIFT 6  /* 64 cookies per directory block */
#define TFS_CGROUP_SHIFT 6  /* 64 chunks per chunk group */
#define TFS_CSDIR_SHIFT 8   /* 256 checksum page descriptors per unit */

/* ---------------------------------------------------------------- checksum pages */

#define TFS_CS_MAGIC 0x43534654u /* "TFSC" */
#define TFS_CS_HDR 64u

/*
 * Checksum page (s_cs_psize bytes, a multiple of 4 KiB): u32 magic, u16
 * device, u16 copy, u64 page number, u32 gen, u32 entries, u8[24] poison
 * bitmap (entry i's checksums are lost: its blocks read as EIO), zeros up to
 * byte 64, then s_cs_per_page entries of (blocks per chunk) u32 checksums,
 * and in the last 8 bytes the XXH3-64 of the rest (seed pool seed ^ device
 * << 48 ^ page << 1 ^ copy).
 *
 * Page descriptor (in TFS_L_CSDIR records): cur = gen of the newest copy |
 * copy << 31 (gen 0: never written), prev = gen of the other copy (0: none).
 */
#define TFS_CS_POISON_MAX 192 /* entries per page at most (bitmap bits) */
#define TFS_CSD_GEN(d) ((d) & 0x7fffffffu)
#define TFS_CSD_COPY(d) ((d) >> 31)

struct tfs_cs_hdr {
	uint16_t dev, copy;
	uint64_t page;
	uint32_t gen, entries;
	uint8_t poison[TFS_CS_POISON_MAX / 8];
};
void tfs_cs_seal(const struct tfs_cs_hdr *h, uint64_t pool_seed, uint8_t *page, size_t psize);
/* 0, or -EINVAL: not (dev, page, copy) of this pool, or damaged */
int tfs_cs_check(struct tfs_cs_hdr *h, uint64_t pool_seed, uint16_t dev, uint64_t page,
		 uint16_t copy, const uint8_t *in, size_t psize);

/* geometry of checksum pages for a chunk of @blocks blocks */
void tfs_cs_geometry(uint32_t blocks, uint32_t *psize, uint32_t *per_page);

#endif /* TFS_META_FORMAT_H */

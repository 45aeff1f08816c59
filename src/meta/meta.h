/*
 * src/meta/meta.h - the metadata layer: how the pool's metadata becomes
 * durable and comes back.  The on-media format is in format.h.
 *
 * The layer knows devices (io.h) and bytes, not files: it owns the journal,
 * the metadata log, the checksum tables and the checkpoint headers, decides
 * what a mount loads and what is damaged, and keeps the accounting that
 * turns "no room for metadata" into ENOSPC.  What records mean is the
 * namespace's business: it hands the layer a table of callbacks (struct
 * tfs_meta_ops) to apply records at mount, to serialise a unit at a
 * checkpoint and to add the states of changed objects to a commit.
 *
 * The namespace, for its part, under its own lock (the pool lock, which the
 * layer takes for short batches):
 *   - appends journal records describing each change (tfs_meta_jbuf),
 *   - marks the log units the change touched (tfs_meta_dirty) and queues a
 *     tombstone for a persisted unit that disappears (tfs_meta_tomb),
 *   - asks before growing metadata (tfs_meta_room) and before taking a data
 *     slot (tfs_meta_log_slots: what the log may still need).
 * Durability points are tfs_meta_commit() (fsync) and checkpoints, taken by
 * the daemon's background thread (tfs_meta_checkpoint_if_wanted).
 *
 * Errors: 0 or a count, or -errno.
 */
#ifndef TFS_META_H
#define TFS_META_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"
#include "io.h"

/* ---- logging (log.c) ---- */
extern int tfs_log_verbose;
void tfs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define TFS_LOG_ERR 0
#define TFS_LOG_WARN 1
#define TFS_LOG_INFO 2
#define TFS_LOG_DEBUG 3
#define tfs_err(...) tfs_log(TFS_LOG_ERR, __VA_ARGS__)
#define tfs_warn(...) tfs_log(TFS_LOG_WARN, __VA_ARGS__)
#define tfs_info(...) tfs_log(TFS_LOG_INFO, __VA_ARGS__)
#define tfs_debug(...) tfs_log(TFS_LOG_DEBUG, __VA_ARGS__)
void tfs_log_to_syslog(void);
void tfs_log_stderr(int on); /* errors and warnings on stderr as well as syslog */
/* a message that can repeat for every request (a damaged page read again
 * and again): at most 10 a minute per limiter, then how many were left out */
struct tfs_ratelimit {
	uint64_t start_s;
	unsigned int n, dropped;
};
#define TFS_RATELIMIT_INIT { 0, 0, 0 }
void tfs_log_rl(struct tfs_ratelimit *rl, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- byte buffers for on-media encoding (codec.c) ---- */
struct tfs_wbuf {
	uint8_t *b;
	size_t len, cap;
	int err; /* sticky -ENOMEM */
};
struct tfs_rbuf {
	const uint8_t *p;
	size_t len, pos;
	int err; /* sticky -EINVAL on overrun */
};
void tfs_put_u8(struct tfs_wbuf *w, uint8_t v);
void tfs_put_u16(struct tfs_wbuf *w, uint16_t v);
void tfs_put_u32(struct tfs_wbuf *w, uint32_t v);
void tfs_put_u64(struct tfs_wbuf *w, uint64_t v);
void tfs_put_bytes(struct tfs_wbuf *w, const void *p, size_t n);
uint8_t tfs_get_u8(struct tfs_rbuf *r);
uint16_t tfs_get_u16(struct tfs_rbuf *r);
uint32_t tfs_get_u32(struct tfs_rbuf *r);
uint64_t tfs_get_u64(struct tfs_rbuf *r);
const void *tfs_get_bytes(struct tfs_rbuf *r, size_t n);
void tfs_wbuf_free(struct tfs_wbuf *w);
int tfs_wbuf_reserve(struct tfs_wbuf *w, size_t n);
uint64_t tfs_hash(const void *p, size_t n, uint64_t seed); /* XXH3-64 */
/* a journal record: "u16 type, u16 0, u32 length" then the payload; returns
 * where the header is, for tfs_rec_end() */
size_t tfs_rec_begin(struct tfs_wbuf *w, unsigned int type);
void tfs_rec_end(struct tfs_wbuf *w, size_t at);

/* ---- superblock (super.c) ---- */
void tfs_sb_encode(const struct tfs_sb *sb, uint8_t *out /* TFS_SB_SIZE */);
/* 0, -EINVAL (bad checksum or fields), -ENOENT (no tierfs magic),
 * -EPROTONOSUPPORT (a tierfs superblock of a format this tierfs does not read:
 * sb->s_version) */
int tfs_sb_decode(struct tfs_sb *sb, const uint8_t *in);
/* read both copies of @dev's superblock; rewrites a bad copy if @repair */
int tfs_sb_read(struct tfs_io_dev *dev, struct tfs_sb *sb, int repair);
int tfs_sb_write(struct tfs_io_dev *dev, const struct tfs_sb *sb);
/* both copies as they are on the media into @buf (2 * TFS_SB_SIZE) */
void tfs_sb_read_raw(struct tfs_io_dev *dev, uint8_t *buf);
/* name of a known foreign signature at the start of @buf (>= 68 KiB), or NULL */
const char *tfs_sb_foreign(const uint8_t *buf, size_t len);
void tfs_uuid_gen(uint8_t uuid[16]);
void tfs_uuid_str(const uint8_t uuid[16], char out[37]);

/* ---- units ---- */
/*
 * A unit is what one log record describes: an inode, its xattrs, a block
 * of a directory, a group of a file's chunks, a block of checksum page
 * descriptors.  @type is its TFS_L_* record type (TFS_L_DEL_* for a
 * tombstone).
 */
struct tfs_ukey {
	uint8_t type;
	uint8_t dev;
	uint64_t ino;
	uint64_t sub;
};

struct tfs_meta;

struct tfs_meta_ops {
	/* mount: apply journal record @type (payload in @r) */
	int (*japply)(void *ctx, unsigned int type, struct tfs_rbuf *r);
	/* mount: apply log record of unit @k (body in @r; the record is @size
	 * bytes at @lpos); *old: the bytes of earlier records it makes dead.
	 * Not called for TFS_L_CSDIR, which is the layer's. */
	int (*lapply)(void *ctx, const struct tfs_ukey *k, struct tfs_rbuf *r, uint64_t lpos,
		      uint32_t size, uint64_t *old);
	/* commit, pool lock held: append to @w the records of every object
	 * changed since the last commit whose state is written at commit time,
	 * counting them in *nrec; return an opaque handle for jdone (slots
	 * freed meanwhile, released once the commit is durable) */
	void *(*jtake)(void *ctx, struct tfs_wbuf *w, uint32_t *nrec, uint64_t *next_ino);
	void (*jdone)(void *ctx, void *handle, int ok);
	/* checkpoint, pool lock held: append the body of unit @k to @w for a
	 * record at @lpos whose header is @hdr bytes; remember (lpos, record
	 * size) and clear its dirty mark.  Returns 1, or 0 when the unit is
	 * gone (nothing written).  *old: the size of its previous record (0:
	 * none). */
	int (*uwrite)(void *ctx, const struct tfs_ukey *k, struct tfs_wbuf *w, uint64_t lpos,
		      size_t hdr, uint32_t *old);
	/* cleaning, pool lock held: the record of unit @k at @lpos is in a
	 * segment about to be freed; mark the unit dirty if that record is its
	 * newest.  Returns the bytes it will take again (0 if not live). */
	uint32_t (*uclean)(void *ctx, const struct tfs_ukey *k, uint64_t lpos);
	/* mount: the next inode number a transaction or checkpoint recorded */
	void (*set_next_ino)(void *ctx, uint64_t ino);
	/* checkpoint header: the namespace's counters (zoned devices) into
	 * @h, and back at mount */
	void (*hdr_fill)(void *ctx, struct tfs_ckh *h);
	void (*hdr_load)(void *ctx, const struct tfs_ckh *h);
	/* repair: mark every unit dirty (the whole state goes into a new log) */
	void (*dirty_all)(void *ctx);
	/* mount: forget everything applied so far (a damaged checkpoint is
	 * dropped before the older one is tried) */
	void (*reset)(void *ctx);
	/* log segments: take a free chunk slot on a device written in place
	 * (pool lock held), give one back; -ENOSPC when there is none.
	 * @other: the device of the copy the new slot mirrors (another device
	 * is preferred), or -1 */
	int (*seg_alloc)(void *ctx, int other, uint16_t *dev, uint64_t *slot);
	void (*seg_free)(void *ctx, uint16_t dev, uint64_t slot);
};

struct tfs_meta_env {
	const struct tfs_sb *sb;
	struct tfs_io_dev *dev;	/* the pool's devices, sb->s_ndev of them */
	pthread_mutex_t *lock;	/* the pool lock */
	const struct tfs_meta_ops *ops;
	void *ctx;
	uint64_t cs_cache_bytes; /* checksum page cache (0: default) */
};

/* tfs_meta_open flags */
#define TFS_META_RDONLY (1u << 0)  /* write nothing (fsck -n, mount -o ro) */
#define TFS_META_SALVAGE (1u << 1) /* load what verifies, report the rest */

/*
 * Open the metadata of a pool whose superblock and devices are in @env:
 * load the newest checkpoint that verifies, replay the journal.  Damage is
 * logged and summed up in the report (tfs_meta_report).  Returns 0, or
 * -EUCLEAN when the pool cannot be loaded whole (see the report; with
 * TFS_META_SALVAGE what could be loaded is there), or -errno.
 */
int tfs_meta_open(struct tfs_meta **out, const struct tfs_meta_env *env, unsigned int flags);
/* the first checkpoint of a new pool (mkfs): the namespace has made and
 * marked the root; zeroes the journal */
int tfs_meta_format(struct tfs_meta **out, const struct tfs_meta_env *env);
/* after the namespace finished loading: the log's segments (to mark them
 * used), call @fn for each */
/* the whole state into a new log in slots allocated now (two checkpoints:
 * afterwards no segment of either checkpoint is where the old log was) */
int tfs_meta_rewrite(struct tfs_meta *m);
/* 1 if a segment of the log (or one kept for the older checkpoint) has a
 * copy on @dev; pool lock held */
int tfs_meta_dev_in_log(struct tfs_meta *m, unsigned int dev);
/* the device table changed (a device added, one draining or removed):
 * @sb's table replaces the layer's copy; new devices get empty checksum
 * tables.  Pool lock held. */
int tfs_meta_devices(struct tfs_meta *m, const struct tfs_sb *sb);
void tfs_meta_segments(struct tfs_meta *m, void (*fn)(void *arg, uint16_t dev, uint64_t slot),
		       void *arg);
void tfs_meta_close(struct tfs_meta *m);

/* what a load found; counters are of problems */
struct tfs_meta_report {
	uint64_t gen;		  /* checkpoint loaded */
	int older;		  /* the newest checkpoint did not load: an older one did */
	int recovered;		  /* ... and the journal gave everything after it */
	unsigned int ckh_bad;	  /* checkpoint header slots damaged */
	unsigned int log_bad;	  /* log pages (or segment headers) damaged */
	unsigned int log_lost;	  /* of them, in the log of the loaded checkpoint */
	unsigned int log_redund;  /* log page copies damaged whose twin is intact */
	unsigned int jrnl_bad;	  /* journal transactions damaged */
	unsigned int jrnl_lost;	  /* of them, live: acknowledged changes lost */
	unsigned int cs_bad;	  /* checksum page copies damaged (fsck) */
	uint64_t jrnl_applied;	  /* transactions replayed */
	int clean;		  /* the last stop was a clean unmount */
	int jcont;		  /* the journal went on in the other half */
	int need_ckpt;		  /* a read-write mount must write a checkpoint
				   * before anything else */
	char what[512];		  /* the first problem, in words */
};
const struct tfs_meta_report *tfs_meta_report(const struct tfs_meta *m);
/* 1 when the loaded state may lack acknowledged changes: a read-write
 * mount must be refused */
int tfs_meta_lossy(const struct tfs_meta *m);

/* ---- recording changes (pool lock held) ---- */
/* the buffer journal records go to; tfs_meta_jlogged() after each record */
struct tfs_wbuf *tfs_meta_jbuf(struct tfs_meta *m);
void tfs_meta_jlogged(struct tfs_meta *m);
/* @bytes more will be written at the next commit (states of dirty objects) */
void tfs_meta_jpend(struct tfs_meta *m, size_t bytes);
/* 1 when what waits for the next commit is large: a caller making many
 * changes in one go commits in between (no pool lock held) */
int tfs_meta_pending_high(const struct tfs_meta *m);
/* no lock held, before a change: when much waits for the next commit,
 * commit it now, so that what one commit takes stays well inside a journal
 * half (0 or -errno) */
int tfs_meta_throttle(struct tfs_meta *m);
/* no lock held, after ENOSPC: if a checkpoint would give log space back
 * (rewritten units, dead records) and something changed since the last
 * time, take one now: 1 if it ran, 0 if not, -errno */
int tfs_meta_reclaim(struct tfs_meta *m);
/* something changed (for group commit) */
void tfs_meta_changed(struct tfs_meta *m);
/* unit @k must be written at the next checkpoint; about @est bytes */
void tfs_meta_dirty(struct tfs_meta *m, const struct tfs_ukey *k, uint32_t est);
/* a unit whose records in the log took @size bytes is gone (k->type is its
 * tombstone type) */
void tfs_meta_tomb(struct tfs_meta *m, const struct tfs_ukey *k, uint64_t size);
/* 1 while loading (apply callbacks run): record nothing */
int tfs_meta_loading(const struct tfs_meta *m);

/*
 * Room.  The log keeps at least twice its live bytes in segments so that
 * cleaning its tail always pays; tfs_meta_log_slots(@add) is how many free
 * slots it still needs to hold @add more bytes that way.  The namespace
 * grants a change growing metadata by @add bytes only if the free slots
 * (minus the root reserve for others) cover it, and a data slot only if one
 * remains for the log after it.
 */
uint64_t tfs_meta_log_slots(const struct tfs_meta *m, uint64_t add);
/* 1 when the log cannot take more (no room to clean): changes stop with
 * ENOSPC until deletions make room */
int tfs_meta_readonly(const struct tfs_meta *m);

/* ---- durability ---- */
int tfs_meta_commit(struct tfs_meta *m);
/* commit if anything changed since @gen was read, else flush data */
int tfs_meta_sync(struct tfs_meta *m);
/* the background thread: take a checkpoint if one is wanted */
int tfs_meta_checkpoint_if_wanted(struct tfs_meta *m);
/* take one now (everything committed first); @quiet: nothing else runs */
int tfs_meta_checkpoint(struct tfs_meta *m, int quiet);
/* unmount: commit, checkpoint, clean-unmount record */
int tfs_meta_unmount(struct tfs_meta *m);
/* who to ask for a commit or checkpoint in the background */
void tfs_meta_set_kick(struct tfs_meta *m, void (*kick)(void *arg), void *arg);
/* tests: @fn runs between two batches of a checkpoint's append, with no
 * lock held (where requests change the pool in a running daemon) */
void tfs_meta_set_batch_hook(struct tfs_meta *m, void (*fn)(void *arg), void *arg);

struct tfs_meta_stats {
	uint64_t commits, checkpoints, gen, jseq;
	uint64_t log_live, log_bytes, log_segments, ckpt_bytes_last, ckpt_us_last;
	uint64_t ckpt_pause_max_us, commit_pause_max_us;
	uint64_t cs_cached_bytes, cs_dirty_bytes, cs_hits, cs_misses;
};
void tfs_meta_stats(struct tfs_meta *m, struct tfs_meta_stats *st);

/* ---- block checksums (csum.c) ---- */
/* the checksums of the blocks set in @want (a mask over the chunk's
 * blocks; NULL: all) among [b0, b0 + n) of the chunk in (dev, slot) into
 * @out[b - b0]: 0, -EIO (their page is damaged or lost), -ENOMEM */
int tfs_cs_get(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint32_t b0, uint32_t n,
	       const uint64_t *want, uint32_t *out);
/* new checksums of blocks [b0, b0 + n) */
int tfs_cs_put(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint32_t b0, uint32_t n,
	       const uint32_t *cs);
/* the slot begins a new chunk: nothing of its old checksums is wanted */
void tfs_cs_reset(struct tfs_meta *m, unsigned int dev, uint64_t slot);
/* commit: the checksums put since the last commit: fills @mask (W words)
 * and @vals (one per bit), clears them; returns the count */
int tfs_cs_jtake(struct tfs_meta *m, unsigned int dev, uint64_t slot, uint64_t *mask,
		 uint32_t *vals);
/* replay of a journal record: checksums for the blocks in @mask */
int tfs_cs_replay(struct tfs_meta *m, unsigned int dev, uint64_t slot, const uint64_t *mask,
		  const uint32_t *vals);

/* ---- checking (fsck) ---- */
/* verify every redundant copy: both checkpoint headers, the logs of both
 * checkpoints, both journal halves, every checksum page copy still needed.
 * Each problem is printed to @out; returns how many. */
unsigned int tfs_meta_verify(struct tfs_meta *m, FILE *out);
/* the same on a mounted pool: checkpoints wait until it is done (commits
 * do not); the journal's newer half, being written, is not read */
unsigned int tfs_meta_scrub(struct tfs_meta *m, FILE *out);
/* repair: write checkpoints until both generations are whole again
 * (damaged checksum pages are rewritten, their lost entries poisoned) */
int tfs_meta_repair(struct tfs_meta *m);
/* read-write mount: metadata pages found damaged in one copy while loading
 * are rewritten from the intact one; how many, or -errno */
int tfs_meta_heal(struct tfs_meta *m);
/* the on-media regions, one line each: "region dev offset length
 * live|stale description" (fsck.tierfs --map) */
void tfs_meta_map(struct tfs_meta *m, FILE *out);

#endif /* TFS_META_H */

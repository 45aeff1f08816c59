/*
 * src/meta/meta_i.h - internals of the metadata layer, shared by its files:
 *
 *   journal.c  transactions: write with an end marker, replay, damage
 *   mlog.c     the metadata log: segments, page placement, reading, cleaning
 *   csum.c     the checksum tables: overlay of new checksums, page cache,
 *              page descriptors, checkpoint writes
 *   ckpt.c     commits, checkpoints, headers, loading a pool, room
 *   verify.c   fsck: every redundant copy, the region map, repair
 *
 * Locks, outermost first: commit_lock (commits and checkpoints), the pool
 * lock (env.lock: dirty units, journal buffer, log placement, namespace),
 * cs.lock (checksum overlay and cache).  No I/O under the pool lock or
 * cs.lock.
 */
#ifndef TFS_META_I_H
#define TFS_META_I_H

#include "meta.h"

/* ---------------------------------------------------------------- journal */
struct jrnl {
	uint64_t off, half;	/* on the metadata device; bytes per half */
	uint64_t align;		/* transaction alignment */
	int byte;		/* pmem: commit by an 8-byte store */
	unsigned int cur;	/* half being written */
	uint64_t pos;		/* next transaction's offset in it */
	uint64_t seq;		/* next transaction's sequence */
};

/* ---------------------------------------------------------------- log */
struct mseg {			/* a segment: its two copies */
	uint64_t seq;
	uint16_t dev, dev2;
	uint64_t slot, slot2;
};

struct mheal {			/* a damaged page copy and what belongs there */
	uint16_t dev;
	uint64_t off;
	uint8_t *page;
};

struct mpage {		/* a sealed log page waiting to be written */
	uint8_t *buf;
	uint16_t dev;
	uint64_t off;	/* on dev */
};

struct mlog {
	uint32_t segsize;	/* bytes: one chunk slot */
	struct mseg *seg;	/* segments from the tail (ring of cap) */
	size_t first, nseg, cap;
	struct mseg next;	/* reserved successor of the last segment */
	int have_next;
	uint64_t head;		/* lpos: end of what the newest checkpoint holds */
	struct mseg ptail;	/* tail of the previous checkpoint */
	uint64_t phead;
	struct mseg *defer;	/* cleaned by the last checkpoint: free after the next */
	size_t ndefer, cdefer;
	struct mseg *clean;	/* cleaned by the running checkpoint */
	size_t nclean, cclean;
	/* the append of a running checkpoint (pool lock) */
	uint64_t gen;
	uint64_t cur;		/* lpos of the next byte */
	uint8_t *page;		/* the page being filled */
	uint16_t pfirst;	/* its first-record offset */
	struct mpage *out;	/* sealed, to be written */
	size_t nout, cout;
	uint64_t appended;	/* bytes appended by this checkpoint */
	/* page copies found damaged while the other copy verified: rewritten
	 * by a read-write mount (mlog_heal) */
	struct mheal *heal;
	size_t nheal, cheal;
};

/* ---------------------------------------------------------------- checksums */
struct cs_ent {			/* new checksums of one slot, not yet in a page */
	struct cs_ent *next;
	uint64_t key;		/* dev << 56 | slot */
	uint32_t ver;		/* bumped by every change */
	uint32_t pad;
	uint64_t mask[];	/* dmask[W] (blocks with a checksum here), jmask[W]
				 * (put since the last commit), then u32 csum[blocks] */
};

struct cs_page {		/* a cached checksum page */
	struct cs_page *next;	/* hash chain */
	struct cs_page *lprev, *lnext; /* LRU */
	uint64_t key;		/* dev << 56 | page */
	uint8_t *data;		/* psize bytes, as on the media */
};

struct cs_dev {
	uint32_t host;		/* device the table is on */
	uint64_t off;		/* byte offset of page 0 copy 0 on it */
	uint64_t npages;
	uint32_t (*desc)[2];	/* per page: cur (gen | copy << 31), prev gen */
	uint64_t nunits;	/* TFS_L_CSDIR units */
	uint64_t *ulpos;	/* per unit: its record in the log (0: none) */
	uint32_t *usize;
	uint8_t *udirty;
};

struct cs_wpage {		/* a page written by the running checkpoint */
	uint16_t dev;
	uint64_t page;
	uint32_t newdesc;
	uint8_t *data;
	uint8_t *twin;		/* a page written for the first time goes to both
				 * copies: this is the other one (else NULL) */
	struct cs_ent **ents;	/* overlay entries merged, and their versions */
	uint32_t *vers;
	uint32_t nents;
};

struct csstore {
	pthread_mutex_t lock;
	uint32_t blocks, words, psize, per_page;
	size_t entsize;		/* bytes of a struct cs_ent */
	struct cs_dev dev[TFS_MAX_DEVS_FMT];
	unsigned int ndev;
	/* overlay: hash by key */
	struct cs_ent **ob;
	size_t onb, ocount;
	/* cache */
	struct cs_page **cb;
	size_t cnb, ccount;
	struct cs_page lru;	/* list head */
	uint64_t cbytes, climit;
	uint64_t hits, misses;
	uint64_t wbytes;	/* written by the last checkpoint */
	/* the running checkpoint's pages */
	struct cs_wpage *wp;
	size_t nwp;
	int writing;
};

/* ---------------------------------------------------------------- a commit */
struct mcommit {
	struct tfs_wbuf w;	/* records: logged ones, then states */
	size_t atomic;		/* the logged ones end here: one transaction */
	size_t pos;		/* written up to here */
	uint32_t nrec;
	void *handle;		/* the namespace's, for jdone */
	uint64_t gen, next_ino;
};

/* ---------------------------------------------------------------- the layer */
struct tfs_meta {
	struct tfs_meta_env env;
	struct tfs_sb sb;	/* a copy: env.sb may go */
	unsigned int ndev;
	uint64_t seed;
	unsigned int flags;
	uint32_t blocks, words;
	int failed;		/* a commit or checkpoint failed: no more changes */
	int loading;

	pthread_mutex_t commit_lock;
	pthread_cond_t ckpt_cond;

	/* pool lock */
	struct tfs_wbuf jbuf;
	uint32_t jnrec;
	uint64_t jpend;
	uint64_t change_gen;
	uint64_t reclaim_gen;	/* change_gen at the last tfs_meta_reclaim */
	int commit_kicked;

	struct mcommit carry;	/* taken, not all written: goes first next time */

	/* commit_lock */
	uint64_t committed_gen;
	struct jrnl j;
	struct tfs_ckh ck;	/* the newest durable checkpoint */
	int scrubbing;		/* tfs_meta_scrub reads: checkpoints wait */
	int building, wanted;
	void (*kick)(void *arg);
	void *kick_arg;
	void (*batch_hook)(void *arg);	/* tests: between checkpoint batches */
	void *batch_arg;

	/* pool lock: units to write at the next checkpoint */
	struct tfs_ukey *dirty;
	size_t ndirty, cdirty;
	uint64_t pend_bytes;	/* estimated bytes they will take */
	uint64_t live;		/* bytes of live records in the log */

	struct mlog log;
	struct csstore cs;
	struct tfs_meta_report rep;

	/* statistics */
	uint64_t commits, checkpoints, ckpt_bytes_last, ckpt_us_last;
	uint64_t ckpt_pause_max_us, commit_pause_max_us;
};

#define META_SEED(m) ((m)->seed)

/* journal.c */
void jrnl_init(struct tfs_meta *m);
uint64_t jrnl_span(const struct tfs_meta *m, uint64_t len);
/* 1 if a transaction of @len payload bytes (and its end marker) fits */
int jrnl_fits(const struct tfs_meta *m, uint64_t len);
int jrnl_write(struct tfs_meta *m, const uint8_t *p, size_t len, uint32_t nrec, uint64_t next_ino);
int jrnl_zero(struct tfs_meta *m);
/* replay from @seq in half @half; see journal.c */
int jrnl_replay(struct tfs_meta *m, uint64_t seq, unsigned int half, int salvage);
/* fsck: check the transactions of both halves the two newest checkpoints
 * need; print problems; returns how many */
unsigned int jrnl_verify(struct tfs_meta *m, uint64_t pjseq, FILE *out);
void jrnl_map(struct tfs_meta *m, uint64_t pjseq, FILE *out);

/* mlog.c */
int mlog_init(struct tfs_meta *m);
void mlog_free(struct tfs_meta *m);
/* load the log of header @h: replay every record (namespace through
 * ops->lapply, descriptors into the checksum store); -EUCLEAN on damage
 * (with @salvage: skip it, counted in the report) */
int mlog_load(struct tfs_meta *m, const struct tfs_ckh *h, int salvage);
/* segments [ptail, tail) of @h: kept for the older checkpoint */
int mlog_load_deferred(struct tfs_meta *m, const struct tfs_ckh *h);
void mlog_reset(struct tfs_meta *m);
/* pool lock: start an append for checkpoint @gen; place a record of @len
 * bytes (header included) at the next position: returns its lpos, or 0 on
 * error (no segment) */
int mlog_begin(struct tfs_meta *m, uint64_t gen);
uint64_t mlog_start(struct tfs_meta *m);
int mlog_put(struct tfs_meta *m, const uint8_t *p, size_t len);
int mlog_end(struct tfs_meta *m);
/* no lock: write the sealed pages */
int mlog_flush_out(struct tfs_meta *m);
/* checkpoint: clean tail segments while the log is more than twice its live
 * bytes (reads them, marks their live units dirty) */
int mlog_clean(struct tfs_meta *m);
/* pool lock: the running checkpoint writes a whole new log (repair) */
int mlog_drop_all(struct tfs_meta *m);
/* after the header is durable: free what the older checkpoint no longer needs */
void mlog_publish(struct tfs_meta *m, const struct tfs_ckh *h);
uint64_t mlog_tail_lpos(const struct tfs_meta *m);
void mlog_fill_header(struct tfs_meta *m, struct tfs_ckh *h);
/* fsck: verify both copies of the logs of @h and of the checkpoint before it */
unsigned int mlog_verify(struct tfs_meta *m, const struct tfs_ckh *h, FILE *out);
/* rewrite the damaged page copies found while loading from their intact
 * twins; how many */
int mlog_heal(struct tfs_meta *m);
void mlog_map(struct tfs_meta *m, const struct tfs_ckh *h, FILE *out);

/* csum.c */
int cs_init(struct tfs_meta *m, uint64_t cache_bytes);
/* device @sd's table: its place and empty descriptors (freed by cs_free) */
int cs_dev_init(struct cs_dev *cd, const struct tfs_sb_dev *sd);
void cs_free(struct tfs_meta *m);
void cs_reset(struct tfs_meta *m);
/* log replay of a TFS_L_CSDIR record */
int cs_load_unit(struct tfs_meta *m, unsigned int dev, uint64_t unit, struct tfs_rbuf *r,
		 uint64_t lpos, uint32_t size);
/* checkpoint: write every page with new checksums into its other copy */
int cs_ckpt_write(struct tfs_meta *m, uint32_t gen);
/* after the header (@ok: it is durable): descriptors, cache, overlay */
void cs_ckpt_publish(struct tfs_meta *m, int ok);
/* pool lock: write CSDIR unit @k (returns 1) */
int cs_unit_write(struct tfs_meta *m, const struct tfs_ukey *k, struct tfs_wbuf *w,
		  uint64_t lpos, uint32_t *old);
uint32_t cs_unit_clean(struct tfs_meta *m, const struct tfs_ukey *k, uint64_t lpos);
uint64_t cs_overlay_bytes(struct tfs_meta *m);
/* fsck */
unsigned int cs_verify(struct tfs_meta *m, FILE *out);
void cs_map(struct tfs_meta *m, FILE *out);
/* mark every page with a damaged copy to be rewritten */
unsigned int cs_redirty_damaged(struct tfs_meta *m);

/* ckpt.c */
void meta_dirty_locked(struct tfs_meta *m, const struct tfs_ukey *k, uint32_t est);
int meta_io(struct tfs_io_dev *dev, unsigned int op, void *buf, size_t len, uint64_t off);
int meta_flush_dirty(struct tfs_meta *m);
void meta_problem(struct tfs_meta *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t meta_now_us(void);

#endif /* TFS_META_I_H */

/*
 * src/tfs.h - the tierfs daemon and tools: the pool in memory.
 *
 * struct tfs_fs is made of parts with one owner each:
 *   pool    devices, geometry, slot allocator, chunk objects, I/O counters
 *           (pool.c opens and assembles it)
 *   ns      the namespace in memory: inodes, directories, xattrs, chunk maps,
 *           and what changed since the last commit (fs.c, records.c)
 *   meta    the metadata layer (src/meta/): journal, log, checksum tables,
 *           checkpoints; the namespace talks to it through meta.h only
 *   zns     zoned devices: geometry, counters, the cleaner (zns.c)
 *   eng     heat and migration (tiering/engine.c, migrate.c)
 *
 * Nothing that answers a metadata request reads a device: inodes, names
 * and chunk maps are in memory; block checksums come from the metadata
 * layer's cache (or one read of a checksum page).
 *
 * Locking:
 *   fs->lock      the pool lock, a mutex: inode table, every inode's
 *                 attributes, directories, xattrs, chunk maps (writes),
 *                 allocator, chunk objects, dirty lists, and the metadata
 *                 layer's journal buffer and dirty units.  Held briefly;
 *                 never across device I/O.
 *   i_os->os_lock per open inode, taken before fs->lock: readers of file
 *                 data hold it shared (the chunk map is then stable
 *                 without fs->lock), writers, truncate and hole punching
 *                 hold it exclusively.  It exists while the inode is open
 *                 (i_nopen > 0); whoever takes it holds an open reference.
 *   the metadata layer's commit lock, taken before fs->lock; a commit never
 *                 takes an inode lock.
 */
#ifndef TFS_H
#define TFS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "io.h"
#include "meta.h"
#include "tier.h"

#define TFS_NAME_MAX 255
#define TFS_SYMLINK_MAX 4095
#define TFS_XATTR_NAME_MAX 255
#define TFS_XATTR_SIZE_MAX 65536
#define TFS_XATTRS_MAX (256u << 10) /* bytes of names and values of one inode */
#define TFS_MAX_FILE_SIZE (1ull << 44) /* bytes: 16 TiB */
#define TFS_ROOT_INO 1ull

_Static_assert(TFS_MAX_DEVS == TFS_MAX_DEVS_FMT, "device table sizes differ");

/* ---- hash table (hash.c): intrusive, chained, keyed by a 64-bit hash ---- */
struct tfs_hnode {
	struct tfs_hnode *h_next;
	uint64_t h_key;
};
struct tfs_htab {
	struct tfs_hnode **t_b;
	size_t t_size;	/* buckets, a power of two */
	size_t t_count; /* nodes */
};
int tfs_htab_init(struct tfs_htab *t, size_t size);
void tfs_htab_destroy(struct tfs_htab *t);
int tfs_htab_insert(struct tfs_htab *t, struct tfs_hnode *n);
void tfs_htab_remove(struct tfs_htab *t, struct tfs_hnode *n);
struct tfs_hnode *tfs_htab_find(const struct tfs_htab *t, uint64_t key);
struct tfs_hnode *tfs_htab_next(const struct tfs_hnode *n);
uint64_t tfs_hash_str(const char *s, size_t len);

/* ---- the namespace in memory ---- */
struct tfs_xattr {
	struct tfs_xattr *x_next;
	uint32_t x_namelen, x_len;
	char *x_name;
	uint8_t *x_value;
};

/* the xattrs of an inode: one unit of the metadata log */
struct tfs_xattrs {
	struct tfs_xattr *xs_list;
	uint64_t xs_lpos;	/* its record in the log (0: none) */
	uint32_t xs_lsize;
	uint32_t xs_bytes;	/* names and values */
	uint32_t xs_flags;	/* TFS_U_DIRTY */
};

#define TFS_U_DIRTY 1u /* a unit queued for the next checkpoint */

/* 26 bytes and the name: an 11-byte name fits a 48-byte allocation */
struct tfs_dirent {
	struct tfs_dirent *d_hnext; /* the directory's name hash */
	uint64_t d_cookie;	    /* readdir position, unique and growing per dir */
	uint64_t d_ino;
	uint16_t d_namelen;
	char d_name[];
};

/* a block of a directory: the entries with cookies in [64 k, 64 k + 64),
 * one unit of the metadata log */
struct tfs_dblk {
	uint64_t b_k;
	uint64_t b_lpos;	/* its record (0: none) */
	uint32_t b_lsize;
	uint32_t b_flags;	/* TFS_U_DIRTY */
};

/*
 * A directory: a name hash for lookups, and the entries in cookie order for
 * readdir.  New entries get the next cookie and go to the end, removed ones
 * leave a NULL that compaction squeezes out later, so a reader resuming at
 * any cookie sees every entry that existed throughout, once.
 */
struct tfs_dir {
	struct tfs_dirent **dr_hash;
	size_t dr_hsize;	/* buckets, a power of two */
	struct tfs_dirent **dr_ents; /* sorted by cookie, NULL = removed */
	size_t dr_len, dr_cap, dr_live;
	uint64_t dr_next_cookie;
	struct tfs_dblk *dr_blk; /* blocks with a record or dirty, by b_k */
	size_t dr_nblk, dr_cblk;
	uint64_t dr_parent;	/* the directory's parent (the root: itself) */
	int dr_unsorted;	/* loading: entries and blocks appended in log
				 * order, sorted once the log is loaded */
};

#define TFS_DIR_COOKIE_FIRST 3 /* 1 and 2 are "." and ".." */

/* inode flags (pool lock) */
#define TFS_I_JDIRTY (1u << 0)	    /* its state goes into the next commit */
#define TFS_I_PLACEHOLDER (1u << 1) /* referenced during a load, not yet seen */
#define TFS_I_SYNCED (1u << 2)	    /* fsynced since mount: its removal is made durable */
#define TFS_I_CDIRTY (1u << 3)	    /* its inode record goes into the next checkpoint */
#define TFS_I_NAMED (1u << 4)	    /* loading: a placeholder some entry names */
/* lifetime hints from names (tfs_name_hint), in memory only: set again by
 * the lookups after a mount */
#define TFS_I_LIFE_SHORT (1u << 5)  /* a log: rewritten or deleted soon */
#define TFS_I_LIFE_LONG (1u << 6)   /* written once, then only read (an SST) */
#define TFS_I_LOGDIR (1u << 7)	    /* a directory of logs (pg_wal) */
#define TFS_I_LIFE (TFS_I_LIFE_SHORT | TFS_I_LIFE_LONG | TFS_I_LOGDIR)
/* its owner's pins to its tier exceed -o pin_quota: placed as if unpinned
 * (set by each migration pass, src/migrate.c) */
#define TFS_I_PIN_OVER (1u << 8)

/* what exists of an inode only while it is open */
struct tfs_ostate {
	pthread_rwlock_t os_lock; /* file data, see top */
	/* cached writes refused for lack of space (ll_ops.c, tfs_ll_write):
	 * 1 + the offset of the first one (0: none), and whether a writer has
	 * yet to hear of it from write(2); atomics */
	uint64_t os_nospc;
	int os_nospc_report;
	/* 1 + the size the file had when cached writes began to make it
	 * longer since its last fsync (0: they have not, or since then
	 * another write made it longer, or it was truncated or fallocated):
	 * what a refused cached write may cut back (tfs_write_refused);
	 * under os_lock */
	uint64_t os_grow;
	/* writes under way (write_locked, from before its intents are noted
	 * to its landing): their intents do not expire meanwhile; atomic */
	unsigned int os_writes;
};

/* 152 bytes (160 with malloc's header): memory per inode is a published
 * number (see docs/ARCHITECTURE.md); times are kept as seconds and
 * nanoseconds apart, a directory's parent in its struct tfs_dir */
struct tfs_inode {
	struct tfs_inode *i_hnext; /* the inode table */
	uint64_t i_ino;
	uint32_t i_mode, i_uid, i_gid, i_nlink;
	uint32_t i_flags;    /* TFS_I_* */
	uint32_t i_nopen;    /* open references (handles, movers); pool lock */
	uint64_t i_nlookup;  /* kernel references (lookup count); pool lock */
	uint64_t i_size;     /* bytes */
	int64_t i_tsec[3];   /* TFS_AT, TFS_MT, TFS_CT: see tfs_itime() */
	uint32_t i_tnsec[3];
	uint32_t i_lsize;    /* its inode record in the log: size, position */
	uint64_t i_lpos;     /* (0: none) */
	union {
		uint64_t rdev;		/* devices */
		struct tfs_dir *dir;	/* directories */
		char *symlink;		/* symlinks */
	} i_u;
	struct tfs_xattrs *i_xattrs;
	struct tier_cmap i_map;	    /* regular files */
	struct tfs_ostate *i_os;    /* while open */
	uint64_t i_lparent;	    /* files: the directory of the name last looked up
				     * or made (names in reports; 0: none); pool lock */
};

static inline struct tfs_dir *tfs_idir(const struct tfs_inode *in)
{
	return S_ISDIR(in->i_mode) ? in->i_u.dir : NULL;
}

enum { TFS_AT, TFS_MT, TFS_CT }; /* access, modification, change times */
static inline struct timespec tfs_itime(const struct tfs_inode *in, unsigned int t)
{
	return (struct timespec){ .tv_sec = (time_t)in->i_tsec[t], .tv_nsec = in->i_tnsec[t] };
}
static inline void tfs_itime_set(struct tfs_inode *in, unsigned int t, struct timespec ts)
{
	in->i_tsec[t] = ts.tv_sec;
	in->i_tnsec[t] = (uint32_t)ts.tv_nsec;
}
/* the times in @mask ((1 << TFS_AT) | ...) become @ts */
static inline void tfs_itimes_set(struct tfs_inode *in, unsigned int mask, struct timespec ts)
{
	unsigned int t;

	for (t = 0; t < 3; t++)
		if (mask & (1u << t))
			tfs_itime_set(in, t, ts);
}
#define TFS_T_A (1u << TFS_AT)
#define TFS_T_M (1u << TFS_MT)
#define TFS_T_C (1u << TFS_CT)
/* a directory's parent (the root's is itself; 0 for anything else) */
static inline uint64_t tfs_iparent(const struct tfs_inode *in);
static inline void tfs_iparent_set(struct tfs_inode *in, uint64_t parent);
static inline uint64_t tfs_iparent(const struct tfs_inode *in)
{
	const struct tfs_dir *d = tfs_idir(in);

	return d ? d->dr_parent : 0;
}
static inline void tfs_iparent_set(struct tfs_inode *in, uint64_t parent)
{
	struct tfs_dir *d = tfs_idir(in);

	if (d)
		d->dr_parent = parent;
}
static inline const char *tfs_isymlink(const struct tfs_inode *in)
{
	return S_ISLNK(in->i_mode) ? in->i_u.symlink : NULL;
}
static inline uint64_t tfs_irdev(const struct tfs_inode *in)
{
	return S_ISCHR(in->i_mode) || S_ISBLK(in->i_mode) ? in->i_u.rdev : 0;
}
#define TFS_ILOCK(in) (&(in)->i_os->os_lock)

struct tfs_free_slot {
	uint16_t dev;
	uint64_t slot;
	struct tfs_okey key; /* the rados tier: the object in the slot */
};

/* an object whose state the next commit writes */
struct tfs_jdirty {
	uint64_t ino;
	uint64_t idx; /* a chunk index, or TFS_JD_INODE */
};
#define TFS_JD_INODE UINT64_MAX

/* a chunk with a live write intent: which of its blocks may have been
 * overwritten in place, and when it was last written (see file.c) */
struct tfs_intent {
	struct tfs_hnode i_hn;	   /* key: the chunk's address */
	struct tfs_intent *i_prev, *i_next; /* least recently written first */
	struct tfs_chunk *i_c;
	uint64_t i_written;	   /* CLOCK_MONOTONIC ms */
	uint64_t i_mask[];	   /* pool.mask_words */
};

struct tfs_pool {
	struct tfs_sb sb;
	unsigned int ndev;
	struct tfs_io_dev dev[TFS_MAX_DEVS];
	uint32_t chunk_size, chunk_shift, chunk_blocks, mask_words;
	struct tier_alloc alloc;
	struct tier_chunks chunks;
	unsigned int reserve_pct; /* of the slots, only for root */
	uint32_t pin_gid;	  /* -o pin_group: may pin to fast tiers (-1: none) */
	uint64_t pin_quota;	  /* -o pin_quota: bytes per user and fast tier (0: none) */
	struct tfs_pinq *pinq;	  /* users with pins to fast tiers (pool lock) */
	unsigned int npinq, cpinq;
	/* loading: saved heat is decayed by halvings of this many ms of the
	 * wall clock since it was saved (0: saved heat is ignored) */
	uint32_t heat_halflife_ms;
	uint64_t heat_now_ms;	  /* the wall clock at mount, ms */
	/* device add/remove (src/devices.c): one at a time */
	pthread_mutex_t devop;
	uint32_t sb_gen[TFS_MAX_DEVS];	/* device table generation each device held at mount */
	uint64_t drain_total[TFS_MAX_DEVS]; /* slots in use when its removal began */
	struct tfs_dstat {
		/* foreground (requests of users), atomics, since mount */
		uint64_t read_bytes, read_requests, write_bytes, write_requests;
		uint64_t csum_errors; /* data blocks whose checksum failed on read */
		/* moves (migration, cleaning) */
		uint64_t move_read_bytes, move_write_bytes;
	} dstat[TFS_MAX_DEVS];
	uint64_t fg_requests;	   /* read and write requests served (atomic) */
};

struct tfs_ns {
	struct tfs_inode **itab;   /* inode table: hash by number */
	size_t itab_size;	   /* buckets, a power of two */
	uint64_t ninodes;
	uint64_t next_ino;	   /* numbers are never reused */
	int loading;		   /* applying records at mount: record nothing */
	int readonly;		   /* mounted read-only: change nothing */
	/* since the last commit */
	struct tfs_jdirty *jd;
	size_t njd, cjd;
	struct tfs_free_slot *fpend; /* slots freed, reusable after the commit */
	size_t fpend_len, fpend_cap;
	struct tfs_htab intents;    /* live write intents */
	struct tfs_intent *ihead, *itail;
	int reseal_pending;	   /* intents loaded, not yet resealed: none
				    * may expire (tfs_reseal clears it) */
	struct tfs_htab lblk;	   /* loading the log: where each directory
				    * block's entries were appended (records.c) */
	uint32_t wgen;		   /* last chunk write generation given */
	unsigned int load_bad;	   /* inconsistencies the load found (salvaged) */
};

struct tfs_zns {
	uint32_t spz[TFS_MAX_DEVS];	  /* chunk slots per zone, 0 = not zoned */
	uint32_t nzones[TFS_MAX_DEVS];	  /* zones of the device (2 hold superblocks) */
	uint64_t zsize[TFS_MAX_DEVS];	  /* zone size, bytes */
	uint64_t zcap[TFS_MAX_DEVS];	  /* zone capacity, bytes */
	uint32_t zopen[TFS_MAX_DEVS];	  /* zones tierfs keeps open at once */
	struct tfs_zstat {
		uint64_t user_bytes; /* user data written into zones (persisted) */
		uint64_t dev_bytes;  /* everything written into zones, and what their
				      * cleaning wrote to other tiers (persisted) */
		/* since mount, per stream (enum tier_stream) of the zone written:
		 * user data, everything, and what cleaning moved out of zones of
		 * that stream; what cleaning wrote to other tiers */
		uint64_t s_user[TIER_STREAM_MAX], s_dev[TIER_STREAM_MAX];
		uint64_t s_cleaned[TIER_STREAM_MAX], evicted_bytes;
		/* zone copies kept after a promotion: held now, demotions they
		 * saved a write for, dropped (the chunk changed or went, the
		 * cleaner took the zone) */
		uint64_t shadows, shadow_reused, shadow_dropped;
		/* user_bytes and dev_bytes as the metadata had them at mount */
		uint64_t mount_user_bytes, mount_dev_bytes;
		uint64_t resets, finishes, cleaned_zones, moved_chunks; /* since mount */
		uint64_t retired, lost_chunks; /* zones retired, live chunks in offline ones */
	} zstat[TFS_MAX_DEVS];		  /* pool lock */
	uint64_t gen, logged;		  /* zstat changes; the last journaled */
	unsigned int errors;		  /* write pointer inconsistencies found at mount */
	struct tfs_htab shadows;	  /* struct tfs_shadow by chunk; pool lock */
	uint64_t clean_failed_ms;	  /* when a cleaning round last failed; pool lock */
	pthread_cond_t cond;		  /* a zone write ended or a zone was reset; pool lock */
};

/* ---- the /dev/fuse conversation (transport.c) ---- */
/* what the kernel offered at INIT and what tierfs asked for */
struct fuse_session;
struct tfs_fs;
struct tfs_fuse_conn {
	uint64_t init_unique; /* the INIT request until its reply is amended */
	uint32_t major, minor;
	uint64_t offered, granted; /* FUSE_* INIT flags, flags2 in the high half */
	int killpriv_v2;	   /* suid/sgid/caps are tierfs's to kill */
	int no_opendir;		   /* OPENDIR answered ENOSYS: the kernel opens alone */
	struct fuse_session *se;   /* for notifications to the kernel */
	const char *transport;	   /* "dev" (read/writev on /dev/fuse) or "uring" */
	struct tfs_uring *uring;   /* rings prepared (-o transport=auto|uring) */
	int over_uring;		   /* INIT settled FUSE over io_uring */
	uint64_t malformed;	   /* requests too short for what was looked at */
	unsigned int max_read;	   /* -o max_read (0: none) */
	/* called once INIT's reply has reached the kernel: 0, or the error
	 * INIT was answered with (the session then ends) */
	void (*on_init)(int err);
};
/* the request a worker serves carries "kill suid/sgid" (WRITE, SETATTR,
 * OPEN with HANDLE_KILLPRIV_V2): libfuse 3.14 drops the flag of WRITE and
 * OPEN, so it is read from the raw request for all three */
#define TFS_RQ_KILL_SUIDGID (1u << 0)
#define TFS_RQ_WRITEBACK (1u << 1) /* a WRITE of cached pages */
unsigned int tfs_fuse_rq_flags(void);
/* a cached WRITE waits here while a worker holds one of the same file at a
 * lower offset (they are stored in offset order: see transport.c) */
void tfs_fuse_write_turn(void);
/* a cached WRITE answered later, by another thread: its place in that
 * order leaves the worker (detach: the place, or -1), and is given up once
 * it is answered (release); attach puts it back on this thread */
int tfs_fuse_write_detach(void);
void tfs_fuse_write_attach(int place);
void tfs_fuse_write_release(int place);
#define TFS_FUSE_MAX_HELD 256 /* workers that may hold a request at once */
/* look at one request as read from the kernel: INIT's offer is recorded in
 * @c, flags for the handler go to @flags; -EPROTO when too short */
int tfs_fuse_inspect(struct tfs_fuse_conn *c, const void *buf, size_t len, unsigned int *flags);
/* amend libfuse's reply to INIT (header + fuse_init_out in @iov): 1 if it was
 * that reply */
struct iovec;
int tfs_fuse_amend_reply(struct tfs_fuse_conn *c, struct iovec *iov, int count);
struct fuse_custom_io;
const struct fuse_custom_io *tfs_fuse_dev_io(void);
/* a request taken from the kernel (either transport) and its end */
void tfs_fuse_request_begin(struct tfs_fs *fs, const void *buf, size_t len);
void tfs_fuse_request_end(void);

/* ---- FUSE over io_uring (uring.c) ---- */
struct tfs_uring;
int tfs_uring_enabled(void); /* root has set fuse's enable_uring */
/* workers and ring entries for every queue, waiting for INIT; NULL if not */
struct tfs_uring *tfs_uring_prepare(struct tfs_fs *fs, struct fuse_session *se, size_t max_write);
void tfs_uring_start(struct tfs_uring *u, int go); /* go: INIT granted it */
void tfs_uring_stop(struct tfs_uring *u);
/* the reply of the request this thread serves from a ring: put into the
 * ring entry (bytes), or -ENOENT when it is not one (write it to /dev/fuse) */
int tfs_uring_reply(const struct iovec *iov, int count);
void tfs_uring_stats(const struct tfs_uring *u, uint64_t *served, unsigned int *queues,
		     unsigned int *workers);

/* ---- FUSE requests by opcode (opstat.c) ---- */
enum tfs_op {
	TFS_OP_LOOKUP, TFS_OP_FORGET, TFS_OP_GETATTR, TFS_OP_SETATTR, TFS_OP_READLINK,
	TFS_OP_MKNOD, TFS_OP_MKDIR, TFS_OP_SYMLINK, TFS_OP_UNLINK, TFS_OP_RMDIR, TFS_OP_RENAME,
	TFS_OP_LINK, TFS_OP_OPEN, TFS_OP_CREATE, TFS_OP_READ, TFS_OP_WRITE, TFS_OP_FLUSH,
	TFS_OP_RELEASE, TFS_OP_FSYNC, TFS_OP_OPENDIR, TFS_OP_READDIR, TFS_OP_READDIRPLUS,
	TFS_OP_RELEASEDIR, TFS_OP_FSYNCDIR, TFS_OP_STATFS, TFS_OP_SETXATTR, TFS_OP_GETXATTR,
	TFS_OP_LISTXATTR, TFS_OP_REMOVEXATTR, TFS_OP_FALLOCATE, TFS_OP_LSEEK,
	TFS_OP_COPY_FILE_RANGE, TFS_OP_MAX
};
#define TFS_OP_BUCKETS 64
/* one opcode's handler times: their sum and a histogram (tfs_op_bucket) */
struct tfs_opstat {
	uint64_t ns;
	uint64_t hist[TFS_OP_BUCKETS];
};
const char *tfs_op_name(unsigned int op); /* the kernel's name: "GETXATTR" */
/* the histogram bucket of @ns: 0 below 1024 ns, then four per power of two
 * (the last one open-ended); top: the first value above bucket @b */
unsigned int tfs_op_bucket(uint64_t ns);
uint64_t tfs_op_bucket_top(unsigned int b);
uint64_t tfs_op_now_ns(void);
void tfs_op_record(struct tfs_opstat *s, uint64_t ns);
/* requests so far, their mean and 99th percentile (the top of the bucket
 * that holds it: at most 25 % high) in microseconds */
void tfs_op_summary(const struct tfs_opstat *s, uint64_t *count, double *mean_us, double *p99_us);

struct tfs_fs {
	pthread_mutex_t lock; /* the pool lock */
	struct tfs_pool pool;
	struct tfs_ns ns;
	struct tfs_meta *meta;
	struct tfs_zns zns;
	struct tier_engine eng;	   /* heat and migration (tiering/engine.c) */
	struct tfs_opstat ops[TFS_OP_MAX]; /* FUSE requests served (opstat.c) */
	struct tfs_fuse_conn fconn;	   /* what INIT settled (transport.c) */
	char *conf_path;		   /* tierfs.conf read, or where --save writes */
	struct tfs_scrub *scrub;	   /* the online scrub (scrub.c), once started */
	struct tfs_coldq *coldq;	   /* the cold-read loop (file.c), once started */
};

/* byte offset of chunk slot @slot on device @dev */
static inline uint64_t tfs_slot_off(const struct tfs_fs *fs, unsigned int dev, uint64_t slot)
{
	uint64_t base = fs->pool.sb.s_dev[dev].sd_data_off;

	if (fs->zns.spz[dev])
		return base + (slot / fs->zns.spz[dev]) * fs->zns.zsize[dev] +
		       ((slot % fs->zns.spz[dev]) << fs->pool.chunk_shift);
	return base + (slot << fs->pool.chunk_shift);
}

/* ---- FUSE front end (ll_ops.c) ---- */
/* after the session loop: release the files the kernel left open (a lazy
 * unmount, an aborted connection); returns how many */
unsigned int tfs_ll_handles_drop(struct tfs_fs *fs);

/* ---- control socket (ctl.c) ---- */
struct tfs_ctl;
/* the socket of the pool mounted on @mnt (a resolved path) */
int tfs_ctl_path(const char *mnt, char *out, size_t len);
struct tfs_ctl *tfs_ctl_start(struct tfs_fs *fs, const char *mnt);
void tfs_ctl_stop(struct tfs_ctl *c);

/* ---- the zns tier (zns.c) ---- */
/* at attach: learn the zone geometry of device @d and check it against the
 * superblock */
int tfs_zns_setup(struct tfs_fs *fs, unsigned int d);
/* after metadata is loaded: zone state from the devices, every write pointer
 * checked against what metadata references (problems counted in
 * fs->zns.errors and logged); @repair: finish/reset zones as needed */
int tfs_zns_mount(struct tfs_fs *fs, int repair);
/*
 * Zone copies kept after a promotion (pool lock).  A chunk promoted out of a
 * zone leaves its zone slot allocated as a copy while the chunk is unchanged,
 * so that demoting it again costs no write: _keep (1 kept: the caller must
 * not free the slot; 0: free it), _reuse (the chunk's copy on a zoned device
 * of class @cls, taken out of the table: the caller moves the chunk there),
 * _drop (any change of the chunk, its end, or the cleaner emptying the zone:
 * the slot is freed with the next commit).  In memory only: after a remount
 * the slots are garbage of their zones.  Bounded per device by an eighth of
 * its slots, and kept only while the device needs no cleaning.
 */
int tfs_shadow_keep(struct tfs_fs *fs, struct tfs_chunk *c, uint16_t dev, uint64_t slot);
int tfs_shadow_reuse(struct tfs_fs *fs, struct tfs_chunk *c, unsigned int cls, uint16_t *dev,
		     uint64_t *slot);
void tfs_shadow_drop(struct tfs_fs *fs, struct tfs_chunk *c);
/* 1 if (@dev, @slot) is @c's zone copy */
int tfs_shadow_at(const struct tfs_fs *fs, const struct tfs_chunk *c, uint16_t dev, uint64_t slot);
void tfs_shadows_clear(struct tfs_fs *fs);
/* drop every zone copy (space is short); takes the pool lock; how many */
int tfs_shadows_drop_all(struct tfs_fs *fs);
/* append one chunk (chunk_size bytes at @buf) to an open zone of @stream on
 * @dev; @user: bytes of it that are new user data.  Returns the slot. */
int tfs_zns_append(struct tfs_fs *fs, unsigned int dev, unsigned int stream, const void *buf,
		   uint64_t user, uint64_t *slot);
/* before a write: wait while a zoned device is down to its reserve and the
 * cleaner can free space */
void tfs_zns_throttle(struct tfs_fs *fs);
/* requests of which some failed: the zones of those on zoned devices are
 * looked at again (and retired if the device turned them READONLY or
 * OFFLINE) */
void tfs_zns_io_errors(struct tfs_fs *fs, const struct tfs_io_req *reqs, unsigned int nr);
/* the cleaner: started after mount, stopped before unmount */
/* ask the engine thread, which cleans zones, for a cleaning round (pool
 * lock held) */
void tfs_cleaner_kick(struct tfs_fs *fs);
/* 1 if cleaning cannot wait (pool lock held): the engine's clean_due */
int tfs_clean_due(struct tfs_fs *fs);
/* one cleaning round on every zoned device (the engine thread's ops->clean):
 * returns zones emptied or reset */
int tfs_clean_round(struct tfs_fs *fs);
/* pool lock: a slot no longer in use by a chunk that lives on elsewhere now
 * (@k: the object it holds in the rados tier, removed after the commit;
 * NULL elsewhere) */
void tfs_slot_free(struct tfs_fs *fs, uint16_t dev, uint64_t slot, const struct tfs_okey *k);
/* zone cleaning: move chunk @idx of @ino, if it still is at (@dev, @slot),
 * to device @dst (a zone of the cleaner's stream if zoned; a zone with no
 * room sends it to a device written in place), the way tfs_chunk_migrate
 * moves: no lock held across the I/O, redone if written meanwhile.
 * 0 moved, -ESTALE moved or gone meanwhile, -EBUSY written on every try,
 * else -errno */
int tfs_chunk_evacuate(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev,
		       uint64_t slot, unsigned int dst);

/* ---- heat and migration (migrate.c) ---- */
#define TFS_PIN_XATTR "user.tierfs.pin"
/* set up fs->eng with policy @pol (NULL: defaults) once the pool is loaded;
 * its thread is started apart (tier_engine_start) */
void tfs_migrate_init(struct tfs_fs *fs, const struct tier_policy *pol);
/* a zoned device joined the pool: the engine cleans zones from now on */
void tfs_migrate_zoned(struct tfs_fs *fs);
/* the class @in is pinned to (its user.tierfs.pin), or TFS_CLASS_MAX; pool lock */
unsigned int tfs_inode_pin(const struct tfs_inode *in);
/* the pin placement follows: none while the owner is over -o pin_quota */
unsigned int tfs_inode_place_pin(const struct tfs_inode *in);
/* the slowest local tier the pool has (a pin to it, or to rados, is anyone's
 * right) */
unsigned int tfs_slowest_class(const struct tfs_fs *fs);
/* -o pin_quota: may @uid (not in pin_group, as the request found) pin
 * @bytes more to @cls?  0 or -EDQUOT; pool lock held */
int tfs_pin_quota_check(struct tfs_fs *fs, uint32_t uid, int exempt, unsigned int cls,
			uint64_t bytes);
/* bytes of @uid's files the last pass counted as pinned to @cls */
uint64_t tfs_pin_quota_used(struct tfs_fs *fs, uint32_t uid, unsigned int cls);
void tfs_pinq_free(struct tfs_fs *fs);
/* the class a pin xattr value names, or -EINVAL */
int tfs_pin_parse(const void *val, size_t len);
/* an access of weight @w to [off, off+len) of @in; _locked: i_rwlock held */
void tfs_heat_note(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, uint64_t len,
		   unsigned int w);
void tfs_heat_note_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, uint64_t len,
			  unsigned int w);
/* move chunk @idx of @ino, if still at (@dev, @slot), to a device of class
 * @cls without holding the file's write lock during the copy: a write that
 * lands meanwhile is detected (c_wgen) and the copy redone.  A demotion
 * into a full class goes on to the next one down.  The class it went to,
 * or -ESTALE (gone, moved or kept changing), -ENOSPC, -errno */
/* moves of chunks into the rados tier (@m[i].to), all objects written at
 * once; @res[i] as tfs_chunk_migrate's return */
#define TFS_SINK_BATCH TIER_SINK_MAX
int tfs_chunk_sink(struct tfs_fs *fs, const struct tier_move *m, unsigned int n, int *res);
int tfs_chunk_migrate(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		      unsigned int cls);

/* ---- records (records.c): the namespace's side of the metadata layer ---- */
extern const struct tfs_meta_ops tfs_meta_ops;
/* journal records of changes; pool lock held */
void rec_inode(struct tfs_wbuf *w, const struct tfs_inode *in);
void rec_ino(struct tfs_wbuf *w, unsigned int type, uint64_t ino);
void rec_dirent(struct tfs_wbuf *w, unsigned int type, uint64_t dir, uint64_t cookie,
		uint64_t ino, const char *name, size_t namelen);
void rec_xattr(struct tfs_wbuf *w, unsigned int type, uint64_t ino, const char *name,
	       size_t namelen, const void *val, size_t len);
void rec_chunk_free(struct tfs_wbuf *w, unsigned int type, uint64_t ino, uint64_t idx);
/* after loading: link counts, placeholders, allocator; -EUCLEAN on
 * inconsistency (@salvage: drop what cannot stand and say so) */
int tfs_ns_finish_load(struct tfs_fs *fs, int salvage);

/* ---- the namespace (fs.c) ---- */
/* journal and checkpoint bookkeeping of a change; pool lock held */
void tfs_inode_dirty(struct tfs_fs *fs, struct tfs_inode *in);
void tfs_chunk_dirty(struct tfs_fs *fs, struct tfs_inode *in, struct tfs_chunk *c);
/*
 * A chunk in the rados tier is one object named by the chunk and the
 * generation it was written with (struct tfs_okey).  An object is never
 * written in place (a write makes a local copy), so while the chunk is
 * there its write generation (c_wgen) does not change and is that
 * generation: tfs_chunk_dirty leaves it alone.  tfs_chunk_ogen: the
 * generation a record stores (0: not in rados, or named by slot as format
 * 6 did); tfs_obj_gen (pool lock): a new one for a copy about to be
 * written; tfs_chunk_okey: the object's name as of now.
 */
uint32_t tfs_chunk_ogen(const struct tfs_fs *fs, const struct tfs_chunk *c);
uint32_t tfs_obj_gen(struct tfs_fs *fs);
static inline struct tfs_okey tfs_chunk_okey(const struct tfs_chunk *c)
{
	return (struct tfs_okey){ .ino = c->c_ino, .idx = c->c_idx, .gen = c->c_wgen };
}
void tfs_dblk_dirty(struct tfs_fs *fs, struct tfs_inode *dir, uint64_t cookie);
void tfs_xattrs_dirty(struct tfs_fs *fs, struct tfs_inode *in);
/* a chunk group's log record, at most: present mask, the chunks (with an
 * object generation in rados), the heat trailer (time and 2 bytes a
 * chunk); an estimate for one mask word */
#define TFS_CGROUP_EST (24 + TIER_GROUP * 26 + TFS_LREC_HDR)
void tfs_cgroup_dirty(struct tfs_fs *fs, struct tfs_inode *in, uint64_t g);
/* pool lock: every chunk group holding heat is written by the next
 * checkpoint, with the heat (before the unmount's last one) */
void tfs_heat_save_all(struct tfs_fs *fs);
uint64_t tfs_wall_ms(void); /* CLOCK_REALTIME in ms */

/* ---- the online scrub (scrub.c) ---- */
enum { TFS_SCRUB_IDLE, TFS_SCRUB_RUNNING, TFS_SCRUB_DONE, TFS_SCRUB_STOPPED };
struct tfs_scrub_bad {
	uint64_t ino, off;	 /* the file and the 4 KiB block's offset in it */
	unsigned int dev;	 /* UINT_MAX: unknown */
	uint64_t dev_off;
	char path[512];		 /* from the mount's root */
};
struct tfs_scrub {
	pthread_mutex_t lock;	 /* state, error, times, bads */
	pthread_t thread;
	int joinable, state, error, stop;
	unsigned int rate_mbps;	 /* 0: unlimited */
	uint64_t t_start_ms, t_end_ms; /* CLOCK_MONOTONIC */
	uint64_t total_bytes, read_bytes, files, bad; /* (atomics) */
	struct tfs_scrub_bad *bads;
	unsigned int nbad;
	int meta_done;		 /* the metadata was checked */
	unsigned int meta_bad;	 /* damaged metadata copies found */
	char *meta_report;	 /* what tfs_meta_scrub said of them */
};
/* start a scrub (-EBUSY while one runs); stop and free it (unmount) */
int tfs_scrub_start(struct tfs_fs *fs, unsigned int rate_mbps);
void tfs_scrub_stop(struct tfs_fs *fs);

/* ---- tierfs.conf (config.c) ---- */
/* the pool's file in $TIERFS_CONFDIR (UUID.conf, then LABEL.conf) into
 * @out: 0, or -ENOENT with @out where a new one would go */
int tfs_conf_find(const uint8_t uuid[16], const char *label, char *out, size_t len);
/* every setting of @path, as "key=value" or "flag", to @fn; a refusal
 * (message in @err) is printed as "PATH:LINE: message": 0 or -errno */
int tfs_conf_read(const char *path, int (*fn)(void *arg, const char *kv, char *err, size_t errlen),
		  void *arg);
/* set the "key=value" settings @kv in @path (a line per key, replaced or
 * appended), written anew and renamed into place */
int tfs_conf_save(const char *path, char *const *kv, unsigned int n);
/* the journal record buffer, and its bookkeeping after each record */
struct tfs_wbuf *tfs_jlog(struct tfs_fs *fs);
void tfs_jlogged(struct tfs_fs *fs);
/* 0 if metadata may grow by @bytes for a caller with @uid, else -ENOSPC */
int tfs_room(struct tfs_fs *fs, uint64_t bytes, uint32_t uid);
/* a call failed with ENOSPC: if slots freed by earlier calls wait for their
 * commit, commit now; if a checkpoint would give metadata space back, take
 * one; 1 if either happened (try once more), else 0 */
int tfs_enospc_retry(struct tfs_fs *fs);
/* free slots a new data chunk of a file owned by @uid may use on devices
 * written in place / anywhere (what the log and the root reserve need is
 * kept back) */
uint64_t tfs_data_room(struct tfs_fs *fs, uint32_t uid, int inplace);

struct tfs_inode *tfs_inode_new(struct tfs_fs *fs, uint64_t ino);
struct tfs_inode *tfs_inode_get(struct tfs_fs *fs, uint64_t ino); /* pool lock */
void tfs_inode_destroy(struct tfs_fs *fs, struct tfs_inode *in);   /* pool lock, frees */
void tfs_inode_maybe_free(struct tfs_fs *fs, struct tfs_inode *in); /* pool lock */
/* open references: keep the inode and its data lock (pool lock) */
int tfs_inode_hold(struct tfs_fs *fs, struct tfs_inode *in);
void tfs_inode_unhold(struct tfs_fs *fs, struct tfs_inode *in);
/* call @fn for every inode (pool lock), in table order */
void tfs_inode_each(struct tfs_fs *fs, void (*fn)(void *arg, struct tfs_inode *in), void *arg);
/* free chunk @idx of @in (logged as a free when @log); pool lock */
void tfs_chunk_release(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, int log);
/* free every chunk of @in from index @from on (one record); pool lock */
void tfs_chunks_trunc(struct tfs_fs *fs, struct tfs_inode *in, uint64_t from);
void tfs_touch(struct timespec *ts);
uint64_t tfs_now_ms(void); /* CLOCK_MONOTONIC */
void tfs_stat_fill(const struct tfs_fs *fs, const struct tfs_inode *in, struct stat *st);
/* free inodes that have no name (nothing can reach them); returns how many */
unsigned int tfs_free_orphans(struct tfs_fs *fs);
/* after an unclean stop: re-checksum blocks of chunks that had a write intent */
int tfs_reseal(struct tfs_fs *fs);
#define TFS_INTENT_MS 30000 /* an intent outlives the chunk's last write by this */
/* write intents (pool lock).  note: blocks @blocks of @c (a mask of
 * pool.mask_words words, NULL: none) may be overwritten in place from @now
 * on: 1 if the intent is new or covers blocks it did not (the caller must
 * record and commit it before writing), 0 if not, -ENOMEM.  set: at load,
 * the intent a record carries (NULL: none).  get: the live one or NULL.
 * expire: drop those not written for TFS_INTENT_MS (@all: every one);
 * none while ns.reseal_pending: loaded intents live until resealed. */
int tfs_intent_note(struct tfs_fs *fs, struct tfs_chunk *c, uint64_t now, const uint64_t *blocks);
int tfs_intent_set(struct tfs_fs *fs, struct tfs_chunk *c, const uint64_t *mask);
struct tfs_intent *tfs_intent_get(const struct tfs_fs *fs, const struct tfs_chunk *c);
void tfs_intent_drop(struct tfs_fs *fs, struct tfs_chunk *c);
void tfs_intents_expire(struct tfs_fs *fs, int all);
void tfs_intents_clear(struct tfs_fs *fs);

/* directories */
struct tfs_dir *tfs_dir_new(void);
void tfs_dir_free(struct tfs_dir *d);
struct tfs_dirent *tfs_dir_lookup(const struct tfs_dir *d, const char *name, size_t len);
/* insert with @cookie, or the next cookie when 0 */
int tfs_dir_add(struct tfs_dir *d, const char *name, size_t len, uint64_t ino, uint64_t cookie,
		struct tfs_dirent **out);
void tfs_dir_del(struct tfs_dir *d, struct tfs_dirent *de);
/* 1 if an entry has @cookie */
int tfs_dir_has_cookie(const struct tfs_dir *d, uint64_t cookie);
/* index of the first entry with cookie > @after */
size_t tfs_dir_seek(const struct tfs_dir *d, uint64_t after);
/* the block record of block @k (NULL if none); _get creates it */
struct tfs_dblk *tfs_dir_blk(const struct tfs_dir *d, uint64_t k);
struct tfs_dblk *tfs_dir_blk_get(struct tfs_dir *d, uint64_t k);
void tfs_dir_blk_del(struct tfs_dir *d, struct tfs_dblk *b);
/* loading the log (records.c): an entry appended whatever its cookie (at
 * position *@pos), one removed by position, a block appended; then once,
 * everything put in cookie order (removed entries and blocks dropped) */
int tfs_dir_append(struct tfs_dir *d, const char *name, size_t len, uint64_t ino,
		   uint64_t cookie, size_t *pos);
void tfs_dir_drop_at(struct tfs_dir *d, size_t pos);
struct tfs_dblk *tfs_dir_blk_append(struct tfs_dir *d, uint64_t k);
#define TFS_DBLK_DEAD UINT64_MAX /* b_k of a block removed while loading */
void tfs_dir_sort(struct tfs_dir *d);
/* the log is loaded (or the load given up): every directory in cookie
 * order, the table of where blocks went freed (records.c) */
void tfs_load_dirs_done(struct tfs_fs *fs);

/* namespace operations (fs.c): all take and drop the pool lock themselves.
 * Each returns 0 or -errno; on success those producing an entry fill @st
 * and take a lookup reference. */
struct tfs_ctx {
	uint32_t uid, gid;
	int pin_group; /* a member of -o pin_group (set for setxattr only) */
};
/* lifetime hints of @in from its name @name in @dir (NULL: none); pool lock */
void tfs_name_hint(struct tfs_inode *dir, struct tfs_inode *in, const char *name);
/* pool lock: @in's path from the mount's root by the name it was last
 * reached by (each step scans one directory): 0, or -ENOENT if not known */
int tfs_inode_path(struct tfs_fs *fs, const struct tfs_inode *in, char *buf, size_t len);
int tfs_lookup(struct tfs_fs *fs, uint64_t parent, const char *name, struct stat *st);
int tfs_forget(struct tfs_fs *fs, uint64_t ino, uint64_t n);
int tfs_getattr(struct tfs_fs *fs, uint64_t ino, struct stat *st);
int tfs_mknod(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, const char *symlink, struct stat *st);
int tfs_link(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, uint64_t parent,
	     const char *name, struct stat *st);
int tfs_unlink(struct tfs_fs *fs, uint64_t parent, const char *name, int dir);
int tfs_rename(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t p1, const char *n1,
	       uint64_t p2, const char *n2, unsigned int flags);
int tfs_readlink(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size);
int tfs_xattr_set(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, const char *name,
		  const void *val, size_t len, int flags);
/* copies up to @size bytes; returns the value length (or -errno) */
int tfs_xattr_get(struct tfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t size);
int tfs_xattr_list(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size);
int tfs_xattr_remove(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t ino, const char *name);
/* what a write, truncate or chown by a caller without CAP_FSETID takes
 * away, as the VFS does: setuid, setgid of a group-executable file, the
 * security.capability xattr (HANDLE_KILLPRIV_V2 leaves it to us).  1 when
 * something was taken (the kernel's cached mode is stale), 0, or -errno */
int tfs_kill_priv(struct tfs_fs *fs, struct tfs_inode *in);
int tfs_kill_priv_locked(struct tfs_fs *fs, struct tfs_inode *in); /* pool lock held */
int tfs_open(struct tfs_fs *fs, uint64_t ino, struct tfs_inode **out);
void tfs_release(struct tfs_fs *fs, struct tfs_inode *in);
int tfs_fsync(struct tfs_fs *fs, uint64_t ino);
int tfs_sync(struct tfs_fs *fs);

/* setattr (file.c): FUSE_SET_ATTR_* style mask */
#define TFS_SET_MODE (1u << 0)
#define TFS_SET_UID (1u << 1)
#define TFS_SET_GID (1u << 2)
#define TFS_SET_SIZE (1u << 3)
#define TFS_SET_ATIME (1u << 4)
#define TFS_SET_MTIME (1u << 5)
#define TFS_SET_ATIME_NOW (1u << 7)
#define TFS_SET_MTIME_NOW (1u << 8)
#define TFS_SET_CTIME (1u << 10)
#define TFS_SET_KILL_PRIV (1u << 20) /* tierfs's own: see tfs_kill_priv */
int tfs_setattr(struct tfs_fs *fs, uint64_t ino, const struct stat *attr, unsigned int valid,
		struct stat *out);

/* file data (file.c) */
/* read into @buf (TFS_BLOCK_SIZE aligned, at least the aligned span);
 * returns bytes available at @buf + (off & (TFS_BLOCK_SIZE-1)).  The caller
 * holds an open reference. */
ssize_t tfs_read(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size, uint8_t *abuf);
/*
 * Read [off, off+size) and hand it to @reply as a list of memory pieces while
 * the data cannot change (i_rwlock held): blocks on a mapped (pmem) device
 * are verified and passed where they are in the mapping, without a copy;
 * the rest is read into @abuf (as for tfs_read).  The chunks touched get
 * @heat (tfs_heat_note).  @reply's result is returned; on an error before
 * it, @reply is not called.
 */
struct iovec;
typedef int (*tfs_reply_fn)(void *arg, const struct iovec *iov, int n);
/*
 * @done non-NULL: a read that touches a chunk in the rados tier may be
 * answered later, from the cold-read loop (tfs_cold_start), by @done with
 * the data or an error (-errno); tfs_read_iov then returns TFS_READ_LATER
 * and neither @reply nor @abuf is used.
 */
typedef void (*tfs_done_fn)(void *arg, const struct iovec *iov, int n, int err);
#define TFS_READ_LATER 2
int tfs_read_iov(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		 uint8_t *abuf, unsigned int heat, tfs_reply_fn reply, tfs_done_fn done, void *arg);
/*
 * A write into a chunk in rados that covers it only in part reads the rest
 * of the chunk from its object.  tfs_write_needs_cold: 1 if a write of
 * [off, off+size) would (and the cold-read loop runs).  tfs_write_later:
 * those objects are fetched without holding the caller, then @later(@arg,
 * 0) runs on the cold-read loop, where the write's reads of them are served
 * from what was fetched; or @later(@arg, -EIO) when they could not be read.
 * TFS_READ_LATER, 0 (nothing to fetch any more: write now), or -errno.
 */
typedef void (*tfs_later_fn)(void *arg, int err);
int tfs_write_needs_cold(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size);
int tfs_write_later(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		    tfs_later_fn later, void *arg);
/* the cold-read loop of a pool with a rados tier (a thread): started once
 * the daemon has forked, stopped after the session ended (it waits for the
 * reads in flight, which the rados timeout bounds); 0 or -errno */
int tfs_cold_start(struct tfs_fs *fs);
void tfs_cold_stop(struct tfs_fs *fs);
/* bytes of aligned buffer a read of @size at @off needs */
size_t tfs_read_span(uint64_t off, size_t size);
ssize_t tfs_write(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf, size_t size);
/* the same, new chunks preferring class @cls (TFS_CLASS_MAX: no preference;
 * a pin of the file wins) */
ssize_t tfs_write_cls(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
		      size_t size, unsigned int cls);
/* the same for a cached write (writeback of the page cache): refused with
 * -ENOSPC at or past a place where one was refused before (os_nospc),
 * checked under the file's data lock */
ssize_t tfs_write_cached(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
			 size_t size, unsigned int cls);
/* a cached write of @in was refused for space at @at: later ones are
 * refused too (os_nospc), and when @at lies in what cached writes added to
 * the file since its last fsync, the file is cut back to @at: writeback
 * that went out of order (a later piece stored before an earlier one was
 * refused) would otherwise leave zeros inside it.  1 if cut back. */
int tfs_write_refused(struct tfs_fs *fs, struct tfs_inode *in, uint64_t at);
int tfs_fallocate(struct tfs_fs *fs, struct tfs_inode *in, int mode, uint64_t off, uint64_t len);
int64_t tfs_lseek(struct tfs_fs *fs, struct tfs_inode *in, int64_t off, int whence);
int tfs_truncate_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t size);
/* the checksums of blocks [b0, b0 + n) of @c into @out (0 or -EIO) */
int tfs_chunk_csums(struct tfs_fs *fs, const struct tfs_chunk *c, uint32_t b0, uint32_t n,
		    uint32_t *out);

/* ---- pool assembly (pool.c) ---- */
struct tfs_fs *tfs_fs_new(void);
/* open the pool @path belongs to (other devices from the sb or @devices, a
 * ':' list), lock it, load metadata.  On error prints why and returns NULL. */
#define TFS_OPEN_NOREPAIR (1u << 0) /* write nothing (fsck -n, mount -o ro) */
#define TFS_OPEN_SALVAGE (1u << 1)  /* load what verifies (fsck -y, -o ro after damage) */
#define TFS_OPEN_RDONLY (1u << 2)   /* mount -o ro: no changes at all */
#define TFS_OPEN_DEGRADED (1u << 3) /* a rados tier out of reach is no error */
struct tfs_open_args {
	const char *devices;	  /* ':'-separated device paths, or NULL */
	int lock_wait_s;
	unsigned int flags;	  /* TFS_OPEN_* */
	uint64_t csum_cache;	  /* bytes, 0: default */
	int reserve_pct;	  /* -1: the pool's */
	unsigned int heat_halflife_ms; /* restore saved heat, decayed at this rate
					* for the time unmounted (0: don't) */
};
int tfs_fs_open(struct tfs_fs **out, const char *path, const struct tfs_open_args *a);

/* holder.c: who holds a device's pool lock.  tfs_dev_holder describes the
 * holder of the lock on @fd (opened from @path) in @msg and returns 1 when
 * it is a mounted pool, else 0.  tfs_dev_claim takes the lock on @path for
 * the caller (mkfs): the descriptor holding it, or -EBUSY with the holder
 * in @msg, or another -errno. */
int tfs_dev_holder(int fd, const char *path, char *msg, size_t len);
int tfs_dev_claim(const char *path, char *msg, size_t len);

/* devices.c: devices added to and removed from a mounted pool */
/* a device written in place, @start bytes already used at its front: its
 * checksum table then its chunk slots; returns the slots */
uint64_t tfs_layout_inplace(struct tfs_sb_dev *sd, uint64_t size, uint64_t start,
			    unsigned int chunk_shift, uint32_t ps, uint32_t per);
/* 1 if device @d is open and in the table (not removed) */
int tfs_dev_present(const struct tfs_fs *fs, unsigned int d);
/* "active", "draining" or "removed" */
const char *tfs_dev_state(const struct tfs_fs *fs, unsigned int d);
/* add @path as a device of class @cls (TFS_CLASS_MAX: by what it is);
 * the new index or -errno, and one line for the user in @msg either way */
int tfs_dev_add(struct tfs_fs *fs, const char *path, unsigned int cls, int force,
		uint64_t zone_size, char *msg, size_t len);
/* begin emptying device @what (index or path): its index or -errno; @msg */
int tfs_dev_remove(struct tfs_fs *fs, const char *what, char *msg, size_t len);
/* the engine found nothing on the devices being emptied: finish them */
void tfs_dev_evacuated(struct tfs_fs *fs);
/* a mount found devices holding an older device table: write the newest */
int tfs_devices_sync(struct tfs_fs *fs);
void tfs_fs_close(struct tfs_fs *fs);
/* a new pool on the devices already set up in @fs (mkfs): root, first
 * checkpoint */
int tfs_fs_format(struct tfs_fs *fs, uint32_t uid, uint32_t gid);
/* commit (fsync point) and the unmount sequence */
int tfs_commit(struct tfs_fs *fs);
int tfs_unmount(struct tfs_fs *fs);
/* memory the namespace holds, by part (bytes) */
struct tfs_memstat {
	uint64_t inodes, inode_bytes, dirent_bytes, chunks, chunk_bytes, map_bytes;
};
void tfs_memstat(struct tfs_fs *fs, struct tfs_memstat *ms);

/* ---- options (options.c) ---- */
struct tfs_opts {
	char *devices;	       /* ':'-separated device paths */
	unsigned int commit;   /* seconds between background commits */
	unsigned int lock_wait; /* seconds to wait for a pool in use */
	unsigned int clean_mbps; /* zone cleaning bandwidth, MB/s */
	unsigned int csum_cache; /* MiB of checksum pages cached */
	unsigned int dirty_max;	 /* MiB of dirty page cache the kernel may hold */
	unsigned int threads;	 /* most FUSE worker threads on /dev/fuse */
	char *transport;	 /* "auto", "uring" or "dev" */
	int reserve;	       /* percent for root; -1: the pool's */
	int debug;
	unsigned int rados_timeout; /* seconds, every RADOS call */
	int degraded;	       /* mount without the RADOS cluster */
	int ro;		       /* mount read-only */
	char *pin_group;       /* group (name or number) that may pin to fast tiers */
	unsigned int pin_quota; /* MiB each user may pin to each faster tier */
	char *config;	       /* -o config=PATH: tierfs.conf(5) */
	unsigned int max_read; /* FUSE's max_read=, which INIT must repeat */
	struct tier_policy pol; /* tiering knobs given with -o */
};
enum tfs_opt_type { TFS_OPT_STR, TFS_OPT_UINT, TFS_OPT_FLAG, TFS_OPT_PCT };
struct tfs_opt_def {
	const char *name;
	enum tfs_opt_type type;
	size_t off;
	const char *def;
	const char *unit;
	const char *help;
};
extern const struct tfs_opt_def tfs_opt_table[];
void tfs_opts_defaults(struct tfs_opts *o);
/* parse one "key=value" or "flag": 1 if it was ours, 0 if not, -EINVAL if bad */
int tfs_opts_parse_one(struct tfs_opts *o, const char *kv, char *err, size_t errlen);
void tfs_opts_help(FILE *f);
void tfs_opts_free(struct tfs_opts *o);
/* parse a size like 4G, 256K, 1048576 (bytes); -EINVAL on garbage */
int tfs_parse_size(const char *s, uint64_t *out);

#endif /* TFS_H */

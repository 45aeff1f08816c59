/*
 * src/tfs.h - shared types of the tierfs daemon and tools.
 *
 * The pool in memory (struct tfs_fs) holds all metadata: the inode table,
 * directories, xattrs and the chunk maps.  Nothing that answers a metadata
 * request ever reads a device.  Changes are made durable by the journal
 * (src/journal.c) and folded into checkpoints; src/meta.c encodes the records
 * both of them are made of.
 *
 * Locking (see also fs.c):
 *   fs->lock      the pool lock, a mutex: inode table, every inode's
 *                 attributes, directories, xattrs, chunk maps (writes),
 *                 allocator, commit lists and the pending journal buffer.
 *                 Held briefly; never across device I/O.
 *   i_rwlock      per inode, taken before fs->lock: readers of file data hold
 *                 it shared (the chunk map is then stable without fs->lock),
 *                 writers, truncate and hole punching hold it exclusively.
 *   fs->commit_lock  serialises journal commits and checkpoints; taken before
 *                 fs->lock.  A writer short of space may commit while holding
 *                 its i_rwlock: a commit never takes an i_rwlock.
 */
#ifndef TFS_H
#define TFS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "io.h"
#include "tier.h"

#define TFS_NAME_MAX 255
#define TFS_SYMLINK_MAX 4095
#define TFS_XATTR_NAME_MAX 255
#define TFS_XATTR_SIZE_MAX 65536
#define TFS_MAX_FILE_SIZE (1ull << 44) /* bytes: 16 TiB */
#define TFS_ROOT_INO 1ull

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

/* ---- hash table (hash.c): intrusive, chained, keyed by a 64-bit hash ---- */
struct tfs_hnode {
	struct tfs_hnode *h_next;
	uint64_t h_key;
};
struct tfs_htab {
	struct tfs_hnode **t_b;
	size_t t_size;	/* buckets, a power of two */
	size_t t_count; /* nodes */
	int t_frozen;	/* no resizing (a walk across lock drops is under way) */
};
int tfs_htab_init(struct tfs_htab *t, size_t size);
void tfs_htab_destroy(struct tfs_htab *t);
int tfs_htab_insert(struct tfs_htab *t, struct tfs_hnode *n);
void tfs_htab_remove(struct tfs_htab *t, struct tfs_hnode *n);
/* first node with key @key; walk on with tfs_htab_next() */
struct tfs_hnode *tfs_htab_find(const struct tfs_htab *t, uint64_t key);
struct tfs_hnode *tfs_htab_next(const struct tfs_hnode *n);
uint64_t tfs_hash_str(const char *s, size_t len);

/* ---- byte buffers for on-media encoding (meta.c) ---- */
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
uint64_t tfs_hash(const void *p, size_t n, uint64_t seed); /* XXH3-64 */

/* ---- superblock (super.c) ---- */
#define TFS_SB_MAGIC 0x3130534652454954ull /* "TIERFS01" */
#define TFS_SB_VERSION 2
#define TFS_SB_SIZE 8192u	 /* bytes, one copy */
#define TFS_SB_COPY1 8192u	 /* offset of the second copy */
#define TFS_META_START 65536u	 /* first byte after the superblocks */
#define TFS_DEV_PATH_MAX 256
#define TFS_LABEL_MAX 64

struct tfs_sb_dev {
	uint8_t sd_uuid[16];
	uint32_t sd_class;  /* enum tfs_dev_class */
	uint32_t sd_index;
	uint64_t sd_size;   /* bytes formatted */
	uint64_t sd_data_off; /* bytes: first slot */
	uint64_t sd_nslots;   /* chunk slots */
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
	uint32_t s_meta_dev;	 /* device holding the journal (the fastest) */
	uint32_t s_ckpt_dev;	 /* device holding the checkpoint slots */
	uint64_t s_ctime;	 /* mkfs time, seconds */
	uint64_t s_jrnl_off, s_jrnl_len;  /* bytes, on s_meta_dev */
	uint64_t s_ckpt_off[2], s_ckpt_len; /* bytes, on s_ckpt_dev */
	char s_label[TFS_LABEL_MAX];
	struct tfs_sb_dev s_dev[TFS_MAX_DEVS];
};

void tfs_sb_encode(const struct tfs_sb *sb, uint8_t *out /* TFS_SB_SIZE */);
/* 0, -EINVAL (bad checksum or fields), -ENOENT (no tierfs magic) */
int tfs_sb_decode(struct tfs_sb *sb, const uint8_t *in);
/* read both copies of @dev's superblock; rewrites a bad copy if @repair */
int tfs_sb_read(struct tfs_io_dev *dev, struct tfs_sb *sb, int repair);
int tfs_sb_write(struct tfs_io_dev *dev, const struct tfs_sb *sb);
/* both copies as they are on the media into @buf (2 * TFS_SB_SIZE; an
 * unreadable copy reads as zeros) */
void tfs_sb_read_raw(struct tfs_io_dev *dev, uint8_t *buf);
/* name of a known foreign signature at the start of @buf (>= 68 KiB), or NULL */
const char *tfs_sb_foreign(const uint8_t *buf, size_t len);
void tfs_uuid_gen(uint8_t uuid[16]);
void tfs_uuid_str(const uint8_t uuid[16], char out[37]);

/* ---- the pool in memory ---- */
struct tfs_xattr {
	struct tfs_xattr *x_next;
	uint32_t x_namelen, x_len;
	char *x_name;
	uint8_t *x_value;
};

struct tfs_dirent {
	struct tfs_hnode d_hnode; /* key: tfs_hash_str(name) */
	uint64_t d_cookie;	  /* readdir position, unique and growing per dir */
	uint64_t d_ino;
	uint16_t d_namelen;
	char d_name[];
};

/*
 * A directory: a name hash for lookups, and the entries in cookie order for
 * readdir.  New entries get the next cookie and go to the end, removed ones
 * leave a NULL that compaction squeezes out later, so a reader resuming at
 * any cookie sees every entry that existed throughout, once.
 */
struct tfs_dir {
	struct tfs_htab dr_names;
	struct tfs_dirent **dr_ents; /* sorted by cookie, NULL = removed */
	size_t dr_len, dr_cap, dr_live;
	uint64_t dr_next_cookie;
};

#define TFS_DIR_COOKIE_FIRST 3 /* 1 and 2 are "." and ".." */

/* inode flags */
#define TFS_I_DIRTY (1u << 0)	  /* attributes on the commit list */
#define TFS_I_PLACEHOLDER (1u << 1) /* referenced during replay, not yet seen */
#define TFS_I_SYNCED (1u << 2)	  /* fsynced since mount: its removal is made durable */

struct tfs_inode {
	struct tfs_hnode i_hnode; /* key: ino; in fs->inodes */
	uint64_t i_ino;
	uint64_t i_gen;
	uint32_t i_mode, i_uid, i_gid, i_nlink;
	uint64_t i_size; /* bytes */
	uint64_t i_rdev;
	struct timespec i_atime, i_mtime, i_ctime, i_btime;
	uint64_t i_parent;   /* directories: parent ino (root: itself) */
	uint32_t i_flags;    /* TFS_I_* ; pool lock */
	uint64_t i_nlookup;  /* kernel references (lookup count); pool lock */
	uint32_t i_nopen;    /* open handles; pool lock */
	struct tfs_list i_dirty; /* commit list link; pool lock */
	struct tfs_dir *i_dir;	 /* directories */
	char *i_symlink;	 /* symlinks */
	struct tfs_xattr *i_xattrs;
	struct tier_cmap i_map;	 /* regular files */
	pthread_rwlock_t i_rwlock; /* file data, see top */
};

struct tfs_free_slot {
	uint16_t dev;
	uint64_t slot;
};

struct tfs_fs {
	pthread_mutex_t lock; /* the pool lock */
	struct tfs_sb sb;
	unsigned int ndev;
	struct tfs_io_dev dev[TFS_MAX_DEVS];
	uint32_t chunk_size, chunk_shift, chunk_blocks;
	struct tfs_htab inodes;
	uint64_t ninodes;
	uint64_t next_ino;
	struct tier_alloc alloc;
	int readonly;	  /* a commit failed: refuse changes until remount */
	int loading;	  /* applying records at mount: no logging, no allocator */

	/* journal state; pool lock unless noted */
	struct tfs_wbuf jbuf;	   /* records not yet committed, in order */
	uint32_t jnrec;		   /* records in jbuf */
	struct tfs_list dirty_inodes, dirty_chunks;
	struct tfs_list intent_chunks; /* chunks with a live write intent */
	struct tfs_free_slot *fpend; /* slots freed, reusable after commit */
	size_t fpend_len, fpend_cap;
	uint64_t change_gen;	   /* bumped by every change */
	pthread_mutex_t commit_lock;
	uint64_t committed_gen;	   /* change_gen covered by the last commit; commit_lock */
	uint64_t jseq;		   /* seq of the next transaction; commit_lock */
	uint64_t joff;		   /* next transaction offset in the journal; commit_lock */
	uint64_t ckpt_seq;	   /* seq of the newest checkpoint; commit_lock */
	unsigned int ckpt_slot;	   /* slot holding the newest checkpoint; commit_lock */
	unsigned int jhalf;	   /* journal half transactions go to; commit_lock */
	int need_ckpt;		   /* loaded from the older checkpoint: write one now */
	int ckpt_wanted;	   /* the journal half is half used; commit_lock */
	int ckpt_building;	   /* a checkpoint is being built; commit_lock */
	pthread_cond_t ckpt_cond;  /* signalled when a checkpoint ends; commit_lock */
	void (*ckpt_kick)(void *arg); /* asks the background thread to commit and,
				       * if wanted, checkpoint */
	size_t pend_bytes;	   /* estimated bytes of dirty states; pool lock */
	int commit_kicked;	   /* the background thread was asked; pool lock */
	void *ckpt_kick_arg;
	uint64_t meta_bytes;	   /* estimated checkpoint size (bytes) */
	uint64_t commits, checkpoints; /* counters since mount */
	uint64_t ckpt_pause_max_us; /* longest pool-lock hold of a checkpoint batch */

	struct tfs_dstat {
		/* foreground (requests of users), atomics, since mount */
		uint64_t read_bytes, read_requests, write_bytes;
		/* moves (migration, cleaning) */
		uint64_t move_read_bytes, move_write_bytes;
	} dstat[TFS_MAX_DEVS];
	uint64_t fg_requests;	   /* read and write requests served (atomic) */
	uint32_t wgen;		   /* last chunk write generation given; pool lock */
	struct tier_engine eng;	   /* heat and migration (tiering/engine.c) */

	/* zoned devices (zns.c); geometry fixed at attach */
	uint32_t zspz[TFS_MAX_DEVS];	   /* chunk slots per zone, 0 = not zoned */
	uint32_t znzones[TFS_MAX_DEVS];	   /* zones of the device (2 hold superblocks) */
	uint64_t zsize[TFS_MAX_DEVS];	   /* zone size, bytes */
	uint64_t zcap[TFS_MAX_DEVS];	   /* zone capacity, bytes */
	uint32_t zopen[TFS_MAX_DEVS];	   /* zones tierfs keeps open at once */
	struct tfs_zstat {
		uint64_t user_bytes; /* user data written into zones (persisted) */
		uint64_t dev_bytes;  /* everything written into zones (persisted) */
		uint64_t resets, finishes, cleaned_zones, moved_chunks; /* since mount */
	} zstat[TFS_MAX_DEVS];	   /* pool lock */
	uint64_t zstat_gen, zstat_logged; /* zstat changes; the last journaled */
	unsigned int zone_errors;	   /* write pointer inconsistencies found at mount */
	pthread_cond_t zcond;		   /* a zone write ended or a zone was reset; pool lock */
	struct tfs_cleaner *cleaner;	   /* the zone cleaner thread, while mounted */
	unsigned int clean_mbps;	   /* cleaner bandwidth when not urgent (MB/s) */
};

/* byte offset of chunk slot @slot on device @dev */
static inline uint64_t tfs_slot_off(const struct tfs_fs *fs, unsigned int dev, uint64_t slot)
{
	uint64_t base = fs->sb.s_dev[dev].sd_data_off;

	if (fs->zspz[dev])
		return base + (slot / fs->zspz[dev]) * fs->zsize[dev] +
		       ((slot % fs->zspz[dev]) << fs->chunk_shift);
	return base + (slot << fs->chunk_shift);
}

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
 * fs->zone_errors and logged); @repair: finish/reset zones as needed */
int tfs_zns_mount(struct tfs_fs *fs, int repair);
/* append one chunk (chunk_size bytes at @buf) to an open zone of @stream on
 * @dev; @user: bytes of it that are new user data.  Returns the slot. */
int tfs_zns_append(struct tfs_fs *fs, unsigned int dev, unsigned int stream, const void *buf,
		   uint64_t user, uint64_t *slot);
/* before a write: wait while a zoned device is down to its reserve and the
 * cleaner can free space */
void tfs_zns_throttle(struct tfs_fs *fs);
/* the cleaner: started after mount, stopped before unmount */
int tfs_cleaner_start(struct tfs_fs *fs);
void tfs_cleaner_stop(struct tfs_fs *fs);
void tfs_cleaner_kick(struct tfs_fs *fs);
/* one cleaning round on every zoned device (the cleaner's; also tests):
 * returns zones emptied or reset */
int tfs_clean_round(struct tfs_fs *fs, int force);
/* pool lock: a slot no longer in use by a chunk that lives on elsewhere now */
void tfs_slot_free(struct tfs_fs *fs, uint16_t dev, uint64_t slot);
/* i_rwlock held exclusively: move chunk @idx of @in, if it still is at
 * (@dev, @slot), to device @dst (a zone of @stream if zoned).  0 (also when
 * it is gone), or -errno */
int tfs_chunk_move(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, unsigned int dev,
		   uint64_t slot, unsigned int dst, unsigned int stream);

/* ---- heat and migration (migrate.c) ---- */
#define TFS_PIN_XATTR "user.tierfs.pin"
/* set up fs->eng with policy @pol (NULL: defaults) once the pool is loaded;
 * its thread is started apart (tier_engine_start) */
void tfs_migrate_init(struct tfs_fs *fs, const struct tier_policy *pol);
/* the class @in is pinned to (its user.tierfs.pin), or TFS_CLASS_MAX; pool lock */
unsigned int tfs_inode_pin(const struct tfs_inode *in);
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
int tfs_chunk_migrate(struct tfs_fs *fs, uint64_t ino, uint64_t idx, uint16_t dev, uint64_t slot,
		      unsigned int cls);

/* ---- records (meta.c) ---- */
enum tfs_rec_type {
	TFS_REC_INODE = 1,
	TFS_REC_INODE_FREE,
	TFS_REC_DIRENT_ADD,
	TFS_REC_DIRENT_DEL,
	TFS_REC_XATTR_SET,
	TFS_REC_XATTR_DEL,
	TFS_REC_CHUNK,
	TFS_REC_CHUNK_FREE,
	TFS_REC_UNMOUNT,
	TFS_REC_DEVSTAT, /* zoned device counters */
	TFS_REC_MAX
};
void meta_put_inode(struct tfs_wbuf *w, const struct tfs_inode *in);
void meta_put_ino(struct tfs_wbuf *w, unsigned int type, uint64_t ino);
void meta_put_dirent(struct tfs_wbuf *w, unsigned int type, uint64_t dir, uint64_t cookie,
		     uint64_t ino, const char *name, size_t namelen);
void meta_put_xattr(struct tfs_wbuf *w, unsigned int type, uint64_t ino, const char *name,
		    size_t namelen, const void *val, size_t len);
void meta_put_chunk(struct tfs_wbuf *w, const struct tfs_chunk *c);
void meta_put_chunk_free(struct tfs_wbuf *w, uint64_t ino, uint64_t idx);
/* counters of every zoned device */
void meta_put_devstats(struct tfs_fs *fs, struct tfs_wbuf *w);
/* apply one record from @r to @fs; 0 or -EINVAL (malformed) / -ENOMEM */
int meta_apply(struct tfs_fs *fs, struct tfs_rbuf *r);
/* apply a whole record stream */
int meta_apply_all(struct tfs_fs *fs, const uint8_t *p, size_t len);
/* the whole pool as a record stream */
int meta_serialize(struct tfs_fs *fs, struct tfs_wbuf *w);
/* where a serialisation in parts goes on: hash bucket, and the directory
 * (inode number, last cookie written) it stopped inside, if any */
struct meta_cursor {
	size_t bucket;
	uint64_t ino, cookie;
};
/* the pool from @cur on into @w until @w holds about @budget more bytes or
 * the table ends (cur->bucket == inode table size) */
int meta_serialize_part(struct tfs_fs *fs, struct tfs_wbuf *w, struct meta_cursor *cur,
			size_t budget);
/* after loading: link counts, placeholders, allocator; -EUCLEAN on inconsistency */
int meta_finish_load(struct tfs_fs *fs);

/* ---- journal and checkpoints (journal.c) ---- */
#define TFS_JRNL_MAGIC 0x4a534654u	   /* "TFSJ" */
#define TFS_CKPT_MAGIC 0x31544b4353465454ull /* "TTFSCKT1" */
#define TFS_JHDR_SIZE 48
int tfs_journal_load(struct tfs_fs *fs);     /* checkpoint + replay, at mount */
int tfs_commit(struct tfs_fs *fs, int force_checkpoint);
/* write a checkpoint if one is wanted (the background thread's call) */
int tfs_checkpoint_if_wanted(struct tfs_fs *fs);
int tfs_sync(struct tfs_fs *fs);	     /* fsync: commit if anything changed */
int tfs_fsync(struct tfs_fs *fs, uint64_t ino); /* tfs_sync, and remember the file cares */
int tfs_checkpoint_initial(struct tfs_fs *fs); /* mkfs */
int tfs_journal_unmount(struct tfs_fs *fs);  /* final checkpoint + unmount record */

/* ---- pool assembly (fs.c) ---- */
struct tfs_fs *tfs_fs_new(void);
/* open the pool @path belongs to (other devices from the sb or @devices, a
 * ':' list), lock it, load metadata.  On error prints why and returns NULL. */
#define TFS_OPEN_NOREPAIR (1u << 0) /* write nothing, not even a bad superblock copy */
int tfs_fs_open(struct tfs_fs **out, const char *path, const char *devices, int lock_wait_s,
		unsigned int flags);
void tfs_fs_close(struct tfs_fs *fs);
/* free inodes that have no name (nothing can reach them); returns how many */
unsigned int tfs_free_orphans(struct tfs_fs *fs);
struct tfs_inode *tfs_inode_new(struct tfs_fs *fs, uint64_t ino);
struct tfs_inode *tfs_inode_get(struct tfs_fs *fs, uint64_t ino); /* pool lock */
void tfs_inode_dirty(struct tfs_fs *fs, struct tfs_inode *in);	   /* pool lock */
void tfs_inode_destroy(struct tfs_fs *fs, struct tfs_inode *in);   /* pool lock, frees */
void tfs_inode_maybe_free(struct tfs_fs *fs, struct tfs_inode *in); /* pool lock */
void tfs_chunk_dirty(struct tfs_fs *fs, struct tfs_chunk *c);	   /* pool lock */
void tfs_chunk_release(struct tfs_fs *fs, struct tfs_inode *in, uint64_t idx, int log);
void tfs_touch(struct timespec *ts);
uint64_t tfs_now_ms(void); /* CLOCK_MONOTONIC */
/* after an unclean stop: re-checksum blocks of chunks that had a write intent */
int tfs_reseal(struct tfs_fs *fs);
#define TFS_INTENT_MS 30000 /* an intent outlives the chunk's last write by this */
void tfs_stat_fill(const struct tfs_fs *fs, const struct tfs_inode *in, struct stat *st);
void tfs_changed(struct tfs_fs *fs);

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

/* namespace operations (fs.c): all take and drop the pool lock themselves.
 * Each returns 0 or -errno; on success those producing an entry fill @st
 * and take a lookup reference. */
struct tfs_ctx {
	uint32_t uid, gid;
};
int tfs_lookup(struct tfs_fs *fs, uint64_t parent, const char *name, struct stat *st);
int tfs_forget(struct tfs_fs *fs, uint64_t ino, uint64_t n);
int tfs_getattr(struct tfs_fs *fs, uint64_t ino, struct stat *st);
int tfs_mknod(struct tfs_fs *fs, const struct tfs_ctx *ctx, uint64_t parent, const char *name,
	      mode_t mode, dev_t rdev, const char *symlink, struct stat *st);
int tfs_link(struct tfs_fs *fs, uint64_t ino, uint64_t parent, const char *name, struct stat *st);
int tfs_unlink(struct tfs_fs *fs, uint64_t parent, const char *name, int dir);
int tfs_rename(struct tfs_fs *fs, uint64_t p1, const char *n1, uint64_t p2, const char *n2,
	       unsigned int flags);
int tfs_readlink(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size);
int tfs_xattr_set(struct tfs_fs *fs, uint64_t ino, const char *name, const void *val, size_t len,
		  int flags);
/* copies up to @size bytes; returns the value length (or -errno) */
int tfs_xattr_get(struct tfs_fs *fs, uint64_t ino, const char *name, void *buf, size_t size);
int tfs_xattr_list(struct tfs_fs *fs, uint64_t ino, char *buf, size_t size);
int tfs_xattr_remove(struct tfs_fs *fs, uint64_t ino, const char *name);
int tfs_open(struct tfs_fs *fs, uint64_t ino, struct tfs_inode **out);
void tfs_release(struct tfs_fs *fs, struct tfs_inode *in);

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
int tfs_setattr(struct tfs_fs *fs, uint64_t ino, const struct stat *attr, unsigned int valid,
		struct stat *out);

/* file data (file.c) */
/* read into @buf (TFS_BLOCK_SIZE aligned, at least the aligned span);
 * returns bytes available at @buf + (off & (TFS_BLOCK_SIZE-1)) */
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
int tfs_read_iov(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, size_t size,
		 uint8_t *abuf, unsigned int heat, tfs_reply_fn reply, void *arg);
/* bytes of aligned buffer a read of @size at @off needs */
size_t tfs_read_span(uint64_t off, size_t size);
ssize_t tfs_write(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf, size_t size);
/* the same, new chunks preferring class @cls (TFS_CLASS_MAX: no preference;
 * a pin of the file wins) */
ssize_t tfs_write_cls(struct tfs_fs *fs, struct tfs_inode *in, uint64_t off, const void *buf,
		      size_t size, unsigned int cls);
int tfs_fallocate(struct tfs_fs *fs, struct tfs_inode *in, int mode, uint64_t off, uint64_t len);
int64_t tfs_lseek(struct tfs_fs *fs, struct tfs_inode *in, int64_t off, int whence);
int tfs_truncate_locked(struct tfs_fs *fs, struct tfs_inode *in, uint64_t size);

/* ---- options (options.c) ---- */
struct tfs_opts {
	char *devices;	       /* ':'-separated device paths */
	unsigned int commit;   /* seconds between background commits */
	unsigned int lock_wait; /* seconds to wait for a pool in use */
	unsigned int clean_mbps; /* zone cleaning bandwidth, MB/s */
	int debug;
	struct tier_policy pol; /* tiering knobs given with -o */
};
enum tfs_opt_type { TFS_OPT_STR, TFS_OPT_UINT, TFS_OPT_FLAG };
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

/*
 * io/io.h - the one public header of tierfs' I/O layer.
 *
 * The I/O layer knows devices and byte ranges, nothing about files or chunks.
 * It has four parts:
 *
 *  - device backends, one file each, behind a small const ops table
 *    (struct tfs_io_ops).  A device is opened by path and the class the pool
 *    says it has; the backend is chosen from the class and what the path is
 *    (a regular file can be a block device or emulated pmem, a DAX character
 *    device is always pmem);
 *  - the persistence layer of the pmem backend (backend_pmem.c): stores into
 *    a mapping made durable by cache-line flushes and a fence (DAX, MAP_SYNC)
 *    or by msync (an ordinary mapping), plus a test-only shadow mode in which
 *    nothing reaches the file until it is persisted;
 *  - the io_uring engine: one ring per thread, created lazily by the thread
 *    that first submits (SINGLE_ISSUER).  Requests are submitted asynchronously
 *    and complete through a callback run by tfs_io_reap(); tfs_io_run() is the
 *    synchronous helper that submits a whole batch at once and waits for all of
 *    it.  Short transfers are resubmitted for the remainder, -EAGAIN/-EINTR are
 *    retried, so a completed request has moved all r_len bytes or carries an
 *    error;
 *  - a fault-injectable syscall table (tfs_sys_*) for the synchronous paths
 *    (superblocks, mkfs) and the ring submit call, so tests inject EIO, ENOSPC
 *    and short writes without hardware.
 *
 * Error convention everywhere: 0 or a count on success, -errno on failure.
 */
#ifndef TFS_IO_H
#define TFS_IO_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Unit of O_DIRECT transfers, of hole tracking and of data checksums (bytes). */
#define TFS_BLOCK_SIZE 4096u
#define TFS_BLOCK_SHIFT 12

/* Device classes, fastest first.  The value is the tier index. */
enum tfs_dev_class {
	TFS_CLASS_PMEM = 0,
	TFS_CLASS_ZNS = 1,
	TFS_CLASS_BLOCK = 2,
	TFS_CLASS_RADOS = 3, /* objects in a Ceph RADOS pool (backend_rados.c) */
	TFS_CLASS_MAX
};
const char *tfs_dev_class_str(unsigned int cls);

#define TFS_IO_OPS_VERSION 3

/* Backend capability flags (struct tfs_io_ops.flags). */
#define TFS_IO_DIRECT (1u << 0) /* I/O must be TFS_BLOCK_SIZE aligned */
#define TFS_IO_ZONED (1u << 1)	/* sequential-write zones */
#define TFS_IO_BYTE (1u << 2)	/* byte addressable (pmem) */

struct tfs_io_dev;
struct io_uring_sqe;
struct tfs_io_req;
struct tfs_zone;
struct tfs_zgeom;

/**
 * struct tfs_io_ops - a device backend.
 * @name:    short name shown in logs and status ("block").
 * @version: TFS_IO_OPS_VERSION the backend was written against.
 * @flags:   TFS_IO_* capabilities.
 * @probe:   return 1 if this backend drives the already opened @fd (with
 *           fstat result @st) as a device of class @cls (TFS_CLASS_MAX:
 *           whatever the path is), 0 if not.  Required.
 * @open:    finish opening @dev, whose d_fd and d_path are set: learn the
 *           size, switch to direct I/O where possible.  Returns 0 or -errno.
 *           Required.
 * @close:   release backend state (not d_fd, which the core closes).  May be
 *           NULL.
 * @prep:    fill @sqe for @req (a read or write of req->r_len - req->r_done
 *           bytes at req->r_off + req->r_done).  Required.
 * @flush:   prepare a durability barrier for everything completed before it
 *           (fdatasync for a file or block device).  Required unless @sync_io.
 * @sync_io: for byte-addressable backends: perform @req (read, write or
 *           flush) at once, without the ring.  A write is durable when it
 *           returns.  Returns 0 or -errno.  When set, @prep and @flush are
 *           never called.
 * @aio_start, @aio_wait: optional, with @sync_io: start @req without
 *           waiting (0, or -errno to have it done by @sync_io instead), and
 *           wait for a started one (its result, as @sync_io's).  Within one
 *           tfs_io_run() batch every request so started is in flight at
 *           once (rados: a read of several objects).
 * @zgeom, @zreport, @zmgmt: zoned backends only (NULL otherwise): the
 *           geometry, a report of zones, a management command; see
 *           tfs_zns_geometry() and friends below.
 */
struct tfs_io_ops {
	const char *name;
	int version;
	unsigned int flags;
	int (*probe)(int fd, const void *st, unsigned int cls);
	int (*open)(struct tfs_io_dev *dev);
	void (*close)(struct tfs_io_dev *dev);
	void (*prep)(struct tfs_io_dev *dev, struct io_uring_sqe *sqe, struct tfs_io_req *req);
	void (*flush)(struct tfs_io_dev *dev, struct io_uring_sqe *sqe);
	int (*sync_io)(struct tfs_io_dev *dev, struct tfs_io_req *req);
	int (*aio_start)(struct tfs_io_dev *dev, struct tfs_io_req *req);
	int (*aio_wait)(struct tfs_io_dev *dev, struct tfs_io_req *req);
	int (*zgeom)(struct tfs_io_dev *dev, struct tfs_zgeom *g);
	int (*zreport)(struct tfs_io_dev *dev, uint32_t first, struct tfs_zone *out, uint32_t nr);
	int (*zmgmt)(struct tfs_io_dev *dev, uint32_t zone, unsigned int op);
};

extern const struct tfs_io_ops tfs_block_ops;
extern const struct tfs_io_ops tfs_pmem_ops;
extern const struct tfs_io_ops tfs_zns_emu_ops;
extern const struct tfs_io_ops tfs_zns_ops;
extern const struct tfs_io_ops tfs_rados_ops;
/* 1 if @st (a struct stat) is a host-managed zoned block device */
int tfs_zbd_host_managed(const void *st);
/* the block backend's ring preparation, shared by the real zoned backend */
void tfs_block_prep(struct tfs_io_dev *dev, struct io_uring_sqe *sqe, struct tfs_io_req *req);
void tfs_block_flush(struct tfs_io_dev *dev, struct io_uring_sqe *sqe);

/**
 * struct tfs_io_dev - one opened device (a path of the pool).
 * @d_ops:   its backend.
 * @d_fd:    file descriptor (O_DIRECT where the backend has TFS_IO_DIRECT and
 *           the file system allows it).
 * @d_size:  usable size in bytes.
 * @d_direct: 1 if d_fd was opened with O_DIRECT.
 * @d_wgen:  bumped (atomically) by every completed write.
 * @d_fgen:  the d_wgen a flush read before it started, once it completed:
 *           all writes up to there are durable.  The device holds writes
 *           not known durable while the two differ (tfs_io_dirty), which
 *           tells a commit what to flush.  (A flag cleared when a flush
 *           starts let a commit skip a device whose flush, started by
 *           another thread, had not completed yet.)
 * @d_class: enum tfs_dev_class the device was opened as.
 * @d_map:   byte-addressable backends: the mapping of the whole device
 *           (reads may be served straight from it).  NULL otherwise.
 * @d_priv:  backend state.
 * @d_path:  the path it was opened by.
 */
struct tfs_io_dev {
	const struct tfs_io_ops *d_ops;
	int d_fd;
	int d_direct;
	uint64_t d_size;
	uint64_t d_wgen, d_fgen;
	unsigned int d_class;
	uint8_t *d_map;
	void *d_priv;
	char d_path[PATH_MAX];
};

/* a write to @dev completed */
static inline void tfs_io_written(struct tfs_io_dev *dev)
{
	__atomic_add_fetch(&dev->d_wgen, 1, __ATOMIC_RELEASE);
}

/* does @dev hold completed writes that no completed flush covers? */
static inline int tfs_io_dirty(const struct tfs_io_dev *dev)
{
	return __atomic_load_n(&dev->d_wgen, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&dev->d_fgen, __ATOMIC_ACQUIRE);
}

/*
 * Open @path read-write (O_EXCL for block devices so that nothing else has it
 * mounted) as a device of class @cls, or TFS_CLASS_MAX to take it for what it
 * is (a DAX character device is pmem, anything else block).  Returns 0 or
 * -errno; on failure @dev is left closed.
 */
int tfs_io_dev_open(struct tfs_io_dev *dev, const char *path, unsigned int cls);
void tfs_io_dev_close(struct tfs_io_dev *dev);
/* Synchronous whole-range transfers on @dev (superblocks, tools); a write
 * is not durable until tfs_io_flush(@dev). */
int tfs_io_dev_pread(struct tfs_io_dev *dev, void *buf, size_t len, uint64_t off);
int tfs_io_dev_pwrite(struct tfs_io_dev *dev, const void *buf, size_t len, uint64_t off);

/*
 * RADOS (backend_rados.c): a device named
 * "rados:POOL[,conf=PATH][,id=NAME][,namespace=NS][,size=N{M,G,T}]" is a
 * RADOS pool, one object per chunk-sized window of its byte space (window 0,
 * the first TFS_RADOS_SUPER_BYTES, is the object "tierfs.super", which holds
 * the superblock copies).  tfs_io_dev_open() connects, with every cluster
 * call bounded by tfs_rados_timeout_s seconds; tfs_rados_error() then says
 * why a connection failed.  tfs_rados_window: the window (the pool's chunk
 * size, log2) and the usable size, once the superblock is read; data
 * windows are unreachable before.  A request of a data window names its
 * object by r_key (struct tfs_okey); data objects are written whole (with
 * their XXH64 as an xattr, in the same operation), once, and never in place.
 */
/*
 * The name of a data object of a rados device: the chunk it holds (inode,
 * index in the file) and the generation it was written with, drawn anew
 * for every copy, so an object is never written twice and a name is never
 * reused for other data.  gen 0: an object of format 6, named by its slot.
 */
struct tfs_okey {
	uint64_t ino;
	uint32_t idx;
	uint32_t gen;
};

#define TFS_RADOS_PREFIX "rados:"
#define TFS_RADOS_SUPER_BYTES 65536u
struct tfs_rados_spec {
	char pool[128];
	char conf[256];
	char id[64];
	char ns[64];
	uint64_t size; /* bytes; 0: not given */
};
struct tfs_rados_stat {
	uint64_t reads, writes, removes, errors, inflight;
	uint64_t read_bytes, write_bytes, read_ns, write_ns;
};
extern unsigned int tfs_rados_timeout_s;
int tfs_rados_path(const char *path);
int tfs_rados_parse(const char *path, struct tfs_rados_spec *s, char *why, size_t len);
const char *tfs_rados_error(void);
int tfs_rados_window(struct tfs_io_dev *dev, unsigned int shift, uint64_t size);
/* around fork(): librados's threads do not cross it, so the connection is
 * closed before and made again in the child (0 for any other device, or
 * -errno, the device then offline: every request -EIO); between the two
 * the device serves nothing */
int tfs_rados_before_fork(struct tfs_io_dev *dev);
int tfs_rados_after_fork(struct tfs_io_dev *dev);
/* @dev as a rados device whose cluster is out of reach (-o degraded):
 * every request fails with -EIO */
int tfs_rados_offline(struct tfs_io_dev *dev, const char *path, uint64_t size);
/* 1 if @dev is a rados device connected to its cluster */
int tfs_rados_online(const struct tfs_io_dev *dev);
/* connect and create the pool if it is missing (mkfs) */
int tfs_rados_create(const char *path, char *why, size_t len);
/* start @req on its rados device without waiting: when it completes,
 * @req->r_cb(@req) runs in a librados thread, where it must neither block
 * nor reap; the request's owner then collects the result (r_res, also
 * returned) with tfs_rados_reap.  0 started, -errno not started (the
 * callback will not run) */
int tfs_rados_submit(struct tfs_io_req *req);
int tfs_rados_reap(struct tfs_io_req *req);
/* start removing the object of @k (@slot: the window holding it, for
 * format 6 names) without waiting */
int tfs_rados_remove(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot);
/* remove that object and wait */
int tfs_rados_remove_sync(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot);
/* call @fn for every data object of the namespace, with its name parsed
 * (a format 6 name: gen 0 and its slot; otherwise @slot is UINT64_MAX);
 * stops at a non-zero return, which it returns */
int tfs_rados_list(struct tfs_io_dev *dev,
		   int (*fn)(void *arg, const struct tfs_okey *k, uint64_t slot), void *arg);
/* the object's name, as the pool stores it */
void tfs_rados_name(const struct tfs_okey *k, uint64_t slot, char *out, size_t len);
/* read that object whole into @buf (@len: the window) and check it against
 * its checksum xattr: 0, -EBADMSG damaged, or -errno */
int tfs_rados_verify(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot, void *buf,
		     size_t len);
void tfs_rados_stats(const struct tfs_io_dev *dev, struct tfs_rados_stat *out);

/*
 * Persistent memory (backend_pmem.c).  How a pmem device is made durable is
 * chosen when it is opened:
 *   TFS_PMEM_CPU     the mapping is DAX (MAP_SYNC accepted, or a device-dax
 *                    character device): flush the cache lines (clwb,
 *                    clflushopt or clflush, by CPUID) and fence;
 *   TFS_PMEM_MSYNC   an ordinary shared mapping (a file on tmpfs or ext4, a
 *                    block device): msync of the dirty pages;
 *   TFS_PMEM_SHADOW  test mode, chosen by the environment variable
 *                    TIERFS_PMEM_SHADOW=1: the mapping is private, and only
 *                    persisted cache lines are copied to the file, so a crash
 *                    (of the process, or tfs_pmem_crash()) loses every byte
 *                    that was stored but not persisted.
 */
enum tfs_pmem_mode { TFS_PMEM_CPU, TFS_PMEM_MSYNC, TFS_PMEM_SHADOW };
#define TFS_PMEM_LINE 64u /* persistence granularity: a cache line */
int tfs_pmem_mode(const struct tfs_io_dev *dev);
const char *tfs_pmem_mode_str(const struct tfs_io_dev *dev);
/* make bytes [off, off+len) of the mapping durable (whole lines) */
int tfs_pmem_persist(struct tfs_io_dev *dev, uint64_t off, size_t len);
/* store @v at the 8-byte aligned @off as one atomic store and persist it: the
 * commit point of a record written and persisted before it */
int tfs_pmem_store8(struct tfs_io_dev *dev, uint64_t off, uint64_t v);
/* shadow mode only: simulate a crash (forget what was not persisted) */
int tfs_pmem_crash(struct tfs_io_dev *dev);
/* bytes persisted since open (what a shadow-mode test can assert on) */
uint64_t tfs_pmem_persisted(const struct tfs_io_dev *dev);

enum tfs_io_op { TFS_IO_READ, TFS_IO_WRITE, TFS_IO_FLUSH, TFS_IO_OP_MAX };

/**
 * struct tfs_io_req - one read, write or flush.
 * @r_dev:  target device.
 * @r_op:   enum tfs_io_op.
 * @r_buf:  buffer (aligned to TFS_BLOCK_SIZE for direct devices).
 * @r_len:  bytes to move.
 * @r_off:  device offset (bytes).
 * @r_done: bytes moved so far (the engine's; start at 0).
 * @r_res:  0 or -errno once complete.
 * @r_cb:   completion callback for tfs_io_submit(); unused by tfs_io_run().
 * @r_priv: caller's.
 * @r_flags: TFS_IO_F_*.
 * @r_next: the engine's.
 * @r_aio:  the backend's, while started by aio_start.
 */
struct tfs_io_req {
	struct tfs_io_dev *r_dev;
	unsigned int r_op;
	void *r_buf;
	uint32_t r_len;
	uint64_t r_off;
	uint32_t r_done;
	int32_t r_res;
	void (*r_cb)(struct tfs_io_req *req);
	void *r_priv;
	unsigned int r_flags;
	struct tfs_io_req *r_next;
	void *r_aio;
	struct tfs_okey r_key; /* rados: the chunk a data window holds */
};

#define TFS_IO_F_META (1u << 0) /* metadata (journal, checkpoint): for fault plans */

/* Queue @req on this thread's ring; it completes in a later tfs_io_reap(). */
int tfs_io_submit(struct tfs_io_req *req);
/* Submit what is queued, wait for at least @min completions, run callbacks. */
int tfs_io_reap(unsigned int min);
/*
 * Synchronous batch: submit all @n requests together and wait for all.
 * Returns 0, or the first request error (-errno); every r_res is set.
 */
int tfs_io_run(struct tfs_io_req *reqs, unsigned int n);
/* Make everything completed on @dev so far durable. */
int tfs_io_flush(struct tfs_io_dev *dev);
/* Tear down this thread's ring and scratch buffers (also done at thread exit). */
void tfs_io_thread_exit(void);

/*
 * Per-thread aligned scratch buffers, grown on demand and freed when the
 * thread ends (or at tfs_io_thread_exit).  The contents do not survive the
 * next call with the same @which.  NULL when out of memory.
 */
enum { TFS_SCRATCH_WRITE, TFS_SCRATCH_READ, TFS_SCRATCH_CHUNK, TFS_IO_SCRATCH_MAX };
void *tfs_io_scratch(unsigned int which, size_t len);

/* Aligned buffer helpers (TFS_BLOCK_SIZE alignment). */
void *tfs_io_alloc(size_t len);
void tfs_io_free(void *p);

/*
 * Fault-injectable syscalls.  Each has a current and a default
 * implementation; tfs_syscall_set(name, fn) replaces the current one and
 * tfs_syscall_set(name, NULL) restores the default.  Returns 0 or -ENOENT.
 */
ssize_t tfs_sys_pread(int fd, void *buf, size_t len, off_t off);
ssize_t tfs_sys_pwrite(int fd, const void *buf, size_t len, off_t off);
int tfs_sys_fdatasync(int fd);
int tfs_sys_uring_submit(void *ring, unsigned int wait_nr);
struct stat;
int tfs_sys_stat(const char *path, struct stat *st);
int tfs_sys_fstat(int fd, struct stat *st);
int tfs_sys_ioctl(int fd, unsigned long req, void *arg);
/* read a small text attribute (sysfs) NUL-terminated: its length, or -1
 * with errno set */
ssize_t tfs_sys_read_attr(const char *path, char *buf, size_t len);
int tfs_syscall_set(const char *name, void *fn);
/* the real implementation of @name (for an override that passes calls on),
 * or NULL */
void *tfs_syscall_default(const char *name);

/*
 * A stand-in kernel for zoned block devices (zbd_standin.c), for tests on
 * machines without zoned block device support.  When the environment
 * variable TIERFS_ZBD_STANDIN names an image file, the first device open of
 * the process installs it in the syscall table: that file then is, to
 * tierfs, a host-managed zoned block device driven by backend_zns.c through
 * stat, ioctl (BLKGETSIZE64, BLKGETZONESZ, BLKGETNRZONES, BLKREPORTZONE,
 * BLK{OPEN,CLOSE,FINISH,RESET}ZONE), sysfs attributes and the ring, whose
 * writes are checked against the zone rules (io/zone.c) as the kernel does.
 * Zone state lives in IMG.zbd, mapped shared, so that every process sees
 * the device alike and a test can change a zone while a pool is mounted.
 *
 * tfs_zbd_standin_create: make IMG (sparse) and IMG.zbd with every zone
 * empty.  tfs_zbd_standin_poke: change zone @zone of the device: @what is
 * "readonly", "offline", "fail-reset=N" (the next N resets fail with EIO)
 * or "wp=KIB" (move the write pointer).  Both 0 or -errno.
 */
int tfs_zbd_standin_create(const char *img, uint32_t nr_zones, uint64_t zone_size,
			   uint64_t zone_cap, uint32_t max_open, uint32_t max_active);
int tfs_zbd_standin_poke(const char *img, uint32_t zone, const char *what);
/* install the stand-in for @img (once per process: -EBUSY after that) */
int tfs_zbd_standin_install(const char *img);
/* install the stand-in if TIERFS_ZBD_STANDIN is set (once per process):
 * 0, or -errno when it is set but cannot be used */
int tfs_zbd_standin_env(void);

/*
 * Zone model (zone.c): the rules of zoned devices, shared by the emulator
 * and the real backend.  Positions are bytes.  Conditions mirror
 * BLK_ZONE_COND_*.  Every call returns 0 or -errno as the kernel would:
 * -EIO for a write not at the write pointer, past the capacity or to a
 * FULL/READONLY/OFFLINE zone (and for invalid management of a condition),
 * -ETOOMANYREFS with no open slot, -EOVERFLOW with no active slot.
 */
enum tfs_zone_cond {
	TFS_ZC_NOT_WP = 0x0,
	TFS_ZC_EMPTY = 0x1,
	TFS_ZC_IMP_OPEN = 0x2,
	TFS_ZC_EXP_OPEN = 0x3,
	TFS_ZC_CLOSED = 0x4,
	TFS_ZC_READONLY = 0xD,
	TFS_ZC_FULL = 0xE,
	TFS_ZC_OFFLINE = 0xF,
};
enum tfs_zone_op { TFS_ZONE_OPEN, TFS_ZONE_CLOSE, TFS_ZONE_FINISH, TFS_ZONE_RESET };

struct tfs_zone {
	uint64_t start, len;	/* bytes; len is the zone size */
	uint64_t cap;		/* usable bytes from start (<= len) */
	uint64_t wp;		/* write pointer; meaningless when FULL */
	uint8_t cond;		/* enum tfs_zone_cond */
};

/**
 * struct tfs_zoneset - the zones of one device and their accounting.
 * @z: @nr zones.  @max_open, @max_active: limits, 0 = none.
 * @nr_open: implicitly + explicitly open zones.  @nr_active: open + closed.
 * @implicit_closes: zones closed by the device to make room (a counter).
 */
struct tfs_zoneset {
	struct tfs_zone *z;
	uint32_t nr;
	uint32_t max_open, max_active;
	uint32_t nr_open, nr_active;
	uint64_t implicit_closes;
};

int tfs_zone_write(struct tfs_zoneset *zs, uint32_t zone, uint64_t off, uint64_t len);
int tfs_zone_mgmt(struct tfs_zoneset *zs, uint32_t zone, unsigned int op);
/* 0 if [off, off+len) of @zone holds data that may be read */
int tfs_zone_readable(const struct tfs_zoneset *zs, uint32_t zone, uint64_t off, uint64_t len);
/* recompute nr_open/nr_active from the conditions (after loading a table) */
void tfs_zoneset_recount(struct tfs_zoneset *zs);
int tfs_zone_cond_ok(unsigned int cond);
const char *tfs_zone_cond_str(unsigned int cond);

/*
 * Zoned devices: a real one (backend_zns.c: a zoned block device driven by
 * the kernel's blkzoned ioctls, writes through the ring with O_DIRECT) or
 * one emulated on a regular file (backend_zns_emu.c, enforcing the zone
 * model).  A device offset is zone * zone size + offset in the zone; a
 * request never crosses a zone.  The caller keeps at most one write in
 * flight per zone, at its write pointer.
 *
 * tfs_zns_emu_check: 0 if the geometry is one a device could have, else
 * -EINVAL with *why saying what is wrong.  tfs_zns_emu_format: create or
 * overwrite @path as an emulated device with every zone empty.
 * tfs_zns_geometry: zone count, size, the smallest zone capacity and the
 * limits.  tfs_zns_report: copy up to @nr zones from @first into @out (as
 * the device reports them now); returns how many.  tfs_zns_mgmt: a
 * TFS_ZONE_* command, durable when it returns.  All return -ENOTTY for a
 * device that is not zoned.
 */
struct tfs_zgeom {
	uint32_t nr_zones;
	uint64_t zone_size, zone_cap; /* bytes; zone_cap is the smallest */
	uint32_t max_open, max_active; /* 0 = no limit */
};
int tfs_zns_emu_check(uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		      uint32_t max_open, uint32_t max_active, const char **why);
int tfs_zns_emu_format(const char *path, uint64_t zone_size, uint64_t zone_cap, uint32_t nr_zones,
		       uint32_t max_open, uint32_t max_active);
int tfs_zns_is_zoned(const struct tfs_io_dev *dev);
/* an emulated zoned device: how many of its two zone table copies are
 * damaged (what, in @why); 0 for any other device */
int tfs_zns_emu_verify(struct tfs_io_dev *dev, char *why, size_t len);
/* an emulated zoned device: the file offset of device byte 0, and where its
 * two zone table copies are (copy B follows copy A); -ENOTTY for any other */
int tfs_zns_emu_layout(const struct tfs_io_dev *dev, uint64_t *data_off, uint64_t *table_off,
		       uint64_t *table_len);
int tfs_zns_geometry(struct tfs_io_dev *dev, struct tfs_zgeom *g);
int tfs_zns_report(struct tfs_io_dev *dev, uint32_t first, struct tfs_zone *out, uint32_t nr);
int tfs_zns_mgmt(struct tfs_io_dev *dev, uint32_t zone, unsigned int op);

/*
 * Fault plan for device requests (fault.c; the daemon reads TIERFS_FAULT):
 * "OP:KIND[:after=N][:count=N][:dev=SUBSTRING]", OP one of read, write,
 * jwrite, dwrite, flush (or init: see fault.c); KIND one of EIO, ENOSPC, torn,
 * short.  tfs_fault_set(NULL)
 * clears it.  Returns 0 or -EINVAL.  The engine calls tfs_fault_check() for
 * every request: 0, a -errno to fail it with, or TFS_FAULT_TORN/SHORT.
 */
enum tfs_fault_kind { TFS_FAULT_TORN = 1, TFS_FAULT_SHORT = 2 };
int tfs_fault_set(const char *spec);
int tfs_fault_check(const struct tfs_io_req *req);
void tfs_fault_tear(struct tfs_io_req *req);
uint64_t tfs_fault_hits(void);
int tfs_fault_init(void); /* the plan is init:EIO: -EIO, else 0 */

/* Synchronous whole-buffer helpers over the table (retry short transfers). */
int tfs_io_pread_full(int fd, void *buf, size_t len, uint64_t off);
int tfs_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif /* TFS_IO_H */

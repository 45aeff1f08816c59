/*
 * src/ll_ops.c - the FUSE low-level handlers.
 *
 * This is the only place where -errno turns into the positive errno libfuse
 * wants, and every handler replies exactly once on every path.  The handlers
 * are thin: namespace work is in fs.c, data in file.c.
 *
 * Caching: every change to the pool goes through this mount, so entries and
 * attributes are handed out with long timeouts (and ENOENT as negative
 * entries), data pages are kept across opens, and no metadata request ever
 * waits for a device.
 */
#include "config.h"

#define FUSE_USE_VERSION 312 /* 3.12 API: fuse_loop_cfg_* and the matching loop entry point */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tfs.h"

#define TFS_TIMEOUT 86400.0 /* seconds */

extern const struct fuse_lowlevel_ops tfs_ll_ops;

static struct tfs_fs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* an open file: its inode, and a stream detector per direction (heat) */
struct tfs_handle {
	struct tfs_inode *in;
	int writable; /* opened for writing */
	struct tier_seq rd, wr;
	struct tfs_handle *prev, *next; /* open handles (tfs_ll_handles_drop) */
};

/* every open handle: the kernel may end the session without releasing some
 * (a lazy unmount, an aborted connection); they are dropped at exit */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tfs_handle *handles;

static struct tfs_handle *fh_handle(struct fuse_file_info *fi)
{
	return (struct tfs_handle *)(uintptr_t)fi->fh;
}

/* every handler replies before it returns: the time from its start to its
 * return is the request's service time in the daemon (opstat.c) */
struct op_timer {
	struct tfs_opstat *s;
	uint64_t t0;
};

static void op_done(struct op_timer *t)
{
	tfs_op_record(t->s, tfs_op_now_ns() - t->t0);
}

#define OP_TIMED(req, op)                                                     \
	struct op_timer op_t_ __attribute__((cleanup(op_done), unused)) = {  \
		&req_fs(req)->ops[op], tfs_op_now_ns()                        \
	}

static struct tfs_inode *fh_inode(struct fuse_file_info *fi)
{
	return fh_handle(fi)->in;
}

/* the kernel's cache of @ino is stale: its attributes, and its pages from
 * @off on (-1: none).  Sent before the reply, so the caller's next call
 * asks again. */
static void kernel_stale(struct tfs_fs *fs, fuse_ino_t ino, off_t off)
{
	if (fs->fconn.se)
		fuse_lowlevel_notify_inval_inode(fs->fconn.se, ino, off, 0);
}

/* the daemon changed @ino's attributes behind the kernel's back (it killed
 * setuid/setgid on a write or an O_TRUNC open) */
static void attr_stale(struct tfs_fs *fs, fuse_ino_t ino)
{
	kernel_stale(fs, ino, -1);
}

/* a cached write of @ino at @at was refused for space: later ones are
 * refused too (and what cached writes stored past @at since the last fsync
 * is cut back: tfs_write_refused), and the kernel forgets the attributes so
 * that the writer's next write(2) asks for them and hears ENOSPC
 * (tfs_ll_getattr) */
static void nospc_note(struct tfs_fs *fs, fuse_ino_t ino, struct tfs_inode *in, uint64_t at)
{
	tfs_write_refused(fs, in, at);
	__atomic_store_n(&in->i_os->os_nospc_report, 1, __ATOMIC_RELEASE);
	attr_stale(fs, ino);
}

/* a call that failed with ENOSPC (changing nothing) while slots freed by
 * earlier calls wait for their commit: commit them and try once more, so
 * that deleting makes room at once */
#define RETRY_ENOSPC(fs, call)                                                       \
	({                                                                           \
		__typeof__(call) r_ = (call);                                        \
		if (r_ == -ENOSPC && tfs_enospc_retry(fs))                           \
			r_ = (call);                                                 \
		r_;                                                                  \
	})

/* 0, or -ENOMEM (and @in released) */
static int handle_new(struct tfs_fs *fs, struct tfs_inode *in, struct fuse_file_info *fi)
{
	struct tfs_handle *h = calloc(1, sizeof(*h));

	if (!h) {
		tfs_release(fs, in);
		return -ENOMEM;
	}
	h->in = in;
	h->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	pthread_mutex_lock(&handles_lock);
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	pthread_mutex_unlock(&handles_lock);
	fi->fh = (uintptr_t)h;
	return 0;
}

static void handle_put(struct tfs_fs *fs, struct tfs_handle *h)
{
	pthread_mutex_lock(&handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&handles_lock);
	tfs_release(fs, h->in);
	free(h);
}

static void handle_free(struct tfs_fs *fs, struct fuse_file_info *fi)
{
	handle_put(fs, fh_handle(fi));
}

/* after the session: the handles the kernel never released (their files
 * are closed now; an unlinked one becomes an orphan that unmount frees) */
unsigned int tfs_ll_handles_drop(struct tfs_fs *fs)
{
	unsigned int n = 0;

	while (handles) {
		handle_put(fs, handles);
		n++;
	}
	return n;
}

static void reply_entry(fuse_req_t req, int ret, const struct stat *st)
{
	struct fuse_entry_param e;

	if (ret < 0 && ret != -ENOENT) {
		fuse_reply_err(req, -ret);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.entry_timeout = TFS_TIMEOUT;
	if (ret == 0) {
		e.ino = st->st_ino;
		e.generation = 1;
		e.attr = *st;
		e.attr_timeout = TFS_TIMEOUT;
	}
	/* ENOENT: ino 0 is a negative entry the kernel caches */
	fuse_reply_entry(req, &e);
}

static void tfs_ll_init(void *userdata, struct fuse_conn_info *conn)
{
	struct tfs_fs *fs = userdata;

	/* a directory's open carries nothing (readdir needs no handle): the
	 * first OPENDIR is answered ENOSYS and the kernel sends no more, nor
	 * their RELEASEDIR */
	fs->fconn.no_opendir = !!(conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT);
	if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* the kernel clears suid/sgid itself (through setattr) when we do not */
	conn->want &= ~(unsigned int)FUSE_CAP_HANDLE_KILLPRIV;
	/* tierfs owns its data: nothing changes it behind the kernel's back */
	conn->want &= ~(unsigned int)FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* libfuse refuses INIT unless this repeats the max_read= mount option */
	conn->max_read = fs->fconn.max_read;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
}

static void tfs_ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	OP_TIMED(req, TFS_OP_LOOKUP);
	struct stat st;

	reply_entry(req, tfs_lookup(req_fs(req), parent, name, &st), &st);
}

static void tfs_ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	OP_TIMED(req, TFS_OP_FORGET);
	tfs_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void tfs_ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	OP_TIMED(req, TFS_OP_FORGET);
	size_t i;

	for (i = 0; i < count; i++)
		tfs_forget(req_fs(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void tfs_ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_GETATTR);
	struct stat st;
	int ret;

	/* asked through a file open for writing: before a buffered write(2),
	 * or a read or seek near the end.  A cached write of this file was
	 * refused for space since: the caller hears ENOSPC now (once). */
	if (fi && fh_handle(fi)->writable &&
	    __atomic_exchange_n(&fh_inode(fi)->i_os->os_nospc_report, 0, __ATOMIC_ACQ_REL)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	ret = tfs_getattr(req_fs(req), ino, &st);

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, TFS_TIMEOUT);
}

static void tfs_ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			   struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_SETATTR);
	struct stat st;
	unsigned int valid = (unsigned int)to_set;
	int ret;

	if (tfs_fuse_rq_flags() & TFS_RQ_KILL_SUIDGID)
		valid |= TFS_SET_KILL_PRIV;
	ret = RETRY_ENOSPC(req_fs(req), tfs_setattr(req_fs(req), ino, attr, valid, &st));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, TFS_TIMEOUT);
}

static void tfs_ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	OP_TIMED(req, TFS_OP_READLINK);
	char buf[TFS_SYMLINK_MAX + 1];
	int ret = tfs_readlink(req_fs(req), ino, buf, sizeof(buf));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_readlink(req, buf);
}

static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      dev_t rdev, const char *link)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct tfs_ctx ctx = { .uid = c->uid, .gid = c->gid };
	struct stat st;

	reply_entry(req, RETRY_ENOSPC(req_fs(req), tfs_mknod(req_fs(req), &ctx, parent, name, mode, rdev, link, &st)), &st);
}

static void tfs_ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 dev_t rdev)
{
	OP_TIMED(req, TFS_OP_MKNOD);
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) &&
	    !S_ISBLK(mode)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	make_node(req, parent, name, mode, rdev, NULL);
}

static void tfs_ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	OP_TIMED(req, TFS_OP_MKDIR);
	make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

static void tfs_ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	OP_TIMED(req, TFS_OP_SYMLINK);
	make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

static void tfs_ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	OP_TIMED(req, TFS_OP_UNLINK);
	fuse_reply_err(req, -tfs_unlink(req_fs(req), parent, name, 0));
}

static void tfs_ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	OP_TIMED(req, TFS_OP_RMDIR);
	fuse_reply_err(req, -tfs_unlink(req_fs(req), parent, name, 1));
}

static struct tfs_ctx req_ctx(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct tfs_ctx ctx = { .uid = c->uid, .gid = c->gid };

	return ctx;
}

static void tfs_ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	OP_TIMED(req, TFS_OP_RENAME);
	struct tfs_ctx ctx = req_ctx(req);

	fuse_reply_err(req, -RETRY_ENOSPC(req_fs(req), tfs_rename(req_fs(req), &ctx, parent, name, newparent, newname, flags)));
}

static void tfs_ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	OP_TIMED(req, TFS_OP_LINK);
	struct tfs_ctx ctx = req_ctx(req);
	struct stat st;
	int ret = RETRY_ENOSPC(req_fs(req), tfs_link(req_fs(req), &ctx, ino, newparent, newname, &st));

	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		reply_entry(req, 0, &st);
}

/* O_TRUNC comes with open (ATOMIC_O_TRUNC) and is ours to do */
static int open_trunc(struct tfs_fs *fs, struct tfs_inode *in, struct fuse_file_info *fi)
{
	struct stat attr, st;

	if (!(fi->flags & O_TRUNC) || !S_ISREG(in->i_mode))
		return 0;
	memset(&attr, 0, sizeof(attr));
	return tfs_setattr(fs, in->i_ino, &attr,
			   TFS_SET_SIZE | (tfs_fuse_rq_flags() & TFS_RQ_KILL_SUIDGID ? TFS_SET_KILL_PRIV : 0),
			   &st);
}

static void open_flags(struct fuse_file_info *fi)
{
	if (fi->flags & O_DIRECT)
		fi->direct_io = 1; /* the caller asked for uncached I/O */
	else
		fi->keep_cache = 1;
}

static void tfs_ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_OPEN);
	struct tfs_fs *fs = req_fs(req);
	struct tfs_inode *in;
	int ret = tfs_open(fs, ino, &in);

	if (ret == 0) {
		uint32_t mode = __atomic_load_n(&in->i_mode, __ATOMIC_RELAXED);

		ret = open_trunc(fs, in, fi);
		if (ret < 0)
			tfs_release(fs, in);
		else if (mode != __atomic_load_n(&in->i_mode, __ATOMIC_RELAXED))
			attr_stale(fs, ino);
	}
	if (ret == 0)
		ret = handle_new(fs, in, fi);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	open_flags(fi);
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_free(fs, fi); /* the opener was interrupted */
}

static void tfs_ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			  struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_CREATE);
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct tfs_ctx ctx = { .uid = c->uid, .gid = c->gid };
	struct tfs_fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct tfs_inode *in;
	struct stat st;
	int ret;

	ret = RETRY_ENOSPC(fs, tfs_mknod(fs, &ctx, parent, name, S_IFREG | (mode & 07777), 0, NULL, &st));
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	ret = tfs_open(fs, st.st_ino, &in);
	if (ret == 0)
		ret = handle_new(fs, in, fi);
	if (ret < 0) {
		tfs_forget(fs, st.st_ino, 1);
		fuse_reply_err(req, -ret);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = st.st_ino;
	e.generation = 1;
	e.attr = st;
	e.attr_timeout = e.entry_timeout = TFS_TIMEOUT;
	open_flags(fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		handle_free(fs, fi);
		tfs_forget(fs, st.st_ino, 1);
	}
}

/* the reply of a read: the kernel copies straight from the pieces (pmem
 * blocks from the mapping); 1 once sent, so that an error is not sent too */
static int read_reply(void *arg, const struct iovec *iov, int n)
{
	fuse_req_t req = arg;

	if (n == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_iov(req, iov, n);
	return 1;
}

/* the answer to a read of a chunk in rados, from the cold-read loop */
static void read_done(void *arg, const struct iovec *iov, int n, int err)
{
	fuse_req_t req = arg;

	if (err)
		fuse_reply_err(req, -err);
	else
		read_reply(req, iov, n);
}

static void tfs_ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_READ);
	/* replying copies the data out: a per-thread buffer is enough */
	uint8_t *buf = tfs_io_scratch(TFS_SCRATCH_READ, tfs_read_span((uint64_t)off, size));
	struct tfs_fs *fs = req_fs(req);
	struct tfs_handle *h = fh_handle(fi);
	const struct tier_policy *pol = &fs->eng.pol;
	int ret, scan;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* before the reply: once it is sent, a release may free the handle */
	scan = tier_stream_note(&h->rd, (uint64_t)off, size, (uint64_t)pol->scan_min_kib << 10);
	__atomic_fetch_add(&fs->pool.fg_requests, 1, __ATOMIC_RELAXED);
	/* (a request that came over io_uring is answered from its worker) */
	ret = tfs_read_iov(fs, h->in, (uint64_t)off, size, buf,
			   scan ? pol->scan_weight : pol->read_weight, read_reply,
			   fs->fconn.over_uring ? NULL : read_done, req);
	if (ret < 0)
		fuse_reply_err(req, -ret);
}

/* a write, once its turn came (what tfs_ll_write checked before it) */
struct write_job {
	fuse_req_t req;
	struct tfs_handle *h;
	fuse_ino_t ino;
	uint64_t off, nospc;
	size_t size;
	unsigned int cls;
	int writepage;
	int turn; /* deferred: its place among cached writes (transport.c) */
	const char *buf;
	char data[]; /* a deferred write's copy of the payload */
};

/* write @j (@ret: an error found before) and answer */
static void write_run(struct tfs_fs *fs, const struct write_job *j, ssize_t ret)
{
	const struct tier_policy *pol = &fs->eng.pol;
	struct tfs_ostate *os = j->h->in->i_os;
	uint64_t nospc = j->nospc;
	size_t done = 0;

	/* a short write leaves its rest to learn why */
	while (ret == 0 && done < j->size) {
		ssize_t n = RETRY_ENOSPC(fs, (j->writepage ? tfs_write_cached : tfs_write_cls)(
						     fs, j->h->in, j->off + done, j->buf + done,
						     j->size - done, j->cls));

		if (n <= 0)
			ret = n < 0 ? n : -EIO;
		else
			done += (size_t)n;
	}
	if (done)
		tfs_heat_note(fs, j->h->in, j->off, done, pol->write_weight);
	__atomic_fetch_add(&fs->pool.fg_requests, 1, __ATOMIC_RELAXED);
	if (j->writepage) {
		if (ret == -ENOSPC)
			nospc_note(fs, j->ino, j->h->in, j->off + done);
		else if (ret == 0 && nospc && j->off < nospc && j->off + j->size >= nospc)
			/* the refused place was written again: holes are over */
			__atomic_compare_exchange_n(&os->os_nospc, &nospc, 0, 0, __ATOMIC_ACQ_REL,
						    __ATOMIC_RELAXED);
		/* writeback counts only errors: a short reply would lose the rest */
		if (ret < 0)
			done = 0;
	}
	if (done || ret == 0)
		fuse_reply_write(j->req, done);
	else
		fuse_reply_err(j->req, (int)-ret);
}

/* the cold-read loop: a write into chunks in rados, their objects in */
static void write_later(void *arg, int err)
{
	struct write_job *j = arg;

	write_run(req_fs(j->req), j, err);
	if (j->turn >= 0)
		tfs_fuse_write_release(j->turn);
	free(j);
}

static void tfs_ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_WRITE);
	struct tfs_fs *fs = req_fs(req);
	struct tfs_handle *h = fh_handle(fi);
	const struct tier_policy *pol = &fs->eng.pol;
	int seq = tier_stream_note(&h->wr, (uint64_t)off, size, (uint64_t)pol->scan_min_kib << 10);
	struct write_job j = {
		.req = req,
		.h = h,
		.ino = ino,
		.off = (uint64_t)off,
		.size = size,
		.cls = seq ? pol->seq_write_tier : TFS_CLASS_MAX,
		.writepage = fi->writepage != 0,
		.buf = buf,
	};
	ssize_t ret = 0;

	if (tfs_fuse_rq_flags() & TFS_RQ_KILL_SUIDGID) {
		ret = tfs_kill_priv(fs, h->in);
		if (ret > 0) {
			attr_stale(fs, ino);
			ret = 0;
		}
	}
	/* the pages of a cached write that failed are never written again: one
	 * past it that succeeded would leave zeros where they were.  So once a
	 * cached write is refused for space, the later ones are too, until the
	 * place is written again, the file is truncated or fsynced (FSYNC), or
	 * it is closed by everyone */
	if (fi->writepage)
		tfs_fuse_write_turn();
	j.nospc = __atomic_load_n(&h->in->i_os->os_nospc, __ATOMIC_ACQUIRE);
	if (ret == 0 && fi->writepage && j.nospc && (uint64_t)off >= j.nospc)
		ret = -ENOSPC;
	/* a write that would read chunks in rados waits for them on the
	 * cold-read loop, not here (a request over io_uring is answered from
	 * its worker) */
	if (ret == 0 && !fs->fconn.over_uring && tfs_write_needs_cold(fs, h->in, j.off, size)) {
		struct write_job *later = malloc(sizeof(*later) + size);

		if (later) {
			*later = j;
			memcpy(later->data, buf, size);
			later->buf = later->data;
			/* a cached write keeps later ones of the file waiting until
			 * it is answered, as a worker would */
			later->turn = fi->writepage ? tfs_fuse_write_detach() : -1;
			if (tfs_write_later(fs, h->in, j.off, size, write_later, later) ==
			    TFS_READ_LATER)
				return;
			if (later->turn >= 0)
				tfs_fuse_write_attach(later->turn);
			free(later); /* (not needed any more, or could not start) */
		}
	}
	write_run(fs, &j, ret);
}

/* close is not a durability point (fsync is) and locks are the kernel's,
 * so FLUSH carries nothing: the first one is answered ENOSYS and the kernel
 * sends no more on this connection.  close(2) still writes the dirty pages
 * back and reports their errors before it would send one. */
static void tfs_ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_FLUSH);
	fuse_reply_err(req, ENOSYS);
}

static void tfs_ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_RELEASE);
	struct tfs_handle *h = fh_handle(fi);
	uint64_t nospc = __atomic_load_n(&h->in->i_os->os_nospc, __ATOMIC_ACQUIRE);

	/* cached writes were refused for space: the kernel still holds their
	 * pages (clean now), which would read as data the file does not have
	 * until they are evicted.  All writeback ended before the close. */
	if (h->writable && nospc)
		kernel_stale(req_fs(req), ino, (off_t)((nospc - 1) & ~(uint64_t)4095));
	handle_free(req_fs(req), fi);
	fuse_reply_err(req, 0);
}

static void tfs_ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_FSYNC);
	struct tfs_ostate *os = fi && fi->fh ? fh_inode(fi)->i_os : NULL;
	int ret;

	/* what cached writes added is about to be durable: never cut back
	 * (tfs_write_refused), from before the commit on */
	if (os) {
		pthread_rwlock_wrlock(&os->os_lock);
		os->os_grow = 0;
		pthread_rwlock_unlock(&os->os_lock);
	}
	ret = tfs_fsync(req_fs(req), ino);
	/* the kernel sends FSYNC only after the file's writeback ended without
	 * an error it had not yet reported to this caller: cached writes from
	 * here on are new data, and a refusal for space is over */
	if (ret == 0 && os)
		__atomic_store_n(&os->os_nospc, 0, __ATOMIC_RELEASE);
	fuse_reply_err(req, -ret);
}

static void tfs_ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_OPENDIR);
	struct stat st;
	int ret;

	if (req_fs(req)->fconn.no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	ret = tfs_getattr(req_fs(req), ino, &st);

	if (ret == 0 && !S_ISDIR(st.st_mode))
		ret = -ENOTDIR;
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct tfs_fs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct tfs_inode *dir, *in;
	size_t pos = 0, ent, i;
	char *buf = malloc(size);
	int ret = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	dir = tfs_inode_get(fs, ino);
	if (!dir || !tfs_idir(dir)) {
		ret = dir ? -ENOTDIR : -ESTALE;
		goto unlock;
	}
	memset(&e, 0, sizeof(e));
	for (i = (size_t)(off < 0 ? 0 : off); i < 2; i++) {
		/* "." and "..": never counted as lookups (e.ino stays 0) */
		e.attr.st_ino = i == 0 ? dir->i_ino : tfs_iparent(dir) ? tfs_iparent(dir) : dir->i_ino;
		e.attr.st_mode = S_IFDIR;
		ent = plus ? fuse_add_direntry_plus(req, buf + pos, size - pos, i ? ".." : ".", &e,
						    (off_t)(i + 1))
			   : fuse_add_direntry(req, buf + pos, size - pos, i ? ".." : ".", &e.attr,
					       (off_t)(i + 1));
		if (ent > size - pos)
			goto unlock;
		pos += ent;
	}
	for (i = tfs_dir_seek(dir->i_u.dir, off < 2 ? 2 : (uint64_t)off); i < dir->i_u.dir->dr_len;
	     i++) {
		struct tfs_dirent *de = dir->i_u.dir->dr_ents[i];

		if (!de || !(in = tfs_inode_get(fs, de->d_ino)))
			continue;
		memset(&e, 0, sizeof(e));
		tfs_stat_fill(fs, in, &e.attr);
		if (plus) {
			e.ino = in->i_ino;
			e.generation = 1;
			e.attr_timeout = e.entry_timeout = TFS_TIMEOUT;
			ent = fuse_add_direntry_plus(req, buf + pos, size - pos, de->d_name, &e,
						     (off_t)de->d_cookie);
		} else {
			ent = fuse_add_direntry(req, buf + pos, size - pos, de->d_name, &e.attr,
						(off_t)de->d_cookie);
		}
		if (ent > size - pos)
			break;
		if (plus)
			in->i_nlookup++;
		pos += ent;
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
}

static void tfs_ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_READDIR);
	do_readdir(req, ino, size, off, 0);
}

static void tfs_ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			       struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_READDIRPLUS);
	do_readdir(req, ino, size, off, 1);
}

static void tfs_ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_RELEASEDIR);
	fuse_reply_err(req, 0);
}

static void tfs_ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_FSYNCDIR);
	fuse_reply_err(req, -tfs_sync(req_fs(req)));
}

static void tfs_ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	OP_TIMED(req, TFS_OP_STATFS);
	struct tfs_fs *fs = req_fs(req);
	const struct tier_alloc *a = &fs->pool.alloc;
	uint64_t per = fs->pool.chunk_size / TFS_BLOCK_SIZE, keep, free, reserve;
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	pthread_mutex_lock(&fs->lock);
	sv.f_bsize = TFS_BLOCK_SIZE;
	sv.f_frsize = TFS_BLOCK_SIZE;
	sv.f_blocks = a->a_nslots * per;
	/* slots freed but not yet committed are as good as free (a write that
	 * needs them commits first); what the metadata log may need is not */
	keep = tfs_meta_log_slots(fs->meta, 0);
	/* nor are the free zones only the zone cleaner may open */
	for (unsigned int d = 0; d < a->a_ndev; d++)
		if (!a->a_dev[d].a_out)
			keep += tier_zone_reserved_slots(a, d);
	free = a->a_nfree;
	for (size_t i = 0; i < fs->ns.fpend_len; i++) /* (short: until the next commit) */
		free += !a->a_dev[fs->ns.fpend[i].dev].a_cold;
	free = free > keep ? free - keep : 0;
	reserve = (a->a_nslots * fs->pool.reserve_pct + 99) / 100;
	sv.f_bfree = free * per;
	sv.f_bavail = (free > reserve ? free - reserve : 0) * per;
	/* inodes take log space only: about 160 bytes each, twice over */
	sv.f_files = fs->ns.ninodes + free * fs->pool.chunk_size / 512;
	sv.f_ffree = sv.f_favail = sv.f_files - fs->ns.ninodes;
	sv.f_namemax = TFS_NAME_MAX;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_statfs(req, &sv);
}

/* is the caller of @req in group @gid (its own or a supplementary one)? */
static int in_group(fuse_req_t req, uint32_t gid)
{
	gid_t groups[256];
	int n, i;

	if (gid == (uint32_t)-1)
		return 0;
	if (fuse_req_ctx(req)->gid == gid)
		return 1;
	n = fuse_req_getgroups(req, (int)(sizeof(groups) / sizeof(groups[0])), groups);
	for (i = 0; i < n && i < (int)(sizeof(groups) / sizeof(groups[0])); i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

static void tfs_ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			    size_t size, int flags)
{
	OP_TIMED(req, TFS_OP_SETXATTR);
	struct tfs_ctx ctx = req_ctx(req);

	if (!strcmp(name, TFS_PIN_XATTR))
		ctx.pin_group = in_group(req, req_fs(req)->pool.pin_gid);

	fuse_reply_err(req, -RETRY_ENOSPC(req_fs(req), tfs_xattr_set(req_fs(req), &ctx, ino, name, value, size, flags)));
}

/* @ret: value length or -errno; a zero @size asks for the length only */
static void reply_xattr(fuse_req_t req, int ret, char *buf, size_t size)
{
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else if (!size)
		fuse_reply_xattr(req, (size_t)ret);
	else
		fuse_reply_buf(req, buf, (size_t)ret);
	free(buf);
}

static void tfs_ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	OP_TIMED(req, TFS_OP_GETXATTR);
	char *buf = size ? malloc(size) : NULL;
	int ret;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = tfs_xattr_get(req_fs(req), ino, name, buf, size);
	reply_xattr(req, ret, buf, size);
}

static void tfs_ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	OP_TIMED(req, TFS_OP_LISTXATTR);
	char *buf = size ? malloc(size) : NULL;
	int ret;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = tfs_xattr_list(req_fs(req), ino, buf, size);
	reply_xattr(req, ret, buf, size);
}

static void tfs_ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	OP_TIMED(req, TFS_OP_REMOVEXATTR);
	struct tfs_ctx ctx = req_ctx(req);

	fuse_reply_err(req, -tfs_xattr_remove(req_fs(req), &ctx, ino, name));
}

static void tfs_ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			     struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_FALLOCATE);
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_err(req, -RETRY_ENOSPC(req_fs(req), tfs_fallocate(req_fs(req), fh_inode(fi), mode, (uint64_t)off,
					   (uint64_t)len)));
}

static void tfs_ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			 struct fuse_file_info *fi)
{
	OP_TIMED(req, TFS_OP_LSEEK);
	int64_t ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ret = tfs_lseek(req_fs(req), fh_inode(fi), off, whence);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_lseek(req, ret);
}

static void tfs_ll_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
				   struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
				   struct fuse_file_info *fi_out, size_t len, int flags)
{
	OP_TIMED(req, TFS_OP_COPY_FILE_RANGE);
	struct tfs_fs *fs = req_fs(req);
	size_t done = 0, step = 1u << 20;
	uint8_t *buf;
	ssize_t n = 0;

	if (flags) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = tfs_io_alloc(step + 2 * TFS_BLOCK_SIZE);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* the data passes through here; chunk sharing would need refcounts */
	while (done < len) {
		size_t want = len - done < step ? len - done : step;
		uint64_t from = (uint64_t)off_in + done;

		n = tfs_read(fs, fh_inode(fi_in), from, want, buf);
		if (n <= 0)
			break;
		n = tfs_write(fs, fh_inode(fi_out), (uint64_t)off_out + done,
			      buf + (from & (TFS_BLOCK_SIZE - 1)), (size_t)n);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	tfs_io_free(buf);
	if (done == 0 && n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, done);
}

const struct fuse_lowlevel_ops tfs_ll_ops = {
	.init = tfs_ll_init,
	.lookup = tfs_ll_lookup,
	.forget = tfs_ll_forget,
	.forget_multi = tfs_ll_forget_multi,
	.getattr = tfs_ll_getattr,
	.setattr = tfs_ll_setattr,
	.readlink = tfs_ll_readlink,
	.mknod = tfs_ll_mknod,
	.mkdir = tfs_ll_mkdir,
	.symlink = tfs_ll_symlink,
	.unlink = tfs_ll_unlink,
	.rmdir = tfs_ll_rmdir,
	.rename = tfs_ll_rename,
	.link = tfs_ll_link,
	.open = tfs_ll_open,
	.create = tfs_ll_create,
	.read = tfs_ll_read,
	.write = tfs_ll_write,
	.flush = tfs_ll_flush,
	.release = tfs_ll_release,
	.fsync = tfs_ll_fsync,
	.opendir = tfs_ll_opendir,
	.readdir = tfs_ll_readdir,
	.readdirplus = tfs_ll_readdirplus,
	.releasedir = tfs_ll_releasedir,
	.fsyncdir = tfs_ll_fsyncdir,
	.statfs = tfs_ll_statfs,
	.setxattr = tfs_ll_setxattr,
	.getxattr = tfs_ll_getxattr,
	.listxattr = tfs_ll_listxattr,
	.removexattr = tfs_ll_removexattr,
	.fallocate = tfs_ll_fallocate,
	.lseek = tfs_ll_lseek,
	.copy_file_range = tfs_ll_copy_file_range,
};

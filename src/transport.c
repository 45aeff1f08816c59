/*
 * src/transport.c - tierfs's side of the /dev/fuse conversation.
 *
 * libfuse 3.14 mounts, decodes and dispatches, but through
 * fuse_session_custom_io() every request it reads and every reply it writes
 * passes through here first.  That is how tierfs owns the INIT negotiation:
 * the kernel's offer is recorded when the INIT request is read, and the
 * reply libfuse composed is amended before it is written, asking for what
 * libfuse 3.14 does not know (FUSE_HANDLE_KILLPRIV_V2).
 *
 * The same look at each request carries what libfuse drops on the way to
 * the handlers: the "kill suid/sgid" flags of WRITE, SETATTR and OPEN.  A
 * worker thread reads a request and then serves it, so the flags travel in
 * a thread-local word (tfs_fuse_rq_flags()).
 *
 * Nothing here trusts the bytes: a request too short for its header, or
 * for the part looked at, is left for libfuse to refuse and counted.
 */
#include "config.h"

#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "uring.h"

static __thread unsigned int rq_flags;

unsigned int tfs_fuse_rq_flags(void)
{
	return rq_flags;
}

/*
 * Cached writes (writeback of the page cache) in offset order.  The kernel
 * queues a file's writeback in offset order, but workers serve requests
 * concurrently: when space runs out, a later piece could take the last of
 * it and an earlier one fail, leaving zeros inside the file.  So a cached
 * write waits while a worker holds one of the same file at a lower offset.
 * A worker holds one request at a time: with no more workers than
 * TFS_FUSE_MAX_HELD the table cannot fill (uring.c keeps to it).  A cached
 * write deferred to the cold-read loop keeps its place until it is answered
 * (tfs_fuse_write_detach): those come only over /dev/fuse, whose 16
 * workers leave the rest of the table to them; were it full, a write would
 * go unordered, as one preempted before noting itself does.
 */
#define PEND_MAX TFS_FUSE_MAX_HELD
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t nodeid[PEND_MAX], off[PEND_MAX]; /* nodeid 0: free */
	int top;     /* slots from here on are free */
	int waiters; /* in tfs_fuse_write_turn */
} pend = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, { 0 }, 0, 0 };
static __thread int rq_pend = -1;

static void pend_add(uint64_t nodeid, uint64_t off)
{
	int i;

	pthread_mutex_lock(&pend.lock);
	for (i = 0; i < PEND_MAX && pend.nodeid[i]; i++)
		;
	if (i < PEND_MAX) {
		pend.nodeid[i] = nodeid;
		pend.off[i] = off;
		rq_pend = i;
		if (i >= pend.top)
			pend.top = i + 1;
	}
	pthread_mutex_unlock(&pend.lock);
}

static void pend_done(void)
{
	if (rq_pend < 0)
		return;
	pthread_mutex_lock(&pend.lock);
	pend.nodeid[rq_pend] = 0;
	while (pend.top && !pend.nodeid[pend.top - 1])
		pend.top--;
	if (pend.waiters)
		pthread_cond_broadcast(&pend.cond);
	pthread_mutex_unlock(&pend.lock);
	rq_pend = -1;
}

int tfs_fuse_write_detach(void)
{
	int place = rq_pend;

	rq_pend = -1;
	return place;
}

void tfs_fuse_write_attach(int place)
{
	rq_pend = place;
}

void tfs_fuse_write_release(int place)
{
	int mine = rq_pend;

	rq_pend = place;
	pend_done();
	rq_pend = mine;
}

void tfs_fuse_write_turn(void)
{
	struct timespec until;
	int i, first;

	if (rq_pend < 0)
		return;
	/* bounded: a request libfuse read but dropped without an answer (the
	 * session is exiting) never leaves the table */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&pend.lock);
	do {
		first = 1;
		for (i = 0; i < pend.top && first; i++)
			if (i != rq_pend && pend.nodeid[i] == pend.nodeid[rq_pend] &&
			    pend.off[i] < pend.off[rq_pend])
				first = 0;
		if (!first) {
			pend.waiters++;
			if (pthread_cond_timedwait(&pend.cond, &pend.lock, &until) == ETIMEDOUT)
				first = 1;
			pend.waiters--;
		}
	} while (!first);
	pthread_mutex_unlock(&pend.lock);
}

/* the part of a request's argument at @off (size @n), or NULL when short */
static const void *arg_at(const void *buf, size_t len, size_t off, size_t n)
{
	if (len < sizeof(struct fuse_in_header) + off + n)
		return NULL;
	return (const uint8_t *)buf + sizeof(struct fuse_in_header) + off;
}

static uint32_t get32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* flags in a request's fixed argument that libfuse does not pass on */
static const struct {
	uint32_t opcode;
	size_t off;   /* of the 32-bit field in the argument */
	uint32_t bit; /* the kernel's flag */
	unsigned int rq; /* TFS_RQ_* */
} rq_bits[] = {
	{ FUSE_WRITE, offsetof(struct fuse_write_in, write_flags), FUSE_WRITE_KILL_SUIDGID,
	  TFS_RQ_KILL_SUIDGID },
	{ FUSE_WRITE, offsetof(struct fuse_write_in, write_flags), FUSE_WRITE_CACHE, TFS_RQ_WRITEBACK },
	{ FUSE_SETATTR, offsetof(struct fuse_setattr_in, valid), FATTR_KILL_SUIDGID,
	  TFS_RQ_KILL_SUIDGID },
	{ FUSE_OPEN, offsetof(struct fuse_open_in, open_flags), FUSE_OPEN_KILL_SUIDGID,
	  TFS_RQ_KILL_SUIDGID },
};

int tfs_fuse_inspect(struct tfs_fuse_conn *c, const void *buf, size_t len, unsigned int *flags)
{
	struct fuse_in_header h;
	const void *p;
	size_t i;

	*flags = 0;
	if (len < sizeof(h))
		goto bad;
	memcpy(&h, buf, sizeof(h));
	if (h.len != len)
		goto bad;
	switch (h.opcode) {
	case FUSE_INIT: {
		struct fuse_init_in in;

		/* major, minor, max_readahead, flags: every version has them */
		if (len < sizeof(h) + offsetof(struct fuse_init_in, flags) + sizeof(in.flags))
			goto bad;
		memset(&in, 0, sizeof(in));
		memcpy(&in, (const uint8_t *)buf + sizeof(h),
		       len - sizeof(h) < sizeof(in) ? len - sizeof(h) : sizeof(in));
		c->major = in.major;
		c->minor = in.minor;
		c->offered = in.flags;
		if ((in.flags & FUSE_INIT_EXT) &&
		    len >= sizeof(h) + offsetof(struct fuse_init_in, flags2) + sizeof(in.flags2))
			c->offered |= (uint64_t)in.flags2 << 32;
		__atomic_store_n(&c->init_unique, h.unique, __ATOMIC_RELEASE);
		break;
	}
	default: /* (libfuse answers an opcode it does not know with ENOSYS) */
		for (i = 0; i < sizeof(rq_bits) / sizeof(rq_bits[0]); i++) {
			if (rq_bits[i].opcode != h.opcode)
				continue;
			p = arg_at(buf, len, rq_bits[i].off, 4);
			if (!p)
				goto bad;
			if (get32(p) & rq_bits[i].bit)
				*flags |= rq_bits[i].rq;
		}
		break;
	}
	return 0;
bad:
	__atomic_fetch_add(&c->malformed, 1, __ATOMIC_RELAXED);
	return -EPROTO;
}

int tfs_fuse_amend_reply(struct tfs_fuse_conn *c, struct iovec *iov, int count)
{
	struct fuse_out_header out;
	struct fuse_init_out *init;
	uint64_t want;

	if (count < 2 || iov[0].iov_len < sizeof(out))
		return 0;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	if (out.error || !out.unique ||
	    out.unique != __atomic_load_n(&c->init_unique, __ATOMIC_ACQUIRE))
		return 0;
	/* libfuse's INIT reply: header, then fuse_init_out (cut short for an
	 * old kernel; then there is nothing more to ask for) */
	if (iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + sizeof(init->flags2))
		return 0;
	init = iov[1].iov_base;
	want = init->flags;
	if (init->flags & FUSE_INIT_EXT)
		want |= (uint64_t)init->flags2 << 32;
	/* suid, sgid and file capabilities are killed here (tfs_kill_priv), so
	 * the kernel needs no GETXATTR of security.capability per write */
	if (c->offered & FUSE_HANDLE_KILLPRIV_V2) {
		want |= FUSE_HANDLE_KILLPRIV_V2;
		want &= ~(uint64_t)FUSE_HANDLE_KILLPRIV;
	}
	/* requests over io_uring, when the rings are ready to serve them */
	if (c->uring && (c->offered & TFS_FUSE_OVER_IO_URING) && (want & FUSE_INIT_EXT))
		want |= TFS_FUSE_OVER_IO_URING;
	init->flags = (uint32_t)want;
	if (init->flags & FUSE_INIT_EXT)
		init->flags2 = (uint32_t)(want >> 32);
	c->granted = want;
	c->killpriv_v2 = !!(want & FUSE_HANDLE_KILLPRIV_V2);
	c->over_uring = !!(want & TFS_FUSE_OVER_IO_URING);
	if (c->over_uring)
		c->transport = "uring";
	__atomic_store_n(&c->init_unique, 0, __ATOMIC_RELEASE);
	return 1;
}

void tfs_fuse_request_begin(struct tfs_fs *fs, const void *buf, size_t len)
{
	pend_done(); /* (a request is answered before the next is taken) */
	rq_flags = 0;
	if (tfs_fuse_inspect(&fs->fconn, buf, len, &rq_flags) == 0 &&
	    (rq_flags & TFS_RQ_WRITEBACK)) {
		const struct fuse_in_header *h = buf;
		uint64_t off;

		memcpy(&off, (const uint8_t *)buf + sizeof(*h) + offsetof(struct fuse_write_in, offset),
		       sizeof(off));
		pend_add(h->nodeid ? h->nodeid : 1, off);
	}
}

void tfs_fuse_request_end(void)
{
	pend_done();
}

/* ---- the custom I/O libfuse calls instead of read(2)/writev(2) ---- */

/* A cached WRITE is noted right after read(2) returns it.  A worker
 * preempted in between lets one taken after it go first: that narrow race
 * remains (a lock around read(2) closed it, but cost a third of SQLite's
 * transactions per second on 2 CPUs: every request woke one more thread). */
static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n;

	tfs_fuse_request_end(); /* (the previous request was answered) */
	n = read(fd, buf, len);
	if (n > 0)
		tfs_fuse_request_begin(userdata, buf, (size_t)n);
	return n;
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct tfs_fs *fs = userdata;
	const struct fuse_out_header *out = iov[0].iov_base;
	int init;
	ssize_t n;

	/* the reply to a request that came through an io_uring entry */
	n = tfs_uring_reply(iov, count);
	if (n >= 0) {
		pend_done();
		return n;
	}
	uint64_t init_unique = __atomic_load_n(&fs->fconn.init_unique, __ATOMIC_ACQUIRE);
	int is_init = init_unique && count > 0 && iov[0].iov_len >= sizeof(*out) &&
		      out->unique == init_unique;
	int32_t error = is_init ? out->error : 0;

	int werr;

	init = tfs_fuse_amend_reply(&fs->fconn, iov, count);
	n = writev(fd, iov, count);
	werr = n < 0 ? errno : 0;
	if (count > 0 && iov[0].iov_len >= sizeof(*out) && out->unique)
		pend_done(); /* the reply, not a notification */
	/* the kernel has taken INIT's reply: the rings may register now */
	if (init && fs->fconn.uring)
		tfs_uring_start(fs->fconn.uring, n > 0 && fs->fconn.over_uring);
	if (is_init && fs->fconn.on_init)
		fs->fconn.on_init(error ? error : n < 0 ? -werr : 0);
	errno = werr;
	return n;
}

const struct fuse_custom_io *tfs_fuse_dev_io(void)
{
	static const struct fuse_custom_io io = {
		.read = dev_read,
		.writev = dev_writev,
	};

	return &io;
}

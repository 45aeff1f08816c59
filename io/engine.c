/*
 * io/engine.c - the io_uring engine.
 *
 * One ring per thread.  A ring is created by the first submission of a thread
 * (so SINGLE_ISSUER binds it to that thread) and destroyed by a pthread key
 * destructor when the thread ends.  With DEFER_TASKRUN, completions are only
 * produced when the owning thread enters the kernel to wait, which is what
 * tfs_io_reap() does; nothing else ever touches the ring.
 *
 * Devices whose backend has sync_io (pmem) never see the ring: a request is
 * carried out when it is queued, and its completion waits on the thread's
 * done list for the next tfs_io_reap(), so callbacks still run from reap.
 *
 * A request's user_data is the request itself.  On completion:
 *   -EAGAIN/-EINTR          requeued as is;
 *   0 < res < remaining     short transfer: r_done advances, the remainder is
 *                           requeued (a read returning 0 is EOF: -EIO, since
 *                           tierfs never reads past what it wrote);
 *   otherwise               r_res is set and the request is finished: its
 *                           callback runs, or its batch counter drops.
 */
#include "config.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define TFS_RING_ENTRIES 128
#define F_SHORT (1u << 16) /* r_flags, the engine's: report the next transfer short */
#define F_AIO (1u << 17)   /* r_flags, the engine's: started by the backend's aio_start */

struct tfs_ring {
	struct io_uring ring;
	unsigned int queued; /* SQEs prepared but not yet submitted */
};

/* everything a thread owns in the I/O layer, freed when the thread ends */
struct tfs_thread {
	struct tfs_ring *ring;
	struct tfs_io_req *done; /* sync_io requests whose callbacks are due */
	void *scratch[TFS_IO_SCRATCH_MAX];
	size_t scratch_len[TFS_IO_SCRATCH_MAX]; /* bytes */
};

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static __thread struct tfs_thread *t_self;
static __thread struct tfs_ring *t_ring;

static void thread_destroy(void *p)
{
	struct tfs_thread *t = p;
	unsigned int i;

	if (!t)
		return;
	if (t->ring) {
		io_uring_queue_exit(&t->ring->ring);
		free(t->ring);
	}
	for (i = 0; i < TFS_IO_SCRATCH_MAX; i++)
		free(t->scratch[i]);
	free(t);
}

static void thread_key_init(void)
{
	pthread_key_create(&thread_key, thread_destroy);
}

static struct tfs_thread *thread_get(void)
{
	if (t_self)
		return t_self;
	pthread_once(&thread_once, thread_key_init);
	t_self = calloc(1, sizeof(*t_self));
	if (t_self)
		pthread_setspecific(thread_key, t_self);
	return t_self;
}

void *tfs_io_scratch(unsigned int which, size_t len)
{
	struct tfs_thread *t = thread_get();

	if (!t || which >= TFS_IO_SCRATCH_MAX)
		return NULL;
	if (t->scratch_len[which] < len) {
		free(t->scratch[which]);
		t->scratch[which] = tfs_io_alloc(len);
		t->scratch_len[which] = t->scratch[which] ? len : 0;
	}
	return t->scratch[which];
}

static struct tfs_ring *ring_get(int *err)
{
	struct io_uring_params p;
	struct tfs_thread *t;
	struct tfs_ring *r;
	unsigned int iowq[2] = { 2, 2 };
	int ret;

	if (t_ring)
		return t_ring;
	t = thread_get();
	r = t ? calloc(1, sizeof(*r)) : NULL;
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * TFS_RING_ENTRIES;
	ret = io_uring_queue_init_params(TFS_RING_ENTRIES, &r->ring, &p);
	if (ret == -EINVAL) {
		/* older kernel: no DEFER_TASKRUN / SINGLE_ISSUER */
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params(TFS_RING_ENTRIES, &r->ring, &p);
	}
	if (ret < 0) {
		free(r);
		*err = ret;
		return NULL;
	}
	/* buffered fallbacks and fsync go to io-wq: keep it small on small machines */
	io_uring_register_iowq_max_workers(&r->ring, iowq);
	t->ring = r;
	t_ring = r;
	return r;
}

/* a ring whose submit failed may hold SQEs pointing at requests that are
 * gone: never submit from it again; the next request gets a new one */
static void ring_drop(void)
{
	if (!t_ring)
		return;
	io_uring_queue_exit(&t_ring->ring);
	free(t_ring);
	t_self->ring = NULL;
	t_ring = NULL;
}

void tfs_io_thread_exit(void)
{
	if (!t_self)
		return;
	pthread_setspecific(thread_key, NULL);
	thread_destroy(t_self);
	t_self = NULL;
	t_ring = NULL;
}

static int ring_flush_sq(struct tfs_ring *r, unsigned int wait_nr)
{
	int ret;

	for (;;) {
		ret = tfs_sys_uring_submit(&r->ring, wait_nr);
		if (ret >= 0) {
			r->queued = 0;
			return 0;
		}
		if (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			return ret;
		/* out of resources: make room by reaping what completed */
		if (ret != -EINTR && io_uring_cq_ready(&r->ring) == 0 && wait_nr == 0)
			wait_nr = 1;
	}
}

static int ring_queue(struct tfs_ring *r, struct tfs_io_req *req)
{
	struct io_uring_sqe *sqe;
	int ret;

	sqe = io_uring_get_sqe(&r->ring);
	if (!sqe) {
		ret = ring_flush_sq(r, 0);
		if (ret < 0)
			return ret;
		sqe = io_uring_get_sqe(&r->ring);
		if (!sqe)
			return -EBUSY;
	}
	if (req->r_op == TFS_IO_FLUSH)
		req->r_dev->d_ops->flush(req->r_dev, sqe);
	else
		req->r_dev->d_ops->prep(req->r_dev, sqe, req);
	io_uring_sqe_set_data(sqe, req);
	r->queued++;
	return 0;
}

static void req_finish(struct tfs_io_req *req, int res)
{
	req->r_res = res;
	if (res == 0 && req->r_op == TFS_IO_WRITE)
		tfs_io_written(req->r_dev);
	if (req->r_cb)
		req->r_cb(req);
	else
		(*(unsigned int *)req->r_priv)--;
}

/* Process one CQE: returns 1 if the request was requeued, 0 if finished. */
static int req_complete(struct tfs_ring *r, struct tfs_io_req *req, int res)
{
	if (res == -EAGAIN || res == -EINTR)
		goto requeue;
	if (res < 0) {
		req_finish(req, res);
		return 0;
	}
	if (req->r_op == TFS_IO_FLUSH) {
		req_finish(req, 0);
		return 0;
	}
	if (req->r_flags & F_SHORT) {
		/* injected: the kernel moved it all, say it moved half (whole
		 * 4 KiB units, so the rest is still a valid O_DIRECT transfer) */
		uint32_t half = ((req->r_len - req->r_done) / 2) & ~4095u;

		req->r_flags &= ~F_SHORT;
		if (half && (uint32_t)res > half)
			res = (int)half;
	}
	if (res == 0) {
		req_finish(req, -EIO);
		return 0;
	}
	req->r_done += (uint32_t)res;
	if (req->r_done < req->r_len)
		goto requeue;
	req_finish(req, 0);
	return 0;
requeue:
	if (ring_queue(r, req) < 0)
		req_finish(req, -EIO);
	return 1;
}

static int ring_reap(struct tfs_ring *r, unsigned int min)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen;
	int ret, done = 0;

	do {
		ret = ring_flush_sq(r, min > (unsigned int)done ? 1 : 0);
		if (ret < 0)
			return ret;
		seen = 0;
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			struct tfs_io_req *req = io_uring_cqe_get_data(cqe);

			seen++;
			if (!req_complete(r, req, cqe->res))
				done++;
		}
		io_uring_cq_advance(&r->ring, seen);
	} while ((unsigned int)done < min);
	return done;
}

/*
 * The fault plan's say on @req before it is issued: 1 if the request is
 * finished by it (r_res set), 0 if it goes ahead (perhaps marked short).
 */
static int req_fault(struct tfs_io_req *req)
{
	int f = tfs_fault_check(req);

	if (f == 0)
		return 0;
	if (f == TFS_FAULT_SHORT) {
		req->r_flags |= F_SHORT;
		return 0;
	}
	if (f == TFS_FAULT_TORN) {
		tfs_fault_tear(req);
		f = -EIO;
	}
	req->r_res = f;
	return 1;
}

/* a request on a byte-addressable device: done at once, durable if a write */
static int req_sync(struct tfs_io_req *req)
{
	struct tfs_io_dev *dev = req->r_dev;
	int res;

	req->r_flags &= ~F_SHORT; /* a copy is never short */
	res = dev->d_ops->sync_io(dev, req);
	req->r_done = res == 0 && req->r_op != TFS_IO_FLUSH ? req->r_len : 0;
	req->r_res = res;
	return res;
}

/* run the callbacks of finished sync_io requests; returns how many */
static int done_run(void)
{
	struct tfs_thread *t = t_self;
	struct tfs_io_req *req;
	int n = 0;

	while (t && t->done) {
		req = t->done;
		t->done = req->r_next;
		req->r_next = NULL;
		req->r_cb(req);
		n++;
	}
	return n;
}

int tfs_io_submit(struct tfs_io_req *req)
{
	struct tfs_thread *t;
	struct tfs_ring *r;
	int err = 0;

	req->r_done = 0;
	req->r_res = 0;
	req->r_flags &= ~F_SHORT;
	if (req_fault(req) || req->r_dev->d_ops->sync_io) {
		struct tfs_io_req **tail;

		t = thread_get();
		if (!t)
			return -ENOMEM;
		if (req->r_res == 0)
			req_sync(req);
		req->r_next = NULL;
		for (tail = &t->done; *tail; tail = &(*tail)->r_next)
			;
		*tail = req;
		return 0;
	}
	r = ring_get(&err);
	if (!r)
		return err;
	return ring_queue(r, req);
}

int tfs_io_reap(unsigned int min)
{
	struct tfs_ring *r;
	int err = 0, done, ret;

	done = done_run();
	if ((unsigned int)done >= min && (!t_ring || t_ring->queued == 0))
		return done;
	r = ring_get(&err);
	if (!r)
		return err;
	ret = ring_reap(r, min > (unsigned int)done ? min - (unsigned int)done : 0);
	return ret < 0 ? ret : ret + done;
}

/* the requests of a batch a backend started asynchronously (aio_start):
 * wait for each, done as a synchronous one would be */
static void aio_wait_all(struct tfs_io_req *reqs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct tfs_io_req *req = &reqs[i];
		int res;

		if (!(req->r_flags & F_AIO))
			continue;
		req->r_flags &= ~F_AIO;
		res = req->r_dev->d_ops->aio_wait(req->r_dev, req);
		req->r_done = res == 0 && req->r_op != TFS_IO_FLUSH ? req->r_len : 0;
		req->r_res = res;
	}
}

int tfs_io_run(struct tfs_io_req *reqs, unsigned int n)
{
	struct tfs_ring *r = NULL;
	unsigned int pending = 0, i;
	int err = 0, ret;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (reqs[i].r_dev->d_ops->sync_io)
			continue;
		r = ring_get(&err);
		if (!r)
			return err;
		break;
	}
	for (i = 0; i < n; i++) {
		reqs[i].r_done = 0;
		reqs[i].r_res = 0;
		reqs[i].r_cb = NULL;
		reqs[i].r_flags &= ~F_SHORT;
		if (req_fault(&reqs[i])) {
			err = err ? err : reqs[i].r_res;
			continue;
		}
		if (reqs[i].r_dev->d_ops->aio_start &&
		    reqs[i].r_dev->d_ops->aio_start(reqs[i].r_dev, &reqs[i]) == 0) {
			reqs[i].r_flags |= F_AIO; /* in flight: waited for below */
			continue;
		}
		if (reqs[i].r_dev->d_ops->sync_io) {
			ret = req_sync(&reqs[i]);
			err = err ? err : ret;
			continue;
		}
		reqs[i].r_priv = &pending;
		pending++;
		ret = ring_queue(r, &reqs[i]);
		if (ret < 0) {
			reqs[i].r_res = ret;
			pending--;
			err = err ? err : ret;
		}
	}
	while (pending > 0) {
		ret = ring_reap(r, 1);
		if (ret < 0) {
			ring_drop(); /* callers see an I/O error */
			aio_wait_all(reqs, n);
			return ret;
		}
	}
	aio_wait_all(reqs, n);
	for (i = 0; i < n && !err; i++)
		err = reqs[i].r_res;
	return err;
}

int tfs_io_flush(struct tfs_io_dev *dev)
{
	struct tfs_io_req req = { .r_dev = dev, .r_op = TFS_IO_FLUSH };
	uint64_t w = __atomic_load_n(&dev->d_wgen, __ATOMIC_ACQUIRE), f;
	int ret;

	ret = tfs_io_run(&req, 1);
	if (ret < 0)
		return ret;
	/* the writes completed before it started are durable; flushes of
	 * several threads end in any order: the mark only moves forward */
	f = __atomic_load_n(&dev->d_fgen, __ATOMIC_ACQUIRE);
	while (f < w && !__atomic_compare_exchange_n(&dev->d_fgen, &f, w, 0, __ATOMIC_RELEASE,
						     __ATOMIC_ACQUIRE))
		;
	return 0;
}

void *tfs_io_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, TFS_BLOCK_SIZE, len ? len : TFS_BLOCK_SIZE))
		return NULL;
	return p;
}

void tfs_io_free(void *p)
{
	free(p);
}

/*
 * src/uring.c - FUSE requests over io_uring (-o transport=uring).
 *
 * Since Linux 6.14 the kernel can hand FUSE requests to the daemon through
 * io_uring instead of read(2) and writev(2) on /dev/fuse: the daemon
 * registers ring entries (a header buffer and a payload buffer each) with
 * IORING_OP_URING_CMD on /dev/fuse, one queue per possible CPU; a request
 * arrives as the completion of an entry's command, and the reply goes back
 * with the command that also fetches the next request (COMMIT_AND_FETCH).
 * A request made on CPU n goes to queue n.
 *
 * libfuse 3.14 knows nothing of it; tierfs asks for it at INIT
 * (transport.c amends the reply) and serves the rings itself: a worker
 * thread per ring entry, pinned to its queue's CPU, rebuilds each request as
 * /dev/fuse would have delivered it and hands it to libfuse's dispatcher
 * (fuse_session_process_buf); the handler's reply reaches transport.c's
 * writev hook, which puts it into the entry (tfs_uring_reply) instead of
 * writing it to /dev/fuse.  FORGET, INTERRUPT and notifications stay on
 * /dev/fuse, served by libfuse's own loop as before.
 *
 * Every handler replies before it returns, so one worker serves one
 * request at a time; concurrency comes from the workers (TFS_URING_PER_Q
 * per queue).  The kernel queues requests while the ring is being set up
 * and until every queue has an entry; a REGISTER that fails makes the
 * kernel fall back to /dev/fuse.
 */
#include "config.h"

#define _GNU_SOURCE 1
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <liburing.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"
#include "uring.h"

#define TFS_URING_PER_Q 4 /* workers (ring entries) per queue */

int tfs_uring_decode(const struct tfs_uring_hdr *hdr, uint8_t *payload, size_t cap,
		     uint8_t **req, size_t *len)
{
	struct fuse_in_header h;
	size_t op, psz = hdr->ent.payload_sz;

	memcpy(&h, hdr->in_out, sizeof(h));
	if (psz > cap || h.len < sizeof(h) || h.len - sizeof(h) < psz)
		return -EPROTO;
	op = h.len - sizeof(h) - psz;
	if (op > sizeof(hdr->op_in) || h.unique == 0 || h.unique != hdr->ent.commit_id)
		return -EPROTO;
	*req = payload - op - sizeof(h);
	memcpy(*req, &h, sizeof(h));
	memcpy(*req + sizeof(h), hdr->op_in, op);
	*len = h.len;
	return 0;
}

int tfs_uring_encode(struct tfs_uring_hdr *hdr, uint8_t *payload, size_t cap,
		     const struct iovec *iov, int count)
{
	struct fuse_out_header out;
	size_t n = 0;
	int i;

	if (count < 1 || iov[0].iov_len != sizeof(out))
		return -EPROTO;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	for (i = 1; i < count; i++) {
		if (iov[i].iov_len > cap - n) {
			out.error = -EIO;
			out.len = sizeof(out);
			memcpy(hdr->in_out, &out, sizeof(out));
			hdr->ent.payload_sz = 0;
			return -EMSGSIZE;
		}
		memcpy(payload + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	memcpy(hdr->in_out, &out, sizeof(out));
	hdr->ent.payload_sz = (uint32_t)n;
	return (int)(sizeof(out) + n);
}

/* ---- the rings ---- */

struct uring_worker {
	struct tfs_uring *u;
	unsigned int qid;
	pthread_t thread;
	int running, ring_ok;
	struct io_uring ring;
	struct tfs_uring_hdr *hdr;
	uint8_t *buf; /* TFS_URING_ROOM + payload */
	struct iovec iov[2];
	uint64_t unique; /* the request being served */
	int replied;
};

struct tfs_uring {
	struct tfs_fs *fs;
	struct fuse_session *se;
	int fd;
	size_t payload;
	unsigned int nq, nw;
	struct uring_worker *w;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go; /* 0: wait for INIT, 1: register, -1: leave */
	int stop;
	uint64_t served;
};

static __thread struct uring_worker *cur;

static size_t u_payload(const struct uring_worker *w)
{
	return w->u->payload;
}

int tfs_uring_reply(const struct iovec *iov, int count)
{
	struct fuse_out_header out;
	int n;

	if (!cur || count < 1 || iov[0].iov_len < sizeof(out))
		return -ENOENT;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	/* a notification (unique 0) goes to /dev/fuse: rings do not carry them */
	if (!out.unique || out.unique != cur->unique || cur->replied)
		return -ENOENT;
	n = tfs_uring_encode(cur->hdr, cur->buf + TFS_URING_ROOM, cur->u->payload, iov, count);
	cur->replied = 1;
	if (n == -EMSGSIZE) {
		tfs_err("a reply does not fit a ring entry (%zu bytes): answered EIO",
			u_payload(cur));
		n = (int)sizeof(out);
	}
	return n;
}

/* the ring was set up with 128-byte SQEs: the type says 64, so the compiler
 * must not reason about bounds through it */
static uint8_t *sqe128(struct io_uring_sqe *sqe)
{
	uint8_t *p = (uint8_t *)sqe;

	__asm__("" : "+r"(p));
	return p;
}

static void submit(struct uring_worker *w, unsigned int op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	struct tfs_uring_cmd c;

	memset(sqe128(sqe), 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = w->u->fd;
	sqe->cmd_op = op;
	if (op == TFS_URING_CMD_REGISTER) {
		sqe->addr = (uintptr_t)w->iov;
		sqe->len = 2;
	}
	memset(&c, 0, sizeof(c));
	c.qid = (uint16_t)w->qid;
	c.commit_id = op == TFS_URING_CMD_COMMIT_AND_FETCH ? w->unique : 0;
	memcpy(sqe128(sqe) + offsetof(struct io_uring_sqe, cmd), &c, sizeof(c));
	io_uring_sqe_set_data(sqe, w);
	io_uring_submit(&w->ring);
}

/* the entry's request is answered EIO (it came malformed, or nobody answered) */
static void reply_eio(struct uring_worker *w)
{
	struct fuse_out_header out = { sizeof(out), -EIO, w->unique };
	struct iovec iov = { &out, sizeof(out) };

	tfs_uring_encode(w->hdr, w->buf + TFS_URING_ROOM, w->u->payload, &iov, 1);
}

/* the request in @w's entry, through libfuse's dispatcher to a handler */
static void serve(struct uring_worker *w)
{
	struct tfs_uring *u = w->u;
	struct fuse_buf fb;
	uint8_t *req;
	size_t len;

	w->unique = w->hdr->ent.commit_id;
	w->replied = 0;
	if (tfs_uring_decode(w->hdr, w->buf + TFS_URING_ROOM, u->payload, &req, &len) < 0) {
		__atomic_fetch_add(&u->fs->fconn.malformed, 1, __ATOMIC_RELAXED);
		reply_eio(w);
		return;
	}
	tfs_fuse_request_begin(u->fs, req, len);
	memset(&fb, 0, sizeof(fb));
	fb.mem = req;
	fb.size = len;
	fuse_session_process_buf(u->se, &fb);
	if (!w->replied) /* libfuse sends no reply for a few opcodes */
		reply_eio(w);
	tfs_fuse_request_end();
	__atomic_fetch_add(&u->served, 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct uring_worker *w = arg;
	struct tfs_uring *u = w->u;
	unsigned int op = TFS_URING_CMD_REGISTER;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->qid, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* locality only */
	pthread_mutex_lock(&u->lock);
	while (!u->go)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
	if (u->go < 0)
		return NULL;
	cur = w;
	submit(w, op);
	for (;;) {
		struct __kernel_timespec ts = { .tv_sec = 1 };
		struct io_uring_cqe *cqe;
		int res;

		res = io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts);
		if (res == -ETIME || res == -EINTR) {
			if (__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (res < 0)
			break;
		res = cqe->res;
		io_uring_cqe_seen(&w->ring, cqe);
		if (res == -EAGAIN && op == TFS_URING_CMD_REGISTER) {
			/* INIT's reply is still on its way into the kernel */
			usleep(1000);
			submit(w, op);
			continue;
		}
		if (res == -ENOTCONN || res == -ECANCELED)
			break; /* the connection ended (unmount) */
		if (res < 0) {
			/* the kernel refused a commit (the request it names is
			 * gone): the entry is stuck, register it anew so that
			 * its queue keeps a server; a refused REGISTER ends it */
			tfs_err("io_uring queue %u: %s: %s", w->qid,
				op == TFS_URING_CMD_REGISTER ? "register" : "commit", strerror(-res));
			if (op == TFS_URING_CMD_REGISTER)
				break;
			op = TFS_URING_CMD_REGISTER;
			submit(w, op);
			continue;
		}
		serve(w);
		op = TFS_URING_CMD_COMMIT_AND_FETCH;
		submit(w, op);
		/* stopping under load: the reply is committed; what the kernel
		 * queues next is ended when the ring closes */
		if (__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE))
			break;
	}
	cur = NULL;
	return NULL;
}

static void worker_free(struct uring_worker *w)
{
	if (w->ring_ok)
		io_uring_queue_exit(&w->ring);
	free(w->hdr);
	free(w->buf);
}

/* the kernel's queues: one per possible CPU (num_possible_cpus()), which
 * may be more than are online or present; it waits for every queue to have
 * an entry before it sends anything to the rings */
static unsigned int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	unsigned int n = 0, a, b;
	char sep;

	if (!f)
		return (unsigned int)get_nprocs_conf();
	while (fscanf(f, "%u", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%u", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = 0;
		}
		n += b >= a ? b - a + 1 : 0;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n ? n : (unsigned int)get_nprocs_conf();
}

int tfs_uring_enabled(void)
{
	char c = 0;
	FILE *f = fopen("/sys/module/fuse/parameters/enable_uring", "r");

	if (!f)
		return 0;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == 'Y' || c == '1';
}

struct tfs_uring *tfs_uring_prepare(struct tfs_fs *fs, struct fuse_session *se, size_t max_write)
{
	struct tfs_uring *u = calloc(1, sizeof(*u));
	unsigned int i, nq = possible_cpus(), per_q;

	if (!u)
		return NULL;
	u->fs = fs;
	u->se = se;
	u->fd = fuse_session_fd(se);
	/* the kernel wants max(8 KiB, max_write, max_pages pages); tierfs's INIT
	 * sets max_write to 1 MiB and libfuse derives max_pages from it */
	u->payload = max_write > 8192 ? max_write : 8192;
	u->nq = nq > 0 ? nq : 1;
	/* every worker may hold a cached WRITE in transport.c's ordering table
	 * (room for TFS_FUSE_MAX_HELD, libfuse's 16 threads included) */
	per_q = (TFS_FUSE_MAX_HELD - 16) / u->nq;
	per_q = per_q > TFS_URING_PER_Q ? TFS_URING_PER_Q : per_q ? per_q : 1;
	u->nw = u->nq * per_q;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->w = calloc(u->nw, sizeof(*u->w));
	if (!u->w)
		goto out_free;
	for (i = 0; i < u->nw; i++) {
		struct uring_worker *w = &u->w[i];
		struct io_uring_params p;

		w->u = u;
		w->qid = i % u->nq;
		w->buf = tfs_io_alloc(TFS_URING_ROOM + u->payload);
		w->hdr = calloc(1, sizeof(*w->hdr));
		if (!w->buf || !w->hdr)
			goto out_workers;
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		if (io_uring_queue_init_params(4, &w->ring, &p) < 0)
			goto out_workers;
		w->ring_ok = 1;
		w->iov[0].iov_base = w->hdr;
		w->iov[0].iov_len = sizeof(*w->hdr);
		w->iov[1].iov_base = w->buf + TFS_URING_ROOM;
		w->iov[1].iov_len = u->payload;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			goto out_workers;
		w->running = 1;
	}
	return u;
out_workers:
	tfs_uring_start(u, 0);
	tfs_uring_stop(u);
	return NULL;
out_free:
	free(u);
	return NULL;
}

void tfs_uring_start(struct tfs_uring *u, int go)
{
	pthread_mutex_lock(&u->lock);
	u->go = go ? 1 : -1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

void tfs_uring_stop(struct tfs_uring *u)
{
	unsigned int i;

	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	if (!u->go)
		u->go = -1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	__atomic_store_n(&u->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; u->w && i < u->nw; i++) {
		if (u->w[i].running)
			pthread_join(u->w[i].thread, NULL);
		worker_free(&u->w[i]);
	}
	free(u->w);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	free(u);
}

void tfs_uring_stats(const struct tfs_uring *u, uint64_t *served, unsigned int *queues,
		     unsigned int *workers)
{
	*served = u ? __atomic_load_n(&u->served, __ATOMIC_RELAXED) : 0;
	*queues = u ? u->nq : 0;
	*workers = u ? u->nw : 0;
}

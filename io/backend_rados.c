/*
 * io/backend_rados.c - the cold tier: objects in a Ceph RADOS pool.
 *
 * A RADOS "device" is named by a path of the form
 *
 *	rados:POOL[,conf=PATH][,id=NAME][,namespace=NS][,size=BYTES]
 *
 * and looks to the rest of tierfs like a device of byte offsets, laid out as
 * every device is: the superblock copies at the start, chunk slots after
 * them.  Underneath, every chunk-sized window of that space is one object
 * in namespace NS of POOL:
 *
 *	offsets [0, window)               object "tierfs.super" (the superblock
 *	                                  copies: the pool's marker)
 *	window n >= 1                     the object of the chunk in slot n-1:
 *	                                  "tfs.<inode>.<index>.<generation>"
 *	                                  (hex, 16.8.8 digits) from the
 *	                                  request's r_key
 *
 * The window is the pool's chunk size, told by tfs_rados_window() once the
 * superblock is known (before that only the super object can be reached).
 * A data object is written whole, with write_full and its checksum (XXH64
 * of its bytes, xattr "tfs.xxh64") in one atomic operation; partial writes
 * of a data window are refused (-EINVAL): the callers copy chunks whole and
 * never overwrite a chunk in place on this class; a write names a fresh
 * generation, so an object, once written, never changes (format 6 named
 * objects "tfs.<slot>", 12 hex digits: r_key.gen 0 still reads, removes and
 * lists them; nothing writes them any more).  Reads may be of any part
 * of an object; what tierfs reads is verified against its own per-block
 * checksums, and tfs_rados_verify() checks an object against its xattr.
 *
 * Every call has a timeout: the cluster handle is configured with
 * rados_osd_op_timeout and rados_mon_op_timeout (tfs_rados_timeout_s), so a
 * cluster that does not answer gives -ETIMEDOUT, which requests report as
 * -EIO.  Objects are durable when an operation completes (flush is a no-op).
 *
 * Without librados (configure found none) every open fails with
 * -EOPNOTSUPP.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "io.h"

unsigned int tfs_rados_timeout_s = 5;

int tfs_rados_path(const char *path)
{
	return path && !strncmp(path, TFS_RADOS_PREFIX, strlen(TFS_RADOS_PREFIX));
}

static int set_field(char *dst, size_t cap, const char *v, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

int tfs_rados_parse(const char *path, struct tfs_rados_spec *s, char *why, size_t len)
{
	const char *p;

	memset(s, 0, sizeof(*s));
	strcpy(s->conf, "/etc/ceph/ceph.conf");
	strcpy(s->id, "admin");
	if (!tfs_rados_path(path)) {
		snprintf(why, len, "'%s' does not start with %s", path, TFS_RADOS_PREFIX);
		return -EINVAL;
	}
	p = path + strlen(TFS_RADOS_PREFIX);
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		int bad = 0;

		if (!eq && !s->pool[0]) {
			bad = set_field(s->pool, sizeof(s->pool), p, n);
		} else if (eq && (size_t)(eq - p) == 4 && !strncmp(p, "conf", 4)) {
			bad = set_field(s->conf, sizeof(s->conf), eq + 1, n - 5);
		} else if (eq && (size_t)(eq - p) == 2 && !strncmp(p, "id", 2)) {
			bad = set_field(s->id, sizeof(s->id), eq + 1, n - 3);
		} else if (eq && (size_t)(eq - p) == 9 && !strncmp(p, "namespace", 9)) {
			bad = set_field(s->ns, sizeof(s->ns), eq + 1, n - 10);
		} else if (eq && (size_t)(eq - p) == 4 && !strncmp(p, "size", 4)) {
			char num[32], *end;
			unsigned long long v;

			bad = set_field(num, sizeof(num), eq + 1, n - 5);
			if (!bad) {
				errno = 0;
				v = strtoull(num, &end, 10);
				if (errno || end == num || num[0] == '-')
					bad = 1;
				else if (!*end)
					s->size = v;
				else if (!strcmp(end, "G") || !strcmp(end, "GiB"))
					s->size = v << 30;
				else if (!strcmp(end, "T") || !strcmp(end, "TiB"))
					s->size = v << 40;
				else if (!strcmp(end, "M") || !strcmp(end, "MiB"))
					s->size = v << 20;
				else
					bad = 1;
			}
		} else {
			bad = 1;
		}
		if (bad) {
			snprintf(why, len, "bad part '%.*s' in '%s' (POOL[,conf=PATH][,id=NAME][,namespace=NS][,size=N{M,G,T}] expected)",
				 (int)n, p, path);
			return -EINVAL;
		}
		p = e ? e + 1 : p + n;
	}
	if (!s->pool[0]) {
		snprintf(why, len, "no pool named in '%s'", path);
		return -EINVAL;
	}
	return 0;
}

void tfs_rados_name(const struct tfs_okey *k, uint64_t slot, char *out, size_t len)
{
	if (k && k->gen)
		snprintf(out, len, "tfs.%016llx.%08x.%08x", (unsigned long long)k->ino, k->idx,
			 k->gen);
	else
		snprintf(out, len, "tfs.%012llx", (unsigned long long)slot);
}

#ifdef HAVE_RADOS
#include <rados/librados.h>

#define SUPER_OBJ "tierfs.super"
#define CSUM_XATTR "tfs.xxh64"

struct rados_priv {
	rados_t cluster;
	rados_ioctx_t io;
	uint32_t window_shift; /* 0: not told yet */
	struct tfs_rados_spec spec;
	struct tfs_rados_stat st;
};

static int rados_probe(int fd, const void *st, unsigned int cls)
{
	return 0; /* never by probing a path: tfs_io_dev_open sends rados: here */
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int conf_timeouts(rados_t cl)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", tfs_rados_timeout_s);
	if (rados_conf_set(cl, "rados_osd_op_timeout", v) < 0 ||
	    rados_conf_set(cl, "rados_mon_op_timeout", v) < 0 ||
	    rados_conf_set(cl, "client_mount_timeout", v) < 0)
		return -EINVAL;
	return 0;
}

/* connect to the cluster and open the pool's I/O context (@create: make the
 * pool if it does not exist).  On failure a line in @why. */
static int connect_spec(struct rados_priv *p, int create, char *why, size_t len)
{
	char name[80];
	int ret;

	snprintf(name, sizeof(name), "client.%s", p->spec.id);
	ret = rados_create2(&p->cluster, "ceph", name, 0);
	if (ret < 0) {
		snprintf(why, len, "cannot make a cluster handle: %s", strerror(-ret));
		return ret;
	}
	ret = rados_conf_read_file(p->cluster, p->spec.conf);
	if (ret < 0) {
		snprintf(why, len, "cannot read %s: %s", p->spec.conf, strerror(-ret));
		goto out_shutdown;
	}
	ret = conf_timeouts(p->cluster);
	if (ret < 0) {
		snprintf(why, len, "cannot set the client timeouts");
		goto out_shutdown;
	}
	ret = rados_connect(p->cluster);
	if (ret < 0) {
		snprintf(why, len, "cannot reach the cluster of %s as %s within %u s: %s",
			 p->spec.conf, name, tfs_rados_timeout_s, strerror(-ret));
		goto out_shutdown;
	}
	ret = rados_ioctx_create(p->cluster, p->spec.pool, &p->io);
	if (ret == -ENOENT && create) {
		ret = rados_pool_create(p->cluster, p->spec.pool);
		if (ret == 0 || ret == -EEXIST)
			ret = rados_ioctx_create(p->cluster, p->spec.pool, &p->io);
	}
	if (ret < 0) {
		snprintf(why, len, "RADOS pool '%s': %s", p->spec.pool,
			 ret == -ENOENT ? "no such pool" : strerror(-ret));
		goto out_shutdown;
	}
	if (p->spec.ns[0])
		rados_ioctx_set_namespace(p->io, p->spec.ns);
	return 0;

out_shutdown:
	rados_shutdown(p->cluster);
	p->cluster = NULL;
	return ret;
}

/* the last connection error, for the opener's message */
static __thread char last_why[256];

const char *tfs_rados_error(void)
{
	return last_why;
}

static int rados_dev_open(struct tfs_io_dev *dev)
{
	struct rados_priv *p = calloc(1, sizeof(*p));
	char why[200];
	int ret;

	if (!p)
		return -ENOMEM;
	ret = tfs_rados_parse(dev->d_path, &p->spec, why, sizeof(why));
	if (ret == 0)
		ret = connect_spec(p, 0, why, sizeof(why));
	if (ret < 0) {
		snprintf(last_why, sizeof(last_why), "%s", why);
		free(p);
		return ret;
	}
	dev->d_priv = p;
	/* until the window is known: the super object only */
	dev->d_size = p->spec.size ? p->spec.size : (uint64_t)1 << 50;
	return 0;
}

static void rados_dev_close(struct tfs_io_dev *dev)
{
	struct rados_priv *p = dev->d_priv;

	if (!p)
		return;
	if (p->cluster) {
		rados_aio_flush(p->io);
		rados_ioctx_destroy(p->io);
		rados_shutdown(p->cluster);
	}
	free(p);
	dev->d_priv = NULL;
}

/* the object and offset in it of device byte @off, whose chunk is @k: 0,
 * or -EINVAL for an offset no object holds (yet) */
static int locate(const struct rados_priv *p, uint64_t off, uint32_t len, const struct tfs_okey *k,
		  char *oid, size_t olen, uint64_t *in_obj, uint64_t *obj_len)
{
	uint64_t w;

	if (off < TFS_RADOS_SUPER_BYTES) {
		if (len > TFS_RADOS_SUPER_BYTES - off)
			return -EINVAL;
		snprintf(oid, olen, "%s", SUPER_OBJ);
		*in_obj = off;
		*obj_len = TFS_RADOS_SUPER_BYTES;
		return 0;
	}
	if (!p->window_shift)
		return -EINVAL;
	w = off >> p->window_shift;
	*in_obj = off & (((uint64_t)1 << p->window_shift) - 1);
	*obj_len = (uint64_t)1 << p->window_shift;
	if (w == 0 || len > *obj_len - *in_obj)
		return -EINVAL;
	tfs_rados_name(k, w - 1, oid, olen);
	return 0;
}

static void stat_add(struct rados_priv *p, int write, uint64_t bytes, uint64_t t0, int res)
{
	uint64_t dt = now_ns() - t0;

	if (res < 0) {
		__atomic_fetch_add(&p->st.errors, 1, __ATOMIC_RELAXED);
		return;
	}
	if (write) {
		__atomic_fetch_add(&p->st.writes, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&p->st.write_bytes, bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&p->st.write_ns, dt, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&p->st.reads, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&p->st.read_bytes, bytes, __ATOMIC_RELAXED);
		__atomic_fetch_add(&p->st.read_ns, dt, __ATOMIC_RELAXED);
	}
}

/* one request in flight */
struct rados_aio {
	rados_completion_t c;
	rados_write_op_t op;
	uint64_t t0;
};

static void aio_free(struct rados_aio *a)
{
	if (a->op)
		rados_release_write_op(a->op);
	if (a->c)
		rados_aio_release(a->c);
	free(a);
}

/* librados's thread: @req completed; its owner collects the result with
 * tfs_rados_reap (not here: this thread must not block or free) */
static void notify(rados_completion_t c, void *arg)
{
	struct tfs_io_req *req = arg;

	(void)c;
	req->r_cb(req);
}

/* start @req without waiting (@cb: req->r_cb runs when it completes): 0,
 * -EAGAIN for a flush (nothing to start: an operation is durable when it
 * completes), or -errno */
static int aio_start(struct tfs_io_dev *dev, struct tfs_io_req *req, int cb)
{
	struct rados_priv *p = dev->d_priv;
	uint64_t in_obj, obj_len;
	struct rados_aio *a;
	char oid[64];
	int ret;

	if (!p)
		return -EIO; /* mounted degraded: the cluster was out of reach */
	if (req->r_op == TFS_IO_FLUSH)
		return -EAGAIN;
	ret = locate(p, req->r_off, req->r_len, &req->r_key, oid, sizeof(oid), &in_obj, &obj_len);
	if (ret < 0)
		return ret;
	if (req->r_op == TFS_IO_WRITE && strcmp(oid, SUPER_OBJ) &&
	    (in_obj != 0 || req->r_len != obj_len || !req->r_key.gen))
		return -EINVAL; /* a data object is written whole, once, named */
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	ret = rados_aio_create_completion2(cb ? req : NULL, cb ? notify : NULL, &a->c);
	if (ret < 0)
		goto out_free;
	a->t0 = now_ns();
	if (req->r_op == TFS_IO_READ) {
		ret = rados_aio_read(p->io, oid, a->c, req->r_buf, req->r_len, in_obj);
	} else if (strcmp(oid, SUPER_OBJ) == 0) {
		ret = rados_aio_write(p->io, oid, a->c, req->r_buf, req->r_len, in_obj);
	} else {
		uint64_t h = XXH64(req->r_buf, req->r_len, 0);
		uint8_t v[8];
		unsigned int i;

		for (i = 0; i < 8; i++)
			v[i] = (uint8_t)(h >> (8 * i));
		a->op = rados_create_write_op();
		rados_write_op_write_full(a->op, req->r_buf, req->r_len);
		rados_write_op_setxattr(a->op, CSUM_XATTR, (const char *)v, sizeof(v));
		ret = rados_aio_write_op_operate(a->op, p->io, a->c, oid, NULL, 0);
	}
	if (ret < 0)
		goto out_free;
	__atomic_fetch_add(&p->st.inflight, 1, __ATOMIC_RELAXED);
	req->r_aio = a;
	return 0;

out_free:
	aio_free(a);
	return ret;
}

static int rados_aio_start(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	return aio_start(dev, req, 0);
}

/* the result of @req, which has completed */
static int aio_result(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	struct rados_priv *p = dev->d_priv;
	struct rados_aio *a = req->r_aio;
	int ret = rados_aio_get_return_value(a->c);

	if (req->r_op == TFS_IO_READ) {
		/* an object shorter than asked (never written past there), or
		 * none: zeros, as a device reads where nothing was written */
		if (ret >= 0 && (uint32_t)ret < req->r_len)
			memset((char *)req->r_buf + ret, 0, req->r_len - (uint32_t)ret);
		if (ret == -ENOENT && !req->r_key.gen) {
			memset(req->r_buf, 0, req->r_len);
			ret = 0;
		}
		/* (a named object that is not there: -ENOENT, gone or lost) */
		ret = ret < 0 ? ret : 0;
	}
	__atomic_fetch_sub(&p->st.inflight, 1, __ATOMIC_RELAXED);
	stat_add(p, req->r_op == TFS_IO_WRITE, req->r_len, a->t0, ret);
	aio_free(a);
	req->r_aio = NULL;
	/* the cluster did not answer within the timeout, or went away */
	if (ret == -ETIMEDOUT || ret == -ENOTCONN || ret == -ESHUTDOWN)
		ret = -EIO;
	return ret;
}

/* wait for @req, started by rados_aio_start: its result */
static int rados_aio_finish(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	rados_aio_wait_for_complete(((struct rados_aio *)req->r_aio)->c);
	return aio_result(dev, req);
}

int tfs_rados_submit(struct tfs_io_req *req)
{
	struct tfs_io_dev *dev = req->r_dev;

	if (dev->d_ops != &tfs_rados_ops || !req->r_cb || req->r_op == TFS_IO_FLUSH)
		return -EINVAL;
	return aio_start(dev, req, 1);
}

int tfs_rados_reap(struct tfs_io_req *req)
{
	if (!req->r_aio)
		return -EINVAL;
	req->r_res = aio_result(req->r_dev, req);
	return req->r_res;
}

static int rados_sync_io(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	int ret = rados_aio_start(dev, req);

	if (ret == -EAGAIN)
		return 0;
	return ret < 0 ? ret : rados_aio_finish(dev, req);
}

const struct tfs_io_ops tfs_rados_ops = {
	.name = "rados",
	.version = TFS_IO_OPS_VERSION,
	.flags = 0,
	.probe = rados_probe,
	.open = rados_dev_open,
	.close = rados_dev_close,
	.sync_io = rados_sync_io,
	.aio_start = rados_aio_start,
	.aio_wait = rados_aio_finish,
};

int tfs_rados_offline(struct tfs_io_dev *dev, const char *path, uint64_t size)
{
	memset(dev, 0, offsetof(struct tfs_io_dev, d_path));
	if (strlen(path) >= sizeof(dev->d_path))
		return -ENAMETOOLONG;
	strcpy(dev->d_path, path);
	dev->d_fd = memfd_create("tierfs-rados", MFD_CLOEXEC);
	if (dev->d_fd < 0)
		return -errno;
	dev->d_ops = &tfs_rados_ops;
	dev->d_class = TFS_CLASS_RADOS;
	dev->d_size = size;
	dev->d_priv = NULL; /* every request: -EIO */
	return 0;
}

int tfs_rados_online(const struct tfs_io_dev *dev)
{
	return dev->d_ops == &tfs_rados_ops && dev->d_priv != NULL;
}

int tfs_rados_window(struct tfs_io_dev *dev, unsigned int shift, uint64_t size)
{
	struct rados_priv *p = dev->d_priv;

	if (dev->d_ops != &tfs_rados_ops || !p || shift < 16 || shift > 26)
		return -EINVAL;
	p->window_shift = shift;
	if (size)
		dev->d_size = size;
	return 0;
}

int tfs_rados_before_fork(struct tfs_io_dev *dev)
{
	struct rados_priv *p = dev->d_priv;

	if (dev->d_ops != &tfs_rados_ops || !p || !p->cluster)
		return 0;
	/* librados's threads would not cross the fork: the connection ends
	 * here, and the child makes a new one */
	rados_aio_flush(p->io);
	rados_ioctx_destroy(p->io);
	rados_shutdown(p->cluster);
	p->io = NULL;
	p->cluster = NULL;
	return 0;
}

int tfs_rados_after_fork(struct tfs_io_dev *dev)
{
	struct rados_priv *p = dev->d_priv;
	char why[200];
	int ret;

	if (dev->d_ops != &tfs_rados_ops || !p || p->cluster)
		return 0;
	ret = connect_spec(p, 0, why, sizeof(why));
	if (ret < 0) {
		/* offline: every request fails with -EIO (-o degraded goes on) */
		snprintf(last_why, sizeof(last_why), "%s", why);
		free(p);
		dev->d_priv = NULL;
	}
	return ret;
}

int tfs_rados_remove(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot)
{
	struct rados_priv *p = dev->d_priv;
	rados_completion_t c;
	char oid[64];
	int ret;

	if (dev->d_ops != &tfs_rados_ops || !p)
		return -EINVAL;
	tfs_rados_name(k, slot, oid, sizeof(oid));
	/* nobody waits for it: an object left by a failure is an orphan,
	 * which fsck finds */
	ret = rados_aio_create_completion2(NULL, NULL, &c);
	if (ret < 0)
		return ret;
	ret = rados_aio_remove(p->io, oid, c);
	rados_aio_release(c);
	if (ret == 0)
		__atomic_fetch_add(&p->st.removes, 1, __ATOMIC_RELAXED);
	return ret;
}

int tfs_rados_remove_sync(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot)
{
	struct rados_priv *p = dev->d_priv;
	char oid[64];

	if (dev->d_ops != &tfs_rados_ops || !p)
		return -EIO;
	tfs_rados_name(k, slot, oid, sizeof(oid));
	return rados_remove(p->io, oid);
}

/* an object name tierfs writes, parsed: 1, or 0 for any other name */
static int parse_name(const char *s, struct tfs_okey *k, uint64_t *slot)
{
	char *end;

	static const char hex[] = "0123456789abcdef";

	memset(k, 0, sizeof(*k));
	*slot = UINT64_MAX;
	if (strncmp(s, "tfs.", 4))
		return 0;
	s += 4;
	/* exactly the spelling tfs_rados_name gives: the name is made again
	 * from what is parsed here (to remove or verify the object) */
	if (strlen(s) == 12 && strspn(s, hex) == 12) {
		*slot = strtoull(s, &end, 16);
		return 1;
	}
	if (strlen(s) != 34 || strspn(s, hex) != 16 || s[16] != '.' || strspn(s + 17, hex) != 8 ||
	    s[25] != '.' || strspn(s + 26, hex) != 8)
		return 0;
	k->ino = strtoull(s, NULL, 16);
	k->idx = (uint32_t)strtoul(s + 17, NULL, 16);
	k->gen = (uint32_t)strtoul(s + 26, NULL, 16);
	return k->gen != 0;
}

int tfs_rados_list(struct tfs_io_dev *dev,
		   int (*fn)(void *arg, const struct tfs_okey *k, uint64_t slot), void *arg)
{
	struct rados_priv *p = dev->d_priv;
	rados_list_ctx_t lc;
	const char *entry;
	int ret;

	if (dev->d_ops != &tfs_rados_ops || !p)
		return -EIO;
	ret = rados_nobjects_list_open(p->io, &lc);
	if (ret < 0)
		return ret;
	while ((ret = rados_nobjects_list_next(lc, &entry, NULL, NULL)) == 0) {
		struct tfs_okey k;
		uint64_t slot;

		if (!parse_name(entry, &k, &slot))
			continue;
		ret = fn(arg, &k, slot);
		if (ret)
			break;
	}
	rados_nobjects_list_close(lc);
	return ret == -ENOENT ? 0 : ret;
}

int tfs_rados_verify(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot, void *buf,
		     size_t len)
{
	struct rados_priv *p = dev->d_priv;
	char oid[64], v[8];
	uint64_t want = 0, h;
	unsigned int i;
	int ret;

	if (dev->d_ops != &tfs_rados_ops || !p)
		return -EIO;
	tfs_rados_name(k, slot, oid, sizeof(oid));
	ret = rados_getxattr(p->io, oid, CSUM_XATTR, v, sizeof(v));
	if (ret < 0)
		return ret == -ENODATA ? -EBADMSG : ret;
	if (ret != sizeof(v))
		return -EBADMSG;
	for (i = 0; i < 8; i++)
		want |= (uint64_t)(uint8_t)v[i] << (8 * i);
	ret = rados_read(p->io, oid, buf, len, 0);
	if (ret < 0)
		return ret;
	h = XXH64(buf, (size_t)ret, 0);
	return h == want && (size_t)ret == len ? 0 : -EBADMSG;
}

void tfs_rados_stats(const struct tfs_io_dev *dev, struct tfs_rados_stat *out)
{
	const struct rados_priv *p = dev->d_priv;

	memset(out, 0, sizeof(*out));
	if (dev->d_ops != &tfs_rados_ops || !p)
		return;
	out->reads = __atomic_load_n(&p->st.reads, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&p->st.writes, __ATOMIC_RELAXED);
	out->removes = __atomic_load_n(&p->st.removes, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&p->st.errors, __ATOMIC_RELAXED);
	out->inflight = __atomic_load_n(&p->st.inflight, __ATOMIC_RELAXED);
	out->read_bytes = __atomic_load_n(&p->st.read_bytes, __ATOMIC_RELAXED);
	out->write_bytes = __atomic_load_n(&p->st.write_bytes, __ATOMIC_RELAXED);
	out->read_ns = __atomic_load_n(&p->st.read_ns, __ATOMIC_RELAXED);
	out->write_ns = __atomic_load_n(&p->st.write_ns, __ATOMIC_RELAXED);
}

int tfs_rados_create(const char *path, char *why, size_t len)
{
	struct rados_priv p;
	int ret;

	memset(&p, 0, sizeof(p));
	ret = tfs_rados_parse(path, &p.spec, why, len);
	if (ret == 0)
		ret = connect_spec(&p, 1, why, len);
	if (ret < 0)
		return ret;
	rados_ioctx_destroy(p.io);
	rados_shutdown(p.cluster);
	return 0;
}

#else /* !HAVE_RADOS */

const char *tfs_rados_error(void)
{
	return "this tierfs was built without librados (install librados-dev and rebuild)";
}

static int rados_probe(int fd, const void *st, unsigned int cls)
{
	return 0;
}

static int rados_dev_open(struct tfs_io_dev *dev)
{
	return -EOPNOTSUPP;
}

const struct tfs_io_ops tfs_rados_ops = {
	.name = "rados",
	.version = TFS_IO_OPS_VERSION,
	.probe = rados_probe,
	.open = rados_dev_open,
};

int tfs_rados_window(struct tfs_io_dev *dev, unsigned int shift, uint64_t size)
{
	return -EOPNOTSUPP;
}

int tfs_rados_offline(struct tfs_io_dev *dev, const char *path, uint64_t size)
{
	return -EOPNOTSUPP;
}

int tfs_rados_online(const struct tfs_io_dev *dev)
{
	return 0;
}

int tfs_rados_before_fork(struct tfs_io_dev *dev)
{
	return 0;
}

int tfs_rados_after_fork(struct tfs_io_dev *dev)
{
	return 0;
}

int tfs_rados_remove(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot)
{
	return -EOPNOTSUPP;
}

int tfs_rados_submit(struct tfs_io_req *req)
{
	return -EOPNOTSUPP;
}

int tfs_rados_reap(struct tfs_io_req *req)
{
	return -EOPNOTSUPP;
}

int tfs_rados_remove_sync(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot)
{
	return -EOPNOTSUPP;
}

int tfs_rados_list(struct tfs_io_dev *dev,
		   int (*fn)(void *arg, const struct tfs_okey *k, uint64_t slot), void *arg)
{
	return -EOPNOTSUPP;
}

int tfs_rados_verify(struct tfs_io_dev *dev, const struct tfs_okey *k, uint64_t slot, void *buf,
		     size_t len)
{
	return -EOPNOTSUPP;
}

void tfs_rados_stats(const struct tfs_io_dev *dev, struct tfs_rados_stat *out)
{
	memset(out, 0, sizeof(*out));
}

int tfs_rados_create(const char *path, char *why, size_t len)
{
	snprintf(why, len, "%s", tfs_rados_error());
	return -EOPNOTSUPP;
}
#endif

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
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"

static __thread unsigned int rq_flags;

unsigned int tfs_fuse_rq_flags(void)
{
	return rq_flags;
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

int tfs_fuse_inspect(struct tfs_fuse_conn *c, const void *buf, size_t len, unsigned int *flags)
{
	struct fuse_in_header h;
	const void *p;

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
	case FUSE_WRITE:
		p = arg_at(buf, len, offsetof(struct fuse_write_in, write_flags), 4);
		if (!p)
			goto bad;
		if (get32(p) & FUSE_WRITE_KILL_SUIDGID)
			*flags |= TFS_RQ_KILL_SUIDGID;
		break;
	case FUSE_SETATTR:
		p = arg_at(buf, len, offsetof(struct fuse_setattr_in, valid), 4);
		if (!p)
			goto bad;
		if (get32(p) & FATTR_KILL_SUIDGID)
			*flags |= TFS_RQ_KILL_SUIDGID;
		break;
	case FUSE_OPEN:
		p = arg_at(buf, len, offsetof(struct fuse_open_in, open_flags), 4);
		if (!p)
			goto bad;
		if (get32(p) & FUSE_OPEN_KILL_SUIDGID)
			*flags |= TFS_RQ_KILL_SUIDGID;
		break;
	default:
		break; /* libfuse answers an opcode it does not know with ENOSYS */
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
	init->flags = (uint32_t)want;
	if (init->flags & FUSE_INIT_EXT)
		init->flags2 = (uint32_t)(want >> 32);
	c->granted = want;
	c->killpriv_v2 = !!(want & FUSE_HANDLE_KILLPRIV_V2);
	__atomic_store_n(&c->init_unique, 0, __ATOMIC_RELEASE);
	return 1;
}

/* ---- the custom I/O libfuse calls instead of read(2)/writev(2) ---- */

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	struct tfs_fs *fs = userdata;
	ssize_t n = read(fd, buf, len);

	rq_flags = 0;
	if (n > 0)
		tfs_fuse_inspect(&fs->fconn, buf, (size_t)n, &rq_flags);
	return n;
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct tfs_fs *fs = userdata;

	tfs_fuse_amend_reply(&fs->fconn, iov, count);
	return writev(fd, iov, count);
}

const struct fuse_custom_io *tfs_fuse_dev_io(void)
{
	static const struct fuse_custom_io io = {
		.read = dev_read,
		.writev = dev_writev,
	};

	return &io;
}

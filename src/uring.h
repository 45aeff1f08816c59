/*
 * src/uring.h - the FUSE-over-io_uring wire format (kernel 6.14+, FUSE
 * protocol 7.42), as the kernel's include/uapi/linux/fuse.h and
 * Documentation/filesystems/fuse-io-uring.rst describe it.  Debian 12's
 * headers predate it, so the layout is spelled out here.
 */
#ifndef TFS_URING_H
#define TFS_URING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TFS_FUSE_OVER_IO_URING (1ULL << 41) /* INIT flag (in flags2) */
#define TFS_URING_CMD_REGISTER 1u	    /* IORING_OP_URING_CMD cmd_op */
#define TFS_URING_CMD_COMMIT_AND_FETCH 2u

/* each ring entry: a header buffer (iov[0]) and a payload buffer (iov[1]) */
struct tfs_uring_ent_io {
	uint64_t flags;
	uint64_t commit_id; /* the request's unique, echoed in the commit */
	uint32_t payload_sz; /* bytes used in the payload buffer */
	uint32_t padding;
	uint64_t reserved;
};
struct tfs_uring_hdr {
	uint8_t in_out[128]; /* fuse_in_header (request), fuse_out_header (reply) */
	uint8_t op_in[128];  /* the opcode's fixed argument (in_args[0]) */
	struct tfs_uring_ent_io ent;
};
/* the 80-byte command area of a 128-byte SQE */
struct tfs_uring_cmd {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

/* room in front of the payload buffer: the request is rebuilt there as
 * /dev/fuse would deliver it (header, fixed argument, payload) */
#define TFS_URING_ROOM 4096

/*
 * A request as the kernel left it in @hdr and in the payload buffer at
 * @payload (@cap bytes, with TFS_URING_ROOM writable bytes in front): the
 * fuse_in_header and the fixed argument are copied in front of the payload,
 * so that *@req holds the whole request (*@len bytes).  -EPROTO when the
 * sizes do not add up.
 */
int tfs_uring_decode(const struct tfs_uring_hdr *hdr, uint8_t *payload, size_t cap,
		     uint8_t **req, size_t *len);
/*
 * A reply as libfuse hands it to writev (fuse_out_header, then its
 * arguments) into @hdr and the payload buffer: the reply's total length, or
 * -EMSGSIZE (the header then carries -EIO and no payload).
 */
int tfs_uring_encode(struct tfs_uring_hdr *hdr, uint8_t *payload, size_t cap,
		     const struct iovec *iov, int count);

#endif

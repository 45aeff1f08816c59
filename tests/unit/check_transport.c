/* tests/unit/check_transport.c - requests as the kernel sends them, the INIT
 * reply tierfs amends, and malformed input (src/transport.c).
 *
 * The requests were recorded from this project's daemon under strace on a
 * 6.18 kernel (protocol 7.45): INIT, and a WRITE, an O_TRUNC OPEN and a
 * truncating SETATTR made by uid 65534 on a setuid file, each carrying the
 * kernel's "kill suid/sgid" flag. */
#include <errno.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "check_suites.h"
#include "tfs.h"
#include "uring.h"

static const char rec_init[] =
	"680000001a0000000200000000000000000000000000000000000000000000000000000000000000"
	"070000002d00000000000200fbffff73fd05000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000";
static const char rec_write[] =
	"520000001000000020000000000000000200000000000000feff0000feff00006078000000000000"
	"901f1030fc7e00000300000000000000020000000400000000000000000000000184000000000000"
	"780a";
static const char rec_open[] = "300000000e00000028000000000000000200000000000000feff0000feff0000"
			       "60780000000000000182000001000000";
static const char rec_setattr[] =
	"800000000400000034000000000000000200000000000000feff0000feff00006478000000000000"
	"680e000000000000b034102cfc7e00000300000000000000b67fa3759f68600200000000000000004e"
	"bd0f6b000000004ebd0f6b000000000000000084ce613984ce61390000000000000000000000000000"
	"000000000000";

/* hex to bytes; returns the length */
static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;

	ck_assert_uint_le(n, max);
	for (i = 0; i < n; i++) {
		unsigned int b;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

START_TEST(test_recorded)
{
	struct tfs_fuse_conn c;
	uint8_t buf[256];
	unsigned int fl;
	size_t n;

	memset(&c, 0, sizeof(c));
	n = unhex(rec_init, buf, sizeof(buf));
	ck_assert_uint_eq(n, 104);
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, 0);
	ck_assert_uint_eq(c.major, 7);
	ck_assert_uint_eq(c.minor, 45);
	ck_assert_uint_eq(c.init_unique, 2);
	ck_assert(c.offered & FUSE_HANDLE_KILLPRIV_V2);
	ck_assert(c.offered & FUSE_INIT_EXT);
	ck_assert_uint_eq(c.offered >> 32, 0x5fd); /* flags2 */

	n = unhex(rec_write, buf, sizeof(buf));
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, TFS_RQ_KILL_SUIDGID);
	/* the same write from a caller with CAP_FSETID: no flag */
	buf[sizeof(struct fuse_in_header) + offsetof(struct fuse_write_in, write_flags)] = 0;
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, 0);

	n = unhex(rec_open, buf, sizeof(buf));
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, TFS_RQ_KILL_SUIDGID);

	n = unhex(rec_setattr, buf, sizeof(buf));
	ck_assert_uint_eq(n, 128);
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, TFS_RQ_KILL_SUIDGID);
	ck_assert_uint_eq(c.malformed, 0);
}
END_TEST

START_TEST(test_malformed)
{
	const char *recs[] = { rec_init, rec_write, rec_open, rec_setattr };
	struct tfs_fuse_conn c;
	uint8_t buf[256];
	unsigned int fl, i;
	uint64_t bad = 0;
	size_t n, cut;

	memset(&c, 0, sizeof(c));
	/* every prefix of every request: a short one is refused (its length
	 * field no longer matches), never read past its end */
	for (i = 0; i < 4; i++) {
		n = unhex(recs[i], buf, sizeof(buf));
		for (cut = 0; cut < n; cut++) {
			uint8_t *p = malloc(cut ? cut : 1);

			memcpy(p, buf, cut);
			fl = ~0u;
			ck_assert_int_eq(tfs_fuse_inspect(&c, p, cut, &fl), -EPROTO);
			ck_assert_uint_eq(fl, 0);
			ck_assert_uint_eq(c.malformed, ++bad);
			free(p);
		}
	}
	/* a header that claims only what was read, but too little for the
	 * argument looked at */
	n = unhex(rec_write, buf, sizeof(buf));
	buf[0] = 48;
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, 48, &fl), -EPROTO);
	ck_assert_uint_eq(fl, 0);
	/* an INIT too short for its flags */
	n = unhex(rec_init, buf, sizeof(buf));
	buf[0] = 52;
	memset(&c.offered, 0, sizeof(c.offered));
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, 52, &fl), -EPROTO);
	ck_assert_uint_eq(c.offered, 0);
	/* an opcode nobody knows: left for libfuse to answer ENOSYS */
	n = unhex(rec_open, buf, sizeof(buf));
	buf[4] = 0xee;
	buf[5] = 0x7f;
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	ck_assert_uint_eq(fl, 0);
	/* an INIT of an old kernel (7.22: no flags2): the offer is the low half */
	n = unhex(rec_init, buf, sizeof(buf));
	buf[0] = 56;
	buf[44] = 22;
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, 56, &fl), 0);
	ck_assert_uint_eq(c.minor, 22);
	ck_assert_uint_eq(c.offered >> 32, 0);
}
END_TEST

/* libfuse's INIT reply: a header and fuse_init_out */
static void init_reply(struct fuse_out_header *h, struct fuse_init_out *o, struct iovec *iov,
		       uint64_t unique, int error)
{
	memset(h, 0, sizeof(*h));
	memset(o, 0, sizeof(*o));
	h->unique = unique;
	h->error = error;
	h->len = sizeof(*h) + sizeof(*o);
	o->major = 7;
	o->minor = 38;
	o->flags = FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE | FUSE_HANDLE_KILLPRIV | FUSE_INIT_EXT;
	o->flags2 = 0;
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = o;
	iov[1].iov_len = sizeof(*o);
}

START_TEST(test_init_reply)
{
	struct tfs_fuse_conn c;
	struct fuse_out_header h;
	struct fuse_init_out o;
	struct iovec iov[2];
	uint8_t buf[256];
	unsigned int fl;
	size_t n;

	memset(&c, 0, sizeof(c));
	n = unhex(rec_init, buf, sizeof(buf));
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);

	/* another request's reply, an error reply, a cut one: untouched */
	init_reply(&h, &o, iov, 3, 0);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 0);
	ck_assert_uint_eq(o.flags & FUSE_HANDLE_KILLPRIV_V2, 0);
	init_reply(&h, &o, iov, 2, -EPROTO);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 0);
	init_reply(&h, &o, iov, 2, 0);
	iov[1].iov_len = 16;
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 0);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 1), 0);

	/* the reply to INIT: KILLPRIV_V2 instead of KILLPRIV, the rest kept */
	init_reply(&h, &o, iov, 2, 0);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 1);
	ck_assert(o.flags & FUSE_HANDLE_KILLPRIV_V2);
	ck_assert(!(o.flags & FUSE_HANDLE_KILLPRIV));
	ck_assert(o.flags & FUSE_WRITEBACK_CACHE);
	ck_assert(o.flags & FUSE_ASYNC_READ);
	ck_assert_int_eq(c.killpriv_v2, 1);
	/* once only */
	init_reply(&h, &o, iov, 2, 0);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 0);

	/* a kernel that does not offer it is not asked */
	memset(&c, 0, sizeof(c));
	n = unhex(rec_init, buf, sizeof(buf));
	buf[sizeof(struct fuse_in_header) + offsetof(struct fuse_init_in, flags) + 3] &= ~0x10;
	ck_assert_int_eq(tfs_fuse_inspect(&c, buf, n, &fl), 0);
	init_reply(&h, &o, iov, 2, 0);
	ck_assert_int_eq(tfs_fuse_amend_reply(&c, iov, 2), 1);
	ck_assert(!(o.flags & FUSE_HANDLE_KILLPRIV_V2));
	ck_assert_int_eq(c.killpriv_v2, 0);
}
END_TEST

/* a recorded request as the kernel puts it into a ring entry: the header
 * in in_out, the fixed argument (@op bytes) in op_in, the rest in the
 * payload buffer */
static size_t to_ring(const char *hex, size_t op, struct tfs_uring_hdr *hdr, uint8_t *payload)
{
	uint8_t buf[256];
	size_t n = unhex(hex, buf, sizeof(buf));
	struct fuse_in_header h;

	memcpy(&h, buf, sizeof(h));
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr->in_out, buf, sizeof(h));
	memcpy(hdr->op_in, buf + sizeof(h), op);
	memcpy(payload, buf + sizeof(h) + op, n - sizeof(h) - op);
	hdr->ent.payload_sz = (uint32_t)(n - sizeof(h) - op);
	hdr->ent.commit_id = h.unique;
	return n;
}

START_TEST(test_uring_decode)
{
	static uint8_t area[TFS_URING_ROOM + 8192];
	uint8_t *payload = area + TFS_URING_ROOM, *req, buf[256];
	struct tfs_uring_hdr hdr, bad;
	struct tfs_fuse_conn c;
	unsigned int fl;
	size_t n, len;

	/* a WRITE: fuse_write_in in op_in, the 2 bytes of data in the payload;
	 * rebuilt, it is byte for byte what /dev/fuse delivered */
	n = to_ring(rec_write, sizeof(struct fuse_write_in), &hdr, payload);
	ck_assert_int_eq(tfs_uring_decode(&hdr, payload, 8192, &req, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_ptr_eq(req + len, payload + hdr.ent.payload_sz);
	unhex(rec_write, buf, sizeof(buf));
	ck_assert_int_eq(memcmp(req, buf, n), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tfs_fuse_inspect(&c, req, len, &fl), 0);
	ck_assert_uint_eq(fl, TFS_RQ_KILL_SUIDGID);
	/* a SETATTR: all of it in op_in, no payload */
	n = to_ring(rec_setattr, sizeof(struct fuse_setattr_in), &hdr, payload);
	ck_assert_int_eq(tfs_uring_decode(&hdr, payload, 8192, &req, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_uint_eq(hdr.ent.payload_sz, 0);

	/* malformed: a payload larger than the buffer, a length shorter than
	 * the header or than the payload, a fixed argument larger than op_in,
	 * a commit id that is not the request's */
	n = to_ring(rec_write, sizeof(struct fuse_write_in), &hdr, payload);
	bad = hdr;
	bad.ent.payload_sz = 8193;
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), -EPROTO);
	bad = hdr;
	memset(bad.in_out, 0, 4); /* len 0 */
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), -EPROTO);
	bad = hdr;
	bad.in_out[0] = 41; /* len 41: less than header + payload */
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), -EPROTO);
	bad = hdr;
	bad.ent.payload_sz = 0; /* 82 - 40 = 42 bytes of op: fits; 300 would not */
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), 0);
	bad.in_out[0] = 44;
	bad.in_out[1] = 1; /* len 300 */
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), -EPROTO);
	bad = hdr;
	bad.ent.commit_id++;
	ck_assert_int_eq(tfs_uring_decode(&bad, payload, 8192, &req, &len), -EPROTO);
}
END_TEST

START_TEST(test_uring_encode)
{
	static uint8_t payload[64];
	struct fuse_out_header out = { 0, 0, 77 }, got;
	struct fuse_attr_out attr;
	struct tfs_uring_hdr hdr;
	struct iovec iov[3];
	char tail[8] = "abcdefg";

	memset(&attr, 0x5a, sizeof(attr));
	memset(&hdr, 0, sizeof(hdr));
	out.len = sizeof(out) + 8;
	iov[0].iov_base = &out;
	iov[0].iov_len = sizeof(out);
	iov[1].iov_base = tail;
	iov[1].iov_len = 8;
	/* header into in_out, the arguments one after another in the payload */
	ck_assert_int_eq(tfs_uring_encode(&hdr, payload, sizeof(payload), iov, 2),
			 (int)sizeof(out) + 8);
	memcpy(&got, hdr.in_out, sizeof(got));
	ck_assert_uint_eq(got.unique, 77);
	ck_assert_int_eq(got.error, 0);
	ck_assert_uint_eq(hdr.ent.payload_sz, 8);
	ck_assert_int_eq(memcmp(payload, tail, 8), 0);
	/* an error reply: the header alone */
	out.error = -ENOENT;
	ck_assert_int_eq(tfs_uring_encode(&hdr, payload, sizeof(payload), iov, 1),
			 (int)sizeof(out));
	ck_assert_uint_eq(hdr.ent.payload_sz, 0);
	/* larger than the payload buffer: EIO in the header, nothing else */
	out.error = 0;
	iov[1].iov_base = &attr;
	iov[1].iov_len = sizeof(attr); /* 104 bytes */
	iov[2].iov_base = tail;
	iov[2].iov_len = 8;
	ck_assert_int_eq(tfs_uring_encode(&hdr, payload, sizeof(payload), iov, 3), -EMSGSIZE);
	memcpy(&got, hdr.in_out, sizeof(got));
	ck_assert_int_eq(got.error, -EIO);
	ck_assert_uint_eq(got.unique, 77);
	ck_assert_uint_eq(hdr.ent.payload_sz, 0);
	/* no header, or a cut one */
	ck_assert_int_eq(tfs_uring_encode(&hdr, payload, sizeof(payload), iov, 0), -EPROTO);
	iov[0].iov_len = 8;
	ck_assert_int_eq(tfs_uring_encode(&hdr, payload, sizeof(payload), iov, 1), -EPROTO);
}
END_TEST

Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_recorded);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_init_reply);
	tcase_add_test(tc, test_uring_decode);
	tcase_add_test(tc, test_uring_encode);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * src/opstat.c - FUSE requests by opcode: how many, and how long each took.
 *
 * The front end (ll_ops.c) times every handler from its start to its return;
 * every handler replies before it returns, so that is the daemon's service
 * time of the request (the kernel's queueing and the /dev/fuse round trip
 * are not in it).  Per opcode: the sum of nanoseconds and a
 * histogram with four buckets per power of two (so a percentile read from
 * it is at most 25 % above the true value).  Counters are atomic and never
 * reset: tierfsctl status shows them since mount.
 */
#include "config.h"

#include <time.h>

#include "tfs.h"

static const char *const names[TFS_OP_MAX] = {
	[TFS_OP_LOOKUP] = "LOOKUP", [TFS_OP_FORGET] = "FORGET", [TFS_OP_GETATTR] = "GETATTR",
	[TFS_OP_SETATTR] = "SETATTR", [TFS_OP_READLINK] = "READLINK", [TFS_OP_MKNOD] = "MKNOD",
	[TFS_OP_MKDIR] = "MKDIR", [TFS_OP_SYMLINK] = "SYMLINK", [TFS_OP_UNLINK] = "UNLINK",
	[TFS_OP_RMDIR] = "RMDIR", [TFS_OP_RENAME] = "RENAME", [TFS_OP_LINK] = "LINK",
	[TFS_OP_OPEN] = "OPEN", [TFS_OP_CREATE] = "CREATE", [TFS_OP_READ] = "READ",
	[TFS_OP_WRITE] = "WRITE", [TFS_OP_FLUSH] = "FLUSH", [TFS_OP_RELEASE] = "RELEASE",
	[TFS_OP_FSYNC] = "FSYNC", [TFS_OP_OPENDIR] = "OPENDIR", [TFS_OP_READDIR] = "READDIR",
	[TFS_OP_READDIRPLUS] = "READDIRPLUS", [TFS_OP_RELEASEDIR] = "RELEASEDIR",
	[TFS_OP_FSYNCDIR] = "FSYNCDIR", [TFS_OP_STATFS] = "STATFS", [TFS_OP_SETXATTR] = "SETXATTR",
	[TFS_OP_GETXATTR] = "GETXATTR", [TFS_OP_LISTXATTR] = "LISTXATTR",
	[TFS_OP_REMOVEXATTR] = "REMOVEXATTR", [TFS_OP_FALLOCATE] = "FALLOCATE",
	[TFS_OP_LSEEK] = "LSEEK", [TFS_OP_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
};

const char *tfs_op_name(unsigned int op)
{
	return op < TFS_OP_MAX ? names[op] : "?";
}

/* bucket 0: under 1024 ns; then four per power of two from 2^10 ns on */
unsigned int tfs_op_bucket(uint64_t ns)
{
	unsigned int k, b;

	if (ns < 1024)
		return 0;
	k = 63u - (unsigned int)__builtin_clzll(ns);
	b = (k - 10) * 4 + (unsigned int)((ns >> (k - 2)) & 3) + 1;
	return b < TFS_OP_BUCKETS ? b : TFS_OP_BUCKETS - 1;
}

/* the first nanosecond value above bucket @b (the last one is open-ended:
 * its lower bound) */
uint64_t tfs_op_bucket_top(unsigned int b)
{
	unsigned int k, sub;

	if (b == 0)
		return 1024;
	if (b >= TFS_OP_BUCKETS - 1)
		b = TFS_OP_BUCKETS - 2;
	k = (b - 1) / 4 + 10;
	sub = (b - 1) % 4;
	return (uint64_t)(4 + sub + 1) << (k - 2);
}

uint64_t tfs_op_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tfs_op_record(struct tfs_opstat *s, uint64_t ns)
{
	__atomic_fetch_add(&s->ns, ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->hist[tfs_op_bucket(ns)], 1, __ATOMIC_RELAXED);
}

void tfs_op_summary(const struct tfs_opstat *s, uint64_t *count, double *mean_us, double *p99_us)
{
	uint64_t n = 0, seen = 0, want;
	unsigned int b;

	for (b = 0; b < TFS_OP_BUCKETS; b++)
		n += __atomic_load_n(&s->hist[b], __ATOMIC_RELAXED);
	*count = n;
	*mean_us = n ? (double)__atomic_load_n(&s->ns, __ATOMIC_RELAXED) / (double)n / 1000.0 : 0;
	*p99_us = 0;
	if (!n)
		return;
	/* the smallest bucket holding the 99th percentile request */
	want = n - n / 100;
	for (b = 0; b < TFS_OP_BUCKETS; b++) {
		seen += __atomic_load_n(&s->hist[b], __ATOMIC_RELAXED);
		if (seen >= want)
			break;
	}
	*p99_us = (double)tfs_op_bucket_top(b) / 1000.0;
}

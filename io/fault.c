/*
 * io/fault.c - a fault plan for device requests, for tests.
 *
 * The syscall table (syscall.c) covers the synchronous paths; requests that
 * go through io_uring or into a pmem mapping never make those calls, so the
 * engine asks this plan about every request it is given.  A plan is one
 * rule, set from a string (the daemon reads TIERFS_FAULT at start):
 *
 *   OP:KIND[:after=N][:count=N][:dev=SUBSTRING]
 *
 *   OP     read, write (every write), jwrite (metadata only: journal,
 *          log and checkpoint writes), dwrite (file data only), flush;
 *          init (KIND EIO only): the daemon gives up once INIT is
 *          answered, as a mount failing after detaching would
 *   KIND   EIO or ENOSPC  the request fails with that error, moving nothing
 *          torn           (writes) the first half of the bytes (whole 512-byte
 *                         sectors) reaches the device, then the request fails
 *                         with EIO: what a crash in the middle of a write
 *                         leaves, without the crash
 *          short          the transfer is reported short once; the engine
 *                         must carry on with the rest (it succeeds)
 *   after  matching requests let through first (default 0)
 *   count  matching requests hit after that (default 1; 0 = all of them)
 *   dev    only requests to devices whose path contains SUBSTRING
 *
 * Matching and counting are atomic, so the plan holds across threads.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

#define FAULT_INIT 0xff /* not a device request: the daemon's INIT */

static struct {
	int set;
	unsigned int op;	/* TFS_IO_READ/WRITE/FLUSH */
	int meta;		/* 1: only requests flagged TFS_IO_F_META, -1: only others */
	int kind;		/* enum tfs_fault_kind */
	uint64_t after, count;
	char dev[64];
	uint64_t seen;		/* matching requests so far */
	uint64_t hits;		/* faults injected */
} plan;

int tfs_fault_set(const char *spec)
{
	char buf[256], *tok, *save = NULL;
	int field = 0;

	memset(&plan, 0, sizeof(plan));
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	plan.count = 1;
	for (tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save), field++) {
		char *end;

		if (field == 0) {
			if (!strcmp(tok, "read"))
				plan.op = TFS_IO_READ;
			else if (!strcmp(tok, "write"))
				plan.op = TFS_IO_WRITE;
			else if (!strcmp(tok, "jwrite"))
				plan.op = TFS_IO_WRITE, plan.meta = 1;
			else if (!strcmp(tok, "dwrite"))
				plan.op = TFS_IO_WRITE, plan.meta = -1;
			else if (!strcmp(tok, "flush"))
				plan.op = TFS_IO_FLUSH;
			else if (!strcmp(tok, "init"))
				plan.op = FAULT_INIT;
			else
				return -EINVAL;
		} else if (field == 1) {
			if (!strcmp(tok, "EIO"))
				plan.kind = -EIO;
			else if (!strcmp(tok, "ENOSPC"))
				plan.kind = -ENOSPC;
			else if (plan.op == FAULT_INIT)
				return -EINVAL;
			else if (!strcmp(tok, "torn") && plan.op == TFS_IO_WRITE)
				plan.kind = TFS_FAULT_TORN;
			else if (!strcmp(tok, "short") && plan.op != TFS_IO_FLUSH)
				plan.kind = TFS_FAULT_SHORT;
			else
				return -EINVAL;
		} else if (!strncmp(tok, "after=", 6)) {
			plan.after = strtoull(tok + 6, &end, 10);
			if (*end || end == tok + 6)
				return -EINVAL;
		} else if (!strncmp(tok, "count=", 6)) {
			plan.count = strtoull(tok + 6, &end, 10);
			if (*end || end == tok + 6)
				return -EINVAL;
		} else if (!strncmp(tok, "dev=", 4) && strlen(tok + 4) < sizeof(plan.dev)) {
			strcpy(plan.dev, tok + 4);
		} else {
			return -EINVAL;
		}
	}
	if (field < 2) {
		memset(&plan, 0, sizeof(plan));
		return -EINVAL;
	}
	plan.set = 1;
	return 0;
}

int tfs_fault_init(void)
{
	if (!__atomic_load_n(&plan.set, __ATOMIC_ACQUIRE) || plan.op != FAULT_INIT)
		return 0;
	__atomic_fetch_add(&plan.hits, 1, __ATOMIC_RELAXED);
	return plan.kind;
}

uint64_t tfs_fault_hits(void)
{
	return __atomic_load_n(&plan.hits, __ATOMIC_RELAXED);
}

int tfs_fault_check(const struct tfs_io_req *req)
{
	uint64_t n;

	if (!__atomic_load_n(&plan.set, __ATOMIC_ACQUIRE) || req->r_op != plan.op)
		return 0;
	if (plan.meta && (plan.meta > 0) != !!(req->r_flags & TFS_IO_F_META))
		return 0;
	if (plan.dev[0] && !strstr(req->r_dev->d_path, plan.dev))
		return 0;
	n = __atomic_fetch_add(&plan.seen, 1, __ATOMIC_RELAXED);
	if (n < plan.after || (plan.count && n >= plan.after + plan.count))
		return 0;
	__atomic_fetch_add(&plan.hits, 1, __ATOMIC_RELAXED);
	return plan.kind;
}

/* a torn write: the first half (whole sectors) goes to the device */
void tfs_fault_tear(struct tfs_io_req *req)
{
	struct tfs_io_dev *dev = req->r_dev;
	uint32_t n = (req->r_len / 2) & ~511u;

	if (!n)
		return;
	if (dev->d_map) {
		memcpy(dev->d_map + req->r_off, req->r_buf, n);
		tfs_pmem_persist(dev, req->r_off, n);
	} else if (tfs_io_pwrite_full(dev->d_fd, req->r_buf, n, req->r_off) < 0 && n > 4096) {
		/* the device wants bigger units for O_DIRECT */
		tfs_io_pwrite_full(dev->d_fd, req->r_buf, n & ~4095u, req->r_off);
	}
}

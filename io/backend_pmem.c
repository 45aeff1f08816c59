/*
 * io/backend_pmem.c - persistent memory: a mapping and its persistence layer.
 *
 * The fastest tier is byte addressable.  The whole device is mapped once;
 * reads are loads from the mapping, writes are stores made durable by the
 * persistence primitive chosen at open time (see enum tfs_pmem_mode in io.h):
 *
 *  - a DAX mapping (a file on a DAX file system mapped with MAP_SYNC, or a
 *    device-dax character device): stores reach the persistence domain when
 *    their cache lines are written back, so persist = clwb (or clflushopt,
 *    or clflush, whichever CPUID offers first) over the range, then sfence;
 *  - any other mapping (a file on tmpfs or ext4, a block device): the page
 *    cache stands between the stores and the media, so persist = msync of
 *    the pages of the range;
 *  - shadow mode (TIERFS_PMEM_SHADOW=1, tests only): the mapping is
 *    MAP_PRIVATE, so stores never reach the file by themselves; persist
 *    copies the whole cache lines of the range to the file.  The file is the
 *    media: whatever was stored but not persisted is gone after the process
 *    dies or after tfs_pmem_crash(), which is how tests prove that every
 *    persist point is where it must be.
 *
 * A persist is whole cache lines, as on hardware: persisting one byte makes
 * its line's other 63 bytes durable too.  Hardware may also write back a
 * line on its own at any time; shadow mode models the pessimistic case (no
 * line is durable unless persisted), which is what code must be correct
 * against.
 *
 * No PMDK: the primitives are a few instructions, written here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "io.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

struct pmem {
	int mode;		/* enum tfs_pmem_mode */
	size_t map_len;		/* bytes mapped */
	uint64_t persisted;	/* bytes persisted since open */
};

/* ------------------------------------------------ cache-line write-back */

enum flush_insn { FLUSH_NONE, FLUSH_CLFLUSH, FLUSH_CLFLUSHOPT, FLUSH_CLWB };
static int flush_insn = -1;

static int detect_flush(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1u << 24))
			return FLUSH_CLWB;
		if (b & (1u << 23))
			return FLUSH_CLFLUSHOPT;
	}
	if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19)))
		return FLUSH_CLFLUSH;
#endif
	return FLUSH_NONE;
}

/* write back the lines of [p, p+len) and fence */
static void cpu_persist(const uint8_t *p, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	uintptr_t line = (uintptr_t)p & ~(uintptr_t)(TFS_PMEM_LINE - 1);
	uintptr_t end = (uintptr_t)p + len;

	for (; line < end; line += TFS_PMEM_LINE) {
		/* encoded by hand: no -mclwb needed, and old assemblers cope */
		switch (flush_insn) {
		case FLUSH_CLWB: /* clwb (%rax) */
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x30" : : "a"(line) : "memory");
			break;
		case FLUSH_CLFLUSHOPT: /* clflushopt (%rax) */
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x38" : : "a"(line) : "memory");
			break;
		default: /* clflush (%rax): ordered by itself */
			__asm__ volatile(".byte 0x0f, 0xae, 0x38" : : "a"(line) : "memory");
			break;
		}
	}
	__asm__ volatile("sfence" : : : "memory");
#else
	(void)p;
	(void)len;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* --------------------------------------------------------- the mapping */

static struct pmem *pm(const struct tfs_io_dev *dev)
{
	return dev->d_priv;
}

int tfs_pmem_mode(const struct tfs_io_dev *dev)
{
	return pm(dev) ? pm(dev)->mode : -1;
}

const char *tfs_pmem_mode_str(const struct tfs_io_dev *dev)
{
	static const char *const names[] = {
		[TFS_PMEM_CPU] = "dax", [TFS_PMEM_MSYNC] = "msync", [TFS_PMEM_SHADOW] = "shadow",
	};

	return pm(dev) ? names[pm(dev)->mode] : "none";
}

uint64_t tfs_pmem_persisted(const struct tfs_io_dev *dev)
{
	return pm(dev) ? __atomic_load_n(&pm(dev)->persisted, __ATOMIC_RELAXED) : 0;
}

/* a device-dax character device: /sys/dev/char/M:m/subsystem -> .../dax */
static int devdax_size(const struct stat *st, uint64_t *size)
{
	char p[PATH_MAX], link[PATH_MAX];
	unsigned long long v;
	ssize_t n;
	FILE *f;
	int ok;

	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/subsystem", major(st->st_rdev),
		 minor(st->st_rdev));
	n = readlink(p, link, sizeof(link) - 1);
	if (n <= 0)
		return -ENOTSUP;
	link[n] = 0;
	if (!strstr(link, "/dax"))
		return -ENOTSUP;
	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/size", major(st->st_rdev), minor(st->st_rdev));
	f = fopen(p, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -EIO;
	*size = v;
	return 0;
}

static int pmem_probe(int fd, const void *p, unsigned int cls)
{
	const struct stat *st = p;
	uint64_t size;

	if (S_ISCHR(st->st_mode))
		return (cls == TFS_CLASS_PMEM || cls == TFS_CLASS_MAX) && devdax_size(st, &size) == 0;
	return cls == TFS_CLASS_PMEM && (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode));
}

static int map_device(struct tfs_io_dev *dev, struct pmem *m, int chr)
{
	void *addr;

	if (m->mode == TFS_PMEM_SHADOW) {
		addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev->d_fd, 0);
	} else {
		/* DAX only if the kernel promises synchronous page faults */
		addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE,
			    MAP_SHARED_VALIDATE | MAP_SYNC, dev->d_fd, 0);
		if (addr != MAP_FAILED) {
			m->mode = TFS_PMEM_CPU;
		} else if (errno == EOPNOTSUPP || errno == EINVAL) {
			addr = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev->d_fd, 0);
			/* device-dax has no page cache: always synchronous */
			m->mode = chr ? TFS_PMEM_CPU : TFS_PMEM_MSYNC;
		}
	}
	if (addr == MAP_FAILED)
		return -errno;
	dev->d_map = addr;
	return 0;
}

static int pmem_open(struct tfs_io_dev *dev)
{
	const char *shadow = getenv("TIERFS_PMEM_SHADOW");
	struct stat st;
	uint64_t size = 0;
	struct pmem *m;
	int ret;

	if (fstat(dev->d_fd, &st) < 0)
		return -errno;
	if (S_ISCHR(st.st_mode))
		ret = devdax_size(&st, &size);
	else if (S_ISBLK(st.st_mode))
		ret = ioctl(dev->d_fd, BLKGETSIZE64, &size) < 0 ? -errno : 0;
	else
		ret = (size = (uint64_t)st.st_size, 0);
	if (ret < 0)
		return ret;
	size &= ~(uint64_t)(TFS_BLOCK_SIZE - 1);
	if (size == 0)
		return -EINVAL;
	if (size > SIZE_MAX)
		return -EFBIG;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (__atomic_load_n(&flush_insn, __ATOMIC_RELAXED) < 0)
		__atomic_store_n(&flush_insn, detect_flush(), __ATOMIC_RELAXED);
	m->map_len = (size_t)size;
	m->mode = shadow && !strcmp(shadow, "1") && S_ISREG(st.st_mode) ? TFS_PMEM_SHADOW
									  : TFS_PMEM_MSYNC;
	ret = map_device(dev, m, S_ISCHR(st.st_mode));
	if (ret < 0) {
		free(m);
		return ret;
	}
	if (m->mode == TFS_PMEM_CPU && flush_insn == FLUSH_NONE) {
		/* a DAX mapping on a CPU we cannot flush: keep it correct */
		munmap(dev->d_map, m->map_len);
		dev->d_map = NULL;
		free(m);
		return -ENOTSUP;
	}
	dev->d_size = size;
	dev->d_priv = m;
	return 0;
}

static void pmem_close(struct tfs_io_dev *dev)
{
	struct pmem *m = pm(dev);

	if (!m)
		return;
	if (dev->d_map)
		munmap(dev->d_map, m->map_len);
	dev->d_map = NULL;
	dev->d_priv = NULL;
	free(m);
}

int tfs_pmem_persist(struct tfs_io_dev *dev, uint64_t off, size_t len)
{
	struct pmem *m = pm(dev);
	uint64_t lo, hi;
	long page;

	if (!m || off > dev->d_size || len > dev->d_size - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	lo = off & ~(uint64_t)(TFS_PMEM_LINE - 1);
	hi = (off + len + TFS_PMEM_LINE - 1) & ~(uint64_t)(TFS_PMEM_LINE - 1);
	switch (m->mode) {
	case TFS_PMEM_CPU:
		cpu_persist(dev->d_map + off, len);
		break;
	case TFS_PMEM_MSYNC:
		page = sysconf(_SC_PAGESIZE);
		lo = off & ~(uint64_t)(page - 1);
		if (msync(dev->d_map + lo, off + len - lo, MS_SYNC) < 0)
			return -errno;
		break;
	case TFS_PMEM_SHADOW:
		if (tfs_io_pwrite_full(dev->d_fd, dev->d_map + lo, hi - lo, lo) < 0)
			return -EIO;
		break;
	}
	__atomic_fetch_add(&m->persisted, hi - lo, __ATOMIC_RELAXED);
	return 0;
}

int tfs_pmem_store8(struct tfs_io_dev *dev, uint64_t off, uint64_t v)
{
	if (!pm(dev) || (off & 7) || off + 8 > dev->d_size)
		return -EINVAL;
	__atomic_store_n((uint64_t *)(void *)(dev->d_map + off), v, __ATOMIC_RELEASE);
	return tfs_pmem_persist(dev, off, 8);
}

int tfs_pmem_crash(struct tfs_io_dev *dev)
{
	struct pmem *m = pm(dev);

	if (!m || m->mode != TFS_PMEM_SHADOW)
		return -EINVAL;
	munmap(dev->d_map, m->map_len);
	dev->d_map = NULL;
	return map_device(dev, m, 0);
}

static int pmem_sync_io(struct tfs_io_dev *dev, struct tfs_io_req *req)
{
	if (req->r_op == TFS_IO_FLUSH) {
		/* every write was persisted before it completed; only order */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	}
	if (req->r_off > dev->d_size || req->r_len > dev->d_size - req->r_off)
		return -EIO;
	if (req->r_op == TFS_IO_READ) {
		memcpy(req->r_buf, dev->d_map + req->r_off, req->r_len);
		return 0;
	}
	memcpy(dev->d_map + req->r_off, req->r_buf, req->r_len);
	return tfs_pmem_persist(dev, req->r_off, req->r_len);
}

const struct tfs_io_ops tfs_pmem_ops = {
	.name = "pmem",
	.version = TFS_IO_OPS_VERSION,
	.flags = TFS_IO_BYTE,
	.probe = pmem_probe,
	.open = pmem_open,
	.close = pmem_close,
	.sync_io = pmem_sync_io,
};

/*
 * io/zbd_standin.c - a stand-in kernel for zoned block devices, for tests.
 *
 * The machines tierfs is tested on have no zoned block device support in
 * their kernel (no null_blk zoned mode, no zloop, no scsi_debug ZBC), so the
 * real zoned backend (backend_zns.c) could never run.  This file plays the
 * kernel's part instead, through the syscall table (syscall.c), and only
 * when the environment variable TIERFS_ZBD_STANDIN names an image file:
 *
 *   stat, fstat    the image is a block device (S_IFBLK, its own st_rdev,
 *                  size 0 as block devices report);
 *   read_attr      /sys/dev/block/MAJ:MIN/queue/{zoned,max_open_zones,
 *                  max_active_zones,chunk_sectors} of that device;
 *   ioctl          BLKGETSIZE64, BLKGETZONESZ, BLKGETNRZONES, BLKREPORTZONE
 *                  (with zone capacities), BLKRESETZONE, BLKOPENZONE,
 *                  BLKCLOSEZONE, BLKFINISHZONE on one zone, as blkdev does;
 *   pwrite         synchronous writes are checked against the zone rules;
 *   uring_submit   every read and write SQE aimed at the image is checked
 *                  before the real submit: a write off the write pointer,
 *                  past the capacity or into a FULL, READONLY or OFFLINE
 *                  zone, and a read of an OFFLINE zone, become a NOP whose
 *                  completion carries the error (IORING_NOP_INJECT_RESULT),
 *                  the way the block layer fails them.
 *
 * The rules are io/zone.c's, the ones the emulator enforces too.  The zone
 * table lives in IMG.zbd, mapped shared: every process (mkfs, the daemon,
 * fsck, a test's zonectl) sees one device, a SIGKILLed daemon leaves it as
 * the kernel would, and a test can turn a zone READONLY or OFFLINE, move a
 * write pointer or make resets fail while a pool is mounted.
 *
 * It is never active in a normal run: nothing is installed unless the
 * variable is set, and then only for that one image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/blkzoned.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "io.h"

#define SZ_MAGIC "TFSZBD01"
#define SECTOR 512u
#define SZ_MAJOR 259u	 /* blkext, where NVMe namespaces live */
#define SZ_MINOR 31337u
/* not in liburing 2.3's headers: a NOP completes with sqe->len as its
 * result (Linux 6.10 and later) */
#define SZ_NOP_INJECT_RESULT (1u << 0)

struct sz_hdr {
	char magic[8];
	uint32_t nr, max_open, max_active, pad;
	uint64_t zone_size, zone_cap;
};

/* the mapped state: header, struct tfs_zone[nr], uint32_t fail_reset[nr] */
static struct {
	pthread_mutex_t lock;
	int on;
	dev_t idev;
	ino_t ino;
	struct sz_hdr *h;
	size_t maplen;
	struct tfs_zoneset zs;
	uint32_t *fail_reset;
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	int (*stat)(const char *, struct stat *);
	int (*fstat)(int, struct stat *);
	int (*ioctl)(int, unsigned long, void *);
	ssize_t (*read_attr)(const char *, char *, size_t);
	int (*submit)(void *, unsigned int);
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t map_len(uint32_t nr)
{
	return sizeof(struct sz_hdr) + nr * (sizeof(struct tfs_zone) + sizeof(uint32_t));
}

static char *state_path(const char *img)
{
	size_t n = strlen(img);
	char *p = malloc(n + 5);

	if (p) {
		memcpy(p, img, n);
		memcpy(p + n, ".zbd", 5);
	}
	return p;
}

/* map IMG.zbd: 0 or -errno */
static int state_map(const char *img, struct sz_hdr **hp, size_t *lenp)
{
	char *sp = state_path(img);
	struct sz_hdr h, *m;
	struct stat st;
	int fd, ret;

	if (!sp)
		return -ENOMEM;
	fd = open(sp, O_RDWR | O_CLOEXEC);
	free(sp);
	if (fd < 0)
		return -errno;
	ret = -EINVAL;
	if (fstat(fd, &st) < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, SZ_MAGIC, 8) != 0 || h.nr == 0 || h.nr > (1u << 20) ||
	    (uint64_t)st.st_size < map_len(h.nr))
		goto out_close;
	m = mmap(NULL, map_len(h.nr), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	*hp = m;
	*lenp = map_len(h.nr);
	ret = 0;
out_close:
	close(fd);
	return ret;
}

static struct tfs_zone *zones_of(struct sz_hdr *h)
{
	return (struct tfs_zone *)(h + 1);
}

static uint32_t *fails_of(struct sz_hdr *h)
{
	return (uint32_t *)(zones_of(h) + h->nr);
}

int tfs_zbd_standin_create(const char *img, uint32_t nr, uint64_t zone_size, uint64_t zone_cap,
			   uint32_t max_open, uint32_t max_active)
{
	struct sz_hdr *h;
	struct tfs_zone *z;
	char *sp;
	size_t len;
	uint32_t i;
	int fd, ret;

	if (nr == 0 || nr > (1u << 20) || zone_size == 0 || (zone_size & (zone_size - 1)) ||
	    zone_size % SECTOR || zone_cap == 0 || zone_cap > zone_size || zone_cap % TFS_BLOCK_SIZE)
		return -EINVAL;
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)(nr * zone_size)) < 0 ? -errno : 0;
	close(fd);
	if (ret < 0)
		return ret;
	sp = state_path(img);
	if (!sp)
		return -ENOMEM;
	len = map_len(nr);
	fd = open(sp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(sp);
	if (fd < 0)
		return -errno;
	h = calloc(1, len);
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(h->magic, SZ_MAGIC, 8);
	h->nr = nr;
	h->max_open = max_open;
	h->max_active = max_active;
	h->zone_size = zone_size;
	h->zone_cap = zone_cap;
	z = zones_of(h);
	for (i = 0; i < nr; i++) {
		z[i].start = z[i].wp = i * zone_size;
		z[i].len = zone_size;
		z[i].cap = zone_cap;
		z[i].cond = TFS_ZC_EMPTY;
	}
	ret = tfs_io_pwrite_full(fd, h, len, 0);
	free(h);
	close(fd);
	return ret;
}

int tfs_zbd_standin_poke(const char *img, uint32_t zone, const char *what)
{
	struct sz_hdr *h;
	struct tfs_zone *z;
	size_t len;
	unsigned long long v;
	int ret;

	ret = state_map(img, &h, &len);
	if (ret < 0)
		return ret;
	ret = 0;
	if (zone >= h->nr) {
		ret = -EINVAL;
		goto out_unmap;
	}
	pthread_mutex_lock(&S.lock);
	z = &zones_of(h)[zone];
	if (!strcmp(what, "readonly")) {
		z->cond = TFS_ZC_READONLY;
	} else if (!strcmp(what, "offline")) {
		z->cond = TFS_ZC_OFFLINE;
	} else if (sscanf(what, "fail-reset=%llu", &v) == 1) {
		fails_of(h)[zone] = (uint32_t)v;
	} else if (sscanf(what, "wp=%llu", &v) == 1 && v * 1024 <= z->cap) {
		z->wp = z->start + v * 1024;
		z->cond = v == 0 ? TFS_ZC_EMPTY : z->wp == z->start + z->cap ? TFS_ZC_FULL : TFS_ZC_CLOSED;
	} else {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&S.lock);
out_unmap:
	munmap(h, len);
	return ret;
}

static int is_image(const struct stat *st)
{
	return S.on && st->st_dev == S.idev && st->st_ino == S.ino && S_ISREG(st->st_mode);
}

static int fd_is_image(int fd)
{
	struct stat st;

	return fd >= 0 && S.fstat(fd, &st) == 0 && is_image(&st);
}

static void as_blockdev(struct stat *st)
{
	st->st_mode = S_IFBLK | (st->st_mode & 07777);
	st->st_rdev = makedev(SZ_MAJOR, SZ_MINOR);
	st->st_size = 0;
	st->st_blksize = TFS_BLOCK_SIZE;
}

static int sz_stat(const char *path, struct stat *st)
{
	int ret = S.stat(path, st);

	if (ret == 0 && is_image(st))
		as_blockdev(st);
	return ret;
}

static int sz_fstat(int fd, struct stat *st)
{
	int ret = S.fstat(fd, st);

	if (ret == 0 && is_image(st))
		as_blockdev(st);
	return ret;
}

static ssize_t sz_read_attr(const char *path, char *buf, size_t len)
{
	char pre[64];
	const char *attr;
	int n;

	snprintf(pre, sizeof(pre), "/sys/dev/block/%u:%u/queue/", SZ_MAJOR, SZ_MINOR);
	if (strncmp(path, pre, strlen(pre)) != 0)
		return S.read_attr(path, buf, len);
	attr = path + strlen(pre);
	if (!strcmp(attr, "zoned"))
		n = snprintf(buf, len, "host-managed\n");
	else if (!strcmp(attr, "max_open_zones"))
		n = snprintf(buf, len, "%u\n", S.h->max_open);
	else if (!strcmp(attr, "max_active_zones"))
		n = snprintf(buf, len, "%u\n", S.h->max_active);
	else if (!strcmp(attr, "chunk_sectors"))
		n = snprintf(buf, len, "%llu\n", (unsigned long long)(S.h->zone_size / SECTOR));
	else {
		errno = ENOENT;
		return -1;
	}
	return n < 0 || (size_t)n >= len ? (errno = EINVAL, -1) : n;
}

/* the zone set as it is now (another process may have changed conditions):
 * pool lock held */
static struct tfs_zoneset *zoneset(void)
{
	S.zs.z = zones_of(S.h);
	S.zs.nr = S.h->nr;
	S.zs.max_open = S.h->max_open;
	S.zs.max_active = S.h->max_active;
	tfs_zoneset_recount(&S.zs);
	return &S.zs;
}

/* a write of [off, off+len) reaching the device: 0 or -errno */
static int check_write(uint64_t off, uint64_t len)
{
	uint32_t zone = (uint32_t)(off / S.h->zone_size);
	int ret;

	if (zone >= S.h->nr || len > S.h->zone_size - off % S.h->zone_size)
		return -EIO;
	pthread_mutex_lock(&S.lock);
	ret = tfs_zone_write(zoneset(), zone, off, len);
	pthread_mutex_unlock(&S.lock);
	return ret < 0 ? -EIO : 0; /* what the block layer returns */
}

static int check_read(uint64_t off)
{
	uint32_t zone = (uint32_t)(off / S.h->zone_size);

	if (zone >= S.h->nr)
		return -EIO;
	return zones_of(S.h)[zone].cond == TFS_ZC_OFFLINE ? -EIO : 0;
}

static ssize_t sz_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	int ret;

	if (!fd_is_image(fd))
		return S.pwrite(fd, buf, len, off);
	ret = check_write((uint64_t)off, len);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return S.pwrite(fd, buf, len, off);
}

static int report(struct blk_zone_report *rep)
{
	struct tfs_zone *z = zones_of(S.h);
	uint64_t zs = S.h->zone_size / SECTOR;
	uint32_t first = (uint32_t)(rep->sector / zs), i, n = 0;

	if (rep->sector % zs)
		return -EINVAL;
	pthread_mutex_lock(&S.lock);
	for (i = first; i < S.h->nr && n < rep->nr_zones; i++, n++) {
		struct blk_zone *b = &rep->zones[n];

		memset(b, 0, sizeof(*b));
		b->start = z[i].start / SECTOR;
		b->len = z[i].len / SECTOR;
		b->capacity = z[i].cap / SECTOR;
		b->wp = z[i].cond == TFS_ZC_FULL ? b->start + b->len : z[i].wp / SECTOR;
		b->type = BLK_ZONE_TYPE_SEQWRITE_REQ;
		b->cond = z[i].cond;
	}
	pthread_mutex_unlock(&S.lock);
	rep->nr_zones = n;
	rep->flags = BLK_ZONE_REP_CAPACITY;
	return 0;
}

static int mgmt(unsigned long cmd, const struct blk_zone_range *r)
{
	uint64_t zs = S.h->zone_size / SECTOR;
	uint32_t zone = (uint32_t)(r->sector / zs);
	unsigned int op;
	int ret;

	/* one whole zone at a time: all tierfs asks */
	if (r->sector % zs || r->nr_sectors != zs || zone >= S.h->nr)
		return -EINVAL;
	op = cmd == BLKRESETZONE ? TFS_ZONE_RESET
	     : cmd == BLKOPENZONE ? TFS_ZONE_OPEN
	     : cmd == BLKCLOSEZONE ? TFS_ZONE_CLOSE
				    : TFS_ZONE_FINISH;
	pthread_mutex_lock(&S.lock);
	if (op == TFS_ZONE_RESET && fails_of(S.h)[zone]) {
		fails_of(S.h)[zone]--;
		ret = -EIO;
	} else {
		ret = tfs_zone_mgmt(zoneset(), zone, op);
	}
	pthread_mutex_unlock(&S.lock);
	return ret < 0 ? -EIO : 0;
}

static int sz_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	if (!fd_is_image(fd))
		return S.ioctl(fd, req, arg);
	switch (req) {
	case BLKGETSIZE64:
		*(uint64_t *)arg = (uint64_t)S.h->nr * S.h->zone_size;
		return 0;
	case BLKGETZONESZ:
		*(uint32_t *)arg = (uint32_t)(S.h->zone_size / SECTOR);
		return 0;
	case BLKGETNRZONES:
		*(uint32_t *)arg = S.h->nr;
		return 0;
	case BLKREPORTZONE:
		ret = report(arg);
		break;
	case BLKRESETZONE:
	case BLKOPENZONE:
	case BLKCLOSEZONE:
	case BLKFINISHZONE:
		ret = mgmt(req, arg);
		break;
	default:
		ret = -ENOTTY;
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

static void fail_sqe(struct io_uring_sqe *sqe, int err)
{
	__u64 data = sqe->user_data;

	io_uring_prep_nop(sqe);
	sqe->rw_flags = SZ_NOP_INJECT_RESULT;
	sqe->len = (unsigned int)err;
	sqe->user_data = data;
}

/* the block layer's checks on what is about to be submitted */
static int sz_submit(void *p, unsigned int wait_nr)
{
	struct io_uring *ring = p;
	unsigned int i;

	for (i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++) {
		struct io_uring_sqe *sqe = &ring->sq.sqes[i & ring->sq.ring_mask];
		int ret = 0;

		if (sqe->opcode != IORING_OP_WRITE && sqe->opcode != IORING_OP_READ)
			continue;
		if ((sqe->flags & IOSQE_FIXED_FILE) || !fd_is_image(sqe->fd))
			continue;
		if (sqe->opcode == IORING_OP_WRITE)
			ret = check_write(sqe->off, sqe->len);
		else
			ret = check_read(sqe->off);
		if (ret < 0)
			fail_sqe(sqe, ret);
	}
	return S.submit(p, wait_nr);
}

/* does this kernel inject NOP results?  0 or -EOPNOTSUPP */
static int nop_inject_works(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int ret;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return -EOPNOTSUPP;
	fail_sqe(io_uring_get_sqe(&ring), -EIO);
	ret = io_uring_submit_and_wait(&ring, 1) < 0 || io_uring_peek_cqe(&ring, &cqe) < 0
		      ? -EOPNOTSUPP
		      : cqe->res == -EIO ? 0 : -EOPNOTSUPP;
	io_uring_queue_exit(&ring);
	return ret;
}

int tfs_zbd_standin_install(const char *img)
{
	struct stat st;
	int ret;

	pthread_mutex_lock(&S.lock);
	ret = S.on ? -EBUSY : stat(img, &st) < 0 ? -errno : state_map(img, &S.h, &S.maplen);
	if (ret == 0 && (uint64_t)st.st_size < (uint64_t)S.h->nr * S.h->zone_size)
		ret = -EINVAL;
	if (ret == 0)
		ret = nop_inject_works();
	if (ret < 0) {
		if (S.h && !S.on) {
			munmap(S.h, S.maplen);
			S.h = NULL;
		}
		pthread_mutex_unlock(&S.lock);
		return ret;
	}
	S.idev = st.st_dev;
	S.ino = st.st_ino;
	S.pwrite = tfs_syscall_default("pwrite");
	S.stat = tfs_syscall_default("stat");
	S.fstat = tfs_syscall_default("fstat");
	S.ioctl = tfs_syscall_default("ioctl");
	S.read_attr = tfs_syscall_default("read_attr");
	S.submit = tfs_syscall_default("uring_submit");
	S.on = 1;
	pthread_mutex_unlock(&S.lock);
	tfs_syscall_set("pwrite", sz_pwrite);
	tfs_syscall_set("stat", sz_stat);
	tfs_syscall_set("fstat", sz_fstat);
	tfs_syscall_set("ioctl", sz_ioctl);
	tfs_syscall_set("read_attr", sz_read_attr);
	tfs_syscall_set("uring_submit", sz_submit);
	return 0;
}

static int env_ret;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void env_install(void)
{
	const char *img = getenv("TIERFS_ZBD_STANDIN");

	if (!img || !*img)
		return;
	env_ret = tfs_zbd_standin_install(img);
	if (env_ret < 0)
		fprintf(stderr, "tierfs: TIERFS_ZBD_STANDIN=%s cannot be used: %s\n", img,
			env_ret == -EOPNOTSUPP ? "this kernel's io_uring cannot inject NOP results (Linux 6.10 or later)"
			: env_ret == -EINVAL	  ? "not a stand-in image (make one with zonectl IMG create)"
						  : strerror(-env_ret));
}

int tfs_zbd_standin_env(void)
{
	pthread_once(&env_once, env_install);
	return env_ret;
}

/*
 * io/backend_block.c - conventional block devices and regular files.
 *
 * The capacity tier.  Everything is addressed in bytes, transfers are
 * TFS_BLOCK_SIZE aligned so that the descriptor can be O_DIRECT: tierfs keeps
 * its own cache discipline (the kernel's page cache above FUSE) and must not
 * double-cache data below it.  A file system that refuses O_DIRECT (EINVAL at
 * open) gets a buffered descriptor; durability then still comes from
 * fdatasync in flush.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

static int block_probe(int fd, const void *p, unsigned int cls)
{
	const struct stat *st = p;

	(void)fd;
	if (cls != TFS_CLASS_BLOCK && cls != TFS_CLASS_MAX)
		return 0;
	/* a host-managed zoned device cannot be written in place */
	if (S_ISBLK(st->st_mode) && tfs_zbd_host_managed(st))
		return 0;
	return S_ISREG(st->st_mode) || S_ISBLK(st->st_mode);
}

static int block_open(struct tfs_io_dev *dev)
{
	struct stat st;
	uint64_t size = 0;
	int flags;

	if (tfs_sys_fstat(dev->d_fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (tfs_sys_ioctl(dev->d_fd, BLKGETSIZE64, &size) < 0)
			return -errno;
	} else {
		size = (uint64_t)st.st_size;
	}
	dev->d_size = size & ~(uint64_t)(TFS_BLOCK_SIZE - 1);

	/* switch the descriptor itself to O_DIRECT, so that the pool lock
	 * (flock) and the O_EXCL claim stay on one open file */
	flags = fcntl(dev->d_fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (fcntl(dev->d_fd, F_SETFL, flags | O_DIRECT) == 0) {
		dev->d_direct = 1;
		return 0;
	}
	dev->d_direct = 0; /* buffered: fdatasync still gives durability */
	return 0;
}

void tfs_block_prep(struct tfs_io_dev *dev, struct io_uring_sqe *sqe, struct tfs_io_req *req)
{
	char *buf = (char *)req->r_buf + req->r_done;
	unsigned int len = req->r_len - req->r_done;
	uint64_t off = req->r_off + req->r_done;

	if (req->r_op == TFS_IO_WRITE)
		io_uring_prep_write(sqe, dev->d_fd, buf, len, off);
	else
		io_uring_prep_read(sqe, dev->d_fd, buf, len, off);
}

void tfs_block_flush(struct tfs_io_dev *dev, struct io_uring_sqe *sqe)
{
	io_uring_prep_fsync(sqe, dev->d_fd, IORING_FSYNC_DATASYNC);
}

const struct tfs_io_ops tfs_block_ops = {
	.name = "block",
	.version = TFS_IO_OPS_VERSION,
	.flags = TFS_IO_DIRECT,
	.probe = block_probe,
	.open = block_open,
	.prep = tfs_block_prep,
	.flush = tfs_block_flush,
};

/* probed in order: the first that takes the path drives it */
static const struct tfs_io_ops *const backends[] = {
	&tfs_pmem_ops,
	&tfs_zns_ops,
	&tfs_zns_emu_ops,
	&tfs_block_ops,
};

static const char *const class_names[TFS_CLASS_MAX] = {
	[TFS_CLASS_PMEM] = "pmem",
	[TFS_CLASS_ZNS] = "zns",
	[TFS_CLASS_BLOCK] = "block",
	[TFS_CLASS_RADOS] = "rados",
};

const char *tfs_dev_class_str(unsigned int cls)
{
	return cls < TFS_CLASS_MAX ? class_names[cls] : "unknown";
}

int tfs_io_dev_open(struct tfs_io_dev *dev, const char *path, unsigned int cls)
{
	struct stat st;
	unsigned int i;
	int ret, oflags = O_RDWR | O_CLOEXEC;

	memset(dev, 0, offsetof(struct tfs_io_dev, d_path));
	dev->d_fd = -1;
	if (strlen(path) >= sizeof(dev->d_path))
		return -ENAMETOOLONG;
	strcpy(dev->d_path, path);
	if (tfs_rados_path(path)) {
		/* no file: the descriptor is a private placeholder, so that
		 * "open" means d_fd >= 0 for this device as for the others */
		if (cls != TFS_CLASS_RADOS && cls != TFS_CLASS_MAX)
			return -ENOTBLK;
		dev->d_fd = memfd_create("tierfs-rados", MFD_CLOEXEC);
		if (dev->d_fd < 0)
			return -errno;
		dev->d_ops = &tfs_rados_ops;
		dev->d_class = TFS_CLASS_RADOS;
		ret = dev->d_ops->open(dev);
		if (ret < 0)
			goto out_close_fd;
		return 0;
	}
	ret = tfs_zbd_standin_env();
	if (ret < 0)
		return ret;
	if (tfs_sys_stat(path, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		oflags |= O_EXCL;
	else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return -ENOTBLK;
	dev->d_fd = open(path, oflags);
	if (dev->d_fd < 0)
		return -errno;
	if (tfs_sys_fstat(dev->d_fd, &st) < 0) {
		ret = -errno;
		goto out_close_fd;
	}
	ret = -ENOTSUP;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (backends[i]->probe(dev->d_fd, &st, cls)) {
			dev->d_ops = backends[i];
			dev->d_class = cls != TFS_CLASS_MAX		      ? cls
				       : backends[i]->flags & TFS_IO_BYTE  ? TFS_CLASS_PMEM
				       : backends[i]->flags & TFS_IO_ZONED ? TFS_CLASS_ZNS
									   : TFS_CLASS_BLOCK;
			ret = dev->d_ops->open(dev);
			break;
		}
	}
	if (ret == -ENOTSUP && S_ISCHR(st.st_mode))
		ret = -ENOTBLK; /* a character device that is not DAX */
	if (ret < 0)
		goto out_close_fd;
	return 0;

out_close_fd:
	close(dev->d_fd);
	dev->d_fd = -1;
	dev->d_ops = NULL;
	return ret;
}

void tfs_io_dev_close(struct tfs_io_dev *dev)
{
	if (dev->d_fd < 0)
		return;
	if (dev->d_ops && dev->d_ops->close)
		dev->d_ops->close(dev);
	close(dev->d_fd);
	dev->d_fd = -1;
	dev->d_ops = NULL;
}

int tfs_io_dev_pread(struct tfs_io_dev *dev, void *buf, size_t len, uint64_t off)
{
	struct tfs_io_req req = { .r_dev = dev, .r_op = TFS_IO_READ };

	if (off > dev->d_size || len > dev->d_size - off)
		return -EINVAL;
	if (!dev->d_ops->sync_io)
		return tfs_io_pread_full(dev->d_fd, buf, len, off);
	req.r_buf = buf;
	req.r_len = (uint32_t)len;
	req.r_off = off;
	return dev->d_ops->sync_io(dev, &req);
}

int tfs_io_dev_pwrite(struct tfs_io_dev *dev, const void *buf, size_t len, uint64_t off)
{
	struct tfs_io_req req = { .r_dev = dev, .r_op = TFS_IO_WRITE };
	int ret;

	if (off > dev->d_size || len > dev->d_size - off)
		return -EINVAL;
	if (!dev->d_ops->sync_io) {
		ret = tfs_io_pwrite_full(dev->d_fd, buf, len, off);
		if (ret == 0)
			tfs_io_written(dev);
		return ret;
	}
	req.r_buf = (void *)buf;
	req.r_len = (uint32_t)len;
	req.r_off = off;
	return dev->d_ops->sync_io(dev, &req);
}

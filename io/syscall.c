/*
 * io/syscall.c - the syscalls tierfs' I/O goes through, overridable at run
 * time so that tests inject faults (EIO, ENOSPC, short transfers) without
 * hardware, and so that a stand-in kernel (zbd_standin.c) can play a zoned
 * block device: stat/fstat say what a path is, ioctl carries the blkzoned
 * commands, read_attr the sysfs attributes a backend reads.  Each entry keeps the current and the default implementation;
 * tfs_syscall_set(name, NULL) restores the default.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

typedef void (*tfs_syscall_ptr)(void);

static ssize_t def_pread(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off);
}

static ssize_t def_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

static int def_fdatasync(int fd)
{
	return fdatasync(fd);
}

static int def_uring_submit(void *ring, unsigned int wait_nr)
{
	return io_uring_submit_and_wait(ring, wait_nr);
}

static int def_stat(const char *path, struct stat *st)
{
	return stat(path, st);
}

static int def_fstat(int fd, struct stat *st)
{
	return fstat(fd, st);
}

static int def_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

/* a small text attribute (sysfs): NUL-terminated into @buf, returns its
 * length or -1 with errno set */
static ssize_t def_read_attr(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	buf[n] = 0;
	return n;
}

static struct tfs_syscall {
	const char *name;	  /* name of the call */
	tfs_syscall_ptr cur;	  /* what runs now */
	const tfs_syscall_ptr def; /* the real thing */
} syscalls[] = {
	{ "pread", (tfs_syscall_ptr)def_pread, (tfs_syscall_ptr)def_pread },
	{ "pwrite", (tfs_syscall_ptr)def_pwrite, (tfs_syscall_ptr)def_pwrite },
	{ "fdatasync", (tfs_syscall_ptr)def_fdatasync, (tfs_syscall_ptr)def_fdatasync },
	{ "uring_submit", (tfs_syscall_ptr)def_uring_submit, (tfs_syscall_ptr)def_uring_submit },
	{ "stat", (tfs_syscall_ptr)def_stat, (tfs_syscall_ptr)def_stat },
	{ "fstat", (tfs_syscall_ptr)def_fstat, (tfs_syscall_ptr)def_fstat },
	{ "ioctl", (tfs_syscall_ptr)def_ioctl, (tfs_syscall_ptr)def_ioctl },
	{ "read_attr", (tfs_syscall_ptr)def_read_attr, (tfs_syscall_ptr)def_read_attr },
};

enum { SYS_PREAD, SYS_PWRITE, SYS_FDATASYNC, SYS_URING_SUBMIT, SYS_STAT, SYS_FSTAT, SYS_IOCTL, SYS_READ_ATTR };

int tfs_syscall_set(const char *name, void *fn)
{
	size_t i;

	for (i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		if (strcmp(syscalls[i].name, name) == 0) {
			syscalls[i].cur = fn ? (tfs_syscall_ptr)fn : syscalls[i].def;
			return 0;
		}
	}
	return -ENOENT;
}

void *tfs_syscall_default(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (strcmp(syscalls[i].name, name) == 0)
			return (void *)syscalls[i].def;
	return NULL;
}

ssize_t tfs_sys_pread(int fd, void *buf, size_t len, off_t off)
{
	return ((ssize_t(*)(int, void *, size_t, off_t))syscalls[SYS_PREAD].cur)(fd, buf, len, off);
}

ssize_t tfs_sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return ((ssize_t(*)(int, const void *, size_t, off_t))syscalls[SYS_PWRITE].cur)(fd, buf, len, off);
}

int tfs_sys_fdatasync(int fd)
{
	return ((int (*)(int))syscalls[SYS_FDATASYNC].cur)(fd);
}

int tfs_sys_uring_submit(void *ring, unsigned int wait_nr)
{
	return ((int (*)(void *, unsigned int))syscalls[SYS_URING_SUBMIT].cur)(ring, wait_nr);
}

int tfs_sys_stat(const char *path, struct stat *st)
{
	/* the first look at a path is where a test's stand-in device appears */
	tfs_zbd_standin_env();
	return ((int (*)(const char *, struct stat *))syscalls[SYS_STAT].cur)(path, st);
}

int tfs_sys_fstat(int fd, struct stat *st)
{
	return ((int (*)(int, struct stat *))syscalls[SYS_FSTAT].cur)(fd, st);
}

int tfs_sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ((int (*)(int, unsigned long, void *))syscalls[SYS_IOCTL].cur)(fd, req, arg);
}

ssize_t tfs_sys_read_attr(const char *path, char *buf, size_t len)
{
	return ((ssize_t(*)(const char *, char *, size_t))syscalls[SYS_READ_ATTR].cur)(path, buf, len);
}

int tfs_io_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = tfs_sys_pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* short device */
		done += (size_t)n;
	}
	return 0;
}

int tfs_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = tfs_sys_pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

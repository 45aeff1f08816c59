/*
 * io/syscall.c - the syscalls tierfs' I/O goes through, overridable at run
 * time so that tests inject faults (EIO, ENOSPC, short transfers) without
 * hardware.  Each entry keeps the current and the default implementation;
 * tfs_syscall_set(name, NULL) restores the default.
 */
#include "config.h"

#include <errno.h>
#include <liburing.h>
#include <string.h>
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

static struct tfs_syscall {
	const char *name;	  /* name of the call */
	tfs_syscall_ptr cur;	  /* what runs now */
	const tfs_syscall_ptr def; /* the real thing */
} syscalls[] = {
	{ "pread", (tfs_syscall_ptr)def_pread, (tfs_syscall_ptr)def_pread },
	{ "pwrite", (tfs_syscall_ptr)def_pwrite, (tfs_syscall_ptr)def_pwrite },
	{ "fdatasync", (tfs_syscall_ptr)def_fdatasync, (tfs_syscall_ptr)def_fdatasync },
	{ "uring_submit", (tfs_syscall_ptr)def_uring_submit, (tfs_syscall_ptr)def_uring_submit },
};

enum { SYS_PREAD, SYS_PWRITE, SYS_FDATASYNC, SYS_URING_SUBMIT };

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

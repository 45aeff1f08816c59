/*
 * tests/integration/syscalls.c - POSIX behaviour of a mounted tierfs.
 *
 * Usage: syscalls DIR   (DIR: an empty directory on the mount)
 * Runs every check, prints "ok"/"not ok" per check, exits 1 if any failed.
 * Each check compares with what Linux local file systems do.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fails, checks;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		checks++;                                                                  \
		if (cond) {                                                                \
			printf("ok - " __VA_ARGS__);                                       \
		} else {                                                                   \
			fails++;                                                           \
			printf("not ok - " __VA_ARGS__);                                   \
			printf("   (line %d, errno %d %s)", __LINE__, errno, strerror(errno)); \
		}                                                                          \
		putchar('\n');                                                             \
	} while (0)

static int write_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static ssize_t read_file(const char *p, void *buf, size_t len)
{
	int fd = open(p, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

static ino_t ino_of(const char *p)
{
	struct stat st;

	return lstat(p, &st) ? 0 : st.st_ino;
}

static nlink_t nlink_of(const char *p)
{
	struct stat st;

	return lstat(p, &st) ? 0 : st.st_nlink;
}

static void test_basic_io(void)
{
	char buf[8192];
	struct stat st;
	int fd;

	CHECK(write_file("f1", "hello world", 11) == 0, "create and write");
	CHECK(read_file("f1", buf, sizeof(buf)) == 11 && !memcmp(buf, "hello world", 11),
	      "read back");
	fd = open("f1", O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "!!", 2) == 2, "O_APPEND write");
	close(fd);
	CHECK(read_file("f1", buf, sizeof(buf)) == 13 && !memcmp(buf + 11, "!!", 2),
	      "O_APPEND appended at the end");
	fd = open("f1", O_RDWR);
	CHECK(fd >= 0 && pwrite(fd, "HE", 2, 0) == 2, "overwrite in place");
	close(fd);
	CHECK(read_file("f1", buf, sizeof(buf)) == 13 && !memcmp(buf, "HEllo", 5),
	      "overwrite visible");
	fd = open("f1", O_WRONLY | O_TRUNC);
	close(fd);
	CHECK(stat("f1", &st) == 0 && st.st_size == 0, "O_TRUNC empties");
	fd = open("f1", O_CREAT | O_EXCL | O_WRONLY, 0600);
	CHECK(fd < 0 && errno == EEXIST, "O_EXCL on existing file: EEXIST");
	if (fd >= 0)
		close(fd);
	/* odd sizes and offsets across block and chunk edges */
	{
		static char big[700000], back[700000];
		size_t i;

		for (i = 0; i < sizeof(big); i++)
			big[i] = (char)(i * 7 + i / 4093);
		fd = open("odd", O_RDWR | O_CREAT, 0644);
		CHECK(fd >= 0 && pwrite(fd, big, sizeof(big), 4095) == (ssize_t)sizeof(big),
		      "unaligned 700000-byte write at 4095");
		CHECK(fsync(fd) == 0, "fsync");
		CHECK(fdatasync(fd) == 0, "fdatasync");
		CHECK(pread(fd, back, sizeof(back), 4095) == (ssize_t)sizeof(back) &&
			      !memcmp(big, back, sizeof(big)),
		      "read back across chunk boundaries");
		CHECK(pread(fd, back, 4095, 0) == 4095 && back[0] == 0 && back[4094] == 0,
		      "the gap before it reads as zeros");
		close(fd);
	}
}

static void test_direct_io(void)
{
	size_t sizes[] = { 4096, 1 << 20 };
	unsigned int i;
	int fd;

	fd = open("direct", O_RDWR | O_CREAT | O_DIRECT, 0644);
	CHECK(fd >= 0, "open O_DIRECT");
	if (fd < 0)
		return;
	for (i = 0; i < 2; i++) {
		void *w = NULL, *r = NULL;
		size_t k;

		if (posix_memalign(&w, 4096, sizes[i]) || posix_memalign(&r, 4096, sizes[i]))
			break;
		for (k = 0; k < sizes[i]; k++)
			((char *)w)[k] = (char)(k ^ i ^ 0x5a);
		CHECK(pwrite(fd, w, sizes[i], (off_t)(i * 8192)) == (ssize_t)sizes[i],
		      "O_DIRECT write of %zu bytes", sizes[i]);
		CHECK(pread(fd, r, sizes[i], (off_t)(i * 8192)) == (ssize_t)sizes[i] &&
			      !memcmp(w, r, sizes[i]),
		      "O_DIRECT read of %zu bytes", sizes[i]);
		free(w);
		free(r);
	}
	close(fd);
}

static void test_sparse_large(void)
{
	const off_t far = 5LL << 30; /* past 4 GiB */
	char buf[16];
	struct stat st;
	off_t o;
	int fd;

	fd = open("sparse", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0 && pwrite(fd, "tail", 4, far) == 4, "write at 5 GiB");
	CHECK(fstat(fd, &st) == 0 && st.st_size == far + 4, "size past 4 GiB");
	CHECK(st.st_blocks <= 64, "sparse file allocates only what was written (%lld blocks)",
	      (long long)st.st_blocks);
	CHECK(pread(fd, buf, 4, far) == 4 && !memcmp(buf, "tail", 4), "read back at 5 GiB");
	CHECK(pread(fd, buf, 8, 1 << 30) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8),
	      "hole reads as zeros");
	/* with the writeback cache, SEEK_DATA/SEEK_HOLE see data the kernel has
	 * written back (FUSE sends no writeback before LSEEK): fsync first */
	CHECK(fsync(fd) == 0, "fsync before SEEK_DATA");
	o = lseek(fd, 0, SEEK_DATA);
	CHECK(o == (far & ~4095LL), "SEEK_DATA finds the data block (%lld)", (long long)o);
	o = lseek(fd, 0, SEEK_HOLE);
	CHECK(o == 0, "SEEK_HOLE at 0 is 0 (%lld)", (long long)o);
	o = lseek(fd, far, SEEK_HOLE);
	CHECK(o == far + 4, "SEEK_HOLE in the last data is EOF (%lld)", (long long)o);
	o = lseek(fd, far + 8, SEEK_DATA);
	CHECK(o < 0 && errno == ENXIO, "SEEK_DATA past EOF: ENXIO");
	CHECK(ftruncate(fd, 100) == 0 && fstat(fd, &st) == 0 && st.st_size == 100 &&
		      st.st_blocks == 0,
	      "truncate down frees the far data");
	CHECK(ftruncate(fd, 10000) == 0 && pread(fd, buf, 8, 200) == 8 &&
		      !memcmp(buf, "\0\0\0\0\0\0\0\0", 8),
	      "truncate up reads zeros");
	close(fd);
}

/*
 * The same through O_DIRECT (no page cache: every write and read reaches the
 * file system as issued): the bytes a shrink cut off must read as zeros when
 * a write past the end, a truncate up or a fallocate brings them back.
 */
static void tail_direct(void)
{
	static const char *const how[] = { "unaligned write past the end in the same block",
					   "write in a later block", "truncate up", "fallocate" };
	char *buf, z[4096];
	unsigned int i;
	int fd;

	memset(z, 0, sizeof(z));
	if (posix_memalign((void **)&buf, 4096, 16384))
		return;
	for (i = 0; i < 4; i++) {
		fd = open("trunc-direct", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
		memset(buf, 'x', 8192);
		CHECK(fd >= 0 && pwrite(fd, buf, 8192, 0) == 8192 && ftruncate(fd, 5000) == 0,
		      "O_DIRECT: write 8 KiB, shrink to 5000 (%s)", how[i]);
		switch (i) {
		case 0:
			CHECK(pwrite(fd, "y", 1, 7000) == 1, "O_DIRECT: 1 byte at 7000");
			break;
		case 1:
			CHECK(pwrite(fd, "y", 1, 12000) == 1, "O_DIRECT: 1 byte at 12000");
			break;
		case 2:
			CHECK(ftruncate(fd, 12000) == 0, "truncate up to 12000");
			break;
		default:
			CHECK(fallocate(fd, 0, 0, 12000) == 0, "fallocate to 12000");
			break;
		}
		memset(buf, 0x55, 16384);
		CHECK(pread(fd, buf, 16384, 0) >= 7001 && buf[4999] == 'x' &&
		      !memcmp(buf + 5000, z, 2000) && (i != 0 || buf[7000] == 'y') &&
		      (i == 0 || !memcmp(buf + 5000, z, 3192)),
		      "O_DIRECT: the bytes cut off read as zeros after the %s", how[i]);
		close(fd);
	}
	unlink("trunc-direct");
	free(buf);
}

static void test_truncate_tail(void)
{
	char buf[8192], z[8192];
	int fd;

	memset(buf, 'x', sizeof(buf));
	memset(z, 0, sizeof(z));
	fd = open("trunc", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, buf, 8192) == 8192, "write 8 KiB");
	CHECK(ftruncate(fd, 5000) == 0 && ftruncate(fd, 8192) == 0, "shrink to 5000, grow again");
	CHECK(pread(fd, buf, 8192, 0) == 8192 && buf[4999] == 'x' && !memcmp(buf + 5000, z, 3192),
	      "bytes cut by truncate come back as zeros");
	close(fd);
	tail_direct();
}

static void test_fallocate(void)
{
	char buf[65536];
	struct stat st;
	off_t o;
	int fd;

	fd = open("falloc", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0 && fallocate(fd, 0, 0, 1 << 20) == 0, "fallocate default mode");
	CHECK(fstat(fd, &st) == 0 && st.st_size == 1 << 20, "fallocate extends the size");
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) == 0 && fstat(fd, &st) == 0 &&
		      st.st_size == 1 << 20,
	      "fallocate KEEP_SIZE keeps the size");
	memset(buf, 'd', sizeof(buf));
	CHECK(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf), "write 64 KiB");
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192) == 0,
	      "punch hole");
	CHECK(pread(fd, buf, 16384, 0) == 16384 && buf[4095] == 'd' && buf[4096] == 0 &&
		      buf[12287] == 0 && buf[12288] == 'd',
	      "punched range reads zeros, edges kept");
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 20000, 100) == 0 &&
		      pread(fd, buf, 200, 19950) == 200 && buf[49] == 'd' && buf[50] == 0 &&
		      buf[149] == 0 && buf[150] == 'd',
	      "unaligned punch inside a block");
	CHECK(fsync(fd) == 0, "fsync before SEEK_DATA");
	o = lseek(fd, 4096, SEEK_DATA);
	CHECK(o == 12288, "SEEK_DATA skips the punched hole (%lld)", (long long)o);
	o = lseek(fd, 0, SEEK_HOLE);
	CHECK(o == 4096, "SEEK_HOLE finds the punched hole (%lld)", (long long)o);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 1 << 20, "punch keeps the size");
	CHECK(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 65536) < 0 && errno == EOPNOTSUPP,
	      "unsupported fallocate mode: EOPNOTSUPP");
	close(fd);
}

static void test_links(void)
{
	struct stat st;
	char buf[64];
	int fd;

	write_file("l1", "data", 4);
	CHECK(link("l1", "l2") == 0 && nlink_of("l1") == 2, "link: nlink 2 at once");
	CHECK(ino_of("l1") == ino_of("l2"), "both names, one inode");
	CHECK(unlink("l1") == 0 && nlink_of("l2") == 1, "unlink: nlink 1 at once");
	fd = open("l2", O_RDONLY);
	CHECK(unlink("l2") == 0, "unlink an open file");
	CHECK(fd >= 0 && pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "data", 4),
	      "data readable until the last close");
	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0, "fstat of unlinked file: nlink 0");
	close(fd);
	CHECK(symlink("target-of-link", "sl") == 0, "symlink");
	CHECK(readlink("sl", buf, sizeof(buf)) == 14 && !memcmp(buf, "target-of-link", 14),
	      "readlink");
	CHECK(lstat("sl", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 14, "lstat symlink");
	CHECK(symlink("loop2", "loop1") == 0 && symlink("loop1", "loop2") == 0, "symlink loop");
	fd = open("loop1", O_RDONLY);
	CHECK(fd < 0 && errno == ELOOP, "open through a loop: ELOOP");
	CHECK(mkdir("ldir", 0755) == 0 && link("ldir", "ldir2") < 0 && errno == EPERM,
	      "hard link to a directory: EPERM");
}

static void test_dirs(void)
{
	struct stat st, st2;
	int fd;

	CHECK(mkdir("d", 0755) == 0 && nlink_of("d") == 2, "mkdir: nlink 2");
	CHECK(mkdir("d/sub", 0700) == 0 && nlink_of("d") == 3, "subdir: parent nlink 3");
	CHECK(mkdir("d", 0755) < 0 && errno == EEXIST, "mkdir existing: EEXIST");
	write_file("d/sub/f", "x", 1);
	CHECK(rmdir("d/sub") < 0 && errno == ENOTEMPTY, "rmdir non-empty: ENOTEMPTY");
	CHECK(rmdir("d/sub/f") < 0 && errno == ENOTDIR, "rmdir a file: ENOTDIR");
	CHECK(unlink("d/sub") < 0 && errno == EISDIR, "unlink a dir: EISDIR");
	CHECK(stat("d/sub/..", &st) == 0 && stat("d", &st2) == 0 && st.st_ino == st2.st_ino,
	      "inode of d the same by name and through ..");
	CHECK(unlink("d/sub/f") == 0 && rmdir("d/sub") == 0 && nlink_of("d") == 2,
	      "rmdir: parent nlink back to 2");
	fd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0 && fsync(fd) == 0, "fsync of a directory");
	close(fd);
}

static void test_rename(void)
{
	char buf[16];
	ino_t i;

	write_file("ra", "A", 1);
	write_file("rb", "B", 1);
	i = ino_of("ra");
	CHECK(rename("ra", "rb") == 0 && ino_of("rb") == i && access("ra", F_OK) < 0,
	      "rename over an existing file");
	CHECK(read_file("rb", buf, 4) == 1 && buf[0] == 'A', "content follows the name");
	write_file("rc", "C", 1);
	CHECK(renameat2(AT_FDCWD, "rc", AT_FDCWD, "rb", RENAME_NOREPLACE) < 0 && errno == EEXIST,
	      "RENAME_NOREPLACE over existing: EEXIST");
	CHECK(renameat2(AT_FDCWD, "rc", AT_FDCWD, "rd", RENAME_NOREPLACE) == 0, "RENAME_NOREPLACE");
	CHECK(renameat2(AT_FDCWD, "rb", AT_FDCWD, "rd", RENAME_EXCHANGE) == 0 &&
		      read_file("rb", buf, 4) == 1 && buf[0] == 'C' && read_file("rd", buf, 4) == 1 &&
		      buf[0] == 'A',
	      "RENAME_EXCHANGE swaps");
	CHECK(mkdir("rdir", 0755) == 0 && mkdir("rdir/in", 0755) == 0 && mkdir("rdir2", 0755) == 0,
	      "dirs for rename");
	i = ino_of("rdir/in");
	CHECK(rename("rdir/in", "rdir2/in") == 0 && ino_of("rdir2/in") == i,
	      "dir rename keeps its inode");
	CHECK(nlink_of("rdir") == 2 && nlink_of("rdir2") == 3, "parent link counts follow");
	{
		struct stat a, b;

		CHECK(stat("rdir2/in/..", &a) == 0 && stat("rdir2", &b) == 0 && a.st_ino == b.st_ino,
		      ".. of a moved dir is its new parent");
	}
	CHECK(rename("rdir2", "rdir2/in/x") < 0 && errno == EINVAL,
	      "moving a dir into itself: EINVAL");
	write_file("rdir/f", "x", 1);
	CHECK(rename("rdir2", "rdir") < 0 && errno == ENOTEMPTY, "rename over non-empty dir");
	unlink("rdir/f");
	CHECK(rename("rdir2", "rdir") == 0 && ino_of("rdir/in") == i,
	      "rename dir over an empty dir");
	CHECK(rename("rb", "rdir") < 0 && errno == EISDIR, "file over dir: EISDIR");
	CHECK(rename("rdir", "rb") < 0 && errno == ENOTDIR, "dir over file: ENOTDIR");
	CHECK(rename("nothere", "x") < 0 && errno == ENOENT, "rename missing: ENOENT");
}

static void test_names(void)
{
	char name[300], path[PATH_MAX + 16];
	size_t len;
	int fd;

	memset(name, 'n', 255);
	name[255] = 0;
	fd = open(name, O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0, "255-byte name");
	if (fd >= 0)
		close(fd);
	memset(name, 'n', 256);
	name[256] = 0;
	fd = open(name, O_CREAT | O_WRONLY, 0644);
	CHECK(fd < 0 && errno == ENAMETOOLONG, "256-byte name: ENAMETOOLONG");
	CHECK(mkdir(name, 0755) < 0 && errno == ENAMETOOLONG, "mkdir 256-byte name");
	/* a path near PATH_MAX: nested 200-byte directories */
	memset(name, 'p', 200);
	name[200] = 0;
	if (mkdir("deep", 0755) == 0 && chdir("deep") == 0) {
		int depth = 0, ok = 1;

		len = strlen(getcwd(path, sizeof(path)) ? path : "");
		while (len + 201 < PATH_MAX - 10 && ok) {
			ok = mkdir(name, 0755) == 0 && chdir(name) == 0;
			len += 201;
			depth++;
		}
		CHECK(ok, "nested to %zu bytes of path", len);
		CHECK(write_file("leaf", "z", 1) == 0, "create a file near PATH_MAX");
		while (depth-- > 0)
			if (chdir("..") < 0)
				break;
		CHECK(chdir("..") == 0, "back up");
	}
	{
		char target[5000];

		memset(target, 't', 4095);
		target[4095] = 0;
		CHECK(symlink(target, "longlink") == 0, "symlink with 4095-byte target");
		target[4095] = 't';
		target[4096] = 0;
		CHECK(symlink(target, "longlink2") < 0 && errno == ENAMETOOLONG,
		      "symlink with 4096-byte target: ENAMETOOLONG");
	}
}

static void test_xattr(void)
{
	char name[300], buf[256];
	ssize_t n;

	write_file("xf", "x", 1);
	CHECK(setxattr("xf", "user.a", "12345", 5, XATTR_CREATE) == 0, "setxattr create");
	CHECK(setxattr("xf", "user.a", "1", 1, XATTR_CREATE) < 0 && errno == EEXIST,
	      "XATTR_CREATE existing: EEXIST");
	CHECK(setxattr("xf", "user.b", "1", 1, XATTR_REPLACE) < 0 && errno == ENODATA,
	      "XATTR_REPLACE missing: ENODATA");
	CHECK(getxattr("xf", "user.a", NULL, 0) == 5, "getxattr size query");
	CHECK(getxattr("xf", "user.a", buf, 2) < 0 && errno == ERANGE, "getxattr small buf: ERANGE");
	CHECK(getxattr("xf", "user.a", buf, sizeof(buf)) == 5 && !memcmp(buf, "12345", 5),
	      "getxattr value");
	CHECK(setxattr("xf", "user.a", "xy", 2, XATTR_REPLACE) == 0 &&
		      getxattr("xf", "user.a", buf, sizeof(buf)) == 2,
	      "XATTR_REPLACE");
	CHECK(setxattr("xf", "user.empty", "", 0, 0) == 0 && getxattr("xf", "user.empty", buf, 10) == 0,
	      "empty value");
	strcpy(name, "user.");
	memset(name + 5, 'L', 250);
	name[255] = 0;
	CHECK(setxattr("xf", name, "long", 4, 0) == 0 &&
		      getxattr("xf", name, buf, sizeof(buf)) == 4 && !memcmp(buf, "long", 4),
	      "255-byte xattr name round trip");
	n = listxattr("xf", NULL, 0);
	CHECK(n == 7 + 11 + 256, "listxattr size (%zd)", n);
	CHECK(listxattr("xf", buf, 4) < 0 && errno == ERANGE, "listxattr small buf: ERANGE");
	CHECK(removexattr("xf", "user.a") == 0 && getxattr("xf", "user.a", buf, 10) < 0 &&
		      errno == ENODATA,
	      "removexattr");
	CHECK(removexattr("xf", "user.a") < 0 && errno == ENODATA, "removexattr missing: ENODATA");
}

static void test_attrs(void)
{
	struct timespec ts[2];
	struct stat st, st2;

	write_file("af", "x", 1);
	CHECK(chmod("af", 04751) == 0 && stat("af", &st) == 0 && (st.st_mode & 07777) == 04751,
	      "chmod keeps all mode bits");
	CHECK(chown("af", 1234, 5678) == 0 && stat("af", &st) == 0 && st.st_uid == 1234 &&
		      st.st_gid == 5678,
	      "chown stores uid/gid as given");
	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1500000000;
	ts[1].tv_nsec = 987654321;
	CHECK(utimensat(AT_FDCWD, "af", ts, 0) == 0 && stat("af", &st) == 0 &&
		      st.st_atim.tv_sec == ts[0].tv_sec && st.st_atim.tv_nsec == ts[0].tv_nsec &&
		      st.st_mtim.tv_sec == ts[1].tv_sec && st.st_mtim.tv_nsec == ts[1].tv_nsec,
	      "utimensat with nanoseconds");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	CHECK(utimensat(AT_FDCWD, "af", ts, 0) == 0 && stat("af", &st2) == 0 &&
		      st2.st_atim.tv_sec == st.st_atim.tv_sec && st2.st_mtim.tv_sec > 1600000000,
	      "UTIME_OMIT keeps atime, UTIME_NOW sets mtime");
	CHECK(truncate("af", 0) == 0 && stat("af", &st) == 0 && st.st_size == 0, "truncate(2)");
	{
		struct stat d1, d2;

		stat(".", &d1);
		usleep(20000);
		write_file("af-new", "", 0);
		stat(".", &d2);
		CHECK(d2.st_mtim.tv_sec > d1.st_mtim.tv_sec ||
			      (d2.st_mtim.tv_sec == d1.st_mtim.tv_sec &&
			       d2.st_mtim.tv_nsec > d1.st_mtim.tv_nsec),
		      "create updates the directory mtime");
	}
}

static void test_special(void)
{
	struct sockaddr_un sa;
	struct stat st;
	int s;

	CHECK(mkfifo("fifo", 0644) == 0 && stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode), "mkfifo");
	CHECK(mknod("chr", S_IFCHR | 0600, makedev(1, 3)) == 0 && stat("chr", &st) == 0 &&
		      S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
	      "mknod character device");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, "sock");
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && stat("sock", &st) == 0 &&
		      S_ISSOCK(st.st_mode),
	      "unix socket node");
	if (s >= 0)
		close(s);
}

static void test_copy_range_mmap(void)
{
	char buf[200000], back[200000];
	loff_t in = 0, out = 1000;
	ssize_t n;
	size_t i;
	char *p;
	int a, b;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i % 251);
	write_file("cs", buf, sizeof(buf));
	a = open("cs", O_RDONLY);
	b = open("cd", O_RDWR | O_CREAT, 0644);
	n = copy_file_range(a, &in, b, &out, sizeof(buf), 0);
	CHECK(n == (ssize_t)sizeof(buf), "copy_file_range (%zd)", n);
	CHECK(pread(b, back, sizeof(back), 1000) == (ssize_t)sizeof(back) &&
		      !memcmp(buf, back, sizeof(buf)),
	      "copied bytes identical");
	close(a);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	CHECK(p != MAP_FAILED, "shared writable mmap");
	if (p != MAP_FAILED) {
		memcpy(p + 10, "MMAP", 4);
		CHECK(msync(p, 8192, MS_SYNC) == 0, "msync");
		munmap(p, 8192);
		CHECK(pread(b, back, 4, 10) == 4 && !memcmp(back, "MMAP", 4), "mmap write reaches the file");
	}
	close(b);
}

static void test_statfs(void)
{
	struct statvfs sv;

	CHECK(statvfs(".", &sv) == 0 && sv.f_blocks > 0 && sv.f_bfree <= sv.f_blocks &&
		      sv.f_namemax == 255,
	      "statvfs");
}

static void test_readdir(void)
{
	int seen[50] = { 0 }, dot = 0, dotdot = 0, i, ok = 1;
	struct dirent *de;
	char name[32];
	DIR *d;

	mkdir("rdlist", 0755);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "rdlist/e%d", i);
		write_file(name, "", 0);
	}
	d = opendir("rdlist");
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, "."))
			dot++;
		else if (!strcmp(de->d_name, ".."))
			dotdot++;
		else if (sscanf(de->d_name, "e%d", &i) == 1 && i >= 0 && i < 50) {
			seen[i]++;
			snprintf(name, sizeof(name), "rdlist/e%d", i);
			if (de->d_ino != ino_of(name))
				ok = 0;
		}
	}
	if (d)
		closedir(d);
	for (i = 0; i < 50; i++)
		ok = ok && seen[i] == 1;
	CHECK(ok && dot == 1 && dotdot == 1, "readdir lists each entry once with its inode");
}

/* a child's view of a byte range: 0 free, 1 locked by @owner, -1 error */
static int probe_lock(const char *path, off_t start, off_t len, pid_t owner)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(path, O_RDWR), r;

		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		if (fl.l_type == F_UNLCK)
			r = fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
								   .l_start = start, .l_len = len }) == 0 ? 0 : 2;
		else
			r = fl.l_pid == owner &&
			    fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
								.l_start = start, .l_len = len }) < 0 &&
			    (errno == EAGAIN || errno == EACCES) ? 1 : 2;
		_exit(r);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st) == 2 ? -1 : WEXITSTATUS(st);
}

/* POSIX record locks between processes, as on a local file system */
static void test_posix_locks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	int fd = open("plock", O_RDWR | O_CREAT, 0644);

	CHECK(fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0, "POSIX lock of bytes 0-99");
	CHECK(probe_lock("plock", 50, 10, getpid()) == 1,
	      "another process sees the holder and cannot lock 50-59");
	CHECK(probe_lock("plock", 200, 100, getpid()) == 0, "another process locks 200-299");
	fl.l_type = F_UNLCK;
	CHECK(fcntl(fd, F_SETLK, &fl) == 0 && probe_lock("plock", 50, 10, getpid()) == 0,
	      "after unlock, the range is free");
	close(fd);
	unlink("plock");
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: syscalls DIR\n");
		return 2;
	}
	umask(022);
	test_basic_io();
	test_direct_io();
	test_sparse_large();
	test_truncate_tail();
	test_fallocate();
	test_links();
	test_dirs();
	test_rename();
	test_names();
	test_xattr();
	test_attrs();
	test_special();
	test_copy_range_mmap();
	test_statfs();
	test_readdir();
	test_posix_locks();
	printf("%d checks, %d failed\n", checks, fails);
	return fails ? 1 : 0;
}

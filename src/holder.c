/*
 * src/holder.c - who holds a device's pool lock.
 *
 * A running daemon holds an exclusive flock on every device of its pool
 * (pool.c).  mkfs.tierfs, fsck.tierfs and a second mount use this to name
 * the holder in their refusal: the process from /proc/locks, and the mount
 * point from /proc/self/mountinfo (a tierfs mount whose source is one of
 * the pool's devices, as its superblock records them).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tfs.h"

/* the pid holding an flock on the file @st names, or 0 */
static long lock_pid(const struct stat *st)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	long pid = 0;

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long ino;
		char type[16];
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters
		 * ("1: -> FLOCK ...") hold nothing */
		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &p, &maj, &min, &ino) != 5)
			continue;
		if (strcmp(type, "FLOCK") || ino != (unsigned long)st->st_ino ||
		    maj != major(st->st_dev) || min != minor(st->st_dev))
			continue;
		pid = p;
	}
	fclose(f);
	return pid;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

static int same_file(const char *a, const struct stat *sb)
{
	struct stat sa;

	if (stat(a, &sa) < 0)
		return 0;
	if (S_ISBLK(sa.st_mode) && S_ISBLK(sb->st_mode))
		return sa.st_rdev == sb->st_rdev;
	return sa.st_dev == sb->st_dev && sa.st_ino == sb->st_ino;
}

/* the mount point of the tierfs mount whose source is one of @sb's
 * devices (or @st itself), into @mnt; 0 when found */
static int pool_mount(const struct tfs_sb *sb, const struct stat *st, char *mnt, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return -errno;
	while (!found && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), *fields[5], *save = NULL, *fstype, *src;
		unsigned int i;

		if (!sep)
			continue;
		*sep = 0;
		fstype = strtok_r(sep + 3, " \n", &save);
		src = strtok_r(NULL, " \n", &save);
		if (!fstype || !src || strcmp(fstype, "fuse.tierfs"))
			continue;
		save = NULL;
		for (i = 0; i < 5; i++)
			fields[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!fields[4])
			continue;
		unescape(src);
		found = same_file(src, st);
		for (i = 0; sb && !found && i < sb->s_ndev && i < TFS_MAX_DEVS; i++) {
			struct stat ds;

			found = stat(sb->s_dev[i].sd_path, &ds) == 0 && same_file(src, &ds);
		}
		if (found) {
			unescape(fields[4]);
			snprintf(mnt, len, "%s", fields[4]);
		}
	}
	free(line);
	fclose(f);
	return found ? 0 : -ENOENT;
}

int tfs_dev_holder(int fd, const char *path, char *msg, size_t len)
{
	struct tfs_io_dev dev;
	struct tfs_sb sb;
	struct stat st;
	char mnt[PATH_MAX], comm[64] = "";
	int have_sb = 0, mounted;
	long pid;

	if (fstat(fd, &st) < 0) {
		snprintf(msg, len, "another process");
		return 0;
	}
	pid = lock_pid(&st);
	if (pid > 0) {
		char p[64];
		FILE *f;

		snprintf(p, sizeof(p), "/proc/%ld/comm", pid);
		f = fopen(p, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		/* the lock records the process that took it: a daemon that took
		 * it before detaching shows its parent, gone since */
		if (!comm[0])
			pid = 0;
	}
	if (tfs_io_dev_open(&dev, path, TFS_CLASS_MAX) == 0) {
		have_sb = tfs_sb_read(&dev, &sb, 0) == 0;
		tfs_io_dev_close(&dev);
	} else if (S_ISBLK(st.st_mode)) {
		/* claimed (O_EXCL) by its daemon: the superblock's first copy
		 * through a plain descriptor */
		uint8_t *buf = malloc(TFS_SB_SIZE);

		if (buf && pread(fd, buf, TFS_SB_SIZE, 0) == TFS_SB_SIZE)
			have_sb = tfs_sb_decode(&sb, buf) == 0;
		free(buf);
	}
	mounted = pool_mount(have_sb ? &sb : NULL, &st, mnt, sizeof(mnt)) == 0;
	if (mounted && pid > 0)
		snprintf(msg, len, "the tierfs pool mounted on %s (%s pid %ld)", mnt,
			 comm[0] ? comm : "process", pid);
	else if (mounted)
		snprintf(msg, len, "the tierfs pool mounted on %s", mnt);
	else if (pid > 0)
		snprintf(msg, len, "%s pid %ld", comm[0] ? comm : "process", pid);
	else
		snprintf(msg, len, "another process");
	return mounted;
}

int tfs_dev_claim(const char *path, char *msg, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		int e = errno;

		close(fd);
		return -e;
	}
	tfs_dev_holder(fd, path, msg, len);
	close(fd);
	return -EBUSY;
}

/*
 * src/config.c - tierfs.conf(5): a pool's mount options and tiering policy
 * in a file, one KEY = VALUE (or a bare flag) per line, '#' to the end of a
 * line is a comment.  Found by -o config=PATH, else as UUID.conf or
 * LABEL.conf in $TIERFS_CONFDIR (default /etc/tierfs).  The daemon reads it
 * before the command line's options, which override it; tierfsctl policy
 * --save writes policy changes back (each key's line replaced, new keys
 * appended, the file replaced by rename).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"

static const char *conf_dir(void)
{
	const char *d = getenv("TIERFS_CONFDIR");

	return d && *d ? d : "/etc/tierfs";
}

int tfs_conf_find(const uint8_t uuid[16], const char *label, char *out, size_t len)
{
	char u[40];
	struct stat st;

	tfs_uuid_str(uuid, u);
	snprintf(out, len, "%s/%s.conf", conf_dir(), u);
	if (stat(out, &st) == 0)
		return 0;
	if (label && *label && !strchr(label, '/')) {
		snprintf(out, len, "%s/%s.conf", conf_dir(), label);
		if (stat(out, &st) == 0)
			return 0;
	}
	/* where a --save would create it */
	snprintf(out, len, "%s/%s.conf", conf_dir(), u);
	return -ENOENT;
}

/* "  key = value  # note" -> "key=value"; 0 for a blank or comment line */
static int normalise(char *line, char *out, size_t len)
{
	char *hash = strchr(line, '#'), *eq, *k, *v, *e;

	if (hash)
		*hash = 0;
	for (k = line; *k == ' ' || *k == '\t'; k++)
		;
	for (e = k + strlen(k); e > k && strchr(" \t\r\n", e[-1]); e--)
		;
	*e = 0;
	if (!*k)
		return 0;
	eq = strchr(k, '=');
	if (!eq) {
		snprintf(out, len, "%s", k);
		return 1;
	}
	for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
		;
	if ((size_t)snprintf(out, len, "%s=%s", k, v) >= len)
		return -1;
	return 1;
}

int tfs_conf_read(const char *path, int (*fn)(void *arg, const char *kv, char *err, size_t errlen),
		  void *arg)
{
	FILE *f = fopen(path, "re");
	char line[1024], kv[1024], err[256];
	unsigned int n = 0;
	int ret = 0;

	if (!f) {
		fprintf(stderr, "tierfs: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		int r;

		n++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "tierfs: %s:%u: line too long\n", path, n);
			ret = -EINVAL;
			break;
		}
		r = normalise(line, kv, sizeof(kv));
		if (r == 0)
			continue;
		if (r < 0 || strchr(kv, ',') || strchr(kv, ' ')) {
			fprintf(stderr, "tierfs: %s:%u: one KEY = VALUE per line, no spaces or commas in a value\n",
				path, n);
			ret = -EINVAL;
			break;
		}
		err[0] = 0;
		if (fn(arg, kv, err, sizeof(err)) < 0) {
			fprintf(stderr, "tierfs: %s:%u: %s\n", path, n, err);
			ret = -EINVAL;
			break;
		}
	}
	if (ret == 0 && ferror(f)) {
		fprintf(stderr, "tierfs: %s: %s\n", path, strerror(EIO));
		ret = -EIO;
	}
	fclose(f);
	return ret;
}

/* the key of "key=value" (or of "key"): its length */
static size_t keylen(const char *kv)
{
	return strcspn(kv, "=");
}

int tfs_conf_save(const char *path, char *const *kv, unsigned int n)
{
	char tmp[4200], line[1024], norm[1024], *done;
	FILE *in, *out;
	unsigned int i;
	int ret = 0;

	if (strlen(path) + 8 >= sizeof(tmp))
		return -ENAMETOOLONG;
	done = calloc(n ? n : 1, 1);
	if (!done)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s", path);
	if (strrchr(tmp, '/') && strrchr(tmp, '/') != tmp) {
		*strrchr(tmp, '/') = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			goto out_free;
		}
	}
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	out = fopen(tmp, "we");
	if (!out) {
		ret = -errno;
		goto out_free;
	}
	in = fopen(path, "re");
	if (!in) {
		fprintf(out, "# tierfs.conf(5): mount options and tiering policy of this pool\n");
	} else {
		struct stat st;

		/* the new file keeps the old one's owner and mode */
		if (fstat(fileno(in), &st) == 0 &&
		    (fchown(fileno(out), st.st_uid, st.st_gid) < 0 ||
		     fchmod(fileno(out), st.st_mode & 07777) < 0))
			ret = -errno;
	}
	/* each line kept, but the line of a key being set becomes its new value */
	while (in && fgets(line, sizeof(line), in)) {
		char copy[1024];
		int r;

		snprintf(copy, sizeof(copy), "%s", line);
		r = normalise(copy, norm, sizeof(norm));
		for (i = 0; r > 0 && i < n; i++)
			if (keylen(norm) == keylen(kv[i]) && !strncmp(norm, kv[i], keylen(norm)))
				break;
		if (r > 0 && i < n) {
			if (!done[i])
				fprintf(out, "%.*s = %s\n", (int)keylen(kv[i]), kv[i], kv[i] + keylen(kv[i]) + 1);
			done[i] = 1;
			continue;
		}
		fputs(line, out);
		if (!strchr(line, '\n'))
			fputc('\n', out);
	}
	if (in)
		fclose(in);
	for (i = 0; i < n; i++)
		if (!done[i])
			fprintf(out, "%.*s = %s\n", (int)keylen(kv[i]), kv[i], kv[i] + keylen(kv[i]) + 1);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		ret = -errno;
	if (fclose(out) != 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
	} else {
		/* the rename itself made durable */
		int dfd;

		snprintf(tmp, sizeof(tmp), "%s", path);
		if (strrchr(tmp, '/'))
			*(strrchr(tmp, '/') == tmp ? tmp + 1 : strrchr(tmp, '/')) = 0;
		else
			strcpy(tmp, ".");
		dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
out_free:
	free(done);
	return ret;
}

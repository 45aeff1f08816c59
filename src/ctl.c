/*
 * src/ctl.c - the daemon's control socket (what tierfsctl talks to).
 *
 * A Unix stream socket at $TIERFS_RUNDIR (default /run/tierfs), named after
 * a hash of the mount point's path, in a directory only root may enter; a
 * peer that is not root (SO_PEERCRED) is refused as well.  One request per
 * connection: a line "COMMAND [json]", answered with text or JSON and the
 * connection closed.  Commands: status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tfs.h"

struct tfs_ctl {
	struct tfs_fs *fs;
	int lfd, stop_pipe[2];
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char mnt[PATH_MAX];
};

int tfs_ctl_path(const char *mnt, char *out, size_t len)
{
	const char *dir = getenv("TIERFS_RUNDIR");
	int n;

	if (!dir || !*dir)
		dir = "/run/tierfs";
	n = snprintf(out, len, "%s/%016llx.sock", dir,
		     (unsigned long long)tfs_hash(mnt, strlen(mnt), 0x63746c));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* growable output */
struct out {
	char *b;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->b ? o->b + o->len : NULL, o->b ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->b && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = (o->cap ? o->cap * 2 : 4096) + (size_t)n;
			char *p = realloc(o->b, cap);

			if (!p)
				return;
			o->b = p;
			o->cap = cap;
		}
	}
}

/* a JSON string (paths may hold anything) */
static void outs(struct out *o, const char *s)
{
	outf(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			outf(o, "\\%c", ch);
		else if (ch < 0x20)
			outf(o, "\\u%04x", ch);
		else
			outf(o, "%c", ch);
	}
	outf(o, "\"");
}

struct devinfo {
	uint64_t cap, used, chunks, rb, rr, wb;
	uint32_t zc[16];	/* zones by device condition */
	uint32_t zs[4];		/* zones by tierfs state */
	struct tfs_zstat z;
	uint64_t garbage;
	int zoned;
};

static void dev_info(struct tfs_fs *fs, unsigned int d, struct devinfo *di)
{
	const struct tier_alloc_dev *ad = &fs->alloc.a_dev[d];

	memset(di, 0, sizeof(*di));
	di->zoned = fs->zspz[d] != 0;
	if (di->zoned) {
		struct tfs_zone *zt = calloc(fs->znzones[d], sizeof(*zt));
		int n = zt ? tfs_zns_report(&fs->dev[d], 0, zt, fs->znzones[d]) : -ENOMEM;

		for (int i = 2; i < n; i++)
			di->zc[zt[i].cond & 15]++;
		free(zt);
	}
	pthread_mutex_lock(&fs->lock);
	di->cap = ad->a_nslots << fs->chunk_shift;
	di->chunks = ad->a_nslots - ad->a_nfree;
	di->used = di->chunks << fs->chunk_shift;
	if (di->zoned) {
		di->z = fs->zstat[d];
		di->garbage = tier_zone_garbage(&fs->alloc, d) << fs->chunk_shift;
		tier_zone_counts(&fs->alloc, d, di->zs);
	}
	pthread_mutex_unlock(&fs->lock);
	di->rb = __atomic_load_n(&fs->dstat[d].read_bytes, __ATOMIC_RELAXED);
	di->rr = __atomic_load_n(&fs->dstat[d].read_requests, __ATOMIC_RELAXED);
	di->wb = __atomic_load_n(&fs->dstat[d].write_bytes, __ATOMIC_RELAXED);
}

static double wa(const struct devinfo *di)
{
	return di->z.user_bytes ? (double)di->z.dev_bytes / (double)di->z.user_bytes : 0.0;
}

static void status_json(struct tfs_ctl *c, struct out *o)
{
	struct tfs_fs *fs = c->fs;
	struct devinfo di[TFS_MAX_DEVS], t;
	unsigned int d, cls, first = 1;
	char uuid[37];

	for (d = 0; d < fs->ndev; d++)
		dev_info(fs, d, &di[d]);
	tfs_uuid_str(fs->sb.s_pool_uuid, uuid);
	outf(o, "{\"mount\": ");
	outs(o, c->mnt);
	outf(o, ", \"pool_uuid\": \"%s\", \"label\": ", uuid);
	outs(o, fs->sb.s_label);
	outf(o, ", \"chunk_size\": %u, \"tiers\": [", fs->chunk_size);
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		int any = 0;

		memset(&t, 0, sizeof(t));
		for (d = 0; d < fs->ndev; d++) {
			if (fs->sb.s_dev[d].sd_class != cls)
				continue;
			any = 1;
			t.cap += di[d].cap;
			t.used += di[d].used;
			t.chunks += di[d].chunks;
			t.rb += di[d].rb;
			t.rr += di[d].rr;
			t.wb += di[d].wb;
		}
		if (!any)
			continue;
		outf(o, "%s{\"name\": \"%s\", \"capacity_bytes\": %llu, \"used_bytes\": %llu, "
			"\"chunks\": %llu, \"read_bytes\": %llu, \"read_requests\": %llu, "
			"\"write_bytes\": %llu, \"promoted_chunks\": 0, \"demoted_chunks\": 0}",
		     first ? "" : ", ", tfs_dev_class_str(cls), (unsigned long long)t.cap,
		     (unsigned long long)t.used, (unsigned long long)t.chunks,
		     (unsigned long long)t.rb, (unsigned long long)t.rr, (unsigned long long)t.wb);
		first = 0;
	}
	outf(o, "], \"devices\": [");
	for (d = 0; d < fs->ndev; d++) {
		const struct devinfo *x = &di[d];

		outf(o, "%s{\"index\": %u, \"path\": ", d ? ", " : "", d);
		outs(o, fs->dev[d].d_path);
		outf(o, ", \"tier\": \"%s\", \"backend\": \"%s\", \"capacity_bytes\": %llu, "
			"\"used_bytes\": %llu, \"chunks\": %llu, \"read_bytes\": %llu, "
			"\"read_requests\": %llu, \"write_bytes\": %llu",
		     tfs_dev_class_str(fs->sb.s_dev[d].sd_class), fs->dev[d].d_ops->name,
		     (unsigned long long)x->cap, (unsigned long long)x->used,
		     (unsigned long long)x->chunks, (unsigned long long)x->rb,
		     (unsigned long long)x->rr, (unsigned long long)x->wb);
		if (x->zoned) {
			outf(o, ", \"write_amplification\": %.3f, \"user_bytes_written\": %llu, "
				"\"zone_bytes_written\": %llu, \"garbage_bytes\": %llu, "
				"\"zone_size\": %llu, \"zone_capacity\": %llu, \"zone_count\": %u, "
				"\"zones\": {\"empty\": %u, \"implicit_open\": %u, \"explicit_open\": %u, "
				"\"closed\": %u, \"full\": %u, \"readonly\": %u, \"offline\": %u}, "
				"\"zones_free\": %u, \"zones_open\": %u, \"zones_sealed\": %u, "
				"\"zones_reclaimable\": %u, \"zone_resets\": %llu, \"zone_finishes\": %llu, "
				"\"cleaned_zones\": %llu, \"cleaned_chunks\": %llu",
			     wa(x), (unsigned long long)x->z.user_bytes,
			     (unsigned long long)x->z.dev_bytes, (unsigned long long)x->garbage,
			     (unsigned long long)fs->zsize[d], (unsigned long long)fs->zcap[d],
			     fs->znzones[d], x->zc[TFS_ZC_EMPTY], x->zc[TFS_ZC_IMP_OPEN],
			     x->zc[TFS_ZC_EXP_OPEN], x->zc[TFS_ZC_CLOSED], x->zc[TFS_ZC_FULL],
			     x->zc[TFS_ZC_READONLY], x->zc[TFS_ZC_OFFLINE], x->zs[TIER_Z_FREE],
			     x->zs[TIER_Z_OPEN], x->zs[TIER_Z_FULL], x->zs[TIER_Z_RECLAIM],
			     (unsigned long long)x->z.resets, (unsigned long long)x->z.finishes,
			     (unsigned long long)x->z.cleaned_zones,
			     (unsigned long long)x->z.moved_chunks);
		}
		outf(o, "}");
	}
	outf(o, "], \"journal\": {\"commits\": %llu, \"checkpoints\": %llu}, "
		"\"zone_errors\": %u}\n",
	     (unsigned long long)fs->commits, (unsigned long long)fs->checkpoints, fs->zone_errors);
}

static const char *mib(uint64_t b, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	return buf;
}

static void status_text(struct tfs_ctl *c, struct out *o)
{
	struct tfs_fs *fs = c->fs;
	struct devinfo x;
	unsigned int d;
	char uuid[37], a[32], b[32], e[32], f[32];

	tfs_uuid_str(fs->sb.s_pool_uuid, uuid);
	outf(o, "pool %s%s%s mounted on %s, chunk %u KiB\n\n", uuid, fs->sb.s_label[0] ? " " : "",
	     fs->sb.s_label, c->mnt, fs->chunk_size >> 10);
	outf(o, "%-3s %-6s %-12s %-12s %7s %-12s %-12s  %s\n", "dev", "tier", "capacity", "used",
	     "use%", "read", "written", "path");
	for (d = 0; d < fs->ndev; d++) {
		dev_info(fs, d, &x);
		outf(o, "%-3u %-6s %-12s %-12s %6.1f%% %-12s %-12s  %s\n", d,
		     tfs_dev_class_str(fs->sb.s_dev[d].sd_class), mib(x.cap, a, sizeof(a)),
		     mib(x.used, b, sizeof(b)), x.cap ? 100.0 * (double)x.used / (double)x.cap : 0.0,
		     mib(x.rb, e, sizeof(e)), mib(x.wb, f, sizeof(f)), fs->dev[d].d_path);
		if (!x.zoned)
			continue;
		outf(o, "    zones: %u of %llu KiB (capacity %llu KiB): %u empty, %u open, %u closed, %u full",
		     fs->znzones[d], (unsigned long long)(fs->zsize[d] >> 10),
		     (unsigned long long)(fs->zcap[d] >> 10), x.zc[TFS_ZC_EMPTY],
		     x.zc[TFS_ZC_IMP_OPEN] + x.zc[TFS_ZC_EXP_OPEN], x.zc[TFS_ZC_CLOSED],
		     x.zc[TFS_ZC_FULL]);
		if (x.zc[TFS_ZC_READONLY] + x.zc[TFS_ZC_OFFLINE])
			outf(o, ", %u read-only, %u offline", x.zc[TFS_ZC_READONLY],
			     x.zc[TFS_ZC_OFFLINE]);
		outf(o, " (+2 superblock zones)\n    garbage %s, write amplification %.2f, %llu zones cleaned (%llu chunks moved), %llu resets\n",
		     mib(x.garbage, a, sizeof(a)), wa(&x), (unsigned long long)x.z.cleaned_zones,
		     (unsigned long long)x.z.moved_chunks, (unsigned long long)x.z.resets);
	}
	if (fs->zone_errors)
		outf(o, "\n%u zone write pointer inconsistencies at mount: run fsck.tierfs\n",
		     fs->zone_errors);
}

static void serve(struct tfs_ctl *c, int fd)
{
	struct out o = { 0 };
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	char line[256];
	ssize_t n;
	size_t off = 0;
	struct timeval tv = { 2, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || cr.uid != 0) {
		outf(&o, "error: permission denied (root only)\n");
		goto reply;
	}
	n = recv(fd, line, sizeof(line) - 1, 0);
	if (n <= 0)
		goto out;
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	if (!strcmp(line, "status json"))
		status_json(c, &o);
	else if (!strcmp(line, "status"))
		status_text(c, &o);
	else
		outf(&o, "error: unknown request '%s'\n", line);
reply:
	while (o.b && off < o.len) {
		n = send(fd, o.b + off, o.len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
out:
	free(o.b);
}

static void *ctl_main(void *arg)
{
	struct tfs_ctl *c = arg;

	for (;;) {
		struct pollfd p[2] = { { c->lfd, POLLIN, 0 }, { c->stop_pipe[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(c, fd);
		close(fd);
	}
	return NULL;
}

struct tfs_ctl *tfs_ctl_start(struct tfs_fs *fs, const char *mnt)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tfs_ctl *c = calloc(1, sizeof(*c));
	char *slash;

	if (!c)
		return NULL;
	c->fs = fs;
	c->lfd = c->stop_pipe[0] = c->stop_pipe[1] = -1;
	/* @mnt is resolved already: a stat of the mount point now would wait
	 * for this very daemon */
	if (strlen(mnt) >= sizeof(c->mnt) || tfs_ctl_path(mnt, c->path, sizeof(c->path)) < 0)
		goto out_free;
	strcpy(c->mnt, mnt);
	slash = strrchr(c->path, '/');
	*slash = 0;
	if (mkdir(c->path, 0700) < 0 && errno != EEXIST) {
		tfs_warn("control socket: cannot create %s: %s", c->path, strerror(errno));
		goto out_free;
	}
	chmod(c->path, 0700);
	*slash = '/';
	unlink(c->path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		goto out_free;
	strcpy(sa.sun_path, c->path);
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(c->path, 0600) < 0 ||
	    listen(c->lfd, 8) < 0 || pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
		tfs_warn("control socket %s: %s", c->path, strerror(errno));
		goto out_close;
	}
	if (pthread_create(&c->thread, NULL, ctl_main, c) != 0)
		goto out_close;
	return c;

out_close:
	close(c->lfd);
	if (c->stop_pipe[0] >= 0) {
		close(c->stop_pipe[0]);
		close(c->stop_pipe[1]);
	}
	unlink(c->path);
out_free:
	free(c);
	return NULL;
}

void tfs_ctl_stop(struct tfs_ctl *c)
{
	if (!c)
		return;
	if (write(c->stop_pipe[1], "x", 1) < 0)
		tfs_warn("control socket: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	close(c->lfd);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	unlink(c->path);
	free(c);
}

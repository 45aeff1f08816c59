/*
 * src/ctl.c - the daemon's control socket (what tierfsctl talks to).
 *
 * A Unix stream socket at $TIERFS_RUNDIR (default /run/tierfs), named after
 * a hash of the mount point's path, in a directory only root may enter; a
 * peer that is not root (SO_PEERCRED) is refused as well.  One request per
 * connection: a line "COMMAND [ARGS] [json]", answered with text or JSON and
 * the connection closed; an answer starting with "error:" is a failure.
 * Commands: status, where INO, count INO CLASS, migrate (a forced pass; the
 * answer is its ticket), progress TICKET, policy, policy set K=V....
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
	uint64_t cap, used, chunks, rb, rr, wb, wr, mr, mw, ce;
	uint32_t zc[16];	/* zones by device condition */
	uint32_t zs[TIER_Z_NSTATES]; /* zones by tierfs state */
	uint64_t reserved;	/* bytes of free zones kept for the cleaner */
	struct tfs_zstat z;
	uint64_t garbage;
	uint32_t sopen[TIER_STREAM_MAX]; /* open zones per stream */
	int zoned;
	int pressure;		/* tier_zone_pressure: 0 idle, 1 cleaning, 2 at the reserve */
};

static void dev_info(struct tfs_fs *fs, unsigned int d, struct devinfo *di)
{
	const struct tier_alloc_dev *ad = &fs->pool.alloc.a_dev[d];

	memset(di, 0, sizeof(*di));
	/* a device being removed is closed under devop */
	pthread_mutex_lock(&fs->pool.devop);
	di->zoned = fs->zns.spz[d] != 0 && tfs_dev_present(fs, d);
	if (di->zoned) {
		struct tfs_zone *zt = calloc(fs->zns.nzones[d], sizeof(*zt));
		int n = zt ? tfs_zns_report(&fs->pool.dev[d], 0, zt, fs->zns.nzones[d]) : -ENOMEM;

		for (int i = 2; i < n; i++)
			di->zc[zt[i].cond & 15]++;
		free(zt);
	}
	pthread_mutex_unlock(&fs->pool.devop);
	pthread_mutex_lock(&fs->lock);
	di->cap = ad->a_nslots << fs->pool.chunk_shift;
	di->chunks = ad->a_nslots - ad->a_nfree;
	di->used = di->chunks << fs->pool.chunk_shift;
	if (di->zoned) {
		di->z = fs->zns.zstat[d];
		di->garbage = tier_zone_garbage(&fs->pool.alloc, d) << fs->pool.chunk_shift;
		di->reserved = tier_zone_reserved_slots(&fs->pool.alloc, d) << fs->pool.chunk_shift;
		tier_zone_counts(&fs->pool.alloc, d, di->zs);
		di->pressure = tier_zone_pressure(&fs->pool.alloc, d);
		memcpy(di->sopen, ad->a_z->z_nopen, sizeof(di->sopen));
		/* short of room but nothing to clean: at rest all the same */
		if (di->pressure && tier_zone_victim(&fs->pool.alloc, d) < 0 &&
		    tier_zone_reclaimable(&fs->pool.alloc, d) < 0 &&
		    tier_zone_evacuee(&fs->pool.alloc, d) < 0)
			di->pressure = 0;
	}
	pthread_mutex_unlock(&fs->lock);
	di->rb = __atomic_load_n(&fs->pool.dstat[d].read_bytes, __ATOMIC_RELAXED);
	di->rr = __atomic_load_n(&fs->pool.dstat[d].read_requests, __ATOMIC_RELAXED);
	di->wb = __atomic_load_n(&fs->pool.dstat[d].write_bytes, __ATOMIC_RELAXED);
	di->wr = __atomic_load_n(&fs->pool.dstat[d].write_requests, __ATOMIC_RELAXED);
	di->ce = __atomic_load_n(&fs->pool.dstat[d].csum_errors, __ATOMIC_RELAXED);
	di->mr = __atomic_load_n(&fs->pool.dstat[d].move_read_bytes, __ATOMIC_RELAXED);
	di->mw = __atomic_load_n(&fs->pool.dstat[d].move_write_bytes, __ATOMIC_RELAXED);
}

/* heat histogram by power of two: [0] no heat, [k] heat in [2^(k-1), 2^k) */
#define HEAT_OCTAVES 17

struct miginfo {
	struct tier_plan plan;
	uint64_t oct[TFS_CLASS_MAX][HEAT_OCTAVES];
	uint64_t backlog, misplaced;
	struct tier_policy pol;
};

static void mig_info(struct tfs_fs *fs, struct miginfo *mi)
{
	unsigned int c, b;

	memset(mi, 0, sizeof(*mi));
	pthread_mutex_lock(&fs->lock);
	mi->plan = fs->eng.plan;
	for (c = 0; c < TFS_CLASS_MAX; c++)
		for (b = 0; b < TIER_HEAT_BUCKETS; b++)
			mi->oct[c][b ? (b - 1) / 4 + 1 : 0] += fs->eng.pin.hist[c][b];
	mi->backlog = fs->eng.backlog;
	mi->misplaced = fs->eng.pinned_misplaced;
	mi->pol = fs->eng.pol;
	pthread_mutex_unlock(&fs->lock);
}

static double wa(const struct devinfo *di)
{
	return di->z.user_bytes ? (double)di->z.dev_bytes / (double)di->z.user_bytes : 0.0;
}

static const char *const stream_names[TIER_STREAM_MAX] = { "user", "short", "long", "clean" };

/* the zone streams of a zoned device: what each wrote since mount, what
 * cleaning moved out of its zones, and their ratio to its user data */
static void streams_json(const struct devinfo *x, struct out *o)
{
	unsigned int s;

	outf(o, ", \"user_bytes_written_at_mount\": %llu, \"zone_bytes_written_at_mount\": %llu",
	     (unsigned long long)x->z.mount_user_bytes, (unsigned long long)x->z.mount_dev_bytes);
	outf(o, ", \"cleaning_evicted_bytes\": %llu, \"zone_copies_kept\": %llu, "
		"\"zone_copies_reused\": %llu, \"zone_copies_dropped\": %llu, \"streams\": [",
	     (unsigned long long)x->z.evicted_bytes, (unsigned long long)x->z.shadows,
	     (unsigned long long)x->z.shadow_reused, (unsigned long long)x->z.shadow_dropped);
	for (s = 0; s < TIER_STREAM_MAX; s++) {
		outf(o, "%s{\"name\": \"%s\", \"zones_open\": %u, \"user_bytes_written\": %llu, "
			"\"zone_bytes_written\": %llu, \"cleaned_bytes\": %llu, "
			"\"write_amplification\": ",
		     s ? ", " : "", stream_names[s], x->sopen[s], (unsigned long long)x->z.s_user[s],
		     (unsigned long long)x->z.s_dev[s], (unsigned long long)x->z.s_cleaned[s]);
		if (x->z.s_user[s])
			outf(o, "%.3f}", (double)(x->z.s_dev[s] + x->z.s_cleaned[s]) /
					     (double)x->z.s_user[s]);
		else
			outf(o, "null}");
	}
	outf(o, "]");
}

/* FUSE requests served since mount, by opcode (those seen at least once) */
static void requests_json(struct tfs_fs *fs, struct out *o)
{
	unsigned int op, first = 1;

	outf(o, ", \"requests\": {");
	for (op = 0; op < TFS_OP_MAX; op++) {
		uint64_t n;
		double mean, p99;

		tfs_op_summary(&fs->ops[op], &n, &mean, &p99);
		if (!n)
			continue;
		outf(o, "%s\"%s\": {\"count\": %llu, \"total_us\": %.1f, \"mean_us\": %.1f, \"p99_us\": %.1f}",
		     first ? "" : ", ", tfs_op_name(op), (unsigned long long)n, mean * (double)n, mean,
		     p99);
		first = 0;
	}
	outf(o, "}");
}

/* the FUSE connection: transport, protocol and what INIT settled */
static void fuse_json(struct tfs_fs *fs, struct out *o)
{
	const struct tfs_fuse_conn *c = &fs->fconn;

	uint64_t served;
	unsigned int nq, nw;

	tfs_uring_stats(c->over_uring ? c->uring : NULL, &served, &nq, &nw);
	outf(o, ", \"transport\": \"%s\", \"fuse\": {\"protocol\": \"%u.%u\", \"killpriv_v2\": %s, \"no_opendir\": %s, \"malformed_requests\": %llu, \"uring_queues\": %u, \"uring_entries\": %u, \"uring_requests\": %llu}",
	     c->transport ? c->transport : "dev", c->major, c->minor,
	     c->killpriv_v2 ? "true" : "false", c->no_opendir ? "true" : "false",
	     (unsigned long long)__atomic_load_n(&c->malformed, __ATOMIC_RELAXED), nq, nw,
	     (unsigned long long)served);
}

static void requests_text(struct tfs_fs *fs, struct out *o)
{
	unsigned int op, any = 0;

	for (op = 0; op < TFS_OP_MAX; op++) {
		uint64_t n;
		double mean, p99;

		tfs_op_summary(&fs->ops[op], &n, &mean, &p99);
		if (!n)
			continue;
		if (!any++)
			outf(o, "\n%-16s %12s %10s %10s\n", "request", "count", "mean us", "p99 us");
		outf(o, "%-16s %12llu %10.1f %10.1f\n", tfs_op_name(op), (unsigned long long)n, mean,
		     p99);
	}
}

static void status_json(struct tfs_ctl *c, struct out *o)
{
	struct tfs_fs *fs = c->fs;
	struct devinfo di[TFS_MAX_DEVS], t;
	unsigned int d, cls, first = 1, i;
	struct miginfo mi;
	char uuid[37];

	for (d = 0; d < fs->pool.ndev; d++)
		dev_info(fs, d, &di[d]);
	mig_info(fs, &mi);
	tfs_uuid_str(fs->pool.sb.s_pool_uuid, uuid);
	outf(o, "{\"mount\": ");
	outs(o, c->mnt);
	outf(o, ", \"pool_uuid\": \"%s\", \"label\": ", uuid);
	outs(o, fs->pool.sb.s_label);
	outf(o, ", \"chunk_size\": %u, \"tiers\": [", fs->pool.chunk_size);
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		int any = 0;

		memset(&t, 0, sizeof(t));
		for (d = 0; d < fs->pool.ndev; d++) {
			if (fs->pool.sb.s_dev[d].sd_class != cls)
				continue;
			any = 1;
			t.cap += di[d].cap;
			t.used += di[d].used;
			t.chunks += di[d].chunks;
			t.rb += di[d].rb;
			t.rr += di[d].rr;
			t.wb += di[d].wb;
			t.mw += di[d].mw;
		}
		if (!any)
			continue;
		outf(o, "%s{\"name\": \"%s\", \"capacity_bytes\": %llu, \"used_bytes\": %llu, "
			"\"chunks\": %llu, \"read_bytes\": %llu, \"read_requests\": %llu, "
			"\"write_bytes\": %llu, \"promoted_chunks\": %llu, \"demoted_chunks\": %llu, "
			"\"moved_in_bytes\": %llu, \"residency_heat\": %u, \"promote_heat\": %u, "
			"\"heat_histogram\": [",
		     first ? "" : ", ", tfs_dev_class_str(cls), (unsigned long long)t.cap,
		     (unsigned long long)t.used, (unsigned long long)t.chunks,
		     (unsigned long long)t.rb, (unsigned long long)t.rr, (unsigned long long)t.wb,
		     (unsigned long long)__atomic_load_n(&fs->eng.promoted[cls], __ATOMIC_RELAXED),
		     (unsigned long long)__atomic_load_n(&fs->eng.demoted[cls], __ATOMIC_RELAXED),
		     (unsigned long long)t.mw, mi.plan.thr[cls], mi.plan.promote_at[cls]);
		for (i = 0; i < HEAT_OCTAVES; i++)
			outf(o, "%s%llu", i ? ", " : "", (unsigned long long)mi.oct[cls][i]);
		outf(o, "]}");
		first = 0;
	}
	outf(o, "], \"devices\": [");
	for (d = 0, first = 1; d < fs->pool.ndev; d++) {
		const struct devinfo *x = &di[d];

		if (!tfs_dev_present(fs, d))
			continue; /* removed: tierfsctl device list shows it */
		outf(o, "%s{\"index\": %u, \"path\": ", first ? "" : ", ", d);
		first = 0;
		outs(o, fs->pool.dev[d].d_path);
		outf(o, ", \"tier\": \"%s\", \"backend\": \"%s\", \"capacity_bytes\": %llu, "
			"\"used_bytes\": %llu, \"chunks\": %llu, \"read_bytes\": %llu, "
			"\"read_requests\": %llu, \"write_bytes\": %llu, \"moved_read_bytes\": %llu, "
			"\"moved_write_bytes\": %llu",
		     tfs_dev_class_str(fs->pool.sb.s_dev[d].sd_class), fs->pool.dev[d].d_ops->name,
		     (unsigned long long)x->cap, (unsigned long long)x->used,
		     (unsigned long long)x->chunks, (unsigned long long)x->rb,
		     (unsigned long long)x->rr, (unsigned long long)x->wb,
		     (unsigned long long)x->mr, (unsigned long long)x->mw);
		if (fs->pool.sb.s_dev[d].sd_class == TFS_CLASS_RADOS) {
			struct tfs_rados_stat rs;

			tfs_rados_stats(&fs->pool.dev[d], &rs);
			outf(o, ", \"rados\": {\"online\": %s, \"objects\": %llu, \"bytes\": %llu, "
				"\"in_flight\": %llu, \"reads\": %llu, \"writes\": %llu, "
				"\"removes\": %llu, \"errors\": %llu, \"read_latency_us\": %llu, "
				"\"write_latency_us\": %llu, \"timeout_s\": %u, \"paused_moves\": %llu}",
			     tfs_rados_online(&fs->pool.dev[d]) ? "true" : "false",
			     (unsigned long long)x->chunks, (unsigned long long)x->used,
			     (unsigned long long)rs.inflight, (unsigned long long)rs.reads,
			     (unsigned long long)rs.writes, (unsigned long long)rs.removes,
			     (unsigned long long)rs.errors,
			     (unsigned long long)(rs.reads ? rs.read_ns / rs.reads / 1000 : 0),
			     (unsigned long long)(rs.writes ? rs.write_ns / rs.writes / 1000 : 0),
			     tfs_rados_timeout_s,
			     (unsigned long long)__atomic_load_n(&fs->eng.rados_pauses, __ATOMIC_RELAXED));
		}
		if (x->zoned) {
			outf(o, ", \"write_amplification\": %.3f, \"user_bytes_written\": %llu, "
				"\"zone_bytes_written\": %llu, \"garbage_bytes\": %llu, "
				"\"zone_size\": %llu, \"zone_capacity\": %llu, \"zone_count\": %u, "
				"\"zones\": {\"empty\": %u, \"implicit_open\": %u, \"explicit_open\": %u, "
				"\"closed\": %u, \"full\": %u, \"readonly\": %u, \"offline\": %u}, "
				"\"zones_free\": %u, \"zones_open\": %u, \"zones_sealed\": %u, "
				"\"zones_reclaimable\": %u, \"zones_retired\": %u, \"lost_chunks\": %llu, "
				"\"cleaner_reserve_bytes\": %llu, "
				"\"zone_resets\": %llu, \"zone_finishes\": %llu, "
				"\"cleaned_zones\": %llu, \"cleaned_chunks\": %llu, \"cleaning\": \"%s\"",
			     wa(x), (unsigned long long)x->z.user_bytes,
			     (unsigned long long)x->z.dev_bytes, (unsigned long long)x->garbage,
			     (unsigned long long)fs->zns.zsize[d], (unsigned long long)fs->zns.zcap[d],
			     fs->zns.nzones[d], x->zc[TFS_ZC_EMPTY], x->zc[TFS_ZC_IMP_OPEN],
			     x->zc[TFS_ZC_EXP_OPEN], x->zc[TFS_ZC_CLOSED], x->zc[TFS_ZC_FULL],
			     x->zc[TFS_ZC_READONLY], x->zc[TFS_ZC_OFFLINE], x->zs[TIER_Z_FREE],
			     x->zs[TIER_Z_OPEN], x->zs[TIER_Z_FULL], x->zs[TIER_Z_RECLAIM],
			     x->zs[TIER_Z_RETIRED], (unsigned long long)x->z.lost_chunks,
			     (unsigned long long)x->reserved,
			     (unsigned long long)x->z.resets, (unsigned long long)x->z.finishes,
			     (unsigned long long)x->z.cleaned_zones,
			     (unsigned long long)x->z.moved_chunks,
			     x->pressure == 2 ? "urgent" : x->pressure ? "running" : "idle");
			streams_json(x, o);
		}
		outf(o, "}");
	}
	outf(o, "], \"migration\": {\"enabled\": %s, \"passes\": %llu, \"backlog_chunks\": %llu, "
		"\"moved_bytes\": %llu, \"moves_redone\": %llu, \"moves_failed\": %llu, "
		"\"pinned_misplaced_chunks\": %llu, \"heat_epoch\": %u, \"halflife_ms\": %u}",
	     mi.pol.migrate ? "true" : "false",
	     (unsigned long long)__atomic_load_n(&fs->eng.passes, __ATOMIC_RELAXED),
	     (unsigned long long)mi.backlog,
	     (unsigned long long)__atomic_load_n(&fs->eng.moved_bytes, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&fs->eng.redone, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&fs->eng.failed, __ATOMIC_RELAXED),
	     (unsigned long long)mi.misplaced, tier_engine_epoch(&fs->eng), mi.pol.halflife_ms);
	{
		struct tfs_meta_stats ms;

		tfs_meta_stats(fs->meta, &ms);
		outf(o, ", \"journal\": {\"commits\": %llu, \"checkpoints\": %llu}, "
			"\"metadata\": {\"checkpoint\": %llu, \"journal_sequence\": %llu, "
			"\"inodes\": %llu, \"chunks\": %llu, \"chunk_memory_bytes\": %llu, "
			"\"log_live_bytes\": %llu, \"log_bytes\": %llu, \"log_segments\": %llu, "
			"\"last_checkpoint_bytes\": %llu, \"last_checkpoint_us\": %llu, "
			"\"max_checkpoint_lock_us\": %llu, \"max_commit_lock_us\": %llu, "
			"\"csum_cache_bytes\": %llu, \"csum_pending_bytes\": %llu, "
			"\"csum_cache_hits\": %llu, \"csum_cache_misses\": %llu}, "
			"\"zone_errors\": %u",
		     (unsigned long long)ms.commits, (unsigned long long)ms.checkpoints,
		     (unsigned long long)ms.gen, (unsigned long long)ms.jseq,
		     (unsigned long long)__atomic_load_n(&fs->ns.ninodes, __ATOMIC_RELAXED),
		     (unsigned long long)__atomic_load_n(&fs->pool.chunks.count, __ATOMIC_RELAXED),
		     (unsigned long long)(__atomic_load_n(&fs->pool.chunks.slabs, __ATOMIC_RELAXED) *
					  (64u << 10)),
		     (unsigned long long)ms.log_live, (unsigned long long)ms.log_bytes,
		     (unsigned long long)ms.log_segments, (unsigned long long)ms.ckpt_bytes_last,
		     (unsigned long long)ms.ckpt_us_last, (unsigned long long)ms.ckpt_pause_max_us,
		     (unsigned long long)ms.commit_pause_max_us, (unsigned long long)ms.cs_cached_bytes,
		     (unsigned long long)ms.cs_dirty_bytes, (unsigned long long)ms.cs_hits,
		     (unsigned long long)ms.cs_misses, fs->zns.errors);
	}
	fuse_json(fs, o);
	requests_json(fs, o);
	outf(o, "}\n");
}

/* ------------------------------------------------------------- metrics */

/*
 * Prometheus text exposition (version 0.0.4): every family with its HELP
 * and TYPE line, then its samples; every sample carries the pool's UUID, so
 * that the files of several pools can sit side by side in node_exporter's
 * textfile directory.  Counters count since mount, except the zone write
 * counters, which are persisted with the pool.
 */
static void fam(struct out *o, const char *name, const char *type, const char *help)
{
	outf(o, "# HELP tierfs_%s %s\n# TYPE tierfs_%s %s\n", name, help, name, type);
}

/* a label value: backslash, double quote and newline escaped */
static void lval(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			outf(o, "\\%c", *s);
		else if (*s == '\n')
			outf(o, "\\n");
		else
			outf(o, "%c", *s);
	}
}

struct mctx {
	struct tfs_fs *fs;
	struct out *o;
	char uuid[40];
	struct devinfo di[TFS_MAX_DEVS];
};

static void dev_labels(struct mctx *m, unsigned int d)
{
	outf(m->o, "{pool=\"%s\",device=\"%u\",tier=\"%s\",path=\"", m->uuid, d,
	     tfs_dev_class_str(m->fs->pool.sb.s_dev[d].sd_class));
	lval(m->o, m->fs->pool.dev[d].d_path);
	outf(m->o, "\"");
}

/* a family of one sample, for the whole pool */
static void pool_u64(struct mctx *m, const char *name, const char *type, const char *help, uint64_t v)
{
	fam(m->o, name, type, help);
	outf(m->o, "tierfs_%s{pool=\"%s\"} %llu\n", name, m->uuid, (unsigned long long)v);
}

/* one family over every device (or every zoned one): the value at @off in
 * struct devinfo (a uint64_t) */
static void dev_fam(struct mctx *m, const char *name, const char *type, const char *help,
		    size_t off, int zoned_only)
{
	unsigned int d;

	fam(m->o, name, type, help);
	for (d = 0; d < m->fs->pool.ndev; d++) {
		if ((zoned_only && !m->di[d].zoned) || !tfs_dev_present(m->fs, d))
			continue;
		outf(m->o, "tierfs_%s", name);
		dev_labels(m, d);
		outf(m->o, "} %llu\n",
		     (unsigned long long)*(const uint64_t *)((const char *)&m->di[d] + off));
	}
}

#define DI(f) offsetof(struct devinfo, f)

/* a per-stream counter of every zoned device: the array of
 * TIER_STREAM_MAX counters at @off in struct devinfo */
static void stream_fam(struct mctx *m, const char *name, const char *help, size_t off)
{
	unsigned int d, s;

	fam(m->o, name, "counter", help);
	for (d = 0; d < m->fs->pool.ndev; d++)
		for (s = 0; m->di[d].zoned && s < TIER_STREAM_MAX; s++) {
			const uint64_t *v = (const uint64_t *)((const char *)&m->di[d] + off);

			outf(m->o, "tierfs_%s", name);
			dev_labels(m, d);
			outf(m->o, ",stream=\"%s\"} %llu\n", stream_names[s], (unsigned long long)v[s]);
		}
}

/* the zone families: every zoned device */
static void zone_metrics(struct mctx *m)
{
	static const char *const zstate[TIER_Z_NSTATES] = { "free", "open", "full", "reclaimable", "retired" };
	unsigned int d, s;

	dev_fam(m, "zone_user_bytes_written_total", "counter", "User data written into the device's zones (kept across mounts).", DI(z.user_bytes), 1);
	dev_fam(m, "zone_bytes_written_total", "counter", "Everything written into the zones, and what their cleaning wrote elsewhere (kept across mounts).", DI(z.dev_bytes), 1);
	fam(m->o, "zone_write_amplification", "gauge", "zone_bytes_written_total over zone_user_bytes_written_total (0 before any user data).");
	for (d = 0; d < m->fs->pool.ndev; d++) {
		if (!m->di[d].zoned)
			continue;
		outf(m->o, "tierfs_zone_write_amplification");
		dev_labels(m, d);
		outf(m->o, "} %.4f\n", wa(&m->di[d]));
	}
	dev_fam(m, "zone_garbage_bytes", "gauge", "Bytes of dead chunks in the device's zones.", DI(garbage), 1);
	dev_fam(m, "zone_cleaner_reserve_bytes", "gauge", "Bytes of free zones kept for the cleaner (not free space).", DI(reserved), 1);
	dev_fam(m, "zone_resets_total", "counter", "Zone resets since mount.", DI(z.resets), 1);
	dev_fam(m, "zone_cleaned_zones_total", "counter", "Zones cleaned since mount.", DI(z.cleaned_zones), 1);
	dev_fam(m, "zone_cleaned_chunks_total", "counter", "Live chunks moved out of zones by cleaning since mount.", DI(z.moved_chunks), 1);
	dev_fam(m, "zone_lost_chunks", "gauge", "Live chunks in zones gone offline (unreadable).", DI(z.lost_chunks), 1);
	fam(m->o, "zones", "gauge", "Data zones of the device by state.");
	for (d = 0; d < m->fs->pool.ndev; d++) {
		if (!m->di[d].zoned)
			continue;
		for (s = 0; s < TIER_Z_NSTATES; s++) {
			outf(m->o, "tierfs_zones");
			dev_labels(m, d);
			outf(m->o, ",state=\"%s\"} %u\n", zstate[s], m->di[d].zs[s]);
		}
	}
	stream_fam(m, "zone_stream_user_bytes_written_total", "User data written into zones of each stream since mount.",
		   DI(z.s_user));
	stream_fam(m, "zone_stream_bytes_written_total", "Everything written into zones of each stream since mount.",
		   DI(z.s_dev));
	stream_fam(m, "zone_stream_cleaned_bytes_total", "Bytes cleaning moved out of zones of each stream since mount.",
		   DI(z.s_cleaned));
}

static void metrics(struct tfs_ctl *c, struct out *o)
{
	struct mctx *m = calloc(1, sizeof(*m));
	struct tfs_fs *fs = c->fs;
	struct tfs_meta_stats ms;
	struct miginfo mi;
	unsigned int d, cls, op, b;

	if (!m) {
		outf(o, "error: out of memory\n");
		return;
	}
	m->fs = fs;
	m->o = o;
	tfs_uuid_str(fs->pool.sb.s_pool_uuid, m->uuid);
	for (d = 0; d < fs->pool.ndev; d++)
		dev_info(fs, d, &m->di[d]);
	mig_info(fs, &mi);
	tfs_meta_stats(fs->meta, &ms);

	fam(o, "pool_info", "gauge", "The mounted pool: its label, mount point and FUSE transport (value 1).");
	outf(o, "tierfs_pool_info{pool=\"%s\",label=\"", m->uuid);
	lval(o, fs->pool.sb.s_label);
	outf(o, "\",mount=\"");
	lval(o, c->mnt);
	outf(o, "\",transport=\"%s\"} 1\n", fs->fconn.transport ? fs->fconn.transport : "dev");
	fam(o, "tier_capacity_bytes", "gauge", "Bytes of chunk slots of the tier's devices.");
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		uint64_t cap = 0;
		int any = 0;

		for (d = 0; d < fs->pool.ndev; d++) {
			if (fs->pool.sb.s_dev[d].sd_class != cls)
				continue;
			cap += m->di[d].cap;
			any = 1;
		}
		if (any)
			outf(o, "tierfs_tier_capacity_bytes{pool=\"%s\",tier=\"%s\"} %llu\n", m->uuid,
			     tfs_dev_class_str(cls), (unsigned long long)cap);
	}
	fam(o, "tier_used_bytes", "gauge", "Bytes of the tier's chunk slots in use.");
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		uint64_t used = 0;
		int any = 0;

		for (d = 0; d < fs->pool.ndev; d++)
			if (fs->pool.sb.s_dev[d].sd_class == cls) {
				used += m->di[d].used;
				any = 1;
			}
		if (any)
			outf(o, "tierfs_tier_used_bytes{pool=\"%s\",tier=\"%s\"} %llu\n", m->uuid,
			     tfs_dev_class_str(cls), (unsigned long long)used);
	}
	dev_fam(m, "device_capacity_bytes", "gauge", "Bytes of the device's chunk slots.", DI(cap), 0);
	dev_fam(m, "device_used_bytes", "gauge", "Bytes of the device's chunk slots in use.", DI(used), 0);
	dev_fam(m, "device_read_bytes_total", "counter", "Bytes read from the device for requests of users.", DI(rb), 0);
	dev_fam(m, "device_read_requests_total", "counter", "Reads from the device for requests of users.", DI(rr), 0);
	dev_fam(m, "device_write_bytes_total", "counter", "Bytes written to the device for requests of users.", DI(wb), 0);
	dev_fam(m, "device_write_requests_total", "counter", "Writes to the device for requests of users.", DI(wr), 0);
	dev_fam(m, "device_moved_read_bytes_total", "counter", "Bytes read from the device by migration and zone cleaning.", DI(mr), 0);
	dev_fam(m, "device_moved_write_bytes_total", "counter", "Bytes written to the device by migration and zone cleaning.", DI(mw), 0);
	dev_fam(m, "device_checksum_errors_total", "counter", "Data blocks read from the device whose checksum did not match.", DI(ce), 0);

	/* zoned devices (the families only when the pool has one) */
	for (d = 0; d < fs->pool.ndev && !m->di[d].zoned; d++)
		;
	if (d < fs->pool.ndev)
		zone_metrics(m);

	/* migration */
	pool_u64(m, "migration_enabled", "gauge", "1 when background migration is on.", mi.pol.migrate ? 1 : 0);
	pool_u64(m, "migration_passes_total", "counter", "Migration passes since mount.",
		 __atomic_load_n(&fs->eng.passes, __ATOMIC_RELAXED));
	pool_u64(m, "migration_moved_bytes_total", "counter", "Bytes moved between tiers by migration since mount.",
		 __atomic_load_n(&fs->eng.moved_bytes, __ATOMIC_RELAXED));
	pool_u64(m, "migration_moves_redone_total", "counter", "Moves copied again because the chunk was written meanwhile.",
		 __atomic_load_n(&fs->eng.redone, __ATOMIC_RELAXED));
	pool_u64(m, "migration_moves_failed_total", "counter", "Moves that failed (no room, I/O error).",
		 __atomic_load_n(&fs->eng.failed, __ATOMIC_RELAXED));
	pool_u64(m, "migration_backlog_chunks", "gauge", "Chunks the last plan wants moved and not yet moved.",
		 mi.backlog);
	pool_u64(m, "pinned_misplaced_chunks", "gauge", "Chunks of pinned files not on their tier.",
		 mi.misplaced);

	/* metadata */
	pool_u64(m, "journal_commits_total", "counter", "Journal commits since mount.",
		 ms.commits);
	pool_u64(m, "checkpoints_total", "counter", "Checkpoints written since mount.",
		 ms.checkpoints);
	fam(o, "checkpoint_last_duration_seconds", "gauge", "How long the last checkpoint took.");
	outf(o, "tierfs_checkpoint_last_duration_seconds{pool=\"%s\"} %.6f\n", m->uuid, (double)ms.ckpt_us_last / 1e6);
	pool_u64(m, "checkpoint_last_bytes", "gauge", "Bytes the last checkpoint wrote.",
		 ms.ckpt_bytes_last);
	pool_u64(m, "metadata_log_bytes", "gauge", "Bytes of the metadata log (one copy).",
		 ms.log_bytes);
	pool_u64(m, "metadata_log_live_bytes", "gauge", "Bytes of the metadata log still live.",
		 ms.log_live);
	pool_u64(m, "inodes", "gauge", "Inodes in the pool.",
		 __atomic_load_n(&fs->ns.ninodes, __ATOMIC_RELAXED));
	pool_u64(m, "chunks", "gauge", "Chunks in the pool.",
		 __atomic_load_n(&fs->pool.chunks.count, __ATOMIC_RELAXED));
	pool_u64(m, "checksum_cache_hits_total", "counter", "Checksum pages found in the cache.",
		 ms.cs_hits);
	pool_u64(m, "checksum_cache_misses_total", "counter", "Checksum pages read from the device.",
		 ms.cs_misses);

	/* FUSE requests: counts and a histogram of service times, by opcode,
	 * in powers of two from 1.024 us (the daemon's buckets are finer) */
	fam(o, "fuse_requests_total", "counter", "FUSE requests served since mount, by opcode.");
	for (op = 0; op < TFS_OP_MAX; op++) {
		uint64_t n = 0;

		for (b = 0; b < TFS_OP_BUCKETS; b++)
			n += __atomic_load_n(&fs->ops[op].hist[b], __ATOMIC_RELAXED);
		if (n)
			outf(o, "tierfs_fuse_requests_total{pool=\"%s\",op=\"%s\"} %llu\n", m->uuid,
			     tfs_op_name(op), (unsigned long long)n);
	}
	fam(o, "fuse_request_duration_seconds", "histogram", "Time the daemon took to serve FUSE requests, by opcode.");
	for (op = 0; op < TFS_OP_MAX; op++) {
		uint64_t cum = 0, h[TFS_OP_BUCKETS];

		for (b = 0; b < TFS_OP_BUCKETS; b++)
			cum += h[b] = __atomic_load_n(&fs->ops[op].hist[b], __ATOMIC_RELAXED);
		if (!cum)
			continue;
		cum = 0;
		for (b = 0; b < TFS_OP_BUCKETS - 1; b++) {
			cum += h[b];
			if (b % 4)
				continue;
			outf(o, "tierfs_fuse_request_duration_seconds_bucket{pool=\"%s\",op=\"%s\",le=\"%.9g\"} %llu\n",
			     m->uuid, tfs_op_name(op), (double)tfs_op_bucket_top(b) / 1e9,
			     (unsigned long long)cum);
		}
		cum += h[TFS_OP_BUCKETS - 1];
		outf(o, "tierfs_fuse_request_duration_seconds_bucket{pool=\"%s\",op=\"%s\",le=\"+Inf\"} %llu\n",
		     m->uuid, tfs_op_name(op), (unsigned long long)cum);
		outf(o, "tierfs_fuse_request_duration_seconds_sum{pool=\"%s\",op=\"%s\"} %.9f\n", m->uuid,
		     tfs_op_name(op), (double)__atomic_load_n(&fs->ops[op].ns, __ATOMIC_RELAXED) / 1e9);
		outf(o, "tierfs_fuse_request_duration_seconds_count{pool=\"%s\",op=\"%s\"} %llu\n", m->uuid,
		     tfs_op_name(op), (unsigned long long)cum);
	}
	free(m);
}

/* ------------------------------------------------------------------ top */

/* one sample for tierfsctl top, a line per item: cumulative counters (the
 * client shows their rates), moves, zone cleaning, the hottest files */
static void top_sample(struct tfs_ctl *c, struct out *o)
{
	struct tfs_fs *fs = c->fs;
	struct tier_hot hot[TIER_HOT_N];
	unsigned int d, cls, i, nhot;
	struct devinfo di[TFS_MAX_DEVS];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	outf(o, "time_ms %llu\n",
	     (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull);
	/* each device once: a zoned one's info is a report of all its zones */
	for (d = 0; d < fs->pool.ndev; d++)
		dev_info(fs, d, &di[d]);
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		uint64_t v[8] = { 0 };
		int any = 0;

		for (d = 0; d < fs->pool.ndev; d++) {
			if (fs->pool.sb.s_dev[d].sd_class != cls)
				continue;
			v[0] += di[d].rb, v[1] += di[d].rr, v[2] += di[d].wb, v[3] += di[d].wr;
			v[4] += di[d].mr, v[5] += di[d].mw, v[6] += di[d].used, v[7] += di[d].cap;
			any = 1;
		}
		if (any)
			outf(o, "tier %s %llu %llu %llu %llu %llu %llu %llu %llu\n", tfs_dev_class_str(cls),
			     (unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
			     (unsigned long long)v[3], (unsigned long long)v[4], (unsigned long long)v[5],
			     (unsigned long long)v[6], (unsigned long long)v[7]);
	}
	pthread_mutex_lock(&fs->lock);
	outf(o, "moves %zu %llu %llu %llu\n", fs->eng.nmoves, (unsigned long long)fs->eng.backlog,
	     (unsigned long long)__atomic_load_n(&fs->eng.moved_bytes, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&fs->eng.passes, __ATOMIC_RELAXED));
	nhot = fs->eng.nhot;
	memcpy(hot, fs->eng.hot, sizeof(hot));
	pthread_mutex_unlock(&fs->lock);
	for (d = 0; d < fs->pool.ndev; d++) {
		if (!fs->zns.spz[d])
			continue;
		outf(o, "zone %u %s %llu %llu %llu %.2f\n", d,
		     di[d].pressure == 2 ? "urgent" : di[d].pressure ? "running" : "idle",
		     (unsigned long long)di[d].garbage, (unsigned long long)di[d].z.cleaned_zones,
		     (unsigned long long)di[d].z.moved_chunks, wa(&di[d]));
	}
	for (i = 0; i < nhot; i++) {
		char path[PATH_MAX];
		struct tfs_inode *in;

		pthread_mutex_lock(&fs->lock);
		in = tfs_inode_get(fs, hot[i].ino);
		if (!in || tfs_inode_path(fs, in, path, sizeof(path)) < 0)
			snprintf(path, sizeof(path), "(inode %llu)", (unsigned long long)hot[i].ino);
		pthread_mutex_unlock(&fs->lock);
		/* one line per item, and nothing a terminal would act on:
		 * control characters (ESC, newlines, ...) become '?' */
		for (char *p = path; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		if (in)
			outf(o, "hot %llu %u %u %s\n", (unsigned long long)hot[i].ino, hot[i].heat,
			     hot[i].chunks, path);
	}
}

/* ---------------------------------------------------------------- scrub */

static void scrub_report(struct tfs_fs *fs, struct out *o, int json)
{
	static const char *const states[] = { "idle", "running", "done", "stopped" };
	struct tfs_scrub *sc = fs->scrub;
	uint64_t total, done, files, bad, now;
	unsigned int i;
	double secs;

	if (!sc) {
		outf(o, json ? "{\"state\": \"idle\"}\n" : "no scrub has run since mount\n");
		return;
	}
	pthread_mutex_lock(&sc->lock);
	total = __atomic_load_n(&sc->total_bytes, __ATOMIC_RELAXED);
	done = __atomic_load_n(&sc->read_bytes, __ATOMIC_RELAXED);
	files = __atomic_load_n(&sc->files, __ATOMIC_RELAXED);
	bad = sc->bad;
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	}
	secs = (double)((sc->t_end_ms ? sc->t_end_ms : now) - sc->t_start_ms) / 1000.0;
	if (json) {
		outf(o, "{\"state\": \"%s\", \"total_bytes\": %llu, \"read_bytes\": %llu, "
			"\"files\": %llu, \"damaged_blocks\": %llu, \"seconds\": %.3f, "
			"\"rate_mbps\": %u, \"error\": ",
		     states[sc->state], (unsigned long long)total, (unsigned long long)done,
		     (unsigned long long)files, (unsigned long long)bad, secs, sc->rate_mbps);
		if (sc->error)
			outs(o, strerror(-sc->error));
		else
			outf(o, "null");
		outf(o, ", \"metadata_checked\": %s, \"metadata_damaged\": %u, \"metadata_report\": ",
		     sc->meta_done ? "true" : "false", sc->meta_bad);
		outs(o, sc->meta_report ? sc->meta_report : "");
		outf(o, ", \"damaged\": [");
		for (i = 0; i < sc->nbad; i++) {
			const struct tfs_scrub_bad *b = &sc->bads[i];

			outf(o, "%s{\"path\": ", i ? ", " : "");
			outs(o, b->path);
			outf(o, ", \"ino\": %llu, \"offset\": %llu, ", (unsigned long long)b->ino,
			     (unsigned long long)b->off);
			if (b->dev < fs->pool.ndev) {
				outf(o, "\"device\": %u, \"device_path\": ", b->dev);
				outs(o, fs->pool.dev[b->dev].d_path);
				outf(o, ", \"device_offset\": %llu}", (unsigned long long)b->dev_off);
			} else {
				outf(o, "\"device\": null, \"device_path\": null, \"device_offset\": null}");
			}
		}
		outf(o, "]}\n");
	} else {
		outf(o, "scrub %s: %.1f of %.1f MiB read, %llu files, %llu damaged blocks, %u damaged metadata copies%s, %.1f s%s%s\n",
		     states[sc->state], (double)done / (1 << 20), (double)total / (1 << 20),
		     (unsigned long long)files, (unsigned long long)bad, sc->meta_bad,
		     sc->meta_done ? "" : " (metadata not checked yet)", secs,
		     sc->error ? ", stopped by " : "", sc->error ? strerror(-sc->error) : "");
		if (sc->meta_report && sc->meta_report[0]) {
			char *p;

			outf(o, "  metadata:\n");
			for (p = sc->meta_report; *p;) {
				size_t n = strcspn(p, "\n");

				outf(o, "    %.*s\n", (int)n, p);
				p += n + (p[n] == '\n');
			}
		}
		for (i = 0; i < sc->nbad; i++) {
			const struct tfs_scrub_bad *b = &sc->bads[i];
			char path[sizeof(b->path)];
			char *p;

			/* printed on root's terminal: no control characters */
			snprintf(path, sizeof(path), "%s", b->path);
			for (p = path; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			if (b->dev < fs->pool.ndev)
				outf(o, "  %s offset %llu: %s offset %llu\n", path,
				     (unsigned long long)b->off, fs->pool.dev[b->dev].d_path,
				     (unsigned long long)b->dev_off);
			else
				outf(o, "  %s offset %llu\n", path, (unsigned long long)b->off);
		}
		if (bad > sc->nbad)
			outf(o, "  (%llu more not listed)\n", (unsigned long long)(bad - sc->nbad));
	}
	pthread_mutex_unlock(&sc->lock);
}

static void scrub_cmd(struct tfs_fs *fs, struct out *o, unsigned int rate, int json)
{
	int ret = tfs_scrub_start(fs, rate);

	if (ret < 0) {
		outf(o, "error: %s\n", ret == -EBUSY ? "a scrub is running already" : strerror(-ret));
		return;
	}
	scrub_report(fs, o, json);
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
	struct miginfo mi;
	unsigned int d, cls;
	char uuid[37], a[32], b[32], e[32], f[32];

	tfs_uuid_str(fs->pool.sb.s_pool_uuid, uuid);
	outf(o, "pool %s%s%s mounted on %s, chunk %u KiB\n\n", uuid, fs->pool.sb.s_label[0] ? " " : "",
	     fs->pool.sb.s_label, c->mnt, fs->pool.chunk_size >> 10);
	outf(o, "%-3s %-6s %-12s %-12s %7s %-12s %-12s  %s\n", "dev", "tier", "capacity", "used",
	     "use%", "read", "written", "path");
	for (d = 0; d < fs->pool.ndev; d++) {
		if (!tfs_dev_present(fs, d))
			continue;
		dev_info(fs, d, &x);
		outf(o, "%-3u %-6s %-12s %-12s %6.1f%% %-12s %-12s  %s%s\n", d,
		     tfs_dev_class_str(fs->pool.sb.s_dev[d].sd_class), mib(x.cap, a, sizeof(a)),
		     mib(x.used, b, sizeof(b)), x.cap ? 100.0 * (double)x.used / (double)x.cap : 0.0,
		     mib(x.rb, e, sizeof(e)), mib(x.wb, f, sizeof(f)), fs->pool.dev[d].d_path,
		     fs->pool.sb.s_dev[d].sd_flags & TFS_SD_DRAINING ? " (being emptied)" : "");
		if (fs->pool.sb.s_dev[d].sd_class == TFS_CLASS_RADOS) {
			struct tfs_rados_stat rs;

			tfs_rados_stats(&fs->pool.dev[d], &rs);
			outf(o, "    rados: %s, %llu objects, %llu in flight; %llu reads (mean %llu us), %llu writes (mean %llu us), %llu removes, %llu errors; timeout %u s, moves paused %llu times\n",
			     tfs_rados_online(&fs->pool.dev[d]) ? "online" : "OFFLINE (mounted degraded)",
			     (unsigned long long)x.chunks, (unsigned long long)rs.inflight,
			     (unsigned long long)rs.reads,
			     (unsigned long long)(rs.reads ? rs.read_ns / rs.reads / 1000 : 0),
			     (unsigned long long)rs.writes,
			     (unsigned long long)(rs.writes ? rs.write_ns / rs.writes / 1000 : 0),
			     (unsigned long long)rs.removes, (unsigned long long)rs.errors,
			     tfs_rados_timeout_s,
			     (unsigned long long)__atomic_load_n(&fs->eng.rados_pauses, __ATOMIC_RELAXED));
		}
		if (!x.zoned)
			continue;
		outf(o, "    zones: %u of %llu KiB (capacity %llu KiB): %u empty, %u open, %u closed, %u full",
		     fs->zns.nzones[d], (unsigned long long)(fs->zns.zsize[d] >> 10),
		     (unsigned long long)(fs->zns.zcap[d] >> 10), x.zc[TFS_ZC_EMPTY],
		     x.zc[TFS_ZC_IMP_OPEN] + x.zc[TFS_ZC_EXP_OPEN], x.zc[TFS_ZC_CLOSED],
		     x.zc[TFS_ZC_FULL]);
		if (x.zc[TFS_ZC_READONLY] + x.zc[TFS_ZC_OFFLINE])
			outf(o, ", %u read-only, %u offline", x.zc[TFS_ZC_READONLY],
			     x.zc[TFS_ZC_OFFLINE]);
		if (x.zs[TIER_Z_RETIRED])
			outf(o, "; %u retired (%llu live chunks lost)", x.zs[TIER_Z_RETIRED],
			     (unsigned long long)x.z.lost_chunks);
		outf(o, " (+2 superblock zones)\n    garbage %s, kept free for the cleaner %s, write amplification %.2f, %llu zones cleaned (%llu chunks moved), %llu resets\n",
		     mib(x.garbage, a, sizeof(a)), mib(x.reserved, b, sizeof(b)), wa(&x), (unsigned long long)x.z.cleaned_zones,
		     (unsigned long long)x.z.moved_chunks, (unsigned long long)x.z.resets);
		outf(o, "    since mount, MiB written (user data) and moved out by cleaning, per stream:");
		for (unsigned int st = 0; st < TIER_STREAM_MAX; st++)
			outf(o, "%s %s %llu (%llu) %llu", st ? "," : "", stream_names[st],
			     (unsigned long long)(x.z.s_dev[st] >> 20),
			     (unsigned long long)(x.z.s_user[st] >> 20),
			     (unsigned long long)(x.z.s_cleaned[st] >> 20));
		outf(o, "\n");
	}
	mig_info(fs, &mi);
	outf(o, "\n%-6s %8s %8s %11s  %s\n", "tier", "promoted", "demoted", "threshold",
	     "chunks by heat (idle, <2, <4, <8, ... <65536)");
	for (cls = 0; cls < TFS_CLASS_MAX; cls++) {
		unsigned int i, any = 0;

		for (d = 0; d < fs->pool.ndev; d++)
			any |= fs->pool.sb.s_dev[d].sd_class == cls;
		if (!any)
			continue;
		outf(o, "%-6s %8llu %8llu %11u ", tfs_dev_class_str(cls),
		     (unsigned long long)__atomic_load_n(&fs->eng.promoted[cls], __ATOMIC_RELAXED),
		     (unsigned long long)__atomic_load_n(&fs->eng.demoted[cls], __ATOMIC_RELAXED),
		     mi.plan.thr[cls]);
		for (i = 0; i < HEAT_OCTAVES; i++)
			outf(o, " %llu", (unsigned long long)mi.oct[cls][i]);
		outf(o, "\n");
	}
	outf(o, "\nmigration %s: %llu passes, %s moved, backlog %llu chunks, %llu moves redone after a write, %llu failed\n",
	     mi.pol.migrate ? "on" : "off",
	     (unsigned long long)__atomic_load_n(&fs->eng.passes, __ATOMIC_RELAXED),
	     mib(__atomic_load_n(&fs->eng.moved_bytes, __ATOMIC_RELAXED), a, sizeof(a)),
	     (unsigned long long)mi.backlog,
	     (unsigned long long)__atomic_load_n(&fs->eng.redone, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&fs->eng.failed, __ATOMIC_RELAXED));
	{
		struct tfs_meta_stats ms;

		tfs_meta_stats(fs->meta, &ms);
		outf(o, "\nmetadata: checkpoint %llu, %llu commits; log %s in %llu segments (two copies each), %s live; last checkpoint %s in %.1f ms, longest lock hold %.1f ms\n",
		     (unsigned long long)ms.gen, (unsigned long long)ms.commits,
		     mib(ms.log_bytes, a, sizeof(a)), (unsigned long long)ms.log_segments,
		     mib(ms.log_live, b, sizeof(b)), mib(ms.ckpt_bytes_last, e, sizeof(e)),
		     (double)ms.ckpt_us_last / 1000, (double)ms.ckpt_pause_max_us / 1000);
		outf(o, "checksum cache: %s cached, %s pending, %llu hits, %llu misses\n",
		     mib(ms.cs_cached_bytes, a, sizeof(a)), mib(ms.cs_dirty_bytes, b, sizeof(b)),
		     (unsigned long long)ms.cs_hits, (unsigned long long)ms.cs_misses);
	}
	outf(o, "\nFUSE: transport %s, protocol %u.%u%s%s\n",
	     fs->fconn.transport ? fs->fconn.transport : "dev", fs->fconn.major, fs->fconn.minor,
	     fs->fconn.killpriv_v2 ? ", privileges killed by tierfs (HANDLE_KILLPRIV_V2)" : "",
	     fs->fconn.no_opendir ? ", no OPENDIR" : "");
	if (fs->fconn.over_uring) {
		uint64_t served;
		unsigned int nq, nw;

		tfs_uring_stats(fs->fconn.uring, &served, &nq, &nw);
		outf(o, "io_uring: %u queues, %u entries (one worker each), %llu requests served\n",
		     nq, nw, (unsigned long long)served);
	}
	requests_text(fs, o);
	if (fs->zns.errors)
		outf(o, "\n%u zone write pointer inconsistencies at mount: run fsck.tierfs\n",
		     fs->zns.errors);
}

/* where INO: the chunks of a file as extents of one device each */
static void where(struct tfs_ctl *c, struct out *o, uint64_t ino, int json)
{
	struct tfs_fs *fs = c->fs;
	uint64_t per[TFS_CLASS_MAX] = { 0 }, next = 0, start = 0, n = 0, heat = 0;
	uint32_t epoch = tier_engine_epoch(&fs->eng);
	struct tfs_inode *in;
	struct tfs_chunk *ch, *first = NULL;
	unsigned int pin, cls, nx = 0;
	char a[32], b[32];

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in || !S_ISREG(in->i_mode)) {
		outf(o, "error: inode %llu is %s\n", (unsigned long long)ino,
		     in ? "not a regular file" : "not in this pool");
		goto unlock;
	}
	pin = tfs_inode_pin(in);
	for (ch = tier_cmap_next(&in->i_map, 0); ch; ch = tier_cmap_next(&in->i_map, ch->c_idx + 1))
		per[fs->pool.alloc.a_dev[ch->c_dev].a_class]++;
	if (json) {
		outf(o, "{\"ino\": %llu, \"size\": %llu, \"chunk_size\": %u, \"chunks\": %llu, \"pin\": ",
		     (unsigned long long)ino, (unsigned long long)in->i_size, fs->pool.chunk_size,
		     (unsigned long long)in->i_map.m_count);
		if (pin < TFS_CLASS_MAX)
			outf(o, "\"%s\"", tfs_dev_class_str(pin));
		else
			outf(o, "null");
		outf(o, ", \"pin_over_quota\": %s, \"tiers\": {",
		     in->i_flags & TFS_I_PIN_OVER ? "true" : "false");
		for (cls = 0; cls < TFS_CLASS_MAX; cls++)
			outf(o, "%s\"%s\": {\"chunks\": %llu, \"bytes\": %llu}", cls ? ", " : "",
			     tfs_dev_class_str(cls), (unsigned long long)per[cls],
			     (unsigned long long)(per[cls] << fs->pool.chunk_shift));
		outf(o, "}, \"extents\": [");
	} else {
		outf(o, "inode %llu: %s, %llu chunk%s of %u KiB%s%s%s\n", (unsigned long long)ino,
		     mib(in->i_size, a, sizeof(a)), (unsigned long long)in->i_map.m_count,
		     in->i_map.m_count == 1 ? "" : "s", fs->pool.chunk_size >> 10,
		     pin < TFS_CLASS_MAX ? ", pinned to " : "",
		     pin < TFS_CLASS_MAX ? tfs_dev_class_str(pin) : "",
		     in->i_flags & TFS_I_PIN_OVER ? " (over its owner's pin quota: placed as unpinned)" : "");
		for (cls = 0; cls < TFS_CLASS_MAX; cls++)
			if (per[cls])
				outf(o, "  %-6s %llu chunks (%s)\n", tfs_dev_class_str(cls),
				     (unsigned long long)per[cls],
				     mib(per[cls] << fs->pool.chunk_shift, a, sizeof(a)));
		outf(o, "%-14s %-14s %-6s %-4s %8s  %s\n", "offset", "length", "tier", "dev",
		     "max heat", "path");
	}
	/* runs of consecutive chunks on one device */
	for (ch = tier_cmap_next(&in->i_map, 0);; ch = tier_cmap_next(&in->i_map, ch->c_idx + 1)) {
		if (first && (!ch || ch->c_idx != next || ch->c_dev != first->c_dev)) {
			unsigned int dv = first->c_dev;
			const char *t = tfs_dev_class_str(fs->pool.alloc.a_dev[dv].a_class);

			if (json) {
				outf(o, "%s{\"offset\": %llu, \"length\": %llu, \"chunks\": %llu, "
					"\"tier\": \"%s\", \"device\": %u, \"path\": ",
				     nx ? ", " : "", (unsigned long long)(start << fs->pool.chunk_shift),
				     (unsigned long long)(n << fs->pool.chunk_shift), (unsigned long long)n,
				     t, dv);
				outs(o, fs->pool.dev[dv].d_path);
				outf(o, ", \"max_heat\": %llu}", (unsigned long long)heat);
			} else {
				outf(o, "%-14s %-14s %-6s %-4u %8llu  %s\n",
				     mib(start << fs->pool.chunk_shift, a, sizeof(a)),
				     mib(n << fs->pool.chunk_shift, b, sizeof(b)), t, dv,
				     (unsigned long long)heat, fs->pool.dev[dv].d_path);
			}
			nx++;
			first = NULL;
		}
		if (!ch)
			break;
		if (!first) {
			first = ch;
			start = ch->c_idx;
			n = heat = 0;
		}
		n++;
		next = ch->c_idx + 1;
		if (tier_heat_get(ch, epoch) > heat)
			heat = tier_heat_get(ch, epoch);
	}
	if (json)
		outf(o, "]}\n");
unlock:
	pthread_mutex_unlock(&fs->lock);
}

/* count INO CLASS: "<chunks> <chunks on CLASS>" (tierfsctl pin --wait) */
static void count(struct tfs_ctl *c, struct out *o, uint64_t ino, unsigned int cls)
{
	struct tfs_fs *fs = c->fs;
	struct tfs_inode *in;
	struct tfs_chunk *ch;
	uint64_t on = 0;

	pthread_mutex_lock(&fs->lock);
	in = tfs_inode_get(fs, ino);
	if (!in || !S_ISREG(in->i_mode)) {
		outf(o, "error: inode %llu is not a regular file of this pool\n", (unsigned long long)ino);
	} else {
		for (ch = tier_cmap_next(&in->i_map, 0); ch;
		     ch = tier_cmap_next(&in->i_map, ch->c_idx + 1))
			on += fs->pool.alloc.a_dev[ch->c_dev].a_class == cls;
		outf(o, "%llu %llu\n", (unsigned long long)in->i_map.m_count, (unsigned long long)on);
	}
	pthread_mutex_unlock(&fs->lock);
}

static void policy_show(struct tfs_fs *fs, struct out *o, int json)
{
	const struct tier_policy_def *d;
	struct tier_policy p;
	char v[32];

	pthread_mutex_lock(&fs->lock);
	p = fs->eng.pol;
	pthread_mutex_unlock(&fs->lock);
	outf(o, json ? "{" : "");
	for (d = tier_policy_table; d->name; d++) {
		tier_policy_fmt(&p, d, v, sizeof(v));
		if (json)
			outf(o, "%s\"%s\": %s%s%s", d == tier_policy_table ? "" : ", ", d->name,
			     !strcmp(d->unit, "tier") ? "\"" : "", v,
			     !strcmp(d->unit, "tier") ? "\"" : "");
		else
			outf(o, "%-16s %-8s %-6s %s\n", d->name, v, !strcmp(d->unit, "tier") ? "" : d->unit,
			     d->help);
	}
	outf(o, json ? "}\n" : "");
}

/* policy set K=V... [save]: all or nothing; "save" writes them to the
 * pool's tierfs.conf too */
static void policy_set(struct tfs_fs *fs, struct out *o, char *args, int json)
{
	struct tier_policy p;
	char *tok, *save = NULL, err[256], *kv[64];
	unsigned int n = 0;
	int ret = 1, persist = 0;

	pthread_mutex_lock(&fs->lock);
	p = fs->eng.pol;
	for (tok = strtok_r(args, " ", &save); tok && ret == 1; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "save")) {
			persist = 1;
			continue;
		}
		ret = tier_policy_set(&p, tok, err, sizeof(err));
		if (ret == 0)
			snprintf(err, sizeof(err), "unknown policy key '%.*s'", (int)strcspn(tok, "="), tok);
		if (ret == 1 && n == sizeof(kv) / sizeof(kv[0])) {
			snprintf(err, sizeof(err), "at most %zu settings at once", sizeof(kv) / sizeof(kv[0]));
			ret = -EINVAL;
		}
		if (ret == 1)
			kv[n++] = tok;
	}
	if (ret == 1 && persist && !fs->conf_path) {
		snprintf(err, sizeof(err), "no tierfs.conf path for this pool");
		ret = -EINVAL;
	}
	if (ret == 1 && tier_policy_check(&p, err, sizeof(err)) < 0)
		ret = -EINVAL;
	if (ret == 1) {
		tier_engine_set_policy(&fs->eng, &p);
		fs->pool.alloc.a_high = p.high;
	}
	pthread_mutex_unlock(&fs->lock);
	if (ret != 1) {
		outf(o, "error: %s\n", err);
		return;
	}
	if (persist) {
		int r = tfs_conf_save(fs->conf_path, kv, n);

		if (r < 0) {
			outf(o, "error: set until unmount, but not saved: %s: %s\n", fs->conf_path,
			     strerror(-r));
			return;
		}
		if (!json)
			outf(o, "saved to %s\n", fs->conf_path);
	}
	policy_show(fs, o, json);
}

/* memory: what the namespace holds in memory, by part (walks everything:
 * for tests and benchmarks, not for monitoring) */
static void memory(struct tfs_fs *fs, struct out *o, int json)
{
	struct tfs_memstat ms;

	tfs_memstat(fs, &ms);
	if (json)
		outf(o, "{\"inodes\": %llu, \"inode_bytes\": %llu, \"dirent_bytes\": %llu, "
			"\"chunks\": %llu, \"chunk_bytes\": %llu, \"map_bytes\": %llu}\n",
		     (unsigned long long)ms.inodes, (unsigned long long)ms.inode_bytes,
		     (unsigned long long)ms.dirent_bytes, (unsigned long long)ms.chunks,
		     (unsigned long long)ms.chunk_bytes, (unsigned long long)ms.map_bytes);
	else
		outf(o, "inodes %llu: %llu bytes (+ %llu bytes of directory entries)\nchunks %llu: %llu bytes (+ %llu bytes of chunk maps)\n",
		     (unsigned long long)ms.inodes, (unsigned long long)ms.inode_bytes,
		     (unsigned long long)ms.dirent_bytes, (unsigned long long)ms.chunks,
		     (unsigned long long)ms.chunk_bytes, (unsigned long long)ms.map_bytes);
}

/* checkpoint: write one now (what changed since the last one) */
static void checkpoint_now(struct tfs_fs *fs, struct out *o, int json)
{
	struct tfs_meta_stats ms;
	int ret;

	if (fs->ns.readonly) {
		outf(o, "error: the pool is mounted read-only\n");
		return;
	}
	ret = tfs_meta_checkpoint(fs->meta, 0);
	if (ret < 0) {
		outf(o, "error: the checkpoint failed: %s\n", strerror(-ret));
		return;
	}
	tfs_meta_stats(fs->meta, &ms);
	if (json)
		outf(o, "{\"checkpoint\": %llu, \"bytes\": %llu, \"us\": %llu, \"max_lock_us\": %llu}\n",
		     (unsigned long long)ms.gen, (unsigned long long)ms.ckpt_bytes_last,
		     (unsigned long long)ms.ckpt_us_last, (unsigned long long)ms.ckpt_pause_max_us);
	else
		outf(o, "checkpoint %llu: %llu bytes written in %.1f ms\n", (unsigned long long)ms.gen,
		     (unsigned long long)ms.ckpt_bytes_last, (double)ms.ckpt_us_last / 1000);
}

static void migrate_start(struct tfs_fs *fs, struct out *o)
{
	uint64_t t;

	pthread_mutex_lock(&fs->lock);
	t = fs->eng.running ? tier_engine_kick(&fs->eng, 1) : 0;
	pthread_mutex_unlock(&fs->lock);
	if (!t)
		outf(o, "error: the migration engine is not running\n");
	else
		outf(o, "%llu\n", (unsigned long long)t);
}

/* progress T: "<done 0/1> <moved> <planned> <backlog>" */
static void progress(struct tfs_fs *fs, struct out *o, uint64_t t)
{
	pthread_mutex_lock(&fs->lock);
	outf(o, "%d %llu %llu %llu\n", fs->eng.force_done >= t,
	     (unsigned long long)fs->eng.force_moved, (unsigned long long)fs->eng.force_planned,
	     (unsigned long long)fs->eng.backlog);
	pthread_mutex_unlock(&fs->lock);
}

/* device list: every entry of the device table with its state */
static void device_list(struct tfs_fs *fs, struct out *o, int json)
{
	unsigned int d, n = __atomic_load_n(&fs->pool.ndev, __ATOMIC_ACQUIRE);
	uint64_t left, stuck, moved;

	pthread_mutex_lock(&fs->lock);
	left = fs->eng.evac_left;
	stuck = fs->eng.evac_stuck;
	moved = __atomic_load_n(&fs->eng.evac_moved, __ATOMIC_RELAXED);
	if (json)
		outf(o, "{\"generation\": %u, \"devices\": [", fs->pool.sb.s_gen);
	else
		outf(o, "%-5s %-5s %-9s %10s %10s  %s\n", "index", "tier", "state", "size MiB",
		     "used MiB", "path");
	for (d = 0; d < n; d++) {
		const struct tfs_sb_dev *sd = &fs->pool.sb.s_dev[d];
		const struct tier_alloc_dev *ad = &fs->pool.alloc.a_dev[d];
		const char *path = tfs_dev_present(fs, d) ? fs->pool.dev[d].d_path : sd->sd_path;
		uint64_t cap = (ad->a_nslots << fs->pool.chunk_shift);
		uint64_t used = tier_alloc_dev_used(&fs->pool.alloc, d) << fs->pool.chunk_shift;

		if (json) {
			outf(o, "%s{\"index\": %u, \"tier\": \"%s\", \"state\": \"%s\", \"path\": ",
			     d ? ", " : "", d, tfs_dev_class_str(sd->sd_class), tfs_dev_state(fs, d));
			outs(o, path);
			outf(o, ", \"metadata\": %s, \"capacity_bytes\": %llu, \"used_bytes\": %llu",
			     d == fs->pool.sb.s_meta_dev ? "true" : "false", (unsigned long long)cap,
			     (unsigned long long)used);
			if (sd->sd_flags & TFS_SD_DRAINING)
				outf(o, ", \"slots_in_use\": %llu, \"slots_at_start\": %llu",
				     (unsigned long long)tier_alloc_dev_used(&fs->pool.alloc, d),
				     (unsigned long long)fs->pool.drain_total[d]);
			outf(o, "}");
		} else {
			outf(o, "%-5u %-5s %-9s %10llu %10llu  %s%s\n", d, tfs_dev_class_str(sd->sd_class),
			     tfs_dev_state(fs, d), (unsigned long long)(cap >> 20),
			     (unsigned long long)(used >> 20), path,
			     d == fs->pool.sb.s_meta_dev ? " (journal, checkpoints)" : "");
		}
	}
	if (json)
		outf(o, "], \"evacuation\": {\"chunks_left\": %llu, \"chunks_stuck\": %llu, \"chunks_moved\": %llu}}\n",
		     (unsigned long long)left, (unsigned long long)stuck, (unsigned long long)moved);
	else if (tier_engine_evacuating(&fs->eng) || left)
		outf(o, "emptying: %llu chunks left (%llu with no room elsewhere), %llu moved since mount\n",
		     (unsigned long long)left, (unsigned long long)stuck, (unsigned long long)moved);
	pthread_mutex_unlock(&fs->lock);
}

/* device state D: "<state> <slots in use> <slots at start> <stuck>" */
static void device_state(struct tfs_fs *fs, struct out *o, unsigned int d)
{
	pthread_mutex_lock(&fs->lock);
	if (d >= fs->pool.ndev)
		outf(o, "error: no device %u\n", d);
	else
		outf(o, "%s %llu %llu %llu\n", tfs_dev_state(fs, d),
		     (unsigned long long)tier_alloc_dev_used(&fs->pool.alloc, d),
		     (unsigned long long)fs->pool.drain_total[d], (unsigned long long)fs->eng.evac_stuck);
	pthread_mutex_unlock(&fs->lock);
}

/* device add CLASS FORCE PATH | device remove DEV: a line for the user,
 * "error: ..." on failure; the index follows "device " on success */
static void device_change(struct tfs_fs *fs, struct out *o, char *args, int json)
{
	char msg[1024];
	unsigned int cls = TFS_CLASS_MAX;
	int force = 0, ret;
	char cname[16];
	unsigned long long zmib = 0;
	int off = 0;

	if (sscanf(args, "add %15s %d %llu %n", cname, &force, &zmib, &off) == 3 && off > 0 &&
	    zmib <= 65536) {
		int c = strcmp(cname, "auto") ? tfs_pin_parse(cname, strlen(cname)) : TFS_CLASS_MAX;

		if (c < 0) {
			outf(o, "error: unknown tier '%s'\n", cname);
			return;
		}
		cls = (unsigned int)c;
		ret = tfs_dev_add(fs, args + off, cls, force, zmib << 20, msg, sizeof(msg));
	} else if (!strncmp(args, "remove ", 7)) {
		ret = tfs_dev_remove(fs, args + 7, msg, sizeof(msg));
	} else {
		outf(o, "error: device add TIER FORCE ZONE_MIB PATH | device remove DEV\n");
		return;
	}
	if (ret < 0)
		outf(o, "error: %s\n", msg);
	else if (json) {
		outf(o, "{\"index\": %d, \"message\": ", ret);
		outs(o, msg);
		outf(o, "}\n");
	} else {
		outf(o, "%s\n", msg);
	}
}

static void serve(struct tfs_ctl *c, int fd)
{
	struct out o = { 0 };
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	char line[4096], *arg;
	unsigned long long v1, v2;
	int json;
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
	/* a trailing " json" asks for JSON */
	n = (ssize_t)strlen(line);
	json = n > 5 && !strcmp(line + n - 5, " json");
	if (json)
		line[n - 5] = 0;
	if (!strcmp(line, "status"))
		json ? status_json(c, &o) : status_text(c, &o);
	else if (sscanf(line, "where %llu", &v1) == 1)
		where(c, &o, v1, json);
	else if (sscanf(line, "count %llu %llu", &v1, &v2) == 2 && v2 < TFS_CLASS_MAX)
		count(c, &o, v1, (unsigned int)v2);
	else if (sscanf(line, "scrub start %llu", &v1) == 1 && v1 <= 1000000)
		scrub_cmd(c->fs, &o, (unsigned int)v1, json);
	else if (!strcmp(line, "scrub"))
		scrub_report(c->fs, &o, json);
	else if (!strcmp(line, "top"))
		top_sample(c, &o);
	else if (!strcmp(line, "metrics"))
		metrics(c, &o);
	else if (!strcmp(line, "memory"))
		memory(c->fs, &o, json);
	else if (!strcmp(line, "checkpoint"))
		checkpoint_now(c->fs, &o, json);
	else if (!strcmp(line, "migrate"))
		migrate_start(c->fs, &o);
	else if (sscanf(line, "progress %llu", &v1) == 1)
		progress(c->fs, &o, v1);
	else if (!strcmp(line, "policy"))
		policy_show(c->fs, &o, json);
	else if (!strcmp(line, "device list"))
		device_list(c->fs, &o, json);
	else if (sscanf(line, "device state %llu", &v1) == 1 && v1 < TFS_MAX_DEVS)
		device_state(c->fs, &o, (unsigned int)v1);
	else if (!strncmp(line, "device ", 7) && (arg = line + 7))
		device_change(c->fs, &o, arg, json);
	else if (!strncmp(line, "policy set ", 11) && (arg = line + 11))
		policy_set(c->fs, &o, arg, json);
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

/*
 * src/fsck.c - fsck.tierfs: check a pool offline, repair what is safe.
 *
 * What it checks:
 *   - both superblock copies of every device;
 *   - the metadata of both checkpoint generations: both headers, the log
 *     of the newer (it is loaded) and the segments only the older one still
 *     uses, both journal halves as far as either checkpoint needs them, and
 *     every checksum page copy that either generation needs (meta.h,
 *     tfs_meta_verify): lost redundancy is reported even when nothing is lost
 *     yet;
 *   - journal damage followed by later transactions: acknowledged changes
 *     that would be lost;
 *   - the zone tables of emulated zoned devices (both copies), and every
 *     zone's write pointer against the chunks that metadata puts in it;
 *   - the tree: connectivity, link counts, parent pointers, orphans, data
 *     past the end of files; with --scrub every data block against its
 *     checksum.
 *
 * -y repairs only what needs no guess, and says what it discards first:
 * link counts and parent pointers are recomputed from the directory
 * entries, orphans freed, a damaged superblock copy rewritten from the good
 * one, data blocks past the end of a file dropped; metadata that no longer
 * verifies is left behind: what can be proven intact is loaded (damaged
 * journal transactions are skipped, damaged log pages and the units in
 * them are lost, entries naming lost inodes are removed, chunks whose
 * checksums are lost read as EIO) and written anew, twice, so that both
 * generations are whole again.  It never invents names or data: a
 * disconnected inode or a bad data block is reported and left alone.
 *
 * Exit status as e2fsck: 0 clean, 1 errors fixed, 4 errors left, 8 could
 * not check.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tfs.h"

#define EXIT_CLEAN 0
#define EXIT_FIXED 1
#define EXIT_LEFT 4
#define EXIT_OPERATIONAL 8

#define tfs_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct fsck {
	struct tfs_fs *fs;
	int repair;
	int verbose;
	unsigned int found, fixed;
	unsigned int recovered; /* orphans freed: recovery, not errors */
	struct tfs_htab seen; /* inodes reached from the root */
	/* --json: the report's lines go to stderr, the problems are kept
	 * here and printed as JSON on the real stdout (json_fd) at the end */
	int json_fd;
	char **problems;
	unsigned int nproblems;
	uint64_t scrub_read, scrub_bad;
};

struct seen_node {
	struct tfs_hnode hn;
	uint32_t names; /* directory entries naming it */
	uint32_t subdirs;
	uint64_t parent; /* the directory it was reached from (dirs) */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fsck.tierfs [-n | -y] [-f] [--scrub] [--map] [--json] [--devices P1:P2...] DEVICE\n"
		"\n"
		"Check the tierfs pool DEVICE belongs to (it must not be mounted).\n"
		"\n"
		"    -n             report only, write nothing (the default)\n"
		"    -y             repair what is safe: link counts, parent pointers, orphans,\n"
		"                   superblock copies, data past the end of files, damaged\n"
		"                   metadata copies (what no longer verifies is discarded, and\n"
		"                   listed first)\n"
		"    -f             check even if the pool was unmounted cleanly (always done)\n"
		"    --scrub        also read every data block and verify its checksum\n"
		"    --map          list the pool's on-media regions and stop\n"
		"    --json         the report as JSON on stdout (its lines go to stderr)\n"
		"    --devices LIST the pool's other devices, ':'-separated, if they moved\n"
		"    -v             name every inode checked\n"
		"    -h, --help     this text\n"
		"    -V, --version  version\n"
		"\n"
		"Exit status: 0 clean, 1 errors fixed, 4 errors left uncorrected, 8 could not check.\n");
}

static void problem(struct fsck *k, int fixable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct fsck *k, int fixable, const char *fmt, ...)
{
	va_list ap;

	char line[1024];
	const char *how;

	k->found++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fixable && k->repair) {
		k->fixed++;
		how = "fixed";
	} else {
		how = fixable ? "fixable with -y" : "left alone";
	}
	printf("%s: %s\n", line, how);
	if (k->json_fd >= 0) {
		char **p = realloc(k->problems, (k->nproblems + 1) * sizeof(*p));
		size_t n = strlen(line) + strlen(how) + 3;

		if (p) {
			k->problems = p;
			p[k->nproblems] = malloc(n);
			if (p[k->nproblems]) {
				snprintf(p[k->nproblems], n, "%s: %s", line, how);
				k->nproblems++;
			}
		}
	}
}

static struct seen_node *seen_get(struct fsck *k, uint64_t ino)
{
	struct tfs_hnode *h = tfs_htab_find(&k->seen, ino);
	struct seen_node *s;

	if (h)
		return tfs_container_of(h, struct seen_node, hn);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->hn.h_key = ino;
	tfs_htab_insert(&k->seen, &s->hn);
	return s;
}

/* breadth-first from the root: count names and subdirectories per inode */
static int walk(struct fsck *k)
{
	struct tfs_fs *fs = k->fs;
	uint64_t *queue, head = 0, tail = 0, cap = fs->ns.ninodes + 1;
	struct seen_node *s;

	queue = malloc(cap * sizeof(*queue));
	s = seen_get(k, TFS_ROOT_INO);
	if (!queue || !s) {
		free(queue);
		return -ENOMEM;
	}
	s->parent = TFS_ROOT_INO;
	queue[tail++] = TFS_ROOT_INO;
	while (head < tail) {
		struct tfs_inode *dir = tfs_inode_get(fs, queue[head++]);
		struct tfs_dir *d = dir ? tfs_idir(dir) : NULL;
		size_t i;

		for (i = 0; d && i < d->dr_len; i++) {
			struct tfs_dirent *de = d->dr_ents[i];
			struct tfs_inode *in;

			if (!de)
				continue;
			in = tfs_inode_get(fs, de->d_ino);
			s = seen_get(k, de->d_ino);
			if (!s) {
				free(queue);
				return -ENOMEM;
			}
			s->names++;
			if (!in || !S_ISDIR(in->i_mode))
				continue;
			seen_get(k, dir->i_ino)->subdirs++;
			if (s->names > 1) {
				problem(k, 0, "directory %llu has a second name '%s' in %llu",
					(unsigned long long)in->i_ino, de->d_name,
					(unsigned long long)dir->i_ino);
				continue;
			}
			s->parent = dir->i_ino;
			if (tail < cap)
				queue[tail++] = in->i_ino;
		}
	}
	free(queue);
	return 0;
}

static void check_inode(void *arg, struct tfs_inode *in)
{
	struct fsck *k = arg;
	struct tfs_fs *fs = k->fs;
	struct tfs_hnode *h = tfs_htab_find(&k->seen, in->i_ino);
	struct seen_node *s = h ? tfs_container_of(h, struct seen_node, hn) : NULL;
	uint32_t want, cb = fs->pool.chunk_blocks;
	struct tier_cgroup *grp;
	uint64_t g;

	if (k->verbose)
		printf("inode %llu mode %o nlink %u size %llu\n", (unsigned long long)in->i_ino,
		       in->i_mode, in->i_nlink, (unsigned long long)in->i_size);
	if (!s) {
		if (in->i_nlink == 0) {
			/* unlinked while open (or awaiting the kernel's forget) when
			 * the daemon stopped: part of recovery, like the journal */
			printf("inode %llu is an orphan (unlinked while in use, %u chunks): %s\n",
			       (unsigned long long)in->i_ino, in->i_map.m_count,
			       k->repair ? "freed" : "freed at the next mount");
			if (k->repair) {
				tfs_inode_destroy(fs, in);
				k->recovered++;
			}
		} else {
			problem(k, 0, "inode %llu (nlink %u) cannot be reached from the root",
				(unsigned long long)in->i_ino, in->i_nlink);
		}
		return;
	}
	want = S_ISDIR(in->i_mode) ? 2 + s->subdirs : s->names;
	if (in->i_nlink != want) {
		problem(k, 1, "inode %llu has link count %u, should be %u",
			(unsigned long long)in->i_ino, in->i_nlink, want);
		if (k->repair) {
			in->i_nlink = want;
			tfs_inode_dirty(fs, in);
		}
	}
	if (S_ISDIR(in->i_mode) && tfs_iparent(in) != s->parent) {
		problem(k, 1, "directory %llu records parent %llu, is in %llu",
			(unsigned long long)in->i_ino, (unsigned long long)tfs_iparent(in),
			(unsigned long long)s->parent);
		if (k->repair) {
			tfs_iparent_set(in, s->parent);
			tfs_inode_dirty(fs, in);
		}
	}
	if (!S_ISREG(in->i_mode) && in->i_map.m_count) {
		problem(k, 0, "inode %llu is not a regular file but has %u chunks",
			(unsigned long long)in->i_ino, in->i_map.m_count);
	}
	/* data blocks past the end of the file (preallocated empty chunks are fine) */
	g = (in->i_size >> fs->pool.chunk_shift) >> TIER_GROUP_SHIFT;
	while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
		uint64_t mask = grp->g_present;

		while (mask) {
			unsigned int bit = (unsigned int)__builtin_ctzll(mask);
			uint64_t idx = (g << TIER_GROUP_SHIFT) + bit;
			struct tfs_chunk *c = tier_cmap_get(&in->i_map, idx);
			uint64_t first = (idx << fs->pool.chunk_shift) / TFS_BLOCK_SIZE;
			uint64_t eof_blk = (in->i_size + TFS_BLOCK_SIZE - 1) / TFS_BLOCK_SIZE;
			uint32_t b, extra = 0;

			mask &= mask - 1;
			for (b = 0; b < cb; b++)
				if (tier_chunk_has(c, b) && first + b >= eof_blk)
					extra++;
			if (!extra)
				continue;
			problem(k, 1, "inode %llu has %u data blocks past its end in chunk %llu",
				(unsigned long long)in->i_ino, extra, (unsigned long long)idx);
			if (k->repair) {
				for (b = 0; b < cb; b++)
					if (tier_chunk_has(c, b) && first + b >= eof_blk) {
						tier_chunk_clear(c, b);
						in->i_map.m_blocks--;
					}
				tfs_chunk_dirty(fs, in, c);
			}
		}
		g++;
	}
}

struct scrub {
	struct fsck *k;
	uint8_t *buf;
	uint64_t total, done, bad, resealed;
	int tty;
};

static void scrub_total(void *arg, struct tfs_inode *in)
{
	((struct scrub *)arg)->total += in->i_map.m_blocks;
}

static void scrub_inode(void *arg, struct tfs_inode *in)
{
	struct scrub *sc = arg;
	struct tfs_fs *fs = sc->k->fs;
	uint64_t off;

	if (!S_ISREG(in->i_mode) || tfs_inode_hold(fs, in) < 0)
		return;
	pthread_mutex_unlock(&fs->lock);
	for (off = 0; off < in->i_size; off += 1u << 20) {
		/* one block at a time only where a MiB fails: name each bad one */
		if (tfs_read(fs, in, off, 1u << 20, sc->buf) >= 0)
			continue;
		for (uint64_t o = off; o < off + (1u << 20) && o < in->i_size; o += TFS_BLOCK_SIZE) {
			struct tfs_chunk *c = tier_cmap_get(&in->i_map, o >> fs->pool.chunk_shift);

			if (tfs_read(fs, in, o, TFS_BLOCK_SIZE, sc->buf) >= 0)
				continue;
			const struct tfs_intent *it = c ? tfs_intent_get(fs, c) : NULL;
			uint32_t b = (uint32_t)((o / TFS_BLOCK_SIZE) % fs->pool.chunk_blocks);

			if (it && ((it->i_mask[b / 64] >> (b % 64)) & 1)) {
				/* written in place at the crash: old or new
				 * data, re-checksummed at the next mount */
				sc->resealed++;
				continue;
			}
			sc->bad++;
			problem(sc->k, 0, "inode %llu: data at offset %llu fails its checksum",
				(unsigned long long)in->i_ino, (unsigned long long)o);
		}
	}
	pthread_mutex_lock(&fs->lock);
	sc->done += in->i_map.m_blocks;
	tfs_inode_unhold(fs, in);
	if (sc->tty)
		fprintf(stderr, "\rscrub: %llu of %llu MiB", (unsigned long long)(sc->done >> 8),
			(unsigned long long)(sc->total >> 8));
}

static int scrub(struct fsck *k)
{
	struct scrub sc = { .k = k, .tty = isatty(STDERR_FILENO) };

	sc.buf = tfs_io_alloc((1u << 20) + 2 * TFS_BLOCK_SIZE);
	if (!sc.buf)
		return -ENOMEM;
	pthread_mutex_lock(&k->fs->lock);
	tfs_inode_each(k->fs, scrub_total, &sc);
	tfs_inode_each(k->fs, scrub_inode, &sc);
	pthread_mutex_unlock(&k->fs->lock);
	if (sc.tty)
		fputc('\n', stderr);
	sc.k->scrub_read = sc.done;
	sc.k->scrub_bad = sc.bad;
	printf("scrub: %llu data blocks read, %llu bad, %llu written at a crash (re-checksummed at mount)\n",
	       (unsigned long long)sc.done, (unsigned long long)sc.bad,
	       (unsigned long long)sc.resealed);
	tfs_io_free(sc.buf);
	return 0;
}

/* what fsck is doing, on a terminal only (the scrub shows its progress) */
static void phase(int json, const char *what)
{
	if (!json && what && isatty(STDERR_FILENO))
		fprintf(stderr, "fsck.tierfs: %s\n", what);
}

/* both superblock copies of every device, as they are on the media */
static void check_superblocks(struct fsck *k)
{
	unsigned int d;

	for (d = 0; d < k->fs->pool.ndev; d++) {
		uint8_t *buf = tfs_io_alloc(2 * TFS_SB_SIZE);
		struct tfs_sb sb;
		int r0, r1;

		if (!buf)
			continue;
		if (!tfs_dev_present(k->fs, d)) {
			tfs_io_free(buf);
			continue;
		}
		tfs_sb_read_raw(&k->fs->pool.dev[d], buf);
		r0 = tfs_sb_decode(&sb, buf);
		r1 = tfs_sb_decode(&sb, buf + TFS_SB_SIZE);
		tfs_io_free(buf);
		if (r0 == 0 && r1 == 0)
			continue;
		problem(k, 1, "%s: superblock copy %d is damaged", k->fs->pool.dev[d].d_path, r0 ? 0 : 1);
		if (k->repair && tfs_sb_read(&k->fs->pool.dev[d], &sb, 1) < 0)
			printf("  rewrite failed\n");
	}
}

static void check_zone_tables(struct fsck *k)
{
	unsigned int d;

	for (d = 0; d < k->fs->pool.ndev; d++) {
		char why[128];

		if (!k->fs->zns.spz[d] || tfs_zns_emu_verify(&k->fs->pool.dev[d], why, sizeof(why)) <= 0)
			continue;
		problem(k, 1, "%s: %s", k->fs->pool.dev[d].d_path, why);
		/* a flush persists the table into the copy that is not the
		 * newest: the damaged one */
		if (k->repair && (tfs_io_flush(&k->fs->pool.dev[d]) < 0 ||
				  tfs_zns_emu_verify(&k->fs->pool.dev[d], why, sizeof(why)) > 0))
			printf("  rewrite failed: %s\n", why);
	}
}

/* what the metadata load found; 1 if the metadata must be rewritten */
/* objects of a rados tier that no chunk names: left by a crash between
 * writing an object and committing the move that would have used it, or
 * between committing a move out of rados and removing the old object */
struct orphans {
	struct fsck *k;
	unsigned int dev;
	uint64_t n, removed;
	int err;
	int keep; /* the metadata is damaged: what it lost may name them */
	uint8_t *buf; /* --scrub: a chunk, to check each object against its xattr */
	uint64_t checked, damaged;
};

/* 1 if a chunk of the pool is the object of @key (@slot: format 6 names) */
static int object_named(struct fsck *k, unsigned int d, const struct tfs_okey *key, uint64_t slot)
{
	struct tfs_inode *in;
	struct tfs_chunk *c;

	if (!key->gen) /* a format-6 name: the slot's chunk, if it has none */
		return slot < k->fs->pool.sb.s_dev[d].sd_nslots &&
		       tier_alloc_used(&k->fs->pool.alloc, d, slot);
	in = tfs_inode_get(k->fs, key->ino);
	c = in && S_ISREG(in->i_mode) ? tier_cmap_get(&in->i_map, key->idx) : NULL;
	return c && c->c_dev == d && tfs_chunk_ogen(k->fs, c) == key->gen;
}

static int orphan_one(void *arg, const struct tfs_okey *key, uint64_t slot)
{
	struct orphans *o = arg;
	struct fsck *k = o->k;
	struct tfs_io_dev *dev = &k->fs->pool.dev[o->dev];
	char name[64];

	tfs_rados_name(key, slot, name, sizeof(name));
	if (object_named(k, o->dev, key, slot)) {
		int ret;

		if (!o->buf)
			return 0;
		ret = tfs_rados_verify(dev, key, slot, o->buf, k->fs->pool.chunk_size);
		o->checked++;
		if (ret < 0) {
			o->damaged++;
			char of[64] = "";

			if (key->gen)
				snprintf(of, sizeof(of), " (inode %llu, offset %llu)",
					 (unsigned long long)key->ino,
					 (unsigned long long)key->idx * k->fs->pool.chunk_size);
			problem(k, 0, "%s: object %s%s %s", dev->d_path, name, of,
				ret == -EBADMSG ? "fails its checksum (changed behind the pool's back)"
						: strerror(-ret));
		}
		return 0;
	}
	o->n++;
	if (o->n <= 20)
		problem(k, !o->keep, "%s: object %s is named by no chunk (an orphan)", dev->d_path,
			name);
	if (k->repair && !o->keep) {
		int ret = tfs_rados_remove_sync(dev, key, slot);

		if (ret < 0 && ret != -ENOENT)
			o->err = ret;
		else
			o->removed++;
	}
	return 0;
}

static void check_rados(struct fsck *k, int damaged, int scrub)
{
	unsigned int d;

	for (d = 0; d < k->fs->pool.ndev; d++) {
		struct orphans o = { .k = k, .dev = d, .keep = damaged };
		int ret;

		if (k->fs->pool.sb.s_dev[d].sd_class != TFS_CLASS_RADOS || !tfs_dev_present(k->fs, d))
			continue;
		if (scrub)
			o.buf = tfs_io_alloc(k->fs->pool.chunk_size);
		ret = tfs_rados_list(&k->fs->pool.dev[d], orphan_one, &o);
		tfs_io_free(o.buf);
		if (scrub)
			printf("%s: %llu objects checked against their checksums, %llu damaged\n",
			       k->fs->pool.dev[d].d_path, (unsigned long long)o.checked,
			       (unsigned long long)o.damaged);
		if (ret < 0 && ret != -EOPNOTSUPP)
			problem(k, 0, "%s: listing its objects failed: %s", k->fs->pool.dev[d].d_path,
				strerror(-ret));
		if (o.n > 20)
			problem(k, !o.keep, "%s: %llu more orphan objects", k->fs->pool.dev[d].d_path,
				(unsigned long long)(o.n - 20));
		if (o.n && o.keep)
			printf("%s: orphan objects are kept while the metadata is damaged (records it lost may name them): run fsck.tierfs -y again once it is repaired\n",
			       k->fs->pool.dev[d].d_path);
		if (o.err)
			printf("%s: removing orphan objects failed: %s (%llu of %llu removed)\n",
			       k->fs->pool.dev[d].d_path, strerror(-o.err),
			       (unsigned long long)o.removed, (unsigned long long)o.n);
		else if (k->repair && o.n)
			printf("%s: %llu orphan object%s removed\n", k->fs->pool.dev[d].d_path,
			       (unsigned long long)o.n, o.n == 1 ? "" : "s");
	}
}

static int check_load(struct fsck *k)
{
	const struct tfs_meta_report *r = tfs_meta_report(k->fs->meta);
	int rewrite = 0;

	if (r->older)
		problem(k, 1, "the newest checkpoint does not load (%s); checkpoint %llu and the journal give the whole pool",
			r->what, (unsigned long long)r->gen);
	if (r->jrnl_lost) {
		rewrite = 1;
		problem(k, 1, "the journal is damaged: acknowledged changes after the damage are %s",
			k->repair ? "discarded (the transactions that verify were applied)" : "lost");
	}
	if (k->fs->ns.load_bad)
		problem(k, 1, "%u inconsistenc%s in the metadata (listed above)", k->fs->ns.load_bad,
			k->fs->ns.load_bad == 1 ? "y" : "ies");
	if (r->log_lost) {
		rewrite = 1;
		problem(k, 1, "%u page%s of the metadata log no longer verif%s: what they held is %s",
			r->log_lost, r->log_lost == 1 ? "" : "s", r->log_lost == 1 ? "ies" : "y",
			k->repair ? "discarded (entries naming lost inodes were removed)" : "lost");
	}
	return rewrite;
}

static void mapping(struct tfs_fs *fs)
{
	uint32_t cb = fs->pool.chunk_blocks;
	unsigned int d;
	size_t b;

	/* offsets are device offsets; a device emulated in a file starts at
	 * file offset BASE ("dev IDX BASE SIZE live CLASS PATH"), and its zone
	 * tables are given as file offsets */
	for (d = 0; d < fs->pool.ndev; d++) {
		const struct tfs_io_dev *dev = &fs->pool.dev[d];
		uint64_t base = 0, toff, tlen;
		int emu;

		if (!tfs_dev_present(fs, d))
			continue;
		emu = tfs_zns_emu_layout(dev, &base, &toff, &tlen) == 0;
		printf("dev %u %llu %llu live %s %s\n", d, (unsigned long long)base,
		       (unsigned long long)dev->d_size, tfs_dev_class_str(fs->pool.sb.s_dev[d].sd_class),
		       dev->d_path);
		if (emu) {
			printf("ztab %u %llu %llu live zone table copy A (file offset)\n", d,
			       (unsigned long long)toff, (unsigned long long)tlen);
			printf("ztab %u %llu %llu live zone table copy B (file offset)\n", d,
			       (unsigned long long)(toff + tlen), (unsigned long long)tlen);
		}
	}
	for (d = 0; d < fs->pool.ndev; d++) {
		if (!tfs_dev_present(fs, d))
			continue;
		printf("sb %u 0 %u live superblock copy 0\n", d, TFS_SB_SIZE);
		if (!fs->zns.spz[d])
			printf("sb %u %u %u live superblock copy 1\n", d, TFS_SB_COPY1, TFS_SB_SIZE);
		else
			printf("sb %u %llu %u live superblock copy 1\n", d,
			       (unsigned long long)fs->zns.zsize[d], TFS_SB_SIZE);
	}
	tfs_meta_map(fs->meta, stdout);
	for (b = 0; b < fs->ns.itab_size; b++) {
		struct tfs_inode *in;

		for (in = fs->ns.itab[b]; in; in = in->i_hnext) {
			struct tier_cgroup *grp;
			uint64_t g = 0;

			while ((grp = tier_cmap_group_next(&in->i_map, &g))) {
				unsigned int i, n = (unsigned int)__builtin_popcountll(grp->g_present);

				for (i = 0; i < n; i++) {
					const struct tfs_chunk *c = grp->g_c[i];
					uint32_t k;

					const struct tfs_intent *it = tfs_intent_get(fs, c);

					/* a block a live write intent names may hold a
					 * write that was never committed: a mismatch
					 * there is resealed, not damage ("intent") */
					for (k = 0; k < cb; k++)
						if (tier_chunk_has(c, k))
							printf("data %u %llu %u live inode %llu offset %llu%s\n",
							       c->c_dev,
							       (unsigned long long)(tfs_slot_off(fs, c->c_dev, c->c_slot) +
										    (uint64_t)k * TFS_BLOCK_SIZE),
							       TFS_BLOCK_SIZE, (unsigned long long)in->i_ino,
							       (unsigned long long)(((uint64_t)c->c_idx * cb + k) *
										    TFS_BLOCK_SIZE),
							       it && ((it->i_mask[k / 64] >> (k % 64)) & 1) ? " intent" : "");
				}
				g++;
			}
		}
	}
}

static void seen_free(struct fsck *k)
{
	size_t b;

	for (b = 0; b < k->seen.t_size; b++)
		while (k->seen.t_b[b]) {
			struct tfs_hnode *h = k->seen.t_b[b];

			k->seen.t_b[b] = h->h_next;
			free(tfs_container_of(h, struct seen_node, hn));
		}
	tfs_htab_destroy(&k->seen);
}

/* --json */
static struct fsck *json_k;
static const char *json_dev;
static int json_rc = -1, json_done;

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* the summary; @k->fs NULL when the pool could not be opened */
static void json_report(struct fsck *k, const char *dev, int rc)
{
	FILE *f = fdopen(k->json_fd, "w");
	unsigned int i;
	size_t d;

	json_done = 1;
	fflush(stdout);
	if (!f) {
		for (i = 0; i < k->nproblems; i++)
			free(k->problems[i]);
		free(k->problems);
		k->problems = NULL;
		close(k->json_fd);
		k->json_fd = -1;
		return;
	}
	fprintf(f, "{\"device\": ");
	json_str(f, dev);
	fprintf(f, ", \"exit_status\": %d, \"problems\": %u, \"fixed\": %u", rc, k->found, k->fixed);
	if (k->fs) {
		char uuid[40];

		tfs_uuid_str(k->fs->pool.sb.s_pool_uuid, uuid);
		fprintf(f, ", \"pool_uuid\": \"%s\", \"inodes\": %llu, \"slots\": %llu, \"slots_used\": %llu, \"devices\": [",
			uuid, (unsigned long long)k->fs->ns.ninodes,
			(unsigned long long)k->fs->pool.alloc.a_nslots,
			(unsigned long long)(k->fs->pool.alloc.a_nslots - k->fs->pool.alloc.a_nfree));
		for (d = 0; d < k->fs->pool.ndev; d++) {
			const struct tier_alloc_dev *ad = &k->fs->pool.alloc.a_dev[d];

			fprintf(f, "%s{\"index\": %zu, \"tier\": \"%s\", \"path\": ", d ? ", " : "", d,
				tfs_dev_class_str(k->fs->pool.sb.s_dev[d].sd_class));
			json_str(f, tfs_dev_present(k->fs, d) ? k->fs->pool.dev[d].d_path
							      : k->fs->pool.sb.s_dev[d].sd_path);
			fprintf(f, ", \"state\": \"%s\", \"slots\": %llu, \"slots_used\": %llu}",
				tfs_dev_state(k->fs, (unsigned int)d), (unsigned long long)ad->a_nslots,
				(unsigned long long)(ad->a_nslots - ad->a_nfree));
		}
		fprintf(f, "]");
	}
	fprintf(f, ", \"scrub\": ");
	if (k->scrub_read || k->scrub_bad)
		fprintf(f, "{\"blocks_read\": %llu, \"bad_blocks\": %llu}",
			(unsigned long long)k->scrub_read, (unsigned long long)k->scrub_bad);
	else
		fprintf(f, "null");
	fprintf(f, ", \"problem_list\": [");
	for (i = 0; i < k->nproblems; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, k->problems[i]);
		free(k->problems[i]);
	}
	free(k->problems);
	k->problems = NULL;
	fprintf(f, "]}\n");
	fclose(f);
	k->json_fd = -1;
}

/* an early return (the pool could not be opened): still one JSON object */
static void json_flush(void)
{
	if (json_k && !json_done) {
		json_k->fs = NULL;
		json_report(json_k, json_dev, json_rc >= 0 ? json_rc : EXIT_OPERATIONAL);
	}
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "scrub", no_argument, NULL, 's' },
		{ "map", no_argument, NULL, 'm' },
		{ "devices", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	/* a daemon that just died may hold the pool for a moment (its rings
	 * release their files asynchronously) */
	struct tfs_open_args oa = { .lock_wait_s = 10, .reserve_pct = -1 };
	struct tier_policy defpol;
	static struct fsck k; /* static: --json reports from atexit() after an early return */
	int c, do_scrub = 0, do_map = 0, do_json = 0, ret, rc, rewrite, lossy;
	unsigned int bad;
	size_t d;

	memset(&k, 0, sizeof(k));
	k.json_fd = -1;
	while ((c = getopt_long(argc, argv, "nyfvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': k.repair = 0; break;
		case 'y': k.repair = 1; break;
		case 'f': break;
		case 'v': k.verbose = 1; break;
		case 's': do_scrub = 1; break;
		case 'm': do_map = 1; break;
		case 'D': oa.devices = optarg; break;
		case 'j': do_json = 1; break;
		case 'h': usage(stdout); return EXIT_CLEAN;
		case 'V': printf("fsck.tierfs %s\n", PACKAGE_VERSION); return EXIT_CLEAN;
		default:
			fprintf(stderr, "fsck.tierfs: see fsck.tierfs --help\n");
			return EXIT_OPERATIONAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "fsck.tierfs: need exactly one DEVICE (see fsck.tierfs --help)\n");
		return EXIT_OPERATIONAL;
	}
	if (do_json && do_map) {
		fprintf(stderr, "fsck.tierfs: --map is a report of its own: not with --json\n");
		return EXIT_OPERATIONAL;
	}
	if (do_json) {
		fflush(stdout);
		k.json_fd = dup(STDOUT_FILENO);
		if (k.json_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			fprintf(stderr, "fsck.tierfs: %s\n", strerror(errno));
			return EXIT_OPERATIONAL;
		}
		atexit(json_flush);
		json_k = &k;
		json_dev = argv[optind];
	}
	/* load without writing anything, keeping what verifies: the damage is
	 * seen and reported before any repair.  Heat is loaded too (decayed at
	 * the default rate), so that the checkpoints of a repair keep it */
	oa.flags = TFS_OPEN_NOREPAIR | TFS_OPEN_SALVAGE;
	tier_policy_defaults(&defpol);
	oa.heat_halflife_ms = defpol.halflife_ms;
	phase(do_json, "loading the pool's metadata");
	ret = tfs_fs_open(&k.fs, argv[optind], &oa);
	lossy = ret == -EUCLEAN;
	if (ret < 0 && !(lossy && k.fs)) {
		if (ret == -EUCLEAN) {
			printf("the pool's metadata is damaged beyond what can be loaded (see above): left alone\n");
			json_rc = EXIT_LEFT;
			return EXIT_LEFT;
		}
		return EXIT_OPERATIONAL;
	}
	if (do_map) {
		mapping(k.fs);
		tfs_fs_close(k.fs);
		tfs_io_thread_exit();
		return EXIT_CLEAN;
	}
	if (tfs_htab_init(&k.seen, k.fs->ns.ninodes) < 0 || walk(&k) < 0) {
		fprintf(stderr, "fsck.tierfs: out of memory\n");
		tfs_fs_close(k.fs);
		return EXIT_OPERATIONAL;
	}
	rewrite = check_load(&k);
	phase(do_json, "checking every redundant metadata copy");
	bad = tfs_meta_verify(k.fs->meta, stdout);
	if (bad)
		problem(&k, 1, "%u redundant metadata cop%s (listed above) damaged", bad,
			bad == 1 ? "y is" : "ies are");
	check_superblocks(&k);
	check_zone_tables(&k);
	phase(do_json, "looking for orphan objects of the rados tier");
	check_rados(&k, lossy || rewrite || k.found, do_scrub);
	for (d = 0; d < k.fs->pool.ndev; d++)
		if (k.fs->zns.zstat[d].lost_chunks)
			problem(&k, 0, "%s: %llu live chunks lie in offline zones: their data is lost (reads as EIO)",
				k.fs->pool.dev[d].d_path,
				(unsigned long long)k.fs->zns.zstat[d].lost_chunks);
	if (k.fs->zns.errors)
		problem(&k, 0, "%u zone write pointer inconsistenc%s (listed above): chunks lie beyond what their zone holds",
			k.fs->zns.errors, k.fs->zns.errors == 1 ? "y" : "ies");
	pthread_mutex_lock(&k.fs->lock);
	if (k.repair)
		k.fs->ns.loading = 2; /* fixes go to the checkpoints fsck writes */
	phase(do_json, "checking every file's chunks");
	tfs_inode_each(k.fs, check_inode, &k);
	pthread_mutex_unlock(&k.fs->lock);
	phase(do_json, NULL);
	if (do_scrub && scrub(&k) < 0)
		fprintf(stderr, "fsck.tierfs: scrub stopped: out of memory\n");
	printf("%s: %llu inodes, %llu of %llu chunk slots used, %u problem%s, %u fixed\n",
	       argv[optind], (unsigned long long)k.fs->ns.ninodes,
	       (unsigned long long)(k.fs->pool.alloc.a_nslots - k.fs->pool.alloc.a_nfree),
	       (unsigned long long)k.fs->pool.alloc.a_nslots, k.found, k.found == 1 ? "" : "s",
	       k.fixed);
	for (d = 0; d < k.fs->pool.ndev; d++) {
		const struct tier_alloc_dev *ad = &k.fs->pool.alloc.a_dev[d];

		if (!tfs_dev_present(k.fs, d)) {
			printf("  device %zu %-5s %s: removed\n", d,
			       tfs_dev_class_str(k.fs->pool.sb.s_dev[d].sd_class),
			       k.fs->pool.sb.s_dev[d].sd_path);
			continue;
		}
		printf("  device %zu %-5s %s: %llu of %llu slots used%s%s\n", d,
		       tfs_dev_class_str(k.fs->pool.sb.s_dev[d].sd_class), k.fs->pool.dev[d].d_path,
		       (unsigned long long)(ad->a_nslots - ad->a_nfree),
		       (unsigned long long)ad->a_nslots,
		       d == k.fs->pool.sb.s_meta_dev ? ", journal" : "",
		       k.fs->pool.sb.s_dev[d].sd_flags & TFS_SD_DRAINING ? ", being emptied" : "");
		if (ad->a_z) {
			uint32_t zs[TIER_Z_NSTATES];
			const struct tfs_zstat *z = &k.fs->zns.zstat[d];

			tier_zone_counts(&k.fs->pool.alloc, (unsigned int)d, zs);
			printf("    %u data zones: %u free, %u open, %u full, %u to reset, %u retired; %llu slots of garbage; write amplification %.2f (%llu bytes written for %llu bytes of user data)\n",
			       ad->a_z->z_nzones, zs[TIER_Z_FREE], zs[TIER_Z_OPEN], zs[TIER_Z_FULL],
			       zs[TIER_Z_RECLAIM], zs[TIER_Z_RETIRED],
			       (unsigned long long)tier_zone_garbage(&k.fs->pool.alloc, (unsigned int)d),
			       z->user_bytes ? (double)z->dev_bytes / (double)z->user_bytes : 0.0,
			       (unsigned long long)z->dev_bytes, (unsigned long long)z->user_bytes);
		}
	}
	rc = k.found == 0 ? EXIT_CLEAN : k.fixed == k.found ? EXIT_FIXED : EXIT_LEFT;
	if (k.repair && (k.fixed || k.recovered || rewrite || lossy)) {
		k.fs->ns.loading = 0;
		/* two checkpoints: both generations whole again, every damaged
		 * copy rewritten (a whole new log when the log or journal lost
		 * something) */
		if (tfs_meta_repair(k.fs->meta) < 0) {
			fprintf(stderr, "fsck.tierfs: writing the repairs failed\n");
			rc = EXIT_OPERATIONAL;
		} else if (tfs_meta_verify(k.fs->meta, stdout)) {
			printf("damaged metadata copies remain after the repair\n");
			rc = EXIT_LEFT;
		} else if (tfs_unmount(k.fs) < 0) {
			fprintf(stderr, "fsck.tierfs: writing the repairs failed\n");
			rc = EXIT_OPERATIONAL;
		}
	}
	json_rc = rc;
	if (k.json_fd >= 0)
		json_report(&k, argv[optind], rc);
	seen_free(&k);
	tfs_fs_close(k.fs);
	tfs_io_thread_exit();
	return rc;
}

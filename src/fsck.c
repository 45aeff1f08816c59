/*
 * src/fsck.c - fsck.tierfs: check a pool offline, repair what is safe.
 *
 * Loading the pool already checks a lot: both superblock copies of every
 * device, the checkpoint checksums, the journal up to its first invalid
 * transaction, every record's form, that every name points at an inode and
 * that no slot is used twice.  On top of that fsck walks the tree from the
 * root and checks connectivity, link counts, parent pointers, orphans and
 * chunks past the end of file; with --scrub it reads every data block and
 * verifies its checksum.
 *
 * -y repairs only what needs no guess: link counts and parent pointers
 * recomputed from the directory entries, orphans (nameless inodes) freed,
 * a damaged superblock copy rewritten from the good one, data blocks past the
 * end of a file dropped.  It never invents names or data: a disconnected
 * inode or a bad data block is reported and left alone.
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

struct fsck {
	struct tfs_fs *fs;
	int repair;
	int verbose;
	unsigned int found, fixed;
	unsigned int recovered; /* orphans freed: recovery, not errors */
	struct tfs_htab seen; /* inodes reached from the root */
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
		"usage: fsck.tierfs [-n | -y] [-f] [--scrub] [--devices P1:P2...] DEVICE\n"
		"\n"
		"Check the tierfs pool DEVICE belongs to (it must not be mounted).\n"
		"\n"
		"    -n             report only, write nothing (the default)\n"
		"    -y             repair what is safe: link counts, parent pointers, orphans,\n"
		"                   superblock copies, data past the end of files\n"
		"    -f             check even if the pool was unmounted cleanly (always done)\n"
		"    --scrub        also read every data block and verify its checksum\n"
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

	k->found++;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fixable && k->repair) {
		k->fixed++;
		printf(": fixed\n");
	} else {
		printf(fixable ? ": fixable with -y\n" : ": left alone\n");
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
	uint64_t *queue, head = 0, tail = 0, cap = fs->ninodes + 1;
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
		size_t i;

		for (i = 0; i < dir->i_dir->dr_len; i++) {
			struct tfs_dirent *de = dir->i_dir->dr_ents[i];
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
			if (!S_ISDIR(in->i_mode))
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

static void check_inode(struct fsck *k, struct tfs_inode *in)
{
	struct tfs_fs *fs = k->fs;
	struct tfs_hnode *h = tfs_htab_find(&k->seen, in->i_ino);
	struct seen_node *s = h ? tfs_container_of(h, struct seen_node, hn) : NULL;
	uint32_t want;
	struct tfs_chunk *c;

	if (k->verbose)
		printf("inode %llu mode %o nlink %u size %llu\n", (unsigned long long)in->i_ino,
		       in->i_mode, in->i_nlink, (unsigned long long)in->i_size);
	if (!s) {
		if (in->i_nlink == 0) {
			/* unlinked while open (or awaiting the kernel's forget) when
			 * the daemon stopped: part of recovery, like the journal */
			printf("inode %llu is an orphan (unlinked while in use, %llu chunks): %s\n",
			       (unsigned long long)in->i_ino, (unsigned long long)in->i_map.m_count,
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
	if (S_ISDIR(in->i_mode) && in->i_parent != s->parent) {
		problem(k, 1, "directory %llu records parent %llu, is in %llu",
			(unsigned long long)in->i_ino, (unsigned long long)in->i_parent,
			(unsigned long long)s->parent);
		if (k->repair) {
			in->i_parent = s->parent;
			tfs_inode_dirty(fs, in);
		}
	}
	if (!S_ISREG(in->i_mode) && in->i_map.m_count) {
		problem(k, 0, "inode %llu is not a regular file but has %llu chunks",
			(unsigned long long)in->i_ino, (unsigned long long)in->i_map.m_count);
	}
	/* data blocks past the end of the file (preallocated empty chunks are fine) */
	for (c = tier_cmap_next(&in->i_map, in->i_size >> fs->chunk_shift); c;
	     c = tier_cmap_next(&in->i_map, c->c_idx + 1)) {
		uint64_t first = (c->c_idx << fs->chunk_shift) / TFS_BLOCK_SIZE;
		uint64_t eof_blk = (in->i_size + TFS_BLOCK_SIZE - 1) / TFS_BLOCK_SIZE;
		uint32_t b, extra = 0;

		for (b = 0; b < c->c_nblocks; b++)
			if (tier_chunk_has(c, b) && first + b >= eof_blk)
				extra++;
		if (!extra)
			continue;
		problem(k, 1, "inode %llu has %u data blocks past its end in chunk %llu",
			(unsigned long long)in->i_ino, extra, (unsigned long long)c->c_idx);
		if (k->repair) {
			for (b = 0; b < c->c_nblocks; b++)
				if (tier_chunk_has(c, b) && first + b >= eof_blk) {
					tier_chunk_clear(c, b);
					in->i_map.m_blocks--;
				}
			tfs_chunk_dirty(fs, c);
		}
	}
}

static int scrub(struct fsck *k)
{
	struct tfs_fs *fs = k->fs;
	uint64_t total = 0, done = 0, bad = 0, resealed = 0;
	int tty = isatty(STDERR_FILENO);
	uint8_t *buf;
	size_t b;

	buf = tfs_io_alloc((1u << 20) + 2 * TFS_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	for (b = 0; b < fs->inodes.t_size; b++) {
		struct tfs_hnode *h;

		for (h = fs->inodes.t_b[b]; h; h = h->h_next)
			total += tfs_container_of(h, struct tfs_inode, i_hnode)->i_map.m_blocks;
	}
	for (b = 0; b < fs->inodes.t_size; b++) {
		struct tfs_hnode *h;

		for (h = fs->inodes.t_b[b]; h; h = h->h_next) {
			struct tfs_inode *in = tfs_container_of(h, struct tfs_inode, i_hnode);
			uint64_t off;

			if (!S_ISREG(in->i_mode))
				continue;
			for (off = 0; off < in->i_size; off += 1u << 20) {
				/* one block at a time only where a MiB fails: name each bad one */
				if (tfs_read(fs, in, off, 1u << 20, buf) >= 0)
					continue;
				for (uint64_t o = off; o < off + (1u << 20) && o < in->i_size;
				     o += TFS_BLOCK_SIZE) {
					struct tfs_chunk *c = tier_cmap_get(&in->i_map, o >> fs->chunk_shift);

					if (tfs_read(fs, in, o, TFS_BLOCK_SIZE, buf) >= 0)
						continue;
					if (c && (c->c_flags & TIER_CHUNK_INTENT)) {
						/* written in place at the crash: old or new
						 * data, re-checksummed at the next mount */
						resealed++;
						continue;
					}
					bad++;
					problem(k, 0, "inode %llu: data at offset %llu fails its checksum",
						(unsigned long long)in->i_ino, (unsigned long long)o);
				}
			}
			done += in->i_map.m_blocks;
			if (tty)
				fprintf(stderr, "\rscrub: %llu of %llu MiB",
					(unsigned long long)(done >> 8), (unsigned long long)(total >> 8));
		}
	}
	if (tty)
		fputc('\n', stderr);
	printf("scrub: %llu data blocks read, %llu bad, %llu written at a crash (re-checksummed at mount)\n",
	       (unsigned long long)done, (unsigned long long)bad, (unsigned long long)resealed);
	tfs_io_free(buf);
	return 0;
}

/* both superblock copies of every device, as they are on the media */
static void check_superblocks(struct fsck *k)
{
	unsigned int d;

	for (d = 0; d < k->fs->ndev; d++) {
		uint8_t *buf = tfs_io_alloc(2 * TFS_SB_SIZE);
		struct tfs_sb sb;
		int r0, r1;

		if (!buf)
			continue;
		tfs_sb_read_raw(&k->fs->dev[d], buf);
		r0 = tfs_sb_decode(&sb, buf);
		r1 = tfs_sb_decode(&sb, buf + TFS_SB_SIZE);
		tfs_io_free(buf);
		if (r0 == 0 && r1 == 0)
			continue;
		problem(k, 1, "%s: superblock copy %d is damaged", k->fs->dev[d].d_path, r0 ? 0 : 1);
		if (k->repair && tfs_sb_read(&k->fs->dev[d], &sb, 1) < 0)
			printf("  rewrite failed\n");
	}
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "scrub", no_argument, NULL, 's' },
		{ "devices", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *devices = NULL;
	struct fsck k;
	int c, do_scrub = 0, ret, rc;
	size_t b;

	memset(&k, 0, sizeof(k));
	while ((c = getopt_long(argc, argv, "nyfvhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': k.repair = 0; break;
		case 'y': k.repair = 1; break;
		case 'f': break;
		case 'v': k.verbose = 1; break;
		case 's': do_scrub = 1; break;
		case 'D': devices = optarg; break;
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
	/* repairs are fsck's own, after it has seen and reported the damage */
	ret = tfs_fs_open(&k.fs, argv[optind], devices, 0, TFS_OPEN_NOREPAIR);
	if (ret == -EUCLEAN) {
		printf("the pool's metadata is inconsistent (see above): left alone\n");
		return EXIT_LEFT;
	}
	if (ret < 0)
		return EXIT_OPERATIONAL;
	if (tfs_htab_init(&k.seen, k.fs->ninodes) < 0 || walk(&k) < 0) {
		fprintf(stderr, "fsck.tierfs: out of memory\n");
		tfs_fs_close(k.fs);
		return EXIT_OPERATIONAL;
	}
	check_superblocks(&k);
	if (k.fs->zone_errors)
		problem(&k, 0, "%u zone write pointer inconsistenc%s (listed above): chunks lie beyond what their zone holds",
			k.fs->zone_errors, k.fs->zone_errors == 1 ? "y" : "ies");
	if (k.fs->need_ckpt)
		problem(&k, 1, "the newest checkpoint is damaged (loaded the older one and the journal)");
	pthread_mutex_lock(&k.fs->lock);
	for (b = 0; b < k.fs->inodes.t_size; b++) {
		struct tfs_hnode *h, *next;

		for (h = k.fs->inodes.t_b[b]; h; h = next) {
			next = h->h_next; /* check_inode may free an orphan */
			check_inode(&k, tfs_container_of(h, struct tfs_inode, i_hnode));
		}
	}
	pthread_mutex_unlock(&k.fs->lock);
	if (do_scrub && scrub(&k) < 0)
		fprintf(stderr, "fsck.tierfs: scrub stopped: out of memory\n");
	printf("%s: %llu inodes, %llu of %llu chunk slots used, %u problem%s, %u fixed\n",
	       argv[optind], (unsigned long long)k.fs->ninodes,
	       (unsigned long long)(k.fs->alloc.a_nslots - k.fs->alloc.a_nfree),
	       (unsigned long long)k.fs->alloc.a_nslots, k.found, k.found == 1 ? "" : "s", k.fixed);
	for (b = 0; b < k.fs->ndev; b++) {
		const struct tier_alloc_dev *ad = &k.fs->alloc.a_dev[b];

		printf("  device %zu %-5s %s: %llu of %llu slots used%s%s\n", b,
		       tfs_dev_class_str(k.fs->sb.s_dev[b].sd_class), k.fs->dev[b].d_path,
		       (unsigned long long)(ad->a_nslots - ad->a_nfree),
		       (unsigned long long)ad->a_nslots,
		       b == k.fs->sb.s_meta_dev ? ", journal" : "",
		       b == k.fs->sb.s_ckpt_dev ? ", checkpoints" : "");
		if (ad->a_z) {
			uint32_t zs[4];
			const struct tfs_zstat *z = &k.fs->zstat[b];

			tier_zone_counts(&k.fs->alloc, (unsigned int)b, zs);
			printf("    %u data zones: %u free, %u open, %u full, %u to reset; %llu slots of garbage; write amplification %.2f\n",
			       ad->a_z->z_nzones, zs[TIER_Z_FREE], zs[TIER_Z_OPEN], zs[TIER_Z_FULL],
			       zs[TIER_Z_RECLAIM],
			       (unsigned long long)tier_zone_garbage(&k.fs->alloc, (unsigned int)b),
			       z->user_bytes ? (double)z->dev_bytes / (double)z->user_bytes : 0.0);
		}
	}
	rc = k.found == 0 ? EXIT_CLEAN : k.fixed == k.found ? EXIT_FIXED : EXIT_LEFT;
	if (k.repair && (k.fixed || k.recovered) && tfs_journal_unmount(k.fs) < 0) {
		fprintf(stderr, "fsck.tierfs: writing the repairs failed\n");
		rc = EXIT_OPERATIONAL;
	}
	for (b = 0; b < k.seen.t_size; b++)
		while (k.seen.t_b[b]) {
			struct tfs_hnode *h = k.seen.t_b[b];

			k.seen.t_b[b] = h->h_next;
			free(tfs_container_of(h, struct seen_node, hn));
		}
	tfs_htab_destroy(&k.seen);
	tfs_fs_close(k.fs);
	tfs_io_thread_exit();
	return rc;
}

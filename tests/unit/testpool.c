/* tests/unit/testpool.c - see testpool.h */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include "tp_assert.h"
#include "testpool.h"

void tp_make(char *path, unsigned int cls, uint64_t size, unsigned int shift, uint64_t jrnl)
{
	struct tfs_fs *fs = tfs_fs_new();
	struct tfs_sb *sb;
	uint64_t chunk = 1ull << shift, per, ps, nslots, pages, cs_off;
	int fd;

	/* TFS_TEST_DIR: somewhere else than /tmp (the fuzz targets use
	 * /dev/shm); the path must fit in 64 bytes */
	snprintf(path, 64, "%s/tfs-unit-XXXXXX",
		 getenv("TFS_TEST_DIR") && strlen(getenv("TFS_TEST_DIR")) < 40 ? getenv("TFS_TEST_DIR")
										: "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	ck_assert_ptr_nonnull(fs);
	sb = &fs->pool.sb;
	sb->s_magic = TFS_SB_MAGIC;
	sb->s_version = TFS_SB_VERSION;
	sb->s_ndev = 1;
	sb->s_chunk_shift = shift;
	sb->s_reserve_pct = 5;
	tfs_uuid_gen(sb->s_pool_uuid);
	tfs_cs_geometry(1u << (shift - TFS_BLOCK_SHIFT), &sb->s_cs_psize, &sb->s_cs_per_page);
	sb->s_ckh_off[0] = TFS_META_START;
	sb->s_ckh_off[1] = TFS_META_START + TFS_CKH_SIZE;
	sb->s_jrnl_off = TFS_META_START + 2 * 65536;
	sb->s_jrnl_len = jrnl;
	per = sb->s_cs_per_page;
	ps = sb->s_cs_psize;
	cs_off = (sb->s_jrnl_off + jrnl + ps - 1) & ~(ps - 1);
	nslots = (size - cs_off) / (chunk + 2 * ps / per);
	for (;;) {
		pages = (nslots + per - 1) / per;
		sb->s_dev[0].sd_data_off = (cs_off + 2 * pages * ps + chunk - 1) & ~(chunk - 1);
		if (sb->s_dev[0].sd_data_off + nslots * chunk <= size)
			break;
		nslots--;
	}
	tfs_uuid_gen(sb->s_dev[0].sd_uuid);
	memcpy(sb->s_dev_uuid, sb->s_dev[0].sd_uuid, 16);
	sb->s_dev[0].sd_class = cls;
	sb->s_dev[0].sd_size = size;
	sb->s_dev[0].sd_nslots = nslots;
	sb->s_dev[0].sd_cs_dev = 0;
	sb->s_dev[0].sd_cs_off = cs_off;
	sb->s_dev[0].sd_cs_pages = pages;
	strcpy(sb->s_dev[0].sd_path, path);
	ck_assert_int_eq(tfs_io_dev_open(&fs->pool.dev[0], path, cls), 0);
	fs->pool.ndev = 1;
	ck_assert_int_eq(tfs_sb_write(&fs->pool.dev[0], sb), 0);
	ck_assert_int_eq(tfs_fs_format(fs, 0, 0), 0);
	tfs_fs_close(fs);
	tfs_io_thread_exit();
}

int tp_open_ret(const char *path, unsigned int flags, struct tfs_fs **out)
{
	struct tfs_open_args a = { .flags = flags, .reserve_pct = -1 };

	*out = NULL;
	return tfs_fs_open(out, path, &a);
}

struct tfs_fs *tp_open(const char *path, unsigned int flags)
{
	struct tfs_fs *fs;
	int ret = tp_open_ret(path, flags, &fs);

	ck_assert_msg(ret == 0, "open failed: %s", strerror(-ret));
	return fs;
}

void tp_crash(struct tfs_fs *fs)
{
	tfs_fs_close(fs);
	tfs_io_thread_exit();
}

void tp_unmount(struct tfs_fs *fs)
{
	ck_assert_int_eq(tfs_unmount(fs), 0);
	tfs_fs_close(fs);
	tfs_io_thread_exit();
}

void tp_remove(const char *path)
{
	unlink(path);
}

struct mbuf {
	char *b;
	size_t len, cap;
};

static void mput(struct mbuf *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mput(struct mbuf *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(m->b + m->len, m->cap - m->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < m->cap - m->len)
			break;
		m->cap = m->cap * 2 + (size_t)n + 1;
		m->b = realloc(m->b, m->cap);
		ck_assert_ptr_nonnull(m->b);
	}
	m->len += (size_t)n;
}

static void walk(struct tfs_fs *fs, uint64_t dir, const char *prefix, struct mbuf *m)
{
	struct tfs_inode *d;
	size_t i, n = 0;
	char **names;

	pthread_mutex_lock(&fs->lock);
	d = tfs_inode_get(fs, dir);
	ck_assert_ptr_nonnull(d);
	names = calloc(d->i_u.dir->dr_len + 1, sizeof(*names));
	for (i = 0; i < d->i_u.dir->dr_len; i++)
		if (d->i_u.dir->dr_ents[i])
			names[n++] = strdup(d->i_u.dir->dr_ents[i]->d_name);
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < n; i++) {
		char path[1024], buf[8192], xl[4096];
		struct stat st;
		int len, k;

		snprintf(path, sizeof(path), "%s/%s", prefix, names[i]);
		ck_assert_int_eq(tfs_lookup(fs, dir, names[i], &st), 0);
		mput(m, "%s %o %u %llu", path, st.st_mode, (unsigned)st.st_nlink,
		     S_ISDIR(st.st_mode) ? 0ull : (unsigned long long)st.st_size);
		if (S_ISLNK(st.st_mode)) {
			ck_assert_int_eq(tfs_readlink(fs, st.st_ino, buf, sizeof(buf)), 0);
			mput(m, " -> %s", buf);
		}
		if (S_ISREG(st.st_mode)) {
			struct tfs_inode *in;
			uint8_t *abuf = tfs_io_alloc((1u << 20) + 8192);
			uint64_t off, h = 0;

			ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
			for (off = 0; off < (uint64_t)st.st_size; off += 1u << 20) {
				ssize_t r = tfs_read(fs, in, off, 1u << 20, abuf);

				ck_assert_msg(r >= 0, "read of %s at %llu: %s", path,
					      (unsigned long long)off, strerror((int)-r));
				h ^= XXH3_64bits_withSeed(abuf + (off & 4095), (size_t)r, off);
			}
			tfs_release(fs, in);
			tfs_io_free(abuf);
			mput(m, " %016llx", (unsigned long long)h);
		}
		len = tfs_xattr_list(fs, st.st_ino, xl, sizeof(xl));
		for (k = 0; len > 0 && k < len; k += (int)strlen(xl + k) + 1) {
			int vl = tfs_xattr_get(fs, st.st_ino, xl + k, buf, sizeof(buf));

			mput(m, " x:%s=%.*s", xl + k, vl > 0 ? vl : 0, buf);
		}
		mput(m, "\n");
		if (S_ISDIR(st.st_mode))
			walk(fs, st.st_ino, path, m);
		tfs_forget(fs, st.st_ino, 1);
		free(names[i]);
	}
	free(names);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tp_manifest(struct tfs_fs *fs)
{
	struct mbuf m = { malloc(4096), 0, 4096 };
	char **lines, *out, *p, *save = NULL;
	size_t n = 0, i, cap = 64;
	struct mbuf o = { malloc(4096), 0, 4096 };

	m.b[0] = 0;
	walk(fs, TFS_ROOT_INO, "", &m);
	lines = malloc(cap * sizeof(*lines));
	for (p = strtok_r(m.b, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			lines = realloc(lines, (cap *= 2) * sizeof(*lines));
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	o.b[0] = 0;
	for (i = 0; i < n; i++)
		mput(&o, "%s\n", lines[i]);
	out = o.b;
	free(lines);
	free(m.b);
	return out;
}

static uint8_t tp_byte(unsigned int seed, uint64_t pos)
{
	return (uint8_t)(seed * 131 + pos * 7 + (pos >> 12));
}

int tp_check_content(const uint8_t *buf, size_t len, uint64_t off, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != tp_byte(seed, off + i))
			return 0;
	return 1;
}

uint64_t tp_file(struct tfs_fs *fs, uint64_t dir, const char *name, uint64_t len, unsigned int seed)
{
	const struct tfs_ctx ctx = { .uid = 0, .gid = 0 };
	struct tfs_inode *in;
	struct stat st;
	uint8_t *buf = malloc(65536);
	uint64_t off = 0;
	unsigned int i;

	ck_assert_int_eq(tfs_mknod(fs, &ctx, dir, name, S_IFREG | 0644, 0, NULL, &st), 0);
	ck_assert_int_eq(tfs_open(fs, st.st_ino, &in), 0);
	while (off < len) {
		size_t n = len - off < 65536 ? (size_t)(len - off) : 65536;

		for (i = 0; i < n; i++)
			buf[i] = tp_byte(seed, off + i);
		ck_assert_int_eq(tfs_write(fs, in, off, buf, n), (ssize_t)n);
		off += n;
	}
	tfs_release(fs, in);
	tfs_forget(fs, st.st_ino, 1);
	free(buf);
	return st.st_ino;
}

unsigned int tp_regions(struct tfs_fs *fs, const char *kind, uint64_t *offs, uint64_t *lens,
			unsigned int max)
{
	return tp_regions_match(fs, kind, NULL, offs, lens, max);
}

unsigned int tp_regions_match(struct tfs_fs *fs, const char *kind, const char *has, uint64_t *offs,
			      uint64_t *lens, unsigned int max)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	unsigned int n = 0;
	FILE *f = open_memstream(&buf, &len);

	tfs_meta_map(fs->meta, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char k[32];
		unsigned int dev;
		unsigned long long off, l;

		if (sscanf(line, "%31s %u %llu %llu", k, &dev, &off, &l) != 4 || strcmp(k, kind) ||
		    (has && !strstr(line, has)))
			continue;
		if (n < max) {
			offs[n] = off;
			lens[n] = l;
		}
		n++;
	}
	free(buf);
	return n;
}

void tp_flip(const char *path, uint64_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x5a;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/*
 * src/meta/super.c - the superblock.
 *
 * Every device starts with two copies (offsets 0 and TFS_SB_COPY1; on a
 * zoned device the starts of zones 0 and 1, see sb_off()) of an
 * 8 KiB superblock: pool and device identity, geometry of the metadata areas,
 * and the table of all devices of the pool with the paths they had at mkfs,
 * so that mounting any one of them finds the rest.  The last 8 bytes are an
 * XXH3-64 of the rest.  Encoding is explicit little-endian, field by field.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "meta.h"

void tfs_sb_encode(const struct tfs_sb *sb, uint8_t *out)
{
	struct tfs_wbuf w = { 0 };
	uint64_t csum;
	unsigned int i;

	tfs_put_u64(&w, sb->s_magic);
	tfs_put_u32(&w, sb->s_version);
	tfs_put_u32(&w, TFS_SB_SIZE);
	tfs_put_bytes(&w, sb->s_pool_uuid, 16);
	tfs_put_bytes(&w, sb->s_dev_uuid, 16);
	tfs_put_u32(&w, sb->s_dev_index);
	tfs_put_u32(&w, sb->s_ndev);
	tfs_put_u32(&w, sb->s_chunk_shift);
	tfs_put_u32(&w, sb->s_meta_dev);
	tfs_put_u32(&w, sb->s_reserve_pct);
	tfs_put_u32(&w, sb->s_cs_psize);
	tfs_put_u32(&w, sb->s_cs_per_page);
	tfs_put_u32(&w, sb->s_gen);
	tfs_put_u64(&w, sb->s_ctime);
	tfs_put_u64(&w, sb->s_jrnl_off);
	tfs_put_u64(&w, sb->s_jrnl_len);
	tfs_put_u64(&w, sb->s_ckh_off[0]);
	tfs_put_u64(&w, sb->s_ckh_off[1]);
	tfs_put_bytes(&w, sb->s_label, TFS_LABEL_MAX);
	for (i = 0; i < TFS_MAX_DEVS_FMT; i++) {
		const struct tfs_sb_dev *d = &sb->s_dev[i];

		tfs_put_bytes(&w, d->sd_uuid, 16);
		tfs_put_u32(&w, d->sd_class);
		tfs_put_u32(&w, d->sd_index);
		tfs_put_u64(&w, d->sd_size);
		tfs_put_u64(&w, d->sd_data_off);
		tfs_put_u64(&w, d->sd_nslots);
		tfs_put_u32(&w, d->sd_cs_dev);
		tfs_put_u32(&w, d->sd_flags);
		tfs_put_u64(&w, d->sd_cs_off);
		tfs_put_u64(&w, d->sd_cs_pages);
		tfs_put_bytes(&w, d->sd_path, TFS_DEV_PATH_MAX);
	}
	memset(out, 0, TFS_SB_SIZE);
	if (!w.err && w.len <= TFS_SB_SIZE - 8)
		memcpy(out, w.b, w.len);
	tfs_wbuf_free(&w);
	csum = htole64(tfs_hash(out, TFS_SB_SIZE - 8, TFS_SB_SEED));
	memcpy(out + TFS_SB_SIZE - 8, &csum, 8);
}

int tfs_sb_decode(struct tfs_sb *sb, const uint8_t *in)
{
	struct tfs_rbuf r = { .p = in, .len = TFS_SB_SIZE };
	uint64_t csum, end;
	uint32_t blocks, psize, per;
	unsigned int i;

	memset(sb, 0, sizeof(*sb));
	sb->s_magic = tfs_get_u64(&r);
	if (sb->s_magic != TFS_SB_MAGIC)
		return -ENOENT;
	memcpy(&csum, in + TFS_SB_SIZE - 8, 8);
	if (le64toh(csum) != tfs_hash(in, TFS_SB_SIZE - 8, TFS_SB_SEED))
		return -EINVAL;
	sb->s_version = tfs_get_u32(&r);
	if (sb->s_version < TFS_FORMAT_OLDEST || sb->s_version > TFS_SB_VERSION)
		return -EPROTONOSUPPORT;
	if (tfs_get_u32(&r) != TFS_SB_SIZE)
		return -EINVAL;
	memcpy(sb->s_pool_uuid, tfs_get_bytes(&r, 16), 16);
	memcpy(sb->s_dev_uuid, tfs_get_bytes(&r, 16), 16);
	sb->s_dev_index = tfs_get_u32(&r);
	sb->s_ndev = tfs_get_u32(&r);
	sb->s_chunk_shift = tfs_get_u32(&r);
	sb->s_meta_dev = tfs_get_u32(&r);
	sb->s_reserve_pct = tfs_get_u32(&r);
	sb->s_cs_psize = tfs_get_u32(&r);
	sb->s_cs_per_page = tfs_get_u32(&r);
	sb->s_gen = tfs_get_u32(&r);
	sb->s_ctime = tfs_get_u64(&r);
	sb->s_jrnl_off = tfs_get_u64(&r);
	sb->s_jrnl_len = tfs_get_u64(&r);
	sb->s_ckh_off[0] = tfs_get_u64(&r);
	sb->s_ckh_off[1] = tfs_get_u64(&r);
	memcpy(sb->s_label, tfs_get_bytes(&r, TFS_LABEL_MAX), TFS_LABEL_MAX);
	sb->s_label[TFS_LABEL_MAX - 1] = 0;
	for (i = 0; i < TFS_MAX_DEVS_FMT; i++) {
		struct tfs_sb_dev *d = &sb->s_dev[i];

		memcpy(d->sd_uuid, tfs_get_bytes(&r, 16), 16);
		d->sd_class = tfs_get_u32(&r);
		d->sd_index = tfs_get_u32(&r);
		d->sd_size = tfs_get_u64(&r);
		d->sd_data_off = tfs_get_u64(&r);
		d->sd_nslots = tfs_get_u64(&r);
		d->sd_cs_dev = tfs_get_u32(&r);
		d->sd_flags = tfs_get_u32(&r);
		d->sd_cs_off = tfs_get_u64(&r);
		d->sd_cs_pages = tfs_get_u64(&r);
		memcpy(d->sd_path, tfs_get_bytes(&r, TFS_DEV_PATH_MAX), TFS_DEV_PATH_MAX);
		d->sd_path[TFS_DEV_PATH_MAX - 1] = 0;
	}
	if (r.err)
		return -EINVAL;
	/* geometry sanity: a checksum only proves we wrote it */
	if (sb->s_ndev == 0 || sb->s_ndev > TFS_MAX_DEVS_FMT || sb->s_dev_index >= sb->s_ndev ||
	    sb->s_meta_dev >= sb->s_ndev || sb->s_chunk_shift < 16 || sb->s_chunk_shift > 22 ||
	    sb->s_jrnl_len < 4 * TFS_BLOCK_SIZE || (sb->s_jrnl_len & (2 * TFS_BLOCK_SIZE - 1)) ||
	    sb->s_reserve_pct > 50)
		return -EINVAL;
	blocks = 1u << (sb->s_chunk_shift - TFS_BLOCK_SHIFT);
	tfs_cs_geometry(blocks, &psize, &per);
	if (sb->s_cs_psize != psize || sb->s_cs_per_page != per)
		return -EINVAL;
	for (i = 0; i < sb->s_ndev; i++) {
		const struct tfs_sb_dev *d = &sb->s_dev[i];

		if (d->sd_flags & ~TFS_SD_KNOWN || (d->sd_flags && sb->s_version < 5) ||
		    (d->sd_flags && i == sb->s_meta_dev) ||
		    ((d->sd_flags & TFS_SD_REMOVED) && i == sb->s_dev_index))
			return -EINVAL;
		if (d->sd_class == TFS_CLASS_RADOS &&
		    (sb->s_version < 6 || i == sb->s_meta_dev || d->sd_cs_dev == i))
			return -EINVAL;
		if (d->sd_index != i || d->sd_class >= TFS_CLASS_MAX || d->sd_cs_dev >= sb->s_ndev ||
		    d->sd_nslots > (1ull << 40) ||
		    d->sd_cs_pages != (d->sd_nslots + per - 1) / per ||
		    d->sd_cs_off % TFS_BLOCK_SIZE)
			return -EINVAL;
		end = d->sd_cs_off + 2 * d->sd_cs_pages * psize;
		if (end < d->sd_cs_off)
			return -EINVAL;
	}
	return 0;
}

/*
 * Where copy @i of the superblock lives.  A zoned device cannot rewrite a
 * block in place: it keeps copy 0 at the start of zone 0 and copy 1 at the
 * start of zone 1, and rewrites a copy by resetting its zone (one copy at a
 * time, so one always survives).  Those two zones hold nothing else.
 */
static uint64_t sb_off(struct tfs_io_dev *dev, unsigned int i)
{
	struct tfs_zgeom g;

	if (tfs_zns_geometry(dev, &g) == 0)
		return i * g.zone_size;
	return i * (uint64_t)TFS_SB_COPY1;
}

void tfs_sb_read_raw(struct tfs_io_dev *dev, uint8_t *buf)
{
	unsigned int i;

	/* an unreadable copy (a zone never written) is just an invalid one */
	for (i = 0; i < 2; i++)
		if (tfs_io_dev_pread(dev, buf + i * TFS_SB_SIZE, TFS_SB_SIZE, sb_off(dev, i)) < 0)
			memset(buf + i * TFS_SB_SIZE, 0, TFS_SB_SIZE);
}

int tfs_sb_read(struct tfs_io_dev *dev, struct tfs_sb *sb, int repair)
{
	uint8_t *buf = tfs_io_alloc(2 * TFS_SB_SIZE);
	struct tfs_sb other;
	int r0, r1, ret = 0;

	if (!buf)
		return -ENOMEM;
	tfs_sb_read_raw(dev, buf);
	r0 = tfs_sb_decode(sb, buf);
	r1 = tfs_sb_decode(&other, buf + TFS_SB_SIZE);
	if (r0 == 0 && r1 == 0) {
		ret = 0;
	} else if (r0 == 0 || r1 == 0) {
		if (r0 != 0)
			*sb = other;
		tfs_warn("superblock copy %d is damaged; using copy %d", r0 ? 0 : 1, r0 ? 1 : 0);
		ret = repair ? tfs_sb_write(dev, sb) : 0;
	} else {
		ret = (r0 == -ENOENT && r1 == -ENOENT) ? -ENOENT : -EINVAL;
	}
	tfs_io_free(buf);
	return ret;
}

/* a zoned device: rewrite each copy's zone, one after the other */
static int sb_write_zoned(struct tfs_io_dev *dev, const uint8_t *buf)
{
	struct tfs_zone z;
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = tfs_zns_report(dev, i, &z, 1);
		if (ret < 0)
			return ret;
		if (z.cond != TFS_ZC_NOT_WP) {
			ret = tfs_zns_mgmt(dev, i, TFS_ZONE_RESET);
			if (ret < 0)
				return ret;
		}
		ret = tfs_io_dev_pwrite(dev, buf, TFS_SB_SIZE, sb_off(dev, i));
		if (ret == 0)
			ret = tfs_io_flush(dev);
		/* FULL: the zone holds no open or active resource */
		if (ret == 0 && z.cond != TFS_ZC_NOT_WP)
			ret = tfs_zns_mgmt(dev, i, TFS_ZONE_FINISH);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int tfs_sb_write(struct tfs_io_dev *dev, const struct tfs_sb *sb)
{
	uint8_t *buf = tfs_io_alloc(2 * TFS_SB_SIZE);
	int ret;

	if (!buf)
		return -ENOMEM;
	tfs_sb_encode(sb, buf);
	if (tfs_zns_is_zoned(dev)) {
		ret = sb_write_zoned(dev, buf);
		goto out_free_buf;
	}
	/* one copy durable before the other is touched: a torn write leaves
	 * the other whole */
	ret = tfs_io_dev_pwrite(dev, buf, TFS_SB_SIZE, 0);
	if (ret == 0)
		ret = tfs_io_flush(dev);
	if (ret == 0)
		ret = tfs_io_dev_pwrite(dev, buf, TFS_SB_SIZE, TFS_SB_COPY1);
	if (ret == 0)
		ret = tfs_io_flush(dev);
out_free_buf:
	tfs_io_free(buf);
	return ret;
}

struct sig {
	const char *name;
	size_t off;
	const char *magic;
	size_t len;
};

static const struct sig sigs[] = {
	{ "ext2/3/4", 1080, "\x53\xef", 2 },
	{ "xfs", 0, "XFSB", 4 },
	{ "btrfs", 65600, "_BHRfS_M", 8 },
	{ "swap", 4086, "SWAPSPACE2", 10 },
	{ "swap", 4086, "SWAP-SPACE", 10 },
	{ "LUKS", 0, "LUKS\xba\xbe", 6 },
	{ "LVM2", 536, "LVM2 001", 8 },
	{ "GPT partition table", 512, "EFI PART", 8 },
	{ "squashfs", 0, "hsqs", 4 },
	{ "iso9660", 32769, "CD001", 5 },
	{ "f2fs", 1024, "\x10\x20\xf5\xf2", 4 },
	{ "vfat", 82, "FAT32   ", 8 },
	{ "vfat", 54, "FAT16   ", 8 },
	{ "vfat", 54, "FAT12   ", 8 },
	{ "ntfs", 3, "NTFS    ", 8 },
};

const char *tfs_sb_foreign(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const struct sig *s = &sigs[i];

		if (s->len && s->off + s->len <= len && memcmp(buf + s->off, s->magic, s->len) == 0)
			return s->name;
	}
	if (len >= 512 && buf[510] == 0x55 && buf[511] == 0xaa)
		return "DOS partition table / boot sector";
	return NULL;
}

void tfs_uuid_gen(uint8_t uuid[16])
{
	if (getrandom(uuid, 16, 0) != 16) {
		/* never fatal: fall back on time and pid */
		uint64_t a = (uint64_t)time(NULL), b = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
		memcpy(uuid, &a, 8);
		memcpy(uuid + 8, &b, 8);
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

void tfs_uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

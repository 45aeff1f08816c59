/*
 * src/mkfs.c - mkfs.tierfs: format devices (or files) into a pool.
 *
 * Devices are numbered fastest first (pmem, zns, block).  Layout of a
 * device written in place (src/meta/format.h has the details):
 *   0 .. 64 KiB         two superblock copies, then padding
 *   metadata device     two checkpoint headers and the journal (the fastest
 *                       device not zoned: pmem when the pool has one)
 *   checksum tables     of the zoned devices (on the first block device,
 *                       else the metadata device), then its own
 *   data area           chunk slots from the first chunk-aligned offset on
 * A zoned device keeps its superblocks in zones 0 and 1 and data in the
 * rest.  The metadata log takes chunk slots as it grows: nothing is sized
 * for it here, and nothing but the journal is zeroed, so formatting a large
 * device costs what a small one does.
 *
 * Sizes: the journal is 1/64 of its device (1 MiB .. 64 MiB); the checksum
 * tables take 2 x 4 bytes per 4 KiB block of data (0.2 %).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"

#define MIN_SLOTS 4

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mkfs.tierfs [--force] [--chunk-size SIZE] [--label LABEL] [--reserve PCT]\n"
		"                   [--pmem PATH[:SIZE] ...] [--zns PATH[:SIZE] ...]\n"
		"                   [--block PATH[:SIZE] ...] [--rados SPEC] [zone geometry options]\n"
		"\n"
		"Format persistent memory, zoned devices, block devices or regular files into\n"
		"one tierfs pool.  At least one device is needed; any tier may be absent, but\n"
		"a pool with zoned devices needs a pmem or block device for its metadata.\n"
		"\n"
		"    --pmem PATH[:SIZE]   a persistent-memory device: a file on a DAX file system,\n"
		"                         a device-dax character device, or a regular file (e.g.\n"
		"                         under /dev/shm) emulating one; holds the journal and the\n"
		"                         hottest data.  A missing file is created with SIZE\n"
		"    --block PATH[:SIZE]  a capacity device; a missing file is created with SIZE\n"
		"                         (e.g. pool.img:4G); chunks are striped across devices\n"
		"    --zns PATH[:SIZE]    a zoned device (NVMe ZNS, host-managed SMR), whose zones\n"
		"                         are all reset; or a regular file emulating one, created\n"
		"                         with the geometry below (SIZE / zone size zones)\n"
		"    --rados POOL[,conf=PATH][,id=NAME][,namespace=NS][,size=N{M,G,T}]\n"
		"                         a Ceph RADOS pool as the coldest tier (created if\n"
		"                         missing): chunks idle long enough sink into it as\n"
		"                         objects.  Defaults: /etc/ceph/ceph.conf, client.admin,\n"
		"                         the pool's UUID as namespace, size four times the local\n"
		"                         devices (it sizes the checksum table kept locally)\n"
		"    --zone-size SIZE     emulated zones: zone size, a power of two [64M]\n"
		"    --zone-capacity SIZE emulated zones: usable bytes per zone [15/16 of the size]\n"
		"    --zones N            emulated zones: how many (instead of :SIZE)\n"
		"    --max-open N         emulated zones: open zone limit [14]\n"
		"    --max-active N       emulated zones: active zone limit [14]\n"
		"    --chunk-size SIZE    unit of placement, a power of two from 64K to 4M [256K]\n"
		"    --label LABEL        a name for the pool (at most %d bytes)\n"
		"    --reserve PERCENT    share of the pool only root may fill [5]\n"
		"    -f, --force          overwrite devices holding tierfs or another file system\n"
		"        --json           the report as JSON\n"
		"    -h, --help           this text\n"
		"    -V, --version        version\n",
		TFS_LABEL_MAX - 1);
}

struct mkdev {
	char path[PATH_MAX];
	uint64_t size; /* requested, 0 = as is */
	unsigned int cls; /* enum tfs_dev_class */
};

static int split_path_size(const char *arg, struct mkdev *d)
{
	const char *colon = strrchr(arg, ':');
	uint64_t size;

	if (colon && tfs_parse_size(colon + 1, &size) == 0) {
		if ((size_t)(colon - arg) >= sizeof(d->path))
			return -ENAMETOOLONG;
		memcpy(d->path, arg, (size_t)(colon - arg));
		d->path[colon - arg] = 0;
		d->size = size;
	} else {
		if (colon && !strchr(colon, '/')) {
			fprintf(stderr, "mkfs.tierfs: bad size in '%s'\n", arg);
			return -EINVAL;
		}
		if (strlen(arg) >= sizeof(d->path))
			return -ENAMETOOLONG;
		strcpy(d->path, arg);
		d->size = 0;
	}
	return d->path[0] ? 0 : -EINVAL;
}

/* create or grow a regular file to the requested size */
static int prepare_file(struct mkdev *d)
{
	struct stat st;
	int fd;

	if (tfs_sys_stat(d->path, &st) == 0) {
		if (!S_ISREG(st.st_mode) || !d->size || (uint64_t)st.st_size >= d->size)
			return 0;
	} else if (errno != ENOENT) {
		return -errno;
	} else if (!d->size) {
		fprintf(stderr, "mkfs.tierfs: %s does not exist (give PATH:SIZE to create a file)\n",
			d->path);
		return -ENOENT;
	}
	fd = open(d->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)d->size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* fastest first, keeping the command line's order within a class */
static void sort_devs(struct mkdev *d, unsigned int n)
{
	unsigned int i, j;

	for (i = 1; i < n; i++) {
		struct mkdev t = d[i];

		for (j = i; j > 0 && d[j - 1].cls > t.cls; j--)
			d[j] = d[j - 1];
		d[j] = t;
	}
}

static const char *human(uint64_t b, char *buf, size_t len)
{
	if (b >= (1ull << 30) && !(b & ((1ull << 30) - 1)))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(b >> 30));
	else if (b >= (1ull << 20))
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(b >> 10));
	return buf;
}

/*
 * A RADOS pool given with --rados: the cluster answers, the pool exists (it
 * is created if missing), the namespace is named (the pool's UUID unless
 * given) and the size known (four times the local devices unless given:
 * @local bytes).  The spec in d->path gets the namespace written into it,
 * so that every later mount finds the same objects.
 */
static int rados_prepare(struct mkdev *d, const struct tfs_sb *sb, uint64_t local,
			 unsigned int shift)
{
	struct tfs_rados_spec rs;
	char why[400], uuid[37];
	int ret;

	tfs_rados_parse(d->path, &rs, why, sizeof(why));
	if (!rs.ns[0]) {
		size_t n = strlen(d->path);

		tfs_uuid_str(sb->s_pool_uuid, uuid);
		if (n + strlen(",namespace=") + strlen(uuid) >= TFS_DEV_PATH_MAX) {
			fprintf(stderr, "mkfs.tierfs: --rados: '%s' is too long\n", d->path);
			return -ENAMETOOLONG;
		}
		snprintf(d->path + n, sizeof(d->path) - n, ",namespace=%s", uuid);
	}
	if (strlen(d->path) >= TFS_DEV_PATH_MAX) {
		fprintf(stderr, "mkfs.tierfs: --rados: '%s' is too long (at most %d bytes)\n", d->path,
			TFS_DEV_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (!d->size)
		d->size = 4 * local;
	if ((d->size >> shift) < MIN_SLOTS + 1) {
		fprintf(stderr, "mkfs.tierfs: --rados: size=%llu bytes is less than %u chunks\n",
			(unsigned long long)d->size, MIN_SLOTS + 1);
		return -EINVAL;
	}
	ret = tfs_rados_create(d->path, why, sizeof(why));
	if (ret < 0) {
		fprintf(stderr, "mkfs.tierfs: --rados %s: %s\n", d->path, why);
		return ret;
	}
	return 0;
}

static int wipe_one(void *arg, const struct tfs_okey *k, uint64_t slot)
{
	struct tfs_io_dev *dev = arg;
	int ret = tfs_rados_remove_sync(dev, k, slot);

	return ret == -ENOENT ? 0 : ret;
}

/* --force over a namespace that held a pool: its data objects go first */
static int rados_wipe(struct tfs_io_dev *dev)
{
	int ret = tfs_rados_list(dev, wipe_one, dev);

	if (ret < 0)
		fprintf(stderr, "mkfs.tierfs: removing the old objects of %s: %s\n", dev->d_path,
			strerror(-ret));
	return ret;
}

/* zone geometry for emulated zoned files (the options) */
struct zgeo {
	uint64_t size, cap;
	uint32_t zones, max_open, max_active;
	int given; /* a geometry option was used */
};

#define MIN_ZONES (TIER_ZONES_MIN + 2)

/*
 * A zoned device given as a regular file: check what the file holds now,
 * then (re)create it as an emulated zoned device.  Geometry: the options,
 * else that of the emulated device the file already is.
 */
static int prepare_zns_file(struct mkdev *d, const struct zgeo *opt, int force)
{
	struct zgeo g = *opt;
	struct tfs_io_dev dev;
	struct tfs_zgeom old;
	struct stat st;
	const char *why = NULL, *what = NULL;
	int have_old = 0, ret;

	if (tfs_sys_stat(d->path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return 0; /* a device: it reports its own geometry */
		if (tfs_io_dev_open(&dev, d->path, TFS_CLASS_MAX) == 0) {
			struct tfs_sb sb;

			if (tfs_zns_geometry(&dev, &old) == 0) {
				have_old = 1;
				if (tfs_sb_read(&dev, &sb, 0) == 0)
					what = "a tierfs pool";
			} else if (st.st_size >= 68 * 1024) {
				uint8_t *buf = tfs_io_alloc(68 * 1024);

				if (buf && tfs_io_dev_pread(&dev, buf, 68 * 1024, 0) == 0)
					what = tfs_sb_foreign(buf, 68 * 1024);
				tfs_io_free(buf);
			}
			tfs_io_dev_close(&dev);
		}
		if (what && !force) {
			fprintf(stderr, "mkfs.tierfs: %s holds %s; use --force to overwrite it\n",
				d->path, what);
			return -EEXIST;
		}
	} else if (errno != ENOENT) {
		fprintf(stderr, "mkfs.tierfs: %s: %s\n", d->path, strerror(errno));
		return -errno;
	}
	if (!g.given && have_old) {
		g.size = old.zone_size;
		g.cap = old.zone_cap;
		g.zones = old.nr_zones;
		g.max_open = old.max_open;
		g.max_active = old.max_active;
	}
	if (!g.cap)
		g.cap = g.size - g.size / 16;
	if (d->size) {
		if (g.zones) {
			fprintf(stderr, "mkfs.tierfs: --zns %s: give either :SIZE or --zones, not both\n",
				d->path);
			return -EINVAL;
		}
		g.zones = g.size ? (uint32_t)(d->size / g.size) : 0;
	}
	if (!g.zones) {
		fprintf(stderr, "mkfs.tierfs: --zns %s: how many zones? (--zns PATH:SIZE or --zones N)\n",
			d->path);
		return -EINVAL;
	}
	if (tfs_zns_emu_check(g.size, g.cap, g.zones, g.max_open, g.max_active, &why) < 0) {
		fprintf(stderr, "mkfs.tierfs: --zns %s: %s\n", d->path, why);
		return -EINVAL;
	}
	if (g.zones < MIN_ZONES) {
		fprintf(stderr,
			"mkfs.tierfs: --zns %s: %u zones are too few; at least %u are needed (2 for the superblocks, an open zone for writes and one for cleaning, %u reserved for cleaning, 2 to fill)\n",
			d->path, g.zones, MIN_ZONES, TIER_ZONE_RESERVE);
		return -EINVAL;
	}
	if ((g.max_active && g.max_active < 2) || (g.max_open && g.max_open < 2)) {
		fprintf(stderr, "mkfs.tierfs: --zns %s: tierfs needs at least 2 open zones\n", d->path);
		return -EINVAL;
	}
	ret = tfs_zns_emu_format(d->path, g.size, g.cap, g.zones, g.max_open, g.max_active);
	if (ret < 0)
		fprintf(stderr, "mkfs.tierfs: %s: %s\n", d->path, strerror(-ret));
	return ret;
}

/* a real zoned device: every zone empty, with progress on a terminal */
static int reset_zones(struct tfs_io_dev *dev)
{
	struct tfs_zgeom g;
	struct tfs_zone z;
	uint32_t i;
	int tty = isatty(STDERR_FILENO), ret;

	ret = tfs_zns_geometry(dev, &g);
	for (i = 0; i < g.nr_zones && ret == 0; i++) {
		ret = tfs_zns_report(dev, i, &z, 1);
		if (ret < 0)
			break;
		ret = 0;
		if (z.cond != TFS_ZC_EMPTY && z.cond != TFS_ZC_NOT_WP)
			ret = tfs_zns_mgmt(dev, i, TFS_ZONE_RESET);
		if (tty && (i % 64 == 0 || i + 1 == g.nr_zones)) {
			fprintf(stderr, "\rresetting zones of %s: %u/%u", dev->d_path, i + 1, g.nr_zones);
		}
	}
	if (tty)
		fputc('\n', stderr);
	return ret;
}

/* a JSON string on stdout */
static void jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "block", required_argument, NULL, 'b' },
		{ "pmem", required_argument, NULL, 'p' },
		{ "rados", required_argument, NULL, 6 },
		{ "zns", required_argument, NULL, 'z' },
		{ "zone-size", required_argument, NULL, 1 },
		{ "zone-capacity", required_argument, NULL, 2 },
		{ "zones", required_argument, NULL, 3 },
		{ "max-open", required_argument, NULL, 4 },
		{ "max-active", required_argument, NULL, 5 },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'L' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "reserve", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct mkdev devs[TFS_MAX_DEVS];
	unsigned int ndev = 0, i, j, shift = 18, ckdev = UINT_MAX, mdev = UINT_MAX, csdev, reserve = 5;
	struct zgeo zg = { .size = 64u << 20, .max_open = 14, .max_active = 14 };
	uint64_t v;
	uint64_t chunk = 1u << 18, total = 0;
	const char *label = "";
	struct tfs_fs *fs;
	struct tfs_sb *sb;
	char uuid[37];
	int force = 0, json = 0, c, ret;

	while ((c = getopt_long(argc, argv, "fhV", lopts, NULL)) != -1) {
		switch (c) {
		case 1:
		case 2:
			if (tfs_parse_size(optarg, &v) < 0) {
				fprintf(stderr, "mkfs.tierfs: bad size '%s'\n", optarg);
				return 1;
			}
			*(c == 1 ? &zg.size : &zg.cap) = v;
			zg.given = 1;
			break;
		case 3:
		case 4:
		case 5: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !*optarg || n > UINT32_MAX) {
				fprintf(stderr, "mkfs.tierfs: bad number '%s'\n", optarg);
				return 1;
			}
			*(c == 3 ? &zg.zones : c == 4 ? &zg.max_open : &zg.max_active) = (uint32_t)n;
			zg.given = 1;
			break;
		}
		case 'b':
		case 'p':
		case 'z':
			if (ndev == TFS_MAX_DEVS) {
				fprintf(stderr, "mkfs.tierfs: at most %d devices\n", TFS_MAX_DEVS);
				return 1;
			}
			if (split_path_size(optarg, &devs[ndev]) < 0) {
				fprintf(stderr, "mkfs.tierfs: bad device '%s'\n", optarg);
				return 1;
			}
			devs[ndev].cls = c == 'p' ? TFS_CLASS_PMEM : c == 'z' ? TFS_CLASS_ZNS
									     : TFS_CLASS_BLOCK;
			ndev++;
			break;
		case 6: {
			struct tfs_rados_spec rs;
			char why[300];

			if (ndev == TFS_MAX_DEVS) {
				fprintf(stderr, "mkfs.tierfs: at most %d devices\n", TFS_MAX_DEVS);
				return 1;
			}
			snprintf(devs[ndev].path, sizeof(devs[ndev].path), "%s%s",
				 tfs_rados_path(optarg) ? "" : TFS_RADOS_PREFIX, optarg);
			if (tfs_rados_parse(devs[ndev].path, &rs, why, sizeof(why)) < 0) {
				fprintf(stderr, "mkfs.tierfs: --rados: %s\n", why);
				return 1;
			}
			devs[ndev].size = rs.size;
			devs[ndev].cls = TFS_CLASS_RADOS;
			ndev++;
			break;
		}
		case 'c':
			if (tfs_parse_size(optarg, &chunk) < 0 || chunk < (64u << 10) ||
			    chunk > (4u << 20) || (chunk & (chunk - 1))) {
				fprintf(stderr, "mkfs.tierfs: --chunk-size must be a power of two from 64K to 4M, not '%s'\n",
					optarg);
				return 1;
			}
			shift = (unsigned int)__builtin_ctzll(chunk);
			break;
		case 'L':
			if (strlen(optarg) >= TFS_LABEL_MAX) {
				fprintf(stderr, "mkfs.tierfs: label longer than %d bytes\n",
					TFS_LABEL_MAX - 1);
				return 1;
			}
			label = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'r': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !*optarg || n > 50) {
				fprintf(stderr, "mkfs.tierfs: --reserve is a percentage from 0 to 50, not '%s'\n",
					optarg);
				return 1;
			}
			reserve = (unsigned int)n;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mkfs.tierfs %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "mkfs.tierfs: see mkfs.tierfs --help\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mkfs.tierfs: unexpected argument '%s' (devices go with --block)\n",
			argv[optind]);
		return 1;
	}
	if (ndev == 0) {
		fprintf(stderr, "mkfs.tierfs: no device given (--pmem or --block PATH[:SIZE])\n");
		return 1;
	}
	sort_devs(devs, ndev);
	for (i = 0, j = 0; i < ndev; i++)
		j += devs[i].cls == TFS_CLASS_PMEM || devs[i].cls == TFS_CLASS_BLOCK;
	if (!j) {
		fprintf(stderr, "mkfs.tierfs: zoned devices and RADOS pools cannot hold the journal and checkpoints; add a --pmem or --block device\n");
		return 1;
	}
	if (ndev > 1 && devs[ndev - 2].cls == TFS_CLASS_RADOS) {
		fprintf(stderr, "mkfs.tierfs: at most one --rados pool\n");
		return 1;
	}
	/* a device of a running pool is never formatted, --force or not: its
	 * lock is taken here and held until mkfs exits */
	for (i = 0; i < ndev; i++) {
		char who[PATH_MAX + 64];
		int fd = devs[i].cls == TFS_CLASS_RADOS ? 0 : tfs_dev_claim(devs[i].path, who, sizeof(who));

		if (fd == -EBUSY) {
			fprintf(stderr, "mkfs.tierfs: %s is in use by %s; unmount it first (--force does not override this)\n",
				devs[i].path, who);
			return 1;
		}
		(void)fd; /* (closed at exit, which drops the lock) */
	}
	for (i = 0; i < ndev; i++)
		if (devs[i].cls == TFS_CLASS_ZNS && prepare_zns_file(&devs[i], &zg, force) < 0)
			return 1;

	fs = tfs_fs_new();
	if (!fs)
		return 1;
	sb = &fs->pool.sb;
	sb->s_magic = TFS_SB_MAGIC;
	/* format 6 only where it is needed: older tierfs still mount the rest */
	sb->s_version = devs[ndev - 1].cls == TFS_CLASS_RADOS ? TFS_SB_VERSION : TFS_FORMAT_NO_RADOS;
	sb->s_ndev = ndev;
	sb->s_chunk_shift = shift;
	sb->s_ctime = (uint64_t)time(NULL);
	snprintf(sb->s_label, sizeof(sb->s_label), "%s", label);
	tfs_uuid_gen(sb->s_pool_uuid);

	for (i = 0; i < ndev; i++) {
		struct tfs_io_dev *dev = &fs->pool.dev[i];
		char *real = sb->s_dev[i].sd_path;
		char rbuf[PATH_MAX];
		uint8_t *buf;
		const char *what = NULL;
		struct tfs_sb old;

		if (devs[i].cls == TFS_CLASS_RADOS) {
			if (rados_prepare(&devs[i], sb, total, shift) < 0)
				goto out_close;
			strcpy(real, devs[i].path);
			ret = tfs_io_dev_open(dev, real, TFS_CLASS_RADOS);
			if (ret < 0) {
				fprintf(stderr, "mkfs.tierfs: %s: %s\n", real, tfs_rados_error());
				goto out_close;
			}
			fs->pool.ndev = i + 1;
			tfs_rados_window(dev, shift, devs[i].size);
			if (tfs_sb_read(dev, &old, 0) == 0 && !force) {
				fprintf(stderr, "mkfs.tierfs: %s holds a tierfs pool; use --force to overwrite it (its objects are removed)\n",
					real);
				goto out_close;
			}
			if (force && rados_wipe(dev) < 0)
				goto out_close;
			continue;
		}
		ret = devs[i].cls == TFS_CLASS_ZNS ? 0 : prepare_file(&devs[i]);
		if (ret < 0) {
			if (ret != -ENOENT)
				fprintf(stderr, "mkfs.tierfs: %s: %s\n", devs[i].path, strerror(-ret));
			goto out_close;
		}
		if (!realpath(devs[i].path, rbuf) || strlen(rbuf) >= TFS_DEV_PATH_MAX) {
			fprintf(stderr, "mkfs.tierfs: %s: %s\n", devs[i].path,
				errno ? strerror(errno) : "path too long");
			goto out_close;
		}
		strcpy(real, rbuf);
		for (j = 0; j < i; j++) {
			if (!strcmp(real, sb->s_dev[j].sd_path)) {
				fprintf(stderr, "mkfs.tierfs: %s is given twice\n", real);
				goto out_close;
			}
		}
		ret = tfs_io_dev_open(dev, real, devs[i].cls);
		if (ret < 0) {
			fprintf(stderr, "mkfs.tierfs: %s: %s\n", real, strerror(-ret));
			goto out_close;
		}
		fs->pool.ndev = i + 1;
		buf = tfs_io_alloc(68 * 1024);
		if (buf && dev->d_size >= 68 * 1024 && tfs_io_dev_pread(dev, buf, 68 * 1024, 0) == 0)
			what = tfs_sb_foreign(buf, 68 * 1024);
		tfs_io_free(buf);
		if (dev->d_size >= 2 * TFS_SB_SIZE && tfs_sb_read(dev, &old, 0) == 0)
			what = "a tierfs pool";
		if (what && !force) {
			fprintf(stderr, "mkfs.tierfs: %s holds %s; use --force to overwrite it\n",
				real, what);
			goto out_close;
		}
		if (devs[i].cls == TFS_CLASS_BLOCK && ckdev == UINT_MAX)
			ckdev = i;
		if (devs[i].cls != TFS_CLASS_ZNS && devs[i].cls != TFS_CLASS_RADOS && mdev == UINT_MAX)
			mdev = i;
		if (devs[i].cls == TFS_CLASS_ZNS && !tfs_zns_is_zoned(dev)) {
			fprintf(stderr, "mkfs.tierfs: %s is not a zoned device\n", real);
			goto out_close;
		}
		if (devs[i].cls == TFS_CLASS_ZNS && dev->d_ops == &tfs_zns_ops) {
			if (zg.given) {
				fprintf(stderr, "mkfs.tierfs: %s reports its own zone geometry; the zone options are for emulated (file) devices\n",
					real);
				goto out_close;
			}
			if (reset_zones(dev) < 0) {
				fprintf(stderr, "mkfs.tierfs: %s: resetting zones failed\n", real);
				goto out_close;
			}
		}
		total += dev->d_size;
	}
	/* the journal and the checkpoint headers on the fastest device that is
	 * not zoned; each device written in place holds its own checksum
	 * table, the zoned ones' live on the first block device (or the
	 * metadata device) */
	sb->s_meta_dev = mdev;
	sb->s_reserve_pct = reserve;
	tfs_cs_geometry(1u << (shift - TFS_BLOCK_SHIFT), &sb->s_cs_psize, &sb->s_cs_per_page);
	csdev = ckdev == UINT_MAX ? mdev : ckdev;
	sb->s_ckh_off[0] = TFS_META_START;
	sb->s_ckh_off[1] = TFS_META_START + TFS_CKH_SIZE;
	sb->s_jrnl_off = TFS_META_START + 2 * 65536;
	sb->s_jrnl_len = clamp(fs->pool.dev[mdev].d_size / 64, 1u << 20, 64u << 20) &
			 ~(uint64_t)(2 * TFS_BLOCK_SIZE - 1);
	/* zoned devices first: their slots decide the tables the host holds */
	for (i = 0; i < ndev; i++) {
		struct tfs_sb_dev *sd = &sb->s_dev[i];
		struct tfs_io_dev *dev = &fs->pool.dev[i];
		struct tfs_zgeom g;
		char h1[32], h3[32];

		if (devs[i].cls == TFS_CLASS_RADOS) {
			/* window 0 holds the superblocks; slot s is window s + 1 */
			tfs_uuid_gen(sd->sd_uuid);
			sd->sd_class = TFS_CLASS_RADOS;
			sd->sd_index = i;
			sd->sd_nslots = (devs[i].size >> shift) - 1;
			sd->sd_size = (sd->sd_nslots + 1) << shift;
			sd->sd_data_off = chunk;
			sd->sd_cs_dev = csdev;
			sd->sd_cs_pages = (sd->sd_nslots + sb->s_cs_per_page - 1) / sb->s_cs_per_page;
			continue;
		}
		if (devs[i].cls != TFS_CLASS_ZNS)
			continue;
		tfs_zns_geometry(dev, &g);
		if (g.zone_cap < chunk || g.nr_zones < MIN_ZONES) {
			fprintf(stderr, "mkfs.tierfs: %s: %u zones of capacity %s; at least %u zones holding a chunk (%s) each are needed\n",
				sd->sd_path, g.nr_zones, human(g.zone_cap, h1, sizeof(h1)), MIN_ZONES,
				human(chunk, h3, sizeof(h3)));
			goto out_close;
		}
		tfs_uuid_gen(sd->sd_uuid);
		sd->sd_class = TFS_CLASS_ZNS;
		sd->sd_index = i;
		sd->sd_size = dev->d_size;
		sd->sd_data_off = 2 * g.zone_size; /* zones 0 and 1: superblocks */
		sd->sd_nslots = (uint64_t)(g.nr_zones - 2) * (g.zone_cap >> shift);
		sd->sd_cs_dev = csdev;
		sd->sd_cs_pages = (sd->sd_nslots + sb->s_cs_per_page - 1) / sb->s_cs_per_page;
	}
	for (i = 0; i < ndev; i++) {
		struct tfs_sb_dev *sd = &sb->s_dev[i];
		struct tfs_io_dev *dev = &fs->pool.dev[i];
		uint64_t start = TFS_META_START, hosted = 0, cs_off, per = sb->s_cs_per_page;
		uint64_t ps = sb->s_cs_psize, nslots;
		char h1[32], h2[32], h3[32];

		if (devs[i].cls == TFS_CLASS_ZNS || devs[i].cls == TFS_CLASS_RADOS)
			continue;
		if (i == sb->s_meta_dev)
			start = sb->s_jrnl_off + sb->s_jrnl_len;
		/* tables of the zoned devices this one holds */
		if (i == csdev) {
			for (j = 0; j < ndev; j++) {
				if (devs[j].cls != TFS_CLASS_ZNS && devs[j].cls != TFS_CLASS_RADOS)
					continue;
				sb->s_dev[j].sd_cs_off = (start + hosted + ps - 1) & ~(ps - 1);
				hosted = sb->s_dev[j].sd_cs_off + 2 * sb->s_dev[j].sd_cs_pages * ps - start;
			}
		}
		nslots = tfs_layout_inplace(sd, dev->d_size, start + hosted, shift, (uint32_t)ps,
					    (uint32_t)per);
		cs_off = sd->sd_cs_off;
		if (nslots < MIN_SLOTS) {
			fprintf(stderr,
				"mkfs.tierfs: %s is too small for a %s device (%s); at least %s is needed "
				"(superblocks%s%s, %u chunk slots of %s and their checksums)\n",
				sd->sd_path, tfs_dev_class_str(devs[i].cls),
				human(dev->d_size, h1, sizeof(h1)),
				human(cs_off + MIN_SLOTS * (chunk + 2 * ps), h2, sizeof(h2)),
				i == sb->s_meta_dev ? ", journal" : "",
				hosted ? ", checksums of the zoned devices" : "", MIN_SLOTS,
				human(chunk, h3, sizeof(h3)));
			goto out_close;
		}
		tfs_uuid_gen(sd->sd_uuid);
		sd->sd_class = devs[i].cls;
		sd->sd_index = i;
		sd->sd_size = dev->d_size;
		sd->sd_cs_dev = i;
	}
	total = 0;
	for (i = 0; i < ndev; i++)
		total += sb->s_dev[i].sd_nslots << shift;
	for (i = 0; i < ndev; i++) {
		memcpy(sb->s_dev_uuid, sb->s_dev[i].sd_uuid, 16);
		sb->s_dev_index = i;
		ret = tfs_sb_write(&fs->pool.dev[i], sb);
		if (ret < 0) {
			fprintf(stderr, "mkfs.tierfs: writing the superblock of %s: %s\n",
				fs->pool.dev[i].d_path, strerror(-ret));
			goto out_close;
		}
	}
	memcpy(sb->s_dev_uuid, sb->s_dev[mdev].sd_uuid, 16);
	sb->s_dev_index = mdev;
	ret = tfs_fs_format(fs, getuid(), getgid());
	if (ret < 0) {
		fprintf(stderr, "mkfs.tierfs: writing the first checkpoint: %s\n", strerror(-ret));
		goto out_close;
	}
	tfs_uuid_str(sb->s_pool_uuid, uuid);
	if (json) {
		printf("{\"pool_uuid\": \"%s\", \"label\": ", uuid);
		jstr(label);
		printf(", \"chunk_size\": %u, \"journal_bytes\": %llu, \"reserve_percent\": %u, "
		       "\"capacity_bytes\": %llu, \"devices\": [",
		       fs->pool.chunk_size, (unsigned long long)sb->s_jrnl_len, sb->s_reserve_pct,
		       (unsigned long long)total);
		for (i = 0; i < ndev; i++) {
			struct tfs_zgeom g;

			printf("%s{\"index\": %u, \"tier\": \"%s\", \"path\": ", i ? ", " : "", i,
			       tfs_dev_class_str(sb->s_dev[i].sd_class));
			jstr(sb->s_dev[i].sd_path);
			printf(", \"data_bytes\": %llu, \"metadata\": %s",
			       (unsigned long long)(sb->s_dev[i].sd_nslots << shift),
			       i == sb->s_meta_dev ? "true" : "false");
			if (tfs_zns_geometry(&fs->pool.dev[i], &g) == 0)
				printf(", \"zones\": %u, \"zone_size\": %llu, \"zone_capacity\": %llu, "
				       "\"max_open\": %u, \"max_active\": %u, \"emulated\": %s",
				       g.nr_zones, (unsigned long long)g.zone_size,
				       (unsigned long long)g.zone_cap, g.max_open, g.max_active,
				       fs->pool.dev[i].d_ops == &tfs_zns_emu_ops ? "true" : "false");
			printf("}");
		}
		printf("]}\n");
		goto out_done;
	}
	printf("tierfs pool %s%s%s%s\n", uuid, label[0] ? " (" : "", label, label[0] ? ")" : "");
	printf("  chunk size  %u KiB\n", fs->pool.chunk_size >> 10);
	printf("  journal     %llu MiB on %s\n", (unsigned long long)(sb->s_jrnl_len >> 20),
	       sb->s_dev[sb->s_meta_dev].sd_path);
	printf("  checkpoints headers on %s; metadata log in chunk slots (grows with the pool's contents)\n",
	       sb->s_dev[sb->s_meta_dev].sd_path);
	printf("  checksums   %u per %u KiB page, two copies; tables of zoned devices on %s\n",
	       sb->s_cs_per_page, sb->s_cs_psize >> 10, sb->s_dev[csdev].sd_path);
	printf("  reserve     %u%% of the slots for root\n", sb->s_reserve_pct);
	for (i = 0; i < ndev; i++) {
		struct tfs_zgeom g;

		printf("  device %u    %-5s %s  %llu MiB data%s%s", i,
		       tfs_dev_class_str(sb->s_dev[i].sd_class), sb->s_dev[i].sd_path,
		       (unsigned long long)((sb->s_dev[i].sd_nslots << shift) >> 20),
		       fs->pool.dev[i].d_map ? ", persistence: " : "",
		       fs->pool.dev[i].d_map ? tfs_pmem_mode_str(&fs->pool.dev[i]) : "");
		if (tfs_zns_geometry(&fs->pool.dev[i], &g) == 0)
			printf(", %u zones of %llu KiB (capacity %llu KiB), max open %u, max active %u%s",
			       g.nr_zones, (unsigned long long)(g.zone_size >> 10),
			       (unsigned long long)(g.zone_cap >> 10), g.max_open, g.max_active,
			       fs->pool.dev[i].d_ops == &tfs_zns_emu_ops ? ", emulated" : "");
		printf("\n");
	}
	printf("  capacity    %llu MiB\n", (unsigned long long)(total >> 20));
out_done:
	tfs_fs_close(fs);
	tfs_io_thread_exit();
	return 0;

out_close:
	tfs_fs_close(fs);
	tfs_io_thread_exit();
	return 1;
}

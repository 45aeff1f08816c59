/*
 * src/options.c - mount options as data.  Each row is one -o key; the
 * parser, `tierfs --help` and the man page table derive from this table.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tfs.h"

const struct tfs_opt_def tfs_opt_table[] = {
	{ "devices", TFS_OPT_STR, offsetof(struct tfs_opts, devices), NULL, "paths",
	  "other devices of the pool, ':'-separated (default: the paths recorded at mkfs)" },
	{ "commit", TFS_OPT_UINT, offsetof(struct tfs_opts, commit), "5", "seconds",
	  "interval of background journal commits; bounds what a crash loses of data never fsynced" },
	{ "lock_wait", TFS_OPT_UINT, offsetof(struct tfs_opts, lock_wait), "30", "seconds",
	  "how long to wait for a pool still held by an exiting daemon" },
	{ "clean_mbps", TFS_OPT_UINT, offsetof(struct tfs_opts, clean_mbps), "256", "MB/s",
	  "obsolete, no effect: zone cleaning shares the migration engine's budget" },
	{ "csum_cache", TFS_OPT_UINT, offsetof(struct tfs_opts, csum_cache), "64", "MiB",
	  "memory for cached checksum pages (each MiB covers about 1 GiB of data)" },
	{ "transport", TFS_OPT_STR, offsetof(struct tfs_opts, transport), "dev", "auto|uring|dev",
	  "how FUSE requests reach the daemon: io_uring queues (uring; auto: when the kernel offers them) or /dev/fuse (dev)" },
	{ "threads", TFS_OPT_UINT, offsetof(struct tfs_opts, threads), "16", "count",
	  "most threads serving /dev/fuse (1-256); fewer suit a pool whose hot data is on pmem, more one that waits on block devices" },
	{ "dirty_max", TFS_OPT_UINT, offsetof(struct tfs_opts, dirty_max), "64", "MiB",
	  "the kernel's limit on this mount's dirty page cache; bounds what buffered writes acknowledge past a full pool (0: the kernel's own)" },
	{ "reserve", TFS_OPT_PCT, offsetof(struct tfs_opts, reserve), NULL, "percent",
	  "share of the pool only root may fill (default: as set by mkfs.tierfs --reserve)" },
	{ "pin_group", TFS_OPT_STR, offsetof(struct tfs_opts, pin_group), NULL, "group",
	  "members may pin files to a tier faster than the pool's slowest (root always may; owners may pin to the slowest)" },
	{ "pin_quota", TFS_OPT_UINT, offsetof(struct tfs_opts, pin_quota), "0", "MiB",
	  "how much of their own files' data each user outside pin_group may pin to each tier faster than the slowest (0: none)" },
	{ "rados_timeout", TFS_OPT_UINT, offsetof(struct tfs_opts, rados_timeout), "5", "seconds",
	  "bound of every call to the RADOS cluster of a rados tier: a read of a rados chunk fails with EIO after it" },
	{ "degraded", TFS_OPT_FLAG, offsetof(struct tfs_opts, degraded), "0", "",
	  "mount even when the RADOS cluster of the rados tier cannot be reached: its chunks read as EIO, everything else works" },
	{ "config", TFS_OPT_STR, offsetof(struct tfs_opts, config), NULL, "path",
	  "tierfs.conf(5) to read (default: UUID.conf or LABEL.conf in /etc/tierfs, if there)" },
	{ "tfs_debug", TFS_OPT_FLAG, offsetof(struct tfs_opts, debug), "0", "",
	  "log every journal commit and checkpoint (foreground: stderr; else syslog)" },
	{ NULL, 0, 0, NULL, NULL, NULL },
};

static int opt_set(struct tfs_opts *o, const struct tfs_opt_def *d, const char *val, char *err,
		   size_t errlen)
{
	char *p = (char *)o + d->off, *end;
	unsigned long v;

	switch (d->type) {
	case TFS_OPT_STR:
		free(*(char **)p);
		*(char **)p = val ? strdup(val) : NULL;
		return 0;
	case TFS_OPT_UINT:
		if (!val || !*val)
			goto bad;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || *end || v > 1000000)
			goto bad;
		*(unsigned int *)p = (unsigned int)v;
		return 0;
	case TFS_OPT_FLAG:
		*(int *)p = 1;
		return 0;
	case TFS_OPT_PCT:
		if (!val || !*val)
			goto bad;
		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || *end || v > 50)
			goto bad;
		*(int *)p = (int)v;
		return 0;
	}
bad:
	snprintf(err, errlen, "bad value for option %s: '%s' (%s expected)", d->name,
		 val ? val : "", d->type == TFS_OPT_PCT ? "a percentage from 0 to 50"
			       : d->unit[0] ? d->unit : "a number");
	return -EINVAL;
}

void tfs_opts_defaults(struct tfs_opts *o)
{
	const struct tfs_opt_def *d;
	char err[8];

	memset(o, 0, sizeof(*o));
	o->reserve = -1;
	tier_policy_defaults(&o->pol);
	for (d = tfs_opt_table; d->name; d++)
		if (d->def && d->type != TFS_OPT_FLAG)
			opt_set(o, d, d->def, err, sizeof(err));
}

int tfs_opts_parse_one(struct tfs_opts *o, const char *kv, char *err, size_t errlen)
{
	const struct tfs_opt_def *d;
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

	for (d = tfs_opt_table; d->name; d++) {
		if (strlen(d->name) != klen || strncmp(d->name, kv, klen))
			continue;
		if (d->type == TFS_OPT_FLAG && eq) {
			snprintf(err, errlen, "option %s takes no value", d->name);
			return -EINVAL;
		}
		if (d->type != TFS_OPT_FLAG && !eq) {
			snprintf(err, errlen, "option %s needs a value (%s=...)", d->name, d->name);
			return -EINVAL;
		}
		return opt_set(o, d, eq ? eq + 1 : NULL, err, errlen) ? -EINVAL : 1;
	}
	/* the tiering policy knobs are mount options too */
	return tier_policy_set(&o->pol, kv, err, errlen);
}

void tfs_opts_help(FILE *f)
{
	const struct tfs_opt_def *d;

	fprintf(f, "tierfs options (-o key=value):\n");
	for (d = tfs_opt_table; d->name; d++) {
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s", d->name, d->type == TFS_OPT_FLAG ? "" : "=",
			 d->type == TFS_OPT_FLAG ? "" : d->unit);
		fprintf(f, "    -o %-22s %s", name, d->help);
		if (d->def && d->type != TFS_OPT_FLAG)
			fprintf(f, " [%s]", d->def);
		fputc('\n', f);
	}
	fprintf(f, "\ntiering policy (-o key=value at mount, tierfsctl policy at run time):\n");
	for (const struct tier_policy_def *p = tier_policy_table; p->name; p++) {
		char name[64], def[32];
		struct tier_policy pol;

		tier_policy_defaults(&pol);
		tier_policy_fmt(&pol, p, def, sizeof(def));
		snprintf(name, sizeof(name), "%s=%s", p->name, p->unit[0] ? p->unit : "N");
		fprintf(f, "    -o %-22s %s [%s]\n", name, p->help, def);
	}
}

void tfs_opts_free(struct tfs_opts *o)
{
	free(o->devices);
	o->devices = NULL;
	free(o->transport);
	o->transport = NULL;
	free(o->pin_group);
	o->pin_group = NULL;
	free(o->config);
	o->config = NULL;
}

int tfs_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

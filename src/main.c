/*
 * src/main.c - tierfs, the daemon: mount a pool.
 *
 *   tierfs [-f] [-d] [-o OPTIONS] DEVICE MOUNTPOINT
 *
 * Order matters: the pool is opened, locked and loaded before anything is
 * mounted (so every bad input fails with exit 1 and no half mount), then the
 * FUSE session is mounted, then the process detaches (without -f); the
 * command returns once the kernel's INIT has been answered, with its
 * outcome, so that the mount is usable as soon as the command returns and a
 * mount that fails after detaching still fails the command.  At unmount, files that
 * were unlinked while open are freed, a checkpoint is written and the journal
 * gets its clean-unmount record before the pool lock is released.
 */
#include "config.h"

#define FUSE_USE_VERSION 312 /* 3.12 API: fuse_loop_cfg_* and the matching loop entry point */
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <fuse_log.h>
#include <grp.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tfs.h"

extern const struct fuse_lowlevel_ops tfs_ll_ops;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tierfs [-f] [-d] [-o OPTION[,OPTION...]] DEVICE MOUNTPOINT\n"
		"\n"
		"Mount the tierfs pool DEVICE belongs to on MOUNTPOINT.  The pool's other\n"
		"devices are found by the paths recorded at mkfs (or -o devices=...).\n"
		"\n"
		"    -f, --foreground       stay in the foreground (default: detach once mounted)\n"
		"    -d, --debug            foreground, and log every FUSE request\n"
		"    -o OPTIONS             tierfs options below, and FUSE mount options\n"
		"                           (allow_other, ro, ...); default_permissions is always on\n"
		"    -h, --help             this text\n"
		"    -V, --version          version\n"
		"\n");
	tfs_opts_help(f);
	fprintf(f, "\nUnmount with: umount MOUNTPOINT (or fusermount3 -u MOUNTPOINT).\n");
}

struct committer {
	struct tfs_fs *fs;
	unsigned int interval; /* seconds */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int kicked; /* a checkpoint is wanted now */
};

/* the journal asks for a checkpoint: the commit thread takes it, so that no
 * request waits for it */
static void commit_kick(void *arg)
{
	struct committer *c = arg;

	pthread_mutex_lock(&c->lock);
	c->kicked = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *commit_thread(void *arg)
{
	struct committer *c = arg;
	struct timespec ts;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		int kicked;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += c->interval;
		if (!c->kicked)
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		if (c->stop)
			break;
		kicked = c->kicked;
		c->kicked = 0;
		pthread_mutex_unlock(&c->lock);
		(void)kicked; /* a kick asks for a commit now, a checkpoint if wanted */
		if (!c->fs->ns.readonly) {
			tfs_commit(c->fs);
			tfs_meta_checkpoint_if_wanted(c->fs->meta);
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	tfs_io_thread_exit();
	return NULL;
}

/* split -o lists: our keys into @o, the rest into @fuse_opts (comma list) */
/*
 * Buffered writes are acknowledged by the page cache before the daemon sees
 * them; when the pool fills, what was acknowledged beyond it is refused at
 * writeback and reported by the next write(2), fsync(2) and close(2).  The
 * kernel's dirty limit for the mount bounds that amount: make it a stated
 * number (never raising the kernel's).  The mount's bdi is found by the
 * device number in /proc/self/mountinfo: a stat of the mount point would
 * ask this very daemon, which does not serve requests yet.
 */
#define STR_(x) #x
#define STR(x) STR_(x)
static void dirty_limit(const char *mnt, unsigned int mib)
{
	unsigned int maj, min, found = 0;
	unsigned long long cur = 0, want = (unsigned long long)mib << 20;
	char line[PATH_MAX + 256], path[96], point[PATH_MAX + 1];
	FILE *f;

	if (!mib || !(f = fopen("/proc/self/mountinfo", "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned int a, b;

		/* id parent major:minor root mountpoint ... (the last one wins) */
		if (sscanf(line, "%*u %*u %u:%u %*s %" STR(PATH_MAX) "s", &a, &b, point) == 3 &&
		    !strcmp(point, mnt)) {
			maj = a;
			min = b;
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/max_bytes", maj, min);
	f = fopen(path, "r+");
	if (!f)
		return; /* an older kernel, or not root: the kernel's limit stays */
	if (fscanf(f, "%llu", &cur) == 1 && (cur == 0 || cur > want)) {
		rewind(f);
		fprintf(f, "%llu\n", want);
	}
	if (fclose(f) != 0)
		tfs_warn("cannot limit dirty pages of %s to %u MiB: %s", mnt, mib, strerror(errno));
}

/*
 * Detaching.  The FUSE session is mounted before, but INIT is read and
 * answered only by the session loop, after the fork, and it can still fail
 * (libfuse refuses a max_read its init() does not repeat, the kernel may
 * refuse the reply).  So the parent waits for the child's word: a byte on a
 * pipe once INIT's reply has been taken, or the pipe's end when the child
 * exits first, and returns that.  Until then the child's errors and
 * warnings go to the caller's stderr as well as syslog.
 */
static int ready_fd = -1;

static int detach(void)
{
	int p[2], nul;
	char status = 1;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "tierfs: cannot detach: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "tierfs: cannot detach: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &status, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			fprintf(stderr, "tierfs: the daemon stopped before the mount was ready (see above)\n");
			status = 1;
		}
		_exit(status);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0) {
		fprintf(stderr, "tierfs: cannot detach: %s\n", strerror(errno));
		close(p[1]);
		return -1;
	}
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		close(nul);
	}
	ready_fd = p[1];
	return 0;
}

/* INIT's reply has reached the kernel (fconn.on_init) */
static void init_done(int err)
{
	int fd = __atomic_exchange_n(&ready_fd, -1, __ATOMIC_ACQ_REL), nul;
	char ok = 0;

	if (fd < 0)
		return;
	if (!err && tfs_fault_init()) {
		/* tests: a mount that fails after detaching (TIERFS_FAULT=init:EIO) */
		tfs_err("fault injected after INIT: giving up the mount");
		ready_fd = fd;
		kill(getpid(), SIGTERM);
		return;
	}
	if (err) {
		/* the session ends: the parent hears it when this process exits,
		 * after the last message */
		tfs_err("the kernel's INIT was answered with %s: not mounted", strerror(err < 0 ? -err : err));
		ready_fd = fd;
		return;
	}
	if (write(fd, &ok, 1) != 1)
		tfs_warn("cannot tell the starting command that the mount is ready: %s", strerror(errno));
	close(fd);
	tfs_log_stderr(0);
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDERR_FILENO);
		close(nul);
	}
}

/* libfuse's own messages join ours (stderr, then syslog) */
static void fuse_log_to_tfs(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	tfs_log(level <= FUSE_LOG_ERR ? TFS_LOG_ERR : level == FUSE_LOG_WARNING ? TFS_LOG_WARN
		: level == FUSE_LOG_DEBUG ? TFS_LOG_DEBUG : TFS_LOG_INFO, "%s", msg);
}

/* where options go: tierfs's into @o, FUSE's appended to @fuse (a comma
 * list of @len bytes); @strict (a config file) refuses what is neither a
 * tierfs key nor a FUSE mount option tierfs knows */
struct optsink {
	struct tfs_opts *o;
	char *fuse;
	size_t len;
	int strict;
};

static int take_one(void *arg, const char *tok, char *err, size_t errlen)
{
	static const char *const fuse_known[] = { "allow_other", "allow_root", "ro", "rw", "nosuid",
						  "suid", "nodev", "dev", "noexec", "exec",
						  "noatime", "atime", "relatime", "max_read", NULL };
	struct optsink *k = arg;
	int r = tfs_opts_parse_one(k->o, tok, err, errlen);
	unsigned int i;

	if (r < 0)
		return r;
	if (r > 0)
		return 0;
	for (i = 0; fuse_known[i]; i++)
		if (strlen(fuse_known[i]) == strcspn(tok, "=") &&
		    !strncmp(tok, fuse_known[i], strlen(fuse_known[i])))
			break;
	if (k->strict && !fuse_known[i]) {
		snprintf(err, errlen, "unknown key '%.*s' (see tierfs.conf(5))", (int)strcspn(tok, "="), tok);
		return -EINVAL;
	}
	if (!strcmp(tok, "ro"))
		k->o->ro = 1; /* FUSE's too */
	if (!strcmp(tok, "rw"))
		k->o->ro = 0;
	if (!strncmp(tok, "max_read=", 9)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok + 9, &end, 10);
		if (errno || *end || !tok[9] || tok[9] == '-' || v > UINT32_MAX) {
			snprintf(err, errlen, "bad value for option max_read: '%s' (bytes expected)", tok + 9);
			return -EINVAL;
		}
		k->o->max_read = (unsigned int)v;
	}
	if (strlen(k->fuse) + strlen(tok) + 2 >= k->len) {
		snprintf(err, errlen, "too many options");
		return -EINVAL;
	}
	strcat(k->fuse, ",");
	strcat(k->fuse, tok);
	return 0;
}

static int take_opts(struct optsink *k, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL, err[256];
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (take_one(k, tok, err, sizeof(err)) < 0) {
			fprintf(stderr, "tierfs: %s\n", err);
			ret = -EINVAL;
			break;
		}
	}
	free(copy);
	return ret;
}

/*
 * tierfs.conf: the file named by -o config=, else the pool's in
 * $TIERFS_CONFDIR (by UUID, then label, read off DEVICE's superblock).  Its
 * settings come first and the command line's -o lists are applied again on
 * top, so they override it.  @conf gets the path (also where tierfsctl
 * policy --save writes when there is no file yet).
 */
static int apply_config(const char *device, struct tfs_opts *opts, char *fuse_opts, size_t len,
			char **lists, unsigned int nlists, char *conf, size_t clen)
{
	struct optsink k = { .fuse = fuse_opts, .len = len, .strict = 1 };
	struct tfs_opts fresh;
	unsigned int i;
	int ret;

	conf[0] = 0;
	if (opts->config) {
		snprintf(conf, clen, "%s", opts->config);
	} else {
		struct tfs_io_dev dev;
		struct tfs_sb sb;

		if (tfs_io_dev_open(&dev, device, TFS_CLASS_MAX) < 0)
			return 0; /* the pool's open says why */
		ret = tfs_sb_read(&dev, &sb, 0);
		tfs_io_dev_close(&dev);
		if (ret < 0)
			return 0;
		if (tfs_conf_find(sb.s_pool_uuid, sb.s_label, conf, clen) < 0)
			return 0; /* none: the defaults and the command line */
	}
	tfs_opts_defaults(&fresh);
	k.o = &fresh;
	strcpy(fuse_opts, "default_permissions,subtype=tierfs");
	ret = tfs_conf_read(conf, take_one, &k);
	k.strict = 0;
	for (i = 0; ret == 0 && i < nlists; i++)
		ret = take_opts(&k, lists[i]);
	if (ret < 0) {
		tfs_opts_free(&fresh);
		return ret;
	}
	tfs_opts_free(opts);
	*opts = fresh;
	return 0;
}

int main(int argc, char *argv[])
{
	char fuse_opts[4096] = "default_permissions,subtype=tierfs", fsname[PATH_MAX + 16];
	char mnt_abs[PATH_MAX], dev_abs[PATH_MAX];
	const char *device = NULL, *mnt = NULL;
	struct fuse_loop_config *lcfg = NULL;
	struct fuse_session *se = NULL;
	struct committer cm;
	struct tfs_ctl *ctl = NULL;
	char rmnt[PATH_MAX];
	struct tfs_opts opts;
	struct tfs_fs *fs = NULL;
	int foreground = 0, debug = 0, i, ret = 1;
	uint32_t pin_gid = (uint32_t)-1;
	char *lists[64], conf[PATH_MAX];
	unsigned int nlists = 0;
	struct optsink cli = { .o = &opts, .fuse = fuse_opts, .len = sizeof(fuse_opts) };
	struct stat st;

	tfs_opts_defaults(&opts);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			tfs_opts_free(&opts);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("tierfs %s\n", PACKAGE_VERSION);
			tfs_opts_free(&opts);
			return 0;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			foreground = 1;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--debug")) {
			foreground = debug = 1;
		} else if (!strcmp(a, "-o") || !strncmp(a, "-o", 2)) {
			const char *list = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!list) {
				fprintf(stderr, "tierfs: -o needs an argument\n");
				goto out;
			}
			if (nlists == sizeof(lists) / sizeof(lists[0])) {
				fprintf(stderr, "tierfs: too many -o lists\n");
				goto out;
			}
			if (take_opts(&cli, list) < 0)
				goto out;
			lists[nlists++] = (char *)list;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "tierfs: unknown option '%s' (see tierfs --help)\n", a);
			goto out;
		} else if (!device) {
			device = a;
		} else if (!mnt) {
			mnt = a;
		} else {
			fprintf(stderr, "tierfs: too many arguments: '%s' (see tierfs --help)\n", a);
			goto out;
		}
	}
	if (!device || !mnt) {
		fprintf(stderr, "tierfs: need DEVICE and MOUNTPOINT (see tierfs --help)\n");
		goto out;
	}
	if (apply_config(device, &opts, fuse_opts, sizeof(fuse_opts), lists, nlists, conf,
			 sizeof(conf)) < 0)
		goto out;
	if (opts.pin_group) {
		struct group *gr = getgrnam(opts.pin_group);
		char *end;
		unsigned long g;

		errno = 0;
		g = strtoul(opts.pin_group, &end, 10);
		if (gr) {
			pin_gid = (uint32_t)gr->gr_gid;
		} else if (opts.pin_group[0] && !*end && !errno && g < UINT32_MAX) {
			pin_gid = (uint32_t)g;
		} else {
			fprintf(stderr, "tierfs: -o pin_group=%s: no such group\n", opts.pin_group);
			goto out;
		}
	}
	{
		char err[256];

		/* checked once all options are in: their order does not matter */
		if (tier_policy_check(&opts.pol, err, sizeof(err)) < 0) {
			fprintf(stderr, "tierfs: %s\n", err);
			goto out;
		}
	}
	if (!opts.transport || (strcmp(opts.transport, "auto") && strcmp(opts.transport, "uring") &&
				strcmp(opts.transport, "dev"))) {
		fprintf(stderr, "tierfs: bad value for option transport: '%s' (auto, uring or dev expected)\n",
			opts.transport ? opts.transport : "");
		goto out;
	}
	if (opts.threads < 1 || opts.threads > 256) {
		fprintf(stderr, "tierfs: bad value for option threads: '%u' (1 to 256 expected)\n",
			opts.threads);
		goto out;
	}
	if (!strcmp(opts.transport, "uring") && !tfs_uring_enabled()) {
		fprintf(stderr, "tierfs: -o transport=uring: FUSE over io_uring is off in this kernel "
				"(as root: echo Y > /sys/module/fuse/parameters/enable_uring)\n");
		goto out;
	}
	if (stat(mnt, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "tierfs: mountpoint %s: %s\n", mnt,
			stat(mnt, &st) < 0 ? strerror(errno) : "not a directory");
		goto out;
	}
	/* daemonizing changes to "/": a relative mountpoint would make our own
	 * unmount (on SIGTERM) miss and leave a dead mount behind */
	if (!realpath(mnt, mnt_abs)) {
		fprintf(stderr, "tierfs: mountpoint %s: %s\n", mnt, strerror(errno));
		goto out;
	}
	mnt = mnt_abs;
	/* the device too: the daemon works from "/" once detached, and
	 * tierfsctl shows the path */
	if (realpath(device, dev_abs))
		device = dev_abs;
	if (opts.commit == 0)
		opts.commit = 1;
	tfs_rados_timeout_s = opts.rados_timeout ? opts.rados_timeout : 1;
	if (opts.debug)
		tfs_log_verbose = TFS_LOG_DEBUG;
	if (getenv("TIERFS_FAULT")) {
		/* tests: a fault plan for device requests (io/fault.c) */
		if (tfs_fault_set(getenv("TIERFS_FAULT")) < 0) {
			fprintf(stderr, "tierfs: bad TIERFS_FAULT '%s' (see tierfs(8))\n",
				getenv("TIERFS_FAULT"));
			goto out;
		}
		tfs_warn("fault injection armed: %s", getenv("TIERFS_FAULT"));
	}

	{
		struct tfs_open_args oa = {
			.devices = opts.devices,
			.lock_wait_s = (int)opts.lock_wait,
			.flags = (opts.ro ? TFS_OPEN_RDONLY | TFS_OPEN_SALVAGE : 0) |
				 (opts.degraded ? TFS_OPEN_DEGRADED : 0),
			.csum_cache = (uint64_t)opts.csum_cache << 20,
			.reserve_pct = opts.reserve,
			.heat_halflife_ms = opts.pol.halflife_ms,
		};
		int r = tfs_fs_open(&fs, device, &oa);

		/* read-only shows what is intact even of a damaged pool */
		if (r < 0 && !(opts.ro && r == -EUCLEAN && fs))
			goto out;
	}
	if (!opts.ro)
		tfs_free_orphans(fs); /* left by a daemon that died with unlinked files open */
	tfs_migrate_init(fs, &opts.pol);

	fs->fconn.max_read = opts.max_read;
	/* absolute: the daemon works from "/" once detached */
	if (conf[0] && conf[0] != '/') {
		char *abs = realpath(conf, NULL);

		fs->conf_path = abs;
		if (!abs) {
			/* not there yet (--save creates it): its directory then */
			char cwd[PATH_MAX];

			if (getcwd(cwd, sizeof(cwd)) && asprintf(&fs->conf_path, "%s/%s", cwd, conf) < 0)
				fs->conf_path = NULL;
		}
	} else {
		fs->conf_path = conf[0] ? strdup(conf) : NULL;
	}
	fs->pool.pin_gid = pin_gid;
	fs->pool.pin_quota = (uint64_t)opts.pin_quota << 20;
	fs->fconn.on_init = init_done;
	fuse_set_log_func(fuse_log_to_tfs);
	/* the mount's source is the device's absolute path: mkfs and fsck find
	 * the mount of a device by it */
	{
		char *rdev = realpath(device, NULL);
		const char *name = rdev ? rdev : device;

		snprintf(fsname, sizeof(fsname), ",fsname=%s", name);
		if (strlen(fuse_opts) + strlen(fsname) < sizeof(fuse_opts) && !strchr(name, ','))
			strcat(fuse_opts, fsname);
		free(rdev);
	}
	{
		char *fargv[] = { argv[0], "-o", fuse_opts, debug ? "-d" : NULL, NULL };
		struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, fargv);

		se = fuse_session_new(&args, &tfs_ll_ops, sizeof(tfs_ll_ops), fs);
		fuse_opt_free_args(&args);
	}
	if (!se)
		goto out_close_fs; /* libfuse said why (unknown option, ...) */
	if (fuse_set_signal_handlers(se) != 0)
		goto out_destroy_session;
	if (!realpath(mnt, rmnt)) {
		fprintf(stderr, "tierfs: %s: %s\n", mnt, strerror(errno));
		goto out_remove_handlers;
	}
	if (fuse_session_mount(se, mnt) != 0) {
		fprintf(stderr, "tierfs: cannot mount on %s\n", mnt);
		goto out_remove_handlers;
	}
	/* every request and reply passes transport.c: tierfs owns INIT */
	if (fuse_session_custom_io(se, tfs_fuse_dev_io(), fuse_session_fd(se)) != 0) {
		fprintf(stderr, "tierfs: cannot take over the FUSE connection\n");
		goto out_unmount;
	}
	fs->fconn.se = se;
	fs->fconn.transport = "dev";
	dirty_limit(rmnt, opts.dirty_max);
	/* rings belong to the task that made them (SINGLE_ISSUER): the one used
	 * while loading must not cross the fork */
	tfs_io_thread_exit();
	if (!foreground) {
		for (unsigned int d = 0; d < fs->pool.ndev; d++)
			if (fs->pool.dev[d].d_fd >= 0)
				tfs_rados_before_fork(&fs->pool.dev[d]);
		if (detach() < 0)
			goto out_unmount;
		tfs_log_to_syslog();
		tfs_log_stderr(1);
		for (unsigned int d = 0; d < fs->pool.ndev; d++) {
			if (fs->pool.dev[d].d_fd < 0 || tfs_rados_after_fork(&fs->pool.dev[d]) == 0)
				continue;
			if (!opts.degraded) {
				tfs_err("device %u (%s): %s", d, fs->pool.dev[d].d_path,
					tfs_rados_error());
				goto out_unmount;
			}
			tfs_warn("device %u (%s): %s; mounted degraded: its chunks read as EIO", d,
				 fs->pool.dev[d].d_path, tfs_rados_error());
		}
	}
	/* after the fork: threads and rings do not cross it.  INIT has not been
	 * read yet (the session loop reads it), so the offer can still be taken */
	if (strcmp(opts.transport, "dev") && tfs_uring_enabled()) {
		fs->fconn.uring = tfs_uring_prepare(fs, se, 1u << 20);
		if (!fs->fconn.uring) {
			tfs_err("cannot set up the io_uring queues%s", strcmp(opts.transport, "uring") ? ": using /dev/fuse" : "");
			if (!strcmp(opts.transport, "uring"))
				goto out_unmount;
		}
	}
	tfs_info("mounted %s on %s (%u device%s, chunk %u KiB)", device, mnt, fs->pool.ndev,
		 fs->pool.ndev == 1 ? "" : "s", fs->pool.chunk_size >> 10);

	memset(&cm, 0, sizeof(cm));
	cm.fs = fs;
	cm.interval = opts.commit;
	pthread_mutex_init(&cm.lock, NULL);
	pthread_cond_init(&cm.cond, NULL);
	if (pthread_create(&cm.thread, NULL, commit_thread, &cm) != 0) {
		tfs_err("cannot start the commit thread");
		goto out_unmount;
	}
	tfs_meta_set_kick(fs->meta, commit_kick, &cm);
	if (tfs_cold_start(fs) < 0)
		tfs_warn("cannot start the cold-read loop: reads of the rados tier hold a FUSE worker each");
	if (opts.clean_mbps != 256)
		tfs_warn("-o clean_mbps is obsolete and has no effect: zone cleaning shares the migration engine's budget (migrate_duty, migrate_mbps)");
	if (!opts.ro && tier_engine_start(&fs->eng) < 0)
		tfs_err("cannot start the migration engine: chunks stay where they are written and zones are not cleaned");
	ctl = tfs_ctl_start(fs, rmnt);
	if (!ctl)
		tfs_warn("no control socket: tierfsctl will not reach this mount");

	lcfg = fuse_loop_cfg_create();
	if (!lcfg) {
		ret = -ENOMEM;
	} else {
		/* libfuse adds a worker only when all are busy, up to the most */
		fuse_loop_cfg_set_max_threads(lcfg, opts.threads);
		/* keep workers (and their rings) alive between requests */
		fuse_loop_cfg_set_idle_threads(lcfg, opts.threads);
		fuse_loop_cfg_set_clone_fd(lcfg, 0);
		ret = fuse_session_loop_mt(se, lcfg);
		fuse_loop_cfg_destroy(lcfg);
	}

	tfs_cold_stop(fs); /* answers the reads still waiting for objects */
	tfs_ctl_stop(ctl);
	tfs_scrub_stop(fs);
	tier_engine_stop(&fs->eng);
	tfs_meta_set_kick(fs->meta, NULL, NULL); /* from here on, checkpoints are taken inline */
	pthread_mutex_lock(&cm.lock);
	cm.stop = 1;
	pthread_cond_signal(&cm.cond);
	pthread_mutex_unlock(&cm.lock);
	pthread_join(cm.thread, NULL);

	fuse_session_unmount(se);
	/* the unmount ends the rings (their commands complete with ENOTCONN):
	 * the io_uring workers leave; the control socket is closed already */
	tfs_uring_stop(fs->fconn.uring);
	fs->fconn.uring = NULL;
	fs->fconn.over_uring = 0;
	{
		struct tfs_meta_stats ms;
		unsigned int open = tfs_ll_handles_drop(fs);

		if (open)
			tfs_info("%u file%s still open when the session ended: closed", open,
				 open == 1 ? " was" : "s were");

		tfs_meta_stats(fs->meta, &ms);
		tfs_info("%llu commits, %llu checkpoints; longest pool-lock hold of a checkpoint %llu us, of a commit %llu us",
			 (unsigned long long)ms.commits, (unsigned long long)ms.checkpoints,
			 (unsigned long long)ms.ckpt_pause_max_us,
			 (unsigned long long)ms.commit_pause_max_us);
	}
	if (opts.ro) {
		ret = ret ? 1 : 0;
	} else {
		tfs_free_orphans(fs);
		if (tfs_unmount(fs) < 0) {
			tfs_err("final checkpoint failed: the next mount recovers from the journal");
			ret = 1;
		} else {
			ret = ret ? 1 : 0;
		}
	}
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	tfs_fs_close(fs);
	tfs_opts_free(&opts);
	tfs_io_thread_exit();
	return ret;

out_unmount:
	fuse_session_unmount(se);
	if (fs) {
		tfs_uring_stop(fs->fconn.uring);
		fs->fconn.uring = NULL;
	}
out_remove_handlers:
	fuse_remove_signal_handlers(se);
out_destroy_session:
	fuse_session_destroy(se);
out_close_fs:
	tfs_fs_close(fs);
out:
	tfs_opts_free(&opts);
	return 1;
}

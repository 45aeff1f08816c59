/*
 * src/tierfsctl.c - talk to a mounted tierfs pool.
 *
 * The daemon answers on a Unix socket that only root can use (ctl.c); its
 * name follows from the mount point's path.  A FILE or PATH argument is
 * mapped to its mount (the topmost directory on the same device) and its
 * inode number, which is the pool's own.  Pins are the user.tierfs.pin
 * xattr, set here with setxattr(2) so that they go through the file system
 * like any change.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "tfs.h"

static int json;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tierfsctl COMMAND ARGS... [--json]\n"
		"\n"
		"Ask the tierfs daemon serving a mount (root only).\n"
		"\n"
		"    status MOUNT            tiers and devices: capacity, use, reads and writes\n"
		"                            since mount, promotions and demotions, heat by\n"
		"                            tier, zone counters and write amplification\n"
		"                            (also per zone stream),\n"
		"                            metadata, FUSE requests by opcode (count, mean\n"
		"                            and 99th percentile service time)\n"
		"    metrics MOUNT           the counters and gauges above, and FUSE service-time\n"
		"                            histograms, in Prometheus text format\n"
		"    where FILE              each run of chunks of FILE: offset, length, tier,\n"
		"                            device and heat\n"
		"    pin PATH TIER [--wait]  keep PATH's data on TIER (pmem, zns, block or rados); a\n"
		"                            directory is pinned with everything in it, and new\n"
		"                            files in it inherit the pin.  --wait: until moved\n"
		"    unpin PATH              back to automatic placement (recursive for a directory)\n"
		"    migrate MOUNT [--wait]  run a migration pass now (--wait: with progress,\n"
		"                            until the plan is done)\n"
		"    policy MOUNT [KEY=VALUE...] [--save]\n"
		"                            show the tiering policy, or change knobs until unmount\n"
		"                            (--save: also in the pool's tierfs.conf)\n"
		"    top MOUNT [--once]      a live view refreshed every second: per-tier use,\n"
		"                            bandwidth and IOPS, moves, zone cleaning, the\n"
		"                            hottest files; q quits (--once: one frame, plain)\n"
		"    scrub MOUNT [--rate MB/s] [--wait]\n"
		"                            read every data block of every file back and check\n"
		"                            its checksum, while the pool is in use [--rate 200;\n"
		"                            0: unlimited]; --wait: with progress, until done,\n"
		"                            then each damaged block by file, offset and device\n"
		"                            (exit 1 if any); --status: the last scrub's report\n"
		"    checkpoint MOUNT        write a checkpoint now: what changed since the last\n"
		"                            one; prints its number, bytes written and time\n"
		"    device list MOUNT       the pool's devices: tier, state (active, draining,\n"
		"                            removed), size, use, path\n"
		"    device add MOUNT PATH [--tier pmem|zns|block] [--zone-size MiB] [--force]\n"
		"                            add a device to the mounted pool (--force: over a\n"
		"                            file system or pool it holds); a file as zns gets\n"
		"                            emulated zones [--zone-size 64]\n"
		"    device remove MOUNT DEVICE [--wait]\n"
		"                            empty DEVICE (path or index) onto the others, then\n"
		"                            drop it from the pool; refused when they cannot hold\n"
		"                            what it holds.  --wait: with progress, until done\n"
		"    memory MOUNT            the daemon's memory for inodes, directory entries,\n"
		"                            chunks and chunk maps (walks every inode: for tests\n"
		"                            and benchmarks, not for frequent monitoring)\n"
		"\n"
		"    --json                  machine-readable output (see tierfsctl(8))\n"
		"    --timeout SECONDS       how long --wait waits [600]\n"
		"    -h, --help              this text\n"
		"    -V, --version           version\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 usage, 4 permission denied.\n");
}

/* the mount a path lives on: the topmost directory on its device */
static int mount_of(const char *path, char *mnt, size_t len)
{
	char cur[PATH_MAX], *slash;
	struct stat st, up;

	if (!realpath(path, cur)) {
		fprintf(stderr, "tierfsctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (stat(cur, &st) < 0) {
		fprintf(stderr, "tierfsctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		slash = strrchr(cur, '/');
		*(slash == cur ? slash + 1 : slash) = 0;
	}
	for (;;) {
		char parent[PATH_MAX];

		if (!strcmp(cur, "/"))
			break;
		snprintf(parent, sizeof(parent), "%s", cur);
		slash = strrchr(parent, '/');
		*(slash == parent ? slash + 1 : slash) = 0;
		if (stat(parent, &up) < 0 || up.st_dev != st.st_dev)
			break;
		snprintf(cur, sizeof(cur), "%s", parent);
	}
	if (strlen(cur) >= len)
		return -1;
	strcpy(mnt, cur);
	return 0;
}

/* send @req to the daemon of @mount; the answer in *@out (malloc'd).
 * 0, or an exit status (message printed) */
static int request(const char *mount, const char *req, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char rmnt[PATH_MAX], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	if (!realpath(mount, rmnt)) {
		fprintf(stderr, "tierfsctl: %s: %s\n", mount, strerror(errno));
		return 1;
	}
	if (tfs_ctl_path(rmnt, sa.sun_path, sizeof(sa.sun_path)) < 0) {
		fprintf(stderr, "tierfsctl: socket path too long\n");
		return 1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		/* the control socket is root's (mode 0600 in a 0700 directory) */
		if (e == EACCES || e == EPERM)
			fprintf(stderr, "tierfsctl: permission denied (root only): %s\n", rmnt);
		else
			fprintf(stderr, "tierfsctl: %s is not a tierfs mount served by a running daemon (%s: %s)\n",
				rmnt, sa.sun_path, strerror(e));
		if (fd >= 0)
			close(fd);
		return e == EACCES ? 4 : 1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "tierfsctl: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		if (len + 65536 + 1 > cap) {
			char *p = realloc(buf, cap = len + 65536 + 1);

			if (!p) {
				free(buf);
				close(fd);
				return 1;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (n < 0 || !buf) {
		fprintf(stderr, "tierfsctl: no answer from the daemon of %s\n", rmnt);
		free(buf);
		return 1;
	}
	buf[len] = 0;
	if (!strncmp(buf, "error:", 6)) {
		int perm = !strncmp(buf, "error: permission", 17);

		fprintf(stderr, "tierfsctl: %s", buf + 7);
		free(buf);
		return perm ? 4 : 1;
	}
	*out = buf;
	return 0;
}

/* a request whose answer is printed as it is */
static int ask(const char *mount, const char *req)
{
	char *ans;
	int ret = request(mount, req, &ans);

	if (ret == 0) {
		fputs(ans, stdout);
		free(ans);
	}
	return ret;
}

static int tier_arg(const char *s)
{
	int c = tfs_pin_parse(s, strlen(s));

	if (c < 0)
		fprintf(stderr, "tierfsctl: unknown tier '%s' (pmem, zns, block or rados)\n", s);
	return c;
}

/* ---- top: a live view ---- */

struct tsample {
	unsigned long long t;
	unsigned int ntier, nzone, nhot;
	struct {
		char name[8];
		unsigned long long v[8]; /* rb rr wb wr mr mw used cap */
	} tier[4];
	unsigned long long moves[4]; /* in this batch, backlog, moved bytes, passes */
	char zone[8][128];
	struct {
		unsigned long long ino;
		unsigned int heat, chunks;
		char path[PATH_MAX];
	} hot[16];
};

static int top_fetch(const char *mount, struct tsample *s)
{
	char *ans, *line, *save = NULL;
	int ret = request(mount, "top\n", &ans);

	if (ret)
		return ret;
	memset(s, 0, sizeof(*s));
	for (line = strtok_r(ans, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int d;
		char st[16];
		unsigned long long g, cz, cc;
		double wa;
		int n;

		if (sscanf(line, "time_ms %llu", &s->t) == 1)
			continue;
		if (!strncmp(line, "tier ", 5) && s->ntier < 4) {
			if (sscanf(line, "tier %7s %llu %llu %llu %llu %llu %llu %llu %llu",
				   s->tier[s->ntier].name, &s->tier[s->ntier].v[0], &s->tier[s->ntier].v[1],
				   &s->tier[s->ntier].v[2], &s->tier[s->ntier].v[3], &s->tier[s->ntier].v[4],
				   &s->tier[s->ntier].v[5], &s->tier[s->ntier].v[6],
				   &s->tier[s->ntier].v[7]) == 9)
				s->ntier++;
			continue;
		}
		if (sscanf(line, "moves %llu %llu %llu %llu", &s->moves[0], &s->moves[1], &s->moves[2],
			   &s->moves[3]) == 4)
			continue;
		if (sscanf(line, "zone %u %15s %llu %llu %llu %lf", &d, st, &g, &cz, &cc, &wa) == 6 &&
		    s->nzone < 8) {
			snprintf(s->zone[s->nzone++], sizeof(s->zone[0]),
				 "zns dev %u: cleaning %s, garbage %.0f MiB, %llu zones cleaned, WA %.2f", d,
				 st, (double)g / (1 << 20), cz, wa);
			continue;
		}
		if (!strncmp(line, "hot ", 4) && s->nhot < 16 &&
		    sscanf(line, "hot %llu %u %u %n", &s->hot[s->nhot].ino, &s->hot[s->nhot].heat,
			   &s->hot[s->nhot].chunks, &n) == 3) {
			snprintf(s->hot[s->nhot].path, sizeof(s->hot[0].path), "%s", line + n);
			s->nhot++;
		}
	}
	free(ans);
	return 0;
}

/* one line, cut to the terminal's width */
static void top_line(int width, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void top_line(int width, const char *fmt, ...)
{
	char buf[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (width > 1 && (int)strlen(buf) >= width)
		buf[width - 1] = 0;
	printf("%s\n", buf);
}

static void top_draw(const char *mount, const struct tsample *a, const struct tsample *b, int width,
		     int height, int tty)
{
	double dt = b->t > a->t ? (double)(b->t - a->t) / 1000.0 : 1.0;
	unsigned int i;
	int rows = 0;

#define RATE(f) ((double)(b->f - a->f) / dt)
	if (tty)
		printf("\033[H\033[2J");
	top_line(width, "tierfs top %s  (q quits)", mount);
	top_line(width, "%-6s %5s %9s %7s %9s %7s %9s", "tier", "used", "read MB/s", "r IOPS",
		 "write MB/s", "w IOPS", "moved MB/s");
	rows += 2;
	for (i = 0; i < b->ntier; i++) {
		top_line(width, "%-6s %4.0f%% %9.1f %7.0f %9.1f %7.0f %9.1f", b->tier[i].name,
			 b->tier[i].v[7] ? 100.0 * (double)b->tier[i].v[6] / (double)b->tier[i].v[7] : 0.0,
			 RATE(tier[i].v[0]) / 1e6, RATE(tier[i].v[1]), RATE(tier[i].v[2]) / 1e6,
			 RATE(tier[i].v[3]), (RATE(tier[i].v[4]) + RATE(tier[i].v[5])) / 1e6);
		rows++;
	}
	top_line(width, "moves: %llu in this batch, backlog %llu chunks, %.1f MB/s, %llu passes",
		 b->moves[0], b->moves[1], RATE(moves[2]) / 1e6, b->moves[3]);
	rows++;
	for (i = 0; i < b->nzone; i++, rows++)
		top_line(width, "%s", b->zone[i]);
	top_line(width, "%s", "");
	top_line(width, "%7s %6s  %s", "heat", "chunks", "hottest files");
	rows += 2;
	for (i = 0; i < b->nhot && (!tty || rows < height - 1); i++, rows++)
		top_line(width, "%7u %6u  %s", b->hot[i].heat, b->hot[i].chunks, b->hot[i].path);
	if (!b->nhot)
		top_line(width, "%7s %6s  %s", "-", "-", "(no heat yet)");
#undef RATE
	fflush(stdout);
}

static struct termios top_saved;
static int top_raw;

static void top_restore(void)
{
	if (top_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &top_saved);
	top_raw = 0;
}

static int top(const char *mount, int once)
{
	struct tsample *s = calloc(2, sizeof(*s));
	int tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && !once, ret, cur = 0;

	if (!s)
		return 1;
	ret = top_fetch(mount, &s[0]);
	if (ret)
		goto out;
	if (tty && tcgetattr(STDIN_FILENO, &top_saved) == 0) {
		struct termios raw = top_saved;

		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
			top_raw = 1;
			atexit(top_restore);
		}
	}
	for (;;) {
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		struct winsize ws = { 0 };
		char ch;

		/* a second between samples; a key ends it early */
		if (tty && poll(&p, 1, 1000) > 0) {
			if (read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
				break;
			continue;
		}
		if (!tty)
			sleep(1);
		ret = top_fetch(mount, &s[1 - cur]);
		if (ret)
			break;
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_col)
			ws.ws_col = 80, ws.ws_row = 24;
		top_draw(mount, &s[cur], &s[1 - cur], tty ? ws.ws_col : 0, ws.ws_row, tty);
		cur = 1 - cur;
		if (!tty)
			break;
	}
	if (tty)
		printf("\033[H\033[2J");
out:
	top_restore();
	free(s);
	return ret;
}

/* ---- pin / unpin: the xattr on PATH and, for a directory, beneath ---- */

static const char *pin_value; /* NULL: unpin */
static int pin_errors;
static uint64_t *pin_files; /* inode numbers of regular files touched */
static size_t pin_nfiles, pin_cap;
static dev_t pin_dev;

static int pin_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_NS || st->st_dev != pin_dev || (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)))
		return 0;
	if (pin_value ? setxattr(path, TFS_PIN_XATTR, pin_value, strlen(pin_value), 0)
		      : removexattr(path, TFS_PIN_XATTR)) {
		if (pin_value || errno != ENODATA) {
			fprintf(stderr, "tierfsctl: %s: %s\n", path, strerror(errno));
			pin_errors++;
			return 0;
		}
	}
	if (S_ISREG(st->st_mode)) {
		if (pin_nfiles == pin_cap) {
			uint64_t *p = realloc(pin_files, (pin_cap = pin_cap * 2 + 64) * sizeof(*p));

			if (!p)
				return -1;
			pin_files = p;
		}
		pin_files[pin_nfiles++] = st->st_ino;
	}
	return 0;
}

static int pin_tree(const char *path, const char *value)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "tierfsctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	pin_value = value;
	pin_dev = st.st_dev;
	if (nftw(path, pin_one, 32, FTW_PHYS | FTW_MOUNT) < 0) {
		fprintf(stderr, "tierfsctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return pin_errors ? -1 : 0;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* a forced pass; with @wait, until it is done (progress on a terminal).
 * 0, or an exit status */
static int run_pass(const char *mnt, int wait, unsigned int timeout_s, unsigned long long *moved,
		    unsigned long long *backlog)
{
	unsigned long long t, planned;
	char *ans, req[64];
	int ret, done = 0, tty = isatty(2) && !json;
	time_t t0 = time(NULL);

	*moved = *backlog = 0;
	ret = request(mnt, "migrate\n", &ans);
	if (ret)
		return ret;
	t = strtoull(ans, NULL, 10);
	free(ans);
	if (!wait)
		return 0;
	snprintf(req, sizeof(req), "progress %llu\n", t);
	while (!done) {
		ret = request(mnt, req, &ans);
		if (ret)
			return ret;
		if (sscanf(ans, "%d %llu %llu %llu", &done, moved, &planned, backlog) != 4) {
			free(ans);
			fprintf(stderr, "tierfsctl: bad answer from the daemon\n");
			return 1;
		}
		free(ans);
		if (tty)
			fprintf(stderr, "\rmigrating: %llu chunks moved, %llu to go   ", *moved, *backlog);
		if (!done) {
			if (time(NULL) - t0 > (time_t)timeout_s) {
				fprintf(stderr, "%stierfsctl: gave up waiting after %u s\n", tty ? "\n" : "",
					timeout_s);
				return 1;
			}
			sleep_ms(200);
		}
	}
	if (tty)
		fputc('\n', stderr);
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int cmd_pin(const char *path, const char *tier, int wait, unsigned int timeout_s)
{
	unsigned long long moved, backlog, total = 0, on = 0;
	char mnt[PATH_MAX], req[128], *ans;
	int cls = tier ? tier_arg(tier) : 0, ret;
	size_t i;

	if (cls < 0)
		return 2;
	if (mount_of(path, mnt, sizeof(mnt)) < 0)
		return 1;
	/* the mount must be ours before anything is changed */
	ret = request(mnt, "policy\n", &ans);
	if (ret)
		return ret;
	free(ans);
	if (pin_tree(path, tier) < 0)
		return 1;
	ret = run_pass(mnt, wait && tier, timeout_s, &moved, &backlog);
	if (ret)
		return ret;
	if (tier && wait) {
		for (i = 0; i < pin_nfiles; i++) {
			unsigned long long n, o;

			snprintf(req, sizeof(req), "count %llu %d\n", (unsigned long long)pin_files[i], cls);
			if (request(mnt, req, &ans))
				continue; /* removed meanwhile */
			if (sscanf(ans, "%llu %llu", &n, &o) == 2) {
				total += n;
				on += o;
			}
			free(ans);
		}
	}
	if (json) {
		printf("{\"path\": ");
		json_str(path);
		printf(", \"pin\": %s%s%s, \"files\": %zu", tier ? "\"" : "", tier ? tier : "null",
		       tier ? "\"" : "", pin_nfiles);
		if (tier && wait)
			printf(", \"chunks\": %llu, \"chunks_on_tier\": %llu", total, on);
		printf("}\n");
	} else if (tier && wait) {
		printf("%s: pinned to %s, %llu of %llu chunks there\n", path, tier, on, total);
	} else {
		printf("%s: %s (%zu file%s)\n", path, tier ? "pinned" : "unpinned", pin_nfiles,
		       pin_nfiles == 1 ? "" : "s");
	}
	if (tier && wait && on < total) {
		fprintf(stderr, "tierfsctl: %llu chunks could not move to %s (is it full?)\n",
			total - on, tier);
		return 1;
	}
	return 0;
}

/* device remove --wait: until the device is out of the table, with
 * progress on a terminal; 0 or an exit status */
static int device_wait(const char *mnt, unsigned int idx, unsigned int timeout_s)
{
	int tty = isatty(STDERR_FILENO) && !json;
	time_t t0 = time(NULL);
	char req[64];

	snprintf(req, sizeof(req), "device state %u\n", idx);
	for (;;) {
		unsigned long long used, total, stuck;
		char state[16], *ans;
		int ret = request(mnt, req, &ans);

		if (ret)
			return ret;
		if (sscanf(ans, "%15s %llu %llu %llu", state, &used, &total, &stuck) != 4) {
			fprintf(stderr, "%stierfsctl: %s", tty ? "\n" : "", ans);
			free(ans);
			return 1;
		}
		free(ans);
		if (!strcmp(state, "removed"))
			break;
		if (strcmp(state, "draining")) {
			fprintf(stderr, "%stierfsctl: device %u is %s, not being emptied\n", tty ? "\n" : "",
				idx, state);
			return 1;
		}
		if (tty)
			fprintf(stderr, "\remptying device %u: %llu of %llu chunk slots left (%.0f%% done)%s   ",
				idx, used, total, total ? 100.0 * (double)(total - used) / (double)total : 100.0,
				stuck ? ", some with no room elsewhere" : "");
		if (time(NULL) - t0 > (time_t)timeout_s) {
			fprintf(stderr, "%stierfsctl: gave up waiting after %u s (the removal goes on)\n",
				tty ? "\n" : "", timeout_s);
			return 1;
		}
		sleep_ms(200);
	}
	if (tty)
		fputc('\n', stderr);
	return 0;
}

static int cmd_device(char **args, int nargs, int force, const char *tier, unsigned int zone_mib,
		      int wait, unsigned int timeout_s)
{
	char req[PATH_MAX + 64], real[PATH_MAX], *ans;
	unsigned int idx;
	int ret;

	if (nargs == 2 && !strcmp(args[0], "list"))
		return ask(args[1], json ? "device list json\n" : "device list\n");
	if (nargs == 3 && !strcmp(args[0], "add")) {
		if (strcmp(tier, "auto") && tier_arg(tier) < 0)
			return 2;
		if (tfs_rados_path(args[2]) || !strcmp(tier, "rados")) {
			fprintf(stderr, "tierfsctl: a rados tier is given to mkfs.tierfs --rados; adding one to a pool is not supported\n");
			return 1;
		}
		if (!realpath(args[2], real)) {
			fprintf(stderr, "tierfsctl: %s: %s\n", args[2], strerror(errno));
			return 1;
		}
		snprintf(req, sizeof(req), "device add %s %d %u %s%s\n", tier, force, zone_mib, real,
			 json ? " json" : "");
		return ask(args[1], req);
	}
	if (nargs == 3 && !strcmp(args[0], "remove")) {
		const char *dev = args[2];

		/* an index as it is, a path as the daemon (in /) can find it */
		if (dev[strspn(dev, "0123456789")] && realpath(dev, real))
			dev = real;
		snprintf(req, sizeof(req), "device remove %s\n", dev);
		ret = request(args[1], req, &ans);
		if (ret)
			return ret;
		if (sscanf(ans, "device %u", &idx) != 1) {
			fprintf(stderr, "tierfsctl: bad answer from the daemon: %s", ans);
			free(ans);
			return 1;
		}
		if (!json)
			fputs(ans, stdout);
		free(ans);
		ret = wait ? device_wait(args[1], idx, timeout_s) : 0;
		if (ret)
			return ret;
		if (json)
			printf("{\"index\": %u, \"state\": \"%s\"}\n", idx, wait ? "removed" : "draining");
		else if (wait)
			printf("device %u removed\n", idx);
		return 0;
	}
	fprintf(stderr, "tierfsctl: usage: tierfsctl device add MOUNT PATH [--tier pmem|zns|block] [--zone-size MiB] [--force] |\n"
			"                 device remove MOUNT DEVICE [--wait] | device list MOUNT [--json]\n");
	return 2;
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "save", no_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "status", no_argument, NULL, 'S' },
		{ "once", no_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "tier", required_argument, NULL, 'T' },
		{ "zone-size", required_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int timeout_s = 600;
	int wait = 0, save = 0, status = 0, once = 0, force = 0, c, nargs;
	const char *tier = "auto";
	unsigned int zone_mib = 0;
	unsigned int rate_mbps = 200;
	char **args, req[4096];
	const char *cmd;

	while ((c = getopt_long(argc, argv, "hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'w':
			wait = 1;
			break;
		case 't':
			timeout_s = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 's':
			save = 1;
			break;
		case 'r': {
			char *end;

			errno = 0;
			rate_mbps = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || rate_mbps > 1000000) {
				fprintf(stderr, "tierfsctl: --rate takes MB/s (0: unlimited)\n");
				return 2;
			}
			break;
		}
		case 'S':
			status = 1;
			break;
		case 'o':
			once = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'T':
			tier = optarg;
			break;
		case 'Z': {
			char *end;

			errno = 0;
			zone_mib = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || !*optarg || (*end && strcmp(end, "M") && strcmp(end, "MiB")) ||
			    !zone_mib || zone_mib > 65536) {
				fprintf(stderr, "tierfsctl: --zone-size takes MiB (1 to 65536)\n");
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tierfsctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "tierfsctl: see tierfsctl --help\n");
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
#define NEED(n, u)                                                                   \
	do {                                                                         \
		if (nargs != (n)) {                                                  \
			fprintf(stderr, "tierfsctl: usage: tierfsctl %s\n", u);    \
			return 2;                                                    \
		}                                                                    \
	} while (0)
	if (!strcmp(cmd, "status")) {
		NEED(1, "status MOUNT [--json]");
		return ask(args[0], json ? "status json\n" : "status\n");
	}
	if (!strcmp(cmd, "metrics")) {
		NEED(1, "metrics MOUNT");
		return ask(args[0], "metrics\n");
	}
	if (!strcmp(cmd, "checkpoint")) {
		NEED(1, "checkpoint MOUNT [--json]");
		return ask(args[0], json ? "checkpoint json\n" : "checkpoint\n");
	}
	if (!strcmp(cmd, "memory")) {
		NEED(1, "memory MOUNT [--json]");
		return ask(args[0], json ? "memory json\n" : "memory\n");
	}
	if (!strcmp(cmd, "where")) {
		char mnt[PATH_MAX];
		struct stat st;

		NEED(1, "where FILE [--json]");
		if (stat(args[0], &st) < 0) {
			fprintf(stderr, "tierfsctl: %s: %s\n", args[0], strerror(errno));
			return 1;
		}
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr, "tierfsctl: %s: not a regular file\n", args[0]);
			return 1;
		}
		if (mount_of(args[0], mnt, sizeof(mnt)) < 0)
			return 1;
		snprintf(req, sizeof(req), "where %llu%s\n", (unsigned long long)st.st_ino,
			 json ? " json" : "");
		return ask(mnt, req);
	}
	if (!strcmp(cmd, "pin")) {
		NEED(2, "pin PATH TIER [--wait] [--json]");
		return cmd_pin(args[0], args[1], wait, timeout_s);
	}
	if (!strcmp(cmd, "unpin")) {
		NEED(1, "unpin PATH [--json]");
		return cmd_pin(args[0], NULL, 0, timeout_s);
	}
	if (!strcmp(cmd, "migrate")) {
		unsigned long long moved, backlog;
		int ret;

		NEED(1, "migrate MOUNT [--wait] [--json]");
		ret = run_pass(args[0], wait, timeout_s, &moved, &backlog);
		if (ret)
			return ret;
		if (json)
			printf("{\"waited\": %s, \"moved_chunks\": %llu, \"backlog_chunks\": %llu}\n",
			       wait ? "true" : "false", moved, backlog);
		else if (wait)
			printf("migration pass done: %llu chunks moved, %llu still wanted\n", moved,
			       backlog);
		else
			printf("migration pass started\n");
		return 0;
	}
	if (!strcmp(cmd, "top")) {
		NEED(1, "top MOUNT [--once]");
		return top(args[0], once);
	}
	if (!strcmp(cmd, "scrub")) {
		char *ans = NULL;
		int ret, tty = isatty(STDERR_FILENO);
		unsigned long long bad = 0, mbad = 0;

		NEED(1, "scrub MOUNT [--rate MB/s] [--wait] [--json] | scrub MOUNT --status [--json]");
		if (status)
			return ask(args[0], json ? "scrub json\n" : "scrub\n");
		snprintf(req, sizeof(req), "scrub start %u%s\n", rate_mbps, json && !wait ? " json" : "");
		ret = request(args[0], req, &ans);
		if (ret)
			return ret;
		if (!wait) {
			fputs(ans, stdout);
			free(ans);
			return 0;
		}
		/* until it is over, with progress on a terminal */
		for (;;) {
			char state[16] = "";
			double done = 0, total = 0;

			free(ans);
			ans = NULL;
			ret = request(args[0], "scrub\n", &ans);
			if (ret)
				return ret;
			sscanf(ans, "scrub %15[a-z]: %lf of %lf MiB read, %*u files, %llu damaged blocks, %llu",
			       state, &done, &total, &bad, &mbad);
			if (strcmp(state, "running"))
				break;
			if (tty)
				fprintf(stderr, "\rscrub: %.0f of %.0f MiB (%.0f%%), %llu damaged blocks ", done,
					total, total > 0 ? 100.0 * done / total : 100.0, bad);
			usleep(200000);
		}
		if (tty)
			fputc('\n', stderr);
		if (json) {
			free(ans);
			ans = NULL;
			ret = request(args[0], "scrub json\n", &ans);
			if (ret)
				return ret;
		}
		fputs(ans, stdout);
		ret = strncmp(ans, "scrub done", 10) && !strstr(ans, "\"state\": \"done\"");
		free(ans);
		return ret || bad || mbad ? 1 : 0;
	}
	if (!strcmp(cmd, "device"))
		return cmd_device(args, nargs, force, tier, zone_mib, wait, timeout_s);
	if (!strcmp(cmd, "policy")) {
		size_t len;
		int i;

		if (nargs < 1) {
			fprintf(stderr, "tierfsctl: usage: tierfsctl policy MOUNT [KEY=VALUE...] [--json]\n");
			return 2;
		}
		if (nargs == 1)
			return ask(args[0], json ? "policy json\n" : "policy\n");
		len = (size_t)snprintf(req, sizeof(req), "policy set");
		for (i = 1; i < nargs; i++) {
			if (strchr(args[i], ' ') || !strchr(args[i], '=') ||
			    len + strlen(args[i]) + 8 >= sizeof(req)) {
				fprintf(stderr, "tierfsctl: bad policy setting '%s' (KEY=VALUE)\n", args[i]);
				return 2;
			}
			len += (size_t)snprintf(req + len, sizeof(req) - len, " %s", args[i]);
		}
		snprintf(req + len, sizeof(req) - len, "%s%s\n", save ? " save" : "", json ? " json" : "");
		return ask(args[0], req);
	}
	fprintf(stderr, "tierfsctl: unknown command '%s'; see tierfsctl --help\n", cmd);
	return 2;
}

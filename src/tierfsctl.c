/*
 * src/tierfsctl.c - talk to a mounted tierfs pool.
 *
 * The daemon answers on a Unix socket that only root can use (ctl.c); its
 * name follows from the mount point's path.  Subcommands: status.  The
 * others of the design (where, pin, unpin, migrate, policy) belong to the
 * tiering engine, which does not exist yet: they fail with EOPNOTSUPP.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tfs.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tierfsctl [--json] COMMAND MOUNT\n"
		"\n"
		"Ask the tierfs daemon serving MOUNT (root only).\n"
		"\n"
		"    status MOUNT [--json]   devices and tiers: capacity, use, reads and writes\n"
		"                            since mount; for zoned devices zone counts by\n"
		"                            condition, garbage, cleaning and write amplification\n"
		"    where, pin, unpin, migrate, policy\n"
		"                            not implemented yet (they need the tiering engine)\n"
		"\n"
		"    --json                  machine-readable output (see tierfsctl(8))\n"
		"    -h, --help              this text\n"
		"    -V, --version           version\n");
}

static int ask(const char *mount, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char rmnt[PATH_MAX], buf[65536];
	ssize_t n;
	int fd, err = 0;

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
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (!err && n >= 6 && !strncmp(buf, "error:", 6))
			err = 1;
		fwrite(buf, 1, (size_t)n, err ? stderr : stdout);
	}
	close(fd);
	return n < 0 || err ? 1 : 0;
}

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, c;
	const char *cmd;

	while ((c = getopt_long(argc, argv, "hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
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
	if (!strcmp(cmd, "status")) {
		if (optind + 2 != argc) {
			fprintf(stderr, "tierfsctl: usage: tierfsctl status MOUNT [--json]\n");
			return 2;
		}
		return ask(argv[optind + 1], json ? "status json\n" : "status\n");
	}
	if (!strcmp(cmd, "where") || !strcmp(cmd, "pin") || !strcmp(cmd, "unpin") ||
	    !strcmp(cmd, "migrate") || !strcmp(cmd, "policy")) {
		fprintf(stderr, "tierfsctl: %s: not implemented yet (%s): there is no tiering engine yet\n",
			cmd, strerror(EOPNOTSUPP));
		return 1;
	}
	fprintf(stderr, "tierfsctl: unknown command '%s'; see tierfsctl --help\n", cmd);
	return 2;
}

/*
 * src/log.c - one line per event: "tierfs: ERROR: ..." on stderr, or syslog
 * once the daemon has detached.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "tfs.h"

int tfs_log_verbose = TFS_LOG_INFO;
static int use_syslog;

void tfs_log_to_syslog(void)
{
	openlog("tierfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void tfs_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "ERROR: ", "warning: ", "", "debug: " };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	va_list ap;

	if (level > tfs_log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog)
		syslog(prio[level], "%s%s", names[level], msg);
	else
		fprintf(stderr, "tierfs: %s%s\n", names[level], msg);
}

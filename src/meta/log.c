/*
 * src/meta/log.c - one line per event: "tierfs: ERROR: ..." on stderr, or syslog
 * once the daemon has detached (errors and warnings on stderr too until the
 * mount is ready and the command that started the daemon has returned).
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "meta.h"

int tfs_log_verbose = TFS_LOG_INFO;
static int use_syslog;
static int tee_stderr; /* errors and warnings on stderr too */

void tfs_log_to_syslog(void)
{
	openlog("tierfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void tfs_log_stderr(int on)
{
	__atomic_store_n(&tee_stderr, on, __ATOMIC_RELEASE);
}

static void emit(int level, const char *msg)
{
	static const char *const names[] = { "ERROR: ", "warning: ", "", "debug: " };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	if (use_syslog)
		syslog(prio[level], "%s%s", names[level], msg);
	if (!use_syslog || (level <= TFS_LOG_WARN && __atomic_load_n(&tee_stderr, __ATOMIC_ACQUIRE)))
		fprintf(stderr, "tierfs: %s%s\n", names[level], msg);
}

void tfs_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > tfs_log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, msg);
}

void tfs_log_rl(struct tfs_ratelimit *rl, int level, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	unsigned int dropped = 0;
	char msg[1024];
	va_list ap;
	int say;

	if (level > tfs_log_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&lock);
	if ((uint64_t)ts.tv_sec >= rl->start_s + 60 || !rl->start_s) {
		dropped = rl->dropped;
		rl->start_s = (uint64_t)ts.tv_sec ? (uint64_t)ts.tv_sec : 1;
		rl->n = 0;
		rl->dropped = 0;
	}
	say = rl->n < 10;
	if (say)
		rl->n++;
	else
		rl->dropped++;
	pthread_mutex_unlock(&lock);
	if (dropped) {
		snprintf(msg, sizeof(msg), "%u more like the next one in the last minute", dropped);
		emit(level, msg);
	}
	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, msg);
}

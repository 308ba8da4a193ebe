#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal = 1;

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_journal(int on)
{
	log_journal = on;
}

int log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	/* "<device>:<inode>" of the stream systemd connected; a child that
	 * inherited the variable but writes elsewhere must not match. */
	if (js == NULL || sscanf(js, "%llu:%llu%n", &dev, &ino, &end) != 2 || js[end] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_level_parse(const char *name)
{
	if (strcasecmp(name, "error") == 0)
		return LOG_LEVEL_ERROR;
	if (strcasecmp(name, "warn") == 0 || strcasecmp(name, "warning") == 0)
		return LOG_LEVEL_WARN;
	if (strcasecmp(name, "info") == 0)
		return LOG_LEVEL_INFO;
	if (strcasecmp(name, "debug") == 0)
		return LOG_LEVEL_DEBUG;
	return -1;
}

static const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARN: return "warn";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_DEBUG: return "debug";
	}
	return "?";
}

/* What starts a line: journald's "<N>" (it stamps the time itself), or,
 * anywhere else, the UTC time to the millisecond and the level, so a file or
 * a terminal can be read without a collector adding them. */
static int log_start(char *line, size_t len, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (log_journal)
		return snprintf(line, len, "<%d>", (int)level);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	return snprintf(line, len, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000L,
			log_level_name(level));
}

/* Formats the whole line first so concurrent writers (tests reading our
 * stderr) never see half lines interleaved. */
static void log_vemit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[2048];

	if (level > log_level)
		return;
	int off = log_start(line, sizeof line, level);
	int n = vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
	if (n < 0)
		return;
	size_t len = strlen(line);
	if (suffix != NULL && len < sizeof line - 1)
		len += (size_t)snprintf(line + len, sizeof line - len, ": %s", suffix);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *why = strerror(errno);

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, why, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, level) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_vemit(level, NULL, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_warnx, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

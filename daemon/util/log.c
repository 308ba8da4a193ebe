#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static enum log_level log_level = LOG_LEVEL_INFO;
static int log_prefix = 1;

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_prefix(int on)
{
	log_prefix = on;
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

/* Formats the whole line first so concurrent writers (tests reading our
 * stderr) never see half lines interleaved. */
static void log_vemit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[2048];
	int off = 0;

	if (level > log_level)
		return;
	if (log_prefix)
		off = snprintf(line, sizeof line, "<%d>", (int)level);
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

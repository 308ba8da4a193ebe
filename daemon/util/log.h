/* Logging: one line per event, to stderr. Under systemd each line starts
 * with a journald priority ("<3>") so the journal files it at the right
 * level and stamps its time; anywhere else with the UTC time and the level
 * ("2025-03-01T09:30:12.345Z warn ..."). Never log a secret. */
#ifndef SB_LOG_H
#define SB_LOG_H

enum log_level { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARN = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

/* Only messages at or above (numerically at or below) level are printed. */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);
/* On (the default): lines start with "<N>" journald priorities and carry no
 * timestamp (journald adds its own). Off: lines start with an ISO-8601 UTC
 * timestamp with milliseconds and the level's name (error, warn, info,
 * debug), for terminals and files. */
void log_set_journal(int on);
/* 1 when stderr is the journal: $JOURNAL_STREAM is set and names stderr's
 * device and inode (systemd sets it for the service's own stdout/stderr;
 * a redirected stderr no longer matches). */
int log_stderr_is_journal(void);

/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only at start-up: logs and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

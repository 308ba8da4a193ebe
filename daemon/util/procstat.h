/* The process's own resource figures, read from /proc/self the way
 * Prometheus's client libraries read them, for the standard process_*
 * metrics (admin/admin_metrics.c). Linux only. */
#ifndef SB_UTIL_PROCSTAT_H
#define SB_UTIL_PROCSTAT_H

struct procstat {
	double cpu_seconds;        /* user + system time */
	double resident_bytes;     /* resident set size */
	double virtual_bytes;      /* virtual memory size */
	double start_time_seconds; /* Unix time the process started */
	double open_fds;           /* open file descriptors (the one reading them not counted) */
	double max_fds;            /* the soft RLIMIT_NOFILE */
};

/* Fills out; a figure that cannot be read is -1. Returns 0 when every one
 * was read, -1 otherwise. */
int procstat_read(struct procstat *out);

#endif

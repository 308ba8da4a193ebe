/* Process figures from /proc/self: see procstat.h. */
#include "util/procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The boot time, Unix seconds ("btime" in /proc/stat); -1 if unknown. */
static double procstat_boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	double btime = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "btime ", 6) == 0) {
			btime = strtod(line + 6, NULL);
			break;
		}
	fclose(f);
	return btime;
}

/* /proc/self/stat: times, start, sizes. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted from its last ')'. */
static int procstat_stat(struct procstat *out)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char buf[1024], *save = NULL;
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
	int field = 3, seen = 0;
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	for (char *t = strtok_r(p + 1, " \n", &save); t != NULL;
	     t = strtok_r(NULL, " \n", &save), field++) {
		unsigned long long *to = field == 14   ? &utime
		                         : field == 15 ? &stime
		                         : field == 22 ? &start
		                         : field == 23 ? &vsize
		                         : field == 24 ? &rss
		                                       : NULL;
		if (to != NULL) {
			*to = strtoull(t, NULL, 10);
			seen++;
		}
	}
	long ticks = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	double boot = procstat_boot_time();
	if (seen != 5 || ticks <= 0 || page <= 0)
		return -1;
	out->cpu_seconds = (double)(utime + stime) / (double)ticks;
	out->virtual_bytes = (double)vsize;
	out->resident_bytes = (double)rss * (double)page;
	if (boot < 0)
		return -1;
	out->start_time_seconds = boot + (double)start / (double)ticks;
	return 0;
}

/* Entries of /proc/self/fd, less the descriptor reading them. */
static double procstat_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *e;
	double n = 0;

	if (d == NULL)
		return -1;
	int own = dirfd(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) != own)
			n++;
	closedir(d);
	return n;
}

int procstat_read(struct procstat *out)
{
	struct rlimit rl;
	int rc = 0;

	*out = (struct procstat){-1, -1, -1, -1, -1, -1};
	if (procstat_stat(out) != 0)
		rc = -1;
	out->open_fds = procstat_open_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		out->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	if (out->open_fds < 0 || out->max_fds < 0)
		rc = -1;
	return rc;
}

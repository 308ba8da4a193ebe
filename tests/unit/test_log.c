/* Logging (log.c): journald priority prefixes and no timestamp exactly when
 * stderr is the journal stream systemd named in $JOURNAL_STREAM; otherwise
 * each line starts with an ISO-8601 UTC timestamp (milliseconds) and the
 * level's name. And the level filter. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

/* stderr redirected to a temporary file for one test. */
static int saved_stderr = -1;
static char captured_path[64];

static int capture_start(void **state)
{
	snprintf(captured_path, sizeof captured_path, "/tmp/sb-test-log-%d", (int)getpid());
	int fd = open(captured_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

static int capture_stop(void **state)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(captured_path);
	unsetenv("JOURNAL_STREAM");
	log_set_journal(1);
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

/* What was written to stderr so far (static buffer). */
static const char *captured(void)
{
	static char buf[4096];
	fflush(stderr);
	FILE *f = fopen(captured_path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Points $JOURNAL_STREAM at stderr's device and inode, plus ino_delta. */
static void journal_stream_is_stderr(long long ino_delta)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", v, 1);
}

/* Only a $JOURNAL_STREAM naming stderr itself counts. */
static void test_journal_detection(void **state)
{
	assert_int_equal(log_stderr_is_journal(), 0);
	journal_stream_is_stderr(0);
	assert_int_equal(log_stderr_is_journal(), 1);
	journal_stream_is_stderr(1); /* inherited, but stderr was redirected */
	assert_int_equal(log_stderr_is_journal(), 0);
	const char *bad[] = { "", "12", "1:2:3", "a:b", "1:2x" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		setenv("JOURNAL_STREAM", bad[i], 1);
		assert_int_equal(log_stderr_is_journal(), 0);
	}
}

/* Under the journal: "<N>" priority, message, no timestamp. */
static void test_journal_prefix(void **state)
{
	journal_stream_is_stderr(0);
	log_set_journal(log_stderr_is_journal());
	log_error("e %d", 1);
	log_warnx("w");
	log_info("i");
	log_debug("hidden at info");
	errno = ENOENT;
	log_warn("open x");
	assert_string_equal(captured(),
			    "<3>e 1\n<4>w\n<6>i\n<4>open x: No such file or directory\n");
}

/* Wall clock, Unix milliseconds. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The Unix milliseconds of an ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static int64_t parse_stamp(const char *s)
{
	struct tm tm = {0};
	int ms = 0;

	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
				&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
			 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Elsewhere (a terminal, a file, a pipe): each line is "timestamp level
 * message", the timestamp UTC with milliseconds and taken when the line is
 * written; the level is configurable. */
static void test_timestamp_and_level_outside_the_journal(void **state)
{
	static const char *const want[] = {
		"info store ready",
		"debug session s-1: HELLO_WAIT -> ACTIVE",
		"warn open x: No such file or directory",
		"error shown",
	};
	regex_t re;
	regmatch_t m[3];

	journal_stream_is_stderr(1); /* inherited from a parent, but not our stderr */
	log_set_journal(log_stderr_is_journal());
	int64_t before = now_ms();
	log_info("store ready");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("session s-1: HELLO_WAIT -> ACTIVE");
	errno = ENOENT;
	log_warn("open x");
	log_set_level(LOG_LEVEL_ERROR);
	log_warnx("not shown");
	log_error("shown");
	int64_t after = now_ms();

	assert_int_equal(regcomp(&re,
				 "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z) "
				 "(.*)$",
				 REG_EXTENDED | REG_NEWLINE),
			 0);
	const char *p = captured();
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		if (regexec(&re, p, 3, m, 0) != 0 || m[0].rm_so != 0)
			fail_msg("line %zu is not \"timestamp level message\": %s", i, p);
		int64_t at = parse_stamp(p + m[1].rm_so);
		assert_in_range(at, before, after);
		assert_int_equal(m[2].rm_eo - m[2].rm_so, strlen(want[i]));
		assert_memory_equal(p + m[2].rm_so, want[i], strlen(want[i]));
		p += m[0].rm_eo + 1;
	}
	assert_string_equal(p, "");
	regfree(&re);
}

/* An over-long message is cut, still one line. */
static void test_long_line(void **state)
{
	char big[5000];

	log_set_journal(0);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	log_info("%s", big);
	const char *out = captured();
	assert_true(strlen(out) > 1000);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_detection, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_journal_prefix, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_timestamp_and_level_outside_the_journal,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_long_line, capture_start, capture_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

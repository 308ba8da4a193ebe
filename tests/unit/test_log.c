/* Logging (log.c): journald priority prefixes exactly when stderr is the
 * journal stream systemd named in $JOURNAL_STREAM, plain lines otherwise,
 * no timestamps either way, and the level filter. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	log_set_prefix(1);
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
	log_set_prefix(log_stderr_is_journal());
	log_error("e %d", 1);
	log_warnx("w");
	log_info("i");
	log_debug("hidden at info");
	errno = ENOENT;
	log_warn("open x");
	assert_string_equal(captured(),
			    "<3>e 1\n<4>w\n<6>i\n<4>open x: No such file or directory\n");
}

/* Elsewhere: plain lines, and the level is configurable. */
static void test_plain_and_level(void **state)
{
	log_set_prefix(log_stderr_is_journal());
	log_info("store ready");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("session s-1: HELLO_WAIT -> ACTIVE");
	log_set_level(LOG_LEVEL_ERROR);
	log_warnx("not shown");
	log_error("shown");
	assert_string_equal(captured(), "store ready\nsession s-1: HELLO_WAIT -> ACTIVE\nshown\n");
}

/* An over-long message is cut, still one line. */
static void test_long_line(void **state)
{
	char big[5000];

	log_set_prefix(0);
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
		cmocka_unit_test_setup_teardown(test_plain_and_level, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_long_line, capture_start, capture_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

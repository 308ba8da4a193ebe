/* kill -9 under load (DESIGN section 8, issue 4 item 7): while sb-load
 * submits, accepts and completes contacts through reconnecting clients, the
 * daemon is killed with SIGKILL at least 20 times at random intervals of
 * 0.3-1.5 s and restarted each time on the same config and Redis. Then
 * every acknowledged contact is compared with Redis: 0 lost, 0 assigned to
 * two agents, 0 stuck, and every one of them completed in the end.
 *
 * bench/chaos-kill.sh runs the same for longer, with parameters. The kill
 * times come from a seed printed at the start (SB_KILL_SEED replays it). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#define KILLS 20
#define KILL_GAP_MIN_MS 300
#define KILL_GAP_MAX_MS 1500
#define DRAIN_MS 120000

static const char *load_path(void)
{
	const char *p = getenv("SB_LOAD");

	if (p == NULL || *p == '\0')
		fail_msg("SB_LOAD is not set (run through ctest)");
	return p;
}

/* The number after "\"key\":" in report; fails when absent. */
static long json_num(const char *report, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(report, pat);
	if (p == NULL)
		fail_msg("no %s in the report: %s", key, report);
	return strtol(p + strlen(pat), NULL, 10);
}

/* The JSON line of sb-load's output. */
static const char *report_of(const char *output)
{
	const char *p = output;

	while (p != NULL && *p != '\0') {
		if (*p == '{')
			return p;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	fail_msg("no report from sb-load: %s", output ? output : "(no output)");
	return NULL;
}

HARNESS_TEST(test_kill9_under_load)
{
	const char *env_seed = getenv("SB_KILL_SEED");
	unsigned seed = env_seed != NULL ? (unsigned)strtoul(env_seed, NULL, 10)
	                                 : (unsigned)harness_now_ms();
	const char *journal = harness_write_file(h, "journal.txt", "");
	const char *const argv[] = {load_path(),
	                            "--config", harness_config_path(h),
	                            "--check-redis", harness_redis_addr(h),
	                            "--site", "test",
	                            "--rate", "50",
	                            "--duration", "600", /* ended by SIGINT after the kills */
	                            "--mix", "voice=30,chat=50,email=10,social=10",
	                            "--tiers", "gold=30,standard=70",
	                            "--accept-ms", "0-20",
	                            "--handle-ms", "10-60",
	                            "--settle-ms", "60000",
	                            "--journal", journal,
	                            "--json",
	                            NULL};
	const char *output, *report;
	pid_t load;
	int status;
	long acked;

	print_message("kill seed %u (SB_KILL_SEED replays it)\n", seed);
	srand(seed);
	load = harness_spawn(h, argv, "load.log");
	harness_sleep(h, 1000);
	for (int k = 0; k < KILLS; k++) {
		int gap = KILL_GAP_MIN_MS + rand() % (KILL_GAP_MAX_MS - KILL_GAP_MIN_MS + 1);

		harness_sleep(h, gap);
		harness_daemon_signal(h, SIGKILL);
		assert_false(harness_daemon_alive(h));
		harness_daemon_restart(h);
	}
	harness_sleep(h, 1000);
	/* The load stops; the clients finish what is open, then the check. */
	kill(load, SIGINT);
	status = harness_reap(h, load, DRAIN_MS);
	output = harness_read_file(h, "load.log");
	fputs(output ? output : "(no output)\n", stdout); /* print_message cuts at 1 KiB */
	assert_int_equal(status, 0);
	report = report_of(output);

	acked = json_num(report, "acknowledged");
	print_message("kills %d, contacts %ld, lost %ld, double-assigned %ld, stuck %ld\n", KILLS,
	              acked, json_num(report, "lost"), json_num(report, "double_assigned"),
	              json_num(report, "stuck"));
	assert_true(acked > 200);
	assert_int_equal(json_num(report, "submitted"), acked);
	assert_int_equal(json_num(report, "unacknowledged"), 0);
	assert_true(json_num(report, "reconnects") >= KILLS);
	assert_int_equal(json_num(report, "contacts"), acked);
	assert_int_equal(json_num(report, "lost"), 0);
	assert_int_equal(json_num(report, "double_assigned"), 0);
	assert_int_equal(json_num(report, "stuck"), 0);
	/* Nothing left behind either: Redis has every one completed. */
	assert_int_equal(json_num(report, "finished"), acked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kill9_under_load, harness_setup, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

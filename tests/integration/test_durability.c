/* kill -9 under load (DESIGN section 8, issue 4 item 7): while sb-load
 * submits, accepts and completes contacts through reconnecting clients, the
 * daemon is killed with SIGKILL at least 20 times at random intervals of
 * 0.3-1.5 s and restarted each time on the same config and Redis. Then
 * every acknowledged contact is compared with Redis: 0 lost, 0 assigned to
 * two agents, 0 stuck, and every one of them completed in the end.
 *
 * bench/chaos-kill.sh runs the same for longer, with parameters. The kill
 * times come from a seed printed at the start (SB_KILL_SEED replays it).
 * Two more: Redis stopped for 10 s under load, and the leader of an
 * active/standby pair killed under load. */
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
#include "load_report.h"

#define KILLS 20
#define KILL_GAP_MIN_MS 300
#define KILL_GAP_MAX_MS 1500
#define DRAIN_MS 120000

/* Stops the load (SIGINT: its clients finish what is open, then it checks
 * Redis), prints its output and asserts what every test here needs: it
 * exited 0, more than min_acked contacts were acknowledged, every submit
 * was, and none was lost, assigned twice, left stuck or unfinished.
 * Returns the report (owned by h); *acked is its acknowledged count. */
static const char *load_stop_checked(struct harness *h, pid_t load, long min_acked, long *acked)
{
	const char *output, *report;
	int status;

	kill(load, SIGINT);
	status = harness_reap(h, load, DRAIN_MS);
	output = harness_read_file(h, "load.log");
	fputs(output ? output : "(no output)\n", stdout); /* print_message cuts at 1 KiB */
	assert_int_equal(status, 0);
	report = load_report(output);
	*acked = load_num(report, "acknowledged");
	assert_true(*acked > min_acked);
	assert_int_equal(load_num(report, "submitted"), *acked);
	assert_int_equal(load_num(report, "unacknowledged"), 0);
	assert_int_equal(load_num(report, "lost"), 0);
	assert_int_equal(load_num(report, "double_assigned"), 0);
	assert_int_equal(load_num(report, "stuck"), 0);
	/* Nothing left behind either: Redis has every one completed. */
	assert_int_equal(load_num(report, "finished"), *acked);
	return report;
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
	const char *report;
	pid_t load;
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
	report = load_stop_checked(h, load, 200, &acked);
	print_message("kills %d, contacts %ld, lost %ld, double-assigned %ld, stuck %ld\n", KILLS,
	              acked, load_num(report, "lost"), load_num(report, "double_assigned"),
	              load_num(report, "stuck"));
	assert_true(load_num(report, "reconnects") >= KILLS);
	assert_int_equal(load_num(report, "contacts"), acked);
}

/* Redis stopped for 10 s under load, then started again (AOF on): the
 * daemon answers STORE_UNAVAILABLE meanwhile, the clients retry, and the
 * same three zeros hold after. */
HARNESS_TEST(test_redis_outage_under_load)
{
	const char *const argv[] = {load_path(),
	                            "--config", harness_config_path(h),
	                            "--check-redis", harness_redis_addr(h),
	                            "--site", "test",
	                            "--rate", "50",
	                            "--duration", "600",
	                            "--accept-ms", "0-20",
	                            "--handle-ms", "10-60",
	                            "--settle-ms", "60000",
	                            "--json",
	                            NULL};
	const char *report;
	pid_t load;
	long acked;

	load = harness_spawn(h, argv, "load.log");
	harness_sleep(h, 1500);
	harness_redis_stop(h);
	harness_sleep(h, 10000);
	harness_redis_start(h);
	harness_sleep(h, 2000);
	report = load_stop_checked(h, load, 100, &acked);
	assert_non_null(strstr(report, "STORE_UNAVAILABLE"));
}

/* Active/standby under load: the leader is killed and the standby (same
 * Redis, lease 600 ms) takes over; sb-load's clients list both daemons and
 * follow. The same three zeros after, and the take-over time printed. */
static int setup_pair(void **state)
{
	struct harness_opts opts = {.extra_yaml = "ha:\n  lease_ms: 600\n"};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_leader_killed_under_load)
{
	struct harness_standby sb = harness_start_standby(h);
	const char *gws = harness_printf(h, "%s,%s", harness_gateway_addr(h), sb.gateway);
	const char *ags = harness_printf(h, "%s,%s", harness_agent_addr(h), sb.agent);
	const char *const argv[] = {load_path(),
	                            "--config", harness_config_path(h),
	                            "--gateway", gws,
	                            "--agent", ags,
	                            "--check-redis", harness_redis_addr(h),
	                            "--site", "test",
	                            "--rate", "50",
	                            "--duration", "600",
	                            "--accept-ms", "0-20",
	                            "--handle-ms", "10-60",
	                            "--settle-ms", "60000",
	                            "--json",
	                            NULL};
	const char *log = NULL;
	int64_t t0, took = -1;
	pid_t load;
	long acked;

	load = harness_spawn(h, argv, "load.log");
	harness_sleep(h, 2000);
	t0 = harness_now_ms();
	harness_daemon_signal(h, SIGKILL);
	for (int i = 0; i < 500; i++) {
		log = harness_read_file(h, "standby.log");
		if (log != NULL && strstr(log, "leader: serving") != NULL) {
			took = harness_now_ms() - t0;
			break;
		}
		harness_sleep(h, 10);
	}
	assert_true(took >= 0);
	printf("take-over after the leader was killed under load: %lld ms (lease 600 ms)\n",
	       (long long)took);
	harness_sleep(h, 2000);
	load_stop_checked(h, load, 100, &acked);
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kill9_under_load, harness_setup, harness_teardown),
	    cmocka_unit_test_setup_teardown(test_redis_outage_under_load, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_leader_killed_under_load, setup_pair,
	                                    harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

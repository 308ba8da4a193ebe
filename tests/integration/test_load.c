/* sb-load against a harness daemon: a few seconds of mixed traffic from two
 * gateways and three agents must end with everything acknowledged and
 * completed and the Redis check clean; a journal checked after Redis was
 * broken behind its back (a contact hash deleted, a contact made invisible,
 * a second agent recorded for a contact) must be reported as lost, stuck and
 * double-assigned, with a non-zero exit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "load_report.h"

#define LOAD_RUN_MS 120000

/* Runs sb-load with the harness's config, Redis and site plus extra args.
 * Returns its exit status; *report gets its JSON line. */
static int run_load(struct harness *h, const char *const extra[], const char **report,
                    const char **output)
{
	const char *argv[64] = {load_path(),     "--config", harness_config_path(h),
	                        "--check-redis", harness_redis_addr(h), "--site",
	                        "test",          "--json",   "--quiet"};
	size_t n = 9;
	int st;

	for (size_t i = 0; extra[i] != NULL && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	st = harness_run(h, argv, LOAD_RUN_MS, output);
	*report = load_report(*output);
	return st;
}

/* The contact ids of the first k "ack" lines of a journal. */
static void journal_contacts(struct harness *h, const char *path, char ids[][128], int k)
{
	const char *text = harness_read_file(h, path);
	int found = 0;

	assert_non_null(text);
	for (const char *p = text; p != NULL && *p != '\0' && found < k;) {
		if (strncmp(p, "ack ", 4) == 0 && sscanf(p + 4, "%127s", ids[found]) == 1)
			found++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	assert_int_equal(found, k);
}

/* Mixed channels and tiers, agents that think and handle: everything
 * submitted is acknowledged, offered, assigned and completed, and Redis
 * agrees (0 lost, 0 double-assigned, 0 stuck). */
HARNESS_TEST(test_load_all_completed)
{
	const char *journal = harness_write_file(h, "journal.txt", "");
	const char *const extra[] = {"--rate",      "120",
	                             "--duration",  "3",
	                             "--accept-ms", "0-20",
	                             "--handle-ms", "5-30",
	                             "--mix",       "voice=30,chat=50,email=10,social=10",
	                             "--tiers",     "gold=30,standard=70",
	                             "--settle-ms", "20000",
	                             "--journal",   journal,
	                             NULL};
	const char *report, *output;
	int st = run_load(h, extra, &report, &output);
	long submitted;

	fputs(output, stdout);
	assert_int_equal(st, 0);
	submitted = load_num(report, "submitted");
	assert_true(submitted > 100);
	assert_int_equal(load_num(report, "acknowledged"), submitted);
	assert_int_equal(load_num(report, "offered"), submitted);
	assert_int_equal(load_num(report, "assigned"), submitted);
	assert_int_equal(load_num(report, "completed"), submitted);
	assert_int_equal(load_num(report, "unacknowledged"), 0);
	assert_int_equal(load_num(report, "refused"), 0);
	assert_non_null(strstr(report, "\"errors\":{}"));
	assert_int_equal(load_num(report, "contacts"), submitted);
	assert_int_equal(load_num(report, "lost"), 0);
	assert_int_equal(load_num(report, "double_assigned"), 0);
	assert_int_equal(load_num(report, "stuck"), 0);
	assert_int_equal(load_num(report, "finished"), submitted);
	/* Every contact has one latency sample of each kind. */
	assert_non_null(strstr(report, "\"submit_to_ack\":{\"n\":"));
	assert_int_equal(load_num(strstr(report, "\"submit_to_ack\""), "n"), submitted);
	assert_int_equal(load_num(strstr(report, "\"offer_to_assigned\""), "n"), submitted);
}

/* As fast as the window allows, for a fixed number of contacts. */
HARNESS_TEST(test_load_fixed_count)
{
	const char *const extra[] = {"--contacts", "300", "--inflight", "8", "--duration", "60",
	                             "--mix", "chat=1", "--handle-ms", "0", "--settle-ms",
	                             "20000", NULL};
	const char *report, *output;
	int st = run_load(h, extra, &report, &output);

	fputs(output, stdout);
	assert_int_equal(st, 0);
	assert_int_equal(load_num(report, "submitted"), 300);
	assert_int_equal(load_num(report, "acknowledged"), 300);
	assert_int_equal(load_num(report, "completed"), 300);
	assert_int_equal(load_num(report, "lost"), 0);
	assert_int_equal(load_num(report, "double_assigned"), 0);
	assert_int_equal(load_num(report, "stuck"), 0);
}

/* The check catches what it is for. A short clean run leaves a journal;
 * then one contact's hash is deleted (lost), one is made waiting but absent
 * from its queue (stuck), and a second agent is recorded for a third
 * (double-assigned): checking the journal again reports each, exit 1. */
HARNESS_TEST(test_check_reports_broken_state)
{
	const char *journal = harness_write_file(h, "journal.txt", "");
	const char *const load[] = {"--contacts", "20", "--rate", "50", "--duration", "30",
	                            "--mix", "chat=1", "--handle-ms", "0", "--settle-ms",
	                            "20000", "--journal", journal, NULL};
	const char *const check[] = {"--check-journal", journal, NULL};
	const char *report, *output;
	char ids[3][128];
	char line[300];
	FILE *f;

	assert_int_equal(run_load(h, load, &report, &output), 0);
	assert_int_equal(load_num(report, "completed"), 20);
	journal_contacts(h, journal, ids, 3);

	/* Unchanged, the journal checks clean on its own too. */
	assert_int_equal(run_load(h, check, &report, &output), 0);
	assert_int_equal(load_num(report, "contacts"), 20);
	assert_int_equal(load_num(report, "lost"), 0);

	assert_int_equal(harness_redis_int(h, "DEL %s", harness_key(h, "contact:%s", ids[0])), 1);
	assert_true(harness_redis_int(h, "HSET %s state waiting",
	                              harness_key(h, "contact:%s", ids[1])) >= 0);
	f = fopen(journal, "a");
	assert_non_null(f);
	snprintf(line, sizeof(line), "assign %s mallory\n", ids[2]);
	fputs(line, f);
	fclose(f);

	assert_int_equal(run_load(h, check, &report, &output), 1);
	fputs(output, stdout);
	assert_int_equal(load_num(report, "lost"), 1);
	assert_int_equal(load_num(report, "stuck"), 1);
	assert_int_equal(load_num(report, "double_assigned"), 1);
	assert_non_null(strstr(output, ids[0]));
}

/* Issue 13, defect 6: a hash that a later write recreated after Redis lost
 * the contact (a completion's HSET of state and agent, with no payload,
 * channel or queue) is not the contact. The check used to count it as a
 * finished contact; it must count it lost. The journal's time field and
 * its completion lines are read as well. */
HARNESS_TEST(test_check_counts_a_recreated_hash_as_lost)
{
	const char *journal = harness_write_file(h, "journal.txt", "");
	const char *const load[] = {"--contacts", "10", "--rate", "50", "--duration", "30",
	                            "--mix", "chat=1", "--handle-ms", "0", "--settle-ms",
	                            "20000", "--journal", journal, NULL};
	const char *const check[] = {"--check-journal", journal, NULL};
	const char *report, *output, *text;
	char ids[2][128];
	const char *key0, *key1;

	assert_int_equal(run_load(h, load, &report, &output), 0);
	assert_int_equal(load_num(report, "completed"), 10);
	journal_contacts(h, journal, ids, 2);
	/* Each line carries its time; completions are recorded. */
	text = harness_read_file(h, journal);
	assert_non_null(strstr(text, "complete "));
	assert_non_null(strstr(text, "ack "));
	{
		char kind[16], a[128], b[128];
		long long ms = 0;

		assert_int_equal(sscanf(text, "%15s %127s %127s %lld", kind, a, b, &ms), 4);
		assert_true(ms > 1600000000000LL);
	}

	/* Lost and recreated by a completion: state and agent, nothing else. */
	key0 = harness_key(h, "contact:%s", ids[0]);
	assert_int_equal(harness_redis_int(h, "DEL %s", key0), 1);
	assert_true(harness_redis_int(h, "HSET %s state completed agent agent01", key0) >= 0);
	/* Only the payload gone: incomplete as well. */
	key1 = harness_key(h, "contact:%s", ids[1]);
	assert_int_equal(harness_redis_int(h, "HDEL %s payload", key1), 1);

	assert_int_equal(run_load(h, check, &report, &output), 1);
	fputs(output, stdout);
	assert_int_equal(load_num(report, "contacts"), 10);
	assert_int_equal(load_num(report, "lost"), 2);
	assert_int_equal(load_num(report, "finished"), 8);
	assert_int_equal(load_num(report, "stuck"), 0);
	assert_non_null(strstr(output, ids[0]));
	assert_non_null(strstr(output, "recreated without the contact"));
}

/* Without the daemon's config: addresses (a list with a dead entry first),
 * gateway credentials, agent ids and the agent secret given as options. */
HARNESS_TEST(test_load_explicit_options)
{
	char gw[256], ag[256], creds[256];
	const char *out, *report;
	int st;

	snprintf(gw, sizeof(gw), "%s,%s", harness_free_addr(h), harness_gateway_addr(h));
	snprintf(ag, sizeof(ag), "%s", harness_agent_addr(h));
	snprintf(creds, sizeof(creds), "gw2:%s", harness_gateway_secret(h, "gw2"));
	const char *const argv[] = {load_path(),     "--gateway",      gw,
	                            "--agent",       ag,               "--gateway-creds",
	                            creds,           "--agent-ids",    "alice,bob",
	                            "--agent-secret", harness_agent_secret(h),
	                            "--contacts",    "40",             "--rate",
	                            "100",           "--duration",     "30",
	                            "--mix",         "chat=1",         "--settle-ms",
	                            "20000",         "--check-redis",  harness_redis_addr(h),
	                            "--site",        "test",           "--json",
	                            "--quiet",       NULL};

	st = harness_run(h, argv, 60000, &out);
	fputs(out, stdout);
	assert_int_equal(st, 0);
	report = load_report(out);
	assert_int_equal(load_num(report, "gateways"), 1);
	assert_int_equal(load_num(report, "agents"), 2);
	assert_int_equal(load_num(report, "acknowledged"), 40);
	assert_int_equal(load_num(report, "completed"), 40);
	assert_int_equal(load_num(report, "lost"), 0);
	assert_int_equal(load_num(report, "stuck"), 0);
}

/* Contacts that require a skill (half of them need billing >= 2, which
 * only dave has): all are still routed and completed. The harness's roster
 * gets dave appended through extra_yaml (agents: is the file's last key). */
static int setup_skills(void **state)
{
	struct harness_opts opts = {.extra_yaml = "  - id: dave\n"
	                                          "    name: Dave Example\n"
	                                          "    skills:\n"
	                                          "      billing: 3\n"};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_load_required_skills)
{
	const char *const extra[] = {"--contacts", "60", "--rate", "60", "--duration", "30",
	                             "--mix", "chat=1", "--skills", "billing:2=50",
	                             "--handle-ms", "0-10", "--settle-ms", "20000", NULL};
	const char *report, *output;
	int st = run_load(h, extra, &report, &output);

	fputs(output, stdout);
	assert_int_equal(st, 0);
	assert_int_equal(load_num(report, "agents"), 4);
	assert_int_equal(load_num(report, "acknowledged"), 60);
	assert_int_equal(load_num(report, "completed"), 60);
	assert_int_equal(load_num(report, "lost"), 0);
	assert_int_equal(load_num(report, "stuck"), 0);
	/* Some went to dave for the skill (the journal names him). */
	assert_non_null(strstr(harness_read_file(h, "switchboard.log"), "to dave"));
}

/* Options that make no sense are refused with status 2. */
HARNESS_TEST(test_load_usage_errors)
{
	static const char *const bad[][4] = {
	    {"--rate", "fast", NULL, NULL},
	    {"--mix", "fax=3", NULL, NULL},
	    {"--skills", "billing=10", NULL, NULL},
	    {"--accept-ms", "30-10", NULL, NULL},
	    {"--check-journal", "/nonexistent", NULL, NULL}, /* without --check-redis */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {load_path(), bad[i][0], bad[i][1], NULL};
		const char *output;

		assert_int_equal(harness_run(h, argv, 10000, &output), 2);
		assert_non_null(strstr(output, "sb-load: "));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load_all_completed, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_load_fixed_count, harness_setup, harness_teardown),
	    cmocka_unit_test_setup_teardown(test_check_reports_broken_state, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_check_counts_a_recreated_hash_as_lost,
	                                    harness_setup, harness_teardown),
	    cmocka_unit_test_setup_teardown(test_load_required_skills, setup_skills,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_load_explicit_options, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_load_usage_errors, harness_setup, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Redis outages (DESIGN section 8): the daemon stays up, answers
 * STORE_UNAVAILABLE instead of silence, and recovers by itself when Redis
 * returns, with everything acknowledged before the outage still there. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE

/* Longest the daemon may take to answer while Redis is down (never silence). */
#define OUTAGE_ANSWER_MS 5000
/* Longest recovery after Redis is back. */
#define RECOVERY_MS 5000
/* Submits refused while Redis is frozen. */
#define OUTAGE_SUBMITS 20

/* A submit during the outage is refused STORE_UNAVAILABLE, in bounded time. */
static void submit_is_store_unavailable(struct harness *h, struct sbc *gw, const char *ext)
{
	struct sbc_submit s = {.external_id = ext, .channel = VOICE, .queue = "voice-q"};

	harness_expect_error(h, gw, sbc_submit(gw, &s), SB_ERR_CODE(STORE_UNAVAILABLE),
			     OUTAGE_ANSWER_MS);
	assert_true(harness_daemon_alive(h));
}

/* Retries a submit until it is accepted (RECOVERY_MS at most); returns it. */
static Envelope *submit_until_accepted(struct harness *h, struct sbc *gw, const char *ext)
{
	struct sbc_submit s = {.external_id = ext, .channel = VOICE, .queue = "voice-q"};
	int64_t end = harness_now_ms() + RECOVERY_MS;

	for (;;) {
		Envelope *env = harness_answer(h, gw, sbc_submit(gw, &s), OUTAGE_ANSWER_MS);
		if (env->body_case == SB_BODY(CONTACT_ACCEPTED))
			return env;
		assert_int_equal(env->body_case, SB_BODY(ERROR));
		assert_int_equal(env->error->code, SB_ERR_CODE(STORE_UNAVAILABLE));
		assert_true(harness_now_ms() < end);
		harness_sleep(h, 100);
	}
}

/* An agent logs in, goes available and is offered contact_id. */
static void agent_gets_offer(struct harness *h, const char *contact_id)
{
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	harness_offer_for(h, alice, contact_id, 2000);
}

HARNESS_TEST(test_outage_answers_store_unavailable_then_recovers)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *before = harness_submit_id(h, gw, "before-outage", VOICE, "voice-q");

	harness_redis_stop(h);
	submit_is_store_unavailable(h, gw, "during-outage");
	assert_true(harness_log_wait(h, "store down", 3000));
	harness_assert_open(h, gw);

	harness_redis_start(h);
	Envelope *env = submit_until_accepted(h, gw, "during-outage");
	assert_false(env->contact_accepted->duplicate);
	long down = harness_log_find(h, "store down", 0);
	assert_true(down >= 0);
	assert_true(harness_log_find(h, "store ready", down) > down);

	/* the contact acknowledged before the outage survived it, in Redis and in routing */
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", before), "state"),
			    "waiting");
	agent_gets_offer(h, before);
}

HARNESS_TEST(test_accept_during_outage_is_store_unavailable)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, 2000);

	harness_redis_stop(h);
	harness_expect_error(h, alice, sbc_accept(alice, offer), SB_ERR_CODE(STORE_UNAVAILABLE),
			     OUTAGE_ANSWER_MS);
	assert_true(harness_daemon_alive(h));
	harness_assert_open(h, alice);

	harness_redis_start(h);
	submit_until_accepted(h, gw, "call-2");
}

/* Lines of the daemon's log from offset from on that contain text. */
static int log_count(struct harness *h, const char *text, long from)
{
	int n = 0;

	for (long at = from; (at = harness_log_find(h, text, at)) >= 0; at++)
		n++;
	return n;
}

/* An outage is told once when it starts and once, with what it cost, when
 * it ends: a frozen Redis (SIGSTOP) while a gateway keeps submitting must
 * not write one line per refused request. */
HARNESS_TEST(test_outage_is_logged_once_with_a_summary)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	char ext[32];

	harness_submit_id(h, gw, "before", VOICE, "voice-q");
	long from = harness_log_find(h, "leader: serving", 0);
	assert_true(from >= 0);
	harness_redis_signal(h, SIGSTOP);
	for (int i = 0; i < OUTAGE_SUBMITS; i++) {
		snprintf(ext, sizeof ext, "during-%d", i);
		submit_is_store_unavailable(h, gw, ext);
	}
	assert_true(harness_log_wait(h, "store down", 3000));
	harness_redis_signal(h, SIGCONT);
	submit_until_accepted(h, gw, "after");
	assert_true(harness_log_wait(h, "store: outage over after ", RECOVERY_MS));

	/* one line for the start, one for the end, whatever was refused */
	assert_int_equal(log_count(h, "store down", from), 1);
	assert_int_equal(log_count(h, "outage over", from), 1);
	long over = harness_log_find(h, "store: outage over after ", from);
	const char *log = harness_read_file(h, "switchboard.log");
	unsigned long refused = 0;
	double secs = -1;
	if (sscanf(log + over, "store: outage over after %lf s; %lu requests refused", &secs,
		   &refused) != 2)
		fail_msg("no summary in:\n%s", log + from);
	assert_true(secs > 0 && secs < 30);
	assert_true(refused >= OUTAGE_SUBMITS);
	/* the refusals themselves are not logged one by one */
	long down = harness_log_find(h, "store down", from);
	int lines = 0;
	for (const char *p = log + down; p < log + over; p++)
		lines += *p == '\n';
	if (lines > 6)
		fail_msg("%d lines between the outage's start and its end:\n%.*s", lines,
			 (int)(over - down), log + down);
}

/* The same when Redis refuses writes (here: it wants a replica it does not
 * have) while a gateway keeps submitting and the lease keeps being renewed:
 * one line with the cause, one summary, no line per refused request. */
HARNESS_TEST(test_refusing_outage_is_logged_once_with_a_summary)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	char ext[32];

	harness_submit_id(h, gw, "before", VOICE, "voice-q");
	long from = harness_log_find(h, "leader: serving", 0);
	assert_true(from >= 0);
	harness_redis_command(h, "CONFIG SET min-replicas-to-write 1");
	int64_t end = harness_now_ms() + 2000;
	for (int i = 0; harness_now_ms() < end; i++) {
		snprintf(ext, sizeof ext, "during-%d", i);
		submit_is_store_unavailable(h, gw, ext);
		harness_sleep(h, 50);
	}
	harness_redis_command(h, "CONFIG SET min-replicas-to-write 0");
	submit_until_accepted(h, gw, "after");
	assert_true(harness_log_wait(h, "store: outage over after ", RECOVERY_MS));

	const char *refuses = harness_printf(h, "store down: redis %s refuses writes: NOREPLICAS",
					     harness_redis_addr(h));
	assert_int_equal(log_count(h, refuses, from), 1);
	assert_int_equal(log_count(h, "store down", from), 1);
	assert_int_equal(log_count(h, "outage over", from), 1);
	assert_true(log_count(h, "redis refused", from) <= 1);
}

/* Fixture: the daemon starts while Redis is down. */
static int setup_redis_down(void **state)
{
	struct harness_opts opts = {.redis_down = true};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_daemon_started_without_redis_becomes_ready)
{
	/* Without Redis it cannot know whether it leads: clients are told so
	 * (NOT_LEADER, no leader named) and may retry elsewhere or later. */
	struct sbc *early = harness_connect(h, HARNESS_GATEWAY_PORT);
	uint64_t seq = 0;
	Envelope hello = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hm = SWITCHBOARD__V1__HELLO__INIT;
	hm.role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY;
	hm.client_id = "gw1";
	hm.token = (char *)harness_gateway_secret(h, "gw1");
	hello.body_case = SB_BODY(HELLO);
	hello.hello = &hm;
	seq = sbc_send(early, &hello);
	Envelope *err = harness_expect_error(h, early, seq, SB_ERR_CODE(NOT_LEADER), 2000);
	assert_string_equal(err->error->leader, "");
	assert_non_null(strstr(err->error->message, "waiting for redis"));
	harness_assert_closed(h, early, 2000);
	assert_true(harness_daemon_alive(h));

	/* The first install's commonest case: said at once, with the cause,
	 * once (the retries every reconnect_max_ms are not logged). */
	const char *down = harness_printf(h, "store down: redis %s: cannot connect: ",
					  harness_redis_addr(h));
	if (!harness_log_wait(h, down, 3000))
		fail_msg("no \"%s\" in:\n%s", down, harness_read_file(h, "switchboard.log"));
	assert_true(harness_log_contains(h, "Connection refused; retrying"));
	harness_sleep(h, 1000);
	assert_int_equal(log_count(h, "store down", 0), 1);

	harness_redis_start(h);
	assert_true(harness_log_wait(h, "leader: serving", 5000));
	struct sbc *gw = harness_gateway(h, "gw1");
	Envelope *env = submit_until_accepted(h, gw, "early");
	assert_true(harness_log_contains(h, "store ready"));
	agent_gets_offer(h, env->contact_accepted->contact_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outage_answers_store_unavailable_then_recovers,
						harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_accept_during_outage_is_store_unavailable,
						harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_outage_is_logged_once_with_a_summary,
						harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_refusing_outage_is_logged_once_with_a_summary,
						harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_started_without_redis_becomes_ready,
						setup_redis_down, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

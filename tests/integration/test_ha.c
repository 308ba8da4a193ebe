/* Active/standby (issue 4): two daemons on one Redis. The one holding the
 * lease serves; the other answers NOT_LEADER naming it, takes over when the
 * lease lapses, reloads the state and serves. A deposed leader that wakes
 * up (SIGSTOP past its lease, then SIGCONT) cannot change anything: every
 * write carries its old epoch and Redis refuses it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define AVAILABLE SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE
#define LEASE_MS 600
#define TAKEOVER_MS 5000

/* The fencing epoch Redis holds. */
static long long epoch(struct harness *h)
{
	return harness_redis_int(h, "EVAL %s 1 %s", "return tonumber(redis.call('GET', KEYS[1]))",
				 harness_key(h, "epoch"));
}

static int setup_pair(void **state)
{
	struct harness_opts opts = {
		.offer_timeout_ms = 1500,
		.extra_yaml = "ha:\n  lease_ms: 600\n",
	};

	*state = harness_start(&opts);
	return 0;
}

/* Hello on addr as role; returns the reply (Welcome or Error). */
static Envelope *hello(struct harness *h, const char *addr, bool gateway, const char *id)
{
	struct sbc *c = harness_connect_addr(h, addr);
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hm = SWITCHBOARD__V1__HELLO__INIT;

	hm.role = gateway ? SWITCHBOARD__V1__ROLE__ROLE_GATEWAY : SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hm.client_id = (char *)id;
	hm.token = (char *)(gateway ? harness_gateway_secret(h, id) : harness_token(h, id, 600));
	env.body_case = SB_BODY(HELLO);
	env.hello = &hm;
	return harness_answer(h, c, sbc_send(c, &env), HARNESS_REPLY_MS);
}

/* A logged-in client of the standby (adopted: the harness keeps it alive). */
static struct sbc *login(struct harness *h, const char *addr, bool gateway, const char *id)
{
	char err[128];
	struct sbc *c = sbc_connect(addr, 1000, err, sizeof err);

	assert_non_null(c);
	harness_adopt(h, c, true);
	assert_int_equal(sbc_hello(c,
				   gateway ? SWITCHBOARD__V1__ROLE__ROLE_GATEWAY
					   : SWITCHBOARD__V1__ROLE__ROLE_AGENT,
				   id, gateway ? harness_gateway_secret(h, id) : harness_token(h, id, 600),
				   HARNESS_REPLY_MS, NULL),
			 0);
	return c;
}

HARNESS_TEST(test_standby_names_the_leader)
{
	struct harness_standby sb = harness_start_standby(h);

	Envelope *e = hello(h, sb.gateway, true, "gw1");
	assert_int_equal(e->body_case, SB_BODY(ERROR));
	assert_int_equal(e->error->code, SB_ERR_CODE(NOT_LEADER));
	assert_string_equal(e->error->leader, harness_gateway_addr(h));
	e = hello(h, sb.agent, false, "alice");
	assert_int_equal(e->error->code, SB_ERR_CODE(NOT_LEADER));
	assert_string_equal(e->error->leader, harness_agent_addr(h));
	/* The leader itself serves. */
	harness_gateway(h, "gw1");
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

HARNESS_TEST(test_standby_takes_over_when_the_leader_dies)
{
	struct harness_standby sb = harness_start_standby(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *held = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	const char *waiting = harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");

	int64_t t0 = harness_now_ms();
	harness_daemon_signal(h, SIGKILL);
	assert_true(harness_file_wait(h, "standby.log", "leader: serving", TAKEOVER_MS));
	int64_t took = harness_now_ms() - t0;
	printf("take-over after the leader was killed: %lld ms (lease %d ms)\n", (long long)took,
	       LEASE_MS);
	assert_int_equal(epoch(h), 2);

	/* Its clients come over and hear where things stand. */
	gw = login(h, sb.gateway, true, "gw1");
	Envelope *a = harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS);
	assert_string_equal(a->contact_assigned->contact_id, held);
	assert_true(a->redelivered);
	Envelope *w = harness_await(h, gw, SB_BODY(CONTACT_ACCEPTED), HARNESS_REPLY_MS);
	assert_string_equal(w->contact_accepted->contact_id, waiting);
	assert_true(w->redelivered);
	alice = login(h, sb.agent, false, "alice");
	Envelope *st = harness_expect(h, alice, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	assert_int_equal(st->state_changed->state, AVAILABLE);
	Envelope *ac = harness_expect(h, alice, SB_BODY(ASSIGNMENT_CONFIRMED), HARNESS_REPLY_MS);
	assert_string_equal(ac->assignment_confirmed->contact_id, held);
	assert_true(ac->redelivered);

	/* The waiting one is routed by the new leader; a resubmit is the same contact. */
	struct sbc_submit s = {.external_id = "mail-1", .channel = EMAIL, .queue = "email-q"};
	Envelope *again = harness_reply(h, gw, sbc_submit(gw, &s), SB_BODY(CONTACT_ACCEPTED),
					HARNESS_REPLY_MS);
	assert_true(again->contact_accepted->duplicate);
	assert_string_equal(again->contact_accepted->contact_id, waiting);
	harness_reply(h, alice, sbc_complete(alice, held, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", held), "state"),
			    "completed");
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

HARNESS_TEST(test_deposed_leader_cannot_change_state)
{
	struct harness_standby sb = harness_start_standby(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_offer_for(h, alice, id, 3000);

	/* Frozen past its lease: the standby takes over and requeues the
	 * offer, and bob takes the contact there. */
	harness_daemon_signal(h, SIGSTOP);
	assert_true(harness_file_wait(h, "standby.log", "leader: serving", TAKEOVER_MS));
	struct sbc *bob = login(h, sb.agent, false, "bob");
	harness_expect(h, bob, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	harness_reply(h, bob, sbc_set_state(bob, AVAILABLE, ""), SB_BODY(STATE_CHANGED),
		      HARNESS_REPLY_MS);
	const char *offer = harness_offer_for(h, bob, id, 3000);
	harness_accept(h, bob, offer, id);
	long long events = harness_redis_int(h, "XLEN %s", harness_key(h, "events"));

	/* Woken up, the old leader's offer to alice times out: its requeue
	 * is refused by Redis and it stands down. */
	harness_daemon_signal(h, SIGCONT);
	assert_true(harness_log_wait(h, "standing down", 5000));
	assert_true(harness_log_contains(h, "FENCED") || harness_log_contains(h, "lost the lease"));
	harness_sleep(h, 300);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"), "assigned");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "agent"), "bob");
	assert_int_equal(harness_redis_int(h, "XLEN %s", harness_key(h, "events")), events);
	assert_int_equal(epoch(h), 2);

	/* And it now sends clients to the new leader. */
	Envelope *e = hello(h, harness_gateway_addr(h), true, "gw1");
	assert_int_equal(e->error->code, SB_ERR_CODE(NOT_LEADER));
	assert_string_equal(e->error->leader, sb.gateway);
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_pair, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_standby_names_the_leader),
		T(test_standby_takes_over_when_the_leader_dies),
		T(test_deposed_leader_cannot_change_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

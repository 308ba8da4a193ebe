/* Recovery (issue 4): a daemon killed with SIGKILL and started again loads
 * everything acknowledged from Redis and carries on — waiting contacts keep
 * their deadlines and order, assignments stay with their agents, offers
 * that were outstanding are requeued — and clients that come back are told
 * again what they may have missed, under stable event ids. */
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
#define OFFER_MS 3000

/* The id of a contact's n-th transition (1 submitted, 2 offered, ...). */
static const char *event_id(struct harness *h, const char *contact, int n)
{
	return harness_printf(h, "%s/%d", contact, n);
}

static void kill_and_restart(struct harness *h)
{
	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
}

/* Fixture: offers that last (the restart must not race them) and a short
 * agent grace period where a test needs it to lapse. */
static int setup_slow_offers(void **state)
{
	struct harness_opts opts = {.offer_timeout_ms = 30000};

	*state = harness_start(&opts);
	return 0;
}

static int setup_short_grace(void **state)
{
	struct harness_opts opts = {.offer_timeout_ms = 30000, .agent_grace_ms = 400};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_waiting_contacts_survive_a_kill_in_deadline_order)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *ids[3];
	uint64_t deadlines[3];
	const char *ext[3] = {"mail-1", "mail-2", "mail-3"};

	for (int i = 0; i < 3; i++) {
		Envelope *a = harness_submit(h, gw, ext[i], EMAIL, "email-q");
		ids[i] = a->contact_accepted->contact_id;
		deadlines[i] = a->contact_accepted->deadline_ms;
	}
	assert_int_equal(harness_redis_int(h, "SCARD %s", harness_key(h, "open")), 3);

	kill_and_restart(h);
	assert_true(harness_log_contains(h, "recovery: 3 waiting"));

	/* The gateway hears where each stands, with the first event's id. */
	gw = harness_gateway(h, "gw1");
	for (int seen = 0; seen < 3; seen++) {
		Envelope *a = harness_expect(h, gw, SB_BODY(CONTACT_ACCEPTED), HARNESS_REPLY_MS);
		int i = 0;
		while (i < 3 && strcmp(ids[i], a->contact_accepted->contact_id) != 0)
			i++;
		assert_true(i < 3);
		assert_true(a->redelivered);
		assert_int_equal(a->ref, 0);
		assert_int_equal(a->contact_accepted->deadline_ms, deadlines[i]);
		assert_string_equal(a->event_id, event_id(h, ids[i], 1));
	}
	/* Same deadlines, so the same order: the earliest is offered first. */
	struct sbc *alice = harness_agent(h, "alice");
	harness_available(h, alice);
	harness_offer_for(h, alice, ids[0], OFFER_MS);

	/* A resubmit after the restart is still the same contact. */
	Envelope *again = harness_submit(h, gw, ext[1], EMAIL, "email-q");
	assert_true(again->contact_accepted->duplicate);
	assert_string_equal(again->contact_accepted->contact_id, ids[1]);
}

HARNESS_TEST(test_assignment_stays_and_outstanding_offer_is_requeued)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *held = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	const char *offered = harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	harness_offer_for(h, bob, offered, OFFER_MS);
	/* The Offer goes out while its record is being written; the crash
	 * comes once Redis has it (without it the contact is simply waiting). */
	assert_string_equal(harness_hget_wait(h, harness_key(h, "contact:%s", offered), "state",
					      "offered", 2000),
			    "offered");

	kill_and_restart(h);
	assert_true(harness_log_contains(h, "1 offers requeued"));
	assert_string_equal(harness_hget_wait(h, harness_key(h, "contact:%s", offered), "state",
					      "waiting", 2000),
			    "waiting");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", held), "agent"), "alice");

	/* alice comes back in time: still available, still holding it. */
	alice = harness_agent_back(h, "alice", AVAILABLE);
	Envelope *ac = harness_await(h, alice, SB_BODY(ASSIGNMENT_CONFIRMED), HARNESS_REPLY_MS);
	assert_string_equal(ac->assignment_confirmed->contact_id, held);
	assert_true(ac->redelivered);
	assert_string_equal(ac->event_id, event_id(h, held, 3));
	/* Voice is exclusive and she holds a call: the requeued one goes to
	 * bob once he is back. */
	bob = harness_agent_back(h, "bob", AVAILABLE);
	harness_offer_for(h, bob, offered, OFFER_MS);

	gw = harness_gateway(h, "gw1");
	harness_reply(h, alice, sbc_complete(alice, held, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, held);
	assert_string_equal(done->event_id, event_id(h, held, 4));
	assert_int_equal(harness_redis_int(h, "SISMEMBER %s %s", harness_key(h, "open"), held), 0);
}

HARNESS_TEST(test_agent_not_back_within_grace_is_logged_out)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_offer_for(h, alice, id, OFFER_MS);
	harness_close(h, alice);

	/* Within the grace period nothing changes; after it, alice is logged
	 * out and her offer requeued. */
	assert_string_equal(harness_hget(h, harness_key(h, "agent:alice"), "state"), "available");
	assert_string_equal(harness_hget_wait(h, harness_key(h, "agent:alice"), "reason",
					      "logged-out", 3000),
			    "logged-out");
	assert_string_equal(harness_hget(h, harness_key(h, "agent:alice"), "state"), "offline");
	assert_string_equal(harness_hget_wait(h, harness_key(h, "contact:%s", id), "state",
					      "waiting", 2000),
			    "waiting");
	Envelope *ev = harness_await(h, gw, SB_BODY(CONTACT_EVENT), HARNESS_REPLY_MS);
	assert_int_equal(ev->contact_event->kind,
			 SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED);
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	harness_offer_for(h, bob, id, OFFER_MS);
}

/* An offer does not survive its agent's session: it is withdrawn when the
 * session closes, and the agent back within its grace period (still
 * available) is offered the contact again under a new offer. */
HARNESS_TEST(test_agent_back_within_grace_is_offered_again)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);
	harness_close(h, alice);
	assert_string_equal(harness_hget_wait(h, harness_key(h, "contact:%s", id), "state",
					      "waiting", 2000),
			    "waiting");

	alice = harness_agent_back(h, "alice", AVAILABLE);
	Envelope *o = harness_await(h, alice, SB_BODY(OFFER), HARNESS_REPLY_MS);
	assert_string_equal(o->offer->contact->contact_id, id);
	assert_string_not_equal(o->offer->offer_id, offer);
	assert_false(o->redelivered);
	assert_string_equal(o->event_id, event_id(h, id, 4)); /* offered, requeued, offered */
	harness_accept(h, alice, o->offer->offer_id, id);
}

HARNESS_TEST(test_gateway_hears_its_open_contacts_again)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	const char *other = harness_submit_id(h, harness_gateway(h, "gw2"), "x", EMAIL, "email-q");
	harness_close(h, gw);

	gw = harness_gateway(h, "gw1");
	Envelope *a = harness_expect(h, gw, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS);
	assert_string_equal(a->contact_assigned->contact_id, id);
	assert_string_equal(a->contact_assigned->agent_id, "alice");
	assert_true(a->redelivered);
	assert_string_equal(a->event_id, event_id(h, id, 3));
	/* Only its own contacts: gw2's is not told to gw1. */
	(void)other;
	harness_expect_silence(h, gw, 300);
}

HARNESS_TEST(test_clean_stop_releases_the_lease)
{
	assert_int_equal(harness_redis_int(h, "EXISTS %s", harness_key(h, "leader")), 1);
	harness_daemon_signal(h, SIGTERM);
	assert_true(harness_log_wait(h, "lease released", 5000));
	for (int i = 0; i < 50 && harness_daemon_alive(h); i++)
		harness_sleep(h, 50);
	assert_false(harness_daemon_alive(h));
	assert_int_equal(harness_redis_int(h, "EXISTS %s", harness_key(h, "leader")), 0);
	/* The next start takes a new term at once. */
	harness_daemon_restart(h);
	assert_true(harness_log_contains(h, "epoch 2"));
}

HARNESS_TEST(test_sigterm_drains_and_tells_clients)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id = harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");

	harness_daemon_signal(h, SIGTERM);
	/* Every client hears it should go elsewhere, then the connection ends. */
	Envelope *e = harness_expect_error(h, gw, 0, SB_ERR_CODE(NOT_LEADER), 3000);
	assert_string_equal(e->error->leader, "");
	harness_assert_closed(h, gw, 3000);
	harness_expect_error(h, alice, 0, SB_ERR_CODE(NOT_LEADER), 3000);
	for (int i = 0; i < 100 && harness_daemon_alive(h); i++)
		harness_sleep(h, 50);
	assert_false(harness_daemon_alive(h));
	assert_true(harness_log_contains(h, "stopped"));
	/* What was acknowledged is in Redis, still open for the next leader. */
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"), "waiting");
	assert_int_equal(harness_redis_int(h, "SISMEMBER %s %s", harness_key(h, "open"), id), 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_slow_offers, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_waiting_contacts_survive_a_kill_in_deadline_order),
		T(test_assignment_stays_and_outstanding_offer_is_requeued),
		cmocka_unit_test_setup_teardown(test_agent_not_back_within_grace_is_logged_out,
						setup_short_grace, harness_teardown),
		T(test_agent_back_within_grace_is_offered_again),
		T(test_gateway_hears_its_open_contacts_again),
		T(test_clean_stop_releases_the_lease),
		T(test_sigterm_drains_and_tells_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

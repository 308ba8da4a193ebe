/* End to end: gateways and agents against a real daemon and Redis, one fresh
 * pair per test. Each test asserts one behaviour of the protocol's contract
 * (proto/switchboard.proto) and of the routing rules (DESIGN section 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "harness.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define CHAT SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define SOCIAL SWITCHBOARD__V1__CHANNEL__CHANNEL_SOCIAL
#define REQUEUED SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED
#define AVAILABLE SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE

/* How long an offer may take to arrive after it became possible. */
#define OFFER_MS 2000

/* Asserts a ContactEvent REQUEUED for contact_id reaches the gateway. */
static void expect_requeued(struct harness *h, struct sbc *gw, const char *contact_id)
{
	Envelope *env = harness_await(h, gw, SB_BODY(CONTACT_EVENT), 3000);

	assert_int_equal(env->ref, 0);
	assert_string_equal(env->contact_event->contact_id, contact_id);
	assert_int_equal(env->contact_event->kind, REQUEUED);
}

/* Asserts the contact's hash has state want (now, no polling). */
static void assert_state(struct harness *h, const char *contact_id, const char *want)
{
	const char *state = harness_hget(h, harness_key(h, "contact:%s", contact_id), "state");

	assert_non_null(state);
	assert_string_equal(state, want);
}

/* Entries of the events stream about contact with this event, and (when
 * not NULL) this agent and reason, read from Redis itself. */
static size_t stream_count(struct harness *h, const char *contact, const char *event,
			   const char *agent, const char *reason)
{
	redisReply *r = harness_redis_command(h, "XRANGE %s - +", harness_key(h, "events"));
	size_t n = 0;

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		bool c = false, e = false, a = agent == NULL, why = reason == NULL;
		for (size_t k = 0; k + 1 < kv->elements; k += 2) {
			const char *f = kv->element[k]->str, *v = kv->element[k + 1]->str;
			if (strcmp(f, "contact") == 0)
				c = strcmp(v, contact) == 0;
			else if (strcmp(f, "event") == 0)
				e = strcmp(v, event) == 0;
			else if (strcmp(f, "agent") == 0 && agent != NULL)
				a = strcmp(v, agent) == 0;
			else if (strcmp(f, "reason") == 0 && reason != NULL)
				why = strcmp(v, reason) == 0;
		}
		n += c && e && a && why;
	}
	return n;
}

/* Number of contact hashes in Redis. */
static long long count_contacts(struct harness *h)
{
	static const char script[] =
		"local n = 0 "
		"for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
		"if redis.call('TYPE', k).ok == 'hash' then n = n + 1 end end "
		"return n";

	return harness_redis_int(h, "EVAL %s 0 %s", script, harness_key(h, "contact:*"));
}

/* Asserts deadline_ms lies within tolerance of now + sla_ms. */
static void assert_deadline(int64_t before_ms, int64_t after_ms, uint64_t deadline_ms,
			    int64_t sla_ms)
{
	assert_in_range(deadline_ms, (uint64_t)(before_ms + sla_ms - 1000),
			(uint64_t)(after_ms + sla_ms + 1000));
}

HARNESS_TEST(test_welcome_has_session_and_heartbeat)
{
	Envelope *w = NULL;

	harness_agent_welcome(h, "alice", &w);
	assert_true(w->welcome->heartbeat_ms > 0);
	assert_true(strlen(w->welcome->session_id) > 0);
	int64_t now = harness_now_ms();
	assert_in_range(w->welcome->server_time_ms, (uint64_t)(now - 5000), (uint64_t)(now + 5000));
}

HARNESS_TEST(test_ping_answered_with_pong)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *agent = harness_agent(h, "alice");

	harness_assert_open(h, gw);
	harness_assert_open(h, agent);
}

HARNESS_TEST(test_submit_voice_is_accepted_and_stored_waiting)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	int64_t before = harness_now_ms();
	Envelope *env = harness_submit(h, gw, "call-1", VOICE, "voice-q");
	int64_t after = harness_now_ms();
	const Switchboard__V1__ContactAccepted *a = env->contact_accepted;

	assert_string_equal(a->queue, "voice-q");
	assert_true(a->position >= 1);
	assert_false(a->duplicate);
	assert_deadline(before, after, a->deadline_ms, 30000);

	assert_state(h, a->contact_id, "waiting");
	assert_int_equal(harness_redis_int(h, "ZRANK %s %s", harness_key(h, "queue:voice-q"),
					   a->contact_id),
			 0);
}

HARNESS_TEST(test_submit_chat_without_queue_uses_channel_default)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	int64_t before = harness_now_ms();
	Envelope *env = harness_submit(h, gw, "chat-1", CHAT, NULL);
	int64_t after = harness_now_ms();

	assert_string_equal(env->contact_accepted->queue, "chat-q");
	assert_deadline(before, after, env->contact_accepted->deadline_ms, 60000);
	assert_true(harness_redis_int(h, "ZRANK %s %s", harness_key(h, "queue:chat-q"),
				      env->contact_accepted->contact_id) >= 0);
}

HARNESS_TEST(test_positions_count_up_in_a_queue)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	Envelope *first = harness_submit(h, gw, "call-1", VOICE, "voice-q");
	Envelope *second = harness_submit(h, gw, "call-2", VOICE, "voice-q");

	assert_int_equal(first->contact_accepted->position, 1);
	assert_int_equal(second->contact_accepted->position, 2);
	assert_string_not_equal(first->contact_accepted->contact_id,
				second->contact_accepted->contact_id);
}

HARNESS_TEST(test_resubmit_same_gateway_is_duplicate)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	Envelope *first = harness_submit(h, gw, "call-dup", VOICE, "voice-q");
	Envelope *again = harness_submit(h, gw, "call-dup", VOICE, "voice-q");

	assert_string_equal(again->contact_accepted->contact_id,
			    first->contact_accepted->contact_id);
	assert_true(again->contact_accepted->duplicate);
	assert_int_equal(harness_redis_int(h, "ZCARD %s", harness_key(h, "queue:voice-q")), 1);
	assert_int_equal(count_contacts(h), 1);
}

/* Nobody who could answer is logged in: the estimated wait is "unknown" (not
 * 0, which says "no wait"), a resubmission's too; offered at once it is a
 * known 0. */
HARNESS_TEST(test_estimated_wait_unknown_until_staffed)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const Switchboard__V1__ContactAccepted *a[3];

	a[0] = harness_submit(h, gw, "call-1", VOICE, "voice-q")->contact_accepted;
	a[1] = harness_submit(h, gw, "call-2", VOICE, "voice-q")->contact_accepted;
	a[2] = harness_submit(h, gw, "call-2", VOICE, "voice-q")->contact_accepted;
	assert_true(a[2]->duplicate);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a[i]->position, i == 0 ? 1 : 2);
		assert_true(a[i]->estimated_wait_unknown);
		assert_int_equal(a[i]->estimated_wait_ms, 0);
	}

	/* Free for it: offered at once, a known 0. */
	struct sbc *carol = harness_agent(h, "carol");
	harness_available(h, carol); /* rings for call-1 */
	harness_offer_for(h, carol, a[0]->contact_id, OFFER_MS);
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob); /* rings for call-2 */
	harness_offer_for(h, bob, a[1]->contact_id, OFFER_MS);
	struct sbc *alice = harness_agent(h, "alice");
	harness_available(h, alice);
	const Switchboard__V1__ContactAccepted *chat =
		harness_submit(h, gw, "chat-1", CHAT, "chat-q")->contact_accepted;
	assert_false(chat->estimated_wait_unknown);
	assert_int_equal(chat->estimated_wait_ms, 0);
	harness_offer_for(h, alice, chat->contact_id, OFFER_MS);
}

HARNESS_TEST(test_same_external_id_other_gateway_is_new_contact)
{
	struct sbc *gw1 = harness_gateway(h, "gw1");
	struct sbc *gw2 = harness_gateway(h, "gw2");
	Envelope *one = harness_submit(h, gw1, "shared-id", VOICE, "voice-q");
	Envelope *two = harness_submit(h, gw2, "shared-id", VOICE, "voice-q");

	assert_string_not_equal(one->contact_accepted->contact_id, two->contact_accepted->contact_id);
	assert_false(two->contact_accepted->duplicate);
	assert_int_equal(harness_redis_int(h, "ZCARD %s", harness_key(h, "queue:voice-q")), 2);
	assert_int_equal(count_contacts(h), 2);
}

HARNESS_TEST(test_agent_starts_offline_and_gets_no_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");

	harness_expect_silence(h, alice, 700);
	harness_available(h, alice);
	harness_offer_for(h, alice, id, OFFER_MS);
}

HARNESS_TEST(test_offer_accept_complete_round_trip)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *key = harness_key(h, "contact:%s", id);

	harness_available(h, alice);
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);
	const char *state = harness_hget_wait(h, key, "state", "offered", 1000);
	assert_non_null(state);
	assert_string_equal(state, "offered");

	harness_accept(h, alice, offer, id);
	assert_state(h, id, "assigned");
	assert_string_equal(harness_hget(h, key, "agent"), "alice");

	Envelope *as = harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS);
	assert_int_equal(as->ref, 0);
	assert_string_equal(as->contact_assigned->contact_id, id);
	assert_string_equal(as->contact_assigned->agent_id, "alice");
	assert_true(as->contact_assigned->waited_ms < 30000);
	assert_true(as->contact_assigned->sla_met);

	uint64_t seq = sbc_complete(alice, id, "resolved");
	harness_reply(h, alice, seq, SB_BODY(ACK), HARNESS_REPLY_MS);
	assert_state(h, id, "completed");

	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, id);
	assert_string_equal(done->contact_completed->disposition, "resolved");

	/* A retried Complete is answered as done, and changes nothing more. */
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	harness_expect_silence(h, gw, 200);
	struct sbc *bob = harness_agent(h, "bob");
	harness_expect_error(h, bob, sbc_complete(bob, id, "resolved"), SB_ERR_CODE(NOT_FOUND),
			     HARNESS_REPLY_MS);
}

HARNESS_TEST(test_gateway_hears_only_of_its_own_contacts)
{
	struct sbc *gw1 = harness_gateway(h, "gw1");
	struct sbc *gw2 = harness_gateway(h, "gw2");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	harness_assigned(h, gw1, alice, "call-1", VOICE, "voice-q");
	harness_await(h, gw1, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS);
	harness_expect_silence(h, gw2, 300);
}

HARNESS_TEST(test_agent_on_break_gets_no_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	uint64_t seq = sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, "lunch");
	Envelope *st = harness_reply(h, alice, seq, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	assert_int_equal(st->state_changed->state, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK);
	assert_string_equal(st->state_changed->reason, "lunch");

	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_expect_silence(h, alice, 500);
	harness_available(h, alice);
	harness_offer_for(h, alice, id, OFFER_MS);
}

/* Submits one contact on channel, then offers, accepts and completes it. */
static void round_trip_channel(struct harness *h, struct sbc *gw, struct sbc *agent,
			       const char *ext, Switchboard__V1__Channel ch, const char *queue)
{
	const char *id = harness_submit_id(h, gw, ext, ch, queue);
	const char *offer = harness_offer_for(h, agent, id, OFFER_MS);

	harness_accept(h, agent, offer, id);
	harness_reply(h, agent, sbc_complete(agent, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, id);
}

HARNESS_TEST(test_every_channel_is_offered)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	round_trip_channel(h, gw, alice, "v-1", VOICE, "voice-q");
	round_trip_channel(h, gw, alice, "c-1", CHAT, "chat-q");
	round_trip_channel(h, gw, alice, "e-1", EMAIL, "email-q");
	round_trip_channel(h, gw, alice, "s-1", SOCIAL, "social-q");
}

HARNESS_TEST(test_reject_requeues_to_another_agent_keeping_deadline)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	Envelope *acc = harness_submit(h, gw, "call-1", VOICE, "voice-q");
	const char *id = acc->contact_accepted->contact_id;
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);
	harness_available(h, bob);

	harness_reply(h, alice, sbc_reject(alice, offer, "busy"), SB_BODY(ACK), HARNESS_REPLY_MS);
	expect_requeued(h, gw, id);

	Envelope *again = harness_await(h, bob, SB_BODY(OFFER), OFFER_MS);
	assert_string_equal(again->offer->contact->contact_id, id);
	assert_int_equal(again->offer->contact->deadline_ms, acc->contact_accepted->deadline_ms);
	harness_expect_silence(h, alice, 500);
}

HARNESS_TEST(test_rejected_contact_is_not_offered_straight_back)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);

	harness_reply(h, alice, sbc_reject(alice, offer, "busy"), SB_BODY(ACK), HARNESS_REPLY_MS);
	harness_expect_silence(h, alice, 1000);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"), "waiting");
}

HARNESS_TEST(test_unanswered_offer_times_out_and_requeues)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);

	Envelope *r = harness_await(h, alice, SB_BODY(OFFER_RESCINDED), 3000);
	assert_string_equal(r->offer_rescinded->offer_id, offer);
	assert_string_equal(r->offer_rescinded->reason, "timeout");
	expect_requeued(h, gw, id);
}

HARNESS_TEST(test_cancel_waiting_contact)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");

	Envelope *env = harness_reply(h, gw, sbc_cancel(gw, id, "abandoned"),
				      SB_BODY(CONTACT_CANCELLED), HARNESS_REPLY_MS);
	assert_string_equal(env->contact_cancelled->contact_id, id);
	assert_state(h, id, "cancelled");

	/* A retry (its first answer lost) is answered as the first time; another
	 * gateway, or an id never seen, is not. */
	env = harness_reply(h, gw, sbc_cancel(gw, id, "abandoned"), SB_BODY(CONTACT_CANCELLED),
			    HARNESS_REPLY_MS);
	assert_string_equal(env->contact_cancelled->contact_id, id);
	struct sbc *gw2 = harness_gateway(h, "gw2");
	harness_expect_error(h, gw2, sbc_cancel(gw2, id, "x"), SB_ERR_CODE(NOT_FOUND),
			     HARNESS_REPLY_MS);
	harness_expect_error(h, gw, sbc_cancel(gw, "c-none-1", "x"), SB_ERR_CODE(NOT_FOUND),
			     HARNESS_REPLY_MS);
}

HARNESS_TEST(test_cancel_offered_contact_rescinds_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);

	harness_reply(h, gw, sbc_cancel(gw, id, "abandoned"), SB_BODY(CONTACT_CANCELLED),
		      HARNESS_REPLY_MS);
	Envelope *r = harness_await(h, alice, SB_BODY(OFFER_RESCINDED), HARNESS_REPLY_MS);
	assert_string_equal(r->offer_rescinded->offer_id, offer);
	assert_string_equal(r->offer_rescinded->reason, "cancelled");
	assert_state(h, id, "cancelled");
}

HARNESS_TEST(test_cancel_assigned_contact_is_conflict)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");

	/* The agent has the customer: a hang-up ends the call, and the agent
	 * completes it with its disposition. */
	Envelope *e = harness_expect_error(h, gw, sbc_cancel(gw, id, "abandoned"),
					   SB_ERR_CODE(CONFLICT), HARNESS_REPLY_MS);
	assert_non_null(strstr(e->error->message, "assigned"));
	assert_state(h, id, "assigned");
	harness_reply(h, alice, sbc_complete(alice, id, "customer-hung-up"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->disposition, "customer-hung-up");
}

/* The cancel rule, last state: a completed contact cannot be cancelled
 * (NOT_FOUND: it has finished), and its record is left as its agent closed
 * it. */
HARNESS_TEST(test_cancel_completed_contact_is_not_found)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);

	Envelope *e = harness_expect_error(h, gw, sbc_cancel(gw, id, "abandoned"),
					   SB_ERR_CODE(NOT_FOUND), HARNESS_REPLY_MS);
	assert_non_null(strstr(e->error->message, "finished"));
	assert_state(h, id, "completed");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "disposition"),
			    "resolved");
	assert_int_equal(stream_count(h, id, "cancelled", NULL, NULL), 0);
}

HARNESS_TEST(test_earliest_deadline_first_across_channels)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_submit_id(h, gw, "chat-1", CHAT, "chat-q");
	const char *voice = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");

	harness_available(h, alice);
	Envelope *first = harness_await(h, alice, SB_BODY(OFFER), OFFER_MS);
	assert_string_equal(first->offer->contact->contact_id, voice);
}

HARNESS_TEST(test_longest_idle_agent_gets_the_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	/* bob goes available first, so he is idle longer although alice sorts first */
	harness_available(h, bob);
	harness_sleep(h, 100);
	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");

	harness_offer_for(h, bob, id, OFFER_MS);
	harness_expect_silence(h, alice, 300);
}

HARNESS_TEST(test_agent_disconnect_requeues_its_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_offer_for(h, alice, id, OFFER_MS);
	harness_available(h, bob);
	harness_expect_silence(h, bob, 200);

	harness_close(h, alice);
	harness_offer_for(h, bob, id, 3000);
}

/* Fixture: offers stay open 30 s and one missed offer puts an agent on
 * break, so what follows a closed session cannot be the offer timeout. */
static int setup_long_offer(void **state)
{
	struct harness_opts opts = {
		.offer_timeout_ms = 30000,
		.extra_yaml = "routing:\n  max_no_answer: 1\n",
	};

	*state = harness_start(&opts);
	return 0;
}

/* alice holds an offer and her socket closes: bob is offered the contact at
 * once (the bound is far below the 30 s offer timeout), Redis records the
 * requeue as session-closed, and it is not a no-answer: with max_no_answer
 * 1, alice logging back in is still available. */
static void offer_withdrawn_when_session_closes(struct harness *h, Switchboard__V1__Channel ch,
						const char *queue)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "contact-1", ch, queue);
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);
	harness_available(h, bob);
	harness_expect_silence(h, bob, 200);

	harness_close(h, alice);
	harness_offer_for(h, bob, id, 5000);
	Envelope *ev = harness_await(h, gw, SB_BODY(CONTACT_EVENT), HARNESS_REPLY_MS);
	assert_string_equal(ev->contact_event->contact_id, id);
	assert_int_equal(ev->contact_event->kind, REQUEUED);
	assert_string_equal(ev->contact_event->detail, "session-closed");

	/* What Redis holds, read on its own: one requeue, why, and whose. */
	assert_int_equal(stream_count(h, id, "requeued", "alice", "session-closed"), 1);
	assert_int_equal(stream_count(h, id, "requeued", NULL, "timeout"), 0);
	assert_int_equal(stream_count(h, id, "offered", "bob", NULL), 1);
	(void)offer;

	alice = harness_agent_back(h, "alice", AVAILABLE);
	assert_string_equal(harness_hget(h, harness_key(h, "agent:alice"), "state"), "available");
	assert_string_not_equal(harness_hget(h, harness_key(h, "agent:alice"), "reason"),
				"no-answer");
}

HARNESS_TEST(test_voice_offer_withdrawn_when_session_closes)
{
	offer_withdrawn_when_session_closes(h, VOICE, "voice-q");
}

HARNESS_TEST(test_chat_offer_withdrawn_when_session_closes)
{
	offer_withdrawn_when_session_closes(h, CHAT, "chat-q");
}

/* A new login replacing a live session is the agent's last session: the
 * old one's close withdraws nothing, and the new one is sent the offer. */
HARNESS_TEST(test_replaced_session_keeps_the_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, OFFER_MS);

	struct sbc *again = harness_agent_back(h, "alice", AVAILABLE);
	harness_assert_closed_notice(h, alice, HARNESS_REPLY_MS);
	Envelope *o = harness_await(h, again, SB_BODY(OFFER), HARNESS_REPLY_MS);
	assert_string_equal(o->offer->offer_id, offer);
	assert_true(o->redelivered);
	harness_accept(h, again, offer, id);
	assert_int_equal(stream_count(h, id, "requeued", NULL, NULL), 0);
}

HARNESS_TEST(test_reconnected_agent_gets_its_assignment_again)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_close(h, alice);
	harness_sleep(h, 200);

	/* Back within the grace period: still available, still holding it,
	 * told again under the same event id. */
	alice = harness_agent_back(h, "alice", SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE);
	Envelope *env = harness_expect(h, alice, SB_BODY(ASSIGNMENT_CONFIRMED), HARNESS_REPLY_MS);
	assert_int_equal(env->ref, 0);
	assert_string_equal(env->assignment_confirmed->contact_id, id);
	assert_true(env->redelivered);
	char event_id[128];
	snprintf(event_id, sizeof event_id, "%s/3", id); /* submitted, offered, assigned */
	assert_string_equal(env->event_id, event_id);

	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, id);
}

/* Fixture with a long voice wrap-up. */
static int setup_long_wrapup(void **state)
{
	struct harness_opts opts = {.voice_wrapup_ms = 60000};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_wrapup_holds_the_slot_until_ready)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *first = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_reply(h, alice, sbc_complete(alice, first, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);

	const char *second = harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	harness_expect_silence(h, alice, 800);
	harness_reply(h, alice, sbc_ready(alice), SB_BODY(ACK), HARNESS_REPLY_MS);
	harness_offer_for(h, alice, second, OFFER_MS);
}

#define T(name) cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_welcome_has_session_and_heartbeat),
		T(test_ping_answered_with_pong),
		T(test_submit_voice_is_accepted_and_stored_waiting),
		T(test_submit_chat_without_queue_uses_channel_default),
		T(test_positions_count_up_in_a_queue),
		T(test_resubmit_same_gateway_is_duplicate),
		T(test_estimated_wait_unknown_until_staffed),
		T(test_same_external_id_other_gateway_is_new_contact),
		T(test_agent_starts_offline_and_gets_no_offer),
		T(test_offer_accept_complete_round_trip),
		T(test_gateway_hears_only_of_its_own_contacts),
		T(test_agent_on_break_gets_no_offer),
		T(test_every_channel_is_offered),
		T(test_reject_requeues_to_another_agent_keeping_deadline),
		T(test_rejected_contact_is_not_offered_straight_back),
		T(test_unanswered_offer_times_out_and_requeues),
		T(test_cancel_waiting_contact),
		T(test_cancel_offered_contact_rescinds_offer),
		T(test_cancel_assigned_contact_is_conflict),
		T(test_cancel_completed_contact_is_not_found),
		T(test_earliest_deadline_first_across_channels),
		T(test_longest_idle_agent_gets_the_offer),
		T(test_agent_disconnect_requeues_its_offer),
		T(test_reconnected_agent_gets_its_assignment_again),
		cmocka_unit_test_setup_teardown(test_voice_offer_withdrawn_when_session_closes,
						setup_long_offer, harness_teardown),
		cmocka_unit_test_setup_teardown(test_chat_offer_withdrawn_when_session_closes,
						setup_long_offer, harness_teardown),
		cmocka_unit_test_setup_teardown(test_replaced_session_keeps_the_offer,
						setup_long_offer, harness_teardown),
		cmocka_unit_test_setup_teardown(test_wrapup_holds_the_slot_until_ready,
						setup_long_wrapup, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Hostile and mistaken input (DESIGN section 8): every case gets a clear
 * Error, the connection is closed where the protocol says so, and the daemon
 * and its other clients carry on: each test ends by checking that a gateway
 * and an agent connected beforehand still work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "harness.h"
#include "security/token.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define ROLE_GATEWAY SWITCHBOARD__V1__ROLE__ROLE_GATEWAY
#define ROLE_AGENT SWITCHBOARD__V1__ROLE__ROLE_AGENT

/* Clients connected before the bad input, checked after it. */
static struct sbc *bystander_gw;
static struct sbc *bystander_agent;
static int bystander_submits;

/* Connects the bystanders. */
static void bystanders_join(struct harness *h)
{
	bystander_gw = harness_gateway(h, "gw2");
	bystander_agent = harness_agent(h, "carol");
	bystander_submits = 0;
}

/* The daemon runs and the bystanders can still ping and submit. */
static void bystanders_unaffected(struct harness *h)
{
	char ext[32];

	assert_true(harness_daemon_alive(h));
	harness_assert_open(h, bystander_gw);
	harness_assert_open(h, bystander_agent);
	snprintf(ext, sizeof ext, "bystander-%d", ++bystander_submits);
	harness_submit(h, bystander_gw, ext, VOICE, "voice-q");
}

/* Fixture: a fresh daemon plus bystanders. */
static int setup(void **state)
{
	struct harness *h = harness_start(NULL);

	*state = h;
	bystanders_join(h);
	return 0;
}

/* An authenticated gateway sends raw bytes; expects BAD_FRAME, then close. */
static void raw_bytes_are_bad_frame_and_close(struct harness *h, const void *bytes, size_t len)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	assert_int_equal(sbc_send_raw(gw, bytes, len), 0);
	harness_expect_error(h, gw, 0, SB_ERR_CODE(BAD_FRAME), HARNESS_REPLY_MS);
	harness_assert_closed(h, gw, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

/* A refused Hello: the Error code, then the connection closes. */
static void hello_refused(struct harness *h, enum harness_port port, Switchboard__V1__Role role,
			  const char *id, const char *token, Switchboard__V1__ErrorCode code)
{
	struct sbc *c = harness_connect(h, port);

	assert_int_equal(sbc_hello(c, role, id, token, HARNESS_REPLY_MS, NULL), code);
	harness_assert_closed(h, c, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

/* A token for agent_id signed with another secret (static buffer). */
static const char *forged_token(const char *agent_id)
{
	static char buf[256];
	char *t = token_mint("not-the-daemon-secret-at-all-0123", agent_id, time(NULL) + 3600);

	assert_non_null(t);
	snprintf(buf, sizeof buf, "%s", t);
	free(t);
	return buf;
}


/* A SubmitContact that must be refused INVALID_ARGUMENT, connection open. */
static void submit_is_invalid(struct harness *h, const char *ext, Switchboard__V1__Channel ch,
			      const char *queue)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc_submit s = {.external_id = ext, .channel = ch, .queue = queue};

	harness_expect_error(h, gw, sbc_submit(gw, &s), SB_ERR_CODE(INVALID_ARGUMENT),
			     HARNESS_REPLY_MS);
	harness_assert_open(h, gw);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_oversized_length_is_bad_frame_and_closes)
{
	static const unsigned char bytes[] = {0xff, 0xff, 0xff, 0xff, 0x08, 0x01};

	raw_bytes_are_bad_frame_and_close(h, bytes, sizeof bytes);
}

HARNESS_TEST(test_zero_length_is_bad_frame_and_closes)
{
	static const unsigned char bytes[] = {0, 0, 0, 0};

	raw_bytes_are_bad_frame_and_close(h, bytes, sizeof bytes);
}

HARNESS_TEST(test_garbage_bytes_are_bad_frame_and_close)
{
	static const char bytes[] = "GET / HTTP/1.1\r\n\r\n";

	raw_bytes_are_bad_frame_and_close(h, bytes, sizeof bytes - 1);
}

HARNESS_TEST(test_undecodable_payload_is_bad_frame_and_closes)
{
	/* field 10 (hello) announces 16 bytes but the frame holds 1 */
	static const unsigned char bytes[] = {0, 0, 0, 3, 0x52, 0x10, 0x01};

	raw_bytes_are_bad_frame_and_close(h, bytes, sizeof bytes);
}

HARNESS_TEST(test_truncated_frame_is_reported_and_closed)
{
	static const unsigned char bytes[] = {0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct sbc *gw = harness_gateway(h, "gw1");

	assert_int_equal(sbc_send_raw(gw, bytes, sizeof bytes), 0);
	harness_sleep(h, 100);
	assert_int_equal(shutdown(sbc_fd(gw), SHUT_WR), 0);
	harness_keepalive(h, gw, false);
	Envelope *e = harness_expect_error(h, gw, 0, SB_ERR_CODE(BAD_FRAME), HARNESS_REPLY_MS);
	assert_non_null(strstr(e->error->message, "truncated"));
	harness_assert_closed(h, gw, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_unknown_body_is_bad_frame_and_stays_open)
{
	/* Envelope{seq: 1, field 99: empty message} encoded by hand */
	static const unsigned char bytes[] = {0, 0, 0, 5, 0x08, 0x01, 0x9a, 0x06, 0x00};
	struct sbc *gw = harness_gateway(h, "gw1");

	assert_int_equal(sbc_send_raw(gw, bytes, sizeof bytes), 0);
	harness_expect_error(h, gw, 0, SB_ERR_CODE(BAD_FRAME), HARNESS_REPLY_MS);
	harness_assert_open(h, gw);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_gateway_sending_agent_request_is_forbidden)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	harness_expect_error(h, gw, sbc_accept(gw, "offer-1"), SB_ERR_CODE(FORBIDDEN),
			     HARNESS_REPLY_MS);
	harness_assert_open(h, gw);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_agent_sending_gateway_request_is_forbidden)
{
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc_submit s = {.external_id = "x-1", .channel = VOICE, .queue = "voice-q"};

	harness_expect_error(h, alice, sbc_submit(alice, &s), SB_ERR_CODE(FORBIDDEN),
			     HARNESS_REPLY_MS);
	harness_assert_open(h, alice);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_client_sending_daemon_message_is_forbidden)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Welcome welcome = SWITCHBOARD__V1__WELCOME__INIT;

	welcome.session_id = "fake";
	welcome.heartbeat_ms = 1000;
	env.body_case = SB_BODY(WELCOME);
	env.welcome = &welcome;
	harness_expect_error(h, gw, sbc_send(gw, &env), SB_ERR_CODE(FORBIDDEN), HARNESS_REPLY_MS);
	harness_assert_open(h, gw);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_request_before_hello_is_unauthenticated_and_closes)
{
	struct sbc *gw = harness_connect(h, HARNESS_GATEWAY_PORT);
	struct sbc *agent = harness_connect(h, HARNESS_AGENT_PORT);

	harness_expect_error(h, gw, sbc_ping(gw), SB_ERR_CODE(UNAUTHENTICATED), HARNESS_REPLY_MS);
	harness_assert_closed(h, gw, HARNESS_REPLY_MS);
	harness_expect_error(h, agent, sbc_set_state(agent, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, ""), SB_ERR_CODE(UNAUTHENTICATED),
			     HARNESS_REPLY_MS);
	harness_assert_closed(h, agent, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_agent_hello_on_gateway_port_is_forbidden)
{
	hello_refused(h, HARNESS_GATEWAY_PORT, ROLE_AGENT, "alice", harness_token(h, "alice", 3600),
		      SB_ERR_CODE(FORBIDDEN));
}

HARNESS_TEST(test_gateway_hello_on_agent_port_is_forbidden)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_GATEWAY, "gw1",
		      harness_gateway_secret(h, "gw1"), SB_ERR_CODE(FORBIDDEN));
}

HARNESS_TEST(test_wrong_gateway_secret_is_unauthenticated)
{
	hello_refused(h, HARNESS_GATEWAY_PORT, ROLE_GATEWAY, "gw1",
		      harness_gateway_secret(h, "gw2"), SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_unknown_gateway_is_unauthenticated)
{
	hello_refused(h, HARNESS_GATEWAY_PORT, ROLE_GATEWAY, "gw9",
		      harness_gateway_secret(h, "gw1"), SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_forged_agent_token_is_unauthenticated)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, "alice", forged_token("alice"),
		      SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_expired_agent_token_is_unauthenticated)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, "alice", harness_token(h, "alice", -60),
		      SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_token_of_another_agent_is_unauthenticated)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, "alice", harness_token(h, "bob", 3600),
		      SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_garbage_agent_token_is_unauthenticated)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, "alice", "v1.notanumber.zz",
		      SB_ERR_CODE(UNAUTHENTICATED));
}

HARNESS_TEST(test_agent_not_in_roster_is_forbidden)
{
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, "mallory",
		      harness_token(h, "mallory", 3600), SB_ERR_CODE(FORBIDDEN));
}

HARNESS_TEST(test_no_hello_within_handshake_timeout_closes)
{
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);

	/* handshake timeout 1000 ms */
	harness_assert_closed_notice(h, c, 3000);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_silence_after_welcome_closes_after_missed_heartbeats)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	/* heartbeat 1000 ms x 3 missed: still open at 1.5 s, closed by 6 s */
	harness_keepalive(h, gw, false);
	harness_expect_silence(h, gw, 1500);
	harness_assert_closed_notice(h, gw, 4500);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_accepting_another_agents_offer_is_forbidden)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, HARNESS_REPLY_MS);

	harness_expect_error(h, bob, sbc_accept(bob, offer), SB_ERR_CODE(FORBIDDEN),
			     HARNESS_REPLY_MS);
	harness_assert_open(h, bob);
	harness_accept(h, alice, offer, id);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_accepting_unknown_offer_is_not_found)
{
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	harness_expect_error(h, alice, sbc_accept(alice, "no-such-offer"), SB_ERR_CODE(NOT_FOUND),
			     HARNESS_REPLY_MS);
	harness_assert_open(h, alice);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_cancelling_another_gateways_contact_is_forbidden)
{
	struct sbc *gw1 = harness_gateway(h, "gw1");
	const char *id = harness_submit_id(h, gw1, "call-1", VOICE, "voice-q");

	harness_expect_error(h, bystander_gw, sbc_cancel(bystander_gw, id, "abandoned"),
			     SB_ERR_CODE(FORBIDDEN), HARNESS_REPLY_MS);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"), "waiting");
	bystanders_unaffected(h);
}

HARNESS_TEST(test_submit_without_external_id_is_invalid)
{
	submit_is_invalid(h, "", VOICE, "voice-q");
}

HARNESS_TEST(test_submit_without_channel_is_invalid)
{
	submit_is_invalid(h, "x-1", SWITCHBOARD__V1__CHANNEL__CHANNEL_UNSPECIFIED, "voice-q");
}

HARNESS_TEST(test_submit_to_unknown_queue_is_invalid)
{
	submit_is_invalid(h, "x-1", VOICE, "no-such-q");
}

HARNESS_TEST(test_submit_to_queue_of_other_channel_is_invalid)
{
	submit_is_invalid(h, "x-1", VOICE, "chat-q");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_oversized_length_is_bad_frame_and_closes),
		T(test_zero_length_is_bad_frame_and_closes),
		T(test_garbage_bytes_are_bad_frame_and_close),
		T(test_undecodable_payload_is_bad_frame_and_closes),
		T(test_truncated_frame_is_reported_and_closed),
		T(test_unknown_body_is_bad_frame_and_stays_open),
		T(test_gateway_sending_agent_request_is_forbidden),
		T(test_agent_sending_gateway_request_is_forbidden),
		T(test_client_sending_daemon_message_is_forbidden),
		T(test_request_before_hello_is_unauthenticated_and_closes),
		T(test_agent_hello_on_gateway_port_is_forbidden),
		T(test_gateway_hello_on_agent_port_is_forbidden),
		T(test_wrong_gateway_secret_is_unauthenticated),
		T(test_unknown_gateway_is_unauthenticated),
		T(test_forged_agent_token_is_unauthenticated),
		T(test_expired_agent_token_is_unauthenticated),
		T(test_token_of_another_agent_is_unauthenticated),
		T(test_garbage_agent_token_is_unauthenticated),
		T(test_agent_not_in_roster_is_forbidden),
		T(test_no_hello_within_handshake_timeout_closes),
		T(test_silence_after_welcome_closes_after_missed_heartbeats),
		T(test_accepting_another_agents_offer_is_forbidden),
		T(test_accepting_unknown_offer_is_not_found),
		T(test_cancelling_another_gateways_contact_is_forbidden),
		T(test_submit_without_external_id_is_invalid),
		T(test_submit_without_channel_is_invalid),
		T(test_submit_to_unknown_queue_is_invalid),
		T(test_submit_to_queue_of_other_channel_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

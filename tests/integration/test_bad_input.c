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
#include <hiredis/hiredis.h>

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

/* Ids are at most 64 bytes in the config; a longer one names nobody, and a
 * refused Hello's log line must not carry 10 000 of its bytes. */
HARNESS_TEST(test_overlong_client_id_is_invalid)
{
	char id[10001];

	memset(id, 'g', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	hello_refused(h, HARNESS_GATEWAY_PORT, ROLE_GATEWAY, id, harness_gateway_secret(h, "gw1"),
		      SB_ERR_CODE(INVALID_ARGUMENT));
	id[65] = '\0';
	hello_refused(h, HARNESS_AGENT_PORT, ROLE_AGENT, id, harness_token(h, "alice", 3600),
		      SB_ERR_CODE(INVALID_ARGUMENT));
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


/* ---- strings the wire must refuse (issue 14) ---------------------------- */

/* A hand-encoded protobuf message: protobuf-c packs a string up to its
 * first NUL, so a string with one inside can only be sent this way. */
struct pb {
	uint8_t b[512];
	size_t n;
};

/* Appends v as a varint. */
static void pb_varint(struct pb *p, uint64_t v)
{
	do {
		assert_true(p->n < sizeof p->b);
		p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

/* Appends field as a varint field. */
static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

/* Appends field as length-delimited bytes (a string or a message). */
static void pb_bytes(struct pb *p, unsigned field, const void *data, size_t len)
{
	pb_varint(p, (uint64_t)field << 3 | 2);
	pb_varint(p, len);
	assert_true(p->n + len <= sizeof p->b);
	memcpy(p->b + p->n, data, len);
	p->n += len;
}

/* Sends Envelope{seq, body field: body} as one frame. */
static void pb_send(struct sbc *c, uint64_t seq, unsigned body_field, const struct pb *body)
{
	struct pb env = {0};
	uint8_t frame[sizeof env.b + 4];

	pb_uint(&env, 1, seq);
	pb_bytes(&env, body_field, body->b, body->n);
	frame[0] = (uint8_t)(env.n >> 24);
	frame[1] = (uint8_t)(env.n >> 16);
	frame[2] = (uint8_t)(env.n >> 8);
	frame[3] = (uint8_t)env.n;
	memcpy(frame + 4, env.b, env.n);
	assert_int_equal(sbc_send_raw(c, frame, env.n + 4), 0);
}

/* What Redis holds about contacts: a refused submit must change none of it. */
struct stored {
	long long open, events, external_ids;
};

static struct stored stored_now(struct harness *h)
{
	struct redisReply *keys = harness_redis_command(h, "KEYS %s", harness_key(h, "ext:*"));
	struct stored s = {
		.open = harness_redis_int(h, "SCARD %s", harness_key(h, "open")),
		.events = harness_redis_int(h, "XLEN %s", harness_key(h, "events")),
		.external_ids = (long long)keys->elements,
	};

	return s;
}

static void stored_unchanged(struct harness *h, struct stored before)
{
	struct stored now = stored_now(h);

	assert_int_equal(now.open, before.open);
	assert_int_equal(now.events, before.events);
	assert_int_equal(now.external_ids, before.external_ids);
}

/* The reply to seq on c is INVALID_ARGUMENT saying exactly message, and c
 * stays open. */
static void refused_as(struct harness *h, struct sbc *c, uint64_t seq, const char *message)
{
	Envelope *e = harness_expect_error(h, c, seq, SB_ERR_CODE(INVALID_ARGUMENT),
					   HARNESS_REPLY_MS);

	assert_string_equal(e->error->message, message);
	assert_int_equal(e->ref, seq);
	harness_assert_open(h, c);
}

/* A submit with these attributes is refused naming message; nothing stored. */
static void submit_attributes_refused(struct harness *h, const char *const *keys,
				      const char *const *values, size_t n, const char *message)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc_submit s = {.external_id = "x-attr", .channel = VOICE, .queue = "voice-q",
			       .attr_keys = keys, .attr_values = values, .n_attrs = n};
	struct stored before = stored_now(h);

	refused_as(h, gw, sbc_submit(gw, &s), message);
	stored_unchanged(h, before);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_submit_with_invalid_utf8_external_id_is_refused_and_not_stored)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc_submit s = {.external_id = "\xff\xfe\xc3\x28", .channel = VOICE,
			       .queue = "voice-q"};

	/* An available agent would be offered it (and its client choke on it). */
	harness_available(h, alice);
	struct stored before = stored_now(h);
	refused_as(h, gw, sbc_submit(gw, &s), "submit_contact.external_id is not valid UTF-8");
	stored_unchanged(h, before);
	harness_expect_silence(h, alice, 300);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_submit_with_invalid_utf8_attribute_key_is_refused)
{
	static const char *const keys[] = {"topic", "\xf0\x28\x8c\xbc"};
	static const char *const values[] = {"billing", "x"};

	submit_attributes_refused(h, keys, values, 2,
				  "submit_contact.attributes[1].key is not valid UTF-8");
}

HARNESS_TEST(test_submit_with_invalid_utf8_attribute_value_is_refused)
{
	/* An overlong "/" (c0 af) and a UTF-16 surrogate (ed a0 80). */
	static const char *const keys[] = {"path", "note"};
	static const char *const values[] = {"\xc0\xaf", "\xed\xa0\x80"};

	submit_attributes_refused(h, keys, values, 2,
				  "submit_contact.attributes[0].value is not valid UTF-8");
}

HARNESS_TEST(test_submit_with_valid_multibyte_strings_is_accepted)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	static const char *const keys[] = {"名前", "emoji"};
	static const char *const values[] = {"Zoë Ångström", "\xf0\x9f\x93\x9e"};
	struct sbc_submit s = {.external_id = "通話-1", .channel = VOICE, .queue = "voice-q",
			       .attr_keys = keys, .attr_values = values, .n_attrs = 2};

	Envelope *a = harness_reply(h, gw, sbc_submit(gw, &s), SB_BODY(CONTACT_ACCEPTED),
				    HARNESS_REPLY_MS);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s",
							a->contact_accepted->contact_id),
					 "external_id"),
			    "通話-1");
	bystanders_unaffected(h);
}

HARNESS_TEST(test_external_ids_with_a_nul_are_refused_not_merged)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct stored before = stored_now(h);
	struct pb one = {0}, two = {0};

	/* SubmitContact{external_id: "A\0one" / "A\0two", channel: voice, queue} */
	pb_bytes(&one, 1, "A\0one", 5);
	pb_uint(&one, 2, VOICE);
	pb_bytes(&one, 3, "voice-q", 7);
	pb_bytes(&two, 1, "A\0two", 5);
	pb_uint(&two, 2, VOICE);
	pb_bytes(&two, 3, "voice-q", 7);
	pb_send(gw, 9001, 20, &one);
	refused_as(h, gw, 9001, "submit_contact.external_id contains a NUL character");
	pb_send(gw, 9002, 20, &two);
	refused_as(h, gw, 9002, "submit_contact.external_id contains a NUL character");
	stored_unchanged(h, before);
	/* "A" alone is a contact of its own. */
	harness_submit(h, gw, "A", VOICE, "voice-q");
	bystanders_unaffected(h);
}

HARNESS_TEST(test_hello_with_invalid_utf8_client_id_is_refused_and_closed)
{
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);

	assert_int_equal(sbc_hello(c, ROLE_GATEWAY, "gw1\xc0\xaf", harness_gateway_secret(h, "gw1"),
				   HARNESS_REPLY_MS, NULL),
			 SB_ERR_CODE(INVALID_ARGUMENT));
	assert_string_equal(sbc_last_error(c), "Hello refused: hello.client_id is not valid UTF-8");
	harness_assert_closed(h, c, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_agent_hello_with_a_nul_in_its_token_is_refused_and_closed)
{
	struct sbc *c = harness_connect(h, HARNESS_AGENT_PORT);
	const char *token = harness_token(h, "alice", 3600);
	struct pb hello = {0};
	char buf[256];
	size_t n = strlen(token);

	/* A valid token with junk after a NUL: protobuf-c would cut the junk. */
	memcpy(buf, token, n);
	memcpy(buf + n, "\0junk", 5);
	pb_uint(&hello, 1, ROLE_AGENT);
	pb_bytes(&hello, 2, "alice", 5);
	pb_bytes(&hello, 3, buf, n + 5);
	pb_uint(&hello, 4, 1);
	pb_send(c, 1, 10, &hello);
	Envelope *e = harness_expect_error(h, c, 1, SB_ERR_CODE(INVALID_ARGUMENT), HARNESS_REPLY_MS);
	assert_string_equal(e->error->message, "hello.token contains a NUL character");
	harness_assert_closed(h, c, HARNESS_REPLY_MS);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_reject_with_invalid_utf8_reason_is_refused)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, HARNESS_REPLY_MS);

	refused_as(h, alice, sbc_reject(alice, offer, "busy\xed\xbf\xbf"),
		   "reject_offer.reason is not valid UTF-8");
	/* Still offered to her: the refused reject changed nothing. */
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"), "offered");
	harness_accept(h, alice, offer, id);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_complete_with_invalid_utf8_disposition_is_refused)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");

	/* A sequence cut short: e2 82 needs one more byte. */
	refused_as(h, alice, sbc_complete(alice, id, "sold\xe2\x82"),
		   "complete_contact.disposition is not valid UTF-8");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"),
			    "assigned");
	bystanders_unaffected(h);
}

/* ---- caps the wire shares with the admin API ------------------------------ */

HARNESS_TEST(test_break_reason_over_64_bytes_is_refused)
{
	struct sbc *alice = harness_agent(h, "alice");
	char reason[5001];

	memset(reason, 'r', sizeof reason - 1);
	reason[sizeof reason - 1] = '\0';
	refused_as(h, alice,
		   sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, reason),
		   "set_state.reason must be at most 64 bytes without control characters");
	reason[65] = '\0';
	refused_as(h, alice,
		   sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, reason),
		   "set_state.reason must be at most 64 bytes without control characters");
	refused_as(h, alice,
		   sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK,
				 "lunch\nFAKE LOG LINE"),
		   "set_state.reason must be at most 64 bytes without control characters");
	const char *stored = harness_hget(h, harness_key(h, "agent:alice"), "reason");
	assert_true(stored == NULL || strlen(stored) <= 64);
	/* 64 bytes is the cap, not past it. */
	reason[64] = '\0';
	uint64_t seq = sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, reason);
	Envelope *st = harness_reply(h, alice, seq, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	assert_string_equal(st->state_changed->reason, reason);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_other_reasons_and_dispositions_are_capped)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	char longer[66];

	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	harness_available(h, alice);
	const char *held = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	refused_as(h, alice, sbc_complete(alice, held, longer),
		   "complete_contact.disposition must be at most 64 bytes without control "
		   "characters");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", held), "state"),
			    "assigned");
	const char *waiting = harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	refused_as(h, gw, sbc_cancel(gw, waiting, longer),
		   "cancel_contact.reason must be at most 64 bytes without control characters");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", waiting), "state"),
			    "waiting");
	bystanders_unaffected(h);
}

HARNESS_TEST(test_submit_language_and_skill_names_are_capped)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	char longer[130];
	struct stored before = stored_now(h);

	memset(longer, 'l', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	struct sbc_submit s = {.external_id = "x-lang", .channel = VOICE, .queue = "voice-q",
			       .language = longer};
	refused_as(h, gw, sbc_submit(gw, &s), "submit_contact.language is too long (max 128 bytes)");
	/* SubmitContact{external_id, channel, queue, required_skills: [{name: 129 bytes, 1}]} */
	struct pb skill = {0}, sub = {0};
	pb_bytes(&skill, 1, longer, 129);
	pb_uint(&skill, 2, 1);
	pb_bytes(&sub, 1, "x-skill", 7);
	pb_uint(&sub, 2, VOICE);
	pb_bytes(&sub, 3, "voice-q", 7);
	pb_bytes(&sub, 5, skill.b, skill.n);
	pb_send(gw, 9001, 20, &sub);
	refused_as(h, gw, 9001, "submit_contact.required_skills[0].name is too long (max 128 bytes)");
	stored_unchanged(h, before);
	bystanders_unaffected(h);
}

HARNESS_TEST(test_token_living_past_the_max_ttl_is_unauthenticated)
{
	/* auth.agent_token_max_ttl_s is 86400 by default: 30 days is a token
	 * the daemon would never have minted. */
	struct sbc *c = harness_connect(h, HARNESS_AGENT_PORT);

	assert_int_equal(sbc_hello(c, ROLE_AGENT, "alice", harness_token(h, "alice", 30 * 86400),
				   HARNESS_REPLY_MS, NULL),
			 SB_ERR_CODE(UNAUTHENTICATED));
	assert_non_null(strstr(sbc_last_error(c), "auth.agent_token_max_ttl_s"));
	harness_assert_closed(h, c, HARNESS_REPLY_MS);
	/* One within it still logs in. */
	harness_agent(h, "alice");
	bystanders_unaffected(h);
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
		T(test_overlong_client_id_is_invalid),
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
		T(test_submit_with_invalid_utf8_external_id_is_refused_and_not_stored),
		T(test_submit_with_invalid_utf8_attribute_key_is_refused),
		T(test_submit_with_invalid_utf8_attribute_value_is_refused),
		T(test_submit_with_valid_multibyte_strings_is_accepted),
		T(test_external_ids_with_a_nul_are_refused_not_merged),
		T(test_hello_with_invalid_utf8_client_id_is_refused_and_closed),
		T(test_agent_hello_with_a_nul_in_its_token_is_refused_and_closed),
		T(test_reject_with_invalid_utf8_reason_is_refused),
		T(test_complete_with_invalid_utf8_disposition_is_refused),
		T(test_break_reason_over_64_bytes_is_refused),
		T(test_other_reasons_and_dispositions_are_capped),
		T(test_submit_language_and_skill_names_are_capped),
		T(test_token_living_past_the_max_ttl_is_unauthenticated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

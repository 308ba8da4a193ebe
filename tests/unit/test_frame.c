/* Framing over evbuffers (frame_read/frame_write) and flat bytes
 * (frame_parse/frame_encode): bounds are checked before waiting or
 * allocating, partial frames consume nothing, bad frames in bounds are
 * consumed so the stream stays in step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "util/err.h"
#include "wire/envelope.h"
#include "wire/frame.h"

#define MAX_FRAME 65536

/* Appends a raw big-endian length header. */
static void add_header(struct evbuffer *b, uint32_t n)
{
	uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	assert_int_equal(evbuffer_add(b, h, sizeof(h)), 0);
}

/* Writes a big-endian length header into p. */
static void put_header(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

/* An Error envelope whose message is len bytes of 'x' (caller frees msg). */
static void make_error(Envelope *env, Switchboard__V1__Error *err, char **msg, size_t len)
{
	switchboard__v1__envelope__init(env);
	switchboard__v1__error__init(err);
	*msg = malloc(len + 1);
	assert_non_null(*msg);
	memset(*msg, 'x', len);
	(*msg)[len] = '\0';
	err->code = SWITCHBOARD__V1__ERROR_CODE__BAD_FRAME;
	err->message = *msg;
	env->seq = 11;
	env->body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ERROR;
	env->error = err;
}

/* A SubmitContact with nested, repeated and map fields survives the trip. */
static void test_round_trip(void **state)
{
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SubmitContact sc = SWITCHBOARD__V1__SUBMIT_CONTACT__INIT;
	Switchboard__V1__Customer cust = SWITCHBOARD__V1__CUSTOMER__INIT;
	Switchboard__V1__SkillRequirement sk = SWITCHBOARD__V1__SKILL_REQUIREMENT__INIT;
	Switchboard__V1__SkillRequirement *skills[] = {&sk};
	Switchboard__V1__SubmitContact__AttributesEntry attr =
	    SWITCHBOARD__V1__SUBMIT_CONTACT__ATTRIBUTES_ENTRY__INIT;
	Switchboard__V1__SubmitContact__AttributesEntry *attrs[] = {&attr};
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;

	(void)state;
	sc.external_id = "call-42";
	sc.channel = SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE;
	sc.queue = "billing";
	cust.id = "cust-1";
	cust.tier = "vip";
	sc.customer = &cust;
	sk.name = "lang_zh";
	sk.min_level = 3;
	sc.n_required_skills = 1;
	sc.required_skills = skills;
	attr.key = "crm";
	attr.value = "12345";
	sc.n_attributes = 1;
	sc.attributes = attrs;
	sc.priority = 30;
	env.seq = 1ULL << 40;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT;
	env.submit_contact = &sc;

	assert_int_equal(frame_write(b, &env), 0);
	assert_int_equal(evbuffer_get_length(b),
	                 FRAME_HEADER_BYTES + switchboard__v1__envelope__get_packed_size(&env));
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_non_null(got);
	assert_int_equal(evbuffer_get_length(b), 0);
	assert_int_equal(got->seq, 1ULL << 40);
	assert_int_equal(got->body_case, SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT);
	assert_string_equal(got->submit_contact->external_id, "call-42");
	assert_string_equal(got->submit_contact->queue, "billing");
	assert_string_equal(got->submit_contact->customer->tier, "vip");
	assert_int_equal(got->submit_contact->n_required_skills, 1);
	assert_string_equal(got->submit_contact->required_skills[0]->name, "lang_zh");
	assert_int_equal(got->submit_contact->required_skills[0]->min_level, 3);
	assert_int_equal(got->submit_contact->n_attributes, 1);
	assert_string_equal(got->submit_contact->attributes[0]->value, "12345");
	assert_int_equal(got->submit_contact->priority, 30);
	envelope_free(got);

	/* Nothing left: need more, and *out is cleared. */
	got = (Envelope *)&env;
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 0);
	assert_null(got);
	evbuffer_free(b);
}

/* frame_write and frame_encode produce the same bytes. */
static void test_write_matches_encode(void **state)
{
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ping ping = SWITCHBOARD__V1__PING__INIT;
	struct evbuffer *b = evbuffer_new();
	uint8_t *enc = NULL;
	size_t n;

	(void)state;
	ping.client_time_ms = 1700000000000ULL;
	env.seq = 5;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_PING;
	env.ping = &ping;
	n = frame_encode(&env, &enc);
	assert_int_equal(frame_write(b, &env), 0);
	assert_int_equal(evbuffer_get_length(b), n);
	assert_memory_equal(evbuffer_pullup(b, -1), enc, n);
	assert_int_equal(enc[0] << 24 | enc[1] << 16 | enc[2] << 8 | enc[3], n - 4);
	free(enc);
	evbuffer_free(b);
}

/* An envelope with nothing in it packs to 0 bytes, which no reader takes:
 * frame_write refuses it instead of getting the sender disconnected. */
static void test_write_empty_refused(void **state)
{
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	struct evbuffer *b = evbuffer_new();

	(void)state;
	assert_int_equal(frame_write(b, &env), SB_ERR_INTERNAL);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* 1, 2 or 3 header bytes: need more, nothing consumed. */
static void test_partial_header(void **state)
{
	static const uint8_t h[3] = {0, 0, 0};
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;

	(void)state;
	for (size_t i = 1; i <= sizeof(h); i++) {
		assert_int_equal(evbuffer_add(b, h, 1), 0);
		assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 0);
		assert_null(got);
		assert_int_equal(evbuffer_get_length(b), i);
	}
	evbuffer_free(b);
}

/* A frame arriving a byte at a time is taken only once it is whole. */
static void test_partial_payload(void **state)
{
	Switchboard__V1__Envelope env;
	Switchboard__V1__Error err;
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t *enc;
	char *msg;
	size_t n;

	(void)state;
	make_error(&env, &err, &msg, 100);
	n = frame_encode(&env, &enc);
	for (size_t i = 0; i < n - 1; i++) {
		assert_int_equal(evbuffer_add(b, enc + i, 1), 0);
		assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 0);
		assert_null(got);
		assert_int_equal(evbuffer_get_length(b), i + 1);
	}
	assert_int_equal(evbuffer_add(b, enc + n - 1, 1), 0);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_string_equal(got->error->message, msg);
	assert_int_equal(evbuffer_get_length(b), 0);
	envelope_free(got);
	free(enc);
	free(msg);
	evbuffer_free(b);
}

/* A frame split across evbuffer chains (a reference chain after a copied
 * one) is linearized by the pullup and decodes the same. */
static void test_frame_across_chains(void **state)
{
	Switchboard__V1__Envelope env;
	Switchboard__V1__Error err;
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t *enc;
	char *msg;
	size_t n;

	(void)state;
	make_error(&env, &err, &msg, 5000);
	n = frame_encode(&env, &enc);
	assert_int_equal(evbuffer_add(b, enc, 7), 0);
	assert_int_equal(evbuffer_add_reference(b, enc + 7, n - 7, NULL, NULL), 0);
	assert_true(evbuffer_get_contiguous_space(b) < n);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_string_equal(got->error->message, msg);
	assert_int_equal(evbuffer_get_length(b), 0);
	envelope_free(got);
	free(enc);
	free(msg);
	evbuffer_free(b);
}

/* A payload of exactly max_frame bytes is taken; one byte less of limit
 * refuses it at once (no waiting), consuming nothing. */
static void test_max_size_bounds(void **state)
{
	Switchboard__V1__Envelope env;
	Switchboard__V1__Error err;
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t *enc;
	size_t used = 0;
	char *msg;
	char want[80];
	size_t n, payload;

	(void)state;
	make_error(&env, &err, &msg, MAX_FRAME - 16);
	/* Grow the message until the payload is exactly MAX_FRAME. */
	while (switchboard__v1__envelope__get_packed_size(&env) < MAX_FRAME) {
		size_t len = strlen(msg) + 1;

		free(msg);
		make_error(&env, &err, &msg, len);
	}
	payload = switchboard__v1__envelope__get_packed_size(&env);
	assert_int_equal(payload, MAX_FRAME);
	n = frame_encode(&env, &enc);

	assert_int_equal(evbuffer_add(b, enc, n), 0);
	assert_int_equal(frame_read(b, MAX_FRAME - 1, &got, &why), SB_ERR_BAD_FRAME);
	assert_null(got);
	snprintf(want, sizeof(want), "frame length %d exceeds limit %d", MAX_FRAME, MAX_FRAME - 1);
	assert_string_equal(why, want);
	assert_int_equal(evbuffer_get_length(b), n);
	assert_int_equal(frame_parse(enc, n, MAX_FRAME - 1, &got, &used, &why), SB_ERR_BAD_FRAME);
	assert_string_equal(why, want);
	assert_int_equal(used, 0);

	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_int_equal(strlen(got->error->message), strlen(msg));
	envelope_free(got);
	assert_int_equal(frame_parse(enc, n, MAX_FRAME, &got, &used, &why), 1);
	assert_int_equal(used, n);
	envelope_free(got);

	free(enc);
	free(msg);
	evbuffer_free(b);
}

/* A hostile length is refused from the header alone: frame_read does not
 * wait for (so cannot be made to buffer or allocate) a payload it would
 * refuse anyway. */
static void test_oversize_header_only(void **state)
{
	static const uint32_t lens[] = {MAX_FRAME + 1, 0x7fffffff, 0xffffffff};
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char want[80];
		uint8_t h[4];
		size_t used = 99;

		evbuffer_drain(b, evbuffer_get_length(b));
		add_header(b, lens[i]);
		assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), SB_ERR_BAD_FRAME);
		assert_null(got);
		snprintf(want, sizeof(want), "frame length %lu exceeds limit %d",
		         (unsigned long)lens[i], MAX_FRAME);
		assert_string_equal(why, want);
		assert_int_equal(evbuffer_get_length(b), 4);

		put_header(h, lens[i]);
		assert_int_equal(frame_parse(h, sizeof(h), MAX_FRAME, &got, &used, &why),
		                 SB_ERR_BAD_FRAME);
		assert_string_equal(why, want);
		assert_int_equal(used, 0);
	}
	evbuffer_free(b);
}

/* Length 0 is refused (an Envelope always has a body, so never 0 bytes). */
static void test_length_zero(void **state)
{
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t h[8] = {0};
	size_t used = 99;

	(void)state;
	add_header(b, 0);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), SB_ERR_BAD_FRAME);
	assert_string_equal(why, "frame length 0");
	assert_null(got);
	assert_int_equal(evbuffer_get_length(b), 4);
	assert_int_equal(frame_parse(h, sizeof(h), MAX_FRAME, &got, &used, &why), SB_ERR_BAD_FRAME);
	assert_string_equal(why, "frame length 0");
	assert_int_equal(used, 0);
	evbuffer_free(b);
}

/* An in-bounds frame that does not decode is consumed, and the next frame
 * behind it is still read correctly. */
static void test_garbage_payload_consumed(void **state)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                               0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ready ready = SWITCHBOARD__V1__READY__INIT;
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;

	(void)state;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_READY;
	env.ready = &ready;
	add_header(b, sizeof(junk));
	assert_int_equal(evbuffer_add(b, junk, sizeof(junk)), 0);
	assert_int_equal(frame_write(b, &env), 0);

	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), SB_ERR_BAD_FRAME);
	assert_null(got);
	assert_string_equal(why, "undecodable envelope");
	assert_false(envelope_is_unknown_body(why));
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_int_equal(got->body_case, SWITCHBOARD__V1__ENVELOPE__BODY_READY);
	envelope_free(got);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* A frame with a body from a newer peer is consumed and reported as such,
 * so the session can answer BAD_FRAME and read on; so is an empty body. */
static void test_unknown_and_empty_body(void **state)
{
	static const uint8_t unknown[] = {0, 0, 0, 5, 0x08, 0x01, 0x9a, 0x06, 0x00};
	static const uint8_t nobody[] = {0, 0, 0, 2, 0x08, 0x01};
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(evbuffer_add(b, unknown, sizeof(unknown)), 0);
	assert_int_equal(evbuffer_add(b, nobody, sizeof(nobody)), 0);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), SB_ERR_BAD_FRAME);
	assert_true(envelope_is_unknown_body(why));
	assert_int_equal(evbuffer_get_length(b), sizeof(nobody));
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), SB_ERR_BAD_FRAME);
	assert_string_equal(why, "envelope has no body");
	assert_int_equal(evbuffer_get_length(b), 0);

	assert_int_equal(frame_parse(unknown, sizeof(unknown), MAX_FRAME, &got, &used, &why),
	                 SB_ERR_BAD_FRAME);
	assert_true(envelope_is_unknown_body(why));
	assert_int_equal(used, sizeof(unknown));
	assert_null(got);
	evbuffer_free(b);
}

/* Two frames in one buffer come out one per call, in order. */
static void test_two_frames_back_to_back(void **state)
{
	Switchboard__V1__Envelope e1 = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Envelope e2 = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
	Switchboard__V1__AcceptOffer acc = SWITCHBOARD__V1__ACCEPT_OFFER__INIT;
	struct evbuffer *b = evbuffer_new();
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t *f1, *f2, *flat;
	size_t n1, n2, used = 0;

	(void)state;
	hello.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hello.client_id = "alice";
	hello.protocol_version = 1;
	e1.seq = 1;
	e1.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_HELLO;
	e1.hello = &hello;
	acc.offer_id = "o-9";
	e2.seq = 2;
	e2.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER;
	e2.accept_offer = &acc;

	n1 = frame_encode(&e1, &f1);
	n2 = frame_encode(&e2, &f2);
	flat = malloc(n1 + n2);
	assert_non_null(flat);
	memcpy(flat, f1, n1);
	memcpy(flat + n1, f2, n2);
	assert_int_equal(evbuffer_add(b, flat, n1 + n2), 0);

	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_int_equal(got->seq, 1);
	assert_string_equal(got->hello->client_id, "alice");
	envelope_free(got);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 1);
	assert_int_equal(got->seq, 2);
	assert_string_equal(got->accept_offer->offer_id, "o-9");
	envelope_free(got);
	assert_int_equal(frame_read(b, MAX_FRAME, &got, &why), 0);

	assert_int_equal(frame_parse(flat, n1 + n2, MAX_FRAME, &got, &used, &why), 1);
	assert_int_equal(used, n1);
	assert_int_equal(got->body_case, SWITCHBOARD__V1__ENVELOPE__BODY_HELLO);
	envelope_free(got);
	assert_int_equal(frame_parse(flat + n1, n2, MAX_FRAME, &got, &used, &why), 1);
	assert_int_equal(used, n2);
	assert_int_equal(got->body_case, SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER);
	envelope_free(got);

	free(flat);
	free(f1);
	free(f2);
	evbuffer_free(b);
}

/* frame_parse: every proper prefix of a frame is "need more", used = 0. */
static void test_parse_partial(void **state)
{
	Switchboard__V1__Envelope env;
	Switchboard__V1__Error err;
	Envelope *got = NULL;
	const char *why = NULL;
	uint8_t *enc;
	char *msg;
	size_t n;

	(void)state;
	make_error(&env, &err, &msg, 40);
	n = frame_encode(&env, &enc);
	for (size_t i = 0; i < n; i++) {
		size_t used = 99;

		assert_int_equal(frame_parse(enc, i, MAX_FRAME, &got, &used, &why), 0);
		assert_null(got);
		assert_int_equal(used, 0);
	}
	free(enc);
	free(msg);
}

/* frame_parse refuses garbage with the frame's size in *used. */
static void test_parse_garbage(void **state)
{
	static const uint8_t frame[] = {0, 0, 0, 3, 0x52, 0x05, 0x0a, 0xaa};
	Envelope *got = NULL;
	const char *why = NULL;
	size_t used = 0;

	(void)state;
	assert_int_equal(frame_parse(frame, sizeof(frame), MAX_FRAME, &got, &used, &why),
	                 SB_ERR_BAD_FRAME);
	assert_null(got);
	assert_string_equal(why, "undecodable envelope");
	assert_int_equal(used, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_write_matches_encode),
	    cmocka_unit_test(test_write_empty_refused),
	    cmocka_unit_test(test_partial_header),
	    cmocka_unit_test(test_partial_payload),
	    cmocka_unit_test(test_frame_across_chains),
	    cmocka_unit_test(test_max_size_bounds),
	    cmocka_unit_test(test_oversize_header_only),
	    cmocka_unit_test(test_length_zero),
	    cmocka_unit_test(test_garbage_payload_consumed),
	    cmocka_unit_test(test_unknown_and_empty_body),
	    cmocka_unit_test(test_two_frames_back_to_back),
	    cmocka_unit_test(test_parse_partial),
	    cmocka_unit_test(test_parse_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Envelope decoding and the body table: every body the proto defines has a
 * name and a sender, and the three ways a decode fails are told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/envelope.h"

/* Whether a descriptor field is one of the Envelope's bodies. */
static int is_body_field(const ProtobufCFieldDescriptor *f)
{
	return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* Builds an Envelope with an empty message of the body type of f. The body
 * is heap-allocated; free it with free_body(). */
static void make_envelope(Envelope *env, const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *md = f->descriptor;
	ProtobufCMessage *body = calloc(1, md->sizeof_message);

	assert_non_null(body);
	protobuf_c_message_init(md, body);
	switchboard__v1__envelope__init(env);
	env->seq = 7;
	env->ref = 3;
	env->body_case = (Switchboard__V1__Envelope__BodyCase)f->id;
	/* A oneof member's offset is the union's: every body pointer shares it. */
	*(ProtobufCMessage **)((char *)env + f->offset) = body;
}

/* Frees the body make_envelope() allocated. */
static void free_body(Envelope *env, const ProtobufCFieldDescriptor *f)
{
	free(*(ProtobufCMessage **)((char *)env + f->offset));
}

/* Walks the generated descriptor, so a body added to the proto but not to
 * envelope.c's table fails here. */
static void test_every_body_has_sender_and_name(void **state)
{
	const ProtobufCMessageDescriptor *d = &switchboard__v1__envelope__descriptor;
	unsigned bodies = 0;

	(void)state;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		Switchboard__V1__Envelope__BodyCase c;

		if (!is_body_field(f))
			continue;
		c = (Switchboard__V1__Envelope__BodyCase)f->id;
		bodies++;
		if (envelope_sender(c) == ENVELOPE_SENDER_UNKNOWN)
			fail_msg("body %s (%u) has no sender class", f->name, f->id);
		assert_string_equal(envelope_body_name(c), f->name);
	}
	assert_int_equal(bodies, 26);
}

/* Spot checks of who may send what, the decisions sessions rely on. */
static void test_sender_classes(void **state)
{
	(void)state;
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_HELLO),
	                 ENVELOPE_SENDER_ANY_CLIENT);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_PING),
	                 ENVELOPE_SENDER_ANY_CLIENT);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT),
	                 ENVELOPE_SENDER_GATEWAY);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_CANCEL_CONTACT),
	                 ENVELOPE_SENDER_GATEWAY);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE),
	                 ENVELOPE_SENDER_AGENT);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_TRANSFER),
	                 ENVELOPE_SENDER_AGENT);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_READY),
	                 ENVELOPE_SENDER_AGENT);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME),
	                 ENVELOPE_SENDER_DAEMON);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_PONG),
	                 ENVELOPE_SENDER_DAEMON);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_ERROR),
	                 ENVELOPE_SENDER_DAEMON);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_OFFER),
	                 ENVELOPE_SENDER_DAEMON);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_ACK),
	                 ENVELOPE_SENDER_DAEMON);
	assert_int_equal(envelope_sender(SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_REVOKED),
	                 ENVELOPE_SENDER_DAEMON);
}

/* Cases outside the table, including negative and huge values. */
static void test_unknown_cases(void **state)
{
	static const int cases[] = {0, 1, 2, 15, 19, 23, 36, 46, 56, 99, -1, 1 << 30};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Switchboard__V1__Envelope__BodyCase c =
		    (Switchboard__V1__Envelope__BodyCase)cases[i];

		assert_int_equal(envelope_sender(c), ENVELOPE_SENDER_UNKNOWN);
		assert_string_equal(envelope_body_name(c), "unknown");
	}
}

/* Every body survives pack and unpack with seq and ref intact. */
static void test_round_trip_every_body(void **state)
{
	const ProtobufCMessageDescriptor *d = &switchboard__v1__envelope__descriptor;

	(void)state;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		Envelope env, *got;
		const char *why = NULL;
		uint8_t *bytes;
		size_t n;

		if (!is_body_field(f))
			continue;
		make_envelope(&env, f);
		n = switchboard__v1__envelope__get_packed_size(&env);
		bytes = malloc(n);
		assert_non_null(bytes);
		assert_int_equal(switchboard__v1__envelope__pack(&env, bytes), n);
		got = envelope_unpack(bytes, n, &why);
		if (got == NULL)
			fail_msg("body %s did not decode: %s", f->name, why);
		assert_int_equal(got->body_case, f->id);
		assert_int_equal(got->seq, 7);
		assert_int_equal(got->ref, 3);
		envelope_free(got);
		free(bytes);
		free_body(&env, f);
	}
}

/* A body number this build lacks (99, a newer peer's) is "unknown message
 * body", which keeps the connection; no body at all is a different reason. */
static void test_unknown_body_vs_no_body(void **state)
{
	/* seq = 1; field 99, length-delimited, empty message (tag 99<<3|2 = 794). */
	static const uint8_t unknown[] = {0x08, 0x01, 0x9a, 0x06, 0x00};
	/* field 99 carrying a non-empty message. */
	static const uint8_t unknown2[] = {0x9a, 0x06, 0x02, 0x08, 0x05};
	/* seq = 1 and ref = 2, nothing else. */
	static const uint8_t nobody[] = {0x08, 0x01, 0x10, 0x02};
	/* seq = 1 and an unknown varint field 9: not a body, so still no body. */
	static const uint8_t nobody_extra[] = {0x08, 0x01, 0x48, 0x05};
	const char *why = NULL;

	(void)state;
	assert_null(envelope_unpack(unknown, sizeof(unknown), &why));
	assert_string_equal(why, "unknown message body");
	assert_true(envelope_is_unknown_body(why));

	why = NULL;
	assert_null(envelope_unpack(unknown2, sizeof(unknown2), &why));
	assert_true(envelope_is_unknown_body(why));

	why = NULL;
	assert_null(envelope_unpack(nobody, sizeof(nobody), &why));
	assert_string_equal(why, "envelope has no body");
	assert_false(envelope_is_unknown_body(why));

	why = NULL;
	assert_null(envelope_unpack(nobody_extra, sizeof(nobody_extra), &why));
	assert_string_equal(why, "envelope has no body");

	why = NULL;
	assert_null(envelope_unpack(nobody, 0, &why));
	assert_string_equal(why, "envelope has no body");

	assert_false(envelope_is_unknown_body(NULL));
	assert_false(envelope_is_unknown_body("undecodable envelope"));
}

/* A known body next to an unknown field (a newer peer's extra field) is
 * accepted: unknown fields are ignored, as proto3 intends. */
static void test_known_body_with_unknown_field(void **state)
{
	/* field 99 (empty), then ping (12) with client_time_ms = 5. */
	static const uint8_t bytes[] = {0x9a, 0x06, 0x00, 0x62, 0x02, 0x08, 0x05};
	const char *why = NULL;
	Envelope *env;

	(void)state;
	env = envelope_unpack(bytes, sizeof(bytes), &why);
	assert_non_null(env);
	assert_int_equal(env->body_case, SWITCHBOARD__V1__ENVELOPE__BODY_PING);
	assert_int_equal(env->ping->client_time_ms, 5);
	envelope_free(env);
}

/* Bytes that are not protobuf at all. */
static void test_garbage(void **state)
{
	static const uint8_t tag0[] = {0x00, 0x01};
	static const uint8_t longvarint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                     0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t truncated_body[] = {0x52, 0x05, 0x0a};
	static const uint8_t truncated_varint[] = {0x08, 0x80};
	static const uint8_t bad_wiretype[] = {0x0f, 0x01};
	/* hello (10) sent as a varint instead of a message. */
	static const uint8_t body_as_varint[] = {0x50, 0x01};
	static const struct {
		const uint8_t *p;
		size_t n;
	} cases[] = {
	    {tag0, sizeof(tag0)},
	    {longvarint, sizeof(longvarint)},
	    {truncated_body, sizeof(truncated_body)},
	    {truncated_varint, sizeof(truncated_varint)},
	    {bad_wiretype, sizeof(bad_wiretype)},
	    {body_as_varint, sizeof(body_as_varint)},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;

		if (envelope_unpack(cases[i].p, cases[i].n, &why) != NULL)
			fail_msg("garbage case %zu decoded", i);
		assert_string_equal(why, "undecodable envelope");
		assert_false(envelope_is_unknown_body(why));
	}
}

/* NULL is a no-op, as free() is. */
static void test_free_null(void **state)
{
	(void)state;
	envelope_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_body_has_sender_and_name),
	    cmocka_unit_test(test_sender_classes),
	    cmocka_unit_test(test_unknown_cases),
	    cmocka_unit_test(test_round_trip_every_body),
	    cmocka_unit_test(test_unknown_body_vs_no_body),
	    cmocka_unit_test(test_known_body_with_unknown_field),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The wire string check (wire/strings.c): valid UTF-8 of every length
 * passes; overlong forms, surrogates, sequences cut short and NULs are
 * refused with the field's path, however deep it sits; unknown fields are
 * skipped; bytes that are not wire format are BAD_FRAME, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "wire/envelope.h"
#include "wire/strings.h"

#define ENVELOPE_DESC (&switchboard__v1__envelope__descriptor)

/* Hand-encoded wire bytes: protobuf-c cannot encode a NUL inside a string. */
struct pb {
	uint8_t b[1024];
	size_t n;
};

static void pb_varint(struct pb *p, uint64_t v)
{
	do {
		assert_true(p->n < sizeof p->b);
		p->b[p->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
}

static void pb_uint(struct pb *p, unsigned field, uint64_t v)
{
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, unsigned field, const void *data, size_t len)
{
	pb_varint(p, (uint64_t)field << 3 | 2);
	pb_varint(p, len);
	assert_true(p->n + len <= sizeof p->b);
	memcpy(p->b + p->n, data, len);
	p->n += len;
}

static void pb_message(struct pb *p, unsigned field, const struct pb *m)
{
	pb_bytes(p, field, m->b, m->n);
}

/* Envelope{seq: 1, submit_contact: {external_id: ext (len bytes), channel: voice}}. */
static struct pb submit_with_external_id(const char *ext, size_t len)
{
	struct pb sub = {0}, env = {0};

	pb_bytes(&sub, 1, ext, len);
	pb_uint(&sub, 2, 1);
	pb_uint(&env, 1, 1);
	pb_message(&env, 20, &sub);
	return env;
}

/* The check's answer for an external_id of these bytes; msg gets its text. */
static int check_external_id(const char *ext, size_t len, char *msg, size_t msglen)
{
	struct pb env = submit_with_external_id(ext, len);

	return wire_check_strings(ENVELOPE_DESC, env.b, env.n, msg, msglen);
}

static void expect_refused(const struct pb *env, const char *message)
{
	char msg[160];

	assert_int_equal(wire_check_strings(ENVELOPE_DESC, env->b, env->n, msg, sizeof msg),
			 SB_ERR_INVALID_ARGUMENT);
	assert_string_equal(msg, message);
}

/* One to four bytes a character, at both ends of each range, pass. */
static void test_valid_utf8_of_every_length_passes(void **state)
{
	static const char *const ok[] = {
		"",
		"plain ascii id-42",
		"\x01\x7f",                         /* controls are UTF-8; caps are elsewhere */
		"\xc2\x80\xdf\xbf",                 /* U+0080, U+07FF */
		"Zo\xc3\xab",                       /* Zoë */
		"\xe0\xa0\x80\xef\xbf\xbf",         /* U+0800, U+FFFF */
		"\xed\x9f\xbf\xee\x80\x80",         /* U+D7FF, U+E000: around the surrogates */
		"\xe9\x80\x9a\xe8\xa9\xb1",         /* 通話 */
		"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", /* U+10000, U+10FFFF */
		"\xf0\x9f\x93\x9e call",            /* 📞 */
	};
	char msg[160];

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (check_external_id(ok[i], strlen(ok[i]), msg, sizeof msg) != 0)
			fail_msg("case %zu refused: %s", i, msg);
}

/* Overlong forms, surrogates, cut-short sequences, stray bytes and code
 * points past U+10FFFF are refused, wherever in the string they are. */
static void test_invalid_utf8_is_refused(void **state)
{
	static const char *const bad[] = {
		"\xff\xfe\xc3\x28",     /* the bytes */
		"\xc0\xaf",             /* overlong "/" */
		"\xc1\xbf",             /* overlong U+007F */
		"\xe0\x80\xaf",         /* overlong "/" in three bytes */
		"\xe0\x9f\xbf",         /* overlong U+07FF */
		"\xf0\x80\x80\xaf",     /* overlong "/" in four bytes */
		"\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
		"\xed\xa0\x80",         /* U+D800, a surrogate */
		"\xed\xbf\xbf",         /* U+DFFF */
		"ok\xed\xa0\xbd\xed\xb2\x9e", /* a UTF-16 pair spelled in UTF-8 (CESU) */
		"\xf4\x90\x80\x80",     /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xe2\x82",             /* cut short at the end */
		"\xf0\x9f\x93",
		"\xe2\x82x",            /* cut short in the middle */
		"\x80",                 /* a continuation byte alone */
		"abc\xbf",
		"\xfe",
	};
	char msg[160];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = check_external_id(bad[i], strlen(bad[i]), msg, sizeof msg);
		if (rc != SB_ERR_INVALID_ARGUMENT)
			fail_msg("case %zu: want INVALID_ARGUMENT, got %d", i, rc);
		assert_string_equal(msg, "submit_contact.external_id is not valid UTF-8");
	}
}

/* A NUL anywhere is refused: protobuf-c would cut the string there. */
static void test_nul_is_refused(void **state)
{
	char msg[160];

	(void)state;
	assert_int_equal(check_external_id("A\0one", 5, msg, sizeof msg), SB_ERR_INVALID_ARGUMENT);
	assert_string_equal(msg, "submit_contact.external_id contains a NUL character");
	assert_int_equal(check_external_id("\0", 1, msg, sizeof msg), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(check_external_id("end\0", 4, msg, sizeof msg), SB_ERR_INVALID_ARGUMENT);
	/* An overlong NUL (c0 80, "modified UTF-8") is not UTF-8 at all. */
	assert_int_equal(check_external_id("a\xc0\x80", 3, msg, sizeof msg), SB_ERR_INVALID_ARGUMENT);
	assert_string_equal(msg, "submit_contact.external_id is not valid UTF-8");
}

/* Strings in nested messages, repeated messages and map entries are found
 * and named by their path, with the element's index. */
static void test_nested_repeated_and_map_fields_are_named(void **state)
{
	struct pb env, sub, customer, skill0, skill1, entry0, entry1, entry2, hello;

	(void)state;
	/* The Envelope's own string. */
	env = (struct pb){0};
	pb_uint(&env, 1, 1);
	pb_bytes(&env, 3, "\xff", 1);
	pb_message(&env, 12, &(struct pb){0}); /* ping */
	expect_refused(&env, "event_id is not valid UTF-8");

	/* submit_contact.customer.tier */
	customer = (struct pb){0};
	pb_bytes(&customer, 1, "cust-1", 6);
	pb_bytes(&customer, 2, "v\0ip", 4);
	sub = (struct pb){0};
	pb_bytes(&sub, 1, "x-1", 3);
	pb_message(&sub, 4, &customer);
	env = (struct pb){0};
	pb_message(&env, 20, &sub);
	expect_refused(&env, "submit_contact.customer.tier contains a NUL character");

	/* submit_contact.required_skills[1].name: the second element. */
	skill0 = (struct pb){0};
	pb_bytes(&skill0, 1, "billing", 7);
	pb_uint(&skill0, 2, 2);
	skill1 = (struct pb){0};
	pb_bytes(&skill1, 1, "lang_\xe4", 6);
	pb_uint(&skill1, 2, 3);
	sub = (struct pb){0};
	pb_bytes(&sub, 1, "x-1", 3);
	pb_message(&sub, 5, &skill0);
	pb_bytes(&sub, 6, "en", 2); /* another field between the elements */
	pb_message(&sub, 5, &skill1);
	env = (struct pb){0};
	pb_message(&env, 20, &sub);
	expect_refused(&env, "submit_contact.required_skills[1].name is not valid UTF-8");

	/* submit_contact.attributes[2].value and [0].key: map entries. */
	entry0 = (struct pb){0};
	pb_bytes(&entry0, 1, "k0", 2);
	pb_bytes(&entry0, 2, "v0", 2);
	entry1 = (struct pb){0};
	pb_bytes(&entry1, 1, "\xe6\x97\xa5", 3); /* 日 */
	pb_bytes(&entry1, 2, "\xf0\x9f\x98\x80", 4);
	entry2 = (struct pb){0};
	pb_bytes(&entry2, 1, "k2", 2);
	pb_bytes(&entry2, 2, "\xed\xa0\x80", 3);
	sub = (struct pb){0};
	pb_message(&sub, 10, &entry0);
	pb_message(&sub, 10, &entry1);
	pb_message(&sub, 10, &entry2);
	env = (struct pb){0};
	pb_message(&env, 20, &sub);
	expect_refused(&env, "submit_contact.attributes[2].value is not valid UTF-8");
	entry0 = (struct pb){0};
	pb_bytes(&entry0, 1, "k\0", 2);
	sub = (struct pb){0};
	pb_message(&sub, 10, &entry0);
	env = (struct pb){0};
	pb_message(&env, 20, &sub);
	expect_refused(&env, "submit_contact.attributes[0].key contains a NUL character");

	/* hello.token: the first frame is checked like any other. */
	hello = (struct pb){0};
	pb_uint(&hello, 1, 2);
	pb_bytes(&hello, 2, "alice", 5);
	pb_bytes(&hello, 3, "v1.1.ab\0cd", 10);
	env = (struct pb){0};
	pb_message(&env, 10, &hello);
	expect_refused(&env, "hello.token contains a NUL character");
}

/* Fields the descriptor does not know are skipped whatever they hold, and
 * a known string field sent with another wire type is left to protobuf-c. */
static void test_unknown_fields_are_skipped(void **state)
{
	struct pb env = {0}, sub = {0};
	char msg[160];

	(void)state;
	pb_bytes(&sub, 1, "x-1", 3);
	pb_bytes(&sub, 15, "\xff\0\xfe", 3);       /* unknown, length-delimited */
	pb_uint(&sub, 16, 7);                       /* unknown varint */
	pb_varint(&sub, (uint64_t)17 << 3 | 1);     /* unknown fixed64 of 0xff bytes */
	memset(sub.b + sub.n, 0xff, 8);
	sub.n += 8;
	pb_varint(&sub, (uint64_t)18 << 3 | 5);     /* unknown fixed32 */
	memset(sub.b + sub.n, 0xff, 4);
	sub.n += 4;
	pb_uint(&sub, 6, 5);                        /* language as a varint */
	pb_message(&env, 20, &sub);
	pb_bytes(&env, 99, "\xc0\xaf", 2);          /* a newer peer's body */
	assert_int_equal(wire_check_strings(ENVELOPE_DESC, env.b, env.n, msg, sizeof msg), 0);
}

/* Protobuf-c's own encoding of a full envelope passes, and every proper
 * prefix of it is either sound or BAD_FRAME (never read past the end:
 * run under ASan in the fuzz build). */
static void test_truncated_input_is_refused_cleanly(void **state)
{
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SubmitContact sub = SWITCHBOARD__V1__SUBMIT_CONTACT__INIT;
	Switchboard__V1__Customer cust = SWITCHBOARD__V1__CUSTOMER__INIT;
	Switchboard__V1__SkillRequirement skill = SWITCHBOARD__V1__SKILL_REQUIREMENT__INIT;
	Switchboard__V1__SkillRequirement *skills[] = {&skill};
	Switchboard__V1__SubmitContact__AttributesEntry attr =
		SWITCHBOARD__V1__SUBMIT_CONTACT__ATTRIBUTES_ENTRY__INIT;
	Switchboard__V1__SubmitContact__AttributesEntry *attrs[] = {&attr};
	uint8_t buf[512], *copy;
	char msg[160];
	size_t n;

	(void)state;
	cust.id = "c-\xe2\x82\xac";
	cust.tier = "gold";
	skill.name = "billing";
	skill.min_level = 2;
	attr.key = "\xe5\x90\x8d";
	attr.value = "\xf0\x9f\x93\x9e";
	sub.external_id = "\xe9\x80\x9a\xe8\xa9\xb1-1";
	sub.channel = SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE;
	sub.queue = "voice-q";
	sub.customer = &cust;
	sub.n_required_skills = 1;
	sub.required_skills = skills;
	sub.n_attributes = 1;
	sub.attributes = attrs;
	env.seq = 300;
	env.event_id = "";
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT;
	env.submit_contact = &sub;
	n = switchboard__v1__envelope__get_packed_size(&env);
	assert_true(n <= sizeof buf);
	switchboard__v1__envelope__pack(&env, buf);
	assert_int_equal(wire_check_strings(ENVELOPE_DESC, buf, n, msg, sizeof msg), 0);
	for (size_t i = 0; i < n; i++) {
		/* A copy of exactly i bytes, so ASan sees a read past it. */
		copy = malloc(i > 0 ? i : 1);
		assert_non_null(copy);
		memcpy(copy, buf, i);
		int rc = wire_check_strings(ENVELOPE_DESC, copy, i, msg, sizeof msg);
		free(copy);
		if (rc != 0 && rc != SB_ERR_BAD_FRAME)
			fail_msg("prefix of %zu bytes: %d (%s)", i, rc, msg);
		if (rc == SB_ERR_BAD_FRAME && strncmp(msg, "undecodable envelope", 20) != 0)
			fail_msg("prefix of %zu bytes: message \"%s\"", i, msg);
	}
}

/* Bytes no encoder makes: a length past the end, a cut tag, a group, a
 * 6-byte tag. */
static void test_malformed_wire_is_bad_frame(void **state)
{
	static const uint8_t past_end[] = {0xa2, 0x01, 0x05, 0x0a, 0x01};   /* 20: 5 bytes, 2 there */
	static const uint8_t cut_tag[] = {0x08, 0x01, 0xa2};                /* tag's last byte gone */
	static const uint8_t group[] = {0x0b, 0x0c};                        /* field 1, groups */
	static const uint8_t long_tag[] = {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01};
	static const uint8_t cut_varint[] = {0x08, 0xff, 0xff};
	static const uint8_t cut_fixed[] = {0x09, 0x01, 0x02};
	static const uint8_t bad_nested[] = {0xa2, 0x01, 0x02, 0x0a, 0x05}; /* inside: past end */
	static const struct {
		const uint8_t *b;
		size_t n;
	} cases[] = {
		{past_end, sizeof past_end},   {cut_tag, sizeof cut_tag},
		{group, sizeof group},         {long_tag, sizeof long_tag},
		{cut_varint, sizeof cut_varint}, {cut_fixed, sizeof cut_fixed},
		{bad_nested, sizeof bad_nested},
	};
	char msg[160];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = wire_check_strings(ENVELOPE_DESC, cases[i].b, cases[i].n, msg, sizeof msg);
		if (rc != SB_ERR_BAD_FRAME)
			fail_msg("case %zu: want BAD_FRAME, got %d (%s)", i, rc, msg);
	}
	/* Nothing at all is an empty message: nothing to refuse. */
	assert_int_equal(wire_check_strings(ENVELOPE_DESC, past_end, 0, msg, sizeof msg), 0);
}

/* A short message buffer gets a cut but terminated message. */
static void test_short_message_buffer_is_terminated(void **state)
{
	char msg[12];

	(void)state;
	memset(msg, 'x', sizeof msg);
	assert_int_equal(check_external_id("\xff", 1, msg, sizeof msg), SB_ERR_INVALID_ARGUMENT);
	assert_string_equal(msg, "submit_cont");
	assert_int_equal(check_external_id("\xff", 1, NULL, 0), SB_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_of_every_length_passes),
		cmocka_unit_test(test_invalid_utf8_is_refused),
		cmocka_unit_test(test_nul_is_refused),
		cmocka_unit_test(test_nested_repeated_and_map_fields_are_named),
		cmocka_unit_test(test_unknown_fields_are_skipped),
		cmocka_unit_test(test_truncated_input_is_refused_cleanly),
		cmocka_unit_test(test_malformed_wire_is_bad_frame),
		cmocka_unit_test(test_short_message_buffer_is_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

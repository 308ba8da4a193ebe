/* The admin API's JSON pieces: the writer (util/json_out.c) escapes every
 * string into valid JSON, the reader (json_parse.c) accepts RFC 8259 and
 * refuses the rest, and a roster definition (roster.c) survives the round
 * trip through its stored form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "util/json_out.h"
#include "util/json_parse.h"
#include "record/roster.h"
#include "metrics.h"

/* The buffer's contents as a new string. */
static char *take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

static void test_writer_escapes_and_nests(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;
	char err[128];

	(void)state;
	json_init(&j, b);
	json_obj_open(&j);
	json_kstr(&j, "q", "a\"b\\c\n\t\x01");
	json_key(&j, "bad");
	json_strn(&j, "ok\xff\xc3(\xe2\x82\xac", 8); /* invalid bytes, then a valid euro sign */
	json_kstr(&j, "null", NULL);
	json_kint(&j, "neg", -42);
	json_knum(&j, "half", 0.5);
	json_knum(&j, "inf", 1.0 / 0.0);
	json_key(&j, "list");
	json_arr_open(&j);
	json_int(&j, 1);
	json_obj_open(&j);
	json_obj_close(&j);
	json_bool(&j, false);
	json_arr_close(&j);
	json_obj_close(&j);
	char *s = take(b);
	assert_string_equal(
	    s, "{\"q\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"bad\":\"ok\\ufffd\\ufffd(\xe2\x82\xac\","
	       "\"null\":null,\"neg\":-42,\"half\":0.5,\"inf\":null,"
	       "\"list\":[1,{},false]}");
	/* and it reads back */
	struct jv *v = jv_parse(s, strlen(s), err, sizeof err);
	assert_non_null(v);
	assert_string_equal(jv_get(v, "q")->str, "a\"b\\c\n\t\x01");
	assert_int_equal(jv_get(v, "list")->n, 3);
	jv_free(v);
	free(s);
	evbuffer_free(b);
}

static void test_reader_accepts_rfc8259(void **state)
{
	static const char text[] =
	    " {\"a\": [1, -0.5e+2, 3E1, true, false, null, \"\\u00e9\\ud83d\\ude00\\/\"],"
	    " \"b\": {}, \"c\": [] } ";
	char err[128];
	struct jv *v = jv_parse(text, strlen(text), err, sizeof err);

	(void)state;
	assert_non_null(v);
	const struct jv *a = jv_get(v, "a");
	assert_int_equal(a->type, JV_ARRAY);
	assert_int_equal(a->n, 7);
	assert_true(a->items[1].num == -50);
	assert_true(a->items[2].num == 30);
	assert_true(a->items[3].b);
	assert_int_equal(a->items[5].type, JV_NULL);
	assert_string_equal(a->items[6].str, "\xc3\xa9\xf0\x9f\x98\x80/");
	assert_int_equal(jv_get(v, "b")->type, JV_OBJECT);
	assert_null(jv_get(v, "zzz"));
	jv_free(v);
}

static void test_reader_refuses_the_rest(void **state)
{
	static const char *const bad[] = {
	    "",
	    " ",
	    "{",
	    "}",
	    "[1,]",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "{a:1}",
	    "'a'",
	    "01",
	    "1.",
	    ".5",
	    "-",
	    "1e",
	    "+1",
	    "tru",
	    "nul",
	    "\"a",
	    "\"\\x\"",
	    "\"\\u12\"",
	    "\"\\ud800\"",
	    "\"\\udc00\"",
	    "\"\\u0000\"",
	    "\"\xff\"",             /* not UTF-8 at all */
	    "\"\xc0\xaf\"",         /* overlong '/' */
	    "\"\xe0\x80\xaf\"",     /* overlong '/' in three bytes */
	    "\"\xed\xa0\x80\"",     /* a surrogate, encoded */
	    "\"\xf4\x90\x80\x80\"", /* beyond U+10FFFF */
	    "\"\xe2\x82\"",         /* cut short */
	    "\"a\nb\"",
	    "[1] [2]",
	    "{\"a\":1,\"a\":2}",
	    "NaN",
	    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		struct jv *v = jv_parse(bad[i], strlen(bad[i]), err, sizeof err);
		if (v != NULL)
			fail_msg("accepted %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void test_roster_round_trip(void **state)
{
	static const char text[] =
	    "{\"id\":\"dave\",\"name\":\"Dave\",\"tier\":\"senior\","
	    "\"skills\":{\"billing\":4,\"lang_fr\":5},\"capacity\":{\"chat\":2},"
	    "\"queues\":[\"chat-q\"]}";
	struct evbuffer *b = evbuffer_new();
	struct json_out j;
	char err[200];
	struct roster_agent *a = roster_agent_parse(text, strlen(text), err, sizeof err);

	(void)state;
	assert_non_null(a);
	assert_int_equal(a->n_skills, 2);
	assert_int_equal(a->capacity[1], 2);
	json_init(&j, b);
	roster_agent_write(&j, a);
	char *s = take(b);
	assert_string_equal(s, text);

	/* a change keeps what it does not name */
	struct jv *patch = jv_parse("{\"skills\":{\"billing\":1}}", 24, err, sizeof err);
	struct roster_agent *c = roster_agent_from_json(patch, a, err, sizeof err);
	assert_non_null(c);
	assert_string_equal(c->tier, "senior");
	assert_int_equal(c->n_skills, 1);
	assert_int_equal(c->n_queues, 1);
	roster_agent_free(c);
	jv_free(patch);

	static const char *const bad[] = {
	    "{\"name\":\"x\"}",
	    "{\"id\":\"a:b\"}",
	    "{\"id\":\"x\",\"skills\":{\"b\":0}}",
	    "{\"id\":\"x\",\"capacity\":{\"chat\":51}}",
	    "{\"id\":\"x\",\"queues\":[1]}",
	    "{\"id\":\"x\",\"extra\":1}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		struct roster_agent *r =
		    roster_agent_parse(bad[i], strlen(bad[i]), err, sizeof err);
		if (r != NULL)
			fail_msg("accepted %s", bad[i]);
		assert_true(strlen(err) > 0);
	}
	free(s);
	roster_agent_free(a);
	evbuffer_free(b);
}

/* An observation lands in the first bucket whose bound is >= it. */
static void test_histogram_buckets(void **state)
{
	static const double le[] = {1, 5, 10};
	const struct metrics_bounds b = {le, 3};
	struct metrics_hist h;

	(void)state;
	memset(&h, 0, sizeof h);
	metrics_observe(&h, &b, 0);
	metrics_observe(&h, &b, 1);
	metrics_observe(&h, &b, 1.5);
	metrics_observe(&h, &b, 10);
	metrics_observe(&h, &b, 11);
	assert_int_equal(h.buckets[0], 2);
	assert_int_equal(h.buckets[1], 1);
	assert_int_equal(h.buckets[2], 1);
	assert_int_equal(h.buckets[3], 1);
	assert_int_equal(h.count, 5);
	assert_true(h.sum == 23.5);
	/* nothing is counted while no struct metrics is installed */
	metrics_frame_read(1);
	metrics_assigned("q", 5, false);
	assert_null(metrics_current());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writer_escapes_and_nests),
	    cmocka_unit_test(test_reader_accepts_rfc8259),
	    cmocka_unit_test(test_reader_refuses_the_rest),
	    cmocka_unit_test(test_roster_round_trip),
	    cmocka_unit_test(test_histogram_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

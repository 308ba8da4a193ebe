/* Address parsing (address.c): "host:port", "[v6]:port" and "unix:/path",
 * and the malformed forms config and the command line must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/address.h"

/* Parses s, which must succeed, into *a. */
static void parse_ok(const char *s, struct address *a)
{
	const char *why = NULL;

	if (address_parse(s, a, &why) != 0)
		fail_msg("\"%s\" refused: %s", s, why ? why : "(no reason)");
}

/* Parses s, which must fail with a reason. */
static void parse_bad(const char *s)
{
	struct address a;
	const char *why = NULL;

	if (address_parse(s, &a, &why) != -1)
		fail_msg("\"%s\" accepted (host \"%s\" port %d)", s, a.host, a.port);
	assert_non_null(why);
	assert_true(why[0] != '\0');
}

/* Names and numeric IPv4 hosts with a port. */
static void test_host_port(void **state)
{
	struct address a;

	parse_ok("127.0.0.1:7400", &a);
	assert_false(a.is_unix);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 7400);
	assert_string_equal(a.path, "");

	parse_ok("redis.internal:6379", &a);
	assert_string_equal(a.host, "redis.internal");
	assert_int_equal(a.port, 6379);

	parse_ok("localhost:0", &a);
	assert_int_equal(a.port, 0);
	parse_ok("localhost:65535", &a);
	assert_int_equal(a.port, 65535);
}

/* Bracketed IPv6 literals: the brackets are not part of the host. */
static void test_ipv6_port(void **state)
{
	struct address a;

	parse_ok("[::1]:7400", &a);
	assert_false(a.is_unix);
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 7400);

	parse_ok("[fe80::1:2]:80", &a);
	assert_string_equal(a.host, "fe80::1:2");
	assert_int_equal(a.port, 80);
}

/* unix:/path, up to the size of sun_path less its terminator. */
static void test_unix_path(void **state)
{
	struct address a;
	char s[5 + sizeof a.path + 1];

	parse_ok("unix:/run/switchboard/sb.sock", &a);
	assert_true(a.is_unix);
	assert_string_equal(a.path, "/run/switchboard/sb.sock");
	assert_string_equal(a.host, "");
	assert_int_equal(a.port, 0);

	/* The longest path that fits: 107 bytes and the NUL. */
	memcpy(s, "unix:", 5);
	memset(s + 5, 'p', sizeof a.path - 1);
	s[5 + sizeof a.path - 1] = '\0';
	parse_ok(s, &a);
	assert_int_equal(strlen(a.path), sizeof a.path - 1);
}

/* Each malformed form is refused with a reason. */
static void test_errors(void **state)
{
	struct address a;
	char s[5 + sizeof a.path + 2];
	char host[sizeof a.host + 8];

	parse_bad("");
	parse_bad("localhost");  /* no port */
	parse_bad("[::1]");      /* no port */
	parse_bad("host:");      /* empty port */
	parse_bad("host:65536"); /* out of range */
	parse_bad("host:-1");    /* out of range */
	parse_bad("host:99999999999999999999");
	parse_bad("host:80x");  /* trailing junk */
	parse_bad("host:http"); /* not a number */
	parse_bad(":80");       /* empty host */
	parse_bad("[]:80");     /* empty v6 host */
	parse_bad("unix:");     /* empty path */

	/* A path one byte too long for sun_path. */
	memcpy(s, "unix:", 5);
	memset(s + 5, 'p', sizeof a.path);
	s[5 + sizeof a.path] = '\0';
	parse_bad(s);

	/* A host name longer than the host buffer. */
	memset(host, 'h', sizeof a.host);
	memcpy(host + sizeof a.host, ":80", 4);
	parse_bad(host);
}

/* Forms that are none of host:port, [v6]:port or unix:/path: an unclosed
 * or stray bracket, junk after the bracket, a port with a sign or space. */
static void test_malformed_brackets_and_port_refused(void **state)
{
	parse_bad("[::1:80");   /* accepted today as host "[::1" */
	parse_bad("[::1]x:80"); /* accepted today as host "[::1]x" */
	parse_bad("a]:80");     /* accepted today as host "a]" */
	parse_bad("host:+80");  /* strtol takes the sign */
	parse_bad("host: 80");  /* strtol skips the space */
}

/* A failed parse leaves no half-filled result behind. */
static void test_error_clears_output(void **state)
{
	struct address a;
	const char *why = NULL;

	parse_ok("unix:/tmp/x", &a);
	assert_int_equal(address_parse("host:", &a, &why), -1);
	assert_false(a.is_unix);
	assert_string_equal(a.path, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_port),
	    cmocka_unit_test(test_ipv6_port),
	    cmocka_unit_test(test_unix_path),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_clears_output),
	    cmocka_unit_test(test_malformed_brackets_and_port_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

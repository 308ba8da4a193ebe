/* Agent tokens and secret comparison: what verifies, and the exact reason
 * for everything that does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "security/token.h"

#define SECRET "s3cret-that-is-long-enough-for-tests"
#define NOW 1700000000
#define LATER 2000000000
/* No lifetime cap: the tests that are not about it mint far ahead. */
#define ANY_TTL INT64_MAX

/* A fixed signature, computed independently with
 * printf 'agent:alice:2000000000' | openssl dgst -sha256 -hmac s3cret
 * so the token format cannot drift without this test noticing. */
#define VECTOR_TOKEN                                                                               \
	"v1.2000000000.15cd74e541b48764db8b3ddb2f7ff9bc0687b606e3e7e94e5d0758adb2d0205a"

/* Asserts that verify refuses token with exactly this reason. */
static void expect_refused(const char *token, const char *agent, int64_t now, const char *reason)
{
	const char *why = NULL;

	assert_int_equal(token_verify(SECRET, agent, token, now, ANY_TTL, &why),
			 SB_ERR_UNAUTHENTICATED);
	assert_non_null(why);
	if (strcmp(why, reason) != 0)
		fail_msg("token \"%s\": want \"%s\", got \"%s\"", token ? token : "(null)", reason,
		         why);
}

/* The minted token has the documented shape and verifies. */
static void test_mint_verify(void **state)
{
	char *t = token_mint(SECRET, "alice", LATER);
	const char *why = NULL;

	(void)state;
	assert_non_null(t);
	assert_int_equal(strlen(t), strlen("v1.2000000000.") + 64);
	assert_memory_equal(t, "v1.2000000000.", 14);
	assert_int_equal(token_verify(SECRET, "alice", t, NOW, ANY_TTL, &why), 0);
	free(t);
}

/* Matches an HMAC computed by the openssl command-line tool. */
static void test_known_vector(void **state)
{
	char *t = token_mint("s3cret", "alice", LATER);
	const char *why = NULL;

	(void)state;
	assert_string_equal(t, VECTOR_TOKEN);
	assert_int_equal(token_verify("s3cret", "alice", VECTOR_TOKEN, NOW, ANY_TTL, &why), 0);
	free(t);
}

/* A token expiring further ahead than auth.agent_token_max_ttl_s (give or
 * take TOKEN_CLOCK_SKEW_S) was not minted under it: refused, but only once
 * its signature holds. */
static void test_lifetime_past_the_cap(void **state)
{
	char *ok = token_mint(SECRET, "alice", NOW + 3600 + TOKEN_CLOCK_SKEW_S);
	char *longer = token_mint(SECRET, "alice", NOW + 3600 + TOKEN_CLOCK_SKEW_S + 1);
	char *forged = token_mint("another-secret", "alice", NOW + 365 * 86400);
	const char *why = NULL;

	(void)state;
	assert_int_equal(token_verify(SECRET, "alice", ok, NOW, 3600, &why), 0);
	assert_int_equal(token_verify(SECRET, "alice", longer, NOW, 3600, &why),
			 SB_ERR_UNAUTHENTICATED);
	assert_string_equal(why, "token lives past auth.agent_token_max_ttl_s");
	/* A second later it is within the cap again. */
	assert_int_equal(token_verify(SECRET, "alice", longer, NOW + 1, 3600, &why), 0);
	assert_int_equal(token_verify(SECRET, "alice", forged, NOW, 3600, &why),
			 SB_ERR_UNAUTHENTICATED);
	assert_string_equal(why, "bad signature");
	free(ok);
	free(longer);
	free(forged);
}

/* Valid up to the expiry second, not at or after it. */
static void test_expired(void **state)
{
	char *t = token_mint(SECRET, "alice", NOW);
	const char *why = NULL;

	(void)state;
	assert_int_equal(token_verify(SECRET, "alice", t, NOW - 1, ANY_TTL, &why), 0);
	expect_refused(t, "alice", NOW, "token expired");
	expect_refused(t, "alice", NOW + 3600, "token expired");
	free(t);

	/* Expiry 0 is well-formed and always expired. */
	t = token_mint(SECRET, "alice", 0);
	assert_memory_equal(t, "v1.0.", 5);
	expect_refused(t, "alice", NOW, "token expired");
	free(t);
}

/* An expired token with a bad signature is a bad signature: "expired" is
 * said only of genuine tokens. */
static void test_expired_forgery_is_bad_signature(void **state)
{
	char *t = token_mint("other-secret", "alice", NOW - 10);

	(void)state;
	expect_refused(t, "alice", NOW, "bad signature");
	free(t);
}

/* The signature binds the agent id: a token for alice is not bob's. */
static void test_wrong_agent(void **state)
{
	char *t = token_mint(SECRET, "alice", LATER);

	(void)state;
	expect_refused(t, "bob", NOW, "bad signature");
	expect_refused(t, "alice2", NOW, "bad signature");
	expect_refused(t, "", NOW, "bad signature");
	free(t);
}

/* Minted under another secret. */
static void test_wrong_secret(void **state)
{
	char *t = token_mint("not-" SECRET, "alice", LATER);

	(void)state;
	expect_refused(t, "alice", NOW, "bad signature");
	free(t);
}

/* Any single changed hex digit, or a changed expiry, breaks the signature. */
static void test_tampered(void **state)
{
	char *t = token_mint(SECRET, "alice", LATER);
	size_t sig = strlen("v1.2000000000.");

	(void)state;
	for (size_t i = sig; t[i] != '\0'; i++) {
		char c = t[i];

		t[i] = c == '0' ? '1' : '0';
		expect_refused(t, "alice", NOW, "bad signature");
		t[i] = c;
	}
	t[3] = '3'; /* expiry 3000000000: later, but not what was signed */
	expect_refused(t, "alice", NOW, "bad signature");
	free(t);
}

/* A token cut anywhere short is malformed, as is one with extra bytes. */
static void test_truncated_and_extended(void **state)
{
	char *t = token_mint(SECRET, "alice", LATER);
	size_t n = strlen(t);
	char *longer = malloc(n + 2);

	(void)state;
	assert_non_null(longer);
	for (size_t cut = 0; cut < n; cut++) {
		char c = t[cut];

		t[cut] = '\0';
		expect_refused(t, "alice", NOW, "malformed token");
		t[cut] = c;
	}
	memcpy(longer, t, n);
	longer[n] = 'a';
	longer[n + 1] = '\0';
	expect_refused(longer, "alice", NOW, "malformed token");
	longer[n] = '\n';
	expect_refused(longer, "alice", NOW, "malformed token");
	free(longer);
	free(t);
}

/* Signature characters other than lowercase hex. */
static void test_bad_hex(void **state)
{
	char *t = token_mint(SECRET, "alice", LATER);
	size_t sig = strlen("v1.2000000000.");
	char *upper = strdup(t);

	(void)state;
	assert_non_null(upper);
	t[sig + 10] = 'g';
	expect_refused(t, "alice", NOW, "malformed token");
	t[sig + 10] = ' ';
	expect_refused(t, "alice", NOW, "malformed token");
	t[sig + 10] = '.';
	expect_refused(t, "alice", NOW, "malformed token");

	/* Uppercase would be the same bytes, but a token has one spelling. */
	for (size_t i = sig; upper[i] != '\0'; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	expect_refused(upper, "alice", NOW, "malformed token");
	free(upper);
	free(t);
}

/* Anything but exactly "v1." in front. */
static void test_bad_prefix(void **state)
{
	static const char *const prefixes[] = {"v2.", "V1.", "v1:", "x1.", ".", "v1", ""};
	char *t = token_mint(SECRET, "alice", LATER);
	const char *rest = t + 3;

	(void)state;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]) + strlen(rest) + 1;
		char *bad = malloc(n);

		assert_non_null(bad);
		strcpy(bad, prefixes[i]);
		strcat(bad, rest);
		expect_refused(bad, "alice", NOW, "malformed token");
		free(bad);
	}
	free(t);
}

/* Expiry field: digits only, no sign, no overflow, one spelling. */
static void test_bad_expiry(void **state)
{
	static const char *const expiries[] = {
	    "+2000000000",                    /* sign */
	    "-1",                             /* sign */
	    " 2000000000",                    /* space */
	    "",                               /* empty */
	    "02000000000",                    /* leading zero */
	    "00",                             /* leading zero */
	    "9223372036854775808",            /* INT64_MAX + 1 */
	    "18446744073709551616",           /* UINT64_MAX + 1 */
	    "99999999999999999999",           /* 20 digits */
	    "100000000000000000000000000000", /* very long */
	    "2e9",                            /* not decimal digits */
	    "0x77359400",                     /* hex */
	};
	static const char sig[] =
	    "15cd74e541b48764db8b3ddb2f7ff9bc0687b606e3e7e94e5d0758adb2d0205a";

	(void)state;
	for (size_t i = 0; i < sizeof(expiries) / sizeof(expiries[0]); i++) {
		size_t n = 3 + strlen(expiries[i]) + 1 + sizeof(sig);
		char *bad = malloc(n);

		assert_non_null(bad);
		strcpy(bad, "v1.");
		strcat(bad, expiries[i]);
		strcat(bad, ".");
		strcat(bad, sig);
		expect_refused(bad, "alice", NOW, "malformed token");
		free(bad);
	}
}

/* INT64_MAX itself is the largest expiry, and it round-trips. */
static void test_max_expiry(void **state)
{
	char *t = token_mint(SECRET, "alice", INT64_MAX);
	const char *why = NULL;

	(void)state;
	assert_memory_equal(t, "v1.9223372036854775807.", 23);
	assert_int_equal(token_verify(SECRET, "alice", t, NOW, ANY_TTL, &why), 0);
	free(t);
	assert_null(token_mint(SECRET, "alice", -1));
}

/* Empty and missing tokens. */
static void test_empty(void **state)
{
	(void)state;
	expect_refused("", "alice", NOW, "malformed token");
	expect_refused("v1..", "alice", NOW, "malformed token");
	expect_refused(NULL, "alice", NOW, "malformed token");
}

/* Agent ids with the separator in them cannot borrow another's token: the
 * expiry is all digits, so "agent:<id>:<expiry>" splits one way only. */
static void test_agent_id_with_colon(void **state)
{
	char *t = token_mint(SECRET, "a:1", LATER);
	const char *why = NULL;

	(void)state;
	assert_int_equal(token_verify(SECRET, "a:1", t, NOW, ANY_TTL, &why), 0);
	expect_refused(t, "a", NOW, "bad signature");
	free(t);
}

/* secret_equal on equal, different, different-length, empty and NULL. */
static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(secret_equal("gw-secret", "gw-secret"));
	assert_true(secret_equal("", ""));
	assert_false(secret_equal("gw-secret", "gw-secreT"));
	assert_false(secret_equal("gw-secret", "xw-secret"));
	assert_false(secret_equal("gw-secret", "gw-secret2"));
	assert_false(secret_equal("gw-secret", "gw-secre"));
	assert_false(secret_equal("gw-secret", ""));
	assert_false(secret_equal("", "gw-secret"));
	assert_false(secret_equal(NULL, "gw-secret"));
	assert_false(secret_equal("gw-secret", NULL));
	assert_false(secret_equal(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mint_verify),
	    cmocka_unit_test(test_known_vector),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_lifetime_past_the_cap),
	    cmocka_unit_test(test_expired_forgery_is_bad_signature),
	    cmocka_unit_test(test_wrong_agent),
	    cmocka_unit_test(test_wrong_secret),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_truncated_and_extended),
	    cmocka_unit_test(test_bad_hex),
	    cmocka_unit_test(test_bad_prefix),
	    cmocka_unit_test(test_bad_expiry),
	    cmocka_unit_test(test_max_expiry),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_agent_id_with_colon),
	    cmocka_unit_test(test_secret_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

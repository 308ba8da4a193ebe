/* Agent tokens ("v1.<expiry>.<hex HMAC-SHA256>") and gateway secret checks.
 * Parsing is strict so each token has exactly one spelling; the signature is
 * compared in constant time. */
#include "security/token.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/err.h"
#include "util/xalloc.h"

#define TOKEN_PREFIX "v1."
#define TOKEN_PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)
#define TOKEN_MAC_BYTES 32 /* SHA-256 */
#define TOKEN_MAC_HEX (2 * TOKEN_MAC_BYTES)
#define TOKEN_EXPIRY_MAX_DIGITS 20

/* Computes HMAC-SHA256(secret, "agent:<id>:<expiry>"). Returns 0 or -1. */
static int token_mac(const char *secret, const char *agent_id, int64_t expiry,
                     uint8_t mac[TOKEN_MAC_BYTES])
{
	size_t keylen = strlen(secret);
	unsigned int maclen = 0;
	char *msg;
	int rc = -1;

	if (keylen > INT_MAX)
		return -1;
	msg = xasprintf("agent:%s:%" PRId64, agent_id, expiry);
	if (HMAC(EVP_sha256(), secret, (int)keylen, (const unsigned char *)msg, strlen(msg), mac,
	         &maclen) != NULL &&
	    maclen == TOKEN_MAC_BYTES)
		rc = 0;
	free(msg);
	return rc;
}

/* Value of one lowercase hex digit, or -1. Uppercase is refused so a token
 * has one spelling. */
static int token_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Splits a token into its expiry and signature; returns 0, or -1 when it is
 * not exactly "v1.<digits>.<64 lowercase hex>". Only the token's shape is
 * branched on here, which an attacker already knows. */
static int token_parse(const char *token, int64_t *expiry, uint8_t sig[TOKEN_MAC_BYTES])
{
	const char *p;
	int64_t v = 0;
	size_t nd;

	if (strncmp(token, TOKEN_PREFIX, TOKEN_PREFIX_LEN) != 0)
		return -1;
	p = token + TOKEN_PREFIX_LEN;
	for (nd = 0; p[nd] >= '0' && p[nd] <= '9'; nd++) {
		int d = p[nd] - '0';

		if (nd >= TOKEN_EXPIRY_MAX_DIGITS || v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	/* No leading zeros: the signed message spells the expiry canonically,
	 * and "v1.007." must not be a second spelling of "v1.7.". */
	if (nd == 0 || (nd > 1 && p[0] == '0') || p[nd] != '.')
		return -1;
	p += nd + 1;
	for (size_t i = 0; i < TOKEN_MAC_BYTES; i++) {
		int hi, lo;

		/* hi is checked first so p[2i+1] is never read past a NUL. */
		if ((hi = token_hexval(p[2 * i])) < 0 || (lo = token_hexval(p[2 * i + 1])) < 0)
			return -1;
		sig[i] = (uint8_t)(hi << 4 | lo);
	}
	if (p[TOKEN_MAC_HEX] != '\0')
		return -1;
	*expiry = v;
	return 0;
}

/* Mints a token; NULL only for a negative expiry (no token can carry a sign)
 * or if OpenSSL fails. */
char *token_mint(const char *secret, const char *agent_id, int64_t expiry_unix)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[TOKEN_MAC_BYTES];
	char sighex[TOKEN_MAC_HEX + 1];
	char *token;

	if (expiry_unix < 0 || token_mac(secret, agent_id, expiry_unix, mac) != 0)
		return NULL;
	for (size_t i = 0; i < TOKEN_MAC_BYTES; i++) {
		sighex[2 * i] = hex[mac[i] >> 4];
		sighex[2 * i + 1] = hex[mac[i] & 0xf];
	}
	sighex[TOKEN_MAC_HEX] = '\0';
	token = xasprintf(TOKEN_PREFIX "%" PRId64 ".%s", expiry_unix, sighex);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(sighex, sizeof(sighex));
	return token;
}

/* Checks a token: shape, then signature, then expiry and lifetime. The
 * signature comes first so the others are only ever said of a genuine token. */
int token_verify(const char *secret, const char *agent_id, const char *token, int64_t now_unix,
                 int64_t max_ttl_s, const char **why)
{
	uint8_t want[TOKEN_MAC_BYTES], got[TOKEN_MAC_BYTES];
	int64_t expiry;
	int sig_ok;

	if (token == NULL || token_parse(token, &expiry, got) != 0) {
		*why = "malformed token";
		return SB_ERR_UNAUTHENTICATED;
	}
	/* A failed MAC computation fails closed, as a bad signature. */
	sig_ok = token_mac(secret, agent_id, expiry, want) == 0 &&
	         CRYPTO_memcmp(want, got, TOKEN_MAC_BYTES) == 0;
	/* want is a valid signature for this agent and expiry: do not leave it
	 * on the stack. */
	OPENSSL_cleanse(want, sizeof(want));
	if (!sig_ok) {
		*why = "bad signature";
		return SB_ERR_UNAUTHENTICATED;
	}
	/* Valid up to, not at, the expiry second (as JWT "exp"). */
	if (now_unix >= expiry) {
		*why = "token expired";
		return SB_ERR_UNAUTHENTICATED;
	}
	/* expiry > now here, so the difference cannot overflow; the skew is
	 * taken off it rather than added to a cap that may be INT64_MAX. */
	if (expiry - now_unix - TOKEN_CLOCK_SKEW_S > max_ttl_s) {
		*why = "token lives past auth.agent_token_max_ttl_s";
		return SB_ERR_UNAUTHENTICATED;
	}
	return 0;
}

/* SHA-256 of s; returns 0 or -1. */
static int token_digest(const char *s, uint8_t out[TOKEN_MAC_BYTES])
{
	unsigned int n = 0;

	return EVP_Digest(s, strlen(s), out, &n, EVP_sha256(), NULL) == 1 && n == TOKEN_MAC_BYTES
	           ? 0
	           : -1;
}

/* Compares digests rather than the strings, so the comparison takes the same
 * time whatever the lengths and wherever the first difference is. A missing
 * secret never matches, not even another missing one. */
bool secret_equal(const char *a, const char *b)
{
	uint8_t da[TOKEN_MAC_BYTES], db[TOKEN_MAC_BYTES];
	int ok;

	if (a == NULL || b == NULL)
		return false;
	/* Both digests are always computed: no early exit on the first. */
	ok = token_digest(a, da) == 0;
	ok &= token_digest(b, db) == 0;
	ok = ok && CRYPTO_memcmp(da, db, sizeof(da)) == 0;
	OPENSSL_cleanse(da, sizeof(da));
	OPENSSL_cleanse(db, sizeof(db));
	return ok;
}

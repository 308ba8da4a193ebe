/* Credentials: agent tokens and gateway secrets.
 *
 * An agent token is "v1.<expiry unix seconds>.<64 hex chars>" where the hex is
 * HMAC-SHA256(secret, "agent:<agent id>:<expiry>"). It binds the agent id and
 * the expiry; the daemon keeps no token state. Comparisons are constant-time
 * (OpenSSL CRYPTO_memcmp) and never depend on where two strings first differ. */
#ifndef SB_SECURITY_TOKEN_H
#define SB_SECURITY_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

/* Returns a new token string (free()) for agent_id valid until expiry. */
char *token_mint(const char *secret, const char *agent_id, int64_t expiry_unix);

/* Clocks of the host that minted a token and of the one checking it may
 * differ by this much before a fresh token counts as living too long. */
#define TOKEN_CLOCK_SKEW_S 60

/* Returns 0 when token is a well-formed, unexpired token for agent_id under
 * secret that expires at most max_ttl_s (+ TOKEN_CLOCK_SKEW_S) from now: no
 * --mint-token under the current auth.agent_token_max_ttl_s could have made
 * a longer one, so lowering that setting retires longer tokens. Otherwise
 * SB_ERR_UNAUTHENTICATED with *why one of "malformed token", "bad
 * signature", "token expired", "token lives past
 * auth.agent_token_max_ttl_s". */
int token_verify(const char *secret, const char *agent_id, const char *token, int64_t now_unix,
		 int64_t max_ttl_s, const char **why);

/* Constant-time equality of two secrets of any lengths (compares digests, so
 * neither the content nor the length leaks through timing). */
bool secret_equal(const char *a, const char *b);

#endif

/* The WebSocket handshake's one piece of cryptography (RFC 6455 4.2.2):
 * Sec-WebSocket-Accept = base64(SHA-1(key + the protocol's GUID)). Kept
 * beside tls.c so that OpenSSL stays in security/. */
#ifndef SB_WS_ACCEPT_H
#define SB_WS_ACCEPT_H

#include <stddef.h>

/* base64 of a 20-byte digest, and its NUL. */
#define WS_ACCEPT_LEN 29

/* Writes the Sec-WebSocket-Accept value answering key (key_len bytes,
 * as the client sent it) into out. Returns 0, or -1 if OpenSSL failed. */
int ws_accept_value(const char *key, size_t key_len, char out[WS_ACCEPT_LEN]);

#endif

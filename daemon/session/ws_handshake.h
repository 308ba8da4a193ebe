/* The HTTP side of a WebSocket connection (RFC 6455 section 4): the client's
 * Upgrade request is parsed by http-parser (the only user of that library),
 * checked, and answered with 101 Switching Protocols or an HTTP error that
 * names what was wrong. Everything is bounded: the request head may be at
 * most WS_HANDSHAKE_MAX_BYTES, and nothing is allocated for it. */
#ifndef SB_WS_HANDSHAKE_H
#define SB_WS_HANDSHAKE_H

#include <stddef.h>

#include "security/ws_accept.h"

struct evbuffer;

/* A browser sends a few hundred bytes; 8 KiB is what common servers allow
 * for a whole request head. */
#define WS_HANDSHAKE_MAX_BYTES 8192

/* What the daemon answers one request head. */
struct ws_handshake_reply {
	int status;                       /* 101, or 400 / 403 */
	char accept[WS_ACCEPT_LEN];       /* with 101 */
	char why[200];                    /* with an error: the body and the log line */
};

/* Checks one complete request head (through its blank line) against
 * RFC 6455 4.2.1 and the Origin allow-list. An Origin that is present must
 * equal one of origins (ASCII case-insensitively); a request without one
 * comes from a non-browser client and is allowed (a client that can omit it
 * could as well forge it). Fills r; returns 0 for 101, -1 otherwise. */
int ws_handshake_check(const char *head, size_t len, char *const *origins, size_t n_origins,
		       struct ws_handshake_reply *r);

/* Takes the request head from the front of in once it is whole and
 * writes the answer to out. Returns 0 when more bytes are needed, 1 when
 * upgraded (bytes after the head stay in in: they are WebSocket frames),
 * -1 when refused (*why says why; the connection is to be closed once out
 * is flushed). */
int ws_handshake_read(struct evbuffer *in, struct evbuffer *out, char *const *origins,
		      size_t n_origins, char *why, size_t why_len);

#endif

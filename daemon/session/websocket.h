/* The WebSocket transport (RFC 6455) for agents: an HTTP Upgrade
 * (ws_handshake.h), then each binary message carries one Envelope, the same
 * bytes a TCP frame carries after its length prefix. Framing, masking,
 * fragment reassembly, ping/pong and the closing handshake are libwslay's
 * (the only user of that library); this file bounds them and hands whole
 * messages to wire/frame.c, so every message passes the same decoder and
 * string check as a TCP frame.
 *
 * What the peer gets for a broken rule: a text message, close 1003; an
 * unmasked or otherwise malformed frame, 1002; a message over
 * limits.max_frame_bytes (fragments are counted together), 1009; a session
 * that ends with an Error, 1008; shutdown or a redirect, 1001. A ping is
 * answered with a pong. */
#ifndef SB_SESSION_WEBSOCKET_H
#define SB_SESSION_WEBSOCKET_H

#include "session/transport.h"

extern const struct transport_ops transport_websocket;

/* A connection whose first bytes were "GET ": its handshake is still to
 * be read. Owner: the session (transport_websocket.free). */
void *websocket_new(void);

#endif

/* How a session's bytes carry Envelopes. The session layer reads and writes
 * whole Envelopes through these operations and never sees the framing, so
 * Hello, tokens, heartbeats, limits, redelivery and event_id de-duplication
 * are one code path whatever the transport:
 *   - tcp: a 4-byte length, then the Envelope (wire/frame.h);
 *   - websocket: RFC 6455 after an HTTP Upgrade, one binary message per
 *     Envelope (session/websocket.h).
 * Both run over a plain or a TLS bufferevent alike: they see plaintext.
 *
 * Owner: the session holds one transport and frees it with the session. */
#ifndef SB_SESSION_TRANSPORT_H
#define SB_SESSION_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "switchboard.pb-c.h"

struct evbuffer;
struct sb_config;

/* Why the session ends, for a transport that tells the peer in its own
 * terms (a WebSocket close code). */
enum transport_bye {
	TRANSPORT_BYE_ERROR,    /* refused or failed: an Error said why */
	TRANSPORT_BYE_GOING_AWAY, /* shutdown or redirect: try again, elsewhere */
};

/* A read's outcome beside frame_read's: the peer ended the stream in the
 * transport's own terms (a WebSocket close frame). Not an error: the
 * session closes quietly once the transport's reply is flushed. */
#define TRANSPORT_PEER_CLOSED 2

struct transport_ops {
	const char *name; /* "tcp", "websocket": logs and metrics */
	/* frame_read()'s contract: 1 with *env set, 0 when more bytes are
	 * needed, SB_ERR_BAD_FRAME with *why when the stream cannot go on (the
	 * transport may have queued its own goodbye in out: an HTTP error, a
	 * close frame), SB_ERR_INVALID_ARGUMENT for a whole Envelope with a bad
	 * string (*env set), TRANSPORT_PEER_CLOSED with *why. out takes what
	 * the transport must answer by itself (the handshake's reply, a pong,
	 * a close). */
	int (*read)(void *t, struct evbuffer *in, struct evbuffer *out,
		    const struct sb_config *cfg, Switchboard__V1__Envelope **env, const char **why);
	/* Appends env to out. 0, or SB_ERR_INTERNAL when it could not be
	 * queued. A transport that cannot carry Envelopes yet or any more (a
	 * handshake not done, a close sent) drops it and returns 0. */
	int (*write)(void *t, struct evbuffer *out, const Switchboard__V1__Envelope *env);
	/* The session is closing with output still to flush: the transport's
	 * last words (a close frame), reason for a human. May be NULL. */
	void (*bye)(void *t, struct evbuffer *out, enum transport_bye why, const char *reason);
	void (*free)(void *t);
};

/* The length-prefixed TCP framing; it has no state (t is NULL). */
extern const struct transport_ops transport_tcp;

#endif

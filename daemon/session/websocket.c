/* The WebSocket transport over libwslay's event API: see websocket.h. */
#include "session/websocket.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "config/config.h"
#include "metrics.h"
#include "session/ws_handshake.h"
#include "util/err.h"
#include "util/xalloc.h"
#include "wire/frame.h"

enum websocket_state { WS_HANDSHAKE, WS_OPEN, WS_DONE };

/* Owner: the session. */
struct websocket {
	enum websocket_state state;
	bool peer_closed; /* the stream ended with the client's close frame */
	wslay_event_context_ptr ctx; /* from the upgrade on */
	/* Whole binary messages, each with a TCP frame's length prefix, for
	 * frame_read: at most what wslay parsed from one read of its buffer,
	 * as it is fed only while this is empty. */
	struct evbuffer *msgs;
	struct evbuffer *in, *out; /* the session's, during a call into wslay */
	char why[200];             /* why the stream ended, once it did */
};

/* wslay pulls bytes: from the session's input, and only once the messages
 * already taken are handed on, so one read never queues more than wslay's
 * own buffer holds. */
static ssize_t websocket_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
				 void *user)
{
	struct websocket *w = user;
	(void)flags;

	if (evbuffer_get_length(w->msgs) > 0 || w->in == NULL) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	int n = evbuffer_remove(w->in, buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

/* wslay pushes bytes: to the session's output buffer, which takes all
 * (the session's output cap bounds it). */
static ssize_t websocket_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
				 int flags, void *user)
{
	struct websocket *w = user;
	(void)flags;

	if (w->out == NULL || evbuffer_add(w->out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* How much of reason fits a close frame (RFC 6455 5.5: a control frame's
 * payload is at most 125 bytes, 2 of them the code), cut at a character
 * boundary: a close reason must be valid UTF-8. */
static size_t websocket_reason_len(const char *reason)
{
	size_t n = strlen(reason);

	if (n <= 123)
		return n;
	n = 123;
	while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Ends the stream: queues a close frame (code, reason) unless one was,
 * and remembers why for the session's log. */
static void websocket_fail(struct websocket *w, uint16_t code, const char *reason)
{
	if (w->why[0] == '\0')
		snprintf(w->why, sizeof w->why, "%s", reason);
	wslay_event_queue_close(w->ctx, code, (const uint8_t *)reason,
				websocket_reason_len(reason));
	wslay_event_shutdown_read(w->ctx);
}

/* A text frame is refused as it starts, before its payload is buffered. */
static void websocket_on_frame_start(wslay_event_context_ptr ctx,
				     const struct wslay_event_on_frame_recv_start_arg *arg,
				     void *user)
{
	(void)ctx;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		websocket_fail(user, WSLAY_CODE_UNSUPPORTED_DATA,
			       "text frames are not accepted: send each Envelope as one binary"
			       " message");
}

/* A whole message: a binary one becomes a length-prefixed frame for
 * frame_read; a close ends the stream (wslay has queued the reply). */
static void websocket_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
			     void *user)
{
	struct websocket *w = user;
	(void)ctx;

	if (arg->opcode == WSLAY_BINARY_FRAME) {
		uint8_t hdr[FRAME_HEADER_BYTES] = {
			(uint8_t)(arg->msg_length >> 24), (uint8_t)(arg->msg_length >> 16),
			(uint8_t)(arg->msg_length >> 8), (uint8_t)arg->msg_length,
		};
		evbuffer_add(w->msgs, hdr, sizeof hdr);
		evbuffer_add(w->msgs, arg->msg, arg->msg_length);
	} else if (arg->opcode == WSLAY_CONNECTION_CLOSE && w->why[0] == '\0') {
		snprintf(w->why, sizeof w->why, "the client closed the WebSocket (code %u)",
			 (unsigned)arg->status_code);
		w->peer_closed = true;
	}
}

void *websocket_new(void)
{
	struct websocket *w = xcalloc(1, sizeof *w);

	w->msgs = evbuffer_new();
	if (w->msgs == NULL)
		abort(); /* the x-allocators' policy */
	return w;
}

/* Starts the WebSocket layer once the 101 is written. */
static void websocket_open(struct websocket *w)
{
	static const struct wslay_event_callbacks callbacks = {
		.recv_callback = websocket_recv_cb,
		.send_callback = websocket_send_cb,
		.on_frame_recv_start_callback = websocket_on_frame_start,
		.on_msg_recv_callback = websocket_on_msg,
	};

	if (wslay_event_context_server_init(&w->ctx, &callbacks, w) != 0)
		abort(); /* only WSLAY_ERR_NOMEM */
	w->state = WS_OPEN;
}

/* Sends what wslay queued (a pong, a close) into out. */
static void websocket_flush(struct websocket *w, struct evbuffer *out)
{
	w->out = out;
	wslay_event_send(w->ctx);
	w->out = NULL;
}

/* Why wslay stopped reading, when it did on its own (it queued the close). */
static void websocket_read_stopped(struct websocket *w)
{
	if (w->why[0] != '\0')
		return;
	switch (wslay_event_get_status_code_sent(w->ctx)) {
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		snprintf(w->why, sizeof w->why, "WebSocket message over limits.max_frame_bytes");
		break;
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		snprintf(w->why, sizeof w->why, "WebSocket frame with invalid UTF-8");
		break;
	default:
		snprintf(w->why, sizeof w->why,
			 "WebSocket protocol error: an unmasked, reserved-bit or out-of-order frame");
		break;
	}
}

static int websocket_read(void *t, struct evbuffer *in, struct evbuffer *out,
			  const struct sb_config *cfg, Switchboard__V1__Envelope **env,
			  const char **why)
{
	struct websocket *w = t;
	size_t max = (size_t)cfg->max_frame_bytes;

	*env = NULL;
	if (w->state == WS_HANDSHAKE) {
		int rc = ws_handshake_read(in, out, cfg->websocket_allowed_origins,
					   cfg->n_websocket_allowed_origins, w->why, sizeof w->why);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			w->state = WS_DONE;
			*why = w->why;
			return SB_ERR_BAD_FRAME;
		}
		websocket_open(w);
	}
	if (w->state == WS_DONE) {
		*why = w->why;
		return w->peer_closed ? TRANSPORT_PEER_CLOSED : SB_ERR_BAD_FRAME;
	}
	/* Messages already taken come first: they arrived before the rest. */
	int rc = frame_read(w->msgs, max, env, why);
	if (rc != 0)
		return rc;
	/* A reload may change the cap: it applies to the next message. */
	wslay_event_config_set_max_recv_msg_length(w->ctx, max);
	w->in = in;
	int wrc = wslay_event_recv(w->ctx);
	w->in = NULL;
	websocket_flush(w, out);
	rc = frame_read(w->msgs, max, env, why);
	if (rc != 0)
		return rc;
	if (wrc != 0 || !wslay_event_get_read_enabled(w->ctx)) {
		websocket_read_stopped(w);
		w->state = WS_DONE;
		*why = w->why;
		return w->peer_closed ? TRANSPORT_PEER_CLOSED : SB_ERR_BAD_FRAME;
	}
	return 0;
}

static int websocket_write(void *t, struct evbuffer *out, const Switchboard__V1__Envelope *env)
{
	struct websocket *w = t;

	if (w->ctx == NULL || !wslay_event_get_write_enabled(w->ctx) ||
	    wslay_event_get_close_sent(w->ctx))
		return 0;
	size_t n = switchboard__v1__envelope__get_packed_size(env);
	if (n == 0)
		return SB_ERR_INTERNAL; /* as frame_write: an empty frame is refused */
	uint8_t *buf = xmalloc(n);
	switchboard__v1__envelope__pack(env, buf);
	struct wslay_event_msg msg = { .opcode = WSLAY_BINARY_FRAME, .msg = buf, .msg_length = n };
	/* wslay copies the message; NO_MORE_MSG means a close went first. */
	int rc = wslay_event_queue_msg(w->ctx, &msg);
	free(buf);
	if (rc == WSLAY_ERR_NO_MORE_MSG)
		return 0;
	if (rc != 0)
		return SB_ERR_INTERNAL;
	websocket_flush(w, out);
	metrics_frame_sent();
	return 0;
}

static void websocket_bye(void *t, struct evbuffer *out, enum transport_bye why, const char *reason)
{
	struct websocket *w = t;

	if (w->ctx == NULL || wslay_event_get_close_sent(w->ctx))
		return;
	wslay_event_queue_close(w->ctx,
				why == TRANSPORT_BYE_GOING_AWAY ? WSLAY_CODE_GOING_AWAY
								: WSLAY_CODE_POLICY_VIOLATION,
				(const uint8_t *)reason, websocket_reason_len(reason));
	websocket_flush(w, out);
}

static void websocket_free(void *t)
{
	struct websocket *w = t;

	if (w == NULL)
		return;
	if (w->ctx != NULL)
		wslay_event_context_free(w->ctx);
	evbuffer_free(w->msgs);
	free(w);
}

const struct transport_ops transport_websocket = {
	.name = "websocket",
	.read = websocket_read,
	.write = websocket_write,
	.bye = websocket_bye,
	.free = websocket_free,
};

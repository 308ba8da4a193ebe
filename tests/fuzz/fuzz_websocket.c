/* libFuzzer target for the WebSocket path: the input is what a client
 * sends on the agent port after "GET " was seen: an HTTP Upgrade request
 * (http-parser, the Origin check), then WebSocket frames (libwslay's
 * reader, fragment reassembly under limits.max_frame_bytes, control
 * frames), each binary message going through frame_read's decoder. The
 * first input byte sets the size of the pieces the rest arrives in, so the
 * incremental paths (a head or a frame split across reads) run too.
 * Checks: the transport never answers anything but HTTP before the
 * upgrade, every Envelope it yields re-encodes, and the session's own
 * sends and goodbye work in whatever state the input left it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "config/config.h"
#include "fuzz.h"
#include "session/websocket.h"
#include "session/ws_handshake.h"
#include "util/err.h"
#include "wire/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char origin[] = "https://desk.example.com";
	static char *origins[] = { origin };
	struct sb_config cfg;
	struct ws_handshake_reply reply;

	if (size < 1)
		return 0;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_frame_bytes = 4096; /* small, so that 1009 is reachable */
	cfg.websocket_allowed_origins = origins;
	cfg.n_websocket_allowed_origins = 1;
	size_t piece = (size_t)data[0] % 64 + 1;
	data++;
	size--;

	/* The parser alone, on the whole input as one head. */
	int hs = ws_handshake_check((const char *)data, size, origins, 1, &reply);
	FUZZ_CHECK(hs == 0 ? reply.status == 101 : reply.status >= 400);

	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	void *t = websocket_new();
	const struct transport_ops *ops = &transport_websocket;
	bool failed = false, upgraded = false;
	FUZZ_CHECK(in != NULL && out != NULL);
	for (size_t off = 0; off < size && !failed; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		FUZZ_CHECK(evbuffer_add(in, data + off, n) == 0);
		for (;;) {
			Envelope *env = NULL;
			const char *why = NULL;
			int rc = ops->read(t, in, out, &cfg, &env, &why);
			if (!upgraded && evbuffer_get_length(out) >= 12) {
				/* Nothing but HTTP can precede the upgrade. */
				char head[12];
				evbuffer_copyout(out, head, sizeof head);
				FUZZ_CHECK(memcmp(head, "HTTP/1.1 ", 9) == 0);
				upgraded = memcmp(head + 9, "101", 3) == 0;
			}
			if (rc == 0)
				break;
			if (rc == 1 || rc == SB_ERR_INVALID_ARGUMENT) {
				FUZZ_CHECK(env != NULL);
				FUZZ_CHECK(envelope_sender(env->body_case) != ENVELOPE_SENDER_UNKNOWN);
				/* What the session answers goes out as a message. */
				FUZZ_CHECK(ops->write(t, out, env) == 0);
				envelope_free(env);
				continue;
			}
			FUZZ_CHECK((rc == SB_ERR_BAD_FRAME || rc == TRANSPORT_PEER_CLOSED) &&
				   why != NULL && why[0] != '\0');
			FUZZ_CHECK(env == NULL);
			/* An unknown body keeps the stream in step, as over TCP. */
			if (envelope_is_unknown_body(why))
				continue;
			failed = true;
			break;
		}
	}
	ops->bye(t, out, TRANSPORT_BYE_ERROR, "fuzz: the end");
	ops->free(t);
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}

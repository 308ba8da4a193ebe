/* The TCP transport: wire/frame.c's length-prefixed Envelopes. */
#include "session/transport.h"

#include "config/config.h"
#include "wire/frame.h"

/* One length-prefixed frame from in, capped by limits.max_frame_bytes. */
static int transport_tcp_read(void *t, struct evbuffer *in, struct evbuffer *out,
			      const struct sb_config *cfg, Switchboard__V1__Envelope **env,
			      const char **why)
{
	(void)t;
	(void)out;
	return frame_read(in, (size_t)cfg->max_frame_bytes, env, why);
}

/* Appends env as one length-prefixed frame. */
static int transport_tcp_write(void *t, struct evbuffer *out, const Switchboard__V1__Envelope *env)
{
	(void)t;
	return frame_write(out, env);
}

const struct transport_ops transport_tcp = {
	.name = "tcp",
	.read = transport_tcp_read,
	.write = transport_tcp_write,
	.bye = NULL,
	.free = NULL,
};

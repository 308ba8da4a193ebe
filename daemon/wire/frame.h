/* Framing: a 4-byte big-endian length, then one serialized Envelope.
 * This file and envelope.c are the only places that know the bytes.
 *
 * Every reader checks the announced length against the configured maximum
 * before it allocates or waits for the payload, so a hostile length costs
 * nothing. */
#ifndef SB_WIRE_FRAME_H
#define SB_WIRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "switchboard.pb-c.h"

struct evbuffer;

#define FRAME_HEADER_BYTES 4

/* Takes one frame from the front of buf if a whole one is there.
 * Returns 1 and sets *out (free with envelope_free) when a frame was taken;
 * 0 when more bytes are needed (nothing consumed); SB_ERR_BAD_FRAME with
 * *why set to a static reason when the length is 0 or above max_frame, or
 * the payload is not a valid Envelope with a body (the bad frame's bytes are
 * consumed when the length was in bounds); SB_ERR_INVALID_ARGUMENT when the
 * frame decodes but a string field in it is not valid UTF-8 or holds a NUL
 * (wire/strings.h): the frame is consumed, *why names the field and *out is
 * set all the same (free it), so the request can be refused by its seq. */
int frame_read(struct evbuffer *buf, size_t max_frame, Switchboard__V1__Envelope **out,
	       const char **why);

/* The same over a flat buffer (blocking client, fuzzer): on 1, *used is the
 * number of bytes the frame took. */
int frame_parse(const uint8_t *data, size_t len, size_t max_frame, Switchboard__V1__Envelope **out,
		size_t *used, const char **why);

/* Appends env to buf as one frame. Returns 0, or SB_ERR_INTERNAL if
 * libevent could not reserve the space. */
int frame_write(struct evbuffer *buf, const Switchboard__V1__Envelope *env);

/* Encodes env as one frame into a new buffer (free()). Returns its length. */
size_t frame_encode(const Switchboard__V1__Envelope *env, uint8_t **out);

#endif

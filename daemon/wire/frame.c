/* Length framing: a 4-byte big-endian length, then one Envelope. The length
 * is checked against the cap before anything is allocated or awaited. */
#include "wire/frame.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "util/err.h"
#include "metrics.h"
#include "wire/envelope.h"
#include "wire/strings.h"
#include "util/xalloc.h"

/* The out-of-bounds reason names both numbers and a bad string's reason its
 * field, so neither can be a literal. It lives until the next
 * frame_read/frame_parse on this thread, which is long enough for the
 * caller to log it and put it in an Error. */
static _Thread_local char frame_why_buf[160];

/* Reads the big-endian length at the front of a frame. */
static uint32_t frame_get_length(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Writes the big-endian length at the front of a frame. */
static void frame_put_length(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

/* Refuses a length of 0 or above max_frame; returns 0 when it is in bounds. */
static int frame_check_length(uint32_t n, size_t max_frame, const char **why)
{
	if (n == 0) {
		*why = "frame length 0";
		return SB_ERR_BAD_FRAME;
	}
	if (n > max_frame) {
		snprintf(frame_why_buf, sizeof(frame_why_buf), "frame length %lu exceeds limit %zu",
		         (unsigned long)n, max_frame);
		*why = frame_why_buf;
		return SB_ERR_BAD_FRAME;
	}
	return 0;
}

/* Decodes one frame's payload: the one place every inbound message passes,
 * so no body can miss the string check. Returns 1, SB_ERR_BAD_FRAME (*out
 * NULL) or SB_ERR_INVALID_ARGUMENT (*out kept for its seq and body). */
static int frame_decode(const uint8_t *p, size_t n, Switchboard__V1__Envelope **out,
			const char **why)
{
	int rc;

	*out = envelope_unpack(p, n, why);
	if (*out == NULL)
		return SB_ERR_BAD_FRAME;
	rc = wire_check_strings(&switchboard__v1__envelope__descriptor, p, n, frame_why_buf,
				sizeof(frame_why_buf));
	if (rc == 0)
		return 1;
	*why = frame_why_buf;
	if (rc != SB_ERR_INVALID_ARGUMENT) {
		/* protobuf-c took bytes the walk could not: refuse them alike. */
		envelope_free(*out);
		*out = NULL;
		return SB_ERR_BAD_FRAME;
	}
	return rc;
}

/* Takes one frame from the front of an evbuffer if a whole one is there. */
int frame_read(struct evbuffer *buf, size_t max_frame, Switchboard__V1__Envelope **out,
               const char **why)
{
	uint8_t hdr[FRAME_HEADER_BYTES];
	const char *ignored;
	const uint8_t *p;
	size_t have;
	uint32_t n;
	int rc;

	*out = NULL;
	if (why == NULL)
		why = &ignored;
	have = evbuffer_get_length(buf);
	if (have < FRAME_HEADER_BYTES)
		return 0;
	if (evbuffer_copyout(buf, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr)) {
		*why = "frame header unreadable";
		return SB_ERR_BAD_FRAME;
	}
	n = frame_get_length(hdr);
	if ((rc = frame_check_length(n, max_frame, why)) != 0)
		return rc;
	/* Written as a subtraction so a 4 GiB length cannot wrap size_t on a
	 * 32-bit build. */
	if (have - FRAME_HEADER_BYTES < n)
		return 0;
	/* Already contiguous in the common case (the frame sits in one chain),
	 * where pullup returns a pointer without copying; only a frame that
	 * straddles chains is linearized, and it is in bounds by now. */
	p = evbuffer_pullup(buf, (ev_ssize_t)(FRAME_HEADER_BYTES + (size_t)n));
	if (p == NULL) {
		*why = "frame pullup failed";
		return SB_ERR_BAD_FRAME;
	}
	rc = frame_decode(p + FRAME_HEADER_BYTES, n, out, why);
	/* Consumed whether or not it decoded: the bad frame's bounds were
	 * sound, so the stream stays in step and the caller may keep the
	 * connection (an unknown body from a newer peer, a bad string). */
	evbuffer_drain(buf, FRAME_HEADER_BYTES + (size_t)n);
	return rc;
}

/* frame_read over flat bytes. On SB_ERR_BAD_FRAME *used is what frame_read
 * would have consumed: the frame's size when its length was in bounds, else
 * 0; on 0 it is 0; on 1 and SB_ERR_INVALID_ARGUMENT the frame's size. */
int frame_parse(const uint8_t *data, size_t len, size_t max_frame, Switchboard__V1__Envelope **out,
                size_t *used, const char **why)
{
	const char *ignored;
	uint32_t n;
	int rc;

	*out = NULL;
	*used = 0;
	if (why == NULL)
		why = &ignored;
	if (len < FRAME_HEADER_BYTES)
		return 0;
	n = frame_get_length(data);
	if ((rc = frame_check_length(n, max_frame, why)) != 0)
		return rc;
	if (len - FRAME_HEADER_BYTES < n)
		return 0;
	*used = FRAME_HEADER_BYTES + (size_t)n;
	return frame_decode(data + FRAME_HEADER_BYTES, n, out, why);
}

/* The payload size of env, or 0 when it cannot be framed (length field
 * overflow: only a bug could build a 4 GiB envelope). */
static size_t frame_payload_size(const Switchboard__V1__Envelope *env)
{
	size_t n = switchboard__v1__envelope__get_packed_size(env);

	return n <= UINT32_MAX ? n : 0;
}

/* Appends env as one frame, packing straight into the evbuffer's own
 * memory so the bytes are written once. */
int frame_write(struct evbuffer *buf, const Switchboard__V1__Envelope *env)
{
	struct evbuffer_iovec vec;
	size_t n, total;
	uint8_t *p;

	n = frame_payload_size(env);
	/* An empty envelope packs to 0 bytes, which every reader refuses as
	 * "frame length 0"; sending it would only get this side disconnected. */
	if (n == 0)
		return SB_ERR_INTERNAL;
	total = FRAME_HEADER_BYTES + n;
	/* With one iovec libevent guarantees a single contiguous extent. */
	if (evbuffer_reserve_space(buf, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total)
		return SB_ERR_INTERNAL;
	p = vec.iov_base;
	frame_put_length(p, (uint32_t)n);
	if (switchboard__v1__envelope__pack(env, p + FRAME_HEADER_BYTES) != n)
		return SB_ERR_INTERNAL; /* uncommitted space is simply not used */
	vec.iov_len = total;
	if (evbuffer_commit_space(buf, &vec, 1) != 0)
		return SB_ERR_INTERNAL;
	metrics_frame_sent();
	return 0;
}

/* Encodes env as one frame into a new buffer for blocking writers. */
size_t frame_encode(const Switchboard__V1__Envelope *env, uint8_t **out)
{
	size_t n, total;
	uint8_t *p;

	n = switchboard__v1__envelope__get_packed_size(env);
	if (n > UINT32_MAX)
		abort(); /* see frame_payload_size: a bug, not input */
	total = FRAME_HEADER_BYTES + n;
	p = xmalloc(total);
	frame_put_length(p, (uint32_t)n);
	switchboard__v1__envelope__pack(env, p + FRAME_HEADER_BYTES);
	*out = p;
	return total;
}

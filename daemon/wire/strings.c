/* Walks protobuf wire bytes by the generated descriptors and checks each
 * string field's bytes: UTF-8 by utf8proc, and no NUL. See strings.h. */
#include "wire/strings.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <utf8proc.h>

#include "util/err.h"

/* Far beyond this schema's nesting (Envelope > SubmitContact > Customer):
 * only a hostile or broken peer goes deeper, and recursion stays bounded. */
#define WIRE_MAX_DEPTH 16
/* protobuf-c reads a tag or a length from at most 5 bytes and a varint
 * value from at most 10; reading the same keeps both on the same fields. */
#define WIRE_TAG_MAX_BYTES 5
#define WIRE_VARINT_MAX_BYTES 10
#define WIRE_FIXED64_BYTES 8
#define WIRE_FIXED32_BYTES 4

/* One message being walked, and the field of it being looked into. */
struct wire_level {
	const uint8_t *data; /* the message's bytes */
	size_t len;
	const ProtobufCFieldDescriptor *field;
	size_t field_at; /* offset of that field's tag in data */
};

struct wire_walk {
	struct wire_level lv[WIRE_MAX_DEPTH];
	char *msg;
	size_t msglen;
};

/* Reads a varint of at most max bytes at *pos; returns 0 and moves *pos past
 * it, or -1 when it runs past len or past max bytes. */
static int wire_varint(const uint8_t *data, size_t len, size_t *pos, size_t max, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < max && *pos + i < len; i++) {
		uint8_t b = data[*pos + i];

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*pos += i + 1;
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* Moves *pos past one field's value of wire type wt, setting *body and
 * *body_len for a length-delimited one. Returns 0, or -1 when the value is
 * cut short or wt is a group or no wire type at all (protobuf-c refuses
 * groups too). */
static int wire_skip_value(const uint8_t *data, size_t len, size_t *pos, unsigned wt,
			   const uint8_t **body, size_t *body_len)
{
	uint64_t v;

	switch (wt) {
	case PROTOBUF_C_WIRE_TYPE_VARINT:
		return wire_varint(data, len, pos, WIRE_VARINT_MAX_BYTES, &v);
	case PROTOBUF_C_WIRE_TYPE_64BIT:
		if (len - *pos < WIRE_FIXED64_BYTES)
			return -1;
		*pos += WIRE_FIXED64_BYTES;
		return 0;
	case PROTOBUF_C_WIRE_TYPE_32BIT:
		if (len - *pos < WIRE_FIXED32_BYTES)
			return -1;
		*pos += WIRE_FIXED32_BYTES;
		return 0;
	case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
		if (wire_varint(data, len, pos, WIRE_TAG_MAX_BYTES, &v) != 0)
			return -1;
		/* protobuf-c keeps the low 32 bits of a 5-byte length. */
		v = (uint32_t)v;
		if (v > len - *pos)
			return -1;
		*body = data + *pos;
		*body_len = (size_t)v;
		*pos += (size_t)v;
		return 0;
	default:
		return -1;
	}
}

/* Reads the tag at *pos: its field number and wire type. */
static int wire_tag(const uint8_t *data, size_t len, size_t *pos, uint32_t *number, unsigned *wt)
{
	uint64_t tag;

	if (wire_varint(data, len, pos, WIRE_TAG_MAX_BYTES, &tag) != 0)
		return -1;
	/* At most 35 bits, so the number fits 32 (as protobuf-c reads it). */
	*number = (uint32_t)(tag >> 3);
	*wt = (unsigned)(tag & 7);
	return 0;
}

/* How many times lv's field occurs before the occurrence being looked
 * into: its index among a repeated field's elements. The bytes before it
 * were walked already, so they parse. */
static size_t wire_index(const struct wire_level *lv)
{
	size_t pos = 0, n = 0;

	while (pos < lv->field_at) {
		const uint8_t *body = NULL;
		size_t body_len = 0;
		uint32_t number;
		unsigned wt;

		if (wire_tag(lv->data, lv->len, &pos, &number, &wt) != 0 ||
		    wire_skip_value(lv->data, lv->len, &pos, wt, &body, &body_len) != 0)
			break;
		if (number == lv->field->id)
			n++;
	}
	return n;
}

/* Appends to msg at *off, never past its end. */
static void wire_append(struct wire_walk *w, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wire_append(struct wire_walk *w, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= w->msglen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->msg + *off, w->msglen - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/* Reports the string at depth as bad: its path, then what is wrong. */
static int wire_bad_string(struct wire_walk *w, size_t depth, const char *what)
{
	size_t off = 0;

	for (size_t i = 0; i <= depth; i++) {
		const struct wire_level *lv = &w->lv[i];

		wire_append(w, &off, "%s%s", i > 0 ? "." : "", lv->field->name);
		if (lv->field->label == PROTOBUF_C_LABEL_REPEATED)
			wire_append(w, &off, "[%zu]", wire_index(lv));
	}
	wire_append(w, &off, " %s", what);
	return SB_ERR_INVALID_ARGUMENT;
}

/* Reports bytes that are not wire format. */
static int wire_malformed(struct wire_walk *w, const char *what)
{
	snprintf(w->msg, w->msglen, "undecodable envelope: %s", what);
	return SB_ERR_BAD_FRAME;
}

/* The string field at depth: valid UTF-8 without NUL, or reported. */
static int wire_string(struct wire_walk *w, size_t depth, const uint8_t *s, size_t n)
{
	while (n > 0) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t used;

		/* ASCII needs no decoder, and ids and names are mostly ASCII. */
		if (*s > 0 && *s < 0x80) {
			s++;
			n--;
			continue;
		}
		used = utf8proc_iterate(s, (utf8proc_ssize_t)n, &cp);
		if (used <= 0)
			return wire_bad_string(w, depth, "is not valid UTF-8");
		if (cp == 0)
			return wire_bad_string(w, depth, "contains a NUL character");
		s += used;
		n -= (size_t)used;
	}
	return 0;
}

/* Walks one message of type desc at depth. */
static int wire_message(struct wire_walk *w, size_t depth, const ProtobufCMessageDescriptor *desc,
			const uint8_t *data, size_t len)
{
	struct wire_level *lv = &w->lv[depth];
	size_t pos = 0;

	lv->data = data;
	lv->len = len;
	while (pos < len) {
		const ProtobufCFieldDescriptor *f;
		const uint8_t *body = NULL;
		size_t at = pos, body_len = 0;
		uint32_t number;
		unsigned wt;
		int rc;

		if (wire_tag(data, len, &pos, &number, &wt) != 0)
			return wire_malformed(w, "a field tag is cut short");
		if (wire_skip_value(data, len, &pos, wt, &body, &body_len) != 0)
			return wire_malformed(w, "a field is cut short or of no known wire type");
		/* Only a length-delimited value can be a string or a message;
		 * a known field sent with another wire type is protobuf-c's to
		 * refuse. */
		if (wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			continue;
		f = protobuf_c_message_descriptor_get_field(desc, number);
		if (f == NULL)
			continue;
		lv->field = f;
		lv->field_at = at;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			rc = wire_string(w, depth, body, body_len);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth + 1 >= WIRE_MAX_DEPTH)
				return wire_malformed(w, "messages nested too deep");
			rc = wire_message(w, depth + 1, f->descriptor, body, body_len);
		} else {
			rc = 0; /* bytes, or packed numbers */
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

int wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		       char *msg, size_t msglen)
{
	struct wire_walk w = { .msg = msg, .msglen = msglen };

	if (msglen > 0)
		msg[0] = '\0';
	return wire_message(&w, 0, desc, data, len);
}

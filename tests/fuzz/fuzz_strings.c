/* libFuzzer target for the wire string check (wire/strings.c). The input is
 * one Envelope's bytes, unframed. Beyond "no crash, no leak, no UB":
 * - the answer is 0, INVALID_ARGUMENT or BAD_FRAME, with a terminated
 *   message, and a refusal names a path starting at an Envelope field;
 * - what protobuf-c decodes, the walk can walk (never BAD_FRAME then);
 * - when the walk passes and protobuf-c decodes, every string protobuf-c
 *   produced is valid UTF-8: the walk saw every string the decoder did;
 * - frame_parse over the same bytes answers what the two steps say. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "fuzz.h"
#include "util/err.h"
#include "wire/envelope.h"
#include "wire/frame.h"
#include "wire/strings.h"

#define FUZZ_MAX_FRAME 65536

/* Whether a NUL-terminated string (as protobuf-c hands it over) is UTF-8. */
static int fuzz_utf8(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(s);

	while (n > 0) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t used = utf8proc_iterate(p, n, &cp);

		if (used <= 0)
			return 0;
		p += used;
		n -= used;
	}
	return 1;
}

static void fuzz_decoded_strings(const ProtobufCMessage *m);

/* One value of field f: a string is checked, a message walked. */
static void fuzz_decoded_value(const ProtobufCFieldDescriptor *f, const void *v)
{
	if (v == NULL)
		return;
	if (f->type == PROTOBUF_C_TYPE_STRING)
		FUZZ_CHECK(fuzz_utf8(v));
	else
		fuzz_decoded_strings(v);
}

/* Every string in a decoded message, by its descriptor. */
static void fuzz_decoded_strings(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* A oneof member's pointer is only the member's when it is the case set. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			void *const *v = *(void *const *const *)(const void *)(base + f->offset);

			for (size_t j = 0; j < n; j++)
				fuzz_decoded_value(f, v[j]);
		} else {
			fuzz_decoded_value(f, *(void *const *)(const void *)(base + f->offset));
		}
	}
}

/* Whether msg starts with the name of one of the Envelope's fields. */
static int fuzz_names_envelope_field(const char *msg)
{
	const ProtobufCMessageDescriptor *d = &switchboard__v1__envelope__descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		size_t n = strlen(d->fields[i].name);

		if (strncmp(msg, d->fields[i].name, n) == 0 &&
		    (msg[n] == '.' || msg[n] == ' ' || msg[n] == '['))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[160];
	ProtobufCMessage *decoded;
	Envelope *env = NULL;
	const char *why = NULL;
	size_t used = 0;
	int rc, want, got;

	if (size > FUZZ_MAX_FRAME)
		return 0;
	memset(msg, 'x', sizeof msg);
	rc = wire_check_strings(&switchboard__v1__envelope__descriptor, data, size, msg,
				sizeof msg);
	FUZZ_CHECK(rc == 0 || rc == SB_ERR_INVALID_ARGUMENT || rc == SB_ERR_BAD_FRAME);
	FUZZ_CHECK(memchr(msg, '\0', sizeof msg) != NULL);
	if (rc == SB_ERR_INVALID_ARGUMENT)
		FUZZ_CHECK(fuzz_names_envelope_field(msg));

	decoded = protobuf_c_message_unpack(&switchboard__v1__envelope__descriptor, NULL, size,
					    data);
	if (decoded != NULL) {
		FUZZ_CHECK(rc != SB_ERR_BAD_FRAME);
		if (rc == 0)
			fuzz_decoded_strings(decoded);
		protobuf_c_message_free_unpacked(decoded, NULL);
	}

	/* The frame decoder is the two steps together. */
	if (size == 0)
		return 0;
	uint8_t *frame = malloc(size + FRAME_HEADER_BYTES);
	FUZZ_CHECK(frame != NULL);
	frame[0] = (uint8_t)(size >> 24);
	frame[1] = (uint8_t)(size >> 16);
	frame[2] = (uint8_t)(size >> 8);
	frame[3] = (uint8_t)size;
	memcpy(frame + FRAME_HEADER_BYTES, data, size);
	Envelope *alone = envelope_unpack(data, size, &why);
	want = alone == NULL ? SB_ERR_BAD_FRAME : rc == 0 ? 1 : rc;
	envelope_free(alone);
	got = frame_parse(frame, size + FRAME_HEADER_BYTES, FUZZ_MAX_FRAME, &env, &used, &why);
	FUZZ_CHECK(got == want);
	FUZZ_CHECK(used == size + FRAME_HEADER_BYTES);
	FUZZ_CHECK((env != NULL) == (got == 1 || got == SB_ERR_INVALID_ARGUMENT));
	if (got == SB_ERR_INVALID_ARGUMENT)
		FUZZ_CHECK(why != NULL && strcmp(why, msg) == 0);
	envelope_free(env);
	free(frame);
	return 0;
}

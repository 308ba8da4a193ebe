/* The strings of an inbound message, checked on the wire bytes.
 *
 * protobuf-c checks neither UTF-8 nor NULs, and it hands strings over as
 * NUL-terminated char *, so "A\0one" and "A\0two" both arrive as "A" and a
 * string's real length is gone once a message is unpacked. The check must
 * therefore walk the bytes, guided by the generated descriptors. */
#ifndef SB_WIRE_STRINGS_H
#define SB_WIRE_STRINGS_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Checks every string field of the message of type desc encoded in
 * data[0..len), and of every message in it (repeated ones and map entries
 * included): each must be valid UTF-8 (no overlong forms, no surrogates,
 * nothing cut short) and hold no U+0000. Fields desc does not know are
 * skipped, as protobuf-c skips them.
 *
 * Returns 0 when every string is sound. Returns SB_ERR_INVALID_ARGUMENT
 * with msg naming the first bad field by its path,
 * "submit_contact.attributes[1].value is not valid UTF-8" or
 * "submit_contact.external_id contains a NUL character". Returns
 * SB_ERR_BAD_FRAME with msg saying so when the bytes are not protobuf wire
 * format (cut short, a group, nested too deep). msg is always terminated. */
int wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		       char *msg, size_t msglen);

#endif

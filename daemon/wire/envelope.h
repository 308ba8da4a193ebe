/* The Envelope: decoding with the checks protobuf-c does not make, and what
 * each body is for (who may send it), so sessions can refuse the wrong role
 * and unknown bodies with one lookup. */
#ifndef SB_WIRE_ENVELOPE_H
#define SB_WIRE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard.pb-c.h"

typedef Switchboard__V1__Envelope Envelope;

enum envelope_sender {
	ENVELOPE_SENDER_UNKNOWN, /* a body this daemon does not know */
	ENVELOPE_SENDER_ANY_CLIENT, /* Hello, Ping */
	ENVELOPE_SENDER_GATEWAY,  /* SubmitContact, CancelContact */
	ENVELOPE_SENDER_AGENT,    /* SetState, AcceptOffer, ... */
	ENVELOPE_SENDER_DAEMON,   /* Welcome, Offer, ContactAssigned, ... */
};

/* Decodes len bytes as an Envelope. Returns NULL with *why set when the
 * bytes do not decode or no body is set. */
Envelope *envelope_unpack(const uint8_t *data, size_t len, const char **why);
void envelope_free(Envelope *env);

/* True when why (from envelope_unpack, frame_read or frame_parse) says the
 * body is one this build does not know, e.g. from a newer peer: answer
 * BAD_FRAME and keep the connection. Every other decoding failure closes it. */
bool envelope_is_unknown_body(const char *why);

/* Who may send a body; ENVELOPE_SENDER_UNKNOWN for an unknown case. */
enum envelope_sender envelope_sender(Switchboard__V1__Envelope__BodyCase body);
/* "submit_contact", ... for logs; "unknown" otherwise. */
const char *envelope_body_name(Switchboard__V1__Envelope__BodyCase body);

#endif

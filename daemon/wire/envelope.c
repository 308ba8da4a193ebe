/* The Envelope: protobuf-c decoding plus the checks it does not make, and
 * one table saying what each body is called and who may send it. */
#include "wire/envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define ENVELOPE_WHY_UNDECODABLE "undecodable envelope"
#define ENVELOPE_WHY_NO_BODY "envelope has no body"

/* Callers tell this reason from the others with envelope_is_unknown_body(). */
static const char envelope_why_unknown[] = "unknown message body";

struct envelope_body {
	const char *name; /* the proto field name, NULL for a number we do not know */
	enum envelope_sender sender;
};

/* Indexed by body case (the proto field number). tests/unit/test_envelope.c
 * walks the generated descriptor, so a body added to the proto and not here
 * fails the build's tests rather than being routed as "unknown". */
static const struct envelope_body envelope_bodies[] = {
    [SWITCHBOARD__V1__ENVELOPE__BODY_HELLO] = {"hello", ENVELOPE_SENDER_ANY_CLIENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME] = {"welcome", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_PING] = {"ping", ENVELOPE_SENDER_ANY_CLIENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_PONG] = {"pong", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_ERROR] = {"error", ENVELOPE_SENDER_DAEMON},

    [SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT] = {"submit_contact", ENVELOPE_SENDER_GATEWAY},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CANCEL_CONTACT] = {"cancel_contact", ENVELOPE_SENDER_GATEWAY},
    [SWITCHBOARD__V1__ENVELOPE__BODY_EXPLAIN_CONTACT] = {"explain_contact", ENVELOPE_SENDER_GATEWAY},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EXPLANATION] = {"contact_explanation",
							      ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED] = {"contact_accepted",
                                                          ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED] = {"contact_assigned",
                                                          ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT] = {"contact_event", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED] = {"contact_completed",
                                                           ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED] = {"contact_cancelled",
                                                           ENVELOPE_SENDER_DAEMON},

    [SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE] = {"set_state", ENVELOPE_SENDER_AGENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER] = {"accept_offer", ENVELOPE_SENDER_AGENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER] = {"reject_offer", ENVELOPE_SENDER_AGENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT] = {"complete_contact",
                                                          ENVELOPE_SENDER_AGENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_READY] = {"ready", ENVELOPE_SENDER_AGENT},
    [SWITCHBOARD__V1__ENVELOPE__BODY_TRANSFER] = {"transfer", ENVELOPE_SENDER_AGENT},

    [SWITCHBOARD__V1__ENVELOPE__BODY_OFFER] = {"offer", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED] = {"offer_rescinded", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED] = {"assignment_confirmed",
                                                              ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_STATE_CHANGED] = {"state_changed", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_ACK] = {"ack", ENVELOPE_SENDER_DAEMON},
    [SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_REVOKED] = {"assignment_revoked",
                                                           ENVELOPE_SENDER_DAEMON},
};

#define ENVELOPE_NBODIES (sizeof(envelope_bodies) / sizeof(envelope_bodies[0]))

/* The table entry for a body case, or NULL when this build does not know it. */
static const struct envelope_body *envelope_body_lookup(Switchboard__V1__Envelope__BodyCase body)
{
	/* Unsigned so a negative value from a cast or a corrupted struct is out
	 * of range instead of an index below the table. */
	unsigned i = (unsigned)body;

	if (i >= ENVELOPE_NBODIES || envelope_bodies[i].name == NULL)
		return NULL;
	return &envelope_bodies[i];
}

/* Whether protobuf-c set a body aside as unknown: every body is a message,
 * so a newer peer's body arrives as an unknown length-delimited field, while
 * an envelope that merely omits the body has no such field. */
static bool envelope_has_unknown_body(const Envelope *env)
{
	for (unsigned i = 0; i < env->base.n_unknown_fields; i++)
		if (env->base.unknown_fields[i].wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
			return true;
	return false;
}

/* Decodes one Envelope, refusing what protobuf-c accepts but we cannot use. */
Envelope *envelope_unpack(const uint8_t *data, size_t len, const char **why)
{
	Envelope *env;
	const char *reason;

	/* protobuf-c says only "NULL" (it logs nothing and has no error out
	 * parameter), so one reason covers truncation, bad tags and bad
	 * wire types alike. */
	env = switchboard__v1__envelope__unpack(NULL, len, data);
	if (env == NULL) {
		reason = ENVELOPE_WHY_UNDECODABLE;
		goto fail;
	}
	if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY__NOT_SET) {
		reason =
		    envelope_has_unknown_body(env) ? envelope_why_unknown : ENVELOPE_WHY_NO_BODY;
		goto fail;
	}
	/* A number in the body range that the generated code knows but our
	 * table does not would be a table bug; refuse it like an unknown one
	 * rather than hand sessions a body nobody routes. */
	if (envelope_body_lookup(env->body_case) == NULL) {
		reason = envelope_why_unknown;
		goto fail;
	}
	return env;

fail:
	envelope_free(env);
	if (why != NULL)
		*why = reason;
	return NULL;
}

/* Frees a decoded Envelope and everything in it; NULL is fine. */
void envelope_free(Envelope *env)
{
	if (env != NULL)
		switchboard__v1__envelope__free_unpacked(env, NULL);
}

/* Tells the "newer peer" failure, which keeps the connection, from the rest. */
bool envelope_is_unknown_body(const char *why)
{
	return why != NULL && strcmp(why, envelope_why_unknown) == 0;
}

/* Who may send a body, for sessions' one-lookup role check. */
enum envelope_sender envelope_sender(Switchboard__V1__Envelope__BodyCase body)
{
	const struct envelope_body *b = envelope_body_lookup(body);

	return b != NULL ? b->sender : ENVELOPE_SENDER_UNKNOWN;
}

/* The body's proto field name, for log lines. */
const char *envelope_body_name(Switchboard__V1__Envelope__BodyCase body)
{
	const struct envelope_body *b = envelope_body_lookup(body);

	return b != NULL ? b->name : "unknown";
}

/* What the server keeps with each contact in the engine (its user
 * payload), and the ContactInfo an agent sees, built from it. */
#ifndef SB_SESSION_CONTACTINFO_H
#define SB_SESSION_CONTACTINFO_H

#include "engine/engine.h"
#include "switchboard.pb-c.h"

/* Owner: the engine, through engine_sink.contact_free (contactinfo_free).
 * The gateway's SubmitContact is kept packed: one allocation of its wire
 * size instead of a decoded tree of many (a million waiting contacts must
 * fit in memory); it is decoded only to build an Offer. */
struct contact_payload {
	uint8_t *packed; /* SubmitContact as protobuf */
	size_t packed_len;
	char sid[24];                        /* the session that submitted it */
	char queue[72]; /* the queue Redis has it in: an overflow moves it from here */
	uint32_t event_seq; /* transitions recorded so far (the hash's event_seq) */
};

/* msg stays the caller's. */
struct contact_payload *contactinfo_payload_new(const Switchboard__V1__SubmitContact *msg,
						const char *sid, const char *queue);
struct contact_payload *contactinfo_payload_copy(const struct contact_payload *p);
/* The SubmitContact, decoded: the caller frees it with
 * switchboard__v1__submit_contact__free_unpacked. NULL if p holds none. */
Switchboard__V1__SubmitContact *contactinfo_message(const struct contact_payload *p);
void contactinfo_free(void *ctx, void *payload);

/* "<contact>/<n>" for its latest recorded transition. */
void contactinfo_event_id(const struct engine_contact_view *c, char *out, size_t len);

/* The engine's view of a submitted message in queue; skills go into buf,
 * which must hold CONTACTINFO_MAX_SKILLS entries. */
#define CONTACTINFO_MAX_SKILLS 32
void contactinfo_engine_in(const Switchboard__V1__SubmitContact *m, const char *queue,
			   enum sb_channel ch, struct engine_skill_req *buf,
			   struct engine_submit *in);

/* Fills ci from c. ci's strings point into c and into the returned decoded
 * message (NULL when there is none), which the caller frees with
 * switchboard__v1__submit_contact__free_unpacked once ci is sent. */
Switchboard__V1__SubmitContact *contactinfo_fill(Switchboard__V1__ContactInfo *ci,
						 Switchboard__V1__Customer *cust,
						 const struct engine_contact_view *c);

#endif

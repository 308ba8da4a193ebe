/* What the server keeps with each contact in the engine (its user
 * payload), and the ContactInfo an agent sees, built from it. */
#ifndef SB_SESSION_CONTACTINFO_H
#define SB_SESSION_CONTACTINFO_H

#include "engine/engine.h"
#include "switchboard.pb-c.h"

/* Owner: the engine, through engine_sink.contact_free (contactinfo_free). */
struct contact_payload {
	Switchboard__V1__SubmitContact *msg; /* as the gateway sent it */
	char sid[24];                        /* the session that submitted it */
	char queue[72]; /* the queue Redis has it in: an overflow moves it from here */
	uint32_t event_seq; /* transitions recorded so far (the hash's event_seq) */
};

struct contact_payload *contactinfo_payload_new(Switchboard__V1__SubmitContact *msg,
						const char *sid, const char *queue);
void contactinfo_free(void *ctx, void *payload);

/* "<contact>/<n>" for its latest recorded transition. */
void contactinfo_event_id(const struct engine_contact_view *c, char *out, size_t len);

/* The engine's view of a submitted message in queue; skills go into buf,
 * which must hold CONTACTINFO_MAX_SKILLS entries. */
#define CONTACTINFO_MAX_SKILLS 32
void contactinfo_engine_in(const Switchboard__V1__SubmitContact *m, const char *queue,
			   enum sb_channel ch, struct engine_skill_req *buf,
			   struct engine_submit *in);

/* Fills ci from c; ci's strings point into c and its payload, so ci lives
 * no longer than the contact. */
void contactinfo_fill(Switchboard__V1__ContactInfo *ci, Switchboard__V1__Customer *cust,
		      const struct engine_contact_view *c);

#endif

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
};

struct contact_payload *contactinfo_payload_new(Switchboard__V1__SubmitContact *msg,
						const char *sid, const char *queue);
void contactinfo_free(void *ctx, void *payload);

/* Fills ci from c; ci's strings point into c and its payload, so ci lives
 * no longer than the contact. */
void contactinfo_fill(Switchboard__V1__ContactInfo *ci, Switchboard__V1__Customer *cust,
		      const struct engine_contact_view *c);

#endif

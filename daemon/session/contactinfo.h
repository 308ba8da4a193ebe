/* The ContactInfo an agent sees in an Offer or an AssignmentConfirmed, built
 * from the engine's contact and the SubmitContact kept with it. */
#ifndef SB_SESSION_CONTACTINFO_H
#define SB_SESSION_CONTACTINFO_H

#include "engine/engine.h"
#include "switchboard.pb-c.h"

/* Fills ci from c. ci's strings point into c and into the returned decoded
 * message (NULL when there is none), which the caller frees with
 * switchboard__v1__submit_contact__free_unpacked once ci is sent. */
Switchboard__V1__SubmitContact *contactinfo_fill(Switchboard__V1__ContactInfo *ci,
						 Switchboard__V1__Customer *cust,
						 const struct engine_contact_view *c);

#endif

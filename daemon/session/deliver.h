/* What clients are told about a recorded decision: the router's tell hook
 * (router.h). Each client gets the frames that concern it, on its current
 * session; a client that is not connected hears it on re-login from the
 * state then (its redelivery). */
#ifndef SB_SESSION_DELIVER_H
#define SB_SESSION_DELIVER_H

struct decision;

/* ctx: the struct session_env. */
void deliver_tell(void *ctx, const struct decision *d);

#endif

/* Contacts that finished a moment ago, and who finished them, so a retried
 * CompleteContact or CancelContact is answered as done instead of
 * NOT_FOUND. A retry is what a client does when its first answer was lost,
 * or when Redis dropped the connection with the write in flight (the daemon
 * keeps such a write and replays it, so the change stands). Bounded: the
 * last RECENT_MAX contacts. Owner: the server. */
#ifndef SB_SESSION_RECENT_H
#define SB_SESSION_RECENT_H

#include <stdbool.h>

enum recent_kind { RECENT_COMPLETED, RECENT_CANCELLED };

struct recent;

struct recent *recent_new(void);
void recent_free(struct recent *r);
/* by: the agent that completed it, or the gateway that cancelled it. */
void recent_add(struct recent *r, const char *contact_id, const char *by, enum recent_kind kind);
/* Whether contact_id finished that way by `by`, recently. */
bool recent_done(const struct recent *r, const char *contact_id, const char *by,
		 enum recent_kind kind);

#endif

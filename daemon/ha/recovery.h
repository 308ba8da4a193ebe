/* Recovery: at the start of a term (a daemon start, a restart after a crash,
 * a standby taking over), rebuild the engine from what Redis holds.
 *
 * Agents first — each roster agent's hash says whether it was logged in and
 * in which state; those come back detached, with a grace period to
 * reconnect (presence.h). Then every contact of the open set
 * (sb:{site}:open), read with SSCAN in batches and one pipelined HGETALL per
 * contact: waiting contacts keep their deadlines and so their places;
 * assigned contacts stay with their agents; an offer that was outstanding is
 * requeued (recorded as such), since its agent's client is gone with the
 * old process. The engine stays paused until the server has everything.
 *
 * Owner: the server; recovery_free abandons a recovery in progress. */
#ifndef SB_HA_RECOVERY_H
#define SB_HA_RECOVERY_H

#include <stddef.h>

struct store;
struct router;
struct presence;
struct recovery;

struct recovery_stats {
	size_t agents;      /* restored logged in (detached) */
	size_t waiting;     /* restored waiting (including requeued offers) */
	size_t assigned;    /* restored with their agents */
	size_t requeued;    /* offers (or assignments of agents gone from the roster) requeued */
	size_t unroutable;  /* kept in Redis but refused by the engine (queue gone?) */
	size_t missing;     /* in the open set without a hash */
	long long elapsed_ms;
};

/* Called once: err 0 when everything was loaded, else the store failed
 * mid-way (the server starts over on a fresh engine). */
typedef void (*recovery_done_fn)(void *ctx, int err, const struct recovery_stats *stats);

struct recovery *recovery_start(struct store *st, struct router *r, struct presence *presence,
				recovery_done_fn done, void *ctx);
void recovery_free(struct recovery *r);

#endif

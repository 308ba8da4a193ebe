/* Leadership: which of the daemons sharing one Redis serves the site.
 *
 * A lease in Redis (sb:{site}:leader, with a TTL) names the leader; the
 * fencing epoch (sb:{site}:epoch) rises at every change of leader, and every
 * write carries the epoch of its daemon, so Redis refuses a deposed leader's
 * writes (store.h). This module takes and renews the lease every third of
 * ha.lease_ms while the store is ready, and tells the server when a term
 * starts (load the state, then serve) and when it ends (stand down).
 *
 * Roles: STANDBY (another daemon holds the lease, or none known yet) ->
 * RECOVERING (a term started; the server loads state from Redis) -> LEADER
 * (leader_recovered). Clients of a daemon that is not LEADER are answered
 * NOT_LEADER with the holder's address.
 *
 * Owner: the server (leader_new / leader_free). */
#ifndef SB_HA_LEADER_H
#define SB_HA_LEADER_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct store;
struct leader;

enum leader_role { LEADER_STANDBY, LEADER_RECOVERING, LEADER_LEADER };

struct leader_conf {
	const char *node_id;
	int64_t lease_ms;
	const char *gateway_address; /* what standbys tell gateways */
	const char *agent_address;
};

struct leader_hooks {
	/* A term started under epoch: load the state, then leader_recovered. */
	void (*term_started)(void *ctx, const char *epoch);
	/* This daemon no longer leads: drop clients and routing state. */
	void (*deposed)(void *ctx);
	void *ctx;
};

struct leader *leader_new(struct event_base *base, struct store *st, const struct leader_conf *conf,
			  const struct leader_hooks *hooks);
void leader_free(struct leader *l);
/* The store became ready (or anything else worth an early attempt). */
void leader_poke(struct leader *l);
/* The server finished loading the state of the current term. */
void leader_recovered(struct leader *l);
/* Redis refused a write as fenced: another daemon leads now. */
void leader_fenced(struct leader *l);
/* A clean stop: give the lease up so a standby takes over at once. */
void leader_release(struct leader *l);
enum leader_role leader_role(const struct leader *l);
/* Whether this daemon's lease still holds by its own clock: a leader that
 * was paused (SIGSTOP, a stall) or cut off from Redis past its lease serves
 * no one until it has renewed it; another daemon may lead meanwhile. */
bool leader_current(const struct leader *l);
const char *leader_role_name(enum leader_role r);
/* The current holder's address for the gateway (true) or agent port, as
 * last read from the lease; "" when unknown. */
const char *leader_holder_address(const struct leader *l, bool gateway);

#endif

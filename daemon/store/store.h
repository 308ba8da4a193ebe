/* The store: durable state in Redis, reached with hiredis's async API on the
 * daemon's own libevent loop. The only place that includes hiredis.
 *
 * States: DOWN -> CONNECTING -> READY, REFUSING while Redis refuses writes
 * (OOM, MISCONF, READONLY: retried with backoff), and back to DOWN on any
 * connection failure; from DOWN it reconnects by itself with capped
 * backoff. hiredis 0.14 has no connect or command timeouts, so the store
 * arms its own: a connection whose oldest command has waited past
 * command_timeout_ms is dropped.
 *
 * Writes are an ordered log that is never cut short. store_write queues in
 * any state; Redis gets every write, in the order written, exactly once in
 * effect:
 * - a write whose fate is unknown (the connection died with it in flight)
 *   is sent again, and Redis skips it when its transition number is
 *   already recorded (store_write.seq);
 * - a write Redis refused is sent again, with everything after it, once
 *   Redis takes writes again: a batch applies only if every batch sent
 *   before it applied (the `commits` counter, checked in the script);
 * - its callback runs exactly once, never before store_write returns: 0
 *   when Redis holds it, SB_ERR_NOT_LEADER when another daemon leads (it
 *   was fenced, or store_step_down dropped it).
 * A submit is not retried for its caller: refused or of unknown fate, it is
 * answered SB_ERR_STORE_UNAVAILABLE (the gateway retries; submits are
 * idempotent). One of unknown fate is looked up again, and if Redis turns
 * out to hold it the `found` hook hears of it, so no stored contact is left
 * behind.
 *
 * Group commit: every operation asked for during one turn of the event loop
 * is sent as one batch (one EVALSHA: one round trip, one fencing check),
 * when the callbacks already due in that turn have run.
 *
 * Redis losing data. The store knows the epoch it leads under and how many
 * batches Redis has applied; Redis keeps both (docs/redis.md). An epoch
 * missing or lower than ours, fewer applied batches than acknowledged, or a
 * transition missing before one being written means Redis lost data it had
 * acknowledged (a FLUSHALL, a restart without its AOF, a power cut under
 * appendfsync everysec, a fail-over to a lagging replica). The store then
 * stops, calls the `lost` hook, in which the owner hands it the live state
 * to put back (store_put), restores the epoch and the counter, writes those
 * puts first and goes on. */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct store;

/* A batch is cut at this many operations (or 1 MiB) even within one loop
 * turn: Redis serves no one else while it runs a script, so a batch must
 * stay short (64 operations take under a millisecond of Redis's time here;
 * smaller batches also keep several in flight, so Redis never waits for the
 * daemon). */
#define STORE_BATCH_MAX_OPS 64

enum store_state { STORE_DOWN, STORE_CONNECTING, STORE_READY, STORE_REFUSING };

/* A hash field; len 0 means strlen(value). */
struct store_field {
	const char *name;
	const char *value;
	size_t len;
};

/* What an unanswered submit turned out to be, or what a submit found. For
 * a duplicate, the existing contact's id and hash as Redis holds it. */
struct store_submit_result {
	bool created;
	const char *contact_id;
	const struct store_field *fields;
	size_t n_fields;
};

struct store_hooks {
	void (*state)(void *ctx, enum store_state state);
	/* Another daemon leads now: every write kept was dropped. */
	void (*fenced)(void *ctx);
	/* Redis lost acknowledged data (why says how it was seen). Hand the
	 * live state to store_put before returning; it is written first. */
	void (*lost)(void *ctx, const char *why);
	/* A submit answered SB_ERR_STORE_UNAVAILABLE is in Redis after all. */
	void (*found)(void *ctx, const struct store_submit_result *r);
	void *ctx;
};

struct store_conf {
	const char *address; /* "host:port", "[v6]:port" or "unix:/path" */
	const char *site;
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	int64_t reconnect_max_ms;
	int64_t events_maxlen;
	int64_t idempotency_ttl_s;
	/* How long a finished contact's outcome is kept for its gateway to be
	 * told again (capped at idempotency_ttl_s: the hash it is read from
	 * expires then). */
	int64_t outcome_retention_s;
	/* The hash field that numbers a contact's or agent's transitions
	 * (the record module's; the store compares it, never names it). */
	const char *seq_field;
};

/* Owner: the server. store_free answers every pending request with
 * SB_ERR_STORE_UNAVAILABLE, then releases everything. */
struct store *store_new(struct event_base *base, const struct store_conf *conf,
			const struct store_hooks *hooks);
void store_free(struct store *st);
/* Starts connecting (and keeps reconnecting until freed). */
void store_start(struct store *st);
enum store_state store_state(const struct store *st);
const char *store_state_name(enum store_state s);
/* Operations queued, in flight or waiting to be sent again. */
size_t store_pending(const struct store *st);

typedef void (*store_submit_cb)(void *arg, int err, const struct store_submit_result *r);
typedef void (*store_done_cb)(void *arg, int err);

struct store_submit {
	const char *contact_id;
	const char *gateway_id;
	const char *external_id;
	const char *queue;
	int64_t deadline_ms;
	const struct store_field *fields; /* the contact's hash, its payload included */
	size_t n_fields;
	const struct store_field *event; /* the stream entry */
	size_t n_event;
};

/* Creates the contact unless (gateway, external_id) was seen within the
 * idempotency TTL, atomically with its queue entry and its event. Returns
 * SB_ERR_STORE_UNAVAILABLE unless READY, SB_ERR_NOT_LEADER without an
 * epoch (cb is then not called); otherwise cb runs once, later. */
int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg);

/* ZMOVE: remove the member from from_queue's set and add it to queue's. */
enum store_zop { STORE_ZNONE, STORE_ZADD, STORE_ZREM, STORE_ZMOVE };
enum store_kind { STORE_CONTACT, STORE_AGENT };

/* One transition: set fields of a contact's or an agent's hash, move the
 * contact in or out of its queue's sorted set, append an event — atomically.
 * seq numbers the transition (the hash's seq field holds the last one
 * recorded): Redis applies it when the hash holds seq - 1 (an agent's hash
 * may not exist yet for seq 1), skips it when it holds seq or more, and
 * reports data loss otherwise. */
struct store_write {
	enum store_kind kind;
	const char *id;
	uint32_t seq;
	const char *queue; /* for zop */
	enum store_zop zop;
	const char *from_queue; /* for STORE_ZMOVE */
	int64_t score;
	int64_t expire_s; /* > 0: the hash expires (finished contacts) */
	bool closes;      /* the contact is finished: it leaves the open set */
	bool opens;       /* store_put only: the contact is open (joins the open set) */
	bool roster;      /* an agent carrying an API roster change (joins the roster set) */
	const char *external_key; /* store_put only: "<gateway>:<external id>" to re-point, or NULL */
	/* A finished contact's gateway: the contact joins that gateway's
	 * outcomes, after every outcome recorded before it, as of at_ms (Unix
	 * ms); outcomes older than the retention are dropped. NULL: none. */
	const char *outcome_of;
	int64_t at_ms;
	const struct store_field *fields;
	size_t n_fields;
	const struct store_field *event;
	size_t n_event;
};

/* Queues a write (cb may be NULL). SB_ERR_NOT_LEADER (cb not called)
 * while this daemon leads under no epoch. */
int store_write(struct store *st, const struct store_write *w, store_done_cb cb, void *arg);

/* Only from the lost hook: replaces the hash with exactly these fields
 * (plus queue and open-set membership, expiry and external-id key as w
 * says), whatever Redis holds. Written before any other write. */
void store_put(struct store *st, const struct store_write *w);

/* Calls cb once every write queued before it has been answered (err 0),
 * or with an error if the connection or the epoch is lost first. */
int store_barrier(struct store *st, store_done_cb cb, void *arg);

/* ---- leadership -------------------------------------------------------
 * Every batch carries the epoch this daemon leads under, and Redis refuses
 * it (FENCED) once another daemon has raised the epoch. Such a refusal
 * drops every write kept (callbacks: SB_ERR_NOT_LEADER) and calls the
 * fenced hook: the server stands down. */
enum store_lease_status {
	STORE_LEASE_HELD_BY_OTHER = 0, /* info: the holder's leader value */
	STORE_LEASE_KEPT = 1,          /* info: our epoch, unchanged */
	STORE_LEASE_NEW_TERM = 2,      /* info: our new epoch; reload before serving */
	STORE_LEASE_FREE = 4,          /* nobody holds it; not taken (take was false) */
};
/* epoch: the epoch Redis holds (for HELD_BY_OTHER and FREE). */
typedef void (*store_lease_cb)(void *arg, int err, enum store_lease_status status,
			       const char *info, int64_t epoch);

/* Takes or renews the lease for lease_ms; value is what standbys read
 * ("<node> <gateway addr> <agent addr>"). A free lease is taken only when
 * Redis's epoch is at least min_epoch (a standby that saw a higher epoch
 * than Redis now has waits a while, so a leader whose Redis just lost its
 * data can put it back). On KEPT or NEW_TERM the store
 * writes under the epoch returned. A lease answer that shows Redis lost
 * data (our epoch gone, fewer batches than acknowledged) is KEPT for the
 * caller and starts the store's re-seed. */
int store_lease(struct store *st, const char *node_id, int64_t lease_ms, const char *value,
		int64_t min_epoch, store_lease_cb cb, void *arg);
/* Gives the lease up (clean stop), if this node holds it under its epoch. */
int store_release(struct store *st, const char *node_id, store_done_cb cb, void *arg);
/* Forgets the epoch and drops every write kept (their callbacks run now,
 * with SB_ERR_NOT_LEADER): this daemon no longer leads. */
void store_step_down(struct store *st);
const char *store_epoch(const struct store *st); /* "0" when leading none */
/* Times Redis was found to have lost data, since start. */
uint64_t store_losses(const struct store *st);

/* A whole hash (n = 0 when it does not exist); the fields are valid
 * during the callback. */
typedef void (*store_read_cb)(void *arg, int err, const struct store_field *fields, size_t n);

/* ---- the wallboard's figures --------------------------------------------
 * Not transitions: a plain hash the wallboard rewrites every few seconds
 * (record_figures_* is its format), in the batch order like any write, so
 * a fenced daemon cannot write it either. */
/* Replaces the figures hash with these fields; it expires after expire_s.
 * SB_ERR_NOT_LEADER (cb not called) while this daemon leads under no epoch. */
int store_save_figures(struct store *st, const struct store_field *fields, size_t n,
		       int64_t expire_s, store_done_cb cb, void *arg);
/* The figures hash (n = 0 when there is none). */
int store_read_figures(struct store *st, store_read_cb cb, void *arg);

/* ---- recovery reads ----------------------------------------------------- */

/* One SSCAN step over a set: ids (valid during the callback) and the
 * cursor to pass next ("0" when done). */
enum store_set {
	STORE_SET_OPEN,   /* contacts not finished */
	STORE_SET_ROSTER, /* agents with a roster change made over the admin API */
};
typedef void (*store_scan_cb)(void *arg, int err, const char *next_cursor, const char **ids,
			      size_t n);
int store_scan_set(struct store *st, enum store_set set, const char *cursor, int count,
		   store_scan_cb cb, void *arg);
/* A contact's or agent's whole hash. */
int store_read(struct store *st, enum store_kind kind, const char *id, store_read_cb cb, void *arg);

/* One page of a gateway's outcomes, oldest first: each finished contact's
 * id, its place in the gateway's order (pass the last one as after_score
 * for the next page) and its hash (n_fields 0 when the hash expired). */
struct store_outcome {
	const char *contact_id;
	const char *score;
	const struct store_field *fields;
	size_t n_fields;
};
typedef void (*store_outcomes_cb)(void *arg, int err, const struct store_outcome *v, size_t n);
/* Up to count outcomes of gateway_id recorded after after_score (when not
 * NULL), else after the outcome of contact after_contact (when not NULL
 * and still kept), else from the oldest kept. Sent on the connection that
 * carries the writes, so it sees every write acknowledged before it. */
int store_read_outcomes(struct store *st, const char *gateway_id, const char *after_contact,
			const char *after_score, int count, store_outcomes_cb cb, void *arg);

#endif

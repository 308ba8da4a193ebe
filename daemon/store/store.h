/* The store: durable state in Redis, reached with hiredis's async API on the
 * daemon's own libevent loop. The only place that includes hiredis.
 *
 * States: DOWN -> CONNECTING -> READY, and back to DOWN on any failure; from
 * DOWN it reconnects by itself with capped backoff. hiredis 0.14 has no
 * connect or command timeouts, so the store arms its own: a connection whose
 * oldest command has waited past command_timeout_ms is dropped and every
 * pending request fails with SB_ERR_STORE_UNAVAILABLE.
 *
 * Requests made while not READY fail at once (the call returns
 * SB_ERR_STORE_UNAVAILABLE and the callback is not called). Otherwise the
 * callback is called exactly once, in request order, with 0 when Redis
 * acknowledged or SB_ERR_STORE_UNAVAILABLE when it did not.
 *
 * Group commit: every submit and write asked for during one turn of the
 * event loop is sent as one batch (one EVALSHA: one round trip, one call,
 * one fencing check), when the callbacks already due in that turn have
 * run. Redis applies a batch atomically; its operations are answered one by
 * one, in order.
 *
 * A failed store_write is also kept and replayed, in order, as soon as the
 * store is READY again: writes set whole fields, so a write that did land
 * before the connection died is harmless to repeat, and state that the
 * daemon changed while Redis was away still reaches Redis. */
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

enum store_state { STORE_DOWN, STORE_CONNECTING, STORE_READY };

struct store_conf {
	const char *address; /* "host:port", "[v6]:port" or "unix:/path" */
	const char *site;
	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	int64_t reconnect_max_ms;
	int64_t events_maxlen;
	int64_t idempotency_ttl_s;
};

typedef void (*store_state_fn)(void *ctx, enum store_state state);

/* Owner: the server. store_free answers every pending request with
 * SB_ERR_STORE_UNAVAILABLE, then releases everything. */
struct store *store_new(struct event_base *base, const struct store_conf *conf,
			store_state_fn on_state, void *ctx);
void store_free(struct store *st);
/* Starts connecting (and keeps reconnecting until freed). */
void store_start(struct store *st);
enum store_state store_state(const struct store *st);
const char *store_state_name(enum store_state s);
/* Requests sent and not yet answered. */
size_t store_pending(const struct store *st);

/* A hash field; len 0 means strlen(value). */
struct store_field {
	const char *name;
	const char *value;
	size_t len;
};

struct store_submit {
	const char *contact_id;
	const char *gateway_id;
	const char *external_id;
	const char *queue;
	int64_t deadline_ms;
	const struct store_field *fields; /* the contact's hash */
	size_t n_fields;
	/* The packed SubmitContact: the hash's "payload" field, which the
	 * "submitted" event leaves out. Binary; may be empty. */
	const void *payload;
	size_t payload_len;
};

/* For a duplicate, the existing contact's id and hash as Redis holds it. */
struct store_submit_result {
	bool created;
	const char *contact_id;
	const struct store_field *fields;
	size_t n_fields;
};

typedef void (*store_submit_cb)(void *arg, int err, const struct store_submit_result *r);
typedef void (*store_done_cb)(void *arg, int err);

/* Creates the contact unless (gateway, external_id) was seen within the
 * idempotency TTL, atomically with its queue entry and its event. */
int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg);

/* ZMOVE: remove the member from from_queue's set and add it to queue's. */
enum store_zop { STORE_ZNONE, STORE_ZADD, STORE_ZREM, STORE_ZMOVE };
enum store_kind { STORE_CONTACT, STORE_AGENT };

/* One transition: set fields of a contact's or an agent's hash, move the
 * contact in or out of its queue's sorted set, append an event — atomically. */
struct store_write {
	enum store_kind kind;
	const char *id;
	const char *queue; /* for zop */
	enum store_zop zop;
	const char *from_queue; /* for STORE_ZMOVE */
	int64_t score;
	int64_t expire_s; /* > 0: the hash expires (finished contacts) */
	bool closes;      /* the contact is finished: it leaves the open set */
	bool roster;      /* an agent write carrying an API roster change (joins the roster set) */
	const struct store_field *fields;
	size_t n_fields;
	const struct store_field *event;
	size_t n_event;
};

/* cb may be NULL. */
int store_write(struct store *st, const struct store_write *w, store_done_cb cb, void *arg);

/* ---- leadership -------------------------------------------------------
 * Every submit and write carries the epoch this daemon leads under, and
 * Redis refuses it (FENCED) once another daemon has raised the epoch. Such a
 * refusal answers the request with SB_ERR_NOT_LEADER, drops everything kept
 * for replay and calls the fenced callback: the server stands down. */
enum store_lease_status {
	STORE_LEASE_HELD_BY_OTHER = 0, /* info: the holder's leader value */
	STORE_LEASE_KEPT = 1,          /* info: our epoch, unchanged */
	STORE_LEASE_NEW_TERM = 2,      /* info: our new epoch; reload before serving */
};
typedef void (*store_lease_cb)(void *arg, int err, enum store_lease_status status,
			       const char *info);
typedef void (*store_fenced_fn)(void *ctx);

/* Takes or renews the lease for lease_ms; value is what standbys read
 * ("<node> <gateway addr> <agent addr>"). On KEPT or NEW_TERM the store
 * writes under the epoch returned. */
int store_lease(struct store *st, const char *node_id, int64_t lease_ms, const char *value,
		store_lease_cb cb, void *arg);
/* Gives the lease up (clean stop), if this node holds it under its epoch. */
int store_release(struct store *st, const char *node_id, store_done_cb cb, void *arg);
/* Forgets the epoch and the replay queue: this daemon no longer leads. */
void store_step_down(struct store *st);
const char *store_epoch(const struct store *st); /* "0" when leading none */
void store_on_fenced(struct store *st, store_fenced_fn fn);

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
/* A contact's or agent's whole hash (n = 0 when it does not exist); the
 * fields are valid during the callback. */
typedef void (*store_read_cb)(void *arg, int err, const struct store_field *fields, size_t n);
int store_read(struct store *st, enum store_kind kind, const char *id, store_read_cb cb, void *arg);

#endif

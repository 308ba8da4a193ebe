/* Raw counters and histograms for the Prometheus exposition
 * (admin/admin_metrics.c). The files that see an event count it with one
 * call; live figures (waiting contacts, service level, agents by state) are
 * read from the engine at scrape time instead of being counted here.
 *
 * Owner: the admin module creates the one struct metrics a server has
 * (metrics_new) and installs it (metrics_install) as the target of the
 * counting calls; metrics_free uninstalls and releases it. Counting calls
 * are no-ops while nothing is installed (sbctl, the fuzzers, unit tests all
 * link the same code). A process-wide target keeps each counting call one
 * line: the frame decoder and the store never see the server. */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strmap.h"

#define METRICS_MAX_BUCKETS 20

/* Bucket upper bounds, in seconds, ascending; +Inf is implied. */
struct metrics_bounds {
	const double *le;
	size_t n;
};

/* A cumulative-at-exposition histogram: buckets[i] counts observations
 * whose value is <= le[i] and > le[i-1]. */
struct metrics_hist {
	uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* the last is (le[n-1], +Inf) */
	uint64_t count;
	double sum; /* seconds */
};

enum metrics_offer_outcome {
	METRICS_OFFER_ACCEPTED, /* accepted, or auto-accepted */
	METRICS_OFFER_REJECTED,
	METRICS_OFFER_TIMEOUT,
	METRICS_OFFER_CANCELLED,
	METRICS_OFFER_AGENT_GONE,
	METRICS_OFFER_AGENT_AWAY,
	METRICS_OFFER_ADMIN, /* a supervisor requeued it (POST /v1/contacts/{id}/requeue) */
	METRICS_OFFER_OUTCOMES
};

/* Per-queue histograms and offer counters. An auto-accepted contact counts
 * as an offer made and accepted (and in auto_accepted), so offers are never
 * fewer than accepted outcomes. Owner: metrics.queues. */
struct metrics_queue {
	char *name;                 /* the key */
	struct metrics_hist wait;   /* arrival -> assignment */
	struct metrics_hist handle; /* assignment -> completion */
	uint64_t offers, auto_accepted;
	uint64_t outcomes[METRICS_OFFER_OUTCOMES];
};

/* Why a store request failed (switchboard_store_errors_total{kind}). */
enum metrics_store_error {
	METRICS_STORE_NOT_READY,   /* a client's request refused at once: the store was not ready */
	METRICS_STORE_TIMEOUT,     /* in flight when Redis did not answer in command_timeout_ms */
	METRICS_STORE_UNAVAILABLE, /* in flight when the connection was lost (or not sent) */
	METRICS_STORE_REFUSED,     /* Redis answered an error (OOM, MISCONF, READONLY, FENCED...) */
	METRICS_STORE_ERRORS
};

/* The daemon's role (switchboard_role{role}); the server's states. */
enum metrics_role {
	METRICS_ROLE_WAITING, /* no Redis to ask yet */
	METRICS_ROLE_STANDBY,
	METRICS_ROLE_RECOVERING,
	METRICS_ROLE_LEADER,
	METRICS_ROLE_STOPPING,
	METRICS_ROLES
};

/* How this daemon's leadership changed (switchboard_leadership_changes_total). */
enum metrics_leadership {
	METRICS_LEADERSHIP_ACQUIRED, /* a term of its own started */
	METRICS_LEADERSHIP_LOST,     /* deposed: fenced, or another daemon holds the lease */
	METRICS_LEADERSHIP_RELEASED, /* gave the lease up on a clean stop */
	METRICS_LEADERSHIP_CHANGES
};

/* Who failed to authenticate. */
enum metrics_auth_role {
	METRICS_AUTH_GATEWAY,
	METRICS_AUTH_AGENT,
	METRICS_AUTH_ADMIN,
	METRICS_AUTH_ROLES
};

/* One (role, reason) of failed authentications. Reasons are the static
 * texts the daemon answers with; once the table is full, new ones count as
 * their role's "other", so the series never grow without bound. */
#define METRICS_AUTH_REASONS 32
struct metrics_auth {
	int role; /* enum metrics_auth_role */
	char reason[64];
	uint64_t n;
};

/* One SLA breach or expiry, copied (the contact may be freed right
 * after): the wallboard shows the last METRICS_NOTES. */
#define METRICS_NOTES 50
struct metrics_note {
	int64_t t_ms;
	int64_t waited_ms;
	int64_t sla_ms;
	char kind[16];
	char contact[72];
	char queue[72];
	char tier[40];
	char detail[72];
	int channel; /* enum sb_channel */
};

struct metrics {
	uint64_t frames_received, frames_sent, frame_errors;
	uint64_t connections[2];       /* open now, by enum session_role */
	uint64_t connections_total[2]; /* accepted since start */
	struct metrics_hist store_latency; /* each round trip to Redis */
	uint64_t store_errors[METRICS_STORE_ERRORS];
	uint64_t store_data_losses; /* times Redis was found to have lost acknowledged data */
	uint64_t admin_requests, admin_connections, admin_connections_total;
	int role;      /* enum metrics_role */
	int64_t epoch; /* the highest fencing epoch seen (this daemon's own while it leads) */
	uint64_t leadership[METRICS_LEADERSHIP_CHANGES];
	uint64_t reloads_ok, reloads_failed;
	bool last_reload_failed;
	struct metrics_auth auth[METRICS_AUTH_REASONS];
	size_t n_auth;
	uint64_t tls_failures[2][2]; /* by enum session_role, then error (0) or closed (1) */
	struct strmap queues; /* name -> struct metrics_queue */
	struct metrics_note notes[METRICS_NOTES]; /* a ring, newest at note_head - 1 */
	size_t note_head, note_n;
	uint64_t note_total;
};

extern const struct metrics_bounds metrics_wait_bounds, metrics_handle_bounds, metrics_store_bounds;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* Makes m the target of the counting calls below (NULL: none). */
void metrics_install(struct metrics *m);
/* The installed one, or NULL. */
struct metrics *metrics_current(void);
/* The histograms of a queue, created on first use; NULL if none installed. */
struct metrics_queue *metrics_queue(struct metrics *m, const char *queue);
/* Adds one observation of seconds to h. */
void metrics_observe(struct metrics_hist *h, const struct metrics_bounds *b, double seconds);

/* ---- counting calls: one line each where the event happens ------------ */

/* frame_read's return: 1 a frame, < 0 a decode error, 0 nothing yet. */
void metrics_frame_read(int rc);
void metrics_frame_sent(void);
/* role: enum session_role; delta +1 on open, -1 on close. */
void metrics_connection(int role, int delta);
/* A round trip to Redis answered after us microseconds (any answer). */
void metrics_store_latency(int64_t us);
/* n store requests failed so. */
void metrics_store_error(enum metrics_store_error kind, uint64_t n);
/* Redis was found to have lost data it had acknowledged. */
void metrics_store_loss(void);
/* An offer of a contact of queue was made. */
void metrics_offer_made(const char *queue);
/* why: enum engine_offer_end. */
void metrics_offer_ended(const char *queue, int why);
/* A contact assigned after waiting waited_ms: an accepted offer, or an
 * auto-accepted one (then also counted as an offer made). */
void metrics_assigned(const char *queue, int64_t waited_ms, bool auto_accepted);
/* A contact completed after handle_ms with its agent. */
void metrics_completed(const char *queue, int64_t handle_ms);
/* The daemon's role now. */
void metrics_role(enum metrics_role role);
/* The highest fencing epoch seen in Redis. */
void metrics_epoch(int64_t epoch);
void metrics_leadership(enum metrics_leadership change);
/* A configuration reload (SIGHUP, POST /v1/reload) ended: ok, or refused
 * (the file or a certificate). */
void metrics_reload(bool ok);
/* A client failed to authenticate; reason is a static text (its answer). */
void metrics_auth_failure(enum metrics_auth_role role, const char *reason);
/* A TLS handshake on a client port failed (role: enum session_role):
 * OpenSSL refused it, or the peer closed the connection during it. */
void metrics_tls_failure(int role, bool closed);
/* An SLA breach (kind "sla_breached", the breach's detail) or an expiry
 * ("expired", its reason). */
struct engine_contact_view;
void metrics_note(const char *kind, const struct engine_contact_view *c, const char *detail,
		  int64_t now);

#endif

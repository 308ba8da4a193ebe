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

/* Per-queue histograms. Owner: metrics.queues. */
struct metrics_queue {
	char *name;                 /* the key */
	struct metrics_hist wait;   /* arrival -> assignment */
	struct metrics_hist handle; /* assignment -> completion */
};

enum metrics_offer_outcome {
	METRICS_OFFER_ACCEPTED,
	METRICS_OFFER_REJECTED,
	METRICS_OFFER_TIMEOUT,
	METRICS_OFFER_CANCELLED,
	METRICS_OFFER_AGENT_GONE,
	METRICS_OFFER_AGENT_AWAY,
	METRICS_OFFER_OUTCOMES
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
	uint64_t offers_made;
	uint64_t offer_outcomes[METRICS_OFFER_OUTCOMES];
	struct metrics_hist store_latency;
	uint64_t store_errors_unavailable, store_errors_refused;
	uint64_t store_data_losses; /* times Redis was found to have lost acknowledged data */
	uint64_t admin_requests, admin_connections, admin_connections_total;
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
/* A store reply after ms, err 0 or an sb_err. */
void metrics_store_reply(int64_t ms, int err);
/* Redis was found to have lost data it had acknowledged. */
void metrics_store_loss(void);
void metrics_offer_made(void);
/* why: enum engine_offer_end. */
void metrics_offer_ended(int why);
/* A contact assigned after waiting waited_ms (counts an accepted offer). */
void metrics_assigned(const char *queue, int64_t waited_ms);
/* A contact completed after handle_ms with its agent. */
void metrics_completed(const char *queue, int64_t handle_ms);
/* An SLA breach (kind "sla_breached", the breach's detail) or an expiry
 * ("expired", its reason). */
struct engine_contact_view;
void metrics_note(const char *kind, const struct engine_contact_view *c, const char *detail,
		  int64_t now);

#endif

/* Raw counters: see metrics.h. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Waits: the SLA thresholds (voice 30 s, chat 60 s, social 1 h, email 4 h)
 * fall on bucket bounds, so "answered within the SLA" reads off a bucket. */
static const double metrics_wait_le[] = {1,  5,   10,  15,  20,   30,   45,   60,
                                         90, 120, 300, 600, 1800, 3600, 7200, 14400};
static const double metrics_handle_le[] = {10,  30,  60,   120,  180,  300,
                                           600, 900, 1800, 3600, 7200, 14400};
/* Store round trips, measured in microseconds: one on loopback takes tens
 * to hundreds of them, a batch under load a few milliseconds, a Redis that
 * stalls (fsync, a slow script) seconds. */
static const double metrics_store_le[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                          0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                          0.5,     1,      2.5,     5,      10};

const struct metrics_bounds metrics_wait_bounds = {metrics_wait_le, sizeof metrics_wait_le /
                                                                        sizeof metrics_wait_le[0]};
const struct metrics_bounds metrics_handle_bounds = {
    metrics_handle_le, sizeof metrics_handle_le / sizeof metrics_handle_le[0]};
const struct metrics_bounds metrics_store_bounds = {
    metrics_store_le, sizeof metrics_store_le / sizeof metrics_store_le[0]};

/* The target of the counting calls; the daemon is single-threaded. */
static struct metrics *metrics_target;

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof *m);

	strmap_init(&m->queues);
	return m;
}

void metrics_free(struct metrics *m)
{
	const char *k;
	void *v;

	if (m == NULL)
		return;
	if (metrics_target == m)
		metrics_target = NULL;
	for (size_t it = 0; strmap_next(&m->queues, &it, &k, &v);) {
		struct metrics_queue *q = v;
		free(q->name);
		free(q);
	}
	strmap_free(&m->queues);
	free(m);
}

void metrics_install(struct metrics *m)
{
	metrics_target = m;
}

struct metrics *metrics_current(void)
{
	return metrics_target;
}

struct metrics_queue *metrics_queue(struct metrics *m, const char *queue)
{
	struct metrics_queue *q;

	if (m == NULL || queue == NULL)
		return NULL;
	q = strmap_get(&m->queues, queue);
	if (q == NULL) {
		/* Bounded: queue names come from the configuration, never a client. */
		q = xcalloc(1, sizeof *q);
		q->name = xstrdup(queue);
		strmap_put(&m->queues, q->name, q);
	}
	return q;
}

void metrics_observe(struct metrics_hist *h, const struct metrics_bounds *b, double seconds)
{
	size_t i = 0;

	while (i < b->n && seconds > b->le[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += seconds;
}

void metrics_frame_read(int rc)
{
	if (metrics_target == NULL || rc == 0)
		return;
	if (rc > 0)
		metrics_target->frames_received++;
	else
		metrics_target->frame_errors++;
}

void metrics_frame_sent(void)
{
	if (metrics_target != NULL)
		metrics_target->frames_sent++;
}

void metrics_connection(int role, int delta)
{
	if (metrics_target == NULL || role < 0 || role > 1)
		return;
	if (delta > 0) {
		metrics_target->connections[role]++;
		metrics_target->connections_total[role]++;
	} else if (metrics_target->connections[role] > 0) {
		metrics_target->connections[role]--;
	}
}

void metrics_store_latency(int64_t us)
{
	if (metrics_target != NULL)
		metrics_observe(&metrics_target->store_latency, &metrics_store_bounds,
		                (double)(us < 0 ? 0 : us) / 1e6);
}

void metrics_store_error(enum metrics_store_error kind, uint64_t n)
{
	if (metrics_target != NULL && kind < METRICS_STORE_ERRORS)
		metrics_target->store_errors[kind] += n;
}

void metrics_store_loss(void)
{
	if (metrics_target != NULL)
		metrics_target->store_data_losses++;
}

void metrics_offer_made(const char *queue)
{
	struct metrics_queue *q = metrics_queue(metrics_target, queue);

	if (q != NULL)
		q->offers++;
}

void metrics_offer_ended(const char *queue, int why)
{
	static const enum metrics_offer_outcome map[] = {
	    [OFFER_END_TIMEOUT] = METRICS_OFFER_TIMEOUT,
	    [OFFER_END_REJECTED] = METRICS_OFFER_REJECTED,
	    [OFFER_END_CANCELLED] = METRICS_OFFER_CANCELLED,
	    [OFFER_END_AGENT_GONE] = METRICS_OFFER_AGENT_GONE,
	    [OFFER_END_AGENT_AWAY] = METRICS_OFFER_AGENT_AWAY,
	    [OFFER_END_ADMIN] = METRICS_OFFER_ADMIN,
	};

	struct metrics_queue *q = metrics_queue(metrics_target, queue);

	if (q == NULL || why < 0 || (size_t)why >= sizeof map / sizeof map[0])
		return;
	q->outcomes[map[why]]++;
}

void metrics_assigned(const char *queue, int64_t waited_ms, bool auto_accepted)
{
	struct metrics_queue *q = metrics_queue(metrics_target, queue);

	if (q == NULL)
		return;
	/* No offer came first: it counts as one made and accepted at once. */
	if (auto_accepted) {
		q->offers++;
		q->auto_accepted++;
	}
	q->outcomes[METRICS_OFFER_ACCEPTED]++;
	metrics_observe(&q->wait, &metrics_wait_bounds,
	                (double)(waited_ms < 0 ? 0 : waited_ms) / 1000.0);
}

void metrics_completed(const char *queue, int64_t handle_ms)
{
	struct metrics_queue *q = metrics_queue(metrics_target, queue);

	if (q != NULL)
		metrics_observe(&q->handle, &metrics_handle_bounds,
		                (double)(handle_ms < 0 ? 0 : handle_ms) / 1000.0);
}

void metrics_role(enum metrics_role role)
{
	if (metrics_target != NULL && role < METRICS_ROLES)
		metrics_target->role = (int)role;
}

void metrics_epoch(int64_t epoch)
{
	if (metrics_target != NULL && epoch > metrics_target->epoch)
		metrics_target->epoch = epoch;
}

void metrics_leadership(enum metrics_leadership change)
{
	if (metrics_target != NULL && change < METRICS_LEADERSHIP_CHANGES)
		metrics_target->leadership[change]++;
}

void metrics_reload(bool ok)
{
	if (metrics_target == NULL)
		return;
	if (ok)
		metrics_target->reloads_ok++;
	else
		metrics_target->reloads_failed++;
	metrics_target->last_reload_failed = !ok;
}

/* The slot of (role, reason), added when there is room; NULL when full. */
static struct metrics_auth *metrics_auth_slot(struct metrics *m, int role, const char *reason,
                                              size_t room)
{
	for (size_t i = 0; i < m->n_auth; i++)
		if (m->auth[i].role == role && strcmp(m->auth[i].reason, reason) == 0)
			return &m->auth[i];
	if (m->n_auth >= room)
		return NULL;
	struct metrics_auth *a = &m->auth[m->n_auth++];
	a->role = role;
	snprintf(a->reason, sizeof a->reason, "%s", reason);
	return a;
}

void metrics_auth_failure(enum metrics_auth_role role, const char *reason)
{
	struct metrics *m = metrics_target;
	struct metrics_auth *a;

	if (m == NULL)
		return;
	/* The last METRICS_AUTH_ROLES slots are kept for each role's "other". */
	a = metrics_auth_slot(m, (int)role, reason != NULL && reason[0] != '\0' ? reason : "other",
	                      METRICS_AUTH_REASONS - METRICS_AUTH_ROLES);
	if (a == NULL)
		a = metrics_auth_slot(m, (int)role, "other", METRICS_AUTH_REASONS);
	if (a != NULL)
		a->n++;
}

void metrics_tls_failure(int role, bool closed)
{
	if (metrics_target != NULL && role >= 0 && role <= 1)
		metrics_target->tls_failures[role][closed ? 1 : 0]++;
}

void metrics_note(const char *kind, const struct engine_contact_view *c, const char *detail,
		  int64_t now)
{
	struct metrics *m = metrics_target;

	if (m == NULL || c == NULL)
		return;
	struct metrics_note *ev = &m->notes[m->note_head];
	m->note_head = (m->note_head + 1) % METRICS_NOTES;
	if (m->note_n < METRICS_NOTES)
		m->note_n++;
	m->note_total++;
	memset(ev, 0, sizeof *ev);
	ev->t_ms = now;
	ev->waited_ms = now - c->arrived_ms;
	ev->sla_ms = c->sla_ms;
	ev->channel = (int)c->channel;
	snprintf(ev->kind, sizeof ev->kind, "%s", kind);
	snprintf(ev->contact, sizeof ev->contact, "%s", c->id);
	snprintf(ev->queue, sizeof ev->queue, "%s", c->queue != NULL ? c->queue : "");
	snprintf(ev->tier, sizeof ev->tier, "%s", c->customer_tier != NULL ? c->customer_tier : "");
	snprintf(ev->detail, sizeof ev->detail, "%s", detail != NULL ? detail : "");
}

/* GET /metrics: the Prometheus text exposition format 0.0.4.
 *
 * Names follow Prometheus's conventions: a switchboard_ prefix, base units
 * (seconds) in the name, _total on counters, a HELP and TYPE line per
 * family. Live figures are read from the engine at scrape time; counters the
 * engine does not keep come from struct metrics (metrics.h). */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "metrics.h"
#include "router/router.h"
#include "store/store.h"
#include "util/procstat.h"

/* The HELP and TYPE lines of a family. */
static void metrics_family(struct evbuffer *o, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants (backslash, quote, newline). */
static void metrics_label_value(struct evbuffer *o, const char *v)
{
	evbuffer_add(o, "\"", 1);
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			evbuffer_add(o, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(o, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
	evbuffer_add(o, "\"", 1);
}

static void metrics_value(struct evbuffer *o, double v)
{
	if (isnan(v))
		evbuffer_add_printf(o, " NaN\n");
	else if (isinf(v))
		evbuffer_add_printf(o, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(o, " %.0f\n", v);
	else
		evbuffer_add_printf(o, " %.17g\n", v);
}

/* name{k1="v1",k2="v2"} value; labels are NULL-terminated name/value pairs. */
static void metrics_sample(struct evbuffer *o, const char *name, const char *const *labels,
                           double v)
{
	evbuffer_add(o, name, strlen(name));
	if (labels != NULL && labels[0] != NULL) {
		evbuffer_add(o, "{", 1);
		for (size_t i = 0; labels[i] != NULL; i += 2) {
			evbuffer_add_printf(o, "%s%s=", i > 0 ? "," : "", labels[i]);
			metrics_label_value(o, labels[i + 1]);
		}
		evbuffer_add(o, "}", 1);
	}
	metrics_value(o, v);
}

/* One histogram series: cumulative buckets, +Inf, _sum, _count. */
static void metrics_histogram(struct evbuffer *o, const char *name, const char *label,
                              const char *label_value, const struct metrics_hist *h,
                              const struct metrics_bounds *b)
{
	char series[128], le[32];
	uint64_t cum = 0;

	snprintf(series, sizeof series, "%s_bucket", name);
	for (size_t i = 0; i <= b->n; i++) {
		cum += h->buckets[i];
		if (i < b->n)
			snprintf(le, sizeof le, "%g", b->le[i]);
		else
			snprintf(le, sizeof le, "+Inf");
		const char *l[] = {label, label_value, "le", le, NULL};
		metrics_sample(o, series, label != NULL ? l : l + 2, (double)cum);
	}
	const char *l[] = {label, label_value, NULL};
	snprintf(series, sizeof series, "%s_sum", name);
	metrics_sample(o, series, label != NULL ? l : NULL, h->sum);
	snprintf(series, sizeof series, "%s_count", name);
	metrics_sample(o, series, label != NULL ? l : NULL, (double)h->count);
}

/* What an agent is doing, one state each, so the states add up to the
 * roster and occupancy reads off them (docs/admin-api.md): holding a
 * contact beats wrapping one up, which beats ringing; an agent holding
 * nothing is where its state (or its lost client) puts it. */
enum metrics_activity {
	ACT_LOGGED_OUT,
	ACT_OFFLINE,
	ACT_AVAILABLE,
	ACT_OFFERED,
	ACT_ON_CONTACT,
	ACT_WRAP_UP,
	ACT_BREAK,
	ACT_DETACHED,
	ACT_COUNT
};

static const char *const metrics_activity_names[ACT_COUNT] = {
    "logged_out", "offline", "available", "offered", "on_contact", "wrap_up", "break", "detached"};

struct metrics_held {
	unsigned offered, assigned, wrapups;
};

static void metrics_note_held(void *arg, const struct engine_contact_view *c)
{
	struct metrics_held *h = arg;

	if (c->state == CONTACT_OFFERED)
		h->offered++;
	else if (c->state == CONTACT_ASSIGNED)
		h->assigned++;
}

static void metrics_note_wrapup(void *arg, enum sb_channel ch, int64_t until)
{
	struct metrics_held *h = arg;

	h->wrapups++;
}

struct metrics_agents {
	const struct engine *e;
	uint64_t by_activity[ACT_COUNT];
};

static void metrics_count_agent(void *arg, const struct engine_agent_view *a)
{
	struct metrics_agents *c = arg;
	struct metrics_held h = {0, 0, 0};
	enum metrics_activity act;

	if (!a->logged_in) {
		c->by_activity[ACT_LOGGED_OUT]++;
		return;
	}
	engine_agent_each_contact(c->e, a->id, metrics_note_held, &h);
	engine_agent_each_wrapup(c->e, a->id, metrics_note_wrapup, &h);
	if (h.assigned > 0)
		act = ACT_ON_CONTACT;
	else if (h.wrapups > 0)
		act = ACT_WRAP_UP;
	else if (h.offered > 0)
		act = ACT_OFFERED;
	else if (a->detached)
		act = ACT_DETACHED;
	else if (a->state == AGENT_AVAILABLE)
		act = ACT_AVAILABLE;
	else if (a->state == AGENT_BREAK)
		act = ACT_BREAK;
	else
		act = ACT_OFFLINE;
	c->by_activity[act]++;
}

/* Per-queue figures from the engine, one family at a time (the format
 * wants a family's samples together). */
static void metrics_queues(struct admin *adm, struct evbuffer *o)
{
	const struct engine *e = router_engine(adm->env.router);
	int64_t now = router_now_ms();
	size_t n = engine_queue_count(e);
	struct engine_queue_stats *qs = calloc(n + 1, sizeof *qs);
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"switchboard_contacts_waiting", "gauge",
	     "Contacts waiting (or offered) in the queue."},
	    {"switchboard_contact_longest_wait_seconds", "gauge",
	     "How long the longest-waiting contact of the queue has waited."},
	    {"switchboard_queue_service_level_ratio", "gauge",
	     "Answered within the SLA / (answered + abandoned after the SLA); NaN before any; "
	     "period window = routing.stats_window_ms, total = since start."},
	    {"switchboard_queue_service_level_target_ratio", "gauge",
	     "The queue's service-level target."},
	    {"switchboard_contacts_answered_total", "counter",
	     "Contacts assigned to an agent, since start."},
	    {"switchboard_contacts_answered_in_sla_total", "counter",
	     "Contacts assigned within their SLA threshold, since start."},
	    {"switchboard_contacts_abandoned_total", "counter",
	     "Contacts cancelled by their gateway before assignment, since start."},
	    {"switchboard_contacts_expired_total", "counter",
	     "Contacts that expired (max wait, no agent), since start."},
	    {"switchboard_contacts_overflowed_total", "counter",
	     "Contacts moved out of the queue to its overflow, since start."},
	};

	if (qs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (engine_queue_stats(e, engine_queue_name(e, i), now, &qs[i]) != 0)
			qs[i].queue = NULL;
	for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		metrics_family(o, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct engine_queue_stats *q = &qs[i];
			const char *ch = channel_name(q->channel);
			const char *l[] = {"queue", q->queue, "channel", ch, NULL};
			const struct engine_period_stats *t = &q->total;

			if (q->queue == NULL)
				continue;
			switch (f) {
			case 0:
				metrics_sample(o, fam[f].name, l, q->waiting);
				break;
			case 1:
				metrics_sample(o, fam[f].name, l,
				               (double)q->longest_wait_ms / 1000.0);
				break;
			case 2: {
				const char *lw[] = {"queue", q->queue, "period", "window", NULL};
				const char *lt[] = {"queue", q->queue, "period", "total", NULL};
				metrics_sample(
				    o, fam[f].name, lw,
				    q->window.service_level < 0 ? NAN : q->window.service_level);
				metrics_sample(o, fam[f].name, lt,
				               t->service_level < 0 ? NAN : t->service_level);
				break;
			}
			case 3: {
				const char *lq[] = {"queue", q->queue, NULL};
				metrics_sample(o, fam[f].name, lq, q->target_pct / 100.0);
				break;
			}
			case 4:
				metrics_sample(o, fam[f].name, l, (double)t->answered);
				break;
			case 5:
				metrics_sample(o, fam[f].name, l, (double)t->answered_in_sla);
				break;
			case 6:
				metrics_sample(
				    o, fam[f].name, l,
				    (double)(t->abandoned_in_sla + t->abandoned_after_sla));
				break;
			case 7:
				metrics_sample(o, fam[f].name, l, (double)t->expired);
				break;
			case 8:
				metrics_sample(o, fam[f].name, l, (double)t->overflowed);
				break;
			}
		}
	}
	metrics_family(o, "switchboard_contact_wait_seconds", "histogram",
	               "Time from arrival to assignment, per queue.");
	for (size_t i = 0; i < n; i++) {
		struct metrics_queue *mq = metrics_queue(adm->metrics, qs[i].queue);
		if (mq != NULL)
			metrics_histogram(o, "switchboard_contact_wait_seconds", "queue", mq->name,
			                  &mq->wait, &metrics_wait_bounds);
	}
	metrics_family(o, "switchboard_contact_handle_seconds", "histogram",
	               "Time from assignment to completion, per queue.");
	for (size_t i = 0; i < n; i++) {
		struct metrics_queue *mq = metrics_queue(adm->metrics, qs[i].queue);
		if (mq != NULL)
			metrics_histogram(o, "switchboard_contact_handle_seconds", "queue",
			                  mq->name, &mq->handle, &metrics_handle_bounds);
	}
	free(qs);
}

/* Role, leadership and the store's state. */
static void metrics_leadership_families(struct admin *adm, struct evbuffer *o)
{
	const struct metrics *m = adm->metrics;
	static const char *const roles[METRICS_ROLES] = {"waiting", "standby", "recovering",
	                                                 "leader", "stopping"};
	static const char *const changes[METRICS_LEADERSHIP_CHANGES] = {"acquired", "lost",
	                                                                "released"};
	static const struct {
		enum store_state state;
		const char *name;
	} stores[] = {{STORE_DOWN, "down"},
	              {STORE_CONNECTING, "connecting"},
	              {STORE_READY, "ready"},
	              {STORE_REFUSING, "refusing"}};
	enum store_state st = store_state(adm->env.store);

	metrics_family(o, "switchboard_store_up", "gauge", "1 when the Redis store is ready.");
	metrics_sample(o, "switchboard_store_up", NULL, st == STORE_READY ? 1 : 0);
	metrics_family(o, "switchboard_store_state", "gauge",
	               "1 for the store's state: down, connecting, ready, refusing (Redis "
	               "refuses writes: OOM, MISCONF, READONLY).");
	for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++)
		metrics_sample(o, "switchboard_store_state",
		               (const char *const[]){"state", stores[i].name, NULL},
		               st == stores[i].state ? 1 : 0);
	metrics_family(o, "switchboard_role", "gauge",
	               "1 for this daemon's role: waiting (for Redis), standby, recovering (a term "
	               "started; loading), leader (serving), stopping.");
	for (int r = 0; r < METRICS_ROLES; r++)
		metrics_sample(o, "switchboard_role", (const char *const[]){"role", roles[r], NULL},
		               m->role == r ? 1 : 0);
	metrics_family(o, "switchboard_leader", "gauge",
	               "1 while this daemon leads and serves clients.");
	metrics_sample(o, "switchboard_leader", NULL, m->role == METRICS_ROLE_LEADER ? 1 : 0);
	metrics_family(o, "switchboard_epoch", "gauge",
	               "The highest fencing epoch seen in Redis: this daemon's term while it "
	               "leads; it rises at every change of leader.");
	metrics_sample(o, "switchboard_epoch", NULL, (double)m->epoch);
	metrics_family(o, "switchboard_leadership_changes_total", "counter",
	               "Terms this daemon started (acquired), lost to another daemon or a "
	               "fencing (lost), and gave up on a clean stop (released).");
	for (int c = 0; c < METRICS_LEADERSHIP_CHANGES; c++)
		metrics_sample(o, "switchboard_leadership_changes_total",
		               (const char *const[]){"change", changes[c], NULL},
		               (double)m->leadership[c]);
}

/* Every queue counted since start, the configured ones first in their
 * order, then those a reload removed. Owner: the caller (free); NULL when
 * out of memory. */
static const struct metrics_queue **metrics_queue_list(struct admin *adm, size_t *n)
{
	const struct engine *e = router_engine(adm->env.router);
	struct strmap *queues = &adm->metrics->queues;
	size_t n_engine = engine_queue_count(e), total = 0;
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(queues, &it, &k, &v);)
		total++;
	const struct metrics_queue **list = calloc(total + n_engine + 1, sizeof *list);
	if (list == NULL)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < n_engine; i++)
		list[(*n)++] = metrics_queue(adm->metrics, engine_queue_name(e, i));
	for (size_t it = 0; strmap_next(queues, &it, &k, &v);) {
		size_t j = 0;
		while (j < n_engine && strcmp(engine_queue_name(e, j), k) != 0)
			j++;
		if (j == n_engine)
			list[(*n)++] = v;
	}
	return list;
}

/* Offers by queue. */
static void metrics_offer_families(struct admin *adm, struct evbuffer *o)
{
	static const char *const outcomes[] = {"accepted",  "rejected",   "timeout",
	                                       "cancelled", "agent_gone", "agent_away", "admin"};
	_Static_assert(sizeof outcomes / sizeof outcomes[0] == METRICS_OFFER_OUTCOMES,
	               "a name for every offer outcome");
	size_t n = 0;
	const struct metrics_queue **qs = metrics_queue_list(adm, &n);

	if (qs == NULL)
		return;
	metrics_family(o, "switchboard_offers_total", "counter",
	               "Offers made to agents, by queue; an auto-accepted contact counts as an "
	               "offer (accepted at once).");
	for (size_t i = 0; i < n; i++)
		metrics_sample(o, "switchboard_offers_total",
		               (const char *const[]){"queue", qs[i]->name, NULL},
		               (double)qs[i]->offers);
	metrics_family(o, "switchboard_offers_auto_accepted_total", "counter",
	               "Of the offers, those auto-accepted (channels.<ch>.auto_accept), by queue.");
	for (size_t i = 0; i < n; i++)
		metrics_sample(o, "switchboard_offers_auto_accepted_total",
		               (const char *const[]){"queue", qs[i]->name, NULL},
		               (double)qs[i]->auto_accepted);
	metrics_family(o, "switchboard_offer_outcomes_total", "counter",
	               "How offers ended, by queue; accepted includes auto-accepted ones.");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < METRICS_OFFER_OUTCOMES; k++)
			metrics_sample(o, "switchboard_offer_outcomes_total",
			               (const char *const[]){"queue", qs[i]->name, "outcome",
			                                     outcomes[k], NULL},
			               (double)qs[i]->outcomes[k]);
	free(qs);
}

/* Reloads, failed authentications, TLS handshakes. */
static void metrics_security_families(const struct metrics *m, struct evbuffer *o)
{
	static const char *const auth_roles[METRICS_AUTH_ROLES] = {"gateway", "agent", "admin"};
	static const char *const roles[] = {"gateway", "agent"};

	metrics_family(o, "switchboard_reloads_total", "counter",
	               "Configuration reloads (SIGHUP, POST /v1/reload): success, or failure (the "
	               "file refused, or a certificate that did not load; the log says which).");
	metrics_sample(o, "switchboard_reloads_total",
	               (const char *const[]){"result", "success", NULL}, (double)m->reloads_ok);
	metrics_sample(o, "switchboard_reloads_total",
	               (const char *const[]){"result", "failure", NULL}, (double)m->reloads_failed);
	metrics_family(o, "switchboard_config_last_reload_successful", "gauge",
	               "0 when the last reload failed (the configuration before it is in force).");
	metrics_sample(o, "switchboard_config_last_reload_successful", NULL,
	               m->last_reload_failed ? 0 : 1);
	metrics_family(o, "switchboard_auth_failures_total", "counter",
	               "Refused logins and admin changes, by role and the reason the client was "
	               "given.");
	for (size_t i = 0; i < m->n_auth; i++)
		metrics_sample(o, "switchboard_auth_failures_total",
		               (const char *const[]){"role", auth_roles[m->auth[i].role], "reason",
		                                     m->auth[i].reason, NULL},
		               (double)m->auth[i].n);
	metrics_family(o, "switchboard_tls_handshake_failures_total", "counter",
	               "TLS handshakes that failed on a client port: error (OpenSSL refused it: a "
	               "plain client, an unknown CA, an old protocol) or closed (the peer closed "
	               "the connection during it; TCP health checks do that).");
	for (int r = 0; r < 2; r++)
		for (int closed = 0; closed < 2; closed++)
			metrics_sample(o, "switchboard_tls_handshake_failures_total",
			               (const char *const[]){"role", roles[r], "reason",
			                                     closed ? "closed" : "error", NULL},
			               (double)m->tls_failures[r][closed]);
}

/* The standard process_* metrics, as Prometheus's client libraries name
 * them; a figure /proc does not give is left out. */
static void metrics_process_families(struct evbuffer *o)
{
	struct procstat ps;
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} fam[] = {
	    {"process_cpu_seconds_total", "counter",
	     "Total user and system CPU time spent in seconds.",
	     offsetof(struct procstat, cpu_seconds)},
	    {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	     offsetof(struct procstat, resident_bytes)},
	    {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
	     offsetof(struct procstat, virtual_bytes)},
	    {"process_start_time_seconds", "gauge",
	     "Start time of the process since unix epoch in seconds.",
	     offsetof(struct procstat, start_time_seconds)},
	    {"process_open_fds", "gauge", "Number of open file descriptors.",
	     offsetof(struct procstat, open_fds)},
	    {"process_max_fds", "gauge", "Maximum number of open file descriptors.",
	     offsetof(struct procstat, max_fds)},
	};

	procstat_read(&ps);
	for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
		double v;
		memcpy(&v, (const char *)&ps + fam[i].offset, sizeof v);
		if (v < 0)
			continue;
		metrics_family(o, fam[i].name, fam[i].type, fam[i].help);
		metrics_sample(o, fam[i].name, NULL, v);
	}
}

void admin_metrics_write(struct admin *adm, struct evbuffer *o)
{
	const struct metrics *m = adm->metrics;
	const struct engine *e = router_engine(adm->env.router);
	struct metrics_agents ag = {.e = e};
	static const char *const roles[] = {"gateway", "agent"};
	static const char *const kinds[METRICS_STORE_ERRORS] = {"not_ready", "timeout",
	                                                        "unavailable", "refused"};

	metrics_family(o, "switchboard_build_info", "gauge", "Always 1; the version as a label.");
	metrics_sample(o, "switchboard_build_info",
	               (const char *const[]){"version", SB_VERSION, NULL}, 1);
	metrics_family(o, "switchboard_start_time_seconds", "gauge",
	               "When the daemon started, Unix seconds.");
	metrics_sample(o, "switchboard_start_time_seconds", NULL, (double)adm->started_ms / 1000.0);
	metrics_leadership_families(adm, o);

	metrics_queues(adm, o);

	engine_each_agent(e, metrics_count_agent, &ag);
	metrics_family(o, "switchboard_agents", "gauge",
	               "Roster agents by what they are doing, one state each: logged_out, offline "
	               "(logged in, not ready), available (idle), offered (ringing), on_contact "
	               "(holding a contact), wrap_up, break, detached (client gone, in its grace "
	               "period). Occupancy = on_contact / (available + offered + on_contact + "
	               "wrap_up).");
	for (int a = 0; a < ACT_COUNT; a++)
		metrics_sample(o, "switchboard_agents",
		               (const char *const[]){"state", metrics_activity_names[a], NULL},
		               (double)ag.by_activity[a]);

	metrics_offer_families(adm, o);

	metrics_family(o, "switchboard_connections", "gauge", "Open client connections by role.");
	for (int r = 0; r < 2; r++)
		metrics_sample(o, "switchboard_connections",
		               (const char *const[]){"role", roles[r], NULL},
		               (double)m->connections[r]);
	metrics_sample(o, "switchboard_connections", (const char *const[]){"role", "admin", NULL},
	               (double)m->admin_connections);
	metrics_family(o, "switchboard_connections_accepted_total", "counter",
	               "Client connections accepted by role.");
	for (int r = 0; r < 2; r++)
		metrics_sample(o, "switchboard_connections_accepted_total",
		               (const char *const[]){"role", roles[r], NULL},
		               (double)m->connections_total[r]);
	metrics_sample(o, "switchboard_connections_accepted_total",
	               (const char *const[]){"role", "admin", NULL},
	               (double)m->admin_connections_total);

	metrics_family(o, "switchboard_frames_received_total", "counter",
	               "Frames decoded from clients.");
	metrics_sample(o, "switchboard_frames_received_total", NULL, (double)m->frames_received);
	metrics_family(o, "switchboard_frames_sent_total", "counter", "Frames queued to clients.");
	metrics_sample(o, "switchboard_frames_sent_total", NULL, (double)m->frames_sent);
	metrics_family(o, "switchboard_frame_decode_errors_total", "counter",
	               "Frames refused as BAD_FRAME (length out of bounds, undecodable).");
	metrics_sample(o, "switchboard_frame_decode_errors_total", NULL, (double)m->frame_errors);

	metrics_family(o, "switchboard_store_request_duration_seconds", "histogram",
	               "Round trips to Redis (a batch of writes is one), from sent to answered.");
	metrics_histogram(o, "switchboard_store_request_duration_seconds", NULL, NULL,
	                  &m->store_latency, &metrics_store_bounds);
	metrics_family(o, "switchboard_store_errors_total", "counter",
	               "Store requests that failed: not_ready (a client request refused at once, "
	               "the store being down, connecting or refusing writes), timeout (in flight "
	               "when Redis did not answer within redis.command_timeout_ms), unavailable "
	               "(in flight when the connection was lost), refused (Redis answered an "
	               "error).");
	for (int k = 0; k < METRICS_STORE_ERRORS; k++)
		metrics_sample(o, "switchboard_store_errors_total",
		               (const char *const[]){"kind", kinds[k], NULL},
		               (double)m->store_errors[k]);
	metrics_family(o, "switchboard_redis_data_loss_total", "counter",
	               "Times Redis was found to have lost data it had acknowledged (flushed, "
	               "restarted without its data, rolled back); each time the live state was "
	               "written back.");
	metrics_sample(o, "switchboard_redis_data_loss_total", NULL, (double)m->store_data_losses);

	metrics_security_families(m, o);

	metrics_family(o, "switchboard_admin_requests_total", "counter",
	               "Requests to the admin HTTP API.");
	metrics_sample(o, "switchboard_admin_requests_total", NULL, (double)m->admin_requests);

	metrics_process_families(o);
}

void admin_metrics_handler(struct admin_req *r)
{
	struct evbuffer *o = evbuffer_new();

	admin_metrics_write(r->adm, o);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
	                  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Cache-Control", "no-store");
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD)
		evbuffer_drain(o, evbuffer_get_length(o));
	evhttp_send_reply(r->req, 200, "OK", o);
	evbuffer_free(o);
}

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "metrics.h"
#include "router/router.h"
#include "store/store.h"

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

struct metrics_agents {
	uint64_t by_state[3], logged_out;
};

static void metrics_count_agent(void *arg, const struct engine_agent_view *a)
{
	struct metrics_agents *c = arg;

	if (!a->logged_in)
		c->logged_out++;
	else
		c->by_state[a->state]++;
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

void admin_metrics_write(struct admin *adm, struct evbuffer *o)
{
	const struct metrics *m = adm->metrics;
	struct admin *adm_ = adm;
	struct metrics_agents ag = {{0}, 0};
	static const char *const roles[] = {"gateway", "agent"};
	static const char *const outcomes[] = {"accepted",  "rejected",   "timeout",
	                                       "cancelled", "agent_gone", "agent_away"};

	metrics_family(o, "switchboard_build_info", "gauge", "Always 1; the version as a label.");
	metrics_sample(o, "switchboard_build_info",
	               (const char *const[]){"version", SB_VERSION, NULL}, 1);
	metrics_family(o, "switchboard_start_time_seconds", "gauge",
	               "When the daemon started, Unix seconds.");
	metrics_sample(o, "switchboard_start_time_seconds", NULL, (double)adm->started_ms / 1000.0);
	metrics_family(o, "switchboard_store_up", "gauge", "1 when the Redis store is ready.");
	metrics_sample(o, "switchboard_store_up", NULL,
	               store_state(adm_->env.store) == STORE_READY ? 1 : 0);

	metrics_queues(adm, o);

	engine_each_agent(router_engine(adm_->env.router), metrics_count_agent, &ag);
	metrics_family(o, "switchboard_agents", "gauge",
	               "Agents in the roster by state; logged_out = not connected.");
	for (int s = 0; s < 3; s++)
		metrics_sample(
		    o, "switchboard_agents",
		    (const char *const[]){
		        "state", engine_agent_state_name((enum engine_agent_state)s), NULL},
		    (double)ag.by_state[s]);
	metrics_sample(o, "switchboard_agents", (const char *const[]){"state", "logged_out", NULL},
	               (double)ag.logged_out);

	metrics_family(o, "switchboard_offers_total", "counter", "Offers made to agents.");
	metrics_sample(o, "switchboard_offers_total", NULL, (double)m->offers_made);
	metrics_family(o, "switchboard_offer_outcomes_total", "counter",
	               "How offers ended; accepted includes auto-accepted assignments.");
	for (int i = 0; i < METRICS_OFFER_OUTCOMES; i++)
		metrics_sample(o, "switchboard_offer_outcomes_total",
		               (const char *const[]){"outcome", outcomes[i], NULL},
		               (double)m->offer_outcomes[i]);

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
	               "Redis round trips of the store's writes (millisecond resolution).");
	metrics_histogram(o, "switchboard_store_request_duration_seconds", NULL, NULL,
	                  &m->store_latency, &metrics_store_bounds);
	metrics_family(o, "switchboard_store_errors_total", "counter",
	               "Store requests that failed: unavailable (connection lost, timeout) or "
	               "refused (Redis answered an error).");
	metrics_sample(o, "switchboard_store_errors_total",
	               (const char *const[]){"kind", "unavailable", NULL},
	               (double)m->store_errors_unavailable);
	metrics_sample(o, "switchboard_store_errors_total",
	               (const char *const[]){"kind", "refused", NULL},
	               (double)m->store_errors_refused);
	metrics_family(o, "switchboard_redis_data_loss_total", "counter",
	               "Times Redis was found to have lost data it had acknowledged (flushed, "
	               "restarted without its data, rolled back); each time the live state was "
	               "written back.");
	metrics_sample(o, "switchboard_redis_data_loss_total", NULL, (double)m->store_data_losses);

	metrics_family(o, "switchboard_admin_requests_total", "counter",
	               "Requests to the admin HTTP API.");
	metrics_sample(o, "switchboard_admin_requests_total", NULL, (double)m->admin_requests);
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

/* The record: see record.h. Every field name of the Redis format is in this
 * file; docs/redis.md describes them. */
#include "record/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/xalloc.h"

const char record_seq_field[] = "event_seq";

/* ---- the engine's payload ---------------------------------------------------- */

struct record_data *record_data_new(const Switchboard__V1__SubmitContact *msg, const char *sid,
				    const char *queue)
{
	struct record_data *d = xcalloc(1, sizeof *d);

	if (msg != NULL) {
		d->packed_len = switchboard__v1__submit_contact__get_packed_size(msg);
		d->packed = xmalloc(d->packed_len ? d->packed_len : 1);
		switchboard__v1__submit_contact__pack(msg, d->packed);
	}
	snprintf(d->sid, sizeof d->sid, "%s", sid ? sid : "");
	snprintf(d->queue, sizeof d->queue, "%s", queue ? queue : "");
	return d;
}

struct record_data *record_data_copy(const struct record_data *d)
{
	struct record_data *q = xmalloc(sizeof *q);

	*q = *d;
	if (d->packed != NULL) {
		q->packed = xmalloc(d->packed_len ? d->packed_len : 1);
		memcpy(q->packed, d->packed, d->packed_len);
	}
	return q;
}

Switchboard__V1__SubmitContact *record_data_message(const struct record_data *d)
{
	if (d == NULL || d->packed == NULL)
		return NULL;
	return switchboard__v1__submit_contact__unpack(NULL, d->packed_len, d->packed);
}

void record_data_free(void *ctx, void *data)
{
	struct record_data *d = data;

	if (d == NULL)
		return;
	free(d->packed);
	free(d);
}

void record_event_id(const struct engine_contact_view *c, char *out, size_t len)
{
	const struct record_data *d = c->user;
	snprintf(out, len, "%s/%u", c->id, d ? d->seq : 0);
}

/* ---- building a write ---------------------------------------------------------- */

/* A number as text, kept in rw until the write is handed over. */
static const char *rw_num(struct record_write *rw, int64_t v)
{
	char *s = rw->nums[rw->n_nums++];
	decimal_i64(s, v);
	return s;
}

static void rw_field(struct record_write *rw, const char *name, const char *value)
{
	rw->fields[rw->w.n_fields++] = (struct store_field){ name, value ? value : "", 0 };
}

static void rw_event(struct record_write *rw, const char *name, const char *value)
{
	rw->event[rw->w.n_event++] = (struct store_field){ name, value ? value : "", 0 };
}

/* A contact's next transition: numbered from its data, with the number in
 * the hash and the event id in the event. */
static void rw_contact(struct record_write *rw, const struct engine_contact_view *c,
		       const char *event, int64_t now)
{
	struct record_data *d = c->user;
	uint32_t seq = d != NULL ? ++d->seq : 1;

	memset(rw, 0, sizeof *rw);
	rw->w.kind = STORE_CONTACT;
	rw->w.id = c->id;
	rw->w.seq = seq;
	rw->w.fields = rw->fields;
	rw->w.event = rw->event;
	snprintf(rw->event_id, sizeof rw->event_id, "%s/%u", c->id, seq);
	/* No "updated_ms": each transition's time is its stream entry's id, and
	 * the hash keeps the times that matter (assigned_ms, completed_ms). */
	rw_field(rw, record_seq_field, rw_num(rw, seq));
	rw_event(rw, "event", event);
	rw_event(rw, "contact", c->id);
	rw_event(rw, "event_id", rw->event_id);
}

static void rw_agent(struct record_write *rw, const char *agent_id, const char *event,
		     uint32_t seq, int64_t now)
{
	memset(rw, 0, sizeof *rw);
	rw->w.kind = STORE_AGENT;
	rw->w.id = agent_id;
	rw->w.seq = seq;
	rw->w.fields = rw->fields;
	rw->w.event = rw->event;
	snprintf(rw->event_id, sizeof rw->event_id, "agent:%s/%u", agent_id, seq);
	rw_field(rw, record_seq_field, rw_num(rw, seq));
	rw_field(rw, "updated_ms", rw_num(rw, now));
	rw_event(rw, "event", event);
	rw_event(rw, "agent", agent_id);
	rw_event(rw, "event_id", rw->event_id);
}

void record_write_done(struct record_write *rw)
{
	free(rw->owned);
	rw->owned = NULL;
}

void record_submit(struct record_submit *rs, const char *contact_id, const char *gateway_id,
		   const Switchboard__V1__SubmitContact *msg, const struct record_data *data,
		   enum sb_channel ch, const char *queue, int64_t arrived_ms, int64_t deadline_ms)
{
	const char *tier = msg->customer ? msg->customer->tier : "";
	size_t n = 0, e = 0;

	memset(rs, 0, sizeof *rs);
	decimal_i64(rs->nums[0], arrived_ms);
	decimal_i64(rs->nums[1], deadline_ms);
	decimal_i64(rs->nums[2], msg->priority);
	snprintf(rs->event_id, sizeof rs->event_id, "%s/1", contact_id);
	/* What the hash and the submitted event both carry. */
	const struct store_field both[] = {
		{ "gateway", gateway_id, 0 },	 { "external_id", msg->external_id, 0 },
		{ "channel", channel_name(ch), 0 }, { "queue", queue, 0 },
		{ "tier", tier, 0 },		 { "priority", rs->nums[2], 0 },
		{ "arrived_ms", rs->nums[0], 0 },   { "deadline_ms", rs->nums[1], 0 },
	};
	const size_t n_both = sizeof both / sizeof both[0];

	rs->fields[n++] = (struct store_field){ "id", contact_id, 0 };
	memcpy(rs->fields + n, both, sizeof both);
	n += n_both;
	rs->fields[n++] = (struct store_field){ "state", "waiting", 0 };
	rs->fields[n++] = (struct store_field){ record_seq_field, "1", 0 };
	rs->fields[n++] = (struct store_field){ "payload", (const char *)data->packed,
						data->packed_len };
	/* The payload stays out of the stream: a consumer reads the hash for it. */
	rs->event[e++] = (struct store_field){ "event", "submitted", 0 };
	rs->event[e++] = (struct store_field){ "contact", contact_id, 0 };
	rs->event[e++] = (struct store_field){ "event_id", rs->event_id, 0 };
	memcpy(rs->event + e, both, sizeof both);
	e += n_both;
	/* An empty payload is still a field: a zero length means strlen(). */
	if (data->packed_len == 0)
		rs->fields[n - 1].value = "";
	rs->s = (struct store_submit){
		.contact_id = contact_id,
		.gateway_id = gateway_id,
		.external_id = msg->external_id,
		.queue = queue,
		.deadline_ms = deadline_ms,
		.fields = rs->fields,
		.n_fields = n,
		.event = rs->event,
		.n_event = e,
	};
}

void record_offered(struct record_write *rw, const struct engine_contact_view *c, int64_t now)
{
	rw_contact(rw, c, "offered", now);
	rw_field(rw, "state", "offered");
	rw_field(rw, "agent", c->agent_id);
	rw_field(rw, "offer_id", c->offer_id);
	rw_field(rw, "offer_expires_ms", rw_num(rw, c->offer_expires_ms));
	rw_event(rw, "agent", c->agent_id);
	rw_event(rw, "offer_id", c->offer_id);
	/* An offered contact keeps its place in its queue's set (it was put
	 * there, at this deadline, when it last began to wait). */
	rw->w.zop = STORE_ZNONE;
}

void record_requeued(struct record_write *rw, const struct engine_contact_view *c,
		     const char *agent_id, const char *offer_id, const char *reason, int64_t now)
{
	rw_contact(rw, c, "requeued", now);
	rw_field(rw, "state", "waiting");
	rw_field(rw, "agent", "");
	rw_field(rw, "offer_id", "");
	rw_event(rw, "agent", agent_id);
	rw_event(rw, "offer_id", offer_id);
	rw_event(rw, "reason", reason);
	rw->w.zop = STORE_ZADD;
	rw->w.queue = c->queue;
	rw->w.score = c->deadline_ms;
}

void record_unassigned(struct record_write *rw, const struct engine_contact_view *c,
		       const char *agent_id, const char *reason, int64_t now)
{
	rw_contact(rw, c, "requeued", now);
	rw_field(rw, "state", "waiting");
	rw_field(rw, "agent", "");
	rw_field(rw, "offer_id", "");
	rw_field(rw, "assigned_ms", "0");
	/* Back in its queue: steps and max wait count from now (recovery). */
	rw_field(rw, "entered_ms", rw_num(rw, now));
	rw_event(rw, "agent", agent_id);
	rw_event(rw, "offer_id", "");
	rw_event(rw, "reason", reason);
	/* Its assignment took it out of its queue's set. */
	rw->w.zop = STORE_ZADD;
	rw->w.queue = c->queue;
	rw->w.score = c->deadline_ms;
}

void record_assigned(struct record_write *rw, const struct engine_contact_view *c,
		     int64_t waited_ms, bool sla_met, int64_t now)
{
	rw_contact(rw, c, "assigned", now);
	rw_field(rw, "state", "assigned");
	rw_field(rw, "agent", c->agent_id);
	rw_field(rw, "offer_id", "");
	rw_field(rw, "assigned_ms", rw_num(rw, now));
	rw_event(rw, "agent", c->agent_id);
	rw_event(rw, "waited_ms", rw_num(rw, waited_ms));
	rw_event(rw, "sla_met", sla_met ? "1" : "0");
	rw->w.zop = STORE_ZREM;
	rw->w.queue = c->queue;
}

void record_completed(struct record_write *rw, const struct engine_contact_view *c,
		      const char *disposition, int64_t handle_ms, const char *by, int64_t ttl_s,
		      int64_t now)
{
	rw_contact(rw, c, "completed", now);
	rw_field(rw, "state", "completed");
	rw_field(rw, "disposition", disposition);
	rw_field(rw, "completed_ms", rw_num(rw, now));
	rw_event(rw, "agent", c->agent_id);
	rw_event(rw, "disposition", disposition);
	rw_event(rw, "handle_ms", rw_num(rw, handle_ms));
	if (by != NULL)
		rw_event(rw, "by", by);
	/* Its assignment already took it out of its queue's set. */
	rw->w.zop = STORE_ZNONE;
	rw->w.expire_s = ttl_s;
	rw->w.closes = true;
	rw->w.outcome_of = c->gateway_id;
	rw->w.at_ms = now;
}

void record_ended(struct record_write *rw, const struct engine_contact_view *c, const char *state,
		  const char *reason, int64_t ttl_s, int64_t now)
{
	rw_contact(rw, c, state, now);
	rw_field(rw, "state", state);
	rw_field(rw, "reason", reason);
	rw_field(rw, "agent", "");
	rw_field(rw, "offer_id", "");
	rw_event(rw, "reason", reason);
	rw->w.zop = STORE_ZREM;
	rw->w.queue = c->queue;
	rw->w.expire_s = ttl_s;
	rw->w.closes = true;
	rw->w.outcome_of = c->gateway_id;
	rw->w.at_ms = now;
}

void record_event(struct record_write *rw, const struct engine_contact_view *c,
		  enum engine_event ev, const char *detail, int64_t now)
{
	const struct record_data *d = c->user;

	rw_contact(rw, c, engine_event_name(ev), now);
	rw_event(rw, "detail", detail);
	if (ev == EVENT_SLA_BREACHED) {
		rw_field(rw, "sla_breached", "1");
		return;
	}
	/* Moved to another queue: steps count from entering it (recovery). */
	const char *ts = rw_num(rw, now);
	rw_field(rw, "queue", c->queue);
	rw_field(rw, "deadline_ms", rw_num(rw, c->deadline_ms));
	rw_field(rw, "entered_ms", ts);
	rw->w.queue = c->queue;
	rw->w.score = c->deadline_ms;
	if (ev == EVENT_OVERFLOWED && d != NULL && d->queue[0] != '\0') {
		/* from the set it waited in to the new queue's */
		rw->w.zop = STORE_ZMOVE;
		rw->w.from_queue = d->queue;
	} else {
		/* a transferred contact left its set when it was assigned */
		rw_field(rw, "state", "waiting");
		rw_field(rw, "agent", "");
		rw->w.zop = STORE_ZADD;
	}
}

void record_agent_state(struct record_write *rw, const struct engine_agent_view *a, uint32_t seq,
			int64_t now)
{
	const char *state = engine_agent_state_name(a->state);

	rw_agent(rw, a->id, "agent_state", seq, now);
	rw_field(rw, "state", state);
	rw_field(rw, "reason", a->reason);
	rw_event(rw, "state", state);
	rw_event(rw, "reason", a->reason);
}

void record_roster(struct record_write *rw, const char *agent_id, const char *json,
		   const char *change, uint32_t seq, int64_t now)
{
	rw_agent(rw, agent_id, "roster", seq, now);
	rw_field(rw, "roster_removed", json == NULL ? "1" : "0");
	if (json != NULL) {
		rw->owned = xstrdup(json);
		rw_field(rw, "roster", rw->owned);
	}
	rw_event(rw, "change", change);
	rw->w.roster = true;
}

/* ---- putting back --------------------------------------------------------------- */

static const char *record_state_name(enum engine_contact_state s)
{
	switch (s) {
	case CONTACT_WAITING: return "waiting";
	case CONTACT_OFFERED: return "offered";
	case CONTACT_ASSIGNED: return "assigned";
	case CONTACT_COMPLETED: return "completed";
	case CONTACT_CANCELLED: return "cancelled";
	case CONTACT_EXPIRED: return "expired";
	}
	return "?";
}

/* "<gateway>:<external id>", the external-id key's tail, kept in rw. */
static const char *rw_external(struct record_write *rw, const char *gateway, const char *ext)
{
	free(rw->owned);
	rw->owned = xasprintf("%s:%s", gateway, ext);
	return rw->owned;
}

void record_put_contact(struct record_write *rw, const struct engine_contact_view *c,
			int64_t entered_ms)
{
	const struct record_data *d = c->user;
	Switchboard__V1__SubmitContact *m = record_data_message(d);

	memset(rw, 0, sizeof *rw);
	rw->w.kind = STORE_CONTACT;
	rw->w.id = c->id;
	rw->w.fields = rw->fields;
	rw->w.event = rw->event;
	rw_field(rw, "id", c->id);
	rw_field(rw, "gateway", c->gateway_id);
	rw_field(rw, "external_id", c->external_id);
	rw_field(rw, "channel", channel_name(c->channel));
	rw_field(rw, "queue", c->queue);
	rw_field(rw, "tier", c->customer_tier);
	rw_field(rw, "priority", rw_num(rw, m != NULL ? m->priority : 0));
	rw_field(rw, "arrived_ms", rw_num(rw, c->arrived_ms));
	rw_field(rw, "deadline_ms", rw_num(rw, c->deadline_ms));
	rw_field(rw, "entered_ms", rw_num(rw, entered_ms));
	rw_field(rw, "state", record_state_name(c->state));
	rw_field(rw, "agent", c->agent_id);
	rw_field(rw, "offer_id", c->offer_id);
	if (c->state == CONTACT_OFFERED)
		rw_field(rw, "offer_expires_ms", rw_num(rw, c->offer_expires_ms));
	if (c->state == CONTACT_ASSIGNED)
		rw_field(rw, "assigned_ms", rw_num(rw, c->assigned_ms));
	if (c->sla_breached)
		rw_field(rw, "sla_breached", "1");
	rw_field(rw, record_seq_field, rw_num(rw, d != NULL ? d->seq : 0));
	if (d != NULL && d->packed_len > 0)
		rw->fields[rw->w.n_fields++] = (struct store_field){ "payload",
								     (const char *)d->packed,
								     d->packed_len };
	if (m != NULL)
		switchboard__v1__submit_contact__free_unpacked(m, NULL);
	rw->w.queue = c->queue;
	rw->w.score = c->deadline_ms;
	rw->w.zop = c->state == CONTACT_ASSIGNED ? STORE_ZREM : STORE_ZADD;
	rw->w.opens = true;
	rw->w.external_key = rw_external(rw, c->gateway_id, c->external_id);
}

/* Copies s to *at, advancing it: a finished record's strings follow it. */
static char *record_pack(char **at, const char *s)
{
	char *out = *at;
	size_t n = strlen(s) + 1;

	memcpy(out, s, n);
	*at += n;
	return out;
}

/* The strings a finished record keeps, in the order they are packed. */
#define RECORD_FINISHED_STRS 9
static void record_finished_strs(const struct engine_contact_view *c, const char *state,
				 const char *text, const char *out[RECORD_FINISHED_STRS])
{
	out[0] = c->id;
	out[1] = c->gateway_id;
	out[2] = c->external_id;
	out[3] = c->queue;
	out[4] = channel_name(c->channel);
	out[5] = c->customer_tier ? c->customer_tier : "";
	out[6] = state;
	out[7] = c->agent_id ? c->agent_id : "";
	out[8] = text ? text : "";
}

size_t record_finished_size(const struct engine_contact_view *c, const char *state,
			    const char *text)
{
	const struct record_data *d = c->user;
	const char *strs[RECORD_FINISHED_STRS];
	size_t size = sizeof(struct record_finished);

	record_finished_strs(c, state, text, strs);
	if (d != NULL && d->packed != NULL)
		size += d->packed_len;
	for (size_t i = 0; i < RECORD_FINISHED_STRS; i++)
		size += strlen(strs[i]) + 1;
	return size;
}

struct record_finished *record_finished_init(void *mem, const struct engine_contact_view *c,
					     const char *state, const char *text, int64_t ttl_s,
					     int64_t now)
{
	const struct record_data *d = c->user;
	size_t plen = d != NULL && d->packed != NULL ? d->packed_len : 0;
	const char *strs[RECORD_FINISHED_STRS];
	struct record_finished *f = mem;
	char *at = (char *)(f + 1);

	record_finished_strs(c, state, text, strs);
	*f = (struct record_finished){
		.arrived_ms = c->arrived_ms,
		.deadline_ms = c->deadline_ms,
		.assigned_ms = c->assigned_ms,
		.finished_ms = now,
		.ttl_s = ttl_s,
		.seq = d != NULL ? d->seq : 0,
		.payload = (uint8_t *)at,
		.payload_len = plen,
	};
	if (plen > 0)
		memcpy(at, d->packed, plen);
	at += plen;
	char **dst[RECORD_FINISHED_STRS] = { &f->id, &f->gateway, &f->external_id, &f->queue,
					     &f->channel, &f->tier, &f->state, &f->agent, &f->text };
	for (size_t i = 0; i < RECORD_FINISHED_STRS; i++)
		*dst[i] = record_pack(&at, strs[i]);
	return f;
}

void record_put_finished(struct record_write *rw, const struct record_finished *f)
{
	bool completed = strcmp(f->state, "completed") == 0;

	memset(rw, 0, sizeof *rw);
	rw->w.kind = STORE_CONTACT;
	rw->w.id = f->id;
	rw->w.fields = rw->fields;
	rw->w.event = rw->event;
	rw_field(rw, "id", f->id);
	rw_field(rw, "gateway", f->gateway);
	rw_field(rw, "external_id", f->external_id);
	rw_field(rw, "channel", f->channel);
	rw_field(rw, "queue", f->queue);
	rw_field(rw, "tier", f->tier);
	rw_field(rw, "arrived_ms", rw_num(rw, f->arrived_ms));
	rw_field(rw, "deadline_ms", rw_num(rw, f->deadline_ms));
	rw_field(rw, "state", f->state);
	rw_field(rw, "agent", f->agent);
	rw_field(rw, completed ? "disposition" : "reason", f->text);
	if (completed) {
		rw_field(rw, "assigned_ms", rw_num(rw, f->assigned_ms));
		rw_field(rw, "completed_ms", rw_num(rw, f->finished_ms));
	}
	rw_field(rw, record_seq_field, rw_num(rw, f->seq));
	if (f->payload_len > 0)
		rw->fields[rw->w.n_fields++] = (struct store_field){ "payload",
								     (const char *)f->payload,
								     f->payload_len };
	rw->w.queue = f->queue;
	rw->w.zop = STORE_ZREM;
	rw->w.closes = true;
	rw->w.expire_s = f->ttl_s;
	rw->w.external_key = rw_external(rw, f->gateway, f->external_id);
}

void record_put_agent(struct record_write *rw, const struct engine_agent_view *a, uint32_t seq,
		      const char *roster_json, bool roster_removed, int64_t now)
{
	memset(rw, 0, sizeof *rw);
	rw->w.kind = STORE_AGENT;
	rw->w.id = a->id;
	rw->w.fields = rw->fields;
	rw->w.event = rw->event;
	rw_field(rw, "state", engine_agent_state_name(a->logged_in ? a->state : AGENT_OFFLINE));
	rw_field(rw, "reason", a->reason);
	rw_field(rw, "updated_ms", rw_num(rw, a->state_since_ms ? a->state_since_ms : now));
	rw_field(rw, record_seq_field, rw_num(rw, seq));
	if (roster_removed || roster_json != NULL) {
		rw_field(rw, "roster_removed", roster_removed ? "1" : "0");
		if (roster_json != NULL) {
			rw->owned = xstrdup(roster_json);
			rw_field(rw, "roster", rw->owned);
		}
		rw->w.roster = true;
	}
}

void record_put_reseeded(struct record_write *rw, const char *why, size_t contacts,
			 size_t agents, int64_t now)
{
	memset(rw, 0, sizeof *rw);
	rw->w.event = rw->event;
	rw_event(rw, "event", "reseeded");
	rw_event(rw, "reason", why);
	rw_event(rw, "contacts", rw_num(rw, (int64_t)contacts));
	rw_event(rw, "agents", rw_num(rw, (int64_t)agents));
	rw_event(rw, "at_ms", rw_num(rw, now));
}

/* ---- reading ---------------------------------------------------------------------- */

static const char *record_field(const struct store_field *f, size_t n, const char *name,
				size_t *len)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0) {
			if (len != NULL)
				*len = f[i].len;
			return f[i].value;
		}
	return NULL;
}

static int64_t record_num(const struct store_field *f, size_t n, const char *name)
{
	const char *v = record_field(f, n, name, NULL);
	return v ? strtoll(v, NULL, 10) : 0;
}

/* NULL for a missing or empty field. */
static const char *record_str(const struct store_field *f, size_t n, const char *name)
{
	const char *v = record_field(f, n, name, NULL);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

int record_contact_read(const char *id, const struct store_field *f, size_t n,
			struct record_contact *out, const char **why)
{
	const char *channel = record_field(f, n, "channel", NULL);
	const char *state = record_field(f, n, "state", NULL);
	size_t plen = 0;
	const char *payload = record_field(f, n, "payload", &plen);
	int ch = channel ? channel_parse(channel) : -1;

	memset(out, 0, sizeof *out);
	out->id = id;
	out->gateway = record_field(f, n, "gateway", NULL);
	out->external_id = record_field(f, n, "external_id", NULL);
	out->queue = record_str(f, n, "queue");
	if (ch < 0 || out->queue == NULL || state == NULL || payload == NULL ||
	    out->gateway == NULL || out->external_id == NULL) {
		*why = "its hash is incomplete (no channel, queue, state, gateway or payload)";
		return SB_ERR_NOT_FOUND;
	}
	out->channel = (enum sb_channel)ch;
	out->state = strcmp(state, "waiting") == 0    ? RECORD_WAITING
		     : strcmp(state, "offered") == 0  ? RECORD_OFFERED
		     : strcmp(state, "assigned") == 0 ? RECORD_ASSIGNED
						      : RECORD_FINISHED;
	out->agent = record_str(f, n, "agent");
	out->offer_id = record_str(f, n, "offer_id");
	out->arrived_ms = record_num(f, n, "arrived_ms");
	out->deadline_ms = record_num(f, n, "deadline_ms");
	out->entered_ms = record_num(f, n, "entered_ms");
	out->assigned_ms = record_num(f, n, "assigned_ms");
	out->sla_breached = record_num(f, n, "sla_breached") == 1;
	out->seq = (uint32_t)record_num(f, n, record_seq_field);
	out->payload = (const uint8_t *)payload;
	out->payload_len = plen;
	return 0;
}

int record_outcome_read(const char *id, const struct store_field *f, size_t n,
			struct record_outcome *out)
{
	const char *state = record_field(f, n, "state", NULL);
	const char *gateway = record_field(f, n, "gateway", NULL);

	memset(out, 0, sizeof *out);
	if (state == NULL || gateway == NULL)
		return SB_ERR_NOT_FOUND;
	out->id = id;
	out->gateway = gateway;
	out->state = state;
	out->queue = record_str(f, n, "queue");
	out->agent = record_str(f, n, "agent");
	out->finished = strcmp(state, "completed") == 0 || strcmp(state, "cancelled") == 0 ||
			strcmp(state, "expired") == 0;
	out->text = record_field(f, n, strcmp(state, "completed") == 0 ? "disposition" : "reason",
				 NULL);
	if (out->text == NULL)
		out->text = "";
	out->arrived_ms = record_num(f, n, "arrived_ms");
	out->deadline_ms = record_num(f, n, "deadline_ms");
	out->assigned_ms = record_num(f, n, "assigned_ms");
	out->completed_ms = record_num(f, n, "completed_ms");
	out->seq = (uint32_t)record_num(f, n, record_seq_field);
	return 0;
}

size_t record_event_contact(const char *event_id, char *out, size_t len)
{
	const char *slash = event_id != NULL ? strrchr(event_id, '/') : NULL;
	size_t n = slash != NULL ? (size_t)(slash - event_id) : 0;

	/* An agent's events are not about a contact. */
	if (n == 0 || n >= len || strncmp(event_id, "agent:", 6) == 0) {
		if (len > 0)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, event_id, n);
	out[n] = '\0';
	return n;
}

void record_contact_of(const struct engine_contact_view *c, int64_t entered_ms,
		       struct record_contact *out)
{
	const struct record_data *d = c->user;

	memset(out, 0, sizeof *out);
	out->id = c->id;
	out->gateway = c->gateway_id;
	out->external_id = c->external_id;
	out->queue = c->queue;
	out->channel = c->channel;
	out->state = c->state == CONTACT_WAITING   ? RECORD_WAITING
		     : c->state == CONTACT_OFFERED ? RECORD_OFFERED
		     : c->state == CONTACT_ASSIGNED ? RECORD_ASSIGNED
						    : RECORD_FINISHED;
	out->agent = c->agent_id;
	out->offer_id = c->offer_id;
	out->arrived_ms = c->arrived_ms;
	out->deadline_ms = c->deadline_ms;
	out->entered_ms = entered_ms;
	out->assigned_ms = c->assigned_ms;
	out->sla_breached = c->sla_breached;
	out->seq = d != NULL ? d->seq : 0;
	out->payload = d != NULL ? d->packed : NULL;
	out->payload_len = d != NULL ? d->packed_len : 0;
}

void record_agent_read(const struct store_field *f, size_t n, struct record_agent *out)
{
	const char *state = record_field(f, n, "state", NULL);
	const char *removed = record_field(f, n, "roster_removed", NULL);

	memset(out, 0, sizeof *out);
	out->state = state == NULL                     ? AGENT_OFFLINE
		     : strcmp(state, "available") == 0 ? AGENT_AVAILABLE
		     : strcmp(state, "break") == 0     ? AGENT_BREAK
						       : AGENT_OFFLINE;
	out->reason = record_field(f, n, "reason", NULL);
	out->since_ms = record_num(f, n, "updated_ms");
	out->seq = (uint32_t)record_num(f, n, record_seq_field);
	out->roster = record_str(f, n, "roster");
	out->removed = removed != NULL && strcmp(removed, "1") == 0;
}

/* ---- into the engine --------------------------------------------------------------- */

void record_check_input(const Switchboard__V1__SubmitContact *m, enum sb_channel ch,
			const char *queue, struct record_engine *out)
{
	size_t n = m->n_required_skills < RECORD_MAX_SKILLS ? m->n_required_skills
							    : RECORD_MAX_SKILLS;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out->skills[i] = (struct engine_skill_req){ m->required_skills[i]->name,
							    (int)m->required_skills[i]->min_level };
	out->in = (struct engine_submit){
		.external_id = m->external_id,
		.queue = queue,
		.channel = ch,
		.customer_tier = m->customer ? m->customer->tier : NULL,
		.skills = out->skills,
		.n_skills = n,
		.priority_s = m->priority,
		.preferred_agent = m->preferred_agent_id[0] ? m->preferred_agent_id : NULL,
		.preferred_wait_ms = m->preferred_wait_ms,
	};
	out->restore.submit = &out->in;
}

void record_submit_to_engine(const Switchboard__V1__SubmitContact *msg, struct record_data *data,
			     const char *contact_id, const char *gateway_id, enum sb_channel ch,
			     const char *queue, int64_t arrived_ms, int64_t deadline_ms,
			     struct record_engine *out)
{
	record_check_input(msg, ch, queue, out);
	data->seq = data->told = 1;
	out->data = data;
	out->in.id = contact_id;
	out->in.gateway_id = gateway_id;
	out->in.arrived_ms = arrived_ms;
	out->in.deadline_ms = deadline_ms;
	out->in.user = data;
}

int record_to_engine(const struct record_contact *rc, const char *sid, struct record_engine *out,
		     const char **why)
{
	Switchboard__V1__SubmitContact *msg =
		switchboard__v1__submit_contact__unpack(NULL, rc->payload_len, rc->payload);

	if (msg == NULL) {
		memset(out, 0, sizeof *out);
		*why = "its payload does not decode";
		return SB_ERR_INVALID_ARGUMENT;
	}
	record_check_input(msg, rc->channel, rc->queue, out);
	out->msg = msg;
	out->data = xcalloc(1, sizeof *out->data);
	out->data->packed = xmalloc(rc->payload_len ? rc->payload_len : 1);
	memcpy(out->data->packed, rc->payload, rc->payload_len);
	out->data->packed_len = rc->payload_len;
	out->data->seq = out->data->told = rc->seq;
	snprintf(out->data->sid, sizeof out->data->sid, "%s", sid ? sid : "");
	snprintf(out->data->queue, sizeof out->data->queue, "%s", rc->queue);
	out->in.id = rc->id;
	out->in.gateway_id = rc->gateway;
	out->in.arrived_ms = rc->arrived_ms;
	out->in.deadline_ms = rc->deadline_ms;
	out->in.user = out->data;
	out->restore = (struct engine_restore){
		.submit = &out->in,
		.entered_ms = rc->entered_ms,
		.sla_breached = rc->sla_breached,
		.agent_id = rc->state == RECORD_ASSIGNED ? rc->agent : NULL,
		.assigned_ms = rc->assigned_ms,
	};
	return 0;
}

void record_engine_done(struct record_engine *out)
{
	if (out->msg != NULL)
		switchboard__v1__submit_contact__free_unpacked(out->msg, NULL);
	record_data_free(NULL, out->data);
	out->msg = NULL;
	out->data = NULL;
}

/* A reason the admin API and the wire both accept (see record.h). */
bool record_reason_ok(const char *s)
{
	if (strlen(s) > RECORD_MAX_REASON)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

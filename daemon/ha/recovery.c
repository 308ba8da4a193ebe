/* Recovery: see recovery.h. */
#include "ha/recovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "engine/engine.h"
#include "admin/admin.h"
#include "util/err.h"
#include "ha/presence.h"
#include "util/log.h"
#include "server.h"
#include "session/contactinfo.h"
#include "sink.h"
#include "store/store.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* Contacts asked for per SSCAN step (a hint to Redis); each becomes one
 * HGETALL, all sent before the first answer comes back. */
#define RECOVERY_BATCH 1000

struct recovery {
	struct server *srv;
	recovery_done_fn done;
	void *ctx;
	size_t outstanding; /* reads sent, not answered */
	char cursor[32];
	enum { PHASE_ROSTER, PHASE_AGENTS, PHASE_CONTACTS } phase;
	struct strmap agent_ids; /* roster agents and API-added ones: id -> (owned) id */
	bool failed;
	int err;        /* the first failure */
	bool finished;
	bool abandoned; /* the server let go: free once nothing is outstanding */
	struct timespec start;
	struct recovery_stats stats;
};

static const char *recovery_field(const struct store_field *f, size_t n, const char *name,
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

static int64_t recovery_num(const struct store_field *f, size_t n, const char *name)
{
	const char *v = recovery_field(f, n, name, NULL);
	return v ? strtoll(v, NULL, 10) : 0;
}

static void recovery_finish(struct recovery *r, int err)
{
	struct timespec now;

	if (r->finished)
		return;
	r->finished = true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->stats.elapsed_ms = (long long)(now.tv_sec - r->start.tv_sec) * 1000 +
			      (now.tv_nsec - r->start.tv_nsec) / 1000000;
	r->done(r->ctx, err, &r->stats);
}

/* Marks the recovery failed; it ends when the last outstanding answer is in
 * (after a store failure they all come back as errors). */
static void recovery_fail(struct recovery *r, int err, const char *what)
{
	if (r->failed || r->abandoned)
		return;
	r->failed = true;
	r->err = err;
	log_warnx("recovery: %s failed (%s); starting over when the store is back", what,
		  sb_err_name(err));
}

static void recovery_next_scan(struct recovery *r);
static void recovery_read_agents(struct recovery *r);
static void recovery_release(struct recovery *r);

/* One read answered: when the batch is complete, go on. */
static void recovery_settle(struct recovery *r)
{
	r->outstanding--;
	if (r->outstanding > 0)
		return;
	if (r->abandoned) {
		recovery_release(r);
		return;
	}
	if (r->failed) {
		recovery_finish(r, r->err);
		return;
	}
	bool scan_done = strcmp(r->cursor, "0") == 0;
	if (!scan_done && r->phase != PHASE_AGENTS) {
		/* more of the roster set or of the open set */
		recovery_next_scan(r);
	} else if (r->phase == PHASE_ROSTER) {
		r->phase = PHASE_AGENTS;
		recovery_read_agents(r);
	} else if (r->phase == PHASE_AGENTS) {
		r->phase = PHASE_CONTACTS;
		snprintf(r->cursor, sizeof r->cursor, "0");
		recovery_next_scan(r);
	} else {
		engine_restore_finish(server_engine(r->srv), server_now_ms(r->srv));
		recovery_finish(r, 0);
	}
}

/* ---- agents ---------------------------------------------------------------- */

struct recovery_agent {
	struct recovery *r;
	char *id;
};

static void recovery_on_agent(void *arg, int err, const struct store_field *f, size_t n)
{
	struct recovery_agent *ra = arg;
	struct recovery *r = ra->r;

	if (err != 0) {
		recovery_fail(r, err, "reading agents");
	} else if (n > 0 && !r->failed && !r->abandoned) {
		/* A roster change made over the admin API wins over the file. */
		const char *roster = recovery_field(f, n, "roster", NULL);
		const char *removed = recovery_field(f, n, "roster_removed", NULL);
		const char *why = NULL;
		bool gone = removed != NULL && strcmp(removed, "1") == 0;
		if ((gone || (roster != NULL && roster[0] != '\0')) &&
		    admin_roster_restore(server_admin(r->srv), ra->id, roster ? roster : "", gone,
					 &why) != 0)
			log_error("recovery: agent %s: its roster change cannot be applied: %s",
				  ra->id, why ? why : "?");
		const char *state = recovery_field(f, n, "state", NULL);
		const char *reason = recovery_field(f, n, "reason", NULL);
		int st = state == NULL                     ? AGENT_OFFLINE
			 : strcmp(state, "available") == 0 ? AGENT_AVAILABLE
			 : strcmp(state, "break") == 0     ? AGENT_BREAK
							   : AGENT_OFFLINE;
		if (st != AGENT_OFFLINE &&
		    engine_restore_agent(server_engine(r->srv), ra->id, (enum engine_agent_state)st,
					 reason, recovery_num(f, n, "updated_ms"),
					 server_now_ms(r->srv)) == 0) {
			r->stats.agents++;
			presence_lost(server_presence(r->srv), ra->id);
		}
	}
	free(ra->id);
	free(ra);
	recovery_settle(r);
}

static void recovery_read_agent(struct recovery *r, const char *id)
{
	struct recovery_agent *ra;

	if (r->failed || r->abandoned)
		return;
	ra = xcalloc(1, sizeof *ra);
	ra->r = r;
	ra->id = xstrdup(id);
	r->outstanding++;
	int rc = store_read(server_store(r->srv), STORE_AGENT, id, recovery_on_agent, ra);
	if (rc != 0) {
		free(ra->id);
		free(ra);
		recovery_fail(r, rc, "reading agents");
		recovery_settle(r);
	}
}

static void recovery_note_agent(void *arg, const struct engine_agent_view *a)
{
	struct recovery *r = arg;

	if (strmap_get(&r->agent_ids, a->id) == NULL) {
		char *id = xstrdup(a->id);
		strmap_put(&r->agent_ids, id, id);
	}
}

/* Every agent of the configured roster, and those the admin API added. */
static void recovery_read_agents(struct recovery *r)
{
	const char *k;
	void *v;

	engine_each_agent(server_engine(r->srv), recovery_note_agent, r);
	/* Held like a scan's slot while the reads go out. */
	r->outstanding++;
	for (size_t it = 0; strmap_next(&r->agent_ids, &it, &k, &v);)
		recovery_read_agent(r, k);
	recovery_settle(r);
}

/* ---- contacts -------------------------------------------------------------- */

struct recovery_contact {
	struct recovery *r;
	char *id;
};

/* Restores one contact hash into the engine. */
static void recovery_restore(struct recovery *r, const char *id, const struct store_field *f,
			     size_t n)
{
	struct server *srv = r->srv;
	struct engine *e = server_engine(srv);
	int64_t now = server_now_ms(srv);
	size_t plen = 0;
	const char *payload = recovery_field(f, n, "payload", &plen);
	const char *channel = recovery_field(f, n, "channel", NULL);
	const char *queue = recovery_field(f, n, "queue", NULL);
	const char *state = recovery_field(f, n, "state", NULL);
	const char *agent = recovery_field(f, n, "agent", NULL);
	const char *offer = recovery_field(f, n, "offer_id", NULL);
	int ch = channel ? channel_parse(channel) : -1;
	Switchboard__V1__SubmitContact *msg =
		payload ? switchboard__v1__submit_contact__unpack(NULL, plen, (const uint8_t *)payload)
			: NULL;

	if (msg == NULL || ch < 0 || queue == NULL || state == NULL) {
		log_error("recovery: contact %s: its hash is incomplete; left in redis", id);
		if (msg != NULL)
			switchboard__v1__submit_contact__free_unpacked(msg, NULL);
		r->stats.unroutable++;
		return;
	}
	struct engine_skill_req skills[CONTACTINFO_MAX_SKILLS];
	struct engine_submit in;
	contactinfo_engine_in(msg, queue, (enum sb_channel)ch, skills, &in);
	in.id = id;
	in.gateway_id = recovery_field(f, n, "gateway", NULL);
	in.arrived_ms = recovery_num(f, n, "arrived_ms");
	in.deadline_ms = recovery_num(f, n, "deadline_ms");
	struct contact_payload *p = contactinfo_payload_new(msg, "", queue);
	p->event_seq = (uint32_t)recovery_num(f, n, "event_seq");
	in.user = p;

	bool assigned = strcmp(state, "assigned") == 0 && agent != NULL && agent[0] != '\0';
	struct engine_restore rs = {
		.submit = &in,
		.entered_ms = recovery_num(f, n, "entered_ms"),
		.sla_breached = recovery_num(f, n, "sla_breached") == 1,
		.agent_id = assigned ? agent : NULL,
		.assigned_ms = recovery_num(f, n, "assigned_ms"),
	};
	const char *why = NULL;
	int rc = engine_restore_contact(e, &rs, now, &why);
	bool requeue = strcmp(state, "offered") == 0 && agent != NULL && agent[0] != '\0';
	if (rc == SB_ERR_NOT_FOUND && assigned) {
		log_warnx("recovery: contact %s: agent %s left the roster; requeued", id, agent);
		rs.agent_id = NULL;
		rc = engine_restore_contact(e, &rs, now, &why);
		requeue = true;
	}
	/* The engine copied what it routes by; the payload keeps it packed. */
	switchboard__v1__submit_contact__free_unpacked(msg, NULL);
	if (rc == SB_ERR_CONFLICT) {
		/* SSCAN may return a member twice. */
		contactinfo_free(NULL, p);
		return;
	}
	if (rc != 0) {
		log_error("recovery: contact %s (queue %s) cannot be routed: %s; left in redis", id,
			  queue, why ? why : sb_err_name(rc));
		contactinfo_free(NULL, p);
		r->stats.unroutable++;
		return;
	}
	const struct engine_contact_view *c = engine_contact(e, id);
	if (c->state == CONTACT_ASSIGNED) {
		r->stats.assigned++;
		return;
	}
	r->stats.waiting++;
	if (requeue) {
		/* The offer died with the old process: record it as requeued, so
		 * Redis says what the engine now does. */
		sink_recovered_requeue(server_sink(srv), c, agent, offer ? offer : "", now);
		r->stats.requeued++;
	}
}

static void recovery_on_contact(void *arg, int err, const struct store_field *f, size_t n)
{
	struct recovery_contact *rc = arg;
	struct recovery *r = rc->r;

	if (err != 0) {
		recovery_fail(r, err, "reading contacts");
	} else if (r->failed || r->abandoned) {
		/* nothing: the recovery ends or is over */
	} else if (n == 0) {
		log_error("recovery: contact %s is open but its hash is gone", rc->id);
		r->stats.missing++;
	} else {
		recovery_restore(r, rc->id, f, n);
	}
	free(rc->id);
	free(rc);
	recovery_settle(r);
}

static void recovery_on_scan(void *arg, int err, const char *next, const char **ids, size_t n)
{
	struct recovery *r = arg;

	if (err != 0 || r->failed || r->abandoned) {
		recovery_fail(r, err ? err : SB_ERR_STORE_UNAVAILABLE, "scanning the open set");
		recovery_settle(r);
		return;
	}
	snprintf(r->cursor, sizeof r->cursor, "%s", next);
	if (r->phase == PHASE_ROSTER) {
		for (size_t i = 0; i < n; i++)
			if (strmap_get(&r->agent_ids, ids[i]) == NULL) {
				char *id = xstrdup(ids[i]);
				strmap_put(&r->agent_ids, id, id);
			}
		recovery_settle(r);
		return;
	}
	/* The scan's own slot is held until every read of its batch is out,
	 * so the batch cannot look complete half-way. */
	for (size_t i = 0; i < n && !r->failed; i++) {
		struct recovery_contact *rc = xcalloc(1, sizeof *rc);
		rc->r = r;
		rc->id = xstrdup(ids[i]);
		r->outstanding++;
		int e = store_read(server_store(r->srv), STORE_CONTACT, ids[i], recovery_on_contact, rc);
		if (e != 0) {
			free(rc->id);
			free(rc);
			recovery_fail(r, e, "reading contacts");
			recovery_settle(r);
		}
	}
	recovery_settle(r);
}

static void recovery_next_scan(struct recovery *r)
{
	r->outstanding++;
	int rc = store_scan_set(server_store(r->srv),
				r->phase == PHASE_ROSTER ? STORE_SET_ROSTER : STORE_SET_OPEN, r->cursor,
				RECOVERY_BATCH, recovery_on_scan, r);
	if (rc != 0) {
		recovery_fail(r, rc, "scanning the open set");
		recovery_settle(r);
	}
}

struct recovery *recovery_start(struct server *srv, recovery_done_fn done, void *ctx)
{
	struct recovery *r = xcalloc(1, sizeof *r);

	r->srv = srv;
	r->done = done;
	r->ctx = ctx;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	strmap_init(&r->agent_ids);
	r->phase = PHASE_ROSTER;
	snprintf(r->cursor, sizeof r->cursor, "0");
	recovery_next_scan(r);
	return r;
}

static void recovery_release(struct recovery *r)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&r->agent_ids, &it, &k, &v);)
		free(v);
	strmap_free(&r->agent_ids);
	free(r);
}

void recovery_free(struct recovery *r)
{
	if (r == NULL)
		return;
	if (r->outstanding == 0) {
		recovery_release(r);
		return;
	}
	/* Reads are still out: their answers find it abandoned. */
	r->abandoned = true;
}

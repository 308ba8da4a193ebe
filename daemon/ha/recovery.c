/* Recovery: see recovery.h. */
#include "ha/recovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ha/presence.h"
#include "record/record.h"
#include "router/router.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* Contacts asked for per SSCAN step (a hint to Redis); each becomes one
 * HGETALL, all sent before the first answer comes back. */
#define RECOVERY_BATCH 1000

struct recovery {
	struct store *st;
	struct router *router;
	struct presence *presence;
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
		router_restore_finish(r->router);
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
		struct record_agent rec;
		const char *why = NULL;
		record_agent_read(f, n, &rec);
		/* A roster change made over the admin API wins over the file. */
		if ((rec.removed || rec.roster != NULL) &&
		    router_restore_roster(r->router, ra->id, rec.roster ? rec.roster : "",
					  rec.removed, &why) != 0)
			log_error("recovery: agent %s: its roster change cannot be applied: %s",
				  ra->id, why ? why : "?");
		const struct engine_agent_view *before = engine_agent(router_engine(r->router), ra->id);
		if (before != NULL) {
			router_restore_agent(r->router, ra->id, &rec);
			if (engine_agent(router_engine(r->router), ra->id)->logged_in) {
				r->stats.agents++;
				presence_lost(r->presence, ra->id);
			}
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
	int rc = store_read(r->st, STORE_AGENT, id, recovery_on_agent, ra);
	if (rc != 0) {
		free(ra->id);
		free(ra);
		recovery_fail(r, rc, "reading agents");
		recovery_settle(r);
	}
}

static void recovery_note_agent(void *arg, const char *agent_id)
{
	struct recovery *r = arg;

	if (strmap_get(&r->agent_ids, agent_id) == NULL) {
		char *id = xstrdup(agent_id);
		strmap_put(&r->agent_ids, id, id);
	}
}

/* Every agent of the configured roster, and those the admin API added. */
static void recovery_read_agents(struct recovery *r)
{
	const char *k;
	void *v;

	router_each_roster_agent(r->router, recovery_note_agent, r);
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
	struct record_contact rc;
	const char *why = NULL;
	bool requeued = false;

	if (record_contact_read(id, f, n, &rc, &why) != 0) {
		log_error("recovery: contact %s: %s; left in redis", id, why);
		r->stats.unroutable++;
		return;
	}
	int e = router_restore_contact(r->router, &rc, &requeued, &why);
	if (e == SB_ERR_CONFLICT && engine_contact(router_engine(r->router), id) != NULL)
		return; /* SSCAN may return a member twice */
	if (e != 0) {
		log_error("recovery: contact %s (queue %s) cannot be routed: %s; left in redis", id,
			  rc.queue, why ? why : sb_err_name(e));
		r->stats.unroutable++;
		return;
	}
	if (engine_contact(router_engine(r->router), id)->state == CONTACT_ASSIGNED) {
		r->stats.assigned++;
		return;
	}
	r->stats.waiting++;
	if (requeued)
		r->stats.requeued++;
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
		int e = store_read(r->st, STORE_CONTACT, ids[i], recovery_on_contact, rc);
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
	int rc = store_scan_set(r->st,
				r->phase == PHASE_ROSTER ? STORE_SET_ROSTER : STORE_SET_OPEN, r->cursor,
				RECOVERY_BATCH, recovery_on_scan, r);
	if (rc != 0) {
		recovery_fail(r, rc, "scanning the open set");
		recovery_settle(r);
	}
}

struct recovery *recovery_start(struct store *st, struct router *router, struct presence *presence,
				recovery_done_fn done, void *ctx)
{
	struct recovery *r = xcalloc(1, sizeof *r);

	r->st = st;
	r->router = router;
	r->presence = presence;
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

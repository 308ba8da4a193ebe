/* Putting the live state back when Redis lost it. The leader holds the
 * newest truth in memory: every open contact as the engine has it, every
 * agent's state, the roster changes, and what contacts that finished a
 * moment ago became. The store writes all of it first (store_put), then
 * what was queued (whose writes Redis now skips as already recorded), and
 * the daemon goes on serving, its clients connected. Afterwards Redis's
 * open set is read once more: a contact there that the engine does not hold
 * and that did not just finish is routed (a submit a standby took while the
 * data was gone), or left and logged when it cannot be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

struct reseed_count {
	struct router *r;
	size_t contacts, finished, agents;
};

static void reseed_contact(void *arg, const struct engine_contact_view *c)
{
	struct reseed_count *n = arg;
	struct record_write rw;

	record_put_contact(&rw, c, engine_contact_entered_ms(n->r->engine, c->id));
	store_put(n->r->st, &rw.w);
	record_write_done(&rw);
	n->contacts++;
}

static void reseed_finished(void *arg, const struct record_finished *f)
{
	struct reseed_count *n = arg;
	struct record_write rw;

	record_put_finished(&rw, f);
	store_put(n->r->st, &rw.w);
	record_write_done(&rw);
	n->finished++;
}

static void reseed_agent(void *arg, const struct engine_agent_view *a)
{
	struct reseed_count *n = arg;
	struct record_write rw;
	char *json = NULL;
	bool removed = false;

	roster_override_json(n->r, a->id, &json, &removed);
	record_put_agent(&rw, a, router_agent_seq(n->r, a->id), json, removed, router_now_ms());
	store_put(n->r->st, &rw.w);
	record_write_done(&rw);
	free(json);
	n->agents++;
}

/* ---- the open set, read again ------------------------------------------------------ */

struct reseed_scan {
	struct router *r;
	char cursor[32];
	size_t outstanding;
	size_t adopted, stray;
};

static void reseed_next(struct reseed_scan *s);

static void reseed_settle(struct reseed_scan *s)
{
	if (--s->outstanding > 0)
		return;
	if (strcmp(s->cursor, "0") != 0) {
		reseed_next(s);
		return;
	}
	if (s->adopted > 0 || s->stray > 0)
		log_warnx("reseed: redis's open set held %zu contacts this daemon did not: %zu "
			  "routed, %zu left in redis (see above)",
			  s->adopted + s->stray, s->adopted, s->stray);
	free(s);
}

struct reseed_read {
	struct reseed_scan *s;
	char *id;
};

static void reseed_on_read(void *arg, int err, const struct store_field *f, size_t n)
{
	struct reseed_read *rr = arg;
	struct reseed_scan *s = rr->s;

	if (err == 0 && n > 0 && engine_contact(s->r->engine, rr->id) == NULL) {
		if (router_adopt(s->r, rr->id, f, n, "") == 0) {
			s->adopted++;
		} else {
			log_warnx("reseed: contact %s is open in redis but not here and cannot be "
				  "routed; left in redis",
				  rr->id);
			s->stray++;
		}
	}
	free(rr->id);
	free(rr);
	reseed_settle(s);
}

static void reseed_on_scan(void *arg, int err, const char *next, const char **ids, size_t n)
{
	struct reseed_scan *s = arg;

	if (err != 0) {
		/* Read again at the next loss, or by the next recovery. */
		snprintf(s->cursor, sizeof s->cursor, "0");
		reseed_settle(s);
		return;
	}
	snprintf(s->cursor, sizeof s->cursor, "%s", next);
	for (size_t i = 0; i < n; i++) {
		if (engine_contact(s->r->engine, ids[i]) != NULL ||
		    recent_finished(s->r->recent, ids[i]) != NULL)
			continue;
		struct reseed_read *rr = xcalloc(1, sizeof *rr);
		rr->s = s;
		rr->id = xstrdup(ids[i]);
		s->outstanding++;
		if (store_read(s->r->st, STORE_CONTACT, ids[i], reseed_on_read, rr) != 0) {
			free(rr->id);
			free(rr);
			s->outstanding--;
		}
	}
	reseed_settle(s);
}

static void reseed_next(struct reseed_scan *s)
{
	s->outstanding++;
	if (store_scan_set(s->r->st, STORE_SET_OPEN, s->cursor, 1000, reseed_on_scan, s) != 0) {
		snprintf(s->cursor, sizeof s->cursor, "0");
		reseed_settle(s);
	}
}

static void reseed_on_written(void *arg, int err)
{
	struct router *r = arg;

	if (err != 0)
		return; /* not leading any more, or stopping */
	struct reseed_scan *s = xcalloc(1, sizeof *s);
	s->r = r;
	snprintf(s->cursor, sizeof s->cursor, "0");
	reseed_next(s);
}

void reseed_scan_strays(struct router *r)
{
	/* After the re-seed's writes, in Redis's order. */
	store_barrier(r->st, reseed_on_written, r);
}

void router_store_lost(struct router *r, const char *why)
{
	struct reseed_count n = { .r = r };
	struct record_write rw;

	engine_each_contact(r->engine, reseed_contact, &n);
	recent_each_since(r->recent, 0, reseed_finished, &n);
	engine_each_agent(r->engine, reseed_agent, &n);
	record_put_reseeded(&rw, why, n.contacts, n.agents, router_now_ms());
	store_put(r->st, &rw.w);
	record_write_done(&rw);
	log_warnx("reseed: writing back %zu open contacts, %zu just finished and %zu agents",
		  n.contacts, n.finished, n.agents);
	r->strays_pending = true;
}

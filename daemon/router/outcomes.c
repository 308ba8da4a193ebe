/* What finished contacts became, read back from Redis for their gateway: a
 * re-login's replay of the outcomes it missed, and ExplainContact of a
 * contact that is no longer routed. The engine forgets a contact when it
 * finishes; Redis keeps its hash (redis.idempotency_ttl_s) and its place in
 * the gateway's outcomes (redis.outcome_retention_s). */
#include <stdlib.h>
#include <string.h>

#include "record/record.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* A read on its way. Owner: the store's callback, which frees it. */
struct outcomes_read {
	router_outcomes_fn fn;
	void *arg;
};

static void outcomes_on_page(void *arg, int err, const struct store_outcome *v, size_t n)
{
	struct outcomes_read *rd = arg;
	struct record_outcome *out = xcalloc(n ? n : 1, sizeof *out);
	size_t k = 0;
	const char *last = NULL;

	for (size_t i = 0; err == 0 && i < n; i++) {
		last = v[i].score;
		/* Its hash expired (a retention longer than it, set before a
		 * reload of the ttl): nothing left to tell. */
		if (record_outcome_read(v[i].contact_id, v[i].fields, v[i].n_fields, &out[k]) == 0 &&
		    out[k].finished)
			k++;
	}
	rd->fn(rd->arg, err, out, k, last);
	free(out);
	free(rd);
}

int router_read_outcomes(struct router *r, const char *gateway_id, const char *after_event_id,
			 const char *after_score, int count, router_outcomes_fn fn, void *arg)
{
	char contact[RECORD_EVENT_ID_MAX];
	struct outcomes_read *rd = xcalloc(1, sizeof *rd);

	record_event_contact(after_event_id, contact, sizeof contact);
	rd->fn = fn;
	rd->arg = arg;
	int rc = store_read_outcomes(r->st, gateway_id, contact[0] ? contact : NULL, after_score,
				     count, outcomes_on_page, rd);
	if (rc != 0)
		free(rd);
	return rc;
}

/* ExplainContact of a contact the engine no longer has. Owner: the chain
 * of callbacks below, the last of which frees it. */
struct finished_read {
	struct router *r;
	char *contact_id;
	router_finished_fn fn;
	void *arg;
};

static void finished_done(struct finished_read *fr, int err, const struct record_outcome *o)
{
	fr->fn(fr->arg, err, o);
	free(fr->contact_id);
	free(fr);
}

static void finished_on_read(void *arg, int err, const struct store_field *f, size_t n)
{
	struct finished_read *fr = arg;
	struct record_outcome o;

	if (err != 0)
		finished_done(fr, err, NULL);
	else if (n == 0 || record_outcome_read(fr->contact_id, f, n, &o) != 0)
		finished_done(fr, SB_ERR_NOT_FOUND, NULL);
	else
		finished_done(fr, 0, &o);
}

/* Everything decided so far is in Redis: a contact that finished a moment
 * ago is read as it ended, not as it was. */
static void finished_on_recorded(void *arg, int err)
{
	struct finished_read *fr = arg;

	if (err == 0)
		err = store_read(fr->r->st, STORE_CONTACT, fr->contact_id, finished_on_read, fr);
	if (err != 0)
		finished_done(fr, err, NULL);
}

void router_read_finished(struct router *r, const char *contact_id, router_finished_fn fn,
			  void *arg)
{
	struct finished_read *fr = xcalloc(1, sizeof *fr);

	fr->r = r;
	fr->contact_id = xstrdup(contact_id);
	fr->fn = fn;
	fr->arg = arg;
	router_when_recorded(r, false, finished_on_recorded, fr);
}

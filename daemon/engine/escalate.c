/* Escalation (DESIGN 3.4-3.5): what a waiting contact's class is at a given
 * moment. Steps count from when it entered its queue; a VIP's first agent
 * tiers widen after a wait; a preferred agent has it alone for a while.
 * The class changes on one timer per contact, never by polling. */
#include <stdlib.h>

#include "engine/internal.h"
#include "util/xalloc.h"

/* How many of q's steps are in force after since_entry_ms. */
int escalate_step_at(const struct equeue *q, int64_t since_entry_ms)
{
	int k = 0;
	while (k < q->n_steps && q->steps[k].after_ms <= since_entry_ms)
		k++;
	return k;
}

/* The mask of every agent tier the engine has. */
static uint32_t escalate_all_tiers(const struct engine *e)
{
	return e->n_agent_tiers >= 32 ? UINT32_MAX : (1u << e->n_agent_tiers) - 1;
}

/* Adds r to reqs (n used), keeping the higher level for a repeated skill. */
static void escalate_req_add(struct req *reqs, int *n, struct req r)
{
	for (int i = 0; i < *n; i++)
		if (reqs[i].skill == r.skill) {
			if (r.level > reqs[i].level)
				reqs[i].level = r.level;
			return;
		}
	reqs[(*n)++] = r;
}

/* Requirements by skill, as class keys list them. */
static int escalate_req_cmp(const void *a, const void *b)
{
	const struct req *x = a, *y = b;
	return x->skill - y->skill;
}

/* Schedules c's next class change (INT64_MAX: none). */
static void escalate_arm(struct engine *e, struct econtact *c, int64_t when)
{
	timers_due(e, c, DUE_RECLASS, when);
}

/* c's class at `at` (steps, tier gate, preferred agent) into *spec, its
 * requirements into reqs and xreqs (room for q's, the added queue's and
 * c's); *next is when it next changes (INT64_MAX: never). Returns the
 * steps in force. Reads only: the estimate asks about times to come. */
static int escalate_spec(const struct engine *e, const struct econtact *c, int64_t at,
			 struct class_spec *spec, struct req *reqs, struct req *xreqs,
			 int64_t *next)
{
	const struct equeue *q = c->queue;

	*next = INT64_MAX;
	if (c->preferred != NULL && at < c->preferred_until && c->preferred->v.logged_in) {
		*next = c->preferred_until;
		*spec = (struct class_spec){ .queue = c->queue, .channel = c->v.channel,
					     .preferred = c->preferred };
		return 0;
	}
	int k = escalate_step_at(q, at - c->entered_ms);
	if (k < q->n_steps)
		*next = c->entered_ms + q->steps[k].after_ms;
	int relax = 0;
	uint32_t tiers = q->tiers;
	struct equeue *extra = NULL;
	for (int i = 0; i < k; i++) {
		if (q->steps[i].relax > relax)
			relax = q->steps[i].relax;
		if (q->steps[i].tiers != 0)
			tiers = q->steps[i].tiers;
		if (q->steps[i].add != NULL)
			extra = q->steps[i].add;
	}
	const struct customer_tier *ct = &e->ctiers[c->tier];
	if (ct->first != 0 && at < c->v.arrived_ms + ct->widen_after_ms) {
		tiers &= ct->first;
		if (c->v.arrived_ms + ct->widen_after_ms < *next)
			*next = c->v.arrived_ms + ct->widen_after_ms;
	}
	tiers &= escalate_all_tiers(e);

	int n = 0, xn = 0;
	for (int i = 0; i < q->n_reqs; i++) {
		/* Relaxing lowers the level but still asks for the skill. */
		struct req r = { q->reqs[i].skill, q->reqs[i].level - relax };
		if (r.level < 1)
			r.level = 1;
		escalate_req_add(reqs, &n, r);
	}
	/* An added queue's agents bring their own queue's skills. */
	for (int i = 0; extra != NULL && i < extra->n_reqs; i++)
		escalate_req_add(xreqs, &xn, extra->reqs[i]);
	for (int i = 0; i < c->n_reqs; i++) {
		escalate_req_add(reqs, &n, c->reqs[i]);
		escalate_req_add(xreqs, &xn, c->reqs[i]);
	}
	qsort(reqs, (size_t)n, sizeof *reqs, escalate_req_cmp);
	qsort(xreqs, (size_t)xn, sizeof *xreqs, escalate_req_cmp);
	*spec = (struct class_spec){
		.queue = c->queue,
		.extra = extra,
		.channel = c->v.channel,
		.reqs = reqs,
		.n_reqs = n,
		.extra_reqs = xreqs,
		.n_extra_reqs = extra ? xn : 0,
		.tiers = tiers,
	};
	return k;
}

/* Requirement buffers for escalate_spec: the usual handful fit on the
 * stack, more are allocated. */
struct escalate_bufs {
	struct req local[32], xlocal[32];
	struct req *reqs, *xreqs;
};

static void escalate_bufs_init(struct escalate_bufs *b, const struct econtact *c)
{
	const struct equeue *q = c->queue;
	size_t need = (size_t)q->n_reqs + (size_t)c->n_reqs;
	size_t xneed = 0;

	for (int i = 0; i < q->n_steps; i++)
		if (q->steps[i].add != NULL && (size_t)q->steps[i].add->n_reqs > xneed)
			xneed = (size_t)q->steps[i].add->n_reqs;
	xneed += (size_t)c->n_reqs;
	b->reqs = need <= 32 ? b->local : xcalloc(need, sizeof *b->reqs);
	b->xreqs = xneed <= 32 ? b->xlocal : xcalloc(xneed, sizeof *b->xreqs);
}

static void escalate_bufs_free(struct escalate_bufs *b)
{
	if (b->reqs != b->local)
		free(b->reqs);
	if (b->xreqs != b->xlocal)
		free(b->xreqs);
}

/* c's class at now, made if it is new, and its next change armed. */
struct bucket *escalate_class(struct engine *e, struct econtact *c, int64_t now)
{
	struct escalate_bufs bufs;
	struct class_spec spec;
	int64_t next;

	escalate_bufs_init(&bufs, c);
	c->v.step = escalate_spec(e, c, now, &spec, bufs.reqs, bufs.xreqs, &next);
	escalate_arm(e, c, next);
	struct bucket *b = bucket_get(e, &spec);
	escalate_bufs_free(&bufs);
	return b;
}

/* The class c will be in at `at`, if it exists yet (NULL if not), and when
 * that one changes (*next); NULL too from a step that moves c to another
 * queue. */
const struct bucket *escalate_class_at(const struct engine *e, const struct econtact *c,
				       int64_t at, int64_t *next)
{
	const struct equeue *q = c->queue;
	int k = escalate_step_at(q, at - c->entered_ms);

	for (int i = 0; i < k; i++)
		if (q->steps[i].overflow != NULL)
			return NULL;
	struct escalate_bufs bufs;
	struct class_spec spec;
	escalate_bufs_init(&bufs, c);
	escalate_spec(e, c, at, &spec, bufs.reqs, bufs.xreqs, next);
	const struct bucket *b = bucket_find(e, &spec);
	escalate_bufs_free(&bufs);
	return b;
}

/* An escalation step, a tier widening or a preferred wait came due. */
void escalate_reclass(struct engine *e, struct econtact *c, int64_t now)
{
	struct equeue *q = c->queue;
	int old = c->v.step;
	int k = escalate_step_at(q, now - c->entered_ms);

	for (int s = old; s < k; s++)
		if (q->steps[s].overflow != NULL) {
			contact_overflow(e, c, q->steps[s].overflow, now);
			return;
		}
	if (c->v.state != CONTACT_WAITING) {
		/* Offered: the new class applies if the offer comes back. */
		c->bucket = escalate_class(e, c, now);
		return;
	}
	contact_unwait(e, c);
	contact_wait(e, c, now);
}

/* Routing classes ("buckets"): contacts that share every input of
 * eligibility (queue, step, skills after relaxing, allowed tiers, extra
 * queue, preferred agent) share one set of eligible agents. Each bucket keeps
 * its waiting contacts in a deadline heap and, in a second heap, the eligible
 * agents that could take one right now, ordered by the queue's strategy.
 * So a contact finds its agent at the top of one heap, and an agent finds
 * its next contact among the heads of the buckets it is linked to: neither
 * scans all agents or all contacts. docs/engine.md has the whole design. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/xalloc.h"

/* A class's contacts wait by (deadline, submit order). */
static void bucket_contact_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct econtact *c = item;
	*k1 = c->v.deadline_ms;
	*k2 = (int64_t)c->order;
}

/* The ready agents by their strategy key; select_less breaks ties. */
static void bucket_link_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct link *l = item;
	*k1 = l->k1;
	*k2 = l->k2;
}

/* Earlier deadline first, then submit order: the class's order, on views. */
static bool bucket_contact_less(const void *a, const void *b)
{
	const struct econtact *x = a, *y = b;
	if (x->v.deadline_ms != y->v.deadline_ms)
		return x->v.deadline_ms < y->v.deadline_ms;
	return x->order < y->order;
}

/* Whether l's agent belongs in its class's ready heap: routable, a free slot. */
bool bucket_link_should_be_ready(const struct engine *e, const struct link *l)
{
	return agent_state_routable(l->agent) &&
	       agent_state_slot_free(e, l->agent, l->bucket->channel);
}

/* Files l in or out of its bucket's ready heap, with a fresh key. */
static void bucket_link_refresh(struct engine *e, struct link *l)
{
	struct heap *h = &l->bucket->ready;
	bool in = heap_contains(h, l);

	if (!bucket_link_should_be_ready(e, l)) {
		if (in) {
			heap_remove(h, l);
			l->agent->n_ready--;
		}
		return;
	}
	int64_t k1, k2;
	select_key(e, l->agent, l->bucket, &k1, &k2);
	if (in && k1 == l->k1 && k2 == l->k2)
		return;
	l->k1 = k1;
	l->k2 = k2;
	if (in) {
		heap_update(h, l);
	} else {
		heap_push(h, l);
		l->agent->n_ready++;
	}
}

/* Counts l's agent's slots in its class's staffed capacity, or takes them
 * out. What was added is kept on the link: a roster change may alter the
 * capacity before the link goes. */
static void bucket_link_staff(struct link *l, bool staffed)
{
	uint32_t slots = staffed ? (uint32_t)l->agent->v.capacity[l->bucket->channel] : 0;

	l->bucket->staffed -= l->staffed;
	l->bucket->staffed += slots;
	l->staffed = slots;
}

/* Makes a eligible for b: a link in both lists and a's array, filed if ready. */
static void bucket_link(struct engine *e, struct eagent *a, struct bucket *b)
{
	struct link *l = xcalloc(1, sizeof *l);

	l->agent = a;
	l->bucket = b;
	l->ready_idx = HEAP_NONE;
	l->next_in_agent = a->links;
	a->links = l;
	l->next_in_bucket = b->links;
	b->links = l;
	if (a->n_linkv == a->cap_linkv) {
		a->cap_linkv = a->cap_linkv ? a->cap_linkv * 2 : 8;
		a->linkv = xreallocarray(a->linkv, a->cap_linkv, sizeof *a->linkv);
	}
	a->linkv[a->n_linkv++] = (struct alink){ l, b, b->channel };
	if (a->v.logged_in)
		b->logged_in++;
	bucket_link_staff(l, a->staffed);
	bucket_link_refresh(e, l);
}

/* Appends v in decimal and a separator: the class key is built on every
 * submit and reclass, so it avoids printf. */
static size_t bucket_key_num(char *buf, size_t off, size_t len, uint64_t v, char sep)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0 && off + 2 < len)
		buf[off++] = tmp[--n];
	buf[off++] = sep;
	buf[off] = '\0';
	return off;
}

/* Appends skill requirements to a class key as "skill:level," pairs. */
static size_t bucket_key_reqs(char *buf, size_t off, size_t len, const struct req *reqs, int n)
{
	for (int i = 0; i < n && off + 48 < len; i++) {
		off = bucket_key_num(buf, off, len, (uint64_t)reqs[i].skill, ':');
		off = bucket_key_num(buf, off, len, (uint64_t)reqs[i].level, ',');
	}
	return off;
}

/* The class key: every eligibility input of k, as a string for the map. */
static void bucket_key(char *buf, size_t len, const struct class_spec *k)
{
	size_t off = 0;

	off = bucket_key_num(buf, off, len, k->queue->index, '|');
	off = bucket_key_num(buf, off, len, k->extra ? k->extra->index + 1 : 0, '|');
	off = bucket_key_num(buf, off, len, (uint64_t)k->channel, '|');
	off = bucket_key_num(buf, off, len, k->tiers, '|');
	off = bucket_key_reqs(buf, off, len, k->reqs, k->n_reqs);
	if (k->extra != NULL && off + 2 < len) {
		buf[off++] = '+';
		off = bucket_key_reqs(buf, off, len, k->extra_reqs, k->n_extra_reqs);
	}
	/* Agent ids are [A-Za-z0-9_.-]: they cannot collide with the digits
	 * and separators above. */
	if (k->preferred != NULL && off + 2 < len)
		snprintf(buf + off, len - off, "p%s", k->preferred->v.id);
}

/* A class's own copy of its requirements (the spec's may be on the stack). */
static struct req *bucket_copy_reqs(const struct req *reqs, int n)
{
	struct req *out = xcalloc((size_t)n + 1, sizeof *out);
	if (n > 0)
		memcpy(out, reqs, (size_t)n * sizeof *reqs);
	return out;
}

/* The class for k if it exists; never makes one (a read-only query asks). */
const struct bucket *bucket_find(const struct engine *e, const struct class_spec *k)
{
	char key[1024];

	bucket_key(key, sizeof key, k);
	return strmap_get(&e->buckets, key);
}

/* The class for k, made (and linked to its agents) the first time it is asked. */
struct bucket *bucket_get(struct engine *e, const struct class_spec *k)
{
	char key[1024];

	bucket_key(key, sizeof key, k);
	struct bucket *b = strmap_get(&e->buckets, key);
	if (b != NULL)
		return b;
	b = xcalloc(1, sizeof *b);
	b->key = xstrdup(key);
	b->queue = k->queue;
	b->extra = k->extra;
	b->channel = k->channel;
	b->tiers = k->tiers;
	b->preferred = k->preferred;
	b->n_reqs = k->n_reqs;
	b->reqs = bucket_copy_reqs(k->reqs, k->n_reqs);
	b->n_extra_reqs = k->n_extra_reqs;
	b->extra_reqs = bucket_copy_reqs(k->extra_reqs, k->n_extra_reqs);
	cq_init(&b->contacts, bucket_contact_key, offsetof(struct econtact, heap_idx),
		offsetof(struct econtact, run_pos));
	heap_init_keyed(&b->ready, bucket_link_key, select_less, offsetof(struct link, ready_idx));
	strmap_put(&e->buckets, b->key, b);
	/* A new class is rare (its first contact); finding its agents is the
	 * one scan of the roster, paid once. */
	if (k->preferred != NULL) {
		bucket_link(e, k->preferred, b);
	} else {
		for (size_t i = 0; i < e->n_agents; i++)
			if (eligibility_check(e, e->agents[i], b) == ELIGIBLE)
				bucket_link(e, e->agents[i], b);
	}
	return b;
}

/* Re-files every link of a after its state, load or strategy keys changed. */
void bucket_agent_refresh(struct engine *e, struct eagent *a)
{
	bool staffed = agent_state_routable(a);

	/* Every change of routability (state, login, logout, detach, attach)
	 * ends here; load changes, the hot path, cost this one test. */
	if (staffed != a->staffed) {
		a->staffed = staffed;
		for (size_t i = 0; i < a->n_linkv; i++)
			bucket_link_staff(a->linkv[i].link, staffed);
	}
	a->links_stale = false;
	if (a->n_ready == 0) {
		/* Out of every ready heap (an agent at capacity after an offer,
		 * say): nothing to do unless it should now be in one, which the
		 * agent alone tells, without touching the links. */
		size_t i = 0;
		if (agent_state_routable(a))
			while (i < a->n_linkv && !agent_state_slot_free(e, a, a->linkv[i].channel))
				i++;
		if (!agent_state_routable(a) || i == a->n_linkv)
			return;
	}
	for (size_t i = 0; i < a->n_linkv; i++)
		bucket_link_refresh(e, a->linkv[i].link);
}

/* Drops every link of a (a roster change, or removal), fixing the counts. */
void bucket_agent_unlink(struct engine *e, struct eagent *a)
{
	a->n_linkv = 0;
	while (a->links != NULL) {
		struct link *l = a->links;
		struct bucket *b = l->bucket;
		a->links = l->next_in_agent;
		if (heap_contains(&b->ready, l))
			a->n_ready--;
		heap_remove(&b->ready, l);
		if (a->v.logged_in)
			b->logged_in--;
		b->staffed -= l->staffed;
		struct link **pp = &b->links;
		while (*pp != l)
			pp = &(*pp)->next_in_bucket;
		*pp = l->next_in_bucket;
		free(l);
	}
}

/* Links a to every existing class it is eligible for, after a roster change. */
void bucket_agent_relink(struct engine *e, struct eagent *a)
{
	const char *k;
	void *v;

	bucket_agent_unlink(e, a);
	for (size_t it = 0; strmap_next(&e->buckets, &it, &k, &v);)
		if (eligibility_check(e, a, v) == ELIGIBLE)
			bucket_link(e, a, v);
}

/* heap_first's test: the link's agent did not decline contact arg lately. */
static bool bucket_link_may_take(const void *item, const void *arg)
{
	return !reject_excluded(arg, ((const struct link *)item)->agent);
}

/* cq_first's test: agent arg did not decline this contact lately. */
static bool bucket_contact_may_go_to(const void *item, const void *arg)
{
	return !reject_excluded(item, arg);
}

/* The agent a new or returning contact goes to: its class's best ready one. */
struct eagent *bucket_best_agent(struct engine *e, struct bucket *b, const struct econtact *c)
{
	struct link *top = heap_top(&b->ready);

	if (top == NULL || c->excluded == NULL || !reject_excluded(c, top->agent))
		return top ? top->agent : NULL;
	/* The best agent declined this contact lately: the next best. */
	struct link *l = heap_first(&b->ready, bucket_link_may_take, c);
	return l ? l->agent : NULL;
}

/* The general case: each bucket's best contact a may take (skipping the
 * ones it declined lately), and the earliest of those. */
static struct econtact *bucket_best_contact_declined(struct engine *e, struct eagent *a)
{
	struct econtact *best = NULL;

	for (size_t i = 0; i < a->n_linkv; i++) {
		struct bucket *b = a->linkv[i].bucket;
		if (cq_count(&b->contacts) == 0 || !agent_state_slot_free(e, a, b->channel))
			continue;
		struct econtact *pick = cq_top(&b->contacts);
		if (pick->excluded != NULL && reject_excluded(pick, a))
			pick = cq_first(&b->contacts, bucket_contact_may_go_to, a);
		if (pick != NULL && (best == NULL || bucket_contact_less(pick, best)))
			best = pick;
	}
	return best;
}

/* What a freed agent takes next: the earliest head over the classes it serves. */
struct econtact *bucket_best_contact(struct engine *e, struct eagent *a)
{
	const struct heap_ent *best = NULL;

	/* Asks the rule, not the ready heaps: a's links may be stale (see
	 * engine_complete). */
	if (!agent_state_routable(a))
		return NULL;
	/* The earliest head by the keys kept in the heaps: no contact is
	 * touched until the winner. */
	for (size_t i = 0; i < a->n_linkv; i++) {
		if (!agent_state_slot_free(e, a, a->linkv[i].channel))
			continue;
		const struct heap_ent *top = cq_top_ent(&a->linkv[i].bucket->contacts);
		if (top == NULL)
			continue;
		if (best == NULL || top->k1 < best->k1 || (top->k1 == best->k1 && top->k2 < best->k2))
			best = top;
	}
	if (best == NULL)
		return NULL;
	struct econtact *c = best->item;
	/* Every other bucket's pick is at or after its head, so the earliest
	 * head wins unless a declined it. */
	if (c->excluded == NULL || !reject_excluded(c, a))
		return c;
	return bucket_best_contact_declined(e, a);
}

/* max_wait_no_agent counts from when no logged-in agent could serve a
 * contact; a class gaining or losing its last such agent starts or stops
 * that clock for every contact in it. */
static void bucket_noagent(struct engine *e, struct bucket *b, int64_t now)
{
	int64_t limit = b->queue->max_wait_no_agent_ms;

	if (limit <= 0)
		return;
	struct econtact *c;
	for (size_t i = 0; (c = cq_next(&b->contacts, &i)) != NULL;) {
		timers_due(e, c, DUE_NOAGENT, b->logged_in == 0 ? now + limit : INT64_MAX);
	}
}

/* a logged in or out: its classes' logged-in counts, and their no-agent clocks. */
void bucket_agent_presence(struct engine *e, struct eagent *a, bool logged_in, int64_t now)
{
	for (struct link *l = a->links; l != NULL; l = l->next_in_agent) {
		struct bucket *b = l->bucket;
		if (logged_in) {
			if (b->logged_in++ == 0)
				bucket_noagent(e, b, now);
		} else if (--b->logged_in == 0) {
			bucket_noagent(e, b, now);
		}
	}
}

/* Frees a class, its links and its heaps; its contacts are the engine's. */
static void bucket_destroy(struct bucket *b)
{
	while (b->links != NULL) {
		struct link *l = b->links;
		b->links = l->next_in_bucket;
		free(l);
	}
	cq_free(&b->contacts);
	heap_free(&b->ready);
	free(b->reqs);
	free(b->extra_reqs);
	free(b->key);
	free(b);
}

/* Frees the empty classes that were a's customers' alone: a is leaving. */
void bucket_drop_preferred(struct engine *e, const struct eagent *a)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->buckets, &it, &k, &v);) {
		struct bucket *b = v;
		if (b->preferred == a && cq_count(&b->contacts) == 0) {
			strmap_del(&e->buckets, b->key);
			bucket_destroy(b);
		}
	}
}

/* Frees every class (engine_free); agents keep no dangling links. */
void bucket_free_all(struct engine *e)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->buckets, &it, &k, &v);)
		bucket_destroy(v);
	strmap_free(&e->buckets);
	for (size_t i = 0; i < e->n_agents; i++) {
		e->agents[i]->links = NULL;
		e->agents[i]->n_linkv = 0;
		e->agents[i]->n_ready = 0;
	}
}

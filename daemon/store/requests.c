/* The store's requests: what each public call sends to Redis. How they
 * travel (queue, batches, sending again, timeouts) is store.c's. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* A key: its prefix (keys.h) and the id. */
static void store_req_key(struct store_req *r, const char *prefix, const char *id)
{
	const char *parts[] = { prefix, id };

	resp_add_parts(&r->args, parts, 2);
}

/* Whether this connection can take a request now (leases, reads). */
static bool store_connected(const struct store *st)
{
	return st->state == STORE_READY || st->state == STORE_REFUSING;
}

/* Queues r, a write whose caller hears only done or failed. */
static int store_enqueue_done(struct store *st, struct store_req *r, store_done_cb cb, void *arg)
{
	r->done_cb = cb;
	r->answer = store_answer_done;
	r->fail = store_fail_done;
	r->arg = arg;
	store_enqueue(st, r);
	return 0;
}

/* Sends r, a read whose caller hears the fields it returns. */
static int store_send_read(struct store *st, struct store_req *r, store_read_cb cb, void *arg)
{
	r->read_cb = cb;
	r->answer = store_answer_read;
	r->fail = store_fail_read;
	r->arg = arg;
	return store_send_now(st, r);
}

int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg)
{
	if (strcmp(st->epoch, "0") == 0)
		return SB_ERR_NOT_LEADER;
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_OP, "submit");
	const char *ext[] = { st->ext_prefix, s->gateway_id, ":", s->external_id };

	r->op = 's';
	resp_add_parts(&r->args, ext, 4);
	store_req_key(r, st->contact_prefix, s->contact_id);
	store_req_key(r, st->queue_prefix, s->queue);
	resp_add_str(&r->args, s->contact_id);
	resp_add_num(&r->args, s->deadline_ms);
	resp_add_num(&r->args, (int64_t)s->n_fields);
	store_req_fields(r, s->fields, s->n_fields);
	store_req_fields(r, s->event, s->n_event);
	r->submit_cb = cb;
	r->answer = store_answer_submit;
	r->fail = store_fail_submit;
	r->arg = arg;
	store_enqueue(st, r);
	return 0;
}

static const char *const store_zops[] = { "none", "add", "rem", "move" };

int store_write(struct store *st, const struct store_write *w, store_done_cb cb, void *arg)
{
	if (strcmp(st->epoch, "0") == 0)
		return SB_ERR_NOT_LEADER;
	struct store_req *r = store_req_new(st, REQ_OP, "write");

	r->op = 'w';
	store_req_key(r, w->kind == STORE_CONTACT ? st->contact_prefix : st->agent_prefix, w->id);
	resp_add_str(&r->args, w->kind == STORE_CONTACT ? "c" : "a");
	resp_add_num(&r->args, w->seq);
	resp_add_str(&r->args, store_zops[w->zop]);
	store_req_key(r, w->queue ? st->queue_prefix : "", w->queue ? w->queue : "");
	store_req_key(r, w->from_queue ? st->queue_prefix : "", w->from_queue ? w->from_queue : "");
	resp_add_str(&r->args, w->id);
	resp_add_num(&r->args, w->score);
	resp_add_num(&r->args, w->expire_s);
	resp_add_str(&r->args, w->closes ? "1" : w->roster ? "r" : "0");
	store_req_key(r, w->outcome_of ? st->outcomes_prefix : "", w->outcome_of ? w->outcome_of : "");
	resp_add_num(&r->args, w->at_ms);
	resp_add_str(&r->args, st->retention_ms);
	resp_add_num(&r->args, (int64_t)w->n_fields);
	store_req_fields(r, w->fields, w->n_fields);
	store_req_fields(r, w->event, w->n_event);
	return store_enqueue_done(st, r, cb, arg);
}

void store_put(struct store *st, const struct store_write *w)
{
	struct store_req *r = store_req_new(st, REQ_OP, "put");

	if (w->id == NULL) {
		r->op = 'e';
	} else {
		r->op = 'p';
		store_req_key(r, w->kind == STORE_CONTACT ? st->contact_prefix : st->agent_prefix,
			      w->id);
		resp_add_str(&r->args, store_zops[w->zop == STORE_ZMOVE ? STORE_ZADD : w->zop]);
		store_req_key(r, w->queue ? st->queue_prefix : "", w->queue ? w->queue : "");
		resp_add_str(&r->args, w->id);
		resp_add_num(&r->args, w->score);
		resp_add_num(&r->args, w->expire_s);
		resp_add_str(&r->args, w->closes ? "1" : w->opens ? "o" : w->roster ? "r" : "0");
		store_req_key(r, w->external_key ? st->ext_prefix : "",
			      w->external_key ? w->external_key : "");
		resp_add_num(&r->args, (int64_t)w->n_fields);
		store_req_fields(r, w->fields, w->n_fields);
	}
	store_req_fields(r, w->event, w->n_event);
	r->answer = store_answer_done;
	r->fail = store_fail_done;
	r->next = NULL;
	if (st->puts.tail != NULL)
		st->puts.tail->next = r;
	else
		st->puts.head = r;
	st->puts.tail = r;
	st->puts.n++;
}

/* A lease script's request: KEYS leader, epoch and commits, then node id
 * and the epoch this daemon leads under; the caller adds what follows. */
static struct store_req *store_lease_req(struct store *st, enum script_id script,
					 const char *node_id)
{
	struct store_req *r = store_req_new(st, REQ_SCRIPT, scripts_name(script));

	r->script = script;
	resp_add_str(&r->args, "3");
	resp_add_str(&r->args, st->leader_key);
	resp_add_str(&r->args, st->epoch_key);
	resp_add_str(&r->args, st->commits_key);
	resp_add_str(&r->args, node_id);
	resp_add_str(&r->args, st->epoch);
	return r;
}

int store_lease(struct store *st, const char *node_id, int64_t lease_ms, const char *value,
		int64_t min_epoch, store_lease_cb cb, void *arg)
{
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_lease_req(st, SCRIPT_LEASE, node_id);

	if (st->lease_value == NULL || strcmp(st->lease_value, value) != 0) {
		free(st->lease_value);
		st->lease_value = xstrdup(value);
	}
	st->lease_ms = lease_ms;
	resp_add_num(&r->args, lease_ms);
	resp_add_str(&r->args, value);
	resp_add_num(&r->args, min_epoch);
	r->lease_cb = cb;
	r->answer = store_answer_lease;
	r->fail = store_fail_lease;
	r->arg = arg;
	return store_send_now(st, r);
}

int store_release(struct store *st, const char *node_id, store_done_cb cb, void *arg)
{
	if (strcmp(st->epoch, "0") == 0)
		return SB_ERR_NOT_LEADER;
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_lease_req(st, SCRIPT_RELEASE, node_id);

	/* After the writes queued before it: a standby takes over once they
	 * have landed, not before. */
	r->ordered = true;
	return store_enqueue_done(st, r, cb, arg);
}

int store_save_figures(struct store *st, const struct store_field *fields, size_t n,
		       int64_t expire_s, store_done_cb cb, void *arg)
{
	if (strcmp(st->epoch, "0") == 0)
		return SB_ERR_NOT_LEADER;
	struct store_req *r = store_req_new(st, REQ_OP, "figures");

	r->op = 'h';
	resp_add_str(&r->args, st->figures_key);
	resp_add_num(&r->args, expire_s);
	resp_add_num(&r->args, (int64_t)n);
	store_req_fields(r, fields, n);
	return store_enqueue_done(st, r, cb, arg);
}

int store_read_figures(struct store *st, store_read_cb cb, void *arg)
{
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_RAW, "HGETALL");

	resp_add_str(&r->args, st->figures_key);
	return store_send_read(st, r, cb, arg);
}

int store_scan_set(struct store *st, enum store_set set, const char *cursor, int count,
		   store_scan_cb cb, void *arg)
{
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_RAW, "SSCAN");

	resp_add_str(&r->args, set == STORE_SET_OPEN ? st->open_key : st->roster_key);
	resp_add_str(&r->args, cursor);
	resp_add_str(&r->args, "COUNT");
	resp_add_num(&r->args, count);
	r->scan_cb = cb;
	r->answer = store_answer_scan;
	r->fail = store_fail_scan;
	r->arg = arg;
	return store_send_now(st, r);
}

int store_read(struct store *st, enum store_kind kind, const char *id, store_read_cb cb, void *arg)
{
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_RAW, "HGETALL");

	store_req_key(r, kind == STORE_CONTACT ? st->contact_prefix : st->agent_prefix, id);
	return store_send_read(st, r, cb, arg);
}

int store_read_outcomes(struct store *st, const char *gateway_id, const char *after_contact,
			const char *after_score, int count, store_outcomes_cb cb, void *arg)
{
	if (!store_connected(st))
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_SCRIPT, scripts_name(SCRIPT_OUTCOMES));

	r->script = SCRIPT_OUTCOMES;
	resp_add_str(&r->args, "1");
	store_req_key(r, st->outcomes_prefix, gateway_id);
	resp_add_str(&r->args, st->contact_prefix);
	resp_add_str(&r->args, after_score ? after_score : "");
	resp_add_str(&r->args, after_contact ? after_contact : "");
	resp_add_num(&r->args, count);
	r->outcomes_cb = cb;
	r->answer = store_answer_outcomes;
	r->fail = store_fail_outcomes;
	r->arg = arg;
	return store_send_now(st, r);
}

int store_barrier(struct store *st, store_done_cb cb, void *arg)
{
	if (strcmp(st->epoch, "0") == 0)
		return SB_ERR_NOT_LEADER;
	struct store_req *r = store_req_new(st, REQ_RAW, "PING");

	r->ordered = true;
	return store_enqueue_done(st, r, cb, arg);
}

/* The store's requests: what each public call sends to Redis. How they
 * travel (batching, replay, timeouts) is store.c's. */
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "store/internal.h"
#include "util/xalloc.h"

/* A key: its prefix (keys.h) and the id. */
static void store_req_key(struct store_req *r, const char *prefix, const char *id)
{
	const char *parts[] = { prefix, id };

	resp_add_parts(&r->args, parts, 2);
}

int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg)
{
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
	store_req_fields(r, s->fields, s->n_fields);
	resp_add_str(&r->args, "payload");
	resp_add(&r->args, s->payload, s->payload_len);
	r->submit_cb = cb;
	r->answer = store_answer_submit;
	r->fail = store_fail_submit;
	r->arg = arg;
	return store_go(st, r);
}

int store_write(struct store *st, const struct store_write *w, store_done_cb cb, void *arg)
{
	static const char *const zops[] = { "none", "add", "rem", "move" };

	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_OP, "write");

	r->op = 'w';
	store_req_key(r, w->kind == STORE_CONTACT ? st->contact_prefix : st->agent_prefix, w->id);
	resp_add_str(&r->args, zops[w->zop]);
	store_req_key(r, w->queue ? st->queue_prefix : "", w->queue ? w->queue : "");
	store_req_key(r, w->from_queue ? st->queue_prefix : "", w->from_queue ? w->from_queue : "");
	resp_add_str(&r->args, w->id);
	resp_add_num(&r->args, w->score);
	resp_add_num(&r->args, w->expire_s);
	resp_add_str(&r->args, w->closes ? "1" : w->roster ? "r" : "0");
	resp_add_num(&r->args, (int64_t)w->n_fields);
	store_req_fields(r, w->fields, w->n_fields);
	store_req_fields(r, w->event, w->n_event);
	r->replay = true;
	r->done_cb = cb;
	r->answer = store_answer_done;
	r->fail = store_fail_done;
	r->arg = arg;
	return store_go(st, r);
}

/* A lease script's request: KEYS leader and epoch, then node id and the
 * epoch this daemon leads under; the caller adds what follows. */
static struct store_req *store_lease_req(struct store *st, enum script_id script,
					 const char *node_id)
{
	struct store_req *r = store_req_new(st, REQ_SCRIPT, scripts_name(script));

	r->script = script;
	resp_add_str(&r->args, "2");
	resp_add_str(&r->args, st->leader_key);
	resp_add_str(&r->args, st->epoch_key);
	resp_add_str(&r->args, node_id);
	resp_add_str(&r->args, st->epoch);
	return r;
}

int store_lease(struct store *st, const char *node_id, int64_t lease_ms, const char *value,
		store_lease_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_lease_req(st, SCRIPT_LEASE, node_id);

	resp_add_num(&r->args, lease_ms);
	resp_add_str(&r->args, value);
	r->lease_cb = cb;
	r->answer = store_answer_lease;
	r->fail = store_fail_lease;
	r->arg = arg;
	return store_go(st, r);
}

int store_release(struct store *st, const char *node_id, store_done_cb cb, void *arg)
{
	if (st->state != STORE_READY || strcmp(st->epoch, "0") == 0)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_lease_req(st, SCRIPT_RELEASE, node_id);

	r->done_cb = cb;
	r->answer = store_answer_done;
	r->fail = store_fail_done;
	r->arg = arg;
	return store_go(st, r);
}

int store_scan_set(struct store *st, enum store_set set, const char *cursor, int count,
		   store_scan_cb cb, void *arg)
{
	if (st->state != STORE_READY)
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
	return store_go(st, r);
}

int store_read(struct store *st, enum store_kind kind, const char *id, store_read_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_RAW, "HGETALL");

	store_req_key(r, kind == STORE_CONTACT ? st->contact_prefix : st->agent_prefix, id);
	r->read_cb = cb;
	r->answer = store_answer_read;
	r->fail = store_fail_read;
	r->arg = arg;
	return store_go(st, r);
}

/* The store's requests: what each public call sends to Redis. How they
 * travel (batching, replay, timeouts) is store.c's. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store/internal.h"
#include "store/keys.h"
#include "xalloc.h"

int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, REQ_OP, "submit");
	char *ext = keys_external(st->site, s->gateway_id, s->external_id);
	char *ck = keys_contact(st->site, s->contact_id);
	char *qk = keys_queue(st->site, s->queue);

	r->op = 's';
	resp_add_str(&r->args, ext);
	resp_add_str(&r->args, ck);
	resp_add_str(&r->args, qk);
	resp_add_str(&r->args, s->contact_id);
	resp_add_num(&r->args, s->deadline_ms);
	store_req_fields(r, s->fields, s->n_fields);
	resp_add_str(&r->args, "payload");
	resp_add(&r->args, s->payload, s->payload_len);
	free(ext);
	free(ck);
	free(qk);
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
	char *hk = w->kind == STORE_CONTACT ? keys_contact(st->site, w->id)
					    : keys_agent(st->site, w->id);
	char *qk = w->queue ? keys_queue(st->site, w->queue) : NULL;
	char *fk = w->from_queue ? keys_queue(st->site, w->from_queue) : NULL;

	r->op = 'w';
	resp_add_str(&r->args, hk);
	resp_add_str(&r->args, zops[w->zop]);
	resp_add_str(&r->args, qk ? qk : "");
	resp_add_str(&r->args, fk ? fk : "");
	resp_add_str(&r->args, w->id);
	resp_add_num(&r->args, w->score);
	resp_add_num(&r->args, w->expire_s);
	resp_add_str(&r->args, w->closes ? "1" : w->roster ? "r" : "0");
	resp_add_num(&r->args, (int64_t)w->n_fields);
	store_req_fields(r, w->fields, w->n_fields);
	store_req_fields(r, w->event, w->n_event);
	free(hk);
	free(qk);
	free(fk);
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
	char *key = kind == STORE_CONTACT ? keys_contact(st->site, id) : keys_agent(st->site, id);

	resp_add_str(&r->args, key);
	free(key);
	r->read_cb = cb;
	r->answer = store_answer_read;
	r->fail = store_fail_read;
	r->arg = arg;
	return store_go(st, r);
}

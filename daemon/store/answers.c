/* How the store turns Redis's replies into its callers' callbacks. */
#include <stdlib.h>

#include "store/internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

struct store_field *store_reply_fields(const redisReply *reply, size_t from, size_t *n)
{
	*n = reply->elements > from ? (reply->elements - from) / 2 : 0;
	struct store_field *f = xcalloc(*n ? *n : 1, sizeof *f);
	for (size_t i = 0; i < *n; i++) {
		const redisReply *k = reply->element[from + 2 * i];
		const redisReply *v = reply->element[from + 2 * i + 1];
		f[i].name = k->type == REDIS_REPLY_STRING ? k->str : "";
		f[i].value = v->type == REDIS_REPLY_STRING ? v->str : "";
		f[i].len = v->type == REDIS_REPLY_STRING ? v->len : 0;
	}
	return f;
}

/* A submit's or a check's answer as a result; false when it is not one. */
static bool store_submit_result(const redisReply *reply, struct store_submit_result *res,
				struct store_field **fields)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_STRING)
		return false;
	res->created = reply->element[0]->integer == 1;
	res->contact_id = reply->element[1]->str;
	*fields = store_reply_fields(reply, 2, &res->n_fields);
	res->fields = *fields;
	return true;
}

/* Answers a submit from its operation's reply in the batch. */
void store_answer_submit(struct store_req *r, redisReply *reply)
{
	struct store_submit_result res = { 0 };
	struct store_field *fields = NULL;

	if (!store_submit_result(reply, &res, &fields)) {
		log_error("store: unexpected reply to submit");
		r->submit_cb(r->arg, SB_ERR_INTERNAL, NULL);
		return;
	}
	r->submit_cb(r->arg, 0, &res);
	free(fields);
}

void store_fail_submit(struct store_req *r, int err)
{
	if (r->submit_cb != NULL)
		r->submit_cb(r->arg, err, NULL);
	r->submit_cb = NULL;
}

void store_answer_check(struct store_req *r, redisReply *reply)
{
	struct store_submit_result res = { 0 };
	struct store_field *fields = NULL;
	struct store *st = r->st;

	/* {2}: the submit never reached Redis; its gateway was told to retry. */
	if (!store_submit_result(reply, &res, &fields))
		return;
	if (st->hooks.found != NULL)
		st->hooks.found(st->hooks.ctx, &res);
	free(fields);
}

void store_answer_done(struct store_req *r, redisReply *reply)
{
	if (r->done_cb != NULL)
		r->done_cb(r->arg, 0);
}

void store_fail_done(struct store_req *r, int err)
{
	if (r->done_cb != NULL)
		r->done_cb(r->arg, err);
	r->done_cb = NULL;
}

void store_fail_lease(struct store_req *r, int err)
{
	r->lease_cb(r->arg, err, STORE_LEASE_HELD_BY_OTHER, "", 0);
}

void store_answer_scan(struct store_req *r, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		r->scan_cb(r->arg, SB_ERR_INTERNAL, "0", NULL, 0);
		return;
	}
	redisReply *m = reply->element[1];
	const char **ids = xcalloc(m->elements ? m->elements : 1, sizeof *ids);
	size_t n = 0;
	for (size_t i = 0; i < m->elements; i++)
		if (m->element[i]->type == REDIS_REPLY_STRING)
			ids[n++] = m->element[i]->str;
	r->scan_cb(r->arg, 0, reply->element[0]->str, ids, n);
	free(ids);
}

void store_fail_scan(struct store_req *r, int err)
{
	r->scan_cb(r->arg, err, "0", NULL, 0);
}

void store_answer_read(struct store_req *r, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ARRAY) {
		r->read_cb(r->arg, SB_ERR_INTERNAL, NULL, 0);
		return;
	}
	size_t n;
	struct store_field *f = store_reply_fields(reply, 0, &n);
	r->read_cb(r->arg, 0, f, n);
	free(f);
}

void store_fail_read(struct store_req *r, int err)
{
	r->read_cb(r->arg, err, NULL, 0);
}

void store_answer_outcomes(struct store_req *r, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ARRAY) {
		r->outcomes_cb(r->arg, SB_ERR_INTERNAL, NULL, 0);
		return;
	}
	size_t n = 0;
	struct store_outcome *v = xcalloc(reply->elements ? reply->elements : 1, sizeof *v);
	struct store_field **fields = xcalloc(reply->elements ? reply->elements : 1, sizeof *fields);
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 3 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_STRING ||
		    e->element[2]->type != REDIS_REPLY_ARRAY)
			continue;
		v[n].contact_id = e->element[0]->str;
		v[n].score = e->element[1]->str;
		fields[n] = store_reply_fields(e->element[2], 0, &v[n].n_fields);
		v[n].fields = fields[n];
		n++;
	}
	r->outcomes_cb(r->arg, 0, v, n);
	for (size_t i = 0; i < n; i++)
		free(fields[i]);
	free(fields);
	free(v);
}

void store_fail_outcomes(struct store_req *r, int err)
{
	r->outcomes_cb(r->arg, err, NULL, 0);
}

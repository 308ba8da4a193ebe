/* The store: see store.h. hiredis lives here and nowhere else. This file
 * owns the connection, the send queue, batches, replies, and what happens
 * when Redis refuses writes or lost data; what each request carries is
 * built in requests.c. */
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "store/internal.h"
#include "store/keys.h"
#include "store/scripts.h"
#include "util/address.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* See STORE_BATCH_MAX_OPS. */
#define STORE_BATCH_MAX_BYTES (1u << 20)
/* First wait before sending again to a Redis that refused writes. */
#define STORE_REFUSE_BACKOFF_MS 100

static int64_t store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t store_now_ms(void)
{
	return store_now_us() / 1000;
}

const char *store_state_name(enum store_state s)
{
	switch (s) {
	case STORE_DOWN: return "down";
	case STORE_CONNECTING: return "connecting";
	case STORE_READY: return "ready";
	case STORE_REFUSING: return "refusing writes";
	}
	return "?";
}

/* How often an outage that goes on is logged again. */
#define STORE_DOWN_REMIND_MS 30000

/* Logs that Redis is out of reach or refuses writes: once when the outage
 * starts or changes kind, then a reminder every STORE_DOWN_REMIND_MS while
 * it lasts; the retries in between are debug. "store down" starts every
 * line, so that is what an operator looks for. */
static void store_tell_down(struct store *st, enum store_state old, enum store_state s,
			    const char *why)
{
	int64_t now = store_now_ms();
	bool starts = st->down_since_ms == 0 || old == STORE_READY ||
		      (s == STORE_REFUSING) != (old == STORE_REFUSING);
	/* Down from DOWN or CONNECTING: this attempt never got a connection. */
	const char *cannot =
		s == STORE_DOWN && (old == STORE_DOWN || old == STORE_CONNECTING) ? "cannot connect: "
										   : "";

	if (st->down_since_ms == 0)
		st->down_since_ms = now;
	if (starts) {
		st->down_told_ms = now;
		if (s == STORE_REFUSING)
			log_warnx("store down: redis %s refuses writes: %s; they are kept and sent "
				  "again",
				  st->address, why);
		else
			log_warnx("store down: redis %s: %s%s; retrying", st->address, cannot, why);
	} else if (now - st->down_told_ms >= STORE_DOWN_REMIND_MS) {
		st->down_told_ms = now;
		log_warnx("store down for %" PRId64 " s: redis %s: %s%s; still retrying",
			  (now - st->down_since_ms) / 1000, st->address,
			  s == STORE_REFUSING ? "refuses writes: " : cannot, why);
	} else {
		log_debug("store: redis %s: %s%s; retrying", st->address, cannot, why);
	}
}

/* The one place the store changes state; each change is logged (see
 * store_tell_down for how often). */
static void store_set_state(struct store *st, enum store_state s, const char *why)
{
	if (st->freeing) /* closing its own connection is no outage */
		return;
	if (st->state == s) {
		/* The store starts DOWN, and a connect can fail at once. */
		if (s == STORE_DOWN)
			store_tell_down(st, s, s, why);
		return;
	}
	enum store_state old = st->state;
	st->state = s;
	if (s == STORE_READY) {
		log_info("store ready: redis %s", st->address);
		st->down_since_ms = 0;
	} else if (s == STORE_DOWN || s == STORE_REFUSING) {
		store_tell_down(st, old, s, why);
	}
	if (st->hooks.state != NULL && !st->freeing)
		st->hooks.state(st->hooks.ctx, s);
}

/* ---- queues ---------------------------------------------------------------- */

static void reqq_push(struct reqq *q, struct store_req *r)
{
	r->next = NULL;
	if (q->tail != NULL)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->n++;
}

static struct store_req *reqq_pop(struct reqq *q)
{
	struct store_req *r = q->head;

	if (r == NULL)
		return NULL;
	q->head = r->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	r->next = NULL;
	return r;
}

/* Puts `front` (emptied) ahead of q. */
static void reqq_prepend(struct reqq *q, struct reqq *front)
{
	if (front->head == NULL)
		return;
	front->tail->next = q->head;
	if (q->tail == NULL)
		q->tail = front->tail;
	q->head = front->head;
	q->n += front->n;
	*front = (struct reqq){ 0 };
}

struct store_req *store_req_new(struct store *st, enum store_req_kind kind, const char *name)
{
	struct store_req *r = xcalloc(1, sizeof *r);

	r->st = st;
	r->kind = kind;
	r->name = name;
	r->queued_ms = store_now_ms();
	return r;
}

void store_req_free(struct store_req *r)
{
	resp_free(&r->args);
	free(r);
}

void store_req_fields(struct store_req *r, const struct store_field *f, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		resp_add_str(&r->args, f[k].name);
		resp_add(&r->args, f[k].value, f[k].len ? f[k].len : strlen(f[k].value));
	}
}

/* Answers r's caller with err and frees r. */
static void store_fail_req(struct store *st, struct store_req *r, int err)
{
	if (r->fail != NULL)
		r->fail(r, err);
	store_req_free(r);
}

/* Answers every request of q with err. */
static void store_fail_all(struct store *st, struct reqq *q, int err)
{
	struct store_req *r;

	while ((r = reqq_pop(q)) != NULL)
		store_fail_req(st, r, err);
}

/* ---- the connection ------------------------------------------------------------ */

static void store_schedule_reconnect(struct store *st)
{
	if (st->freeing || evtimer_pending(st->reconnect_timer, NULL))
		return;
	struct timeval tv = { st->backoff_ms / 1000, (st->backoff_ms % 1000) * 1000 };
	evtimer_add(st->reconnect_timer, &tv);
	st->backoff_ms *= 2;
	if (st->backoff_ms > st->conf.reconnect_max_ms)
		st->backoff_ms = st->conf.reconnect_max_ms;
}

/* Drops the connection on our initiative (a timeout, a data loss). hiredis
 * answers every pending command with a NULL reply from inside
 * redisAsyncFree (or right after the callback we are in). */
static void store_abort(struct store *st, const char *why)
{
	redisAsyncContext *ac = st->ac;

	evtimer_del(st->connect_timer);
	evtimer_del(st->command_timer);
	evtimer_del(st->retry_timer);
	store_set_state(st, STORE_DOWN, why);
	if (ac != NULL) {
		st->ac = NULL;
		redisAsyncFree(ac);
	}
	store_schedule_reconnect(st);
}

static void store_arm_command_timer(struct store *st)
{
	if (st->pending_head == NULL) {
		evtimer_del(st->command_timer);
		return;
	}
	int64_t left = st->pending_head->sent_ms + st->conf.command_timeout_ms - store_now_ms();
	if (left < 1)
		left = 1;
	struct timeval tv = { left / 1000, (left % 1000) * 1000 };
	evtimer_add(st->command_timer, &tv);
}

static void store_on_command_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	if (st->pending_head != NULL &&
	    store_now_ms() - st->pending_head->sent_ms >= st->conf.command_timeout_ms) {
		/* What is in flight is answered from inside: counted as timeouts. */
		st->timing_out = true;
		store_abort(st, "command timed out");
		st->timing_out = false;
	} else
		store_arm_command_timer(st);
}

static void store_on_connect_timer(evutil_socket_t fd, short what, void *arg)
{
	store_abort(arg, "connect timed out");
}

static void store_on_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* Frames r as one RESP command behind its command name (or script sha) and
 * hands it to hiredis. Returns SB_ERR_STORE_UNAVAILABLE, with r still the
 * caller's, if there is no connection or hiredis would not take it. */
static int store_send(struct store *st, struct store_req *r)
{
	struct resp cmd = { 0 };

	if (st->ac == NULL)
		return SB_ERR_STORE_UNAVAILABLE;
	/* The header and the command's name (or EVALSHA and a sha) are short. */
	resp_reserve(&cmd, r->args.len + 128);
	resp_add_header(&cmd, r->args.n + (r->kind == REQ_RAW ? 1 : 2));
	if (r->kind == REQ_RAW) {
		resp_add_str(&cmd, r->name);
	} else if (r->kind == REQ_SCRIPT_LOAD) {
		resp_add_str(&cmd, "SCRIPT");
		resp_add_str(&cmd, "LOAD");
	} else {
		resp_add_str(&cmd, "EVALSHA");
		resp_add(&cmd, st->sha[r->script], 40);
	}
	resp_add_all(&cmd, &r->args);
	/* hiredis 0.14 looks for the command's name with strchr(), as if the
	 * command were a C string: it must end in a NUL (not sent). */
	resp_reserve(&cmd, 1);
	cmd.buf[cmd.len] = '\0';
	int rc = redisAsyncFormattedCommand(st->ac, store_on_reply, r, cmd.buf, cmd.len);
	resp_free(&cmd);
	if (rc != REDIS_OK)
		return SB_ERR_STORE_UNAVAILABLE;
	r->sent_us = store_now_us();
	r->sent_ms = r->sent_us / 1000;
	r->next = NULL;
	if (st->pending_tail != NULL)
		st->pending_tail->next = r;
	else
		st->pending_head = r;
	st->pending_tail = r;
	st->n_pending += r->kind == REQ_BATCH ? r->n_members : 1;
	if (r->kind == REQ_BATCH)
		st->inflight++;
	if (!evtimer_pending(st->command_timer, NULL))
		store_arm_command_timer(st);
	return 0;
}

int store_send_now(struct store *st, struct store_req *r)
{
	int rc = store_send(st, r);
	if (rc != 0) {
		metrics_store_error(METRICS_STORE_UNAVAILABLE, 1);
		store_req_free(r);
	}
	return rc;
}

/* Removes r, the oldest request in flight, from the FIFO (replies come in
 * send order; the walk is a defence that costs nothing when it holds). */
static void store_unlink(struct store *st, struct store_req *r)
{
	struct store_req **pp = &st->pending_head, *prev = NULL;

	while (*pp != NULL && *pp != r) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return;
	*pp = r->next;
	if (st->pending_tail == r)
		st->pending_tail = prev;
	st->n_pending -= r->kind == REQ_BATCH ? r->n_members : 1;
	if (r->kind == REQ_BATCH)
		st->inflight--;
}

/* ---- sending ---------------------------------------------------------------- */

/* Whether queued operations may go now: connected, this connection synced,
 * nothing failed that must go first, and not between two attempts at a
 * Redis that refuses writes. */
static bool store_may_send(const struct store *st)
{
	if (st->ac == NULL || !st->synced || st->lost || st->failed.head != NULL)
		return false;
	if (st->state == STORE_REFUSING)
		return st->inflight == 0 && !evtimer_pending(st->retry_timer, NULL);
	return st->state == STORE_READY;
}

/* Sends one batch from the head of the queue: the fixed keys and
 * arguments, then each operation as its letter, its argument count and its
 * arguments. */
static void store_send_batch(struct store *st)
{
	struct reqq *from = st->puts.head != NULL ? &st->puts : &st->queue;
	struct store_req *b = store_req_new(st, REQ_BATCH, scripts_name(SCRIPT_BATCH));
	size_t bytes = 0;

	b->script = SCRIPT_BATCH;
	b->expect = st->applied + st->inflight;
	bool check = false;
	struct store_req **tail = &b->members;
	while (from->head != NULL && from->head->kind == REQ_OP &&
	       b->n_members < STORE_BATCH_MAX_OPS && bytes < STORE_BATCH_MAX_BYTES) {
		struct store_req *m = reqq_pop(from);
		*tail = m;
		tail = &m->next;
		b->n_members++;
		bytes += m->args.len;
		check = check || m->number <= st->checked_upto;
	}
	/* Each operation adds its letter and count (under 32 bytes) to its
	 * arguments; the keys and fixed arguments are a few hundred bytes. */
	resp_reserve(&b->args, bytes + 32 * b->n_members + 1024);
	resp_add_str(&b->args, "5");
	resp_add_str(&b->args, st->epoch_key);
	resp_add_str(&b->args, st->commits_key);
	resp_add_str(&b->args, st->events_key);
	resp_add_str(&b->args, st->open_key);
	resp_add_str(&b->args, st->roster_key);
	resp_add_str(&b->args, st->epoch);
	resp_add_num(&b->args, b->expect);
	resp_add_str(&b->args, st->maxlen);
	resp_add_str(&b->args, st->ttl);
	resp_add_str(&b->args, st->contact_prefix);
	resp_add_str(&b->args, st->seq_field);
	resp_add_str(&b->args, check ? "1" : "0");
	for (struct store_req *m = b->members; m != NULL; m = m->next) {
		resp_add(&b->args, &m->op, 1);
		resp_add_num(&b->args, m->args.n);
		resp_add_all(&b->args, &m->args);
	}
	if (store_send(st, b) == 0)
		return;
	/* No connection after all: everything goes back, in order. */
	struct reqq back = { 0 };
	for (struct store_req *m = b->members, *next; m != NULL; m = next) {
		next = m->next;
		reqq_push(&back, m);
	}
	b->members = NULL;
	store_req_free(b);
	reqq_prepend(from, &back);
}

/* Sends what may go, in queue order (the puts of a re-seed first):
 * operations in batches, an ordered request (a lease release) once the
 * writes before it are sent. While Redis refuses writes, one batch at a
 * time probes it. */
static void store_pump(struct store *st)
{
	/* Refusing, with nothing of its own to send (what Redis refused was a
	 * submit, answered already): an empty batch asks whether Redis takes
	 * writes again. */
	if (st->state == STORE_REFUSING && store_may_send(st) && st->queue.head == NULL &&
	    st->puts.head == NULL) {
		store_send_batch(st);
		return;
	}
	while (store_may_send(st) && (st->puts.head != NULL || st->queue.head != NULL)) {
		if (st->puts.head != NULL) {
			store_send_batch(st);
			continue;
		}
		if (st->queue.head->kind != REQ_OP) {
			struct store_req *r = reqq_pop(&st->queue);
			if (store_send(st, r) != 0) {
				metrics_store_error(METRICS_STORE_UNAVAILABLE, 1);
				store_fail_req(st, r, SB_ERR_STORE_UNAVAILABLE);
			}
			continue;
		}
		store_send_batch(st);
		if (st->state == STORE_REFUSING)
			break;
	}
}

static void store_on_flush(evutil_socket_t fd, short what, void *arg)
{
	store_pump(arg);
}

void store_enqueue(struct store *st, struct store_req *r)
{
	r->number = ++st->numbered;
	reqq_push(&st->queue, r);
	/* Runs after the callbacks already due in this loop turn, so
	 * everything they ask for goes in as few batches as it fits. */
	event_active(st->flush_ev, EV_TIMEOUT, 1);
}

/* Nothing is in flight any more: operations that failed go back to the
 * front of the queue, and what may go, goes. */
static void store_settle(struct store *st)
{
	if (st->inflight > 0)
		return;
	st->broken = false;
	reqq_prepend(&st->queue, &st->failed);
	event_active(st->flush_ev, EV_TIMEOUT, 1);
}

/* ---- leadership, losses -------------------------------------------------------- */

/* Drops every operation kept (queued, failed, and those of batches in
 * flight, whose replies then find nothing to answer): their callers hear
 * err now. */
static void store_drop_all(struct store *st, int err)
{
	store_fail_all(st, &st->failed, err);
	store_fail_all(st, &st->puts, err);
	/* Ordered requests (a release) fail too: this daemon leads nothing. */
	store_fail_all(st, &st->queue, err);
	for (struct store_req *b = st->pending_head; b != NULL; b = b->next) {
		if (b->kind != REQ_BATCH)
			continue;
		for (struct store_req *m = b->members; m != NULL; m = m->next) {
			if (m->fail != NULL)
				m->fail(m, err);
			m->fail = NULL;
			m->answer = NULL;
		}
	}
	st->lost = false;
}

/* Another daemon leads now: nothing this one kept may land any more. */
static void store_fenced(struct store *st, const char *why)
{
	if (strcmp(st->epoch, "0") == 0)
		return;
	log_warnx("store: redis refused a write: %s; this daemon is no longer the leader", why);
	snprintf(st->epoch, sizeof st->epoch, "0");
	store_drop_all(st, SB_ERR_NOT_LEADER);
	if (st->hooks.fenced != NULL && !st->freeing)
		st->hooks.fenced(st->hooks.ctx);
}

static void store_restore(struct store *st);

/* Redis lost data it had acknowledged: stop, have the owner hand over its
 * live state (store_put), then put back the epoch, the counter and the
 * lease, write the state, and go on with what was queued. */
static void store_lose(struct store *st, const char *why)
{
	if (st->lost || strcmp(st->epoch, "0") == 0 || st->freeing)
		return;
	log_error("store: redis lost data (%s); writing the live state back", why);
	st->losses++;
	/* The puts carry the live state, and with it what is queued now. */
	st->checked_upto = st->numbered;
	metrics_store_loss();
	st->lost = true;
	/* Batches in flight may or may not apply on what is left: start again
	 * from a known point. Their operations go back to the queue. */
	if (st->inflight > 0 || st->pending_head != NULL)
		store_abort(st, "redis lost data");
	if (st->hooks.lost != NULL)
		st->hooks.lost(st->hooks.ctx, why);
	if (st->ac != NULL && st->synced)
		store_restore(st);
}

/* ---- replies ---------------------------------------------------------------- */

/* The SB_ERR_* an error reply means for the request (0: none). */
static int store_reply_error(const redisReply *reply)
{
	if (reply == NULL)
		return SB_ERR_STORE_UNAVAILABLE;
	if (reply->type != REDIS_REPLY_ERROR)
		return 0;
	if (strncmp(reply->str, "FENCED", 6) == 0)
		return SB_ERR_NOT_LEADER;
	return SB_ERR_STORE_UNAVAILABLE;
}

/* Whether an error reply is Redis refusing writes for now (full, disk
 * trouble, a replica, busy), rather than the connection's or the data's
 * trouble. */
static bool store_refusal(const char *err)
{
	static const char *const codes[] = { "OOM", "MISCONF", "READONLY", "NOREPLICAS",
					     "BUSY", "MASTERDOWN", "TRYAGAIN", "NOWRITE" };

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strncmp(err, codes[i], strlen(codes[i])) == 0)
			return true;
	return false;
}

/* A batch did not apply (refused, failed ORDER, or its connection died):
 * its writes and checks go back in order; its submits are answered err (the
 * gateway retries), and one whose fate is unknown is checked later. */
static void store_batch_back(struct store *st, struct store_req *b, bool unknown, int err)
{
	struct store_req *m = b->members;

	/* Whether or not it applied, what was asked for so far is checked when
	 * sent again (checked_upto). */
	st->checked_upto = st->numbered;
	b->members = NULL;
	while (m != NULL) {
		struct store_req *next = m->next;
		if (m->answer == NULL) {
			/* dropped (fenced, stood down): already answered */
			store_req_free(m);
		} else if (m->op == 's') {
			store_fail_submit(m, err);
			if (unknown) {
				/* Only the external-id key stays: the check reads it. */
				struct resp key = { 0 };
				size_t len;
				const char *v = resp_first(&m->args, &len);
				resp_add(&key, v, len);
				resp_free(&m->args);
				m->args = key;
				m->op = 'c';
				m->name = "check";
				m->answer = store_answer_check;
				m->fail = NULL;
				m->submit_cb = NULL;
				reqq_push(&st->failed, m);
			} else {
				store_req_free(m);
			}
		} else {
			reqq_push(&st->failed, m);
		}
		m = next;
	}
	store_req_free(b);
}

/* A batch applied: each operation is answered from its own element. A
 * write that found its contact's earlier transitions missing means Redis
 * lost data: it is kept (the re-seed makes it a repeat) and the loss is
 * handled. */
static void store_batch_done(struct store *st, struct store_req *b, redisReply *reply)
{
	struct store_req *m = b->members;
	const char *gap = NULL;
	size_t i = 0;

	st->applied = b->expect + 1;
	b->members = NULL;
	while (m != NULL) {
		struct store_req *next = m->next;
		redisReply *own = reply->element[i++];
		if (m->answer == NULL) {
			store_req_free(m);
		} else if (own->type == REDIS_REPLY_ERROR ||
			   (m->op == 'w' && own->type == REDIS_REPLY_INTEGER && own->integer < 0)) {
			if (own->type == REDIS_REPLY_ERROR) {
				metrics_store_error(METRICS_STORE_REFUSED, 1);
				log_error("store: redis refused a %s: %s", m->name, own->str);
			}
			if (m->op == 'w' || m->op == 'p') {
				gap = own->type == REDIS_REPLY_ERROR ? "a write failed on a damaged key"
								     : "a transition is missing its predecessors";
				if (m->op == 'w')
					reqq_push(&st->failed, m);
				else
					store_req_free(m);
			} else {
				store_fail_req(st, m, SB_ERR_INTERNAL);
			}
		} else {
			m->answer(m, own);
			store_req_free(m);
		}
		m = next;
	}
	store_req_free(b);
	if (gap != NULL)
		store_lose(st, gap);
}

static void store_on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	log_debug("store: asking redis again whether it takes writes (%zu waiting)", st->queue.n);
	store_pump(st);
}

/* Redis refused a batch for now: wait, then try again with one batch. */
static void store_refused(struct store *st, const char *why)
{
	if (st->state == STORE_REFUSING)
		store_tell_down(st, STORE_REFUSING, STORE_REFUSING, why);
	if (st->state == STORE_READY || st->state == STORE_REFUSING) {
		store_set_state(st, STORE_REFUSING, why);
		if (!evtimer_pending(st->retry_timer, NULL)) {
			struct timeval tv = { st->refuse_backoff_ms / 1000,
					      (st->refuse_backoff_ms % 1000) * 1000 };
			evtimer_add(st->retry_timer, &tv);
			st->refuse_backoff_ms *= 2;
			if (st->refuse_backoff_ms > st->conf.reconnect_max_ms)
				st->refuse_backoff_ms = st->conf.reconnect_max_ms;
		}
	}
}

static void store_on_batch_reply(struct store *st, struct store_req *b, redisReply *reply)
{
	if (reply == NULL) {
		/* The connection died with it: it may or may not have applied. */
		st->unknown++;
		store_batch_back(st, b, true, SB_ERR_STORE_UNAVAILABLE);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == b->n_members) {
		store_batch_done(st, b, reply);
		if (st->state == STORE_REFUSING && !st->broken) {
			st->refuse_backoff_ms = STORE_REFUSE_BACKOFF_MS;
			store_set_state(st, STORE_READY, "");
		}
		return;
	}
	const char *err = reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected reply";
	if (strncmp(err, "FENCED", 6) == 0) {
		store_batch_back(st, b, false, SB_ERR_NOT_LEADER);
		store_fenced(st, err);
		return;
	}
	bool was_broken = st->broken;
	st->broken = st->inflight > 0;
	store_batch_back(st, b, false, SB_ERR_STORE_UNAVAILABLE);
	if (strncmp(err, "LOST", 4) == 0 || (strncmp(err, "ORDER", 5) == 0 && !was_broken)) {
		store_lose(st, err);
	} else if (strncmp(err, "ORDER", 5) == 0) {
		/* An earlier batch failed; this one goes again after it. */
	} else if (store_refusal(err)) {
		store_refused(st, err);
	} else if (strncmp(err, "NOSCRIPT", 8) == 0 || strncmp(err, "LOADING", 7) == 0) {
		store_abort(st, err);
	} else {
		/* A script error is a bug, not a reason to lose writes: kept,
		 * sent again after a pause, and said loudly. */
		log_error("store: redis failed a batch: %s", err);
		store_refused(st, err);
	}
}

static void store_on_script_loaded(struct store *st, struct store_req *r, redisReply *reply);
static void store_sync(struct store *st);

static void store_on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct store_req *r = privdata;
	struct store *st = r->st;
	redisReply *reply = reply_;

	store_unlink(st, r);
	/* Every request sent is timed or counted as failed here, once; a
	 * batch counts as one request. */
	if (reply == NULL)
		metrics_store_error(st->timing_out ? METRICS_STORE_TIMEOUT
						   : METRICS_STORE_UNAVAILABLE, 1);
	else
		metrics_store_latency(store_now_us() - r->sent_us);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		metrics_store_error(METRICS_STORE_REFUSED, 1);
	if (reply == NULL) {
		/* The connection is going away: nothing more goes on it. */
		st->synced = false;
		store_set_state(st, STORE_DOWN, "connection lost");
	} else {
		store_arm_command_timer(st);
	}
	if (r->kind == REQ_SCRIPT_LOAD) {
		store_on_script_loaded(st, r, reply);
		store_req_free(r);
		return;
	}
	if (r->kind == REQ_BATCH) {
		store_on_batch_reply(st, r, reply);
		store_settle(st);
		return;
	}
	int err = store_reply_error(reply);
	if (err == 0 && reply->type == REDIS_REPLY_ERROR)
		err = SB_ERR_INTERNAL;
	if (err != 0) {
		/* Once, not once per request: an outage already said why, and a
		 * refusal repeated (a lease renewed every second) says nothing new
		 * until a request succeeds again. */
		if (reply != NULL && (st->state != STORE_READY || st->refusal_told))
			log_debug("store: redis refused %s: %s", r->name, reply->str);
		else if (reply != NULL)
			log_error("store: redis refused %s: %s (not logged again until a request "
				  "succeeds)",
				  r->name, reply->str);
		st->refusal_told = st->refusal_told || (reply != NULL && st->state == STORE_READY);
		if (r->fail != NULL)
			r->fail(r, err);
	} else {
		st->refusal_told = false;
		r->answer(r, reply);
	}
	store_req_free(r);
	if (err == SB_ERR_NOT_LEADER)
		store_fenced(st, reply->str);
}

/* ---- connecting: scripts, sync, restore --------------------------------------- */

/* Connected and synced: writes flow. */
static void store_ready(struct store *st)
{
	st->backoff_ms = 50;
	st->refuse_backoff_ms = STORE_REFUSE_BACKOFF_MS;
	st->synced = true;
	if (st->queue.n > 0)
		log_info("store: sending %zu writes kept while redis was away", st->queue.n);
	store_set_state(st, STORE_READY, "");
	store_pump(st);
}

static void store_answer_restore(struct store_req *r, redisReply *reply)
{
	struct store *st = r->st;

	st->lost = false;
	log_info("store: epoch %s and the live state written back; %zu writes follow", st->epoch,
		 st->queue.n);
	store_ready(st);
}

static void store_fail_restore(struct store_req *r, int err)
{
	/* A lost connection reconnects and restores again; FENCED stands the
	 * daemon down (store_on_reply). */
}

/* Puts back this daemon's epoch, the counter and the lease, ahead of the
 * state written next (the queue starts with the puts). */
static void store_restore(struct store *st)
{
	struct store_req *r = store_req_new(st, REQ_SCRIPT, scripts_name(SCRIPT_RESTORE));

	r->script = SCRIPT_RESTORE;
	resp_add_str(&r->args, "3");
	resp_add_str(&r->args, st->epoch_key);
	resp_add_str(&r->args, st->commits_key);
	resp_add_str(&r->args, st->leader_key);
	resp_add_str(&r->args, st->epoch);
	resp_add_num(&r->args, st->applied);
	resp_add_str(&r->args, st->lease_value ? st->lease_value : "");
	resp_add_num(&r->args, st->lease_ms > 0 ? st->lease_ms : 1000);
	r->answer = store_answer_restore;
	r->fail = store_fail_restore;
	store_send_now(st, r);
}

/* Where Redis stands after a reconnect: the same epoch, and a counter that
 * covers every batch acknowledged (and perhaps some whose fate the old
 * connection took). Anything else is a data loss. */
static void store_answer_sync(struct store_req *r, redisReply *reply)
{
	struct store *st = r->st;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		store_abort(st, "unexpected reply to sync");
		return;
	}
	const char *epoch = reply->element[0]->str;
	int64_t commits = strtoll(reply->element[1]->str, NULL, 10);
	int64_t ours = strtoll(st->epoch, NULL, 10);
	int64_t theirs = strtoll(epoch, NULL, 10);
	char why[160];

	st->synced = true;
	if (st->lost) {
		st->unknown = 0;
		store_restore(st);
		return;
	}
	if (theirs > ours) {
		store_fenced(st, "FENCED another daemon raised the epoch while we were away");
		store_ready(st);
		return;
	}
	if (epoch[0] == '\0' || theirs < ours) {
		snprintf(why, sizeof why, "epoch %s, expected %s", epoch[0] ? epoch : "missing",
			 st->epoch);
		store_lose(st, why);
		return;
	}
	if (commits < st->applied || commits > st->applied + st->unknown) {
		snprintf(why, sizeof why, "%" PRId64 " batches applied, %" PRId64 " acknowledged",
			 commits, st->applied);
		st->unknown = 0;
		store_lose(st, why);
		return;
	}
	st->applied = commits;
	st->unknown = 0;
	store_ready(st);
}

static void store_fail_sync(struct store_req *r, int err)
{
}

static void store_sync(struct store *st)
{
	if (strcmp(st->epoch, "0") == 0) {
		/* Leading nothing: nothing was written, nothing to check. */
		st->unknown = 0;
		store_ready(st);
		return;
	}
	struct store_req *r = store_req_new(st, REQ_SCRIPT, scripts_name(SCRIPT_SYNC));
	r->script = SCRIPT_SYNC;
	resp_add_str(&r->args, "2");
	resp_add_str(&r->args, st->epoch_key);
	resp_add_str(&r->args, st->commits_key);
	r->answer = store_answer_sync;
	r->fail = store_fail_sync;
	store_send_now(st, r);
}

static void store_on_script_loaded(struct store *st, struct store_req *r, redisReply *reply)
{
	/* A NULL reply means the connection is already going down. */
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
		store_abort(st, reply->type == REDIS_REPLY_ERROR ? reply->str : "SCRIPT LOAD failed");
		return;
	}
	memcpy(st->sha[r->script], reply->str, 40);
	st->sha[r->script][40] = '\0';
	if (++st->scripts_loaded == SCRIPT_COUNT)
		store_sync(st);
}

static void store_on_connect(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	evtimer_del(st->connect_timer);
	if (status != REDIS_OK) {
		/* hiredis frees the context after this returns. */
		st->ac = NULL;
		store_set_state(st, STORE_DOWN, ac->errstr[0] ? ac->errstr : "connect failed");
		store_schedule_reconnect(st);
		return;
	}
	st->scripts_loaded = 0;
	for (int i = 0; i < SCRIPT_COUNT; i++) {
		struct store_req *r = store_req_new(st, REQ_SCRIPT_LOAD, "SCRIPT LOAD");
		r->script = (enum script_id)i;
		resp_add_str(&r->args, scripts_source((enum script_id)i));
		if (store_send_now(st, r) != 0)
			return;
	}
}

static void store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (st->ac == ac)
		st->ac = NULL;
	st->synced = false;
	evtimer_del(st->command_timer);
	evtimer_del(st->retry_timer);
	store_set_state(st, STORE_DOWN, ac->errstr[0] ? ac->errstr : "disconnected");
	store_schedule_reconnect(st);
}

static void store_connect(struct store *st)
{
	redisAsyncContext *ac;

	if (st->freeing || st->ac != NULL)
		return;
	if (st->unix_path != NULL)
		ac = redisAsyncConnectUnix(st->unix_path);
	else
		ac = redisAsyncConnect(st->host, st->port);
	if (ac == NULL || ac->err) {
		store_set_state(st, STORE_DOWN, ac ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		store_schedule_reconnect(st);
		return;
	}
	ac->data = st;
	st->ac = ac;
	st->synced = false;
	redisLibeventAttach(ac, st->base);
	redisAsyncSetConnectCallback(ac, store_on_connect);
	redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
	store_set_state(st, STORE_CONNECTING, "");
	struct timeval tv = { st->conf.connect_timeout_ms / 1000,
			      (st->conf.connect_timeout_ms % 1000) * 1000 };
	evtimer_add(st->connect_timer, &tv);
}

static void store_on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
	store_connect(arg);
}

static int store_parse_address(struct store *st)
{
	struct address a;
	const char *why;

	if (address_parse(st->address, &a, &why) != 0) {
		log_error("store: redis address '%s': %s", st->address, why);
		return -1;
	}
	if (a.is_unix)
		st->unix_path = xstrdup(a.path);
	else
		st->host = xstrdup(a.host);
	st->port = a.port;
	return 0;
}

struct store *store_new(struct event_base *base, const struct store_conf *conf,
			const struct store_hooks *hooks)
{
	struct store *st = xcalloc(1, sizeof *st);

	st->base = base;
	st->conf = *conf;
	st->address = xstrdup(conf->address);
	st->site = xstrdup(conf->site);
	st->seq_field = xstrdup(conf->seq_field);
	st->conf.address = st->address;
	st->conf.site = st->site;
	st->conf.seq_field = st->seq_field;
	st->events_key = keys_events(st->site);
	st->contact_prefix = keys_contact_prefix(st->site);
	st->queue_prefix = keys_queue_prefix(st->site);
	st->agent_prefix = keys_agent_prefix(st->site);
	st->ext_prefix = keys_external_prefix(st->site);
	st->open_key = keys_open(st->site);
	st->roster_key = keys_roster(st->site);
	st->outcomes_prefix = keys_outcomes_prefix(st->site);
	st->leader_key = keys_leader(st->site);
	st->epoch_key = keys_epoch(st->site);
	st->commits_key = keys_commits(st->site);
	st->figures_key = keys_figures(st->site);
	snprintf(st->epoch, sizeof st->epoch, "0");
	snprintf(st->maxlen, sizeof st->maxlen, "%" PRId64, conf->events_maxlen);
	snprintf(st->ttl, sizeof st->ttl, "%" PRId64, conf->idempotency_ttl_s);
	int64_t keep_s = conf->outcome_retention_s;
	if (keep_s <= 0 || keep_s > conf->idempotency_ttl_s)
		keep_s = conf->idempotency_ttl_s;
	snprintf(st->retention_ms, sizeof st->retention_ms, "%" PRId64, keep_s * 1000);
	if (hooks != NULL)
		st->hooks = *hooks;
	st->backoff_ms = 50;
	st->refuse_backoff_ms = STORE_REFUSE_BACKOFF_MS;
	st->connect_timer = evtimer_new(base, store_on_connect_timer, st);
	st->command_timer = evtimer_new(base, store_on_command_timer, st);
	st->reconnect_timer = evtimer_new(base, store_on_reconnect_timer, st);
	st->retry_timer = evtimer_new(base, store_on_retry_timer, st);
	st->flush_ev = event_new(base, -1, 0, store_on_flush, st);
	if (store_parse_address(st) != 0) {
		store_free(st);
		return NULL;
	}
	return st;
}

void store_start(struct store *st)
{
	store_connect(st);
}

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	/* Blocks reconnects and state notices; pending requests still get
	 * their callbacks (with an error) so their owners can release them. */
	st->freeing = true;
	st->state = STORE_DOWN;
	if (st->ac != NULL) {
		redisAsyncContext *ac = st->ac;
		st->ac = NULL;
		redisAsyncFree(ac);
	}
	store_fail_all(st, &st->failed, SB_ERR_STORE_UNAVAILABLE);
	store_fail_all(st, &st->puts, SB_ERR_STORE_UNAVAILABLE);
	store_fail_all(st, &st->queue, SB_ERR_STORE_UNAVAILABLE);
	event_free(st->flush_ev);
	event_free(st->connect_timer);
	event_free(st->command_timer);
	event_free(st->reconnect_timer);
	event_free(st->retry_timer);
	free(st->address);
	free(st->site);
	free(st->seq_field);
	free(st->host);
	free(st->unix_path);
	free(st->events_key);
	free(st->contact_prefix);
	free(st->queue_prefix);
	free(st->agent_prefix);
	free(st->ext_prefix);
	free(st->open_key);
	free(st->roster_key);
	free(st->outcomes_prefix);
	free(st->leader_key);
	free(st->epoch_key);
	free(st->commits_key);
	free(st->figures_key);
	free(st->lease_value);
	free(st);
}

enum store_state store_state(const struct store *st)
{
	return st->state;
}

size_t store_pending(const struct store *st)
{
	return st->n_pending + st->queue.n + st->failed.n + st->puts.n;
}

void store_step_down(struct store *st)
{
	snprintf(st->epoch, sizeof st->epoch, "0");
	store_drop_all(st, SB_ERR_NOT_LEADER);
}

const char *store_epoch(const struct store *st)
{
	return st->epoch;
}

uint64_t store_losses(const struct store *st)
{
	return st->losses;
}

/* ---- answers that touch the store's own state ------------------------------------ */

void store_answer_lease(struct store_req *r, redisReply *reply)
{
	struct store *st = r->st;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		log_error("store: unexpected reply to lease");
		r->lease_cb(r->arg, SB_ERR_INTERNAL, STORE_LEASE_HELD_BY_OTHER, "", 0);
		return;
	}
	long long status = reply->element[0]->integer;
	const char *info = reply->element[1]->str;
	/* The third element: commits for KEPT, NEW_TERM and LOST; Redis's
	 * epoch for HELD_BY_OTHER and FREE. */
	int64_t third = reply->elements > 2 && reply->element[2]->type == REDIS_REPLY_STRING
				? strtoll(reply->element[2]->str, NULL, 10)
				: 0;
	int64_t commits = third;
	char why[160];

	if (status == 3) {
		/* Our epoch is gone from Redis: we still lead, on data to put back. */
		snprintf(why, sizeof why, "epoch %s no longer in redis", st->epoch);
		store_lose(st, why);
		r->lease_cb(r->arg, 0, STORE_LEASE_KEPT, st->epoch, strtoll(st->epoch, NULL, 10));
		return;
	}
	if (status == STORE_LEASE_NEW_TERM) {
		/* Writes of an earlier term of ours must not land in this one. */
		if (strcmp(st->epoch, "0") != 0)
			store_drop_all(st, SB_ERR_NOT_LEADER);
		snprintf(st->epoch, sizeof st->epoch, "%s", info);
		st->applied = commits;
	} else if (status == STORE_LEASE_KEPT && !st->lost && st->unknown == 0 &&
		   commits != st->applied) {
		/* The batches before this renewal are all answered: Redis's
		 * count must be ours. */
		snprintf(why, sizeof why, "%" PRId64 " batches applied, %" PRId64 " acknowledged",
			 commits, st->applied);
		store_lose(st, why);
	}
	int64_t epoch = status == STORE_LEASE_HELD_BY_OTHER || status == STORE_LEASE_FREE
				? third
				: strtoll(st->epoch, NULL, 10);
	r->lease_cb(r->arg, 0, (enum store_lease_status)status, info, epoch);
}

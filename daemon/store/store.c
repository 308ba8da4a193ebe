/* The store: see store.h. hiredis lives here and nowhere else. This file
 * owns the connection, sends requests, matches replies and replays; what
 * each request carries is built in requests.c. */
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/address.h"
#include "util/err.h"
#include "util/log.h"
#include "metrics.h"
#include "store/internal.h"
#include "store/keys.h"
#include "store/scripts.h"
#include "util/xalloc.h"

/* Replay is bounded so an outage under load cannot grow memory without
 * limit; past it, writes are only reported failed (and logged). */
#define STORE_REPLAY_MAX 1000000

/* See STORE_BATCH_MAX_OPS. */
#define STORE_BATCH_MAX_BYTES (1u << 20)

static int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *store_state_name(enum store_state s)
{
	switch (s) {
	case STORE_DOWN: return "down";
	case STORE_CONNECTING: return "connecting";
	case STORE_READY: return "ready";
	}
	return "?";
}

/* The one place the store changes state; logs each change once. */
static void store_set_state(struct store *st, enum store_state s, const char *why)
{
	if (st->state == s)
		return;
	enum store_state old = st->state;
	st->state = s;
	if (s == STORE_READY)
		log_info("store ready: redis %s", st->address);
	else if (s == STORE_DOWN && old == STORE_READY)
		log_warnx("store down: redis %s: %s", st->address, why);
	else if (s == STORE_DOWN && !st->warned)
		log_warnx("store: cannot reach redis %s: %s (retrying)", st->address, why);
	else if (s == STORE_DOWN)
		log_debug("store: connecting to redis %s failed: %s", st->address, why);
	/* One warning per outage; the retries every backoff step are noise. */
	st->warned = s != STORE_READY;
	if (st->on_state != NULL && !st->freeing)
		st->on_state(st->ctx, s);
}


struct store_req *store_req_new(struct store *st, enum store_req_kind kind, const char *name)
{
	struct store_req *r = xcalloc(1, sizeof *r);

	r->st = st;
	r->kind = kind;
	r->name = name;
	r->queued_ms = store_now_ms();
	memcpy(r->epoch, st->epoch, sizeof r->epoch);
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

void store_set_epoch(struct store *st, const char *epoch)
{
	snprintf(st->epoch, sizeof st->epoch, "%s", epoch);
}

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

/* Drops the connection on our initiative (a timeout). hiredis answers every
 * pending command with a NULL reply from inside redisAsyncFree. */
static void store_abort(struct store *st, const char *why)
{
	redisAsyncContext *ac = st->ac;

	evtimer_del(st->connect_timer);
	evtimer_del(st->command_timer);
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
	    store_now_ms() - st->pending_head->sent_ms >= st->conf.command_timeout_ms)
		store_abort(st, "command timed out");
	else
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
	r->sent_ms = store_now_ms();
	r->next = NULL;
	if (st->pending_tail != NULL)
		st->pending_tail->next = r;
	else
		st->pending_head = r;
	st->pending_tail = r;
	st->n_pending += r->kind == REQ_BATCH ? r->n_members : 1;
	if (!evtimer_pending(st->command_timer, NULL))
		store_arm_command_timer(st);
	return 0;
}

/* Removes r from the in-flight FIFO (replies come in order, so it is the
 * head, but a defensive walk costs nothing on the normal path). */
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
}

static void store_replay_push(struct store *st, struct store_req *r)
{
	if (st->n_replay >= STORE_REPLAY_MAX) {
		log_error("store: replay queue full (%d writes); dropping a write for redis",
			  STORE_REPLAY_MAX);
		store_req_free(r);
		return;
	}
	r->done_cb = NULL;
	r->next = NULL;
	if (st->replay_tail != NULL)
		st->replay_tail->next = r;
	else
		st->replay_head = r;
	st->replay_tail = r;
	st->n_replay++;
}

/* Tells r's caller how it went (reply is r's own, NULL on failure), then
 * frees r, or keeps it for replay if Redis may not have it. */
static void store_finish(struct store *st, struct store_req *r, int err, redisReply *reply)
{
	metrics_store_reply(store_now_ms() - r->queued_ms, err);
	if (err != 0)
		r->fail(r, err);
	else
		r->answer(r, reply);
	if (err == SB_ERR_STORE_UNAVAILABLE && r->replay && !st->freeing)
		store_replay_push(st, r);
	else
		store_req_free(r);
}

/* Answers a batch's operations in order, from the batch's reply (NULL when
 * the whole batch failed with err), and frees the batch. */
static void store_finish_batch(struct store *st, struct store_req *b, int err, redisReply *reply)
{
	struct store_req *m = b->members;
	size_t i = 0;

	b->members = NULL;
	while (m != NULL) {
		struct store_req *next = m->next;
		redisReply *own = err == 0 ? reply->element[i] : NULL;
		int e = err;
		if (own != NULL && own->type == REDIS_REPLY_ERROR) {
			log_error("store: redis refused a %s: %s", m->name, own->str);
			e = SB_ERR_INTERNAL;
		}
		store_finish(st, m, e, e == 0 ? own : NULL);
		m = next;
		i++;
	}
	store_req_free(b);
}

/* Sends this turn's batch: the fixed keys and arguments, then each
 * operation as its letter, its argument count and its arguments. */
static void store_flush(struct store *st)
{
	struct store_req *b = st->batch;

	if (b == NULL)
		return;
	/* Each operation adds its letter and count (under 32 bytes) to its
	 * arguments; the keys and fixed arguments are a few hundred bytes. */
	resp_reserve(&b->args, st->batch_bytes + 32 * b->n_members + 1024);
	st->batch = st->batch_tail = NULL;
	st->batch_bytes = 0;
	resp_add_str(&b->args, "4");
	resp_add_str(&b->args, st->epoch_key);
	resp_add_str(&b->args, st->events_key);
	resp_add_str(&b->args, st->open_key);
	resp_add_str(&b->args, st->roster_key);
	resp_add_str(&b->args, b->epoch);
	resp_add_str(&b->args, st->maxlen);
	resp_add_str(&b->args, st->ttl);
	resp_add_str(&b->args, st->contact_prefix);
	for (struct store_req *m = b->members; m != NULL; m = m->next) {
		resp_add(&b->args, &m->op, 1);
		resp_add_num(&b->args, m->args.n);
		resp_add_all(&b->args, &m->args);
	}
	if (store_send(st, b) != 0)
		store_finish_batch(st, b, SB_ERR_STORE_UNAVAILABLE, NULL);
}

static void store_on_flush(evutil_socket_t fd, short what, void *arg)
{
	store_flush(arg);
}

/* Adds an operation to this turn's batch. Operations made under different
 * epochs (a write kept for replay across a new term) never share a batch:
 * each is fenced by its own. */
static void store_batch_add(struct store *st, struct store_req *op)
{
	if (st->batch != NULL && strcmp(st->batch->epoch, op->epoch) != 0)
		store_flush(st);
	if (st->batch == NULL) {
		struct store_req *b = store_req_new(st, REQ_BATCH, scripts_name(SCRIPT_BATCH));
		b->script = SCRIPT_BATCH;
		memcpy(b->epoch, op->epoch, sizeof b->epoch);
		st->batch = b;
		/* Runs after the callbacks already due in this loop turn, so
		 * everything they ask for goes in one batch. */
		event_active(st->flush_ev, EV_TIMEOUT, 1);
	}
	op->next = NULL;
	if (st->batch_tail != NULL)
		st->batch_tail->next = op;
	else
		st->batch->members = op;
	st->batch_tail = op;
	st->batch->n_members++;
	st->batch_bytes += op->args.len;
	if (st->batch->n_members >= STORE_BATCH_MAX_OPS || st->batch_bytes >= STORE_BATCH_MAX_BYTES)
		store_flush(st);
}

int store_go(struct store *st, struct store_req *r)
{
	if (r->kind == REQ_OP) {
		store_batch_add(st, r);
		return 0;
	}
	store_flush(st); /* replies come in send order: keep the callers' order */
	int rc = store_send(st, r);
	if (rc != 0)
		store_req_free(r);
	return rc;
}

static void store_replay_all(struct store *st)
{
	struct store_req *r = st->replay_head;
	size_t n = st->n_replay;

	st->replay_head = st->replay_tail = NULL;
	st->n_replay = 0;
	if (n > 0)
		log_info("store: replaying %zu writes made while redis was away", n);
	/* A batch that cannot go puts its writes back on the replay queue. */
	while (r != NULL) {
		struct store_req *next = r->next;
		store_batch_add(st, r);
		r = next;
	}
	store_flush(st);
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
	if (++st->scripts_loaded == SCRIPT_COUNT) {
		st->backoff_ms = 50;
		/* Replay first: writes made while Redis was away must land before
		 * anything the READY notification makes the server send. */
		store_replay_all(st);
		if (st->ac != NULL)
			store_set_state(st, STORE_READY, "");
	}
}

static void store_drop_replay(struct store *st)
{
	while (st->replay_head != NULL) {
		struct store_req *r = st->replay_head;
		st->replay_head = r->next;
		store_req_free(r);
	}
	st->replay_tail = NULL;
	st->n_replay = 0;
}

/* Another daemon holds the lease now: nothing this one kept for Redis may
 * land any more, and the server must stand down. */
static void store_fenced(struct store *st, const char *why)
{
	if (strcmp(st->epoch, "0") == 0)
		return;
	log_warnx("store: redis refused a write: %s; this daemon is no longer the leader", why);
	snprintf(st->epoch, sizeof st->epoch, "0");
	store_drop_replay(st);
	if (st->on_fenced != NULL && !st->freeing)
		st->on_fenced(st->ctx);
}

/* The SB_ERR_* a reply means for the request (0: a usable reply). */
static int store_reply_error(const struct store_req *r, const redisReply *reply)
{
	if (reply == NULL)
		return SB_ERR_STORE_UNAVAILABLE;
	if (reply->type != REDIS_REPLY_ERROR)
		return 0;
	if (strstr(reply->str, "FENCED") != NULL)
		return SB_ERR_NOT_LEADER;
	log_error("store: redis refused %s: %s", r->name, reply->str);
	return strncmp(reply->str, "NOSCRIPT", 8) == 0 || strncmp(reply->str, "LOADING", 7) == 0
		       ? SB_ERR_STORE_UNAVAILABLE
		       : SB_ERR_INTERNAL;
}

static void store_on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct store_req *r = privdata;
	struct store *st = r->st;
	redisReply *reply = reply_;

	store_unlink(st, r);
	if (reply == NULL) {
		/* The connection is going away; refuse new work from callbacks. */
		store_set_state(st, STORE_DOWN, "connection lost");
	} else {
		store_arm_command_timer(st);
	}
	if (r->kind == REQ_SCRIPT_LOAD) {
		store_on_script_loaded(st, r, reply);
		store_req_free(r);
		return;
	}
	int err = store_reply_error(r, reply);
	if (r->kind == REQ_BATCH) {
		if (err == 0 && (reply->type != REDIS_REPLY_ARRAY || reply->elements != r->n_members)) {
			log_error("store: unexpected reply to a batch of %zu", r->n_members);
			err = SB_ERR_INTERNAL;
		}
		store_finish_batch(st, r, err, reply);
	} else {
		store_finish(st, r, err, reply);
	}
	if (err == SB_ERR_NOT_LEADER)
		store_fenced(st, reply->str);
	if (err == SB_ERR_STORE_UNAVAILABLE && reply != NULL && st->ac != NULL)
		store_abort(st, reply->str);
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
		if (store_go(st, r) != 0)
			return;
	}
}

static void store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (st->ac == ac)
		st->ac = NULL;
	evtimer_del(st->command_timer);
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
			store_state_fn on_state, void *ctx)
{
	struct store *st = xcalloc(1, sizeof *st);

	st->base = base;
	st->conf = *conf;
	st->address = xstrdup(conf->address);
	st->site = xstrdup(conf->site);
	st->conf.address = st->address;
	st->conf.site = st->site;
	st->events_key = keys_events(st->site);
	st->contact_prefix = keys_contact_prefix(st->site);
	st->queue_prefix = keys_queue_prefix(st->site);
	st->agent_prefix = keys_agent_prefix(st->site);
	st->ext_prefix = keys_external_prefix(st->site);
	st->open_key = keys_open(st->site);
	st->roster_key = keys_roster(st->site);
	st->leader_key = keys_leader(st->site);
	st->epoch_key = keys_epoch(st->site);
	snprintf(st->epoch, sizeof st->epoch, "0");
	snprintf(st->maxlen, sizeof st->maxlen, "%" PRId64, conf->events_maxlen);
	snprintf(st->ttl, sizeof st->ttl, "%" PRId64, conf->idempotency_ttl_s);
	st->on_state = on_state;
	st->ctx = ctx;
	st->backoff_ms = 50;
	st->connect_timer = evtimer_new(base, store_on_connect_timer, st);
	st->command_timer = evtimer_new(base, store_on_command_timer, st);
	st->reconnect_timer = evtimer_new(base, store_on_reconnect_timer, st);
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
	if (st->batch != NULL) {
		struct store_req *b = st->batch;
		st->batch = st->batch_tail = NULL;
		store_finish_batch(st, b, SB_ERR_STORE_UNAVAILABLE, NULL);
	}
	if (st->ac != NULL) {
		redisAsyncContext *ac = st->ac;
		st->ac = NULL;
		redisAsyncFree(ac);
	}
	store_drop_replay(st);
	event_free(st->flush_ev);
	event_free(st->connect_timer);
	event_free(st->command_timer);
	event_free(st->reconnect_timer);
	free(st->address);
	free(st->site);
	free(st->host);
	free(st->unix_path);
	free(st->events_key);
	free(st->contact_prefix);
	free(st->queue_prefix);
	free(st->agent_prefix);
	free(st->ext_prefix);
	free(st->open_key);
	free(st->roster_key);
	free(st->leader_key);
	free(st->epoch_key);
	free(st);
}

enum store_state store_state(const struct store *st)
{
	return st->state;
}

size_t store_pending(const struct store *st)
{
	return st->n_pending + (st->batch != NULL ? st->batch->n_members : 0);
}


void store_step_down(struct store *st)
{
	snprintf(st->epoch, sizeof st->epoch, "0");
	store_drop_replay(st);
}

const char *store_epoch(const struct store *st)
{
	return st->epoch;
}

void store_on_fenced(struct store *st, store_fenced_fn fn)
{
	st->on_fenced = fn;
}

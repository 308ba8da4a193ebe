/* The store: see store.h. hiredis lives here and nowhere else. */
#include "store/store.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "address.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "store/keys.h"
#include "store/scripts.h"
#include "xalloc.h"

struct store_req;
typedef void (*store_answer_fn)(struct store_req *r, redisReply *reply);

/* One command in flight (or waiting for replay). Owner: the store, from
 * creation until its reply has been handled (or it has been replayed). */
struct store_req {
	struct store *st;
	struct store_req *next;
	int64_t sent_ms; /* monotonic */
	enum script_id script;
	bool is_script_load;
	bool is_raw;  /* a plain command: argv[0] is its (static) name */
	bool replay;
	int argc;
	char **argv; /* scripts: argv[0..1] are "EVALSHA" and the sha, filled at send time */
	size_t *argvlen;
	/* Turns a reply (never an error reply) into the caller's callback. */
	store_answer_fn answer;
	/* Tells the caller it failed; err is an SB_ERR_*. */
	void (*fail)(struct store_req *r, int err);
	store_submit_cb submit_cb;
	store_done_cb done_cb;
	store_lease_cb lease_cb;
	store_scan_cb scan_cb;
	store_read_cb read_cb;
	void *arg;
};

struct store {
	struct event_base *base;
	struct store_conf conf; /* strings owned below */
	char *address, *site;
	char *host;
	int port;
	char *unix_path;
	char *events_key;
	char *contact_prefix;
	char *open_key, *leader_key, *epoch_key, *roster_key;
	char maxlen[24], ttl[24];
	char epoch[24]; /* the epoch this daemon writes under; "0" while it leads none */
	store_fenced_fn on_fenced;

	enum store_state state;
	redisAsyncContext *ac;
	bool freeing;
	bool warned; /* this outage has been logged */
	char sha[SCRIPT_COUNT][41];
	int scripts_loaded;

	struct store_req *pending_head, *pending_tail; /* FIFO in send order */
	size_t n_pending;
	struct store_req *replay_head, *replay_tail;
	size_t n_replay;

	struct event *connect_timer;
	struct event *command_timer;
	struct event *reconnect_timer;
	int64_t backoff_ms;

	store_state_fn on_state;
	void *ctx;
};

/* Replay is bounded so an outage under load cannot grow memory without
 * limit; past it, writes are only reported failed (and logged). */
#define STORE_REPLAY_MAX 1000000

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

static void store_req_free(struct store_req *r)
{
	for (int i = r->is_raw ? 1 : 2; i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r->argvlen);
	free(r);
}

static struct store_req *store_req_new(struct store *st, enum script_id script, int nargs)
{
	struct store_req *r = xcalloc(1, sizeof *r);
	r->st = st;
	r->script = script;
	r->argc = nargs + 2;
	r->argv = xcalloc((size_t)r->argc, sizeof *r->argv);
	r->argvlen = xcalloc((size_t)r->argc, sizeof *r->argvlen);
	return r;
}

/* A plain command of nargs arguments after its name. */
static struct store_req *store_raw_new(struct store *st, const char *cmd, int nargs)
{
	struct store_req *r = xcalloc(1, sizeof *r);
	r->st = st;
	r->is_raw = true;
	r->argc = nargs + 1;
	r->argv = xcalloc((size_t)r->argc, sizeof *r->argv);
	r->argvlen = xcalloc((size_t)r->argc, sizeof *r->argvlen);
	r->argv[0] = (char *)(uintptr_t)cmd;
	r->argvlen[0] = strlen(cmd);
	return r;
}

/* Copies one argument; binary-safe, so len is exact (0 is an empty value). */
static void store_req_arg(struct store_req *r, int *i, const char *v, size_t len)
{
	int at = (r->is_raw ? 1 : 2) + (*i)++;
	r->argv[at] = xmalloc(len + 1);
	memcpy(r->argv[at], v, len);
	r->argv[at][len] = '\0';
	r->argvlen[at] = len;
}

static void store_req_str(struct store_req *r, int *i, const char *v)
{
	store_req_arg(r, i, v, strlen(v));
}

static void store_req_num(struct store_req *r, int *i, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%" PRId64, v);
	store_req_str(r, i, buf);
}

static void store_req_fields(struct store_req *r, int *i, const struct store_field *f, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		store_req_str(r, i, f[k].name);
		store_req_arg(r, i, f[k].value, f[k].len ? f[k].len : strlen(f[k].value));
	}
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

static void store_unlink(struct store *st, struct store_req *r);

/* Sends r. Returns SB_ERR_STORE_UNAVAILABLE, with r still the caller's, if
 * hiredis would not take it. */
static int store_send(struct store *st, struct store_req *r)
{
	if (!r->is_script_load && !r->is_raw) {
		r->argv[0] = "EVALSHA";
		r->argvlen[0] = 7;
		r->argv[1] = st->sha[r->script];
		r->argvlen[1] = 40;
	}
	r->sent_ms = store_now_ms();
	r->next = NULL;
	if (st->pending_tail != NULL)
		st->pending_tail->next = r;
	else
		st->pending_head = r;
	st->pending_tail = r;
	st->n_pending++;
	if (redisAsyncCommandArgv(st->ac, store_on_reply, r, r->argc, (const char **)r->argv,
				  r->argvlen) != REDIS_OK) {
		store_unlink(st, r);
		return SB_ERR_STORE_UNAVAILABLE;
	}
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
	st->n_pending--;
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

static void store_replay_all(struct store *st)
{
	struct store_req *r = st->replay_head;
	size_t n = st->n_replay;

	st->replay_head = st->replay_tail = NULL;
	st->n_replay = 0;
	if (n > 0)
		log_info("store: replaying %zu writes made while redis was away", n);
	while (r != NULL && st->ac != NULL) {
		struct store_req *next = r->next;
		if (store_send(st, r) != 0)
			break;
		r = next;
	}
	/* Lost the connection again mid-way: keep the rest for next time. */
	while (r != NULL) {
		struct store_req *next = r->next;
		store_replay_push(st, r);
		r = next;
	}
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

/* Answers a submit from its EVALSHA reply. */
static void store_answer_submit(struct store_req *r, redisReply *reply)
{
	struct store_submit_result res = { 0 };
	struct store_field *fields = NULL;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		log_error("store: unexpected reply to submit");
		r->submit_cb(r->arg, SB_ERR_INTERNAL, NULL);
		return;
	}
	res.created = reply->element[0]->integer == 1;
	res.contact_id = reply->element[1]->str;
	size_t n = (reply->elements - 2) / 2;
	if (n > 0) {
		fields = xcalloc(n, sizeof *fields);
		for (size_t i = 0; i < n; i++) {
			redisReply *k = reply->element[2 + 2 * i], *v = reply->element[3 + 2 * i];
			fields[i].name = k->type == REDIS_REPLY_STRING ? k->str : "";
			fields[i].value = v->type == REDIS_REPLY_STRING ? v->str : "";
			fields[i].len = v->type == REDIS_REPLY_STRING ? v->len : 0;
		}
	}
	res.fields = fields;
	res.n_fields = n;
	r->submit_cb(r->arg, 0, &res);
	free(fields);
}

static void store_fail_submit(struct store_req *r, int err)
{
	r->submit_cb(r->arg, err, NULL);
}

static void store_answer_done(struct store_req *r, redisReply *reply)
{
	if (r->done_cb != NULL)
		r->done_cb(r->arg, 0);
}

static void store_fail_done(struct store_req *r, int err)
{
	if (r->done_cb != NULL)
		r->done_cb(r->arg, err);
}

static void store_answer_lease(struct store_req *r, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		log_error("store: unexpected reply to lease");
		r->lease_cb(r->arg, SB_ERR_INTERNAL, STORE_LEASE_HELD_BY_OTHER, "");
		return;
	}
	enum store_lease_status status = (enum store_lease_status)reply->element[0]->integer;
	if (status != STORE_LEASE_HELD_BY_OTHER)
		snprintf(r->st->epoch, sizeof r->st->epoch, "%s", reply->element[1]->str);
	r->lease_cb(r->arg, 0, status, reply->element[1]->str);
}

static void store_fail_lease(struct store_req *r, int err)
{
	r->lease_cb(r->arg, err, STORE_LEASE_HELD_BY_OTHER, "");
}

static void store_answer_scan(struct store_req *r, redisReply *reply)
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

static void store_fail_scan(struct store_req *r, int err)
{
	r->scan_cb(r->arg, err, "0", NULL, 0);
}

static void store_answer_read(struct store_req *r, redisReply *reply)
{
	if (reply->type != REDIS_REPLY_ARRAY) {
		r->read_cb(r->arg, SB_ERR_INTERNAL, NULL, 0);
		return;
	}
	size_t n = reply->elements / 2;
	struct store_field *f = xcalloc(n ? n : 1, sizeof *f);
	for (size_t i = 0; i < n; i++) {
		redisReply *k = reply->element[2 * i], *v = reply->element[2 * i + 1];
		f[i].name = k->type == REDIS_REPLY_STRING ? k->str : "";
		f[i].value = v->type == REDIS_REPLY_STRING ? v->str : "";
		f[i].len = v->type == REDIS_REPLY_STRING ? v->len : 0;
	}
	r->read_cb(r->arg, 0, f, n);
	free(f);
}

static void store_fail_read(struct store_req *r, int err)
{
	r->read_cb(r->arg, err, NULL, 0);
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

static void store_on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
	struct store_req *r = privdata;
	struct store *st = r->st;
	redisReply *reply = reply_;

	store_unlink(st, r);
	if (st->freeing)
		r->replay = false; /* shutting down: callers hear, nothing is kept */
	if (reply == NULL) {
		/* The connection is going away; refuse new work from callbacks. */
		store_set_state(st, STORE_DOWN, "connection lost");
	} else {
		store_arm_command_timer(st);
	}
	if (r->is_script_load) {
		store_on_script_loaded(st, r, reply);
		store_req_free(r);
		return;
	}
	int err = 0;
	bool fenced = false;
	if (reply == NULL) {
		err = SB_ERR_STORE_UNAVAILABLE;
	} else if (reply->type == REDIS_REPLY_ERROR) {
		fenced = strstr(reply->str, "FENCED") != NULL;
		if (!fenced)
			log_error("store: redis refused %s: %s",
				  r->is_raw ? r->argv[0] : scripts_name(r->script), reply->str);
		err = fenced ? SB_ERR_NOT_LEADER
		      : strncmp(reply->str, "NOSCRIPT", 8) == 0 ||
				      strncmp(reply->str, "LOADING", 7) == 0
			      ? SB_ERR_STORE_UNAVAILABLE
			      : SB_ERR_INTERNAL;
	}
	metrics_store_reply(store_now_ms() - r->sent_ms, err);
	if (err != 0)
		r->fail(r, err);
	else
		r->answer(r, reply);
	if (fenced)
		store_fenced(st, reply->str);
	if (err == SB_ERR_STORE_UNAVAILABLE && r->replay)
		store_replay_push(st, r);
	else
		store_req_free(r);
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
		struct store_req *r = xcalloc(1, sizeof *r);
		r->st = st;
		r->script = (enum script_id)i;
		r->is_script_load = true;
		r->argc = 3;
		r->argv = xcalloc(3, sizeof *r->argv);
		r->argvlen = xcalloc(3, sizeof *r->argvlen);
		r->argv[0] = "SCRIPT";
		r->argv[1] = "LOAD";
		r->argv[2] = xstrdup(scripts_source((enum script_id)i));
		r->argvlen[0] = 6;
		r->argvlen[1] = 4;
		r->argvlen[2] = strlen(r->argv[2]);
		if (store_send(st, r) != 0) {
			store_req_free(r);
			return;
		}
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
	store_drop_replay(st);
	event_free(st->connect_timer);
	event_free(st->command_timer);
	event_free(st->reconnect_timer);
	free(st->address);
	free(st->site);
	free(st->host);
	free(st->unix_path);
	free(st->events_key);
	free(st->contact_prefix);
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
	return st->n_pending;
}

/* Sends a request built by the functions below; frees it if it cannot go. */
static int store_go(struct store *st, struct store_req *r)
{
	int rc = store_send(st, r);
	if (rc != 0)
		store_req_free(r);
	return rc;
}

int store_submit(struct store *st, const struct store_submit *s, store_submit_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_req_new(st, SCRIPT_SUBMIT, 13 + (int)s->n_fields * 2);
	char *ext = keys_external(st->site, s->gateway_id, s->external_id);
	char *ck = keys_contact(st->site, s->contact_id);
	char *qk = keys_queue(st->site, s->queue);
	int i = 0;

	store_req_str(r, &i, "6");
	store_req_str(r, &i, ext);
	store_req_str(r, &i, ck);
	store_req_str(r, &i, qk);
	store_req_str(r, &i, st->events_key);
	store_req_str(r, &i, st->open_key);
	store_req_str(r, &i, st->epoch_key);
	store_req_str(r, &i, st->epoch);
	store_req_str(r, &i, s->contact_id);
	store_req_str(r, &i, st->ttl);
	store_req_str(r, &i, st->maxlen);
	store_req_num(r, &i, s->deadline_ms);
	store_req_str(r, &i, st->contact_prefix);
	store_req_fields(r, &i, s->fields, s->n_fields);
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
	struct store_req *r =
		store_req_new(st, SCRIPT_WRITE, 15 + (int)(w->n_fields + w->n_event) * 2);
	char *hk = w->kind == STORE_CONTACT ? keys_contact(st->site, w->id)
					    : keys_agent(st->site, w->id);
	char *qk = w->queue ? keys_queue(st->site, w->queue) : xstrdup(hk);
	char *fk = w->from_queue ? keys_queue(st->site, w->from_queue) : xstrdup(qk);
	int i = 0;

	store_req_str(r, &i, "6");
	store_req_str(r, &i, hk);
	store_req_str(r, &i, qk);
	store_req_str(r, &i, st->events_key);
	store_req_str(r, &i, fk);
	store_req_str(r, &i, w->kind == STORE_AGENT ? st->roster_key : st->open_key);
	store_req_str(r, &i, st->epoch_key);
	store_req_str(r, &i, st->epoch);
	store_req_str(r, &i, zops[w->zop]);
	store_req_str(r, &i, w->id);
	store_req_num(r, &i, w->score);
	store_req_str(r, &i, st->maxlen);
	store_req_num(r, &i, w->expire_s);
	store_req_str(r, &i, w->closes ? "1" : w->roster ? "r" : "0");
	store_req_num(r, &i, (int64_t)w->n_fields);
	store_req_fields(r, &i, w->fields, w->n_fields);
	store_req_fields(r, &i, w->event, w->n_event);
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
 * epoch this daemon leads under; `more` arguments follow. */
static struct store_req *store_lease_req(struct store *st, enum script_id script,
					 const char *node_id, int more, int *i)
{
	struct store_req *r = store_req_new(st, script, 5 + more);

	*i = 0;
	store_req_str(r, i, "2");
	store_req_str(r, i, st->leader_key);
	store_req_str(r, i, st->epoch_key);
	store_req_str(r, i, node_id);
	store_req_str(r, i, st->epoch);
	return r;
}

int store_lease(struct store *st, const char *node_id, int64_t lease_ms, const char *value,
		store_lease_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	int i;
	struct store_req *r = store_lease_req(st, SCRIPT_LEASE, node_id, 2, &i);

	store_req_num(r, &i, lease_ms);
	store_req_str(r, &i, value);
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
	int i;
	struct store_req *r = store_lease_req(st, SCRIPT_RELEASE, node_id, 0, &i);

	r->done_cb = cb;
	r->answer = store_answer_done;
	r->fail = store_fail_done;
	r->arg = arg;
	return store_go(st, r);
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

int store_scan_set(struct store *st, enum store_set set, const char *cursor, int count,
		   store_scan_cb cb, void *arg)
{
	if (st->state != STORE_READY)
		return SB_ERR_STORE_UNAVAILABLE;
	struct store_req *r = store_raw_new(st, "SSCAN", 4);
	int i = 0;

	store_req_str(r, &i, set == STORE_SET_OPEN ? st->open_key : st->roster_key);
	store_req_str(r, &i, cursor);
	store_req_str(r, &i, "COUNT");
	store_req_num(r, &i, count);
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
	struct store_req *r = store_raw_new(st, "HGETALL", 1);
	char *key = kind == STORE_CONTACT ? keys_contact(st->site, id) : keys_agent(st->site, id);
	int i = 0;

	store_req_str(r, &i, key);
	free(key);
	r->read_cb = cb;
	r->answer = store_answer_read;
	r->fail = store_fail_read;
	r->arg = arg;
	return store_go(st, r);
}

/* What store.c (the connection, sending, replies, replay and batching) and
 * requests.c (building each kind of request) share. Internal to
 * daemon/store. */
#ifndef SB_STORE_INTERNAL_H
#define SB_STORE_INTERNAL_H

#include <hiredis/async.h>
#include <stdbool.h>

#include "store/request.h"

struct event;

struct store {
	struct event_base *base;
	struct store_conf conf; /* strings owned below */
	char *address, *site;
	char *host;
	int port;
	char *unix_path;
	char *events_key;
	char *contact_prefix, *queue_prefix, *agent_prefix, *ext_prefix;
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

	struct store_req *pending_head, *pending_tail; /* sent, in send order */
	size_t n_pending; /* requests sent and not answered (a batch counts its members) */
	/* Group commit: the operations asked for during this turn of the event
	 * loop, sent as one batch when the turn's other callbacks have run. */
	struct store_req *batch, *batch_tail;
	size_t batch_bytes;
	struct event *flush_ev;
	struct store_req *replay_head, *replay_tail;
	size_t n_replay;

	struct event *connect_timer;
	struct event *command_timer;
	struct event *reconnect_timer;
	int64_t backoff_ms;

	store_state_fn on_state;
	void *ctx;
};

/* A new request of the kind; name is static, for logs. */
struct store_req *store_req_new(struct store *st, enum store_req_kind kind, const char *name);
void store_req_free(struct store_req *r);
/* A hash's field/value pairs as arguments. */
void store_req_fields(struct store_req *r, const struct store_field *f, size_t n);
/* Hands r to the store: an operation joins this turn's batch; anything else
 * is sent after the batch so far. Returns SB_ERR_STORE_UNAVAILABLE (and
 * frees r, whose callback is not called) if it cannot go. */
int store_go(struct store *st, struct store_req *r);

#endif

/* What store.c (the connection, the send queue, batches, replies, data-loss
 * handling) and requests.c (building each kind of request) share. Internal
 * to daemon/store. */
#ifndef SB_STORE_INTERNAL_H
#define SB_STORE_INTERNAL_H

#include <hiredis/async.h>
#include <stdbool.h>

#include "store/request.h"

struct event;

/* A FIFO of requests. */
struct reqq {
	struct store_req *head, *tail;
	size_t n;
};

struct store {
	struct event_base *base;
	struct store_conf conf; /* strings owned below */
	char *address, *site, *seq_field;
	char *host;
	int port;
	char *unix_path;
	char *events_key;
	char *contact_prefix, *queue_prefix, *agent_prefix, *ext_prefix;
	char *open_key, *leader_key, *epoch_key, *commits_key, *roster_key, *figures_key;
	char *outcomes_prefix;
	char maxlen[24], ttl[24];
	char retention_ms[24]; /* how long a gateway's outcomes are kept */
	char epoch[24]; /* the epoch this daemon writes under; "0" while it leads none */
	struct store_hooks hooks;

	enum store_state state;
	redisAsyncContext *ac;
	bool freeing;
	/* The outage under way (monotonic ms; 0: none): when it began and
	 * when it was last told, so it is logged once with its cause and then
	 * reminded of at STORE_DOWN_REMIND_MS, not at every retry. */
	int64_t down_since_ms, down_told_ms;
	bool refusal_told; /* a request refused while READY was logged; until one succeeds */
	bool synced; /* this connection knows where Redis stands (sync answered) */
	bool timing_out; /* dropping the connection because a command timed out */
	char sha[SCRIPT_COUNT][41];
	int scripts_loaded;

	struct store_req *pending_head, *pending_tail; /* sent, in send order */
	size_t n_pending; /* operations and requests sent and not answered */
	/* What is to be sent, in order: operations and ordered requests. */
	struct reqq queue;
	/* A re-seed's puts (store_put): sent before the queue. */
	struct reqq puts;
	/* Operations of batches in flight that did not apply, in send order:
	 * they go back to the front of the queue once nothing is in flight,
	 * and nothing new is sent before them. */
	struct reqq failed;
	struct event *flush_ev;

	/* Batches Redis has applied (its sb:{site}:commits), as far as this
	 * daemon knows; batches in flight; batches whose fate a lost
	 * connection took (resolved by the sync after reconnecting). */
	int64_t applied;
	int64_t inflight;
	int64_t unknown;
	bool broken; /* a batch in flight failed: the ones after it fail ORDER */
	bool lost;   /* Redis lost data: restore, then the puts, first */
	/* Operations are numbered as they are asked for. Those numbered up to
	 * `checked_upto` are sent with their transition numbers checked: they
	 * were asked for before a batch's fate was unknown or Redis lost data,
	 * so Redis may hold them already (a batch applied whose answer was lost,
	 * or a re-seed's puts that include them). Later ones go after batches
	 * whose fate is known, in order (the commit counter proves it), so Redis
	 * cannot hold them yet and the check is skipped. */
	uint64_t numbered;
	uint64_t checked_upto;
	uint64_t losses;
	char *lease_value; /* the last lease value asked for (restore sets it back) */
	int64_t lease_ms;

	struct event *connect_timer;
	struct event *command_timer;
	struct event *reconnect_timer;
	struct event *retry_timer; /* REFUSING: the next attempt */
	int64_t backoff_ms;
	int64_t refuse_backoff_ms;
};

/* A new request of the kind; name is static, for logs. */
struct store_req *store_req_new(struct store *st, enum store_req_kind kind, const char *name);
void store_req_free(struct store_req *r);
/* A hash's field/value pairs as arguments. */
void store_req_fields(struct store_req *r, const struct store_field *f, size_t n);
/* Appends an operation (or an ordered request) to the send queue. */
void store_enqueue(struct store *st, struct store_req *r);
/* Sends a request now, ahead of the queue (leases, reads). Returns
 * SB_ERR_STORE_UNAVAILABLE (and frees r, whose callback is not called) if
 * it cannot go. */
int store_send_now(struct store *st, struct store_req *r);

#endif

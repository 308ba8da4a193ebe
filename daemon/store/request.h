/* One request to Redis, as the store keeps it (internal to daemon/store). */
#ifndef SB_STORE_REQUEST_H
#define SB_STORE_REQUEST_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/resp.h"
#include "store/scripts.h"
#include "store/store.h"

enum store_req_kind {
	REQ_OP,          /* a submit or write: travels inside a batch */
	REQ_BATCH,       /* EVALSHA batch over its members */
	REQ_SCRIPT,      /* EVALSHA of another script */
	REQ_RAW,         /* a plain command; name is the command */
	REQ_SCRIPT_LOAD, /* SCRIPT LOAD script */
};

struct store_req;
typedef void (*store_answer_fn)(struct store_req *r, redisReply *reply);

/* Owner: the store, from creation until its reply has been handled (or it
 * has been replayed). A member of a batch belongs to the batch while it
 * is in flight, and goes back to the store's replay queue if it fails. */
struct store_req {
	struct store *st;
	struct store_req *next; /* in the in-flight FIFO, a batch, or the replay queue */
	int64_t queued_ms;      /* monotonic: when the caller asked */
	int64_t sent_ms;
	enum store_req_kind kind;
	enum script_id script;
	const char *name; /* for logs; static */
	char op;          /* REQ_OP: 's' submit or 'w' write */
	bool replay;      /* kept and sent again if Redis did not answer */
	char epoch[24];   /* REQ_OP: the epoch it was made under */
	struct resp args; /* the arguments after the command (or script sha) */
	struct store_req *members; /* REQ_BATCH, in order */
	size_t n_members;
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

/* answers.c: each request kind's answer and fail functions. The lease
 * answer records the epoch on the store through store_set_epoch. */
void store_answer_submit(struct store_req *r, redisReply *reply);
void store_fail_submit(struct store_req *r, int err);
void store_answer_done(struct store_req *r, redisReply *reply);
void store_fail_done(struct store_req *r, int err);
void store_answer_lease(struct store_req *r, redisReply *reply);
void store_fail_lease(struct store_req *r, int err);
void store_answer_scan(struct store_req *r, redisReply *reply);
void store_fail_scan(struct store_req *r, int err);
void store_answer_read(struct store_req *r, redisReply *reply);
void store_fail_read(struct store_req *r, int err);

void store_set_epoch(struct store *st, const char *epoch);

#endif

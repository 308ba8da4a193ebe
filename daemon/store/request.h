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
	REQ_OP,          /* an operation: travels inside a batch */
	REQ_BATCH,       /* EVALSHA batch over its members */
	REQ_SCRIPT,      /* EVALSHA of another script */
	REQ_RAW,         /* a plain command; name is the command */
	REQ_SCRIPT_LOAD, /* SCRIPT LOAD script */
};

struct store_req;
typedef void (*store_answer_fn)(struct store_req *r, redisReply *reply);

/* Owner: the store, from creation until its caller has been answered. An
 * operation sits in the send queue, then in a batch while the batch is in
 * flight, and back in the send queue if the batch did not apply. */
struct store_req {
	struct store *st;
	struct store_req *next; /* in a queue, a batch, or the in-flight FIFO */
	int64_t queued_ms;      /* monotonic: when the caller asked */
	int64_t sent_ms;
	int64_t sent_us;        /* the same, finer: for the latency histogram */
	enum store_req_kind kind;
	enum script_id script;
	const char *name; /* for logs; static */
	char op;          /* REQ_OP: the batch script's operation letter */
	bool ordered;     /* REQ_SCRIPT: goes after the writes queued before it */
	struct resp args; /* the arguments after the command (or script sha) */
	struct store_req *members; /* REQ_BATCH, in order */
	size_t n_members;
	int64_t expect; /* REQ_BATCH: batches Redis must have applied before it */
	uint64_t number; /* REQ_OP: its place in the order operations were asked for */
	/* Turns a reply (never an error reply) into the caller's callback. */
	store_answer_fn answer;
	/* Tells the caller it failed; err is an SB_ERR_*. */
	void (*fail)(struct store_req *r, int err);
	store_submit_cb submit_cb;
	store_done_cb done_cb;
	store_lease_cb lease_cb;
	store_scan_cb scan_cb;
	store_read_cb read_cb;
	store_outcomes_cb outcomes_cb;
	void *arg;
};

/* answers.c: each request kind's answer and fail functions. */
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
void store_answer_outcomes(struct store_req *r, redisReply *reply);
void store_fail_outcomes(struct store_req *r, int err);
/* A check's answer: the submit found (hooks.found) or not there. */
void store_answer_check(struct store_req *r, redisReply *reply);
/* Field/value pairs of reply elements [from, end) (valid with the reply):
 * an array the caller frees. */
struct store_field *store_reply_fields(const redisReply *reply, size_t from, size_t *n);

#endif

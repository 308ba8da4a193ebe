/* The record: the one module that knows how a contact, an agent and an event
 * look in Redis (docs/redis.md is its description; field names appear here
 * and there only). It encodes the submit and every transition as a store
 * write, decodes what recovery and duplicates read back, and is the one
 * step from a record to the engine's input that submit, duplicate,
 * recovery and reload all take.
 *
 * A contact's transitions are numbered: the hash's sequence field holds the
 * last one recorded, and each event and every frame about it carries
 * "<contact>/<n>". An agent's are numbered the same way ("agent:<id>/<n>";
 * agent ids cannot hold ':', contact ids neither, so the two never meet).
 * The store compares the number so a write sent twice lands once.
 *
 * The gateway's SubmitContact is kept as received, packed once, in the
 * hash's payload field: it is the contact's own data (customer, skills,
 * attributes), decoded to route it and to build an Offer. */
#ifndef SB_RECORD_H
#define SB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"
#include "switchboard.pb-c.h"
#include "util/decimal.h"

/* The hash field holding the last recorded transition's number: the store
 * compares it (store_conf.seq_field). */
extern const char record_seq_field[];

/* What the daemon keeps with each contact in the engine (its user payload).
 * Owner: the engine, through engine_sink.contact_free (record_data_free).
 * One allocation of the message's wire size instead of a decoded tree of
 * many: a million waiting contacts must fit in memory. */
struct record_data {
	uint8_t *packed; /* the SubmitContact, packed */
	size_t packed_len;
	uint32_t seq;   /* transitions decided so far (recorded, or on their way) */
	uint32_t told;  /* the last one recorded and told */
	char sid[24];   /* the gateway session that submitted it ("" after a restart) */
	char queue[72]; /* the queue Redis has it in: an overflow moves it from here */
};

/* Packs msg (which stays the caller's). */
struct record_data *record_data_new(const Switchboard__V1__SubmitContact *msg, const char *sid,
				    const char *queue);
struct record_data *record_data_copy(const struct record_data *d);
/* The SubmitContact, decoded (free with
 * switchboard__v1__submit_contact__free_unpacked); NULL if d holds none. */
Switchboard__V1__SubmitContact *record_data_message(const struct record_data *d);
void record_data_free(void *ctx, void *data);

/* "<contact>/<n>" of its latest transition. */
void record_event_id(const struct engine_contact_view *c, char *out, size_t len);

/* ---- writing --------------------------------------------------------------- */

#define RECORD_MAX_FIELDS 20
#define RECORD_MAX_NUMS 12
#define RECORD_EVENT_ID_MAX 160

/* One write and the storage its fields point into. Fill it with one of the
 * record_* functions below, hand rw->w to the store (which copies it), and
 * drop it. */
struct record_write {
	struct store_write w;
	struct store_field fields[RECORD_MAX_FIELDS], event[RECORD_MAX_FIELDS];
	char nums[RECORD_MAX_NUMS][DECIMAL_MAX];
	size_t n_nums;
	char event_id[RECORD_EVENT_ID_MAX]; /* what frames about it carry */
	char *owned;                       /* freed by record_write_done */
};
void record_write_done(struct record_write *rw);

/* A new contact: its hash (with the packed payload from data), its event.
 * The deadline and arrival are the engine's; queue its queue now. */
struct record_submit {
	struct store_submit s;
	struct store_field fields[RECORD_MAX_FIELDS], event[RECORD_MAX_FIELDS];
	char nums[4][DECIMAL_MAX];
	char event_id[RECORD_EVENT_ID_MAX];
};
void record_submit(struct record_submit *rs, const char *contact_id, const char *gateway_id,
		   const Switchboard__V1__SubmitContact *msg, const struct record_data *data,
		   enum sb_channel ch, const char *queue, int64_t arrived_ms, int64_t deadline_ms);

/* Each transition of a contact; each takes the next number from c's data. */
void record_offered(struct record_write *rw, const struct engine_contact_view *c, int64_t now);
void record_requeued(struct record_write *rw, const struct engine_contact_view *c,
		     const char *agent_id, const char *offer_id, const char *reason, int64_t now);
/* A supervisor took an assigned contact back from agent_id: waiting again,
 * back in its queue's set, entered now; its event is "requeued". */
void record_unassigned(struct record_write *rw, const struct engine_contact_view *c,
		       const char *agent_id, const char *reason, int64_t now);
void record_assigned(struct record_write *rw, const struct engine_contact_view *c,
		     int64_t waited_ms, bool sla_met, int64_t now);
/* by: who closed it when not its agent ("admin"), else NULL. */
void record_completed(struct record_write *rw, const struct engine_contact_view *c,
		      const char *disposition, int64_t handle_ms, const char *by, int64_t ttl_s,
		      int64_t now);
/* Cancelled or expired: state is "cancelled" or "expired". */
void record_ended(struct record_write *rw, const struct engine_contact_view *c, const char *state,
		  const char *reason, int64_t ttl_s, int64_t now);
/* SLA breach, overflow (from its data's queue to c->queue), transfer. */
void record_event(struct record_write *rw, const struct engine_contact_view *c,
		  enum engine_event ev, const char *detail, int64_t now);
/* An agent's state; seq its transition's number. */
void record_agent_state(struct record_write *rw, const struct engine_agent_view *a, uint32_t seq,
			int64_t now);
/* A roster change over the admin API: json the definition (NULL: removed),
 * change "created", "updated" or "removed". */
void record_roster(struct record_write *rw, const char *agent_id, const char *json,
		   const char *change, uint32_t seq, int64_t now);

/* ---- putting back after a data loss ------------------------------------------ */

/* A live contact's whole hash as the engine has it now (queue entry, open
 * set, external-id key), for store_put. entered_ms: engine_contact_entered_ms. */
void record_put_contact(struct record_write *rw, const struct engine_contact_view *c,
			int64_t entered_ms);
/* A contact that finished a moment ago (its last write, kept): its final
 * hash, out of its queue and the open set, expiring. */
struct record_finished;
void record_put_finished(struct record_write *rw, const struct record_finished *f);
/* An agent's hash: state, reason, since, number, and its roster override
 * (json, or removed) when it has one. */
void record_put_agent(struct record_write *rw, const struct engine_agent_view *a, uint32_t seq,
		      const char *roster_json, bool roster_removed, int64_t now);
/* The stream entry saying Redis lost data and what was written back. */
void record_put_reseeded(struct record_write *rw, const char *why, size_t contacts,
			 size_t agents, int64_t now);

/* What is kept of a contact that finished, for a re-seed within the loss
 * window (router/recent.c): the struct, then its strings and payload, in
 * one block of record_finished_size bytes the caller provides. */
struct record_finished {
	char *id, *gateway, *external_id, *queue, *channel, *tier, *state, *agent, *text;
	int64_t arrived_ms, deadline_ms, assigned_ms, finished_ms;
	int64_t ttl_s;
	uint32_t seq;
	uint8_t *payload; /* the SubmitContact, packed: the contact's own data */
	size_t payload_len;
};
/* The bytes a contact that is about to finish needs: state "completed"
 * (text the disposition), "cancelled" or "expired" (text the reason). */
size_t record_finished_size(const struct engine_contact_view *c, const char *state,
			    const char *text);
/* Writes it into mem (record_finished_size bytes, aligned for the struct). */
struct record_finished *record_finished_init(void *mem, const struct engine_contact_view *c,
					     const char *state, const char *text, int64_t ttl_s,
					     int64_t now);

/* ---- reading ----------------------------------------------------------------- */

enum record_state { RECORD_WAITING, RECORD_OFFERED, RECORD_ASSIGNED, RECORD_FINISHED };

/* A contact hash, decoded; strings point into the fields read. */
struct record_contact {
	const char *id, *gateway, *external_id, *queue;
	enum sb_channel channel;
	enum record_state state;
	const char *agent, *offer_id; /* NULL when empty */
	int64_t arrived_ms, deadline_ms, entered_ms, assigned_ms;
	bool sla_breached;
	uint32_t seq;
	const uint8_t *payload;
	size_t payload_len;
};
/* Returns 0, or SB_ERR_NOT_FOUND with *why when the hash is incomplete
 * (no channel, queue, state or payload: not a contact Switchboard wrote). */
int record_contact_read(const char *id, const struct store_field *f, size_t n,
			struct record_contact *out, const char **why);
/* A contact hash as its gateway is told about it once it has finished (a
 * re-login's replay, ExplainContact); strings point into the fields read. */
struct record_outcome {
	const char *id, *gateway, *state; /* completed, cancelled, expired (or open) */
	const char *queue, *agent;        /* NULL when empty */
	const char *text;                 /* the disposition, or the reason; "" */
	bool finished;                    /* state is one of the three above */
	int64_t arrived_ms, deadline_ms, assigned_ms, completed_ms;
	uint32_t seq; /* its last transition: the outcome's event is "<id>/<seq>" */
};
/* Returns 0, or SB_ERR_NOT_FOUND when the hash has no state or gateway
 * (expired, or not a contact). */
int record_outcome_read(const char *id, const struct store_field *f, size_t n,
			struct record_outcome *out);
/* The contact of an event id "<contact>/<n>" into out; returns its length,
 * 0 (out "") when event_id is not a contact's. */
size_t record_event_contact(const char *event_id, char *out, size_t len);

/* From a live contact of the engine (reload moves it to a new engine). */
void record_contact_of(const struct engine_contact_view *c, int64_t entered_ms,
		       struct record_contact *out);

/* An agent hash, decoded. */
struct record_agent {
	enum engine_agent_state state;
	const char *reason;
	int64_t since_ms;
	uint32_t seq;
	const char *roster; /* the API's definition (JSON), or NULL */
	bool removed;       /* the API removed it from the roster */
};
void record_agent_read(const struct store_field *f, size_t n, struct record_agent *out);

/* ---- what a stored reason may be ----------------------------------------------- */

/* An agent's state reason, an offer's rejection or a contact's
 * cancellation reason, a disposition: at most this many bytes. The admin
 * API and the wire take the same, as they write the same fields. */
#define RECORD_MAX_REASON 64
/* Whether s is a reason Redis may hold: at most RECORD_MAX_REASON bytes and
 * no control characters (it reaches log lines, the wallboard and other
 * clients). */
bool record_reason_ok(const char *s);

/* ---- a record into the engine ------------------------------------------------- */

#define RECORD_MAX_SKILLS 32

/* The engine's input for one contact: `in` to submit it, `restore` (which
 * points at `in`) to put it back as it was. Strings point into the record
 * and the decoded message; data becomes the engine's once a call takes it
 * (set data to NULL then). */
struct record_engine {
	struct engine_submit in;
	struct engine_restore restore;
	struct engine_skill_req skills[RECORD_MAX_SKILLS];
	Switchboard__V1__SubmitContact *msg;
	struct record_data *data;
};
/* sid: the gateway session to tell ("" after a restart). Returns 0, or an
 * sb_err with *why (the payload does not decode). */
int record_to_engine(const struct record_contact *rc, const char *sid, struct record_engine *out,
		     const char **why);
/* The same, from a message as a gateway sent it and the data packed from it
 * (a new contact): data is taken. */
void record_submit_to_engine(const Switchboard__V1__SubmitContact *msg, struct record_data *data,
			     const char *contact_id, const char *gateway_id, enum sb_channel ch,
			     const char *queue, int64_t arrived_ms, int64_t deadline_ms,
			     struct record_engine *out);
/* The engine's view of a message for a check before anything is stored
 * (skills go into out->skills; nothing is owned). */
void record_check_input(const Switchboard__V1__SubmitContact *m, enum sb_channel ch,
			const char *queue, struct record_engine *out);
/* Frees what out still owns (the decoded message; data unless taken). */
void record_engine_done(struct record_engine *out);

#endif

/* The routing engine (engine/engine.h), driven with a fake clock and a
 * recording sink: every callback appends one line to a log and each test
 * asserts the exact sequence of lines, checking the engine's invariants
 * after every step. A seeded random walk checks the same invariants over
 * thousands of mixed operations, then drains every contact. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "util/err.h"

#define MARKER_MAGIC 0x5b5b1234u
#define RANDOM_OPS 2000
#define RANDOM_MAX_CONTACTS 1024
/* The rolling stats window (service level, the estimate's handle time). */
#define STATS_WINDOW_MS 65536

/* The payload each contact carries: contact_free must see it exactly once. */
struct marker {
	uint32_t magic;
	char id[32];
};

/* The recording sink's state: the log, and counters the property test
 * balances at the end. */
struct rec {
	char **lines;
	size_t n, cap;
	size_t seen; /* lines already matched by expect_events */
	int freed;
	int offers, offer_ends, assigned, completed, cancelled, rescinded, expired, breaches;
	int64_t assigned_offer_exp; /* offer_expires_ms of the last `assigned` view */
	char violation[256]; /* the first thing a callback saw that it should not */
};

/* One engine under test, its sink and its fake clock. */
struct fx {
	struct engine *e;
	struct rec rec;
	int64_t now;
	int submitted;     /* accepted submits: each owes one contact_free */
	int64_t last_wait; /* estimated_wait_ms of the last submit */
};

static const char *const agent_ids[] = {"alice", "bob", "carol"};
#define N_AGENTS 3

/* Appends one formatted line to the log. */
static void rec_add(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec_add(struct rec *r, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->lines = realloc(r->lines, r->cap * sizeof *r->lines);
		assert_non_null(r->lines);
	}
	r->lines[r->n] = strdup(buf);
	assert_non_null(r->lines[r->n]);
	r->n++;
}

/* Notes the first contract breach a callback sees (asserting inside the
 * engine's call would longjmp out of it half-way). */
static void rec_violation(struct rec *r, const char *what, const char *id)
{
	if (r->violation[0] == '\0')
		snprintf(r->violation, sizeof r->violation, "%s (%s)", what, id);
}

/* Sink: an offer was made. */
static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_OFFERED || c->agent_id == NULL || c->offer_id == NULL)
		rec_violation(r, "offer view not in offered state", c->id);
	r->offers++;
	rec_add(r, "offer %s -> %s %s exp=%lld", c->id, c->agent_id ? c->agent_id : "?",
	        c->offer_id ? c->offer_id : "?", (long long)c->offer_expires_ms);
}

/* Sink: an offer ended unaccepted; the contact waits again. */
static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
                             const char *offer_id, enum engine_offer_end why, int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_WAITING || c->agent_id != NULL || c->offer_id != NULL)
		rec_violation(r, "offer_ended view not waiting", c->id);
	if (why == OFFER_END_CANCELLED)
		rec_violation(r, "offer_ended with CANCELLED", c->id);
	r->offer_ends++;
	rec_add(r, "offer_ended %s %s %s %s", c->id, agent_id, offer_id,
	        engine_offer_end_name(why));
}

/* Sink: an offer was accepted. */
static void sink_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_ASSIGNED || c->agent_id == NULL || c->assigned_ms != now)
		rec_violation(r, "assigned view wrong", c->id);
	r->assigned++;
	r->assigned_offer_exp = c->offer_expires_ms;
	rec_add(r, "assigned %s %s", c->id, c->agent_id ? c->agent_id : "?");
}

/* Sink: a supervisor took an assigned contact back from its agent. */
static void sink_unassigned(void *ctx, const struct engine_contact_view *c, const char *agent_id,
                            int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_WAITING || c->agent_id != NULL || c->offer_id != NULL ||
	    c->assigned_ms != 0)
		rec_violation(r, "unassigned view not waiting", c->id);
	rec_add(r, "unassigned %s %s", c->id, agent_id);
}

/* Sink: a contact was completed. */
static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disposition,
                           int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_COMPLETED)
		rec_violation(r, "completed view wrong state", c->id);
	r->completed++;
	rec_add(r, "completed %s %s %s", c->id, c->agent_id ? c->agent_id : "?", disposition);
}

/* Sink: a contact was cancelled, maybe rescinding a live offer. */
static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
                           const char *rescinded_agent, const char *rescinded_offer, int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_CANCELLED)
		rec_violation(r, "cancelled view wrong state", c->id);
	if ((rescinded_agent == NULL) != (rescinded_offer == NULL))
		rec_violation(r, "half a rescind", c->id);
	r->cancelled++;
	if (rescinded_agent != NULL) {
		r->rescinded++;
		rec_add(r, "cancelled %s reason=%s rescind=%s/%s", c->id, reason, rescinded_agent,
		        rescinded_offer ? rescinded_offer : "?");
	} else {
		rec_add(r, "cancelled %s reason=%s", c->id, reason);
	}
}

/* Sink: a contact gave up waiting ("max-wait" or "no-agent"). */
static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
                         int64_t now)
{
	struct rec *r = ctx;

	if (c->state != CONTACT_EXPIRED || c->agent_id != NULL || c->offer_id != NULL)
		rec_violation(r, "expired view wrong", c->id);
	r->expired++;
	rec_add(r, "expired %s %s", c->id, reason);
}

/* Sink: something happened to a contact that lives on (SLA breach,
 * overflow, transfer); the detail, when there is one, ends the line. */
static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
                       const char *detail, int64_t now)
{
	struct rec *r = ctx;

	if (ev == EVENT_SLA_BREACHED) {
		/* Only a contact still in its queue can breach, at its threshold. */
		if ((c->state != CONTACT_WAITING && c->state != CONTACT_OFFERED) ||
		    !c->sla_breached || now < c->arrived_ms + c->sla_ms)
			rec_violation(r, "sla_breached view wrong", c->id);
		r->breaches++;
	}
	if (detail != NULL && detail[0] != '\0')
		rec_add(r, "event %s %s %s", c->id, engine_event_name(ev), detail);
	else
		rec_add(r, "event %s %s", c->id, engine_event_name(ev));
}

/* Sink: an agent's state or reason changed. */
static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	struct rec *r = ctx;

	if (a->reason != NULL && a->reason[0] != '\0')
		rec_add(r, "agent %s %s %s", a->id, engine_agent_state_name(a->state), a->reason);
	else
		rec_add(r, "agent %s %s", a->id, engine_agent_state_name(a->state));
}

/* Sink: frees the marker given at submit, checking it is one of ours. */
static void sink_contact_free(void *ctx, void *user)
{
	struct rec *r = ctx;
	struct marker *m = user;

	if (m->magic != MARKER_MAGIC)
		rec_violation(r, "contact_free of a foreign or freed payload", "?");
	m->magic = 0;
	free(m);
	r->freed++;
}

static const struct engine_sink recording_sink = {
    .offer = sink_offer,
    .offer_ended = sink_offer_ended,
    .unassigned = sink_unassigned,
    .assigned = sink_assigned,
    .completed = sink_completed,
    .cancelled = sink_cancelled,
    .expired = sink_expired,
    .event = sink_event,
    .agent_state = sink_agent_state,
    .contact_free = sink_contact_free,
};

/* The configuration every test uses. */
/* max_no_answer for engines made from now on (0: the fixture's default,
 * never break an agent for it). */
static int conf_max_no_answer;
/* channels.email.auto_accept for engines made from now on. */
static bool conf_email_auto_accept;

static void conf_fill(struct engine_conf *c)
{
	memset(c, 0, sizeof *c);
	c->max_no_answer = conf_max_no_answer;
	c->offer_prefix = "T";
	c->reject_delay_ms = 5000;
	c->stats_window_ms = STATS_WINDOW_MS;
	c->check_invariants = true; /* the engine aborts on a broken invariant */
	c->channels[SB_CH_VOICE] = (struct engine_channel_conf){.sla_ms = 30000,
	                                                        .offer_timeout_ms = 15000,
	                                                        .wrapup_ms = 10000,
	                                                        .capacity = 1,
	                                                        .exclusive = true,
	                                                        .auto_accept = false};
	c->channels[SB_CH_CHAT] = (struct engine_channel_conf){.sla_ms = 60000,
	                                                       .offer_timeout_ms = 20000,
	                                                       .wrapup_ms = 5000,
	                                                       .capacity = 3,
	                                                       .exclusive = false,
	                                                       .auto_accept = false};
	c->channels[SB_CH_EMAIL] = (struct engine_channel_conf){.sla_ms = 14400000,
	                                                        .offer_timeout_ms = 30000,
	                                                        .wrapup_ms = 0,
	                                                        .capacity = 5,
	                                                        .exclusive = false,
	                                                        .auto_accept = conf_email_auto_accept};
	c->channels[SB_CH_SOCIAL] = (struct engine_channel_conf){.sla_ms = 3600000,
	                                                         .offer_timeout_ms = 30000,
	                                                         .wrapup_ms = 0,
	                                                         .capacity = 3,
	                                                         .exclusive = false,
	                                                         .auto_accept = false};
}

/* Adds a queue; a refusal must say why. */
static int queue_add_def(struct engine *e, const struct engine_queue_def *def)
{
	const char *why = NULL;
	int rc = engine_queue_add(e, def, &why);

	if (rc != 0)
		assert_non_null(why);
	return rc;
}

/* Adds a plain queue: no skills, no steps, the channel's SLA, longest-idle. */
static int queue_add(struct engine *e, const char *name, enum sb_channel ch)
{
	const struct engine_queue_def def = {
	    .name = name,
	    .channel = ch,
	    .strategy = STRATEGY_LONGEST_IDLE,
	};

	return queue_add_def(e, &def);
}

/* Adds an agent of the default tier serving every queue, with the
 * channels' capacities. */
static int agent_add(struct engine *e, const char *id)
{
	const char *why = NULL;
	const struct engine_agent_def def = {.id = id};
	int rc = engine_agent_add(e, &def, NULL, &why);

	if (rc != 0)
		assert_non_null(why);
	return rc;
}

/* A fresh engine with the queues given (NULL: the three plain ones) and
 * three agents serving every queue, clock at 0. */
static struct fx *fx_new_queues(const struct engine_queue_def *defs, size_t n_defs)
{
	struct engine_conf conf;
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	conf_fill(&conf);
	f->e = engine_new(&conf, &recording_sink, &f->rec);
	assert_non_null(f->e);
	/* No tiers: engine_queues_done adds agent tier "regular" and customer
	 * tier "standard" (factor 1). */
	if (defs == NULL) {
		assert_int_equal(queue_add(f->e, "voice-q", SB_CH_VOICE), 0);
		assert_int_equal(queue_add(f->e, "chat-q", SB_CH_CHAT), 0);
		assert_int_equal(queue_add(f->e, "email-q", SB_CH_EMAIL), 0);
	}
	for (size_t i = 0; i < n_defs; i++)
		assert_int_equal(queue_add_def(f->e, &defs[i]), 0);
	const char *why = NULL;
	assert_int_equal(engine_queues_done(f->e, &why), 0);
	for (int i = 0; i < N_AGENTS; i++)
		assert_int_equal(agent_add(f->e, agent_ids[i]), 0);
	assert_null(engine_check_invariants(f->e));
	return f;
}

/* A fresh engine with the three plain queues ("voice-q", "chat-q",
 * "email-q") and three agents, clock at 0. */
static struct fx *fx_new(void)
{
	return fx_new_queues(NULL, 0);
}

/* Frees the engine (which frees every live payload) and the log; returns
 * -1 if a payload leaked or was freed twice. */
static int fx_free(struct fx *f)
{
	int rc = 0;

	engine_free(f->e);
	if (f->rec.freed != f->submitted) {
		fprintf(stderr, "contact_free called %d times for %d contacts\n", f->rec.freed,
		        f->submitted);
		rc = -1;
	}
	for (size_t i = 0; i < f->rec.n; i++)
		free(f->rec.lines[i]);
	free(f->rec.lines);
	free(f);
	return rc;
}

/* cmocka setup: one fixture per test. */
static int fx_setup(void **state)
{
	*state = fx_new();
	return 0;
}

/* cmocka teardown: the fixture goes, and every payload must be freed once. */
static int fx_teardown(void **state)
{
	return fx_free(*state);
}

/* Asserts the engine's invariants hold and no callback saw a breach. */
static void check(struct fx *f)
{
	const char *why = engine_check_invariants(f->e);

	if (why != NULL)
		fail_msg("invariant broken at t=%lld: %s", (long long)f->now, why);
	if (f->rec.violation[0] != '\0')
		fail_msg("sink saw a breach at t=%lld: %s", (long long)f->now, f->rec.violation);
}

/* Asserts the lines logged since the last call are exactly the NULL-ended
 * list given, then marks them seen. */
static void expect_events(struct rec *r, ...)
{
	const char *want[64];
	size_t n_want = 0;
	va_list ap;

	va_start(ap, r);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
		assert_true(n_want < 64);
		want[n_want++] = s;
	}
	va_end(ap);

	size_t n_got = r->n - r->seen;
	bool same = n_got == n_want;
	for (size_t i = 0; same && i < n_want; i++)
		same = strcmp(r->lines[r->seen + i], want[i]) == 0;
	if (!same) {
		fprintf(stderr, "expected %zu event(s):\n", n_want);
		for (size_t i = 0; i < n_want; i++)
			fprintf(stderr, "    %s\n", want[i]);
		fprintf(stderr, "got %zu:\n", n_got);
		for (size_t i = r->seen; i < r->n; i++)
			fprintf(stderr, "    %s\n", r->lines[i]);
		fail_msg("event sequence differs");
	}
	r->seen = r->n;
}

/* The channel a test queue takes. */
static enum sb_channel queue_channel(const char *queue)
{
	if (strncmp(queue, "voice-", 6) == 0)
		return SB_CH_VOICE;
	if (strcmp(queue, "chat-q") == 0)
		return SB_CH_CHAT;
	return SB_CH_EMAIL;
}

/* Submits contact id from gateway gw at the current time; returns the
 * engine's code, and the position through *pos when not NULL. */
static int fx_submit_gw(struct fx *f, const char *id, const char *gw, const char *queue,
                        int32_t priority, uint32_t *pos)
{
	struct marker *m = malloc(sizeof *m);
	enum sb_channel ch = queue_channel(queue);
	uint32_t p = 0;
	int64_t wait = -1;

	assert_non_null(m);
	m->magic = MARKER_MAGIC;
	snprintf(m->id, sizeof m->id, "%s", id);
	struct engine_submit in = {
	    .id = id,
	    .gateway_id = gw,
	    .external_id = "ext",
	    .queue = queue,
	    .channel = ch,
	    .arrived_ms = f->now,
	    .deadline_ms = engine_deadline(f->e, queue, ch, NULL, f->now, priority),
	    .user = m,
	};
	int rc = engine_submit(f->e, &in, f->now, &p, &wait);
	f->last_wait = wait;
	if (rc == 0) {
		f->submitted++;
		assert_true(p >= 1);
		assert_true(wait >= 0 || wait == ENGINE_WAIT_UNKNOWN);
	} else {
		/* Refused: the payload was not taken. */
		free(m);
	}
	if (pos != NULL)
		*pos = p;
	check(f);
	return rc;
}

/* Submits from "gw1", which must succeed; returns the position at arrival. */
static uint32_t fx_submit(struct fx *f, const char *id, const char *queue, int32_t priority)
{
	uint32_t pos;

	assert_int_equal(fx_submit_gw(f, id, "gw1", queue, priority, &pos), 0);
	return pos;
}

/* Moves the clock to t (never backwards) and fires due timers. */
static void fx_tick(struct fx *f, int64_t t)
{
	assert_true(t >= f->now);
	f->now = t;
	engine_tick(f->e, t);
	check(f);
}

/* Sets an agent's state; returns the engine's code. */
static int fx_set_state(struct fx *f, const char *agent, enum engine_agent_state st,
                        const char *reason)
{
	const char *why = NULL;
	int rc = engine_agent_set_state(f->e, agent, st, reason, f->now, &why);

	if (rc != 0)
		assert_non_null(why);
	check(f);
	return rc;
}

/* Logs an agent in and makes it available. */
static void fx_available(struct fx *f, const char *agent)
{
	assert_int_equal(engine_agent_login(f->e, agent, f->now), 0);
	check(f);
	assert_int_equal(fx_set_state(f, agent, AGENT_AVAILABLE, NULL), 0);
}

/* Accepts an offer; returns the engine's code. */
static int fx_accept(struct fx *f, const char *agent, const char *offer)
{
	const char *why = NULL;
	const struct engine_contact_view *out = NULL;
	int rc = engine_accept(f->e, agent, offer, f->now, &why, &out);

	if (rc == 0) {
		assert_non_null(out);
		assert_int_equal(out->state, CONTACT_ASSIGNED);
		assert_string_equal(out->agent_id, agent);
	} else {
		assert_non_null(why);
	}
	check(f);
	return rc;
}

/* Rejects an offer; returns the engine's code. */
static int fx_reject(struct fx *f, const char *agent, const char *offer)
{
	const char *why = NULL;
	int rc = engine_reject(f->e, agent, offer, "busy", f->now, &why);

	if (rc != 0)
		assert_non_null(why);
	check(f);
	return rc;
}

/* Completes a contact with disposition "resolved"; returns the code. */
static int fx_complete(struct fx *f, const char *agent, const char *contact)
{
	const char *why = NULL;
	int rc = engine_complete(f->e, agent, contact, "resolved", f->now, &why);

	if (rc != 0)
		assert_non_null(why);
	check(f);
	return rc;
}

/* Cancels a contact as gateway gw with reason "hangup"; returns the code. */
static int fx_cancel(struct fx *f, const char *contact, const char *gw)
{
	const char *why = NULL;
	int rc = engine_cancel(f->e, contact, gw, "hangup", f->now, &why);

	if (rc != 0)
		assert_non_null(why);
	check(f);
	return rc;
}

/* Ends an agent's wrap-up early. */
static void fx_ready(struct fx *f, const char *agent)
{
	assert_int_equal(engine_ready(f->e, agent, f->now), 0);
	check(f);
}

/* The state of a live contact, which must exist. */
static enum engine_contact_state state_of(struct fx *f, const char *id)
{
	const struct engine_contact_view *c = engine_contact(f->e, id);

	if (c == NULL)
		fail_msg("contact %s not found", id);
	return c->state;
}

/* A list of contact ids, filled by engine_agent_each_contact. */
struct idlist {
	const char *ids[16];
	int n;
};

/* engine_agent_each_contact callback: collects ids. */
static void collect_id(void *arg, const struct engine_contact_view *c)
{
	struct idlist *l = arg;

	assert_true(l->n < 16);
	l->ids[l->n++] = c->id;
}

/* ---- scenarios ---------------------------------------------------------- */

/* With nobody logged in, contacts wait; positions count up per queue and
 * follow deadline order, not arrival order. */
static void test_submit_waits_without_agents(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_submit(f, "c1", "voice-q", 0), 1);
	f->now = 1000;
	assert_int_equal(fx_submit(f, "c2", "voice-q", 0), 2);
	f->now = 2000;
	assert_int_equal(fx_submit(f, "c3", "voice-q", 0), 3);
	/* A logged-in but offline agent changes nothing. */
	assert_int_equal(engine_agent_login(f->e, "alice", f->now), 0);
	check(f);
	expect_events(&f->rec, NULL);

	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	assert_int_equal(engine_contact_position(f->e, "c2"), 2);
	assert_int_equal(engine_contact_position(f->e, "c3"), 3);
	assert_int_equal(engine_waiting_count(f->e), 3);
	const struct engine_contact_view *c1 = engine_contact(f->e, "c1");
	assert_non_null(c1);
	assert_int_equal(c1->state, CONTACT_WAITING);
	assert_null(c1->agent_id);
	assert_null(c1->offer_id);
	assert_int_equal(c1->deadline_ms, 30000);
	assert_int_equal(c1->sla_ms, 30000);
	assert_string_equal(c1->queue, "voice-q");
	assert_string_equal(((struct marker *)c1->user)->id, "c1");

	/* A 40 s priority boost goes to the front; the rest move down. */
	f->now = 3000;
	assert_int_equal(fx_submit(f, "c4", "voice-q", 40), 1);
	assert_int_equal(engine_contact_position(f->e, "c4"), 1);
	assert_int_equal(engine_contact_position(f->e, "c1"), 2);
	assert_int_equal(engine_contact_position(f->e, "c3"), 4);

	/* Another queue counts from 1. */
	assert_int_equal(fx_submit(f, "m1", "email-q", 0), 1);
	assert_int_equal(engine_contact_position(f->e, "m1"), 1);
	assert_int_equal(engine_contact_position(f->e, "nope"), 0);
	assert_int_equal(engine_waiting_count(f->e), 5);
	/* Per queue, for limits.max_waiting_per_queue. */
	assert_int_equal(engine_queue_waiting(f->e, "voice-q"), 4);
	assert_int_equal(engine_queue_waiting(f->e, "email-q"), 1);
	assert_int_equal(engine_queue_waiting(f->e, "nope"), 0);
	expect_events(&f->rec, NULL);
}

/* Submits are refused for an unknown queue, the wrong channel, an unknown
 * customer tier, a bad skill requirement, an unknown preferred agent and a
 * duplicate id, with nothing routed or logged; engine_check_submit gives
 * the same verdicts before anything is persisted. */
static void test_submit_refusals(void **state)
{
	struct fx *f = *state;
	const char *why = NULL;
	uint32_t pos = 0;
	int64_t wait = 0;
	static const struct engine_skill_req bad_level[] = {{"french", 0}};
	static const struct engine_skill_req no_name[] = {{"", 3}};

	fx_submit(f, "c1", "voice-q", 0);
	assert_int_equal(fx_submit_gw(f, "c1", "gw1", "voice-q", 0, NULL), SB_ERR_CONFLICT);
	assert_int_equal(fx_submit_gw(f, "c2", "gw1", "no-such-q", 0, NULL),
	                 SB_ERR_INVALID_ARGUMENT);

	/* Each refusal below leaves the payload (none here) with the caller. */
	struct engine_submit in = {
	    .id = "c2",
	    .gateway_id = "gw1",
	    .queue = "chat-q",
	    .channel = SB_CH_CHAT,
	    .arrived_ms = f->now,
	    .deadline_ms = engine_deadline(f->e, "chat-q", SB_CH_CHAT, NULL, f->now, 0),
	};
	assert_int_equal(engine_check_submit(f->e, &in, &why), 0);

	struct engine_submit bad = in;
	bad.queue = "no-such-q";
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	bad = in;
	bad.queue = NULL;
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	bad = in;
	bad.channel = SB_CH_VOICE;
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(engine_submit(f->e, &bad, f->now, &pos, &wait), SB_ERR_INVALID_ARGUMENT);
	bad = in;
	bad.customer_tier = "gold";
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(engine_submit(f->e, &bad, f->now, &pos, &wait), SB_ERR_INVALID_ARGUMENT);
	bad = in;
	bad.skills = bad_level;
	bad.n_skills = 1;
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(engine_submit(f->e, &bad, f->now, &pos, &wait), SB_ERR_INVALID_ARGUMENT);
	bad.skills = no_name;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	bad = in;
	bad.preferred_agent = "mallory";
	why = NULL;
	assert_int_equal(engine_check_submit(f->e, &bad, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(engine_submit(f->e, &bad, f->now, &pos, &wait), SB_ERR_INVALID_ARGUMENT);
	/* The default customer tier by name, and an empty preferred agent, are fine. */
	bad = in;
	bad.customer_tier = "standard";
	bad.preferred_agent = "";
	assert_int_equal(engine_check_submit(f->e, &bad, &why), 0);
	assert_null(engine_contact(f->e, "c2"));
	check(f);

	assert_string_equal(engine_default_queue(f->e, SB_CH_CHAT), "chat-q");
	assert_null(engine_default_queue(f->e, SB_CH_SOCIAL));
	assert_int_equal(engine_waiting_count(f->e), 1);
	/* The roster refuses duplicates; queues are fixed once
	 * engine_queues_done has run (the old engine refused a new queue with
	 * CONFLICT once contacts existed). */
	assert_int_equal(agent_add(f->e, "alice"), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(agent_add(f->e, ""), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(queue_add(f->e, "voice-q", SB_CH_VOICE), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(queue_add(f->e, "social-q", SB_CH_SOCIAL), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(engine_queue_count(f->e), 3);
	check(f);
	expect_events(&f->rec, NULL);
}

/* The estimated wait (estimate.c; its cases are in test_estimate.c):
 * unknown while nobody who could take the contact is available, 0 when an
 * agent is free, else its place x (mean handle time + wrap-up) / staffed
 * slots. The handle time is the window's, else the totals': a quiet spell
 * does not forget it. */
static void test_estimated_wait_from_staffing(void **state)
{
	struct fx *f = *state;

	/* Nobody logged in: unknown. */
	fx_submit(f, "c1", "voice-q", 0);
	assert_int_equal(f->last_wait, ENGINE_WAIT_UNKNOWN);
	f->now = 1000;
	fx_available(f, "alice");
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 4000;
	assert_int_equal(fx_complete(f, "alice", "c1"), 0); /* handled 3 s */
	fx_ready(f, "alice");
	f->now = 5000;
	fx_submit(f, "c2", "voice-q", 0);
	assert_int_equal(f->last_wait, 0); /* offered at once */
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000",
	              "assigned c1 alice", "completed c1 alice resolved",
	              "offer c2 -> alice o-T-2 exp=20000", "assigned c2 alice", NULL);

	/* One slot, turning over every 3 s + 10 s wrap-up. */
	f->now = 6000;
	assert_int_equal(fx_submit(f, "c3", "voice-q", 0), 1);
	assert_int_equal(f->last_wait, 13000);
	assert_int_equal(fx_submit(f, "c4", "voice-q", 0), 2);
	assert_int_equal(f->last_wait, 26000);

	/* alice is still on c2: both wait past their 30 s threshold, and the
	 * one completion leaves the window; the totals still know it. */
	fx_tick(f, 80000);
	expect_events(&f->rec, "event c3 sla_breached", "event c4 sla_breached", NULL);
	assert_true(engine_contact(f->e, "c3")->sla_breached);
	assert_int_equal(fx_submit(f, "c5", "voice-q", 0), 3);
	assert_int_equal(f->last_wait, 39000);
	assert_int_equal(engine_contact_estimate(f->e, "c3", f->now), 13000);
	/* On a break she is not staffed: unknown, for the waiting ones too. */
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "lunch"), 0);
	expect_events(&f->rec, "agent alice break lunch", NULL);
	assert_int_equal(engine_contact_estimate(f->e, "c3", f->now), ENGINE_WAIT_UNKNOWN);
	expect_events(&f->rec, NULL);
}

/* Available agent gets the waiting contact; accept assigns it and complete
 * finishes it; voice wrap-up (10 s) holds the slot until it ends. */
static void test_offer_accept_complete_wrapup_holds_slot(void **state)
{
	struct fx *f = *state;

	fx_submit(f, "c1", "voice-q", 0);
	f->now = 1000;
	fx_available(f, "alice");
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000", NULL);
	const struct engine_contact_view *c1 = engine_contact(f->e, "c1");
	assert_int_equal(c1->state, CONTACT_OFFERED);
	assert_string_equal(c1->agent_id, "alice");
	assert_string_equal(c1->offer_id, "o-T-1");
	/* Offered, it still holds its place in the queue (the old engine said
	 * 0: it counted waiting contacts only); it is no longer waiting. */
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	assert_int_equal(engine_waiting_count(f->e), 0);

	f->now = 2000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "assigned c1 alice", NULL);
	assert_int_equal(c1->assigned_ms, 2000);
	/* Assigned, it has left the queue. */
	assert_int_equal(engine_contact_position(f->e, "c1"), 0);

	f->now = 3000;
	assert_int_equal(fx_submit(f, "c2", "voice-q", 0), 1);
	expect_events(&f->rec, NULL);

	f->now = 4000;
	assert_int_equal(fx_complete(f, "alice", "c1"), 0);
	expect_events(&f->rec, "completed c1 alice resolved", NULL);
	assert_null(engine_contact(f->e, "c1"));
	assert_int_equal(f->rec.freed, 1);
	/* Wrap-up until 14000: c2 keeps waiting. */
	assert_int_equal(state_of(f, "c2"), CONTACT_WAITING);
	assert_int_equal(engine_next_wakeup(f->e), 14000);
	fx_tick(f, 13999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 14000);
	expect_events(&f->rec, "offer c2 -> alice o-T-2 exp=29000", NULL);
}

/* busy_since_ms marks when an agent started or stopped holding contacts
 * (the wallboard's "in state" for "on contact"): at the offer, not moved by
 * the accept or the wrap-up, and again when the last slot frees. */
static void test_busy_since_follows_the_load(void **state)
{
	struct fx *f = *state;
	const struct engine_agent_view *a;

	fx_available(f, "alice");
	a = engine_agent(f->e, "alice");
	assert_int_equal(a->busy_since_ms, 0);
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	assert_int_equal(a->busy_since_ms, 1000);
	assert_int_equal(a->state_since_ms, 0);
	f->now = 2000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 4000;
	assert_int_equal(fx_complete(f, "alice", "c1"), 0);
	assert_int_equal(a->busy_since_ms, 1000); /* in wrap-up: still holding */
	f->now = 5000;
	fx_ready(f, "alice");
	assert_int_equal(a->busy_since_ms, 5000);
	assert_int_equal(a->state_since_ms, 0);
}

/* engine_ready ends a wrap-up early and routes at once. */
static void test_ready_ends_wrapup_early(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	fx_submit(f, "c1", "voice-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 1000;
	assert_int_equal(fx_complete(f, "alice", "c1"), 0);
	f->now = 2000;
	fx_submit(f, "c2", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=15000",
	              "assigned c1 alice", "completed c1 alice resolved", NULL);
	assert_int_equal(engine_next_wakeup(f->e), 11000);

	f->now = 3000;
	fx_ready(f, "alice");
	expect_events(&f->rec, "offer c2 -> alice o-T-2 exp=18000", NULL);
	/* The wrap-up timer is gone: only the offer's is left. */
	assert_int_equal(engine_next_wakeup(f->e), 18000);
	fx_tick(f, 11000);
	expect_events(&f->rec, NULL);
}

/* The earliest deadline across queues goes first: a voice contact that came
 * later but is due sooner beats a chat. */
static void test_earliest_deadline_first_across_queues(void **state)
{
	struct fx *f = *state;

	fx_submit(f, "ch1", "chat-q", 0);
	f->now = 1000;
	fx_submit(f, "v1", "voice-q", 0);
	assert_int_equal(engine_contact(f->e, "ch1")->deadline_ms, 60000);
	assert_int_equal(engine_contact(f->e, "v1")->deadline_ms, 31000);

	f->now = 2000;
	fx_available(f, "alice");
	/* Voice is exclusive: alice gets nothing else. */
	expect_events(&f->rec, "agent alice available", "offer v1 -> alice o-T-1 exp=17000", NULL);
	assert_int_equal(state_of(f, "ch1"), CONTACT_WAITING);

	f->now = 3000;
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer ch1 -> bob o-T-2 exp=23000", NULL);
}

/* A priority boost moves a later contact ahead: it is offered first. */
static void test_priority_boost_offered_first(void **state)
{
	struct fx *f = *state;

	fx_submit(f, "v1", "voice-q", 0);
	f->now = 1000;
	assert_int_equal(fx_submit(f, "v2", "voice-q", 20), 1);
	assert_int_equal(engine_contact(f->e, "v2")->deadline_ms, 11000);
	assert_int_equal(engine_deadline(f->e, "voice-q", SB_CH_VOICE, NULL, 1000, 20), 11000);
	assert_int_equal(engine_contact_position(f->e, "v1"), 2);

	f->now = 2000;
	fx_available(f, "alice");
	expect_events(&f->rec, "agent alice available", "offer v2 -> alice o-T-1 exp=17000", NULL);
	f->now = 2500;
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer v1 -> bob o-T-2 exp=17500", NULL);
}

/* The longest-idle agent gets the contact; a busy one is skipped; equal
 * idle times fall back to id order, not to the order they became ready. */
static void test_longest_idle_agent_first(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_available(f, "bob");
	f->now = 2000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 3000;
	fx_submit(f, "c2", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer c1 -> alice o-T-1 exp=17000", "offer c2 -> bob o-T-2 exp=18000", NULL);

	/* Both finish and go on break, then come back at the same instant. */
	f->now = 4000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	assert_int_equal(fx_accept(f, "bob", "o-T-2"), 0);
	assert_int_equal(fx_complete(f, "alice", "c1"), 0);
	assert_int_equal(fx_complete(f, "bob", "c2"), 0);
	fx_ready(f, "alice");
	fx_ready(f, "bob");
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "lunch"), 0);
	assert_int_equal(fx_set_state(f, "bob", AGENT_BREAK, "lunch"), 0);
	expect_events(&f->rec, "assigned c1 alice", "assigned c2 bob",
	              "completed c1 alice resolved", "completed c2 bob resolved",
	              "agent alice break lunch", "agent bob break lunch", NULL);
	f->now = 6000;
	assert_int_equal(fx_set_state(f, "bob", AGENT_AVAILABLE, NULL), 0);
	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), 0);
	f->now = 7000;
	fx_submit(f, "c3", "voice-q", 0);
	fx_submit(f, "c4", "voice-q", 0);
	expect_events(&f->rec, "agent bob available", "agent alice available",
	              "offer c3 -> alice o-T-3 exp=22000", "offer c4 -> bob o-T-4 exp=22000", NULL);
}

/* Voice is exclusive: an agent holding a chat gets no voice, and an agent
 * on voice gets no chat. */
static void test_voice_is_exclusive(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "ch1", "chat-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 2000;
	fx_submit(f, "v1", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "offer ch1 -> alice o-T-1 exp=21000",
	              "assigned ch1 alice", NULL);
	assert_int_equal(state_of(f, "v1"), CONTACT_WAITING);

	/* bob takes the voice; then alice goes on break. */
	f->now = 3000;
	fx_available(f, "bob");
	assert_int_equal(fx_accept(f, "bob", "o-T-2"), 0);
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "coffee"), 0);
	expect_events(&f->rec, "agent bob available", "offer v1 -> bob o-T-2 exp=18000",
	              "assigned v1 bob", "agent alice break coffee", NULL);

	/* A chat now finds only bob, who is on voice: it waits. */
	f->now = 4000;
	fx_submit(f, "ch2", "chat-q", 0);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "ch2"), CONTACT_WAITING);
	/* alice, with one chat of three, may take it. */
	f->now = 5000;
	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), 0);
	expect_events(&f->rec, "agent alice available", "offer ch2 -> alice o-T-3 exp=25000", NULL);
}

/* Chat capacity 3: the fourth chat waits; a completed chat's slot is held
 * for the 5 s chat wrap-up, or until engine_ready. */
static void test_chat_capacity_and_wrapup(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	expect_events(&f->rec, "agent alice available", NULL);
	f->now = 1000;
	fx_submit(f, "ch1", "chat-q", 0);
	fx_submit(f, "ch2", "chat-q", 0);
	fx_submit(f, "ch3", "chat-q", 0);
	/* Its place counts the three offered chats ahead of it, which are still
	 * in the queue (the old engine counted waiting contacts only: 1). */
	assert_int_equal(fx_submit(f, "ch4", "chat-q", 0), 4);
	expect_events(&f->rec, "offer ch1 -> alice o-T-1 exp=21000",
	              "offer ch2 -> alice o-T-2 exp=21000", "offer ch3 -> alice o-T-3 exp=21000",
	              NULL);
	assert_int_equal(state_of(f, "ch4"), CONTACT_WAITING);
	assert_int_equal(engine_contact_position(f->e, "ch4"), 4);
	assert_int_equal(engine_waiting_count(f->e), 1);

	f->now = 2000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-3"), 0);
	assert_int_equal(engine_contact_position(f->e, "ch4"), 1);
	f->now = 3000;
	assert_int_equal(fx_complete(f, "alice", "ch1"), 0);
	expect_events(&f->rec, "assigned ch1 alice", "assigned ch2 alice", "assigned ch3 alice",
	              "completed ch1 alice resolved", NULL);
	assert_int_equal(state_of(f, "ch4"), CONTACT_WAITING);
	assert_int_equal(engine_next_wakeup(f->e), 8000);
	fx_tick(f, 7999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 8000);
	expect_events(&f->rec, "offer ch4 -> alice o-T-4 exp=28000", NULL);

	/* The same slot freed by engine_ready instead of the clock. */
	f->now = 9000;
	assert_int_equal(fx_complete(f, "alice", "ch2"), 0);
	fx_submit(f, "ch5", "chat-q", 0);
	expect_events(&f->rec, "completed ch2 alice resolved", NULL);
	f->now = 10000;
	fx_ready(f, "alice");
	expect_events(&f->rec, "offer ch5 -> alice o-T-5 exp=30000", NULL);
}

/* A rejected offer goes to the next available agent at once. */
static void test_reject_offers_next_agent(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_available(f, "bob");
	f->now = 2000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 3000;
	assert_int_equal(fx_reject(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer c1 -> alice o-T-1 exp=17000", "offer_ended c1 alice o-T-1 rejected",
	              "offer c1 -> bob o-T-2 exp=18000", NULL);
	assert_int_equal(engine_contact(f->e, "c1")->deadline_ms, 32000);
	/* The old offer is dead. */
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), SB_ERR_NOT_FOUND);
}

/* The agent who rejected is not offered the contact again for
 * reject_delay_ms, even as the only agent; then it is. */
static void test_reject_delay_keeps_contact_from_agent(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 2000;
	assert_int_equal(fx_reject(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000",
	              "offer_ended c1 alice o-T-1 rejected", NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_WAITING);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	assert_int_equal(engine_next_wakeup(f->e), 7000);

	/* Becoming available again does not lift the delay. */
	f->now = 3000;
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "coffee"), 0);
	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), 0);
	expect_events(&f->rec, "agent alice break coffee", "agent alice available", NULL);
	fx_tick(f, 6999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 7000);
	expect_events(&f->rec, "offer c1 -> alice o-T-2 exp=22000", NULL);
}

/* A rejected contact keeps its deadline and its place ahead of contacts
 * that came later. */
static void test_rejected_contact_keeps_its_place(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 2000;
	assert_int_equal(fx_reject(f, "alice", "o-T-1"), 0);
	/* alice may take a later contact meanwhile. */
	f->now = 3000;
	fx_submit(f, "c2", "voice-q", 0);
	/* Places count offered contacts too (the old engine counted waiting
	 * ones only, giving c3 place 2): c1 waiting, c2 offered, c3. */
	f->now = 4000;
	assert_int_equal(fx_submit(f, "c3", "voice-q", 0), 3);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000",
	              "offer_ended c1 alice o-T-1 rejected", "offer c2 -> alice o-T-2 exp=18000",
	              NULL);
	assert_int_equal(engine_contact(f->e, "c1")->deadline_ms, 31000);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	assert_int_equal(engine_contact_position(f->e, "c2"), 2);
	assert_int_equal(engine_contact_position(f->e, "c3"), 3);

	/* c1 goes first, to the next agent; c3 is next once the two ahead of it
	 * are taken. */
	f->now = 5000;
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer c1 -> bob o-T-3 exp=20000", NULL);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	assert_int_equal(engine_contact_position(f->e, "c3"), 3);
	assert_int_equal(fx_accept(f, "bob", "o-T-3"), 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), 0);
	expect_events(&f->rec, "assigned c1 bob", "assigned c2 alice", NULL);
	assert_int_equal(engine_contact_position(f->e, "c3"), 1);
}

/* Each agent who declines is kept from the contact for its own
 * reject_delay_ms: a second agent's reject must not lift the first's. */
static void test_reject_delay_is_per_agent(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_available(f, "bob");
	f->now = 2000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 3000;
	assert_int_equal(fx_reject(f, "alice", "o-T-1"), 0);
	f->now = 4000;
	assert_int_equal(fx_reject(f, "bob", "o-T-2"), 0);
	/* alice is kept from c1 until 8000, bob until 9000. */
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer c1 -> alice o-T-1 exp=17000", "offer_ended c1 alice o-T-1 rejected",
	              "offer c1 -> bob o-T-2 exp=18000", "offer_ended c1 bob o-T-2 rejected", NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_WAITING);
	fx_tick(f, 7999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 8000);
	expect_events(&f->rec, "offer c1 -> alice o-T-3 exp=23000", NULL);
}

/* An unanswered offer ends at exactly offer time + 15 s; the contact waits
 * again, keeping its deadline, and the agent is held off like a reject. */
static void test_offer_timeout_requeues(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000", NULL);
	assert_int_equal(engine_next_wakeup(f->e), 16000);
	fx_tick(f, 15999);
	expect_events(&f->rec, NULL);
	assert_int_equal(engine_next_wakeup(f->e), 16000);
	fx_tick(f, 16000);
	expect_events(&f->rec, "offer_ended c1 alice o-T-1 timeout", NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_WAITING);
	assert_int_equal(engine_contact(f->e, "c1")->deadline_ms, 31000);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	/* A late accept finds nothing. */
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), SB_ERR_NOT_FOUND);

	assert_int_equal(engine_next_wakeup(f->e), 21000);
	fx_tick(f, 21000);
	expect_events(&f->rec, "offer c1 -> alice o-T-2 exp=36000", NULL);
}

/* Cancelling a waiting contact removes and frees it. */
static void test_cancel_waiting(void **state)
{
	struct fx *f = *state;

	fx_submit(f, "c1", "voice-q", 0);
	fx_submit(f, "c2", "voice-q", 0);
	f->now = 1000;
	assert_int_equal(fx_cancel(f, "c1", "gw1"), 0);
	expect_events(&f->rec, "cancelled c1 reason=hangup", NULL);
	assert_null(engine_contact(f->e, "c1"));
	assert_int_equal(f->rec.freed, 1);
	assert_int_equal(engine_waiting_count(f->e), 1);
	assert_int_equal(engine_contact_position(f->e, "c2"), 1);
	/* Gone: a second cancel finds nothing. */
	assert_int_equal(fx_cancel(f, "c1", "gw1"), SB_ERR_NOT_FOUND);
	expect_events(&f->rec, NULL);
}

/* Cancelling an offered contact rescinds the offer and frees the agent's
 * slot: the agent gets the next contact at once. */
static void test_cancel_offered_rescinds(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	fx_submit(f, "c2", "voice-q", 0);
	/* An offered contact still counts against its queue's limit. */
	assert_int_equal(engine_waiting_count(f->e), 1);
	assert_int_equal(engine_queue_waiting(f->e, "voice-q"), 2);
	f->now = 2000;
	assert_int_equal(fx_cancel(f, "c1", "gw1"), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000",
	              "cancelled c1 reason=hangup rescind=alice/o-T-1",
	              "offer c2 -> alice o-T-2 exp=17000", NULL);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), SB_ERR_NOT_FOUND);
	/* The rescinded offer's timer went with it. */
	assert_int_equal(engine_next_wakeup(f->e), 17000);
}

/* Cancel refusals: assigned (CONFLICT), another gateway's (FORBIDDEN),
 * unknown (NOT_FOUND); none of them changes anything. */
static void test_cancel_errors(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	fx_submit(f, "c1", "voice-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	assert_int_equal(fx_submit_gw(f, "c2", "gw2", "chat-q", 0, NULL), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=15000",
	              "assigned c1 alice", NULL);

	assert_int_equal(fx_cancel(f, "c1", "gw1"), SB_ERR_CONFLICT);
	assert_int_equal(fx_cancel(f, "c2", "gw1"), SB_ERR_FORBIDDEN);
	assert_int_equal(fx_cancel(f, "c9", "gw1"), SB_ERR_NOT_FOUND);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_ASSIGNED);
	assert_int_equal(state_of(f, "c2"), CONTACT_WAITING);
	assert_int_equal(fx_cancel(f, "c2", "gw2"), 0);
	expect_events(&f->rec, "cancelled c2 reason=hangup", NULL);
}

/* Accept refusals, and a retried accept confirms again without a second
 * "assigned"; reject after accept is a conflict. */
static void test_accept_errors_and_retry(void **state)
{
	struct fx *f = *state;
	const char *why = NULL;
	const struct engine_contact_view *out = NULL;

	fx_available(f, "alice");
	fx_available(f, "bob");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer c1 -> alice o-T-1 exp=16000", NULL);

	assert_int_equal(fx_accept(f, "bob", "o-T-1"), SB_ERR_FORBIDDEN);
	assert_int_equal(fx_accept(f, "alice", "o-T-99"), SB_ERR_NOT_FOUND);
	assert_int_equal(fx_accept(f, "mallory", "o-T-1"), SB_ERR_NOT_FOUND);
	assert_int_equal(fx_reject(f, "bob", "o-T-1"), SB_ERR_FORBIDDEN);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_OFFERED);

	f->now = 2000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 2500;
	assert_int_equal(engine_accept(f->e, "alice", "o-T-1", f->now, &why, &out), 0);
	check(f);
	assert_non_null(out);
	assert_string_equal(out->id, "c1");
	assert_int_equal(out->assigned_ms, 2000);
	expect_events(&f->rec, "assigned c1 alice", NULL);

	assert_int_equal(fx_reject(f, "alice", "o-T-1"), SB_ERR_CONFLICT);
	assert_int_equal(state_of(f, "c1"), CONTACT_ASSIGNED);
	/* No offer timer survives the accept. */
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	expect_events(&f->rec, NULL);
}

/* Complete refusals: another agent's (FORBIDDEN), offered but not accepted
 * (CONFLICT), unknown or already completed (NOT_FOUND). */
static void test_complete_errors(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_available(f, "bob");
	fx_submit(f, "c1", "voice-q", 0);
	fx_submit(f, "c2", "voice-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer c1 -> alice o-T-1 exp=16000", "offer c2 -> bob o-T-2 exp=16000",
	              "assigned c1 alice", NULL);

	assert_int_equal(fx_complete(f, "bob", "c1"), SB_ERR_FORBIDDEN);
	assert_int_equal(fx_complete(f, "bob", "c2"), SB_ERR_CONFLICT);
	assert_int_equal(fx_complete(f, "alice", "c2"), SB_ERR_FORBIDDEN);
	assert_int_equal(fx_complete(f, "alice", "c9"), SB_ERR_NOT_FOUND);
	assert_int_equal(fx_complete(f, "mallory", "c1"), SB_ERR_NOT_FOUND);
	expect_events(&f->rec, NULL);

	assert_int_equal(fx_complete(f, "alice", "c1"), 0);
	assert_int_equal(fx_complete(f, "alice", "c1"), SB_ERR_NOT_FOUND);
	expect_events(&f->rec, "completed c1 alice resolved", NULL);
}

/* set_state needs a login, and a break needs a reason. */
static void test_set_state_refusals(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), SB_ERR_CONFLICT);
	assert_int_equal(fx_set_state(f, "mallory", AGENT_AVAILABLE, NULL), SB_ERR_NOT_FOUND);
	assert_int_equal(engine_agent_login(f->e, "mallory", f->now), SB_ERR_NOT_FOUND);
	assert_int_equal(engine_agent_login(f->e, "alice", f->now), 0);
	check(f);
	const struct engine_agent_view *a = engine_agent(f->e, "alice");
	assert_non_null(a);
	assert_true(a->logged_in);
	assert_int_equal(a->state, AGENT_OFFLINE);

	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, NULL), SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, ""), SB_ERR_INVALID_ARGUMENT);
	expect_events(&f->rec, NULL);
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "lunch"), 0);
	/* The same state and reason again is not a change. */
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "lunch"), 0);
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "training"), 0);
	expect_events(&f->rec, "agent alice break lunch", "agent alice break training", NULL);
	assert_string_equal(engine_agent(f->e, "alice")->reason, "training");
}

/* Going on break while holding an offer ends it (agent-unavailable) and the
 * contact waits again; no reject delay applies. */
/* While paused (the daemon's store is down) nothing is offered and an offer
 * timing out does not count against its agent; unpausing routes what
 * waited. */
static void test_pause_stops_offers_and_spares_no_answer(void **state)
{
	(void)state;
	conf_max_no_answer = 1;
	struct fx *f = fx_new();
	conf_max_no_answer = 0;

	fx_available(f, "alice");
	fx_submit(f, "c1", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=15000",
	              NULL);
	engine_set_paused(f->e, true, f->now);
	fx_tick(f, 15000);
	/* Requeued, but alice stays available: her accept may have been
	 * refused, not missed. */
	expect_events(&f->rec, "offer_ended c1 alice o-T-1 timeout", NULL);
	f->now = 16000;
	fx_submit(f, "c2", "chat-q", 0);
	fx_tick(f, 21000); /* reject delay over: still nothing while paused */
	expect_events(&f->rec, NULL);
	assert_int_equal(engine_waiting_count(f->e), 2);

	f->now = 22000;
	engine_set_paused(f->e, false, f->now);
	check(f);
	expect_events(&f->rec, "offer c1 -> alice o-T-2 exp=37000", NULL);
	/* Unpaused, a timeout counts again: max_no_answer 1 means a break. */
	fx_tick(f, 37000);
	expect_events(&f->rec, "event c1 sla_breached", "offer_ended c1 alice o-T-2 timeout",
	              "agent alice break no-answer", NULL);
	assert_int_equal(fx_free(f), 0);
}

/* The `assigned` view says whether an offer came first (its expiry) or the
 * contact was auto-accepted (0), and the expiry does not outlive it. */
static void test_assigned_says_whether_an_offer_came_first(void **state)
{
	(void)state;
	conf_email_auto_accept = true;
	struct fx *f = fx_new();
	conf_email_auto_accept = false;

	fx_available(f, "alice");
	fx_submit(f, "m1", "email-q", 0);
	expect_events(&f->rec, "agent alice available", "assigned m1 alice", NULL);
	assert_int_equal(f->rec.assigned_offer_exp, 0);

	fx_available(f, "bob");
	fx_submit(f, "c1", "voice-q", 0);
	expect_events(&f->rec, "agent bob available", "offer c1 -> bob o-T-2 exp=15000", NULL);
	assert_int_equal(fx_accept(f, "bob", "o-T-2"), 0);
	expect_events(&f->rec, "assigned c1 bob", NULL);
	assert_int_equal(f->rec.assigned_offer_exp, 15000);
	assert_int_equal(engine_contact(f->e, "c1")->offer_expires_ms, 0);
	assert_int_equal(fx_free(f), 0);
}

static void test_break_rescinds_offer(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "c1", "voice-q", 0);
	f->now = 2000;
	assert_int_equal(fx_set_state(f, "alice", AGENT_BREAK, "lunch"), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-1 exp=16000",
	              "offer_ended c1 alice o-T-1 agent-unavailable", "agent alice break lunch", NULL);
	assert_int_equal(state_of(f, "c1"), CONTACT_WAITING);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	/* No offer timer and no reject delay is left: only c1's SLA threshold
	 * (1000 + 30 s), which the old engine did not have. */
	assert_int_equal(engine_next_wakeup(f->e), 31000);

	f->now = 3000;
	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), 0);
	expect_events(&f->rec, "agent alice available", "offer c1 -> alice o-T-2 exp=18000", NULL);
}

/* Logout rescinds offers and makes the agent offline but keeps its
 * assignments, which it can complete after logging back in. */
static void test_logout_keeps_assignment(void **state)
{
	struct fx *f = *state;
	struct idlist held = {0};

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "ch1", "chat-q", 0);
	fx_submit(f, "ch2", "chat-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "agent alice available", "offer ch1 -> alice o-T-1 exp=21000",
	              "offer ch2 -> alice o-T-2 exp=21000", "assigned ch1 alice", NULL);

	f->now = 2000;
	assert_int_equal(engine_agent_logout(f->e, "alice", f->now), 0);
	check(f);
	expect_events(&f->rec, "offer_ended ch2 alice o-T-2 session-closed",
	              "agent alice offline logged-out", NULL);
	const struct engine_agent_view *a = engine_agent(f->e, "alice");
	assert_false(a->logged_in);
	assert_int_equal(a->state, AGENT_OFFLINE);
	engine_agent_each_contact(f->e, "alice", collect_id, &held);
	assert_int_equal(held.n, 1);
	assert_string_equal(held.ids[0], "ch1");
	assert_int_equal(state_of(f, "ch1"), CONTACT_ASSIGNED);
	assert_int_equal(state_of(f, "ch2"), CONTACT_WAITING);
	assert_int_equal(fx_set_state(f, "alice", AGENT_AVAILABLE, NULL), SB_ERR_CONFLICT);

	/* bob picks up the rescinded chat. */
	f->now = 3000;
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer ch2 -> bob o-T-3 exp=23000", NULL);

	f->now = 4000;
	assert_int_equal(engine_agent_login(f->e, "alice", f->now), 0);
	check(f);
	assert_int_equal(fx_complete(f, "alice", "ch1"), 0);
	expect_events(&f->rec, "completed ch1 alice resolved", NULL);
	held.n = 0;
	engine_agent_each_contact(f->e, "alice", collect_id, &held);
	assert_int_equal(held.n, 0);
}

/* A detached agent (dropped session) gets no new offers but keeps its
 * state and its contacts; its live offer does not survive the session: it
 * ends at once (session-closed), the contact goes to the next agent, and
 * the miss is not counted as a no-answer. Attaching resumes routing. */
static void test_detach_rescinds_offer_keeps_state(void **state)
{
	(void)state;
	conf_max_no_answer = 1;
	struct fx *f = fx_new();
	conf_max_no_answer = 0;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "ch1", "chat-q", 0);
	expect_events(&f->rec, "agent alice available", "offer ch1 -> alice o-T-1 exp=21000", NULL);
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", NULL);
	assert_int_equal(engine_agent_detach(f->e, "alice", f->now), 0);
	check(f);
	/* Withdrawn now, not at the offer timeout (21000); bob gets it. */
	expect_events(&f->rec, "offer_ended ch1 alice o-T-1 session-closed",
	              "offer ch1 -> bob o-T-2 exp=21000", NULL);
	const struct engine_agent_view *a = engine_agent(f->e, "alice");
	assert_true(a->detached);
	assert_true(a->logged_in);
	/* Not a no-answer: with max_no_answer 1 she would be on break. */
	assert_int_equal(a->state, AGENT_AVAILABLE);
	assert_int_equal(a->load[SB_CH_CHAT], 0);

	/* A second chat would fit her capacity, but she is away: bob has it. */
	fx_submit(f, "ch2", "chat-q", 0);
	expect_events(&f->rec, "offer ch2 -> bob o-T-3 exp=21000", NULL);
	fx_submit(f, "ch3", "chat-q", 0);
	expect_events(&f->rec, "offer ch3 -> bob o-T-4 exp=21000", NULL);
	fx_submit(f, "ch4", "chat-q", 0);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "ch4"), CONTACT_WAITING);

	/* Back: she gets the waiting one. */
	f->now = 2000;
	assert_int_equal(engine_agent_attach(f->e, "alice", f->now), 0);
	check(f);
	assert_false(engine_agent(f->e, "alice")->detached);
	expect_events(&f->rec, "offer ch4 -> alice o-T-5 exp=22000", NULL);
	assert_int_equal(fx_accept(f, "alice", "o-T-5"), 0);
	expect_events(&f->rec, "assigned ch4 alice", NULL);
	/* Detached while holding an assignment: she keeps it. */
	assert_int_equal(engine_agent_detach(f->e, "alice", f->now), 0);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "ch4"), CONTACT_ASSIGNED);

	/* Attaching an agent that is not logged in logs it in (offline). */
	assert_int_equal(engine_agent_attach(f->e, "carol", f->now), 0);
	check(f);
	assert_true(engine_agent(f->e, "carol")->logged_in);
	assert_int_equal(engine_agent(f->e, "carol")->state, AGENT_OFFLINE);
	assert_int_equal(engine_agent_detach(f->e, "nobody", f->now), SB_ERR_NOT_FOUND);
	assert_int_equal(fx_free(f), 0);
}

/* A supervisor's hand on contacts an agent holds (its agent gone for good):
 * an assigned one is requeued under its deadline, ahead of later arrivals,
 * the agent's slot freed with no wrap-up; an offered one's offer ends
 * (admin) and that agent is kept from it for the reject delay; an assigned
 * one is closed with the supervisor's disposition. Waiting contacts are
 * CONFLICT, unknown ones NOT_FOUND, a close without disposition refused. */
static void test_supervisor_requeues_and_closes(void **state)
{
	struct fx *f = *state;
	const char *why = NULL;

	fx_available(f, "alice");
	f->now = 1000;
	fx_submit(f, "v1", "voice-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	f->now = 2000;
	assert_int_equal(engine_agent_logout(f->e, "alice", f->now), 0);
	fx_submit(f, "v2", "voice-q", 0);
	expect_events(&f->rec, "agent alice available", "offer v1 -> alice o-T-1 exp=16000",
	              "assigned v1 alice", "agent alice offline logged-out", NULL);
	assert_int_equal(state_of(f, "v1"), CONTACT_ASSIGNED);

	/* Requeued: waiting again, ahead of v2 which arrived later. */
	f->now = 3000;
	assert_int_equal(engine_requeue(f->e, "v1", f->now, &why), 0);
	check(f);
	expect_events(&f->rec, "unassigned v1 alice", NULL);
	assert_int_equal(state_of(f, "v1"), CONTACT_WAITING);
	assert_int_equal(engine_contact_position(f->e, "v1"), 1);
	assert_int_equal(engine_contact_position(f->e, "v2"), 2);
	assert_int_equal(engine_contact(f->e, "v1")->deadline_ms, 1000 + 30000);
	assert_int_equal(engine_contact_entered_ms(f->e, "v1"), 3000);
	assert_int_equal(engine_agent(f->e, "alice")->load[SB_CH_VOICE], 0);
	/* Its old offer id is gone with the assignment. */
	const struct engine_contact_view *out = NULL;
	assert_int_equal(engine_accept(f->e, "alice", "o-T-1", f->now, &why, &out),
	                 SB_ERR_NOT_FOUND);

	/* bob gets it first; a requeue of the offer ends it (admin), keeps bob
	 * from it for the reject delay, and bob gets v2 meanwhile. */
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer v1 -> bob o-T-2 exp=18000", NULL);
	assert_int_equal(engine_requeue(f->e, "v1", f->now, &why), 0);
	check(f);
	expect_events(&f->rec, "offer_ended v1 bob o-T-2 admin", "offer v2 -> bob o-T-3 exp=18000",
	              NULL);
	assert_int_equal(fx_accept(f, "bob", "o-T-3"), 0);
	expect_events(&f->rec, "assigned v2 bob", NULL);

	/* Closed with the supervisor's disposition: no wrap-up, bob's slot is
	 * free at once (v1 still kept from him). */
	assert_int_equal(engine_close(f->e, "v2", "", f->now, &why), SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(engine_close(f->e, "v2", "abandoned-by-agent", f->now, &why), 0);
	check(f);
	expect_events(&f->rec, "completed v2 bob abandoned-by-agent", NULL);
	assert_null(engine_contact(f->e, "v2"));
	assert_int_equal(engine_agent(f->e, "bob")->load[SB_CH_VOICE], 0);

	/* Refusals. */
	why = NULL;
	assert_int_equal(engine_requeue(f->e, "v1", f->now, &why), SB_ERR_CONFLICT);
	assert_non_null(strstr(why, "waiting"));
	assert_int_equal(engine_close(f->e, "v1", "x", f->now, &why), SB_ERR_CONFLICT);
	assert_int_equal(engine_requeue(f->e, "nope", f->now, &why), SB_ERR_NOT_FOUND);
	assert_int_equal(engine_close(f->e, "nope", "x", f->now, &why), SB_ERR_NOT_FOUND);
	fx_tick(f, 8000); /* the reject delay is over: v1 goes to bob */
	expect_events(&f->rec, "offer v1 -> bob o-T-4 exp=23000", NULL);
	why = NULL;
	assert_int_equal(engine_close(f->e, "v1", "x", f->now, &why), SB_ERR_CONFLICT);
	assert_non_null(strstr(why, "offered"));
	expect_events(&f->rec, NULL);
}

/* Restores a contact as recovery does; user is a fresh marker. */
static int fx_restore(struct fx *f, const char *id, const char *queue, int64_t arrived,
		      const char *agent)
{
	struct marker *m = malloc(sizeof *m);
	enum sb_channel ch = queue_channel(queue);
	const char *why = NULL;

	assert_non_null(m);
	m->magic = MARKER_MAGIC;
	snprintf(m->id, sizeof m->id, "%s", id);
	struct engine_submit in = {
	    .id = id,
	    .gateway_id = "gw1",
	    .external_id = "ext",
	    .queue = queue,
	    .channel = ch,
	    .arrived_ms = arrived,
	    .deadline_ms = engine_deadline(f->e, queue, ch, NULL, arrived, 0),
	    .user = m,
	};
	struct engine_restore r = {.submit = &in, .agent_id = agent, .assigned_ms = arrived + 10};
	int rc = engine_restore_contact(f->e, &r, f->now, &why);
	if (rc == 0)
		f->submitted++;
	else
		free(m);
	return rc;
}

/* Recovery: waiting contacts come back in deadline order — ties in
 * submission order, whatever order they are read in — held ones stay with
 * their agents, agents come back detached in their state, and nothing is
 * routed before engine_restore_finish. */
static void test_restore_keeps_places_and_holders(void **state)
{
	struct fx *f = *state;

	f->now = 50000;
	engine_set_paused(f->e, true, f->now);
	assert_int_equal(engine_restore_agent(f->e, "alice", AGENT_AVAILABLE, "", 1000, f->now), 0);
	assert_int_equal(engine_restore_agent(f->e, "bob", AGENT_OFFLINE, "", 1000, f->now), 0);
	assert_true(engine_agent(f->e, "alice")->detached);
	assert_false(engine_agent(f->e, "bob")->logged_in);
	/* Same deadline for the -2 and -10: id order decides, numerically. */
	assert_int_equal(fx_restore(f, "c-x-10", "chat-q", 40000, NULL), 0);
	assert_int_equal(fx_restore(f, "c-x-2", "chat-q", 40000, NULL), 0);
	assert_int_equal(fx_restore(f, "c-x-1", "chat-q", 30000, NULL), 0);
	assert_int_equal(fx_restore(f, "c-x-3", "chat-q", 20000, "alice"), 0);
	assert_int_equal(fx_restore(f, "c-x-4", "chat-q", 20000, "nobody"), SB_ERR_NOT_FOUND);
	assert_int_equal(fx_restore(f, "c-x-1", "chat-q", 30000, NULL), SB_ERR_CONFLICT);
	engine_restore_finish(f->e, f->now);
	check(f);
	expect_events(&f->rec, NULL);

	assert_int_equal(engine_contact_position(f->e, "c-x-1"), 1);
	assert_int_equal(engine_contact_position(f->e, "c-x-2"), 2);
	assert_int_equal(engine_contact_position(f->e, "c-x-10"), 3);
	assert_int_equal(state_of(f, "c-x-3"), CONTACT_ASSIGNED);
	assert_int_equal(engine_agent(f->e, "alice")->load[SB_CH_CHAT], 1);

	/* Unpaused and attached: alice fills her chat slots, earliest first. */
	engine_set_paused(f->e, false, f->now);
	check(f);
	expect_events(&f->rec, NULL);
	assert_int_equal(engine_agent_attach(f->e, "alice", f->now), 0);
	check(f);
	expect_events(&f->rec, "offer c-x-1 -> alice o-T-1 exp=70000",
		      "offer c-x-2 -> alice o-T-2 exp=70000", NULL);
	assert_int_equal(fx_complete(f, "alice", "c-x-3"), 0);
}

/* engine_next_wakeup is INT64_MAX when nothing is pending, else the
 * earliest of offer, reject-delay and wrap-up timers. */
static void test_next_wakeup_earliest_timer(void **state)
{
	struct fx *f = *state;

	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	fx_available(f, "alice");
	fx_available(f, "bob");
	fx_submit(f, "e1", "email-q", 0);
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	assert_int_equal(fx_complete(f, "alice", "e1"), 0);
	/* No wrap-up on email: nothing pending. */
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	expect_events(&f->rec, "agent alice available", "agent bob available",
	              "offer e1 -> alice o-T-1 exp=30000", "assigned e1 alice",
	              "completed e1 alice resolved", NULL);

	f->now = 1000;
	fx_submit(f, "v1", "voice-q", 0);
	assert_int_equal(engine_next_wakeup(f->e), 16000);
	f->now = 2000;
	fx_submit(f, "ch1", "chat-q", 0);
	expect_events(&f->rec, "offer v1 -> alice o-T-2 exp=16000",
	              "offer ch1 -> bob o-T-3 exp=22000", NULL);
	assert_int_equal(engine_next_wakeup(f->e), 16000);

	f->now = 3000;
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), 0);
	assert_int_equal(engine_next_wakeup(f->e), 22000);
	f->now = 4000;
	assert_int_equal(fx_reject(f, "bob", "o-T-3"), 0);
	assert_int_equal(engine_next_wakeup(f->e), 9000); /* reject delay */
	f->now = 5000;
	assert_int_equal(fx_complete(f, "alice", "v1"), 0);
	assert_int_equal(engine_next_wakeup(f->e), 9000); /* wrap-up is 15000 */
	expect_events(&f->rec, "assigned v1 alice", "offer_ended ch1 bob o-T-3 rejected",
	              "completed v1 alice resolved", NULL);

	fx_tick(f, 9000);
	expect_events(&f->rec, "offer ch1 -> bob o-T-4 exp=29000", NULL);
	assert_int_equal(engine_next_wakeup(f->e), 15000);
	f->now = 10000;
	fx_ready(f, "alice");
	assert_int_equal(engine_next_wakeup(f->e), 29000);
	f->now = 11000;
	assert_int_equal(fx_accept(f, "bob", "o-T-4"), 0);
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	f->now = 12000;
	assert_int_equal(fx_complete(f, "bob", "ch1"), 0);
	assert_int_equal(engine_next_wakeup(f->e), 17000);
	fx_tick(f, 17000);
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	expect_events(&f->rec, "assigned ch1 bob", "completed ch1 bob resolved", NULL);
}

/* A contact still in its queue (waiting or offered) at arrival + its SLA
 * threshold is reported once as breached; one assigned before then never
 * is. (New: the old engine had no SLA events.) */
static void test_sla_breach_reported_while_in_queue(void **state)
{
	struct fx *f = *state;

	fx_available(f, "alice");
	fx_submit(f, "v1", "voice-q", 0);
	fx_submit(f, "v2", "voice-q", 0);
	f->now = 5000;
	assert_int_equal(fx_accept(f, "alice", "o-T-1"), 0);
	expect_events(&f->rec, "agent alice available", "offer v1 -> alice o-T-1 exp=15000",
	              "assigned v1 alice", NULL);
	assert_int_equal(engine_contact(f->e, "v2")->sla_ms, 30000);
	assert_int_equal(engine_next_wakeup(f->e), 30000);

	/* Waiting: v2 breaches; v1, assigned in time, does not. */
	fx_tick(f, 29999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 30000);
	expect_events(&f->rec, "event v2 sla_breached", NULL);
	assert_true(engine_contact(f->e, "v2")->sla_breached);
	assert_false(engine_contact(f->e, "v1")->sla_breached);
	assert_int_equal(state_of(f, "v2"), CONTACT_WAITING);
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);

	/* alice finishes v1 and, after wrap-up, takes v2: no second report. */
	f->now = 31000;
	assert_int_equal(fx_complete(f, "alice", "v1"), 0);
	fx_tick(f, 41000);
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), 0);
	expect_events(&f->rec, "completed v1 alice resolved", "offer v2 -> alice o-T-2 exp=56000",
	              "assigned v2 alice", NULL);

	/* Offered: v3's offer to bob times out and is made again; it is still
	 * offered at its threshold. */
	f->now = 42000;
	fx_submit(f, "v3", "voice-q", 0);
	fx_available(f, "bob");
	expect_events(&f->rec, "agent bob available", "offer v3 -> bob o-T-3 exp=57000", NULL);
	fx_tick(f, 57000);
	expect_events(&f->rec, "offer_ended v3 bob o-T-3 timeout", NULL);
	fx_tick(f, 62000);
	expect_events(&f->rec, "offer v3 -> bob o-T-4 exp=77000", NULL);
	fx_tick(f, 72000);
	expect_events(&f->rec, "event v3 sla_breached", NULL);
	assert_int_equal(state_of(f, "v3"), CONTACT_OFFERED);
	f->now = 73000;
	assert_int_equal(fx_accept(f, "bob", "o-T-4"), 0);
	expect_events(&f->rec, "assigned v3 bob", NULL);
	assert_true(engine_contact(f->e, "v3")->sla_breached);
	/* Reported once: nothing is left to fire. */
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
	fx_tick(f, 200000);
	expect_events(&f->rec, NULL);
}

/* A queue's max_wait moves a contact to its overflow queue (keeping its
 * deadline) or, with none, expires it; an offer live at max_wait runs its
 * course first. (New: the old engine had no max_wait.) */
static void test_max_wait_overflows_then_expires(void **state)
{
	static const struct engine_queue_def defs[] = {
	    {.name = "voice-front",
	     .channel = SB_CH_VOICE,
	     .max_wait_ms = 20000,
	     .overflow = "voice-back"},
	    {.name = "voice-back", .channel = SB_CH_VOICE, .max_wait_ms = 25000},
	};
	struct fx *f = fx_new_queues(defs, 2);

	fx_submit(f, "c1", "voice-front", 0);
	fx_tick(f, 19999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 20000);
	expect_events(&f->rec, "event c1 overflowed voice-back", NULL);
	const struct engine_contact_view *c1 = engine_contact(f->e, "c1");
	assert_string_equal(c1->queue, "voice-back");
	assert_int_equal(c1->deadline_ms, 30000);
	assert_int_equal(c1->state, CONTACT_WAITING);
	assert_int_equal(engine_contact_position(f->e, "c1"), 1);
	fx_tick(f, 30000);
	expect_events(&f->rec, "event c1 sla_breached", NULL);
	/* voice-back's max_wait counts from when it entered voice-back. */
	fx_tick(f, 44999);
	expect_events(&f->rec, NULL);
	fx_tick(f, 45000);
	expect_events(&f->rec, "expired c1 max-wait", NULL);
	assert_null(engine_contact(f->e, "c1"));
	assert_int_equal(f->rec.freed, 1);
	assert_int_equal(engine_waiting_count(f->e), 0);

	/* Offered at its max_wait (75000): it is decided when the offer ends. */
	f->now = 50000;
	fx_available(f, "alice");
	fx_submit(f, "c2", "voice-back", 0);
	expect_events(&f->rec, "agent alice available", "offer c2 -> alice o-T-1 exp=65000", NULL);
	fx_tick(f, 65000);
	fx_tick(f, 70000);
	expect_events(&f->rec, "offer_ended c2 alice o-T-1 timeout",
	              "offer c2 -> alice o-T-2 exp=85000", NULL);
	fx_tick(f, 75000);
	expect_events(&f->rec, NULL);
	assert_int_equal(state_of(f, "c2"), CONTACT_OFFERED);
	fx_tick(f, 80000);
	expect_events(&f->rec, "event c2 sla_breached", NULL);
	fx_tick(f, 85000);
	expect_events(&f->rec, "offer_ended c2 alice o-T-2 timeout", "expired c2 max-wait", NULL);
	assert_null(engine_contact(f->e, "c2"));
	assert_int_equal(fx_accept(f, "alice", "o-T-2"), SB_ERR_NOT_FOUND);
	assert_int_equal(f->rec.expired, 2);
	assert_int_equal(fx_free(f), 0);
}

/* A fixed script touching every kind of event. */
static void run_script(struct fx *f)
{
	fx_available(f, "alice");
	fx_available(f, "bob");
	f->now = 500;
	fx_submit(f, "c1", "voice-q", 0);
	fx_submit(f, "c2", "chat-q", 10);
	fx_submit(f, "c3", "chat-q", 0);
	fx_submit(f, "c4", "email-q", 0);
	fx_submit(f, "c5", "voice-q", 5);
	f->now = 1500;
	const char *offer = engine_contact(f->e, "c1")->offer_id;
	if (offer != NULL)
		fx_reject(f, "alice", offer);
	fx_available(f, "carol");
	f->now = 2500;
	for (int i = 0; i < N_AGENTS; i++) {
		struct idlist held = {0};
		engine_agent_each_contact(f->e, agent_ids[i], collect_id, &held);
		for (int j = 0; j < held.n; j++) {
			const struct engine_contact_view *c = engine_contact(f->e, held.ids[j]);
			if (c->state == CONTACT_OFFERED && j % 2 == 0)
				fx_accept(f, agent_ids[i], c->offer_id);
		}
	}
	fx_cancel(f, "c4", "gw1");
	fx_tick(f, 20000);
	fx_set_state(f, "bob", AGENT_BREAK, "lunch");
	fx_submit(f, "c6", "voice-q", 0);
	fx_tick(f, 40000);
	assert_int_equal(engine_agent_logout(f->e, "carol", f->now), 0);
	fx_tick(f, 80000);
}

/* The same inputs give the same outputs, event for event. */
static void test_determinism(void **state)
{
	struct fx *a = fx_new(), *b = fx_new();

	run_script(a);
	run_script(b);
	assert_true(a->rec.n > 10);
	assert_int_equal(a->rec.n, b->rec.n);
	for (size_t i = 0; i < a->rec.n; i++)
		assert_string_equal(a->rec.lines[i], b->rec.lines[i]);
	assert_int_equal(fx_free(a), 0);
	assert_int_equal(fx_free(b), 0);
}

/* ---- randomized property test ------------------------------------------- */

/* A deterministic generator, so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Contacts held by all agents, optionally only those in one state. */
struct heldset {
	const struct engine_contact_view *c[64];
	const char *agent[64];
	int n;
	const char *cur_agent;
	int want; /* an engine_contact_state, or -1 for any */
};

/* engine_agent_each_contact callback: collects matching contacts. */
static void collect_held(void *arg, const struct engine_contact_view *c)
{
	struct heldset *h = arg;

	if (h->want >= 0 && (int)c->state != h->want)
		return;
	assert_true(h->n < 64);
	h->c[h->n] = c;
	h->agent[h->n] = h->cur_agent;
	h->n++;
}

/* Fills h with every held contact in state want (-1: any). */
static void held_all(struct fx *f, struct heldset *h, int want)
{
	h->n = 0;
	h->want = want;
	for (int i = 0; i < N_AGENTS; i++) {
		h->cur_agent = agent_ids[i];
		engine_agent_each_contact(f->e, agent_ids[i], collect_held, h);
	}
}

/* Per-agent rules the engine's own invariants do not cover: capacity per
 * channel, exclusivity, and offers only to routable agents. */
static void check_agents(struct fx *f)
{
	static const int cap[SB_CH_COUNT] = {1, 3, 5, 3};
	struct heldset h;

	for (int i = 0; i < N_AGENTS; i++) {
		int used[SB_CH_COUNT] = {0};
		const struct engine_agent_view *a = engine_agent(f->e, agent_ids[i]);
		h.n = 0;
		h.want = -1;
		h.cur_agent = agent_ids[i];
		engine_agent_each_contact(f->e, agent_ids[i], collect_held, &h);
		for (int j = 0; j < h.n; j++) {
			assert_string_equal(h.c[j]->agent_id, agent_ids[i]);
			used[h.c[j]->channel]++;
			if (h.c[j]->state == CONTACT_OFFERED) {
				assert_true(a->logged_in);
				assert_int_equal(a->state, AGENT_AVAILABLE);
			}
		}
		for (int ch = 0; ch < SB_CH_COUNT; ch++)
			assert_true(used[ch] <= cap[ch]);
		if (used[SB_CH_VOICE] > 0)
			assert_int_equal(used[SB_CH_CHAT] + used[SB_CH_EMAIL] + used[SB_CH_SOCIAL],
			                 0);
	}
}

/* Fires timers that are due, as the server's timer would. */
static void fire_due(struct fx *f)
{
	if (engine_next_wakeup(f->e) <= f->now)
		fx_tick(f, f->now);
	assert_true(engine_next_wakeup(f->e) > f->now);
}

/* One random operation. */
static void random_op(struct fx *f, uint32_t *seed, char ids[][16], int *n_ids)
{
	static const char *const queues[] = {"voice-q", "chat-q", "email-q"};
	struct heldset h;
	uint32_t r = rng_next(seed) % 100;
	const char *agent = agent_ids[rng_next(seed) % N_AGENTS];

	f->now += rng_next(seed) % 500;
	fire_due(f);
	if (r < 25 && *n_ids < RANDOM_MAX_CONTACTS) {
		snprintf(ids[*n_ids], 16, "r%d", *n_ids);
		const char *q = queues[rng_next(seed) % 3];
		fx_submit(f, ids[*n_ids], q, (int32_t)(rng_next(seed) % 31));
		(*n_ids)++;
	} else if (r < 40) {
		uint32_t what = rng_next(seed) % 6;
		if (what == 0) {
			assert_int_equal(engine_agent_login(f->e, agent, f->now), 0);
			check(f);
		} else if (what == 1) {
			assert_int_equal(engine_agent_logout(f->e, agent, f->now), 0);
			check(f);
		} else {
			bool in = engine_agent(f->e, agent)->logged_in;
			int rc = what == 5 ? fx_set_state(f, agent, AGENT_BREAK, "lunch")
			                   : fx_set_state(f, agent, AGENT_AVAILABLE, NULL);
			assert_int_equal(rc, in ? 0 : SB_ERR_CONFLICT);
		}
	} else if (r < 55) {
		held_all(f, &h, CONTACT_OFFERED);
		if (h.n > 0) {
			int k = (int)(rng_next(seed) % (uint32_t)h.n);
			assert_int_equal(fx_accept(f, h.agent[k], h.c[k]->offer_id), 0);
		}
	} else if (r < 63) {
		held_all(f, &h, CONTACT_OFFERED);
		if (h.n > 0) {
			int k = (int)(rng_next(seed) % (uint32_t)h.n);
			assert_int_equal(fx_reject(f, h.agent[k], h.c[k]->offer_id), 0);
		}
	} else if (r < 75) {
		held_all(f, &h, CONTACT_ASSIGNED);
		if (h.n > 0) {
			int k = (int)(rng_next(seed) % (uint32_t)h.n);
			char id[16];
			snprintf(id, sizeof id, "%s", h.c[k]->id);
			assert_int_equal(fx_complete(f, h.agent[k], id), 0);
			assert_null(engine_contact(f->e, id));
		}
	} else if (r < 83) {
		if (*n_ids > 0) {
			const char *id = ids[rng_next(seed) % (uint32_t)*n_ids];
			const struct engine_contact_view *c = engine_contact(f->e, id);
			int want = c == NULL                      ? SB_ERR_NOT_FOUND
			           : c->state == CONTACT_ASSIGNED ? SB_ERR_CONFLICT
			                                          : 0;
			assert_int_equal(fx_cancel(f, id, "gw1"), want);
		}
	} else if (r < 88) {
		fx_ready(f, agent);
	} else {
		fx_tick(f, f->now + rng_next(seed) % 20000);
	}
	check_agents(f);
}

/* Logs everyone in, accepts and completes everything until nothing is left
 * waiting or held. */
static void drain(struct fx *f)
{
	struct heldset h;

	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < N_AGENTS; i++) {
			assert_int_equal(engine_agent_login(f->e, agent_ids[i], f->now), 0);
			assert_int_equal(fx_set_state(f, agent_ids[i], AGENT_AVAILABLE, NULL), 0);
			fx_ready(f, agent_ids[i]);
		}
		held_all(f, &h, CONTACT_OFFERED);
		for (int k = 0; k < h.n; k++)
			assert_int_equal(fx_accept(f, h.agent[k], h.c[k]->offer_id), 0);
		held_all(f, &h, -1);
		for (int k = 0; k < h.n; k++) {
			char id[16];
			snprintf(id, sizeof id, "%s", h.c[k]->id);
			assert_int_equal(fx_complete(f, h.agent[k], id), 0);
		}
		check_agents(f);
		if (engine_waiting_count(f->e) == 0) {
			held_all(f, &h, -1);
			if (h.n == 0)
				return;
		}
		fx_tick(f, f->now + 1000);
	}
	fail_msg("drain did not finish: %zu waiting", engine_waiting_count(f->e));
}

/* 2000 seeded random operations keep every invariant; afterwards every
 * contact drains and the event counts balance. */
static void test_random_operations_hold_invariants(void **state)
{
	static char ids[RANDOM_MAX_CONTACTS][16];
	struct fx *f = *state;
	uint32_t seed = 0x5eed1234u;
	int n_ids = 0;

	for (int i = 0; i < RANDOM_OPS; i++)
		random_op(f, &seed, ids, &n_ids);
	assert_true(n_ids > 100);
	assert_true(f->rec.assigned > 50);
	assert_true(f->rec.offer_ends > 10);
	/* Contacts left waiting (or offered) past their threshold are reported
	 * (the sink checks each report's state), and none expires: no queue
	 * has a max_wait. */
	assert_true(f->rec.breaches > 0);
	assert_int_equal(f->rec.expired, 0);

	drain(f);
	assert_int_equal(engine_waiting_count(f->e), 0);
	for (int i = 0; i < n_ids; i++)
		assert_null(engine_contact(f->e, ids[i]));
	/* Every offer was accepted, ended or rescinded by a cancel. */
	assert_int_equal(f->rec.offers, f->rec.assigned + f->rec.offer_ends + f->rec.rescinded);
	assert_int_equal(f->rec.completed, f->rec.assigned);
	assert_int_equal(f->rec.completed + f->rec.cancelled + f->rec.expired, f->submitted);
	assert_int_equal(f->rec.freed, f->submitted);
	/* Only wrap-ups and reject delays can be left; they run out. */
	fx_tick(f, f->now + 3600000);
	assert_int_equal(engine_next_wakeup(f->e), INT64_MAX);
}

/* ---- no re-entry from sink callbacks (engine.h, struct engine_sink) ---- */

/* What the re-entering sink's offer callback does with the engine. */
enum reenter_mode {
	REENTER_READ,      /* reads only: allowed */
	REENTER_TICK,      /* engine_tick */
	REENTER_CANCEL,    /* engine_cancel of the contact being offered */
	REENTER_SET_STATE, /* engine_agent_set_state of the agent being offered to */
	REENTER_SUBMIT,    /* engine_submit of another contact */
};

/* The re-entering sink's state. */
struct reenter {
	struct engine *e;
	enum reenter_mode mode;
	int offers;
	int reads_ok; /* offers whose reads from inside the callback all agreed */
};

/* Sink: reads the engine back, then does what the mode says. */
static void reenter_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct reenter *r = ctx;
	const char *why = NULL;
	uint32_t pos;
	int64_t wait;
	struct engine_submit in = {.id = "c-2",
	                           .gateway_id = "gw1",
	                           .queue = "voice-q",
	                           .channel = SB_CH_VOICE,
	                           .arrived_ms = now,
	                           .deadline_ms = now};

	r->offers++;
	const struct engine_agent_view *a = engine_agent(r->e, c->agent_id);
	if (engine_contact(r->e, c->id) == c && a != NULL && a->load[SB_CH_VOICE] == 1 &&
	    engine_waiting_count(r->e) == 0 && engine_contact_position(r->e, c->id) == 1 &&
	    engine_check_invariants(r->e) == NULL)
		r->reads_ok++;
	switch (r->mode) {
	case REENTER_READ:
		break;
	case REENTER_TICK:
		engine_tick(r->e, now);
		break;
	case REENTER_CANCEL:
		engine_cancel(r->e, c->id, c->gateway_id, "caller hung up", now, &why);
		break;
	case REENTER_SET_STATE:
		engine_agent_set_state(r->e, c->agent_id, AGENT_BREAK, "lunch", now, &why);
		break;
	case REENTER_SUBMIT:
		engine_submit(r->e, &in, now, &pos, &wait);
		break;
	}
}

/* Sink: the callbacks this test does not look at. */
static void reenter_offer_ended(void *ctx, const struct engine_contact_view *c,
                                const char *agent_id, const char *offer_id,
                                enum engine_offer_end why, int64_t now)
{
}

/* Sink: a contact event (assigned, and the like), ignored. */
static void reenter_contact(void *ctx, const struct engine_contact_view *c, int64_t now)
{
}

/* Sink: a contact finished, ignored. */
static void reenter_done(void *ctx, const struct engine_contact_view *c, const char *text,
                         int64_t now)
{
}

/* Sink: a cancel, ignored. */
static void reenter_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
                              const char *agent, const char *offer, int64_t now)
{
}

/* Sink: an event on a live contact, ignored. */
static void reenter_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
                          const char *detail, int64_t now)
{
}

/* Sink: an agent state change, ignored. */
static void reenter_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
}

static const struct engine_sink reenter_sink = {
    .offer = reenter_offer,
    .offer_ended = reenter_offer_ended,
    .assigned = reenter_contact,
    .completed = reenter_done,
    .cancelled = reenter_cancelled,
    .expired = reenter_done,
    .event = reenter_event,
    .agent_state = reenter_agent_state,
};

/* One voice queue and one available agent, then a submit: the agent is
 * offered the contact, from inside engine_submit. Returns the submit's code. */
static int reenter_run(struct reenter *r)
{
	struct engine_conf conf;
	const char *why = NULL;

	conf_fill(&conf);
	r->e = engine_new(&conf, &reenter_sink, r);
	if (r->e == NULL || queue_add(r->e, "voice-q", SB_CH_VOICE) != 0 ||
	    engine_queues_done(r->e, &why) != 0 || agent_add(r->e, "alice") != 0 ||
	    engine_agent_login(r->e, "alice", 0) != 0 ||
	    engine_agent_set_state(r->e, "alice", AGENT_AVAILABLE, NULL, 0, &why) != 0)
		return -1;
	struct engine_submit in = {
	    .id = "c-1",
	    .gateway_id = "gw1",
	    .queue = "voice-q",
	    .channel = SB_CH_VOICE,
	    .arrived_ms = 1000,
	    .deadline_ms = engine_deadline(r->e, "voice-q", SB_CH_VOICE, NULL, 1000, 0)};
	uint32_t pos;
	int64_t wait;
	return engine_submit(r->e, &in, 1000, &pos, &wait);
}

/* Runs mode in a child; returns how it ended (waitpid's status) and what it
 * wrote on stderr. */
static int reenter_in_child(enum reenter_mode mode, char *err, size_t errlen)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none); /* an abort is expected: no core file */
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		struct reenter r = {.mode = mode};
		int rc = reenter_run(&r);
		/* Reaching here means the guard let the call through. */
		_exit(rc == 0 && r.offers > 0 ? 0 : 1);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while (n + 1 < errlen && (got = read(fds[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)got;
	err[n] = '\0';
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A sink callback may read the engine: the views, the counts, the
 * invariants all agree with the offer it is being told about. */
static void test_sink_may_read_the_engine(void **state)
{
	struct reenter r = {.mode = REENTER_READ};

	assert_int_equal(reenter_run(&r), 0);
	assert_int_equal(r.offers, 1);
	assert_int_equal(r.reads_ok, 1);
	assert_null(engine_check_invariants(r.e));
	/* Outside a callback the engine takes calls again. */
	engine_tick(r.e, 2000);
	engine_free(r.e);
}

/* A sink callback that calls an entry point that changes the engine aborts
 * the process (SIGABRT, in every build), naming both entry points. */
static void test_sink_reentry_aborts(void **state)
{
	static const struct {
		enum reenter_mode mode;
		const char *name;
	} cases[] = {
	    {REENTER_TICK, "engine_tick"},
	    {REENTER_CANCEL, "engine_cancel"},
	    {REENTER_SET_STATE, "engine_agent_set_state"},
	    {REENTER_SUBMIT, "engine_submit"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char err[1024];
		int status = reenter_in_child(cases[i].mode, err, sizeof err);

		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
			fail_msg("%s from a sink callback: not aborted (status %#x); stderr: %s",
			         cases[i].name, status, err);
		char want[128];
		snprintf(want, sizeof want, "%s called while engine_submit is running",
		         cases[i].name);
		if (strstr(err, want) == NULL)
			fail_msg("abort message does not say \"%s\": %s", want, err);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_submit_waits_without_agents),
	    T(test_submit_refusals),
	    T(test_estimated_wait_from_staffing),
	    T(test_offer_accept_complete_wrapup_holds_slot),
	    T(test_ready_ends_wrapup_early),
	    T(test_busy_since_follows_the_load),
	    T(test_earliest_deadline_first_across_queues),
	    T(test_priority_boost_offered_first),
	    T(test_longest_idle_agent_first),
	    T(test_voice_is_exclusive),
	    T(test_chat_capacity_and_wrapup),
	    T(test_reject_offers_next_agent),
	    T(test_reject_delay_keeps_contact_from_agent),
	    T(test_rejected_contact_keeps_its_place),
	    T(test_reject_delay_is_per_agent),
	    T(test_offer_timeout_requeues),
	    T(test_cancel_waiting),
	    T(test_cancel_offered_rescinds),
	    T(test_cancel_errors),
	    T(test_accept_errors_and_retry),
	    T(test_complete_errors),
	    T(test_set_state_refusals),
	    T(test_break_rescinds_offer),
	    cmocka_unit_test(test_pause_stops_offers_and_spares_no_answer),
	    cmocka_unit_test(test_assigned_says_whether_an_offer_came_first),
	    T(test_logout_keeps_assignment),
	    cmocka_unit_test(test_detach_rescinds_offer_keeps_state),
	    T(test_supervisor_requeues_and_closes),
	    T(test_restore_keeps_places_and_holders),
	    T(test_next_wakeup_earliest_timer),
	    T(test_sla_breach_reported_while_in_queue),
	    cmocka_unit_test(test_max_wait_overflows_then_expires),
	    cmocka_unit_test(test_determinism),
	    T(test_random_operations_hold_invariants),
	    cmocka_unit_test(test_sink_may_read_the_engine),
	    cmocka_unit_test(test_sink_reentry_aborts),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

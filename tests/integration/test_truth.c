/* One truth (issue 13): the daemon never tells a client what Redis does not
 * hold, never keeps in memory what Redis refused, and never forgets what
 * Redis lost. One test per defect of the issue; each was written to fail
 * against the daemon as it was when the issue was filed.
 *
 * Every test holds what the clients were told against what Redis holds,
 * read independently over hiredis (HGETALL sb:{test}:contact:<id>, XRANGE
 * sb:{test}:events, SMEMBERS sb:{test}:open), and, where the defect is
 * drift, the daemon's memory (GET /v1/contacts) against Redis.
 *
 * Faults: Redis frozen (SIGSTOP) or killed (SIGKILL) and restarted, the
 * leader cut off from Redis by a frozen sb-proxy, Redis refusing writes
 * (maxmemory with noeviction: -OOM; a failed BGSAVE: -MISCONF), Redis
 * stopped cleanly, FLUSHALL, and a power cut under appendfsync everysec
 * (the AOF cut back to its last fsync). Harness settings: redis
 * command_timeout_ms 500, offer timeout 1000 ms unless a test says
 * otherwise, ha.lease_ms 3000 (the default). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "harness.h"
#include "http_client.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define CHAT SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define AVAILABLE SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE

#define LEASE_MS 3000      /* ha.lease_ms default */
#define ANSWER_MS 3000     /* a request is answered within this, fault or not */
#define CONVERGE_MS 5000   /* memory and Redis agree again within this */
#define HTTP_MS 3000

/* Queues some tests add. nobody-q: no agent has its skill, so its contacts
 * wait, and expire after 2 s. hold-q: the same without a max wait. */
#define TRUTH_QUEUES                                                                               \
	"  - name: nobody-q\n"                                                                     \
	"    channel: email\n"                                                                     \
	"    skills: {rare: 1}\n"                                                                  \
	"    max_wait_ms: 2000\n"                                                                  \
	"  - name: hold-q\n"                                                                       \
	"    channel: email\n"                                                                     \
	"    skills: {rare: 1}\n"

/* ---- what a client was told ------------------------------------------------------ */

/* One frame a client received, reduced to what the assertions need. */
struct seen {
	int body;
	uint64_t ref;
	int code; /* Error: its code; StateChanged: the state */
	bool redelivered;
	char contact[96];
	char offer[96];
	char agent[64];
};

#define TAP_MAX 2048

/* Everything one client received since the tap was put on it (Pongs left
 * out), and whether the daemon closed it. Reading through a tap only, a
 * test sees every frame, including ones no helper waited for. */
struct tap {
	struct sbc *c;
	const char *name;
	bool closed;
	int64_t closed_ms; /* harness_now_ms() when the close was seen */
	size_t n;
	struct seen v[TAP_MAX];
};

/* Static, so a failed test leaks nothing; reset at the start of each test. */
static struct tap tap_pool[6];
static size_t tap_used;

static struct tap *tap_on(struct sbc *c, const char *name)
{
	assert_true(tap_used < sizeof tap_pool / sizeof tap_pool[0]);
	struct tap *t = &tap_pool[tap_used++];
	memset(t, 0, sizeof *t);
	t->c = c;
	t->name = name;
	return t;
}

static void taps_reset(void)
{
	tap_used = 0;
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void tap_record(struct tap *t, const Envelope *env)
{
	if (t->n == TAP_MAX)
		fail_msg("%s: more than %d frames received", t->name, TAP_MAX);
	struct seen *s = &t->v[t->n++];
	memset(s, 0, sizeof *s);
	s->body = env->body_case;
	s->ref = env->ref;
	s->redelivered = env->redelivered;
	switch (env->body_case) {
	case SB_BODY(ERROR):
		s->code = env->error->code;
		break;
	case SB_BODY(STATE_CHANGED):
		s->code = env->state_changed->state;
		break;
	case SB_BODY(OFFER):
		copy(s->contact, sizeof s->contact,
		     env->offer->contact ? env->offer->contact->contact_id : "");
		copy(s->offer, sizeof s->offer, env->offer->offer_id);
		break;
	case SB_BODY(ASSIGNMENT_CONFIRMED):
		copy(s->contact, sizeof s->contact, env->assignment_confirmed->contact_id);
		break;
	case SB_BODY(CONTACT_ACCEPTED):
		copy(s->contact, sizeof s->contact, env->contact_accepted->contact_id);
		break;
	case SB_BODY(CONTACT_ASSIGNED):
		copy(s->contact, sizeof s->contact, env->contact_assigned->contact_id);
		copy(s->agent, sizeof s->agent, env->contact_assigned->agent_id);
		break;
	case SB_BODY(CONTACT_CANCELLED):
		copy(s->contact, sizeof s->contact, env->contact_cancelled->contact_id);
		break;
	case SB_BODY(CONTACT_COMPLETED):
		copy(s->contact, sizeof s->contact, env->contact_completed->contact_id);
		break;
	case SB_BODY(CONTACT_EVENT):
		copy(s->contact, sizeof s->contact, env->contact_event->contact_id);
		break;
	default:
		break;
	}
}

/* Records whatever has arrived, without waiting. */
static void tap_pump(struct tap *t)
{
	Envelope *env = NULL;
	int rc;

	while (!t->closed && (rc = sbc_recv(t->c, 0, &env)) != 0) {
		if (rc < 0) {
			t->closed = true;
			t->closed_ms = harness_now_ms();
			break;
		}
		if (env->body_case != SB_BODY(PONG))
			tap_record(t, env);
		envelope_free(env);
	}
}

static const char *body_name(int body)
{
	return envelope_body_name((Switchboard__V1__Envelope__BodyCase)body);
}

/* "Error STORE_UNAVAILABLE", "AssignmentConfirmed c-1", ... */
static const char *seen_describe(struct harness *h, const struct seen *s)
{
	if (s->body == SB_BODY(ERROR))
		return harness_printf(h, "Error %s (ref %llu)", sbc_error_code_name(s->code),
				      (unsigned long long)s->ref);
	return harness_printf(h, "%s %s%s(ref %llu%s)", body_name(s->body), s->contact,
			      s->contact[0] ? " " : "", (unsigned long long)s->ref,
			      s->redelivered ? ", redelivered" : "");
}

/* Every frame t received, one per line, for failure messages. */
static const char *tap_dump(struct harness *h, const struct tap *t)
{
	const char *all = harness_printf(h, "%s received:", t->name);

	for (size_t i = 0; i < t->n; i++)
		all = harness_printf(h, "%s\n    %s", all, seen_describe(h, &t->v[i]));
	return harness_printf(h, "%s%s", all, t->closed ? "\n    (closed by the daemon)" : "");
}

/* The frame answering seq, or NULL. */
static const struct seen *tap_ref(const struct tap *t, uint64_t seq)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].ref == seq)
			return &t->v[i];
	return NULL;
}

/* The first frame with body about contact (any contact when NULL), or NULL. */
static const struct seen *tap_find(const struct tap *t, int body, const char *contact)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].body == body && (contact == NULL || strcmp(t->v[i].contact, contact) == 0))
			return &t->v[i];
	return NULL;
}

/* An Error NOT_LEADER, answering anything or pushed. */
static const struct seen *tap_not_leader(const struct tap *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].body == SB_BODY(ERROR) && t->v[i].code == SB_ERR_CODE(NOT_LEADER))
			return &t->v[i];
	return NULL;
}

/* Records for ms, keeping the harness's clients alive. */
static void tap_watch(struct harness *h, struct tap *const *taps, size_t n, int ms)
{
	int64_t end = harness_now_ms() + ms;

	for (;;) {
		for (size_t i = 0; i < n; i++)
			tap_pump(taps[i]);
		if (harness_now_ms() >= end)
			return;
		harness_sleep(h, 20);
	}
}

/* Waits up to ms for the reply to seq; NULL on timeout or close. */
static const struct seen *tap_wait_ref(struct harness *h, struct tap *t, uint64_t seq, int ms)
{
	int64_t end = harness_now_ms() + ms;

	assert_true(seq != 0);
	for (;;) {
		tap_pump(t);
		const struct seen *s = tap_ref(t, seq);
		if (s != NULL)
			return s;
		if (t->closed || harness_now_ms() >= end)
			return NULL;
		harness_sleep(h, 20);
	}
}

/* Waits up to ms for a frame with body about contact; NULL on timeout or close. */
static const struct seen *tap_wait_body(struct harness *h, struct tap *t, int body,
					const char *contact, int ms)
{
	int64_t end = harness_now_ms() + ms;

	for (;;) {
		tap_pump(t);
		const struct seen *s = tap_find(t, body, contact);
		if (s != NULL)
			return s;
		if (t->closed || harness_now_ms() >= end)
			return NULL;
		harness_sleep(h, 20);
	}
}

/* The reply to seq must be an Error STORE_UNAVAILABLE (or, with
 * not_leader_ok, NOT_LEADER: also a NOT_LEADER pushed before the daemon
 * closed the connection) within ANSWER_MS; a confirmation, an Ack or any
 * other answer fails the test. */
static void expect_refused(struct harness *h, struct tap *t, uint64_t seq, const char *what,
			   bool not_leader_ok)
{
	const struct seen *s = tap_wait_ref(h, t, seq, ANSWER_MS);

	if (s == NULL && t->closed && not_leader_ok && tap_not_leader(t) != NULL)
		return;
	if (s == NULL)
		fail_msg("%s was not answered within %d ms%s; %s", what, ANSWER_MS,
			 t->closed ? " (the connection closed)" : "", tap_dump(h, t));
	if (s->body == SB_BODY(ERROR) &&
	    (s->code == SB_ERR_CODE(STORE_UNAVAILABLE) ||
	     (not_leader_ok && s->code == SB_ERR_CODE(NOT_LEADER))))
		return;
	fail_msg("%s was answered %s; expected Error STORE_UNAVAILABLE%s: the daemon may answer "
		 "only what Redis holds. %s",
		 what, seen_describe(h, s), not_leader_ok ? " or NOT_LEADER" : "", tap_dump(h, t));
}

/* t never received an AssignmentConfirmed for contact. */
static void expect_never_confirmed(struct harness *h, struct tap *t, const char *contact)
{
	tap_pump(t);
	const struct seen *s = tap_find(t, SB_BODY(ASSIGNMENT_CONFIRMED), contact);
	if (s != NULL)
		fail_msg("%s was told AssignmentConfirmed for %s, which Redis does not record as "
			 "assigned to it. %s",
			 t->name, contact, tap_dump(h, t));
}

/* ---- what Redis holds -------------------------------------------------------------- */

/* One entry of the events stream. */
struct event {
	char event[32];
	char contact[96];
	char agent[64];
	char event_id[128];
	char reason[64];
	char offer_id[96];
};

/* The whole events stream (XRANGE - +); *n entries, valid until the next
 * call (one buffer, grown as needed, kept for the process). */
static struct event *events(struct harness *h, size_t *n)
{
	static struct event *buf;
	static size_t cap;
	redisReply *r = harness_redis_command(h, "XRANGE %s - +", harness_key(h, "events"));

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	if (r->elements + 1 > cap) {
		cap = r->elements + 1024;
		free(buf);
		buf = calloc(cap, sizeof *buf);
		assert_non_null(buf);
	}
	struct event *v = buf;
	memset(v, 0, (r->elements + 1) * sizeof *v);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		for (size_t k = 0; k + 1 < kv->elements; k += 2) {
			const char *f = kv->element[k]->str, *val = kv->element[k + 1]->str;
			if (strcmp(f, "event") == 0)
				copy(v[i].event, sizeof v[i].event, val);
			else if (strcmp(f, "contact") == 0)
				copy(v[i].contact, sizeof v[i].contact, val);
			else if (strcmp(f, "agent") == 0)
				copy(v[i].agent, sizeof v[i].agent, val);
			else if (strcmp(f, "event_id") == 0)
				copy(v[i].event_id, sizeof v[i].event_id, val);
			else if (strcmp(f, "reason") == 0)
				copy(v[i].reason, sizeof v[i].reason, val);
			else if (strcmp(f, "offer_id") == 0)
				copy(v[i].offer_id, sizeof v[i].offer_id, val);
		}
	}
	*n = r->elements;
	return v;
}

/* The contact's events of one kind, as "event agent reason" lines. */
static const char *events_of(struct harness *h, const char *contact)
{
	size_t n;
	struct event *v = events(h, &n);
	const char *all = "";

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].contact, contact) == 0)
			all = harness_printf(h, "%s\n    %s %s agent=%s reason=%s offer=%s", all,
					     v[i].event_id, v[i].event, v[i].agent, v[i].reason,
					     v[i].offer_id);
	return all[0] ? all : " (none)";
}

/* How many events of kind the contact has (by agent, unless NULL). */
static size_t count_events(struct harness *h, const char *contact, const char *kind,
			   const char *agent, const char *reason)
{
	size_t n, k = 0;
	struct event *v = events(h, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].contact, contact) == 0 && strcmp(v[i].event, kind) == 0 &&
		    (agent == NULL || strcmp(v[i].agent, agent) == 0) &&
		    (reason == NULL || strcmp(v[i].reason, reason) == 0))
			k++;
	return k;
}

/* How many events of kind the contact has about one offer (with reason,
 * unless NULL). */
static size_t count_offer_events(struct harness *h, const char *contact, const char *kind,
				 const char *offer, const char *reason)
{
	size_t n, k = 0;
	struct event *v = events(h, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].contact, contact) == 0 && strcmp(v[i].event, kind) == 0 &&
		    strcmp(v[i].offer_id, offer) == 0 &&
		    (reason == NULL || strcmp(v[i].reason, reason) == 0))
			k++;
	return k;
}

/* Exactly one `assigned` event for contact, and it names agent. */
static void expect_one_assignment(struct harness *h, const char *contact, const char *agent)
{
	size_t all = count_events(h, contact, "assigned", NULL, NULL);
	size_t mine = count_events(h, contact, "assigned", agent, NULL);

	if (all != 1 || mine != 1)
		fail_msg("contact %s: expected exactly one `assigned` event, to %s; the stream "
			 "has %zu (%zu to %s):%s",
			 contact, agent, all, mine, agent, events_of(h, contact));
}

static const char *contact_key(struct harness *h, const char *id)
{
	return harness_key(h, "contact:%s", id);
}

/* A field of the contact's hash ("" when missing). */
static const char *cfield(struct harness *h, const char *id, const char *field)
{
	const char *v = harness_hget(h, contact_key(h, id), field);
	return v != NULL ? v : "";
}

static bool in_open_set(struct harness *h, const char *id)
{
	return harness_redis_int(h, "SISMEMBER %s %s", harness_key(h, "open"), id) == 1;
}

/* ---- the daemon's memory against Redis ---------------------------------------------- */

/* An open contact as one side sees it. */
struct open_contact {
	char id[96];
	char state[16];
	char agent[64];
};

struct view {
	size_t n;
	struct open_contact v[256];
};

static int open_cmp(const void *a, const void *b)
{
	return strcmp(((const struct open_contact *)a)->id, ((const struct open_contact *)b)->id);
}

/* What the daemon holds open: GET /v1/contacts. */
static void daemon_view(struct harness *h, struct view *out)
{
	struct resp r = http_at(harness_admin_addr(h), "GET", "/v1/contacts", NULL, NULL, HTTP_MS);
	const struct jv *list = r.json ? jv_get(r.json, "contacts") : NULL;

	if (r.status != 200 || list == NULL || list->type != JV_ARRAY)
		fail_msg("GET /v1/contacts: HTTP %d %s", r.status, r.body ? r.body : "");
	out->n = 0;
	for (size_t i = 0; i < list->n && out->n < 256; i++) {
		const struct jv *c = &list->items[i];
		const struct jv *id = jv_get(c, "id"), *st = jv_get(c, "state"),
				*ag = jv_get(c, "agent");
		struct open_contact *o = &out->v[out->n++];
		copy(o->id, sizeof o->id, id && id->type == JV_STRING ? id->str : "?");
		copy(o->state, sizeof o->state, st && st->type == JV_STRING ? st->str : "?");
		copy(o->agent, sizeof o->agent, ag && ag->type == JV_STRING ? ag->str : "");
	}
	qsort(out->v, out->n, sizeof out->v[0], open_cmp);
	resp_free(&r);
}

/* What Redis holds open: the open set, each member's state and agent. */
static void redis_view(struct harness *h, struct view *out)
{
	redisReply *r = harness_redis_command(h, "SMEMBERS %s", harness_key(h, "open"));

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	out->n = 0;
	for (size_t i = 0; i < r->elements && out->n < 256; i++) {
		struct open_contact *o = &out->v[out->n++];
		copy(o->id, sizeof o->id, r->element[i]->str);
		copy(o->state, sizeof o->state, cfield(h, o->id, "state"));
		copy(o->agent, sizeof o->agent, cfield(h, o->id, "agent"));
	}
	qsort(out->v, out->n, sizeof out->v[0], open_cmp);
}

static const char *view_text(struct harness *h, const struct view *v)
{
	const char *all = "";

	for (size_t i = 0; i < v->n; i++)
		all = harness_printf(h, "%s\n    %s %s%s%s", all, v->v[i].id, v->v[i].state,
				     v->v[i].agent[0] ? " " : "", v->v[i].agent);
	return all[0] ? all : " (none)";
}

static bool views_equal(const struct view *a, const struct view *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].id, b->v[i].id) != 0 || strcmp(a->v[i].state, b->v[i].state) != 0 ||
		    strcmp(a->v[i].agent, b->v[i].agent) != 0)
			return false;
	return true;
}

/* Within ms the daemon's open contacts equal Redis's open set, with the
 * same state and agent for each. */
static void expect_views_converge(struct harness *h, int ms, const char *when)
{
	static struct view mem, red;
	int64_t end = harness_now_ms() + ms;

	for (;;) {
		daemon_view(h, &mem);
		redis_view(h, &red);
		if (views_equal(&mem, &red))
			return;
		if (harness_now_ms() >= end)
			fail_msg("%s: the daemon's memory and Redis still differ after %d ms\n"
				 "  daemon (GET /v1/contacts):%s\n  redis (sb:{test}:open):%s",
				 when, ms, view_text(h, &mem), view_text(h, &red));
		harness_sleep(h, 100);
	}
}

/* The state of id in the daemon's memory ("" when it holds none). */
static const char *daemon_state(struct harness *h, const char *id, const char **agent)
{
	static struct view mem;

	daemon_view(h, &mem);
	for (size_t i = 0; i < mem.n; i++)
		if (strcmp(mem.v[i].id, id) == 0) {
			if (agent != NULL)
				*agent = harness_printf(h, "%s", mem.v[i].agent);
			return harness_printf(h, "%s", mem.v[i].state);
		}
	if (agent != NULL)
		*agent = "";
	return "";
}

/* ---- small helpers ---------------------------------------------------------------- */

static int http_status(struct harness *h, const char *path)
{
	struct resp r = http_at(harness_admin_addr(h), "GET", path, NULL, NULL, HTTP_MS);
	int st = r.status;

	resp_free(&r);
	return st;
}

/* Waits up to ms for GET path to answer status; the last status seen. */
static int http_status_wait(struct harness *h, const char *path, int status, int ms)
{
	int64_t end = harness_now_ms() + ms;
	int st;

	while ((st = http_status(h, path)) != status && harness_now_ms() < end)
		harness_sleep(h, 100);
	return st;
}

/* The sum of a metric's samples in /metrics; -1 when it is absent. */
static double metric(struct harness *h, const char *name)
{
	struct resp r = http_at(harness_admin_addr(h), "GET", "/metrics", NULL, NULL, HTTP_MS);
	double sum = -1;
	size_t len = strlen(name);

	for (const char *p = r.body; p != NULL && *p != '\0';) {
		const char *eol = strchr(p, '\n');
		if (strncmp(p, name, len) == 0 && (p[len] == ' ' || p[len] == '{')) {
			/* the value: after the line's last space */
			const char *end = eol != NULL ? eol : p + strlen(p), *v = end;
			while (v > p && v[-1] != ' ')
				v--;
			if (v > p)
				sum = (sum < 0 ? 0 : sum) + strtod(v, NULL);
		}
		p = eol ? eol + 1 : NULL;
	}
	resp_free(&r);
	return sum;
}

/* A SubmitContact; its seq. */
static uint64_t submit(struct sbc *gw, const char *ext, Switchboard__V1__Channel ch, const char *q)
{
	struct sbc_submit s = {.external_id = ext, .channel = ch, .queue = q};

	return sbc_submit(gw, &s);
}

/* Logs in on addr (another daemon, or the harness's while it may refuse);
 * the client, adopted and kept alive, or NULL when refused or closed. */
static struct sbc *try_login(struct harness *h, const char *addr, bool gateway, const char *id)
{
	char err[128];
	struct sbc *c = sbc_connect(addr, 1000, err, sizeof err);

	if (c == NULL)
		return NULL;
	harness_adopt(h, c, false);
	int rc = sbc_hello(c,
			   gateway ? SWITCHBOARD__V1__ROLE__ROLE_GATEWAY
				   : SWITCHBOARD__V1__ROLE__ROLE_AGENT,
			   id, gateway ? harness_gateway_secret(h, id) : harness_token(h, id, 600),
			   HARNESS_REPLY_MS, NULL);
	if (rc != 0) {
		harness_close(h, c);
		return NULL;
	}
	harness_keepalive(h, c, true);
	return c;
}

/* An agent on another daemon's agent port: logged in, StateChanged read,
 * available. */
static struct sbc *agent_at(struct harness *h, const char *addr, const char *id)
{
	struct sbc *a = try_login(h, addr, false, id);

	if (a == NULL)
		fail_msg("agent %s could not log in at %s", id, addr);
	harness_expect(h, a, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	harness_reply(h, a, sbc_set_state(a, AVAILABLE, ""), SB_BODY(STATE_CHANGED),
		      HARNESS_REPLY_MS);
	return a;
}

/* Field of an INFO section ("used_memory"), as a number; -1 if absent. */
static long long redis_info(struct harness *h, const char *section, const char *field)
{
	redisReply *r = harness_redis_command(h, "INFO %s", section);
	const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, field) : NULL;

	while (p != NULL && ((p != r->str && p[-1] != '\n') || p[strlen(field)] != ':'))
		p = strstr(p + 1, field);
	return p != NULL ? strtoll(p + strlen(field) + 1, NULL, 10) : -1;
}

/* A probe write from the test's own connection: the error Redis answers,
 * or "" when it took the write. */
static const char *probe_write(struct harness *h)
{
	redisReply *r = harness_redis_command(h, "SET truth:probe 1");

	return r->type == REDIS_REPLY_ERROR ? harness_printf(h, "%s", r->str) : "";
}

/* ---- D1: a retried request is not answered from memory ---------------------------------- */

/* D1a. agent alice has an offer; Redis hangs (SIGSTOP); she accepts, and
 * accepts again 0.2 s later. Neither may be confirmed: Redis has no
 * `assigned`. Both daemon and Redis then die and come back; bob is
 * offered the same contact and gets it. One assignment in Redis, to bob,
 * and alice was never told it was hers. */
HARNESS_TEST(test_retried_accept_while_redis_hangs_is_not_confirmed)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, 3000);
	assert_string_equal(harness_hget_wait(h, contact_key(h, id), "state", "offered", 2000),
			    "offered");
	struct tap *ta = tap_on(alice, "alice");

	harness_redis_signal(h, SIGSTOP);
	uint64_t first = sbc_accept(alice, offer);
	harness_sleep(h, 200);
	uint64_t retry = sbc_accept(alice, offer);
	expect_refused(h, ta, first, "AcceptOffer while Redis hangs", false);
	expect_refused(h, ta, retry, "the retried AcceptOffer while Redis hangs", false);
	expect_never_confirmed(h, ta, id);

	harness_daemon_signal(h, SIGKILL);
	harness_redis_signal(h, SIGKILL);
	harness_redis_start(h);
	harness_daemon_restart(h);

	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	harness_accept(h, bob, harness_offer_for(h, bob, id, 5000), id);
	expect_never_confirmed(h, ta, id);
	expect_one_assignment(h, id, "bob");
	assert_string_equal(cfield(h, id, "agent"), "bob");
}

/* D1b. The leader reaches Redis through a proxy that freezes; a standby
 * reaches Redis directly. alice (on the leader) accepts twice: neither is
 * confirmed. The standby takes the lease and bob gets the contact there.
 * Thawed, the old leader stands down and never confirms to alice. */
static int setup_proxied_leader(void **state)
{
	struct harness_opts opts = {.redis_proxy = true};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_retried_accept_on_a_leader_cut_off_from_redis_is_not_confirmed)
{
	taps_reset();
	struct harness_standby sb = harness_start_standby(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, 3000);
	assert_string_equal(harness_hget_wait(h, contact_key(h, id), "state", "offered", 2000),
			    "offered");
	struct tap *ta = tap_on(alice, "alice");

	harness_proxy_signal(h, SIGSTOP);
	int64_t frozen = harness_now_ms();
	uint64_t first = sbc_accept(alice, offer);
	harness_sleep(h, 200);
	uint64_t retry = sbc_accept(alice, offer);
	expect_refused(h, ta, first, "AcceptOffer on a leader cut off from Redis", true);
	expect_refused(h, ta, retry, "the retried AcceptOffer on a leader cut off from Redis", true);
	expect_never_confirmed(h, ta, id);

	/* The standby takes the lease once the leader's lapses. */
	int64_t left = frozen + LEASE_MS + 2000 - harness_now_ms();
	if (!harness_file_wait(h, "standby.log", "leader: serving", left > 0 ? (int)left : 0))
		fail_msg("the standby did not serve within %d ms of the freeze", LEASE_MS + 2000);
	struct sbc *bob = agent_at(h, sb.agent, "bob");
	harness_accept(h, bob, harness_offer_for(h, bob, id, 5000), id);

	/* Thawed: the old leader stands down (if it had not already). */
	harness_proxy_signal(h, SIGCONT);
	int64_t end = harness_now_ms() + 8000;
	while (!ta->closed && tap_not_leader(ta) == NULL && harness_now_ms() < end)
		tap_watch(h, &ta, 1, 100);
	if (!ta->closed && tap_not_leader(ta) == NULL)
		fail_msg("8 s after the proxy thawed, the old leader still serves alice (no "
			 "NOT_LEADER, not closed). %s",
			 tap_dump(h, ta));
	tap_watch(h, &ta, 1, 500);
	expect_never_confirmed(h, ta, id);
	expect_one_assignment(h, id, "bob");
	assert_string_equal(cfield(h, id, "state"), "assigned");
	assert_string_equal(cfield(h, id, "agent"), "bob");
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

/* Sends a request (send(c, contact)) until it is answered other than
 * STORE_UNAVAILABLE (the daemon may still be reconnecting when Redis
 * already has the write), for ANSWER_MS at most; the last answer. */
static const struct seen *until_not_unavailable(struct harness *h, struct tap *t,
						uint64_t (*send)(struct sbc *, const char *),
						const char *contact)
{
	int64_t end = harness_now_ms() + ANSWER_MS;
	const struct seen *s;

	for (;;) {
		s = tap_wait_ref(h, t, send(t->c, contact), ANSWER_MS);
		if (s == NULL || s->body != SB_BODY(ERROR) ||
		    s->code != SB_ERR_CODE(STORE_UNAVAILABLE) || harness_now_ms() >= end)
			return s;
		harness_sleep(h, 100);
	}
}

static uint64_t complete_again(struct sbc *c, const char *contact)
{
	return sbc_complete(c, contact, "resolved");
}

static uint64_t cancel_again(struct sbc *c, const char *contact)
{
	return sbc_cancel(c, contact, "caller hung up");
}

/* D1c (i). A retried CompleteContact is not answered Ack before Redis has
 * the `completed` write; the write is replayed once Redis is back, and a
 * later retry is then answered Ack. */
HARNESS_TEST(test_retried_complete_while_redis_hangs_is_not_acked)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	struct tap *ta = tap_on(alice, "alice");

	harness_redis_signal(h, SIGSTOP);
	uint64_t first = sbc_complete(alice, id, "resolved");
	harness_sleep(h, 200);
	uint64_t retry = sbc_complete(alice, id, "resolved");
	expect_refused(h, ta, first, "CompleteContact while Redis hangs", false);
	expect_refused(h, ta, retry, "the retried CompleteContact while Redis hangs", false);

	harness_redis_signal(h, SIGCONT);
	const char *st = harness_hget_wait(h, contact_key(h, id), "state", "completed", 3000);
	if (st == NULL || strcmp(st, "completed") != 0)
		fail_msg("3 s after Redis thawed, contact %s is %s in Redis, not completed: the "
			 "refused completion was not replayed; events:%s",
			 id, st ? st : "(missing)", events_of(h, id));
	const struct seen *s = until_not_unavailable(h, ta, complete_again, id);
	if (s == NULL || s->body != SB_BODY(ACK))
		fail_msg("a CompleteContact retried once Redis has the completion was answered "
			 "%s, not Ack. %s",
			 s ? seen_describe(h, s) : "(nothing)", tap_dump(h, ta));
	assert_false(in_open_set(h, id));
}

/* D1c (ii). The same for a gateway's CancelContact of a waiting contact. */
HARNESS_TEST(test_retried_cancel_while_redis_hangs_is_not_confirmed)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *id = harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");
	struct tap *tg = tap_on(gw, "gw1");

	assert_string_equal(cfield(h, id, "state"), "waiting");
	harness_redis_signal(h, SIGSTOP);
	uint64_t first = sbc_cancel(gw, id, "caller hung up");
	harness_sleep(h, 200);
	uint64_t retry = sbc_cancel(gw, id, "caller hung up");
	expect_refused(h, tg, first, "CancelContact while Redis hangs", false);
	expect_refused(h, tg, retry, "the retried CancelContact while Redis hangs", false);
	tap_pump(tg);
	const struct seen *told = tap_find(tg, SB_BODY(CONTACT_CANCELLED), id);
	if (told != NULL)
		fail_msg("gw1 was told ContactCancelled for %s while Redis hangs. %s", id,
			 tap_dump(h, tg));

	harness_redis_signal(h, SIGCONT);
	const char *st = harness_hget_wait(h, contact_key(h, id), "state", "cancelled", 3000);
	if (st == NULL || strcmp(st, "cancelled") != 0)
		fail_msg("3 s after Redis thawed, contact %s is %s in Redis, not cancelled; "
			 "events:%s",
			 id, st ? st : "(missing)", events_of(h, id));
	const struct seen *s = until_not_unavailable(h, tg, cancel_again, id);
	if (s == NULL || s->body != SB_BODY(CONTACT_CANCELLED))
		fail_msg("a CancelContact retried once Redis has the cancellation was answered "
			 "%s, not ContactCancelled. %s",
			 s ? seen_describe(h, s) : "(nothing)", tap_dump(h, tg));
	assert_false(in_open_set(h, id));
}

/* D1c (iii). alice accepts while Redis hangs, drops her connection and logs
 * in again within her grace period: what the daemon re-sends after Welcome
 * does not include an assignment Redis does not have. Once Redis is back
 * and has it, she is told. */
HARNESS_TEST(test_relogin_redelivers_only_what_redis_holds)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, 3000);
	assert_string_equal(harness_hget_wait(h, contact_key(h, id), "state", "offered", 2000),
			    "offered");

	harness_redis_signal(h, SIGSTOP);
	assert_true(sbc_accept(alice, offer) != 0);
	harness_sleep(h, 300);
	harness_close(h, alice);
	struct sbc *again = harness_agent_back(h, "alice", AVAILABLE);
	struct tap *ta = tap_on(again, "alice (new session)");
	tap_watch(h, &ta, 1, 1500);
	expect_never_confirmed(h, ta, id);

	harness_redis_signal(h, SIGCONT);
	const struct seen *s = tap_wait_body(h, ta, SB_BODY(ASSIGNMENT_CONFIRMED), id, 5000);
	if (s == NULL)
		fail_msg("5 s after Redis thawed, alice's new session was not told "
			 "AssignmentConfirmed for %s (Redis: state %s, agent %s). %s",
			 id, cfield(h, id, "state"), cfield(h, id, "agent"), tap_dump(h, ta));
	assert_string_equal(cfield(h, id, "state"), "assigned");
	assert_string_equal(cfield(h, id, "agent"), "alice");
	expect_one_assignment(h, id, "alice");
}

/* ---- D2: writes Redis refuses ------------------------------------------------------------ */

/* Fills Redis past a maxmemory set just above its use, with noeviction:
 * every write is refused -OOM. */
static void oom_on(struct harness *h)
{
	harness_redis_command(h, "CONFIG SET maxmemory-policy noeviction");
	long long used = redis_info(h, "memory", "used_memory");
	assert_true(used > 0);
	redisReply *r = harness_redis_command(h, "CONFIG SET maxmemory %lld", used + 65536);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	for (int i = 0; i < 8 && strncmp(probe_write(h), "OOM", 3) != 0; i++)
		harness_redis_command(h, "SETRANGE truth:filler %d x", (i + 1) * 262144);
	const char *why = probe_write(h);
	if (strncmp(why, "OOM", 3) != 0)
		fail_msg("could not bring Redis to refuse writes with OOM (probe: %s)",
			 why[0] ? why : "accepted");
}

static void oom_off(struct harness *h)
{
	harness_redis_command(h, "CONFIG SET maxmemory 0");
	harness_redis_command(h, "DEL truth:filler truth:probe");
	assert_string_equal(probe_write(h), "");
}

/* Makes Redis refuse writes with MISCONF: with stop-writes-on-bgsave-error
 * (the default) and a save rule, a BGSAVE that fails (its directory is
 * gone) stops writes until a BGSAVE succeeds. */
static void bgsave_wait(struct harness *h, const char *want)
{
	int64_t end = harness_now_ms() + 10000;
	redisReply *r;

	for (;;) {
		r = harness_redis_command(h, "INFO persistence");
		if (r->type == REDIS_REPLY_STRING && strstr(r->str, "rdb_bgsave_in_progress:0") &&
		    strstr(r->str, want))
			return;
		if (harness_now_ms() >= end)
			fail_msg("BGSAVE did not end with %s within 10 s", want);
		harness_sleep(h, 50);
	}
}

static void misconf_on(struct harness *h)
{
	const char *gone = harness_printf(h, "%s/gone", harness_redis_dir(h));
	redisReply *r;

	assert_int_equal(mkdir(gone, 0755), 0);
	harness_redis_command(h, "CONFIG SET save %s", "3600 1");
	r = harness_redis_command(h, "CONFIG SET dir %s", gone);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("CONFIG SET dir: %s", r->str);
	assert_int_equal(rmdir(gone), 0);
	r = harness_redis_command(h, "BGSAVE");
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	bgsave_wait(h, "rdb_last_bgsave_status:err");
	const char *why = probe_write(h);
	if (strncmp(why, "MISCONF", 7) != 0)
		fail_msg("could not bring Redis to refuse writes with MISCONF (probe: %s)",
			 why[0] ? why : "accepted");
}

static void misconf_off(struct harness *h)
{
	redisReply *r = harness_redis_command(h, "CONFIG SET dir %s", harness_redis_dir(h));

	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	r = harness_redis_command(h, "BGSAVE");
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	bgsave_wait(h, "rdb_last_bgsave_status:ok");
	harness_redis_command(h, "CONFIG SET save %s", "");
	harness_redis_command(h, "DEL truth:probe");
}

static int setup_refusals(void **state)
{
	/* Offers that outlast the fault: the accept is made while it lasts. */
	struct harness_opts opts = {.admin = true, .offer_timeout_ms = 5000};

	*state = harness_start(&opts);
	return 0;
}

/* D2. While Redis refuses writes: a submit, an accept and a completion are
 * answered STORE_UNAVAILABLE (temporary; clients retry), not INTERNAL, and
 * /readyz says 503. Once Redis takes writes again, the daemon's memory and
 * Redis agree (every open contact, its state and agent), the refused
 * assignment is either in both (and alice was told) or in neither (and she
 * was not); alice completes it, and the completion refused earlier did
 * not leave its contact assigned in Redis for good. */
static void refused_writes(struct harness *h, void (*fault_on)(struct harness *),
			   void (*fault_off)(struct harness *), const char *fault)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, bob);
	const char *held = harness_assigned(h, gw, bob, "call-b", VOICE, "voice-q");
	struct sbc *alice = harness_agent(h, "alice");
	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw, "call-a", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id, 3000);
	assert_string_equal(harness_hget_wait(h, contact_key(h, id), "state", "offered", 2000),
			    "offered");
	struct tap *ta = tap_on(alice, "alice"), *tb = tap_on(bob, "bob"), *tg = tap_on(gw, "gw1");

	fault_on(h);
	expect_refused(h, tg, submit(gw, "call-new", VOICE, "voice-q"),
		       harness_printf(h, "SubmitContact while Redis refuses writes (%s)", fault),
		       false);
	expect_refused(h, ta, sbc_accept(alice, offer),
		       harness_printf(h, "AcceptOffer while Redis refuses writes (%s)", fault), false);
	expect_refused(h, tb, sbc_complete(bob, held, "resolved"),
		       harness_printf(h, "CompleteContact while Redis refuses writes (%s)", fault),
		       false);
	int ready = http_status_wait(h, "/readyz", 503, 2000);
	if (ready != 503)
		fail_msg("/readyz answers %d while Redis refuses writes (%s); expected 503", ready,
			 fault);

	fault_off(h);
	/* The daemon finds out by asking again (with backoff): ready within a
	 * few seconds. */
	ready = http_status_wait(h, "/readyz", 200, 5000);
	if (ready != 200)
		fail_msg("/readyz answers %d 5 s after Redis took writes again (%s)", ready, fault);
	expect_views_converge(h, CONVERGE_MS,
			      harness_printf(h, "after Redis took writes again (%s)", fault));
	tap_pump(ta);
	const struct seen *confirmed = tap_find(ta, SB_BODY(ASSIGNMENT_CONFIRMED), id);
	const char *st = cfield(h, id, "state");
	if (strcmp(st, "assigned") == 0) {
		assert_string_equal(cfield(h, id, "agent"), "alice");
		if (confirmed == NULL)
			confirmed = tap_wait_body(h, ta, SB_BODY(ASSIGNMENT_CONFIRMED), id, 2000);
		if (confirmed == NULL)
			fail_msg("Redis has %s assigned to alice but she was never told. %s", id,
				 tap_dump(h, ta));
	} else {
		if (confirmed != NULL)
			fail_msg("alice was told AssignmentConfirmed for %s, which Redis holds as "
				 "%s. %s",
				 id, st, tap_dump(h, ta));
		/* Refused, or undone rather than retried: she takes the offer she
		 * still holds (Redis has it offered to her under it), or the one
		 * she is made again. */
		const char *take = NULL;
		if (strcmp(st, "offered") == 0 && strcmp(cfield(h, id, "agent"), "alice") == 0 &&
		    strcmp(cfield(h, id, "offer_id"), offer) == 0)
			take = offer;
		const struct seen *o = NULL;
		for (size_t i = ta->n; i > 0 && o == NULL && take == NULL; i--)
			if (ta->v[i - 1].body == SB_BODY(OFFER) &&
			    strcmp(ta->v[i - 1].contact, id) == 0)
				o = &ta->v[i - 1];
		if (o == NULL && take == NULL)
			o = tap_wait_body(h, ta, SB_BODY(OFFER), id, 3000);
		if (o == NULL && take == NULL)
			fail_msg("%s is %s in Redis and memory after the fault, and alice is not "
				 "offered it again. %s",
				 id, st, tap_dump(h, ta));
		if (take == NULL)
			take = o->offer;
		const struct seen *ok = tap_wait_ref(h, ta, sbc_accept(alice, take), ANSWER_MS);
		if (ok == NULL || ok->body != SB_BODY(ASSIGNMENT_CONFIRMED))
			fail_msg("alice's AcceptOffer of %s after the fault was answered %s. %s",
				 take, ok ? seen_describe(h, ok) : "(nothing)", tap_dump(h, ta));
	}
	const struct seen *ack = tap_wait_ref(h, ta, sbc_complete(alice, id, "resolved"), ANSWER_MS);
	if (ack == NULL || ack->body != SB_BODY(ACK))
		fail_msg("alice's CompleteContact of %s after the fault was answered %s. %s", id,
			 ack ? seen_describe(h, ack) : "(nothing)", tap_dump(h, ta));
	assert_string_equal(cfield(h, id, "state"), "completed");
	expect_one_assignment(h, id, "alice");

	/* bob's refused completion: still his in both, or completed in both. */
	const char *hst = cfield(h, held, "state");
	const char *mem = daemon_state(h, held, NULL);
	if (strcmp(hst, "assigned") == 0) {
		assert_string_equal(mem, "assigned");
		const struct seen *a2 =
			tap_wait_ref(h, tb, sbc_complete(bob, held, "resolved"), ANSWER_MS);
		if (a2 == NULL || a2->body != SB_BODY(ACK))
			fail_msg("bob's CompleteContact of %s after the fault was answered %s. %s",
				 held, a2 ? seen_describe(h, a2) : "(nothing)", tap_dump(h, tb));
		assert_string_equal(cfield(h, held, "state"), "completed");
	} else {
		assert_string_equal(hst, "completed");
		assert_string_equal(mem, "");
	}
	expect_views_converge(h, CONVERGE_MS, "at the end");
}

HARNESS_TEST(test_writes_refused_with_oom)
{
	refused_writes(h, oom_on, oom_off, "OOM");
}

HARNESS_TEST(test_writes_refused_with_misconf)
{
	refused_writes(h, misconf_on, misconf_off, "MISCONF");
}

/* ---- D3: writes made while Redis is away are replayed ------------------------------------- */

static int setup_queues(void **state)
{
	struct harness_opts opts = {.admin = true, .queues_yaml = TRUTH_QUEUES};

	*state = harness_start(&opts);
	return 0;
}

/* D3. alice lets an offer run out and a contact in nobody-q reaches its
 * max wait, both while Redis is stopped. Once Redis is back it holds what
 * happened: the offer requeued (reason timeout), the contact expired and
 * out of the open set; and a restarted daemon does not bring either back
 * as it was. alice stays connected and does not answer (closing her
 * session would withdraw the offer at once); once it has timed out the
 * reject delay (5 s) keeps the requeued call from her while this looks. */
HARNESS_TEST(test_writes_made_while_redis_is_away_are_replayed)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	Envelope *acc = harness_submit(h, gw, "mail-1", EMAIL, "nobody-q");
	const char *late = acc->contact_accepted->contact_id;
	int64_t late_expires = harness_now_ms() + 2000;
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	Envelope *o = harness_await(h, alice, SB_BODY(OFFER), 3000);
	assert_string_equal(o->offer->contact->contact_id, id);
	const char *offer = o->offer->offer_id;
	int64_t offer_expires = (int64_t)o->offer->expires_ms;
	assert_string_equal(harness_hget_wait(h, contact_key(h, id), "state", "offered", 2000),
			    "offered");

	harness_redis_stop(h);
	int64_t stopped = harness_now_ms();
	if (stopped >= offer_expires || stopped >= late_expires)
		fail_msg("set-up too slow: Redis stopped %lld ms after the offer's expiry",
			 (long long)(stopped - offer_expires));
	int64_t until = (offer_expires > late_expires ? offer_expires : late_expires) + 700;
	harness_sleep(h, (int)(until - harness_now_ms()));
	harness_redis_start(h);

	int64_t end = harness_now_ms() + CONVERGE_MS;
	const char *st, *ag, *lst;
	size_t requeued;
	bool ok;
	do {
		harness_sleep(h, 100);
		st = cfield(h, id, "state");
		ag = cfield(h, id, "agent");
		requeued = count_offer_events(h, id, "requeued", offer, "timeout");
		lst = cfield(h, late, "state");
		ok = !(strcmp(st, "offered") == 0 && strcmp(ag, "alice") == 0) && requeued == 1 &&
		     strcmp(lst, "expired") == 0 && !in_open_set(h, late);
	} while (!ok && harness_now_ms() < end);
	if (!ok)
		fail_msg("%d ms after Redis came back:\n"
			 "  %s (its offer to alice timed out while Redis was down) is %s%s%s "
			 "(offer %s), with %zu `requeued` (timeout) events for offer %s:%s\n"
			 "  %s (its max wait passed while Redis was down) is %s, %s the open set",
			 CONVERGE_MS, id, st, ag[0] ? " to " : "", ag, cfield(h, id, "offer_id"),
			 requeued, offer, events_of(h, id), late, lst,
			 in_open_set(h, late) ? "still in" : "out of");

	harness_close(h, alice);
	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
	expect_views_converge(h, CONVERGE_MS, "after the daemon restarted");
	const char *mem = daemon_state(h, late, NULL);
	if (mem[0] != '\0')
		fail_msg("the restarted daemon holds %s (expired in Redis) as %s", late, mem);
	assert_string_equal(cfield(h, late, "state"), "expired");
	assert_false(in_open_set(h, late));
	assert_false(strcmp(cfield(h, id, "state"), "offered") == 0 &&
		     strcmp(cfield(h, id, "offer_id"), offer) == 0);
	assert_int_equal(count_offer_events(h, id, "requeued", offer, "timeout"), 1);
}

/* ---- D4: replay does not duplicate events ------------------------------------------------- */

/* A small load: gw1 submits a chat every 10 ms; alice, bob and carol, once
 * working, accept every offer and complete it in the same breath (the
 * engine has it assigned as soon as it takes the accept, so neither
 * waits for Redis: a backlog of waiting contacts becomes a stream of
 * offered, assigned and completed writes). Errors are ignored (the fault
 * makes them); frames are read and dropped. */
struct load {
	struct sbc *gw, *agents[3];
	int next_ext;
	int64_t next_submit;
	bool submitting, working;
};

static void load_run(struct harness *h, struct load *l, int ms)
{
	int64_t end = harness_now_ms() + ms;
	Envelope *env = NULL;

	while (harness_now_ms() < end) {
		if (l->submitting && harness_now_ms() >= l->next_submit) {
			char ext[32];
			snprintf(ext, sizeof ext, "load-%d", l->next_ext++);
			submit(l->gw, ext, CHAT, "chat-q");
			l->next_submit = harness_now_ms() + 10;
		}
		while (sbc_recv(l->gw, 0, &env) > 0)
			envelope_free(env);
		for (int i = 0; i < 3; i++) {
			struct sbc *a = l->agents[i];
			while (sbc_recv(a, 0, &env) > 0) {
				if (env->body_case == SB_BODY(OFFER) && l->working) {
					sbc_accept(a, env->offer->offer_id);
					sbc_complete(a, env->offer->contact->contact_id, "done");
				}
				envelope_free(env);
			}
		}
		harness_sleep(h, 2);
	}
}

/* D4. Contacts pile up (the agents are not available yet); the agents go
 * available and work through them, and Redis hangs for 5 s while that
 * stream of writes is in flight: the daemon drops the connection at its
 * command timeout and replays what it had sent, while Redis, thawed, runs
 * what was already in its socket too. Every event_id is in the stream
 * once. */
HARNESS_TEST(test_replay_does_not_duplicate_events)
{
	struct load l = {.gw = harness_gateway(h, "gw1"), .submitting = true};
	const char *names[] = {"alice", "bob", "carol"};

	for (int i = 0; i < 3; i++)
		l.agents[i] = harness_agent(h, names[i]);
	load_run(h, &l, 1500);
	l.working = true;
	for (int i = 0; i < 3; i++)
		sbc_set_state(l.agents[i], AVAILABLE, "");
	load_run(h, &l, 30);
	harness_redis_signal(h, SIGSTOP);
	load_run(h, &l, 5000);
	harness_redis_signal(h, SIGCONT);
	load_run(h, &l, 2500);
	l.submitting = false;
	load_run(h, &l, 3000);

	size_t n, dups = 0, with_id = 0;
	struct event *v = events(h, &n);
	const char *which = "";
	for (size_t i = 0; i < n; i++) {
		if (v[i].event_id[0] == '\0')
			continue;
		with_id++;
		size_t seen = 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j].event_id, v[i].event_id) == 0)
				seen++;
		if (seen == 1) { /* count each duplicated id once */
			if (++dups <= 10)
				which = harness_printf(h, "%s %s(%s)", which, v[i].event_id,
						       v[i].event);
		}
	}
	print_message("%d submits, %zu events (%zu with an event_id), %zu duplicated event_ids\n",
		      l.next_ext, n, with_id, dups);
	assert_true(with_id > 100);
	if (dups != 0)
		fail_msg("%zu event_ids appear more than once in the events stream:%s%s", dups,
			 which, dups > 10 ? " ..." : "");
}

/* ---- D5: Redis losing data ------------------------------------------------------------------ */

/* The contact's hash is whole: payload, channel, queue, state (and agent). */
static const char *hash_problem(struct harness *h, const char *id, const char *channel,
				const char *queue, const char *state, const char *agent)
{
	const char *payload = harness_hget(h, contact_key(h, id), "payload");

	if (harness_redis_int(h, "EXISTS %s", contact_key(h, id)) != 1)
		return harness_printf(h, "%s: no hash", id);
	if (payload == NULL || payload[0] == '\0')
		return harness_printf(h, "%s: no payload", id);
	if (strcmp(cfield(h, id, "channel"), channel) != 0 ||
	    strcmp(cfield(h, id, "queue"), queue) != 0 || strcmp(cfield(h, id, "state"), state) != 0 ||
	    strcmp(cfield(h, id, "agent"), agent) != 0)
		return harness_printf(h, "%s: channel '%s' queue '%s' state '%s' agent '%s', "
					 "expected %s %s %s '%s'",
				      id, cfield(h, id, "channel"), cfield(h, id, "queue"),
				      cfield(h, id, "state"), cfield(h, id, "agent"), channel, queue,
				      state, agent);
	if (!in_open_set(h, id))
		return harness_printf(h, "%s: not in the open set", id);
	return NULL;
}

/* Fails if any tap was closed or told NOT_LEADER. */
static void expect_still_served(struct harness *h, struct tap *const *taps, size_t n,
				int64_t since, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const struct seen *nl = tap_not_leader(taps[i]);
		if (taps[i]->closed || nl != NULL)
			fail_msg("%s was %s %lld ms after %s. %s", taps[i]->name,
				 nl ? "told NOT_LEADER" : "disconnected",
				 (long long)((taps[i]->closed ? taps[i]->closed_ms : harness_now_ms()) -
					     since),
				 what, tap_dump(h, taps[i]));
	}
}

/* D5a. FLUSHALL under a running leader with open contacts (two assigned,
 * two waiting) and connected clients: within 5 s the daemon has written its
 * live state back (whole hashes, the open set), its clients are neither
 * dropped nor sent away for 10 s, it is ready, it counts the loss, and it
 * takes and routes new work. */
HARNESS_TEST(test_flushall_is_rewritten_without_flapping)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	/* bob holds a chat and takes a break; alice holds a chat (voice is
	 * exclusive: neither is offered the waiting calls, and a new chat can
	 * only go to alice). */
	harness_available(h, bob);
	const char *b1 = harness_assigned(h, gw, bob, "chat-b", CHAT, "chat-q");
	harness_reply(h, bob,
		      sbc_set_state(bob, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, "lunch"),
		      SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	harness_available(h, alice);
	const char *a1 = harness_assigned(h, gw, alice, "chat-a", CHAT, "chat-q");
	const char *w1 = harness_submit_id(h, gw, "call-w1", VOICE, "voice-q");
	const char *w2 = harness_submit_id(h, gw, "call-w2", VOICE, "voice-q");
	struct tap *taps[] = {tap_on(gw, "gw1"), tap_on(alice, "alice"), tap_on(bob, "bob")};

	harness_redis_command(h, "FLUSHALL");
	int64_t t0 = harness_now_ms(), restored = -1;
	const char *problem = NULL;
	while (harness_now_ms() < t0 + 10000) {
		tap_watch(h, taps, 3, 100);
		expect_still_served(h, taps, 3, t0, "FLUSHALL");
		if (restored < 0) {
			problem = hash_problem(h, a1, "chat", "chat-q", "assigned", "alice");
			if (problem == NULL)
				problem = hash_problem(h, b1, "chat", "chat-q", "assigned", "bob");
			if (problem == NULL)
				problem = hash_problem(h, w1, "voice", "voice-q", "waiting", "");
			if (problem == NULL)
				problem = hash_problem(h, w2, "voice", "voice-q", "waiting", "");
			if (problem == NULL)
				restored = harness_now_ms();
		}
	}
	if (restored < 0 || restored - t0 > 5000)
		fail_msg("Redis did not hold the daemon's open contacts again within 5 s of "
			 "FLUSHALL (%s)",
			 problem ? problem : "restored later");
	assert_int_equal(http_status(h, "/readyz"), 200);
	double lost = metric(h, "switchboard_redis_data_loss_total");
	if (lost < 1)
		fail_msg("/metrics: switchboard_redis_data_loss_total is %s after FLUSHALL",
			 lost < 0 ? "absent" : "0");
	/* New work is taken and routed. */
	uint64_t seq = submit(gw, "chat-new", CHAT, "chat-q");
	const struct seen *acc = tap_wait_ref(h, taps[0], seq, ANSWER_MS);
	if (acc == NULL || acc->body != SB_BODY(CONTACT_ACCEPTED))
		fail_msg("a submit after FLUSHALL was answered %s. %s",
			 acc ? seen_describe(h, acc) : "(nothing)", tap_dump(h, taps[0]));
	const char *c = acc->contact;
	const struct seen *o = tap_wait_body(h, taps[1], SB_BODY(OFFER), c, 3000);
	if (o == NULL)
		fail_msg("a contact submitted after FLUSHALL was not offered to alice. %s",
			 tap_dump(h, taps[1]));
	const struct seen *ok = tap_wait_ref(h, taps[1], sbc_accept(alice, o->offer), ANSWER_MS);
	assert_non_null(ok);
	assert_int_equal(ok->body, SB_BODY(ASSIGNMENT_CONFIRMED));
	expect_one_assignment(h, c, "alice");
}

/* The number of "took the lease" lines in switchboard.log from byte from. */
static int leases_taken(struct harness *h, long from)
{
	int n = 0;

	for (long at = from; (at = harness_log_find(h, "took the lease", at)) >= 0; at++)
		n++;
	return n;
}

/* D5b. Leader A frozen past its lease; standby B takes over and is then
 * stopped cleanly (it releases the lease); A thaws. Within 6 s A serves,
 * and then keeps serving for 10 s: its clients stay, and it takes the
 * lease once, not over and over. */
HARNESS_TEST(test_thawed_leader_after_a_clean_standby_stop_does_not_flap)
{
	taps_reset();
	struct harness_standby sb = harness_start_standby(h);

	harness_daemon_signal(h, SIGSTOP);
	if (!harness_file_wait(h, "standby.log", "leader: serving", LEASE_MS + 3000))
		fail_msg("the standby did not take over within %d ms", LEASE_MS + 3000);
	assert_int_equal(harness_kill(h, sb.pid), 0); /* SIGTERM: releases the lease */
	const char *log = harness_read_file(h, "switchboard.log");
	long from = log != NULL ? (long)strlen(log) : 0;
	harness_daemon_signal(h, SIGCONT);
	int64_t t0 = harness_now_ms();

	struct sbc *gw = NULL, *alice = NULL;
	while ((gw == NULL || alice == NULL) && harness_now_ms() < t0 + 6000) {
		if (gw == NULL)
			gw = try_login(h, harness_gateway_addr(h), true, "gw1");
		if (alice == NULL)
			alice = try_login(h, harness_agent_addr(h), false, "alice");
		if (gw == NULL || alice == NULL)
			harness_sleep(h, 100);
	}
	if (gw == NULL || alice == NULL)
		fail_msg("the thawed leader did not serve within 6 s (gateway %s, agent %s)",
			 gw ? "welcomed" : "refused", alice ? "welcomed" : "refused");
	int64_t serving = harness_now_ms();
	struct tap *taps[] = {tap_on(gw, "gw1"), tap_on(alice, "alice")};
	while (harness_now_ms() < serving + 10000) {
		tap_watch(h, taps, 2, 100);
		expect_still_served(h, taps, 2, serving, "the thawed leader welcomed it");
	}
	int took = leases_taken(h, from);
	if (took > 1)
		fail_msg("the thawed leader took the lease %d times in %lld ms", took,
			 (long long)(harness_now_ms() - t0));
	harness_assert_open(h, gw);
	harness_submit_id(h, gw, "after-thaw", EMAIL, "email-q");
}

/* The AOF's incr file named last in the manifest. */
static const char *aof_incr(struct harness *h)
{
	const char *dir = harness_redis_aof_dir(h);
	const char *man = harness_read_file(h, harness_printf(h, "%s/appendonly.aof.manifest", dir));
	const char *name = NULL;

	assert_non_null(man);
	for (const char *p = man; p != NULL && *p != '\0';) {
		char file[256], type[8];
		if (sscanf(p, "file %255s seq %*s type %7s", file, type) == 2 &&
		    strcmp(type, "i") == 0)
			name = harness_printf(h, "%s/%s", dir, file);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (name == NULL)
		fail_msg("no incr file in %s/appendonly.aof.manifest:\n%s", dir, man);
	return name;
}

static long long file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_size;
}

/* D5c. A power cut under appendfsync everysec, emulated: contacts acked
 * after the last fsync (and two assignments confirmed) are cut from the
 * AOF, and Redis restarts without them. Within 8 s Redis holds every
 * acknowledged contact again, whole and in its state; a daemon restarted
 * from that Redis has them all, and no contact was ever assigned to two
 * agents. */
HARNESS_TEST(test_power_cut_rollback_is_rewritten)
{
	taps_reset();
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *ids[8], *state[8], *agent[8], *queue[8], *channel[8];
	int n = 0;

	for (int i = 0; i < 4; i++, n++) {
		ids[n] = harness_submit_id(h, gw, harness_printf(h, "before-%d", i), EMAIL, "hold-q");
		state[n] = "waiting", agent[n] = "", queue[n] = "hold-q", channel[n] = "email";
	}
	harness_sleep(h, 2200); /* everysec has fsynced them */
	const char *incr = aof_incr(h);
	long long synced = file_size(incr);

	for (int i = 0; i < 2; i++, n++) {
		ids[n] = harness_submit_id(h, gw, harness_printf(h, "after-%d", i), EMAIL, "hold-q");
		state[n] = "waiting", agent[n] = "", queue[n] = "hold-q", channel[n] = "email";
	}
	harness_available(h, alice);
	for (int i = 0; i < 2; i++, n++) {
		ids[n] = harness_assigned(h, gw, alice, harness_printf(h, "chat-%d", i), CHAT,
					  "chat-q");
		state[n] = "assigned", agent[n] = "alice", queue[n] = "chat-q", channel[n] = "chat";
	}
	harness_redis_signal(h, SIGKILL);
	/* Not necessarily larger: under everysec Redis may hold writes back
	 * while an fsync is slow, and a kill -9 loses them anyway. */
	long long cut = file_size(incr);
	assert_true(cut >= synced);
	assert_int_equal(truncate(incr, synced), 0);
	print_message("AOF %s cut from %lld to %lld bytes\n", incr, cut, synced);
	harness_redis_start(h);

	int64_t end = harness_now_ms() + 8000;
	const char *problem;
	do {
		harness_sleep(h, 200);
		problem = NULL;
		for (int i = 0; i < n && problem == NULL; i++)
			problem = hash_problem(h, ids[i], channel[i], queue[i], state[i], agent[i]);
	} while (problem != NULL && harness_now_ms() < end);
	if (problem != NULL)
		fail_msg("8 s after Redis restarted without its last second of writes, an "
			 "acknowledged contact is not back: %s",
			 problem);

	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
	static struct view mem;
	daemon_view(h, &mem);
	for (int i = 0; i < n; i++) {
		size_t k = 0;
		while (k < mem.n && strcmp(mem.v[k].id, ids[i]) != 0)
			k++;
		if (k == mem.n || strcmp(mem.v[k].state, state[i]) != 0 ||
		    strcmp(mem.v[k].agent, agent[i]) != 0)
			fail_msg("the restarted daemon does not hold %s as %s %s:%s", ids[i],
				 state[i], agent[i], view_text(h, &mem));
	}
	size_t ne;
	struct event *v = events(h, &ne);
	for (size_t i = 0; i < ne; i++)
		for (size_t j = i + 1; j < ne; j++)
			if (strcmp(v[i].event, "assigned") == 0 && strcmp(v[j].event, "assigned") == 0 &&
			    strcmp(v[i].contact, v[j].contact) == 0 &&
			    strcmp(v[i].agent, v[j].agent) != 0)
				fail_msg("contact %s was assigned to %s and to %s:%s", v[i].contact,
					 v[i].agent, v[j].agent, events_of(h, v[i].contact));
}

static int setup_admin(void **state)
{
	struct harness_opts opts = {.admin = true};

	*state = harness_start(&opts);
	return 0;
}

int main(void)
{
#define T(name, setup) cmocka_unit_test_setup_teardown(name, setup, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_retried_accept_while_redis_hangs_is_not_confirmed, harness_setup),
		T(test_retried_accept_on_a_leader_cut_off_from_redis_is_not_confirmed,
		  setup_proxied_leader),
		T(test_retried_complete_while_redis_hangs_is_not_acked, harness_setup),
		T(test_retried_cancel_while_redis_hangs_is_not_confirmed, harness_setup),
		T(test_relogin_redelivers_only_what_redis_holds, harness_setup),
		T(test_writes_refused_with_oom, setup_refusals),
		T(test_writes_refused_with_misconf, setup_refusals),
		T(test_writes_made_while_redis_is_away_are_replayed, setup_queues),
		T(test_replay_does_not_duplicate_events, harness_setup),
		T(test_flushall_is_rewritten_without_flapping, setup_admin),
		T(test_thawed_leader_after_a_clean_standby_stop_does_not_flap, harness_setup),
		T(test_power_cut_rollback_is_rewritten, setup_queues),
	};

	/* SB_TEST_FILTER="test_writes_*" runs some of them (cmocka's glob). */
	if (getenv("SB_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("SB_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

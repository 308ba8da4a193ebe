/* The admin HTTP API (docs/admin-api.md) against a real daemon and Redis:
 * every route, auth failures, limits, bad input, Redis going away, the
 * /metrics exposition checked by a strict parser of the Prometheus text
 * format 0.0.4, and sbctl's ops commands. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "harness.h"
#include "http_client.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define OFFER_MS 2000
#define HTTP_MS 3000
#define RUN_MS 10000
#define MAX_BODY 1024

/* A request to the harness's daemon. */
static struct resp http(struct harness *h, const char *method, const char *path, const char *token,
                        const char *body)
{
	return http_at(harness_admin_addr(h), method, path, token, body, HTTP_MS);
}

/* The value of header name in r (case-insensitive), or NULL. */
static const char *header(const struct resp *r, const char *name)
{
	return http_header(r->head, name);
}

static const char *jstr(const struct resp *r, const char *path)
{
	const struct jv *v = jpath(r->json, path);
	if (v == NULL || v->type != JV_STRING)
		fail_msg("%s: no string at %s in %s", "json", path, r->body);
	return v->str;
}

static double jnum(const struct resp *r, const char *path)
{
	const struct jv *v = jpath(r->json, path);
	if (v == NULL || v->type != JV_NUMBER)
		fail_msg("no number at %s in %s", path, r->body);
	return v->num;
}

/* The response is status with a JSON error of code. */
static void expect_error(struct resp *r, int status, const char *code)
{
	if (r->status != status)
		fail_msg("expected HTTP %d, got %d: %s", status, r->status, r->body);
	assert_non_null(r->json);
	assert_string_equal(header(r, "Content-Type"), "application/json");
	assert_string_equal(jstr(r, "error.code"), code);
	assert_true(strlen(jstr(r, "error.message")) > 0);
	resp_free(r);
}

static void expect_status(struct resp *r, int status)
{
	if (r->status != status)
		fail_msg("expected HTTP %d, got %d: %s", status, r->status, r->body);
	assert_non_null(r->json);
}

/* ---- fixtures ------------------------------------------------------------- */

static int admin_setup(void **state)
{
	struct harness_opts o = {
	    .admin = true,
	    .admin_yaml = "  max_body_bytes: 1024\n  max_header_bytes: 2048\n"
	                  "  max_connections: 4\n  timeout_ms: 2000\n",
	    /* an agent whose session closes is logged out at once */
	    .agent_grace_ms = -1,
	};
	*state = harness_start(&o);
	return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, admin_setup, harness_teardown)

/* ---- routes ---------------------------------------------------------------- */

HARNESS_TEST(test_health_ready_and_status)
{
	struct resp r = http(h, "GET", "/healthz", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(header(&r, "Content-Type"), "application/json");
	assert_string_equal(jstr(&r, "status"), "ok");
	resp_free(&r);

	r = http(h, "GET", "/readyz", NULL, NULL);
	expect_status(&r, 200);
	assert_true(jpath(r.json, "ready")->b);
	resp_free(&r);

	r = http(h, "GET", "/v1/status", NULL, NULL);
	expect_status(&r, 200);
	assert_true(strlen(jstr(&r, "version")) > 0);
	assert_string_equal(jstr(&r, "site"), "test");
	assert_string_equal(jstr(&r, "store"), "ready");
	assert_int_equal((int)jnum(&r, "agents.roster"), 3);
	assert_int_equal((int)jnum(&r, "queues"), 4);
	assert_true(jnum(&r, "uptime_s") >= 0);
	resp_free(&r);

	/* a path with a trailing slash is the same route */
	r = http(h, "GET", "/v1/status/", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
}

HARNESS_TEST(test_unknown_route_404_and_wrong_method_405)
{
	struct resp r = http(h, "GET", "/nope", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");
	r = http(h, "GET", "/v1/queues/voice-q/more", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");
	r = http(h, "GET", "/v1/%00status", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");

	r = http(h, "PUT", "/v1/roster", NULL, "{}");
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(header(&r, "Allow"), "GET"));
	assert_non_null(strstr(header(&r, "Allow"), "POST"));
	expect_error(&r, 405, "METHOD_NOT_ALLOWED");
	r = http(h, "DELETE", "/healthz", NULL, NULL);
	expect_error(&r, 405, "METHOD_NOT_ALLOWED");
	r = http(h, "POST", "/metrics", NULL, NULL);
	expect_error(&r, 405, "METHOD_NOT_ALLOWED");
	r = http(h, "OPTIONS", "/v1/roster", NULL, NULL);
	expect_error(&r, 405, "METHOD_NOT_ALLOWED");
	r = http(h, "TRACE", "/healthz", NULL, NULL);
	expect_error(&r, 405, "METHOD_NOT_ALLOWED");
	/* HEAD is GET without the body */
	r = http(h, "HEAD", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "");
	resp_free(&r);
}

HARNESS_TEST(test_changes_need_the_bearer_token)
{
	const char *body = "{\"id\":\"dave\"}";
	struct resp r = http(h, "POST", "/v1/roster", NULL, body);

	assert_int_equal(r.status, 401);
	assert_non_null(header(&r, "WWW-Authenticate"));
	assert_true(strncmp(header(&r, "WWW-Authenticate"), "Bearer", 6) == 0);
	expect_error(&r, 401, "UNAUTHENTICATED");

	r = http(h, "POST", "/v1/roster", "itest-admin-token-0123456789abcdeX", body);
	assert_non_null(header(&r, "WWW-Authenticate"));
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "POST", "/v1/roster", "short", body);
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "DELETE", "/v1/roster/alice", NULL, NULL);
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "PATCH", "/v1/roster/alice", "wrong", "{\"tier\":\"senior\"}");
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "POST", "/v1/agents/alice/state", NULL, "{\"state\":\"break\"}");
	expect_error(&r, 401, "UNAUTHENTICATED");
	/* nothing changed */
	assert_null(harness_hget(h, harness_key(h, "agent:dave"), "roster"));
	r = http(h, "GET", "/v1/roster", NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(jpath(r.json, "agents")->n, 3);
	resp_free(&r);
}

/* The line of the daemon's log holding text (owned by h); fails without. */
static const char *log_line(struct harness *h, const char *text)
{
	const char *log = harness_read_file(h, "switchboard.log");
	const char *p = log != NULL ? strstr(log, text) : NULL;

	if (p == NULL)
		fail_msg("no \"%s\" in the log:\n%s", text, log ? log : "");
	while (p > log && p[-1] != '\n')
		p--;
	return harness_printf(h, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Every request that changes state, and every one refused for want of the
 * token, is logged with who sent it (the token is one shared secret, so
 * the caller is its address); reads are not logged. */
HARNESS_TEST(test_changes_log_who_made_them)
{
	const char *tok = harness_admin_token(h);
	struct sbc *alice = harness_agent(h, "alice");
	struct resp r;
	unsigned port = 0;

	harness_available(h, alice);
	r = http(h, "POST", "/v1/agents/alice/state", tok, "{\"state\":\"break\"}");
	expect_status(&r, 200);
	resp_free(&r);
	const char *line = log_line(h, "admin: POST /v1/agents/alice/state by ");
	const char *by = strstr(line, " by 127.0.0.1:");
	if (by == NULL || sscanf(by, " by 127.0.0.1:%u", &port) != 1 || port == 0 ||
	    strstr(line, "with the admin token") == NULL)
		fail_msg("no caller in: %s", line);

	r = http(h, "POST", "/v1/roster", "wrong", "{\"id\":\"dave\"}");
	expect_error(&r, 401, "UNAUTHENTICATED");
	line = log_line(h, "admin: POST /v1/roster by 127.0.0.1:");
	if (strstr(line, "refused") == NULL || strstr(line, "wrong") != NULL)
		fail_msg("not a refusal naming no token: %s", line);

	/* a path is logged as sent: an encoded newline stays encoded */
	r = http(h, "POST", "/v1/agents/%0Aforged/state", tok, "{\"state\":\"break\"}");
	expect_error(&r, 404, "NOT_FOUND");
	assert_true(harness_log_contains(h, "admin: POST /v1/agents/%0Aforged/state by "));
	assert_false(harness_log_contains(h, "\nforged"));

	r = http(h, "GET", "/v1/roster", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	assert_false(harness_log_contains(h, "admin: GET"));
}

HARNESS_TEST(test_roster_create_change_remove_is_durable)
{
	const char *tok = harness_admin_token(h);
	const char *key = harness_key(h, "agent:dave");
	struct resp r = http(h, "POST", "/v1/roster", tok,
	                     "{\"id\":\"dave\",\"name\":\"Dave \\u00c9x\",\"tier\":\"senior\","
	                     "\"skills\":{\"billing\":4},\"capacity\":{\"chat\":2},"
	                     "\"queues\":[\"chat-q\",\"voice-q\"]}");

	expect_status(&r, 201);
	assert_string_equal(jstr(&r, "id"), "dave");
	assert_string_equal(jstr(&r, "name"), "Dave \xc3\x89x");
	assert_int_equal((int)jnum(&r, "skills.billing"), 4);
	resp_free(&r);
	/* acknowledged means Redis has it */
	const char *stored = harness_hget(h, key, "roster");
	assert_non_null(stored);
	assert_non_null(strstr(stored, "\"billing\":4"));
	assert_non_null(strstr(stored, "\"chat\":2"));
	assert_string_equal(harness_hget(h, key, "roster_removed"), "0");

	r = http(h, "POST", "/v1/roster", tok, "{\"id\":\"dave\"}");
	expect_error(&r, 409, "CONFLICT");

	r = http(h, "GET", "/v1/agents/dave", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "tier"), "senior");
	assert_int_equal((int)jnum(&r, "channels.chat.capacity"), 2);
	assert_false(jpath(r.json, "logged_in")->b);
	resp_free(&r);

	/* the new agent can log in and is routed to */
	struct sbc *dave = harness_agent(h, "dave");
	struct sbc *gw = harness_gateway(h, "gw1");
	harness_available(h, dave);
	const char *id = harness_submit_id(h, gw, "call-d1", VOICE, "voice-q");
	harness_offer_for(h, dave, id, OFFER_MS);

	r = http(h, "PATCH", "/v1/roster/dave", tok, "{\"skills\":{\"billing\":2,\"lang_fr\":5}}");
	expect_status(&r, 200);
	assert_int_equal((int)jnum(&r, "skills.billing"), 2);
	assert_string_equal(jstr(&r, "tier"), "senior"); /* kept */
	resp_free(&r);
	assert_non_null(strstr(harness_hget(h, key, "roster"), "\"lang_fr\":5"));

	/* refused while it holds a contact or is logged in */
	r = http(h, "DELETE", "/v1/roster/dave", tok, NULL);
	expect_error(&r, 409, "CONFLICT");
	assert_string_equal(harness_hget(h, key, "roster_removed"), "0");

	harness_close(h, dave);
	harness_sleep(h, 200);
	r = http(h, "GET", "/v1/agents/dave", NULL, NULL);
	expect_status(&r, 200);
	bool out = !jpath(r.json, "logged_in")->b;
	resp_free(&r);
	assert_true(out);
	/* the offer went back to waiting with the session: the agent is free */
	r = http(h, "DELETE", "/v1/roster/dave", tok, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "removed"), "dave");
	resp_free(&r);
	assert_string_equal(harness_hget(h, key, "roster_removed"), "1");
	r = http(h, "GET", "/v1/agents/dave", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");
	r = http(h, "DELETE", "/v1/roster/dave", tok, NULL);
	expect_error(&r, 404, "NOT_FOUND");
	r = http(h, "PATCH", "/v1/roster/dave", tok, "{\"tier\":\"senior\"}");
	expect_error(&r, 404, "NOT_FOUND");
	/* a client that leaves before Redis answers: the change is still made,
	 * and the late reply goes nowhere (evhttp frees the orphaned request) */
	int fd = http_connect(harness_admin_addr(h));
	char *req = NULL;
	const char *erin = "{\"id\":\"erin\"}";
	assert_true(asprintf(&req,
	                     "POST /v1/roster HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
	                     "Content-Length: %zu\r\n\r\n%s",
	                     tok, strlen(erin), erin) > 0);
	http_send_all(fd, req, strlen(req));
	free(req);
	close(fd);
	assert_non_null(
	    harness_hget_wait(h, harness_key(h, "agent:erin"), "roster_removed", "0", HTTP_MS));
	r = http(h, "GET", "/v1/agents/erin", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	/* the events stream tells reporting tools */
	assert_true(harness_redis_int(h, "XLEN %s", harness_key(h, "events")) >= 3);
}

HARNESS_TEST(test_roster_refuses_bad_input)
{
	const char *tok = harness_admin_token(h);
	static const char *const bad[] = {
	    "{\"id\":\"x\"",                     /* truncated */
	    "{\"id\":\"x\",}",                   /* trailing comma */
	    "{\"id\":\"x\"} junk",               /* trailing characters */
	    "{\"id\":\"x\",\"id\":\"y\"}",       /* duplicate member */
	    "[\"id\"]",                          /* not an object: 400, not BAD_JSON */
	    "{\"id\":\"a b\"}",                  /* id alphabet */
	    "{}",                                /* id required */
	    "{\"id\":\"x\",\"colour\":\"red\"}", /* unknown member */
	    "{\"id\":\"x\",\"skills\":{\"billing\":6}}",
	    "{\"id\":\"x\",\"skills\":{\"Billing\":3}}",
	    "{\"id\":\"x\",\"skills\":{\"billing\":2.5}}",
	    "{\"id\":\"x\",\"capacity\":{\"fax\":1}}",
	    "{\"id\":\"x\",\"capacity\":{\"chat\":0}}",
	    "{\"id\":\"x\",\"tier\":\"no-such-tier\"}",
	    "{\"id\":\"x\",\"queues\":[\"no-such-queue\"]}",
	    "{\"id\":\"x\",\"queues\":\"voice-q\"}",
	    "\"\\ud800\"", /* unpaired surrogate */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct resp r = http(h, "POST", "/v1/roster", tok, bad[i]);
		if (r.status != 400)
			fail_msg("body %s: HTTP %d %s", bad[i], r.status, r.body);
		assert_string_equal(jstr(&r, "error.code"),
		                    i < 4 || i == 16 ? "BAD_JSON" : "INVALID_ARGUMENT");
		resp_free(&r);
	}
	struct resp r = http(h, "POST", "/v1/roster", tok, NULL);
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "PATCH", "/v1/roster/alice", tok, "{\"id\":\"bob\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	/* nothing was added */
	r = http(h, "GET", "/v1/roster", NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(jpath(r.json, "agents")->n, 3);
	resp_free(&r);
	assert_int_equal(harness_redis_int(h, "EXISTS %s", harness_key(h, "agent:x")), 0);
}

HARNESS_TEST(test_supervisor_forces_an_agent_state)
{
	const char *tok = harness_admin_token(h);
	struct sbc *alice = harness_agent(h, "alice");
	struct resp r;

	harness_available(h, alice);
	r = http(h, "POST", "/v1/agents/alice/state", tok,
	         "{\"state\":\"break\",\"reason\":\"coaching\"}");
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "state"), "break");
	assert_string_equal(jstr(&r, "reason"), "coaching");
	resp_free(&r);
	/* the agent is told, and Redis had it before the answer */
	Envelope *st = harness_await(h, alice, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	assert_int_equal(st->state_changed->state, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK);
	assert_string_equal(st->state_changed->reason, "coaching");
	assert_string_equal(harness_hget(h, harness_key(h, "agent:alice"), "state"), "break");

	r = http(h, "GET", "/v1/agents/alice", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "state"), "break");
	assert_string_equal(jstr(&r, "reason"), "coaching");
	assert_true(jpath(r.json, "logged_in")->b);
	resp_free(&r);

	r = http(h, "POST", "/v1/agents/alice/state", tok, "{\"state\":\"available\"}");
	expect_status(&r, 200);
	resp_free(&r);
	st = harness_await(h, alice, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);
	assert_int_equal(st->state_changed->state,
	                 SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE);

	r = http(h, "POST", "/v1/agents/alice/state", tok, "{\"state\":\"asleep\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", "/v1/agents/alice/state", tok,
	         "{\"state\":\"break\",\"reason\":\"a\\nb\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", "/v1/agents/alice/state", tok, "{\"reason\":\"x\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", "/v1/agents/alice/state", tok, "not json");
	expect_error(&r, 400, "BAD_JSON");
	r = http(h, "POST", "/v1/agents/zed/state", tok, "{\"state\":\"break\"}");
	expect_error(&r, 404, "NOT_FOUND");
	/* bob is not logged in: there is no state to force */
	r = http(h, "POST", "/v1/agents/bob/state", tok, "{\"state\":\"break\"}");
	expect_error(&r, 409, "CONFLICT");
}

/* ---- contacts left with an agent who is not coming back --------------------- */

/* Entries of the events stream, read from Redis itself, about contact with
 * this event and (each pair when not NULL) field f1 = v1 and f2 = v2. */
static size_t stream_count(struct harness *h, const char *contact, const char *event,
                           const char *f1, const char *v1, const char *f2, const char *v2)
{
	redisReply *r = harness_redis_command(h, "XRANGE %s - +", harness_key(h, "events"));
	size_t n = 0;

	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *kv = r->element[i]->element[1];
		bool c = false, e = false, m1 = f1 == NULL, m2 = f2 == NULL;
		for (size_t k = 0; k + 1 < kv->elements; k += 2) {
			const char *f = kv->element[k]->str, *v = kv->element[k + 1]->str;
			c |= strcmp(f, "contact") == 0 && strcmp(v, contact) == 0;
			e |= strcmp(f, "event") == 0 && strcmp(v, event) == 0;
			m1 |= f1 != NULL && strcmp(f, f1) == 0 && strcmp(v, v1) == 0;
			m2 |= f2 != NULL && strcmp(f, f2) == 0 && strcmp(v, v2) == 0;
		}
		n += c && e && m1 && m2;
	}
	return n;
}

/* A contact assigned to alice, whose session then closes: with the
 * fixture's grace period of 0 she is logged out at once, and the contact
 * stays assigned to her, as Redis shows. */
static const char *assigned_to_departed_alice(struct harness *h, struct sbc *gw,
                                              const char *external_id)
{
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, external_id, VOICE, "voice-q");
	harness_close(h, alice);
	assert_non_null(harness_hget_wait(h, harness_key(h, "agent:alice"), "reason",
	                                  "logged-out", HTTP_MS));
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "state"),
	                    "assigned");
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", id), "agent"), "alice");
	return id;
}

HARNESS_TEST(test_supervisor_requeues_a_contact_left_with_a_departed_agent)
{
	const char *tok = harness_admin_token(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *id = assigned_to_departed_alice(h, gw, "call-r1");
	const char *later = harness_submit_id(h, gw, "call-r2", VOICE, "voice-q");
	const char *path = harness_printf(h, "/v1/contacts/%s/requeue", id);
	const char *deadline = harness_hget(h, harness_key(h, "contact:%s", id), "deadline_ms");
	struct resp r;

	/* Without this route she could not even leave the roster. */
	r = http(h, "DELETE", "/v1/roster/alice", tok, NULL);
	expect_error(&r, 409, "CONFLICT");

	r = http(h, "POST", path, NULL, NULL);
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "POST", "/v1/contacts/c-nope-1/requeue", tok, NULL);
	expect_error(&r, 404, "NOT_FOUND");
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/requeue", later), tok, NULL);
	expect_error(&r, 409, "CONFLICT");

	r = http(h, "POST", path, tok, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "state"), "waiting");
	assert_string_equal(jstr(&r, "requeued_from"), "alice");
	resp_free(&r);

	/* Redis had it before the answer: waiting, back in its queue under its
	 * old deadline, and the stream says who did it. */
	const char *ck = harness_key(h, "contact:%s", id);
	assert_string_equal(harness_hget(h, ck, "state"), "waiting");
	assert_string_equal(harness_hget(h, ck, "agent"), "");
	assert_string_equal(harness_hget(h, ck, "deadline_ms"), deadline);
	assert_int_equal(harness_redis_int(h, "ZRANK %s %s", harness_key(h, "queue:voice-q"), id),
	                 0);
	assert_int_equal(stream_count(h, id, "requeued", "agent", "alice", "reason", "admin"), 1);
	/* ... then the gateway is told. */
	Envelope *ev = harness_await(h, gw, SB_BODY(CONTACT_EVENT), HARNESS_REPLY_MS);
	assert_string_equal(ev->contact_event->contact_id, id);
	assert_int_equal(ev->contact_event->kind, SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED);
	assert_string_equal(ev->contact_event->detail, "admin");
	assert_string_equal(ev->event_id, harness_printf(h, "%s/4", id));

	/* Ahead of the later arrival: bob is offered it first. */
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	const char *offer = harness_offer_for(h, bob, id, OFFER_MS);
	/* Requeued from an offer: bob is told it is withdrawn. */
	r = http(h, "POST", path, tok, "");
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "requeued_from"), "bob");
	resp_free(&r);
	Envelope *res = harness_await(h, bob, SB_BODY(OFFER_RESCINDED), HARNESS_REPLY_MS);
	assert_string_equal(res->offer_rescinded->offer_id, offer);
	assert_string_equal(res->offer_rescinded->reason, "admin");
	assert_int_equal(stream_count(h, id, "requeued", "agent", "bob", "reason", "admin"), 1);
	/* The offer it took back is counted as such. */
	r = http(h, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "switchboard_offer_outcomes_total{queue=\"voice-q\","
					"outcome=\"admin\"} 1\n"));
	resp_free(&r);

	/* She holds nothing now: she may leave the roster. */
	r = http(h, "DELETE", "/v1/roster/alice", tok, NULL);
	expect_status(&r, 200);
	resp_free(&r);
}

HARNESS_TEST(test_supervisor_closes_a_contact_left_after_a_restart)
{
	const char *tok = harness_admin_token(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct resp r;

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-c1", VOICE, "voice-q");
	/* A restart nobody logs back in after. */
	harness_close(h, alice);
	harness_close(h, gw);
	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
	gw = harness_gateway(h, "gw1");
	harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS); /* redelivered */
	const char *path = harness_printf(h, "/v1/contacts/%s/close", id);
	const char *ck = harness_key(h, "contact:%s", id);
	assert_string_equal(harness_hget(h, ck, "agent"), "alice");

	r = http(h, "POST", path, tok, NULL);
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok, "{}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok, "{\"disposition\":\"\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok, "{\"disposition\":\"a\\nb\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok, "{\"disposition\":7}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok,
	         "{\"disposition\":\"0123456789012345678901234567890123456789012345678901234567890"
	         "1234\"}");
	expect_error(&r, 400, "INVALID_ARGUMENT");
	r = http(h, "POST", path, tok, "not json");
	expect_error(&r, 400, "BAD_JSON");
	r = http(h, "POST", "/v1/contacts/c-nope-1/close", tok, "{\"disposition\":\"x\"}");
	expect_error(&r, 404, "NOT_FOUND");
	assert_string_equal(harness_hget(h, ck, "state"), "assigned");

	/* Redis unavailable: refused, nothing changed. */
	harness_redis_stop(h);
	assert_true(harness_log_wait(h, "store down", 5000));
	r = http(h, "POST", path, tok, "{\"disposition\":\"agent-left\"}");
	expect_error(&r, 503, "STORE_UNAVAILABLE");
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/requeue", id), tok, NULL);
	expect_error(&r, 503, "STORE_UNAVAILABLE");
	harness_redis_start(h);
	for (int i = 0;; i++) {
		r = http(h, "GET", "/readyz", NULL, NULL);
		int status = r.status;
		resp_free(&r);
		if (status == 200)
			break;
		assert_true(i < 100);
		harness_sleep(h, 50);
	}
	assert_string_equal(harness_hget(h, ck, "state"), "assigned");

	r = http(h, "POST", path, tok, "{\"disposition\":\"agent-left\"}");
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "state"), "completed");
	assert_string_equal(jstr(&r, "agent"), "alice");
	resp_free(&r);
	/* Redis first, read on its own: completed with the disposition, out of
	 * the open set, and the stream says an admin closed it. */
	assert_string_equal(harness_hget(h, ck, "state"), "completed");
	assert_string_equal(harness_hget(h, ck, "disposition"), "agent-left");
	assert_int_equal(harness_redis_int(h, "SISMEMBER %s %s", harness_key(h, "open"), id), 0);
	assert_int_equal(stream_count(h, id, "completed", "by", "admin", "disposition", "agent-left"),
	                 1);
	/* Then the gateway. */
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, id);
	assert_string_equal(done->contact_completed->disposition, "agent-left");

	r = http(h, "POST", path, tok, "{\"disposition\":\"agent-left\"}");
	expect_error(&r, 404, "NOT_FOUND");
	/* Only assigned contacts are closed: a waiting one is its gateway's to
	 * cancel, an offered one is requeued. */
	const char *waiting = harness_submit_id(h, gw, "call-c2", VOICE, "voice-q");
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/close", waiting), tok,
	         "{\"disposition\":\"x\"}");
	expect_error(&r, 409, "CONFLICT");
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	harness_offer_for(h, bob, waiting, OFFER_MS);
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/close", waiting), tok,
	         "{\"disposition\":\"x\"}");
	expect_error(&r, 409, "CONFLICT");
}

/* An agent still connected when a supervisor takes its contacts is told. */
HARNESS_TEST(test_connected_agent_is_told_its_contact_was_taken)
{
	const char *tok = harness_admin_token(h);
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct resp r;

	harness_available(h, alice);
	const char *one = harness_assigned(h, gw, alice, "call-t1", VOICE, "voice-q");
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/requeue", one), tok, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	Envelope *rv = harness_await(h, alice, SB_BODY(ASSIGNMENT_REVOKED), HARNESS_REPLY_MS);
	assert_string_equal(rv->assignment_revoked->contact_id, one);
	assert_string_equal(rv->assignment_revoked->reason, "requeued");
	assert_string_equal(rv->event_id, harness_printf(h, "%s/4", one));
	/* No longer hers to complete. */
	harness_expect_error(h, alice, sbc_complete(alice, one, "resolved"), SB_ERR_CODE(FORBIDDEN),
	                     HARNESS_REPLY_MS);

	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	const char *offer = harness_offer_for(h, bob, one, OFFER_MS);
	harness_accept(h, bob, offer, one);
	r = http(h, "POST", harness_printf(h, "/v1/contacts/%s/close", one), tok,
	         "{\"disposition\":\"duplicate\"}");
	expect_status(&r, 200);
	resp_free(&r);
	rv = harness_await(h, bob, SB_BODY(ASSIGNMENT_REVOKED), HARNESS_REPLY_MS);
	assert_string_equal(rv->assignment_revoked->contact_id, one);
	assert_string_equal(rv->assignment_revoked->reason, "closed");
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->disposition, "duplicate");
}

HARNESS_TEST(test_queues_agents_and_contact_explain)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	struct resp r;
	char path[160];

	r = http(h, "GET", "/v1/queues", NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(jpath(r.json, "queues")->n, 4);
	resp_free(&r);

	r = http(h, "GET", "/v1/queues/voice-q", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "name"), "voice-q");
	assert_string_equal(jstr(&r, "channel"), "voice");
	assert_int_equal((int)jnum(&r, "waiting"), 1);
	assert_true(jnum(&r, "longest_wait_ms") >= 0);
	assert_int_equal((int)jnum(&r, "target_pct"), 80);
	assert_int_equal((int)jnum(&r, "sla_ms"), 30000);
	assert_non_null(jpath(r.json, "window.service_level"));
	assert_non_null(jpath(r.json, "total.answered"));
	assert_non_null(jpath(r.json, "window.asa_ms"));
	resp_free(&r);
	r = http(h, "GET", "/v1/queues/nope", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");

	r = http(h, "GET", "/v1/agents", NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(jpath(r.json, "agents")->n, 3);
	assert_string_equal(jpath(r.json, "agents")->items[0].items[0].str, "alice");
	resp_free(&r);
	r = http(h, "GET", "/v1/agents/carol", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "name"), "Carol Example");
	assert_string_equal(jstr(&r, "state"), "offline");
	assert_int_equal((int)jnum(&r, "channels.voice.capacity"), 1);
	assert_int_equal((int)jnum(&r, "channels.voice.load"), 0);
	resp_free(&r);
	r = http(h, "GET", "/v1/agents/nobody", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");

	snprintf(path, sizeof path, "/v1/contacts/%s", id);
	r = http(h, "GET", path, NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "id"), id);
	assert_string_equal(jstr(&r, "state"), "waiting");
	assert_string_equal(jstr(&r, "external_id"), "call-1");
	assert_int_equal((int)jnum(&r, "position"), 1);
	assert_int_equal((int)jnum(&r, "explain.eligible"), 0);
	/* nobody is logged in: all three are blocked by their state */
	assert_int_equal((int)jnum(&r, "explain.blocked.state"), 3);
	resp_free(&r);
	r = http(h, "GET", "/v1/contacts/c-none", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");
}

HARNESS_TEST(test_config_in_force_is_redacted)
{
	struct resp r = http(h, "GET", "/v1/config", NULL, NULL);

	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "site"), "test");
	assert_string_equal(jstr(&r, "admin.listen"), harness_admin_addr(h));
	assert_int_equal((int)jnum(&r, "admin.max_body_bytes"), MAX_BODY);
	assert_string_equal(jstr(&r, "admin.token"), "<redacted>");
	assert_string_equal(jstr(&r, "auth.agent_secret"), "<redacted>");
	assert_int_equal((int)jnum(&r, "channels.voice.sla_ms"), 30000);
	assert_int_equal(jpath(r.json, "gateways")->n, 2);
	assert_null(strstr(r.body, harness_admin_token(h)));
	assert_null(strstr(r.body, harness_agent_secret(h)));
	assert_null(strstr(r.body, harness_gateway_secret(h, "gw1")));
	resp_free(&r);
}

HARNESS_TEST(test_store_down_not_ready_and_changes_refused)
{
	struct resp r;

	harness_redis_stop(h);
	assert_true(harness_log_wait(h, "store down", 5000));
	r = http(h, "GET", "/readyz", NULL, NULL);
	expect_status(&r, 503);
	assert_false(jpath(r.json, "ready")->b);
	assert_true(strlen(jstr(&r, "reason")) > 0);
	resp_free(&r);
	r = http(h, "GET", "/healthz", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	r = http(h, "POST", "/v1/roster", harness_admin_token(h), "{\"id\":\"dave\"}");
	expect_error(&r, 503, "STORE_UNAVAILABLE");
	r = http(h, "GET", "/v1/agents/dave", NULL, NULL);
	expect_error(&r, 404, "NOT_FOUND");

	harness_redis_start(h);
	for (int i = 0;; i++) {
		r = http(h, "GET", "/readyz", NULL, NULL);
		int status = r.status;
		resp_free(&r);
		if (status == 200)
			break;
		assert_true(i < 100);
		harness_sleep(h, 50);
	}
}

/* ---- limits ------------------------------------------------------------------ */

HARNESS_TEST(test_limits_body_headers_connections)
{
	char *big = malloc(MAX_BODY * 4 + 64), *req = NULL;
	bool closed;
	int fd;

	/* a body past admin.max_body_bytes: 413, or the connection closed */
	memset(big, 'x', MAX_BODY * 4);
	big[MAX_BODY * 4] = '\0';
	fd = http_connect(harness_admin_addr(h));
	assert_true(asprintf(&req,
	                     "POST /v1/roster HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
	                     "Content-Length: %d\r\n\r\n%s",
	                     harness_admin_token(h), MAX_BODY * 4, big) > 0);
	http_send_all(fd, req, strlen(req));
	free(req);
	char *raw = http_read(fd, HTTP_MS, &closed);
	close(fd);
	assert_true(strncmp(raw, "HTTP/1.1 413", 12) == 0 || (raw[0] == '\0' && closed));
	free(raw);

	/* headers past admin.max_header_bytes: refused, or the connection closed */
	fd = http_connect(harness_admin_addr(h));
	assert_true(asprintf(&req, "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n", big) >
	            0);
	http_send_all(fd, req, strlen(req));
	free(req);
	raw = http_read(fd, HTTP_MS, &closed);
	close(fd);
	assert_true(strncmp(raw, "HTTP/1.1 4", 10) == 0 || (raw[0] == '\0' && closed));
	free(raw);
	free(big);

	/* admin.max_connections (4): a fifth client waits in the kernel's
	 * backlog while the four are young; once the one that has waited
	 * longest for its request has had 1 s, it is closed to make room */
	int idle[4];
	for (int i = 0; i < 4; i++) {
		idle[i] = http_connect(harness_admin_addr(h));
		harness_sleep(h, 20);
	}
	fd = http_connect(harness_admin_addr(h)); /* the kernel's backlog takes it */
	const char *get = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	http_send_all(fd, get, strlen(get));
	raw = http_read(fd, 300, &closed);
	assert_string_equal(raw, "");
	assert_false(closed);
	free(raw);
	raw = http_read(fd, HTTP_MS, &closed);
	assert_true(strncmp(raw, "HTTP/1.1 200", 12) == 0);
	free(raw);
	close(fd);
	raw = http_read(idle[0], HTTP_MS, &closed);
	assert_true(closed); /* the oldest made room */
	free(raw);
	for (int i = 0; i < 4; i++)
		close(idle[i]);

	/* an idle connection is closed after admin.timeout_ms (2 s) */
	fd = http_connect(harness_admin_addr(h));
	raw = http_read(fd, 5000, &closed);
	assert_true(closed);
	free(raw);
	close(fd);

	/* and the daemon serves on, having counted every connection out: only
	 * the status request itself is open (closes are seen as evhttp frees
	 * each connection, so allow it a moment) */
	for (int i = 0;; i++) {
		struct resp r = http(h, "GET", "/v1/status", NULL, NULL);
		expect_status(&r, 200);
		int open = (int)jnum(&r, "connections.admin");
		resp_free(&r);
		if (open == 1)
			break;
		assert_true(i < 40);
		harness_sleep(h, 50);
	}
}

/* ---- /metrics: a strict parser of the text exposition format 0.0.4 ----- */

#define PROM_MAX_FAMILIES 128

/* The parser reports the first fault it finds through prom_fail, which
 * jumps back to prom_check: so bad expositions can be tested too. */
static jmp_buf prom_jmp;
static char prom_err[256];

static void prom_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void prom_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prom_err, sizeof prom_err, fmt, ap);
	va_end(ap);
	longjmp(prom_jmp, 1);
}

struct prom_family {
	char name[128];
	char type[16];
	bool help, typed, has_samples, closed;
};

struct prom {
	struct prom_family fam[PROM_MAX_FAMILIES];
	size_t n;
	struct prom_family *current; /* whose samples are being read */
	char **series;               /* "name{labels}" seen, for duplicates */
	size_t n_series;
	/* histogram checking: the open series (labels without le) */
	char hist_key[512];
	double last_le, last_count, bucket_inf;
	bool have_inf;
};

static bool prom_name_ok(const char *s, bool label)
{
	if (*s == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha = isalpha((unsigned char)*p) || *p == '_' || (!label && *p == ':');
		if (!alpha && !(p > s && isdigit((unsigned char)*p)))
			return false;
	}
	return true;
}

/* A sample value: Go's ParseFloat forms the format allows. */
static bool prom_value(const char *s, double *out)
{
	char *end;

	if (strcmp(s, "NaN") == 0) {
		*out = NAN;
		return true;
	}
	if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
		*out = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*out = -INFINITY;
		return true;
	}
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && strchr("+-.eE", *p) == NULL)
			return false;
	errno = 0;
	*out = strtod(s, &end);
	return end != s && *end == '\0' && errno == 0;
}

static struct prom_family *prom_family(struct prom *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			return &p->fam[i];
	if (p->n == PROM_MAX_FAMILIES)
		prom_fail("more than %d families", PROM_MAX_FAMILIES);
	struct prom_family *f = &p->fam[p->n++];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	return f;
}

/* The family a sample name belongs to (histogram suffixes stripped). */
static struct prom_family *prom_owner(struct prom *p, const char *name, const char **suffix)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};

	*suffix = "";
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			return &p->fam[i];
	for (size_t s = 0; s < 3; s++) {
		size_t n = strlen(name), k = strlen(sfx[s]);
		if (n > k && strcmp(name + n - k, sfx[s]) == 0) {
			for (size_t i = 0; i < p->n; i++)
				if (strlen(p->fam[i].name) == n - k &&
				    strncmp(p->fam[i].name, name, n - k) == 0 &&
				    strcmp(p->fam[i].type, "histogram") == 0) {
					*suffix = sfx[s];
					return &p->fam[i];
				}
		}
	}
	return NULL;
}

/* Parses {a="x",b="y"} at *s into canonical "a=x,b=y" (le removed into
 * *le); fails the test on bad syntax. */
static void prom_labels(const char **s, char *canon, size_t size, char *le, size_t le_size,
                        int line)
{
	const char *p = *s;
	canon[0] = le[0] = '\0';
	if (*p != '{')
		return;
	p++;
	while (*p != '}') {
		char lname[128], value[256];
		size_t n = 0, v = 0;
		while (*p && *p != '=' && n + 1 < sizeof lname)
			lname[n++] = *p++;
		lname[n] = '\0';
		if (*p != '=' || !prom_name_ok(lname, true) || strncmp(lname, "__", 2) == 0)
			prom_fail("line %d: bad label name '%s'", line, lname);
		p++;
		if (*p != '"')
			prom_fail("line %d: label value not quoted", line);
		p++;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				prom_fail("line %d: unterminated label value", line);
			char c = *p++;
			if (c == '\\') {
				if (*p == '\\' || *p == '"')
					c = *p++;
				else if (*p == 'n')
					c = '\n', p++;
				else
					prom_fail("line %d: bad escape in label value", line);
			}
			if (v + 1 < sizeof value)
				value[v++] = c;
		}
		value[v] = '\0';
		p++;
		if (strcmp(lname, "le") == 0)
			snprintf(le, le_size, "%s", value);
		else
			snprintf(canon + strlen(canon), size - strlen(canon), "%s%s=%s",
			         canon[0] ? "," : "", lname, value);
		if (*p == ',')
			p++;
		else if (*p != '}')
			prom_fail("line %d: expected ',' or '}' in labels", line);
	}
	*s = p + 1;
}

/* Closes the histogram series being read: +Inf bucket equals _count. */
static void prom_hist_end(struct prom *p)
{
	p->hist_key[0] = '\0';
	p->have_inf = false;
	p->last_le = -INFINITY;
	p->last_count = 0;
}

static void prom_sample(struct prom *p, char *line, int ln)
{
	char name[128], canon[512], le[256], key[1024];
	const char *s = line, *suffix;
	size_t n = 0;
	double v;

	while (*s && *s != '{' && *s != ' ' && n + 1 < sizeof name)
		name[n++] = *s++;
	name[n] = '\0';
	if (!prom_name_ok(name, false))
		prom_fail("line %d: bad metric name '%s'", ln, name);
	prom_labels(&s, canon, sizeof canon, le, sizeof le, ln);
	if (*s != ' ')
		prom_fail("line %d: expected a space before the value", ln);
	s++;
	char value[64];
	n = strcspn(s, " ");
	snprintf(value, sizeof value, "%.*s", (int)n, s);
	if (!prom_value(value, &v))
		prom_fail("line %d: bad value '%s'", ln, value);
	if (s[n] == ' ') { /* an optional timestamp: an integer */
		for (const char *t = s + n + 1; *t; t++)
			if (!isdigit((unsigned char)*t) && *t != '-')
				prom_fail("line %d: bad timestamp", ln);
	}

	struct prom_family *f = prom_owner(p, name, &suffix);
	if (f == NULL || !f->typed)
		prom_fail("line %d: sample %s before its TYPE line", ln, name);
	if (f->closed || (p->current != NULL && p->current != f && f->has_samples))
		prom_fail("line %d: samples of %s are not together", ln, f->name);
	if (p->current != f)
		prom_hist_end(p);
	p->current = f;
	f->has_samples = true;
	snprintf(key, sizeof key, "%s{%s%s%s}", name, canon, le[0] ? ",le=" : "", le);
	for (size_t i = 0; i < p->n_series; i++)
		if (strcmp(p->series[i], key) == 0)
			prom_fail("line %d: duplicate series %s", ln, key);
	p->series = realloc(p->series, (p->n_series + 1) * sizeof *p->series);
	p->series[p->n_series++] = strdup(key);

	if (strcmp(f->type, "counter") == 0 &&
	    (strlen(name) <= 6 || strcmp(name + strlen(name) - 6, "_total") != 0 || !(v >= 0)))
		prom_fail("line %d: counter %s must end in _total and be >= 0", ln, name);
	if (strcmp(f->type, "histogram") != 0)
		return;
	if (strcmp(suffix, "_bucket") == 0) {
		double bound;
		if (le[0] == '\0' || !prom_value(le, &bound))
			prom_fail("line %d: bucket without a valid le", ln);
		if (strcmp(p->hist_key, canon) != 0) {
			if (p->hist_key[0] != '\0' && !p->have_inf)
				prom_fail("line %d: series ended without le=\"+Inf\"", ln);
			prom_hist_end(p);
			snprintf(p->hist_key, sizeof p->hist_key, "%s", canon);
		}
		if (p->have_inf)
			prom_fail("line %d: bucket after le=\"+Inf\"", ln);
		if (!(bound > p->last_le))
			prom_fail("line %d: le not increasing", ln);
		if (v < p->last_count)
			prom_fail("line %d: buckets not cumulative", ln);
		p->last_le = bound;
		p->last_count = v;
		if (isinf(bound)) {
			p->have_inf = true;
			p->bucket_inf = v;
		}
	} else {
		if (le[0] != '\0')
			prom_fail("line %d: le on %s", ln, name);
		if (strcmp(p->hist_key, canon) != 0 || !p->have_inf)
			prom_fail("line %d: %s without its buckets ending in +Inf", ln, name);
		if (strcmp(suffix, "_count") == 0 && v != p->bucket_inf)
			prom_fail("line %d: _count %g != +Inf bucket %g", ln, v, p->bucket_inf);
		if (strcmp(suffix, "") == 0)
			prom_fail("line %d: histogram sample without a suffix", ln);
	}
}

static void prom_free(struct prom *p);

/* Reads every line of text (a copy the caller owns). */
static void prom_scan(struct prom *p, char *copy)
{
	char *save = NULL;
	int ln = 0;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		ln++;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';
			char name[128];
			size_t n = strcspn(line + 7, " ");
			snprintf(name, sizeof name, "%.*s", (int)n, line + 7);
			if (!prom_name_ok(name, false))
				prom_fail("line %d: bad family name", ln);
			struct prom_family *f = prom_family(p, name);
			if (f->has_samples)
				prom_fail("line %d: %s after the family's samples", ln,
				          help ? "HELP" : "TYPE");
			if (p->current != NULL && p->current != f)
				p->current->closed = true;
			if (help) {
				if (f->help)
					prom_fail("line %d: second HELP for %s", ln, name);
				f->help = true;
				if (line[7 + n] != ' ' || strlen(line + 8 + n) == 0)
					prom_fail("line %d: empty HELP", ln);
			} else {
				const char *t = line + 7 + n + 1;
				if (f->typed)
					prom_fail("line %d: second TYPE for %s", ln, name);
				if (strcmp(t, "counter") && strcmp(t, "gauge") &&
				    strcmp(t, "histogram") && strcmp(t, "summary") &&
				    strcmp(t, "untyped"))
					prom_fail("line %d: bad type '%s'", ln, t);
				f->typed = true;
				snprintf(f->type, sizeof f->type, "%s", t);
			}
			continue;
		}
		if (line[0] == '#')
			continue;
		if (line[0] == '\0')
			continue;
		prom_sample(p, line, ln);
	}
	if (p->hist_key[0] != '\0' && !p->have_inf)
		prom_fail("a histogram series ended without le=\"+Inf\"");
	for (size_t i = 0; i < p->n; i++)
		/* process_*: the standard names every client library exports */
		if (!p->fam[i].help || !p->fam[i].typed ||
		    (strncmp(p->fam[i].name, "switchboard_", 12) != 0 &&
		     strncmp(p->fam[i].name, "process_", 8) != 0))
			prom_fail("family %s lacks HELP or TYPE or the switchboard_ (or process_) "
			          "prefix",
			          p->fam[i].name);
}

/* Parses a whole exposition: NULL, or the first fault. p is filled either
 * way (prom_free it). */
static const char *prom_check(struct prom *p, const char *text)
{
	static char *copy;

	memset(p, 0, sizeof *p);
	prom_hist_end(p);
	free(copy);
	copy = strdup(text);
	if (setjmp(prom_jmp) != 0) {
		free(copy);
		copy = NULL;
		return prom_err;
	}
	if (strlen(text) == 0 || text[strlen(text) - 1] != '\n')
		prom_fail("the exposition must end with a newline");
	prom_scan(p, copy);
	free(copy);
	copy = NULL;
	return NULL;
}

/* Parses text, failing the test at the first fault. */
static void prom_parse(struct prom *p, const char *text)
{
	const char *err = prom_check(p, text);

	if (err != NULL) {
		prom_free(p);
		fail_msg("/metrics: %s", err);
	}
}

static void prom_free(struct prom *p)
{
	for (size_t i = 0; i < p->n_series; i++)
		free(p->series[i]);
	free(p->series);
}

static bool prom_has(const struct prom *p, const char *key)
{
	for (size_t i = 0; i < p->n_series; i++)
		if (strcmp(p->series[i], key) == 0)
			return true;
	return false;
}

/* The value of the exact sample line "name{...} v" in text, or NAN. */
static double prom_get(const char *text, const char *series)
{
	const char *p = text;
	size_t n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return NAN;
}

HARNESS_TEST(test_metrics_are_valid_prometheus_exposition)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct prom p;

	/* some traffic: one contact handled end to end, one rejected offer */
	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-m1", VOICE, "voice-q");
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
	              HARNESS_REPLY_MS);
	harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	const char *id2 = harness_submit_id(h, gw, "call-m2", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, id2, OFFER_MS);
	harness_reply(h, alice, sbc_reject(alice, offer, "busy"), SB_BODY(ACK), HARNESS_REPLY_MS);
	/* and one bad frame */
	struct sbc *junk = harness_connect(h, HARNESS_GATEWAY_PORT);
	sbc_send_raw(junk, "\x00\x00\x00\x03zzz", 7);
	harness_assert_closed_notice(h, junk, HARNESS_REPLY_MS);

	struct resp r = http(h, "GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	prom_parse(&p, r.body);

	assert_int_equal(prom_get(r.body, "switchboard_build_info{version=\"" SB_VERSION "\"}"), 1);
	assert_true(prom_has(&p, "switchboard_contacts_waiting{queue=voice-q,channel=voice}"));
	assert_int_equal(
	    prom_get(r.body, "switchboard_contacts_waiting{queue=\"voice-q\",channel=\"voice\"}"),
	    1);
	assert_int_equal(
	    prom_get(r.body,
	             "switchboard_contacts_answered_total{queue=\"voice-q\",channel=\"voice\"}"),
	    1);
	assert_true(
	    prom_has(&p, "switchboard_contact_longest_wait_seconds{queue=chat-q,channel=chat}"));
	assert_true(
	    prom_has(&p, "switchboard_queue_service_level_ratio{queue=voice-q,period=window}"));
	assert_int_equal(
	    prom_get(r.body,
	             "switchboard_queue_service_level_ratio{queue=\"voice-q\",period=\"total\"}"),
	    1);
	assert_true(
	    prom_has(&p, "switchboard_contacts_abandoned_total{queue=voice-q,channel=voice}"));
	assert_true(
	    prom_has(&p, "switchboard_contacts_expired_total{queue=voice-q,channel=voice}"));
	assert_true(
	    prom_has(&p, "switchboard_contacts_overflowed_total{queue=voice-q,channel=voice}"));
	assert_int_equal(
	    prom_get(r.body, "switchboard_contact_wait_seconds_count{queue=\"voice-q\"}"), 1);
	assert_int_equal(
	    prom_get(r.body, "switchboard_contact_handle_seconds_count{queue=\"voice-q\"}"), 1);
	assert_true(prom_has(&p, "switchboard_contact_wait_seconds_bucket{queue=chat-q,le=+Inf}"));
	assert_int_equal(prom_get(r.body, "switchboard_agents{state=\"available\"}"), 1);
	assert_int_equal(prom_get(r.body, "switchboard_agents{state=\"logged_out\"}"), 2);
	assert_true(prom_get(r.body, "switchboard_offers_total{queue=\"voice-q\"}") >= 2);
	assert_int_equal(
	    prom_get(r.body,
	             "switchboard_offer_outcomes_total{queue=\"voice-q\",outcome=\"accepted\"}"),
	    1);
	assert_int_equal(
	    prom_get(r.body,
	             "switchboard_offer_outcomes_total{queue=\"voice-q\",outcome=\"rejected\"}"),
	    1);
	assert_int_equal(prom_get(r.body, "switchboard_connections{role=\"gateway\"}"), 1);
	assert_int_equal(prom_get(r.body, "switchboard_connections{role=\"agent\"}"), 1);
	assert_true(prom_get(r.body, "switchboard_connections_accepted_total{role=\"gateway\"}") >=
	            2);
	assert_true(prom_get(r.body, "switchboard_frames_received_total") >= 6);
	assert_true(prom_get(r.body, "switchboard_frames_sent_total") >= 6);
	assert_int_equal(prom_get(r.body, "switchboard_frame_decode_errors_total"), 1);
	assert_true(prom_get(r.body, "switchboard_store_request_duration_seconds_count") >= 5);
	assert_true(prom_has(&p, "switchboard_store_errors_total{kind=unavailable}"));
	assert_int_equal(prom_get(r.body, "switchboard_store_up"), 1);
	prom_free(&p);
	resp_free(&r);
}

/* The parser itself refuses what it should: it is the test's judge. */
static void test_prometheus_parser_refuses_bad_expositions(void **state)
{
	static const char head[] =
	    "# HELP switchboard_x_total X.\n# TYPE switchboard_x_total counter\n";
	static const char hist[] =
	    "# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n";
	static const struct {
		const char *text;
		const char *why; /* NULL: valid */
	} cases[] = {
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total counter\n"
	     "switchboard_x_total{a=\"q\\\"\\\\\\n\"} 3\n"
	     "# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n"
	     "switchboard_h_seconds_bucket{le=\"1\"} 1\nswitchboard_h_seconds_bucket{le=\"+Inf\"} "
	     "2\n"
	     "switchboard_h_seconds_sum 2.5\nswitchboard_h_seconds_count 2\n"
	     "# HELP switchboard_g G.\n# TYPE switchboard_g gauge\nswitchboard_g NaN\n",
	     NULL},
	    {"switchboard_x_total 1\n", "before its TYPE"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total counter\n1x 1\n",
	     "bad metric name"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total{a=\"\\x\"} 1\n",
	     "bad escape"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total{a=b} 1\n",
	     "not quoted"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total{__a=\"b\"} 1\n",
	     "bad label name"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total one\n",
	     "bad value"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total 1\nswitchboard_x_total 2\n",
	     "duplicate series"},
	    {"# HELP switchboard_x X.\n# TYPE switchboard_x counter\nswitchboard_x 1\n", "_total"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total counter\n# TYPE "
	     "switchboard_x_total gauge\n",
	     "second TYPE"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total gauges\n", "bad type"},
	    {"# HELP switchboard_x_total X.\n# TYPE switchboard_x_total "
	     "counter\nswitchboard_x_total 1",
	     "newline"},
	    {"# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n"
	     "switchboard_h_seconds_bucket{le=\"1\"} 3\nswitchboard_h_seconds_bucket{le=\"+Inf\"} "
	     "2\n"
	     "switchboard_h_seconds_sum 1\nswitchboard_h_seconds_count 2\n",
	     "not cumulative"},
	    {"# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n"
	     "switchboard_h_seconds_bucket{le=\"1\"} 1\n"
	     "switchboard_h_seconds_sum 1\nswitchboard_h_seconds_count 1\n",
	     "+Inf"},
	    {"# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n"
	     "switchboard_h_seconds_bucket{le=\"+Inf\"} 2\n"
	     "switchboard_h_seconds_sum 1\nswitchboard_h_seconds_count 3\n",
	     "_count"},
	    {"# HELP switchboard_h_seconds H.\n# TYPE switchboard_h_seconds histogram\n"
	     "switchboard_h_seconds_bucket{le=\"2\"} 1\nswitchboard_h_seconds_bucket{le=\"1\"} 1\n"
	     "switchboard_h_seconds_bucket{le=\"+Inf\"} 1\n",
	     "le not increasing"},
	    {"# HELP switchboard_a A.\n# TYPE switchboard_a gauge\nswitchboard_a{x=\"1\"} 1\n"
	     "# HELP switchboard_b B.\n# TYPE switchboard_b gauge\nswitchboard_b 1\n"
	     "switchboard_a{x=\"2\"} 1\n",
	     "not together"},
	    {"# TYPE other_total counter\n# HELP other_total O.\nother_total 1\n", "prefix"},
	};
	struct prom p;

	(void)state;
	(void)head;
	(void)hist;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *err = prom_check(&p, cases[i].text);
		prom_free(&p);
		if (cases[i].why == NULL && err != NULL)
			fail_msg("case %zu: refused: %s", i, err);
		if (cases[i].why != NULL && (err == NULL || strstr(err, cases[i].why) == NULL))
			fail_msg("case %zu: want \"%s\", got %s", i, cases[i].why,
			         err ? err : "accepted");
	}
}

/* ---- sbctl ---------------------------------------------------------------- */

static int run(struct harness *h, const char *const argv[], const char **out)
{
	return harness_run(h, argv, RUN_MS, out);
}

HARNESS_TEST(test_sbctl_ops_commands)
{
	const char *sbctl = harness_sbctl_path(h), *addr = harness_admin_addr(h);
	const char *tf = harness_admin_token_file(h), *out;
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *gw = harness_gateway(h, "gw1");
	char cmd_contact[64];

	const char *status[] = {sbctl, "status", "--admin", addr, NULL};
	assert_int_equal(run(h, status, &out), 0);
	assert_non_null(strstr(out, "store        ready"));
	assert_non_null(strstr(out, "3 in the roster, 1 logged in"));

	const char *queues[] = {sbctl, "queues", "--admin", addr, NULL};
	assert_int_equal(run(h, queues, &out), 0);
	assert_non_null(strstr(out, "QUEUE"));
	assert_non_null(strstr(out, "voice-q "));
	assert_non_null(strstr(out, "SL"));

	const char *json[] = {sbctl, "queues", "voice-q", "--json", "--admin", addr, NULL};
	assert_int_equal(run(h, json, &out), 0);
	assert_non_null(strstr(out, "\"name\":\"voice-q\""));

	const char *add[] = {sbctl,     "roster",    "add",          "dave",   "--tier",  "senior",
	                     "--skill", "billing=4", "--capacity",   "chat=2", "--queue", "chat-q",
	                     "--admin", addr,        "--token-file", tf,       NULL};
	assert_int_equal(run(h, add, &out), 0);
	assert_non_null(strstr(out, "billing:4"));
	assert_non_null(
	    strstr(harness_hget(h, harness_key(h, "agent:dave"), "roster"), "\"billing\":4"));

	const char *set[] = {sbctl,     "roster", "set",          "dave", "--skill", "billing=2",
	                     "--admin", addr,     "--token-file", tf,     NULL};
	assert_int_equal(run(h, set, &out), 0);
	assert_non_null(strstr(out, "billing:2"));

	const char *list[] = {sbctl, "roster", "list", "--admin", addr, NULL};
	assert_int_equal(run(h, list, &out), 0);
	assert_non_null(strstr(out, "dave"));
	assert_non_null(strstr(out, "chat:2"));

	const char *rm[] = {sbctl, "roster",       "rm", "dave", "--admin",
	                    addr,  "--token-file", tf,   NULL};
	assert_int_equal(run(h, rm, &out), 0);
	assert_int_equal(run(h, rm, &out), 1);
	assert_non_null(strstr(out, "NOT_FOUND"));

	const char *noauth[] = {sbctl, "roster", "add", "erin", "--admin", addr, NULL};
	assert_int_equal(run(h, noauth, &out), 1);
	assert_non_null(strstr(out, "UNAUTHENTICATED"));

	harness_available(h, alice);
	const char *force[] = {sbctl,     "force-state", "alice",        "break", "coaching",
	                       "--admin", addr,          "--token-file", tf,      NULL};
	assert_int_equal(run(h, force, &out), 0);
	assert_non_null(strstr(out, "alice is now break coaching"));
	harness_await(h, alice, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);

	const char *agents[] = {sbctl, "agents", "--admin", addr, NULL};
	assert_int_equal(run(h, agents, &out), 0);
	assert_non_null(strstr(out, "AGENT"));
	assert_non_null(strstr(out, "coaching"));

	const char *id = harness_submit_id(h, gw, "call-s1", VOICE, "voice-q");
	snprintf(cmd_contact, sizeof cmd_contact, "%s", id);
	const char *contact[] = {sbctl, "contact", cmd_contact, "--admin", addr, NULL};
	assert_int_equal(run(h, contact, &out), 0);
	assert_non_null(strstr(out, "call-s1"));
	assert_non_null(strstr(out, "eligible 0"));

	const char *usage[] = {sbctl, "force-state", "alice", "--admin", addr, NULL};
	assert_int_equal(run(h, usage, &out), 2);
	const char *nowhere[] = {sbctl, "status", "--admin", harness_free_addr(h), NULL};
	assert_int_equal(run(h, nowhere, &out), 1);
}

/* A token file others can read is refused at load, like every secret file. */
HARNESS_TEST(test_token_file_readable_by_others_is_refused)
{
	const char *open_path =
	    harness_write_file(h, "open.token", "itest-admin-token-0123456789abcdef\n");
	const char *cfg = harness_read_file(h, harness_config_path(h));
	const char *tf = harness_admin_token_file(h), *at = strstr(cfg, tf), *out;
	char *text = NULL;

	assert_int_equal(chmod(open_path, 0644), 0);
	assert_non_null(at);
	assert_true(asprintf(&text, "%.*s%s%s", (int)(at - cfg), cfg, open_path, at + strlen(tf)) >
	            0);
	const char *cpath = harness_write_file(h, "open.yaml", text);
	free(text);
	const char *check[] = {harness_daemon_path(), "--check-config", cpath, NULL};
	assert_int_equal(run(h, check, &out), 1);
	assert_non_null(strstr(out, "accessible to other users"));
	const char *good[] = {harness_daemon_path(), "--check-config", harness_config_path(h),
	                      NULL};
	assert_int_equal(run(h, good, &out), 0);
}

/* --admin-listen overrides the file's admin.listen, like the other
 * addresses; and without admin.token_file changes are refused (403), not
 * open. */
HARNESS_TEST(test_command_line_overrides_admin_listen)
{
	const char *variant = harness_write_config_variant(
	    h, "second.yaml", harness_free_addr(h), harness_free_addr(h), harness_redis_addr(h));
	const char *text = harness_read_file(h, variant);
	const char *line = strstr(text, "  token_file:");
	assert_non_null(line);
	char *no_token = NULL;
	assert_true(
	    asprintf(&no_token, "%.*s%s", (int)(line - text), text, strchr(line, '\n') + 1) > 0);
	const char *cfg = harness_write_file(h, "second-no-token.yaml", no_token);
	free(no_token);
	const char *addr = harness_free_addr(h);
	const char *argv[] = {harness_daemon_path(), "-c", cfg, "--admin-listen", addr, NULL};
	pid_t pid = harness_spawn(h, argv, "second.log");
	int status = 0;

	/* a connection refused until it listens: poll /healthz, bounded */
	for (int i = 0; status != 200; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bool up = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
		close(fd);
		if (up) {
			struct resp r = http_at(addr, "GET", "/healthz", NULL, NULL, HTTP_MS);
			status = r.status;
			resp_free(&r);
		}
		assert_true(i < 200);
		if (status != 200)
			harness_sleep(h, 50);
	}
	struct resp r =
	    http_at(addr, "POST", "/v1/roster", harness_admin_token(h), "{\"id\":\"x\"}", HTTP_MS);
	expect_error(&r, 403, "FORBIDDEN");
	r = http_at(addr, "POST", "/v1/reload", NULL, NULL, HTTP_MS);
	expect_error(&r, 403, "FORBIDDEN");
	assert_int_equal(harness_kill(h, pid), 0);
}

/* A roster change made over the API survives a crash (recovered from Redis
 * at start) and a reload (it wins over the file). */
HARNESS_TEST(test_roster_change_survives_restart_and_reload)
{
	const char *tok = harness_admin_token(h);
	struct resp r = http(h, "POST", "/v1/roster", tok,
			     "{\"id\":\"zoe\",\"tier\":\"senior\",\"skills\":{\"billing\":4}}");
	expect_status(&r, 201);
	resp_free(&r);
	r = http(h, "PATCH", "/v1/roster/bob", tok, "{\"tier\":\"senior\"}");
	expect_status(&r, 200);
	resp_free(&r);
	r = http(h, "DELETE", "/v1/roster/carol", tok, NULL);
	expect_status(&r, 200);
	resp_free(&r);

	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
	r = http(h, "GET", "/v1/agents/zoe", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	r = http(h, "GET", "/v1/agents/bob", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(&r, "tier"), "senior");
	resp_free(&r);
	r = http(h, "GET", "/v1/agents/carol", NULL, NULL);
	expect_status(&r, 404);
	resp_free(&r);

	/* The file still says bob is regular and carol exists: the API wins. */
	harness_daemon_signal(h, SIGHUP);
	assert_true(harness_log_wait(h, "reload: applied", 3000));
	r = http(h, "GET", "/v1/agents/bob", NULL, NULL);
	assert_string_equal(jstr(&r, "tier"), "senior");
	resp_free(&r);
	r = http(h, "GET", "/v1/agents/carol", NULL, NULL);
	expect_status(&r, 404);
	resp_free(&r);
	r = http(h, "GET", "/v1/roster", NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	/* zoe can log in with a token minted for an API agent. */
	harness_agent(h, "zoe");
}

/* POST /v1/reload asks for the same reload as SIGHUP. */
HARNESS_TEST(test_reload_is_requested)
{
	struct resp r = http(h, "POST", "/v1/reload", NULL, NULL);
	expect_error(&r, 401, "UNAUTHENTICATED");
	r = http(h, "POST", "/v1/reload", harness_admin_token(h), NULL);
	expect_status(&r, 202);
	assert_string_equal(jstr(&r, "reload"), "requested");
	resp_free(&r);
	assert_true(harness_log_wait(h, "reload: reading", 2000));
	const char *argv[] = {
	    harness_sbctl_path(h),       "reload", "--admin", harness_admin_addr(h), "--token-file",
	    harness_admin_token_file(h), NULL};
	const char *out;
	assert_int_equal(harness_run(h, argv, RUN_MS, &out), 0);
	assert_non_null(strstr(out, "reload requested"));
	assert_true(harness_daemon_alive(h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_health_ready_and_status),
	    T(test_unknown_route_404_and_wrong_method_405),
	    T(test_changes_need_the_bearer_token),
	    T(test_changes_log_who_made_them),
	    T(test_roster_create_change_remove_is_durable),
	    T(test_roster_change_survives_restart_and_reload),
	    T(test_roster_refuses_bad_input),
	    T(test_supervisor_forces_an_agent_state),
	    T(test_supervisor_requeues_a_contact_left_with_a_departed_agent),
	    T(test_supervisor_closes_a_contact_left_after_a_restart),
	    T(test_connected_agent_is_told_its_contact_was_taken),
	    T(test_queues_agents_and_contact_explain),
	    T(test_config_in_force_is_redacted),
	    T(test_store_down_not_ready_and_changes_refused),
	    T(test_limits_body_headers_connections),
	    T(test_metrics_are_valid_prometheus_exposition),
	    cmocka_unit_test(test_prometheus_parser_refuses_bad_expositions),
	    T(test_sbctl_ops_commands),
	    T(test_token_file_readable_by_others_is_refused),
	    T(test_command_line_overrides_admin_listen),
	    T(test_reload_is_requested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

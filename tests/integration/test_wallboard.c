/* The wallboard (docs/wallboard.md, docs/admin-api.md "Wallboard") against a
 * real daemon and Redis: the page and its headers, the JSON snapshot's
 * figures after real traffic, the server-sent event stream (a snapshot at
 * once, another after a change, outliving admin.timeout_ms, cleaned up when
 * its client leaves) and the cap on streams. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define HTTP_MS 3000
#define WAIT_MS 8000
#define MAX_STREAMS 2

/* GET (or another method) to the harness's daemon's admin port. */
static struct resp http(struct harness *h, const char *method, const char *path)
{
	return http_at(harness_admin_addr(h), method, path, NULL, NULL, HTTP_MS);
}

static double jnum(const struct jv *root, const char *path)
{
	const struct jv *v = jpath(root, path);

	if (v == NULL || v->type != JV_NUMBER)
		fail_msg("no number at %s", path);
	return v->num;
}

static const char *jstr(const struct jv *root, const char *path)
{
	const struct jv *v = jpath(root, path);

	if (v == NULL || v->type != JV_STRING)
		fail_msg("no string at %s", path);
	return v->str;
}

/* The queue named name in a snapshot. */
static const struct jv *queue(const struct jv *snap, const char *name)
{
	const struct jv *qs = jpath(snap, "queues");

	assert_non_null(qs);
	for (size_t i = 0; i < qs->n; i++)
		if (strcmp(jstr(&qs->items[i], "name"), name) == 0)
			return &qs->items[i];
	fail_msg("no queue %s in the snapshot", name);
	return NULL;
}

/* GET /v1/wallboard until pred holds (bounded); returns that snapshot. */
static struct resp snapshot_until(struct harness *h, bool (*pred)(const struct jv *, void *),
                                  void *arg, const char *what)
{
	int64_t end = harness_now_ms() + WAIT_MS;

	for (;;) {
		struct resp r = http(h, "GET", "/v1/wallboard");
		assert_int_equal(r.status, 200);
		assert_non_null(r.json);
		if (pred(r.json, arg))
			return r;
		if (harness_now_ms() > end)
			fail_msg("the snapshot never showed %s: %s", what, r.body);
		resp_free(&r);
		harness_sleep(h, 100);
	}
}

/* ---- event streams ------------------------------------------------------------ */

/* An open stream: the socket and what came so far. Owner: the test. */
struct stream {
	int fd;
	char *buf;
	size_t len, cap, used; /* used: bytes already handed out as events */
};

static void stream_open(struct harness *h, struct stream *s)
{
	memset(s, 0, sizeof *s);
	s->fd = http_connect(harness_admin_addr(h));
	s->cap = 1 << 16;
	s->buf = malloc(s->cap + 1);
	assert_non_null(s->buf);
	const char *req = "GET /v1/wallboard/events HTTP/1.1\r\nHost: test\r\n"
	                  "Accept: text/event-stream\r\n\r\n";
	http_send_all(s->fd, req, strlen(req));
}

static void stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

/* Reads what is there within ms; false once the peer closed. */
static bool stream_fill(struct stream *s, int ms)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	if (poll(&p, 1, ms) <= 0)
		return true;
	if (s->len + 4096 > s->cap) {
		s->cap *= 2;
		s->buf = realloc(s->buf, s->cap + 1);
		assert_non_null(s->buf);
	}
	ssize_t n = recv(s->fd, s->buf + s->len, s->cap - s->len, 0);
	if (n <= 0)
		return false;
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return true;
}

/* The next "snapshot" event's data, parsed (the caller frees), within
 * WAIT_MS; fails otherwise. Chunked framing sits between events, so the
 * data line is found by its prefix. */
static struct jv *stream_next(struct harness *h, struct stream *s)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	char err[160];

	for (;;) {
		s->buf[s->len] = '\0';
		char *ev = strstr(s->buf + s->used, "event: snapshot\ndata: ");
		char *eol = ev != NULL ? strstr(ev, "\n\n") : NULL;
		if (eol != NULL) {
			char *data = ev + strlen("event: snapshot\ndata: ");
			struct jv *v = jv_parse(data, (size_t)(eol - data), err, sizeof err);
			if (v == NULL)
				fail_msg("an event's data is not JSON: %s", err);
			s->used = (size_t)(eol + 2 - s->buf);
			return v;
		}
		if (harness_now_ms() > end)
			fail_msg("no snapshot event within %d ms", WAIT_MS);
		if (!stream_fill(s, 100))
			fail_msg("the daemon closed the stream: %s", s->buf);
		harness_sleep(h, 0);
	}
}

/* ---- fixture ------------------------------------------------------------------ */

static int wallboard_setup(void **state)
{
	struct harness_opts o = {
	    .admin = true,
	    /* streams must outlive the idle timeout */
	    .admin_yaml = "  max_event_streams: 2\n  timeout_ms: 1000\n",
	    /* the default (last) tier breaches after 1.5 s on voice (30 s x 0.05) */
	    .extra_yaml = "customer_tiers:\n  - name: vip\n    sla_factor: 1\n"
	                  "  - name: standard\n    sla_factor: 0.05\n",
	    .agent_grace_ms = -1,
	};
	*state = harness_start(&o);
	return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, wallboard_setup, harness_teardown)

/* ---- tests ---------------------------------------------------------------------- */

HARNESS_TEST(test_page_is_served_with_its_headers)
{
	static const char *const pages[] = {"/", "/wallboard", "/wallboard/"};
	struct resp r;

	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		r = http(h, "GET", pages[i]);
		assert_int_equal(r.status, 200);
		assert_string_equal(http_header(r.head, "Content-Type"), "text/html; charset=utf-8");
		const char *csp = http_header(r.head, "Content-Security-Policy");
		assert_non_null(csp);
		assert_non_null(strstr(csp, "default-src 'self'"));
		assert_null(strstr(csp, "unsafe-inline"));
		assert_string_equal(http_header(r.head, "X-Content-Type-Options"), "nosniff");
		assert_string_equal(http_header(r.head, "Cache-Control"), "no-store");
		assert_true(strncmp(r.body, "<!DOCTYPE html>", 15) == 0);
		/* self-contained: the page loads only its own files */
		assert_non_null(strstr(r.body, "src=\"/wallboard.js\""));
		assert_null(strstr(r.body, "http://"));
		assert_null(strstr(r.body, "https://"));
		resp_free(&r);
	}
	r = http(h, "GET", "/wallboard.js");
	assert_int_equal(r.status, 200);
	assert_string_equal(http_header(r.head, "Content-Type"), "text/javascript; charset=utf-8");
	assert_non_null(strstr(r.body, "EventSource('/v1/wallboard/events')"));
	assert_null(strstr(r.body, "https://"));
	resp_free(&r);
	r = http(h, "GET", "/wallboard.css");
	assert_int_equal(r.status, 200);
	assert_string_equal(http_header(r.head, "Content-Type"), "text/css; charset=utf-8");
	resp_free(&r);
	r = http(h, "HEAD", "/");
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "");
	resp_free(&r);
	r = http(h, "POST", "/wallboard");
	assert_int_equal(r.status, 405);
	resp_free(&r);
}

static bool breached_and_waiting(const struct jv *snap, void *arg)
{
	const struct jv *ev = jpath(snap, "events.0");

	(void)arg;
	return ev != NULL && strcmp(jstr(ev, "kind"), "sla_breached") == 0 &&
	       jnum(snap, "waiting.total") == 2;
}

HARNESS_TEST(test_snapshot_has_the_figures)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *first, *offer;
	struct resp r;
	const struct jv *q, *a;

	/* nothing yet */
	r = http(h, "GET", "/v1/wallboard");
	assert_int_equal(r.status, 200);
	assert_string_equal(http_header(r.head, "Content-Type"), "application/json");
	assert_int_equal((int)jnum(r.json, "waiting.total"), 0);
	assert_int_equal((int)jnum(r.json, "agents.counts.logged_out"), 2);
	assert_int_equal((int)jnum(r.json, "agents.counts.offline"), 1);
	assert_null(jpath(r.json, "at_risk.margin_pct"));
	assert_int_equal((int)jnum(r.json, "at_risk.wait_pct"), 80);
	assert_true(jnum(r.json, "today_since_ms") <= jnum(r.json, "now_ms"));
	assert_true(jnum(r.json, "now_ms") - jnum(r.json, "today_since_ms") <= 25.0 * 3600 * 1000);
	assert_int_equal(jpath(r.json, "queues")->n, 4);
	assert_int_equal(jpath(r.json, "events")->n, 0);
	q = queue(r.json, "voice-q");
	assert_string_equal(jstr(q, "status"), "on_target");
	assert_int_equal(jpath(q, "service_level.window")->type, JV_NULL);
	/* the first history sample is taken at start */
	assert_true(jpath(q, "history.samples")->n >= 1);
	resp_free(&r);

	/* three calls; alice takes the first, the other two wait */
	first = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_available(h, alice);
	offer = harness_offer_for(h, alice, first, 3000);
	harness_accept(h, alice, offer, first);
	harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	harness_submit_id(h, gw, "call-3", VOICE, "voice-q");

	/* the waiting ones pass their 1.5 s threshold */
	r = snapshot_until(h, breached_and_waiting, NULL, "an SLA breach and two waiting");
	assert_int_equal((int)jnum(r.json, "waiting.by_channel.voice"), 2);
	assert_int_equal((int)jnum(r.json, "waiting.by_tier.standard"), 2);
	assert_int_equal((int)jnum(r.json, "waiting.by_tier.vip"), 0);
	q = queue(r.json, "voice-q");
	assert_int_equal((int)jnum(q, "waiting"), 2);
	assert_int_equal((int)jnum(q, "waiting_by_tier.standard"), 2);
	assert_true(jnum(q, "longest_wait_ms") >= 1500);
	assert_int_equal((int)jnum(q, "today.answered"), 1);
	assert_int_equal((int)jnum(q, "today.abandoned"), 0);
	assert_true(jnum(q, "today.asa_ms") >= 0);
	assert_true(jnum(q, "service_level.window") == 1.0);
	assert_true(jnum(q, "service_level.today") == 1.0);
	/* the service level meets the target, but two contacts wait past
	 * their threshold now: red, not amber */
	assert_string_equal(jstr(q, "status"), "breached");
	assert_int_equal((int)jnum(q, "past_sla"), 2);
	assert_non_null(strstr(jstr(q, "status_reason"), "past the SLA"));
	/* agents by the state shown, each counted once: alice holds a call,
	 * so she is on contact and not also available */
	assert_int_equal((int)jnum(r.json, "agents.counts.available"), 0);
	assert_int_equal((int)jnum(r.json, "agents.counts.on_contact"), 1);
	assert_int_equal((int)jnum(r.json, "agents.counts.offline"), 0);
	assert_int_equal((int)jnum(r.json, "agents.counts.logged_out"), 2);
	assert_string_equal(jstr(r.json, "agents.list.0.shown"), "on_contact");
	/* the counts add up to the roster */
	assert_int_equal((int)(jnum(r.json, "agents.counts.available") +
	                       jnum(r.json, "agents.counts.on_contact") +
	                       jnum(r.json, "agents.counts.break") +
	                       jnum(r.json, "agents.counts.offline") +
	                       jnum(r.json, "agents.counts.logged_out")),
	                 3);
	a = jpath(r.json, "agents.list.0");
	assert_string_equal(jstr(a, "id"), "alice");
	assert_string_equal(jstr(a, "name"), "Alice Example");
	assert_string_equal(jstr(a, "state"), "available");
	assert_int_equal(jpath(a, "logged_in")->b, true);
	assert_int_equal(jpath(a, "away")->b, false);
	assert_int_equal((int)jnum(a, "channels.voice.load"), 1);
	assert_int_equal((int)jnum(a, "channels.voice.capacity"), 1);
	assert_true(jnum(a, "time_in_state_ms") >= 0);
	assert_string_equal(jstr(r.json, "agents.list.1.state"), "logged_out");
	/* the breach, newest first */
	assert_string_equal(jstr(r.json, "events.0.queue"), "voice-q");
	assert_string_equal(jstr(r.json, "events.0.channel"), "voice");
	assert_string_equal(jstr(r.json, "events.0.customer_tier"), "standard");
	assert_int_equal((int)jnum(r.json, "events.0.sla_ms"), 1500);
	assert_true(jnum(r.json, "events.0.waited_ms") >= 1500);
	resp_free(&r);
}

/* Contacts wait and nobody who could take them is available: red at once,
 * long before any of them passes 80 % of its threshold. */
HARNESS_TEST(test_waiting_with_no_agent_is_red_at_once)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct resp r;
	const struct jv *q;

	harness_agent(h, "alice"); /* logged in, offline */
	harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	r = http(h, "GET", "/v1/wallboard");
	assert_int_equal(r.status, 200);
	q = queue(r.json, "voice-q");
	assert_int_equal((int)jnum(q, "waiting"), 2);
	if (jnum(q, "longest_wait_ms") >= 1200)
		fail_msg("the snapshot came too late to tell (a very slow machine): run again");
	assert_string_equal(jstr(q, "status"), "breached");
	assert_int_equal(jpath(q, "staffed")->b, false);
	assert_non_null(strstr(jstr(q, "status_reason"), "no agent available"));
	/* a queue with nobody waiting stays green */
	assert_string_equal(jstr(queue(r.json, "chat-q"), "status"), "on_target");
	resp_free(&r);
}

/* A service level below target with nobody waiting: amber, and the SL is
 * shown beside the target, never as "x % below" (read as points or not?). */
static bool answered_late(const struct jv *snap, void *arg)
{
	const struct jv *q = queue(snap, "voice-q");

	(void)arg;
	return jnum(q, "waiting") == 0 && jpath(q, "service_level.window")->type == JV_NUMBER;
}

HARNESS_TEST(test_sl_below_target_reads_against_the_target)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id, *offer;
	struct resp r;
	const struct jv *q;

	id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	harness_sleep(h, 1700); /* past its 1.5 s threshold */
	harness_available(h, alice);
	offer = harness_offer_for(h, alice, id, 3000);
	harness_accept(h, alice, offer, id);
	r = snapshot_until(h, answered_late, NULL, "the late answer counted");
	q = queue(r.json, "voice-q");
	assert_true(jnum(q, "service_level.window") == 0.0);
	assert_string_equal(jstr(q, "status"), "at_risk");
	assert_string_equal(jstr(q, "status_reason"), "SL 0% (target 80%)");
	resp_free(&r);
}

/* "In state" is the time in the state shown: going on contact restarts it. */
static bool alice_on_contact(const struct jv *snap, void *arg)
{
	(void)arg;
	return jnum(snap, "agents.list.0.channels.voice.load") == 1;
}

HARNESS_TEST(test_time_in_state_restarts_on_contact)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id, *offer;
	struct resp r;
	int64_t before;

	harness_available(h, alice);
	harness_sleep(h, 2000); /* available, idle, for 2 s */
	before = harness_now_ms();
	id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	offer = harness_offer_for(h, alice, id, 3000);
	harness_accept(h, alice, offer, id);
	r = snapshot_until(h, alice_on_contact, NULL, "alice on contact");
	/* counted from the offer, not from when she became available */
	assert_true(jnum(r.json, "agents.list.0.time_in_state_ms") <=
	            (double)(harness_now_ms() - before) + 100);
	resp_free(&r);
}

/* Today's figures and the hour chart outlive a restart (even a crash: they
 * are saved every few seconds); and after it, contacts that wait with no
 * agent logged in show red at once. */
static bool restored(const struct jv *snap, void *arg)
{
	const struct jv *q = queue(snap, "voice-q");

	(void)arg;
	return jnum(q, "today.answered") == 1 && jnum(q, "waiting") == 1;
}

HARNESS_TEST(test_today_and_the_hour_survive_a_restart)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id, *offer, *saved = NULL;
	unsigned long long offered = 0, answered = 0;
	struct resp r;
	const struct jv *q;
	double samples_before, oldest_before;
	int64_t end;

	harness_available(h, alice);
	id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	offer = harness_offer_for(h, alice, id, 3000);
	harness_accept(h, alice, offer, id);
	harness_submit_id(h, gw, "call-2", VOICE, "voice-q"); /* alice is full: it waits */
	/* saved within a few seconds */
	for (end = harness_now_ms() + WAIT_MS;; harness_sleep(h, 200)) {
		saved = harness_hget(h, harness_key(h, "wallboard"), "q:voice-q");
		if (saved != NULL && sscanf(saved, "%llu %llu", &offered, &answered) == 2 &&
		    answered == 1)
			break;
		if (harness_now_ms() > end)
			fail_msg("today's figures were not saved: %s", saved ? saved : "(none)");
	}
	r = http(h, "GET", "/v1/wallboard");
	q = queue(r.json, "voice-q");
	samples_before = (double)jpath(q, "history.samples")->n;
	oldest_before = jnum(r.json, "now_ms") + 1000 * jnum(q, "history.samples.0.0");
	resp_free(&r);

	harness_daemon_signal(h, SIGKILL);
	harness_close(h, alice);
	harness_close(h, gw);
	harness_daemon_restart(h);

	r = snapshot_until(h, restored, NULL, "today's answer after the restart");
	q = queue(r.json, "voice-q");
	assert_int_equal((int)jnum(q, "today.answered"), 1);
	assert_true(jnum(q, "service_level.today") == 1.0);
	assert_true(jnum(q, "today.asa_ms") >= 0);
	/* the hour chart kept its samples from before */
	assert_true((double)jpath(q, "history.samples")->n >= samples_before + 1);
	assert_true(jnum(r.json, "now_ms") + 1000 * jnum(q, "history.samples.0.0") <=
	            oldest_before + 1000);
	/* one waiting, nobody logged in to take it: red now, not later */
	assert_int_equal((int)jnum(r.json, "agents.counts.logged_out"), 3);
	assert_string_equal(jstr(q, "status"), "breached");
	resp_free(&r);
}

static bool one_waiting(const struct jv *snap, void *arg)
{
	(void)arg;
	return jnum(snap, "waiting.total") == 1;
}

static bool streams_are(const struct jv *snap, void *arg)
{
	return jnum(snap, "streams") == (double)(intptr_t)arg;
}

HARNESS_TEST(test_stream_sends_snapshots_and_updates)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct stream s;
	struct jv *v;
	struct resp r;
	int64_t opened;

	stream_open(h, &s);
	opened = harness_now_ms();
	v = stream_next(h, &s);
	assert_non_null(strstr(s.buf, "HTTP/1.1 200"));
	assert_non_null(strstr(s.buf, "Content-Type: text/event-stream"));
	assert_non_null(strstr(s.buf, "retry: "));
	assert_int_equal((int)jnum(v, "waiting.total"), 0);
	assert_int_equal((int)jnum(v, "streams"), 1);
	jv_free(v);

	/* a change comes down the stream */
	harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	for (;;) {
		v = stream_next(h, &s);
		bool seen = jnum(v, "waiting.total") == 1;
		if (seen)
			assert_int_equal((int)jnum(v, "queues.0.waiting"), 1);
		jv_free(v);
		if (seen)
			break;
	}
	/* with nothing happening, snapshots keep coming, past admin.timeout_ms
	 * (1 s here), which does not apply to a stream */
	while (harness_now_ms() - opened < 2500) {
		v = stream_next(h, &s);
		jv_free(v);
	}
	r = snapshot_until(h, one_waiting, NULL, "one waiting");
	assert_int_equal((int)jnum(r.json, "streams"), 1);
	resp_free(&r);

	/* the client leaves: the stream is cleaned up */
	stream_close(&s);
	r = snapshot_until(h, streams_are, (void *)(intptr_t)0, "no stream left");
	resp_free(&r);
}

HARNESS_TEST(test_too_many_streams_are_refused)
{
	struct stream s[MAX_STREAMS], extra;
	struct jv *v;
	struct resp r;

	for (int i = 0; i < MAX_STREAMS; i++) {
		stream_open(h, &s[i]);
		v = stream_next(h, &s[i]);
		jv_free(v);
	}
	r = http(h, "GET", "/v1/wallboard/events");
	assert_int_equal(r.status, 503);
	assert_non_null(r.json);
	assert_string_equal(jstr(r.json, "error.code"), "TOO_MANY_STREAMS");
	resp_free(&r);
	/* the page itself and the snapshot still answer */
	r = http(h, "GET", "/v1/wallboard");
	assert_int_equal(r.status, 200);
	assert_int_equal((int)jnum(r.json, "streams"), MAX_STREAMS);
	resp_free(&r);

	/* one leaves: a new one is let in */
	stream_close(&s[0]);
	r = snapshot_until(h, streams_are, (void *)(intptr_t)(MAX_STREAMS - 1), "a stream gone");
	resp_free(&r);
	stream_open(h, &extra);
	v = stream_next(h, &extra);
	assert_int_equal((int)jnum(v, "streams"), MAX_STREAMS);
	jv_free(v);
	stream_close(&extra);
	for (int i = 1; i < MAX_STREAMS; i++)
		stream_close(&s[i]);
	r = snapshot_until(h, streams_are, (void *)(intptr_t)0, "no stream left");
	resp_free(&r);
}

/* "Today" restarts at local midnight: the daemon runs in a time zone whose
 * midnight is a few seconds away; what was answered before it no longer
 * counts today after it, while the rolling window still has it. */
static int midnight_setup(void **state)
{
	struct timeval tv;
	char tz[64];

	gettimeofday(&tv, NULL);
	/* POSIX TZ: local = UTC - offset; make local time 23:59:52 now */
	long offset = ((long)(tv.tv_sec % 86400) + 8) % 86400;
	snprintf(tz, sizeof tz, "SBT%ld:%02ld:%02ld", offset / 3600, offset / 60 % 60, offset % 60);
	setenv("TZ", tz, 1); /* the daemon inherits it */
	return wallboard_setup(state);
}

static bool answered_one(const struct jv *snap, void *arg)
{
	(void)arg;
	return jnum(queue(snap, "voice-q"), "today.answered") == 1;
}

static bool new_day(const struct jv *snap, void *arg)
{
	return jnum(snap, "today_since_ms") != *(double *)arg;
}

HARNESS_TEST(test_today_starts_at_local_midnight)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	const char *id, *offer;
	double midnight;
	struct resp r;
	const struct jv *q;

	r = http(h, "GET", "/v1/wallboard");
	midnight = jnum(r.json, "today_since_ms");
	/* local midnight is in the past, within a day */
	assert_true(midnight <= jnum(r.json, "now_ms"));
	assert_true(jnum(r.json, "now_ms") - midnight < 86400.0 * 1000);
	resp_free(&r);

	harness_available(h, alice);
	id = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	offer = harness_offer_for(h, alice, id, 3000);
	harness_accept(h, alice, offer, id);
	r = snapshot_until(h, answered_one, NULL, "one answered today");
	if (jnum(r.json, "today_since_ms") != midnight)
		fail_msg("midnight came before the answer (a very slow machine): run again");
	resp_free(&r);

	/* past midnight: a new day, nothing answered in it yet */
	r = snapshot_until(h, new_day, &midnight, "a new day");
	assert_true(jnum(r.json, "today_since_ms") > midnight);
	assert_true(jnum(r.json, "today_since_ms") <= jnum(r.json, "now_ms"));
	q = queue(r.json, "voice-q");
	assert_int_equal((int)jnum(q, "today.answered"), 0);
	assert_int_equal(jpath(q, "service_level.today")->type, JV_NULL);
	assert_int_equal(jpath(q, "today.asa_ms")->type, JV_NULL);
	/* the window is not a day: it still counts the answer */
	assert_int_equal((int)jnum(q, "window.answered"), 1);
	resp_free(&r);
	unsetenv("TZ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_page_is_served_with_its_headers),
	    T(test_snapshot_has_the_figures),
	    T(test_waiting_with_no_agent_is_red_at_once),
	    T(test_time_in_state_restarts_on_contact),
	    T(test_sl_below_target_reads_against_the_target),
	    T(test_today_and_the_hour_survive_a_restart),
	    T(test_stream_sends_snapshots_and_updates),
	    T(test_too_many_streams_are_refused),
	    cmocka_unit_test_setup_teardown(test_today_starts_at_local_midnight, midnight_setup,
	                                    harness_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The limits (limits.* in the config): no client can make the daemon grow
 * without bound. Each case starts a daemon with small limits, drives one
 * client over one of them, checks the documented Error or the disconnection,
 * and then checks that other clients still work. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <cmocka.h>

#include "harness.h"
#include "wire/frame.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define CHAT SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define ROLE_GATEWAY SWITCHBOARD__V1__ROLE__ROLE_GATEWAY

/* Small connection, backlog and attribute limits. */
#define SMALL_LIMITS                                                                               \
	"  max_gateway_connections: 3\n"                                                           \
	"  max_connections_per_address: 5\n"                                                       \
	"  max_waiting: 3\n"                                                                       \
	"  max_waiting_per_queue: 2\n"                                                             \
	"  max_attributes: 2\n"                                                                    \
	"  max_attribute_bytes: 32\n"

/* The frame rate limit of the rate tests. */
#define RATE_FPS 50

/* The output cap of the never-reading client, and how much the daemon's
 * resident memory may grow while it floods (generous: allocator slack). */
#define READER_CAP 65536
#define READER_RSS_BOUND_KB (32 * 1024)

/* AddressSanitizer keeps freed memory in a quarantine (256 MiB by default),
 * which would hide whether the daemon itself stays bounded. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Starts a daemon with the given lines under limits:. */
static int setup_with(void **state, const char *limits)
{
	struct harness_opts o = { .limits_yaml = limits };

	*state = harness_start(&o);
	return 0;
}

/* Fixture: connection, backlog and attribute limits. */
static int setup_small(void **state)
{
	return setup_with(state, SMALL_LIMITS);
}

/* Fixture: RATE_FPS frames per second per connection. */
static int setup_rate(void **state)
{
	return setup_with(state, "  frames_per_second: 50\n");
}

/* Fixture: a small output cap, and no rate limit to speak of, so that the
 * cap is what stops a flood. */
static int setup_reader(void **state)
{
#ifdef TEST_ASAN
	/* A small quarantine for the daemon about to start (a later option
	 * overrides an earlier one), so freed memory is reused as in a normal
	 * build. */
	const char *old = getenv("ASAN_OPTIONS");
	char opts[512];

	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=8", old ? old : "",
		 old && old[0] ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
	return setup_with(state, "  output_buffer_max_bytes: 65536\n"
				 "  frames_per_second: 1000000\n");
}

/* A login over a cap is turned away: its Hello (with good credentials) is
 * answered Error OVERLOADED whose message contains want, then the close.
 * Caps count logged-in connections only, so the refusal comes at Hello. */
static void login_refused(struct harness *h, enum harness_port port, const char *id,
			  const char *want)
{
	struct sbc *c = harness_connect(h, port);
	bool gw = port == HARNESS_GATEWAY_PORT;
	int rc = sbc_hello(c, gw ? ROLE_GATEWAY : SWITCHBOARD__V1__ROLE__ROLE_AGENT, id,
			   gw ? harness_gateway_secret(h, id) : harness_token(h, id, 3600),
			   HARNESS_REPLY_MS, NULL);

	if (rc != SB_ERR_CODE(OVERLOADED))
		fail_msg("Hello as %s answered %d (%s), expected OVERLOADED", id, rc,
			 sbc_last_error(c));
	if (strstr(sbc_last_error(c), want) == NULL)
		fail_msg("OVERLOADED says '%s', expected it to name '%s'", sbc_last_error(c), want);
	harness_assert_closed(h, c, HARNESS_REPLY_MS);
}

/* A new gateway logs in as id, retrying briefly: a closed connection is
 * uncounted only once the daemon has seen the close. */
static struct sbc *gateway_after_close(struct harness *h, const char *id)
{
	for (int i = 0; i < 20; i++) {
		struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
		int rc = sbc_hello(c, ROLE_GATEWAY, id, harness_gateway_secret(h, id),
				   HARNESS_REPLY_MS, NULL);
		if (rc == 0) {
			harness_keepalive(h, c, true);
			return c;
		}
		harness_close(h, c);
		harness_sleep(h, 100);
	}
	fail_msg("gateway %s was not let in again after a connection closed", id);
	return NULL;
}

/* Submits with attributes; returns the seq. */
static uint64_t submit_attrs(struct sbc *gw, const char *ext, const char *const *keys,
			     const char *const *values, size_t n)
{
	struct sbc_submit s = { .external_id = ext,
				.channel = VOICE,
				.queue = "voice-q",
				.attr_keys = keys,
				.attr_values = values,
				.n_attrs = n };
	return sbc_submit(gw, &s);
}

/* Submits and expects Error OVERLOADED whose message contains want. */
static void submit_overloaded(struct harness *h, struct sbc *gw, const char *ext,
			      Switchboard__V1__Channel ch, const char *queue, const char *want)
{
	struct sbc_submit s = { .external_id = ext, .channel = ch, .queue = queue };
	Envelope *env = harness_expect_error(h, gw, sbc_submit(gw, &s), SB_ERR_CODE(OVERLOADED),
					     HARNESS_REPLY_MS);

	if (strstr(env->error->message, want) == NULL)
		fail_msg("OVERLOADED says '%s', expected '%s'", env->error->message, want);
}

/* First seq of the flood's raw frames: above anything the client numbered. */
#define FLOOD_SEQ 100000

/* Appends a Ping frame with seq to *buf (of used bytes); returns its length. */
static size_t ping_frame(uint8_t **buf, size_t used, uint64_t seq)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ping p = SWITCHBOARD__V1__PING__INIT;
	uint8_t *one = NULL;
	size_t n;

	env.seq = seq;
	env.body_case = SB_BODY(PING);
	env.ping = &p;
	n = frame_encode(&env, &one);
	assert_true(n > 0);
	*buf = realloc(*buf, used + n);
	assert_non_null(*buf);
	memcpy(*buf + used, one, n);
	free(one);
	return n;
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

HARNESS_TEST(test_gateway_connection_over_limit_is_overloaded_and_closed)
{
	struct sbc *gw[3];

	gw[0] = harness_gateway(h, "gw1");
	gw[1] = harness_gateway(h, "gw2");
	gw[2] = harness_gateway(h, "gw1");
	login_refused(h, HARNESS_GATEWAY_PORT, "gw2", "max_gateway_connections");
	assert_true(harness_log_wait(h, "too many gateway connections", HARNESS_REPLY_MS));
	/* The gateways in, and an agent, still work. */
	for (int i = 0; i < 3; i++)
		harness_assert_open(h, gw[i]);
	harness_assert_open(h, harness_agent(h, "alice"));
	harness_submit(h, gw[0], "after-refusal", VOICE, "voice-q");
	/* One leaves: a new one is let in again. */
	harness_close(h, gw[2]);
	harness_assert_open(h, gateway_after_close(h, "gw2"));
}

HARNESS_TEST(test_connections_over_per_address_limit_are_overloaded)
{
	struct sbc *a = harness_agent(h, "alice");
	struct sbc *b = harness_agent(h, "bob");
	struct sbc *c = harness_agent(h, "carol");
	struct sbc *g1 = harness_gateway(h, "gw1");
	struct sbc *g2 = harness_gateway(h, "gw2");

	/* Five from 127.0.0.1, either role: the sixth is refused on both ports. */
	login_refused(h, HARNESS_AGENT_PORT, "alice", "max_connections_per_address");
	login_refused(h, HARNESS_GATEWAY_PORT, "gw1", "max_connections_per_address");
	assert_true(harness_log_wait(h, "too many connections from 127.0.0.1", HARNESS_REPLY_MS));
	harness_assert_open(h, a);
	harness_assert_open(h, b);
	harness_assert_open(h, c);
	harness_assert_open(h, g1);
	harness_submit(h, g2, "after-refusal", VOICE, "voice-q");
	harness_close(h, g1);
	harness_assert_open(h, gateway_after_close(h, "gw1"));
}

HARNESS_TEST(test_frames_over_rate_are_refused_then_served_again)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *other = harness_gateway(h, "gw2");
	uint64_t first = 0, last = 0;
	int pongs = 0, refused = 0;
	Envelope *env = NULL;

	/* A burst of 20 over the budget, fast enough that little refills. */
	harness_keepalive(h, gw, false);
	for (int i = 0; i < RATE_FPS + 20; i++) {
		last = sbc_ping(gw);
		assert_true(last != 0);
		if (first == 0)
			first = last;
	}
	while (pongs + refused < RATE_FPS + 20 && sbc_recv(gw, HARNESS_REPLY_MS, &env) == 1) {
		if (env->ref < first || env->ref > last) {
			envelope_free(env); /* a keepalive Pong from before the burst */
			continue;
		}
		if (env->body_case == SB_BODY(PONG)) {
			pongs++;
		} else {
			assert_int_equal(env->body_case, SB_BODY(ERROR));
			/* Each refusal answers the frame it drops. */
			assert_int_equal(env->error->code, SB_ERR_CODE(OVERLOADED));
			refused++;
		}
		envelope_free(env);
	}
	fprintf(stderr, "rate: %d pongs, %d refused of %d pings\n", pongs, refused,
		RATE_FPS + 20);
	assert_int_equal(pongs + refused, RATE_FPS + 20);
	/* Hello took one frame of the budget; a few more may refill meanwhile. */
	assert_true(pongs >= RATE_FPS - 1 && pongs < RATE_FPS + 20);
	assert_true(refused > 0);
	/* The budget refills: after a pause the client is served again. */
	harness_sleep(h, 1500);
	harness_assert_open(h, gw);
	harness_assert_open(h, other);
}

HARNESS_TEST(test_sustained_frame_flood_is_disconnected)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *other = harness_gateway(h, "gw2");
	int pongs = 0, refused = 0, rc;
	bool flood_notice = false;
	Envelope *env = NULL;
	uint64_t first = FLOOD_SEQ;
	uint8_t *bytes = NULL;
	size_t len = 0;

	/* Budget (RATE_FPS) plus two seconds' worth of refused frames, and more,
	 * in one write: the daemon hangs up half-way, and a write failing then
	 * would make the client drop what it has not read yet. */
	for (int i = 0; i < RATE_FPS * 4; i++)
		len += ping_frame(&bytes, len, FLOOD_SEQ + (uint64_t)i);
	harness_keepalive(h, gw, false);
	assert_int_equal(sbc_send_raw(gw, bytes, len), 0);
	free(bytes);
	while ((rc = sbc_recv(gw, HARNESS_REPLY_MS, &env)) == 1) {
		if (env->body_case == SB_BODY(PONG) && env->ref < first) {
			envelope_free(env); /* a keepalive Pong from before the flood */
			continue;
		}
		if (env->body_case == SB_BODY(PONG)) {
			pongs++;
		} else {
			assert_int_equal(env->body_case, SB_BODY(ERROR));
			assert_int_equal(env->error->code, SB_ERR_CODE(OVERLOADED));
			if (env->ref == 0 && strstr(env->error->message, "frame flood") != NULL)
				flood_notice = true;
			else
				refused++;
		}
		envelope_free(env);
	}
	fprintf(stderr, "flood: %d pongs, %d refused, then %s\n", pongs, refused,
		rc < 0 ? "closed" : "still open");
	assert_int_equal(rc, -1);
	assert_true(flood_notice);
	assert_true(refused >= RATE_FPS * 2 - 5);
	assert_true(harness_log_wait(h, "frame flood", HARNESS_REPLY_MS));
	assert_true(harness_daemon_alive(h));
	harness_assert_open(h, other);
	harness_submit(h, other, "after-flood", VOICE, "voice-q");
}

HARNESS_TEST(test_backlog_over_limits_is_overloaded_until_a_contact_leaves)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *v1 = harness_submit_id(h, gw, "v-1", VOICE, "voice-q");

	harness_submit(h, gw, "v-2", VOICE, "voice-q");
	/* max_waiting_per_queue: 2. */
	submit_overloaded(h, gw, "v-3", VOICE, "voice-q", "queue voice-q is full (2 waiting)");
	harness_submit(h, gw, "c-1", CHAT, "chat-q");
	/* max_waiting: 3, all queues. */
	submit_overloaded(h, gw, "e-1", EMAIL, "email-q", "too many contacts waiting");
	/* Nothing of a refused submit was stored. */
	assert_int_equal(harness_redis_int(h, "EXISTS %s", harness_key(h, "ext:gw1:v-3")), 0);
	/* A contact leaves: the queue takes one again. */
	harness_reply(h, gw, sbc_cancel(gw, v1, "abandoned"), SB_BODY(CONTACT_CANCELLED),
		      HARNESS_REPLY_MS);
	harness_submit(h, gw, "v-3", VOICE, "voice-q");
	submit_overloaded(h, gw, "e-2", EMAIL, "email-q", "too many contacts waiting");
	harness_assert_open(h, gw);
}

HARNESS_TEST(test_attributes_over_limits_are_invalid)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *const keys3[] = { "a", "b", "c" };
	const char *const vals3[] = { "1", "2", "3" };
	const char *const long_key[] = { "note" };
	const char *const long_val[] = { "0123456789012345678901234567890" }; /* 4 + 31 > 32 */
	const char *const ok_keys[] = { "lang", "vip" };
	const char *const ok_vals[] = { "0123456789012345678901234567", "yes" }; /* 4 + 28 */
	Envelope *env;

	env = harness_expect_error(h, gw, submit_attrs(gw, "a-1", keys3, vals3, 3),
				   SB_ERR_CODE(INVALID_ARGUMENT), HARNESS_REPLY_MS);
	assert_non_null(strstr(env->error->message, "too many attributes: 3 (max 2)"));
	env = harness_expect_error(h, gw, submit_attrs(gw, "a-2", long_key, long_val, 1),
				   SB_ERR_CODE(INVALID_ARGUMENT), HARNESS_REPLY_MS);
	assert_non_null(strstr(env->error->message, "attribute 0 is too long: 35 bytes"));
	harness_reply(h, gw, submit_attrs(gw, "a-3", ok_keys, ok_vals, 2),
		      SB_BODY(CONTACT_ACCEPTED), HARNESS_REPLY_MS);
	harness_assert_open(h, gw);
}

HARNESS_TEST(test_never_reading_client_is_cut_off_and_memory_stays_bounded)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	pid_t pid = harness_daemon_pid(h);
	int small = 65536;
	long sent = 0, before, after, peak;
	int64_t start = harness_now_ms();

	/* The client's buffers small: its receive buffer so that the daemon's
	 * output piles up on the daemon's side soon, its send buffer so that
	 * megabytes of pings do not queue in the client's kernel, where Linux
	 * was seen to stall them for seconds once the receive side is full. */
	assert_int_equal(setsockopt(sbc_fd(gw), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	assert_int_equal(setsockopt(sbc_fd(gw), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	harness_keepalive(h, gw, false);
	before = rss_kb(pid);
	assert_true(before > 0);
	peak = before;
	/* Ping, never read, until the daemon hangs up (bounded in time); look
	 * at the daemon's memory as it goes. */
	while (harness_now_ms() - start < 30000 && sbc_ping(gw) != 0)
		if (++sent % 1024 == 0) {
			long now_kb = rss_kb(pid);
			peak = now_kb > peak ? now_kb : peak;
		}
	after = rss_kb(pid);
	peak = after > peak ? after : peak;
	fprintf(stderr,
		"never-reading client: %ld pings sent in %lld ms before the daemon cut it off; "
		"daemon VmRSS %ld KiB before, peak %ld KiB, %ld KiB after (+%ld KiB); "
		"output cap %d bytes; the client's last error: %s\n",
		sent, (long long)(harness_now_ms() - start), before, peak, after, after - before,
		READER_CAP, sbc_last_error(gw));
	/* Usually the daemon's output for the client passes the cap and it is
	 * cut off. Under a slow daemon (sanitizers) Linux was seen to stall the
	 * connection in the client's kernel once its small receive buffer is
	 * full: the daemon then gets no more frames to answer, its output never
	 * reaches the cap, and the session ends by missed heartbeats instead.
	 * Either way the client is disconnected and the memory stays bounded. */
	bool capped = harness_log_wait(h, "output buffer cap reached", HARNESS_REPLY_MS);
	if (!capped)
		assert_true(harness_log_wait(h, "closed: heartbeats missed", 5000));
	fprintf(stderr, "never-reading client: cut off by %s\n",
		capped ? "the output cap" : "missed heartbeats (the kernel stalled it first)");
	assert_true(harness_daemon_alive(h));
	assert_true(after > 0 && peak - before < READER_RSS_BOUND_KB);
	/* Everybody else is served as before. */
	struct sbc *other = harness_gateway(h, "gw2");
	harness_submit(h, other, "after-reader", VOICE, "voice-q");
}

static int setup_deep_output(void **state)
{
	return setup_with(state, "  output_buffer_max_bytes: 67108864\n"
				 "  frames_per_second: 1000000\n");
}

/* A client that stops reading for a while, then catches up, gets every
 * frame in order: what its socket does not take at once (here megabytes,
 * past both kernels' buffers) waits in the daemon and is written as the
 * socket drains. */
HARNESS_TEST(test_slow_reader_gets_every_frame_in_order)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	enum { PINGS = 300000 }; /* ~7 MB of Pongs */
	uint64_t first = 0, last = 0;

	harness_keepalive(h, gw, false);
	for (int i = 0; i < PINGS; i++) {
		uint64_t seq = sbc_ping(gw);
		assert_true(seq != 0);
		first = first ? first : seq;
		last = seq;
	}
	uint64_t want = first;
	while (want <= last) {
		Envelope *env = NULL;
		assert_int_equal(sbc_recv(gw, 5000, &env), 1);
		assert_int_equal(env->body_case, SB_BODY(PONG));
		if (env->ref != want)
			fail_msg("Pong for %" PRIu64 " where %" PRIu64 " was due", env->ref, want);
		envelope_free(env);
		want++;
	}
	assert_true(harness_daemon_alive(h));
	assert_false(harness_log_contains(h, "output buffer cap reached"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_gateway_connection_over_limit_is_overloaded_and_closed, setup_small,
			harness_teardown),
		cmocka_unit_test_setup_teardown(test_connections_over_per_address_limit_are_overloaded,
						setup_small, harness_teardown),
		cmocka_unit_test_setup_teardown(test_frames_over_rate_are_refused_then_served_again,
						setup_rate, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sustained_frame_flood_is_disconnected,
						setup_rate, harness_teardown),
		cmocka_unit_test_setup_teardown(
			test_backlog_over_limits_is_overloaded_until_a_contact_leaves, setup_small,
			harness_teardown),
		cmocka_unit_test_setup_teardown(test_attributes_over_limits_are_invalid, setup_small,
						harness_teardown),
		cmocka_unit_test_setup_teardown(
			test_never_reading_client_is_cut_off_and_memory_stays_bounded, setup_reader,
			harness_teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_gets_every_frame_in_order,
						setup_deep_output, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

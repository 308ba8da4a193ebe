/* What /metrics tells an operator, against a real daemon and Redis: each
 * event counted where it happens and each live figure read as it is.
 * - store errors through an outage (refused at once while Redis is away,
 *   timeouts while it hangs, refusals while it is out of memory);
 * - role, leader, epoch and store state gauges, and a leadership flap;
 * - offers agreeing with accepted outcomes when a channel auto-accepts;
 * - agents by every state they can be in (occupancy);
 * - offers, rejects and timeouts by queue;
 * - store latency buckets below a millisecond;
 * - reloads, authentication failures, TLS handshake failures;
 * - the standard process_* metrics;
 * - the whole exposition through `promtool check metrics`. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define CHAT SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define BREAK SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK
#define HTTP_MS 3000
#define OFFER_MS 3000
#define WAIT_MS 5000
#define WRAPUP_MS 1500

/* ---- reading /metrics ------------------------------------------------------ */

/* The exposition now (owned by h). */
static const char *scrape(struct harness *h)
{
	struct resp r = http_at(harness_admin_addr(h), "GET", "/metrics", NULL, NULL, HTTP_MS);

	if (r.status != 200)
		fail_msg("GET /metrics: HTTP %d", r.status);
	const char *body = harness_printf(h, "%s", r.body);
	resp_free(&r);
	return body;
}

/* The value of the exact series `name{labels}` in text, or NAN when absent. */
static double sample(const char *text, const char *series)
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

/* The series' value now; fails the test when it is absent. */
static double metric(struct harness *h, const char *series)
{
	const char *text = scrape(h);
	double v = sample(text, series);

	if (isnan(v))
		fail_msg("/metrics has no series %s", series);
	return v;
}

/* Asserts series == want, naming it when not. */
#define assert_metric(h, series, want)                                                             \
	do {                                                                                       \
		double v_ = metric((h), (series));                                                 \
		if (v_ != (double)(want))                                                          \
			fail_msg("%s is %g, expected %g", (series), v_, (double)(want));           \
	} while (0)

/* Waits until series == want (gauges that follow an asynchronous change). */
static void await_metric(struct harness *h, const char *series, double want)
{
	double v = NAN;

	for (int i = 0; i < WAIT_MS / 50; i++) {
		v = sample(scrape(h), series);
		if (v == want)
			return;
		harness_sleep(h, 50);
	}
	fail_msg("%s stayed %g, expected %g", series, v, want);
}

/* The agents gauge of one state. */
static double agents(struct harness *h, const char *state)
{
	return metric(h, harness_printf(h, "switchboard_agents{state=\"%s\"}", state));
}

/* Every agent state's count, in the order names them, as "a b c ...". */
static const char *agent_states(struct harness *h)
{
	static const char *const names[] = {"logged_out", "offline", "available", "offered",
	                                    "on_contact", "wrap_up", "break",     "detached"};
	const char *text = scrape(h);
	const char *out = "";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		double v =
		    sample(text, harness_printf(h, "switchboard_agents{state=\"%s\"}", names[i]));
		out = harness_printf(h, "%s%s%s=%g", out, i ? " " : "", names[i], v);
	}
	return out;
}

static void await_agent_states(struct harness *h, const char *want)
{
	const char *got = "";

	for (int i = 0; i < WAIT_MS / 50; i++) {
		got = agent_states(h);
		if (strcmp(got, want) == 0)
			return;
		harness_sleep(h, 50);
	}
	fail_msg("agents by state: %s, expected %s", got, want);
}

/* ---- fixtures ------------------------------------------------------------- */

static int setup(void **state)
{
	struct harness_opts o = {
	    .admin = true,
	    .voice_wrapup_ms = WRAPUP_MS,
	    .email_auto_accept = true,
	    /* an agent whose session closes is logged out at once */
	    .agent_grace_ms = -1,
	};
	*state = harness_start(&o);
	return 0;
}

/* A gateway client's submit that must be refused STORE_UNAVAILABLE. */
static void submit_refused(struct harness *h, struct sbc *gw, const char *external_id)
{
	struct sbc_submit s = {.external_id = external_id, .channel = CHAT, .queue = "chat-q"};

	harness_expect_error(h, gw, sbc_submit(gw, &s), SB_ERR_CODE(STORE_UNAVAILABLE), WAIT_MS);
}

/* ---- store errors ------------------------------------------------------------ */

/* Redis stopped: every request refused because the store is not ready is
 * counted, one for one, whoever asked (a gateway, an agent, the admin API). */
HARNESS_TEST(test_store_errors_count_requests_refused_while_redis_is_away)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	assert_metric(h, "switchboard_store_errors_total{kind=\"not_ready\"}", 0);
	assert_metric(h, "switchboard_store_state{state=\"ready\"}", 1);
	harness_redis_stop(h);
	await_metric(h, "switchboard_store_up", 0);
	assert_metric(h, "switchboard_store_state{state=\"ready\"}", 0);
	assert_true(sample(scrape(h), "switchboard_store_state{state=\"down\"}") +
	                sample(scrape(h), "switchboard_store_state{state=\"connecting\"}") ==
	            1);

	for (int i = 0; i < 5; i++)
		submit_refused(h, gw, harness_printf(h, "away-%d", i));
	harness_expect_error(
	    h, alice, sbc_set_state(alice, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, ""),
	    SB_ERR_CODE(STORE_UNAVAILABLE), WAIT_MS);
	struct resp r = http_at(harness_admin_addr(h), "POST", "/v1/roster", harness_admin_token(h),
	                        "{\"id\":\"dave\"}", HTTP_MS);
	assert_int_equal(r.status, 503);
	resp_free(&r);
	assert_metric(h, "switchboard_store_errors_total{kind=\"not_ready\"}", 7);

	harness_redis_start(h);
	await_metric(h, "switchboard_store_up", 1);
	assert_metric(h, "switchboard_store_state{state=\"ready\"}", 1);
	harness_available(h, alice);
	assert_metric(h, "switchboard_store_errors_total{kind=\"not_ready\"}", 7);
}

/* Redis frozen: the request in flight times out (counted as a timeout),
 * and what comes after is refused at once (not_ready). */
HARNESS_TEST(test_store_errors_count_timeouts_while_redis_hangs)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	harness_submit_id(h, gw, "before", CHAT, "chat-q");
	assert_metric(h, "switchboard_store_errors_total{kind=\"timeout\"}", 0);
	harness_redis_signal(h, SIGSTOP);
	submit_refused(h, gw, "frozen-1");
	assert_true(metric(h, "switchboard_store_errors_total{kind=\"timeout\"}") >= 1);
	double before = metric(h, "switchboard_store_errors_total{kind=\"not_ready\"}");
	submit_refused(h, gw, "frozen-2");
	submit_refused(h, gw, "frozen-3");
	assert_metric(h, "switchboard_store_errors_total{kind=\"not_ready\"}", before + 2);
	harness_redis_signal(h, SIGCONT);
	await_metric(h, "switchboard_store_up", 1);
}

/* Redis out of memory answers errors: counted as refused. */
HARNESS_TEST(test_store_errors_count_redis_refusals)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	harness_submit_id(h, gw, "before", CHAT, "chat-q");
	assert_metric(h, "switchboard_store_errors_total{kind=\"refused\"}", 0);
	harness_redis_command(h, "CONFIG SET maxmemory 1");
	submit_refused(h, gw, "oom-1");
	assert_true(metric(h, "switchboard_store_errors_total{kind=\"refused\"}") >= 1);
	harness_redis_command(h, "CONFIG SET maxmemory 0");
	await_metric(h, "switchboard_store_state{state=\"ready\"}", 1);
}

/* Round trips on loopback take tens of microseconds: the buckets must
 * start well below a millisecond and reach several seconds, and the
 * durations must be measured finer than a millisecond. */
HARNESS_TEST(test_store_latency_buckets_resolve_microseconds)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	for (int i = 0; i < 5; i++)
		harness_submit_id(h, gw, harness_printf(h, "lat-%d", i), CHAT, "chat-q");
	const char *text = scrape(h);
	const char *first = strstr(text, "switchboard_store_request_duration_seconds_bucket{le=\"");
	assert_non_null(first);
	double le =
	    strtod(first + strlen("switchboard_store_request_duration_seconds_bucket{le=\""), NULL);
	if (!(le > 0 && le <= 0.0001))
		fail_msg("the first store latency bucket is %g s; want <= 100 us", le);
	assert_false(
	    isnan(sample(text, "switchboard_store_request_duration_seconds_bucket{le=\"5\"}")));
	assert_true(sample(text, "switchboard_store_request_duration_seconds_count") >= 5);
	assert_true(sample(text, "switchboard_store_request_duration_seconds_sum") > 0);
}

/* ---- leadership -------------------------------------------------------------- */

HARNESS_TEST(test_role_leader_and_epoch_gauges_show_a_leadership_flap)
{
	const char *epoch_key = harness_key(h, "epoch");
	const char *leader_key = harness_key(h, "leader");

	await_metric(h, "switchboard_role{role=\"leader\"}", 1);
	assert_metric(h, "switchboard_role{role=\"standby\"}", 0);
	assert_metric(h, "switchboard_leader", 1);
	long long epoch = harness_redis_int(
	    h, "EVAL %s 1 %s", "return tonumber(redis.call('GET', KEYS[1]))", epoch_key);
	assert_true(epoch >= 1);
	assert_metric(h, "switchboard_epoch", epoch);
	assert_metric(h, "switchboard_leadership_changes_total{change=\"acquired\"}", 1);
	assert_metric(h, "switchboard_leadership_changes_total{change=\"lost\"}", 0);

	/* Another daemon takes the lease (as a standby would after a pause). */
	harness_redis_command(h, "SET %s %s PX 60000", leader_key,
	                      "other-node 127.0.0.1:1 127.0.0.1:2");
	harness_redis_command(h, "INCR %s", epoch_key);
	await_metric(h, "switchboard_leader", 0);
	assert_metric(h, "switchboard_role{role=\"standby\"}", 1);
	assert_metric(h, "switchboard_role{role=\"leader\"}", 0);
	assert_metric(h, "switchboard_leadership_changes_total{change=\"lost\"}", 1);
	assert_metric(h, "switchboard_epoch", epoch + 1);

	/* It goes away: this daemon leads again, under a new epoch. */
	harness_redis_command(h, "DEL %s", leader_key);
	await_metric(h, "switchboard_leader", 1);
	assert_metric(h, "switchboard_leadership_changes_total{change=\"acquired\"}", 2);
	assert_metric(h, "switchboard_epoch", epoch + 2);
}

/* ---- offers -------------------------------------------------------------------- */

/* An auto-accepted contact counts as an offer that was accepted: offers
 * never fall below accepted outcomes. */
HARNESS_TEST(test_auto_accept_counts_as_an_accepted_offer)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");
	harness_await(h, alice, SB_BODY(ASSIGNMENT_CONFIRMED), WAIT_MS);
	harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), WAIT_MS);
	/* bob takes a call by accepting its offer (alice holds an email, and
	 * voice is exclusive) */
	harness_available(h, bob);
	harness_assigned(h, gw, bob, "call-1", VOICE, "voice-q");

	assert_metric(h, "switchboard_offers_total{queue=\"email-q\"}", 1);
	assert_metric(h, "switchboard_offers_auto_accepted_total{queue=\"email-q\"}", 1);
	assert_metric(h, "switchboard_offer_outcomes_total{queue=\"email-q\",outcome=\"accepted\"}",
	              1);
	assert_metric(h, "switchboard_offers_total{queue=\"voice-q\"}", 1);
	assert_metric(h, "switchboard_offers_auto_accepted_total{queue=\"voice-q\"}", 0);
	assert_metric(h, "switchboard_offer_outcomes_total{queue=\"voice-q\",outcome=\"accepted\"}",
	              1);
}

/* Rejects and timeouts name their queue. */
HARNESS_TEST(test_offers_rejects_and_timeouts_have_a_queue_label)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *call = harness_submit_id(h, gw, "call-r", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, call, OFFER_MS);
	harness_reply(h, alice, sbc_reject(alice, offer, "busy"), SB_BODY(ACK), HARNESS_REPLY_MS);
	harness_reply(h, gw, sbc_cancel(gw, call, "caller hung up"), SB_BODY(CONTACT_CANCELLED),
	              HARNESS_REPLY_MS);
	assert_metric(h, "switchboard_offer_outcomes_total{queue=\"voice-q\",outcome=\"rejected\"}",
	              1);

	const char *chat = harness_submit_id(h, gw, "chat-t", CHAT, "chat-q");
	harness_offer_for(h, alice, chat, OFFER_MS);
	/* not answered: it times out (offer_timeout_ms 1000) */
	await_metric(h, "switchboard_offer_outcomes_total{queue=\"chat-q\",outcome=\"timeout\"}",
	             1);
	assert_true(metric(h, "switchboard_offers_total{queue=\"chat-q\"}") >= 1);
	assert_metric(h, "switchboard_offers_total{queue=\"voice-q\"}", 1);
	assert_metric(h, "switchboard_offer_outcomes_total{queue=\"voice-q\",outcome=\"timeout\"}",
	              0);
}

/* ---- agents --------------------------------------------------------------------- */

/* An agent moves through every state; the gauges follow, one state per
 * agent, and their sum is the roster. */
HARNESS_TEST(test_agent_state_gauges_follow_an_agent_through_its_day)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	await_agent_states(h, "logged_out=3 offline=0 available=0 offered=0 on_contact=0 wrap_up=0 "
	                      "break=0 detached=0");
	struct sbc *alice = harness_agent(h, "alice");
	await_agent_states(h, "logged_out=2 offline=1 available=0 offered=0 on_contact=0 wrap_up=0 "
	                      "break=0 detached=0");
	harness_available(h, alice);
	struct sbc *bob = harness_agent(h, "bob");
	harness_reply(h, bob, sbc_set_state(bob, BREAK, "lunch"), SB_BODY(STATE_CHANGED),
	              HARNESS_REPLY_MS);
	await_agent_states(h, "logged_out=1 offline=0 available=1 offered=0 on_contact=0 wrap_up=0 "
	                      "break=1 detached=0");

	const char *call = harness_submit_id(h, gw, "call-day", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, call, OFFER_MS);
	await_agent_states(h, "logged_out=1 offline=0 available=0 offered=1 on_contact=0 wrap_up=0 "
	                      "break=1 detached=0");
	harness_accept(h, alice, offer, call);
	await_agent_states(h, "logged_out=1 offline=0 available=0 offered=0 on_contact=1 wrap_up=0 "
	                      "break=1 detached=0");
	assert_int_equal(agents(h, "on_contact"), 1);
	harness_reply(h, alice, sbc_complete(alice, call, "resolved"), SB_BODY(ACK),
	              HARNESS_REPLY_MS);
	await_agent_states(h, "logged_out=1 offline=0 available=0 offered=0 on_contact=0 wrap_up=1 "
	                      "break=1 detached=0");
	/* wrap-up ends by itself */
	await_agent_states(h, "logged_out=1 offline=0 available=1 offered=0 on_contact=0 wrap_up=0 "
	                      "break=1 detached=0");
}

/* ---- reloads, authentication, TLS ------------------------------------------------ */

HARNESS_TEST(test_reload_and_auth_failure_counters)
{
	const char *path = harness_config_path(h);
	const char *good = harness_read_file(h, path);

	assert_metric(h, "switchboard_reloads_total{result=\"success\"}", 0);
	assert_metric(h, "switchboard_reloads_total{result=\"failure\"}", 0);
	harness_daemon_signal(h, SIGHUP);
	await_metric(h, "switchboard_reloads_total{result=\"success\"}", 1);
	assert_metric(h, "switchboard_config_last_reload_successful", 1);

	harness_write_file(h, "switchboard.yaml", "site: [unclosed\n");
	harness_daemon_signal(h, SIGHUP);
	await_metric(h, "switchboard_reloads_total{result=\"failure\"}", 1);
	assert_metric(h, "switchboard_config_last_reload_successful", 0);
	harness_write_file(h, "switchboard.yaml", good);
	harness_daemon_signal(h, SIGHUP);
	await_metric(h, "switchboard_reloads_total{result=\"success\"}", 2);
	assert_metric(h, "switchboard_config_last_reload_successful", 1);

	/* a gateway with a wrong secret, an agent with a forged token, an
	 * admin change without the bearer token */
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
	assert_int_equal(sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1", "wrong secret",
	                           HARNESS_REPLY_MS, NULL),
	                 SB_ERR_CODE(UNAUTHENTICATED));
	c = harness_connect(h, HARNESS_AGENT_PORT);
	assert_int_equal(sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_AGENT, "alice",
	                           harness_token(h, "alice", -60), HARNESS_REPLY_MS, NULL),
	                 SB_ERR_CODE(UNAUTHENTICATED));
	struct resp r =
	    http_at(harness_admin_addr(h), "POST", "/v1/roster", NULL, "{\"id\":\"x\"}", HTTP_MS);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = http_at(harness_admin_addr(h), "POST", "/v1/roster", "not-the-token", "{\"id\":\"x\"}",
	            HTTP_MS);
	assert_int_equal(r.status, 401);
	resp_free(&r);

	const char *text = scrape(h);
	assert_int_equal(sample(text, "switchboard_auth_failures_total{role=\"gateway\",reason="
	                              "\"unknown gateway or wrong secret\"}"),
	                 1);
	assert_int_equal(
	    sample(text,
	           "switchboard_auth_failures_total{role=\"agent\",reason=\"token expired\"}"),
	    1);
	assert_int_equal(sample(text, "switchboard_auth_failures_total{role=\"admin\",reason="
	                              "\"no bearer token\"}"),
	                 1);
	assert_int_equal(sample(text, "switchboard_auth_failures_total{role=\"admin\",reason="
	                              "\"wrong bearer token\"}"),
	                 1);
}

/* A certificate and key for localhost in TMP (key mode 0600). */
static void make_cert(struct harness *h)
{
	const char *crt = harness_printf(h, "%s/tls.crt", harness_tmpdir(h));
	const char *key = harness_printf(h, "%s/tls.key", harness_tmpdir(h));
	const char *argv[] = {"/usr/bin/openssl",
	                      "req",
	                      "-x509",
	                      "-newkey",
	                      "ec",
	                      "-pkeyopt",
	                      "ec_paramgen_curve:P-256",
	                      "-nodes",
	                      "-keyout",
	                      key,
	                      "-out",
	                      crt,
	                      "-days",
	                      "2",
	                      "-subj",
	                      "/CN=localhost",
	                      NULL};
	const char *out;

	if (harness_run(h, argv, 20000, &out) != 0)
		fail_msg("openssl: %s", out);
	chmod(key, 0600);
}

/* A plain client on a TLS port: the handshake fails, and is counted; a
 * connection closed during the handshake is counted apart. The daemon is
 * restarted on the same config with TLS on the gateway port. */
HARNESS_TEST(test_tls_handshake_failures_are_counted)
{
	make_cert(h);
	const char *good = harness_read_file(h, harness_config_path(h));
	harness_write_file(h, "switchboard.yaml",
	                   harness_printf(h,
	                                  "%stls:\n  gateway:\n    cert_file: \"%s/tls.crt\"\n"
	                                  "    key_file: \"%s/tls.key\"\n",
	                                  good, harness_tmpdir(h), harness_tmpdir(h)));
	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);
	/* (the harness's probe of the port, a connect and a close, counts as
	 * closed) */
	assert_metric(
	    h, "switchboard_tls_handshake_failures_total{role=\"gateway\",reason=\"error\"}", 0);

	struct sbc *plain = harness_connect(h, HARNESS_GATEWAY_PORT);
	sbc_hello(plain, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1",
	          harness_gateway_secret(h, "gw1"), HARNESS_REPLY_MS, NULL);
	harness_close(h, plain);
	await_metric(
	    h, "switchboard_tls_handshake_failures_total{role=\"gateway\",reason=\"error\"}", 1);
	assert_true(metric(h, "switchboard_tls_handshake_failures_total{role=\"gateway\",reason="
	                      "\"closed\"}") >= 1);
	assert_metric(
	    h, "switchboard_tls_handshake_failures_total{role=\"agent\",reason=\"error\"}", 0);
}

/* ---- process ---------------------------------------------------------------------- */

HARNESS_TEST(test_process_metrics_are_present_and_sane)
{
	const char *text = scrape(h);
	double now = (double)harness_now_ms() / 1000.0;
	double rss = sample(text, "process_resident_memory_bytes");
	double vsz = sample(text, "process_virtual_memory_bytes");
	double fds = sample(text, "process_open_fds");
	double max = sample(text, "process_max_fds");
	double start = sample(text, "process_start_time_seconds");
	double cpu = sample(text, "process_cpu_seconds_total");

	if (!(rss > 1e6 && rss < 4e9 && vsz >= rss))
		fail_msg("resident %g, virtual %g bytes", rss, vsz);
	if (!(fds >= 5 && fds < max && max >= 64))
		fail_msg("open fds %g, max %g", fds, max);
	if (!(start > now - 120 && start <= now + 1))
		fail_msg("start time %f, now %f", start, now);
	if (!(cpu >= 0 && cpu < 120))
		fail_msg("cpu %g s", cpu);
	/* The daemon's own view agrees with the kernel's. */
	char link[64];
	snprintf(link, sizeof link, "/proc/%d/fd", (int)harness_daemon_pid(h));
	const char *argv[] = {"/bin/sh", "-c", harness_printf(h, "ls %s | wc -l", link), NULL};
	const char *out;
	assert_int_equal(harness_run(h, argv, 5000, &out), 0);
	double seen = strtod(out, NULL);
	if (fabs(seen - fds) > 3)
		fail_msg("process_open_fds %g, /proc says %g", fds, seen);
}

/* ---- promtool ---------------------------------------------------------------------- */

HARNESS_TEST(test_promtool_accepts_the_exposition)
{
	const char *which[] = {"/bin/sh", "-c", "command -v promtool", NULL};
	const char *promtool;

	if (harness_run(h, which, 5000, &promtool) != 0) {
		print_message("promtool is not installed (Debian package prometheus; "
		              "scripts/setup.sh installs it): skipped\n");
		harness_passed(h);
		skip();
	}
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-p", VOICE, "voice-q");
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
	              HARNESS_REPLY_MS);
	harness_submit_id(h, gw, "mail-p", EMAIL, "email-q");
	/* and an authentication failure, so that family has a sample */
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
	sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1", "wrong", HARNESS_REPLY_MS, NULL);

	const char *file = harness_write_file(h, "metrics.txt", scrape(h));
	const char *argv[] = {"/bin/sh", "-c",
	                      harness_printf(h, "promtool check metrics < '%s' 2>&1", file), NULL};
	const char *out;
	int rc = harness_run(h, argv, 20000, &out);
	/* It prints nothing when the exposition is valid and lint-clean. */
	if (rc != 0 || out[0] != '\0')
		fail_msg("promtool check metrics: exit %d:\n%s", rc, out);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_store_errors_count_requests_refused_while_redis_is_away),
	    T(test_store_errors_count_timeouts_while_redis_hangs),
	    T(test_store_errors_count_redis_refusals),
	    T(test_store_latency_buckets_resolve_microseconds),
	    T(test_role_leader_and_epoch_gauges_show_a_leadership_flap),
	    T(test_auto_accept_counts_as_an_accepted_offer),
	    T(test_offers_rejects_and_timeouts_have_a_queue_label),
	    T(test_agent_state_gauges_follow_an_agent_through_its_day),
	    T(test_reload_and_auth_failure_counters),
	    T(test_tls_handshake_failures_are_counted),
	    T(test_process_metrics_are_present_and_sane),
	    T(test_promtool_accepts_the_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

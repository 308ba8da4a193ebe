/* sbsession against real daemons: reconnecting after the daemon is killed
 * and restarted, an address list with a dead entry, following NOT_LEADER to
 * the leader it names (a fake standby in a thread answers every Hello with
 * it), giving up on refused credentials, the backoff's bounds, and the
 * event-id de-duplication window. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "sbsession.h"
#include "wire/frame.h"

#define SESSION_WAIT_MS 10000

/* ---- a fake standby: answers each Hello with NOT_LEADER --------------------- */

struct fake_standby {
	int listen_fd;
	char addr[64];
	const char *leader; /* Error.leader to send ("" for none) */
	int hellos;         /* Hellos answered (read after join) */
	int max_conns;      /* connections to serve before the thread ends */
	pthread_t thread;
};

/* Reads exactly len bytes; 0 or -1. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Serves one connection: a Hello in, an Error NOT_LEADER out, close. */
static void fake_serve(struct fake_standby *f, int fd)
{
	uint8_t hdr[4], body[4096], *out = NULL;
	Envelope *hello = NULL;
	Envelope reply = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Error err = SWITCHBOARD__V1__ERROR__INIT;
	uint32_t len;
	size_t n;

	if (read_full(fd, hdr, 4) != 0)
		return;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > sizeof(body) || read_full(fd, body, len) != 0)
		return;
	hello = envelope_unpack(body, len, &(const char *){NULL});
	if (hello == NULL || hello->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_HELLO) {
		envelope_free(hello);
		return;
	}
	err.code = SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER;
	err.message = (char *)"this daemon is a standby";
	err.leader = (char *)f->leader;
	err.ref = hello->seq;
	reply.ref = hello->seq;
	reply.seq = 1;
	reply.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ERROR;
	reply.error = &err;
	n = frame_encode(&reply, &out);
	if (write(fd, out, n) == (ssize_t)n)
		f->hellos++;
	free(out);
	envelope_free(hello);
}

static void *fake_main(void *arg)
{
	struct fake_standby *f = arg;

	for (int i = 0; i < f->max_conns; i++) {
		int fd = accept(f->listen_fd, NULL, NULL);
		if (fd < 0)
			break;
		fake_serve(f, fd);
		close(fd);
	}
	return NULL;
}

/* Listens on a free loopback port and serves max_conns connections. */
static void fake_start(struct fake_standby *f, const char *leader, int max_conns)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);

	memset(f, 0, sizeof(*f));
	f->leader = leader;
	f->max_conns = max_conns;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 8), 0);
	assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Waits for the thread after its last connection. */
static void fake_join(struct fake_standby *f)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
}

/* ---- helpers ------------------------------------------------------------------ */

struct counter {
	int connects;
};

static void count_connect(struct sbs *s, const Envelope *welcome, void *arg)
{
	struct counter *c = arg;

	assert_non_null(welcome->welcome);
	c->connects++;
}

/* A gateway session for gw1 on addresses. */
static struct sbs *gw_session(struct harness *h, const char *addresses, struct counter *cnt)
{
	struct sbs_config cfg = {
	    .addresses = addresses,
	    .role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY,
	    .client_id = "gw1",
	    .credential = harness_gateway_secret(h, "gw1"),
	    .connect_timeout_ms = 1000,
	    .on_connect = count_connect,
	    .arg = cnt,
	};
	char err[256];
	struct sbs *s = sbs_new(&cfg, err, sizeof(err));

	if (s == NULL)
		fail_msg("sbs_new: %s", err);
	return s;
}

/* Submits external_id on the session and returns the accepted contact id
 * (static buffer), failing the test on anything else. */
static const char *session_submit(struct sbs *s, const char *external_id)
{
	static char id[128];
	struct sbc_submit sub = {.external_id = external_id,
	                         .channel = SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT};
	Envelope *reply = NULL;
	uint64_t seq = sbc_submit(sbs_client(s), &sub);
	char buf[256];

	assert_true(seq != 0);
	assert_int_equal(sbc_wait_reply(sbs_client(s), seq, HARNESS_REPLY_MS, &reply), 1);
	if (reply->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED)
		fail_msg("submit %s: %s", external_id, sbc_describe(reply, buf, sizeof(buf)));
	snprintf(id, sizeof(id), "%s", reply->contact_accepted->contact_id);
	envelope_free(reply);
	return id;
}

/* Runs the session until it is up (or SESSION_WAIT_MS). */
static enum sbs_status session_until_up(struct sbs *s)
{
	int64_t end = sbs_mono_ms() + SESSION_WAIT_MS;
	enum sbs_status st;

	while ((st = sbs_service(s, sbs_mono_ms())) == SBS_WAITING && sbs_mono_ms() < end)
		usleep(10000);
	return st;
}

/* ---- tests ---------------------------------------------------------------------- */

/* Killed with SIGKILL and restarted on the same address: the session sees
 * the loss, reconnects by itself and says so; the resubmission is idempotent. */
HARNESS_TEST(test_reconnect_after_kill)
{
	struct counter cnt = {0};
	struct sbs *s = gw_session(h, harness_gateway_addr(h), &cnt);
	char first[128];
	Envelope *env = NULL;
	int r;

	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	assert_int_equal(cnt.connects, 1);
	snprintf(first, sizeof(first), "%s", session_submit(s, "sess-1"));

	harness_daemon_signal(h, SIGKILL);
	/* The client learns of it the way an application would: a read fails. */
	r = sbc_recv(sbs_client(s), 2000, &env);
	if (r > 0)
		envelope_free(env);
	assert_int_equal(r, -1);
	sbs_lost(s, sbc_last_error(sbs_client(s)));
	assert_false(sbs_up(s));
	assert_null(sbs_client(s));
	/* Down: attempts fail and back off, the session keeps waiting. */
	assert_int_equal(sbs_service(s, sbs_mono_ms() + 10), SBS_WAITING);

	harness_daemon_restart(h);
	assert_int_equal(session_until_up(s), SBS_UP);
	assert_int_equal(cnt.connects, 2);
	assert_int_equal(sbs_connections(s), 2);
	/* The same external id names the same contact: nothing is doubled. */
	assert_string_equal(session_submit(s, "sess-1"), first);
	sbs_free(s);
}

/* A dead address first in the list: the session moves on to the live one. */
HARNESS_TEST(test_address_list_skips_dead)
{
	struct counter cnt = {0};
	char list[256];
	struct sbs *s;

	snprintf(list, sizeof(list), "%s, %s", harness_free_addr(h), harness_gateway_addr(h));
	s = gw_session(h, list, &cnt);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	assert_string_equal(sbs_address(s), harness_gateway_addr(h));
	assert_int_equal(cnt.connects, 1);
	session_submit(s, "sess-list");
	sbs_free(s);
}

/* A standby answering NOT_LEADER with the leader's address: the session
 * goes there next, though that address is not in its list. */
HARNESS_TEST(test_follows_not_leader)
{
	struct fake_standby f;
	struct counter cnt = {0};
	struct sbs *s;

	fake_start(&f, harness_gateway_addr(h), 1);
	s = gw_session(h, f.addr, &cnt);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	fake_join(&f);
	assert_int_equal(f.hellos, 1);
	assert_string_equal(sbs_address(s), harness_gateway_addr(h));
	assert_int_equal(cnt.connects, 1);
	session_submit(s, "sess-leader");
	sbs_free(s);
}

/* NOT_LEADER without a leader (no daemon holds the lease): the next address. */
HARNESS_TEST(test_not_leader_unknown_tries_next)
{
	struct fake_standby f;
	struct counter cnt = {0};
	char list[256];
	struct sbs *s;

	fake_start(&f, "", 1);
	snprintf(list, sizeof(list), "%s,%s", f.addr, harness_gateway_addr(h));
	s = gw_session(h, list, &cnt);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	fake_join(&f);
	assert_int_equal(f.hellos, 1);
	assert_string_equal(sbs_address(s), harness_gateway_addr(h));
	sbs_free(s);
}

/* Wrong credentials cannot get better by retrying. */
HARNESS_TEST(test_refused_credentials_fatal)
{
	struct sbs_config cfg = {
	    .addresses = harness_gateway_addr(h),
	    .role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY,
	    .client_id = "gw1",
	    .credential = "not-the-secret",
	};
	char err[256];
	struct sbs *s = sbs_new(&cfg, err, sizeof(err));

	assert_non_null(s);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_FATAL);
	assert_non_null(strstr(sbs_last_error(s), "UNAUTHENTICATED"));
	sbs_free(s);
}

/* Active/standby with a real standby (a second daemon on the same Redis,
 * lease 600 ms): listed first, it answers NOT_LEADER naming the leader and
 * the session goes there; when the leader is killed, the session comes back
 * through the standby once it has taken over, and a resubmission is the
 * same contact. */
static int setup_pair(void **state)
{
	struct harness_opts opts = {.extra_yaml = "ha:\n  lease_ms: 600\n"};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_real_standby_and_failover)
{
	struct harness_standby sb = harness_start_standby(h);
	const char *sb_gw = sb.gateway;
	struct counter cnt = {0};
	char list[256], first[128];
	Envelope *env = NULL;
	struct sbs *s;
	int r;

	snprintf(list, sizeof(list), "%s,%s", sb_gw, harness_gateway_addr(h));
	s = gw_session(h, list, &cnt);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	assert_string_equal(sbs_address(s), harness_gateway_addr(h));
	snprintf(first, sizeof(first), "%s", session_submit(s, "sess-failover"));

	harness_daemon_signal(h, SIGKILL);
	r = sbc_recv(sbs_client(s), 2000, &env);
	if (r > 0)
		envelope_free(env);
	assert_int_equal(r, -1);
	sbs_lost(s, "killed");
	assert_int_equal(session_until_up(s), SBS_UP);
	assert_string_equal(sbs_address(s), sb_gw);
	assert_int_equal(cnt.connects, 2);
	assert_string_equal(session_submit(s, "sess-failover"), first);
	sbs_free(s);
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

/* A leader stopped with SIGTERM drains: it tells its clients NOT_LEADER
 * and hands the lease over. sbs_not_leader() sends the session on to the
 * next address, the standby, which serves it. */
HARNESS_TEST(test_drain_moves_to_standby)
{
	struct harness_standby sb = harness_start_standby(h);
	const char *sb_gw = sb.gateway;
	struct counter cnt = {0};
	char list[256], first[128];
	Envelope *env = NULL;
	bool told = false;
	struct sbs *s;

	snprintf(list, sizeof(list), "%s,%s", harness_gateway_addr(h), sb_gw);
	s = gw_session(h, list, &cnt);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_UP);
	assert_string_equal(sbs_address(s), harness_gateway_addr(h));
	snprintf(first, sizeof(first), "%s", session_submit(s, "sess-drain"));

	harness_daemon_signal(h, SIGTERM);
	while (!told && sbc_recv(sbs_client(s), 5000, &env) == 1) {
		if (env->body_case == SB_BODY(ERROR) &&
		    env->error->code == SB_ERR_CODE(NOT_LEADER)) {
			sbs_not_leader(s, env->error->leader);
			told = true;
		}
		envelope_free(env);
	}
	assert_true(told);
	assert_false(sbs_up(s));
	assert_int_equal(session_until_up(s), SBS_UP);
	assert_string_equal(sbs_address(s), sb_gw);
	assert_string_equal(session_submit(s, "sess-drain"), first);
	sbs_free(s);
	assert_int_equal(harness_kill(h, sb.pid), 0);
}

/* A one-shot client gives up after max_failures attempts in a row. */
HARNESS_TEST(test_gives_up_after_max_failures)
{
	char list[256];
	struct sbs_config cfg = {
	    .role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY,
	    .client_id = "gw1",
	    .credential = harness_gateway_secret(h, "gw1"),
	    .max_failures = 3,
	};
	char err[256];
	struct sbs *s;

	snprintf(list, sizeof(list), "%s,%s", harness_free_addr(h), harness_free_addr(h));
	cfg.addresses = list;
	s = sbs_new(&cfg, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(sbs_connect(s, SESSION_WAIT_MS), SBS_FATAL);
	assert_int_equal(sbs_failures(s), 3);
	assert_non_null(strstr(sbs_last_error(s), "connect"));
	sbs_free(s);
}

/* sbctl takes a comma-separated list where it takes one address. */
HARNESS_TEST(test_sbctl_address_list)
{
	char list[256];
	const char *out;

	snprintf(list, sizeof(list), "%s,%s", harness_free_addr(h), harness_gateway_addr(h));
	const char *const argv[] = {harness_sbctl_path(h), "submit", "--gateway", list, "--id",
	                            "gw1", "--secret", harness_gateway_secret(h, "gw1"),
	                            "--channel", "chat", "--external-id", "sbctl-list", NULL};
	int st = harness_run(h, argv, 20000, &out);

	if (st != 0 || strstr(out, "accepted contact ") == NULL)
		fail_msg("sbctl with an address list: status %d: %s", st, out);
	snprintf(list, sizeof(list), "%s,%s", harness_free_addr(h), harness_free_addr(h));
	const char *const dead[] = {harness_sbctl_path(h), "submit", "--gateway", list, "--id",
	                            "gw1", "--secret", harness_gateway_secret(h, "gw1"),
	                            "--channel", "chat", "--external-id", "sbctl-dead", NULL};
	st = harness_run(h, dead, 20000, &out);
	if (st != 1 || strstr(out, "login as gw1 failed") == NULL)
		fail_msg("sbctl with dead addresses: status %d: %s", st, out);
}

/* Bad address lists are refused up front. */
/* A corked client holds its frames until it flushes (or until it waits for
 * an answer); then they all go, in order. */
HARNESS_TEST(test_corked_frames_wait_for_flush)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	uint64_t seq[3];
	Envelope *env = NULL;

	harness_keepalive(h, gw, false);
	sbc_cork(gw, true);
	assert_true(sbc_corked(gw));
	for (int i = 0; i < 3; i++) {
		seq[i] = sbc_ping(gw);
		assert_true(seq[i] != 0);
	}
	assert_true(sbc_unflushed(gw) > 0);
	/* Nothing was written, so nothing comes back (a non-waiting receive
	 * does not flush). */
	usleep(300 * 1000);
	assert_int_equal(sbc_recv(gw, 0, &env), 0);
	assert_int_equal(sbc_flush(gw), 0);
	assert_int_equal(sbc_unflushed(gw), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sbc_recv(gw, HARNESS_REPLY_MS, &env), 1);
		assert_int_equal(env->body_case, SB_BODY(PONG));
		assert_int_equal(env->ref, seq[i]);
		envelope_free(env);
	}
	/* A receive that waits flushes what is corked before it waits. */
	uint64_t more = sbc_ping(gw);
	assert_int_equal(sbc_recv(gw, HARNESS_REPLY_MS, &env), 1);
	assert_int_equal(env->ref, more);
	envelope_free(env);
	sbc_cork(gw, false);
	assert_false(sbc_corked(gw));
}

static void test_bad_address_lists(void **state)
{
	static const char *const bad[] = {"", ",", "a:1,", "a:1,,b:2"};
	struct sbs_config cfg = {.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT, .client_id = "x"};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.addresses = bad[i];
		err[0] = '\0';
		assert_null(sbs_new(&cfg, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
}

/* Every delay lies in [min/2, max]; it doubles until the cap. */
static void test_backoff_bounded(void **state)
{
	struct sbs_config cfg = {.addresses = "127.0.0.1:1",
	                         .role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY,
	                         .client_id = "gw1",
	                         .backoff_min_ms = 50,
	                         .backoff_max_ms = 2000,
	                         .seed = 42};
	char err[256];
	struct sbs *s = sbs_new(&cfg, err, sizeof(err));
	int seen_max = 0;

	assert_non_null(s);
	for (unsigned f = 1; f < 200; f++) {
		for (int k = 0; k < 20; k++) {
			int d = sbs_backoff_ms(s, f);
			int64_t full = 50;

			for (unsigned i = 1; i < f && full < 2000; i++)
				full *= 2;
			if (full > 2000)
				full = 2000;
			assert_true(d >= full / 2);
			assert_true(d <= full);
			if (d > seen_max)
				seen_max = d;
		}
	}
	assert_true(seen_max <= 2000);
	assert_true(seen_max > 1000); /* the cap is reached, jitter or not */
	sbs_free(s);
}

/* Duplicates are caught inside the window; the oldest ids leave first. */
static void test_dedup_window(void **state)
{
	struct sbs_dedup *d = sbs_dedup_new(3);

	assert_false(sbs_dedup_seen(d, "c-1/1"));
	assert_true(sbs_dedup_seen(d, "c-1/1"));
	assert_false(sbs_dedup_seen(d, "c-1/2"));
	assert_false(sbs_dedup_seen(d, "c-2/1"));
	assert_int_equal(sbs_dedup_count(d), 3);
	assert_false(sbs_dedup_seen(d, "c-3/1")); /* evicts c-1/1 */
	assert_int_equal(sbs_dedup_count(d), 3);
	assert_true(sbs_dedup_seen(d, "c-1/2"));
	assert_true(sbs_dedup_seen(d, "c-3/1"));
	assert_false(sbs_dedup_seen(d, "c-1/1")); /* forgotten, so new again */
	assert_false(sbs_dedup_seen(d, ""));
	assert_false(sbs_dedup_seen(d, NULL));
	for (int i = 0; i < 10000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "c-x/%d", i);
		assert_false(sbs_dedup_seen(d, id));
	}
	assert_int_equal(sbs_dedup_count(d), 3);
	sbs_dedup_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reconnect_after_kill, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_address_list_skips_dead, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_follows_not_leader, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_not_leader_unknown_tries_next, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_credentials_fatal, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_real_standby_and_failover, setup_pair,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_drain_moves_to_standby, setup_pair,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_gives_up_after_max_failures, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_sbctl_address_list, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test_setup_teardown(test_corked_frames_wait_for_flush, harness_setup,
	                                    harness_teardown),
	    cmocka_unit_test(test_bad_address_lists),
	    cmocka_unit_test(test_backoff_bounded),
	    cmocka_unit_test(test_dedup_window),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

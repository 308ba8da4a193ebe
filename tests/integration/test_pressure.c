/* Connection pressure: sockets that never log in, a daemon out of file
 * descriptors. Each case holds many connections open (bounded counts, on
 * loopback) and checks that real clients still log in and are served,
 * and what the daemon says about it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "http_client.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define ROLE_GATEWAY SWITCHBOARD__V1__ROLE__ROLE_GATEWAY

/* How long an unauthenticated connection is safe from being closed to make
 * room (REGISTRY_EVICT_MIN_MS in daemon/session/registry.c), plus slack. */
#define EVICT_AGE_MS 1300

/* The budget of the unauthenticated tests: all, and per address. */
#define UNAUTH_MAX 8
#define UNAUTH_PER_ADDRESS 4

/* A TCP connection to addr ("127.0.0.1:port") from the loopback address
 * src ("127.0.0.2": a second peer address); nothing is sent. */
static int connect_from(const char *src, const char *addr)
{
	struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	const char *colon = strrchr(addr, ':');
	char host[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_non_null(colon);
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
	assert_int_equal(inet_pton(AF_INET, host, &to.sin_addr), 1);
	to.sin_port = htons((uint16_t)atoi(colon + 1));
	if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
		fail_msg("connect from %s to %s failed", src, addr);
	return fd;
}

/* What the daemon did with an idle connection within ms. */
enum idle_fate { IDLE_OPEN, IDLE_CLOSED, IDLE_CLOSED_SAYING };

/* Reads fd for up to ms (until the daemon closes it): IDLE_CLOSED_SAYING
 * when it was closed after bytes containing want (an Error frame's message
 * is plain bytes inside it), IDLE_CLOSED when closed otherwise, IDLE_OPEN
 * when still open and silent. */
static enum idle_fate idle_fate(int fd, int ms, const char *want)
{
	int64_t end = harness_now_ms() + ms;
	char buf[4096];
	size_t used = 0;

	while (harness_now_ms() < end) {
		struct timeval tv = {0, 20000};
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		if (select(fd + 1, &rd, NULL, NULL, &tv) <= 0)
			continue;
		ssize_t r = read(fd, buf + used, sizeof buf - used);
		if (r <= 0)
			return memmem(buf, used, want, strlen(want)) != NULL ? IDLE_CLOSED_SAYING
									     : IDLE_CLOSED;
		used += (size_t)r;
		if (used == sizeof buf)
			fail_msg("an idle connection was sent more than %zu bytes", sizeof buf);
	}
	if (used > 0)
		fail_msg("an idle connection was sent %zu bytes and left open", used);
	return IDLE_OPEN;
}

/* Waits until the daemon has seen the harness's start-up probe (a
 * connection to the gateway port, closed at once) go: until then it still
 * counts as a connection that has not logged in. */
static void probe_gone(struct harness *h)
{
	assert_true(harness_log_wait(h, "closed: peer closed the connection", HARNESS_REPLY_MS));
}

/* Starts a daemon whose unauthenticated budget is UNAUTH_MAX in all and
 * UNAUTH_PER_ADDRESS per address, with room for 4 gateways; idle
 * connections are not timed out during a test. */
static int setup_unauth(void **state)
{
	struct harness_opts o = {
		.handshake_timeout_ms = 30000,
		.limits_yaml = "  max_gateway_connections: 4\n"
			       "  max_unauthenticated: 8\n"
			       "  max_unauthenticated_per_address: 4\n",
	};

	*state = harness_start(&o);
	return 0;
}

/* The same total, and more per address: the total is what bites. */
static int setup_unauth_one_address(void **state)
{
	struct harness_opts o = {
		.handshake_timeout_ms = 30000,
		.limits_yaml = "  max_gateway_connections: 4\n"
			       "  max_unauthenticated: 8\n"
			       "  max_unauthenticated_per_address: 16\n",
	};

	*state = harness_start(&o);
	return 0;
}

/* Idle sockets that never say Hello, more than the budget and more than
 * the gateway cap, from the address the real clients use: the newest are
 * turned away while the held ones are young, then each real client's
 * connection pushes out the oldest idle one, logs in and is served. Only
 * logged-in connections count against limits.max_gateway_connections. */
HARNESS_TEST(test_idle_sockets_do_not_lock_out_real_clients)
{
	int idle[UNAUTH_MAX + 4];
	int refused = 0, open = 0, evicted = 0;

	probe_gone(h);

	/* Both ports share the budget. The first UNAUTH_MAX are held ... */
	for (int i = 0; i < UNAUTH_MAX; i++)
		idle[i] = connect_from("127.0.0.1", i % 2 ? harness_agent_addr(h)
							  : harness_gateway_addr(h));
	harness_sleep(h, 200);
	for (int i = 0; i < UNAUTH_MAX; i++)
		open += idle_fate(idle[i], 50, "-") == IDLE_OPEN;
	/* ... and the next are refused at once, as none of the held ones has
	 * had its chance to log in yet. */
	for (int i = UNAUTH_MAX; i < UNAUTH_MAX + 4; i++) {
		idle[i] = connect_from("127.0.0.1", i % 2 ? harness_agent_addr(h)
							  : harness_gateway_addr(h));
		refused += idle_fate(idle[i], HARNESS_REPLY_MS,
				     "limits.max_unauthenticated: 8); retry later") ==
			   IDLE_CLOSED_SAYING;
	}
	assert_int_equal(open, UNAUTH_MAX);
	assert_int_equal(refused, 4);

	/* Once the held ones are old, real clients get in: four gateways (the
	 * cap, which idle sockets no longer use up) and two agents. */
	harness_sleep(h, EVICT_AGE_MS);
	struct sbc *gw[4] = {harness_gateway(h, "gw1"), harness_gateway(h, "gw2"),
			     harness_gateway(h, "gw1"), harness_gateway(h, "gw2")};
	struct sbc *alice = harness_agent(h, "alice");
	harness_agent(h, "bob");
	harness_available(h, alice);
	const char *id = harness_submit_id(h, gw[3], "after-idle-flood", VOICE, "voice-q");
	harness_offer_for(h, alice, id, HARNESS_REPLY_MS);
	for (int i = 0; i < 4; i++)
		harness_assert_open(h, gw[i]);

	/* The first pushed out an idle socket (the oldest), saying why; each
	 * left the budget as it logged in, so the next found that room free. */
	for (int i = 0; i < UNAUTH_MAX; i++) {
		enum idle_fate f = idle_fate(idle[i], 50, "closed to make room after");
		assert_int_not_equal(f, IDLE_CLOSED);
		evicted += f == IDLE_CLOSED_SAYING;
	}
	assert_int_equal(evicted, 1);
	assert_true(harness_log_contains(h, "closed to make room"));

	/* The gateway cap still holds for logged-in gateways. */
	struct sbc *fifth = harness_connect(h, HARNESS_GATEWAY_PORT);
	int rc = sbc_hello(fifth, ROLE_GATEWAY, "gw1", harness_gateway_secret(h, "gw1"),
			   HARNESS_REPLY_MS, NULL);
	assert_int_equal(rc, SB_ERR_CODE(OVERLOADED));
	assert_non_null(strstr(sbc_last_error(fifth), "max_gateway_connections"));
	for (int i = 0; i < UNAUTH_MAX + 4; i++)
		close(idle[i]);
}

/* Idle sockets from a second address (127.0.0.2) past the per-address
 * budget: that address's newest are refused, then its own oldest make
 * room; the idle sockets of 127.0.0.1, older still, are never touched, and
 * a gateway from 127.0.0.1 logs in. */
HARNESS_TEST(test_idle_sockets_of_one_address_push_out_only_their_own)
{
	int ours[3], theirs[UNAUTH_PER_ADDRESS + 2], later[2];

	probe_gone(h);

	for (int i = 0; i < 3; i++)
		ours[i] = connect_from("127.0.0.1", harness_gateway_addr(h));
	for (int i = 0; i < UNAUTH_PER_ADDRESS + 2; i++)
		theirs[i] = connect_from("127.0.0.2", harness_gateway_addr(h));
	for (int i = 0; i < UNAUTH_PER_ADDRESS + 2; i++)
		assert_int_equal(idle_fate(theirs[i], i < UNAUTH_PER_ADDRESS ? 50 : HARNESS_REPLY_MS,
					   "from 127.0.0.2 that have not logged in "
					   "(limits.max_unauthenticated_per_address: 4); retry later"),
				 i < UNAUTH_PER_ADDRESS ? IDLE_OPEN : IDLE_CLOSED_SAYING);

	/* Old enough to make room: two more from 127.0.0.2 push out its two
	 * oldest, not the older ones of 127.0.0.1. */
	harness_sleep(h, EVICT_AGE_MS);
	for (int i = 0; i < 2; i++)
		later[i] = connect_from("127.0.0.2", harness_gateway_addr(h));
	for (int i = 0; i < UNAUTH_PER_ADDRESS; i++)
		assert_int_equal(idle_fate(theirs[i], i < 2 ? HARNESS_REPLY_MS : 50,
					   "limits.max_unauthenticated_per_address: 4): closed to "
					   "make room"),
				 i < 2 ? IDLE_CLOSED_SAYING : IDLE_OPEN);
	for (int i = 0; i < 2; i++)
		assert_int_equal(idle_fate(later[i], 50, "-"), IDLE_OPEN);
	for (int i = 0; i < 3; i++)
		assert_int_equal(idle_fate(ours[i], 50, "-"), IDLE_OPEN);

	struct sbc *gw = harness_gateway(h, "gw1");
	harness_submit(h, gw, "beside-other-address", VOICE, "voice-q");
	for (int i = 0; i < 3; i++)
		assert_int_equal(idle_fate(ours[i], 50, "-"), IDLE_OPEN);
	for (int i = 0; i < 3; i++)
		close(ours[i]);
	for (int i = 0; i < UNAUTH_PER_ADDRESS + 2; i++)
		close(theirs[i]);
	for (int i = 0; i < 2; i++)
		close(later[i]);
}

/* The daemon's file limit in the descriptor test: room for its listeners,
 * Redis and a few clients, far less than the connections the test opens. */
#define NOFILE 48
#define FLOOD 120

/* A daemon that may open only NOFILE files, with the admin API, whose
 * unauthenticated budget is not what stops the flood. */
static int setup_nofile(void **state)
{
	struct harness_opts o = {
		.handshake_timeout_ms = 30000,
		.max_open_files = NOFILE,
		.admin = true,
		.limits_yaml = "  max_unauthenticated: 1000\n"
			       "  max_unauthenticated_per_address: 1000\n",
	};

	*state = harness_start(&o);
	return 0;
}

/* How many times text occurs in the daemon's log. */
static int log_count(struct harness *h, const char *text)
{
	const char *log = harness_read_file(h, "switchboard.log");
	int n = 0;

	for (const char *p = log; p != NULL && (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	return n;
}

/* A gateway logs in as id, retrying for a few seconds: accepting resumes
 * after a pause once descriptors are free again. */
static struct sbc *gateway_eventually(struct harness *h, const char *id)
{
	for (int i = 0; i < 50; i++) {
		struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
		if (sbc_hello(c, ROLE_GATEWAY, id, harness_gateway_secret(h, id), 500, NULL) == 0) {
			harness_keepalive(h, c, true);
			return c;
		}
		harness_close(h, c);
		harness_sleep(h, 100);
	}
	fail_msg("gateway %s could not log in once descriptors were free again", id);
	return NULL;
}

/* Out of file descriptors, the daemon pauses accepting instead of retrying
 * at once: a few log lines, with counts, rather than one per try; and once
 * the connections go away, gateways and the admin API are served again. */
HARNESS_TEST(test_out_of_descriptors_pauses_accepting_and_recovers)
{
	int flood[FLOOD + 10];

	probe_gone(h);
	/* More than the daemon can hold: the kernel queues the rest, and
	 * every accept the daemon tries fails with EMFILE. */
	for (int i = 0; i < FLOOD; i++)
		flood[i] = connect_from("127.0.0.1", harness_gateway_addr(h));
	for (int i = FLOOD; i < FLOOD + 10; i++)
		flood[i] = connect_from("127.0.0.1", harness_admin_addr(h));
	assert_true(harness_log_wait(h, "Too many open files", HARNESS_REPLY_MS));
	harness_sleep(h, 2500);
	/* A pause per failure (100 ms doubling to 1 s) and a line per 10 s
	 * per port: a line or two each, not one per try. */
	int lines = log_count(h, "accept failed");
	if (lines < 1 || lines > 4)
		fail_msg("%d 'accept failed' lines in 2.5 s out of descriptors", lines);
	assert_true(harness_log_contains(h, "listener 127.0.0.1:"));
	assert_true(harness_log_contains(h, "admin listener 127.0.0.1:"));

	for (int i = 0; i < FLOOD + 10; i++)
		close(flood[i]);
	struct sbc *gw = gateway_eventually(h, "gw1");
	harness_submit(h, gw, "after-emfile", VOICE, "voice-q");
	struct resp r = http_at(harness_admin_addr(h), "GET", "/healthz", NULL, NULL, 5000);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* The failures after the first line are reported, counted, within the
	 * next 10 s, with the recovery. */
	assert_true(harness_log_wait(h, "times in the last", 12000));
	assert_true(harness_log_contains(h, "accepting again"));
	lines = log_count(h, "accept failed");
	if (lines > 6)
		fail_msg("%d 'accept failed' lines in all", lines);
}

/* Slow admin clients: more than admin.max_connections (64 by default). */
#define SLOW 70

/* A daemon with the admin API and these lines under admin:. */
static struct harness *start_admin(const char *admin_yaml)
{
	struct harness_opts o = {.admin = true, .admin_yaml = admin_yaml};

	return harness_start(&o);
}

/* A deadline far away: only making room at the cap can let a probe in. */
static int setup_admin_slow_deadline(void **state)
{
	*state = start_admin("  request_timeout_ms: 60000\n");
	return 0;
}

/* A short deadline, and room for every connection. */
static int setup_admin_short_deadline(void **state)
{
	*state = start_admin("  request_timeout_ms: 1000\n");
	return 0;
}

/* Sends text on fd, ignoring a closed peer. */
static void send_quietly(int fd, const char *text)
{
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL);
}

/* GET path on the admin API answers 200 (the client waits up to 5 s: a
 * generous bound, not a speed test). */
static void admin_get_ok(struct harness *h, const char *path)
{
	struct resp r = http_at(harness_admin_addr(h), "GET", path, NULL, NULL, 5000);

	if (r.status != 200)
		fail_msg("GET %s answered %d with %d slow clients holding the admin port", path,
			 r.status, SLOW);
	resp_free(&r);
}

/* SLOW clients that send a request line, then a header line a second, hold
 * more than the connection cap: /healthz, /readyz and /metrics still
 * answer, as at the cap the connection that has waited longest for its
 * request makes room. */
HARNESS_TEST(test_slow_admin_clients_do_not_starve_health_and_metrics)
{
	int slow[SLOW];
	int closed_n = 0;

	for (int i = 0; i < SLOW; i++) {
		slow[i] = connect_from("127.0.0.1", harness_admin_addr(h));
		send_quietly(slow[i], "GET /healthz HTTP/1.1\r\n");
	}
	for (int round = 0; round < 3; round++) {
		harness_sleep(h, 1000);
		for (int i = 0; i < SLOW; i++)
			send_quietly(slow[i], "X-Slow: 1\r\n");
	}
	admin_get_ok(h, "/healthz");
	admin_get_ok(h, "/readyz");
	admin_get_ok(h, "/metrics");
	/* Those that made room were closed; the rest are still held. */
	for (int i = 0; i < SLOW; i++)
		closed_n += idle_fate(slow[i], 20, "-") != IDLE_OPEN;
	if (closed_n < 1 || closed_n > SLOW - 50)
		fail_msg("%d of %d slow admin clients closed", closed_n, SLOW);
	for (int i = 0; i < SLOW; i++)
		close(slow[i]);
}

/* A client trickling one header line every 300 ms never lets the idle
 * timeout fire, but its request is not whole within
 * admin.request_timeout_ms (1 s): it is closed. A client that asks at once
 * is answered, and may ask again on the same connection. */
HARNESS_TEST(test_admin_request_must_arrive_within_the_deadline)
{
	int fd = connect_from("127.0.0.1", harness_admin_addr(h));
	int64_t start = harness_now_ms();
	bool closed = false;

	send_quietly(fd, "GET /healthz HTTP/1.1\r\n");
	while (!closed && harness_now_ms() - start < 4000) {
		send_quietly(fd, "X-Slow: 1\r\n");
		closed = idle_fate(fd, 300, "-") != IDLE_OPEN;
	}
	if (!closed)
		fail_msg("a trickling admin client was still open after 4 s");
	close(fd);

	/* Keep-alive: two requests, the second after the first's reply. */
	fd = connect_from("127.0.0.1", harness_admin_addr(h));
	for (int i = 0; i < 2; i++) {
		bool eof = false;
		send_quietly(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
		char *raw = http_read(fd, 500, &eof);
		assert_true(strncmp(raw, "HTTP/1.1 200", 12) == 0);
		free(raw);
		assert_false(eof);
		harness_sleep(h, 300);
	}
	close(fd);
	admin_get_ok(h, "/healthz");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_sockets_do_not_lock_out_real_clients,
						setup_unauth_one_address, harness_teardown),
		cmocka_unit_test_setup_teardown(
			test_idle_sockets_of_one_address_push_out_only_their_own, setup_unauth,
			harness_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_descriptors_pauses_accepting_and_recovers,
						setup_nofile, harness_teardown),
		cmocka_unit_test_setup_teardown(test_slow_admin_clients_do_not_starve_health_and_metrics,
						setup_admin_slow_deadline, harness_teardown),
		cmocka_unit_test_setup_teardown(test_admin_request_must_arrive_within_the_deadline,
						setup_admin_short_deadline, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The daemon as systemd runs it: notifications on $NOTIFY_SOCKET (READY=1
 * once listening with the store ready, status lines, the watchdog from the
 * loop, RELOADING=1 ... READY=1 around SIGHUP, STOPPING=1 on SIGTERM), each
 * checked to come from the daemon's own pid; and the log it writes: session
 * lines name their session, and no secret or token ever appears. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define NOTIFY_WAIT_MS 10000 /* bound on waiting for a message that must come */
#define WATCHDOG_USEC "400000" /* pings every 200 ms */

/* The socket systemd would listen on; SO_PASSCRED tells who sent each
 * datagram, so messages from Redis (which inherits the variable) or anyone
 * else are skipped. */
static int notify_fd = -1;
static char notify_path[108];

static int notify_setup(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int on = 1;

	snprintf(notify_path, sizeof notify_path, "/tmp/sb-itest-notify-%d.sock", (int)getpid());
	unlink(notify_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0)
		return -1;
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notify_path);
	if (bind(notify_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
	    setsockopt(notify_fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
		return -1;
	setenv("NOTIFY_SOCKET", notify_path, 1);
	setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
	harness_setup(state);
	/* Children inherit the environment at start only. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	return 0;
}

static int notify_teardown(void **state)
{
	int rc = harness_teardown(state);

	close(notify_fd);
	unlink(notify_path);
	return rc;
}

/* The next datagram from the daemon into buf; fails the test if none comes. */
static const char *notify_next(struct harness *h, char *buf, size_t len)
{
	for (;;) {
		struct pollfd p = { .fd = notify_fd, .events = POLLIN };
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { buf, len - 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				      .msg_controllen = sizeof ctl.buf };

		if (poll(&p, 1, NOTIFY_WAIT_MS) != 1)
			fail_msg("no notification from the daemon within %d ms", NOTIFY_WAIT_MS);
		ssize_t n = recvmsg(notify_fd, &msg, 0);
		assert_true(n >= 0);
		buf[n] = '\0';
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c != NULL && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			if (cred.pid == harness_daemon_pid(h))
				return buf;
		}
	}
}

/* Reads notifications until one starts with prefix (others, such as
 * watchdog pings, may come in between), for at most NOTIFY_WAIT_MS;
 * returns it. */
static const char *notify_until(struct harness *h, const char *prefix, char *buf, size_t len)
{
	int64_t deadline = harness_now_ms() + NOTIFY_WAIT_MS;

	while (harness_now_ms() < deadline) {
		notify_next(h, buf, len);
		if (strncmp(buf, prefix, strlen(prefix)) == 0)
			return buf;
	}
	fail_msg("no '%s' notification within %d ms", prefix, NOTIFY_WAIT_MS);
	return NULL;
}

/* The life cycle systemd sees. */
static void test_notify_lifecycle(void **state)
{
	struct harness *h = *state;
	char buf[512];

	/* ready once listening with the store ready (a standby is ready too);
	 * routing once it leads */
	notify_until(h, "READY=1", buf, sizeof buf);
	notify_until(h, "STATUS=routing, 0 waiting", buf, sizeof buf);
	assert_true(harness_log_contains(h, "store ready"));
	notify_until(h, "WATCHDOG=1", buf, sizeof buf);
	notify_until(h, "WATCHDOG=1", buf, sizeof buf);

	/* a waiting contact shows in the status */
	struct sbc *gw = harness_gateway(h, "gw1");
	harness_submit(h, gw, "ext-notify-1", SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE, NULL);
	notify_until(h, "STATUS=routing, 1 waiting", buf, sizeof buf);

	assert_int_equal(kill(harness_daemon_pid(h), SIGHUP), 0);
	notify_until(h, "RELOADING=1\nMONOTONIC_USEC=", buf, sizeof buf);
	notify_until(h, "READY=1", buf, sizeof buf);

	/* the store going away is in the status; coming back, READY again */
	harness_redis_stop(h);
	notify_until(h, "STATUS=store unavailable", buf, sizeof buf);
	harness_redis_start(h);
	notify_until(h, "STATUS=routing", buf, sizeof buf);

	assert_int_equal(kill(harness_daemon_pid(h), SIGTERM), 0);
	notify_until(h, "STOPPING=1", buf, sizeof buf);
	notify_until(h, "STATUS=draining", buf, sizeof buf);
	harness_passed(h);
}

/* Each line of the log that is about a session names it ("session g-1"),
 * and no gateway secret, agent secret or token appears anywhere, even at
 * debug level and after failed logins that carried wrong credentials. */
static void test_log_names_sessions_and_hides_secrets(void **state)
{
	struct harness *h = *state;
	const char *token = harness_token(h, "alice", 3600);
	const char *wrong_secret = "wrong-gateway-secret-0123456789";
	const char *wrong_token =
		"v1.9999999999.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *agent = harness_connect(h, HARNESS_AGENT_PORT);
	assert_int_equal(sbc_hello(agent, SWITCHBOARD__V1__ROLE__ROLE_AGENT, "alice", token,
				   HARNESS_REPLY_MS, NULL),
			 0);
	struct sbc *bad_gw = harness_connect(h, HARNESS_GATEWAY_PORT);
	assert_true(sbc_hello(bad_gw, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1", wrong_secret,
			      HARNESS_REPLY_MS, NULL) > 0);
	struct sbc *bad_agent = harness_connect(h, HARNESS_AGENT_PORT);
	assert_true(sbc_hello(bad_agent, SWITCHBOARD__V1__ROLE__ROLE_AGENT, "alice", wrong_token,
			      HARNESS_REPLY_MS, NULL) > 0);
	harness_submit(h, gw, "ext-log-1", SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT, NULL);
	harness_close(h, bad_gw);
	harness_close(h, bad_agent);
	assert_true(harness_log_wait(h, "refused", HARNESS_REPLY_MS));
	assert_true(harness_log_wait(h, "closed", HARNESS_REPLY_MS));

	const char *log = harness_read_file(h, "switchboard.log");
	assert_non_null(log);
	const char *secrets[] = { harness_agent_secret(h), harness_gateway_secret(h, "gw1"),
				  harness_gateway_secret(h, "gw2"), token, wrong_secret,
				  wrong_token };
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
		if (strstr(log, secrets[i]) != NULL)
			fail_msg("the log contains secret #%zu", i);
	/* the token's signature alone would do as much harm */
	const char *sig = strrchr(token, '.');
	assert_non_null(sig);
	assert_null(strstr(log, sig + 1));

	size_t session_lines = 0;
	for (const char *line = log; *line != '\0';) {
		size_t n = strcspn(line, "\n");
		const char *p = line;
		if (p[0] == '<') { /* a journald priority prefix */
			p = strchr(p, '>') + 1;
		} else { /* outside the journal: "2025-03-01T09:30:12.345Z info " */
			p = strchr(p, ' ');
			p = p != NULL ? strchr(p + 1, ' ') : NULL;
			if (p == NULL)
				fail_msg("a line without time and level: %.*s", (int)n, line);
			p++;
		}
		if (strncmp(p, "session ", 8) == 0) {
			session_lines++;
			/* "session g-3" or "session a-4", then ':' or ' ' */
			if (!((p[8] == 'g' || p[8] == 'a') && p[9] == '-' && p[10] >= '0' &&
			      p[10] <= '9'))
				fail_msg("session line without its id: %.*s", (int)n, line);
		}
		line += n + (line[n] == '\n');
	}
	/* two logins, two refusals, two closes at least */
	assert_true(session_lines >= 6);
	harness_passed(h);
}

int main(void)
{
	/* debug: the most the daemon ever logs */
	setenv("SB_LOG_LEVEL", "debug", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_notify_lifecycle, notify_setup,
						notify_teardown),
		cmocka_unit_test_setup_teardown(test_log_names_sessions_and_hides_secrets,
						harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

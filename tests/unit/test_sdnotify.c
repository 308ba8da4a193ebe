/* systemd notification (sdnotify.c): each message arrives as one datagram
 * on a real AF_UNIX socket named by $NOTIFY_SOCKET, by path and in the
 * abstract namespace; everything is a no-op without the variable; the
 * watchdog honours WATCHDOG_USEC and WATCHDOG_PID and pings from a timer on
 * the caller's libevent loop. */
#define _GNU_SOURCE
#include <setjmp.h>
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
#include <event2/event.h>

#include "sdnotify.h"

#define RECV_WAIT_MS 5000 /* bound on waiting for a datagram that must come */

/* The receiving end systemd would hold. */
struct receiver {
	int fd;
	char path[108]; /* "" for an abstract socket */
};

/* Binds a datagram socket and points $NOTIFY_SOCKET at it. */
static void receiver_open(struct receiver *r, bool abstract)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	char env[120];

	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	if (abstract) {
		r->path[0] = '\0';
		int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "sb-test-notify-%d",
				 (int)getpid());
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
		snprintf(env, sizeof env, "@%s", addr.sun_path + 1);
	} else {
		snprintf(r->path, sizeof r->path, "/tmp/sb-test-notify-%d.sock", (int)getpid());
		unlink(r->path);
		snprintf(addr.sun_path, sizeof addr.sun_path, "%s", r->path);
		len = (socklen_t)sizeof addr;
		snprintf(env, sizeof env, "%s", r->path);
	}
	assert_int_equal(bind(r->fd, (struct sockaddr *)&addr, len), 0);
	setenv("NOTIFY_SOCKET", env, 1);
}

static void receiver_close(struct receiver *r)
{
	close(r->fd);
	if (r->path[0] != '\0')
		unlink(r->path);
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, NUL-terminated into buf; fails if none comes. */
static const char *receiver_next(struct receiver *r, char *buf, size_t len)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, RECV_WAIT_MS), 1);
	ssize_t n = recv(r->fd, buf, len - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* Asserts that nothing is queued on the socket. */
static void receiver_empty(struct receiver *r)
{
	char buf[16];
	assert_int_equal(recv(r->fd, buf, sizeof buf, MSG_DONTWAIT), -1);
}

static int setup(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

/* Without $NOTIFY_SOCKET nothing is sent and nothing fails. */
static void test_noop_without_socket(void **state)
{
	struct event_base *base = event_base_new();

	assert_int_equal(sdnotify_send("READY=1"), 0);
	sdnotify_ready();
	sdnotify_reloading();
	sdnotify_stopping();
	sdnotify_status("routing, %d waiting", 3);
	setenv("WATCHDOG_USEC", "1000000", 1);
	assert_null(sdnotify_loop_start(base, NULL, NULL));
	sdnotify_loop_free(NULL);
	event_base_free(base);
}

/* Each call is one datagram with exactly its assignments. */
static void test_messages_on_path_socket(void **state)
{
	struct receiver r;
	char buf[512];

	receiver_open(&r, false);
	sdnotify_ready();
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "READY=1");
	sdnotify_stopping();
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "STOPPING=1");
	sdnotify_reloading();
	receiver_next(&r, buf, sizeof buf);
	assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	char *end;
	unsigned long long usec = strtoull(buf + 27, &end, 10);
	assert_true(usec > 0);
	assert_string_equal(end, "");
	assert_int_equal(sdnotify_send("FDSTORE=0"), 1);
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "FDSTORE=0");
	receiver_empty(&r);
	receiver_close(&r);
}

/* '@' names the abstract namespace: a leading NUL, no terminating one. */
static void test_abstract_socket(void **state)
{
	struct receiver r;
	char buf[64];

	receiver_open(&r, true);
	sdnotify_ready();
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "READY=1");
	receiver_close(&r);
}

/* STATUS= is one line and is not repeated while the text is unchanged. */
static void test_status_dedup_and_one_line(void **state)
{
	struct receiver r;
	char buf[512];

	receiver_open(&r, false);
	sdnotify_status("routing, %d waiting", 7);
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "STATUS=routing, 7 waiting");
	sdnotify_status("routing, %d waiting", 7);
	receiver_empty(&r);
	sdnotify_status("store unavailable\nREADY=1");
	assert_string_equal(receiver_next(&r, buf, sizeof buf), "STATUS=store unavailable");
	receiver_empty(&r);
	receiver_close(&r);
}

/* A socket that is not there, or a name that cannot be one, is an error
 * the caller survives. */
static void test_bad_socket(void **state)
{
	setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify", 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	sdnotify_ready(); /* logs once, does not fail */
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

/* WATCHDOG_USEC is honoured only when valid and, with WATCHDOG_PID, only
 * in the process it names. */
static void test_watchdog_usec(void **state)
{
	char pid[32];

	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	const char *bad[] = { "", "0", "-5", "12x", "abc" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		assert_int_equal(sdnotify_watchdog_usec(), 0);
	}
	unsetenv("WATCHDOG_USEC");
}

static int ticks;

static void on_tick(void *arg)
{
	ticks++;
	sdnotify_status("tick %d", ticks);
}

/* The watchdog pings from the loop's own timer, and each tick refreshes
 * the status; the loop turns only when the timer fires, so each pass is
 * one ping. */
static void test_watchdog_pings_from_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct receiver r;
	char buf[128];

	receiver_open(&r, false);
	setenv("WATCHDOG_USEC", "20000", 1); /* 20 ms: pings every 10 ms */
	ticks = 0;
	struct sdnotify_loop *l = sdnotify_loop_start(base, on_tick, NULL);
	assert_non_null(l);
	for (int i = 1; i <= 3; i++) {
		event_base_loop(base, EVLOOP_ONCE);
		assert_string_equal(receiver_next(&r, buf, sizeof buf), "WATCHDOG=1");
		char want[32];
		snprintf(want, sizeof want, "STATUS=tick %d", i);
		assert_string_equal(receiver_next(&r, buf, sizeof buf), want);
	}
	sdnotify_loop_free(l);
	/* A watchdog meant for another process: status ticks only. */
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	l = sdnotify_loop_start(base, NULL, NULL);
	assert_non_null(l);
	sdnotify_loop_free(l);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	receiver_empty(&r);
	receiver_close(&r);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_noop_without_socket, setup),
		cmocka_unit_test_setup(test_messages_on_path_socket, setup),
		cmocka_unit_test_setup(test_abstract_socket, setup),
		cmocka_unit_test_setup(test_status_dedup_and_one_line, setup),
		cmocka_unit_test_setup(test_bad_socket, setup),
		cmocka_unit_test_setup(test_watchdog_usec, setup),
		cmocka_unit_test_setup(test_watchdog_pings_from_loop, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

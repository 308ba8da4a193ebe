/* systemd notification: see sdnotify.h. */
#include "sdnotify.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/* The timer of sdnotify_loop_start. Owner: its caller. */
struct sdnotify_loop {
	struct event *timer;
	sdnotify_tick_fn tick;
	void *arg;
	bool watchdog;
};

/* The last STATUS= sent: repeats are not sent again. */
static char sdnotify_last_status[256];
/* Set after the first failed send: one warning, not one per tick. */
static int sdnotify_warned;

/* Fills addr from $NOTIFY_SOCKET. Returns its length, 0 when unset, -1 (errno
 * EINVAL) when it names no usable socket. */
static int sdnotify_address(struct sockaddr_un *addr, socklen_t *len)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t n;

	if (name == NULL || name[0] == '\0')
		return 0;
	n = strlen(name);
	/* A path must be absolute; '@' is the abstract namespace, whose name
	 * starts with a NUL byte and is not NUL-terminated. */
	if ((name[0] != '/' && name[0] != '@') || n < 2 || n > sizeof addr->sun_path) {
		errno = EINVAL;
		return -1;
	}
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, name, n);
	if (name[0] == '@') {
		addr->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		if (n == sizeof addr->sun_path) {
			errno = EINVAL; /* no room for the terminating NUL */
			return -1;
		}
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 1;
}

int sdnotify_send(const char *msg)
{
	struct sockaddr_un addr;
	socklen_t addrlen = 0;
	int rc = sdnotify_address(&addr, &addrlen);

	if (rc <= 0)
		return rc;
	/* A socket per message: notifications are rare (one per tick at most),
	 * and nothing stays open across a fork or a restart of systemd. */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	size_t len = strlen(msg);
	ssize_t sent = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addrlen);
	int saved = errno;
	close(fd);
	if (sent < 0 || (size_t)sent != len) {
		errno = sent < 0 ? saved : EMSGSIZE;
		return -1;
	}
	return 1;
}

/* Sends msg; the first failure is logged, later ones are not. Returns what
 * sdnotify_send returned. */
static int sdnotify_emit(const char *msg)
{
	int rc = sdnotify_send(msg);

	if (rc < 0 && !sdnotify_warned) {
		sdnotify_warned = 1;
		log_warn("systemd notification to $NOTIFY_SOCKET failed (further failures not "
			 "logged)");
	}
	return rc;
}

void sdnotify_ready(void)
{
	sdnotify_emit("READY=1");
}

void sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	/* systemd >= 253 (Type=notify-reload) requires the timestamp and older
	 * ones ignore it, so the one message serves both. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	sdnotify_emit(msg);
}

void sdnotify_stopping(void)
{
	sdnotify_emit("STOPPING=1");
}

void sdnotify_status(const char *fmt, ...)
{
	char text[sizeof sdnotify_last_status], msg[sizeof text + 8];
	va_list ap;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* one line: a newline would start another assignment */
	text[strcspn(text, "\n")] = '\0';
	if (strcmp(text, sdnotify_last_status) == 0)
		return;
	snprintf(msg, sizeof msg, "STATUS=%s", text);
	if (sdnotify_emit(msg) == 1)
		memcpy(sdnotify_last_status, text, sizeof text);
}

uint64_t sdnotify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;

	if (usec == NULL)
		return 0;
	errno = 0;
	unsigned long long v = strtoull(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || v == 0 || usec[0] == '-')
		return 0;
	if (pid != NULL) {
		errno = 0;
		long long p = strtoll(pid, &end, 10);
		/* for another process (a parent that kept the variables) */
		if (errno != 0 || end == pid || *end != '\0' || p != (long long)getpid())
			return 0;
	}
	return (uint64_t)v;
}

static void sdnotify_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sdnotify_loop *l = arg;

	if (l->watchdog)
		sdnotify_emit("WATCHDOG=1");
	if (l->tick != NULL)
		l->tick(l->arg);
}

struct sdnotify_loop *sdnotify_loop_start(struct event_base *base, sdnotify_tick_fn tick,
					  void *arg)
{
	uint64_t wd = sdnotify_watchdog_usec();
	/* Half the interval: a ping is never later than systemd's deadline
	 * even when a tick is delayed by a busy loop pass. */
	uint64_t every = wd ? wd / 2 : (uint64_t)SDNOTIFY_STATUS_MS * 1000u;
	struct sdnotify_loop *l;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return NULL;
	/* A zero period would spin the loop; systemd's own minimum is far above. */
	if (every < 1000)
		every = 1000;
	l = xcalloc(1, sizeof *l);
	l->tick = tick;
	l->arg = arg;
	l->watchdog = wd != 0;
	l->timer = event_new(base, -1, EV_PERSIST, sdnotify_on_timer, l);
	if (l->timer == NULL) {
		log_warnx("systemd notification: cannot create the watchdog timer");
		free(l);
		return NULL;
	}
	struct timeval tv = { (time_t)(every / 1000000u), (suseconds_t)(every % 1000000u) };
	event_add(l->timer, &tv);
	if (l->watchdog)
		log_info("systemd watchdog: pinging every %" PRIu64 " ms", every / 1000u);
	return l;
}

void sdnotify_loop_free(struct sdnotify_loop *l)
{
	if (l == NULL)
		return;
	event_free(l->timer);
	free(l);
}

#include "session/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/accept_guard.h"
#include "util/address.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Owner: the server. */
struct listener {
	struct evconnlistener *ev;
	struct accept_guard *guard; /* pauses accepting when accept() fails */
	listener_accept_fn fn;
	void *arg;
	char bound[300];
	char unix_path[108]; /* unlinked on free */
};

/* Renders a peer address for logs: "1.2.3.4:5678", "[::1]:5678", "unix". */
static void listener_peer(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, len, "unix");
	}
}

static void listener_on_accept(struct evconnlistener *ev, evutil_socket_t fd,
			       struct sockaddr *sa, int socklen, void *arg)
{
	struct listener *l = arg;
	char peer[64];

	accept_guard_accepted(l->guard);
	listener_peer(sa, peer, sizeof peer);
	if (sa->sa_family != AF_UNIX) {
		int one = 1;
		/* Frames are small and latency matters more than packet count. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	l->fn(l->arg, fd, peer);
}

/* A pause after a failed accept is over. */
static void listener_resume(void *arg)
{
	struct listener *l = arg;
	evconnlistener_enable(l->ev);
}

static int listener_bind_unix(struct listener *l, struct event_base *base, const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	unlink(path); /* a stale socket from a previous run */
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 1024) != 0 ||
	    evutil_make_socket_nonblocking(fd) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	l->ev = evconnlistener_new(base, listener_on_accept, l, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (l->ev == NULL) {
		close(fd);
		return -1;
	}
	snprintf(l->unix_path, sizeof l->unix_path, "%s", path);
	snprintf(l->bound, sizeof l->bound, "unix:%s", path);
	return 0;
}

static int listener_bind_tcp(struct listener *l, struct event_base *base, const struct address *a)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	char spec[300];

	snprintf(spec, sizeof spec, strchr(a->host, ':') ? "[%s]:%d" : "%s:%d", a->host, a->port);
	memset(&ss, 0, sizeof ss);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
		errno = EINVAL;
		return -1;
	}
	l->ev = evconnlistener_new_bind(base, listener_on_accept, l,
					LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
					(struct sockaddr *)&ss, sslen);
	if (l->ev == NULL)
		return -1;
	socklen_t len = sizeof ss;
	getsockname(evconnlistener_get_fd(l->ev), (struct sockaddr *)&ss, &len);
	listener_peer((struct sockaddr *)&ss, l->bound, sizeof l->bound);
	return 0;
}

struct listener *listener_new(struct event_base *base, const char *address,
			      listener_accept_fn fn, void *arg)
{
	struct listener *l = xcalloc(1, sizeof *l);
	struct address a;
	const char *why;
	int rc;

	l->fn = fn;
	l->arg = arg;
	if (address_parse(address, &a, &why) != 0) {
		log_error("listen %s: %s", address, why);
		free(l);
		return NULL;
	}
	rc = a.is_unix ? listener_bind_unix(l, base, a.path) : listener_bind_tcp(l, base, &a);
	if (rc != 0) {
		log_warn("listen %s", address);
		free(l);
		return NULL;
	}
	char name[320];
	snprintf(name, sizeof name, "listener %s", l->bound);
	l->guard = accept_guard_new(l->ev, name, listener_resume, l);
	return l;
}

void listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	accept_guard_free(l->guard);
	evconnlistener_free(l->ev);
	if (l->unix_path[0])
		unlink(l->unix_path);
	free(l);
}

const char *listener_address(const struct listener *l)
{
	return l->bound;
}

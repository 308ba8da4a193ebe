/* Who sent an admin request, for the log line of every change. The bearer
 * token is one shared secret and names nobody, so the caller is where the
 * request came from: its address and port (which `ss -tp` on that host
 * turns into a process and a user), or over a unix socket the user id the
 * kernel vouches for. */
#define _GNU_SOURCE /* struct ucred */
#include "admin/admin_internal.h"

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The most of a path a log line carries. */
#define ADMIN_PATH_LOG_MAX 160

const char *admin_caller(struct evhttp_request *req, char *out, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *host = NULL;
	ev_uint16_t port = 0;

	snprintf(out, len, "an unknown peer");
	if (evcon == NULL)
		return out;
	evhttp_connection_get_peer(evcon, &host, &port);
	/* evhttp names a unix-socket peer "localhost", port 0; a TCP peer's
	 * port is never 0. */
	if (host != NULL && host[0] != '\0' && port != 0) {
		snprintf(out, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host,
		         (unsigned)port);
		return out;
	}
	/* A unix socket has no address; its peer's credentials say who. */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	struct ucred cred;
	socklen_t clen = sizeof cred;
	if (bev != NULL &&
	    getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		snprintf(out, len, "uid %u pid %d on the unix socket", (unsigned)cred.uid,
		         (int)cred.pid);
	return out;
}

const char *admin_log_path(const char *raw, char *out, size_t len)
{
	size_t n = 0;

	/* As sent (still %-encoded), printable only, and bounded: a path is
	 * the client's text, and a log line must stay one line. */
	for (const char *p = raw != NULL ? raw : "?"; *p != '\0' && n + 1 < len; p++) {
		if (n == ADMIN_PATH_LOG_MAX) {
			snprintf(out + n, len - n, "...");
			return out;
		}
		out[n++] = *p > ' ' && *p < 0x7f ? *p : '?';
	}
	out[n] = '\0';
	return out;
}

/* Connections to the admin port: counting them against admin.max_connections,
 * the request deadline, making room at the cap, and telling routes when a
 * connection ends.
 *
 * libevent 2.1 has no connection cap (evhttp_set_max_connections came in
 * 2.2), so connections are counted here: evhttp makes each connection's
 * bufferevent through our bevcb, which counts it, and on the next loop pass
 * (or when its first request arrives, if sooner) we set the connection's
 * close callback, which evhttp calls when it frees the connection. At the
 * cap the listener is disabled, so further clients wait in the kernel's
 * backlog (as HAProxy's maxconn does) instead of costing memory.
 *
 * Slow clients. evhttp's timeout (admin.timeout_ms) restarts with every
 * byte, so a client sending a header line every few seconds holds its
 * connection for ever, and 64 of them held /healthz and /metrics out. Two
 * rules keep the port answering:
 *  - a deadline: a connection must deliver a whole request within
 *    admin.request_timeout_ms of connecting or of its previous reply,
 *    however it trickles, or it is closed; a request being answered (a
 *    store write, a wallboard stream) is exempt;
 *  - at the cap, the connection that has waited longest for its next
 *    request is closed to make room, once it has waited ADMIN_EVICT_MIN_MS;
 *    so a health check or a scrape gets in at once rather than after the
 *    deadline. A reserved budget was the alternative, but nothing tells a
 *    probe from an attacker before its request has arrived, and the
 *    connections that have a request in progress are never the ones closed.
 */
#include "admin/admin.h"
#include "admin/admin_internal.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "config/config.h"
#include "metrics.h"
#include "router/router.h"
#include "util/accept_guard.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A connection may be closed to make room once it has waited this long for
 * its request: a real client sends one within a round trip. */
#define ADMIN_EVICT_MIN_MS 1000
/* At the cap with nothing to close yet, look again this often. */
#define ADMIN_EVICT_RETRY_MS 250

/* One open connection. Owner: adm->conns; freed when evhttp frees the
 * connection (its close callback), or at admin_conns_clear. */
struct admin_conn {
	struct admin *adm;
	struct bufferevent *bev;         /* referenced until set up */
	struct evhttp_connection *evcon; /* NULL until set up */
	struct event *setup;             /* first loop pass after accept */
	struct event *deadline;          /* admin.request_timeout_ms */
	int64_t waiting_ms;              /* accepted, or its last reply done */
	bool busy;                       /* a request is being answered */
	struct admin_conn *prev, *next;
};

/* A route's wish to hear of a connection's end. Owner: adm->watches. */
struct admin_watch {
	struct evhttp_connection *evcon;
	void (*fn)(void *arg);
	void *arg;
	struct admin_watch *next;
};

static int64_t admin_conns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void admin_conns_arm(struct event *ev, int64_t ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(ev, &tv);
}

void admin_watch_close(struct admin *adm, struct evhttp_connection *evcon, void (*fn)(void *arg),
                       void *arg)
{
	struct admin_watch *w = xcalloc(1, sizeof *w);

	*w = (struct admin_watch){evcon, fn, arg, adm->watches};
	adm->watches = w;
}

/* Takes evcon's watch out of the list; returns it (the caller frees) or NULL. */
static struct admin_watch *admin_take_watch(struct admin *adm, struct evhttp_connection *evcon)
{
	for (struct admin_watch **pp = &adm->watches; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->evcon == evcon) {
			struct admin_watch *w = *pp;
			*pp = w->next;
			return w;
		}
	return NULL;
}

void admin_unwatch_close(struct admin *adm, struct evhttp_connection *evcon)
{
	free(admin_take_watch(adm, evcon));
}

/* Forgets c: uncounts it, and accepts again if the cap had paused that. */
static void admin_conn_gone(struct admin_conn *c)
{
	struct admin *adm = c->adm;

	*(c->prev != NULL ? &c->prev->next : &adm->conns) = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->setup != NULL)
		event_free(c->setup);
	if (c->bev != NULL)
		bufferevent_decref(c->bev);
	event_free(c->deadline);
	free(c);
	adm->n_conns--;
	if (adm->metrics != NULL && adm->metrics->admin_connections > 0)
		adm->metrics->admin_connections--;
	if (adm->accept_paused && adm->n_conns < adm->max_conns && adm->lev != NULL) {
		adm->accept_paused = false;
		if (!accept_guard_paused(adm->guard))
			evconnlistener_enable(adm->lev);
	}
}

/* evhttp calls this as it frees a connection. */
static void admin_on_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct admin_conn *c = arg;
	struct admin_watch *w;

	while ((w = admin_take_watch(c->adm, evcon)) != NULL) {
		w->fn(w->arg);
		free(w);
	}
	admin_conn_gone(c);
}

/* evhttp knows c's connection now: hear of its end. */
static void admin_conn_set_up(struct admin_conn *c, struct evhttp_connection *evcon)
{
	c->evcon = evcon;
	evhttp_connection_set_closecb(evcon, admin_on_conn_closed, c);
	event_free(c->setup);
	c->setup = NULL;
	bufferevent_decref(c->bev);
	c->bev = NULL;
}

/* First loop pass after accept: evhttp has made the bufferevent's callback
 * argument its evhttp_connection. If evhttp already freed it
 * (bufferevent_free clears the callbacks; our reference kept the struct),
 * the connection is gone already. */
static void admin_on_conn_setup(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *c = arg;
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *evcon = NULL;

	bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &evcon);
	if (ecb == NULL || evcon == NULL)
		admin_conn_gone(c);
	else
		admin_conn_set_up(c, evcon);
}

/* The request deadline passed with no whole request in: close it. */
static void admin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *c = arg;

	if (c->busy)
		return;
	if (c->evcon == NULL) { /* not set up yet: cannot be, but never lose it */
		admin_conns_arm(c->deadline, ADMIN_EVICT_RETRY_MS);
		return;
	}
	log_debug("admin: closed a connection that sent no whole request within "
		  "admin.request_timeout_ms");
	evhttp_connection_free(c->evcon); /* frees c */
}

/* At the cap: closes the connection that has waited longest for its next
 * request, if it has waited ADMIN_EVICT_MIN_MS; else looks again soon. */
static void admin_on_make_room(evutil_socket_t fd, short what, void *arg)
{
	struct admin *adm = arg;
	int64_t now = admin_conns_now_ms();
	struct admin_conn *oldest = NULL;

	if (adm->n_conns < adm->max_conns)
		return;
	for (struct admin_conn *c = adm->conns; c != NULL; c = c->next)
		if (!c->busy && c->evcon != NULL &&
		    (oldest == NULL || c->waiting_ms <= oldest->waiting_ms))
			oldest = c;
	if (oldest == NULL || now - oldest->waiting_ms < ADMIN_EVICT_MIN_MS) {
		admin_conns_arm(adm->make_room, ADMIN_EVICT_RETRY_MS);
		return;
	}
	log_debug("admin: at admin.max_connections (%zu): closed the connection waiting longest "
		  "(%" PRId64 " ms) for its request",
		  adm->max_conns, now - oldest->waiting_ms);
	evhttp_connection_free(oldest->evcon); /* frees it, and accepts again */
}

struct bufferevent *admin_conns_on_new(struct event_base *base, void *arg)
{
	struct admin *adm = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct admin_conn *c;
	struct timeval now = {0, 0};

	accept_guard_accepted(adm->guard);
	if (bev == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->adm = adm;
	c->bev = bev;
	c->setup = evtimer_new(base, admin_on_conn_setup, c);
	c->deadline = evtimer_new(base, admin_on_deadline, c);
	c->waiting_ms = admin_conns_now_ms();
	bufferevent_incref(bev);
	c->next = adm->conns;
	if (adm->conns != NULL)
		adm->conns->prev = c;
	adm->conns = c;
	evtimer_add(c->setup, &now);
	admin_conns_arm(c->deadline, router_config(adm->env.router)->admin_request_timeout_ms);
	adm->n_conns++;
	if (adm->metrics != NULL) {
		adm->metrics->admin_connections++;
		adm->metrics->admin_connections_total++;
	}
	if (adm->n_conns >= adm->max_conns) {
		if (!adm->accept_paused) {
			adm->accept_paused = true;
			evconnlistener_disable(adm->lev);
		}
		/* Outside evhttp's accept path, which is making this one. */
		event_active(adm->make_room, EV_TIMEOUT, 1);
	}
	return bev;
}

/* c's connection, looked up (at most admin.max_connections of them). */
static struct admin_conn *admin_conn_of(struct admin *adm, struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (struct admin_conn *c = adm->conns; c != NULL; c = c->next)
		if (c->evcon == evcon || (c->evcon == NULL && c->bev == bev && bev != NULL))
			return c;
	return NULL;
}

/* evhttp has sent a reply in full: the deadline for the next request runs. */
static void admin_on_request_done(struct evhttp_request *req, void *arg)
{
	struct admin_conn *c = admin_conn_of(arg, evhttp_request_get_connection(req));

	if (c == NULL)
		return;
	c->busy = false;
	c->waiting_ms = admin_conns_now_ms();
	admin_conns_arm(c->deadline, router_config(c->adm->env.router)->admin_request_timeout_ms);
}

void admin_conns_request_started(struct admin *adm, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct admin_conn *c = admin_conn_of(adm, evcon);

	if (c == NULL)
		return;
	/* A request can be read in the same loop pass as its connection was
	 * accepted, before the set-up timer: set up now, so the close
	 * callback is in place before any handler runs. */
	if (c->evcon == NULL)
		admin_conn_set_up(c, evcon);
	c->busy = true;
	evtimer_del(c->deadline);
	evhttp_request_set_on_complete_cb(req, admin_on_request_done, adm);
}

void admin_conns_init(struct admin *adm)
{
	adm->make_room = evtimer_new(adm->env.base, admin_on_make_room, adm);
}

void admin_conns_clear(struct admin *adm)
{
	/* evhttp_free has freed every set-up connection (each through its
	 * close callback); what is left was never set up. */
	while (adm->conns != NULL)
		admin_conn_gone(adm->conns); /* NOLINT(clang-analyzer-unix.Malloc) */
	while (adm->watches != NULL) {
		struct admin_watch *w = adm->watches;
		adm->watches = w->next;
		free(w);
	}
	if (adm->make_room != NULL)
		event_free(adm->make_room);
	adm->make_room = NULL;
}

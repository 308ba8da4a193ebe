/* What the admin files share: the server struct, a request being handled,
 * the route table, reply helpers. Private to daemon/admin/. */
#ifndef SB_ADMIN_INTERNAL_H
#define SB_ADMIN_INTERNAL_H

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin/admin.h"
#include "router/router.h"
#include "util/strmap.h"

struct server;
struct metrics;
struct jv;
struct json_out;
struct evbuffer;
struct evconnlistener;
struct roster_agent;
struct admin_conn;
struct event;
struct event_base;
struct bufferevent;
struct accept_guard;
struct admin_watch;
struct wallboard_http;

struct admin {
	struct admin_env env;
	struct evhttp *http;        /* NULL when admin.listen is "" */
	struct evconnlistener *lev; /* owned by http once bound */
	struct metrics *metrics;
	size_t n_conns, max_conns;   /* open connections and the cap */
	bool accept_paused;          /* the listener is off: at the cap */
	struct accept_guard *guard;  /* pauses accepting when accept() fails */
	struct admin_conn *conns;    /* every open connection (admin_conns.c) */
	struct event *make_room;     /* at the cap: closes the longest-waiting one */
	struct admin_watch *watches; /* admin_watch_close registrations */
	struct wallboard_http *wbh;  /* the wallboard (owned); NULL when the API is off */
	int64_t started_ms;
	char address[320]; /* where it listens, for logs and status */
};

/* One request being handled. Owner: the handler; a handler that answers
 * later (after a store write) keeps what it needs itself. */
struct admin_req {
	struct admin *adm;
	struct evhttp_request *req;
	const char *param; /* the path segment a "{}" matched, decoded; NULL if none */
};

#define ADMIN_MAX_PATH_SEGMENTS 8

/* A route: method + path pattern ("/v1/queues/{}": "{}" is one segment). */
struct admin_route {
	enum evhttp_cmd_type method;
	const char *pattern;
	bool changes_state; /* needs the bearer token */
	void (*handler)(struct admin_req *r);
};

/* The route table (admin_routes.c). Add a route by adding a line. */
extern const struct admin_route admin_routes[];
extern const size_t admin_routes_len;

/* Replies: status + a JSON body written by the caller into body (which the
 * reply consumes). */
void admin_reply(struct evhttp_request *req, int status, struct evbuffer *body);
/* {"error":{"code":code,"message":...}} with status. */
void admin_error(struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The status and code an sb_err maps to. */
void admin_error_err(struct evhttp_request *req, int err, const char *message);
/* The request body parsed as JSON; NULL after replying 400 when it is not. */
struct jv *admin_body_json(struct admin_req *r);

/* Calls fn(arg) once when evcon is freed (its client left, timed out, or
 * the admin server stops): how a long-lived route (a stream of server-sent
 * events) learns its client is gone. evhttp has one close callback per
 * connection and the admin code uses it to count connections, so routes
 * register here instead. admin_unwatch_close cancels. */
void admin_watch_close(struct admin *adm, struct evhttp_connection *evcon, void (*fn)(void *arg),
                       void *arg);
void admin_unwatch_close(struct admin *adm, struct evhttp_connection *evcon);

/* Connections (admin_conns.c): the cap, the request deadline, making room.
 * init before the first connection, clear after evhttp_free. on_new is
 * evhttp's bevcb (arg: the admin); request_started is told of each request
 * before its handler runs. */
void admin_conns_init(struct admin *adm);
struct bufferevent *admin_conns_on_new(struct event_base *base, void *arg);
void admin_conns_request_started(struct admin *adm, struct evhttp_request *req);
void admin_conns_clear(struct admin *adm);

/* Who sent req, for the log: "127.0.0.1:51234", "[::1]:51234", or over a
 * unix socket "uid 0 pid 4242 on the unix socket" (admin_caller.c).
 * Returns out. */
const char *admin_caller(struct evhttp_request *req, char *out, size_t len);
/* A raw request path as a log line may carry it: printable, at most 160
 * characters. Returns out. */
const char *admin_log_path(const char *raw, char *out, size_t len);

/* Handlers. */
void admin_metrics_handler(struct admin_req *r);
void admin_metrics_write(struct admin *adm, struct evbuffer *out);

/* The wallboard (wallboard_http.c): its figures, timer and event streams. */
void admin_wallboard_init(struct admin *adm);
void admin_wallboard_clear(struct admin *adm);
void admin_route_wallboard_page(struct admin_req *r);
void admin_route_wallboard_css(struct admin_req *r);
void admin_route_wallboard_js(struct admin_req *r);
void admin_route_wallboard_json(struct admin_req *r);
void admin_route_wallboard_events(struct admin_req *r);

/* The roster and forced states (admin_roster.c). */
void admin_route_roster_list(struct admin_req *r);
void admin_route_roster_create(struct admin_req *r);
void admin_route_roster_patch(struct admin_req *r);
void admin_route_roster_delete(struct admin_req *r);
void admin_route_agent_force_state(struct admin_req *r);
/* A router answer that replies status with ok (taken) once the change is
 * recorded, or the error (admin_roster.c). */
struct router_answer admin_answer(struct admin_req *r, int status, struct evbuffer *ok);

/* A supervisor's requeue and close of a contact (admin_contacts.c). */
void admin_route_contact_requeue(struct admin_req *r);
void admin_route_contact_close(struct admin_req *r);

/* The fields of an agent that /v1/agents and the wallboard both show (id,
 * name, tier, reason, presence, time in state, handled, load per channel),
 * into an object the caller has opened; each adds its own "state". */
struct engine_agent_view;
void admin_json_agent_fields(struct admin *adm, struct json_out *j,
			     const struct engine_agent_view *a, int64_t now);

#endif

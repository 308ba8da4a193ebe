/* Client sessions: see session.h. */
#include "session/session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/err.h"
#include "util/log.h"
#include "metrics.h"
#include "router/router.h"
#include "session/registry.h"
#include "security/tls.h"
#include "session/roles.h"
#include "session/transport.h"
#include "session/websocket.h"
#include "wire/frame.h"
#include "util/xalloc.h"

/* How long a closing session may take to flush its last Error. */
#define SESSION_DRAIN_MS 1000
/* The frame budget's unit: a thousandth of a frame, so that refills by the
 * millisecond stay exact in integers. */
#define SESSION_MILLIFRAME 1000
/* Seconds' worth of refused frames after which a flooding client is cut off. */
#define SESSION_FLOOD_S 2
/* Longer gaps between reads refill as if the client had been quiet long
 * enough to clear any debt; keeps the multiplication far from overflow. */
#define SESSION_BUDGET_REFILL_MAX_MS 60000
/* The longest gateway or agent id (config_table.c's id rule). */
#define SESSION_MAX_CLIENT_ID 64

struct session {
	struct session_env *env;
	enum session_role role;
	enum session_state state;
	char sid[24];
	char peer[64];
	char *client_id;
	struct bufferevent *bev;
	struct event *timer;   /* handshake, then heartbeat, then drain */
	struct event *free_ev; /* frees at a safe point, outside callbacks */
	/* Plain sockets: writes what this loop turn queued, at the turn's end
	 * (NULL for TLS, which writes through its bufferevent). */
	struct event *flush_ev;
	int refs;
	uint64_t next_seq;
	int64_t last_rx_ms;
	/* Frame budget, a token bucket in thousandths of a frame: refills by
	 * limits.frames_per_second a second up to as many; below zero is debt
	 * run up by refused frames, and too much debt ends the session. */
	int64_t budget_mf;
	int64_t budget_ms; /* when it was last refilled; 0: not yet */
	bool registered;
	/* Bulk output paced by the client's reading (a re-login's redelivery):
	 * called each time all output queued so far went to the kernel. */
	void (*drained)(void *arg);
	void *drained_arg;
	void *role_ctx; /* the role's own state (gateway.c, agent.c) */
	/* How Envelopes are framed: TCP from the start on the gateway port;
	 * on the agent port NULL until the first bytes say (see
	 * session_sniff). tctx is the transport's state, owned here. */
	const struct transport_ops *tops;
	void *tctx;
	bool going_away; /* closing for a shutdown or a redirect */
	bool tls;           /* the port speaks TLS */
	bool tls_connected; /* its handshake completed */
};

static const char *session_state_name(enum session_state st)
{
	static const char *const names[] = { "hello-wait", "active", "draining", "closed" };
	return names[st];
}

/* The one place a session changes state. Leaving HELLO_WAIT moves it out
 * of the unauthenticated budget: into its role's count when it logged in. */
static void session_set_state(struct session *s, enum session_state st)
{
	log_debug("session %s: %s -> %s", s->sid, session_state_name(s->state),
		  session_state_name(st));
	if (s->state == SESSION_HELLO_WAIT && st != SESSION_HELLO_WAIT && s->registered)
		registry_left_handshake(s->env->registry, s, st == SESSION_ACTIVE);
	s->state = st;
}

static void session_arm(struct session *s, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(s->timer, &tv);
}

static void session_free(struct session *s)
{
	if (s->registered)
		registry_remove(s->env->registry, s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	event_free(s->timer);
	event_free(s->free_ev);
	if (s->flush_ev != NULL)
		event_free(s->flush_ev);
	if (s->tops != NULL && s->tops->free != NULL)
		s->tops->free(s->tctx);
	free(s->client_id);
	free(s);
}

void session_destroy(struct session *s)
{
	session_free(s);
}

static void session_on_free(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	if (s->refs == 0)
		session_free(s);
}

void session_ref(struct session *s)
{
	s->refs++;
}

void session_unref(struct session *s)
{
	if (--s->refs == 0 && s->state == SESSION_CLOSED)
		event_active(s->free_ev, 0, 0);
}

/* Final step of closing: drop the socket now, free the struct at a safe
 * point once no store request refers to it. */
static void session_finish(struct session *s)
{
	evtimer_del(s->timer);
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	session_set_state(s, SESSION_CLOSED);
	if (s->refs == 0)
		event_active(s->free_ev, 0, 0);
}

void session_close(struct session *s, const char *reason, bool flush)
{
	if (s->state == SESSION_CLOSED)
		return;
	/* The first close of this session (a second may come while it drains). */
	bool first = s->state != SESSION_DRAINING;
	if (first) {
		log_info("session %s (%s %s, %s): closed: %s", s->sid,
			 s->role == SESSION_GATEWAY ? "gateway" : "agent",
			 s->client_id ? s->client_id : "-", s->peer, reason);
		bool was_active = s->state == SESSION_ACTIVE;
		if (was_active) {
			/* Set first so hooks see a session that takes no more frames. */
			session_set_state(s, SESSION_DRAINING);
			if (s->role == SESSION_GATEWAY)
				gateway_closed(s);
			else
				agent_closed(s);
		}
	}
	/* The transport's own goodbye (a WebSocket close frame) goes after
	 * the Error that says why, before the flush. */
	if (flush && first && s->bev != NULL && s->tops != NULL && s->tops->bye != NULL)
		s->tops->bye(s->tctx, bufferevent_get_output(s->bev),
			     s->going_away ? TRANSPORT_BYE_GOING_AWAY : TRANSPORT_BYE_ERROR, reason);
	if (flush && s->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > 0) {
		session_set_state(s, SESSION_DRAINING);
		bufferevent_disable(s->bev, EV_READ);
		session_arm(s, SESSION_DRAIN_MS);
		if (s->flush_ev != NULL)
			event_active(s->flush_ev, EV_TIMEOUT, 1);
		return;
	}
	session_finish(s);
}

void session_shutdown(struct session *s, const char *reason)
{
	/* NOT_LEADER with no leader named: clients go to the next address
	 * (the standby, which takes the lease this daemon releases). */
	if (s->state == SESSION_ACTIVE || s->state == SESSION_HELLO_WAIT)
		session_send_error(s, 0, SB_ERR_NOT_LEADER, reason);
	s->going_away = true;
	session_close(s, reason, true);
}

void session_send(struct session *s, Envelope *env)
{
	if (s->bev == NULL || s->state == SESSION_CLOSED)
		return;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	const struct sb_config *cfg = router_config(s->env->router);

	env->seq = ++s->next_seq;
	/* Before the first bytes told the agent port's transport (a refusal at
	 * accept), the answer is a TCP frame, as it always was. */
	const struct transport_ops *t = s->tops != NULL ? s->tops : &transport_tcp;
	if (t->write(s->tctx, out, env) != 0) {
		session_close(s, "cannot queue output", false);
		return;
	}
	/* Idempotent: every frame of this turn goes in one write. */
	if (s->flush_ev != NULL)
		event_active(s->flush_ev, EV_TIMEOUT, 1);
	if ((int64_t)evbuffer_get_length(out) > cfg->output_buffer_max_bytes)
		session_close(s, "output buffer cap reached: client is not reading", false);
}

void session_on_drained(struct session *s, void (*fn)(void *arg), void *arg)
{
	s->drained = fn;
	s->drained_arg = arg;
}

size_t session_output_len(const struct session *s)
{
	return s->bev != NULL ? evbuffer_get_length(bufferevent_get_output(s->bev)) : 0;
}

void session_set_role_ctx(struct session *s, void *ctx)
{
	s->role_ctx = ctx;
}

void *session_role_ctx(const struct session *s)
{
	return s->role_ctx;
}

void session_send_error(struct session *s, uint64_t ref, int err, const char *message)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Error e = SWITCHBOARD__V1__ERROR__INIT;

	e.code = (Switchboard__V1__ErrorCode)sb_err_wire_code(err);
	e.message = (char *)(uintptr_t)message;
	e.ref = ref;
	env.ref = ref;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	log_debug("session %s: error %s (ref %" PRIu64 "): %s", s->sid, sb_err_name(err), ref,
		  message);
	session_send(s, &env);
}

/* Sends Error and closes: for failures after which the connection cannot
 * be trusted (framing lost, not authenticated). */
static void session_fail(struct session *s, uint64_t ref, int err, const char *message)
{
	session_send_error(s, ref, err, message);
	session_close(s, message, true);
}

void session_refuse(struct session *s, const char *reason)
{
	session_fail(s, 0, SB_ERR_OVERLOADED, reason);
}

void session_redirect(struct session *s, uint64_t ref)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Error e = SWITCHBOARD__V1__ERROR__INIT;
	const char *leader = s->env->leader_address(s->env->ctx, s->role == SESSION_GATEWAY);
	char msg[200];

	if (leader[0] != '\0')
		snprintf(msg, sizeof msg, "this daemon is a standby; the leader is at %s", leader);
	else
		snprintf(msg, sizeof msg, "this daemon is not serving yet (%s); retry",
			 s->env->role_name(s->env->ctx));
	e.code = SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER;
	e.message = msg;
	e.ref = ref;
	e.leader = (char *)(uintptr_t)leader;
	env.ref = ref;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	session_send(s, &env);
	s->going_away = true;
	session_close(s, "not the leader", true);
}

static void session_welcome(struct session *s, uint64_t ref)
{
	const struct sb_config *cfg = router_config(s->env->router);
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Welcome w = SWITCHBOARD__V1__WELCOME__INIT;

	w.session_id = s->sid;
	w.heartbeat_ms = (uint32_t)cfg->heartbeat_ms;
	w.server_time_ms = (uint64_t)router_now_ms();
	env.ref = ref;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	session_send(s, &env);
}

static void session_hello(struct session *s, Envelope *env)
{
	const Switchboard__V1__Hello *h = env->hello;
	Switchboard__V1__Role want =
		s->role == SESSION_GATEWAY ? SWITCHBOARD__V1__ROLE__ROLE_GATEWAY
					   : SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	const char *why = NULL;
	int rc;

	if (h->role != want) {
		session_fail(s, env->seq, SB_ERR_FORBIDDEN,
			     s->role == SESSION_GATEWAY ? "this port is for gateways"
							: "this port is for agents");
		return;
	}
	if (h->protocol_version > 1) {
		session_fail(s, env->seq, SB_ERR_INVALID_ARGUMENT, "unsupported protocol_version");
		return;
	}
	if (h->client_id == NULL || h->client_id[0] == '\0') {
		session_fail(s, env->seq, SB_ERR_INVALID_ARGUMENT, "client_id is required");
		return;
	}
	/* Gateway and agent ids are at most 64 bytes (the config's rule): a
	 * longer one names nobody, and would go whole into the log line of
	 * its refusal. */
	if (strlen(h->client_id) > SESSION_MAX_CLIENT_ID) {
		session_fail(s, env->seq, SB_ERR_INVALID_ARGUMENT, "client_id is longer than 64 bytes");
		return;
	}
	if (!router_serving(s->env->router)) {
		session_redirect(s, env->seq);
		return;
	}
	/* Counted against the role's caps only now that it logs in (before
	 * the role's hello, which binds the id and may replace a session). */
	char full[200];
	if (registry_login_over_limit(s->env->registry, s, router_config(s->env->router), full,
				      sizeof full) != NULL) {
		session_fail(s, env->seq, SB_ERR_OVERLOADED, full);
		return;
	}
	rc = s->role == SESSION_GATEWAY ? gateway_hello(s, h, &why) : agent_hello(s, h, &why);
	if (rc != 0) {
		metrics_auth_failure(s->role == SESSION_GATEWAY ? METRICS_AUTH_GATEWAY
								: METRICS_AUTH_AGENT,
				     why);
		log_warnx("session %s (%s): hello as '%s' refused: %s", s->sid, s->peer,
			  h->client_id, why);
		session_fail(s, env->seq, rc, why);
		return;
	}
	s->client_id = xstrdup(h->client_id);
	session_set_state(s, SESSION_ACTIVE);
	log_info("session %s: %s '%s' logged in from %s over %s", s->sid,
		 s->role == SESSION_GATEWAY ? "gateway" : "agent", s->client_id, s->peer,
		 s->tops->name);
	session_welcome(s, env->seq);
	session_arm(s, router_config(s->env->router)->heartbeat_ms);
	if (s->role == SESSION_AGENT)
		agent_welcomed(s);
	else
		gateway_welcomed(s);
}

static void session_pong(struct session *s, const Envelope *env)
{
	Envelope out = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Pong p = SWITCHBOARD__V1__PONG__INIT;

	p.client_time_ms = env->ping->client_time_ms;
	p.server_time_ms = (uint64_t)router_now_ms();
	out.ref = env->seq;
	out.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_PONG;
	out.pong = &p;
	session_send(s, &out);
}

/* Routes one decoded frame; consumes env. */
static void session_dispatch(struct session *s, Envelope *env)
{
	enum envelope_sender from = envelope_sender(env->body_case);
	bool own = from == (s->role == SESSION_GATEWAY ? ENVELOPE_SENDER_GATEWAY
						       : ENVELOPE_SENDER_AGENT);

	if (s->state == SESSION_HELLO_WAIT) {
		if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_HELLO)
			session_hello(s, env);
		else
			session_fail(s, env->seq, SB_ERR_UNAUTHENTICATED,
				     "the first frame must be Hello");
		envelope_free(env);
		return;
	}
	if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_PING)
		session_pong(s, env);
	else if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_HELLO)
		session_send_error(s, env->seq, SB_ERR_INVALID_ARGUMENT, "already authenticated");
	else if (!own)
		session_send_error(s, env->seq, SB_ERR_FORBIDDEN,
				   from == ENVELOPE_SENDER_DAEMON
					   ? "that message is sent by the daemon, not to it"
					   : "that message belongs to the other role");
	else {
		if (s->role == SESSION_GATEWAY)
			gateway_request(s, env);
		else
			agent_request(s, env);
		return;
	}
	envelope_free(env);
}

/* A whole frame with a string that is not valid UTF-8 or holds a NUL
 * (why names it): it must reach neither Redis nor other clients' parsers.
 * The stream is still in step, so a request is refused as any invalid one
 * is and the connection stays; a Hello is refused as any refused Hello is,
 * and closes. Consumes env. */
static void session_bad_strings(struct session *s, Envelope *env, const char *why)
{
	if (s->state != SESSION_HELLO_WAIT)
		session_send_error(s, env->seq, SB_ERR_INVALID_ARGUMENT, why);
	else if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_HELLO)
		session_fail(s, env->seq, SB_ERR_INVALID_ARGUMENT, why);
	else
		session_fail(s, env->seq, SB_ERR_UNAUTHENTICATED, "the first frame must be Hello");
	envelope_free(env);
}

/* Refills the frame budget for the time since the last read. */
static void session_budget_refill(struct session *s, int64_t fps, int64_t now)
{
	int64_t full = fps * SESSION_MILLIFRAME;

	if (s->budget_ms == 0 || now - s->budget_ms > SESSION_BUDGET_REFILL_MAX_MS)
		s->budget_mf = full;
	else if (now > s->budget_ms)
		s->budget_mf += (now - s->budget_ms) * fps; /* fps thousandths per ms */
	if (s->budget_mf > full)
		s->budget_mf = full;
	s->budget_ms = now;
}

/* Spends one frame of the budget. Returns 0 when the frame may be handled,
 * 1 when it must be refused, -1 when the client has been over budget for
 * about SESSION_FLOOD_S seconds' worth of frames and must go. */
static int session_budget_take(struct session *s, int64_t fps)
{
	bool had = s->budget_mf >= SESSION_MILLIFRAME;

	s->budget_mf -= SESSION_MILLIFRAME;
	if (had)
		return 0;
	return s->budget_mf < -SESSION_FLOOD_S * fps * SESSION_MILLIFRAME ? -1 : 1;
}

/* The agent port serves two transports, told apart by the first bytes: a
 * WebSocket client's "GET " as a TCP length would be 1 195 725 856, far
 * above the largest limits.max_frame_bytes (16 MiB), so no TCP client can
 * start that way. One port means one TLS context, one firewall rule and
 * NOT_LEADER redirects that name an address valid for both. Returns false
 * while too few bytes have come to tell. */
static bool session_sniff(struct session *s, struct evbuffer *in)
{
	static const char get[] = "GET ";
	unsigned char head[sizeof get - 1];
	size_t n = evbuffer_get_length(in);

	if (n > sizeof head)
		n = sizeof head;
	evbuffer_copyout(in, head, n);
	if (memcmp(head, get, n) != 0) {
		s->tops = &transport_tcp;
		return true;
	}
	if (n < sizeof head)
		return false;
	s->tops = &transport_websocket;
	s->tctx = websocket_new();
	log_debug("session %s: WebSocket upgrade request", s->sid);
	return true;
}

static void session_on_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const struct sb_config *cfg = router_config(s->env->router);
	struct evbuffer *out = bufferevent_get_output(bev);
	/* Frames read in one pass arrived together: one clock read for all. */
	int64_t now = router_now_ms();

	if (s->tops == NULL && !session_sniff(s, in))
		return;

	session_budget_refill(s, cfg->frames_per_second, now);
	session_ref(s);
	while (s->state == SESSION_HELLO_WAIT || s->state == SESSION_ACTIVE) {
		Envelope *env = NULL;
		const char *why = NULL;
		int rc = s->tops->read(s->tctx, in, out, cfg, &env, &why);
		if (rc == TRANSPORT_PEER_CLOSED) {
			session_close(s, why, true); /* flushes the transport's reply */
			break;
		}
		/* A frame with a bad string is whole: received, not a decode
		 * error (those are BAD_FRAME); the request is what is refused. */
		metrics_frame_read(rc == SB_ERR_INVALID_ARGUMENT ? 1 : rc);
		if (rc == 0)
			break;
		if (rc < 0 && rc != SB_ERR_INVALID_ARGUMENT) {
			/* A body from a newer protocol was consumed whole: say so and
			 * read on (its seq is lost with it, hence ref 0). Anything
			 * else loses byte boundaries: nothing after it can be read. */
			if (s->state == SESSION_ACTIVE && envelope_is_unknown_body(why)) {
				session_send_error(s, 0, SB_ERR_BAD_FRAME, why);
				continue;
			}
			session_fail(s, 0, SB_ERR_BAD_FRAME, why);
			break;
		}
		s->last_rx_ms = now;
		int over = session_budget_take(s, cfg->frames_per_second);
		if (over != 0) {
			char msg[128];
			uint64_t ref = env->seq;
			envelope_free(env);
			if (over < 0) {
				snprintf(msg, sizeof msg,
					 "frame flood: over %" PRId64
					 " frames per second for too long",
					 cfg->frames_per_second);
				session_fail(s, 0, SB_ERR_OVERLOADED, msg);
				break;
			}
			snprintf(msg, sizeof msg,
				 "over %" PRId64 " frames per second: frame dropped, slow down",
				 cfg->frames_per_second);
			session_send_error(s, ref, SB_ERR_OVERLOADED, msg);
			continue;
		}
		if (rc == SB_ERR_INVALID_ARGUMENT)
			session_bad_strings(s, env, why);
		else
			session_dispatch(s, env);
	}
	/* What the transport answered by itself (a handshake's reply, a
	 * pong) goes out with this turn's frames. */
	if (s->bev != NULL && s->flush_ev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		event_active(s->flush_ev, EV_TIMEOUT, 1);
	session_unref(s);
}

/* A plain socket's output is written here, once per loop turn, rather than
 * by the bufferevent: that would arm EV_WRITE (an epoll_ctl) for every
 * frame and write on the next turn. Only what the kernel does not take at
 * once is left to the bufferevent, which writes it when the socket can. */
static void session_on_flush(evutil_socket_t fd_, short what, void *arg)
{
	struct session *s = arg;

	if (s->bev == NULL || (bufferevent_get_enabled(s->bev) & EV_WRITE))
		return;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	int n = 0;
	if (evbuffer_get_length(out) > 0) {
		/* A socket bufferevent keeps its output's start frozen so that
		 * only it drains it; it does the same around its own writes. */
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write(out, bufferevent_getfd(s->bev));
		evbuffer_freeze(out, 1);
	}
	if (n < 0) {
		int err = errno;
		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
			char why[128];
			snprintf(why, sizeof why, "write failed: %s", strerror(err));
			session_close(s, why, false);
			return;
		}
	}
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(s->bev, EV_WRITE);
	else if (s->state == SESSION_DRAINING)
		session_finish(s);
	else if (s->drained != NULL && s->state == SESSION_ACTIVE)
		s->drained(s->drained_arg);
}

static void session_on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* Drained: plain sockets go back to writing at the end of each turn. */
	if (s->flush_ev != NULL)
		bufferevent_disable(bev, EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (s->state == SESSION_DRAINING)
		session_finish(s);
	else if (s->drained != NULL && s->state == SESSION_ACTIVE)
		s->drained(s->drained_arg);
}

static void session_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		s->tls_connected = true;
		return;
	}
	if (s->tls && !s->tls_connected && s->state != SESSION_CLOSED) {
		/* A plain client, an unknown CA or an old protocol: the one
		 * line an operator gets about it says what OpenSSL said. */
		char why[256], reason[300];
		if (what & BEV_EVENT_EOF)
			snprintf(why, sizeof why, TLS_CLOSED_EARLY);
		else
			tls_error(bev, why, sizeof why);
		snprintf(reason, sizeof reason, "TLS handshake failed: %s", why);
		metrics_tls_failure((int)s->role, strcmp(why, TLS_CLOSED_EARLY) == 0);
		session_close(s, reason, false);
		return;
	}
	if (s->state == SESSION_DRAINING) {
		session_finish(s);
		return;
	}
	if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		session_fail(s, 0, SB_ERR_BAD_FRAME, "truncated frame");
		return;
	}
	session_close(s, (what & BEV_EVENT_EOF) ? "peer closed the connection" : "socket error",
		      false);
}

static void session_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	const struct sb_config *cfg = router_config(s->env->router);

	switch (s->state) {
	case SESSION_HELLO_WAIT:
		session_fail(s, 0, SB_ERR_UNAUTHENTICATED, "no Hello within the handshake timeout");
		break;
	case SESSION_ACTIVE: {
		int64_t silent = router_now_ms() - s->last_rx_ms;
		int64_t limit = cfg->heartbeat_ms * cfg->missed_heartbeats;
		if (silent >= limit)
			session_fail(s, 0, SB_ERR_UNAUTHENTICATED, "heartbeats missed");
		else
			session_arm(s, limit - silent < cfg->heartbeat_ms ? limit - silent
									  : cfg->heartbeat_ms);
		break;
	}
	case SESSION_DRAINING:
		session_finish(s);
		break;
	case SESSION_CLOSED:
		break;
	}
}

struct session *session_new(struct session_env *senv, int fd, enum session_role role,
			    const char *peer)
{
	struct event_base *base = senv->base;
	struct session *s = xcalloc(1, sizeof *s);

	s->env = senv;
	s->role = role;
	s->state = SESSION_HELLO_WAIT;
	snprintf(s->sid, sizeof s->sid, "%c-%" PRIu64, role == SESSION_GATEWAY ? 'g' : 'a',
		 ++senv->next_number);
	snprintf(s->peer, sizeof s->peer, "%s", peer);
	struct tls_server *tls = senv->tls[role];
	s->tls = tls != NULL;
	if (role == SESSION_GATEWAY)
		s->tops = &transport_tcp;
	if (tls != NULL)
		s->bev = tls_bufferevent(tls, base, fd);
	else
		s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(base, session_on_timer, s);
	s->free_ev = event_new(base, -1, 0, session_on_free, s);
	if (tls == NULL)
		s->flush_ev = event_new(base, -1, 0, session_on_flush, s);
	s->last_rx_ms = router_now_ms();
	bufferevent_setcb(s->bev, session_on_read, session_on_write, session_on_event, s);
	bufferevent_enable(s->bev, tls == NULL ? EV_READ : EV_READ | EV_WRITE);
	registry_add(senv->registry, s, s->last_rx_ms);
	s->registered = true;
	session_arm(s, router_config(senv->router)->handshake_timeout_ms);
	log_debug("session %s: connection from %s", s->sid, peer);
	/* Past the budget of connections not logged in yet, an older one makes
	 * room or this one is turned away (registry.c says which, and why). */
	char why[240];
	struct session *victim;
	while ((victim = registry_unauthenticated_victim(senv->registry, s,
							 router_config(senv->router),
							 s->last_rx_ms, why, sizeof why)) != NULL) {
		session_refuse(victim, why);
		if (victim == s)
			break;
	}
	return s;
}

bool session_is_active(const struct session *s)
{
	return s->state == SESSION_ACTIVE;
}

int session_peer_cert_names(const struct session *s, const char *name)
{
	if (!s->tls || s->bev == NULL)
		return -1;
	return tls_peer_has_name(s->bev, name);
}

const char *session_peer_cert_identity(const struct session *s, char *out, size_t len)
{
	if (!s->tls || s->bev == NULL) {
		snprintf(out, len, "-");
		return out;
	}
	return tls_peer_identity(s->bev, out, len);
}

enum session_role session_role(const struct session *s)
{
	return s->role;
}

const char *session_id(const struct session *s)
{
	return s->sid;
}

const char *session_client_id(const struct session *s)
{
	return s->client_id;
}

struct session_env *session_env(const struct session *s)
{
	return s->env;
}

const char *session_peer(const struct session *s)
{
	return s->peer;
}

/* A client connection: framing, the handshake, heartbeats, output caps and
 * the one way out. Role-specific requests are handled in gateway.c and
 * agent.c; this file knows neither.
 *
 * States: HELLO_WAIT -> ACTIVE -> DRAINING -> CLOSED. Every change goes
 * through session_set_state(). A session leaves only through
 * session_close(); the struct is freed later, at a safe point, once the last
 * reference (pending store requests hold one) is dropped.
 *
 * Owner: the server (every session is in its registry until freed); pending
 * requests hold references. */
#ifndef SB_SESSION_H
#define SB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard.pb-c.h"
#include "wire/envelope.h"

struct session;
struct bufferevent;
struct event_base;
struct router;
struct registry;
struct presence;
struct tls_server;

enum session_role { SESSION_GATEWAY, SESSION_AGENT };
enum session_state { SESSION_HELLO_WAIT, SESSION_ACTIVE, SESSION_DRAINING, SESSION_CLOSED };

/* What sessions work with: handed to each at creation. Owner: the server,
 * which outlives every session. The configuration in force is the
 * router's (router_config), which a reload replaces. */
struct session_env {
	struct event_base *base;
	struct router *router;
	struct registry *registry;
	struct presence *presence;
	struct tls_server *tls[2]; /* by enum session_role; NULL: plain TCP */
	/* Where the leader is, for NOT_LEADER ("" when unknown), and what this
	 * daemon is doing ("standby", "waiting for redis", ...). */
	const char *(*leader_address)(void *ctx, bool gateway_port);
	const char *(*role_name)(void *ctx);
	void *ctx;
	uint64_t next_number; /* session ids */
};

/* Takes ownership of fd, a connected socket. peer is for logs. A session
 * past a connection limit is turned away (OVERLOADED, then closed). */
struct session *session_new(struct session_env *env, int fd, enum session_role role,
			    const char *peer);

void session_ref(struct session *s);
void session_unref(struct session *s);

/* Closes the session: logs reason once, runs the role's close hook, and
 * frees it later. With flush, queued output (an Error) is sent first, for at
 * most a second. */
void session_close(struct session *s, const char *reason, bool flush);

/* Sends a frame (seq filled in). A client whose unsent output passes the cap
 * is disconnected: it is not reading. No-op once closing. */
void session_send(struct session *s, Envelope *env);
/* Flow control for bulk output: fn(arg) runs each time everything queued
 * so far has gone to the kernel (the client is reading), from the write
 * path, never inside session_send; NULL stops it. The writer fills the
 * output up to a budget (session_output_len) and goes on from there. */
void session_on_drained(struct session *s, void (*fn)(void *arg), void *arg);
/* Bytes queued and not yet taken by the kernel. */
size_t session_output_len(const struct session *s);
/* The role's own state (its owner: the role's code, which drops it in its
 * close hook). */
void session_set_role_ctx(struct session *s, void *ctx);
void *session_role_ctx(const struct session *s);
/* Sends Error{code, message} answering ref (0: unsolicited). */
void session_send_error(struct session *s, uint64_t ref, int err, const char *message);

bool session_is_active(const struct session *s);
enum session_role session_role(const struct session *s);
const char *session_id(const struct session *s);        /* "g-12", "a-7" */
const char *session_client_id(const struct session *s); /* gateway / agent id, once authenticated */
struct session_env *session_env(const struct session *s);
/* The peer address as the listener rendered it: "1.2.3.4:5678",
 * "[::1]:5678" or "unix". */
const char *session_peer(const struct session *s);

/* Turns a just-accepted connection away: Error OVERLOADED with reason (which
 * names the limit), closed once that is flushed. The close logs the line. */
void session_refuse(struct session *s, const char *reason);
/* Error NOT_LEADER naming the leader's address for this port (when known),
 * then close: a standby's (or a still-loading daemon's) answer. */
void session_redirect(struct session *s, uint64_t ref);
/* Whether the client's verified TLS certificate names `name` (its CN or a
 * DNS subjectAltName): 1 yes, 0 no, -1 no verified certificate (or no TLS). */
int session_peer_cert_names(const struct session *s, const char *name);
/* The verified client certificate's names for logs, "-" without one. */
const char *session_peer_cert_identity(const struct session *s, char *out, size_t len);

/* Frees a closed session now, whatever refers to it: only at exit, once
 * nothing can call back into it. */
void session_destroy(struct session *s);

/* Shutdown: tells the client, flushes, closes. */
void session_shutdown(struct session *s, const char *reason);

#endif

/* sbclient: a small blocking client for the Switchboard protocol, used by the
 * command-line tool, the tests and the benchmarks.
 *
 * Owner: sbc_connect() returns a struct the caller owns and releases with
 * sbc_close(). Envelopes returned by receive calls are the caller's, freed
 * with envelope_free(). Frames that arrive while waiting for a particular one
 * are queued, in order, for the next sbc_recv(). */
#ifndef SB_CLIENT_H
#define SB_CLIENT_H

#include <stdbool.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard.pb-c.h"
#include "wire/envelope.h"

struct sbc;

/* address: "host:port", "[v6]:port" or "unix:/path". Returns NULL with a
 * message in err on failure. */
struct sbc *sbc_connect(const char *address, int timeout_ms, char *err, size_t errlen);
/* TLS settings of a connection; NULL fields take the defaults. */
struct sbc_tls {
	const char *ca_file;     /* PEM CA(s) the daemon's certificate must chain to;
	                            NULL: the system's trust store */
	const char *cert_file;   /* our certificate chain, for mutual TLS; NULL: none */
	const char *key_file;    /* its private key; NULL: read from cert_file */
	const char *server_name; /* name (or IP) the daemon's certificate must carry;
	                            NULL: the host part of the address */
};
/* sbc_connect over TLS 1.2+: the daemon's certificate is always verified.
 * tls NULL means plain TCP. Returns NULL with the reason (a failed
 * verification says so) in err. */
struct sbc *sbc_connect_tls(const char *address, int timeout_ms, const struct sbc_tls *tls,
                            char *err, size_t errlen);
void sbc_close(struct sbc *c);
int sbc_fd(const struct sbc *c);
/* Why the last call failed ("connection closed by daemon", ...), for messages. */
const char *sbc_last_error(const struct sbc *c);
/* True when sbc_recv() would return at once without reading the socket: a
 * queued or fully buffered frame, or a closed/broken connection to report.
 * Event loops check it before poll(), which cannot see user-space buffers. */
bool sbc_pending(const struct sbc *c);
/* Why the last call failed ("connection closed by daemon", ...), for messages. */
const char *sbc_last_error(const struct sbc *c);
/* True when sbc_recv() would return at once without reading the socket: a
 * queued or fully buffered frame, or a closed/broken connection to report.
 * Event loops check it before poll(), which cannot see user-space buffers. */
bool sbc_pending(const struct sbc *c);

/* Sends env as one frame, filling env->seq with the next sequence number.
 * Returns the seq, or 0 on a write error. */
uint64_t sbc_send(struct sbc *c, Envelope *env);
/* Writes raw bytes (tests of hostile input). Returns 0 or -1. */
int sbc_send_raw(struct sbc *c, const void *data, size_t len);

/* Corking, for a client driving many connections from one loop (sb-load):
 * while corked, sbc_send() and the request helpers queue the frame instead
 * of writing it (still returning its seq), and sbc_flush() writes all that
 * is queued in one go: one system call for a loop pass's frames rather
 * than one per frame. Anything that may wait for the daemon (a receive with
 * a timeout other than 0) flushes first. Uncorking flushes. */
void sbc_cork(struct sbc *c, bool on);
bool sbc_corked(const struct sbc *c);
/* Bytes queued by a corked client and not yet written. */
size_t sbc_unflushed(const struct sbc *c);
/* Writes what is queued. Returns 0, or -1 on a write error (the connection
 * is then broken, as for a failed send). */
int sbc_flush(struct sbc *c);

/* Next frame: 1 and *out set, 0 on timeout, -1 when the connection closed or
 * sent something undecodable. */
int sbc_recv(struct sbc *c, int timeout_ms, Envelope **out);
/* Next frame whose ref is seq (others are queued). Same returns as sbc_recv. */
int sbc_wait_reply(struct sbc *c, uint64_t seq, int timeout_ms, Envelope **out);
/* Next frame with this body case (others are queued). */
int sbc_wait_body(struct sbc *c, Switchboard__V1__Envelope__BodyCase body, int timeout_ms,
		  Envelope **out);

/* Sends Hello and waits for the answer. Returns 0 on Welcome (*welcome set
 * if non-NULL), the Error's code (> 0) if refused, -1 on I/O trouble. */
int sbc_hello(struct sbc *c, Switchboard__V1__Role role, const char *client_id, const char *token,
	      int timeout_ms, Envelope **welcome);

/* Request builders: each sends one frame and returns its seq (0 on error). */
struct sbc_submit {
	const char *external_id;
	Switchboard__V1__Channel channel;
	const char *queue;          /* NULL/"" = channel default */
	const char *customer_id;
	const char *customer_tier;
	int32_t priority;
	const char *preferred_agent_id;
	uint32_t preferred_wait_ms;
	const char *language;
	const char *const *attr_keys; /* n_attrs pairs */
	const char *const *attr_values;
	size_t n_attrs;
};
uint64_t sbc_submit(struct sbc *c, const struct sbc_submit *s);
uint64_t sbc_cancel(struct sbc *c, const char *contact_id, const char *reason);
uint64_t sbc_explain(struct sbc *c, const char *contact_id);
uint64_t sbc_set_state(struct sbc *c, Switchboard__V1__AgentState state, const char *reason);
uint64_t sbc_accept(struct sbc *c, const char *offer_id);
uint64_t sbc_reject(struct sbc *c, const char *offer_id, const char *reason);
uint64_t sbc_complete(struct sbc *c, const char *contact_id, const char *disposition);
uint64_t sbc_ready(struct sbc *c);
uint64_t sbc_ping(struct sbc *c);

/* One-line human rendering of a frame ("contact_assigned c-12 -> alice ..."),
 * for the CLI and test failure messages. Writes into buf, returns buf. */
const char *sbc_describe(const Envelope *env, char *buf, size_t len);
/* Names of wire enum values ("NOT_FOUND", "voice", "available"). */
const char *sbc_error_code_name(int code);
const char *sbc_channel_name(int wire);
const char *sbc_state_name(int wire);
/* Names of wire enum values ("NOT_FOUND", "voice", "available"). */
const char *sbc_error_code_name(int code);
const char *sbc_channel_name(int wire);
const char *sbc_state_name(int wire);

#endif

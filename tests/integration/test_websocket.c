/* The WebSocket transport on the agent port (RFC 6455): an agent logs in,
 * is offered a contact, accepts and completes it exactly as over TCP, also
 * over TLS (wss://); the Origin allow-list; and the bad cases, each with
 * what the client is told: a bad handshake (400), a refused Origin (403),
 * a text frame (close 1003), an unmasked frame (1002), an oversized message
 * (1009), a fragmented message (reassembled), a close in the middle of a
 * fragmented message, a session refused after the upgrade (an Error, then
 * close 1008).
 *
 * The test speaks WebSocket with raw bytes (plus OpenSSL for wss), so it
 * can also send what a well-behaved client library never would. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "http_client.h"

#define WAIT_MS 3000
/* RFC 6455 1.3's example key and the Sec-WebSocket-Accept it must get. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define KEY_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* ---- a raw WebSocket client ---------------------------------------------- */

struct wsc {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint8_t buf[1 << 17];
	size_t have;
	uint64_t seq;
};

/* Writes all of data or fails the test. */
static void wsc_write(struct wsc *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = c->ssl != NULL ? SSL_write(c->ssl, p, (int)len) : write(c->fd, p, len);
		if (n <= 0)
			fail_msg("write to the daemon failed: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Reads more bytes into the buffer: 1, 0 on timeout, -1 on EOF/error. */
static int wsc_fill(struct wsc *c, int timeout_ms)
{
	if (c->have == sizeof c->buf)
		fail_msg("test client buffer full");
	if (c->ssl == NULL || SSL_pending(c->ssl) == 0) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		if (poll(&pfd, 1, timeout_ms) == 0)
			return 0;
	}
	ssize_t n = c->ssl != NULL ? SSL_read(c->ssl, c->buf + c->have, (int)(sizeof c->buf - c->have))
				   : read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	return 1;
}

/* Connects to the agent port, over TLS when tls. */
static struct wsc *wsc_connect(struct harness *h, bool tls)
{
	struct wsc *c = calloc(1, sizeof *c);
	char host[64];
	const char *addr = harness_agent_addr(h);
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;

	assert_non_null(c);
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	assert_int_equal(getaddrinfo(host, colon + 1, &hints, &ai), 0);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c->fd, ai->ai_addr, ai->ai_addrlen), 0);
	freeaddrinfo(ai);
	if (tls) {
		c->ctx = SSL_CTX_new(TLS_client_method());
		c->ssl = SSL_new(c->ctx);
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_connect(c->ssl) != 1)
			fail_msg("TLS handshake with the agent port failed");
	}
	return c;
}

static void wsc_close(struct wsc *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
}

/* Sends an Upgrade request with the standard headers unless `headers`
 * (complete header lines) replaces them, reads the response head and
 * returns its status; *resp gets the whole response (head and any body
 * that came with it). */
static int wsc_upgrade(struct wsc *c, const char *headers, char *resp, size_t resp_len)
{
	char req[2048];

	snprintf(req, sizeof req, "GET /agent HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
		 headers != NULL ? headers
				 : "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				   "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n");
	wsc_write(c, req, strlen(req));
	for (;;) {
		uint8_t *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
		if (end != NULL) {
			size_t head = (size_t)(end - c->buf) + 4;
			int status = 0;
			sscanf((const char *)c->buf, "HTTP/1.1 %d", &status);
			if (status != 101) /* an error: the body follows, then the close */
				while (wsc_fill(c, WAIT_MS) > 0)
					;
			snprintf(resp, resp_len, "%.*s", (int)(status == 101 ? head : c->have),
				 (const char *)c->buf);
			if (status == 101) {
				memmove(c->buf, c->buf + head, c->have - head);
				c->have -= head;
			}
			return status;
		}
		if (wsc_fill(c, WAIT_MS) <= 0)
			fail_msg("no HTTP response to the upgrade; got %zu bytes", c->have);
	}
}

/* The standard upgrade, which must succeed with the right Accept. */
static struct wsc *wsc_open(struct harness *h, bool tls)
{
	struct wsc *c = wsc_connect(h, tls);
	char resp[1024];

	assert_int_equal(wsc_upgrade(c, NULL, resp, sizeof resp), 101);
	if (strstr(resp, "Sec-WebSocket-Accept: " KEY_ACCEPT "\r\n") == NULL)
		fail_msg("wrong or missing Sec-WebSocket-Accept in:\n%s", resp);
	return c;
}

/* Sends one frame; masked as a client must unless masked is false. */
static void wsc_frame(struct wsc *c, bool fin, int opcode, bool masked, const void *payload,
		      size_t len)
{
	uint8_t hdr[14], mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	size_t n = 0;
	uint8_t *data = malloc(len + 1);

	hdr[n++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
	if (len < 126) {
		hdr[n++] = (uint8_t)((masked ? 0x80 : 0) | len);
	} else if (len < 65536) {
		hdr[n++] = (uint8_t)((masked ? 0x80 : 0) | 126);
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = (uint8_t)((masked ? 0x80 : 0) | 127);
		for (int i = 7; i >= 0; i--)
			hdr[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (masked) {
		memcpy(hdr + n, mask, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(((const uint8_t *)payload)[i] ^ (masked ? mask[i % 4] : 0));
	wsc_write(c, hdr, n);
	wsc_write(c, data, len);
	free(data);
}

/* One frame from the daemon (never masked, never fragmented here):
 * 1 with *opcode, payload and *len; 0 on timeout; -1 on EOF. */
static int wsc_read_frame(struct wsc *c, int timeout_ms, int *opcode, uint8_t *payload,
			  size_t cap, size_t *len)
{
	for (;;) {
		if (c->have >= 2) {
			size_t n = c->buf[1] & 0x7f, off = 2;
			assert_int_equal(c->buf[1] & 0x80, 0); /* servers do not mask */
			if (n == 126 && c->have >= 4) {
				n = (size_t)c->buf[2] << 8 | c->buf[3];
				off = 4;
			} else if (n == 127 && c->have >= 10) {
				n = 0;
				for (int i = 0; i < 8; i++)
					n = n << 8 | c->buf[2 + i];
				off = 10;
			} else if (n >= 126) {
				off = SIZE_MAX;
			}
			if (off != SIZE_MAX && c->have >= off + n) {
				assert_true(n <= cap);
				*opcode = c->buf[0] & 0x0f;
				memcpy(payload, c->buf + off, n);
				*len = n;
				memmove(c->buf, c->buf + off + n, c->have - off - n);
				c->have -= off + n;
				return 1;
			}
		}
		int rc = wsc_fill(c, timeout_ms);
		if (rc <= 0)
			return rc;
	}
}

/* Sends env as one masked binary message. */
static uint64_t wsc_send(struct wsc *c, Envelope *env)
{
	env->seq = ++c->seq;
	size_t n = switchboard__v1__envelope__get_packed_size(env);
	uint8_t *p = malloc(n);

	switchboard__v1__envelope__pack(env, p);
	wsc_frame(c, true, 0x2, true, p, n);
	free(p);
	return env->seq;
}

/* The next Envelope (binary message) other than a Pong; fails the test on
 * a close, EOF or timeout. Caller frees. */
static Envelope *wsc_recv(struct wsc *c, int timeout_ms)
{
	static uint8_t payload[1 << 16];
	int opcode;
	size_t len;

	for (;;) {
		int rc = wsc_read_frame(c, timeout_ms, &opcode, payload, sizeof payload, &len);
		if (rc <= 0)
			fail_msg("no message from the daemon (%s)", rc == 0 ? "timeout" : "closed");
		if (opcode == 0x8)
			fail_msg("closed by the daemon: code %d: %.*s",
				 len >= 2 ? payload[0] << 8 | payload[1] : 0,
				 (int)(len > 2 ? len - 2 : 0), (const char *)payload + 2);
		assert_int_equal(opcode, 0x2);
		Envelope *env = switchboard__v1__envelope__unpack(NULL, len, payload);
		assert_non_null(env);
		if (env->body_case != SB_BODY(PONG))
			return env;
		switchboard__v1__envelope__free_unpacked(env, NULL);
	}
}

/* The next message must have body; returns it (caller frees). */
static Envelope *wsc_expect(struct wsc *c, Switchboard__V1__Envelope__BodyCase body)
{
	Envelope *env = wsc_recv(c, WAIT_MS);
	char desc[512];

	if (env->body_case != body)
		fail_msg("expected body %d, got %s", (int)body, sbc_describe(env, desc, sizeof desc));
	return env;
}

/* The daemon sends a close frame with code (its reason in *reason) and
 * then closes the connection. Binary messages before it are skipped. */
static void wsc_expect_close(struct wsc *c, int code, char *reason, size_t reason_len)
{
	static uint8_t payload[1 << 16];
	int opcode;
	size_t len;

	for (;;) {
		int rc = wsc_read_frame(c, WAIT_MS, &opcode, payload, sizeof payload, &len);
		if (rc <= 0)
			fail_msg("expected a close frame %d, got %s", code, rc == 0 ? "nothing" : "EOF");
		if (opcode == 0x8)
			break;
	}
	assert_true(len >= 2);
	snprintf(reason, reason_len, "%.*s", (int)len - 2, (const char *)payload + 2);
	if ((payload[0] << 8 | payload[1]) != code)
		fail_msg("close code %d (%s), expected %d", payload[0] << 8 | payload[1], reason, code);
	uint8_t rest[64];
	size_t n;
	assert_int_equal(wsc_read_frame(c, WAIT_MS, &opcode, rest, sizeof rest, &n), -1);
}

/* Logs in as agent id over c: Welcome, then StateChanged OFFLINE. */
static void wsc_login(struct harness *h, struct wsc *c, const char *id)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;

	hello.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hello.client_id = (char *)id;
	hello.token = (char *)harness_token(h, id, 3600);
	hello.protocol_version = 1;
	env.body_case = SB_BODY(HELLO);
	env.hello = &hello;
	uint64_t seq = wsc_send(c, &env);
	Envelope *w = wsc_expect(c, SB_BODY(WELCOME));
	assert_int_equal(w->ref, seq);
	switchboard__v1__envelope__free_unpacked(w, NULL);
	Envelope *st = wsc_expect(c, SB_BODY(STATE_CHANGED));
	assert_int_equal(st->state_changed->state, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_OFFLINE);
	switchboard__v1__envelope__free_unpacked(st, NULL);
}

/* Sends a Ping Envelope and expects its Pong: the session is alive. */
static void wsc_assert_open(struct wsc *c)
{
	static uint8_t payload[4096];
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ping ping = SWITCHBOARD__V1__PING__INIT;
	int opcode;
	size_t len;

	env.body_case = SB_BODY(PING);
	env.ping = &ping;
	uint64_t seq = wsc_send(c, &env);
	for (;;) {
		assert_int_equal(wsc_read_frame(c, WAIT_MS, &opcode, payload, sizeof payload, &len), 1);
		assert_int_equal(opcode, 0x2);
		Envelope *r = switchboard__v1__envelope__unpack(NULL, len, payload);
		assert_non_null(r);
		bool pong = r->body_case == SB_BODY(PONG) && r->ref == seq;
		switchboard__v1__envelope__free_unpacked(r, NULL);
		if (pong)
			return;
	}
}

/* The whole agent path over c: available, an offer, accept, complete. */
static void wsc_full_path(struct harness *h, struct wsc *c, const char *id, const char *ext)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SetState set = SWITCHBOARD__V1__SET_STATE__INIT;
	Switchboard__V1__AcceptOffer acc = SWITCHBOARD__V1__ACCEPT_OFFER__INIT;
	Switchboard__V1__CompleteContact done = SWITCHBOARD__V1__COMPLETE_CONTACT__INIT;

	wsc_login(h, c, id);
	set.state = SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE;
	env.body_case = SB_BODY(SET_STATE);
	env.set_state = &set;
	uint64_t seq = wsc_send(c, &env);
	Envelope *st = wsc_expect(c, SB_BODY(STATE_CHANGED));
	assert_int_equal(st->ref, seq);
	assert_int_equal(st->state_changed->state,
			 SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE);
	switchboard__v1__envelope__free_unpacked(st, NULL);

	struct sbc *gw = harness_gateway(h, "gw1");
	const char *contact = harness_submit_id(h, gw, ext, SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT,
						NULL);
	Envelope *offer = wsc_expect(c, SB_BODY(OFFER));
	assert_string_equal(offer->offer->contact->contact_id, contact);
	assert_true(offer->event_id != NULL && offer->event_id[0] != '\0');

	acc.offer_id = offer->offer->offer_id;
	env.body_case = SB_BODY(ACCEPT_OFFER);
	env.accept_offer = &acc;
	seq = wsc_send(c, &env);
	Envelope *conf = wsc_expect(c, SB_BODY(ASSIGNMENT_CONFIRMED));
	assert_int_equal(conf->ref, seq);
	switchboard__v1__envelope__free_unpacked(conf, NULL);
	switchboard__v1__envelope__free_unpacked(offer, NULL);
	/* The gateway hears of the assignment as from any agent. */
	harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), WAIT_MS);

	done.contact_id = (char *)contact;
	done.disposition = "resolved";
	env.body_case = SB_BODY(COMPLETE_CONTACT);
	env.complete_contact = &done;
	seq = wsc_send(c, &env);
	Envelope *ack = wsc_expect(c, SB_BODY(ACK));
	assert_int_equal(ack->ref, seq);
	switchboard__v1__envelope__free_unpacked(ack, NULL);
	harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), WAIT_MS);
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", contact), "state"),
			    "completed");
}

/* ---- fixtures ------------------------------------------------------------ */

static char certdir[64];
static char tls_yaml[512];

#define ORIGINS_YAML "websocket:\n  allowed_origins: [\"https://desk.example.com\"]\n"

/* Heartbeats slow enough that the raw client need not ping while it waits. */
static int setup_ws(void **state)
{
	struct harness_opts o = { .heartbeat_ms = 5000, .extra_yaml = ORIGINS_YAML, .admin = true };

	*state = harness_start(&o);
	return 0;
}

/* Messages capped at 1 KiB. */
static int setup_small(void **state)
{
	struct harness_opts o = { .heartbeat_ms = 5000, .limits_yaml = "  max_frame_bytes: 1024\n" };

	*state = harness_start(&o);
	return 0;
}

/* The agent port on TLS, with a self-signed certificate made for it. */
static int setup_tls(void **state)
{
	char cmd[512];

	snprintf(certdir, sizeof certdir, "/tmp/sb-ws-XXXXXX");
	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd,
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
		 " -nodes -keyout agent.key -out agent.crt -subj /CN=localhost -days 2"
		 " >openssl.log 2>&1 && chmod 600 agent.key",
		 certdir);
	if (system(cmd) != 0)
		return -1;
	snprintf(tls_yaml, sizeof tls_yaml,
		 "tls:\n  agent:\n    cert_file: \"%s/agent.crt\"\n    key_file: \"%s/agent.key\"\n",
		 certdir, certdir);
	struct harness_opts o = { .heartbeat_ms = 5000, .extra_yaml = tls_yaml };
	*state = harness_start(&o);
	return 0;
}

/* nftw callback: removes one entry. */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int teardown_tls(void **state)
{
	int rc = harness_teardown(state);

	if (getenv("SB_KEEP_TMP") == NULL)
		nftw(certdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/* ---- the full path ------------------------------------------------------- */

HARNESS_TEST(test_agent_full_path_over_websocket)
{
	struct wsc *c = wsc_open(h, false);

	wsc_full_path(h, c, "alice", "ws-1");
	assert_true(harness_log_contains(h, "agent 'alice' logged in from"));
	assert_true(harness_log_contains(h, "over websocket"));
	/* A WebSocket ping is answered with a pong carrying its payload. */
	static uint8_t payload[256];
	int opcode;
	size_t len;
	wsc_frame(c, true, 0x9, true, "are-you-there", 13);
	assert_int_equal(wsc_read_frame(c, WAIT_MS, &opcode, payload, sizeof payload, &len), 1);
	assert_int_equal(opcode, 0xa);
	assert_memory_equal(payload, "are-you-there", 13);
	wsc_assert_open(c);
	/* A TCP agent on the same port is not affected. */
	harness_agent(h, "bob");
	wsc_close(c);
}

HARNESS_TEST(test_agent_full_path_over_wss)
{
	struct wsc *c = wsc_open(h, true);

	wsc_full_path(h, c, "alice", "wss-1");
	wsc_close(c);
}

/* A refused Hello says why in an Error message, then closes with 1008. */
HARNESS_TEST(test_refused_hello_gets_an_error_then_close_1008)
{
	struct wsc *c = wsc_open(h, false);
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
	char reason[200];

	hello.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hello.client_id = "alice";
	hello.token = "v1.1.00";
	hello.protocol_version = 1;
	env.body_case = SB_BODY(HELLO);
	env.hello = &hello;
	wsc_send(c, &env);
	Envelope *err = wsc_expect(c, SB_BODY(ERROR));
	assert_int_equal(err->error->code, SB_ERR_CODE(UNAUTHENTICATED));
	switchboard__v1__envelope__free_unpacked(err, NULL);
	wsc_expect_close(c, 1008, reason, sizeof reason);
	wsc_close(c);
}

/* A logged-in session the daemon ends (here: replaced by a new login of
 * the same agent) gets its Error, then a close frame, not a bare hang-up. */
HARNESS_TEST(test_replaced_session_gets_an_error_then_close_1008)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_login(h, c, "alice");
	harness_agent(h, "alice");
	Envelope *err = wsc_expect(c, SB_BODY(ERROR));
	assert_int_equal(err->error->code, SB_ERR_CODE(CONFLICT));
	switchboard__v1__envelope__free_unpacked(err, NULL);
	wsc_expect_close(c, 1008, reason, sizeof reason);
	assert_string_equal(reason, "replaced by a new login");
	wsc_close(c);
}

/* Shutdown: NOT_LEADER, then close 1001 ("going away": try elsewhere). */
HARNESS_TEST(test_shutdown_is_not_leader_then_close_1001)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_login(h, c, "alice");
	harness_daemon_signal(h, SIGTERM);
	Envelope *err = wsc_expect(c, SB_BODY(ERROR));
	assert_int_equal(err->error->code, SB_ERR_CODE(NOT_LEADER));
	switchboard__v1__envelope__free_unpacked(err, NULL);
	wsc_expect_close(c, 1001, reason, sizeof reason);
	wsc_close(c);
}

/* ---- the handshake ------------------------------------------------------- */

/* Sends headers as the upgrade request; expects status and a body naming
 * what was wrong, then the connection closed. */
static void expect_refused(struct harness *h, const char *headers, int status, const char *says)
{
	struct wsc *c = wsc_connect(h, false);
	char resp[4096];

	assert_int_equal(wsc_upgrade(c, headers, resp, sizeof resp), status);
	if (strstr(resp, says) == NULL)
		fail_msg("expected \"%s\" in:\n%s", says, resp);
	assert_int_equal(wsc_fill(c, WAIT_MS), -1);
	wsc_close(c);
}

HARNESS_TEST(test_origin_allow_list)
{
	expect_refused(h,
		       "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
		       "\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n",
		       403, "origin https://evil.example is not in websocket.allowed_origins");
	assert_true(harness_log_contains(h, "WebSocket handshake refused (403)"));

	struct wsc *c = wsc_connect(h, false);
	char resp[1024];
	assert_int_equal(wsc_upgrade(c,
				     "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
				     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
				     "Origin: https://DESK.example.com\r\n",
				     resp, sizeof resp),
			 101);
	wsc_login(h, c, "alice");
	wsc_close(c);
	/* No Origin: not a browser; allowed (wsc_open sends none). */
	c = wsc_open(h, false);
	wsc_login(h, c, "bob");
	wsc_close(c);
}

HARNESS_TEST(test_bad_handshakes_get_400)
{
	expect_refused(h,
		       "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
		       400, "Sec-WebSocket-Key is missing");
	expect_refused(h,
		       "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " KEY
		       "\r\nSec-WebSocket-Version: 8\r\n",
		       400, "Sec-WebSocket-Version must be 13");
	expect_refused(h,
		       "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\n"
		       "Sec-WebSocket-Version: 13\r\n",
		       400, "Sec-WebSocket-Key must be 16 bytes in base64");
	/* A browser pointed at the agent port as a web page. */
	expect_refused(h, "Accept: text/html\r\n", 400,
		       "only a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)");
	/* Garbage after "GET ". */
	{
		struct wsc *c = wsc_connect(h, false);
		char resp[1024];
		wsc_write(c, "GET \x01\x02 nonsense\r\n\r\n", 20);
		assert_int_equal(wsc_fill(c, WAIT_MS), 1);
		assert_int_equal(memcmp(c->buf, "HTTP/1.1 400 ", 13), 0);
		(void)resp;
		wsc_close(c);
	}
	/* A request head that never ends is cut off at 8 KiB. */
	{
		struct wsc *c = wsc_connect(h, false);
		char big[9000];
		memset(big, 'a', sizeof big);
		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		wsc_write(c, big, sizeof big);
		assert_int_equal(wsc_fill(c, WAIT_MS), 1);
		assert_int_equal(memcmp(c->buf, "HTTP/1.1 431 ", 13), 0);
		wsc_close(c);
	}
	/* The daemon is unharmed. */
	harness_agent(h, "alice");
}

/* ---- frames -------------------------------------------------------------- */

HARNESS_TEST(test_text_frame_is_closed_1003)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_login(h, c, "alice");
	wsc_frame(c, true, 0x1, true, "{\"hello\":1}", 11);
	wsc_expect_close(c, 1003, reason, sizeof reason);
	assert_non_null(strstr(reason, "text frames are not accepted"));
	assert_true(harness_log_wait(h, "closed: text frames are not accepted", WAIT_MS));
	wsc_close(c);
}

HARNESS_TEST(test_unmasked_frame_is_closed_1002)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_login(h, c, "alice");
	wsc_frame(c, true, 0x2, false, "\x08\x01", 2);
	wsc_expect_close(c, 1002, reason, sizeof reason);
	assert_true(harness_log_wait(h, "WebSocket protocol error", WAIT_MS));
	wsc_close(c);
}

/* A Hello in three fragments, a ping between two of them: reassembled. */
HARNESS_TEST(test_fragmented_message_is_reassembled)
{
	struct wsc *c = wsc_open(h, false);
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
	static uint8_t payload[256];
	int opcode;
	size_t len;

	hello.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hello.client_id = "alice";
	hello.token = (char *)harness_token(h, "alice", 3600);
	hello.protocol_version = 1;
	env.body_case = SB_BODY(HELLO);
	env.hello = &hello;
	env.seq = 1;
	size_t n = switchboard__v1__envelope__get_packed_size(&env);
	uint8_t *p = malloc(n);
	switchboard__v1__envelope__pack(&env, p);
	wsc_frame(c, false, 0x2, true, p, 5);
	wsc_frame(c, true, 0x9, true, "mid", 3); /* control frames may interleave */
	assert_int_equal(wsc_read_frame(c, WAIT_MS, &opcode, payload, sizeof payload, &len), 1);
	assert_int_equal(opcode, 0xa);
	wsc_frame(c, false, 0x0, true, p + 5, 10);
	wsc_frame(c, true, 0x0, true, p + 15, n - 15);
	free(p);
	Envelope *w = wsc_expect(c, SB_BODY(WELCOME));
	assert_int_equal(w->ref, 1);
	switchboard__v1__envelope__free_unpacked(w, NULL);
	c->seq = 1;
	wsc_assert_open(c);
	wsc_close(c);
}

/* limits.max_frame_bytes bounds a message, its fragments counted together. */
HARNESS_TEST(test_oversized_message_is_closed_1009)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];
	static uint8_t big[1000];

	wsc_login(h, c, "alice");
	wsc_frame(c, false, 0x2, true, big, sizeof big);
	wsc_frame(c, true, 0x0, true, big, sizeof big);
	wsc_expect_close(c, 1009, reason, sizeof reason);
	assert_true(harness_log_wait(h, "WebSocket message over limits.max_frame_bytes", WAIT_MS));
	wsc_close(c);
	/* Others are unaffected. */
	c = wsc_open(h, false);
	wsc_login(h, c, "bob");
	wsc_assert_open(c);
	wsc_close(c);
}

/* A close between the fragments of a message: the daemon answers the
 * close and drops the half message. */
HARNESS_TEST(test_close_in_the_middle_of_a_message)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_login(h, c, "alice");
	wsc_frame(c, false, 0x2, true, "\x08\x01", 2);
	wsc_frame(c, true, 0x8, true, "\x03\xe8" "bye", 5);
	wsc_expect_close(c, 1000, reason, sizeof reason);
	assert_true(harness_log_wait(h, "closed: the client closed the WebSocket (code 1000)", WAIT_MS));
	wsc_close(c);
	/* A close is how a WebSocket client hangs up, not a bad frame. */
	struct resp r = http_at(harness_admin_addr(h), "GET", "/metrics", NULL, NULL, WAIT_MS);
	assert_int_equal(r.status, 200);
	if (strstr(r.body, "\nswitchboard_frame_decode_errors_total 0\n") == NULL)
		fail_msg("a client's close was counted as a decode error:\n%s",
			 strstr(r.body, "switchboard_frame_decode_errors_total"));
	resp_free(&r);
}

/* An empty binary message is an empty frame: refused as over TCP, with an
 * Error, then close 1008. */
HARNESS_TEST(test_empty_message_is_a_bad_frame)
{
	struct wsc *c = wsc_open(h, false);
	char reason[200];

	wsc_frame(c, true, 0x2, true, "", 0);
	Envelope *err = wsc_expect(c, SB_BODY(ERROR));
	assert_int_equal(err->error->code, SB_ERR_CODE(BAD_FRAME));
	switchboard__v1__envelope__free_unpacked(err, NULL);
	wsc_expect_close(c, 1008, reason, sizeof reason);
	wsc_close(c);
}

#define T(name, setup) cmocka_unit_test_setup_teardown(name, setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_agent_full_path_over_websocket, setup_ws),
		cmocka_unit_test_setup_teardown(test_agent_full_path_over_wss, setup_tls,
						teardown_tls),
		T(test_refused_hello_gets_an_error_then_close_1008, setup_ws),
		T(test_replaced_session_gets_an_error_then_close_1008, setup_ws),
		T(test_shutdown_is_not_leader_then_close_1001, setup_ws),
		T(test_origin_allow_list, setup_ws),
		T(test_bad_handshakes_get_400, setup_ws),
		T(test_text_frame_is_closed_1003, setup_ws),
		T(test_unmasked_frame_is_closed_1002, setup_ws),
		T(test_fragmented_message_is_reassembled, setup_ws),
		T(test_oversized_message_is_closed_1009, setup_small),
		T(test_close_in_the_middle_of_a_message, setup_ws),
		T(test_empty_message_is_a_bad_frame, setup_ws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

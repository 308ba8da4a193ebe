/* libFuzzer target for everything a client can send: framing, envelope
 * decoding, the handshake and every role's request validation, driven
 * through a real server over a socketpair.
 *
 * Input: byte 0 picks the role (bit 0: agent) and, with the rest of its
 * bits, which configured client the Hello names; byte 1 bit 0 says whether a
 * valid Hello (right secret or a freshly minted token) goes first, so the
 * fuzzer reaches the handlers without having to guess a credential. The
 * remaining bytes are what the client sends, then it hangs up.
 *
 * The server is built once and never freed: routing state carried from one
 * input to the next is part of what is fuzzed. Redis is never started (and
 * nothing listens at its address), so work that passes validation gets
 * STORE_UNAVAILABLE; the point is that nothing crashes, leaks or hits UB. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz.h"
#include "config/config.h"
#include "util/log.h"
#include "security/token.h"
#include "router/router.h"
#include "server.h"
#include "session/registry.h"
#include "session/session.h"
#include "wire/frame.h"



/* Loop passes allowed for a session to read everything and go away. */
#define FUZZ_MAX_PASSES 256

static const char fuzz_config_text[] =
    "site: fuzz\n"
    "log_level: error\n"
    "listen:\n"
    "  gateway: unix:%s\n"
    "  agent: unix:%s\n"
    "admin:\n"
    "  listen: \"\"\n"
    "redis:\n"
    "  address: 127.0.0.1:1\n"
    "auth:\n"
    "  agent_secret: fuzz-agent-secret-0123456789abcdef\n"
    "channels:\n"
    "  email: {auto_accept: true}\n"
    "gateways:\n"
    "  - {id: gw-a, secret: fuzz-gateway-secret-a-0123456789}\n"
    "  - {id: gw-b, secret: fuzz-gateway-secret-b-0123456789}\n"
    "queues:\n"
    "  - {name: billing, channel: voice, skills: {billing: 2},\n"
    "     steps: [{after_ms: 5s, skill_relax: 1}, {after_ms: 10s, add_queue: q-voice-2}]}\n"
    "  - {name: q-voice-2, channel: voice, strategy: most-skilled, overflow: billing,\n"
    "     max_wait_no_agent_ms: 30s}\n"
    "  - {name: q-chat, channel: chat, strategy: least-occupied}\n"
    "  - {name: q-email, channel: email, strategy: fewest-contacts}\n"
    "  - {name: q-social, channel: social, strategy: round-robin}\n"
    "agents:\n"
    "  - {id: alice, tier: senior, skills: {support: 5, billing: 4}, capacity: {chat: 2}}\n"
    "  - {id: bob, tier: regular, skills: {support: 1, sales: 4},\n"
    "     queues: [q-voice-2, q-email]}\n"
    "  - {id: carol, tier: trainee, skills: {support: 3}, capacity: {chat: 3, email: 5}}\n";

static struct server *fuzz_srv;
static struct session_env *fuzz_env;
static char fuzz_gateway_path[64], fuzz_agent_path[64];

/* The listeners are never freed, so their sockets are removed here. */
static void fuzz_unlink_sockets(void)
{
	unlink(fuzz_gateway_path);
	unlink(fuzz_agent_path);
}

/* Builds the one server every input talks to. */
static void fuzz_init(void)
{
	struct sb_config *cfg = NULL;
	struct config_errors errs = {0};
	char text[sizeof fuzz_config_text + 2 * sizeof fuzz_gateway_path];
	int n;

	/* Sessions log every login and close: keep the fuzzer's output readable. */
	log_set_level(LOG_LEVEL_ERROR);
	/* The listeners are not used, but server_new binds them: paths per
	 * process, so parallel fuzzers do not collide (TCP port 0 is refused). */
	snprintf(fuzz_gateway_path, sizeof fuzz_gateway_path, "/tmp/fuzz-%ld-g.sock",
	         (long)getpid());
	snprintf(fuzz_agent_path, sizeof fuzz_agent_path, "/tmp/fuzz-%ld-a.sock", (long)getpid());
	n = snprintf(text, sizeof text, fuzz_config_text, fuzz_gateway_path, fuzz_agent_path);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof text);
	atexit(fuzz_unlink_sockets);
	if (config_load_buffer("fuzz_session.yaml", text, (size_t)n, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		abort();
	}
	fuzz_srv = server_new(cfg);
	FUZZ_CHECK(fuzz_srv != NULL);
	fuzz_env = server_session_env(fuzz_srv);
}

static struct session *fuzz_session(const char *sid)
{
	return registry_session(fuzz_env->registry, sid);
}

/* Encodes a valid Hello for the chosen role and client; *out is malloc'd. */
static size_t fuzz_hello(enum session_role role, unsigned pick, uint8_t **out)
{
	const struct sb_config *cfg = router_config(fuzz_env->router);
	Switchboard__V1__Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello h = SWITCHBOARD__V1__HELLO__INIT;
	char *token = NULL;
	size_t n;

	h.protocol_version = 1;
	if (role == SESSION_GATEWAY) {
		const struct sb_gateway_conf *g = &cfg->gateways[pick % cfg->n_gateways];
		h.role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY;
		h.client_id = g->id;
		h.token = g->secret;
	} else {
		const struct sb_agent_conf *a = &cfg->agents[pick % cfg->n_agents];
		/* valid for a day: minted per input, as the clock moves on */
		token = token_mint(cfg->agent_secret, a->id, (int64_t)time(NULL) + 86400);
		h.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
		h.client_id = a->id;
		h.token = token;
	}
	env.seq = 1;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	n = frame_encode(&env, out);
	free(token);
	return n;
}

/* Writes what the socket takes now; returns bytes written. */
static size_t fuzz_write(int fd, const uint8_t *p, size_t n)
{
	ssize_t w = n > 0 ? write(fd, p, n) : 0;

	if (w < 0) {
		/* full: the loop drains it; the session gone (EPIPE): stop */
		FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == EPIPE ||
		           errno == ECONNRESET);
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : n;
	}
	return (size_t)w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_base *base;
	enum session_role role;
	struct session *s;
	uint8_t *hello = NULL;
	size_t hello_len = 0, hello_off = 0, off = 2;
	char sid[32];
	int sv[2];

	if (size < 2)
		return 0;
	if (fuzz_srv == NULL)
		fuzz_init();
	base = fuzz_env->base;
	role = (data[0] & 1) ? SESSION_AGENT : SESSION_GATEWAY;
	if (data[1] & 1)
		hello_len = fuzz_hello(role, data[0] >> 1, &hello);

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	/* sessions get non-blocking sockets from the listener: do the same */
	FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	s = session_new(fuzz_env, sv[0], role, "fuzz");
	snprintf(sid, sizeof sid, "%s", session_id(s));

	/* Send everything, letting the server read whenever the socket is full;
	 * give up once it stops reading (closed, or draining its last Error). */
	for (int stalled = 0; (hello_off < hello_len || off < size) && stalled < FUZZ_MAX_PASSES;) {
		size_t w;

		if (hello_off < hello_len) {
			w = fuzz_write(sv[1], hello + hello_off, hello_len - hello_off);
			hello_off += w;
		} else {
			w = fuzz_write(sv[1], data + off, size - off);
			off += w;
		}
		stalled = w > 0 ? 0 : stalled + 1;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	close(sv[1]);
	free(hello);

	/* Let it read the rest, answer, see the hang-up and be freed. */
	for (int pass = 0; pass < FUZZ_MAX_PASSES && fuzz_session(sid) != NULL; pass++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	s = fuzz_session(sid);
	if (s != NULL) {
		/* Still there (a drain timer, say): close it as a dropped peer would. */
		session_close(s, "fuzz input done", false);
		for (int pass = 0; pass < FUZZ_MAX_PASSES && fuzz_session(sid) != NULL;
		     pass++)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	/* A session that outlives its input would pile up: a leak in all but name. */
	FUZZ_CHECK(fuzz_session(sid) == NULL);
	return 0;
}

/* Integration-test harness: starts a private redis-server and a switchboard
 * daemon on free loopback ports in a temporary directory, hands out connected
 * and authenticated clients, and tears everything down again, also when an
 * assertion fails half-way through a test.
 *
 * Owner: harness_start() returns a struct that owns every process, client,
 * Redis context, Envelope and string the harness_* calls hand out; they stay
 * valid until harness_stop(), which releases all of them. Tests never free
 * what the harness returns.
 *
 * Every wait is bounded. While a helper waits it pings the other
 * authenticated clients, so idle sessions keep their heartbeat lease; Pong
 * frames are skipped by every harness_expect*()/harness_await*() call. */
#ifndef SB_TEST_HARNESS_H
#define SB_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sbclient.h"

struct harness;
struct redisContext;

/* Knobs a test may change; zero means the harness default. */
struct harness_opts {
	bool redis_down;           /* start the daemon while Redis is not running */
	int64_t offer_timeout_ms;  /* voice and chat offer timeout (default 1000) */
	int64_t voice_wrapup_ms;   /* voice wrap-up (default 0: no wrap-up) */
	bool email_auto_accept;    /* channels.email.auto_accept (default false) */
	int64_t heartbeat_ms;      /* sessions.heartbeat_ms (default 1000) */
	const char *extra_yaml;    /* top-level YAML appended verbatim, or NULL */
	const char *limits_yaml;   /* lines appended under limits: ("  key: v\n"), or NULL */
	int64_t agent_grace_ms;    /* sessions.agent_grace_ms (default 30000; < 0: 0) */
	/* Start the admin API on a free port, with a bearer token in TMP/admin.token
	 * (mode 0600); off by default (admin.listen ""). Config variants carry
	 * the same admin.listen: start a second daemon with --admin-listen. */
	bool admin;
	const char *admin_yaml;    /* lines appended under admin: ("  key: v\n"), or NULL */
	/* Queue entries appended to the harness's queues (voice-q, chat-q,
	 * email-q, social-q), as YAML list items ("  - name: q\n    channel:
	 * email\n    max_wait_ms: 1500\n"), or NULL. */
	const char *queues_yaml;
	/* The daemon reaches Redis through an sb-proxy ($SB_PROXY) the harness
	 * starts in front of it, so a test can freeze the link
	 * (harness_proxy_signal). harness_redis_addr() stays Redis's own
	 * address (the test's reads, a standby's config). */
	bool redis_proxy;
	int64_t handshake_timeout_ms; /* limits.handshake_timeout_ms (default 1000) */
	/* The daemon's RLIMIT_NOFILE (soft and hard), to run it out of file
	 * descriptors; 0: inherited. */
	int max_open_files;
};

/* Which listener a raw connection goes to. */
enum harness_port { HARNESS_GATEWAY_PORT, HARNESS_AGENT_PORT };

/* Default wait for a reply the daemon should send at once. */
#define HARNESS_REPLY_MS 2000

/* Body case shorthands. */
#define SB_BODY(name) SWITCHBOARD__V1__ENVELOPE__BODY_##name
#define SB_ERR_CODE(name) SWITCHBOARD__V1__ERROR_CODE__##name

/* ---- life cycle -------------------------------------------------------- */

/* Starts Redis (unless opts->redis_down) and the daemon; fails the current
 * test (cmocka) if either does not come up in time. opts may be NULL. */
struct harness *harness_start(const struct harness_opts *opts);
/* Closes every client, stops the daemon (SIGTERM, SIGKILL after 5 s) and
 * Redis, and removes the temporary directory unless the test did not pass or
 * SB_KEEP_TMP is set. Returns the daemon's exit status (0 on a clean exit,
 * 128 + signal when killed, -1 when it was never started). */
int harness_stop(struct harness *h);
/* Marks the running test as passed (see HARNESS_TEST). */
void harness_passed(struct harness *h);

/* cmocka fixtures: default harness per test; teardown fails the test when
 * the daemon did not exit 0. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Declares a test `name` taking the fixture's harness as `h`; reaching the end
 * of the body marks it passed, so a failed one keeps its directory. */
#define HARNESS_TEST(name)                                                                         \
	static void name##_body(struct harness *h);                                                \
	static void name(void **state)                                                             \
	{                                                                                          \
		struct harness *h_ = *state;                                                       \
		name##_body(h_);                                                                   \
		harness_passed(h_);                                                                \
	}                                                                                          \
	static void name##_body(struct harness *h)

/* ---- the daemon and Redis ---------------------------------------------- */

const char *harness_tmpdir(const struct harness *h);
const char *harness_config_path(const struct harness *h);
const char *harness_gateway_addr(const struct harness *h);
const char *harness_agent_addr(const struct harness *h);
const char *harness_redis_addr(const struct harness *h);
/* With opts.admin: "127.0.0.1:port" of the admin API, its bearer token and
 * the token file's path; "" / NULL otherwise. */
const char *harness_admin_addr(const struct harness *h);
const char *harness_admin_token(const struct harness *h);
const char *harness_admin_token_file(const struct harness *h);
const char *harness_agent_secret(const struct harness *h);
/* The configured secret of gateway id ("gw1", "gw2"). */
const char *harness_gateway_secret(const struct harness *h, const char *id);

/* Sends sig to the daemon; SIGKILL also reaps it (the test then restarts
 * it). SIGSTOP/SIGCONT pause and resume it. */
void harness_daemon_signal(struct harness *h, int sig);
/* Starts the daemon again on the same config, Redis and log (appended),
 * and waits until it serves. */
void harness_daemon_restart(struct harness *h);
/* true while the daemon process has not exited. */
bool harness_daemon_alive(struct harness *h);
/* The daemon's process id (0 once it has exited and been reaped). */
pid_t harness_daemon_pid(const struct harness *h);
/* true when switchboard.log contains text. */
bool harness_log_contains(struct harness *h, const char *text);
/* Byte offset of the first occurrence of text in switchboard.log at or after
 * from, or -1. */
long harness_log_find(struct harness *h, const char *text, long from);
/* Waits up to timeout_ms for text to appear in the log. */
bool harness_log_wait(struct harness *h, const char *text, int timeout_ms);

/* Stops Redis (SIGTERM, then waits for it) / starts it again on the same port
 * and directory and waits until it answers PING. */
void harness_redis_stop(struct harness *h);
void harness_redis_start(struct harness *h);
/* Sends sig to redis-server: SIGSTOP freezes it (connections stay open, the
 * kernel keeps accepting and buffering, nothing is answered), SIGCONT thaws
 * it, SIGKILL kills and reaps it (harness_redis_start then starts it again
 * on the same port and directory, loading its AOF). A stopped Redis needs
 * no SIGCONT before SIGKILL. While it is frozen, do not use harness_redis()
 * or the helpers built on it. harness_stop thaws a frozen Redis first. */
void harness_redis_signal(struct harness *h, int sig);
/* A synchronous connection to the harness's Redis (owned by h). */
struct redisContext *harness_redis(struct harness *h);
/* Runs any command on the harness's Redis (hiredis format arguments:
 * "CONFIG SET maxmemory %lld", "XRANGE %s - +"); the reply, owned by h, is
 * never NULL (an I/O failure fails the test). Error replies are returned,
 * type REDIS_REPLY_ERROR, for the test to look at. */
struct redisReply *harness_redis_command(struct harness *h, const char *fmt, ...);
/* Redis's data directory (TMP) and its multi-part AOF directory
 * (TMP/appendonlydir: the manifest appendonly.aof.manifest, a base and
 * incr files; Redis runs with --appendonly yes --appendfsync everysec). */
const char *harness_redis_dir(const struct harness *h);
const char *harness_redis_aof_dir(struct harness *h);
/* With opts.redis_proxy: the proxy's address (what the daemon's config
 * names) and its pid; "" / 0 otherwise. harness_proxy_signal sends it
 * SIGSTOP (freeze: the daemon is cut off from Redis without a close) or
 * SIGCONT (thaw). harness_stop thaws it before stopping the daemon. */
const char *harness_proxy_addr(const struct harness *h);
void harness_proxy_signal(struct harness *h, int sig);
/* Starts an sb-proxy ($SB_PROXY) relaying listen_addr to upstream_addr and
 * waits until it prints "ready"; killed at stop (or with harness_kill). */
pid_t harness_start_proxy(struct harness *h, const char *listen_addr, const char *upstream_addr);
/* Path of sb-proxy: $SB_PROXY, else tests/tools/sb-proxy under the daemon's
 * directory (the build tree's layout). */
const char *harness_proxy_path(struct harness *h);
/* "sb:{test}:" + the formatted rest; owned by h. */
const char *harness_key(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* printf into a string owned by h. */
const char *harness_printf(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* HGET key field; NULL when the key or field is missing. Owned by h. */
const char *harness_hget(struct harness *h, const char *key, const char *field);
/* Polls HGET until it equals want or timeout_ms passes; returns the last value. */
const char *harness_hget_wait(struct harness *h, const char *key, const char *field,
			      const char *want, int timeout_ms);
/* Runs a command answering an integer (ZCARD, EXISTS, ...); -1 on other
 * replies. Arguments are hiredis format arguments. */
long long harness_redis_int(struct harness *h, const char *fmt, ...);

/* ---- clients ------------------------------------------------------------ */

/* A TCP connection to a listener with nothing sent yet (no keepalive). */
struct sbc *harness_connect(struct harness *h, enum harness_port port);
/* The same to any address (another daemon the test started). */
struct sbc *harness_connect_addr(struct harness *h, const char *addr);
/* Connected gateway / agent that completed Hello (asserted), kept alive while
 * the harness waits elsewhere. *welcome, when non-NULL, gets the Welcome. An
 * agent's login also consumes the StateChanged{OFFLINE} pushed after Welcome. */
struct sbc *harness_gateway(struct harness *h, const char *id);
struct sbc *harness_agent(struct harness *h, const char *id);
struct sbc *harness_agent_welcome(struct harness *h, const char *id, Envelope **welcome);
/* An agent logging in again within its grace period: the StateChanged
 * after Welcome must carry want (the state it left in). */
struct sbc *harness_agent_back(struct harness *h, const char *id, Switchboard__V1__AgentState want);
/* A token for agent_id signed with the daemon's agent secret, expiring
 * ttl_s seconds from now (negative: already expired). Owned by h. */
const char *harness_token(struct harness *h, const char *agent_id, int64_t ttl_s);
/* Hands the harness a client the test connected itself (over TLS, say):
 * h then owns it, closes it at stop and, with keepalive, pings it. */
struct sbc *harness_adopt(struct harness *h, struct sbc *c, bool keepalive);
/* Closes one client now. */
void harness_close(struct harness *h, struct sbc *c);
/* Includes / excludes c from the pings sent while the harness waits. */
void harness_keepalive(struct harness *h, struct sbc *c, bool on);

/* ---- frames ------------------------------------------------------------- */

/* The next frame other than a Pong must have this body; fails otherwise. */
Envelope *harness_expect(struct harness *h, struct sbc *c, Switchboard__V1__Envelope__BodyCase body,
			 int timeout_ms);
/* The first frame with this body; frames of other bodies stay queued. */
Envelope *harness_await(struct harness *h, struct sbc *c, Switchboard__V1__Envelope__BodyCase body,
			int timeout_ms);
/* The reply to seq, which must have this body (an Error is described). */
Envelope *harness_reply(struct harness *h, struct sbc *c, uint64_t seq,
			Switchboard__V1__Envelope__BodyCase body, int timeout_ms);
/* The reply to seq, whatever its body. */
Envelope *harness_answer(struct harness *h, struct sbc *c, uint64_t seq, int timeout_ms);
/* The reply to seq (or, when seq is 0, the next frame other than a Pong) must
 * be an Error with code. */
Envelope *harness_expect_error(struct harness *h, struct sbc *c, uint64_t seq,
			       Switchboard__V1__ErrorCode code, int timeout_ms);
/* No frame other than Pong arrives within ms. */
void harness_expect_silence(struct harness *h, struct sbc *c, int ms);
/* The daemon closes c within timeout_ms, sending nothing but Pongs first. */
void harness_assert_closed(struct harness *h, struct sbc *c, int timeout_ms);
/* The same, but one Error (a notice saying why) may come before the close. */
void harness_assert_closed_notice(struct harness *h, struct sbc *c, int timeout_ms);
/* A Ping on c is answered with a Pong carrying its seq. */
void harness_assert_open(struct harness *h, struct sbc *c);
/* Sleeps ms, keeping the clients alive. */
void harness_sleep(struct harness *h, int ms);

/* ---- requests ------------------------------------------------------------ */

/* Submits and asserts ContactAccepted (ref = seq); returns it. */
Envelope *harness_submit(struct harness *h, struct sbc *gw, const char *external_id,
			 Switchboard__V1__Channel channel, const char *queue);
/* The same, returning only the contact id. */
const char *harness_submit_id(struct harness *h, struct sbc *gw, const char *external_id,
			      Switchboard__V1__Channel channel, const char *queue);
/* SetState AVAILABLE, asserts StateChanged{AVAILABLE} with ref = seq. */
void harness_available(struct harness *h, struct sbc *agent);
/* Waits for an Offer of contact_id on agent and returns its offer id. */
const char *harness_offer_for(struct harness *h, struct sbc *agent, const char *contact_id,
			      int timeout_ms);
/* Submits a contact from gw, waits for its Offer on agent (which must be
 * available) and accepts it: the contact id, now assigned to agent. */
const char *harness_assigned(struct harness *h, struct sbc *gw, struct sbc *agent,
			     const char *external_id, Switchboard__V1__Channel channel,
			     const char *queue);
/* Accepts offer_id and asserts AssignmentConfirmed (ref = seq). */
void harness_accept(struct harness *h, struct sbc *agent, const char *offer_id,
		    const char *contact_id);

/* ---- processes ----------------------------------------------------------- */

/* Path of the daemon under test ($SB_DAEMON) and of sbctl beside it. */
const char *harness_daemon_path(void);
const char *harness_sbctl_path(struct harness *h);
/* Writes text to TMP/name; returns the path (owned by h). */
const char *harness_write_file(struct harness *h, const char *name, const char *text);
/* Writes TMP/name: the harness's config with other listen/redis addresses. */
const char *harness_write_config_variant(struct harness *h, const char *name,
					 const char *gateway_listen, const char *agent_listen,
					 const char *redis_address);
/* Contents of TMP/name (or of an absolute path); NULL if unreadable. */
const char *harness_read_file(struct harness *h, const char *name);
/* Waits up to timeout_ms for TMP/name to contain text. */
bool harness_file_wait(struct harness *h, const char *name, const char *text, int timeout_ms);

/* A second daemon on the harness's Redis (config TMP/standby.yaml, log
 * TMP/standby.log), started and seen standing by: its addresses and pid
 * (killed at stop, or with harness_kill). Fails the test if it does not
 * stand by within 5 s. */
struct harness_standby {
	const char *gateway, *agent;
	pid_t pid;
};
struct harness_standby harness_start_standby(struct harness *h);
/* A free loopback address "127.0.0.1:port" (owned by h). */
const char *harness_free_addr(struct harness *h);
/* Runs argv (NULL-terminated) to completion with stdout and stderr captured
 * into *output (owned by h). Returns its exit status, or -1 if it had to be
 * killed after timeout_ms. */
int harness_run(struct harness *h, const char *const argv[], int timeout_ms, const char **output);
/* Starts argv in the background, output to TMP/logname; killed at stop. */
pid_t harness_spawn(struct harness *h, const char *const argv[], const char *logname);
/* Waits up to timeout_ms for pid to exit; its status, or -1 if still running. */
int harness_reap(struct harness *h, pid_t pid, int timeout_ms);
/* SIGTERM (then SIGKILL after 2 s) and reap; returns its exit status. */
int harness_kill(struct harness *h, pid_t pid);

/* Wall clock, Unix milliseconds. */
int64_t harness_now_ms(void);

#endif

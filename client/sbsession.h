/* sbsession: a client session that survives daemon restarts and fail-overs,
 * built on the blocking sbclient.
 *
 * A session knows a list of daemon addresses (an active/standby pair, say),
 * its role and credentials. It connects and says Hello; when the connection
 * is lost it reconnects with capped exponential backoff (doubling per pass
 * over the list) and jitter, trying the leader a NOT_LEADER answer names
 * first and otherwise the next address in the list. Each successful (re)connection is reported to the caller's
 * on_connect callback, so an application can resubmit work that was not
 * acknowledged (submits are idempotent) and rebuild what it tracks from the
 * events the daemon redelivers. It also sends the Pings the heartbeat needs.
 *
 * It is made for poll() loops: sbs_service() does whatever is due (a
 * reconnect attempt, a Ping) without sleeping, sbs_next_wake() says when it
 * next needs to run. One attempt blocks at most connect_timeout_ms.
 *
 * Owner: sbs_new() returns a struct the caller frees with sbs_free(); it owns
 * its copy of every configured string and its current connection. */
#ifndef SB_CLIENT_SBSESSION_H
#define SB_CLIENT_SBSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbclient.h"

struct sbs;

/* Called after every Welcome (first connection and each reconnection), with
 * the Welcome; frames the daemon sends right after it (an agent's state,
 * redelivered events) are waiting in sbs_client() for sbc_recv(). */
typedef void (*sbs_connect_fn)(struct sbs *s, const Envelope *welcome, void *arg);

struct sbs_config {
	const char *addresses;       /* "host:port,host:port,unix:/path" (required) */
	Switchboard__V1__Role role;  /* gateway or agent (required) */
	const char *client_id;       /* gateway id or agent id (required) */
	const char *credential;      /* gateway secret or agent token */
	const struct sbc_tls *tls;   /* NULL: plain TCP; strings copied */
	int connect_timeout_ms;      /* one connect + Hello attempt; 0: 2000 */
	int backoff_min_ms;          /* first retry delay; 0: 50 */
	int backoff_max_ms;          /* cap of the doubling delay; 0: 2000 */
	uint64_t seed;               /* jitter; 0: from the clock and pid */
	unsigned max_failures;       /* give up (SBS_FATAL) after this many failed
	                                attempts in a row; 0: never (a daemon
	                                client); a one-shot tool sets a few */
	sbs_connect_fn on_connect;   /* may be NULL */
	void *arg;                   /* passed to on_connect */
};

/* What sbs_service() reports. */
enum sbs_status {
	SBS_UP,      /* connected and welcomed */
	SBS_WAITING, /* disconnected; the next attempt is at sbs_next_wake() */
	SBS_FATAL,   /* the daemon refused our credentials (retrying cannot help),
	                or max_failures attempts failed in a row */
};

/* Copies cfg and parses its address list. No connection is made yet: the
 * first sbs_service() (or sbs_connect()) makes it. Returns NULL with a
 * message in err on a bad configuration. */
struct sbs *sbs_new(const struct sbs_config *cfg, char *err, size_t errlen);
void sbs_free(struct sbs *s);

/* Tries until connected, refused for good, or timeout_ms passed (sleeping
 * the backoff in between). Returns SBS_UP, SBS_FATAL or SBS_WAITING. */
enum sbs_status sbs_connect(struct sbs *s, int timeout_ms);

/* Does what is due at monotonic time now_ms (sbs_mono_ms()): one connection
 * attempt when disconnected and its backoff has passed, a Ping when the
 * heartbeat needs one. Never sleeps. */
enum sbs_status sbs_service(struct sbs *s, int64_t now_ms);
/* Monotonic ms by which sbs_service() must run again. */
int64_t sbs_next_wake(const struct sbs *s);

/* The current connection (NULL while disconnected); sending and receiving
 * are the caller's, through sbclient. Do not close it: call sbs_lost(). */
struct sbc *sbs_client(const struct sbs *s);
bool sbs_up(const struct sbs *s);
/* The caller saw the connection fail (sbc_recv() < 0, sbc_send() == 0, or a
 * NOT_LEADER answer): closes it and schedules the reconnection. */
void sbs_lost(struct sbs *s, const char *why);

/* Hands the current connection to the caller, who then owns it (sbc_close)
 * and keeps it alive; the session is left disconnected with nothing
 * scheduled. For one-shot tools that only want the address-list login.
 * NULL while disconnected. */
struct sbc *sbs_detach(struct sbs *s);

/* The daemon answered or announced NOT_LEADER on an established session
 * (it stood down, or is draining for a stop): closes the connection and
 * reconnects to leader (Error.leader) when one is named, else to the next
 * address in the list rather than back to this one. */
void sbs_not_leader(struct sbs *s, const char *leader);

/* Number of successful logins so far (1 after the first). */
unsigned long sbs_connections(const struct sbs *s);
/* Failed attempts since the last successful login. */
unsigned sbs_failures(const struct sbs *s);
/* Address of the current (or last tried) daemon; the last failure's reason. */
const char *sbs_address(const struct sbs *s);
const char *sbs_last_error(const struct sbs *s);
const char *sbs_client_id(const struct sbs *s);
/* The delay at backoff step n (n >= 1): min * 2^(n-1), capped at max, with
 * jitter taking it down to half at most. The step is the number of failed
 * passes over the whole address list; within a pass the next address comes
 * after step 1. Exposed so tests can check the bound. */
int sbs_backoff_ms(struct sbs *s, unsigned step);

/* Monotonic milliseconds, the clock of sbs_service(). */
int64_t sbs_mono_ms(void);

/* ---- de-duplicating redelivered events --------------------------------- */

/* A bounded set of event ids: the last `capacity` ids seen are remembered,
 * older ones are forgotten first (redeliveries come soon after the original,
 * so a window is enough). Memory follows the ids seen, not the capacity: the
 * window starts small and doubles up to it. Owner: the caller, freed with
 * sbs_dedup_free(). */
struct sbs_dedup;
struct sbs_dedup *sbs_dedup_new(size_t capacity);
void sbs_dedup_free(struct sbs_dedup *d);
/* True when event_id was seen before (a duplicate to drop); otherwise
 * remembers it and returns false. An empty or NULL id is never a duplicate. */
bool sbs_dedup_seen(struct sbs_dedup *d, const char *event_id);
size_t sbs_dedup_count(const struct sbs_dedup *d);

#endif

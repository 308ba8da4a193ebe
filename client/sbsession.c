/* sbsession: reconnecting sessions over sbclient (see sbsession.h).
 *
 * The session is a two-state machine, DOWN and UP. DOWN holds the monotonic
 * time of the next attempt; an attempt connects to one address and says
 * Hello. Which address: the leader a NOT_LEADER answer named, else the one
 * that last worked (a restarted daemon comes back where it was), else the
 * next in the list, round robin. The delay grows 50 ms -> 2 s by doubling
 * with "equal jitter" (half fixed, half random), so a crowd of clients that
 * lost the same daemon does not come back in one burst. */
#define _GNU_SOURCE
#include "sbsession.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/strmap.h"
#include "util/xalloc.h"

#define SBS_DEFAULT_CONNECT_MS 2000
#define SBS_DEFAULT_BACKOFF_MIN_MS 50
#define SBS_DEFAULT_BACKOFF_MAX_MS 2000
#define SBS_MAX_ADDRESSES 16
/* NOT_LEADER redirects followed at once before backing off: two daemons
 * that name each other must not make a client spin. */
#define SBS_MAX_QUICK_FOLLOWS 2

struct sbs {
	char **addrs; /* owned, naddrs of them */
	size_t naddrs;
	size_t next;       /* index of the next address to try */
	char *leader_hint; /* NOT_LEADER's leader or the address that last worked; owned */

	Switchboard__V1__Role role;
	char *client_id;
	char *credential;
	bool has_tls;
	struct sbc_tls tls; /* strings owned */

	int connect_timeout_ms, backoff_min_ms, backoff_max_ms;
	unsigned max_failures;
	uint64_t rng;
	sbs_connect_fn on_connect;
	void *arg;

	struct sbc *c; /* NULL while DOWN */
	int64_t next_attempt;
	int64_t ping_period, next_ping;
	unsigned failures, quick_follows;
	unsigned rounds;      /* failed passes over the whole address list */
	unsigned round_tries; /* failed attempts in the current pass */
	unsigned long connections;
	bool fatal;
	char addr[200]; /* current or last tried address */
	char err[512];
};

int64_t sbs_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64, for jitter only. */
static uint64_t sbs_rand(struct sbs *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static char *sbs_strdup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Splits "a,b,c" into owned, trimmed, non-empty addresses. Returns 0 or -1
 * with err. */
static int sbs_parse_addresses(struct sbs *s, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(s->addr)) {
			snprintf(err, errlen, "bad address list '%s': %s", list,
			         len == 0 ? "an empty entry" : "an address is too long");
			return -1;
		}
		if (s->naddrs == SBS_MAX_ADDRESSES) {
			snprintf(err, errlen, "bad address list '%s': more than %d addresses",
			         list, SBS_MAX_ADDRESSES);
			return -1;
		}
		s->addrs[s->naddrs++] = xstrndup(p, len);
		if (comma == NULL)
			break;
		p = comma + 1;
		if (*p == '\0') {
			snprintf(err, errlen, "bad address list '%s': ends with a comma", list);
			return -1;
		}
	}
	if (s->naddrs == 0) {
		snprintf(err, errlen, "empty address list");
		return -1;
	}
	return 0;
}

struct sbs *sbs_new(const struct sbs_config *cfg, char *err, size_t errlen)
{
	struct sbs *s;

	if (cfg->addresses == NULL || cfg->client_id == NULL ||
	    (cfg->role != SWITCHBOARD__V1__ROLE__ROLE_GATEWAY &&
	     cfg->role != SWITCHBOARD__V1__ROLE__ROLE_AGENT)) {
		snprintf(err, errlen, "a session needs addresses, a role and a client id");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->addrs = xcalloc(SBS_MAX_ADDRESSES, sizeof(*s->addrs));
	if (sbs_parse_addresses(s, cfg->addresses, err, errlen) != 0) {
		sbs_free(s);
		return NULL;
	}
	s->role = cfg->role;
	s->client_id = xstrdup(cfg->client_id);
	s->credential = xstrdup(cfg->credential != NULL ? cfg->credential : "");
	if (cfg->tls != NULL) {
		s->has_tls = true;
		s->tls.ca_file = sbs_strdup_or_null(cfg->tls->ca_file);
		s->tls.cert_file = sbs_strdup_or_null(cfg->tls->cert_file);
		s->tls.key_file = sbs_strdup_or_null(cfg->tls->key_file);
		s->tls.server_name = sbs_strdup_or_null(cfg->tls->server_name);
	}
	s->connect_timeout_ms =
	    cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : SBS_DEFAULT_CONNECT_MS;
	s->backoff_min_ms = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : SBS_DEFAULT_BACKOFF_MIN_MS;
	s->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : SBS_DEFAULT_BACKOFF_MAX_MS;
	if (s->backoff_max_ms < s->backoff_min_ms)
		s->backoff_max_ms = s->backoff_min_ms;
	s->rng = cfg->seed != 0 ? cfg->seed
	                        : (uint64_t)sbs_mono_ms() ^ ((uint64_t)getpid() << 32) ^
	                              (uint64_t)(uintptr_t)s;
	s->max_failures = cfg->max_failures;
	s->on_connect = cfg->on_connect;
	s->arg = cfg->arg;
	snprintf(s->addr, sizeof(s->addr), "%s", s->addrs[0]);
	snprintf(s->err, sizeof(s->err), "not connected yet");
	return s;
}

void sbs_free(struct sbs *s)
{
	if (s == NULL)
		return;
	sbc_close(s->c);
	for (size_t i = 0; i < s->naddrs; i++)
		free(s->addrs[i]);
	free(s->addrs);
	free(s->leader_hint);
	free(s->client_id);
	free(s->credential);
	free((char *)s->tls.ca_file);
	free((char *)s->tls.cert_file);
	free((char *)s->tls.key_file);
	free((char *)s->tls.server_name);
	free(s);
}

int sbs_backoff_ms(struct sbs *s, unsigned step)
{
	int64_t d = s->backoff_min_ms;

	for (unsigned i = 1; i < step && d < s->backoff_max_ms; i++)
		d *= 2;
	if (d > s->backoff_max_ms)
		d = s->backoff_max_ms;
	/* Equal jitter: somewhere in [d/2, d]. */
	return (int)(d / 2 + (int64_t)(sbs_rand(s) % (uint64_t)(d - d / 2 + 1)));
}

/* Records a failed attempt and when to try again. The delay doubles per
 * pass over the address list, not per attempt: within a pass the next
 * address is tried after the shortest delay, so a standby that took over is
 * reached about as soon as it serves, while a list of dead daemons is not
 * hammered. */
static void sbs_schedule(struct sbs *s, int64_t now, bool at_once)
{
	unsigned step = 1;

	s->failures++;
	if (s->max_failures > 0 && s->failures >= s->max_failures)
		s->fatal = true;
	if (at_once) {
		s->next_attempt = now;
		return;
	}
	if (++s->round_tries >= s->naddrs) {
		s->round_tries = 0;
		step = ++s->rounds;
	}
	s->next_attempt = now + sbs_backoff_ms(s, step);
}

/* A fresh streak of attempts (after a success or a loss). */
static void sbs_reset_backoff(struct sbs *s)
{
	s->failures = 0;
	s->quick_follows = 0;
	s->rounds = 0;
	s->round_tries = 0;
}

void sbs_lost(struct sbs *s, const char *why)
{
	if (s->c == NULL)
		return;
	snprintf(s->err, sizeof(s->err), "connection to %s lost: %s", s->addr,
	         why != NULL ? why : "closed");
	sbc_close(s->c);
	s->c = NULL;
	/* The daemon that just went away is the likeliest to come back. */
	free(s->leader_hint);
	s->leader_hint = xstrdup(s->addr);
	/* A loss is not a failed attempt: the first retry comes soon. */
	sbs_reset_backoff(s);
	s->next_attempt = sbs_mono_ms() + sbs_backoff_ms(s, 1);
}

void sbs_not_leader(struct sbs *s, const char *leader)
{
	bool named = leader != NULL && leader[0] != '\0' && strcmp(leader, s->addr) != 0;

	if (s->c == NULL)
		return;
	sbs_lost(s, "NOT_LEADER");
	/* sbs_lost pointed the next attempt back here: this daemon said go. */
	free(s->leader_hint);
	s->leader_hint = named ? xstrdup(leader) : NULL;
	if (named)
		s->next_attempt = sbs_mono_ms();
}

/* Sends Hello on c and returns the daemon's answer (Welcome or Error), or
 * NULL with s->err on a timeout or a closed connection. */
static Envelope *sbs_hello(struct sbs *s, struct sbc *c)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
	int64_t end = sbs_mono_ms() + s->connect_timeout_ms;
	Envelope *reply = NULL;

	hello.role = s->role;
	hello.client_id = s->client_id;
	hello.token = s->credential;
	hello.protocol_version = 1;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (sbc_send(c, &env) == 0) {
		snprintf(s->err, sizeof(s->err), "%s: Hello not sent: %s", s->addr,
		         sbc_last_error(c));
		return NULL;
	}
	/* The daemon sends nothing before its answer to Hello. */
	for (;;) {
		int64_t left = end - sbs_mono_ms();
		int r = sbc_recv(c, left > 0 ? (int)left : 0, &reply);

		if (r < 0) {
			snprintf(s->err, sizeof(s->err), "%s: %s", s->addr, sbc_last_error(c));
			return NULL;
		}
		if (r == 0) {
			snprintf(s->err, sizeof(s->err), "%s: no answer to Hello within %d ms",
			         s->addr, s->connect_timeout_ms);
			return NULL;
		}
		if (reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME ||
		    reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_ERROR)
			return reply;
		envelope_free(reply); /* a Pong, say: not the answer */
	}
}

/* Which address the next attempt uses; advances the round robin. */
static void sbs_pick_address(struct sbs *s)
{
	if (s->leader_hint != NULL) {
		snprintf(s->addr, sizeof(s->addr), "%s", s->leader_hint);
		free(s->leader_hint);
		s->leader_hint = NULL;
		return;
	}
	snprintf(s->addr, sizeof(s->addr), "%s", s->addrs[s->next]);
	s->next = (s->next + 1) % s->naddrs;
}

/* A Welcome: the session is up. */
static void sbs_welcomed(struct sbs *s, struct sbc *c, const Envelope *welcome, int64_t now)
{
	uint32_t hb = welcome->welcome->heartbeat_ms ? welcome->welcome->heartbeat_ms : 5000;

	s->c = c;
	sbs_reset_backoff(s);
	s->connections++;
	s->ping_period = hb / 2 > 50 ? hb / 2 : 50;
	s->next_ping = now + s->ping_period;
	s->err[0] = '\0';
	/* The next round starts after this address, so a dead one is left. */
	for (size_t i = 0; i < s->naddrs; i++)
		if (strcmp(s->addrs[i], s->addr) == 0)
			s->next = (i + 1) % s->naddrs;
	if (s->on_connect != NULL)
		s->on_connect(s, welcome, s->arg); /* may call sbs_lost() */
}

/* An Error answered Hello: decides between following, retrying and giving up. */
static void sbs_refused(struct sbs *s, const Switchboard__V1__Error *e, int64_t now)
{
	const char *msg = e->message != NULL ? e->message : "";

	snprintf(s->err, sizeof(s->err), "%s refused Hello: %s: %s", s->addr,
	         sbc_error_code_name((int)e->code), msg);
	switch (e->code) {
	case SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER:
		if (e->leader != NULL && e->leader[0] != '\0' && strcmp(e->leader, s->addr) != 0) {
			free(s->leader_hint);
			s->leader_hint = xstrdup(e->leader);
			s->quick_follows++;
			sbs_schedule(s, now, s->quick_follows <= SBS_MAX_QUICK_FOLLOWS);
			return;
		}
		break;
	case SWITCHBOARD__V1__ERROR_CODE__UNAUTHENTICATED:
	case SWITCHBOARD__V1__ERROR_CODE__FORBIDDEN:
	case SWITCHBOARD__V1__ERROR_CODE__INVALID_ARGUMENT:
		/* Our id or credentials are wrong: the same Hello cannot succeed. */
		s->fatal = true;
		return;
	default:
		break; /* OVERLOADED, STORE_UNAVAILABLE, ...: later may work */
	}
	s->quick_follows = 0;
	sbs_schedule(s, now, false);
}

/* One connect + Hello to the next address. */
static void sbs_attempt(struct sbs *s, int64_t now)
{
	char err[512];
	Envelope *reply;
	struct sbc *c;

	sbs_pick_address(s);
	c = sbc_connect_tls(s->addr, s->connect_timeout_ms, s->has_tls ? &s->tls : NULL, err,
	                    sizeof(err));
	if (c == NULL) {
		snprintf(s->err, sizeof(s->err), "%s", err);
		s->quick_follows = 0;
		sbs_schedule(s, now, false);
		return;
	}
	reply = sbs_hello(s, c);
	now = sbs_mono_ms();
	if (reply != NULL && reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME) {
		sbs_welcomed(s, c, reply, now);
		envelope_free(reply);
		return;
	}
	sbc_close(c);
	if (reply == NULL) {
		s->quick_follows = 0;
		sbs_schedule(s, now, false);
		return;
	}
	sbs_refused(s, reply->error, now);
	envelope_free(reply);
}

enum sbs_status sbs_service(struct sbs *s, int64_t now)
{
	if (s->fatal)
		return SBS_FATAL;
	if (s->c != NULL) {
		if (now >= s->next_ping) {
			s->next_ping = now + s->ping_period;
			if (sbc_ping(s->c) == 0)
				sbs_lost(s, sbc_last_error(s->c));
		}
		return s->c != NULL ? SBS_UP : SBS_WAITING;
	}
	if (now < s->next_attempt)
		return SBS_WAITING;
	sbs_attempt(s, now);
	if (s->fatal)
		return SBS_FATAL;
	return s->c != NULL ? SBS_UP : SBS_WAITING;
}

int64_t sbs_next_wake(const struct sbs *s)
{
	return s->c != NULL ? s->next_ping : s->next_attempt;
}

enum sbs_status sbs_connect(struct sbs *s, int timeout_ms)
{
	int64_t end = sbs_mono_ms() + timeout_ms;

	for (;;) {
		int64_t now = sbs_mono_ms();
		enum sbs_status st = sbs_service(s, now);
		int64_t wake;

		if (st != SBS_WAITING || now >= end)
			return st;
		wake = sbs_next_wake(s) < end ? sbs_next_wake(s) : end;
		if (wake > now) {
			struct timespec ts = {.tv_sec = (wake - now) / 1000,
			                      .tv_nsec = (long)((wake - now) % 1000) * 1000000};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
}

struct sbc *sbs_client(const struct sbs *s)
{
	return s->c;
}

struct sbc *sbs_detach(struct sbs *s)
{
	struct sbc *c = s->c;

	s->c = NULL;
	s->next_attempt = INT64_MAX;
	return c;
}

bool sbs_up(const struct sbs *s)
{
	return s->c != NULL;
}

unsigned long sbs_connections(const struct sbs *s)
{
	return s->connections;
}

unsigned sbs_failures(const struct sbs *s)
{
	return s->failures;
}

const char *sbs_address(const struct sbs *s)
{
	return s->addr;
}

const char *sbs_last_error(const struct sbs *s)
{
	return s->err;
}

const char *sbs_client_id(const struct sbs *s)
{
	return s->client_id;
}

/* ---- de-duplication ------------------------------------------------------ */

/* The ring starts this small and doubles up to the capacity: most sessions
 * see a few events (an agent holds a few contacts at a time), and a load
 * generator with 10 000 of them must not reserve the whole window for each
 * (64 Ki ids x 10 000 sessions was 1.4 GB of sb-load's memory). */
#define SBS_DEDUP_INITIAL 16

/* A ring of the last ids in arrival order, and a map over the same strings
 * for the lookup; the ring owns the strings. */
struct sbs_dedup {
	char **ring;
	size_t size;         /* slots allocated in ring, <= cap */
	size_t cap, head, n; /* the oldest is ring[head] */
	struct strmap set;
};

struct sbs_dedup *sbs_dedup_new(size_t capacity)
{
	struct sbs_dedup *d = xcalloc(1, sizeof(*d));

	d->cap = capacity > 0 ? capacity : 1;
	d->size = d->cap < SBS_DEDUP_INITIAL ? d->cap : SBS_DEDUP_INITIAL;
	d->ring = xcalloc(d->size, sizeof(*d->ring));
	strmap_init(&d->set);
	return d;
}

void sbs_dedup_free(struct sbs_dedup *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ring[(d->head + i) % d->size]);
	free(d->ring);
	strmap_free(&d->set);
	free(d);
}

/* A full ring below the capacity doubles (at most to it), the oldest id
 * moving to slot 0 so the order is kept. */
static void sbs_dedup_grow(struct sbs_dedup *d)
{
	size_t size = d->size * 2 < d->cap ? d->size * 2 : d->cap;
	char **ring = xcalloc(size, sizeof(*ring));

	for (size_t i = 0; i < d->n; i++)
		ring[i] = d->ring[(d->head + i) % d->size];
	free(d->ring);
	d->ring = ring;
	d->size = size;
	d->head = 0;
}

bool sbs_dedup_seen(struct sbs_dedup *d, const char *event_id)
{
	char *copy;

	if (event_id == NULL || event_id[0] == '\0')
		return false;
	if (strmap_get(&d->set, event_id) != NULL)
		return true;
	if (d->n == d->size && d->size < d->cap)
		sbs_dedup_grow(d);
	if (d->n == d->cap) {
		/* Forget the oldest to make room. */
		strmap_del(&d->set, d->ring[d->head]);
		free(d->ring[d->head]);
		d->ring[d->head] = NULL;
		d->head = (d->head + 1) % d->size;
		d->n--;
	}
	copy = xstrdup(event_id);
	d->ring[(d->head + d->n) % d->size] = copy;
	d->n++;
	strmap_put(&d->set, copy, copy);
	return false;
}

size_t sbs_dedup_count(const struct sbs_dedup *d)
{
	return d->n;
}

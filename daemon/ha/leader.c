/* Leadership: see leader.h. */
#include "ha/leader.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util/err.h"
#include "util/log.h"
#include "store/store.h"
#include "util/xalloc.h"

struct leader {
	struct store *st;
	struct leader_conf conf; /* strings owned below */
	char *node_id, *value;
	struct leader_hooks hooks;
	struct event *timer;
	enum leader_role role;
	bool in_flight;       /* a lease request is out */
	/* The highest epoch seen in Redis. A standby finding the lease free
	 * with a lower epoch than that (Redis lost data) takes it only once it
	 * has stayed free for half a lease (free_since_ms: when first seen so):
	 * the leader renews every third of one and puts its epoch back first. */
	int64_t seen_epoch;
	int64_t free_since_ms;
	/* Monotonic: when the lease request in flight was sent, and until when
	 * the last one granted holds by this daemon's clock (a tenth early:
	 * clocks drift, and Redis's expiry is what a standby goes by). */
	int64_t asked_ms;
	int64_t valid_until_ms;
	char holder[256];     /* the lease value last seen held by another node */
	char holder_gateway[128], holder_agent[128];
};

const char *leader_role_name(enum leader_role r)
{
	switch (r) {
	case LEADER_STANDBY: return "standby";
	case LEADER_RECOVERING: return "recovering";
	case LEADER_LEADER: return "leader";
	}
	return "?";
}

static void leader_arm_in(struct leader *l, int64_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(l->timer, &tv);
}

static void leader_arm(struct leader *l)
{
	leader_arm_in(l, l->conf.lease_ms / 3);
}

/* Reads "<node> <gateway addr> <agent addr>" into the holder fields. */
static void leader_note_holder(struct leader *l, const char *value)
{
	char node[128] = "";

	if (strcmp(value, l->holder) == 0)
		return;
	snprintf(l->holder, sizeof l->holder, "%s", value);
	l->holder_gateway[0] = l->holder_agent[0] = '\0';
	if (sscanf(value, "%127s %127s %127s", node, l->holder_gateway, l->holder_agent) < 1)
		snprintf(node, sizeof node, "?");
	log_info("standby: %s holds the lease (gateways: %s, agents: %s)", node,
		 l->holder_gateway[0] ? l->holder_gateway : "?",
		 l->holder_agent[0] ? l->holder_agent : "?");
}

static void leader_stand_down(struct leader *l)
{
	enum leader_role was = l->role;

	l->role = LEADER_STANDBY;
	store_step_down(l->st);
	if (was != LEADER_STANDBY) {
		metrics_leadership(METRICS_LEADERSHIP_LOST);
		l->hooks.deposed(l->hooks.ctx);
	}
}

static int64_t leader_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void leader_on_lease(void *arg, int err, enum store_lease_status status, const char *info,
			    int64_t epoch)
{
	struct leader *l = arg;

	l->in_flight = false;
	if (err != 0)
		return; /* the store is down: retried when it is back */
	if (epoch > l->seen_epoch)
		l->seen_epoch = epoch;
	metrics_epoch(l->seen_epoch);
	if (status != STORE_LEASE_FREE)
		l->free_since_ms = 0;
	switch (status) {
	case STORE_LEASE_HELD_BY_OTHER:
		if (l->role != LEADER_STANDBY)
			log_warnx("leader: lost the lease to another daemon; standing down");
		leader_note_holder(l, info);
		leader_stand_down(l);
		break;
	case STORE_LEASE_FREE:
		if (l->free_since_ms == 0) {
			log_warnx("standby: the lease is free but redis's epoch (%lld) is below the "
				  "last one seen (%lld): redis lost data; waiting for the leader to "
				  "put it back",
				  (long long)epoch, (long long)l->seen_epoch);
			l->free_since_ms = leader_now_ms();
			/* Asked again at half a lease, not a third. */
			leader_arm_in(l, l->conf.lease_ms / 2);
		}
		break;
	case STORE_LEASE_KEPT:
		l->valid_until_ms = l->asked_ms + l->conf.lease_ms - l->conf.lease_ms / 10;
		break;
	case STORE_LEASE_NEW_TERM:
		l->valid_until_ms = l->asked_ms + l->conf.lease_ms - l->conf.lease_ms / 10;
		/* A term of our own after someone else's (or after a restart):
		 * what this process holds in memory may be stale. The store has
		 * dropped the old term's writes and writes under the new epoch:
		 * the routing state goes, and is loaded again. */
		if (l->role != LEADER_STANDBY) {
			log_warnx("leader: another daemon led in between; reloading");
			l->role = LEADER_STANDBY;
			metrics_leadership(METRICS_LEADERSHIP_LOST);
			l->hooks.deposed(l->hooks.ctx);
		}
		l->holder[0] = '\0';
		l->role = LEADER_RECOVERING;
		metrics_leadership(METRICS_LEADERSHIP_ACQUIRED);
		log_info("leader: took the lease as %s, epoch %s; loading state", l->node_id, info);
		l->hooks.term_started(l->hooks.ctx, info);
		break;
	}
}

void leader_poke(struct leader *l)
{
	bool waited = l->free_since_ms != 0 &&
		      leader_now_ms() - l->free_since_ms >= l->conf.lease_ms / 2;

	if (l->in_flight)
		return;
	if (store_lease(l->st, l->node_id, l->conf.lease_ms, l->value, waited ? 0 : l->seen_epoch,
			leader_on_lease, l) == 0) {
		l->in_flight = true;
		l->asked_ms = leader_now_ms();
	}
}

static void leader_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct leader *l = arg;

	leader_poke(l);
	leader_arm(l);
}

struct leader *leader_new(struct event_base *base, struct store *st, const struct leader_conf *conf,
			  const struct leader_hooks *hooks)
{
	struct leader *l = xcalloc(1, sizeof *l);

	l->st = st;
	l->conf = *conf;
	l->node_id = xstrdup(conf->node_id);
	l->conf.node_id = l->node_id;
	l->value = xasprintf("%s %s %s", conf->node_id, conf->gateway_address, conf->agent_address);
	l->hooks = *hooks;
	l->timer = evtimer_new(base, leader_on_timer, l);
	l->role = LEADER_STANDBY;
	leader_arm(l);
	return l;
}

void leader_free(struct leader *l)
{
	if (l == NULL)
		return;
	event_free(l->timer);
	free(l->node_id);
	free(l->value);
	free(l);
}

void leader_recovered(struct leader *l)
{
	if (l->role != LEADER_RECOVERING)
		return;
	l->role = LEADER_LEADER;
	log_info("leader: serving as %s, epoch %s", l->node_id, store_epoch(l->st));
}

void leader_fenced(struct leader *l)
{
	if (l->role == LEADER_STANDBY)
		return;
	log_warnx("leader: a write was fenced: another daemon took the lease; standing down");
	leader_stand_down(l);
	leader_poke(l);
}

void leader_release(struct leader *l)
{
	if (l->role == LEADER_STANDBY)
		return;
	evtimer_del(l->timer);
	if (store_release(l->st, l->node_id, NULL, NULL) == 0)
		log_info("leader: lease released");
	metrics_leadership(METRICS_LEADERSHIP_RELEASED);
	l->role = LEADER_STANDBY;
}

bool leader_current(const struct leader *l)
{
	return l->role != LEADER_STANDBY && leader_now_ms() < l->valid_until_ms;
}

enum leader_role leader_role(const struct leader *l)
{
	return l->role;
}

const char *leader_holder_address(const struct leader *l, bool gateway)
{
	return gateway ? l->holder_gateway : l->holder_agent;
}

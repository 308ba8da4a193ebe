/* Configuration reload: see reload.h. */
#include "reload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_diff.h"
#include "engine/engine.h"
#include "router/router.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Names of queues, agents, ... listed per kind of change in the reload's
 * line; a roster of hundreds reloaded should not make a page of log. */
#define RELOAD_NAMES_MAX 10

/* Keys the running daemon cannot change without a restart: the new
 * configuration takes the running values (and the operator a warning). */
static void reload_keep_str(char **fresh, char *const *running, const char *key)
{
	if (strcmp(*fresh, *running) == 0)
		return;
	log_warnx("reload: %s changed; it takes effect at the next restart", key);
	/* Copied, not swapped: a reload refused later keeps running whole. */
	free(*fresh);
	*fresh = xstrdup(*running);
}

static void reload_keep_int(int64_t *fresh, const int64_t *running, const char *key)
{
	if (*fresh != *running)
		log_warnx("reload: %s changed; it takes effect at the next restart", key);
	*fresh = *running;
}

static void reload_keep_fixed(struct sb_config *fresh, const struct sb_config *running)
{
	reload_keep_str(&fresh->site, &running->site, "site");
	reload_keep_str(&fresh->gateway_listen, &running->gateway_listen, "listen.gateway");
	reload_keep_str(&fresh->agent_listen, &running->agent_listen, "listen.agent");
	reload_keep_str(&fresh->redis_address, &running->redis_address, "redis.address");
	reload_keep_int(&fresh->redis_connect_timeout_ms, &running->redis_connect_timeout_ms,
			"redis.connect_timeout_ms");
	reload_keep_int(&fresh->redis_command_timeout_ms, &running->redis_command_timeout_ms,
			"redis.command_timeout_ms");
	reload_keep_int(&fresh->redis_reconnect_max_ms, &running->redis_reconnect_max_ms,
			"redis.reconnect_max_ms");
	reload_keep_int(&fresh->events_maxlen, &running->events_maxlen, "redis.events_maxlen");
	reload_keep_int(&fresh->idempotency_ttl_s, &running->idempotency_ttl_s,
			"redis.idempotency_ttl_s");
	reload_keep_int(&fresh->outcome_retention_s, &running->outcome_retention_s,
			"redis.outcome_retention_s");
	reload_keep_str(&fresh->ha_node_id, &running->ha_node_id, "ha.node_id");
	reload_keep_int(&fresh->ha_lease_ms, &running->ha_lease_ms, "ha.lease_ms");
	reload_keep_str(&fresh->ha_advertise_gateway, &running->ha_advertise_gateway,
			"ha.advertise_gateway");
	reload_keep_str(&fresh->ha_advertise_agent, &running->ha_advertise_agent,
			"ha.advertise_agent");
}

static bool reload_has_queue(const struct sb_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_queues; i++)
		if (strcmp(cfg->queues[i].name, name) == 0)
			return true;
	return false;
}

/* Queues the new file drops that still hold contacts (in any state: an
 * assigned contact can still be transferred from its queue): kept, draining. */
struct reload_queue_use {
	const struct sb_config *running, *fresh;
	const struct sb_queue_conf **out;
	size_t n;
};

static void reload_note_queue(void *arg, const struct engine_contact_view *c)
{
	struct reload_queue_use *u = arg;

	if (reload_has_queue(u->fresh, c->queue))
		return;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->out[i]->name, c->queue) == 0)
			return;
	for (size_t i = 0; i < u->running->n_queues; i++)
		if (strcmp(u->running->queues[i].name, c->queue) == 0)
			u->out[u->n++] = &u->running->queues[i];
}

static size_t reload_draining(const struct sb_config *running, const struct sb_config *fresh,
			      const struct engine *e, const struct sb_queue_conf **out)
{
	struct reload_queue_use u = { running, fresh, out, 0 };

	engine_each_contact(e, reload_note_queue, &u);
	return u.n;
}

int reload_config(struct sb_config *running, struct router *r, struct sb_config **installed)
{
	const struct engine *from = router_engine(r);
	struct config_errors errs = { 0 };
	struct sb_config *fresh = NULL;

	*installed = NULL;
	log_info("reload: reading %s", running->path);
	if (config_load(running->path, &fresh, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("reload: %s", errs.msgs[i]);
		log_error("reload refused: %zu error(s); the running configuration stays", errs.n);
		config_errors_clear(&errs);
		return SB_ERR_CONFIG;
	}
	reload_keep_fixed(fresh, running);
	/* After keep_fixed: what needs a restart was warned about above. */
	char *changes = config_diff(running, fresh, RELOAD_NAMES_MAX);

	const struct sb_queue_conf **draining =
		xcalloc(running->n_queues ? running->n_queues : 1, sizeof *draining);
	size_t n_draining = reload_draining(running, fresh, from, draining);
	for (size_t i = 0; i < n_draining; i++)
		log_warnx("reload: queue %s is no longer configured; it serves the %u contact(s) it "
			  "holds and takes no new ones",
			  draining[i]->name, engine_queue_waiting(from, draining[i]->name));
	const char *why = NULL;
	int rc = router_reload(r, fresh, draining, n_draining, &why);
	free(draining);
	if (rc != 0) {
		log_error("reload refused: %s; the running configuration stays", why);
		free(changes);
		config_free(fresh);
		return rc;
	}
	log_info("reload: applied %s: %zu queues, %zu agents; %s", fresh->path, fresh->n_queues,
		 fresh->n_agents, changes[0] != '\0' ? changes : "nothing changed");
	free(changes);
	*installed = fresh;
	return 0;
}

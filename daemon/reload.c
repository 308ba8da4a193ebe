/* Configuration reload: see reload.h. */
#include "reload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "config/config.h"
#include "engine/engine.h"
#include "util/err.h"
#include "util/log.h"
#include "config/config_engine.h"
#include "server.h"
#include "session/contactinfo.h"
#include "sink.h"
#include "util/xalloc.h"

/* The state being moved into the new engine. */
struct reload_move {
	struct server *srv;
	struct engine *from, *to;
	int64_t now;
	size_t contacts;
	const char *failed; /* first refusal; the reload is abandoned */
	char why[256];
};

/* Keys the running daemon cannot change without a restart: the new
 * configuration takes the running values (and the operator a warning). */
static void reload_keep_str(char **fresh, char **running, const char *key)
{
	if (strcmp(*fresh, *running) != 0)
		log_warnx("reload: %s changed; it takes effect at the next restart", key);
	char *t = *fresh;
	*fresh = *running;
	*running = t;
}

static void reload_keep_int(int64_t *fresh, const int64_t *running, const char *key)
{
	if (*fresh != *running)
		log_warnx("reload: %s changed; it takes effect at the next restart", key);
	*fresh = *running;
}

static void reload_keep_fixed(struct sb_config *fresh, struct sb_config *running)
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

/* Agents the new roster drops: refused while they hold contacts. */
struct reload_roster_check {
	const struct engine *to;
	const char *refused;
};

static void reload_check_holder(void *arg, const struct engine_contact_view *c)
{
	struct reload_roster_check *rc = arg;

	if (rc->refused == NULL && c->agent_id != NULL && engine_agent(rc->to, c->agent_id) == NULL)
		rc->refused = c->agent_id;
}

struct reload_wrapup {
	struct engine *to;
	const char *agent_id;
};

static void reload_move_wrapup(void *arg, enum sb_channel ch, int64_t until)
{
	struct reload_wrapup *w = arg;
	engine_restore_wrapup(w->to, w->agent_id, ch, until);
}

static void reload_move_agent(void *arg, const struct engine_agent_view *a)
{
	struct reload_move *m = arg;

	if (m->failed != NULL || !a->logged_in || engine_agent(m->to, a->id) == NULL)
		return;
	engine_restore_agent(m->to, a->id, a->state, a->reason, a->state_since_ms, m->now);
	/* A slot in wrap-up stays taken until the same moment. */
	struct reload_wrapup w = { m->to, a->id };
	engine_agent_each_wrapup(m->from, a->id, reload_move_wrapup, &w);
	/* Connected: routable again at once (restored agents start detached). */
	if (!a->detached)
		engine_agent_attach(m->to, a->id, m->now);
}

static void reload_move_contact(void *arg, const struct engine_contact_view *c)
{
	struct reload_move *m = arg;
	const struct contact_payload *p = c->user;
	struct engine_skill_req skills[CONTACTINFO_MAX_SKILLS];
	struct engine_submit in;
	const char *why = NULL;

	if (m->failed != NULL)
		return;
	/* The new engine gets its own copy; the old one frees its own. */
	Switchboard__V1__SubmitContact *msg = contactinfo_message(p);
	if (msg == NULL) {
		snprintf(m->why, sizeof m->why, "contact %s: its payload cannot be decoded", c->id);
		m->failed = m->why;
		return;
	}
	struct contact_payload *copy = contactinfo_payload_copy(p);
	contactinfo_engine_in(msg, c->queue, c->channel, skills, &in);
	in.id = c->id;
	in.gateway_id = c->gateway_id;
	in.arrived_ms = c->arrived_ms;
	in.deadline_ms = c->deadline_ms;
	in.user = copy;
	struct engine_restore r = {
		.submit = &in,
		.entered_ms = engine_contact_entered_ms(m->from, c->id),
		.sla_breached = c->sla_breached,
		.agent_id = c->state == CONTACT_ASSIGNED ? c->agent_id : NULL,
		.assigned_ms = c->assigned_ms,
		.offer_agent_id = c->state == CONTACT_OFFERED ? c->agent_id : NULL,
		.offer_id = c->offer_id,
		.offer_expires_ms = c->offer_expires_ms,
	};
	int rc = engine_restore_contact(m->to, &r, m->now, &why);
	switchboard__v1__submit_contact__free_unpacked(msg, NULL);
	if (rc != 0) {
		contactinfo_free(NULL, copy);
		snprintf(m->why, sizeof m->why, "contact %s (queue %s) cannot move: %s", c->id,
			 c->queue, why ? why : sb_err_name(rc));
		m->failed = m->why;
		return;
	}
	m->contacts++;
}

int reload_config(struct server *srv)
{
	const struct sb_config *running = server_config(srv);
	struct engine *from = server_engine(srv);
	struct config_errors errs = { 0 };
	struct sb_config *fresh = NULL;

	log_info("reload: reading %s", running->path);
	if (config_load(running->path, &fresh, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("reload: %s", errs.msgs[i]);
		log_error("reload refused: %zu error(s); the running configuration stays", errs.n);
		config_errors_clear(&errs);
		return SB_ERR_CONFIG;
	}
	reload_keep_fixed(fresh, server_config_mutable(srv));

	const struct sb_queue_conf **draining =
		xcalloc(running->n_queues ? running->n_queues : 1, sizeof *draining);
	size_t n_draining = reload_draining(running, fresh, from, draining);
	const char *why = NULL;
	struct engine *to = server_engine_build(srv, fresh, draining, n_draining, &why);
	if (to == NULL) {
		log_error("reload refused: %s; the running configuration stays", why);
		free(draining);
		config_free(fresh);
		return SB_ERR_CONFIG;
	}
	/* Roster changes made over the admin API win over the file. */
	int arc = admin_roster_reapply(server_admin(srv), to, &why);
	struct reload_roster_check rc = { .to = to };
	if (arc == 0)
		engine_each_contact(from, reload_check_holder, &rc);
	if (arc != 0 || rc.refused != NULL) {
		if (arc != 0)
			log_error("reload refused: the admin API's roster changes do not apply: %s; "
				  "the running configuration stays",
				  why);
		else
			log_error("reload refused: agent %s is removed from the roster but holds "
				  "contacts; let it complete them first. The running configuration "
				  "stays",
				  rc.refused);
		engine_free(to);
		free(draining);
		config_free(fresh);
		return SB_ERR_CONFLICT;
	}
	struct reload_move m = { .srv = srv, .from = from, .to = to, .now = server_now_ms(srv) };
	engine_each_agent(from, reload_move_agent, &m);
	engine_each_contact(from, reload_move_contact, &m);
	if (m.failed != NULL) {
		log_error("reload refused: %s; the running configuration stays", m.failed);
		engine_free(to);
		free(draining);
		config_free(fresh);
		return SB_ERR_CONFLICT;
	}
	engine_restore_finish(to, m.now);
	engine_adopt_stats(to, from);
	for (size_t i = 0; i < n_draining; i++)
		log_warnx("reload: queue %s is no longer configured; it serves the %u contact(s) it "
			  "holds and takes no new ones",
			  draining[i]->name, engine_queue_waiting(from, draining[i]->name));
	free(draining);
	log_info("reload: applied %s: %zu queues, %zu agents, %zu contacts carried over",
		 fresh->path, fresh->n_queues, fresh->n_agents, m.contacts);
	server_install(srv, fresh, to);
	admin_roster_reset(server_admin(srv), fresh);
	return 0;
}

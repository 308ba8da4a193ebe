/* A reload's new engine: built for the new configuration, the API's roster
 * changes applied over it, every logged-in agent and every open contact
 * moved in (through the same record -> engine step recovery takes), then
 * installed in place of the old one. Nothing is written: the state is the
 * same, only the rules changed. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "record/record.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/log.h"

struct rebuild {
	struct router *r;
	struct engine *from, *to;
	int64_t now;
	size_t contacts;
	const char *failed; /* the first refusal: the reload is abandoned */
	char why[256];
};

/* An agent the new roster drops may not hold contacts. */
static void rebuild_check_holder(void *arg, const struct engine_contact_view *c)
{
	struct rebuild *m = arg;

	if (m->failed == NULL && c->agent_id != NULL && engine_agent(m->to, c->agent_id) == NULL) {
		snprintf(m->why, sizeof m->why,
			 "agent %s is removed from the roster but holds contacts; let it complete "
			 "them first",
			 c->agent_id);
		m->failed = m->why;
	}
}

struct rebuild_wrapup {
	struct engine *to;
	const char *agent_id;
};

static void rebuild_wrapup(void *arg, enum sb_channel ch, int64_t until)
{
	struct rebuild_wrapup *w = arg;
	engine_restore_wrapup(w->to, w->agent_id, ch, until);
}

static void rebuild_agent(void *arg, const struct engine_agent_view *a)
{
	struct rebuild *m = arg;

	if (m->failed != NULL || !a->logged_in || engine_agent(m->to, a->id) == NULL)
		return;
	engine_restore_agent(m->to, a->id, a->state, a->reason, a->state_since_ms, m->now);
	/* A slot in wrap-up stays taken until the same moment. */
	struct rebuild_wrapup w = { m->to, a->id };
	engine_agent_each_wrapup(m->from, a->id, rebuild_wrapup, &w);
	/* Connected: routable again at once (restored agents start detached). */
	if (!a->detached)
		engine_agent_attach(m->to, a->id, m->now);
}

static void rebuild_contact(void *arg, const struct engine_contact_view *c)
{
	struct rebuild *m = arg;
	const struct record_data *d = c->user;
	struct record_contact rc;
	struct record_engine x;
	const char *why = NULL;

	if (m->failed != NULL)
		return;
	record_contact_of(c, engine_contact_entered_ms(m->from, c->id), &rc);
	if (record_to_engine(&rc, d != NULL ? d->sid : "", &x, &why) != 0) {
		snprintf(m->why, sizeof m->why, "contact %s: %s", c->id, why);
		m->failed = m->why;
		return;
	}
	snprintf(x.data->queue, sizeof x.data->queue, "%s", d != NULL ? d->queue : c->queue);
	if (d != NULL)
		x.data->told = d->told; /* what is still on its way stays so */
	/* A live offer is carried over as it is. */
	if (c->state == CONTACT_OFFERED) {
		x.restore.offer_agent_id = c->agent_id;
		x.restore.offer_id = c->offer_id;
		x.restore.offer_expires_ms = c->offer_expires_ms;
	}
	int rc_ = engine_restore_contact(m->to, &x.restore, m->now, &why);
	if (rc_ == 0)
		x.data = NULL;
	record_engine_done(&x);
	if (rc_ != 0) {
		snprintf(m->why, sizeof m->why, "contact %s (queue %s) cannot move: %s", c->id,
			 c->queue, why ? why : sb_err_name(rc_));
		m->failed = m->why;
		return;
	}
	m->contacts++;
}

int router_reload(struct router *r, const struct sb_config *cfg,
		  const struct sb_queue_conf *const *draining, size_t n_draining,
		  const char **why)
{
	struct rebuild m = { .r = r, .from = r->engine, .now = router_now_ms() };

	m.to = router_build(r, cfg, draining, n_draining, why);
	if (m.to == NULL)
		return SB_ERR_CONFIG;
	/* Roster changes made over the admin API win over the file. */
	if (roster_reapply(r, m.to, why) != 0) {
		engine_free(m.to);
		return SB_ERR_CONFLICT;
	}
	router_enter(r, NULL);
	engine_each_contact(m.from, rebuild_check_holder, &m);
	engine_each_agent(m.from, rebuild_agent, &m);
	engine_each_contact(m.from, rebuild_contact, &m);
	if (m.failed == NULL) {
		engine_restore_finish(m.to, m.now);
		engine_adopt_stats(m.to, m.from);
	}
	router_leave(r);
	if (m.failed != NULL) {
		static char msg[256];
		snprintf(msg, sizeof msg, "%s", m.failed);
		*why = msg;
		engine_free(m.to);
		return SB_ERR_CONFLICT;
	}
	evtimer_del(r->timer);
	r->engine = m.to;
	r->cfg = cfg;
	engine_free(m.from);
	roster_reset(r, cfg);
	log_info("reload: %zu contacts carried over", m.contacts);
	/* Unpauses (when serving) and arms the new engine's timer. */
	router_set_serving(r, r->serving);
	return 0;
}

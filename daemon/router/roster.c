/* The roster as the admin API changed it: the configuration's agents with
 * the API's changes over them. A change is applied to the engine (which
 * validates it) and recorded in the agent's Redis hash (docs/redis.md),
 * answered once Redis has it, and kept over every reload and found again
 * at the next start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "metrics.h"
#include "record/roster.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

static void roster_override_free(struct roster_override *o)
{
	if (o == NULL)
		return;
	roster_agent_free(o->a);
	free(o->id);
	free(o);
}

/* The roster shown: the configuration's, with the API's changes over it. */
static void roster_fill(struct router *r, const struct sb_config *cfg)
{
	const char *k;
	void *v;

	strmap_init(&r->roster);
	for (size_t i = 0; i < cfg->n_agents; i++) {
		struct roster_agent *a = roster_agent_from_conf(&cfg->agents[i]);
		strmap_put(&r->roster, a->id, a);
	}
	for (size_t it = 0; strmap_next(&r->overrides, &it, &k, &v);) {
		const struct roster_override *o = v;
		roster_agent_free(strmap_del(&r->roster, k));
		if (o->a != NULL) {
			struct roster_agent *a = roster_agent_copy(o->a);
			strmap_put(&r->roster, a->id, a);
		}
	}
}

static void roster_free_shown(struct router *r)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&r->roster, &it, &k, &v);)
		roster_agent_free(v);
	strmap_free(&r->roster);
}

void roster_init(struct router *r)
{
	strmap_init(&r->overrides);
	roster_fill(r, r->cfg);
}

void roster_free(struct router *r)
{
	const char *k;
	void *v;

	roster_free_shown(r);
	for (size_t it = 0; strmap_next(&r->overrides, &it, &k, &v);)
		roster_override_free(v);
	strmap_free(&r->overrides);
}

void roster_reset(struct router *r, const struct sb_config *cfg)
{
	roster_free_shown(r);
	roster_fill(r, cfg);
}

const struct roster_agent *router_roster_get(const struct router *r, const char *id)
{
	return strmap_get(&r->roster, id);
}

/* Keeps a as id's definition (a NULL: removed), over the configuration from
 * now on; a is taken. */
static void roster_keep(struct router *r, const char *id, struct roster_agent *a)
{
	struct roster_override *o = xcalloc(1, sizeof *o);

	o->id = xstrdup(id);
	o->a = a != NULL ? roster_agent_copy(a) : NULL;
	roster_override_free(strmap_del(&r->overrides, id));
	strmap_put(&r->overrides, o->id, o);
	roster_agent_free(strmap_del(&r->roster, id));
	if (a != NULL)
		strmap_put(&r->roster, a->id, a);
}

/* Applies a to engine e: added when new, else updated. */
static int roster_apply(struct router *r, struct engine *e, const struct roster_agent *a,
			const char **why)
{
	struct engine_skill_level *skills = xcalloc(a->n_skills + 1, sizeof *skills);
	struct engine_agent_def d;
	int rc;

	roster_agent_def(a, &d, skills);
	router_enter(r, NULL);
	rc = engine_agent(e, a->id) == NULL ? engine_agent_add(e, &d, NULL, why)
					    : engine_agent_update(e, &d, router_now_ms(), why);
	router_leave(r);
	free(skills);
	return rc;
}

static int roster_remove(struct router *r, struct engine *e, const char *id, const char **why)
{
	router_enter(r, NULL);
	int rc = engine_agent_remove(e, id, router_now_ms(), why);
	router_leave(r);
	return rc;
}

int roster_reapply(struct router *r, struct engine *e, const char **why)
{
	const char *k;
	void *v;
	int rc = 0;

	for (size_t it = 0; rc == 0 && strmap_next(&r->overrides, &it, &k, &v);) {
		const struct roster_override *o = v;
		if (o->a != NULL)
			rc = roster_apply(r, e, o->a, why);
		else if (engine_agent(e, k) != NULL)
			rc = roster_remove(r, e, k, why);
	}
	return rc;
}

bool roster_override_json(const struct router *r, const char *agent_id, char **json,
			  bool *removed)
{
	const struct roster_override *o = strmap_get(&r->overrides, agent_id);

	*json = NULL;
	*removed = false;
	if (o == NULL)
		return false;
	if (o->a == NULL)
		*removed = true;
	else
		*json = roster_agent_json(o->a);
	return true;
}

int router_restore_roster(struct router *r, const char *agent_id, const char *json, bool removed,
			  const char **why)
{
	static char err[200];
	int rc;

	if (removed) {
		if (engine_agent(r->engine, agent_id) == NULL)
			return 0;
		rc = roster_remove(r, r->engine, agent_id, why);
		if (rc == 0)
			roster_keep(r, agent_id, NULL);
		return rc;
	}
	struct roster_agent *a = roster_agent_parse(json, strlen(json), err, sizeof err);
	if (a == NULL) {
		*why = err;
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (strcmp(a->id, agent_id) != 0) {
		roster_agent_free(a);
		*why = "the roster definition names another agent";
		return SB_ERR_INVALID_ARGUMENT;
	}
	rc = roster_apply(r, r->engine, a, why);
	if (rc != 0) {
		roster_agent_free(a);
		return rc;
	}
	roster_keep(r, agent_id, a);
	return 0;
}

void router_roster_set(struct router *r, const char *id, struct roster_agent *a, bool create,
		       const struct router_answer *ans)
{
	const char *why = NULL;
	int rc;

	if (r->store != STORE_READY || !r->serving) {
		if (r->serving)
			metrics_store_error(METRICS_STORE_NOT_READY, 1);
		roster_agent_free(a);
		router_answer(ans, r->serving ? SB_ERR_STORE_UNAVAILABLE : SB_ERR_NOT_LEADER,
			      "Redis is unavailable: nothing was changed", NULL);
		return;
	}
	bool known = engine_agent(r->engine, id) != NULL;
	if (create && known) {
		roster_agent_free(a);
		router_answer(ans, SB_ERR_CONFLICT, "already in the roster", NULL);
		return;
	}
	if (!create && !known) {
		roster_agent_free(a);
		router_answer(ans, SB_ERR_NOT_FOUND, "no such agent in the roster", NULL);
		return;
	}
	rc = a != NULL ? roster_apply(r, r->engine, a, &why) : roster_remove(r, r->engine, id, &why);
	if (rc != 0) {
		roster_agent_free(a);
		router_answer(ans, rc, why, NULL);
		return;
	}
	char *json = a != NULL ? roster_agent_json(a) : NULL;
	log_info("admin: agent %s %s the roster", id,
		 a == NULL ? "removed from" : create ? "added to" : "changed in");
	/* In force now; answered once Redis has it. */
	decisions_roster(r, id, json, a == NULL ? "removed" : create ? "created" : "updated", ans);
	free(json);
	roster_keep(r, id, a);
}

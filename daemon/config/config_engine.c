/* Builds a routing engine from the configuration (see config_engine.h). */
#include "config/config_engine.h"

#include <stdlib.h>

#include "config/config.h"
#include "util/err.h"
#include "util/xalloc.h"

/* The engine's settings: the channels and the routing section. */
static void config_engine_conf(const struct sb_config *cfg, struct engine_conf *ec)
{
	for (int ch = 0; ch < SB_CH_COUNT; ch++) {
		const struct sb_channel_conf *c = &cfg->channels[ch];
		ec->channels[ch] = (struct engine_channel_conf){
			.sla_ms = c->sla_ms,
			.offer_timeout_ms = c->offer_timeout_ms,
			.wrapup_ms = c->wrapup_ms,
			.capacity = c->capacity,
			.exclusive = c->exclusive,
			.auto_accept = c->auto_accept,
		};
	}
	ec->reject_delay_ms = cfg->reject_delay_ms;
	ec->max_no_answer = (int)cfg->max_no_answer;
	ec->transfer_boost_ms = cfg->transfer_boost_ms;
	ec->stats_window_ms = cfg->stats_window_ms;
}

/* A step's start in ms: after_pct is a share of the queue's threshold. */
static int64_t config_engine_step_after(const struct sb_config *cfg, const struct sb_queue_conf *q,
					const struct sb_step_conf *s)
{
	int64_t sla = q->sla_ms ? q->sla_ms : cfg->channels[q->channel].sla_ms;
	return s->after_pct > 0 ? sla * s->after_pct / 100 : s->after_ms;
}

/* Adds one configured queue, with its skills, strategy and steps. */
static int config_engine_queue(struct engine *e, const struct sb_config *cfg,
			       const struct sb_queue_conf *q, const char **why)
{
	struct engine_skill_req *reqs = xcalloc(q->n_skills + 1, sizeof *reqs);
	struct engine_step steps[ENGINE_MAX_STEPS];
	/* config validation caps steps at ENGINE_MAX_STEPS; stay inside steps[] anyway */
	size_t n_steps = q->n_steps;
	if (n_steps > ENGINE_MAX_STEPS)
		n_steps = ENGINE_MAX_STEPS;

	for (size_t i = 0; i < q->n_skills; i++)
		reqs[i] = (struct engine_skill_req){ q->skills[i].name, q->skills[i].level };
	for (size_t i = 0; i < n_steps; i++) {
		const struct sb_step_conf *s = &q->steps[i];
		steps[i] = (struct engine_step){
			.after_ms = config_engine_step_after(cfg, q, s),
			.skill_relax = s->skill_relax,
			.agent_tiers = (const char *const *)s->agent_tiers,
			.n_agent_tiers = s->n_agent_tiers,
			.add_queue = s->add_queue,
			.overflow = s->overflow,
		};
	}
	int strategy = engine_strategy_parse(q->strategy ? q->strategy : "longest-idle");
	struct engine_queue_def d = {
		.name = q->name,
		.channel = q->channel,
		.skills = reqs,
		.n_skills = q->n_skills,
		.strategy = strategy < 0 ? STRATEGY_LONGEST_IDLE : (enum engine_strategy)strategy,
		.sla_ms = q->sla_ms,
		.target_pct = q->target_pct,
		.agent_tiers = (const char *const *)q->agent_tiers,
		.n_agent_tiers = q->n_agent_tiers,
		.steps = steps,
		.n_steps = n_steps,
		.max_wait_ms = q->max_wait_ms,
		.max_wait_no_agent_ms = q->max_wait_no_agent_ms,
		.overflow = q->overflow,
	};
	int rc = engine_queue_add(e, &d, why);
	free(reqs);
	return rc;
}

/* One roster entry as the engine takes it; d points into cfg and scratch. */
void config_engine_agent_def(const struct sb_config *cfg, size_t i, struct engine_agent_def *d,
			     struct engine_skill_level *scratch)
{
	const struct sb_agent_conf *a = &cfg->agents[i];

	for (size_t k = 0; k < a->n_skills; k++)
		scratch[k] = (struct engine_skill_level){ a->skills[k].name, a->skills[k].level };
	*d = (struct engine_agent_def){
		.id = a->id,
		.tier = a->tier,
		.skills = scratch,
		.n_skills = a->n_skills,
		.queues = (const char *const *)a->queues,
		.n_queues = a->n_queues,
	};
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		d->capacity[ch] = a->capacity[ch];
}

/* The engine a start-up builds: no draining queues. */
struct engine *config_engine_new(const struct sb_config *cfg, const struct engine_sink *sink,
				 void *sink_ctx, const char *offer_prefix, bool check_invariants,
				 const char **why)
{
	return config_engine_new_draining(cfg, NULL, 0, sink, sink_ctx, offer_prefix,
					  check_invariants, why);
}

/* Tiers, then queues (configured, then draining), then the roster: engine.h's order. */
struct engine *config_engine_new_draining(const struct sb_config *cfg,
					  const struct sb_queue_conf *const *draining,
					  size_t n_draining, const struct engine_sink *sink,
					  void *sink_ctx, const char *offer_prefix,
					  bool check_invariants, const char **why)
{
	struct engine_conf ec = { 0 };

	config_engine_conf(cfg, &ec);
	ec.offer_prefix = offer_prefix;
	ec.check_invariants = check_invariants;
	struct engine *e = engine_new(&ec, sink, sink_ctx);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < cfg->n_agent_tiers; i++)
		rc = engine_agent_tier_add(e, cfg->agent_tiers[i], why);
	for (size_t i = 0; rc == 0 && i < cfg->n_customer_tiers; i++) {
		const struct sb_customer_tier_conf *t = &cfg->customer_tiers[i];
		struct engine_customer_tier ct = {
			.name = t->name,
			.sla_factor = t->sla_factor,
			.first_agent_tiers = (const char *const *)t->first_agent_tiers,
			.n_first_agent_tiers = t->n_first_agent_tiers,
			.widen_after_ms = t->widen_after_ms,
		};
		rc = engine_customer_tier_add(e, &ct, why);
	}
	for (size_t i = 0; rc == 0 && i < cfg->n_queues; i++)
		rc = config_engine_queue(e, cfg, &cfg->queues[i], why);
	for (size_t i = 0; rc == 0 && i < n_draining; i++) {
		/* Only what it needs to serve what it holds: its skills and
		 * strategy; no steps or overflow that could name queues or
		 * tiers the new configuration no longer has. */
		struct sb_queue_conf q = *draining[i];
		q.agent_tiers = NULL;
		q.n_agent_tiers = 0;
		q.steps = NULL;
		q.n_steps = 0;
		q.overflow = NULL;
		rc = config_engine_queue(e, cfg, &q, why);
	}
	if (rc == 0)
		rc = engine_queues_done(e, why);
	for (size_t i = 0; rc == 0 && i < cfg->n_agents; i++) {
		struct engine_skill_level *scratch =
			xcalloc(cfg->agents[i].n_skills + 1, sizeof *scratch);
		struct engine_agent_def d;
		config_engine_agent_def(cfg, i, &d, scratch);
		rc = engine_agent_add(e, &d, NULL, why);
		free(scratch);
	}
	if (rc != 0) {
		engine_free(e);
		return NULL;
	}
	return e;
}

/* Builds a routing engine from the configuration: tiers, queues with their
 * skills, strategies and steps, and the roster. The daemon builds every
 * engine it runs here (at start-up and on each reload), so it routes by the
 * rules the config file describes. The simulator, the benchmark and the
 * scenario tests have their own world descriptions and call engine.h. */
#ifndef SB_CONFIG_ENGINE_H
#define SB_CONFIG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

struct sb_config;

/* Returns a ready engine, or NULL with *why (config validation makes this
 * rare). offer_prefix keeps offer ids unique across restarts. */
struct engine *config_engine_new(const struct sb_config *cfg, const struct engine_sink *sink,
				 void *sink_ctx, const char *offer_prefix, bool check_invariants,
				 const char **why);

/* The same, plus queues a reloaded configuration removed but that still
 * hold contacts: they keep serving those (with their skills and strategy,
 * without steps or overflow) and take no new ones. */
struct sb_queue_conf;
struct engine *config_engine_new_draining(const struct sb_config *cfg,
					  const struct sb_queue_conf *const *draining,
					  size_t n_draining, const struct engine_sink *sink,
					  void *sink_ctx, const char *offer_prefix,
					  bool check_invariants, const char **why);

/* The engine definition of one roster entry; skills point into scratch,
 * which must hold cfg agent's n_skills entries. */
void config_engine_agent_def(const struct sb_config *cfg, size_t i, struct engine_agent_def *d,
			     struct engine_skill_level *scratch);

#endif

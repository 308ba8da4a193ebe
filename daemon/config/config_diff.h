/* What changed between two loaded configurations, for the reload's log
 * line: list items (customer tiers, gateways, queues, agents) added,
 * removed or changed, by their identity; every other key by its path.
 * Compared through the config table, so a new key is covered without a
 * line here. Values are never shown (secrets are among them). */
#ifndef SB_CONFIG_DIFF_H
#define SB_CONFIG_DIFF_H

#include <stddef.h>

struct sb_config;

/* A new string (the caller frees it) such as
 *   "gateways changed pbx1; queues added vip-q, removed old-q, changed
 *   support; agents added dave; settings changed routing.reject_delay_ms"
 * in table order, settings last; "" when from and to are the same. Each
 * list of names stops after max_names, then says "and N more". */
char *config_diff(const struct sb_config *from, const struct sb_config *to, size_t max_names);

#endif

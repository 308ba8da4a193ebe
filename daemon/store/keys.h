/* Redis key names. Every key carries the site as a hash tag, sb:{site}:...,
 * so one site's keys live on one Redis Cluster slot and multi-key scripts
 * stay legal. The layout is documented in docs/redis.md. */
#ifndef SB_STORE_KEYS_H
#define SB_STORE_KEYS_H

/* Each returns a new string (free()). */
char *keys_contact(const char *site, const char *contact_id); /* hash */
char *keys_contact_prefix(const char *site);                  /* "sb:{site}:contact:" */
char *keys_queue(const char *site, const char *queue);        /* zset by deadline */
char *keys_agent(const char *site, const char *agent_id);     /* hash */
char *keys_external(const char *site, const char *gateway_id, const char *external_id);
char *keys_events(const char *site);                          /* stream */
char *keys_open(const char *site);   /* set: ids of contacts not finished */
char *keys_leader(const char *site); /* string with a TTL: the leader lease */
char *keys_epoch(const char *site);  /* integer: the fencing epoch */
char *keys_roster(const char *site); /* set: agents changed over the admin API */

#endif

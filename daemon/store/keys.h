/* Redis key names. Every key carries the site as a hash tag, sb:{site}:...,
 * so one site's keys live on one Redis Cluster slot and multi-key scripts
 * stay legal. The layout is documented in docs/redis.md. Each function
 * returns a new string (free()). */
#ifndef SB_STORE_KEYS_H
#define SB_STORE_KEYS_H

/* Prefixes: the key is the prefix followed by the id. */
char *keys_contact_prefix(const char *site); /* + contact id: hash */
char *keys_queue_prefix(const char *site);   /* + queue name: zset by deadline */
char *keys_agent_prefix(const char *site);   /* + agent id: hash */
/* + "<gateway>:<external id>": the contact id given to it (string). Gateway
 * ids cannot contain ':' (config validates them), so the first ':' after
 * the gateway id ends it whatever the external id holds. */
char *keys_external_prefix(const char *site);

char *keys_events(const char *site); /* stream */
char *keys_open(const char *site);   /* set: ids of contacts not finished */
char *keys_leader(const char *site); /* string with a TTL: the leader lease */
char *keys_epoch(const char *site);  /* integer: the fencing epoch */
/* integer: batches Redis has applied; a lower count than the daemon saw
 * acknowledged means Redis lost data */
char *keys_commits(const char *site);
char *keys_roster(const char *site); /* set: agents changed over the admin API */
/* hash: the wallboard's figures of the day, so that they outlive a restart */
char *keys_figures(const char *site);
/* + gateway id: zset of its contacts' outcomes (finished contacts), scored
 * in the order Redis recorded them: what a re-login replays */
char *keys_outcomes_prefix(const char *site);

#endif

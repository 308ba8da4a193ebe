/* The daemon's configuration: one YAML file, validated fully at load.
 *
 * Owner: config_load() allocates the whole struct, including every string
 * and array in it; config_free() releases all of it. A running daemon holds
 * exactly one; reload builds a new one and swaps only if it loaded cleanly.
 *
 * Every key is described once, in config_table.c: type, range, default and a
 * one-line doc. That table drives parsing, validation, the annotated example
 * (`switchboard --dump-config`) and the README's reference. */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "channel.h"

/* Per-channel defaults (DESIGN section 2). */
struct sb_channel_conf {
	int64_t sla_ms;           /* answer within this to meet the SLA */
	int64_t offer_timeout_ms; /* an offer not accepted by then is requeued */
	int64_t wrapup_ms;        /* slot stays in wrap-up this long after completion */
	int capacity;             /* default concurrent contacts per agent on this channel */
	bool exclusive;           /* while busy on this channel an agent gets nothing else */
	bool auto_accept;         /* offers become assignments at once (email, social) */
};

/* "billing: 4": a skill and a proficiency level 1..5. */
struct sb_skill_level {
	char *name;
	int level;
};

/* A customer tier, in configured order (first = most important). */
struct sb_customer_tier_conf {
	char *name;
	double sla_factor; /* threshold multiplier: 0.5 halves the SLA (0.05..20) */
	/* only these agent tiers see its contacts at first; empty = all */
	char **first_agent_tiers;
	size_t n_first_agent_tiers;
	int64_t widen_after_ms; /* then every tier does; > 0 with first_agent_tiers */
};

/* One escalation (bullseye) step of a queue. */
struct sb_step_conf {
	int64_t after_ms;   /* since the contact entered the queue; or, when after_pct > 0, */
	int after_pct;      /* this percentage of the queue's SLA threshold */
	int skill_relax;    /* levels subtracted from the queue's skill minimums (0..4) */
	char **agent_tiers; /* agent tiers allowed from this step; empty = unchanged */
	size_t n_agent_tiers;
	char *add_queue; /* agents serving this queue may also take the contact; NULL = none */
	char *overflow;  /* move the contact to this queue (same channel); NULL = none */
};

struct sb_gateway_conf {
	char *id;
	char *secret; /* inline, or read from secret_file at load */
};

struct sb_queue_conf {
	char *name;
	enum sb_channel channel;
	struct sb_skill_level *skills; /* required of agents (minimum levels) */
	size_t n_skills;
	char *strategy;     /* longest-idle (default), most-skilled, least-occupied,
	                       round-robin, fewest-contacts, random */
	int64_t sla_ms;     /* 0: the channel's */
	int target_pct;     /* service-level target, percent (default 80) */
	char **agent_tiers; /* agent tiers allowed; empty = all */
	size_t n_agent_tiers;
	struct sb_step_conf *steps; /* in order of time */
	size_t n_steps;
	int64_t max_wait_ms;          /* 0: no limit */
	int64_t max_wait_no_agent_ms; /* 0: no limit */
	char *overflow;               /* where max-wait contacts go; NULL = they expire */
};

struct sb_agent_conf {
	char *id;
	char *name;
	char *tier; /* an agent tier; when the file has none, the last (lowest), filled
	               in at load so it is never NULL */
	struct sb_skill_level *skills;
	size_t n_skills;
	int capacity[SB_CH_COUNT]; /* 0: the channel's default */
	char **queues;             /* queues served; empty = every queue */
	size_t n_queues;
};

/* TLS on one client port; plain TCP when cert_file is NULL. */
struct sb_tls_conf {
	char *cert_file;      /* PEM certificate chain */
	char *key_file;       /* PEM private key */
	char *client_ca_file; /* verify client certificates against this CA (mutual TLS) */
	bool require_client_cert; /* refuse clients without a certificate */
};

struct sb_config {
	char *path; /* file it was loaded from */

	char *site;      /* Redis hash tag: every key is sb:{site}:... */
	char *log_level; /* error, warn, info, debug */

	char *gateway_listen; /* "host:port", "[::1]:port" or "unix:/path" */
	char *agent_listen;

	char *redis_address; /* "host:port" or "unix:/path" */
	int64_t redis_connect_timeout_ms;
	int64_t redis_command_timeout_ms;
	int64_t redis_reconnect_max_ms; /* backoff cap between reconnect attempts */
	int64_t events_maxlen;          /* approximate cap of the events stream */
	int64_t idempotency_ttl_s;      /* how long (gateway, external_id) is remembered */
	int64_t outcome_retention_s;    /* how long a re-login is told outcomes it missed */

	char *ha_node_id;           /* "" until the daemon names itself */
	int64_t ha_lease_ms;
	char *ha_advertise_gateway; /* "": listen.gateway */
	char *ha_advertise_agent;   /* "": listen.agent */

	int64_t max_frame_bytes;
	int64_t handshake_timeout_ms;
	int64_t output_buffer_max_bytes; /* a client whose unsent output exceeds this is cut off */
	int64_t max_gateway_connections; /* open gateway sessions, all addresses */
	int64_t max_agent_connections;
	int64_t max_connections_per_address; /* either role, from one peer address */
	/* Connections that have not logged in yet (TLS or Hello pending): they
	 * count here, not against the caps above, until their Hello succeeds. */
	int64_t max_unauthenticated;
	int64_t max_unauthenticated_per_address;
	int64_t frames_per_second;  /* per connection, with a burst of as many */
	int64_t max_waiting;        /* waiting contacts in all queues: beyond, OVERLOADED */
	int64_t max_waiting_per_queue;
	int64_t max_attributes;     /* per contact */
	int64_t max_attribute_bytes; /* key + value of one attribute */

	struct sb_tls_conf gateway_tls, agent_tls;
	char *tls_ciphers; /* TLS 1.2 cipher list (TLS 1.3 suites are OpenSSL's defaults) */
	int64_t heartbeat_ms;
	int64_t missed_heartbeats;
	int64_t agent_grace_ms; /* a dropped agent keeps its state this long */
	int64_t drain_ms;       /* SIGTERM waits this long for in-flight store writes */

	char *agent_secret;            /* HMAC key for agent tokens */
	int64_t agent_token_max_ttl_s; /* --mint-token refuses longer lifetimes */

	char *admin_listen;            /* admin HTTP address; "" = no admin server */
	char *admin_token;             /* bearer token for state-changing routes; NULL = none */
	int64_t admin_max_body_bytes;  /* a request body longer than this is refused (413) */
	int64_t admin_max_header_bytes; /* request line + headers */
	int64_t admin_timeout_ms;      /* an admin connection idle this long is closed */
	int64_t admin_request_timeout_ms; /* a whole request must arrive within this */
	int64_t admin_max_connections; /* open admin connections; more wait to be accepted */
	int64_t admin_max_event_streams; /* open wallboard event streams; more are refused */

	/* Origins whose browser pages may open a WebSocket on the agent port
	 * (a request without Origin is not a browser's, and is allowed). */
	char **websocket_allowed_origins;
	size_t n_websocket_allowed_origins;

	int64_t reject_delay_ms;   /* no re-offer to the agent who declined, for this long */
	int64_t max_no_answer;     /* offers timed out in a row before break "no-answer" */
	int64_t transfer_boost_ms; /* deadline boost of a transferred contact */
	int64_t stats_window_ms;   /* rolling window of service-level figures */

	char **agent_tiers; /* ordered, first = most senior; default [senior, regular, trainee] */
	size_t n_agent_tiers;
	struct sb_customer_tier_conf *customer_tiers; /* default [vip, gold, standard] */
	size_t n_customer_tiers;

	struct sb_channel_conf channels[SB_CH_COUNT];

	struct sb_gateway_conf *gateways;
	size_t n_gateways;
	struct sb_queue_conf *queues;
	size_t n_queues;
	struct sb_agent_conf *agents;
	size_t n_agents;
};

/* Collected load errors, each "file:line: message". */
struct config_errors {
	char **msgs;
	size_t n;
};

/* Loads and validates path. On success returns 0 and sets *out. On failure
 * returns SB_ERR_CONFIG and fills errs with every problem found (not only
 * the first); *out is left NULL. */
int config_load(const char *path, struct sb_config **out, struct config_errors *errs);
/* The same from len bytes of YAML in memory (no NUL needed); name stands
 * for the file in messages and is the base of relative secret_file paths.
 * config_load reads the file and calls this: there is one parser. */
int config_load_buffer(const char *name, const char *data, size_t len, struct sb_config **out,
                       struct config_errors *errs);
void config_free(struct sb_config *cfg);
void config_errors_clear(struct config_errors *errs);

/* NULL when id is a valid agent (or gateway) id, else why not. */
const char *config_check_agent_id(const char *id);

/* Lookups used by the daemon; NULL when absent. */
const struct sb_gateway_conf *config_gateway(const struct sb_config *cfg, const char *id);
const struct sb_agent_conf *config_agent(const struct sb_config *cfg, const char *id);
const struct sb_queue_conf *config_queue(const struct sb_config *cfg, const char *name);

/* Writes an annotated YAML document with every key, its default and its doc
 * (the source of config/switchboard.yaml's reference part). */
void config_dump_reference(FILE *out);

#endif

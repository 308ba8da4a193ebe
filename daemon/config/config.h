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
};

struct sb_gateway_conf {
	char *id;
	char *secret; /* inline, or read from secret_file at load */
};

struct sb_queue_conf {
	char *name;
	enum sb_channel channel;
};

struct sb_agent_conf {
	char *id;
	char *name;
};

struct sb_config {
	char *path; /* file it was loaded from */

	char *site;          /* Redis hash tag: every key is sb:{site}:... */
	char *log_level;     /* error, warn, info, debug */

	char *gateway_listen; /* "host:port", "[::1]:port" or "unix:/path" */
	char *agent_listen;

	char *redis_address;           /* "host:port" or "unix:/path" */
	int64_t redis_connect_timeout_ms;
	int64_t redis_command_timeout_ms;
	int64_t redis_reconnect_max_ms; /* backoff cap between reconnect attempts */
	int64_t events_maxlen;          /* approximate cap of the events stream */
	int64_t idempotency_ttl_s;      /* how long (gateway, external_id) is remembered */

	int64_t max_frame_bytes;
	int64_t handshake_timeout_ms;
	int64_t output_buffer_max_bytes; /* a client whose unsent output exceeds this is cut off */
	int64_t heartbeat_ms;
	int64_t missed_heartbeats;

	char *agent_secret;           /* HMAC key for agent tokens */
	int64_t agent_token_max_ttl_s; /* --mint-token refuses longer lifetimes */

	int64_t reject_delay_ms; /* no re-offer to the agent who declined, for this long */

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
void config_free(struct sb_config *cfg);
void config_errors_clear(struct config_errors *errs);

/* Lookups used by the daemon; NULL when absent. */
const struct sb_gateway_conf *config_gateway(const struct sb_config *cfg, const char *id);
const struct sb_agent_conf *config_agent(const struct sb_config *cfg, const char *id);
const struct sb_queue_conf *config_queue(const struct sb_config *cfg, const char *name);

/* Writes an annotated YAML document with every key, its default and its doc
 * (the source of config/switchboard.yaml's reference part). */
void config_dump_reference(FILE *out);

#endif

/* An agent's roster definition as the admin API and Redis carry it: JSON in,
 * JSON out, and the engine's struct engine_agent_def from it.
 *
 * The stored form (field `roster` of sb:{site}:agent:<id>, docs/redis.md) is
 * exactly roster_agent_write's output, and roster_agent_parse reads it back:
 * {"id":"dave","name":"Dave","tier":"regular","skills":{"billing":4},
 *  "capacity":{"chat":2},"queues":["support-chat"]}
 * with capacity listing only channels set explicitly (others: the channel's
 * default) and queues empty meaning every queue.
 *
 * Owner: each function returning a struct roster_agent * hands the caller a
 * new one, released with roster_agent_free. */
#ifndef SB_RECORD_ROSTER_H
#define SB_RECORD_ROSTER_H

#include <stddef.h>

#include "channel.h"

struct jv;
struct json_out;
struct sb_agent_conf;
struct engine_agent_def;
struct engine_skill_level;

#define ROSTER_MAX_SKILLS 256
#define ROSTER_MAX_QUEUES 1024

struct roster_skill {
	char *name;
	int level; /* 1..5 */
};

struct roster_agent {
	char *id;
	char *name;
	char *tier; /* NULL: the lowest tier */
	struct roster_skill *skills;
	size_t n_skills;
	int capacity[SB_CH_COUNT]; /* 0: the channel's default */
	char **queues;             /* empty: every queue */
	size_t n_queues;
};

struct roster_agent *roster_agent_from_conf(const struct sb_agent_conf *a);
struct roster_agent *roster_agent_copy(const struct roster_agent *a);
/* Reads a definition from a JSON object. With base NULL it is a new agent
 * (id required); with base it is a change (PATCH): members present replace
 * base's, `id` must be absent or equal. Checks shapes and ranges; whether the
 * tier and queues exist is the engine's to say. NULL with err on refusal. */
struct roster_agent *roster_agent_from_json(const struct jv *obj, const struct roster_agent *base,
                                            char *err, size_t errlen);
/* The same from JSON text (the stored `roster` field). */
struct roster_agent *roster_agent_parse(const char *json, size_t len, char *err, size_t errlen);
/* Writes the stored form as one JSON object. */
void roster_agent_write(struct json_out *j, const struct roster_agent *a);
/* The same as a string (free()): the agent hash's `roster` field. */
char *roster_agent_json(const struct roster_agent *a);
/* Fills d from a; skills must have room for a->n_skills entries. d points
 * into a and skills. */
void roster_agent_def(const struct roster_agent *a, struct engine_agent_def *d,
                      struct engine_skill_level *skills);
void roster_agent_free(struct roster_agent *a);

#endif

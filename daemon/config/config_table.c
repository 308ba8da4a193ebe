/* Every configuration key: its type, range, default and doc. Parsing,
 * defaults, validation, freeing and the annotated reference are all driven
 * from here, so adding a key is one entry (plus its struct field). */
#include "config/config_table.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "channel.h"
#include "config/config.h"

#define SECOND_MS INT64_C(1000)
#define HOUR_MS (3600 * SECOND_MS)
#define DAY_S INT64_C(86400)
#define DAY_MS (DAY_S * SECOND_MS)

/* Offset and width of a field of struct sb_config. */
#define CFG(member)                                                                                \
	.offset = offsetof(struct sb_config, member),                                              \
	.size = sizeof(((struct sb_config *)NULL)->member)
/* Offset and width of a field of a list item struct. */
#define ITEM(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)NULL)->member)

/* Whether c may appear in a name made of [A-Za-z0-9_-] (plus '.' if dot). */
static int config_table_name_char(char c, int dot)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || (dot && c == '.');
}

/* Whether s is 1..max characters of the name alphabet. */
static int config_table_is_name(const char *s, size_t max, int dot)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!config_table_name_char(s[i], dot))
			return 0;
	return 1;
}

/* The site is embedded in every Redis key's hash tag, so it must not
 * contain braces, colons or spaces. */
static const char *config_table_check_site(const char *v)
{
	return config_table_is_name(v, 32, 0) ? NULL : "must be 1 to 32 of [A-Za-z0-9_-]";
}

/* Ids travel in Hello.client_id, tokens, Redis keys and log lines. */
static const char *config_table_check_id(const char *v)
{
	return config_table_is_name(v, 64, 1) ? NULL : "must be 1 to 64 of [A-Za-z0-9_.-]";
}

const char *config_check_agent_id(const char *id)
{
	return config_table_check_id(id);
}

/* Node ids go into the leader lease value, which is space-separated. */
static const char *config_table_check_optional_id(const char *v)
{
	return v[0] == '\0' ? NULL : config_table_check_id(v);
}

/* Tier names appear in SubmitContact.customer.tier, the wallboard and
 * explanations; short and plain keeps them readable there. */
static const char *config_table_check_tier(const char *v)
{
	return config_table_is_name(v, 32, 1) ? NULL : "must be 1 to 32 of [A-Za-z0-9_.-]";
}

/* Skill names are matched against SubmitContact.required_skills and the
 * admin API's skill edits; one spelling (lower case) avoids "Billing" never
 * matching "billing". */
static const char *config_table_check_skill(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 32)
		return "must be 1 to 32 of [a-z0-9_]";
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_'))
			return "must be 1 to 32 of [a-z0-9_]";
	return NULL;
}

/* An origin as browsers send it (RFC 6454): scheme://host[:port], no path,
 * no trailing slash; compared byte for byte (ASCII case aside) with the
 * Origin header, so anything else could never match. */
static const char *config_table_check_origin(const char *v)
{
	static const char *const bad = "must be http://host[:port] or https://host[:port], with no"
				       " path (an origin as a browser sends it)";
	const char *host;

	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else
		return bad;
	if (*host == '\0' || strlen(v) > 200)
		return bad;
	for (const char *p = host; *p != '\0'; p++)
		if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || (unsigned char)*p <= ' ' ||
		    (unsigned char)*p >= 0x7f)
			return bad;
	return NULL;
}

const char *const config_table_strategies[] = {
    "longest-idle", "most-skilled", "least-occupied", "round-robin", "fewest-contacts",
    "random",       NULL,
};

/* The selection strategies the engine implements (DESIGN 3.3). */
static const char *config_table_check_strategy(const char *v)
{
	for (size_t i = 0; config_table_strategies[i] != NULL; i++)
		if (strcmp(v, config_table_strategies[i]) == 0)
			return NULL;
	return "must be longest-idle, most-skilled, least-occupied, round-robin, "
	       "fewest-contacts or random";
}

/* Accepts exactly the documented names, unlike log_level_parse's aliases,
 * so the file means the same thing to every reader. */
static const char *config_table_check_log_level(const char *v)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(v, names[i]) == 0)
			return NULL;
	return "must be error, warn, info or debug";
}

/* Whether s is a decimal port 1..65535. */
static int config_table_is_port(const char *s)
{
	long port = 0;

	if (*s == '\0' || strlen(s) > 5)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		port = port * 10 + (*s - '0');
	}
	return port >= 1 && port <= 65535;
}

/* "host:port", "[v6addr]:port" or "unix:/absolute/path". Catches typos at
 * load time instead of at bind or connect time, after the daemon started. */
static const char *config_table_check_address(const char *v)
{
	static const char *const bad = "is not \"host:port\", \"[ipv6]:port\" or \"unix:/path\"";
	const char *colon;

	if (strncmp(v, "unix:", 5) == 0) {
		/* sun_path holds 108 bytes including the terminator */
		if (v[5] != '/' || strlen(v + 5) > 107)
			return "must be unix: followed by an absolute path of at most 107 bytes";
		return NULL;
	}
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		if (end == NULL || end == v + 1 || end[1] != ':')
			return bad;
		for (const char *p = v + 1; p < end; p++)
			if (strchr("0123456789abcdefABCDEF:.", *p) == NULL)
				return bad;
		colon = end + 1;
	} else {
		colon = strchr(v, ':');
		if (colon == NULL || colon == v || strchr(colon + 1, ':') != NULL)
			return bad;
		if (colon - v > 253)
			return "has a host name longer than 253 characters";
		for (const char *p = v; p < colon; p++)
			if (!config_table_name_char(*p, 1))
				return bad;
	}
	return config_table_is_port(colon + 1) ? NULL : "has a port outside 1..65535";
}

/* An empty address switches a listener off, or takes a default. */
static const char *config_table_check_optional_address(const char *v)
{
	return v[0] == '\0' ? NULL : config_table_check_address(v);
}

/* An address to listen on: as above, but the host must be numeric, as the
 * listeners bind it without resolving (a name would pass --check-config and
 * then stop the start: under systemd, a restart loop). */
static const char *config_table_check_listen(const char *v)
{
	const char *why = config_table_check_address(v);
	char host[256];
	unsigned char addr[16];
	size_t n;

	if (why != NULL || strncmp(v, "unix:", 5) == 0)
		return why;
	if (v[0] == '[') {
		n = (size_t)(strchr(v, ']') - v - 1);
		memcpy(host, v + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, addr) == 1)
			return NULL;
	} else {
		n = (size_t)(strchr(v, ':') - v);
		memcpy(host, v, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, addr) == 1)
			return NULL;
	}
	return "must listen on a numeric address (127.0.0.1:7400, 0.0.0.0:7400, [::1]:7400) "
	       "or unix:/path, not a host name";
}

/* An empty address switches a listener off. */
static const char *config_table_check_optional_listen(const char *v)
{
	return v[0] == '\0' ? NULL : config_table_check_listen(v);
}

/* The tables stay one entry per few lines, as a reader scans them. */
/* clang-format off */
static const struct config_key config_table_gateway[] = {
	{ .path = "id", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED | CONFIG_IDENTITY,
	  ITEM(struct sb_gateway_conf, id), .check = config_table_check_id, .example = "pbx1",
	  .doc = "the gateway's Hello.client_id; unique; [A-Za-z0-9_.-]{1,64}" },
	{ .path = "secret", .type = CONFIG_SECRET, .flags = CONFIG_REQUIRED,
	  ITEM(struct sb_gateway_conf, secret), .example = "/etc/switchboard/secrets/pbx1.key",
	  .doc = "the shared secret this gateway presents in Hello.token" },
};

/* One escalation step. after_ms and after_pct are CONFIG_ONE_OF: absence
 * of either is meaningful, so they have no defaults. */
static const struct config_key config_table_step[] = {
	{ .path = "after_ms", .type = CONFIG_DURATION, .flags = CONFIG_ONE_OF,
	  ITEM(struct sb_step_conf, after_ms), .unit_ms = 1, .min = 0, .max = 7 * DAY_MS,
	  .example = "30s",
	  .doc = "the step applies this long after the contact entered the queue" },
	{ .path = "after_pct", .type = CONFIG_INT, .flags = CONFIG_ONE_OF,
	  ITEM(struct sb_step_conf, after_pct), .min = 1, .max = 1000, .example = "50",
	  .doc = "or after this percentage of the queue's SLA threshold; set exactly one of the"
		 " two" },
	{ .path = "skill_relax", .type = CONFIG_INT, ITEM(struct sb_step_conf, skill_relax),
	  .min = 0, .max = 4, .def = 0,
	  .doc = "levels taken off the queue's skill minimums from this step" },
	{ .path = "agent_tiers", .type = CONFIG_STRLIST, ITEM(struct sb_step_conf, agent_tiers),
	  .count_offset = offsetof(struct sb_step_conf, n_agent_tiers), .min = 0, .max = 32,
	  .check = config_table_check_tier,
	  .doc = "agent tiers allowed from this step; empty = unchanged" },
	{ .path = "add_queue", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  ITEM(struct sb_step_conf, add_queue), .check = config_table_check_id,
	  .doc = "agents serving this other queue may also take the contact; null = none" },
	{ .path = "overflow", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  ITEM(struct sb_step_conf, overflow), .check = config_table_check_id,
	  .doc = "move the contact to this other queue of the same channel (the last step);"
		 " null = none. A step sets at least one of skill_relax, agent_tiers, add_queue,"
		 " overflow" },
};

static const struct config_list config_list_steps = {
	.items = config_table_step,
	.n_items = sizeof config_table_step / sizeof config_table_step[0],
	.item_size = sizeof(struct sb_step_conf),
	.count_offset = offsetof(struct sb_queue_conf, n_steps),
	.noun = "step",
};

static const struct config_key config_table_queue[] = {
	{ .path = "name", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED | CONFIG_IDENTITY,
	  ITEM(struct sb_queue_conf, name), .check = config_table_check_id,
	  .example = "support-voice",
	  .doc = "what SubmitContact.queue names; unique; [A-Za-z0-9_.-]{1,64}" },
	{ .path = "channel", .type = CONFIG_CHANNEL, .flags = CONFIG_REQUIRED,
	  ITEM(struct sb_queue_conf, channel), .example = "voice",
	  .doc = "the channel it takes: voice, chat, email or social" },
	{ .path = "skills", .type = CONFIG_SKILLS, ITEM(struct sb_queue_conf, skills),
	  .count_offset = offsetof(struct sb_queue_conf, n_skills), .min = 1, .max = 5,
	  .check = config_table_check_skill, .example = "{billing: 3, lang_en: 2}",
	  .doc = "skills agents need, with minimum levels: {name: 1..5}; names [a-z0-9_]{1,32}" },
	{ .path = "strategy", .type = CONFIG_STRING, ITEM(struct sb_queue_conf, strategy),
	  .def_str = "longest-idle", .check = config_table_check_strategy,
	  .doc = "which eligible agent gets the contact: longest-idle, most-skilled,"
		 " least-occupied, round-robin, fewest-contacts or random (ties: agent id)" },
	{ .path = "sla_ms", .type = CONFIG_DURATION, ITEM(struct sb_queue_conf, sla_ms),
	  .unit_ms = 1, .min = 0, .max = 7 * DAY_MS, .def = 0,
	  .doc = "SLA threshold of its contacts; 0 = the channel's" },
	{ .path = "target_pct", .type = CONFIG_INT, ITEM(struct sb_queue_conf, target_pct),
	  .min = 1, .max = 100, .def = 80,
	  .doc = "service-level target: this percentage answered within the threshold" },
	{ .path = "agent_tiers", .type = CONFIG_STRLIST, ITEM(struct sb_queue_conf, agent_tiers),
	  .count_offset = offsetof(struct sb_queue_conf, n_agent_tiers), .min = 0, .max = 32,
	  .check = config_table_check_tier,
	  .doc = "agent tiers allowed (until a step changes it); empty = all" },
	{ .path = "max_wait_ms", .type = CONFIG_DURATION,
	  ITEM(struct sb_queue_conf, max_wait_ms), .unit_ms = 1, .min = 0, .max = 7 * DAY_MS,
	  .def = 0, .doc = "a contact waiting this long expires or overflows; 0 = no limit" },
	{ .path = "max_wait_no_agent_ms", .type = CONFIG_DURATION,
	  ITEM(struct sb_queue_conf, max_wait_no_agent_ms), .unit_ms = 1, .min = 0,
	  .max = 7 * DAY_MS, .def = 0,
	  .doc = "so does one that no logged-in agent could serve for this long; 0 = no limit" },
	{ .path = "overflow", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  ITEM(struct sb_queue_conf, overflow), .check = config_table_check_id,
	  .doc = "where those contacts go: another queue of the same channel; null = they expire" },
	{ .path = "steps", .type = CONFIG_LIST, ITEM(struct sb_queue_conf, steps), .min = 0,
	  .max = 16, .list = &config_list_steps,
	  .doc = "escalation (bullseye), at most 16, in strictly increasing time order" },
};

static const struct config_key config_table_agent[] = {
	{ .path = "id", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED | CONFIG_IDENTITY,
	  ITEM(struct sb_agent_conf, id), .check = config_table_check_id, .example = "alice",
	  .doc = "the agent's Hello.client_id and token subject; unique; [A-Za-z0-9_.-]{1,64}" },
	{ .path = "name", .type = CONFIG_STRING, .flags = CONFIG_DEFAULT_ID,
	  ITEM(struct sb_agent_conf, name), .example = "Alice Smith",
	  .doc = "display name for supervisors; defaults to the id" },
	{ .path = "tier", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  ITEM(struct sb_agent_conf, tier), .check = config_table_check_tier,
	  .example = "senior", .doc = "one of agent_tiers; defaults to the last (lowest)" },
	{ .path = "skills", .type = CONFIG_SKILLS, ITEM(struct sb_agent_conf, skills),
	  .count_offset = offsetof(struct sb_agent_conf, n_skills), .min = 1, .max = 5,
	  .check = config_table_check_skill, .example = "{billing: 4, lang_en: 5}",
	  .doc = "proficiencies: {name: 1..5}; names [a-z0-9_]{1,32}" },
	{ .path = "capacity", .type = CONFIG_CAPACITY, ITEM(struct sb_agent_conf, capacity),
	  .min = 1, .max = 50, .example = "{chat: 2, email: 5}",
	  .doc = "contacts handled at once, per channel: {channel: 1..50}; unset = the channel's" },
	{ .path = "queues", .type = CONFIG_STRLIST, ITEM(struct sb_agent_conf, queues),
	  .count_offset = offsetof(struct sb_agent_conf, n_queues), .min = 0, .max = 0,
	  .check = config_table_check_id, .example = "[support-voice]",
	  .doc = "queues served; empty = every queue" },
};

static const struct config_key config_table_customer_tier[] = {
	{ .path = "name", .type = CONFIG_STRING, .flags = CONFIG_REQUIRED | CONFIG_IDENTITY,
	  ITEM(struct sb_customer_tier_conf, name), .check = config_table_check_tier,
	  .example = "vip",
	  .doc = "what SubmitContact.customer.tier names; unique; [A-Za-z0-9_.-]{1,32}" },
	{ .path = "sla_factor", .type = CONFIG_NUMBER,
	  ITEM(struct sb_customer_tier_conf, sla_factor), .num_min = 0.05, .num_max = 20,
	  .num_def = 1, .doc = "multiplies the SLA threshold: 0.5 halves it" },
	{ .path = "first_agent_tiers", .type = CONFIG_STRLIST,
	  ITEM(struct sb_customer_tier_conf, first_agent_tiers),
	  .count_offset = offsetof(struct sb_customer_tier_conf, n_first_agent_tiers), .min = 0,
	  .max = 32, .check = config_table_check_tier,
	  .doc = "only these agent tiers see its contacts at first; empty = all" },
	{ .path = "widen_after_ms", .type = CONFIG_DURATION,
	  ITEM(struct sb_customer_tier_conf, widen_after_ms), .unit_ms = 1, .min = 0,
	  .max = DAY_MS, .def = 0,
	  .doc = "then every tier the queue allows does; required above 0 with first_agent_tiers" },
};

static const struct config_list config_list_customer_tiers = {
	.items = config_table_customer_tier,
	.n_items = sizeof config_table_customer_tier / sizeof config_table_customer_tier[0],
	.item_size = sizeof(struct sb_customer_tier_conf),
	.count_offset = offsetof(struct sb_config, n_customer_tiers),
	.noun = "customer tier",
};

static const struct config_list config_list_gateways = {
	.items = config_table_gateway,
	.n_items = sizeof config_table_gateway / sizeof config_table_gateway[0],
	.item_size = sizeof(struct sb_gateway_conf),
	.count_offset = offsetof(struct sb_config, n_gateways),
	.noun = "gateway",
};

static const struct config_list config_list_queues = {
	.items = config_table_queue,
	.n_items = sizeof config_table_queue / sizeof config_table_queue[0],
	.item_size = sizeof(struct sb_queue_conf),
	.count_offset = offsetof(struct sb_config, n_queues),
	.noun = "queue",
};

static const struct config_list config_list_agents = {
	.items = config_table_agent,
	.n_items = sizeof config_table_agent / sizeof config_table_agent[0],
	.item_size = sizeof(struct sb_agent_conf),
	.count_offset = offsetof(struct sb_config, n_agents),
	.noun = "agent",
};

/* One channel's section and its six keys; the docs repeat per channel so
 * that every key in the reference explains itself. `name` is pasted into
 * string literals, so it cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define CHANNEL_KEYS(ch, name, sdoc, sla, offer, wrapup, cap, excl)                               \
	{ .path = "channels." name, .type = CONFIG_SECTION, .doc = sdoc },                         \
	{ .path = "channels." name ".sla_ms", .type = CONFIG_DURATION,                             \
	  CFG(channels[ch].sla_ms), .unit_ms = 1, .min = SECOND_MS, .max = 7 * DAY_MS,             \
	  .def = (sla), .doc = "answer within this, counted from arrival, to meet the SLA" },      \
	{ .path = "channels." name ".offer_timeout_ms", .type = CONFIG_DURATION,                   \
	  CFG(channels[ch].offer_timeout_ms), .unit_ms = 1, .min = SECOND_MS, .max = HOUR_MS,      \
	  .def = (offer), .doc = "an offer not accepted by then is requeued, keeping its place" }, \
	{ .path = "channels." name ".wrapup_ms", .type = CONFIG_DURATION,                          \
	  CFG(channels[ch].wrapup_ms), .unit_ms = 1, .min = 0, .max = HOUR_MS, .def = (wrapup),    \
	  .doc = "a completed contact's slot stays in wrap-up this long (or until Ready)" },       \
	{ .path = "channels." name ".capacity", .type = CONFIG_INT, CFG(channels[ch].capacity),    \
	  .min = 1, .max = 50, .def = (cap),                                                       \
	  .doc = "default number of contacts an agent handles at once on this channel" },          \
	{ .path = "channels." name ".exclusive", .type = CONFIG_BOOL,                               \
	  CFG(channels[ch].exclusive), .def = (excl),                                              \
	  .doc = "while busy on this channel an agent is offered nothing else" },                  \
	{ .path = "channels." name ".auto_accept", .type = CONFIG_BOOL,                             \
	  CFG(channels[ch].auto_accept), .def = 0,                                                 \
	  .doc = "an offer becomes an assignment at once, without the agent's AcceptOffer" }
/* NOLINTEND(bugprone-macro-parentheses) */

const struct config_key config_table[] = {
	{ .path = "site", .type = CONFIG_STRING, CFG(site), .def_str = "main",
	  .check = config_table_check_site,
	  .doc = "site name, the hash tag of every Redis key (sb:{site}:...); [A-Za-z0-9_-]{1,32}" },
	{ .path = "log_level", .type = CONFIG_STRING, CFG(log_level), .def_str = "info",
	  .check = config_table_check_log_level,
	  .doc = "lowest severity logged: error, warn, info or debug" },

	{ .path = "listen", .type = CONFIG_SECTION,
	  .doc = "client ports: \"host:port\", \"[ipv6]:port\" or \"unix:/path\"" },
	{ .path = "listen.gateway", .type = CONFIG_STRING, CFG(gateway_listen),
	  .def_str = "127.0.0.1:7400", .check = config_table_check_listen,
	  .doc = "where gateways (telephony, chat, email, social connectors) connect" },
	{ .path = "listen.agent", .type = CONFIG_STRING, CFG(agent_listen),
	  .def_str = "127.0.0.1:7401", .check = config_table_check_listen,
	  .doc = "where agent desktops, softphones and chat consoles connect" },

	{ .path = "redis", .type = CONFIG_SECTION,
	  .doc = "the durable store: acknowledgements wait for Redis" },
	{ .path = "redis.address", .type = CONFIG_STRING, CFG(redis_address),
	  .def_str = "127.0.0.1:6379", .check = config_table_check_address,
	  .doc = "\"host:port\" or \"unix:/path\" (no TLS: loopback, unix socket or a tunnel)" },
	{ .path = "redis.connect_timeout_ms", .type = CONFIG_DURATION,
	  CFG(redis_connect_timeout_ms), .unit_ms = 1, .min = 10, .max = 60 * SECOND_MS,
	  .def = 1000, .doc = "a connection attempt not completed by then is abandoned and retried" },
	{ .path = "redis.command_timeout_ms", .type = CONFIG_DURATION,
	  CFG(redis_command_timeout_ms), .unit_ms = 1, .min = 10, .max = 60 * SECOND_MS,
	  .def = 2000, .doc = "a command not answered by then marks the store unavailable" },
	{ .path = "redis.reconnect_max_ms", .type = CONFIG_DURATION, CFG(redis_reconnect_max_ms),
	  .unit_ms = 1, .min = 10, .max = 60 * SECOND_MS, .def = 1000,
	  .doc = "cap of the backoff between reconnect attempts" },
	{ .path = "redis.events_maxlen", .type = CONFIG_INT, CFG(events_maxlen), .min = 1000,
	  .max = 1000000000, .def = 1000000,
	  .doc = "approximate length cap of the sb:{site}:events stream" },
	{ .path = "redis.idempotency_ttl_s", .type = CONFIG_DURATION, CFG(idempotency_ttl_s),
	  .unit_ms = SECOND_MS, .min = 60, .max = 30 * DAY_S, .def = DAY_S,
	  .doc = "how long a (gateway, external_id) pair is remembered for safe resubmits" },
	{ .path = "redis.outcome_retention_s", .type = CONFIG_DURATION, CFG(outcome_retention_s),
	  .unit_ms = SECOND_MS, .min = 60, .max = 30 * DAY_S, .def = 3600,
	  .doc = "how long a finished contact's outcome is kept for its gateway to be told again "
		 "after a re-login (capped at redis.idempotency_ttl_s)" },

	{ .path = "ha", .type = CONFIG_SECTION,
	  .doc = "active/standby: daemons sharing one Redis elect a leader with a lease; the others "
		 "answer clients NOT_LEADER and take over when it lapses" },
	{ .path = "ha.node_id", .type = CONFIG_STRING, CFG(ha_node_id), .def_str = "",
	  .check = config_table_check_optional_id,
	  .doc = "this daemon's name in the lease, unique per site; empty: <hostname>-<gateway port>" },
	{ .path = "ha.lease_ms", .type = CONFIG_DURATION, CFG(ha_lease_ms), .unit_ms = 1,
	  .min = 300, .max = 60 * SECOND_MS, .def = 3000,
	  .doc = "leader lease, renewed every third of it; a standby takes over at most this long "
		 "after the leader stops renewing" },
	{ .path = "ha.advertise_gateway", .type = CONFIG_STRING, CFG(ha_advertise_gateway),
	  .def_str = "", .check = config_table_check_optional_address,
	  .doc = "the gateway address a standby names in NOT_LEADER; empty: listen.gateway" },
	{ .path = "ha.advertise_agent", .type = CONFIG_STRING, CFG(ha_advertise_agent),
	  .def_str = "", .check = config_table_check_optional_address,
	  .doc = "the agent address a standby names in NOT_LEADER; empty: listen.agent" },

	{ .path = "tls", .type = CONFIG_SECTION,
	  .doc = "TLS 1.2+ on the client ports; a port without cert_file speaks plain TCP" },
	{ .path = "tls.ciphers", .type = CONFIG_STRING, CFG(tls_ciphers),
	  .def_str = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!SHA1",
	  .doc = "TLS 1.2 cipher list (OpenSSL syntax); TLS 1.3 uses OpenSSL's suites" },
	{ .path = "tls.gateway", .type = CONFIG_SECTION, .doc = "the gateway port" },
	{ .path = "tls.gateway.cert_file", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  CFG(gateway_tls.cert_file), .example = "/etc/switchboard/tls/gateway.crt",
	  .doc = "PEM certificate chain; unset = plain TCP (keep it on loopback)" },
	{ .path = "tls.gateway.key_file", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  CFG(gateway_tls.key_file), .example = "/etc/switchboard/tls/gateway.key",
	  .doc = "PEM private key; refused if other users can read or write it (0640, group"
		 " switchboard)" },
	{ .path = "tls.gateway.client_ca_file", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  CFG(gateway_tls.client_ca_file), .example = "/etc/switchboard/tls/gateways-ca.crt",
	  .doc = "mutual TLS: gateway certificates must chain to this CA, and their CN or a DNS"
		 " SAN must equal the gateway id they log in as" },
	{ .path = "tls.gateway.require_client_cert", .type = CONFIG_BOOL,
	  CFG(gateway_tls.require_client_cert), .def = 0,
	  .doc = "refuse gateways that present no certificate (with client_ca_file)" },
	{ .path = "tls.agent", .type = CONFIG_SECTION, .doc = "the agent port" },
	{ .path = "tls.agent.cert_file", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  CFG(agent_tls.cert_file), .example = "/etc/switchboard/tls/agent.crt",
	  .doc = "PEM certificate chain; unset = plain TCP (keep it on loopback)" },
	{ .path = "tls.agent.key_file", .type = CONFIG_STRING, .flags = CONFIG_NULLABLE,
	  CFG(agent_tls.key_file), .example = "/etc/switchboard/tls/agent.key",
	  .doc = "PEM private key; refused if other users can read or write it (0640, group"
		 " switchboard)" },

	{ .path = "limits", .type = CONFIG_SECTION,
	  .doc = "caps on what one client can make the daemon hold" },
	{ .path = "limits.max_frame_bytes", .type = CONFIG_INT, CFG(max_frame_bytes), .min = 256,
	  .max = 16 * 1024 * 1024, .def = 64 * 1024,
	  .doc = "largest frame accepted; a longer length prefix closes the connection" },
	{ .path = "limits.handshake_timeout_ms", .type = CONFIG_DURATION,
	  CFG(handshake_timeout_ms), .unit_ms = 1, .min = 100, .max = 60 * SECOND_MS,
	  .def = 5000, .doc = "a connection that has not completed Hello by then is closed" },
	{ .path = "limits.output_buffer_max_bytes", .type = CONFIG_INT,
	  CFG(output_buffer_max_bytes), .min = 4096, .max = INT64_C(1) << 30,
	  .def = 4 * 1024 * 1024, .doc = "a client whose unsent output exceeds this is cut off" },
	{ .path = "limits.max_gateway_connections", .type = CONFIG_INT,
	  CFG(max_gateway_connections), .min = 1, .max = 1000000, .def = 1024,
	  .doc = "logged-in gateway connections; a Hello beyond is refused with OVERLOADED" },
	{ .path = "limits.max_agent_connections", .type = CONFIG_INT, CFG(max_agent_connections),
	  .min = 1, .max = 1000000, .def = 50000,
	  .doc = "logged-in agent connections; a Hello beyond is refused with OVERLOADED" },
	{ .path = "limits.max_connections_per_address", .type = CONFIG_INT,
	  CFG(max_connections_per_address), .min = 1, .max = 1000000, .def = 5000,
	  .doc = "logged-in connections of either role from one peer address (agents behind NAT"
		 " share one)" },
	{ .path = "limits.max_unauthenticated", .type = CONFIG_INT, CFG(max_unauthenticated),
	  .min = 1, .max = 1000000, .def = 1024,
	  .doc = "open connections, either role, that have not logged in yet (TLS handshake or"
		 " Hello pending); they do not count against the caps above until Hello succeeds."
		 " Beyond it, the oldest that has waited at least 1 s is closed to make room, else"
		 " the new one is refused (OVERLOADED)" },
	{ .path = "limits.max_unauthenticated_per_address", .type = CONFIG_INT,
	  CFG(max_unauthenticated_per_address), .min = 1, .max = 1000000, .def = 128,
	  .doc = "the same from one peer address: beyond it, that address's oldest such"
		 " connection makes room, so idle sockets from one host cannot crowd out others" },
	{ .path = "limits.frames_per_second", .type = CONFIG_INT, CFG(frames_per_second),
	  .min = 1, .max = 1000000, .def = 2000,
	  .doc = "frames a connection may send per second, with a burst of as many; beyond, OVERLOADED" },
	{ .path = "limits.max_waiting", .type = CONFIG_INT, CFG(max_waiting), .min = 1,
	  .max = 100000000, .def = 1000000,
	  .doc = "waiting contacts in all queues; a submit beyond it is answered OVERLOADED" },
	{ .path = "limits.max_waiting_per_queue", .type = CONFIG_INT, CFG(max_waiting_per_queue),
	  .min = 1, .max = 100000000, .def = 200000,
	  .doc = "waiting contacts in one queue; a submit beyond it is answered OVERLOADED" },
	{ .path = "limits.max_attributes", .type = CONFIG_INT, CFG(max_attributes), .min = 0,
	  .max = 1024, .def = 64, .doc = "attributes one contact may carry" },
	{ .path = "limits.max_attribute_bytes", .type = CONFIG_INT, CFG(max_attribute_bytes),
	  .min = 16, .max = 65536, .def = 1024, .doc = "bytes of one attribute, key and value" },

	{ .path = "sessions", .type = CONFIG_SECTION, .doc = "liveness of connected clients" },
	{ .path = "sessions.heartbeat_ms", .type = CONFIG_DURATION, CFG(heartbeat_ms),
	  .unit_ms = 1, .min = 100, .max = 300 * SECOND_MS, .def = 5000,
	  .doc = "heartbeat interval, sent to clients in Welcome" },
	{ .path = "sessions.missed_heartbeats", .type = CONFIG_INT, CFG(missed_heartbeats),
	  .min = 1, .max = 100, .def = 3,
	  .doc = "a session silent this many intervals is closed; its agent stops being routable" },
	{ .path = "sessions.drain_ms", .type = CONFIG_DURATION, CFG(drain_ms), .unit_ms = 1,
	  .min = 0, .max = 5 * 60 * SECOND_MS, .def = 5 * SECOND_MS,
	  .doc = "on SIGTERM the daemon stops accepting, tells every client, and exits once the "
		 "store has acknowledged every write in flight, or after this long" },
	{ .path = "sessions.agent_grace_ms", .type = CONFIG_DURATION, CFG(agent_grace_ms),
	  .unit_ms = 1, .min = 0, .max = HOUR_MS, .def = 30 * SECOND_MS,
	  .doc = "an agent whose session drops (or who was logged in when the daemon restarted) keeps "
		 "its state and contacts this long for its client to come back; then it is logged out "
		 "(0: at once). Its live offer is withdrawn as soon as the session closes" },

	{ .path = "auth", .type = CONFIG_SECTION, .doc = "credentials" },
	{ .path = "auth.agent_secret", .type = CONFIG_SECRET, .flags = CONFIG_REQUIRED,
	  CFG(agent_secret), .example = "/etc/switchboard/secrets/agent.key",
	  .doc = "HMAC-SHA256 key that signs and checks agent tokens" },
	{ .path = "auth.agent_token_max_ttl_s", .type = CONFIG_DURATION,
	  CFG(agent_token_max_ttl_s), .unit_ms = SECOND_MS, .min = 60, .max = 365 * DAY_S,
	  .def = DAY_S, .doc = "longest agent token lifetime that --mint-token will issue" },

	{ .path = "admin", .type = CONFIG_SECTION,
	  .doc = "the admin HTTP API (JSON, /metrics, /healthz, /readyz); docs/admin-api.md" },
	{ .path = "admin.listen", .type = CONFIG_STRING, CFG(admin_listen),
	  .def_str = "127.0.0.1:7402", .check = config_table_check_optional_listen,
	  .doc = "\"host:port\" or \"unix:/path\" of the admin API; \"\" = off. It speaks plain"
		 " HTTP: keep it on loopback or behind a TLS proxy" },
	{ .path = "admin.token", .type = CONFIG_SECRET, CFG(admin_token),
	  .example = "/etc/switchboard/secrets/admin.token",
	  .doc = "bearer token (Authorization: Bearer ...) required by every route that changes"
		 " state; unset = those routes answer 403" },
	{ .path = "admin.max_body_bytes", .type = CONFIG_INT, CFG(admin_max_body_bytes),
	  .min = 256, .max = 16 * 1024 * 1024, .def = 65536,
	  .doc = "a request body longer than this is refused (413)" },
	{ .path = "admin.max_header_bytes", .type = CONFIG_INT, CFG(admin_max_header_bytes),
	  .min = 1024, .max = 1024 * 1024, .def = 16384,
	  .doc = "request line and headers longer than this are refused" },
	{ .path = "admin.timeout_ms", .type = CONFIG_DURATION, CFG(admin_timeout_ms),
	  .unit_ms = 1, .min = 100, .max = 300 * SECOND_MS, .def = 10 * SECOND_MS,
	  .doc = "an admin connection that sends nothing for this long is closed" },
	{ .path = "admin.request_timeout_ms", .type = CONFIG_DURATION,
	  CFG(admin_request_timeout_ms), .unit_ms = 1, .min = 100, .max = 300 * SECOND_MS,
	  .def = 5 * SECOND_MS,
	  .doc = "a connection must send a whole request within this long of connecting or of its"
		 " previous reply, however slowly it trickles, or it is closed (slow clients cannot"
		 " hold the port)" },
	{ .path = "admin.max_connections", .type = CONFIG_INT, CFG(admin_max_connections),
	  .min = 1, .max = 100000, .def = 64,
	  .doc = "open admin connections; at the cap the one that has waited longest (at least"
		 " 1 s) for its next request is closed to make room, else new ones wait in the"
		 " listen backlog" },
	{ .path = "admin.max_event_streams", .type = CONFIG_INT, CFG(admin_max_event_streams),
	  .min = 1, .max = 10000, .def = 16,
	  .doc = "open wallboard event streams (each also holds an admin connection); more are"
		 " refused (503)" },

	{ .path = "websocket", .type = CONFIG_SECTION,
	  .doc = "WebSocket agents (browsers) on the agent port: an HTTP Upgrade (GET) is served"
		 " there beside the TCP framing, over TLS when tls.agent is set" },
	{ .path = "websocket.allowed_origins", .type = CONFIG_STRLIST,
	  CFG(websocket_allowed_origins),
	  .count_offset = offsetof(struct sb_config, n_websocket_allowed_origins), .min = 0,
	  .max = 64, .check = config_table_check_origin,
	  .doc = "browser origins (\"https://desk.example.com\", \"http://127.0.0.1:7402\") whose"
		 " pages may connect; any other Origin is refused (403). A client that sends no"
		 " Origin (not a browser) is allowed: it must still log in with a token" },

	{ .path = "routing", .type = CONFIG_SECTION,
	  .doc = "how offers, unanswered offers, transfers and service levels behave" },
	{ .path = "routing.reject_delay_ms", .type = CONFIG_DURATION, CFG(reject_delay_ms),
	  .unit_ms = 1, .min = 0, .max = HOUR_MS, .def = 5000,
	  .doc = "a contact an agent rejected or let time out is not offered to that agent again"
		 " for this long" },
	{ .path = "routing.max_no_answer", .type = CONFIG_INT, CFG(max_no_answer), .min = 1,
	  .max = 100, .def = 3,
	  .doc = "offers an agent lets time out in a row before it is put on break \"no-answer\"" },
	{ .path = "routing.transfer_boost_ms", .type = CONFIG_DURATION, CFG(transfer_boost_ms),
	  .unit_ms = 1, .min = 0, .max = HOUR_MS, .def = 15 * SECOND_MS,
	  .doc = "a transferred contact's deadline is brought forward by this much" },
	{ .path = "routing.stats_window_ms", .type = CONFIG_DURATION, CFG(stats_window_ms),
	  .unit_ms = 1, .min = 60 * SECOND_MS, .max = 24 * HOUR_MS, .def = 15 * 60 * SECOND_MS,
	  .doc = "service level, waits and counts are reported over this rolling window" },

	{ .path = "agent_tiers", .type = CONFIG_STRLIST, CFG(agent_tiers),
	  .count_offset = offsetof(struct sb_config, n_agent_tiers), .min = 1, .max = 32,
	  .check = config_table_check_tier,
	  .def_items = (const char *const[]){"senior", "regular", "trainee", NULL},
	  .doc = "agent tiers, most senior first; unique; [A-Za-z0-9_.-]{1,32}" },
	{ .path = "customer_tiers", .type = CONFIG_LIST, CFG(customer_tiers), .min = 1, .max = 32,
	  .list = &config_list_customer_tiers,
	  .def_items = (const char *const[]){
		"{name: vip, sla_factor: 0.5, first_agent_tiers: [senior], widen_after_ms: 10s}",
		"{name: gold, sla_factor: 0.8}",
		"{name: standard, sla_factor: 1}",
		NULL},
	  .doc = "customer tiers, most important first; SubmitContact.customer.tier names one" },

	{ .path = "channels", .type = CONFIG_SECTION,
	  .doc = "per-channel defaults; every channel and every key is optional" },
	/* channel, name, doc; sla_ms, offer_timeout_ms, wrapup_ms, capacity, exclusive
	 * (auto_accept is false everywhere by default: an agent confirms each offer) */
	CHANNEL_KEYS(SB_CH_VOICE, "voice", "calls; one at a time by default",
		     30 * SECOND_MS, 15 * SECOND_MS, 10 * SECOND_MS, 1, 1),
	CHANNEL_KEYS(SB_CH_CHAT, "chat", "web and app chats",
		     60 * SECOND_MS, 20 * SECOND_MS, 5 * SECOND_MS, 3, 0),
	CHANNEL_KEYS(SB_CH_EMAIL, "email", "emails, answered within hours",
		     4 * HOUR_MS, 60 * SECOND_MS, 0, 5, 0),
	CHANNEL_KEYS(SB_CH_SOCIAL, "social", "social-media posts and direct messages",
		     HOUR_MS, 30 * SECOND_MS, 0, 3, 0),

	{ .path = "gateways", .type = CONFIG_LIST, CFG(gateways), .min = 1, .list = &config_list_gateways,
	  .doc = "gateways allowed to connect, at least one" },
	{ .path = "queues", .type = CONFIG_LIST, CFG(queues), .min = 0,
	  .list = &config_list_queues,
	  .doc = "routing targets; a channel's first queue is its default, and a channel with"
		 " none gets one named after it (\"voice\", ...)" },
	{ .path = "agents", .type = CONFIG_LIST, CFG(agents), .min = 0,
	  .list = &config_list_agents, .doc = "the roster: who may log in" },
};
/* clang-format on */

const size_t config_table_len = sizeof config_table / sizeof config_table[0];

int config_table_find(const struct config_key *keys, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].path, path) == 0)
			return (int)i;
	return -1;
}

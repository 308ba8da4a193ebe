/* The configuration in force as JSON, for the admin API's GET /v1/config:
 * every key of the table with its current value, nested as in the file,
 * secrets replaced by "<redacted>" (or null when unset). */
#ifndef SB_CONFIG_JSON_H
#define SB_CONFIG_JSON_H

struct json_out;
struct sb_config;

void config_write_json(struct json_out *j, const struct sb_config *cfg);

#endif

/* The Lua scripts that make each multi-key transition atomic in one round
 * trip. Loaded with SCRIPT LOAD on every (re)connect, run with EVALSHA. */
#ifndef SB_STORE_SCRIPTS_H
#define SB_STORE_SCRIPTS_H

enum script_id { SCRIPT_BATCH, SCRIPT_LEASE, SCRIPT_RELEASE, SCRIPT_COUNT };

const char *scripts_source(enum script_id id);
const char *scripts_name(enum script_id id);

#endif

/* The Lua scripts that make each multi-key transition atomic in one round
 * trip. Loaded with SCRIPT LOAD on every (re)connect, run with EVALSHA.
 *
 * Each starts with a Redis 7 shebang: Redis then decides before running a
 * script whether it may write (OOM, MISCONF, READONLY), so a refused batch
 * changes nothing at all instead of failing half-way. */
#ifndef SB_STORE_SCRIPTS_H
#define SB_STORE_SCRIPTS_H

enum script_id {
	SCRIPT_BATCH,   /* a turn's operations */
	SCRIPT_LEASE,   /* take or renew the leader lease */
	SCRIPT_RELEASE, /* give it up at a clean stop */
	SCRIPT_SYNC,    /* read the epoch and the batch counter (after a reconnect) */
	SCRIPT_RESTORE, /* put the epoch, counter and lease back after a data loss */
	SCRIPT_OUTCOMES, /* read a page of a gateway's outcomes (a re-login's replay) */
	SCRIPT_COUNT
};

const char *scripts_source(enum script_id id);
const char *scripts_name(enum script_id id);

#endif

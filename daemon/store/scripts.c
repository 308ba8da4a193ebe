#include "store/scripts.h"

/* submit: idempotent creation of a contact.
 * KEYS: 1 external-id key (hash), 2 new contact's hash, 3 queue zset, 4 events
 * ARGV: 1 contact id, 2 idempotency ttl (s), 3 events maxlen, 4 deadline ms,
 *       5 contact key prefix, 6.. contact hash field/value pairs
 * Returns {1, id} when created, or {0, id, field, value, ...} with the
 * existing contact's hash when (gateway, external_id) was seen before. The
 * existing contact's key is built from the prefix: it carries the same hash
 * tag, so it is on the same slot. */
static const char script_submit[] =
	"local existing = redis.call('HGET', KEYS[1], 'contact')\n"
	"if existing then\n"
	"  local h = redis.call('HGETALL', ARGV[5] .. existing)\n"
	"  local out = {0, existing}\n"
	"  for i = 1, #h do out[#out + 1] = h[i] end\n"
	"  return out\n"
	"end\n"
	"local fields = {}\n"
	"for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end\n"
	"redis.call('HSET', KEYS[2], unpack(fields))\n"
	"redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
	"redis.call('HSET', KEYS[1], 'contact', ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"local h = {}\n"
	"for i = 6, #ARGV, 2 do\n"
	"  if ARGV[i] ~= 'payload' then h[#h + 1] = ARGV[i]; h[#h + 1] = ARGV[i + 1] end\n"
	"end\n"
	"redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'event', 'submitted',\n"
	"           'contact', ARGV[1], unpack(h))\n"
	"return {1, ARGV[1]}\n";

/* write: one state transition of a contact or an agent.
 * KEYS: 1 hash, 2 zset (or any key when ARGV[1] is 'none'), 3 events,
 *       4 the zset a 'move' takes the member out of
 * ARGV: 1 zset op 'add'|'rem'|'move'|'none', 2 member, 3 score, 4 events maxlen,
 *       5 expire the hash after this many seconds (0: never),
 *       6 N, then N hash field/value pairs, then event field/value pairs.
 * Every write sets whole fields, never increments, so replaying a write
 * after a lost connection is harmless. */
static const char script_write[] =
	"local n = tonumber(ARGV[6])\n"
	"if n > 0 then\n"
	"  local h = {}\n"
	"  for i = 7, 6 + 2 * n do h[#h + 1] = ARGV[i] end\n"
	"  redis.call('HSET', KEYS[1], unpack(h))\n"
	"end\n"
	"if ARGV[1] == 'move' then redis.call('ZREM', KEYS[4], ARGV[2]) end\n"
	"if ARGV[1] == 'add' or ARGV[1] == 'move' then\n"
	"  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])\n"
	"elseif ARGV[1] == 'rem' then redis.call('ZREM', KEYS[2], ARGV[2]) end\n"
	"if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[5]) end\n"
	"local ev = {}\n"
	"for i = 7 + 2 * n, #ARGV do ev[#ev + 1] = ARGV[i] end\n"
	"if #ev > 0 then\n"
	"  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ev))\n"
	"end\n"
	"return 1\n";

const char *scripts_source(enum script_id id)
{
	return id == SCRIPT_SUBMIT ? script_submit : script_write;
}

const char *scripts_name(enum script_id id)
{
	return id == SCRIPT_SUBMIT ? "submit" : "write";
}

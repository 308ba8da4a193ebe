#include "store/scripts.h"

/* Fencing, first in every script that changes routing state: the write
 * carries the epoch under which its daemon became leader, and Redis refuses
 * it once another daemon has taken the lease (and so raised the epoch). A
 * deposed leader that wakes up — paused, partitioned — can change nothing.
 * The check and the write are one script, so nothing slips in between. */
#define FENCE(key, arg)                                                                            \
	"if redis.call('GET', " key ") ~= " arg " then\n"                                          \
	"  return redis.error_reply('FENCED epoch ' .. " arg " .. ' is not the current epoch')\n"  \
	"end\n"

/* submit: idempotent creation of a contact.
 * KEYS: 1 external-id key (hash), 2 new contact's hash, 3 queue zset,
 *       4 events, 5 open set, 6 epoch
 * ARGV: 1 epoch, 2 contact id, 3 idempotency ttl (s), 4 events maxlen,
 *       5 deadline ms, 6 contact key prefix, 7.. contact hash field/value pairs
 * Returns {1, id} when created, or {0, id, field, value, ...} with the
 * existing contact's hash when (gateway, external_id) was seen before. The
 * existing contact's key is built from the prefix: it carries the same hash
 * tag, so it is on the same slot. */
static const char script_submit[] =
	FENCE("KEYS[6]", "ARGV[1]")
	"local existing = redis.call('HGET', KEYS[1], 'contact')\n"
	"if existing then\n"
	"  local h = redis.call('HGETALL', ARGV[6] .. existing)\n"
	"  local out = {0, existing}\n"
	"  for i = 1, #h do out[#out + 1] = h[i] end\n"
	"  return out\n"
	"end\n"
	"local fields = {}\n"
	"for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end\n"
	"redis.call('HSET', KEYS[2], unpack(fields))\n"
	"redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])\n"
	"redis.call('SADD', KEYS[5], ARGV[2])\n"
	"redis.call('HSET', KEYS[1], 'contact', ARGV[2])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
	"local h = {}\n"
	"for i = 7, #ARGV, 2 do\n"
	"  if ARGV[i] ~= 'payload' then h[#h + 1] = ARGV[i]; h[#h + 1] = ARGV[i + 1] end\n"
	"end\n"
	"redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'event', 'submitted',\n"
	"           'contact', ARGV[2], unpack(h))\n"
	"return {1, ARGV[2]}\n";

/* write: one state transition of a contact or an agent.
 * KEYS: 1 hash, 2 zset (or any key when ARGV[2] is 'none'), 3 events,
 *       4 the zset a 'move' takes the member out of, 5 the open set (contacts)
 *       or the roster set (agents), 6 epoch
 * ARGV: 1 epoch, 2 zset op 'add'|'rem'|'move'|'none', 3 member, 4 score,
 *       5 events maxlen, 6 expire the hash after this many seconds (0: never),
 *       7 '1' when the contact is finished (leaves the open set), 'r' when an
 *       agent's roster was changed (joins the roster set), else '0', 8 N,
 *       then N hash field/value pairs, then event field/value pairs.
 * Every write sets whole fields, never increments, so replaying a write
 * after a lost connection is harmless. */
static const char script_write[] =
	FENCE("KEYS[6]", "ARGV[1]")
	"local n = tonumber(ARGV[8])\n"
	"if n > 0 then\n"
	"  local h = {}\n"
	"  for i = 9, 8 + 2 * n do h[#h + 1] = ARGV[i] end\n"
	"  redis.call('HSET', KEYS[1], unpack(h))\n"
	"end\n"
	"if ARGV[2] == 'move' then redis.call('ZREM', KEYS[4], ARGV[3]) end\n"
	"if ARGV[2] == 'add' or ARGV[2] == 'move' then\n"
	"  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])\n"
	"elseif ARGV[2] == 'rem' then redis.call('ZREM', KEYS[2], ARGV[3]) end\n"
	"if ARGV[7] == '1' then redis.call('SREM', KEYS[5], ARGV[3])\n"
	"elseif ARGV[7] == 'r' then redis.call('SADD', KEYS[5], ARGV[3]) end\n"
	"if tonumber(ARGV[6]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end\n"
	"local ev = {}\n"
	"for i = 9 + 2 * n, #ARGV do ev[#ev + 1] = ARGV[i] end\n"
	"if #ev > 0 then\n"
	"  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', unpack(ev))\n"
	"end\n"
	"return 1\n";

/* lease: take or renew the leader lease.
 * KEYS: 1 leader (string "<node> <gateway addr> <agent addr>"), 2 epoch
 * ARGV: 1 node id, 2 the epoch this daemon leads under ('0': none),
 *       3 lease ms, 4 the leader value to set
 * Returns {0, value} while another node holds the lease; {1, epoch} when
 * this node keeps leading under its epoch (a renewal, or a lapsed lease
 * nobody else took: nothing was written meanwhile); {2, epoch} when it
 * starts a new term — the epoch is raised, which fences every write of an
 * earlier leader, and this node must reload the state before serving. */
static const char script_lease[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and string.match(cur, '^(%S+)') ~= ARGV[1] then return {0, cur} end\n"
	"local epoch = redis.call('GET', KEYS[2])\n"
	"local status = 1\n"
	"if epoch ~= ARGV[2] then\n"
	"  epoch = tostring(redis.call('INCR', KEYS[2]))\n"
	"  status = 2\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])\n"
	"return {status, epoch}\n";

/* release: give the lease up at a clean stop, so a standby need not wait
 * for it to lapse. KEYS: 1 leader, 2 epoch. ARGV: 1 node id, 2 epoch. */
static const char script_release[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and string.match(cur, '^(%S+)') == ARGV[1] and\n"
	"   redis.call('GET', KEYS[2]) == ARGV[2] then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

const char *scripts_source(enum script_id id)
{
	switch (id) {
	case SCRIPT_SUBMIT: return script_submit;
	case SCRIPT_WRITE: return script_write;
	case SCRIPT_LEASE: return script_lease;
	case SCRIPT_RELEASE: return script_release;
	case SCRIPT_COUNT: break;
	}
	return "";
}

const char *scripts_name(enum script_id id)
{
	static const char *const names[] = { "submit", "write", "lease", "release" };
	return id < SCRIPT_COUNT ? names[id] : "?";
}

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

/* batch: every transition the daemon makes in one turn of its event loop,
 * in one call (group commit). Redis runs a script as one step, so the batch
 * is atomic as a whole, and it pays the call, the argument parsing and the
 * fencing check once instead of once per transition.
 * KEYS: 1 epoch, 2 events stream, 3 open set, 4 roster set
 * ARGV: 1 epoch, 2 events maxlen, 3 idempotency ttl (s), 4 contact key
 *       prefix, then the operations, each as: op ('s' | 'w'), n, then n
 *       arguments:
 *   's' submit, the idempotent creation of a contact: external-id key,
 *       contact key, queue key, contact id, deadline ms, then the contact
 *       hash's field/value pairs, the last of them 'payload' (the packed
 *       SubmitContact, which the 'submitted' event leaves out). Answers {1, id} when created, or
 *       {0, id, field, value, ...} with the existing contact's hash when
 *       (gateway, external_id) was seen within the ttl.
 *   'w' write, one transition of a contact or an agent: hash key, zset op
 *       'add'|'rem'|'move'|'none', zset key, the zset a 'move' takes the
 *       member out of, member, score, expire the hash after this many
 *       seconds (0: never), '1' when the contact is finished (leaves the
 *       open set) or 'r' when an agent's roster was changed (joins the
 *       roster set) or '0', N, then N hash field/value pairs, then the
 *       event's field/value pairs. Answers 1.
 * Answers one reply per operation, in order (an error reply for an
 * operation that failed). Every write sets whole fields,
 * never increments, so replaying one after a lost connection is harmless.
 * Keys other than KEYS[] are built by the daemon with the site's hash tag,
 * so they are on KEYS[1]'s slot. */
static const char script_batch[] =
	FENCE("KEYS[1]", "ARGV[1]")
	"local function submit(a, z)\n"
	"  local ext, id = ARGV[a], ARGV[a + 3]\n"
	"  if not redis.call('SET', ext, id, 'NX', 'EX', ARGV[3]) then\n"
	/* Before 0.2 the external-id key was a hash; honour one still alive. */
	"    local existing = redis.pcall('GET', ext)\n"
	"    if type(existing) == 'table' then existing = redis.call('HGET', ext, 'contact') end\n"
	"    local h = redis.call('HGETALL', ARGV[4] .. existing)\n"
	"    local out = {0, existing}\n"
	"    for i = 1, #h do out[#out + 1] = h[i] end\n"
	"    return out\n"
	"  end\n"
	/* unpack(ARGV, from, to) passes a range of the arguments on without
	 * copying them into a table first: the Lua VM's time is a third of
	 * what Redis spends on a batch. */
	"  redis.call('HSET', ARGV[a + 1], unpack(ARGV, a + 5, z))\n"
	"  redis.call('ZADD', ARGV[a + 2], ARGV[a + 4], id)\n"
	"  redis.call('SADD', KEYS[3], id)\n"
	"  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', 'submitted',\n"
	"             'contact', id, unpack(ARGV, a + 5, z - 2))\n"
	"  return {1, id}\n"
	"end\n"
	"local function write(a, z)\n"
	"  local hk, zop, member, n = ARGV[a], ARGV[a + 1], ARGV[a + 4], tonumber(ARGV[a + 8])\n"
	"  if n > 0 then redis.call('HSET', hk, unpack(ARGV, a + 9, a + 8 + 2 * n)) end\n"
	"  if zop == 'move' then redis.call('ZREM', ARGV[a + 3], member) end\n"
	"  if zop == 'add' or zop == 'move' then\n"
	"    redis.call('ZADD', ARGV[a + 2], ARGV[a + 5], member)\n"
	"  elseif zop == 'rem' then redis.call('ZREM', ARGV[a + 2], member) end\n"
	"  local flag = ARGV[a + 7]\n"
	"  if flag == '1' then redis.call('SREM', KEYS[3], member)\n"
	"  elseif flag == 'r' then redis.call('SADD', KEYS[4], member) end\n"
	"  if tonumber(ARGV[a + 6]) > 0 then redis.call('EXPIRE', hk, ARGV[a + 6]) end\n"
	"  if z >= a + 9 + 2 * n then\n"
	"    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, a + 9 + 2 * n, z))\n"
	"  end\n"
	"  return 1\n"
	"end\n"
	/* One operation's error (a key of the wrong type, say) is that
	 * operation's answer alone; the batch's others still run. */
	"local out, i = {}, 5\n"
	"while i < #ARGV do\n"
	"  local n = tonumber(ARGV[i + 1])\n"
	"  local ok, r = pcall(ARGV[i] == 's' and submit or write, i + 2, i + 1 + n)\n"
	"  if not ok then\n"
	"    r = redis.error_reply(type(r) == 'table' and r.err or tostring(r))\n"
	"  end\n"
	"  out[#out + 1] = r\n"
	"  i = i + 2 + n\n"
	"end\n"
	"return out\n";

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
	case SCRIPT_BATCH: return script_batch;
	case SCRIPT_LEASE: return script_lease;
	case SCRIPT_RELEASE: return script_release;
	case SCRIPT_COUNT: break;
	}
	return "";
}

const char *scripts_name(enum script_id id)
{
	static const char *const names[] = { "batch", "lease", "release" };
	return id < SCRIPT_COUNT ? names[id] : "?";
}

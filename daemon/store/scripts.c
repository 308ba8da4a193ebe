#include "store/scripts.h"

/* Fencing and ordering, first in every batch: the batch carries the epoch
 * under which its daemon became leader and the number of batches Redis has
 * applied before it (sb:{site}:commits). Redis refuses it:
 * - FENCED once another daemon has taken the lease (and so raised the
 *   epoch): a deposed leader that wakes up — paused, partitioned — changes
 *   nothing;
 * - LOST when the epoch is missing or lower: Redis lost what it had
 *   acknowledged (flushed, restarted without its data);
 * - ORDER when the counter differs: a batch sent before this one did not
 *   apply (Redis refused it), so this one must wait for it — or, when
 *   nothing before it failed, Redis lost batches it had applied.
 * The check, the writes and the counter are one script, so nothing slips in
 * between. */
#define BATCH_HEADER                                                                               \
	"local cur = redis.call('MGET', KEYS[1], KEYS[2])\n"                                       \
	"if cur[1] ~= ARGV[1] then\n"                                                              \
	"  if not cur[1] or tonumber(cur[1]) < tonumber(ARGV[1]) then\n"                           \
	"    return redis.error_reply('LOST epoch ' .. tostring(cur[1]) .. ' below ' .. ARGV[1])\n" \
	"  end\n"                                                                                  \
	"  return redis.error_reply('FENCED epoch ' .. ARGV[1] .. ' is not the current epoch')\n"  \
	"end\n"                                                                                    \
	"local commits = tonumber(cur[2] or '0')\n"                                                \
	"if commits ~= tonumber(ARGV[2]) then\n"                                                   \
	"  return redis.error_reply('ORDER ' .. commits .. ' applied, ' .. ARGV[2] .. ' expected')\n" \
	"end\n"

/* batch: every operation the daemon asks for in one turn of its event
 * loop, in one call (group commit). Redis runs a script as one step, so the
 * batch is atomic as a whole, and it pays the call, the argument parsing and
 * the checks once instead of once per operation.
 * KEYS: 1 epoch, 2 commits, 3 events stream, 4 open set, 5 roster set
 * ARGV: 1 epoch, 2 batches applied before this one, 3 events maxlen,
 *       4 idempotency ttl (s), 5 contact key prefix, 6 the transition
 *       number's field, 7 '1' when the writes' transition numbers are to be
 *       checked (some operation may be in Redis already: sent again after
 *       its batch's fate was unknown, or covered by a re-seed's puts), '0'
 *       when none can be (the counter check above proves every batch
 *       before this one applied, and this one never was), then the
 *       operations, each as: op, n, then n arguments:
 *   's' submit, the idempotent creation of a contact: external-id key,
 *       contact key, queue key, contact id, deadline ms, N, N hash
 *       field/value pairs, then the event's pairs. Answers {1, id} when
 *       created, or {0, id, field, value, ...} with the existing contact's
 *       hash when (gateway, external_id) was seen within the ttl.
 *   'c' check, a submit whose answer was lost: external-id key. Answers
 *       {2} when Redis does not have it, else as a duplicate submit.
 *   'w' write, one transition of a contact or an agent: hash key, 'c'
 *       (the hash must exist) or 'a' (an agent's may not yet), its
 *       transition number, zset op 'add'|'rem'|'move'|'none', zset key,
 *       the zset a 'move' takes the member out of, member, score, expire
 *       the hash after this many seconds (0: never), '1' when the contact
 *       is finished (leaves the open set) or 'r' when an agent's roster was
 *       changed (joins the roster set) or '0', the gateway outcomes key
 *       a finished contact joins ('' none), the time of the outcome (Unix
 *       ms) and how long outcomes are kept (ms), N, N field/value pairs
 *       (the number among them), then the event's pairs. Answers 1 when
 *       applied; when checked, 0 when the hash already holds this number
 *       or a later one (a write sent again after a lost connection), -1
 *       when it holds an earlier one or none (data lost: nothing is
 *       written).
 *   'p' put, after a data loss: hash key, zset op 'add'|'rem'|'none', zset
 *       key, member, score, expire, '1' (leaves the open set), 'o' (joins
 *       it), 'r' (joins the roster set) or '0', external-id key or '', N,
 *       N pairs, then the event's pairs. Replaces the hash. Answers 1.
 *   'e' event only: the event's pairs. Answers 1.
 *   'h' hash only, no transition (the wallboard's figures): hash key,
 *       expire after this many seconds, N, N pairs. Replaces the hash.
 *       Answers 1.
 * Answers one reply per operation, in order (an error reply for an
 * operation that failed). Keys other than KEYS[] are built by the daemon
 * with the site's hash tag, so they are on KEYS[1]'s slot. */
static const char script_batch[] =
	"#!lua\n"
	BATCH_HEADER
	"local SEQ, CHECK = ARGV[6], ARGV[7] == '1'\n"
	"local function event(from, to)\n"
	"  if to >= from then\n"
	"    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, from, to))\n"
	"  end\n"
	"end\n"
	"local function existing(ext)\n"
	"  local id = redis.call('GET', ext)\n"
	"  if not id then return {2} end\n"
	"  local h = redis.call('HGETALL', ARGV[5] .. id)\n"
	"  local out = {0, id}\n"
	"  for i = 1, #h do out[#out + 1] = h[i] end\n"
	"  return out\n"
	"end\n"
	/* unpack(ARGV, from, to) passes a range of the arguments on without
	 * copying them into a table first: the Lua VM's time is a third of
	 * what Redis spends on a batch. */
	"local function submit(a, z)\n"
	"  local ext, id = ARGV[a], ARGV[a + 3]\n"
	"  if not redis.call('SET', ext, id, 'NX', 'EX', ARGV[4]) then return existing(ext) end\n"
	"  local n = tonumber(ARGV[a + 5])\n"
	"  redis.call('HSET', ARGV[a + 1], unpack(ARGV, a + 6, a + 5 + 2 * n))\n"
	"  redis.call('ZADD', ARGV[a + 2], ARGV[a + 4], id)\n"
	"  redis.call('SADD', KEYS[4], id)\n"
	"  event(a + 6 + 2 * n, z)\n"
	"  return {1, id}\n"
	"end\n"
	/* A gateway's outcomes: scored by the time of the outcome in
	 * microseconds, and always above the last one, so that the order of
	 * the scores is the order Redis recorded them in (whatever a new
	 * leader's clock says) and each score names one outcome: a re-login
	 * replays exactly what came after a given one. Exact as doubles far
	 * beyond this century (2^53 us). The last score, the trim and the
	 * expiry are done once per gateway per batch (tops), so a batch's
	 * outcomes cost one ZADD each, not four commands. */
	"local tops = {}\n"
	"local function outcome(key, member, at, keep)\n"
	"  local s = tonumber(at) * 1000\n"
	"  local top = tops[key]\n"
	"  local first = top == nil\n"
	"  if first then\n"
	"    local r = redis.call('ZREVRANGE', key, 0, 0, 'WITHSCORES')\n"
	"    top = tonumber(r[2]) or -1\n"
	"    redis.call('ZREMRANGEBYSCORE', key, '-inf',\n"
	"      '(' .. string.format('%.0f', (tonumber(at) - tonumber(keep)) * 1000))\n"
	"  end\n"
	"  if top >= s then s = top + 1 end\n"
	"  tops[key] = s\n"
	"  redis.call('ZADD', key, string.format('%.0f', s), member)\n"
	"  if first then redis.call('PEXPIRE', key, keep) end\n"
	"end\n"
	"local function write(a, z)\n"
	"  local hk = ARGV[a]\n"
	"  if CHECK then\n"
	"    local seq, have = tonumber(ARGV[a + 2]), redis.call('HGET', hk, SEQ)\n"
	"    if have then have = tonumber(have) elseif ARGV[a + 1] == 'a' then have = 0 else have = -1 end\n"
	"    if have >= seq then return 0 end\n"
	"    if have ~= seq - 1 then return -1 end\n"
	"  end\n"
	"  local zop, member, n = ARGV[a + 3], ARGV[a + 6], tonumber(ARGV[a + 13])\n"
	"  if n > 0 then redis.call('HSET', hk, unpack(ARGV, a + 14, a + 13 + 2 * n)) end\n"
	"  if zop == 'move' then redis.call('ZREM', ARGV[a + 5], member) end\n"
	"  if zop == 'add' or zop == 'move' then\n"
	"    redis.call('ZADD', ARGV[a + 4], ARGV[a + 7], member)\n"
	"  elseif zop == 'rem' then redis.call('ZREM', ARGV[a + 4], member) end\n"
	"  local flag = ARGV[a + 9]\n"
	"  if flag == '1' then redis.call('SREM', KEYS[4], member)\n"
	"  elseif flag == 'r' then redis.call('SADD', KEYS[5], member) end\n"
	"  if tonumber(ARGV[a + 8]) > 0 then redis.call('EXPIRE', hk, ARGV[a + 8]) end\n"
	"  if ARGV[a + 10] ~= '' then outcome(ARGV[a + 10], member, ARGV[a + 11], ARGV[a + 12]) end\n"
	"  event(a + 14 + 2 * n, z)\n"
	"  return 1\n"
	"end\n"
	"local function put(a, z)\n"
	"  local hk, zop, member, n = ARGV[a], ARGV[a + 1], ARGV[a + 3], tonumber(ARGV[a + 8])\n"
	"  redis.call('DEL', hk)\n"
	"  if n > 0 then redis.call('HSET', hk, unpack(ARGV, a + 9, a + 8 + 2 * n)) end\n"
	"  if zop == 'add' then redis.call('ZADD', ARGV[a + 2], ARGV[a + 4], member)\n"
	"  elseif zop == 'rem' then redis.call('ZREM', ARGV[a + 2], member) end\n"
	"  local flag = ARGV[a + 6]\n"
	"  if flag == '1' then redis.call('SREM', KEYS[4], member)\n"
	"  elseif flag == 'o' then redis.call('SADD', KEYS[4], member)\n"
	"  elseif flag == 'r' then redis.call('SADD', KEYS[5], member) end\n"
	"  if ARGV[a + 7] ~= '' then redis.call('SET', ARGV[a + 7], member, 'EX', ARGV[4]) end\n"
	"  if tonumber(ARGV[a + 5]) > 0 then redis.call('EXPIRE', hk, ARGV[a + 5]) end\n"
	"  event(a + 9 + 2 * n, z)\n"
	"  return 1\n"
	"end\n"
	"local function hash(a)\n"
	"  local hk, n = ARGV[a], tonumber(ARGV[a + 2])\n"
	"  redis.call('DEL', hk)\n"
	"  if n > 0 then redis.call('HSET', hk, unpack(ARGV, a + 3, a + 2 + 2 * n)) end\n"
	"  redis.call('EXPIRE', hk, ARGV[a + 1])\n"
	"  return 1\n"
	"end\n"
	"local ops = { s = submit, w = write, p = put, h = hash,\n"
	"  c = function(a) return existing(ARGV[a]) end,\n"
	"  e = function(a, z) event(a, z) return 1 end }\n"
	/* One operation's error (a key of the wrong type, say) is that
	 * operation's answer alone; the batch's others still run. */
	"local out, i = {}, 8\n"
	"while i < #ARGV do\n"
	"  local n = tonumber(ARGV[i + 1])\n"
	"  local ok, r = pcall(ops[ARGV[i]], i + 2, i + 1 + n)\n"
	"  if not ok then\n"
	"    r = redis.error_reply(type(r) == 'table' and r.err or tostring(r))\n"
	"  end\n"
	"  out[#out + 1] = r\n"
	"  i = i + 2 + n\n"
	"end\n"
	"redis.call('SET', KEYS[2], commits + 1)\n"
	"return out\n";

/* outcomes: one page of a gateway's outcomes, oldest first, each with its
 * contact's hash (the hash outlives the outcome: it expires after the
 * idempotency ttl, the retention is capped at that).
 * KEYS: 1 the gateway's outcomes zset. ARGV: 1 contact key prefix, 2 the
 * score to start after ('' none), 3 a contact whose outcome to start after
 * ('' none, or not kept: from the oldest), 4 count.
 * Returns {{id, score, {field, value, ...}}, ...}. */
static const char script_outcomes[] =
	"#!lua flags=no-writes\n"
	"local from = '-inf'\n"
	"if ARGV[2] ~= '' then from = '(' .. ARGV[2]\n"
	"elseif ARGV[3] ~= '' then\n"
	"  local s = redis.call('ZSCORE', KEYS[1], ARGV[3])\n"
	"  if s then from = '(' .. s end\n"
	"end\n"
	"local ids = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[4])\n"
	"local out = {}\n"
	"for i = 1, #ids, 2 do\n"
	"  out[#out + 1] = {ids[i], ids[i + 1], redis.call('HGETALL', ARGV[1] .. ids[i])}\n"
	"end\n"
	"return out\n";

/* lease: take or renew the leader lease. Allowed under maxmemory: it is a
 * few bytes, and a leader that cannot renew while Redis is full would hand
 * the site to nobody.
 * KEYS: 1 leader (string "<node> <gateway addr> <agent addr>"), 2 epoch,
 *       3 commits
 * ARGV: 1 node id, 2 the epoch this daemon leads under ('0': none),
 *       3 lease ms, 4 the leader value to set, 5 the lowest epoch at which
 *       a free lease is taken (a standby that saw a higher one than Redis
 *       has now waits: the leader may be putting lost data back)
 * Returns {0, value, epoch} while another node holds the lease; {1, epoch,
 * commits} when this node keeps leading under its epoch (a renewal, or a
 * lapsed lease nobody else took: nothing was written meanwhile); {2, epoch,
 * commits} when it starts a new term — the epoch is raised, which fences
 * every write of an earlier leader, and this node must reload the state
 * before serving; {3, epoch, commits} when Redis no longer has this node's
 * epoch (it lost data: the daemon puts it back); {4, '', epoch} when the
 * lease is free and was not taken. */
static const char script_lease[] =
	"#!lua flags=allow-oom\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"local holder = cur and string.match(cur, '^(%S+)')\n"
	"local epoch = redis.call('GET', KEYS[2])\n"
	"local commits = redis.call('GET', KEYS[3]) or '0'\n"
	"local ours = tonumber(ARGV[2])\n"
	"if ours > 0 and (not epoch or tonumber(epoch) < ours) then return {3, ARGV[2], commits} end\n"
	"if holder and holder ~= ARGV[1] then return {0, cur, epoch or '0'} end\n"
	"if ours > 0 and epoch == ARGV[2] then\n"
	"  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])\n"
	"  return {1, epoch, commits}\n"
	"end\n"
	"if not holder and tonumber(epoch or '0') < tonumber(ARGV[5]) then\n"
	"  return {4, '', epoch or '0'}\n"
	"end\n"
	"epoch = tostring(redis.call('INCR', KEYS[2]))\n"
	"redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])\n"
	"return {2, epoch, commits}\n";

/* release: give the lease up at a clean stop, so a standby need not wait
 * for it to lapse. KEYS: 1 leader, 2 epoch. ARGV: 1 node id, 2 epoch. */
static const char script_release[] =
	"#!lua flags=allow-oom\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and string.match(cur, '^(%S+)') == ARGV[1] and\n"
	"   redis.call('GET', KEYS[2]) == ARGV[2] then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* sync: where Redis stands after a reconnect, before anything is sent
 * again. KEYS: 1 epoch, 2 commits. Returns {epoch or '', commits}. */
static const char script_sync[] =
	"#!lua flags=no-writes\n"
	"local cur = redis.call('MGET', KEYS[1], KEYS[2])\n"
	"return {cur[1] or '', cur[2] or '0'}\n";

/* restore: after a data loss, this daemon's epoch, batch counter and lease
 * go back, unless another daemon has raised the epoch meanwhile (FENCED).
 * KEYS: 1 epoch, 2 commits, 3 leader. ARGV: 1 epoch, 2 commits, 3 the
 * leader value, 4 lease ms. */
static const char script_restore[] =
	"#!lua flags=allow-oom\n"
	"local epoch = redis.call('GET', KEYS[1])\n"
	"if epoch and tonumber(epoch) > tonumber(ARGV[1]) then\n"
	"  return redis.error_reply('FENCED epoch ' .. ARGV[1] .. ' is not the current epoch')\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1])\n"
	"redis.call('SET', KEYS[2], ARGV[2])\n"
	"redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])\n"
	"return 1\n";

const char *scripts_source(enum script_id id)
{
	switch (id) {
	case SCRIPT_BATCH: return script_batch;
	case SCRIPT_LEASE: return script_lease;
	case SCRIPT_RELEASE: return script_release;
	case SCRIPT_SYNC: return script_sync;
	case SCRIPT_RESTORE: return script_restore;
	case SCRIPT_OUTCOMES: return script_outcomes;
	case SCRIPT_COUNT: break;
	}
	return "";
}

const char *scripts_name(enum script_id id)
{
	static const char *const names[] = { "batch", "lease", "release", "sync", "restore",
						     "outcomes" };
	return id < SCRIPT_COUNT ? names[id] : "?";
}
